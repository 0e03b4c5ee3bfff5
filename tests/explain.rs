//! `explain` held to the runs it predicts.
//!
//! - A property test generates scripted-only scenarios (shared and
//!   per-worker scripts on every operation, several workers, crashes and
//!   restarts, `restart_after`, `max_attempts`, `heal_at`, every stop rule)
//!   and checks that explain's predicted events (each poll failure with its
//!   delay and running backoff, each dequeue with the recovery it carries,
//!   every reward with the two metrics, each completion, timeout, worker
//!   end and restart), each rollout's end and how the run ends equal the
//!   run's, event for event.
//! - Every committed scenario explain can predict (no random faults, not
//!   on the turmoil engine, no jitter) is predicted exactly too.
//! - The text of a few committed scenarios, exactly where it states a
//!   consequence of the runner's rules or what it cannot predict.

mod common;
#[path = "common/generated.rs"]
mod generated;

use generated::config;
use proptest::prelude::*;
use rollout_sim::explore::{Explanation, Step, explain};
use rollout_sim::scenario::{RunOptions, Scenario, load_file, load_str, run_scenario};
use rollout_sim::sim::{CallResult, EventKind, RunResult};

/// One event as both sides can say it: time in µs, worker, what.
type Line = (u128, String, String);

fn value(v: f64) -> String {
    format!("{v}")
}

fn predicted(e: &Explanation) -> Vec<Line> {
    let mut lines = Vec::new();
    for ev in &e.prediction.events {
        let who = ev.worker.as_ref().map_or("-", |w| w.as_str()).to_string();
        let mut push = |what: String| lines.push((ev.at.as_micros(), who.clone(), what));
        match &ev.step {
            Step::Started => push("started".into()),
            Step::WorkerEnded { .. } => push("ended".into()),
            Step::Crashed => push("crashed".into()),
            Step::Restarted => push("restarted".into()),
            Step::PollFailed {
                failures,
                delay_ms,
                backoff_ms,
                ..
            } => push(format!(
                "poll failure {failures}: sleeps {delay_ms}ms, {backoff_ms}ms in all"
            )),
            Step::EmptyPollResets { .. } => {}
            Step::Dequeued {
                attempt,
                failures,
                backoff_ms,
            } => push(format!(
                "dequeued {attempt} after {failures} / {backoff_ms}ms"
            )),
            Step::ExecutionHeartbeatFailed { attempt, .. } => {
                push(format!("heartbeat during {attempt} failed"))
            }
            Step::Executed {
                attempt, rewards, ..
            } => {
                for r in rewards {
                    push(format!("{attempt} emits {} = {}", r.name, value(r.value)));
                }
            }
            Step::Finished {
                attempt,
                status,
                recorded,
            } => push(format!("finished {attempt}: {status}, recorded {recorded}")),
            Step::TimedOut { attempts } => {
                let ids: Vec<String> = attempts.iter().map(|(a, ..)| a.to_string()).collect();
                push(format!("timed out {}", ids.join(", ")))
            }
            Step::Healed => push("healed".into()),
        }
    }
    lines
}

fn observed(run: &RunResult) -> Vec<Line> {
    let mut lines = Vec::new();
    for ev in &run.trace.events {
        let who = ev.worker.as_ref().map_or("-", |w| w.as_str()).to_string();
        let what = match &ev.kind {
            EventKind::WorkerStarted => "started".to_string(),
            EventKind::WorkerFailed { .. } => "ended".into(),
            EventKind::WorkerCrashed => "crashed".into(),
            EventKind::WorkerRestarted => "restarted".into(),
            EventKind::PollFailed {
                failures,
                delay_ms,
                backoff_ms,
            } => format!("poll failure {failures}: sleeps {delay_ms}ms, {backoff_ms}ms in all"),
            EventKind::AttemptStarted {
                attempt,
                failures,
                backoff_ms,
            } => format!("dequeued {attempt} after {failures} / {backoff_ms}ms"),
            EventKind::ExecutionHeartbeatFailed { attempt } => {
                format!("heartbeat during {attempt} failed")
            }
            EventKind::Reward {
                attempt,
                name,
                value: v,
            } => format!("{attempt} emits {name} = {}", value(*v)),
            EventKind::AttemptFinished {
                attempt,
                status,
                recorded,
            } => format!("finished {attempt}: {status}, recorded {recorded}"),
            EventKind::Call {
                result: CallResult::TimedOut { attempts },
                ..
            } => {
                let ids: Vec<String> = attempts.iter().map(|a| a.to_string()).collect();
                format!("timed out {}", ids.join(", "))
            }
            EventKind::Healed => "healed".into(),
            _ => continue,
        };
        lines.push((ev.at.as_micros(), who, what));
    }
    lines
}

