//! Spans: what the runner tells the world about an attempt.
//!
//! Each attempt gets its own [`Tracer`]. Spans are numbered by `sequence_id`
//! from 1 in creation order, and timestamped by the runner's [`Clock`], so two
//! runs of the same scenario produce byte-identical spans. Rewards are spans
//! too: a `reward.emit` span carries `reward_name`, `reward_value` and
//! `rewards: [{name, value}]`. Nothing reaches the [`SpanStore`] until the
//! runner flushes the tracer through its queue.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::clock::Clock;
use super::queue::model::{AttemptId, RolloutId, serialize_millis};

/// The name of every reward span.
pub const REWARD_SPAN: &str = "reward.emit";
/// The operation span around the executor.
pub const EXECUTE_SPAN: &str = "runner.execute_rollout";
/// Reward: 1 when the executor returned non-null output, else 0.
pub const EXECUTION_SUCCESS: &str = "runner.execution_success";
/// Reward: consecutive poll failures before the poll that dequeued this attempt.
pub const RETRY_FAILURES_METRIC: &str = "runner.poll_retry_failures_before_rollout";
/// Reward: whole milliseconds slept in backoff over those failures.
pub const RETRY_BACKOFF_METRIC: &str = "runner.poll_retry_backoff_ms_before_rollout";

/// A named value an executor or the runner reports for an attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reward {
    /// Its name, such as `exact_match`.
    pub name: String,
    /// Its value.
    pub value: f64,
}

impl Reward {
    /// A reward.
    pub fn new(name: impl Into<String>, value: f64) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

/// A finished span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// The rollout it belongs to.
    pub rollout_id: RolloutId,
    /// The attempt it belongs to.
    pub attempt_id: AttemptId,
    /// 1, 2, 3... in creation order within the attempt.
    pub sequence_id: u32,
    /// Derived from the attempt and sequence: `{attempt_id}/{sequence_id}`.
    pub span_id: String,
    /// Such as `runner.execute_rollout` or `reward.emit`.
    pub name: String,
    /// When it started, on the runner's clock (milliseconds in JSON).
    #[serde(rename = "start_ms", serialize_with = "serialize_millis")]
    pub start: Duration,
    /// When it ended (milliseconds in JSON).
    #[serde(rename = "end_ms", serialize_with = "serialize_millis")]
    pub end: Duration,
    /// Its attributes, in key order.
    pub attributes: BTreeMap<String, Value>,
}

impl Span {
    /// For a `reward.emit` span, the reward it carries.
    pub fn reward(&self) -> Option<Reward> {
        if self.name != REWARD_SPAN {
            return None;
        }
        let name = self.attributes.get("reward_name")?.as_str()?;
        let value = self.attributes.get("reward_value")?.as_f64()?;
        Some(Reward::new(name, value))
    }
}

/// Handle to a span opened by [`Tracer::start`].
#[derive(Debug)]
#[must_use = "an opened span stays open until ended"]
pub struct OpenSpan(usize);

/// Creates the spans of one attempt.
#[derive(Debug)]
pub struct Tracer<C> {
    clock: C,
    attempt: AttemptId,
    spans: Vec<Span>,
}

impl<C: Clock> Tracer<C> {
    /// A tracer for `attempt`; its first span gets sequence id 1.
    pub fn new(clock: C, attempt: AttemptId) -> Self {
        Self {
            clock,
            attempt,
            spans: Vec::new(),
        }
    }

    fn push(&mut self, name: &str, attributes: BTreeMap<String, Value>) -> usize {
        let now = self.clock.now();
        let sequence_id = self.spans.len() as u32 + 1;
        self.spans.push(Span {
            rollout_id: self.attempt.rollout.clone(),
            attempt_id: self.attempt.clone(),
            sequence_id,
            span_id: format!("{}/{}", self.attempt, sequence_id),
            name: name.to_string(),
            start: now,
            end: now,
            attributes,
        });
        self.spans.len() - 1
    }

    /// Opens an operation span now.
    pub fn start(&mut self, name: &str) -> OpenSpan {
        OpenSpan(self.push(name, BTreeMap::new()))
    }

    /// Closes an operation span now, with its attributes.
    pub fn end(&mut self, span: OpenSpan, attributes: BTreeMap<String, Value>) {
        let now = self.clock.now();
        let span = &mut self.spans[span.0];
        span.end = now;
        span.attributes = attributes;
    }

    /// Emits a `reward.emit` span.
    pub fn emit_reward(&mut self, reward: &Reward) {
        let value = json_number(reward.value);
        let attributes = BTreeMap::from([
            ("reward_name".to_string(), Value::from(reward.name.as_str())),
            ("reward_value".to_string(), value.clone()),
            (
                "rewards".to_string(),
                json!([{ "name": reward.name, "value": value }]),
            ),
        ]);
        self.push(REWARD_SPAN, attributes);
    }

    /// The spans so far, for flushing.
    pub fn finish(self) -> Vec<Span> {
        self.spans
    }
}

/// A reward value as JSON: integral values as integers, so that a backoff of
/// 35 ms reads `35`, not `35.0`. Non-finite values, which JSON lacks, are null.
pub fn json_number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        Value::from(value as i64)
    } else {
        serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

/// Every persisted span, queryable by rollout, attempt and name.
#[derive(Debug, Clone, Default)]
pub struct SpanStore {
    spans: Vec<Span>,
    by_attempt: BTreeMap<AttemptId, Vec<usize>>,
}

impl SpanStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Persists spans, in order.
    pub fn extend(&mut self, spans: impl IntoIterator<Item = Span>) {
        for span in spans {
            self.by_attempt
                .entry(span.attempt_id.clone())
                .or_default()
                .push(self.spans.len());
            self.spans.push(span);
        }
    }

    /// Every span, in the order persisted.
    pub fn all(&self) -> &[Span] {
        &self.spans
    }

    /// How many spans are stored.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The spans of one attempt, in sequence order.
    pub fn attempt(&self, attempt: &AttemptId) -> Vec<&Span> {
        let mut spans: Vec<&Span> = self
            .by_attempt
            .get(attempt)
            .map(|idx| idx.iter().map(|&i| &self.spans[i]).collect())
            .unwrap_or_default();
        spans.sort_by_key(|s| s.sequence_id);
        spans
    }

    /// The spans of every attempt of a rollout, by attempt then sequence.
    pub fn rollout(&self, rollout: &RolloutId) -> Vec<&Span> {
        let start = AttemptId::new(rollout.clone(), 0);
        self.by_attempt
            .range(start..)
            .take_while(|(id, _)| &id.rollout == rollout)
            .flat_map(|(id, _)| self.attempt(id))
            .collect()
    }

    /// The spans of one attempt with a given name.
    pub fn named(&self, attempt: &AttemptId, name: &str) -> Vec<&Span> {
        self.attempt(attempt)
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// The `reward.emit` spans of one attempt for a reward name.
    pub fn rewards(&self, attempt: &AttemptId, reward: &str) -> Vec<Reward> {
        self.named(attempt, REWARD_SPAN)
            .into_iter()
            .filter_map(Span::reward)
            .filter(|r| r.name == reward)
            .collect()
    }

    /// Every attempt that has spans, in id order.
    pub fn attempts(&self) -> impl Iterator<Item = &AttemptId> {
        self.by_attempt.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_rewards_are_json_integers() {
        assert_eq!(json_number(35.0).to_string(), "35");
        assert_eq!(json_number(0.5).to_string(), "0.5");
        assert_eq!(json_number(f64::NAN), Value::Null);
    }
}
