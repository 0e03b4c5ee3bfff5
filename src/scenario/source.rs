//! Where each node of a YAML file is: the source map behind located errors.
//!
//! serde reports the position of parse and type errors, but the checks that
//! run after parsing (duplicate ids, unknown references) only know the path of
//! what they object to, such as `expect.rewards.r9`. [`SourceMap`] walks the
//! file's YAML events once and records the span of every mapping key and
//! every value by path, so those checks can point at the line too.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser};

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathSegment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

impl From<&str> for PathSegment {
    fn from(key: &str) -> Self {
        Self::Key(key.to_string())
    }
}

impl From<String> for PathSegment {
    fn from(key: String) -> Self {
        Self::Key(key)
    }
}

impl From<usize> for PathSegment {
    fn from(index: usize) -> Self {
        Self::Index(index)
    }
}

/// A path such as `expect.rewards.r1`, built segment by segment.
pub type Path = Vec<PathSegment>;

/// Renders a path as `rollouts[2].run.duration`.
pub fn display_path(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            PathSegment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A byte range of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSpan {
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes (at least 1 where the source has a character there).
    pub len: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct NodeSpans {
    key: Option<ByteSpan>,
    value: Option<ByteSpan>,
}

/// Spans of every key and value in a YAML document, by path.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    nodes: BTreeMap<Path, NodeSpans>,
}

enum Frame {
    Map { path: Path, key: Option<String> },
    Seq { path: Path, index: usize },
}

impl SourceMap {
    /// Walks `source`. A file that does not parse gives an empty or partial
    /// map; serde reports the parse error itself.
    pub fn build(source: &str) -> Self {
        let char_to_byte: Vec<usize> = source
            .char_indices()
            .map(|(b, _)| b)
            .chain([source.len()])
            .collect();
        let byte = |chars: usize| char_to_byte.get(chars).copied().unwrap_or(source.len());
        let mut nodes: BTreeMap<Path, NodeSpans> = BTreeMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(source) {
            let Ok((event, span)) = item else { break };
            let start = byte(span.start.index());
            let end = byte(span.end.index()).max(start);
            let here = ByteSpan {
                offset: start,
                len: (end - start).max(1).min(source.len().saturating_sub(start)),
            };
            // A key position in a mapping takes scalar keys; anything else is
            // a value whose path is the parent's plus the key or index.
            if let Some(Frame::Map {
                path,
                key: key @ None,
            }) = stack.last_mut()
            {
                if let Event::Scalar(text, ..) = &event {
                    let mut p = path.clone();
                    p.push(PathSegment::Key(text.to_string()));
                    nodes.entry(p).or_default().key = Some(here);
                    *key = Some(text.to_string());
                    continue;
                }
                if matches!(event, Event::MappingEnd) {
                    stack.pop();
                    advance(&mut stack);
                    continue;
                }
                // A complex key: give it a placeholder name and walk on.
                *key = Some(String::from("?"));
            }
            let value_path = match stack.last() {
                Some(Frame::Map { path, key: Some(k) }) => {
                    let mut p = path.clone();
                    p.push(PathSegment::Key(k.clone()));
                    Some(p)
                }
                Some(Frame::Seq { path, index }) => {
                    let mut p = path.clone();
                    p.push(PathSegment::Index(*index));
                    Some(p)
                }
                _ => Some(Vec::new()),
            };
            match event {
                Event::Scalar(..) | Event::Alias(_) => {
                    if let Some(p) = value_path {
                        nodes.entry(p).or_default().value = Some(here);
                    }
                    advance(&mut stack);
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let p = value_path.unwrap_or_default();
                    nodes.entry(p.clone()).or_default().value = Some(here);
                    stack.push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Map { path: p, key: None }
                    } else {
                        Frame::Seq { path: p, index: 0 }
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    stack.pop();
                    advance(&mut stack);
                }
                _ => {}
            }
        }
        Self { nodes }
    }

    /// The span of the value at `path`.
    pub fn value(&self, path: &[PathSegment]) -> Option<ByteSpan> {
        self.nodes.get(path).and_then(|n| n.value)
    }

    /// The span of the key at `path` (the last segment must be a key).
    pub fn key(&self, path: &[PathSegment]) -> Option<ByteSpan> {
        self.nodes.get(path).and_then(|n| n.key)
    }

    /// The best span for `path`: its value, else its key, else the nearest
    /// ancestor that has one.
    pub fn locate(&self, path: &[PathSegment]) -> Option<ByteSpan> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.value(&path[..n]).or_else(|| self.key(&path[..n])))
    }
}

fn advance(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Map { key, .. }) => *key = None,
        Some(Frame::Seq { index, .. }) => *index += 1,
        None => {}
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segments: &[&str]) -> Path {
        segments
            .iter()
            .map(|s| {
                s.parse::<usize>()
                    .map_or_else(|_| PathSegment::from(*s), PathSegment::Index)
            })
            .collect()
    }

    #[test]
    fn finds_keys_and_values_by_path() {
        let src = "name: x\nrollouts:\n  - id: r1\n    run: { duration: 5ms }\n  - id: r2\nexpect:\n  rewards:\n    r9: { a.b: 3 }\n";
        let map = SourceMap::build(src);
        let at = |path: &[&str]| map.locate(&p(path)).map(|s| line_col(src, s.offset));
        assert_eq!(at(&["name"]), Some((1, 7)));
        assert_eq!(at(&["rollouts", "1", "id"]), Some((5, 9)));
        assert_eq!(at(&["rollouts", "0", "run", "duration"]), Some((4, 22)));
        assert_eq!(
            map.key(&p(&["expect", "rewards", "r9"]))
                .map(|s| line_col(src, s.offset)),
            Some((8, 5))
        );
        assert_eq!(at(&["expect", "rewards", "r9", "a.b"]), Some((8, 16)));
        assert_eq!(at(&["expect", "nothing", "here"]), Some((7, 3)));
    }
}
