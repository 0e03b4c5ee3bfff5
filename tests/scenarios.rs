//! Our own scenario suite, one test per file: `cargo test -- --list` lists
//! them, `cargo test -- c02` runs c02 alone. A `harness = false` target on
//! the library's harness (`rollout_sim::harness`), with a check stronger
//! than the default one:
//!
//! - each file runs twice on `virtual` and twice on `tokio`, and every run
//!   passes;
//! - the two runs on one engine have the same trace hash and the same events;
//! - the virtual and tokio runs agree exactly on every rollout (id, status,
//!   attempts with their status and worker), on every persisted span
//!   (attempt id, sequence id, name, reward name and value), and event for
//!   event on the trace;
//! - it runs twice on `turmoil`, deterministically, and passes every check
//!   but `finished_at` (time stamps differ there: every queue call crosses
//!   the simulated network), with the same rollouts and spans as `virtual`
//!   (unless it uses `faults.random`, whose draws follow the order of calls,
//!   which the network changes).
//!
//! A file that resolves to the turmoil engine (it uses network faults, or
//! says `engine: turmoil`: the files under `scenarios/network/`) runs twice
//! on `turmoil` only, and must pass every check there.

mod common;

use std::process::ExitCode;

use std::fmt::Debug;

use rollout_sim::core::{AttemptStatus, RolloutStatus};
use rollout_sim::scenario::{RunOptions, Scenario, ScenarioOutcome, run_scenario};
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
                common::explain_failure(outcome)
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

/// Every engine's runs of one file, compared; `Err` lists every problem.
fn check(scenario: &Scenario) -> Result<(), String> {
    let mut failures = Vec::new();
    check_on_every_engine(scenario, &mut failures);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n\n"))
    }
}

fn check_on_every_engine(scenario: &Scenario, failures: &mut Vec<String>) {
    let file = common::display(std::path::Path::new(&scenario.path));
    if scenario.engine() == EngineKind::Turmoil {
        // Network faults (or `engine: turmoil`): written for the turmoil
        // engine, time stamps included.
        run_twice(&file, scenario, EngineKind::Turmoil, failures);
        return;
    }
    let on_virtual = run_twice(&file, scenario, EngineKind::Virtual, failures);
    let on_turmoil = run_twice_except(
        &file,
        scenario,
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
    let on_tokio = run_twice(&file, scenario, EngineKind::Tokio, failures);
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

fn main() -> ExitCode {
    let dir = common::scenarios_dir();
    let harness = rollout_sim::harness::Harness::new().dir(&dir).check(check);
    // Walked at test time: files added later are cases without editing this.
    match harness.trials() {
        Ok(trials) if trials.len() >= 3 => {
            libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit_code()
        }
        Ok(trials) => {
            eprintln!(
                "expected at least 3 scenario files under {}, found {}",
                dir.display(),
                trials.len()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
