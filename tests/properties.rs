//! Property tests of the loader and the engines.
//!
//! - arbitrary bytes (and arbitrary YAML-looking text) never panic the
//!   loader, and every refusal has at least one problem, one line each;
//! - arbitrary structurally valid scenarios, generated as data and rendered
//!   as YAML, load, never panic, finish within their budgets, and give the
//!   same trace hash twice;
//! - the virtual and tokio engines give the same trace for each of them.
//!
//! Case counts keep this file to a few seconds on two cores; explore further
//! with `PROPTEST_CASES=5000 PROPTEST_SEED=7 cargo test --test properties`.

use proptest::prelude::*;
use rollout_sim::scenario::{RunOptions, load_str, run_scenario};
use rollout_sim::sim::StopReason;

#[path = "common/generated.rs"]
mod generated;
use generated::{config, model};

/// Event budget for generated runs: generous for their size, small enough
/// that a runaway run costs milliseconds.
const MAX_EVENTS: usize = 20_000;

fn check_refusal(text: &str) -> Result<(), TestCaseError> {
    if let Err(error) = load_str("prop.yaml", text) {
        prop_assert!(!error.problems.is_empty());
        prop_assert_eq!(error.plain().lines().count(), error.problems.len());
        for problem in &error.problems {
            if let Some(span) = problem.span {
                prop_assert!(span.offset + span.len <= text.len());
            }
        }
    }
    Ok(())
}

/// Characters YAML gives meaning to, and some it does not.
const YAML_ALPHABET: &str = "abc01-9 :\n\t,[]{}&*!|>'\"#%@`?.-_\\x\u{e9}\u{2713}";

fn yamlish() -> impl Strategy<Value = String> {
    let chars: Vec<char> = YAML_ALPHABET.chars().collect();
    let keys = prop::sample::select(vec![
        "name: ",
        "rollouts:\n",
        "  - id: ",
        "run: ",
        "duration: ",
        "5ms",
        "generate: ",
        "count: ",
        "faults:\n",
        "dequeue: ",
        "[ { fail: ",
        " } ]",
        "stop:\n",
        "within: ",
        "expect:\n",
        "  rollouts:\n",
        "    r1: ",
        "succeeded",
        "&a ",
        "*a",
        "workers: ",
        "\n",
        "  ",
        "{",
        "}",
        "[",
        "]",
    ]);
    let piece = prop_oneof![
        prop::sample::select(chars).prop_map(String::from),
        keys.prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..120).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_never_panic_the_loader(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_refusal(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn arbitrary_yaml_looking_text_never_panics_the_loader(text in yamlish()) {
        check_refusal(&text)?;
    }
}

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn valid_scenarios_run_within_budget_and_deterministically(model in model()) {
        let yaml = model.yaml();
        let mut scenario = match load_str("generated.yaml", &yaml) {
            Ok(s) => s,
            Err(e) => return Err(TestCaseError::fail(format!("a valid scenario was refused:\n{}\n{yaml}", e.plain()))),
        };
        scenario.plan.limits.max_events = MAX_EVENTS;
        let within = scenario.plan.stop.within;
        let first = run_scenario(&scenario, RunOptions::default());
        prop_assert!(first.run.ended_at <= within, "ended at {:?}, budget {:?}\n{yaml}", first.run.ended_at, within);
        prop_assert!(first.run.trace.events.len() <= MAX_EVENTS + 50_000, "{yaml}");
        match first.run.stop {
            StopReason::AllTerminal | StopReason::StopAt | StopReason::Stalled => {}
            StopReason::TimeBudget { within_ms } => prop_assert_eq!(u128::from(within_ms), within.as_millis()),
            StopReason::EventBudget { max_events } => prop_assert_eq!(max_events, MAX_EVENTS),
            StopReason::TurmoilBudget { .. } => prop_assert!(false, "the turmoil budget stopped a virtual run\n{}", yaml),
            StopReason::RecoveryWindow { until_ms } => prop_assert_eq!(Some(until_ms), model.recovery_window_ms(), "{}", yaml),
        }
        let again = run_scenario(&scenario, RunOptions::default());
        prop_assert_eq!(first.run.trace_hash, again.run.trace_hash, "two runs differ\n{}", yaml);
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// The virtual and tokio engines give the same trace, event for event,
    /// for any valid scenario: same-instant timers wake in registration
    /// order on both.
    #[test]
    fn virtual_and_tokio_give_the_same_trace(model in model()) {
        let yaml = model.yaml();
        let mut scenario = load_str("generated.yaml", &yaml)
            .map_err(|e| TestCaseError::fail(format!("refused:\n{}\n{yaml}", e.plain())))?;
        scenario.plan.limits.max_events = MAX_EVENTS;
        let on = |engine| run_scenario(&scenario, RunOptions { engine: Some(engine), ..RunOptions::default() });
        let virtual_run = on(rollout_sim::sim::EngineKind::Virtual);
        let tokio_run = on(rollout_sim::sim::EngineKind::Tokio);
        prop_assert_eq!(virtual_run.run.stop, tokio_run.run.stop, "stop reasons differ\n{}", yaml);
        prop_assert_eq!(virtual_run.run.ended_at, tokio_run.run.ended_at, "end times differ\n{}", yaml);
        if virtual_run.run.trace_hash != tokio_run.run.trace_hash {
            let (v, t) = (&virtual_run.run.trace.events, &tokio_run.run.trace.events);
            let at = v.iter().zip(t.iter()).position(|(a, b)| a != b).unwrap_or(v.len().min(t.len()));
            return Err(TestCaseError::fail(format!(
                "traces differ at event {at} of {}/{}:\n  virtual: {:?}\n  tokio:   {:?}\n{yaml}",
                v.len(), t.len(), v.get(at), t.get(at)
            )));
        }
    }
}
