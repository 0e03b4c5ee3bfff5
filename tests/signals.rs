//! Ctrl-C (SIGINT) and SIGTERM in the middle of a long run: the command
//! exits 130 and leaves no temporary file, no SQLite journal, and every
//! existing output exactly as it was (DESIGN §5, §6).
//!
//! Every output is opened, as a temporary file beside it, before the run
//! starts, so each test waits for those files to appear, lets the run get
//! going, then sends the signal.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// Runs for minutes in a debug build; the tests stop it within seconds.
const LONG: &str = "name: long
workers: 1
runner:
  poll_interval: 1ms
rollouts:
  - generate: { count: 200000, every: 1ms, run: { duration: 1ms, output: \"ok\" } }
stop:
  within: 7d
";

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("rollout-sim-signals-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Temporary files and SQLite journals in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.contains(".tmp")
                || n.ends_with("-journal")
                || n.ends_with("-wal")
                || n.ends_with("-shm")
        })
        .collect();
    names.sort();
    names
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(MANIFEST)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs")
}

/// Waits for the outputs' temporary files, sends `signal`, and returns the
/// exit code.
fn interrupt(mut child: Child, dir: &Path, temporaries: usize, signal: i32) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while leftovers(dir).len() < temporaries && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        leftovers(dir).len(),
        temporaries,
        "the outputs are opened before the run: {:?}",
        leftovers(dir)
    );
    // Into the run proper.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before the signal"
    );
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid, which we have not waited for.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no exit within 60 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn rows(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    conn.query_row("SELECT count(*) FROM spans", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn sigint_during_a_suite_with_every_output_leaves_nothing() {
    let dir = scratch("sigint");
    let long = dir.join("long.yaml");
    std::fs::write(&long, LONG).unwrap();
    let junit = dir.join("report.xml");
    std::fs::write(&junit, "old").unwrap();
    let child = spawn(&[
        "scenario",
        s(&long),
        "--junit",
        s(&junit),
        "--spans",
        s(&dir.join("spans.db")),
        "--trace",
        s(&dir.join("trace.jsonl")),
        "--timeline",
        s(&dir.join("timeline.svg")),
    ]);
    assert_eq!(interrupt(child, &dir, 4, libc::SIGINT), Some(130));
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["long.yaml", "report.xml"]);
    assert_eq!(std::fs::read_to_string(&junit).unwrap(), "old");
}

#[test]
fn sigterm_during_a_sweep_with_a_report_leaves_nothing() {
    let dir = scratch("sigterm");
    let report = dir.join("sweep.html");
    let c02 = Path::new(MANIFEST).join("scenarios/c02.yaml");
    let child = spawn(&[
        "explore",
        s(&c02),
        "--seeds",
        "0..1000000",
        "--report",
        s(&report),
    ]);
    assert_eq!(interrupt(child, &dir, 1, libc::SIGTERM), Some(130));
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    assert!(!report.exists());
}

#[test]
fn sigint_while_appending_leaves_the_database_as_it_was() {
    let dir = scratch("append");
    let db = dir.join("runs.db");
    let made = Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args(["scenario", "scenarios/c02.yaml", "--spans-append", s(&db)])
        .current_dir(MANIFEST)
        .output()
        .unwrap();
    assert_eq!(made.status.code(), Some(0));
    assert_eq!(rows(&db), 5);
    let long = dir.join("long.yaml");
    std::fs::write(&long, LONG).unwrap();
    let child = spawn(&["scenario", s(&long), "--spans-append", s(&db)]);
    assert_eq!(interrupt(child, &dir, 1, libc::SIGINT), Some(130));
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    assert_eq!(rows(&db), 5);
}
