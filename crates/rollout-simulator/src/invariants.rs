//! The built-in invariants, checked after every run.
//!
//! Each one reads the run's event trace and the queue's final state and
//! predicts from the harness's own records rather than trusting the runner's
//! counters. In particular the expected retry metrics come from the fault
//! log: a poll *failed* when any queue call on its path failed (except
//! heartbeats during execution, which the runner tolerates), and an attempt
//! must carry the metrics exactly when the polls just before the one that
//! dequeued it failed, with their count and the sum of the delays slept. Each
//! delay must lie in the policy's envelope (exact without jitter), and each
//! sleep must last exactly its delay on the clock.
//!
//! The trace part runs as a [`Monitor`] fed each event as it is recorded,
//! so a run need not keep its trace to be checked; what it keeps is small
//! (per worker, per running attempt, and one entry per dequeued attempt).
//! [`check_all`] replays a kept trace through a fresh monitor: the same
//! verdicts and messages either way.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Serialize;

use rollout_core::BackoffPolicy;
use rollout_core::{AttemptId, AttemptStatus, QueueOp, RolloutId, WorkerId};
use rollout_core::{RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC, rewards_named};

use super::outcome::{StopReason, WorkerState};
use super::plan::{Heal, SimPlan, StopWhen};
use super::trace::{CallResult, EventKind, EventObserver, TraceEvent};
use rollout_core::QueueSnapshot;

/// One of the built-in invariants. The variants are listed in the order
/// they are checked, which is the order of every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    /// The run ended with every rollout terminal (unless `stop.when` or a
    /// stop rule says otherwise).
    AllTerminal,
    /// An attempt carries the retry metrics exactly when the polls before it
    /// failed, with their count and backoff.
    RetryMetricsIffRecovered,
    /// Every backoff delay lies in the policy's envelope, and every sleep
    /// lasts its delay.
    BackoffPolicy,
    /// A rollout has at most one attempt open, numbered in order.
    AttemptIds,
    /// No attempt is left running on a worker that stopped.
    NoStrandedAttempt,
    /// Every span the runner emitted reached the queue's store.
    SpansPersisted,
    /// Every rollout was terminal within `stop.recover_within` of
    /// `faults.heal_at`. Only checked when the plan has a heal instant.
    Liveness,
}

impl Invariant {
    /// Every invariant, in the order they are checked.
    pub const ALL: [Invariant; 7] = [
        Invariant::AllTerminal,
        Invariant::RetryMetricsIffRecovered,
        Invariant::BackoffPolicy,
        Invariant::AttemptIds,
        Invariant::NoStrandedAttempt,
        Invariant::SpansPersisted,
        Invariant::Liveness,
    ];

    /// The invariants a run checks, in order: all but `liveness`, which
    /// only a plan with a heal instant has.
    pub fn applicable(liveness: bool) -> &'static [Invariant] {
        if liveness {
            &Self::ALL
        } else {
            &Self::ALL[..Self::ALL.len() - 1]
        }
    }

    /// Whether a run of `plan` checks this invariant.
    pub fn applies_to(self, plan: &SimPlan) -> bool {
        self != Invariant::Liveness || plan.heal.is_some()
    }

    /// Its name in scenario files and reports (`all-terminal`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Invariant::AllTerminal => "all-terminal",
            Invariant::RetryMetricsIffRecovered => "retry-metrics-iff-recovered",
            Invariant::BackoffPolicy => "backoff-policy",
            Invariant::AttemptIds => "attempt-ids",
            Invariant::NoStrandedAttempt => "no-stranded-attempt",
            Invariant::SpansPersisted => "spans-persisted",
            Invariant::Liveness => "liveness",
        }
    }

    /// The invariant called `name`, if there is one.
    pub fn named(name: &str) -> Option<Invariant> {
        Invariant::ALL.into_iter().find(|i| i.name() == name)
    }
}

impl std::fmt::Display for Invariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An invariant equals its name, so `report.name == "backoff-policy"` reads
/// as it always did.
impl PartialEq<&str> for Invariant {
    fn eq(&self, name: &&str) -> bool {
        self.name() == *name
    }
}

