//! The turmoil engine: the loss sweep ("nothing is lost"), determinism, and
//! how scenarios ask for (or refuse) the network.
//!
//! The loss sweep runs `scenarios/network/loss-sweep.yaml` (16 rollouts, 2
//! workers, 5% of messages lost) over many seeds. By default it runs the
//! first 200 seeds, which takes a few seconds in a debug build; the full
//! sweep of the issue is
//!
//! ```sh
//! ROLLOUT_SIM_LOSS_SEEDS=1000 cargo test --release --test network loss_sweep
//! ```
//!
//! (or `cargo run --release -- explore scenarios/network/loss-sweep.yaml
//! --seeds 0..1000`).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use rollout_sim::core::{AttemptStatus, QueueOp};
use rollout_sim::scenario::{RunOptions, load_file, load_str, run_scenario};
use rollout_sim::sim::{CallResult, EventKind};
use rollout_sim::sim::{EngineKind, StopReason};

fn scenario_path(name: &str) -> std::path::PathBuf {
    common::scenarios_dir().join("network").join(name)
}

/// What one seed of the loss sweep showed.
#[derive(Debug, Default)]
struct SeedReport {
    problems: Vec<String>,
    /// Dequeues the queue served whose reply never reached the worker.
    lost_dequeue_replies: usize,
    dropped_messages: usize,
}

fn sweep_seed(scenario: &rollout_sim::scenario::Scenario, seed: u64) -> SeedReport {
    let outcome = run_scenario(
        scenario,
        RunOptions {
            seed: Some(seed),
            ..Default::default()
        },
    );
    let run = &outcome.run;
    let mut report = SeedReport::default();
    if run.stop != StopReason::AllTerminal {
        report
            .problems
            .push(format!("seed {seed}: ended with {}", run.stop.describe()));
    }
    for rollout in &run.snapshot.rollouts {
        if !rollout.status.is_terminal() {
            report.problems.push(format!(
                "seed {seed}: {} is {} at the end",
                rollout.id, rollout.status
            ));
        }
    }
    for invariant in outcome.violated() {
        report.problems.push(format!(
            "seed {seed}: invariant {} violated: {}",
            invariant.name,
            invariant.violations.join("; ")
        ));
    }
    for check in outcome.failed_checks() {
        report.problems.push(format!(
            "seed {seed}: {} expected {}, actual {}",
            check.name, check.expected, check.actual
        ));
    }
    // A dequeue the queue served but whose reply the worker never got: the
    // attempt exists, nobody runs it. It must have timed out, not stranded.
    let mut served = BTreeSet::new();
    let mut received = BTreeSet::new();
    for event in &run.trace.events {
        match &event.kind {
            EventKind::Served {
                op: QueueOp::Dequeue,
                result: CallResult::Dequeued { attempt },
                ..
            } => {
                served.insert(attempt.clone());
            }
            EventKind::Call {
                op: QueueOp::Dequeue,
                result: CallResult::Dequeued { attempt },
                ..
            } => {
                received.insert(attempt.clone());
            }
            EventKind::MessageDropped { .. } => report.dropped_messages += 1,
            _ => {}
        }
    }
    for attempt in served.difference(&received) {
        report.lost_dequeue_replies += 1;
        let status = run.snapshot.attempt(attempt).map(|a| a.status);
        if status != Some(AttemptStatus::Timeout) {
            report.problems.push(format!(
                "seed {seed}: the reply to the dequeue of {attempt} was lost, and the attempt ended {status:?}, not timeout"
            ));
        }
    }
    report
}

