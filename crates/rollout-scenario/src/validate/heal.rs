//! The liveness phase: `faults.heal_at` and `stop.recover_within`.
//!
//! `faults.heal_at: T` is when every fault stops; the run then has
//! `stop.recover_within` to bring every rollout to a terminal state, and
//! ends then at the latest. The window must fit the run: T no later than
//! `stop.when.at` and `stop.within`, `recover_within` greater than 0, and
//! `T + recover_within` within `stop.within` (and, with `stop.when: at`,
//! no later than that instant, or the run would end before the window
//! closes). `recover_within` without `heal_at` has nothing to follow and is
//! refused. The default `recover_within` is
//! [`Heal::default_recover_within`]; a default that does not fit is
//! reported with the value it took, so the hint can say what to write.

use std::time::Duration;

use rollout_core::RunnerConfig;
use rollout_simulator::{Heal, RolloutPlan, StopRule, StopWhen};

use crate::duration::format_duration;
use crate::schema::ScenarioFile;
use crate::source::at;

use super::Validator;

impl Validator<'_> {
    /// The liveness phase the file asks for, if any.
    pub(super) fn heal(
        &mut self,
        file: &ScenarioFile,
        runner: &RunnerConfig,
        rollouts: &[RolloutPlan],
        stop: &StopRule,
    ) -> Option<Heal> {
        let recover = file.stop.recover_within.map(|d| d.0);
        let Some(heal_at) = file.faults.heal_at.map(|d| d.0) else {
            if recover.is_some() {
                self.key_problem(
                    at!["stop", "recover_within"],
                    "stop.recover_within needs faults.heal_at: the recovery window starts at the heal",
                    Some("add `heal_at: <when faults stop>` under `faults`, or remove `recover_within`".into()),
                );
            }
            return None;
        };
        let within = stop.within;
        let mut fits = true;
        if heal_at > within {
            fits = false;
            self.problem(
                at!["faults", "heal_at"],
                format!(
                    "faults.heal_at ({}) is after stop.within ({})",
                    format_duration(heal_at),
                    format_duration(within)
                ),
                Some("heal earlier, or raise `stop.within`".into()),
            );
        }
        if let StopWhen::At(stop_at) = stop.when
            && heal_at > stop_at
        {
            fits = false;
            self.problem(
                at!["faults", "heal_at"],
                format!(
                    "faults.heal_at ({}) is after stop.when.at ({}): the run would end before the heal",
                    format_duration(heal_at),
                    format_duration(stop_at)
                ),
                Some("heal earlier, or stop later".into()),
            );
        }
        let given = recover.is_some();
        let recover_within = recover.unwrap_or_else(|| {
            Heal::default_recover_within(runner, rollouts, file.runner.restart_after.map(|d| d.0))
        });
        if recover_within.is_zero() {
            self.problem(
                at!["stop", "recover_within"],
                "stop.recover_within must be greater than 0: no system recovers in no time",
                Some("give it a few worker timeouts, such as recover_within: 10s".into()),
            );
            return None;
        }
        let heal = Heal {
            at: heal_at,
            recover_within,
        };
        if !fits {
            return None;
        }
        let deadline = heal.deadline();
        let (where_, what) = if given {
            (at!["stop", "recover_within"], "stop.recover_within")
        } else {
            (at!["faults", "heal_at"], "the default stop.recover_within")
        };
        let window = format!(
            "faults.heal_at + {what} ({} + {} = {})",
            format_duration(heal_at),
            format_duration(recover_within),
            format_duration(deadline)
        );
        if deadline > within {
            let room = within.saturating_sub(heal_at);
            self.problem(
                where_,
                format!(
                    "{window} is after stop.within ({}): the recovery window must close within the run",
                    format_duration(within)
                ),
                Some(hint(room, deadline, "`stop.within`")),
            );
            return None;
        }
        if let StopWhen::At(stop_at) = stop.when
            && deadline > stop_at
        {
            let room = stop_at.saturating_sub(heal_at);
            self.problem(
                where_,
                format!(
                    "{window} is after stop.when.at ({}): the run would end before the recovery window closes",
                    format_duration(stop_at)
                ),
                Some(hint(room, deadline, "`stop.when.at`")),
            );
            return None;
        }
        Some(heal)
    }
}

/// What to write instead: a window that fits the room left after the heal,
/// or the bound raised to the window's close.
fn hint(room: Duration, deadline: Duration, bound: &str) -> String {
    if room.is_zero() {
        format!(
            "heal earlier, or raise {bound} to {}",
            format_duration(deadline)
        )
    } else {
        format!(
            "write `recover_within: {}` or less, or raise {bound} to {}",
            format_duration(room),
            format_duration(deadline)
        )
    }
}
