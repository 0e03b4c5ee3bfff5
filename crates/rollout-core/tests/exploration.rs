//! Exploration alone as a kill suite (issue 13, part 6; BENCHMARKS.md,
//! "Mutation testing of the runner core"): seed sweeps over generic
//! scenarios with every hand-written expectation cleared, so that only the
//! built-in invariants (and the stop rule) can fail a run. On unmutated code
//! every seed of the budget passes; under `cargo mutants -p rollout-core --
//! --test exploration` a mutant is killed when some mode finds a failing
//! seed within the budget.
//!
//! Each mode is a way of choosing the faults a seed runs with
//! ([`Mode`]): the file's fixed random rates, swarm (each seed first
//! draws which fault families are on and how hard), or guided (the budget
//! spent partly on branches of runs that reached something new).
//! `ROLLOUT_EXPLORE_MODE` (`fixed`, `swarm`, `guided` or `all`, the
//! default) selects which run. Within a mode
//! the scenarios are swept round-robin, [`CHUNK`] seeds of each at a time,
//! and the mode stops at its first failing seed: runs to a first failure are
//! counted across the scenarios in that order, and a failure prints one line
//!
//! `exploration: mode=<m> scenario=<name> first_failure_run=<k> seed=<s> cause=<...>`
//!
//! which `benches/mutation/tabulate.py` reads back from cargo-mutants' logs.
//! Every mode's first seed of every scenario is also run twice to check that
//! it is deterministic (same trace hash).

use std::path::{Path, PathBuf};

use rollout_explore::{Guided, SeedRange, Shard, SweepOptions, sweep};
use rollout_scenario::{Expectations, RunOptions, Scenario, load_file, run_scenario};

/// The generic scenarios: no expectation of theirs survives [`generic`].
const SCENARIOS: [&str; 4] = [
    "scenarios/research/generic-poll-loop.yaml",
    "scenarios/research/generic-timeouts-reference.yaml",
    "scenarios/research/generic-crashes-retries.yaml",
    "scenarios/research/generic-long-attempts.yaml",
];

/// Seeds per scenario and mode.
const SEEDS: u64 = 64;

/// Seeds of one scenario swept before moving to the next.
const CHUNK: u64 = 8;

/// How a seed's faults are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The file's `faults.random` rates, on every seed.
    Fixed,
    /// Each seed draws its fault configuration from the file's `swarm:`
    /// bounds first.
    Swarm,
    /// `explore --guided`: the seed budget spent partly on branches of runs
    /// that reached a new coverage state (the file's rates).
    Guided,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Fixed, Mode::Swarm, Mode::Guided];

    fn name(self) -> &'static str {
        match self {
            Mode::Fixed => "fixed",
            Mode::Swarm => "swarm",
            Mode::Guided => "guided",
        }
    }

    /// The modes `ROLLOUT_EXPLORE_MODE` selects.
    fn selected() -> Vec<Mode> {
        let chosen = std::env::var("ROLLOUT_EXPLORE_MODE").unwrap_or_else(|_| "all".into());
        if chosen == "all" {
            return Mode::ALL.to_vec();
        }
        let mode = Mode::ALL.into_iter().find(|m| m.name() == chosen);
        vec![mode.unwrap_or_else(|| {
            let names: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
            panic!(
                "ROLLOUT_EXPLORE_MODE=`{chosen}`: expected `all` or one of {}",
                names.join(", ")
            )
        })]
    }

    /// The first failing seed among `seeds` of `scenario`, if any.
    fn first_failure(self, scenario: &Scenario, seeds: SeedRange) -> Option<(u64, String)> {
        let options = SweepOptions {
            seeds,
            shard: Shard::WHOLE,
            jobs: 2,
            engine: None,
            repro_args: String::new(),
            swarm: self == Mode::Swarm,
            guided: None,
        };
        let report = sweep(scenario, options, "rollout-sim", &|_| {});
        let first = report.summary.failing.iter().min_by_key(|f| f.seed)?;
        Some((first.seed, first.first_failure.replace('\n', " ")))
    }

    /// A guided sweep of `scenario` with the whole budget: the place of its
    /// first failing run and that run's seed and cause, or the runs made.
    fn guided(scenario: &Scenario) -> Result<(u64, u64, String), u64> {
        let options = SweepOptions {
            seeds: SeedRange {
                start: 0,
                end: u128::from(SEEDS),
            },
            shard: Shard::WHOLE,
            jobs: 2,
            engine: None,
            repro_args: String::new(),
            swarm: false,
            guided: Some(Guided::default()),
        };
        let report = sweep(scenario, options, "rollout-sim", &|_| {});
        let guided = report.guided.expect("a guided sweep reports what it did");
        match guided.first_failing_run {
            Some(run) => {
                // The smallest failing seed (the first failing run may be a
                // branch of another).
                let first = &report.summary.failing[0];
                Ok((run, first.seed, first.first_failure.replace('\n', " ")))
            }
            None => Err(report.summary.runs),
        }
    }

    fn run_options(self, seed: u64) -> RunOptions {
        RunOptions {
            seed: Some(seed),
            swarm: self == Mode::Swarm,
            ..RunOptions::default()
        }
    }
}

