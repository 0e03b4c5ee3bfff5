//! The human report: calm, aligned, coloured only on a terminal.
//!
//! One line per scenario with its verdict and wall time, details (every
//! check with its value, the invariants, the trace hash) for failures or when
//! asked, the repro command for every failure, and a one-line summary.
//!
//! Names, ids, paths and values come from scenario files: every control
//! character in them is shown as an escape (`\x1b`, see
//! [`escape::terminal`]) so that a report cannot recolour or rewrite the
//! terminal it is read on, nor forge a line of its own.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;

use super::{ScenarioReport, SuiteReport, escape};

/// Terminal styling: ANSI colours, or nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// Emit ANSI colour codes.
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub(crate) fn green(self, t: &str) -> String {
        self.paint("1;32", t)
    }
    pub(crate) fn red(self, t: &str) -> String {
        self.paint("1;31", t)
    }
    pub(crate) fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }
    pub(crate) fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
}

/// Formats a wall-clock duration compactly: `41µs`, `1.27ms`, `2.50s`.
pub fn wall(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

fn virtual_ms(ms: f64) -> String {
    rollout_scenario::format_duration(Duration::from_secs_f64(ms / 1e3))
}

/// How much of a scenario [`render_scenario`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Details only for a scenario that fails, its failed checks first
    /// ([`LISTED`] of them at most): a suite's default.
    Failures,
    /// Every scenario's checks, passed or failed, [`LISTED`] of each at most,
    /// then a count of the rest: a single scenario's default, so that
    /// `"*": succeeded` over 10,000 rollouts is a screen, not a scroll.
    Checks,
    /// Every check of every scenario (`--verbose`).
    Every,
}

/// How many passed, and how many failed, checks a scenario lists unless
/// asked for every one; the JSON and JUnit reports always have them all.
pub const LISTED: usize = 20;

/// Text from the scenario, safe on a terminal.
fn t(text: &str) -> std::borrow::Cow<'_, str> {
    escape::terminal(text)
}

