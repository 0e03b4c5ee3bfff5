//! Layer 1: the system under test. Time, the queue, telemetry and the runner.
//!
//! Nothing here knows about simulation, scenario files or the command line:
//! this is the code that would run in production, over [`clock::TokioClock`]
//! and a real queue.

pub mod clock;
pub mod queue;
pub mod runner;
pub mod telemetry;
