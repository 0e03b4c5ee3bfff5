//! The JUnit writer's cases that a run of the binary cannot easily reach:
//! a sweep with causes not listed, a guided finding's branch, a baseline,
//! a shard (whose unreached goals it cannot judge), and text that XML
//! would change or cannot carry. `tests/junit.rs` validates the documents
//! the binary writes against the XSD.

use std::time::Duration;

use super::junit::{Case, CaseResult, Document, Problem, ProblemKind, Suite};
use crate::{render_junit_document, render_sweep_junit};

#[test]
fn a_sweep_lists_every_kind_of_case_in_order() {
    let mut report = super::tests::sweep_report();
    report.findings.not_listed = 4;
    report.findings.listed[0].first_branch = "12,40".parse().unwrap();
    let repro = "rollout-sim scenario scenarios/x.yaml --seed 7 --engine turmoil";
    let fixed = "rollout-sim scenario scenarios/x.yaml --seed 1 --engine turmoil";
    let id = rollout_explore::finding_id("invariant backoff-policy");
    let fixed_id = rollout_explore::finding_id("stop: expected <n>, actual <n>");
    // Shards 1 and 3 of 4: the unreached goal `r1-failed` is not judged.
    let expected = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="rollout-sim" tests="3" failures="2" errors="0" time="0.001">
    <testsuite name="explore x" tests="3" failures="2" errors="0" time="0.001">
        <properties>
            <property name="file" value="scenarios/x.yaml"/>
            <property name="scenario_hash" value="0123456789abcdef"/>
            <property name="engine" value="turmoil"/>
            <property name="seeds" value="0..=18446744073709551615"/>
            <property name="runs" value="3"/>
            <property name="failed" value="1"/>
        </properties>
        <testcase name="{id}: invariant backoff-policy" classname="x">
            <failure message="1 seed fails this way, first seed 7; repro: {repro}" type="finding">invariant backoff-policy
repro: {repro}
shrunk: x-seed-7.yaml</failure>
            <system-out>id: {id}
seeds: 1
first_seed: 7
first_branch: 12,40
status: new
repro: {repro}
shrunk: x-seed-7.yaml
</system-out>
        </testcase>
        <testcase name="causes not listed" classname="x">
            <failure message="4 seeds of causes beyond the first 1 fail (counted, not listed)" type="unlisted findings">4 seeds of causes beyond the first 1 fail (counted, not listed)</failure>
        </testcase>
        <testcase name="{fixed_id}: stop: expected &lt;n&gt;, actual &lt;n&gt;" classname="x">
            <system-out>id: {fixed_id}
seeds: 2
first_seed: 1
status: fixed
repro: {fixed}
</system-out>
        </testcase>
    </testsuite>
</testsuites>
"#
    );
    assert_eq!(render_sweep_junit(&report), expected);

    // The whole range: the goal no seed reached fails; with no failing
    // seed, a passing case says so.
    report.shards = vec![1, 2, 3, 4];
    report.partial = false;
    report.findings.listed.clear();
    report.findings.not_listed = 0;
    report.findings.baseline = None;
    report.summary.failed = 0;
    report.summary.passed = 3;
    let doc = render_sweep_junit(&report);
    let cases = doc.split("<testcase ").skip(1).collect::<Vec<_>>();
    assert_eq!(
        cases,
        [
            "name=\"goal r1-failed\" classname=\"x\">\n            <failure message=\"no seed of 0..=18446744073709551615 reached it (expect.sometimes)\" type=\"unreached goal\">no seed of 0..=18446744073709551615 reached it (expect.sometimes)</failure>\n        </testcase>\n        ",
            "name=\"seeds 0..=18446744073709551615\" classname=\"x\">\n            <system-out>passed: 3 of 3 seeds\n</system-out>\n        </testcase>\n    </testsuite>\n</testsuites>\n",
        ]
    );

    // Cancelled: not a whole sweep (the goal is not judged), and not green:
    // an error case for the seeds not run instead of the passing one.
    report.cancelled = true;
    report.partial = true;
    let doc = render_sweep_junit(&report);
    assert!(
        doc.contains("<testsuites name=\"rollout-sim\" tests=\"1\" failures=\"0\" errors=\"1\""),
        "{doc}"
    );
    let cases = doc.split("<testcase ").skip(1).collect::<Vec<_>>();
    assert_eq!(
        cases,
        [
            "name=\"cancelled\" classname=\"x\">\n            <error message=\"cancelled (SIGINT or SIGTERM) after 3 runs of seeds 0..=18446744073709551615: the seeds not run are not judged\" type=\"cancelled\">cancelled (SIGINT or SIGTERM) after 3 runs of seeds 0..=18446744073709551615: the seeds not run are not judged</error>\n        </testcase>\n    </testsuite>\n</testsuites>\n",
        ]
    );
}

#[test]
fn text_is_written_so_that_a_parser_reads_it_back_unchanged() {
    let problem = Problem {
        kind: ProblemKind::InvalidScenario,
        message: "a\tb\nc \"d\" <e> & f\r".into(),
        text: "a\tb\nc \"d\" <e> & f\r\u{1b}".into(),
    };
    let doc = Document {
        name: super::junit::REPORT_NAME,
        suites: vec![
            Suite {
                name: "s\u{7}".into(),
                time: Duration::from_micros(1_234_567),
                properties: Vec::new(),
                cases: vec![Case {
                    name: "n".into(),
                    classname: "c".into(),
                    time: Some(Duration::from_micros(999)),
                    result: CaseResult::Error(problem),
                    system_out: vec![("repro", "x\ny".into())],
                }],
            },
            Suite {
                name: "empty".into(),
                time: Duration::ZERO,
                properties: Vec::new(),
                cases: Vec::new(),
            },
        ],
    };
    let xml = render_junit_document(&doc);
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<testsuites name=\"rollout-sim\" tests=\"1\" failures=\"0\" errors=\"1\" time=\"1.234\">\n    \
<testsuite name=\"s\\u{7}\" tests=\"1\" failures=\"0\" errors=\"1\" time=\"1.234\">\n        \
<testcase name=\"n\" classname=\"c\" time=\"0.000\">\n            \
<error message=\"a&#9;b&#10;c &quot;d&quot; &lt;e&gt; &amp; f&#13;\" type=\"invalid scenario\">a\tb\nc \"d\" &lt;e&gt; &amp; f&#13;\\u{1b}</error>\n            \
<system-out>repro: x\\ny\n</system-out>\n        \
</testcase>\n    \
</testsuite>\n    \
<testsuite name=\"empty\" tests=\"0\" failures=\"0\" errors=\"0\" time=\"0.000\"/>\n\
</testsuites>\n"
    );
    // What a parser reads: the message and text as they were, but for the
    // control character XML cannot carry.
    let parsed = roxmltree::Document::parse(&xml).unwrap();
    let error = parsed
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .unwrap();
    assert_eq!(error.attribute("message"), Some("a\tb\nc \"d\" <e> & f\r"));
    assert_eq!(error.text(), Some("a\tb\nc \"d\" <e> & f\r\\u{1b}"));
}
