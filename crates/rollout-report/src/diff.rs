//! `rollout-sim diff` for people: one line per comparison, a check or a
//! cross, what agreed; for a comparison that failed, the first place the
//! two sides part, each divergent event as its trace JSON line.

use std::fmt::Write as _;

use rollout_explore::{Comparison, DiffReport, Divergence};

use super::human::Style;
use super::machine::trace::Event;

fn event_line(event: Option<&rollout_simulator::TraceEvent>) -> String {
    match event {
        Some(e) => serde_json::to_string(&Event::from(e)).unwrap_or_default(),
        None => "(no event: the trace ended)".to_string(),
    }
}

fn sides(c: Comparison) -> (String, String) {
    match c {
        Comparison::MetricsOnOff(_) => ("metrics on".into(), "metrics off".into()),
        Comparison::SameTrace(a, b) | Comparison::SameOutcomes(a, b) => {
            (a.to_string(), b.to_string())
        }
    }
}

/// The terminal report of `diff`.
pub fn render_human(report: &DiffReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} · seed {}",
        style.bold("Diff"),
        super::escape::terminal(&report.file),
        report.seed
    );
    for c in &report.compared {
        let mark = if c.held() {
            style.green("✓")
        } else {
            style.red("✗")
        };
        let _ = writeln!(out, "    {mark} {}: {}", c.comparison, c.detail);
        let (left, right) = sides(c.comparison);
        match &c.divergence {
            None => {}
            Some(Divergence::Event {
                index,
                left: l,
                right: r,
            }) => {
                let width = left.len().max(right.len());
                let _ = writeln!(out, "      first divergent event: #{index}");
                let _ = writeln!(out, "        {left:<width$}  {}", event_line(l.as_ref()));
                let _ = writeln!(out, "        {right:<width$}  {}", event_line(r.as_ref()));
            }
            Some(Divergence::Outcome(text)) => {
                let _ = writeln!(out, "      {}", super::escape::terminal(text));
            }
        }
    }
    let verdict = if report.held() {
        style.green("every comparison held")
    } else {
        style.red("a comparison failed")
    };
    let _ = writeln!(out, "    {verdict}");
    out
}

/// The JSON report of `diff` (`rollout-sim.diff/1`), one line.
pub fn render_json(report: &DiffReport) -> String {
    let mut s =
        serde_json::to_string(&super::machine::diff::Diff::from(report)).unwrap_or_default();
    s.push('\n');
    s
}
