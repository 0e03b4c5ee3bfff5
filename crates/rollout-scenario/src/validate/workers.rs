//! `workers`: a count (`worker-1` to `worker-N`) or a list of ids.
//!
//! A run needs at least one worker and starts at most [`MAX_WORKERS`]
//! (every worker has timers of its own, and the turmoil engine a host).
//! Listed ids must be unique and not empty: faults and expectations name
//! workers by id; like every id, they are bounded and shown in reports
//! ([`text`](super::text)).

use std::collections::BTreeSet;

use crate::limits::MAX_WORKERS;
use crate::schema::WorkersSpec;
use crate::source::{Path, at};
use rollout_core::WorkerId;

use super::Validator;
use super::text::Text;

impl Validator<'_> {
    /// The workers' ids.
    pub(super) fn workers(&mut self, spec: &WorkersSpec) -> Vec<WorkerId> {
        let at = at!["workers"];
        match spec {
            WorkersSpec::Count(0) => {
                self.problem(
                    at,
                    "at least one worker is needed",
                    Some("write `workers: 1` or a list of ids".into()),
                );
                Vec::new()
            }
            WorkersSpec::Count(n) if u64::from(*n) > MAX_WORKERS => {
                self.problem(
                    at,
                    format!("{n} workers is more than the limit of {MAX_WORKERS}"),
                    None,
                );
                Vec::new()
            }
            WorkersSpec::Count(n) => (1..=*n)
                .map(|i| WorkerId::new(format!("worker-{i}")))
                .collect(),
            WorkersSpec::Ids(ids) => self.worker_ids(at, ids),
        }
    }

    /// A list of worker ids: not empty, not too long, each unique.
    fn worker_ids(&mut self, at: Path, ids: &[String]) -> Vec<WorkerId> {
        if ids.is_empty() {
            self.problem(at.clone(), "at least one worker is needed", None);
        }
        if ids.len() as u64 > MAX_WORKERS {
            self.problem(
                at,
                format!(
                    "{} workers is more than the limit of {MAX_WORKERS}",
                    ids.len()
                ),
                None,
            );
        }
        let mut seen = BTreeSet::new();
        for (i, id) in ids.iter().enumerate() {
            self.text(at!["workers", i], "a worker id", id, Text::Name);
            if id.trim().is_empty() {
                self.problem(at!["workers", i], "a worker id is empty", None);
            } else if !seen.insert(id.as_str()) {
                self.problem(
                    at!["workers", i],
                    format!("duplicate worker id `{id}`"),
                    None,
                );
            }
        }
        ids.iter().map(WorkerId::new).collect()
    }
}
