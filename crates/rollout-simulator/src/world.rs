//! A run's world: the shared queue, the fault scripts, the trace, and the
//! workers' runners, wired the same way on every engine.
//!
//! An engine supplies a [`Clock`] and a way to spawn and drop tasks; the world
//! supplies everything else. Keeping the wiring here is what makes the
//! virtual and tokio engines run the very same code, and the turmoil engine
//! the same runners, scripts and trace with the queue across its network
//! ([`World::worker_task_with`]).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use rollout_core::Clock;
use rollout_core::{AttemptId, MemoryQueue, Rollout, RolloutId, WorkerId};
use rollout_core::{
    Execution, ExecutionError, RolloutExecutor, Runner, RunnerEvent, RunnerObserver,
};

use super::faults::{FaultInjector, FaultyQueue};
use super::plan::{RolloutPlan, RunStep, SimPlan, StepResult, TimedAction, TimedFault};
use super::run::RunSettings;
use super::trace::{EventKind, TraceRecorder};

/// What a run keeps of each planned rollout, in plan order: a few words
/// each, not a copy of the plan. Consecutive rollouts planned alike (a
/// `generate` block: the same input and the same steps) form one group,
/// which keeps the input and the list of steps once; each rollout keeps
/// its id (16 bytes, the plan's string shared), its time (16), its group's
/// number (4) and its queue position's entry (4), where a copy of its input
/// alone took 32. Inputs move into the queue when the rollouts are
/// enqueued.
#[derive(Debug, Default)]
struct RolloutTable {
    ids: Vec<RolloutId>,
    enqueue_at: Vec<Duration>,
    inputs: RefCell<Inputs>,
    /// Index in `steps` (and in `inputs`' groups) of each rollout's group.
    group_of: Rc<[u32]>,
    steps: Vec<Vec<RunStep>>,
    /// The plan index of each rollout in the queue, by queue position.
    by_position: RefCell<Vec<u32>>,
}

impl RolloutTable {
    fn new(rollouts: &[RolloutPlan]) -> Self {
        let mut ids = Vec::with_capacity(rollouts.len());
        let mut enqueue_at = Vec::with_capacity(rollouts.len());
        let mut group_of = Vec::with_capacity(rollouts.len());
        let mut steps: Vec<Vec<RunStep>> = Vec::new();
        let mut inputs = Inputs::default();
        for r in rollouts {
            ids.push(r.id.clone());
            enqueue_at.push(r.enqueue_at);
            let alike = inputs
                .groups
                .last()
                .is_some_and(|(input, _)| same_value(input, &r.input))
                && steps.last().is_some_and(|s| same_steps(s, &r.attempts));
            if alike {
                inputs.groups.last_mut().expect("a group").1 += 1;
            } else {
                inputs.groups.push((r.input.clone(), 1));
                steps.push(r.attempts.clone());
            }
            group_of.push(steps.len() as u32 - 1);
        }
        let group_of: Rc<[u32]> = group_of.into();
        inputs.group_of = group_of.clone();
        Self {
            ids,
            enqueue_at,
            inputs: RefCell::new(inputs),
            group_of,
            steps,
            by_position: RefCell::default(),
        }
    }

    /// The step for attempt `number` (1-based) of rollout `i`, as
    /// [`RolloutPlan::step`] picks it: attempt n runs entry n, the last
    /// repeats.
    fn step(&self, i: usize, number: u32) -> &RunStep {
        let steps = &self.steps[self.group_of[i] as usize];
        &steps[(number.max(1) as usize - 1).min(steps.len().saturating_sub(1))]
    }
}

/// The inputs of a [`RolloutTable`], one per group, each handed out as its
/// rollouts are enqueued ([`take`](Self::take)).
#[derive(Debug, Default)]
struct Inputs {
    /// Each group's input, and how many of its rollouts have not taken it.
    groups: Vec<(serde_json::Value, u32)>,
    /// The table's `group_of`.
    group_of: Rc<[u32]>,
}

impl Inputs {
    /// Rollout `i`'s input, as its own: a copy of its group's, but for the
    /// group's last rollout to take it, which takes the group's itself (so
    /// a rollout planned alone moves its input, as when each kept its own).
    fn take(&mut self, i: usize) -> serde_json::Value {
        let (input, left) = &mut self.groups[self.group_of[i] as usize];
        *left = left.saturating_sub(1);
        if *left == 0 {
            std::mem::take(input)
        } else {
            input.clone()
        }
    }
}

/// Two inputs or outputs that serialize alike: `==` but with numbers
/// compared bit for bit, since `-0.0 == 0.0` and the two are written
/// differently.
fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y && x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, x), (ky, y))| kx == ky && same_value(x, y))
        }
        _ => a == b,
    }
}

