//! Statuses and invariants the stop rule rules out.
//!
//! With `stop.when: { at: T }` the run stops at T whatever the rollouts are
//! doing: a rollout cannot be terminal by then if it is enqueued, or has run
//! its first attempt, only later (unless a limit on attempts can fail it
//! early), a rollout enqueued after T has nothing at all to expect, and the
//! `all-terminal` invariant would hold without checking anything. With
//! `all_terminal` a run passes only when every rollout ends, so a rollout
//! expected in another status fails either that check or the stop check.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::duration::format_duration as fmt;
use crate::expect::{Expectations, RolloutExpectation};
use crate::schema::{InvariantsSpec, ScenarioFile};
use crate::source::at;
use crate::validate::Validator;
use rollout_simulator::RolloutPlan;

/// What a rollout can have reached when the run stops at `stop.when.at`.
struct ByStop {
    stop_at: Duration,
    /// Whether the first attempt must have run before the rollout ends: it
    /// need not when a limit on attempts can fail it early (its worker
    /// crashes and the attempt times out).
    counts_run: bool,
}

impl ByStop {
    /// The earliest a rollout can end: once enqueued and, unless a limit on
    /// attempts can fail it early, once its first attempt has run.
    fn earliest(&self, r: &RolloutPlan) -> Duration {
        if self.counts_run {
            r.enqueue_at.saturating_add(r.step(1).duration)
        } else {
            r.enqueue_at
        }
    }

    /// Why `r` cannot end by the stop.
    fn why(&self, r: &RolloutPlan) -> String {
        if self.counts_run {
            format!(
                "is enqueued at {} and its first attempt runs {}",
                fmt(r.enqueue_at),
                fmt(r.step(1).duration)
            )
        } else {
            format!("is enqueued at {}", fmt(r.enqueue_at))
        }
    }

    /// Whether `want` expects `r` terminal when it cannot end in time.
    fn late(&self, want: &RolloutExpectation, r: &RolloutPlan) -> bool {
        want.status.is_some_and(|s| s.is_terminal()) && self.earliest(r) > self.stop_at
    }

    /// Whether `want` expects anything of `r` while `r` is enqueued after
    /// the run stops: it is never in the queue, so it has no status,
    /// attempt, worker or error to expect.
    fn never_enqueued(&self, want: &RolloutExpectation, r: &RolloutPlan) -> bool {
        r.enqueue_at > self.stop_at
            && (want.status.is_some()
                || want.attempts.is_some_and(|n| n > 0)
                || want.worker.is_some()
                || want.error.is_some())
    }
}

