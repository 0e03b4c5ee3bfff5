//! `rollouts`: single rollouts (`id`) and batches (`generate`).
//!
//! Each entry is exactly one of the two. Rollout ids are unique over the
//! whole list, generated ones included, and never look like what
//! expectations write for something else (`*` for every rollout,
//! `r1:attempt-2` for an attempt). A scenario defines at most
//! [`MAX_ROLLOUTS`] rollouts, counted before a batch is expanded, and their
//! data is bounded too ([`payload`](super::payload)). Duplicates are found
//! by one sort after the list, not a map, so that a million generated ids
//! stay cheap; a batch that repeats ids is reported once.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::time::Duration;

use serde_json::Value;

use crate::limits::MAX_ROLLOUTS;
use crate::schema::{GenerateSpec, RolloutEntry};
use crate::source::{Path, at};
use rollout_core::RolloutId;
use rollout_simulator::{RolloutPlan, RunStep};

use super::Validator;
use super::payload::payload_bytes;
use super::text::Text;

/// The rollouts made so far, and what the checks over all of them need.
#[derive(Default)]
struct Made {
    plans: Vec<RolloutPlan>,
    /// The entry each plan came from, for duplicate ids (found after the
    /// loop by sorting, so a million generated ids cost no map).
    entry_of: Vec<u32>,
    /// Rollouts defined so far, generated ones included.
    total: u64,
    /// The estimated payload so far: every rollout holds its own copy of
    /// its input, outputs and rewards.
    payload: u64,
}

impl Made {
    /// The rollouts of `generate`, the entry at `entry`: `prefix` and a
    /// number padded to the width of `count`, enqueued `every` apart from
    /// `start`.
    fn expand(
        &mut self,
        entry: usize,
        generate: &GenerateSpec,
        input: Value,
        attempts: Vec<RunStep>,
    ) {
        let width = generate.count.to_string().len();
        let every = generate.every.map_or(Duration::ZERO, |d| d.0);
        let start = generate.start.map_or(Duration::ZERO, |d| d.0);
        for n in 1..=generate.count {
            let id = format!("{}{:0width$}", generate.prefix, n);
            self.entry_of.push(entry as u32);
            self.plans.push(RolloutPlan {
                id: RolloutId::new(&id),
                input: input.clone(),
                enqueue_at: start.saturating_add(every.saturating_mul(n - 1)),
                attempts: attempts.clone(),
            });
        }
    }
}

