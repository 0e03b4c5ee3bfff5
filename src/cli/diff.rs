//! `rollout-sim diff FILE [--seed N]`: the same scenario run two ways that
//! must agree (metrics on vs off; every engine that can run it), compared
//! event by event ([`rollout_explore::diff`]). Exit 0 when every comparison
//! held, 1 when one failed, 2 for an invalid file.

use std::path::PathBuf;

use clap::Args;

use super::{Exit, Format, stdout_color};
use rollout_report::{Stdout, Style};
use rollout_scenario::load_file;

/// Arguments of `diff`.
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// Run with this seed instead of the file's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The turmoil engine's budget of host-steps (README, "Limits").
    #[arg(long, value_name = "HOST_STEPS", default_value_t = rollout_simulator::DEFAULT_TURMOIL_BUDGET)]
    pub turmoil_budget: u64,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Test-only: perturb the virtual engine's scheduling on purpose.
    #[arg(long, hide = true)]
    pub perturb_scheduling: bool,
}

/// Runs `diff`.
pub fn run(args: &DiffArgs) -> Exit {
    let mut scenario = match load_file(&args.file) {
        Ok(s) => s,
        Err(e) => {
            super::scenario::print_invalid(&e);
            return Exit::Invalid;
        }
    };
    scenario.plan.limits.turmoil_budget = args.turmoil_budget;
    if let Err(e) = scenario.check_turmoil_budget(None) {
        super::scenario::print_invalid(&e);
        return Exit::Invalid;
    }
    let report = rollout_explore::diff(&scenario, args.seed, args.perturb_scheduling);
    let text = match args.format {
        Format::Human => rollout_report::render_diff_human(
            &report,
            Style {
                color: stdout_color(),
            },
        ),
        Format::Json => rollout_report::render_diff_json(&report),
    };
    let mut stdout = Stdout::new();
    stdout.print(&text);
    if let Err(e) = stdout.finish() {
        super::error(e);
        return Exit::Invalid;
    }
    if report.held() {
        Exit::Passed
    } else {
        Exit::Failed
    }
}
