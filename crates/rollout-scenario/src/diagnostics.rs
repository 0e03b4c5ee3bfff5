//! Errors in scenario files: located, explained, all at once.
//!
//! A [`LoadError`] carries the file's text and every [`Problem`] found in it.
//! It renders two ways: [`LoadError::plain`] gives one stable line per
//! problem, `file:line:column: message`, for logs and tests; and as a
//! [`miette::Diagnostic`] it renders the snippet with the offending text
//! underlined, for people.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

use super::source::{
    ByteSpan, Lines, Path, PathSegment, ScreenError, SourceMap, display_path, floor_char_boundary,
    parse_path,
};

use super::limits::{MAX_NESTING, MAX_SUGGESTION_CANDIDATES, MAX_SUGGESTION_LEN};

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

    /// A problem found at `path` by a check after parsing. The message is
    /// prefixed with the path (`workers[1]: duplicate worker id`), as serde's
    /// own messages are, unless it already names it.
    pub fn located(
        path: Path,
        span: Option<ByteSpan>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Self {
        let message = message.into();
        let shown = display_path(&path);
        let message = if shown.is_empty() || message.starts_with(&shown) {
            message
        } else {
            format!("{shown}: {message}")
        };
        Self {
            message,
            span,
            help,
            path: Some(path),
        }
    }

    /// A file refused by [`SourceMap::screen`] before it was deserialized.
    pub(crate) fn from_screen(error: ScreenError) -> Self {
        Self {
            message: error.message,
            span: error.span,
            help: error.help,
            path: None,
        }
    }

    /// A parse or type error from the YAML deserializer, and the first
    /// such error of every other top-level section of the file: serde stops
    /// at the first error, so each section is deserialized again on its own
    /// to report them all at once.
    pub(crate) fn from_yaml_all(
        error: &serde_yaml::Error,
        source: &str,
        map: &SourceMap,
    ) -> Vec<Self> {
        let first = Self::from_yaml_at(error, source, &[], Some(map));
        // The section of the first error would only report it again: each
        // section of a large file is parsed once more at most.
        let erred = match first.path.as_deref() {
            Some([PathSegment::Key(key), ..]) => Some(key.clone()),
            _ => None,
        };
        let mut problems = vec![first];
        let lines = Lines::new(source);
        for (segment, _, value) in map.children(&[]) {
            let (PathSegment::Key(key), Some(value)) = (segment, value) else {
                continue;
            };
            if erred.as_ref() == Some(&key) {
                continue;
            }
            let Some(check) = section_check(&key) else {
                continue;
            };
            // The section's text, from its value to the next top-level key,
            // indented as in the file so block mappings stay valid YAML.
            let start = value.offset;
            let end = lines
                .starts_after(start)
                .find(|&line| {
                    source[line..]
                        .chars()
                        .next()
                        .is_some_and(|c| !c.is_whitespace() && c != '#' && c != '-')
                })
                .unwrap_or(source.len());
            let (_, column) = lines.line_col(source, start);
            let pad = column - 1;
            let text = format!("{}{}", " ".repeat(pad), &source[start..end]);
            if SourceMap::screen(&text).is_err() {
                continue; // an alias to an anchor elsewhere, say
            }
            let Err(e) = check(&text) else { continue };
            let mut problem = Self::from_yaml_at(&e, &text, &[PathSegment::Key(key.clone())], None);
            problem.span = problem.span.map(|s| ByteSpan {
                offset: start + s.offset.saturating_sub(pad),
                len: s.len,
            });
            if !problems
                .iter()
                .any(|p| p.span == problem.span && p.message == problem.message)
            {
                problems.push(problem);
            }
        }
        problems
    }

    /// A parse or type error from the YAML deserializer.
    pub fn from_yaml(error: &serde_yaml::Error, source: &str) -> Self {
        Self::from_yaml_at(error, source, &[], None)
    }

    /// A parse or type error from deserializing the value at `base`.
    /// `map` is `source`'s, when the caller has it.
    fn from_yaml_at(
        error: &serde_yaml::Error,
        source: &str,
        base: &[PathSegment],
        map: Option<&SourceMap>,
    ) -> Self {
        let text = strip_marks(&error.to_string());
        // serde_norway prefixes the path of the value: `runner.poll_interval: ...`.
        let (path, body) = match text.split_once(": ") {
            Some((prefix, body)) => match parse_path(prefix) {
                Some(path) => (Some(path), body.to_string()),
                None => (None, text.clone()),
            },
            None => (None, text.clone()),
        };
        // Within `source`, for finding a key again.
        let local = path.clone().unwrap_or_default();
        let path = match path {
            Some(p) => Some([base, &p].concat()),
            None if base.is_empty() => None,
            None => Some(base.to_vec()),
        };
        let (body, mut help) = explain(&body, path.as_deref());
        let message = match &path {
            Some(p) => format!("{}: {body}", display_path(p)),
            None => body,
        };
        let mut span = error.location().map(|loc| {
            // The byte index, not the line and column: libyaml counts NEL,
            // LS and PS as line breaks, which YAML 1.2, saphyr and editors
            // do not.
            let offset = floor_char_boundary(source, loc.index());
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
        // serde points a duplicate key at the start of its mapping; point at
        // the repeated key instead.
        if let Some(key) = quoted_after(&message, "duplicate field `")
            .or_else(|| quoted_after(&message, "duplicate key `"))
        {
            let mut at = local;
            at.push(PathSegment::Key(key.to_string()));
            let built;
            let map = match map {
                Some(map) => map,
                None => {
                    built = SourceMap::build(source);
                    &built
                }
            };
            if let Some(found) = map.key(&at) {
                span = Some(found);
            }
            help.get_or_insert_with(|| format!("`{key}` may appear only once here"));
        }
        Self {
            message,
            span,
            help,
            path,
        }
    }
}

type SectionCheck = fn(&str) -> Result<(), serde_yaml::Error>;

fn check_as<T: serde::de::DeserializeOwned>(text: &str) -> Result<(), serde_yaml::Error> {
    serde_yaml::from_str::<T>(text).map(|_| ())
}

/// How to deserialize each top-level section of a scenario file on its own.
/// A section missing here is only checked with the whole file.
fn section_check(key: &str) -> Option<SectionCheck> {
    use super::schema::*;
    Some(match key {
        "name" => check_as::<String>,
        "description" => check_as::<Option<String>>,
        "seed" => check_as::<u64>,
        "engine" => check_as::<EngineChoice>,
        "runner" => check_as::<RunnerSection>,
        "workers" => check_as::<WorkersSpec>,
        "rollouts" => check_as::<Vec<RolloutEntry>>,
        "faults" => check_as::<FaultsSection>,
        "queue" => check_as::<QueueSection>,
        "stop" => check_as::<StopSection>,
        "expect" => check_as::<ExpectSection>,
        "swarm" => check_as::<Option<SwarmSection>>,
        _ => return None,
    })
}

/// Removes serde_norway's ` at line L column C` and ` at position N`, which
/// the location shows, keeping the start of an enclosing construct.
fn strip_marks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut first = true;
    loop {
        let Some(at) = rest
            .find(" at line ")
            .or_else(|| rest.find(" at position "))
        else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..at]);
        let after = &rest[at + 4..];
        let end = after.find(',').unwrap_or(after.len());
        let mark = &after[..end];
        let is_mark = mark
            .split_whitespace()
            .all(|w| matches!(w, "line" | "column" | "position") || w.parse::<u64>().is_ok());
        if !is_mark {
            out.push_str(" at ");
            rest = after;
            continue;
        }
        if !first {
            // The start of what was being parsed: `while parsing a flow
            // mapping at line 4 column 10`.
            out.push_str(" that starts at ");
            out.push_str(mark);
        }
        first = false;
        rest = &after[end..];
    }
    out
}

