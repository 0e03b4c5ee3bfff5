//! The turmoil engine: the queue across a simulated network.
//!
//! The run's [`World`] is the same as on the other engines (queue, fault
//! scripts, trace, each worker's runner and executor); what changes is where
//! things run and how they talk:
//!
//! - the queue is a turmoil *host* running a [`QueueServer`] in front of the
//!   run's store (which survives bounces: rollouts are never lost with the
//!   server process);
//! - each worker is a host of its own whose runner reaches the queue through
//!   a [`NetworkQueue`] (with the fault scripts in front of it, exactly as
//!   on the other engines), over turmoil's TCP;
//! - every host keeps time with its own [`TurmoilClock`].
//!
//! The engine steps the simulation one tick (1 ms) at a time. Before each
//! step it applies the controls due (enqueues, then timed faults: crash,
//! restart, partition, repair, hold, release, bounce) and the restarts of
//! failed workers (`runner.restart_after`); after it, it moves the segments
//! the network dropped into the trace and judges the stop rule. Every knob
//! of turmoil that could vary is set explicitly: start epoch, RNG seed
//! (derived from the scenario seed), simulation duration (`stop.within` plus
//! one tick), tick, latency range, loss rate and repair rate, TCP capacity.
//!
//! Timing on this engine: a message sent at `t` with latency `L` (whole
//! milliseconds, drawn per message in `[min, max]`) is received at `t + L`;
//! with no latency, a request reaches the queue one tick later and its reply
//! comes back at once (the queue host runs first in each step). So every
//! queue call costs the worker `max(2L, 1ms)`, and a connection's first call
//! `L` more for the handshake. Time stamps therefore differ from the virtual
//! engine; outcomes and rewards of a scenario without network faults do
//! not (the conformance test checks every scenario file).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use rollout_core::Clock;
use rollout_core::WorkerId;

use super::driver::Engine;
use super::network::drops::DropWatch;
use super::network::protocol::QUEUE_PORT;
use super::network::{NetworkQueue, QueueServer, TurmoilClock, WireMeter};
use super::outcome::StopReason;
use super::plan::{NetHost, SimPlan, TimedAction, TurmoilCost};
use super::trace::{EventKind, LinkChange};
use super::world::World;

pub use super::plan::TURMOIL_TICK as TICK;

/// The simulation's start epoch: 2025-01-01T00:00:00Z (nothing reads it; it
/// is set so that no run depends on the wall clock).
pub const EPOCH_UNIX_SECS: u64 = 1_735_689_600;

/// The turmoil host name of the queue.
pub const QUEUE_HOST: &str = "queue";

/// The turmoil host name of the `n`-th worker (from 1). Worker ids are not
/// used as host names: turmoil would read an id such as `10.0.0.1` as an
/// address.
pub fn worker_host(n: usize) -> String {
    format!("worker-host-{n}")
}

/// The seed of turmoil's random number generator for a scenario seed.
pub fn turmoil_seed(seed: u64) -> u64 {
    super::faults::derived_seed(seed, "network.turmoil")
}

struct Hosts {
    /// Worker id to host name.
    workers: BTreeMap<WorkerId, String>,
    /// `faults.network.latency`, to put back after a `latency` event.
    latency: (Duration, Duration),
    /// Address to the name used in the trace (`queue` or a worker id).
    names: BTreeMap<IpAddr, String>,
}

impl Hosts {
    fn host(&self, host: &NetHost) -> &str {
        match host {
            NetHost::Queue => QUEUE_HOST,
            NetHost::Worker(w) => self.workers.get(w).map_or(QUEUE_HOST, String::as_str),
        }
    }

    fn name(&self, ip: IpAddr) -> String {
        self.names
            .get(&ip)
            .cloned()
            .unwrap_or_else(|| ip.to_string())
    }
}

fn build_sim(plan: &SimPlan, seed: u64) -> turmoil::Sim<'static> {
    let (latency_min, latency_max, loss_rate) = match plan.network.faults {
        Some(f) => (f.latency_min, f.latency_max, f.loss_rate),
        None => (Duration::ZERO, Duration::ZERO, 0.0),
    };
    turmoil::Builder::new()
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_UNIX_SECS))
        .rng_seed(turmoil_seed(seed))
        .simulation_duration(plan.stop.within.saturating_add(TICK))
        .tick_duration(TICK)
        .min_message_latency(latency_min)
        .max_message_latency(latency_max)
        .fail_rate(loss_rate)
        .repair_rate(1.0)
        // Room for every worker's handshake at once, and then some.
        .tcp_capacity(64.max(plan.workers.len() * 2 + 16))
        .build()
}

