//! Reading a scenario file: parse, validate, resolve, with located errors.
//!
//! Loading happens in four passes. [`SourceMap::screen`] walks the YAML
//! events once, refusing syntax errors, deep nesting, alias bombs and extra
//! documents before serde sees the text, and records where every key and
//! value is. serde parses the YAML into the [`schema`](super::schema) types,
//! refusing unknown keys and wrong types at their line and column (each
//! top-level section on its own too, so that all of them are reported).
//! Validation then checks what types cannot (unique ids, references to known
//! rollouts and workers, a valid runner config, expectations that can hold)
//! and collects *every* problem, each located through the [`SourceMap`].
//! Finally the file is resolved into a [`SimPlan`] and its [`Expectations`].
//!
//! Input is bounded: a file larger than [`MAX_FILE_BYTES`] (read through
//! [`read_input`]: regular files only, never more than the limit), more than
//! [`MAX_ROLLOUTS`] rollouts, a payload over [`MAX_PAYLOAD_BYTES`], more
//! than [`MAX_TIMED_FAULTS`] timed faults once `every` is expanded, long
//! names and messages are refused (README, "Limits"). Every pass is linear
//! in the file, or bounded: past [`MAX_PROBLEMS`] problems are only
//! counted, and "did you mean" compares a bounded number of candidates.
//!
//! Values that reports cannot show faithfully are refused too: rewards
//! that are not finite numbers, and control or bidirectional formatting
//! characters in ids, names and messages. So are expectations that no run
//! satisfies together (an invariant both held and violated, two values for
//! one reward of one attempt, a status `stop.when` rules out).

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
use crate::sim::faults::{DEFAULT_FAULT_MESSAGE, FaultStep, OpScript, RandomRates};
use crate::sim::invariants::INVARIANTS;
use crate::sim::plan::{
    NetHost, NetworkFaults, NetworkPlan, RolloutPlan, RunLimits, RunStep, SimPlan, StepResult,
    StopRule, StopWhen, TimedAction, TimedFault,
};

use super::diagnostics::{LoadError, Problem};
use super::expect::{Expectations, RewardValue, RolloutExpectation, Target};
use super::files::{FileKind, InputError, read_input};
use super::limits::{MAX_KNOWN_LISTED, MAX_SUGGESTION_CANDIDATES};
use super::schema::*;
use super::source::{Path, SourceMap, at};

pub use super::limits::{
    MAX_FILE_BYTES, MAX_MESSAGE_LEN, MAX_NAME_LEN, MAX_PAYLOAD_BYTES, MAX_PROBLEMS,
    MAX_ROLLOUT_PAYLOAD_BYTES, MAX_ROLLOUTS, MAX_TIMED_FAULTS, MAX_WITHIN, MAX_WORKERS,
};

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
    /// The first thing in the file only the turmoil engine runs, located.
    pub turmoil_only: Option<Problem>,
}

impl Scenario {
    /// The engine this scenario runs on: `auto` is `turmoil` when the
    /// scenario uses a network feature, `virtual` otherwise.
    pub fn engine(&self) -> EngineKind {
        match self.engine {
            EngineChoice::Tokio => EngineKind::Tokio,
            EngineChoice::Virtual => EngineKind::Virtual,
            EngineChoice::Turmoil => EngineKind::Turmoil,
            EngineChoice::Auto if self.turmoil_only.is_some() => EngineKind::Turmoil,
            EngineChoice::Auto => EngineKind::Virtual,
        }
    }

    /// Whether the scenario can run on `engine`: a located error (re-reading
    /// the file for its text) when it uses what only the turmoil engine runs.
    pub fn check_engine(&self, engine: EngineKind) -> Result<(), LoadError> {
        match &self.turmoil_only {
            Some(problem) if engine != EngineKind::Turmoil => {
                let source = read_input(FsPath::new(&self.path), MAX_FILE_BYTES)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .unwrap_or_default();
                let mut problem = problem.clone();
                problem.message = format!("{}, not the {engine} engine", problem.message);
                if source.is_empty() {
                    problem.span = None;
                }
                Err(LoadError::new(&self.path, source, vec![problem]))
            }
            _ => Ok(()),
        }
    }
}

/// Reads and loads a scenario file: a regular file of at most
/// [`MAX_FILE_BYTES`], read through [`read_input`].
pub fn load_file(path: &FsPath) -> Result<Scenario, LoadError> {
    let display = path.display().to_string();
    let bytes = read_input(path, MAX_FILE_BYTES).map_err(|e| input_error(&display, e))?;
    let source = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        // Shown with the bad bytes replaced, so the line can still be found.
        let shown = String::from_utf8_lossy(&bytes).into_owned();
        LoadError::single(
            &display,
            shown,
            Problem {
                message: format!(
                    "the file is not UTF-8: invalid byte 0x{:02x} at offset {at}",
                    bytes[at]
                ),
                span: Some(super::source::ByteSpan {
                    offset: at,
                    len: char::REPLACEMENT_CHARACTER.len_utf8(),
                }),
                help: Some("save the file as UTF-8".into()),
                path: None,
            },
        )
    })?;
    load_str(&display, &source)
}

/// Why a scenario file could not be read, as a load error.
fn input_error(path: &str, error: InputError) -> LoadError {
    let problem = match error {
        InputError::TooLarge { max, size } => Problem::new(match size {
            Some(size) => format!(
                "the file is {size} bytes; scenario files are limited to {max} bytes (use `generate:` for many rollouts)"
            ),
            None => format!(
                "scenario files are limited to {max} bytes, and this one holds more (use `generate:` for many rollouts)"
            ),
        }),
        InputError::NotRegular(kind) => Problem {
            help: Some(match kind {
                FileKind::Folder => {
                    "give a scenario file; `rollout-sim scenario` also takes folders".into()
                }
                _ => "scenarios are read from regular files only: save it to a file first".into(),
            }),
            ..Problem::new(error.to_string())
        },
        InputError::Io(_) => Problem::new(error.to_string()),
    };
    LoadError::single(path, String::new(), problem)
}

/// Loads a scenario from text; `path` is used in messages.
pub fn load_str(path: &str, source: &str) -> Result<Scenario, LoadError> {
    // A byte-order mark (Windows editors write one) is not YAML content:
    // serde_norway takes it for the start of a second document. The text
    // after it is loaded, and problems are placed back in the whole file.
    const BOM: &str = "\u{feff}";
    let Some(text) = source.strip_prefix(BOM) else {
        return load_text(path, source);
    };
    match load_text(path, text) {
        Ok(mut scenario) => {
            scenario.source_hash = xxhash_rust::xxh3::xxh3_64(source.as_bytes());
            if let Some(span) = scenario.turmoil_only.as_mut().and_then(|p| p.span.as_mut()) {
                span.offset += BOM.len();
            }
            Ok(scenario)
        }
        Err(mut error) => {
            for problem in &mut error.problems {
                if let Some(span) = &mut problem.span {
                    span.offset += BOM.len();
                }
            }
            if !error.source.is_empty() {
                error.source = source.to_string();
            }
            Err(error)
        }
    }
}

fn load_text(path: &str, source: &str) -> Result<Scenario, LoadError> {
    if source.len() as u64 > MAX_FILE_BYTES {
        return Err(LoadError::single(
            path,
            String::new(),
            Problem::new(format!(
                "scenario text is limited to {MAX_FILE_BYTES} bytes"
            )),
        ));
    }
    // Screen the YAML first: syntax errors, deep nesting, alias bombs and
    // extra documents are refused here, located, in time linear in the file;
    // serde only sees text that passed.
    let map = match SourceMap::screen(source) {
        Ok(map) => map,
        Err(e) => {
            let problem = Problem::from_screen(e);
            return Err(LoadError::new(path, source.to_string(), vec![problem]));
        }
    };
    let file: ScenarioFile = match serde_yaml::from_str(source) {
        Ok(file) => file,
        Err(e) => {
            let problems = Problem::from_yaml_all(&e, source, &map);
            return Err(LoadError::new(path, source.to_string(), problems));
        }
    };
    let mut v = Validator {
        problems: Vec::new(),
        omitted: 0,
        map: &map,
        within: StopRule::default().within,
        backwards: BTreeMap::new(),
    };
    let scenario = v.resolve(path, source, file);
    if v.problems.is_empty() {
        Ok(scenario)
    } else {
        if v.omitted > 0 {
            v.problems.push(Problem::new(format!(
                "{} more problems not shown (the first {MAX_PROBLEMS} are listed)",
                v.omitted
            )));
        }
        Err(LoadError::new(path, source.to_string(), v.problems))
    }
}

