//! The event trace: everything that happened in a run, in order, and its hash.
//!
//! Each event has the virtual time it happened at, the worker it concerns (if
//! any) and what happened. The trace is the ground truth for invariants, the
//! timeline and determinism checks: two runs of the same scenario and seed
//! must produce the same events, so the same [`TraceHash`].
//!
//! The hash is XXH3-64 over a canonical byte encoding written by hand (no
//! serde, no floats: reward values enter as their IEEE-754 bit patterns), so
//! it is the same across processes, machines and versions of dependencies.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

use crate::core::queue::{AttemptId, QueueOp, RolloutId, WorkerId};

/// Where an injected fault came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultSource {
    /// A `faults.<op>` script step.
    Script,
    /// The seeded overlay, `faults.random`.
    Random,
}

/// The result of a queue call, as the trace records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CallResult {
    /// It succeeded.
    Ok,
    /// A dequeue found nothing (`fault` set when a script said `empty`).
    Empty {
        /// Set when injected.
        #[serde(skip_serializing_if = "Option::is_none")]
        fault: Option<FaultSource>,
    },
    /// A dequeue opened this attempt.
    Dequeued {
        /// The attempt.
        attempt: AttemptId,
    },
    /// A reassignment timed out these attempts (omitted when none did).
    TimedOut {
        /// The attempts.
        attempts: Vec<AttemptId>,
    },
    /// A completion found the attempt no longer running.
    NoLongerRunning,
    /// It failed.
    Failed {
        /// The error message.
        message: String,
        /// Set when the failure was injected.
        #[serde(skip_serializing_if = "Option::is_none")]
        fault: Option<FaultSource>,
    },
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A rollout entered the queue.
    Enqueued {
        /// The rollout.
        rollout: RolloutId,
    },
    /// A worker's runner started (registered).
    WorkerStarted,
    /// A worker was crashed by a timed fault: its task was dropped.
    WorkerCrashed,
    /// A crashed worker was started again.
    WorkerRestarted,
    /// A worker's loop ended with an error.
    WorkerFailed {
        /// The error.
        message: String,
    },
    /// The heartbeat tick fired.
    HeartbeatTick,
    /// The poll tick fired.
    PollTick,
    /// A queue call and its result.
    Call {
        /// The operation.
        op: QueueOp,
        /// The attempt named by a heartbeat or completion.
        #[serde(skip_serializing_if = "Option::is_none")]
        attempt: Option<AttemptId>,
        /// What it returned.
        #[serde(flatten)]
        result: CallResult,
    },
    /// A poll dequeued an attempt, recovering from `failures` failures.
    AttemptStarted {
        /// The attempt.
        attempt: AttemptId,
        /// Poll failures before this poll.
        failures: u32,
        /// Backoff slept over them, in ms.
        backoff_ms: u64,
    },
    /// A reward span was emitted.
    Reward {
        /// The attempt.
        attempt: AttemptId,
        /// The reward name.
        name: String,
        /// The value.
        value: f64,
    },
    /// An attempt was completed by its worker.
    AttemptFinished {
        /// The attempt.
        attempt: AttemptId,
        /// `succeeded` or `failed`.
        status: &'static str,
        /// False when the attempt had already timed out.
        recorded: bool,
    },
    /// A heartbeat during execution failed.
    ExecutionHeartbeatFailed {
        /// The attempt.
        attempt: AttemptId,
    },
    /// A poll that processed a rollout ended cleanly.
    PollProcessed,
    /// A poll found the queue empty.
    PollEmpty,
    /// A poll failed; backoff starts.
    PollFailed {
        /// Consecutive failures, this one included.
        failures: u32,
        /// The delay about to be slept, in ms.
        delay_ms: u64,
        /// Backoff so far, this delay included, in ms.
        backoff_ms: u64,
    },
    /// A backoff sleep ended.
    BackoffEnded {
        /// Its length, in ms.
        delay_ms: u64,
    },
    /// The queue host served a request (turmoil engine), on the queue's
    /// clock; the worker is the one that sent it. Whether the worker got the
    /// reply is its own `call` event.
    Served {
        /// The operation.
        op: QueueOp,
        /// The attempt named by a heartbeat, flush or completion.
        #[serde(skip_serializing_if = "Option::is_none")]
        attempt: Option<AttemptId>,
        /// What the queue answered.
        #[serde(flatten)]
        result: CallResult,
    },
    /// A timed fault changed the link between two hosts (turmoil engine).
    Link {
        /// What changed.
        change: LinkChange,
        /// One host: `queue` or a worker id.
        a: String,
        /// The other host.
        b: String,
    },
    /// The queue host's software was restarted (turmoil engine): its
    /// connections are gone, its store is kept.
    QueueBounced,
    /// A timed fault set every link's latency (turmoil engine).
    Latency {
        /// The fixed latency of every message from now on, in ms; absent
        /// when `faults.network.latency` came back.
        #[serde(skip_serializing_if = "Option::is_none")]
        fixed_ms: Option<u64>,
    },
    /// The network dropped a segment (turmoil engine): a partitioned link,
    /// or a loss draw (which also discards what was in flight on the link).
    MessageDropped {
        /// The sending host: `queue` or a worker id.
        from: String,
        /// The addressee.
        to: String,
        /// `syn`, `data`, `fin` or `rst`.
        segment: &'static str,
    },
}

