//! The event trace as JSON Lines: one event per line, in order, with the
//! scenario it belongs to. The same events, in the same order, are what the
//! trace hash is computed over.
//!
//! [`write_jsonl`] writes one run at a time, so a suite's trace streams to
//! its file as results arrive instead of being held whole.

use std::io::{self, Write};

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

/// Writes every event of one run.
pub fn write_jsonl(
    out: &mut impl Write,
    report: &ScenarioReport,
    run: &RunResult,
) -> io::Result<()> {
    for event in &run.trace.events {
        let line = EventLine {
            scenario: &report.name,
            seed: report.seed,
            event,
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Every event of every run.
pub fn render_jsonl(runs: &[(&ScenarioReport, &RunResult)]) -> String {
    let mut out = Vec::new();
    for (report, run) in runs {
        let _ = write_jsonl(&mut out, report, run);
    }
    String::from_utf8_lossy(&out).into_owned()
}
