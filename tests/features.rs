//! What each crate compiles, with and without its optional features. The
//! runner core stands alone: an embedder who depends on `rollout-core`
//! compiles the runner and what it needs (serde, serde_json), not the
//! simulator, turmoil, SQLite, clap or tokio. The simulator's turmoil
//! engine and the reports' SQLite are the two heavy dependencies, and an
//! embedder who turns them off gets neither. The example that embeds the
//! runner needs only the core and the simulator.
//!
//! Each test asks cargo itself, offline, from the workspace root.

use std::path::Path;
use std::process::Command;

/// The crates `cargo tree -p <package> -e normal` lists, each once.
fn tree(package: &str, args: &[&str]) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args(["tree", "--offline", "-p", package, "-e", "normal"])
        .args(["--prefix", "none"])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
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

fn has(crates: &[String], name: &str) -> bool {
    crates.iter().any(|c| c == name)
}

#[test]
fn the_core_tree_has_at_most_twelve_crates_and_no_tokio_unless_asked() {
    let plain = tree("rollout-core", &[]);
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
        "rollout-simulator",
        "rollout-sim",
    ] {
        assert!(!has(&plain, heavy), "{heavy} in {plain:?}");
    }
    let with_tokio = tree("rollout-core", &["--features", "tokio"]);
    assert!(has(&with_tokio, "tokio"), "{with_tokio:?}");
}

#[test]
fn the_core_builds_alone() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("core-alone");
    let output = Command::new(env!("CARGO"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
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

#[test]
fn the_simulator_compiles_turmoil_only_with_its_feature() {
    let with = tree("rollout-simulator", &[]);
    assert!(has(&with, "turmoil"), "{with:?}");
    let without = tree("rollout-simulator", &["--no-default-features"]);
    for heavy in [
        "turmoil",
        "tracing",
        "rusqlite",
        "clap",
        "miette",
        "serde_norway",
    ] {
        assert!(!has(&without, heavy), "{heavy} in {without:?}");
    }
    assert!(has(&without, "rollout-core"), "{without:?}");
}

#[test]
fn reports_compile_sqlite_only_with_their_feature() {
    let with = tree("rollout-report", &[]);
    assert!(has(&with, "rusqlite"), "{with:?}");
    let without = tree("rollout-report", &["--no-default-features"]);
    for heavy in ["rusqlite", "libsqlite3-sys", "turmoil", "clap", "indicatif"] {
        assert!(!has(&without, heavy), "{heavy} in {without:?}");
    }
}

#[test]
fn the_cli_without_default_features_has_neither_turmoil_nor_sqlite() {
    let full = tree("rollout-sim", &[]);
    for heavy in ["turmoil", "rusqlite", "clap"] {
        assert!(has(&full, heavy), "{heavy} missing from {full:?}");
    }
    let lean = tree("rollout-sim", &["--no-default-features"]);
    for heavy in ["turmoil", "rusqlite", "libsqlite3-sys"] {
        assert!(!has(&lean, heavy), "{heavy} in {lean:?}");
    }
}

#[test]
fn the_embedding_example_needs_only_the_core_and_the_simulator() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/rollout-simulator/examples/delayed_queue.rs");
    let text = std::fs::read_to_string(&example).expect("the example exists");
    let crates: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("use "))
        .filter_map(|path| path.split("::").next())
        .filter(|root| !matches!(*root, "std" | "core" | "alloc" | "crate" | "super"))
        .collect();
    assert!(
        !crates.is_empty(),
        "no imports found in {}",
        example.display()
    );
    for root in crates {
        assert!(
            matches!(root, "rollout_core" | "rollout_simulator"),
            "the example imports {root}"
        );
    }
}