impl Serialize for Invariant {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Violations kept per invariant; the rest are counted.
const MAX_LISTED: usize = 20;

/// The verdict of one invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvariantReport {
    /// Which invariant.
    pub name: Invariant,
    /// True when no violation was found.
    pub held: bool,
    /// The first violations, each a sentence.
    pub violations: Vec<String>,
    /// How many violations there were in all.
    pub violation_count: usize,
}

#[derive(Debug, Clone, Default)]
struct Findings(Vec<String>, usize);

/// At most this many retry-metric expectations (one a dequeue) are sized
/// in advance; a longer run grows the list as it goes.
const EXPECTED_RESERVED: usize = 1024;

impl Findings {
    fn add(&mut self, message: String) {
        if self.0.len() < MAX_LISTED {
            self.0.push(message);
        }
        self.1 += 1;
    }

    /// [`add`](Self::add) from the monitor's per-event code: the message is
    /// written here, out of line, so that code stays small for the events
    /// that find nothing, nearly all of them.
    #[cold]
    #[inline(never)]
    fn add_with(&mut self, message: impl FnOnce() -> String) {
        self.add(message());
    }

    /// Adds findings made after these, as if added one by one.
    fn append(&mut self, later: Findings) {
        let room = MAX_LISTED.saturating_sub(self.0.len());
        self.0.extend(later.0.into_iter().take(room));
        self.1 += later.1;
    }

    fn report(self, name: Invariant) -> InvariantReport {
        InvariantReport {
            name,
            held: self.1 == 0,
            violations: self.0,
            violation_count: self.1,
        }
    }
}

/// What the invariants read of a finished run besides its events: why it
/// stopped, the queue's final state and each worker's.
#[derive(Debug, Clone, Copy)]
pub struct RunFacts<'a> {
    /// Why the run ended.
    pub stop: StopReason,
    /// The queue's final state: rollouts, attempts, spans.
    pub snapshot: &'a QueueSnapshot,
    /// Each worker's final state.
    pub workers: &'a BTreeMap<WorkerId, WorkerState>,
    /// The virtual time at which the run ended.
    pub ended_at: Duration,
}

/// Checks every invariant on a finished run from its kept events: the
/// verdicts a [`Monitor`] fed the same events gives.
pub fn check_all(
    plan: &SimPlan,
    events: &[TraceEvent],
    facts: RunFacts<'_>,
) -> Vec<InvariantReport> {
    let mut monitor = Monitor::new(plan);
    for event in events {
        monitor.observe(event);
    }
    monitor.finish(plan, facts)
}

/// The trace part of the invariants, fed one event at a time as a run
/// records them: the [`EventObserver`] every run feeds.
#[derive(Debug, Clone)]
pub struct Monitor {
    /// The backoff policy and `retry_metrics` of workers with runner
    /// settings of their own, and everyone else's.
    settings: BTreeMap<WorkerId, (BackoffPolicy, bool)>,
    default_settings: (BackoffPolicy, bool),
    /// Per worker, in order of first event: what the fault log says about
    /// its polls, and the attempt it is processing.
    workers: Vec<WorkerEntry>,
    /// Where each worker is in `workers`, once there are more than
    /// [`WORKERS_SCANNED`]: every event names a worker, so finding its
    /// entry by a scan would cost a run's events times its workers.
    worker_index: WorkerIndex,
    /// Per dequeued attempt, in dequeue order: (consecutive failed polls
    /// before, their backoff in ms, whether its worker emits the retry
    /// metrics). A later entry for the same attempt wins.
    expected: Vec<(AttemptId, u32, u64, bool)>,
    backoff: Findings,
    /// attempt-ids: the attempt each rollout has open, and where.
    open: OpenAttempts,
    attempt_ids: Findings,
}

#[derive(Debug, Clone)]
struct WorkerEntry {
    id: WorkerId,
    /// Its runner's backoff policy and `retry_metrics`.
    policy: BackoffPolicy,
    retry_metrics: bool,
    polls: WorkerPolls,
    /// no-stranded-attempt: the attempt it is processing.
    processing: Option<AttemptId>,
}

