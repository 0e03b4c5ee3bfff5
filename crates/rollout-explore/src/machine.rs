//! The sweep report as machines read it: schema [`SWEEP_SCHEMA`], what
//! `explore --format json` and `merge --format json` print and what
//! `merge` reads back.
//!
//! These types are the schema, kept apart from the sweep's own types
//! ([`super::SweepReport`] and what it holds) so that renaming one of
//! those cannot change a report nor what `merge` accepts. Every field and
//! variant is named here with a serde attribute; fields are listed in the
//! order the document has them. A sweep's report is written by converting
//! it to [`SweepReport`] and serializing that, and read by deserializing a
//! [`SweepReport`] and converting it back, which
//! [`report::parse`](super::report::parse) then checks field by field. The
//! conversions are at the end of this file; the sweep's own
//! [`SweepReport`](super::SweepReport) and
//! [`Histogram`](super::stats::Histogram) serialize and deserialize
//! through them.
//!
//! The Rust names of the types that are read back are part of the schema
//! too: serde's message for a document of the wrong shape names them
//! (`invalid type: integer `1`, expected struct SweepReport`, `invalid
//! length 0, expected struct SweepReport with 16 elements`), and `merge`
//! prints it. They are the names the sweep's own types had when the schema
//! was fixed; a rename here is a change of schema.
//!
//! [`Engine`] names the engines for every machine output, the scenario
//! report's too; it is defined here, in the lowest layer that writes one.

use serde::{Deserialize, Serialize};

use rollout_simulator::{Branch, EngineKind};

/// The version tag of sweep reports: the value of [`SweepReport::schema`].
///
/// Version 2 numbers shards from 1, as `--shard K/N` takes them (version
/// 1 numbered them from 0), and adds [`SweepReport::cancelled`].
pub const SWEEP_SCHEMA: &str = "rollout-sim.sweep/2";

/// An engine, as every machine output names it: `virtual`, `tokio` or
/// `turmoil`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
// What serde's messages call it, as they did before this type existed.
#[serde(expecting = "enum EngineKind")]
pub enum Engine {
    /// The project's own deterministic executor.
    #[serde(rename = "virtual")]
    Virtual,
    /// tokio, current-thread, paused time.
    #[serde(rename = "tokio")]
    Tokio,
    /// turmoil: queue and workers as hosts on a simulated network.
    #[serde(rename = "turmoil")]
    Turmoil,
}

impl Engine {
    /// The name, as in JSON: for the outputs that are not JSON (JUnit
    /// properties, the spans database's `engine` column).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Virtual => "virtual",
            Self::Tokio => "tokio",
            Self::Turmoil => "turmoil",
        }
    }
}

/// A sweep's report, `rollout-sim.sweep/2`: one JSON object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// `rollout-sim.sweep/2` ([`SWEEP_SCHEMA`]).
    #[serde(rename = "schema")]
    pub schema: String,
    /// The version of rollout-sim that wrote it; `merge` reads only its own.
    #[serde(rename = "tool_version")]
    pub tool_version: String,
    /// The scenario file, as given on the command line.
    #[serde(rename = "file")]
    pub file: String,
    /// The scenario's name.
    #[serde(rename = "name")]
    pub name: String,
    /// XXH3-64 of the scenario file's bytes, as 16 hex digits.
    #[serde(rename = "scenario_hash")]
    pub scenario_hash: String,
    /// The engine every seed ran on.
    #[serde(rename = "engine")]
    pub engine: Engine,
    /// The seed range swept.
    #[serde(rename = "seeds")]
    pub seeds: SeedRange,
    /// How many shards the range was split into (1 for a whole sweep).
    #[serde(rename = "shard_count")]
    pub shard_count: u64,
    /// The shards this report covers, numbered from 1 to `shard_count` as
    /// `--shard K/N` takes them, in increasing order: `[1]` for a whole
    /// sweep, `[2]` for `--shard 2/4`.
    #[serde(rename = "shards")]
    pub shards: Vec<u64>,
    /// What the seeds gave.
    #[serde(rename = "summary")]
    pub summary: SweepSummary,
    /// The failing seeds grouped by cause.
    #[serde(rename = "findings")]
    pub findings: Findings,
    /// Every coverage goal, with the seeds that reached it; empty goals
    /// when absent (reports written before goals were counted).
    #[serde(rename = "coverage", default)]
    pub coverage: Coverage,
    /// Wall time in ms: the only field that differs between two identical
    /// sweeps (the longest of the shards' in a merge).
    #[serde(rename = "wall_time_ms")]
    pub wall_time_ms: f64,
    /// True when the report holds fewer seeds than its shards do: a merge
    /// of some of the shards only (`merge --allow-partial`), or a
    /// `cancelled` sweep or a merge of one; false when absent.
    #[serde(rename = "partial", default)]
    pub partial: bool,
    /// True when SIGINT or SIGTERM stopped the sweep before every seed ran
    /// (exit 130): `summary.runs` counts the runs that finished, fewer than
    /// the shards' seeds, in a plain sweep the first of its shard's seeds
    /// in order; `partial` is true too. False when absent.
    #[serde(rename = "cancelled", default)]
    pub cancelled: bool,
    /// What `explore --guided` did; absent for a plain sweep.
    #[serde(rename = "guided", default, skip_serializing_if = "Option::is_none")]
    pub guided: Option<Guided>,
}

