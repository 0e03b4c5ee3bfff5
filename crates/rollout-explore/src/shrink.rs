//! Shrinking: the smallest scenario that still fails the same way.
//!
//! Start from the frozen failing run (every random fault an explicit script
//! step) and greedily try reductions: drop a rollout, drop a timed fault,
//! drop a script step, lower a step's count, halve a duration, drop a worker.
//! A reduction is kept when the reduced scenario still fails the *same
//! check* (the first failed expectation or violated invariant of the
//! original). The loop ends when no reduction is kept, or after a bounded
//! number of runs, so shrinking always terminates.

use std::time::Duration;

use rollout_scenario::Target;
use rollout_scenario::{RunOptions, Scenario, run_scenario};
use rollout_simulator::EngineKind;
use rollout_simulator::{FaultStep, OpScript};

/// Runs a shrink may spend at most.
pub const MAX_SHRINK_RUNS: usize = 2_000;

/// The name of the first failure of a run of `scenario`, if it fails.
pub fn failure_signature(scenario: &Scenario, engine: Option<EngineKind>) -> Option<String> {
    let outcome = run_scenario(
        scenario,
        RunOptions {
            engine,
            ..RunOptions::default()
        },
    );
    // Checks on named rollouts or attempts shrink to the same name; the
    // budget check is named `stop`.
    let first_check = outcome.failed_checks().next().map(|c| c.name.to_string());
    let first_invariant = outcome
        .violated()
        .next()
        .map(|i| format!("invariant {}", i.name));
    first_invariant.or(first_check)
}

/// `s` as its file would load: written out and read back, so that what a
/// shrink keeps is what it writes, and a reduction the loader refuses (a
/// stop before an expected rollout could finish, say) is not kept.
fn as_written(s: &Scenario) -> Option<Scenario> {
    let yaml = rollout_scenario::to_yaml(s, &[]).ok()?;
    let mut loaded = rollout_scenario::load_str(&s.path, &yaml).ok()?;
    loaded.name.clone_from(&s.name);
    Some(loaded)
}

fn still_fails(candidate: &Scenario, signature: &str, engine: Option<EngineKind>) -> bool {
    let outcome = run_scenario(
        candidate,
        RunOptions {
            engine,
            ..RunOptions::default()
        },
    );
    outcome
        .violated()
        .any(|i| format!("invariant {}", i.name) == signature)
        || outcome.failed_checks().any(|c| c.name == signature)
}

fn names_rollout(target: &Target, id: &str) -> bool {
    match target {
        Target::Rollout(r) => r.as_str() == id,
        Target::Attempt(a) => a.rollout.as_str() == id,
    }
}

fn without_rollout(s: &Scenario, index: usize) -> Scenario {
    let mut s = s.clone();
    let id = s.plan.rollouts.remove(index).id.to_string();
    let e = &mut s.expect;
    e.rollouts.retain(|(r, _)| r.as_str() != id);
    e.rewards.retain(|(t, _)| !names_rollout(t, &id));
    e.absent_rewards
        .retain(|(t, _)| !t.as_ref().is_some_and(|t| names_rollout(t, &id)));
    e.spans.retain(|(t, _)| !names_rollout(t, &id));
    e.spans_containing.retain(|(t, _)| !names_rollout(t, &id));
    e.attempts.retain(|(a, _)| a.rollout.as_str() != id);
    s
}

fn script_steps(s: &mut Scenario) -> Vec<&mut Vec<FaultStep>> {
    s.plan
        .fault_scripts
        .values_mut()
        .flat_map(|script| match script {
            OpScript::Shared(steps) => vec![steps],
            OpScript::PerWorker(per) => per.values_mut().collect(),
        })
        .collect()
}

/// Every one-step reduction of `s`, most aggressive first.
fn candidates(s: &Scenario) -> Vec<Scenario> {
    let mut out = Vec::new();
    // Fewer rollouts: the back half, then one at a time.
    let n = s.plan.rollouts.len();
    if n > 1 {
        let mut half = s.clone();
        for i in (n / 2..n).rev() {
            half = without_rollout(&half, i);
        }
        out.push(half);
        for i in (0..n).rev() {
            out.push(without_rollout(s, i));
        }
    }
    for i in (0..s.plan.timed_faults.len()).rev() {
        let mut c = s.clone();
        c.plan.timed_faults.remove(i);
        out.push(c);
    }
    let step_lists = {
        let mut probe = s.clone();
        script_steps(&mut probe)
            .iter()
            .map(|v| v.len())
            .collect::<Vec<_>>()
    };
    for (list, len) in step_lists.iter().enumerate() {
        for i in (0..*len).rev() {
            let mut c = s.clone();
            script_steps(&mut c)[list].remove(i);
            out.push(c);
            for lower in [true, false] {
                let mut c = s.clone();
                let step = &mut script_steps(&mut c)[list][i];
                let times = match step {
                    FaultStep::Fail { times, .. }
                    | FaultStep::Pass { times }
                    | FaultStep::Empty { times } => times,
                };
                if *times > 1 {
                    *times = if lower { *times / 2 } else { *times - 1 };
                    out.push(c);
                }
            }
        }
    }
    for i in 0..s.plan.rollouts.len() {
        for j in 0..s.plan.rollouts[i].attempts.len() {
            let d = s.plan.rollouts[i].attempts[j].duration;
            if d.as_millis() >= 2 {
                let mut c = s.clone();
                c.plan.rollouts[i].attempts[j].duration =
                    Duration::from_millis((d.as_millis() / 2) as u64);
                out.push(c);
            }
        }
        if s.plan.rollouts[i].attempts.len() > 1 {
            let mut c = s.clone();
            c.plan.rollouts[i].attempts.pop();
            out.push(c);
        }
    }
    if s.plan.workers.len() > 1 {
        for (i, worker) in s.plan.workers.iter().enumerate().rev() {
            if !names_worker(s, worker) {
                let mut c = s.clone();
                c.plan.workers.remove(i);
                c.plan.worker_runners.remove(worker);
                c.plan.start_at.remove(worker);
                out.push(c);
            }
        }
    }
    time_candidates(s, &mut out);
    out
}

