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

use std::fmt::Write as _;

use proptest::prelude::*;
use rollout_sim::scenario::{RunOptions, load_str, run_scenario};
use rollout_sim::sim::StopReason;

/// Event budget for generated runs: generous for their size, small enough
/// that a runaway run costs milliseconds.
const MAX_EVENTS: usize = 20_000;

/// A fixed seed, so `cargo test` checks the same cases on every run; set
/// `PROPTEST_SEED` (and `PROPTEST_CASES`) to explore further.
fn config(cases: u32) -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(cases, |c: u64| c as u32),
        rng_seed: proptest::test_runner::RngSeed::Fixed(env("PROPTEST_SEED").unwrap_or(1958)),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

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

/// A scenario as data, always structurally and semantically valid.
#[derive(Debug, Clone)]
struct Model {
    seed: u64,
    tokio: bool,
    poll: u64,
    heartbeat: u64,
    reassignment: u64,
    timeout: u64,
    backoff: (u64, u64),
    retry_metrics: bool,
    max_attempts: Option<u32>,
    workers: u32,
    restart_after: Option<u64>,
    rollouts: Vec<RolloutModel>,
    generate: Option<(u32, u64, u64)>,
    scripts: Vec<(&'static str, Vec<(&'static str, u32)>)>,
    timed: Vec<(u64, bool, u32)>,
    stop_at: Option<u64>,
    within: u64,
}

#[derive(Debug, Clone)]
struct RolloutModel {
    enqueue_at: u64,
    duration: u64,
    failed: bool,
    rewards: Vec<(u8, i32)>,
    retry_duration: Option<u64>,
}

fn rollout() -> impl Strategy<Value = RolloutModel> {
    (
        0..200u64,
        0..300u64,
        prop::bool::weighted(0.2),
        prop::collection::vec((0..4u8, -5..5i32), 0..3),
        prop::option::of(0..100u64),
    )
        .prop_map(
            |(enqueue_at, duration, failed, rewards, retry_duration)| RolloutModel {
                enqueue_at,
                duration,
                failed,
                rewards,
                retry_duration,
            },
        )
}

fn script() -> impl Strategy<Value = Vec<(&'static str, u32)>> {
    prop::collection::vec(
        (prop::sample::select(vec!["fail", "pass", "empty"]), 0..6u32),
        0..4,
    )
}

fn model() -> impl Strategy<Value = Model> {
    let runner = (
        1..50u64,
        1..100u64,
        1..100u64,
        1..400u64,
        1..30u64,
        0..60u64,
    );
    let ops = prop::sample::subsequence(vec!["dequeue", "heartbeat", "flush", "complete"], 0..=4);
    (
        (any::<u64>(), prop::bool::weighted(0.25)),
        runner,
        (
            any::<bool>(),
            prop::option::of(1..4u32),
            1..4u32,
            prop::option::of(0..60u64),
        ),
        prop::collection::vec(rollout(), 1..6),
        prop::option::of((1..40u32, 0..20u64, 0..50u64)),
        (ops, prop::collection::vec(script(), 4)),
        prop::collection::vec((0..500u64, any::<bool>(), 0..4u32), 0..3),
        (prop::option::of(1..2_000u64), 500..20_000u64),
    )
        .prop_map(
            |(
                (seed, tokio),
                (poll, heartbeat, reassignment, timeout, initial, extra),
                (retry_metrics, max_attempts, workers, restart_after),
                rollouts,
                generate,
                (ops, scripts),
                timed,
                (stop_at, within),
            )| {
                let scripts = ops
                    .into_iter()
                    .zip(scripts)
                    .map(|(op, steps)| {
                        let steps = steps
                            .into_iter()
                            .map(|(kind, n)| {
                                (
                                    if op != "dequeue" && kind == "empty" {
                                        "pass"
                                    } else {
                                        kind
                                    },
                                    n,
                                )
                            })
                            .collect();
                        (op, steps)
                    })
                    .collect();
                // The loader refuses what can never happen: faults after
                // the run ends, rollouts enqueued after the budget.
                let stop_at = stop_at.map(|at| at.min(within));
                let horizon = stop_at.unwrap_or(within);
                let generate = generate.map(|(count, every, start)| {
                    let last = start + every * u64::from(count - 1);
                    (count, if last > within { 0 } else { every }, start)
                });
                Model {
                    seed,
                    tokio,
                    poll,
                    heartbeat,
                    reassignment,
                    timeout,
                    backoff: (initial, initial + extra),
                    retry_metrics,
                    max_attempts,
                    workers,
                    restart_after,
                    rollouts,
                    generate,
                    scripts,
                    timed: timed
                        .into_iter()
                        .filter(|(at, ..)| *at <= horizon)
                        .collect(),
                    stop_at,
                    within,
                }
            },
        )
}

