//! The JSON report, [`REPORT_SCHEMA`]: one document per `scenario
//! --format json`, a [`Suite`]. Fields are listed in the order the
//! document has them, which stays the same between runs so that two
//! reports diff cleanly.

use serde::Serialize;
use serde_json::Value;

use super::{Each, Engine, Text};
use crate::rewards::RewardLog;
use rollout_scenario::{CheckName, CheckValue};
use rollout_simulator::InvariantReport;
use rollout_simulator::StopReason;

/// The version tag of the JSON report: the value of [`Suite::schema`].
pub const REPORT_SCHEMA: &str = "rollout-sim.report/1";

/// A whole invocation's results.
#[derive(Serialize)]
pub struct Suite<'a> {
    /// `rollout-sim.report/1` ([`REPORT_SCHEMA`]).
    #[serde(rename = "schema")]
    pub schema: &'a str,
    /// The version of rollout-sim that wrote it.
    #[serde(rename = "tool_version")]
    pub tool_version: &'a str,
    /// The scenarios run, in input order.
    #[serde(rename = "scenarios")]
    pub scenarios: Each<'a, crate::ScenarioReport, Scenario<'a>>,
    /// The files that could not be loaded, in input order.
    #[serde(rename = "invalid")]
    pub invalid: Each<'a, crate::InvalidFile, InvalidFile<'a>>,
    /// Counts.
    #[serde(rename = "summary")]
    pub summary: Summary,
}

/// One scenario's run and verdict.
#[derive(Serialize)]
pub struct Scenario<'a> {
    /// The file, as given on the command line.
    #[serde(rename = "file")]
    pub file: &'a str,
    /// The scenario's name.
    #[serde(rename = "name")]
    pub name: &'a str,
    /// The seed it ran with.
    #[serde(rename = "seed")]
    pub seed: u64,
    /// The engine it ran on.
    #[serde(rename = "engine")]
    pub engine: Engine,
    /// XXH3-64 of the file's bytes, as 16 hex digits.
    #[serde(rename = "scenario_hash")]
    pub scenario_hash: &'a str,
    /// The version of rollout-sim that ran it.
    #[serde(rename = "tool_version")]
    pub tool_version: &'a str,
    /// True when every check passed and every selected invariant held.
    #[serde(rename = "passed")]
    pub passed: bool,
    /// Every expectation, in file order by section (and a `stop` check
    /// when the run did not end as its stop rule asked).
    #[serde(rename = "checks")]
    pub checks: Each<'a, rollout_scenario::Check, Check<'a>>,
    /// Every selected invariant, in the order they are checked.
    #[serde(rename = "invariants")]
    pub invariants: Each<'a, InvariantReport, Invariant<'a>>,
    /// Why the run ended.
    #[serde(rename = "stop")]
    pub stop: Stop,
    /// Virtual time at the end, in ms.
    #[serde(rename = "virtual_time_ms")]
    pub virtual_time_ms: f64,
    /// Wall-clock time of the run, in microseconds: it differs between
    /// runs.
    #[serde(rename = "wall_time_us")]
    pub wall_time_us: f64,
    /// Events in the trace.
    #[serde(rename = "events")]
    pub events: usize,
    /// The trace hash, as 16 hex digits.
    #[serde(rename = "trace_hash")]
    pub trace_hash: &'a str,
    /// Every reward emitted: `{"r1:attempt-1": [["exact_match", 1], ...]}`,
    /// attempts in the order of their ids' text, each attempt's rewards in
    /// emission order.
    #[serde(rename = "rewards")]
    pub rewards: &'a RewardLog,
    /// Each rollout's final status, error and attempts (each attempt's
    /// status, worker and error), in the order enqueued; the first
    /// 10,000.
    #[serde(rename = "rollouts")]
    pub rollouts: Each<'a, crate::RolloutOutcome, Rollout<'a>>,
    /// Rollouts past the first 10,000, counted; absent when none.
    #[serde(rename = "rollouts_not_listed", skip_serializing_if = "is_zero")]
    pub rollouts_not_listed: usize,
    /// The command that reruns exactly this.
    #[serde(rename = "repro")]
    pub repro: &'a str,
    /// In swarm mode, the fault configuration the seed drew; absent otherwise.
    #[serde(rename = "swarm", skip_serializing_if = "Option::is_none")]
    pub swarm: Option<&'a serde_json::Value>,
    /// The determinism check, present only with `--check-determinism`.
    #[serde(rename = "determinism", skip_serializing_if = "Option::is_none")]
    pub determinism: Option<Determinism<'a>>,
    /// The scenario's own coverage goals (`expect.sometimes`), in file
    /// order, each reached or not; present only when the file has some.
    #[serde(rename = "sometimes", skip_serializing_if = "Vec::is_empty")]
    pub sometimes: Vec<Sometimes<'a>>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A rollout's end.
