//! What the reference store promises, pinned call by call on a hand-driven
//! clock: found by mutation testing (BENCHMARKS.md). The scenario suite runs
//! the store through the simulator, which never calls its helpers
//! (`reserve`, `status`, listeners...) and runs `reassignment: reference`
//! only where it strands attempts anyway, so a store that strands more
//! looked the same there. Times are whole milliseconds from 0.

use std::cell::{Cell, RefCell};
use std::future::{Future, ready};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::*;

/// A clock the test moves by hand; clones share it. Nothing here sleeps.
#[derive(Clone, Default)]
struct HandClock(Rc<Cell<Duration>>);

impl HandClock {
    fn set(&self, ms: u64) {
        self.0.set(Duration::from_millis(ms));
    }
}

impl Clock for HandClock {
    fn now(&self) -> Duration {
        self.0.get()
    }
    fn sleep_until(&self, _: Duration) -> impl Future<Output = ()> {
        ready(())
    }
}

/// The store's futures are ready at once: poll once.
fn now<T>(future: impl Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("the memory queue's futures complete immediately"),
    }
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn worker(name: &str) -> WorkerId {
    WorkerId::new(name)
}

fn attempt(rollout: &str, number: u32) -> AttemptId {
    AttemptId::new(RolloutId::new(rollout), number)
}

/// A queue on `policy` with `rollouts` enqueued at 0 and `workers`
/// registered at 0.
fn queue(
    policy: ReassignmentPolicy,
    rollouts: &[&str],
    workers: &[&str],
) -> (HandClock, MemoryQueue<HandClock>) {
    let clock = HandClock::default();
    let queue = MemoryQueue::with_policy(clock.clone(), policy);
    for id in rollouts {
        queue
            .enqueue(
                Rollout {
                    id: RolloutId::new(id),
                    input: serde_json::json!({ "id": id }),
                },
                None,
            )
            .unwrap();
    }
    for w in workers {
        now(queue.register_worker(&worker(w))).unwrap();
    }
    (clock, queue)
}

fn dequeue(queue: &MemoryQueue<HandClock>, w: &str) -> AttemptId {
    now(queue.dequeue(&worker(w)))
        .unwrap()
        .expect("a waiting rollout")
        .attempt
}

fn requeue(queue: &MemoryQueue<HandClock>, timeout_ms: u64) -> Vec<AttemptId> {
    now(queue.requeue_stale(ms(timeout_ms))).unwrap()
}

const BOTH: [ReassignmentPolicy; 2] = [
    ReassignmentPolicy::ScanAllAttempts,
    ReassignmentPolicy::WorkerActiveIds,
];

#[test]
fn an_attempt_that_never_heartbeats_times_out_strictly_after_the_timeout() {
    for policy in BOTH {
        let (clock, q) = queue(policy, &["r1"], &["w1"]);
        let a1 = dequeue(&q, "w1");
        assert_eq!(a1, attempt("r1", 1), "{policy:?}");
        clock.set(50);
        // Age 50 is not older than 50.
        assert_eq!(requeue(&q, 50), [], "{policy:?}");
        clock.set(51);
        assert_eq!(requeue(&q, 50), std::slice::from_ref(&a1), "{policy:?}");
        let snapshot = q.snapshot();
        let record = snapshot.attempt(&a1).unwrap();
        assert_eq!(record.status, AttemptStatus::Timeout, "{policy:?}");
        assert_eq!(record.ended_at, Some(ms(51)), "{policy:?}");
        assert_eq!(record.error.as_deref(), Some(HEARTBEAT_TIMEOUT_MESSAGE));
        assert_eq!(q.status(&"r1".into()), Some(RolloutStatus::Requeuing));
        assert_eq!(q.running_attempts(), [], "{policy:?}");
        // Timed out once is timed out: the next reassignment finds nothing.
        clock.set(200);
        assert_eq!(requeue(&q, 50), [], "{policy:?}");
        // The requeued rollout's next attempt goes to whoever dequeues.
        now(q.register_worker(&worker("w2"))).unwrap();
        assert_eq!(dequeue(&q, "w2"), attempt("r1", 2), "{policy:?}");
        assert_eq!(q.running_attempts(), [attempt("r1", 2)], "{policy:?}");
    }
}