/// The simulation, its hosts, and what the driver asks of it.
pub(crate) struct TurmoilEngine {
    sim: turmoil::Sim<'static>,
    /// The hosts' software holds the world; so does the engine, to start
    /// the workers' hosts.
    world: Rc<World<TurmoilClock>>,
    clock: TurmoilClock,
    hosts: Hosts,
    queue_addr: SocketAddr,
    request_timeout: Duration,
    /// The links timed faults partition or hold, for the heal to mend.
    named_links: Vec<(NetHost, NetHost)>,
    watch: DropWatch,
    meter: WireMeter,
    /// The start of the step to run next.
    now: Duration,
    steps: u64,
    per_step: u64,
    budget: u64,
    /// turmoil reports dropped segments through `tracing`: this collects
    /// them for as long as the engine runs.
    _dispatch: tracing::dispatcher::DefaultGuard,
}

impl TurmoilEngine {
    /// A simulation for `plan` around `world` (whose clock must be
    /// `clock`), with the queue's host registered: it runs first in every
    /// step. Workers' hosts are registered as the driver starts them.
    pub(crate) fn new(plan: &SimPlan, world: Rc<World<TurmoilClock>>, clock: TurmoilClock) -> Self {
        let watch = DropWatch::new();
        let dispatch = tracing::dispatcher::set_default(&tracing::Dispatch::new(watch.clone()));
        let mut sim = build_sim(plan, world.config.seed);
        let meter = WireMeter::default();
        let server = Rc::new(QueueServer {
            queue: world.queue.clone(),
            trace: world.trace.clone(),
            clock: clock.clone(),
            meter: meter.clone(),
        });
        sim.host(QUEUE_HOST, move || server.clone().serve());
        let queue_addr = SocketAddr::new(sim.lookup(QUEUE_HOST), QUEUE_PORT);
        let mut hosts = Hosts {
            workers: BTreeMap::new(),
            latency: plan
                .network
                .faults
                .map_or((Duration::ZERO, Duration::ZERO), |f| {
                    (f.latency_min, f.latency_max)
                }),
            names: BTreeMap::new(),
        };
        hosts.names.insert(queue_addr.ip(), QUEUE_HOST.to_string());
        clock.set_between_steps(Duration::ZERO);
        Self {
            sim,
            world,
            clock,
            hosts,
            queue_addr,
            request_timeout: plan.network.request_timeout,
            named_links: plan
                .timed_faults
                .iter()
                .filter_map(|f| match &f.action {
                    TimedAction::Partition(a, b) | TimedAction::Hold(a, b) => {
                        Some((a.clone(), b.clone()))
                    }
                    _ => None,
                })
                .collect(),
            watch,
            meter,
            now: Duration::ZERO,
            steps: 0,
            per_step: TurmoilCost::per_step(plan.workers.len() as u64 + 1),
            budget: plan.limits.turmoil_budget,
            _dispatch: dispatch,
        }
    }

    /// Registers the host of a worker the simulation has not seen yet; it
    /// starts at once.
    fn register(&mut self, worker: &WorkerId) -> String {
        let name = worker_host(self.hosts.workers.len() + 1);
        let (world, worker_id, meter) = (self.world.clone(), worker.clone(), self.meter.clone());
        let (queue_addr, request_timeout) = (self.queue_addr, self.request_timeout);
        self.sim.host(name.as_str(), move || {
            let client = NetworkQueue::new(worker_id.clone(), queue_addr, request_timeout)
                .with_meter(meter.clone());
            let runner: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> =
                Box::pin(world.worker_task_with(worker_id.clone(), client));
            async move {
                runner.await;
                Ok(())
            }
        });
        self.hosts
            .names
            .insert(self.sim.lookup(name.as_str()), worker.to_string());
        self.hosts.workers.insert(worker.clone(), name.clone());
        name
    }

    /// Sets the latency of every link between the queue and a worker.
    fn latency(&mut self, fixed: Option<Duration>) {
        for host in self.hosts.workers.values() {
            match fixed {
                Some(d) => self.sim.set_link_latency(QUEUE_HOST, host.as_str(), d),
                None => {
                    let (min, max) = self.hosts.latency;
                    self.sim.set_link_latency(QUEUE_HOST, host.as_str(), min);
                    self.sim
                        .set_link_max_message_latency(QUEUE_HOST, host.as_str(), max);
                }
            }
        }
        self.world.trace.record(
            self.world.clock.now(),
            None,
            EventKind::Latency {
                fixed_ms: fixed.map(|d| d.as_millis() as u64),
            },
        );
    }