#[derive(Serialize)]
pub struct Rollout<'a> {
    /// Its id.
    #[serde(rename = "id")]
    pub id: &'a str,
    /// Its final status.
    #[serde(rename = "status")]
    pub status: &'static str,
    /// The error it ended with; absent when none.
    #[serde(rename = "error", skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    /// Its attempts, the first first.
    #[serde(rename = "attempts")]
    pub attempts: Each<'a, crate::AttemptOutcome, Attempt<'a>>,
}

/// An attempt's end.
#[derive(Serialize)]
pub struct Attempt<'a> {
    /// Its id, `r1:attempt-2`.
    #[serde(rename = "id")]
    pub id: &'a str,
    /// Its final status: `running`, `succeeded`, `failed` or `timeout`.
    #[serde(rename = "status")]
    pub status: &'static str,
    /// The worker it ran on.
    #[serde(rename = "worker")]
    pub worker: &'a str,
    /// Its error; absent when none.
    #[serde(rename = "error", skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

impl<'a> From<&'a crate::RolloutOutcome> for Rollout<'a> {
    fn from(r: &'a crate::RolloutOutcome) -> Self {
        Self {
            id: &r.id,
            status: r.status.as_str(),
            error: r.error.as_deref(),
            attempts: Each::new(&r.attempts),
        }
    }
}

impl<'a> From<&'a crate::AttemptOutcome> for Attempt<'a> {
    fn from(a: &'a crate::AttemptOutcome) -> Self {
        Self {
            id: &a.id,
            status: a.status.as_str(),
            worker: &a.worker,
            error: a.error.as_deref(),
        }
    }
}

/// One checked expectation.
#[derive(Serialize)]
pub struct Check<'a> {
    /// Such as `rewards.r1.runner.poll_retry_backoff_ms_before_rollout`.
    #[serde(rename = "name")]
    pub name: Text<&'a CheckName>,
    /// What the scenario expects: any JSON value (a number stays a number).
    #[serde(rename = "expected")]
    pub expected: &'a CheckValue,
    /// What the run gave, likewise.
    #[serde(rename = "actual")]
    pub actual: &'a CheckValue,
    /// Whether it held.
    #[serde(rename = "passed")]
    pub passed: bool,
}

/// The verdict of one built-in invariant.
#[derive(Serialize)]
pub struct Invariant<'a> {
    /// Its name, such as `backoff-policy`.
    #[serde(rename = "name")]
    pub name: &'a str,
    /// True when no violation was found.
    #[serde(rename = "held")]
    pub held: bool,
    /// The first violations, each a sentence.
    #[serde(rename = "violations")]
    pub violations: &'a [String],
    /// How many violations there were in all.
    #[serde(rename = "violation_count")]
    pub violation_count: usize,
}

