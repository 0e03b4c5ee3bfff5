//! What the file places after the run has ended.
//!
//! A run ends at `stop.when.at`, or when every rollout is terminal, and in
//! any case by `stop.within`. A fault scheduled later never happens; under
//! `all_terminal`, a rollout enqueued after `stop.within` never finishes; and
//! `expect.finished_at` must be a time the stop rule can give: exactly
//! `stop.when.at`, or under `all_terminal` no later than `stop.within` and
//! no earlier than the last rollout is enqueued.

use std::time::Duration;

use crate::duration::format_duration as fmt;
use crate::schema::ScenarioFile;
use crate::source::at;
use crate::validate::Validator;
use rollout_simulator::{RolloutPlan, StopRule, StopWhen};

impl Validator<'_> {
    /// Faults after the end of the run; under `all_terminal`, rollouts
    /// enqueued after `stop.within`.
    pub(super) fn after_the_end(&mut self, file: &ScenarioFile, stop: &StopRule) {
        let within = stop.within;
        // The last moment anything can happen.
        let horizon = match stop.when {
            StopWhen::At(at) => at.min(within),
            StopWhen::AllTerminal => within,
        };
        let rule = match stop.when {
            StopWhen::At(at) if at < within => format!("stop.when.at ({})", fmt(at)),
            _ => format!("stop.within ({})", fmt(within)),
        };
        for (i, event) in file.faults.at.iter().enumerate() {
            if let Some(at) = event.at
                && at.0 > horizon
            {
                self.problem(
                    at!["faults", "at", i, "at"],
                    format!("this fault at {at} never happens: the run ends by {rule}"),
                    Some("move it earlier, or remove it".into()),
                );
            }
        }
        if stop.when == StopWhen::AllTerminal {
            self.enqueued_after_within(file, within);
        }
    }

    /// Rollouts enqueued after `stop.within`, which never finish.
    fn enqueued_after_within(&mut self, file: &ScenarioFile, within: Duration) {
        for (i, entry) in file.rollouts.iter().enumerate() {
            let (at, when) = match (&entry.generate, entry.enqueue_at) {
                (None, Some(when)) => (at!["rollouts", i, "enqueue_at"], when.0),
                (Some(g), _) if g.count > 0 => {
                    let start = g.start.map_or(Duration::ZERO, |d| d.0);
                    let every = g.every.map_or(Duration::ZERO, |d| d.0);
                    let last = start.saturating_add(every.saturating_mul(g.count - 1));
                    (at!["rollouts", i, "generate"], last)
                }
                _ => continue,
            };
            if when > within {
                self.problem(
                    at,
                    format!(
                        "a rollout enqueued at {} can never finish: the run stops at stop.within ({})",
                        fmt(when),
                        fmt(within)
                    ),
                    Some("enqueue it earlier, or raise `stop.within`".into()),
                );
            }
        }
    }

    /// `expect.finished_at`, a time the stop rule never gives.
    pub(super) fn finished_at(
        &mut self,
        file: &ScenarioFile,
        rollouts: &[RolloutPlan],
        stop: &StopRule,
    ) {
        let Some(finished) = file.expect.finished_at else {
            return;
        };
        let at = at!["expect", "finished_at"];
        let within = stop.within;
        match stop.when {
            StopWhen::At(stop_at) if finished.0 != stop_at => self.problem(
                at,
                format!(
                    "finished_at ({finished}) can never hold: a run with `stop.when: {{ at: {} }}` ends at {}",
                    fmt(stop_at),
                    fmt(stop_at)
                ),
                Some(format!("write `finished_at: {}`, or remove it", fmt(stop_at))),
            ),
            StopWhen::AllTerminal if finished.0 > within => self.problem(
                at,
                format!(
                    "finished_at ({finished}) can never hold: the run stops at stop.within ({}) at the latest",
                    fmt(within)
                ),
                Some("raise `stop.within`, or expect an earlier time".into()),
            ),
            StopWhen::AllTerminal => {
                // The stop condition needs every rollout, the last one
                // enqueued included.
                let last = rollouts.iter().max_by_key(|r| r.enqueue_at);
                if let Some(last) = last
                    && finished.0 < last.enqueue_at
                {
                    self.problem(
                        at,
                        format!(
                            "finished_at ({finished}) can never hold: `{}` is enqueued at {}, and the run finishes only when every rollout has ended",
                            last.id,
                            fmt(last.enqueue_at)
                        ),
                        Some("expect a later time, or enqueue the rollouts earlier".into()),
                    );
                }
            }
            StopWhen::At(_) => {}
        }
    }
}
