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

use std::cell::Cell;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use crate::core::clock::Clock;
use crate::core::queue::WorkerId;

use super::engine::{EngineKind, RunResult, StopReason, WorkerState, finish_world};
use super::network::drops::DropWatch;
use super::network::protocol::QUEUE_PORT;
use super::network::{NetworkQueue, QueueServer, TurmoilClock, WireMeter};
use super::plan::{NetHost, SimPlan, StopWhen, TimedAction, TurmoilCost};
use super::trace::{EventKind, LinkChange};
use super::world::{Control, World};

/// How much simulated time one step of the simulation covers.
pub const TICK: Duration = Duration::from_millis(1);

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

/// Runs `plan` on the turmoil engine.
pub(super) fn run_turmoil(plan: Rc<SimPlan>) -> RunResult {
    let watch = DropWatch::new();
    let dispatch = tracing::Dispatch::new(watch.clone());
    tracing::dispatcher::with_default(&dispatch, || drive(plan, &watch))
}

fn build_sim<'a>(plan: &SimPlan) -> turmoil::Sim<'a> {
    let (latency_min, latency_max, loss_rate) = match plan.network.faults {
        Some(f) => (f.latency_min, f.latency_max, f.loss_rate),
        None => (Duration::ZERO, Duration::ZERO, 0.0),
    };
    turmoil::Builder::new()
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_UNIX_SECS))
        .rng_seed(turmoil_seed(plan.seed))
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

fn drive(plan: Rc<SimPlan>, watch: &DropWatch) -> RunResult {
    let clock = TurmoilClock::new();
    let world = Rc::new(World::new(&plan, clock.clone()));
    // When the last rollout became terminal, on the queue host's clock.
    let last_terminal: Rc<Cell<Option<Duration>>> = Rc::default();
    {
        let (clock, last) = (clock.clone(), last_terminal.clone());
        world.queue.set_status_listener(move |_, status| {
            if status.is_terminal() {
                last.set(Some(clock.now()));
            }
        });
    }
    let mut sim = build_sim(&plan);
    let meter = WireMeter::default();

    // The queue host is registered first, so it runs first in every step.
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
    let request_timeout = plan.network.request_timeout;
    for (i, worker) in plan.workers.iter().enumerate() {
        let name = worker_host(i + 1);
        let (world, worker_id, meter) = (world.clone(), worker.clone(), meter.clone());
        sim.host(name.as_str(), move || {
            let client = NetworkQueue::new(worker_id.clone(), queue_addr, request_timeout)
                .with_meter(meter.clone());
            let runner: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> =
                Box::pin(world.worker_task_with(worker_id.clone(), client));
            async move {
                runner.await;
                Ok(())
            }
        });
        hosts
            .names
            .insert(sim.lookup(name.as_str()), worker.to_string());
        hosts.workers.insert(worker.clone(), name);
    }

    let mut states: BTreeMap<WorkerId, WorkerState> = plan
        .workers
        .iter()
        .map(|w| (w.clone(), WorkerState::Alive))
        .collect();
    // Supervisor restarts of failed workers (`runner.restart_after`), by worker.
    let mut restarts: BTreeMap<WorkerId, Duration> = BTreeMap::new();
    let controls = world.controls();
    let mut next_control = 0;
    let within = plan.stop.within;
    let stop_at = match plan.stop.when {
        StopWhen::At(at) if at <= within => Some(at),
        _ => None,
    };
    let per_step = TurmoilCost::per_step(plan.workers.len() as u64 + 1);
    let budget = plan.limits.turmoil_budget;
    let mut steps = 0u64;
    let mut now = Duration::ZERO;
    let stop = loop {
        clock.set_between_steps(now);
        let mut driver = Driver {
            sim: &mut sim,
            world: &world,
            hosts: &hosts,
            states: &mut states,
            restarts: &mut restarts,
        };
        while let Some((at, control)) = controls.get(next_control)
            && *at <= now
        {
            driver.apply(control);
            next_control += 1;
        }
        let due: Vec<WorkerId> = driver
            .restarts
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(w, _)| w.clone())
            .collect();
        for worker in due {
            driver.restart(&worker);
        }

        if let Err(e) = sim.step() {
            panic!(
                "the turmoil simulation failed in the step at {} ms: {e}",
                now.as_millis()
            );
        }

        for drop in watch.take() {
            world.trace.record(
                now,
                None,
                EventKind::MessageDropped {
                    from: hosts.name(drop.from),
                    to: hosts.name(drop.to),
                    segment: drop.segment,
                },
            );
        }
        for (worker, state) in states.iter_mut() {
            if *state == WorkerState::Alive && !sim.is_host_running(hosts.workers[worker].as_str())
            {
                *state = WorkerState::Failed;
                if let Some(after) = plan.network.restart_after {
                    restarts.insert(worker.clone(), now + after);
                }
            }
        }

        steps += 1;
        if world.trace.len() > plan.limits.max_events {
            break StopReason::EventBudget {
                max_events: plan.limits.max_events,
            };
        }
        // The work so far, as the budget counts it: what was estimated
        // before the run (its steps) and what only the run could tell (its
        // events and bytes).
        let work = steps
            .saturating_mul(per_step)
            .saturating_add(TurmoilCost::of_traffic(
                world.trace.len() as u64,
                meter.bytes(),
            ));
        if work > budget {
            break StopReason::TurmoilBudget { host_steps: budget };
        }
        if plan.stop.when == StopWhen::AllTerminal && world.all_terminal() {
            break StopReason::AllTerminal;
        }
        if stop_at.is_some_and(|at| now >= at) {
            break StopReason::StopAt;
        }
        if now >= within {
            break StopReason::TimeBudget {
                within_ms: within.as_millis() as u64,
            };
        }
        let any_alive = states.values().any(|s| *s == WorkerState::Alive);
        // With `stop.when: at`, time runs to that instant whoever is left,
        // as on the virtual engine.
        if stop_at.is_none() && !any_alive && restarts.is_empty() && next_control >= controls.len()
        {
            break StopReason::Stalled;
        }
        now += TICK;
    };
    let ended_at = match stop {
        StopReason::AllTerminal => last_terminal.get().unwrap_or(now),
        StopReason::StopAt => stop_at.unwrap_or(now),
        StopReason::TimeBudget { .. } => within,
        StopReason::EventBudget { .. } | StopReason::TurmoilBudget { .. } | StopReason::Stalled => {
            now
        }
    };
    // The hosts' software holds the world; dropping the simulation drops it.
    drop(sim);
    let world = Rc::try_unwrap(world)
        .unwrap_or_else(|_| panic!("the turmoil simulation still holds the world after the run"));
    finish_world(world, EngineKind::Turmoil, stop, ended_at, states)
}

