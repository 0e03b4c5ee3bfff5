//! The liveness phase (DESIGN §8): `faults.heal_at: T` stops every fault
//! at T (scripts mid-way, the seeded overlay, the network, timed faults
//! from then on) and starts again every worker that is down; then every
//! rollout must be terminal by `T + stop.recover_within`, where the run
//! ends at the latest, or the `liveness` invariant names what is pending.
//!
//! Every run here runs twice with equal trace hashes; runs the virtual and
//! tokio engines can both do give one hash on both.

mod common;

use std::time::Duration;

use rollout_sim::core::{QueueOp, RolloutStatus, WorkerId};
use rollout_sim::core::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC};
use rollout_sim::scenario::{RunOptions, Scenario, ScenarioOutcome, load_file, load_str};
use rollout_sim::scenario::{run_scenario, to_yaml};
use rollout_sim::sim::{CallResult, EngineKind, EventKind, Heal, Invariant, StopReason};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn scenario(name: &str) -> Scenario {
    let path = common::scenarios_dir().join("liveness").join(name);
    load_file(&path).unwrap_or_else(|e| panic!("{name}: {}", e.plain()))
}

/// Runs `scenario` twice on `engine` and checks that the two traces agree.
fn run_twice(scenario: &Scenario, engine: EngineKind) -> ScenarioOutcome {
    let run = || {
        run_scenario(
            scenario,
            RunOptions {
                engine: Some(engine),
                ..RunOptions::default()
            },
        )
    };
    let (a, b) = (run(), run());
    assert_eq!(
        a.run.trace_hash, b.run.trace_hash,
        "{engine}: two runs differ"
    );
    a
}

/// [`run_twice`] on the virtual and the tokio engine, which must agree.
fn run_on_both(scenario: &Scenario) -> ScenarioOutcome {
    let on_virtual = run_twice(scenario, EngineKind::Virtual);
    let on_tokio = run_twice(scenario, EngineKind::Tokio);
    assert_eq!(
        on_virtual.run.trace_hash, on_tokio.run.trace_hash,
        "virtual and tokio traces differ"
    );
    on_virtual
}

fn invariant(outcome: &ScenarioOutcome, which: Invariant) -> &rollout_sim::sim::InvariantReport {
    outcome
        .run
        .invariants
        .iter()
        .find(|i| i.name == which)
        .unwrap_or_else(|| panic!("no {which} report"))
}

fn reward(outcome: &ScenarioOutcome, rollout: &str, name: &str) -> f64 {
    let record = outcome.run.snapshot.rollout(rollout).expect("the rollout");
    let attempt = &record.attempts.last().expect("an attempt").id;
    outcome.run.snapshot.spans.rewards(attempt, name)[0].value
}

fn healed_at(outcome: &ScenarioOutcome) -> Vec<Duration> {
    outcome
        .run
        .trace
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Healed)
        .map(|e| e.at)
        .collect()
}

