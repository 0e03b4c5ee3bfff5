//! Fault scripts as data: what a plan says about the calls of each queue
//! operation, and what was decided about each call.
//!
//! A script is a list of [`FaultStep`]s over the successive calls of one
//! operation: `fail N` fails the next N calls, `pass N` lets N through,
//! `empty N` (dequeue only) answers "nothing waiting" N times. After the
//! last step every call passes. A script is shared by all workers
//! ([`OpScript::Shared`], calls counted in the order they happen) or kept
//! per worker. [`RandomRates`] are the seeded overlay's rates for calls the
//! script has no step for. The injector that applies them lives in
//! [`faults`](super::faults); these types are also what a plan is built
//! from, and what `freeze` writes back ([`VerdictLog`]).

use std::collections::BTreeMap;

use rollout_core::{QueueOp, WorkerId};

/// The message of an injected failure when the script gives none.
pub const DEFAULT_FAULT_MESSAGE: &str = "injected fault";

/// One step of a fault script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultStep {
    /// Fail the next `times` calls with `message`.
    Fail {
        /// How many calls.
        times: u32,
        /// The error message.
        message: String,
    },
    /// Let the next `times` calls through.
    Pass {
        /// How many calls.
        times: u32,
    },
    /// Answer the next `times` dequeues with no rollout.
    Empty {
        /// How many calls.
        times: u32,
    },
}

impl FaultStep {
    fn times(&self) -> u32 {
        match self {
            Self::Fail { times, .. } | Self::Pass { times } | Self::Empty { times } => *times,
        }
    }
}

/// What the script says about one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Call the queue.
    Pass,
    /// Fail with this message.
    Fail(String),
    /// Answer "nothing waiting".
    Empty,
}

/// A position in a list of steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptCursor {
    steps: Vec<FaultStep>,
    step: usize,
    used: u32,
}

impl ScriptCursor {
    /// A cursor at the first step.
    pub fn new(steps: Vec<FaultStep>) -> Self {
        Self {
            steps,
            step: 0,
            used: 0,
        }
    }

    /// The verdict for the next call, advancing the script.
    pub fn next_verdict(&mut self) -> Verdict {
        self.next_step().unwrap_or(Verdict::Pass)
    }

    /// The verdict of the next step, or `None` once the script is used up.
    pub fn next_step(&mut self) -> Option<Verdict> {
        while let Some(step) = self.steps.get(self.step) {
            if self.used < step.times() {
                self.used += 1;
                return Some(match step {
                    FaultStep::Fail { message, .. } => Verdict::Fail(message.clone()),
                    FaultStep::Pass { .. } => Verdict::Pass,
                    FaultStep::Empty { .. } => Verdict::Empty,
                });
            }
            self.step += 1;
            self.used = 0;
        }
        None
    }
}

/// The script of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpScript {
    /// One script over every worker's calls, in the order they happen.
    Shared(Vec<FaultStep>),
    /// A script per worker; workers not named always pass.
    PerWorker(BTreeMap<WorkerId, Vec<FaultStep>>),
}

/// The seeded overlay's rates for one operation.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct RandomRates {
    /// Probability that a call fails.
    pub fail_rate: f64,
    /// Probability that a dequeue answers "nothing waiting" (dequeue only).
    pub empty_rate: f64,
}

/// The message of a failure drawn by the overlay.
pub const RANDOM_FAULT_MESSAGE: &str = "random fault";

/// Every verdict given, per operation: in call order over all workers, and
/// per worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerdictLog {
    /// All calls of each operation, in the order they happened.
    pub shared: BTreeMap<QueueOp, Vec<Verdict>>,
    /// Each worker's calls of each operation.
    pub per_worker: BTreeMap<(QueueOp, WorkerId), Vec<Verdict>>,
    /// How many verdicts the overlay decided (failures and empties).
    pub random_faults: u64,
}
