//! Running a scenario and judging it.

use std::sync::Arc;
use std::time::Duration;

use rollout_simulator::InvariantReport;
use rollout_simulator::{EngineKind, RunResult, StopWhen, SwarmDraw};

use super::duration::format_duration;
use super::expect::{Check, CheckName, CheckValue};
use super::load::Scenario;

/// Overrides for one run of a scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Replaces the scenario's `seed`.
    pub seed: Option<u64>,
    /// Replaces the engine the scenario resolves to.
    pub engine: Option<EngineKind>,
    /// Test-only: see [`SimPlan::perturb_scheduling`](rollout_simulator::SimPlan).
    #[doc(hidden)]
    pub perturb_scheduling: bool,
    /// Replaces the scenario's `queue.reassignment`.
    pub reassignment: Option<rollout_core::ReassignmentPolicy>,
    /// Replaces [`SimPlan::keep_events`](rollout_simulator::SimPlan): `Some(false)`
    /// runs without keeping the trace (it is still checked and hashed).
    pub keep_events: Option<bool>,
    /// Swarm mode: the seed first draws its fault configuration from the
    /// scenario's `swarm:` bounds ([`Scenario::swarmed`]).
    pub swarm: bool,
    /// Reseeds the fault overlay at these events (guided exploration's
    /// branches, `--branch`); empty for the seed's own run.
    pub branch: rollout_simulator::Branch,
}

/// A scenario's run and its verdict.
#[derive(Debug, Clone)]
pub struct ScenarioOutcome {
    /// The seed it ran with.
    pub seed: u64,
    /// The engine it ran on.
    pub engine: EngineKind,
    /// Every expectation, checked (plus a `stop` check when the run did not
    /// end as its stop rule asked).
    pub checks: Vec<Check>,
    /// The selected invariants' verdicts.
    pub invariants: Vec<InvariantReport>,
    /// In swarm mode, the configuration the seed drew.
    pub swarm: Option<SwarmDraw>,
    /// The branch it ran (`--branch`); empty for the seed's own run.
    pub branch: rollout_simulator::Branch,
    /// The command-line flags besides seed and engine that changed the
    /// run, as a repro line writes them (each with a leading space).
    pub repro_flags: String,
    /// The scenario's own coverage goals (`expect.sometimes`), in file
    /// order, each with whether this run reached it. Never a failure.
    pub sometimes: Vec<(Arc<str>, bool)>,
    /// The run itself.
    pub run: RunResult,
}

impl ScenarioOutcome {
    /// True when every check passed and every selected invariant held.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed) && self.invariants.iter().all(|i| i.held)
    }

    /// The checks that failed.
    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The invariants that were violated.
    pub fn violated(&self) -> impl Iterator<Item = &InvariantReport> {
        self.invariants.iter().filter(|i| !i.held)
    }

    /// Virtual time at the end of the run.
    pub fn virtual_time(&self) -> Duration {
        self.run.ended_at
    }
}

