//! One control loop for every engine.
//!
//! An engine knows how to run tasks and move time; the driver knows what a
//! run is. At each instant the driver, in this order:
//!
//! 1. applies the controls due by now, in plan order: enqueues, then timed
//!    faults (crash, restart, the network's actions);
//! 2. restarts the workers the supervisor has due (`runner.restart_after`),
//!    in worker order;
//! 3. lets the engine run everything ready at this instant (the tasks its
//!    timers woke, those just started), then notes the workers whose runner
//!    ended with an error (and schedules their restart);
//! 4. judges the stop rule: the event budget, the engine's own budget, every
//!    rollout terminal and no executor in flight, `stop.when.at`, stalled (no worker left and nothing
//!    scheduled, unless `stop.when.at` is still ahead), `stop.within`;
//! 5. moves time to the next thing that happens: the engine's next timer,
//!    the next control or the next restart; the timers due then wake their
//!    tasks.
//!
//! Everything a run's outcome depends on beyond the engine's tasks (the
//! controls cursor, the workers' states, the supervisor, the stop rule, the
//! end time) lives here, once, so the engines cannot disagree about it.
//!
//! The liveness phase (`faults.heal_at: T`) lives here too. At T, before
//! the controls due then, the driver records `healed`, turns the fault
//! injector off (scripts and overlay: every call passes), has the engine
//! heal its network (the turmoil engine repairs partitions, releases held
//! links, stops loss and latency), and starts again every worker that is
//! down, crashed or failed, in worker order, cancelling the supervisor's
//! pending restarts: a fault's damage is undone at T whether or not a
//! restart was planned. Timed faults at T or later are dropped, recoveries
//! (restart, repair, release) included, since the heal did them already;
//! enqueues still happen. A worker that fails after T is the supervisor's
//! again. The run ends at `T + stop.recover_within` at the latest
//! ([`StopReason::RecoveryWindow`]), where the `liveness` invariant judges
//! what is still pending.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use rollout_core::Clock;
use rollout_core::WorkerId;

use super::outcome::{DownReason, StopReason, WorkerDown, WorkerState};
use super::plan::{NetHost, SimPlan, StopWhen, TimedAction};
use super::trace::EventKind;
use super::world::{Control, World};

/// What an engine does for the driver. Each method acts at the engine's
/// current instant ([`now`](Self::now)); the driver never asks for anything
/// else.
pub(crate) trait Engine {
    /// The clock the engine's world runs on.
    type Clock: Clock + 'static;

    /// The current instant.
    fn now(&self) -> Duration;

    /// Starts `worker`'s runner: at the start of the run, or again after it
    /// crashed or failed.
    fn start(&mut self, world: &World<Self::Clock>, worker: &WorkerId);

    /// Stops `worker`'s runner at once, dropping its in-flight work.
    fn crash(&mut self, world: &World<Self::Clock>, worker: &WorkerId);

    /// Applies a network action: a partition, repair, hold or release of a
    /// link, a latency change or a bounce of the queue. Only the turmoil
    /// engine has a network; the loader keeps these off the others.
    fn network(&mut self, _world: &World<Self::Clock>, _action: &TimedAction) {}

    /// Runs everything ready at this instant, until nothing is.
    fn settle(&mut self, world: &World<Self::Clock>);

    /// When the engine next has something to do by itself: its earliest
    /// pending timer.
    fn next_wakeup(&self) -> Option<Duration>;

    /// Moves time forward to `to`, where nothing is due before it, and
    /// wakes the tasks whose timers are due then (they run at the next
    /// [`settle`](Self::settle), after the instant's controls).
    fn advance(&mut self, to: Duration);

    /// Ends every network fault at once, for good (`faults.heal_at`): the
    /// turmoil engine's; the others have no network.
    fn heal(&mut self, _world: &World<Self::Clock>) {}

    /// A budget of the engine's own that the run has used up.
    fn exhausted(&self, _world: &World<Self::Clock>) -> Option<StopReason> {
        None
    }
}

/// How a driven run ended.
#[derive(Debug)]
pub(crate) struct Ending {
    /// Why.
    pub stop: StopReason,
    /// When: `stop.when.at`, `stop.within`, or the instant the last rollout
    /// became terminal (on the queue's clock), else the instant it stopped.
    pub ended_at: Duration,
    /// Each worker's final state.
    pub workers: BTreeMap<WorkerId, WorkerState>,
    /// Each worker down at the end: when and why it went down.
    pub down: BTreeMap<WorkerId, WorkerDown>,
}

/// The workers of a run and what became of them.
struct Workers {
    states: BTreeMap<WorkerId, WorkerState>,
    alive: usize,
    /// Those down, with when and why.
    down: BTreeMap<WorkerId, WorkerDown>,
}

