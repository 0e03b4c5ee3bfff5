//! Fault-injection research: seed sweeps, freezing, shrinking, explaining.
//!
//! A sweep runs one scenario once per seed and keeps what a researcher asks
//! of the outcomes: how many seeds passed, the distributions of poll failures
//! and backoff per rollout and of the time until every rollout ended, and
//! each failing seed with what failed and the command that reruns it.
//! Distributions are exact histograms, so sweeps split into shards
//! ([`Shard`]) merge into exactly the report one machine would have written.
//!
//! [`freeze()`] writes a seed's random faults out as an explicit script;
//! [`shrink()`] then cuts the frozen scenario down to the smallest one that
//! still fails the same check; [`explain()`] prints the timeline a scenario's
//! scripted faults imply, without running it.

pub mod explain;
pub mod freeze;
pub mod shrink;
pub mod stats;

use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::core::telemetry::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC};
use crate::scenario::outcome::repro_command;
use crate::scenario::{RunOptions, Scenario, ScenarioOutcome, run_scenario};

/// The tool version written into sweep reports.
const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
use crate::sim::EngineKind;

pub use explain::explain;
pub use freeze::freeze;
pub use shrink::shrink;
use stats::{Histogram, Summary};

/// The version tag of sweep reports.
pub const SWEEP_SCHEMA: &str = "rollout-sim.sweep/1";

/// A range of seeds, `start..end` (end excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRange {
    /// The first seed.
    pub start: u64,
    /// One past the last seed.
    pub end: u64,
}

impl SeedRange {
    /// How many seeds.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True when the range holds no seed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The seeds of one shard: the `i`th seed of the range belongs to shard
    /// `i % count`, so shards are balanced and deterministic.
    pub fn seeds(&self, shard: Shard) -> impl Iterator<Item = u64> + '_ {
        (self.start..self.end).filter(move |s| (s - self.start) % shard.count == shard.index)
    }
}

impl FromStr for SeedRange {
    type Err = String;

    /// `A..B` (B excluded), `A..=B`, or a single seed `N`.
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{t}` is not a seed (a whole number)"))
        };
        let range = if let Some((a, b)) = s.split_once("..=") {
            let end = num(b)?.checked_add(1).ok_or("the range is too large")?;
            SeedRange {
                start: num(a)?,
                end,
            }
        } else if let Some((a, b)) = s.split_once("..") {
            SeedRange {
                start: num(a)?,
                end: num(b)?,
            }
        } else {
            let n = num(s)?;
            SeedRange {
                start: n,
                end: n + 1,
            }
        };
        if range.is_empty() {
            return Err(format!(
                "`{s}` holds no seed: write A..B with A < B, such as 0..10000"
            ));
        }
        Ok(range)
    }
}

/// One shard of a sweep: `index` of `count`, `index` from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// The whole range as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with `0 <= I < N`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a shard: write I/N, such as 0/4"))?;
        let index: u64 = i
            .trim()
            .parse()
            .map_err(|_| format!("`{i}` is not a shard index"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` is not a shard count"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index must be below the count (from 0)"
            ));
        }
        Ok(Shard { index, count })
    }
}

/// A seed that failed, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailingSeed {
    /// The seed.
    pub seed: u64,
    /// The failed checks and violated invariants, by name.
    pub failed: Vec<String>,
    /// The first failure, as a sentence.
    pub first_failure: String,
    /// The command that reruns it.
    pub repro: String,
}

/// One distribution: its summary (absent when empty) and its exact histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Every failing seed, by seed.
    pub failing: Vec<FailingSeed>,
}

/// A sweep's report (schema [`SWEEP_SCHEMA`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Wall time, in ms (the only field that differs between identical sweeps).
    pub wall_time_ms: f64,
}

/// What one seed contributes.
struct SeedResult {
    seed: u64,
    failing: Option<FailingSeed>,
    failures: Vec<u64>,
    backoff: Vec<u64>,
    all_terminal_ms: Option<u64>,
}

fn failures_of(outcome: &ScenarioOutcome) -> (Vec<String>, String) {
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
    (names, first.unwrap_or_default())
}