#[test]
fn a_heal_stops_a_script_mid_way() {
    let scenario = scenario("heal-mid-script.yaml");
    let outcome = run_on_both(&scenario);
    assert!(
        outcome.passed(),
        "{:?}",
        outcome.failed_checks().collect::<Vec<_>>()
    );
    // The script says fail 100 times; four polls come before the heal.
    let failed: Vec<Duration> = outcome
        .run
        .trace
        .events
        .iter()
        .filter(|e| {
            matches!(
                &e.kind,
                EventKind::Call {
                    op: QueueOp::Dequeue,
                    result: CallResult::Failed { .. },
                    ..
                }
            )
        })
        .map(|e| e.at)
        .collect();
    assert_eq!(failed, [ms(0), ms(10), ms(20), ms(40)]);
    assert_eq!(healed_at(&outcome), [ms(50)]);
    assert_eq!(outcome.run.stop, StopReason::AllTerminal);
    assert_eq!(outcome.run.ended_at, ms(65));
    let r1 = outcome.run.snapshot.rollout("r1").unwrap();
    assert_eq!(r1.status, RolloutStatus::Succeeded);
    assert_eq!(r1.attempts.len(), 1);
    assert_eq!(reward(&outcome, "r1", RETRY_FAILURES_METRIC), 4.0);
    assert_eq!(reward(&outcome, "r1", RETRY_BACKOFF_METRIC), 55.0);
    // Seven invariants with a heal instant, liveness last and held.
    let names: Vec<&str> = outcome
        .run
        .invariants
        .iter()
        .map(|i| i.name.name())
        .collect();
    assert_eq!(
        names,
        [
            "all-terminal",
            "retry-metrics-iff-recovered",
            "backoff-policy",
            "attempt-ids",
            "no-stranded-attempt",
            "spans-persisted",
            "liveness"
        ]
    );
    assert!(invariant(&outcome, Invariant::Liveness).held);
    // `explain` predicts the same: four failures, then the poll at 60ms.
    let explained = rollout_sim::explore::explain(&scenario);
    let totals: Vec<u64> = explained
        .failures("worker-1")
        .iter()
        .map(|f| f.total_ms)
        .collect();
    assert_eq!(totals, [5, 15, 35, 55]);
    let dequeued: Vec<_> = explained
        .dequeues("worker-1")
        .iter()
        .map(|(at, a, failures, backoff)| (*at, a.to_string(), *failures, *backoff))
        .collect();
    assert_eq!(dequeued, [(ms(60), "r1:attempt-1".to_string(), 4, 55)]);
    assert!(
        explained.text.contains(
            "      50ms  -                               healed (faults.heal_at): no fault from now on; every worker down starts again\n"
        ),
        "{}",
        explained.text
    );
}

#[test]
fn without_heal_at_nothing_changes_and_liveness_is_not_checked() {
    let text =
        std::fs::read_to_string(common::scenarios_dir().join("liveness/heal-mid-script.yaml"))
            .unwrap();
    let text = text
        .replace("  heal_at: 50ms\n", "")
        .replace("stop:\n  recover_within: 100ms\n", "stop:\n  within: 10s\n");
    let text = text.split("expect:").next().unwrap().to_string();
    let scenario = load_str("s.yaml", &text).unwrap_or_else(|e| panic!("{}", e.plain()));
    assert_eq!(scenario.plan.heal, None);
    let outcome = run_on_both(&scenario);
    assert_eq!(outcome.run.invariants.len(), 6);
    assert!(
        outcome
            .run
            .invariants
            .iter()
            .all(|i| i.name != Invariant::Liveness)
    );
    assert!(healed_at(&outcome).is_empty());
    // All 100 failures happen: 5 + 10 + 20 + 97 * 20 ms of backoff.
    assert_eq!(reward(&outcome, "r1", RETRY_FAILURES_METRIC), 100.0);
    assert_eq!(reward(&outcome, "r1", RETRY_BACKOFF_METRIC), 1975.0);
}

const RANDOM: &str = "\
name: liveness-random
seed: 11
workers: 3
runner:
  poll_interval: 10ms
  heartbeat_interval: 20ms
  reassignment_interval: 20ms
  worker_timeout: 60ms
  backoff: { initial: 5ms, max: 40ms }
  restart_after: 30ms
rollouts:
  - { id: r1, run: { duration: 30ms } }
  - { id: r2, run: { duration: 30ms } }
  - { id: r3, run: { duration: 30ms } }
  - { id: r4, enqueue_at: 250ms, run: { duration: 30ms } }
  - { id: r5, enqueue_at: 250ms, run: { duration: 30ms } }
  - { id: r6, enqueue_at: 400ms, run: { duration: 30ms } }
faults:
  random:
    dequeue: { fail_rate: 0.5, empty_rate: 0.2 }
    heartbeat: { fail_rate: 0.3 }
    flush: { fail_rate: 0.3 }
    complete: { fail_rate: 0.5 }
  heal_at: 300ms
stop:
  recover_within: 1s
";

fn fault_of(kind: &EventKind) -> Option<rollout_sim::sim::FaultSource> {
    match kind {
        EventKind::Call {
            result: CallResult::Failed { fault, .. } | CallResult::Empty { fault },
            ..
        } => *fault,
        _ => None,
    }
}