/// Runs a scenario and checks its expectations and invariants.
pub fn run_scenario(scenario: &Scenario, options: RunOptions) -> ScenarioOutcome {
    let engine = options.engine.unwrap_or_else(|| scenario.engine());
    // A swarm draw rewrites the plan (rates, crashes, network faults), so
    // only a swarm run copies it; every other option goes beside the plan,
    // which may be a million rollouts.
    let mut plan = std::borrow::Cow::Borrowed(&scenario.plan);
    let seed = options.seed.unwrap_or(plan.seed);
    let swarm = options.swarm.then(|| {
        let draw = scenario.swarm.draw(seed, &plan.workers);
        draw.apply(plan.to_mut());
        draw
    });
    let settings = rollout_simulator::RunSettings {
        seed,
        keep_events: options.keep_events.unwrap_or(plan.keep_events),
        perturb_scheduling: plan.perturb_scheduling || options.perturb_scheduling,
        reassignment: options.reassignment.unwrap_or(plan.reassignment),
        branch: if options.branch.is_empty() {
            &plan.branch
        } else {
            &options.branch
        },
    };
    let repro_flags = repro_flags(scenario, &options, engine);
    let run = rollout_simulator::run_with(&plan, settings, engine);
    let clean = run.stop.is_clean();
    let mut checks = Vec::with_capacity(usize::from(!clean) + scenario.expect.count(&run));
    if !clean {
        let expected = match plan.stop.when {
            StopWhen::AllTerminal => format!(
                "every rollout terminal within {}",
                format_duration(plan.stop.within)
            ),
            StopWhen::At(at) => format!("run until {}", format_duration(at)),
        };
        let mut actual = format!(
            "{} at {}",
            run.stop.describe(),
            format_duration(run.ended_at)
        );
        // A run that ends short because workers died says which and why.
        if !run.down.is_empty() {
            let down: Vec<String> = run.down.iter().map(|(w, d)| format!("{w} {d}")).collect();
            actual.push_str(&format!("; down: {}", down.join("; ")));
        }
        checks.push(Check {
            name: CheckName::fixed("stop"),
            expected: CheckValue::Text(expected.into()),
            actual: CheckValue::Text(actual.into()),
            passed: false,
        });
    }
    scenario.expect.check_into(&run, &mut checks);
    let invariants = scenario.expect.selected_reports(&run);
    let sometimes = scenario
        .expect
        .sometimes
        .iter()
        .map(|goal| (goal.name.clone(), goal.reached(&run)))
        .collect();
    ScenarioOutcome {
        seed,
        engine,
        checks,
        invariants,
        swarm,
        branch: options.branch,
        repro_flags,
        sometimes,
        run,
    }
}

impl Scenario {
    /// This scenario as swarm mode runs it with `seed`: the configuration
    /// the seed draws written into its plan (overlay rates, network faults,
    /// crashes and restarts), with that seed, and the draw itself. Run
    /// without `swarm`, it runs exactly as the seed does in swarm mode;
    /// `freeze` and `shrink` start from it, so what they write says
    /// everything explicitly.
    pub fn swarmed(&self, seed: u64) -> (Scenario, SwarmDraw) {
        let mut scenario = self.clone();
        scenario.plan.seed = seed;
        let draw = self.swarm.draw(seed, &scenario.plan.workers);
        draw.apply(&mut scenario.plan);
        (scenario, draw)
    }
}

/// The command that reruns one scenario with its seed and engine;
/// `program` is how the tool was invoked (`rollout-sim`, `cargo run --`).
pub fn repro_command(program: &str, file: &str, seed: u64, engine: EngineKind) -> String {
    format!(
        "{program} scenario {} --seed {seed} --engine {engine}",
        shell_quote(file)
    )
}

/// The command that reruns `outcome` of the scenario in `file`: its seed,
/// engine, and every other flag that changed the run.
pub fn outcome_repro(program: &str, file: &str, outcome: &ScenarioOutcome) -> String {
    repro_command(program, file, outcome.seed, outcome.engine) + &outcome.repro_flags
}

/// The flags a repro line needs besides seed and engine: whatever in
/// `options` (or a limit the command line set) made this run differ from
/// the file's own.
fn repro_flags(scenario: &Scenario, options: &RunOptions, engine: EngineKind) -> String {
    let mut flags = String::new();
    if !options.branch.is_empty() {
        flags.push_str(&format!(" --branch {}", options.branch));
    }
    if let Some(policy) = options.reassignment
        && policy != scenario.plan.reassignment
    {
        flags.push_str(match policy {
            rollout_core::ReassignmentPolicy::ScanAllAttempts => " --reassignment scan",
            rollout_core::ReassignmentPolicy::WorkerActiveIds => " --reassignment reference",
        });
    }
    if engine == EngineKind::Turmoil
        && scenario.plan.limits.turmoil_budget != rollout_simulator::DEFAULT_TURMOIL_BUDGET
    {
        flags.push_str(&format!(
            " --turmoil-budget {}",
            scenario.plan.limits.turmoil_budget
        ));
    }
    if options.swarm {
        flags.push_str(" --swarm");
    }
    if options.perturb_scheduling {
        flags.push_str(" --perturb-scheduling");
    }
    flags
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
