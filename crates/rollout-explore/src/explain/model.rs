//! The runner and the virtual engine as `explain` models them: every
//! worker's poll loop as a state machine, on a clock that jumps from timer
//! to timer, written from the rules (DESIGN §1, the runner's and the
//! driver's documentation) rather than by running the code.
//!
//! The rules it follows:
//!
//! - A worker registers, then its heartbeat, poll and reassignment ticks
//!   all fall due at once; when several are due the heartbeat goes first,
//!   then the poll, then reassignment. Poll and reassignment delay a tick
//!   more than 5 ms late (the next is a period after it ran); heartbeat
//!   bursts.
//! - A heartbeat tick that fails ends the worker (`runner.restart_after`
//!   starts it again). A poll's dequeue, the attempt's first heartbeat, the
//!   span flush, the completion and the idle heartbeat after it are one
//!   poll: any of them failing is a poll failure, counted, with the backoff
//!   slept at once. Every successful poll, an empty one included, resets
//!   the count. A failed completion or flush leaves the attempt running
//!   until reassignment times it out.
//! - While an attempt runs, its heartbeat beats every heartbeat interval
//!   from the dequeue; a failed beat changes nothing but the attempt's
//!   age. An execution ending on a beat's instant does not beat.
//! - Timers due at one instant fire in the order they were set, and wake
//!   their workers in that order; each worker then runs until it waits
//!   again. A worker re-arms its three ticks each time round its loop.
//! - At each instant the heal (`faults.heal_at`) comes first, then the
//!   enqueues and timed faults due, then the supervisor's restarts, then
//!   the workers; then the stop rule is judged. `all_terminal` also waits
//!   for every worker processing a rollout to finish that poll.
//!
//! Random faults, the turmoil engine's network and backoff jitter are not
//! modelled: [`Model`] runs as if no random fault fires, no message is
//! late or lost, and every jittered delay is the least the policy allows.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use rollout_core::{AttemptStatus, MISSED_TICK_TOLERANCE, QueueOp, Reward, RolloutStatus};
use rollout_simulator::{
    OpScript, ScriptCursor, SimPlan, StepResult, StopReason, StopWhen, TimedAction, Verdict,
};

use super::store::{AttemptRef, Completed, StoreModel};
use super::{PredictedEvent, Prediction, Step};

/// The most steps (worker wakes, controls and instants) a prediction takes
/// before it stops and says so: explain must end on any input.
pub(super) const MAX_STEPS: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behavior {
    Burst,
    Delay,
}

#[derive(Debug, Clone, Copy)]
struct Ticker {
    next: Duration,
    period: Duration,
    behavior: Behavior,
}

