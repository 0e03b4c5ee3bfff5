//! Spans: what the runner tells the world about an attempt.
//!
//! Each attempt gets its own [`Tracer`]. Spans are numbered by `sequence_id`
//! from 1 in creation order, and timestamped by the runner's [`Clock`], so two
//! runs of the same scenario produce byte-identical spans. Rewards are spans
//! too: a `reward.emit` span carries `reward_name`, `reward_value` and
//! `rewards: [{name, value}]`. Nothing reaches the [`SpanStore`] until the
//! runner flushes the tracer through its queue.
//!
//! Spans are many (a million-rollout run persists millions), so the spans
//! the runner writes keep their attributes in compact forms ([`Attributes`])
//! and derive their ids ([`SpanId`]) instead of storing text; both read,
//! compare and serialize exactly as the plain map and string would.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use super::clock::Clock;
use super::queue::model::{AttemptId, RolloutId, WorkerId, serialize_millis};

/// The name of every reward span.
pub const REWARD_SPAN: &str = "reward.emit";
/// The operation span around the executor.
pub const EXECUTE_SPAN: &str = "runner.execute_rollout";
/// Reward: 1 when the executor returned non-null output, else 0.
pub const EXECUTION_SUCCESS: &str = "runner.execution_success";
/// Reward: consecutive poll failures before the poll that dequeued this attempt.
pub const RETRY_FAILURES_METRIC: &str = "runner.poll_retry_failures_before_rollout";
/// Reward: whole milliseconds slept in backoff over those failures.
pub const RETRY_BACKOFF_METRIC: &str = "runner.poll_retry_backoff_ms_before_rollout";

/// A named value an executor or the runner reports for an attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reward {
    /// Its name, such as `exact_match`.
    pub name: String,
    /// Its value.
    pub value: f64,
}

impl Reward {
    /// A reward.
    pub fn new(name: impl Into<String>, value: f64) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

/// A span's id: `{attempt_id}/{sequence_id}`. The runner's spans derive it
/// from their attempt and sequence id instead of storing the text; any
/// other text is kept as given. Displays, compares and serializes as the
/// text.
#[derive(Clone)]
pub struct SpanId(SpanIdRepr);

#[derive(Clone)]
enum SpanIdRepr {
    Derived {
        rollout: RolloutId,
        attempt: u32,
        sequence: u32,
    },
    Text(Box<str>),
}

impl SpanId {
    /// The id of span `sequence` of `attempt`.
    pub fn new(attempt: &AttemptId, sequence: u32) -> Self {
        Self(SpanIdRepr::Derived {
            rollout: attempt.rollout.clone(),
            attempt: attempt.number,
            sequence,
        })
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            SpanIdRepr::Derived {
                rollout,
                attempt,
                sequence,
            } => write!(f, "{rollout}:attempt-{attempt}/{sequence}"),
            SpanIdRepr::Text(text) => f.write_str(text),
        }
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl PartialEq for SpanId {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (
                SpanIdRepr::Derived {
                    rollout: r1,
                    attempt: a1,
                    sequence: s1,
                },
                SpanIdRepr::Derived {
                    rollout: r2,
                    attempt: a2,
                    sequence: s2,
                },
            ) => r1 == r2 && a1 == a2 && s1 == s2,
            (SpanIdRepr::Text(a), SpanIdRepr::Text(b)) => a == b,
            _ => self.to_string() == other.to_string(),
        }
    }
}

impl Eq for SpanId {}

impl From<String> for SpanId {
    fn from(text: String) -> Self {
        Self(SpanIdRepr::Text(text.into_boxed_str()))
    }
}

impl From<&str> for SpanId {
    fn from(text: &str) -> Self {
        Self(SpanIdRepr::Text(text.into()))
    }
}

impl From<&SpanId> for String {
    fn from(id: &SpanId) -> Self {
        id.to_string()
    }
}

impl Serialize for SpanId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A span's attributes: a JSON object, in key order.
///
/// The runner's own spans keep them in compact forms (a reward's name and
/// value; the execution span's ids and status) that read, compare, print
/// and serialize exactly as the map they stand for, which [`to_map`]
/// spells out. Any other attributes are kept as a map.
///
/// [`to_map`]: Attributes::to_map
#[derive(Clone, Default)]
pub struct Attributes(AttrRepr);

