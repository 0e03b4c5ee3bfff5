//! Output safety (DESIGN §6), class by class, for every command that writes:
//! devices written through and never replaced, symlinks followed, an output
//! that is an input or another output refused before anything runs, every
//! destination checked before anything runs, other kinds of file refused, a
//! full disk, a full stdout and a broken pipe handled without a panic, SQLite
//! spans that cannot be corrupted, and control characters escaped in every
//! rendering.
//!
//! Device nodes are made privately with `mknod` in a scratch folder (as
//! root), so no test can replace the system's `/dev/null`; where that cannot
//! be done the part is skipped with a printed reason. The full disk is a
//! 64 KiB tmpfs mounted in the scratch folder, likewise.

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rollout-sim"));
    cmd.env("NO_COLOR", "1").current_dir(MANIFEST);
    cmd
}

/// Runs the binary, failing the test (instead of hanging it) after 120 s.
fn run_in(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command did not finish within 120 s: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

fn run(args: &[&str]) -> Output {
    run_in(bin().args(args))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("rollout-sim-safety-{}-{name}", std::process::id()));
    let _ = Command::new("umount").arg(dir.join("fs")).output();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn c02() -> PathBuf {
    Path::new(MANIFEST).join("scenarios/c02.yaml")
}

/// Files a write may leave behind: temporary files and SQLite journals.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.contains(".tmp")
                || n.ends_with("-journal")
                || n.ends_with("-wal")
                || n.ends_with("-shm")
        })
        .collect()
}