/// True when something besides the worker list names `worker`: a timed
/// fault, a per-worker script, an expectation on which worker ran a
/// rollout. Such a worker stays.
fn names_worker(s: &Scenario, worker: &rollout_core::WorkerId) -> bool {
    use rollout_simulator::TimedAction;
    s.plan.timed_faults.iter().any(|f| match &f.action {
        TimedAction::Crash(w) | TimedAction::Restart(w) => w == worker,
        #[allow(unreachable_patterns)]
        _ => true,
    }) || s
        .plan
        .fault_scripts
        .values()
        .any(|sc| matches!(sc, OpScript::PerWorker(per) if per.contains_key(worker)))
        || s.expect.rollouts.iter().any(|(_, e)| e.worker.is_some())
        || s.expect
            .other_rollouts
            .as_ref()
            .is_some_and(|e| e.worker.is_some())
        || s.expect.attempts.iter().any(|(_, e)| e.worker.is_some())
}

/// Half of `d`, in whole ms, when that is shorter (1-minimal: halving any
/// duration must no longer reproduce).
fn halved(d: Duration) -> Option<Duration> {
    let ms = d.as_millis();
    (ms >= 1).then(|| Duration::from_millis((ms / 2) as u64))
}

/// One of the runner's intervals, to read and to halve.
type RunnerInterval = fn(&mut rollout_core::RunnerConfig) -> &mut Duration;

/// Every halving of a span of time: the stop rule's bounds, the runner's
/// intervals and backoff, each rollout's enqueue time and each timed
/// fault's instant. The loader's own rules (an interval above zero, a
/// backoff cap at least its start) still hold for what is written out,
/// because candidates that break them are not made.
fn time_candidates(s: &Scenario, out: &mut Vec<Scenario>) {
    let stop = s.plan.stop;
    if let Some(within) = halved(stop.within) {
        let at_most = match stop.when {
            rollout_simulator::StopWhen::At(at) => at <= within,
            rollout_simulator::StopWhen::AllTerminal => true,
        };
        if at_most {
            let mut c = s.clone();
            c.plan.stop.within = within;
            out.push(c);
        }
    }
    if let rollout_simulator::StopWhen::At(at) = stop.when
        && let Some(half) = halved(at)
    {
        let mut c = s.clone();
        c.plan.stop.when = rollout_simulator::StopWhen::At(half);
        c.plan.stop.within = c.plan.stop.within.min(stop.within).max(half);
        out.push(c.clone());
        // Both at once: a run stopped at a time usually has `within` equal.
        if stop.within == at {
            c.plan.stop.within = half;
            out.push(c);
        }
    }
    let r = &s.plan.runner;
    let intervals: [(RunnerInterval, Duration); 4] = [
        (|r| &mut r.poll_interval, r.poll_interval),
        (|r| &mut r.heartbeat_interval, r.heartbeat_interval),
        (|r| &mut r.reassignment_interval, r.reassignment_interval),
        (|r| &mut r.worker_timeout, r.worker_timeout),
    ];
    for (field, value) in intervals {
        if let Some(half) = halved(value).filter(|h| !h.is_zero()) {
            let mut c = s.clone();
            *field(&mut c.plan.runner) = half;
            out.push(c);
        }
    }
    if let Some(half) = halved(r.backoff.max).filter(|h| *h >= r.backoff.initial) {
        let mut c = s.clone();
        c.plan.runner.backoff.max = half;
        out.push(c);
    }
    if let Some(half) = halved(r.backoff.initial).filter(|h| !h.is_zero()) {
        let mut c = s.clone();
        c.plan.runner.backoff.initial = half;
        out.push(c);
    }
    for i in 0..s.plan.rollouts.len() {
        if let Some(half) = halved(s.plan.rollouts[i].enqueue_at) {
            let mut c = s.clone();
            c.plan.rollouts[i].enqueue_at = half;
            out.push(c);
        }
    }
    for i in 0..s.plan.timed_faults.len() {
        if let Some(half) = halved(s.plan.timed_faults[i].at) {
            let mut c = s.clone();
            c.plan.timed_faults[i].at = half;
            out.push(c);
        }
    }
}

