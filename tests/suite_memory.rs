//! "A suite holds only what its report needs of finished runs" (issue 11,
//! class 4): a suite of four files, one job, peaks at about what one of
//! them does alone, not four plans and four reports. Each file is loaded
//! when its job picks it up and its plan dropped after its run; a finished
//! run is reduced to its JSON entry, its JUnit case and its summary counts.
//!
//! Peak memory is the child's own `ru_maxrss` (wait4), so other tests
//! running at the same time do not count.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// 30,000 rollouts: a plan of about 10 MB and a run of about 20 MB, large
/// against the process's own few megabytes, small enough for a debug build.
fn scenario(name: &str) -> String {
    format!(
        "name: {name}
workers: 1
runner:
  poll_interval: 1ms
rollouts:
  - generate: {{ count: 30000, every: 1ms, run: {{ duration: 1ms, output: \"ok\" }} }}
stop:
  within: 7d
"
    )
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rollout-sim-suite-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("suite")).unwrap();
    dir
}

/// Runs the binary; its exit code and peak resident memory in KiB.
#[expect(
    clippy::zombie_processes,
    reason = "wait4 reaps the child, with its resource usage"
)]
fn peak(args: &[&str]) -> (i32, i64) {
    let child = Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child, which
    // nothing else waits for (the `Child` is never waited on).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status));
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_suite_of_four_peaks_at_about_one_run() {
    let dir = scratch();
    let suite = dir.join("suite");
    for i in 1..=4 {
        std::fs::write(suite.join(format!("g{i}.yaml")), scenario(&format!("g{i}"))).unwrap();
    }
    let junit = dir.join("report.xml");
    let outputs = ["--format", "json", "--junit", s(&junit), "--jobs", "1"];
    let one = suite.join("g1.yaml");
    let mut single = vec!["scenario", s(&one)];
    single.extend(outputs);
    let (code, alone) = peak(&single);
    assert_eq!(code, 0);
    let mut all = vec!["scenario", s(&suite)];
    all.extend(outputs);
    let (code, four) = peak(&all);
    assert_eq!(code, 0);
    // Holding every plan and report took 1.7 to 2 times one file's peak.
    assert!(
        (four as f64) < 1.35 * alone as f64,
        "a suite of four peaked at {four} KiB, one file alone at {alone} KiB"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