#[test]
fn random_faults_stop_at_the_heal() {
    let scenario = load_str("s.yaml", RANDOM).unwrap_or_else(|e| panic!("{}", e.plain()));
    let outcome = run_on_both(&scenario);
    let heal = ms(300);
    assert_eq!(healed_at(&outcome), [heal]);
    let events = &outcome.run.trace.events;
    let before = events
        .iter()
        .filter(|e| e.at < heal && fault_of(&e.kind).is_some())
        .count();
    let after: Vec<_> = events
        .iter()
        .filter(|e| e.at >= heal && fault_of(&e.kind).is_some())
        .collect();
    assert!(
        before > 10,
        "the overlay fired {before} times before the heal"
    );
    assert!(after.is_empty(), "faults after the heal: {after:?}");
    assert_eq!(outcome.run.stop, StopReason::AllTerminal);
    for r in &outcome.run.snapshot.rollouts {
        assert!(r.status.is_terminal(), "{} {}", r.id, r.status);
    }
    assert!(invariant(&outcome, Invariant::Liveness).held);
    assert!(outcome.run.ended_at > heal && outcome.run.ended_at <= ms(1_300));
}

const CRASHES: &str = "\
name: liveness-crashes
workers: 2
runner:
  poll_interval: 10ms
  heartbeat_interval: 20ms
  reassignment_interval: 20ms
  worker_timeout: 60ms
  backoff: { initial: 5ms, max: 20ms }
rollouts:
  - { id: r1, run: { duration: 200ms } }
  - { id: r2, enqueue_at: 60ms, run: { duration: 10ms } }
faults:
  at:
    - { at: 5ms, crash: worker-1 }
    - { at: 5ms, crash: worker-2 }
    - { at: 80ms, crash: worker-2 }
    - { at: 90ms, restart: worker-1 }
  heal_at: 50ms
stop:
  recover_within: 500ms
";

#[test]
fn a_heal_restarts_crashed_workers_and_drops_later_timed_faults() {
    let scenario = load_str("s.yaml", CRASHES).unwrap_or_else(|e| panic!("{}", e.plain()));
    let outcome = run_on_both(&scenario);
    let lifecycle: Vec<(Duration, &str, &str)> = outcome
        .run
        .trace
        .events
        .iter()
        .filter_map(|e| {
            let what = match e.kind {
                EventKind::WorkerCrashed => "crashed",
                EventKind::WorkerRestarted => "restarted",
                EventKind::Healed => "healed",
                _ => return None,
            };
            Some((e.at, e.worker.as_ref().map_or("", WorkerId::as_str), what))
        })
        .collect();
    // Both crash at 5ms; the heal at 50ms starts both again, in worker
    // order; the crash at 80ms and the restart at 90ms are dropped.
    assert_eq!(
        lifecycle,
        [
            (ms(5), "worker-1", "crashed"),
            (ms(5), "worker-2", "crashed"),
            (ms(50), "", "healed"),
            (ms(50), "worker-1", "restarted"),
            (ms(50), "worker-2", "restarted"),
        ]
    );
    assert!(invariant(&outcome, Invariant::Liveness).held);
    for r in &outcome.run.snapshot.rollouts {
        assert_eq!(r.status, RolloutStatus::Succeeded, "{}", r.id);
    }
    assert_eq!(outcome.run.stop, StopReason::AllTerminal);
}

const STRANDED_MESSAGE: &str = "r-02 still running at heal_at + recover_within = 600 ms \
(100 ms + 500 ms): r-02:attempt-1 running on worker-1";

