//! Issue 13, findings (DESIGN.md §8): `explore` groups failing seeds by
//! cause, each finding with its seed count, first seed, repro and, with
//! `--shrink`, one reproducer; `--baseline` marks findings new, still
//! failing or fixed; merged shards give the unsharded findings; `--junit`
//! has a test case per finding.
//!
//! Every sweep runs twice and the two reports must be equal but for wall
//! time. Findings are checked against an oracle built from the per-seed
//! list the report also holds: the failing seeds grouped by their failed
//! names with digits blanked, each group's size, smallest seed and that
//! seed's repro.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The binary, reached through `<dir>/target/debug/rollout-sim` so that
/// repro commands read `cargo run -- ...` whatever the target directory.
fn program() -> &'static Path {
    static PROGRAM: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PROGRAM.get_or_init(|| {
        let path = scratch("bin").join("target/debug/rollout-sim");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let built = env!("CARGO_BIN_EXE_rollout-sim");
        #[cfg(unix)]
        std::os::unix::fs::symlink(built, &path).unwrap();
        #[cfg(not(unix))]
        std::fs::copy(built, &path).unwrap();
        path
    })
}

fn run(args: &[&str]) -> Output {
    Command::new(program())
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rollout-sim-findings-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn code(o: &Output, expected: i32) {
    assert_eq!(
        o.status.code(),
        Some(expected),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `explore ARGS --format json`, twice: the two reports must be equal but
/// for wall time; returns one, with wall time 0.
fn sweep(args: &[&str], exit: i32) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json", "--jobs", "2"]);
    let mut reports = Vec::new();
    for _ in 0..2 {
        let o = run(&all);
        code(&o, exit);
        let mut r: Value = serde_json::from_slice(&o.stdout).unwrap();
        r["wall_time_ms"] = 0.into();
        reports.push(r);
    }
    assert_eq!(reports[0], reports[1], "two runs of one sweep differ");
    reports.pop().unwrap()
}

/// Findings as `(seeds, first seed, repro)`, in report order.
fn findings(r: &Value) -> Vec<(u64, u64, String)> {
    r["findings"]["listed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["seeds"].as_u64().unwrap(),
                f["first_seed"].as_u64().unwrap(),
                f["repro"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The oracle: the listed failing seeds grouped by their failed names with
/// digits blanked, by first seed.
fn grouped_by_hand(r: &Value) -> Vec<(u64, u64, String)> {
    assert_eq!(r["summary"]["failing_not_listed"], 0);
    let mut groups: BTreeMap<Vec<String>, (u64, u64, String)> = BTreeMap::new();
    for f in r["summary"]["failing"].as_array().unwrap() {
        let mut key: Vec<String> = f["failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                n.as_str()
                    .unwrap()
                    .split(|c: char| c.is_ascii_digit())
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("#")
            })
            .collect();
        key.sort();
        key.dedup();
        let seed = f["seed"].as_u64().unwrap();
        let g = groups
            .entry(key)
            .or_insert((0, seed, f["repro"].as_str().unwrap().to_string()));
        g.0 += 1;
    }
    let mut out: Vec<_> = groups.into_values().collect();
    out.sort_by_key(|g| g.1);
    out
}

const STRANDED: &str = "scenarios/research/stranded-attempts.yaml";

#[test]
fn the_stranded_attempts_sweep_is_one_finding() {
    let r = sweep(
        &[
            "explore",
            STRANDED,
            "--seeds",
            "0..200",
            "--reassignment",
            "reference",
        ],
        1,
    );
    assert_eq!(r["summary"]["failed"], 105);
    let listed = r["findings"]["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let f = &listed[0];
    assert_eq!(
        f["title"],
        "invariant no-stranded-attempt; rollouts.r-<n>.status: expected succeeded, actual running"
    );
    assert_eq!(
        (f["seeds"].as_u64(), f["first_seed"].as_u64()),
        (Some(105), Some(2))
    );
    let repro = format!(
        "cargo run -- scenario {STRANDED} --seed 2 --engine virtual --reassignment reference"
    );
    assert_eq!(f["repro"], repro.as_str());
    assert_eq!(f["id"].as_str().unwrap().len(), 12);
    assert_eq!((f["shrunk"].is_null(), f["status"].is_null()), (true, true));
    assert_eq!(r["findings"]["not_listed"], 0);
    assert!(r["findings"]["baseline"].is_null());
    assert_eq!(findings(&r), grouped_by_hand(&r));

    // The finding's repro fails the invariant it names, the same way twice.
    let args: Vec<&str> = repro.split(' ').skip(3).collect();
    let mut hashes = Vec::new();
    for _ in 0..2 {
        let mut a = args.clone();
        a.extend(["--format", "json"]);
        let o = run(&a);
        code(&o, 1);
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        let text = report.to_string();
        assert!(text.contains("no-stranded-attempt"), "{text}");
        hashes.push(report["scenarios"][0]["trace_hash"].clone());
    }
    assert!(!hashes[0].is_null());
    assert_eq!(hashes[0], hashes[1]);

    // The human report shows the finding before the failing seeds.
    let o = run(&[
        "explore",
        STRANDED,
        "--seeds",
        "0..200",
        "--reassignment",
        "reference",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    let id = f["id"].as_str().unwrap();
    let row = format!(
        "      {id}    105      2  invariant no-stranded-attempt; rollouts.r-<n>.status: expected succeeded, actual running\n"
    );
    assert!(
        text.contains(
            "    findings: 1 cause of 105 failing seeds:\n      id            seeds  first  cause\n"
        ),
        "{text}"
    );
    assert!(text.contains(&row), "{text}");
    assert!(
        text.find(&row) < text.find("    failing seeds:\n"),
        "{text}"
    );
}

/// Two rollouts, each stranded by a failed completion call on some seeds
/// (the reference reassignment never retries it): seeds 0..100 strand
/// alpha or beta, never both.
fn two_causes(dir: &Path, expect_beta: bool) -> String {
    let path = dir.join("two-causes.yaml");
    let beta = if expect_beta { ", beta: succeeded" } else { "" };
    std::fs::write(
        &path,
        format!(
            "name: two-causes
workers: 2
queue: {{ reassignment: reference }}
runner:
  poll_interval: 10ms
  heartbeat_interval: 20ms
  reassignment_interval: 20ms
  worker_timeout: 60ms
rollouts:
  - {{ id: alpha, run: {{ duration: 15ms }} }}
  - {{ id: beta, run: {{ duration: 15ms }} }}
faults:
  random:
    complete: {{ fail_rate: 0.1 }}
stop: {{ when: {{ at: 1s }}, within: 1s }}
expect:
  rollouts: {{ alpha: succeeded{beta} }}
"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

const ALPHA: &str =
    "invariant no-stranded-attempt; rollouts.alpha.status: expected succeeded, actual running";
const BETA: &str =
    "invariant no-stranded-attempt; rollouts.beta.status: expected succeeded, actual running";

fn titles(r: &Value, at: &str) -> Vec<(String, String)> {
    r.pointer(at)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap_or("null").to_string(),
            )
        })
        .collect()
}

#[test]
fn two_causes_are_two_findings() {
    let dir = scratch("two");
    let file = two_causes(&dir, true);
    let r = sweep(&["explore", &file, "--seeds", "0..100"], 1);
    assert_eq!(r["summary"]["failed"], 21);
    assert_eq!(
        titles(&r, "/findings/listed"),
        [(ALPHA.into(), "null".into()), (BETA.into(), "null".into())]
    );
    assert_eq!(
        findings(&r),
        [
            (
                10,
                5,
                format!("cargo run -- scenario {file} --seed 5 --engine virtual")
            ),
            (
                11,
                7,
                format!("cargo run -- scenario {file} --seed 7 --engine virtual")
            ),
        ]
    );
    assert_eq!(findings(&r), grouped_by_hand(&r));

    // The HTML report shows the findings first, then the seeds.
    let html = dir.join("sweep.html");
    let o = run(&[
        "explore",
        &file,
        "--seeds",
        "0..100",
        "--report",
        html.to_str().unwrap(),
    ]);
    code(&o, 1);
    let page = std::fs::read_to_string(&html).unwrap();
    let at = |text: &str| page.find(text).unwrap_or_else(|| panic!("{text}: {page}"));
    let row = |title: &str, seeds: u64, first: u64| {
        format!(
            "<td class=\"n\">{seeds}</td><td class=\"n\">{first}</td><td>{title}</td><td><code>cargo run -- scenario {file} --seed {first} --engine virtual</code></td></tr>"
        )
    };
    assert!(at("<h2>Findings</h2>\n<p>2 causes of 21 failing seeds.</p>") < at(&row(ALPHA, 10, 5)));
    assert!(at(&row(ALPHA, 10, 5)) < at(&row(BETA, 11, 7)));
    assert!(at(&row(BETA, 11, 7)) < at("<h2>Failing seeds</h2>"));
}

#[test]
fn a_baseline_marks_new_still_failing_and_fixed() {
    let dir = scratch("baseline");
    let file = two_causes(&dir, true);
    let before = sweep(&["explore", &file, "--seeds", "0..100"], 1);
    let saved = dir.join("before.json");
    std::fs::write(&saved, serde_json::to_vec_pretty(&before).unwrap()).unwrap();
    let saved = saved.to_str().unwrap();

    // beta is no longer expected to succeed: its seeds now fail only the
    // invariant, a new cause; alpha's still fails; beta's is fixed.
    two_causes(&dir, false);
    let after = sweep(
        &["explore", &file, "--seeds", "0..100", "--baseline", saved],
        1,
    );
    assert_eq!(
        titles(&after, "/findings/listed"),
        [
            (ALPHA.into(), "still_failing".into()),
            ("invariant no-stranded-attempt".into(), "new".into()),
        ]
    );
    assert_eq!(
        findings(&after)
            .iter()
            .map(|f| (f.0, f.1))
            .collect::<Vec<_>>(),
        [(10, 5), (11, 7)]
    );
    assert_eq!(after["findings"]["baseline"]["file"], saved);
    assert_eq!(
        titles(&after, "/findings/baseline/fixed"),
        [(BETA.into(), "fixed".into())]
    );
    let fixed = &after["findings"]["baseline"]["fixed"][0];
    assert_eq!(fixed, &{
        let mut f = before["findings"]["listed"][1].clone();
        f["status"] = "fixed".into();
        f
    });
    let o = run(&["explore", &file, "--seeds", "0..100", "--baseline", saved]);
    code(&o, 1);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(&format!(
            "    against {saved}: 1 new · 1 still failing · 1 fixed\n"
        )),
        "{text}"
    );
}

#[test]
fn a_baseline_of_another_scenario_or_schema_is_refused_before_anything_runs() {
    let dir = scratch("bad-baseline");
    let file = two_causes(&dir, true);
    let other = dir.join("other.json");
    let r = sweep(
        &[
            "explore",
            STRANDED,
            "--seeds",
            "0..4",
            "--reassignment",
            "reference",
        ],
        1,
    );
    std::fs::write(&other, serde_json::to_vec(&r).unwrap()).unwrap();
    let other = other.to_str().unwrap();
    let junit = dir.join("findings.xml");
    let o = run(&[
        "explore",
        &file,
        "--seeds",
        "0..100",
        "--baseline",
        other,
        "--junit",
        junit.to_str().unwrap(),
    ]);
    code(&o, 2);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "error: --baseline {other}: name: a sweep of `research-stranded-attempts`, but this sweep is of `two-causes`: a baseline is an earlier sweep of the same scenario\n"
        )
    );
    assert!(!junit.exists());

    let mut r: Value = serde_json::from_slice(&std::fs::read(other).unwrap()).unwrap();
    r["schema"] = "rollout-sim.sweep/0".into();
    let old = dir.join("old.json");
    std::fs::write(&old, serde_json::to_vec(&r).unwrap()).unwrap();
    let old = old.to_str().unwrap();
    let o = run(&["explore", &file, "--seeds", "0..100", "--baseline", old]);
    code(&o, 2);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "error: --baseline {old}: schema: `rollout-sim.sweep/0` is not a sweep report; expected `rollout-sim.sweep/2`\n"
        )
    );
    let o = run(&[
        "explore",
        &file,
        "--seeds",
        "0..100",
        "--baseline",
        "/dev/zero",
    ]);
    code(&o, 2);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: --baseline /dev/zero: not a regular file; --baseline reads the JSON files `explore --format json` writes\n"
    );
}

#[test]
fn merged_shards_give_the_unsharded_findings() {
    let dir = scratch("merge");
    let file = two_causes(&dir, true);
    let whole = sweep(&["explore", &file, "--seeds", "0..100"], 1);
    let baseline = dir.join("baseline.json");
    std::fs::write(&baseline, serde_json::to_vec(&whole).unwrap()).unwrap();
    let baseline = baseline.to_str().unwrap();
    two_causes(&dir, false);
    let against = sweep(
        &[
            "explore",
            &file,
            "--seeds",
            "0..100",
            "--baseline",
            baseline,
        ],
        1,
    );
    for (expected, extra) in [(&whole, None), (&against, Some(baseline))] {
        if extra.is_none() {
            two_causes(&dir, true);
        } else {
            two_causes(&dir, false);
        }
        let mut shards = Vec::new();
        // Shards count from 1, as nextest's --partition count:K/N.
        for i in 1..=2 {
            let shard = format!("{i}/2");
            let mut args = vec!["explore", &file, "--seeds", "0..100", "--shard", &shard];
            if let Some(b) = extra {
                args.extend(["--baseline", b]);
            }
            let r = sweep(&args, 1);
            // Each shard holds some of the seeds of each cause.
            assert_eq!(r["findings"]["listed"].as_array().unwrap().len(), 2);
            let path = dir.join(format!("shard-{i}.json"));
            std::fs::write(&path, serde_json::to_vec(&r).unwrap()).unwrap();
            shards.push(path.to_str().unwrap().to_string());
        }
        let mut merged = Vec::new();
        for _ in 0..2 {
            let o = run(&["merge", &shards[1], &shards[0], "--format", "json"]);
            code(&o, 1);
            let r: Value = serde_json::from_slice(&o.stdout).unwrap();
            merged.push(r["findings"].clone());
        }
        assert_eq!(merged[0], merged[1]);
        assert_eq!(merged[0], expected["findings"]);
    }
}

/// A change to a report.
type Edit = fn(&mut Value);

#[test]
fn merge_checks_findings_like_every_other_field() {
    let dir = scratch("merge-checks");
    let file = two_causes(&dir, true);
    let good = sweep(
        &["explore", &file, "--seeds", "0..100", "--shard", "2/2"],
        1,
    );
    let r = sweep(
        &["explore", &file, "--seeds", "0..100", "--shard", "1/2"],
        1,
    );
    let good_path = dir.join("good.json");
    std::fs::write(&good_path, serde_json::to_vec(&good).unwrap()).unwrap();
    let cases: [(&str, Edit, &str); 4] = [
        (
            "count",
            |r| r["findings"]["listed"][0]["seeds"] = 1.into(),
            "findings: the findings' seeds and the 0 not listed do not make the 9 failed",
        ),
        (
            "id",
            |r| r["findings"]["listed"][0]["id"] = "000000000000".into(),
            "findings.listed[0].id: `000000000000` is not the id of its title, which is `82261e789955`",
        ),
        (
            "first-seed",
            |r| r["findings"]["listed"][0]["first_seed"] = 3.into(),
            "findings.listed[0].first_seed: seed 3 is not among the report's failing seeds",
        ),
        (
            "status",
            |r| r["findings"]["listed"][0]["status"] = "new".into(),
            "findings.listed[0].status: Some(New); expected null (there is no baseline)",
        ),
    ];
    for (name, edit, message) in cases {
        let mut crafted = r.clone();
        edit(&mut crafted);
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec(&crafted).unwrap()).unwrap();
        let path = path.to_str().unwrap();
        let o = run(&["merge", path, good_path.to_str().unwrap()]);
        code(&o, 2);
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            format!("error: {path}: {message}\n")
        );
    }
}

