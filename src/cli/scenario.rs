//! `rollout-sim scenario PATH...`: run scenario files and judge them.
//!
//! Files are loaded first (every invalid file is reported, all problems at
//! once), then the valid ones run on `--jobs` threads. Results print in input
//! order as soon as each is ready; output files are written at the end,
//! whole or not at all.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::Args;

use super::{EngineArg, Exit, Format, program_name, stdout_color};
use crate::report::human::{self, Style};
use crate::report::write::{OutputError, write_atomically};
use crate::report::{
    DeterminismReport, InvalidFile, ScenarioReport, SuiteReport, events, json, junit, spans,
    timeline,
};
use crate::scenario::{LoadError, Problem, RunOptions, Scenario, load_file, run_scenario};
use crate::sim::{EngineKind, RunResult};

/// Arguments of `scenario`.
#[derive(Debug, Clone, Args)]
pub struct ScenarioArgs {
    /// Scenario files, or folders to search for *.yaml and *.yml.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Run with this seed instead of each scenario's own.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run on this engine instead of the one each scenario resolves to.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    pub engine: EngineArg,
    /// The turmoil engine's budget of host-steps (README, "Limits").
    #[arg(long, value_name = "HOST_STEPS", default_value_t = crate::sim::plan::DEFAULT_TURMOIL_BUDGET)]
    pub turmoil_budget: u64,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write JUnit XML here: one test case per (scenario, seed).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write every persisted span here: FILE.jsonl (JSON Lines) or FILE.db (SQLite).
    #[arg(long, value_name = "FILE")]
    pub spans: Option<PathBuf>,
    /// Also write the event trace here, as JSON Lines.
    #[arg(long, value_name = "FILE.jsonl")]
    pub trace: Option<PathBuf>,
    /// Also draw the timeline here, as SVG: one lane per worker.
    #[arg(long, value_name = "FILE.svg")]
    pub timeline: Option<PathBuf>,
    /// Run each scenario twice from scratch and compare the traces event by
    /// event; exit 3 on any difference.
    #[arg(long)]
    pub check_determinism: bool,
    /// Scenario files to run at once (default: the machine's cores).
    #[arg(long, short)]
    pub jobs: Option<NonZeroUsize>,
    /// List every check of every scenario, passed or failed (a single
    /// scenario lists 20 of each by default, a suite only the failures).
    #[arg(long, short)]
    pub verbose: bool,
    /// Override how the queue finds stale attempts (the scenarios' `queue.reassignment`).
    #[arg(long, value_enum)]
    pub reassignment: Option<super::ReassignmentArg>,
    /// Test-only: perturb the virtual engine's scheduling on purpose.
    #[arg(long, hide = true)]
    pub perturb_scheduling: bool,
}

/// Every scenario file under `paths`, in order: files as given, folders
/// walked in name order.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files).map_err(|e| LoadError::io(&path.display().to_string(), &e))?;
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(LoadError::single(
                &path.display().to_string(),
                String::new(),
                Problem::new("no such file or folder"),
            ));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, files)?;
        } else if entry.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(entry);
        }
    }
    Ok(())
}

/// Prints a load error: underlined snippets on a terminal, plain lines otherwise.
pub fn print_invalid(error: &LoadError) {
    let mut stderr = std::io::stderr().lock();
    // People get the snippet with the offending text underlined; logs and
    // pipes get one stable `file:line:column: message` line per problem.
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        for report in error.reports() {
            let _ = writeln!(stderr, "{:?}", miette::Report::new(report));
        }
    } else {
        let _ = stderr.write_all(error.plain().as_bytes());
    }
}

/// Refuses output paths that cannot work, before anything runs.
fn check_outputs(args: &ScenarioArgs) -> Result<(), OutputError> {
    let outputs = [&args.junit, &args.spans, &args.trace, &args.timeline];
    for path in outputs.into_iter().flatten() {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(OutputError::new(
                path,
                format!("the folder {} does not exist", parent.display()),
            ));
        }
        if path.is_dir() {
            return Err(OutputError::new(path, "it is a folder"));
        }
    }
    if let Some(path) = &args.spans
        && !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("jsonl" | "db" | "sqlite" | "sqlite3")
        )
    {
        return Err(OutputError::new(
            path,
            "the spans file must end in .jsonl (JSON Lines) or .db (SQLite)",
        ));
    }
    Ok(())
}

/// One scenario's result, with its run kept when an output file needs it.
struct Judged {
    report: ScenarioReport,
    run: Option<RunResult>,
}

fn judge(
    scenario: &Scenario,
    options: RunOptions,
    program: &str,
    keep_run: bool,
    check_determinism: bool,
) -> Judged {
    let outcome = run_scenario(scenario, options);
    let mut report = ScenarioReport::new(scenario, &outcome, program);
    if check_determinism {
        let again = run_scenario(scenario, options);
        report.determinism = Some(DeterminismReport::compare(&outcome.run, &again.run));
    }
    Judged {
        report,
        run: keep_run.then_some(outcome.run),
    }
}

/// Runs `scenarios` on `jobs` threads, calling `done` in input order as
/// results become available.
fn run_in_order(
    scenarios: &[Scenario],
    jobs: usize,
    work: impl Fn(&Scenario) -> Judged + Sync,
    mut done: impl FnMut(&Judged),
) -> Vec<Judged> {
    let mut results: Vec<Option<Judged>> = (0..scenarios.len()).map(|_| None).collect();
    let next = AtomicUsize::new(0);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(scenarios.len()).max(1) {
            let sender = sender.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(scenario) = scenarios.get(i) else {
                        break;
                    };
                    if sender.send((i, work(scenario))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut printed = 0;
        for (i, judged) in receiver {
            results[i] = Some(judged);
            while let Some(Some(ready)) = results.get(printed) {
                done(ready);
                printed += 1;
            }
        }
    });
    results.into_iter().flatten().collect()
}