/// The text between `marker` and the next backquote.
fn quoted_after<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    let rest = message.split(marker).nth(1)?;
    rest.split_once('`').map(|(k, _)| k)
}

/// Rewrites serde's wording for people and finds what would be valid.
fn explain(body: &str, path: Option<&[PathSegment]>) -> (String, Option<String>) {
    // Our own visitors put the fix after "; ".
    if let Some((message, help)) = body.split_once("; ") {
        return (message.to_string(), Some(help.to_string()));
    }
    if body.starts_with("unknown field `") || body.starts_with("unknown variant `") {
        return (body.to_string(), did_you_mean(body));
    }
    if let Some(field) = quoted_after(body, "missing field `") {
        let help = if path.is_none_or(|p| p.is_empty()) {
            "every scenario needs `name:` and `rollouts:`".to_string()
        } else {
            format!("add `{field}:` to this mapping")
        };
        return (body.to_string(), Some(help));
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = body.strip_prefix(prefix)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            let (wanted, help) = expected_form(expected);
            let found = match found {
                "unit value" => "nothing (null)".to_string(),
                "sequence" => "a list".to_string(),
                "map" => "a mapping".to_string(),
                other => other.to_string(),
            };
            let message = if path.is_none_or(|p| p.is_empty()) && expected.starts_with("struct ") {
                format!("a scenario file must be a mapping, not {found}")
            } else {
                format!("expected {wanted}, found {found}")
            };
            let help = if found.starts_with("nothing") {
                Some("give it a value, or remove the key to use the default".to_string())
            } else {
                help
            };
            let help = help.or_else(|| type_help(&message));
            return (message, help);
        }
    }
    if let Some(rest) = body.strip_prefix("invalid length ")
        && let Some((n, expected)) = rest.split_once(", expected ")
    {
        let (wanted, help) = expected_form(expected);
        return (format!("expected {wanted}, found {n} items"), help);
    }
    match body {
        "recursion limit exceeded" => (
            format!("nesting deeper than {MAX_NESTING} levels"),
            Some("scenario files are shallow; flatten this value".into()),
        ),
        "repetition limit exceeded" => (
            "aliases expand to too many nodes (an alias bomb?)".into(),
            Some("use fewer aliases".into()),
        ),
        _ => (body.to_string(), type_help(body)),
    }
}