impl Validator<'_> {
    /// What a run stopped at `stop_at` cannot satisfy.
    pub(super) fn ruled_out_by_stop_at(
        &mut self,
        file: &ScenarioFile,
        rollouts: &[RolloutPlan],
        expect: &Expectations,
        stop_at: Duration,
    ) {
        if let Some(InvariantsSpec::Only(names)) = &file.expect.invariants
            && let Some(i) = names.iter().position(|n| n == "all-terminal")
        {
            self.problem(
                at!["expect", "invariants", i],
                format!(
                    "`all-terminal` is checked only with `stop.when: all_terminal`; this scenario stops at {}, so it would hold without checking anything",
                    fmt(stop_at)
                ),
                Some("remove it, or stop with `when: all_terminal` and expect statuses under `expect.rollouts`".into()),
            );
        }
        let by = ByStop {
            stop_at,
            counts_run: file.runner.max_attempts.is_none(),
        };
        let named: BTreeSet<&str> = expect.rollouts.iter().map(|(id, _)| id.as_str()).collect();
        self.named_by_stop(rollouts, expect, &by, &named);
        if let Some(want) = &expect.other_rollouts {
            self.others_by_stop(rollouts, want, &by, &named);
        }
    }

    /// `expect.rollouts.<id>` that cannot hold by the stop.
    fn named_by_stop(
        &mut self,
        rollouts: &[RolloutPlan],
        expect: &Expectations,
        by: &ByStop,
        named: &BTreeSet<&str>,
    ) {
        // One pass over the rollouts for the named ones, not a search per
        // name: a million rollouts and many names stay linear.
        let plans: BTreeMap<&str, &RolloutPlan> = if named.is_empty() {
            BTreeMap::new()
        } else {
            rollouts
                .iter()
                .filter(|r| named.contains(r.id.as_str()))
                .map(|r| (r.id.as_str(), r))
                .collect()
        };
        for (id, want) in &expect.rollouts {
            let Some(r) = plans.get(id.as_str()).copied() else {
                continue;
            };
            let at = at!["expect", "rollouts", id.to_string()];
            if by.never_enqueued(want, r) {
                self.problem(
                    at,
                    format!(
                        "`{id}` is enqueued at {}, after the run stops at stop.when.at ({}): it is never in the queue, so nothing expected of it can hold",
                        fmt(r.enqueue_at),
                        fmt(by.stop_at)
                    ),
                    Some("enqueue it earlier, stop later, or remove this expectation".into()),
                );
            } else if by.late(want, r) {
                self.problem(
                    at,
                    format!(
                        "`{id}` cannot be {} by stop.when.at ({}): it {}",
                        want.status.map_or("", |s| s.as_str()),
                        fmt(by.stop_at),
                        by.why(r)
                    ),
                    Some("stop later, or expect the status it has then (such as running)".into()),
                );
            }
        }
    }

    /// `expect.rollouts.*`, when a rollout it covers cannot satisfy it by
    /// the stop: reported once, at the first such rollout.
    fn others_by_stop(
        &mut self,
        rollouts: &[RolloutPlan],
        want: &RolloutExpectation,
        by: &ByStop,
        named: &BTreeSet<&str>,
    ) {
        let mut late_ones = rollouts.iter().filter(|r| {
            !named.contains(r.id.as_str()) && (by.late(want, r) || by.never_enqueued(want, r))
        });
        let Some(first) = late_ones.next() else {
            return;
        };
        let more = late_ones.count();
        let (what, because) = if by.never_enqueued(want, first) {
            (
                "*".to_string(),
                format!(
                    "is enqueued at {}, after the run stops, and is never in the queue",
                    fmt(first.enqueue_at)
                ),
            )
        } else {
            (
                format!("*: {}", want.status.map_or("", |s| s.as_str())),
                by.why(first),
            )
        };
        let more = if more > 0 {
            format!(" ({more} more like it)")
        } else {
            String::new()
        };
        self.problem(
            at!["expect", "rollouts", "*"],
            format!(
                "`{what}` cannot hold by stop.when.at ({}): `{}` {because}{more}",
                fmt(by.stop_at),
                first.id,
            ),
            Some("stop later, or name the rollouts that finish in time".into()),
        );
    }

    /// With `stop.when: all_terminal` a run passes only when it stops
    /// because every rollout is terminal: a rollout expected in another
    /// status fails either that check or the `stop` check.
    pub(super) fn not_terminal_under_all_terminal(&mut self, expect: &Expectations) {
        let named = expect
            .rollouts
            .iter()
            .map(|(id, want)| (id.to_string(), want));
        let others = expect
            .other_rollouts
            .iter()
            .map(|want| ("*".to_string(), want));
        for (key, want) in named.chain(others) {
            let Some(status) = want.status.filter(|s| !s.is_terminal()) else {
                continue;
            };
            self.problem(
                at!["expect", "rollouts", key, "status"],
                format!(
                    "`{status}` can never hold: with `stop.when: all_terminal` a run passes only when every rollout ends succeeded, failed or cancelled"
                ),
                Some("to check a rollout during the run, stop at a fixed time: `stop: { when: { at: 2s } }`".into()),
            );
        }
    }
}
