//! Expectations: what a scenario says must hold, checked against a run.
//!
//! Each check produces a [`Check`] with the expectation's name, the expected
//! and the actual value and whether it held. Rewards are read from the
//! persisted spans: a reward expectation holds when exactly one
//! `reward.emit` span of that name exists on the attempt with that value.
//!
//! A scenario is checked once per run, and a sweep runs it thousands of
//! times, so a check keeps what it found as it found it: its name as parts
//! ([`CheckName`]) and its values as a [`CheckValue`], sharing the
//! scenario's text (the [`Arc`]s of [`Expectations`]) instead of copying
//! it. Names and values are rendered, as text or JSON, only when a report
//! asks for them.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use rollout_core::{
    AttemptId, AttemptStatus, QueueSnapshot, RolloutId, RolloutRecord, RolloutStatus,
};
use rollout_core::{AttemptSpans, json_number};
use rollout_simulator::InvariantReport;
use rollout_simulator::RunResult;
use rollout_simulator::{Goal, Invariant};

use super::duration::Dur;

/// What an expectation is about: a rollout (its last attempt) or an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A rollout id; for rewards and spans, its last attempt.
    Rollout(RolloutId),
    /// One attempt.
    Attempt(AttemptId),
}

impl fmt::Display for Target {
    /// The id as scenario files write it: `r1`, `r1:attempt-2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rollout(r) => fmt::Display::fmt(r, f),
            Self::Attempt(a) => fmt::Display::fmt(a, f),
        }
    }
}

impl Target {
    /// The attempt this target names in a finished run.
    pub fn attempt(&self, snapshot: &QueueSnapshot) -> Option<AttemptId> {
        Finder::new(snapshot).attempt(self).cloned()
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
    pub worker: Option<Arc<str>>,
    /// The error message it ended with.
    pub error: Option<Arc<str>>,
}

impl AttemptExpectation {
    /// How many checks this expectation makes of an attempt.
    fn len(&self) -> usize {
        usize::from(self.status.is_some()) + usize::from(self.worker.is_some())
    }
}

impl RolloutExpectation {
    /// How many checks this expectation makes of a rollout.
    fn len(&self) -> usize {
        usize::from(self.status.is_some())
            + usize::from(self.attempts.is_some())
            + usize::from(self.worker.is_some())
            + usize::from(self.error.is_some())
    }
}

/// The final state expected of an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttemptExpectation {
    /// Its status.
    pub status: Option<AttemptStatus>,
    /// The worker it ran on.
    pub worker: Option<Arc<str>>,
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
}

impl From<RewardValue> for CheckValue {
    fn from(want: RewardValue) -> Self {
        match want {
            RewardValue::Exact(x) => Self::Number(x),
            RewardValue::Between(a, b) => Self::Between(a, b),
        }
    }
}

/// The reward values expected of one target, by reward name.
pub type RewardValues = Vec<(Arc<str>, RewardValue)>;

/// Every expectation of a scenario, resolved.
///
/// Names and texts are shared ([`Arc`]) so that each run's [`Check`]s point
/// at them instead of copying them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    /// Named rollouts.
    pub rollouts: Vec<(RolloutId, RolloutExpectation)>,
    /// Every rollout not named (`*`).
    pub other_rollouts: Option<RolloutExpectation>,
    /// Reward values.
    pub rewards: Vec<(Target, RewardValues)>,
    /// Names of rewards that must not appear; `None` target means every
    /// rollout.
    pub absent_rewards: Vec<(Option<Target>, Vec<Arc<str>>)>,
    /// Each named attempt's final status and worker.
    pub attempts: Vec<(AttemptId, AttemptExpectation)>,
    /// Exact span names per attempt.
    pub spans: Vec<(Target, Arc<[String]>)>,
    /// Span names an attempt must have among its spans (`{ contains }`).
    pub spans_containing: Vec<(Target, Arc<[String]>)>,
    /// When the stop condition held.
    pub finished_at: Option<Duration>,
    /// The invariants asserted.
    pub invariants: Vec<Invariant>,
    /// Invariants that must be violated (known-defect reproducers).
    pub violated: Vec<Invariant>,
    /// The scenario's own coverage goals, `expect.sometimes`, in file order.
    pub sometimes: Vec<SometimesGoal>,
}

