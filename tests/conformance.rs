//! Engine conformance beyond the scenario files (which `tests/scenarios.rs`
//! runs, one test each): inline scenarios whose traces must be the same on
//! the virtual, tokio and turmoil engines.

mod common;

use rollout_sim::scenario::{RunOptions, ScenarioOutcome, run_scenario};
use rollout_sim::sim::EngineKind;

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
        assert!(
            outcome.passed(),
            "{engine}: {}",
            common::explain_failure(&outcome)
        );
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
    assert!(
        on_virtual.passed(),
        "{}",
        common::explain_failure(&on_virtual)
    );
    assert!(on_tokio.passed(), "{}", common::explain_failure(&on_tokio));
    assert_eq!(on_tokio.run.trace_hash, on_virtual.run.trace_hash);
}
