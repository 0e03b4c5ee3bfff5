//! `rollout-sim scenario PATH...`: run scenario files and judge them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use super::{EngineArg, Exit, Format, program_name, stdout_color};
use crate::report::human::{self, Style};
use crate::report::{InvalidFile, ScenarioReport, SuiteReport, json};
use crate::scenario::{LoadError, Problem, RunOptions, Scenario, load_file, run_scenario};
use crate::sim::EngineKind;

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
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// List every check, also for scenarios that pass (the default for a
    /// single scenario).
    #[arg(long, short)]
    pub verbose: bool,
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

fn print_invalid(error: &LoadError) {
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

/// Runs the `scenario` subcommand.
pub fn run(args: &ScenarioArgs) -> Exit {
    let started = Instant::now();
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
            Ok(s) => {
                if let Some(other) = scenarios.iter().find(|o| o.name == s.name) {
                    invalid.push(LoadError::single(
                        &s.path,
                        String::new(),
                        Problem::new(format!(
                            "scenario name `{}` is already used by {}; names are unique in a suite",
                            s.name, other.path
                        )),
                    ));
                } else {
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
        engine: match args.engine {
            EngineArg::Auto => None,
            EngineArg::Virtual => Some(EngineKind::Virtual),
            EngineArg::Tokio => Some(EngineKind::Tokio),
        },
    };
    let program = program_name();
    let style = Style {
        color: stdout_color(),
    };
    let detailed = args.verbose || files.len() == 1;
    let mut reports = Vec::with_capacity(scenarios.len());
    let mut stdout = std::io::stdout().lock();
    for scenario in &scenarios {
        let outcome = run_scenario(scenario, options);
        let report = ScenarioReport::new(scenario, &outcome, &program);
        if args.format == Format::Human {
            let _ = stdout.write_all(human::render_scenario(&report, detailed, style).as_bytes());
        }
        reports.push(report);
    }
    let suite = SuiteReport::new(
        reports,
        invalid.iter().map(InvalidFile::new).collect(),
        started.elapsed(),
    );
    let _ = match args.format {
        Format::Human => stdout.write_all(human::render_summary(&suite, style).as_bytes()),
        Format::Json => stdout.write_all(json::render(&suite).as_bytes()),
    };
    let _ = stdout.flush();
    if !invalid.is_empty() {
        Exit::Invalid
    } else if suite.summary.failed > 0 {
        Exit::Failed
    } else {
        Exit::Passed
    }
}
