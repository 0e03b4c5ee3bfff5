//! Issue 11, classes 4 and 5, the run half: a run's wall time is bounded,
//! not only its events, and sweeps allocate nothing per seed of their range.
//!
//! - Per-event cost does not grow with the workers: a thousand workers on
//!   1 ms intervals cost about what sixteen do, event for event (the
//!   invariants' monitor, the queue's reassignment and the executor's
//!   timers once did work proportional to the workers per event).
//! - The turmoil engine, which costs per step and host, is refused before
//!   it runs when its steps exceed the turmoil budget, located, with the
//!   estimate and the flag that raises it; and stops when its traffic does.
//! - Seed ranges up to the whole `u64` range are counted in closed form.
//!
//! Times are compared, never asserted against a clock, except with wide
//! margins (debug build, loaded 2-core CI machine).

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rollout_sim::explore::{self, SeedRange, Shard, SweepOptions};
use rollout_sim::scenario::{RunOptions, Scenario, load_str, run_scenario};
use rollout_sim::sim::{EngineKind, StopReason};

fn run_cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// `workers` workers on 1 ms timers, half of them busy with a day-long
/// rollout (the others poll and reassign every millisecond), run for
/// `within`.
fn busy(workers: usize, within: &str) -> Scenario {
    let yaml = format!(
        "name: busy-{workers}\nworkers: {workers}\nrunner:\n  poll_interval: 1ms\n  heartbeat_interval: 1ms\n  reassignment_interval: 1ms\n  worker_timeout: 3ms\n  backoff: {{ initial: 1ms, max: 1ms }}\nrollouts:\n  - generate: {{ count: {}, prefix: r-, run: {{ duration: 1d }} }}\nstop:\n  within: {within}\n",
        workers / 2
    );
    let mut s = load_str("busy.yaml", &yaml).unwrap();
    s.plan.keep_events = false;
    s
}

/// Wall time per event of a run, the best of two.
fn per_event(s: &Scenario) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut events = 0;
    for _ in 0..2 {
        let started = Instant::now();
        let outcome = run_scenario(s, RunOptions::default());
        best = best.min(started.elapsed());
        events = outcome.run.events;
    }
    (best / events as u32, events)
}

#[test]
fn per_event_cost_does_not_grow_with_the_workers() {
    // About 40,000 events each.
    let (few, few_events) = per_event(&busy(16, "800ms"));
    let (many, many_events) = per_event(&busy(1024, "13ms"));
    assert!(
        few_events > 30_000 && many_events > 30_000,
        "{few_events} {many_events}"
    );
    // Measured about 1x (release and debug); it was over 20x at 1,024
    // workers before the monitor, the queue and the timers were indexed.
    assert!(
        many < few * 4,
        "an event costs {many:?} with 1024 workers, {few:?} with 16"
    );
}

#[test]
fn the_reference_reassignment_also_costs_per_stale_worker_only() {
    let mut few = busy(16, "800ms");
    let mut many = busy(1024, "13ms");
    for s in [&mut few, &mut many] {
        s.plan.reassignment = rollout_sim::core::ReassignmentPolicy::WorkerActiveIds;
    }
    let ((few, _), (many, _)) = (per_event(&few), per_event(&many));
    assert!(
        many < few * 4,
        "an event costs {many:?} with 1024 workers, {few:?} with 16"
    );
}

const WEEK_ON_TURMOIL: &str = "name: week\nengine: turmoil\nrollouts:\n  - { id: r1, run: { duration: 1ms } }\nstop:\n  when: { at: 7d }\n  within: 7d\n";

