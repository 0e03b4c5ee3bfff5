//! The reference rollout store, in memory.
//!
//! Rollouts wait in one FIFO line (new ones and requeued ones alike, requeued
//! ones at the back). Dequeue opens attempt `n + 1` already `running` and
//! assigns it to the caller. Heartbeats refresh a worker and, when they name
//! one, an attempt. Reassignment times out every running attempt whose last
//! heartbeat is older than the worker timeout, strictly, and requeues its
//! rollout, or fails it when `max_attempts` is used up.
//!
//! The reference store finds stale attempts only through each worker's
//! *active ids*, which a plain heartbeat clears: an attempt whose completion
//! failed midway is then never found and stays `running` forever.
//! [`ReassignmentPolicy::ScanAllAttempts`] (the default) fixes that;
//! [`ReassignmentPolicy::WorkerActiveIds`] reproduces it for research.
//!
//! Time comes from the queue's own [`Clock`]. Every operation completes
//! immediately; wrap the queue to add latency or faults.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::{Future, ready};
use std::time::Duration;

use super::index::{IdIndex, KeyedHash};
use super::model::*;
use super::{Queue, QueueError, QueueOp};
use crate::clock::Clock;
use crate::telemetry::{Span, SpanStore};

/// How reassignment finds stale attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReassignmentPolicy {
    /// Scan every running attempt (ours): nothing can be stranded.
    #[default]
    ScanAllAttempts,
    /// Scan only attempts listed in workers' active ids, which a plain
    /// heartbeat clears (the reference's behaviour, with its defect).
    WorkerActiveIds,
}

/// The message a timed-out attempt carries.
pub const HEARTBEAT_TIMEOUT_MESSAGE: &str = "worker heartbeat timeout";

#[derive(Debug, Clone)]
struct WorkerRecord {
    last_heartbeat: Duration,
    active: Vec<AttemptId>,
}

/// A read-only copy of the queue's state at one moment.
#[derive(Debug, Clone, Default)]
pub struct QueueSnapshot {
    /// Every rollout, in the order enqueued.
    pub rollouts: Vec<RolloutRecord>,
    /// Every persisted span.
    pub spans: SpanStore,
    /// Rollout id to its position in `rollouts`, as the queue kept it.
    index: IdIndex,
}

impl QueueSnapshot {
    /// A rollout by id: by the queue's own index, checked, so that a
    /// snapshot whose `rollouts` were edited still answers right.
    pub fn rollout(&self, id: &str) -> Option<&RolloutRecord> {
        if let Some(i) = self.index.get_str(id, &self.rollouts) {
            return Some(&self.rollouts[i]);
        }
        self.rollouts.iter().find(|r| r.id.as_str() == id)
    }

    /// An attempt by id.
    pub fn attempt(&self, id: &AttemptId) -> Option<&AttemptRecord> {
        self.rollout(id.rollout.as_str())?
            .attempts
            .get(id.number.checked_sub(1)? as usize)
    }
}

type StatusListener = Box<dyn Fn(&RolloutId, RolloutStatus)>;

#[derive(Default)]
struct Store {
    rollouts: Vec<RolloutRecord>,
    /// Id to position in `rollouts` ([`IdIndex`]: positions only).
    index: IdIndex,
    waiting: VecDeque<usize>,
    /// Running attempts as (rollout index, attempt number): ordered, so scans
    /// are deterministic.
    running: BTreeSet<(usize, u32)>,
    /// [`ReassignmentPolicy::ScanAllAttempts`]: (time, rollout index,
    /// attempt number) of each dequeue and attempt heartbeat, in time order
    /// (the clock never goes back), so that a reassignment reads only the
    /// stale ones from the front: a scan of every running attempt at every
    /// tick costs a run with many workers its workers squared per
    /// interval. An entry counts while its attempt is running with that
    /// last heartbeat; the others are dropped when they come to the front,
    /// or all at once when they outnumber the running attempts.
    heartbeats: VecDeque<(Duration, usize, u32)>,
    /// Keyed, as `index`: every call looks its worker up, and a run may
    /// have a thousand; only looked up, never iterated.
    workers: HashMap<WorkerId, WorkerRecord, KeyedHash>,
    /// [`ReassignmentPolicy::WorkerActiveIds`]: (last heartbeat, worker) of
    /// the workers that may list a running attempt among their active ids,
    /// for the same reason. Entries whose worker lists none are dropped
    /// when a reassignment comes to them; a worker's heartbeat or dequeue
    /// puts it back.
    active_by_heartbeat: BTreeSet<(Duration, WorkerId)>,
    spans: SpanStore,
    terminal: usize,
    policy: ReassignmentPolicy,
    listener: Option<StatusListener>,
}

