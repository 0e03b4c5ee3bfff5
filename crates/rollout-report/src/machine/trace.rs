//! The event trace as JSON Lines (`--trace FILE.jsonl`): one [`Line`] per
//! event, in the order of the run, the runs of a suite in input order.
//!
//! An event is one JSON object: its time, the worker it concerns (absent
//! when none) and `event`, which says what happened; the other keys depend
//! on `event` ([`Kind`]). A queue call (`call`, and `served` on the
//! turmoil engine) adds `result` and its keys ([`CallResult`]):
//!
//! ```json
//! {"scenario":"c02","seed":0,"t_us":0,"worker":"worker-1","event":"call","op":"dequeue","result":"failed","message":"injected","fault":"script"}
//! ```
//!
//! The trace hash is not computed from these lines but from a canonical
//! encoding of its own ([`rollout_simulator::TraceHash`]); the same events, in the
//! same order.

use serde::Serialize;

use super::{Each, Text};
use rollout_core::{AttemptId, QueueOp};
use rollout_simulator as sim;

/// One line of the trace file.
#[derive(Serialize)]
pub struct Line<'a> {
    /// The scenario's name.
    #[serde(rename = "scenario")]
    pub scenario: &'a str,
    /// The seed it ran with.
    #[serde(rename = "seed")]
    pub seed: u64,
    /// The event, its keys after these.
    #[serde(flatten)]
    pub event: Event<'a>,
}

/// One event: also what a determinism check shows of the first event that
/// differs.
#[derive(Serialize)]
pub struct Event<'a> {
    /// Virtual time, in microseconds.
    #[serde(rename = "t_us")]
    pub t_us: u64,
    /// The worker concerned; absent when none is.
    #[serde(rename = "worker", skip_serializing_if = "Option::is_none")]
    pub worker: Option<&'a str>,
    /// What happened: `event` and its keys.
    #[serde(flatten)]
    pub kind: Kind<'a>,
}

