//! Layer 2: simulation. Engines, fault injection, the event trace and the
//! invariants.
//!
//! A [`SimPlan`] says what to run; [`run`] runs it on an engine and returns a
//! [`RunResult`]: the queue's final state, the trace and its hash, and the
//! verdict of every built-in invariant. Nothing here reads YAML.

pub mod engine;
pub mod executor;
pub mod faults;
pub mod invariants;
pub mod network;
pub mod plan;
pub mod timer_order;
pub mod trace;
pub mod turmoil_engine;
pub mod world;

pub use engine::{EngineKind, RunResult, StopReason, WorkerState, run};
pub use plan::{
    RolloutPlan, RunLimits, RunStep, SimPlan, StepResult, StopRule, StopWhen, TimedAction,
    TimedFault,
};
pub use trace::{Trace, TraceEvent, TraceHash};
