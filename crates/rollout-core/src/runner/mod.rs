//! The rollout runner: one worker's poll loop.
//!
//! A [`Runner`] registers its worker, then waits on four things in a fixed
//! (biased) order: shutdown, the heartbeat tick, the poll tick and the
//! reassignment tick. All three intervals tick at once at start; poll and
//! reassignment delay missed ticks, heartbeat bursts them.
//!
//! A poll dequeues one rollout and processes it: heartbeat with the attempt,
//! run the [`RolloutExecutor`] while heartbeating every heartbeat interval,
//! emit the executor's rewards and `runner.execution_success`, and, when the
//! poll recovered from failures, the two retry-recovery metrics; then flush
//! the spans, complete the attempt and heartbeat idle. Any queue error on this
//! path is a *poll failure*: the [`RecoveryContext`] counts it, and the loop
//! sleeps the [`BackoffPolicy`]'s delay inside the poll branch. Any successful
//! poll, an empty one included, resets the context.
//!
//! The runner takes time only from its [`Clock`] and reports what it does to a
//! [`RunnerObserver`], which the simulator turns into its event trace.

pub(crate) mod backoff;
mod config;
#[cfg(test)]
mod contract_tests;

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

pub use backoff::{BackoffPolicy, Jitter, JitterSource, RecoveryContext, SplitMix64};
pub use config::{ConfigError, RunnerConfig};

use serde_json::Value;

use crate::clock::{Clock, Interval, MissedTickBehavior};
use crate::queue::{
    AttemptId, AttemptOutcome, Completion, Dequeued, Queue, QueueError, Rollout, WorkerId,
};
use crate::telemetry::{
    Attributes, EXECUTE_SPAN, EXECUTION_SUCCESS, RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC,
    Reward, Tracer,
};

/// What an executor returns for a finished attempt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Execution {
    /// The output; `Null` counts as no output (`execution_success` 0).
    pub output: Value,
    /// Rewards, emitted in this order.
    pub rewards: Vec<Reward>,
}

/// An executor's failure: an outcome of the attempt, not a poll failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionError {
    /// Recorded on the failed attempt and rollout.
    pub message: String,
}

impl std::fmt::Display for ExecutionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExecutionError {}

/// Runs one attempt of a rollout: the agent under training.
pub trait RolloutExecutor {
    /// Runs `rollout` as `attempt`.
    fn execute(
        &self,
        rollout: &Rollout,
        attempt: &AttemptId,
    ) -> impl Future<Output = Result<Execution, ExecutionError>>;
}

/// Something the runner did, reported to its [`RunnerObserver`].
#[derive(Debug, Clone, Copy)]
pub enum RunnerEvent<'a> {
    /// The worker registered and the loop starts.
    Started,
    /// The heartbeat tick fired (the heartbeat call follows).
    HeartbeatTick,
    /// The poll tick fired (the dequeue follows).
    PollTick,
    /// The reassignment tick ran and timed out these attempts.
    Reassigned {
        /// Attempts timed out.
        timed_out: &'a [AttemptId],
    },
    /// The poll found nothing: a successful poll.
    PollEmpty,
    /// The poll dequeued an attempt; `recovery` is what it recovers from.
    Dequeued {
        /// The new attempt.
        attempt: &'a AttemptId,
        /// Failures and backoff before this poll.
        recovery: RecoveryContext,
    },
    /// A reward span was emitted.
    RewardEmitted {
        /// The attempt.
        attempt: &'a AttemptId,
        /// The reward.
        reward: &'a Reward,
    },
    /// The attempt was completed.
    AttemptFinished {
        /// The attempt.
        attempt: &'a AttemptId,
        /// How the executor ended.
        outcome: &'a AttemptOutcome,
        /// Whether the queue recorded it.
        completion: Completion,
    },
    /// A poll that dequeued a rollout finished without queue errors.
    PollProcessed,
    /// A poll failed; the runner now sleeps `delay`.
    PollFailed {
        /// The queue error.
        error: &'a QueueError,
        /// The context after counting this failure.
        recovery: RecoveryContext,
        /// The backoff about to be slept.
        delay: Duration,
    },
    /// The backoff sleep ended.
    BackoffEnded {
        /// How long was slept.
        delay: Duration,
    },
    /// A heartbeat during execution failed; execution goes on.
    ExecutionHeartbeatFailed {
        /// The attempt.
        attempt: &'a AttemptId,
        /// The error.
        error: &'a QueueError,
    },
    /// The loop ended on shutdown.
    Stopped,
}

