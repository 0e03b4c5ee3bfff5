//! Layer 4b: the command line. Arguments in, an [`Exit`] code out.
//!
//! Each subcommand lives in its own file. Exit codes mean one thing each:
//! 0 all passed, 1 a scenario failed, 2 bad command line, invalid scenario
//! file or an output that could not be written (stdout included), 3
//! non-determinism found, 130 cancelled (SIGINT, SIGTERM: [`cancel`]).
//! `--color` is global; [`stdout_color`] and [`stderr_color`] read it.
//!
//! Every file and stdout is written through [`rollout_report::output`]; a
//! message on stderr is best effort ([`error`]), as there is nowhere left
//! to report that stderr itself failed.

pub mod cancel;
pub mod diff;
pub mod explain;
pub mod explore;
pub mod freeze;
pub mod scenario;
pub mod schema;

use std::io::IsTerminal;

use clap::{Parser, Subcommand, ValueEnum};

/// What the process exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Every scenario passed.
    Passed = 0,
    /// A scenario failed an expectation, an invariant or its budget.
    Failed = 1,
    /// Bad command line or invalid scenario file.
    Invalid = 2,
    /// Two runs of the same scenario and seed differed.
    NonDeterministic = 3,
    /// Stopped by SIGINT or SIGTERM.
    Cancelled = 130,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Deterministic simulation tests for a rollout runner's poll loop.
#[derive(Debug, Parser)]
#[command(name = "rollout-sim", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Colour: `auto` on a terminal unless NO_COLOR is set (CLICOLOR_FORCE
    /// forces it), or `always`, or `never`, whatever the environment says.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = ColorArg::Auto,
        overrides_with = "color"
    )]
    pub color: ColorArg,
}

/// `--color`: whether output gets ANSI colour.
///
/// `auto` decides per stream, as cargo and cargo-nextest do (anstream's
/// rules): no colour when `NO_COLOR` is set and not empty, nor when
/// `CLICOLOR=0`; colour when `CLICOLOR_FORCE` is set and neither empty nor
/// `0` (the clicolors convention; anstream also forces on `0`); otherwise
/// colour only on a terminal. `NO_COLOR` wins over `CLICOLOR_FORCE`, and an
/// explicit `always` or `never` wins over both; the last `--color` given
/// wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorArg {
    /// Colour on a terminal, as the environment allows.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorArg {
    /// Whether a stream gets colour, given whether it is a terminal.
    pub fn enabled(self, terminal: bool) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => {
                // The clicolors convention: CLICOLOR_FORCE=0 does not force
                // (anstyle-query's own check takes any value but empty).
                let forced =
                    std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0");
                if anstyle_query::no_color() || anstyle_query::clicolor() == Some(false) {
                    false
                } else {
                    forced || terminal
                }
            }
        }
    }

    fn clap(self) -> clap::ColorChoice {
        match self {
            Self::Auto => clap::ColorChoice::Auto,
            Self::Always => clap::ColorChoice::Always,
            Self::Never => clap::ColorChoice::Never,
        }
    }

    /// The `--color` among raw arguments, before clap has parsed them, so
    /// that clap's own help and errors follow it too; the last one wins.
    fn scan<T: Into<std::ffi::OsString> + Clone>(args: &[T]) -> Self {
        let mut found = Self::Auto;
        let mut words = args.iter().map(|a| a.clone().into());
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let value = match word.to_str() {
                Some("--color") => words.next(),
                Some(w) => w.strip_prefix("--color=").map(Into::into),
                None => None,
            };
            if let Some(choice) = value
                .as_ref()
                .and_then(|v| v.to_str())
                .and_then(|v| Self::from_str(v, false).ok())
            {
                found = choice;
            }
        }
        found
    }
}

