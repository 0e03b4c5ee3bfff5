//! Fault-injection research: seed sweeps, freezing, shrinking, explaining.
//!
//! A sweep runs one scenario once per seed and keeps what a researcher asks
//! of the outcomes: how many seeds passed, the distributions of poll failures
//! and backoff per rollout and of the time until every rollout ended, and
//! each failing seed with what failed and the command that reruns it, and
//! the [`Findings`]: those seeds grouped by cause, a count per cause, and
//! the [`SweepCoverage`]: for every coverage goal, built-in or the
//! scenario's own, how many seeds reached it and the first that did.
//! Distributions are exact histograms, so sweeps split into shards
//! ([`Shard`]) merge into exactly the report one machine would have written.
//!
//! [`freeze()`] writes a seed's random faults out as an explicit script;
//! [`shrink()`] then cuts the frozen scenario down to the smallest one that
//! still fails the same check; [`explain()`] predicts every worker's
//! timeline from a scenario's scripted faults on a model of the runner's
//! rules, and names what it cannot predict.

mod coverage;
mod differential;
mod explain;
mod findings;
mod freeze;
mod guided;
pub mod machine;
mod report;
mod shrink;
mod stats;

pub use coverage::{GoalCoverage, GoalKind, SweepCoverage};
pub use differential::{Compared, Comparison, DiffReport, Divergence, diff};
pub use explain::{
    ExplainedFailure, Explanation, PredictedEvent, Prediction, Step, Unpredicted, explain,
};
pub use findings::{
    Baseline, FINDING_ID_DIGITS, Finding, FindingStatus, Findings, MAX_FINDINGS, cause_of,
    finding_id, normalise,
};
pub use freeze::{compress, freeze};
pub use guided::{
    Discovery, Guided, GuidedStop, GuidedSummary, MAX_DISCOVERIES, MAX_PENDING, ROUND,
};
pub use report::{
    MAX_REPORT_BYTES, merge_named as merge_reports, parse as parse_report, read as read_report,
    read_baseline, validate as validate_report,
};
pub use shrink::{MAX_SHRINK_RUNS, Shrunk, failure_signature, pinned, shrink};
pub use stats::{Histogram, Summary};

use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rollout_core::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC};
use rollout_scenario::TOOL_VERSION;
use rollout_scenario::repro_command;
use rollout_scenario::{RunOptions, Scenario, ScenarioOutcome, run_scenario};
use rollout_simulator::{Branch, EngineKind, StatesReached};

pub use machine::SWEEP_SCHEMA;

/// A range of seeds, `start..end` (end excluded). `end` is a `u128` so
/// that the whole `u64` range (`0..=18446744073709551615`) is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedRange {
    /// The first seed.
    pub start: u64,
    /// One past the last seed: at most 2^64.
    pub end: u128,
}

/// One past the largest seed.
pub const SEEDS_END: u128 = 1 << 64;

impl SeedRange {
    /// How many seeds.
    pub fn len(&self) -> u128 {
        self.end.saturating_sub(u128::from(self.start))
    }

    /// True when the range holds no seed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many seeds of the range shard `shard` runs, without counting
    /// them one by one.
    pub fn count(&self, shard: Shard) -> u128 {
        let (len, count) = (self.len(), u128::from(shard.count));
        let Some(index) = shard.index() else { return 0 };
        let index = u128::from(index);
        if count == 0 || index >= len {
            0
        } else {
            (len - 1 - index) / count + 1
        }
    }

    /// The `k`-th seed (from 0) of shard `shard`, if it has that many.
    pub fn nth(&self, shard: Shard, k: u128) -> Option<u64> {
        if k >= self.count(shard) {
            return None;
        }
        let offset = u128::from(shard.index()?) + k * u128::from(shard.count);
        u64::try_from(u128::from(self.start) + offset).ok()
    }

    /// True when `seed` is in the range and in shard `shard`.
    pub fn holds(&self, shard: Shard, seed: u64) -> bool {
        u64::try_from(u128::from(seed).wrapping_sub(u128::from(self.start)))
            .ok()
            .filter(|_| seed >= self.start && u128::from(seed) < self.end)
            .is_some_and(|i| shard.count > 0 && Some(i % shard.count) == shard.index())
    }