/// Why a run ended: an object whose `reason` says which, with the budget
/// that ran out for the budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason")]
pub enum Stop {
    /// Every rollout became terminal (`stop.when: all_terminal`).
    #[serde(rename = "all_terminal")]
    AllTerminal,
    /// `stop.at` was reached.
    #[serde(rename = "stop_at")]
    StopAt,
    /// The virtual-time budget `stop.within` ran out first.
    #[serde(rename = "time_budget")]
    TimeBudget {
        /// The budget, in ms.
        #[serde(rename = "within_ms")]
        within_ms: u64,
    },
    /// The event budget ran out first.
    #[serde(rename = "event_budget")]
    EventBudget {
        /// The budget, in events.
        #[serde(rename = "max_events")]
        max_events: usize,
    },
    /// The turmoil engine's budget ran out first.
    #[serde(rename = "turmoil_budget")]
    TurmoilBudget {
        /// The budget, in host-steps.
        #[serde(rename = "host_steps")]
        host_steps: u64,
    },
    /// Nothing was left to happen before the stop rule held.
    #[serde(rename = "stalled")]
    Stalled,
    /// The liveness phase's window closed before the stop rule held.
    #[serde(rename = "recovery_window")]
    RecoveryWindow {
        /// `faults.heal_at + stop.recover_within`, in ms.
        #[serde(rename = "until_ms")]
        until_ms: u64,
    },
}

/// The verdict of running a scenario twice from scratch.
#[derive(Serialize)]
pub struct Determinism<'a> {
    /// True when both runs produced the same trace.
    #[serde(rename = "deterministic")]
    pub deterministic: bool,
    /// Events in the first and second run.
    #[serde(rename = "events")]
    pub events: [usize; 2],
    /// Trace hashes of the first and second run.
    #[serde(rename = "trace_hashes")]
    pub trace_hashes: &'a [String; 2],
    /// The index of the first event that differs; null when none does.
    #[serde(rename = "diverged_at")]
    pub diverged_at: Option<usize>,
    /// That event in the first run, as a [`trace::Event`](super::trace::Event)
    /// (its keys in alphabetical order); null past the end of the run.
    #[serde(rename = "first_run_event")]
    pub first_run_event: Option<&'a Value>,
    /// That event in the second run, likewise.
    #[serde(rename = "second_run_event")]
    pub second_run_event: Option<&'a Value>,
}

/// One goal of the scenario's own, in one run.
#[derive(Serialize)]
pub struct Sometimes<'a> {
    /// The goal's name.
    #[serde(rename = "goal")]
    pub goal: &'a str,
    /// Whether this run reached it.
    #[serde(rename = "reached")]
    pub reached: bool,
}

/// A file that could not be loaded.
#[derive(Serialize)]
pub struct InvalidFile<'a> {
    /// The file.
    #[serde(rename = "file")]
    pub file: &'a str,
    /// Its problems.
    #[serde(rename = "problems")]
    pub problems: Each<'a, crate::ProblemReport, Problem<'a>>,
}

/// One problem of a file, located.
#[derive(Serialize)]
pub struct Problem<'a> {
    /// 1-based line; null when not known.
    #[serde(rename = "line")]
    pub line: Option<usize>,
    /// 1-based column; null when not known.
    #[serde(rename = "column")]
    pub column: Option<usize>,
    /// What is wrong.
    #[serde(rename = "message")]
    pub message: &'a str,
    /// What would be valid; null when there is no suggestion.
    #[serde(rename = "help")]
    pub help: Option<&'a str>,
}

/// Counts of a whole invocation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Scenarios run.
    #[serde(rename = "total")]
    pub total: usize,
    /// Of which passed.
    #[serde(rename = "passed")]
    pub passed: usize,
    /// Of which failed.
    #[serde(rename = "failed")]
    pub failed: usize,
    /// Files that could not be loaded.
    #[serde(rename = "invalid")]
    pub invalid: usize,
    /// Scenarios whose two runs differed (with `--check-determinism`).
    #[serde(rename = "nondeterministic")]
    pub nondeterministic: usize,
    /// Files that SIGINT or SIGTERM left unfinished or never started (exit
    /// 130): not counted in `total`; when it is not 0 the report is
    /// partial, holding only the scenarios that finished.
    #[serde(rename = "cancelled")]
    pub cancelled: usize,
    /// Wall time of the whole invocation, in ms.
    #[serde(rename = "wall_time_ms")]
    pub wall_time_ms: f64,
}

// The conversions from the report's own types: the only code that names
// both.

