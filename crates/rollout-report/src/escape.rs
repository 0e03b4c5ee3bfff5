//! Text from scenario files made safe for the documents and terminals that
//! show it.
//!
//! Ids, names, file paths and error messages come from user input (or from
//! a library user's plan, which no loader checked), so any of them may hold
//! control characters. XML 1.0 cannot carry most C0 characters at all, not
//! even as character references, so an SVG or JUnit file holding one is
//! ill-formed; on a terminal, ESC and the C1 controls start escape sequences
//! that can recolour, move the cursor or rewrite earlier lines. Every such
//! character is therefore shown as a visible escape instead: `\u{1b}` in XML
//! (JUnit, SVG), `\x1b` on a terminal, the notations of Rust's own string
//! escapes. Ordinary text, including every non-ASCII letter, is unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;

/// A character XML 1.0 cannot carry (most C0 controls, U+FFFE, U+FFFF) or
/// that it discourages and a viewer may act on (DEL, the C1 controls).
fn unfit_for_xml(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b' | '\x0c' | '\x0e'..='\x1f' | '\x7f'..='\u{9f}')
        || matches!(c, '\u{fffe}' | '\u{ffff}')
}

/// A character a terminal may act on: every C0 control (tab and newline
/// included: a newline in a name could forge a report line), DEL and the C1
/// controls.
fn unfit_for_terminal(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}')
}

fn replace(text: &str, unfit: fn(char) -> bool, escape: fn(&mut String, char)) -> Cow<'_, str> {
    if !text.chars().any(unfit) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unfit(c) {
            escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` with every character XML cannot carry shown as `\u{..}`, for
/// writers that escape markup themselves (the JUnit writer).
pub fn xml_chars(text: &str) -> Cow<'_, str> {
    replace(text, unfit_for_xml, |out, c| {
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    })
}

/// `text` as XML character data or a double-quoted attribute value: markup
/// characters as entities, and [`xml_chars`].
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in xml_chars(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` with every control character shown as `\x1b` (C0 and DEL) or
/// `\u{9b}` (C1), for a terminal or a log.
pub fn terminal(text: &str) -> Cow<'_, str> {
    replace(text, unfit_for_terminal, |out, c| {
        if c <= '\x7f' {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_unchanged_and_borrowed() {
        for text in [
            "c02-deterministic-backoff-totals",
            "r1:attempt-1",
            "été ✓ 日本",
            "",
        ] {
            assert!(matches!(xml_chars(text), Cow::Borrowed(_)));
            assert!(matches!(terminal(text), Cow::Borrowed(_)));
        }
        assert_eq!(xml("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }

    #[test]
    fn controls_become_visible_escapes() {
        let evil = "a\0b\x1b[31mc\x7fd\u{9b}e\tf\ng";
        assert_eq!(
            xml_chars(evil),
            "a\\u{0}b\\u{1b}[31mc\\u{7f}d\\u{9b}e\tf\ng"
        );
        assert_eq!(
            terminal(evil),
            "a\\x00b\\x1b[31mc\\x7fd\\u{9b}e\\x09f\\x0ag"
        );
        assert_eq!(xml("<\u{ffff}>"), "&lt;\\u{ffff}&gt;");
    }
}
