//! What the runner's small public pieces promise, each pinned: found by
//! mutation testing (BENCHMARKS.md), where the scenario suite could not see
//! them because the simulator replaces them (its own jitter streams and
//! observers) or only prints them.

use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::queue::{QueueError, QueueOp, WorkerId};

#[test]
fn splitmix64_gives_the_reference_sequence() {
    // Vigna's splitmix64.c from state 0.
    let mut rng = SplitMix64::new(0);
    let drawn: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
    assert_eq!(
        drawn,
        [
            0xe220_a839_7b1d_cdaf,
            0x6e78_9e6a_a1b9_65f4,
            0x06c4_5d18_8009_454f
        ]
    );
}

#[test]
fn a_borrowed_jitter_source_draws_from_and_advances_the_source() {
    fn draw(mut source: impl JitterSource) -> u64 {
        source.next_u64()
    }
    let mut rng = SplitMix64::new(0);
    assert_eq!(draw(&mut rng), 0xe220_a839_7b1d_cdaf);
    assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
}

#[test]
fn jitter_names_are_the_scenario_files_words() {
    let names = [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ]
    .map(Jitter::as_str);
    assert_eq!(names, ["none", "full", "equal", "decorrelated"]);
}

#[test]
fn errors_say_what_failed_and_keep_their_cause() {
    let execution = ExecutionError {
        message: "model timed out".into(),
    };
    assert_eq!(execution.to_string(), "model timed out");
    let queue = QueueError::Transient {
        op: QueueOp::Heartbeat,
        message: "overloaded".into(),
    };
    let error = RunnerError::Heartbeat(queue.clone());
    let source = std::error::Error::source(&error).expect("the queue error is the cause");
    assert_eq!(source.to_string(), queue.to_string());
    assert_eq!(error.to_string(), format!("heartbeat tick: {queue}"));
}

#[derive(Default)]
struct Seen(RefCell<Vec<String>>);

impl RunnerObserver for Seen {
    fn observe(&self, worker: &WorkerId, _event: RunnerEvent<'_>) {
        self.0.borrow_mut().push(worker.as_str().to_string());
    }
}

#[test]
fn observers_behind_a_reference_or_an_rc_see_every_event() {
    let seen = Rc::new(Seen::default());
    let worker = WorkerId::new("worker-1");
    seen.as_ref().observe(&worker, RunnerEvent::PollTick);
    RunnerObserver::observe(&seen, &worker, RunnerEvent::PollTick);
    let by_ref: &dyn RunnerObserver = &*seen;
    RunnerObserver::observe(&by_ref, &worker, RunnerEvent::PollTick);
    assert_eq!(seen.0.borrow().len(), 3);
}

#[derive(Clone)]
struct StillClock;

impl Clock for StillClock {
    fn now(&self) -> Duration {
        Duration::ZERO
    }
    fn sleep_until(&self, _: Duration) -> impl Future<Output = ()> {
        std::future::pending()
    }
}

struct Idle;

impl RolloutExecutor for Idle {
    fn execute(
        &self,
        _: &Rollout,
        _: &AttemptId,
    ) -> impl Future<Output = Result<Execution, ExecutionError>> {
        std::future::ready(Ok(Execution::default()))
    }
}

#[test]
fn a_runner_reports_the_configuration_it_was_built_with() {
    let config = RunnerConfig {
        worker_id: WorkerId::new("worker-7"),
        poll_interval: Duration::from_millis(15),
        jitter_seed: 42,
        ..RunnerConfig::default()
    };
    let queue = crate::queue::MemoryQueue::new(StillClock);
    let runner = Runner::new(config.clone(), StillClock, &queue, Idle).unwrap();
    assert_eq!(runner.config(), &config);
    assert_eq!(runner.with_observer(()).config(), &config);
}
