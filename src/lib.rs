//! # rollout-sim
//!
//! A deterministic simulation test (DST) harness for a rollout runner's poll
//! loop. The runner is the real thing; time, the queue and faults are
//! simulated, so a scenario that takes minutes of runner time runs in
//! microseconds and produces the same bytes on every run.
//!
//! ## The model
//!
//! A **rollout** waits in a **queue**. A **worker** runs a [`Runner`](core::Runner)
//! that polls the queue on a tick; each successful dequeue opens an
//! **attempt** (`r1:attempt-1`) which the runner executes, heartbeats and
//! completes. When a poll fails (the queue errors on dequeue or while the
//! rollout is processed), the runner backs off with a capped exponential
//! [`BackoffPolicy`](core::BackoffPolicy) and remembers the failures
//! in a [`RecoveryContext`](core::RecoveryContext). When it next
//! processes a rollout, it emits the retry-recovery metrics
//! `runner.poll_retry_failures_before_rollout` and
//! `runner.poll_retry_backoff_ms_before_rollout` as `reward.emit` spans
//! (spec 1958), changing no outcome.
//!
//! The workspace is built in layers, one crate each, each depending only
//! on those below; this crate re-exports them under short names and holds
//! the command line (in its binary only):
//!
//! 1. [`core`] (`rollout-core`): the system under test: `Clock`, `Queue`
//!    and the reference in-memory store, telemetry (`Span`, tracer, span
//!    store) and the runner. It knows nothing of simulation.
//! 2. [`sim`] (`rollout-simulator`): one driver over three engines (the
//!    project's own virtual executor, tokio with paused time, and turmoil's
//!    simulated network with the queue as a server host, behind the
//!    `turmoil` feature), fault injection, the event trace and its hash,
//!    and the built-in invariants. Input is a plain `SimPlan`.
//! 3. [`scenario`] (`rollout-scenario`): the YAML format, loading with
//!    located diagnostics, and expectations.
//! 4. [`explore`] (`rollout-explore`): seed sweeps, shrinking, freezing and
//!    explaining a failing seed.
//! 5. [`report`] (`rollout-report`): what people and CI read, and the one
//!    writer that never destroys a file (the spans database behind the
//!    `sqlite` feature).
//!
//! ## Embedding
//!
//! Run a scenario file from code:
//!
//! ```
//! use rollout_sim::scenario::{load_str, run_scenario, RunOptions};
//!
//! let scenario = load_str("inline.yaml", r#"
//! name: inline
//! runner: { poll_interval: 10ms, backoff: { initial: 5ms, max: 20ms } }
//! rollouts: [ { id: r1, run: { duration: 5ms, output: "4" } } ]
//! faults: { dequeue: [ { fail: 3 } ] }
//! expect:
//!   rewards: { r1: { runner.poll_retry_backoff_ms_before_rollout: 35 } }
//! "#).unwrap();
//! let outcome = run_scenario(&scenario, RunOptions::default());
//! assert!(outcome.passed());
//! ```
//!
//! Or build a [`SimPlan`](sim::SimPlan) directly and call [`sim::run`], or
//! drive a [`Runner`](core::Runner) over a queue of your own on the
//! [`VirtualExecutor`](sim::VirtualExecutor) (see
//! the simulator crate's `examples/delayed_queue.rs`).

#![warn(missing_docs)]

/// Layer 1, the runner core: the `rollout-core` crate.
pub use rollout_core as core;
/// Layer 4, exploration over seeds: the `rollout-explore` crate.
pub use rollout_explore as explore;
/// Scenario files as named tests of a `harness = false` target: the
/// `rollout-harness` crate (feature `harness`, on by default).
#[cfg(feature = "harness")]
pub use rollout_harness as harness;
/// Layer 5, what people and CI read: the `rollout-report` crate.
pub use rollout_report as report;
/// Layer 3, scenario files: the `rollout-scenario` crate.
pub use rollout_scenario as scenario;
/// Layer 2, the simulator: the `rollout-simulator` crate.
pub use rollout_simulator as sim;