#[test]
fn an_attempt_heartbeat_by_its_worker_keeps_the_attempt_alive() {
    for policy in BOTH {
        let (clock, q) = queue(policy, &["r1"], &["w1"]);
        let a1 = dequeue(&q, "w1");
        clock.set(40);
        now(q.heartbeat(&worker("w1"), Some(&a1))).unwrap();
        assert_eq!(q.snapshot().attempt(&a1).unwrap().last_heartbeat, ms(40));
        clock.set(60);
        // Age 20: the dequeue at 0 no longer counts.
        assert_eq!(requeue(&q, 50), [], "{policy:?}");
        clock.set(90);
        assert_eq!(requeue(&q, 50), [], "{policy:?}");
        clock.set(91);
        assert_eq!(requeue(&q, 50), [a1], "{policy:?}");
    }
}

#[test]
fn a_heartbeat_naming_someone_elses_attempt_refreshes_only_the_worker() {
    for policy in BOTH {
        let (clock, q) = queue(policy, &["r1"], &["w1", "w2"]);
        let a1 = dequeue(&q, "w1");
        clock.set(40);
        now(q.heartbeat(&worker("w2"), Some(&a1))).unwrap();
        assert_eq!(q.snapshot().attempt(&a1).unwrap().last_heartbeat, ms(0));
        clock.set(51);
        assert_eq!(requeue(&q, 50), std::slice::from_ref(&a1), "{policy:?}");
        // A heartbeat naming an attempt that stopped running changes nothing.
        clock.set(60);
        now(q.heartbeat(&worker("w1"), Some(&a1))).unwrap();
        let snapshot = q.snapshot();
        let record = snapshot.attempt(&a1).unwrap();
        assert_eq!(
            (record.status, record.last_heartbeat),
            (AttemptStatus::Timeout, ms(0))
        );
    }
}

#[test]
fn the_reference_store_loses_an_attempt_when_a_plain_heartbeat_clears_the_active_ids() {
    // The defect `reassignment: reference` reproduces; ours finds it.
    for (policy, found) in [
        (ReassignmentPolicy::WorkerActiveIds, vec![]),
        (ReassignmentPolicy::ScanAllAttempts, vec![attempt("r1", 1)]),
    ] {
        let (clock, q) = queue(policy, &["r1"], &["w1"]);
        let a1 = dequeue(&q, "w1");
        now(q.heartbeat(&worker("w1"), Some(&a1))).unwrap();
        clock.set(10);
        now(q.heartbeat(&worker("w1"), None)).unwrap();
        clock.set(100);
        assert_eq!(requeue(&q, 50), found, "{policy:?}");
    }
}

#[test]
fn the_reference_store_scans_only_workers_silent_for_longer_than_the_timeout() {
    let (clock, q) = queue(ReassignmentPolicy::WorkerActiveIds, &["r1", "r2"], &["w1"]);
    now(q.register_worker(&worker("w2"))).unwrap();
    let a1 = dequeue(&q, "w1");
    clock.set(30);
    let a2 = dequeue(&q, "w2");
    now(q.heartbeat(&worker("w2"), Some(&a2))).unwrap();
    clock.set(70);
    // w1 last heartbeated at 0 (its registration), w2 at 30.
    assert_eq!(requeue(&q, 50), [a1]);
    {
        let store = q.store.borrow();
        // The scanned worker listed nothing more: it is dropped from the
        // scan until its next heartbeat or dequeue, and its active ids no
        // longer name the attempt that timed out.
        assert_eq!(
            store.active_by_heartbeat.iter().collect::<Vec<_>>(),
            [&(ms(30), worker("w2"))]
        );
        assert_eq!(store.workers[&worker("w1")].active, []);
    }
    clock.set(81);
    assert_eq!(requeue(&q, 50), [a2]);
    assert_eq!(q.store.borrow().active_by_heartbeat.len(), 0);
}