/// Two lists of steps that script the same attempts, outputs and rewards
/// bit for bit ([`same_value`]).
fn same_steps(a: &[RunStep], b: &[RunStep]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            a.duration == b.duration
                && match (&a.result, &b.result) {
                    (
                        StepResult::Succeeded { output, rewards },
                        StepResult::Succeeded {
                            output: o,
                            rewards: r,
                        },
                    ) => {
                        same_value(output, o)
                            && rewards.len() == r.len()
                            && rewards.iter().zip(r).all(|(a, b)| {
                                a.name == b.name && a.value.to_bits() == b.value.to_bits()
                            })
                    }
                    (a, b) => a == b,
                }
        })
}

/// The executor of a simulated rollout: sleeps the scripted duration on the
/// clock, then returns the scripted result.
#[derive(Debug, Clone)]
pub struct ScriptedExecutor<C> {
    clock: C,
    rollouts: Rc<RolloutTable>,
    /// The run's store, to find a rollout's plan by its place in it.
    queue: Rc<MemoryQueue<C>>,
}

impl<C: Clock> ScriptedExecutor<C> {
    /// The plan index of a rollout in the queue.
    fn rollout(&self, id: &RolloutId) -> Option<usize> {
        let position = self.queue.position(id)?;
        let index = *self.rollouts.by_position.borrow().get(position)? as usize;
        (self.rollouts.ids[index] == *id).then_some(index)
    }
}

