//! Issue 5: the seeded overlay, jitter, sweeps, shards, freeze, shrink and
//! explain, each checked against what it promises.

mod common;

use std::path::Path;

use rollout_sim::explore::{self, SeedRange, Shard, SweepOptions};
use rollout_sim::scenario::{RunOptions, Scenario, load_file, load_str, run_scenario};
use rollout_sim::sim::{CallResult, EventKind, FaultSource};
use rollout_sim::sim::{EngineKind, check_all};

fn scenario(path: &str) -> Scenario {
    load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{e}"))
}

const OVERLAY: &str = r#"
name: c02-with-overlay
runner: { poll_interval: 10ms, heartbeat_interval: 25ms, reassignment_interval: 20ms, worker_timeout: 120ms, backoff: { initial: 5ms, max: 20ms } }
workers: 2
rollouts:
  - generate: { count: 8, every: 3ms, run: { duration: 5ms, output: "4", rewards: { exact_match: 1.0 } } }
faults:
  dequeue: [ { fail: 1 } ]
  random: { dequeue: { fail_rate: 0.1, empty_rate: 0.05 }, complete: { fail_rate: 0.05 }, flush: { fail_rate: 0.05 } }
expect:
  rollouts: { "*": succeeded }
"#;

fn sweep(s: &Scenario, seeds: &str, shard: Shard) -> explore::SweepReport {
    let options = SweepOptions {
        seeds: seeds.parse::<SeedRange>().unwrap(),
        shard,
        jobs: 2,
        engine: None,
        repro_args: String::new(),
        swarm: false,
        guided: None,
    };
    explore::sweep(s, options, "rollout-sim", &|_| {})
}

#[test]
fn the_overlay_is_seeded_tagged_and_loses_to_the_script() {
    let s = load_str("overlay.yaml", OVERLAY).unwrap();
    let run = |seed| {
        run_scenario(
            &s,
            RunOptions {
                seed: Some(seed),
                ..RunOptions::default()
            },
        )
        .run
    };
    let (a, b, c) = (run(3), run(3), run(4));
    assert_eq!(a.trace, b.trace);
    assert_ne!(a.trace_hash, c.trace_hash, "another seed, other faults");
    let tags: Vec<FaultSource> = a
        .trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Call {
                result: CallResult::Failed { fault, .. },
                ..
            } => *fault,
            _ => None,
        })
        .collect();
    // The scripted first failure comes first, then only random ones.
    assert_eq!(tags.first(), Some(&FaultSource::Script));
    assert!(
        tags[1..].iter().all(|t| *t == FaultSource::Random),
        "{tags:?}"
    );
    assert!(tags.len() > 1);

    // Script wins: with fail_rate 1 the scripted passes still pass.
    let always = OVERLAY
        .replace("dequeue: [ { fail: 1 } ]", "dequeue: [ { pass: 2 } ]")
        .replace(
            "dequeue: { fail_rate: 0.1, empty_rate: 0.05 }",
            "dequeue: { fail_rate: 1.0 }",
        );
    let s = load_str("always.yaml", &always).unwrap();
    let run = run_scenario(&s, RunOptions::default()).run;
    let dequeues: Vec<&CallResult> = run
        .trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Call {
                op: rollout_sim::core::QueueOp::Dequeue,
                result,
                ..
            } => Some(result),
            _ => None,
        })
        .collect();
    // The two scripted passes reach the queue (worker-1 takes r-1 at 0 ms;
    // worker-2 finds nothing yet), whatever the overlay drew for them.
    assert!(
        matches!(dequeues[0], CallResult::Dequeued { .. }),
        "{:?}",
        dequeues[0]
    );
    assert!(
        matches!(dequeues[1], CallResult::Empty { fault: None }),
        "{:?}",
        dequeues[1]
    );
    assert!(dequeues[2..].iter().all(|r| matches!(
        r,
        CallResult::Failed {
            fault: Some(FaultSource::Random),
            ..
        }
    )));
}

#[test]
fn adding_a_fault_source_does_not_shift_another() {
    let with = load_str("a.yaml", OVERLAY).unwrap();
    let without = load_str(
        "b.yaml",
        &OVERLAY.replace(
            ", complete: { fail_rate: 0.05 }, flush: { fail_rate: 0.05 }",
            "",
        ),
    )
    .unwrap();
    let draws = |s: &Scenario| {
        let mut plan = s.plan.clone();
        plan.seed = 11;
        plan.record_verdicts = true;
        let run = rollout_sim::sim::run(&plan, EngineKind::Virtual);
        run.verdicts.shared[&rollout_sim::core::QueueOp::Dequeue].clone()
    };
    let (a, b) = (draws(&with), draws(&without));
    // The dequeue stream gives the same verdict to the n-th call either way.
    let n = a.len().min(b.len());
    assert!(n > 10);
    assert_eq!(a[..n], b[..n]);
}