    /// The segments in flight between two hosts, as trace events: what a
    /// partition discards.
    fn in_flight(&mut self, a: &str, b: &str) -> Vec<EventKind> {
        let (a, b) = (self.sim.lookup(a), self.sim.lookup(b));
        let mut lost = Vec::new();
        self.sim.links(|links| {
            for link in links {
                let (x, y) = link.pair();
                if (x, y) != (a, b) && (x, y) != (b, a) {
                    continue;
                }
                for sent in link {
                    let (from, to) = sent.pair();
                    let segment = match sent.protocol() {
                        turmoil::Protocol::Tcp(turmoil::Segment::Syn(_)) => "syn",
                        turmoil::Protocol::Tcp(turmoil::Segment::Fin(_)) => "fin",
                        turmoil::Protocol::Tcp(turmoil::Segment::Rst) => "rst",
                        _ => "data",
                    };
                    lost.push((from.ip(), to.ip(), segment));
                }
            }
        });
        lost.into_iter()
            .map(|(from, to, segment)| EventKind::MessageDropped {
                from: self.hosts.name(from),
                to: self.hosts.name(to),
                segment,
            })
            .collect()
    }

    fn link(&mut self, change: LinkChange, a: &NetHost, b: &NetHost) {
        let (ha, hb) = (
            self.hosts.host(a).to_string(),
            self.hosts.host(b).to_string(),
        );
        let (ha, hb) = (ha.as_str(), hb.as_str());
        if ha == hb {
            return; // validation refuses this; a host has no link to itself
        }
        let mut lost = Vec::new();
        match change {
            LinkChange::Partition => {
                lost = self.in_flight(ha, hb);
                self.sim.partition(ha, hb);
            }
            LinkChange::Repair => self.sim.repair(ha, hb),
            LinkChange::Hold => self.sim.hold(ha, hb),
            LinkChange::Release => self.sim.release(ha, hb),
        }
        self.world.trace.record(
            self.world.clock.now(),
            None,
            EventKind::Link {
                change,
                a: a.to_string(),
                b: b.to_string(),
            },
        );
        for event in lost {
            self.world.trace.record(self.world.clock.now(), None, event);
        }
    }
}

impl Engine for TurmoilEngine {
    type Clock = TurmoilClock;

    fn now(&self) -> Duration {
        self.now
    }

    fn start(&mut self, _world: &World<TurmoilClock>, worker: &WorkerId) {
        match self.hosts.workers.get(worker) {
            Some(host) => self.sim.bounce(host.as_str()),
            None => {
                self.register(worker);
            }
        }
    }

    fn crash(&mut self, _world: &World<TurmoilClock>, worker: &WorkerId) {
        if let Some(host) = self.hosts.workers.get(worker) {
            self.sim.crash(host.as_str());
        }
    }

    /// Every link between the queue and a worker, and every other link a
    /// timed fault named, is made healthy for good: partitions (explicit or
    /// broken by a loss draw) repaired, held messages delivered, no loss
    /// and no latency for what is sent from now on.
    fn heal(&mut self, _world: &World<TurmoilClock>) {
        self.sim.set_fail_rate(0.0);
        self.sim.set_max_message_latency(Duration::ZERO);
        self.hosts.latency = (Duration::ZERO, Duration::ZERO);
        let mut links: Vec<(String, String)> = self
            .hosts
            .workers
            .values()
            .map(|host| (QUEUE_HOST.to_string(), host.clone()))
            .collect();
        for (a, b) in &self.named_links {
            let (ha, hb) = (self.hosts.host(a), self.hosts.host(b));
            if ha != hb {
                links.push((ha.to_string(), hb.to_string()));
            }
        }
        for (a, b) in &links {
            self.sim.set_link_fail_rate(a.as_str(), b.as_str(), 0.0);
            self.sim
                .set_link_latency(a.as_str(), b.as_str(), Duration::ZERO);
            self.sim.release(a.as_str(), b.as_str());
        }
    }

    fn network(&mut self, _world: &World<TurmoilClock>, action: &TimedAction) {
        match action {
            TimedAction::Bounce(NetHost::Queue) => {
                self.sim.bounce(QUEUE_HOST);
                self.world
                    .trace
                    .record(self.world.clock.now(), None, EventKind::QueueBounced);
            }
            TimedAction::Partition(a, b) => self.link(LinkChange::Partition, a, b),
            TimedAction::Repair(a, b) => self.link(LinkChange::Repair, a, b),
            TimedAction::Hold(a, b) => self.link(LinkChange::Hold, a, b),
            TimedAction::Release(a, b) => self.link(LinkChange::Release, a, b),
            TimedAction::Latency(fixed) => self.latency(*fixed),
            // The driver's: workers' crashes, restarts and bounces.
            TimedAction::Crash(_) | TimedAction::Restart(_) | TimedAction::Bounce(_) => {}
        }
    }