/// Receives the runner's events. `()` ignores them.
pub trait RunnerObserver {
    /// Called synchronously, at the current time of the runner's clock.
    fn observe(&self, worker: &WorkerId, event: RunnerEvent<'_>);
}

impl RunnerObserver for () {
    fn observe(&self, _: &WorkerId, _: RunnerEvent<'_>) {}
}

impl<O: RunnerObserver + ?Sized> RunnerObserver for &O {
    fn observe(&self, worker: &WorkerId, event: RunnerEvent<'_>) {
        (**self).observe(worker, event)
    }
}

impl<O: RunnerObserver + ?Sized> RunnerObserver for std::rc::Rc<O> {
    fn observe(&self, worker: &WorkerId, event: RunnerEvent<'_>) {
        (**self).observe(worker, event)
    }
}

/// Why a runner stopped other than by shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerError {
    /// Registering the worker failed.
    // The queue error names its operation and what went wrong ("heartbeat
    // failed: ..."); these say which of the runner's steps it ended.
    Register(QueueError),
    /// A heartbeat tick failed.
    Heartbeat(QueueError),
    /// A reassignment tick failed.
    Reassign(QueueError),
}

impl std::fmt::Display for RunnerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Register(e) => write!(f, "registering the worker: {e}"),
            Self::Heartbeat(e) => write!(f, "heartbeat tick: {e}"),
            Self::Reassign(e) => write!(f, "reassignment tick: {e}"),
        }
    }
}

impl std::error::Error for RunnerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Register(e) | Self::Heartbeat(e) | Self::Reassign(e) => Some(e),
        }
    }
}

enum Wake {
    Shutdown,
    Heartbeat,
    Poll,
    Reassign,
}

/// A runner's jitter generator: its own unless it was given one. Not boxed
/// by default, so a runner costs no allocation for a generator that a policy
/// without jitter never draws from.
#[derive(Debug)]
enum RunnerJitter {
    Own(SplitMix64),
    Given(Box<dyn JitterSource>),
}

impl JitterSource for RunnerJitter {
    fn next_u64(&mut self) -> u64 {
        match self {
            Self::Own(own) => own.next_u64(),
            Self::Given(given) => given.next_u64(),
        }
    }
}

/// One worker's poll loop, generic over time, queue, executor and observer.
#[derive(Debug)]
pub struct Runner<C, Q, E, O = ()> {
    config: RunnerConfig,
    clock: C,
    queue: Q,
    executor: E,
    observer: O,
    /// Backoff jitter's only source of randomness.
    jitter: std::cell::RefCell<RunnerJitter>,
}

impl<C: Clock, Q: Queue, E: RolloutExecutor> Runner<C, Q, E> {
    /// A runner; fails if the config is invalid.
    pub fn new(config: RunnerConfig, clock: C, queue: Q, executor: E) -> Result<Self, ConfigError> {
        config.validate()?;
        let jitter =
            std::cell::RefCell::new(RunnerJitter::Own(SplitMix64::new(config.jitter_seed)));
        Ok(Self {
            config,
            clock,
            queue,
            executor,
            observer: (),
            jitter,
        })
    }
}

impl<C: Clock, Q: Queue, E: RolloutExecutor, O: RunnerObserver> Runner<C, Q, E, O> {
    /// The same runner, reporting to `observer`.
    pub fn with_observer<O2: RunnerObserver>(self, observer: O2) -> Runner<C, Q, E, O2> {
        Runner {
            config: self.config,
            clock: self.clock,
            queue: self.queue,
            executor: self.executor,
            observer,
            jitter: self.jitter,
        }
    }

    /// The same runner, drawing backoff jitter from `source` instead of
    /// [`SplitMix64`] seeded with [`RunnerConfig::jitter_seed`].
    pub fn with_jitter_source(self, source: impl JitterSource + 'static) -> Self {
        *self.jitter.borrow_mut() = RunnerJitter::Given(Box::new(source));
        self
    }

    /// Its configuration.
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    fn observe(&self, event: RunnerEvent<'_>) {
        self.observer.observe(&self.config.worker_id, event);
    }