/// What a guided sweep did (`explore --guided`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guided {
    /// Branches made from each run that reached something new.
    #[serde(rename = "energy")]
    pub energy: u32,
    /// The plateau: runs in a row reaching nothing new that stop it.
    #[serde(rename = "plateau")]
    pub plateau: u64,
    /// Fresh seeds run (`summary.runs` counts them and the branches).
    #[serde(rename = "seeds_run")]
    pub seeds_run: u64,
    /// Branches run.
    #[serde(rename = "branches_run")]
    pub branches_run: u64,
    /// Why it stopped: `seed-budget`, `plateau` or `cancelled`.
    #[serde(rename = "stopped")]
    pub stopped: GuidedStop,
    /// Coverage states some run reached.
    #[serde(rename = "states_reached")]
    pub states_reached: u32,
    /// The place among the runs (from 1) of the first that failed; null
    /// when none did.
    #[serde(rename = "first_failing_run")]
    pub first_failing_run: Option<u64>,
    /// Each run that reached something no run before it had, in run order.
    #[serde(rename = "discoveries")]
    pub discoveries: Vec<Discovery>,
}

/// Why a guided sweep stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GuidedStop {
    /// As many runs as the range has seeds.
    #[serde(rename = "seed-budget")]
    SeedBudget,
    /// `plateau` runs in a row reached nothing new.
    #[serde(rename = "plateau")]
    Plateau,
    /// SIGINT or SIGTERM stopped it (the report is `cancelled`).
    #[serde(rename = "cancelled")]
    Cancelled,
}

/// A run of a guided sweep that reached something new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// Its place among the sweep's runs, from 1.
    #[serde(rename = "run")]
    pub run: u64,
    /// Its seed.
    #[serde(rename = "seed")]
    pub seed: u64,
    /// Its branch: event indices joined by commas; empty for the seed's
    /// own run.
    #[serde(rename = "branch")]
    pub branch: Branch,
    /// What it reached first: coverage states, then the scenario's goals.
    #[serde(rename = "reached")]
    pub reached: Vec<String>,
}

/// A range of seeds: `start` to `end`, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRange {
    /// The first seed.
    #[serde(rename = "start")]
    pub start: u64,
    /// One past the last seed: at most 2^64, so the whole `u64` range is
    /// `{"start": 0, "end": 18446744073709551616}`.
    #[serde(rename = "end")]
    pub end: u128,
}

/// What the seeds gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// Seeds run.
    #[serde(rename = "runs")]
    pub runs: u64,
    /// Of which passed.
    #[serde(rename = "passed")]
    pub passed: u64,
    /// Of which failed.
    #[serde(rename = "failed")]
    pub failed: u64,
    /// Poll failures before each rollout's attempts, summed per rollout:
    /// one observation per rollout of every run.
    #[serde(rename = "poll_failures_per_rollout")]
    pub poll_failures_per_rollout: Distribution,
    /// Backoff before each rollout's attempts, summed per rollout, in ms:
    /// one observation per rollout of every run.
    #[serde(rename = "backoff_ms_per_rollout")]
    pub backoff_ms_per_rollout: Distribution,
    /// Virtual time at which the last rollout became terminal, in ms: one
    /// observation per run where every rollout did.
    #[serde(rename = "time_to_all_terminal_ms")]
    pub time_to_all_terminal_ms: Distribution,
    /// The first failing seeds, by increasing seed: at most
    /// [`MAX_FAILING_LISTED`](super::MAX_FAILING_LISTED).
    #[serde(rename = "failing")]
    pub failing: Vec<FailingSeed>,
    /// Failing seeds beyond those listed (`failed` counts them all); 0 when
    /// absent.
    #[serde(rename = "failing_not_listed", default)]
    pub failing_not_listed: u64,
}

