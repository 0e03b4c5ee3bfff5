//! Engines: where a [`SimPlan`] runs, and what a run produces.
//!
//! - [`EngineKind::Virtual`]: the project's own executor and virtual clock
//!   ([`super::executor`]). No tokio. The fast path.
//! - [`EngineKind::Tokio`]: the same world on a current-thread tokio runtime
//!   with paused time, proving the core runs on the production runtime.
//! - [`EngineKind::Turmoil`]: the queue as a server host and each worker as
//!   a host of its own, over turmoil's simulated network
//!   ([`super::turmoil_engine`]); the only engine for network faults.
//!
//! Both drive the run the same way: apply the controls due now (enqueues,
//! then timed faults), let every ready task run, check the stop rule, then
//! move time to the next timer or control. The run ends when every rollout is
//! terminal (`all_terminal`), at `stop.at`, when the virtual-time budget or
//! the event budget is exceeded, or when nothing is left to happen.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::core::clock::Clock;
use crate::core::queue::{QueueSnapshot, WorkerId};

use super::executor::{TaskId, VirtualExecutor};
use super::invariants::{self, InvariantReport};
use super::plan::{SimPlan, StopWhen, TimedAction};
use super::timer_order::TimerOrder;
use super::trace::{EventKind, Trace, TraceHash};
use super::world::{Control, World};

/// Which engine runs a plan.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// The project's own deterministic executor.
    Virtual,
    /// tokio, current-thread, paused time.
    Tokio,
    /// turmoil: queue and workers as hosts on a simulated network.
    Turmoil,
}

impl EngineKind {
    /// The name used in scenario files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Virtual => "virtual",
            Self::Tokio => "tokio",
            Self::Turmoil => "turmoil",
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
}

impl StopReason {
    /// True when the run ended as its stop rule asked.
    pub fn is_clean(self) -> bool {
        matches!(self, Self::AllTerminal | Self::StopAt)
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
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The engine it ran on.
    pub engine: EngineKind,
    /// Why it ended.
    pub stop: StopReason,
    /// The virtual time at which it ended.
    pub ended_at: Duration,
    /// Wall-clock time the run took (reporting only; never in the trace).
    pub wall: Duration,
    /// The queue's final state: rollouts, attempts, spans.
    pub snapshot: QueueSnapshot,
    /// Each worker's final state.
    pub workers: BTreeMap<WorkerId, WorkerState>,
    /// The event trace.
    pub trace: Trace,
    /// Its hash.
    pub trace_hash: TraceHash,
    /// Every built-in invariant, checked.
    pub invariants: Vec<InvariantReport>,
    /// Every fault verdict, when the plan asked to record them.
    pub verdicts: crate::sim::faults::VerdictLog,
    /// How many events the run recorded; `trace` holds them only when the
    /// plan keeps them ([`SimPlan::keep_events`]).
    pub events: usize,
    /// The invariants' monitor, fed every event, until `run` concludes.
    monitor: Option<invariants::Monitor>,
}

impl RunResult {
    /// Concludes the invariants: the monitor's, fed as the run went, or a
    /// replay of the kept trace.
    fn conclude(&mut self, plan: &SimPlan) {
        self.invariants = match self.monitor.take() {
            Some(monitor) => monitor.finish(plan, self),
            None => invariants::check_all(plan, self),
        };
    }
}

/// Runs `plan` on `engine`.
///
/// # Panics
///
/// If the plan uses a network feature ([`SimPlan::network_feature`]) and
/// `engine` is not [`EngineKind::Turmoil`]; the scenario loader refuses
/// such a combination with a located error first.
pub fn run(plan: &SimPlan, engine: EngineKind) -> RunResult {
    if let Some(feature) = plan.network_feature() {
        assert!(
            engine == EngineKind::Turmoil,
            "{feature}: only the turmoil engine runs this plan, not {engine}"
        );
    }
    let started = Instant::now();
    let mut result = match engine {
        EngineKind::Virtual => run_virtual(plan),
        EngineKind::Tokio => run_tokio(plan),
        EngineKind::Turmoil => super::turmoil_engine::run_turmoil(Rc::new(plan.clone())),
    };
    result.conclude(plan);
    result.wall = started.elapsed();
    result
}

/// Spawning and dropping worker tasks, however the engine does it.
trait TaskHost {
    type Handle;
    fn spawn(
        &mut self,
        task: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
    ) -> Self::Handle;
    fn cancel(&mut self, handle: &Self::Handle);
    fn is_alive(&self, handle: &Self::Handle) -> bool;
}

/// The workers of a run and what became of them, in plan order (ids are
/// unique by validation; the result is keyed by id).
struct Workers<H> {
    tasks: Vec<(WorkerId, H, WorkerState)>,
}

impl<H> Workers<H> {
    fn start<C: Clock + 'static, T: TaskHost<Handle = H>>(
        world: &World<C>,
        host: &mut T,
        workers: &[WorkerId],
    ) -> Self {
        let tasks = workers
            .iter()
            .map(|w| {
                (
                    w.clone(),
                    host.spawn(Box::pin(world.worker_task(w.clone()))),
                    WorkerState::Alive,
                )
            })
            .collect();
        Self { tasks }
    }

