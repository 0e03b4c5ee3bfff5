//! JUnit XML: one test case per (scenario, seed) and per invalid scenario
//! file, for CI test viewers; the document's shape is
//! [`machine::junit`](super::machine::junit)'s.
//!
//! The XML is written here, element by element, rather than by a JUnit
//! library: the ones at hand write what the Jenkins junit-10 XSD rejects
//! (`skipped` on `<testsuites>`, `assertions` and `<properties>` on
//! `<testcase>`), and a CI server that validates (the xUnit plugin does)
//! would refuse the whole file.
//!
//! Every text is passed through [`escape::xml_chars`]: XML 1.0 cannot carry
//! most control characters even as references, so a name with an ESC in it
//! is shown as `\u{1b}` rather than dropped or changed into another name.
//! In attribute values, line ends and tabs are written as character
//! references, which a parser gives back as they were (written raw, they
//! would be read as spaces). A suite builds its cases with [`case`] and
//! [`invalid_case`] as results arrive, keeping only these, and renders them
//! with [`render_cases`] at the end.

use std::fmt::Write as _;
use std::time::Duration;

use rollout_scenario::LoadError;

use super::machine::junit::{Case, CaseResult, Document, Problem};
use super::{ScenarioReport, escape};

/// One scenario run's test case.
pub fn case(r: &ScenarioReport) -> Case {
    Case::from(r)
}

/// The test case of a scenario file that could not be loaded: an `<error>`.
pub fn invalid_case(e: &LoadError) -> Case {
    Case::from(e)
}

/// The `scenario --junit` document for these cases, in order.
pub fn render_cases(cases: impl IntoIterator<Item = Case>) -> String {
    render_document(&Document::scenarios(cases.into_iter().collect()))
}

/// The JUnit document for these scenario reports.
pub fn render(reports: &[&ScenarioReport]) -> String {
    render_cases(reports.iter().map(|r| case(r)))
}

/// Character data: markup characters as entities, `\r` as a reference (a
/// parser would turn a raw one into `\n`), control characters escaped.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape::xml_chars(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// A double-quoted attribute value: as [`text`], with `"` and the
/// whitespace that attribute-value normalisation would turn into spaces.
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in text(s).chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// Seconds with three decimals, as the XSD's `SUREFIRE_TIME` reads them.
fn seconds(d: Duration) -> String {
    format!("{}.{:03}", d.as_secs(), d.subsec_millis())
}

/// The whole document, indented by four spaces a level.
pub fn render_document(doc: &Document) -> String {
    let sum = |count: fn(&super::machine::junit::Suite) -> usize| -> usize {
        doc.suites.iter().map(count).sum()
    };
    let time: Duration = doc.suites.iter().map(|s| s.time).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">",
        attr(doc.name),
        sum(|s| s.tests()),
        sum(|s| s.failures()),
        sum(|s| s.errors()),
        seconds(time),
    );
    for suite in &doc.suites {
        let _ = write!(
            out,
            "    <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\"",
            attr(&suite.name),
            suite.tests(),
            suite.failures(),
            suite.errors(),
            seconds(suite.time),
        );
        if suite.properties.is_empty() && suite.cases.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if !suite.properties.is_empty() {
            out.push_str("        <properties>\n");
            for p in &suite.properties {
                let _ = writeln!(
                    out,
                    "            <property name=\"{}\" value=\"{}\"/>",
                    attr(p.name),
                    attr(&p.value)
                );
            }
            out.push_str("        </properties>\n");
        }
        for case in &suite.cases {
            write_case(&mut out, case);
        }
        out.push_str("    </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn write_case(out: &mut String, case: &Case) {
    let _ = write!(
        out,
        "        <testcase name=\"{}\" classname=\"{}\"",
        attr(&case.name),
        attr(&case.classname)
    );
    if let Some(time) = case.time {
        let _ = write!(out, " time=\"{}\"", seconds(time));
    }
    let problem = match &case.result {
        CaseResult::Passed => None,
        CaseResult::Failed(p) => Some(("failure", p)),
        CaseResult::Error(p) => Some(("error", p)),
    };
    if problem.is_none() && case.system_out.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    if let Some((
        element,
        Problem {
            kind,
            message,
            text: body,
        },
    )) = problem
    {
        let _ = writeln!(
            out,
            "            <{element} message=\"{}\" type=\"{}\">{}</{element}>",
            attr(message),
            attr(kind.as_str()),
            text(body)
        );
    }
    if !case.system_out.is_empty() {
        out.push_str("            <system-out>");
        for (name, value) in &case.system_out {
            // One fact a line, whatever the value holds.
            let value = value.replace('\n', "\\n").replace('\r', "\\r");
            let _ = writeln!(out, "{}: {}", text(name), text(&value));
        }
        out.push_str("</system-out>\n");
    }
    out.push_str("        </testcase>\n");
}
