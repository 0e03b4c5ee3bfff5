//! Writing a scenario back out as YAML.
//!
//! `freeze` and `--shrink` produce scenario files from a resolved
//! [`Scenario`]: every default written out, generated rollouts listed one by
//! one, scripts explicit. The result loads back to the same plan and
//! expectations (tested), so a file written here runs exactly as the
//! scenario it came from.

use std::time::Duration;

use serde_yaml::{Mapping, Value};

use rollout_core::Jitter;
use rollout_core::QueueOp;
use rollout_core::json_number;
use rollout_simulator::{FaultStep, OpScript};
use rollout_simulator::{RunStep, StepResult, StopWhen, TimedAction};

use super::duration::format_duration;
use super::expect::{Expectations, RewardValue, RolloutExpectation, Target};
use super::load::Scenario;
use super::schema::EngineChoice;

fn dur(d: Duration) -> Value {
    Value::String(format_duration(d))
}

fn map(entries: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in entries {
        m.insert(Value::String(k.to_string()), v);
    }
    Value::Mapping(m)
}

fn string_map(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in entries {
        m.insert(Value::String(k), v);
    }
    Value::Mapping(m)
}

fn json_to_yaml(v: &serde_json::Value) -> Value {
    serde_yaml::to_value(v).unwrap_or(Value::Null)
}

fn number(v: f64) -> Value {
    json_to_yaml(&json_number(v))
}

/// One attempt's `run`; `output` is left out when it is the rollout's
/// `input`, which it defaults to (and written as `null` when there is none).
fn run_step(step: &RunStep, input: &serde_json::Value) -> Value {
    let mut m = Mapping::new();
    m.insert("duration".into(), dur(step.duration));
    match &step.result {
        StepResult::Succeeded { output, rewards } => {
            if output != input {
                m.insert("output".into(), json_to_yaml(output));
            }
            if !rewards.is_empty() {
                m.insert(
                    "rewards".into(),
                    string_map(rewards.iter().map(|r| (r.name.clone(), number(r.value)))),
                );
            }
        }
        StepResult::Failed { message } => {
            m.insert("result".into(), "failed".into());
            m.insert("error".into(), message.as_str().into());
        }
    }
    Value::Mapping(m)
}

fn steps(steps: &[FaultStep]) -> Value {
    Value::Sequence(
        steps
            .iter()
            .map(|s| match s {
                FaultStep::Fail { times, message } => map([(
                    "fail",
                    map([
                        ("times", (*times).into()),
                        ("message", message.as_str().into()),
                    ]),
                )]),
                FaultStep::Pass { times } => map([("pass", (*times).into())]),
                FaultStep::Empty { times } => map([("empty", (*times).into())]),
            })
            .collect(),
    )
}

/// Two hosts of a network event: `[worker-1, queue]`.
fn hosts(a: &rollout_simulator::NetHost, b: &rollout_simulator::NetHost) -> Value {
    Value::Sequence(vec![a.to_string().into(), b.to_string().into()])
}

fn target(t: &Target) -> String {
    match t {
        Target::Rollout(r) => r.to_string(),
        Target::Attempt(a) => a.to_string(),
    }
}

fn rollout_expectation(e: &RolloutExpectation) -> Value {
    let mut m = Mapping::new();
    if let Some(s) = e.status {
        m.insert("status".into(), s.as_str().into());
    }
    if let Some(a) = e.attempts {
        m.insert("attempts".into(), a.into());
    }
    if let Some(w) = &e.worker {
        m.insert("worker".into(), Value::from(&**w));
    }
    if let Some(err) = &e.error {
        m.insert("error".into(), Value::from(&**err));
    }
    Value::Mapping(m)
}

