//! Conformance: every scenario file under `scenarios/` passes, deterministically,
//! on both the virtual and the tokio engine, with the same outcome on each,
//! and with the same outcomes and rewards on the turmoil engine.
//!
//! For each file (found by walking the folder at test time):
//! - it runs twice on `virtual` and twice on `tokio`, and every run passes;
//! - the two runs on one engine have the same trace hash and the same events;
//! - the virtual and tokio runs agree exactly on every rollout (id, status,
//!   attempts with their status and worker) and on every persisted span
//!   (attempt id, sequence id, name, reward name and value);
//! - it runs twice on `turmoil`, deterministically, and passes every check
//!   but `finished_at` (time stamps differ there: every queue call crosses
//!   the simulated network), with the same rollouts and spans as `virtual`
//!   (unless it uses `faults.random`, whose draws follow the order of calls,
//!   which the network changes).
//!
//! A file that resolves to the turmoil engine (it uses network faults, or
//! says `engine: turmoil`: the files under `scenarios/network/`) runs twice
//! on `turmoil` only, and must pass every check there.
//!
//! Failures are collected over all files and reported together.

mod common;

use std::fmt::Debug;
use std::path::Path;

use rollout_sim::core::{AttemptStatus, RolloutStatus};
use rollout_sim::scenario::{RunOptions, ScenarioOutcome, load_file, run_scenario};
use rollout_sim::sim::EngineKind;

/// A rollout's outcome, as compared across engines.
#[derive(Debug, Clone, PartialEq)]
struct RolloutOutcome {
    id: String,
    status: RolloutStatus,
    attempt_count: usize,
    /// Each attempt's (status, worker), attempt 1 first.
    attempts: Vec<(AttemptStatus, String)>,
}

/// A persisted span, as compared across engines.
#[derive(Debug, Clone, PartialEq)]
struct SpanOutcome {
    attempt: String,
    sequence_id: u32,
    name: String,
    /// For `reward.emit` spans: (reward name, value).
    reward: Option<(String, f64)>,
}

fn rollouts(outcome: &ScenarioOutcome) -> Vec<RolloutOutcome> {
    outcome
        .run
        .snapshot
        .rollouts
        .iter()
        .map(|r| RolloutOutcome {
            id: r.id.to_string(),
            status: r.status,
            attempt_count: r.attempts.len(),
            attempts: r
                .attempts
                .iter()
                .map(|a| (a.status, a.worker.to_string()))
                .collect(),
        })
        .collect()
}

fn spans(outcome: &ScenarioOutcome) -> Vec<SpanOutcome> {
    outcome
        .run
        .snapshot
        .spans
        .all()
        .iter()
        .map(|s| SpanOutcome {
            attempt: s.attempt_id.to_string(),
            sequence_id: s.sequence_id,
            name: s.name.clone(),
            reward: s.reward().map(|r| (r.name, r.value)),
        })
        .collect()
}

/// `None` when equal; otherwise where the two lists first differ.
fn list_diff<T: Debug + PartialEq>(what: &str, left: &[T], right: &[T]) -> Option<String> {
    common::labelled_diff(what, ("virtual", "tokio"), left, right)
}

/// Checks that may fail on the turmoil engine for a scenario written for the
/// virtual one: time stamps.
const TIMED_CHECKS: [&str; 1] = ["finished_at"];

/// True when the run passed, not counting `ignored` checks.
fn passed_except(outcome: &ScenarioOutcome, ignored: &[&str]) -> bool {
    outcome
        .failed_checks()
        .all(|c| ignored.contains(&c.name.as_str()))
        && outcome.violated().next().is_none()
}

/// Why a run did not pass, one line per failed check or violated invariant.
fn explain_failure(outcome: &ScenarioOutcome) -> String {
    let mut lines = Vec::new();
    for check in outcome.failed_checks() {
        lines.push(format!(
            "    check {}: expected {}, actual {}",
            check.name, check.expected, check.actual
        ));
    }
    for invariant in outcome.violated() {
        lines.push(format!(
            "    invariant {} violated ({} violation(s)): {}",
            invariant.name,
            invariant.violation_count,
            invariant.violations.join("; ")
        ));
    }
    if lines.is_empty() {
        lines.push("    (no failed check or violated invariant reported)".into());
    }
    lines.join("\n")
}

