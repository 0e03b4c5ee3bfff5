//! Fault injection: scripted verdicts on queue calls, and timed events.
//!
//! A script is a list of steps over the successive calls of one operation:
//! `fail N` fails the next N calls, `pass N` lets N through, `empty N` (dequeue
//! only) answers "nothing waiting" N times without asking the queue. After the
//! last step every call passes. A script is shared by all workers (calls count
//! in the order they happen) or kept per worker.
//!
//! The seeded overlay ([`RandomRates`]) fails (or, for dequeue, empties) calls
//! at random, drawing from one ChaCha stream per operation derived from the
//! scenario seed, so adding a fault source never shifts another's draws. Every
//! call draws once, whether or not it uses the draw, so the overlay's choice
//! for the n-th call never depends on the script. The script always wins: the
//! overlay decides only calls the script has no step for.
//!
//! Every decision is kept in a [`VerdictLog`], which is what `freeze` turns
//! back into an explicit script.
//!
//! A [`Branch`] reseeds the overlay's streams at given event indices
//! (guided exploration): the caller passes how many events the run has
//! recorded, and the first draw at or past a branch point comes from the
//! reseeded stream.
//!
//! The liveness phase ([`FaultInjector::heal`], at `faults.heal_at`) ends
//! all of it at once: from then on every call passes, the script's cursors
//! stay where they are (steps not yet consumed never fail) and the overlay
//! draws no more, so what came before the heal is exactly what a run
//! without one would have decided.
//!
//! [`FaultyQueue`] is a worker's handle to the shared queue with the scripts in
//! front of it; it records every call and its result in the trace, marking
//! injected failures with their [`FaultSource`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use rollout_core::Clock;
use rollout_core::Span;
use rollout_core::{
    AttemptId, AttemptOutcome, Completion, Dequeued, Queue, QueueError, QueueOp, WorkerId,
};

use super::branch::Branch;
pub use super::script::{
    DEFAULT_FAULT_MESSAGE, FaultStep, OpScript, RANDOM_FAULT_MESSAGE, RandomRates, ScriptCursor,
    Verdict, VerdictLog,
};
use super::trace::{CallResult, EventKind, FaultSource, TraceRecorder};

#[derive(Debug)]
enum Cursors {
    Shared(ScriptCursor),
    PerWorker(BTreeMap<WorkerId, ScriptCursor>),
}

/// A verdict and where it came from (`None` for a plain pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What happens to the call.
    pub verdict: Verdict,
    /// Who decided a failure or an empty answer.
    pub source: Option<FaultSource>,
}

struct Overlay {
    rates: RandomRates,
    stream: rand_chacha::ChaCha8Rng,
}

/// One entry per queue operation, at the operation's place in
/// [`QueueOp::ALL`]: every call looks its operation up, and an array costs
/// an index where a map costs a search (and an allocation per run).
struct PerOp<T>([Option<T>; QueueOp::ALL.len()]);

impl<T> Default for PerOp<T> {
    fn default() -> Self {
        Self(std::array::from_fn(|_| None))
    }
}

impl<T> PerOp<T> {
    fn get_mut(&mut self, op: QueueOp) -> Option<&mut T> {
        self.0[op as usize].as_mut()
    }

    /// The operations that have an entry, in [`QueueOp::ALL`] order.
    fn iter_mut(&mut self) -> impl Iterator<Item = (QueueOp, &mut T)> {
        QueueOp::ALL
            .into_iter()
            .zip(&mut self.0)
            .filter_map(|(op, t)| Some((op, t.as_mut()?)))
    }

    fn ops(&self) -> Vec<QueueOp> {
        QueueOp::ALL
            .into_iter()
            .zip(&self.0)
            .filter_map(|(op, t)| t.as_ref().map(|_| op))
            .collect()
    }
}

impl<T> FromIterator<(QueueOp, T)> for PerOp<T> {
    fn from_iter<I: IntoIterator<Item = (QueueOp, T)>>(iter: I) -> Self {
        let mut table = Self::default();
        for (op, t) in iter {
            table.0[op as usize] = Some(t);
        }
        table
    }
}