/// What happened: the value of `event`, with its keys.
#[derive(Serialize)]
#[serde(tag = "event")]
pub enum Kind<'a> {
    /// A rollout entered the queue.
    #[serde(rename = "enqueued")]
    Enqueued {
        /// The rollout.
        #[serde(rename = "rollout")]
        rollout: &'a str,
    },
    /// A worker's runner started (registered).
    #[serde(rename = "worker_started")]
    WorkerStarted,
    /// A worker was crashed by a timed fault.
    #[serde(rename = "worker_crashed")]
    WorkerCrashed,
    /// A crashed or failed worker was started again.
    #[serde(rename = "worker_restarted")]
    WorkerRestarted,
    /// A worker's loop ended with an error.
    #[serde(rename = "worker_failed")]
    WorkerFailed {
        /// The error.
        #[serde(rename = "message")]
        message: &'a str,
    },
    /// The heartbeat tick fired.
    #[serde(rename = "heartbeat_tick")]
    HeartbeatTick,
    /// The poll tick fired.
    #[serde(rename = "poll_tick")]
    PollTick,
    /// A worker's queue call and what it got back.
    #[serde(rename = "call")]
    Call {
        /// The operation.
        #[serde(rename = "op")]
        op: Op,
        /// The attempt named by a heartbeat or completion; absent otherwise.
        #[serde(rename = "attempt", skip_serializing_if = "Option::is_none")]
        attempt: Option<Text<&'a AttemptId>>,
        /// `result` and its keys.
        #[serde(flatten)]
        result: CallResult<'a>,
    },
    /// A poll dequeued an attempt, after `failures` failed polls.
    #[serde(rename = "attempt_started")]
    AttemptStarted {
        /// The attempt, `{rollout}:attempt-{n}`.
        #[serde(rename = "attempt")]
        attempt: Text<&'a AttemptId>,
        /// Poll failures before this poll.
        #[serde(rename = "failures")]
        failures: u32,
        /// Backoff slept over them, in ms.
        #[serde(rename = "backoff_ms")]
        backoff_ms: u64,
    },
    /// A reward span was emitted.
    #[serde(rename = "reward")]
    Reward {
        /// The attempt.
        #[serde(rename = "attempt")]
        attempt: Text<&'a AttemptId>,
        /// The reward's name.
        #[serde(rename = "name")]
        name: &'a str,
        /// Its value.
        #[serde(rename = "value")]
        value: f64,
    },
    /// An attempt was completed by its worker.
    #[serde(rename = "attempt_finished")]
    AttemptFinished {
        /// The attempt.
        #[serde(rename = "attempt")]
        attempt: Text<&'a AttemptId>,
        /// `succeeded` or `failed`.
        #[serde(rename = "status")]
        status: &'a str,
        /// False when the attempt had already timed out.
        #[serde(rename = "recorded")]
        recorded: bool,
    },
    /// A heartbeat during an attempt's execution failed.
    #[serde(rename = "execution_heartbeat_failed")]
    ExecutionHeartbeatFailed {
        /// The attempt.
        #[serde(rename = "attempt")]
        attempt: Text<&'a AttemptId>,
    },
    /// A poll that processed a rollout ended cleanly.
    #[serde(rename = "poll_processed")]
    PollProcessed,
    /// A poll found the queue empty.
    #[serde(rename = "poll_empty")]
    PollEmpty,
    /// A poll failed; backoff starts.
    #[serde(rename = "poll_failed")]
    PollFailed {
        /// Consecutive failures, this one included.
        #[serde(rename = "failures")]
        failures: u32,
        /// The delay about to be slept, in ms.
        #[serde(rename = "delay_ms")]
        delay_ms: u64,
        /// Backoff so far, this delay included, in ms.
        #[serde(rename = "backoff_ms")]
        backoff_ms: u64,
    },
    /// A backoff sleep ended.
    #[serde(rename = "backoff_ended")]
    BackoffEnded {
        /// Its length, in ms.
        #[serde(rename = "delay_ms")]
        delay_ms: u64,
    },
    /// The queue host served a request (turmoil engine), at the queue's
    /// time; `worker` is the one that sent it.
    #[serde(rename = "served")]
    Served {
        /// The operation.
        #[serde(rename = "op")]
        op: Op,
        /// The attempt named by a heartbeat, flush or completion; absent
        /// otherwise.
        #[serde(rename = "attempt", skip_serializing_if = "Option::is_none")]
        attempt: Option<Text<&'a AttemptId>>,
        /// `result` and its keys: what the queue answered.
        #[serde(flatten)]
        result: CallResult<'a>,
    },
    /// A timed fault changed the link between two hosts (turmoil engine).
    #[serde(rename = "link")]
    Link {
        /// What changed.
        #[serde(rename = "change")]
        change: LinkChange,
        /// One host: `queue` or a worker id.
        #[serde(rename = "a")]
        a: &'a str,
        /// The other host.
        #[serde(rename = "b")]
        b: &'a str,
    },
    /// The queue host's software was restarted (turmoil engine).
    #[serde(rename = "queue_bounced")]
    QueueBounced,
    /// The liveness phase began (`faults.heal_at`): no fault fires from now on.
    #[serde(rename = "healed")]
    Healed,
    /// A timed fault set every link's latency (turmoil engine).
    #[serde(rename = "latency")]
    Latency {
        /// The fixed latency of every message from now on, in ms; absent
        /// when the scenario's own latency came back.
        #[serde(rename = "fixed_ms", skip_serializing_if = "Option::is_none")]
        fixed_ms: Option<u64>,
    },
    /// The network dropped a segment (turmoil engine).
    #[serde(rename = "message_dropped")]
    MessageDropped {
        /// The sending host: `queue` or a worker id.
        #[serde(rename = "from")]
        from: &'a str,
        /// The addressee.
        #[serde(rename = "to")]
        to: &'a str,
        /// `syn`, `data`, `fin` or `rst`.
        #[serde(rename = "segment")]
        segment: &'a str,
    },
}

