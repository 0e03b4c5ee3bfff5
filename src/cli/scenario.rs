//! `rollout-sim scenario PATH...`: run scenario files and judge them.
//!
//! The paths are gathered first and every output is checked and opened
//! ([`rollout_report::output`]) before anything runs. Then `--jobs` threads
//! each load a file when they pick it up, run it, drop its plan and reduce
//! the result to what the outputs asked for need: the human lines, the
//! JUnit case (an invalid file is one too, with an `<error>`), the report (for `--format json`), the run itself only when
//! spans, the trace or the timeline are wanted. Results are handled in input
//! order as soon as each is ready: printed, and streamed into the output
//! files, after which the run is dropped. When a finished result is large
//! (a run kept for an output, or a JSON report), jobs run at most `--jobs`
//! files ahead of the one being printed, so a suite holds about `--jobs`
//! runs at a time, not every run. Names must be unique in a suite; a later
//! file with a name already used is reported invalid when its turn comes.
//! Output files are put in place at the end, whole or not at all.
//!
//! On SIGINT or SIGTERM ([`super::cancel`]) no job takes another file and
//! the command does not wait for the files under way: the results already
//! made are handed on, the files left are skipped cases in the JUnit file
//! and a count in the summary, the outputs are put in place, and the
//! command exits 130 while those jobs are still running. That is why the
//! jobs own what they read rather than borrow it.

use std::collections::BTreeMap;
use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Args;

use super::{EngineArg, Exit, Format, program_name, stdout_color};
use rollout_report::{self, Detail, Style};
use rollout_report::{
    DeterminismReport, InvalidFile, REPORT_SCHEMA, ScenarioReport, SuiteReport, Summary,
    TOOL_VERSION,
};
use rollout_report::{JunitCase, Timeline};
use rollout_report::{Output, OutputError, Outputs, Stdout};
use rollout_report::{SpansDb, SpansMode};
use rollout_scenario::collect_files;
use rollout_scenario::{LoadError, Problem, RunOptions, Scenario, load_file, run_scenario};
use rollout_simulator::{EngineKind, RunResult};

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
    #[arg(long, value_name = "HOST_STEPS", default_value_t = rollout_simulator::DEFAULT_TURMOIL_BUDGET)]
    pub turmoil_budget: u64,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write JUnit XML here: one test case per (scenario, seed), and
    /// one with an <error> per invalid file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write every persisted span here: FILE.jsonl (JSON Lines) or FILE.db (SQLite).
    #[arg(long, value_name = "FILE")]
    pub spans: Option<PathBuf>,
    /// Add every persisted span to this SQLite spans database, in one
    /// transaction (created when missing); --spans replaces its rows instead.
    #[arg(long, value_name = "FILE.db", conflicts_with = "spans")]
    pub spans_append: Option<PathBuf>,
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
    /// Swarm mode: the seed first draws which fault families are on, and
    /// how hard, within the file's `swarm:` bounds (README, "Swarm mode").
    #[arg(long)]
    pub swarm: bool,
    /// Reseed the random fault overlay at these event indices (a branch of
    /// `explore --guided`, as its repro line gives it): `120,133`.
    #[arg(long, value_name = "EVENTS")]
    pub branch: Option<rollout_simulator::Branch>,
    /// Test-only: perturb the virtual engine's scheduling on purpose.
    #[arg(long, hide = true)]
    pub perturb_scheduling: bool,
}

/// Prints a load error: underlined snippets on a terminal, plain lines otherwise.
pub fn print_invalid(error: &LoadError) {
    let mut stderr = std::io::stderr().lock();
    // People get the snippet with the offending text underlined; logs and
    // pipes get one stable `file:line:column: message` line per problem,
    // and so does a terminal when the file's text would reach it raw.
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) && error.snippets_are_safe() {
        for report in error.reports() {
            let _ = writeln!(stderr, "{:?}", miette::Report::new(report));
        }
    } else {
        let _ = stderr.write_all(error.plain().as_bytes());
    }
}

/// Where `--spans` and `--spans-append` go.
enum SpansFile {
    Lines(Output),
    Database(SpansDb),
}

const SPANS_EXTENSIONS: &str = "the spans file must end in .jsonl (JSON Lines) or .db (SQLite)";