/// A coverage goal of the scenario's own (`expect.sometimes.<name>`): a
/// condition that should hold in *some* run of a sweep, never one that
/// every run must meet. A run reaches it when every expectation of its
/// condition holds and every built-in goal it lists was reached.
#[derive(Debug, Clone, PartialEq)]
pub struct SometimesGoal {
    /// Its name, as the file gives it.
    pub name: Arc<str>,
    /// The condition's expectations: only rollouts, rewards and absent
    /// rewards are ever set.
    pub condition: Expectations,
    /// Built-in goals the same run must reach, in file order.
    pub goals: Vec<Goal>,
}

impl SometimesGoal {
    /// True when `run` reaches the goal.
    pub fn reached(&self, run: &RunResult) -> bool {
        self.goals.iter().all(|g| run.coverage.contains(*g))
            && self.condition.check(run).iter().all(|c| c.passed)
    }
}

/// One checked expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Such as `rewards.r1.runner.poll_retry_backoff_ms_before_rollout`.
    pub name: CheckName,
    /// What the scenario expects.
    pub expected: CheckValue,
    /// What the run gave.
    pub actual: CheckValue,
    /// Whether it held.
    pub passed: bool,
}

fn check(name: NameParts, expected: CheckValue, actual: CheckValue, passed: bool) -> Check {
    Check {
        name: CheckName::from_parts(name),
        expected,
        actual,
        passed,
    }
}

/// The name of a [`Check`], such as `rollouts.r1.status` or
/// `rewards.r1.runner.poll_retry_backoff_ms_before_rollout`.
///
/// It reads, compares, hashes and serializes as its text. A check keeps
/// the parts of its name (a section, a rollout id, a reward name), which it
/// shares with the scenario at no cost, and joins them only when asked for
/// the text: once, on the first [`as_str`](Self::as_str), or straight into
/// the output ([`fmt::Display`], [`Serialize`]).
#[derive(Clone)]
pub struct CheckName {
    parts: NameParts,
    /// The joined text, once asked for as a `&str`.
    text: OnceLock<Box<str>>,
}

