//! The queue the runner polls, as a trait, and the reference in-memory store.
//!
//! A [`Queue`] is everything the runner asks of the outside world: register a
//! worker, heartbeat, dequeue a rollout (opening an attempt), requeue stale
//! attempts, persist spans and complete an attempt. Every method is async and
//! fallible, because in production the queue is across a network: any
//! [`QueueError`] on the poll path is a *poll failure* that the runner backs
//! off from and counts.
//!
//! [`MemoryQueue`] is the reference store's behaviour in memory (see
//! [`model`] for the statuses). The simulator wraps it to inject faults; an
//! embedder can wrap it too, or implement [`Queue`] over a real service.

mod index;
mod memory;
pub(crate) mod model;

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

pub use memory::{MemoryQueue, QueueSnapshot, ReassignmentPolicy};
pub use model::{
    AttemptId, AttemptOutcome, AttemptRecord, AttemptStatus, Completion, Dequeued, Rollout,
    RolloutId, RolloutRecord, RolloutStatus, WorkerId,
};

use crate::telemetry::Span;

/// The operations of a [`Queue`], named as in fault scripts and traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueOp {
    /// [`Queue::register_worker`].
    Register,
    /// [`Queue::heartbeat`], with or without an attempt.
    Heartbeat,
    /// [`Queue::dequeue`].
    Dequeue,
    /// [`Queue::requeue_stale`].
    Reassign,
    /// [`Queue::add_spans`]: span persistence.
    Flush,
    /// [`Queue::complete_attempt`].
    Complete,
}

impl QueueOp {
    /// Every operation, in declaration order.
    pub const ALL: [QueueOp; 6] = [
        QueueOp::Register,
        QueueOp::Heartbeat,
        QueueOp::Dequeue,
        QueueOp::Reassign,
        QueueOp::Flush,
        QueueOp::Complete,
    ];

    /// The name used in scenario files and traces.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Heartbeat => "heartbeat",
            Self::Dequeue => "dequeue",
            Self::Reassign => "reassign",
            Self::Flush => "flush",
            Self::Complete => "complete",
        }
    }
}

impl std::fmt::Display for QueueOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a queue call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueError {
    /// A transient failure (network, overload, injected fault): retrying may work.
    Transient {
        /// The operation that failed.
        op: QueueOp,
        /// What went wrong.
        message: String,
    },
    /// The call named something the queue does not know.
    Unknown {
        /// The operation.
        op: QueueOp,
        /// `worker`, `rollout` or `attempt`.
        what: &'static str,
        /// The id given.
        id: String,
    },
    /// The call would break the status model.
    Invalid {
        /// The operation.
        op: QueueOp,
        /// What rule it broke.
        message: String,
    },
}

impl std::fmt::Display for QueueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient { op, message } => write!(f, "{op} failed: {message}"),
            Self::Unknown { op, what, id } => write!(f, "{op}: unknown {what} `{id}`"),
            Self::Invalid { op, message } => write!(f, "{op}: {message}"),
        }
    }
}

impl std::error::Error for QueueError {}

impl QueueError {
    /// The operation that failed.
    pub fn op(&self) -> QueueOp {
        match self {
            Self::Transient { op, .. } | Self::Unknown { op, .. } | Self::Invalid { op, .. } => *op,
        }
    }
}

/// What the runner needs from a rollout queue.
///
/// Methods take `&self`: a queue is shared by the workers of a process (or is
/// a client handle to a remote one) and uses interior mutability.
pub trait Queue {
    /// Announces a worker. Called once when a runner starts.
    fn register_worker(&self, worker: &WorkerId) -> impl Future<Output = Result<(), QueueError>>;

    /// Records that `worker` is alive, and that it is still running
    /// `attempt` if given. A heartbeat without an attempt says the worker is
    /// idle.
    fn heartbeat(
        &self,
        worker: &WorkerId,
        attempt: Option<&AttemptId>,
    ) -> impl Future<Output = Result<(), QueueError>>;

    /// Takes the next rollout, opening a running attempt assigned to
    /// `worker`; `None` when nothing is waiting.
    fn dequeue(
        &self,
        worker: &WorkerId,
    ) -> impl Future<Output = Result<Option<Dequeued>, QueueError>>;

    /// Times out running attempts whose last heartbeat is older than
    /// `timeout` (strictly), requeuing their rollouts. Returns the attempts
    /// timed out.
    fn requeue_stale(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<AttemptId>, QueueError>>;

    /// Persists spans.
    fn add_spans(&self, spans: Vec<Span>) -> impl Future<Output = Result<(), QueueError>>;

    /// Records how a running attempt ended, and its rollout with it.
    fn complete_attempt(
        &self,
        attempt: &AttemptId,
        outcome: AttemptOutcome,
    ) -> impl Future<Output = Result<Completion, QueueError>>;
}

macro_rules! forward_queue {
    ($($ptr:ty),*) => {$(
        impl<Q: Queue + ?Sized> Queue for $ptr {
            fn register_worker(&self, worker: &WorkerId) -> impl Future<Output = Result<(), QueueError>> {
                (**self).register_worker(worker)
            }
            fn heartbeat(&self, worker: &WorkerId, attempt: Option<&AttemptId>) -> impl Future<Output = Result<(), QueueError>> {
                (**self).heartbeat(worker, attempt)
            }
            fn dequeue(&self, worker: &WorkerId) -> impl Future<Output = Result<Option<Dequeued>, QueueError>> {
                (**self).dequeue(worker)
            }
            fn requeue_stale(&self, timeout: Duration) -> impl Future<Output = Result<Vec<AttemptId>, QueueError>> {
                (**self).requeue_stale(timeout)
            }
            fn add_spans(&self, spans: Vec<Span>) -> impl Future<Output = Result<(), QueueError>> {
                (**self).add_spans(spans)
            }
            fn complete_attempt(&self, attempt: &AttemptId, outcome: AttemptOutcome) -> impl Future<Output = Result<Completion, QueueError>> {
                (**self).complete_attempt(attempt, outcome)
            }
        }
    )*};
}

forward_queue!(&Q, Rc<Q>, std::sync::Arc<Q>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_as_in_fault_scripts() {
        let ops = QueueOp::ALL;
        assert_eq!(
            ops.map(|op| op.to_string()),
            [
                "register",
                "heartbeat",
                "dequeue",
                "reassign",
                "flush",
                "complete"
            ]
        );
        assert_eq!(ops.map(QueueOp::as_str), ops.map(|op| op.to_string()));
    }

    #[test]
    fn errors_name_their_operation() {
        let errors = [
            QueueError::Transient {
                op: QueueOp::Flush,
                message: "injected".into(),
            },
            QueueError::Unknown {
                op: QueueOp::Heartbeat,
                what: "worker",
                id: "w9".into(),
            },
            QueueError::Invalid {
                op: QueueOp::Complete,
                message: "no".into(),
            },
        ];
        assert_eq!(
            errors.each_ref().map(|e| e.to_string()),
            [
                "flush failed: injected",
                "heartbeat: unknown worker `w9`",
                "complete: no"
            ]
        );
        assert_eq!(
            errors.each_ref().map(QueueError::op),
            [QueueOp::Flush, QueueOp::Heartbeat, QueueOp::Complete]
        );
    }
}
