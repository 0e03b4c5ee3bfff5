//! Layer 2: simulation. Engines, fault injection, the event trace and the
//! invariants.
//!
//! A [`SimPlan`] says what to run; [`run`] runs it on an engine and returns a
//! [`RunResult`]: the queue's final state, the trace and its hash, and the
//! verdict of every built-in invariant. Nothing here reads YAML.

mod branch;
mod coverage;
mod driver;
mod executor;
mod faults;
mod invariants;
#[cfg(feature = "turmoil")]
mod network;
mod oracle;
mod outcome;
mod plan;
mod run;
mod script;
mod states;
mod swarm;
mod timer_order;
mod tokio_engine;
mod trace;
#[cfg(feature = "turmoil")]
mod turmoil_engine;
mod virtual_engine;
mod world;

pub use branch::{Branch, MAX_BRANCH_POINTS};
pub use coverage::{Coverage, Goal, GoalsReached};
pub use executor::{TaskId, VirtualClock, VirtualExecutor};
pub use faults::{
    DEFAULT_FAULT_MESSAGE, FaultStep, OpScript, RANDOM_FAULT_MESSAGE, RandomRates, ScriptCursor,
    Verdict, VerdictLog,
};
pub use invariants::{Invariant, InvariantReport, Monitor, RunFacts, check_all};
pub use oracle::envelope_ms as backoff_envelope_ms;
pub use outcome::{DownReason, StopReason, WorkerDown, WorkerState};
pub use plan::{
    DEFAULT_MAX_EVENTS, DEFAULT_REQUEST_TIMEOUT, DEFAULT_TURMOIL_BUDGET, Heal, NetHost,
    NetworkFaults, NetworkPlan, RolloutPlan, RunLimits, RunStep, SimPlan, StepResult, StopRule,
    StopWhen, TURMOIL_BYTES_PER_HOST_STEP, TURMOIL_EVENT_HOST_STEPS,
    TURMOIL_LINK_VISITS_PER_HOST_STEP, TURMOIL_TICK, TimedAction, TimedFault, TurmoilCost,
};
pub use states::{COVERAGE_STATES, CoverageState, StatesReached};
pub use swarm::{
    CrashBounds, DEFAULT_SWARM_ON, DrawRange, NetworkBounds, RateBounds, SwarmBounds, SwarmCrash,
    SwarmDraw,
};
pub use trace::{
    CallResult, EventKind, EventObserver, FaultSource, LinkChange, Recorded, Trace, TraceEvent,
    TraceHash,
};

pub use run::{EngineKind, RunResult, RunSettings, run, run_tokio_wall_clock, run_with};