/// The parts of a [`CheckName`], joined with dots.
#[derive(Debug, Clone)]
enum NameParts {
    /// A name fixed by the tool, such as `stop` or `finished_at`.
    Fixed(&'static str),
    /// A name given whole.
    Text(Arc<str>),
    /// `violated.{invariant}`.
    Violated(Invariant),
    /// `rollouts.{id}.{field}`.
    Rollout(RolloutId, &'static str),
    /// `rewards.{target}.{reward}`.
    Reward(Target, Arc<str>),
    /// `absent_rewards.{target}.{reward}`; with no target (every rollout),
    /// `absent_rewards.*.{reward}`.
    AbsentReward(Option<Target>, Arc<str>),
    /// `spans.{target}`.
    Spans(Target),
    /// `attempts.{attempt}.{field}`.
    Attempt(AttemptId, &'static str),
}

impl NameParts {
    fn write(&self, out: &mut impl fmt::Write) -> fmt::Result {
        match self {
            Self::Fixed(text) => out.write_str(text),
            Self::Text(text) => out.write_str(text),
            Self::Violated(invariant) => write!(out, "violated.{invariant}"),
            Self::Rollout(id, field) => write!(out, "rollouts.{id}.{field}"),
            Self::Reward(target, reward) => write!(out, "rewards.{target}.{reward}"),
            Self::AbsentReward(Some(target), reward) => {
                write!(out, "absent_rewards.{target}.{reward}")
            }
            Self::AbsentReward(None, reward) => write!(out, "absent_rewards.*.{reward}"),
            Self::Spans(target) => write!(out, "spans.{target}"),
            Self::Attempt(id, field) => write!(out, "attempts.{id}.{field}"),
        }
    }
}

impl CheckName {
    /// A name given as text.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self::from_parts(NameParts::Text(name.into()))
    }

    /// A name fixed when the program is built, such as `stop`.
    pub const fn fixed(name: &'static str) -> Self {
        Self::from_parts(NameParts::Fixed(name))
    }

    const fn from_parts(parts: NameParts) -> Self {
        Self {
            parts,
            text: OnceLock::new(),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        match &self.parts {
            NameParts::Fixed(text) => text,
            NameParts::Text(text) => text,
            parts => self.text.get_or_init(|| {
                let mut text = String::new();
                // Writing to a String cannot fail.
                let _ = parts.write(&mut text);
                text.into_boxed_str()
            }),
        }
    }
}

impl Deref for CheckName {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for CheckName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Padding needs the whole text; without it, the parts go straight
        // to the writer.
        if f.width().is_some() || f.precision().is_some() {
            f.pad(self.as_str())
        } else if let Some(text) = self.text.get() {
            f.write_str(text)
        } else {
            self.parts.write(f)
        }
    }
}

impl fmt::Debug for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for CheckName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for CheckName {}

impl PartialEq<str> for CheckName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CheckName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for CheckName {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl Hash for CheckName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl From<&str> for CheckName {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl From<String> for CheckName {
    fn from(name: String) -> Self {
        Self::new(name)
    }
}

impl Serialize for CheckName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An expected or actual value of a [`Check`].
///
/// Reports show it two ways: as JSON ([`to_json`](Self::to_json), which
/// [`Serialize`] and [`fmt::Display`] write), where numbers stay numbers
/// (`35`, not `"35"`), and as a person reads it ([`human`](Self::human)).
/// Values compare as their JSON.
#[derive(Debug, Clone)]
pub enum CheckValue {
    /// Nothing: `null`, read `none`.
    Null,
    /// A word fixed by the tool, such as a status or `absent`.
    Word(&'static str),
    /// A text, such as an error message.
    Text(Arc<str>),
    /// A number; integral values are written as integers ([`json_number`]).
    Number(f64),
    /// Several numbers, such as a reward emitted more than once.
    Numbers(Box<[f64]>),
    /// A range: `{"between": [low, high]}`.
    Between(f64, f64),
    /// A duration, written as scenario files write it (`45ms`).
    Duration(Duration),
    /// Names in order, such as an attempt's spans.
    Names(Arc<[String]>),
    /// Names a list must contain: `{"contains": [...]}`.
    Contains(Arc<[String]>),
    /// Attempts that emitted a reward expected absent:
    /// `{"emitted_on": ["r1:attempt-1"]}`.
    EmittedOn(Box<[AttemptId]>),
    /// Any other JSON value.
    Json(Box<Value>),
}

impl CheckValue {
    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Word(word) => Value::from(*word),
            Self::Text(text) => Value::from(&**text),
            Self::Number(x) => json_number(*x),
            Self::Numbers(xs) => xs.iter().map(|x| json_number(*x)).collect(),
            Self::Between(a, b) => json!({ "between": [json_number(*a), json_number(*b)] }),
            Self::Duration(d) => Value::String(Dur(*d).to_string()),
            Self::Names(names) => names.iter().map(|n| Value::from(n.as_str())).collect(),
            Self::Contains(names) => json!({
                "contains": names.iter().map(|n| Value::from(n.as_str())).collect::<Vec<_>>()
            }),
            Self::EmittedOn(attempts) => json!({
                "emitted_on": attempts.iter().map(|a| Value::String(a.to_string())).collect::<Vec<_>>()
            }),
            Self::Json(value) => (**value).clone(),
        }
    }

    /// The value as a person reads it: strings bare, lists comma-separated,
    /// null as `none` ([`display_value`] of its JSON).
    pub fn human(&self) -> String {
        match self {
            Self::Null => "none".into(),
            Self::Word(word) => (*word).into(),
            Self::Text(text) => text.to_string(),
            Self::Duration(d) => Dur(*d).to_string(),
            other => display_value(&other.to_json()),
        }
    }
}

impl fmt::Display for CheckValue {
    /// The value as JSON text, as [`Value`] displays it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_json(), f)
    }
}

impl PartialEq for CheckValue {
    fn eq(&self, other: &Self) -> bool {
        self.to_json() == other.to_json()
    }
}

impl From<Value> for CheckValue {
    fn from(value: Value) -> Self {
        Self::Json(Box::new(value))
    }
}

impl Serialize for CheckValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Word(word) => serializer.serialize_str(word),
            Self::Text(text) => serializer.serialize_str(text),
            Self::Number(x) => json_number(*x).serialize(serializer),
            Self::Duration(d) => serializer.collect_str(&Dur(*d)),
            Self::Names(names) => serializer.collect_seq(names.iter()),
            other => other.to_json().serialize(serializer),
        }
    }
}

impl Expectations {
    /// Checks every expectation against a run, in file order by section.
    pub fn check(&self, run: &RunResult) -> Vec<Check> {
        let mut checks = Vec::with_capacity(self.count(run));
        self.check_into(run, &mut checks);
        checks
    }

