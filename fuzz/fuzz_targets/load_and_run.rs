//! Fuzzes the whole path a scenario file takes: screening, parsing,
//! validation, both renderings of every diagnostic, and a bounded run.
//!
//! Properties checked: nothing panics; every problem is located inside the
//! text; a run ends by its stop rule or a budget; small runs give the same
//! trace hash twice.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rollout_sim::scenario::{RunOptions, load_str, run_scenario};

/// The run is capped so each input takes milliseconds: a fuzzer wants many
/// executions, and the uncapped budgets are covered by tests/hostile.rs.
const MAX_EVENTS: usize = 20_000;
/// Plans with more rollouts are loaded (that is under test) but not run.
const MAX_RUN_ROLLOUTS: usize = 5_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut scenario = match load_str("fuzz.yaml", text) {
        Ok(scenario) => scenario,
        Err(error) => {
            assert!(!error.problems.is_empty(), "an error without problems");
            for problem in &error.problems {
                if let Some(span) = problem.span {
                    assert!(
                        span.offset + span.len <= text.len(),
                        "span {span:?} beyond the text ({} bytes)",
                        text.len()
                    );
                    assert!(
                        text.is_char_boundary(span.offset),
                        "span inside a character"
                    );
                }
            }
            let plain = error.plain();
            assert_eq!(plain.lines().count(), error.problems.len());
            for report in error.reports() {
                let _ = format!("{:?}", miette::Report::new(report));
            }
            return;
        }
    };
    if scenario.plan.rollouts.len() > MAX_RUN_ROLLOUTS {
        return;
    }
    scenario.plan.limits.max_events = MAX_EVENTS;
    let outcome = run_scenario(&scenario, RunOptions::default());
    assert!(
        outcome.run.ended_at <= scenario.plan.stop.within,
        "ran past its budget: {:?} > {:?}",
        outcome.run.ended_at,
        scenario.plan.stop.within
    );
    if outcome.run.trace.events.len() < 2_000 {
        let again = run_scenario(&scenario, RunOptions::default());
        assert_eq!(
            outcome.run.trace_hash, again.run.trace_hash,
            "non-deterministic"
        );
    }
});
