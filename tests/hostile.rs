//! Hostile input: files built to be slow, huge or endless are refused (or
//! stopped) quickly, with a message naming the limit, never a hang.
//!
//! Times are asserted with wide margins (debug build, a loaded 2-core CI
//! machine); the measured figures are in the README's "Limits" section.

use std::process::Command;
use std::time::{Duration, Instant};

use rollout_sim::scenario::{LoadError, RunOptions, load_str, run_scenario};
use rollout_sim::scenario::{MAX_FILE_BYTES, MAX_PROBLEMS};
use rollout_sim::scenario::{MAX_NESTING, MAX_NODES};
use rollout_sim::sim::StopReason;

/// Loads `text`, expecting a refusal within `limit`; returns the plain text.
fn refused_within(text: &str, limit: Duration) -> String {
    let started = Instant::now();
    let result = load_str("hostile.yaml", text);
    let took = started.elapsed();
    let error: LoadError = match result {
        Ok(_) => panic!("a hostile file was accepted"),
        Err(e) => e,
    };
    assert!(
        took < limit,
        "refusing took {took:?}, more than {limit:?}: {}",
        error.plain()
    );
    error.plain()
}

/// `levels` anchors, each a list of ten aliases to the one before: 10^levels
/// nodes once expanded, from a few hundred bytes.
fn billion_laughs(levels: usize) -> String {
    let mut text = String::from(
        "name: laughs\nrollouts:\n  - id: r1\n    input:\n      l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..=levels {
        let refs = vec![format!("*l{}", i - 1); 10].join(", ");
        text.push_str(&format!("      l{i}: &l{i} [{refs}]\n"));
    }
    text
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    let text = billion_laughs(9);
    assert!(
        text.len() < 1_000,
        "the bomb is small: {} bytes",
        text.len()
    );
    let plain = refused_within(&text, Duration::from_secs(2));
    assert!(plain.contains("alias bomb"), "{plain}");
    assert!(plain.contains(&MAX_NODES.to_string()), "{plain}");
    // The alias that crosses the limit is located.
    assert!(plain.starts_with("hostile.yaml:"), "{plain}");
}

#[test]
fn a_quadratic_alias_expansion_is_refused_quickly() {
    // One large anchored list and many aliases to it: linear to write,
    // quadratic to expand. serde_norway alone takes minutes and gigabytes.
    let big = vec!["1"; 200_000].join(",");
    let aliases = vec!["*a"; 200_000].join(",");
    let text = format!(
        "name: quadratic\nrollouts:\n  - id: r1\n    input: {{ big: &a [{big}], more: [{aliases}] }}\n"
    );
    let plain = refused_within(&text, Duration::from_secs(10));
    assert!(plain.contains("alias"), "{plain}");
}

#[test]
fn a_recursive_alias_is_refused() {
    let plain = refused_within(
        "name: loop\nrollouts:\n  - id: r1\n    input: &x { again: *x }\n",
        Duration::from_secs(1),
    );
    assert!(plain.contains("recursive alias"), "{plain}");
}