    /// At least as many checks as [`check`](Self::check) makes of `run`.
    pub(super) fn count(&self, run: &RunResult) -> usize {
        let named: usize = self.rollouts.iter().map(|(_, want)| want.len()).sum();
        let others = self
            .other_rollouts
            .as_ref()
            .map_or(0, |want| want.len() * run.snapshot.rollouts.len());
        let rewards: usize = self.rewards.iter().map(|(_, r)| r.len()).sum();
        let absent: usize = self.absent_rewards.iter().map(|(_, n)| n.len()).sum();
        named
            + others
            + rewards
            + absent
            + self.attempts.iter().map(|(_, a)| a.len()).sum::<usize>()
            + self.spans.len()
            + self.spans_containing.len()
            + self.violated.len()
            + usize::from(self.finished_at.is_some())
    }

    /// [`check`](Self::check), appending to `checks`.
    pub(super) fn check_into(&self, run: &RunResult, checks: &mut Vec<Check>) {
        let snap = &run.snapshot;
        let mut find = Finder::new(snap);
        for (id, want) in &self.rollouts {
            rollout_checks(checks, find.rollout(id.as_str()), id, want);
        }
        if let Some(want) = &self.other_rollouts {
            // Sorted, so that naming many rollouts besides `*` stays
            // linear in the rollouts.
            let mut named: Vec<&str> = self.rollouts.iter().map(|(id, _)| id.as_str()).collect();
            named.sort_unstable();
            for rollout in &snap.rollouts {
                if named.binary_search(&rollout.id.as_str()).is_err() {
                    rollout_checks(checks, Some(rollout), &rollout.id, want);
                }
            }
        }
        for (id, want) in &self.attempts {
            attempt_checks(checks, snap, id, want);
        }
        for (target, rewards) in &self.rewards {
            let spans = find.spans(target);
            for (name, want) in rewards {
                let (actual, found) = match &spans {
                    Some(spans) => reward_values(spans, name),
                    None => (CheckValue::Null, None),
                };
                let passed = found.is_some_and(|v| want.holds(v));
                checks.push(check(
                    NameParts::Reward(target.clone(), name.clone()),
                    (*want).into(),
                    actual,
                    passed,
                ));
            }
        }
        for (target, names) in &self.absent_rewards {
            if target.is_none() {
                absent_everywhere(checks, snap, names);
                continue;
            }
            for name in names {
                let mut lookup = snap.spans.lookup();
                let mut emitted = |attempt: &AttemptId| {
                    lookup
                        .attempt(attempt)
                        .filter_map(|s| s.reward())
                        .any(|(reward, _)| reward == &**name)
                };
                let present: Vec<AttemptId> = match target {
                    Some(t) => find
                        .attempt(t)
                        .filter(|a| emitted(a))
                        .into_iter()
                        .cloned()
                        .collect(),
                    None => snap
                        .rollouts
                        .iter()
                        .flat_map(|r| &r.attempts)
                        .map(|a| &a.id)
                        .filter(|a| emitted(a))
                        .cloned()
                        .collect(),
                };
                let passed = present.is_empty();
                let actual = if passed {
                    CheckValue::Word("absent")
                } else {
                    CheckValue::EmittedOn(present.into())
                };
                checks.push(check(
                    NameParts::AbsentReward(target.clone(), name.clone()),
                    CheckValue::Word("absent"),
                    actual,
                    passed,
                ));
            }
        }
        for (target, names) in &self.spans {
            let spans = find.spans(target);
            let passed = match &spans {
                Some(spans) => {
                    spans.len() == names.len()
                        && spans.clone().zip(names.iter()).all(|(s, n)| s.name() == n)
                }
                None => names.is_empty(),
            };
            // What held is what was expected: share it.
            let actual = if passed {
                names.clone()
            } else {
                spans
                    .into_iter()
                    .flatten()
                    .map(|s| s.name().to_string())
                    .collect()
            };
            checks.push(check(
                NameParts::Spans(target.clone()),
                CheckValue::Names(names.clone()),
                CheckValue::Names(actual),
                passed,
            ));
        }
        for (target, names) in &self.spans_containing {
            let spans = find.spans(target);
            let have: Vec<String> = spans
                .into_iter()
                .flatten()
                .map(|s| s.name().to_string())
                .collect();
            let passed = contains_all(&have, names);
            checks.push(check(
                NameParts::Spans(target.clone()),
                CheckValue::Contains(names.clone()),
                CheckValue::Names(have.into()),
                passed,
            ));
        }
        for name in &self.violated {
            let held = run.invariants.iter().any(|r| r.name == *name && r.held);
            checks.push(check(
                NameParts::Violated(*name),
                CheckValue::Word("violated"),
                CheckValue::Word(if held { "held" } else { "violated" }),
                !held,
            ));
        }
        if let Some(want) = self.finished_at {
            let passed = run.stop.is_clean() && run.ended_at == want;
            let actual = if run.stop.is_clean() {
                CheckValue::Duration(run.ended_at)
            } else {
                CheckValue::Text(format!("did not finish: {}", run.stop.describe()).into())
            };
            checks.push(check(
                NameParts::Fixed("finished_at"),
                CheckValue::Duration(want),
                actual,
                passed,
            ));
        }
    }

