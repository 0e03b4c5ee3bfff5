//! What to simulate, as plain data: the sim layer's input.
//!
//! A [`SimPlan`] is a scenario with every default filled in and every
//! reference resolved: the runner config, the workers, each rollout with its
//! scripted executor behaviour per attempt, the fault scripts, the timed
//! events and the stop rule. The scenario layer builds one from YAML; an
//! embedder can build one in code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use rollout_core::Reward;
use rollout_core::RunnerConfig;
use rollout_core::{QueueOp, ReassignmentPolicy, RolloutId, WorkerId};

use super::script::{OpScript, RandomRates};

/// How one attempt of a scripted rollout goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStep {
    /// How long the executor runs.
    pub duration: Duration,
    /// How it ends.
    pub result: StepResult,
}

/// How a scripted execution ends.
#[derive(Debug, Clone, PartialEq)]
pub enum StepResult {
    /// The executor returns this output and these rewards.
    Succeeded {
        /// `Null` counts as no output.
        output: Value,
        /// Emitted in order.
        rewards: Vec<Reward>,
    },
    /// The executor fails with this message.
    Failed {
        /// The error message.
        message: String,
    },
}

impl Default for RunStep {
    fn default() -> Self {
        Self {
            duration: Duration::ZERO,
            result: StepResult::Succeeded {
                output: Value::Null,
                rewards: Vec::new(),
            },
        }
    }
}

/// A rollout to enqueue and how its attempts go.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutPlan {
    /// Its id.
    pub id: RolloutId,
    /// Its input.
    pub input: Value,
    /// When it enters the queue.
    pub enqueue_at: Duration,
    /// Attempt `n` runs `attempts[n-1]`; the last entry repeats. Never empty.
    pub attempts: Vec<RunStep>,
}

impl RolloutPlan {
    /// The step for attempt `number` (1-based).
    pub fn step(&self, number: u32) -> &RunStep {
        let idx = (number.max(1) as usize - 1).min(self.attempts.len().saturating_sub(1));
        &self.attempts[idx]
    }
}

/// A fault at a moment of virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimedAction {
    /// Drop the worker's task wherever it is; its in-flight work is lost.
    Crash(WorkerId),
    /// Start a crashed (or failed) worker again.
    Restart(WorkerId),
    /// Drop every message between two hosts until repaired (turmoil engine).
    Partition(NetHost, NetHost),
    /// End a partition between two hosts (turmoil engine).
    Repair(NetHost, NetHost),
    /// Hold every message between two hosts until released (turmoil engine).
    Hold(NetHost, NetHost),
    /// Deliver the held messages and heal the link (turmoil engine).
    Release(NetHost, NetHost),
    /// Restart a host's software at once (turmoil engine): the queue server
    /// loses its connections and the requests in flight, not its store; a
    /// worker is crashed and restarted.
    Bounce(NetHost),
    /// Every message sent from now on takes exactly this long; `None` puts
    /// back `faults.network.latency` (turmoil engine).
    Latency(Option<Duration>),
}

impl TimedAction {
    /// True for the actions only the turmoil engine can apply.
    pub fn needs_network(&self) -> bool {
        !matches!(self, Self::Crash(_) | Self::Restart(_))
    }
}

/// A host on the turmoil engine's network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetHost {
    /// The queue's server host, `queue` in scenario files.
    Queue,
    /// A worker's host, named by the worker's id.
    Worker(WorkerId),
}

impl std::fmt::Display for NetHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Queue => f.write_str("queue"),
            Self::Worker(w) => f.write_str(w.as_str()),
        }
    }
}

/// The default per-request timeout of a worker's network client.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Latency and loss on every link of the turmoil engine (`faults.network`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkFaults {
    /// The least latency of a message.
    pub latency_min: Duration,
    /// The most latency of a message.
    pub latency_max: Duration,
    /// The probability, per message sent, that the link breaks: the message
    /// and whatever is in flight on that link are lost.
    pub loss_rate: f64,
}

