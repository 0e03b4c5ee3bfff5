//! `rollout-sim explore FILE --seeds A..B` and `rollout-sim merge REPORT...`.
//!
//! Both check their outputs (`--report`, and `--out` for `--shrink`) against
//! their inputs before anything runs, and write them and stdout through
//! [`rollout_report::output`].

use std::io::{IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::Args;

use super::{EngineArg, Exit, Format, ReassignmentArg, program_name, stdout_color};
use rollout_explore::{self as explore, SeedRange, Shard, SweepOptions, SweepReport};
use rollout_report::Style;
use rollout_report::{Output, Outputs, Stdout};
use rollout_scenario::load_file;

/// Arguments of `explore`.
#[derive(Debug, Clone, Args)]
pub struct ExploreArgs {
    /// The scenario file to sweep.
    pub file: PathBuf,
    /// Seeds to run: `A..B` (B excluded), `A..=B`, or one seed.
    #[arg(long, default_value = "0..1000")]
    pub seeds: SeedRange,
    /// Threads (default: the machine's cores).
    #[arg(long, short)]
    pub jobs: Option<NonZeroUsize>,
    /// Run only shard K of N, counted from 1 as cargo nextest's
    /// `--partition count:K/N` (K from 1 to N): the i-th seed of the range,
    /// from 0, belongs to shard i % N + 1.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Run on this engine instead of the one the scenario resolves to.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    pub engine: EngineArg,
    /// The turmoil engine's budget of host-steps, per seed (README, "Limits").
    #[arg(long, value_name = "HOST_STEPS", default_value_t = rollout_simulator::DEFAULT_TURMOIL_BUDGET)]
    pub turmoil_budget: u64,
    /// Output format on stdout (json is what `merge` reads).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write a self-contained HTML report here.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Shrink the first seed of each finding to a small scenario file in --out.
    #[arg(long)]
    pub shrink: bool,
    /// Where --shrink writes its scenario file.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Override how the queue finds stale attempts (the scenario's `queue.reassignment`).
    #[arg(long, value_enum)]
    pub reassignment: Option<ReassignmentArg>,
    /// Swarm mode: each seed first draws which fault families are on, and
    /// how hard, within the file's `swarm:` bounds (README, "Swarm mode").
    #[arg(long)]
    pub swarm: bool,
    /// Mark each finding new or still failing against an earlier sweep's
    /// JSON report of this scenario, and list its findings gone as fixed.
    #[arg(long, value_name = "PREVIOUS.json")]
    pub baseline: Option<PathBuf>,
    /// Also write JUnit XML here: one test case per finding (one passing
    /// case when no seed failed).
    #[arg(long, value_name = "FILE.xml")]
    pub junit: Option<PathBuf>,
    /// Guided exploration: the seed range is a budget of runs, spent partly
    /// on branches of runs that reached a new coverage state (README,
    /// "Guided exploration").
    #[arg(long, conflicts_with = "shard")]
    pub guided: bool,
    /// With --guided: branches made from each run that reached something new.
    #[arg(long, requires = "guided", default_value_t = explore::Guided::DEFAULT_ENERGY)]
    pub energy: u32,
    /// With --guided: stop after this many runs in a row reached nothing new.
    #[arg(long, value_name = "RUNS", requires = "guided", default_value_t = explore::Guided::DEFAULT_PLATEAU)]
    pub plateau: u64,
}

/// Arguments of `merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// JSON reports of shards of one sweep (`explore --format json`).
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write a self-contained HTML report here.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Merge the shards given even when some of the sweep's are missing or
    /// were cancelled (the report says "partial").
    #[arg(long)]
    pub allow_partial: bool,
}

fn print_report(
    report: &SweepReport,
    format: Format,
    html: Option<Output>,
    junit: Option<Output>,
) -> Exit {
    let mut stdout = Stdout::new();
    let text = match format {
        Format::Human => rollout_report::render_sweep_human(
            report,
            Style {
                color: stdout_color(),
            },
        ),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&explore::machine::SweepReport::from(report))
                .unwrap_or_default();
            s.push('\n');
            s
        }
    };
    stdout.print(&text);
    let mut failed = false;
    if let Some(mut html) = html {
        let _ = html.write_all(rollout_report::render_sweep_html(report).as_bytes());
        if let Err(e) = html.commit() {
            super::error(e);
            failed = true;
        }
    }
    if let Some(mut junit) = junit {
        let _ = junit.write_all(rollout_report::render_sweep_junit(report).as_bytes());
        if let Err(e) = junit.commit() {
            super::error(e);
            failed = true;
        }
    }
    if let Err(e) = stdout.finish() {
        super::error(e);
        failed = true;
    }
    if failed {
        return Exit::Invalid;
    }
    if report.cancelled {
        super::note(format_args!(
            "cancelled after {} runs (passed {}, failed {}): every report asked for holds them and is marked partial",
            report.summary.runs, report.summary.passed, report.summary.failed
        ));
    }
    if super::cancel::requested() {
        return Exit::Cancelled;
    }
    // A shard alone, or a cancelled sweep, cannot say no seed of the sweep
    // reaches a goal: only a report of every seed fails for it.
    let whole = report.is_complete();
    let mut unreached = 0;
    for goal in report.coverage.scenario_unreached() {
        unreached += 1;
        if whole {
            super::note(format_args!(
                "goal `{}` (expect.sometimes) was reached by no seed of {}",
                rollout_scenario::escaped(&goal.goal),
                report.seeds
            ));
        }
    }
    if report.summary.failed > 0 || (whole && unreached > 0) {
        Exit::Failed
    } else {
        Exit::Passed
    }
}