/// Where explain and the run part, or `None` when they agree on every
/// event, every rollout's end and the run's end.
fn disagreement(scenario: &Scenario) -> Option<String> {
    let e = explain(scenario);
    let outcome = run_scenario(scenario, RunOptions::default());
    let again = run_scenario(scenario, RunOptions::default());
    assert_eq!(
        outcome.run.trace_hash, again.run.trace_hash,
        "two runs of {} differ",
        scenario.path
    );
    let run = &outcome.run;
    if let Some(diff) =
        common::labelled_diff("events", ("explain", "run"), &predicted(&e), &observed(run))
    {
        return Some(diff);
    }
    let rollouts: Vec<(String, String, u32)> = e
        .prediction
        .rollouts
        .iter()
        .map(|(id, status, n)| (id.to_string(), status.to_string(), *n))
        .collect();
    let ran: Vec<(String, String, u32)> = scenario
        .plan
        .rollouts
        .iter()
        .map(|p| match run.snapshot.rollout(p.id.as_str()) {
            Some(r) => (
                p.id.to_string(),
                r.status.to_string(),
                r.attempts.len() as u32,
            ),
            None => (p.id.to_string(), "queuing".to_string(), 0),
        })
        .collect();
    if let Some(diff) = common::labelled_diff("rollouts", ("explain", "run"), &rollouts, &ran) {
        return Some(diff);
    }
    if e.prediction.stop != Some(run.stop) || e.prediction.ended_at != run.ended_at {
        return Some(format!(
            "the run's end differs: explain {:?} at {:?}, run {:?} at {:?}",
            e.prediction.stop, e.prediction.ended_at, run.stop, run.ended_at
        ));
    }
    None
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn explain_predicts_every_generated_scripted_run(model in generated::model()) {
        let yaml = model.yaml();
        let scenario = load_str("generated.yaml", &yaml)
            .map_err(|e| TestCaseError::fail(format!("refused:\n{}\n{yaml}", e.plain())))?;
        let e = explain(&scenario);
        prop_assert!(e.unpredicted.is_empty(), "{:?}\n{}", e.unpredicted, yaml);
        if let Some(diff) = disagreement(&scenario) {
            return Err(TestCaseError::fail(format!("{diff}\n{yaml}\n{}", e.text)));
        }
    }
}

#[test]
fn explain_predicts_every_committed_scenario_it_can() {
    let mut predicted = Vec::new();
    for path in common::scenario_files() {
        let scenario = load_file(&path).unwrap();
        let e = explain(&scenario);
        if !e.unpredicted.is_empty() {
            continue;
        }
        if let Some(diff) = disagreement(&scenario) {
            panic!("{}: {diff}\n{}", common::display(&path), e.text);
        }
        predicted.push(common::display(&path));
    }
    // Most of the suite: every file without random faults, network or jitter.
    assert!(predicted.len() >= 15, "{predicted:?}");
}

fn explained(file: &str) -> Explanation {
    explain(&load_file(&common::scenarios_dir().join(file)).unwrap())
}

#[test]
fn spec_case_2_three_dequeue_failures_give_35ms() {
    let e = explained("c02.yaml");
    let got: Vec<(u128, u32, u64, u64)> = e
        .failures("worker-1")
        .iter()
        .map(|f| (f.at.as_millis(), f.failure, f.delay_ms, f.total_ms))
        .collect();
    assert_eq!(got, [(0, 1, 5, 5), (10, 2, 10, 15), (20, 3, 20, 35)]);
    let dequeues: Vec<(u128, String, u32, u64)> = e
        .dequeues("worker-1")
        .into_iter()
        .map(|(at, a, f, b)| (at.as_millis(), a.to_string(), f, b))
        .collect();
    assert_eq!(dequeues, [(40, "r1:attempt-1".to_string(), 3, 35)]);
    assert!(e.text.contains(
        "retry metrics the attempts must carry:\n  r1:attempt-1  runner.poll_retry_failures_before_rollout = 3, runner.poll_retry_backoff_ms_before_rollout = 35\n"
    ), "{}", e.text);
    assert!(
        e.text
            .contains("the run ends at 45ms: every rollout terminal\n"),
        "{}",
        e.text
    );
    assert!(e.text.contains("not predicted: nothing here"), "{}", e.text);
}