    fn get_mut(&mut self, worker: &WorkerId) -> Option<(&mut H, &mut WorkerState)> {
        self.tasks
            .iter_mut()
            .find(|(w, _, _)| w == worker)
            .map(|(_, h, s)| (h, s))
    }

    fn apply<C: Clock + 'static, T: TaskHost<Handle = H>>(
        &mut self,
        world: &World<C>,
        host: &mut T,
        control: &Control,
    ) {
        match control {
            Control::Enqueue(i) => world.enqueue(*i),
            Control::Fault(TimedAction::Crash(worker)) => {
                if let Some((handle, state)) = self.get_mut(worker)
                    && *state == WorkerState::Alive
                {
                    host.cancel(handle);
                    *state = WorkerState::Crashed;
                    world.record_worker(worker, EventKind::WorkerCrashed);
                }
            }
            Control::Fault(TimedAction::Restart(worker)) => {
                let alive = self
                    .get_mut(worker)
                    .is_some_and(|(h, s)| *s == WorkerState::Alive && host.is_alive(h));
                if !alive {
                    world.record_worker(worker, EventKind::WorkerRestarted);
                    let handle = host.spawn(Box::pin(world.worker_task(worker.clone())));
                    match self.get_mut(worker) {
                        Some((h, s)) => (*h, *s) = (handle, WorkerState::Alive),
                        None => self
                            .tasks
                            .push((worker.clone(), handle, WorkerState::Alive)),
                    }
                }
            }
            // Network actions: `run` keeps them off this engine.
            Control::Fault(_) => {}
        }
    }

    /// Marks failed, and returns in id order, the workers whose runner ended
    /// by itself since the last look (an error ended it), for
    /// `runner.restart_after`. Only asked when restarts are planned: a
    /// failed worker otherwise stays as it was until the run ends.
    fn take_failed<T: TaskHost<Handle = H>>(&mut self, host: &T) -> Vec<WorkerId> {
        let mut failed: Vec<WorkerId> = self
            .tasks
            .iter_mut()
            .filter(|(_, h, s)| *s == WorkerState::Alive && !host.is_alive(h))
            .map(|(w, _, s)| {
                *s = WorkerState::Failed;
                w.clone()
            })
            .collect();
        failed.sort();
        failed
    }

    fn any_alive<T: TaskHost<Handle = H>>(&self, host: &T) -> bool {
        self.tasks
            .iter()
            .any(|(_, h, s)| *s == WorkerState::Alive && host.is_alive(h))
    }

    fn finish<T: TaskHost<Handle = H>>(self, host: &mut T) -> BTreeMap<WorkerId, WorkerState> {
        self.tasks
            .into_iter()
            .map(|(w, h, s)| {
                let state = if s == WorkerState::Alive && !host.is_alive(&h) {
                    WorkerState::Failed
                } else {
                    s
                };
                host.cancel(&h);
                (w, state)
            })
            .collect()
    }
}

