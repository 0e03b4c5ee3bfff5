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
//!
//! The trace streams. A run's [`TraceRecorder`] hands every event, as it is
//! recorded, to an [`EventObserver`] (the invariants' monitor), then either
//! keeps it (the default: for `--trace`, `--timeline`, determinism checks
//! and tests) or only encodes it. Kept or not, the hash is the same, byte
//! for byte.
//!
//! The canonical encoding of a trace is the number of its events, then the
//! events; a trace too long to hold at once is split in two so that it can
//! be hashed as it is written. The first [`SEGMENT_BYTES`] of events (about
//! 190,000) come after their own count, as the whole of a shorter trace
//! does; the rest follow, and the number of every event ends the encoding.
//! So a recorder buffers the first segment with room for its count in
//! front (known once the segment is full, or the run over), hashes it, and
//! from then on hands the hasher each 64 KiB chunk as it fills: a run of
//! millions of events holds 8 MiB of encoding, not its whole trace, and
//! pays the same per event early and late. The buffer is kept for the next
//! recording on the same thread, only for its capacity.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

use rollout_core::{AttemptId, AttemptStatus, QueueOp, RolloutId, WorkerId};

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
        /// `Succeeded` or `Failed`.
        status: AttemptStatus,
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
    /// The liveness phase began (`faults.heal_at`): from now on no fault
    /// fires. Only runs with a heal instant record it.
    Healed,
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

/// Receives an event's fields in canonical order (see [`TraceEvent::visit`]):
/// bytes, integers and strings (ids among them).
trait Sink {
    fn u8(&mut self, v: u8);
    fn u64(&mut self, v: u64);
    fn text(&mut self, s: &str);

    #[inline(always)]
    fn attempt(&mut self, a: &AttemptId) {
        self.text(a.rollout.as_str());
        self.u64(a.number.into());
    }
    #[inline(always)]
    fn opt_attempt(&mut self, a: &Option<AttemptId>) {
        match a {
            Some(a) => {
                self.u8(1);
                self.attempt(a);
            }
            None => self.u8(0),
        }
    }
    #[inline(always)]
    fn fault(&mut self, f: &Option<FaultSource>) {
        self.u8(match f {
            None => 0,
            Some(FaultSource::Script) => 1,
            Some(FaultSource::Random) => 2,
        });
    }
    /// A call's (or a served request's) result.
    #[inline(always)]
    fn result(&mut self, result: &CallResult) {
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
                self.text(message);
                self.fault(fault);
            }
        }
    }
}

/// The canonical encoding written into a growing buffer: strings are their
/// length (`u64`) then their bytes, integers little-endian.
impl Sink for Vec<u8> {
    #[inline(always)]
    fn u8(&mut self, v: u8) {
        self.push(v);
    }
    #[inline(always)]
    fn u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    #[inline(always)]
    fn text(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.extend_from_slice(s.as_bytes());
    }
}

/// Bytes of events in the first segment of the canonical encoding: a trace
/// whose events encode to fewer is its count and its events, as it always
/// was; a longer one is split after the event that reaches this (module
/// docs). Part of the format: changing it changes the hash of every trace
/// longer than it.
pub const SEGMENT_BYTES: usize = (8 << 20) - (64 << 10);

/// The canonical encoding of a trace, hashed as it is written (module
/// docs): the first segment gathers in `buf` behind eight bytes for its
/// count; once it is full it goes to the hasher, and later bytes go in
/// chunks of [`CHUNK`](Self::CHUNK) (XXH3 gives the same hash however the
/// input is split). A trace shorter than a segment is hashed in one call,
/// with no hasher state at all.
struct Canonical {
    buf: Vec<u8>,
    /// Events written so far.
    events: u64,
    /// Bytes of events the first segment holds ([`SEGMENT_BYTES`], less in
    /// tests).
    segment: usize,
    /// Set once the first segment went to it.
    hasher: Option<Box<Xxh3>>,
}

impl Canonical {
    const CHUNK: usize = 64 * 1024;

    /// An empty encoding in `buf` (emptied; its capacity is kept).
    fn new(mut buf: Vec<u8>, segment: usize) -> Self {
        buf.clear();
        buf.u64(0);
        Self {
            buf,
            events: 0,
            segment,
            hasher: None,
        }
    }

