//! Swarm mode (DESIGN §8): each seed draws which fault families are on and
//! how hard, within the file's `swarm:` bounds, then runs. Checked: draws
//! that the bounds pin down exactly, the draw in the JSON result and the
//! repro line, reruns by `scenario --swarm --seed N`, `freeze --swarm`
//! writing the draw out, sweeps, and the section's validation.

use std::path::Path;
use std::process::Command;

use rollout_sim::core::QueueOp;
use rollout_sim::explore::{self, SeedRange, Shard, SweepOptions};
use rollout_sim::scenario::{RunOptions, Scenario, load_str, run_scenario};
use rollout_sim::sim::TimedAction;

/// Every family pinned: on with certainty, each range a single value.
const PINNED: &str = r#"
name: swarm-pinned
runner: { poll_interval: 10ms, backoff: { initial: 5ms, max: 20ms } }
workers: 2
rollouts:
  - generate: { count: 4, every: 5ms, run: { duration: 5ms, output: "ok" } }
swarm:
  on: 1
  dequeue: { fail_rate: [0.25, 0.25], empty_rate: [0, 0] }
  heartbeat: { fail_rate: [0, 0] }
  flush: { fail_rate: [0.125, 0.125] }
  complete: { fail_rate: [0, 0] }
  crashes: { max: 1, within: 1ms, restart_after: [30ms, 30ms] }
stop: { within: 10s }
expect:
  rollouts: { "*": succeeded }
"#;

fn load(source: &str) -> Scenario {
    load_str("swarm.yaml", source).unwrap_or_else(|e| panic!("{e}"))
}

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollout-sim"));
    command.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")));
    command
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("swarm");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn bounds_that_pin_every_family_draw_exactly_those_values() {
    let scenario = load(PINNED);
    for seed in [0, 1, 99] {
        let (swarmed, draw) = scenario.swarmed(seed);
        assert_eq!(draw.random[&QueueOp::Dequeue].fail_rate, 0.25);
        assert_eq!(draw.random[&QueueOp::Dequeue].empty_rate, 0.0);
        assert_eq!(draw.random[&QueueOp::Flush].fail_rate, 0.125);
        assert_eq!(draw.random[&QueueOp::Heartbeat].fail_rate, 0.0);
        // One crash, at 0 ms (the only instant before 1 ms), restarted 30 ms
        // later, on one of the two workers.
        assert_eq!(draw.crashes.len(), 1, "{draw:?}");
        let crash = &draw.crashes[0];
        assert_eq!(crash.at.as_millis(), 0);
        assert_eq!(crash.restart_after.as_millis(), 30);
        assert!(["worker-1", "worker-2"].contains(&crash.worker.as_str()));
        // Written into the plan: rates replace faults.random, the crash and
        // its restart join the timed faults.
        assert_eq!(swarmed.plan.random_faults, draw.random);
        let timed: Vec<(u128, &TimedAction)> = swarmed
            .plan
            .timed_faults
            .iter()
            .map(|f| (f.at.as_millis(), &f.action))
            .collect();
        assert_eq!(
            timed,
            [
                (0, &TimedAction::Crash(crash.worker.clone())),
                (30, &TimedAction::Restart(crash.worker.clone())),
            ]
        );
        assert_eq!(swarmed.plan.seed, seed);
    }
}

#[test]
fn families_that_are_never_on_are_never_drawn() {
    let scenario = load(&PINNED.replace("on: 1", "on: 0"));
    for seed in 0..20 {
        let (swarmed, draw) = scenario.swarmed(seed);
        assert!(
            draw.random.is_empty() && draw.crashes.is_empty(),
            "{draw:?}"
        );
        assert!(swarmed.plan.random_faults.is_empty());
        assert!(swarmed.plan.timed_faults.is_empty());
        // Nothing drawn, nothing injected: the run is the plain one.
        let plain = run_scenario(&scenario, RunOptions::default());
        let swarm = run_scenario(
            &scenario,
            RunOptions {
                swarm: true,
                seed: Some(0),
                ..RunOptions::default()
            },
        );
        assert_eq!(plain.run.trace_hash, swarm.run.trace_hash);
    }
}

