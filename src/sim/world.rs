//! A run's world: the shared queue, the fault scripts, the trace, and the
//! workers' runners, wired the same way on every engine.
//!
//! An engine supplies a [`Clock`] and a way to spawn and drop tasks; the world
//! supplies everything else. Keeping the wiring here is what makes the
//! virtual and tokio engines run the very same code, and the turmoil engine
//! the same runners, scripts and trace with the queue across its network
//! ([`World::worker_task_with`]).

use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use crate::core::clock::Clock;
use crate::core::queue::{AttemptId, MemoryQueue, Rollout, RolloutId, WorkerId};
use crate::core::runner::{
    Execution, ExecutionError, RolloutExecutor, Runner, RunnerEvent, RunnerObserver,
};

use super::faults::{FaultInjector, FaultyQueue};
use super::plan::{RolloutPlan, SimPlan, StepResult, TimedAction};
use super::trace::{EventKind, TraceRecorder};

/// The executor of a simulated rollout: sleeps the scripted duration on the
/// clock, then returns the scripted result.
#[derive(Debug, Clone)]
pub struct ScriptedExecutor<C> {
    clock: C,
    plans: Rc<HashMap<RolloutId, usize>>,
    plan: Rc<SimPlan>,
}

impl<C: Clock> ScriptedExecutor<C> {
    fn rollout(&self, id: &RolloutId) -> Option<&RolloutPlan> {
        self.plans.get(id).map(|&i| &self.plan.rollouts[i])
    }
}

impl<C: Clock> RolloutExecutor for ScriptedExecutor<C> {
    async fn execute(
        &self,
        rollout: &Rollout,
        attempt: &AttemptId,
    ) -> Result<Execution, ExecutionError> {
        let Some(plan) = self.rollout(&rollout.id) else {
            return Err(ExecutionError {
                message: format!("no script for rollout `{}`", rollout.id),
            });
        };
        let step = plan.step(attempt.number);
        self.clock.sleep(step.duration).await;
        match &step.result {
            StepResult::Succeeded { output, rewards } => Ok(Execution {
                output: output.clone(),
                rewards: rewards.clone(),
            }),
            StepResult::Failed { message } => Err(ExecutionError {
                message: message.clone(),
            }),
        }
    }
}

/// Turns runner events into trace events.
#[derive(Debug, Clone)]
pub struct TraceObserver<C> {
    clock: C,
    trace: Rc<TraceRecorder>,
}

impl<C: Clock> RunnerObserver for TraceObserver<C> {
    fn observe(&self, worker: &WorkerId, event: RunnerEvent<'_>) {
        let kind = match event {
            RunnerEvent::Started => EventKind::WorkerStarted,
            RunnerEvent::HeartbeatTick => EventKind::HeartbeatTick,
            RunnerEvent::PollTick => EventKind::PollTick,
            RunnerEvent::PollEmpty => EventKind::PollEmpty,
            RunnerEvent::PollProcessed => EventKind::PollProcessed,
            RunnerEvent::Dequeued { attempt, recovery } => EventKind::AttemptStarted {
                attempt: attempt.clone(),
                failures: recovery.failures,
                backoff_ms: recovery.backoff_ms,
            },
            RunnerEvent::RewardEmitted { attempt, reward } => EventKind::Reward {
                attempt: attempt.clone(),
                name: reward.name.clone(),
                value: reward.value,
            },
            RunnerEvent::AttemptFinished {
                attempt,
                outcome,
                completion,
            } => EventKind::AttemptFinished {
                attempt: attempt.clone(),
                status: outcome.status().as_str(),
                recorded: completion == crate::core::queue::Completion::Recorded,
            },
            RunnerEvent::PollFailed {
                recovery, delay, ..
            } => EventKind::PollFailed {
                failures: recovery.failures,
                delay_ms: delay.as_millis() as u64,
                backoff_ms: recovery.backoff_ms,
            },
            RunnerEvent::BackoffEnded { delay } => EventKind::BackoffEnded {
                delay_ms: delay.as_millis() as u64,
            },
            RunnerEvent::ExecutionHeartbeatFailed { attempt, .. } => {
                EventKind::ExecutionHeartbeatFailed {
                    attempt: attempt.clone(),
                }
            }
            // The queue layer records reassignment results; stopping is the
            // engine's business.
            RunnerEvent::Reassigned { .. } | RunnerEvent::Stopped => return,
        };
        self.trace.record(self.clock.now(), Some(worker), kind);
    }
}

/// Something the engine does at a moment of virtual time, outside any task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Put `plan.rollouts[i]` in the queue.
    Enqueue(usize),
    /// A timed fault.
    Fault(TimedAction),
}