/// A queue operation, as fault scripts name it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// Registering the worker.
    #[serde(rename = "register")]
    Register,
    /// A heartbeat, with or without an attempt.
    #[serde(rename = "heartbeat")]
    Heartbeat,
    /// A dequeue.
    #[serde(rename = "dequeue")]
    Dequeue,
    /// Timing out stale attempts.
    #[serde(rename = "reassign")]
    Reassign,
    /// Persisting spans.
    #[serde(rename = "flush")]
    Flush,
    /// Completing an attempt.
    #[serde(rename = "complete")]
    Complete,
}

/// What a queue call returned: the value of `result`, with its keys.
#[derive(Serialize)]
#[serde(tag = "result")]
pub enum CallResult<'a> {
    /// It succeeded.
    #[serde(rename = "ok")]
    Ok,
    /// A dequeue found nothing.
    #[serde(rename = "empty")]
    Empty {
        /// Present when a script said `empty`.
        #[serde(rename = "fault", skip_serializing_if = "Option::is_none")]
        fault: Option<FaultSource>,
    },
    /// A dequeue opened this attempt.
    #[serde(rename = "dequeued")]
    Dequeued {
        /// The attempt.
        #[serde(rename = "attempt")]
        attempt: Text<&'a AttemptId>,
    },
    /// A reassignment timed these attempts out.
    #[serde(rename = "timed_out")]
    TimedOut {
        /// The attempts.
        #[serde(rename = "attempts")]
        attempts: Each<'a, AttemptId, Text<&'a AttemptId>>,
    },
    /// A completion found the attempt no longer running.
    #[serde(rename = "no_longer_running")]
    NoLongerRunning,
    /// It failed.
    #[serde(rename = "failed")]
    Failed {
        /// The error message.
        #[serde(rename = "message")]
        message: &'a str,
        /// Present when the failure was injected.
        #[serde(rename = "fault", skip_serializing_if = "Option::is_none")]
        fault: Option<FaultSource>,
    },
}

/// Where an injected fault came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FaultSource {
    /// A script step (`faults.<op>`).
    #[serde(rename = "script")]
    Script,
    /// The seeded overlay, `faults.random`.
    #[serde(rename = "random")]
    Random,
}

/// How a timed fault changed a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LinkChange {
    /// Messages are dropped from now on.
    #[serde(rename = "partition")]
    Partition,
    /// A partition ended.
    #[serde(rename = "repair")]
    Repair,
    /// Messages are held from now on.
    #[serde(rename = "hold")]
    Hold,
    /// Held messages are delivered and the link healed.
    #[serde(rename = "release")]
    Release,
}

// The conversions from the trace's own types: the only code that names
// both.

impl<'a> Line<'a> {
    /// The line of `event`, of the run of `scenario` with `seed`.
    pub fn new(scenario: &'a str, seed: u64, event: &'a sim::TraceEvent) -> Self {
        Self {
            scenario,
            seed,
            event: Event::from(event),
        }
    }
}

impl<'a> From<&'a sim::TraceEvent> for Event<'a> {
    fn from(e: &'a sim::TraceEvent) -> Self {
        Self {
            t_us: e.at.as_micros() as u64,
            worker: e.worker.as_ref().map(|w| w.as_str()),
            kind: Kind::from(&e.kind),
        }
    }
}

