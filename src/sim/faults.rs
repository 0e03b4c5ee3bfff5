//! Fault injection: scripted verdicts on queue calls, and timed events.
//!
//! A script is a list of steps over the successive calls of one operation:
//! `fail N` fails the next N calls, `pass N` lets N through, `empty N` (dequeue
//! only) answers "nothing waiting" N times without asking the queue. After the
//! last step every call passes. A script is shared by all workers (calls count
//! in the order they happen) or kept per worker.
//!
//! [`FaultyQueue`] is a worker's handle to the shared queue with the scripts in
//! front of it; it records every call and its result in the trace, marking
//! injected failures with their [`FaultSource`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use crate::core::clock::Clock;
use crate::core::queue::{
    AttemptId, AttemptOutcome, Completion, Dequeued, Queue, QueueError, QueueOp, WorkerId,
};
use crate::core::telemetry::Span;

use super::trace::{CallResult, EventKind, FaultSource, TraceRecorder};

/// The message of an injected failure when the script gives none.
pub const DEFAULT_FAULT_MESSAGE: &str = "injected fault";

/// One step of a fault script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultStep {
    /// Fail the next `times` calls with `message`.
    Fail {
        /// How many calls.
        times: u32,
        /// The error message.
        message: String,
    },
    /// Let the next `times` calls through.
    Pass {
        /// How many calls.
        times: u32,
    },
    /// Answer the next `times` dequeues with no rollout.
    Empty {
        /// How many calls.
        times: u32,
    },
}

impl FaultStep {
    fn times(&self) -> u32 {
        match self {
            Self::Fail { times, .. } | Self::Pass { times } | Self::Empty { times } => *times,
        }
    }
}

/// What the script says about one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Call the queue.
    Pass,
    /// Fail with this message.
    Fail(String),
    /// Answer "nothing waiting".
    Empty,
}

/// A position in a list of steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptCursor {
    steps: Vec<FaultStep>,
    step: usize,
    used: u32,
}

impl ScriptCursor {
    /// A cursor at the first step.
    pub fn new(steps: Vec<FaultStep>) -> Self {
        Self {
            steps,
            step: 0,
            used: 0,
        }
    }

    /// The verdict for the next call, advancing the script.
    pub fn next_verdict(&mut self) -> Verdict {
        while let Some(step) = self.steps.get(self.step) {
            if self.used < step.times() {
                self.used += 1;
                return match step {
                    FaultStep::Fail { message, .. } => Verdict::Fail(message.clone()),
                    FaultStep::Pass { .. } => Verdict::Pass,
                    FaultStep::Empty { .. } => Verdict::Empty,
                };
            }
            self.step += 1;
            self.used = 0;
        }
        Verdict::Pass
    }
}

/// The script of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpScript {
    /// One script over every worker's calls, in the order they happen.
    Shared(Vec<FaultStep>),
    /// A script per worker; workers not named always pass.
    PerWorker(BTreeMap<WorkerId, Vec<FaultStep>>),
}

#[derive(Debug)]
enum Cursors {
    Shared(ScriptCursor),
    PerWorker(BTreeMap<WorkerId, ScriptCursor>),
}

/// Every operation's script, with its position.
#[derive(Debug, Default)]
pub struct FaultInjector {
    cursors: RefCell<BTreeMap<QueueOp, Cursors>>,
}

impl FaultInjector {
    /// An injector over these scripts.
    pub fn new(scripts: &BTreeMap<QueueOp, OpScript>) -> Self {
        let cursors = scripts
            .iter()
            .map(|(&op, script)| {
                let cursors = match script {
                    OpScript::Shared(steps) => Cursors::Shared(ScriptCursor::new(steps.clone())),
                    OpScript::PerWorker(map) => Cursors::PerWorker(
                        map.iter()
                            .map(|(w, s)| (w.clone(), ScriptCursor::new(s.clone())))
                            .collect(),
                    ),
                };
                (op, cursors)
            })
            .collect();
        Self {
            cursors: RefCell::new(cursors),
        }
    }

    /// The verdict for `worker`'s next `op` call.
    pub fn verdict(&self, op: QueueOp, worker: &WorkerId) -> Verdict {
        let mut cursors = self.cursors.borrow_mut();
        match cursors.get_mut(&op) {
            None => Verdict::Pass,
            Some(Cursors::Shared(cursor)) => cursor.next_verdict(),
            Some(Cursors::PerWorker(map)) => map
                .get_mut(worker)
                .map_or(Verdict::Pass, ScriptCursor::next_verdict),
        }
    }
}

/// One worker's view of the queue, with faults injected and calls traced.
#[derive(Debug)]
pub struct FaultyQueue<Q, C> {
    /// The worker whose calls these are.
    pub worker: WorkerId,
    /// The real queue.
    pub inner: Q,
    /// The scripts.
    pub faults: Rc<FaultInjector>,
    /// Where calls are recorded.
    pub trace: Rc<TraceRecorder>,
    /// The clock timestamps come from.
    pub clock: C,
}

impl<Q: Queue, C: Clock> FaultyQueue<Q, C> {
    fn record(&self, op: QueueOp, attempt: Option<&AttemptId>, result: CallResult) {
        self.trace.record(
            self.clock.now(),
            Some(&self.worker),
            EventKind::Call {
                op,
                attempt: attempt.cloned(),
                result,
            },
        );
    }

