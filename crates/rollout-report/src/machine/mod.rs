//! Machine output: the types every machine-readable format is written
//! from, each the schema users read.
//!
//! | format | written by | schema |
//! | --- | --- | --- |
//! | JSON report, `rollout-sim.report/1` | `scenario --format json` | [`report`] |
//! | sweep JSON, `rollout-sim.sweep/2` (read back by `merge`) | `explore --format json`, `merge --format json` | [`sweep`] |
//! | JUnit XML | `scenario --junit`, `explore --junit` | [`junit`] |
//! | spans, JSON Lines and SQLite rows | `scenario --spans`, `--spans-append` | [`spans`] |
//! | event trace, JSON Lines | `scenario --trace` | [`trace`] |
//! | diff JSON, `rollout-sim.diff/1` | `diff --format json` | [`diff`] |
//!
//! These types are kept apart from the types the tool works with (the
//! run's [`StopReason`](rollout_simulator::StopReason), the trace's
//! [`EventKind`](rollout_simulator::EventKind), the
//! [`ScenarioReport`](super::ScenarioReport) reports are built from...)
//! so that renaming one of those, a field or a variant, cannot change a
//! byte of output: every field and variant here is named with a serde
//! attribute, and the renderers serialize only these types. Each format's
//! file ends with the conversions from the internal types it is built
//! from, the only code that names both.
//!
//! Most of them borrow what they show, so writing a report copies nothing;
//! a list is written item by item ([`Each`]). A few leaves are written by
//! the encodings of their own types, which are written by hand, name their
//! JSON explicitly and are what those types are for: a check's expected
//! and actual values ([`CheckValue`](rollout_scenario::CheckValue), any
//! JSON value), the rewards of a report
//! ([`RewardLog`](super::rewards::RewardLog)) and a span's attributes
//! ([`Attributes`](rollout_core::Attributes), a JSON object).
//!
//! The sweep's schema is defined with the sweep, in
//! [`explore::machine`](rollout_explore::machine), because the sweep reads
//! its reports back (`merge`) and sits below the reports; it is
//! re-exported here, with [`Engine`], which every format shares.

pub mod diff;
pub mod junit;
pub mod report;
pub mod spans;
pub mod trace;

#[cfg(test)]
mod junit_tests;
#[cfg(test)]
mod tests;

use std::fmt::Display;
use std::marker::PhantomData;

use serde::{Serialize, Serializer};

pub use rollout_explore::machine as sweep;
pub use rollout_explore::machine::Engine;

/// A list written item by item as `J`s, each converted from a `T` as it
/// is written: a report of a million checks holds no second list.
pub struct Each<'a, T, J> {
    items: &'a [T],
    written_as: PhantomData<fn(&'a T) -> J>,
}

impl<'a, T, J> Each<'a, T, J> {
    /// `items`, to be written as `J`s.
    pub fn new(items: &'a [T]) -> Self {
        Self {
            items,
            written_as: PhantomData,
        }
    }
}

impl<'a, T, J: Serialize + From<&'a T>> Serialize for Each<'a, T, J> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.items.iter().map(J::from))
    }
}

/// A value written as its text ([`Display`]): an attempt id
/// (`r1:attempt-1`), a span id (`r1:attempt-1/2`), a check's name.
pub struct Text<T>(pub T);

impl<T: Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'a, T> From<&'a T> for Text<&'a T> {
    fn from(value: &'a T) -> Self {
        Self(value)
    }
}
