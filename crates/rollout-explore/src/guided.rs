//! Guided exploration: spend the seed budget where runs did something new.
//!
//! A plain sweep runs seed after seed, each as likely as the last to repeat
//! what every seed before it did. A guided sweep keeps the set of
//! [`CoverageState`]s (goals included) that its runs have reached, and when
//! a run reaches a state no run reached before, it *branches* from the
//! moment it did: [`Guided::energy`] new runs of the same seed whose fault
//! overlay is reseeded at that event ([`Branch`]), so each keeps the rare
//! past and draws a new future. A branch that reaches something new in turn
//! branches again. A scenario's own goals (`expect.sometimes`) are judged
//! on a whole run, so a run that first reaches one branches from half its
//! events.
//!
//! Runs go in rounds of [`ROUND`]: pending branches first, in the order
//! they were made, then fresh seeds of the range in order. The round is
//! run on every job, and its results are read in round order, so what a
//! guided sweep does depends on the scenario, the range and the settings,
//! never on the number of jobs. It stops when it has made as many runs as
//! the range has seeds (the seed budget: every fresh seed spends one, so
//! the seeds never run out first), or when [`Guided::plateau`] runs in a
//! row reached nothing new (a coverage plateau), or when it is cancelled
//! (SIGINT, SIGTERM): the runs under way finish and no other starts.
//!
//! Every run, branch or seed, is checked and counted like a sweep's seed:
//! findings, failing seeds (with their branch in the repro), goals and
//! distributions are the same report. A guided sweep does not split into
//! shards: which runs it makes depends on what all the earlier ones found.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rollout_scenario::Scenario;
use rollout_simulator::{Branch, CoverageState};

use super::{Partial, SeedResult, SweepOptions};

/// Runs in a round: fixed, so that the runs made do not depend on jobs.
pub const ROUND: usize = 32;

/// Branches waiting at most: each is a few words, and a sweep that makes
/// more than it can run drops the newest.
pub const MAX_PENDING: usize = 4_096;

/// How a guided sweep spends its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guided {
    /// Branches made from each run that reached something new.
    pub energy: u32,
    /// Stop after this many runs in a row that reached nothing new.
    pub plateau: u64,
}

impl Guided {
    /// The default energy.
    pub const DEFAULT_ENERGY: u32 = 8;
    /// The default plateau.
    pub const DEFAULT_PLATEAU: u64 = 1_000;
}

impl Default for Guided {
    fn default() -> Self {
        Guided {
            energy: Guided::DEFAULT_ENERGY,
            plateau: Guided::DEFAULT_PLATEAU,
        }
    }
}

/// Why a guided sweep stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuidedStop {
    /// It made as many runs as the range has seeds.
    SeedBudget,
    /// `plateau` runs in a row reached nothing new.
    Plateau,
    /// SIGINT or SIGTERM: the runs under way finished, no other started.
    Cancelled,
}

impl GuidedStop {
    /// Its name in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            GuidedStop::SeedBudget => "seed-budget",
            GuidedStop::Plateau => "plateau",
            GuidedStop::Cancelled => "cancelled",
        }
    }
}

/// A run that reached something no run before it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// Its place among the sweep's runs, from 1.
    pub run: u64,
    /// Its seed.
    pub seed: u64,
    /// Its branch (empty for the seed's own run).
    pub branch: Branch,
    /// What it reached first: coverage states, then the scenario's own
    /// goals by name.
    pub reached: Vec<String>,
}

/// Discoveries a report lists: at most one per state and goal, so this
/// bounds nothing a real scenario reaches.
pub const MAX_DISCOVERIES: usize = 256;

/// What a guided sweep did besides what every sweep reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuidedSummary {
    /// The settings.
    pub settings: Guided,
    /// Fresh seeds run.
    pub seeds: u64,
    /// Branches run.
    pub branches: u64,
    /// Why it stopped.
    pub stopped: GuidedStop,
    /// Coverage states reached by some run.
    pub states: u32,
    /// The place among the runs (from 1) of the first that failed: how
    /// long the sweep took to find something.
    pub first_failing_run: Option<u64>,
    /// Each run that reached something new, in run order.
    pub discoveries: Vec<Discovery>,
}

/// One run to make.
#[derive(Debug, Clone)]
struct Input {
    seed: u64,
    branch: Branch,
}

