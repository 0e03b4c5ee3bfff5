//! Freezing: a seed's random choices written out as an explicit script.
//!
//! The scenario runs once with the seed, recording the verdict of every
//! faultable call (script or overlay). Those verdicts become the scripts of
//! the frozen scenario, and the overlay is removed: running the frozen file
//! gives the same outcomes, rewards and trace as the original with that seed,
//! apart from injected faults being tagged `script` instead of `random`.
//! Backoff jitter is not a fault: it stays drawn from the seed, which the
//! frozen file keeps.

use std::collections::BTreeMap;

use rollout_core::WorkerId;
use rollout_scenario::Scenario;
use rollout_simulator::EngineKind;
use rollout_simulator::{FaultStep, OpScript, Verdict};

/// Turns a list of verdicts into steps, merging runs and dropping the
/// trailing passes (after the last step every call passes anyway).
pub fn compress(verdicts: &[Verdict]) -> Vec<FaultStep> {
    let mut steps: Vec<FaultStep> = Vec::new();
    let end = verdicts
        .iter()
        .rposition(|v| *v != Verdict::Pass)
        .map_or(0, |i| i + 1);
    for verdict in &verdicts[..end] {
        match (steps.last_mut(), verdict) {
            (Some(FaultStep::Pass { times }), Verdict::Pass)
            | (Some(FaultStep::Empty { times }), Verdict::Empty) => *times += 1,
            (Some(FaultStep::Fail { times, message }), Verdict::Fail(m)) if message == m => {
                *times += 1
            }
            (_, Verdict::Pass) => steps.push(FaultStep::Pass { times: 1 }),
            (_, Verdict::Empty) => steps.push(FaultStep::Empty { times: 1 }),
            (_, Verdict::Fail(m)) => steps.push(FaultStep::Fail {
                times: 1,
                message: m.clone(),
            }),
        }
    }
    steps
}

/// The scenario with `seed`'s random faults materialised as scripts.
pub fn freeze(scenario: &Scenario, seed: u64, engine: Option<EngineKind>) -> Scenario {
    let mut plan = scenario.plan.clone();
    plan.seed = seed;
    plan.record_verdicts = true;
    let run = rollout_simulator::run(&plan, engine.unwrap_or_else(|| scenario.engine()));
    let log = run.verdicts;
    let mut scripts = BTreeMap::new();
    for (&op, shared) in &log.shared {
        let scripted = plan.fault_scripts.get(&op);
        if scripted.is_none() && !plan.random_faults.contains_key(&op) {
            continue;
        }
        let script = match scripted {
            Some(OpScript::PerWorker(_)) => {
                let per: BTreeMap<WorkerId, Vec<FaultStep>> = log
                    .per_worker
                    .iter()
                    .filter(|((o, _), _)| *o == op)
                    .map(|((_, w), v)| (w.clone(), compress(v)))
                    .filter(|(_, steps)| !steps.is_empty())
                    .collect();
                OpScript::PerWorker(per)
            }
            _ => OpScript::Shared(compress(shared)),
        };
        let empty = match &script {
            OpScript::Shared(s) => s.is_empty(),
            OpScript::PerWorker(m) => m.is_empty(),
        };
        if !empty {
            scripts.insert(op, script);
        }
    }
    plan.fault_scripts = scripts;
    plan.random_faults.clear();
    // The branch reseeded the overlay, whose every draw is now a step.
    plan.branch = rollout_simulator::Branch::NONE;
    plan.record_verdicts = false;
    let mut frozen = scenario.clone();
    frozen.plan = plan;
    frozen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_merges_runs_and_drops_trailing_passes() {
        let f = |m: &str| Verdict::Fail(m.into());
        let v = [
            Verdict::Pass,
            Verdict::Pass,
            f("a"),
            f("a"),
            f("b"),
            Verdict::Empty,
            Verdict::Pass,
            Verdict::Pass,
        ];
        assert_eq!(
            compress(&v),
            [
                FaultStep::Pass { times: 2 },
                FaultStep::Fail {
                    times: 2,
                    message: "a".into()
                },
                FaultStep::Fail {
                    times: 1,
                    message: "b".into()
                },
                FaultStep::Empty { times: 1 },
            ]
        );
        assert!(compress(&[Verdict::Pass]).is_empty());
    }
}