/// The output files of one call, opened before anything runs and fed in
/// input order.
#[derive(Default)]
struct Files {
    junit: Option<(Output, Vec<JunitCase>)>,
    spans: Option<SpansFile>,
    trace: Option<Output>,
    timeline: Option<(Output, Timeline)>,
}

impl Files {
    /// Checks and opens every output of `args`, refusing any that is an
    /// input or another output.
    fn open(args: &ScenarioArgs, outputs: &mut Outputs) -> Result<Self, OutputError> {
        let mut files = Self::default();
        if let Some(path) = &args.junit {
            files.junit = Some((outputs.open("--junit", path)?, Vec::new()));
        }
        let spans = args
            .spans
            .as_ref()
            .map(|p| ("--spans", p, SpansMode::Replace))
            .or(args
                .spans_append
                .as_ref()
                .map(|p| ("--spans-append", p, SpansMode::Append)));
        if let Some((flag, path, mode)) = spans {
            let extension = path.extension().and_then(|e| e.to_str());
            files.spans = Some(match (extension, mode) {
                (Some("jsonl"), SpansMode::Replace) => SpansFile::Lines(outputs.open(flag, path)?),
                (Some("db" | "sqlite" | "sqlite3"), _) => {
                    SpansFile::Database(SpansDb::open(outputs, flag, path, mode)?)
                }
                (_, SpansMode::Replace) => return Err(OutputError::new(path, SPANS_EXTENSIONS)),
                (_, SpansMode::Append) => {
                    return Err(OutputError::new(
                        path,
                        "--spans-append adds to an SQLite database: the file must end in .db",
                    ));
                }
            });
        }
        if let Some(path) = &args.trace {
            files.trace = Some(outputs.open("--trace", path)?);
        }
        if let Some(path) = &args.timeline {
            files.timeline = Some((outputs.open("--timeline", path)?, Timeline::new()));
        }
        Ok(files)
    }

    /// True when an output reads the runs themselves, not only the reports.
    fn need_runs(&self) -> bool {
        self.spans.is_some() || self.trace.is_some() || self.timeline.is_some()
    }

    /// Feeds one finished scenario, in input order. Write errors are kept
    /// by each output and returned by [`Self::commit`].
    fn add(
        &mut self,
        report: Option<&ScenarioReport>,
        run: Option<&RunResult>,
        case: Option<JunitCase>,
    ) {
        if let (Some((_, cases)), Some(case)) = (&mut self.junit, case) {
            cases.push(case);
        }
        let (Some(report), Some(run)) = (report, run) else {
            return;
        };
        match &mut self.spans {
            Some(SpansFile::Lines(out)) => {
                let _ = rollout_report::write_spans_jsonl(out, report, run);
            }
            Some(SpansFile::Database(db)) => db.add(report, run),
            None => {}
        }
        if let Some(out) = &mut self.trace {
            let _ = rollout_report::write_events_jsonl(out, report, run);
        }
        if let Some((_, timeline)) = &mut self.timeline {
            timeline.add(report, run);
        }
    }

    /// Feeds one file that could not be loaded or run, in input order: a
    /// JUnit case with an `<error>`.
    fn add_invalid(&mut self, error: &LoadError) {
        if let Some((_, cases)) = &mut self.junit {
            cases.push(rollout_report::junit_invalid_case(error));
        }
    }

    /// Puts every output in place; the errors of those that failed.
    fn commit(self) -> Vec<OutputError> {
        let mut errors = Vec::new();
        let mut done = |result: Result<(), OutputError>| {
            if let Err(e) = result {
                errors.push(e);
            }
        };
        if let Some((mut out, cases)) = self.junit {
            let _ = out.write_all(rollout_report::render_junit_cases(cases).as_bytes());
            done(out.commit());
        }
        match self.spans {
            Some(SpansFile::Lines(out)) => done(out.commit()),
            Some(SpansFile::Database(db)) => done(db.commit()),
            None => {}
        }
        if let Some(out) = self.trace {
            done(out.commit());
        }
        if let Some((mut out, timeline)) = self.timeline {
            let _ = out.write_all(timeline.finish().as_bytes());
            done(out.commit());
        }
        errors
    }
}

/// A file's result, reduced in its job to what the outputs need.
enum Judged {
    /// It could not be loaded, or not on the engine asked for (with its
    /// name when it loaded: a name already used is reported instead).
    Invalid(LoadError, Option<String>),
    /// Its name is that of an earlier file: not run.
    Duplicate { name: String, path: String },
    /// It ran.
    Ran(Box<Ran>),
}

