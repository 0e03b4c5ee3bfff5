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

use super::machine::junit::{Case, REPORT_NAME, SUITE_NAME};
use super::{ScenarioReport, escape};

/// One scenario run's test case ([`Case`]), with its wall time.
pub fn case(r: &ScenarioReport) -> (TestCase, Duration) {
    let case = Case::from(r);
    let x = |text: &str| escape::xml_chars(text).into_owned();
    let status = match &case.failure {
        None => TestCaseStatus::success(),
        Some(failure) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(x(&failure.message));
            status.set_type(failure.kind);
            status.set_description(x(&failure.description));
            status
        }
    };
    let mut test_case = TestCase::new(x(&case.name), status);
    test_case.set_classname(x(case.classname));
    test_case.set_time(case.time);
    test_case.set_assertions(case.assertions);
    for property in &case.properties {
        test_case.add_property(Property::new(property.name, x(property.value)));
    }
    (test_case, case.time)
}

/// The JUnit document for these cases, in order.
pub fn render_cases(cases: impl IntoIterator<Item = (TestCase, Duration)>) -> String {
    let mut report = Report::new(REPORT_NAME);
    let mut suite = TestSuite::new(SUITE_NAME);
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
