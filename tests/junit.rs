//! JUnit XML against what Jenkins accepts (`tests/junit/junit.xsd`, our own
//! statement of the xUnit plugin's junit-10 schema, stricter where it costs
//! nothing; and the plugin's `junit-10.xsd` itself when one is at
//! `../shared/junit-10.xsd` or `$ROLLOUT_SIM_JUNIT_XSD`; both read by
//! `tests/junit/xsd.rs`; the published schema is not copied into this
//! repository, whose rule is that fetched files stay out of it): every kind
//! of document the tool writes is valid (a passing suite, a failing one, one
//! with an invalid scenario file, `explore --junit` clean, with a finding,
//! with a baseline and with an unreached goal), and the validator rejects
//! what the XSD forbids, among it the shape these files had before
//! (`skipped` on `<testsuites>`, `assertions` and `<properties>` on
//! `<testcase>`).
//!
//! Every command runs twice: the documents, trace hashes included, must be
//! the same byte for byte but for wall times.

mod common;
#[path = "junit/xsd.rs"]
mod xsd;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn schema() -> &'static xsd::Schema {
    static SCHEMA: OnceLock<xsd::Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/junit/junit.xsd");
        xsd::Schema::parse(&std::fs::read_to_string(path).unwrap())
    })
}

/// The xUnit plugin's own junit-10.xsd, where the machine has a copy.
fn jenkins() -> Option<&'static xsd::Schema> {
    static SCHEMA: OnceLock<Option<xsd::Schema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let path = std::env::var_os("ROLLOUT_SIM_JUNIT_XSD").map_or_else(
                || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/junit-10.xsd"),
                PathBuf::from,
            );
            let text = std::fs::read_to_string(&path).ok()?;
            eprintln!("also validating against {}", path.display());
            Some(xsd::Schema::parse(&text))
        })
        .as_ref()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rollout-sim-junit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `args` with `--junit` twice, each time into a fresh file: checks