impl<'a> From<&'a crate::SuiteReport> for Suite<'a> {
    fn from(r: &'a crate::SuiteReport) -> Self {
        Self {
            schema: r.schema,
            tool_version: r.tool_version,
            scenarios: Each::new(&r.scenarios),
            invalid: Each::new(&r.invalid),
            summary: Summary::from(&r.summary),
        }
    }
}

impl<'a> From<&'a crate::ScenarioReport> for Scenario<'a> {
    fn from(r: &'a crate::ScenarioReport) -> Self {
        Self {
            file: &r.file,
            name: &r.name,
            seed: r.seed,
            engine: r.engine.into(),
            scenario_hash: &r.scenario_hash,
            tool_version: r.tool_version,
            passed: r.passed,
            checks: Each::new(&r.checks),
            invariants: Each::new(&r.invariants),
            stop: r.stop.into(),
            virtual_time_ms: r.virtual_time_ms,
            wall_time_us: r.wall_time_us,
            events: r.events,
            trace_hash: &r.trace_hash,
            rewards: &r.rewards,
            rollouts: Each::new(&r.rollouts),
            rollouts_not_listed: r.rollouts_not_listed,
            repro: &r.repro,
            swarm: r.swarm.as_ref(),
            determinism: r.determinism.as_ref().map(Determinism::from),
            sometimes: r
                .sometimes
                .iter()
                .map(|(goal, reached)| Sometimes {
                    goal,
                    reached: *reached,
                })
                .collect(),
        }
    }
}

impl<'a> From<&'a rollout_scenario::Check> for Check<'a> {
    fn from(c: &'a rollout_scenario::Check) -> Self {
        Self {
            name: Text(&c.name),
            expected: &c.expected,
            actual: &c.actual,
            passed: c.passed,
        }
    }
}

impl<'a> From<&'a InvariantReport> for Invariant<'a> {
    fn from(i: &'a InvariantReport) -> Self {
        Self {
            name: i.name.name(),
            held: i.held,
            violations: &i.violations,
            violation_count: i.violation_count,
        }
    }
}

impl From<StopReason> for Stop {
    fn from(stop: StopReason) -> Self {
        match stop {
            StopReason::AllTerminal => Self::AllTerminal,
            StopReason::StopAt => Self::StopAt,
            StopReason::TimeBudget { within_ms } => Self::TimeBudget { within_ms },
            StopReason::EventBudget { max_events } => Self::EventBudget { max_events },
            StopReason::TurmoilBudget { host_steps } => Self::TurmoilBudget { host_steps },
            StopReason::Stalled => Self::Stalled,
            StopReason::RecoveryWindow { until_ms } => Self::RecoveryWindow { until_ms },
        }
    }
}

impl<'a> From<&'a crate::DeterminismReport> for Determinism<'a> {
    fn from(d: &'a crate::DeterminismReport) -> Self {
        Self {
            deterministic: d.deterministic,
            events: d.events,
            trace_hashes: &d.trace_hashes,
            diverged_at: d.diverged_at,
            first_run_event: d.first_run_event.as_ref(),
            second_run_event: d.second_run_event.as_ref(),
        }
    }
}

impl<'a> From<&'a crate::InvalidFile> for InvalidFile<'a> {
    fn from(f: &'a crate::InvalidFile) -> Self {
        Self {
            file: &f.file,
            problems: Each::new(&f.problems),
        }
    }
}

impl<'a> From<&'a crate::ProblemReport> for Problem<'a> {
    fn from(p: &'a crate::ProblemReport) -> Self {
        Self {
            line: p.line,
            column: p.column,
            message: &p.message,
            help: p.help.as_deref(),
        }
    }
}

impl From<&crate::Summary> for Summary {
    fn from(s: &crate::Summary) -> Self {
        Self {
            total: s.total,
            passed: s.passed,
            failed: s.failed,
            invalid: s.invalid,
            nondeterministic: s.nondeterministic,
            cancelled: s.cancelled,
            wall_time_ms: s.wall_time_ms,
        }
    }
}
