//! Reading a scenario file: parse, validate, resolve, with located errors.
//!
//! Loading happens in three passes. serde parses the YAML into the
//! [`schema`](super::schema) types, refusing unknown keys and wrong types at
//! their line and column. Validation then checks what types cannot (unique
//! ids, references to known rollouts and workers, a valid runner config) and
//! collects *every* problem, each located through the [`SourceMap`].
//! Finally the file is resolved into a [`SimPlan`] and its [`Expectations`].
//!
//! Input is bounded before anything is parsed: a file larger than
//! [`MAX_FILE_BYTES`] or generating more than [`MAX_ROLLOUTS`] rollouts is
//! refused, and the YAML parser refuses deep nesting and alias bombs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path as FsPath;
use std::time::Duration;

use serde_json::Value;

use crate::core::queue::{
    AttemptId, QueueOp, ReassignmentPolicy, RolloutId, RolloutStatus, WorkerId,
};
use crate::core::runner::{BackoffPolicy, RunnerConfig};
use crate::core::telemetry::Reward;
use crate::sim::EngineKind;
use crate::sim::faults::{DEFAULT_FAULT_MESSAGE, FaultStep, OpScript};
use crate::sim::invariants::INVARIANTS;
use crate::sim::plan::{
    RolloutPlan, RunLimits, RunStep, SimPlan, StepResult, StopRule, StopWhen, TimedAction,
    TimedFault,
};

use super::diagnostics::{LoadError, Problem};
use super::expect::{Expectations, RewardValue, RolloutExpectation, Target};
use super::schema::*;
use super::source::{Path, PathSegment, SourceMap};

/// The largest scenario file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The most rollouts a scenario may define, generated ones included.
pub const MAX_ROLLOUTS: u64 = 1_000_000;
/// The most workers a scenario may start.
pub const MAX_WORKERS: u64 = 1_024;
/// The largest virtual-time budget (`stop.within`).
pub const MAX_WITHIN: Duration = Duration::from_secs(7 * 24 * 3600);
/// The message of a failed run that gives none.
pub const DEFAULT_EXECUTOR_ERROR: &str = "executor failed";

/// A loaded, validated scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from, as given.
    pub path: String,
    /// Its `name`.
    pub name: String,
    /// Its `description`.
    pub description: Option<String>,
    /// XXH3-64 of the file's bytes.
    pub source_hash: u64,
    /// The engine it asks for.
    pub engine: EngineChoice,
    /// What to simulate.
    pub plan: SimPlan,
    /// What must hold.
    pub expect: Expectations,
}

impl Scenario {
    /// The engine `auto` resolves to for this scenario.
    pub fn engine(&self) -> EngineKind {
        match self.engine {
            EngineChoice::Tokio => EngineKind::Tokio,
            EngineChoice::Auto | EngineChoice::Virtual | EngineChoice::Turmoil => {
                EngineKind::Virtual
            }
        }
    }
}