/// the exit code and that the two documents agree; the first document
/// (times included) and its stderr.
fn junit(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let mut documents = Vec::new();
    for i in 0..2 {
        let xml = dir.join(format!("junit-{i}.xml"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
            .args(args)
            .arg("--junit")
            .arg(&xml)
            .env("NO_COLOR", "1")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        documents.push((std::fs::read_to_string(&xml).unwrap(), stderr));
    }
    assert_eq!(
        common::blank_times(&documents[0].0),
        common::blank_times(&documents[1].0),
        "two runs of {args:?} wrote different JUnit"
    );
    documents.swap_remove(0)
}

/// Asserts that `doc` is valid against our XSD, and the plugin's if here.
fn valid(doc: &str) {
    assert_eq!(schema().validate(doc), Vec::<String>::new(), "{doc}");
    if let Some(jenkins) = jenkins() {
        assert_eq!(
            jenkins.validate(doc),
            Vec::<String>::new(),
            "junit-10.xsd: {doc}"
        );
    }
}

/// The document `scenario --junit` wrote before it followed the XSD.
const BEFORE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="rollout-sim" tests="1" skipped="0" failures="1" errors="0" time="0.001">
    <testsuite name="scenarios" tests="1" skipped="0" errors="0" failures="1" time="0.001">
        <testcase name="c02-expects-36 [seed 0]" classname="c02-36.yaml" assertions="11" time="0.001">
            <properties>
                <property name="engine" value="virtual"/>
            </properties>
            <failure message="expected 36, actual 35" type="expectation">expected 36, actual 35</failure>
        </testcase>
    </testsuite>
</testsuites>
"#;

#[test]
fn the_validator_rejects_what_the_xsd_forbids() {
    assert_eq!(
        schema().validate(BEFORE),
        [
            "testsuites: attribute `skipped` is not allowed (allowed: name, tests, failures, errors, time)",
            "testsuites/testsuite[1]/testcase[1]: attribute `assertions` is not allowed (allowed: name, classname, time)",
            "testsuites/testsuite[1]/testcase[1]/properties[1]: element `properties` is not allowed in `testcase` (allowed: error, failure, skipped, system-err, system-out)",
        ]
    );
    // Each other kind of rule, on a document otherwise valid.
    let cases = [
        (
            r#"<testsuites><testsuite name="s" tests="0" failures="0"/></testsuites>"#,
            vec!["testsuites/testsuite[1]: the required attribute `errors` is missing"],
        ),
        (
            r#"<testsuite name="s" tests="0" failures="0" errors="0" time="1.5s"/>"#,
            vec![r#"testsuite/@time: "1.5s" does not match the type SECONDS"#],
        ),
        (
            r#"<testsuites><testcase name="c"/></testsuites>"#,
            vec![
                "testsuites/testcase[1]: element `testcase` is not allowed in `testsuites` (allowed: testsuite)",
            ],
        ),
        (
            r#"<testsuite name="s" tests="0" failures="0" errors="0"><properties>x</properties></testsuite>"#,
            vec![r#"testsuite/properties[1]: text "x" in an element that is not mixed"#],
        ),
        (
            r#"<testsuite name="s" tests="1" failures="1" errors="0"><testcase name="c"><failure><b/></failure></testcase></testsuite>"#,
            vec![
                "testsuite/testcase[1]/failure[1]/b[1]: element `b` is not allowed in `failure` (allowed: )",
            ],
        ),
        (
            r#"<testsuite name="s" tests="0" failures="0" errors="0"><system-out a="1">x</system-out></testsuite>"#,
            vec!["testsuite/system-out[1]: attribute `a` is not allowed"],
        ),
        (
            r#"<testsuites><testsuite name="s" tests="0" failures="0" errors="0"><testsuite name="inner" tests="0" failures="0" errors="0"/></testsuite></testsuites>"#,
            vec![
                "testsuites/testsuite[1]/testsuite[1]: element `testsuite` is not allowed in `testsuite` (allowed: properties, system-err, system-out, testcase)",
            ],
        ),
        (
            r#"<report/>"#,
            vec![
                "report: not a global element of the schema (error, failure, properties, property, skipped, system-err, system-out, testcase, testsuite, testsuites)",
            ],
        ),
    ];
    for (doc, errors) in cases {
        assert_eq!(schema().validate(doc), errors, "{doc}");
    }
    // What it allows, in every place it allows it.
    valid(
        r#"<testsuites name="n" time="1234.5" tests="2" failures="1" errors="0">
  <testsuite name="s" tests="2" failures="1" errors="0" time="0.5" skipped="0" hostname="h">
    <properties><property name="p" value="v"/></properties>
    <testcase name="a" classname="c" time="anything"><system-out>o</system-out><failure type="t">f</failure><system-err/></testcase>
    <testcase name="b"><error message="m">e</error><skipped/></testcase>
    <system-out>x</system-out>
  </testsuite>
</testsuites>"#,
    );
}

/// The plugin's schema, where the machine has it, rejects the old shape
/// for the same three reasons ours does.
#[test]
fn the_plugins_own_xsd_rejects_the_old_shape_too() {
    let Some(jenkins) = jenkins() else {
        eprintln!(
            "no junit-10.xsd at ../shared/junit-10.xsd or $ROLLOUT_SIM_JUNIT_XSD: only ours checked"
        );
        return;
    };
    let errors = jenkins.validate(BEFORE);
    assert_eq!(errors.len(), 3, "{errors:?}");
    for (error, starts) in errors.iter().zip([
        "testsuites: attribute `skipped` is not allowed",
        "testsuites/testsuite[1]/testcase[1]: attribute `assertions` is not allowed",
        "testsuites/testsuite[1]/testcase[1]/properties[1]: element `properties` is not allowed in `testcase`",
    ]) {
        assert!(error.starts_with(starts), "{error}");
    }
}

#[test]
fn a_passing_suite_is_valid() {
    let dir = scratch("pass");
    let (doc, _) = junit(&dir, &["scenario", "scenarios/c02.yaml"], 0);
    valid(&doc);
    // c02: 5 expectations (the rollout, two rewards, the spans,
    // finished_at) and the 6 invariants; its trace hash is pinned in
    // tests/snapshots/trace-hashes.txt.
    assert_eq!(
        common::blank_times(&doc),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="rollout-sim" tests="1" failures="0" errors="0" time="T">
    <testsuite name="scenarios" tests="1" failures="0" errors="0" time="T">
        <testcase name="c02-deterministic-backoff-totals [seed 0]" classname="scenarios/c02.yaml" time="T">
            <system-out>engine: virtual
trace_hash: 1b222016f341ad18
judged: 5 expectations, 6 invariants
repro: cargo run -- scenario scenarios/c02.yaml --seed 0 --engine virtual
</system-out>
        </testcase>
    </testsuite>
</testsuites>
"#
    );
}

/// c02 expecting a backoff of 36 ms where the spec gives 35 (5 + 10 + 20).
fn c02_expecting_36(dir: &Path) -> String {
    let path = dir.join("c02-36.yaml");
    let source = std::fs::read_to_string("scenarios/c02.yaml")
        .unwrap()
        .replace("rollout: 35", "rollout: 36")
        .replace(
            "name: c02-deterministic-backoff-totals",
            "name: c02-expects-36",
        );
    std::fs::write(&path, source).unwrap();
    path.display().to_string()
}

#[test]
fn a_failing_suite_is_valid() {
    let dir = scratch("fail");
    let failing = c02_expecting_36(&dir);
    let (doc, _) = junit(&dir, &["scenario", "scenarios/c02.yaml", &failing], 1);
    valid(&doc);
    let parsed = roxmltree::Document::parse(&doc).unwrap();
    let suites = parsed.root_element();
    let suite = suites.first_element_child().unwrap();
    for node in [suites, suite] {
        assert_eq!(
            ["tests", "failures", "errors"].map(|a| node.attribute(a).unwrap()),
            ["2", "1", "0"]
        );
    }
    let failure = parsed
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(
        failure.attribute("message"),
        Some("rewards.r1.runner.poll_retry_backoff_ms_before_rollout: expected 36, actual 35")
    );
    assert_eq!(
        failure.text(),
        Some(
            format!(
                "rewards.r1.runner.poll_retry_backoff_ms_before_rollout: expected 36, actual 35\n\
                 repro: cargo run -- scenario {failing} --seed 0 --engine virtual"
            )
            .as_str()
        )
    );
}

#[test]
fn an_invalid_file_is_a_test_case_with_an_error() {
    let dir = scratch("invalid");
    // The misspelt key is at line 2, column 1; the duplicate name has no
    // place in its file.
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, "name: broken\nrolouts: []\n").unwrap();
    let copy = dir.join("c02-copy.yaml");
    std::fs::copy("scenarios/c02.yaml", &copy).unwrap();
    let (broken, copy) = (broken.display().to_string(), copy.display().to_string());
    let (doc, stderr) = junit(&dir, &["scenario", &broken, "scenarios/c02.yaml", &copy], 2);
    valid(&doc);
    let unknown = format!(
        "{broken}:2:1: unknown field `rolouts`, expected one of `name`, `description`, `seed`, \
         `seeds`, `engine`, `runner`, `workers`, `rollouts`, `faults`, `queue`, `stop`, `expect`, \
         `swarm`; did you mean `rollouts`?"
    );
    let duplicate = format!(
        "{copy}: scenario name `c02-deterministic-backoff-totals` is already used by \
         scenarios/c02.yaml; names are unique in a suite"
    );
    // The cases say what stderr says, in input order.
    assert_eq!(stderr, format!("{unknown}\n{duplicate}\n"));
    assert_eq!(
        common::blank_times(&doc),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="rollout-sim" tests="3" failures="0" errors="2" time="T">
    <testsuite name="scenarios" tests="3" failures="0" errors="2" time="T">
        <testcase name="{broken}" classname="{broken}">
            <error message="{unknown}" type="invalid scenario">{unknown}</error>
        </testcase>
        <testcase name="c02-deterministic-backoff-totals [seed 0]" classname="scenarios/c02.yaml" time="T">
            <system-out>engine: virtual
trace_hash: 1b222016f341ad18
judged: 5 expectations, 6 invariants
repro: cargo run -- scenario scenarios/c02.yaml --seed 0 --engine virtual
</system-out>
        </testcase>
        <testcase name="{copy}" classname="{copy}">
            <error message="{duplicate}" type="invalid scenario">{duplicate}</error>
        </testcase>
    </testsuite>
</testsuites>
"#
        )
    );
}

#[test]
fn explore_with_a_finding_has_its_test_case_exactly() {
    let dir = scratch("finding");
    let file = "scenarios/research/stranded-attempts.yaml";
    let args = [
        "explore",
        file,
        "--seeds",
        "0..1000",
        "--reassignment",
        "reference",
    ];
    let (doc, _) = junit(&dir, &args, 1);
    valid(&doc);
    // The README's sweep: 529 of 1000 seeds fail with one cause, first seed 2.
    let repro = "cargo run -- scenario scenarios/research/stranded-attempts.yaml --seed 2 \
                 --engine virtual --reassignment reference";
    let title = "invariant no-stranded-attempt; rollouts.r-&lt;n&gt;.status: expected succeeded, actual running";
    assert_eq!(
        common::blank_times(&doc),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="rollout-sim" tests="1" failures="1" errors="0" time="T">
    <testsuite name="explore research-stranded-attempts" tests="1" failures="1" errors="0" time="T">
        <properties>
            <property name="file" value="{file}"/>
            <property name="scenario_hash" value="{hash}"/>
            <property name="engine" value="virtual"/>
            <property name="seeds" value="0..1000"/>
            <property name="runs" value="1000"/>
            <property name="failed" value="529"/>
        </properties>
        <testcase name="21882b4ce47c: {title}" classname="research-stranded-attempts">
            <failure message="529 seeds fail this way, first seed 2; repro: {repro}" type="finding">{title}
repro: {repro}</failure>
            <system-out>id: 21882b4ce47c
seeds: 529
first_seed: 2
repro: {repro}
</system-out>
        </testcase>
    </testsuite>
</testsuites>
"#,
            hash = scenario_hash(file),
        )
    );
}

/// A file's `scenario_hash` as the JSON report gives it.
fn scenario_hash(file: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args(["scenario", file, "--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["scenarios"][0]["scenario_hash"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_clean_sweep_is_one_passing_test_case() {
    let dir = scratch("clean");
    let file = "scenarios/c02.yaml";
    let (doc, _) = junit(&dir, &["explore", file, "--seeds", "0..20"], 0);
    valid(&doc);
    assert_eq!(
        common::blank_times(&doc),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="rollout-sim" tests="1" failures="0" errors="0" time="T">
    <testsuite name="explore c02-deterministic-backoff-totals" tests="1" failures="0" errors="0" time="T">
        <properties>
            <property name="file" value="{file}"/>
            <property name="scenario_hash" value="{hash}"/>
            <property name="engine" value="virtual"/>
            <property name="seeds" value="0..20"/>
            <property name="runs" value="20"/>
            <property name="failed" value="0"/>
        </properties>
        <testcase name="seeds 0..20" classname="c02-deterministic-backoff-totals">
            <system-out>passed: 20 of 20 seeds
</system-out>
        </testcase>
    </testsuite>
</testsuites>
"#,
            hash = scenario_hash(file),
        )
    );
}

#[test]
fn a_fixed_finding_and_an_unreached_goal_are_valid_cases() {
    let dir = scratch("baseline");
    let file = "scenarios/research/stranded-attempts.yaml";
    let before = dir.join("before.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args([
            "explore",
            file,
            "--seeds",
            "0..50",
            "--reassignment",
            "reference",
        ])
        .args(["--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    std::fs::write(&before, &out.stdout).unwrap();
    // The default policy fixes it: the finding passes, and so do the seeds.
    let (doc, _) = junit(
        &dir,
        &[
            "explore",
            file,
            "--seeds",
            "0..50",
            "--baseline",
            before.to_str().unwrap(),
        ],
        0,
    );
    valid(&doc);
    let parsed = roxmltree::Document::parse(&doc).unwrap();
    let cases: Vec<_> = parsed
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            (
                n.attribute("name").unwrap(),
                n.first_element_child().unwrap().tag_name().name(),
                n.first_element_child().unwrap().text().unwrap(),
            )
        })
        .collect();
    let repro = "cargo run -- scenario scenarios/research/stranded-attempts.yaml --seed 2 \
                 --engine virtual --reassignment reference";
    let seeds = |listed: &serde_json::Value| listed["findings"]["listed"][0]["seeds"].clone();
    let baseline: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        cases,
        [
            (
                "21882b4ce47c: invariant no-stranded-attempt; rollouts.r-<n>.status: expected succeeded, actual running",
                "system-out",
                format!(
                    "id: 21882b4ce47c\nseeds: {}\nfirst_seed: 2\nstatus: fixed\nrepro: {repro}\n",
                    seeds(&baseline)
                )
                .as_str()
            ),
            ("seeds 0..50", "system-out", "passed: 50 of 50 seeds\n"),
        ]
    );

    // c02 with a goal of its own that no run reaches (r1 always succeeds).
    let goals = dir.join("c02-goals.yaml");
    let source = std::fs::read_to_string("scenarios/c02.yaml")
        .unwrap()
        .replace(
            "expect:\n",
            "expect:\n  sometimes:\n    r1-failed:\n      rollouts: { r1: failed }\n",
        );
    std::fs::write(&goals, source).unwrap();
    let (doc, _) = junit(
        &dir,
        &["explore", goals.to_str().unwrap(), "--seeds", "0..10"],
        1,
    );
    valid(&doc);
    let parsed = roxmltree::Document::parse(&doc).unwrap();
    let goal = parsed
        .descendants()
        .find(|n| n.attribute("name") == Some("goal r1-failed"))
        .expect("a case for the goal");
    let failure = goal.first_element_child().unwrap();
    assert_eq!(
        (failure.tag_name().name(), failure.attribute("message")),
        (
            "failure",
            Some("no seed of 0..10 reached it (expect.sometimes)")
        )
    );
    assert_eq!(
        parsed.root_element().attribute("failures"),
        Some("1"),
        "{doc}"
    );
}

