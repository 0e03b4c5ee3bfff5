//! Layer 3: scenario files. The YAML schema, loading with located
//! diagnostics, and expectations checked against a run.
//!
//! [`files::collect_files`] finds the scenario files of a command line,
//! each once; [`load_file`] reads one (through [`files::read_input`],
//! bounded, regular files only) and turns it into a [`Scenario`]: a
//! [`SimPlan`](rollout_simulator::SimPlan) to run and the [`Expectations`] to
//! check. [`run_scenario`] does both and returns a [`ScenarioOutcome`].

mod budget;
pub mod diagnostics;
pub mod duration;
pub mod expect;
pub mod files;
mod json_schema;
pub mod limits;
pub mod load;
pub mod outcome;
pub mod schema;
pub mod source;
mod validate;
pub mod write;

pub use diagnostics::{LoadError, Problem};
pub use expect::{Check, CheckName, CheckValue, Expectations};
pub use json_schema::{SCHEMA_ID, json_schema};
pub use load::{Scenario, load_file, load_str};
pub use outcome::{RunOptions, ScenarioOutcome, run_scenario};

/// The tool's version, as every machine output writes it and `merge`
/// requires of the sweep reports it reads. Here, the lowest layer that
/// writes one: reports and sweeps re-export it.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