#[derive(Clone)]
enum AttrRepr {
    Map(BTreeMap<String, Value>),
    /// `reward_name`, `reward_value`, `rewards: [{name, value}]`.
    Reward {
        name: Cow<'static, str>,
        value: f64,
    },
    /// `attempt_id`, `rollout_id`, `status`, `worker_id`.
    Execution(Box<ExecutionAttrs>),
}

impl Default for AttrRepr {
    fn default() -> Self {
        Self::Map(BTreeMap::new())
    }
}

#[derive(Clone, PartialEq)]
struct ExecutionAttrs {
    attempt: AttemptId,
    rollout: RolloutId,
    status: &'static str,
    worker: WorkerId,
}

/// The attempt statuses the execution span may carry, for the compact form.
const EXECUTION_STATUSES: [&str; 2] = ["succeeded", "failed"];

/// The runner's own reward names, kept without a copy.
const STATIC_REWARDS: [&str; 3] = [
    EXECUTION_SUCCESS,
    RETRY_FAILURES_METRIC,
    RETRY_BACKOFF_METRIC,
];

fn reward_name(name: &str) -> Cow<'static, str> {
    match STATIC_REWARDS.iter().find(|s| **s == name) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(name.to_string()),
    }
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// A `reward.emit` span's attributes: `reward_name`, `reward_value`
    /// ([`json_number`]) and `rewards: [{name, value}]`.
    pub fn reward(reward: &Reward) -> Self {
        Self(AttrRepr::Reward {
            name: reward_name(&reward.name),
            value: reward.value,
        })
    }

    /// The `runner.execute_rollout` span's attributes: `attempt_id`,
    /// `rollout_id`, `status` and `worker_id`.
    pub fn execution(
        attempt: &AttemptId,
        rollout: &RolloutId,
        status: &'static str,
        worker: &WorkerId,
    ) -> Self {
        Self(AttrRepr::Execution(Box::new(ExecutionAttrs {
            attempt: attempt.clone(),
            rollout: rollout.clone(),
            status,
            worker: worker.clone(),
        })))
    }

    /// How many attributes.
    pub fn len(&self) -> usize {
        match &self.0 {
            AttrRepr::Map(map) => map.len(),
            AttrRepr::Reward { .. } => 3,
            AttrRepr::Execution(_) => 4,
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One attribute's value.
    pub fn get(&self, key: &str) -> Option<Cow<'_, Value>> {
        match &self.0 {
            AttrRepr::Map(map) => map.get(key).map(Cow::Borrowed),
            _ => self
                .entries()
                .into_iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| Cow::Owned(v)),
        }
    }

    /// The attributes as the JSON object they stand for.
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        match &self.0 {
            AttrRepr::Map(map) => map.clone(),
            _ => self
                .entries()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    /// The entries of a compact form, in key order.
    fn entries(&self) -> Vec<(&'static str, Value)> {
        match &self.0 {
            AttrRepr::Map(_) => Vec::new(),
            AttrRepr::Reward { name, value } => {
                let value = json_number(*value);
                vec![
                    ("reward_name", Value::from(name.as_ref())),
                    ("reward_value", value.clone()),
                    ("rewards", reward_list(name, value)),
                ]
            }
            AttrRepr::Execution(e) => vec![
                ("attempt_id", Value::from(e.attempt.to_string())),
                ("rollout_id", Value::from(e.rollout.as_str())),
                ("status", Value::from(e.status)),
                ("worker_id", Value::from(e.worker.as_str())),
            ],
        }
    }

    /// The reward of a `reward.emit` span's attributes, read as the map
    /// reads: `None` when a key is missing or of the wrong type (a
    /// non-finite value is JSON null).
    fn reward_of(&self) -> Option<(&str, f64)> {
        match &self.0 {
            AttrRepr::Reward { name, value } => Some((name, json_number(*value).as_f64()?)),
            AttrRepr::Execution(_) => None,
            AttrRepr::Map(map) => {
                let name = map.get("reward_name")?.as_str()?;
                let value = map.get("reward_value")?.as_f64()?;
                Some((name, value))
            }
        }
    }
}