/// Renders one scenario, with as much detail as `detail` says.
pub fn render_scenario(report: &ScenarioReport, detail: Detail, style: Style) -> String {
    let detailed = detail != Detail::Failures;
    let mut out = String::new();
    let deterministic = report.determinism.as_ref().is_none_or(|d| d.deterministic);
    let verdict = match (deterministic, report.passed) {
        (false, _) => style.red("  NONDET"),
        (true, true) => style.green("    PASS"),
        (true, false) => style.red("    FAIL"),
    };
    let time = format!(
        "[{:>8}]",
        wall(Duration::from_secs_f64(report.wall_time_us / 1e6))
    );
    let _ = writeln!(
        out,
        "{verdict} {} {} {}",
        style.dim(&time),
        style.bold(&t(&report.name)),
        style.dim(&format!("({})", t(&report.file)))
    );
    if report.passed && deterministic && !detailed {
        return out;
    }
    let pad = " ".repeat(19);
    let _ = writeln!(
        out,
        "{pad}{}",
        style.dim(&format!(
            "seed {}{} · engine {} · virtual time {} · {} events · trace {}",
            report.seed,
            if report.branch.is_empty() {
                String::new()
            } else {
                format!(" · branch {}", report.branch)
            },
            report.engine,
            virtual_ms(report.virtual_time_ms),
            report.events,
            report.trace_hash
        ))
    );
    let cap = if detail == Detail::Every {
        usize::MAX
    } else {
        LISTED
    };
    // The name column fits the checks listed, not those only counted.
    let listed_names = |passed: bool| {
        report
            .checks
            .iter()
            .filter(move |c| c.passed == passed)
            .take(if passed && !detailed { 0 } else { cap })
            .map(|c| t(&c.name).len())
    };
    let width = listed_names(true)
        .chain(listed_names(false))
        .max()
        .unwrap_or(0)
        .max("invariants".len());
    let (mut passed_listed, mut failed_listed) = (0, 0);
    for check in &report.checks {
        let listed = if check.passed {
            &mut passed_listed
        } else {
            &mut failed_listed
        };
        if *listed == cap {
            continue;
        }
        if check.passed {
            if detailed {
                *listed += 1;
                let _ = writeln!(
                    out,
                    "{pad}{} {:width$}  {}",
                    style.green("✓"),
                    t(&check.name),
                    t(&check.actual.human())
                );
            }
        } else {
            *listed += 1;
            let _ = writeln!(
                out,
                "{pad}{} {:width$}  expected {}, actual {}",
                style.red("✗"),
                t(&check.name),
                style.bold(&t(&check.expected.human())),
                style.bold(&t(&check.actual.human()))
            );
        }
    }
    let failed = report.checks.iter().filter(|c| !c.passed).count();
    let unlisted_failed = failed - failed_listed;
    let unlisted_passed = if detailed {
        report.checks.len() - failed - passed_listed
    } else {
        0
    };
    if unlisted_failed > 0 {
        let _ = writeln!(
            out,
            "{pad}{} ... and {unlisted_failed} more failed",
            style.red("✗")
        );
    }
    if unlisted_passed > 0 {
        let _ = writeln!(
            out,
            "{pad}{} ... and {unlisted_passed} more passed",
            style.green("✓")
        );
    }
    if unlisted_failed + unlisted_passed > 0 {
        let _ = writeln!(
            out,
            "{pad}  {}",
            style.dim("--verbose lists every check; --format json and --junit have them all")
        );
    }
    let held = report.invariants.iter().filter(|i| i.held).count();
    let total = report.invariants.len();
    let mark = if held == total {
        style.green("✓")
    } else {
        style.red("✗")
    };
    let _ = writeln!(
        out,
        "{pad}{mark} {:width$}  {held} of {total} held",
        "invariants"
    );
    for inv in report.invariants.iter().filter(|i| !i.held) {
        for violation in &inv.violations {
            let _ = writeln!(
                out,
                "{pad}    {} {}",
                style.red(inv.name.name()),
                t(violation)
            );
        }
        if inv.violation_count > inv.violations.len() {
            let _ = writeln!(
                out,
                "{pad}    {} ... and {} more",
                style.red(inv.name.name()),
                inv.violation_count - inv.violations.len()
            );
        }
    }
    // Goals are never a failure: a mark of their own, not ✓ or ✗.
    for (goal, reached) in &report.sometimes {
        let word = if *reached { "reached" } else { "not reached" };
        let _ = writeln!(out, "{pad}◇ goal {}  {word}", t(goal));
    }
    if detail == Detail::Every && !report.coverage.is_empty() {
        let names: Vec<&str> = report.coverage.iter().map(|g| g.name()).collect();
        let _ = writeln!(out, "{pad}◇ coverage  {}", names.join(", "));
    }
    if let Some(d) = report.determinism.as_ref().filter(|d| !d.deterministic) {
        let at = d.diverged_at.unwrap_or(0);
        let _ = writeln!(
            out,
            "{pad}{} traces diverge at event {at} (run 1: {} events, trace {}; run 2: {} events, trace {})",
            style.red("✗ determinism"),
            d.events[0],
            d.trace_hashes[0],
            d.events[1],
            d.trace_hashes[1]
        );
        let show = |e: &Option<Value>| {
            e.as_ref()
                .map_or("(end of trace)".to_string(), |e| e.to_string())
        };
        let _ = writeln!(out, "{pad}    run 1: {}", show(&d.first_run_event));
        let _ = writeln!(out, "{pad}    run 2: {}", show(&d.second_run_event));
    }
    let deterministic = report.determinism.as_ref().is_none_or(|d| d.deterministic);
    if !report.passed || !deterministic {
        let extra = if deterministic {
            ""
        } else {
            " --check-determinism"
        };
        let _ = writeln!(out, "{pad}repro: {}{extra}", style.bold(&t(&report.repro)));
    }
    out
}

/// Renders the closing summary line.
pub fn render_summary(report: &SuiteReport, style: Style) -> String {
    let s = report.summary;
    let time = format!(
        "[{:>8}]",
        wall(Duration::from_secs_f64(s.wall_time_ms / 1e3))
    );
    let noun = if s.total == 1 {
        "scenario"
    } else {
        "scenarios"
    };
    let failed = if s.failed > 0 {
        style.red(&format!("{} failed", s.failed))
    } else {
        format!("{} failed", s.failed)
    };
    let mut line = format!(
        "{} {} {} {noun} run: {} passed, {failed}",
        style.bold(" Summary"),
        style.dim(&time),
        s.total,
        s.passed
    );
    if s.invalid > 0 {
        line.push_str(&format!(
            ", {}",
            style.red(&format!("{} invalid", s.invalid))
        ));
    }
    if s.cancelled > 0 {
        line.push_str(&format!(
            ", {}",
            style.red(&format!(
                "{} cancelled (not finished: SIGINT or SIGTERM)",
                s.cancelled
            ))
        ));
    }
    line.push('\n');
    line
}