/// The rollout, reward and absent-reward expectations of `e` (the
/// scenario's, or a `sometimes` goal's condition), into `expect`.
fn write_conditions(e: &Expectations, expect: &mut Mapping) {
    if !e.rollouts.is_empty() || e.other_rollouts.is_some() {
        let mut m: Vec<(String, Value)> = e
            .rollouts
            .iter()
            .map(|(id, x)| (id.to_string(), rollout_expectation(x)))
            .collect();
        if let Some(x) = &e.other_rollouts {
            m.push(("*".into(), rollout_expectation(x)));
        }
        expect.insert("rollouts".into(), string_map(m));
    }
    if !e.rewards.is_empty() {
        let m = e.rewards.iter().map(|(t, rewards)| {
            let values = rewards.iter().map(|(name, v)| {
                let value = match v {
                    RewardValue::Exact(x) => number(*x),
                    RewardValue::Between(a, b) => {
                        map([("between", Value::Sequence(vec![number(*a), number(*b)]))])
                    }
                };
                (name.to_string(), value)
            });
            (target(t), string_map(values))
        });
        expect.insert("rewards".into(), string_map(m));
    }
    if !e.absent_rewards.is_empty() {
        let m = e.absent_rewards.iter().map(|(t, names)| {
            let key = t.as_ref().map_or_else(|| "*".to_string(), target);
            (
                key,
                Value::Sequence(names.iter().map(|n| Value::from(&**n)).collect()),
            )
        });
        expect.insert("absent_rewards".into(), string_map(m));
    }
}

/// A runner configuration's settings, every one written out.
fn runner_settings(r: &rollout_core::RunnerConfig) -> Mapping {
    let mut backoff = Mapping::new();
    backoff.insert("initial".into(), dur(r.backoff.initial));
    backoff.insert("max".into(), dur(r.backoff.max));
    if r.backoff.jitter != Jitter::None {
        backoff.insert("jitter".into(), r.backoff.jitter.as_str().into());
    }
    let mut runner = Mapping::new();
    runner.insert("poll_interval".into(), dur(r.poll_interval));
    runner.insert("heartbeat_interval".into(), dur(r.heartbeat_interval));
    runner.insert("reassignment_interval".into(), dur(r.reassignment_interval));
    runner.insert("worker_timeout".into(), dur(r.worker_timeout));
    runner.insert("backoff".into(), Value::Mapping(backoff));
    runner.insert("retry_metrics".into(), r.retry_metrics.into());
    runner
}