#[test]
fn loss_sweep_every_rollout_terminal_in_every_seed() {
    let seeds: u64 = std::env::var("ROLLOUT_SIM_LOSS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let scenario = load_file(&scenario_path("loss-sweep.yaml")).expect("loss-sweep.yaml loads");
    assert_eq!(scenario.engine(), EngineKind::Turmoil);
    assert_eq!(scenario.plan.rollouts.len(), 16);
    assert_eq!(scenario.plan.workers.len(), 2);
    assert_eq!(
        scenario.plan.network.faults.map(|f| f.loss_rate),
        Some(0.05)
    );
    let started = std::time::Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let reports: Vec<SeedReport> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let scenario = &scenario;
                scope.spawn(move || {
                    (0..seeds)
                        .filter(|s| s % threads == t)
                        .map(|seed| sweep_seed(scenario, seed))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a sweep thread panicked"))
            .collect()
    });
    let problems: Vec<&String> = reports.iter().flat_map(|r| &r.problems).collect();
    let lost: usize = reports.iter().map(|r| r.lost_dequeue_replies).sum();
    let seeds_with_lost = reports
        .iter()
        .filter(|r| r.lost_dequeue_replies > 0)
        .count();
    let dropped: usize = reports.iter().map(|r| r.dropped_messages).sum();
    eprintln!(
        "loss sweep: {seeds} seeds in {:.1?}: {} problem(s); {dropped} messages dropped; {lost} dequeue replies lost in {seeds_with_lost} seeds, every such attempt timed out and its rollout finished",
        started.elapsed(),
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems
            .iter()
            .take(30)
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(dropped > 0, "the sweep dropped no message at all");
    if seeds >= 100 {
        assert!(
            lost > 0,
            "no dequeue reply was lost in {seeds} seeds: the sweep did not exercise the case it is for"
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_trace_on_the_turmoil_engine() {
    let scenario = load_file(&scenario_path("loss-sweep.yaml")).unwrap();
    for seed in [0, 1, 7] {
        let options = RunOptions {
            seed: Some(seed),
            ..Default::default()
        };
        let a = run_scenario(&scenario, options.clone());
        // Another thread, so another tracing dispatcher and turmoil world.
        let b =
            std::thread::scope(|s| s.spawn(|| run_scenario(&scenario, options)).join().unwrap());
        assert_eq!(a.run.trace_hash, b.run.trace_hash, "seed {seed}");
        assert_eq!(a.run.trace.events, b.run.trace.events, "seed {seed}");
    }
    let hashes: BTreeSet<_> = (0..4)
        .map(|seed| {
            run_scenario(
                &scenario,
                RunOptions {
                    seed: Some(seed),
                    ..Default::default()
                },
            )
            .run
            .trace_hash
        })
        .collect();
    assert!(hashes.len() > 1, "the seed changes nothing: {hashes:?}");
}

const PARTITION: &str = r#"
name: p
runner: { poll_interval: 10ms, request_timeout: 20ms }
rollouts: [ { id: r1 } ]
faults:
  at:
    - { at: 50ms, partition: [worker-1, queue], for: 10ms }
"#;

#[test]
fn auto_picks_turmoil_for_network_features_only() {
    let on = |text: &str| load_str("s.yaml", text).unwrap().engine();
    assert_eq!(on(PARTITION), EngineKind::Turmoil);
    assert_eq!(
        on("name: n\nrollouts: [ { id: r1 } ]\nfaults: { network: { loss_rate: 0.01 } }\n"),
        EngineKind::Turmoil
    );
    // The supervisor's restarts run on every engine.
    assert_eq!(
        on("name: n\nrunner: { restart_after: 10ms }\nrollouts: [ { id: r1 } ]\n"),
        EngineKind::Virtual
    );
    // A request timeout alone is only the client's setting.
    assert_eq!(
        on("name: n\nrunner: { request_timeout: 10ms }\nrollouts: [ { id: r1 } ]\n"),
        EngineKind::Virtual
    );
    assert_eq!(
        on("name: n\nengine: turmoil\nrollouts: [ { id: r1 } ]\n"),
        EngineKind::Turmoil
    );
}

#[test]
fn network_features_on_another_engine_are_located_errors() {
    for engine in ["virtual", "tokio"] {
        let text = PARTITION.replace("name: p\n", &format!("name: p\nengine: {engine}\n"));
        let error = load_str("s.yaml", &text).unwrap_err();
        let plain = error.plain();
        assert!(
            plain.starts_with("s.yaml:8:19: `partition` events: only the turmoil engine runs this, but the scenario asks for `engine: "),
            "{plain}"
        );
        assert!(plain.contains("write `engine: turmoil`"), "{plain}");
    }
    let text = "name: n\nengine: virtual\nrollouts: [ { id: r1 } ]\nfaults:\n  network: { loss_rate: 0.5 }\n";
    let plain = load_str("s.yaml", text).unwrap_err().plain();
    assert!(
        plain.starts_with("s.yaml:5:3: `faults.network`: only the turmoil engine"),
        "{plain}"
    );
}

#[test]
fn network_events_are_validated() {
    let problems = |at: &str| {
        let text = format!(
            "name: n\nworkers: 2\nrollouts: [ {{ id: r1 }} ]\nfaults:\n  at:\n    - {at}\n"
        );
        match load_str("s.yaml", &text) {
            Ok(_) => String::new(),
            Err(e) => e.plain(),
        }
    };
    assert!(
        problems("{ at: 1ms, partition: [worker-1] }")
            .contains("`partition` takes two hosts, not 1")
    );
    assert!(
        problems("{ at: 1ms, partition: [worker-1, worker-1] }").contains("two different hosts")
    );
    assert!(problems("{ at: 1ms, hold: [worker-1, nowhere] }").contains("unknown host `nowhere`"));
    assert!(
        problems("{ at: 1ms, bounce: queue, for: 5ms }")
            .contains("`for` goes with `partition`, `hold` or `latency`, not `bounce`")
    );
    assert!(problems("{ at: 1ms, crash: queue }").contains("the queue host can only be bounced"));
    assert!(problems("{ at: 1ms, crash: worker-1, bounce: queue }").contains("exactly one of"));
    assert!(
        problems("{ at: 1ms, partition: [worker-2, queue], for: 0ms }")
            .contains("`for` must be greater than 0")
    );
    for ok in [
        "{ at: 1ms, partition: [worker-1, queue], for: 5ms }",
        "{ at: 1ms, repair: [queue, worker-2] }",
        "{ at: 1ms, hold: [worker-1, queue] }",
        "{ at: 1ms, release: [worker-1, queue] }",
        "{ at: 1ms, bounce: worker-2 }",
        "{ at: 1ms, latency: 30ms, for: 10ms }",
    ] {
        assert_eq!(problems(ok), "", "{ok}");
    }
    let network = |n: &str| {
        let text = format!("name: n\nrollouts: [ {{ id: r1 }} ]\nfaults:\n  network: {n}\n");
        load_str("s.yaml", &text).map_or_else(|e| e.plain(), |_| String::new())
    };
    assert!(
        network("{ latency: { min: 5ms, max: 1ms } }")
            .contains("latency max (1ms) is below min (5ms)")
    );
    assert!(network("{ loss_rate: 1.5 }").contains("loss_rate must be between 0 and 1, not 1.5"));
    assert!(network("{ loss: 0.1 }").contains("unknown field `loss`"));
    assert_eq!(
        network("{ latency: { min: 1ms, max: 5ms }, loss_rate: 0.01 }"),
        ""
    );
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
}

#[test]
fn cli_runs_network_scenarios_and_refuses_them_elsewhere() {
    let dir = common::scenarios_dir().join("network");
    let out = bin()
        .arg("scenario")
        .arg(&dir)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("PASS")
            && stdout.contains("network-queue-bounce")
            && stdout.contains(" 0 failed"),
        "{stdout}"
    );

    let file = dir.join("partition-during-backoff.yaml");
    let out = bin()
        .arg("scenario")
        .arg(&file)
        .args(["--engine", "virtual"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("partition-during-backoff.yaml:")
            && stderr.contains(
                "`partition` events: only the turmoil engine runs this, not the virtual engine"
            ),
        "{stderr}"
    );
    // The same file on its own engine, from the CLI: every check listed.
    let out = bin().arg("scenario").arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("engine turmoil"), "{stdout}");
    assert!(!common::display(Path::new(&file)).is_empty());
}

#[test]
fn freeze_refuses_what_turmoil_draws_per_message() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["freeze", "scenarios/network/loss-sweep.yaml", "--seed", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "scenarios/network/loss-sweep.yaml: cannot freeze `faults.network`: turmoil draws its loss at rate 0.05 from the seed for every message"
        ),
        "{stderr}"
    );
    // A fixed latency and no loss draw nothing: that file freezes.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "freeze",
            "scenarios/network/latency-timeouts.yaml",
            "--seed",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
