//! Running a plan: which engine, and what a run produces.
//!
//! - [`EngineKind::Virtual`]: the project's own executor and virtual clock
//!   ([`super::executor`]). No tokio. The fast path.
//! - [`EngineKind::Tokio`]: the same world on a current-thread tokio runtime
//!   with paused time, proving the core runs on the production runtime.
//! - [`EngineKind::Turmoil`]: the queue as a server host and each worker as
//!   a host of its own, over turmoil's simulated network
//!   ([`super::turmoil_engine`]); the only engine for network faults.
//!
//! [`run`] builds the world on the engine's clock, with the invariants'
//! monitor fed every event, lets the [driver](super::driver) take it from
//! its first instant to its stop rule, and builds the [`RunResult`] whole:
//! the queue's final state, the trace and its hash, each worker's state and
//! the verdict of every invariant.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Serialize;

use rollout_core::Clock;
use rollout_core::{QueueSnapshot, WorkerId};

use super::coverage::{Coverage, GoalsReached};
use super::driver::{Ending, drive};
use super::invariants::{self, InvariantReport, Monitor, RunFacts};
use super::outcome::{StopReason, WorkerState};
use super::plan::SimPlan;
use super::states::StatesReached;
use super::tokio_engine::TokioEngine;
use super::trace::{EventKind, EventObserver, Trace, TraceHash, TraceRecorder};
#[cfg(feature = "turmoil")]
use super::turmoil_engine::TurmoilEngine;
use super::virtual_engine::VirtualEngine;
use super::world::World;

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

    /// True when this build can run the engine: turmoil needs the
    /// simulator's `turmoil` feature (on by default).
    pub const fn is_built(self) -> bool {
        match self {
            Self::Virtual | Self::Tokio => true,
            Self::Turmoil => cfg!(feature = "turmoil"),
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// Each worker down at the end: when and why it went down.
    pub down: BTreeMap<WorkerId, crate::outcome::WorkerDown>,
    /// The event trace.
    pub trace: Trace,
    /// Its hash.
    pub trace_hash: TraceHash,
    /// Every built-in invariant, checked.
    pub invariants: Vec<InvariantReport>,
    /// The built-in coverage goals the run reached.
    pub coverage: GoalsReached,
    /// The coverage states it reached, and when (guided exploration's
    /// branch points).
    pub states: StatesReached,
    /// Every fault verdict, when the plan asked to record them.
    pub verdicts: crate::faults::VerdictLog,
    /// How many events the run recorded; `trace` holds them only when the
    /// plan keeps them ([`SimPlan::keep_events`]).
    pub events: usize,
}

impl RunResult {
    /// What the invariants read of this run besides its events.
    pub fn facts(&self) -> RunFacts<'_> {
        RunFacts {
            stop: self.stop,
            snapshot: &self.snapshot,
            workers: &self.workers,
            ended_at: self.ended_at,
        }
    }
}

/// What a run may take from elsewhere than its plan: a sweep runs one plan
/// with a thousand seeds, and copying the plan for each (then dropping it)
/// cost more than a twentieth of a c02 run. [`RunSettings::of`] reads them
/// all from the plan; [`run_with`] runs the plan with them instead.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings<'a> {
    /// The scenario seed ([`SimPlan::seed`]).
    pub seed: u64,
    /// Whether the trace keeps its events ([`SimPlan::keep_events`]).
    pub keep_events: bool,
    /// Whether same-instant tasks run in a seeded order
    /// ([`SimPlan::perturb_scheduling`]).
    pub perturb_scheduling: bool,
    /// How the queue reassigns timed-out attempts ([`SimPlan::reassignment`]).
    pub reassignment: rollout_core::ReassignmentPolicy,
    /// The forced fault decisions ([`SimPlan::branch`]).
    pub branch: &'a crate::Branch,
}

impl<'a> RunSettings<'a> {
    /// The settings `plan` itself gives.
    pub fn of(plan: &'a SimPlan) -> Self {
        Self {
            seed: plan.seed,
            keep_events: plan.keep_events,
            perturb_scheduling: plan.perturb_scheduling,
            reassignment: plan.reassignment,
            branch: &plan.branch,
        }
    }
}

/// Runs `plan` on `engine`.
///
/// # Panics
///
/// If the plan uses a network feature ([`SimPlan::network_feature`]) and
/// `engine` is not [`EngineKind::Turmoil`]; the scenario loader refuses
/// such a combination with a located error first. If `engine` is
/// [`EngineKind::Turmoil`] and this build has no turmoil engine
/// ([`EngineKind::is_built`]).
pub fn run(plan: &SimPlan, engine: EngineKind) -> RunResult {
    run_with(plan, RunSettings::of(plan), engine)
}

/// Runs `plan` on `engine` with `settings` in place of the plan's own.
///
/// # Panics
///
/// As [`run`].
pub fn run_with(plan: &SimPlan, settings: RunSettings<'_>, engine: EngineKind) -> RunResult {
    if let Some(feature) = plan.network_feature() {
        assert!(
            engine == EngineKind::Turmoil,
            "{feature}: only the turmoil engine runs this plan, not {engine}"
        );
    }
    let started = Instant::now();
    match engine {
        EngineKind::Virtual => run_virtual(plan, settings, started),
        EngineKind::Tokio => run_tokio(plan, settings, true, started),
        #[cfg(feature = "turmoil")]
        EngineKind::Turmoil => run_turmoil(plan, settings, started),
        #[cfg(not(feature = "turmoil"))]
        EngineKind::Turmoil => {
            panic!(
                "this build of rollout-simulator has no turmoil engine (its `turmoil` feature is off)"
            )
        }
    }
}

