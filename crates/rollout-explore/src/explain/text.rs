//! `explain`'s text: the settings, one line per event that matters (poll
//! failures with their sleep and running backoff, dequeues, what each
//! attempt emits and how its completion went, timeouts, workers ending and
//! restarting, the heal), the metrics each attempt must carry, each
//! rollout's end, how the run ends, and what could not be predicted.
//! Heartbeat ticks and quiet polls are left out: they change nothing.

use std::fmt::Write as _;

use rollout_core::{Jitter, QueueOp, RETRY_BACKOFF_METRIC, RETRY_FAILURES_METRIC};
use rollout_scenario::{Scenario, format_duration};

use super::{PredictedEvent, Prediction, Step, Unpredicted};

/// Lines of the timeline printed before the rest is only counted.
const MAX_LINES: usize = 500;

fn value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// What one event says, and its sleep and backoff columns.
fn line(event: &PredictedEvent) -> Option<(String, String, String)> {
    let none = || (String::new(), String::new());
    let (what, (sleep, backoff)) = match &event.step {
        Step::Started => return None,
        Step::Restarted => ("starts again".to_string(), none()),
        Step::Crashed => (
            "crashes (planned): its in-flight attempt stays running until reassignment times it out"
                .to_string(),
            none(),
        ),
        Step::WorkerEnded { message } => (
            format!("heartbeat tick fails ({message}): the worker's runner ends"),
            none(),
        ),
        Step::PollFailed {
            op,
            message,
            attempt,
            failures,
            delay_ms,
            delay_max_ms,
            backoff_ms,
        } => {
            let what = match (op, attempt) {
                (QueueOp::Dequeue, _) => format!("dequeue fails ({message})"),
                (QueueOp::Heartbeat, Some(a)) => format!(
                    "heartbeat of {a} fails ({message}): poll failure {failures}; {a} stays running"
                ),
                (QueueOp::Heartbeat, None) => {
                    format!("idle heartbeat after completing fails ({message}): poll failure {failures}")
                }
                (QueueOp::Flush, Some(a)) => format!(
                    "flushing {a}'s spans fails ({message}): poll failure {failures}; the spans are lost and {a} stays running"
                ),
                (QueueOp::Complete, Some(a)) => format!(
                    "completing {a} fails ({message}): poll failure {failures}; {a} stays running until reassignment times it out"
                ),
                (op, _) => format!("{} fails ({message})", op.as_str()),
            };
            let sleep = if delay_ms == delay_max_ms {
                format!("{delay_ms}ms")
            } else {
                format!("{delay_ms}..{delay_max_ms}ms")
            };
            (what, (sleep, format!("{backoff_ms}ms")))
        }
        Step::EmptyPollResets {
            scripted,
            failures,
            backoff_ms,
        } => (
            format!(
                "dequeue finds nothing ({}): a successful poll, so the recovery context resets ({failures} failures / {backoff_ms}ms dropped)",
                if *scripted {
                    "scripted empty"
                } else {
                    "queue empty"
                }
            ),
            (String::new(), "0ms".to_string()),
        ),
        Step::Dequeued {
            attempt,
            failures,
            backoff_ms,
        } => (
            if *failures == 0 {
                format!("dequeues {attempt}")
            } else {
                format!(
                    "dequeues {attempt} after {failures} failure{} / {backoff_ms}ms",
                    if *failures == 1 { "" } else { "s" }
                )
            },
            none(),
        ),
        Step::ExecutionHeartbeatFailed { attempt, message } => (
            format!("heartbeat during {attempt} fails ({message}): it runs on, its heartbeat ages"),
            none(),
        ),
        Step::Executed {
            attempt,
            failed,
            rewards,
        } => {
            let rewards: Vec<String> = rewards
                .iter()
                .map(|r| format!("{} {}", r.name, value(r.value)))
                .collect();
            (
                format!(
                    "{attempt} returns ({}); emits {}",
                    if *failed { "failed" } else { "succeeded" },
                    rewards.join(", ")
                ),
                none(),
            )
        }
        Step::Finished {
            attempt,
            status,
            recorded,
        } => (
            if *recorded {
                format!("completes {attempt}: {status}")
            } else {
                format!("completes {attempt}, which is no longer running: nothing recorded")
            },
            none(),
        ),
        Step::TimedOut { attempts } => {
            let each: Vec<String> = attempts
                .iter()
                .map(|(a, last, exhausted)| {
                    format!(
                        "{a} (last heartbeat {}){}",
                        format_duration(*last),
                        if *exhausted {
                            ": attempts used up, the rollout fails"
                        } else {
                            ": requeued"
                        }
                    )
                })
                .collect();
            (format!("reassignment times out {}", each.join("; ")), none())
        }
        Step::Healed => (
            "healed (faults.heal_at): no fault from now on; every worker down starts again"
                .to_string(),
            none(),
        ),
    };
    Some((what, sleep, backoff))
}