/// The engine `--engine` asks for; `None` for `auto`.
pub fn engine_override(arg: EngineArg) -> Option<EngineKind> {
    match arg {
        EngineArg::Auto => None,
        EngineArg::Virtual => Some(EngineKind::Virtual),
        EngineArg::Tokio => Some(EngineKind::Tokio),
        EngineArg::Turmoil => Some(EngineKind::Turmoil),
    }
}

/// Runs the `scenario` subcommand.
pub fn run(args: &ScenarioArgs) -> Exit {
    let started = Instant::now();
    if let Err(e) = check_outputs(args) {
        eprintln!("error: {e}");
        return Exit::Invalid;
    }
    let files = match collect_files(&args.paths) {
        Ok(files) => files,
        Err(e) => {
            print_invalid(&e);
            return Exit::Invalid;
        }
    };
    if files.is_empty() {
        eprintln!("error: no scenario files (*.yaml, *.yml) under the given paths");
        return Exit::Invalid;
    }
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut invalid: Vec<LoadError> = Vec::new();
    for file in &files {
        match load_file(file) {
            Ok(mut s) => {
                s.plan.limits.turmoil_budget = args.turmoil_budget;
                if let Some(other) = scenarios.iter().find(|o| o.name == s.name) {
                    invalid.push(LoadError::single(
                        &s.path,
                        String::new(),
                        Problem::new(format!(
                            "scenario name `{}` is already used by {}; names are unique in a suite",
                            s.name, other.path
                        )),
                    ));
                } else if let Some(Err(e)) =
                    engine_override(args.engine).map(|engine| s.check_engine(engine))
                {
                    // `--engine virtual` on a scenario with network faults.
                    invalid.push(e);
                } else if let Err(e) = s.check_turmoil_budget(engine_override(args.engine)) {
                    // A week of steps, or a thousand hosts, on turmoil.
                    invalid.push(e);
                } else {
                    let mut s = s;
                    // Only these outputs read the events; every run still
                    // checks and hashes them as they happen.
                    s.plan.keep_events =
                        args.trace.is_some() || args.timeline.is_some() || args.check_determinism;
                    scenarios.push(s);
                }
            }
            Err(e) => invalid.push(e),
        }
    }
    for error in &invalid {
        print_invalid(error);
    }
    let options = RunOptions {
        seed: args.seed,
        engine: engine_override(args.engine),
        perturb_scheduling: args.perturb_scheduling,
        reassignment: args.reassignment.map(super::ReassignmentArg::policy),
        keep_events: None,
    };
    let program = program_name();
    let style = Style {
        color: stdout_color(),
    };
    let detail = if args.verbose {
        human::Detail::Every
    } else if files.len() == 1 {
        human::Detail::Checks
    } else {
        human::Detail::Failures
    };
    let keep_runs = args.spans.is_some() || args.trace.is_some() || args.timeline.is_some();
    let jobs = args
        .jobs
        .map(NonZeroUsize::get)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get));
    let mut stdout = std::io::stdout().lock();
    let judged = run_in_order(
        &scenarios,
        jobs,
        |s| judge(s, options, &program, keep_runs, args.check_determinism),
        |j| {
            if args.format == Format::Human {
                let _ =
                    stdout.write_all(human::render_scenario(&j.report, detail, style).as_bytes());
                let _ = stdout.flush();
            }
        },
    );
    let runs: Vec<(&ScenarioReport, &RunResult)> = judged
        .iter()
        .filter_map(|j| j.run.as_ref().map(|r| (&j.report, r)))
        .collect();
    let mut write_failed = false;
    let mut write = |path: &Option<PathBuf>, render: &dyn Fn() -> Result<(), OutputError>| {
        if path.is_some()
            && let Err(e) = render()
        {
            eprintln!("error: {e}");
            write_failed = true;
        }
    };
    let reports: Vec<&ScenarioReport> = judged.iter().map(|j| &j.report).collect();
    write(&args.junit, &|| {
        write_atomically(
            args.junit.as_deref().unwrap_or(Path::new("")),
            junit::render(&reports).as_bytes(),
        )
    });
    write(&args.spans, &|| {
        spans::write(args.spans.as_deref().unwrap_or(Path::new("")), &runs)
    });
    write(&args.trace, &|| {
        write_atomically(
            args.trace.as_deref().unwrap_or(Path::new("")),
            events::render_jsonl(&runs).as_bytes(),
        )
    });
    write(&args.timeline, &|| {
        write_atomically(
            args.timeline.as_deref().unwrap_or(Path::new("")),
            timeline::render(&runs).as_bytes(),
        )
    });

    let suite = SuiteReport::new(
        judged.into_iter().map(|j| j.report).collect(),
        invalid.iter().map(InvalidFile::new).collect(),
        started.elapsed(),
    );
    let _ = match args.format {
        Format::Human => stdout.write_all(human::render_summary(&suite, style).as_bytes()),
        Format::Json => stdout.write_all(json::render(&suite).as_bytes()),
    };
    let _ = stdout.flush();
    if suite.summary.nondeterministic > 0 {
        Exit::NonDeterministic
    } else if !invalid.is_empty() || write_failed {
        Exit::Invalid
    } else if suite.summary.failed > 0 {
        Exit::Failed
    } else {
        Exit::Passed
    }
}