#[test]
fn jitter_stays_in_its_envelope_and_the_metric_is_the_sum_slept() {
    for jitter in ["full", "equal", "decorrelated"] {
        let text = OVERLAY.replace("max: 20ms }", &format!("max: 20ms, jitter: {jitter} }}"));
        let s = load_str("jitter.yaml", &text).unwrap();
        let report = sweep(&s, "0..60", Shard::WHOLE);
        assert_eq!(
            report.summary.failed,
            0,
            "{jitter}: {:?}",
            report.summary.failing.first()
        );
        let backoff = report.summary.backoff_ms_per_rollout.summary.unwrap();
        assert!(backoff.max > 0, "{jitter}: some rollout recovered");
    }
}

#[test]
fn the_backoff_invariant_catches_a_wrong_delay() {
    let s = scenario("scenarios/c02.yaml");
    let mut run = run_scenario(&s, RunOptions::default()).run;
    for e in &mut run.trace.events {
        if let EventKind::PollFailed { delay_ms, .. } = &mut e.kind
            && *delay_ms == 10
        {
            *delay_ms = 11;
        }
    }
    let reports = check_all(&s.plan, &run.trace.events, run.facts());
    let backoff = reports.iter().find(|r| r.name == "backoff-policy").unwrap();
    assert!(!backoff.held);
    assert!(
        backoff.violations[0].contains("slept 11 ms after failure 2"),
        "{:?}",
        backoff.violations
    );
}

#[test]
fn sharded_sweeps_merge_into_exactly_the_single_run_summary() {
    let s = load_str("overlay.yaml", OVERLAY).unwrap();
    let whole = sweep(&s, "0..150", Shard::WHOLE);
    let shards: Vec<_> = (1..=3)
        .map(|k| {
            sweep(
                &s,
                "0..150",
                Shard {
                    number: k,
                    count: 3,
                },
            )
        })
        .collect();
    // Merge in a scrambled order, through JSON, as `merge` would read them.
    let through_json: Vec<explore::SweepReport> = [&shards[2], &shards[0], &shards[1]]
        .iter()
        .map(|r| serde_json::from_str(&serde_json::to_string(r).unwrap()).unwrap())
        .collect();
    let merged = explore::merge(&through_json).unwrap();
    assert_eq!(merged.summary, whole.summary);
    assert_eq!(merged.shards, [1, 2, 3]);
    assert_eq!(whole.summary.runs, 150);
    assert!(
        explore::merge(&[shards[0].clone(), shards[0].clone()]).is_err(),
        "a shard twice"
    );
}