#[test]
fn a_system_that_never_recovers_violates_liveness_and_the_run_ends_with_the_window() {
    let scenario = scenario("stranded-never-recovers.yaml");
    assert_eq!(scenario.plan.stop.within, ms(2_000));
    let outcome = run_on_both(&scenario);
    assert!(outcome.passed());
    assert_eq!(
        outcome.run.stop,
        StopReason::RecoveryWindow { until_ms: 600 }
    );
    assert_eq!(outcome.run.ended_at, ms(600));
    let liveness = invariant(&outcome, Invariant::Liveness);
    assert!(!liveness.held);
    assert_eq!(liveness.violations, [STRANDED_MESSAGE]);
    assert_eq!(liveness.violation_count, 1);
    assert_eq!(
        invariant(&outcome, Invariant::AllTerminal).violations,
        [
            "1 of 1 rollouts not terminal when the run ended (recovery window closed at \
          heal_at + recover_within = 600ms): r-02 running"
        ]
    );
    // With the queue's own reassignment the same faults heal: r-02 is
    // timed out and retried within the window.
    let scan = run_scenario(
        &scenario,
        RunOptions {
            reassignment: Some(rollout_sim::core::ReassignmentPolicy::ScanAllAttempts),
            ..RunOptions::default()
        },
    );
    assert!(invariant(&scan, Invariant::Liveness).held);
    assert_eq!(scan.run.stop, StopReason::AllTerminal);
}

#[test]
fn max_attempts_exhausted_before_the_heal_is_terminal_and_passes_liveness() {
    // A rollout out of attempts is `failed`: terminal, so not pending.
    let text = "\
name: n
runner: { poll_interval: 10ms, heartbeat_interval: 20ms, reassignment_interval: 20ms,
          worker_timeout: 50ms, max_attempts: 1 }
rollouts: [ { id: r1, run: { duration: 100ms } } ]
faults:
  at: [ { at: 30ms, crash: worker-1 } ]
  heal_at: 200ms
stop: { recover_within: 300ms }
";
    let scenario = load_str("s.yaml", text).unwrap_or_else(|e| panic!("{}", e.plain()));
    let outcome = run_on_both(&scenario);
    assert_eq!(
        outcome.run.snapshot.rollout("r1").unwrap().status,
        RolloutStatus::Failed
    );
    assert!(invariant(&outcome, Invariant::Liveness).held);
}

#[cfg(feature = "turmoil")]
mod turmoil {
    use super::*;

    const PARTITION: &str = "\
name: liveness-partition
engine: turmoil
runner:
  poll_interval: 10ms
  heartbeat_interval: 1s
  reassignment_interval: 1s
  worker_timeout: 3s
  backoff: { initial: 5ms, max: 40ms }
  request_timeout: 20ms
rollouts:
  - id: r1
    run: { duration: 5ms, output: \"4\" }
faults:
  dequeue: [ { fail: 2 } ]
  at:
    - { at: 15ms, partition: [worker-1, queue], for: 10s }
  heal_at: 80ms
stop:
  recover_within: 200ms
  within: 20s
";

    #[test]
    fn a_partition_past_the_heal_is_repaired_at_it() {
        let scenario = load_str("s.yaml", PARTITION).unwrap_or_else(|e| panic!("{}", e.plain()));
        let outcome = run_twice(&scenario, EngineKind::Turmoil);
        assert_eq!(healed_at(&outcome), [ms(80)]);
        // As in scenarios/network/partition-during-backoff.yaml up to 62ms
        // (2 scripted failures, a timeout at 42, a refused connection at
        // 62); the poll at 102 finds the link healed.
        assert_eq!(outcome.run.stop, StopReason::AllTerminal);
        assert_eq!(outcome.run.ended_at, ms(112));
        assert_eq!(reward(&outcome, "r1", RETRY_FAILURES_METRIC), 4.0);
        assert_eq!(reward(&outcome, "r1", RETRY_BACKOFF_METRIC), 75.0);
        let after: Vec<_> = outcome
            .run
            .trace
            .events
            .iter()
            .filter(|e| e.at >= ms(80))
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::MessageDropped { .. } | EventKind::Link { .. }
                )
            })
            .collect();
        assert!(after.is_empty(), "{after:?}");
        assert!(invariant(&outcome, Invariant::Liveness).held);
    }

    #[test]
    fn loss_and_held_links_stop_at_the_heal() {
        let text = "\
name: liveness-loss
engine: turmoil
seed: 3
workers: 2
runner:
  poll_interval: 10ms
  heartbeat_interval: 40ms
  reassignment_interval: 50ms
  worker_timeout: 300ms
  backoff: { initial: 5ms, max: 40ms }
  request_timeout: 20ms
  restart_after: 20ms
rollouts:
  - { id: r1, run: { duration: 5ms } }
  - { id: r2, run: { duration: 5ms } }
  - { id: r3, enqueue_at: 100ms, run: { duration: 5ms } }
  - { id: r4, enqueue_at: 200ms, run: { duration: 5ms } }
faults:
  network: { loss_rate: 0.2, latency: { min: 1ms, max: 5ms } }
  at:
    - { at: 150ms, hold: [worker-2, queue], for: 10s }
  heal_at: 250ms
stop:
  recover_within: 2s
  within: 20s
";
        let scenario = load_str("s.yaml", text).unwrap_or_else(|e| panic!("{}", e.plain()));
        let outcome = run_twice(&scenario, EngineKind::Turmoil);
        let events = &outcome.run.trace.events;
        let dropped_before = events
            .iter()
            .filter(|e| e.at < ms(250) && matches!(e.kind, EventKind::MessageDropped { .. }))
            .count();
        let after: Vec<_> = events
            .iter()
            .filter(|e| e.at >= ms(250))
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::MessageDropped { .. } | EventKind::Link { .. }
                )
            })
            .collect();
        assert!(dropped_before > 0, "the loss never fired before the heal");
        assert!(after.is_empty(), "{after:?}");
        assert!(
            invariant(&outcome, Invariant::Liveness).held,
            "{:?}",
            outcome.run.invariants
        );
        assert_eq!(outcome.run.stop, StopReason::AllTerminal);
    }
}

