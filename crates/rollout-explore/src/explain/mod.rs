//! Explaining: the timeline a scenario's scripted faults imply, for every
//! worker and every operation, worked out from the runner's rules without
//! running the runner.
//!
//! [`explain()`] replays the plan on a model of its own ([`model`]): each
//! worker's poll loop, the store, the supervisor and the stop rule, on a
//! clock that jumps from timer to timer as the virtual engine's does. It
//! predicts every poll failure (of a dequeue, the attempt's heartbeat, the
//! span flush, the completion or the idle heartbeat) with the backoff slept
//! and the running total, every dequeue and the recovery it carries, every
//! metric each attempt emits, the consequences the runner's rules fix (a
//! failed heartbeat tick ends the worker, a failed completion leaves the
//! attempt running until reassignment times it out, an empty poll resets
//! the recovery context), each rollout's final status and how the run ends.
//!
//! What it cannot predict it names ([`Unpredicted`]): faults drawn at random
//! (`faults.random`, and whatever `explore --swarm` or `--guided` draw per
//! seed), the turmoil engine's network, and backoff jitter (the model sleeps
//! the least delay the policy allows, so times after a jittered backoff are
//! lower bounds). The property test in `tests/explain.rs` holds it to the
//! runs: on generated scripted-only scenarios its predicted events equal the
//! run's.

mod model;
mod store;
mod text;

use std::time::Duration;

use rollout_core::WorkerId;
use rollout_core::{AttemptId, AttemptStatus, Jitter, QueueOp, Reward, RolloutId, RolloutStatus};
use rollout_scenario::Scenario;
use rollout_simulator::{EngineKind, StopReason};

/// One thing the model predicts, at a moment of virtual time.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictedEvent {
    /// When.
    pub at: Duration,
    /// Which worker's doing it (`None`: the run's, as the heal).
    pub worker: Option<WorkerId>,
    /// What happens.
    pub step: Step,
}

/// What happens in a [`PredictedEvent`].
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The worker registered and its loop starts.
    Started,
    /// A heartbeat tick failed: the worker's runner ends.
    WorkerEnded {
        /// The injected failure's message.
        message: String,
    },
    /// A planned crash (`at: crash`).
    Crashed,
    /// A restart: planned, by `runner.restart_after`, or by the heal.
    Restarted,
    /// A poll failed, and the worker sleeps its backoff.
    PollFailed {
        /// The operation whose failure it was.
        op: QueueOp,
        /// The injected failure's message.
        message: String,
        /// The attempt being processed, if the poll had dequeued one.
        attempt: Option<AttemptId>,
        /// Consecutive poll failures, this one included.
        failures: u32,
        /// The delay slept (the least the policy allows under jitter).
        delay_ms: u64,
        /// The most the policy allows (`delay_ms` without jitter).
        delay_max_ms: u64,
        /// Backoff slept since the last successful poll, this one included.
        backoff_ms: u64,
    },
    /// A successful poll found nothing after failures: the context resets.
    EmptyPollResets {
        /// A scripted `empty` (else the queue had nothing waiting).
        scripted: bool,
        /// The failures dropped.
        failures: u32,
        /// The backoff dropped, in ms.
        backoff_ms: u64,
    },
    /// A poll dequeued an attempt, recovering from this many failures.
    Dequeued {
        /// The attempt.
        attempt: AttemptId,
        /// Failures before this poll.
        failures: u32,
        /// Their backoff, in ms.
        backoff_ms: u64,
    },
    /// A heartbeat while the attempt ran failed; the execution goes on.
    ExecutionHeartbeatFailed {
        /// The attempt.
        attempt: AttemptId,
        /// The injected failure's message.
        message: String,
    },
    /// The executor returned, and the attempt emits these rewards.
    Executed {
        /// The attempt.
        attempt: AttemptId,
        /// The executor failed.
        failed: bool,
        /// Every reward span, in order (the retry metrics last).
        rewards: Vec<Reward>,
    },
    /// The completion reached the store.
    Finished {
        /// The attempt.
        attempt: AttemptId,
        /// The status it reported.
        status: AttemptStatus,
        /// False when the attempt was no longer running (timed out).
        recorded: bool,
    },
    /// Reassignment timed out these attempts: (attempt, its last
    /// heartbeat, whether its rollout's attempts are used up).
    TimedOut {
        /// Each attempt timed out.
        attempts: Vec<(AttemptId, Duration, bool)>,
    },
    /// `faults.heal_at`: no fault from now on.
    Healed,
}