fn reward_list(name: &str, value: Value) -> Value {
    let mut item = serde_json::Map::new();
    item.insert("name".to_string(), Value::from(name));
    item.insert("value".to_string(), value);
    Value::Array(vec![Value::Object(item)])
}

impl From<BTreeMap<String, Value>> for Attributes {
    /// Keeps the map, in a compact form when it is exactly one.
    fn from(map: BTreeMap<String, Value>) -> Self {
        Self(compact(&map).unwrap_or(AttrRepr::Map(map)))
    }
}

/// The compact form a map is exactly equal to, if any.
fn compact(map: &BTreeMap<String, Value>) -> Option<AttrRepr> {
    let string = |key: &str| map.get(key).and_then(Value::as_str);
    if map.len() == 3 {
        let name = string("reward_name")?;
        let value = map.get("reward_value")?;
        let float = value.as_f64()?;
        let candidate = AttrRepr::Reward {
            name: reward_name(name),
            value: float,
        };
        let exact = json_number(float) == *value
            && map.get("rewards") == Some(&reward_list(name, value.clone()));
        return exact.then_some(candidate);
    }
    if map.len() == 4 {
        let attempt = AttemptId::parse(string("attempt_id")?)?;
        let status = string("status")?;
        let status = EXECUTION_STATUSES.into_iter().find(|s| *s == status)?;
        return Some(AttrRepr::Execution(Box::new(ExecutionAttrs {
            attempt,
            rollout: RolloutId::new(string("rollout_id")?),
            status,
            worker: WorkerId::new(string("worker_id")?),
        })));
    }
    None
}

impl FromIterator<(String, Value)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        BTreeMap::from_iter(iter).into()
    }
}

impl From<Attributes> for BTreeMap<String, Value> {
    fn from(attributes: Attributes) -> Self {
        match attributes.0 {
            AttrRepr::Map(map) => map,
            _ => attributes.to_map(),
        }
    }
}

impl PartialEq for Attributes {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (AttrRepr::Map(a), AttrRepr::Map(b)) => a == b,
            (
                AttrRepr::Reward {
                    name: n1,
                    value: v1,
                },
                AttrRepr::Reward {
                    name: n2,
                    value: v2,
                },
            ) => n1 == n2 && json_number(*v1) == json_number(*v2),
            (AttrRepr::Execution(a), AttrRepr::Execution(b)) => a == b,
            _ => self.to_map() == other.to_map(),
        }
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            AttrRepr::Map(map) => fmt::Debug::fmt(map, f),
            _ => f.debug_map().entries(self.entries()).finish(),
        }
    }
}

impl Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            AttrRepr::Map(map) => map.serialize(s),
            AttrRepr::Reward { name, value } => {
                #[derive(Serialize)]
                struct Item<'a> {
                    name: &'a str,
                    value: &'a Value,
                }
                let value = json_number(*value);
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("reward_name", name.as_ref())?;
                m.serialize_entry("reward_value", &value)?;
                m.serialize_entry(
                    "rewards",
                    &[Item {
                        name,
                        value: &value,
                    }],
                )?;
                m.end()
            }
            AttrRepr::Execution(e) => {
                let mut m = s.serialize_map(Some(4))?;
                m.serialize_entry("attempt_id", &e.attempt.to_string())?;
                m.serialize_entry("rollout_id", e.rollout.as_str())?;
                m.serialize_entry("status", e.status)?;
                m.serialize_entry("worker_id", e.worker.as_str())?;
                m.end()
            }
        }
    }
}

/// A finished span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// The rollout it belongs to.
    pub rollout_id: RolloutId,
    /// The attempt it belongs to.
    pub attempt_id: AttemptId,
    /// 1, 2, 3... in creation order within the attempt.
    pub sequence_id: u32,
    /// Derived from the attempt and sequence: `{attempt_id}/{sequence_id}`.
    pub span_id: SpanId,
    /// Such as `runner.execute_rollout` or `reward.emit`.
    pub name: String,
    /// When it started, on the runner's clock (milliseconds in JSON).
    #[serde(rename = "start_ms", serialize_with = "serialize_millis")]
    pub start: Duration,
    /// When it ended (milliseconds in JSON).
    #[serde(rename = "end_ms", serialize_with = "serialize_millis")]
    pub end: Duration,
    /// Its attributes, in key order.
    pub attributes: Attributes,
}

