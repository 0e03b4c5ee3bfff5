//! Where each node of a YAML file is: the source map behind located errors,
//! and the screening that keeps hostile YAML away from the deserializer.
//!
//! serde reports the position of parse and type errors, but the checks that
//! run after parsing (duplicate ids, unknown references) only know the path of
//! what they object to, such as `expect.rewards.r9`. [`SourceMap`] walks the
//! file's YAML events once and records the span of every mapping key and
//! every value by path, so those checks can point at the line too.
//!
//! [`SourceMap::screen`] does the same walk *before* serde sees the text and
//! refuses, at their line and column, what would make the deserializer slow
//! or huge: nesting deeper than [`MAX_NESTING`] levels, more than
//! [`MAX_NODES`] nodes once aliases are expanded (alias bombs, "billion
//! laughs"), and more than one document. A file the screen refuses is never
//! deserialized; its time and memory stay linear in its size.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

use super::limits::{MAX_NESTING, MAX_NODES};

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

impl From<&String> for PathSegment {
    fn from(key: &String) -> Self {
        Self::Key(key.clone())
    }
}

impl From<usize> for PathSegment {
    fn from(index: usize) -> Self {
        Self::Index(index)
    }
}

/// A path such as `expect.rewards.r1`, built segment by segment.
pub type Path = Vec<PathSegment>;

/// The [`Path`] at the given segments, each anything a [`PathSegment`] is
/// `From` (`&str`, `String`, `&String`, `usize`): `at!["faults", "at", i]`
/// is `faults.at[i]`. `at![base; "every"]` is a copy of the path `base`
/// with segments added.
macro_rules! at {
    ($base:expr; $($segment:expr),+ $(,)?) => {{
        let mut path: $crate::source::Path = $base.to_vec();
        $(path.push($crate::source::PathSegment::from($segment));)+
        path
    }};
    ($($segment:expr),* $(,)?) => {
        vec![$($crate::source::PathSegment::from($segment)),*]
    };
}
pub(crate) use at;

/// Renders a path as `rollouts[2].run.duration`, its keys [`escaped`].
pub fn display_path(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            PathSegment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&escaped(k));
            }
            PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Whether `c` would break or disguise a line of text shown to people:
/// a control character (C0, DEL, C1) or a Unicode bidirectional
/// formatting character (marks, embeddings, overrides, isolates), which
/// reorders the text around it.
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every [hidden character](is_hidden_char) written as an
/// escape (`\n`, `\u{1b}`), so that a key or value quoted from a file
/// cannot break a one-line message or reorder it.
pub fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_hidden_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else if is_hidden_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Parses a path as serde_norway prints it (`rollouts[0].run.duration`).
///
/// Keys that contain `.` or `[` cannot be told apart from nesting; such paths
/// come out split, which only costs precision when locating.
pub fn parse_path(text: &str) -> Option<Path> {
    if text.is_empty() || text == "." || text.contains(char::is_whitespace) {
        return None;
    }
    // A list at the root prints as `.[0]`.
    let text = text
        .strip_prefix('.')
        .filter(|t| t.starts_with('['))
        .unwrap_or(text);
    let mut path = Path::new();
    for part in text.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            path.push(PathSegment::Key(key.to_string()));
        } else if rest.is_empty() {
            return None;
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let close = stripped.find(']')?;
            path.push(PathSegment::Index(stripped[..close].parse().ok()?));
            rest = &stripped[close + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(path)
}

/// A byte range of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSpan {
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes (at least 1 where the source has a character there).
    pub len: usize,
}

/// A span stored compactly; `u32::MAX` offset means "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed(u32, u32);

impl Packed {
    const NONE: Self = Self(u32::MAX, 0);

    fn pack(span: ByteSpan) -> Self {
        Self(
            u32::try_from(span.offset).unwrap_or(u32::MAX - 1),
            u32::try_from(span.len).unwrap_or(u32::MAX),
        )
    }

