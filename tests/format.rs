//! The scenario format's additions from the reference's own tests (DESIGN
//! §1, §9), each run twice with the trace hashes compared:
//!
//! - `run.output` defaults to the rollout's `input` (the reference's test
//!   executor echoes its prompt); `output: null` is no output;
//! - `stop.when: all_terminal` waits for every executor in flight: a
//!   timed-out attempt that returns after its rollout succeeded elsewhere
//!   still flushes its spans, and `finished_at` stays the instant the last
//!   rollout became terminal;
//! - `expect.attempts` and span `{ contains }`;
//! - a run that ends because its workers died names them and why.

use rollout_sim::scenario::{RunOptions, ScenarioOutcome, load_str, run_scenario};

/// Runs `yaml` twice; the first outcome, once both gave one trace hash.
fn run(yaml: &str) -> ScenarioOutcome {
    let scenario = load_str("format.yaml", yaml).unwrap_or_else(|e| panic!("{}", e.plain()));
    let first = run_scenario(&scenario, RunOptions::default());
    let again = run_scenario(&scenario, RunOptions::default());
    assert_eq!(first.run.trace_hash, again.run.trace_hash, "{yaml}");
    first
}

fn failed(outcome: &ScenarioOutcome) -> Vec<String> {
    outcome
        .failed_checks()
        .map(|c| format!("{}: expected {}, actual {}", c.name, c.expected, c.actual))
        .chain(outcome.violated().map(|i| format!("violated {}", i.name)))
        .collect()
}

#[test]
fn the_output_defaults_to_the_input_and_null_is_no_output() {
    let outcome = run(
        "name: echo\nrollouts:\n  - id: echoed\n    input: { prompt: \"2+2\" }\n  - id: silent\n    input: { prompt: \"2+2\" }\n    run: { output: null }\n  - id: nothing\nexpect:\n  rewards:\n    echoed: { runner.execution_success: 1 }\n    silent: { runner.execution_success: 0 }\n    nothing: { runner.execution_success: 0 }\n",
    );
    assert_eq!(failed(&outcome), Vec::<String>::new());
    // What freeze and shrink write keeps the difference.
    let scenario = load_str(
        "echo.yaml",
        "name: echo\nrollouts:\n  - id: silent\n    input: { prompt: \"2+2\" }\n    run: { output: null }\n",
    )
    .unwrap();
    let written = rollout_sim::scenario::to_yaml(&scenario, &[]).unwrap();
    assert!(written.contains("output: null"), "{written}");
    let reread = load_str("echo-again.yaml", &written).unwrap();
    assert_eq!(reread.plan.rollouts, scenario.plan.rollouts);
}

const LATE_FLUSH: &str = "name: late-flush
runner: { poll_interval: 10ms, heartbeat_interval: 20ms, reassignment_interval: 20ms, worker_timeout: 50ms }
workers: 2
rollouts:
  - id: r1
    run: { output: ok }
    attempts:
      - { duration: 200ms }
      - { duration: 20ms }
faults:
  heartbeat:
    worker-1: [ { pass: 2 }, { fail: 9 } ]
expect:
  rollouts:
    r1: { status: succeeded, attempts: 2, worker: worker-2 }
  spans:
    \"r1:attempt-1\": [runner.execute_rollout, reward.emit]
    \"r1:attempt-2\": [runner.execute_rollout, reward.emit]
  finished_at: 90ms
";

#[test]
fn all_terminal_waits_for_the_executors_in_flight_and_keeps_their_late_flush() {
    // worker-1's attempt 1 runs 200 ms with its heartbeats failing from
    // 20 ms; worker-2 times it out at 60 ms and succeeds with attempt 2 at
    // 90 ms, when r1 is terminal. Attempt 1 still returns at 200 ms and
    // flushes its spans; completing it then records nothing.
    let outcome = run(LATE_FLUSH);
    assert_eq!(failed(&outcome), Vec::<String>::new());
    let run = &outcome.run;
    assert_eq!(run.ended_at.as_millis(), 90, "finished_at is unchanged");
    let last = run.trace.events.last().unwrap();
    assert_eq!(last.at.as_millis(), 200, "{last:?}");
    let late: Vec<String> = run
        .trace
        .events
        .iter()
        .filter(|e| e.at.as_millis() == 200)
        .map(|e| format!("{:?}", e.kind))
        .collect();
    assert!(
        late.iter()
            .any(|k| k.starts_with("AttemptFinished") && k.contains("recorded: false")),
        "{late:?}"
    );
}

#[test]
fn attempts_are_expected_by_status_and_worker() {
    let yaml = LATE_FLUSH.replace(
        "  finished_at: 90ms\n",
        "  finished_at: 90ms\n  attempts:\n    \"r1:attempt-1\": timeout\n    \"r1:attempt-2\": { status: succeeded, worker: worker-2 }\n",
    );
    assert_eq!(failed(&run(&yaml)), Vec::<String>::new());
    // Expecting otherwise fails with the names and values a report shows.
    let wrong = LATE_FLUSH.replace(
        "  finished_at: 90ms\n",
        "  attempts:\n    \"r1:attempt-1\": { status: succeeded, worker: worker-2 }\n    \"r1:attempt-3\": running\n",
    );
    assert_eq!(
        failed(&run(&wrong)),
        [
            r#"attempts.r1:attempt-1.status: expected "succeeded", actual "timeout""#,
            r#"attempts.r1:attempt-1.worker: expected "worker-2", actual "worker-1""#,
            r#"attempts.r1:attempt-3.status: expected "running", actual null"#,
        ]
    );
}

