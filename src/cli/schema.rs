//! `rollout-sim schema`: the JSON Schema of the scenario format, for editors.
//!
//! Derived from the serde types of [`rollout_scenario::schema`] with
//! schemars, so it cannot drift from what the loader accepts. It checks
//! structure and types (unknown keys, wrong types, malformed durations, known
//! statuses and invariant names); the semantic checks (unique ids, known
//! references, limits) stay with the loader and its located errors.

use clap::Args;

use super::Exit;
use rollout_report::output::Stdout;
use rollout_scenario::schema::ScenarioFile;

/// Where the schema is published, for `$id` and editor settings.
pub const SCHEMA_ID: &str = "https://rollout-sim.dev/schema/scenario.json";

/// Arguments of `schema`.
#[derive(Debug, Clone, Args)]
pub struct SchemaArgs {
    /// Print it on one line instead of indented.
    #[arg(long)]
    pub compact: bool,
}

/// The JSON Schema (draft 2020-12) of a scenario file.
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(ScenarioFile).to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert("$id".into(), SCHEMA_ID.into());
        object.insert("title".into(), "rollout-sim scenario".into());
        object.insert(
            "description".into(),
            "A rollout-sim scenario file: the runner's config, workers, rollouts, faults, a stop rule and expectations (DESIGN §2)."
                .into(),
        );
    }
    schema
}

/// Prints the schema on stdout.
pub fn run(args: &SchemaArgs) -> Exit {
    let schema = json_schema();
    let text = if args.compact {
        serde_json::to_string(&schema)
    } else {
        serde_json::to_string_pretty(&schema)
    };
    let Ok(text) = text else {
        return Exit::Invalid;
    };
    let mut stdout = Stdout::new();
    stdout.print(&format!("{text}\n"));
    match stdout.finish() {
        Ok(()) => Exit::Passed,
        Err(e) => {
            super::error(e);
            Exit::Invalid
        }
    }
}