impl Span {
    /// For a `reward.emit` span, the reward it carries.
    pub fn reward(&self) -> Option<Reward> {
        self.reward_ref()
            .map(|(name, value)| Reward::new(name, value))
    }

    /// [`reward`](Self::reward), without copying the name.
    pub fn reward_ref(&self) -> Option<(&str, f64)> {
        if self.name != REWARD_SPAN {
            return None;
        }
        self.attributes.reward_of()
    }
}

/// Handle to a span opened by [`Tracer::start`].
#[derive(Debug)]
#[must_use = "an opened span stays open until ended"]
pub struct OpenSpan(usize);

/// Creates the spans of one attempt.
#[derive(Debug)]
pub struct Tracer<C> {
    clock: C,
    attempt: AttemptId,
    spans: Vec<Span>,
}

impl<C: Clock> Tracer<C> {
    /// A tracer for `attempt`; its first span gets sequence id 1.
    pub fn new(clock: C, attempt: AttemptId) -> Self {
        Self {
            clock,
            attempt,
            spans: Vec::new(),
        }
    }

    fn push(&mut self, name: &str, attributes: Attributes) -> usize {
        let now = self.clock.now();
        let sequence_id = self.spans.len() as u32 + 1;
        self.spans.push(Span {
            rollout_id: self.attempt.rollout.clone(),
            attempt_id: self.attempt.clone(),
            sequence_id,
            span_id: SpanId::new(&self.attempt, sequence_id),
            name: name.to_string(),
            start: now,
            end: now,
            attributes,
        });
        self.spans.len() - 1
    }

    /// Opens an operation span now.
    pub fn start(&mut self, name: &str) -> OpenSpan {
        OpenSpan(self.push(name, Attributes::new()))
    }

    /// Closes an operation span now, with its attributes.
    pub fn end(&mut self, span: OpenSpan, attributes: impl Into<Attributes>) {
        let now = self.clock.now();
        let span = &mut self.spans[span.0];
        span.end = now;
        span.attributes = attributes.into();
    }

    /// Emits a `reward.emit` span.
    pub fn emit_reward(&mut self, reward: &Reward) {
        self.push(REWARD_SPAN, Attributes::reward(reward));
    }

    /// The spans so far, for flushing.
    pub fn finish(self) -> Vec<Span> {
        self.spans
    }
}

/// The rewards of a name among some spans, in order.
pub fn rewards_named<'a>(spans: impl IntoIterator<Item = &'a Span>, reward: &str) -> Vec<Reward> {
    spans
        .into_iter()
        .filter_map(Span::reward_ref)
        .filter(|(name, _)| *name == reward)
        .map(|(name, value)| Reward::new(name, value))
        .collect()
}

/// A reward value as JSON: integral values as integers, so that a backoff of
/// 35 ms reads `35`, not `35.0`. Non-finite values, which JSON lacks, are null.
pub fn json_number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        Value::from(value as i64)
    } else {
        serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

/// The spans of one attempt, in sequence order ([`SpanStore::by_attempt`]).
#[derive(Debug, Clone)]
pub struct AttemptSpans<'a> {
    spans: &'a [Span],
    index: std::slice::Iter<'a, u32>,
}

impl<'a> Iterator for AttemptSpans<'a> {
    type Item = &'a Span;

    fn next(&mut self) -> Option<&'a Span> {
        self.index.next().map(|&i| &self.spans[i as usize])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.index.size_hint()
    }
}

impl ExactSizeIterator for AttemptSpans<'_> {}

/// Lookups of a [`SpanStore`] by attempt, remembering where the last one
/// ended: a lookup of the attempt stored next costs one comparison.
#[derive(Debug, Clone)]
pub struct SpanLookup<'a> {
    store: &'a SpanStore,
    /// Where in the store's index the group after the last one found starts.
    next: usize,
}