    /// The selected invariants' reports, in the order of the built-in list.
    pub fn selected_invariants<'a>(&self, run: &'a RunResult) -> Vec<&'a InvariantReport> {
        self.selected(run).collect()
    }

    /// [`selected_invariants`](Self::selected_invariants), copied.
    pub(super) fn selected_reports(&self, run: &RunResult) -> Vec<InvariantReport> {
        // Most scenarios select every invariant, which the run lists in
        // the same order.
        let every = self.invariants.len() == run.invariants.len()
            && self
                .invariants
                .iter()
                .zip(&run.invariants)
                .all(|(name, report)| *name == report.name);
        let mut reports = Vec::with_capacity(self.invariants.len());
        if every {
            reports.extend(run.invariants.iter().map(copy_report));
        } else {
            reports.extend(self.selected(run).map(copy_report));
        }
        reports
    }

    fn selected<'a>(&self, run: &'a RunResult) -> impl Iterator<Item = &'a InvariantReport> {
        run.invariants
            .iter()
            .filter(|r| self.invariants.contains(&r.name))
    }
}

/// True when `have` holds every name of `want`, as many times as `want`
/// lists it, in any order.
fn contains_all(have: &[String], want: &[String]) -> bool {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in have {
        *counts.entry(name.as_str()).or_default() += 1;
    }
    want.iter().all(|name| match counts.get_mut(name.as_str()) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    })
}

/// The checks of one attempt expectation: `none` for an attempt that never
/// ran.
fn attempt_checks(
    checks: &mut Vec<Check>,
    snap: &QueueSnapshot,
    id: &AttemptId,
    want: &AttemptExpectation,
) {
    let found = snap.attempt(id);
    if let Some(status) = want.status {
        let actual = found.map_or(CheckValue::Null, |a| CheckValue::Word(a.status.as_str()));
        checks.push(check(
            NameParts::Attempt(id.clone(), "status"),
            CheckValue::Word(status.as_str()),
            actual,
            found.is_some_and(|a| a.status == status),
        ));
    }
    if let Some(worker) = &want.worker {
        let actual = found.map_or(CheckValue::Null, |a| {
            CheckValue::Text(a.worker.as_str().into())
        });
        checks.push(check(
            NameParts::Attempt(id.clone(), "worker"),
            CheckValue::Text(worker.clone()),
            actual,
            found.is_some_and(|a| a.worker.as_str() == &**worker),
        ));
    }
}

/// Lookups in a finished run that remember the last rollout and attempt
/// found: a scenario's sections mostly name the same rollout, and each
/// lookup by id hashes or searches.
struct Finder<'a> {
    snap: &'a QueueSnapshot,
    rollout: Option<&'a RolloutRecord>,
    spans: Option<(&'a AttemptId, AttemptSpans<'a>)>,
}

impl<'a> Finder<'a> {
    fn new(snap: &'a QueueSnapshot) -> Self {
        Self {
            snap,
            rollout: None,
            spans: None,
        }
    }

