//! Hostile inputs, each refused (or run) within a time and memory bound:
//! paths that are not regular files, folders that loop, the same file
//! twice, and files built to make a loader pass quadratic or huge.
//!
//! Each case runs the command line in a child process with a deadline and
//! a cap on its address space, so that a regression fails the test (the
//! child is killed) instead of hanging `cargo test` or exhausting the
//! machine. The bounds are wide (a debug build on a loaded 2-core CI box);
//! the measured figures, on a release build, are in the README's "Limits".

#![cfg(unix)]

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The address space a child may map: far above what any case needs
/// after the fixes, far below what they took before.
const ADDRESS_SPACE: u64 = 4 << 30;

/// What a child run did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    wall: Duration,
    /// Peak resident memory, in KiB (`ru_maxrss`).
    peak_kib: i64,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "exit {:?} after {:?}, peak {} MiB\n--- stderr (first 2000 bytes) ---\n{}\n--- stdout (first 2000 bytes) ---\n{}",
            self.code,
            self.wall,
            self.peak_kib >> 10,
            self.stderr.chars().take(2000).collect::<String>(),
            self.stdout.chars().take(2000).collect::<String>(),
        )
    }
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rollout-sim-input-bounds-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch folder");
    dir
}

/// Runs `rollout-sim ARGS` in `dir`, killing it at `deadline`.
fn run(dir: &Path, args: &[OsString], deadline: Duration) -> Run {
    let out_path = dir.join(".stdout");
    let err_path = dir.join(".stderr");
    let stdout = std::fs::File::create(&out_path).expect("stdout file");
    let stderr = std::fs::File::create(&err_path).expect("stderr file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollout-sim"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the
    // parent.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE as libc::rlim_t,
                rlim_max: ADDRESS_SPACE as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    // Reaped below by wait4, which std's `wait` does not offer: it gives
    // the child's own peak memory.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("the binary starts");
    let pid = child.id() as libc::pid_t;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `pid` is our own child, not yet reaped.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped == pid {
            break (Some(status), usage);
        }
        if started.elapsed() > deadline {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let mut status = 0;
            // SAFETY: as above, reaping it.
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            break (None, usage);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = started.elapsed();
    let code = status.and_then(|s| libc::WIFEXITED(s).then(|| libc::WEXITSTATUS(s)));
    let run = Run {
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        wall,
        peak_kib: usage.ru_maxrss,
    };
    assert!(
        status.is_some(),
        "still running after {deadline:?}, killed: {}",
        run.describe()
    );
    run
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

/// Writes a scenario into `dir`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create its folder");
    }
    std::fs::write(&path, text).expect("write the scenario");
    path
}

const VALID: &str = "name: valid\nrollouts:\n  - id: r1\n    run: { duration: 5ms }\n";

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in the path");
    // SAFETY: a valid NUL-terminated path.
    let made = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(made, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

#[test]
fn a_fifo_is_refused_at_once_given_or_found_in_a_folder() {
    let dir = scratch("fifo");
    mkfifo(&dir.join("pipe.yaml"));
    let run1 = run(
        &dir,
        &args(&["scenario", "pipe.yaml"]),
        Duration::from_secs(20),
    );
    assert_eq!(run1.code, Some(2), "{}", run1.describe());
    assert_eq!(
        run1.stderr.lines().next(),
        Some(
            "pipe.yaml: cannot read the file: it is a FIFO (named pipe), not a regular file; scenarios are read from regular files only: save it to a file first"
        ),
        "{}",
        run1.describe()
    );
    // Found by a walk, beside a valid file: the valid one still runs.
    let suite = dir.join("suite");
    write(&suite, "a.yaml", VALID);
    mkfifo(&suite.join("b.yaml"));
    let run2 = run(&dir, &args(&["scenario", "suite"]), Duration::from_secs(20));
    assert_eq!(run2.code, Some(2), "{}", run2.describe());
    assert!(
        run2.stderr
            .contains("suite/b.yaml: cannot read the file: it is a FIFO"),
        "{}",
        run2.describe()
    );
    assert!(
        run2.stdout.contains("1 scenario run: 1 passed"),
        "{}",
        run2.describe()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_device_is_refused_without_reading_it() {
    let dir = scratch("device");
    for device in ["/dev/zero", "/dev/urandom"] {
        if !Path::new(device).exists() {
            println!("skipped {device}: not on this system");
            continue;
        }
        let given = run(&dir, &args(&["scenario", device]), Duration::from_secs(20));
        assert_eq!(given.code, Some(2), "{}", given.describe());
        assert!(
            given.stderr.starts_with(&format!(
                "{device}: cannot read the file: it is a character device, not a regular file"
            )),
            "{}",
            given.describe()
        );
        // Reading it to the size limit and beyond would show here.
        assert!(given.peak_kib < 200 << 10, "{}", given.describe());
        // `explain` and `freeze` read their file the same way.
        for command in ["explain", "freeze"] {
            let mut list = args(&[command, device]);
            if command == "freeze" {
                list.extend(args(&["--seed", "1"]));
            }
            let other = run(&dir, &list, Duration::from_secs(20));
            assert_eq!(other.code, Some(2), "{command}: {}", other.describe());
            assert!(
                other.stderr.contains("it is a character device"),
                "{command}: {}",
                other.describe()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_folder_with_symlinks_to_itself_and_its_ancestors_is_walked_once() {
    use std::os::unix::fs::symlink;
    let dir = scratch("loops");
    let tree = dir.join("tree");
    write(&tree, "a/one.yaml", VALID);
    write(&tree, "a/b/two.yaml", &VALID.replace("valid", "valid-two"));
    // Every folder links to itself, to its parent and to the root: walked
    // naively, the tree is infinite (and exponential long before the
    // kernel's path limits end it).
    for folder in ["", "a", "a/b"] {
        let at = tree.join(folder);
        symlink(".", at.join("self")).unwrap();
        symlink("..", at.join("up")).unwrap();
        symlink(&tree, at.join("root")).unwrap();
        symlink(&tree, at.join("root-again")).unwrap();
    }
    // A linked file is followed, and counted once with its target.
    symlink(tree.join("a/one.yaml"), tree.join("a/b/link.yaml")).unwrap();
    let run = run(&dir, &args(&["scenario", "tree"]), Duration::from_secs(30));
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stdout.contains("2 scenarios run: 2 passed"),
        "{}",
        run.describe()
    );
    let found = rollout_sim::scenario::collect_files(std::slice::from_ref(&tree)).expect("walks");
    let found: Vec<String> = found
        .iter()
        .map(|p| p.strip_prefix(&tree).unwrap().display().to_string())
        .collect();
    // Depth first in name order: `a/b/link.yaml` reaches `a/one.yaml`
    // first, and is the path reported.
    assert_eq!(found, ["a/b/link.yaml", "a/b/two.yaml"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_same_file_given_twice_runs_once() {
    use std::os::unix::fs::symlink;
    let dir = scratch("twice");
    write(&dir, "c.yaml", VALID);
    std::fs::hard_link(dir.join("c.yaml"), dir.join("hard.yaml")).unwrap();
    symlink(dir.join("c.yaml"), dir.join("soft.yaml")).unwrap();
    let run = run(
        &dir,
        &args(&[
            "scenario",
            "c.yaml",
            "./c.yaml",
            "hard.yaml",
            "soft.yaml",
            ".",
        ]),
        Duration::from_secs(30),
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stdout.contains("1 scenario run: 1 passed"),
        "{}",
        run.describe()
    );
    assert!(run.stderr.is_empty(), "{}", run.describe());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_mapping_of_200000_keys_is_checked_for_duplicates_in_linear_time() {
    let dir = scratch("keys");
    let mut text = String::from("name: keys\nrollouts:\n  - id: r1\n    run:\n      rewards:\n");
    for i in 0..200_000 {
        text.push_str(&format!("        k{i}: 1\n"));
    }
    text.push_str("        k0: 2\n");
    write(&dir, "keys.yaml", &text);
    let run = run(
        &dir,
        &args(&["scenario", "keys.yaml"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert_eq!(
        run.stderr.lines().next(),
        Some(
            "keys.yaml:200006:9: rollouts[0].run.rewards: duplicate key `k0`; `k0` may appear only once here"
        ),
        "{}",
        run.describe()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn problems_past_the_cap_are_counted_not_explained() {
    let dir = scratch("unknown");
    // 20,000 unknown rollouts among 10,000 known ones: each "did you mean"
    // compares with every known id.
    let mut text = String::from(
        "name: unknown\nrollouts:\n  - generate: { count: 10000 }\nexpect:\n  rollouts:\n",
    );
    for i in 0..20_000 {
        text.push_str(&format!("    unknown-rollout-{i}: succeeded\n"));
    }
    write(&dir, "unknown.yaml", &text);
    let run = run(
        &dir,
        &args(&["scenario", "unknown.yaml"]),
        Duration::from_secs(30),
    );
    assert_eq!(run.code, Some(2), "{}", run.describe());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(
            "unknown.yaml:6:5: expect.rollouts.unknown-rollout-0: unknown rollout `unknown-rollout-0`; known rollouts: r-00001, r-00002, r-00003, r-00004, r-00005, r-00006, r-00007, r-00008 and 9992 more"
        ),
        "{}",
        run.describe()
    );
    assert_eq!(
        lines.get(100).copied(),
        Some("unknown.yaml: 19900 more problems not shown (the first 100 are listed)"),
        "{}",
        run.describe()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn suggestions_are_bounded_in_candidates_and_length() {
    let dir = scratch("suggest");
    // 100 typos among 200,000 ids, and ids and keys of a megabyte: "did you
    // mean" compared every pair, in time proportional to both lengths.
    let mut text = String::from(
        "name: suggest\nrollouts:\n  - generate: { count: 200000, prefix: rollout- }\nexpect:\n  rollouts:\n",
    );
    for i in 0..100 {
        text.push_str(&format!("    rolout-{:06}: succeeded\n", i + 1));
    }
    // A plain key holds at most 1024 characters; an explicit one (`? `)
    // any number.
    let long = "x".repeat(1 << 20);
    text.push_str(&format!("    ? {long}\n    : succeeded\n"));
    write(&dir, "suggest.yaml", &text);
    let run1 = run(
        &dir,
        &args(&["scenario", "suggest.yaml"]),
        Duration::from_secs(60),
    );
    assert_eq!(run1.code, Some(2), "{}", run1.describe());
    assert!(
        run1.stderr.starts_with(
            "suggest.yaml:6:5: expect.rollouts.rolout-000001: unknown rollout `rolout-000001`; did you mean `rollout-000001`?"
        ),
        "{}",
        run1.describe()
    );
    // An unknown key of a megabyte, in every section serde checks.
    let text = format!(
        "name: long-key\nrollouts:\n  - id: r1\n    ? {long}\n    : 1\nrunner:\n  ? {long}\n  : 1\n"
    );
    write(&dir, "long-key.yaml", &text);
    let run2 = run(
        &dir,
        &args(&["scenario", "long-key.yaml"]),
        Duration::from_secs(60),
    );
    assert_eq!(run2.code, Some(2), "{}", run2.describe());
    assert!(
        run2.stderr.contains("unknown field `xxxx"),
        "{}",
        run2.describe()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn timed_faults_are_capped_over_every_entry_before_they_are_expanded() {
    let dir = scratch("timed");
    // 80,000 entries, each repeating every 61s for 7 days: 800 million
    // timed faults, 10,000 an entry.
    let mut text = String::from(
        "name: timed\nworkers: 2\nrollouts:\n  - id: r1\nstop:\n  within: 7d\nfaults:\n  at:\n",
    );
    for i in 0..80_000 {
        text.push_str(&format!(
            "    - {{ at: {}ms, every: 61s, crash: worker-1 }}\n",
            i % 1000
        ));
    }
    write(&dir, "timed.yaml", &text);
    let run = run(
        &dir,
        &args(&["scenario", "timed.yaml"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert_eq!(
        run.stderr.lines().next(),
        Some(
            "timed.yaml:19:26: faults.at[10].every: repeating until stop.within gives 9915 events here and 109065 timed faults in all; the limit is 100000, over every `faults.at` entry; repeat less often, shorten `stop.within`, or use fewer entries"
        ),
        "{}",
        run.describe()
    );
    assert!(run.peak_kib < 512 << 10, "{}", run.describe());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generated_rollouts_count_their_scripted_attempts() {
    let dir = scratch("attempts");
    // 10,000 empty attempt overrides copied into each of 100,000 rollouts:
    // a billion attempt records from a 30 KB file.
    let attempts = vec!["{}"; 10_000].join(", ");
    let text = format!(
        "name: attempts\nrollouts:\n  - generate: {{ count: 100000, attempts: [ {attempts} ] }}\n"
    );
    write(&dir, "attempts.yaml", &text);
    let run = run(
        &dir,
        &args(&["scenario", "attempts.yaml"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr
            .contains("rollouts[0].generate: this rollout's input and scripted attempts"),
        "{}",
        run.describe()
    );
    assert!(run.peak_kib < 512 << 10, "{}", run.describe());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rewards_expected_absent_everywhere_are_checked_in_one_pass() {
    let dir = scratch("absent");
    // 100,000 names, each expected absent from 10,000 attempts: checked
    // name by name, a billion lookups.
    let names: Vec<String> = (0..100_000).map(|i| format!("n{i}")).collect();
    let text = format!(
        "name: absent\nrunner: {{ poll_interval: 1ms }}\nrollouts:\n  - generate: {{ count: 10000, run: {{ rewards: {{ score: 1 }} }} }}\nexpect:\n  absent_rewards:\n    \"*\": [ score, {} ]\n",
        names.join(", ")
    );
    write(&dir, "absent.yaml", &text);
    let run = run(
        &dir,
        &args(&["scenario", "absent.yaml", "--format", "json"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    let checks = report["scenarios"][0]["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 100_001);
    assert_eq!(checks[0]["name"], "absent_rewards.*.score");
    assert_eq!(
        checks[0]["actual"]["emitted_on"].as_array().map(Vec::len),
        Some(10_000)
    );
    assert!(checks[1..].iter().all(|c| c["passed"] == true));
    let _ = std::fs::remove_dir_all(&dir);
}
