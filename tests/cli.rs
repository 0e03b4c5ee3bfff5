//! The `rollout-sim` binary, end to end: exit codes, human and JSON output,
//! located diagnostics and repro commands.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const FAILURES: &str = "runner.poll_retry_failures_before_rollout";
const BACKOFF: &str = "runner.poll_retry_backoff_ms_before_rollout";

/// Runs the binary from the crate root, without colour.
fn rollout_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the exit code, showing both streams when it is wrong.
fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: wrong exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
        stdout(out),
        stderr(out)
    );
}

/// A fresh folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "rollout-sim-cli-{label}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp scenario");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn c02_source() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/c02.yaml"))
        .expect("read scenarios/c02.yaml")
}

/// Replaces exactly one occurrence of `from`.
fn replace_once(source: &str, from: &str, to: &str) -> String {
    assert_eq!(
        source.matches(from).count(),
        1,
        "expected exactly one `{from}` in c02.yaml"
    );
    source.replacen(from, to, 1)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

#[test]
fn spec_case_2_passes_and_reports_the_metric_values() {
    let out = rollout_sim(&["scenario", "scenarios/c02.yaml"]);
    assert_exit(&out, 0, "scenario scenarios/c02.yaml");
    let text = stdout(&out);
    for needle in [FAILURES, "3", BACKOFF, "35", "PASS"] {
        assert!(text.contains(needle), "stdout lacks `{needle}`:\n{text}");
    }
    let line_with = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!("rewards.r1.{name}")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{text}"))
            .to_string()
    };
    assert!(
        line_with(FAILURES).trim_end().ends_with(" 3"),
        "{}",
        line_with(FAILURES)
    );
    assert!(
        line_with(BACKOFF).trim_end().ends_with(" 35"),
        "{}",
        line_with(BACKOFF)
    );
}

#[test]
fn spec_case_2_json_report_has_numeric_expected_and_actual() {
    let out = rollout_sim(&["scenario", "scenarios/c02.yaml", "--format", "json"]);
    assert_exit(&out, 0, "scenario scenarios/c02.yaml --format json");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", stdout(&out)));
    let scenario = &report["scenarios"][0];
    assert_eq!(
        scenario["passed"],
        serde_json::Value::Bool(true),
        "{report:#}"
    );
    let checks = scenario["checks"].as_array().expect("checks is an array");
    for (metric, value) in [(FAILURES, 3u64), (BACKOFF, 35)] {
        let name = format!("rewards.r1.{metric}");
        let check = checks
            .iter()
            .find(|c| c["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no check named {name} in {checks:#?}"));
        for field in ["expected", "actual"] {
            let v = &check[field];
            assert!(v.is_u64(), "{name}.{field} is not an unsigned integer: {v}");
            assert_eq!(v.as_u64(), Some(value), "{name}.{field}");
        }
        assert_eq!(check["passed"], serde_json::Value::Bool(true), "{check}");
    }
}

#[test]
fn a_wrong_expectation_fails_with_a_diff_and_a_repro_command() {
    let dir = TempDir::new("wrong-expectation");
    let source = replace_once(
        &c02_source(),
        &format!("{BACKOFF}: 35"),
        &format!("{BACKOFF}: 36"),
    );
    let path = dir.write("c02-expects-36.yaml", &source);
    let out = rollout_sim(&["scenario", path_str(&path)]);
    assert_exit(&out, 1, "a scenario expecting 36 ms of backoff");
    let text = stdout(&out);
    assert!(text.contains("FAIL"), "{text}");
    assert!(text.contains("expected 36, actual 35"), "{text}");
    let repro = text
        .lines()
        .find(|l| l.contains("repro:"))
        .unwrap_or_else(|| panic!("no repro line:\n{text}"));
    for needle in ["scenario", path_str(&path), "--seed 0"] {
        assert!(
            repro.contains(needle),
            "repro line lacks `{needle}`: {repro}"
        );
    }
}