struct Ran {
    name: String,
    path: String,
    passed: bool,
    nondeterministic: bool,
    /// Its lines of the human report.
    human: Option<String>,
    /// Its report, for `--format json` and the outputs that read runs.
    report: Option<ScenarioReport>,
    junit: Option<JunitCase>,
    run: Option<RunResult>,
}

/// What every job needs to know. Owned, not borrowed: on a cancel the
/// command finishes without waiting for the jobs still running.
struct Job {
    args: ScenarioArgs,
    paths: Vec<PathBuf>,
    options: RunOptions,
    program: String,
    detail: Detail,
    style: Style,
    keep_report: bool,
    keep_run: bool,
    want_junit: bool,
    /// The first file (by index) to have each name, of those run so far.
    claims: Mutex<BTreeMap<String, usize>>,
}

impl Job {
    fn judge(&self, index: usize) -> Judged {
        let path: &Path = &self.paths[index];
        let mut scenario = match load_file(path) {
            Ok(s) => s,
            Err(e) => return Judged::Invalid(e, None),
        };
        scenario.plan.limits.turmoil_budget = self.args.turmoil_budget;
        {
            let claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
            if claims
                .get(&scenario.name)
                .is_some_and(|&first| first < index)
            {
                return Judged::Duplicate {
                    name: scenario.name,
                    path: scenario.path,
                };
            }
        }
        if let Some(Err(e)) =
            engine_override(self.args.engine).map(|engine| scenario.check_engine(engine))
        {
            // `--engine virtual` on a scenario with network faults.
            return Judged::Invalid(e, Some(scenario.name));
        }
        if let Err(e) = scenario.check_turmoil_budget(engine_override(self.args.engine)) {
            // A week of steps, or a thousand hosts, on turmoil.
            return Judged::Invalid(e, Some(scenario.name));
        }
        self.claims
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(scenario.name.clone())
            .and_modify(|first| *first = (*first).min(index))
            .or_insert(index);
        // Only these outputs read the events; every run still checks and
        // hashes them as they happen.
        scenario.plan.keep_events = self.args.trace.is_some()
            || self.args.timeline.is_some()
            || self.args.check_determinism;
        let (report, run) = self.run(&scenario);
        let Scenario { name, path, .. } = scenario;
        let nondeterministic = report
            .determinism
            .as_ref()
            .is_some_and(|d| !d.deterministic);
        Judged::Ran(Box::new(Ran {
            name,
            path,
            passed: report.passed,
            nondeterministic,
            human: (self.args.format == Format::Human)
                .then(|| rollout_report::render_scenario(&report, self.detail, self.style)),
            junit: self.want_junit.then(|| rollout_report::junit_case(&report)),
            report: self.keep_report.then_some(report),
            run,
        }))
    }

    fn run(&self, scenario: &Scenario) -> (ScenarioReport, Option<RunResult>) {
        let outcome = run_scenario(scenario, self.options.clone());
        let mut report = ScenarioReport::new(scenario, &outcome, &self.program);
        if self.args.check_determinism {
            let again = run_scenario(scenario, self.options.clone());
            report.determinism = Some(DeterminismReport::compare(&outcome.run, &again.run));
        }
        (report, self.keep_run.then_some(outcome.run))
    }
}

/// Where the jobs are: the next index to take, and how many results have
/// been handed on in order.
#[derive(Default)]
struct Cursor {
    next: usize,
    handed: usize,
    /// A job panicked: the others stop taking work.
    broken: bool,
}

/// Marks the cursor broken when a job's thread unwinds, so that no job
/// waits for a result that will never come.
struct Unwinding<'a>(&'a Mutex<Cursor>, &'a Condvar);

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).broken = true;
            self.1.notify_all();
        }
    }
}

