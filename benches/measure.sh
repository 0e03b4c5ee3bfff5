#!/usr/bin/env bash
# The hot-path figures of BENCHMARKS.md ("Hot path: instruction counts"),
# measured the same way every time (valgrind and GNU time from Debian's
# packages):
#
#   bash benches/measure.sh            # every row
#   bash benches/measure.sh c02-seed   # one row (c02-seed, overlay-seed,
#                                      # bulk-event, c02-run, core-floor, rss-1m,
#                                      # late-events, seeds-per-s)
#
# Instruction counts come from callgrind (deterministic for one binary and
# input, whatever else the machine runs), each as the difference of two
# runs of different sizes, so that start-up and loading cancel out. Peak
# RSS comes from /usr/bin/time -v. Seeds per second is wall
# time: the one figure here that depends on the machine and its load.
set -euo pipefail
cd "$(dirname "$0")/.."

rows=("$@")
[ ${#rows[@]} -eq 0 ] && rows=(c02-seed overlay-seed bulk-event c02-run core-floor rss-1m late-events seeds-per-s)
want() { local r; for r in "${rows[@]}"; do [ "$r" = "$1" ] && return 0; done; return 1; }

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
cargo build --release --quiet --bin rollout-sim --example profile --example core_floor
bin=target/release/rollout-sim
profile=target/release/examples/profile
floor=target/release/examples/core_floor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Instructions a command executes, all threads together.
instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$@" >/dev/null 2>"$work/cg.err" || true
    grep -E '^(summary|totals):' "$work/cg.out" | head -1 | awk '{print $2}'
}

# `generate` with 10% dequeue failures and 1 ms intervals, COUNT rollouts.
bulk() {
    cat >"$work/bulk-$1.yaml" <<EOF
name: bulk-$1
runner: { poll_interval: 1ms }
rollouts:
  - generate: { count: $1, every: 1ms, run: { duration: 1ms, output: ok } }
faults:
  random:
    dequeue: { fail_rate: 0.1 }
stop: { within: 1h }
EOF
    echo "$work/bulk-$1.yaml"
}

# Events of one run of a file.
events() {
    "$bin" scenario "$1" --format json | grep -o '"events": [0-9]*' | head -1 | awk '{print $2}'
}

if want c02-seed; then
    a=$(instructions "$bin" explore scenarios/c02.yaml --seeds 0..2000 --jobs 1 --format json)
    b=$(instructions "$bin" explore scenarios/c02.yaml --seeds 0..4000 --jobs 1 --format json)
    echo "c02-seed      explore scenarios/c02.yaml, per seed, 1 job: $(( (b - a) / 2000 )) instructions"
fi

if want overlay-seed; then
    a=$(instructions "$bin" explore benches/fixtures/c02-overlay.yaml --seeds 0..2000 --jobs 1 --format json)
    b=$(instructions "$bin" explore benches/fixtures/c02-overlay.yaml --seeds 0..4000 --jobs 1 --format json)
    echo "overlay-seed  explore benches/fixtures/c02-overlay.yaml, per seed, 1 job: $(( (b - a) / 2000 )) instructions"
fi

if want bulk-event; then
    small=$(bulk 5000); large=$(bulk 15000)
    a=$(instructions "$bin" scenario "$small"); b=$(instructions "$bin" scenario "$large")
    ea=$(events "$small"); eb=$(events "$large")
    echo "bulk-event    generate, 10% dequeue failures, 1 ms intervals, per event: $(( (b - a) / (eb - ea) )) instructions ($ea and $eb events)"
fi

if want c02-run; then
    for engine in virtual tokio turmoil; do
        n=200; [ "$engine" = turmoil ] && n=20
        a=$(instructions "$profile" scenarios/c02.yaml "$engine" "$n")
        b=$(instructions "$profile" scenarios/c02.yaml "$engine" $((2 * n)))
        echo "c02-run       one c02 run on $engine (examples/profile): $(( (b - a) / n )) instructions"
    done
fi

if want core-floor; then
    # The runner core alone (examples/core_floor.rs): the system under test
    # with no simulator around it, the floor under the rows above.
    a=$(instructions "$floor" 200); b=$(instructions "$floor" 400)
    echo "core-floor    c02's runner alone on the virtual executor, per run: $(( (b - a) / 200 )) instructions"
    a=$(instructions "$floor" bulk 5000); b=$(instructions "$floor" bulk 15000)
    echo "core-floor    bulk's runner alone, per rollout: $(( (b - a) / 10000 )) instructions"
fi

if want rss-1m; then
    [ -x /usr/bin/time ] || { echo "rss-1m needs GNU time (apt-get install time)" >&2; exit 2; }
    /usr/bin/time -v "$bin" scenario benches/fixtures/generate-1m.yaml >/dev/null 2>"$work/time.err" || true
    kb=$(grep 'Maximum resident' "$work/time.err" | awk '{print $NF}')
    echo "rss-1m        1M-rollout generate, peak RSS: $((kb / 1024)) MB ($((kb * 1024 / 1000000)) B a rollout)"
fi

if want late-events; then
    # Cost per event early and late in a run: a run of ~120k events against
    # one of ~360k, each against a third of it.
    for count in 10000 30000; do
        small=$(bulk $((count / 3))); large=$(bulk "$count")
        a=$(instructions "$bin" scenario "$small"); b=$(instructions "$bin" scenario "$large")
        ea=$(events "$small"); eb=$(events "$large")
        echo "late-events   per event from $ea to $eb events: $(( (b - a) / (eb - ea) )) instructions"
    done
fi

if want seeds-per-s; then
    start=$(date +%s.%N)
    "$bin" explore benches/fixtures/c02-overlay.yaml --seeds 0..200000 --jobs 2 --format json >/dev/null || true
    end=$(date +%s.%N)
    echo "seeds-per-s   c02 with a 10% overlay, 2 jobs: $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%d", 200000 / (e - s) }') seeds/s (wall time)"
fi