/// `runner.restart_after`: failed workers waiting to be started again, by
/// worker, with when. Restarts due at an instant apply after the controls
/// due then, in worker order, on every engine.
#[derive(Debug, Default)]
struct Supervisor {
    after: Option<Duration>,
    due: BTreeMap<WorkerId, Duration>,
}

impl Supervisor {
    fn new(after: Option<Duration>) -> Self {
        Self {
            after,
            due: BTreeMap::new(),
        }
    }

    /// Schedules the workers that failed since the last look.
    fn watch<H, T: TaskHost<Handle = H>>(
        &mut self,
        workers: &mut Workers<H>,
        host: &T,
        now: Duration,
    ) {
        if let Some(after) = self.after {
            for worker in workers.take_failed(host) {
                self.due.insert(worker, now.saturating_add(after));
            }
        }
    }

    /// Restarts the workers due by `now`.
    fn restart_due<C: Clock + 'static, H, T: TaskHost<Handle = H>>(
        &mut self,
        workers: &mut Workers<H>,
        world: &World<C>,
        host: &mut T,
        now: Duration,
    ) {
        let due: Vec<WorkerId> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(w, _)| w.clone())
            .collect();
        for worker in due {
            self.due.remove(&worker);
            workers.apply(world, host, &Control::Fault(TimedAction::Restart(worker)));
        }
    }

    /// Drops the pending restart of a worker that a planned crash or
    /// restart acts on: the plan decides from then on, as on the turmoil
    /// engine.
    fn forget(&mut self, control: &Control) {
        if let Control::Fault(TimedAction::Crash(worker) | TimedAction::Restart(worker)) = control {
            self.due.remove(worker);
        }
    }

    /// When the next restart is due.
    fn next(&self) -> Option<Duration> {
        self.due.values().min().copied()
    }
}

pub(super) fn finish_world<C: Clock + 'static>(
    world: World<C>,
    engine: EngineKind,
    stop: StopReason,
    ended_at: Duration,
    workers: BTreeMap<WorkerId, WorkerState>,
) -> RunResult {
    let verdicts = if world.config.record_verdicts {
        world.faults.log()
    } else {
        Default::default()
    };
    let World { queue, trace, .. } = world;
    let snapshot = Rc::try_unwrap(queue).map_or_else(|q| q.snapshot(), |q| q.into_snapshot());
    let recorded = trace.finish();
    RunResult {
        engine,
        stop,
        ended_at,
        wall: Duration::ZERO,
        snapshot,
        workers,
        trace: recorded.trace,
        trace_hash: recorded.hash,
        invariants: Vec::new(),
        verdicts,
        events: recorded.events,
        monitor: recorded.monitor,
    }
}

impl TaskHost for VirtualExecutor {
    type Handle = TaskId;
    fn spawn(&mut self, task: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>) -> TaskId {
        VirtualExecutor::spawn(self, task)
    }
    fn cancel(&mut self, handle: &TaskId) {
        VirtualExecutor::cancel(self, *handle);
    }
    fn is_alive(&self, handle: &TaskId) -> bool {
        VirtualExecutor::is_alive(self, *handle)
    }
}