#[test]
fn a_swarm_run_is_its_seed_and_the_same_twice() {
    let scenario = load(PINNED);
    let options = RunOptions {
        seed: Some(5),
        swarm: true,
        ..RunOptions::default()
    };
    let first = run_scenario(&scenario, options.clone());
    let second = run_scenario(&scenario, options);
    assert_eq!(first.run.trace_hash, second.run.trace_hash);
    assert_eq!(first.swarm, second.swarm);
    // The run of the swarmed scenario, without swarm mode, is the same run.
    let (swarmed, draw) = scenario.swarmed(5);
    let explicit = run_scenario(&swarmed, RunOptions::default());
    assert_eq!(explicit.run.trace_hash, first.run.trace_hash);
    assert_eq!(first.swarm.as_ref(), Some(&draw));
    // The overlays at 25% and 12.5% and the crash changed the run.
    let plain = run_scenario(
        &scenario,
        RunOptions {
            seed: Some(5),
            ..RunOptions::default()
        },
    );
    assert_ne!(plain.run.trace_hash, first.run.trace_hash);
}

#[test]
fn the_cli_reports_the_draw_and_its_repro_reruns_the_same_trace() {
    let file = temp("pinned.yaml");
    std::fs::write(&file, PINNED).unwrap();
    let json = |extra: &[&str]| {
        let output = bin()
            .arg("scenario")
            .arg(&file)
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
        report["scenarios"][0].clone()
    };
    let run = json(&["--swarm", "--seed", "7"]);
    let swarm = &run["swarm"];
    assert_eq!(swarm["random"]["dequeue"]["fail_rate"], 0.25);
    assert_eq!(swarm["random"]["flush"]["fail_rate"], 0.125);
    assert_eq!(swarm["crashes"][0]["at_ms"], 0);
    assert_eq!(swarm["crashes"][0]["restart_after_ms"], 30);
    let repro = run["repro"].as_str().unwrap();
    assert!(
        repro.ends_with("--seed 7 --engine virtual --swarm"),
        "{repro}"
    );
    // The repro's flags give the same trace hash; without --swarm, another.
    let again = json(&["--seed", "7", "--engine", "virtual", "--swarm"]);
    assert_eq!(again["trace_hash"], run["trace_hash"]);
    let plain = json(&["--seed", "7"]);
    assert!(plain.get("swarm").is_none(), "{plain}");
    assert_ne!(plain["trace_hash"], run["trace_hash"]);
}

#[test]
fn freeze_writes_the_draw_out_explicitly() {
    let file = temp("freeze.yaml");
    std::fs::write(&file, PINNED).unwrap();
    let frozen = temp("frozen.yaml");
    let _ = std::fs::remove_file(&frozen);
    let status = bin()
        .arg("freeze")
        .arg(&file)
        .args(["--seed", "3", "--swarm", "-o"])
        .arg(&frozen)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&frozen).unwrap();
    // The crash and its restart are timed faults; the draw needs no
    // `--swarm` any more, and the frozen file fails or passes as the seed.
    assert!(text.contains("crash:"), "{text}");
    assert!(text.contains("restart:"), "{text}");
    let refrozen = load_str("frozen.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    let frozen_run = run_scenario(&refrozen, RunOptions::default());
    let seed_run = run_scenario(
        &load(PINNED),
        RunOptions {
            seed: Some(3),
            swarm: true,
            ..RunOptions::default()
        },
    );
    assert_eq!(frozen_run.passed(), seed_run.passed());
    assert_eq!(
        frozen_run.run.snapshot.rollouts,
        seed_run.run.snapshot.rollouts
    );
}

