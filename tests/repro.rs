//! Repro lines carry every flag that changed the run (issue: "the repro
//! line drops `--reassignment`"). For each flag: run with it, read the
//! report's repro line and trace hash, run the repro line as printed, and
//! compare; and check that the flag mattered (the run without it has
//! another hash), so that a repro dropping it could not pass.

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollout-sim"));
    command.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")));
    command
}

/// Runs `scenario ARGS --format json`: (exit code, repro line, trace hash).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = bin()
        .arg("scenario")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let s = &report["scenarios"][0];
    (
        out.status.code(),
        s["repro"].as_str().unwrap().to_string(),
        s["trace_hash"].as_str().unwrap().to_string(),
    )
}

/// The tool's arguments in a repro line: the words after `scenario` (the
/// program is `cargo run --` from a build tree).
fn arguments(repro: &str) -> Vec<&str> {
    repro
        .split(' ')
        .skip_while(|w| *w != "scenario")
        .skip(1)
        .collect()
}

fn check(file: &str, seed: &str, flag: &[&str]) {
    let mut args = vec![file, "--seed", seed];
    args.extend_from_slice(flag);
    let (code, repro, hash) = run(&args);
    let printed = flag.join(" ");
    assert!(repro.contains(&printed), "`{printed}` missing from {repro}");
    let (again_code, again_repro, again_hash) = run(&arguments(&repro));
    assert_eq!(again_hash, hash, "{repro}");
    assert_eq!(again_code, code, "{repro}");
    assert_eq!(again_repro, repro);
    let (_, _, without) = run(&[file, "--seed", seed]);
    assert_ne!(without, hash, "{printed} did not change the run of {file}");
}

#[test]
fn reassignment() {
    check(
        "scenarios/research/stranded-attempts.yaml",
        "2",
        &["--reassignment", "reference"],
    );
}

#[test]
fn branch() {
    check(
        "scenarios/research/generic-poll-loop.yaml",
        "4",
        &["--branch", "146,247"],
    );
}

#[test]
fn swarm() {
    check(
        "scenarios/research/generic-poll-loop.yaml",
        "3",
        &["--swarm"],
    );
}

#[test]
fn turmoil_budget() {
    check(
        "scenarios/network/loss-sweep.yaml",
        "1",
        &["--turmoil-budget", "3000"],
    );
}

#[test]
fn several_at_once_in_a_fixed_order() {
    let (_, repro, _) = run(&[
        "scenarios/research/generic-poll-loop.yaml",
        "--swarm",
        "--seed",
        "5",
        "--branch",
        "100",
        "--reassignment",
        "reference",
    ]);
    assert!(
        repro.ends_with(
            "scenario scenarios/research/generic-poll-loop.yaml --seed 5 --engine virtual --branch 100 --reassignment reference --swarm"
        ),
        "{repro}"
    );
}

#[test]
fn the_hidden_scheduling_perturbation_is_in_the_repro_too() {
    let (_, repro, _) = run(&["scenarios/c02.yaml", "--perturb-scheduling"]);
    assert!(repro.ends_with("--perturb-scheduling"), "{repro}");
}

#[test]
fn explore_repro_lines_carry_the_turmoil_budget() {
    let out = bin()
        .args([
            "explore",
            "scenarios/network/loss-sweep.yaml",
            "--seeds",
            "0..4",
        ])
        .args(["--turmoil-budget", "3000", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failing = report["summary"]["failing"].as_array().unwrap();
    assert!(!failing.is_empty(), "the budget stops every seed early");
    for f in failing {
        let repro = f["repro"].as_str().unwrap();
        assert!(repro.ends_with("--turmoil-budget 3000"), "{repro}");
        let (code, _, _) = run(&arguments(repro));
        assert_eq!(code, Some(1), "{repro}");
    }
}