/// serde's name for an expected type, in words, and how to write one.
fn expected_form(expected: &str) -> (String, Option<String>) {
    let (wanted, help): (&str, &str) = match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => (
            "a whole number (0 or more)",
            "write a whole number such as 3",
        ),
        "i8" | "i16" | "i32" | "i64" | "isize" | "an integer" => {
            ("a whole number", "write a whole number such as 3")
        }
        "f32" | "f64" => ("a number", "write a number such as 0.5"),
        "a boolean" => ("true or false", "write true or false"),
        "a string" => (
            "a string",
            "write text such as r1; quote it if it looks like a number or a list: \"123\"",
        ),
        "a sequence" => ("a list", "write a list: [a, b], or one `- item` per line"),
        "a map" => ("a mapping", "write `key: value` pairs"),
        "a tuple of size 2" | "tuple of size 2" => (
            "a list of two numbers",
            "write two numbers, low then high: [0.5, 1.0]",
        ),
        other if other.starts_with("struct ") => ("a mapping", "write `key: value` pairs"),
        other => return (other.to_string(), None),
    };
    (wanted.to_string(), Some(help.to_string()))
}

/// The length of the word at `offset`, so the underline covers a key.
fn token_len(source: &str, offset: usize) -> usize {
    let offset = floor_char_boundary(source, offset);
    source[offset..]
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || matches!(c, ':' | ',' | '}' | ']'))
        .map_or(source.len() - offset, |(i, _)| i)
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown
/// variant"), the nearest valid name.
pub fn did_you_mean(message: &str) -> Option<String> {
    let rest = message
        .split("unknown field `")
        .nth(1)
        .or_else(|| message.split("unknown variant `").nth(1))?;
    let (given, rest) = rest.split_once('`')?;
    let valid: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    nearest(given, valid).map(|best| format!("did you mean `{best}`?"))
}

