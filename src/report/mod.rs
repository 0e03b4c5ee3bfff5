//! Layer 4a: reports. What a run of scenarios looks like to people (human)
//! and to machines (JSON).
//!
//! Both are rendered from the same [`ScenarioReport`]s, so they never
//! disagree. The JSON schema is versioned by [`REPORT_SCHEMA`]; its fields
//! keep their order between runs so two reports diff cleanly.

pub mod human;
pub mod json;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::core::telemetry::json_number;
use crate::scenario::{Check, LoadError, Scenario, ScenarioOutcome};
use crate::sim::invariants::InvariantReport;
use crate::sim::{EngineKind, StopReason};

/// The version tag of the JSON report.
pub const REPORT_SCHEMA: &str = "rollout-sim.report/1";

/// The tool's version, as reported.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One scenario's result, as reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// The file, as given on the command line.
    pub file: String,
    /// The scenario's name.
    pub name: String,
    /// The seed it ran with.
    pub seed: u64,
    /// The engine it ran on.
    pub engine: EngineKind,
    /// XXH3-64 of the file's bytes, as 16 hex digits.
    pub scenario_hash: String,
    /// The tool version.
    pub tool_version: &'static str,
    /// Every expectation and every selected invariant held.
    pub passed: bool,
    /// Every expectation, with expected and actual values.
    pub checks: Vec<Check>,
    /// Every selected invariant.
    pub invariants: Vec<InvariantReport>,
    /// Why the run ended.
    pub stop: StopReason,
    /// Virtual time at the end, in ms.
    pub virtual_time_ms: f64,
    /// Wall-clock time of the run, in microseconds.
    pub wall_time_us: f64,
    /// Events in the trace.
    pub events: usize,
    /// The trace hash, as 16 hex digits.
    pub trace_hash: String,
    /// Rewards emitted, by attempt then name, in emission order.
    pub rewards: BTreeMap<String, Vec<(String, Value)>>,
    /// The command that reruns exactly this.
    pub repro: String,
}

impl ScenarioReport {
    /// Builds the report of one run; `program` prefixes the repro command.
    pub fn new(scenario: &Scenario, outcome: &ScenarioOutcome, program: &str) -> Self {
        let run = &outcome.run;
        let mut rewards: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
        for span in run.snapshot.spans.all() {
            if let Some(reward) = span.reward() {
                rewards
                    .entry(span.attempt_id.to_string())
                    .or_default()
                    .push((reward.name, json_number(reward.value)));
            }
        }
        Self {
            file: scenario.path.clone(),
            name: scenario.name.clone(),
            seed: outcome.seed,
            engine: outcome.engine,
            scenario_hash: format!("{:016x}", scenario.source_hash),
            tool_version: TOOL_VERSION,
            passed: outcome.passed(),
            checks: outcome.checks.clone(),
            invariants: outcome.invariants.clone(),
            stop: run.stop,
            virtual_time_ms: run.ended_at.as_secs_f64() * 1e3,
            wall_time_us: run.wall.as_secs_f64() * 1e6,
            events: run.trace.events.len(),
            trace_hash: run.trace_hash.to_string(),
            rewards,
            repro: repro_command(program, &scenario.path, outcome.seed, outcome.engine),
        }
    }
}

/// The command that reruns one scenario with its seed and engine.
pub fn repro_command(program: &str, file: &str, seed: u64, engine: EngineKind) -> String {
    format!(
        "{program} scenario {} --seed {seed} --engine {engine}",
        shell_quote(file)
    )
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// One invalid file, as reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct InvalidFile {
    /// The file.
    pub file: String,
    /// Its problems.
    pub problems: Vec<ProblemReport>,
}

/// One problem, located.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemReport {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What would be valid.
    pub help: Option<String>,
}

impl InvalidFile {
    /// From a load error.
    pub fn new(error: &LoadError) -> Self {
        let problems = error
            .problems
            .iter()
            .map(|p| {
                let (line, column) = p
                    .span
                    .map(|s| crate::scenario::source::line_col(&error.source, s.offset))
                    .map_or((None, None), |(l, c)| (Some(l), Some(c)));
                ProblemReport {
                    line,
                    column,
                    message: p.message.clone(),
                    help: p.help.clone(),
                }
            })
            .collect();
        Self {
            file: error.path.clone(),
            problems,
        }
    }
}

/// A whole invocation's results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SuiteReport {
    /// The schema tag.
    pub schema: &'static str,
    /// The tool version.
    pub tool_version: &'static str,
    /// Scenarios run, in input order.
    pub scenarios: Vec<ScenarioReport>,
    /// Files that could not be loaded.
    pub invalid: Vec<InvalidFile>,
    /// Counts.
    pub summary: Summary,
}

/// Counts for the last line.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    /// Scenarios run.
    pub total: usize,
    /// Of which passed.
    pub passed: usize,
    /// Of which failed.
    pub failed: usize,
    /// Files that could not be loaded.
    pub invalid: usize,
    /// Wall time of the whole invocation, in ms.
    pub wall_time_ms: f64,
}

impl SuiteReport {
    /// Assembles the report and its summary.
    pub fn new(
        scenarios: Vec<ScenarioReport>,
        invalid: Vec<InvalidFile>,
        wall: std::time::Duration,
    ) -> Self {
        let passed = scenarios.iter().filter(|s| s.passed).count();
        let summary = Summary {
            total: scenarios.len(),
            passed,
            failed: scenarios.len() - passed,
            invalid: invalid.len(),
            wall_time_ms: wall.as_secs_f64() * 1e3,
        };
        Self {
            schema: REPORT_SCHEMA,
            tool_version: TOOL_VERSION,
            scenarios,
            invalid,
            summary,
        }
    }
}
