//! `rollout-sim freeze FILE --seed N`: a seed's random faults as a script.

use std::path::PathBuf;

use clap::Args;

use super::{EngineArg, Exit};
use rollout_explore as explore;
use rollout_report::{Outputs, Stdout};
use rollout_scenario::load_file;

/// Arguments of `freeze`.
#[derive(Debug, Clone, Args)]
pub struct FreezeArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// The seed whose random choices to write out.
    #[arg(long)]
    pub seed: u64,
    /// Where to write the frozen scenario (default: stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Run on this engine instead of the one the scenario resolves to.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    pub engine: EngineArg,
    /// The turmoil engine's budget of host-steps (README, "Limits").
    #[arg(long, value_name = "HOST_STEPS", default_value_t = rollout_simulator::DEFAULT_TURMOIL_BUDGET)]
    pub turmoil_budget: u64,
    /// Swarm mode: freeze the configuration the seed draws from the file's
    /// `swarm:` bounds, written out explicitly (no `--swarm` needed to rerun).
    #[arg(long)]
    pub swarm: bool,
    /// Freeze this branch of the seed (from `explore --guided`'s repro
    /// line): the overlay reseeded at these event indices.
    #[arg(long, value_name = "EVENTS")]
    pub branch: Option<rollout_simulator::Branch>,
}

/// Runs `freeze`.
pub fn run(args: &FreezeArgs) -> Exit {
    let mut outputs = Outputs::new([&args.file]);
    let output = match args
        .output
        .as_ref()
        .map(|p| outputs.open("-o", p))
        .transpose()
    {
        Ok(output) => output,
        Err(e) => {
            super::error(e);
            return Exit::Invalid;
        }
    };
    let mut scenario = match load_file(&args.file) {
        Ok(s) => s,
        Err(e) => {
            super::scenario::print_invalid(&e);
            return Exit::Invalid;
        }
    };
    if let Some(Err(e)) =
        super::scenario::engine_override(args.engine).map(|e| scenario.check_engine(e))
    {
        super::scenario::print_invalid(&e);
        return Exit::Invalid;
    }
    scenario.plan.limits.turmoil_budget = args.turmoil_budget;
    if let Err(e) = scenario.check_turmoil_budget(super::scenario::engine_override(args.engine)) {
        super::scenario::print_invalid(&e);
        return Exit::Invalid;
    }
    if args.swarm {
        scenario = scenario.swarmed(args.seed).0;
    }
    // A frozen file says every fault explicitly: turmoil's per-message
    // draws have no form in a scenario file, so freezing them would lie.
    if let Some(drawn) = scenario.plan.network.faults.and_then(|n| n.drawn()) {
        super::error(format_args!(
            "{}: cannot freeze `faults.network`: turmoil draws its {drawn} from the seed for every message, and a scenario file cannot write those draws out, so the frozen file would still depend on the seed; freeze a copy whose network faults draw nothing (`loss_rate: 0`, a fixed `latency`), or rerun the seed itself",
            args.file.display()
        ));
        return Exit::Invalid;
    }
    let branch = args.branch.clone().unwrap_or_default();
    scenario.plan.branch = branch.clone();
    let mut frozen = explore::freeze(
        &scenario,
        args.seed,
        super::scenario::engine_override(args.engine),
    );
    frozen.name = format!("{}-seed-{}-frozen", scenario.name, args.seed);
    let header = vec![
        format!(
            "Frozen by `rollout-sim freeze` from {} with seed {}{}:",
            scenario.path,
            args.seed,
            if branch.is_empty() {
                String::new()
            } else {
                format!(" branch {branch}")
            }
        ),
        "every fault the seed drew is an explicit script step; backoff jitter stays seeded."
            .to_string(),
    ];
    let yaml = match rollout_scenario::to_yaml(&frozen, &header) {
        Ok(y) => y,
        Err(e) => {
            super::error(e);
            return Exit::Invalid;
        }
    };
    let written = match output {
        Some(mut output) => {
            let _ = std::io::Write::write_all(&mut output, yaml.as_bytes());
            output.commit()
        }
        None => {
            let mut stdout = Stdout::new();
            stdout.print(&yaml);
            stdout.finish()
        }
    };
    match written {
        Ok(()) => Exit::Passed,
        Err(e) => {
            super::error(e);
            Exit::Invalid
        }
    }
}
