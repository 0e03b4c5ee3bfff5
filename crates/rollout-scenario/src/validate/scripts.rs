//! `faults.dequeue`, `heartbeat`, `flush`, `complete`: scripted outcomes of
//! the queue's operations.
//!
//! A script is a list of steps, each exactly one of `fail` (n calls fail,
//! with a message), `pass` (n calls go through) or `empty` (n dequeues find
//! nothing: dequeue only), shared by every worker's calls or given per
//! worker. A per-worker script names a known worker. Fault messages are
//! bounded texts ([`text`](super::text)).

use std::collections::{BTreeMap, BTreeSet};

use crate::schema::{FaultsSection, ScriptSpec, StepSpec};
use crate::source::{Path, at};
use rollout_core::{QueueOp, WorkerId};
use rollout_simulator::{DEFAULT_FAULT_MESSAGE, FaultStep, OpScript};

use super::Validator;
use super::suggest::known;
use super::text::Text;

impl Validator<'_> {
    /// The script of each operation the section gives one.
    pub(super) fn scripts(
        &mut self,
        faults: &FaultsSection,
        workers: &BTreeSet<&str>,
    ) -> BTreeMap<QueueOp, OpScript> {
        let mut scripts = BTreeMap::new();
        for (op, name, spec) in [
            (QueueOp::Dequeue, "dequeue", &faults.dequeue),
            (QueueOp::Heartbeat, "heartbeat", &faults.heartbeat),
            (QueueOp::Flush, "flush", &faults.flush),
            (QueueOp::Complete, "complete", &faults.complete),
        ] {
            let Some(spec) = spec else { continue };
            let at = at!["faults", name];
            let script = match spec {
                ScriptSpec::Shared(steps) => OpScript::Shared(self.script(name, steps, at)),
                ScriptSpec::PerWorker(per) => self.per_worker(name, per, &at, workers),
            };
            scripts.insert(op, script);
        }
        scripts
    }

    /// A script per worker: each of a known worker.
    fn per_worker(
        &mut self,
        name: &str,
        per: &[(String, Vec<StepSpec>)],
        at: &Path,
        workers: &BTreeSet<&str>,
    ) -> OpScript {
        let mut map = BTreeMap::new();
        for (worker, steps) in per {
            let w_at = at![at; worker];
            if !workers.contains(worker.as_str()) {
                self.key_problem(
                    w_at.clone(),
                    format!("unknown worker `{worker}` in faults.{name}"),
                    self.room().then(|| known("workers", workers)),
                );
            }
            map.insert(WorkerId::new(worker), self.script(name, steps, w_at));
        }
        OpScript::PerWorker(map)
    }

    /// The steps of the script at `at`, for operation `op`.
    fn script(&mut self, op: &str, spec: &[StepSpec], at: Path) -> Vec<FaultStep> {
        let mut steps = Vec::new();
        for (i, step) in spec.iter().enumerate() {
            let s_at = at![at; i];
            let given = [
                step.fail.is_some(),
                step.pass.is_some(),
                step.empty.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if given != 1 {
                self.problem(
                    s_at,
                    "a step needs exactly one of `fail`, `pass` or `empty`",
                    Some("write { fail: 3 }, { pass: 1 } or { empty: 2 }".into()),
                );
                continue;
            }
            if let Some(fail) = &step.fail {
                if let Some(message) = &fail.message {
                    self.text(
                        at![s_at; "fail", "message"],
                        "a fault message",
                        message,
                        Text::Message,
                    );
                }
                steps.push(FaultStep::Fail {
                    times: fail.times,
                    message: fail
                        .message
                        .clone()
                        .unwrap_or_else(|| DEFAULT_FAULT_MESSAGE.to_string()),
                });
            } else if let Some(times) = step.pass {
                steps.push(FaultStep::Pass { times });
            } else if let Some(times) = step.empty {
                if op != "dequeue" {
                    self.key_problem(
                        at![s_at; "empty"],
                        format!("`empty` steps are for dequeue scripts, not {op}"),
                        Some("use `fail` or `pass`".into()),
                    );
                }
                steps.push(FaultStep::Empty { times });
            }
        }
        steps
    }
}
