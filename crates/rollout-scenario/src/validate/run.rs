//! A rollout's scripted attempts: `run`, and `attempts` built on it.
//!
//! `run` says what every attempt does (how long it runs, whether it
//! succeeds, its output and rewards, or its error); `attempts` scripts them
//! one by one, each entry filling what it leaves out from `run`, the last
//! repeating. What a result cannot carry is refused at its key: an `error`
//! on a run that succeeds, `rewards` on one that fails. Error messages and
//! reward names are bounded texts ([`text`](super::text)), and rewards
//! finite numbers: reports write them to JSON and SQLite.

use std::time::Duration;

use serde_json::Value;

use crate::schema::{RunResultKind, RunSpec};
use crate::source::{Path, at};
use rollout_core::Reward;
use rollout_simulator::{RunStep, StepResult};

use super::Validator;
use super::text::{Text, non_finite};

/// The message of a failed run that gives none.
pub const DEFAULT_EXECUTOR_ERROR: &str = "executor failed";

impl Validator<'_> {
    /// The attempts of the rollout (or `generate` entry) at `at`: one per
    /// entry of `attempts`, else one from `run`.
    pub(super) fn attempts(
        &mut self,
        at: &Path,
        run: Option<&RunSpec>,
        attempts: Option<&[RunSpec]>,
        input: &Value,
    ) -> Vec<RunStep> {
        let run_at = at![at; "run"];
        match attempts {
            Some(list) if !list.is_empty() => {
                // `run` is only the base of each attempt here; check it once.
                if let Some(run) = run {
                    self.check_texts(&run_at, run);
                }
                list.iter()
                    .enumerate()
                    .map(|(i, spec)| self.run_step(at![at; "attempts", i], run, Some(spec), input))
                    .collect()
            }
            Some(_) => {
                self.problem(
                    at![at; "attempts"],
                    "`attempts` is empty",
                    Some("remove it, or give one entry per attempt".into()),
                );
                vec![self.run_step(run_at, None, run, input)]
            }
            None => vec![self.run_step(run_at, None, run, input)],
        }
    }

    /// One attempt: `spec` at `at`, filled in from `base`.
    fn run_step(
        &mut self,
        at: Path,
        base: Option<&RunSpec>,
        spec: Option<&RunSpec>,
        input: &Value,
    ) -> RunStep {
        let empty = RunSpec::default();
        let spec = spec.unwrap_or(&empty);
        let base = base.unwrap_or(&empty);
        let duration = spec
            .duration
            .or(base.duration)
            .map_or(Duration::ZERO, |d| d.0);
        let result = spec
            .result
            .or(base.result)
            .unwrap_or(RunResultKind::Succeeded);
        self.check_texts(&at, spec);
        let result = match result {
            RunResultKind::Succeeded => self.succeeded(at, base, spec, input),
            RunResultKind::Failed => self.failed(at, base, spec),
        };
        RunStep { duration, result }
    }

    /// A run that succeeds: its output (the rollout's input unless given)
    /// and rewards; no `error`.
    fn succeeded(&mut self, at: Path, base: &RunSpec, spec: &RunSpec, input: &Value) -> StepResult {
        let error = spec.error.as_ref().or(base.error.as_ref());
        if error.is_some() && spec.result == Some(RunResultKind::Succeeded) {
            self.key_problem(
                at![at; "error"],
                "`error` is only used when `result: failed`",
                None,
            );
        }
        let output = spec.output.as_ref().or(base.output.as_ref());
        let rewards = spec.rewards.as_ref().or(base.rewards.as_ref());
        StepResult::Succeeded {
            output: output.unwrap_or(input).clone(),
            rewards: rewards
                .iter()
                .flat_map(|r| r.0.iter())
                .map(|(name, value)| Reward::new(name.clone(), *value))
                .collect(),
        }
    }

    /// A run that fails: its error message; no rewards.
    fn failed(&mut self, at: Path, base: &RunSpec, spec: &RunSpec) -> StepResult {
        if spec.rewards.is_some()
            || (spec.result.is_none()
                && base.rewards.is_some()
                && base.result == Some(RunResultKind::Failed))
        {
            self.key_problem(
                at![at; "rewards"],
                "a failed run emits no executor rewards",
                Some("remove `rewards`, or use `result: succeeded`".into()),
            );
        }
        let error = spec.error.clone().or_else(|| base.error.clone());
        StepResult::Failed {
            message: error.unwrap_or_else(|| DEFAULT_EXECUTOR_ERROR.to_string()),
        }
    }

    /// Names and messages are copied into every span and event that
    /// mentions them, and shown in every report: refuses long ones and
    /// control characters. Rewards are written to JSON and SQLite, which
    /// hold no NaN or infinity: refuses those.
    fn check_texts(&mut self, at: &Path, spec: &RunSpec) {
        if let Some(text) = &spec.error {
            self.text(at![at; "error"], "an error message", text, Text::Message);
        }
        for (name, value) in spec.rewards.iter().flat_map(|r| r.0.iter()) {
            let r = at![at; "rewards", name];
            self.text(r.clone(), "a reward name", name, Text::Key);
            if let Some(shown) = non_finite(*value) {
                self.problem(
                    r,
                    format!("a reward must be a finite number, not {shown}"),
                    Some("rewards are written to JSON and SQLite, which hold no NaN or infinity: emit a finite number".into()),
                );
            }
        }
    }
}
