//! `expect`: what must hold after the run, each name resolved.
//!
//! Expectations name rollouts (`r1`, or `*` for every rollout not named),
//! attempts (`r1:attempt-2`), workers, statuses and invariants; each must be
//! one that exists, and an unknown one gets the nearest known name as help
//! ([`suggest`](super::suggest)). Reward and span names are bounded texts
//! ([`text`](super::text)), and a `between` range must not be empty. What
//! could never hold given the rest of the file is checked afterwards,
//! across sections ([`cannot_hold`](super::cannot_hold)).
//!
//! `sometimes` goals are written with the same rollout, reward and
//! absent-reward expectations, resolved the same way under their own path,
//! plus `goals:`, names of built-in coverage goals.

use std::collections::BTreeSet;

use crate::diagnostics::nearest;
use crate::expect::SometimesGoal;
use crate::expect::{
    AttemptExpectation, Expectations, RewardValue, RewardValues, RolloutExpectation, Target,
};
use crate::schema::{AttemptExpect, SometimesSpec, SpansExpect};
use crate::schema::{ExpectSection, InvariantsSpec, OrderedMap, RewardExpect, RolloutExpect};
use crate::source::{Path, at};
use rollout_core::{AttemptId, AttemptStatus, RolloutId, RolloutStatus};
use rollout_simulator::{Goal, Invariant};

use super::Validator;
use super::text::Text;

/// The expectations `expect` and each of its `sometimes` goals share.
#[derive(Clone, Copy)]
struct Conditions<'a> {
    rollouts: Option<&'a OrderedMap<RolloutExpect>>,
    rewards: Option<&'a OrderedMap<OrderedMap<RewardExpect>>>,
    absent_rewards: Option<&'a OrderedMap<Vec<String>>>,
}

