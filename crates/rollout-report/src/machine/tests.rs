//! Every field and variant name of the machine formats, pinned: one sample
//! of each variant, converted from the internal type it stands for and
//! written as its format writes it, against the committed list
//! `tests/snapshots/machine-variants.txt`. An internal type renamed, or
//! given a variant, changes a conversion here, never a line of that list;
//! a change to the list is a change of schema.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::{Engine, sweep};
use crate::{DeterminismReport, InvalidFile, ProblemReport, ScenarioReport, Summary};
use rollout_core::{AttemptId, QueueOp, RolloutId, WorkerId};
use rollout_core::{Attributes, Span, SpanId};
use rollout_simulator::{CallResult, EventKind, FaultSource, LinkChange, TraceEvent};
use rollout_simulator::{EngineKind, StopReason};

fn line(out: &mut String, section: &str, value: &impl Serialize) {
    out.push_str(section);
    out.push_str(": ");
    out.push_str(&serde_json::to_string(value).unwrap());
    out.push('\n');
}

fn attempt() -> AttemptId {
    AttemptId::new(RolloutId::new("r1"), 2)
}

/// One event of every kind, and a call and a served request with every
/// result and every operation.
fn events() -> Vec<TraceEvent> {
    let none = || None;
    let calls = [
        (QueueOp::Register, none(), CallResult::Ok),
        (QueueOp::Dequeue, none(), CallResult::Empty { fault: None }),
        (
            QueueOp::Dequeue,
            none(),
            CallResult::Empty {
                fault: Some(FaultSource::Script),
            },
        ),
        (
            QueueOp::Dequeue,
            none(),
            CallResult::Dequeued { attempt: attempt() },
        ),
        (
            QueueOp::Reassign,
            none(),
            CallResult::TimedOut {
                attempts: vec![attempt(), AttemptId::new(RolloutId::new("r2"), 1)],
            },
        ),
        (
            QueueOp::Complete,
            Some(attempt()),
            CallResult::NoLongerRunning,
        ),
        (
            QueueOp::Heartbeat,
            Some(attempt()),
            CallResult::Failed {
                message: "injected".into(),
                fault: Some(FaultSource::Random),
            },
        ),
        (
            QueueOp::Flush,
            Some(attempt()),
            CallResult::Failed {
                message: "refused".into(),
                fault: None,
            },
        ),
        (QueueOp::Heartbeat, none(), CallResult::Ok),
    ];
    let mut kinds = vec![
        EventKind::Enqueued {
            rollout: RolloutId::new("r1"),
        },
        EventKind::WorkerStarted,
        EventKind::WorkerCrashed,
        EventKind::WorkerRestarted,
        EventKind::WorkerFailed {
            message: "gone".into(),
        },
        EventKind::HeartbeatTick,
        EventKind::PollTick,
    ];
    kinds.extend(calls.iter().map(|(op, attempt, result)| EventKind::Call {
        op: *op,
        attempt: attempt.clone(),
        result: result.clone(),
    }));
    kinds.extend([
        EventKind::AttemptStarted {
            attempt: attempt(),
            failures: 3,
            backoff_ms: 35,
        },
        EventKind::Reward {
            attempt: attempt(),
            name: "exact_match".into(),
            value: 0.5,
        },
        EventKind::Reward {
            attempt: attempt(),
            name: "runner.execution_success".into(),
            value: 1.0,
        },
        EventKind::AttemptFinished {
            attempt: attempt(),
            status: rollout_core::AttemptStatus::Succeeded,
            recorded: true,
        },
        EventKind::ExecutionHeartbeatFailed { attempt: attempt() },
        EventKind::PollProcessed,
        EventKind::PollEmpty,
        EventKind::PollFailed {
            failures: 2,
            delay_ms: 10,
            backoff_ms: 15,
        },
        EventKind::BackoffEnded { delay_ms: 10 },
    ]);
    kinds.extend(calls.iter().map(|(op, attempt, result)| EventKind::Served {
        op: *op,
        attempt: attempt.clone(),
        result: result.clone(),
    }));
    kinds.extend(
        [
            LinkChange::Partition,
            LinkChange::Repair,
            LinkChange::Hold,
            LinkChange::Release,
        ]
        .map(|change| EventKind::Link {
            change,
            a: "worker-1".into(),
            b: "queue".into(),
        }),
    );
    kinds.extend([
        EventKind::QueueBounced,
        EventKind::Latency { fixed_ms: Some(20) },
        EventKind::Latency { fixed_ms: None },
        EventKind::MessageDropped {
            from: "queue".into(),
            to: "worker-1".into(),
            segment: "data",
        },
        EventKind::Healed,
    ]);
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| TraceEvent {
            at: Duration::from_micros(1_500 * i as u64),
            worker: (i > 0).then(|| WorkerId::new("worker-1")),
            kind,
        })
        .collect()
}