/// Runs a guided sweep of `scenario`; `progress` gets the runs made so far.
pub(crate) fn explore(
    scenario: &Scenario,
    options: &SweepOptions,
    guided: Guided,
    program: &str,
    progress: &(dyn Fn(super::Progress) + Sync),
    cancel: &AtomicBool,
) -> (Partial, GuidedSummary) {
    let budget = u64::try_from(options.seeds.len()).unwrap_or(u64::MAX);
    let mut fresh = options.seeds.seeds(super::Shard::WHOLE);
    let mut pending: VecDeque<Input> = VecDeque::new();
    let mut total = Partial::default();
    let mut summary = GuidedSummary {
        settings: guided,
        seeds: 0,
        branches: 0,
        stopped: GuidedStop::SeedBudget,
        states: 0,
        first_failing_run: None,
        discoveries: Vec::new(),
    };
    let own_goals = scenario.expect.sometimes.len();
    let built_in = rollout_simulator::Goal::ALL.len();
    let mut seen_states = 0u64;
    let mut seen_own = vec![false; own_goals];
    let mut quiet = 0u64;
    let mut runs = 0u64;
    let done = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    loop {
        let room = usize::try_from(budget - runs)
            .unwrap_or(usize::MAX)
            .min(ROUND);
        if room == 0 {
            summary.stopped = GuidedStop::SeedBudget;
            break;
        }
        if cancel.load(Ordering::SeqCst) {
            summary.stopped = GuidedStop::Cancelled;
            break;
        }
        let mut round = Vec::with_capacity(room);
        while round.len() < room {
            if let Some(input) = pending.pop_front() {
                round.push(input);
            } else if let Some(seed) = fresh.next() {
                round.push(Input {
                    seed,
                    branch: Branch::NONE,
                });
            } else {
                break;
            }
        }
        // Every fresh seed spends budget, so seeds never run out first.
        debug_assert!(!round.is_empty());
        let results = run_round(
            scenario,
            options,
            program,
            &round,
            [&done, &failed],
            (progress, cancel),
        );
        for (input, result) in round.into_iter().zip(results) {
            runs += 1;
            if result.failing.is_some() && summary.first_failing_run.is_none() {
                summary.first_failing_run = Some(runs);
            }
            if input.branch.is_empty() {
                summary.seeds += 1;
            } else {
                summary.branches += 1;
            }
            let fresh_states: Vec<(CoverageState, u64)> =
                result.states.new_since(seen_states).collect();
            let fresh_own: Vec<usize> = (0..own_goals)
                .filter(|&i| !seen_own[i] && result.goals.get(built_in + i) == Some(&true))
                .collect();
            if fresh_states.is_empty() && fresh_own.is_empty() {
                quiet += 1;
                total.add(result);
                continue;
            }
            quiet = 0;
            seen_states |= result.states.bits();
            let mut points: Vec<u64> = fresh_states.iter().map(|&(_, at)| at).collect();
            if points.is_empty() {
                points.push(result.events / 2);
            }
            for &i in &fresh_own {
                seen_own[i] = true;
            }
            if summary.discoveries.len() < MAX_DISCOVERIES {
                let reached = fresh_states
                    .iter()
                    .map(|(s, _)| s.to_string())
                    .chain(
                        fresh_own
                            .iter()
                            .map(|&i| format!("goal {}", scenario.expect.sometimes[i].name)),
                    )
                    .collect();
                summary.discoveries.push(Discovery {
                    run: runs,
                    seed: input.seed,
                    branch: input.branch.clone(),
                    reached,
                });
            }
            branch_from(&input, &points, guided.energy, &mut pending);
            total.add(result);
        }
        if quiet >= guided.plateau {
            summary.stopped = GuidedStop::Plateau;
            break;
        }
    }
    summary.states = seen_states.count_ones();
    (total, summary)
}

/// Queues `energy` branches of `input` at `points` (events at which it
/// first reached something new), round-robin over the points; later turns
/// at a point start one event later, so that each branch draws its own
/// future.
fn branch_from(input: &Input, points: &[u64], energy: u32, pending: &mut VecDeque<Input>) {
    let after = input.branch.points().last().map_or(0, |&p| p + 1);
    for j in 0..energy as usize {
        if pending.len() >= MAX_PENDING {
            return;
        }
        let at = points[j % points.len()].max(after) + (j / points.len()) as u64;
        if let Some(branch) = input.branch.then(at) {
            pending.push_back(Input {
                seed: input.seed,
                branch,
            });
        }
    }
}

/// The round's results, in round order, made on `options.jobs` threads.
fn run_round(
    scenario: &Scenario,
    options: &SweepOptions,
    program: &str,
    round: &[Input],
    [done, failed]: [&AtomicU64; 2],
    (progress, cancel): (&(dyn Fn(super::Progress) + Sync), &AtomicBool),
) -> Vec<SeedResult> {
    // Once cancelled, no job takes another run: those taken are the first
    // of the round, so the results read in round order stop at a gap only
    // at their end.
    let next = Mutex::new(0usize);
    let slots: Vec<Mutex<Option<SeedResult>>> = round.iter().map(|_| Mutex::new(None)).collect();
    let jobs = options.jobs.clamp(1, round.len());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let at = {
                        let mut next = next.lock().unwrap_or_else(|e| e.into_inner());
                        if cancel.load(Ordering::SeqCst) {
                            break;
                        }
                        *next += 1;
                        *next - 1
                    };
                    let Some(input) = round.get(at) else { break };
                    let result =
                        super::run_seed(scenario, input.seed, &input.branch, options, program);
                    super::report_progress(done, failed, result.failing.is_some(), progress);
                    *slots[at].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                }
            });
        }
    });
    slots
        .into_iter()
        .filter_map(|s| s.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}
