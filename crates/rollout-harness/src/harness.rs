//! The [`Harness`]: what to collect, how to check it, and the run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use super::case::{Case, collect_cases};
use super::check::{Check, run_twice};

/// Scenario files as tests: add folders or files, optionally a check of
/// your own, then [`run`](Self::run) from a `harness = false` target's
/// `main`.
#[derive(Clone)]
pub struct Harness {
    roots: Vec<PathBuf>,
    check: Arc<Check>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("roots", &self.roots)
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// No files yet, and the default check ([`run_twice`]).
    pub fn new() -> Self {
        Self {
            roots: Vec::new(),
            check: Arc::new(run_twice),
        }
    }

    /// Every scenario file under `dir`, recursively (relative paths are
    /// from the package root, where cargo runs tests).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.roots.push(dir.into());
        self
    }

    /// One scenario file.
    pub fn file(self, file: impl Into<PathBuf>) -> Self {
        self.dir(file)
    }

    /// Checks each case with `check` instead of [`run_twice`].
    pub fn check(
        mut self,
        check: impl Fn(&rollout_scenario::Scenario) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.check = Arc::new(check);
        self
    }

    /// The cases, as libtest-mimic trials, to run with trials of your own.
    pub fn trials(&self) -> Result<Vec<Trial>, String> {
        let cases = collect_cases(&self.roots)?;
        Ok(cases.into_iter().map(|case| self.trial(case)).collect())
    }

    fn trial(&self, case: Case) -> Trial {
        let check = self.check.clone();
        let Case {
            name,
            seed,
            scenario,
            ..
        } = case;
        Trial::ignorable_test(name, move || {
            let mut scenario = scenario.map_err(Failed::from)?;
            let engine = scenario.engine();
            if !engine.is_built() {
                return Ok(Completion::ignored_with(format!(
                    "runs on the {engine} engine, which this build leaves out (its cargo feature is off)"
                )));
            }
            if let Some(seed) = seed {
                scenario.plan.seed = seed;
            }
            check(&scenario).map_err(Failed::from)?;
            Ok(Completion::Completed)
        })
    }

    /// Parses the test command line (`cargo test -- ARGS`), runs the cases
    /// it selects, prints the libtest summary and returns the exit code.
    pub fn run(self) -> ExitCode {
        let args = Arguments::from_args();
        match self.trials() {
            Ok(trials) => libtest_mimic::run(&args, trials).exit_code(),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        }
    }
}