impl Validator<'_> {
    /// Every rollout the entries define, in file order; at a limit, those
    /// made before it.
    pub(super) fn rollouts(&mut self, entries: &[RolloutEntry]) -> Vec<RolloutPlan> {
        let mut made = Made::default();
        if entries.is_empty() {
            self.problem(
                at!["rollouts"],
                "no rollouts: a scenario needs at least one",
                None,
            );
        }
        for (i, entry) in entries.iter().enumerate() {
            let at = at!["rollouts", i];
            let flow = match (&entry.id, &entry.generate) {
                (Some(_), Some(_)) | (None, None) => {
                    self.problem(
                        at,
                        "a rollout entry needs exactly one of `id` or `generate`",
                        Some("write `- id: r1` or `- generate: { count: 10 }`".into()),
                    );
                    continue;
                }
                (Some(id), None) => self.single(&mut made, &at, i, entry, id),
                (None, Some(generate)) => self.generated(&mut made, &at, i, entry, generate),
            };
            if flow.is_break() {
                return made.plans;
            }
            if made.total > MAX_ROLLOUTS {
                self.problem(
                    at,
                    format!("the scenario defines more than {MAX_ROLLOUTS} rollouts"),
                    None,
                );
                return made.plans;
            }
        }
        self.duplicate_ids(entries, &made.plans, &made.entry_of);
        made.plans
    }

    /// The entry `- id: ...` at `at`, the `i`-th.
    fn single(
        &mut self,
        made: &mut Made,
        at: &Path,
        i: usize,
        entry: &RolloutEntry,
        id: &str,
    ) -> ControlFlow<()> {
        made.total += 1;
        let id_at = at![at; "id"];
        if let Some(message) = bad_rollout_id(id) {
            self.problem(id_at.clone(), message, None);
        }
        self.text(id_at, "a rollout id", id, Text::Name);
        let input = entry.input.clone().unwrap_or(Value::Null);
        let attempts = self.attempts(at, entry.run.as_ref(), entry.attempts.as_deref(), &input);
        made.entry_of.push(i as u32);
        let one = payload_bytes(entry.input.as_ref(), &attempts);
        self.count_payload(&mut made.payload, at, one, 1)?;
        made.plans.push(RolloutPlan {
            id: RolloutId::new(id),
            input,
            enqueue_at: entry.enqueue_at.map_or(Duration::ZERO, |d| d.0),
            attempts,
        });
        ControlFlow::Continue(())
    }

    /// The entry `- generate: ...` at `at`, the `i`-th.
    fn generated(
        &mut self,
        made: &mut Made,
        at: &Path,
        i: usize,
        entry: &RolloutEntry,
        generate: &GenerateSpec,
    ) -> ControlFlow<()> {
        if entry.input.is_some()
            || entry.enqueue_at.is_some()
            || entry.run.is_some()
            || entry.attempts.is_some()
        {
            self.problem(
                at.clone(),
                "with `generate`, put `input`, `run` and `attempts` inside it",
                None,
            );
        }
        let g_at = at![at; "generate"];
        made.total += u64::from(generate.count);
        if generate.count == 0 {
            self.problem(at![g_at; "count"], "`count` must be at least 1", None);
        }
        if made.total > MAX_ROLLOUTS {
            let total = made.total;
            self.problem(
                at![g_at; "count"],
                format!("the scenario defines {total} rollouts; the limit is {MAX_ROLLOUTS}"),
                None,
            );
            return ControlFlow::Break(());
        }
        let input = generate.input.clone().unwrap_or(Value::Null);
        let attempts = self.attempts(
            &g_at,
            generate.run.as_ref(),
            generate.attempts.as_deref(),
            &input,
        );
        self.text(
            at![g_at; "prefix"],
            "a rollout id prefix",
            &generate.prefix,
            Text::Name,
        );
        let one = payload_bytes(Some(&input), &attempts);
        self.count_payload(&mut made.payload, &g_at, one, u64::from(generate.count))?;
        made.expand(i, generate, input, attempts);
        ControlFlow::Continue(())
    }

    /// Every rollout id used twice: the second and later uses are reported,
    /// once per `generate` entry.
    fn duplicate_ids(&mut self, entries: &[RolloutEntry], plans: &[RolloutPlan], entry_of: &[u32]) {
        let mut order: Vec<u32> = (0..plans.len() as u32).collect();
        // Stable: equal ids stay in file order, so the first is the original.
        order.sort_by(|a, b| plans[*a as usize].id.cmp(&plans[*b as usize].id));
        let mut reported: BTreeSet<u32> = BTreeSet::new();
        for pair in order.windows(2) {
            let (first, again) = (pair[0] as usize, pair[1] as usize);
            if plans[first].id != plans[again].id {
                continue;
            }
            let entry = entry_of[again];
            let id = plans[again].id.as_str();
            if entries[entry as usize].generate.is_some() {
                if reported.insert(entry) {
                    self.problem(
                        at!["rollouts", entry as usize, "generate"],
                        format!("generated id `{id}` duplicates another rollout id"),
                        Some("choose another `prefix`".into()),
                    );
                }
            } else {
                self.problem(
                    at!["rollouts", entry as usize, "id"],
                    format!("duplicate rollout id `{id}`"),
                    Some("rollout ids must be unique".into()),
                );
            }
        }
    }
}

/// Why `id` cannot be a rollout id, if it cannot.
fn bad_rollout_id(id: &str) -> Option<String> {
    if id.trim().is_empty() {
        Some("a rollout id is empty".into())
    } else if id == "*" {
        Some("`*` is reserved for \"every rollout\" in expectations".into())
    } else if id.contains(":attempt-") {
        Some(format!(
            "rollout id `{id}` contains `:attempt-`, which is reserved for attempt ids"
        ))
    } else {
        None
    }
}