/// Runs `plan` on a current-thread tokio runtime in *real* time (not
/// paused), as the reference runner's own tests do: every millisecond of
/// the scenario takes a millisecond of wall time. The performance baseline
/// of `benches/`; its time stamps follow the wall clock, so its trace is not
/// deterministic.
pub fn run_tokio_wall_clock(plan: &SimPlan) -> RunResult {
    run_tokio(plan, RunSettings::of(plan), false, Instant::now())
}

/// The recorder of a run of `plan`: every event goes to the invariants'
/// monitor and to the coverage goals, and is kept only if the plan asks.
fn recorder(plan: &SimPlan, settings: RunSettings<'_>) -> TraceRecorder {
    let observers = RunObservers {
        monitor: Monitor::new(plan),
        coverage: Coverage::new(plan),
    };
    TraceRecorder::observed(settings.keep_events, Box::new(observers))
}

/// What watches a run's events as they happen.
#[derive(Debug)]
struct RunObservers {
    monitor: Monitor,
    coverage: Coverage,
}

impl EventObserver for RunObservers {
    fn observe(&mut self, at: Duration, worker: Option<&WorkerId>, kind: &EventKind) {
        EventObserver::observe(&mut self.monitor, at, worker, kind);
        self.coverage.observe(at, worker, kind);
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

fn run_virtual(plan: &SimPlan, settings: RunSettings<'_>, started: Instant) -> RunResult {
    let mut engine = VirtualEngine::new(settings.perturb_scheduling);
    let world = World::new(plan, settings, engine.clock(), recorder(plan, settings));
    let ending = drive(&mut engine, &world, plan);
    // The workers' tasks hold the world's queue: they go first.
    drop(engine);
    conclude(world, EngineKind::Virtual, ending, plan, started)
}

fn run_tokio(
    plan: &SimPlan,
    settings: RunSettings<'_>,
    paused: bool,
    started: Instant,
) -> RunResult {
    let mut engine = TokioEngine::new(plan, paused);
    let runtime = engine.runtime();
    // The world reads tokio's clock between the engine's own calls too.
    let _context = runtime.enter();
    let world = World::new(plan, settings, engine.clock(), recorder(plan, settings));
    let ending = drive(&mut engine, &world, plan);
    drop(engine);
    conclude(world, EngineKind::Tokio, ending, plan, started)
}

#[cfg(feature = "turmoil")]
fn run_turmoil(plan: &SimPlan, settings: RunSettings<'_>, started: Instant) -> RunResult {
    let clock = super::network::TurmoilClock::new();
    let world = Rc::new(World::new(
        plan,
        settings,
        clock.clone(),
        recorder(plan, settings),
    ));
    let mut engine = TurmoilEngine::new(plan, world.clone(), clock);
    let ending = drive(&mut engine, &world, plan);
    // The hosts' software holds the world; dropping the simulation drops it.
    drop(engine);
    let world = Rc::try_unwrap(world)
        .unwrap_or_else(|_| panic!("the turmoil simulation still holds the world after the run"));
    conclude(world, EngineKind::Turmoil, ending, plan, started)
}

/// The run's result, whole: its final state, trace, and every invariant's
/// verdict (the monitor's, fed as the run went).
fn conclude<C: Clock + 'static>(
    world: World<C>,
    engine: EngineKind,
    ending: Ending,
    plan: &SimPlan,
    started: Instant,
) -> RunResult {
    let verdicts = if world.config.record_verdicts {
        world.faults.log()
    } else {
        Default::default()
    };
    let World { queue, trace, .. } = world;
    let snapshot = Rc::try_unwrap(queue).map_or_else(|q| q.snapshot(), |q| q.into_snapshot());
    let recorded = trace.finish();
    let Ending {
        stop,
        ended_at,
        workers,
        down,
    } = ending;
    let facts = RunFacts {
        stop,
        snapshot: &snapshot,
        workers: &workers,
        ended_at,
    };
    let observers = recorded
        .observer
        .and_then(|o| o.into_any().downcast::<RunObservers>().ok());
    let (invariants, (coverage, states)) = match observers {
        Some(o) => (
            o.monitor.finish(plan, facts),
            o.coverage.finish(plan, &snapshot),
        ),
        None => {
            let mut coverage = Coverage::new(plan);
            for e in &recorded.trace.events {
                coverage.observe(e.at, e.worker.as_ref(), &e.kind);
            }
            (
                invariants::check_all(plan, &recorded.trace.events, facts),
                coverage.finish(plan, &snapshot),
            )
        }
    };
    RunResult {
        engine,
        stop,
        ended_at,
        wall: started.elapsed(),
        snapshot,
        workers,
        down,
        trace: recorded.trace,
        trace_hash: recorded.hash,
        invariants,
        coverage,
        states,
        verdicts,
        events: recorded.events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{FaultStep, OpScript};
    use crate::plan::{RolloutPlan, RunStep, StepResult};
    use rollout_core::BackoffPolicy;
    use rollout_core::{QueueOp, RolloutId, RolloutStatus};
    use rollout_core::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC, Reward};

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
            jitter: rollout_core::Jitter::None,
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
    fn spec_case_2_gives_three_failures_and_35_ms_on_both_engines() {
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
