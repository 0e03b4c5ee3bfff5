//! Layer 4a: reports. What a run of scenarios looks like to people (human)
//! and to machines (JSON).
//!
//! Both are rendered from the same [`ScenarioReport`]s, so they never
//! disagree. Every machine-readable output (the JSON report, versioned by
//! [`REPORT_SCHEMA`], JUnit, spans, the trace) is written from the types of
//! [`machine`], its schemas, never from these. Every file and stdout goes
//! through one writer ([`Outputs`], [`Stdout`]), which never replaces what is not a regular file nor
//! an input, and writes whole files or none.

mod diff;
mod escape;
mod events;
mod human;
mod json;
mod junit;
pub mod machine;
mod output;
mod rewards;
mod spans;
#[cfg(feature = "sqlite")]
mod spans_db;
#[cfg(not(feature = "sqlite"))]
#[path = "spans_db_absent.rs"]
mod spans_db;
mod sweep;
mod timeline;

pub use diff::{render_human as render_diff_human, render_json as render_diff_json};
pub use events::{render_jsonl as render_events_jsonl, write_jsonl as write_events_jsonl};
pub use human::{Detail, LISTED, Style, render_scenario, render_summary};
pub use json::{SuiteStream, render as render_json};
pub use junit::{
    case as junit_case, invalid_case as junit_invalid_case, render as render_junit,
    render_cases as render_junit_cases, render_document as render_junit_document,
};
pub use machine::junit::Case as JunitCase;
use serde_json::Value;

use rollout_scenario::{Check, LoadError, Scenario, ScenarioOutcome};
use rollout_simulator::InvariantReport;
use rollout_simulator::{EngineKind, StopReason};

pub use machine::report::REPORT_SCHEMA;
pub use output::{Destination, Output, OutputError, Outputs, Stdout, abandon, write_file};
pub use rewards::RewardLog;
pub use spans::{
    APPLICATION_ID, SCHEMA_VERSION, SQLITE_SCHEMA, SpansDb, SpansMode,
    render_jsonl as render_spans_jsonl, write_jsonl as write_spans_jsonl,
};
pub use sweep::{
    render_html as render_sweep_html, render_human as render_sweep_human,
    render_junit as render_sweep_junit,
};
pub use timeline::{Timeline, render as render_timeline};

pub use rollout_scenario::TOOL_VERSION;

/// One scenario's result, as reports show it.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The file, as given on the command line.
    pub file: String,
    /// The scenario's name.
    pub name: String,
    /// The seed it ran with.
    pub seed: u64,
    /// The branch it ran (`--branch`); empty for the seed's own run. Shown
    /// to people; machines read it from the repro command.
    pub branch: rollout_simulator::Branch,
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
    pub rewards: rewards::RewardLog,
    /// Each rollout's end and its attempts', in the order enqueued: the
    /// first [`MAX_ROLLOUTS_LISTED`].
    pub rollouts: Vec<RolloutOutcome>,
    /// Rollouts past [`MAX_ROLLOUTS_LISTED`], counted.
    pub rollouts_not_listed: usize,
    /// The command that reruns exactly this.
    pub repro: String,
    /// In swarm mode, the fault configuration the seed drew (as its JSON).
    pub swarm: Option<Value>,
    /// The determinism check, when `--check-determinism` asked for one.
    pub determinism: Option<DeterminismReport>,
    /// The built-in coverage goals the run reached, in report order: shown
    /// with `--verbose`, not in the JSON report (DESIGN §8 counts them
    /// over sweeps).
    pub coverage: rollout_simulator::GoalsReached,
    /// The scenario's own goals (`expect.sometimes`), in file order, each
    /// with whether the run reached it: reported, never a failure.
    pub sometimes: Vec<(std::sync::Arc<str>, bool)>,
}

/// The most rollouts a report lists with their attempts; the rest are
/// counted (a million-rollout run's report stays readable).
pub const MAX_ROLLOUTS_LISTED: usize = 10_000;

/// A rollout's end, as reports show it.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutOutcome {
    /// Its id.
    pub id: String,
    /// Its final status.
    pub status: rollout_core::RolloutStatus,
    /// The error it ended with.
    pub error: Option<String>,
    /// Its attempts, the first first.
    pub attempts: Vec<AttemptOutcome>,
}

/// An attempt's end, as reports show it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptOutcome {
    /// Its id, `r1:attempt-2`.
    pub id: String,
    /// Its final status (`timeout` for one reassignment took back).
    pub status: rollout_core::AttemptStatus,
    /// The worker it ran on.
    pub worker: String,
    /// Its error, if it has one.
    pub error: Option<String>,
}

