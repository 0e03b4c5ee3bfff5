//! `rollout-sim diff --format json`, schema `rollout-sim.diff/1`: one
//! object per scenario file, each comparison with its verdict and, when it
//! failed, where the two sides part (a trace event index and both events,
//! as the trace's JSON Lines write them, or a sentence).

use serde::Serialize;

use super::trace::Event;

/// The version tag of diff reports.
pub const DIFF_SCHEMA: &str = "rollout-sim.diff/1";

/// One file's comparisons.
#[derive(Serialize)]
pub struct Diff<'a> {
    /// [`DIFF_SCHEMA`].
    #[serde(rename = "schema")]
    pub schema: &'static str,
    /// The scenario file.
    #[serde(rename = "file")]
    pub file: &'a str,
    /// The seed.
    #[serde(rename = "seed")]
    pub seed: u64,
    /// True when every comparison held.
    #[serde(rename = "held")]
    pub held: bool,
    /// The comparisons.
    #[serde(rename = "comparisons")]
    pub comparisons: Vec<Comparison<'a>>,
}

/// One comparison.
#[derive(Serialize)]
pub struct Comparison<'a> {
    /// `metrics-on-off`, `same-trace` or `same-outcomes`.
    #[serde(rename = "kind")]
    pub kind: &'static str,
    /// The engines: one for `metrics-on-off`, two otherwise.
    #[serde(rename = "engines")]
    pub engines: Vec<super::Engine>,
    /// True when the two sides agree.
    #[serde(rename = "held")]
    pub held: bool,
    /// What agreed, or was compared.
    #[serde(rename = "detail")]
    pub detail: &'a str,
    /// Where they part; null when they agree.
    #[serde(rename = "divergence")]
    pub divergence: Option<Divergence<'a>>,
}

/// Where two runs part.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Divergence<'a> {
    /// The first differing event.
    Event {
        /// Its index in the compared traces.
        #[serde(rename = "event_index")]
        index: usize,
        /// The left side's event; null past the end of its trace.
        #[serde(rename = "left")]
        left: Option<Event<'a>>,
        /// The right side's event; null past the end of its trace.
        #[serde(rename = "right")]
        right: Option<Event<'a>>,
    },
    /// What differs, as a sentence.
    Outcome {
        /// The sentence.
        #[serde(rename = "outcome")]
        outcome: &'a str,
    },
}

impl<'a> From<&'a rollout_explore::DiffReport> for Diff<'a> {
    fn from(r: &'a rollout_explore::DiffReport) -> Self {
        Self {
            schema: DIFF_SCHEMA,
            file: &r.file,
            seed: r.seed,
            held: r.held(),
            comparisons: r.compared.iter().map(Comparison::from).collect(),
        }
    }
}

impl<'a> From<&'a rollout_explore::Compared> for Comparison<'a> {
    fn from(c: &'a rollout_explore::Compared) -> Self {
        use rollout_explore::Comparison as C;
        let (kind, engines) = match c.comparison {
            C::MetricsOnOff(e) => ("metrics-on-off", vec![e.into()]),
            C::SameTrace(a, b) => ("same-trace", vec![a.into(), b.into()]),
            C::SameOutcomes(a, b) => ("same-outcomes", vec![a.into(), b.into()]),
        };
        Self {
            kind,
            engines,
            held: c.held(),
            detail: &c.detail,
            divergence: c.divergence.as_ref().map(|d| match d {
                rollout_explore::Divergence::Event { index, left, right } => Divergence::Event {
                    index: *index,
                    left: left.as_ref().map(Event::from),
                    right: right.as_ref().map(Event::from),
                },
                rollout_explore::Divergence::Outcome(text) => Divergence::Outcome { outcome: text },
            }),
        }
    }
}
