//! Persisted spans as files: a JSON Lines [`Line`] per span
//! (`--spans FILE.jsonl`), or an SQLite [`Row`] per span in the table
//! [`SQLITE_SCHEMA`] (`--spans FILE.db`, `--spans-append FILE.db`); in
//! persistence order, the runs of a suite in input order.
//!
//! The database says what it is: `PRAGMA application_id` is
//! [`APPLICATION_ID`] and `PRAGMA user_version` is [`SCHEMA_VERSION`].
//! How it is written is the business of [`SpansDb`](crate::SpansDb) and [`write_spans_jsonl`](crate::write_spans_jsonl).

use std::time::Duration;

use serde::{Serialize, Serializer};

use super::{Engine, Text};
use crate::ScenarioReport;
use rollout_core::AttemptId;
use rollout_core::{Attributes, Span, SpanId};

/// One line of a spans JSON Lines file.
#[derive(Serialize)]
pub struct Line<'a> {
    /// The scenario's name.
    #[serde(rename = "scenario")]
    pub scenario: &'a str,
    /// The seed it ran with.
    #[serde(rename = "seed")]
    pub seed: u64,
    /// The engine it ran on.
    #[serde(rename = "engine")]
    pub engine: Engine,
    /// The rollout the span belongs to.
    #[serde(rename = "rollout_id")]
    pub rollout_id: &'a str,
    /// The attempt it belongs to, `{rollout}:attempt-{n}`.
    #[serde(rename = "attempt_id")]
    pub attempt_id: Text<&'a AttemptId>,
    /// 1, 2, 3... in creation order within the attempt.
    #[serde(rename = "sequence_id")]
    pub sequence_id: u32,
    /// `{attempt_id}/{sequence_id}`.
    #[serde(rename = "span_id")]
    pub span_id: Text<&'a SpanId>,
    /// Such as `runner.execute_rollout` or `reward.emit`.
    #[serde(rename = "name")]
    pub name: &'a str,
    /// When it started, on the runner's clock, in ms ([`Millis`]).
    #[serde(rename = "start_ms")]
    pub start_ms: Millis,
    /// When it ended, likewise.
    #[serde(rename = "end_ms")]
    pub end_ms: Millis,
    /// Its attributes: a JSON object, keys in order. A `reward.emit`
    /// span's are `reward_name`, `reward_value` and `rewards: [{name,
    /// value}]`.
    #[serde(rename = "attributes")]
    pub attributes: &'a Attributes,
}

/// A time in milliseconds: a whole number when it is one (`45`), else a
/// fraction (`0.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Millis(pub Duration);

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.subsec_nanos() % 1_000_000 == 0 {
            s.serialize_u64(self.0.as_millis() as u64)
        } else {
            s.serialize_f64(self.0.as_secs_f64() * 1000.0)
        }
    }
}

/// `PRAGMA application_id` of a rollout-sim spans database: "rsim".
pub const APPLICATION_ID: i32 = 0x7273_696d;

/// `PRAGMA user_version` of the schema this version writes. Version 0,
/// from before these were set, is the same table without `file`.
pub const SCHEMA_VERSION: i32 = 1;

// The table and its indexes are kept apart because a run's rows go into a
// table without indexes, which are built once at the end.
macro_rules! spans_table {
    () => {
        "CREATE TABLE spans (
    file TEXT NOT NULL,
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
);"
    };
}
macro_rules! spans_indexes {
    () => {
        "
CREATE INDEX spans_by_attempt ON spans (attempt_id, sequence_id);
CREATE INDEX spans_by_reward ON spans (reward_name);"
    };
}

/// The schema of the `spans` table, with its indexes: one [`Row`] per
/// span. `start_ms`, `end_ms` and `reward_value` have NUMERIC affinity,
/// so integral values read back as integers (`35`, not `35.0`).
pub const SQLITE_SCHEMA: &str = concat!(spans_table!(), spans_indexes!());
/// [`SQLITE_SCHEMA`]'s table alone.
// Read only by the database writer and the tests.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) const SQLITE_TABLE: &str = spans_table!();
/// [`SQLITE_SCHEMA`]'s indexes alone.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) const SQLITE_INDEXES: &str = spans_indexes!();