impl<C: Clock> RolloutExecutor for ScriptedExecutor<C> {
    async fn execute(
        &self,
        rollout: &Rollout,
        attempt: &AttemptId,
    ) -> Result<Execution, ExecutionError> {
        let Some(index) = self.rollout(&rollout.id) else {
            return Err(ExecutionError {
                message: format!("no script for rollout `{}`", rollout.id),
            });
        };
        let step = self.rollouts.step(index, attempt.number);
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

/// Which workers are processing a rollout: from the poll that dequeued it
/// until that poll ends (the executor returned, its spans flushed, the
/// attempt completed, or a poll failure on the way). `stop.when:
/// all_terminal` waits for them, as the reference's trainer joins its
/// runners. A flag per worker, set up when its task starts, and a count:
/// nothing is allocated per rollout.
#[derive(Debug, Default)]
pub struct InFlight {
    count: Cell<usize>,
    flags: RefCell<BTreeMap<WorkerId, Rc<Cell<bool>>>>,
}

impl InFlight {
    /// The flag of `worker`'s task, cleared (a new task has nothing in flight).
    fn flag(&self, worker: &WorkerId) -> Rc<Cell<bool>> {
        let flag = self
            .flags
            .borrow_mut()
            .entry(worker.clone())
            .or_default()
            .clone();
        self.set(&flag, false);
        flag
    }

    fn set(&self, flag: &Cell<bool>, busy: bool) {
        if flag.replace(busy) != busy {
            let n = self.count.get();
            self.count.set(if busy { n + 1 } else { n - 1 });
        }
    }

    /// `worker`'s task was dropped: whatever it was processing is lost.
    pub fn dropped(&self, worker: &WorkerId) {
        if let Some(flag) = self.flags.borrow().get(worker) {
            self.set(flag, false);
        }
    }

    /// How many workers are processing a rollout.
    pub fn count(&self) -> usize {
        self.count.get()
    }
}

/// Turns runner events into trace events, and keeps the worker's
/// [`InFlight`] flag.
#[derive(Debug, Clone)]
pub struct TraceObserver<C> {
    clock: C,
    trace: Rc<TraceRecorder>,
    in_flight: Rc<InFlight>,
    busy: Rc<Cell<bool>>,
}

impl<C: Clock> RunnerObserver for TraceObserver<C> {
    fn observe(&self, worker: &WorkerId, event: RunnerEvent<'_>) {
        match event {
            RunnerEvent::Dequeued { .. } => self.in_flight.set(&self.busy, true),
            RunnerEvent::PollProcessed | RunnerEvent::PollFailed { .. } => {
                self.in_flight.set(&self.busy, false)
            }
            _ => {}
        }
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
                status: outcome.status(),
                recorded: completion == rollout_core::Completion::Recorded,
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
    /// Start a worker whose `start_at` has come.
    Start(WorkerId),
    /// A timed fault.
    Fault(TimedAction),
}

/// The controls of a run in the order to apply them ([`World::controls`]),
/// taken one at a time: the enqueues from the rollouts' times (in time
/// order, then rollout order), merged with the few others (late starts,
/// then timed faults) as they come due.
#[derive(Debug)]
pub struct Controls {
    /// The run's rollouts, for their enqueue times.
    rollouts: Rc<RolloutTable>,
    /// The rollouts by enqueue time, when the plan does not list them so.
    order: Option<Vec<u32>>,
    next_enqueue: usize,
    others: std::collections::VecDeque<(Duration, Control)>,
}

impl Controls {
    /// The enqueues of `rollouts` merged with `others` (late starts, then
    /// timed faults, each in their order), by time.
    fn new(rollouts: Rc<RolloutTable>, mut others: Vec<(Duration, Control)>) -> Self {
        let times = &rollouts.enqueue_at;
        // A plan's rollouts are nearly always listed in time order (a
        // `generate` block is): then the enqueues need no list of their own,
        // where a million of them took 56 bytes each.
        let order = (!times.is_sorted()).then(|| {
            let mut order: Vec<u32> = (0..times.len() as u32).collect();
            order.sort_by_key(|&i| times[i as usize]);
            order
        });
        others.sort_by_key(|(at, _)| *at);
        Self {
            rollouts,
            order,
            next_enqueue: 0,
            others: others.into(),
        }
    }

    /// The next enqueue: its time and rollout.
    fn enqueue(&self) -> Option<(Duration, usize)> {
        let i = match &self.order {
            Some(order) => *order.get(self.next_enqueue)? as usize,
            None => self.next_enqueue,
        };
        Some((*self.rollouts.enqueue_at.get(i)?, i))
    }

    /// When the next control is due.
    pub fn next_at(&self) -> Option<Duration> {
        let enqueue = self.enqueue().map(|(at, _)| at);
        let other = self.others.front().map(|(at, _)| *at);
        enqueue.into_iter().chain(other).min()
    }

    /// The next control due by `now`, with the time it was due, taken; at
    /// the same instant an enqueue comes before any other control.
    pub fn take_due(&mut self, now: Duration) -> Option<(Duration, Control)> {
        let other = self.others.front().map(|(at, _)| *at);
        match self.enqueue() {
            Some((at, i)) if at <= now && other.is_none_or(|o| at <= o) => {
                self.next_enqueue += 1;
                Some((at, Control::Enqueue(i)))
            }
            _ if other.is_some_and(|o| o <= now) => self.others.pop_front(),
            _ => None,
        }
    }

    /// True once every control was taken.
    pub fn is_done(&self) -> bool {
        self.enqueue().is_none() && self.others.is_empty()
    }
}

/// What a run reads of its plan besides the rollouts and fault scripts: a
/// few words, so that a run never copies the plan (a million rollouts are
/// hundreds of megabytes, and even c02's plan costs more to copy and drop
/// than the rest of the run's setup).
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// The scenario seed.
    pub seed: u64,
    /// The runner configuration every worker starts from.
    pub runner: rollout_core::RunnerConfig,
    /// Those of the workers with settings of their own.
    pub runners: BTreeMap<WorkerId, rollout_core::RunnerConfig>,
    /// The queue's attempt limit.
    pub max_attempts: Option<u32>,
    /// Whether the fault layer keeps its verdicts (for `freeze`).
    pub record_verdicts: bool,
}

/// The shared state of one run on one clock.
pub struct World<C: Clock> {
    /// The run's clock.
    pub clock: C,
    /// What the run reads of its plan.
    pub config: WorldConfig,
    /// The queue every worker shares.
    pub queue: Rc<MemoryQueue<C>>,
    /// The trace being written.
    pub trace: Rc<TraceRecorder>,
    /// The fault scripts and overlay, with their verdict log.
    pub faults: Rc<FaultInjector>,
    rollouts: Rc<RolloutTable>,
    timed_faults: Vec<TimedFault>,
    /// Workers that start after time zero, in worker order.
    late_starts: Vec<(Duration, WorkerId)>,
    /// Workers whose runner ended with an error since the driver last
    /// looked, in the order they ended: each engine reports nothing of its
    /// own about why a task ended.
    failed: Rc<RefCell<Vec<(WorkerId, String)>>>,
    /// Workers processing a rollout.
    pub in_flight: Rc<InFlight>,
}

impl<C: Clock + 'static> World<C> {
    /// A fresh world for `plan` with `settings` on `clock`, recording into
    /// `trace`. It keeps what it needs of the plan: the plan itself is only
    /// borrowed.
    pub fn new(plan: &SimPlan, settings: RunSettings<'_>, clock: C, trace: TraceRecorder) -> Self {
        let rollouts = RolloutTable::new(&plan.rollouts);
        let queue = MemoryQueue::with_policy(clock.clone(), settings.reassignment);
        queue.reserve(rollouts.ids.len());
        Self {
            queue: Rc::new(queue),
            trace: Rc::new(trace),
            faults: Rc::new(
                FaultInjector::new(&plan.fault_scripts)
                    .with_random(settings.seed, &plan.random_faults)
                    .branching(settings.branch)
                    .recording(plan.record_verdicts),
            ),
            rollouts: Rc::new(rollouts),
            timed_faults: plan.timed_faults.clone(),
            late_starts: plan
                .workers
                .iter()
                .filter_map(|w| plan.start_at.get(w).map(|&at| (at, w.clone())))
                .collect(),
            failed: Rc::default(),
            in_flight: Rc::default(),
            clock,
            config: WorldConfig {
                seed: settings.seed,
                runner: plan.runner.clone(),
                runners: plan.worker_runners.clone(),
                max_attempts: plan.max_attempts,
                record_verdicts: plan.record_verdicts,
            },
        }
    }

    /// How many rollouts the run has.
    pub fn rollout_count(&self) -> usize {
        self.rollouts.ids.len()
    }

    /// Every control in the order to apply it: by time; at the same time,
    /// enqueues (in rollout order), then late starts (in worker order),
    /// then faults (in listed order).
    pub fn controls(&self) -> Controls {
        let others = self
            .late_starts
            .iter()
            .map(|(at, w)| (*at, Control::Start(w.clone())))
            .chain(
                self.timed_faults
                    .iter()
                    .map(|f| (f.at, Control::Fault(f.action.clone()))),
            )
            .collect();
        Controls::new(self.rollouts.clone(), others)
    }

    /// Puts a rollout in the queue and records it.
    pub fn enqueue(&self, index: usize) {
        let id = &self.rollouts.ids[index];
        let rollout = Rollout {
            id: id.clone(),
            input: self.rollouts.inputs.borrow_mut().take(index),
        };
        let position = self.queue.len();
        // Ids are unique by validation; a duplicate would only be skipped.
        if self
            .queue
            .enqueue(rollout, self.config.max_attempts)
            .is_ok()
        {
            let mut by_position = self.rollouts.by_position.borrow_mut();
            by_position.resize(position, u32::MAX);
            by_position.push(index as u32);
            drop(by_position);
            self.trace.record(
                self.clock.now(),
                None,
                EventKind::Enqueued {
                    rollout: id.clone(),
                },
            );
        }
    }

    /// Records a worker event at the current time.
    pub fn record_worker(&self, worker: &WorkerId, kind: EventKind) {
        self.trace.record(self.clock.now(), Some(worker), kind);
    }

    /// The workers whose runner ended with an error since the last call,
    /// with the error, in the order they ended.
    pub fn take_failed(&self) -> Vec<(WorkerId, String)> {
        std::mem::take(&mut *self.failed.borrow_mut())
    }

    /// True once every planned rollout is terminal.
    pub fn all_terminal(&self) -> bool {
        self.queue.terminal_count() == self.rollout_count()
    }

    /// The future of one worker's runner, to spawn on the engine. It ends
    /// only if the runner fails; engines drop it to crash or stop the worker.
    pub fn worker_task(&self, worker: WorkerId) -> impl Future<Output = ()> + 'static {
        self.worker_task_with(worker, self.queue.clone())
    }

