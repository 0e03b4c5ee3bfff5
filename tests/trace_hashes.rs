//! Every committed scenario's trace hash on every engine, against the
//! hashes recorded in `tests/snapshots/trace-hashes.txt`.
//!
//! A refactor must change no trace: this test is what says so. Each file
//! runs twice per engine (the two hashes must agree, and agree with the
//! record). Every scenario file must have a row for each engine that can run
//! it, so a new file cannot slip past unrecorded. After a deliberate change
//! of behaviour: `ROLLOUT_SIM_BLESS=1 cargo test --test trace_hashes`, then
//! name the changed files in the commit.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use rollout_sim::scenario::{RunOptions, load_file, run_scenario};
use rollout_sim::sim::EngineKind;

const RECORD: &str = "tests/snapshots/trace-hashes.txt";
const HEADER_LINES: usize = 4;

fn engines_for(path: &Path) -> Vec<EngineKind> {
    let scenario = load_file(path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e.plain()));
    [EngineKind::Virtual, EngineKind::Tokio, EngineKind::Turmoil]
        .into_iter()
        .filter(|&e| scenario.check_engine(e).is_ok())
        .collect()
}

#[test]
fn every_scenario_keeps_its_recorded_trace_hash_on_every_engine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let record_path = root.join(RECORD);
    let text = std::fs::read_to_string(&record_path).expect("the recorded hashes");
    let recorded: BTreeMap<(String, String), (String, u64)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "malformed row in {RECORD}: {l}");
            (
                (f[0].to_string(), f[1].to_string()),
                (f[2].to_string(), f[3].parse().expect("an event count")),
            )
        })
        .collect();

    let mut actual = BTreeMap::new();
    for path in common::scenario_files() {
        let rel = path
            .strip_prefix(common::scenarios_dir())
            .expect("under scenarios/")
            .display()
            .to_string();
        let scenario = load_file(&path).expect("committed scenarios load");
        for engine in engines_for(&path) {
            let options = RunOptions {
                engine: Some(engine),
                ..RunOptions::default()
            };
            let first = run_scenario(&scenario, options.clone());
            let second = run_scenario(&scenario, options);
            assert_eq!(
                first.run.trace_hash,
                second.run.trace_hash,
                "{rel} on {}: two runs gave different trace hashes",
                engine.as_str()
            );
            actual.insert(
                (rel.clone(), engine.as_str().to_string()),
                (first.run.trace_hash.to_string(), first.run.events as u64),
            );
        }
    }

    if std::env::var_os("ROLLOUT_SIM_BLESS").is_some() {
        let mut out: String = text
            .lines()
            .take(HEADER_LINES)
            .map(|l| format!("{l}\n"))
            .collect();
        for ((file, engine), (hash, events)) in &actual {
            out.push_str(&format!("{file:<55} {engine:<8} {hash} {events}\n"));
        }
        std::fs::write(&record_path, out).expect("write the record");
        return;
    }
    let mut problems = Vec::new();
    for (key, now) in &actual {
        match recorded.get(key) {
            None => problems.push(format!("{} on {}: no recorded hash", key.0, key.1)),
            Some(then) if then != now => problems.push(format!(
                "{} on {}: recorded {} ({} events), now {} ({} events)",
                key.0, key.1, then.0, then.1, now.0, now.1
            )),
            Some(_) => {}
        }
    }
    for key in recorded.keys().filter(|k| !actual.contains_key(*k)) {
        problems.push(format!(
            "{} on {}: recorded but no longer run",
            key.0, key.1
        ));
    }
    assert!(
        problems.is_empty(),
        "trace hashes changed:\n  {}",
        problems.join("\n  ")
    );
}