    /// Runs the loop until `shutdown` completes (`Ok`) or a heartbeat,
    /// reassignment or registration fails (`Err`).
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), RunnerError> {
        let worker = &self.config.worker_id;
        self.queue
            .register_worker(worker)
            .await
            .map_err(RunnerError::Register)?;
        self.observe(RunnerEvent::Started);
        let clock = &self.clock;
        let mut heartbeat = Interval::new(
            clock.clone(),
            self.config.heartbeat_interval,
            MissedTickBehavior::Burst,
        );
        let mut poll = Interval::new(
            clock.clone(),
            self.config.poll_interval,
            MissedTickBehavior::Delay,
        );
        let mut reassign = Interval::new(
            clock.clone(),
            self.config.reassignment_interval,
            MissedTickBehavior::Delay,
        );
        let mut recovery = RecoveryContext::default();
        let mut shutdown = pin!(shutdown);
        loop {
            let wake = {
                let mut heartbeat = pin!(heartbeat.tick());
                let mut poll = pin!(poll.tick());
                let mut reassign = pin!(reassign.tick());
                poll_fn(|cx| {
                    if shutdown.as_mut().poll(cx).is_ready() {
                        Poll::Ready(Wake::Shutdown)
                    } else if heartbeat.as_mut().poll(cx).is_ready() {
                        Poll::Ready(Wake::Heartbeat)
                    } else if poll.as_mut().poll(cx).is_ready() {
                        Poll::Ready(Wake::Poll)
                    } else if reassign.as_mut().poll(cx).is_ready() {
                        Poll::Ready(Wake::Reassign)
                    } else {
                        Poll::Pending
                    }
                })
                .await
            };
            match wake {
                Wake::Shutdown => {
                    self.observe(RunnerEvent::Stopped);
                    return Ok(());
                }
                Wake::Heartbeat => {
                    self.observe(RunnerEvent::HeartbeatTick);
                    self.queue
                        .heartbeat(worker, None)
                        .await
                        .map_err(RunnerError::Heartbeat)?;
                }
                Wake::Reassign => {
                    let timed_out = self
                        .queue
                        .requeue_stale(self.config.worker_timeout)
                        .await
                        .map_err(RunnerError::Reassign)?;
                    self.observe(RunnerEvent::Reassigned {
                        timed_out: &timed_out,
                    });
                }
                Wake::Poll => {
                    self.observe(RunnerEvent::PollTick);
                    match self.poll_once(recovery).await {
                        Ok(()) => recovery.reset(),
                        Err(error) => {
                            let delay = recovery.record_failure_with(
                                &self.config.backoff,
                                &mut *self.jitter.borrow_mut(),
                            );
                            self.observe(RunnerEvent::PollFailed {
                                error: &error,
                                recovery,
                                delay,
                            });
                            clock.sleep(delay).await;
                            self.observe(RunnerEvent::BackoffEnded { delay });
                        }
                    }
                }
            }
        }
    }

    async fn poll_once(&self, recovery: RecoveryContext) -> Result<(), QueueError> {
        match self.queue.dequeue(&self.config.worker_id).await? {
            None => {
                self.observe(RunnerEvent::PollEmpty);
                Ok(())
            }
            Some(dequeued) => {
                self.process(dequeued, recovery).await?;
                self.observe(RunnerEvent::PollProcessed);
                Ok(())
            }
        }
    }

    async fn process(
        &self,
        dequeued: Dequeued,
        recovery: RecoveryContext,
    ) -> Result<(), QueueError> {
        let Dequeued { rollout, attempt } = dequeued;
        let worker = &self.config.worker_id;
        self.observe(RunnerEvent::Dequeued {
            attempt: &attempt,
            recovery,
        });
        self.queue.heartbeat(worker, Some(&attempt)).await?;

        let mut tracer = Tracer::new(self.clock.clone(), attempt.clone());
        let span = tracer.start(EXECUTE_SPAN);
        let result = self.execute_with_heartbeats(&rollout, &attempt).await;
        let status = if result.is_ok() {
            "succeeded"
        } else {
            "failed"
        };
        tracer.end(
            span,
            Attributes::execution(&attempt, &rollout.id, status, worker),
        );

        let mut rewards = Vec::new();
        if let Ok(execution) = &result {
            rewards.extend(execution.rewards.iter().cloned());
        }
        let produced = matches!(&result, Ok(execution) if !execution.output.is_null());
        rewards.push(Reward::new(
            EXECUTION_SUCCESS,
            if produced { 1.0 } else { 0.0 },
        ));
        if self.config.retry_metrics && recovery.is_recovering() {
            rewards.push(Reward::new(
                RETRY_FAILURES_METRIC,
                f64::from(recovery.failures),
            ));
            rewards.push(Reward::new(
                RETRY_BACKOFF_METRIC,
                recovery.backoff_ms as f64,
            ));
        }
        for reward in &rewards {
            tracer.emit_reward(reward);
            self.observe(RunnerEvent::RewardEmitted {
                attempt: &attempt,
                reward,
            });
        }
        self.queue.add_spans(tracer.finish()).await?;

        let outcome = match result {
            Ok(_) => AttemptOutcome::Succeeded,
            Err(error) => AttemptOutcome::Failed {
                message: error.message,
            },
        };
        let completion = self
            .queue
            .complete_attempt(&attempt, outcome.clone())
            .await?;
        self.observe(RunnerEvent::AttemptFinished {
            attempt: &attempt,
            outcome: &outcome,
            completion,
        });
        self.queue.heartbeat(worker, None).await
    }

    /// Runs the executor, heartbeating the attempt every heartbeat interval
    /// until it returns. The executor is polled first, so an execution that
    /// ends exactly on a heartbeat deadline does not heartbeat.
    async fn execute_with_heartbeats(
        &self,
        rollout: &Rollout,
        attempt: &AttemptId,
    ) -> Result<Execution, ExecutionError> {
        let period = self.config.heartbeat_interval;
        let mut execution = pin!(self.executor.execute(rollout, attempt));
        let mut beats = Interval::starting_at(
            self.clock.clone(),
            self.clock.now() + period,
            period,
            MissedTickBehavior::Burst,
        );
        let mut heartbeating = pin!(async {
            loop {
                beats.tick().await;
                if let Err(error) = self
                    .queue
                    .heartbeat(&self.config.worker_id, Some(attempt))
                    .await
                {
                    self.observe(RunnerEvent::ExecutionHeartbeatFailed {
                        attempt,
                        error: &error,
                    });
                }
            }
        });
        poll_fn(|cx| {
            if let Poll::Ready(result) = execution.as_mut().poll(cx) {
                return Poll::Ready(result);
            }
            let _ = heartbeating.as_mut().poll(cx);
            Poll::Pending
        })
        .await
    }
}
