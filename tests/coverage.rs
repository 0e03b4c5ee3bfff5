//! The built-in coverage goals (DESIGN §8): for each goal, a small scenario
//! that reaches it and one that does not, with the exact set of goals each
//! run reaches, worked out from the runner's semantics (DESIGN §1).
//!
//! Then the scenario's own goals (`expect.sometimes`): validated with
//! located messages, reported per run and never a failure, written back by
//! `to_yaml`; and a sweep's coverage: for every goal the seeds that reached
//! it and the first, as the seeds' own runs say, whole or in merged shards;
//! a scenario goal no seed reaches fails `explore`.
//!
//! Every scenario runs twice on the virtual and on the tokio engine: the two
//! runs on an engine have one trace hash, and both engines reach the same
//! goals.

use rollout_sim::explore::{self, GoalKind, SeedRange, Shard, SweepOptions};
use rollout_sim::scenario::{RunOptions, Scenario, load_str, run_scenario, to_yaml};
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
fn spec_case_2_caps_its_backoff_and_recovers_after_3_failures() {
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

/// c02 with goals of its own: one its run reaches (3 failures and the
/// backoff metric 35, with the two built-in goals c02 reaches), one it
/// cannot (r1 succeeds).
const C02_WITH_GOALS: &str = "
name: c02-with-goals
runner:
  poll_interval: 10ms
  heartbeat_interval: 25ms
  reassignment_interval: 20ms
  worker_timeout: 120ms
  backoff: { initial: 5ms, max: 20ms }
rollouts:
  - id: r1
    input: { prompt: \"2+2\" }
    run: { duration: 5ms, output: \"4\", rewards: { exact_match: 1.0 } }
faults:
  dequeue: [ { fail: 3 } ]
expect:
  rollouts: { r1: succeeded }
  sometimes:
    capped-then-recovered:
      rewards:
        r1: { runner.poll_retry_backoff_ms_before_rollout: 35 }
      goals: [ backoff-capped, recovered-after-3-failures ]
    r1-failed:
      rollouts: { r1: failed }
";

fn c02_with_goals() -> Scenario {
    load_str("c02-goals.yaml", C02_WITH_GOALS).unwrap_or_else(|e| panic!("{}", e.plain()))
}

#[test]
fn a_scenario_goal_is_reported_per_run_and_never_fails_it() {
    let scenario = c02_with_goals();
    let run = || run_scenario(&scenario, RunOptions::default());
    let (a, b) = (run(), run());
    assert_eq!(a.run.trace_hash, b.run.trace_hash);
    let reached: Vec<(&str, bool)> = a.sometimes.iter().map(|(n, r)| (&**n, *r)).collect();
    assert_eq!(
        reached,
        [("capped-then-recovered", true), ("r1-failed", false)]
    );
    // r1-failed is not reached, and the run still passes: the only checks
    // are the file's `expect.rollouts`.
    assert!(a.passed());
    let names: Vec<&str> = a.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["rollouts.r1.status"]);
}

#[test]
fn a_goal_needs_every_built_in_goal_it_lists() {
    // The same reward condition, but c02 never restarts a worker.
    let yaml = C02_WITH_GOALS.replace(
        "goals: [ backoff-capped, recovered-after-3-failures ]",
        "goals: [ backoff-capped, worker-restarted ]",
    );
    let scenario = load_str("c02-goals.yaml", &yaml).unwrap_or_else(|e| panic!("{}", e.plain()));
    let outcome = run_scenario(&scenario, RunOptions::default());
    assert_eq!(
        outcome.sometimes[0],
        ("capped-then-recovered".into(), false)
    );
}

#[test]
fn to_yaml_keeps_the_scenario_goals() {
    let scenario = c02_with_goals();
    let text = to_yaml(&scenario, &[]).unwrap();
    let back = load_str("back.yaml", &text).unwrap_or_else(|e| panic!("{}\n{text}", e.plain()));
    assert_eq!(back.expect.sometimes, scenario.expect.sometimes);
    assert!(
        text.contains("  sometimes:\n    capped-then-recovered:\n"),
        "{text}"
    );
}

fn load_error(yaml: &str) -> String {
    match load_str("s.yaml", yaml) {
        Ok(_) => panic!("loaded:\n{yaml}"),
        Err(e) => e.plain().trim_end().to_string(),
    }
}

const HEAD: &str = "name: x\nrollouts: [ { id: r1, input: 1 } ]\nexpect:\n  sometimes:\n";

#[test]
fn an_unknown_built_in_goal_gets_the_nearest_name() {
    assert_eq!(
        load_error(&format!(
            "{HEAD}    slow:\n      goals: [ backoff-caped ]\n"
        )),
        "s.yaml:6:16: expect.sometimes.slow.goals[0]: unknown built-in goal `backoff-caped`; \
         did you mean `backoff-capped`? one of backoff-capped, recovered-after-3-failures, \
         metrics-on-failed-execution, heartbeat-failed-during-execution, timed-out-and-retried, \
         late-finish-after-timeout, max-attempts-exhausted, worker-restarted"
    );
}

#[test]
fn a_goal_condition_names_known_rollouts() {
    assert_eq!(
        load_error(&format!(
            "{HEAD}    slow:\n      rollouts: {{ r2: failed }}\n"
        )),
        "s.yaml:6:19: expect.sometimes.slow.rollouts.r2: unknown rollout `r2`; \
         did you mean `r1`? known rollouts: r1"
    );
}

#[test]
fn a_scenario_goal_may_not_take_a_built_in_name() {
    assert_eq!(
        load_error(&format!(
            "{HEAD}    backoff-capped:\n      rollouts: {{ r1: failed }}\n"
        )),
        "s.yaml:5:5: expect.sometimes.backoff-capped: `backoff-capped` is the name of a \
         built-in goal; name the scenario's own goal otherwise, or list the built-in one under \
         another goal's `goals: [backoff-capped]`"
    );
}

#[test]
fn a_goal_without_a_condition_is_refused() {
    assert_eq!(
        load_error(&format!("{HEAD}    slow: {{}}\n")),
        "s.yaml:5:11: expect.sometimes.slow: goal `slow` has no condition: every run would \
         reach it; give it `rollouts`, `rewards`, `absent_rewards` or `goals`"
    );
}

#[test]
fn a_goal_condition_is_a_subset_of_the_expectations() {
    assert_eq!(
        load_error(&format!("{HEAD}    slow: {{ spans: {{}} }}\n")),
        "s.yaml:5:13: expect.sometimes.slow: unknown field `spans`, expected one of \
         `rollouts`, `rewards`, `absent_rewards`, `goals`"
    );
}

/// One rollout, dequeue failing at random half the time: some seeds see 3
/// or more failures in a row before r1 runs, and reach the cap (20ms is the
/// third delay); no worker ever restarts.
const RANDOM_FAILURES: &str = "
name: random-failures
seed: 0
runner:
  poll_interval: 10ms
  heartbeat_interval: 20ms
  reassignment_interval: 20ms
  worker_timeout: 50ms
  backoff: { initial: 5ms, max: 20ms }
rollouts:
  - id: r1
    input: { prompt: \"2+2\" }
    run: { duration: 5ms, output: \"4\" }
faults:
  random:
    dequeue: { fail_rate: 0.5 }
expect:
  sometimes:
    three-failures:
      rewards:
        r1: { runner.poll_retry_failures_before_rollout: 3 }
      goals: [ recovered-after-3-failures ]
    restarted:
      goals: [ worker-restarted ]
";

fn sweep_options(seeds: &str, shard: Shard) -> SweepOptions {
    SweepOptions {
        seeds: seeds.parse().unwrap(),
        shard,
        jobs: 2,
        engine: None,
        repro_args: String::new(),
        swarm: false,
        guided: None,
    }
}

#[test]
fn a_sweep_counts_each_goals_seeds_and_its_first_as_the_runs_do() {
    let scenario =
        load_str("random.yaml", RANDOM_FAILURES).unwrap_or_else(|e| panic!("{}", e.plain()));
    let seeds: SeedRange = "0..40".parse().unwrap();
    // What each seed's own run reached, run twice.
    let mut per_goal: Vec<(String, GoalKind, u64, Option<u64>)> = Goal::ALL
        .iter()
        .map(|g| (g.name().to_string(), GoalKind::BuiltIn, 0, None))
        .chain(
            ["three-failures", "restarted"].map(|n| (n.to_string(), GoalKind::Scenario, 0, None)),
        )
        .collect();
    for seed in seeds.seeds(Shard::WHOLE) {
        let run = || {
            run_scenario(
                &scenario,
                RunOptions {
                    seed: Some(seed),
                    ..RunOptions::default()
                },
            )
        };
        let (a, b) = (run(), run());
        assert_eq!(a.run.trace_hash, b.run.trace_hash, "seed {seed}");
        let reached = Goal::ALL
            .iter()
            .map(|g| a.run.coverage.contains(*g))
            .chain(a.sometimes.iter().map(|(_, r)| *r));
        for (row, hit) in per_goal.iter_mut().zip(reached) {
            if hit {
                row.2 += 1;
                row.3.get_or_insert(seed);
            }
        }
    }
    let whole = explore::sweep(
        &scenario,
        sweep_options("0..40", Shard::WHOLE),
        "rollout-sim",
        &|_| {},
    );
    let got: Vec<(String, GoalKind, u64, Option<u64>)> = whole
        .coverage
        .goals
        .iter()
        .map(|g| (g.goal.clone(), g.kind, g.seeds, g.first_seed))
        .collect();
    assert_eq!(got, per_goal);
    let row = |name: &str| per_goal.iter().find(|r| r.0 == name).unwrap().clone();
    // The scenario makes these so: some seeds fail 3 times in a row (and
    // then hit the 20ms cap), none restarts a worker, none fails r1.
    assert!(row("three-failures").2 > 0 && row("three-failures").2 < 40);
    assert!(row("backoff-capped").2 >= row("recovered-after-3-failures").2);
    assert_eq!(row("restarted").2, 0);
    assert_eq!(row("worker-restarted").3, None);
    let unreached: Vec<&str> = whole
        .coverage
        .scenario_unreached()
        .map(|g| g.goal.as_str())
        .collect();
    assert_eq!(unreached, ["restarted"]);

    // Three shards merged give the whole sweep's coverage.
    let shards: Vec<_> = (1..=3)
        .map(|number| {
            explore::sweep(
                &scenario,
                sweep_options("0..40", Shard { number, count: 3 }),
                "rollout-sim",
                &|_| {},
            )
        })
        .collect();
    let merged = explore::merge(&shards).unwrap();
    assert_eq!(merged.coverage, whole.coverage);
}

#[test]
fn merge_refuses_coverage_that_does_not_add_up() {
    let scenario =
        load_str("random.yaml", RANDOM_FAILURES).unwrap_or_else(|e| panic!("{}", e.plain()));
    let report = explore::sweep(
        &scenario,
        sweep_options("0..4", Shard::WHOLE),
        "rollout-sim",
        &|_| {},
    );
    let mut more = report.clone();
    more.coverage.goals[0].seeds = 5;
    assert_eq!(
        explore::validate_report("a.json", &more).unwrap_err(),
        "a.json: coverage.goals[0].seeds: 5 seeds reached `backoff-capped`, more than the 4 runs"
    );
    let mut outside = report.clone();
    outside.coverage.goals[0].seeds = 1;
    outside.coverage.goals[0].first_seed = Some(9);
    assert_eq!(
        explore::validate_report("a.json", &outside).unwrap_err(),
        "a.json: coverage.goals[0].first_seed: seed 9 is not one of this report's: seeds 0..4, shard(s) [1] of 1"
    );
    let mut none = report.clone();
    none.coverage.goals[8].seeds = 0;
    none.coverage.goals[8].first_seed = Some(0);
    assert_eq!(
        explore::validate_report("a.json", &none).unwrap_err(),
        "a.json: coverage.goals[8].first_seed: seed 0, but no seed reached `three-failures`"
    );
    let mut swapped = report.clone();
    swapped.coverage.goals.swap(0, 1);
    assert_eq!(
        explore::validate_report("a.json", &swapped).unwrap_err(),
        "a.json: coverage.goals[0]: `recovered-after-3-failures` (built-in), but the built-in \
         goal `backoff-capped` comes here: the built-in goals come first, in their order"
    );
}

#[test]
fn explore_fails_when_no_seed_reaches_a_scenario_goal() {
    let dir = std::env::temp_dir().join(format!("rollout-sim-coverage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("random.yaml");
    let explore = |text: &str| {
        std::fs::write(&file, text).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
            .args(["explore", file.to_str().unwrap(), "--seeds", "0..20"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let out = explore(RANDOM_FAILURES);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        stderr,
        "goal `restarted` (expect.sometimes) was reached by no seed of 0..20\n"
    );
    assert!(
        stdout.contains("\n    scenario goals no seed reached (expect.sometimes): restarted\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n      restarted (scenario)  "),
        "{stdout}"
    );
    // Without the unreachable goal every seed passes and the sweep does.
    let reachable =
        RANDOM_FAILURES.replace("    restarted:\n      goals: [ worker-restarted ]\n", "");
    let out = explore(&reachable);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stderr.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_scenario_report_shows_its_goals_and_verbose_the_built_in_ones() {
    let dir = std::env::temp_dir().join(format!("rollout-sim-goals-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c02-goals.yaml");
    std::fs::write(&file, C02_WITH_GOALS).unwrap();
    let scenario = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
            .arg("scenario")
            .arg(&file)
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        // r1-failed is not reached, and the scenario passes.
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let goals = "                   ◇ goal capped-then-recovered  reached\n\
                 \x20                  ◇ goal r1-failed  not reached\n";
    let coverage = "                   ◇ coverage  backoff-capped, recovered-after-3-failures\n";
    let plain = scenario(&[]);
    assert!(plain.contains(goals), "{plain}");
    assert!(!plain.contains("◇ coverage"), "{plain}");
    let verbose = scenario(&["--verbose"]);
    assert!(verbose.contains(&format!("{goals}{coverage}")), "{verbose}");
    let json: serde_json::Value = serde_json::from_str(&scenario(&["--format", "json"])).unwrap();
    assert_eq!(
        json["scenarios"][0]["sometimes"],
        serde_json::json!([
            { "goal": "capped-then-recovered", "reached": true },
            { "goal": "r1-failed", "reached": false }
        ])
    );
    // Built-in goals are counted over sweeps, not in a run's JSON report.
    assert!(json["scenarios"][0].get("coverage").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}