#[test]
fn junit_has_one_test_case_per_finding() {
    let dir = scratch("junit");
    let file = two_causes(&dir, true);
    let r = sweep(&["explore", &file, "--seeds", "0..100"], 1);
    let mut documents = Vec::new();
    for i in 0..2 {
        let xml = dir.join(format!("findings-{i}.xml"));
        let o = run(&[
            "explore",
            &file,
            "--seeds",
            "0..100",
            "--junit",
            xml.to_str().unwrap(),
        ]);
        code(&o, 1);
        let text = std::fs::read_to_string(&xml).unwrap();
        // The suite's time is the sweep's wall time: the one difference.
        let at = text.find(" time=\"").unwrap();
        let end = at + text[at + 7..].find('"').unwrap() + 8;
        documents.push(text.replace(&text[at..end], ""));
    }
    assert_eq!(documents[0], documents[1]);
    let doc = roxmltree::Document::parse(&documents[0]).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2);
    for (case, f) in cases
        .iter()
        .zip(r["findings"]["listed"].as_array().unwrap())
    {
        assert_eq!(
            case.attribute("name").unwrap(),
            format!(
                "{}: {}",
                f["id"].as_str().unwrap(),
                f["title"].as_str().unwrap()
            )
        );
        assert_eq!(case.attribute("classname"), Some("two-causes"));
        let failure = case
            .children()
            .find(|n| n.has_tag_name("failure"))
            .expect("a failing case");
        assert_eq!(
            failure.attribute("message").unwrap(),
            format!(
                "{} seeds fail this way, first seed {}; repro: {}",
                f["seeds"],
                f["first_seed"],
                f["repro"].as_str().unwrap()
            )
        );
    }
}

#[test]
fn shrink_writes_one_reproducer_per_finding() {
    let dir = scratch("shrink");
    let file = two_causes(&dir, true);
    let out = dir.join("shrunk");
    let r = sweep(
        &[
            "explore",
            &file,
            "--seeds",
            "0..100",
            "--shrink",
            "--out",
            out.to_str().unwrap(),
        ],
        1,
    );
    let shrunk: Vec<String> = r["findings"]["listed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["shrunk"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = [5, 7]
        .iter()
        .map(|s| {
            out.join(format!("two-causes-seed-{s}.yaml"))
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(shrunk, expected);
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    assert_eq!(files, expected);
    // Each file states its finding's failure: it passes as a regression
    // test while the defect is there.
    for path in &shrunk {
        let o = run(&["scenario", path]);
        code(&o, 0);
        assert!(String::from_utf8_lossy(&o.stdout).contains("violated.no-stranded-attempt"));
    }
}