    fn rollout(&mut self, id: &str) -> Option<&'a RolloutRecord> {
        if let Some(last) = self.rollout
            && last.id.as_str() == id
        {
            return Some(last);
        }
        let found = self.snap.rollout(id);
        self.rollout = found.or(self.rollout);
        found
    }

    /// The attempt a target names: [`Target::attempt`].
    fn attempt(&mut self, target: &'a Target) -> Option<&'a AttemptId> {
        match target {
            Target::Attempt(a) => Some(a),
            Target::Rollout(r) => self.rollout(r.as_str())?.last_attempt().map(|a| &a.id),
        }
    }

    /// The spans of the attempt a target names.
    fn spans(&mut self, target: &'a Target) -> Option<AttemptSpans<'a>> {
        let attempt = self.attempt(target)?;
        if let Some((last, spans)) = &self.spans
            && *last == attempt
        {
            return Some(spans.clone());
        }
        let spans = self.snap.spans.lookup().attempt(attempt);
        self.spans = Some((attempt, spans.clone()));
        Some(spans)
    }
}

/// A copy of an invariant's report. An invariant that held has no
/// violations, and copying its empty list is still a call per report.
fn copy_report(report: &InvariantReport) -> InvariantReport {
    InvariantReport {
        name: report.name,
        held: report.held,
        violations: if report.violations.is_empty() {
            Vec::new()
        } else {
            report.violations.clone()
        },
        violation_count: report.violation_count,
    }
}

/// The checks of `absent_rewards: { "*": names }`: one pass over every
/// attempt's spans for all the names, not one per name (a long list of
/// names and a million attempts stay linear). Each name lists the attempts
/// that emitted it, in the snapshot's order, as the per-target checks do.
fn absent_everywhere(checks: &mut Vec<Check>, snap: &QueueSnapshot, names: &[Arc<str>]) {
    let wanted: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (&**n, i))
        .rev()
        .collect();
    let mut emitted: Vec<Vec<AttemptId>> = vec![Vec::new(); names.len()];
    let mut lookup = snap.spans.lookup();
    for attempt in snap.rollouts.iter().flat_map(|r| &r.attempts) {
        for (reward, _) in lookup.attempt(&attempt.id).filter_map(|s| s.reward()) {
            if let Some(&i) = wanted.get(reward)
                && emitted[i].last() != Some(&attempt.id)
            {
                emitted[i].push(attempt.id.clone());
            }
        }
    }
    for (i, name) in names.iter().enumerate() {
        // A name listed twice: its first place holds its attempts.
        let first = wanted.get(&**name).copied().unwrap_or(i);
        let present = emitted[first].clone();
        let passed = present.is_empty();
        let actual = if passed {
            CheckValue::Word("absent")
        } else {
            CheckValue::EmittedOn(present.into())
        };
        checks.push(check(
            NameParts::AbsentReward(None, name.clone()),
            CheckValue::Word("absent"),
            actual,
            passed,
        ));
    }
}

/// The values of one reward among an attempt's spans, as a check shows
/// them (none: null, one: the number, more: the list), and the value when
/// there is exactly one.
fn reward_values(spans: &AttemptSpans<'_>, name: &str) -> (CheckValue, Option<f64>) {
    let mut values = spans
        .clone()
        .filter_map(|s| s.reward())
        .filter(|(reward, _)| *reward == name)
        .map(|(_, value)| value);
    match (values.next(), values.next()) {
        (None, _) => (CheckValue::Null, None),
        (Some(one), None) => (CheckValue::Number(one), Some(one)),
        (Some(first), Some(second)) => {
            let all: Vec<f64> = [first, second].into_iter().chain(values).collect();
            (CheckValue::Numbers(all.into()), None)
        }
    }
}

fn rollout_checks(
    checks: &mut Vec<Check>,
    record: Option<&RolloutRecord>,
    id: &RolloutId,
    want: &RolloutExpectation,
) {
    let name = |field| NameParts::Rollout(id.clone(), field);
    if let Some(status) = want.status {
        let actual = record.map_or("never enqueued", |r| r.status.as_str());
        let passed = record.is_some_and(|r| r.status == status);
        checks.push(check(
            name("status"),
            CheckValue::Word(status.as_str()),
            CheckValue::Word(actual),
            passed,
        ));
    }
    if let Some(attempts) = want.attempts {
        let got = record.map_or(0, |r| r.attempts.len() as u32);
        checks.push(check(
            name("attempts"),
            CheckValue::Number(attempts.into()),
            CheckValue::Number(got.into()),
            got == attempts,
        ));
    }
    if let Some(worker) = &want.worker {
        let got = record
            .and_then(|r| r.last_attempt())
            .map(|a| a.worker.as_str());
        let passed = got == Some(&**worker);
        checks.push(check(
            name("worker"),
            CheckValue::Text(worker.clone()),
            shared_text(got, worker, passed),
            passed,
        ));
    }
    if let Some(error) = &want.error {
        let got = record.and_then(|r| r.error.as_deref());
        let passed = got == Some(&**error);
        checks.push(check(
            name("error"),
            CheckValue::Text(error.clone()),
            shared_text(got, error, passed),
            passed,
        ));
    }
}

