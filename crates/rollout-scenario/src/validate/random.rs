//! `faults.random`: each queue operation failing (or, for dequeue, coming
//! back empty) at a rate.
//!
//! Rates are probabilities per call, drawn from the scenario's seed: each
//! between 0 and 1, and a call that fails cannot also come back empty, so
//! an operation's two rates add up to at most 1. Only dequeue can come back
//! empty.

use std::collections::BTreeMap;

use crate::schema::RandomSection;
use crate::source::at;
use rollout_core::QueueOp;
use rollout_simulator::RandomRates;

use super::Validator;

impl Validator<'_> {
    /// The rates of each operation the section names.
    pub(super) fn random_faults(
        &mut self,
        section: Option<&RandomSection>,
    ) -> BTreeMap<QueueOp, RandomRates> {
        let mut rates = BTreeMap::new();
        let Some(section) = section else { return rates };
        for (op, name, spec) in [
            (QueueOp::Dequeue, "dequeue", section.dequeue),
            (QueueOp::Heartbeat, "heartbeat", section.heartbeat),
            (QueueOp::Flush, "flush", section.flush),
            (QueueOp::Complete, "complete", section.complete),
        ] {
            let Some(spec) = spec else { continue };
            let fail_rate = spec.fail_rate.unwrap_or(0.0);
            let empty_rate = spec.empty_rate.unwrap_or(0.0);
            for (key, value) in [("fail_rate", fail_rate), ("empty_rate", empty_rate)] {
                if !(0.0..=1.0).contains(&value) {
                    self.problem(
                        at!["faults", "random", name, key],
                        format!("{key} must be between 0 and 1, not {value}"),
                        Some("a probability such as 0.1 for 10%".into()),
                    );
                }
            }
            if spec.empty_rate.is_some() && op != QueueOp::Dequeue {
                self.key_problem(
                    at!["faults", "random", name, "empty_rate"],
                    format!("`empty_rate` is for dequeue, not {name}"),
                    Some("use `fail_rate`".into()),
                );
            }
            if fail_rate + empty_rate > 1.0 && fail_rate <= 1.0 && empty_rate <= 1.0 {
                self.problem(
                    at!["faults", "random", name],
                    format!(
                        "fail_rate + empty_rate is {}, more than 1",
                        fail_rate + empty_rate
                    ),
                    None,
                );
            }
            rates.insert(
                op,
                RandomRates {
                    fail_rate,
                    empty_rate,
                },
            );
        }
        rates
    }
}