/// The reference store in memory. Share it between workers with `Rc`.
pub struct MemoryQueue<C> {
    clock: C,
    store: RefCell<Store>,
}

impl<C> std::fmt::Debug for MemoryQueue<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = self.store.borrow();
        f.debug_struct("MemoryQueue")
            .field("rollouts", &store.rollouts.len())
            .field("waiting", &store.waiting.len())
            .field("running", &store.running.len())
            .field("terminal", &store.terminal)
            .finish()
    }
}

impl<C: Clock> MemoryQueue<C> {
    /// An empty queue on `clock`, with the default reassignment policy.
    pub fn new(clock: C) -> Self {
        Self::with_policy(clock, ReassignmentPolicy::default())
    }

    /// An empty queue with an explicit reassignment policy.
    pub fn with_policy(clock: C, policy: ReassignmentPolicy) -> Self {
        Self {
            clock,
            store: RefCell::new(Store {
                policy,
                ..Store::default()
            }),
        }
    }

    /// Calls `listener` on every rollout status change, after the change.
    pub fn set_status_listener(&self, listener: impl Fn(&RolloutId, RolloutStatus) + 'static) {
        self.store.borrow_mut().listener = Some(Box::new(listener));
    }

    /// Adds a rollout at the back of the line. `max_attempts` of `None`
    /// means unlimited, as in the reference.
    pub fn enqueue(&self, rollout: Rollout, max_attempts: Option<u32>) -> Result<(), QueueError> {
        let now = self.clock.now();
        let mut store = self.store.borrow_mut();
        let store = &mut *store;
        if store.index.get(&rollout.id, &store.rollouts).is_some() {
            return Err(QueueError::Invalid {
                op: QueueOp::Register,
                message: format!("rollout `{}` is already in the queue", rollout.id),
            });
        }
        let idx = store.rollouts.len();
        store.rollouts.push(RolloutRecord {
            id: rollout.id,
            input: rollout.input,
            status: RolloutStatus::Queuing,
            max_attempts,
            enqueued_at: now,
            finished_at: None,
            attempts: Vec::new(),
            error: None,
        });
        store.index.insert(idx, &store.rollouts);
        store.waiting.push_back(idx);
        Ok(())
    }

    /// Makes room for `additional` more rollouts, so that a run that knows
    /// how many it will enqueue allocates once.
    pub fn reserve(&self, additional: usize) {
        let mut store = self.store.borrow_mut();
        let store = &mut *store;
        store.rollouts.reserve_exact(additional);
        store.index.reserve(additional, &store.rollouts);
        store.waiting.reserve(additional.min(1 << 16));
    }

    /// How many rollouts were enqueued.
    pub fn len(&self) -> usize {
        self.store.borrow().rollouts.len()
    }

    /// True when nothing was ever enqueued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where a rollout is in the order of enqueueing (0 for the first).
    pub fn position(&self, rollout: &RolloutId) -> Option<usize> {
        let store = self.store.borrow();
        store.index.get(rollout, &store.rollouts)
    }

    /// How many rollouts are succeeded, failed or cancelled.
    pub fn terminal_count(&self) -> usize {
        self.store.borrow().terminal
    }

    /// Attempts running now, in rollout order.
    pub fn running_attempts(&self) -> Vec<AttemptId> {
        let store = self.store.borrow();
        store
            .running
            .iter()
            .map(|&(idx, n)| AttemptId::new(store.rollouts[idx].id.clone(), n))
            .collect()
    }