impl<'a> SpanLookup<'a> {
    /// The spans of one attempt, in sequence order.
    pub fn attempt(&mut self, attempt: &AttemptId) -> AttemptSpans<'a> {
        let store = self.store;
        let index = store.index();
        let id = |pos: usize| &store.spans[index[pos] as usize].attempt_id;
        let start = if self.next < index.len() && id(self.next) == attempt {
            self.next
        } else {
            index.partition_point(|&i| store.spans[i as usize].attempt_id < *attempt)
        };
        let mut end = start;
        while end < index.len() && id(end) == attempt {
            end += 1;
        }
        self.next = end;
        AttemptSpans {
            spans: &store.spans,
            index: index[start..end].iter(),
        }
    }
}

/// Every persisted span, queryable by rollout, attempt and name.
#[derive(Debug, Clone, Default)]
pub struct SpanStore {
    spans: Vec<Span>,
    /// Positions in `spans`, by attempt, then sequence id, then persistence
    /// order; built at the first query after a change. Spans mostly arrive
    /// in that order already, which the sort finds in one pass.
    by_attempt: OnceLock<Vec<u32>>,
}

impl SpanStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Persists spans, in order.
    pub fn extend(&mut self, spans: impl IntoIterator<Item = Span>) {
        self.spans.extend(spans);
        self.by_attempt.take();
    }

    /// Every span, in the order persisted.
    pub fn all(&self) -> &[Span] {
        &self.spans
    }

    /// How many spans are stored.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn index(&self) -> &[u32] {
        self.by_attempt.get_or_init(|| {
            let spans = &self.spans;
            let mut order: Vec<u32> = (0..spans.len() as u32).collect();
            order.sort_by(|&a, &b| {
                let (a, b) = (&spans[a as usize], &spans[b as usize]);
                a.attempt_id
                    .cmp(&b.attempt_id)
                    .then(a.sequence_id.cmp(&b.sequence_id))
            });
            order
        })
    }

    /// The spans of one attempt, in sequence order, without collecting.
    fn of_attempt(&self, attempt: &AttemptId) -> AttemptSpans<'_> {
        let index = self.index();
        let start = index.partition_point(|&i| self.spans[i as usize].attempt_id < *attempt);
        let len =
            index[start..].partition_point(|&i| self.spans[i as usize].attempt_id == *attempt);
        AttemptSpans {
            spans: &self.spans,
            index: index[start..start + len].iter(),
        }
    }

    /// Every attempt that has spans, in id order, each with its spans in
    /// sequence order: one pass over the store.
    pub fn by_attempt(&self) -> impl Iterator<Item = (&AttemptId, AttemptSpans<'_>)> {
        let spans = &self.spans;
        self.index()
            .chunk_by(move |&a, &b| spans[a as usize].attempt_id == spans[b as usize].attempt_id)
            .map(move |group| {
                (
                    &spans[group[0] as usize].attempt_id,
                    AttemptSpans {
                        spans,
                        index: group.iter(),
                    },
                )
            })
    }

    /// Lookups by attempt that are fastest when made in the order the
    /// attempts were persisted, or in id order.
    pub fn lookup(&self) -> SpanLookup<'_> {
        SpanLookup {
            store: self,
            next: 0,
        }
    }

    /// The spans of one attempt, in sequence order.
    pub fn attempt(&self, attempt: &AttemptId) -> Vec<&Span> {
        self.of_attempt(attempt).collect()
    }

    /// The spans of every attempt of a rollout, by attempt then sequence.
    pub fn rollout(&self, rollout: &RolloutId) -> Vec<&Span> {
        let index = self.index();
        let start =
            index.partition_point(|&i| self.spans[i as usize].attempt_id.rollout < *rollout);
        index[start..]
            .iter()
            .map(|&i| &self.spans[i as usize])
            .take_while(|s| s.attempt_id.rollout == *rollout)
            .collect()
    }

    /// The spans of one attempt with a given name.
    pub fn named(&self, attempt: &AttemptId, name: &str) -> Vec<&Span> {
        self.of_attempt(attempt)
            .filter(|s| s.name == name)
            .collect()
    }

    /// The `reward.emit` spans of one attempt for a reward name.
    pub fn rewards(&self, attempt: &AttemptId, reward: &str) -> Vec<Reward> {
        rewards_named(self.of_attempt(attempt), reward)
    }

    /// True when the attempt has spans.
    pub fn has_attempt(&self, attempt: &AttemptId) -> bool {
        self.of_attempt(attempt).next().is_some()
    }

    /// Every attempt that has spans, in id order.
    pub fn attempts(&self) -> impl Iterator<Item = &AttemptId> {
        let mut last: Option<&AttemptId> = None;
        self.index().iter().filter_map(move |&i| {
            let id = &self.spans[i as usize].attempt_id;
            if last == Some(id) {
                None
            } else {
                last = Some(id);
                Some(id)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The map a reward span carried before the compact form.
    fn reward_map(name: &str, value: f64) -> BTreeMap<String, Value> {
        let value = json_number(value);
        BTreeMap::from([
            ("reward_name".to_string(), Value::from(name)),
            ("reward_value".to_string(), value.clone()),
            (
                "rewards".to_string(),
                serde_json::json!([{ "name": name, "value": value }]),
            ),
        ])
    }

    #[test]
    fn compact_attributes_are_exactly_their_maps() {
        let values = [35.0, 0.1 + 0.2, -0.0, 1e300, f64::NAN, f64::INFINITY, -3.0];
        for name in ["exact_match", EXECUTION_SUCCESS, RETRY_BACKOFF_METRIC] {
            for value in values {
                let compact = Attributes::reward(&Reward::new(name, value));
                let map = reward_map(name, value);
                assert!(matches!(compact.0, AttrRepr::Reward { .. }));
                assert_eq!(compact.to_map(), map);
                assert_eq!(
                    serde_json::to_string(&compact).unwrap(),
                    serde_json::to_string(&map).unwrap()
                );
                assert_eq!(format!("{compact:?}"), format!("{map:?}"));
                let plain = Attributes(AttrRepr::Map(map.clone()));
                assert_eq!(compact, plain);
                for key in ["reward_name", "reward_value", "rewards", "other"] {
                    assert_eq!(
                        compact.get(key).map(|v| v.into_owned()),
                        map.get(key).cloned()
                    );
                }
                let span = |attributes| Span {
                    rollout_id: RolloutId::new("r1"),
                    attempt_id: AttemptId::new(RolloutId::new("r1"), 1),
                    sequence_id: 2,
                    span_id: "r1:attempt-1/2".into(),
                    name: REWARD_SPAN.into(),
                    start: Duration::ZERO,
                    end: Duration::ZERO,
                    attributes,
                };
                let (a, b) = (span(compact.clone()), span(plain.clone()));
                assert_eq!(
                    a.reward().map(|r| (r.name, r.value.to_bits())),
                    b.reward().map(|r| (r.name, r.value.to_bits()))
                );
                // A map of exactly this shape becomes the compact form again,
                // unless the value would not come back bit for bit.
                let back = Attributes::from(map);
                assert_eq!(back, compact);
                assert_eq!(matches!(back.0, AttrRepr::Reward { .. }), value.is_finite());
            }
        }
        let attempt = AttemptId::new(RolloutId::new("r-01"), 2);
        let worker = WorkerId::new("worker-1");
        let exec = Attributes::execution(&attempt, &attempt.rollout, "succeeded", &worker);
        let map: BTreeMap<String, Value> = [
            ("attempt_id", Value::from("r-01:attempt-2")),
            ("rollout_id", Value::from("r-01")),
            ("status", Value::from("succeeded")),
            ("worker_id", Value::from("worker-1")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(exec.to_map(), map);
        assert_eq!(
            serde_json::to_string(&exec).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(exec, Attributes::from(map.clone()));
        assert!(matches!(Attributes::from(map).0, AttrRepr::Execution(_)));
        assert_eq!(exec.len(), 4);
        assert!(Attributes::new().is_empty());
    }

    #[test]
    fn span_ids_read_as_their_text() {
        let attempt = AttemptId::new(RolloutId::new("r1"), 2);
        let id = SpanId::new(&attempt, 3);
        assert_eq!(id.to_string(), "r1:attempt-2/3");
        assert_eq!(id, SpanId::from("r1:attempt-2/3"));
        assert_ne!(id, SpanId::new(&attempt, 4));
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"r1:attempt-2/3\"");
        assert_eq!(format!("{id:?}"), "\"r1:attempt-2/3\"");
    }

    #[test]
    fn the_store_answers_by_attempt_in_sequence_order() {
        let clock = crate::core::clock::TokioClock::with_epoch(tokio::time::Instant::now());
        let mut store = SpanStore::new();
        let flush = |store: &mut SpanStore, rollout: &str, number: u32, rewards: &[(&str, f64)]| {
            let mut tracer = Tracer::new(clock, AttemptId::new(RolloutId::new(rollout), number));
            let span = tracer.start(EXECUTE_SPAN);
            tracer.end(span, BTreeMap::new());
            for (name, value) in rewards {
                tracer.emit_reward(&Reward::new(*name, *value));
            }
            store.extend(tracer.finish());
        };
        flush(&mut store, "r2", 1, &[("a", 1.0)]);
        flush(&mut store, "r1", 2, &[("a", 2.0), ("a", 3.0)]);
        flush(&mut store, "r1", 1, &[]);
        let r1_2 = AttemptId::new(RolloutId::new("r1"), 2);
        assert_eq!(store.len(), 6);
        let seq: Vec<u32> = store.attempt(&r1_2).iter().map(|s| s.sequence_id).collect();
        assert_eq!(seq, [1, 2, 3]);
        assert_eq!(
            store
                .rewards(&r1_2, "a")
                .iter()
                .map(|r| r.value)
                .collect::<Vec<_>>(),
            [2.0, 3.0]
        );
        assert_eq!(store.named(&r1_2, EXECUTE_SPAN).len(), 1);
        let attempts: Vec<String> = store.attempts().map(|a| a.to_string()).collect();
        assert_eq!(attempts, ["r1:attempt-1", "r1:attempt-2", "r2:attempt-1"]);
        assert_eq!(store.rollout(&RolloutId::new("r1")).len(), 4);
        assert!(store.has_attempt(&r1_2));
        assert!(!store.has_attempt(&AttemptId::new(RolloutId::new("r3"), 1)));
        assert!(
            store
                .attempt(&AttemptId::new(RolloutId::new("r0"), 1))
                .is_empty()
        );
        let groups: Vec<(String, Vec<u32>)> = store
            .by_attempt()
            .map(|(a, spans)| (a.to_string(), spans.map(|s| s.sequence_id).collect()))
            .collect();
        assert_eq!(
            groups,
            [
                ("r1:attempt-1".to_string(), vec![1]),
                ("r1:attempt-2".to_string(), vec![1, 2, 3]),
                ("r2:attempt-1".to_string(), vec![1, 2]),
            ]
        );
        let mut lookup = store.lookup();
        for (rollout, number, len) in [
            ("r2", 1, 2),
            ("r1", 2, 3),
            ("r1", 2, 3),
            ("r0", 1, 0),
            ("r1", 1, 1),
            ("r1", 2, 3),
        ] {
            let a = AttemptId::new(RolloutId::new(rollout), number);
            let found: Vec<u32> = lookup.attempt(&a).map(|s| s.sequence_id).collect();
            assert_eq!(
                found,
                store
                    .attempt(&a)
                    .iter()
                    .map(|s| s.sequence_id)
                    .collect::<Vec<_>>()
            );
            assert_eq!(found.len(), len);
        }
        // Adding spans after a query re-sorts.
        flush(&mut store, "r0", 1, &[]);
        assert_eq!(store.attempts().next().unwrap().to_string(), "r0:attempt-1");
    }

    #[test]
    fn integral_rewards_are_json_integers() {
        assert_eq!(json_number(35.0).to_string(), "35");
        assert_eq!(json_number(0.5).to_string(), "0.5");
        assert_eq!(json_number(f64::NAN), Value::Null);
    }
}