/// What a mode found first.
struct Failure {
    mode: Mode,
    scenario: String,
    run: u64,
    seed: u64,
    cause: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exploration: mode={} scenario={} first_failure_run={} seed={} cause={}",
            self.mode.name(),
            self.scenario,
            self.run,
            self.seed,
            self.cause
        )
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The file with every expectation but its invariants cleared.
fn generic(file: &str) -> Scenario {
    let path = workspace().join(file);
    let mut scenario = load_file(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(
        !scenario.expect.invariants.is_empty(),
        "{file} selects no invariant: nothing could fail it"
    );
    scenario.expect = Expectations {
        invariants: std::mem::take(&mut scenario.expect.invariants),
        ..Expectations::default()
    };
    scenario
}

/// Sweeps the scenarios round-robin in `mode` until a seed fails; guided
/// sweeps each scenario whole in turn, since which runs it makes depends
/// on all of that scenario's earlier ones.
fn explore(mode: Mode, scenarios: &[Scenario]) -> Option<Failure> {
    let mut runs = 0;
    if mode == Mode::Guided {
        for scenario in scenarios {
            match Mode::guided(scenario) {
                Ok((run, seed, cause)) => {
                    return Some(Failure {
                        mode,
                        scenario: scenario.name.clone(),
                        run: runs + run,
                        seed,
                        cause,
                    });
                }
                Err(made) => runs += made,
            }
        }
        return None;
    }
    for start in (0..SEEDS).step_by(CHUNK as usize) {
        let end = (start + CHUNK).min(SEEDS);
        for scenario in scenarios {
            let seeds = SeedRange {
                start,
                end: u128::from(end),
            };
            if let Some((seed, cause)) = mode.first_failure(scenario, seeds) {
                return Some(Failure {
                    mode,
                    scenario: scenario.name.clone(),
                    run: runs + seed - start + 1,
                    seed,
                    cause,
                });
            }
            runs += end - start;
        }
    }
    None
}

#[test]
fn exploration_finds_no_failure_within_the_seed_budget_in_any_mode() {
    let scenarios: Vec<Scenario> = SCENARIOS.iter().map(|f| generic(f)).collect();
    let modes = Mode::selected();
    for mode in &modes {
        for scenario in &scenarios {
            let run = || run_scenario(scenario, mode.run_options(0)).run.trace_hash;
            assert_eq!(
                run(),
                run(),
                "{} [{}]: seed 0 is not deterministic",
                scenario.name,
                mode.name()
            );
        }
    }
    let failures: Vec<Failure> = modes
        .iter()
        .filter_map(|&mode| explore(mode, &scenarios))
        .collect();
    for failure in &failures {
        println!("{failure}");
    }
    assert!(
        failures.is_empty(),
        "exploration found {} failure(s), one line each above",
        failures.len()
    );
}
