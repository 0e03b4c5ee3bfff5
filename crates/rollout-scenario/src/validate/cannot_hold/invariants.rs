//! An invariant expected both to hold and to be violated.
//!
//! `expect.invariants` lists the invariants a run must keep and
//! `expect.violated` those it must break (a reproducer of a known defect):
//! one invariant in both lists fails whatever the run does.

use crate::schema::{InvariantsSpec, ScenarioFile};
use crate::source::at;
use crate::validate::Validator;

impl Validator<'_> {
    /// Each name of `expect.violated` also listed in `expect.invariants`.
    pub(super) fn held_and_violated(&mut self, file: &ScenarioFile) {
        let (Some(InvariantsSpec::Only(held)), Some(violated)) =
            (&file.expect.invariants, &file.expect.violated)
        else {
            return;
        };
        for (i, name) in violated.iter().enumerate() {
            if let Some(j) = held.iter().position(|h| h == name) {
                self.problem(
                    at!["expect", "violated", i],
                    format!(
                        "`{name}` is expected violated here and to hold in expect.invariants[{j}]"
                    ),
                    Some("keep it in one of the two lists".into()),
                );
            }
        }
    }
}