/// A runner's timers and backoff, in a phrase.
fn described(r: &rollout_core::RunnerConfig) -> String {
    let policy = r.backoff;
    let jitter = if policy.jitter == Jitter::None {
        String::new()
    } else {
        format!(", {} jitter", policy.jitter.as_str())
    };
    format!(
        "poll every {}, heartbeat every {}, reassignment every {} (worker timeout {}), backoff {} doubling to {}{jitter}{}",
        format_duration(r.poll_interval),
        format_duration(r.heartbeat_interval),
        format_duration(r.reassignment_interval),
        format_duration(r.worker_timeout),
        format_duration(policy.initial),
        format_duration(policy.max),
        if r.retry_metrics {
            ""
        } else {
            ", no retry metrics"
        }
    )
}

fn settings(scenario: &Scenario, text: &mut String) {
    let plan = &scenario.plan;
    let workers: Vec<&str> = plan.workers.iter().map(|w| w.as_str()).collect();
    let _ = writeln!(
        text,
        "{} ({}): {}",
        scenario.name,
        scenario.path,
        workers.join(", ")
    );
    let _ = writeln!(text, "{}", described(&plan.runner));
    for worker in &plan.workers {
        let own = plan.worker_runners.get(worker);
        let start = plan.start_at.get(worker);
        if own.is_none() && start.is_none() {
            continue;
        }
        let mut parts = Vec::new();
        if let Some(at) = start {
            parts.push(format!("starts at {}", format_duration(*at)));
        }
        if let Some(r) = own {
            parts.push(described(r));
        }
        let _ = writeln!(text, "  {worker}: {}", parts.join("; "));
    }
}

/// The whole text.
pub(super) fn render(
    scenario: &Scenario,
    prediction: &Prediction,
    unpredicted: &[Unpredicted],
) -> String {
    let mut text = String::new();
    settings(scenario, &mut text);
    let lines: Vec<(String, String, (String, String, String))> = prediction
        .events
        .iter()
        .filter_map(|e| {
            let who = e.worker.as_ref().map_or("-", |w| w.as_str()).to_string();
            line(e).map(|l| (format_duration(e.at), who, l))
        })
        .collect();
    let who_width = lines
        .iter()
        .map(|(_, w, _)| w.chars().count())
        .chain(["worker".len()])
        .max()
        .unwrap_or(6);
    let _ = writeln!(
        text,
        "{:>10}  {:<who_width$}  {:>9}  {:>9}  what",
        "time", "worker", "sleep", "backoff"
    );
    for (at, who, (what, sleep, backoff)) in lines.iter().take(MAX_LINES) {
        let _ = writeln!(
            text,
            "{at:>10}  {who:<who_width$}  {sleep:>9}  {backoff:>9}  {what}"
        );
    }
    if lines.len() > MAX_LINES {
        let _ = writeln!(
            text,
            "... {} more lines of the timeline not shown",
            lines.len() - MAX_LINES
        );
    }
    metrics(scenario, prediction, &mut text);
    let _ = writeln!(text, "rollouts:");
    let id_width = prediction
        .rollouts
        .iter()
        .map(|(id, ..)| id.as_str().chars().count())
        .max()
        .unwrap_or(0);
    for (id, status, attempts) in prediction.rollouts.iter().take(MAX_LINES) {
        let _ = writeln!(
            text,
            "  {:<id_width$}  {status} after {attempts} attempt{}",
            id.as_str(),
            if *attempts == 1 { "" } else { "s" }
        );
    }
    if prediction.rollouts.len() > MAX_LINES {
        let _ = writeln!(
            text,
            "  ... {} more rollouts",
            prediction.rollouts.len() - MAX_LINES
        );
    }
    match prediction.stop {
        Some(stop) => {
            let _ = writeln!(
                text,
                "the run ends at {}: {}",
                format_duration(prediction.ended_at),
                stop.describe()
            );
            if prediction.ran_until > prediction.ended_at {
                let _ = writeln!(
                    text,
                    "  (executors in flight return and flush until {}, as the reference's trainer joins its runners)",
                    format_duration(prediction.ran_until)
                );
            }
        }
        None => {
            let _ = writeln!(
                text,
                "the model stopped at {} after {} steps; the run goes on",
                format_duration(prediction.ended_at),
                prediction.steps
            );
        }
    }
    cannot_predict(unpredicted, &mut text);
    text
}

