//! # rollout-core
//!
//! The system under test of rollout-sim: a rollout runner's poll loop, and
//! everything it talks to, with no simulation in it.
//!
//! A **rollout** waits in a [`Queue`](queue::Queue). A **worker** runs a
//! [`Runner`](runner::Runner) that polls the queue on a tick; each
//! successful dequeue opens an **attempt** (`r1:attempt-1`) which the runner
//! executes through a [`RolloutExecutor`](runner::RolloutExecutor),
//! heartbeats and completes. When a poll fails (the queue errors on dequeue
//! or while the rollout is processed), the runner backs off with a capped
//! exponential [`BackoffPolicy`](runner::BackoffPolicy) and remembers the
//! failures in a [`RecoveryContext`](runner::RecoveryContext). When it next
//! processes a rollout, it emits the retry-recovery metrics
//! `runner.poll_retry_failures_before_rollout` and
//! `runner.poll_retry_backoff_ms_before_rollout` as `reward.emit` spans
//! (spec 1958), changing no outcome.
//!
//! The runner is generic over a [`Clock`](clock::Clock) (all it knows of
//! time) and a `Queue` (all it knows of the world), so the same code runs in
//! production over [`TokioClock`](clock::TokioClock) (the `tokio` feature)
//! and a real queue, and in rollout-sim's simulator over virtual time and an
//! injected-fault queue. [`MemoryQueue`](queue::MemoryQueue) is the
//! reference in-memory store, with the reference's status model.
//!
//! Modules:
//!
//! - [`clock`]: `Clock`, tokio-exact intervals, `TokioClock`;
//! - [`queue`]: the `Queue` trait, its errors, the status model, `MemoryQueue`;
//! - [`telemetry`]: spans, the per-attempt tracer and the span store;
//! - [`runner`]: the `Runner`, its config, backoff and recovery context.
//!
//! Its dependencies are serde and serde_json, and tokio only with the
//! `tokio` feature.

#![warn(missing_docs)]

pub mod clock;
pub mod queue;
pub mod runner;
pub mod telemetry;
