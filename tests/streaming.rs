//! The streaming trace (issue 7): a run that does not keep its events
//! (`SimPlan::keep_events = false`, what the CLI and sweeps do) checks and
//! hashes every event as it happens, and must give exactly what a run that
//! keeps them gives: the same trace hash, event count, invariant verdicts
//! and messages, and expectation checks. The invariants fed event by event
//! must also agree with `check_all` replaying the kept trace.
//!
//! Every scenario file under `scenarios/` runs on the engine it resolves
//! to, and the non-network ones on `tokio` too; with seeds, so the random
//! overlays are covered, and the research files with the reference store
//! too, so are the invariants' violations.

mod common;

use rollout_sim::core::ReassignmentPolicy;
use rollout_sim::scenario::{RunOptions, Scenario, ScenarioOutcome, load_file, run_scenario};
use rollout_sim::sim::{EngineKind, check_all};

fn run(
    scenario: &Scenario,
    engine: EngineKind,
    seed: u64,
    keep: bool,
    reference: bool,
) -> ScenarioOutcome {
    run_scenario(
        scenario,
        RunOptions {
            seed: Some(seed),
            engine: Some(engine),
            keep_events: Some(keep),
            reassignment: reference.then_some(ReassignmentPolicy::WorkerActiveIds),
            ..RunOptions::default()
        },
    )
}

#[test]
fn streamed_runs_are_exactly_kept_runs() {
    let mut failures = Vec::new();
    let mut violated = 0;
    for path in common::scenario_files() {
        let file = common::display(&path);
        let scenario = load_file(&path).unwrap_or_else(|e| panic!("{file}: {e:?}"));
        let network = scenario.engine() == EngineKind::Turmoil;
        // The reference store strands attempts: the research files are
        // built for it; others would run out their whole time budget.
        let research = file.contains("research/");
        let engines: &[EngineKind] = if network {
            &[EngineKind::Turmoil]
        } else {
            &[EngineKind::Virtual, EngineKind::Tokio]
        };
        let seeds: &[u64] = if network { &[0] } else { &[0, 1, 2, 3] };
        for &engine in engines {
            for &seed in seeds {
                for reference in [false, research] {
                    let kept = run(&scenario, engine, seed, true, reference);
                    let streamed = run(&scenario, engine, seed, false, reference);
                    let what = format!("{file} on {engine}, seed {seed}, reference {reference}");
                    if kept.run.trace.events.len() != kept.run.events {
                        failures.push(format!(
                            "{what}: kept {} of {} events",
                            kept.run.trace.events.len(),
                            kept.run.events
                        ));
                    }
                    if !streamed.run.trace.events.is_empty() {
                        failures.push(format!("{what}: a streamed run kept events"));
                    }
                    let same = (
                        kept.run.trace_hash,
                        kept.run.events,
                        &kept.invariants,
                        &kept.checks,
                    ) == (
                        streamed.run.trace_hash,
                        streamed.run.events,
                        &streamed.invariants,
                        &streamed.checks,
                    );
                    if !same {
                        failures.push(format!(
                            "{what}: kept {} ({} events), streamed {} ({} events); invariants {:?} vs {:?}",
                            kept.run.trace_hash,
                            kept.run.events,
                            streamed.run.trace_hash,
                            streamed.run.events,
                            kept.invariants,
                            streamed.invariants
                        ));
                    }
                    let replayed =
                        check_all(&scenario.plan, &kept.run.trace.events, kept.run.facts());
                    if replayed != kept.run.invariants {
                        failures.push(format!(
                            "{what}: monitor {:?} but check_all {replayed:?}",
                            kept.run.invariants
                        ));
                    }
                    violated += kept.run.invariants.iter().filter(|i| !i.held).count();
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        violated > 0,
        "some run violates an invariant, so messages are compared too"
    );
}