impl Model {
    fn yaml(&self) -> String {
        let mut y = String::new();
        let _ = writeln!(y, "name: generated\nseed: {}", self.seed);
        if self.tokio {
            y.push_str("engine: tokio\n");
        }
        let _ = writeln!(
            y,
            "runner:\n  poll_interval: {}ms\n  heartbeat_interval: {}ms\n  reassignment_interval: {}ms\n  worker_timeout: {}ms\n  backoff: {{ initial: {}ms, max: {}ms }}\n  retry_metrics: {}",
            self.poll,
            self.heartbeat,
            self.reassignment,
            self.timeout,
            self.backoff.0,
            self.backoff.1,
            self.retry_metrics
        );
        if let Some(n) = self.max_attempts {
            let _ = writeln!(y, "  max_attempts: {n}");
        }
        if let Some(ms) = self.restart_after {
            let _ = writeln!(y, "  restart_after: {ms}ms");
        }
        let _ = writeln!(y, "workers: {}\nrollouts:", self.workers);
        for (i, r) in self.rollouts.iter().enumerate() {
            let result = if r.failed { "failed" } else { "succeeded" };
            let rewards = if r.failed || r.rewards.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = r
                    .rewards
                    .iter()
                    .enumerate()
                    .map(|(k, (name, v))| format!("k{k}_{name}: {v}"))
                    .collect();
                format!(", rewards: {{ {} }}", list.join(", "))
            };
            let _ = writeln!(
                y,
                "  - id: r{i}\n    input: {{ n: {i} }}\n    enqueue_at: {}ms\n    run: {{ duration: {}ms, result: {result}, output: \"o{i}\"{rewards} }}",
                r.enqueue_at, r.duration
            );
            if let Some(d) = r.retry_duration {
                let _ = writeln!(
                    y,
                    "    attempts: [ {{ duration: {}ms }}, {{ duration: {d}ms }} ]",
                    r.duration
                );
            }
        }
        if let Some((count, every, start)) = self.generate {
            let _ = writeln!(
                y,
                "  - generate: {{ count: {count}, prefix: g-, every: {every}ms, start: {start}ms, run: {{ duration: 3ms }} }}"
            );
        }
        if !self.scripts.is_empty() || !self.timed.is_empty() {
            y.push_str("faults:\n");
        }
        for (op, steps) in &self.scripts {
            let list: Vec<String> = steps
                .iter()
                .map(|(k, n)| format!("{{ {k}: {n} }}"))
                .collect();
            let _ = writeln!(y, "  {op}: [ {} ]", list.join(", "));
        }
        if !self.timed.is_empty() {
            y.push_str("  at:\n");
            for (at, crash, worker) in &self.timed {
                let action = if *crash { "crash" } else { "restart" };
                let worker = worker % self.workers + 1;
                let _ = writeln!(y, "    - {{ at: {at}ms, {action}: worker-{worker} }}");
            }
        }
        y.push_str("stop:\n");
        if let Some(at) = self.stop_at {
            let _ = writeln!(y, "  when: {{ at: {at}ms }}");
        }
        let _ = writeln!(y, "  within: {}ms", self.within);
        y
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
            StopReason::RecoveryWindow { .. } => prop_assert!(false, "no generated scenario has faults.heal_at\n{}", yaml),
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
