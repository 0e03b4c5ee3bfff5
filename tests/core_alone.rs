//! The runner core stands alone: an embedder who depends on `rollout-core`
//! compiles the runner and what it needs (serde, serde_json), not the
//! simulator, turmoil, SQLite, clap or tokio.
//!
//! Both tests ask cargo itself, offline, from the workspace root: the
//! normal dependency tree of the core crate (with its default features),
//! and a build of the core crate alone in a target folder of its own.

use std::path::Path;
use std::process::Command;

fn cargo() -> Command {
    let mut command = Command::new(env!("CARGO"));
    command.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")));
    command
}

/// The crates `cargo tree -p rollout-core -e normal` lists, each once.
fn core_tree(features: &[&str]) -> Vec<String> {
    let mut command = cargo();
    command.args([
        "tree",
        "--offline",
        "-p",
        "rollout-core",
        "-e",
        "normal",
        "--prefix",
        "none",
    ]);
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut crates: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    crates.sort();
    crates.dedup();
    crates
}

#[test]
fn the_core_tree_has_at_most_twelve_crates_and_no_tokio_unless_asked() {
    let plain = core_tree(&[]);
    assert!(
        plain.len() <= 12,
        "rollout-core's normal tree has {} crates: {plain:?}",
        plain.len()
    );
    for heavy in [
        "tokio",
        "turmoil",
        "rusqlite",
        "clap",
        "miette",
        "indicatif",
        "rollout-sim",
    ] {
        assert!(!plain.iter().any(|c| c == heavy), "{heavy} in {plain:?}");
    }
    let with_tokio = core_tree(&["tokio"]);
    assert!(with_tokio.iter().any(|c| c == "tokio"), "{with_tokio:?}");
}

#[test]
fn the_core_builds_alone() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("core-alone");
    let output = cargo()
        .args(["build", "--offline", "-p", "rollout-core", "--target-dir"])
        .arg(&target)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build -p rollout-core failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
