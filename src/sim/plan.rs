//! What to simulate, as plain data: the sim layer's input.
//!
//! A [`SimPlan`] is a scenario with every default filled in and every
//! reference resolved: the runner config, the workers, each rollout with its
//! scripted executor behaviour per attempt, the fault scripts, the timed
//! events and the stop rule. The scenario layer builds one from YAML; an
//! embedder can build one in code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::core::queue::{QueueOp, ReassignmentPolicy, RolloutId, WorkerId};
use crate::core::runner::RunnerConfig;
use crate::core::telemetry::Reward;

use super::faults::OpScript;

/// How one attempt of a scripted rollout goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStep {
    /// How long the executor runs.
    pub duration: Duration,
    /// How it ends.
    pub result: StepResult,
}

/// How a scripted execution ends.
#[derive(Debug, Clone, PartialEq)]
pub enum StepResult {
    /// The executor returns this output and these rewards.
    Succeeded {
        /// `Null` counts as no output.
        output: Value,
        /// Emitted in order.
        rewards: Vec<Reward>,
    },
    /// The executor fails with this message.
    Failed {
        /// The error message.
        message: String,
    },
}

impl Default for RunStep {
    fn default() -> Self {
        Self {
            duration: Duration::ZERO,
            result: StepResult::Succeeded {
                output: Value::Null,
                rewards: Vec::new(),
            },
        }
    }
}

/// A rollout to enqueue and how its attempts go.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutPlan {
    /// Its id.
    pub id: RolloutId,
    /// Its input.
    pub input: Value,
    /// When it enters the queue.
    pub enqueue_at: Duration,
    /// Attempt `n` runs `attempts[n-1]`; the last entry repeats. Never empty.
    pub attempts: Vec<RunStep>,
}

impl RolloutPlan {
    /// The step for attempt `number` (1-based).
    pub fn step(&self, number: u32) -> &RunStep {
        let idx = (number.max(1) as usize - 1).min(self.attempts.len().saturating_sub(1));
        &self.attempts[idx]
    }
}

/// A fault at a moment of virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimedAction {
    /// Drop the worker's task wherever it is; its in-flight work is lost.
    Crash(WorkerId),
    /// Start a crashed (or failed) worker again.
    Restart(WorkerId),
}

/// A [`TimedAction`] and when it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedFault {
    /// Virtual time.
    pub at: Duration,
    /// What happens.
    pub action: TimedAction,
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWhen {
    /// As soon as every rollout is succeeded, failed or cancelled.
    AllTerminal,
    /// At this virtual time.
    At(Duration),
}

/// When a run ends, and the most virtual time it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopRule {
    /// The stop condition.
    pub when: StopWhen,
    /// The virtual-time budget; running past it fails the run.
    pub within: Duration,
}

impl Default for StopRule {
    fn default() -> Self {
        Self {
            when: StopWhen::AllTerminal,
            within: Duration::from_secs(600),
        }
    }
}

/// Hard bounds on one run, so that no plan can hang or exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// Trace events after which the run stops and fails.
    pub max_events: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            max_events: 5_000_000,
        }
    }
}

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SimPlan {
    /// The seed (recorded; random faults arrive in a later version).
    pub seed: u64,
    /// The runner config; `worker_id` is replaced per worker.
    pub runner: RunnerConfig,
    /// How the queue finds stale attempts.
    pub reassignment: ReassignmentPolicy,
    /// The workers, started in this order at time zero.
    pub workers: Vec<WorkerId>,
    /// The rollouts, enqueued in `enqueue_at` order (ties in this order).
    pub rollouts: Vec<RolloutPlan>,
    /// Attempts a rollout may have; `None` for unlimited.
    pub max_attempts: Option<u32>,
    /// Fault scripts by operation.
    pub fault_scripts: BTreeMap<QueueOp, OpScript>,
    /// Timed faults, applied in time order (ties in this order).
    pub timed_faults: Vec<TimedFault>,
    /// When to stop.
    pub stop: StopRule,
    /// Bounds.
    pub limits: RunLimits,
    /// Test-only: make the virtual engine deliberately non-deterministic (a
    /// timer fires 1 ms late, a different one on each run in the process), to
    /// prove that determinism checks catch it.
    #[doc(hidden)]
    pub perturb_scheduling: bool,
}

impl Default for SimPlan {
    fn default() -> Self {
        Self {
            seed: 0,
            runner: RunnerConfig::default(),
            reassignment: ReassignmentPolicy::default(),
            workers: vec![WorkerId::new("worker-1")],
            rollouts: Vec::new(),
            max_attempts: None,
            fault_scripts: BTreeMap::new(),
            timed_faults: Vec::new(),
            stop: StopRule::default(),
            limits: RunLimits::default(),
            perturb_scheduling: false,
        }
    }
}
