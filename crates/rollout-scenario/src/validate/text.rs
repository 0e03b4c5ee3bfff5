//! Names and messages: bounded in length, free of hidden characters.
//!
//! Ids, names and messages are copied into every span and trace event that
//! mentions them and shown in every report, so the long ones are refused
//! (ids and names over [`MAX_NAME_LEN`] bytes, messages over
//! [`MAX_MESSAGE_LEN`]). Control characters and the Unicode bidirectional
//! formatting characters are refused in all of them, the scenario's `name`
//! and `description` included: reports are read in terminals and as SVG,
//! HTML and JUnit, where such characters break the text or disguise it
//! ("Trojan Source"). Only the description may hold line feeds and tabs.

use crate::limits::{MAX_MESSAGE_LEN, MAX_NAME_LEN};
use crate::schema::ScenarioFile;
use crate::source::{Path, at, is_hidden_char};

use super::Validator;

/// What a text of the file is, for [`Validator::text`]: how long it may be
/// and which characters it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Text {
    /// An id or a name (rollout, worker, `generate.prefix`, span).
    Name,
    /// A name written as a mapping key (a reward): located at the key.
    Key,
    /// A fault or executor error message.
    Message,
    /// The scenario's `name`: no length limit of its own.
    Title,
    /// The `description`: several lines and tabs are fine.
    Prose,
}

impl Text {
    fn max_len(self) -> Option<usize> {
        match self {
            Self::Name | Self::Key => Some(MAX_NAME_LEN),
            Self::Message => Some(MAX_MESSAGE_LEN),
            Self::Title | Self::Prose => None,
        }
    }

    /// Control characters (C0 with NUL and ESC, DEL, C1) and the Unicode
    /// bidirectional formatting characters, which reorder the text shown
    /// around them ("Trojan Source"): a line feed and a tab only in prose.
    fn refuses(self, c: char) -> bool {
        if self == Self::Prose && matches!(c, '\n' | '\t') {
            return false;
        }
        is_hidden_char(c)
    }
}

impl Validator<'_> {
    /// The scenario's `name` (not empty) and `description`.
    pub(super) fn header(&mut self, file: &ScenarioFile) {
        if file.name.trim().is_empty() {
            self.problem(at!["name"], "the scenario name is empty", None);
        }
        self.text(at!["name"], "the scenario name", &file.name, Text::Title);
        if let Some(description) = &file.description {
            self.text(
                at!["description"],
                "the description",
                description,
                Text::Prose,
            );
        }
    }

    /// [`text`](Self::text) for each name of the list at `at`.
    pub(super) fn names(&mut self, at: &Path, what: &str, names: &[String]) {
        for (i, name) in names.iter().enumerate() {
            self.text(at![at; i], what, name, Text::Name);
        }
    }

    /// Refuses `text` longer than its kind allows, or holding a control
    /// character.
    pub(super) fn text(&mut self, at: Path, what: &str, text: &str, kind: Text) {
        if let Some(max) = kind.max_len()
            && text.len() > max
        {
            let message = format!(
                "{what} of {} bytes is longer than the limit of {max}",
                text.len()
            );
            let help = Some(
                "it is copied into every span and trace event that mentions it: shorten it".into(),
            );
            self.text_problem(kind, at.clone(), message, help);
        }
        if let Some(c) = text.chars().find(|c| kind.refuses(*c)) {
            let what_char = if c.is_control() {
                "the control character"
            } else {
                "the bidirectional formatting character"
            };
            let message = format!("{what} contains {what_char} `{}`", c.escape_unicode());
            let help = Some(
                "names and messages are shown in terminals and written into SVG, HTML and JUnit reports, where such characters break or disguise the text: remove it".into(),
            );
            self.text_problem(kind, at, message, help);
        }
    }

    /// A problem with a text, at its key when it is one.
    fn text_problem(&mut self, kind: Text, at: Path, message: String, help: Option<String>) {
        if kind == Text::Key {
            self.key_problem(at, message, help);
        } else {
            self.problem(at, message, help);
        }
    }
}

/// A number that is not finite, as YAML writes it (`.nan`, `.inf`,
/// `-.inf`).
pub(super) fn non_finite(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some(".nan")
    } else if value == f64::INFINITY {
        Some(".inf")
    } else if value == f64::NEG_INFINITY {
        Some("-.inf")
    } else {
        None
    }
}