/// One distribution of whole numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    /// Its five numbers; null when there was no observation.
    #[serde(rename = "summary")]
    pub summary: Option<Summary>,
    /// Every observation, exactly.
    #[serde(rename = "histogram")]
    pub histogram: Histogram,
}

/// The five numbers of a distribution (percentiles by nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Observations.
    #[serde(rename = "count")]
    pub count: u64,
    /// Smallest.
    #[serde(rename = "min")]
    pub min: u64,
    /// Median.
    #[serde(rename = "p50")]
    pub p50: u64,
    /// 90th percentile.
    #[serde(rename = "p90")]
    pub p90: u64,
    /// 99th percentile.
    #[serde(rename = "p99")]
    pub p99: u64,
    /// Largest.
    #[serde(rename = "max")]
    pub max: u64,
}

/// Observations by value: `[value, count]` pairs, by increasing value,
/// each value once and each count at least 1. Read only in that form, so
/// that a report read back is the histogram it was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Histogram(pub Vec<[u64; 2]>);

impl<'de> Deserialize<'de> for Histogram {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let pairs: Vec<[u64; 2]> = Vec::deserialize(d)?;
        let mut last = None;
        for (i, &[v, n]) in pairs.iter().enumerate() {
            if n == 0 {
                return Err(D::Error::custom(format!(
                    "histogram entry {i} ([{v}, 0]) has no observation; every count is at least 1"
                )));
            }
            if last.is_some_and(|last| v <= last) {
                return Err(D::Error::custom(format!(
                    "histogram entry {i} (value {v}) is not above the one before ({}); values are listed once each, in increasing order",
                    last.unwrap_or_default()
                )));
            }
            last = Some(v);
        }
        Ok(Self(pairs))
    }
}

/// A seed that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailingSeed {
    /// The seed.
    #[serde(rename = "seed")]
    pub seed: u64,
    /// What failed: `invariant {name}` for each violated invariant, then
    /// the name of each failed check.
    #[serde(rename = "failed")]
    pub failed: Vec<String>,
    /// The first failure, as a sentence.
    #[serde(rename = "first_failure")]
    pub first_failure: String,
    /// The command that reruns this seed.
    #[serde(rename = "repro")]
    pub repro: String,
    /// In swarm mode, the fault configuration the seed drew: the overlay
    /// rates of each operation that was on, the crashes, the network.
    #[serde(rename = "swarm", default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<serde_json::Value>,
    /// In a guided sweep, the branch of the seed that failed (event
    /// indices joined by commas, as `--branch` takes them); absent for a
    /// seed's own run.
    #[serde(rename = "branch", default, skip_serializing_if = "Branch::is_empty")]
    pub branch: Branch,
}

/// The failing seeds grouped by cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Findings {
    /// The findings, by increasing first seed: at most
    /// [`MAX_FINDINGS`](super::MAX_FINDINGS), those whose causes hash
    /// lowest.
    #[serde(rename = "listed")]
    pub listed: Vec<Finding>,
    /// Failing seeds whose cause is not listed (`summary.failed` counts
    /// every failing seed).
    #[serde(rename = "not_listed")]
    pub not_listed: u64,
    /// The comparison with `explore --baseline`; null without one.
    #[serde(rename = "baseline")]
    pub baseline: Option<Baseline>,
}

/// One cause of failure and the seeds that failed with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The first 12 hex digits of the FNV-1a-64 hash of `title`.
    #[serde(rename = "id")]
    pub id: String,
    /// The cause: each failure with its numbers written `<n>`, sorted,
    /// joined by `; `.
    #[serde(rename = "title")]
    pub title: String,
    /// How many seeds failed with this cause.
    #[serde(rename = "seeds")]
    pub seeds: u64,
    /// The smallest of them.
    #[serde(rename = "first_seed")]
    pub first_seed: u64,
    /// The command that reruns the first seed.
    #[serde(rename = "repro")]
    pub repro: String,
    /// The reproducer `explore --shrink` wrote for the first seed; null
    /// without `--shrink`.
    #[serde(rename = "shrunk")]
    pub shrunk: Option<String>,
    /// Against `--baseline`: `new` or `still_failing` (`fixed` in the
    /// baseline's fixed list); null without one.
    #[serde(rename = "status")]
    pub status: Option<FindingStatus>,
    /// In a guided sweep, the first seed's branch; absent for a seed's own
    /// run.
    #[serde(
        rename = "first_branch",
        default,
        skip_serializing_if = "Branch::is_empty"
    )]
    pub first_branch: Branch,
}