#[test]
fn the_reference_store_keeps_one_scan_entry_per_worker() {
    let (clock, q) = queue(ReassignmentPolicy::WorkerActiveIds, &["r1"], &["w1"]);
    let a1 = dequeue(&q, "w1");
    for t in [10, 20, 30] {
        clock.set(t);
        now(q.heartbeat(&worker("w1"), Some(&a1))).unwrap();
    }
    assert_eq!(
        q.store
            .borrow()
            .active_by_heartbeat
            .iter()
            .collect::<Vec<_>>(),
        [&(ms(30), worker("w1"))]
    );
    // A plain heartbeat lists nothing: no entry.
    now(q.heartbeat(&worker("w1"), None)).unwrap();
    assert_eq!(q.store.borrow().active_by_heartbeat.len(), 0);
    // A restarted worker starts afresh.
    now(q.heartbeat(&worker("w1"), Some(&a1))).unwrap();
    now(q.register_worker(&worker("w1"))).unwrap();
    assert_eq!(q.store.borrow().active_by_heartbeat.len(), 0);
}

#[test]
fn completing_an_attempt_takes_it_off_its_workers_active_ids() {
    for policy in BOTH {
        let (_, q) = queue(policy, &["r1"], &["w1"]);
        let a1 = dequeue(&q, "w1");
        assert_eq!(
            q.store.borrow().workers[&worker("w1")].active,
            std::slice::from_ref(&a1)
        );
        assert_eq!(
            now(q.complete_attempt(&a1, AttemptOutcome::Succeeded)),
            Ok(Completion::Recorded)
        );
        assert_eq!(q.store.borrow().workers[&worker("w1")].active, []);
    }
}

#[test]
fn an_attempt_heartbeat_at_the_same_instant_adds_no_scan_entry() {
    let (clock, q) = queue(ReassignmentPolicy::ScanAllAttempts, &["r1"], &["w1"]);
    let a1 = dequeue(&q, "w1");
    now(q.heartbeat(&worker("w1"), Some(&a1))).unwrap();
    assert_eq!(q.store.borrow().heartbeats.len(), 1);
    clock.set(5);
    now(q.heartbeat(&worker("w1"), Some(&a1))).unwrap();
    assert_eq!(
        q.store.borrow().heartbeats.iter().collect::<Vec<_>>(),
        [&(ms(0), 0, 1), &(ms(5), 0, 1)]
    );
}

#[test]
fn scan_entries_are_compacted_past_twice_the_running_attempts_and_64() {
    // Three running attempts: the bound is 2 * 3 + 64 = 70 entries.
    let (clock, q) = queue(
        ReassignmentPolicy::ScanAllAttempts,
        &["r1", "r2", "r3"],
        &["w1", "w2", "w3"],
    );
    let a1 = dequeue(&q, "w1");
    dequeue(&q, "w2");
    dequeue(&q, "w3");
    let beat = |t: u64| {
        clock.set(t);
        now(q.heartbeat(&worker("w1"), Some(&a1))).unwrap();
        q.store.borrow().heartbeats.len()
    };
    for t in 1..=66 {
        assert_eq!(beat(t), 3 + t as usize);
    }
    assert_eq!(beat(67), 70);
    // The 71st entry is one too many: only each attempt's last one stays.
    assert_eq!(beat(68), 3);
    assert_eq!(
        q.store.borrow().heartbeats.iter().collect::<Vec<_>>(),
        [&(ms(0), 1, 1), &(ms(0), 2, 1), &(ms(68), 0, 1)]
    );
    // And reassignment still reads them right.
    clock.set(100);
    assert_eq!(requeue(&q, 50), [attempt("r2", 1), attempt("r3", 1)]);
}

#[test]
fn a_clock_that_goes_back_still_finds_the_stale_attempts() {
    // "Not with a clock that never goes back; kept right regardless."
    let (clock, q) = queue(
        ReassignmentPolicy::ScanAllAttempts,
        &["r1", "r2"],
        &["w1", "w2"],
    );
    clock.set(100);
    dequeue(&q, "w1");
    clock.set(10);
    let a2 = dequeue(&q, "w2");
    clock.set(70);
    assert_eq!(requeue(&q, 50), [a2]);
}