impl RolloutOutcome {
    fn of(r: &rollout_core::RolloutRecord) -> Self {
        Self {
            // Written directly, not through `Display`: the report lists
            // up to 10,000 rollouts.
            id: r.id.as_str().to_owned(),
            status: r.status,
            error: r.error.clone(),
            attempts: r
                .attempts
                .iter()
                .map(|a| AttemptOutcome {
                    id: rewards::attempt_text(&a.id),
                    status: a.status,
                    worker: a.worker.as_str().to_owned(),
                    error: a.error.clone(),
                })
                .collect(),
        }
    }
}

/// The verdict of running a scenario twice from scratch.
#[derive(Debug, Clone, PartialEq)]
pub struct DeterminismReport {
    /// True when both runs produced the same trace.
    pub deterministic: bool,
    /// Events in the first and second run.
    pub events: [usize; 2],
    /// Trace hashes of the first and second run.
    pub trace_hashes: [String; 2],
    /// The index of the first event that differs.
    pub diverged_at: Option<usize>,
    /// That event in each run, as JSON ([`machine::trace::Event`]); `None`
    /// past the end of a run.
    pub first_run_event: Option<Value>,
    /// See `first_run_event`.
    pub second_run_event: Option<Value>,
}

impl DeterminismReport {
    /// Compares two runs of the same scenario and seed.
    pub fn compare(
        first: &rollout_simulator::RunResult,
        second: &rollout_simulator::RunResult,
    ) -> Self {
        let diverged_at = first.trace.first_divergence(&second.trace);
        let event = |run: &rollout_simulator::RunResult| {
            diverged_at
                .and_then(|i| run.trace.events.get(i))
                .and_then(|e| serde_json::to_value(machine::trace::Event::from(e)).ok())
        };
        Self {
            deterministic: diverged_at.is_none(),
            events: [first.events, second.events],
            trace_hashes: [first.trace_hash.to_string(), second.trace_hash.to_string()],
            diverged_at,
            first_run_event: event(first),
            second_run_event: event(second),
        }
    }
}

impl ScenarioReport {
    /// Builds the report of one run; `program` prefixes the repro command.
    pub fn new(scenario: &Scenario, outcome: &ScenarioOutcome, program: &str) -> Self {
        let run = &outcome.run;
        let rewards = rewards::RewardLog::from_spans(&run.snapshot.spans);
        Self {
            file: scenario.path.clone(),
            name: scenario.name.clone(),
            seed: outcome.seed,
            branch: outcome.branch.clone(),
            engine: outcome.engine,
            scenario_hash: format!("{:016x}", scenario.source_hash),
            tool_version: TOOL_VERSION,
            passed: outcome.passed(),
            checks: outcome.checks.clone(),
            invariants: outcome.invariants.clone(),
            stop: run.stop,
            virtual_time_ms: run.ended_at.as_secs_f64() * 1e3,
            wall_time_us: run.wall.as_secs_f64() * 1e6,
            events: run.events,
            trace_hash: run.trace_hash.to_string(),
            rewards,
            rollouts: run
                .snapshot
                .rollouts
                .iter()
                .take(MAX_ROLLOUTS_LISTED)
                .map(RolloutOutcome::of)
                .collect(),
            rollouts_not_listed: run
                .snapshot
                .rollouts
                .len()
                .saturating_sub(MAX_ROLLOUTS_LISTED),
            repro: rollout_scenario::outcome_repro(program, &scenario.path, outcome),
            swarm: outcome
                .swarm
                .as_ref()
                .and_then(|d| serde_json::to_value(d).ok()),
            determinism: None,
            coverage: run.coverage,
            sometimes: outcome.sometimes.clone(),
        }
    }
}

pub use rollout_scenario::repro_command;

/// One invalid file, as reports show it.
#[derive(Debug, Clone)]
pub struct InvalidFile {
    /// The file.
    pub file: String,
    /// Its problems.
    pub problems: Vec<ProblemReport>,
}

/// One problem, located.
#[derive(Debug, Clone)]
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
                    .map(|s| rollout_scenario::line_col(&error.source, s.offset))
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
#[derive(Debug, Clone, Default)]
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
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Scenarios run.
    pub total: usize,
    /// Of which passed.
    pub passed: usize,
    /// Of which failed.
    pub failed: usize,
    /// Files that could not be loaded.
    pub invalid: usize,
    /// Scenarios whose two runs differed (with `--check-determinism`).
    pub nondeterministic: usize,
    /// Files a cancel (SIGINT, SIGTERM) left unfinished or not started:
    /// the report is partial when this is not 0.
    pub cancelled: usize,
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
            nondeterministic: scenarios
                .iter()
                .filter(|s| s.determinism.as_ref().is_some_and(|d| !d.deterministic))
                .count(),
            cancelled: 0,
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
