//! How much memory the rollouts' data would take, estimated before it is
//! copied.
//!
//! Every rollout holds its own input and scripted attempts (their outputs,
//! rewards and errors), a `generate` entry copies them into each rollout it
//! makes, and every attempt of a run copies them again: a 64 KiB output
//! generated a million times, or retried a million times, would take the
//! machine's memory or hours. One rollout's payload is bounded by
//! [`MAX_ROLLOUT_PAYLOAD_BYTES`], all of them together by
//! [`MAX_PAYLOAD_BYTES`], both from an estimate of serde_json's layout made
//! before anything is expanded.

use std::ops::ControlFlow;

use serde_json::Value;

use crate::limits::{MAX_PAYLOAD_BYTES, MAX_ROLLOUT_PAYLOAD_BYTES};
use crate::source::Path;
use rollout_simulator::{RunStep, StepResult};

use super::Validator;

impl Validator<'_> {
    /// Counts `copies` copies of a payload of `one` bytes, for the entry at
    /// `at`, into `total`: refuses a rollout over its limit, and stops the
    /// rollouts when the total crosses its own.
    pub(super) fn count_payload(
        &mut self,
        total: &mut u64,
        at: &Path,
        one: u64,
        copies: u64,
    ) -> ControlFlow<()> {
        if one > MAX_ROLLOUT_PAYLOAD_BYTES {
            self.rollout_payload_problem(at.clone(), one);
        }
        *total = total.saturating_add(one.saturating_mul(copies));
        if *total > MAX_PAYLOAD_BYTES {
            self.payload_problem(at.clone(), *total);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn rollout_payload_problem(&mut self, at: Path, bytes: u64) {
        self.problem(
            at,
            format!(
                "this rollout's input and scripted attempts (their outputs, rewards and errors) would take about {} KiB; the limit is {} KiB a rollout",
                bytes >> 10,
                MAX_ROLLOUT_PAYLOAD_BYTES >> 10
            ),
            Some("every attempt copies them, and a run may make millions of attempts: keep them small".into()),
        );
    }

    fn payload_problem(&mut self, at: Path, bytes: u64) {
        self.problem(
            at,
            format!(
                "the rollouts' inputs and scripted attempts (their outputs, rewards and errors) would take about {} MiB; the limit is {} MiB",
                bytes >> 20,
                MAX_PAYLOAD_BYTES >> 20
            ),
            Some("each generated rollout holds its own copy of `input`, `run` and `attempts`: make them smaller, or generate fewer".into()),
        );
    }
}

/// An estimate of the memory one rollout's payload takes: its input and,
/// per scripted attempt, output, rewards and error message, and the record
/// of every scripted attempt after the first (each rollout has one; a
/// `generate` entry copies the list into every rollout, so a long list of
/// empty attempts costs as much as a large output).
pub(super) fn payload_bytes(input: Option<&Value>, attempts: &[RunStep]) -> u64 {
    let records = (attempts.len().saturating_sub(1) * std::mem::size_of::<RunStep>()) as u64;
    let steps: u64 = attempts
        .iter()
        .map(|step| match &step.result {
            StepResult::Succeeded { output, rewards } => value_bytes(output).saturating_add(
                rewards
                    .iter()
                    .map(|r| 64 + r.name.len() as u64)
                    .sum::<u64>(),
            ),
            StepResult::Failed { message } => 24 + message.len() as u64,
        })
        .sum();
    input
        .map_or(0, value_bytes)
        .saturating_add(steps)
        .saturating_add(records)
}

/// An estimate of the heap a JSON value takes (serde_json's layout: 32
/// bytes a value, B-tree nodes of 11 entries for objects).
fn value_bytes(value: &Value) -> u64 {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => 24 + s.len() as u64,
        Value::Array(items) => items.iter().fold(24 + 32 * items.len() as u64, |sum, v| {
            sum.saturating_add(value_bytes(v))
        }),
        Value::Object(map) => map.iter().fold(
            576 * (map.len() as u64).div_ceil(11).max(1),
            |sum, (k, v)| {
                sum.saturating_add(24 + k.len() as u64)
                    .saturating_add(value_bytes(v))
            },
        ),
    }
}