#[test]
fn a_swarm_sweep_records_each_failing_seeds_draw_and_repro() {
    let scenario = load(PINNED);
    let sweep = |swarm| {
        explore::sweep(
            &scenario,
            SweepOptions {
                seeds: "0..40".parse::<SeedRange>().unwrap(),
                shard: Shard::WHOLE,
                jobs: 2,
                engine: None,
                repro_args: if swarm {
                    " --swarm".into()
                } else {
                    String::new()
                },
                swarm,
                guided: None,
            },
            "rollout-sim",
            &|_| {},
        )
    };
    let first = sweep(true);
    assert_eq!(first.summary.runs, 40);
    assert_eq!(first.summary, sweep(true).summary);
    for failing in &first.summary.failing {
        let draw = failing
            .swarm
            .as_ref()
            .expect("a swarm seed carries its draw");
        assert_eq!(draw["random"]["dequeue"]["fail_rate"], 0.25);
        assert!(failing.repro.ends_with(" --swarm"), "{}", failing.repro);
        // The draw is the seed's: recomputed, it is the same.
        let (_, again) = scenario.swarmed(failing.seed);
        assert_eq!(*draw, serde_json::to_value(&again).unwrap());
    }
    // Without swarm mode the file has no faults: every seed passes.
    let plain = sweep(false);
    assert_eq!(plain.summary.failed, 0);
    assert!(plain.summary.failing.iter().all(|f| f.swarm.is_none()));
}

#[test]
fn the_swarm_section_is_validated_with_located_messages() {
    let cases = [
        (
            PINNED.replace("on: 1", "on: 2"),
            "swarm.yaml:8:7: swarm.on: on must be between 0 and 1, not 2; the chance that each fault family is on, such as 0.5",
        ),
        (
            PINNED.replace(
                "flush: { fail_rate: [0.125, 0.125] }",
                "flush: { fail_rate: [0.5, 0.1] }",
            ),
            "swarm.yaml:11:23: swarm.flush.fail_rate: [0.5, 0.1] is not a range of probabilities; write [min, max] with 0 <= min <= max <= 1, such as [0, 0.2]",
        ),
        (
            PINNED.replace(
                "dequeue: { fail_rate: [0.25, 0.25], empty_rate: [0, 0] }",
                "dequeue: { fail_rate: [0.75, 0.75], empty_rate: [0, 0.5] }",
            ),
            "swarm.yaml:9:12: swarm.dequeue: the largest fail_rate and empty_rate add up to 1.25, more than 1; a dequeue that fails cannot also come back empty",
        ),
        (
            PINNED.replace("restart_after: [30ms, 30ms]", "restart_after: [30ms, 10ms]"),
            "swarm.yaml:13:50: swarm.crashes.restart_after: [30ms, 10ms] is not a range: min is above max; write [min, max] with min <= max, such as [10ms, 200ms]",
        ),
        (
            PINNED.replace("max: 1,", "max: 101,"),
            "swarm.yaml:13:19: swarm.crashes.max: at most 100 crashes a seed, not 101",
        ),
    ];
    for (source, expected) in cases {
        let error = load_str("swarm.yaml", &source).expect_err(expected);
        let text = error.to_string();
        assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
    }
}

#[test]
fn the_network_family_runs_on_turmoil_and_makes_the_file_turmoil_only() {
    let source = PINNED.replace(
        "stop: { within: 10s }",
        "  network: { loss_rate: [0.02, 0.02], latency_max: [3ms, 3ms] }\nstop: { within: 10s }",
    );
    let scenario = load(&source);
    assert_eq!(scenario.engine(), rollout_sim::sim::EngineKind::Turmoil);
    let (_, draw) = scenario.swarmed(2);
    let network = draw.network.expect("on: 1 turns the network family on");
    assert_eq!(network.loss_rate, 0.02);
    assert_eq!(network.latency_max.as_millis(), 3);
    assert_eq!(network.latency_min.as_millis(), 0);
    let options = RunOptions {
        seed: Some(2),
        swarm: true,
        ..RunOptions::default()
    };
    let first = run_scenario(&scenario, options.clone());
    let second = run_scenario(&scenario, options);
    assert_eq!(first.engine, rollout_sim::sim::EngineKind::Turmoil);
    assert_eq!(first.run.trace_hash, second.run.trace_hash);
    // Another engine is refused, located at the family.
    let error = scenario
        .check_engine(rollout_sim::sim::EngineKind::Virtual)
        .expect_err("swarm.network needs turmoil");
    assert!(
        error
            .to_string()
            .contains("`swarm.network`: only the turmoil engine runs this"),
        "{error}"
    );
}