    fn get(self) -> Option<ByteSpan> {
        (self.0 != u32::MAX).then_some(ByteSpan {
            offset: self.0 as usize,
            len: self.1 as usize,
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Node {
    key: Packed,
    value: Packed,
}

/// Spans of every key and value in a YAML document, by path.
///
/// Stored as a tree (one small record per node, children indexed by
/// `(parent, segment)`), so a file of a million nodes costs tens of
/// megabytes, not a copy of every node's full path.
#[derive(Debug, Clone)]
pub struct SourceMap {
    nodes: Vec<Node>,
    children: BTreeMap<(u32, PathSegment), u32>,
    /// The nodes whose value is YAML's null written out (`~`, `null`,
    /// nothing after the colon), in file order: [`SourceMap::nulls`].
    nulls: Vec<u32>,
}

impl Default for SourceMap {
    fn default() -> Self {
        Self {
            nodes: vec![Node {
                key: Packed::NONE,
                value: Packed::NONE,
            }],
            children: BTreeMap::new(),
            nulls: Vec::new(),
        }
    }
}

/// Why [`SourceMap::screen`] refused a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: Option<ByteSpan>,
    /// What would be valid.
    pub help: Option<String>,
}

enum Frame {
    Map {
        node: u32,
        key: Option<String>,
    },
    Seq {
        node: u32,
        index: usize,
    },
    /// A mapping or list used as a key (`? [a, b]: 1`), `depth` levels in:
    /// skipped, then the mapping's key is `?`.
    ComplexKey {
        depth: usize,
    },
}

/// What [`SourceMap::record`] keeps between events.
#[derive(Default)]
struct Recorder {
    stack: Vec<Frame>,
    /// The text of every anchored scalar, so that an alias used as a key
    /// (`*id : 1`) is recorded under the key it stands for.
    scalars: BTreeMap<usize, String>,
}

/// The running size of an open collection, for alias expansion.
struct Open {
    anchor: usize,
    size: u64,
    start: ByteSpan,
    flow: bool,
}

impl SourceMap {
    /// Walks `source`. A file that does not parse gives an empty or partial
    /// map; the parse error is reported by [`SourceMap::screen`] or serde.
    pub fn build(source: &str) -> Self {
        Self::walk(source, false).0
    }

    /// Walks `source` and refuses what the deserializer must never see:
    /// YAML syntax errors (reported here, located), nesting deeper than
    /// [`MAX_NESTING`], more than [`MAX_NODES`] nodes after alias expansion,
    /// and more than one document.
    pub fn screen(source: &str) -> Result<Self, ScreenError> {
        match Self::walk(source, true) {
            (map, None) => Ok(map),
            (_, Some(error)) => Err(error),
        }
    }

    fn walk(source: &str, strict: bool) -> (Self, Option<ScreenError>) {
        let char_to_byte: Vec<usize> = source
            .char_indices()
            .map(|(b, _)| b)
            .chain([source.len()])
            .collect();
        let byte = |chars: usize| char_to_byte.get(chars).copied().unwrap_or(source.len());
        let mut map = Self::default();
        let mut recorder = Recorder::default();
        // Alias expansion: the expanded size of every anchored node, and the
        // running size of each open collection.
        let mut anchors: BTreeMap<usize, u64> = BTreeMap::new();
        let mut open: Vec<Open> = Vec::new();
        let mut total: u64 = 0;
        let mut documents = 0usize;
        for item in Parser::new_from_str(source) {
            let (event, span) = match item {
                Ok(ok) => ok,
                Err(e) => {
                    let error =
                        strict.then(|| scan_error(source, &e, byte(e.marker().index()), &open));
                    return (map, error);
                }
            };
            let start = byte(span.start.index());
            let end = byte(span.end.index()).max(start);
            let here = ByteSpan {
                offset: start,
                len: (end - start).max(1).min(source.len().saturating_sub(start)),
            };
            if strict {
                let size = match &event {
                    Event::DocumentStart(_) => {
                        documents += 1;
                        if documents > 1 {
                            return (
                                map,
                                Some(ScreenError {
                                    message: "a scenario file holds one YAML document; a second one starts here".into(),
                                    span: Some(here),
                                    help: Some("remove this `---` and what follows, or put each scenario in its own file".into()),
                                }),
                            );
                        }
                        None
                    }
                    Event::Scalar(..) => Some(1),
                    Event::Alias(id) => match anchors.get(id) {
                        Some(size) => Some(*size),
                        // Known to the parser but not finished: the alias
                        // sits inside the value it names.
                        None => {
                            return (
                                map,
                                Some(ScreenError {
                                    message: "this alias refers to a value that contains it (a recursive alias)".into(),
                                    span: Some(here),
                                    help: Some("an alias can only repeat a value that is complete where it is used".into()),
                                }),
                            );
                        }
                    },
                    Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                        if open.len() >= MAX_NESTING {
                            return (map, Some(too_deep(here)));
                        }
                        let flow = source[start..].starts_with(['[', '{']);
                        open.push(Open {
                            anchor: *anchor,
                            size: 1,
                            start: ByteSpan {
                                offset: here.offset,
                                len: 1,
                            },
                            flow,
                        });
                        None
                    }
                    Event::SequenceEnd | Event::MappingEnd => {
                        let done = open.pop().map_or(1, |o| {
                            if o.anchor != 0 {
                                anchors.insert(o.anchor, o.size);
                            }
                            o.size
                        });
                        // Its nodes were counted into `total` as they came;
                        // only the parent's running size grows here.
                        if let Some(parent) = open.last_mut() {
                            parent.size = parent.size.saturating_add(done);
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(size) = size {
                    if let Event::Scalar(_, _, anchor, _) = &event
                        && *anchor != 0
                    {
                        anchors.insert(*anchor, 1);
                    }
                    if let Some(parent) = open.last_mut() {
                        parent.size = parent.size.saturating_add(size);
                    }
                    total = total.saturating_add(size);
                }
                if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..)) {
                    total = total.saturating_add(1);
                }
                if total > MAX_NODES {
                    let aliased = matches!(event, Event::Alias(_));
                    return (
                        map,
                        Some(ScreenError {
                            message: if aliased {
                                format!(
                                    "this alias expands the file past {MAX_NODES} YAML nodes (an alias bomb?)"
                                )
                            } else {
                                format!("the file has more than {MAX_NODES} YAML nodes")
                            },
                            span: Some(here),
                            help: Some(if aliased {
                                "aliases (`*name`) are copied where they are used; use fewer, or smaller anchored values".into()
                            } else {
                                "use `generate:` for many rollouts".into()
                            }),
                        }),
                    );
                }
            }
            map.record(&mut recorder, event, here);
        }
        if strict && documents == 0 {
            return (
                map,
                Some(ScreenError {
                    message: "the file is empty".into(),
                    span: Some(ByteSpan { offset: 0, len: 0 }),
                    help: Some(
                        "a scenario needs at least `name:` and `rollouts:` (see scenarios/c02.yaml)"
                            .into(),
                    ),
                }),
            );
        }
        (map, None)
    }

    fn child(&mut self, parent: u32, segment: PathSegment) -> u32 {
        let next = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        *self.children.entry((parent, segment)).or_insert_with(|| {
            self.nodes.push(Node {
                key: Packed::NONE,
                value: Packed::NONE,
            });
            next
        })
    }

    fn record(&mut self, recorder: &mut Recorder, event: Event<'_>, here: ByteSpan) {
        let stack = &mut recorder.stack;
        if let Event::Scalar(text, _, anchor, _) = &event
            && *anchor != 0
        {
            recorder.scalars.insert(*anchor, text.to_string());
        }
        if let Some(Frame::ComplexKey { depth }) = stack.last_mut() {
            match event {
                Event::MappingStart(..) | Event::SequenceStart(..) => *depth += 1,
                Event::MappingEnd | Event::SequenceEnd => {
                    *depth -= 1;
                    if *depth == 0 {
                        stack.pop();
                        if let Some(Frame::Map { key, .. }) = stack.last_mut() {
                            *key = Some(String::from("?"));
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        // A key position in a mapping takes scalar keys, aliases of them,
        // and (skipped, named `?`) complex keys; anything else is a value
        // whose node is the parent's child by key or index.
        if let Some(Frame::Map {
            node,
            key: key @ None,
        }) = stack.last_mut()
        {
            let parent = *node;
            let text = match &event {
                Event::Scalar(text, ..) => Some(text.to_string()),
                Event::Alias(anchor) => Some(
                    recorder
                        .scalars
                        .get(anchor)
                        .cloned()
                        .unwrap_or_else(|| String::from("?")),
                ),
                _ => None,
            };
            if let Some(text) = text {
                *key = Some(text.clone());
                let id = self.child(parent, PathSegment::Key(text));
                // A repeated key keeps the span of its last occurrence, which
                // is where a "duplicate key" error points.
                self.nodes[id as usize].key = Packed::pack(here);
                return;
            }
            match event {
                Event::MappingEnd => {
                    stack.pop();
                    advance(stack);
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    stack.push(Frame::ComplexKey { depth: 1 });
                }
                _ => {}
            }
            return;
        }
        let node = match stack.last() {
            Some(Frame::Map { node, key: Some(k) }) => {
                let (parent, k) = (*node, k.clone());
                self.child(parent, PathSegment::Key(k))
            }
            Some(Frame::Seq { node, index }) => {
                let (parent, index) = (*node, *index);
                self.child(parent, PathSegment::Index(index))
            }
            _ => 0,
        };
        match event {
            Event::Scalar(..) | Event::Alias(_) => {
                if is_null(&event) {
                    self.nulls.push(node);
                }
                self.nodes[node as usize].value = Packed::pack(here);
                advance(stack);
            }
            Event::MappingStart(..) => {
                self.nodes[node as usize].value = Packed::pack(here);
                stack.push(Frame::Map { node, key: None });
            }
            Event::SequenceStart(..) => {
                self.nodes[node as usize].value = Packed::pack(here);
                stack.push(Frame::Seq { node, index: 0 });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                advance(stack);
            }
            _ => {}
        }
    }

    fn find(&self, path: &[PathSegment]) -> Option<u32> {
        let mut node = 0u32;
        for segment in path {
            node = *self.children.get(&(node, segment.clone()))?;
        }
        Some(node)
    }

    /// The span of the value at `path`.
    pub fn value(&self, path: &[PathSegment]) -> Option<ByteSpan> {
        self.find(path)
            .and_then(|n| self.nodes[n as usize].value.get())
    }

    /// The span of the key at `path` (the last segment must be a key).
    pub fn key(&self, path: &[PathSegment]) -> Option<ByteSpan> {
        self.find(path)
            .and_then(|n| self.nodes[n as usize].key.get())
    }

    /// The path of every value written as YAML's null (`~`, `null`, or
    /// nothing after a key), in file order. An alias of a null is not one:
    /// it names a value written elsewhere.
    pub fn nulls(&self) -> Vec<Path> {
        if self.nulls.is_empty() {
            return Vec::new();
        }
        // Parents are not stored (most files have no null): found once,
        // in time linear in the file, when there is one.
        let mut parent: Vec<Option<(u32, &PathSegment)>> = vec![None; self.nodes.len()];
        for ((p, segment), id) in &self.children {
            parent[*id as usize] = Some((*p, segment));
        }
        self.nulls
            .iter()
            .map(|&node| {
                let mut path = Vec::new();
                let mut at = node;
                while let Some((p, segment)) = parent[at as usize] {
                    path.push(segment.clone());
                    at = p;
                }
                path.reverse();
                path
            })
            .collect()
    }

    /// The best span for `path`: its value, else its key, else the nearest
    /// ancestor that has one.
    pub fn locate(&self, path: &[PathSegment]) -> Option<ByteSpan> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.value(&path[..n]).or_else(|| self.key(&path[..n])))
    }

    /// The children of the mapping or list at `path`: each one's segment,
    /// key span and value span, in file order.
    pub fn children(
        &self,
        path: &[PathSegment],
    ) -> Vec<(PathSegment, Option<ByteSpan>, Option<ByteSpan>)> {
        let Some(parent) = self.find(path) else {
            return Vec::new();
        };
        let mut out: Vec<(PathSegment, Option<ByteSpan>, Option<ByteSpan>)> = self
            .children
            .range((parent, PathSegment::Key(String::new()))..)
            .take_while(|((p, _), _)| *p == parent)
            .map(|((_, segment), id)| {
                let node = self.nodes[*id as usize];
                (segment.clone(), node.key.get(), node.value.get())
            })
            .collect();
        out.sort_by_key(|(_, key, value)| key.or(*value).map_or(usize::MAX, |s| s.offset));
        out
    }
}

/// Whether `event` is a scalar YAML's core schema reads as null: plain
/// and untagged, `~`, `null`, `Null`, `NULL` or empty.
fn is_null(event: &Event<'_>) -> bool {
    matches!(
        event,
        Event::Scalar(text, ScalarStyle::Plain, _, None)
            if matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL")
    )
}

fn too_deep(here: ByteSpan) -> ScreenError {
    ScreenError {
        message: format!("nesting deeper than {MAX_NESTING} levels"),
        span: Some(here),
        help: Some("scenario files are shallow; flatten this value".into()),
    }
}

/// A saphyr scan error as a located message with help.
fn scan_error(source: &str, e: &ScanError, offset: usize, open: &[Open]) -> ScreenError {
    let info = e.info();
    if info.contains("recursion limit exceeded") {
        return too_deep(ByteSpan { offset, len: 1 });
    }
    // saphyr words errors "while parsing X, did not find Y"; lead with what
    // is wrong.
    let message = match info.split_once(", ") {
        Some((context, what)) if context.starts_with("while ") => format!("{what} {context}"),
        _ => info.to_string(),
    };
    let innermost_flow = open.iter().rev().find(|o| o.flow).map(|o| o.start);
    let opened = |what: &str| {
        innermost_flow.map(|s| {
            let (line, col) = line_col(source, s.offset);
            format!("the `{what}` opened at line {line} column {col} is not closed")
        })
    };
    let help = if info.contains("expected ',' or '}'") {
        opened("{").or(Some(
            "close the mapping with `}`, or separate entries with `,`".into(),
        ))
    } else if info.contains("expected ',' or ']'") {
        opened("[").or(Some(
            "close the list with `]`, or separate items with `,`".into(),
        ))
    } else if info.contains("tab") {
        Some("indent with spaces: YAML does not allow tabs for indentation".into())
    } else if info.contains("mapping values are not allowed") {
        Some("quote a value that contains `: `, or check the indentation of this line".into())
    } else if info.contains("did not find expected key") {
        Some("check the indentation: the keys of one mapping must line up".into())
    } else if info.contains("expected '-'") {
        Some("check the indentation: the items of one list must line up".into())
    } else if info.contains("unknown anchor") {
        let at = floor_char_boundary(source, offset);
        let alias: &str = source[at..]
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
            .next()
            .unwrap_or("");
        Some(match alias.strip_suffix(':') {
            // `*a:` names the anchor `a:`: YAML allows `:` in anchor names.
            Some(name) if name.len() > 1 => format!(
                "`{alias}` names the anchor `{}`; an alias used as a key needs a space before the colon: `{name} :`",
                &alias[1..]
            ),
            _ => "define the anchor with `&name` before using it as `*name`".into(),
        })
    } else if info.contains("quoted scalar") || info.contains("unexpected end of stream") {
        Some("close the quoted string".into())
    } else {
        None
    };
    let mut offset = floor_char_boundary(source, offset);
    if info.contains("tab") {
        // saphyr points just past the tabs; point at the first of them.
        while offset > 0 && source.as_bytes()[offset - 1] == b'\t' {
            offset -= 1;
        }
    }
    let unclosed = info.contains("expected ',' or '}'") || info.contains("expected ',' or ']'");
    let span = match innermost_flow {
        // At the end of the file there is nothing to underline: point at the
        // bracket that was never closed.
        Some(open) if unclosed && source[offset..].trim().is_empty() => open,
        _ => ByteSpan {
            offset,
            len: source[offset..].chars().next().map_or(0, char::len_utf8),
        },
    };
    ScreenError {
        message: format!("invalid YAML: {message}"),
        span: Some(span),
        help,
    }
}

fn advance(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Map { key, .. }) => *key = None,
        Some(Frame::Seq { index, .. }) => *index += 1,
        Some(Frame::ComplexKey { .. }) | None => {}
    }
}

/// 1-based line and column of a byte offset, the column counted in
/// characters.
///
/// Lines end as YAML 1.2 ends them (and as editors and miette do): at a
/// line feed, a carriage return followed by a line feed, or a carriage
/// return alone (old Mac files). A byte-order mark takes no column. For
/// many offsets into one text, [`Lines`] finds each without rescanning.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset);
    let bytes = source.as_bytes();
    let mut line = 1;
    let mut start = 0;
    for (i, b) in bytes[..offset].iter().enumerate() {
        if is_line_end(bytes, i, *b) {
            line += 1;
            start = i + 1;
        }
    }
    (line, column(source, start, offset))
}

/// Whether the byte `b` at `i` ends a line: a line feed, or a carriage
/// return not followed by one.
fn is_line_end(bytes: &[u8], i: usize, b: u8) -> bool {
    b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
}

/// The 1-based column of `offset` on the line starting at `start`.
fn column(source: &str, start: usize, offset: usize) -> usize {
    let text = &source[start..offset];
    // A byte-order mark is not shown by editors.
    let bom = usize::from(start == 0 && text.starts_with('\u{feff}'));
    text.chars().count() - bom + 1
}

/// The start of every line of a text, to turn many offsets into lines and
/// columns in time linear in the text ([`line_col`] scans from the start
/// each time).
#[derive(Debug, Clone)]
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    /// Indexes `source`.
    pub fn new(source: &str) -> Self {
        let bytes = source.as_bytes();
        let mut starts = vec![0];
        starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(i, b)| is_line_end(bytes, *i, **b))
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }

    /// 1-based line and column of `offset` in the `source` this indexes:
    /// the same as [`line_col`].
    pub fn line_col(&self, source: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(source, offset);
        // The last line starting at or before `offset`.
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        (line, column(source, self.starts[line - 1], offset))
    }

    /// The byte offset where each line after the one holding `offset`
    /// starts.
    pub fn starts_after(&self, offset: usize) -> impl Iterator<Item = usize> + '_ {
        let first = self.starts.partition_point(|s| *s <= offset);
        self.starts[first..].iter().copied()
    }
}