struct Validator<'a> {
    problems: Vec<Problem>,
    /// Problems past [`MAX_PROBLEMS`], counted but not kept.
    omitted: usize,
    map: &'a SourceMap,
    /// `stop.within`, once known: repeating timed faults run until then.
    within: Duration,
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

    /// [`known`], led by the nearest name when `given` looks like a typo
    /// of one; nothing past [`MAX_PROBLEMS`].
    ///
    /// Of many names, only [`MAX_SUGGESTION_CANDIDATES`] are compared:
    /// those next to `given` in name order, which share its start, and
    /// those next to it in the order of the names read backwards, which
    /// share its end (a typo near the start of `rollout-000017`). The
    /// backward order is sorted once per file and kind of id, on the first
    /// need.
    fn known_near(
        &mut self,
        what: &'static str,
        given: &str,
        names: &BTreeSet<&str>,
    ) -> Option<String> {
        use std::ops::Bound;
        if !self.room() {
            return None;
        }
        let near = if names.len() <= MAX_SUGGESTION_CANDIDATES {
            super::diagnostics::nearest(given, names.iter().copied()).map(str::to_string)
        } else {
            let quarter = MAX_SUGGESTION_CANDIDATES / 4;
            let before = names
                .range::<str, _>((Bound::Unbounded, Bound::Excluded(given)))
                .rev()
                .take(quarter);
            let after = names
                .range::<str, _>((Bound::Included(given), Bound::Unbounded))
                .take(quarter);
            let mut candidates: Vec<String> = before.chain(after).map(|n| n.to_string()).collect();
            let backwards = self.backwards.entry(what).or_insert_with(|| {
                let mut all: Vec<String> =
                    names.iter().map(|n| n.chars().rev().collect()).collect();
                all.sort_unstable();
                all
            });
            let reversed: String = given.chars().rev().collect();
            let at = backwards.partition_point(|n| *n < reversed);
            let low = at.saturating_sub(quarter);
            let high = (at + quarter).min(backwards.len());
            candidates.extend(
                backwards[low..high]
                    .iter()
                    .map(|n| n.chars().rev().collect()),
            );
            super::diagnostics::nearest(given, candidates.iter().map(String::as_str))
                .map(str::to_string)
        };
        Some(match near {
            Some(near) => format!("did you mean `{near}`? {}", known(what, names)),
            None => known(what, names),
        })
    }

    fn problem(&mut self, at: Path, message: impl Into<String>, help: Option<String>) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.omitted += 1;
            return;
        }
        let span = self.map.locate(&at);
        self.problems
            .push(Problem::located(at, span, message, help));
    }

    /// Like [`problem`](Self::problem) but points at a mapping key.
    fn key_problem(&mut self, at: Path, message: impl Into<String>, help: Option<String>) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.omitted += 1;
            return;
        }
        let span = self.map.key(&at).or_else(|| self.map.locate(&at));
        self.problems
            .push(Problem::located(at, span, message, help));
    }

    fn resolve(&mut self, path_str: &str, source: &str, file: ScenarioFile) -> Scenario {
        let runner = self.runner(&file.runner);
        let random_faults = self.random_faults(file.faults.random.as_ref());
        let workers = self.workers(&file.workers);
        let rollouts = self.rollouts(&file.rollouts);
        let rollout_ids: BTreeSet<&str> = rollouts.iter().map(|r| r.id.as_str()).collect();
        let worker_ids: BTreeSet<&str> = workers.iter().map(|w| w.as_str()).collect();
        let stop = self.stop(&file.stop);
        self.within = stop.within;
        let (fault_scripts, timed_faults) = self.faults(&file.faults, &worker_ids);
        let expect = self.expect(&file.expect, &rollout_ids, &worker_ids);
        self.cannot_hold(&file, &rollouts, &stop, &expect);
        let network = self.network(&file);
        let turmoil_only = self.turmoil_only(&file);

        let max_attempts = file.runner.max_attempts;
        if max_attempts == Some(0) {
            self.problem(
                at!["runner", "max_attempts"],
                "max_attempts must be at least 1",
                Some("leave it unset for unlimited attempts".into()),
            );
        }
        if file.name.trim().is_empty() {
            self.problem(at!["name"], "the scenario name is empty", None);
        }
        self.text(at!["name"], "the scenario name", &file.name, Text::Title);
        if let Some(description) = &file.description {
            self.text(
                at!["description"],
                "the description",
                description,
                Text::Prose,
            );
        }
        let plan = SimPlan {
            seed: file.seed,
            runner,
            reassignment: match file.queue.reassignment {
                None | Some(ReassignmentSpec::Scan) => ReassignmentPolicy::ScanAllAttempts,
                Some(ReassignmentSpec::Reference) => ReassignmentPolicy::WorkerActiveIds,
            },
            workers,
            rollouts,
            max_attempts,
            fault_scripts,
            timed_faults,
            stop,
            limits: RunLimits::default(),
            perturb_scheduling: false,
            random_faults,
            record_verdicts: false,
            network,
            keep_events: true,
        };
        Scenario {
            path: path_str.to_string(),
            name: file.name,
            description: file.description,
            source_hash: xxhash_rust::xxh3::xxh3_64(source.as_bytes()),
            engine: file.engine,
            plan,
            expect,
            turmoil_only,
        }
    }

    fn random_faults(&mut self, section: Option<&RandomSection>) -> BTreeMap<QueueOp, RandomRates> {
        let mut rates = BTreeMap::new();
        let Some(section) = section else { return rates };
        for (op, name, spec) in [
            (QueueOp::Dequeue, "dequeue", section.dequeue),
            (QueueOp::Heartbeat, "heartbeat", section.heartbeat),
            (QueueOp::Flush, "flush", section.flush),
            (QueueOp::Complete, "complete", section.complete),
        ] {
            let Some(spec) = spec else { continue };
            let fail_rate = spec.fail_rate.unwrap_or(0.0);
            let empty_rate = spec.empty_rate.unwrap_or(0.0);
            for (key, value) in [("fail_rate", fail_rate), ("empty_rate", empty_rate)] {
                if !(0.0..=1.0).contains(&value) {
                    self.problem(
                        at!["faults", "random", name, key],
                        format!("{key} must be between 0 and 1, not {value}"),
                        Some("a probability such as 0.1 for 10%".into()),
                    );
                }
            }
            if spec.empty_rate.is_some() && op != QueueOp::Dequeue {
                self.key_problem(
                    at!["faults", "random", name, "empty_rate"],
                    format!("`empty_rate` is for dequeue, not {name}"),
                    Some("use `fail_rate`".into()),
                );
            }
            if fail_rate + empty_rate > 1.0 && fail_rate <= 1.0 && empty_rate <= 1.0 {
                self.problem(
                    at!["faults", "random", name],
                    format!(
                        "fail_rate + empty_rate is {}, more than 1",
                        fail_rate + empty_rate
                    ),
                    None,
                );
            }
            rates.insert(
                op,
                RandomRates {
                    fail_rate,
                    empty_rate,
                },
            );
        }
        rates
    }

    /// The turmoil engine's settings, `faults.network` and the worker
    /// hosts' `runner.request_timeout`, and the supervisor's
    /// `runner.restart_after` (every engine).
    fn network(&mut self, file: &ScenarioFile) -> NetworkPlan {
        let defaults = NetworkPlan::default();
        let request_timeout = file
            .runner
            .request_timeout
            .map_or(defaults.request_timeout, |d| d.0);
        if request_timeout.is_zero() {
            self.problem(
                at!["runner", "request_timeout"],
                "request_timeout must be greater than 0",
                None,
            );
        }
        let faults = file.faults.network.as_ref().map(|n| {
            let (min, max) = n
                .latency
                .map_or((Duration::ZERO, Duration::ZERO), |l| (l.min.0, l.max.0));
            if max < min {
                self.problem(
                    at!["faults", "network", "latency", "max"],
                    format!(
                        "latency max ({}) is below min ({})",
                        super::duration::format_duration(max),
                        super::duration::format_duration(min)
                    ),
                    Some("write { min: 1ms, max: 5ms }; min = max for a fixed latency".into()),
                );
            }
            let loss_rate = n.loss_rate.unwrap_or(0.0);
            if !(0.0..=1.0).contains(&loss_rate) {
                self.problem(
                    at!["faults", "network", "loss_rate"],
                    format!("loss_rate must be between 0 and 1, not {loss_rate}"),
                    Some("a probability per message, such as 0.05 for 5%".into()),
                );
            }
            NetworkFaults {
                latency_min: min,
                latency_max: max.max(min),
                loss_rate: loss_rate.clamp(0.0, 1.0),
            }
        });
        NetworkPlan {
            faults,
            request_timeout,
            restart_after: file.runner.restart_after.map(|d| d.0),
        }
    }

    /// The first thing in the file that only the turmoil engine runs, as a
    /// located problem to report if another engine is asked for. Reports it
    /// at once when the file itself asks for `virtual` or `tokio`.
    fn turmoil_only(&mut self, file: &ScenarioFile) -> Option<Problem> {
        let at_event = file.faults.at.iter().enumerate().find_map(|(i, e)| {
            [
                ("partition", e.partition.is_some()),
                ("repair", e.repair.is_some()),
                ("hold", e.hold.is_some()),
                ("release", e.release.is_some()),
                ("bounce", e.bounce.is_some()),
                ("latency", e.latency.is_some()),
            ]
            .into_iter()
            .find(|(_, given)| *given)
            .map(|(key, _)| (at!["faults", "at", i, key], format!("`{key}` events")))
        });
        let (at, what) = at_event.or_else(|| {
            file.faults
                .network
                .as_ref()
                .map(|_| (at!["faults", "network"], "`faults.network`".to_string()))
        })?;
        let span = self.map.key(&at).or_else(|| self.map.locate(&at));
        let problem = Problem {
            message: format!("{what}: only the turmoil engine runs this"),
            span,
            help: Some(
                "write `engine: turmoil`, or leave `engine` out: `auto` picks turmoil for network faults"
                    .into(),
            ),
            path: Some(at),
        };
        if let EngineChoice::Virtual | EngineChoice::Tokio = file.engine {
            let name = if file.engine == EngineChoice::Virtual {
                "virtual"
            } else {
                "tokio"
            };
            self.problems.push(Problem {
                message: format!(
                    "{what}: only the turmoil engine runs this, but the scenario asks for `engine: {name}`"
                ),
                ..problem.clone()
            });
        }
        Some(problem)
    }

    fn runner(&mut self, section: &RunnerSection) -> RunnerConfig {
        let defaults = RunnerConfig::default();
        let get = |d: Option<super::duration::Dur>, default: Duration| d.map_or(default, |d| d.0);
        let backoff = section.backoff.clone().unwrap_or_default();
        let jitter = match backoff.jitter.unwrap_or(Jitter::None) {
            Jitter::None => crate::core::runner::backoff::Jitter::None,
            Jitter::Full => crate::core::runner::backoff::Jitter::Full,
            Jitter::Equal => crate::core::runner::backoff::Jitter::Equal,
            Jitter::Decorrelated => crate::core::runner::backoff::Jitter::Decorrelated,
        };
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
                jitter,
            },
            retry_metrics: section.retry_metrics.unwrap_or(defaults.retry_metrics),
            // Per worker, derived from the scenario seed by the simulator.
            jitter_seed: 0,
        };
        // `validate` stops at the first broken rule; report every one by
        // repairing each in a copy and validating again.
        let mut probe = config.clone();
        while let Err(e) = probe.validate() {
            use crate::core::runner::ConfigError as E;
            let one_ms = Duration::from_millis(1);
            let (at, help) = match &e {
                E::BackoffInitialZero => {
                    probe.backoff.initial = one_ms.max(probe.backoff.max);
                    (
                        at!["runner", "backoff", "initial"],
                        "the first retry delay, such as 25ms",
                    )
                }
                E::BackoffMaxZero | E::BackoffMaxBelowInitial { .. } => {
                    probe.backoff.max = probe.backoff.initial.max(one_ms);
                    (
                        at!["runner", "backoff", "max"],
                        "the cap on the delay: at least `initial`, such as 500ms",
                    )
                }
                E::ZeroInterval { name } => {
                    match *name {
                        "poll_interval" => probe.poll_interval = one_ms,
                        "heartbeat_interval" => probe.heartbeat_interval = one_ms,
                        "reassignment_interval" => probe.reassignment_interval = one_ms,
                        _ => probe.worker_timeout = one_ms,
                    }
                    (
                        at!["runner", name.to_string()],
                        "a timer fires every interval: 1ms or more",
                    )
                }
            };
            self.problem(at, e.to_string(), Some(help.into()));
            if self.problems.len() >= MAX_PROBLEMS {
                break;
            }
        }
        config
    }

    fn workers(&mut self, spec: &WorkersSpec) -> Vec<WorkerId> {
        let at = at!["workers"];
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
                    self.text(at!["workers", i], "a worker id", id, Text::Name);
                    if id.trim().is_empty() {
                        self.problem(at!["workers", i], "a worker id is empty", None);
                    } else if !seen.insert(id.as_str()) {
                        self.problem(
                            at!["workers", i],
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
        self.check_texts(&at, spec);
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
        if let (Some(run), Some(list)) = (run, attempts)
            && !list.is_empty()
        {
            // `run` is only the base of each attempt here; check it once.
            self.check_texts(&run_at, run);
        }
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
        // The entry each plan came from, for duplicate ids (found after the
        // loop by sorting, so a million generated ids cost no map).
        let mut entry_of: Vec<u32> = Vec::new();
        let mut total: u64 = 0;
        // Every rollout holds its own copy of its input, outputs and rewards.
        let mut payload: u64 = 0;
        if entries.is_empty() {
            self.problem(
                at!["rollouts"],
                "no rollouts: a scenario needs at least one",
                None,
            );
        }
        for (i, entry) in entries.iter().enumerate() {
            let at = at!["rollouts", i];
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
                    self.text(id_at.clone(), "a rollout id", id, Text::Name);
                    let attempts = self.attempts(&at, entry.run.as_ref(), entry.attempts.as_ref());
                    entry_of.push(i as u32);
                    let one = payload_bytes(entry.input.as_ref(), &attempts);
                    if one > MAX_ROLLOUT_PAYLOAD_BYTES {
                        self.rollout_payload_problem(at.clone(), one);
                    }
                    payload = payload.saturating_add(one);
                    if payload > MAX_PAYLOAD_BYTES {
                        self.payload_problem(at.clone(), payload);
                        return plans;
                    }
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
                    let mut prefix_at = g_at.clone();
                    prefix_at.push("prefix".into());
                    self.text(
                        prefix_at,
                        "a rollout id prefix",
                        &generate.prefix,
                        Text::Name,
                    );
                    let width = generate.count.to_string().len();
                    let every = generate.every.map_or(Duration::ZERO, |d| d.0);
                    let start = generate.start.map_or(Duration::ZERO, |d| d.0);
                    let input = generate.input.clone().unwrap_or(Value::Null);
                    let one = payload_bytes(Some(&input), &attempts);
                    if one > MAX_ROLLOUT_PAYLOAD_BYTES {
                        self.rollout_payload_problem(g_at.clone(), one);
                    }
                    payload = payload.saturating_add(one.saturating_mul(u64::from(generate.count)));
                    if payload > MAX_PAYLOAD_BYTES {
                        self.payload_problem(g_at.clone(), payload);
                        return plans;
                    }
                    for n in 1..=generate.count {
                        let id = format!("{}{:0width$}", generate.prefix, n);
                        entry_of.push(i as u32);
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
        self.duplicate_ids(entries, &plans, &entry_of);
        plans
    }

    /// Names and messages are copied into every span and event that
    /// mentions them, and shown in every report: refuses long ones and
    /// control characters. Rewards are written to JSON and SQLite, which
    /// hold no NaN or infinity: refuses those.
    fn check_texts(&mut self, at: &Path, spec: &RunSpec) {
        if let Some(text) = &spec.error {
            let mut e = at.clone();
            e.push("error".into());
            self.text(e, "an error message", text, Text::Message);
        }
        for (name, value) in spec.rewards.iter().flat_map(|r| r.0.iter()) {
            let mut r = at.clone();
            r.push("rewards".into());
            r.push(name.clone().into());
            self.text(r.clone(), "a reward name", name, Text::Key);
            if let Some(shown) = non_finite(*value) {
                self.problem(
                    r,
                    format!("a reward must be a finite number, not {shown}"),
                    Some("rewards are written to JSON and SQLite, which hold no NaN or infinity: emit a finite number".into()),
                );
            }
        }
    }

    /// [`text`](Self::text) for each name of the list at `at`.
    fn names(&mut self, at: &Path, what: &str, names: &[String]) {
        for (i, name) in names.iter().enumerate() {
            let mut name_at = at.clone();
            name_at.push(i.into());
            self.text(name_at, what, name, Text::Name);
        }
    }

    /// Refuses `text` longer than its kind allows, or holding a control
    /// character.
    fn text(&mut self, at: Path, what: &str, text: &str, kind: Text) {
        if let Some(max) = kind.max_len()
            && text.len() > max
        {
            let message = format!(
                "{what} of {} bytes is longer than the limit of {max}",
                text.len()
            );
            let help = Some(
                "it is copied into every span and trace event that mentions it: shorten it".into(),
            );
            if kind == Text::Key {
                self.key_problem(at.clone(), message, help);
            } else {
                self.problem(at.clone(), message, help);
            }
        }
        if let Some(c) = text.chars().find(|c| kind.refuses(*c)) {
            let what_char = if c.is_control() {
                "the control character"
            } else {
                "the bidirectional formatting character"
            };
            let message = format!("{what} contains {what_char} `{}`", c.escape_unicode());
            let help = Some(
                "names and messages are shown in terminals and written into SVG, HTML and JUnit reports, where such characters break or disguise the text: remove it".into(),
            );
            if kind == Text::Key {
                self.key_problem(at, message, help);
            } else {
                self.problem(at, message, help);
            }
        }
    }

    fn rollout_payload_problem(&mut self, at: Path, bytes: u64) {
        self.problem(
            at,
            format!(
                "this rollout's input and scripted attempts (their outputs, rewards and errors) would take about {} KiB; the limit is {} KiB a rollout",
                bytes >> 10,
                MAX_ROLLOUT_PAYLOAD_BYTES >> 10
            ),
            Some("every attempt copies them, and a run may make millions of attempts: keep them small".into()),
        );
    }

    fn payload_problem(&mut self, at: Path, bytes: u64) {
        self.problem(
            at,
            format!(
                "the rollouts' inputs and scripted attempts (their outputs, rewards and errors) would take about {} MiB; the limit is {} MiB",
                bytes >> 20,
                MAX_PAYLOAD_BYTES >> 20
            ),
            Some("each generated rollout holds its own copy of `input`, `run` and `attempts`: make them smaller, or generate fewer".into()),
        );
    }

    /// Every rollout id used twice: the second and later uses are reported,
    /// once per `generate` entry.
    fn duplicate_ids(&mut self, entries: &[RolloutEntry], plans: &[RolloutPlan], entry_of: &[u32]) {
        let mut order: Vec<u32> = (0..plans.len() as u32).collect();
        // Stable: equal ids stay in file order, so the first is the original.
        order.sort_by(|a, b| plans[*a as usize].id.cmp(&plans[*b as usize].id));
        let mut reported: BTreeSet<u32> = BTreeSet::new();
        for pair in order.windows(2) {
            let (first, again) = (pair[0] as usize, pair[1] as usize);
            if plans[first].id != plans[again].id {
                continue;
            }
            let entry = entry_of[again];
            let id = plans[again].id.as_str();
            if entries[entry as usize].generate.is_some() {
                if reported.insert(entry) {
                    self.problem(
                        at!["rollouts", entry as usize, "generate"],
                        format!("generated id `{id}` duplicates another rollout id"),
                        Some("choose another `prefix`".into()),
                    );
                }
            } else {
                self.problem(
                    at!["rollouts", entry as usize, "id"],
                    format!("duplicate rollout id `{id}`"),
                    Some("rollout ids must be unique".into()),
                );
            }
        }
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
                if let Some(message) = &fail.message {
                    let mut m = s_at.clone();
                    m.push("fail".into());
                    m.push("message".into());
                    self.text(m, "a fault message", message, Text::Message);
                }
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
            let at = at!["faults", name];
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
                                self.room().then(|| known("workers", workers)),
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
        // Counted before each entry is expanded: past the cap, entries are
        // still checked but nothing more is allocated.
        let mut scheduled: u64 = 0;
        let mut over = false;
        for (i, event) in faults.at.iter().enumerate() {
            let at = at!["faults", "at", i];
            let Some(when) = event.at else {
                self.problem(
                    at,
                    "a timed fault needs `at`",
                    Some("write { at: 120ms, crash: worker-1 }".into()),
                );
                continue;
            };
            let Some(actions) = self.timed_actions(&at, event, workers) else {
                continue;
            };
            let every_at = at!["faults", "at", i, "every"];
            let (every, repeats) = self.repeats(&every_at, when.0, event.every);
            if over {
                continue;
            }
            scheduled = scheduled.saturating_add(repeats.saturating_mul(actions.len() as u64));
            if scheduled > MAX_TIMED_FAULTS {
                over = true;
                timed = Vec::new();
                self.too_many_timed_faults(at, event.every.is_some(), repeats, scheduled);
                continue;
            }
            for k in 0..repeats {
                let first = when.0.saturating_add(every.saturating_mul(k as u32));
                for (offset, action) in &actions {
                    timed.push(TimedFault {
                        at: first.saturating_add(*offset),
                        action: action.clone(),
                    });
                }
            }
        }
        (scripts, timed)
    }

    fn too_many_timed_faults(&mut self, at: Path, every: bool, repeats: u64, scheduled: u64) {
        let (at, message, help) = if every {
            let mut every_at = at;
            every_at.push("every".into());
            (
                every_at,
                format!(
                    "repeating until stop.within gives {repeats} events here and {scheduled} timed faults in all; the limit is {MAX_TIMED_FAULTS}, over every `faults.at` entry"
                ),
                "repeat less often, shorten `stop.within`, or use fewer entries",
            )
        } else {
            (
                at,
                format!(
                    "`faults.at` schedules more than {MAX_TIMED_FAULTS} timed faults (counting each repeat of `every` and the end of each `for`); the limit is {MAX_TIMED_FAULTS}"
                ),
                "use fewer entries, or repeat less often",
            )
        };
        self.problem(at, message, Some(help.into()));
    }

    /// What one `faults.at` entry does, as actions at offsets from its `at`
    /// (a `partition` or `hold` with `for` ends by itself); `None` when it is
    /// invalid.
    fn timed_actions(
        &mut self,
        at: &Path,
        event: &AtEvent,
        workers: &BTreeSet<&str>,
    ) -> Option<Vec<(Duration, TimedAction)>> {
        let sub = |key: &str| {
            let mut p = at.clone();
            p.push(key.to_string().into());
            p
        };
        let given: Vec<&str> = [
            ("crash", event.crash.is_some()),
            ("restart", event.restart.is_some()),
            ("partition", event.partition.is_some()),
            ("repair", event.repair.is_some()),
            ("hold", event.hold.is_some()),
            ("release", event.release.is_some()),
            ("bounce", event.bounce.is_some()),
            ("latency", event.latency.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, given)| given.then_some(k))
        .collect();
        let [key] = given[..] else {
            self.problem(
                at.clone(),
                "a timed fault needs exactly one of `crash`, `restart`, `partition`, `repair`, `hold`, `release`, `bounce` or `latency`",
                Some("write { at: 120ms, crash: worker-1 } or { at: 50ms, partition: [worker-1, queue], for: 200ms }".into()),
            );
            return None;
        };
        if let Some(d) = event.for_ {
            if !matches!(key, "partition" | "hold" | "latency") {
                self.key_problem(
                    sub("for"),
                    format!("`for` goes with `partition`, `hold` or `latency`, not `{key}`"),
                    Some("remove `for`, or schedule the next event at its own time".into()),
                );
            } else if d.0.is_zero() {
                self.problem(sub("for"), "`for` must be greater than 0", None);
            }
        }
        let worker = |v: &mut Self, name: &str, key: &str| -> WorkerId {
            if !workers.contains(name) {
                let help = if name == "queue" {
                    "the queue host can only be bounced: write { bounce: queue }".to_string()
                } else {
                    known("workers", workers)
                };
                v.problem(sub(key), format!("unknown worker `{name}`"), Some(help));
            }
            WorkerId::new(name)
        };
        let host = |v: &mut Self, name: &str, at: Path| -> NetHost {
            if name == "queue" {
                if workers.contains("queue") {
                    v.problem(
                        at,
                        "`queue` names both the queue host and a worker",
                        Some("rename the worker".into()),
                    );
                }
                NetHost::Queue
            } else {
                if !workers.contains(name) {
                    v.problem(
                        at,
                        format!("unknown host `{name}`"),
                        Some(format!(
                            "`queue` or a worker; {}",
                            known("workers", workers)
                        )),
                    );
                }
                NetHost::Worker(WorkerId::new(name))
            }
        };
        let pair = |v: &mut Self, hosts: &[String]| -> Option<(NetHost, NetHost)> {
            let [a, b] = hosts else {
                v.problem(
                    sub(key),
                    format!("`{key}` takes two hosts, not {}", hosts.len()),
                    Some(format!("write {key}: [worker-1, queue]")),
                );
                return None;
            };
            let at_a = {
                let mut p = sub(key);
                p.push(0.into());
                p
            };
            let at_b = {
                let mut p = sub(key);
                p.push(1.into());
                p
            };
            let (a, b) = (host(v, a, at_a), host(v, b, at_b.clone()));
            if a == b {
                v.problem(at_b, format!("`{key}` needs two different hosts"), None);
                return None;
            }
            Some((a, b))
        };
        let lasting = |start: TimedAction, end: TimedAction| {
            let mut actions = vec![(Duration::ZERO, start)];
            if let Some(d) = event.for_ {
                actions.push((d.0, end));
            }
            actions
        };
        let actions = match key {
            "crash" => vec![(
                Duration::ZERO,
                TimedAction::Crash(worker(self, event.crash.as_deref()?, "crash")),
            )],
            "restart" => vec![(
                Duration::ZERO,
                TimedAction::Restart(worker(self, event.restart.as_deref()?, "restart")),
            )],
            "bounce" => vec![(
                Duration::ZERO,
                TimedAction::Bounce(host(self, event.bounce.as_deref()?, sub("bounce"))),
            )],
            "partition" => {
                let (a, b) = pair(self, event.partition.as_deref()?)?;
                lasting(
                    TimedAction::Partition(a.clone(), b.clone()),
                    TimedAction::Repair(a, b),
                )
            }
            "hold" => {
                let (a, b) = pair(self, event.hold.as_deref()?)?;
                lasting(
                    TimedAction::Hold(a.clone(), b.clone()),
                    TimedAction::Release(a, b),
                )
            }
            "latency" => lasting(
                TimedAction::Latency(event.latency.map(|d| d.0)),
                TimedAction::Latency(None),
            ),
            "repair" => {
                let (a, b) = pair(self, event.repair.as_deref()?)?;
                vec![(Duration::ZERO, TimedAction::Repair(a, b))]
            }
            _ => {
                let (a, b) = pair(self, event.release.as_deref()?)?;
                vec![(Duration::ZERO, TimedAction::Release(a, b))]
            }
        };
        Some(actions)
    }

    /// How often a timed fault at `first` repeats `every` until
    /// `stop.within` (1 without `every`), and the interval: arithmetic
    /// only, nothing is expanded here.
    fn repeats(
        &mut self,
        at: &Path,
        first: Duration,
        every: Option<super::duration::Dur>,
    ) -> (Duration, u64) {
        let Some(every) = every.map(|d| d.0) else {
            return (Duration::ZERO, 1);
        };
        if every.is_zero() {
            self.problem(at.clone(), "`every` must be greater than 0", None);
            return (Duration::ZERO, 1);
        }
        let count = self.within.saturating_sub(first).as_nanos() / every.as_nanos() + 1;
        (every, u64::try_from(count).unwrap_or(u64::MAX))
    }

    fn stop(&mut self, stop: &StopSection) -> StopRule {
        let defaults = StopRule::default();
        let within = stop.within.map_or(defaults.within, |d| d.0);
        if within.is_zero() {
            self.problem(
                at!["stop", "within"],
                "stop.within must be greater than 0",
                None,
            );
        }
        if within > MAX_WITHIN {
            self.problem(
                at!["stop", "within"],
                format!(
                    "stop.within ({}) is longer than the limit of {} days",
                    super::duration::format_duration(within),
                    MAX_WITHIN.as_secs() / 86_400
                ),
                Some("write 7d or less".into()),
            );
        }
        let when = match stop.when {
            None | Some(StopWhenSpec::AllTerminal) => StopWhen::AllTerminal,
            Some(StopWhenSpec::At(at)) => {
                if at.0.is_zero() {
                    self.problem(
                        at!["stop", "when", "at"],
                        "stop.when.at must be greater than 0: the run would end before it starts",
                        Some("give the run some time, such as { at: 2s }".into()),
                    );
                }
                if at.0 > within {
                    self.problem(
                        at!["stop", "when", "at"],
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
        if let Some((rollout, number)) = key.rsplit_once(":attempt-")
            && AttemptId::parse(key).is_none()
        {
            self.key_problem(
                at,
                format!("`{key}` is not an attempt id: attempt numbers are whole numbers from 1"),
                Some(format!(
                    "write `{rollout}:attempt-1` for the first attempt (`{number}` given)"
                )),
            );
            return None;
        }
        if let Some(attempt) = AttemptId::parse(key) {
            if rollouts.contains(attempt.rollout.as_str()) {
                return Some(Target::Attempt(attempt));
            }
            let help = self.known_near("rollouts", attempt.rollout.as_str(), rollouts);
            self.key_problem(
                at,
                format!(
                    "`{key}` names an attempt of unknown rollout `{}`",
                    attempt.rollout
                ),
                help,
            );
            return None;
        }
        if rollouts.contains(key) {
            return Some(Target::Rollout(RolloutId::new(key)));
        }
        let help = self.known_near("rollouts", key, rollouts);
        self.key_problem(at, format!("unknown rollout `{key}`"), help);
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
            let at = at!["expect", "rollouts", key];
            let status = want.status.as_deref().and_then(|s| {
                let parsed = RolloutStatus::parse(s);
                if parsed.is_none() {
                    let names: Vec<&str> = RolloutStatus::ALL.iter().map(|s| s.as_str()).collect();
                    let mut status_at = at.clone();
                    status_at.push("status".into());
                    let near = super::diagnostics::nearest(s, names.iter().copied())
                        .map(|n| format!("did you mean `{n}`? "))
                        .unwrap_or_default();
                    self.problem(
                        status_at,
                        format!("unknown status `{s}`"),
                        Some(format!("{near}one of {}", names.join(", "))),
                    );
                }
                parsed
            });
            if let Some(w) = &want.worker
                && !workers.contains(w.as_str())
            {
                let mut worker_at = at.clone();
                worker_at.push("worker".into());
                let help = self.known_near("workers", w, workers);
                self.problem(worker_at, format!("unknown worker `{w}`"), help);
            }
            if let Some(error) = &want.error {
                let mut error_at = at.clone();
                error_at.push("error".into());
                self.text(error_at, "an expected error message", error, Text::Message);
            }
            let expectation = RolloutExpectation {
                status,
                attempts: want.attempts,
                worker: want.worker.as_deref().map(Into::into),
                error: want.error.as_deref().map(Into::into),
            };
            if key == "*" {
                out.other_rollouts = Some(expectation);
            } else if rollouts.contains(key.as_str()) {
                out.rollouts.push((RolloutId::new(key), expectation));
            } else {
                let help = self.known_near("rollouts", key, rollouts);
                self.key_problem(at, format!("unknown rollout `{key}`"), help);
            }
        }
        for (key, rewards) in expect.rewards.iter().flat_map(|m| m.0.iter()) {
            let at = at!["expect", "rewards", key];
            let Some(target) = self.target(at.clone(), key, rollouts) else {
                continue;
            };
            let mut list = Vec::new();
            for (name, want) in &rewards.0 {
                let mut name_at = at.clone();
                name_at.push(name.clone().into());
                self.text(name_at, "a reward name", name, Text::Key);
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
                list.push((name.as_str().into(), value));
            }
            out.rewards.push((target, list));
        }
        for (key, names) in expect.absent_rewards.iter().flat_map(|m| m.0.iter()) {
            let at = at!["expect", "absent_rewards", key];
            self.names(&at, "a reward name", names);
            if key == "*" {
                out.absent_rewards
                    .push((None, names.iter().map(|n| n.as_str().into()).collect()));
            } else if let Some(target) = self.target(at, key, rollouts) {
                out.absent_rewards.push((
                    Some(target),
                    names.iter().map(|n| n.as_str().into()).collect(),
                ));
            }
        }
        for (key, names) in expect.spans.iter().flat_map(|m| m.0.iter()) {
            let at = at!["expect", "spans", key];
            self.names(&at, "a span name", names);
            if let Some(target) = self.target(at, key, rollouts) {
                out.spans.push((target, names.as_slice().into()));
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
                            at!["expect", "invariants", i],
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
        for (i, name) in expect.violated.iter().flatten().enumerate() {
            match INVARIANTS.iter().find(|n| **n == name.as_str()) {
                Some(n) => {
                    out.violated.push(*n);
                    out.invariants.retain(|x| x != n);
                }
                None => self.problem(
                    at!["expect", "violated", i],
                    format!("unknown invariant `{name}`"),
                    Some(format!("one of {}", INVARIANTS.join(", "))),
                ),
            }
        }
        out
    }
}

/// Expectations and settings that no run can satisfy, decided from the file
/// alone (the rest is left to the run).
impl Validator<'_> {
    fn cannot_hold(
        &mut self,
        file: &ScenarioFile,
        rollouts: &[RolloutPlan],
        stop: &StopRule,
        expect: &Expectations,
    ) {
        use super::duration::format_duration as fmt;
        let within = stop.within;
        // The last moment anything can happen.
        let horizon = match stop.when {
            StopWhen::At(at) => at.min(within),
            StopWhen::AllTerminal => within,
        };
        let rule = match stop.when {
            StopWhen::At(at) if at < within => format!("stop.when.at ({})", fmt(at)),
            _ => format!("stop.within ({})", fmt(within)),
        };
        if within.is_zero() {
            // Already reported; every time would be "too late".
            return;
        }
        for (i, event) in file.faults.at.iter().enumerate() {
            if let Some(at) = event.at
                && at.0 > horizon
            {
                self.problem(
                    at!["faults", "at", i, "at"],
                    format!("this fault at {at} never happens: the run ends by {rule}"),
                    Some("move it earlier, or remove it".into()),
                );
            }
        }
        if stop.when == StopWhen::AllTerminal {
            for (i, entry) in file.rollouts.iter().enumerate() {
                let (at, when) = match (&entry.generate, entry.enqueue_at) {
                    (None, Some(when)) => (at!["rollouts", i, "enqueue_at"], when.0),
                    (Some(g), _) if g.count > 0 => {
                        let start = g.start.map_or(Duration::ZERO, |d| d.0);
                        let every = g.every.map_or(Duration::ZERO, |d| d.0);
                        let last = start.saturating_add(every.saturating_mul(g.count - 1));
                        (at!["rollouts", i, "generate"], last)
                    }
                    _ => continue,
                };
                if when > within {
                    self.problem(
                        at,
                        format!(
                            "a rollout enqueued at {} can never finish: the run stops at stop.within ({})",
                            fmt(when),
                            fmt(within)
                        ),
                        Some("enqueue it earlier, or raise `stop.within`".into()),
                    );
                }
            }
        }
        if let Some(finished) = file.expect.finished_at {
            let at = at!["expect", "finished_at"];
            match stop.when {
                StopWhen::At(stop_at) if finished.0 != stop_at => self.problem(
                    at,
                    format!(
                        "finished_at ({finished}) can never hold: a run with `stop.when: {{ at: {} }}` ends at {}",
                        fmt(stop_at),
                        fmt(stop_at)
                    ),
                    Some(format!("write `finished_at: {}`, or remove it", fmt(stop_at))),
                ),
                StopWhen::AllTerminal if finished.0 > within => self.problem(
                    at,
                    format!(
                        "finished_at ({finished}) can never hold: the run stops at stop.within ({}) at the latest",
                        fmt(within)
                    ),
                    Some("raise `stop.within`, or expect an earlier time".into()),
                ),
                StopWhen::AllTerminal => {
                    // The stop condition needs every rollout, the last one
                    // enqueued included.
                    let last = rollouts.iter().max_by_key(|r| r.enqueue_at);
                    if let Some(last) = last
                        && finished.0 < last.enqueue_at
                    {
                        self.problem(
                            at,
                            format!(
                                "finished_at ({finished}) can never hold: `{}` is enqueued at {}, and the run finishes only when every rollout has ended",
                                last.id,
                                fmt(last.enqueue_at)
                            ),
                            Some("expect a later time, or enqueue the rollouts earlier".into()),
                        );
                    }
                }
                _ => {}
            }
        }
        if let StopWhen::At(stop_at) = stop.when {
            if let Some(InvariantsSpec::Only(names)) = &file.expect.invariants
                && let Some(i) = names.iter().position(|n| n == "all-terminal")
            {
                self.problem(
                    at!["expect", "invariants", i],
                    format!(
                        "`all-terminal` is checked only with `stop.when: all_terminal`; this scenario stops at {}, so it would hold without checking anything",
                        fmt(stop_at)
                    ),
                    Some("remove it, or stop with `when: all_terminal` and expect statuses under `expect.rollouts`".into()),
                );
            }
            // A rollout cannot end before it is enqueued and, unless a
            // limit on attempts can fail it early (its worker crashes and
            // the attempt times out), before its first attempt has run.
            let counts_run = file.runner.max_attempts.is_none();
            let earliest = |r: &RolloutPlan| {
                if counts_run {
                    r.enqueue_at.saturating_add(r.step(1).duration)
                } else {
                    r.enqueue_at
                }
            };
            let why = |r: &RolloutPlan| {
                if counts_run {
                    format!(
                        "is enqueued at {} and its first attempt runs {}",
                        fmt(r.enqueue_at),
                        fmt(r.step(1).duration)
                    )
                } else {
                    format!("is enqueued at {}", fmt(r.enqueue_at))
                }
            };
            let named: BTreeSet<&str> = expect.rollouts.iter().map(|(id, _)| id.as_str()).collect();
            let late = |want: &RolloutExpectation, r: &RolloutPlan| {
                want.status.is_some_and(|s| s.is_terminal()) && earliest(r) > stop_at
            };
            // A rollout enqueued after the run stops is never in the queue:
            // it has no status, attempt, worker or error to expect.
            let never_enqueued = |want: &RolloutExpectation, r: &RolloutPlan| {
                r.enqueue_at > stop_at
                    && (want.status.is_some()
                        || want.attempts.is_some_and(|n| n > 0)
                        || want.worker.is_some()
                        || want.error.is_some())
            };
            // One pass over the rollouts for the named ones, not a search
            // per name: a million rollouts and many names stay linear.
            let plans: BTreeMap<&str, &RolloutPlan> = if named.is_empty() {
                BTreeMap::new()
            } else {
                rollouts
                    .iter()
                    .filter(|r| named.contains(r.id.as_str()))
                    .map(|r| (r.id.as_str(), r))
                    .collect()
            };
            for (id, want) in &expect.rollouts {
                let Some(r) = plans.get(id.as_str()).copied() else {
                    continue;
                };
                let at = at!["expect", "rollouts", id.to_string()];
                if never_enqueued(want, r) {
                    self.problem(
                        at,
                        format!(
                            "`{id}` is enqueued at {}, after the run stops at stop.when.at ({}): it is never in the queue, so nothing expected of it can hold",
                            fmt(r.enqueue_at),
                            fmt(stop_at)
                        ),
                        Some("enqueue it earlier, stop later, or remove this expectation".into()),
                    );
                } else if late(want, r) {
                    self.problem(
                        at,
                        format!(
                            "`{id}` cannot be {} by stop.when.at ({}): it {}",
                            want.status.map_or("", |s| s.as_str()),
                            fmt(stop_at),
                            why(r)
                        ),
                        Some(
                            "stop later, or expect the status it has then (such as running)".into(),
                        ),
                    );
                }
            }
            if let Some(want) = &expect.other_rollouts {
                let mut late_ones = rollouts.iter().filter(|r| {
                    !named.contains(r.id.as_str()) && (late(want, r) || never_enqueued(want, r))
                });
                if let Some(first) = late_ones.next() {
                    let more = late_ones.count();
                    let (what, because) = if never_enqueued(want, first) {
                        (
                            "*".to_string(),
                            format!(
                                "is enqueued at {}, after the run stops, and is never in the queue",
                                fmt(first.enqueue_at)
                            ),
                        )
                    } else {
                        (
                            format!("*: {}", want.status.map_or("", |s| s.as_str())),
                            why(first),
                        )
                    };
                    self.problem(
                        at!["expect", "rollouts", "*"],
                        format!(
                            "`{what}` cannot hold by stop.when.at ({}): `{}` {because}{}",
                            fmt(stop_at),
                            first.id,
                            if more > 0 {
                                format!(" ({more} more like it)")
                            } else {
                                String::new()
                            }
                        ),
                        Some("stop later, or name the rollouts that finish in time".into()),
                    );
                }
            }
        }
        if stop.when == StopWhen::AllTerminal {
            self.not_terminal_under_all_terminal(expect);
        }
        self.contradictions(file, expect);
        // Attempts beyond `max_attempts` never exist.
        if let Some(max) = file.runner.max_attempts.filter(|m| *m > 0) {
            let sections = [
                (
                    "rewards",
                    file.expect
                        .rewards
                        .as_ref()
                        .map(|m| m.0.iter().map(|(k, _)| k).collect::<Vec<_>>()),
                ),
                (
                    "absent_rewards",
                    file.expect
                        .absent_rewards
                        .as_ref()
                        .map(|m| m.0.iter().map(|(k, _)| k).collect()),
                ),
                (
                    "spans",
                    file.expect
                        .spans
                        .as_ref()
                        .map(|m| m.0.iter().map(|(k, _)| k).collect()),
                ),
            ];
            for (section, keys) in sections {
                for key in keys.into_iter().flatten() {
                    if let Some(attempt) = AttemptId::parse(key)
                        && attempt.number > max
                    {
                        self.key_problem(
                            at!["expect", section, key],
                            format!("`{key}` can never exist: runner.max_attempts is {max}"),
                            Some(format!("attempts are numbered 1 to {max}")),
                        );
                    }
                }
            }
            for (key, want) in file.expect.rollouts.iter().flat_map(|m| m.0.iter()) {
                if let Some(n) = want.attempts
                    && n > max
                {
                    self.problem(
                        at!["expect", "rollouts", key, "attempts"],
                        format!("`attempts: {n}` can never hold: runner.max_attempts is {max}"),
                        Some(format!("at most {max}")),
                    );
                }
            }
        }
        for (key, rewards) in file.expect.rewards.iter().flat_map(|m| m.0.iter()) {
            for (name, want) in &rewards.0 {
                let at = at!["expect", "rewards", key, name];
                match *want {
                    RewardExpect::Exact(v) if v.is_nan() => self.problem(
                        at,
                        "NaN never equals anything, so this expectation can never hold",
                        Some("expect a number, or `{ between: [a, b] }`".into()),
                    ),
                    RewardExpect::Exact(v) => {
                        if let Some(shown) = non_finite(v) {
                            self.problem(
                                at,
                                format!("a reward is never {shown}: rewards are finite numbers, so this expectation can never hold"),
                                Some("expect a finite number, or `{ between: [a, b] }`".into()),
                            );
                        }
                    }
                    RewardExpect::Between(a, b) => {
                        for (i, bound) in [a, b].into_iter().enumerate() {
                            if let Some(shown) = non_finite(bound) {
                                let mut at = at.clone();
                                at.push("between".into());
                                at.push(i.into());
                                self.problem(
                                    at,
                                    format!("the bounds of `between` are finite numbers, not {shown}"),
                                    Some(if i == 0 {
                                        "for no lower bound, write a very low number such as -1e300"
                                    } else {
                                        "for no upper bound, write a very high number such as 1e300"
                                    }.into()),
                                );
                            }
                        }
                    }
                }
            }
        }
        for (key, want) in file.expect.rollouts.iter().flat_map(|m| m.0.iter()) {
            let status = want.status.as_deref().and_then(RolloutStatus::parse);
            if want.attempts == Some(0) && status.is_some_and(|s| s.is_terminal()) {
                self.problem(
                    at!["expect", "rollouts", key, "attempts"],
                    format!(
                        "`attempts: 0` contradicts `status: {}`: a rollout ends only through an attempt",
                        status.map_or("", |s| s.as_str())
                    ),
                    Some("a rollout never dequeued is `queuing` with 0 attempts".into()),
                );
            }
        }
    }
}

/// Expectations that contradict each other: no run satisfies them all.
impl Validator<'_> {
    /// With `stop.when: all_terminal` a run passes only when it stops
    /// because every rollout is terminal: a rollout expected in another
    /// status fails either that check or the `stop` check.
    fn not_terminal_under_all_terminal(&mut self, expect: &Expectations) {
        let named = expect
            .rollouts
            .iter()
            .map(|(id, want)| (id.to_string(), want));
        let others = expect
            .other_rollouts
            .iter()
            .map(|want| ("*".to_string(), want));
        for (key, want) in named.chain(others) {
            let Some(status) = want.status.filter(|s| !s.is_terminal()) else {
                continue;
            };
            self.problem(
                at!["expect", "rollouts", key, "status"],
                format!(
                    "`{status}` can never hold: with `stop.when: all_terminal` a run passes only when every rollout ends succeeded, failed or cancelled"
                ),
                Some("to check a rollout during the run, stop at a fixed time: `stop: { when: { at: 2s } }`".into()),
            );
        }
    }

    fn contradictions(&mut self, file: &ScenarioFile, expect: &Expectations) {
        // An invariant expected both to hold and to be violated.
        if let (Some(InvariantsSpec::Only(held)), Some(violated)) =
            (&file.expect.invariants, &file.expect.violated)
        {
            for (i, name) in violated.iter().enumerate() {
                if let Some(j) = held.iter().position(|h| h == name) {
                    self.problem(
                        at!["expect", "violated", i],
                        format!(
                            "`{name}` is expected violated here and to hold in expect.invariants[{j}]"
                        ),
                        Some("keep it in one of the two lists".into()),
                    );
                }
            }
        }
        // The attempt a rollout id names when another expectation fixes
        // it: `attempts: n` makes `r1` mean `r1:attempt-n`, and so does
        // `runner.max_attempts: 1` for n = 1.
        let attempts: BTreeMap<&str, u32> = expect
            .rollouts
            .iter()
            .filter_map(|(id, want)| want.attempts.map(|n| (id.as_str(), n)))
            .collect();
        let only_one = file.runner.max_attempts == Some(1);
        let last = |rollout: &str| {
            attempts
                .get(rollout)
                .copied()
                .or(only_one.then_some(1))
                .filter(|n| *n > 0)
        };
        let why = |rollout: &str, n: u32| match attempts.get(rollout) {
            Some(_) => format!(
                "with expect.rollouts.{rollout}.attempts: {n}, `{rollout}` means {rollout}:attempt-{n}"
            ),
            None => format!("with runner.max_attempts: 1, `{rollout}` means {rollout}:attempt-1"),
        };
        // (rollout, attempt number when known) of a target.
        let canon = |target: &Target| -> AttemptKey {
            match target {
                Target::Rollout(r) => (r.to_string(), last(r.as_str())),
                Target::Attempt(a) => (a.rollout.to_string(), Some(a.number)),
            }
        };
        for (id, want) in &expect.rollouts {
            if want.attempts == Some(0) && want.worker.is_some() {
                self.problem(
                    at!["expect", "rollouts", id.to_string(), "worker"],
                    "`worker` contradicts `attempts: 0`: a rollout with no attempt has no worker",
                    Some("remove one of the two".into()),
                );
            }
        }
        // Rewards and spans of an attempt that `attempts: n` says never
        // exists.
        let targets = expect.rewards.iter().map(|(t, _)| ("rewards", t)).chain(
            expect
                .spans
                .iter()
                .filter(|(_, names)| !names.is_empty())
                .map(|(t, _)| ("spans", t)),
        );
        let mut missing = Vec::new();
        let max_attempts = file.runner.max_attempts;
        for (section, target) in targets {
            let (rollout, number) = match target {
                Target::Rollout(r) => (r.as_str(), None),
                Target::Attempt(a) => (a.rollout.as_str(), Some(a.number)),
            };
            let Some(&n) = attempts.get(rollout) else {
                continue;
            };
            let message = match number {
                // Beyond `runner.max_attempts` is reported on its own.
                Some(k) if k > n && max_attempts.is_none_or(|m| m == 0 || k <= m) => format!(
                    "`{target}` never exists if expect.rollouts.{rollout}.attempts ({n}) holds"
                ),
                None if n == 0 => format!(
                    "`{rollout}` has no attempt if expect.rollouts.{rollout}.attempts (0) holds, so it has no {section}"
                ),
                _ => continue,
            };
            missing.push((at!["expect", section, target.to_string()], message));
        }
        for (at, message) in missing {
            self.key_problem(
                at,
                message,
                Some("expect fewer attempts, or remove one of the two".into()),
            );
        }
        // The same reward of the same attempt expected twice, through the
        // rollout id and the attempt id, with values no number satisfies
        // together.
        // By (attempt, reward name): the key it was expected under, and the
        // value.
        let mut expected: BTreeMap<(AttemptKey, &str), (String, RewardValue)> = BTreeMap::new();
        let mut conflicts = Vec::new();
        for (target, list) in &expect.rewards {
            let key = canon(target);
            for (name, value) in list {
                match expected.get(&(key.clone(), &**name)) {
                    Some((other, first)) if !compatible(*first, *value) => {
                        let (rollout, n) = (&key.0, key.1.unwrap_or(0));
                        conflicts.push((
                            at!["expect", "rewards", target.to_string(), name.to_string()],
                            format!(
                                "expects {} of `{name}`, and expect.rewards.{other}.{name} expects {} of the same attempt ({})",
                                describe(*value),
                                describe(*first),
                                why(rollout, n)
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        expected.insert((key.clone(), &**name), (target.to_string(), *value));
                    }
                }
            }
        }
        for (at, message) in conflicts {
            self.problem(
                at,
                message,
                Some("expect one value, or a range that holds both".into()),
            );
        }
        // A reward expected absent where it is expected present.
        let mut by_name: BTreeMap<&str, &String> = BTreeMap::new();
        for ((_, name), (other, _)) in &expected {
            by_name.entry(name).or_insert(other);
        }
        let mut absent = Vec::new();
        for (target, names) in &expect.absent_rewards {
            let key = target.as_ref().map(&canon);
            let shown = target
                .as_ref()
                .map_or_else(|| "*".to_string(), ToString::to_string);
            for (i, name) in names.iter().enumerate() {
                let present = match &key {
                    Some(key) => expected
                        .get(&(key.clone(), &**name))
                        .map(|(other, _)| other),
                    None => by_name.get(&**name).copied(),
                };
                if let Some(other) = present {
                    let scope = if key.is_none() {
                        "from every attempt (`*`)"
                    } else {
                        "here"
                    };
                    absent.push((
                        at!["expect", "absent_rewards", &shown, i],
                        format!(
                            "`{name}` is expected absent {scope} and expected at expect.rewards.{other}.{name}"
                        ),
                    ));
                }
            }
        }
        for (at, message) in absent {
            self.problem(at, message, Some("remove it from one of the two".into()));
        }
    }
}

/// An attempt as expectations name it: its rollout, and its number when
/// known (a rollout id names its last attempt, whose number the file may
/// fix).
type AttemptKey = (String, Option<u32>);

/// Whether one number can satisfy both reward expectations.
fn compatible(a: RewardValue, b: RewardValue) -> bool {
    let range = |v: RewardValue| match v {
        RewardValue::Exact(x) => (x, x),
        RewardValue::Between(low, high) => (low, high),
    };
    let ((a_low, a_high), (b_low, b_high)) = (range(a), range(b));
    a_low.max(b_low) <= a_high.min(b_high)
}

fn describe(value: RewardValue) -> String {
    match value {
        RewardValue::Exact(x) => format!("{x}"),
        RewardValue::Between(low, high) => format!("a value in [{low}, {high}]"),
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

/// An estimate of the memory one rollout's payload takes: its input and,
/// per scripted attempt, output, rewards and error message, and the record
/// of every scripted attempt after the first (each rollout has one; a
/// `generate` entry copies the list into every rollout, so a long list of
/// empty attempts costs as much as a large output).
fn payload_bytes(input: Option<&Value>, attempts: &[RunStep]) -> u64 {
    let records = (attempts.len().saturating_sub(1) * std::mem::size_of::<RunStep>()) as u64;
    let steps: u64 = attempts
        .iter()
        .map(|step| match &step.result {
            StepResult::Succeeded { output, rewards } => value_bytes(output).saturating_add(
                rewards
                    .iter()
                    .map(|r| 64 + r.name.len() as u64)
                    .sum::<u64>(),
            ),
            StepResult::Failed { message } => 24 + message.len() as u64,
        })
        .sum();
    input
        .map_or(0, value_bytes)
        .saturating_add(steps)
        .saturating_add(records)
}

/// An estimate of the heap a JSON value takes (serde_json's layout: 32
/// bytes a value, B-tree nodes of 11 entries for objects).
fn value_bytes(value: &Value) -> u64 {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => 24 + s.len() as u64,
        Value::Array(items) => items.iter().fold(24 + 32 * items.len() as u64, |sum, v| {
            sum.saturating_add(value_bytes(v))
        }),
        Value::Object(map) => map.iter().fold(
            576 * (map.len() as u64).div_ceil(11).max(1),
            |sum, (k, v)| {
                sum.saturating_add(24 + k.len() as u64)
                    .saturating_add(value_bytes(v))
            },
        ),
    }
}

fn known(what: &str, names: &BTreeSet<&str>) -> String {
    let listed: Vec<&str> = names.iter().copied().take(MAX_KNOWN_LISTED).collect();
    let more = if names.len() > MAX_KNOWN_LISTED {
        format!(" and {} more", names.len() - MAX_KNOWN_LISTED)
    } else {
        String::new()
    };
    format!("known {what}: {}{more}", listed.join(", "))
}

/// What a text of the file is, for [`Validator::text`]: how long it may be
/// and which characters it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    /// An id or a name (rollout, worker, `generate.prefix`, span).
    Name,
    /// A name written as a mapping key (a reward): located at the key.
    Key,
    /// A fault or executor error message.
    Message,
    /// The scenario's `name`: no length limit of its own.
    Title,
    /// The `description`: several lines and tabs are fine.
    Prose,
}

impl Text {
    fn max_len(self) -> Option<usize> {
        match self {
            Self::Name | Self::Key => Some(MAX_NAME_LEN),
            Self::Message => Some(MAX_MESSAGE_LEN),
            Self::Title | Self::Prose => None,
        }
    }

    /// Control characters (C0 with NUL and ESC, DEL, C1) and the Unicode
    /// bidirectional formatting characters, which reorder the text shown
    /// around them ("Trojan Source"): a line feed and a tab only in prose.
    fn refuses(self, c: char) -> bool {
        if self == Self::Prose && matches!(c, '\n' | '\t') {
            return false;
        }
        super::source::is_hidden_char(c)
    }
}

/// A number that is not finite, as YAML writes it (`.nan`, `.inf`,
/// `-.inf`).
fn non_finite(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some(".nan")
    } else if value == f64::INFINITY {
        Some(".inf")
    } else if value == f64::NEG_INFINITY {
        Some("-.inf")
    } else {
        None
    }
}
