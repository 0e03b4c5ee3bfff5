//! Runs one scenario many times in a loop, for a profiler to watch
//! (BENCHMARKS.md, "Profiling"):
//!
//! ```sh
//! cargo build --release --example profile
//! valgrind --tool=callgrind target/release/examples/profile scenarios/c02.yaml virtual 10000
//! perf record -e cpu-clock -g target/release/examples/profile benches/fixtures/bulk-10k.yaml virtual 20
//! ```

use std::hint::black_box;
use std::path::Path;

use rollout_sim::scenario::{RunOptions, load_file, run_scenario};
use rollout_sim::sim::EngineKind;

// The same allocator as the binary: a run allocates and frees small blocks all the time: mimalloc, not
// glibc's malloc (Cargo.toml, feature `mimalloc`).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: profile FILE [virtual|tokio|turmoil] [RUNS]";
    let file = args.next().expect(usage);
    let engine = match args.next().as_deref() {
        None | Some("virtual") => EngineKind::Virtual,
        Some("tokio") => EngineKind::Tokio,
        Some("turmoil") => EngineKind::Turmoil,
        Some(_) => panic!("{usage}"),
    };
    let runs: u64 = args.next().map_or(1000, |n| n.parse().expect(usage));
    let mut scenario = load_file(Path::new(&file)).unwrap_or_else(|e| panic!("{file}: {e:?}"));
    scenario.plan.keep_events = false;
    let options = RunOptions {
        engine: Some(engine),
        ..RunOptions::default()
    };
    let mut passed = 0;
    for _ in 0..runs {
        passed +=
            usize::from(black_box(run_scenario(black_box(&scenario), options.clone())).passed());
    }
    println!("{passed} of {runs} runs passed");
}
