//! Differential runs: the same scenario and seed, run two ways that must
//! agree, compared event by event (`rollout-sim diff`).
//!
//! Two comparisons, each a property the harness promises on any file:
//!
//! - **Metrics on vs off** (spec C-04): with `retry_metrics` off the runner
//!   emits no retry-recovery metric, and nothing else changes. The two runs'
//!   traces, with the two metrics' reward events left out, must be equal
//!   event for event, and so must their final states with the two metric
//!   spans left out (sequence ids aside, since a span left out renumbers
//!   the ones after it).
//! - **Engines**: every engine that can run the file must reach the same
//!   outcomes (each rollout's final status, each invariant's verdict); the
//!   virtual and tokio engines share a clock model, so their traces must be
//!   equal event for event. turmoil's network adds its own latency, so its
//!   times differ by design and only its outcomes are compared.
//!
//! A comparison that fails names the first place the two sides part: the
//! index of the first divergent event and both events (one may be missing,
//! when a trace is a prefix of the other), or the first rollout or
//! invariant whose outcome differs.

use rollout_core::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC, Span};
use rollout_scenario::Scenario;
use rollout_simulator::{EngineKind, EventKind, RunResult, SimPlan, TraceEvent};

/// What a comparison compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `retry_metrics` on vs off, on one engine.
    MetricsOnOff(EngineKind),
    /// Two engines whose traces must be equal.
    SameTrace(EngineKind, EngineKind),
    /// Two engines whose outcomes must be equal.
    SameOutcomes(EngineKind, EngineKind),
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Comparison::MetricsOnOff(e) => write!(f, "metrics on vs off ({e})"),
            Comparison::SameTrace(a, b) => write!(f, "{a} vs {b}: the same trace"),
            Comparison::SameOutcomes(a, b) => write!(f, "{a} vs {b}: the same outcomes"),
        }
    }
}

/// Where two runs first part.
#[derive(Debug, Clone, PartialEq)]
pub enum Divergence {
    /// The first differing event (after leaving out what the comparison
    /// allows to differ): its index, and each side's event there (`None`
    /// past the end of a shorter trace).
    Event {
        /// Its index in the compared traces.
        index: usize,
        /// The left side's event.
        left: Option<TraceEvent>,
        /// The right side's event.
        right: Option<TraceEvent>,
    },
    /// The traces agree but the final states do not: what differs.
    Outcome(String),
}

/// One comparison's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// What was compared.
    pub comparison: Comparison,
    /// Where the two sides part; `None` when they agree.
    pub divergence: Option<Divergence>,
    /// What agreed, or the sizes compared, as a phrase.
    pub detail: String,
}

impl Compared {
    /// True when the two sides agree.
    pub fn held(&self) -> bool {
        self.divergence.is_none()
    }
}

/// Every comparison of one scenario and seed.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffReport {
    /// The scenario file.
    pub file: String,
    /// The seed.
    pub seed: u64,
    /// The comparisons, metrics first.
    pub compared: Vec<Compared>,
}

impl DiffReport {
    /// True when every comparison held.
    pub fn held(&self) -> bool {
        self.compared.iter().all(Compared::held)
    }
}

const METRICS: [&str; 2] = [RETRY_FAILURES_METRIC, RETRY_BACKOFF_METRIC];

fn is_metric_event(e: &TraceEvent) -> bool {
    matches!(&e.kind, EventKind::Reward { name, .. } if METRICS.contains(&name.as_str()))
}

fn is_metric_span(s: &Span) -> bool {
    METRICS.contains(&s.name.as_str())
        || s.reward()
            .is_some_and(|r| METRICS.contains(&r.name.as_str()))
}

/// What a persisted span says, its sequence id aside (leaving a span out
/// renumbers the ones after it).
#[derive(Debug, PartialEq)]
struct SpanOutcome {
    attempt: String,
    name: String,
    reward: Option<(String, f64)>,
    start: std::time::Duration,
    end: std::time::Duration,
}

