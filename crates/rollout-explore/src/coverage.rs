//! Coverage across a sweep: for every goal, how many seeds reached it and
//! the first one that did.
//!
//! The goals are the simulator's built-in ones ([`Goal::ALL`], in their
//! order) and then the scenario's own (`expect.sometimes`, in file order).
//! A sweep keeps a count and a smallest seed per goal, never a list of
//! seeds, so its memory does not grow with the range; shard reports merge
//! by adding the counts and taking the smaller first seed, which gives the
//! whole sweep's numbers whatever the sharding or the number of jobs.
//!
//! A built-in goal no seed reached is reported; a goal of the scenario's
//! own that no seed reached fails the sweep, since the file says some seed
//! should reach it.

use rollout_scenario::ScenarioOutcome;
use rollout_simulator::Goal;

/// Where a goal comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalKind {
    /// One of the simulator's [`Goal`]s.
    BuiltIn,
    /// The scenario's own, from `expect.sometimes`.
    Scenario,
}

impl GoalKind {
    /// Its name in reports: `built-in` or `scenario`.
    pub const fn as_str(self) -> &'static str {
        match self {
            GoalKind::BuiltIn => "built-in",
            GoalKind::Scenario => "scenario",
        }
    }
}

/// One goal across a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalCoverage {
    /// The goal's name.
    pub goal: String,
    /// Built-in or the scenario's own.
    pub kind: GoalKind,
    /// Seeds that reached it.
    pub seeds: u64,
    /// The smallest seed that reached it; `None` when none did.
    pub first_seed: Option<u64>,
}

/// Every goal of a sweep, built-in goals first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepCoverage {
    /// The goals, in report order.
    pub goals: Vec<GoalCoverage>,
}

impl SweepCoverage {
    /// The goals no seed reached, in report order.
    pub fn unreached(&self) -> impl Iterator<Item = &GoalCoverage> {
        self.goals.iter().filter(|g| g.seeds == 0)
    }

    /// The scenario's own goals no seed reached: each fails the sweep.
    pub fn scenario_unreached(&self) -> impl Iterator<Item = &GoalCoverage> {
        self.unreached().filter(|g| g.kind == GoalKind::Scenario)
    }
}

/// What one seed reached: one flag per goal, in report order.
pub(crate) fn reached_by(outcome: &ScenarioOutcome) -> Vec<bool> {
    let built_in = Goal::ALL.iter().map(|g| outcome.run.coverage.contains(*g));
    let own = outcome.sometimes.iter().map(|(_, reached)| *reached);
    built_in.chain(own).collect()
}

/// The goals' names and kinds, in report order, for a scenario whose own
/// goals are `own`.
pub(crate) fn goal_names<'a>(own: impl IntoIterator<Item = &'a str>) -> Vec<(String, GoalKind)> {
    Goal::ALL
        .iter()
        .map(|g| (g.name().to_string(), GoalKind::BuiltIn))
        .chain(own.into_iter().map(|n| (n.to_string(), GoalKind::Scenario)))
        .collect()
}

/// One goal's count and first seed, as a sweep tallies them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    seeds: u64,
    first: Option<u64>,
}

/// The tallies of part of a sweep, one per goal in report order; it grows
/// to the goals it is shown, so an empty one merges into any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tallies(Vec<Tally>);

impl Tallies {
    /// Notes what `seed` reached.
    pub(crate) fn add(&mut self, seed: u64, reached: &[bool]) {
        if self.0.len() < reached.len() {
            self.0.resize(reached.len(), Tally::default());
        }
        for (tally, _) in self.0.iter_mut().zip(reached).filter(|(_, r)| **r) {
            tally.seeds = tally.seeds.saturating_add(1);
            tally.first = Some(tally.first.map_or(seed, |f| f.min(seed)));
        }
    }

    /// Adds another part's tallies.
    pub(crate) fn merge(&mut self, other: &Tallies) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), Tally::default());
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            mine.seeds = mine.seeds.saturating_add(theirs.seeds);
            mine.first = match (mine.first, theirs.first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }

    /// The tallies of a report's coverage, read back for a merge.
    pub(crate) fn of(coverage: &SweepCoverage) -> Tallies {
        Tallies(
            coverage
                .goals
                .iter()
                .map(|g| Tally {
                    seeds: g.seeds,
                    first: g.first_seed,
                })
                .collect(),
        )
    }

    /// The coverage of the goals `names`, in their order.
    pub(crate) fn into_coverage(self, names: Vec<(String, GoalKind)>) -> SweepCoverage {
        let goals = names
            .into_iter()
            .enumerate()
            .map(|(i, (goal, kind))| {
                let tally = self.0.get(i).copied().unwrap_or_default();
                GoalCoverage {
                    goal,
                    kind,
                    seeds: tally.seeds,
                    first_seed: tally.first,
                }
            })
            .collect();
        SweepCoverage { goals }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_count_seeds_and_keep_the_smallest_whatever_the_order() {
        let names = || goal_names(["r1-failed"]);
        let flags = |on: &[usize]| -> Vec<bool> { (0..9).map(|i| on.contains(&i)).collect() };
        let mut a = Tallies::default();
        a.add(7, &flags(&[0, 8]));
        a.add(3, &flags(&[0]));
        let mut b = Tallies::default();
        b.add(2, &flags(&[8]));
        b.add(9, &flags(&[1]));
        let mut whole = Tallies::default();
        whole.merge(&a);
        whole.merge(&b);
        let coverage = whole.into_coverage(names());
        let row = |name: &str| {
            let g = coverage.goals.iter().find(|g| g.goal == name).unwrap();
            (g.kind, g.seeds, g.first_seed)
        };
        assert_eq!(row("backoff-capped"), (GoalKind::BuiltIn, 2, Some(3)));
        assert_eq!(
            row("recovered-after-3-failures"),
            (GoalKind::BuiltIn, 1, Some(9))
        );
        assert_eq!(row("worker-restarted"), (GoalKind::BuiltIn, 0, None));
        assert_eq!(row("r1-failed"), (GoalKind::Scenario, 2, Some(2)));
        assert_eq!(coverage.goals.len(), 9);
        assert_eq!(coverage.unreached().count(), 6);
        assert_eq!(coverage.scenario_unreached().count(), 0);
    }
}