impl WorkerEntry {
    /// backoff-policy, and what retry-metrics-iff-recovered expects.
    #[inline]
    fn observe_polls(
        &mut self,
        backoff: &mut Findings,
        expected: &mut Vec<(AttemptId, u32, u64, bool)>,
        at: Duration,
        kind: &EventKind,
    ) {
        let Self {
            id: worker,
            polls: w,
            ..
        } = self;
        match kind {
            EventKind::WorkerStarted
            | EventKind::WorkerCrashed
            | EventKind::WorkerRestarted
            | EventKind::WorkerFailed { .. } => *w = WorkerPolls::default(),
            EventKind::HeartbeatTick => w.close_poll(worker, at, backoff),
            EventKind::PollTick => {
                w.close_poll(worker, at, backoff);
                w.in_poll = true;
            }
            EventKind::Call {
                op,
                attempt,
                result,
            } if w.in_poll => match result {
                CallResult::Failed { .. } => {
                    // After the dequeue, the first heartbeat naming the
                    // attempt is the one before execution; the later ones
                    // run during it. Counted, not timed: on the turmoil
                    // engine even the first one comes after the dequeue.
                    let during_execution = *op == QueueOp::Heartbeat
                        && attempt.is_some()
                        && w.dequeued_at.is_some()
                        && std::mem::replace(&mut w.pre_exec_heartbeat, true);
                    if !during_execution {
                        w.poll_failed = true;
                    }
                }
                CallResult::Ok
                    if *op == QueueOp::Heartbeat
                        && attempt.is_some()
                        && w.dequeued_at.is_some() =>
                {
                    w.pre_exec_heartbeat = true;
                }
                CallResult::Dequeued { attempt } => {
                    w.dequeued_at = Some(at);
                    expected.push((
                        attempt.clone(),
                        w.failed_in_a_row,
                        w.slept_ms,
                        self.retry_metrics,
                    ));
                }
                _ => {}
            },
            EventKind::PollFailed {
                failures, delay_ms, ..
            } => {
                let count = w.failed_in_a_row + 1;
                let (low, high) = super::oracle::envelope_ms(&self.policy, count, w.last_delay);
                if !w.poll_failed {
                    backoff.add_with(|| {
                        format!(
                            "{worker} backed off at {} ms, but no call of that poll failed",
                            at.as_millis()
                        )
                    });
                } else if *failures != count || *delay_ms < low || *delay_ms > high {
                    backoff.add_with(|| {
                        let policy_says = if low == high {
                            format!("{low} ms")
                        } else {
                            format!("{low} to {high} ms ({} jitter)", self.policy.jitter.as_str())
                        };
                        format!(
                            "{worker} slept {delay_ms} ms after failure {failures} at {} ms; the policy gives {policy_says} for failure {count}",
                            at.as_millis()
                        )
                    });
                }
                w.backed_off = true;
                w.slept_ms += delay_ms;
                w.last_delay = Some(Duration::from_millis(*delay_ms));
                w.backoff_until = Some((at + Duration::from_millis(*delay_ms), *delay_ms));
            }
            EventKind::BackoffEnded { delay_ms } => {
                if let Some((until, slept)) = w.backoff_until.take()
                    && (until != at || slept != *delay_ms)
                {
                    backoff.add_with(|| {
                        format!(
                            "{worker}'s {slept} ms backoff should have ended at {} ms, ended at {} ms",
                            until.as_millis(),
                            at.as_millis()
                        )
                    });
                }
            }
            _ => {}
        }
    }

    /// no-stranded-attempt.
    fn observe_processing(&mut self, kind: &EventKind) {
        let processing = &mut self.processing;
        match kind {
            EventKind::AttemptStarted { attempt, .. } => *processing = Some(attempt.clone()),
            EventKind::PollProcessed
            | EventKind::PollFailed { .. }
            | EventKind::WorkerCrashed
            | EventKind::WorkerFailed { .. }
            | EventKind::WorkerRestarted => *processing = None,
            _ => {}
        }
    }
}