    /// The status of a rollout.
    pub fn status(&self, rollout: &RolloutId) -> Option<RolloutStatus> {
        let store = self.store.borrow();
        store
            .index
            .get(rollout, &store.rollouts)
            .map(|i| store.rollouts[i].status)
    }

    /// A copy of the whole state.
    pub fn snapshot(&self) -> QueueSnapshot {
        let store = self.store.borrow();
        QueueSnapshot {
            rollouts: store.rollouts.clone(),
            spans: store.spans.clone(),
            index: store.index.clone(),
        }
    }

    /// The whole state, without copying.
    pub fn into_snapshot(self) -> QueueSnapshot {
        let store = self.store.into_inner();
        QueueSnapshot {
            rollouts: store.rollouts,
            spans: store.spans,
            index: store.index,
        }
    }

    fn heartbeat_now(
        &self,
        worker: &WorkerId,
        attempt: Option<&AttemptId>,
    ) -> Result<(), QueueError> {
        let now = self.clock.now();
        let mut guard = self.store.borrow_mut();
        let store = &mut *guard;
        let Some(record) = store.workers.get_mut(worker) else {
            return Err(unknown(QueueOp::Heartbeat, "worker", worker.as_str()));
        };
        let before = std::mem::replace(&mut record.last_heartbeat, now);
        record.active.clear();
        if store.policy == ReassignmentPolicy::WorkerActiveIds {
            store.active_by_heartbeat.remove(&(before, worker.clone()));
            if attempt.is_some() {
                store.active_by_heartbeat.insert((now, worker.clone()));
            }
        }
        if let Some(attempt) = attempt {
            record.active.push(attempt.clone());
            if let Some(idx) = store.index.get(&attempt.rollout, &store.rollouts)
                && let Some(a) = store.rollouts[idx]
                    .attempts
                    .get_mut((attempt.number as usize).wrapping_sub(1))
                && a.status == AttemptStatus::Running
                && &a.worker == worker
            {
                let before = std::mem::replace(&mut a.last_heartbeat, now);
                if store.policy == ReassignmentPolicy::ScanAllAttempts && before != now {
                    store.heartbeat_at(now, idx, attempt.number);
                }
            }
        }
        Ok(())
    }

    fn dequeue_now(&self, worker: &WorkerId) -> Result<Option<Dequeued>, QueueError> {
        let now = self.clock.now();
        let mut guard = self.store.borrow_mut();
        let store = &mut *guard;
        if !store.workers.contains_key(worker) {
            return Err(unknown(QueueOp::Dequeue, "worker", worker.as_str()));
        }
        let Some(idx) = store.waiting.pop_front() else {
            return Ok(None);
        };
        let rollout = &mut store.rollouts[idx];
        let number = rollout.attempts.len() as u32 + 1;
        let attempt = AttemptId::new(rollout.id.clone(), number);
        // Most rollouts have one attempt: no room for four.
        rollout.attempts.reserve_exact(1);
        rollout.attempts.push(AttemptRecord {
            id: attempt.clone(),
            status: AttemptStatus::Running,
            worker: worker.clone(),
            started_at: now,
            last_heartbeat: now,
            ended_at: None,
            error: None,
        });
        let handed = Rollout {
            id: rollout.id.clone(),
            input: rollout.input.clone(),
        };
        store.set_status(idx, RolloutStatus::Running, now, QueueOp::Dequeue)?;
        store.running.insert((idx, number));
        if store.policy == ReassignmentPolicy::ScanAllAttempts {
            store.heartbeat_at(now, idx, number);
        }
        if let Some(w) = store.workers.get_mut(worker) {
            w.active = vec![attempt.clone()];
            if store.policy == ReassignmentPolicy::WorkerActiveIds {
                store
                    .active_by_heartbeat
                    .insert((w.last_heartbeat, worker.clone()));
            }
        }
        Ok(Some(Dequeued {
            rollout: handed,
            attempt,
        }))
    }

