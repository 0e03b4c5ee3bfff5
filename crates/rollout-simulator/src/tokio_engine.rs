//! The tokio engine: the same world on a current-thread tokio runtime with
//! paused time, proving the core runs on the production runtime.
//!
//! Workers run as tasks on a `LocalSet`, on [`TokioClock`] behind a
//! [`TimerOrder`] gate: tokio's own timers fire, but the tasks they wake at
//! one instant are let through together, in registration order, as on the
//! virtual engine (tokio's timer wheel has an order of its own), so the two
//! engines' traces are the same event for event. The gate knows every
//! pending sleep, which is how the engine tells the driver its next
//! wake-up; moving time is sleeping until then, which paused time does at
//! once. Nothing sleeps past the run's horizon (`stop.when.at` or
//! `stop.within`).

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use rollout_core::WorkerId;
use rollout_core::{Clock, TokioClock};

use super::driver::Engine;
use super::plan::{SimPlan, StopWhen};
use super::timer_order::TimerOrder;
use super::world::World;

/// How many times in a row the engine yields for the tasks of an instant
/// (woken, released or just spawned) to be polled before it moves on: a
/// `LocalSet` polls 61 tasks a round, and a run has 1,024 workers at most,
/// so 17 rounds do; the bound only keeps a mistake from spinning.
const MAX_SETTLE_ROUNDS: u32 = 64;

/// The workers' clock: tokio's timers behind the gate, and nothing sleeps
/// past the horizon. Timers due at the horizon still fire, so, as on the
/// virtual engine, everything due at that instant runs and nothing after it
/// does.
#[derive(Debug, Clone)]
pub(crate) struct HorizonClock {
    inner: TokioClock,
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

/// The runtime, its `LocalSet`, the gate, and each worker's task.
pub(crate) struct TokioEngine {
    /// Shared so that the run can stay inside its context
    /// ([`enter`](Self::enter)) while the driver moves the engine.
    runtime: Rc<tokio::runtime::Runtime>,
    local: tokio::task::LocalSet,
    clock: TokioClock,
    order: Rc<TimerOrder>,
    horizon: Duration,
    tasks: BTreeMap<WorkerId, tokio::task::JoinHandle<()>>,
    /// Tasks spawned and not yet polled once: the engine lets them all
    /// start before it judges an instant.
    unstarted: Rc<std::cell::Cell<usize>>,
}

impl TokioEngine {
    /// A runtime for `plan`, with paused time (`paused`) or in real time,
    /// as the reference runner's own tests run (the performance baseline of
    /// `benches/`: its time stamps follow the wall clock).
    pub(crate) fn new(plan: &SimPlan, paused: bool) -> Self {
        let runtime = Rc::new(
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(paused)
                .build()
                .expect("a current-thread runtime with time always builds"),
        );
        let local = tokio::task::LocalSet::new();
        let clock = local.block_on(&runtime, async { TokioClock::new() });
        let horizon = match plan.stop.when {
            StopWhen::At(at) if at <= plan.stop.within => at,
            _ => plan.stop.within,
        };
        Self {
            runtime,
            local,
            clock,
            order: Rc::new(TimerOrder::new()),
            horizon,
            tasks: BTreeMap::new(),
            unstarted: Rc::default(),
        }
    }

    /// The runtime, for the run to enter its context: the world reads
    /// tokio's clock outside the engine's own calls too (an enqueue, a
    /// crash), and tokio's clock reads the runtime it is in.
    pub(crate) fn runtime(&self) -> Rc<tokio::runtime::Runtime> {
        self.runtime.clone()
    }

    /// The clock its world must run on.
    pub(crate) fn clock(&self) -> HorizonClock {
        HorizonClock {
            inner: self.clock,
            horizon: self.horizon,
            order: self.order.clone(),
        }
    }

    /// Yields until `more` says nothing is left, a bounded number of times.
    async fn yield_while(more: impl Fn() -> bool) {
        let mut rounds = 0;
        while more() && rounds < MAX_SETTLE_ROUNDS {
            tokio::task::yield_now().await;
            rounds += 1;
        }
    }
}

impl Engine for TokioEngine {
    type Clock = HorizonClock;

    fn now(&self) -> Duration {
        self.clock.now()
    }

    fn start(&mut self, world: &World<HorizonClock>, worker: &WorkerId) {
        let mut unstarted = Unstarted::count(self.unstarted.clone());
        let task = world.worker_task(worker.clone());
        let handle = self.local.spawn_local(async move {
            unstarted.started();
            task.await;
        });
        if let Some(old) = self.tasks.insert(worker.clone(), handle) {
            old.abort();
        }
    }

    fn crash(&mut self, _world: &World<HorizonClock>, worker: &WorkerId) {
        if let Some(task) = self.tasks.remove(worker) {
            task.abort();
        }
    }

    /// Every task ready at this instant runs (those the gate let through,
    /// those just spawned, and whatever they wake), until the gate has
    /// nothing more to let through.
    fn settle(&mut self, _world: &World<HorizonClock>) {
        let (order, now, unstarted) = (self.order.clone(), self.now(), self.unstarted.clone());
        self.local.block_on(&self.runtime, async move {
            loop {
                tokio::task::yield_now().await;
                Self::yield_while(|| order.outstanding() > 0 || unstarted.get() > 0).await;
                if !order.release_settled(now) {
                    break;
                }
            }
        });
    }

    fn next_wakeup(&self) -> Option<Duration> {
        self.order.next_deadline()
    }

    /// Sleeps until `to` (paused time gets there at once), then lets the
    /// timers due then wake their tasks, in registration order: the tasks
    /// tokio woke report their timers due when polled, so they are polled
    /// first (a `LocalSet` polls 61 tasks a round: count what is left, not
    /// the yields), then let through together.
    fn advance(&mut self, to: Duration) {
        let (clock, order) = (self.clock, self.order.clone());
        self.local.block_on(&self.runtime, async move {
            clock.sleep_until(to).await;
            let now = clock.now();
            Self::yield_while(|| order.waiting(now)).await;
            order.release_settled(now);
        });
    }
}

impl Drop for TokioEngine {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.abort();
        }
        // Let the aborted tasks go, so they drop what they hold of the world.
        self.local
            .block_on(&self.runtime, async { tokio::task::yield_now().await });
    }
}

/// One task counted in [`TokioEngine::unstarted`] until its first poll, or
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