    /// Called after each event is written into `buf`: ends the first
    /// segment when it is full, then hands the hasher each full chunk.
    #[inline(always)]
    fn event_written(&mut self) {
        self.events += 1;
        // Before the split, `segment + 8` bytes end the first segment; after
        // it, a chunk's worth goes to the hasher.
        let full = match self.hasher {
            None => self.segment.saturating_add(8),
            Some(_) => Self::CHUNK,
        };
        if self.buf.len() >= full {
            self.hand_over();
        }
    }

    /// Ends the first segment (its count goes in front), or hands the
    /// hasher a full chunk.
    #[cold]
    #[inline(never)]
    fn hand_over(&mut self) {
        let hasher = match &mut self.hasher {
            Some(hasher) => hasher,
            None => {
                self.buf[..8].copy_from_slice(&self.events.to_le_bytes());
                self.hasher.insert(Box::new(Xxh3::new()))
            }
        };
        hasher.update(&self.buf);
        self.buf.clear();
    }

    /// The hash of everything written, and the buffer, to reuse.
    fn digest(mut self) -> (TraceHash, Vec<u8>) {
        let events = self.events.to_le_bytes();
        let hash = match self.hasher.take() {
            None => {
                self.buf[..8].copy_from_slice(&events);
                xxhash_rust::xxh3::xxh3_64(&self.buf)
            }
            Some(mut hasher) => {
                self.buf.extend_from_slice(&events);
                hasher.update(&self.buf);
                hasher.digest()
            }
        };
        (TraceHash(hash), self.buf)
    }
}

impl TraceEvent {
    /// Walks the event's fields in canonical order ([`visit`]).
    fn visit(&self, h: &mut impl Sink) {
        visit(self.at, self.worker.as_ref(), &self.kind, h);
    }
}

/// Walks an event's fields in canonical order. The one definition of an
/// event's encoding, for kept traces and streamed ones alike. Takes the
/// event in parts, so that a recorder that does not keep events need not
/// build one.
#[inline(always)]
fn visit(at: Duration, worker: Option<&WorkerId>, kind: &EventKind, h: &mut impl Sink) {
    h.u64(at.as_nanos() as u64);
    match worker {
        Some(w) => {
            h.u8(1);
            h.text(w.as_str());
        }
        None => h.u8(0),
    }
    match kind {
        EventKind::Enqueued { rollout } => {
            h.u8(1);
            h.text(rollout.as_str());
        }
        EventKind::WorkerStarted => h.u8(2),
        EventKind::WorkerCrashed => h.u8(3),
        EventKind::WorkerRestarted => h.u8(4),
        EventKind::WorkerFailed { message } => {
            h.u8(5);
            h.text(message);
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
            h.result(result);
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
            h.text(name);
            h.u64(value.to_bits());
        }
        EventKind::AttemptFinished {
            attempt,
            status,
            recorded,
        } => {
            h.u8(11);
            h.attempt(attempt);
            h.text(status.as_str());
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
            h.result(result);
        }
        EventKind::Link { change, a, b } => {
            h.u8(41);
            h.u8(*change as u8);
            h.text(a);
            h.text(b);
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
            h.text(from);
            h.text(to);
            h.text(segment);
        }
        EventKind::Healed => h.u8(45),
    }
}

/// Told of every event as it is recorded, before any [`TraceEvent`] is built
/// (the invariants' monitor checks a run as it goes, so that events need not
/// be kept).
pub trait EventObserver: fmt::Debug {
    /// One more event.
    fn observe(&mut self, at: Duration, worker: Option<&WorkerId>, kind: &EventKind);

    /// The observer, for the code that set it up to take it back when the
    /// recording ends ([`Recorded::observer`]).
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
}

/// Collects events during a run. Shared by the runners' observers, the fault
/// layer and the engine; single-threaded.
///
/// [`new`](Self::new) keeps every event; [`observed`](Self::observed)
/// feeds each one to an [`EventObserver`] and keeps events only when asked.
pub struct TraceRecorder {
    state: RefCell<Recording>,
}

/// The most a recorder's buffer grows to and is still kept for the next
/// recording: a first segment and a chunk.
const SPARE_CAPACITY: usize = SEGMENT_BYTES + 2 * Canonical::CHUNK;

/// The initial capacity of that buffer: a run of a few dozen events fits.
const BUFFER_START: usize = 2048;