    /// The seeds of one shard, in order: the `i`th seed of the range (from
    /// 0) belongs to shard `i % count + 1`, so shards are balanced and
    /// deterministic. Lazy:
    /// nothing is allocated, however large the range.
    pub fn seeds(&self, shard: Shard) -> impl Iterator<Item = u64> + '_ {
        let n = self.count(shard);
        let mut k = 0u128;
        std::iter::from_fn(move || {
            let seed = (k < n).then(|| self.nth(shard, k)).flatten()?;
            k += 1;
            Some(seed)
        })
    }
}

impl std::fmt::Display for SeedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self
            .end
            .checked_sub(1)
            .and_then(|last| u64::try_from(last).ok())
        {
            Some(last) if self.end == SEEDS_END => write!(f, "{}..={last}", self.start),
            _ => write!(f, "{}..{}", self.start, self.end),
        }
    }
}

impl FromStr for SeedRange {
    type Err = String;

    /// `A..B` (B excluded), `A..=B`, or a single seed `N`; seeds are
    /// `u64`, so `0..=18446744073709551615` is the whole range.
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |t: &str| {
            t.trim().parse::<u64>().map_err(|_| {
                format!(
                    "`{t}` is not a seed: seeds are whole numbers from 0 to {}",
                    u64::MAX
                )
            })
        };
        let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
            (num(a)?, num(b)?, true)
        } else if let Some((a, b)) = s.split_once("..") {
            (num(a)?, num(b)?, false)
        } else {
            let n = num(s)?;
            (n, n, true)
        };
        if b < a {
            let dots = if inclusive { "..=" } else { ".." };
            return Err(format!(
                "`{s}` is reversed: it starts at {a} and ends before that; write {b}{dots}{a}, or A..B with A < B, such as 0..10000"
            ));
        }
        if b == a && !inclusive {
            return Err(format!(
                "`{s}` holds no seed: B is excluded from A..B; write {a}..={a} (or just {a}) for that one seed, or A..B with A < B, such as 0..10000"
            ));
        }
        let (start, end) = (a, u128::from(b) + u128::from(inclusive));
        Ok(SeedRange { start, end })
    }
}

/// One shard of a sweep: shard `number` of `count`, counted from 1 as
/// `--shard K/N` takes it (K in 1..=N), as cargo-nextest's `--partition
/// count:K/N`, playwright's and jest's `--shard` count. A CI matrix copied
/// from them (`shard: [1, 2, 3, 4]`) runs every seed once. Reports name
/// shards by these numbers too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 1 to `count`.
    pub number: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// The whole range as one shard.
    pub const WHOLE: Shard = Shard {
        number: 1,
        count: 1,
    };

    /// Its place from 0, which seeds' positions are taken modulo; `None`
    /// for a shard outside 1..=count (which holds no seed).
    fn index(self) -> Option<u64> {
        self.number.checked_sub(1).filter(|&i| i < self.count)
    }
}

