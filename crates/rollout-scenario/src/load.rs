//! Reading a scenario file: parse, validate, resolve, with located errors.
//!
//! Loading happens in four passes. [`SourceMap::screen`] walks the YAML
//! events once, refusing syntax errors, deep nesting, alias bombs and extra
//! documents before serde sees the text, and records where every key and
//! value is. serde parses the YAML into the [`schema`](super::schema) types,
//! refusing unknown keys and wrong types at their line and column (each
//! top-level section on its own too, so that all of them are reported).
//! Validation, one module per section of the format, then checks what types
//! cannot (unique ids, references to known rollouts and workers, a valid
//! runner config, expectations that can hold) and collects *every* problem,
//! each located through the [`SourceMap`]. Finally the file is resolved
//! into a [`SimPlan`] and its [`Expectations`].
//!
//! Input is bounded: a file larger than [`MAX_FILE_BYTES`] (read through
//! [`read_input`]: regular files only, never more than the limit), more than
//! [`MAX_ROLLOUTS`] rollouts, a payload over [`MAX_PAYLOAD_BYTES`], more
//! than [`MAX_TIMED_FAULTS`] timed faults once `every` is expanded, long
//! names and messages are refused (README, "Limits"; every bound is listed
//! in [`limits`](super::limits) and re-exported here). Every pass is linear
//! in the file, or bounded: past [`MAX_PROBLEMS`] problems are only
//! counted, and "did you mean" compares a bounded number of candidates.
//!
//! Values that reports cannot show faithfully are refused too: rewards
//! that are not finite numbers, and control or bidirectional formatting
//! characters in ids, names and messages. So are expectations that no run
//! satisfies together (an invariant both held and violated, two values for
//! one reward of one attempt, a status `stop.when` rules out).

use std::path::Path as FsPath;

use rollout_simulator::EngineKind;
use rollout_simulator::{SimPlan, SwarmBounds};

use super::diagnostics::{LoadError, Problem};
use super::expect::Expectations;
use super::files::{FileKind, InputError, read_input};
use super::schema::{EngineChoice, ScenarioFile};
use super::source::{ByteSpan, SourceMap};
use super::validate::{Resolved, validate};

use super::limits::MAX_FILE_BYTES;

/// A loaded, validated scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from, as given.
    pub path: String,
    /// Its `name`.
    pub name: String,
    /// Its `description`.
    pub description: Option<String>,
    /// XXH3-64 of the file's bytes.
    pub source_hash: u64,
    /// The engine it asks for.
    pub engine: EngineChoice,
    /// What to simulate.
    pub plan: SimPlan,
    /// What must hold.
    pub expect: Expectations,
    /// The first thing in the file only the turmoil engine runs, located.
    pub turmoil_only: Option<Problem>,
    /// What `--swarm` may draw for each seed (`swarm:`, over its defaults).
    pub swarm: SwarmBounds,
    /// The seeds it is tested with, never empty: its `seeds:` list, else
    /// its `seed` alone. `plan.seed` is the first.
    pub seeds: Vec<u64>,
}

impl Scenario {
    /// The engine this scenario runs on: `auto` is `turmoil` when the
    /// scenario uses a network feature, `virtual` otherwise.
    pub fn engine(&self) -> EngineKind {
        match self.engine {
            EngineChoice::Tokio => EngineKind::Tokio,
            EngineChoice::Virtual => EngineKind::Virtual,
            EngineChoice::Turmoil => EngineKind::Turmoil,
            EngineChoice::Auto if self.turmoil_only.is_some() => EngineKind::Turmoil,
            EngineChoice::Auto => EngineKind::Virtual,
        }
    }

    /// Whether the scenario can run on `engine`: a located error (re-reading
    /// the file for its text) when it uses what only the turmoil engine runs.
    /// So is an engine this build does not have (`--engine turmoil` without
    /// the `turmoil` feature).
    pub fn check_engine(&self, engine: EngineKind) -> Result<(), LoadError> {
        if !engine.is_built() {
            let problem = Problem {
                message: format!("this build has no {engine} engine"),
                span: None,
                help: Some(
                    "build rollout-scenario with its `turmoil` feature (on by default)".into(),
                ),
                path: None,
            };
            return Err(LoadError::new(&self.path, String::new(), vec![problem]));
        }
        match &self.turmoil_only {
            Some(problem) if engine != EngineKind::Turmoil => {
                let source = read_input(FsPath::new(&self.path), MAX_FILE_BYTES)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .unwrap_or_default();
                let mut problem = problem.clone();
                problem.message = format!("{}, not the {engine} engine", problem.message);
                if source.is_empty() {
                    problem.span = None;
                }
                Err(LoadError::new(&self.path, source, vec![problem]))
            }
            _ => Ok(()),
        }
    }
}

