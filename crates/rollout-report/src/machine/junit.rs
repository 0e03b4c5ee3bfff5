//! JUnit XML (`scenario --junit FILE`, `explore --junit FILE`): the
//! document as the Jenkins xUnit plugin's junit-10 XSD allows it
//! (`tests/junit.rs` validates every kind of document the tool writes
//! against `tests/junit/junit.xsd`, our statement of it, and against the
//! plugin's own file where the machine has one).
//!
//! A [`Document`] is one `<testsuites>` named [`REPORT_NAME`] holding
//! [`Suite`]s, each holding [`Case`]s in order. The XSD fixes where things
//! may go, and that shapes what is shown where:
//!
//! - the counts are `tests`, `failures` and `errors`, on `<testsuites>` and
//!   on each `<testsuite>` (the XSD has no `skipped` on `<testsuites>`, and
//!   nothing is ever skipped);
//! - a case's own facts (engine, trace hash, what was judged, the repro
//!   command) are `name: value` lines in its `<system-out>`: the XSD allows
//!   `<properties>` only on a `<testsuite>`, and no `assertions` attribute;
//! - a suite-wide fact (the swept file, its hash, the engine, the seeds)
//!   is a `<property>` of the suite;
//! - a case that failed has a `<failure>` (an expectation, a finding, an
//!   unreached goal); a scenario file that could not be loaded is a case
//!   with an `<error>` instead, counted in `errors`, so a suite with an
//!   invalid file is never all green;
//! - what a cancel (SIGINT, SIGTERM) left undone is a case with an
//!   `<error>` of type `cancelled`: a scenario file not finished (named by
//!   its path), or a sweep's seeds not run (a case named `cancelled`), so
//!   a partial document is never all green either.
//!
//! Times are seconds of wall time with three decimals; a suite's is the sum
//! of its cases' (a scenario suite) or the sweep's wall time. Every text is
//! written with its control characters as escapes (`\u{1b}`), which XML 1.0
//! cannot carry ([`render_junit`](crate::render_junit)).

use std::time::Duration;

use rollout_scenario::LoadError;

use super::Engine;
use crate::ScenarioReport;

/// The `name` of `<testsuites>`.
pub const REPORT_NAME: &str = "rollout-sim";

/// The `name` of the one `<testsuite>` of `scenario --junit`.
pub const SUITE_NAME: &str = "scenarios";

/// One `<testsuites>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `name`: always [`REPORT_NAME`].
    pub name: &'static str,
    /// The `<testsuite>`s, in order.
    pub suites: Vec<Suite>,
}

/// One `<testsuite>`: `tests`, `failures` and `errors` count its cases.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    /// `name`.
    pub name: String,
    /// `time`.
    pub time: Duration,
    /// Its `<properties>`, in this order; none is no element.
    pub properties: Vec<Property>,
    /// Its `<testcase>`s, in order.
    pub cases: Vec<Case>,
}

/// One `<property name=... value=...>` of a suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// `name`.
    pub name: &'static str,
    /// `value`.
    pub value: String,
}

/// One `<testcase>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// `name`: `{scenario name} [seed {seed}]` for a run, the file for a
    /// file that could not be loaded, `{id}: {title}` for a finding.
    pub name: String,
    /// `classname`: the scenario file, as given, for a run or an invalid
    /// file; the scenario's name in a sweep.
    pub classname: String,
    /// `time`, when the case has one of its own.
    pub time: Option<Duration>,
    /// How it ended.
    pub result: CaseResult,
    /// `<system-out>`: one `name: value` line per fact; none is no element.
    pub system_out: Vec<(&'static str, String)>,
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseResult {
    /// No child element.
    Passed,
    /// A `<failure>`: counted in `failures`.
    Failed(Problem),
    /// An `<error>`: counted in `errors`.
    Error(Problem),
}

/// The `<failure>` or `<error>` of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// `type`.
    pub kind: ProblemKind,
    /// `message`: the first thing wrong, on one line.
    pub message: String,
    /// The text: everything wrong, one a line.
    pub text: String,
}

/// The `type` of a `<failure>` or `<error>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A run failed an expectation or violated an invariant (`<failure>`).
    Expectation,
    /// A scenario file could not be loaded, or not run as asked
    /// (`<error>`).
    InvalidScenario,
    /// A sweep's failing seeds of one cause (`<failure>`).
    Finding,
    /// Failing seeds of causes a sweep counts but does not list
    /// (`<failure>`).
    UnlistedFindings,
    /// A goal of the scenario's own (`expect.sometimes`) no seed of a
    /// sweep reached (`<failure>`).
    UnreachedGoal,
    /// SIGINT or SIGTERM stopped the run first: a scenario file left
    /// unfinished, or a sweep's seeds left unrun (`<error>`: a cancelled
    /// run is not a pass).
    Cancelled,
}

