//! JUnit XML: one test case per (scenario, seed), for CI test viewers.
//!
//! A failing case carries every failed expectation with expected and actual
//! values, every violated invariant, and the repro command.
//!
//! Every text is passed through [`escape::xml_chars`]: XML 1.0 cannot carry
//! most control characters even as references, and quick-junit would
//! silently drop them (and strip anything that looks like an ANSI escape),
//! so a name with an ESC in it is shown as `\u{1b}` rather than changed into
//! another name. A suite builds its cases with [`case`] as results arrive,
//! keeping only these, and renders them with [`render_cases`] at the end.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::{ScenarioReport, escape};

/// One scenario run's test case, with its wall time.
pub fn case(r: &ScenarioReport) -> (TestCase, Duration) {
    let x = |text: &str| escape::xml_chars(text).into_owned();
    let time = Duration::from_secs_f64(r.wall_time_us / 1e6);
    let status = if r.passed {
        TestCaseStatus::success()
    } else {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let failed: Vec<String> = r
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| {
                format!(
                    "{}: expected {}, actual {}",
                    c.name,
                    c.expected.human(),
                    c.actual.human()
                )
            })
            .collect();
        let violated: Vec<String> = r
            .invariants
            .iter()
            .filter(|i| !i.held)
            .flat_map(|i| {
                i.violations
                    .iter()
                    .map(move |v| format!("invariant {}: {v}", i.name))
            })
            .collect();
        let first = failed
            .first()
            .or(violated.first())
            .cloned()
            .unwrap_or_else(|| "failed".into());
        status.set_message(x(&first));
        status.set_type("expectation");
        let mut description = failed.join("\n");
        for v in &violated {
            description.push('\n');
            description.push_str(v);
        }
        description.push_str(&format!("\nrepro: {}", r.repro));
        status.set_description(x(description.trim_start()));
        status
    };
    let mut case = TestCase::new(x(&format!("{} [seed {}]", r.name, r.seed)), status);
    case.set_classname(x(&r.file));
    case.set_time(time);
    case.set_assertions(r.checks.len() + r.invariants.len());
    case.add_property(Property::new("engine", r.engine.as_str()));
    case.add_property(Property::new("trace_hash", r.trace_hash.as_str()));
    case.add_property(Property::new("repro", x(&r.repro)));
    (case, time)
}

/// The JUnit document for these cases, in order.
pub fn render_cases(cases: impl IntoIterator<Item = (TestCase, Duration)>) -> String {
    let mut report = Report::new("rollout-sim");
    let mut suite = TestSuite::new("scenarios");
    let mut total = Duration::ZERO;
    for (case, time) in cases {
        total += time;
        suite.add_test_case(case);
    }
    suite.set_time(total);
    report.add_test_suite(suite);
    report.set_time(total);
    report.to_string().unwrap_or_default()
}

/// The JUnit document for these scenario reports.
pub fn render(reports: &[&ScenarioReport]) -> String {
    render_cases(reports.iter().map(|r| case(r)))
}