#[test]
fn a_frozen_scenario_reproduces_its_seed() {
    for (s, seeds) in [
        (load_str("overlay.yaml", OVERLAY).unwrap(), [1u64, 7, 19]),
        (
            scenario("scenarios/research/stranded-attempts.yaml"),
            [2, 3, 5],
        ),
    ] {
        for seed in seeds {
            let original = run_scenario(
                &s,
                RunOptions {
                    seed: Some(seed),
                    ..RunOptions::default()
                },
            )
            .run;
            let frozen = explore::freeze(&s, seed, None);
            assert!(frozen.plan.random_faults.is_empty());
            // Through YAML, as a user would commit it.
            let yaml = rollout_sim::scenario::to_yaml(&frozen, &["frozen".into()]).unwrap();
            let reloaded = load_str("frozen.yaml", &yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
            let replay = run_scenario(&reloaded, RunOptions::default()).run;
            assert_eq!(
                common::untagged(&original.trace.events),
                common::untagged(&replay.trace.events),
                "{} seed {seed}",
                s.name
            );
            let outcome = |r: &rollout_sim::sim::RunResult| {
                r.snapshot
                    .rollouts
                    .iter()
                    .map(|x| (x.id.to_string(), x.status, x.attempts.len()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(outcome(&original), outcome(&replay));
            assert_eq!(original.snapshot.spans.all(), replay.snapshot.spans.all());
        }
    }
}

#[test]
fn the_shrunk_reproducer_fails_the_same_way() {
    let mut s = scenario("scenarios/research/stranded-attempts.yaml");
    s.plan.reassignment = rollout_sim::core::ReassignmentPolicy::WorkerActiveIds;
    let report = sweep(&s, "0..40", Shard::WHOLE);
    let first = report
        .summary
        .failing
        .first()
        .expect("the reference store strands attempts");
    assert!(
        first
            .failed
            .iter()
            .any(|f| f == "invariant no-stranded-attempt"),
        "{first:?}"
    );
    let frozen = explore::freeze(&s, first.seed, None);
    let shrunk = explore::shrink(&frozen, None).unwrap();
    assert_eq!(shrunk.signature, "invariant no-stranded-attempt");
    assert!(shrunk.scenario.plan.rollouts.len() < s.plan.rollouts.len());
    let yaml = rollout_sim::scenario::to_yaml(&shrunk.scenario, &[]).unwrap();
    let reloaded = load_str("shrunk.yaml", &yaml).unwrap();
    let outcome = run_scenario(&reloaded, RunOptions::default());
    assert!(
        outcome.violated().any(|i| i.name == "no-stranded-attempt"),
        "{yaml}"
    );
    // With our reassignment the same reproducer passes: the defect is the reference's.
    let mut fixed = reloaded.clone();
    fixed.plan.reassignment = rollout_sim::core::ReassignmentPolicy::ScanAllAttempts;
    assert!(
        !run_scenario(&fixed, RunOptions::default())
            .violated()
            .any(|i| i.name == "no-stranded-attempt")
    );
}

mod cli {
    use std::process::{Command, Output};

    fn run(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
            .args(args)
            .env("NO_COLOR", "1")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "rollout-sim-research-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const FILE: &str = "scenarios/research/stranded-attempts.yaml";

    #[test]
    fn explore_shrink_writes_a_reproducer_that_scenario_fails_the_same_way() {
        let out = scratch("shrink");
        let o = run(&[
            "explore",
            FILE,
            "--seeds",
            "0..20",
            "--reassignment",
            "reference",
            "--shrink",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "failing seeds exit 1");
        let files: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.starts_with("# Reproduces invariant no-stranded-attempt of scenarios/research/stranded-attempts.yaml seed "), "{text}");
        assert!(text.contains("; 1-minimal: "), "{text}");
        // Committable as is: it passes while the reference store strands
        // the attempt, and fails once the queue reassigns as it should.
        let path = files[0].to_str().unwrap();
        let o = run(&["scenario", path]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("violated.no-stranded-attempt"), "{stdout}");
        let o = run(&["scenario", path, "--reassignment", "scan"]);
        assert_eq!(o.status.code(), Some(1));
        // Held out: the hand-made minimal reproducer of this defect
        // (committed before shrink shrank time) is no smaller than shrink's.
        let size = |s: &rollout_sim::scenario::Scenario| {
            let steps: usize = s
                .plan
                .fault_scripts
                .values()
                .map(|sc| match sc {
                    rollout_sim::sim::OpScript::Shared(v) => v.len(),
                    rollout_sim::sim::OpScript::PerWorker(m) => m.values().map(Vec::len).sum(),
                })
                .sum();
            (
                s.plan.rollouts.len(),
                s.plan.workers.len(),
                steps + s.plan.timed_faults.len(),
                s.plan.stop.within,
            )
        };
        let shrunk = rollout_sim::scenario::load_str("shrunk.yaml", &text).unwrap();
        let by_hand = rollout_sim::scenario::load_file(std::path::Path::new(
            "scenarios/research/stranded-attempts-reproducer.yaml",
        ))
        .unwrap();
        let (s, h) = (size(&shrunk), size(&by_hand));
        assert!(
            s.0 <= h.0 && s.1 <= h.1 && s.2 <= h.2 && s.3 <= h.3,
            "shrunk {s:?} vs by hand {h:?}"
        );
    }

    #[test]
    fn explore_json_shards_merge_and_freeze_explain_work_from_the_command_line() {
        let dir = scratch("merge");
        let mut paths = Vec::new();
        for i in 1..=2 {
            let o = run(&[
                "explore",
                FILE,
                "--seeds",
                "0..30",
                "--shard",
                &format!("{i}/2"),
                "--format",
                "json",
            ]);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
            let p = dir.join(format!("shard-{i}.json"));
            std::fs::write(&p, &o.stdout).unwrap();
            paths.push(p.to_str().unwrap().to_string());
        }
        let whole = run(&["explore", FILE, "--seeds", "0..30", "--format", "json"]);
        let merged = run(&["merge", &paths[0], &paths[1], "--format", "json"]);
        assert_eq!(merged.status.code(), Some(0));
        let summary = |o: &Output| {
            serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["summary"].clone()
        };
        assert_eq!(summary(&whole), summary(&merged));
        assert_eq!(summary(&whole)["runs"], 30);

        let frozen = dir.join("frozen.yaml");
        let o = run(&[
            "freeze",
            FILE,
            "--seed",
            "3",
            "-o",
            frozen.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0));
        let text = std::fs::read_to_string(&frozen).unwrap();
        assert!(!text.contains("random:"), "{text}");
        let o = run(&["scenario", frozen.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );

        let o = run(&["explain", "scenarios/c02.yaml"]);
        assert_eq!(o.status.code(), Some(0));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("runner.poll_retry_backoff_ms_before_rollout = 35"),
            "{text}"
        );
        assert_eq!(
            run(&["explore", FILE, "--seeds", "9..3"]).status.code(),
            Some(2)
        );
        assert_eq!(run(&["merge", FILE]).status.code(), Some(2));
    }
}