    /// [`worker_task`](Self::worker_task) with the worker reaching the queue
    /// through `inner` (the turmoil engine's network client) instead of
    /// sharing it; faults, trace and executor are wired the same way.
    pub fn worker_task_with<Q: rollout_core::Queue + 'static>(
        &self,
        worker: WorkerId,
        inner: Q,
    ) -> impl Future<Output = ()> + 'static {
        let mut config = self
            .config
            .runners
            .get(&worker)
            .unwrap_or(&self.config.runner)
            .clone();
        config.worker_id = worker.clone();
        // Deriving a stream costs more than the rest of a worker's setup;
        // a policy without jitter never draws from it.
        let jitter = (config.backoff.jitter != rollout_core::Jitter::None).then(|| {
            ChaChaJitter::seeded(super::faults::derived_seed(
                self.config.seed,
                &format!("backoff.jitter.{worker}"),
            ))
        });
        let queue = FaultyQueue {
            worker: worker.clone(),
            inner,
            faults: self.faults.clone(),
            trace: self.trace.clone(),
            clock: self.clock.clone(),
        };
        let executor = ScriptedExecutor {
            clock: self.clock.clone(),
            rollouts: self.rollouts.clone(),
            queue: self.queue.clone(),
        };
        let observer = TraceObserver {
            clock: self.clock.clone(),
            trace: self.trace.clone(),
            busy: self.in_flight.flag(&worker),
            in_flight: self.in_flight.clone(),
        };
        let (clock, trace, failed) = (self.clock.clone(), self.trace.clone(), self.failed.clone());
        async move {
            let outcome = match Runner::new(config, clock.clone(), queue, executor) {
                Ok(runner) => match jitter {
                    Some(jitter) => runner.with_jitter_source(jitter),
                    None => runner,
                }
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
                    EventKind::WorkerFailed {
                        message: message.clone(),
                    },
                );
                failed.borrow_mut().push((worker, message));
            }
        }
    }
}