fn run_seed(scenario: &Scenario, seed: u64, options: &SweepOptions, program: &str) -> SeedResult {
    let outcome = run_scenario(
        scenario,
        RunOptions {
            seed: Some(seed),
            engine: options.engine,
            // A sweep reads outcomes, not traces.
            keep_events: Some(false),
            ..RunOptions::default()
        },
    );
    let spans = &outcome.run.snapshot.spans;
    let mut failures = Vec::with_capacity(outcome.run.snapshot.rollouts.len());
    let mut backoff = Vec::with_capacity(outcome.run.snapshot.rollouts.len());
    for rollout in &outcome.run.snapshot.rollouts {
        let sum = |name: &str| -> u64 {
            rollout
                .attempts
                .iter()
                .flat_map(|a| spans.rewards(&a.id, name))
                .map(|r| r.value.max(0.0) as u64)
                .sum()
        };
        failures.push(sum(RETRY_FAILURES_METRIC));
        backoff.push(sum(RETRY_BACKOFF_METRIC));
    }
    let failing = (!outcome.passed()).then(|| {
        let (failed, first_failure) = failures_of(&outcome);
        FailingSeed {
            seed,
            failed,
            first_failure,
            repro: format!(
                "{}{}",
                repro_command(program, &scenario.path, seed, outcome.engine),
                options.repro_args
            ),
        }
    });
    let rollouts = &outcome.run.snapshot.rollouts;
    let all_terminal = rollouts.len() == scenario.plan.rollouts.len()
        && rollouts.iter().all(|r| r.status.is_terminal());
    SeedResult {
        seed,
        failing,
        failures,
        backoff,
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

#[derive(Default)]
struct Partial {
    runs: u64,
    failing: Vec<FailingSeed>,
    failures: Histogram,
    backoff: Histogram,
    time: Histogram,
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
            self.failing.push(f);
        }
        let _ = r.seed;
    }

    fn merge(&mut self, other: Partial) {
        self.runs += other.runs;
        self.failing.extend(other.failing);
        self.failures.merge(&other.failures);
        self.backoff.merge(&other.backoff);
        self.time.merge(&other.time);
    }

    fn into_summary(mut self) -> SweepSummary {
        self.failing.sort_by_key(|f| f.seed);
        let failed = self.failing.len() as u64;
        SweepSummary {
            runs: self.runs,
            passed: self.runs - failed,
            failed,
            poll_failures_per_rollout: Distribution::from(self.failures),
            backoff_ms_per_rollout: Distribution::from(self.backoff),
            time_to_all_terminal_ms: Distribution::from(self.time),
            failing: self.failing,
        }
    }
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
}

/// Runs `scenario` once per seed of the shard on `jobs` threads; `progress`
/// is called with the number of seeds done so far.
pub fn sweep(
    scenario: &Scenario,
    options: SweepOptions,
    program: &str,
    progress: &(dyn Fn(u64) + Sync),
) -> SweepReport {
    let started = std::time::Instant::now();
    let seeds: Vec<u64> = options.seeds.seeds(options.shard).collect();
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let total = Mutex::new(Partial::default());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, seeds.len().max(1)) {
            scope.spawn(|| {
                let mut partial = Partial::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(&seed) = seeds.get(i) else { break };
                    partial.add(run_seed(scenario, seed, &options, program));
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                }
                total
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .merge(partial);
            });
        }
    });
    let summary = total
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_summary();
    SweepReport {
        schema: SWEEP_SCHEMA.into(),
        tool_version: TOOL_VERSION.into(),
        file: scenario.path.clone(),
        name: scenario.name.clone(),
        scenario_hash: format!("{:016x}", scenario.source_hash),
        engine: options.engine.unwrap_or_else(|| scenario.engine()),
        seeds: options.seeds,
        shard_count: options.shard.count,
        shards: vec![options.shard.index],
        summary,
        wall_time_ms: started.elapsed().as_secs_f64() * 1e3,
    }
}

/// Combines shard reports of one sweep into one report.
pub fn merge(reports: &[SweepReport]) -> Result<SweepReport, String> {
    let first = reports.first().ok_or("no reports to merge")?;
    let mut shards = Vec::new();
    let mut partial = Partial::default();
    let mut wall = 0.0f64;
    for r in reports {
        if r.schema != SWEEP_SCHEMA {
            return Err(format!(
                "{}: not a sweep report ({}), expected {SWEEP_SCHEMA}",
                r.file, r.schema
            ));
        }
        if (r.scenario_hash.as_str(), r.seeds, r.shard_count, r.engine)
            != (
                first.scenario_hash.as_str(),
                first.seeds,
                first.shard_count,
                first.engine,
            )
        {
            return Err(format!(
                "reports of different sweeps: {} (seeds {}..{}, {} shards, hash {}) and {} (seeds {}..{}, {} shards, hash {})",
                first.name,
                first.seeds.start,
                first.seeds.end,
                first.shard_count,
                first.scenario_hash,
                r.name,
                r.seeds.start,
                r.seeds.end,
                r.shard_count,
                r.scenario_hash
            ));
        }
        for s in &r.shards {
            if shards.contains(s) {
                return Err(format!("shard {s}/{} appears twice", r.shard_count));
            }
            shards.push(*s);
        }
        let s = &r.summary;
        partial.merge(Partial {
            runs: s.runs,
            failing: s.failing.clone(),
            failures: s.poll_failures_per_rollout.histogram.clone(),
            backoff: s.backoff_ms_per_rollout.histogram.clone(),
            time: s.time_to_all_terminal_ms.histogram.clone(),
        });
        wall = wall.max(r.wall_time_ms);
    }
    shards.sort_unstable();
    Ok(SweepReport {
        shards,
        summary: partial.into_summary(),
        wall_time_ms: wall,
        ..first.clone()
    })
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
        let shards: Vec<Vec<u64>> = (0..3)
            .map(|i| r.seeds(Shard { index: i, count: 3 }).collect())
            .collect();
        assert_eq!(shards, [vec![0, 3, 6, 9], vec![1, 4, 7], vec![2, 5, 8]]);
        assert!("3/3".parse::<Shard>().is_err());
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
    }
}