/// True when two ids are equal. Ids are shared (`Arc`), so most equal ids
/// are the same allocation: that is checked first, before the bytes.
#[inline]
fn same(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// Workers a [`Monitor`] finds by a scan of its entries: a run of a few
/// workers, nearly every run, needs no index.
const WORKERS_SCANNED: usize = 16;

/// The index of a [`Monitor`]'s worker entries by id, built once a run has
/// more than [`WORKERS_SCANNED`] workers. It is only ever searched, never
/// walked, so its order is invisible.
#[derive(Debug, Clone, Default)]
struct WorkerIndex(HashMap<WorkerId, usize, ahash::RandomState>);

impl WorkerIndex {
    fn find(&self, workers: &[WorkerEntry], worker: &WorkerId) -> Option<usize> {
        if self.0.is_empty() {
            workers
                .iter()
                .position(|w| same(w.id.as_str(), worker.as_str()))
        } else {
            self.0.get(worker).copied()
        }
    }

    /// Takes note of the entry just pushed onto `workers`.
    fn added(&mut self, workers: &[WorkerEntry]) {
        if !self.0.is_empty() {
            let i = workers.len() - 1;
            self.0.insert(workers[i].id.clone(), i);
        } else if workers.len() > WORKERS_SCANNED {
            self.0 = workers
                .iter()
                .enumerate()
                .map(|(i, w)| (w.id.clone(), i))
                .collect();
        }
    }
}

/// The open attempt of each rollout, with its worker. Runs have a few at a
/// time, found fastest by a scan; attempts stranded by crashes can make
/// many, kept in a map once there are more than [`Self::FEW`]. The map is
/// only ever searched, never walked, so which one holds them is invisible.
#[derive(Debug, Clone, Default)]
struct OpenAttempts {
    /// Used while `many` is empty.
    few: Vec<(AttemptId, WorkerId)>,
    many: BTreeMap<RolloutId, (AttemptId, WorkerId)>,
}

impl OpenAttempts {
    const FEW: usize = 16;

    fn position(&self, rollout: &RolloutId) -> Option<usize> {
        self.few
            .iter()
            .position(|(a, _)| same(a.rollout.as_str(), rollout.as_str()))
    }

    fn get(&self, rollout: &RolloutId) -> Option<&(AttemptId, WorkerId)> {
        if self.many.is_empty() {
            self.position(rollout).map(|i| &self.few[i])
        } else {
            self.many.get(rollout)
        }
    }

    fn insert(&mut self, attempt: AttemptId, worker: WorkerId) {
        if self.many.is_empty() {
            if let Some(i) = self.position(&attempt.rollout) {
                self.few[i] = (attempt, worker);
                return;
            }
            if self.few.len() < Self::FEW {
                self.few.push((attempt, worker));
                return;
            }
            let few = self.few.drain(..).map(|(a, w)| (a.rollout.clone(), (a, w)));
            self.many.extend(few);
        }
        self.many.insert(attempt.rollout.clone(), (attempt, worker));
    }

    fn remove(&mut self, rollout: &RolloutId) {
        if self.many.is_empty() {
            if let Some(i) = self.position(rollout) {
                self.few.swap_remove(i);
            }
        } else {
            self.many.remove(rollout);
        }
    }
}

impl Monitor {
    /// A monitor for a run of `plan`, before its first event.
    pub fn new(plan: &SimPlan) -> Self {
        Self {
            settings: plan
                .worker_runners
                .iter()
                .map(|(w, r)| (w.clone(), (r.backoff, r.retry_metrics)))
                .collect(),
            default_settings: (plan.runner.backoff, plan.runner.retry_metrics),
            // Sized for the run, so that a small one never grows them.
            workers: Vec::with_capacity(plan.workers.len()),
            worker_index: WorkerIndex::default(),
            expected: Vec::with_capacity(plan.rollouts.len().min(EXPECTED_RESERVED)),
            backoff: Findings::default(),
            open: OpenAttempts::default(),
            attempt_ids: Findings::default(),
        }
    }

    /// Takes the next event of the run.
    pub fn observe(&mut self, event: &TraceEvent) {
        self.observe_parts(event.at, event.worker.as_ref(), &event.kind);
    }

    /// [`observe`](Self::observe), the event given in parts (as the
    /// recorder has it, before any [`TraceEvent`] is built).
    #[inline]
    fn observe_parts(&mut self, at: Duration, worker: Option<&WorkerId>, kind: &EventKind) {
        self.observe_attempt_ids(at, worker, kind);
        let Some(worker) = worker else {
            return;
        };
        let Self {
            settings,
            default_settings,
            workers,
            worker_index,
            expected,
            backoff,
            ..
        } = self;
        let i = match worker_index.find(workers, worker) {
            Some(i) => i,
            None => {
                let (policy, retry_metrics) =
                    settings.get(worker).copied().unwrap_or(*default_settings);
                workers.push(WorkerEntry {
                    id: worker.clone(),
                    policy,
                    retry_metrics,
                    polls: WorkerPolls::default(),
                    processing: None,
                });
                worker_index.added(workers);
                workers.len() - 1
            }
        };
        let entry = &mut workers[i];
        entry.observe_polls(backoff, expected, at, kind);
        entry.observe_processing(kind);
    }

    /// The verdict of every invariant that applies
    /// ([`Invariant::applicable`]), in [`Invariant::ALL`] order, once the
    /// run is over: the events seen, with the run's final state.
    pub fn finish(self, plan: &SimPlan, run: RunFacts<'_>) -> Vec<InvariantReport> {
        let mut reports = vec![
            all_terminal(plan, run),
            retry_metrics(run, self.expected),
            self.backoff.report(Invariant::BackoffPolicy),
            attempt_ids(run, self.attempt_ids),
            no_stranded(plan, run, &self.workers, &self.worker_index),
            spans_persisted(run),
        ];
        if let Some(heal) = plan.heal {
            reports.push(liveness(plan, heal, run));
        }
        reports
    }

    fn observe_attempt_ids(&mut self, at: Duration, worker: Option<&WorkerId>, kind: &EventKind) {
        match kind {
            EventKind::Call {
                result: CallResult::Dequeued { attempt },
                ..
            } => {
                let worker = worker.cloned().unwrap_or_else(|| WorkerId::new("?"));
                if let Some((other, on)) = self.open.get(&attempt.rollout) {
                    self.attempt_ids.add_with(|| {
                        format!(
                            "{attempt} started on {worker} at {} ms while {other} was still running on {on}",
                            at.as_millis()
                        )
                    });
                }
                self.open.insert(attempt.clone(), worker);
            }
            EventKind::AttemptFinished {
                attempt,
                recorded: true,
                ..
            } => {
                self.open.remove(&attempt.rollout);
            }
            // On the turmoil engine the queue's own record counts too: the
            // reply that told a worker may have been lost.
            EventKind::Call {
                result: CallResult::TimedOut { attempts },
                ..
            }
            | EventKind::Served {
                result: CallResult::TimedOut { attempts },
                ..
            } => {
                for a in attempts {
                    self.open.remove(&a.rollout);
                }
            }
            _ => {}
        }
    }
}

impl EventObserver for Monitor {
    fn observe(&mut self, at: Duration, worker: Option<&WorkerId>, kind: &EventKind) {
        self.observe_parts(at, worker, kind);
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

fn all_terminal(plan: &SimPlan, run: RunFacts<'_>) -> InvariantReport {
    let mut found = Findings::default();
    if plan.stop.when == StopWhen::AllTerminal && run.stop != StopReason::AllTerminal {
        let open: Vec<_> = run
            .snapshot
            .rollouts
            .iter()
            .filter(|r| !r.status.is_terminal())
            .collect();
        let missing = plan
            .rollouts
            .len()
            .saturating_sub(run.snapshot.rollouts.len());
        let mut message = format!(
            "{} of {} rollouts not terminal when the run ended ({})",
            open.len() + missing,
            plan.rollouts.len(),
            run.stop.describe()
        );
        let listed: Vec<String> = open
            .iter()
            .take(5)
            .map(|r| format!("{} {}", r.id, r.status))
            .collect();
        if !listed.is_empty() {
            message.push_str(&format!(": {}", listed.join(", ")));
            if open.len() > 5 {
                message.push_str(", ...");
            }
        }
        found.add(message);
    }
    found.report(Invariant::AllTerminal)
}

#[derive(Debug, Clone, Default)]
struct WorkerPolls {
    failed_in_a_row: u32,
    /// Backoff slept over those failures, in ms.
    slept_ms: u64,
    last_delay: Option<Duration>,
    in_poll: bool,
    poll_failed: bool,
    backed_off: bool,
    dequeued_at: Option<Duration>,
    /// The attempt heartbeat before execution (on the poll path) was seen.
    pre_exec_heartbeat: bool,
    backoff_until: Option<(Duration, u64)>,
}

impl WorkerPolls {
    /// Ends the open poll; reports a failed poll the runner did not back off from.
    fn close_poll(&mut self, worker: &WorkerId, at: Duration, findings: &mut Findings) {
        if self.in_poll {
            if self.poll_failed {
                self.failed_in_a_row += 1;
                if !self.backed_off {
                    findings.add_with(|| {
                        format!(
                            "{worker}: a poll failed before {} ms but the runner did not back off",
                            at.as_millis()
                        )
                    });
                }
            } else {
                self.failed_in_a_row = 0;
                self.slept_ms = 0;
                self.last_delay = None;
            }
        }
        self.in_poll = false;
        self.poll_failed = false;
        self.backed_off = false;
        self.dequeued_at = None;
        self.pre_exec_heartbeat = false;
    }
}

/// [`AttemptId`]'s order, skipping the rollout ids' bytes when they are
/// one allocation (see [`same`]).
fn by_id(a: &AttemptId, b: &AttemptId) -> std::cmp::Ordering {
    if std::ptr::eq(a.rollout.as_str(), b.rollout.as_str()) {
        a.number.cmp(&b.number)
    } else {
        a.cmp(b)
    }
}

/// The rewards of one name on an attempt: how many, and the first value.
#[derive(Default)]
struct Tally {
    count: usize,
    first: f64,
}

impl Tally {
    fn add(&mut self, value: f64) {
        if self.count == 0 {
            self.first = value;
        }
        self.count += 1;
    }

    /// Exactly one reward, of this value.
    fn is_one(&self, value: f64) -> bool {
        self.count == 1 && self.first == value
    }
}

fn retry_metrics(
    run: RunFacts<'_>,
    mut expected: Vec<(AttemptId, u32, u64, bool)>,
) -> InvariantReport {
    let mut found = Findings::default();
    let spans = &run.snapshot.spans;
    // In attempt order, as the store keeps spans: one pass over both. Of
    // two entries for one attempt, the later counts.
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let mut stored = spans.by_attempt().peekable();
    for (i, (attempt, failures, backoff_ms, metrics_on)) in expected.iter().enumerate() {
        let (failures, backoff_ms, metrics_on) = (*failures, *backoff_ms, *metrics_on);
        if expected
            .get(i + 1)
            .is_some_and(|next| by_id(&next.0, attempt).is_eq())
        {
            continue;
        }
        while stored
            .next_if(|(id, _)| by_id(id, attempt).is_lt())
            .is_some()
        {}
        let Some((_, of_attempt)) = stored.next_if(|(id, _)| by_id(id, attempt).is_eq()) else {
            continue; // never flushed: nothing to judge
        };
        // Judged on a count and a first value; the values are listed only
        // in a finding, so a verdict copies nothing.
        let (mut got_failures, mut got_backoff) = (Tally::default(), Tally::default());
        for span in of_attempt.clone() {
            match span.reward() {
                Some((name, value)) if name == RETRY_FAILURES_METRIC => got_failures.add(value),
                Some((name, value)) if name == RETRY_BACKOFF_METRIC => got_backoff.add(value),
                _ => {}
            }
        }
        let values = |name: &str| {
            rewards_named(of_attempt.clone(), name)
                .iter()
                .map(|r| r.value.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if metrics_on && failures > 0 {
            let ok =
                got_failures.is_one(f64::from(failures)) && got_backoff.is_one(backoff_ms as f64);
            if !ok {
                found.add(format!(
                    "{attempt} followed {failures} failed polls ({backoff_ms} ms backoff) but carries failures [{}] and backoff [{}]",
                    values(RETRY_FAILURES_METRIC),
                    values(RETRY_BACKOFF_METRIC)
                ));
            }
        } else if got_failures.count > 0 || got_backoff.count > 0 {
            let why = if failures == 0 {
                "followed no failed poll"
            } else {
                "has retry_metrics off"
            };
            found.add(format!(
                "{attempt} {why} but carries failures [{}] and backoff [{}]",
                values(RETRY_FAILURES_METRIC),
                values(RETRY_BACKOFF_METRIC)
            ));
        }
    }
    found.report(Invariant::RetryMetricsIffRecovered)
}

fn attempt_ids(run: RunFacts<'_>, from_trace: Findings) -> InvariantReport {
    let mut found = Findings::default();
    for rollout in &run.snapshot.rollouts {
        for (i, attempt) in rollout.attempts.iter().enumerate() {
            // Compared in place with `{rollout.id}:attempt-{i + 1}`.
            let id = &attempt.id;
            if !same(id.rollout.as_str(), rollout.id.as_str()) || id.number != i as u32 + 1 {
                found.add(format!(
                    "attempt {} of {} is numbered {}",
                    i + 1,
                    rollout.id,
                    attempt.id
                ));
            }
        }
        let running = rollout
            .attempts
            .iter()
            .filter(|a| a.status == AttemptStatus::Running)
            .count();
        if running > 1 {
            found.add(format!("{} has {running} running attempts", rollout.id));
        }
    }
    found.append(from_trace);
    found.report(Invariant::AttemptIds)
}

/// An attempt still `running` at the end on a worker that is not
/// processing it, once the queue has had its chance to time it out: a
/// reassignment scan comes every `reassignment_interval` and times out what
/// has been silent longer than `worker_timeout`, so an attempt whose last
/// heartbeat is more recent than both before the end is not stranded yet,
/// however the queue finds stale attempts (a run stopped at a time can end
/// right after a completion failed).
fn no_stranded(
    plan: &SimPlan,
    run: RunFacts<'_>,
    workers: &[WorkerEntry],
    index: &WorkerIndex,
) -> InvariantReport {
    // The most lenient of the workers' settings: any of them may reassign.
    let grace = std::iter::once(&plan.runner)
        .chain(plan.worker_runners.values())
        .map(|r| r.worker_timeout.saturating_add(r.reassignment_interval))
        .max()
        .unwrap_or_default();
    let mut found = Findings::default();
    for rollout in &run.snapshot.rollouts {
        for attempt in rollout
            .attempts
            .iter()
            .filter(|a| a.status == AttemptStatus::Running)
            .filter(|a| run.ended_at > a.last_heartbeat.saturating_add(grace))
        {
            let state = run.workers.get(&attempt.worker).copied();
            let processing = index
                .find(workers, &attempt.worker)
                .is_some_and(|i| workers[i].processing.as_ref() == Some(&attempt.id));
            if state != Some(WorkerState::Alive) || !processing {
                let why = match state {
                    Some(WorkerState::Crashed) => "which crashed".to_string(),
                    Some(WorkerState::Failed) => "whose runner failed".to_string(),
                    None => "which does not exist".to_string(),
                    Some(WorkerState::Alive) => "which is no longer processing it".to_string(),
                    // A worker that never started ran nothing: not reached.
                    Some(WorkerState::Pending) => "which has not started".to_string(),
                };
                found.add(format!(
                    "{} is still running at the end, on {} {why} (last heartbeat at {} ms)",
                    attempt.id,
                    attempt.worker,
                    attempt.last_heartbeat.as_millis()
                ));
            }
        }
    }
    found.report(Invariant::NoStrandedAttempt)
}

/// Every rollout not terminal when the run ended, which (the run ending
/// at the close of the recovery window at the latest, or earlier when
/// nothing was left to happen) is what was still pending at
/// `heal_at + recover_within`; and every planned rollout never enqueued.
fn liveness(plan: &SimPlan, heal: Heal, run: RunFacts<'_>) -> InvariantReport {
    let mut found = Findings::default();
    let when = format!(
        "at heal_at + recover_within = {} ms ({} ms + {} ms)",
        heal.deadline().as_millis(),
        heal.at.as_millis(),
        heal.recover_within.as_millis()
    );
    let early = match run.stop {
        StopReason::TimeBudget { .. }
        | StopReason::EventBudget { .. }
        | StopReason::TurmoilBudget { .. } => {
            format!(" (the run stopped before: {})", run.stop.describe())
        }
        _ => String::new(),
    };
    for rollout in run
        .snapshot
        .rollouts
        .iter()
        .filter(|r| !r.status.is_terminal())
    {
        let last = match rollout.attempts.last() {
            Some(a) => format!("{} {} on {}", a.id, a.status, a.worker),
            None => "no attempt yet".to_string(),
        };
        found.add(format!(
            "{} still {} {when}{early}: {last}",
            rollout.id, rollout.status
        ));
    }
    if plan.rollouts.len() > run.snapshot.rollouts.len() {
        let enqueued: std::collections::BTreeSet<&str> = run
            .snapshot
            .rollouts
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        for planned in plan
            .rollouts
            .iter()
            .filter(|p| !enqueued.contains(p.id.as_str()))
        {
            found.add(format!(
                "{} still not enqueued {when}{early}: enqueue_at {} ms",
                planned.id,
                planned.enqueue_at.as_millis()
            ));
        }
    }
    found.report(Invariant::Liveness)
}

fn spans_persisted(run: RunFacts<'_>) -> InvariantReport {
    let mut found = Findings::default();
    let mut stored = run.snapshot.spans.lookup();
    for rollout in &run.snapshot.rollouts {
        for attempt in &rollout.attempts {
            if !matches!(
                attempt.status,
                AttemptStatus::Succeeded | AttemptStatus::Failed
            ) {
                continue;
            }
            let spans = stored.attempt(&attempt.id);
            if spans.len() == 0 {
                found.add(format!(
                    "{} finished {} with no persisted spans",
                    attempt.id, attempt.status
                ));
                continue;
            }
            let count = spans.len() as u32;
            if spans.clone().map(|s| s.sequence_id()).ne(1..=count) {
                let ids: Vec<u32> = spans.map(|s| s.sequence_id()).collect();
                found.add(format!(
                    "{} has span sequence ids {ids:?}, not 1..{}",
                    attempt.id,
                    ids.len()
                ));
            }
        }
    }
    found.report(Invariant::SpansPersisted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_attempts_answer_as_a_map_would_few_or_many() {
        let mut open = OpenAttempts::default();
        let mut model = BTreeMap::new();
        let worker = WorkerId::new("worker-1");
        // Over 40 rollouts: open most (more than FEW), close them all, and
        // again.
        let mut x = 7u32;
        let (mut many, mut few_again) = (false, false);
        for step in 0..2_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let rollout = RolloutId::new(format!("r{}", (x >> 8) % 40));
            let filling = (step / 500) % 2 == 0;
            if filling && (x >> 20) % 3 != 0 {
                let attempt = AttemptId::new(rollout.clone(), step);
                open.insert(attempt.clone(), worker.clone());
                model.insert(rollout.clone(), attempt);
            } else {
                open.remove(&rollout);
                model.remove(&rollout);
            }
            assert_eq!(open.get(&rollout).map(|(a, _)| a), model.get(&rollout));
            assert!(open.few.is_empty() || open.many.is_empty());
            assert_eq!(open.few.len() + open.many.len(), model.len());
            many |= !open.many.is_empty();
            few_again |= many && !open.few.is_empty();
        }
        assert!(many && few_again);
    }
}
