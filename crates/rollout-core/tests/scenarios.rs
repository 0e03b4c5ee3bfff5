//! The workspace's scenario suite, run against this crate: every committed
//! scenario file that runs on the virtual engine must pass (its expectations and
//! invariants) and keep the trace hash recorded in
//! `tests/snapshots/trace-hashes.txt`.
//!
//! The workspace root runs the same files more thoroughly (every engine,
//! twice each). This copy lives here so that mutation testing of the core
//! (`cargo mutants -p rollout-core`, BENCHMARKS.md) runs the scenarios
//! against each mutant: cargo-mutants tests the package it mutates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rollout_scenario::{RunOptions, load_file, run_scenario};
use rollout_simulator::EngineKind;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            scenario_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn every_scenario_passes_with_its_recorded_trace_on_the_virtual_engine() {
    let root = workspace();
    let record = std::fs::read_to_string(root.join("tests/snapshots/trace-hashes.txt"))
        .expect("the recorded hashes");
    let recorded: BTreeMap<&str, &str> = record
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(1) == Some(&"virtual")).then(|| (f[0], f[2]))
        })
        .collect();
    let scenarios = root.join("scenarios");
    let mut files = Vec::new();
    scenario_files(&scenarios, &mut files);
    assert!(files.len() >= 10, "{} scenario files", files.len());
    let mut checked = 0;
    for path in files {
        let scenario = load_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Files for the tokio or turmoil engine expect that engine's times.
        if scenario.engine() != EngineKind::Virtual {
            continue;
        }
        let outcome = run_scenario(
            &scenario,
            RunOptions {
                engine: Some(EngineKind::Virtual),
                ..RunOptions::default()
            },
        );
        let rel = path.strip_prefix(&scenarios).unwrap().display().to_string();
        let failed: Vec<String> = outcome
            .failed_checks()
            .map(|c| c.name.to_string())
            .chain(outcome.violated().map(|i| format!("invariant {}", i.name)))
            .collect();
        assert!(outcome.passed(), "{rel} failed: {failed:?}");
        let expected = recorded
            .get(rel.as_str())
            .unwrap_or_else(|| panic!("{rel} has no recorded virtual trace hash"));
        assert_eq!(
            outcome.run.trace_hash.to_string(),
            *expected,
            "{rel}: the trace changed"
        );
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} scenarios ran on the virtual engine"
    );
}
