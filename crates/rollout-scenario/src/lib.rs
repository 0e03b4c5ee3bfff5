//! Layer 3: scenario files. The YAML schema, loading with located
//! diagnostics, and expectations checked against a run.
//!
//! [`files::collect_files`] finds the scenario files of a command line,
//! each once; [`load_file`] reads one (through [`files::read_input`],
//! bounded, regular files only) and turns it into a [`Scenario`]: a
//! [`SimPlan`](rollout_simulator::SimPlan) to run and the [`Expectations`] to
//! check. [`run_scenario`] does both and returns a [`ScenarioOutcome`].

mod budget;
mod diagnostics;
mod duration;
mod expect;
mod files;
mod json_schema;
mod limits;
mod load;
mod outcome;
mod schema;
mod source;
mod validate;
mod write;

pub use diagnostics::{LoadError, Problem, ProblemReport, nearest};
pub use duration::{format_duration, parse_duration};
pub use expect::{
    AttemptExpectation, Check, CheckName, CheckValue, Expectations, RewardValue, RewardValues,
    RolloutExpectation, SometimesGoal, Target, display_value,
};
pub use files::{FileKind, InputError, collect_files, read_input};
pub use limits::{
    MAX_FILE_BYTES, MAX_KNOWN_LISTED, MAX_MESSAGE_LEN, MAX_NAME_LEN, MAX_NESTING, MAX_NODES,
    MAX_PAYLOAD_BYTES, MAX_PROBLEMS, MAX_ROLLOUT_PAYLOAD_BYTES, MAX_ROLLOUTS, MAX_SEEDS,
    MAX_SUGGESTION_CANDIDATES, MAX_SUGGESTION_LEN, MAX_TIMED_FAULTS, MAX_WALK_ENTRIES, MAX_WITHIN,
    MAX_WORKERS,
};
pub use load::{Scenario, load_file, load_str};
pub use outcome::{RunOptions, ScenarioOutcome, outcome_repro, repro_command, run_scenario};
pub use schema::{EngineChoice, Jitter};
pub use source::{ByteSpan, Lines, Path, PathSegment, escaped, is_hidden_char, line_col};
pub use write::to_yaml;

pub use json_schema::{SCHEMA_ID, json_schema};

/// The tool's version, as every machine output writes it and `merge`
/// requires of the sweep reports it reads. Here, the lowest layer that
/// writes one: reports and sweeps re-export it.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
