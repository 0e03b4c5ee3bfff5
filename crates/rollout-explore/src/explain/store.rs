//! The rollout store as `explain` models it: the reference store's rules
//! (DESIGN §1, `MemoryQueue`'s documentation), written again as plain state
//! so that a prediction does not run the code it predicts.
//!
//! Rollouts wait in one FIFO line in the order they were enqueued, requeued
//! ones at the back. A dequeue opens attempt `n + 1` running, heartbeated
//! now. Reassignment times out every running attempt whose last heartbeat is
//! strictly older than the worker timeout (the reference policy: only the
//! attempts its workers' active ids list, which a plain heartbeat clears),
//! requeueing its rollout or failing it once `max_attempts` is used up.
//! Completing an attempt that is no longer running records nothing.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use rollout_core::{AttemptStatus, ReassignmentPolicy, RolloutStatus, WorkerId};

/// An attempt: its rollout's place in the store and its number.
pub(super) type AttemptRef = (usize, u32);

#[derive(Debug, Clone)]
pub(super) struct ModelAttempt {
    pub worker: usize,
    pub status: AttemptStatus,
    pub last_heartbeat: Duration,
}

#[derive(Debug, Clone)]
pub(super) struct ModelRollout {
    /// Its index in the plan.
    pub plan: usize,
    pub status: RolloutStatus,
    pub attempts: Vec<ModelAttempt>,
}

#[derive(Debug, Clone)]
struct ModelWorker {
    last_heartbeat: Duration,
    active: Vec<AttemptRef>,
}

/// How a completion went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Completed {
    Recorded,
    NoLongerRunning,
}

/// An attempt reassignment timed out, and what became of its rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TimedOut {
    pub attempt: AttemptRef,
    pub last_heartbeat: Duration,
    pub exhausted: bool,
}

#[derive(Debug)]
pub(super) struct StoreModel {
    policy: ReassignmentPolicy,
    max_attempts: Option<u32>,
    /// In the order enqueued.
    pub rollouts: Vec<ModelRollout>,
    waiting: VecDeque<usize>,
    /// The workers' ids, by index.
    ids: Vec<WorkerId>,
    /// By worker index; `None` until it registers.
    workers: Vec<Option<ModelWorker>>,
    /// The reference policy's index of workers with an active attempt, by
    /// the heartbeat that listed them.
    listed: BTreeSet<(Duration, WorkerId)>,
    pub terminal: usize,
    pub last_terminal: Option<Duration>,
}

impl StoreModel {
    pub fn new(policy: ReassignmentPolicy, max_attempts: Option<u32>, ids: Vec<WorkerId>) -> Self {
        Self {
            policy,
            max_attempts,
            rollouts: Vec::new(),
            waiting: VecDeque::new(),
            workers: vec![None; ids.len()],
            ids,
            listed: BTreeSet::new(),
            terminal: 0,
            last_terminal: None,
        }
    }

    pub fn enqueue(&mut self, plan: usize) {
        self.waiting.push_back(self.rollouts.len());
        self.rollouts.push(ModelRollout {
            plan,
            status: RolloutStatus::Queuing,
            attempts: Vec::new(),
        });
    }

    pub fn register(&mut self, worker: usize, now: Duration) {
        let before = self.workers[worker].replace(ModelWorker {
            last_heartbeat: now,
            active: Vec::new(),
        });
        if let Some(before) = before {
            self.listed
                .remove(&(before.last_heartbeat, self.ids[worker].clone()));
        }
    }

    pub fn heartbeat(&mut self, worker: usize, attempt: Option<AttemptRef>, now: Duration) {
        let id = &self.ids[worker];
        let Some(record) = self.workers[worker].as_mut() else {
            return;
        };
        let before = std::mem::replace(&mut record.last_heartbeat, now);
        record.active.clear();
        if self.policy == ReassignmentPolicy::WorkerActiveIds {
            self.listed.remove(&(before, id.clone()));
            if attempt.is_some() {
                self.listed.insert((now, id.clone()));
            }
        }
        if let Some((idx, n)) = attempt {
            record.active.push((idx, n));
            let a = &mut self.rollouts[idx].attempts[n as usize - 1];
            if a.status == AttemptStatus::Running && a.worker == worker {
                a.last_heartbeat = now;
            }
        }
    }