/// Backoff jitter for one worker's runner: a ChaCha8 stream derived from the
/// scenario seed and the worker id, so delays are the same on every machine.
#[derive(Debug)]
pub struct ChaChaJitter(rand_chacha::ChaCha8Rng);

impl ChaChaJitter {
    /// The stream seeded with `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self(<rand_chacha::ChaCha8Rng as rand_core::SeedableRng>::seed_from_u64(seed))
    }
}

impl rollout_core::JitterSource for ChaChaJitter {
    fn next_u64(&mut self) -> u64 {
        rand_core::RngCore::next_u64(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(id: &str, input: serde_json::Value, output: serde_json::Value) -> RolloutPlan {
        RolloutPlan {
            id: RolloutId::new(id),
            input,
            enqueue_at: Duration::ZERO,
            attempts: vec![RunStep {
                duration: Duration::from_millis(1),
                result: StepResult::Succeeded {
                    output,
                    rewards: Vec::new(),
                },
            }],
        }
    }

    #[test]
    fn controls_come_by_time_then_enqueues_starts_and_faults_in_listed_order() {
        let ms = Duration::from_millis;
        let at = |id: &str, t| RolloutPlan {
            enqueue_at: ms(t),
            ..plan(id, json!(null), json!("ok"))
        };
        let w = |id: &str| WorkerId::new(id);
        for rollouts in [
            vec![at("a", 5), at("b", 0), at("c", 5), at("d", 2)],
            vec![at("a", 0), at("b", 2), at("c", 5), at("d", 5)],
        ] {
            let fault = |t, worker: &str| TimedFault {
                at: ms(t),
                action: TimedAction::Crash(w(worker)),
            };
            let others = vec![
                (ms(5), Control::Fault(fault(5, "w1").action)),
                (ms(2), Control::Start(w("w2"))),
                (ms(5), Control::Fault(fault(5, "w2").action)),
            ];
            let mut controls = Controls::new(Rc::new(RolloutTable::new(&rollouts)), others.clone());
            let times: Vec<Duration> = rollouts.iter().map(|r| r.enqueue_at).collect();
            // What a stable sort of every control by time gives.
            let mut expected: Vec<(Duration, Control)> = (0..4)
                .map(|i| (times[i], Control::Enqueue(i)))
                .chain(others)
                .collect();
            expected.sort_by_key(|(t, _)| *t);
            let mut taken = Vec::new();
            for now in [ms(0), ms(1), ms(2), ms(4), ms(5), ms(9)] {
                while let Some(c) = controls.take_due(now) {
                    assert!(c.0 <= now);
                    taken.push(c);
                }
                assert!(controls.next_at().is_none_or(|t| t > now));
            }
            assert_eq!(taken, expected);
            assert!(controls.is_done());
        }
    }

    #[test]
    fn rollouts_planned_alike_share_a_group_and_each_takes_its_own_input() {
        let rollouts = [
            plan("a", json!({"n": 1}), json!("ok")),
            plan("b", json!({"n": 1}), json!("ok")),
            // Equal by `==`, written differently: groups of their own.
            plan("c", json!(0.0), json!("ok")),
            plan("d", json!(-0.0), json!("ok")),
            plan("e", json!(-0.0), json!(-0.0)),
            plan("f", json!(-0.0), json!(0.0)),
        ];
        let table = RolloutTable::new(&rollouts);
        assert_eq!(*table.group_of, [0, 0, 1, 2, 3, 4]);
        let mut inputs = table.inputs.borrow_mut();
        for (i, r) in rollouts.iter().enumerate().rev() {
            assert_eq!(inputs.take(i).to_string(), r.input.to_string());
        }
        // Every rollout of a group took its input: the group keeps none.
        assert!(
            inputs
                .groups
                .iter()
                .all(|(input, left)| input.is_null() && *left == 0)
        );
        drop(inputs);
        for (i, r) in rollouts.iter().enumerate() {
            assert_eq!(table.step(i, 3), &r.attempts[0]);
        }
    }
}