    /// One step of the simulation (the queue's host first), then the
    /// segments the network dropped in it, into the trace.
    fn settle(&mut self, world: &World<TurmoilClock>) {
        if let Err(e) = self.sim.step() {
            panic!(
                "the turmoil simulation failed in the step at {} ms: {e}",
                self.now.as_millis()
            );
        }
        self.steps += 1;
        for drop in self.watch.take() {
            world.trace.record(
                self.now,
                None,
                EventKind::MessageDropped {
                    from: self.hosts.name(drop.from),
                    to: self.hosts.name(drop.to),
                    segment: drop.segment,
                },
            );
        }
    }

    /// The next step: turmoil steps every host every tick, idle or not.
    fn next_wakeup(&self) -> Option<Duration> {
        Some(self.now + TICK)
    }

    fn advance(&mut self, to: Duration) {
        self.now = self.now.max(to);
        self.clock.set_between_steps(self.now);
    }

    /// The work so far, as the turmoil budget counts it: what was estimated
    /// before the run (its steps) and what only the run could tell (its
    /// events and bytes).
    fn exhausted(&self, world: &World<TurmoilClock>) -> Option<StopReason> {
        let work =
            self.steps
                .saturating_mul(self.per_step)
                .saturating_add(TurmoilCost::of_traffic(
                    world.trace.len() as u64,
                    self.meter.bytes(),
                ));
        (work > self.budget).then_some(StopReason::TurmoilBudget {
            host_steps: self.budget,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{FaultStep, OpScript};
    use crate::plan::{NetworkFaults, RolloutPlan, RunStep, TimedFault};
    use crate::{EngineKind, run};
    use rollout_core::{QueueOp, RolloutId, RolloutStatus};
    use rollout_core::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn plan() -> SimPlan {
        let mut plan = SimPlan::default();
        plan.runner.poll_interval = ms(10);
        plan.runner.backoff.initial = ms(5);
        plan.runner.backoff.max = ms(20);
        plan.rollouts.push(RolloutPlan {
            id: RolloutId::new("r1"),
            input: serde_json::Value::Null,
            enqueue_at: Duration::ZERO,
            attempts: vec![RunStep {
                duration: ms(5),
                ..RunStep::default()
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
    fn spec_case_2_metrics_cross_the_network_unchanged() {
        let first = run(&plan(), EngineKind::Turmoil);
        assert_eq!(first.engine, EngineKind::Turmoil);
        assert_eq!(first.stop, StopReason::AllTerminal);
        let r1 = first.snapshot.rollout("r1").unwrap();
        assert_eq!(r1.status, RolloutStatus::Succeeded);
        let attempt = &r1.attempts[0].id;
        let spans = &first.snapshot.spans;
        assert_eq!(spans.rewards(attempt, RETRY_FAILURES_METRIC)[0].value, 3.0);
        assert_eq!(spans.rewards(attempt, RETRY_BACKOFF_METRIC)[0].value, 35.0);
        assert!(
            first.invariants.iter().all(|i| i.held),
            "{:?}",
            first.invariants
        );
        // Connect 1ms, register 1ms: the runner starts at 2; its heartbeat
        // tick answers at 3; failed polls at 3, 12, 22 with 5 + 10 + 20 ms
        // of backoff; the poll at 42 dequeues at 43; the attempt heartbeat
        // answers at 44, 5ms of work, flush at 50, completion served at 51.
        assert_eq!(first.ended_at, ms(51));
        assert_eq!(
            first.trace_hash,
            run(&plan(), EngineKind::Turmoil).trace_hash
        );
    }

    #[test]
    fn the_seed_reaches_the_network() {
        let mut lossy = plan();
        lossy.network.faults = Some(NetworkFaults {
            latency_min: ms(0),
            latency_max: ms(20),
            loss_rate: 0.0,
        });
        let a = run(&lossy, EngineKind::Turmoil);
        lossy.seed = 1;
        let b = run(&lossy, EngineKind::Turmoil);
        assert_ne!(a.trace_hash, b.trace_hash);
        assert_ne!(turmoil_seed(0), turmoil_seed(1));
    }

    #[test]
    #[should_panic(
        expected = "`partition` events: only the turmoil engine runs this plan, not virtual"
    )]
    fn other_engines_refuse_network_plans() {
        let mut p = plan();
        p.timed_faults.push(TimedFault {
            at: ms(1),
            action: TimedAction::Partition(
                NetHost::Worker(WorkerId::new("worker-1")),
                NetHost::Queue,
            ),
        });
        run(&p, EngineKind::Virtual);
    }
}