fn scenario_report() -> ScenarioReport {
    let scenario =
        rollout_scenario::load_str("c02.yaml", include_str!("../../../../scenarios/c02.yaml"))
            .unwrap();
    let outcome = rollout_scenario::run_scenario(&scenario, Default::default());
    ScenarioReport::new(&scenario, &outcome, "rollout-sim")
}

pub(super) fn sweep_report() -> rollout_explore::SweepReport {
    let mut histogram = rollout_explore::Histogram::default();
    for v in [0, 0, 3] {
        histogram.add(v);
    }
    let distribution = |h: &rollout_explore::Histogram| rollout_explore::Distribution {
        summary: h.summary(),
        histogram: h.clone(),
    };
    rollout_explore::SweepReport {
        schema: sweep::SWEEP_SCHEMA.into(),
        tool_version: "0.1.0".into(),
        file: "scenarios/x.yaml".into(),
        name: "x".into(),
        scenario_hash: "0123456789abcdef".into(),
        engine: EngineKind::Turmoil,
        seeds: rollout_explore::SeedRange {
            start: 0,
            end: 1 << 64,
        },
        shard_count: 4,
        shards: vec![1, 3],
        summary: rollout_explore::SweepSummary {
            runs: 3,
            passed: 2,
            failed: 1,
            poll_failures_per_rollout: distribution(&histogram),
            backoff_ms_per_rollout: distribution(&histogram),
            time_to_all_terminal_ms: distribution(&Default::default()),
            failing: vec![rollout_explore::FailingSeed {
                seed: 7,
                failed: vec!["invariant backoff-policy".into(), "stop".into()],
                first_failure: "invariant backoff-policy: slept 3ms".into(),
                repro: "rollout-sim scenario scenarios/x.yaml --seed 7 --engine turmoil".into(),
                swarm: None,
                branch: rollout_simulator::Branch::NONE,
            }],
            failing_not_listed: 0,
        },
        findings: rollout_explore::Findings {
            listed: vec![rollout_explore::Finding {
                id: rollout_explore::finding_id("invariant backoff-policy"),
                title: "invariant backoff-policy".into(),
                seeds: 1,
                first_seed: 7,
                repro: "rollout-sim scenario scenarios/x.yaml --seed 7 --engine turmoil".into(),
                shrunk: Some("x-seed-7.yaml".into()),
                status: Some(rollout_explore::FindingStatus::New),
                first_branch: rollout_simulator::Branch::NONE,
            }],
            not_listed: 0,
            baseline: Some(rollout_explore::Baseline {
                file: "before.json".into(),
                fixed: vec![rollout_explore::Finding {
                    id: rollout_explore::finding_id("stop: expected <n>, actual <n>"),
                    title: "stop: expected <n>, actual <n>".into(),
                    seeds: 2,
                    first_seed: 1,
                    repro: "rollout-sim scenario scenarios/x.yaml --seed 1 --engine turmoil".into(),
                    shrunk: None,
                    status: Some(rollout_explore::FindingStatus::Fixed),
                    first_branch: rollout_simulator::Branch::NONE,
                }],
            }),
        },
        coverage: rollout_explore::SweepCoverage {
            goals: rollout_simulator::Goal::ALL
                .iter()
                .map(|g| rollout_explore::GoalCoverage {
                    goal: g.name().into(),
                    kind: rollout_explore::GoalKind::BuiltIn,
                    seeds: u64::from(*g == rollout_simulator::Goal::BackoffCapped),
                    first_seed: (*g == rollout_simulator::Goal::BackoffCapped).then_some(7),
                })
                .chain([rollout_explore::GoalCoverage {
                    goal: "r1-failed".into(),
                    kind: rollout_explore::GoalKind::Scenario,
                    seeds: 0,
                    first_seed: None,
                }])
                .collect(),
        },
        wall_time_ms: 1.5,
        partial: true,
        cancelled: false,
        guided: None,
    }
}

/// A guided sweep's report: a failing branch, its finding, and what the
/// guided part adds.
fn guided_sweep_report() -> rollout_explore::SweepReport {
    let mut report = sweep_report();
    let branch: rollout_simulator::Branch = "12,40".parse().unwrap();
    report.shard_count = 1;
    report.shards = vec![1];
    report.partial = false;
    report.summary.failing[0].branch = branch.clone();
    report.summary.failing[0].repro.push_str(" --branch 12,40");
    report.findings.listed[0].first_branch = branch.clone();
    report.findings.listed[0].repro.push_str(" --branch 12,40");
    report.findings.baseline = None;
    report.guided = Some(rollout_explore::GuidedSummary {
        settings: rollout_explore::Guided {
            energy: 8,
            plateau: 1_000,
        },
        seeds: 2,
        branches: 1,
        stopped: rollout_explore::GuidedStop::SeedBudget,
        states: 9,
        first_failing_run: Some(3),
        discoveries: vec![rollout_explore::Discovery {
            run: 1,
            seed: 7,
            branch,
            reached: vec!["goal backoff-capped".into(), "a worker failed".into()],
        }],
    });
    report
}

