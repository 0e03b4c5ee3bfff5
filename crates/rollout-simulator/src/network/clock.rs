//! Time on the turmoil engine: each host's own clock.
//!
//! Inside a host, [`TurmoilClock::now`] is that host's view of simulated time
//! (`turmoil::sim_elapsed`: time since the simulation started, kept across
//! crashes and bounces, which give the host a fresh tokio runtime), and
//! sleeps are tokio sleeps on the host's runtime. Outside every host (the
//! engine between two steps, applying enqueues and timed faults) it reads
//! the time the engine last published: the start of the step about to run.
//! Nothing reads `Sim::elapsed`.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use rollout_core::Clock;

/// A [`Clock`] for code running on turmoil hosts (and for the engine between
/// steps). Clones share the engine's published time.
#[derive(Debug, Clone, Default)]
pub struct TurmoilClock {
    between_steps: Rc<Cell<Duration>>,
}

impl TurmoilClock {
    /// A clock whose outside-of-host time starts at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes the time of the step about to run, for code outside hosts.
    pub fn set_between_steps(&self, at: Duration) {
        self.between_steps.set(at);
    }
}

impl Clock for TurmoilClock {
    fn now(&self) -> Duration {
        turmoil::sim_elapsed().unwrap_or_else(|| self.between_steps.get())
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(deadline.saturating_sub(self.now()))
    }
}
