//! The engines side by side on the same work (issue 7; results in
//! BENCHMARKS.md).
//!
//! - `c02`: spec case C-02 end to end (run, invariants, expectations), with
//!   the scenario already parsed, then with parsing included, on the
//!   virtual, tokio (paused time) and turmoil engines.
//! - `c02-real-time`: the same plan on tokio in real time, as the reference
//!   runner's own tests run it: the peer baseline (~45 ms a run).
//! - `bulk-10k-defaults`: 10,000 rollouts on one worker with 10% random
//!   dequeue failures, the runner at its defaults; throughput in simulated
//!   trace events per second. Virtual seconds per wall second are printed
//!   beside it.
//! - `bulk-10k`: the same with every interval 1 ms: the same kind of work
//!   with 20 times less virtual time per event.
//! - `many-rollouts`: the C-04 suite's 64 rollouts on 4 workers.
//! - `floor`: a plan with no rollouts: one worker starts, polls once and
//!   the run ends. What an engine costs before any work, which bounds the
//!   ratios on small scenarios such as c02.
//!
//! Run with `cargo bench --bench engines`; `cargo bench --bench engines --
//! c02/` runs one group.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rollout_sim::scenario::{RunOptions, Scenario, load_file, load_str, run_scenario};
use rollout_sim::sim::run_tokio_wall_clock;
use rollout_sim::sim::{EngineKind, SimPlan, StopReason, run};

// The same allocator as the binary: a run allocates and frees small blocks all the time: mimalloc, not
// glibc's malloc (Cargo.toml, feature `mimalloc`).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ENGINES: [EngineKind; 3] = [EngineKind::Virtual, EngineKind::Tokio, EngineKind::Turmoil];

fn path(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// Loads a scenario to run as the CLI runs it: without keeping its trace
/// (every event is still checked and hashed).
fn load(rel: &str) -> Scenario {
    let mut scenario = load_file(Path::new(&path(rel))).unwrap_or_else(|e| panic!("{rel}: {e:?}"));
    scenario.plan.keep_events = false;
    scenario
}

fn on(engine: EngineKind) -> RunOptions {
    RunOptions {
        engine: Some(engine),
        ..RunOptions::default()
    }
}

/// Runs a scenario end to end and checks it passed (turmoil's time stamps
/// differ, so only the other engines must pass every expectation).
fn run_checked(scenario: &Scenario, engine: EngineKind) -> usize {
    let outcome = run_scenario(scenario, on(engine));
    assert!(
        outcome.passed() || engine == EngineKind::Turmoil,
        "{} failed on {engine}",
        scenario.name
    );
    outcome.run.events
}

fn c02(c: &mut Criterion) {
    let file = path("scenarios/c02.yaml");
    let text = std::fs::read_to_string(&file).expect("scenarios/c02.yaml");
    let scenario = load("scenarios/c02.yaml");
    let mut group = c.benchmark_group("c02");
    for engine in ENGINES {
        run_checked(&scenario, engine);
        group.bench_function(BenchmarkId::new("run", engine), |b| {
            b.iter(|| black_box(run_scenario(black_box(&scenario), on(engine))))
        });
    }
    for engine in ENGINES {
        group.bench_function(BenchmarkId::new("parse+run", engine), |b| {
            b.iter(|| {
                let mut scenario = load_str(&file, black_box(&text)).expect("c02 parses");
                scenario.plan.keep_events = false;
                black_box(run_scenario(&scenario, on(engine)))
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("c02-real-time");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("tokio-wall-clock", |b| {
        b.iter(|| {
            let run = run_tokio_wall_clock(black_box(&scenario.plan));
            black_box(scenario.expect.check(&run))
        })
    });
    group.finish();
}

fn bulk(c: &mut Criterion) {
    bulk_of(c, "bulk-10k", "benches/fixtures/bulk-10k.yaml");
    bulk_of(
        c,
        "bulk-10k-defaults",
        "benches/fixtures/bulk-10k-defaults.yaml",
    );
}

fn bulk_of(c: &mut Criterion, name: &str, file: &str) {
    let scenario = load(file);
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    for engine in ENGINES {
        let events = run_checked(&scenario, engine);
        let outcome = run_scenario(&scenario, on(engine));
        let virtual_s = outcome.virtual_time().as_secs_f64();
        // A quick median of its own, for the figures criterion does not
        // print: events per second and virtual seconds per wall second.
        let rounds = if engine == EngineKind::Turmoil { 3 } else { 9 };
        let mut walls: Vec<f64> = (0..rounds)
            .map(|_| {
                let started = Instant::now();
                black_box(run_scenario(&scenario, on(engine)));
                started.elapsed().as_secs_f64()
            })
            .collect();
        walls.sort_by(f64::total_cmp);
        let wall = walls[walls.len() / 2];
        eprintln!(
            "{name}/{engine}: {events} events, {virtual_s:.3} s virtual, median {:.2} ms wall: {:.2} M events/s, {:.0}x virtual-to-wall",
            wall * 1e3,
            events as f64 / wall / 1e6,
            virtual_s / wall
        );
        group.throughput(Throughput::Elements(events as u64));
        if engine == EngineKind::Turmoil {
            // One iteration is 0.5 s (1 ms intervals) to 2 s (defaults).
            group.measurement_time(Duration::from_secs_f64(wall * 12.0));
        }
        group.bench_function(BenchmarkId::new("run", engine), |b| {
            b.iter(|| black_box(run_scenario(black_box(&scenario), on(engine))))
        });
    }
    group.finish();
}

fn many_rollouts(c: &mut Criterion) {
    let scenario = load("scenarios/regression/many-rollouts.yaml");
    let mut group = c.benchmark_group("many-rollouts");
    for engine in ENGINES {
        let events = run_checked(&scenario, engine);
        group.throughput(Throughput::Elements(events as u64));
        group.bench_function(BenchmarkId::new("run", engine), |b| {
            b.iter(|| black_box(run_scenario(black_box(&scenario), on(engine))))
        });
    }
    group.finish();
}

fn floor(c: &mut Criterion) {
    let plan = SimPlan {
        keep_events: false,
        ..SimPlan::default()
    };
    let mut group = c.benchmark_group("floor");
    for engine in ENGINES {
        assert_eq!(run(&plan, engine).stop, StopReason::AllTerminal);
        group.bench_function(BenchmarkId::new("run", engine), |b| {
            b.iter(|| black_box(run(black_box(&plan), engine)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = c02, bulk, many_rollouts, floor
}
criterion_main!(benches);
