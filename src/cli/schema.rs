//! `rollout-sim schema`: prints [`rollout_scenario::json_schema`], the JSON
//! Schema of the scenario format, for editors.

use clap::Args;

use super::Exit;
use rollout_report::Stdout;
use rollout_scenario::json_schema;

/// Arguments of `schema`.
#[derive(Debug, Clone, Args)]
pub struct SchemaArgs {
    /// Print it on one line instead of indented.
    #[arg(long)]
    pub compact: bool,
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