#[test]
fn a_failed_heartbeat_tick_ends_the_worker_and_restart_after_brings_it_back() {
    let e = explained("restart-after.yaml");
    let lines: Vec<&str> = e.text.lines().collect();
    assert!(
        lines.contains(
            &"       0ms  worker-1                        heartbeat tick fails (injected fault): the worker's runner ends"
        ),
        "{}",
        e.text
    );
    assert!(
        lines.contains(&"      50ms  worker-1                        starts again"),
        "{}",
        e.text
    );
    assert!(
        lines.contains(&"      50ms  worker-1                        dequeues r1:attempt-1"),
        "{}",
        e.text
    );
}

#[test]
fn a_failed_completion_leaves_the_attempt_running_until_it_times_out() {
    let e = explained("regression/processing-failure.yaml");
    for line in [
        "      10ms  worker-1        5ms        5ms  completing r1:attempt-1 fails (store unavailable): poll failure 1; r1:attempt-1 stays running until reassignment times it out",
        "      15ms  worker-1                        dequeues r2:attempt-1 after 1 failure / 5ms",
        "      65ms  worker-1                        reassignment times out r1:attempt-1 (last heartbeat 0ms): requeued",
        "      70ms  worker-1                        dequeues r1:attempt-2",
    ] {
        assert!(e.text.lines().any(|l| l == line), "{line}\n{}", e.text);
    }
}

#[test]
fn an_empty_poll_resets_the_recovery_context() {
    let e = explained("regression/empty-poll-resets.yaml");
    assert!(
        e.text
            .contains("a successful poll, so the recovery context resets"),
        "{}",
        e.text
    );
}

#[test]
fn every_worker_is_explained_with_its_own_script() {
    let e = explained("regression/stalled-worker-retried.yaml");
    // worker-1's heartbeat script fails during attempt 1; worker-2 times it
    // out and runs attempt 2.
    assert!(
        e.text.lines().any(|l| l
            == "      40ms  worker-1                        heartbeat during r1:attempt-1 fails (heartbeat lost): it runs on, its heartbeat ages"),
        "{}",
        e.text
    );
    let second: Vec<String> = e
        .dequeues("worker-2")
        .into_iter()
        .map(|(at, a, ..)| format!("{} {a}", at.as_millis()))
        .collect();
    assert_eq!(second, ["70 r1:attempt-2"]);
}

#[test]
fn what_cannot_be_predicted_is_said_plainly() {
    let network = explained("network/partition-during-backoff.yaml");
    assert!(
        network.text.contains("not predicted:\n  the network (turmoil engine): latency, loss, partitions, holds, bounces and request timeouts are not modelled"),
        "{}",
        network.text
    );
    let jitter = explained("research/jittered-backoff.yaml");
    assert!(
        jitter.text.contains("  backoff jitter ("),
        "{}",
        jitter.text
    );
}

#[test]
fn explain_ends_on_a_long_busy_run_and_says_where_it_stopped() {
    let yaml = "name: busy\nrunner:\n  poll_interval: 1ms\n  heartbeat_interval: 1ms\n  reassignment_interval: 1ms\nrollouts:\n  - id: r1\n    enqueue_at: 500s\nstop:\n  when: { at: 600s }\n  within: 600s\n";
    let scenario = load_str("busy.yaml", yaml).unwrap();
    let started = std::time::Instant::now();
    let e = explain(&scenario);
    assert_eq!(e.prediction.stop, None);
    assert!(
        matches!(
            e.unpredicted.as_slice(),
            [rollout_sim::explore::Unpredicted::StepBudget(_)]
        ),
        "{:?}",
        e.unpredicted
    );
    assert!(e.text.contains("the model stopped at "), "{}", e.text);
    assert!(e.prediction.ended_at < std::time::Duration::from_secs(500));
    // Bounded work, not a time limit: a debug build takes about a second.
    let _ = started;
}
