//! The queue protocol: one JSON object per line, request then reply, over a
//! TCP connection to the queue host.
//!
//! A client sends one [`Request`] line and reads one [`Reply`] line before it
//! sends the next request on that connection. Every request names the worker
//! that sends it (the server records who asked). Ids travel as their text
//! forms (`r1`, `r1:attempt-2`), durations as whole nanoseconds, span
//! attributes and rollout inputs as JSON values (floats round-trip exactly).
//!
//! ```text
//! -> {"op":"register","worker":"worker-1"}
//! <- {"reply":"ok"}
//! -> {"op":"heartbeat","worker":"worker-1","attempt":"r1:attempt-1"}
//! <- {"reply":"ok"}
//! -> {"op":"dequeue","worker":"worker-1"}
//! <- {"reply":"dequeued","rollout":{"id":"r1","input":{"prompt":"2+2"}},"attempt":"r1:attempt-1"}
//! <- {"reply":"empty"}
//! -> {"op":"reassign","worker":"worker-1","timeout_ns":120000000}
//! <- {"reply":"timed_out","attempts":["r1:attempt-1"]}
//! -> {"op":"flush","worker":"worker-1","spans":[{...}]}
//! <- {"reply":"ok"}
//! -> {"op":"complete","worker":"worker-1","attempt":"r1:attempt-1","outcome":{"status":"succeeded"}}
//! <- {"reply":"completed","completion":"recorded"}        (or "no_longer_running")
//! <- {"reply":"error","kind":"unknown","what":"worker","id":"worker-9"}
//! <- {"reply":"error","kind":"invalid","message":"..."}   (or "transient")
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use rollout_core::Span;
use rollout_core::{
    AttemptId, AttemptOutcome, Completion, Dequeued, QueueError, QueueOp, Rollout, RolloutId,
    WorkerId,
};

/// The TCP port the queue host listens on.
pub const QUEUE_PORT: u16 = 7000;

/// The longest line either side accepts, in bytes.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// A request line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// [`Queue::register_worker`](rollout_core::Queue::register_worker).
    Register {
        /// The sender.
        worker: String,
    },
    /// [`Queue::heartbeat`](rollout_core::Queue::heartbeat).
    Heartbeat {
        /// The sender.
        worker: String,
        /// The attempt it is running, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<String>,
    },
    /// [`Queue::dequeue`](rollout_core::Queue::dequeue).
    Dequeue {
        /// The sender.
        worker: String,
    },
    /// [`Queue::requeue_stale`](rollout_core::Queue::requeue_stale).
    Reassign {
        /// The sender.
        worker: String,
        /// The worker timeout, in nanoseconds.
        timeout_ns: u64,
    },
    /// [`Queue::add_spans`](rollout_core::Queue::add_spans).
    Flush {
        /// The sender.
        worker: String,
        /// The spans to persist.
        spans: Vec<WireSpan>,
    },
    /// [`Queue::complete_attempt`](rollout_core::Queue::complete_attempt).
    Complete {
        /// The sender.
        worker: String,
        /// The attempt.
        attempt: String,
        /// How it ended.
        outcome: WireOutcome,
    },
}

impl Request {
    /// The operation this request performs.
    pub fn op(&self) -> QueueOp {
        match self {
            Self::Register { .. } => QueueOp::Register,
            Self::Heartbeat { .. } => QueueOp::Heartbeat,
            Self::Dequeue { .. } => QueueOp::Dequeue,
            Self::Reassign { .. } => QueueOp::Reassign,
            Self::Flush { .. } => QueueOp::Flush,
            Self::Complete { .. } => QueueOp::Complete,
        }
    }

    /// The worker that sent it.
    pub fn worker(&self) -> WorkerId {
        match self {
            Self::Register { worker }
            | Self::Heartbeat { worker, .. }
            | Self::Dequeue { worker }
            | Self::Reassign { worker, .. }
            | Self::Flush { worker, .. }
            | Self::Complete { worker, .. } => WorkerId::new(worker),
        }
    }
}

