//! Valid scenarios generated as data and rendered as YAML, for property
//! tests: every one loads, and every fault in it is scripted or timed (no
//! random faults), so a model of the rules can predict its run exactly.
//!
//! Included by path (`#[path = "common/generated.rs"] mod generated;`) by
//! the test targets that generate scenarios, so the others do not compile
//! proptest strategies they never use.
#![allow(dead_code)] // each including target uses a different part

use std::fmt::Write as _;

use proptest::prelude::*;

/// The last worker's `start_at`, and its own poll interval,
/// `retry_metrics` and backoff initial, in ms.
type LastWorker = (u64, Option<u64>, Option<bool>, Option<u64>);

/// A scenario as data, always structurally and semantically valid.
#[derive(Debug, Clone)]
pub struct Model {
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
    /// Scripts kept per worker (each op's for one worker) instead of shared.
    per_worker: bool,
    /// The last worker's own settings: `start_at`, a poll interval and
    /// `retry_metrics` of its own, in ms.
    last_worker: Option<LastWorker>,
    /// `faults.heal_at` and `stop.recover_within`, in ms.
    heal: Option<(u64, u64)>,
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

pub fn model() -> impl Strategy<Value = Model> {
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
        (
            prop::bool::weighted(0.3),
            prop::option::weighted(0.2, (0..1_000u64, 1..2_000u64)),
            prop::option::weighted(
                0.3,
                (
                    0..300u64,
                    prop::option::of(1..40u64),
                    prop::option::of(any::<bool>()),
                    prop::option::of(1..30u64),
                ),
            ),
        ),
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
                (per_worker, heal, last_worker),
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
                    per_worker,
                    last_worker: last_worker.map(|(at, poll, metrics, initial)| {
                        (at.min(horizon), poll, metrics, initial)
                    }),
                    // The window may not outlast `stop.when.at`.
                    heal: heal.and_then(|(at, window)| {
                        let at = at.min(horizon);
                        let window = window.min(horizon - at);
                        (window > 0).then_some((at, window))
                    }),
                }
            },
        )
}

impl Model {
    pub fn yaml(&self) -> String {
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
        match self.last_worker {
            None => {
                let _ = writeln!(y, "workers: {}", self.workers);
            }
            Some((start_at, poll, metrics, initial)) => {
                y.push_str("workers:\n");
                for i in 1..self.workers {
                    let _ = writeln!(y, "  - worker-{i}");
                }
                let mut runner = Vec::new();
                if let Some(ms) = poll {
                    runner.push(format!("poll_interval: {ms}ms"));
                }
                if let Some(on) = metrics {
                    runner.push(format!("retry_metrics: {on}"));
                }
                if let Some(ms) = initial {
                    runner.push(format!("backoff: {{ initial: {ms}ms, max: {}ms }}", ms * 3));
                }
                let runner = if runner.is_empty() {
                    String::new()
                } else {
                    format!(", runner: {{ {} }}", runner.join(", "))
                };
                let _ = writeln!(
                    y,
                    "  - {{ id: worker-{}, start_at: {start_at}ms{runner} }}",
                    self.workers
                );
            }
        }
        y.push_str("rollouts:\n");
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
        if !self.scripts.is_empty() || !self.timed.is_empty() || self.heal.is_some() {
            y.push_str("faults:\n");
        }
        for (i, (op, steps)) in self.scripts.iter().enumerate() {
            let list: Vec<String> = steps
                .iter()
                .map(|(k, n)| format!("{{ {k}: {n} }}"))
                .collect();
            if self.per_worker {
                let worker = i as u32 % self.workers + 1;
                let _ = writeln!(y, "  {op}: {{ worker-{worker}: [ {} ] }}", list.join(", "));
            } else {
                let _ = writeln!(y, "  {op}: [ {} ]", list.join(", "));
            }
        }
        if let Some((at, _)) = self.heal {
            let _ = writeln!(y, "  heal_at: {at}ms");
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
        if let Some((_, window)) = self.heal {
            let _ = writeln!(y, "  recover_within: {window}ms");
        }
        y
    }

    /// When the liveness phase's window closes, if the scenario has one:
    /// `heal_at + recover_within`.
    pub fn recovery_window_ms(&self) -> Option<u64> {
        self.heal.map(|(at, window)| at + window)
    }
}

/// A fixed seed, so `cargo test` checks the same cases on every run; set
/// `PROPTEST_SEED` (and `PROPTEST_CASES`) to explore further.
pub fn config(cases: u32) -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(cases, |c: u64| c as u32),
        rng_seed: proptest::test_runner::RngSeed::Fixed(env("PROPTEST_SEED").unwrap_or(1958)),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
