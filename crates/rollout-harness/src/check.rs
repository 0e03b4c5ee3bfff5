//! What a case checks. The default, [`run_twice`], is what `rollout-sim
//! scenario --check-determinism` checks; a [`Check`] of your own replaces it
//! (our own suite compares every engine).

use rollout_report::{Detail, ScenarioReport, Style, render_scenario};
use rollout_scenario::{RunOptions, Scenario, run_scenario};

/// A case's check: `Ok` passes, `Err` fails with the message shown under
/// the test's name. It gets the scenario with the case's seed already set.
pub type Check = dyn Fn(&Scenario) -> Result<(), String> + Send + Sync;

/// Runs the scenario twice on the engine it asks for: it passes when every
/// expectation and invariant held and the two runs gave the same trace
/// hash. A failure's message is the scenario's report (its failed checks
/// and violated invariants, with the repro command).
pub fn run_twice(scenario: &Scenario) -> Result<(), String> {
    let first = run_scenario(scenario, RunOptions::default());
    let second = run_scenario(scenario, RunOptions::default());
    if !first.passed() {
        let report = ScenarioReport::new(scenario, &first, "rollout-sim");
        return Err(render_scenario(
            &report,
            Detail::Failures,
            Style { color: false },
        ));
    }
    if first.run.trace_hash != second.run.trace_hash {
        let at = first
            .run
            .trace
            .first_divergence(&second.run.trace)
            .map_or_else(String::new, |i| format!("; the traces part at event {i}"));
        return Err(format!(
            "{}: two runs of seed {} gave trace hashes {} and {}{at}",
            scenario.path, scenario.plan.seed, first.run.trace_hash, second.run.trace_hash
        ));
    }
    Ok(())
}