    fn injected(&self, op: QueueOp, attempt: Option<&AttemptId>, message: String) -> QueueError {
        self.record(
            op,
            attempt,
            CallResult::Failed {
                message: message.clone(),
                fault: Some(FaultSource::Script),
            },
        );
        QueueError::Transient { op, message }
    }

    fn record_result<T>(
        &self,
        op: QueueOp,
        attempt: Option<&AttemptId>,
        result: &Result<T, QueueError>,
        ok: impl FnOnce(&T) -> Option<CallResult>,
    ) {
        match result {
            Ok(value) => {
                if let Some(r) = ok(value) {
                    self.record(op, attempt, r);
                }
            }
            Err(e) => self.record(
                op,
                attempt,
                CallResult::Failed {
                    message: e.to_string(),
                    fault: None,
                },
            ),
        }
    }

    /// Asks the script, then (unless it says fail) makes the call. The call
    /// is a closure because the in-memory queue acts when the future is
    /// created, and a failed call must not act.
    async fn guarded<T, F: Future<Output = Result<T, QueueError>>>(
        &self,
        op: QueueOp,
        attempt: Option<&AttemptId>,
        call: impl FnOnce() -> F,
        ok: impl FnOnce(&T) -> Option<CallResult>,
    ) -> Result<T, QueueError> {
        match self.faults.verdict(op, &self.worker) {
            Verdict::Fail(message) => Err(self.injected(op, attempt, message)),
            // Validation allows `empty` only in dequeue scripts.
            Verdict::Pass | Verdict::Empty => {
                let result = call().await;
                self.record_result(op, attempt, &result, ok);
                result
            }
        }
    }
}

impl<Q: Queue, C: Clock> Queue for FaultyQueue<Q, C> {
    fn register_worker(&self, worker: &WorkerId) -> impl Future<Output = Result<(), QueueError>> {
        self.inner.register_worker(worker)
    }

    fn heartbeat(
        &self,
        worker: &WorkerId,
        attempt: Option<&AttemptId>,
    ) -> impl Future<Output = Result<(), QueueError>> {
        self.guarded(
            QueueOp::Heartbeat,
            attempt,
            move || self.inner.heartbeat(worker, attempt),
            |_| Some(CallResult::Ok),
        )
    }

    async fn dequeue(&self, worker: &WorkerId) -> Result<Option<Dequeued>, QueueError> {
        let op = QueueOp::Dequeue;
        match self.faults.verdict(op, worker) {
            Verdict::Fail(message) => Err(self.injected(op, None, message)),
            Verdict::Empty => {
                self.record(
                    op,
                    None,
                    CallResult::Empty {
                        fault: Some(FaultSource::Script),
                    },
                );
                Ok(None)
            }
            Verdict::Pass => {
                let result = self.inner.dequeue(worker).await;
                self.record_result(op, None, &result, |d| {
                    Some(match d {
                        Some(d) => CallResult::Dequeued {
                            attempt: d.attempt.clone(),
                        },
                        None => CallResult::Empty { fault: None },
                    })
                });
                result
            }
        }
    }

    async fn requeue_stale(&self, timeout: Duration) -> Result<Vec<AttemptId>, QueueError> {
        let result = self.inner.requeue_stale(timeout).await;
        // Quiet ticks are not worth an event each; timeouts and errors are.
        self.record_result(QueueOp::Reassign, None, &result, |timed_out| {
            (!timed_out.is_empty()).then(|| CallResult::TimedOut {
                attempts: timed_out.clone(),
            })
        });
        result
    }

    fn add_spans(&self, spans: Vec<Span>) -> impl Future<Output = Result<(), QueueError>> {
        let attempt = spans.first().map(|s| s.attempt_id.clone());
        async move {
            let op = QueueOp::Flush;
            match self.faults.verdict(op, &self.worker) {
                Verdict::Fail(message) => Err(self.injected(op, attempt.as_ref(), message)),
                Verdict::Pass | Verdict::Empty => {
                    let result = self.inner.add_spans(spans).await;
                    self.record_result(op, attempt.as_ref(), &result, |_| Some(CallResult::Ok));
                    result
                }
            }
        }
    }

    fn complete_attempt(
        &self,
        attempt: &AttemptId,
        outcome: AttemptOutcome,
    ) -> impl Future<Output = Result<Completion, QueueError>> {
        self.guarded(
            QueueOp::Complete,
            Some(attempt),
            move || self.inner.complete_attempt(attempt, outcome),
            |c| {
                Some(match c {
                    Completion::Recorded => CallResult::Ok,
                    Completion::NoLongerRunning => CallResult::NoLongerRunning,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_steps_then_pass_forever() {
        let mut c = ScriptCursor::new(vec![
            FaultStep::Pass { times: 1 },
            FaultStep::Fail {
                times: 2,
                message: "boom".into(),
            },
            FaultStep::Empty { times: 1 },
            FaultStep::Fail {
                times: 0,
                message: "never".into(),
            },
        ]);
        let got: Vec<_> = (0..6).map(|_| c.next_verdict()).collect();
        assert_eq!(
            got,
            [
                Verdict::Pass,
                Verdict::Fail("boom".into()),
                Verdict::Fail("boom".into()),
                Verdict::Empty,
                Verdict::Pass,
                Verdict::Pass
            ]
        );
    }
}
