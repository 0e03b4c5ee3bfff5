//! The scenario file format, as serde types.
//!
//! These types mirror the YAML one to one (DESIGN §2): every key is optional
//! except `name` and `rollouts`, unknown keys are refused (a key written
//! with no value, `key: ~`, is refused by validation: only `input` and
//! `output` take null), and durations are strings with a unit. They hold what the file says, nothing more; defaults
//! and cross-references are resolved by [`super::load`].
//!
//! Every type here must implement `schemars::JsonSchema`: derive it beside
//! `Deserialize`, or, for a hand-written `Deserialize`, write a matching
//! impl in `json_schema.rs`. `rollout-sim schema` prints the result and a
//! test checks every file under `scenarios/` against it.

use std::collections::HashSet;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::duration::Dur;
use super::json_schema::{
    DequeueScript, FailRateOnly, GoalName, HostPair, InvariantName, Message, Name, Positive,
    Prefix, Probability, Prose, RolloutCount, RolloutIdText, SometimesGoals, Title,
};

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::json_schema::scenario_file)]
pub struct ScenarioFile {
    /// Unique in a suite.
    #[schemars(with = "Title")]
    pub name: String,
    /// What it checks, for people.
    #[serde(default)]
    #[schemars(with = "Option<Prose>")]
    pub description: Option<String>,
    /// Drives every random choice (default 0).
    #[serde(default)]
    pub seed: u64,
    /// The seeds the file is tested with, instead of `seed`: each is a test
    /// case of its own through the harness (`cargo test`), and
    /// `rollout-sim scenario` runs each (`--seed` runs one).
    #[serde(default)]
    #[schemars(length(min = 1, max = crate::limits::MAX_SEEDS), extend("uniqueItems" = true))]
    pub seeds: Option<Vec<u64>>,
    /// Which engine runs it (default `auto`).
    #[serde(default)]
    pub engine: EngineChoice,
    /// Runner settings; unset ones take the reference defaults.
    #[serde(default)]
    pub runner: RunnerSection,
    /// A count (`worker-1..N`) or a list of ids (default 1).
    #[serde(default)]
    pub workers: WorkersSpec,
    /// Rollouts, one by one or generated.
    #[schemars(length(min = 1))]
    pub rollouts: Vec<RolloutEntry>,
    /// Faults to inject.
    #[serde(default)]
    pub faults: FaultsSection,
    /// The queue's behaviour.
    #[serde(default)]
    pub queue: QueueSection,
    /// When the run ends.
    #[serde(default)]
    pub stop: StopSection,
    /// What must hold at the end.
    #[serde(default)]
    pub expect: ExpectSection,
    /// What `--swarm` may draw, per seed (defaults when absent).
    #[serde(default)]
    pub swarm: Option<SwarmSection>,
}

/// `engine:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// `virtual` unless the scenario needs another.
    #[default]
    Auto,
    /// The project's own executor.
    Virtual,
    /// tokio with paused time.
    Tokio,
    /// turmoil's simulated network.
    Turmoil,
}

/// `runner:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunnerSection {
    /// Default 75ms.
    #[schemars(with = "Option<Positive>")]
    pub poll_interval: Option<Dur>,
    /// Default 1s.
    #[schemars(with = "Option<Positive>")]
    pub heartbeat_interval: Option<Dur>,
    /// Default 250ms.
    #[schemars(with = "Option<Positive>")]
    pub reassignment_interval: Option<Dur>,
    /// Default 3s.
    #[schemars(with = "Option<Positive>")]
    pub worker_timeout: Option<Dur>,
    /// Default 25ms, capped at 500ms.
    pub backoff: Option<BackoffSection>,
    /// Default true.
    pub retry_metrics: Option<bool>,
    /// Default unlimited.
    #[schemars(range(min = 1))]
    pub max_attempts: Option<u32>,
    /// The turmoil engine's per-request timeout of a worker's queue client
    /// (default 1s; other engines ignore it).
    #[schemars(with = "Option<Positive>")]
    pub request_timeout: Option<Dur>,
    /// The turmoil engine: start a worker's runner again this long after it
    /// ended with an error (default: it stays down).
    pub restart_after: Option<Dur>,
}

/// `runner.backoff:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackoffSection {
    /// The first delay.
    #[schemars(with = "Option<Positive>")]
    pub initial: Option<Dur>,
    /// The cap.
    #[schemars(with = "Option<Positive>")]
    pub max: Option<Dur>,
    /// Jitter mode (default `none`).
    pub jitter: Option<Jitter>,
}