/// The shared state of one run on one clock.
pub struct World<C: Clock> {
    /// The run's clock.
    pub clock: C,
    /// The plan.
    pub plan: Rc<SimPlan>,
    /// The queue every worker shares.
    pub queue: Rc<MemoryQueue<C>>,
    /// The trace being written.
    pub trace: Rc<TraceRecorder>,
    /// The fault scripts and overlay, with their verdict log.
    pub faults: Rc<FaultInjector>,
    index: Rc<HashMap<RolloutId, usize>>,
}

impl<C: Clock + 'static> World<C> {
    /// A fresh world for `plan` on `clock`.
    pub fn new(plan: Rc<SimPlan>, clock: C) -> Self {
        let index = plan
            .rollouts
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        Self {
            queue: Rc::new(MemoryQueue::with_policy(clock.clone(), plan.reassignment)),
            trace: Rc::new(TraceRecorder::new()),
            faults: Rc::new(
                FaultInjector::new(&plan.fault_scripts)
                    .with_random(plan.seed, &plan.random_faults)
                    .recording(plan.record_verdicts),
            ),
            index: Rc::new(index),
            clock,
            plan,
        }
    }

    /// Every control in the order to apply it: by time; at the same time,
    /// enqueues (in rollout order) before faults (in listed order).
    pub fn controls(&self) -> Vec<(std::time::Duration, Control)> {
        let mut controls: Vec<_> = self
            .plan
            .rollouts
            .iter()
            .enumerate()
            .map(|(i, r)| (r.enqueue_at, Control::Enqueue(i)))
            .chain(
                self.plan
                    .timed_faults
                    .iter()
                    .map(|f| (f.at, Control::Fault(f.action.clone()))),
            )
            .collect();
        controls.sort_by_key(|(at, _)| *at);
        controls
    }

    /// Puts a rollout in the queue and records it.
    pub fn enqueue(&self, index: usize) {
        let plan = &self.plan.rollouts[index];
        let rollout = Rollout {
            id: plan.id.clone(),
            input: plan.input.clone(),
        };
        // Ids are unique by validation; a duplicate would only be skipped.
        if self.queue.enqueue(rollout, self.plan.max_attempts).is_ok() {
            self.trace.record(
                self.clock.now(),
                None,
                EventKind::Enqueued {
                    rollout: plan.id.clone(),
                },
            );
        }
    }

    /// Records a worker event at the current time.
    pub fn record_worker(&self, worker: &WorkerId, kind: EventKind) {
        self.trace.record(self.clock.now(), Some(worker), kind);
    }

    /// True once every planned rollout is terminal.
    pub fn all_terminal(&self) -> bool {
        self.queue.terminal_count() == self.plan.rollouts.len()
    }

    /// The future of one worker's runner, to spawn on the engine. It ends
    /// only if the runner fails; engines drop it to crash or stop the worker.
    pub fn worker_task(&self, worker: WorkerId) -> impl Future<Output = ()> + 'static {
        self.worker_task_with(worker, self.queue.clone())
    }

    /// [`worker_task`](Self::worker_task) with the worker reaching the queue
    /// through `inner` (the turmoil engine's network client) instead of
    /// sharing it; faults, trace and executor are wired the same way.
    pub fn worker_task_with<Q: crate::core::queue::Queue + 'static>(
        &self,
        worker: WorkerId,
        inner: Q,
    ) -> impl Future<Output = ()> + 'static {
        let mut config = self.plan.runner.clone();
        config.worker_id = worker.clone();
        config.jitter_seed =
            super::faults::derived_seed(self.plan.seed, &format!("backoff.jitter.{worker}"));
        let queue = FaultyQueue {
            worker: worker.clone(),
            inner,
            faults: self.faults.clone(),
            trace: self.trace.clone(),
            clock: self.clock.clone(),
        };
        let executor = ScriptedExecutor {
            clock: self.clock.clone(),
            plans: self.index.clone(),
            plan: self.plan.clone(),
        };
        let observer = TraceObserver {
            clock: self.clock.clone(),
            trace: self.trace.clone(),
        };
        let (clock, trace) = (self.clock.clone(), self.trace.clone());
        async move {
            let outcome = match Runner::new(config, clock.clone(), queue, executor) {
                Ok(runner) => runner
                    .with_observer(observer)
                    .run(std::future::pending())
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(message) = outcome {
                trace.record(
                    clock.now(),
                    Some(&worker),
                    EventKind::WorkerFailed { message },
                );
            }
        }
    }
}
