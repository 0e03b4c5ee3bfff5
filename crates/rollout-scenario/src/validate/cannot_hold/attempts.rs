//! Attempts that cannot exist.
//!
//! A rollout makes at most `runner.max_attempts` attempts, and exactly
//! `attempts: n` when that is expected of it: an attempt numbered beyond
//! either has no rewards or spans to expect, and more attempts than the
//! limit are never made. A rollout with no attempt has no worker, and it
//! cannot have ended: a rollout ends only through an attempt.

use crate::expect::{Expectations, Target};
use crate::schema::{OrderedMap, ScenarioFile};
use crate::source::at;
use crate::validate::Validator;
use rollout_core::{AttemptId, RolloutStatus};

use super::AttemptCounts;

impl Validator<'_> {
    /// `worker` expected of a rollout expected to make no attempt.
    pub(super) fn worker_without_attempt(&mut self, expect: &Expectations) {
        for (id, want) in &expect.rollouts {
            if want.attempts == Some(0) && want.worker.is_some() {
                self.problem(
                    at!["expect", "rollouts", id.to_string(), "worker"],
                    "`worker` contradicts `attempts: 0`: a rollout with no attempt has no worker",
                    Some("remove one of the two".into()),
                );
            }
        }
    }

    /// Rewards and spans of an attempt that `attempts: n` says never
    /// exists.
    pub(super) fn attempts_never_made(
        &mut self,
        file: &ScenarioFile,
        expect: &Expectations,
        counts: &AttemptCounts<'_>,
    ) {
        let targets = expect.rewards.iter().map(|(t, _)| ("rewards", t)).chain(
            expect
                .spans
                .iter()
                .filter(|(_, names)| !names.is_empty())
                .map(|(t, _)| ("spans", t)),
        );
        let max_attempts = file.runner.max_attempts;
        for (section, target) in targets {
            let (rollout, number) = match target {
                Target::Rollout(r) => (r.as_str(), None),
                Target::Attempt(a) => (a.rollout.as_str(), Some(a.number)),
            };
            let Some(n) = counts.expected(rollout) else {
                continue;
            };
            let message = match number {
                // Beyond `runner.max_attempts` is reported on its own.
                Some(k) if k > n && max_attempts.is_none_or(|m| m == 0 || k <= m) => format!(
                    "`{target}` never exists if expect.rollouts.{rollout}.attempts ({n}) holds"
                ),
                None if n == 0 => format!(
                    "`{rollout}` has no attempt if expect.rollouts.{rollout}.attempts (0) holds, so it has no {section}"
                ),
                _ => continue,
            };
            self.key_problem(
                at!["expect", section, target.to_string()],
                message,
                Some("expect fewer attempts, or remove one of the two".into()),
            );
        }
    }

    /// Attempts numbered beyond `runner.max_attempts`, and more attempts
    /// expected than it allows.
    pub(super) fn beyond_max_attempts(&mut self, file: &ScenarioFile) {
        let Some(max) = file.runner.max_attempts.filter(|m| *m > 0) else {
            return;
        };
        let sections = [
            ("rewards", keys(file.expect.rewards.as_ref())),
            ("absent_rewards", keys(file.expect.absent_rewards.as_ref())),
            ("spans", keys(file.expect.spans.as_ref())),
            ("attempts", keys(file.expect.attempts.as_ref())),
        ];
        for (section, keys) in sections {
            for key in keys {
                if let Some(attempt) = AttemptId::parse(key)
                    && attempt.number > max
                {
                    self.key_problem(
                        at!["expect", section, key],
                        format!("`{key}` can never exist: runner.max_attempts is {max}"),
                        Some(format!("attempts are numbered 1 to {max}")),
                    );
                }
            }
        }
        for (key, want) in file.expect.rollouts.iter().flat_map(|m| m.0.iter()) {
            if let Some(n) = want.attempts
                && n > max
            {
                self.problem(
                    at!["expect", "rollouts", key, "attempts"],
                    format!("`attempts: {n}` can never hold: runner.max_attempts is {max}"),
                    Some(format!("at most {max}")),
                );
            }
        }
    }

    /// `attempts: 0` with a terminal status.
    pub(super) fn terminal_without_attempt(&mut self, file: &ScenarioFile) {
        for (key, want) in file.expect.rollouts.iter().flat_map(|m| m.0.iter()) {
            let status = want.status.as_deref().and_then(RolloutStatus::parse);
            if want.attempts == Some(0) && status.is_some_and(|s| s.is_terminal()) {
                self.problem(
                    at!["expect", "rollouts", key, "attempts"],
                    format!(
                        "`attempts: 0` contradicts `status: {}`: a rollout ends only through an attempt",
                        status.map_or("", |s| s.as_str())
                    ),
                    Some("a rollout never dequeued is `queuing` with 0 attempts".into()),
                );
            }
        }
    }
}

/// The keys of an `expect` mapping, in file order.
fn keys<V>(map: Option<&OrderedMap<V>>) -> Vec<&String> {
    map.iter()
        .flat_map(|m| m.0.iter().map(|(k, _)| k))
        .collect()
}
