//! Runs the simulator crate's `examples/delayed_queue.rs` in-process: `cargo test` builds examples
//! but does not run them, so the example's assertions are checked here.

#[path = "../crates/rollout-simulator/examples/delayed_queue.rs"]
mod example;

#[test]
fn delayed_queue_example_runs_and_its_assertions_hold() {
    example::main();
}