/// A finding's standing against a baseline sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FindingStatus {
    /// Not among the baseline's findings.
    #[serde(rename = "new")]
    New,
    /// Among the baseline's findings too.
    #[serde(rename = "still_failing")]
    StillFailing,
    /// A baseline finding no seed failed with this time.
    #[serde(rename = "fixed")]
    Fixed,
}

/// Coverage across the sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Every built-in goal in its order, then the scenario's own
    /// (`expect.sometimes`) in file order.
    #[serde(rename = "goals")]
    pub goals: Vec<GoalCoverage>,
}

/// One goal across the sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalCoverage {
    /// The goal's name.
    #[serde(rename = "goal")]
    pub goal: String,
    /// `built-in` or `scenario`.
    #[serde(rename = "kind")]
    pub kind: GoalKind,
    /// Seeds that reached it.
    #[serde(rename = "seeds")]
    pub seeds: u64,
    /// The smallest seed that reached it; null when none did.
    #[serde(rename = "first_seed")]
    pub first_seed: Option<u64>,
}

/// Where a goal comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GoalKind {
    /// A built-in goal of the simulator.
    #[serde(rename = "built-in")]
    BuiltIn,
    /// The scenario's own, from `expect.sometimes`.
    #[serde(rename = "scenario")]
    Scenario,
}

/// The comparison with an earlier sweep of the same scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// The baseline report, as given to `--baseline`.
    #[serde(rename = "file")]
    pub file: String,
    /// The baseline's findings no seed failed with this time, by first
    /// seed, each with status `fixed`.
    #[serde(rename = "fixed")]
    pub fixed: Vec<Finding>,
}

// The conversions from and to the sweep's own types: the only code that
// names both.

impl From<&super::SweepCoverage> for Coverage {
    fn from(c: &super::SweepCoverage) -> Self {
        Self {
            goals: c
                .goals
                .iter()
                .map(|g| GoalCoverage {
                    goal: g.goal.clone(),
                    kind: match g.kind {
                        super::GoalKind::BuiltIn => GoalKind::BuiltIn,
                        super::GoalKind::Scenario => GoalKind::Scenario,
                    },
                    seeds: g.seeds,
                    first_seed: g.first_seed,
                })
                .collect(),
        }
    }
}

impl From<Coverage> for super::SweepCoverage {
    fn from(c: Coverage) -> Self {
        Self {
            goals: c
                .goals
                .into_iter()
                .map(|g| super::GoalCoverage {
                    goal: g.goal,
                    kind: match g.kind {
                        GoalKind::BuiltIn => super::GoalKind::BuiltIn,
                        GoalKind::Scenario => super::GoalKind::Scenario,
                    },
                    seeds: g.seeds,
                    first_seed: g.first_seed,
                })
                .collect(),
        }
    }
}

impl From<&super::Findings> for Findings {
    fn from(f: &super::Findings) -> Self {
        Self {
            listed: f.listed.iter().map(Finding::from).collect(),
            not_listed: f.not_listed,
            baseline: f.baseline.as_ref().map(|b| Baseline {
                file: b.file.clone(),
                fixed: b.fixed.iter().map(Finding::from).collect(),
            }),
        }
    }
}

impl From<Findings> for super::Findings {
    fn from(f: Findings) -> Self {
        Self {
            listed: f.listed.into_iter().map(Into::into).collect(),
            not_listed: f.not_listed,
            baseline: f.baseline.map(|b| super::Baseline {
                file: b.file,
                fixed: b.fixed.into_iter().map(Into::into).collect(),
            }),
        }
    }
}

impl From<&super::Finding> for Finding {
    fn from(f: &super::Finding) -> Self {
        Self {
            id: f.id.clone(),
            title: f.title.clone(),
            seeds: f.seeds,
            first_seed: f.first_seed,
            repro: f.repro.clone(),
            shrunk: f.shrunk.clone(),
            status: f.status.map(Into::into),
            first_branch: f.first_branch.clone(),
        }
    }
}

impl From<Finding> for super::Finding {
    fn from(f: Finding) -> Self {
        Self {
            id: f.id,
            title: f.title,
            seeds: f.seeds,
            first_seed: f.first_seed,
            repro: f.repro,
            shrunk: f.shrunk,
            status: f.status.map(Into::into),
            first_branch: f.first_branch,
        }
    }
}

