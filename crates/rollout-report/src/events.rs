//! The event trace as JSON Lines: one event per line, in order, with the
//! scenario it belongs to ([`machine::trace`](super::machine::trace)). The same events, in the same order, are what the
//! trace hash is computed over.
//!
//! [`write_jsonl`] writes one run at a time, so a suite's trace streams to
//! its file as results arrive instead of being held whole.

use std::io::{self, Write};

use super::ScenarioReport;
use super::machine::trace::Line;
use rollout_simulator::RunResult;

/// Writes every event of one run, each a [`Line`].
pub fn write_jsonl(
    out: &mut impl Write,
    report: &ScenarioReport,
    run: &RunResult,
) -> io::Result<()> {
    for event in &run.trace.events {
        serde_json::to_writer(&mut *out, &Line::new(&report.name, report.seed, event))?;
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
