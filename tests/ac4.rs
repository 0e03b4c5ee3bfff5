//! Spec AC-4, no behaviour regression: turning the retry-recovery metrics off
//! removes the two metric reward spans and changes nothing else.
//!
//! For every scenario file under `scenarios/` (found at test time), the plan
//! runs on the engine it resolves to (virtual, or turmoil for the network
//! scenarios) with `retry_metrics` on and off, and:
//! - the rollout outcomes are identical (status, attempt count, and each
//!   attempt's status, worker, start and end);
//! - the spans are identical once the two metric spans are filtered out
//!   (attempt, name, reward, start, end; sequence ids are ignored, since
//!   removing spans renumbers the ones after them);
//! - with the metrics off, no span carries either metric name;
//! - the stop reason and end time are identical.
//!
//! c01 and c02 recover from poll failures, so with the metrics on they must
//! carry them: the comparison is not vacuous.

mod common;

use std::time::Duration;

use rollout_sim::core::{AttemptStatus, RolloutStatus};
use rollout_sim::core::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC, Span};
use rollout_sim::scenario::load_file;
use rollout_sim::sim::{RunResult, run};

const METRICS: [&str; 2] = [RETRY_FAILURES_METRIC, RETRY_BACKOFF_METRIC];

/// Files that recover from poll failures, hence must carry the metrics.
const RECOVERING: [&str; 2] = ["c01.yaml", "c02.yaml"];

#[derive(Debug, Clone, PartialEq)]
struct AttemptOutcome {
    status: AttemptStatus,
    worker: String,
    started_at: Duration,
    ended_at: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
struct RolloutOutcome {
    id: String,
    status: RolloutStatus,
    attempt_count: usize,
    attempts: Vec<AttemptOutcome>,
}

#[derive(Debug, Clone, PartialEq)]
struct SpanOutcome {
    attempt: String,
    name: String,
    reward: Option<(String, f64)>,
    start: Duration,
    end: Duration,
}

fn rollouts(run: &RunResult) -> Vec<RolloutOutcome> {
    run.snapshot
        .rollouts
        .iter()
        .map(|r| RolloutOutcome {
            id: r.id.to_string(),
            status: r.status,
            attempt_count: r.attempts.len(),
            attempts: r
                .attempts
                .iter()
                .map(|a| AttemptOutcome {
                    status: a.status,
                    worker: a.worker.to_string(),
                    started_at: a.started_at,
                    ended_at: a.ended_at,
                })
                .collect(),
        })
        .collect()
}

/// True when the span is one of the two metric spans (by reward or span name).
fn is_metric(span: &Span) -> bool {
    METRICS.contains(&span.name.as_str())
        || span
            .reward()
            .is_some_and(|r| METRICS.contains(&r.name.as_str()))
}

/// Spans other than the two metrics, in persisted order, without sequence ids.
fn non_metric_spans(run: &RunResult) -> Vec<SpanOutcome> {
    run.snapshot
        .spans
        .all()
        .iter()
        .filter(|s| !is_metric(s))
        .map(|s| SpanOutcome {
            attempt: s.attempt_id.to_string(),
            name: s.name.clone(),
            reward: s.reward().map(|r| (r.name, r.value)),
            start: s.start,
            end: s.end,
        })
        .collect()
}

fn list_diff<T: std::fmt::Debug + PartialEq>(what: &str, on: &[T], off: &[T]) -> Option<String> {
    common::labelled_diff(what, ("metrics on", "metrics off"), on, off)
}

#[test]
fn retry_metrics_off_changes_nothing_but_the_two_metric_spans() {
    let files = common::scenario_files();
    assert!(
        files.len() >= 3,
        "expected at least 3 scenario files, found {files:?}"
    );
    let mut failures = Vec::new();
    let mut carrying = Vec::new();
    for path in &files {
        let file = common::display(path);
        let scenario = match load_file(path) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{file}: does not load:\n{}", e.plain()));
                continue;
            }
        };
        let mut plan_on = scenario.plan.clone();
        plan_on.runner.retry_metrics = true;
        let mut plan_off = scenario.plan.clone();
        plan_off.runner.retry_metrics = false;
        // Its own engine: virtual, or turmoil for the network scenarios.
        let engine = scenario.engine();
        let on = run(&plan_on, engine);
        let off = run(&plan_off, engine);

        let metric_spans_on = on
            .snapshot
            .spans
            .all()
            .iter()
            .filter(|s| is_metric(s))
            .count();
        if metric_spans_on > 0 {
            carrying.push(file.clone());
        } else if RECOVERING.iter().any(|name| path.ends_with(name)) {
            failures.push(format!(
                "{file}: recovers from poll failures but carries no retry metric span with retry_metrics on"
            ));
        }
        let leaked: Vec<String> = off
            .snapshot
            .spans
            .all()
            .iter()
            .filter(|s| is_metric(s))
            .map(|s| format!("{} ({:?})", s.span_id, s.reward()))
            .collect();
        if !leaked.is_empty() {
            failures.push(format!(
                "{file}: retry_metrics off, yet metric spans were persisted: {}",
                leaked.join(", ")
            ));
        }
        if (on.stop, on.ended_at) != (off.stop, off.ended_at) {
            failures.push(format!(
                "{file}: the run ends differently: on {:?} at {:?}, off {:?} at {:?}",
                on.stop, on.ended_at, off.stop, off.ended_at
            ));
        }
        if let Some(diff) = list_diff("rollout outcomes", &rollouts(&on), &rollouts(&off)) {
            failures.push(format!("{file}: {diff}"));
        }
        if let Some(diff) = list_diff(
            "non-metric spans",
            &non_metric_spans(&on),
            &non_metric_spans(&off),
        ) {
            failures.push(format!("{file}: {diff}"));
        }
    }
    if carrying.is_empty() {
        failures.push(
            "no scenario carried the retry metrics with retry_metrics on: the comparison is vacuous"
                .into(),
        );
    }
    assert!(
        failures.is_empty(),
        "{} AC-4 problem(s) over {} scenario file(s):\n\n{}\n",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