/// Runs `work` on `0..count` with `jobs` threads, calling `done` in index
/// order as results become available. A job takes index `i` only while
/// `i < handed + window`, so at most `window` results wait to be handed on.
///
/// Once `cancel` is set, no job takes another index; the results already
/// made are handed on, still in increasing index order but with gaps, and
/// this returns at once with the indices left unfinished, by index, each
/// with whether it had started. The jobs still running are not waited for:
/// the process ends before they do. Otherwise it returns nothing after
/// joining every job (a job's panic is resumed here).
fn run_in_order<T: Send + 'static>(
    count: usize,
    jobs: usize,
    window: usize,
    work: Arc<dyn Fn(usize) -> T + Send + Sync>,
    cancel: &AtomicBool,
    mut done: impl FnMut(T),
) -> Vec<(usize, bool)> {
    let shared = Arc::new((Mutex::new(Cursor::default()), Condvar::new()));
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut threads = Vec::new();
    for _ in 0..jobs.min(count).max(1) {
        let sender = sender.clone();
        let (shared, work) = (Arc::clone(&shared), Arc::clone(&work));
        threads.push(std::thread::spawn(move || {
            let (cursor, moved) = (&shared.0, &shared.1);
            let _unwinding = Unwinding(cursor, moved);
            loop {
                let i = {
                    let mut c = cursor.lock().unwrap_or_else(PoisonError::into_inner);
                    while !c.broken && c.next < count && c.next >= c.handed.saturating_add(window) {
                        c = moved.wait(c).unwrap_or_else(PoisonError::into_inner);
                    }
                    if c.broken || c.next >= count {
                        break;
                    }
                    c.next += 1;
                    c.next - 1
                };
                if sender.send((i, work(i))).is_err() {
                    break;
                }
            }
        }));
    }
    drop(sender);
    let (cursor, moved) = (&shared.0, &shared.1);
    let mut waiting = BTreeMap::new();
    let mut handed = 0;
    loop {
        // Woken now and then to look at the flag: a signal cannot wake a
        // channel.
        match receiver.recv_timeout(Duration::from_millis(50)) {
            Ok((i, result)) => {
                waiting.insert(i, result);
                while let Some(ready) = waiting.remove(&handed) {
                    done(ready);
                    handed += 1;
                    cursor.lock().unwrap_or_else(PoisonError::into_inner).handed = handed;
                    moved.notify_all();
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if cancel.load(Ordering::SeqCst) && handed < count {
            let started = {
                let mut c = cursor.lock().unwrap_or_else(PoisonError::into_inner);
                c.broken = true;
                c.next
            };
            moved.notify_all();
            while let Ok((i, result)) = receiver.try_recv() {
                waiting.insert(i, result);
            }
            let mut unfinished = Vec::new();
            let mut ready = waiting.into_iter().peekable();
            for i in handed..count {
                match ready.next_if(|(at, _)| *at == i) {
                    Some((_, result)) => done(result),
                    None => unfinished.push((i, i < started)),
                }
            }
            return unfinished;
        }
    }
    for thread in threads {
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    }
    Vec::new()
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
    let paths = match collect_files(&args.paths) {
        Ok(files) => files,
        Err(e) => {
            print_invalid(&e);
            return Exit::Invalid;
        }
    };
    if paths.is_empty() {
        super::error("no scenario files (*.yaml, *.yml) under the given paths");
        return Exit::Invalid;
    }
    let mut outputs = Outputs::new(&paths);
    let mut files = match Files::open(args, &mut outputs) {
        Ok(files) => files,
        Err(e) => {
            super::error(e);
            return Exit::Invalid;
        }
    };
    let options = RunOptions {
        seed: args.seed,
        engine: engine_override(args.engine),
        perturb_scheduling: args.perturb_scheduling,
        reassignment: args.reassignment.map(super::ReassignmentArg::policy),
        keep_events: None,
        swarm: args.swarm,
        branch: args.branch.clone().unwrap_or_default(),
    };
    let style = Style {
        color: stdout_color(),
    };
    let detail = if args.verbose {
        Detail::Every
    } else if paths.len() == 1 {
        Detail::Checks
    } else {
        Detail::Failures
    };
    let keep_run = files.need_runs();
    let job = Job {
        args: args.clone(),
        paths: paths.clone(),
        options,
        program: program_name(),
        detail,
        style,
        keep_report: args.format == Format::Json || keep_run,
        keep_run,
        want_junit: files.junit.is_some(),
        claims: Mutex::new(BTreeMap::new()),
    };
    let jobs = args
        .jobs
        .map(NonZeroUsize::get)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get));
    // A result waiting for its turn is a line of text, unless it carries a
    // run or a whole report: then jobs stay at most `jobs` files ahead.
    let window = if job.keep_report { jobs } else { usize::MAX };

    let mut stdout = Stdout::new();
    let mut json = None;
    if args.format == Format::Json {
        let (stream, opening) = rollout_report::SuiteStream::begin();
        stdout.print(&opening);
        json = Some(stream);
    }
    let mut summary = Summary::default();
    let mut invalid: Vec<InvalidFile> = Vec::new();
    // Each name used so far, with the file that has it.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let refuse = |error: LoadError, invalid: &mut Vec<InvalidFile>, files: &mut Files| {
        print_invalid(&error);
        invalid.push(InvalidFile::new(&error));
        files.add_invalid(&error);
    };
    let duplicate = |name: &str, path: &str, first: &str| {
        LoadError::single(
            path,
            String::new(),
            Problem::new(format!(
                "scenario name `{name}` is already used by {first}; names are unique in a suite"
            )),
        )
    };
    let job = Arc::new(job);
    let cancel = super::cancel::graceful();
    let unfinished = run_in_order(
        paths.len(),
        jobs,
        window,
        Arc::new(move |i| job.judge(i)),
        cancel,
        |judged| match judged {
            Judged::Invalid(error, name) => {
                match name.and_then(|n| names.get(&n).map(|f| (n, f))) {
                    Some((name, first)) => refuse(
                        duplicate(&name, &error.path, first),
                        &mut invalid,
                        &mut files,
                    ),
                    None => refuse(error, &mut invalid, &mut files),
                }
            }
            Judged::Duplicate { name, path } => {
                let first = names.get(&name).cloned().unwrap_or_default();
                refuse(duplicate(&name, &path, &first), &mut invalid, &mut files);
            }
            Judged::Ran(ran) => {
                let ran = *ran;
                if let Some(first) = names.get(&ran.name) {
                    refuse(
                        duplicate(&ran.name, &ran.path, first),
                        &mut invalid,
                        &mut files,
                    );
                    return;
                }
                names.insert(ran.name, ran.path);
                summary.total += 1;
                summary.passed += usize::from(ran.passed);
                summary.nondeterministic += usize::from(ran.nondeterministic);
                if let Some(text) = &ran.human {
                    stdout.print(text);
                }
                if let (Some(stream), Some(report)) = (&mut json, &ran.report) {
                    stdout.print(&stream.scenario(report));
                }
                files.add(ran.report.as_ref(), ran.run.as_ref(), ran.junit);
            }
        },
    );
    // What a cancel left unfinished: a case with an `<error>` each, so
    // that the JUnit file is never green for a run that did not finish,
    // and a count in the summary.
    for &(i, started) in &unfinished {
        let path = paths[i].display().to_string();
        files.add(None, None, Some(JunitCase::cancelled(&path, started)));
    }
    summary.cancelled = unfinished.len();
    let mut write_failed = false;
    for e in files.commit() {
        super::error(e);
        write_failed = true;
    }
    summary.failed = summary.total - summary.passed;
    summary.invalid = invalid.len();
    summary.wall_time_ms = started.elapsed().as_secs_f64() * 1e3;
    match json {
        Some(stream) => stdout.print(&stream.end(&invalid, &summary)),
        None => {
            let suite = SuiteReport {
                schema: REPORT_SCHEMA,
                tool_version: TOOL_VERSION,
                scenarios: Vec::new(),
                invalid: Vec::new(),
                summary,
            };
            stdout.print(&rollout_report::render_summary(&suite, style));
        }
    }
    if let Err(e) = stdout.finish() {
        super::error(e);
        write_failed = true;
    }
    if super::cancel::requested() {
        if summary.cancelled > 0 {
            super::note(format_args!(
                "cancelled: {} of {} files finished; every report asked for holds them and is marked partial",
                summary.total + summary.invalid,
                paths.len()
            ));
        }
        // As `explore`: 130 whatever the runs found, but an output that
        // could not be written is said first.
        if write_failed {
            Exit::Invalid
        } else {
            Exit::Cancelled
        }
    } else if summary.nondeterministic > 0 {
        Exit::NonDeterministic
    } else if !invalid.is_empty() || write_failed {
        Exit::Invalid
    } else if summary.failed > 0 {
        Exit::Failed
    } else {
        Exit::Passed
    }
}
