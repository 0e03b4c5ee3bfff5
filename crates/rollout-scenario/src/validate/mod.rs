//! Validation: what types cannot check, one file per section of the format.
//!
//! serde has already refused unknown keys and wrong types. The [`Validator`]
//! checks the rest (unique ids, references to known rollouts and workers, a
//! valid runner config, bounded sizes, expectations that can hold) while it
//! resolves the file into a [`SimPlan`] and its [`Expectations`]. It collects
//! *every* problem rather than stopping at the first, each located through
//! the [`SourceMap`], so that one load shows the whole list. Past
//! [`MAX_PROBLEMS`] problems are only counted, and what costs more than the
//! count (suggestions, lists of known names) is skipped.
//!
//! Keys written with no value are refused first, wherever they are
//! ([`nulls`]). One file per section: `runner` ([`runner`]), `faults.random`
//! ([`random`]), `workers` ([`workers`]), `rollouts` ([`rollouts`], their
//! scripted attempts in [`run`], their size in [`payload`]), `stop`
//! ([`stop`]), the fault scripts ([`scripts`]), `faults.at` ([`timed`]),
//! `expect` ([`expect`]), what no run can satisfy, across sections
//! ([`cannot_hold`]), the turmoil engine's settings ([`network`]), and
//! the liveness phase, `faults.heal_at` with `stop.recover_within`
//! ([`heal`], checked right after `stop`), and the `seeds` list
//! ([`seeds`], checked first).
//! Names and messages are checked alike everywhere ([`text`]), and unknown
//! names get a bounded "did you mean" ([`suggest`]).
//!
//! The sections are checked in that order, and the order is part of the
//! output: problems are listed by position in the file, those at one
//! position in the order they were found, and the cut at [`MAX_PROBLEMS`]
//! keeps the first ones found.

mod cannot_hold;
mod expect;
mod heal;
mod network;
mod nulls;
mod payload;
mod random;
mod rollouts;
mod run;
mod runner;
mod scripts;
mod seeds;
mod stop;
mod suggest;
mod swarm;
mod text;
mod timed;
mod workers;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rollout_core::ReassignmentPolicy;
use rollout_simulator::{RunLimits, SimPlan, StopRule};

use super::diagnostics::Problem;
use super::expect::Expectations;
use super::limits::MAX_PROBLEMS;
use super::schema::{ReassignmentSpec, ScenarioFile};
use super::source::{ByteSpan, Path, SourceMap};

/// What a valid file resolves to.
pub(super) struct Resolved {
    /// What to simulate.
    pub plan: SimPlan,
    /// What must hold.
    pub expect: Expectations,
    /// The first thing in the file only the turmoil engine runs, located.
    pub turmoil_only: Option<Problem>,
    /// What `--swarm` may draw.
    pub swarm: rollout_simulator::SwarmBounds,
    /// The seeds to test it with: `seeds`, else `seed` alone.
    pub seeds: Vec<u64>,
}

/// Validates a parsed file located by `map`: what it resolves to, or every
/// problem found (the first [`MAX_PROBLEMS`], and a count of the rest).
pub(super) fn validate(map: &SourceMap, file: &ScenarioFile) -> Result<Resolved, Vec<Problem>> {
    let mut v = Validator {
        problems: Vec::new(),
        omitted: 0,
        map,
        within: StopRule::default().within,
        healed: false,
        backwards: BTreeMap::new(),
    };
    let resolved = v.resolve(file);
    if v.problems.is_empty() {
        return Ok(resolved);
    }
    if v.omitted > 0 {
        v.problems.push(Problem::new(format!(
            "{} more problems not shown (the first {MAX_PROBLEMS} are listed)",
            v.omitted
        )));
    }
    Err(v.problems)
}

/// The problems found so far, and what the checks of one section need from
/// the others.
struct Validator<'a> {
    problems: Vec<Problem>,
    /// Problems past [`MAX_PROBLEMS`], counted but not kept.
    omitted: usize,
    map: &'a SourceMap,
    /// `stop.within`, once known: repeating timed faults run until then.
    within: Duration,
    /// Whether the file has `faults.heal_at`: `liveness` is checked only then.
    healed: bool,
    /// Ids (by what they are: rollouts, workers), each read backwards,
    /// sorted: for suggestions.
    backwards: BTreeMap<&'static str, Vec<String>>,
}