impl NetworkFaults {
    /// What turmoil draws from the seed per message, as a phrase (`loss at
    /// rate 0.05`, `latency from 1 ms to 5 ms`); `None` when nothing is
    /// drawn (no loss, a fixed latency).
    pub fn drawn(&self) -> Option<String> {
        let mut drawn = Vec::new();
        if self.loss_rate > 0.0 {
            drawn.push(format!("loss at rate {}", self.loss_rate));
        }
        if self.latency_min != self.latency_max {
            drawn.push(format!(
                "latency from {:?} to {:?}",
                self.latency_min, self.latency_max
            ));
        }
        (!drawn.is_empty()).then(|| drawn.join(" and "))
    }
}

/// The turmoil engine's settings. Other engines ignore `request_timeout`;
/// `faults` needs the turmoil engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkPlan {
    /// `faults.network`; `None`: no latency, no loss.
    pub faults: Option<NetworkFaults>,
    /// How long a worker's client waits for a reply before the call fails.
    pub request_timeout: Duration,
}

impl Default for NetworkPlan {
    fn default() -> Self {
        Self {
            faults: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// A [`TimedAction`] and when it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedFault {
    /// Virtual time.
    pub at: Duration,
    /// What happens.
    pub action: TimedAction,
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWhen {
    /// As soon as every rollout is succeeded, failed or cancelled.
    AllTerminal,
    /// At this virtual time.
    At(Duration),
}

/// When a run ends, and the most virtual time it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopRule {
    /// The stop condition.
    pub when: StopWhen,
    /// The virtual-time budget; running past it fails the run.
    pub within: Duration,
}

impl Default for StopRule {
    fn default() -> Self {
        Self {
            when: StopWhen::AllTerminal,
            within: Duration::from_secs(600),
        }
    }
}

/// Hard bounds on one run, so that no plan can hang or exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// Trace events after which the run stops and fails.
    pub max_events: usize,
    /// The turmoil engine's budget, in host-steps ([`TurmoilCost`]): a plan
    /// whose estimate exceeds it is refused before it runs
    /// (`Scenario::check_turmoil_budget` in rollout-scenario),
    /// and a run whose work exceeds it stops and fails
    /// ([`StopReason::TurmoilBudget`](super::StopReason::TurmoilBudget)).
    pub turmoil_budget: u64,
}

/// The default event budget of a run, chosen to keep every run under 1 GiB
/// while letting the largest plan the loader accepts (a million rollouts,
/// about 11 events each) run to its end. Measured (release build, issue
/// 16): the trace holds at most 8 MiB of encoding however long the run
/// (it streams into the hash), and the rest of a run grows with its
/// rollouts, not its events; the million-rollout `generate` run
/// (`benches/fixtures/generate-1m.yaml`, 11.0 million events) peaks at
/// 0.67 GiB, plan included. See BENCHMARKS.md and the README, "Limits".
pub const DEFAULT_MAX_EVENTS: usize = 13_000_000;

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            max_events: DEFAULT_MAX_EVENTS,
            turmoil_budget: DEFAULT_TURMOIL_BUDGET,
        }
    }
}

/// The default turmoil budget, in host-steps: calibrated (release build,
/// the 2-core development machine, issue 11) so that a run that uses all
/// of it takes under 10 s, however its work divides between hosts, steps,
/// events and bytes. The measurements are in the README, "Limits".
pub const DEFAULT_TURMOIL_BUDGET: u64 = 3_000_000;

/// Link visits that cost one host-step. turmoil keeps a link between every
/// two hosts and, in every step, looks through all of them for each host it
/// runs, so a step of `h` hosts costs `h` host-steps plus `h` times the
/// `h (h - 1) / 2` links over this; measured at 64 to 1,024 workers, where
/// that search is most of a step (at 1,024 workers, seconds).
pub const TURMOIL_LINK_VISITS_PER_HOST_STEP: u64 = 96;

/// What one trace event costs on the turmoil engine, in host-steps, besides
/// its bytes on the network.
pub const TURMOIL_EVENT_HOST_STEPS: u64 = 2;

/// Bytes on the turmoil engine's network (requests and replies, encoded)
/// that cost one host-step.
pub const TURMOIL_BYTES_PER_HOST_STEP: u64 = 16;

/// The work of a run on the turmoil engine, in host-steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurmoilCost {
    /// Steps of 1 ms the simulation takes at most: up to `stop.at` (when
    /// within `stop.within`) or `stop.within`, both included.
    pub steps: u64,
    /// Hosts: the queue and every worker.
    pub hosts: u64,
    /// What each step costs, in host-steps (see
    /// [`TURMOIL_LINK_VISITS_PER_HOST_STEP`]).
    pub per_step: u64,
    /// `steps` times `per_step`, saturating.
    pub host_steps: u64,
}