/// A text found by a check: the expected one itself when it matched.
fn shared_text(got: Option<&str>, expected: &Arc<str>, matched: bool) -> CheckValue {
    match got {
        Some(_) if matched => CheckValue::Text(expected.clone()),
        Some(text) => CheckValue::Text(text.into()),
        None => CheckValue::Null,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Vec<CheckValue> {
        let ms = Duration::from_millis;
        vec![
            CheckValue::Null,
            CheckValue::Word("succeeded"),
            CheckValue::Text("say \"hi\"\n, ünïcode".into()),
            CheckValue::Number(35.0),
            CheckValue::Number(0.5),
            CheckValue::Number(-0.0),
            CheckValue::Number(-3.0),
            CheckValue::Number(1e300),
            CheckValue::Number(f64::NAN),
            CheckValue::Number(f64::INFINITY),
            CheckValue::Numbers(vec![1.0, 2.5, f64::NAN].into()),
            CheckValue::Between(0.25, 3.0),
            CheckValue::Duration(ms(45)),
            CheckValue::Duration(ms(10_500)),
            CheckValue::Duration(Duration::ZERO),
            CheckValue::Names(Vec::new().into()),
            CheckValue::Names(vec!["runner.execute_rollout".into(), "reward.emit".into()].into()),
            CheckValue::EmittedOn(vec![AttemptId::new(RolloutId::new("r1"), 2)].into()),
            CheckValue::from(json!({ "a": [1, null, "x"], "b": { "c": 1.5 } })),
        ]
    }

    #[test]
    fn values_write_exactly_as_their_json() {
        for v in values() {
            let json = v.to_json();
            assert_eq!(
                serde_json::to_string(&v).unwrap(),
                serde_json::to_string(&json).unwrap(),
                "{v:?}"
            );
            assert_eq!(
                serde_json::to_string_pretty(&vec![&v]).unwrap(),
                serde_json::to_string_pretty(&vec![&json]).unwrap(),
                "{v:?}"
            );
            assert_eq!(v.to_string(), json.to_string(), "{v:?}");
            assert_eq!(format!("{v:#}"), format!("{json:#}"), "{v:?}");
            assert_eq!(v.human(), display_value(&json), "{v:?}");
            assert_eq!(v, CheckValue::from(json), "{v:?}");
        }
    }

    #[test]
    fn names_read_as_their_parts_joined() {
        let r1 = RolloutId::new("r1");
        let attempt = Target::Attempt(AttemptId::new(r1.clone(), 1));
        let cases = [
            (NameParts::Fixed("finished_at"), "finished_at"),
            (NameParts::Text("stop".into()), "stop"),
            (
                NameParts::Violated(Invariant::AllTerminal),
                "violated.all-terminal",
            ),
            (
                NameParts::Rollout(r1.clone(), "status"),
                "rollouts.r1.status",
            ),
            (
                NameParts::Reward(Target::Rollout(r1.clone()), "x.y".into()),
                "rewards.r1.x.y",
            ),
            (
                NameParts::AbsentReward(None, "x".into()),
                "absent_rewards.*.x",
            ),
            (
                NameParts::AbsentReward(Some(Target::Rollout(r1.clone())), "x".into()),
                "absent_rewards.r1.x",
            ),
            (NameParts::Spans(attempt), "spans.r1:attempt-1"),
        ];
        for (parts, text) in cases {
            let name = CheckName::from_parts(parts);
            assert_eq!(name.to_string(), text);
            assert_eq!(format!("{name:>25}|"), format!("{text:>25}|"));
            assert_eq!(format!("{name:.3}"), format!("{text:.3}"));
            assert_eq!(name.as_str(), text);
            assert_eq!(name.len(), text.len());
            assert_eq!(name.to_string(), text, "after as_str");
            assert_eq!(name, text);
            assert_eq!(name, CheckName::new(text));
            assert_eq!(format!("{name:?}"), format!("{text:?}"));
            assert_eq!(
                serde_json::to_string(&name).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
    }
}
