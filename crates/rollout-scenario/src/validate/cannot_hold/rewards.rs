//! Reward expectations no number satisfies.
//!
//! Rewards are finite numbers, so an expected NaN, infinity or infinite
//! bound never holds. One reward of one attempt can be expected twice, once
//! through the rollout id (its last attempt, when the file fixes which that
//! is) and once through the attempt id: the two values or ranges must have
//! a number in common. And a reward cannot be expected both present and
//! absent (`absent_rewards`, for one attempt or for every one with `*`).

use std::collections::BTreeMap;

use crate::expect::{Expectations, RewardValue};
use crate::schema::{RewardExpect, ScenarioFile};
use crate::source::{Path, at};
use crate::validate::Validator;
use crate::validate::text::non_finite;

use super::{AttemptCounts, AttemptKey};

/// The rewards expected present, by (attempt, reward name): the key they
/// were expected under, and the value.
pub(super) type Expected<'e> = BTreeMap<(AttemptKey, &'e str), (String, RewardValue)>;

impl Validator<'_> {
    /// The same reward of the same attempt expected twice, through the
    /// rollout id and the attempt id, with values no number satisfies
    /// together. Returns every reward expected present.
    pub(super) fn conflicting_rewards<'e>(
        &mut self,
        expect: &'e Expectations,
        counts: &AttemptCounts<'_>,
    ) -> Expected<'e> {
        let mut expected: Expected<'e> = BTreeMap::new();
        for (target, list) in &expect.rewards {
            let key = counts.key(target);
            for (name, value) in list {
                match expected.get(&(key.clone(), &**name)) {
                    Some((other, first)) if !compatible(*first, *value) => {
                        let (rollout, n) = (&key.0, key.1.unwrap_or(0));
                        let message = format!(
                            "expects {} of `{name}`, and expect.rewards.{other}.{name} expects {} of the same attempt ({})",
                            describe(*value),
                            describe(*first),
                            counts.why(rollout, n)
                        );
                        self.problem(
                            at!["expect", "rewards", target.to_string(), name.to_string()],
                            message,
                            Some("expect one value, or a range that holds both".into()),
                        );
                    }
                    Some(_) => {}
                    None => {
                        expected.insert((key.clone(), &**name), (target.to_string(), *value));
                    }
                }
            }
        }
        expected
    }

    /// A reward expected absent where it is expected present.
    pub(super) fn absent_and_expected(
        &mut self,
        expect: &Expectations,
        counts: &AttemptCounts<'_>,
        expected: &Expected<'_>,
    ) {
        let mut by_name: BTreeMap<&str, &String> = BTreeMap::new();
        for ((_, name), (other, _)) in expected {
            by_name.entry(name).or_insert(other);
        }
        for (target, names) in &expect.absent_rewards {
            let key = target.as_ref().map(|t| counts.key(t));
            let shown = target
                .as_ref()
                .map_or_else(|| "*".to_string(), ToString::to_string);
            for (i, name) in names.iter().enumerate() {
                let present = match &key {
                    Some(key) => expected
                        .get(&(key.clone(), &**name))
                        .map(|(other, _)| other),
                    None => by_name.get(&**name).copied(),
                };
                let Some(other) = present else { continue };
                let scope = if key.is_none() {
                    "from every attempt (`*`)"
                } else {
                    "here"
                };
                self.problem(
                    at!["expect", "absent_rewards", &shown, i],
                    format!(
                        "`{name}` is expected absent {scope} and expected at expect.rewards.{other}.{name}"
                    ),
                    Some("remove it from one of the two".into()),
                );
            }
        }
    }

    /// Expected values that are not finite numbers.
    pub(super) fn rewards_never_equal(&mut self, file: &ScenarioFile) {
        for (key, rewards) in file.expect.rewards.iter().flat_map(|m| m.0.iter()) {
            for (name, want) in &rewards.0 {
                self.never_equal(at!["expect", "rewards", key, name], *want);
            }
        }
    }

    /// The reward expectation `want`, at `at`, if no reward can meet it.
    fn never_equal(&mut self, at: Path, want: RewardExpect) {
        match want {
            RewardExpect::Exact(v) if v.is_nan() => self.problem(
                at,
                "NaN never equals anything, so this expectation can never hold",
                Some("expect a number, or `{ between: [a, b] }`".into()),
            ),
            RewardExpect::Exact(v) => {
                if let Some(shown) = non_finite(v) {
                    self.problem(
                        at,
                        format!("a reward is never {shown}: rewards are finite numbers, so this expectation can never hold"),
                        Some("expect a finite number, or `{ between: [a, b] }`".into()),
                    );
                }
            }
            RewardExpect::Between(a, b) => {
                for (i, bound) in [a, b].into_iter().enumerate() {
                    let Some(shown) = non_finite(bound) else {
                        continue;
                    };
                    self.problem(
                        at![at; "between", i],
                        format!("the bounds of `between` are finite numbers, not {shown}"),
                        Some(
                            if i == 0 {
                                "for no lower bound, write a very low number such as -1e300"
                            } else {
                                "for no upper bound, write a very high number such as 1e300"
                            }
                            .into(),
                        ),
                    );
                }
            }
        }
    }
}

/// Whether one number can satisfy both reward expectations.
fn compatible(a: RewardValue, b: RewardValue) -> bool {
    let range = |v: RewardValue| match v {
        RewardValue::Exact(x) => (x, x),
        RewardValue::Between(low, high) => (low, high),
    };
    let ((a_low, a_high), (b_low, b_high)) = (range(a), range(b));
    a_low.max(b_low) <= a_high.min(b_high)
}

/// A reward expectation in words: `35`, `a value in [1, 2]`.
fn describe(value: RewardValue) -> String {
    match value {
        RewardValue::Exact(x) => format!("{x}"),
        RewardValue::Between(low, high) => format!("a value in [{low}, {high}]"),
    }
}