#[test]
fn every_kind_of_case_and_hostile_text_is_valid() {
    use rollout_sim::report::machine::junit::{
        Case, CaseResult, Document, Problem, ProblemKind, Property, REPORT_NAME, Suite,
    };
    let evil = "a\tb\nc \"d\" <e> & f\r\u{1b}\u{0}";
    let problem = |kind| Problem {
        kind,
        message: evil.into(),
        text: evil.into(),
    };
    let kinds = [
        (ProblemKind::Expectation, false),
        (ProblemKind::InvalidScenario, true),
        (ProblemKind::Finding, false),
        (ProblemKind::UnlistedFindings, false),
        (ProblemKind::UnreachedGoal, false),
    ];
    let mut cases: Vec<Case> = kinds
        .iter()
        .map(|&(kind, error)| Case {
            name: format!("{evil} {}", kind.as_str()),
            classname: evil.into(),
            time: Some(std::time::Duration::from_secs(86_400 * 365)),
            result: if error {
                CaseResult::Error(problem(kind))
            } else {
                CaseResult::Failed(problem(kind))
            },
            system_out: vec![("repro", evil.into())],
        })
        .collect();
    cases.push(Case {
        name: "passing".into(),
        classname: String::new(),
        time: None,
        result: CaseResult::Passed,
        system_out: Vec::new(),
    });
    let doc = Document {
        name: REPORT_NAME,
        suites: vec![
            Suite {
                name: evil.into(),
                time: std::time::Duration::from_nanos(1),
                properties: vec![Property {
                    name: "file",
                    value: evil.into(),
                }],
                cases,
            },
            Suite {
                name: "empty".into(),
                time: std::time::Duration::ZERO,
                properties: Vec::new(),
                cases: Vec::new(),
            },
        ],
    };
    let xml = rollout_sim::report::render_junit_document(&doc);
    valid(&xml);
    let parsed = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        ["tests", "failures", "errors"].map(|a| parsed.root_element().attribute(a).unwrap()),
        ["6", "4", "1"]
    );
}