impl From<super::FindingStatus> for FindingStatus {
    fn from(s: super::FindingStatus) -> Self {
        match s {
            super::FindingStatus::New => Self::New,
            super::FindingStatus::StillFailing => Self::StillFailing,
            super::FindingStatus::Fixed => Self::Fixed,
        }
    }
}

impl From<FindingStatus> for super::FindingStatus {
    fn from(s: FindingStatus) -> Self {
        match s {
            FindingStatus::New => Self::New,
            FindingStatus::StillFailing => Self::StillFailing,
            FindingStatus::Fixed => Self::Fixed,
        }
    }
}

impl From<EngineKind> for Engine {
    fn from(engine: EngineKind) -> Self {
        match engine {
            EngineKind::Virtual => Self::Virtual,
            EngineKind::Tokio => Self::Tokio,
            EngineKind::Turmoil => Self::Turmoil,
        }
    }
}

impl From<Engine> for EngineKind {
    fn from(engine: Engine) -> Self {
        match engine {
            Engine::Virtual => Self::Virtual,
            Engine::Tokio => Self::Tokio,
            Engine::Turmoil => Self::Turmoil,
        }
    }
}

impl From<&super::SweepReport> for SweepReport {
    fn from(r: &super::SweepReport) -> Self {
        Self {
            schema: r.schema.clone(),
            tool_version: r.tool_version.clone(),
            file: r.file.clone(),
            name: r.name.clone(),
            scenario_hash: r.scenario_hash.clone(),
            engine: r.engine.into(),
            seeds: SeedRange {
                start: r.seeds.start,
                end: r.seeds.end,
            },
            shard_count: r.shard_count,
            shards: r.shards.clone(),
            summary: SweepSummary::from(&r.summary),
            findings: Findings::from(&r.findings),
            coverage: Coverage::from(&r.coverage),
            wall_time_ms: r.wall_time_ms,
            partial: r.partial,
            cancelled: r.cancelled,
            guided: r.guided.as_ref().map(Guided::from),
        }
    }
}

impl From<SweepReport> for super::SweepReport {
    fn from(r: SweepReport) -> Self {
        Self {
            schema: r.schema,
            tool_version: r.tool_version,
            file: r.file,
            name: r.name,
            scenario_hash: r.scenario_hash,
            engine: r.engine.into(),
            seeds: super::SeedRange {
                start: r.seeds.start,
                end: r.seeds.end,
            },
            shard_count: r.shard_count,
            shards: r.shards,
            summary: r.summary.into(),
            findings: r.findings.into(),
            coverage: r.coverage.into(),
            wall_time_ms: r.wall_time_ms,
            partial: r.partial,
            cancelled: r.cancelled,
            guided: r.guided.map(Into::into),
        }
    }
}

impl From<&super::GuidedSummary> for Guided {
    fn from(g: &super::GuidedSummary) -> Self {
        Self {
            energy: g.settings.energy,
            plateau: g.settings.plateau,
            seeds_run: g.seeds,
            branches_run: g.branches,
            stopped: match g.stopped {
                super::GuidedStop::SeedBudget => GuidedStop::SeedBudget,
                super::GuidedStop::Plateau => GuidedStop::Plateau,
                super::GuidedStop::Cancelled => GuidedStop::Cancelled,
            },
            states_reached: g.states,
            first_failing_run: g.first_failing_run,
            discoveries: g
                .discoveries
                .iter()
                .map(|d| Discovery {
                    run: d.run,
                    seed: d.seed,
                    branch: d.branch.clone(),
                    reached: d.reached.clone(),
                })
                .collect(),
        }
    }
}

impl From<Guided> for super::GuidedSummary {
    fn from(g: Guided) -> Self {
        Self {
            settings: super::Guided {
                energy: g.energy,
                plateau: g.plateau,
            },
            seeds: g.seeds_run,
            branches: g.branches_run,
            stopped: match g.stopped {
                GuidedStop::SeedBudget => super::GuidedStop::SeedBudget,
                GuidedStop::Plateau => super::GuidedStop::Plateau,
                GuidedStop::Cancelled => super::GuidedStop::Cancelled,
            },
            states: g.states_reached,
            first_failing_run: g.first_failing_run,
            discoveries: g
                .discoveries
                .into_iter()
                .map(|d| super::Discovery {
                    run: d.run,
                    seed: d.seed,
                    branch: d.branch,
                    reached: d.reached,
                })
                .collect(),
        }
    }
}