fn run_twice(
    file: &str,
    scenario: &rollout_sim::scenario::Scenario,
    engine: EngineKind,
    failures: &mut Vec<String>,
) -> ScenarioOutcome {
    run_twice_except(file, scenario, engine, &[], failures)
}

/// [`run_twice`], not counting the `ignored` checks as failures.
fn run_twice_except(
    file: &str,
    scenario: &rollout_sim::scenario::Scenario,
    engine: EngineKind,
    ignored: &[&str],
    failures: &mut Vec<String>,
) -> ScenarioOutcome {
    let options = RunOptions {
        engine: Some(engine),
        ..Default::default()
    };
    let first = run_scenario(scenario, options.clone());
    let second = run_scenario(scenario, options);
    for (n, outcome) in [(1, &first), (2, &second)] {
        if !passed_except(outcome, ignored) {
            failures.push(format!(
                "{file} [{engine}, run {n}] failed:\n{}",
                explain_failure(outcome)
            ));
        }
    }
    if first.run.trace_hash != second.run.trace_hash {
        failures.push(format!(
            "{file} [{engine}] trace hash differs between two runs: {} vs {}",
            first.run.trace_hash, second.run.trace_hash
        ));
    }
    if first.run.trace.events != second.run.trace.events {
        let at = first
            .run
            .trace
            .first_divergence(&second.run.trace)
            .unwrap_or(0);
        failures.push(format!(
            "{file} [{engine}] trace events differ between two runs ({} vs {} events); first divergence at event {at}:\n      run 1: {:?}\n      run 2: {:?}",
            first.run.trace.events.len(),
            second.run.trace.events.len(),
            first.run.trace.events.get(at),
            second.run.trace.events.get(at),
        ));
    }
    first
}

fn check_file(path: &Path, failures: &mut Vec<String>) {
    let file = common::display(path);
    let scenario = match load_file(path) {
        Ok(scenario) => scenario,
        Err(error) => {
            failures.push(format!("{file}: does not load:\n{}", error.plain()));
            return;
        }
    };
    if scenario.engine() == EngineKind::Turmoil {
        // Network faults (or `engine: turmoil`): written for the turmoil
        // engine, time stamps included.
        run_twice(&file, &scenario, EngineKind::Turmoil, failures);
        return;
    }
    let on_virtual = run_twice(&file, &scenario, EngineKind::Virtual, failures);
    let on_turmoil = run_twice_except(
        &file,
        &scenario,
        EngineKind::Turmoil,
        &TIMED_CHECKS,
        failures,
    );
    let sides = ("virtual", "turmoil");
    // The seeded overlay draws per call, in the order calls happen; network
    // delays reorder the calls of different workers, so with `faults.random`
    // the faults (and outcomes) legitimately land elsewhere on turmoil. The
    // run must still pass there.
    let comparable = scenario.plan.random_faults.is_empty();
    if comparable
        && let Some(diff) = common::labelled_diff(
            "rollout outcomes",
            sides,
            &rollouts(&on_virtual),
            &rollouts(&on_turmoil),
        )
    {
        failures.push(format!("{file} [virtual vs turmoil] {diff}"));
    }
    if comparable
        && let Some(diff) = common::labelled_diff(
            "persisted spans",
            sides,
            &spans(&on_virtual),
            &spans(&on_turmoil),
        )
    {
        failures.push(format!("{file} [virtual vs turmoil] {diff}"));
    }
    let on_tokio = run_twice(&file, &scenario, EngineKind::Tokio, failures);
    if let Some(diff) = list_diff(
        "rollout outcomes",
        &rollouts(&on_virtual),
        &rollouts(&on_tokio),
    ) {
        failures.push(format!("{file} [virtual vs tokio] {diff}"));
    }
    if let Some(diff) = list_diff("persisted spans", &spans(&on_virtual), &spans(&on_tokio)) {
        failures.push(format!("{file} [virtual vs tokio] {diff}"));
    }
    // Stronger than outcomes: the engines produce the very same event trace,
    // so a trace hash means the same thing whichever engine printed it.
    if let Some(diff) = list_diff(
        "trace events",
        &on_virtual.run.trace.events,
        &on_tokio.run.trace.events,
    ) {
        failures.push(format!(
            "{file} [virtual vs tokio] trace hashes {} vs {}: {diff}",
            on_virtual.run.trace_hash, on_tokio.run.trace_hash
        ));
    }
}