impl Ticker {
    fn tick(&mut self, now: Duration) {
        let deadline = self.next;
        self.next = if now > deadline + MISSED_TICK_TOLERANCE {
            match self.behavior {
                Behavior::Burst => deadline + self.period,
                Behavior::Delay => now + self.period,
            }
        } else {
            deadline + self.period
        };
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Recovery {
    failures: u32,
    backoff_ms: u64,
    last_delay: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Start,
    Select,
    /// Sleeping a backoff (until its timer fires, if it set one).
    Backoff,
    Executing {
        attempt: AttemptRef,
        end: Duration,
    },
    Ended,
}

#[derive(Debug)]
struct Task {
    worker: usize,
    phase: Phase,
    heartbeat: Ticker,
    poll: Ticker,
    reassign: Ticker,
    /// The beat of the attempt running.
    beat: Ticker,
    recovery: Recovery,
    /// Processing a rollout: from its dequeue until that poll ends.
    busy: bool,
    /// Its registered timers.
    timers: Vec<(Duration, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WorkerUp {
    Running,
    Down,
    /// Its `start_at` has not come.
    Pending,
}

/// The fault scripts' cursors.
struct Scripts {
    shared: BTreeMap<QueueOp, ScriptCursor>,
    per_worker: BTreeMap<(QueueOp, usize), ScriptCursor>,
    healed: bool,
}

impl Scripts {
    fn new(plan: &SimPlan) -> Self {
        let mut shared = BTreeMap::new();
        let mut per_worker = BTreeMap::new();
        for (op, script) in &plan.fault_scripts {
            match script {
                OpScript::Shared(steps) => {
                    shared.insert(*op, ScriptCursor::new(steps.clone()));
                }
                OpScript::PerWorker(per) => {
                    for (worker, steps) in per {
                        if let Some(i) = plan.workers.iter().position(|w| w == worker) {
                            per_worker.insert((*op, i), ScriptCursor::new(steps.clone()));
                        }
                    }
                }
            }
        }
        Self {
            shared,
            per_worker,
            healed: false,
        }
    }

    fn verdict(&mut self, op: QueueOp, worker: usize) -> Verdict {
        if self.healed {
            return Verdict::Pass;
        }
        if let Some(cursor) = self.shared.get_mut(&op) {
            return cursor.next_verdict();
        }
        match self.per_worker.get_mut(&(op, worker)) {
            Some(cursor) => cursor.next_verdict(),
            None => Verdict::Pass,
        }
    }
}

enum Control {
    Enqueue(usize),
    Start(usize),
    Fault(TimedAction),
}

/// A prediction under way.
pub(super) struct Model<'p> {
    plan: &'p SimPlan,
    now: Duration,
    timers: BTreeMap<(Duration, u64), usize>,
    registrations: u64,
    tasks: Vec<Task>,
    /// The task of each worker, while it has one.
    task_of: Vec<Option<usize>>,
    ready: VecDeque<usize>,
    queued: BTreeSet<usize>,
    alive: Vec<WorkerUp>,
    failed: Vec<usize>,
    supervisor: BTreeSet<(Duration, usize)>,
    store: StoreModel,
    scripts: Scripts,
    events: Vec<PredictedEvent>,
    steps: u64,
}

impl<'p> Model<'p> {
    pub fn new(plan: &'p SimPlan) -> Self {
        let workers = plan.workers.len();
        Self {
            plan,
            now: Duration::ZERO,
            timers: BTreeMap::new(),
            registrations: 0,
            tasks: Vec::new(),
            task_of: vec![None; workers],
            ready: VecDeque::new(),
            queued: BTreeSet::new(),
            alive: plan
                .workers
                .iter()
                .map(|w| {
                    if plan.start_at.contains_key(w) {
                        WorkerUp::Pending
                    } else {
                        WorkerUp::Running
                    }
                })
                .collect(),
            failed: Vec::new(),
            supervisor: BTreeSet::new(),
            store: StoreModel::new(plan.reassignment, plan.max_attempts, plan.workers.clone()),
            scripts: Scripts::new(plan),
            events: Vec::new(),
            steps: 0,
        }
    }

    fn record(&mut self, worker: Option<usize>, step: Step) {
        self.events.push(PredictedEvent {
            at: self.now,
            worker: worker.map(|w| self.plan.workers[w].clone()),
            step,
        });
    }

    fn attempt_id(&self, (idx, n): AttemptRef) -> rollout_core::AttemptId {
        let plan = self.store.rollouts[idx].plan;
        rollout_core::AttemptId::new(self.plan.rollouts[plan].id.clone(), n)
    }

    /// The runner settings of worker `worker`.
    fn runner(&self, worker: usize) -> &'p rollout_core::RunnerConfig {
        let plan = self.plan;
        plan.worker_runners
            .get(&plan.workers[worker])
            .unwrap_or(&plan.runner)
    }

    fn spawn(&mut self, worker: usize) {
        let r = self.runner(worker);
        let ticker = |period, behavior| Ticker {
            next: Duration::ZERO,
            period,
            behavior,
        };
        let id = self.tasks.len();
        self.tasks.push(Task {
            worker,
            phase: Phase::Start,
            heartbeat: ticker(r.heartbeat_interval, Behavior::Burst),
            poll: ticker(r.poll_interval, Behavior::Delay),
            reassign: ticker(r.reassignment_interval, Behavior::Delay),
            beat: ticker(r.heartbeat_interval, Behavior::Burst),
            recovery: Recovery::default(),
            busy: false,
            timers: Vec::new(),
        });
        self.task_of[worker] = Some(id);
        self.wake(id);
    }

    fn wake(&mut self, task: usize) {
        if self.queued.insert(task) {
            self.ready.push_back(task);
        }
    }

    fn register_timer(&mut self, task: usize, at: Duration) {
        let key = (at, self.registrations);
        self.registrations += 1;
        self.timers.insert(key, task);
        self.tasks[task].timers.push(key);
    }

    fn cancel_timers(&mut self, task: usize) {
        for key in std::mem::take(&mut self.tasks[task].timers) {
            self.timers.remove(&key);
        }
    }

    fn cancel_timer_at(&mut self, task: usize, at: Duration) {
        let timers = &mut self.tasks[task].timers;
        if let Some(i) = timers.iter().position(|(d, _)| *d == at) {
            let key = timers.remove(i);
            self.timers.remove(&key);
        }
    }

    fn crash(&mut self, worker: usize) {
        if self.alive[worker] == WorkerUp::Running {
            if let Some(task) = self.task_of[worker].take() {
                self.cancel_timers(task);
                self.tasks[task].phase = Phase::Ended;
            }
            self.alive[worker] = WorkerUp::Down;
            self.record(Some(worker), Step::Crashed);
        }
    }

    fn restart(&mut self, worker: usize) {
        if self.alive[worker] == WorkerUp::Down {
            self.record(Some(worker), Step::Restarted);
            self.spawn(worker);
            self.alive[worker] = WorkerUp::Running;
        }
    }

    fn forget_restart(&mut self, worker: usize) {
        self.supervisor.retain(|(_, w)| *w != worker);
    }

    /// Moves time to `at` and wakes the workers whose timers are due.
    fn advance(&mut self, at: Duration) {
        self.now = self.now.max(at);
        while let Some((&key, &task)) = self.timers.first_key_value() {
            if key.0 > self.now {
                break;
            }
            self.timers.remove(&key);
            self.tasks[task].timers.retain(|k| *k != key);
            self.wake(task);
        }
    }

    fn settle(&mut self) {
        while self.steps <= MAX_STEPS
            && let Some(task) = self.ready.pop_front()
        {
            self.queued.remove(&task);
            self.run_task(task);
        }
    }

    /// A poll failure: count it, and sleep its backoff.
    fn poll_failed(
        &mut self,
        task: usize,
        op: QueueOp,
        message: String,
        attempt: Option<AttemptRef>,
    ) {
        let policy = self.runner(self.tasks[task].worker).backoff;
        let recovery = &mut self.tasks[task].recovery;
        recovery.failures = recovery.failures.saturating_add(1);
        let (low, high) =
            rollout_simulator::backoff_envelope_ms(&policy, recovery.failures, recovery.last_delay);
        recovery.backoff_ms = recovery.backoff_ms.saturating_add(low);
        recovery.last_delay = Some(Duration::from_millis(low));
        let (failures, backoff_ms) = (recovery.failures, recovery.backoff_ms);
        self.tasks[task].busy = false;
        let worker = self.tasks[task].worker;
        let attempt = attempt.map(|a| self.attempt_id(a));
        self.record(
            Some(worker),
            Step::PollFailed {
                op,
                message,
                attempt,
                failures,
                delay_ms: low,
                delay_max_ms: high,
                backoff_ms,
            },
        );
        self.tasks[task].phase = Phase::Backoff;
        if low > 0 {
            let at = self.now + Duration::from_millis(low);
            self.register_timer(task, at);
        }
    }

    /// Runs a worker until it waits or ends.
    fn run_task(&mut self, task: usize) {
        let worker = self.tasks[task].worker;
        loop {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return;
            }
            let now = self.now;
            match self.tasks[task].phase {
                Phase::Ended => return,
                Phase::Start => {
                    self.store.register(worker, now);
                    self.record(Some(worker), Step::Started);
                    let t = &mut self.tasks[task];
                    t.heartbeat.next = now;
                    t.poll.next = now;
                    t.reassign.next = now;
                    t.phase = Phase::Select;
                }
                Phase::Backoff => {
                    if !self.tasks[task].timers.is_empty() {
                        return;
                    }
                    self.tasks[task].phase = Phase::Select;
                }
                Phase::Select => {
                    self.cancel_timers(task);
                    let t = &self.tasks[task];
                    if t.heartbeat.next <= now {
                        self.tasks[task].heartbeat.tick(now);
                        if let Verdict::Fail(message) =
                            self.scripts.verdict(QueueOp::Heartbeat, worker)
                        {
                            self.record(Some(worker), Step::WorkerEnded { message });
                            self.tasks[task].phase = Phase::Ended;
                            self.task_of[worker] = None;
                            self.failed.push(worker);
                            return;
                        }
                        self.store.heartbeat(worker, None, now);
                    } else if t.poll.next <= now {
                        self.tasks[task].poll.tick(now);
                        self.poll(task);
                    } else if t.reassign.next <= now {
                        self.tasks[task].reassign.tick(now);
                        // A scan reads every rollout: count it so.
                        self.steps += self.store.rollouts.len() as u64 / 16;
                        let timed_out = self
                            .store
                            .requeue_stale(self.runner(worker).worker_timeout, now);
                        if !timed_out.is_empty() {
                            let attempts = timed_out
                                .iter()
                                .map(|t| {
                                    (self.attempt_id(t.attempt), t.last_heartbeat, t.exhausted)
                                })
                                .collect();
                            self.record(Some(worker), Step::TimedOut { attempts });
                        }
                    } else {
                        let (h, p, r) = (t.heartbeat.next, t.poll.next, t.reassign.next);
                        self.register_timer(task, h);
                        self.register_timer(task, p);
                        self.register_timer(task, r);
                        return;
                    }
                }
                Phase::Executing { attempt, end } => {
                    if now >= end {
                        let beat = self.tasks[task].beat.next;
                        self.cancel_timer_at(task, beat);
                        self.finish_attempt(task, attempt);
                        continue;
                    }
                    if self.tasks[task].beat.next > now {
                        // Woken by nothing of its own: not on this engine.
                        return;
                    }
                    while self.tasks[task].beat.next <= now {
                        self.steps += 1;
                        self.tasks[task].beat.tick(now);
                        match self.scripts.verdict(QueueOp::Heartbeat, worker) {
                            Verdict::Fail(message) => {
                                let id = self.attempt_id(attempt);
                                self.record(
                                    Some(worker),
                                    Step::ExecutionHeartbeatFailed {
                                        attempt: id,
                                        message,
                                    },
                                );
                            }
                            _ => self.store.heartbeat(worker, Some(attempt), now),
                        }
                    }
                    let next = self.tasks[task].beat.next;
                    self.register_timer(task, next);
                    return;
                }
            }
            // A backoff or an execution, once its timers are set, waits.
            if matches!(
                self.tasks[task].phase,
                Phase::Backoff | Phase::Executing { .. }
            ) && !self.tasks[task].timers.is_empty()
            {
                return;
            }
        }
    }

    fn reset(&mut self, task: usize) {
        self.tasks[task].recovery = Recovery::default();
        self.tasks[task].busy = false;
    }

    /// A poll tick: dequeue, and process what came.
    fn poll(&mut self, task: usize) {
        let worker = self.tasks[task].worker;
        let now = self.now;
        let scripted = match self.scripts.verdict(QueueOp::Dequeue, worker) {
            Verdict::Fail(message) => {
                return self.poll_failed(task, QueueOp::Dequeue, message, None);
            }
            Verdict::Empty => true,
            Verdict::Pass => false,
        };
        let dequeued = if scripted {
            None
        } else {
            self.store.dequeue(worker, now)
        };
        let Some(attempt) = dequeued else {
            let r = self.tasks[task].recovery;
            if r.failures > 0 {
                self.record(
                    Some(worker),
                    Step::EmptyPollResets {
                        scripted,
                        failures: r.failures,
                        backoff_ms: r.backoff_ms,
                    },
                );
            }
            return self.reset(task);
        };
        let r = self.tasks[task].recovery;
        self.tasks[task].busy = true;
        let id = self.attempt_id(attempt);
        self.record(
            Some(worker),
            Step::Dequeued {
                attempt: id,
                failures: r.failures,
                backoff_ms: r.backoff_ms,
            },
        );
        if let Verdict::Fail(message) = self.scripts.verdict(QueueOp::Heartbeat, worker) {
            return self.poll_failed(task, QueueOp::Heartbeat, message, Some(attempt));
        }
        self.store.heartbeat(worker, Some(attempt), now);
        let (idx, n) = attempt;
        let plan = self.store.rollouts[idx].plan;
        let duration = self.plan.rollouts[plan].step(n).duration;
        if duration.is_zero() {
            return self.finish_attempt(task, attempt);
        }
        let end = now + duration;
        self.register_timer(task, end);
        let period = self.runner(worker).heartbeat_interval;
        let t = &mut self.tasks[task];
        t.beat.next = now + period;
        let beat = t.beat.next;
        t.phase = Phase::Executing { attempt, end };
        self.register_timer(task, beat);
    }

    /// The executor returned: emit, flush, complete, heartbeat idle.
    fn finish_attempt(&mut self, task: usize, attempt: AttemptRef) {
        let worker = self.tasks[task].worker;
        let now = self.now;
        let (idx, n) = attempt;
        let plan = self.store.rollouts[idx].plan;
        let step = self.plan.rollouts[plan].step(n);
        let mut rewards: Vec<Reward> = Vec::new();
        let failed = match &step.result {
            StepResult::Succeeded { output, rewards: r } => {
                rewards.extend(r.iter().cloned());
                rewards.push(Reward::new(
                    rollout_core::EXECUTION_SUCCESS,
                    if output.is_null() { 0.0 } else { 1.0 },
                ));
                false
            }
            StepResult::Failed { .. } => {
                rewards.push(Reward::new(rollout_core::EXECUTION_SUCCESS, 0.0));
                true
            }
        };
        let r = self.tasks[task].recovery;
        if self.runner(worker).retry_metrics && r.failures > 0 {
            rewards.push(Reward::new(
                rollout_core::RETRY_FAILURES_METRIC,
                f64::from(r.failures),
            ));
            rewards.push(Reward::new(
                rollout_core::RETRY_BACKOFF_METRIC,
                r.backoff_ms as f64,
            ));
        }
        let id = self.attempt_id(attempt);
        self.record(
            Some(worker),
            Step::Executed {
                attempt: id,
                failed,
                rewards,
            },
        );
        self.tasks[task].phase = Phase::Select;
        if let Verdict::Fail(message) = self.scripts.verdict(QueueOp::Flush, worker) {
            return self.poll_failed(task, QueueOp::Flush, message, Some(attempt));
        }
        if let Verdict::Fail(message) = self.scripts.verdict(QueueOp::Complete, worker) {
            return self.poll_failed(task, QueueOp::Complete, message, Some(attempt));
        }
        let completed = self.store.complete(attempt, failed, now);
        let id = self.attempt_id(attempt);
        self.record(
            Some(worker),
            Step::Finished {
                attempt: id,
                status: if failed {
                    AttemptStatus::Failed
                } else {
                    AttemptStatus::Succeeded
                },
                recorded: completed == Completed::Recorded,
            },
        );
        if let Verdict::Fail(message) = self.scripts.verdict(QueueOp::Heartbeat, worker) {
            return self.poll_failed(task, QueueOp::Heartbeat, message, None);
        }
        self.store.heartbeat(worker, None, now);
        self.reset(task);
    }

    /// Runs the whole prediction: the driver's loop.
    pub fn run(mut self) -> Prediction {
        let plan = self.plan;
        let mut controls: Vec<(Duration, Control)> =
            plan.rollouts
                .iter()
                .enumerate()
                .map(|(i, r)| (r.enqueue_at, Control::Enqueue(i)))
                .chain(
                    plan.workers.iter().enumerate().filter_map(|(i, w)| {
                        plan.start_at.get(w).map(|&at| (at, Control::Start(i)))
                    }),
                )
                .chain(
                    plan.timed_faults
                        .iter()
                        .map(|f| (f.at, Control::Fault(f.action.clone()))),
                )
                .collect();
        controls.sort_by_key(|(at, _)| *at);
        let mut next_control = 0;
        let within = plan.stop.within;
        let stop_at = match plan.stop.when {
            StopWhen::At(at) if at <= within => Some(at),
            _ => None,
        };
        let mut heal_at = plan.heal.map(|h| h.at);
        let window = plan.heal.map(|h| h.deadline().min(within));
        for worker in 0..plan.workers.len() {
            if self.alive[worker] == WorkerUp::Running {
                self.spawn(worker);
            }
        }
        let stop = loop {
            self.steps += 1;
            let now = self.now;
            if let Some(at) = heal_at
                && at <= now
            {
                heal_at = None;
                self.record(None, Step::Healed);
                self.scripts.healed = true;
                for worker in 0..plan.workers.len() {
                    self.forget_restart(worker);
                    self.restart(worker);
                }
            }
            while let Some((at, control)) = controls.get(next_control)
                && *at <= now
            {
                self.steps += 1;
                let dropped =
                    plan.heal.is_some_and(|h| *at >= h.at) && matches!(control, Control::Fault(_));
                if !dropped {
                    match control {
                        Control::Enqueue(i) => self.store.enqueue(*i),
                        Control::Start(i) => {
                            if self.alive[*i] == WorkerUp::Pending {
                                self.spawn(*i);
                                self.alive[*i] = WorkerUp::Running;
                            }
                        }
                        Control::Fault(TimedAction::Crash(w)) => {
                            if let Some(i) = plan.workers.iter().position(|x| x == w) {
                                self.forget_restart(i);
                                self.crash(i);
                            }
                        }
                        Control::Fault(TimedAction::Restart(w)) => {
                            if let Some(i) = plan.workers.iter().position(|x| x == w) {
                                self.forget_restart(i);
                                self.restart(i);
                            }
                        }
                        // The network's actions need the turmoil engine,
                        // which explain does not model (and says so).
                        Control::Fault(_) => {}
                    }
                }
                next_control += 1;
            }
            let due: Vec<(Duration, usize)> = self
                .supervisor
                .iter()
                .copied()
                .take_while(|(at, _)| *at <= now)
                .collect();
            let mut due_workers: Vec<usize> = due.iter().map(|(_, w)| *w).collect();
            for entry in &due {
                self.supervisor.remove(entry);
            }
            due_workers.sort_by(|a, b| plan.workers[*a].cmp(&plan.workers[*b]));
            for worker in due_workers {
                self.restart(worker);
            }
            self.settle();
            if self.steps > MAX_STEPS {
                return self.finish(None);
            }
            for worker in std::mem::take(&mut self.failed) {
                if self.alive[worker] == WorkerUp::Running {
                    self.alive[worker] = WorkerUp::Down;
                    if let Some(after) = plan.restart_after {
                        self.forget_restart(worker);
                        self.supervisor.insert((now.saturating_add(after), worker));
                    }
                }
            }
            // Every executor in flight returns and flushes first.
            let in_flight = self.task_of.iter().flatten().any(|&t| self.tasks[t].busy);
            if plan.stop.when == StopWhen::AllTerminal
                && self.store.terminal == plan.rollouts.len()
                && !in_flight
            {
                break StopReason::AllTerminal;
            }
            let next = [
                self.timers.first_key_value().map(|(k, _)| k.0),
                controls.get(next_control).map(|(at, _)| *at),
                self.supervisor.first().map(|(at, _)| *at),
                heal_at,
                window.filter(|&w| w > now),
            ]
            .into_iter()
            .flatten()
            .min();
            if let Some(until) = window
                && now >= until
            {
                if stop_at == Some(until) {
                    break StopReason::StopAt;
                }
                break StopReason::RecoveryWindow {
                    until_ms: until.as_millis() as u64,
                };
            }
            if let Some(at) = stop_at
                && next.is_none_or(|n| n > at)
            {
                self.advance(at);
                break StopReason::StopAt;
            }
            let alive = self
                .alive
                .iter()
                .filter(|a| **a == WorkerUp::Running)
                .count();
            if stop_at.is_none()
                && alive == 0
                && next_control >= controls.len()
                && self.supervisor.is_empty()
                && heal_at.is_none()
            {
                break StopReason::Stalled;
            }
            match next {
                Some(next) if next <= within => self.advance(next),
                _ => {
                    self.advance(within);
                    break StopReason::TimeBudget {
                        within_ms: within.as_millis() as u64,
                    };
                }
            }
        };
        let ended_at = match stop {
            StopReason::AllTerminal => self.store.last_terminal.unwrap_or(self.now),
            StopReason::StopAt => stop_at.unwrap_or(self.now),
            StopReason::TimeBudget { .. } => within,
            StopReason::RecoveryWindow { .. } => window.unwrap_or(self.now),
            _ => self.now,
        };
        let ran_until = self.now;
        self.now = ended_at;
        let mut prediction = self.finish(Some(stop));
        prediction.ran_until = ran_until.max(ended_at);
        prediction
    }

    fn finish(self, stop: Option<StopReason>) -> Prediction {
        let mut by_plan = vec![None; self.plan.rollouts.len()];
        for m in &self.store.rollouts {
            by_plan[m.plan] = Some(m);
        }
        let rollouts = self
            .plan
            .rollouts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let record = by_plan[i];
                let status = record.map_or(RolloutStatus::Queuing, |m| m.status);
                let attempts = record.map_or(0, |m| m.attempts.len() as u32);
                (r.id.clone(), status, attempts)
            })
            .collect();
        Prediction {
            events: self.events,
            stop,
            ended_at: self.now,
            ran_until: self.now,
            rollouts,
            steps: self.steps,
        }
    }
}
