//! Issue 11, class 5: `merge` checks every count and range of each report
//! it reads, names the file and the field of what is wrong (exit 2), reads
//! at most its size limit, refuses an incomplete set of shards unless told
//! otherwise, and lists a bounded number of failing seeds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rollout-sim-merge-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Shard `i` of 2 of a sweep of the stranded-attempts study with the
/// reference reassignment, where about half the seeds fail.
fn shard(i: u64) -> Value {
    let o = run(&[
        "explore",
        "scenarios/research/stranded-attempts.yaml",
        "--seeds",
        "0..12",
        "--shard",
        &format!("{i}/2"),
        "--reassignment",
        "reference",
        "--format",
        "json",
        "--jobs",
        "2",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn write(dir: &Path, name: &str, report: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(report).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

/// `merge` of the crafted shard 0 with the good shard 1: exit 2, and
/// stderr is exactly `error: FILE: MESSAGE`.
fn refused(dir: &Path, crafted: &Value, message: &str) {
    let bad = write(dir, "crafted.json", crafted);
    let good = write(dir, "shard-1.json", &shard(1));
    let o = run(&["merge", &bad, &good]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("error: {bad}: {message}\n")
    );
}

#[test]
fn good_shards_merge_and_a_missing_one_is_named() {
    let dir = scratch("good");
    let (a, b) = (
        write(&dir, "a.json", &shard(0)),
        write(&dir, "b.json", &shard(1)),
    );
    let o = run(&["merge", &a, &b, "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let merged: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(merged["summary"]["runs"], 12);
    assert_eq!(merged["partial"], false);

    let o = run(&["merge", &a]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: 1 of 2 shards missing: 1; merge every shard's report, or pass --allow-partial\n"
    );
    let o = run(&["merge", &a, "--allow-partial", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let partial: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(partial["partial"], true);
    let o = run(&["merge", &a, "--allow-partial"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("shards [0] of 2 (partial)"));

    let o = run(&["merge", &a, &a]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("error: {a}: shards: shard 0/2 is also in {a}\n")
    );
}

#[test]
fn passed_and_failed_must_make_the_runs() {
    let dir = scratch("passed");
    let mut r = shard(0);
    r["summary"]["passed"] = json!(r["summary"]["runs"].as_u64().unwrap() + 1);
    let (p, f, n) = (
        &r["summary"]["passed"],
        &r["summary"]["failed"],
        &r["summary"]["runs"],
    );
    let message = format!("summary.passed: {p} passed and {f} failed do not make the {n} runs");
    refused(&dir, &r, &message);
}

#[test]
fn a_wrapped_count_is_refused() {
    let dir = scratch("wrapped");
    let mut r = shard(0);
    // Counts whose sum wraps a u64, and a passed count that wraps it too.
    r["summary"]["passed"] = json!(u64::MAX);
    r["summary"]["failed"] = json!(r["summary"]["runs"].as_u64().unwrap() + 1);
    let (p, f, n) = (
        &r["summary"]["passed"],
        &r["summary"]["failed"],
        &r["summary"]["runs"],
    );
    let message = format!("summary.passed: {p} passed and {f} failed do not make the {n} runs");
    refused(&dir, &r, &message);

    let mut r = shard(0);
    r["summary"]["time_to_all_terminal_ms"]["histogram"] = json!([[1, u64::MAX], [2, 2]]);
    refused(
        &dir,
        &r,
        "summary.time_to_all_terminal_ms.histogram: its counts add up past 18446744073709551615",
    );
}

#[test]
fn ranges_and_shards_must_be_consistent() {
    let dir = scratch("ranges");
    let mut r = shard(0);
    r["seeds"] = json!({ "start": 12, "end": 0 });
    refused(
        &dir,
        &r,
        "seeds: the range is reversed: it starts at 12 and ends at 0",
    );

    let mut r = shard(0);
    r["shards"] = json!([2]);
    refused(
        &dir,
        &r,
        "shards[0]: shard 2 of 2: shards are numbered from 0 to 1",
    );

    let mut r = shard(0);
    r["summary"]["runs"] = json!(7);
    r["summary"]["passed"] = json!(7 - r["summary"]["failed"].as_u64().unwrap());
    refused(
        &dir,
        &r,
        "summary.runs: 7 runs, but seeds 0..12 in shard(s) [0] of 2 are 6",
    );
}

#[test]
fn failing_seeds_must_be_the_reports_own() {
    let dir = scratch("failing");
    let mut r = shard(0);
    assert!(r["summary"]["failed"].as_u64().unwrap() > 0);
    // Seed 1 is shard 1's.
    r["summary"]["failing"][0]["seed"] = json!(1);
    refused(
        &dir,
        &r,
        "summary.failing[0].seed: seed 1 is not one of this report's: seeds 0..12, shard(s) [0] of 2",
    );

    let mut r = shard(0);
    r["summary"]["failing_not_listed"] = json!(3);
    let (listed, failed) = (
        r["summary"]["failing"].as_array().unwrap().len(),
        &r["summary"]["failed"],
    );
    refused(
        &dir,
        &r,
        &format!(
            "summary.failing_not_listed: {listed} listed and 3 not listed do not make the {failed} failed"
        ),
    );
}

#[test]
fn histograms_and_summaries_must_agree() {
    let dir = scratch("histograms");
    let mut r = shard(0);
    r["summary"]["time_to_all_terminal_ms"]["summary"]["max"] = json!(999_999);
    let o = {
        let bad = write(&dir, "crafted.json", &r);
        (bad.clone(), run(&["merge", &bad]))
    };
    assert_eq!(o.1.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.1.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {}: summary.time_to_all_terminal_ms.summary: does not match its histogram",
            o.0
        )),
        "{stderr}"
    );

    let mut r = shard(0);
    r["summary"]["backoff_ms_per_rollout"]["histogram"] = json!([[5, 1], [3, 1]]);
    let bad = write(&dir, "unsorted.json", &r);
    let o = run(&["merge", &bad]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(
            "not a sweep report: histogram entry 1 (value 3) is not above the one before (5)"
        ),
        "{stderr}"
    );
}

#[test]
fn a_report_from_another_sweep_is_named() {
    let dir = scratch("other");
    let mut r = shard(0);
    r["scenario_hash"] = json!("0123456789abcdef");
    let bad = write(&dir, "other.json", &r);
    let good = write(&dir, "shard-1.json", &shard(1));
    let o = run(&["merge", &good, &bad]);
    assert_eq!(o.status.code(), Some(2));
    let hash = shard(1)["scenario_hash"].as_str().unwrap().to_string();
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "error: {bad}: scenario_hash: 0123456789abcdef, but {good} has {hash}: merge shards of one sweep\n"
        )
    );
}

#[test]
fn oversized_and_special_files_are_refused_without_reading_them() {
    let dir = scratch("size");
    let big = dir.join("big.json");
    let file = std::fs::File::create(&big).unwrap();
    // Sparse: 64 MiB and one byte, written in no time.
    file.set_len((64 << 20) + 1).unwrap();
    let o = run(&["merge", big.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "error: {}: larger than 64 MiB; a sweep report is a few megabytes at most (it lists at most 1000 failing seeds)\n",
            big.display()
        )
    );
    let o = run(&["merge", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: /dev/zero: not a regular file; merge reads the JSON files `explore --format json` writes\n"
    );
    // A FIFO with no writer: opening it would wait forever.
    let fifo = dir.join("shard.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let o = run(&["merge", fifo.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            format!(
                "error: {}: not a regular file; merge reads the JSON files `explore --format json` writes\n",
                fifo.display()
            )
        );
    } else {
        println!("skipped the FIFO case: mkfifo is not available here");
    }
}

#[test]
fn a_sweep_lists_its_first_failing_seeds_and_counts_the_rest() {
    // Every seed fails: an expectation no run meets.
    let dir = scratch("bounded");
    let file = dir.join("always-fails.yaml");
    std::fs::write(
        &file,
        "name: always-fails\nrollouts:\n  - { id: r1, run: { duration: 5ms } }\nexpect:\n  rollouts: { r1: failed }\n",
    )
    .unwrap();
    let o = run(&[
        "explore",
        file.to_str().unwrap(),
        "--seeds",
        "0..1500",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = &r["summary"];
    assert_eq!(
        (s["runs"].as_u64(), s["failed"].as_u64()),
        (Some(1500), Some(1500))
    );
    let listed: Vec<u64> = s["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, (0..1000).collect::<Vec<_>>());
    assert_eq!(s["failing_not_listed"], 500);
    let o = run(&["explore", file.to_str().unwrap(), "--seeds", "0..1500"]);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("... and 500 more failing seeds beyond the first 1000 (counted, not listed)")
    );
}