/// Applies controls to the simulation between two steps.
struct Driver<'s, 'a> {
    sim: &'s mut turmoil::Sim<'a>,
    world: &'s World<TurmoilClock>,
    hosts: &'s Hosts,
    states: &'s mut BTreeMap<WorkerId, WorkerState>,
    restarts: &'s mut BTreeMap<WorkerId, Duration>,
}

impl Driver<'_, '_> {
    fn apply(&mut self, control: &Control) {
        let action = match control {
            Control::Enqueue(i) => return self.world.enqueue(*i),
            Control::Fault(action) => action,
        };
        match action {
            TimedAction::Crash(worker) => self.crash(worker),
            TimedAction::Restart(worker) => self.restart(worker),
            TimedAction::Bounce(NetHost::Worker(worker)) => {
                self.crash(worker);
                self.restart(worker);
            }
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
        }
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
        let (ha, hb) = (self.hosts.host(a), self.hosts.host(b));
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

    fn crash(&mut self, worker: &WorkerId) {
        let Some(host) = self.hosts.workers.get(worker) else {
            return;
        };
        if self.states.get(worker) == Some(&WorkerState::Alive) {
            self.sim.crash(host.as_str());
            self.states.insert(worker.clone(), WorkerState::Crashed);
            self.restarts.remove(worker);
            self.world.record_worker(worker, EventKind::WorkerCrashed);
        }
    }

    fn restart(&mut self, worker: &WorkerId) {
        let Some(host) = self.hosts.workers.get(worker) else {
            return;
        };
        self.restarts.remove(worker);
        let alive = self.states.get(worker) == Some(&WorkerState::Alive)
            && self.sim.is_host_running(host.as_str());
        if !alive {
            self.world.record_worker(worker, EventKind::WorkerRestarted);
            self.sim.bounce(host.as_str());
            self.states.insert(worker.clone(), WorkerState::Alive);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::queue::{QueueOp, RolloutId, RolloutStatus};
    use crate::core::telemetry::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC};
    use crate::sim::engine::run;
    use crate::sim::faults::{FaultStep, OpScript};
    use crate::sim::plan::{NetworkFaults, RolloutPlan, RunStep, TimedFault};

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
    fn c02_metrics_cross_the_network_unchanged() {
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