impl Validator<'_> {
    /// Every expectation of the section, resolved.
    pub(super) fn expect(
        &mut self,
        expect: &ExpectSection,
        rollouts: &BTreeSet<&str>,
        workers: &BTreeSet<&str>,
    ) -> Expectations {
        let mut out = Expectations {
            finished_at: expect.finished_at.map(|d| d.0),
            ..Expectations::default()
        };
        let conditions = Conditions {
            rollouts: expect.rollouts.as_ref(),
            rewards: expect.rewards.as_ref(),
            absent_rewards: expect.absent_rewards.as_ref(),
        };
        self.conditions(&at!["expect"], &mut out, conditions, rollouts, workers);
        for (key, want) in expect.attempts.iter().flat_map(|m| m.0.iter()) {
            let at = at!["expect", "attempts", key];
            self.expect_attempt(&mut out, at, key, want, rollouts, workers);
        }
        for (key, want) in expect.spans.iter().flat_map(|m| m.0.iter()) {
            let at = at!["expect", "spans", key];
            let names = want.names();
            self.names(&at, "a span name", names);
            if let Some(target) = self.target(at, key, rollouts) {
                match want {
                    SpansExpect::Exact(_) => out.spans.push((target, names.into())),
                    SpansExpect::Contains(_) => out.spans_containing.push((target, names.into())),
                }
            }
        }
        out.invariants = self.invariants(expect.invariants.as_ref());
        for (i, name) in expect.violated.iter().flatten().enumerate() {
            if let Some(n) = self.invariant(at!["expect", "violated", i], name) {
                out.violated.push(n);
                out.invariants.retain(|x| *x != n);
            }
        }
        for (name, spec) in expect.sometimes.iter().flat_map(|m| m.0.iter()) {
            if let Some(goal) = self.sometimes(name, spec, rollouts, workers) {
                out.sometimes.push(goal);
            }
        }
        out
    }

    /// The rollout, reward and absent-reward expectations under `base`
    /// (`expect`, or one of its `sometimes` goals), resolved into `out`.
    fn conditions(
        &mut self,
        base: &Path,
        out: &mut Expectations,
        conditions: Conditions<'_>,
        rollouts: &BTreeSet<&str>,
        workers: &BTreeSet<&str>,
    ) {
        for (key, want) in conditions.rollouts.iter().flat_map(|m| m.0.iter()) {
            let at = at![base; "rollouts", key];
            self.expect_rollout(out, at, key, want, rollouts, workers);
        }
        for (key, rewards) in conditions.rewards.iter().flat_map(|m| m.0.iter()) {
            let at = at![base; "rewards", key];
            if let Some(target) = self.target(at.clone(), key, rollouts) {
                let values = self.reward_values(&at, rewards);
                out.rewards.push((target, values));
            }
        }
        for (key, names) in conditions.absent_rewards.iter().flat_map(|m| m.0.iter()) {
            let at = at![base; "absent_rewards", key];
            self.names(&at, "a reward name", names);
            let names = names.iter().map(|n| n.as_str().into()).collect();
            if key == "*" {
                out.absent_rewards.push((None, names));
            } else if let Some(target) = self.target(at, key, rollouts) {
                out.absent_rewards.push((Some(target), names));
            }
        }
    }

    /// `expect.sometimes.<name>`: a goal named apart from the built-in
    /// ones, with a condition that says something, over known rollouts and
    /// built-in goals.
    fn sometimes(
        &mut self,
        name: &str,
        spec: &SometimesSpec,
        rollouts: &BTreeSet<&str>,
        workers: &BTreeSet<&str>,
    ) -> Option<SometimesGoal> {
        let at = at!["expect", "sometimes", name];
        self.text(at.clone(), "a goal name", name, Text::Key);
        if Goal::named(name).is_some() {
            self.key_problem(
                at.clone(),
                format!("`{name}` is the name of a built-in goal"),
                Some(format!(
                    "name the scenario's own goal otherwise, or list the built-in one under \
                     another goal's `goals: [{name}]`"
                )),
            );
        }
        let says_nothing = spec.rollouts.as_ref().is_none_or(|m| m.0.is_empty())
            && spec.rewards.as_ref().is_none_or(|m| m.0.is_empty())
            && spec.absent_rewards.as_ref().is_none_or(|m| m.0.is_empty())
            && spec.goals.as_ref().is_none_or(|g| g.is_empty());
        if says_nothing {
            self.problem(
                at.clone(),
                format!("goal `{name}` has no condition: every run would reach it"),
                Some("give it `rollouts`, `rewards`, `absent_rewards` or `goals`".into()),
            );
        }
        let mut condition = Expectations::default();
        let conditions = Conditions {
            rollouts: spec.rollouts.as_ref(),
            rewards: spec.rewards.as_ref(),
            absent_rewards: spec.absent_rewards.as_ref(),
        };
        self.conditions(&at, &mut condition, conditions, rollouts, workers);
        let mut goals = Vec::new();
        for (i, goal) in spec.goals.iter().flatten().enumerate() {
            match Goal::named(goal) {
                Some(g) => goals.push(g),
                None => {
                    let names = Goal::ALL.iter().map(|g| g.name());
                    let near = nearest(goal, names.clone())
                        .map(|n| format!("did you mean `{n}`? "))
                        .unwrap_or_default();
                    self.problem(
                        at![at; "goals", i],
                        format!("unknown built-in goal `{goal}`"),
                        Some(format!(
                            "{near}one of {}",
                            names.collect::<Vec<_>>().join(", ")
                        )),
                    );
                }
            }
        }
        Some(SometimesGoal {
            name: name.into(),
            condition,
            goals,
        })
    }

    /// `<base>.rollouts.<key>`, at `at`: of a known rollout (or `*`), with a
    /// known status and worker.
    fn expect_rollout(
        &mut self,
        out: &mut Expectations,
        at: Path,
        key: &str,
        want: &RolloutExpect,
        rollouts: &BTreeSet<&str>,
        workers: &BTreeSet<&str>,
    ) {
        let status = want
            .status
            .as_deref()
            .and_then(|s| self.status(at![at; "status"], s));
        if let Some(w) = &want.worker
            && !workers.contains(w.as_str())
        {
            let help = self.known_near("workers", w, workers);
            self.problem(at![at; "worker"], format!("unknown worker `{w}`"), help);
        }
        if let Some(error) = &want.error {
            self.text(
                at![at; "error"],
                "an expected error message",
                error,
                Text::Message,
            );
        }
        let expectation = RolloutExpectation {
            status,
            attempts: want.attempts,
            worker: want.worker.as_deref().map(Into::into),
            error: want.error.as_deref().map(Into::into),
        };
        if key == "*" {
            out.other_rollouts = Some(expectation);
        } else if rollouts.contains(key) {
            out.rollouts.push((RolloutId::new(key), expectation));
        } else {
            let help = self.known_near("rollouts", key, rollouts);
            self.key_problem(at, format!("unknown rollout `{key}`"), help);
        }
    }

    /// `expect.attempts.<key>`, at `at`: an attempt of a known rollout,
    /// with a status an attempt can have and a known worker.
    fn expect_attempt(
        &mut self,
        out: &mut Expectations,
        at: Path,
        key: &str,
        want: &AttemptExpect,
        rollouts: &BTreeSet<&str>,
        workers: &BTreeSet<&str>,
    ) {
        let status = want.status.as_deref().and_then(|s| {
            let parsed = AttemptStatus::parse(s);
            if parsed.is_none() {
                let names: Vec<&str> = AttemptStatus::USED.iter().map(|s| s.as_str()).collect();
                let near = nearest(s, names.iter().copied())
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                self.problem(
                    at![at; "status"],
                    format!("unknown attempt status `{s}`"),
                    Some(format!("{near}one of {}", names.join(", "))),
                );
            }
            parsed
        });
        if let Some(w) = &want.worker
            && !workers.contains(w.as_str())
        {
            let help = self.known_near("workers", w, workers);
            self.problem(at![at; "worker"], format!("unknown worker `{w}`"), help);
        }
        if want.status.is_none() && want.worker.is_none() {
            self.problem(
                at.clone(),
                format!("`{key}` expects nothing"),
                Some("give a status such as `timeout`, or `{ status, worker }`".into()),
            );
        }
        match self.target(at.clone(), key, rollouts) {
            Some(Target::Attempt(attempt)) => out.attempts.push((
                attempt,
                AttemptExpectation {
                    status,
                    worker: want.worker.as_deref().map(Into::into),
                },
            )),
            Some(Target::Rollout(r)) => self.key_problem(
                at,
                format!("`{key}` is a rollout; `expect.attempts` names attempts"),
                Some(format!(
                    "write `{r}:attempt-1`, or expect the rollout under `expect.rollouts`"
                )),
            ),
            None => {}
        }
    }

    /// The status `s`, written at `at`: one of [`RolloutStatus::ALL`].
    fn status(&mut self, at: Path, s: &str) -> Option<RolloutStatus> {
        let parsed = RolloutStatus::parse(s);
        if parsed.is_none() {
            let names: Vec<&str> = RolloutStatus::ALL.iter().map(|s| s.as_str()).collect();
            let near = nearest(s, names.iter().copied())
                .map(|n| format!("did you mean `{n}`? "))
                .unwrap_or_default();
            self.problem(
                at,
                format!("unknown status `{s}`"),
                Some(format!("{near}one of {}", names.join(", "))),
            );
        }
        parsed
    }

    /// The reward values expected of one target, at `at`.
    fn reward_values(&mut self, at: &Path, rewards: &OrderedMap<RewardExpect>) -> RewardValues {
        let mut list = Vec::new();
        for (name, want) in &rewards.0 {
            let name_at = at![at; name];
            self.text(name_at.clone(), "a reward name", name, Text::Key);
            let value = match *want {
                RewardExpect::Exact(v) => RewardValue::Exact(v),
                RewardExpect::Between(a, b) => {
                    if a > b {
                        self.problem(
                            name_at,
                            format!(
                                "`between: [{a}, {b}]` is empty: the low end is above the high end"
                            ),
                            None,
                        );
                    }
                    RewardValue::Between(a, b)
                }
            };
            list.push((name.as_str().into(), value));
        }
        list
    }

    /// `expect.invariants`: every invariant, or those named.
    fn invariants(&mut self, spec: Option<&InvariantsSpec>) -> Vec<Invariant> {
        let applicable = Invariant::applicable(self.healed);
        let Some(InvariantsSpec::Only(names)) = spec else {
            return applicable.to_vec();
        };
        let mut selected = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if let Some(n) = self.invariant(at!["expect", "invariants", i], name) {
                selected.push(n);
            }
        }
        applicable
            .iter()
            .copied()
            .filter(|n| selected.contains(n))
            .collect()
    }

    /// The invariant `name`, written at `at`: one of [`Invariant::ALL`].
    fn invariant(&mut self, at: Path, name: &str) -> Option<Invariant> {
        let found = Invariant::named(name);
        let Some(found) = found else {
            let names: Vec<&str> = Invariant::applicable(self.healed)
                .iter()
                .map(|i| i.name())
                .collect();
            self.problem(
                at,
                format!("unknown invariant `{name}`"),
                Some(format!("one of {}", names.join(", "))),
            );
            return None;
        };
        if found == Invariant::Liveness && !self.healed {
            self.problem(
                at,
                "the `liveness` invariant needs a liveness phase: this file has no `faults.heal_at`",
                Some("add `heal_at: <when faults stop>` under `faults`, or remove `liveness`".into()),
            );
            return None;
        }
        Some(found)
    }

    /// The rollout or attempt `key` names, at `at`: a known rollout's.
    fn target(&mut self, at: Path, key: &str, rollouts: &BTreeSet<&str>) -> Option<Target> {
        if let Some((rollout, number)) = key.rsplit_once(":attempt-")
            && AttemptId::parse(key).is_none()
        {
            self.key_problem(
                at,
                format!("`{key}` is not an attempt id: attempt numbers are whole numbers from 1"),
                Some(format!(
                    "write `{rollout}:attempt-1` for the first attempt (`{number}` given)"
                )),
            );
            return None;
        }
        if let Some(attempt) = AttemptId::parse(key) {
            if rollouts.contains(attempt.rollout.as_str()) {
                return Some(Target::Attempt(attempt));
            }
            let help = self.known_near("rollouts", attempt.rollout.as_str(), rollouts);
            self.key_problem(
                at,
                format!(
                    "`{key}` names an attempt of unknown rollout `{}`",
                    attempt.rollout
                ),
                help,
            );
            return None;
        }
        if rollouts.contains(key) {
            return Some(Target::Rollout(RolloutId::new(key)));
        }
        let help = self.known_near("rollouts", key, rollouts);
        self.key_problem(at, format!("unknown rollout `{key}`"), help);
        None
    }
}
