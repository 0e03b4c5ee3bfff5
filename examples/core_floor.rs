//! The runner core alone on spec case C-02: what the system under test
//! costs with no simulator around it (BENCHMARKS.md, "Hot path").
//!
//! One `Runner` over the reference store (`MemoryQueue`) on the virtual
//! executor, c02's settings, its one rollout (5 ms, output `"4"`, reward
//! `exact_match`), and its three dequeue failures from a wrapper that fails
//! the first three dequeues: no fault layer, no trace, no invariants, no
//! expectations, no report. Each run ends when the rollout is terminal, as
//! c02's stop rule does. The instructions of one such run are the floor
//! under any run of c02 by this design: the simulator's own work comes on
//! top of them.
//!
//! `core_floor bulk COUNT` is the same for the bulk row of the table: COUNT
//! rollouts of 1 ms on one worker polling every 1 ms, one dequeue in ten
//! failing (drawn from a fixed SplitMix64 stream), every rollout queued at
//! the start (the simulator's `generate` queues one a millisecond; the
//! runner takes one a poll either way).
//!
//! ```sh
//! cargo build --release --example core_floor
//! valgrind --tool=callgrind target/release/examples/core_floor 200
//! valgrind --tool=callgrind target/release/examples/core_floor bulk 5000
//! ```

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use rollout_sim::core::JitterSource;
use rollout_sim::core::{
    AttemptId, AttemptOutcome, BackoffPolicy, Clock, Completion, Dequeued, Execution,
    ExecutionError, Jitter, MemoryQueue, Queue, QueueError, QueueOp, Reward, Rollout,
    RolloutExecutor, RolloutId, Runner, RunnerConfig, Span, SplitMix64, WorkerId,
};
use rollout_sim::sim::{VirtualClock, VirtualExecutor};

// The same allocator as the binary: a run allocates and frees small blocks.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The reference store, failing its first `left` dequeues as c02's script
/// does, then one in ten if `random` is set.
struct FailingDequeues<Q> {
    inner: Q,
    left: Cell<u32>,
    random: Option<std::cell::RefCell<SplitMix64>>,
}

impl<Q: Queue> Queue for FailingDequeues<Q> {
    fn register_worker(&self, worker: &WorkerId) -> impl Future<Output = Result<(), QueueError>> {
        self.inner.register_worker(worker)
    }

    fn heartbeat(
        &self,
        worker: &WorkerId,
        attempt: Option<&AttemptId>,
    ) -> impl Future<Output = Result<(), QueueError>> {
        self.inner.heartbeat(worker, attempt)
    }

    async fn dequeue(&self, worker: &WorkerId) -> Result<Option<Dequeued>, QueueError> {
        let drawn = self
            .random
            .as_ref()
            .is_some_and(|r| r.borrow_mut().next_u64() % 10 == 0);
        if self.left.get() > 0 || drawn {
            self.left.set(self.left.get().saturating_sub(1));
            return Err(QueueError::Transient {
                op: QueueOp::Dequeue,
                message: "unavailable".into(),
            });
        }
        self.inner.dequeue(worker).await
    }

    fn requeue_stale(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<AttemptId>, QueueError>> {
        self.inner.requeue_stale(timeout)
    }

    fn add_spans(&self, spans: Vec<Span>) -> impl Future<Output = Result<(), QueueError>> {
        self.inner.add_spans(spans)
    }

    fn complete_attempt(
        &self,
        attempt: &AttemptId,
        outcome: AttemptOutcome,
    ) -> impl Future<Output = Result<Completion, QueueError>> {
        self.inner.complete_attempt(attempt, outcome)
    }
}

/// c02's rollout: `duration`, then output `"4"` and `exact_match` 1.0.
struct C02Executor {
    clock: VirtualClock,
    duration: Duration,
}

impl RolloutExecutor for C02Executor {
    async fn execute(
        &self,
        _rollout: &Rollout,
        _attempt: &AttemptId,
    ) -> Result<Execution, ExecutionError> {
        self.clock.sleep(self.duration).await;
        Ok(Execution {
            output: "4".into(),
            rewards: vec![Reward::new("exact_match", 1.0)],
        })
    }
}

/// One run of c02's runner; the virtual time it ended at.
fn run_once() -> Duration {
    let ms = Duration::from_millis;
    let config = RunnerConfig {
        worker_id: WorkerId::new("worker-1"),
        poll_interval: ms(10),
        heartbeat_interval: ms(25),
        reassignment_interval: ms(20),
        worker_timeout: ms(120),
        backoff: BackoffPolicy {
            initial: ms(5),
            max: ms(20),
            jitter: Jitter::None,
        },
        ..RunnerConfig::default()
    };
    run(config, 1, ms(5), 3, None)
}

/// One bulk run of `count` rollouts; the virtual time it ended at.
fn run_bulk(count: usize) -> Duration {
    let config = RunnerConfig {
        worker_id: WorkerId::new("worker-1"),
        poll_interval: Duration::from_millis(1),
        ..RunnerConfig::default()
    };
    run(
        config,
        count,
        Duration::from_millis(1),
        0,
        Some(SplitMix64::new(7)),
    )
}

/// `count` rollouts of `duration` through one runner with `config`, the
/// first `failures` dequeues failing, then one in ten if `random`.
fn run(
    config: RunnerConfig,
    count: usize,
    duration: Duration,
    failures: u32,
    random: Option<SplitMix64>,
) -> Duration {
    let mut exec = VirtualExecutor::new();
    let clock = exec.clock();
    let queue = Rc::new(MemoryQueue::new(clock.clone()));
    for i in 0..count {
        let id = if count == 1 {
            RolloutId::new("r1")
        } else {
            RolloutId::new(format!("r{i:06}"))
        };
        let input = serde_json::json!({"prompt": "2+2"});
        queue
            .enqueue(Rollout { id, input }, None)
            .expect("unique ids");
    }
    let failing = FailingDequeues {
        inner: queue.clone(),
        left: Cell::new(failures),
        random: random.map(std::cell::RefCell::new),
    };
    let executor = C02Executor {
        clock: clock.clone(),
        duration,
    };
    let runner = Runner::new(config, clock.clone(), failing, executor).expect("valid settings");
    exec.spawn(async move {
        let _ = runner.run(std::future::pending()).await;
    });
    loop {
        exec.run_ready();
        if queue.terminal_count() == count {
            break;
        }
        let next = exec
            .next_deadline()
            .expect("the runner always waits on a timer");
        exec.advance_to(next);
    }
    clock.now()
}

fn main() {
    let usage = "usage: core_floor [RUNS] | core_floor bulk COUNT";
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some("bulk") {
        let count: usize = args.next().and_then(|n| n.parse().ok()).expect(usage);
        let ended = std::hint::black_box(run_bulk(count));
        println!("{count} rollouts through one runner, ending at {ended:?}");
        return;
    }
    let runs: u64 = first.map_or(1000, |n| n.parse().expect(usage));
    let mut ended = Duration::ZERO;
    for _ in 0..runs {
        ended = std::hint::black_box(run_once());
    }
    // Spec case C-02: polls fail at 0, 10 and 20 ms, the poll at 40 ms
    // dequeues r1, which runs 5 ms.
    assert_eq!(ended, Duration::from_millis(45), "c02 ends at 45 ms");
    println!("{runs} runs of c02's runner, each ending at {ended:?}");
}