/// How a timed fault changed a link (turmoil engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkChange {
    /// Messages are dropped.
    Partition,
    /// A partition ended.
    Repair,
    /// Messages are held.
    Hold,
    /// Held messages are delivered and the link healed.
    Release,
}

/// One entry of the trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceEvent {
    /// Virtual time, in microseconds.
    #[serde(rename = "t_us", serialize_with = "serialize_micros")]
    pub at: Duration,
    /// The worker concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<WorkerId>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

fn serialize_micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros() as u64)
}

/// The hash of a whole trace, printed as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TraceHash(pub u64);

impl fmt::Display for TraceHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for TraceHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

struct Canonical<'a>(&'a mut Xxh3);

impl Canonical<'_> {
    fn u8(&mut self, v: u8) {
        self.0.update(&[v]);
    }
    fn u64(&mut self, v: u64) {
        self.0.update(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.update(s.as_bytes());
    }
    fn attempt(&mut self, a: &AttemptId) {
        self.str(a.rollout.as_str());
        self.u64(a.number.into());
    }
    fn opt_attempt(&mut self, a: &Option<AttemptId>) {
        match a {
            Some(a) => {
                self.u8(1);
                self.attempt(a);
            }
            None => self.u8(0),
        }
    }
    fn fault(&mut self, f: &Option<FaultSource>) {
        self.u8(match f {
            None => 0,
            Some(FaultSource::Script) => 1,
            Some(FaultSource::Random) => 2,
        });
    }
}

impl TraceEvent {
    fn feed(&self, h: &mut Canonical<'_>) {
        h.u64(self.at.as_nanos() as u64);
        match &self.worker {
            Some(w) => {
                h.u8(1);
                h.str(w.as_str());
            }
            None => h.u8(0),
        }
        match &self.kind {
            EventKind::Enqueued { rollout } => {
                h.u8(1);
                h.str(rollout.as_str());
            }
            EventKind::WorkerStarted => h.u8(2),
            EventKind::WorkerCrashed => h.u8(3),
            EventKind::WorkerRestarted => h.u8(4),
            EventKind::WorkerFailed { message } => {
                h.u8(5);
                h.str(message);
            }
            EventKind::HeartbeatTick => h.u8(6),
            EventKind::PollTick => h.u8(7),
            EventKind::Call {
                op,
                attempt,
                result,
            } => {
                h.u8(8);
                h.u8(*op as u8);
                h.opt_attempt(attempt);
                match result {
                    CallResult::Ok => h.u8(1),
                    CallResult::Empty { fault } => {
                        h.u8(2);
                        h.fault(fault);
                    }
                    CallResult::Dequeued { attempt } => {
                        h.u8(3);
                        h.attempt(attempt);
                    }
                    CallResult::TimedOut { attempts } => {
                        h.u8(4);
                        h.u64(attempts.len() as u64);
                        attempts.iter().for_each(|a| h.attempt(a));
                    }
                    CallResult::NoLongerRunning => h.u8(5),
                    CallResult::Failed { message, fault } => {
                        h.u8(6);
                        h.str(message);
                        h.fault(fault);
                    }
                }
            }
            EventKind::AttemptStarted {
                attempt,
                failures,
                backoff_ms,
            } => {
                h.u8(9);
                h.attempt(attempt);
                h.u64((*failures).into());
                h.u64(*backoff_ms);
            }
            EventKind::Reward {
                attempt,
                name,
                value,
            } => {
                h.u8(10);
                h.attempt(attempt);
                h.str(name);
                h.u64(value.to_bits());
            }
            EventKind::AttemptFinished {
                attempt,
                status,
                recorded,
            } => {
                h.u8(11);
                h.attempt(attempt);
                h.str(status);
                h.u8(*recorded as u8);
            }
            EventKind::ExecutionHeartbeatFailed { attempt } => {
                h.u8(12);
                h.attempt(attempt);
            }
            EventKind::PollProcessed => h.u8(13),
            EventKind::PollEmpty => h.u8(14),
            EventKind::PollFailed {
                failures,
                delay_ms,
                backoff_ms,
            } => {
                h.u8(15);
                h.u64((*failures).into());
                h.u64(*delay_ms);
                h.u64(*backoff_ms);
            }
            EventKind::BackoffEnded { delay_ms } => {
                h.u8(16);
                h.u64(*delay_ms);
            }
            // The turmoil engine's events take tags from 40, clear of the others.
            EventKind::Served {
                op,
                attempt,
                result,
            } => {
                h.u8(40);
                h.u8(*op as u8);
                h.opt_attempt(attempt);
                h.served_result(result);
            }
            EventKind::Link { change, a, b } => {
                h.u8(41);
                h.u8(*change as u8);
                h.str(a);
                h.str(b);
            }
            EventKind::QueueBounced => h.u8(42),
            EventKind::Latency { fixed_ms } => {
                h.u8(44);
                match fixed_ms {
                    Some(ms) => {
                        h.u8(1);
                        h.u64(*ms);
                    }
                    None => h.u8(0),
                }
            }
            EventKind::MessageDropped { from, to, segment } => {
                h.u8(43);
                h.str(from);
                h.str(to);
                h.str(segment);
            }
        }
    }
}

