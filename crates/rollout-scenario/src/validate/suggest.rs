//! Help for an unknown name: the known ones, led by the nearest.
//!
//! A reference to an unknown rollout or worker is most often a typo, so its
//! help names the nearest known id ("did you mean `r1`?") and lists the
//! first [`MAX_KNOWN_LISTED`] known ones. A scenario may hold a million
//! generated ids and name many unknown ones: the suggestion compares at most
//! [`MAX_SUGGESTION_CANDIDATES`] candidates (the neighbours in name order,
//! and read backwards, for a typo near the start), sorting the backward
//! order once per file and kind of id, and past
//! [`MAX_PROBLEMS`](crate::limits::MAX_PROBLEMS) problems
//! none is computed at all.

use std::collections::BTreeSet;
use std::ops::Bound;

use crate::diagnostics::nearest;
use crate::limits::{MAX_KNOWN_LISTED, MAX_SUGGESTION_CANDIDATES};

use super::Validator;

impl Validator<'_> {
    /// [`known`], led by the nearest name when `given` looks like a typo
    /// of one; nothing past
    /// [`MAX_PROBLEMS`](crate::limits::MAX_PROBLEMS).
    ///
    /// Of many names, only [`MAX_SUGGESTION_CANDIDATES`] are compared:
    /// those next to `given` in name order, which share its start, and
    /// those next to it in the order of the names read backwards, which
    /// share its end (a typo near the start of `rollout-000017`). The
    /// backward order is sorted once per file and kind of id, on the first
    /// need.
    pub(super) fn known_near(
        &mut self,
        what: &'static str,
        given: &str,
        names: &BTreeSet<&str>,
    ) -> Option<String> {
        if !self.room() {
            return None;
        }
        let near = if names.len() <= MAX_SUGGESTION_CANDIDATES {
            nearest(given, names.iter().copied()).map(str::to_string)
        } else {
            let candidates = self.candidates(what, given, names);
            nearest(given, candidates.iter().map(String::as_str)).map(str::to_string)
        };
        Some(match near {
            Some(near) => format!("did you mean `{near}`? {}", known(what, names)),
            None => known(what, names),
        })
    }

    /// The [`MAX_SUGGESTION_CANDIDATES`] names nearest `given` in name
    /// order and read backwards.
    fn candidates(
        &mut self,
        what: &'static str,
        given: &str,
        names: &BTreeSet<&str>,
    ) -> Vec<String> {
        let quarter = MAX_SUGGESTION_CANDIDATES / 4;
        let before = names
            .range::<str, _>((Bound::Unbounded, Bound::Excluded(given)))
            .rev()
            .take(quarter);
        let after = names
            .range::<str, _>((Bound::Included(given), Bound::Unbounded))
            .take(quarter);
        let mut candidates: Vec<String> = before.chain(after).map(|n| n.to_string()).collect();
        let backwards = self.backwards.entry(what).or_insert_with(|| {
            let mut all: Vec<String> = names.iter().map(|n| n.chars().rev().collect()).collect();
            all.sort_unstable();
            all
        });
        let reversed: String = given.chars().rev().collect();
        let at = backwards.partition_point(|n| *n < reversed);
        let low = at.saturating_sub(quarter);
        let high = (at + quarter).min(backwards.len());
        candidates.extend(
            backwards[low..high]
                .iter()
                .map(|n| n.chars().rev().collect()),
        );
        candidates
    }
}

/// `known workers: a, b, c`: the first [`MAX_KNOWN_LISTED`] names, and how
/// many more there are.
pub(super) fn known(what: &str, names: &BTreeSet<&str>) -> String {
    let listed: Vec<&str> = names.iter().copied().take(MAX_KNOWN_LISTED).collect();
    let more = if names.len() > MAX_KNOWN_LISTED {
        format!(" and {} more", names.len() - MAX_KNOWN_LISTED)
    } else {
        String::new()
    };
    format!("known {what}: {}{more}", listed.join(", "))
}