/// `runner.backoff.jitter:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Jitter {
    /// Exact delays.
    None,
    /// `random(0, delay)`.
    Full,
    /// `delay/2 + random(0, delay/2)`.
    Equal,
    /// `min(max, random(initial, previous * 3))`.
    Decorrelated,
}

/// `queue:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSection {
    /// How stale attempts are found: `scan` (ours, default) or `reference`.
    pub reassignment: Option<ReassignmentSpec>,
}

/// `queue.reassignment:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReassignmentSpec {
    /// Time out every running attempt with a stale heartbeat.
    Scan,
    /// Only attempts in workers' active ids (the reference store's defect).
    Reference,
}

/// `faults.random:`: rates per operation.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomSection {
    /// Dequeue calls: `fail_rate` and `empty_rate`.
    pub dequeue: Option<RatesSpec>,
    /// Heartbeat calls: `fail_rate`.
    #[schemars(with = "Option<FailRateOnly>")]
    pub heartbeat: Option<RatesSpec>,
    /// Span flushes: `fail_rate`.
    #[schemars(with = "Option<FailRateOnly>")]
    pub flush: Option<RatesSpec>,
    /// Attempt completions: `fail_rate`.
    #[schemars(with = "Option<FailRateOnly>")]
    pub complete: Option<RatesSpec>,
}

/// The rates of one operation in `faults.random`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RatesSpec {
    /// Probability in [0, 1] that a call fails.
    #[schemars(with = "Option<Probability>")]
    pub fail_rate: Option<f64>,
    /// Probability in [0, 1] that a dequeue finds nothing (dequeue only).
    #[schemars(with = "Option<Probability>")]
    pub empty_rate: Option<f64>,
}

/// `workers:` as a count or a list of workers.
#[derive(Debug, Clone)]
pub enum WorkersSpec {
    /// `worker-1` to `worker-N`.
    Count(u32),
    /// Explicit workers.
    Ids(Vec<WorkerEntry>),
}

/// One worker of a `workers:` list: an id, or `{ id, start_at, runner }`.
#[derive(Debug, Clone, Default)]
pub struct WorkerEntry {
    /// Its id.
    pub id: String,
    /// When its runner starts (default 0ms).
    pub start_at: Option<Dur>,
    /// Its own runner settings, over the top-level `runner:`.
    pub runner: Option<RunnerSection>,
    /// Written as a mapping (its id is then at `id:`).
    pub mapping: bool,
}