#[test]
fn deep_nesting_is_refused_quickly_in_flow_and_block_style() {
    // Flow style: serde_norway alone does not finish on this in minutes.
    let depth = 1_000_000;
    let flow = format!(
        "name: deep\nrollouts:\n  - id: r1\n    input: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let plain = refused_within(&flow, Duration::from_secs(5));
    assert!(
        plain.contains(&format!("nesting deeper than {MAX_NESTING} levels")),
        "{plain}"
    );
    // Block style, one level per line.
    let mut block = String::from("name: deep\nrollouts:\n  - id: r1\n    input:\n");
    for level in 0..200 {
        block.push_str(&" ".repeat(6 + level));
        block.push_str("a:\n");
    }
    let plain = refused_within(&block, Duration::from_secs(2));
    assert!(plain.contains("nesting deeper than"), "{plain}");
}

#[test]
fn too_many_nodes_are_refused() {
    let items = vec!["1"; MAX_NODES as usize + 10].join(",");
    let text = format!("name: flat\nrollouts:\n  - id: r1\n    input: [{items}]\n");
    assert!(text.len() as u64 <= MAX_FILE_BYTES);
    let plain = refused_within(&text, Duration::from_secs(20));
    assert!(plain.contains("more than 1000000 YAML nodes"), "{plain}");
}

#[test]
fn files_over_the_size_limit_are_refused_before_parsing() {
    let text = format!(
        "name: big\nrollouts:\n  - id: r1\n# {}\n",
        "x".repeat(MAX_FILE_BYTES as usize)
    );
    let plain = refused_within(&text, Duration::from_secs(1));
    assert!(plain.contains("limited to 4194304 bytes"), "{plain}");

    let dir = std::env::temp_dir().join(format!("rollout-sim-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.yaml");
    std::fs::write(&path, &text).unwrap();
    let error = rollout_sim::scenario::load_file(&path).expect_err("too big");
    assert!(
        error.plain().contains("limited to 4194304 bytes"),
        "{}",
        error.plain()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn many_problems_are_capped_with_a_count_of_the_rest() {
    let ids = vec!["w"; 300].join(", ");
    let text = format!("name: dups\nworkers: [{ids}]\nrollouts:\n  - id: r1\n");
    let error = load_str("dups.yaml", &text).expect_err("duplicate workers");
    assert_eq!(error.problems.len(), MAX_PROBLEMS + 1);
    let last = error.plain().lines().last().unwrap_or_default().to_string();
    assert!(
        last.contains("199 more problems not shown"),
        "last line: {last}"
    );
}

#[test]
fn a_queue_that_always_fails_ends_at_the_time_budget_with_a_report() {
    let text =
        "name: always-fails\nrollouts:\n  - id: r1\nfaults:\n  dequeue: [ { fail: 4294967295 } ]\n";
    let scenario = load_str("always-fails.yaml", text).expect("valid");
    let started = Instant::now();
    let outcome = run_scenario(&scenario, RunOptions::default());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        outcome.run.stop,
        StopReason::TimeBudget { within_ms: 600_000 }
    );
    assert_eq!(outcome.run.ended_at, Duration::from_secs(600));
    assert!(!outcome.passed());
    let stop = outcome
        .checks
        .iter()
        .find(|c| c.name == "stop")
        .expect("a stop check");
    assert!(
        stop.actual.to_string().contains("stop.within"),
        "the report names the budget: {}",
        stop.actual
    );
}

#[test]
fn a_run_that_hits_the_event_budget_stops_and_fails_naming_it() {
    // A 1ms poll against a queue that always fails, for up to 7 days of
    // virtual time: only the event budget can stop it.
    let text = "name: endless\nrunner:\n  poll_interval: 1ms\n  backoff: { initial: 1ms, max: 1ms }\nrollouts:\n  - id: r1\nfaults:\n  dequeue: [ { fail: 4294967295 } ]\nstop:\n  within: 7d\n";
    let mut scenario = load_str("endless.yaml", text).expect("valid");
    scenario.plan.limits.max_events = 20_000;
    let started = Instant::now();
    let outcome = run_scenario(&scenario, RunOptions::default());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        outcome.run.stop,
        StopReason::EventBudget { max_events: 20_000 }
    );
    assert!(!outcome.passed());
    let stop = outcome
        .checks
        .iter()
        .find(|c| c.name == "stop")
        .expect("a stop check");
    assert!(
        stop.actual
            .to_string()
            .contains("event budget of 20000 events"),
        "{}",
        stop.actual
    );
}

#[test]
fn the_cli_reports_a_blown_budget_with_exit_1() {
    let dir = std::env::temp_dir().join(format!("rollout-sim-budget-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("always-fails.yaml");
    std::fs::write(
        &path,
        "name: always-fails\nrollouts:\n  - id: r1\nfaults:\n  dequeue: [ { fail: 4294967295 } ]\nstop:\n  within: 1m\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .arg("scenario")
        .arg(&path)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("stop.within"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every input the fuzzer found a crash with stays fixed: it loads or is
/// refused without a panic, one line per problem, and runs within bounds.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz_regressions exists") {
        let path = entry.expect("an entry").path();
        let bytes = std::fs::read(&path).expect("readable");
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        seen += 1;
        match load_str("fuzz.yaml", &text) {
            Err(error) => {
                assert_eq!(
                    error.plain().lines().count(),
                    error.problems.len(),
                    "{}: not one line per problem:\n{}",
                    path.display(),
                    error.plain()
                );
                for report in error.reports() {
                    let _ = format!("{:?}", miette::Report::new(report));
                }
            }
            Ok(mut scenario) => {
                scenario.plan.limits.max_events = 20_000;
                let outcome = run_scenario(&scenario, RunOptions::default());
                assert!(outcome.run.ended_at <= scenario.plan.stop.within);
            }
        }
    }
    assert!(seen > 0, "no regression inputs under {}", dir.display());
}
