//! Persisted spans as files: JSON Lines, or an SQLite database.
//!
//! This is spec 1958's "retry-recovery telemetry becomes queryable from
//! persisted spans". The SQLite file has one table, `spans`, one row per span,
//! with the reward name and value as columns:
//!
//! ```sql
//! select reward_value from spans
//! where reward_name = 'runner.poll_retry_backoff_ms_before_rollout';
//! ```
//!
//! `reward_value` has NUMERIC affinity, so integral values read back as
//! integers (`35`, not `35.0`).

use std::path::Path;

use serde::Serialize;

use super::ScenarioReport;
use super::write::{OutputError, write_atomically, write_with};
use crate::core::telemetry::Span;
use crate::sim::RunResult;

#[derive(Serialize)]
struct SpanLine<'a> {
    scenario: &'a str,
    seed: u64,
    engine: &'a str,
    #[serde(flatten)]
    span: &'a Span,
}

/// Every span of every run, one JSON object per line, in persistence order.
pub fn render_jsonl(runs: &[(&ScenarioReport, &RunResult)]) -> String {
    let mut out = String::new();
    for (report, run) in runs {
        for span in run.snapshot.spans.all() {
            let line = SpanLine {
                scenario: &report.name,
                seed: report.seed,
                engine: report.engine.as_str(),
                span,
            };
            out.push_str(&serde_json::to_string(&line).unwrap_or_default());
            out.push('\n');
        }
    }
    out
}

/// The schema of the `spans` table.
pub const SQLITE_SCHEMA: &str = "CREATE TABLE spans (
    scenario TEXT NOT NULL,
    seed INTEGER NOT NULL,
    engine TEXT NOT NULL,
    rollout_id TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    sequence_id INTEGER NOT NULL,
    span_id TEXT NOT NULL,
    name TEXT NOT NULL,
    start_ms NUMERIC NOT NULL,
    end_ms NUMERIC NOT NULL,
    reward_name TEXT,
    reward_value NUMERIC,
    attributes TEXT NOT NULL
);
CREATE INDEX spans_by_attempt ON spans (attempt_id, sequence_id);
CREATE INDEX spans_by_reward ON spans (reward_name);";

/// Writes `.jsonl` or `.db` (SQLite) by the path's extension.
pub fn write(path: &Path, runs: &[(&ScenarioReport, &RunResult)]) -> Result<(), OutputError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl") => write_atomically(path, render_jsonl(runs).as_bytes()),
        Some("db" | "sqlite" | "sqlite3") => write_with(path, |temp| {
            write_sqlite(temp, runs).map_err(|e| e.to_string())
        }),
        _ => Err(OutputError::new(
            path,
            "the spans file must end in .jsonl (JSON Lines) or .db (SQLite)",
        )),
    }
}

fn write_sqlite(path: &Path, runs: &[(&ScenarioReport, &RunResult)]) -> rusqlite::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut db = rusqlite::Connection::open(path)?;
    db.execute_batch(SQLITE_SCHEMA)?;
    let tx = db.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO spans VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for (report, run) in runs {
            for span in run.snapshot.spans.all() {
                let reward = span.reward();
                insert.execute(rusqlite::params![
                    report.name,
                    report.seed as i64,
                    report.engine.as_str(),
                    span.rollout_id.as_str(),
                    span.attempt_id.to_string(),
                    span.sequence_id,
                    span.span_id.to_string(),
                    span.name,
                    span.start.as_secs_f64() * 1e3,
                    span.end.as_secs_f64() * 1e3,
                    reward.as_ref().map(|r| r.name.clone()),
                    reward.as_ref().map(|r| r.value),
                    serde_json::to_string(&span.attributes).unwrap_or_default(),
                ])?;
            }
        }
    }
    tx.commit()?;
    db.close().map_err(|(_, e)| e)
}