impl ProblemKind {
    /// The `type` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Expectation => "expectation",
            ProblemKind::InvalidScenario => "invalid scenario",
            ProblemKind::Finding => "finding",
            ProblemKind::UnlistedFindings => "unlisted findings",
            ProblemKind::UnreachedGoal => "unreached goal",
            ProblemKind::Cancelled => "cancelled",
        }
    }
}

impl Suite {
    /// `tests`: every case.
    pub fn tests(&self) -> usize {
        self.cases.len()
    }

    /// `failures`: the cases with a `<failure>`.
    pub fn failures(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| matches!(c.result, CaseResult::Failed(_)))
            .count()
    }

    /// `errors`: the cases with an `<error>`.
    pub fn errors(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| matches!(c.result, CaseResult::Error(_)))
            .count()
    }
}

impl Document {
    /// The document of `scenario --junit`: one suite, [`SUITE_NAME`], of
    /// these cases in order, its time the sum of theirs.
    pub fn scenarios(cases: Vec<Case>) -> Self {
        let time = cases.iter().filter_map(|c| c.time).sum();
        Self {
            name: REPORT_NAME,
            suites: vec![Suite {
                name: SUITE_NAME.to_string(),
                time,
                properties: Vec::new(),
                cases,
            }],
        }
    }
}

// The conversions from the reports: the only code that names both.

impl From<&ScenarioReport> for Case {
    /// A run's case: failing with every failed expectation (expected and
    /// actual) and every violated invariant, then the repro command.
    fn from(r: &ScenarioReport) -> Self {
        let result = if r.passed {
            CaseResult::Passed
        } else {
            let failed = r.checks.iter().filter(|c| !c.passed).map(|c| {
                format!(
                    "{}: expected {}, actual {}",
                    c.name,
                    c.expected.human(),
                    c.actual.human()
                )
            });
            let violated = r.invariants.iter().filter(|i| !i.held).flat_map(|i| {
                i.violations
                    .iter()
                    .map(move |v| format!("invariant {}: {v}", i.name))
            });
            let mut lines: Vec<String> = failed.chain(violated).collect();
            let message = lines.first().cloned().unwrap_or_else(|| "failed".into());
            lines.push(format!("repro: {}", r.repro));
            CaseResult::Failed(Problem {
                kind: ProblemKind::Expectation,
                message,
                text: lines.join("\n"),
            })
        };
        Self {
            name: format!("{} [seed {}]", r.name, r.seed),
            classname: r.file.clone(),
            time: Some(Duration::from_secs_f64(r.wall_time_us.max(0.0) / 1e6)),
            result,
            system_out: vec![
                ("engine", Engine::from(r.engine).as_str().to_string()),
                ("trace_hash", r.trace_hash.clone()),
                (
                    "judged",
                    format!(
                        "{} expectations, {} invariants",
                        r.checks.len(),
                        r.invariants.len()
                    ),
                ),
                ("repro", r.repro.clone()),
            ],
        }
    }
}

impl From<&LoadError> for Case {
    /// An invalid file's case: an `<error>` whose message is its first
    /// problem as `file:line:column: message; help` and whose text is
    /// every problem, one a line (the lines `scenario` prints on stderr).
    fn from(e: &LoadError) -> Self {
        let text = e.plain().trim_end().to_string();
        let message = text.lines().next().unwrap_or(&e.path).to_string();
        Self {
            name: e.path.clone(),
            classname: e.path.clone(),
            time: None,
            result: CaseResult::Error(Problem {
                kind: ProblemKind::InvalidScenario,
                message,
                text,
            }),
            system_out: Vec::new(),
        }
    }
}

impl Case {
    /// The case of a scenario file a cancel left unfinished (`started`)
    /// or never started.
    pub fn cancelled(file: &str, started: bool) -> Self {
        let message = format!(
            "cancelled (SIGINT or SIGTERM) before it {}",
            if started { "finished" } else { "started" }
        );
        Case {
            name: file.to_string(),
            classname: file.to_string(),
            time: None,
            result: CaseResult::Error(Problem {
                kind: ProblemKind::Cancelled,
                text: message.clone(),
                message,
            }),
            system_out: Vec::new(),
        }
    }
}
