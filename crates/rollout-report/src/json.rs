//! The JSON report: one document per invocation, schema [`super::REPORT_SCHEMA`],
//! written from the types of [`machine::report`].
//!
//! [`render`] writes a whole [`SuiteReport`]; [`SuiteStream`] writes the same
//! bytes a scenario at a time, so that a suite prints each result as it is
//! ready and keeps none: `scenarios` comes before `invalid` and `summary`
//! in the document, and each scenario is pretty-printed on its own and
//! indented to its depth (JSON strings hold no raw newline, so indenting
//! line by line is exact).

use serde::Serialize;

use super::machine::{self, Each};
use super::{InvalidFile, REPORT_SCHEMA, ScenarioReport, SuiteReport, Summary, TOOL_VERSION};

/// Renders the report as pretty-printed JSON with a trailing newline.
pub fn render(report: &SuiteReport) -> String {
    let mut out = serde_json::to_string_pretty(&machine::report::Suite::from(report))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}

/// `value` pretty-printed, every line after the first indented by `indent`.
fn nested(value: &impl Serialize, indent: &str) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("\"{e}\""));
    text.replace('\n', &format!("\n{indent}"))
}

/// The JSON report written a scenario at a time; the bytes are those of
/// [`render`].
#[derive(Debug, Default)]
pub struct SuiteStream {
    scenarios: usize,
}

impl SuiteStream {
    /// The stream, and the document's opening.
    pub fn begin() -> (Self, String) {
        let opening = format!(
            "{{\n  \"schema\": {},\n  \"tool_version\": {},\n  \"scenarios\": [",
            nested(&REPORT_SCHEMA, ""),
            nested(&TOOL_VERSION, "")
        );
        (Self::default(), opening)
    }

    /// One scenario's entry.
    pub fn scenario(&mut self, report: &ScenarioReport) -> String {
        let separator = if self.scenarios == 0 { "\n" } else { ",\n" };
        self.scenarios += 1;
        let report = machine::report::Scenario::from(report);
        format!("{separator}    {}", nested(&report, "    "))
    }

    /// The rest of the document.
    pub fn end(self, invalid: &[InvalidFile], summary: &Summary) -> String {
        let close = if self.scenarios == 0 { "]" } else { "\n  ]" };
        format!(
            "{close},\n  \"invalid\": {},\n  \"summary\": {}\n}}\n",
            nested(&Each::<_, machine::report::InvalidFile>::new(invalid), "  "),
            nested(&machine::report::Summary::from(summary), "  ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollout_scenario::{LoadError, Problem, RunOptions, load_str, run_scenario};

    fn report(name: &str, text: &str) -> ScenarioReport {
        let scenario = load_str(name, text).unwrap();
        let outcome = run_scenario(&scenario, RunOptions::default());
        ScenarioReport::new(&scenario, &outcome, "rollout-sim")
    }

    #[test]
    fn the_stream_writes_the_bytes_of_the_whole_report() {
        let c02 = include_str!("../../../scenarios/c02.yaml");
        let failing = c02.replace("rollout: 35", "rollout: 36");
        let invalid = InvalidFile::new(&LoadError::single(
            "bad.yaml",
            "x: 1\n".into(),
            Problem::new("unknown key `x`"),
        ));
        let cases: [(Vec<ScenarioReport>, Vec<InvalidFile>); 4] = [
            (vec![], vec![]),
            (vec![], vec![invalid.clone()]),
            (vec![report("c02.yaml", c02)], vec![]),
            (
                vec![report("a.yaml", c02), report("b.yaml", &failing)],
                vec![invalid.clone(), invalid],
            ),
        ];
        for (scenarios, invalid) in cases {
            let suite = SuiteReport::new(scenarios, invalid, std::time::Duration::from_millis(3));
            let (mut stream, mut text) = SuiteStream::begin();
            for s in &suite.scenarios {
                text.push_str(&stream.scenario(s));
            }
            text.push_str(&stream.end(&suite.invalid, &suite.summary));
            assert_eq!(text, render(&suite));
        }
    }
}
