//! The virtual engine: the project's own executor and virtual clock
//! ([`VirtualExecutor`]), no tokio. Time jumps straight to the next timer,
//! so idle virtual time is free; this is the fast path for suites and
//! sweeps. Everything but running tasks and moving the clock is the
//! driver's ([`super::driver`]).

use std::collections::BTreeMap;
use std::time::Duration;

use rollout_core::WorkerId;

use super::driver::Engine;
use super::executor::{TaskId, VirtualClock, VirtualExecutor};
use super::world::World;

/// Counts perturbed runs in this process, so each one is late somewhere else.
static PERTURBED_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The executor, with each worker's task.
pub(crate) struct VirtualEngine {
    exec: VirtualExecutor,
    tasks: BTreeMap<WorkerId, TaskId>,
}

impl VirtualEngine {
    /// A fresh executor at time zero; `perturb` makes one of its advances
    /// 1 ms late (the hidden `--perturb-scheduling`, which
    /// `--check-determinism` must catch).
    pub(crate) fn new(perturb: bool) -> Self {
        let mut exec = VirtualExecutor::new();
        if perturb {
            let nonce = PERTURBED_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            exec.make_advance_late(nonce % 3 + 2);
        }
        Self {
            exec,
            tasks: BTreeMap::new(),
        }
    }

    /// The clock its world must run on.
    pub(crate) fn clock(&self) -> VirtualClock {
        self.exec.clock()
    }
}

impl Engine for VirtualEngine {
    type Clock = VirtualClock;

    fn now(&self) -> Duration {
        rollout_core::Clock::now(&self.exec.clock())
    }

    fn start(&mut self, world: &World<VirtualClock>, worker: &WorkerId) {
        let task = self.exec.spawn(world.worker_task(worker.clone()));
        if let Some(old) = self.tasks.insert(worker.clone(), task) {
            self.exec.cancel(old);
        }
    }

    fn crash(&mut self, _world: &World<VirtualClock>, worker: &WorkerId) {
        if let Some(task) = self.tasks.remove(worker) {
            self.exec.cancel(task);
        }
    }

    fn settle(&mut self, _world: &World<VirtualClock>) {
        self.exec.run_ready();
    }

    fn next_wakeup(&self) -> Option<Duration> {
        self.exec.next_deadline()
    }

    fn advance(&mut self, to: Duration) {
        self.exec.advance_to(to);
    }
}
