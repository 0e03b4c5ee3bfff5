//! Persisted spans as files: JSON Lines, or an SQLite database.
//!
//! This is spec 1958's "retry-recovery telemetry becomes queryable from
//! persisted spans". JSON Lines ([`write_jsonl`]) need nothing; the SQLite
//! database (`SpansDb`, in `spans_db.rs`) needs the crate's `sqlite`
//! feature (on by default), which bundles SQLite. It has one table,
//! `spans`, one row per span ([`SQLITE_SCHEMA`]), with the scenario file,
//! the reward name and value as columns:
//!
//! ```sql
//! select reward_value from spans
//! where reward_name = 'runner.poll_retry_backoff_ms_before_rollout';
//! ```
//!
//! `reward_value` has NUMERIC affinity, so integral values read back as
//! integers (`35`, not `35.0`).

use std::io::{self, Write};

use super::{ScenarioReport, machine};
use rollout_simulator::RunResult;

pub use super::machine::spans::{APPLICATION_ID, SCHEMA_VERSION, SQLITE_SCHEMA};
pub use super::spans_db::SpansDb;

/// Writes every span of one run, one JSON object per line
/// ([`machine::spans::Line`]), in persistence order.
pub fn write_jsonl(
    out: &mut impl Write,
    report: &ScenarioReport,
    run: &RunResult,
) -> io::Result<()> {
    for span in run.snapshot.spans.all() {
        serde_json::to_writer(&mut *out, &machine::spans::Line::new(report, span))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Every span of every run, one JSON object per line, in persistence order.
pub fn render_jsonl(runs: &[(&ScenarioReport, &RunResult)]) -> String {
    let mut out = Vec::new();
    for (report, run) in runs {
        let _ = write_jsonl(&mut out, report, run);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What `--spans` does to an existing database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpansMode {
    /// Its rows are replaced by this run's (`--spans`).
    Replace,
    /// This run's rows are added to its own (`--spans-append`).
    Append,
}
