//! Sweep throughput (issue 7; results in BENCHMARKS.md): seeds per second of
//! `explore` on C-02 with a 10% random dequeue overlay
//! (`benches/fixtures/c02-overlay.yaml`), 10,000 seeds an iteration, on 1
//! and 2 jobs. The same work as
//! `rollout-sim explore benches/fixtures/c02-overlay.yaml --seeds 0..10000 --jobs N`.
//!
//! Run with `cargo bench --bench sweep`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rollout_sim::explore::{SeedRange, Shard, SweepOptions, sweep};
use rollout_sim::scenario::load_file;

// The same allocator as the binary: a run allocates and frees small blocks all the time: mimalloc, not
// glibc's malloc (Cargo.toml, feature `mimalloc`).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEEDS: u64 = 10_000;

fn sweeps(c: &mut Criterion) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures/c02-overlay.yaml");
    let scenario = load_file(&file).expect("the sweep fixture loads");
    let mut group = c.benchmark_group("sweep-c02-overlay");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(SEEDS));
    for jobs in [1, 2] {
        let options = SweepOptions {
            seeds: SeedRange {
                start: 0,
                end: u128::from(SEEDS),
            },
            shard: Shard::WHOLE,
            jobs,
            engine: None,
            repro_args: String::new(),
            swarm: false,
            guided: None,
        };
        let report = sweep(&scenario, options.clone(), "rollout-sim", &|_| {});
        assert_eq!(report.summary.runs, SEEDS);
        assert_eq!(
            report.summary.failed,
            0,
            "{:?}",
            report.summary.failing.first()
        );
        group.bench_function(BenchmarkId::new("seeds-10k", format!("{jobs}-jobs")), |b| {
            b.iter(|| black_box(sweep(&scenario, options.clone(), "rollout-sim", &|_| {})))
        });
    }
    group.finish();
}

criterion_group!(benches, sweeps);
criterion_main!(benches);
