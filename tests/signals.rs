//! Ctrl-C (SIGINT) and SIGTERM in the middle of a long run (DESIGN §5, §6),
//! as cargo-nextest cancels: `explore` and `scenario` start nothing new,
//! print the summary of what finished, write every report asked for marked
//! partial and exit 130; a second signal stops at once. Either way no
//! temporary file or SQLite journal is left, and an output is either
//! written whole or left exactly as it was.
//!
//! Every output is opened, as a temporary file beside it, before the run
//! starts, so each test waits for those files to appear, lets the run get
//! going, then sends the signal.

#[path = "junit/xsd.rs"]
mod xsd;

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

/// Spawns the binary with stdout and stderr going to `out` and `err`.
fn spawn_to(args: &[&str], out: &Path, err: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(MANIFEST)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(std::fs::File::create(err).unwrap())
        .spawn()
        .expect("the binary runs")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The test cases of a JUnit document: (name, the message of its
/// `<error type="cancelled">` if it has one).
fn junit_cases(xml: &str) -> Vec<(String, Option<String>)> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|case| {
            let cancelled = case
                .children()
                .find(|c| c.has_tag_name("error") && c.attribute("type") == Some("cancelled"))
                .map(|s| s.attribute("message").unwrap_or_default().to_string());
            (case.attribute("name").unwrap().to_string(), cancelled)
        })
        .collect()
}

/// Checks a JUnit document against `tests/junit/junit.xsd` (the Jenkins
/// junit-10 schema, as `tests/junit.rs` reads it).
fn valid_junit(xml: &str) {
    let path = Path::new(MANIFEST).join("tests/junit/junit.xsd");
    let schema = xsd::Schema::parse(&std::fs::read_to_string(path).unwrap());
    assert_eq!(schema.validate(xml), Vec::<String>::new(), "{xml}");
}

/// The `errors` count of a JUnit document's `<testsuites>`.
fn junit_errors(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.root_element().attribute("errors").unwrap().to_string()
}

/// Waits for the outputs' temporary files, sends `signal`, and returns the
/// exit code.
fn interrupt(child: Child, dir: &Path, temporaries: usize, signal: i32) -> Option<i32> {
    interrupt_twice(child, dir, temporaries, signal, None)
}

/// [`interrupt`], then, when `again` says how long after, a second signal.
fn interrupt_twice(
    mut child: Child,
    dir: &Path,
    temporaries: usize,
    signal: i32,
    again: Option<Duration>,
) -> Option<i32> {
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
    if let Some(after) = again {
        std::thread::sleep(after);
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended after one signal"
        );
        // SAFETY: as above; the child has not been waited for.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }
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

/// The stranded-attempts study with the reference reassignment: about half
/// its seeds fail, a few hundred run a second.
const STRANDED: &str = "scenarios/research/stranded-attempts.yaml";

#[test]
fn sigint_during_a_sweep_writes_every_report_marked_partial() {
    let dir = scratch("sweep-sigint");
    let (json, err) = (dir.join("sweep.json"), dir.join("stderr.txt"));
    let (html, junit) = (dir.join("sweep.html"), dir.join("sweep.xml"));
    let child = spawn_to(
        &[
            "explore",
            STRANDED,
            "--reassignment",
            "reference",
            "--seeds",
            "0..1000000",
            "--jobs",
            "2",
            "--format",
            "json",
            "--report",
            s(&html),
            "--junit",
            s(&junit),
        ],
        &json,
        &err,
    );
    assert_eq!(interrupt(child, &dir, 2, libc::SIGINT), Some(130));
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    let r: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    assert_eq!(r["schema"], "rollout-sim.sweep/2");
    assert_eq!(
        (r["cancelled"].clone(), r["partial"].clone()),
        (true.into(), true.into())
    );
    let s = &r["summary"];
    let (runs, passed, failed) = (
        s["runs"].as_u64().unwrap(),
        s["passed"].as_u64().unwrap(),
        s["failed"].as_u64().unwrap(),
    );
    assert!(runs > 0 && runs < 1_000_000, "{runs} runs");
    assert_eq!(passed + failed, runs);
    // Seeds are taken in order: the runs that finished are the first seeds,
    // and give exactly what a sweep of those seeds alone gives.
    let failing = s["failing"].as_array().unwrap();
    assert!(failing.iter().all(|f| f["seed"].as_u64().unwrap() < runs));
    let seeds = format!("0..{runs}");
    let again = Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args([
            "explore",
            STRANDED,
            "--reassignment",
            "reference",
            "--seeds",
            &seeds,
        ])
        .args(["--jobs", "2", "--format", "json"])
        .current_dir(MANIFEST)
        .output()
        .unwrap();
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["summary"], r["summary"]);
    assert_eq!(again["findings"], r["findings"]);
    assert_eq!(
        read(&err).lines().last().unwrap(),
        format!(
            "cancelled after {runs} runs (passed {passed}, failed {failed}): every report asked for holds them and is marked partial"
        )
    );
    assert!(
        read(&html).contains("shards [1] of 1 (cancelled, partial)"),
        "the HTML report says it is partial"
    );
    // Never green: the seeds not run are an error case.
    valid_junit(&read(&junit));
    assert_eq!(junit_errors(&read(&junit)), "1");
    let cases = junit_cases(&read(&junit));
    let last = cases.last().unwrap();
    assert_eq!(last.0, "cancelled");
    assert_eq!(
        last.1.as_deref(),
        Some(format!("cancelled (SIGINT or SIGTERM) after {runs} runs of seeds 0..1000000: the seeds not run are not judged").as_str())
    );
    // The partial report reads back, and is refused as a whole sweep.
    let o = Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args(["merge", json.to_str().unwrap()])
        .current_dir(MANIFEST)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "error: {}: cancelled: shard 1/1 was cancelled after {runs} runs, before every seed ran: rerun it, or pass --allow-partial\n",
            json.display()
        )
    );
}