/// Reads and loads a scenario file: a regular file of at most
/// [`MAX_FILE_BYTES`], read through [`read_input`].
pub fn load_file(path: &FsPath) -> Result<Scenario, LoadError> {
    let display = path.display().to_string();
    let bytes = read_input(path, MAX_FILE_BYTES).map_err(|e| input_error(&display, e))?;
    let source = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        // Shown with the bad bytes replaced, so the line can still be found.
        let shown = String::from_utf8_lossy(&bytes).into_owned();
        LoadError::single(
            &display,
            shown,
            Problem {
                message: format!(
                    "the file is not UTF-8: invalid byte 0x{:02x} at offset {at}",
                    bytes[at]
                ),
                span: Some(ByteSpan {
                    offset: at,
                    len: char::REPLACEMENT_CHARACTER.len_utf8(),
                }),
                help: Some("save the file as UTF-8".into()),
                path: None,
            },
        )
    })?;
    load_str(&display, &source)
}

/// Why a scenario file could not be read, as a load error.
fn input_error(path: &str, error: InputError) -> LoadError {
    let problem = match error {
        InputError::TooLarge { max, size } => Problem::new(match size {
            Some(size) => format!(
                "the file is {size} bytes; scenario files are limited to {max} bytes (use `generate:` for many rollouts)"
            ),
            None => format!(
                "scenario files are limited to {max} bytes, and this one holds more (use `generate:` for many rollouts)"
            ),
        }),
        InputError::NotRegular(kind) => Problem {
            help: Some(match kind {
                FileKind::Folder => {
                    "give a scenario file; `rollout-sim scenario` also takes folders".into()
                }
                _ => "scenarios are read from regular files only: save it to a file first".into(),
            }),
            ..Problem::new(error.to_string())
        },
        InputError::Io(_) => Problem::new(error.to_string()),
    };
    LoadError::single(path, String::new(), problem)
}

/// Loads a scenario from text; `path` is used in messages.
pub fn load_str(path: &str, source: &str) -> Result<Scenario, LoadError> {
    // A byte-order mark (Windows editors write one) is not YAML content:
    // serde_norway takes it for the start of a second document. The text
    // after it is loaded, and problems are placed back in the whole file.
    const BOM: &str = "\u{feff}";
    let Some(text) = source.strip_prefix(BOM) else {
        return load_text(path, source);
    };
    match load_text(path, text) {
        Ok(mut scenario) => {
            scenario.source_hash = xxhash_rust::xxh3::xxh3_64(source.as_bytes());
            if let Some(span) = scenario.turmoil_only.as_mut().and_then(|p| p.span.as_mut()) {
                span.offset += BOM.len();
            }
            Ok(scenario)
        }
        Err(mut error) => {
            for problem in &mut error.problems {
                if let Some(span) = &mut problem.span {
                    span.offset += BOM.len();
                }
            }
            if !error.source.is_empty() {
                error.source = source.to_string();
            }
            Err(error)
        }
    }
}

fn load_text(path: &str, source: &str) -> Result<Scenario, LoadError> {
    if source.len() as u64 > MAX_FILE_BYTES {
        return Err(LoadError::single(
            path,
            String::new(),
            Problem::new(format!(
                "scenario text is limited to {MAX_FILE_BYTES} bytes"
            )),
        ));
    }
    // Screen the YAML first: syntax errors, deep nesting, alias bombs and
    // extra documents are refused here, located, in time linear in the file;
    // serde only sees text that passed.
    let map = match SourceMap::screen(source) {
        Ok(map) => map,
        Err(e) => {
            let problem = Problem::from_screen(e);
            return Err(LoadError::new(path, source.to_string(), vec![problem]));
        }
    };
    let file: ScenarioFile = match serde_yaml::from_str(source) {
        Ok(file) => file,
        Err(e) => {
            let problems = Problem::from_yaml_all(&e, source, &map);
            return Err(LoadError::new(path, source.to_string(), problems));
        }
    };
    let Resolved {
        plan,
        expect,
        turmoil_only,
        swarm,
        seeds,
    } = validate(&map, &file)
        .map_err(|problems| LoadError::new(path, source.to_string(), problems))?;
    Ok(Scenario {
        path: path.to_string(),
        name: file.name,
        description: file.description,
        source_hash: xxhash_rust::xxh3::xxh3_64(source.as_bytes()),
        engine: file.engine,
        plan,
        expect,
        turmoil_only,
        swarm,
        seeds,
    })
}
