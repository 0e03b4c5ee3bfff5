//! Explaining: the timeline a scenario's scripted dequeue faults imply, worked
//! out from the runner's rules without running anything.
//!
//! It follows the first worker's poll path: the poll ticks (with tokio's
//! missed-tick rule: a tick more than 5 ms late restarts the grid), each
//! failing dequeue, the backoff it sleeps and the running total, until the
//! first poll the script lets through, which dequeues the first rollout and
//! so fixes the metrics that rollout must carry; from `faults.heal_at` on,
//! every poll passes. Other operations' scripts and random faults are listed
//! but not modelled.

use std::fmt::Write as _;
use std::time::Duration;

use rollout_core::Jitter;
use rollout_core::MISSED_TICK_TOLERANCE;
use rollout_core::QueueOp;
use rollout_scenario::Scenario;
use rollout_scenario::format_duration;
use rollout_simulator::{OpScript, ScriptCursor, Verdict};

/// One failed poll in the explained timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainedFailure {
    /// When the poll ran.
    pub at: Duration,
    /// Its number among consecutive failures (1-based).
    pub failure: u32,
    /// The delay slept (the lower end of the envelope under jitter).
    pub delay_ms: u64,
    /// The highest delay the policy allows (equal to `delay_ms` without jitter).
    pub delay_max_ms: u64,
    /// Backoff so far, in ms.
    pub total_ms: u64,
}

/// What `explain` works out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The failed polls before the first successful one.
    pub failures: Vec<ExplainedFailure>,
    /// When the first successful poll runs.
    pub recovered_at: Duration,
    /// Whether that poll dequeues a rollout (it may be scripted `empty`).
    pub dequeues: bool,
    /// Text for people.
    pub text: String,
}

/// Works out the poll timeline of the first worker.
pub fn explain(scenario: &Scenario) -> Explanation {
    let plan = &scenario.plan;
    let config = &plan.runner;
    let policy = config.backoff;
    let worker = plan
        .workers
        .first()
        .cloned()
        .unwrap_or_else(|| rollout_core::WorkerId::new("worker-1"));
    let steps = match plan.fault_scripts.get(&QueueOp::Dequeue) {
        Some(OpScript::Shared(steps)) => steps.clone(),
        Some(OpScript::PerWorker(per)) => per.get(&worker).cloned().unwrap_or_default(),
        None => Vec::new(),
    };
    let mut cursor = ScriptCursor::new(steps);
    let first_enqueue = plan
        .rollouts
        .iter()
        .map(|r| r.enqueue_at)
        .min()
        .unwrap_or_default();
    let mut text = String::new();
    let _ = writeln!(text, "{} ({})", scenario.name, scenario.path);
    let jitter = if policy.jitter == Jitter::None {
        String::new()
    } else {
        format!(", {} jitter", policy.jitter.as_str())
    };
    let _ = writeln!(
        text,
        "{worker}: poll every {}, backoff {} doubling to {}{jitter}",
        format_duration(config.poll_interval),
        format_duration(policy.initial),
        format_duration(policy.max)
    );
    let _ = writeln!(
        text,
        "{:>10}  {:<28} {:>10} {:>14}",
        "time", "poll", "sleep", "backoff total"
    );
    let mut failures = Vec::new();
    let mut deadline = Duration::ZERO;
    let mut now = Duration::ZERO;
    let mut total = 0u64;
    let mut previous = None;
    // Bounded: a script can fail at most u32::MAX times, but a timeline longer
    // than this is not worth printing.
    for _ in 0..10_000 {
        let at = now.max(deadline);
        deadline = if at > deadline + MISSED_TICK_TOLERANCE {
            at + config.poll_interval
        } else {
            deadline + config.poll_interval
        };
        // From `faults.heal_at` on the script's remaining steps never fire.
        let healed = plan.heal.filter(|h| at >= h.at);
        let verdict = match healed {
            Some(_) => Verdict::Pass,
            None => cursor.next_verdict(),
        };
        if let Some(h) = healed {
            let _ = writeln!(
                text,
                "{:>10}  healed (faults.heal_at): no fault from now on",
                format_duration(h.at)
            );
        }
        match verdict {
            Verdict::Fail(message) => {
                let n = failures.len() as u32 + 1;
                let (low, high) = policy.envelope_ms(n, previous);
                total += low;
                previous = Some(Duration::from_millis(low));
                let sleep = if low == high {
                    format!("{low}ms")
                } else {
                    format!("{low}..{high}ms")
                };
                let _ = writeln!(
                    text,
                    "{:>10}  {:<28} {sleep:>10} {:>13}ms",
                    format_duration(at),
                    format!("dequeue fails ({message})"),
                    total
                );
                failures.push(ExplainedFailure {
                    at,
                    failure: n,
                    delay_ms: low,
                    delay_max_ms: high,
                    total_ms: total,
                });
                now = at + Duration::from_millis(low);
            }
            verdict => {
                let dequeues = verdict == Verdict::Pass && at >= first_enqueue;
                let what = if verdict == Verdict::Empty {
                    "dequeue: nothing (scripted empty)".to_string()
                } else if dequeues {
                    "dequeue: the first rollout".to_string()
                } else {
                    "dequeue: queue still empty".to_string()
                };
                let _ = writeln!(text, "{:>10}  {what}", format_duration(at));
                let n = failures.len();
                if !dequeues {
                    let _ = writeln!(
                        text,
                        "the poll succeeds without a rollout: the recovery context resets, so the first rollout carries no retry metrics"
                    );
                } else if n == 0 {
                    let _ = writeln!(
                        text,
                        "no poll failed: the first rollout carries no retry metrics"
                    );
                } else if !config.retry_metrics {
                    let _ = writeln!(text, "retry_metrics is off: no metrics are emitted");
                } else {
                    let range = if failures.iter().all(|f| f.delay_ms == f.delay_max_ms) {
                        format!("{total}")
                    } else {
                        let mut hi = 0u64;
                        let mut prev = None;
                        for f in &failures {
                            let (_, h) = policy.envelope_ms(f.failure, prev);
                            hi += h;
                            prev = Some(Duration::from_millis(h));
                        }
                        format!("between {total} and {hi}")
                    };
                    let _ = writeln!(text, "the first rollout should carry:");
                    let _ = writeln!(text, "  runner.poll_retry_failures_before_rollout = {n}");
                    let _ = writeln!(
                        text,
                        "  runner.poll_retry_backoff_ms_before_rollout = {range}"
                    );
                }
                let other: Vec<&str> = plan
                    .fault_scripts
                    .keys()
                    .filter(|op| **op != QueueOp::Dequeue)
                    .map(|op| op.as_str())
                    .collect();
                if !other.is_empty() || !plan.random_faults.is_empty() {
                    let _ = writeln!(
                        text,
                        "not modelled here: scripts for {}; random faults on {}",
                        if other.is_empty() {
                            "none".to_string()
                        } else {
                            other.join(", ")
                        },
                        if plan.random_faults.is_empty() {
                            "none".to_string()
                        } else {
                            plan.random_faults
                                .keys()
                                .map(|o| o.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    );
                }
                return Explanation {
                    failures,
                    recovered_at: at,
                    dequeues,
                    text,
                };
            }
        }
    }
    let _ = writeln!(
        text,
        "... the script keeps failing; stopped after 10000 polls"
    );
    Explanation {
        failures,
        recovered_at: now,
        dequeues: false,
        text,
    }
}