thread_local! {
    /// The buffer of the last recording finished on this thread, emptied:
    /// the next recording writes into it instead of allocating (and, past a
    /// few hundred kilobytes, faulting in) one of its own. Only its
    /// capacity is reused, never its bytes, so no result depends on it.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// An empty buffer for a recording, [`SPARE`] if there is one.
fn spare_buffer() -> Vec<u8> {
    let mut buf = SPARE.try_with(Cell::take).unwrap_or_default();
    buf.clear();
    buf.reserve(BUFFER_START);
    buf
}

/// Keeps a finished recording's buffer for the next one on this thread,
/// unless an outsize event grew it past the usual bound.
fn recycle(buf: Vec<u8>) {
    if buf.capacity() <= SPARE_CAPACITY {
        // During thread teardown there is no next recording: drop it.
        let _ = SPARE.try_with(|spare| spare.set(buf));
    }
}

struct Recording {
    count: usize,
    keep: bool,
    events: Vec<TraceEvent>,
    /// When not keeping: the canonical encoding so far.
    canonical: Option<Canonical>,
    /// Bytes of events in the first segment ([`SEGMENT_BYTES`], less in
    /// tests).
    segment: usize,
    observer: Option<Box<dyn EventObserver>>,
}

impl Default for TraceRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TraceRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("TraceRecorder")
            .field("events", &state.count)
            .field("keep", &state.keep)
            .finish()
    }
}

/// What a finished recording holds.
#[derive(Debug)]
pub struct Recorded {
    /// The events, when they were kept; else empty.
    pub trace: Trace,
    /// The hash of every event recorded, kept or not.
    pub hash: TraceHash,
    /// How many events were recorded.
    pub events: usize,
    /// The observer that was fed every event.
    pub observer: Option<Box<dyn EventObserver>>,
}

impl TraceRecorder {
    /// An empty trace that keeps every event.
    pub fn new() -> Self {
        Self::with(true, None)
    }

    /// An empty trace whose every event goes to `observer`, and is kept
    /// only if `keep`.
    pub fn observed(keep: bool, observer: Box<dyn EventObserver>) -> Self {
        Self::with(keep, Some(observer))
    }

    fn with(keep: bool, observer: Option<Box<dyn EventObserver>>) -> Self {
        Self::with_segment(keep, observer, SEGMENT_BYTES)
    }

    fn with_segment(keep: bool, observer: Option<Box<dyn EventObserver>>, segment: usize) -> Self {
        Self {
            state: RefCell::new(Recording {
                count: 0,
                keep,
                events: Vec::new(),
                canonical: (!keep).then(|| Canonical::new(spare_buffer(), segment)),
                segment,
                observer,
            }),
        }
    }

    /// Appends an event.
    pub fn record(&self, at: Duration, worker: Option<&WorkerId>, kind: EventKind) {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        state.count += 1;
        if let Some(observer) = &mut state.observer {
            observer.observe(at, worker, &kind);
        }
        match &mut state.canonical {
            Some(canonical) => {
                visit(at, worker, &kind, &mut canonical.buf);
                canonical.event_written();
            }
            None => state.events.push(TraceEvent {
                at,
                worker: worker.cloned(),
                kind,
            }),
        }
    }

    /// How many events so far.
    pub(crate) fn len(&self) -> usize {
        self.state.borrow().count
    }

