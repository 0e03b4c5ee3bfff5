//! Shrinking: the smallest scenario that still fails the same way.
//!
//! Start from the frozen failing run (every random fault an explicit script
//! step) and greedily try reductions: drop a rollout, drop a timed fault,
//! drop a script step, lower a step's count, halve a duration, drop a worker.
//! A reduction is kept when the reduced scenario still fails the *same
//! check* (the first failed expectation or violated invariant of the
//! original). The loop ends when no reduction is kept, or after a bounded
//! number of runs, so shrinking always terminates.

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
                    std::time::Duration::from_millis((d.as_millis() / 2) as u64);
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
        let last = s.plan.workers.last().cloned();
        let referenced = s.plan.timed_faults.iter().any(|f| match &f.action {
            rollout_simulator::TimedAction::Crash(w) | rollout_simulator::TimedAction::Restart(w) => Some(w) == last.as_ref(),
            #[allow(unreachable_patterns)]
            _ => true,
        }) || s.plan.fault_scripts.values().any(|sc| matches!(sc, OpScript::PerWorker(per) if last.as_ref().is_some_and(|w| per.contains_key(w))))
            || s.expect.rollouts.iter().any(|(_, e)| e.worker.is_some())
            || s.expect.other_rollouts.as_ref().is_some_and(|e| e.worker.is_some());
        if !referenced {
            let mut c = s.clone();
            c.plan.workers.pop();
            out.push(c);
        }
    }
    out
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
}

/// Shrinks a failing (frozen) scenario; `None` if it does not fail.
pub fn shrink(frozen: &Scenario, engine: Option<EngineKind>) -> Option<Shrunk> {
    let signature = failure_signature(frozen, engine)?;
    let mut current = frozen.clone();
    let mut runs = 1;
    let mut steps = 0;
    'outer: loop {
        for candidate in candidates(&current) {
            if runs >= MAX_SHRINK_RUNS {
                break 'outer;
            }
            runs += 1;
            if still_fails(&candidate, &signature, engine) {
                current = candidate;
                steps += 1;
                continue 'outer;
            }
        }
        break;
    }
    Some(Shrunk {
        scenario: current,
        signature,
        runs,
        steps,
    })
}