/// Every operation's script, with its position, and the seeded overlay.
#[derive(Default)]
pub struct FaultInjector {
    cursors: RefCell<PerOp<Cursors>>,
    /// Boxed: a stream is a few hundred bytes, and most runs have none.
    overlays: RefCell<PerOp<Box<Overlay>>>,
    log: RefCell<VerdictLog>,
    recording: bool,
    healed: std::cell::Cell<bool>,
    /// The overlay's seed, for reseeding at branch points.
    seed: u64,
    branch: Branch,
    /// The next branch point not yet reached.
    next_point: std::cell::Cell<usize>,
}

impl std::fmt::Debug for FaultInjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultInjector")
            .field("cursors", &self.cursors.borrow().ops())
            .field("overlays", &self.overlays.borrow().ops())
            .finish()
    }
}

/// The ChaCha stream of one named source of randomness under a seed: the same
/// seed and label always give the same stream, and different labels give
/// independent ones.
pub fn seeded_stream(seed: u64, label: &str) -> rand_chacha::ChaCha8Rng {
    use rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(xxhash_rust::xxh3::xxh3_64(label.as_bytes()));
    rng
}

/// A 64-bit value derived from a seed and a label, for seeding other streams.
pub fn derived_seed(seed: u64, label: &str) -> u64 {
    use rand_core::RngCore;
    seeded_stream(seed, label).next_u64()
}

/// The label of an operation's overlay stream, `faults.random.<op>`: a
/// constant, because a sweep derives every stream afresh for each seed.
fn overlay_label(op: QueueOp) -> &'static str {
    match op {
        QueueOp::Register => "faults.random.register",
        QueueOp::Heartbeat => "faults.random.heartbeat",
        QueueOp::Dequeue => "faults.random.dequeue",
        QueueOp::Reassign => "faults.random.reassign",
        QueueOp::Flush => "faults.random.flush",
        QueueOp::Complete => "faults.random.complete",
    }
}