#[test]
fn a_week_on_turmoil_is_refused_at_stop_at_with_the_estimate_and_the_flag() {
    let dir = std::env::temp_dir().join(format!("rollout-sim-bounds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("week.yaml");
    std::fs::write(&file, WEEK_ON_TURMOIL).unwrap();
    let path = file.to_str().unwrap();
    let started = Instant::now();
    let o = run_cli(&["scenario", path]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "{path}:6:15: stop.when.at: the turmoil engine would take 604800001 steps of 1 ms to reach 7d with 2 hosts (the queue and 1 worker), about 1209600002 host-steps; the turmoil budget is 3000000 host-steps; shorten it or use fewer workers, or raise the budget with `--turmoil-budget 1209600002`; turmoil steps every host every millisecond, idle or not, and 3000000 host-steps take about 10 s: use the virtual engine unless the question is about the network\n"
        )
    );
    // explore and freeze refuse it alike.
    for args in [
        vec!["explore", path, "--seeds", "0..2"],
        vec!["freeze", path, "--seed", "1"],
    ] {
        let o = run_cli(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("--turmoil-budget 1209600002"));
    }
}

#[test]
fn the_budget_applies_to_the_engine_that_runs_and_the_flag_raises_it() {
    let dir = std::env::temp_dir().join(format!("rollout-sim-bounds-flag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("short.yaml");
    // 2 s of stop.at with 2 workers: 2,001 steps of 3 hosts, 6,003 host-steps.
    std::fs::write(
        &file,
        "name: short\nworkers: 2\nrollouts:\n  - { id: r1, run: { duration: 1ms } }\nstop:\n  when: { at: 2s }\n  within: 2s\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    // On the virtual engine, the file's own, no budget applies.
    assert_eq!(
        run_cli(&["scenario", path, "--turmoil-budget", "6002"])
            .status
            .code(),
        Some(0)
    );
    // --engine turmoil: the budget is checked for the engine that runs.
    let o = run_cli(&[
        "scenario",
        path,
        "--engine",
        "turmoil",
        "--turmoil-budget",
        "6002",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.starts_with(&format!("{path}:6:15: stop.when.at: the turmoil engine would take 2001 steps of 1 ms to reach 2s with 3 hosts (the queue and 2 workers), about 6003 host-steps; the turmoil budget is 6002 host-steps")),
        "{stderr}"
    );
    let o = run_cli(&[
        "scenario",
        path,
        "--engine",
        "turmoil",
        "--turmoil-budget",
        "100000",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn a_thousand_workers_on_turmoil_are_refused_for_a_single_step() {
    let yaml = "name: many\nengine: turmoil\nworkers: 1024\nrollouts:\n  - { id: r1, run: { duration: 1ms } }\nstop:\n  when: { at: 1ms }\n";
    let s = load_str("many.yaml", yaml).unwrap();
    let cost = s.plan.turmoil_cost();
    assert_eq!((cost.steps, cost.hosts), (2, 1025));
    let e = s.check_turmoil_budget(None).unwrap_err();
    // Not on disk: no source to locate in, the message still names the key.
    assert!(
        e.plain().contains("stop.when.at: the turmoil engine would take 2 steps of 1 ms to reach 1ms with 1025 hosts (the queue and 1024 workers), about 11208716 host-steps (turmoil looks through the link between every two hosts for every host, every step)"),
        "{}",
        e.plain()
    );
    assert!(s.check_turmoil_budget(Some(EngineKind::Virtual)).is_ok());
}

#[test]
fn a_run_whose_traffic_exceeds_the_turmoil_budget_stops_and_fails() {
    // Its steps fit (2,001 steps of 2 hosts); 1 ms polls make the events
    // and bytes that do not.
    let yaml = "name: chatty\nengine: turmoil\nrunner:\n  poll_interval: 1ms\n  heartbeat_interval: 1ms\n  reassignment_interval: 1ms\n  worker_timeout: 5ms\nrollouts:\n  - { id: r1, run: { duration: 1d } }\nstop:\n  when: { at: 2s }\n  within: 2s\n";
    let mut s = load_str("chatty.yaml", yaml).unwrap();
    s.plan.limits.turmoil_budget = 10_000;
    assert!(s.check_turmoil_budget(None).is_ok());
    let outcome = run_scenario(&s, RunOptions::default());
    assert_eq!(
        outcome.run.stop,
        StopReason::TurmoilBudget { host_steps: 10_000 }
    );
    assert!(outcome.run.ended_at < std::time::Duration::from_secs(2));
    assert!(!outcome.passed());
}

#[test]
fn seed_ranges_parse_with_exact_messages_and_count_in_closed_form() {
    let err = |s: &str| s.parse::<SeedRange>().unwrap_err();
    assert_eq!(
        err("9..3"),
        "`9..3` is reversed: it starts at 9 and ends before that; write 3..9, or A..B with A < B, such as 0..10000"
    );
    assert_eq!(
        err("5..5"),
        "`5..5` holds no seed: B is excluded from A..B; write 5..=5 (or just 5) for that one seed, or A..B with A < B, such as 0..10000"
    );
    assert_eq!(
        err("0..18446744073709551616"),
        "`18446744073709551616` is not a seed: seeds are whole numbers from 0 to 18446744073709551615"
    );
    let all: SeedRange = "0..=18446744073709551615".parse().unwrap();
    assert_eq!(all.len(), 1 << 64);
    assert_eq!(all.to_string(), "0..=18446744073709551615");
    assert_eq!(all.count(Shard::WHOLE), 1 << 64);
    assert_eq!(
        all.count(Shard {
            number: 4,
            count: 4
        }),
        1 << 62
    );
    let last: Vec<u64> = "18446744073709551613..=18446744073709551615"
        .parse::<SeedRange>()
        .unwrap()
        .seeds(Shard::WHOLE)
        .collect();
    assert_eq!(last, [u64::MAX - 2, u64::MAX - 1, u64::MAX]);
    let r: SeedRange = "10..20".parse().unwrap();
    for count in 1..12 {
        for number in 1..=count {
            let shard = Shard { number, count };
            let listed: Vec<u64> = (10..20)
                .filter(|s| (s - 10) % count == number - 1)
                .collect();
            assert_eq!(r.seeds(shard).collect::<Vec<_>>(), listed);
            assert_eq!(r.count(shard), listed.len() as u128);
        }
    }
}

#[test]
fn a_sweep_of_a_huge_range_runs_only_its_shard_at_once() {
    // Two seeds of ten billion: counted and found without walking the range.
    let started = Instant::now();
    let o = run_cli(&[
        "explore",
        "scenarios/c02.yaml",
        "--seeds",
        "0..10000000000",
        "--shard",
        "7/5000000000",
        "--format",
        "json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["summary"]["runs"], 2);
    assert_eq!(r["seeds"]["end"].as_u64(), Some(10_000_000_000));

    // The library's sweep of the last seeds of the u64 range.
    let s = load_str(
        "c02.yaml",
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/c02.yaml"))
            .unwrap(),
    )
    .unwrap();
    let report = explore::sweep(
        &s,
        SweepOptions {
            seeds: "18446744073709551614..=18446744073709551615"
                .parse()
                .unwrap(),
            shard: Shard::WHOLE,
            jobs: 2,
            engine: None,
            repro_args: String::new(),
            swarm: false,
            guided: None,
        },
        "rollout-sim",
        &|_| {},
    );
    assert_eq!(report.summary.runs, 2);
}

#[test]
fn a_turmoil_run_that_may_end_early_is_not_refused_for_its_time_budget() {
    // Four workers and the default `stop.within` of 10 minutes would cost
    // about 3,000,005 host-steps if the run went on to the end; it ends at
    // its first terminal instant, so it is run, not refused, and a run
    // that did go on would be stopped by the meter at the budget.
    let yaml = "name: four\nengine: turmoil\nworkers: 4\nrollouts:\n  - { id: r1, run: { duration: 5ms } }\n";
    let s = load_str("four.yaml", yaml).unwrap();
    assert_eq!(s.plan.turmoil_cost().steps, 1);
    assert!(s.check_turmoil_budget(None).is_ok());
    let outcome = run_scenario(&s, RunOptions::default());
    assert_eq!(outcome.run.stop, StopReason::AllTerminal);
    assert!(outcome.passed());

    // A stuck run with `all_terminal` is stopped by the meter instead.
    let stuck = "name: stuck\nengine: turmoil\nrollouts:\n  - { id: r1, run: { duration: 1d } }\nstop:\n  within: 7d\n";
    let mut s = load_str("stuck.yaml", stuck).unwrap();
    assert!(s.check_turmoil_budget(None).is_ok());
    s.plan.limits.turmoil_budget = 20_000;
    let outcome = run_scenario(&s, RunOptions::default());
    assert_eq!(
        outcome.run.stop,
        StopReason::TurmoilBudget { host_steps: 20_000 }
    );
}

#[test]
fn a_thousand_workers_on_turmoil_are_refused_even_without_a_stop_time() {
    let yaml = "name: many\nengine: turmoil\nworkers: 1024\nrollouts:\n  - { id: r1, run: { duration: 1ms } }\n";
    let s = load_str("many.yaml", yaml).unwrap();
    let e = s.check_turmoil_budget(None).unwrap_err();
    assert!(
        e.plain().contains("workers: one step of 1 ms of the turmoil engine with 1025 hosts (the queue and 1024 workers) costs about 5604358 host-steps (turmoil looks through the link between every two hosts for every host, every step); the turmoil budget is 3000000 host-steps"),
        "{}",
        e.plain()
    );
}
