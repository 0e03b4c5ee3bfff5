//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test target uses a different subset

use std::path::{Path, PathBuf};

/// The crate's `scenarios/` folder.
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Every `*.yaml` / `*.yml` file under `scenarios/`, recursively, sorted.
///
/// Discovered at test time, so scenario files added later (such as
/// `scenarios/regression/*.yaml`) are picked up without editing the tests.
pub fn scenario_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("cannot read an entry of {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&scenarios_dir(), &mut files);
    files.sort();
    files
}

/// A path relative to the crate root, for messages.
pub fn display(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Where two lists first differ, as a readable message; `None` when equal.
/// `l` and `r` name the two sides.
pub fn labelled_diff<T: std::fmt::Debug + PartialEq>(
    what: &str,
    (l, r): (&str, &str),
    left: &[T],
    right: &[T],
) -> Option<String> {
    if left == right {
        return None;
    }
    let at = left
        .iter()
        .zip(right)
        .position(|(a, b)| a != b)
        .unwrap_or(left.len().min(right.len()));
    Some(format!(
        "{what} differ ({} vs {} entries); first difference at index {at}:\n      {l}: {:?}\n      {r}: {:?}",
        left.len(),
        right.len(),
        left.get(at),
        right.get(at),
    ))
}

/// The trace with injected faults all tagged `script`.
pub fn untagged(events: &[rollout_sim::sim::TraceEvent]) -> Vec<rollout_sim::sim::TraceEvent> {
    events
        .iter()
        .cloned()
        .map(|mut e| {
            if let rollout_sim::sim::EventKind::Call {
                result:
                    rollout_sim::sim::CallResult::Failed { fault, .. }
                    | rollout_sim::sim::CallResult::Empty { fault },
                ..
            } = &mut e.kind
                && fault.is_some()
            {
                *fault = Some(rollout_sim::sim::FaultSource::Script);
            }
            e
        })
        .collect()
}

/// Why a run did not pass, one line per failed check or violated invariant.
pub fn explain_failure(outcome: &rollout_sim::scenario::ScenarioOutcome) -> String {
    let mut lines = Vec::new();
    for check in outcome.failed_checks() {
        lines.push(format!(
            "    check {}: expected {}, actual {}",
            check.name, check.expected, check.actual
        ));
    }
    for invariant in outcome.violated() {
        lines.push(format!(
            "    invariant {} violated ({} violation(s)): {}",
            invariant.name,
            invariant.violation_count,
            invariant.violations.join("; ")
        ));
    }
    if lines.is_empty() {
        lines.push("    (no failed check or violated invariant reported)".into());
    }
    lines.join("\n")
}

/// `text` with every XML attribute `time="..."` set to `time="T"`.
pub fn blank_times(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(" time=\"") {
        let (before, after) = rest.split_at(at + 7);
        out.push_str(before);
        out.push_str("T\"");
        rest = &after[after.find('"').unwrap() + 1..];
    }
    out.push_str(rest);
    out
}
