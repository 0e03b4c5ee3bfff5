//! The built-in coverage goals (DESIGN §8): for each goal, a small scenario
//! that reaches it and one that does not, with the exact set of goals each
//! run reaches, worked out from the runner's semantics (DESIGN §1).
//!
//! Every scenario runs twice on the virtual and on the tokio engine: the two
//! runs on an engine have one trace hash, and both engines reach the same
//! goals.

use rollout_sim::scenario::{RunOptions, load_str, run_scenario};
use rollout_sim::sim::{EngineKind, Goal, GoalsReached};

use Goal::*;

/// The timings every scenario here shares: a poll every 10ms, heartbeats
/// every 20ms, a 50ms worker timeout, backoff 5ms doubling to 20ms.
const RUNNER: &str = "
runner:
  poll_interval: 10ms
  heartbeat_interval: 20ms
  reassignment_interval: 20ms
  worker_timeout: 50ms
  backoff: { initial: 5ms, max: 20ms }
";

/// The goals a run of `yaml` (with [`RUNNER`] in front unless it has its own
/// `runner:`) reaches, checked twice on each of the virtual and tokio
/// engines.
fn goals(yaml: &str) -> Vec<Goal> {
    let text = if yaml.contains("runner:") {
        format!("name: coverage\n{yaml}")
    } else {
        format!("name: coverage\n{RUNNER}{yaml}")
    };
    let scenario = load_str("coverage.yaml", &text).unwrap_or_else(|e| panic!("{}", e.plain()));
    let run = |engine| {
        let outcome = run_scenario(
            &scenario,
            RunOptions {
                engine: Some(engine),
                ..RunOptions::default()
            },
        );
        (outcome.run.trace_hash, outcome.run.coverage)
    };
    let mut reached: Option<GoalsReached> = None;
    for engine in [EngineKind::Virtual, EngineKind::Tokio] {
        let (hash_a, goals_a) = run(engine);
        let (hash_b, goals_b) = run(engine);
        assert_eq!(hash_a, hash_b, "{engine}: two runs differ");
        assert_eq!(goals_a, goals_b, "{engine}: two runs reach different goals");
        if let Some(first) = reached {
            assert_eq!(
                first.iter().collect::<Vec<_>>(),
                goals_a.iter().collect::<Vec<_>>(),
                "virtual and tokio reach different goals"
            );
        }
        reached = Some(goals_a);
    }
    reached.expect("two engines ran").iter().collect()
}

