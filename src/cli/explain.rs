//! `rollout-sim explain FILE`: every worker's timeline the scripted faults
//! imply, predicted without running the runner.

use std::path::PathBuf;

use clap::Args;

use super::Exit;
use rollout_report::Stdout;
use rollout_scenario::load_file;

/// Arguments of `explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The scenario file.
    pub file: PathBuf,
}

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> Exit {
    match load_file(&args.file) {
        Ok(scenario) => {
            let mut stdout = Stdout::new();
            stdout.print(&rollout_explore::explain(&scenario).text);
            match stdout.finish() {
                Ok(()) => Exit::Passed,
                Err(e) => {
                    super::error(e);
                    Exit::Invalid
                }
            }
        }
        Err(e) => {
            super::scenario::print_invalid(&e);
            Exit::Invalid
        }
    }
}