#[test]
fn every_scenario_passes_deterministically_on_every_engine() {
    let files = common::scenario_files();
    assert!(
        files.len() >= 3,
        "expected at least 3 scenario files under {}, found {}: {files:?}",
        common::scenarios_dir().display(),
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        check_file(path, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) over {} scenario file(s):\n\n{}\n",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// Runs a scenario text on an engine.
fn run_text(text: &str, engine: EngineKind) -> ScenarioOutcome {
    let scenario = rollout_sim::scenario::load_str("inline.yaml", text).expect("a valid scenario");
    run_scenario(
        &scenario,
        RunOptions {
            engine: Some(engine),
            ..RunOptions::default()
        },
    )
}

/// More workers wake at one instant than a tokio `LocalSet` polls in a
/// round (61): the tokio engine still runs every one of them before it
/// judges the instant, so its trace is the virtual engine's, event for event.
#[test]
fn a_hundred_workers_waking_together_give_the_same_trace_on_virtual_and_tokio() {
    let text = "name: w100\nworkers: 100\nrunner: { poll_interval: 10ms }\nrollouts:\n  - id: r1\n    run: { duration: 10ms, output: ok }\nexpect:\n  rollouts: { r1: succeeded }\n  finished_at: 10ms\n";
    let on_virtual = run_text(text, EngineKind::Virtual);
    let on_tokio = run_text(text, EngineKind::Tokio);
    assert!(on_virtual.passed() && on_tokio.passed());
    // Every worker starts, heartbeats and polls at 0 ms and again at 10 ms.
    assert_eq!(on_virtual.run.events, 908);
    assert_eq!(on_tokio.run.events, on_virtual.run.events);
    assert_eq!(on_tokio.run.trace_hash, on_virtual.run.trace_hash);
}

/// A planned crash overrides the supervisor: the worker whose heartbeat
/// failed at 0 ms, restarted by the plan at 20 ms and crashed by it at
/// 30 ms, stays down although `restart_after` was due at 50 ms; the run goes
/// on to its `stop.at` with r1 still waiting. The same on every engine.
#[test]
fn a_planned_crash_cancels_a_pending_supervisor_restart_on_every_engine() {
    let text = "name: sup-crash\nrunner: { poll_interval: 10ms, heartbeat_interval: 25ms, restart_after: 50ms }\nrollouts:\n  - id: r1\n    enqueue_at: 200ms\n    run: { duration: 5ms, output: ok }\nfaults:\n  heartbeat: [ { fail: 1 } ]\n  at:\n    - { at: 20ms, restart: worker-1 }\n    - { at: 30ms, crash: worker-1 }\nstop:\n  when: { at: 300ms }\nexpect:\n  rollouts: { r1: queuing }\n";
    for engine in [EngineKind::Virtual, EngineKind::Tokio, EngineKind::Turmoil] {
        let outcome = run_text(text, engine);
        assert!(outcome.passed(), "{engine}: {}", explain_failure(&outcome));
        assert_eq!(outcome.run.ended_at.as_millis(), 300, "{engine}");
        let restarts = outcome
            .run
            .trace
            .events
            .iter()
            .filter(|e| matches!(e.kind, rollout_sim::sim::EventKind::WorkerRestarted))
            .count();
        assert_eq!(restarts, 1, "{engine}: only the planned restart at 20 ms");
    }
}

/// A worker restarted and crashed at the same instant never runs: on tokio
/// its task is dropped before its first poll, and the engine still settles
/// each instant as the virtual engine does.
#[test]
fn a_worker_restarted_and_crashed_at_one_instant_gives_the_same_trace() {
    let text = "name: spawn-crash\nrunner: { poll_interval: 10ms }\nworkers: 2\nrollouts:\n  - id: r1\n    enqueue_at: 30ms\n    run: { duration: 5ms, output: ok }\nfaults:\n  at:\n    - { at: 0ms, crash: worker-2 }\n    - { at: 20ms, restart: worker-2 }\n    - { at: 20ms, crash: worker-2 }\nexpect:\n  rollouts: { r1: succeeded }\n  finished_at: 35ms\n";
    let on_virtual = run_text(text, EngineKind::Virtual);
    let on_tokio = run_text(text, EngineKind::Tokio);
    assert!(on_virtual.passed(), "{}", explain_failure(&on_virtual));
    assert!(on_tokio.passed(), "{}", explain_failure(&on_tokio));
    assert_eq!(on_tokio.run.trace_hash, on_virtual.run.trace_hash);
}