/// The largest char boundary at or below `offset`.
pub fn floor_char_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
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

    #[test]
    fn lines_end_at_lf_crlf_and_a_lone_cr() {
        for (src, offset, want) in [
            ("a\nb\nc", 4, (3, 1)),
            ("a\r\nb\r\nc", 6, (3, 1)),
            ("a\rb\rc", 4, (3, 1)),
            ("a\r\nbc", 5, (2, 3)),
            // On the line feed of a CRLF: still the first line.
            ("ab\r\nc", 3, (1, 4)),
            ("\u{feff}ab", 4, (1, 2)),
            ("é\u{85}x\ny", 5, (1, 4)),
        ] {
            assert_eq!(line_col(src, offset), want, "{src:?} at {offset}");
            assert_eq!(
                Lines::new(src).line_col(src, offset),
                want,
                "{src:?} at {offset}"
            );
        }
        let src = "a\rb\r\nc\nd";
        let lines = Lines::new(src);
        assert_eq!(lines.starts_after(0).collect::<Vec<_>>(), [2, 5, 7]);
        assert_eq!(lines.starts_after(5).collect::<Vec<_>>(), [7]);
    }

    #[test]
    fn alias_and_complex_keys_keep_the_paths_after_them() {
        let src = "a: &k key\nm:\n  *k : 1\n  ? [x, y]\n  : 2\n  after: 3\n";
        let map = SourceMap::build(src);
        let at = |path: &[&str]| map.locate(&p(path)).map(|s| line_col(src, s.offset));
        assert_eq!(at(&["m", "key"]), Some((3, 8)));
        assert_eq!(
            map.key(&p(&["m", "key"])).map(|s| line_col(src, s.offset)),
            Some((3, 3))
        );
        assert_eq!(at(&["m", "?"]), Some((5, 5)));
        assert_eq!(at(&["m", "after"]), Some((6, 10)));
    }

    #[test]
    fn hidden_characters_are_escaped() {
        assert_eq!(escaped("plain"), "plain");
        assert_eq!(escaped("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
        assert_eq!(escaped("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(
            display_path(&[PathSegment::Key("r\u{0}".into()), PathSegment::Index(1)]),
            "r\\u{0}[1]"
        );
    }

    #[test]
    fn parses_serde_paths() {
        assert_eq!(
            parse_path("rollouts[0].run.duration"),
            Some(p(&["rollouts", "0", "run", "duration"]))
        );
        assert_eq!(parse_path("workers[1][2]"), Some(p(&["workers", "1", "2"])));
        assert_eq!(parse_path(".[0].run"), Some(p(&["0", "run"])));
        assert_eq!(parse_path("."), None);
        assert_eq!(parse_path("a b"), None);
    }

    #[test]
    fn screening_refuses_deep_nesting_bombs_and_second_documents() {
        let deep = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        let e = SourceMap::screen(&deep).unwrap_err();
        assert!(e.message.contains("nesting deeper than 64"), "{e:?}");
        let mut laughs = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let refs = vec![format!("*l{}", i - 1); 10].join(", ");
            laughs.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
        }
        let e = SourceMap::screen(&laughs).unwrap_err();
        assert!(e.message.contains("alias"), "{e:?}");
        let e = SourceMap::screen("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(
            e.span.map(|s| line_col("a: 1\n---\nb: 2\n", s.offset)),
            Some((2, 1))
        );
        assert!(SourceMap::screen("").unwrap_err().message.contains("empty"));
        assert!(SourceMap::screen("a: &x [1, 2]\nb: *x\n").is_ok());
        let e = SourceMap::screen("a: &a [*a, *a]\n").unwrap_err();
        assert!(e.message.contains("recursive alias"), "{e:?}");
    }
}
