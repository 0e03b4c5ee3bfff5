//! Expectations: what a scenario says must hold, checked against a run.
//!
//! Each check produces a [`Check`] with the expectation's name, the expected
//! and the actual value (as JSON, so reports can print and serialise them
//! alike) and whether it held. Rewards are read from the persisted spans: a
//! reward expectation holds when exactly one `reward.emit` span of that name
//! exists on the attempt with that value.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::core::queue::{AttemptId, QueueSnapshot, RolloutId, RolloutStatus};
use crate::core::telemetry::json_number;
use crate::sim::RunResult;
use crate::sim::invariants::InvariantReport;

use super::duration::format_duration;

/// What an expectation is about: a rollout (its last attempt) or an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A rollout id; for rewards and spans, its last attempt.
    Rollout(RolloutId),
    /// One attempt.
    Attempt(AttemptId),
}

impl Target {
    fn label(&self) -> String {
        match self {
            Self::Rollout(r) => r.to_string(),
            Self::Attempt(a) => a.to_string(),
        }
    }

    /// The attempt this target names in a finished run.
    pub fn attempt(&self, snapshot: &QueueSnapshot) -> Option<AttemptId> {
        match self {
            Self::Attempt(a) => Some(a.clone()),
            Self::Rollout(r) => snapshot
                .rollout(r.as_str())?
                .last_attempt()
                .map(|a| a.id.clone()),
        }
    }
}

/// The final state expected of a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RolloutExpectation {
    /// Its status.
    pub status: Option<RolloutStatus>,
    /// How many attempts.
    pub attempts: Option<u32>,
    /// The worker of its last attempt.
    pub worker: Option<String>,
    /// The error message it ended with.
    pub error: Option<String>,
}

/// An expected reward value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RewardValue {
    /// Exactly.
    Exact(f64),
    /// In `[low, high]`.
    Between(f64, f64),
}

impl RewardValue {
    fn holds(self, v: f64) -> bool {
        match self {
            Self::Exact(x) => v == x,
            Self::Between(a, b) => a <= v && v <= b,
        }
    }

    fn to_json(self) -> Value {
        match self {
            Self::Exact(x) => json_number(x),
            Self::Between(a, b) => json!({ "between": [json_number(a), json_number(b)] }),
        }
    }
}

/// Every expectation of a scenario, resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    /// Named rollouts.
    pub rollouts: Vec<(RolloutId, RolloutExpectation)>,
    /// Every rollout not named (`*`).
    pub other_rollouts: Option<RolloutExpectation>,
    /// Reward values.
    pub rewards: Vec<(Target, Vec<(String, RewardValue)>)>,
    /// Rewards that must not appear; `None` target means every rollout.
    pub absent_rewards: Vec<(Option<Target>, Vec<String>)>,
    /// Exact span names per attempt.
    pub spans: Vec<(Target, Vec<String>)>,
    /// When the stop condition held.
    pub finished_at: Option<Duration>,
    /// The invariants asserted.
    pub invariants: Vec<&'static str>,
    /// Invariants that must be violated (known-defect reproducers).
    pub violated: Vec<&'static str>,
}

/// One checked expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Such as `rewards.r1.runner.poll_retry_backoff_ms_before_rollout`.
    pub name: String,
    /// What the scenario expects.
    pub expected: Value,
    /// What the run gave.
    pub actual: Value,
    /// Whether it held.
    pub passed: bool,
}

fn check(name: String, expected: Value, actual: Value, passed: bool) -> Check {
    Check {
        name,
        expected,
        actual,
        passed,
    }
}