/// A private device node (`mknod`), or `None` with the reason printed.
fn device(dir: &Path, name: &str, kind: &str, major: u32, minor: u32) -> Option<PathBuf> {
    let path = dir.join(name);
    let made = Command::new("mknod")
        .args([
            "-m",
            "666",
            s(&path),
            kind,
            &major.to_string(),
            &minor.to_string(),
        ])
        .output();
    match made {
        Ok(o) if o.status.success() => Some(path),
        Ok(o) => {
            eprintln!(
                "skipped: cannot make a device node here (needs root): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("skipped: no mknod: {e}");
            None
        }
    }
}

fn is_char_device(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

/// A tmpfs of `size` mounted at `dir/fs`, or `None` with the reason printed.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, options: &str) -> Option<Self> {
        let at = dir.join("fs");
        std::fs::create_dir_all(&at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs", s(&at)])
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Self(at)),
            Ok(o) => {
                eprintln!(
                    "skipped: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipped: no mount: {e}");
                None
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

/// A sweep report of c02 over three seeds, for `merge`.
fn shard(dir: &Path) -> PathBuf {
    let out = run(&["explore", s(&c02()), "--seeds", "0..3", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = dir.join("shard.json");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// Every command line that writes a file, with `{}` where the file goes.
fn writers(shard: &Path) -> Vec<Vec<String>> {
    let c02 = c02();
    let c02 = s(&c02);
    [
        vec!["scenario", c02, "--junit", "{}"],
        vec!["scenario", c02, "--trace", "{}"],
        vec!["scenario", c02, "--timeline", "{}"],
        vec!["explore", c02, "--seeds", "0..3", "--report", "{}"],
        vec!["merge", s(shard), "--report", "{}"],
        vec!["freeze", c02, "--seed", "1", "-o", "{}"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect()
}

fn with(args: &[String], path: &Path) -> Vec<String> {
    args.iter()
        .map(|a| {
            if a == "{}" {
                s(path).to_string()
            } else {
                a.clone()
            }
        })
        .collect()
}

fn run_owned(args: &[String]) -> Output {
    run_in(bin().args(args))
}

#[test]
fn devices_are_written_through_and_stay_devices() {
    let dir = scratch("devices");
    let (Some(null), Some(full)) = (
        device(&dir, "null", "c", 1, 3),
        device(&dir, "full", "c", 1, 7),
    ) else {
        return;
    };
    let shard = shard(&dir);
    // A symlink to a device is followed to it: `--spans` needs the extension.
    let spans_link = dir.join("spans.jsonl");
    std::os::unix::fs::symlink(&null, &spans_link).unwrap();
    let mut lines = writers(&shard);
    lines.push(
        ["scenario", s(&c02()), "--spans", s(&spans_link)]
            .map(String::from)
            .to_vec(),
    );
    for args in &lines {
        let target = if args.contains(&"--spans".to_string()) {
            spans_link.clone()
        } else {
            null.clone()
        };
        let out = run_owned(&with(args, &target));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(is_char_device(&null), "{args:?} replaced the device");
    }
    for args in writers(&shard) {
        let out = run_owned(&with(&args, &full));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "error: cannot write {}: No space left on device (os error 28)\n",
                full.display()
            ),
            "{args:?}"
        );
        assert!(is_char_device(&full), "{args:?} replaced the device");
    }
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn this_process_s_own_stdout_is_written_through() {
    // What `/dev/stdout` is: a link to the process's descriptor 1.
    let dir = scratch("own-stdout");
    let link = dir.join("stdout");
    std::os::unix::fs::symlink("/proc/self/fd/1", &link).unwrap();
    let out = run(&["scenario", s(&c02()), "--junit", s(&link)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("<testsuites name=\"rollout-sim\""), "{text}");
    assert!(text.contains("1 scenario run: 1 passed"), "{text}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
}

#[test]
fn a_symlink_is_followed_and_stays_a_link() {
    let dir = scratch("symlink");
    let real = dir.join("real");
    std::fs::create_dir_all(&real).unwrap();
    let target = real.join("report.xml");
    std::fs::write(&target, "old").unwrap();
    let link = dir.join("report.xml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // And a link to a file that does not exist yet: created where it points.
    let dangling = dir.join("trace.jsonl");
    std::os::unix::fs::symlink("real/new-trace.jsonl", &dangling).unwrap();
    let out = run(&[
        "scenario",
        s(&c02()),
        "--junit",
        s(&link),
        "--trace",
        s(&dangling),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for l in [&link, &dangling] {
        assert!(
            std::fs::symlink_metadata(l)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{} is no longer a link",
            l.display()
        );
    }
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("<testsuites")
    );
    assert!(
        std::fs::read_to_string(real.join("new-trace.jsonl"))
            .unwrap()
            .contains("\"event\"")
    );
    assert!(leftovers(&dir).is_empty() && leftovers(&real).is_empty());
}

#[test]
fn an_output_that_is_an_input_is_refused_before_anything_runs() {
    let dir = scratch("input");
    let suite = dir.join("suite");
    std::fs::create_dir_all(suite.join("sub")).unwrap();
    let input = suite.join("sub/c02.yaml");
    let source = std::fs::read_to_string(c02()).unwrap();
    std::fs::write(&input, &source).unwrap();
    let link = dir.join("link.yaml");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let shard = shard(&dir);
    let shard_bytes = std::fs::read(&shard).unwrap();
    let spelt = suite.join("sub/../sub/./c02.yaml");
    let cases: Vec<(Vec<&str>, &Path, &Path)> = vec![
        // (command, output, the input as the message names it)
        (
            vec!["scenario", s(&input), "--junit", s(&input)],
            &input,
            &input,
        ),
        (
            vec!["scenario", s(&input), "--trace", s(&spelt)],
            &spelt,
            &input,
        ),
        (
            vec!["scenario", s(&input), "--timeline", s(&link)],
            &link,
            &input,
        ),
        (
            vec!["scenario", s(&suite), "--junit", s(&input)],
            &input,
            &input,
        ),
        (
            vec!["explore", s(&link), "--report", s(&input)],
            &input,
            &link,
        ),
        (
            vec!["freeze", s(&input), "--seed", "1", "-o", s(&link)],
            &link,
            &input,
        ),
        (
            vec!["merge", s(&shard), "--report", s(&shard)],
            &shard,
            &shard,
        ),
    ];
    for (args, output, named) in cases {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "error: cannot write {}: it is an input of this command ({}); an output never \
                 replaces an input\n",
                output.display(),
                named.display()
            ),
            "{args:?}"
        );
        assert_eq!(stdout(&out), "", "{args:?}: something ran");
        assert_eq!(std::fs::read_to_string(&input).unwrap(), source);
        assert_eq!(std::fs::read(&shard).unwrap(), shard_bytes);
    }
    assert!(leftovers(&suite.join("sub")).is_empty());
}

#[test]
fn two_outputs_of_one_file_are_refused() {
    let dir = scratch("twice");
    let x = dir.join("x");
    std::fs::write(&x, "keep").unwrap();
    let link = dir.join("x-link.jsonl");
    std::os::unix::fs::symlink(&x, &link).unwrap();
    let new = dir.join("new.xml");
    let new_spelt = dir.join(".").join("new.xml");
    let cases: Vec<(Vec<&str>, &Path, &str, &str)> = vec![
        (
            vec!["--junit", s(&x), "--trace", s(&x)],
            &x,
            "--junit",
            "--trace",
        ),
        (
            vec!["--trace", s(&x), "--spans", s(&link)],
            &x,
            "--spans",
            "--trace",
        ),
        (
            vec!["--junit", s(&new), "--timeline", s(&new_spelt)],
            &new_spelt,
            "--junit",
            "--timeline",
        ),
    ];
    let c02 = c02();
    for (flags, second, a, b) in cases {
        let mut args = vec!["scenario", s(&c02)];
        args.extend(flags);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&out),
            format!(
                "error: cannot write {}: {a} and {b} both write it; give each output its own file\n",
                second.display()
            )
        );
        assert_eq!(stdout(&out), "");
    }
    assert_eq!(std::fs::read_to_string(&x).unwrap(), "keep");
    assert!(!new.exists());
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn folders_sockets_block_devices_and_readerless_fifos_are_refused() {
    let dir = scratch("kinds");
    let fifo = dir.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let socket = dir.join("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let mut cases = vec![
        (dir.clone(), "it is a folder".to_string()),
        (
            fifo.clone(),
            "it is a FIFO with no reader; writing to it would wait forever".to_string(),
        ),
        (
            socket.clone(),
            "it is a socket; an output replaces only a regular file, and writes through only a \
             character device or a pipe"
                .to_string(),
        ),
    ];
    if let Some(block) = device(&dir, "block", "b", 7, 200) {
        cases.push((
            block,
            "it is a block device; an output replaces only a regular file, and writes through \
             only a character device or a pipe"
                .to_string(),
        ));
    }
    for (path, message) in &cases {
        for args in writers(&shard(&dir)) {
            let out = run_owned(&with(&args, path));
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert_eq!(
                stderr(&out),
                format!("error: cannot write {}: {message}\n", path.display()),
                "{args:?}"
            );
        }
    }
    let kind = |p: &Path| std::fs::symlink_metadata(p).unwrap().file_type();
    assert!(kind(&fifo).is_fifo() && kind(&socket).is_socket());

    // A FIFO with a reader is a pipe like any other: written through.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    // Let the reader open its end first.
    std::thread::sleep(Duration::from_millis(300));
    let out = run(&["scenario", s(&c02()), "--junit", s(&fifo)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(reader.join().unwrap().contains("<testsuites"));
    assert!(kind(&fifo).is_fifo());
}

#[test]
fn every_destination_is_checked_before_anything_runs() {
    let dir = scratch("checked");
    let missing = dir.join("no/such/folder");
    let mut unwritable = vec![(
        missing.join("report.html"),
        format!("the folder {} does not exist", missing.display()),
    )];
    // As root a read-only mount is the unwritable place; otherwise a folder
    // without write permission.
    let mount = Mount::tmpfs(&dir, "size=64k,ro");
    if let Some(m) = &mount {
        unwritable.push((
            m.0.join("report.html"),
            "Read-only file system (os error 30)".into(),
        ));
    }
    // Far more seeds than the test could wait for: the sweep must not start.
    for (path, message) in &unwritable {
        for args in [
            vec![
                "explore",
                s(&c02()),
                "--seeds",
                "0..1000000",
                "--report",
                s(path),
            ],
            vec!["scenario", s(&c02()), "--junit", s(path)],
        ] {
            let started = Instant::now();
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert_eq!(
                stderr(&out),
                format!("error: cannot write {}: {message}\n", path.display())
            );
            assert_eq!(stdout(&out), "", "{args:?}: something ran first");
            assert!(started.elapsed() < Duration::from_secs(60));
        }
    }
    if let Some(m) = &mount {
        let out_dir = m.0.join("shrunk");
        let c02 = c02();
        let args = [
            "explore",
            s(&c02),
            "--seeds",
            "0..1000000",
            "--shrink",
            "--out",
            s(&out_dir),
        ];
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "error: cannot write {}: it cannot be created in {}: Read-only file system (os error 30)\n",
                out_dir.display(),
                m.0.display()
            )
        );
        assert_eq!(stdout(&out), "");
    }
}

fn full_stdout(dir: &Path) -> Option<std::fs::File> {
    let full = device(dir, "full", "c", 1, 7)
        .or_else(|| is_char_device(Path::new("/dev/full")).then(|| PathBuf::from("/dev/full")))?;
    std::fs::OpenOptions::new().write(true).open(full).ok()
}

#[test]
fn a_full_stdout_is_exit_2_never_a_panic() {
    let dir = scratch("full-stdout");
    let shard = shard(&dir);
    let c02 = c02();
    let lines: [&[&str]; 7] = [
        &["scenario", s(&c02)],
        &["scenario", s(&c02), "--format", "json"],
        &["explore", s(&c02), "--seeds", "0..3"],
        &["merge", s(&shard)],
        &["freeze", s(&c02), "--seed", "1"],
        &["explain", s(&c02)],
        &["schema"],
    ];
    for args in lines {
        let Some(full) = full_stdout(&dir) else {
            eprintln!("skipped: no /dev/full and no way to make one");
            return;
        };
        let mut child = bin()
            .args(args)
            .stdout(full)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err, "error: cannot write stdout: No space left on device (os error 28)\n",
            "{args:?}"
        );
        let _ = std::fs::remove_file(dir.join("full"));
    }
}

/// A scenario with a few thousand rollouts: its trace is megabytes.
const BIG: &str = "name: big
workers: 2
runner:
  poll_interval: 1ms
rollouts:
  - generate: { count: 2000, every: 1ms, run: { duration: 1ms, output: \"ok\" } }
";

fn count_rows(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "{}", db.display());
    conn.query_row("SELECT count(*) FROM spans", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_full_disk_is_exit_2_and_leaves_the_old_file() {
    let dir = scratch("full-disk");
    let big = dir.join("big.yaml");
    std::fs::write(&big, BIG).unwrap();
    let Some(fs) = Mount::tmpfs(&dir, "size=64k") else {
        return;
    };
    let trace = fs.0.join("trace.jsonl");
    std::fs::write(&trace, "old").unwrap();
    let out = run(&["scenario", s(&big), "--trace", s(&trace)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: cannot write {}: No space left on device (os error 28)\n",
            trace.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&trace).unwrap(), "old");

    // A new database, and one appended to: neither is left half-written,
    // nor with a journal beside it.
    let small = fs.0.join("small.db");
    let out = run(&["scenario", s(&c02()), "--spans-append", s(&small)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = count_rows(&small);
    for flag in ["--spans", "--spans-append"] {
        for db in [fs.0.join("new.db"), small.clone()] {
            let out = run(&["scenario", s(&big), flag, s(&db)]);
            assert_eq!(out.status.code(), Some(2), "{flag} {}", stderr(&out));
            assert_eq!(
                stderr(&out),
                format!(
                    "error: cannot write {}: database or disk is full\n",
                    db.display()
                )
            );
        }
    }
    assert!(!fs.0.join("new.db").exists());
    assert_eq!(count_rows(&small), before);
    assert!(leftovers(&fs.0).is_empty(), "{:?}", leftovers(&fs.0));
}

#[test]
fn a_broken_pipe_is_quiet_and_the_files_are_still_written() {
    let dir = scratch("pipe");
    let junit = dir.join("report.xml");
    let c02 = c02();
    let lines: [&[&str]; 5] = [
        &["scenario", s(&c02), "--junit", s(&junit)],
        &["scenario", s(&c02), "--format", "json"],
        &["freeze", s(&c02), "--seed", "1"],
        &["explain", s(&c02)],
        &["schema"],
    ];
    for args in lines {
        let mut child = bin()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader leaves before the first byte, as `| head -0` would.
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?}");
    }
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuites")
    );
}

/// What a held or foreign file looks like after a refused write: the same.
/// The bytes are read by `cat`: closing a descriptor of the file in this
/// process would release the locks a holder here has on it (POSIX locks).
fn refused_unchanged(path: &Path, message: &str) {
    let read = || Command::new("cat").arg(path).output().unwrap().stdout;
    let before = read();
    for flag in ["--spans", "--spans-append"] {
        let out = run(&["scenario", s(&c02()), flag, s(path)]);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!("error: cannot write {}: {message}\n", path.display()),
            "{flag}"
        );
        assert_eq!(stdout(&out), "", "{flag}: something ran");
        assert_eq!(read(), before, "{flag} changed it");
    }
}

#[test]
fn a_file_that_is_not_a_spans_database_is_refused_unchanged() {
    let dir = scratch("not-spans");
    let text = dir.join("x.db");
    std::fs::write(&text, "not a database\n").unwrap();
    refused_unchanged(
        &text,
        "it is not an SQLite database, so not a rollout-sim spans database; remove it or choose \
         another path",
    );
    let other = dir.join("other.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE users (id INTEGER); INSERT INTO users VALUES (1);")
        .unwrap();
    drop(conn);
    refused_unchanged(
        &other,
        "it is an SQLite database but not a rollout-sim spans database (application_id 0x0, \
         tables: users); remove it or choose another path",
    );
    let newer = dir.join("newer.db");
    let out = run(&["scenario", s(&c02()), "--spans", s(&newer)]);
    assert_eq!(out.status.code(), Some(0));
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 7")
        .unwrap();
    refused_unchanged(
        &newer,
        "it is a rollout-sim spans database of schema version 7, newer than this tool's 1; use a \
         newer rollout-sim or another path",
    );
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn a_database_another_process_holds_is_refused_and_the_holder_is_unharmed() {
    let dir = scratch("held");
    let db = dir.join("spans.db");
    let out = run(&["scenario", s(&c02()), "--spans", s(&db)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let held = "it is held by another process (a transaction is open on it); try again when it \
                is done";
    // A writer in the middle of a transaction, then a reader.
    let mut holder = rusqlite::Connection::open(&db).unwrap();
    let tx = holder
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO spans SELECT * FROM spans LIMIT 1", [])
        .unwrap();
    refused_unchanged(&db, held);
    tx.commit()
        .expect("the holder commits as if nothing happened");
    let reader = holder.transaction().unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM spans", [], |r| r.get(0))
        .unwrap();
    refused_unchanged(&db, held);
    drop(reader);
    drop(holder);
    assert_eq!(count_rows(&db), 5 + 1);
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn spans_append_adds_a_run_in_one_transaction_and_every_row_names_its_file() {
    let dir = scratch("append");
    let db = dir.join("runs.db");
    let c01 = Path::new(MANIFEST).join("scenarios/c01.yaml");
    let append = |file: &Path| {
        let out = run(&["scenario", s(file), "--spans-append", s(&db)]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    };
    append(&c02()); // creates it
    assert_eq!(count_rows(&db), 5);
    append(&c02());
    assert_eq!(count_rows(&db), 10);
    append(&c01);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let files: Vec<(String, i64)> = conn
        .prepare("SELECT file, count(*) FROM spans GROUP BY file ORDER BY file")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let c01_rows = count_rows(&db) - 10;
    assert_eq!(
        files,
        [(s(&c01).to_string(), c01_rows), (s(&c02()).to_string(), 10)]
    );
    let pragma = |name: &str| -> i64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(pragma("user_version"), 1);
    assert_eq!(pragma("application_id"), 0x7273_696d);
    drop(conn);
    // `--spans` replaces the rows.
    let out = run(&["scenario", s(&c02()), "--spans", s(&db)]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(count_rows(&db), 5);
    // `--spans-append` takes only SQLite.
    let out = run(&[
        "scenario",
        s(&c02()),
        "--spans-append",
        s(&dir.join("x.jsonl")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "error: cannot write {}: --spans-append adds to an SQLite database: the file must \
             end in .db\n",
            dir.join("x.jsonl").display()
        )
    );

    // An empty file (SQLite may have it open) is filled in place.
    let empty = dir.join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let out = run(&["scenario", s(&c02()), "--spans", s(&empty)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(count_rows(&empty), 5);

    // A database from before the `file` column: replaced, never appended to.
    let old = dir.join("old.db");
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch(
            "CREATE TABLE spans (scenario TEXT NOT NULL, seed INTEGER NOT NULL, engine TEXT NOT \
             NULL, rollout_id TEXT NOT NULL, attempt_id TEXT NOT NULL, sequence_id INTEGER NOT \
             NULL, span_id TEXT NOT NULL, name TEXT NOT NULL, start_ms NUMERIC NOT NULL, end_ms \
             NUMERIC NOT NULL, reward_name TEXT, reward_value NUMERIC, attributes TEXT NOT NULL);
             CREATE INDEX spans_by_attempt ON spans (attempt_id, sequence_id);
             CREATE INDEX spans_by_reward ON spans (reward_name);
             INSERT INTO spans VALUES ('s', 0, 'virtual', 'r', 'r:attempt-1', 1, 'x', 'n', 0, \
             0, NULL, NULL, '{}');",
        )
        .unwrap();
    let out = run(&["scenario", s(&c02()), "--spans-append", s(&old)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "error: cannot write {}: it is a spans database from an older rollout-sim, without \
             the `file` column; --spans replaces it, --spans-append cannot add to it\n",
            old.display()
        )
    );
    assert_eq!(count_rows(&old), 1);
    let out = run(&["scenario", s(&c02()), "--spans", s(&old)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(count_rows(&old), 5);
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

/// Text with every kind of control character a name could smuggle in.
const EVIL: &str = "evil\0name\x1b[31m\x07\x7f\u{9b}2J";

#[test]
fn control_characters_are_escaped_in_svg_junit_and_the_terminal() {
    use rollout_sim::core::{RolloutId, WorkerId};
    use rollout_sim::report::{
        Detail, ScenarioReport, Style, render_junit, render_scenario, render_timeline,
    };
    use rollout_sim::scenario::{RunOptions, load_str, run_scenario};

    // A library user's plan: no loader checked these.
    let source = std::fs::read_to_string(c02()).unwrap();
    let mut scenario = load_str(&format!("dir/{EVIL}.yaml"), &source).unwrap();
    scenario.name = EVIL.to_string();
    scenario.plan.workers = vec![WorkerId::new(format!("worker{EVIL}"))];
    scenario.plan.rollouts[0].id = RolloutId::new(format!("r{EVIL}"));
    let outcome = run_scenario(&scenario, RunOptions::default());
    let report = ScenarioReport::new(&scenario, &outcome, "rollout-sim");
    assert!(!report.passed, "the expectations name r1, which is gone");

    let svg = render_timeline(&[(&report, &outcome.run)]);
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML 1.0");
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    let shown = "evil\\u{0}name\\u{1b}[31m\\u{7}\\u{7f}\\u{9b}2J";
    assert!(texts.contains(&shown), "{texts:?}");
    assert!(
        texts.contains(&format!("worker{shown}").as_str()),
        "{texts:?}"
    );

    let xml = render_junit(&[&report]);
    roxmltree::Document::parse(&xml).expect("the JUnit file is well-formed XML 1.0");
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let case = &parsed.test_suites[0].test_cases[0];
    // Shown, not dropped: two different names stay two different cases.
    assert_eq!(case.name.as_str(), format!("{shown} [seed 0]"));
    assert_eq!(
        case.classname.as_ref().map(|c| c.as_str()),
        Some(format!("dir/{shown}.yaml").as_str())
    );

    for detail in [Detail::Checks, Detail::Every] {
        let text = render_scenario(&report, detail, Style { color: false });
        let control = text.chars().find(|c| c.is_control() && *c != '\n');
        assert_eq!(control, None, "{text:?}");
        assert!(
            text.contains("evil\\x00name\\x1b[31m\\x07\\x7f\\u{9b}2J"),
            "{text}"
        );
        // In colour, the only escapes are the report's own.
        let coloured = render_scenario(&report, detail, Style { color: true });
        let stripped = coloured
            .replace("\x1b[1;32m", "")
            .replace("\x1b[1;31m", "")
            .replace("\x1b[2m", "")
            .replace("\x1b[1m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, text);
    }
}