/// Reads and loads a scenario file.
pub fn load_file(path: &FsPath) -> Result<Scenario, LoadError> {
    let display = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| LoadError::io(&display, &e))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(LoadError::single(
            &display,
            String::new(),
            Problem::new(format!(
                "the file is {} bytes; scenario files are limited to {MAX_FILE_BYTES} bytes (use `generate:` for many rollouts)",
                meta.len()
            )),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| LoadError::io(&display, &e))?;
    let source = String::from_utf8(bytes).map_err(|e| {
        LoadError::single(
            &display,
            String::new(),
            Problem::new(format!(
                "the file is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )),
        )
    })?;
    load_str(&display, &source)
}

/// Loads a scenario from text; `path` is used in messages.
pub fn load_str(path: &str, source: &str) -> Result<Scenario, LoadError> {
    if source.len() as u64 > MAX_FILE_BYTES {
        return Err(LoadError::single(
            path,
            String::new(),
            Problem::new(format!(
                "scenario text is limited to {MAX_FILE_BYTES} bytes"
            )),
        ));
    }
    let file: ScenarioFile = match serde_yaml::from_str(source) {
        Ok(file) => file,
        Err(e) => {
            let problem = Problem::from_yaml(&e, source);
            return Err(LoadError::new(path, source.to_string(), vec![problem]));
        }
    };
    let map = SourceMap::build(source);
    let mut v = Validator {
        problems: Vec::new(),
        map: &map,
    };
    let scenario = v.resolve(path, source, file);
    if v.problems.is_empty() {
        Ok(scenario)
    } else {
        Err(LoadError::new(path, source.to_string(), v.problems))
    }
}

struct Validator<'a> {
    problems: Vec<Problem>,
    map: &'a SourceMap,
}

fn path(segments: &[&dyn ToSegment]) -> Path {
    segments.iter().map(|s| s.segment()).collect()
}

trait ToSegment {
    fn segment(&self) -> PathSegment;
}

impl ToSegment for &str {
    fn segment(&self) -> PathSegment {
        PathSegment::Key(self.to_string())
    }
}

impl ToSegment for String {
    fn segment(&self) -> PathSegment {
        PathSegment::Key(self.clone())
    }
}

impl ToSegment for usize {
    fn segment(&self) -> PathSegment {
        PathSegment::Index(*self)
    }
}

impl Validator<'_> {
    fn problem(&mut self, at: Path, message: impl Into<String>, help: Option<String>) {
        let span = self.map.locate(&at);
        self.problems.push(Problem {
            message: message.into(),
            span,
            help,
            path: Some(at),
        });
    }

    /// Like [`problem`](Self::problem) but points at a mapping key.
    fn key_problem(&mut self, at: Path, message: impl Into<String>, help: Option<String>) {
        let span = self.map.key(&at).or_else(|| self.map.locate(&at));
        self.problems.push(Problem {
            message: message.into(),
            span,
            help,
            path: Some(at),
        });
    }

    fn resolve(&mut self, path_str: &str, source: &str, file: ScenarioFile) -> Scenario {
        let unsupported = |v: &mut Self, at: Path, what: &str, issue: &str| {
            v.key_problem(
                at,
                format!("{what} is not supported by this version of rollout-sim"),
                Some(format!("it arrives with {issue}; remove it for now")),
            );
        };
        if file.engine == EngineChoice::Turmoil {
            unsupported(
                self,
                path(&[&"engine"]),
                "the turmoil engine",
                "the turmoil engine",
            );
        }
        if file.faults.random.is_some() {
            unsupported(
                self,
                path(&[&"faults", &"random"]),
                "`faults.random`",
                "seeded fault overlays",
            );
        }
        if file.faults.network.is_some() {
            unsupported(
                self,
                path(&[&"faults", &"network"]),
                "`faults.network`",
                "the turmoil engine",
            );
        }

        let runner = self.runner(&file.runner);
        let workers = self.workers(&file.workers);
        let rollouts = self.rollouts(&file.rollouts);
        let rollout_ids: BTreeSet<&str> = rollouts.iter().map(|r| r.id.as_str()).collect();
        let worker_ids: BTreeSet<&str> = workers.iter().map(|w| w.as_str()).collect();
        let (fault_scripts, timed_faults) = self.faults(&file.faults, &worker_ids);
        let stop = self.stop(&file.stop);
        let expect = self.expect(&file.expect, &rollout_ids, &worker_ids);

        let max_attempts = file.runner.max_attempts;
        if max_attempts == Some(0) {
            self.problem(
                path(&[&"runner", &"max_attempts"]),
                "max_attempts must be at least 1",
                Some("leave it unset for unlimited attempts".into()),
            );
        }
        if file.name.trim().is_empty() {
            self.problem(path(&[&"name"]), "the scenario name is empty", None);
        }
        let plan = SimPlan {
            seed: file.seed,
            runner,
            reassignment: ReassignmentPolicy::default(),
            workers,
            rollouts,
            max_attempts,
            fault_scripts,
            timed_faults,
            stop,
            limits: RunLimits::default(),
            perturb_scheduling: false,
        };
        Scenario {
            path: path_str.to_string(),
            name: file.name,
            description: file.description,
            source_hash: xxhash_rust::xxh3::xxh3_64(source.as_bytes()),
            engine: file.engine,
            plan,
            expect,
        }
    }

    fn runner(&mut self, section: &RunnerSection) -> RunnerConfig {
        let defaults = RunnerConfig::default();
        let get = |d: Option<super::duration::Dur>, default: Duration| d.map_or(default, |d| d.0);
        let backoff = section.backoff.clone().unwrap_or_default();
        if let Some(j) = backoff.jitter
            && j != Jitter::None
        {
            self.problem(
                path(&[&"runner", &"backoff", &"jitter"]),
                "jittered backoff is not supported by this version of rollout-sim",
                Some("use `jitter: none`; full, equal and decorrelated arrive with seeded fault overlays".into()),
            );
        }
        let config = RunnerConfig {
            worker_id: defaults.worker_id.clone(),
            poll_interval: get(section.poll_interval, defaults.poll_interval),
            heartbeat_interval: get(section.heartbeat_interval, defaults.heartbeat_interval),
            reassignment_interval: get(
                section.reassignment_interval,
                defaults.reassignment_interval,
            ),
            worker_timeout: get(section.worker_timeout, defaults.worker_timeout),
            backoff: BackoffPolicy {
                initial: get(backoff.initial, defaults.backoff.initial),
                max: get(backoff.max, defaults.backoff.max),
            },
            retry_metrics: section.retry_metrics.unwrap_or(defaults.retry_metrics),
        };
        if let Err(e) = config.validate() {
            use crate::core::runner::ConfigError as E;
            let at = match &e {
                E::BackoffInitialZero => path(&[&"runner", &"backoff", &"initial"]),
                E::BackoffMaxZero | E::BackoffMaxBelowInitial { .. } => {
                    path(&[&"runner", &"backoff", &"max"])
                }
                E::ZeroInterval { name } => path(&[&"runner", &name.to_string()]),
            };
            self.problem(at, e.to_string(), None);
        }
        config
    }

    fn workers(&mut self, spec: &WorkersSpec) -> Vec<WorkerId> {
        let at = path(&[&"workers"]);
        match spec {
            WorkersSpec::Count(0) => {
                self.problem(
                    at,
                    "at least one worker is needed",
                    Some("write `workers: 1` or a list of ids".into()),
                );
                Vec::new()
            }
            WorkersSpec::Count(n) if u64::from(*n) > MAX_WORKERS => {
                self.problem(
                    at,
                    format!("{n} workers is more than the limit of {MAX_WORKERS}"),
                    None,
                );
                Vec::new()
            }
            WorkersSpec::Count(n) => (1..=*n)
                .map(|i| WorkerId::new(format!("worker-{i}")))
                .collect(),
            WorkersSpec::Ids(ids) => {
                if ids.is_empty() {
                    self.problem(at.clone(), "at least one worker is needed", None);
                }
                if ids.len() as u64 > MAX_WORKERS {
                    self.problem(
                        at.clone(),
                        format!(
                            "{} workers is more than the limit of {MAX_WORKERS}",
                            ids.len()
                        ),
                        None,
                    );
                }
                let mut seen = BTreeSet::new();
                for (i, id) in ids.iter().enumerate() {
                    if id.trim().is_empty() {
                        self.problem(path(&[&"workers", &i]), "a worker id is empty", None);
                    } else if !seen.insert(id.as_str()) {
                        self.problem(
                            path(&[&"workers", &i]),
                            format!("duplicate worker id `{id}`"),
                            None,
                        );
                    }
                }
                ids.iter().map(WorkerId::new).collect()
            }
        }
    }

    fn run_step(&mut self, at: Path, base: Option<&RunSpec>, spec: Option<&RunSpec>) -> RunStep {
        let empty = RunSpec::default();
        let spec = spec.unwrap_or(&empty);
        let base = base.unwrap_or(&empty);
        let pick = |f: fn(&RunSpec) -> bool| if f(spec) { spec } else { base };
        let duration = spec
            .duration
            .or(base.duration)
            .map_or(Duration::ZERO, |d| d.0);
        let result = spec
            .result
            .or(base.result)
            .unwrap_or(RunResultKind::Succeeded);
        let output = pick(|s| s.output.is_some())
            .output
            .clone()
            .unwrap_or(Value::Null);
        let rewards = pick(|s| s.rewards.is_some())
            .rewards
            .clone()
            .unwrap_or_default();
        let error = spec.error.clone().or_else(|| base.error.clone());
        match result {
            RunResultKind::Succeeded => {
                if error.is_some() && spec.result == Some(RunResultKind::Succeeded) {
                    let mut at = at;
                    at.push("error".into());
                    self.key_problem(at, "`error` is only used when `result: failed`", None);
                }
                let rewards = rewards
                    .0
                    .into_iter()
                    .map(|(name, value)| Reward::new(name, value))
                    .collect();
                RunStep {
                    duration,
                    result: StepResult::Succeeded { output, rewards },
                }
            }
            RunResultKind::Failed => {
                if spec.rewards.is_some()
                    || (spec.result.is_none()
                        && base.rewards.is_some()
                        && base.result == Some(RunResultKind::Failed))
                {
                    let mut at = at;
                    at.push("rewards".into());
                    self.key_problem(
                        at,
                        "a failed run emits no executor rewards",
                        Some("remove `rewards`, or use `result: succeeded`".into()),
                    );
                }
                RunStep {
                    duration,
                    result: StepResult::Failed {
                        message: error.unwrap_or_else(|| DEFAULT_EXECUTOR_ERROR.to_string()),
                    },
                }
            }
        }
    }

    fn attempts(
        &mut self,
        at: &Path,
        run: Option<&RunSpec>,
        attempts: Option<&Vec<RunSpec>>,
    ) -> Vec<RunStep> {
        let mut run_at = at.clone();
        run_at.push("run".into());
        match attempts {
            Some(list) if !list.is_empty() => list
                .iter()
                .enumerate()
                .map(|(i, spec)| {
                    let mut a = at.clone();
                    a.push("attempts".into());
                    a.push(i.into());
                    self.run_step(a, run, Some(spec))
                })
                .collect(),
            Some(_) => {
                let mut a = at.clone();
                a.push("attempts".into());
                self.problem(
                    a,
                    "`attempts` is empty",
                    Some("remove it, or give one entry per attempt".into()),
                );
                vec![self.run_step(run_at, None, run)]
            }
            None => vec![self.run_step(run_at, None, run)],
        }
    }

    fn rollouts(&mut self, entries: &[RolloutEntry]) -> Vec<RolloutPlan> {
        let mut plans = Vec::new();
        let mut seen: BTreeMap<String, Path> = BTreeMap::new();
        let mut total: u64 = 0;
        if entries.is_empty() {
            self.problem(
                path(&[&"rollouts"]),
                "no rollouts: a scenario needs at least one",
                None,
            );
        }
        for (i, entry) in entries.iter().enumerate() {
            let at = path(&[&"rollouts", &i]);
            match (&entry.id, &entry.generate) {
                (Some(_), Some(_)) | (None, None) => {
                    self.problem(
                        at.clone(),
                        "a rollout entry needs exactly one of `id` or `generate`",
                        Some("write `- id: r1` or `- generate: { count: 10 }`".into()),
                    );
                    continue;
                }
                (Some(id), None) => {
                    total += 1;
                    let mut id_at = at.clone();
                    id_at.push("id".into());
                    if let Some(message) = bad_rollout_id(id) {
                        self.problem(id_at.clone(), message, None);
                    }
                    if seen.insert(id.clone(), id_at.clone()).is_some() {
                        self.problem(
                            id_at,
                            format!("duplicate rollout id `{id}`"),
                            Some("rollout ids must be unique".into()),
                        );
                    }
                    let attempts = self.attempts(&at, entry.run.as_ref(), entry.attempts.as_ref());
                    plans.push(RolloutPlan {
                        id: RolloutId::new(id),
                        input: entry.input.clone().unwrap_or(Value::Null),
                        enqueue_at: entry.enqueue_at.map_or(Duration::ZERO, |d| d.0),
                        attempts,
                    });
                }
                (None, Some(generate)) => {
                    if entry.input.is_some()
                        || entry.enqueue_at.is_some()
                        || entry.run.is_some()
                        || entry.attempts.is_some()
                    {
                        self.problem(
                            at.clone(),
                            "with `generate`, put `input`, `run` and `attempts` inside it",
                            None,
                        );
                    }
                    let mut g_at = at.clone();
                    g_at.push("generate".into());
                    total += u64::from(generate.count);
                    if generate.count == 0 {
                        let mut c = g_at.clone();
                        c.push("count".into());
                        self.problem(c, "`count` must be at least 1", None);
                    }
                    if total > MAX_ROLLOUTS {
                        let mut c = g_at.clone();
                        c.push("count".into());
                        self.problem(
                            c,
                            format!(
                                "the scenario defines {total} rollouts; the limit is {MAX_ROLLOUTS}"
                            ),
                            None,
                        );
                        return plans;
                    }
                    let attempts =
                        self.attempts(&g_at, generate.run.as_ref(), generate.attempts.as_ref());
                    let width = generate.count.to_string().len();
                    let every = generate.every.map_or(Duration::ZERO, |d| d.0);
                    let start = generate.start.map_or(Duration::ZERO, |d| d.0);
                    let input = generate.input.clone().unwrap_or(Value::Null);
                    for n in 1..=generate.count {
                        let id = format!("{}{:0width$}", generate.prefix, n);
                        if seen.contains_key(&id) {
                            self.problem(
                                g_at.clone(),
                                format!("generated id `{id}` duplicates another rollout id"),
                                Some("choose another `prefix`".into()),
                            );
                            break;
                        }
                        seen.insert(id.clone(), g_at.clone());
                        plans.push(RolloutPlan {
                            id: RolloutId::new(&id),
                            input: input.clone(),
                            enqueue_at: start.saturating_add(every.saturating_mul(n - 1)),
                            attempts: attempts.clone(),
                        });
                    }
                }
            }
            if total > MAX_ROLLOUTS {
                self.problem(
                    at,
                    format!("the scenario defines more than {MAX_ROLLOUTS} rollouts"),
                    None,
                );
                return plans;
            }
        }
        plans
    }

    fn script(&mut self, op: &str, spec: &[StepSpec], at: Path) -> Vec<FaultStep> {
        let mut steps = Vec::new();
        for (i, step) in spec.iter().enumerate() {
            let mut s_at = at.clone();
            s_at.push(i.into());
            let given = [
                step.fail.is_some(),
                step.pass.is_some(),
                step.empty.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if given != 1 {
                self.problem(
                    s_at,
                    "a step needs exactly one of `fail`, `pass` or `empty`",
                    Some("write { fail: 3 }, { pass: 1 } or { empty: 2 }".into()),
                );
                continue;
            }
            if let Some(fail) = &step.fail {
                steps.push(FaultStep::Fail {
                    times: fail.times,
                    message: fail
                        .message
                        .clone()
                        .unwrap_or_else(|| DEFAULT_FAULT_MESSAGE.to_string()),
                });
            } else if let Some(times) = step.pass {
                steps.push(FaultStep::Pass { times });
            } else if let Some(times) = step.empty {
                if op != "dequeue" {
                    let mut e = s_at.clone();
                    e.push("empty".into());
                    self.key_problem(
                        e,
                        format!("`empty` steps are for dequeue scripts, not {op}"),
                        Some("use `fail` or `pass`".into()),
                    );
                }
                steps.push(FaultStep::Empty { times });
            }
        }
        steps
    }

    fn faults(
        &mut self,
        faults: &FaultsSection,
        workers: &BTreeSet<&str>,
    ) -> (BTreeMap<QueueOp, OpScript>, Vec<TimedFault>) {
        let mut scripts = BTreeMap::new();
        for (op, name, spec) in [
            (QueueOp::Dequeue, "dequeue", &faults.dequeue),
            (QueueOp::Heartbeat, "heartbeat", &faults.heartbeat),
            (QueueOp::Flush, "flush", &faults.flush),
            (QueueOp::Complete, "complete", &faults.complete),
        ] {
            let Some(spec) = spec else { continue };
            let at = path(&[&"faults", &name]);
            let script = match spec {
                ScriptSpec::Shared(steps) => OpScript::Shared(self.script(name, steps, at)),
                ScriptSpec::PerWorker(per) => {
                    let mut map = BTreeMap::new();
                    for (worker, steps) in per {
                        let mut w_at = at.clone();
                        w_at.push(worker.clone().into());
                        if !workers.contains(worker.as_str()) {
                            self.key_problem(
                                w_at.clone(),
                                format!("unknown worker `{worker}` in faults.{name}"),
                                Some(known("workers", workers)),
                            );
                        }
                        map.insert(WorkerId::new(worker), self.script(name, steps, w_at));
                    }
                    OpScript::PerWorker(map)
                }
            };
            scripts.insert(op, script);
        }
        let mut timed = Vec::new();
        for (i, event) in faults.at.iter().enumerate() {
            let at = path(&[&"faults", &"at", &i]);
            let Some(when) = event.at else {
                self.problem(
                    at,
                    "a timed fault needs `at`",
                    Some("write { at: 120ms, crash: worker-1 }".into()),
                );
                continue;
            };
            if event.partition.is_some() || event.for_.is_some() {
                let mut p = at.clone();
                p.push("partition".into());
                self.key_problem(
                    p,
                    "`partition` events need the turmoil engine, which this version does not have",
                    Some("use `crash` and `restart` on the virtual or tokio engine".into()),
                );
                continue;
            }
            let action = match (&event.crash, &event.restart) {
                (Some(w), None) => (w, TimedAction::Crash(WorkerId::new(w)), "crash"),
                (None, Some(w)) => (w, TimedAction::Restart(WorkerId::new(w)), "restart"),
                _ => {
                    self.problem(
                        at,
                        "a timed fault needs exactly one of `crash` or `restart`",
                        None,
                    );
                    continue;
                }
            };
            if !workers.contains(action.0.as_str()) {
                let mut p = at.clone();
                p.push(action.2.into());
                self.problem(
                    p,
                    format!("unknown worker `{}`", action.0),
                    Some(known("workers", workers)),
                );
            }
            timed.push(TimedFault {
                at: when.0,
                action: action.1,
            });
        }
        (scripts, timed)
    }

    fn stop(&mut self, stop: &StopSection) -> StopRule {
        let defaults = StopRule::default();
        let within = stop.within.map_or(defaults.within, |d| d.0);
        if within.is_zero() {
            self.problem(
                path(&[&"stop", &"within"]),
                "stop.within must be greater than 0",
                None,
            );
        }
        if within > MAX_WITHIN {
            self.problem(
                path(&[&"stop", &"within"]),
                format!(
                    "stop.within is limited to {}",
                    super::duration::format_duration(MAX_WITHIN)
                ),
                None,
            );
        }
        let when = match stop.when {
            None | Some(StopWhenSpec::AllTerminal) => StopWhen::AllTerminal,
            Some(StopWhenSpec::At(at)) => {
                if at.0 > within {
                    self.problem(
                        path(&[&"stop", &"when", &"at"]),
                        format!(
                            "stop.when.at ({at}) is after stop.within ({})",
                            super::duration::format_duration(within)
                        ),
                        Some("raise `within` or stop earlier".into()),
                    );
                }
                StopWhen::At(at.0)
            }
        };
        StopRule { when, within }
    }

    fn target(&mut self, at: Path, key: &str, rollouts: &BTreeSet<&str>) -> Option<Target> {
        if let Some(attempt) = AttemptId::parse(key) {
            if rollouts.contains(attempt.rollout.as_str()) {
                return Some(Target::Attempt(attempt));
            }
            self.key_problem(
                at,
                format!(
                    "`{key}` names an attempt of unknown rollout `{}`",
                    attempt.rollout
                ),
                Some(known("rollouts", rollouts)),
            );
            return None;
        }
        if rollouts.contains(key) {
            return Some(Target::Rollout(RolloutId::new(key)));
        }
        self.key_problem(
            at,
            format!("unknown rollout `{key}`"),
            Some(known("rollouts", rollouts)),
        );
        None
    }

    fn expect(
        &mut self,
        expect: &ExpectSection,
        rollouts: &BTreeSet<&str>,
        workers: &BTreeSet<&str>,
    ) -> Expectations {
        let mut out = Expectations {
            finished_at: expect.finished_at.map(|d| d.0),
            ..Expectations::default()
        };
        for (key, want) in expect.rollouts.iter().flat_map(|m| m.0.iter()) {
            let at = path(&[&"expect", &"rollouts", &key.clone()]);
            let status = want.status.as_deref().and_then(|s| {
                let parsed = RolloutStatus::parse(s);
                if parsed.is_none() {
                    let names: Vec<&str> = RolloutStatus::ALL.iter().map(|s| s.as_str()).collect();
                    self.problem(
                        at.clone(),
                        format!("unknown status `{s}`"),
                        Some(format!("one of {}", names.join(", "))),
                    );
                }
                parsed
            });
            if let Some(w) = &want.worker
                && !workers.contains(w.as_str())
            {
                self.problem(
                    at.clone(),
                    format!("unknown worker `{w}`"),
                    Some(known("workers", workers)),
                );
            }
            let expectation = RolloutExpectation {
                status,
                attempts: want.attempts,
                worker: want.worker.clone(),
                error: want.error.clone(),
            };
            if key == "*" {
                out.other_rollouts = Some(expectation);
            } else if rollouts.contains(key.as_str()) {
                out.rollouts.push((RolloutId::new(key), expectation));
            } else {
                self.key_problem(
                    at,
                    format!("unknown rollout `{key}`"),
                    Some(known("rollouts", rollouts)),
                );
            }
        }
        for (key, rewards) in expect.rewards.iter().flat_map(|m| m.0.iter()) {
            let at = path(&[&"expect", &"rewards", &key.clone()]);
            let Some(target) = self.target(at.clone(), key, rollouts) else {
                continue;
            };
            let mut list = Vec::new();
            for (name, want) in &rewards.0 {
                let value = match *want {
                    RewardExpect::Exact(v) => RewardValue::Exact(v),
                    RewardExpect::Between(a, b) => {
                        if a > b {
                            let mut p = at.clone();
                            p.push(name.clone().into());
                            self.problem(p, format!("`between: [{a}, {b}]` is empty: the low end is above the high end"), None);
                        }
                        RewardValue::Between(a, b)
                    }
                };
                list.push((name.clone(), value));
            }
            out.rewards.push((target, list));
        }
        for (key, names) in expect.absent_rewards.iter().flat_map(|m| m.0.iter()) {
            let at = path(&[&"expect", &"absent_rewards", &key.clone()]);
            if key == "*" {
                out.absent_rewards.push((None, names.clone()));
            } else if let Some(target) = self.target(at, key, rollouts) {
                out.absent_rewards.push((Some(target), names.clone()));
            }
        }
        for (key, names) in expect.spans.iter().flat_map(|m| m.0.iter()) {
            let at = path(&[&"expect", &"spans", &key.clone()]);
            if let Some(target) = self.target(at, key, rollouts) {
                out.spans.push((target, names.clone()));
            }
        }
        out.invariants = match &expect.invariants {
            None | Some(InvariantsSpec::All) => INVARIANTS.to_vec(),
            Some(InvariantsSpec::Only(names)) => {
                let mut selected = Vec::new();
                for (i, name) in names.iter().enumerate() {
                    match INVARIANTS.iter().find(|n| **n == name.as_str()) {
                        Some(n) => selected.push(*n),
                        None => self.problem(
                            path(&[&"expect", &"invariants", &i]),
                            format!("unknown invariant `{name}`"),
                            Some(format!("one of {}", INVARIANTS.join(", "))),
                        ),
                    }
                }
                INVARIANTS
                    .iter()
                    .copied()
                    .filter(|n| selected.contains(n))
                    .collect()
            }
        };
        out
    }
}

fn bad_rollout_id(id: &str) -> Option<String> {
    if id.trim().is_empty() {
        Some("a rollout id is empty".into())
    } else if id == "*" {
        Some("`*` is reserved for \"every rollout\" in expectations".into())
    } else if id.contains(":attempt-") {
        Some(format!(
            "rollout id `{id}` contains `:attempt-`, which is reserved for attempt ids"
        ))
    } else {
        None
    }
}

fn known(what: &str, names: &BTreeSet<&str>) -> String {
    let listed: Vec<&str> = names.iter().copied().take(8).collect();
    let more = if names.len() > 8 {
        format!(" and {} more", names.len() - 8)
    } else {
        String::new()
    };
    format!("known {what}: {}{more}", listed.join(", "))
}
