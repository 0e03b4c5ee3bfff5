//! `stop`: when a run ends, and the most virtual time it may take.
//!
//! `stop.within` is the virtual-time budget, greater than 0 and at most
//! [`MAX_WITHIN`] (a week): a run that reaches it fails. `stop.when` ends
//! the run when every rollout is terminal (`all_terminal`, the default) or
//! at a fixed time (`{ at: 2s }`), which must fall within the budget and
//! after the start. What the stop rule makes impossible elsewhere in the
//! file is checked with the other contradictions
//! ([`cannot_hold`](super::cannot_hold)).

use crate::duration::format_duration;
use crate::limits::MAX_WITHIN;
use crate::schema::{StopSection, StopWhenSpec};
use crate::source::at;
use rollout_simulator::{StopRule, StopWhen};

use super::Validator;

impl Validator<'_> {
    /// The stop rule, defaults for what the section leaves out.
    pub(super) fn stop(&mut self, stop: &StopSection) -> StopRule {
        let defaults = StopRule::default();
        let within = stop.within.map_or(defaults.within, |d| d.0);
        if within.is_zero() {
            self.problem(
                at!["stop", "within"],
                "stop.within must be greater than 0",
                None,
            );
        }
        if within > MAX_WITHIN {
            self.problem(
                at!["stop", "within"],
                format!(
                    "stop.within ({}) is longer than the limit of {} days",
                    format_duration(within),
                    MAX_WITHIN.as_secs() / 86_400
                ),
                Some("write 7d or less".into()),
            );
        }
        let when = match stop.when {
            None | Some(StopWhenSpec::AllTerminal) => StopWhen::AllTerminal,
            Some(StopWhenSpec::At(at)) => {
                if at.0.is_zero() {
                    self.problem(
                        at!["stop", "when", "at"],
                        "stop.when.at must be greater than 0: the run would end before it starts",
                        Some("give the run some time, such as { at: 2s }".into()),
                    );
                }
                if at.0 > within {
                    self.problem(
                        at!["stop", "when", "at"],
                        format!(
                            "stop.when.at ({at}) is after stop.within ({})",
                            format_duration(within)
                        ),
                        Some("raise `within` or stop earlier".into()),
                    );
                }
                StopWhen::At(at.0)
            }
        };
        StopRule { when, within }
    }
}
