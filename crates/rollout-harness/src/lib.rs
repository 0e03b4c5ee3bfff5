//! Scenario files as test cases: `cargo test` and `cargo nextest run` list,
//! filter and run each file (and each seed of its `seeds:` list) as a test
//! of its own, from a `harness = false` test target of a few lines.
//!
//! The model: a [`Harness`] collects [`Case`]s, one per file and seed, from
//! the folders and files it is given (walked recursively, `*.yaml` and
//! `*.yml`, sorted), names each by its path under the folder without the
//! extension (`c02`, `regression/processing-failure`, and
//! `research/sweep/seed-7` for a seed of a list), and hands them to
//! [libtest-mimic](https://docs.rs/libtest-mimic), which gives them the
//! command line of the built-in test harness: `--list`, name filters,
//! `--exact`, `--ignored`, `--test-threads`, `--format terse` (which is how
//! nextest lists and runs them). Each case runs a [`Check`]: by default
//! [`run_twice`], which runs the scenario twice on the engine it asks for
//! and passes when every expectation and invariant held and both runs gave
//! the same trace hash. A file that does not load is a failing case whose
//! message is the located error.
//!
//! ```toml
//! # Cargo.toml
//! [dev-dependencies]
//! rollout-sim = { path = "../rollout-sim" }
//!
//! [[test]]
//! name = "scenarios"
//! harness = false
//! ```
//!
//! ```no_run
//! // tests/scenarios.rs
//! use rollout_harness::Harness;
//!
//! fn main() -> std::process::ExitCode {
//!     Harness::new().dir("scenarios").run()
//! }
//! ```

mod case;
mod check;
mod harness;

pub use case::{Case, collect_cases};
pub use check::{Check, run_twice};
pub use harness::Harness;