/// The columns of [`SQLITE_SCHEMA`], in order: [`Row`]'s fields.
pub const COLUMNS: [&str; 14] = [
    "file",
    "scenario",
    "seed",
    "engine",
    "rollout_id",
    "attempt_id",
    "sequence_id",
    "span_id",
    "name",
    "start_ms",
    "end_ms",
    "reward_name",
    "reward_value",
    "attributes",
];

/// One row of the `spans` table, a field per column of [`COLUMNS`], in
/// that order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    /// The scenario file, as given on the command line.
    pub file: &'a str,
    /// The scenario's name.
    pub scenario: &'a str,
    /// The seed it ran with, as SQLite's signed 64-bit integer (a seed
    /// of 2^63 or more reads back negative).
    pub seed: i64,
    /// The engine it ran on.
    pub engine: &'static str,
    /// The rollout.
    pub rollout_id: &'a str,
    /// The attempt, `{rollout}:attempt-{n}`.
    pub attempt_id: String,
    /// 1, 2, 3... within the attempt.
    pub sequence_id: u32,
    /// `{attempt_id}/{sequence_id}`.
    pub span_id: String,
    /// The span's name.
    pub name: &'a str,
    /// When it started, in ms.
    pub start_ms: f64,
    /// When it ended, in ms.
    pub end_ms: f64,
    /// A `reward.emit` span's reward name; NULL for other spans.
    pub reward_name: Option<&'a str>,
    /// Its value; NULL for other spans.
    pub reward_value: Option<f64>,
    /// The attributes, as the JSON object of [`Line::attributes`].
    pub attributes: String,
}

impl Row<'_> {
    /// The values to bind, in the order of [`COLUMNS`].
    #[cfg(feature = "sqlite")]
    pub(crate) fn params(&self) -> [&dyn rusqlite::ToSql; 14] {
        [
            &self.file,
            &self.scenario,
            &self.seed,
            &self.engine,
            &self.rollout_id,
            &self.attempt_id,
            &self.sequence_id,
            &self.span_id,
            &self.name,
            &self.start_ms,
            &self.end_ms,
            &self.reward_name,
            &self.reward_value,
            &self.attributes,
        ]
    }
}

// The conversions from the report and the run: the only code that names
// both.

impl<'a> Line<'a> {
    /// The line of `span`, of the run `report` reports.
    pub fn new(report: &'a ScenarioReport, span: &'a Span) -> Self {
        Self {
            scenario: &report.name,
            seed: report.seed,
            engine: report.engine.into(),
            rollout_id: span.rollout_id.as_str(),
            attempt_id: Text(&span.attempt_id),
            sequence_id: span.sequence_id,
            span_id: Text(&span.span_id),
            name: &span.name,
            start_ms: Millis(span.start),
            end_ms: Millis(span.end),
            attributes: &span.attributes,
        }
    }
}

impl<'a> Row<'a> {
    /// The row of `span`, of the run `report` reports.
    pub fn new(report: &'a ScenarioReport, span: &'a Span) -> Self {
        let reward = span.reward_ref();
        Self {
            file: &report.file,
            scenario: &report.name,
            seed: report.seed as i64,
            engine: Engine::from(report.engine).as_str(),
            rollout_id: span.rollout_id.as_str(),
            attempt_id: span.attempt_id.to_string(),
            sequence_id: span.sequence_id,
            span_id: span.span_id.to_string(),
            name: &span.name,
            start_ms: span.start.as_secs_f64() * 1e3,
            end_ms: span.end.as_secs_f64() * 1e3,
            reward_name: reward.map(|(name, _)| name),
            reward_value: reward.map(|(_, value)| value),
            attributes: serde_json::to_string(&span.attributes).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_columns_are_those_of_the_table_in_order() {
        let columns: Vec<&str> = SQLITE_TABLE
            .lines()
            .skip(1)
            .filter_map(|line| line.split_whitespace().next())
            .filter(|word| *word != ");")
            .collect();
        assert_eq!(columns, COLUMNS);
        assert_eq!(SQLITE_SCHEMA, format!("{SQLITE_TABLE}{SQLITE_INDEXES}"));
    }
}
