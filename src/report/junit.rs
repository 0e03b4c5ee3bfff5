//! JUnit XML: one test case per (scenario, seed), for CI test viewers.
//!
//! A failing case carries every failed expectation with expected and actual
//! values, every violated invariant, and the repro command.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::ScenarioReport;

/// The JUnit document for these scenario reports.
pub fn render(reports: &[&ScenarioReport]) -> String {
    let mut report = Report::new("rollout-sim");
    let mut suite = TestSuite::new("scenarios");
    let mut total = Duration::ZERO;
    for r in reports {
        let time = Duration::from_secs_f64(r.wall_time_us / 1e6);
        total += time;
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
            status.set_message(first);
            status.set_type("expectation");
            let mut description = failed.join("\n");
            for v in &violated {
                description.push('\n');
                description.push_str(v);
            }
            description.push_str(&format!("\nrepro: {}", r.repro));
            status.set_description(description.trim_start().to_string());
            status
        };
        let mut case = TestCase::new(format!("{} [seed {}]", r.name, r.seed), status);
        case.set_classname(r.file.clone());
        case.set_time(time);
        case.set_assertions(r.checks.len() + r.invariants.len());
        case.add_property(Property::new("engine", r.engine.as_str()));
        case.add_property(Property::new("trace_hash", r.trace_hash.as_str()));
        case.add_property(Property::new("repro", r.repro.as_str()));
        suite.add_test_case(case);
    }
    suite.set_time(total);
    report.add_test_suite(suite);
    report.set_time(total);
    report.to_string().unwrap_or_default()
}