impl<'a> From<&'a sim::EventKind> for Kind<'a> {
    fn from(kind: &'a sim::EventKind) -> Self {
        use sim::EventKind as E;
        match kind {
            E::Enqueued { rollout } => Self::Enqueued {
                rollout: rollout.as_str(),
            },
            E::WorkerStarted => Self::WorkerStarted,
            E::WorkerCrashed => Self::WorkerCrashed,
            E::WorkerRestarted => Self::WorkerRestarted,
            E::WorkerFailed { message } => Self::WorkerFailed { message },
            E::HeartbeatTick => Self::HeartbeatTick,
            E::PollTick => Self::PollTick,
            E::Call {
                op,
                attempt,
                result,
            } => Self::Call {
                op: (*op).into(),
                attempt: attempt.as_ref().map(Text),
                result: result.into(),
            },
            E::AttemptStarted {
                attempt,
                failures,
                backoff_ms,
            } => Self::AttemptStarted {
                attempt: Text(attempt),
                failures: *failures,
                backoff_ms: *backoff_ms,
            },
            E::Reward {
                attempt,
                name,
                value,
            } => Self::Reward {
                attempt: Text(attempt),
                name,
                value: *value,
            },
            E::AttemptFinished {
                attempt,
                status,
                recorded,
            } => Self::AttemptFinished {
                attempt: Text(attempt),
                status: status.as_str(),
                recorded: *recorded,
            },
            E::ExecutionHeartbeatFailed { attempt } => Self::ExecutionHeartbeatFailed {
                attempt: Text(attempt),
            },
            E::PollProcessed => Self::PollProcessed,
            E::PollEmpty => Self::PollEmpty,
            E::PollFailed {
                failures,
                delay_ms,
                backoff_ms,
            } => Self::PollFailed {
                failures: *failures,
                delay_ms: *delay_ms,
                backoff_ms: *backoff_ms,
            },
            E::BackoffEnded { delay_ms } => Self::BackoffEnded {
                delay_ms: *delay_ms,
            },
            E::Served {
                op,
                attempt,
                result,
            } => Self::Served {
                op: (*op).into(),
                attempt: attempt.as_ref().map(Text),
                result: result.into(),
            },
            E::Link { change, a, b } => Self::Link {
                change: (*change).into(),
                a,
                b,
            },
            E::QueueBounced => Self::QueueBounced,
            E::Healed => Self::Healed,
            E::Latency { fixed_ms } => Self::Latency {
                fixed_ms: *fixed_ms,
            },
            E::MessageDropped { from, to, segment } => Self::MessageDropped { from, to, segment },
        }
    }
}

impl From<QueueOp> for Op {
    fn from(op: QueueOp) -> Self {
        match op {
            QueueOp::Register => Self::Register,
            QueueOp::Heartbeat => Self::Heartbeat,
            QueueOp::Dequeue => Self::Dequeue,
            QueueOp::Reassign => Self::Reassign,
            QueueOp::Flush => Self::Flush,
            QueueOp::Complete => Self::Complete,
        }
    }
}

impl<'a> From<&'a sim::CallResult> for CallResult<'a> {
    fn from(result: &'a sim::CallResult) -> Self {
        use sim::CallResult as R;
        match result {
            R::Ok => Self::Ok,
            R::Empty { fault } => Self::Empty {
                fault: fault.map(Into::into),
            },
            R::Dequeued { attempt } => Self::Dequeued {
                attempt: Text(attempt),
            },
            R::TimedOut { attempts } => Self::TimedOut {
                attempts: Each::new(attempts),
            },
            R::NoLongerRunning => Self::NoLongerRunning,
            R::Failed { message, fault } => Self::Failed {
                message,
                fault: fault.map(Into::into),
            },
        }
    }
}

impl From<sim::FaultSource> for FaultSource {
    fn from(source: sim::FaultSource) -> Self {
        match source {
            sim::FaultSource::Script => Self::Script,
            sim::FaultSource::Random => Self::Random,
        }
    }
}

impl From<sim::LinkChange> for LinkChange {
    fn from(change: sim::LinkChange) -> Self {
        match change {
            sim::LinkChange::Partition => Self::Partition,
            sim::LinkChange::Repair => Self::Repair,
            sim::LinkChange::Hold => Self::Hold,
            sim::LinkChange::Release => Self::Release,
        }
    }
}
