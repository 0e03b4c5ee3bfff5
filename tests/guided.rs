//! Guided exploration (DESIGN §8): a branch is a seed plus the event
//! indices at which the fault overlay is reseeded; `explore --guided`
//! branches from runs that reach a new coverage state. Checked: a branch
//! replays its seed exactly up to its point and differs after; a branch
//! reruns from its repro line with the same trace hash, and freezes and
//! shrinks like a seed; a guided sweep reaches a goal a plain sweep of as
//! many runs misses; it does not depend on the number of jobs; it stops at
//! the seed budget or at a plateau; and the CLI refuses what it cannot do.

mod common;

use std::path::Path;
use std::process::Command;

use rollout_sim::explore::{self, Guided, GuidedStop, SeedRange, Shard, SweepOptions, SweepReport};
use rollout_sim::scenario::{RunOptions, Scenario, load_file, load_str, run_scenario};
use rollout_sim::sim::{Branch, EngineKind, Goal};

const GENERIC: &str = "scenarios/research/generic-poll-loop.yaml";
const STRANDED: &str = "scenarios/research/stranded-attempts.yaml";

fn load(path: &str) -> Scenario {
    load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{e}"))
}

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollout-sim"));
    command.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")));
    command
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guided");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(scenario: &Scenario, seed: u64, branch: &str) -> rollout_sim::scenario::ScenarioOutcome {
    let options = RunOptions {
        seed: Some(seed),
        branch: if branch.is_empty() {
            Branch::NONE
        } else {
            branch.parse().unwrap()
        },
        ..RunOptions::default()
    };
    let first = run_scenario(scenario, options.clone());
    let second = run_scenario(scenario, options);
    assert_eq!(
        first.run.trace_hash, second.run.trace_hash,
        "seed {seed} branch {branch:?} is not deterministic"
    );
    first
}

fn sweep(scenario: &Scenario, seeds: &str, jobs: usize, guided: Option<Guided>) -> SweepReport {
    explore::sweep(
        scenario,
        SweepOptions {
            seeds: seeds.parse::<SeedRange>().unwrap(),
            shard: Shard::WHOLE,
            jobs,
            engine: None,
            repro_args: String::new(),
            swarm: false,
            guided,
        },
        "rollout-sim",
        &|_| {},
    )
}

fn goal_seeds(report: &SweepReport, goal: Goal) -> u64 {
    report
        .coverage
        .goals
        .iter()
        .find(|g| g.goal == goal.name())
        .map(|g| g.seeds)
        .unwrap()
}

#[test]
fn a_branch_replays_its_seed_up_to_the_point_and_then_draws_anew() {
    let scenario = load(GENERIC);
    let own = run(&scenario, 4, "");
    let branched = run(&scenario, 4, "146");
    let (a, b) = (&own.run.trace.events, &branched.run.trace.events);
    assert!(a.len() > 146 && b.len() > 146);
    // The first 146 events are the seed's own; the overlay is reseeded at
    // the first draw after them, and the futures part.
    assert_eq!(a[..146], b[..146]);
    let diverged = a.iter().zip(b).position(|(x, y)| x != y).unwrap();
    assert!(diverged >= 146, "diverged at event {diverged}");
    assert_ne!(own.run.trace_hash, branched.run.trace_hash);
    // A branch point past the end of the run changes nothing.
    let past = run(&scenario, 4, &format!("{}", a.len() + 1));
    assert_eq!(past.run.trace_hash, own.run.trace_hash);
    // Two points: the second reseeds again, so it differs from the first alone.
    let twice = run(&scenario, 4, "146,247");
    assert_eq!(twice.run.trace.events[..247], b[..247]);
    assert_ne!(twice.run.trace_hash, branched.run.trace_hash);
}

