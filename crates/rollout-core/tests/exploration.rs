//! Exploration alone as a kill suite (issue 13, part 6; BENCHMARKS.md,
//! "Mutation testing of the runner core"): seed sweeps over generic
//! scenarios with every hand-written expectation cleared, so that only the
//! built-in invariants (and the stop rule) can fail a run. On unmutated code
//! every seed of the budget passes; under `cargo mutants -p rollout-core --
//! --test exploration` a mutant is killed when some mode finds a failing
//! seed within the budget.
//!
//! Each mode is a way of choosing the faults a seed runs with
//! ([`Mode`]): the file's fixed random rates, or swarm (each seed first
//! draws which fault families are on and how hard). `ROLLOUT_EXPLORE_MODE`
//! (`fixed`, `swarm` or `all`, the default) selects which run. Within a mode
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

use rollout_explore::{SeedRange, Shard, SweepOptions, sweep};
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
}

impl Mode {
    const ALL: [Mode; 2] = [Mode::Fixed, Mode::Swarm];

    fn name(self) -> &'static str {
        match self {
            Mode::Fixed => "fixed",
            Mode::Swarm => "swarm",
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
        };
        let report = sweep(scenario, options, "rollout-sim", &|_| {});
        let first = report.summary.failing.iter().min_by_key(|f| f.seed)?;
        Some((first.seed, first.first_failure.replace('\n', " ")))
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

/// Sweeps the scenarios round-robin in `mode` until a seed fails.
fn explore(mode: Mode, scenarios: &[Scenario]) -> Option<Failure> {
    let mut runs = 0;
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
