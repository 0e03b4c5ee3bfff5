//! Layer 2: simulation. Engines, fault injection, the event trace and the
//! invariants.
//!
//! A [`SimPlan`] says what to run; [`run`] runs it on an engine and returns a
//! [`RunResult`]: the queue's final state, the trace and its hash, and the
//! verdict of every built-in invariant. Nothing here reads YAML.

mod driver;
pub mod executor;
pub mod faults;
pub mod invariants;
#[cfg(feature = "turmoil")]
pub mod network;
pub mod outcome;
pub mod plan;
mod run;
pub mod script;
pub mod timer_order;
mod tokio_engine;
pub mod trace;
#[cfg(feature = "turmoil")]
pub mod turmoil_engine;
mod virtual_engine;
pub mod world;

pub use outcome::{StopReason, WorkerState};
pub use plan::{
    RolloutPlan, RunLimits, RunStep, SimPlan, StepResult, StopRule, StopWhen, TimedAction,
    TimedFault,
};
pub use run::{EngineKind, RunResult, run, run_tokio_wall_clock};
pub use trace::{Trace, TraceEvent, TraceHash};