#[test]
fn the_last_allowed_attempt_timing_out_fails_the_rollout() {
    for policy in BOTH {
        let clock = HandClock::default();
        let q = MemoryQueue::with_policy(clock.clone(), policy);
        let r1 = Rollout {
            id: "r1".into(),
            input: serde_json::Value::Null,
        };
        q.enqueue(r1, Some(2)).unwrap();
        now(q.register_worker(&worker("w1"))).unwrap();
        dequeue(&q, "w1");
        clock.set(51);
        assert_eq!(requeue(&q, 50), [attempt("r1", 1)]);
        assert_eq!(q.status(&"r1".into()), Some(RolloutStatus::Requeuing));
        assert_eq!(q.terminal_count(), 0);
        assert_eq!(dequeue(&q, "w1"), attempt("r1", 2));
        clock.set(102);
        assert_eq!(requeue(&q, 50), [attempt("r1", 2)]);
        let snapshot = q.snapshot();
        let record = snapshot.rollout("r1").unwrap();
        assert_eq!(record.status, RolloutStatus::Failed, "{policy:?}");
        assert_eq!(record.finished_at, Some(ms(102)));
        assert_eq!(
            record.error.as_deref(),
            Some("worker heartbeat timeout; attempts exhausted (max_attempts = 2)")
        );
        assert_eq!(q.terminal_count(), 1);
        assert_eq!(now(q.dequeue(&worker("w1"))), Ok(None));
    }
}

#[test]
fn completion_records_the_outcome_once_and_only_on_a_running_attempt() {
    let (clock, q) = queue(ReassignmentPolicy::default(), &["r1", "r2"], &["w1"]);
    let a1 = dequeue(&q, "w1");
    let a2 = dequeue(&q, "w1");
    clock.set(7);
    let failed = AttemptOutcome::Failed {
        message: "boom".into(),
    };
    assert_eq!(
        now(q.complete_attempt(&a1, failed.clone())),
        Ok(Completion::Recorded)
    );
    assert_eq!(
        now(q.complete_attempt(&a1, AttemptOutcome::Succeeded)),
        Ok(Completion::NoLongerRunning)
    );
    assert_eq!(
        now(q.complete_attempt(&a2, AttemptOutcome::Succeeded)),
        Ok(Completion::Recorded)
    );
    let snapshot = q.snapshot();
    let (r1, r2) = (
        snapshot.rollout("r1").unwrap(),
        snapshot.rollout("r2").unwrap(),
    );
    assert_eq!(
        (r1.status, r1.error.as_deref(), r1.finished_at),
        (RolloutStatus::Failed, Some("boom"), Some(ms(7)))
    );
    let a1 = r1.last_attempt().unwrap();
    assert_eq!(
        (a1.status, a1.error.as_deref(), a1.ended_at),
        (AttemptStatus::Failed, Some("boom"), Some(ms(7)))
    );
    assert_eq!(
        (r2.status, r2.error.as_deref()),
        (RolloutStatus::Succeeded, None)
    );
    assert_eq!(q.terminal_count(), 2);
    assert_eq!(
        now(q.complete_attempt(&attempt("r9", 1), AttemptOutcome::Succeeded)),
        Err(QueueError::Unknown {
            op: QueueOp::Complete,
            what: "rollout",
            id: "r9".into()
        })
    );
    assert_eq!(
        now(q.complete_attempt(&attempt("r1", 2), AttemptOutcome::Succeeded)),
        Err(QueueError::Unknown {
            op: QueueOp::Complete,
            what: "attempt",
            id: "r1:attempt-2".into()
        })
    );
}

#[test]
fn calls_from_an_unregistered_worker_are_refused() {
    let (_, q) = queue(ReassignmentPolicy::default(), &["r1"], &[]);
    let unknown = |op| QueueError::Unknown {
        op,
        what: "worker",
        id: "w9".into(),
    };
    assert_eq!(
        now(q.heartbeat(&worker("w9"), None)),
        Err(unknown(QueueOp::Heartbeat))
    );
    assert_eq!(
        now(q.dequeue(&worker("w9"))),
        Err(unknown(QueueOp::Dequeue))
    );
    assert_eq!(q.status(&"r1".into()), Some(RolloutStatus::Queuing));
}

