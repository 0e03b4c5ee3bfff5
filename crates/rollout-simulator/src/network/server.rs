//! The queue host's software: a TCP server speaking the
//! [protocol](super::protocol) in front of the run's [`MemoryQueue`].
//!
//! The store outlives the server: a bounce of the queue host restarts this
//! software (open connections are lost, requests in flight with them) but
//! keeps every rollout, attempt and span, as a queue service in front of a
//! database would. Each request served is recorded in the trace as a
//! `served` event, stamped with the queue host's clock, under the worker that
//! sent it.

use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use turmoil::net::{TcpListener, TcpStream};

use crate::trace::{CallResult, EventKind, TraceRecorder};
use rollout_core::Clock;
use rollout_core::{MemoryQueue, Queue, QueueError, QueueOp, WorkerId};

use super::protocol::{
    MAX_LINE_BYTES, QUEUE_PORT, Reply, Request, WireError, WireSpan, attempt_id, encode,
};

/// What the queue host serves: the store, and where to record requests.
pub struct QueueServer<C: Clock> {
    /// The store, shared with the engine (which enqueues into it).
    pub queue: Rc<MemoryQueue<C>>,
    /// The run's trace.
    pub trace: Rc<TraceRecorder>,
    /// Counts the bytes of every reply sent.
    pub meter: super::WireMeter,
    /// The queue host's clock.
    pub clock: C,
}

impl<C: Clock + 'static> QueueServer<C> {
    /// Listens on the queue's port and serves each connection in its own task.
    /// Runs until the host is crashed or bounced.
    pub async fn serve(self: Rc<Self>) -> turmoil::Result {
        let listener = TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, QUEUE_PORT)).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::task::spawn_local(self.clone().connection(stream));
        }
    }

    async fn connection(self: Rc<Self>, stream: TcpStream) {
        let mut stream = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match (&mut stream)
                .take(MAX_LINE_BYTES as u64)
                .read_until(b'\n', &mut line)
                .await
            {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line.last() != Some(&b'\n') {
                return; // cut off, or longer than any request may be
            }
            let reply = match serde_json::from_slice::<Request>(&line) {
                Ok(request) => self.handle(request).await,
                Err(e) => Reply::Error(WireError::Invalid {
                    message: format!("unreadable request: {e}"),
                }),
            };
            let reply = encode(&reply);
            if stream.get_mut().write_all(&reply).await.is_err() {
                return;
            }
            self.meter.add(reply.len());
        }
    }

    fn record(
        &self,
        worker: &WorkerId,
        op: QueueOp,
        attempt: Option<&rollout_core::AttemptId>,
        result: CallResult,
    ) {
        self.trace.record(
            self.clock.now(),
            Some(worker),
            EventKind::Served {
                op,
                attempt: attempt.cloned(),
                result,
            },
        );
    }

    fn failed(
        &self,
        worker: &WorkerId,
        op: QueueOp,
        attempt: Option<&rollout_core::AttemptId>,
        e: &QueueError,
    ) -> Reply {
        self.record(
            worker,
            op,
            attempt,
            CallResult::Failed {
                message: e.to_string(),
                fault: None,
            },
        );
        Reply::Error(WireError::from(e))
    }

    async fn handle(&self, request: Request) -> Reply {
        let op = request.op();
        let worker = request.worker();
        let q = &self.queue;
        match request {
            Request::Register { .. } => match q.register_worker(&worker).await {
                Ok(()) => {
                    self.record(&worker, op, None, CallResult::Ok);
                    Reply::Ok
                }
                Err(e) => self.failed(&worker, op, None, &e),
            },
            Request::Heartbeat { attempt, .. } => {
                let attempt = match attempt.as_deref().map(|a| attempt_id(a, op)).transpose() {
                    Ok(a) => a,
                    Err(e) => return self.failed(&worker, op, None, &e),
                };
                match q.heartbeat(&worker, attempt.as_ref()).await {
                    Ok(()) => {
                        self.record(&worker, op, attempt.as_ref(), CallResult::Ok);
                        Reply::Ok
                    }
                    Err(e) => self.failed(&worker, op, attempt.as_ref(), &e),
                }
            }
            Request::Dequeue { .. } => match q.dequeue(&worker).await {
                Ok(Some(d)) => {
                    self.record(
                        &worker,
                        op,
                        None,
                        CallResult::Dequeued {
                            attempt: d.attempt.clone(),
                        },
                    );
                    Reply::from(&d)
                }
                Ok(None) => {
                    self.record(&worker, op, None, CallResult::Empty { fault: None });
                    Reply::Empty
                }
                Err(e) => self.failed(&worker, op, None, &e),
            },
            Request::Reassign { timeout_ns, .. } => {
                match q.requeue_stale(Duration::from_nanos(timeout_ns)).await {
                    Ok(timed_out) => {
                        if !timed_out.is_empty() {
                            self.record(
                                &worker,
                                op,
                                None,
                                CallResult::TimedOut {
                                    attempts: timed_out.clone(),
                                },
                            );
                        }
                        Reply::TimedOut {
                            attempts: timed_out.iter().map(ToString::to_string).collect(),
                        }
                    }
                    Err(e) => self.failed(&worker, op, None, &e),
                }
            }
            Request::Flush { spans, .. } => {
                let spans: Option<Vec<_>> = spans.into_iter().map(WireSpan::into_span).collect();
                let Some(spans) = spans else {
                    let e = QueueError::Invalid {
                        op,
                        message: "a span names no valid attempt".into(),
                    };
                    return self.failed(&worker, op, None, &e);
                };
                let attempt = spans.first().map(|s| s.attempt_id.clone());
                match q.add_spans(spans).await {
                    Ok(()) => {
                        self.record(&worker, op, attempt.as_ref(), CallResult::Ok);
                        Reply::Ok
                    }
                    Err(e) => self.failed(&worker, op, attempt.as_ref(), &e),
                }
            }
            Request::Complete {
                attempt, outcome, ..
            } => {
                let attempt = match attempt_id(&attempt, op) {
                    Ok(a) => a,
                    Err(e) => return self.failed(&worker, op, None, &e),
                };
                match q.complete_attempt(&attempt, outcome.into()).await {
                    Ok(c) => {
                        let result = match c {
                            rollout_core::Completion::Recorded => CallResult::Ok,
                            rollout_core::Completion::NoLongerRunning => {
                                CallResult::NoLongerRunning
                            }
                        };
                        self.record(&worker, op, Some(&attempt), result);
                        Reply::Completed {
                            completion: c.into(),
                        }
                    }
                    Err(e) => self.failed(&worker, op, Some(&attempt), &e),
                }
            }
        }
    }
}
