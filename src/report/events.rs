//! The event trace as JSON Lines: one event per line, in order, with the
//! scenario it belongs to. The same events, in the same order, are what the
//! trace hash is computed over.

use serde::Serialize;

use super::ScenarioReport;
use crate::sim::{RunResult, TraceEvent};

#[derive(Serialize)]
struct EventLine<'a> {
    scenario: &'a str,
    seed: u64,
    #[serde(flatten)]
    event: &'a TraceEvent,
}

/// Every event of every run.
pub fn render_jsonl(runs: &[(&ScenarioReport, &RunResult)]) -> String {
    let mut out = String::new();
    for (report, run) in runs {
        for event in &run.trace.events {
            let line = EventLine {
                scenario: &report.name,
                seed: report.seed,
                event,
            };
            out.push_str(&serde_json::to_string(&line).unwrap_or_default());
            out.push('\n');
        }
    }
    out
}