/// The scenario as YAML text, preceded by `header` lines as comments.
pub fn to_yaml(scenario: &Scenario, header: &[String]) -> Result<String, String> {
    let plan = &scenario.plan;
    let mut doc = Mapping::new();
    doc.insert("name".into(), scenario.name.as_str().into());
    if let Some(d) = &scenario.description {
        doc.insert("description".into(), d.as_str().into());
    }
    doc.insert("seed".into(), plan.seed.into());
    let engine = match scenario.engine {
        EngineChoice::Auto => "auto",
        EngineChoice::Virtual => "virtual",
        EngineChoice::Tokio => "tokio",
        EngineChoice::Turmoil => "turmoil",
    };
    doc.insert("engine".into(), engine.into());

    let mut runner = runner_settings(&plan.runner);
    if let Some(max) = plan.max_attempts {
        runner.insert("max_attempts".into(), max.into());
    }
    runner.insert("request_timeout".into(), dur(plan.network.request_timeout));
    if let Some(after) = plan.restart_after {
        runner.insert("restart_after".into(), dur(after));
    }
    doc.insert("runner".into(), Value::Mapping(runner));

    let default_names = plan
        .workers
        .iter()
        .enumerate()
        .all(|(i, w)| w.as_str() == format!("worker-{}", i + 1));
    let plain = plan.worker_runners.is_empty() && plan.start_at.is_empty();
    doc.insert(
        "workers".into(),
        if default_names && plain {
            (plan.workers.len() as u64).into()
        } else {
            Value::Sequence(
                plan.workers
                    .iter()
                    .map(|w| {
                        let own = plan.worker_runners.get(w);
                        let start = plan.start_at.get(w);
                        if own.is_none() && start.is_none() {
                            return w.as_str().into();
                        }
                        let mut m = Mapping::new();
                        m.insert("id".into(), w.as_str().into());
                        if let Some(at) = start {
                            m.insert("start_at".into(), dur(*at));
                        }
                        if let Some(r) = own {
                            m.insert("runner".into(), Value::Mapping(runner_settings(r)));
                        }
                        Value::Mapping(m)
                    })
                    .collect(),
            )
        },
    );

    let rollouts = plan
        .rollouts
        .iter()
        .map(|rollout| {
            let mut m = Mapping::new();
            m.insert("id".into(), rollout.id.as_str().into());
            if !rollout.input.is_null() {
                m.insert("input".into(), json_to_yaml(&rollout.input));
            }
            if !rollout.enqueue_at.is_zero() {
                m.insert("enqueue_at".into(), dur(rollout.enqueue_at));
            }
            m.insert("run".into(), run_step(&rollout.attempts[0], &rollout.input));
            if rollout.attempts.len() > 1 {
                m.insert(
                    "attempts".into(),
                    Value::Sequence(
                        rollout
                            .attempts
                            .iter()
                            .map(|a| run_step(a, &rollout.input))
                            .collect(),
                    ),
                );
            }
            Value::Mapping(m)
        })
        .collect();
    doc.insert("rollouts".into(), Value::Sequence(rollouts));

    let mut faults = Mapping::new();
    for (op, script) in &plan.fault_scripts {
        let empty = match script {
            OpScript::Shared(s) => s.is_empty(),
            OpScript::PerWorker(per) => per.values().all(Vec::is_empty),
        };
        if empty {
            continue;
        }
        let value = match script {
            OpScript::Shared(s) => steps(s),
            OpScript::PerWorker(per) => {
                string_map(per.iter().map(|(w, s)| (w.to_string(), steps(s))))
            }
        };
        faults.insert(op.as_str().into(), value);
    }
    if !plan.random_faults.is_empty() {
        let mut random = Mapping::new();
        for (op, rates) in &plan.random_faults {
            let mut m = Mapping::new();
            m.insert("fail_rate".into(), rates.fail_rate.into());
            if *op == QueueOp::Dequeue && rates.empty_rate > 0.0 {
                m.insert("empty_rate".into(), rates.empty_rate.into());
            }
            random.insert(op.as_str().into(), Value::Mapping(m));
        }
        faults.insert("random".into(), Value::Mapping(random));
    }
    if let Some(n) = plan.network.faults {
        let latency = map([("min", dur(n.latency_min)), ("max", dur(n.latency_max))]);
        faults.insert(
            "network".into(),
            map([("latency", latency), ("loss_rate", n.loss_rate.into())]),
        );
    }
    if !plan.timed_faults.is_empty() {
        let mut events = Vec::new();
        // A `latency` event's end (`for`) is the latency reset right after it.
        let mut ends = std::collections::BTreeSet::new();
        for (i, f) in plan.timed_faults.iter().enumerate() {
            if ends.contains(&i) {
                continue;
            }
            #[allow(unreachable_patterns)]
            let event = match &f.action {
                TimedAction::Crash(w) => map([("at", dur(f.at)), ("crash", w.as_str().into())]),
                TimedAction::Restart(w) => map([("at", dur(f.at)), ("restart", w.as_str().into())]),
                TimedAction::Partition(a, b) => {
                    map([("at", dur(f.at)), ("partition", hosts(a, b))])
                }
                TimedAction::Repair(a, b) => map([("at", dur(f.at)), ("repair", hosts(a, b))]),
                TimedAction::Hold(a, b) => map([("at", dur(f.at)), ("hold", hosts(a, b))]),
                TimedAction::Release(a, b) => map([("at", dur(f.at)), ("release", hosts(a, b))]),
                TimedAction::Bounce(h) => {
                    map([("at", dur(f.at)), ("bounce", h.to_string().into())])
                }
                TimedAction::Latency(Some(d)) => match plan.timed_faults.get(i + 1) {
                    Some(end) if end.action == TimedAction::Latency(None) && end.at > f.at => {
                        ends.insert(i + 1);
                        let lasts = end.at - f.at;
                        map([("at", dur(f.at)), ("latency", dur(*d)), ("for", dur(lasts))])
                    }
                    _ => map([("at", dur(f.at)), ("latency", dur(*d))]),
                },
                other => return Err(format!("cannot write the timed fault {other:?} yet")),
            };
            events.push(event);
        }
        faults.insert("at".into(), Value::Sequence(events));
    }
    if let Some(heal) = plan.heal {
        faults.insert("heal_at".into(), dur(heal.at));
    }
    if !faults.is_empty() {
        doc.insert("faults".into(), Value::Mapping(faults));
    }

    if plan.reassignment == rollout_core::ReassignmentPolicy::WorkerActiveIds {
        doc.insert("queue".into(), map([("reassignment", "reference".into())]));
    }

    let mut stop = Mapping::new();
    match plan.stop.when {
        StopWhen::AllTerminal => stop.insert("when".into(), "all_terminal".into()),
        StopWhen::At(at) => stop.insert("when".into(), map([("at", dur(at))])),
    };
    stop.insert("within".into(), dur(plan.stop.within));
    if let Some(heal) = plan.heal {
        stop.insert("recover_within".into(), dur(heal.recover_within));
    }
    doc.insert("stop".into(), Value::Mapping(stop));

    let e = &scenario.expect;
    let mut expect = Mapping::new();
    write_conditions(e, &mut expect);
    if !e.attempts.is_empty() {
        let m = e.attempts.iter().map(|(id, want)| {
            let mut a = Mapping::new();
            if let Some(status) = want.status {
                a.insert("status".into(), status.as_str().into());
            }
            if let Some(worker) = &want.worker {
                a.insert("worker".into(), (**worker).into());
            }
            (id.to_string(), Value::Mapping(a))
        });
        expect.insert("attempts".into(), string_map(m));
    }
    if !e.spans.is_empty() || !e.spans_containing.is_empty() {
        let list =
            |names: &[String]| Value::Sequence(names.iter().map(|n| n.as_str().into()).collect());
        let exact = e.spans.iter().map(|(t, names)| (target(t), list(names)));
        let containing = e
            .spans_containing
            .iter()
            .map(|(t, names)| (target(t), map([("contains", list(names))])));
        expect.insert("spans".into(), string_map(exact.chain(containing)));
    }
    if let Some(at) = e.finished_at {
        expect.insert("finished_at".into(), dur(at));
    }
    // Every invariant not listed as violated is the default: a list would
    // name ones the loader refuses to see named (such as `all-terminal` in
    // a run that stops at a time).
    let applicable = rollout_simulator::Invariant::applicable(plan.heal.is_some());
    let default = applicable.len() == e.invariants.len() + e.violated.len()
        && applicable
            .iter()
            .all(|i| e.invariants.contains(i) || e.violated.contains(i));
    if !default {
        expect.insert(
            "invariants".into(),
            Value::Sequence(e.invariants.iter().map(|n| n.name().into()).collect()),
        );
    }
    if !e.violated.is_empty() {
        expect.insert(
            "violated".into(),
            Value::Sequence(e.violated.iter().map(|n| n.name().into()).collect()),
        );
    }
    if !e.sometimes.is_empty() {
        let m = e.sometimes.iter().map(|goal| {
            let mut condition = Mapping::new();
            write_conditions(&goal.condition, &mut condition);
            if !goal.goals.is_empty() {
                condition.insert(
                    "goals".into(),
                    Value::Sequence(goal.goals.iter().map(|g| g.name().into()).collect()),
                );
            }
            (goal.name.to_string(), Value::Mapping(condition))
        });
        expect.insert("sometimes".into(), string_map(m));
    }
    if !expect.is_empty() {
        doc.insert("expect".into(), Value::Mapping(expect));
    }

    let body = serde_yaml::to_string(&Value::Mapping(doc)).map_err(|e| e.to_string())?;
    let mut out = String::new();
    for line in header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}
