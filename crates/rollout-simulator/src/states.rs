//! Coverage states: a finer map than the goals of where a run has been,
//! and when it first got there.
//!
//! Guided exploration needs to know when a run did something no run
//! before it did, and at which event, so that it can branch from there.
//! The eight goals are too coarse for that alone (most seeds reach none),
//! so a run also notes the [`CoverageState`]s it passes through: each goal,
//! how many poll failures preceded an attempt, which power-of-two band a
//! backoff delay fell in, which operation a fault was injected into, and
//! the rarer events (a worker failing, crashing, a late completion, a
//! dropped message). There are fewer than 64, so a run's set is one word
//! plus, for each state, the number of events recorded when it was first
//! reached: a branch point.

use rollout_core::QueueOp;

use super::coverage::Goal;
use super::trace::{CallResult, EventKind};

/// Counted bands: "15 or more" and "32 s or more" close them.
const BANDS: u8 = 16;

/// One coverage state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CoverageState {
    /// A coverage goal.
    Goal(Goal),
    /// An attempt started after this many failed polls in a row (15: 15 or
    /// more).
    AttemptAfterFailures(u8),
    /// A failed poll's backoff delay was in band `b`: 0 ms for band 0,
    /// else from 2^(b-1) ms to below 2^b ms (band 15: 16,384 ms or more).
    BackoffBand(u8),
    /// A fault was injected into a call of this operation.
    FaultInjected(QueueOp),
    /// A dequeue was answered "nothing waiting" by a fault.
    EmptyInjected,
    /// A worker's runner ended with an error.
    WorkerFailed,
    /// A timed fault crashed a worker.
    WorkerCrashed,
    /// The queue refused a completion: the attempt was no longer running.
    CompletionRefused,
    /// The network dropped a message.
    MessageDropped,
    /// An attempt finished with a failed execution.
    ExecutionFailed,
}

const OPS: [QueueOp; 6] = QueueOp::ALL;

const GOALS: u8 = Goal::ALL.len() as u8;
const AFTER: u8 = GOALS;
const BAND: u8 = AFTER + BANDS;
const FAULT: u8 = BAND + BANDS;
const REST: u8 = FAULT + OPS.len() as u8;

/// How many coverage states there are.
pub const COVERAGE_STATES: usize = REST as usize + 6;

// A run's states are one `u64`.
const _: () = assert!(COVERAGE_STATES <= 64);

impl CoverageState {
    /// Its position, below [`COVERAGE_STATES`].
    pub fn index(self) -> u8 {
        match self {
            CoverageState::Goal(g) => g as u8,
            CoverageState::AttemptAfterFailures(n) => AFTER + n.min(BANDS - 1),
            CoverageState::BackoffBand(b) => BAND + b.min(BANDS - 1),
            CoverageState::FaultInjected(op) => {
                FAULT + OPS.iter().position(|&o| o == op).unwrap_or(0) as u8
            }
            CoverageState::EmptyInjected => REST,
            CoverageState::WorkerFailed => REST + 1,
            CoverageState::WorkerCrashed => REST + 2,
            CoverageState::CompletionRefused => REST + 3,
            CoverageState::MessageDropped => REST + 4,
            CoverageState::ExecutionFailed => REST + 5,
        }
    }

    /// The state at position `index`.
    pub fn at(index: u8) -> Option<CoverageState> {
        Some(match index {
            i if i < GOALS => CoverageState::Goal(Goal::ALL[usize::from(i)]),
            i if i < BAND => CoverageState::AttemptAfterFailures(i - AFTER),
            i if i < FAULT => CoverageState::BackoffBand(i - BAND),
            i if i < REST => CoverageState::FaultInjected(OPS[usize::from(i - FAULT)]),
            i if i == REST => CoverageState::EmptyInjected,
            i if i == REST + 1 => CoverageState::WorkerFailed,
            i if i == REST + 2 => CoverageState::WorkerCrashed,
            i if i == REST + 3 => CoverageState::CompletionRefused,
            i if i == REST + 4 => CoverageState::MessageDropped,
            i if i == REST + 5 => CoverageState::ExecutionFailed,
            _ => return None,
        })
    }

    /// The band of a backoff delay of `ms`.
    pub fn band_of(ms: u64) -> u8 {
        (64 - ms.leading_zeros()).min(u32::from(BANDS - 1)) as u8
    }

    /// The state an event puts the run in, if any (goals are noted by the
    /// [`Coverage`](super::Coverage) observer, which keeps what they need).
    pub(crate) fn of(kind: &EventKind) -> Option<CoverageState> {
        Some(match kind {
            EventKind::AttemptStarted { failures, .. } => {
                CoverageState::AttemptAfterFailures(u8::try_from(*failures).unwrap_or(u8::MAX))
            }
            EventKind::PollFailed { delay_ms, .. } => {
                CoverageState::BackoffBand(CoverageState::band_of(*delay_ms))
            }
            EventKind::Call {
                op,
                result: CallResult::Failed { fault: Some(_), .. },
                ..
            } => CoverageState::FaultInjected(*op),
            EventKind::Call {
                result: CallResult::Empty { fault: Some(_) },
                ..
            } => CoverageState::EmptyInjected,
            EventKind::Call {
                result: CallResult::NoLongerRunning,
                ..
            } => CoverageState::CompletionRefused,
            EventKind::WorkerFailed { .. } => CoverageState::WorkerFailed,
            EventKind::WorkerCrashed => CoverageState::WorkerCrashed,
            EventKind::MessageDropped { .. } => CoverageState::MessageDropped,
            EventKind::AttemptFinished {
                status: rollout_core::AttemptStatus::Failed,
                ..
            } => CoverageState::ExecutionFailed,
            _ => return None,
        })
    }
}

