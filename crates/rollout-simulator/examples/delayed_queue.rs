//! Embedding the runner core: a custom `Queue` that wraps the reference
//! `MemoryQueue`, adds 2 ms of latency to every call and fails the first two
//! dequeues, driven step by step on the virtual executor.
//!
//! Expected, by hand: with the default backoff (initial 25 ms, max 500 ms) the
//! two failed polls sleep 25 ms (25 * 2^0) then 50 ms (25 * 2^1), and the third
//! poll dequeues r1. Its attempt carries failures = 2 and backoff = 25 + 50 =
//! 75 ms = initial + 2 * initial. Latency is not backoff: it is not counted.
//!
//! It needs only the core and simulator crates. Run it with
//! `cargo run -p rollout-simulator --example delayed_queue` (the workspace's
//! `tests/example.rs` runs it too).

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use rollout_core::Clock;
use rollout_core::*;
use rollout_core::{Execution, ExecutionError, RolloutExecutor, Runner, RunnerConfig};
use rollout_core::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC, Reward, Span};
use rollout_simulator::{VirtualClock, VirtualExecutor};

const LATENCY: Duration = Duration::from_millis(2);

/// The reference queue behind a slow network that drops the first dequeues.
struct DelayedQueue {
    inner: Rc<MemoryQueue<VirtualClock>>,
    clock: VirtualClock,
    dequeues: Cell<u32>,
}

/// Queue methods that sleep `LATENCY` on the clock, then delegate.
macro_rules! delayed {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ok:ty;)*) => {$(
        async fn $name(&self, $($arg: $ty),*) -> Result<$ok, QueueError> {
            self.clock.sleep(LATENCY).await;
            self.inner.$name($($arg),*).await
        }
    )*};
}

impl Queue for DelayedQueue {
    delayed! {
        register_worker(worker: &WorkerId) -> ();
        heartbeat(worker: &WorkerId, attempt: Option<&AttemptId>) -> ();
        requeue_stale(timeout: Duration) -> Vec<AttemptId>;
        add_spans(spans: Vec<Span>) -> ();
        complete_attempt(attempt: &AttemptId, outcome: AttemptOutcome) -> Completion;
    }

    async fn dequeue(&self, worker: &WorkerId) -> Result<Option<Dequeued>, QueueError> {
        self.clock.sleep(LATENCY).await;
        let n = self.dequeues.get() + 1;
        self.dequeues.set(n);
        if n <= 2 {
            let (op, message) = (QueueOp::Dequeue, format!("dequeue call {n} dropped"));
            return Err(QueueError::Transient { op, message });
        }
        self.inner.dequeue(worker).await
    }
}

/// Works for 10 ms and answers "4" with a perfect score.
struct Agent(VirtualClock);

impl RolloutExecutor for Agent {
    async fn execute(&self, _: &Rollout, _: &AttemptId) -> Result<Execution, ExecutionError> {
        self.0.sleep(Duration::from_millis(10)).await;
        let (output, rewards) = ("4".into(), vec![Reward::new("exact_match", 1.0)]);
        Ok(Execution { output, rewards })
    }
}

pub fn main() {
    let mut exec = VirtualExecutor::new();
    let clock = exec.clock();
    let inner = Rc::new(MemoryQueue::new(clock.clone()));
    let (id, input) = (RolloutId::new("r1"), serde_json::json!({ "prompt": "2+2" }));
    inner
        .enqueue(Rollout { id, input }, None)
        .expect("a new rollout id");

    // The reference defaults: poll every 75 ms; backoff 25 ms doubling up to 500 ms.
    let config = RunnerConfig::default();
    let queue = DelayedQueue {
        inner: inner.clone(),
        clock: clock.clone(),
        dequeues: Cell::new(0),
    };
    let runner = Runner::new(config, clock.clone(), queue, Agent(clock.clone())).expect("valid");
    exec.spawn(async move { runner.run(pending()).await.expect("no runner error") });

    // Drive virtual time: run what is ready, then jump to the next timer.
    loop {
        exec.run_ready();
        if inner.status(&"r1".into()).is_some_and(|s| s.is_terminal()) {
            break;
        }
        match exec.next_deadline() {
            Some(at) if at <= Duration::from_secs(10) => exec.advance_to(at),
            _ => panic!("r1 is not terminal by {:?}", clock.now()),
        }
    }

    let snapshot = inner.snapshot();
    let r1 = snapshot.rollout("r1").expect("r1 exists");
    let attempt = &r1.last_attempt().expect("r1 ran").id;
    let metric = |name| snapshot.spans.rewards(attempt, name);
    let expect = |name, value| assert_eq!(metric(name), [Reward::new(name, value)], "{name}");
    expect(RETRY_FAILURES_METRIC, 2.0);
    expect(RETRY_BACKOFF_METRIC, 75.0);
    let (status, at) = (r1.status, clock.now());
    println!("{attempt} {status} at {at:?}: 2 poll failures, 75 ms of backoff");
}