impl Validator<'_> {
    /// Whether another problem would still be listed. Past
    /// [`MAX_PROBLEMS`] problems are only counted: callers skip what costs
    /// more than the count (suggestions, lists of known names).
    fn room(&self) -> bool {
        self.problems.len() < MAX_PROBLEMS
    }

    /// A problem at the value at `at`.
    fn problem(&mut self, at: Path, message: impl Into<String>, help: Option<String>) {
        if self.only_counted() {
            return;
        }
        let span = self.map.locate(&at);
        self.problems
            .push(Problem::located(at, span, message, help));
    }

    /// Like [`problem`](Self::problem) but points at a mapping key.
    fn key_problem(&mut self, at: Path, message: impl Into<String>, help: Option<String>) {
        if self.only_counted() {
            return;
        }
        let span = self.key_span(&at);
        self.problems
            .push(Problem::located(at, span, message, help));
    }

    /// Whether a problem found now is past [`MAX_PROBLEMS`]: counted, and
    /// not to be kept (nor located).
    fn only_counted(&mut self) -> bool {
        let past = self.problems.len() >= MAX_PROBLEMS;
        if past {
            self.omitted += 1;
        }
        past
    }

    /// Where the key at `at` is, else its value.
    fn key_span(&self, at: &Path) -> Option<ByteSpan> {
        self.map.key(at).or_else(|| self.map.locate(at))
    }

    /// Every section, checked and resolved in the order the module
    /// describes.
    fn resolve(&mut self, file: &ScenarioFile) -> Resolved {
        self.nulls();
        let seeds = self.seeds(file);
        let runner = self.runner(&file.runner);
        let random_faults = self.random_faults(file.faults.random.as_ref());
        let workers = self.workers(&file.workers);
        let rollouts = self.rollouts(&file.rollouts);
        let rollout_ids: BTreeSet<&str> = rollouts.iter().map(|r| r.id.as_str()).collect();
        let worker_ids: BTreeSet<&str> = workers.iter().map(|w| w.as_str()).collect();
        let stop = self.stop(&file.stop);
        self.within = stop.within;
        let (worker_runners, start_at) = self.worker_settings(&file.workers, &file.runner);
        let heal = self.heal(file, &runner, &rollouts, &stop);
        self.healed = file.faults.heal_at.is_some();
        let fault_scripts = self.scripts(&file.faults, &worker_ids);
        let timed_faults = self.timed_faults(&file.faults.at, &worker_ids);
        let expect = self.expect(&file.expect, &rollout_ids, &worker_ids);
        self.cannot_hold(file, &rollouts, &stop, &expect);
        let network = self.network(file);
        let turmoil_only = self.turmoil_only(file);
        let max_attempts = self.max_attempts(&file.runner);
        self.header(file);
        let plan = SimPlan {
            seed: seeds.first().copied().unwrap_or(file.seed),
            runner,
            reassignment: match file.queue.reassignment {
                None | Some(ReassignmentSpec::Scan) => ReassignmentPolicy::ScanAllAttempts,
                Some(ReassignmentSpec::Reference) => ReassignmentPolicy::WorkerActiveIds,
            },
            workers,
            worker_runners,
            start_at,
            rollouts,
            max_attempts,
            fault_scripts,
            timed_faults,
            stop,
            limits: RunLimits::default(),
            perturb_scheduling: false,
            branch: rollout_simulator::Branch::NONE,
            random_faults,
            record_verdicts: false,
            network,
            // The supervisor's delay: read as is, on every engine.
            restart_after: file.runner.restart_after.map(|d| d.0),
            keep_events: true,
            heal,
        };
        let swarm = self.swarm(file.swarm.as_ref());
        Resolved {
            swarm,
            plan,
            expect,
            turmoil_only,
            seeds,
        }
    }
}