/// Counts perturbed runs in this process, so each one is late somewhere else.
static PERTURBED_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn run_virtual(plan: &SimPlan) -> RunResult {
    let mut exec = VirtualExecutor::new();
    if plan.perturb_scheduling {
        let nonce = PERTURBED_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        exec.make_advance_late(nonce % 3 + 2);
    }
    let clock = exec.clock();
    let world = World::new(plan, clock.clone());
    let controls = world.controls();
    let mut next_control = 0;
    let mut workers = Workers::start(&world, &mut exec, &plan.workers);
    let mut supervisor = Supervisor::new(plan.network.restart_after);
    let within = plan.stop.within;
    let stop = loop {
        let now = clock.now();
        while let Some((at, control)) = controls.get(next_control)
            && *at <= now
        {
            supervisor.forget(control);
            workers.apply(&world, &mut exec, control);
            next_control += 1;
        }
        supervisor.restart_due(&mut workers, &world, &mut exec, now);
        exec.run_ready();
        supervisor.watch(&mut workers, &exec, now);
        if world.trace.len() > plan.limits.max_events {
            break StopReason::EventBudget {
                max_events: plan.limits.max_events,
            };
        }
        if plan.stop.when == StopWhen::AllTerminal && world.all_terminal() {
            break StopReason::AllTerminal;
        }
        let next = [
            exec.next_deadline(),
            controls.get(next_control).map(|(at, _)| *at),
            supervisor.next(),
        ]
        .into_iter()
        .flatten()
        .min();
        if let StopWhen::At(at) = plan.stop.when
            && at <= within
            && next.is_none_or(|n| n > at)
        {
            exec.advance_to(at);
            break StopReason::StopAt;
        }
        match next {
            // A live runner always has an interval timer pending, so this
            // means every worker is gone and nothing else is scheduled.
            None => break StopReason::Stalled,
            Some(next) if next > within => {
                exec.advance_to(within);
                break StopReason::TimeBudget {
                    within_ms: within.as_millis() as u64,
                };
            }
            Some(next) => exec.advance_to(next),
        }
    };
    let ended_at = clock.now();
    let workers = workers.finish(&mut exec);
    drop(exec);
    finish_world(world, EngineKind::Virtual, stop, ended_at, workers)
}

/// Spawns on the `LocalSet`, counting the tasks not yet polled once: the
/// control loop lets them all start before it judges the instant.
#[derive(Default)]
struct TokioHost {
    unstarted: Rc<std::cell::Cell<usize>>,
}

impl TaskHost for TokioHost {
    type Handle = tokio::task::JoinHandle<()>;
    fn spawn(
        &mut self,
        task: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
    ) -> Self::Handle {
        let mut unstarted = Unstarted::count(self.unstarted.clone());
        tokio::task::spawn_local(async move {
            unstarted.started();
            task.await;
        })
    }
    fn cancel(&mut self, handle: &Self::Handle) {
        handle.abort();
    }
    fn is_alive(&self, handle: &Self::Handle) -> bool {
        !handle.is_finished()
    }
}

/// One task counted in [`TokioHost::unstarted`] until its first poll, or
/// until it is dropped unpolled (a worker crashed at the instant it was
/// started).
struct Unstarted {
    count: Rc<std::cell::Cell<usize>>,
    counted: bool,
}

impl Unstarted {
    fn count(count: Rc<std::cell::Cell<usize>>) -> Self {
        count.set(count.get() + 1);
        Self {
            count,
            counted: true,
        }
    }

    fn started(&mut self) {
        if std::mem::take(&mut self.counted) {
            self.count.set(self.count.get() - 1);
        }
    }
}

impl Drop for Unstarted {
    fn drop(&mut self) {
        self.started();
    }
}

/// The tokio engine's clock for the workers: tokio's timers behind a
/// [`TimerOrder`] gate, so that timers due at the same instant wake their
/// tasks in registration order, as on the virtual engine; and nothing
/// sleeps past the run's horizon (`stop.at` or `stop.within`). Timers due at
/// the horizon still fire, so, as on the virtual engine, everything due at
/// that instant runs and nothing after it does.
#[derive(Debug, Clone)]
struct HorizonClock {
    inner: crate::core::clock::TokioClock,
    horizon: Duration,
    order: Rc<TimerOrder>,
}

impl Clock for HorizonClock {
    fn now(&self) -> Duration {
        self.inner.now()
    }