#[test]
fn the_status_listener_hears_every_change_after_it_is_made() {
    let (clock, q) = queue(ReassignmentPolicy::default(), &["r1"], &["w1"]);
    let heard = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&heard);
    q.set_status_listener(move |id, status| log.borrow_mut().push((id.to_string(), status)));
    dequeue(&q, "w1");
    clock.set(51);
    requeue(&q, 50);
    let a2 = dequeue(&q, "w1");
    now(q.complete_attempt(&a2, AttemptOutcome::Succeeded)).unwrap();
    use RolloutStatus::*;
    assert_eq!(
        *heard.borrow(),
        [Running, Requeuing, Running, Succeeded].map(|s| ("r1".to_string(), s))
    );
}

#[test]
fn the_queues_accessors_report_its_state() {
    let (_, q) = queue(ReassignmentPolicy::default(), &[], &["w1"]);
    assert!(q.is_empty());
    assert_eq!(q.len(), 0);
    q.reserve(10);
    {
        let store = q.store.borrow();
        assert!(store.rollouts.capacity() >= 10);
        assert!(store.index.capacity() >= 10);
        assert!(store.waiting.capacity() >= 10);
    }
    for id in ["r1", "r2", "r3"] {
        let rollout = Rollout {
            id: id.into(),
            input: serde_json::Value::Null,
        };
        q.enqueue(rollout, None).unwrap();
    }
    let again = Rollout {
        id: "r2".into(),
        input: serde_json::Value::Null,
    };
    assert_eq!(
        q.enqueue(again, None),
        Err(QueueError::Invalid {
            op: QueueOp::Register,
            message: "rollout `r2` is already in the queue".into()
        })
    );
    assert!(!q.is_empty());
    assert_eq!(q.len(), 3);
    assert_eq!(
        ["r1", "r2", "r3", "r4"].map(|id| q.position(&id.into())),
        [Some(0), Some(1), Some(2), None]
    );
    dequeue(&q, "w1");
    dequeue(&q, "w1");
    assert_eq!(q.running_attempts(), [attempt("r1", 1), attempt("r2", 1)]);
    assert_eq!(
        ["r1", "r3", "r4"].map(|id| q.status(&id.into())),
        [
            Some(RolloutStatus::Running),
            Some(RolloutStatus::Queuing),
            None
        ]
    );
    assert_eq!(
        format!("{q:?}"),
        "MemoryQueue { rollouts: 3, waiting: 1, running: 2, terminal: 0 }"
    );
}

#[test]
fn a_snapshot_answers_by_id_even_when_its_rollouts_were_edited() {
    let (_, q) = queue(ReassignmentPolicy::default(), &["r1", "r2"], &["w1"]);
    dequeue(&q, "w1");
    let shared = q.snapshot();
    let ids = |s: &QueueSnapshot| {
        s.rollouts
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&shared), ["r1", "r2"]);
    assert_eq!(shared.rollout("r2").unwrap().id.as_str(), "r2");
    assert!(shared.rollout("r3").is_none());
    let a1 = shared.attempt(&attempt("r1", 1)).unwrap();
    assert_eq!(
        (a1.status, a1.worker.as_str()),
        (AttemptStatus::Running, "w1")
    );
    assert!(shared.attempt(&attempt("r1", 0)).is_none());
    assert!(shared.attempt(&attempt("r1", 2)).is_none());
    assert!(shared.attempt(&attempt("r3", 1)).is_none());

    let mut edited = shared.clone();
    edited.rollouts.reverse();
    assert_eq!(edited.rollout("r1").unwrap().id.as_str(), "r1");
    assert_eq!(edited.rollout("r2").unwrap().id.as_str(), "r2");
    edited.rollouts.pop();
    // r1 was at 0, now r2 is; and nothing is at 1.
    assert!(edited.rollout("r1").is_none());
    assert_eq!(edited.rollout("r2").unwrap().id.as_str(), "r2");

    let owned = q.into_snapshot();
    assert_eq!(ids(&owned), ["r1", "r2"]);
    assert_eq!(owned.rollout("r1").unwrap().status, RolloutStatus::Running);
}