/// What the model ran: its events, the rollouts' ends and the run's.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Every predicted event, in order.
    pub events: Vec<PredictedEvent>,
    /// How the run ends; `None` when the model stopped at its step budget.
    pub stop: Option<StopReason>,
    /// When it ends (`finished_at`: for `all_terminal`, when the last
    /// rollout became terminal).
    pub ended_at: Duration,
    /// When the last thing happened: later than `ended_at` when executors
    /// in flight ran on after every rollout was terminal.
    pub ran_until: Duration,
    /// Each planned rollout's final status and attempts, in plan order.
    pub rollouts: Vec<(RolloutId, RolloutStatus, u32)>,
    /// Steps the model took.
    pub steps: u64,
}

/// One failed poll of one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainedFailure {
    /// When the poll ran.
    pub at: Duration,
    /// The operation that failed.
    pub op: QueueOp,
    /// Its number among consecutive failures (1-based).
    pub failure: u32,
    /// The delay slept (the lower end of the envelope under jitter).
    pub delay_ms: u64,
    /// The highest delay the policy allows (equal to `delay_ms` without jitter).
    pub delay_max_ms: u64,
    /// Backoff so far, in ms.
    pub total_ms: u64,
}

/// What explain cannot predict in a scenario, named in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unpredicted {
    /// `faults.random` on these operations: the model lets every call
    /// through that the scripts do not fail.
    RandomFaults(Vec<QueueOp>),
    /// The scenario runs on the turmoil engine: latency, loss, partitions,
    /// holds, bounces and request timeouts are not modelled.
    Network,
    /// Backoff jitter: the model sleeps the least delay allowed.
    Jitter(Jitter),
    /// The model stopped after this many steps.
    StepBudget(u64),
}

/// What `explain` works out.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The model's run.
    pub prediction: Prediction,
    /// What it could not predict.
    pub unpredicted: Vec<Unpredicted>,
    /// Text for people.
    pub text: String,
}

impl Explanation {
    /// Every poll failure of `worker`, in order.
    pub fn failures(&self, worker: &str) -> Vec<ExplainedFailure> {
        self.of(worker)
            .filter_map(|e| match e.step {
                Step::PollFailed {
                    op,
                    failures,
                    delay_ms,
                    delay_max_ms,
                    backoff_ms,
                    ..
                } => Some(ExplainedFailure {
                    at: e.at,
                    op,
                    failure: failures,
                    delay_ms,
                    delay_max_ms,
                    total_ms: backoff_ms,
                }),
                _ => None,
            })
            .collect()
    }

    /// The dequeues of `worker`: when, which attempt, and the failures and
    /// backoff it recovers from.
    pub fn dequeues(&self, worker: &str) -> Vec<(Duration, AttemptId, u32, u64)> {
        self.of(worker)
            .filter_map(|e| match &e.step {
                Step::Dequeued {
                    attempt,
                    failures,
                    backoff_ms,
                } => Some((e.at, attempt.clone(), *failures, *backoff_ms)),
                _ => None,
            })
            .collect()
    }

    fn of<'a>(&'a self, worker: &'a str) -> impl Iterator<Item = &'a PredictedEvent> + 'a {
        self.prediction
            .events
            .iter()
            .filter(move |e| e.worker.as_ref().is_some_and(|w| w.as_str() == worker))
    }
}

/// Works out every worker's timeline from the scenario's scripts.
pub fn explain(scenario: &Scenario) -> Explanation {
    let plan = &scenario.plan;
    let prediction = model::Model::new(plan).run();
    let mut unpredicted = Vec::new();
    let random: Vec<QueueOp> = plan
        .random_faults
        .iter()
        .filter(|(_, r)| r.fail_rate > 0.0 || r.empty_rate > 0.0)
        .map(|(op, _)| *op)
        .collect();
    if !random.is_empty() {
        unpredicted.push(Unpredicted::RandomFaults(random));
    }
    if scenario.engine() == EngineKind::Turmoil {
        unpredicted.push(Unpredicted::Network);
    }
    let jitter = std::iter::once(&plan.runner)
        .chain(plan.worker_runners.values())
        .map(|r| r.backoff.jitter)
        .find(|j| *j != Jitter::None);
    if let Some(jitter) = jitter {
        unpredicted.push(Unpredicted::Jitter(jitter));
    }
    if prediction.stop.is_none() {
        unpredicted.push(Unpredicted::StepBudget(prediction.steps));
    }
    let text = text::render(scenario, &prediction, &unpredicted);
    Explanation {
        prediction,
        unpredicted,
        text,
    }
}