fn engine(arg: EngineArg) -> Option<rollout_simulator::EngineKind> {
    super::scenario::engine_override(arg)
}

/// Runs `explore`.
pub fn run(args: &ExploreArgs) -> Exit {
    let mut outputs = Outputs::new(
        [Some(&args.file), args.baseline.as_ref()]
            .into_iter()
            .flatten(),
    );
    let opened = (|| {
        let html = args
            .report
            .as_ref()
            .map(|p| outputs.open("--report", p))
            .transpose()?;
        let junit = args
            .junit
            .as_ref()
            .map(|p| outputs.open("--junit", p))
            .transpose()?;
        Ok::<_, rollout_report::OutputError>((html, junit))
    })();
    let (html, junit) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            super::error(e);
            return Exit::Invalid;
        }
    };
    if args.shrink
        && let Err(e) = outputs.check_folder(&args.out)
    {
        super::error(e);
        return Exit::Invalid;
    }
    let mut scenario = match load_file(&args.file) {
        Ok(s) => s,
        Err(e) => {
            super::scenario::print_invalid(&e);
            return Exit::Invalid;
        }
    };
    if let Some(Err(e)) = engine(args.engine).map(|e| scenario.check_engine(e)) {
        // `--engine virtual` on a scenario with network faults.
        super::scenario::print_invalid(&e);
        return Exit::Invalid;
    }
    scenario.plan.limits.turmoil_budget = args.turmoil_budget;
    if let Err(e) = scenario.check_turmoil_budget(engine(args.engine)) {
        super::scenario::print_invalid(&e);
        return Exit::Invalid;
    }
    if let Some(r) = args.reassignment {
        scenario.plan.reassignment = r.policy();
    }
    if args.guided && scenario.plan.random_faults.is_empty() && !args.swarm {
        super::error(format_args!(
            "{}: explore --guided branches by reseeding the random fault overlay, and this scenario has none: add `faults.random`, or sweep with --swarm (whose draws give it one)",
            args.file.display()
        ));
        return Exit::Invalid;
    }
    let baseline = match args
        .baseline
        .as_ref()
        .map(|p| explore::read_baseline(p, &scenario.name))
        .transpose()
    {
        Ok(b) => b,
        Err(e) => {
            super::error(e);
            return Exit::Invalid;
        }
    };
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let jobs = args
        .jobs
        .map(NonZeroUsize::get)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get));
    // In closed form: a range may hold 2^64 seeds.
    let total = u64::try_from(args.seeds.count(shard)).unwrap_or(u64::MAX);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} runs [{bar:40}] {msg} · {rate} · eta {eta}",
            )
            .map(|style| {
                // Whole runs a second: indicatif's own `{per_sec}` prints four
                // decimals of a figure that changes every frame.
                style.with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0}/s", state.per_sec());
                    },
                )
            })
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message("0 failed");
        bar
    });
    let progress = |p: explore::Progress| {
        if let Some(bar) = &bar
            && (p.runs % 64 == 0 || p.runs == total)
        {
            bar.set_position(p.runs);
            bar.set_message(format!("{} failed", p.failed));
        }
    };
    let mut repro_args = args
        .reassignment
        .map(|r| format!(" --reassignment {}", r.as_str()))
        .unwrap_or_default();
    let on_turmoil = engine(args.engine).unwrap_or_else(|| scenario.engine())
        == rollout_simulator::EngineKind::Turmoil;
    if on_turmoil && args.turmoil_budget != rollout_simulator::DEFAULT_TURMOIL_BUDGET {
        repro_args.push_str(&format!(" --turmoil-budget {}", args.turmoil_budget));
    }
    if args.swarm {
        repro_args.push_str(" --swarm");
    }
    let options = SweepOptions {
        seeds: args.seeds,
        shard,
        jobs,
        engine: engine(args.engine),
        repro_args,
        swarm: args.swarm,
        guided: args.guided.then_some(explore::Guided {
            energy: args.energy,
            plateau: args.plateau,
        }),
    };
    let program = program_name();
    let cancel = super::cancel::graceful();
    let mut report =
        explore::sweep_until_cancelled(&scenario, options, &program, &progress, cancel);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let (Some(path), Some(before)) = (&args.baseline, &baseline) {
        report
            .findings
            .compare(&path.display().to_string(), &before.findings);
    }
    if args.shrink && super::cancel::requested() {
        super::note("cancelled: not shrinking (--shrink) the findings");
    } else if args.shrink {
        // Once per cause: the seeds of a finding fail the same way.
        for finding in &mut report.findings.listed {
            if super::cancel::requested() {
                super::note("cancelled: the findings left are not shrunk");
                break;
            }
            // In swarm mode the seed's draw is written into the file
            // first, so the shrunk file says every fault explicitly.
            let mut swarmed = args.swarm.then(|| scenario.swarmed(finding.first_seed).0);
            if !finding.first_branch.is_empty() {
                let s = swarmed.get_or_insert_with(|| scenario.clone());
                s.plan.branch = finding.first_branch.clone();
            }
            match shrink_seed(
                swarmed.as_ref().unwrap_or(&scenario),
                finding.first_seed,
                engine(args.engine),
                &args.out,
                &mut outputs,
            ) {
                Ok((path, message)) => {
                    finding.shrunk = Some(path);
                    super::note(message);
                }
                Err(e) => {
                    super::error(e);
                    return Exit::Invalid;
                }
            }
        }
    }
    print_report(&report, args.format, html, junit)
}