    pub fn dequeue(&mut self, worker: usize, now: Duration) -> Option<AttemptRef> {
        let id = &self.ids[worker];
        let idx = self.waiting.pop_front()?;
        let rollout = &mut self.rollouts[idx];
        rollout.attempts.push(ModelAttempt {
            worker,
            status: AttemptStatus::Running,
            last_heartbeat: now,
        });
        rollout.status = RolloutStatus::Running;
        let attempt = (idx, rollout.attempts.len() as u32);
        if let Some(w) = self.workers[worker].as_mut() {
            w.active = vec![attempt];
            if self.policy == ReassignmentPolicy::WorkerActiveIds {
                self.listed.insert((w.last_heartbeat, id.clone()));
            }
        }
        Some(attempt)
    }

    fn finish(&mut self, idx: usize, status: RolloutStatus, now: Duration) {
        self.rollouts[idx].status = status;
        if status.is_terminal() {
            self.terminal += 1;
            self.last_terminal = Some(now);
        }
    }

    pub fn complete(&mut self, attempt: AttemptRef, failed: bool, now: Duration) -> Completed {
        let (idx, n) = attempt;
        let a = &mut self.rollouts[idx].attempts[n as usize - 1];
        if a.status != AttemptStatus::Running {
            return Completed::NoLongerRunning;
        }
        let worker = a.worker;
        let (attempt_status, rollout_status) = if failed {
            (AttemptStatus::Failed, RolloutStatus::Failed)
        } else {
            (AttemptStatus::Succeeded, RolloutStatus::Succeeded)
        };
        a.status = attempt_status;
        self.finish(idx, rollout_status, now);
        if let Some(w) = self.workers[worker].as_mut() {
            w.active.retain(|a| *a != attempt);
        }
        Completed::Recorded
    }

    pub fn requeue_stale(&mut self, timeout: Duration, now: Duration) -> Vec<TimedOut> {
        let Some(cutoff) = now.checked_sub(timeout) else {
            return Vec::new();
        };
        let mut stale: Vec<AttemptRef> = match self.policy {
            ReassignmentPolicy::ScanAllAttempts => self
                .rollouts
                .iter()
                .enumerate()
                .flat_map(|(idx, r)| {
                    r.attempts.iter().enumerate().filter_map(move |(i, a)| {
                        (a.status == AttemptStatus::Running && a.last_heartbeat < cutoff)
                            .then_some((idx, i as u32 + 1))
                    })
                })
                .collect(),
            ReassignmentPolicy::WorkerActiveIds => {
                let scanned: Vec<(Duration, WorkerId)> = self
                    .listed
                    .range(..(cutoff, WorkerId::new("")))
                    .cloned()
                    .collect();
                let mut found = BTreeSet::new();
                for (last, id) in &scanned {
                    let worker = self.ids.iter().position(|w| w == id);
                    if let Some(w) = worker.and_then(|i| self.workers[i].as_ref())
                        && w.last_heartbeat == *last
                    {
                        for &(idx, n) in &w.active {
                            if self.rollouts[idx].attempts[n as usize - 1].status
                                == AttemptStatus::Running
                            {
                                found.insert((idx, n));
                            }
                        }
                    }
                }
                for entry in scanned {
                    self.listed.remove(&entry);
                }
                found.into_iter().collect()
            }
        };
        stale.sort_unstable();
        let mut timed_out = Vec::with_capacity(stale.len());
        for (idx, n) in stale {
            let a = &mut self.rollouts[idx].attempts[n as usize - 1];
            a.status = AttemptStatus::Timeout;
            let (worker, last_heartbeat) = (a.worker, a.last_heartbeat);
            let exhausted = self.max_attempts.is_some_and(|max| n >= max);
            if exhausted {
                self.finish(idx, RolloutStatus::Failed, now);
            } else {
                self.rollouts[idx].status = RolloutStatus::Requeuing;
                self.waiting.push_back(idx);
            }
            if let Some(w) = self.workers[worker].as_mut() {
                w.active.retain(|a| *a != (idx, n));
            }
            timed_out.push(TimedOut {
                attempt: (idx, n),
                last_heartbeat,
                exhausted,
            });
        }
        timed_out
    }
}