#[test]
fn guided_reaches_the_capped_backoff_that_a_plain_sweep_of_as_many_runs_misses() {
    let scenario = load(GENERIC);
    let guided = sweep(&scenario, "0..2000", 2, Some(Guided::default()));
    let g = guided.guided.as_ref().unwrap();
    assert_eq!(g.stopped, GuidedStop::Plateau);
    assert_eq!(guided.summary.runs, g.seeds + g.branches);
    assert!(g.branches > 0);
    assert!(goal_seeds(&guided, Goal::BackoffCapped) > 0);
    // As many runs, each a fresh seed: the cap (80 ms, after 5 failed polls
    // in a row at 5% a dequeue) is never reached.
    let plain = sweep(&scenario, &format!("0..{}", guided.summary.runs), 2, None);
    assert_eq!(goal_seeds(&plain, Goal::BackoffCapped), 0);
    // The run that first reached it says where; its seed alone does not
    // reach it, the branch does, every time.
    let found = g
        .discoveries
        .iter()
        .find(|d| d.reached.iter().any(|r| r == "goal backoff-capped"))
        .unwrap();
    assert!(!found.branch.is_empty());
    assert!(
        !run(&scenario, found.seed, "")
            .run
            .coverage
            .contains(Goal::BackoffCapped)
    );
    let branch = found.branch.to_string();
    let outcome = run(&scenario, found.seed, &branch);
    assert!(outcome.run.coverage.contains(Goal::BackoffCapped));
    // Rerun from the command line: the same trace hash.
    let out = bin()
        .args(["scenario", GENERIC, "--seed", &found.seed.to_string()])
        .args(["--branch", &branch, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &report["scenarios"][0];
    assert_eq!(report["trace_hash"], outcome.run.trace_hash.to_string());
    assert!(
        report["repro"]
            .as_str()
            .unwrap()
            .contains(&format!("--branch {branch}"))
    );
}

#[test]
fn a_guided_sweep_does_not_depend_on_the_number_of_jobs() {
    let scenario = load(GENERIC);
    let settings = Some(Guided {
        energy: 4,
        plateau: 200,
    });
    let json = |jobs| {
        let mut r = sweep(&scenario, "0..400", jobs, settings);
        r.wall_time_ms = 0.0;
        serde_json::to_string(&r).unwrap()
    };
    assert_eq!(json(1), json(3));
}

#[test]
fn a_guided_sweep_makes_the_same_runs_on_the_virtual_and_tokio_engines() {
    // The two engines give the same trace, so the same coverage states at
    // the same events, so the same branches.
    let scenario = load(GENERIC);
    let report = |engine| {
        let mut r = explore::sweep(
            &scenario,
            SweepOptions {
                seeds: "0..150".parse::<SeedRange>().unwrap(),
                shard: Shard::WHOLE,
                jobs: 2,
                engine: Some(engine),
                repro_args: String::new(),
                swarm: false,
                guided: Some(Guided {
                    energy: 8,
                    plateau: 1_000,
                }),
            },
            "rollout-sim",
            &|_| {},
        );
        r.wall_time_ms = 0.0;
        r.engine = EngineKind::Virtual;
        serde_json::to_string(&r)
            .unwrap()
            .replace("--engine tokio", "--engine virtual")
    };
    let virtual_report = report(EngineKind::Virtual);
    assert!(virtual_report.contains("\"branches_run\":"));
    assert_eq!(virtual_report, report(EngineKind::Tokio));
}

#[test]
fn a_guided_sweep_stops_at_its_seed_budget_or_at_a_plateau() {
    let scenario = load(GENERIC);
    let budget = sweep(
        &scenario,
        "0..40",
        2,
        Some(Guided {
            energy: 8,
            plateau: 1_000,
        }),
    );
    let g = budget.guided.as_ref().unwrap();
    assert_eq!(g.stopped, GuidedStop::SeedBudget);
    assert_eq!(budget.summary.runs, 40);
    assert_eq!(g.seeds + g.branches, 40);
    // Branches come before fresh seeds: the first round of 32 holds 32
    // seeds, which found something new, so the 8 runs left are branches.
    assert_eq!(g.branches, 8);
    assert_eq!(g.seeds, explore::ROUND as u64);
    let plateau = sweep(
        &scenario,
        "0..100000",
        2,
        Some(Guided {
            energy: 2,
            plateau: 40,
        }),
    );
    let p = plateau.guided.as_ref().unwrap();
    assert_eq!(p.stopped, GuidedStop::Plateau);
    // Checked once a round: it ends on a round.
    assert_eq!(plateau.summary.runs % explore::ROUND as u64, 0);
    assert!(plateau.summary.runs < 100_000);
}

#[test]
fn a_failing_branch_reruns_freezes_and_shrinks_like_a_seed() {
    let report = temp("stranded.json");
    let out = bin()
        .args([
            "explore", STRANDED, "--seeds", "0..96", "--guided", "-j", "2",
        ])
        .args(["--reassignment", "reference", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&report, &out.stdout).unwrap();
    let sweep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failing = sweep["summary"]["failing"].as_array().unwrap();
    let branch = failing
        .iter()
        .find(|f| f.get("branch").is_some())
        .expect("a failing branch");
    let (seed, points) = (
        branch["seed"].as_u64().unwrap(),
        branch["branch"].as_str().unwrap(),
    );
    let repro = branch["repro"].as_str().unwrap();
    assert!(
        repro.ends_with(&format!("--branch {points} --reassignment reference")),
        "{repro}"
    );
    // The repro line fails again, the same way.
    // The program is `cargo run --` from a build tree: the words from
    // `scenario` on are the tool's arguments.
    let args: Vec<&str> = repro.split(' ').skip_while(|w| *w != "scenario").collect();
    let again = bin()
        .args(&args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        again["scenarios"][0]["invariants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["held"] == false)
            .map(|i| format!("invariant {}", i["name"].as_str().unwrap()))
            .collect::<Vec<_>>()
            .first(),
        branch["failed"]
            .as_array()
            .unwrap()
            .first()
            .map(|v| v.as_str().unwrap().to_string())
            .as_ref()
    );
    // Frozen, the branch's draws are script steps: the same trace apart
    // from the fault tags, and it fails again without --branch.
    let frozen = temp("stranded-frozen.yaml");
    let _ = std::fs::remove_file(&frozen);
    let status = bin()
        .args([
            "freeze",
            STRANDED,
            "--seed",
            &seed.to_string(),
            "--branch",
            points,
            "-o",
        ])
        .arg(&frozen)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&frozen).unwrap();
    assert!(
        text.contains(&format!("seed {seed} branch {points}")),
        "{text}"
    );
    let mut original = load(STRANDED);
    original.plan.reassignment = rollout_sim::core::ReassignmentPolicy::WorkerActiveIds;
    let mut refrozen = load_str("frozen.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    refrozen.plan.reassignment = rollout_sim::core::ReassignmentPolicy::WorkerActiveIds;
    let seed_run = run(&original, seed, points);
    let frozen_run = run(&refrozen, seed, "");
    assert!(!frozen_run.passed());
    assert_eq!(
        common::untagged(&frozen_run.run.trace.events),
        common::untagged(&seed_run.run.trace.events)
    );
    // Shrunk from the guided sweep: the first finding's first run is
    // shrunk from its branch, and the file fails the same way.
    let dir = temp("shrunk");
    let _ = std::fs::remove_dir_all(&dir);
    let out = bin()
        .args([
            "explore", STRANDED, "--seeds", "0..96", "--guided", "-j", "2",
        ])
        .args(["--reassignment", "reference", "--shrink", "--out"])
        .arg(&dir)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let shrunk: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = &shrunk["findings"]["listed"][0];
    let file = finding["shrunk"].as_str().unwrap();
    // It states the failure: it passes while the defect is there, and
    // fails once the queue reassigns as it should.
    let rerun = bin().args(["scenario", file]).output().unwrap();
    assert_eq!(
        rerun.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rerun.stdout)
    );
    let fixed = bin()
        .args(["scenario", file, "--reassignment", "scan"])
        .output()
        .unwrap();
    assert_eq!(fixed.status.code(), Some(1));
}

#[test]
fn the_command_line_refuses_what_guided_cannot_do() {
    // Shards: which runs a guided sweep makes depends on all earlier ones.
    let out = bin()
        .args(["explore", GENERIC, "--guided", "--shard", "1/2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // No overlay to reseed.
    let out = bin()
        .args(["explore", "scenarios/c02.yaml", "--guided"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "scenarios/c02.yaml: explore --guided branches by reseeding the random fault overlay"
        ),
        "{stderr}"
    );
    // Settings of guided exploration without it.
    let out = bin()
        .args(["explore", GENERIC, "--energy", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A branch that does not increase.
    let out = bin()
        .args(["scenario", GENERIC, "--branch", "40,12"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("branch points must increase: 12 comes after 40"),
        "{stderr}"
    );
}

#[test]
fn progress_counts_every_run_and_every_failure_plain_or_guided() {
    let mut scenario = load(STRANDED);
    scenario.plan.reassignment = rollout_sim::core::ReassignmentPolicy::WorkerActiveIds;
    for guided in [None, Some(Guided::default())] {
        let last = std::sync::Mutex::new(explore::Progress::default());
        let calls = std::sync::atomic::AtomicU64::new(0);
        let report = explore::sweep(
            &scenario,
            SweepOptions {
                seeds: "0..64".parse::<SeedRange>().unwrap(),
                shard: Shard::WHOLE,
                jobs: 2,
                engine: None,
                repro_args: String::new(),
                swarm: false,
                guided,
            },
            "rollout-sim",
            &|p| {
                calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut last = last.lock().unwrap();
                if p.runs > last.runs {
                    *last = p;
                }
            },
        );
        let last = *last.lock().unwrap();
        assert!(
            report.summary.failed > 0,
            "the reference store strands some"
        );
        assert_eq!(calls.into_inner(), report.summary.runs);
        assert_eq!(last.runs, report.summary.runs);
        assert_eq!(last.failed, report.summary.failed);
    }
}

/// A sweep cancelled once `after` runs have been counted, on `jobs` jobs.
fn cancelled_sweep(
    scenario: &Scenario,
    seeds: &str,
    shard: Shard,
    jobs: usize,
    guided: Option<Guided>,
    after: u64,
) -> SweepReport {
    let cancel = std::sync::atomic::AtomicBool::new(false);
    explore::sweep_until_cancelled(
        scenario,
        SweepOptions {
            seeds: seeds.parse::<SeedRange>().unwrap(),
            shard,
            jobs,
            engine: None,
            repro_args: String::new(),
            swarm: false,
            guided,
        },
        "rollout-sim",
        &|p| {
            if p.runs >= after {
                cancel.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        },
        &cancel,
    )
}

#[test]
fn a_cancelled_sweep_holds_the_first_seeds_of_its_shard() {
    let s = load(STRANDED);
    // One job: the flag is set as run 10 is counted, so no 11th starts.
    let shard = Shard {
        number: 2,
        count: 3,
    };
    let r = cancelled_sweep(&s, "0..300", shard, 1, None, 10);
    assert!(r.cancelled && r.partial);
    assert!(!r.is_complete());
    assert_eq!(r.summary.runs, 10);
    assert_eq!(r.summary.passed + r.summary.failed, 10);
    assert_eq!(r.shards, [2]);
    // The first ten seeds of shard 2/3, 1, 4, ... 28: what a sweep of
    // 0..30 in that shard gives, but for the flag.
    let whole = explore::sweep(
        &s,
        SweepOptions {
            seeds: "0..30".parse().unwrap(),
            shard,
            jobs: 1,
            engine: None,
            repro_args: String::new(),
            swarm: false,
            guided: None,
        },
        "rollout-sim",
        &|_| {},
    );
    assert!(!whole.cancelled && !whole.partial);
    assert_eq!(r.summary, whole.summary);
    assert_eq!(r.findings, whole.findings);
    // It reads back through its JSON, as `merge --allow-partial` reads it.
    let json = serde_json::to_string(&r).unwrap();
    let back = explore::parse_report("cancelled.json", json.as_bytes()).unwrap();
    assert_eq!(back, r);
    // A seed it never ran is refused.
    let mut edited = r.clone();
    edited.summary.runs = 101;
    edited.summary.passed = 101 - edited.summary.failed;
    assert!(explore::validate_report("x.json", &edited).is_err());
    // On two jobs the runs are still the first seeds, at least ten.
    let two = cancelled_sweep(&s, "0..300", shard, 2, None, 10);
    assert!(two.cancelled && two.summary.runs >= 10 && two.summary.runs < 100);
    let failing = two.summary.failing.iter().map(|f| f.seed);
    let last = 1 + 3 * (two.summary.runs - 1);
    assert!(failing.clone().all(|seed| seed <= last), "{last}");
    // Never cancelled: not marked.
    let never = cancelled_sweep(&s, "0..20", Shard::WHOLE, 2, None, u64::MAX);
    assert!(!never.cancelled && !never.partial && never.is_complete());
}

#[test]
fn a_cancelled_guided_sweep_says_why_it_stopped() {
    let s = load(GENERIC);
    let guided = Some(Guided::default());
    let r = cancelled_sweep(&s, "0..2000", Shard::WHOLE, 1, guided, 40);
    let g = r.guided.as_ref().unwrap();
    assert_eq!(g.stopped, GuidedStop::Cancelled);
    assert!(r.cancelled && r.partial);
    assert_eq!(r.summary.runs, 40);
    assert_eq!(g.seeds + g.branches, 40);
    // Its runs are the first 40 of the uncancelled sweep: the same
    // discoveries, so far.
    let whole = sweep(&s, "0..2000", 1, guided);
    let first: Vec<_> = whole
        .guided
        .as_ref()
        .unwrap()
        .discoveries
        .iter()
        .filter(|d| d.run <= 40)
        .cloned()
        .collect();
    assert_eq!(g.discoveries, first);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["guided"]["stopped"], "cancelled");
    assert_eq!(json["cancelled"], true);
}
