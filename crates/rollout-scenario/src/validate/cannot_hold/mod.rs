//! Expectations and settings that no run can satisfy, decided from the file
//! alone, across sections (the rest is left to the run).
//!
//! A scenario that cannot pass wastes a run and then fails with a message
//! about the run rather than about the file, so what the file alone rules
//! out is refused here, at the setting that rules it out:
//!
//! - what happens after the run has ended: a fault scheduled after it, a
//!   rollout enqueued after `stop.within`, a `finished_at` the stop rule
//!   never gives ([`ending`]);
//! - statuses the stop rule excludes: a terminal status by `stop.when.at`
//!   for a rollout that cannot finish by then, a non-terminal one under
//!   `all_terminal`, the `all-terminal` invariant with a fixed stop
//!   ([`stop_rule`]);
//! - an invariant expected both to hold and to be violated ([`invariants`]);
//! - attempts that cannot exist: beyond `runner.max_attempts`, beyond an
//!   expected `attempts: n`, a worker or a terminal status with no attempt
//!   ([`attempts`]);
//! - rewards no number satisfies: NaN, infinities, two values for one
//!   reward of one attempt, a reward expected both present and absent
//!   ([`rewards`]).
//!
//! The checks run in that order but for the last two groups, whose checks
//! interleave as [`Validator::cannot_hold`] lists them: the order in which
//! problems are found is part of the output.

mod attempts;
mod ending;
mod invariants;
mod rewards;
mod stop_rule;

use std::collections::BTreeMap;

use crate::expect::{Expectations, Target};
use crate::schema::ScenarioFile;
use rollout_simulator::{RolloutPlan, StopRule, StopWhen};

use super::Validator;

impl Validator<'_> {
    /// Every check of the module, in the order problems are listed.
    pub(super) fn cannot_hold(
        &mut self,
        file: &ScenarioFile,
        rollouts: &[RolloutPlan],
        stop: &StopRule,
        expect: &Expectations,
    ) {
        if stop.within.is_zero() {
            // Already reported; every time would be "too late".
            return;
        }
        self.after_the_end(file, stop);
        self.finished_at(file, rollouts, stop);
        match stop.when {
            StopWhen::At(stop_at) => self.ruled_out_by_stop_at(file, rollouts, expect, stop_at),
            StopWhen::AllTerminal => self.not_terminal_under_all_terminal(expect),
        }
        self.held_and_violated(file);
        let counts = AttemptCounts::new(file, expect);
        self.worker_without_attempt(expect);
        self.attempts_never_made(file, expect, &counts);
        let expected = self.conflicting_rewards(expect, &counts);
        self.absent_and_expected(expect, &counts, &expected);
        self.beyond_max_attempts(file);
        self.rewards_never_equal(file);
        self.terminal_without_attempt(file);
    }
}

/// An attempt as expectations name it: its rollout, and its number when
/// known (a rollout id names its last attempt, whose number the file may
/// fix).
type AttemptKey = (String, Option<u32>);

/// The attempt a rollout id names when another expectation fixes it:
/// `attempts: n` makes `r1` mean `r1:attempt-n`, and so does
/// `runner.max_attempts: 1` for n = 1.
struct AttemptCounts<'e> {
    /// `expect.rollouts.<id>.attempts`, by rollout.
    expected: BTreeMap<&'e str, u32>,
    /// `runner.max_attempts: 1`.
    only_one: bool,
}

impl<'e> AttemptCounts<'e> {
    fn new(file: &ScenarioFile, expect: &'e Expectations) -> Self {
        let expected = expect
            .rollouts
            .iter()
            .filter_map(|(id, want)| want.attempts.map(|n| (id.as_str(), n)))
            .collect();
        Self {
            expected,
            only_one: file.runner.max_attempts == Some(1),
        }
    }

    /// The attempts `rollout` is expected to make, if given.
    fn expected(&self, rollout: &str) -> Option<u32> {
        self.expected.get(rollout).copied()
    }

    /// The number of the last attempt of `rollout`, when the file fixes it.
    fn last(&self, rollout: &str) -> Option<u32> {
        self.expected(rollout)
            .or(self.only_one.then_some(1))
            .filter(|n| *n > 0)
    }

    /// Why `rollout` means its attempt `n`.
    fn why(&self, rollout: &str, n: u32) -> String {
        match self.expected(rollout) {
            Some(_) => format!(
                "with expect.rollouts.{rollout}.attempts: {n}, `{rollout}` means {rollout}:attempt-{n}"
            ),
            None => format!("with runner.max_attempts: 1, `{rollout}` means {rollout}:attempt-1"),
        }
    }

    /// The attempt `target` names: its rollout, and its number when known.
    fn key(&self, target: &Target) -> AttemptKey {
        match target {
            Target::Rollout(r) => (r.to_string(), self.last(r.as_str())),
            Target::Attempt(a) => (a.rollout.to_string(), Some(a.number)),
        }
    }
}
