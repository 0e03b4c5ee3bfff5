//! A worker's [`Queue`]: a client of the queue host over turmoil's TCP.
//!
//! Each call is one request and one reply on the worker's connection to the
//! queue host, opened on first use and kept while it works. A call fails
//! (a [`QueueError::Transient`], so a poll failure on the poll path) when
//! the connection cannot be opened, breaks, or brings no reply within the
//! request timeout; the connection is then dropped, and the next call opens
//! a new one. Before a kept connection is reused it is checked, without
//! waiting, for a close or reset that arrived while it was idle (a bounced
//! queue host): such a connection is replaced at once instead of failing
//! the call, as connection pools do.
//!
//! A lost segment breaks a turmoil TCP connection for good (there is no
//! retransmission), so a lost request or reply shows up as a timeout.

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use turmoil::net::TcpStream;

use rollout_core::Span;
use rollout_core::{
    AttemptId, AttemptOutcome, Completion, Dequeued, Queue, QueueError, QueueOp, WorkerId,
};

use super::WireMeter;
use super::protocol::{MAX_LINE_BYTES, Reply, Request, WireOutcome, WireSpan, encode};

type Connection = BufReader<TcpStream>;

/// A worker's handle to the queue host.
#[derive(Debug)]
pub struct NetworkQueue {
    worker: WorkerId,
    server: SocketAddr,
    request_timeout: Duration,
    connection: RefCell<Option<Connection>>,
    meter: WireMeter,
}

impl NetworkQueue {
    /// A client of the queue at `server`, sending as `worker`.
    pub fn new(worker: WorkerId, server: SocketAddr, request_timeout: Duration) -> Self {
        Self {
            worker,
            server,
            request_timeout,
            connection: RefCell::new(None),
            meter: WireMeter::default(),
        }
    }

    /// Counts the bytes of every request sent in `meter`.
    pub fn with_meter(mut self, meter: WireMeter) -> Self {
        self.meter = meter;
        self
    }

    fn transient(op: QueueOp, message: impl Into<String>) -> QueueError {
        QueueError::Transient {
            op,
            message: message.into(),
        }
    }

    /// True when a kept connection has nothing pending: no close, reset or
    /// stray bytes arrived while it was idle.
    fn still_open(connection: &mut Connection) -> bool {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        matches!(
            std::pin::Pin::new(connection).poll_fill_buf(&mut cx),
            Poll::Pending
        )
    }

    async fn exchange(&self, op: QueueOp, request: Request) -> Result<Reply, QueueError> {
        let kept = self.connection.borrow_mut().take();
        let kept = kept.and_then(|mut c| Self::still_open(&mut c).then_some(c));
        let line = encode(&request);
        let attempt = async {
            let mut connection = match kept {
                Some(c) => c,
                None => BufReader::new(TcpStream::connect(self.server).await.map_err(|e| {
                    Self::transient(op, format!("cannot connect to the queue: {}", io_text(&e)))
                })?),
            };
            connection
                .get_mut()
                .write_all(&line)
                .await
                .map_err(|e| Self::transient(op, format!("sending failed: {}", io_text(&e))))?;
            self.meter.add(line.len());
            let mut reply = Vec::new();
            let n = (&mut connection)
                .take(MAX_LINE_BYTES as u64)
                .read_until(b'\n', &mut reply)
                .await
                .map_err(|e| Self::transient(op, format!("receiving failed: {}", io_text(&e))))?;
            if n == 0 || reply.last() != Some(&b'\n') {
                return Err(Self::transient(op, "the queue closed the connection"));
            }
            let reply: Reply = serde_json::from_slice(&reply)
                .map_err(|e| Self::transient(op, format!("unreadable reply: {e}")))?;
            Ok((connection, reply))
        };
        match tokio::time::timeout(self.request_timeout, attempt).await {
            Err(_) => Err(Self::transient(
                op,
                format!(
                    "no reply within the request timeout ({:?})",
                    self.request_timeout
                ),
            )),
            Ok(Err(e)) => Err(e),
            Ok(Ok((connection, reply))) => {
                *self.connection.borrow_mut() = Some(connection);
                match reply {
                    Reply::Error(e) => Err(e.into_error(op)),
                    reply => Ok(reply),
                }
            }
        }
    }

    fn unexpected<T>(op: QueueOp, reply: &Reply) -> Result<T, QueueError> {
        Err(Self::transient(
            op,
            format!("unexpected reply to {op}: {reply:?}"),
        ))
    }

    async fn expect_ok(&self, op: QueueOp, request: Request) -> Result<(), QueueError> {
        match self.exchange(op, request).await? {
            Reply::Ok => Ok(()),
            other => Self::unexpected(op, &other),
        }
    }
}

/// A stable description of an I/O error (no addresses or ports).
fn io_text(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset".into(),
        K::BrokenPipe => "broken pipe".into(),
        K::NotConnected => "not connected".into(),
        kind => format!("{kind:?}"),
    }
}

impl Queue for NetworkQueue {
    fn register_worker(&self, worker: &WorkerId) -> impl Future<Output = Result<(), QueueError>> {
        self.expect_ok(
            QueueOp::Register,
            Request::Register {
                worker: worker.to_string(),
            },
        )
    }

    fn heartbeat(
        &self,
        worker: &WorkerId,
        attempt: Option<&AttemptId>,
    ) -> impl Future<Output = Result<(), QueueError>> {
        self.expect_ok(
            QueueOp::Heartbeat,
            Request::Heartbeat {
                worker: worker.to_string(),
                attempt: attempt.map(ToString::to_string),
            },
        )
    }

    async fn dequeue(&self, worker: &WorkerId) -> Result<Option<Dequeued>, QueueError> {
        let op = QueueOp::Dequeue;
        let request = Request::Dequeue {
            worker: worker.to_string(),
        };
        match self.exchange(op, request).await? {
            Reply::Empty => Ok(None),
            Reply::Dequeued { rollout, attempt } => {
                super::protocol::dequeued(rollout, &attempt).map(Some)
            }
            other => Self::unexpected(op, &other),
        }
    }

    async fn requeue_stale(&self, timeout: Duration) -> Result<Vec<AttemptId>, QueueError> {
        let op = QueueOp::Reassign;
        let request = Request::Reassign {
            worker: self.worker.to_string(),
            timeout_ns: u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX),
        };
        match self.exchange(op, request).await? {
            Reply::TimedOut { attempts } => attempts
                .iter()
                .map(|a| super::protocol::attempt_id(a, op))
                .collect(),
            other => Self::unexpected(op, &other),
        }
    }

    fn add_spans(&self, spans: Vec<Span>) -> impl Future<Output = Result<(), QueueError>> {
        self.expect_ok(
            QueueOp::Flush,
            Request::Flush {
                worker: self.worker.to_string(),
                spans: spans.iter().map(WireSpan::from).collect(),
            },
        )
    }

    async fn complete_attempt(
        &self,
        attempt: &AttemptId,
        outcome: AttemptOutcome,
    ) -> Result<Completion, QueueError> {
        let op = QueueOp::Complete;
        let request = Request::Complete {
            worker: self.worker.to_string(),
            attempt: attempt.to_string(),
            outcome: WireOutcome::from(&outcome),
        };
        match self.exchange(op, request).await? {
            Reply::Completed { completion } => Ok(completion.into()),
            other => Self::unexpected(op, &other),
        }
    }
}