    fn requeue_stale_now(&self, timeout: Duration) -> Result<Vec<AttemptId>, QueueError> {
        let now = self.clock.now();
        let mut guard = self.store.borrow_mut();
        let store = &mut *guard;
        // Stale: `now - last > timeout`, that is `last < now - timeout`;
        // nothing is before `timeout` has passed.
        let Some(cutoff) = now.checked_sub(timeout) else {
            return Ok(Vec::new());
        };
        let stale: Vec<(usize, u32)> = match store.policy {
            ReassignmentPolicy::ScanAllAttempts => {
                let mut stale = Vec::new();
                while let Some(&(at, idx, n)) = store.heartbeats.front()
                    && at < cutoff
                {
                    store.heartbeats.pop_front();
                    if store.is_last_heartbeat(at, idx, n) {
                        stale.push((idx, n));
                    }
                }
                // In rollout order, as a scan of every running attempt finds them.
                stale.sort_unstable();
                stale
            }
            ReassignmentPolicy::WorkerActiveIds => {
                let mut found = BTreeSet::new();
                let mut scanned = Vec::new();
                let cut = (cutoff, WorkerId::new(""));
                for (last, id) in store.active_by_heartbeat.range(..cut) {
                    if let Some(worker) = store.workers.get(id)
                        && worker.last_heartbeat == *last
                    {
                        for a in &worker.active {
                            if let Some(idx) = store.index.get(&a.rollout, &store.rollouts)
                                && store.running.contains(&(idx, a.number))
                            {
                                found.insert((idx, a.number));
                            }
                        }
                    }
                    scanned.push((*last, id.clone()));
                }
                // What a scanned worker lists running times out now, and an
                // attempt that stopped running never runs again: it has
                // nothing more to find until its next heartbeat or dequeue,
                // which put it back.
                for entry in scanned {
                    store.active_by_heartbeat.remove(&entry);
                }
                found.into_iter().collect()
            }
        };
        let mut timed_out = Vec::with_capacity(stale.len());
        for (idx, n) in stale {
            store.running.remove(&(idx, n));
            let rollout = &mut store.rollouts[idx];
            let attempt = &mut rollout.attempts[n as usize - 1];
            attempt.status = AttemptStatus::Timeout;
            attempt.ended_at = Some(now);
            attempt.error = Some(HEARTBEAT_TIMEOUT_MESSAGE.to_string());
            let id = attempt.id.clone();
            let worker = attempt.worker.clone();
            let exhausted = rollout.max_attempts.is_some_and(|max| n >= max);
            if exhausted {
                rollout.error = Some(format!(
                    "{HEARTBEAT_TIMEOUT_MESSAGE}; attempts exhausted (max_attempts = {n})"
                ));
                store.set_status(idx, RolloutStatus::Failed, now, QueueOp::Reassign)?;
            } else {
                store.set_status(idx, RolloutStatus::Requeuing, now, QueueOp::Reassign)?;
                store.waiting.push_back(idx);
            }
            if let Some(w) = store.workers.get_mut(&worker) {
                w.active.retain(|a| a != &id);
            }
            timed_out.push(id);
        }
        Ok(timed_out)
    }

    fn complete_now(
        &self,
        attempt: &AttemptId,
        outcome: AttemptOutcome,
    ) -> Result<Completion, QueueError> {
        let now = self.clock.now();
        let mut guard = self.store.borrow_mut();
        let store = &mut *guard;
        let Some(idx) = store.index.get(&attempt.rollout, &store.rollouts) else {
            return Err(unknown(
                QueueOp::Complete,
                "rollout",
                attempt.rollout.as_str(),
            ));
        };
        let Some(record) = store.rollouts[idx]
            .attempts
            .get_mut(attempt.number as usize - 1)
        else {
            return Err(unknown(QueueOp::Complete, "attempt", &attempt.to_string()));
        };
        if record.status != AttemptStatus::Running {
            return Ok(Completion::NoLongerRunning);
        }
        record.status = outcome.status();
        record.ended_at = Some(now);
        let worker = record.worker.clone();
        let (status, error) = match outcome {
            AttemptOutcome::Succeeded => (RolloutStatus::Succeeded, None),
            AttemptOutcome::Failed { message } => (RolloutStatus::Failed, Some(message)),
        };
        record.error = error.clone();
        store.rollouts[idx].error = error;
        store.running.remove(&(idx, attempt.number));
        store.set_status(idx, status, now, QueueOp::Complete)?;
        if let Some(w) = store.workers.get_mut(&worker) {
            w.active.retain(|a| a != attempt);
        }
        Ok(Completion::Recorded)
    }
}