/// The candidate closest to `given`, if it is close enough to be a typo.
///
/// Bounded: nothing is compared when `given` is longer than
/// [`MAX_SUGGESTION_LEN`], only the first [`MAX_SUGGESTION_CANDIDATES`]
/// candidates are considered, and one whose length alone puts it too far
/// away is skipped without computing the distance.
pub fn nearest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if given.len() > 4 * MAX_SUGGESTION_LEN {
        return None;
    }
    let given_len = given.chars().count();
    if given_len > MAX_SUGGESTION_LEN {
        return None;
    }
    let close_enough = |len: usize| 2.max(len / 3);
    candidates
        .into_iter()
        .take(MAX_SUGGESTION_CANDIDATES)
        .filter(|v| v.len() <= 4 * MAX_SUGGESTION_LEN)
        .filter_map(|v| {
            let len = v.chars().count();
            // The distance is at least the difference of the lengths.
            (len.abs_diff(given_len) <= close_enough(len)).then(|| (edit_distance(given, v), v))
        })
        .min()
        .filter(|(d, v)| *d > 0 && *d <= close_enough(v.chars().count()))
        .map(|(_, v)| v)
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

    /// One line per problem: `file:line:column: message; help`.
    pub fn plain(&self) -> String {
        let mut out = String::new();
        let lines = Lines::new(&self.source);
        for p in &self.problems {
            let message = one_line(&p.message);
            match p.span {
                Some(span) => {
                    let (line, col) = lines.line_col(&self.source, span.offset);
                    out.push_str(&format!("{}:{line}:{col}: {message}", self.path));
                }
                None => out.push_str(&format!("{}: {message}", self.path)),
            }
            if let Some(help) = &p.help {
                out.push_str(&format!("; {}", one_line(help)));
            }
            out.push('\n');
        }
        out
    }

    /// Whether the graphical rendering can show the file's text as it is:
    /// not when the text holds control characters (other than tabs and line
    /// ends) or bidirectional formatting characters, which a snippet would
    /// send to the terminal raw; [`plain`](Self::plain) escapes them.
    pub fn snippets_are_safe(&self) -> bool {
        !self
            .source
            .chars()
            .any(|c| !matches!(c, '\t' | '\n' | '\r') && super::source::is_hidden_char(c))
    }

    /// The miette reports, one per problem, for graphical rendering.
    pub fn reports(&self) -> Vec<ProblemReport> {
        // One copy of the text, shared by every report: a 4 MiB file with
        // a hundred problems is not copied a hundred times.
        let source: Arc<str> = Arc::from(self.source.as_str());
        self.problems
            .iter()
            .map(|p| ProblemReport {
                problem: p.clone(),
                source: NamedSource::new(&self.path, source.clone()),
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

/// `text` with control and bidirectional formatting characters escaped
/// (`\n`, `\u{202e}`), so that a key or value quoted from the file cannot
/// break the one-line-per-problem format.
fn one_line(text: &str) -> Cow<'_, str> {
    super::source::escaped(text)
}

/// One problem with its file, renderable by miette.
#[derive(Debug)]
pub struct ProblemReport {
    problem: Problem,
    source: NamedSource<Arc<str>>,
}

impl fmt::Display for ProblemReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Escaped as in `plain`: a key quoted from the file must not reach
        // a terminal as a control sequence.
        f.write_str(&one_line(&self.problem.message))
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
            .map(|h| Box::new(one_line(h).into_owned()) as Box<dyn fmt::Display>)
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
        assert_eq!(
            did_you_mean("unknown variant `virtaul`, expected one of `auto`, `virtual`"),
            Some("did you mean `virtual`?".into())
        );
    }

    #[test]
    fn suggestions_are_bounded() {
        let long = "a".repeat(MAX_SUGGESTION_LEN + 1);
        assert_eq!(nearest(&long, [long.as_str(), "b"]), None);
        // Only the first candidates are compared.
        let many: Vec<String> = (0..MAX_SUGGESTION_CANDIDATES)
            .map(|i| format!("zz{i}"))
            .collect();
        let names = many.iter().map(String::as_str).chain(["kitten"]);
        assert_eq!(nearest("kiten", names), None);
        assert_eq!(nearest("kiten", ["sitting", "kitten"]), Some("kitten"));
    }

    #[test]
    fn serde_wording_is_rewritten_with_what_would_be_valid() {
        assert_eq!(
            strip_marks(
                "did not find expected ',' or '}' at line 5 column 1, while parsing a flow mapping at line 4 column 10"
            ),
            "did not find expected ',' or '}', while parsing a flow mapping that starts at line 4 column 10"
        );
        let (message, help) = explain("invalid type: string \"yes\", expected a boolean", None);
        assert_eq!(message, "expected true or false, found string \"yes\"");
        assert_eq!(help.as_deref(), Some("write true or false"));
        let (message, help) = explain("a bare number (10) is not a duration; write 10ms", None);
        assert_eq!(
            (message.as_str(), help.as_deref()),
            ("a bare number (10) is not a duration", Some("write 10ms"))
        );
    }

    #[test]
    fn plain_output_keeps_one_line_per_problem() {
        let error = LoadError::new(
            "f.yaml",
            "a: 1\n".into(),
            vec![Problem::located(
                vec![PathSegment::Key("a".into())],
                Some(ByteSpan { offset: 3, len: 1 }),
                "unknown field `x\ny`",
                Some("a\tb".into()),
            )],
        );
        assert_eq!(
            error.plain(),
            "f.yaml:1:4: a: unknown field `x\\ny`; a\\tb\n"
        );
    }

    #[test]
    fn the_graphical_rendering_never_sends_control_characters_raw() {
        let problem = |source: &str| {
            LoadError::new(
                "f.yaml",
                source.into(),
                vec![Problem::located(
                    vec![PathSegment::Key("a".into())],
                    Some(ByteSpan { offset: 0, len: 1 }),
                    "unknown field `\u{1b}[31mred`",
                    Some("did you mean `\u{1b}]0;title\u{7}`?".into()),
                )],
            )
        };
        let error = problem("\"\\e[31mred\": 1\n");
        assert!(error.snippets_are_safe());
        let report = &error.reports()[0];
        assert_eq!(report.to_string(), "a: unknown field `\\u{1b}[31mred`");
        let help = miette::Diagnostic::help(report).unwrap().to_string();
        assert_eq!(help, "did you mean `\\u{1b}]0;title\\u{7}`?");
        // A file whose own text holds a raw escape is shown as plain lines.
        assert!(!problem("a: \u{1b}[31m\n").snippets_are_safe());
        assert!(problem("a:\tb\r\n").snippets_are_safe());
    }
}