    fn sleep_until(&self, deadline: Duration) -> impl std::future::Future<Output = ()> {
        let inner = self.inner;
        let sleep = (deadline <= self.horizon).then(move || {
            let timer = async move { inner.sleep_until(deadline).await };
            self.order.sleep(deadline, move || inner.now(), timer)
        });
        async move {
            match sleep {
                Some(sleep) => sleep.await,
                None => std::future::pending::<()>().await,
            }
        }
    }
}

/// How many times in a row the tokio engine yields for the tasks of an
/// instant (woken, released or just spawned) to be polled before it moves
/// on: a `LocalSet` polls 61 tasks a round, and a run has 1,024 workers at
/// most, so 17 rounds do; the bound only keeps a mistake from spinning.
const MAX_SETTLE_ROUNDS: u32 = 64;

fn run_tokio(plan: &SimPlan) -> RunResult {
    run_tokio_on(plan, true)
}

/// Runs `plan` on a current-thread tokio runtime in *real* time (not
/// paused), as the reference runner's own tests do: every millisecond of
/// the scenario takes a millisecond of wall time. The performance baseline
/// of `benches/`; its time stamps follow the wall clock, so its trace is not
/// deterministic.
pub fn run_tokio_wall_clock(plan: &SimPlan) -> RunResult {
    let started = Instant::now();
    let mut result = run_tokio_on(plan, false);
    result.conclude(plan);
    result.wall = started.elapsed();
    result
}