fn shrink_seed(
    scenario: &rollout_scenario::Scenario,
    seed: u64,
    engine: Option<rollout_simulator::EngineKind>,
    out: &std::path::Path,
    outputs: &mut Outputs,
) -> Result<(String, String), String> {
    let mut frozen = explore::freeze(scenario, seed, engine);
    frozen.name = format!("{}-seed-{seed}-shrunk", scenario.name);
    let shrunk = explore::shrink(&frozen, engine)
        .ok_or_else(|| format!("seed {seed} did not fail again when frozen"))?;
    let (pinned, notes, passes) = explore::pinned(&shrunk.scenario, engine);
    let branch = if scenario.plan.branch.is_empty() {
        String::new()
    } else {
        format!(" branch {}", scenario.plan.branch)
    };
    let mut header = vec![
        format!(
            "Reproduces {} of {} seed {seed}{branch}: a regression test of that failure.",
            shrunk.signature, scenario.path
        ),
        format!(
            "Made by `rollout-sim explore --shrink`: the seed's faults frozen into script steps, then {} reductions in {} runs{}.",
            shrunk.steps,
            shrunk.runs,
            if shrunk.minimal {
                "; 1-minimal: removing any rollout, worker, fault step or timed fault, or halving any duration or count, no longer reproduces it"
            } else {
                "; the run budget ran out before it was 1-minimal"
            }
        ),
    ];
    if notes.is_empty() {
        header.push("Its expectations already state the failure.".to_string());
    } else {
        header.push("Its expectations state the failure instead of the original ones:".to_string());
        header.extend(notes.iter().map(|n| format!("  {n}")));
    }
    header.push(if passes {
        "Committed under scenarios/, it passes while the defect is there and fails once it is fixed.".to_string()
    } else {
        "It still fails as written (a stop rule cannot be pinned): fix the defect, or edit `stop`.".to_string()
    });
    if let Some(drawn) = scenario.plan.network.faults.and_then(|n| n.drawn()) {
        header.push(format!(
            "turmoil's network {drawn} stay drawn from the seed, which this file keeps."
        ));
    }
    let mut s = pinned;
    s.description = Some(format!(
        "Shrunk reproducer of {} seed {seed}{branch}: {}",
        scenario.name, shrunk.signature
    ));
    let yaml = rollout_scenario::to_yaml(&s, &header)?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let path = out.join(format!("{}-seed-{seed}.yaml", scenario.name));
    rollout_report::write_file(outputs, "--out", &path, yaml.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok((
        path.display().to_string(),
        format!(
            "shrunk seed {seed} to {} rollout(s), {} worker(s) in {} runs: {} (fails {})",
            s.plan.rollouts.len(),
            s.plan.workers.len(),
            shrunk.runs,
            path.display(),
            shrunk.signature
        ),
    ))
}

/// Runs `merge`.
pub fn merge(args: &MergeArgs) -> Exit {
    let mut outputs = Outputs::new(&args.reports);
    let html = match args
        .report
        .as_ref()
        .map(|p| outputs.open("--report", p))
        .transpose()
    {
        Ok(html) => html,
        Err(e) => {
            super::error(e);
            return Exit::Invalid;
        }
    };
    // One at a time, each checked as it is read (bounded, field by field).
    let mut reports = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        match explore::read_report(path) {
            Ok(r) => reports.push((path.display().to_string(), r)),
            Err(e) => {
                super::error(e);
                return Exit::Invalid;
            }
        }
    }
    match explore::merge_reports(&reports, args.allow_partial) {
        Ok(merged) => print_report(&merged, args.format, html, None),
        Err(e) => {
            super::error(e);
            Exit::Invalid
        }
    }
}
