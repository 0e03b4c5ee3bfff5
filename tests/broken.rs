//! Every file under `tests/broken/` is an invalid scenario, one per class of
//! mistake. Each must exit 2 and print exactly its `.expected` file on
//! stderr: one `file:line:column: message; help` line per problem.
//!
//! After a deliberate change of wording, rewrite the snapshots with
//! `ROLLOUT_SIM_BLESS=1 cargo test --test broken` and review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn broken_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken")
}

fn broken_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(broken_dir())
        .expect("tests/broken exists")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// `file:line:column: ` at the start of a line, with numbers.
fn is_located(line: &str, file: &str) -> bool {
    let Some(rest) = line.strip_prefix(file).and_then(|r| r.strip_prefix(':')) else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let number =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    number(parts.next()) && number(parts.next()) && parts.next().is_some_and(|r| r.starts_with(' '))
}

#[test]
fn every_broken_scenario_exits_2_with_its_exact_located_message() {
    let bless = std::env::var_os("ROLLOUT_SIM_BLESS").is_some();
    let files = broken_files();
    assert!(
        files.len() >= 25,
        "tests/broken/ should hold at least 25 files, one per class of mistake; it has {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 name");
        let relative = format!("tests/broken/{name}.yaml");
        let out = Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
            .args(["scenario", &relative])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let expected_path = file.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &stderr).expect("write the snapshot");
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| format!("<missing {}>", expected_path.display()));
        if out.status.code() != Some(2) {
            failures.push(format!(
                "{relative}: exit {:?}, expected 2\n--- stderr ---\n{stderr}",
                out.status.code()
            ));
            continue;
        }
        if stderr != expected {
            let first = expected
                .lines()
                .zip(stderr.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| expected.lines().count().min(stderr.lines().count()));
            failures.push(format!(
                "{relative}: stderr differs from {name}.expected (first at line {})\n--- expected ---\n{expected}--- actual ---\n{stderr}",
                first + 1
            ));
            continue;
        }
        if let Some(line) = stderr
            .lines()
            .find(|l| !is_located(l, &relative) && !l.contains("more problems not shown"))
        {
            failures.push(format!(
                "{relative}: a problem without line and column: {line}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} broken scenarios misbehave (rerun with ROLLOUT_SIM_BLESS=1 to accept new wording):\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_expected_file_has_its_scenario() {
    for entry in std::fs::read_dir(broken_dir()).expect("tests/broken exists") {
        let path = entry.expect("a readable entry").path();
        if path.extension().is_some_and(|e| e == "expected") {
            assert!(
                path.with_extension("yaml").exists(),
                "{} has no scenario beside it",
                path.display()
            );
        }
    }
}