#[test]
fn sigterm_during_a_sweep_prints_the_summary_of_what_ran() {
    let dir = scratch("sweep-sigterm");
    let (out, err) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let report = dir.join("sweep.html");
    let c02 = Path::new(MANIFEST).join("scenarios/c02.yaml");
    let child = spawn_to(
        &[
            "explore",
            s(&c02),
            "--seeds",
            "0..100000000",
            "--report",
            s(&report),
        ],
        &out,
        &err,
    );
    assert_eq!(interrupt(child, &dir, 1, libc::SIGTERM), Some(130));
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    let text = read(&out);
    let runs: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("runs "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no runs line: {text}"));
    assert!(runs > 0 && runs < 100_000_000);
    assert!(
        text.contains(&format!("    runs {runs} · passed {runs} · failed 0 · ")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "\n    cancelled after {runs} runs: the report holds the runs that finished (partial)\n"
        )),
        "{text}"
    );
    assert!(
        read(&err).starts_with("SIGTERM: cancelling: "),
        "{}",
        read(&err)
    );
    assert!(read(&report).contains("(cancelled, partial)"));
}

#[test]
fn a_second_signal_stops_at_once_and_writes_nothing() {
    let dir = scratch("twice");
    let long = dir.join("long.yaml");
    std::fs::write(&long, LONG).unwrap();
    let report = dir.join("sweep.html");
    std::fs::write(&report, "old").unwrap();
    // One seed of the long scenario runs for minutes: the first signal
    // waits for it, the second does not.
    let child = spawn(&[
        "explore",
        s(&long),
        "--seeds",
        "0..10",
        "--jobs",
        "1",
        "--report",
        s(&report),
    ]);
    assert_eq!(
        interrupt_twice(
            child,
            &dir,
            1,
            libc::SIGINT,
            Some(Duration::from_millis(500))
        ),
        Some(130)
    );
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    assert_eq!(names(&dir), ["long.yaml", "sweep.html"]);
    assert_eq!(read(&report), "old");
}

#[test]
fn sigint_during_a_suite_reports_what_finished_and_errs_the_rest() {
    let dir = scratch("suite");
    let suite = dir.join("suite");
    std::fs::create_dir_all(&suite).unwrap();
    let c02 = std::fs::read_to_string(Path::new(MANIFEST).join("scenarios/c02.yaml")).unwrap();
    std::fs::write(suite.join("a.yaml"), &c02).unwrap();
    std::fs::write(suite.join("b-long.yaml"), LONG).unwrap();
    let renamed = c02.replace("name: c02-deterministic-backoff-totals", "name: c-after");
    assert_ne!(renamed, c02);
    std::fs::write(suite.join("c.yaml"), renamed).unwrap();
    let (json, err) = (dir.join("suite.json"), dir.join("stderr.txt"));
    let junit = dir.join("report.xml");
    std::fs::write(&junit, "old").unwrap();
    let trace = dir.join("trace.jsonl");
    let child = spawn_to(
        &[
            "scenario",
            s(&suite),
            "--jobs",
            "1",
            "--format",
            "json",
            "--junit",
            s(&junit),
            "--trace",
            s(&trace),
        ],
        &json,
        &err,
    );
    assert_eq!(interrupt(child, &dir, 2, libc::SIGINT), Some(130));
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    let r: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    let summary = &r["summary"];
    assert_eq!(
        [
            &summary["total"],
            &summary["passed"],
            &summary["failed"],
            &summary["cancelled"]
        ],
        [1, 1, 0, 2].map(serde_json::Value::from).each_ref()
    );
    let scenarios = r["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 1);
    assert_eq!(scenarios[0]["name"], "c02-deterministic-backoff-totals");
    // The one that finished is the run a second call gives: same trace.
    let alone = Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args(["scenario", "scenarios/c02.yaml", "--format", "json"])
        .current_dir(MANIFEST)
        .output()
        .unwrap();
    let alone: serde_json::Value = serde_json::from_slice(&alone.stdout).unwrap();
    assert_eq!(
        scenarios[0]["trace_hash"],
        alone["scenarios"][0]["trace_hash"]
    );
    let b = suite.join("b-long.yaml").display().to_string();
    let c = suite.join("c.yaml").display().to_string();
    valid_junit(&read(&junit));
    assert_eq!(
        junit_errors(&read(&junit)),
        "2",
        "the files not finished are errors"
    );
    assert_eq!(
        junit_cases(&read(&junit)),
        [
            (
                "c02-deterministic-backoff-totals [seed 0]".to_string(),
                None
            ),
            (
                b,
                Some("cancelled (SIGINT or SIGTERM) before it finished".to_string())
            ),
            (
                c,
                Some("cancelled (SIGINT or SIGTERM) before it started".to_string())
            ),
        ]
    );
    // The trace holds the scenario that finished, whole.
    assert!(!read(&trace).is_empty());
    assert!(
        read(&trace)
            .lines()
            .all(|l| l.starts_with("{\"scenario\":\"c02-deterministic-backoff-totals\","))
    );
    assert_eq!(
        read(&err).lines().last().unwrap(),
        "cancelled: 1 of 3 files finished; every report asked for holds them and is marked partial"
    );
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