impl Store {
    /// Notes that running attempt `n` of rollout `idx` heartbeated (or was
    /// dequeued) at `at`, for [`ReassignmentPolicy::ScanAllAttempts`].
    fn heartbeat_at(&mut self, at: Duration, idx: usize, n: u32) {
        let out_of_order = self.heartbeats.back().is_some_and(|&(last, ..)| last > at);
        self.heartbeats.push_back((at, idx, n));
        if out_of_order {
            // Not with a clock that never goes back; kept right regardless.
            self.heartbeats.make_contiguous().sort_unstable();
        }
        // Each running attempt has one entry that counts: past twice that
        // (and a margin), dropping the rest costs what pushing them did.
        if self.heartbeats.len() > 2 * self.running.len() + 64 {
            let mut heartbeats = std::mem::take(&mut self.heartbeats);
            heartbeats.retain(|&(at, idx, n)| self.is_last_heartbeat(at, idx, n));
            self.heartbeats = heartbeats;
        }
    }

    /// True when attempt `n` of rollout `idx` is running and last
    /// heartbeated at `at`.
    fn is_last_heartbeat(&self, at: Duration, idx: usize, n: u32) -> bool {
        self.rollouts[idx]
            .attempts
            .get(n as usize - 1)
            .is_some_and(|a| a.status == AttemptStatus::Running && a.last_heartbeat == at)
    }

    fn set_status(
        &mut self,
        idx: usize,
        next: RolloutStatus,
        now: Duration,
        op: QueueOp,
    ) -> Result<(), QueueError> {
        let rollout = &mut self.rollouts[idx];
        if !rollout.status.can_become(next) {
            return Err(QueueError::Invalid {
                op,
                message: format!(
                    "rollout `{}` cannot go from {} to {next}",
                    rollout.id, rollout.status
                ),
            });
        }
        rollout.status = next;
        if next.is_terminal() {
            rollout.finished_at = Some(now);
            self.terminal += 1;
        }
        if let Some(listener) = &self.listener {
            listener(&self.rollouts[idx].id, next);
        }
        Ok(())
    }
}

fn unknown(op: QueueOp, what: &'static str, id: &str) -> QueueError {
    QueueError::Unknown {
        op,
        what,
        id: id.to_string(),
    }
}

impl<C: Clock> Queue for MemoryQueue<C> {
    fn register_worker(&self, worker: &WorkerId) -> impl Future<Output = Result<(), QueueError>> {
        let now = self.clock.now();
        let mut store = self.store.borrow_mut();
        let before = store.workers.insert(
            worker.clone(),
            WorkerRecord {
                last_heartbeat: now,
                active: Vec::new(),
            },
        );
        if let Some(before) = before {
            store
                .active_by_heartbeat
                .remove(&(before.last_heartbeat, worker.clone()));
        }
        ready(Ok(()))
    }

    fn heartbeat(
        &self,
        worker: &WorkerId,
        attempt: Option<&AttemptId>,
    ) -> impl Future<Output = Result<(), QueueError>> {
        ready(self.heartbeat_now(worker, attempt))
    }

    fn dequeue(
        &self,
        worker: &WorkerId,
    ) -> impl Future<Output = Result<Option<Dequeued>, QueueError>> {
        ready(self.dequeue_now(worker))
    }

    fn requeue_stale(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<AttemptId>, QueueError>> {
        ready(self.requeue_stale_now(timeout))
    }

    fn add_spans(&self, spans: Vec<Span>) -> impl Future<Output = Result<(), QueueError>> {
        self.store.borrow_mut().spans.extend(spans);
        ready(Ok(()))
    }

    fn complete_attempt(
        &self,
        attempt: &AttemptId,
        outcome: AttemptOutcome,
    ) -> impl Future<Output = Result<Completion, QueueError>> {
        ready(self.complete_now(attempt, outcome))
    }
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
