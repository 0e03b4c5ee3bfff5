//! Coverage goals: rare things the poll loop can do, noted when a run does
//! them.
//!
//! An invariant says what must never happen; a goal says what should happen
//! *sometimes* (Antithesis's "sometimes assertions", moonpool's coverage
//! points). A sweep that never reaches a goal has not exercised that part
//! of the runner, however many seeds passed: the goals say where
//! exploration has been, and guide it where it has not.
//!
//! The built-in goals ([`Goal`]) are read from the event trace as it is
//! recorded, by [`Coverage`], an [`EventObserver`] beside the invariants'
//! monitor, and from the queue's final state. What it keeps is small: the
//! goals reached, and the attempts that carried retry metrics or whose
//! rollout timed out while they were running.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use rollout_core::{AttemptId, AttemptStatus, QueueSnapshot, RETRY_FAILURES_METRIC, RolloutId};
use rollout_core::{RolloutStatus, WorkerId};

use super::plan::SimPlan;
use super::states::{CoverageState, StatesReached};
use super::trace::{CallResult, EventKind, EventObserver};

/// A built-in coverage goal. The variants are listed in the order reports
/// show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Goal {
    /// A poll failure's backoff delay reached the policy's cap.
    BackoffCapped,
    /// A rollout was processed after 3 or more failed polls in a row.
    RecoveredAfter3Failures,
    /// An attempt that carried the retry metrics then failed its execution.
    MetricsOnFailedExecution,
    /// A heartbeat failed while an attempt was executing.
    HeartbeatFailedDuringExecution,
    /// An attempt timed out (the queue reassigned it) and its rollout was
    /// dequeued again.
    TimedOutAndRetried,
    /// A worker finished an attempt after it had timed out: the completion
    /// was not recorded.
    LateFinishAfterTimeout,
    /// The queue failed a rollout because the last attempt `max_attempts`
    /// allows timed out.
    MaxAttemptsExhausted,
    /// A worker was started again after a crash or a failure.
    WorkerRestarted,
}

impl Goal {
    /// Every built-in goal, in report order.
    pub const ALL: [Goal; 8] = [
        Goal::BackoffCapped,
        Goal::RecoveredAfter3Failures,
        Goal::MetricsOnFailedExecution,
        Goal::HeartbeatFailedDuringExecution,
        Goal::TimedOutAndRetried,
        Goal::LateFinishAfterTimeout,
        Goal::MaxAttemptsExhausted,
        Goal::WorkerRestarted,
    ];

    /// Its name in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Goal::BackoffCapped => "backoff-capped",
            Goal::RecoveredAfter3Failures => "recovered-after-3-failures",
            Goal::MetricsOnFailedExecution => "metrics-on-failed-execution",
            Goal::HeartbeatFailedDuringExecution => "heartbeat-failed-during-execution",
            Goal::TimedOutAndRetried => "timed-out-and-retried",
            Goal::LateFinishAfterTimeout => "late-finish-after-timeout",
            Goal::MaxAttemptsExhausted => "max-attempts-exhausted",
            Goal::WorkerRestarted => "worker-restarted",
        }
    }

    /// The goal called `name`, if there is one.
    pub fn named(name: &str) -> Option<Goal> {
        Goal::ALL.into_iter().find(|g| g.name() == name)
    }
}

impl std::fmt::Display for Goal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Goal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The goals one run reached: a set of [`Goal`]s, one bit each, so noting
/// one on the hot path allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GoalsReached(u16);

impl GoalsReached {
    /// No goal.
    pub const NONE: GoalsReached = GoalsReached(0);

    fn bit(goal: Goal) -> u16 {
        1 << (goal as u16)
    }

    /// Notes `goal`.
    pub fn insert(&mut self, goal: Goal) {
        self.0 |= Self::bit(goal);
    }

    /// True when `goal` was reached.
    pub fn contains(&self, goal: Goal) -> bool {
        self.0 & Self::bit(goal) != 0
    }

    /// True when no goal was reached.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The goals reached, in report order.
    pub fn iter(&self) -> impl Iterator<Item = Goal> + '_ {
        Goal::ALL.into_iter().filter(|g| self.contains(*g))
    }
}