/// How an attempt ended, on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum WireOutcome {
    /// [`AttemptOutcome::Succeeded`].
    Succeeded,
    /// [`AttemptOutcome::Failed`].
    Failed {
        /// The executor's message.
        message: String,
    },
}

impl From<&AttemptOutcome> for WireOutcome {
    fn from(o: &AttemptOutcome) -> Self {
        match o {
            AttemptOutcome::Succeeded => Self::Succeeded,
            AttemptOutcome::Failed { message } => Self::Failed {
                message: message.clone(),
            },
        }
    }
}

impl From<WireOutcome> for AttemptOutcome {
    fn from(o: WireOutcome) -> Self {
        match o {
            WireOutcome::Succeeded => Self::Succeeded,
            WireOutcome::Failed { message } => Self::Failed { message },
        }
    }
}

/// A span, on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireSpan {
    /// [`Span::attempt_id`], as text (the rollout id is derived from it).
    pub attempt: String,
    /// [`Span::sequence_id`].
    pub sequence_id: u32,
    /// [`Span::span_id`].
    pub span_id: String,
    /// [`Span::name`].
    pub name: String,
    /// [`Span::start`], in nanoseconds.
    pub start_ns: u64,
    /// [`Span::end`], in nanoseconds.
    pub end_ns: u64,
    /// [`Span::attributes`].
    pub attributes: BTreeMap<String, Value>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl From<&Span> for WireSpan {
    fn from(s: &Span) -> Self {
        Self {
            attempt: s.attempt_id.to_string(),
            sequence_id: s.sequence_id,
            span_id: s.span_id.to_string(),
            name: s.name.clone(),
            start_ns: nanos(s.start),
            end_ns: nanos(s.end),
            attributes: s.attributes.to_map(),
        }
    }
}

impl WireSpan {
    /// Back to a [`Span`]; `None` when the attempt id does not parse.
    pub fn into_span(self) -> Option<Span> {
        let attempt = AttemptId::parse(&self.attempt)?;
        Some(Span {
            rollout_id: attempt.rollout.clone(),
            attempt_id: attempt,
            sequence_id: self.sequence_id,
            span_id: self.span_id.into(),
            name: self.name,
            start: Duration::from_nanos(self.start_ns),
            end: Duration::from_nanos(self.end_ns),
            attributes: self.attributes.into(),
        })
    }
}

/// A rollout handed out by a dequeue, on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireRollout {
    /// Its id.
    pub id: String,
    /// Its input.
    pub input: Value,
}

/// A reply line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// Register, heartbeat and flush succeeded.
    Ok,
    /// A dequeue opened an attempt.
    Dequeued {
        /// The rollout to run.
        rollout: WireRollout,
        /// The attempt opened.
        attempt: String,
    },
    /// A dequeue found nothing waiting.
    Empty,
    /// A reassignment timed out these attempts (possibly none).
    TimedOut {
        /// The attempts.
        attempts: Vec<String>,
    },
    /// A completion's result.
    Completed {
        /// `recorded` or `no_longer_running`.
        completion: WireCompletion,
    },
    /// The queue refused the call.
    Error(WireError),
}

/// [`Completion`], on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireCompletion {
    /// [`Completion::Recorded`].
    Recorded,
    /// [`Completion::NoLongerRunning`].
    NoLongerRunning,
}

/// A [`QueueError`] on the wire (the operation is the request's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WireError {
    /// [`QueueError::Transient`].
    Transient {
        /// What went wrong.
        message: String,
    },
    /// [`QueueError::Unknown`].
    Unknown {
        /// `worker`, `rollout` or `attempt`.
        what: String,
        /// The id given.
        id: String,
    },
    /// [`QueueError::Invalid`], or a request the server could not read.
    Invalid {
        /// What rule it broke.
        message: String,
    },
}