impl Expectations {
    /// Checks every expectation against a run, in file order by section.
    pub fn check(&self, run: &RunResult) -> Vec<Check> {
        let snap = &run.snapshot;
        let mut checks = Vec::new();
        for (id, want) in &self.rollouts {
            checks.extend(rollout_checks(snap, id.as_str(), want));
        }
        if let Some(want) = &self.other_rollouts {
            let named: Vec<&str> = self.rollouts.iter().map(|(id, _)| id.as_str()).collect();
            for rollout in snap
                .rollouts
                .iter()
                .filter(|r| !named.contains(&r.id.as_str()))
            {
                checks.extend(rollout_checks(snap, rollout.id.as_str(), want));
            }
        }
        for (target, rewards) in &self.rewards {
            let attempt = target.attempt(snap);
            for (name, want) in rewards {
                let found = attempt
                    .as_ref()
                    .map(|a| snap.spans.rewards(a, name))
                    .unwrap_or_default();
                let actual = match found.as_slice() {
                    [] => Value::Null,
                    [one] => json_number(one.value),
                    many => Value::Array(many.iter().map(|r| json_number(r.value)).collect()),
                };
                let passed = found.len() == 1 && want.holds(found[0].value);
                checks.push(check(
                    format!("rewards.{}.{name}", target.label()),
                    want.to_json(),
                    actual,
                    passed,
                ));
            }
        }
        for (target, names) in &self.absent_rewards {
            let attempts: Vec<AttemptId> = match target {
                Some(t) => t.attempt(snap).into_iter().collect(),
                None => snap
                    .rollouts
                    .iter()
                    .flat_map(|r| r.attempts.iter().map(|a| a.id.clone()))
                    .collect(),
            };
            let label = target
                .as_ref()
                .map_or_else(|| "*".to_string(), Target::label);
            for name in names {
                let present: Vec<Value> = attempts
                    .iter()
                    .filter(|a| !snap.spans.rewards(a, name).is_empty())
                    .map(|a| Value::from(a.to_string()))
                    .collect();
                let passed = present.is_empty();
                let actual = if passed {
                    json!("absent")
                } else {
                    json!({ "emitted_on": present })
                };
                checks.push(check(
                    format!("absent_rewards.{label}.{name}"),
                    json!("absent"),
                    actual,
                    passed,
                ));
            }
        }
        for (target, names) in &self.spans {
            let actual: Vec<String> = target
                .attempt(snap)
                .map(|a| snap.spans.names(&a))
                .unwrap_or_default();
            let passed = &actual == names;
            checks.push(check(
                format!("spans.{}", target.label()),
                json!(names),
                json!(actual),
                passed,
            ));
        }
        for name in &self.violated {
            let held = run.invariants.iter().any(|r| r.name == *name && r.held);
            checks.push(check(
                format!("violated.{name}"),
                json!("violated"),
                json!(if held { "held" } else { "violated" }),
                !held,
            ));
        }
        if let Some(want) = self.finished_at {
            let passed = run.stop.is_clean() && run.ended_at == want;
            let actual = if run.stop.is_clean() {
                json!(format_duration(run.ended_at))
            } else {
                json!(format!("did not finish: {}", run.stop.describe()))
            };
            checks.push(check(
                "finished_at".into(),
                json!(format_duration(want)),
                actual,
                passed,
            ));
        }
        checks
    }

    /// The selected invariants' reports, in the order of the built-in list.
    pub fn selected_invariants<'a>(&self, run: &'a RunResult) -> Vec<&'a InvariantReport> {
        run.invariants
            .iter()
            .filter(|r| self.invariants.contains(&r.name))
            .collect()
    }
}

fn rollout_checks(snap: &QueueSnapshot, id: &str, want: &RolloutExpectation) -> Vec<Check> {
    let record = snap.rollout(id);
    let mut checks = Vec::new();
    if let Some(status) = want.status {
        let actual = record.map_or(json!("never enqueued"), |r| json!(r.status.as_str()));
        let passed = record.is_some_and(|r| r.status == status);
        checks.push(check(
            format!("rollouts.{id}.status"),
            json!(status.as_str()),
            actual,
            passed,
        ));
    }
    if let Some(attempts) = want.attempts {
        let got = record.map_or(0, |r| r.attempts.len() as u32);
        checks.push(check(
            format!("rollouts.{id}.attempts"),
            json!(attempts),
            json!(got),
            got == attempts,
        ));
    }
    if let Some(worker) = &want.worker {
        let got = record
            .and_then(|r| r.last_attempt())
            .map(|a| a.worker.to_string());
        let passed = got.as_deref() == Some(worker.as_str());
        checks.push(check(
            format!("rollouts.{id}.worker"),
            json!(worker),
            json!(got),
            passed,
        ));
    }
    if let Some(error) = &want.error {
        let got = record.and_then(|r| r.error.clone());
        let passed = got.as_deref() == Some(error.as_str());
        checks.push(check(
            format!("rollouts.{id}.error"),
            json!(error),
            json!(got),
            passed,
        ));
    }
    checks
}

/// A JSON value as a person reads it: strings bare, lists comma-separated,
/// null as `none`.
pub fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(display_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", display_value(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        other => other.to_string(),
    }
}