impl Canonical<'_> {
    /// A served request's result, tagged as a call's result is.
    fn served_result(&mut self, result: &CallResult) {
        match result {
            CallResult::Ok => self.u8(1),
            CallResult::Empty { fault } => {
                self.u8(2);
                self.fault(fault);
            }
            CallResult::Dequeued { attempt } => {
                self.u8(3);
                self.attempt(attempt);
            }
            CallResult::TimedOut { attempts } => {
                self.u8(4);
                self.u64(attempts.len() as u64);
                attempts.iter().for_each(|a| self.attempt(a));
            }
            CallResult::NoLongerRunning => self.u8(5),
            CallResult::Failed { message, fault } => {
                self.u8(6);
                self.str(message);
                self.fault(fault);
            }
        }
    }
}

/// Collects events during a run. Shared by the runners' observers, the fault
/// layer and the engine; single-threaded.
#[derive(Debug, Default)]
pub struct TraceRecorder {
    events: RefCell<Vec<TraceEvent>>,
}

impl TraceRecorder {
    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an event.
    pub fn record(&self, at: Duration, worker: Option<&WorkerId>, kind: EventKind) {
        self.events.borrow_mut().push(TraceEvent {
            at,
            worker: worker.cloned(),
            kind,
        });
    }

    /// How many events so far.
    pub fn len(&self) -> usize {
        self.events.borrow().len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the events recorded so far, leaving the recorder empty.
    pub fn take(&self) -> Trace {
        Trace {
            events: std::mem::take(&mut *self.events.borrow_mut()),
        }
    }
}

/// A finished trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// The events, in the order they happened.
    pub events: Vec<TraceEvent>,
}

impl Trace {
    /// The hash of every event, in order.
    pub fn hash(&self) -> TraceHash {
        let mut hasher = Xxh3::new();
        let mut canonical = Canonical(&mut hasher);
        canonical.u64(self.events.len() as u64);
        for event in &self.events {
            event.feed(&mut canonical);
        }
        TraceHash(hasher.digest())
    }

    /// The index of the first event where two traces differ, if they do.
    pub fn first_divergence(&self, other: &Trace) -> Option<usize> {
        let common = self.events.len().min(other.events.len());
        (0..common)
            .find(|&i| self.events[i] != other.events[i])
            .or((self.events.len() != other.events.len()).then_some(common))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ms: u64, kind: EventKind) -> TraceEvent {
        TraceEvent {
            at: Duration::from_millis(ms),
            worker: Some(WorkerId::new("worker-1")),
            kind,
        }
    }

    #[test]
    fn hash_sees_every_field() {
        let a = Trace {
            events: vec![event(5, EventKind::BackoffEnded { delay_ms: 5 })],
        };
        let b = Trace {
            events: vec![event(5, EventKind::BackoffEnded { delay_ms: 6 })],
        };
        let c = Trace {
            events: vec![event(6, EventKind::BackoffEnded { delay_ms: 5 })],
        };
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
        assert_eq!(a.hash(), a.clone().hash());
        assert_eq!(a.first_divergence(&b), Some(0));
        assert_eq!(a.first_divergence(&a), None);
        assert_eq!(a.first_divergence(&Trace::default()), Some(0));
    }

    #[test]
    fn hash_is_stable_across_releases() {
        // Pinned: a change here changes every committed trace hash.
        let t = Trace {
            events: vec![
                event(0, EventKind::PollTick),
                event(0, EventKind::PollEmpty),
            ],
        };
        assert_eq!(t.hash().to_string(), "0d1bb2d846a5ae57");
    }
}