impl std::fmt::Display for CoverageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoverageState::Goal(g) => write!(f, "goal {g}"),
            CoverageState::AttemptAfterFailures(n) if *n >= BANDS - 1 => {
                write!(f, "an attempt after {n} or more poll failures")
            }
            CoverageState::AttemptAfterFailures(1) => {
                f.write_str("an attempt after 1 poll failure")
            }
            CoverageState::AttemptAfterFailures(n) => {
                write!(f, "an attempt after {n} poll failures")
            }
            CoverageState::BackoffBand(0) => f.write_str("a backoff of 0 ms"),
            CoverageState::BackoffBand(b) if *b >= BANDS - 1 => {
                write!(f, "a backoff of {} ms or more", 1u64 << (b - 1))
            }
            CoverageState::BackoffBand(b) => {
                write!(f, "a backoff of {}-{} ms", 1u64 << (b - 1), (1u64 << b) - 1)
            }
            CoverageState::FaultInjected(op) => write!(f, "a fault injected into {op}"),
            CoverageState::EmptyInjected => f.write_str("an empty dequeue injected"),
            CoverageState::WorkerFailed => f.write_str("a worker failed"),
            CoverageState::WorkerCrashed => f.write_str("a worker crashed"),
            CoverageState::CompletionRefused => f.write_str("a completion refused"),
            CoverageState::MessageDropped => f.write_str("a message dropped"),
            CoverageState::ExecutionFailed => f.write_str("an execution failed"),
        }
    }
}

/// The coverage states one run reached, each with the number of events
/// recorded when it first did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatesReached {
    bits: u64,
    first: [u64; COVERAGE_STATES],
}

impl Default for StatesReached {
    fn default() -> Self {
        Self {
            bits: 0,
            first: [0; COVERAGE_STATES],
        }
    }
}

impl StatesReached {
    /// Notes `state`, reached once `events` events were recorded, unless it
    /// was reached before.
    pub fn note(&mut self, state: CoverageState, events: u64) {
        let i = state.index();
        let bit = 1u64 << i;
        if self.bits & bit == 0 {
            self.bits |= bit;
            self.first[usize::from(i)] = events;
        }
    }

    /// The states reached, one bit each by [`CoverageState::index`].
    pub fn bits(&self) -> u64 {
        self.bits
    }

    /// How many states were reached.
    pub fn count(&self) -> u32 {
        self.bits.count_ones()
    }

    /// The states reached that are not in `seen` (bits as
    /// [`StatesReached::bits`]), each with the events recorded when this
    /// run first reached it, by state.
    pub fn new_since(&self, seen: u64) -> impl Iterator<Item = (CoverageState, u64)> + '_ {
        let fresh = self.bits & !seen;
        (0..COVERAGE_STATES as u8)
            .filter(move |i| fresh & (1u64 << i) != 0)
            .filter_map(|i| Some((CoverageState::at(i)?, self.first[usize::from(i)])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_its_own_index_and_back() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..COVERAGE_STATES as u8 {
            let s = CoverageState::at(i).unwrap();
            assert_eq!(s.index(), i, "{s}");
            assert!(seen.insert(s.to_string()), "two states read {s}");
        }
        assert_eq!(CoverageState::at(COVERAGE_STATES as u8), None);
    }

    #[test]
    fn backoff_bands_are_powers_of_two() {
        assert_eq!(CoverageState::band_of(0), 0);
        assert_eq!(CoverageState::band_of(1), 1);
        assert_eq!(CoverageState::band_of(5), 3);
        assert_eq!(CoverageState::band_of(7), 3);
        assert_eq!(CoverageState::band_of(8), 4);
        assert_eq!(CoverageState::band_of(u64::MAX), 15);
        assert_eq!(
            CoverageState::BackoffBand(3).to_string(),
            "a backoff of 4-7 ms"
        );
    }

    #[test]
    fn a_state_keeps_its_first_event() {
        let mut r = StatesReached::default();
        r.note(CoverageState::WorkerFailed, 7);
        r.note(CoverageState::WorkerFailed, 9);
        r.note(CoverageState::AttemptAfterFailures(200), 3);
        assert_eq!(r.count(), 2);
        let fresh: Vec<_> = r.new_since(0).collect();
        assert_eq!(
            fresh,
            [
                (CoverageState::AttemptAfterFailures(15), 3),
                (CoverageState::WorkerFailed, 7)
            ]
        );
        let seen = 1u64 << CoverageState::WorkerFailed.index();
        assert_eq!(r.new_since(seen).count(), 1);
    }
}
