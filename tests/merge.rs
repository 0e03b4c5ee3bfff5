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

/// Shard `i` of 2 (from 1, as `--shard` counts) of a sweep of the stranded-attempts study with the
/// reference reassignment, where about half the seeds fail.
fn shard(i: u64) -> Value {
    shard_of(i, 2)
}

/// Shard `k` of `n` of that sweep.
fn shard_of(k: u64, n: u64) -> Value {
    let o = run(&[
        "explore",
        "scenarios/research/stranded-attempts.yaml",
        "--seeds",
        "0..12",
        "--shard",
        &format!("{k}/{n}"),
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

/// `merge` of the crafted shard 1/2 with the good shard 2/2: exit 2, and
/// stderr is exactly `error: FILE: MESSAGE`.
fn refused(dir: &Path, crafted: &Value, message: &str) {
    let bad = write(dir, "crafted.json", crafted);
    let good = write(dir, "shard-2.json", &shard(2));
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
        write(&dir, "a.json", &shard(1)),
        write(&dir, "b.json", &shard(2)),
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
        "error: missing shard 2/2 (1 of 2): merge every shard's report, or pass --allow-partial\n"
    );
    let o = run(&["merge", &a, "--allow-partial", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let partial: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(partial["partial"], true);
    let o = run(&["merge", &a, "--allow-partial"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("shards [1] of 2 (partial)"));

    let o = run(&["merge", &a, &a]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("error: {a}: shards: shard 1/2 is also in {a}: merge each shard's report once\n")
    );
}

#[test]
fn passed_and_failed_must_make_the_runs() {
    let dir = scratch("passed");
    let mut r = shard(1);
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
    let mut r = shard(1);
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

    let mut r = shard(1);
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
    let mut r = shard(1);
    r["seeds"] = json!({ "start": 12, "end": 0 });
    refused(
        &dir,
        &r,
        "seeds: the range is reversed: it starts at 12 and ends at 0",
    );

    // Numbered from 1 (schema sweep/2): neither 0 nor 3 is a shard of 2.
    for bad in [0, 3] {
        let mut r = shard(1);
        r["shards"] = json!([bad]);
        refused(
            &dir,
            &r,
            &format!(
                "shards[0]: shard {bad} of 2: shards are numbered from 1 to 2 (this is rollout-sim.sweep/2, which counts from 1)"
            ),
        );
    }

    let mut r = shard(1);
    r["summary"]["runs"] = json!(7);
    r["summary"]["passed"] = json!(7 - r["summary"]["failed"].as_u64().unwrap());
    refused(
        &dir,
        &r,
        "summary.runs: 7 runs, but seeds 0..12 in shard(s) [1] of 2 are 6",
    );
}

#[test]
fn failing_seeds_must_be_the_reports_own() {
    let dir = scratch("failing");
    let mut r = shard(1);
    assert!(r["summary"]["failed"].as_u64().unwrap() > 0);
    // Seed 1 is shard 2/2's.
    r["summary"]["failing"][0]["seed"] = json!(1);
    refused(
        &dir,
        &r,
        "summary.failing[0].seed: seed 1 is not one of this report's: seeds 0..12, shard(s) [1] of 2",
    );

    let mut r = shard(1);
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
    let mut r = shard(1);
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

    let mut r = shard(1);
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
    let mut r = shard(1);
    r["scenario_hash"] = json!("0123456789abcdef");
    let bad = write(&dir, "other.json", &r);
    let good = write(&dir, "shard-1.json", &shard(2));
    let o = run(&["merge", &good, &bad]);
    assert_eq!(o.status.code(), Some(2));
    let hash = shard(2)["scenario_hash"].as_str().unwrap().to_string();
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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn shards_count_from_one_on_the_command_line() {
    let o = shard_of(3, 3);
    assert_eq!(o["shards"], json!([3]));
    assert_eq!(o["shard_count"], 3);
    assert_eq!(o["schema"], "rollout-sim.sweep/2");
    // 12 seeds over 3 shards: seeds 2, 5, 8 and 11 are shard 3/3's.
    assert_eq!(o["summary"]["runs"], 4);
    let how = "shards count from 1: write K/N with K from 1 to N, such as 1/4 to 4/4 for four shards (as cargo nextest's --partition count:1/4)";
    for (shard, why) in [
        ("0/3", format!("shard 0/3: {how}")),
        ("4/3", format!("shard 4/3: there are only 3 shards; {how}")),
        ("1/0", format!("shard 1/0: there is no shard of 0; {how}")),
        ("x/3", format!("`x` is not a shard number; {how}")),
    ] {
        let o = run(&[
            "explore",
            "scenarios/c02.yaml",
            "--seeds",
            "0..3",
            "--shard",
            shard,
        ]);
        assert_eq!(o.status.code(), Some(2), "{shard}");
        assert!(
            stderr(&o).starts_with(&format!(
                "error: invalid value '{shard}' for '--shard <K/N>': {why}\n"
            )),
            "{shard}: {}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn incomplete_overlapping_and_mismatched_sets_are_refused() {
    let dir = scratch("sets");
    let [one, two, three] = [1, 2, 3].map(|k| write(&dir, &format!("s{k}.json"), &shard_of(k, 3)));
    // Every shard, in any order: merged.
    let o = run(&["merge", &three, &one, &two, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let merged: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(merged["shards"], json!([1, 2, 3]));
    assert_eq!(merged["summary"]["runs"], 12);
    assert_eq!(
        (merged["partial"].clone(), merged["cancelled"].clone()),
        (json!(false), json!(false))
    );

    // A lost artifact: exit 2, naming the shards as `--shard` takes them.
    let o = run(&["merge", &one]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: missing shards 2/3, 3/3 (2 of 3): merge every shard's report, or pass --allow-partial\n"
    );
    assert!(o.stdout.is_empty());
    let o = run(&["merge", &one, &three]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: missing shard 2/3 (1 of 3): merge every shard's report, or pass --allow-partial\n"
    );
    // Told to: merged, and said to be partial.
    let o = run(&["merge", &one, &three, "--allow-partial", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let partial: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(partial["shards"], json!([1, 3]));
    assert_eq!(partial["summary"]["runs"], 8);
    assert_eq!(partial["partial"], true);

    // Overlapping: never merged, --allow-partial or not.
    for extra in [None, Some("--allow-partial")] {
        let mut args = vec!["merge", &one, &two, &three, &two];
        args.extend(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            stderr(&o),
            format!(
                "error: {two}: shards: shard 2/3 is also in {two}: merge each shard's report once\n"
            )
        );
    }

    // Mismatched: a shard of another split of the range.
    let half = write(&dir, "half.json", &shard(2));
    let o = run(&["merge", &one, &two, &half, "--allow-partial"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!("error: {half}: shard_count: 2, but {one} has 3: merge shards of one sweep\n")
    );
    // Or of another range.
    let mut other = shard_of(3, 3);
    other["seeds"] = json!({ "start": 0, "end": 13 });
    other["summary"]["runs"] = json!(4);
    let other = write(&dir, "other.json", &other);
    let o = run(&["merge", &one, &two, &other]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!("error: {other}: seeds: 0..13, but {one} has 0..12: merge shards of one sweep\n")
    );
    // Or on another engine, or by another version of the tool.
    let mut tokio = shard_of(3, 3);
    tokio["engine"] = json!("tokio");
    let tokio = write(&dir, "tokio.json", &tokio);
    let o = run(&["merge", &one, &two, &tokio]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {tokio}: engine: tokio, but {one} has virtual: merge shards of one sweep\n"
        )
    );
    let mut old = shard_of(3, 3);
    old["tool_version"] = json!("0.0.1");
    let old = write(&dir, "old.json", &old);
    let o = run(&["merge", &one, &two, &old, "--allow-partial"]);
    assert_eq!(o.status.code(), Some(2));
    let this = env!("CARGO_PKG_VERSION");
    assert_eq!(
        stderr(&o),
        format!(
            "error: {old}: tool_version: written by rollout-sim 0.0.1, this is {this}; merge reports of one version\n"
        )
    );
}

#[test]
fn a_cancelled_shard_is_refused_unless_partial_is_allowed() {
    let dir = scratch("cancelled");
    let b = write(&dir, "b.json", &shard(2));
    let mut r = shard(1);
    r["cancelled"] = json!(true);
    r["partial"] = json!(true);
    let a = write(&dir, "a.json", &r);
    let o = run(&["merge", &a, &b]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {a}: cancelled: shard 1/2 was cancelled after 6 runs, before every seed ran: rerun it, or pass --allow-partial\n"
        )
    );
    let o = run(&["merge", &a, &b, "--allow-partial", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let merged: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (merged["partial"].clone(), merged["cancelled"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(merged["summary"]["runs"], 12);
    let o = run(&["merge", &a, &b, "--allow-partial"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("shards [1, 2] of 2 (partial)"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // A cancelled report is partial, and holds at most its shards' seeds.
    let mut r = shard(1);
    r["cancelled"] = json!(true);
    refused(
        &dir,
        &r,
        "partial: false, but the sweep was cancelled: a cancelled report is partial",
    );
}