fn run_tokio_on(plan: &SimPlan, paused: bool) -> RunResult {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(paused)
        .build()
        .expect("a current-thread runtime with time always builds");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let within = plan.stop.within;
        let stop_at = match plan.stop.when {
            StopWhen::At(at) if at <= within => Some(at),
            _ => None,
        };
        let horizon = stop_at.unwrap_or(within);
        let clock = crate::core::clock::TokioClock::new();
        // Told when a rollout's status changes or the timer gate may have
        // settled: either may be what the loop waits for.
        let changed = Rc::new(tokio::sync::Notify::new());
        let order = Rc::new(TimerOrder::new(changed.clone()));
        let world = World::new(
            plan,
            HorizonClock {
                inner: clock,
                horizon,
                order: order.clone(),
            },
        );
        {
            let changed = changed.clone();
            world
                .queue
                .set_status_listener(move |_, _| changed.notify_one());
        }
        let controls = world.controls();
        let mut next_control = 0;
        let mut host = TokioHost::default();
        let mut workers = Workers::start(&world, &mut host, &plan.workers);
        let mut supervisor = Supervisor::new(plan.network.restart_after);
        let stop = loop {
            let now = clock.now();
            if now > horizon {
                // Everything due at the horizon has run (tokio advances time
                // only once every task is idle).
                break match stop_at {
                    Some(_) => StopReason::StopAt,
                    None => StopReason::TimeBudget {
                        within_ms: within.as_millis() as u64,
                    },
                };
            }
            // As on the virtual engine: first the timers due by now wake
            // their tasks, in registration order (the tasks tokio woke report
            // their timers due when polled, so let them be polled first),
            // then the controls due by now apply, then every task ready at
            // this instant runs before the loop judges.
            // A `LocalSet` polls 61 tasks a round, so more than that take
            // several yields: count what is left, not the yields.
            let mut rounds = 0;
            while order.waiting(now) && rounds < MAX_SETTLE_ROUNDS {
                tokio::task::yield_now().await;
                rounds += 1;
            }
            order.release_settled(now);
            while let Some((at, control)) = controls.get(next_control)
                && *at <= now
            {
                supervisor.forget(control);
                workers.apply(&world, &mut host, control);
                next_control += 1;
            }
            supervisor.restart_due(&mut workers, &world, &mut host, now);
            loop {
                tokio::task::yield_now().await;
                let mut rounds = 0;
                while (order.outstanding() > 0 || host.unstarted.get() > 0)
                    && rounds < MAX_SETTLE_ROUNDS
                {
                    tokio::task::yield_now().await;
                    rounds += 1;
                }
                if !order.release_settled(now) {
                    break;
                }
            }
            supervisor.watch(&mut workers, &host, now);
            if world.trace.len() > plan.limits.max_events {
                break StopReason::EventBudget {
                    max_events: plan.limits.max_events,
                };
            }
            if plan.stop.when == StopWhen::AllTerminal && world.all_terminal() {
                break StopReason::AllTerminal;
            }
            // With `stop.when: at`, time runs to that instant whoever is
            // left, as on the virtual engine.
            if stop_at.is_none()
                && !workers.any_alive(&host)
                && next_control >= controls.len()
                && supervisor.next().is_none()
            {
                break StopReason::Stalled;
            }
            let next_control_at = [
                controls.get(next_control).map(|(at, _)| *at),
                supervisor.next(),
            ]
            .into_iter()
            .flatten()
            .min()
            .filter(|at| *at <= horizon);
            let past_horizon = horizon + Duration::from_millis(1);
            let wake_at = next_control_at.map_or(past_horizon, |c| c.min(past_horizon));
            tokio::select! {
                biased;
                _ = changed.notified() => {}
                _ = clock.sleep_until(wake_at) => {}
            }
        };
        let ended_at = if matches!(stop, StopReason::StopAt | StopReason::TimeBudget { .. }) {
            horizon
        } else {
            clock.now()
        };
        let workers = workers.finish(&mut host);
        tokio::task::yield_now().await;
        finish_world(world, EngineKind::Tokio, stop, ended_at, workers)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::queue::{QueueOp, RolloutId, RolloutStatus};
    use crate::core::runner::BackoffPolicy;
    use crate::core::telemetry::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC, Reward};
    use crate::sim::faults::{FaultStep, OpScript};
    use crate::sim::plan::{RolloutPlan, RunStep, StepResult};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Spec case C-02, built in code.
    fn c02() -> SimPlan {
        let mut plan = SimPlan::default();
        plan.runner.poll_interval = ms(10);
        plan.runner.heartbeat_interval = ms(25);
        plan.runner.reassignment_interval = ms(20);
        plan.runner.worker_timeout = ms(120);
        plan.runner.backoff = BackoffPolicy {
            initial: ms(5),
            max: ms(20),
            jitter: crate::core::runner::backoff::Jitter::None,
        };
        plan.rollouts.push(RolloutPlan {
            id: RolloutId::new("r1"),
            input: serde_json::json!({"prompt": "2+2"}),
            enqueue_at: Duration::ZERO,
            attempts: vec![RunStep {
                duration: ms(5),
                result: StepResult::Succeeded {
                    output: "4".into(),
                    rewards: vec![Reward::new("exact_match", 1.0)],
                },
            }],
        });
        plan.fault_scripts.insert(
            QueueOp::Dequeue,
            OpScript::Shared(vec![FaultStep::Fail {
                times: 3,
                message: "unavailable".into(),
            }]),
        );
        plan
    }

    #[test]
    fn c02_gives_three_failures_and_35_ms_on_both_engines() {
        for engine in [EngineKind::Virtual, EngineKind::Tokio] {
            let run = run(&c02(), engine);
            assert_eq!(run.stop, StopReason::AllTerminal, "{engine}");
            assert_eq!(run.ended_at, ms(45), "{engine}");
            let r1 = run.snapshot.rollout("r1").unwrap();
            assert_eq!(r1.status, RolloutStatus::Succeeded);
            let attempt = &r1.attempts[0].id;
            let spans = &run.snapshot.spans;
            assert_eq!(spans.rewards(attempt, RETRY_FAILURES_METRIC)[0].value, 3.0);
            assert_eq!(spans.rewards(attempt, RETRY_BACKOFF_METRIC)[0].value, 35.0);
            for inv in &run.invariants {
                assert!(inv.held, "{engine}: {inv:?}");
            }
            let again = super::run(&c02(), engine);
            assert_eq!(run.trace_hash, again.trace_hash);
        }
    }
}