const ONE_ROLLOUT: &str = "
rollouts:
  - id: r1
    input: { prompt: \"2+2\" }
    run: { duration: 5ms, output: \"4\" }
";

#[test]
fn a_plain_run_reaches_nothing() {
    assert_eq!(goals(ONE_ROLLOUT), []);
}

#[test]
fn c02_caps_its_backoff_and_recovers_after_3_failures() {
    // Delays 5, 10, 20: the third is the 20ms cap; the poll at 40ms dequeues
    // r1 with failures = 3.
    let yaml = format!("{ONE_ROLLOUT}faults:\n  dequeue: [ {{ fail: 3 }} ]\n");
    assert_eq!(goals(&yaml), [BackoffCapped, RecoveredAfter3Failures]);
}

#[test]
fn backoff_capped_after_two_failures_is_not_a_recovery_after_three() {
    // initial 10ms: delays 10, 20 (the cap); r1 is dequeued with failures = 2.
    let yaml = format!(
        "runner:\n  poll_interval: 10ms\n  heartbeat_interval: 20ms\n  reassignment_interval: 20ms\n  \
         worker_timeout: 50ms\n  backoff: {{ initial: 10ms, max: 20ms }}\n\
         {ONE_ROLLOUT}faults:\n  dequeue: [ {{ fail: 2 }} ]\n"
    );
    assert_eq!(goals(&yaml), [BackoffCapped]);
}

#[test]
fn two_failures_below_the_cap_reach_nothing() {
    // Delays 5, 10: under the 20ms cap, and only 2 failures.
    let yaml = format!("{ONE_ROLLOUT}faults:\n  dequeue: [ {{ fail: 2 }} ]\n");
    assert_eq!(goals(&yaml), []);
}

#[test]
fn three_failures_under_a_higher_cap_recover_without_capping() {
    // max 40ms: delays 5, 10, 20 never reach it.
    let yaml = format!(
        "runner:\n  poll_interval: 10ms\n  heartbeat_interval: 20ms\n  reassignment_interval: 20ms\n  \
         worker_timeout: 50ms\n  backoff: {{ initial: 5ms, max: 40ms }}\n\
         {ONE_ROLLOUT}faults:\n  dequeue: [ {{ fail: 3 }} ]\n"
    );
    assert_eq!(goals(&yaml), [RecoveredAfter3Failures]);
}

#[test]
fn an_empty_poll_between_failures_resets_the_count() {
    // fail, fail, empty (a successful poll: failures back to 0), fail: r1 is
    // dequeued with failures = 1. Delays 5, 10, 5: no cap either.
    let yaml = format!(
        "{ONE_ROLLOUT}faults:\n  dequeue: [ {{ fail: 2 }}, {{ empty: 1 }}, {{ fail: 1 }} ]\n"
    );
    assert_eq!(goals(&yaml), []);
}

const FAILING_ROLLOUT: &str = "
rollouts:
  - id: r1
    input: { prompt: \"2+2\" }
    run: { duration: 5ms, result: failed, error: \"tool call timed out\" }
";

#[test]
fn retry_metrics_then_a_failed_execution() {
    // One dequeue failure: r1 carries the metrics (failures 1, backoff 5ms)
    // and its executor fails.
    let yaml = format!("{FAILING_ROLLOUT}faults:\n  dequeue: [ {{ fail: 1 }} ]\n");
    assert_eq!(goals(&yaml), [MetricsOnFailedExecution]);
}

#[test]
fn a_failed_execution_without_poll_failures_carries_no_metrics() {
    assert_eq!(goals(FAILING_ROLLOUT), []);
}

#[test]
fn retry_metrics_on_a_successful_execution_are_not_the_goal() {
    let yaml = format!("{ONE_ROLLOUT}faults:\n  dequeue: [ {{ fail: 1 }} ]\n");
    assert_eq!(goals(&yaml), []);
}

#[test]
fn with_retry_metrics_off_a_failed_execution_carries_none() {
    let yaml = format!(
        "runner:\n  poll_interval: 10ms\n  heartbeat_interval: 20ms\n  reassignment_interval: 20ms\n  \
         worker_timeout: 50ms\n  backoff: {{ initial: 5ms, max: 20ms }}\n  retry_metrics: false\n\
         {FAILING_ROLLOUT}faults:\n  dequeue: [ {{ fail: 1 }} ]\n"
    );
    assert_eq!(goals(&yaml), []);
}

const THIRTY_MS_ROLLOUT: &str = "
rollouts:
  - id: r1
    input: { prompt: \"2+2\" }
    run: { duration: 30ms, output: \"4\" }
";

#[test]
fn a_heartbeat_fails_during_execution() {
    // Heartbeats: the tick at 0 and the attempt's at 0 pass; the execution
    // heartbeat at 20 fails. The attempt (last heartbeat 0) ends at 30, well
    // inside the 50ms timeout.
    let yaml =
        format!("{THIRTY_MS_ROLLOUT}faults:\n  heartbeat: [ {{ pass: 2 }}, {{ fail: 1 }} ]\n");
    assert_eq!(goals(&yaml), [HeartbeatFailedDuringExecution]);
}

#[test]
fn execution_heartbeats_that_pass_reach_nothing() {
    assert_eq!(goals(THIRTY_MS_ROLLOUT), []);
}

/// Two workers; r1's attempt 1 runs 100ms on worker-1, attempt 2 40ms
/// (so that the run, which ends once r1 is terminal, outlasts attempt 1).
const TWO_WORKERS: &str = "
workers: 2
rollouts:
  - id: r1
    input: { prompt: \"2+2\" }
    run: { output: \"4\" }
    attempts:
      - { duration: 100ms }
      - { duration: 40ms }
";

#[test]
fn a_crashed_workers_attempt_times_out_and_is_retried() {
    // worker-1 crashes at 25 (its attempt's last heartbeat: 20); worker-2's
    // reassignment times the attempt out and worker-2 dequeues r1 again.
    // worker-1 never finishes it and is never restarted.
    let yaml = format!("{TWO_WORKERS}faults:\n  at: [ {{ at: 25ms, crash: worker-1 }} ]\n");
    assert_eq!(goals(&yaml), [TimedOutAndRetried]);
}

#[test]
fn out_of_attempts_a_timed_out_rollout_is_not_retried() {
    // The same crash with max_attempts 1: the timeout fails r1 instead.
    let yaml = format!(
        "{RUNNER}  max_attempts: 1\n{TWO_WORKERS}faults:\n  at: [ {{ at: 25ms, crash: worker-1 }} ]\n"
    );
    assert_eq!(goals(&yaml), [MaxAttemptsExhausted]);
}

#[test]
fn a_slow_attempt_finishes_after_its_timeout() {
    // Execution heartbeats every 100ms: none during attempt 1 (0..100), so
    // worker-2's reassignment at 60 (age 60 > 50) times it out, worker-2
    // dequeues r1 again, and worker-1's completion at 100 is not recorded.
    let yaml = format!(
        "runner:\n  poll_interval: 10ms\n  heartbeat_interval: 100ms\n  reassignment_interval: 20ms\n  \
         worker_timeout: 50ms\n  backoff: {{ initial: 5ms, max: 20ms }}\n{TWO_WORKERS}"
    );
    assert_eq!(goals(&yaml), [TimedOutAndRetried, LateFinishAfterTimeout]);
}

#[test]
fn the_c04_regression_exhausts_max_attempts() {
    // scenarios/regression/max-attempts-exhausted.yaml, inline: attempt 1
    // times out and is retried as attempt 2 after a restart; attempt 2 times
    // out too and r1 fails, out of attempts.
    let yaml = "
runner:
  poll_interval: 10ms
  heartbeat_interval: 20ms
  reassignment_interval: 20ms
  worker_timeout: 50ms
  backoff: { initial: 5ms, max: 20ms }
  max_attempts: 2
rollouts:
  - id: r1
    input: { prompt: \"2+2\" }
    run: { duration: 100ms, output: \"4\" }
faults:
  at:
    - { at: 30ms, crash: worker-1 }
    - { at: 40ms, restart: worker-1 }
    - { at: 120ms, crash: worker-1 }
    - { at: 130ms, restart: worker-1 }
";
    assert_eq!(
        goals(yaml),
        [TimedOutAndRetried, MaxAttemptsExhausted, WorkerRestarted]
    );
}

#[test]
fn an_executor_failure_on_the_last_allowed_attempt_is_not_exhaustion() {
    // r1 fails on its only allowed attempt, but by the executor's outcome:
    // the queue never had to refuse it another attempt.
    let yaml = format!("{RUNNER}  max_attempts: 1\n{FAILING_ROLLOUT}");
    assert_eq!(goals(&yaml), []);
}

/// r1 enqueued at 30ms: the run does not end before the faults before it.
const LATE_ROLLOUT: &str = "
rollouts:
  - id: r1
    enqueue_at: 30ms
    input: { prompt: \"2+2\" }
    run: { duration: 5ms, output: \"4\" }
";

#[test]
fn a_worker_is_restarted_after_a_crash() {
    // worker-1 crashes idle at 7 and starts again at 15; r1 comes at 30.
    let yaml = format!(
        "{LATE_ROLLOUT}faults:\n  at: [ {{ at: 7ms, crash: worker-1 }}, {{ at: 15ms, restart: worker-1 }} ]\n"
    );
    assert_eq!(goals(&yaml), [WorkerRestarted]);
}

#[test]
fn a_worker_is_restarted_after_its_loop_failed() {
    // The heartbeat tick at 0 fails: the run ends with an error, and
    // `restart_after` starts the worker again 10ms later; r1 then runs.
    let yaml = format!(
        "{RUNNER}  restart_after: 10ms\n{ONE_ROLLOUT}faults:\n  heartbeat: [ {{ fail: 1 }} ]\n"
    );
    assert_eq!(goals(&yaml), [WorkerRestarted]);
}

#[test]
fn a_crash_without_a_restart_reaches_nothing() {
    let yaml =
        format!("workers: 2\n{LATE_ROLLOUT}faults:\n  at: [ {{ at: 7ms, crash: worker-1 }} ]\n");
    assert_eq!(goals(&yaml), []);
}

#[test]
fn goals_have_names_in_report_order() {
    let names: Vec<&str> = Goal::ALL.iter().map(|g| g.name()).collect();
    assert_eq!(
        names,
        [
            "backoff-capped",
            "recovered-after-3-failures",
            "metrics-on-failed-execution",
            "heartbeat-failed-during-execution",
            "timed-out-and-retried",
            "late-finish-after-timeout",
            "max-attempts-exhausted",
            "worker-restarted",
        ]
    );
    for goal in Goal::ALL {
        assert_eq!(Goal::named(goal.name()), Some(goal));
    }
    assert_eq!(Goal::named("backoff_capped"), None);
}