#[test]
fn a_misspelt_key_is_located_and_a_fix_suggested() {
    let dir = TempDir::new("misspelt-key");
    let source = replace_once(&c02_source(), "  poll_interval:", "  pol_interval:");
    // Where the misspelt key is in the file written: 1-based line and column.
    let (line, column) = source
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find("pol_interval").map(|c| (i + 1, c + 1)))
        .expect("the misspelt key is in the file");
    assert_eq!((line, column), (7, 3), "c02.yaml layout changed");
    let path = dir.write("c02-misspelt.yaml", &source);
    let out = rollout_sim(&["scenario", path_str(&path)]);
    assert_exit(&out, 2, "a scenario with `pol_interval`");
    let err = stderr(&out);
    let location = format!("{}:{line}:{column}:", path.display());
    assert!(err.contains(&location), "stderr lacks `{location}`:\n{err}");
    assert!(
        err.contains("did you mean `poll_interval`?"),
        "stderr lacks the suggestion:\n{err}"
    );
}

#[test]
fn a_missing_file_is_an_invalid_invocation() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("no-such-scenario.yaml");
    let out = rollout_sim(&["scenario", path_str(&path)]);
    assert_exit(&out, 2, "a missing file");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}: no such file or folder", path.display())),
        "{err}"
    );
}

#[test]
fn an_unknown_flag_is_an_invalid_invocation() {
    let out = rollout_sim(&["scenario", "--no-such-flag", "scenarios/c02.yaml"]);
    assert_exit(&out, 2, "an unknown flag");
    let err = stderr(&out);
    assert!(
        err.contains("unexpected argument '--no-such-flag'"),
        "{err}"
    );
}

#[test]
fn the_scenarios_folder_passes() {
    let out = rollout_sim(&["scenario", "scenarios/"]);
    assert_exit(&out, 0, "scenario scenarios/");
    let text = stdout(&out);
    let n = common::scenario_files().len();
    let summary = format!("{n} scenarios run: {n} passed, 0 failed");
    assert!(text.contains(&summary), "stdout lacks `{summary}`:\n{text}");
    assert!(!text.contains("FAIL"), "{text}");
}

/// A single scenario lists 20 passed and 20 failed checks and counts the
/// rest; `--verbose` lists every one; a suite lists only the failed, also
/// 20 at most. The JSON report has every check either way.
#[test]
fn long_check_lists_are_capped_unless_verbose() {
    let dir = TempDir::new("capped");
    let file = dir.write(
        "many.yaml",
        "name: many\nrollouts:\n  - generate: { count: 25, every: 1ms, run: { duration: 1ms } }\n  - id: x\n    run: { duration: 1ms }\nexpect:\n  rollouts:\n    x: failed\n    \"*\": succeeded\n",
    );
    let path = path_str(&file);
    let count = |text: &str, mark: &str| {
        text.lines()
            .filter(|l| l.trim_start().starts_with(mark))
            .count()
    };

    let out = rollout_sim(&["scenario", path]);
    assert_exit(&out, 1, "one failed check");
    let text = stdout(&out);
    // 20 rollout checks, then the count, then the invariants line.
    assert_eq!(count(&text, "✓ rollouts."), 20, "{text}");
    assert!(text.contains("✓ ... and 5 more passed"), "{text}");
    assert_eq!(count(&text, "✗ rollouts.x.status"), 1, "{text}");
    assert!(!text.contains("more failed"), "{text}");

    let out = rollout_sim(&["scenario", path, "--verbose"]);
    let text = stdout(&out);
    assert_eq!(count(&text, "✓ rollouts."), 25, "{text}");
    assert!(!text.contains("more passed"), "{text}");

    let json = rollout_sim(&["scenario", path, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON report");
    assert_eq!(
        report["scenarios"][0]["checks"].as_array().map(Vec::len),
        Some(26)
    );

    let failing = dir.write(
        "all-fail.yaml",
        "name: all-fail\nrollouts:\n  - generate: { count: 25, every: 1ms, run: { duration: 1ms } }\nexpect:\n  rollouts:\n    \"*\": failed\n",
    );
    let out = rollout_sim(&["scenario", path_str(&failing), "scenarios/c02.yaml"]);
    assert_exit(&out, 1, "a failing suite");
    let text = stdout(&out);
    assert_eq!(count(&text, "✗ rollouts."), 20, "{text}");
    assert!(text.contains("✗ ... and 5 more failed"), "{text}");
    assert_eq!(count(&text, "✓ rollouts."), 0, "{text}");
}