/// `--color`, once parsed: what [`stdout_color`] and [`stderr_color`] read.
static COLOR: std::sync::OnceLock<ColorArg> = std::sync::OnceLock::new();

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenario files, or every *.yaml/*.yml under a folder.
    Scenario(scenario::ScenarioArgs),
    /// Sweep a scenario over many seeds: pass/fail counts, distributions,
    /// failing seeds with repro commands.
    Explore(explore::ExploreArgs),
    /// Combine the JSON reports of sweep shards into one.
    Merge(explore::MergeArgs),
    /// Write a scenario with a seed's random faults as explicit script steps.
    Freeze(freeze::FreezeArgs),
    /// Print the timeline a scenario's scripted faults imply, without running it.
    Explain(explain::ExplainArgs),
    /// Run a scenario with the retry metrics on and off, and on every engine
    /// that can run it, and name the first divergence.
    Diff(diff::DiffArgs),
    /// Print the JSON Schema of the scenario format, for editors.
    Schema(schema::SchemaArgs),
}

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// What each scenario asks for (virtual unless it needs another).
    Auto,
    /// The project's own deterministic executor.
    Virtual,
    /// tokio, current-thread, paused time.
    Tokio,
    /// turmoil: the queue and each worker as hosts on a simulated network.
    Turmoil,
}

/// `--reassignment`: how the queue finds stale attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReassignmentArg {
    /// Ours: time out every running attempt with a stale heartbeat.
    Scan,
    /// The reference store's: only attempts in workers' active ids.
    Reference,
}

impl ReassignmentArg {
    /// The queue policy it selects.
    pub fn policy(self) -> rollout_core::ReassignmentPolicy {
        match self {
            Self::Scan => rollout_core::ReassignmentPolicy::ScanAllAttempts,
            Self::Reference => rollout_core::ReassignmentPolicy::WorkerActiveIds,
        }
    }

    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scan => "scan",
            Self::Reference => "reference",
        }
    }
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned text for people.
    #[default]
    Human,
    /// One JSON document, its schema named in its `schema` field: rollout-sim.report/1 (scenario), rollout-sim.sweep/2 (explore, merge), rollout-sim.diff/1 (diff).
    Json,
}

/// Prints `error: MESSAGE` on stderr, ignoring failure (unlike `eprintln!`,
/// which panics when stderr is full or closed).
pub fn error(message: impl std::fmt::Display) {
    note(format_args!("error: {message}"));
}

/// Prints `MESSAGE` on stderr, ignoring failure.
pub fn note(message: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// Whether to colour output written to stdout (`--color`).
pub fn stdout_color() -> bool {
    color().enabled(std::io::stdout().is_terminal())
}

/// Whether to colour messages written to stderr (`--color`).
pub fn stderr_color() -> bool {
    color().enabled(std::io::stderr().is_terminal())
}

fn color() -> ColorArg {
    COLOR.get().copied().unwrap_or_default()
}

/// How to rerun this tool, for repro commands: `cargo run --` when run
/// through cargo, the binary name otherwise.
pub fn program_name() -> String {
    let exe = std::path::PathBuf::from(std::env::args_os().next().unwrap_or_default());
    let profile = exe.parent().and_then(|p| {
        let grand = p.parent()?.file_name()?;
        (grand == "target").then(|| p.file_name()).flatten()
    });
    match profile.and_then(|p| p.to_str()) {
        Some("debug") => "cargo run --".into(),
        Some("release") => "cargo run --release --".into(),
        _ => "rollout-sim".into(),
    }
}

/// Parses arguments and runs the command.
pub fn main_with_args<I, T>(args: I) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<T> = args.into_iter().collect();
    let command = Cli::command().color(ColorArg::scan(&args).clap());
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Invalid
            } else {
                Exit::Passed
            };
        }
    };
    let _ = COLOR.set(cli.color);
    // Load errors' snippets (on a terminal) follow `--color` too.
    let snippets = stderr_color();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(miette::MietteHandlerOpts::new().color(snippets).build())
    }));
    cancel::install();
    match cli.command {
        Command::Scenario(args) => scenario::run(&args),
        Command::Explore(args) => explore::run(&args),
        Command::Merge(args) => explore::merge(&args),
        Command::Freeze(args) => freeze::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Schema(args) => schema::run(&args),
    }
}