impl std::fmt::Display for Shard {
    /// `K/N`, as `--shard` takes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.number, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N` with `1 <= K <= N`.
    fn from_str(s: &str) -> Result<Self, String> {
        const HOW: &str = "shards count from 1: write K/N with K from 1 to N, such as 1/4 to 4/4 for four shards (as cargo nextest's --partition count:1/4)";
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a shard; {HOW}"))?;
        let number: u64 = k
            .trim()
            .parse()
            .map_err(|_| format!("`{k}` is not a shard number; {HOW}"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` is not a shard count; {HOW}"))?;
        if count == 0 {
            return Err(format!("shard {number}/0: there is no shard of 0; {HOW}"));
        }
        if number == 0 {
            return Err(format!("shard 0/{count}: {HOW}"));
        }
        if number > count {
            return Err(format!(
                "shard {number}/{count}: there are only {count} shards; {HOW}"
            ));
        }
        Ok(Shard { number, count })
    }
}

/// A seed that failed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingSeed {
    /// The seed.
    pub seed: u64,
    /// The failed checks and violated invariants, by name.
    pub failed: Vec<String>,
    /// The first failure, as a sentence.
    pub first_failure: String,
    /// The command that reruns it.
    pub repro: String,
    /// In swarm mode, the fault configuration the seed drew (as its JSON).
    pub swarm: Option<serde_json::Value>,
    /// In a guided sweep, the branch that failed; empty for the seed's
    /// own run.
    pub branch: Branch,
}

/// One distribution: its summary (absent when empty) and its exact histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distribution {
    /// min, p50, p90, p99, max.
    pub summary: Option<Summary>,
    /// `[value, count]` pairs, by value.
    pub histogram: Histogram,
}

impl Distribution {
    fn from(histogram: Histogram) -> Self {
        Self {
            summary: histogram.summary(),
            histogram,
        }
    }
}

/// What a sweep found: identical whether it ran whole or in merged shards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepSummary {
    /// Seeds run.
    pub runs: u64,
    /// Of which passed.
    pub passed: u64,
    /// Of which failed.
    pub failed: u64,
    /// Poll failures before each rollout's attempts, summed per rollout.
    pub poll_failures_per_rollout: Distribution,
    /// Backoff before each rollout's attempts, summed per rollout, in ms.
    pub backoff_ms_per_rollout: Distribution,
    /// Virtual time at which the last rollout became terminal, in ms (seeds
    /// where some never did are not counted).
    pub time_to_all_terminal_ms: Distribution,
    /// The first failing seeds, by seed: at most [`MAX_FAILING_LISTED`].
    pub failing: Vec<FailingSeed>,
    /// Failing seeds beyond those listed (`failed` counts them all).
    pub failing_not_listed: u64,
}

/// Failing seeds a report lists in full; the rest are counted. A sweep of
/// billions of seeds keeps what its report needs, not a record per seed.
pub const MAX_FAILING_LISTED: usize = 1_000;

/// A sweep's report. It serializes and deserializes as the schema's
/// [`machine::SweepReport`] ([`SWEEP_SCHEMA`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepReport {
    /// The schema tag.
    pub schema: String,
    /// The tool version.
    pub tool_version: String,
    /// The scenario file.
    pub file: String,
    /// The scenario's name.
    pub name: String,
    /// XXH3-64 of the file, as 16 hex digits.
    pub scenario_hash: String,
    /// The engine.
    pub engine: EngineKind,
    /// The seed range swept.
    pub seeds: SeedRange,
    /// How many shards the range was split into.
    pub shard_count: u64,
    /// Which shards this report covers.
    pub shards: Vec<u64>,
    /// What was found.
    pub summary: SweepSummary,
    /// The failing seeds grouped by cause.
    pub findings: Findings,
    /// Every coverage goal: seeds that reached it, and the first.
    pub coverage: SweepCoverage,
    /// Wall time, in ms (the only field that differs between identical sweeps).
    pub wall_time_ms: f64,
    /// True when the report holds fewer seeds than it was asked for: a
    /// merge of some of the shards only (`merge --allow-partial`), or a
    /// sweep (or a merge of one) that was [`cancelled`](Self::cancelled).
    pub partial: bool,
    /// True when SIGINT or SIGTERM stopped the sweep before every seed (or
    /// run of a guided sweep) was made: it holds the runs that finished, in
    /// a plain sweep the first `summary.runs` seeds of its shard.
    pub cancelled: bool,
    /// What a guided sweep did (`explore --guided`); `None` for a plain one.
    pub guided: Option<GuidedSummary>,
}

impl SweepReport {
    /// True when the report holds every seed of the sweep: every shard's,
    /// and none cancelled. Only then can it say that no seed reaches a goal.
    pub fn is_complete(&self) -> bool {
        self.shards.len() as u64 == self.shard_count && !self.cancelled && !self.partial
    }
}

/// What one seed contributes.
struct SeedResult {
    seed: u64,
    branch: Branch,
    failing: Option<FailingSeed>,
    /// The failing seed's cause ([`cause_of`]).
    cause: String,
    failures: Vec<u64>,
    backoff: Vec<u64>,
    all_terminal_ms: Option<u64>,
    /// The goals it reached, one flag each, in report order.
    goals: Vec<bool>,
    /// The coverage states it reached, and when (for guided sweeps).
    states: StatesReached,
    /// The events it recorded.
    events: u64,
}

/// What failed in a run: the names, the first failure as a sentence, and
/// the cause findings group by ([`cause_of`]).
fn failures_of(outcome: &ScenarioOutcome) -> (Vec<String>, String, String) {
    let mut names = Vec::new();
    let mut first = None;
    // Invariants first: they name the property, checks name a symptom.
    for i in outcome.violated() {
        names.push(format!("invariant {}", i.name));
        first.get_or_insert_with(|| {
            format!(
                "invariant {}: {}",
                i.name,
                i.violations.first().cloned().unwrap_or_default()
            )
        });
    }
    for c in outcome.failed_checks() {
        names.push(c.name.to_string());
        first.get_or_insert_with(|| {
            format!(
                "{}: expected {}, actual {}",
                c.name,
                c.expected.human(),
                c.actual.human()
            )
        });
    }
    (names, first.unwrap_or_default(), cause_of(outcome))
}

fn run_seed(
    scenario: &Scenario,
    seed: u64,
    branch: &Branch,
    options: &SweepOptions,
    program: &str,
) -> SeedResult {
    let outcome = run_scenario(
        scenario,
        RunOptions {
            seed: Some(seed),
            engine: options.engine,
            // A sweep reads outcomes, not traces.
            keep_events: Some(false),
            swarm: options.swarm,
            branch: branch.clone(),
            ..RunOptions::default()
        },
    );
    // Both metrics of every attempt in one pass over its spans, in the
    // order they were stored: no lookup from the start, nothing allocated.
    let rollouts = &outcome.run.snapshot.rollouts;
    let mut lookup = outcome.run.snapshot.spans.lookup();
    let mut failures = Vec::with_capacity(rollouts.len());
    let mut backoff = Vec::with_capacity(rollouts.len());
    for rollout in rollouts {
        let (mut f, mut b) = (0, 0);
        for attempt in &rollout.attempts {
            for (name, value) in lookup.attempt(&attempt.id).filter_map(|s| s.reward()) {
                match name {
                    RETRY_FAILURES_METRIC => f += value.max(0.0) as u64,
                    RETRY_BACKOFF_METRIC => b += value.max(0.0) as u64,
                    _ => {}
                }
            }
        }
        failures.push(f);
        backoff.push(b);
    }
    let mut cause = String::new();
    let failing = (!outcome.passed()).then(|| {
        let (failed, first_failure, c) = failures_of(&outcome);
        cause = c;
        FailingSeed {
            seed,
            failed,
            first_failure,
            repro: {
                let mut repro = repro_command(program, &scenario.path, seed, outcome.engine);
                if !branch.is_empty() {
                    repro.push_str(&format!(" --branch {branch}"));
                }
                repro + &options.repro_args
            },
            swarm: outcome
                .swarm
                .as_ref()
                .and_then(|d| serde_json::to_value(d).ok()),
            branch: branch.clone(),
        }
    });
    let all_terminal = rollouts.len() == scenario.plan.rollouts.len()
        && rollouts.iter().all(|r| r.status.is_terminal());
    SeedResult {
        seed,
        branch: branch.clone(),
        states: outcome.run.states,
        events: outcome.run.events as u64,
        failing,
        cause,
        failures,
        backoff,
        goals: coverage::reached_by(&outcome),
        all_terminal_ms: all_terminal.then(|| {
            rollouts
                .iter()
                .filter_map(|r| r.finished_at)
                .max()
                .unwrap_or_default()
                .as_millis() as u64
        }),
    }
}

/// The first failing seeds of a sweep, by seed, and how many there were:
/// the [`MAX_FAILING_LISTED`] smallest seeds whatever order they come in,
/// so a sweep on any number of jobs, or in merged shards, lists the same.
#[derive(Default)]
struct FailingSeeds {
    /// A max-heap by seed: its top is the first to give way.
    first: std::collections::BinaryHeap<BySeed>,
    count: u64,
}

struct BySeed(FailingSeed);

impl PartialEq for BySeed {
    fn eq(&self, other: &Self) -> bool {
        self.0.seed == other.0.seed
    }
}
impl Eq for BySeed {}
impl PartialOrd for BySeed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for BySeed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.seed.cmp(&other.0.seed)
    }
}

impl FailingSeeds {
    /// Takes note of failing seeds counted as `count` (more than the list
    /// when a merged report listed only its first).
    fn add(&mut self, listed: impl IntoIterator<Item = FailingSeed>, count: u64) {
        self.count = self.count.saturating_add(count);
        for f in listed {
            if self.first.len() < MAX_FAILING_LISTED {
                self.first.push(BySeed(f));
            } else if self.first.peek().is_some_and(|top| f.seed < top.0.seed) {
                self.first.pop();
                self.first.push(BySeed(f));
            }
        }
    }

    fn merge(&mut self, other: FailingSeeds) {
        let count = other.count;
        self.add(other.first.into_iter().map(|b| b.0), count);
    }

    /// The listed seeds, by seed, and how many more failed.
    fn into_list(self) -> (Vec<FailingSeed>, u64) {
        let list: Vec<FailingSeed> = self
            .first
            .into_sorted_vec()
            .into_iter()
            .map(|b| b.0)
            .collect();
        let rest = self.count - list.len() as u64;
        (list, rest)
    }
}

#[derive(Default)]
struct Partial {
    runs: u64,
    failing: FailingSeeds,
    findings: findings::Grouping,
    failures: Histogram,
    backoff: Histogram,
    time: Histogram,
    coverage: coverage::Tallies,
}

impl Partial {
    fn add(&mut self, r: SeedResult) {
        self.runs += 1;
        r.failures.iter().for_each(|&v| self.failures.add(v));
        r.backoff.iter().for_each(|&v| self.backoff.add(v));
        if let Some(t) = r.all_terminal_ms {
            self.time.add(t);
        }
        if let Some(f) = r.failing {
            self.findings
                .add(r.cause, 1, (f.seed, &r.branch), &f.repro, None);
            self.failing.add([f], 1);
        }
        self.coverage.add(r.seed, &r.goals);
    }

    fn merge(&mut self, other: Partial) {
        self.runs = self.runs.saturating_add(other.runs);
        self.failing.merge(other.failing);
        self.findings.merge(other.findings);
        self.failures.merge(&other.failures);
        self.backoff.merge(&other.backoff);
        self.time.merge(&other.time);
        self.coverage.merge(&other.coverage);
    }

    fn into_summary(self) -> (SweepSummary, Findings, coverage::Tallies) {
        let failed = self.failing.count;
        let findings = self.findings.into_findings(failed);
        let (failing, failing_not_listed) = self.failing.into_list();
        let summary = SweepSummary {
            runs: self.runs,
            passed: self.runs - failed,
            failed,
            poll_failures_per_rollout: Distribution::from(self.failures),
            backoff_ms_per_rollout: Distribution::from(self.backoff),
            time_to_all_terminal_ms: Distribution::from(self.time),
            failing,
            failing_not_listed,
        };
        (summary, findings, self.coverage)
    }
}

/// How far a sweep has got, for a progress bar: runs made, and how many
/// of them failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Runs made so far.
    pub runs: u64,
    /// Of which failed.
    pub failed: u64,
}

/// How a sweep runs.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The seeds.
    pub seeds: SeedRange,
    /// The shard of them to run.
    pub shard: Shard,
    /// Threads.
    pub jobs: usize,
    /// Overrides the scenario's engine.
    pub engine: Option<EngineKind>,
    /// Appended to every repro command (the overrides the sweep ran with).
    pub repro_args: String,
    /// Swarm mode: each seed draws its fault configuration first.
    pub swarm: bool,
    /// Guided exploration (`explore --guided`): the range is a budget of
    /// runs, spent partly on branches of runs that reached something new.
    /// Whole sweeps only (`shard` must be [`Shard::WHOLE`]).
    pub guided: Option<Guided>,
}

/// Runs `scenario` once per seed of the shard on `jobs` threads; `progress`
/// is called with the number of seeds done so far.
pub fn sweep(
    scenario: &Scenario,
    options: SweepOptions,
    program: &str,
    progress: &(dyn Fn(Progress) + Sync),
) -> SweepReport {
    sweep_until_cancelled(
        scenario,
        options,
        program,
        progress,
        &AtomicBool::new(false),
    )
}

/// [`sweep`], stopping early once `cancel` is set (by a signal handler,
/// `explore` on SIGINT or SIGTERM): no job takes a seed after that, the
/// seeds already running finish, and the report holds those that did,
/// marked [`cancelled`](SweepReport::cancelled) and partial. Seeds are
/// taken in order, so a cancelled plain sweep has run exactly the first
/// `summary.runs` seeds of its shard; a cancelled guided sweep, the first
/// runs of the whole sweep's.
pub fn sweep_until_cancelled(
    scenario: &Scenario,
    options: SweepOptions,
    program: &str,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> SweepReport {
    let started = std::time::Instant::now();
    let (total, guided) = match options.guided {
        Some(g) => {
            let (total, summary) =
                guided::explore(scenario, &options, g, program, progress, cancel);
            (total, Some(summary))
        }
        None => (
            sweep_seeds(scenario, &options, program, progress, cancel),
            None,
        ),
    };
    let cancelled = match &guided {
        Some(g) => g.stopped == GuidedStop::Cancelled,
        None => u128::from(total.runs) < options.seeds.count(options.shard),
    };
    let (summary, findings, tallies) = total.into_summary();
    let own = scenario.expect.sometimes.iter().map(|g| &*g.name);
    let coverage = tallies.into_coverage(coverage::goal_names(own));
    SweepReport {
        schema: SWEEP_SCHEMA.into(),
        tool_version: TOOL_VERSION.into(),
        file: scenario.path.clone(),
        name: scenario.name.clone(),
        scenario_hash: format!("{:016x}", scenario.source_hash),
        engine: options.engine.unwrap_or_else(|| scenario.engine()),
        seeds: options.seeds,
        shard_count: options.shard.count,
        shards: vec![options.shard.number],
        summary,
        findings,
        coverage,
        wall_time_ms: started.elapsed().as_secs_f64() * 1e3,
        partial: cancelled,
        cancelled,
        guided,
    }
}

/// Counts a run (failed or not) and tells `progress`.
fn report_progress(
    done: &AtomicU64,
    failed: &AtomicU64,
    failing: bool,
    progress: &(dyn Fn(Progress) + Sync),
) {
    // A failure is counted before its run and read after it, in one order
    // for every thread: whoever counts the last run sees every failure.
    if failing {
        failed.fetch_add(1, Ordering::SeqCst);
    }
    let runs = done.fetch_add(1, Ordering::SeqCst).saturating_add(1);
    let failed = failed.load(Ordering::SeqCst);
    progress(Progress { runs, failed });
}

/// Every seed of the shard, on `options.jobs` threads, in no particular
/// order: what a seed contributes does not depend on the others.
fn sweep_seeds(
    scenario: &Scenario,
    options: &SweepOptions,
    program: &str,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Partial {
    let (range, shard) = (options.seeds, options.shard);
    let count = range.count(shard);
    // The next seed's position in the shard: jobs take seeds one by one, so
    // nothing is allocated per seed, however large the range. A lock, not
    // an atomic add: positions run to 2^64, and a run costs far more.
    let next = Mutex::new(0u128);
    let take = || {
        let mut next = next.lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock: once a job sees the flag, no job takes a
        // seed after it, so the seeds run are a prefix of the shard's.
        if cancel.load(Ordering::SeqCst) {
            return None;
        }
        let seed = range.nth(shard, *next)?;
        *next += 1;
        Some(seed)
    };
    let done = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let total = Mutex::new(Partial::default());
    let jobs = u128::try_from(options.jobs)
        .unwrap_or(1)
        .clamp(1, count.max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                let mut partial = Partial::default();
                while let Some(seed) = take() {
                    let result = run_seed(scenario, seed, &Branch::NONE, options, program);
                    report_progress(&done, &failed, result.failing.is_some(), progress);
                    partial.add(result);
                }
                total
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .merge(partial);
            });
        }
    });
    total.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Combines shard reports of one sweep into one report: every report
/// checked first ([`report::validate`]), then the set (one sweep, no shard
/// twice, every shard there). The reports are named `report 1`, `report 2`...
/// in messages; [`report::merge_named`] takes their names.
pub fn merge(reports: &[SweepReport]) -> Result<SweepReport, String> {
    let named: Vec<(String, SweepReport)> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("report {}", i + 1), r.clone()))
        .collect();
    report::merge_named(&named, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_and_shards_parse_and_partition() {
        let r: SeedRange = "0..10".parse().unwrap();
        assert_eq!(r.len(), 10);
        assert_eq!(
            "5..=7".parse::<SeedRange>().unwrap(),
            SeedRange { start: 5, end: 8 }
        );
        assert_eq!(
            "3".parse::<SeedRange>().unwrap(),
            SeedRange { start: 3, end: 4 }
        );
        assert!("9..3".parse::<SeedRange>().is_err());
        let shards: Vec<Vec<u64>> = (1..=3)
            .map(|k| {
                r.seeds(Shard {
                    number: k,
                    count: 3,
                })
                .collect()
            })
            .collect();
        assert_eq!(shards, [vec![0, 3, 6, 9], vec![1, 4, 7], vec![2, 5, 8]]);
        assert!("3/3".parse::<Shard>().is_ok());
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard {
                number: 1,
                count: 4
            }
        );
        assert_eq!(
            "0/4".parse::<Shard>().unwrap_err(),
            "shard 0/4: shards count from 1: write K/N with K from 1 to N, such as 1/4 to 4/4 for four shards (as cargo nextest's --partition count:1/4)"
        );
        assert!("5/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        // A shard outside 1..=count holds no seed.
        let outside = Shard {
            number: 0,
            count: 3,
        };
        assert_eq!(r.count(outside), 0);
        assert_eq!(r.seeds(outside).count(), 0);
        assert!(!r.holds(outside, 0));
    }
}