impl<'de> Deserialize<'de> for WorkerEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            id: String,
            start_at: Option<Dur>,
            runner: Option<RunnerSection>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WorkerEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a worker id, or { id, start_at, runner }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WorkerEntry, E> {
                Ok(WorkerEntry {
                    id: v.to_string(),
                    ..WorkerEntry::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WorkerEntry, A::Error> {
                let f = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(WorkerEntry {
                    id: f.id,
                    start_at: f.start_at,
                    runner: f.runner,
                    mapping: true,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl Default for WorkersSpec {
    fn default() -> Self {
        Self::Count(1)
    }
}

impl<'de> Deserialize<'de> for WorkersSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WorkersSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a worker count such as 4, or a list of worker ids or { id, start_at, runner }",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WorkersSpec, E> {
                u32::try_from(v).map(WorkersSpec::Count).map_err(|_| {
                    E::custom(format!("{v} workers is far too many; the limit is 1024"))
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WorkersSpec, E> {
                Err(E::custom(format!(
                    "a worker count must be positive, not {v}"
                )))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WorkersSpec, A::Error> {
                let mut ids = Vec::new();
                while let Some(entry) = seq.next_element::<WorkerEntry>()? {
                    ids.push(entry);
                }
                Ok(WorkersSpec::Ids(ids))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// One entry of `rollouts:`: a single rollout (`id:`) or a batch (`generate:`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::json_schema::rollout_entry)]
pub struct RolloutEntry {
    /// The rollout's id.
    #[schemars(with = "Option<RolloutIdText>")]
    pub id: Option<String>,
    /// Its input (any YAML value; default null).
    pub input: Option<Value>,
    /// When it enters the queue (default 0ms).
    pub enqueue_at: Option<Dur>,
    /// How its attempts run.
    pub run: Option<RunSpec>,
    /// Per-attempt overrides of `run`: attempt n uses entry n, the last repeats.
    #[schemars(length(min = 1))]
    pub attempts: Option<Vec<RunSpec>>,
    /// A batch of rollouts instead of one.
    pub generate: Option<GenerateSpec>,
}

/// `generate:`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    /// How many.
    #[schemars(with = "RolloutCount")]
    pub count: u32,
    /// Id prefix: ids are the prefix and a number from 1, zero-padded to the
    /// width of `count`.
    #[serde(default = "default_prefix")]
    #[schemars(with = "Prefix")]
    pub prefix: String,
    /// Time between enqueues, from 0ms (default 0ms: all at once).
    pub every: Option<Dur>,
    /// When the first is enqueued (default 0ms).
    pub start: Option<Dur>,
    /// Input of every generated rollout.
    pub input: Option<Value>,
    /// How each runs.
    pub run: Option<RunSpec>,
    /// Per-attempt overrides, as for a single rollout.
    #[schemars(length(min = 1))]
    pub attempts: Option<Vec<RunSpec>>,
}

fn default_prefix() -> String {
    "r-".into()
}

/// `run:` or an `attempts:` entry.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::json_schema::run_spec)]
pub struct RunSpec {
    /// How long the executor runs (default 0ms).
    pub duration: Option<Dur>,
    /// `succeeded` (default) or `failed`.
    pub result: Option<RunResultKind>,
    /// The output (default: the rollout's `input`, as the reference's test
    /// executor echoes its prompt); `null` counts as no output.
    #[serde(default, deserialize_with = "present")]
    pub output: Option<Value>,
    /// Rewards, emitted in file order.
    pub rewards: Option<OrderedMap<f64>>,
    /// The error message of a failed run.
    #[schemars(with = "Option<Message>")]
    pub error: Option<String>,
}

/// `result:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunResultKind {
    /// The executor returns.
    Succeeded,
    /// The executor fails.
    Failed,
}

/// A mapping that keeps file order and refuses duplicate keys.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct M<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for M<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap<V>, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                // A set beside the list: a mapping of many keys is checked
                // in linear time, not by comparing every pair.
                let mut seen: HashSet<String> = HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(OrderedMap(entries))
            }
        }
        deserializer.deserialize_map(M(std::marker::PhantomData))
    }
}

/// `faults:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultsSection {
    /// Script over dequeue calls.
    #[schemars(with = "Option<DequeueScript>")]
    pub dequeue: Option<ScriptSpec>,
    /// Script over heartbeat calls (worker and attempt heartbeats).
    pub heartbeat: Option<ScriptSpec>,
    /// Script over span flushes.
    pub flush: Option<ScriptSpec>,
    /// Script over attempt completions.
    pub complete: Option<ScriptSpec>,
    /// Faults at virtual times.
    #[serde(default)]
    pub at: Vec<AtEvent>,
    /// The seeded overlay: random failures per operation, drawn from the seed.
    pub random: Option<RandomSection>,
    /// Latency and loss on every link (the turmoil engine).
    pub network: Option<NetworkSection>,
    /// The liveness phase: from this instant no fault fires (scripts,
    /// `random`, the network; timed faults from then on are dropped, and
    /// workers that are down start again), and every rollout must be
    /// terminal within `stop.recover_within` (the `liveness` invariant).
    pub heal_at: Option<Dur>,
}

/// `faults.network:` (the turmoil engine).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// Per-message latency, drawn in `[min, max]` (default 0ms).
    pub latency: Option<LatencySpec>,
    /// Probability per message that the link breaks, losing it and whatever
    /// is in flight on that link (default 0).
    #[schemars(with = "Option<Probability>")]
    pub loss_rate: Option<f64>,
}

/// `faults.network.latency:`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    /// The least latency.
    pub min: Dur,
    /// The most latency.
    pub max: Dur,
}

/// A fault script: shared by all workers (a list) or per worker (a mapping).
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptSpec {
    /// One list of steps over every worker's calls.
    Shared(Vec<StepSpec>),
    /// A list of steps per worker id, in file order.
    PerWorker(Vec<(String, Vec<StepSpec>)>),
}

impl<'de> Deserialize<'de> for ScriptSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ScriptSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of steps such as [ { fail: 3 } ], or a mapping from worker id to such a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScriptSpec, A::Error> {
                let mut steps = Vec::new();
                while let Some(step) = seq.next_element()? {
                    steps.push(step);
                }
                Ok(ScriptSpec::Shared(steps))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScriptSpec, A::Error> {
                let mut entries: Vec<(String, Vec<StepSpec>)> = Vec::new();
                let mut seen: HashSet<String> = HashSet::new();
                while let Some(worker) = map.next_key::<String>()? {
                    if matches!(worker.as_str(), "fail" | "pass" | "empty") {
                        // `dequeue: { fail: 3 }`: a step written without its list.
                        return Err(de::Error::custom(format!(
                            "`{worker}` is a step, not a worker id; a script is a list of steps: write [ {{ {worker}: 3 }} ]"
                        )));
                    }
                    if !seen.insert(worker.clone()) {
                        return Err(de::Error::custom(format!("duplicate key `{worker}`")));
                    }
                    let steps = map.next_value()?;
                    entries.push((worker, steps));
                }
                Ok(ScriptSpec::PerWorker(entries))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// One step: exactly one of `fail`, `pass`, `empty`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Fail the next N calls: `{ fail: 3 }` or `{ fail: { times: 3, message: "..." } }`.
    pub fail: Option<FailSpec>,
    /// Let N calls through.
    pub pass: Option<u32>,
    /// Answer N dequeues with no rollout.
    pub empty: Option<u32>,
}

/// `fail:` as a count or `{ times, message }`.
#[derive(Debug, Clone, PartialEq)]
pub struct FailSpec {
    /// How many calls.
    pub times: u32,
    /// The error message, if given.
    pub message: Option<String>,
}

impl<'de> Deserialize<'de> for FailSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            times: u32,
            message: Option<String>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FailSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count such as 3, or { times: 3, message: \"...\" }")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FailSpec, E> {
                let times = u32::try_from(v).map_err(|_| {
                    E::custom(format!(
                        "{v} is too large for a count; the most is {}",
                        u32::MAX
                    ))
                })?;
                Ok(FailSpec {
                    times,
                    message: None,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FailSpec, E> {
                Err(E::custom(format!(
                    "a count must not be negative, not {v}; write 0 or more"
                )))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FailSpec, A::Error> {
                let full = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(FailSpec {
                    times: full.times,
                    message: full.message,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// An entry of `faults.at`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::json_schema::at_event)]
pub struct AtEvent {
    /// When.
    pub at: Option<Dur>,
    /// Repeat every this long after `at`, until `stop.within`.
    #[schemars(with = "Option<Positive>")]
    pub every: Option<Dur>,
    /// Crash this worker.
    pub crash: Option<String>,
    /// Restart this worker.
    pub restart: Option<String>,
    /// Partition these two hosts (the turmoil engine): `queue` or worker ids.
    #[schemars(with = "Option<HostPair>")]
    pub partition: Option<Vec<String>>,
    /// End a partition between these two hosts (the turmoil engine).
    #[schemars(with = "Option<HostPair>")]
    pub repair: Option<Vec<String>>,
    /// Hold the messages between these two hosts (the turmoil engine).
    #[schemars(with = "Option<HostPair>")]
    pub hold: Option<Vec<String>>,
    /// Deliver the held messages between these two hosts (the turmoil engine).
    #[schemars(with = "Option<HostPair>")]
    pub release: Option<Vec<String>>,
    /// Restart this host's software at once (the turmoil engine): `queue` or a
    /// worker id.
    pub bounce: Option<String>,
    /// Make every message sent from now on take exactly this long (the
    /// turmoil engine); with `for`, `faults.network.latency` comes back after.
    pub latency: Option<Dur>,
    /// How long a partition or hold lasts; it then ends by itself.
    #[serde(rename = "for")]
    #[schemars(with = "Option<Positive>")]
    pub for_: Option<Dur>,
}

/// `stop:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopSection {
    /// `all_terminal` (default) or `{ at: 2s }`.
    pub when: Option<StopWhenSpec>,
    /// Virtual-time budget (default 10m).
    #[schemars(with = "Option<Positive>")]
    pub within: Option<Dur>,
    /// With `faults.heal_at`: how long after it every rollout has to be
    /// terminal; the run ends then at the latest (default 10 times the
    /// slowest of the runner's worker timeout, heartbeat, reassignment and
    /// poll intervals, backoff cap, `restart_after` and the longest
    /// scripted attempt).
    #[schemars(with = "Option<Positive>")]
    pub recover_within: Option<Dur>,
}

/// `stop.when:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWhenSpec {
    /// Every rollout terminal.
    AllTerminal,
    /// A fixed time.
    At(Dur),
}

impl<'de> Deserialize<'de> for StopWhenSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct At {
            at: Dur,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StopWhenSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`all_terminal` or { at: 2s }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StopWhenSpec, E> {
                match v {
                    "all_terminal" => Ok(StopWhenSpec::AllTerminal),
                    other => Err(E::custom(format!(
                        "unknown stop condition `{other}`: use all_terminal or {{ at: 2s }}"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StopWhenSpec, A::Error> {
                let at = At::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(StopWhenSpec::At(at.at))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `expect:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectSection {
    /// Final rollout states, by id; `*` for every rollout not named.
    pub rollouts: Option<OrderedMap<RolloutExpect>>,
    /// Reward values by rollout (its last attempt) or attempt id.
    pub rewards: Option<OrderedMap<OrderedMap<RewardExpect>>>,
    /// Rewards that must not be emitted, by rollout or attempt; `*` for all.
    #[schemars(with = "Option<OrderedMap<Vec<Name>>>")]
    pub absent_rewards: Option<OrderedMap<Vec<String>>>,
    /// Each attempt's final status (and worker), by attempt id.
    pub attempts: Option<OrderedMap<AttemptExpect>>,
    /// An attempt's span names: the exact list in sequence order, or
    /// `{ contains: [...] }`.
    pub spans: Option<OrderedMap<SpansExpect>>,
    /// Virtual time at which the stop condition held.
    pub finished_at: Option<Dur>,
    /// `all` (default), a list of invariant names, or `[]`.
    pub invariants: Option<InvariantsSpec>,
    /// Invariants that must be *violated*: a committed reproducer of a known
    /// defect passes only while the harness still catches it.
    #[schemars(with = "Option<Vec<InvariantName>>")]
    pub violated: Option<Vec<String>>,
    /// Coverage goals of the scenario's own, by name: conditions that should
    /// hold in *some* seed of a sweep. A run never fails by missing one;
    /// `explore` fails when no seed reaches one.
    #[schemars(with = "Option<SometimesGoals>")]
    pub sometimes: Option<OrderedMap<SometimesSpec>>,
}

/// `expect.sometimes.<name>`: a condition written like the expectations,
/// and built-in goals the same run must reach.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::json_schema::sometimes_goal)]
pub struct SometimesSpec {
    /// Final rollout states, by id; `*` for every rollout not named.
    pub rollouts: Option<OrderedMap<RolloutExpect>>,
    /// Reward values by rollout (its last attempt) or attempt id.
    pub rewards: Option<OrderedMap<OrderedMap<RewardExpect>>>,
    /// Rewards that must not be emitted, by rollout or attempt; `*` for all.
    #[schemars(with = "Option<OrderedMap<Vec<Name>>>")]
    pub absent_rewards: Option<OrderedMap<Vec<String>>>,
    /// Built-in coverage goals that must all be reached in the same run.
    #[schemars(with = "Option<Vec<GoalName>>")]
    pub goals: Option<Vec<String>>,
}

/// A rollout expectation: a status, or `{ status, attempts, worker, error }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolloutExpect {
    /// Its final status.
    pub status: Option<String>,
    /// How many attempts it had.
    pub attempts: Option<u32>,
    /// The worker of its last attempt.
    pub worker: Option<String>,
    /// The error message it ended with.
    pub error: Option<String>,
}

impl<'de> Deserialize<'de> for RolloutExpect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            status: Option<String>,
            attempts: Option<u32>,
            worker: Option<String>,
            error: Option<String>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RolloutExpect;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status such as succeeded, or { status, attempts, worker, error }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RolloutExpect, E> {
                Ok(RolloutExpect {
                    status: Some(v.to_string()),
                    ..RolloutExpect::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RolloutExpect, A::Error> {
                let f = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RolloutExpect {
                    status: f.status,
                    attempts: f.attempts,
                    worker: f.worker,
                    error: f.error,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// An attempt expectation: a status, or `{ status, worker }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptExpect {
    /// Its final status.
    pub status: Option<String>,
    /// The worker it ran on.
    pub worker: Option<String>,
}

impl<'de> Deserialize<'de> for AttemptExpect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            status: Option<String>,
            worker: Option<String>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AttemptExpect;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status such as timeout, or { status, worker }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AttemptExpect, E> {
                Ok(AttemptExpect {
                    status: Some(v.to_string()),
                    worker: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AttemptExpect, A::Error> {
                let f = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(AttemptExpect {
                    status: f.status,
                    worker: f.worker,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A span expectation: the exact names, or `{ contains: [...] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpansExpect {
    /// Exactly these, in sequence order.
    Exact(Vec<String>),
    /// At least these, in any order (a name listed twice, twice).
    Contains(Vec<String>),
}

impl SpansExpect {
    /// The names listed.
    pub fn names(&self) -> &[String] {
        match self {
            Self::Exact(names) | Self::Contains(names) => names,
        }
    }
}

impl<'de> Deserialize<'de> for SpansExpect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Contains {
            contains: Vec<String>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SpansExpect;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of span names, or { contains: [names] }")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<SpansExpect, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(SpansExpect::Exact)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SpansExpect, A::Error> {
                let c = Contains::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(SpansExpect::Contains(c.contains))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A reward expectation: a number, or `{ between: [a, b] }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RewardExpect {
    /// Exactly this value.
    Exact(f64),
    /// Within this closed range.
    Between(f64, f64),
}

impl<'de> Deserialize<'de> for RewardExpect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Between {
            between: (f64, f64),
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RewardExpect;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number such as 35, or { between: [a, b] }")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RewardExpect, E> {
                Ok(RewardExpect::Exact(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RewardExpect, E> {
                Ok(RewardExpect::Exact(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RewardExpect, E> {
                Ok(RewardExpect::Exact(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RewardExpect, A::Error> {
                let b = Between::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RewardExpect::Between(b.between.0, b.between.1))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `expect.invariants:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvariantsSpec {
    /// Every built-in invariant.
    All,
    /// These (possibly none).
    Only(Vec<String>),
}

impl<'de> Deserialize<'de> for InvariantsSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InvariantsSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`all`, or a list of invariant names (`[]` for none)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<InvariantsSpec, E> {
                match v {
                    "all" => Ok(InvariantsSpec::All),
                    other => Err(E::custom(format!(
                        "`{other}` is not `all` or a list of invariant names"
                    ))),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<InvariantsSpec, A::Error> {
                let mut names = Vec::new();
                while let Some(n) = seq.next_element()? {
                    names.push(n);
                }
                Ok(InvariantsSpec::Only(names))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `swarm:`: the bounds of what `--swarm` draws for each seed. A key left
/// out keeps its default (README, "Swarm mode"); a zero range, or
/// `crashes: { max: 0 }`, turns a family off.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwarmSection {
    /// The probability in [0, 1] that each family is on (default 0.5).
    #[schemars(with = "Option<Probability>")]
    pub on: Option<f64>,
    /// Dequeue failures and empties.
    pub dequeue: Option<SwarmDequeue>,
    /// Heartbeat failures.
    pub heartbeat: Option<SwarmFailures>,
    /// Span flush failures.
    pub flush: Option<SwarmFailures>,
    /// Completion failures.
    pub complete: Option<SwarmFailures>,
    /// Worker crashes, each followed by a restart.
    pub crashes: Option<SwarmCrashes>,
    /// Message loss and latency (turmoil engine only).
    pub network: Option<SwarmNetwork>,
}

/// `swarm.dequeue`: `[min, max]` ranges of each rate.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwarmDequeue {
    /// Where the failure rate is drawn.
    #[schemars(with = "Option<[Probability; 2]>")]
    pub fail_rate: Option<[f64; 2]>,
    /// Where the "nothing waiting" rate is drawn.
    #[schemars(with = "Option<[Probability; 2]>")]
    pub empty_rate: Option<[f64; 2]>,
}

/// `swarm.heartbeat`, `swarm.flush`, `swarm.complete`.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwarmFailures {
    /// Where the failure rate is drawn, `[min, max]`.
    #[schemars(with = "Option<[Probability; 2]>")]
    pub fail_rate: Option<[f64; 2]>,
}

/// `swarm.crashes`.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwarmCrashes {
    /// At most this many crashes per seed (0: never).
    #[schemars(range(max = 100))]
    pub max: Option<u32>,
    /// Crashes happen before this time.
    pub within: Option<Dur>,
    /// Where each restart's delay is drawn, `[min, max]`.
    pub restart_after: Option<[Dur; 2]>,
}

/// `swarm.network` (turmoil engine).
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwarmNetwork {
    /// Where the loss rate per message is drawn, `[min, max]`.
    #[schemars(with = "Option<[Probability; 2]>")]
    pub loss_rate: Option<[f64; 2]>,
    /// Where the latency's maximum is drawn, `[min, max]`.
    pub latency_max: Option<[Dur; 2]>,
}

/// A key that is present, `null` included: `Some(Value::Null)` for
/// `output: null`, where an absent key stays `None` (its default).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}