    /// Ends the recording: the events kept, the hash of all of them, their
    /// number and the observer. The recorder is left empty.
    pub fn finish(&self) -> Recorded {
        let mut state = self.state.borrow_mut();
        let trace = Trace {
            events: std::mem::take(&mut state.events),
        };
        let events = std::mem::take(&mut state.count);
        let hash = if state.keep {
            trace.hash_split_at(state.segment)
        } else {
            let segment = state.segment;
            let canonical = state
                .canonical
                .take()
                .unwrap_or_else(|| Canonical::new(Vec::new(), segment));
            let (hash, buf) = canonical.digest();
            recycle(buf);
            hash
        };
        Recorded {
            trace,
            hash,
            events,
            observer: state.observer.take(),
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
        self.hash_split_at(SEGMENT_BYTES)
    }

    /// The hash with the first segment `segment` bytes of events long
    /// (tests try small ones; the format is [`SEGMENT_BYTES`]).
    fn hash_split_at(&self, segment: usize) -> TraceHash {
        let capacity =
            (self.events.len() * 40).min(segment.saturating_add(Canonical::CHUNK)) + 1024;
        let mut canonical = Canonical::new(Vec::with_capacity(capacity), segment);
        for event in &self.events {
            event.visit(&mut canonical.buf);
            canonical.event_written();
        }
        canonical.digest().0
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

    /// One event of every kind, and every kind of field value.
    fn every_kind() -> Vec<TraceEvent> {
        let a = |r: &str, n| AttemptId::new(RolloutId::new(r), n);
        let failed = |fault| CallResult::Failed {
            message: "unavailable".into(),
            fault,
        };
        let mut kinds = vec![
            EventKind::Enqueued {
                rollout: RolloutId::new("r1"),
            },
            EventKind::WorkerStarted,
            EventKind::WorkerCrashed,
            EventKind::WorkerRestarted,
            EventKind::WorkerFailed {
                message: "heartbeat failed: boom".into(),
            },
            // Longer than the canonical encoder's buffer.
            EventKind::WorkerFailed {
                message: "y".repeat(10_000),
            },
            EventKind::HeartbeatTick,
            EventKind::PollTick,
            EventKind::AttemptStarted {
                attempt: a("r1", 1),
                failures: 3,
                backoff_ms: 35,
            },
            EventKind::Reward {
                attempt: a("r1", 1),
                name: "exact_match".into(),
                value: 0.1 + 0.2,
            },
            EventKind::Reward {
                attempt: a("r1", 1),
                name: "neg".into(),
                value: -1e300,
            },
            EventKind::AttemptFinished {
                attempt: a("r1", 1),
                status: AttemptStatus::Succeeded,
                recorded: true,
            },
            EventKind::ExecutionHeartbeatFailed {
                attempt: a("r1", 70_000),
            },
            EventKind::PollProcessed,
            EventKind::PollEmpty,
            EventKind::PollFailed {
                failures: 31,
                delay_ms: u64::MAX,
                backoff_ms: 30,
            },
            EventKind::BackoffEnded { delay_ms: 1 << 40 },
            EventKind::QueueBounced,
            EventKind::Healed,
            EventKind::Latency { fixed_ms: Some(30) },
            EventKind::Latency { fixed_ms: None },
            EventKind::Link {
                change: LinkChange::Hold,
                a: "queue".into(),
                b: "worker-2".into(),
            },
            EventKind::MessageDropped {
                from: "queue".into(),
                to: "worker-1".into(),
                segment: "syn",
            },
        ];
        for op in [QueueOp::Dequeue, QueueOp::Heartbeat, QueueOp::Complete] {
            for result in [
                CallResult::Ok,
                CallResult::Empty { fault: None },
                CallResult::Empty {
                    fault: Some(FaultSource::Script),
                },
                CallResult::Dequeued {
                    attempt: a("r2", 2),
                },
                CallResult::TimedOut {
                    attempts: vec![a("r1", 1), a("r3", 9)],
                },
                CallResult::NoLongerRunning,
                failed(None),
                failed(Some(FaultSource::Random)),
            ] {
                for attempt in [None, Some(a("r4", 1))] {
                    kinds.push(EventKind::Call {
                        op,
                        attempt: attempt.clone(),
                        result: result.clone(),
                    });
                    kinds.push(EventKind::Served {
                        op,
                        attempt,
                        result: result.clone(),
                    });
                }
            }
        }
        // More rollouts and texts than the log has slots, coming back.
        for i in 0..100u32 {
            kinds.push(EventKind::Enqueued {
                rollout: RolloutId::new(format!("gen-{:03}", i % 40)),
            });
            kinds.push(EventKind::WorkerFailed {
                message: "x".repeat(i as usize % 37),
            });
        }
        let workers = [None, Some("worker-1"), Some("worker-2"), Some("")];
        // Times that stay, step whole milliseconds, step less, and go back.
        let times = [0u64, 0, 5_000_000, 5_000_001, 4_000_000, 1 << 50, 7];
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| TraceEvent {
                at: Duration::from_nanos(times[i % times.len()] + (i as u64 / 7) * 1_000_000),
                worker: workers[i % workers.len()].map(WorkerId::new),
                kind,
            })
            .collect()
    }

    #[test]
    fn a_streamed_recording_hashes_as_the_kept_trace() {
        let events = every_kind();
        for n in [0, 1, 2, 30, events.len()] {
            let kept = TraceRecorder::new();
            let streamed = TraceRecorder::with(false, None);
            for e in &events[..n] {
                kept.record(e.at, e.worker.as_ref(), e.kind.clone());
                streamed.record(e.at, e.worker.as_ref(), e.kind.clone());
            }
            let (kept, streamed) = (kept.finish(), streamed.finish());
            let trace = Trace {
                events: events[..n].to_vec(),
            };
            assert_eq!(kept.trace, trace);
            assert_eq!(kept.hash, trace.hash(), "{n} events");
            assert_eq!(streamed.hash, trace.hash(), "{n} events");
            assert_eq!((kept.events, streamed.events), (n, n));
            assert!(streamed.trace.events.is_empty());
        }
    }

    #[test]
    fn kept_and_streamed_agree_wherever_the_first_segment_ends() {
        let events = every_kind();
        let trace = Trace {
            events: events.clone(),
        };
        let size = {
            let mut canonical = Vec::new();
            events.iter().for_each(|e| e.visit(&mut canonical));
            canonical.len()
        };
        let unsplit = trace.hash();
        // After the first event, after a few, mid-way, at the last, never.
        for segment in [
            0,
            1,
            100,
            1000,
            size / 2,
            size - 1,
            size,
            size + 1,
            usize::MAX,
        ] {
            let streamed = TraceRecorder::with_segment(false, None, segment);
            let kept = TraceRecorder::with_segment(true, None, segment);
            for e in &events {
                streamed.record(e.at, e.worker.as_ref(), e.kind.clone());
                kept.record(e.at, e.worker.as_ref(), e.kind.clone());
            }
            let split = trace.hash_split_at(segment);
            assert_eq!(streamed.finish().hash, split, "segment {segment}");
            assert_eq!(kept.finish().hash, split, "segment {segment}");
            // A trace shorter than its first segment is encoded as it
            // always was; a longer one ends with its count instead.
            assert_eq!(split == unsplit, segment > size, "segment {segment}");
        }
        // A shorter recording after those, in the buffer they leave.
        let streamed = TraceRecorder::with(false, None);
        for e in &events[..3] {
            streamed.record(e.at, e.worker.as_ref(), e.kind.clone());
        }
        let first = Trace {
            events: events[..3].to_vec(),
        };
        assert_eq!(streamed.finish().hash, first.hash());
    }

    #[test]
    fn a_run_past_the_first_segment_streams_as_kept_and_holds_a_segment() {
        let streamed = TraceRecorder::with(false, None);
        let mut events = Vec::new();
        let mut i = 0u64;
        // Until a chunk past the first segment.
        while streamed
            .state
            .borrow()
            .canonical
            .as_ref()
            .unwrap()
            .hasher
            .is_none()
            || i % 5000 != 0
        {
            let e = event(i, EventKind::BackoffEnded { delay_ms: i });
            streamed.record(e.at, e.worker.as_ref(), e.kind.clone());
            events.push(e);
            i += 1;
        }
        let held = streamed
            .state
            .borrow()
            .canonical
            .as_ref()
            .unwrap()
            .buf
            .len();
        assert!(held <= Canonical::CHUNK, "{held} bytes held past the split");
        let trace = Trace { events };
        assert_eq!(streamed.finish().hash, trace.hash());
        assert_ne!(trace.hash(), trace.hash_split_at(usize::MAX));
    }

    #[test]
    fn a_split_encoding_is_its_first_count_first_segment_rest_and_count() {
        let events: Vec<TraceEvent> = (0..5)
            .map(|i| event(i, EventKind::BackoffEnded { delay_ms: i }))
            .collect();
        let trace = Trace {
            events: events.clone(),
        };
        let one = {
            let mut e = Vec::new();
            events[0].visit(&mut e);
            e.len()
        };
        // Every event encodes alike: a segment of two events' bytes holds two.
        let mut expected = Vec::new();
        expected.u64(2);
        events[..2].iter().for_each(|e| e.visit(&mut expected));
        events[2..].iter().for_each(|e| e.visit(&mut expected));
        expected.u64(5);
        assert_eq!(
            trace.hash_split_at(2 * one),
            TraceHash(xxhash_rust::xxh3::xxh3_64(&expected))
        );
        let mut whole = Vec::new();
        whole.u64(5);
        events.iter().for_each(|e| e.visit(&mut whole));
        assert_eq!(trace.hash(), TraceHash(xxhash_rust::xxh3::xxh3_64(&whole)));
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
        // And a trace longer than its first segment (module docs).
        assert_eq!(t.hash_split_at(1).to_string(), "56e7e6f2269b34f3");
    }
}