#[test]
fn recover_within_defaults_to_ten_of_the_slowest_recovery_step() {
    // The slowest of the runner's steps here is worker_timeout (120ms);
    // the attempts take 5ms.
    let text =
        std::fs::read_to_string(common::scenarios_dir().join("liveness/heal-mid-script.yaml"))
            .unwrap()
            .replace("stop:\n  recover_within: 100ms\n", "");
    let scenario = load_str("s.yaml", &text).unwrap_or_else(|e| panic!("{}", e.plain()));
    assert_eq!(
        scenario.plan.heal,
        Some(Heal {
            at: ms(50),
            recover_within: ms(1_200)
        })
    );
    // A scripted attempt longer than every runner interval sets it.
    let text = text
        .replace("duration: 5ms", "duration: 700ms")
        .replace("finished_at: 65ms", "finished_at: 760ms");
    let scenario = load_str("s.yaml", &text).unwrap_or_else(|e| panic!("{}", e.plain()));
    assert_eq!(scenario.plan.heal.unwrap().recover_within, ms(7_000));
}

#[test]
fn freeze_and_shrink_write_the_liveness_phase() {
    let scenario = scenario("stranded-never-recovers.yaml");
    let yaml = to_yaml(&scenario, &[]).unwrap();
    assert!(yaml.contains("  heal_at: 100ms\n"), "{yaml}");
    assert!(yaml.contains("  recover_within: 500ms\n"), "{yaml}");
    let again = load_str("w.yaml", &yaml).unwrap_or_else(|e| panic!("{}\n{yaml}", e.plain()));
    assert_eq!(again.plan.heal, scenario.plan.heal);
    assert_eq!(again.expect.violated, scenario.expect.violated);
    let (a, b) = (
        run_twice(&scenario, EngineKind::Virtual),
        run_twice(&again, EngineKind::Virtual),
    );
    assert_eq!(a.run.trace_hash, b.run.trace_hash);
    // Frozen with its seed, the file keeps the heal too.
    let frozen = rollout_sim::explore::freeze(&scenario, 0, None);
    let yaml = to_yaml(&frozen, &[]).unwrap();
    assert!(
        yaml.contains("  heal_at: 100ms\n") && yaml.contains("  recover_within: 500ms\n"),
        "{yaml}"
    );
}