#[test]
fn spans_are_expected_exactly_or_as_names_they_contain() {
    let contains = "name: spans\nrollouts:\n  - id: r1\n    run: { output: \"4\", rewards: { exact_match: 1 } }\nfaults: { dequeue: [ { fail: 1 } ] }\nexpect:\n  spans:\n    r1: { contains: [reward.emit, reward.emit, runner.execute_rollout] }\n";
    assert_eq!(failed(&run(contains)), Vec::<String>::new());
    // Four reward spans and the execute span: five reward.emit are not there.
    let too_many = contains.replace(
        "[reward.emit, reward.emit, runner.execute_rollout]",
        "[reward.emit, reward.emit, reward.emit, reward.emit, reward.emit]",
    );
    assert_eq!(
        failed(&run(&too_many)),
        [
            r#"spans.r1: expected {"contains":["reward.emit","reward.emit","reward.emit","reward.emit","reward.emit"]}, actual ["runner.execute_rollout","reward.emit","reward.emit","reward.emit","reward.emit"]"#
        ]
    );
}

#[test]
fn a_run_that_ends_because_workers_died_says_which_and_why() {
    let outcome = run(
        "name: all-down\nworkers: 2\nrunner: { poll_interval: 10ms, heartbeat_interval: 25ms }\nrollouts:\n  - id: r1\n    enqueue_at: 50ms\nfaults:\n  heartbeat: { worker-1: [ { fail: 1 } ] }\n  at:\n    - { at: 10ms, crash: worker-2 }\n",
    );
    // worker-1's first heartbeat tick fails at 0 ms (no restart_after),
    // worker-2 is crashed at 10 ms: nothing is left when r1 arrives.
    assert_eq!(
        failed(&outcome),
        [
            r#"stop: expected "every rollout terminal within 10m", actual "stalled: no worker left and nothing scheduled at 50ms; down: worker-1 ended at 0ms: heartbeat tick: heartbeat failed: injected fault; worker-2 crashed at 10ms (faults.at)""#,
            "violated all-terminal",
        ]
    );
}

const LATE_START: &str = "name: late-start
runner: { poll_interval: 10ms, heartbeat_interval: 20ms, backoff: { initial: 5ms, max: 20ms } }
workers:
  - worker-1
  - { id: worker-2, start_at: 100ms, runner: { poll_interval: 4ms, backoff: { initial: 2ms } } }
rollouts:
  - { id: r1, run: { duration: 150ms, output: a } }
  - { id: r2, enqueue_at: 100ms, run: { duration: 10ms, output: b } }
faults:
  dequeue: { worker-2: [ { fail: 2 } ] }
expect:
  rollouts:
    r1: { status: succeeded, worker: worker-1 }
    r2: { status: succeeded, worker: worker-2 }
  rewards:
    r2: { runner.poll_retry_failures_before_rollout: 2, runner.poll_retry_backoff_ms_before_rollout: 6 }
  finished_at: 150ms
";

#[test]
fn a_worker_starts_later_with_runner_settings_of_its_own() {
    // worker-2 starts at 100 ms; its own backoff starts at 2 ms (2 + 4 = 6)
    // and its own 4 ms poll dequeues r2 at 108 ms.
    let outcome = run(LATE_START);
    assert_eq!(failed(&outcome), Vec::<String>::new());
    let first: Vec<(u128, String)> = outcome
        .run
        .trace
        .events
        .iter()
        .filter(|e| e.worker.as_ref().is_some_and(|w| w.as_str() == "worker-2"))
        .filter_map(|e| match &e.kind {
            rollout_sim::sim::EventKind::WorkerStarted => {
                Some((e.at.as_millis(), "started".into()))
            }
            rollout_sim::sim::EventKind::PollFailed { delay_ms, .. } => {
                Some((e.at.as_millis(), format!("sleeps {delay_ms}ms")))
            }
            rollout_sim::sim::EventKind::AttemptStarted { attempt, .. } => {
                Some((e.at.as_millis(), attempt.to_string()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        first,
        [
            (100, "started".to_string()),
            (100, "sleeps 2ms".to_string()),
            (104, "sleeps 4ms".to_string()),
            (108, "r2:attempt-1".to_string()),
        ]
    );
    // The same on tokio and turmoil (turmoil's network shifts times).
    for engine in [
        rollout_sim::sim::EngineKind::Tokio,
        rollout_sim::sim::EngineKind::Turmoil,
    ] {
        let scenario = load_str("late.yaml", LATE_START).unwrap();
        let on = run_scenario(
            &scenario,
            RunOptions {
                engine: Some(engine),
                ..RunOptions::default()
            },
        );
        let failed: Vec<String> = failed(&on)
            .into_iter()
            .filter(|f| !f.starts_with("finished_at"))
            .collect();
        assert_eq!(failed, Vec::<String>::new(), "{engine}");
    }
    // What freeze and shrink write keeps each worker's settings.
    let scenario = load_str("late.yaml", LATE_START).unwrap();
    let written = rollout_sim::scenario::to_yaml(&scenario, &[]).unwrap();
    let reread = load_str("late-again.yaml", &written).unwrap();
    assert_eq!(reread.plan.worker_runners, scenario.plan.worker_runners);
    assert_eq!(reread.plan.start_at, scenario.plan.start_at);
    assert_eq!(
        run_scenario(&reread, RunOptions::default()).run.trace_hash,
        outcome.run.trace_hash
    );
}
