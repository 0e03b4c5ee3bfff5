//! # rollout-core
//!
//! The system under test of rollout-sim: a rollout runner's poll loop, and
//! everything it talks to, with no simulation in it.
//!
//! A **rollout** waits in a [`Queue`]. A **worker** runs a
//! [`Runner`] that polls the queue on a tick; each
//! successful dequeue opens an **attempt** (`r1:attempt-1`) which the runner
//! executes through a [`RolloutExecutor`],
//! heartbeats and completes. When a poll fails (the queue errors on dequeue
//! or while the rollout is processed), the runner backs off with a capped
//! exponential [`BackoffPolicy`] and remembers the
//! failures in a [`RecoveryContext`]. When it next
//! processes a rollout, it emits the retry-recovery metrics
//! `runner.poll_retry_failures_before_rollout` and
//! `runner.poll_retry_backoff_ms_before_rollout` as `reward.emit` spans
//! (spec 1958), changing no outcome.
//!
//! The runner is generic over a [`Clock`] (all it knows of
//! time) and a `Queue` (all it knows of the world), so the same code runs in
//! production over [`TokioClock`] (the `tokio` feature)
//! and a real queue, and in rollout-sim's simulator over virtual time and an
//! injected-fault queue. [`MemoryQueue`] is the
//! reference in-memory store, with the reference's status model.
//!
//! Four concepts, one private module each, everything re-exported here:
//! the clock (`Clock`, tokio-exact intervals, `TokioClock`); the queue (the
//! `Queue` trait, its errors, the status model, `MemoryQueue`); telemetry
//! (spans, the per-attempt tracer and the span store); the runner (the
//! `Runner`, its config, backoff and recovery context).
//!
//! Its dependencies are serde and serde_json, and tokio only with the
//! `tokio` feature.

#![warn(missing_docs)]

mod clock;
mod queue;
mod runner;
mod telemetry;

#[cfg(feature = "tokio")]
pub use clock::TokioClock;
pub use clock::{Clock, Interval, MISSED_TICK_TOLERANCE, MissedTickBehavior};
pub use queue::{
    AttemptId, AttemptOutcome, AttemptRecord, AttemptStatus, Completion, Dequeued, MemoryQueue,
    Queue, QueueError, QueueOp, QueueSnapshot, ReassignmentPolicy, Rollout, RolloutId,
    RolloutRecord, RolloutStatus, WorkerId,
};
pub use runner::{
    BackoffPolicy, ConfigError, Execution, ExecutionError, Jitter, JitterSource, RecoveryContext,
    RolloutExecutor, Runner, RunnerConfig, RunnerError, RunnerEvent, RunnerObserver, SplitMix64,
};
pub use telemetry::{
    AttemptSpans, Attributes, EXECUTE_SPAN, EXECUTION_SUCCESS, OpenSpan, RETRY_BACKOFF_METRIC,
    RETRY_FAILURES_METRIC, REWARD_SPAN, Reward, Span, SpanId, SpanLookup, SpanStore, SpanView,
    Tracer, json_number, rewards_named,
};