/// The retry metrics each attempt carries, or why none do.
fn metrics(scenario: &Scenario, prediction: &Prediction, text: &mut String) {
    if !scenario.plan.runner.retry_metrics {
        let _ = writeln!(text, "retry metrics: off (runner.retry_metrics: false)");
        return;
    }
    let carrying: Vec<String> = prediction
        .events
        .iter()
        .filter_map(|e| match &e.step {
            Step::Executed {
                attempt, rewards, ..
            } => {
                let get = |name: &str| rewards.iter().find(|r| r.name == name).map(|r| r.value);
                let failures = get(RETRY_FAILURES_METRIC)?;
                let backoff = get(RETRY_BACKOFF_METRIC)?;
                Some(format!(
                    "  {attempt}  {RETRY_FAILURES_METRIC} = {}, {RETRY_BACKOFF_METRIC} = {}",
                    value(failures),
                    value(backoff)
                ))
            }
            _ => None,
        })
        .collect();
    if carrying.is_empty() {
        let _ = writeln!(
            text,
            "retry metrics: no attempt is processed after a poll failure, so none carries them"
        );
        return;
    }
    let _ = writeln!(text, "retry metrics the attempts must carry:");
    for line in carrying.iter().take(MAX_LINES) {
        let _ = writeln!(text, "{line}");
    }
}

/// The plain statement of what the model leaves out.
fn cannot_predict(unpredicted: &[Unpredicted], text: &mut String) {
    let swarm = "the faults `explore --swarm` and `--guided` draw per seed are not in the file";
    if unpredicted.is_empty() {
        let _ = writeln!(
            text,
            "not predicted: nothing here; every fault in this file is scripted ({swarm})"
        );
        return;
    }
    let _ = writeln!(text, "not predicted:");
    for u in unpredicted {
        let _ = match u {
            Unpredicted::RandomFaults(ops) => writeln!(
                text,
                "  random faults on {}: drawn from the seed; the timeline above assumes none fires",
                ops.iter()
                    .map(|o| o.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Unpredicted::Network => writeln!(
                text,
                "  the network (turmoil engine): latency, loss, partitions, holds, bounces and request timeouts are not modelled; the timeline above is the run without them"
            ),
            Unpredicted::Jitter(j) => writeln!(
                text,
                "  backoff jitter ({}): each sleep is drawn from its range; the timeline above sleeps the least, so later times are lower bounds",
                j.as_str()
            ),
            Unpredicted::StepBudget(steps) => writeln!(
                text,
                "  the rest of the run: the model stops after {steps} steps"
            ),
        };
    }
    let _ = writeln!(text, "  and {swarm}");
}