fn variants() -> String {
    let mut out = String::new();
    for engine in [EngineKind::Virtual, EngineKind::Tokio, EngineKind::Turmoil] {
        line(&mut out, "engine", &Engine::from(engine));
    }
    for stop in [
        StopReason::AllTerminal,
        StopReason::StopAt,
        StopReason::TimeBudget { within_ms: 60_000 },
        StopReason::EventBudget { max_events: 1_000 },
        StopReason::TurmoilBudget { host_steps: 5_000 },
        StopReason::Stalled,
        StopReason::RecoveryWindow { until_ms: 1_500 },
    ] {
        line(&mut out, "report stop", &super::report::Stop::from(stop));
    }
    let events = events();
    for event in &events {
        line(&mut out, "trace", &super::trace::Line::new("c02", 7, event));
    }
    let value = |i: usize| serde_json::to_value(super::trace::Event::from(&events[i])).ok();
    let determinism = DeterminismReport {
        deterministic: false,
        events: [31, 30],
        trace_hashes: ["1b222016f341ad18".into(), "b26904e292e2d954".into()],
        diverged_at: Some(8),
        first_run_event: value(8),
        second_run_event: None,
    };
    line(
        &mut out,
        "report determinism",
        &super::report::Determinism::from(&determinism),
    );
    let invalid = InvalidFile {
        file: "bad.yaml".into(),
        problems: vec![
            ProblemReport {
                line: Some(3),
                column: Some(5),
                message: "unknown key `x`".into(),
                help: Some("expected one of `name`, `seed`".into()),
            },
            ProblemReport {
                line: None,
                column: None,
                message: "cannot read".into(),
                help: None,
            },
        ],
    };
    line(
        &mut out,
        "report invalid",
        &super::report::InvalidFile::from(&invalid),
    );
    let summary = Summary {
        total: 3,
        passed: 1,
        failed: 2,
        invalid: 1,
        nondeterministic: 1,
        cancelled: 0,
        wall_time_ms: 2.5,
    };
    line(
        &mut out,
        "report summary",
        &super::report::Summary::from(&summary),
    );
    let mut report = scenario_report();
    report.wall_time_us = 0.0;
    report.determinism = Some(determinism);
    line(
        &mut out,
        "report scenario",
        &super::report::Scenario::from(&report),
    );
    let attributes: BTreeMap<String, Value> =
        [("phase".to_string(), json!("late")), ("n".into(), json!(2))].into();
    let span = Span {
        rollout_id: RolloutId::new("r1"),
        attempt_id: attempt(),
        sequence_id: 3,
        span_id: SpanId::new(&attempt(), 3),
        name: "custom".into(),
        start: Duration::from_micros(40_500),
        end: Duration::from_millis(45),
        attributes: Attributes::from(attributes),
    };
    line(&mut out, "spans", &super::spans::Line::new(&report, &span));
    line(
        &mut out,
        "sweep",
        &sweep::SweepReport::from(&sweep_report()),
    );
    line(
        &mut out,
        "sweep guided",
        &sweep::SweepReport::from(&guided_sweep_report()),
    );
    for stop in [
        rollout_explore::GuidedStop::SeedBudget,
        rollout_explore::GuidedStop::Plateau,
    ] {
        let mut guided = guided_sweep_report().guided.expect("a guided report");
        guided.stopped = stop;
        line(
            &mut out,
            "guided stop",
            &sweep::Guided::from(&guided).stopped,
        );
    }
    for status in [
        rollout_explore::FindingStatus::New,
        rollout_explore::FindingStatus::StillFailing,
        rollout_explore::FindingStatus::Fixed,
    ] {
        line(
            &mut out,
            "finding status",
            &sweep::FindingStatus::from(status),
        );
    }
    out
}

#[test]
fn every_variant_writes_the_committed_names() {
    let expected = include_str!("../../../../tests/snapshots/machine-variants.txt");
    let actual = variants();
    assert!(
        actual == expected,
        "the machine formats changed: a field removed, renamed or changed in meaning is a new \
         schema version; an added field is noted in the README's JSON section.\n\
         --- actual ---\n{actual}--- end ---"
    );
}

#[test]
fn the_sweep_schema_reads_back_what_it_writes() {
    for report in [sweep_report(), guided_sweep_report()] {
        let text = serde_json::to_string(&sweep::SweepReport::from(&report)).unwrap();
        let back: sweep::SweepReport = serde_json::from_str(&text).unwrap();
        assert_eq!(rollout_explore::SweepReport::from(back), report);
    }
}
