//! The turmoil engine's budget, checked before a run.
//!
//! The virtual and tokio engines cost per event: idle virtual time is free,
//! and the event budget bounds a run. The turmoil engine costs per step of
//! 1 ms for every host, idle or not, and more per step the more hosts there
//! are (it looks through every link for every host), so a week of
//! `stop.at` or a thousand workers would run for minutes or hours within
//! the event budget. [`Scenario::check_turmoil_budget`] estimates the
//! steps' cost ([`SimPlan::turmoil_cost`](rollout_simulator::SimPlan::turmoil_cost),
//! in host-steps) and refuses a scenario over the plan's
//! [`turmoil_budget`](rollout_simulator::RunLimits::turmoil_budget), located at
//! the `stop.within` or `stop.when.at` that sets the steps. What only the
//! run can tell (its events and bytes on the network) is counted as it
//! goes, against the same budget, by the engine.

use rollout_simulator::EngineKind;
use rollout_simulator::StopWhen;

use super::diagnostics::{LoadError, Problem};
use super::duration::format_duration;
use super::load::Scenario;
use super::source::{SourceMap, at};

impl Scenario {
    /// Whether the scenario's steps fit the turmoil budget on `engine` (the
    /// scenario's own engine when `None`): a located error when they do
    /// not, re-reading the file for its text. Engines other than turmoil
    /// always fit.
    pub fn check_turmoil_budget(&self, engine: Option<EngineKind>) -> Result<(), LoadError> {
        if engine.unwrap_or_else(|| self.engine()) != EngineKind::Turmoil {
            return Ok(());
        }
        let cost = self.plan.turmoil_cost();
        let budget = self.plan.limits.turmoil_budget;
        if cost.host_steps <= budget {
            return Ok(());
        }
        let source = std::fs::read_to_string(&self.path).unwrap_or_default();
        Err(LoadError::new(
            &self.path,
            source.clone(),
            vec![self.turmoil_budget_problem(&source)],
        ))
    }

    /// The problem [`check_turmoil_budget`](Self::check_turmoil_budget)
    /// reports, located in `source` (the file's text) where it can be.
    pub fn turmoil_budget_problem(&self, source: &str) -> Problem {
        let cost = self.plan.turmoil_cost();
        let budget = self.plan.limits.turmoil_budget;
        let stop = self.plan.stop;
        let (path, until) = match stop.when {
            StopWhen::At(at) if at <= stop.within => (at!["stop", "when", "at"], Some(at)),
            _ => (at!["workers"], None),
        };
        let map = SourceMap::build(source);
        let span = map.value(&path).or_else(|| map.key(&["stop".into()]));
        let workers = cost.hosts - 1;
        let links = if cost.per_step > cost.hosts {
            " (turmoil looks through the link between every two hosts for every host, every step)"
        } else {
            ""
        };
        let plural = if workers == 1 { "" } else { "s" };
        let message = match until {
            Some(until) => format!(
                "the turmoil engine would take {} steps of 1 ms to reach {} with {} hosts (the queue and {workers} worker{plural}), about {} host-steps{links}; the turmoil budget is {budget} host-steps",
                cost.steps,
                format_duration(until),
                cost.hosts,
                cost.host_steps,
            ),
            None => format!(
                "one step of 1 ms of the turmoil engine with {} hosts (the queue and {workers} worker{plural}) costs about {} host-steps{links}; the turmoil budget is {budget} host-steps",
                cost.hosts, cost.per_step,
            ),
        };
        let help = format!(
            "shorten it or use fewer workers, or raise the budget with `--turmoil-budget {}`; turmoil steps every host every millisecond, idle or not, and {budget} host-steps take about 10 s: use the virtual engine unless the question is about the network",
            cost.host_steps
        );
        Problem::located(path, span, message, Some(help))
    }
}
