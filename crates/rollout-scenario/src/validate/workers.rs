//! `workers`: a count (`worker-1` to `worker-N`) or a list of ids, each
//! entry possibly `{ id, start_at, runner }`: a worker that starts later,
//! or with runner settings of its own over the top-level `runner:`.
//!
//! A run needs at least one worker and starts at most [`MAX_WORKERS`]
//! (every worker has timers of its own, and the turmoil engine a host).
//! Listed ids must be unique and not empty: faults and expectations name
//! workers by id; like every id, they are bounded and shown in reports
//! ([`text`](super::text)).

use std::collections::BTreeSet;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::limits::MAX_WORKERS;
use crate::schema::{RunnerSection, WorkerEntry, WorkersSpec};
use crate::source::{Path, at};
use rollout_core::{RunnerConfig, WorkerId};

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

    /// Each listed worker's own runner settings and start time, where it
    /// has them.
    pub(super) fn worker_settings(
        &mut self,
        spec: &WorkersSpec,
        top: &RunnerSection,
    ) -> (
        BTreeMap<WorkerId, RunnerConfig>,
        BTreeMap<WorkerId, Duration>,
    ) {
        let mut runners = BTreeMap::new();
        let mut starts = BTreeMap::new();
        let WorkersSpec::Ids(entries) = spec else {
            return (runners, starts);
        };
        for (i, entry) in entries.iter().enumerate() {
            let id = WorkerId::new(&entry.id);
            if let Some(own) = &entry.runner {
                let config = self.worker_runner(&at!["workers", i, "runner"], own, top);
                runners.insert(id.clone(), config);
            }
            if let Some(start) = entry.start_at.filter(|d| !d.0.is_zero()) {
                if start.0 > self.within {
                    self.problem(
                        at!["workers", i, "start_at"],
                        format!(
                            "worker `{}` would start at {start}, after the run ends (stop.within = {})",
                            entry.id,
                            crate::duration::Dur(self.within)
                        ),
                        Some("start it within the run, or leave it out".into()),
                    );
                }
                starts.insert(id, start.0);
            }
        }
        (runners, starts)
    }

    /// A list of worker ids: not empty, not too long, each unique.
    fn worker_ids(&mut self, at: Path, entries: &[WorkerEntry]) -> Vec<WorkerId> {
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        let id_at = |i: usize| {
            if entries[i].mapping {
                at!["workers", i, "id"]
            } else {
                at!["workers", i]
            }
        };
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
            self.text(id_at(i), "a worker id", id, Text::Name);
            if id.trim().is_empty() {
                self.problem(id_at(i), "a worker id is empty", None);
            } else if !seen.insert(*id) {
                self.problem(id_at(i), format!("duplicate worker id `{id}`"), None);
            }
        }
        ids.iter().map(|id| WorkerId::new(*id)).collect()
    }
}