impl From<&super::SweepSummary> for SweepSummary {
    fn from(s: &super::SweepSummary) -> Self {
        Self {
            runs: s.runs,
            passed: s.passed,
            failed: s.failed,
            poll_failures_per_rollout: Distribution::from(&s.poll_failures_per_rollout),
            backoff_ms_per_rollout: Distribution::from(&s.backoff_ms_per_rollout),
            time_to_all_terminal_ms: Distribution::from(&s.time_to_all_terminal_ms),
            failing: s.failing.iter().map(FailingSeed::from).collect(),
            failing_not_listed: s.failing_not_listed,
        }
    }
}

impl From<SweepSummary> for super::SweepSummary {
    fn from(s: SweepSummary) -> Self {
        Self {
            runs: s.runs,
            passed: s.passed,
            failed: s.failed,
            poll_failures_per_rollout: s.poll_failures_per_rollout.into(),
            backoff_ms_per_rollout: s.backoff_ms_per_rollout.into(),
            time_to_all_terminal_ms: s.time_to_all_terminal_ms.into(),
            failing: s.failing.into_iter().map(Into::into).collect(),
            failing_not_listed: s.failing_not_listed,
        }
    }
}

impl From<&super::Distribution> for Distribution {
    fn from(d: &super::Distribution) -> Self {
        Self {
            summary: d.summary.map(Summary::from),
            histogram: Histogram::from(&d.histogram),
        }
    }
}

impl From<Distribution> for super::Distribution {
    fn from(d: Distribution) -> Self {
        Self {
            summary: d.summary.map(Into::into),
            histogram: d.histogram.into(),
        }
    }
}

impl From<super::stats::Summary> for Summary {
    fn from(s: super::stats::Summary) -> Self {
        let super::stats::Summary {
            count,
            min,
            p50,
            p90,
            p99,
            max,
        } = s;
        Self {
            count,
            min,
            p50,
            p90,
            p99,
            max,
        }
    }
}

impl From<Summary> for super::stats::Summary {
    fn from(s: Summary) -> Self {
        let Summary {
            count,
            min,
            p50,
            p90,
            p99,
            max,
        } = s;
        Self {
            count,
            min,
            p50,
            p90,
            p99,
            max,
        }
    }
}

impl From<&super::stats::Histogram> for Histogram {
    fn from(h: &super::stats::Histogram) -> Self {
        Self(h.0.iter().map(|(&v, &n)| [v, n]).collect())
    }
}

impl From<Histogram> for super::stats::Histogram {
    /// Pairs as [`Histogram`] reads them: each value once.
    fn from(h: Histogram) -> Self {
        Self(h.0.into_iter().map(|[v, n]| (v, n)).collect())
    }
}

impl From<&super::FailingSeed> for FailingSeed {
    fn from(f: &super::FailingSeed) -> Self {
        Self {
            seed: f.seed,
            failed: f.failed.clone(),
            first_failure: f.first_failure.clone(),
            repro: f.repro.clone(),
            swarm: f.swarm.clone(),
            branch: f.branch.clone(),
        }
    }
}

impl From<FailingSeed> for super::FailingSeed {
    fn from(f: FailingSeed) -> Self {
        Self {
            seed: f.seed,
            failed: f.failed,
            first_failure: f.first_failure,
            repro: f.repro,
            swarm: f.swarm,
            branch: f.branch,
        }
    }
}

/// The sweep's report reads and writes as the schema.
impl Serialize for super::SweepReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SweepReport::from(self).serialize(s)
    }
}

/// The sweep's report reads and writes as the schema.
impl<'de> Deserialize<'de> for super::SweepReport {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SweepReport::deserialize(d).map(Self::from)
    }
}

/// A histogram reads and writes as the schema's [`Histogram`].
impl Serialize for super::stats::Histogram {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Histogram::from(self).serialize(s)
    }
}

/// A histogram reads and writes as the schema's [`Histogram`].
impl<'de> Deserialize<'de> for super::stats::Histogram {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Histogram::deserialize(d).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names_are_those_of_json() {
        for engine in [Engine::Virtual, Engine::Tokio, Engine::Turmoil] {
            assert_eq!(
                serde_json::to_string(&engine).unwrap(),
                format!("\"{}\"", engine.as_str())
            );
            assert_eq!(
                Engine::from(EngineKind::from(engine)),
                engine,
                "{engine:?} converts both ways"
            );
        }
    }
}
