//! How a run ended: why it stopped, and what became of each worker.
//!
//! These are facts the driver establishes once per run, whatever the engine;
//! the invariants read them, and reports show them.

use serde::Serialize;

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// Every rollout became terminal (`stop.when: all_terminal`).
    AllTerminal,
    /// `stop.at` was reached.
    StopAt,
    /// The virtual-time budget `stop.within` ran out first.
    TimeBudget {
        /// The budget, in ms.
        within_ms: u64,
    },
    /// The event budget ran out first.
    EventBudget {
        /// The budget.
        max_events: usize,
    },
    /// The turmoil engine's budget ran out first: its steps, events and
    /// bytes on the network, in host-steps ([`TurmoilCost`](super::plan::TurmoilCost)).
    TurmoilBudget {
        /// The budget, in host-steps.
        host_steps: u64,
    },
    /// Nothing was left to happen (every worker gone), before the stop rule
    /// held. Only with `stop.when: all_terminal`: a run told to stop at an
    /// instant runs to it (and ends with [`StopAt`](Self::StopAt)) whoever
    /// is left, on every engine.
    Stalled,
    /// The liveness phase's window closed (`faults.heal_at` plus
    /// `stop.recover_within`) before the stop rule held: the run goes no
    /// further, and the `liveness` invariant judges what is still pending.
    RecoveryWindow {
        /// When the window closed, in ms.
        until_ms: u64,
    },
}

impl StopReason {
    /// True when the run ended as its stop rule asked.
    pub fn is_clean(self) -> bool {
        matches!(
            self,
            Self::AllTerminal | Self::StopAt | Self::RecoveryWindow { .. }
        )
    }

    /// A sentence for reports.
    pub fn describe(self) -> String {
        match self {
            Self::AllTerminal => "every rollout terminal".into(),
            Self::StopAt => "reached stop.at".into(),
            Self::TimeBudget { within_ms } => {
                format!("virtual-time budget stop.within = {within_ms}ms exceeded")
            }
            Self::EventBudget { max_events } => {
                format!("event budget of {max_events} events exceeded")
            }
            Self::TurmoilBudget { host_steps } => {
                format!("turmoil budget of {host_steps} host-steps exceeded")
            }
            Self::Stalled => "stalled: no worker left and nothing scheduled".into(),
            Self::RecoveryWindow { until_ms } => {
                format!("recovery window closed at heal_at + recover_within = {until_ms}ms")
            }
        }
    }
}

/// A worker's state when the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerState {
    /// Its runner was still running.
    Alive,
    /// It was crashed and not restarted.
    Crashed,
    /// Its runner ended with an error.
    Failed,
    /// Its `start_at` had not come.
    Pending,
}

/// Why a worker that is down at the end of a run went down, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerDown {
    /// When it went down (the last time, if it went down more than once).
    pub at: std::time::Duration,
    /// Why.
    pub why: DownReason,
}

/// Why a worker went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// A planned crash (`faults.at`, or a bounce of its host).
    Crashed,
    /// Its runner ended with this error (a failed heartbeat or
    /// reassignment tick, or its registration).
    Failed(String),
}

impl std::fmt::Display for WorkerDown {
    /// `at 20ms: heartbeat tick: ...`, `at 10ms: crashed (faults.at)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.at.as_secs_f64() * 1e3;
        match &self.why {
            DownReason::Crashed => write!(f, "crashed at {ms}ms (faults.at)"),
            DownReason::Failed(message) => write!(f, "ended at {ms}ms: {message}"),
        }
    }
}
