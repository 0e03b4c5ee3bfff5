//! Findings: a sweep's failing seeds grouped by cause.
//!
//! A seed's *cause* is what failed in it, with every number written as
//! `<n>`: each violated invariant by name, and each failed check with its
//! expected and actual values, one line each, sorted and deduplicated.
//! Rollout, worker and attempt ids such as `r-08`, `worker-2` or
//! `r7:attempt-3`, and times such as `50 ms`, carry numbers, so two seeds
//! that fail the same check on different rollouts, or with different
//! counts or times, share one cause; ids without a digit stay as written.
//!
//! An invariant counts by its name, not its violations' sentences: the
//! name is the property that broke, while a sentence is the evidence of
//! one instance (which attempt, on which worker, in which of its states),
//! and a single bug strands attempts on workers in several states. The
//! first seed's sentences are in its failing-seed entry and its repro.
//!
//! A finding is one cause: its id (the first 12 hex digits of the cause's
//! FNV-1a-64 hash), how many seeds failed that way, the first of them and
//! its repro command. A sweep keeps a finding per cause, not per seed, and
//! at most [`MAX_FINDINGS`] of them: the causes with the smallest hashes
//! (ties by text). That bottom-k rule keeps grouping bounded *and* exact
//! whatever order seeds arrive in: once the set is full its largest hash
//! only falls, so a cause that was ever dropped is never taken back, and a
//! cause that is kept was kept from its first seed on, with every seed
//! counted. The same argument makes merged shards give the findings of the
//! unsharded sweep. Seeds of causes beyond the cap are counted in
//! `not_listed`.
//!
//! With `--baseline`, each finding is marked [`FindingStatus::New`] or
//! [`FindingStatus::StillFailing`] by whether its id is among the
//! baseline's, and the baseline's findings not seen are listed as fixed.

use std::collections::{BTreeMap, BTreeSet};

use rollout_scenario::ScenarioOutcome;
use rollout_simulator::Branch;

/// Causes a report lists; seeds of further causes are counted.
pub const MAX_FINDINGS: usize = 1_000;

/// How many hex digits of the hash name a finding.
pub const FINDING_ID_DIGITS: usize = 12;

/// `text` with every number (digits, with a decimal part if any) written
/// as `<n>`.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_ascii_digit() {
            out.push(c);
            continue;
        }
        while chars.next_if(char::is_ascii_digit).is_some() {}
        // `1.5s` is one number; `r-1.status` keeps its dot before a letter.
        let mut rest = chars.clone();
        if rest.next() == Some('.') && rest.peek().is_some_and(char::is_ascii_digit) {
            chars.next();
            while chars.next_if(char::is_ascii_digit).is_some() {}
        }
        out.push_str("<n>");
    }
    out
}

/// The cause of a failing run: one normalised line per failure, sorted,
/// deduplicated, joined by `; `. Empty when the run passed.
pub fn cause_of(outcome: &ScenarioOutcome) -> String {
    let mut lines = BTreeSet::new();
    for i in outcome.violated() {
        lines.insert(normalise(&format!("invariant {}", i.name)));
    }
    for c in outcome.failed_checks() {
        lines.insert(normalise(&format!(
            "{}: expected {}, actual {}",
            c.name,
            c.expected.human(),
            c.actual.human()
        )));
    }
    lines.into_iter().collect::<Vec<_>>().join("; ")
}

/// FNV-1a, 64 bits: stable across platforms and releases, unlike std's
/// hasher, and ids need spreading, not strength.
fn hash(cause: &str) -> u64 {
    cause.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The id of a cause: [`FINDING_ID_DIGITS`] hex digits of its hash.
pub fn finding_id(cause: &str) -> String {
    let full = format!("{:016x}", hash(cause));
    full[..FINDING_ID_DIGITS].to_string()
}

/// A finding's standing against a baseline sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingStatus {
    /// Not among the baseline's findings.
    New,
    /// Among the baseline's findings too.
    StillFailing,
    /// A baseline finding no seed of this sweep failed with.
    Fixed,
}

/// One cause and the seeds that failed with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// [`finding_id`] of the title.
    pub id: String,
    /// The cause ([`cause_of`]).
    pub title: String,
    /// Failing seeds with this cause.
    pub seeds: u64,
    /// The smallest of them.
    pub first_seed: u64,
    /// Its branch, in a guided sweep (the first to fail of that seed's
    /// runs); empty for the seed's own run.
    pub first_branch: Branch,
    /// The command that reruns the first seed.
    pub repro: String,
    /// The 1-minimal reproducer `--shrink` wrote for the first seed.
    pub shrunk: Option<String>,
    /// Against the baseline, when there is one.
    pub status: Option<FindingStatus>,
}

/// A sweep's comparison with an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// The baseline report, as given to `--baseline`.
    pub file: String,
    /// Its findings no seed failed with this time, by first seed.
    pub fixed: Vec<Finding>,
}

/// A sweep's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// By first seed: at most [`MAX_FINDINGS`].
    pub listed: Vec<Finding>,
    /// Failing seeds whose cause is not listed.
    pub not_listed: u64,
    /// The comparison with `--baseline`, if given.
    pub baseline: Option<Baseline>,
}