impl From<&QueueError> for WireError {
    fn from(e: &QueueError) -> Self {
        match e {
            QueueError::Transient { message, .. } => Self::Transient {
                message: message.clone(),
            },
            QueueError::Unknown { what, id, .. } => Self::Unknown {
                what: (*what).to_string(),
                id: id.clone(),
            },
            QueueError::Invalid { message, .. } => Self::Invalid {
                message: message.clone(),
            },
        }
    }
}

impl WireError {
    /// Back to a [`QueueError`] of `op`.
    pub fn into_error(self, op: QueueOp) -> QueueError {
        match self {
            Self::Transient { message } => QueueError::Transient { op, message },
            Self::Unknown { what, id } => QueueError::Unknown {
                op,
                what: match what.as_str() {
                    "worker" => "worker",
                    "rollout" => "rollout",
                    "attempt" => "attempt",
                    _ => "id",
                },
                id,
            },
            Self::Invalid { message } => QueueError::Invalid { op, message },
        }
    }
}

impl From<&Dequeued> for Reply {
    fn from(d: &Dequeued) -> Self {
        Self::Dequeued {
            rollout: WireRollout {
                id: d.rollout.id.to_string(),
                input: d.rollout.input.clone(),
            },
            attempt: d.attempt.to_string(),
        }
    }
}

impl From<Completion> for WireCompletion {
    fn from(c: Completion) -> Self {
        match c {
            Completion::Recorded => Self::Recorded,
            Completion::NoLongerRunning => Self::NoLongerRunning,
        }
    }
}

impl From<WireCompletion> for Completion {
    fn from(c: WireCompletion) -> Self {
        match c {
            WireCompletion::Recorded => Self::Recorded,
            WireCompletion::NoLongerRunning => Self::NoLongerRunning,
        }
    }
}

/// Parses an attempt id received on the wire.
pub fn attempt_id(text: &str, op: QueueOp) -> Result<AttemptId, QueueError> {
    AttemptId::parse(text).ok_or_else(|| QueueError::Invalid {
        op,
        message: format!("`{text}` is not an attempt id"),
    })
}

/// A dequeued rollout received on the wire.
pub fn dequeued(rollout: WireRollout, attempt: &str) -> Result<Dequeued, QueueError> {
    Ok(Dequeued {
        rollout: Rollout {
            id: RolloutId::new(&rollout.id),
            input: rollout.input,
        },
        attempt: attempt_id(attempt, QueueOp::Dequeue)?,
    })
}

/// One line of JSON, newline included.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(message).expect("protocol messages always serialize");
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_round_trip_exactly() {
        let span = Span {
            rollout_id: RolloutId::new("r1"),
            attempt_id: AttemptId::new(RolloutId::new("r1"), 2),
            sequence_id: 3,
            span_id: "r1:attempt-2/3".into(),
            name: "reward.emit".into(),
            start: Duration::from_nanos(1_234_567),
            end: Duration::from_millis(45),
            attributes: [("reward_value".to_string(), Value::from(0.1 + 0.2))]
                .into_iter()
                .collect(),
        };
        let request = Request::Flush {
            worker: "worker-1".into(),
            spans: vec![WireSpan::from(&span)],
        };
        let line = encode(&request);
        let back: Request = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, request);
        let Request::Flush { spans, .. } = back else {
            unreachable!()
        };
        assert_eq!(spans[0].clone().into_span().unwrap(), span);

        let text = String::from_utf8(encode(&Request::Dequeue {
            worker: "worker-1".into(),
        }))
        .unwrap();
        assert_eq!(text, "{\"op\":\"dequeue\",\"worker\":\"worker-1\"}\n");
        let reply = Reply::Error(WireError::Unknown {
            what: "worker".into(),
            id: "w".into(),
        });
        let text = String::from_utf8(encode(&reply)).unwrap();
        assert_eq!(
            text,
            "{\"reply\":\"error\",\"kind\":\"unknown\",\"what\":\"worker\",\"id\":\"w\"}\n"
        );
        assert_eq!(serde_json::from_str::<Reply>(&text).unwrap(), reply);
    }
}
