//! The output files of `rollout-sim scenario`: JUnit, spans (JSON Lines and
//! SQLite), the event trace, the timeline, `--check-determinism` and
//! `--jobs`, each against exact expected content.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rollout-sim"));
    cmd.env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("rollout-sim-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn snapshot(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn junit_parses_back_with_one_case_per_scenario_and_seed() {
    let dir = scratch("junit");
    let xml = dir.join("report.xml");
    let out = run(&[
        "scenario",
        "scenarios/c02.yaml",
        "--junit",
        xml.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&xml).unwrap()).unwrap();
    assert_eq!(report.test_suites.len(), 1);
    let cases = &report.test_suites[0].test_cases;
    assert_eq!(cases.len(), 1);
    assert_eq!(
        cases[0].name.as_str(),
        "c02-deterministic-backoff-totals [seed 0]"
    );
    assert_eq!(
        cases[0].classname.as_ref().map(|c| c.as_str()),
        Some("scenarios/c02.yaml")
    );
    assert!(matches!(
        cases[0].status,
        quick_junit::TestCaseStatus::Success { .. }
    ));

    // A failing copy carries expected, actual and the repro command.
    let bad = dir.join("c02-36.yaml");
    let source = std::fs::read_to_string("scenarios/c02.yaml")
        .unwrap()
        .replace("rollout: 35", "rollout: 36");
    std::fs::write(&bad, source).unwrap();
    let out = run(&[
        "scenario",
        bad.to_str().unwrap(),
        "--seed",
        "7",
        "--junit",
        xml.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&xml).unwrap()).unwrap();
    let case = &report.test_suites[0].test_cases[0];
    assert_eq!(
        case.name.as_str(),
        "c02-deterministic-backoff-totals [seed 7]"
    );
    match &case.status {
        quick_junit::TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } => {
            assert_eq!(
                message.as_ref().map(|m| m.as_str()),
                Some(
                    "rewards.r1.runner.poll_retry_backoff_ms_before_rollout: expected 36, actual 35"
                )
            );
            let description = description.as_ref().unwrap().as_str();
            assert!(
                description.contains(&format!(
                    "repro: cargo run -- scenario {} --seed 7 --engine virtual",
                    bad.display()
                )),
                "{description}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn spans_are_queryable_from_sqlite_and_json_lines() {
    let dir = scratch("spans");
    let db = dir.join("out.db");
    let out = run(&[
        "scenario",
        "scenarios/c02.yaml",
        "--spans",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let value: rusqlite::types::Value = conn
        .query_row(
            "select reward_value from spans where reward_name = 'runner.poll_retry_backoff_ms_before_rollout'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    // NUMERIC affinity: an integer, so sqlite3 prints 35, not 35.0.
    assert_eq!(value, rusqlite::types::Value::Integer(35));
    // Every row names its scenario file, as given; the database says what
    // it is and which schema version.
    let files: Vec<String> = conn
        .prepare("select distinct file from spans")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(files, ["scenarios/c02.yaml"]);
    let pragma = |name: &str| -> i64 {
        conn.query_row(&format!("pragma {name}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(pragma("user_version"), 1);
    assert_eq!(pragma("application_id"), 0x7273_696d);
    let rows: Vec<(i64, String, Option<String>)> = conn
        .prepare("select sequence_id, name, reward_name from spans where attempt_id = 'r1:attempt-1' order by sequence_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let names: Vec<(i64, &str, Option<&str>)> = rows
        .iter()
        .map(|(s, n, r)| (*s, n.as_str(), r.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            (1, "runner.execute_rollout", None),
            (2, "reward.emit", Some("exact_match")),
            (3, "reward.emit", Some("runner.execution_success")),
            (
                4,
                "reward.emit",
                Some("runner.poll_retry_failures_before_rollout")
            ),
            (
                5,
                "reward.emit",
                Some("runner.poll_retry_backoff_ms_before_rollout")
            ),
        ]
    );

    let jsonl = dir.join("spans.jsonl");
    let out = run(&[
        "scenario",
        "scenarios/c02.yaml",
        "--spans",
        jsonl.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&jsonl).unwrap(),
        snapshot("c02.spans.jsonl")
    );
}

#[test]
fn the_event_trace_is_exact() {
    let dir = scratch("trace");
    let path = dir.join("trace.jsonl");
    let out = run(&[
        "scenario",
        "scenarios/c02.yaml",
        "--trace",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        snapshot("c02.trace.jsonl")
    );
}

#[test]
fn the_timeline_is_well_formed_and_shows_failures_sleeps_and_the_attempt() {
    let dir = scratch("timeline");
    let path = dir.join("c02.svg");
    let out = run(&[
        "scenario",
        "scenarios/c02.yaml",
        "--timeline",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let svg = std::fs::read_to_string(&path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&svg);
    let mut depth = 0i64;
    let mut texts = Vec::new();
    let mut backoff_labels = Vec::new();
    let mut fill = String::new();
    let mut failure_marks = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) => {
                depth += 1;
                let attr = |name: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| String::from_utf8_lossy(a.value.as_ref()).into_owned())
                };
                if e.name().as_ref() == b"g" && attr(b"stroke").as_deref() == Some("#d62020") {
                    failure_marks += 1;
                }
                fill = attr(b"fill").unwrap_or_default();
            }
            quick_xml::events::Event::End(_) => {
                depth -= 1;
                fill.clear();
            }
            quick_xml::events::Event::Text(t) => {
                let t = String::from_utf8_lossy(t.as_ref()).trim().to_string();
                if t.is_empty() {
                    continue;
                }
                if fill == "#a86400" {
                    backoff_labels.push(t.clone());
                }
                texts.push(t);
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0);
    // Three poll failures (plus the legend's swatch).
    assert_eq!(failure_marks, 3 + 1);
    // The three backoff sleeps, labelled with their lengths, in order.
    assert_eq!(backoff_labels, ["5ms", "10ms", "20ms"]);
    for label in [
        "r1:attempt-1 succeeded",
        "worker-1",
        "backoff sleep",
        "poll failure",
    ] {
        assert!(
            texts.iter().any(|t| t == label),
            "missing text {label:?} in {texts:?}"
        );
    }
}

#[test]
fn check_determinism_passes_and_trips_under_perturbation() {
    let out = run(&["scenario", "scenarios/", "--check-determinism"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&[
        "scenario",
        "scenarios/c02.yaml",
        "--check-determinism",
        "--perturb-scheduling",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = text(&out);
    assert!(stdout.contains("NONDET"), "{stdout}");
    assert!(stdout.contains("traces diverge at event"), "{stdout}");
    assert!(stdout.contains("    run 1: {"), "{stdout}");
    assert!(stdout.contains("    run 2: {"), "{stdout}");
    assert!(stdout.contains("--check-determinism"), "{stdout}");
}

#[test]
fn jobs_keep_input_order() {
    let one = run(&["scenario", "scenarios/", "--jobs", "1", "--format", "json"]);
    let two = run(&["scenario", "scenarios/", "--jobs", "2", "--format", "json"]);
    let names = |o: &Output| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["file"].as_str().unwrap().to_string())
            .collect()
    };
    let mut sorted = names(&one);
    sorted.sort();
    assert_eq!(names(&one), sorted);
    assert_eq!(names(&one), names(&two));
    assert!(names(&one).len() >= 3);
}

#[test]
fn unwritable_outputs_are_exit_2_with_a_clear_error() {
    let out = run(&[
        "scenario",
        "scenarios/c02.yaml",
        "--junit",
        "/nonexistent-folder/x.xml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: cannot write /nonexistent-folder/x.xml: the folder /nonexistent-folder does not exist\n"
    );
    let out = run(&["scenario", "scenarios/c02.yaml", "--spans", "out.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("must end in .jsonl (JSON Lines) or .db (SQLite)")
    );
}

/// Wall times are the only thing that differs between runs; blank them.
fn normalise_wall_times(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_string();
        if let (Some(open), Some(close)) = (line.find('['), line.find(']'))
            && (line.contains("PASS") || line.contains("FAIL") || line.contains("Summary"))
            && close > open
        {
            line.replace_range(open..=close, "[WALL]");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn the_human_report_is_exact() {
    let out = run(&["scenario", "scenarios/c02.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(normalise_wall_times(&text(&out)), snapshot("c02.human.txt"));
    assert!(
        !text(&out).contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn the_json_report_is_exact_apart_from_wall_times() {
    let out = run(&["scenario", "scenarios/c02.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let mut report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["summary"]["wall_time_ms"] = 0.into();
    for s in report["scenarios"].as_array_mut().unwrap() {
        s["wall_time_us"] = 0.into();
    }
    let expected: serde_json::Value = serde_json::from_str(&snapshot("c02.report.json")).unwrap();
    assert_eq!(report, expected);
    // Field order is part of the contract: two runs diff cleanly.
    let raw = text(&out);
    let order = [
        "\"file\"",
        "\"name\"",
        "\"seed\"",
        "\"engine\"",
        "\"scenario_hash\"",
        "\"tool_version\"",
        "\"passed\"",
        "\"checks\"",
        "\"invariants\"",
        "\"stop\"",
        "\"virtual_time_ms\"",
        "\"wall_time_us\"",
        "\"events\"",
        "\"trace_hash\"",
        "\"rewards\"",
        "\"rollouts\"",
        "\"repro\"",
    ];
    let scenario = &raw[raw.find("\"scenarios\"").unwrap()..];
    let positions: Vec<usize> = order.iter().map(|k| scenario.find(k).unwrap()).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "fields out of order: {positions:?}"
    );
    assert_eq!(
        report["scenarios"][0].as_object().unwrap().len(),
        order.len()
    );
}

/// A turmoil run's timeline shows the partition as a band on the worker's
/// lane, spanning exactly the partition (15 ms to 115 ms), and each segment
/// the network dropped; c02, which has no network events, has no such
/// shapes and no network legend.
#[test]
fn the_timeline_shows_partitions_and_dropped_messages() {
    let dir = scratch("timeline-network");
    let path = dir.join("partition.svg");
    let out = run(&[
        "scenario",
        "scenarios/network/partition-during-backoff.yaml",
        "--timeline",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let svg = std::fs::read_to_string(&path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&svg);
    let mut titles = Vec::new();
    let mut in_title = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) => in_title = e.name().as_ref() == b"title",
            quick_xml::events::Event::End(_) => in_title = false,
            quick_xml::events::Event::Text(t) if in_title => {
                titles.push(String::from_utf8_lossy(t.as_ref()).into_owned());
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    let bands: Vec<&String> = titles.iter().filter(|t| t.starts_with("link to")).collect();
    assert_eq!(bands, ["link to queue partitioned: 15ms to 115ms"]);
    // The partition drops the request on the open connection, its closing,
    // and the handshakes of the next two polls (the README's account of
    // this scenario: a timeout, then two refused connections).
    let mut drops: Vec<&String> = titles.iter().filter(|t| t.ends_with("dropped")).collect();
    drops.sort();
    assert_eq!(
        drops,
        [
            "data worker-1 to queue dropped",
            "fin worker-1 to queue dropped",
            "syn worker-1 to queue dropped",
            "syn worker-1 to queue dropped",
        ]
    );
    assert!(svg.contains(">partitioned</text>") && svg.contains(">dropped</text>"));

    let c02 = dir.join("c02.svg");
    let out = run(&[
        "scenario",
        "scenarios/c02.yaml",
        "--timeline",
        c02.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let svg = std::fs::read_to_string(&c02).unwrap();
    assert!(
        !svg.contains("partitioned") && !svg.contains("dropped"),
        "{svg}"
    );
}

/// A link is in one state at a time: held at 100 ms, partitioned at 150 ms
/// (which replaces the hold), repaired at 200 ms; the release at 300 ms
/// finds nothing to end. Two bands, not one.
#[test]
fn the_timeline_follows_each_link_through_hold_partition_and_repair() {
    let dir = scratch("timeline-link-states");
    let file = dir.join("net.yaml");
    std::fs::write(
        &file,
        "name: net-hold-partition\nengine: turmoil\nrunner: { poll_interval: 10ms, heartbeat_interval: 1s, reassignment_interval: 1s, worker_timeout: 3s, request_timeout: 20ms }\nrollouts:\n  - id: r1\n    enqueue_at: 350ms\n    run: { duration: 5ms, output: \"4\" }\nfaults:\n  at:\n    - { at: 100ms, hold: [worker-1, queue], for: 200ms }\n    - { at: 150ms, partition: [worker-1, queue], for: 50ms }\n",
    )
    .unwrap();
    let svg_path = dir.join("net.svg");
    let out = run(&[
        "scenario",
        file.to_str().unwrap(),
        "--timeline",
        svg_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let bands: Vec<&str> = svg
        .split("<title>")
        .skip(1)
        .filter_map(|t| t.split("</title>").next())
        .filter(|t| t.starts_with("link to"))
        .collect();
    assert_eq!(
        bands,
        [
            "link to queue held: 100ms to 150ms",
            "link to queue partitioned: 150ms to 200ms"
        ]
    );
}