impl Findings {
    /// Marks each finding against `baseline`'s and lists the baseline's
    /// findings that are gone as fixed.
    pub fn compare(&mut self, file: &str, baseline: &Findings) {
        let before: BTreeSet<&str> = baseline.listed.iter().map(|f| f.id.as_str()).collect();
        let now: BTreeSet<String> = self.listed.iter().map(|f| f.id.clone()).collect();
        for f in &mut self.listed {
            f.status = Some(if before.contains(f.id.as_str()) {
                FindingStatus::StillFailing
            } else {
                FindingStatus::New
            });
        }
        let fixed = baseline
            .listed
            .iter()
            .filter(|f| !now.contains(&f.id))
            .map(|f| Finding {
                shrunk: None,
                status: Some(FindingStatus::Fixed),
                ..f.clone()
            })
            .collect();
        self.baseline = Some(Baseline {
            file: file.to_string(),
            fixed,
        });
    }
}

/// What a cause has gathered so far.
#[derive(Debug, Clone)]
struct Tally {
    seeds: u64,
    first_seed: u64,
    first_branch: Branch,
    repro: String,
    shrunk: Option<String>,
}

/// Findings being gathered: the [`MAX_FINDINGS`] causes with the smallest
/// `(hash, text)`, whatever order seeds come in.
#[derive(Debug, Default)]
pub(crate) struct Grouping {
    causes: BTreeMap<(u64, String), Tally>,
}

impl Grouping {
    /// Counts `seeds` failing seeds of `cause`, the first being `first_seed`
    /// (on `first_branch`). Of two firsts with the same seed the one that
    /// came first stays: a guided sweep adds its runs in run order.
    pub(crate) fn add(
        &mut self,
        cause: String,
        seeds: u64,
        (first_seed, first_branch): (u64, &Branch),
        repro: &str,
        shrunk: Option<&str>,
    ) {
        let key = (hash(&cause), cause);
        if let Some(t) = self.causes.get_mut(&key) {
            t.seeds = t.seeds.saturating_add(seeds);
            if first_seed < t.first_seed {
                t.first_seed = first_seed;
                t.first_branch = first_branch.clone();
                t.repro = repro.to_string();
                t.shrunk = shrunk.map(str::to_string);
            }
            return;
        }
        if self.causes.len() >= MAX_FINDINGS {
            match self.causes.last_key_value() {
                Some((largest, _)) if key < *largest => {
                    self.causes.pop_last();
                }
                _ => return,
            }
        }
        self.causes.insert(
            key,
            Tally {
                seeds,
                first_seed,
                first_branch: first_branch.clone(),
                repro: repro.to_string(),
                shrunk: shrunk.map(str::to_string),
            },
        );
    }

    pub(crate) fn merge(&mut self, other: Grouping) {
        for ((_, cause), t) in other.causes {
            self.add(
                cause,
                t.seeds,
                (t.first_seed, &t.first_branch),
                &t.repro,
                t.shrunk.as_deref(),
            );
        }
    }

    /// The findings of `failed` failing seeds, by first seed.
    pub(crate) fn into_findings(self, failed: u64) -> Findings {
        let mut listed: Vec<Finding> = self
            .causes
            .into_iter()
            .map(|((_, title), t)| Finding {
                id: finding_id(&title),
                title,
                seeds: t.seeds,
                first_seed: t.first_seed,
                first_branch: t.first_branch,
                repro: t.repro,
                shrunk: t.shrunk,
                status: None,
            })
            .collect();
        listed.sort_by_key(|f| f.first_seed);
        let grouped = listed
            .iter()
            .map(|f| f.seeds)
            .fold(0u64, u64::saturating_add);
        Findings {
            listed,
            not_listed: failed.saturating_sub(grouped),
            baseline: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_ids_and_times_become_placeholders() {
        assert_eq!(
            normalise(
                "r-08:attempt-1 is still running at the end, on worker-12 (last heartbeat at 50 ms)"
            ),
            "r-<n>:attempt-<n> is still running at the end, on worker-<n> (last heartbeat at <n> ms)"
        );
        assert_eq!(normalise("rollouts.r7.status"), "rollouts.r<n>.status");
        assert_eq!(normalise("took 1.5s, not 2s"), "took <n>s, not <n>s");
        assert_eq!(normalise("no digits"), "no digits");
    }

    #[test]
    fn the_kept_causes_are_the_smallest_hashes_in_any_order() {
        let causes: Vec<String> = (0..MAX_FINDINGS + 300)
            .map(|i| format!("cause {i}"))
            .collect();
        let mut forward = Grouping::default();
        let mut backward = Grouping::default();
        for (seed, cause) in causes.iter().enumerate() {
            forward.add(cause.clone(), 1, (seed as u64, &Branch::NONE), "f", None);
            forward.add(
                cause.clone(),
                1,
                (seed as u64 + 5000, &Branch::NONE),
                "f",
                None,
            );
        }
        for (seed, cause) in causes.iter().enumerate().rev() {
            backward.add(
                cause.clone(),
                1,
                (seed as u64 + 5000, &Branch::NONE),
                "b",
                None,
            );
            backward.add(cause.clone(), 1, (seed as u64, &Branch::NONE), "b", None);
        }
        let (f, b) = (forward.into_findings(2600), backward.into_findings(2600));
        assert_eq!(f.listed.len(), MAX_FINDINGS);
        assert_eq!(f.not_listed, 600);
        let strip = |x: &Findings| {
            x.listed
                .iter()
                .map(|f| (f.id.clone(), f.seeds, f.first_seed))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&f), strip(&b));
        assert!(f.listed.iter().all(|x| x.seeds == 2));
    }
}