/// The first index at which the two event lists differ.
fn first_divergence<'a>(
    left: impl Iterator<Item = &'a TraceEvent>,
    right: impl Iterator<Item = &'a TraceEvent>,
) -> Option<Divergence> {
    let (mut left, mut right) = (left.fuse(), right.fuse());
    let mut index = 0;
    loop {
        match (left.next(), right.next()) {
            (None, None) => return None,
            (l, r) if l == r => index += 1,
            (l, r) => {
                return Some(Divergence::Event {
                    index,
                    left: l.cloned(),
                    right: r.cloned(),
                });
            }
        }
    }
}

/// Each rollout's final status, and each invariant's verdict, as words.
fn outcomes(run: &RunResult) -> Vec<(String, String)> {
    let statuses = run
        .snapshot
        .rollouts
        .iter()
        .map(|r| (format!("rollout {}", r.id), r.status.to_string()));
    let verdicts = run.invariants.iter().map(|i| {
        let held = if i.held { "held" } else { "violated" };
        (format!("invariant {}", i.name), held.to_string())
    });
    statuses.chain(verdicts).collect()
}

fn compare_metrics(plan: &SimPlan, engine: EngineKind) -> Compared {
    let (mut on, mut off) = (plan.clone(), plan.clone());
    on.runner.retry_metrics = true;
    off.runner.retry_metrics = false;
    for r in on.worker_runners.values_mut() {
        r.retry_metrics = true;
    }
    for r in off.worker_runners.values_mut() {
        r.retry_metrics = false;
    }
    on.keep_events = true;
    off.keep_events = true;
    let (on, off) = (
        rollout_simulator::run(&on, engine),
        rollout_simulator::run(&off, engine),
    );
    let comparison = Comparison::MetricsOnOff(engine);
    let dropped = on
        .trace
        .events
        .iter()
        .filter(|e| is_metric_event(e))
        .count();
    let stray = off
        .trace
        .events
        .iter()
        .filter(|e| is_metric_event(e))
        .count();
    if stray > 0 {
        return Compared {
            comparison,
            divergence: Some(Divergence::Outcome(format!(
                "with the metrics off the run still emitted {stray} metric reward(s)"
            ))),
            detail: String::new(),
        };
    }
    let divergence = first_divergence(
        on.trace.events.iter().filter(|e| !is_metric_event(e)),
        off.trace.events.iter(),
    )
    .or_else(|| {
        let spans = |r: &RunResult| -> Vec<SpanOutcome> {
            r.snapshot
                .spans
                .all()
                .iter()
                .filter(|s| !is_metric_span(s))
                .map(|s| SpanOutcome {
                    attempt: s.attempt_id.to_string(),
                    name: s.name.clone(),
                    reward: s.reward().map(|r| (r.name, r.value)),
                    start: s.start,
                    end: s.end,
                })
                .collect()
        };
        let (a, b) = (spans(&on), spans(&off));
        if a != b {
            let i = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            return Some(Divergence::Outcome(format!(
                "the persisted spans differ from span {i} on (metric spans left out): {:?} with the metrics on, {:?} off",
                a.get(i),
                b.get(i)
            )));
        }
        (outcomes(&on) != outcomes(&off))
            .then(|| Divergence::Outcome("the outcomes differ".to_string()))
    });
    let detail = if divergence.is_some() {
        format!(
            "{} events with the metrics on, less {dropped} metric rewards; {} off",
            on.trace.events.len() - dropped,
            off.trace.events.len()
        )
    } else if dropped == 0 {
        format!(
            "{} events alike; no run recovered from a poll failure, so no metric to leave out",
            off.trace.events.len()
        )
    } else {
        format!(
            "{} events alike once the {dropped} metric rewards are left out",
            off.trace.events.len()
        )
    };
    Compared {
        comparison,
        divergence,
        detail,
    }
}