impl TurmoilCost {
    /// What a step of `hosts` hosts costs, in host-steps.
    pub fn per_step(hosts: u64) -> u64 {
        let links = u128::from(hosts) * u128::from(hosts.saturating_sub(1)) / 2;
        let visits = u128::from(hosts) * links;
        let cost = u128::from(hosts) + visits / u128::from(TURMOIL_LINK_VISITS_PER_HOST_STEP);
        u64::try_from(cost).unwrap_or(u64::MAX)
    }

    /// The host-steps that `events` trace events and `bytes` bytes on the
    /// network cost, besides the steps.
    pub fn of_traffic(events: u64, bytes: u64) -> u64 {
        events
            .saturating_mul(TURMOIL_EVENT_HOST_STEPS)
            .saturating_add(bytes / TURMOIL_BYTES_PER_HOST_STEP)
    }
}

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SimPlan {
    /// The seed (recorded; random faults arrive in a later version).
    pub seed: u64,
    /// The runner config; `worker_id` is replaced per worker.
    pub runner: RunnerConfig,
    /// How the queue finds stale attempts.
    pub reassignment: ReassignmentPolicy,
    /// The workers, started in this order at time zero (or at their
    /// `start_at`).
    pub workers: Vec<WorkerId>,
    /// Workers with runner settings of their own (`runner` is the rest's);
    /// each keeps its own `worker_id`.
    pub worker_runners: BTreeMap<WorkerId, RunnerConfig>,
    /// Workers that start later than time zero, and when.
    pub start_at: BTreeMap<WorkerId, Duration>,
    /// The rollouts, enqueued in `enqueue_at` order (ties in this order).
    pub rollouts: Vec<RolloutPlan>,
    /// Attempts a rollout may have; `None` for unlimited.
    pub max_attempts: Option<u32>,
    /// Fault scripts by operation.
    pub fault_scripts: BTreeMap<QueueOp, OpScript>,
    /// The seeded overlay's rates by operation (`faults.random`).
    pub random_faults: BTreeMap<QueueOp, RandomRates>,
    /// Keep every fault verdict in [`RunResult::verdicts`](super::RunResult),
    /// for `freeze` and `--shrink`.
    pub record_verdicts: bool,
    /// Timed faults, applied in time order (ties in this order).
    pub timed_faults: Vec<TimedFault>,
    /// When to stop.
    pub stop: StopRule,
    /// Bounds.
    pub limits: RunLimits,
    /// Test-only: make the virtual engine deliberately non-deterministic (a
    /// timer fires 1 ms late, a different one on each run in the process), to
    /// prove that determinism checks catch it.
    #[doc(hidden)]
    pub perturb_scheduling: bool,
    /// The turmoil engine's network: latency, loss, request timeout.
    pub network: NetworkPlan,
    /// Start a worker's runner again this long after it ended with an error
    /// (a supervisor restarting the worker's process), on every engine;
    /// `None`: it stays down.
    pub restart_after: Option<Duration>,
    /// Keep every trace event in [`RunResult::trace`](super::RunResult)
    /// (the default). Off, the run still checks and hashes every event as
    /// it happens, and counts them, but keeps none: a few bytes an event
    /// instead of a hundred, for sweeps and big runs.
    pub keep_events: bool,
    /// Guided exploration's reseed points ([`Branch`](super::Branch)):
    /// empty, the seed's own run.
    pub branch: super::Branch,
    /// The liveness phase (`faults.heal_at`, `stop.recover_within`):
    /// `None`, faults fire for the whole run and `liveness` is not checked.
    pub heal: Option<Heal>,
}

/// The liveness phase: from [`at`](Self::at) on no fault fires, and every
/// rollout must be terminal by `at + recover_within`, when the run ends at
/// the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heal {
    /// `faults.heal_at`: when every fault stops.
    pub at: Duration,
    /// `stop.recover_within`: how long after `at` every rollout has to
    /// become terminal.
    pub recover_within: Duration,
}

impl Heal {
    /// How many times the slowest recovery step fits in the default
    /// `recover_within` ([`default_recover_within`](Self::default_recover_within)).
    pub const DEFAULT_RECOVERY_ROUNDS: u32 = 10;