/// `shrunk` made to pass as a regression test of the failure it
/// reproduces: each violated invariant moves to `expect.violated`; each
/// failed rollout expectation is pinned to what the run did (a rollout
/// under `*` gets an expectation of its own); failed reward, span and
/// `finished_at` expectations are dropped. Returns the file, a note per
/// change, and whether it now passes (a run that does not stop as its rule
/// asks, say, still fails: that cannot be pinned).
pub fn pinned(shrunk: &Scenario, engine: Option<EngineKind>) -> (Scenario, Vec<String>, bool) {
    let run = |s: &Scenario| {
        run_scenario(
            s,
            RunOptions {
                engine,
                ..RunOptions::default()
            },
        )
    };
    let outcome = run(shrunk);
    let mut pinned = shrunk.clone();
    let mut notes = Vec::new();
    let e = &mut pinned.expect;
    for i in outcome.violated() {
        e.invariants.retain(|x| *x != i.name);
        if !e.violated.contains(&i.name) {
            e.violated.push(i.name);
            notes.push(format!("expect.violated: {} (the failure itself)", i.name));
        }
    }
    let snapshot = &outcome.run.snapshot;
    for c in outcome.failed_checks() {
        let name = c.name.to_string();
        if let Some(rest) = name.strip_prefix("rollouts.")
            && let Some((id, field)) = rest.rsplit_once('.')
            && let Some(actual) = snapshot.rollouts.iter().find(|r| r.id.as_str() == id)
        {
            let slot = match e.rollouts.iter().position(|(r, _)| r.as_str() == id) {
                Some(i) => &mut e.rollouts[i].1,
                None => {
                    let base = e.other_rollouts.clone().unwrap_or_default();
                    e.rollouts.push((actual.id.clone(), base));
                    &mut e.rollouts.last_mut().expect("just pushed").1
                }
            };
            match field {
                "status" => slot.status = Some(actual.status),
                "attempts" => slot.attempts = u32::try_from(actual.attempts.len()).ok(),
                "worker" => slot.worker = None,
                _ => slot.error = None,
            }
            notes.push(format!("{name}: {} (what the run does)", c.actual.human()));
            continue;
        }
        e.rewards.retain_mut(|(target, values)| {
            values.retain(|(reward, _)| name != format!("rewards.{target}.{reward}"));
            !values.is_empty()
        });
        e.absent_rewards.retain_mut(|(target, names)| {
            let t = target.as_ref().map_or("*".to_string(), ToString::to_string);
            names.retain(|reward| name != format!("absent_rewards.{t}.{reward}"));
            !names.is_empty()
        });
        e.spans
            .retain(|(target, _)| name != format!("spans.{target}"));
        e.spans_containing
            .retain(|(target, _)| name != format!("spans.{target}"));
        e.attempts.retain_mut(|(id, want)| {
            if name == format!("attempts.{id}.status") {
                want.status = None;
            }
            if name == format!("attempts.{id}.worker") {
                want.worker = None;
            }
            want.status.is_some() || want.worker.is_some()
        });
        if name == "finished_at" {
            e.finished_at = None;
        }
        let dropped = ["rewards.", "absent_rewards.", "spans.", "attempts."]
            .iter()
            .any(|p| name.starts_with(p))
            || name == "finished_at";
        if dropped {
            notes.push(format!("{name}: dropped (it fails with the defect)"));
        }
    }
    let passes = run(&pinned).passed();
    (pinned, notes, passes)
}

/// What a shrink did.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The smallest failing scenario found.
    pub scenario: Scenario,
    /// The check it fails, as in the original.
    pub signature: String,
    /// Runs spent.
    pub runs: usize,
    /// Reductions kept.
    pub steps: usize,
    /// True when no single reduction of the result still fails the same
    /// way (1-minimal); false when the run budget ran out first.
    pub minimal: bool,
}

/// Shrinks a failing (frozen) scenario; `None` if it does not fail.
pub fn shrink(frozen: &Scenario, engine: Option<EngineKind>) -> Option<Shrunk> {
    let frozen = as_written(frozen).unwrap_or_else(|| frozen.clone());
    let signature = failure_signature(&frozen, engine)?;
    let mut current = frozen;
    let mut runs = 1;
    let mut steps = 0;
    let mut minimal = false;
    'outer: loop {
        for candidate in candidates(&current) {
            if runs >= MAX_SHRINK_RUNS {
                break 'outer;
            }
            let Some(candidate) = as_written(&candidate) else {
                continue;
            };
            runs += 1;
            if still_fails(&candidate, &signature, engine) {
                current = candidate;
                steps += 1;
                continue 'outer;
            }
        }
        minimal = true;
        break;
    }
    Some(Shrunk {
        scenario: current,
        signature,
        runs,
        steps,
        minimal,
    })
}