fn counted(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Every comparison `scenario` allows, with `seed` (or the file's).
/// `perturb` is the test-only scheduling perturbation of the virtual
/// engine ([`SimPlan::perturb_scheduling`]), which makes its comparisons
/// fail on purpose.
pub fn diff(scenario: &Scenario, seed: Option<u64>, perturb: bool) -> DiffReport {
    let mut plan = scenario.plan.clone();
    if let Some(seed) = seed {
        plan.seed = seed;
    }
    plan.perturb_scheduling = perturb;
    plan.keep_events = true;
    let engines: Vec<EngineKind> = [EngineKind::Virtual, EngineKind::Tokio, EngineKind::Turmoil]
        .into_iter()
        .filter(|e| e.is_built())
        .filter(|e| plan.network_feature().is_none() || *e == EngineKind::Turmoil)
        .collect();
    let mut compared = vec![compare_metrics(&plan, scenario.engine())];
    let runs: Vec<(EngineKind, RunResult)> = engines
        .iter()
        .map(|&e| (e, rollout_simulator::run(&plan, e)))
        .collect();
    if let Some(((first, base), rest)) = runs.split_first().map(|(f, r)| ((f.0, &f.1), r)) {
        for (engine, run) in rest {
            let same_clock = first == EngineKind::Virtual && *engine == EngineKind::Tokio;
            let comparison = if same_clock {
                Comparison::SameTrace(first, *engine)
            } else {
                Comparison::SameOutcomes(first, *engine)
            };
            let divergence = if same_clock {
                first_divergence(base.trace.events.iter(), run.trace.events.iter())
            } else {
                let (a, b) = (outcomes(base), outcomes(run));
                a.iter()
                    .zip(&b)
                    .find(|(x, y)| x != y)
                    .map(|(x, y)| {
                        Divergence::Outcome(format!(
                            "{}: {} on {first}, {} on {engine}",
                            x.0, x.1, y.1
                        ))
                    })
                    .or_else(|| {
                        (a.len() != b.len()).then(|| {
                            Divergence::Outcome(format!(
                                "{} outcomes on {first}, {} on {engine}",
                                a.len(),
                                b.len()
                            ))
                        })
                    })
            };
            let rollouts = base.snapshot.rollouts.len();
            let detail = if divergence.is_some() {
                format!(
                    "{} events on {first}, {} on {engine}",
                    base.trace.events.len(),
                    run.trace.events.len()
                )
            } else if same_clock {
                format!(
                    "{} events, trace {}",
                    base.trace.events.len(),
                    base.trace_hash
                )
            } else {
                format!(
                    "{} and {} alike",
                    counted(rollouts, "rollout status", "rollout statuses"),
                    counted(
                        base.invariants.len(),
                        "invariant verdict",
                        "invariant verdicts"
                    )
                )
            };
            compared.push(Compared {
                comparison,
                divergence,
                detail,
            });
        }
    }
    DiffReport {
        file: scenario.path.clone(),
        seed: plan.seed,
        compared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn event(ms: u64) -> TraceEvent {
        TraceEvent {
            at: Duration::from_millis(ms),
            worker: None,
            kind: EventKind::PollTick,
        }
    }

    #[test]
    fn the_first_divergence_is_the_first_unequal_event_or_the_end_of_the_shorter() {
        let a = [event(1), event(2), event(3)];
        let b = [event(1), event(5)];
        assert_eq!(
            first_divergence(a.iter(), b.iter()),
            Some(Divergence::Event {
                index: 1,
                left: Some(event(2)),
                right: Some(event(5)),
            })
        );
        assert_eq!(
            first_divergence(a.iter(), a[..2].iter()),
            Some(Divergence::Event {
                index: 2,
                left: Some(event(3)),
                right: None,
            })
        );
        assert_eq!(first_divergence(a.iter(), a.iter()), None);
    }
}