    /// When the recovery window closes: `at + recover_within`.
    pub fn deadline(&self) -> Duration {
        self.at.saturating_add(self.recover_within)
    }

    /// The default `stop.recover_within`: [`DEFAULT_RECOVERY_ROUNDS`](Self::DEFAULT_RECOVERY_ROUNDS)
    /// times the slowest step a healthy system takes to move a rollout on
    /// after a fault: the runner's worker timeout, heartbeat, reassignment
    /// and poll intervals, its backoff cap, the supervisor's restart delay
    /// and the longest scripted attempt. One round of each covers a stale
    /// attempt found and requeued, a worker out of backoff and polling, and
    /// the attempt run again; ten leave room for the rounds a few lost
    /// attempts take, without letting a sweep over a system that never
    /// recovers run for the whole `stop.within`.
    pub fn default_recover_within(
        runner: &RunnerConfig,
        rollouts: &[RolloutPlan],
        restart_after: Option<Duration>,
    ) -> Duration {
        let r = runner;
        let longest_attempt = rollouts
            .iter()
            .flat_map(|p| p.attempts.iter().map(|s| s.duration))
            .max()
            .unwrap_or_default();
        [
            r.worker_timeout,
            r.heartbeat_interval,
            r.reassignment_interval,
            r.poll_interval,
            r.backoff.max,
            restart_after.unwrap_or_default(),
            longest_attempt,
        ]
        .into_iter()
        .max()
        .unwrap_or_default()
        .saturating_mul(Self::DEFAULT_RECOVERY_ROUNDS)
    }
}

impl Default for SimPlan {
    fn default() -> Self {
        Self {
            seed: 0,
            runner: RunnerConfig::default(),
            reassignment: ReassignmentPolicy::default(),
            workers: vec![WorkerId::new("worker-1")],
            worker_runners: BTreeMap::new(),
            start_at: BTreeMap::new(),
            rollouts: Vec::new(),
            max_attempts: None,
            fault_scripts: BTreeMap::new(),
            timed_faults: Vec::new(),
            stop: StopRule::default(),
            limits: RunLimits::default(),
            perturb_scheduling: false,
            random_faults: BTreeMap::new(),
            branch: super::Branch::NONE,
            record_verdicts: false,
            network: NetworkPlan::default(),
            restart_after: None,
            keep_events: true,
            heal: None,
        }
    }
}

/// How much simulated time one step of the turmoil engine covers: it steps
/// every host every tick, which is what its budget counts.
pub const TURMOIL_TICK: Duration = Duration::from_millis(1);

impl SimPlan {
    /// What this plan's steps are sure to cost on the turmoil engine, before
    /// any event, with every host: every step to `stop.when.at`, which a
    /// run always reaches; with `all_terminal` only the first step, since
    /// the run may end there (a run that goes on is metered as it goes, and
    /// stopped at the budget). A scenario that ends in 50 ms is not refused
    /// for the 10 minutes its `stop.within` would allow.
    pub fn turmoil_cost(&self) -> TurmoilCost {
        let until = match self.stop.when {
            StopWhen::At(at) if at <= self.stop.within => at,
            _ => Duration::ZERO,
        };
        let tick = TURMOIL_TICK.as_millis();
        let steps = u64::try_from(until.as_millis() / tick + 1).unwrap_or(u64::MAX);
        let hosts = self.workers.len() as u64 + 1;
        let per_step = TurmoilCost::per_step(hosts);
        TurmoilCost {
            steps,
            hosts,
            per_step,
            host_steps: steps.saturating_mul(per_step),
        }
    }

    /// What in this plan needs the turmoil engine, if anything.
    pub fn network_feature(&self) -> Option<&'static str> {
        if let Some(f) = self.timed_faults.iter().find(|f| f.action.needs_network()) {
            return Some(match f.action {
                TimedAction::Partition(..) => "`partition` events",
                TimedAction::Repair(..) => "`repair` events",
                TimedAction::Hold(..) => "`hold` events",
                TimedAction::Release(..) => "`release` events",
                TimedAction::Latency(..) => "`latency` events",
                _ => "`bounce` events",
            });
        }
        if self.network.faults.is_some() {
            return Some("`faults.network`");
        }
        None
    }
}
