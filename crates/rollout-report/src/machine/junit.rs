//! JUnit XML (`--junit FILE`): one `<testsuites>` named [`REPORT_NAME`]
//! holding one `<testsuite>` named [`SUITE_NAME`], with a [`Case`] per
//! scenario run, in input order. Times are seconds of wall time; the
//! suite's is the sum of its cases'.
//!
//! Every text is written with its control characters as escapes (`\u{1b}`),
//! which XML 1.0 cannot carry ([`render_junit`](crate::render_junit)).

use std::time::Duration;

use super::Engine;
use crate::ScenarioReport;

/// The `name` of `<testsuites>`.
pub const REPORT_NAME: &str = "rollout-sim";

/// The `name` of the one `<testsuite>`.
pub const SUITE_NAME: &str = "scenarios";

/// One `<testcase>`: one scenario run.
#[derive(Debug, Clone, PartialEq)]
pub struct Case<'a> {
    /// `name`: `{scenario name} [seed {seed}]`.
    pub name: String,
    /// `classname`: the scenario file, as given on the command line.
    pub classname: &'a str,
    /// `time`: the run's wall time.
    pub time: Duration,
    /// `assertions`: the checks and invariants judged.
    pub assertions: usize,
    /// `<properties>`, in this order.
    pub properties: [Property<'a>; 3],
    /// `<failure>`, when the run failed; a passing case has none.
    pub failure: Option<Failure>,
}

/// One `<property name=... value=...>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Property<'a> {
    /// `name`: `engine`, `trace_hash` or `repro`.
    pub name: &'static str,
    /// `value`: the engine, the trace hash (16 hex digits), the command
    /// that reruns the case.
    pub value: &'a str,
}

/// A failing case's `<failure>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// `message`: the first failed check (`{name}: expected {expected},
    /// actual {actual}`), else the first violation (`invariant {name}:
    /// {violation}`).
    pub message: String,
    /// `type`: always [`FAILURE_TYPE`].
    pub kind: &'static str,
    /// The text: every failed check, then every violation, one a line,
    /// then `repro: {command}`.
    pub description: String,
}

/// The `type` of every `<failure>`.
pub const FAILURE_TYPE: &str = "expectation";

// The conversion from the report: the only code that names both.

impl<'a> From<&'a ScenarioReport> for Case<'a> {
    fn from(r: &'a ScenarioReport) -> Self {
        let failure = (!r.passed).then(|| {
            let failed: Vec<String> = r
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| {
                    format!(
                        "{}: expected {}, actual {}",
                        c.name,
                        c.expected.human(),
                        c.actual.human()
                    )
                })
                .collect();
            let violated: Vec<String> = r
                .invariants
                .iter()
                .filter(|i| !i.held)
                .flat_map(|i| {
                    i.violations
                        .iter()
                        .map(move |v| format!("invariant {}: {v}", i.name))
                })
                .collect();
            let message = failed
                .first()
                .or(violated.first())
                .cloned()
                .unwrap_or_else(|| "failed".into());
            let mut description = failed.join("\n");
            for v in &violated {
                description.push('\n');
                description.push_str(v);
            }
            description.push_str(&format!("\nrepro: {}", r.repro));
            Failure {
                message,
                kind: FAILURE_TYPE,
                description: description.trim_start().to_string(),
            }
        });
        Self {
            name: format!("{} [seed {}]", r.name, r.seed),
            classname: &r.file,
            time: Duration::from_secs_f64(r.wall_time_us / 1e6),
            assertions: r.checks.len() + r.invariants.len(),
            properties: [
                Property {
                    name: "engine",
                    value: Engine::from(r.engine).as_str(),
                },
                Property {
                    name: "trace_hash",
                    value: &r.trace_hash,
                },
                Property {
                    name: "repro",
                    value: &r.repro,
                },
            ],
            failure,
        }
    }
}