impl Workers {
    fn new(workers: &[WorkerId], start_at: &BTreeMap<WorkerId, Duration>) -> Self {
        let state = |w: &WorkerId| {
            if start_at.contains_key(w) {
                WorkerState::Pending
            } else {
                WorkerState::Alive
            }
        };
        Self {
            states: workers.iter().map(|w| (w.clone(), state(w))).collect(),
            alive: workers
                .iter()
                .filter(|w| !start_at.contains_key(*w))
                .count(),
            down: BTreeMap::new(),
        }
    }

    fn state(&self, worker: &WorkerId) -> Option<WorkerState> {
        self.states.get(worker).copied()
    }

    fn set(&mut self, worker: &WorkerId, state: WorkerState) {
        let before = self.states.insert(worker.clone(), state);
        if before == Some(WorkerState::Alive) {
            self.alive -= 1;
        }
        if state == WorkerState::Alive {
            self.alive += 1;
        }
    }
}

/// `runner.restart_after`: failed workers waiting to be started again.
/// Restarts due at an instant apply after the controls due then, in worker
/// order; a planned crash or restart of the worker cancels its pending one.
struct Supervisor {
    after: Option<Duration>,
    due: BTreeSet<(Duration, WorkerId)>,
    by_worker: BTreeMap<WorkerId, Duration>,
}

impl Supervisor {
    fn new(after: Option<Duration>) -> Self {
        Self {
            after,
            due: BTreeSet::new(),
            by_worker: BTreeMap::new(),
        }
    }

    /// A worker's runner ended with an error at `now`.
    fn failed(&mut self, worker: &WorkerId, now: Duration) {
        if let Some(after) = self.after {
            self.forget(worker);
            let at = now.saturating_add(after);
            self.due.insert((at, worker.clone()));
            self.by_worker.insert(worker.clone(), at);
        }
    }

    fn forget(&mut self, worker: &WorkerId) {
        if let Some(at) = self.by_worker.remove(worker) {
            self.due.remove(&(at, worker.clone()));
        }
    }

    /// The workers due by `now`, in worker order.
    fn take_due(&mut self, now: Duration) -> Vec<WorkerId> {
        let mut due = Vec::new();
        while let Some((at, _)) = self.due.first()
            && *at <= now
        {
            let (_, worker) = self.due.pop_first().expect("just seen");
            self.by_worker.remove(&worker);
            due.push(worker);
        }
        due.sort();
        due
    }

    fn next(&self) -> Option<Duration> {
        self.due.first().map(|(at, _)| *at)
    }
}

/// One run under way: the engine, its world, and what the driver keeps.
struct Run<'a, E: Engine> {
    engine: &'a mut E,
    world: &'a World<E::Clock>,
    workers: Workers,
    supervisor: Supervisor,
}

impl<E: Engine> Run<'_, E> {
    fn apply(&mut self, control: &Control) {
        let action = match control {
            Control::Enqueue(i) => return self.world.enqueue(*i),
            Control::Start(worker) => {
                if self.workers.state(worker) == Some(WorkerState::Pending) {
                    self.engine.start(self.world, worker);
                    self.workers.set(worker, WorkerState::Alive);
                }
                return;
            }
            Control::Fault(action) => action,
        };
        match action {
            TimedAction::Crash(worker) => {
                self.supervisor.forget(worker);
                self.crash(worker);
            }
            TimedAction::Restart(worker) => {
                self.supervisor.forget(worker);
                self.restart(worker);
            }
            TimedAction::Bounce(NetHost::Worker(worker)) => {
                self.supervisor.forget(worker);
                self.crash(worker);
                self.restart(worker);
            }
            network => self.engine.network(self.world, network),
        }
    }

    /// Crashes a live worker; a worker that is down already stays as it is.
    fn crash(&mut self, worker: &WorkerId) {
        if self.workers.state(worker) == Some(WorkerState::Alive) {
            self.engine.crash(self.world, worker);
            self.world.in_flight.dropped(worker);
            self.workers.set(worker, WorkerState::Crashed);
            self.workers.down.insert(
                worker.clone(),
                WorkerDown {
                    at: self.engine.now(),
                    why: DownReason::Crashed,
                },
            );
            self.world.record_worker(worker, EventKind::WorkerCrashed);
        }
    }

    /// Starts a worker that is down; a live one goes on as it is, and one
    /// whose `start_at` has not come waits for it.
    fn restart(&mut self, worker: &WorkerId) {
        if matches!(
            self.workers.state(worker),
            Some(WorkerState::Crashed | WorkerState::Failed)
        ) {
            self.world.record_worker(worker, EventKind::WorkerRestarted);
            self.engine.start(self.world, worker);
            self.workers.set(worker, WorkerState::Alive);
            self.workers.down.remove(worker);
        }
    }

    /// The liveness phase begins: no fault fires from now on, and every
    /// worker that is down starts again.
    fn heal(&mut self, workers: &[WorkerId]) {
        self.world
            .trace
            .record(self.engine.now(), None, EventKind::Healed);
        self.world.faults.heal();
        self.engine.heal(self.world);
        for worker in workers {
            self.supervisor.forget(worker);
            self.restart(worker);
        }
    }

    /// Notes the workers whose runner ended by itself.
    fn watch(&mut self, now: Duration) {
        for (worker, message) in self.world.take_failed() {
            if self.workers.state(&worker) == Some(WorkerState::Alive) {
                self.workers.set(&worker, WorkerState::Failed);
                self.workers.down.insert(
                    worker.clone(),
                    WorkerDown {
                        at: now,
                        why: DownReason::Failed(message),
                    },
                );
                self.supervisor.failed(&worker, now);
            }
        }
    }
}