/// A uniform draw in `[0, 1)` with 53 bits of precision.
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
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
            overlays: RefCell::default(),
            log: RefCell::default(),
            recording: false,
            healed: std::cell::Cell::new(false),
            seed: 0,
            branch: Branch::NONE,
            next_point: std::cell::Cell::new(0),
        }
    }

    /// Keeps every verdict in the [`VerdictLog`] (off by default: sweeps and
    /// suites do not pay for it).
    pub fn recording(mut self, on: bool) -> Self {
        self.recording = on;
        self
    }

    /// Adds the seeded overlay: for each operation, rates and a stream
    /// derived from `seed` and the operation's name.
    pub fn with_random(mut self, seed: u64, rates: &BTreeMap<QueueOp, RandomRates>) -> Self {
        self.seed = seed;
        *self.overlays.borrow_mut() = rates
            .iter()
            .map(|(&op, &rates)| {
                let stream = seeded_stream(seed, overlay_label(op));
                (op, Box::new(Overlay { rates, stream }))
            })
            .collect();
        self
    }

    /// Reseeds the overlay at `branch`'s points.
    pub fn branching(mut self, branch: &Branch) -> Self {
        self.branch = branch.clone();
        self
    }

    /// Reseeds every overlay stream for each branch point `events` has
    /// reached: the seed's own run never gets here.
    #[cold]
    fn reseed(&self, events: u64) {
        let points = self.branch.points();
        let mut k = self.next_point.get();
        while let Some(&at) = points.get(k).filter(|&&at| events >= at) {
            for (op, overlay) in self.overlays.borrow_mut().iter_mut() {
                overlay.stream = Branch::reseeded(self.seed, k, at, overlay_label(op));
            }
            k += 1;
        }
        self.next_point.set(k);
    }

    /// From now on every call passes: the liveness phase began.
    pub fn heal(&self) {
        self.healed.set(true);
    }

    /// The verdict for `worker`'s next `op` call, made once the run has
    /// recorded `events` events, and who gave it.
    pub fn decide(&self, op: QueueOp, worker: &WorkerId, events: u64) -> Decision {
        if self.healed.get() {
            return self.healed_pass(op, worker);
        }
        if self
            .branch
            .points()
            .get(self.next_point.get())
            .is_some_and(|&at| events >= at)
        {
            self.reseed(events);
        }
        let drawn = self.overlays.borrow_mut().get_mut(op).map(|o| {
            use rand_core::RngCore;
            let x = unit(o.stream.next_u64());
            if x < o.rates.fail_rate {
                Verdict::Fail(RANDOM_FAULT_MESSAGE.to_string())
            } else if x < o.rates.fail_rate + o.rates.empty_rate {
                Verdict::Empty
            } else {
                Verdict::Pass
            }
        });
        let scripted = {
            let mut cursors = self.cursors.borrow_mut();
            match cursors.get_mut(op) {
                None => None,
                Some(Cursors::Shared(cursor)) => cursor.next_step(),
                Some(Cursors::PerWorker(map)) => {
                    map.get_mut(worker).and_then(ScriptCursor::next_step)
                }
            }
        };
        let decision = match (scripted, drawn) {
            (Some(verdict), _) => {
                let source = (verdict != Verdict::Pass).then_some(FaultSource::Script);
                Decision { verdict, source }
            }
            (None, Some(verdict)) => {
                let source = (verdict != Verdict::Pass).then_some(FaultSource::Random);
                Decision { verdict, source }
            }
            (None, None) => Decision {
                verdict: Verdict::Pass,
                source: None,
            },
        };
        let mut log = self.log.borrow_mut();
        if decision.source == Some(FaultSource::Random) {
            log.random_faults += 1;
        }
        if !self.recording {
            return decision;
        }
        log.shared
            .entry(op)
            .or_default()
            .push(decision.verdict.clone());
        log.per_worker
            .entry((op, worker.clone()))
            .or_default()
            .push(decision.verdict.clone());
        decision
    }

    /// A call after the heal: it passes, and is logged as a pass.
    #[cold]
    fn healed_pass(&self, op: QueueOp, worker: &WorkerId) -> Decision {
        if self.recording {
            let mut log = self.log.borrow_mut();
            log.shared.entry(op).or_default().push(Verdict::Pass);
            log.per_worker
                .entry((op, worker.clone()))
                .or_default()
                .push(Verdict::Pass);
        }
        Decision {
            verdict: Verdict::Pass,
            source: None,
        }
    }

    /// Every verdict given so far.
    pub fn log(&self) -> VerdictLog {
        self.log.borrow().clone()
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

    fn injected(
        &self,
        op: QueueOp,
        attempt: Option<&AttemptId>,
        message: String,
        source: Option<FaultSource>,
    ) -> QueueError {
        self.record(
            op,
            attempt,
            CallResult::Failed {
                message: message.clone(),
                fault: source.or(Some(FaultSource::Script)),
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
        let decision = self
            .faults
            .decide(op, &self.worker, self.trace.len() as u64);
        match decision.verdict {
            Verdict::Fail(message) => Err(self.injected(op, attempt, message, decision.source)),
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
        let decision = self.faults.decide(op, worker, self.trace.len() as u64);
        match decision.verdict {
            Verdict::Fail(message) => Err(self.injected(op, None, message, decision.source)),
            Verdict::Empty => {
                self.record(
                    op,
                    None,
                    CallResult::Empty {
                        fault: decision.source.or(Some(FaultSource::Script)),
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
            let decision = self
                .faults
                .decide(op, &self.worker, self.trace.len() as u64);
            match decision.verdict {
                Verdict::Fail(message) => {
                    Err(self.injected(op, attempt.as_ref(), message, decision.source))
                }
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
    fn an_overlay_label_names_its_operation() {
        for op in QueueOp::ALL {
            assert_eq!(overlay_label(op), format!("faults.random.{}", op.as_str()));
        }
    }

    #[test]
    fn an_operation_is_at_its_place_in_the_per_op_table() {
        for (i, op) in QueueOp::ALL.into_iter().enumerate() {
            assert_eq!(op as usize, i, "{op:?}");
            let mut table: PerOp<usize> = [(op, i)].into_iter().collect();
            assert_eq!(table.get_mut(op), Some(&mut i.clone()));
            assert_eq!(table.ops(), vec![op]);
        }
    }

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
