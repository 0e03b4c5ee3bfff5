//! Every machine-readable format, byte for byte: the JSON report (with and
//! without `--check-determinism`), the sweep JSON and what `merge` makes of
//! its shards, JUnit, the spans database (schema, columns, rows and their
//! types) and the event trace of the network engine. The spans and trace
//! JSON Lines of c02 are in `outputs.rs`; the names of every variant, in
//! `crates/rollout-report/src/machine/tests.rs`.
//!
//! Only wall times are blanked. The binary is run as
//! `…/target/debug/rollout-sim` (a link to the one cargo built), so that
//! repro commands read `cargo run --` whatever the target directory is
//! called.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rollout-sim-machine-formats-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary, reached through `<dir>/target/debug/rollout-sim`.
fn program(dir: &Path) -> PathBuf {
    let path = dir.join("target/debug/rollout-sim");
    if !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let built = env!("CARGO_BIN_EXE_rollout-sim");
        #[cfg(unix)]
        std::os::unix::fs::symlink(built, &path).unwrap();
        #[cfg(not(unix))]
        std::fs::copy(built, &path).unwrap();
    }
    path
}

fn run(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(program(dir))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn snapshot(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts that `actual` is the snapshot `name`, byte for byte.
fn check(actual: &str, name: &str) {
    assert_eq!(actual, snapshot(name), "{name}");
}

fn stdout(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `text` with the value after each `"key": ` (a number) replaced by 0.
fn blank_number(text: &str, key: &str) -> String {
    let marker = format!("\"{key}\": ");
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&marker) {
        let (before, after) = rest.split_at(at + marker.len());
        out.push_str(before);
        out.push('0');
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn blank_walls(text: &str) -> String {
    blank_number(&blank_number(text, "wall_time_us"), "wall_time_ms")
}

#[test]
fn the_json_report_is_exact() {
    let dir = scratch("report");
    let out = run(
        &dir,
        &["scenario", "scenarios/c02.yaml", "--format", "json"],
    );
    check(&blank_walls(&stdout(&out, 0)), "c02.report.json");
}

const DETERMINISM: &str = r#",
      "determinism": {
        "deterministic": true,
        "events": [
          31,
          31
        ],
        "trace_hashes": [
          "1b222016f341ad18",
          "1b222016f341ad18"
        ],
        "diverged_at": null,
        "first_run_event": null,
        "second_run_event": null
      }"#;

#[test]
fn check_determinism_adds_its_block_last_and_nothing_else() {
    let dir = scratch("determinism");
    let out = run(
        &dir,
        &[
            "scenario",
            "scenarios/c02.yaml",
            "--format",
            "json",
            "--check-determinism",
        ],
    );
    let report = blank_walls(&stdout(&out, 0));
    let at = report.find(DETERMINISM).expect("the determinism block");
    let without = format!("{}{}", &report[..at], &report[at + DETERMINISM.len()..]);
    check(&without, "c02.report.json");
}

const SWEEP: [&str; 8] = [
    "explore",
    "scenarios/research/stranded-attempts.yaml",
    "--seeds",
    "0..12",
    "--reassignment",
    "reference",
    "--format",
    "json",
];

#[test]
fn the_sweep_json_is_exact_and_merged_shards_give_the_same_bytes() {
    let dir = scratch("sweep");
    let whole = blank_walls(&stdout(&run(&dir, &SWEEP), 1));
    check(&whole, "stranded-attempts.sweep.json");

    let mut shards = Vec::new();
    for i in 1..=2 {
        let mut args = SWEEP.to_vec();
        let shard = format!("{i}/2");
        args.extend(["--shard", &shard, "--jobs", "2"]);
        let path = dir.join(format!("shard-{i}.json"));
        std::fs::write(&path, stdout(&run(&dir, &args), 1)).unwrap();
        shards.push(path.to_str().unwrap().to_string());
    }
    let merged = run(&dir, &["merge", &shards[1], &shards[0], "--format", "json"]);
    // The whole sweep, as two shards.
    let as_shards = whole.replace(
        "\"shard_count\": 1,\n  \"shards\": [\n    1\n  ],",
        "\"shard_count\": 2,\n  \"shards\": [\n    1,\n    2\n  ],",
    );
    assert_ne!(as_shards, whole);
    assert_eq!(blank_walls(&stdout(&merged, 1)), as_shards);

    let partial = run(
        &dir,
        &["merge", &shards[0], "--allow-partial", "--format", "json"],
    );
    let partial = stdout(&partial, 1);
    assert!(
        partial.contains("\n  \"shards\": [\n    1\n  ],\n"),
        "{partial}"
    );
    assert!(
        partial.ends_with("\n  \"partial\": true,\n  \"cancelled\": false\n}\n"),
        "{partial}"
    );
}

#[test]
fn junit_is_exact() {
    let dir = scratch("junit");
    let failing = dir.join("c02-36.yaml");
    let source = std::fs::read_to_string("scenarios/c02.yaml")
        .unwrap()
        .replace("rollout: 35", "rollout: 36")
        .replace(
            "name: c02-deterministic-backoff-totals",
            "name: c02-expects-36",
        );
    std::fs::write(&failing, source).unwrap();
    let xml = dir.join("report.xml");
    let out = run(
        &dir,
        &[
            "scenario",
            "scenarios/c02.yaml",
            failing.to_str().unwrap(),
            "--junit",
            xml.to_str().unwrap(),
        ],
    );
    stdout(&out, 1);
    let text = std::fs::read_to_string(&xml)
        .unwrap()
        .replace(dir.to_str().unwrap(), "DIR");
    check(&common::blank_times(&text), "c02.junit.xml");
}

#[test]
fn the_spans_database_is_exact_schema_columns_and_rows() {
    use rusqlite::types::ValueRef;
    let dir = scratch("spans-db");
    let db = dir.join("spans.db");
    stdout(
        &run(
            &dir,
            &[
                "scenario",
                "scenarios/c02.yaml",
                "--spans",
                db.to_str().unwrap(),
            ],
        ),
        0,
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut text = String::new();
    for pragma in ["application_id", "user_version"] {
        let v: i64 = conn
            .query_row(&format!("pragma {pragma}"), [], |r| r.get(0))
            .unwrap();
        text.push_str(&format!("{pragma} {v}\n"));
    }
    let mut schema = conn
        .prepare("select sql from sqlite_schema order by rowid")
        .unwrap();
    for sql in schema.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        text.push_str(&sql.unwrap());
        text.push_str(";\n");
    }
    let mut columns = conn
        .prepare("select cid, name, type, \"notnull\" from pragma_table_info('spans') order by cid")
        .unwrap();
    let columns: Vec<(i64, String, String, i64)> = columns
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (cid, name, kind, not_null) in &columns {
        let null = if *not_null == 1 { " NOT NULL" } else { "" };
        text.push_str(&format!("column {cid} {name} {kind}{null}\n"));
    }
    let mut rows = conn.prepare("select * from spans order by rowid").unwrap();
    let mut rows = rows.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        let values: Vec<String> = (0..columns.len())
            .map(|i| match row.get_ref(i).unwrap() {
                ValueRef::Null => "null".to_string(),
                ValueRef::Integer(v) => format!("integer {v}"),
                ValueRef::Real(v) => format!("real {v:?}"),
                ValueRef::Text(t) => format!("text {}", String::from_utf8_lossy(t)),
                ValueRef::Blob(b) => format!("blob {b:?}"),
            })
            .collect();
        text.push_str(&format!("row {}\n", values.join(" | ")));
    }
    check(&text, "c02.spans-db.txt");
}

#[test]
fn the_event_trace_of_the_network_engine_is_exact() {
    let dir = scratch("trace");
    let trace = dir.join("trace.jsonl");
    stdout(
        &run(
            &dir,
            &[
                "scenario",
                "scenarios/network/lost-dequeue-reply.yaml",
                "scenarios/network/latency-timeouts.yaml",
                "scenarios/network/queue-bounce.yaml",
                "--trace",
                trace.to_str().unwrap(),
            ],
        ),
        0,
    );
    check(
        &std::fs::read_to_string(&trace).unwrap(),
        "network.trace.jsonl",
    );
}

/// What `merge` says of a document of the wrong shape: serde's messages,
/// which name the sweep schema's types (`struct SweepReport with 13
/// elements`), so these names are part of the schema.
#[test]
fn merge_names_the_schema_of_a_document_of_the_wrong_shape() {
    let dir = scratch("shapes");
    let path = dir.join("shape.json");
    let file = path.to_str().unwrap();
    let cases = [
        (
            "1",
            "1:1: not a sweep report: invalid type: integer `1`, expected struct SweepReport at line 1 column 1",
        ),
        (
            "[]",
            "1:2: not a sweep report: invalid length 0, expected struct SweepReport with 16 elements at line 1 column 2",
        ),
        (
            "{}",
            "1:2: not a sweep report: missing field `schema` at line 1 column 2",
        ),
        (
            r#"{"seeds":5}"#,
            "1:10: not a sweep report: invalid type: integer `5`, expected struct SeedRange at line 1 column 10",
        ),
        (
            r#"{"summary":[]}"#,
            "1:13: not a sweep report: invalid length 0, expected struct SweepSummary with 8 elements at line 1 column 13",
        ),
        (
            r#"{"summary":{"poll_failures_per_rollout":3}}"#,
            "1:41: not a sweep report: invalid type: integer `3`, expected struct Distribution at line 1 column 41",
        ),
        (
            r#"{"summary":{"poll_failures_per_rollout":{"summary":3}}}"#,
            "1:52: not a sweep report: invalid type: integer `3`, expected struct Summary at line 1 column 52",
        ),
        (
            r#"{"summary":{"failing":[1]}}"#,
            "1:24: not a sweep report: invalid type: integer `1`, expected struct FailingSeed at line 1 column 24",
        ),
        (
            r#"{"engine":"x"}"#,
            "1:13: not a sweep report: unknown variant `x`, expected one of `virtual`, `tokio`, `turmoil` at line 1 column 13",
        ),
        (
            r#"{"summary":{"poll_failures_per_rollout":{"histogram":[[2,1],[1,1]]}}}"#,
            "1:67: not a sweep report: histogram entry 1 (value 1) is not above the one before (2); values are listed once each, in increasing order at line 1 column 67",
        ),
        (
            r#"{"summary":{"poll_failures_per_rollout":{"histogram":[[2,0]]}}}"#,
            "1:61: not a sweep report: histogram entry 0 ([2, 0]) has no observation; every count is at least 1 at line 1 column 61",
        ),
    ];
    for (document, message) in cases {
        std::fs::write(&path, document).unwrap();
        let out = run(&dir, &["merge", file]);
        assert_eq!(out.status.code(), Some(2), "{document}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("error: {file}:{message}\n"),
            "{document}"
        );
    }
}