/// The load error of `text`, as the CLI prints it.
fn problems(text: &str) -> String {
    match load_str("s.yaml", text) {
        Ok(_) => panic!("loaded:\n{text}"),
        Err(e) => e.plain(),
    }
}

#[test]
fn the_liveness_phase_is_validated_with_located_messages() {
    let base = "name: n\nrollouts: [ { id: r1 } ]\n";
    let cases = [
        (
            "faults: { heal_at: 3s }\nstop: { within: 2s }\n",
            "s.yaml:3:20: faults.heal_at (3s) is after stop.within (2s); heal earlier, or raise `stop.within`\n",
        ),
        (
            "faults: { heal_at: 3s }\nstop: { when: { at: 2s }, within: 10s }\n",
            "s.yaml:3:20: faults.heal_at (3s) is after stop.when.at (2s): the run would end before the heal; heal earlier, or stop later\n",
        ),
        (
            "faults: { heal_at: 1s }\nstop: { recover_within: 0ms }\n",
            "s.yaml:4:25: stop.recover_within must be greater than 0: no system recovers in no time; give it a few worker timeouts, such as recover_within: 10s\n",
        ),
        (
            "faults: { heal_at: 1s }\nstop: { recover_within: 5s, within: 4s }\n",
            "s.yaml:4:25: stop.recover_within: faults.heal_at + stop.recover_within (1s + 5s = 6s) is after stop.within (4s): the recovery window must close within the run; write `recover_within: 3s` or less, or raise `stop.within` to 6s\n",
        ),
        (
            "faults: { heal_at: 1s }\nstop: { within: 20s }\n",
            "s.yaml:3:20: faults.heal_at + the default stop.recover_within (1s + 30s = 31s) is after stop.within (20s): the recovery window must close within the run; write `recover_within: 19s` or less, or raise `stop.within` to 31s\n",
        ),
        (
            "faults: { heal_at: 1s }\nstop: { when: { at: 3s }, recover_within: 5s }\n",
            "s.yaml:4:43: stop.recover_within: faults.heal_at + stop.recover_within (1s + 5s = 6s) is after stop.when.at (3s): the run would end before the recovery window closes; write `recover_within: 2s` or less, or raise `stop.when.at` to 6s\n",
        ),
        (
            "stop: { recover_within: 5s }\n",
            "s.yaml:3:9: stop.recover_within needs faults.heal_at: the recovery window starts at the heal; add `heal_at: <when faults stop>` under `faults`, or remove `recover_within`\n",
        ),
        (
            "expect: { invariants: [all-terminal, liveness] }\n",
            "s.yaml:3:38: expect.invariants[1]: the `liveness` invariant needs a liveness phase: this file has no `faults.heal_at`; add `heal_at: <when faults stop>` under `faults`, or remove `liveness`\n",
        ),
        (
            "expect: { violated: [liveness] }\n",
            "s.yaml:3:22: expect.violated[0]: the `liveness` invariant needs a liveness phase: this file has no `faults.heal_at`; add `heal_at: <when faults stop>` under `faults`, or remove `liveness`\n",
        ),
        ("faults: { heal_at: soon }\n", ""),
    ];
    for (tail, want) in cases {
        let got = problems(&format!("{base}{tail}"));
        if want.is_empty() {
            assert!(got.starts_with("s.yaml:3:20: "), "{got}");
        } else {
            assert_eq!(got, want, "for:\n{tail}");
        }
    }
    // Without heal_at, the list of invariants a typo is matched against is
    // the six of every run.
    let got = problems(&format!("{base}expect: {{ invariants: [livenes] }}\n"));
    assert!(
        got.contains("one of all-terminal, retry-metrics-iff-recovered, backoff-policy, attempt-ids, no-stranded-attempt, spans-persisted\n"),
        "{got}"
    );
    // With it, `liveness` may be named, and selected alone.
    let scenario = load_str(
        "s.yaml",
        &format!("{base}faults: {{ heal_at: 1s }}\nexpect: {{ invariants: [liveness] }}\n"),
    )
    .unwrap_or_else(|e| panic!("{}", e.plain()));
    assert_eq!(scenario.expect.invariants, [Invariant::Liveness]);
}
