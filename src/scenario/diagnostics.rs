//! Errors in scenario files: located, explained, all at once.
//!
//! A [`LoadError`] carries the file's text and every [`Problem`] found in it.
//! It renders two ways: [`LoadError::plain`] gives one stable line per
//! problem, `file:line:column: message`, for logs and tests; and as a
//! [`miette::Diagnostic`] it renders the snippet with the offending text
//! underlined, for people.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

use super::source::{ByteSpan, Path, display_path, line_col};

/// One thing wrong with a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// Where, if known.
    pub span: Option<ByteSpan>,
    /// What would be valid.
    pub help: Option<String>,
    /// The YAML path, if known.
    pub path: Option<Path>,
}

impl Problem {
    /// A problem with no location.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            span: None,
            help: None,
            path: None,
        }
    }

    /// A parse or type error from the YAML deserializer.
    pub fn from_yaml(error: &serde_yaml::Error, source: &str) -> Self {
        let text = error.to_string();
        // serde_norway appends the location to the message; we show it apart.
        let message = match text
            .rfind(" at line ")
            .or_else(|| text.rfind(" at position "))
        {
            Some(cut) if error.location().is_some() => text[..cut].to_string(),
            _ => text,
        };
        let span = error.location().map(|loc| {
            // 1-based line and column, the column counted in characters.
            let offset = offset_of(
                source,
                loc.line().saturating_sub(1),
                loc.column().saturating_sub(1),
            );
            let len = source[offset..]
                .chars()
                .next()
                .map_or(0, char::len_utf8)
                .max(usize::from(offset < source.len()));
            ByteSpan {
                offset,
                len: token_len(source, offset).max(len),
            }
        });
        let help = did_you_mean(&message).or_else(|| type_help(&message));
        Self {
            message,
            span,
            help,
            path: None,
        }
    }
}

/// Byte offset of a 0-based line and column (in characters).
fn offset_of(source: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in source.split_inclusive('\n').enumerate() {
        if i == line {
            return offset
                + l.char_indices()
                    .nth(column)
                    .map_or(l.trim_end_matches('\n').len(), |(b, _)| b);
        }
        offset += l.len();
    }
    source.len()
}

/// The length of the word at `offset`, so the underline covers a key.
fn token_len(source: &str, offset: usize) -> usize {
    source[offset.min(source.len())..]
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || matches!(c, ':' | ',' | '}' | ']'))
        .map_or(source.len() - offset.min(source.len()), |(i, _)| i)
}

/// For serde's "unknown field `x`, expected one of `a`, `b`", the nearest
/// valid name.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    let (given, rest) = rest.split_once('`')?;
    let valid: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let best = valid
        .iter()
        .map(|v| (edit_distance(given, v), *v))
        .min()
        .filter(|(d, v)| *d <= 2.max(v.len() / 3))?;
    Some(format!("did you mean `{}`?", best.1))
}

fn type_help(message: &str) -> Option<String> {
    (message.contains("duration") && !message.contains("write "))
        .then(|| format!("write {}", super::duration::DURATION_FORM))
}

/// Levenshtein distance, for suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Why a scenario file could not be loaded.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// The file, as given.
    pub path: String,
    /// Its text (empty when it could not be read).
    pub source: String,
    /// Everything wrong with it, in file order where located.
    pub problems: Vec<Problem>,
}

impl LoadError {
    /// An error with these problems, sorted by position.
    pub fn new(path: &str, source: String, mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(|p| p.span.map_or(usize::MAX, |s| s.offset));
        Self {
            path: path.to_string(),
            source,
            problems,
        }
    }

    /// An error with one problem.
    pub fn single(path: &str, source: String, problem: Problem) -> Self {
        Self::new(path, source, vec![problem])
    }

    /// The file could not be read.
    pub fn io(path: &str, error: &std::io::Error) -> Self {
        Self::single(
            path,
            String::new(),
            Problem::new(format!("cannot read the file: {error}")),
        )
    }

    /// One line per problem: `file:line:column: message (help)`.
    pub fn plain(&self) -> String {
        let mut out = String::new();
        for p in &self.problems {
            match p.span {
                Some(span) => {
                    let (line, col) = line_col(&self.source, span.offset);
                    out.push_str(&format!("{}:{line}:{col}: {}", self.path, p.message));
                }
                None => out.push_str(&format!("{}: {}", self.path, p.message)),
            }
            if let Some(path) = &p.path
                && !path.is_empty()
                && !p.message.contains(&display_path(path))
            {
                out.push_str(&format!(" (at `{}`)", display_path(path)));
            }
            if let Some(help) = &p.help {
                out.push_str(&format!("; {help}"));
            }
            out.push('\n');
        }
        out
    }

    /// The miette reports, one per problem, for graphical rendering.
    pub fn reports(&self) -> Vec<ProblemReport> {
        self.problems
            .iter()
            .map(|p| ProblemReport {
                problem: p.clone(),
                source: NamedSource::new(&self.path, self.source.clone()),
            })
            .collect()
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.plain().trim_end())
    }
}

impl std::error::Error for LoadError {}

/// One problem with its file, renderable by miette.
#[derive(Debug)]
pub struct ProblemReport {
    problem: Problem,
    source: NamedSource<String>,
}

impl fmt::Display for ProblemReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem.message)
    }
}

impl std::error::Error for ProblemReport {}

impl Diagnostic for ProblemReport {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("rollout_sim::scenario"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem
            .help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.problem.span.map(|_| &self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.problem.span?;
        let label = self
            .problem
            .path
            .as_ref()
            .filter(|p| !p.is_empty())
            .map(|p| display_path(p))
            .unwrap_or_else(|| "here".into());
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(label),
            SourceSpan::new(span.offset.into(), span.len),
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        let m = "runner: unknown field `pol_interval`, expected one of `poll_interval`, `heartbeat_interval`";
        assert_eq!(
            did_you_mean(m),
            Some("did you mean `poll_interval`?".into())
        );
        assert_eq!(
            did_you_mean("unknown field `zzzzzzzz`, expected `name` or `seed`"),
            None
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
