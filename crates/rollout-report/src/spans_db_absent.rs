//! The spans database in a build without the `sqlite` feature: a
//! destination that ends in `.db` is refused before anything runs, with
//! what would work instead. [`SpansDb`] has no value, so nothing past
//! [`SpansDb::open`] can be reached.

use std::convert::Infallible;
use std::path::Path;

use super::ScenarioReport;
use super::output::{OutputError, Outputs};
use super::spans::SpansMode;
use rollout_simulator::RunResult;

/// A spans database being written: never, in this build.
pub struct SpansDb(Infallible);

impl SpansDb {
    /// Refuses `path`: this build has no SQLite.
    pub fn open(
        _outputs: &mut Outputs,
        flag: &str,
        path: &Path,
        _mode: SpansMode,
    ) -> Result<Self, OutputError> {
        Err(OutputError::new(
            path,
            format!(
                "{flag}: this build has no SQLite (rollout-report's `sqlite` feature is off); write the spans as JSON Lines to a .jsonl file instead"
            ),
        ))
    }

    /// Adds the spans of one run.
    pub fn add(&mut self, _report: &ScenarioReport, _run: &RunResult) {
        match self.0 {}
    }

    /// Writes the database.
    pub fn commit(self) -> Result<(), OutputError> {
        match self.0 {}
    }
}