impl FromIterator<Goal> for GoalsReached {
    fn from_iter<I: IntoIterator<Item = Goal>>(goals: I) -> Self {
        let mut reached = GoalsReached::NONE;
        for g in goals {
            reached.insert(g);
        }
        reached
    }
}

impl Serialize for GoalsReached {
    /// The names of the goals reached, in report order.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// Notes the goals a run reaches, fed one event at a time.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// The backoff policy's cap, in ms.
    cap_ms: u64,
    reached: GoalsReached,
    /// The finer states reached, and when ([`StatesReached`]).
    states: StatesReached,
    /// Events seen so far.
    events: u64,
    /// Attempts that carried the retry metrics and have not finished.
    with_metrics: BTreeSet<AttemptId>,
    /// Rollouts with an attempt that timed out, not yet dequeued again.
    timed_out: BTreeSet<RolloutId>,
}

impl Coverage {
    /// Coverage of a run of `plan`.
    pub fn new(plan: &SimPlan) -> Self {
        Self {
            cap_ms: u64::try_from(plan.runner.backoff.max.as_millis()).unwrap_or(u64::MAX),
            reached: GoalsReached::NONE,
            states: StatesReached::default(),
            events: 0,
            with_metrics: BTreeSet::new(),
            timed_out: BTreeSet::new(),
        }
    }

    fn reach(&mut self, goal: Goal) {
        self.reached.insert(goal);
        self.states.note(CoverageState::Goal(goal), self.events);
    }

    /// The goals reached, once the run is over: those seen in its events,
    /// and those its final state shows; and the states reached.
    pub fn finish(
        mut self,
        _plan: &SimPlan,
        snapshot: &QueueSnapshot,
    ) -> (GoalsReached, StatesReached) {
        // Exhaustion is the queue failing a rollout because its last
        // allowed attempt timed out; an executor error on that attempt
        // fails the rollout too, but with attempts to spare or not, that
        // is the executor's outcome, not `max_attempts` at work.
        let exhausted = snapshot.rollouts.iter().any(|r| {
            r.status == RolloutStatus::Failed
                && r.max_attempts
                    .is_some_and(|max| r.attempts.len() >= max as usize)
                && r.attempts
                    .last()
                    .is_some_and(|a| a.status == AttemptStatus::Timeout)
        });
        if exhausted {
            self.reach(Goal::MaxAttemptsExhausted);
        }
        (self.reached, self.states)
    }
}

impl EventObserver for Coverage {
    fn observe(&mut self, _at: Duration, _worker: Option<&WorkerId>, kind: &EventKind) {
        self.events += 1;
        if let Some(state) = CoverageState::of(kind) {
            self.states.note(state, self.events);
        }
        match kind {
            EventKind::PollFailed { delay_ms, .. } if *delay_ms >= self.cap_ms => {
                self.reach(Goal::BackoffCapped);
            }
            EventKind::AttemptStarted {
                attempt, failures, ..
            } => {
                if *failures >= 3 {
                    self.reach(Goal::RecoveredAfter3Failures);
                }
                if self.timed_out.remove(&attempt.rollout) {
                    self.reach(Goal::TimedOutAndRetried);
                }
            }
            EventKind::Reward { attempt, name, .. } if name == RETRY_FAILURES_METRIC => {
                self.with_metrics.insert(attempt.clone());
            }
            EventKind::AttemptFinished {
                attempt,
                status,
                recorded,
            } => {
                if self.with_metrics.remove(attempt) && *status == AttemptStatus::Failed {
                    self.reach(Goal::MetricsOnFailedExecution);
                }
                if !recorded {
                    self.reach(Goal::LateFinishAfterTimeout);
                }
            }
            EventKind::ExecutionHeartbeatFailed { .. } => {
                self.reach(Goal::HeartbeatFailedDuringExecution);
            }
            EventKind::Call {
                result: CallResult::TimedOut { attempts },
                ..
            }
            | EventKind::Served {
                result: CallResult::TimedOut { attempts },
                ..
            } => {
                for a in attempts {
                    self.timed_out.insert(a.rollout.clone());
                }
            }
            EventKind::WorkerRestarted => {
                self.reach(Goal::WorkerRestarted);
            }
            _ => {}
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}