/// Drives `plan` on `engine` from its first instant to its stop rule.
pub(crate) fn drive<E: Engine>(engine: &mut E, world: &World<E::Clock>, plan: &SimPlan) -> Ending {
    // When the last rollout became terminal, on the clock of whoever made
    // it so (the queue's host, on turmoil).
    let last_terminal: Rc<Cell<Option<Duration>>> = Rc::default();
    {
        let (clock, last) = (world.clock.clone(), last_terminal.clone());
        world.queue.set_status_listener(move |_, status| {
            if status.is_terminal() {
                last.set(Some(clock.now()));
            }
        });
    }
    let mut controls = world.controls();
    let within = plan.stop.within;
    let stop_at = match plan.stop.when {
        StopWhen::At(at) if at <= within => Some(at),
        _ => None,
    };
    // The heal still to come, and when the recovery window closes.
    let mut heal_at = plan.heal.map(|h| h.at);
    let window = plan.heal.map(|h| h.deadline().min(within));
    for worker in plan
        .workers
        .iter()
        .filter(|w| !plan.start_at.contains_key(*w))
    {
        engine.start(world, worker);
    }
    let mut run = Run {
        engine,
        world,
        workers: Workers::new(&plan.workers, &plan.start_at),
        supervisor: Supervisor::new(plan.restart_after),
    };
    let stop = loop {
        let now = run.engine.now();
        if let Some(at) = heal_at
            && at <= now
        {
            heal_at = None;
            run.heal(&plan.workers);
        }
        while let Some((at, control)) = controls.take_due(now) {
            let dropped =
                plan.heal.is_some_and(|h| at >= h.at) && matches!(control, Control::Fault(_));
            if !dropped {
                run.apply(&control);
            }
        }
        for worker in run.supervisor.take_due(now) {
            run.restart(&worker);
        }
        run.engine.settle(world);
        run.watch(now);

        if world.trace.len() > plan.limits.max_events {
            break StopReason::EventBudget {
                max_events: plan.limits.max_events,
            };
        }
        if let Some(stop) = run.engine.exhausted(world) {
            break stop;
        }
        // The reference's trainer joins its runners: a run that is done
        // still lets every executor in flight return and flush.
        if plan.stop.when == StopWhen::AllTerminal
            && world.all_terminal()
            && world.in_flight.count() == 0
        {
            break StopReason::AllTerminal;
        }
        let next = [
            run.engine.next_wakeup(),
            controls.next_at(),
            run.supervisor.next(),
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
        // With `stop.when: at`, time runs to that instant whoever is left.
        if let Some(at) = stop_at
            && next.is_none_or(|n| n > at)
        {
            run.engine.advance(at);
            break StopReason::StopAt;
        }
        if stop_at.is_none()
            && run.workers.alive == 0
            && controls.is_done()
            && run.supervisor.next().is_none()
            && heal_at.is_none()
        {
            break StopReason::Stalled;
        }
        match next {
            Some(next) if next <= within => run.engine.advance(next),
            _ => {
                run.engine.advance(within);
                break StopReason::TimeBudget {
                    within_ms: within.as_millis() as u64,
                };
            }
        }
    };
    let now = run.engine.now();
    let ended_at = match stop {
        StopReason::AllTerminal => last_terminal.get().unwrap_or(now),
        StopReason::StopAt => stop_at.unwrap_or(now),
        StopReason::TimeBudget { .. } => within,
        StopReason::RecoveryWindow { .. } => window.unwrap_or(now),
        StopReason::EventBudget { .. } | StopReason::TurmoilBudget { .. } | StopReason::Stalled => {
            now
        }
    };
    Ending {
        stop,
        ended_at,
        workers: run.workers.states,
        down: run.workers.down,
    }
}
