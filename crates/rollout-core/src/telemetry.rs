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
            AttrRepr::Reward { name, value } => Some((name, read_back(*value)?)),
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
pub fn rewards_named<'a>(
    spans: impl IntoIterator<Item = SpanView<'a>>,
    reward: &str,
) -> Vec<Reward> {
    spans
        .into_iter()
        .filter_map(|s| s.reward())
        .filter(|(name, _)| *name == reward)
        .map(|(name, value)| Reward::new(name, value))
        .collect()
}

/// A reward value as it reads back from its JSON form ([`json_number`]),
/// without building it: non-finite values are null (no value), and -0
/// is written as the integer 0.
fn read_back(value: f64) -> Option<f64> {
    if !value.is_finite() {
        None
    } else if value == 0.0 {
        Some(0.0)
    } else {
        Some(value)
    }
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

/// A persisted span, as the store keeps it.
#[derive(Debug, Clone)]
enum Record {
    /// One of the runner's own spans, in a few words.
    Compact(CompactSpan),
    /// Any other span, as given.
    Full(Box<Span>),
}

/// A runner span whose ids are derived (rollout of its attempt, id
/// `{attempt}/{sequence}`) and whose attributes are a compact form.
#[derive(Debug, Clone)]
struct CompactSpan {
    rollout: RolloutId,
    attempt: u32,
    sequence: u32,
    /// Nanoseconds.
    start: u64,
    end: u64,
    kind: CompactKind,
}

#[derive(Debug, Clone, Copy)]
enum CompactKind {
    /// `runner.execute_rollout`; the worker by number in the store's table.
    Execute { worker: u32, succeeded: bool },
    /// `reward.emit`; the name by number in the store's table.
    Reward { name: u32, value: f64 },
}

/// Every persisted span, queryable by rollout, attempt and name.
///
/// The runner's own spans are kept in a compact form (about 56 bytes, not
/// a [`Span`]'s 160 plus its strings); they read exactly as the spans
/// given. The queries that return `&Span` ([`all`](Self::all),
/// [`attempt`](Self::attempt), [`named`](Self::named),
/// [`rollout`](Self::rollout)) build a plain copy of every span the first
/// time one is asked for; the others ([`rewards`](Self::rewards),
/// [`names`](Self::names), [`views`](Self::views),
/// [`by_attempt`](Self::by_attempt), [`lookup`](Self::lookup)) read the
/// compact form.
#[derive(Debug, Clone, Default)]
pub struct SpanStore {
    records: Vec<Record>,
    /// Reward names of compact spans, numbered by position. A run has a
    /// handful, searched in place; past [`NAMES_SCANNED`] the map numbers
    /// them (built then: hashing a name costs more than comparing a few).
    names: Vec<Cow<'static, str>>,
    name_numbers: std::collections::HashMap<Cow<'static, str>, u32>,
    /// Workers of compact execution spans.
    workers: Vec<WorkerId>,
    /// Positions in `records`, by attempt, then sequence id, then
    /// persistence order; built at the first query after a change. Spans
    /// mostly arrive in that order already, which the sort finds in one pass.
    by_attempt: OnceLock<Vec<u32>>,
    /// Every span as a [`Span`], once asked for.
    plain: OnceLock<Vec<Span>>,
}

/// How many reward names the store searches in place before it keeps a map.
const NAMES_SCANNED: usize = 16;

fn nanos(d: Duration) -> Option<u64> {
    u64::try_from(d.as_nanos()).ok()
}

impl SpanStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Persists spans, in order.
    pub fn extend(&mut self, spans: impl IntoIterator<Item = Span>) {
        let spans = spans.into_iter();
        self.records.reserve(spans.size_hint().0);
        for span in spans {
            let record = match self.compact(&span) {
                Some(compact) => Record::Compact(compact),
                None => Record::Full(Box::new(span)),
            };
            self.records.push(record);
        }
        self.by_attempt.take();
        self.plain.take();
    }

    /// The compact form of a span, when it has one.
    fn compact(&mut self, span: &Span) -> Option<CompactSpan> {
        let attempt = &span.attempt_id;
        if span.rollout_id != attempt.rollout
            || span.span_id != SpanId::new(attempt, span.sequence_id)
        {
            return None;
        }
        let kind = match &span.attributes.0 {
            AttrRepr::Execution(e)
                if span.name == EXECUTE_SPAN
                    && e.attempt == *attempt
                    && e.rollout == span.rollout_id =>
            {
                let worker = match self.workers.iter().position(|w| *w == e.worker) {
                    Some(i) => i,
                    None => {
                        self.workers.push(e.worker.clone());
                        self.workers.len() - 1
                    }
                };
                CompactKind::Execute {
                    worker: worker as u32,
                    succeeded: e.status == EXECUTION_STATUSES[0],
                }
            }
            AttrRepr::Reward { name, value } if span.name == REWARD_SPAN => CompactKind::Reward {
                name: self.name_number(name),
                value: *value,
            },
            _ => return None,
        };
        Some(CompactSpan {
            rollout: span.rollout_id.clone(),
            attempt: attempt.number,
            sequence: span.sequence_id,
            start: nanos(span.start)?,
            end: nanos(span.end)?,
            kind,
        })
    }

    /// The number of a reward name, numbering it if new. Takes the `Cow` to
    /// keep the runner's static names as they are, without a copy.
    #[allow(clippy::ptr_arg)]
    fn name_number(&mut self, name: &Cow<'static, str>) -> u32 {
        let known = if self.names.len() <= NAMES_SCANNED {
            self.names.iter().position(|n| n == name)
        } else {
            self.name_numbers.get(name.as_ref()).map(|&i| i as usize)
        };
        if let Some(i) = known {
            return i as u32;
        }
        let i = self.names.len() as u32;
        self.names.push(name.clone());
        if self.names.len() > NAMES_SCANNED {
            if self.name_numbers.is_empty() {
                let numbered = self.names.iter().enumerate();
                self.name_numbers = numbered.map(|(i, n)| (n.clone(), i as u32)).collect();
            } else {
                self.name_numbers.insert(name.clone(), i);
            }
        }
        i
    }

    fn view(&self, i: u32) -> SpanView<'_> {
        SpanView {
            store: self,
            record: &self.records[i as usize],
        }
    }

    /// Every span, in the order persisted (a plain copy of the store, built
    /// the first time).
    pub fn all(&self) -> &[Span] {
        self.plain
            .get_or_init(|| self.views().map(|v| v.to_span()).collect())
    }

    /// Every span, in the order persisted, read in place.
    pub fn views(&self) -> impl ExactSizeIterator<Item = SpanView<'_>> {
        self.records.iter().map(|record| SpanView {
            store: self,
            record,
        })
    }

    /// How many spans are stored.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn index(&self) -> &[u32] {
        self.by_attempt.get_or_init(|| {
            let mut order: Vec<u32> = (0..self.records.len() as u32).collect();
            order.sort_by(|&a, &b| {
                let (a, b) = (self.view(a), self.view(b));
                a.attempt_key()
                    .cmp(&b.attempt_key())
                    .then(a.sequence_id().cmp(&b.sequence_id()))
            });
            order
        })
    }

    /// Where one attempt's spans are in the index.
    fn range_of(&self, attempt: &AttemptId) -> std::ops::Range<usize> {
        let index = self.index();
        let key = (&attempt.rollout, attempt.number);
        let start = index.partition_point(|&i| self.view(i).attempt_key() < key);
        let len = index[start..].partition_point(|&i| self.view(i).attempt_key() == key);
        start..start + len
    }

    /// The spans of one attempt, in sequence order, read in place.
    fn of_attempt(&self, attempt: &AttemptId) -> AttemptSpans<'_> {
        let range = self.range_of(attempt);
        AttemptSpans {
            store: self,
            index: self.index()[range].iter(),
        }
    }

    /// Every attempt that has spans, in id order, each with its spans in
    /// sequence order: one pass over the store.
    pub fn by_attempt(&self) -> impl Iterator<Item = (AttemptId, AttemptSpans<'_>)> {
        self.index()
            .chunk_by(move |&a, &b| self.view(a).attempt_key() == self.view(b).attempt_key())
            .map(move |group| {
                (
                    self.view(group[0]).attempt(),
                    AttemptSpans {
                        store: self,
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
        let plain = self.all();
        self.index()[self.range_of(attempt)]
            .iter()
            .map(|&i| &plain[i as usize])
            .collect()
    }

    /// The names of one attempt's spans, in sequence order.
    pub fn names(&self, attempt: &AttemptId) -> Vec<String> {
        self.of_attempt(attempt)
            .map(|s| s.name().to_string())
            .collect()
    }

    /// The spans of every attempt of a rollout, by attempt then sequence.
    pub fn rollout(&self, rollout: &RolloutId) -> Vec<&Span> {
        let plain = self.all();
        let index = self.index();
        let start = index.partition_point(|&i| self.view(i).attempt_key().0 < rollout);
        index[start..]
            .iter()
            .take_while(|&&i| self.view(i).attempt_key().0 == rollout)
            .map(|&i| &plain[i as usize])
            .collect()
    }

    /// The spans of one attempt with a given name.
    pub fn named(&self, attempt: &AttemptId, name: &str) -> Vec<&Span> {
        self.attempt(attempt)
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// The `reward.emit` spans of one attempt for a reward name.
    pub fn rewards(&self, attempt: &AttemptId, reward: &str) -> Vec<Reward> {
        rewards_named(self.of_attempt(attempt), reward)
    }

    /// True when the attempt has spans.
    pub fn has_attempt(&self, attempt: &AttemptId) -> bool {
        !self.range_of(attempt).is_empty()
    }

    /// Every attempt that has spans, in id order.
    pub fn attempts(&self) -> impl Iterator<Item = AttemptId> + '_ {
        self.by_attempt().map(|(attempt, _)| attempt)
    }
}

/// One persisted span, read where the store keeps it.
#[derive(Debug, Clone, Copy)]
pub struct SpanView<'a> {
    store: &'a SpanStore,
    record: &'a Record,
}

impl<'a> SpanView<'a> {
    /// Its attempt, as `(rollout, number)`: [`AttemptId`]'s order.
    fn attempt_key(&self) -> (&'a RolloutId, u32) {
        match self.record {
            Record::Compact(c) => (&c.rollout, c.attempt),
            Record::Full(s) => (&s.attempt_id.rollout, s.attempt_id.number),
        }
    }

    /// The attempt it belongs to.
    pub fn attempt(&self) -> AttemptId {
        let (rollout, number) = self.attempt_key();
        AttemptId::new(rollout.clone(), number)
    }

    /// Its sequence id.
    pub fn sequence_id(&self) -> u32 {
        match self.record {
            Record::Compact(c) => c.sequence,
            Record::Full(s) => s.sequence_id,
        }
    }

    /// Its name.
    pub fn name(&self) -> &'a str {
        match self.record {
            Record::Compact(CompactSpan {
                kind: CompactKind::Execute { .. },
                ..
            }) => EXECUTE_SPAN,
            Record::Compact(_) => REWARD_SPAN,
            Record::Full(s) => &s.name,
        }
    }

    /// For a `reward.emit` span, its reward's name and value, as
    /// [`Span::reward`] reads them.
    pub fn reward(&self) -> Option<(&'a str, f64)> {
        match self.record {
            Record::Compact(CompactSpan {
                kind: CompactKind::Reward { name, value },
                ..
            }) => Some((&self.store.names[*name as usize], read_back(*value)?)),
            Record::Compact(_) => None,
            Record::Full(s) => s.reward_ref(),
        }
    }

    /// The span itself.
    pub fn to_span(&self) -> Span {
        let c = match self.record {
            Record::Full(s) => return (**s).clone(),
            Record::Compact(c) => c,
        };
        let attempt = AttemptId::new(c.rollout.clone(), c.attempt);
        let (name, attributes) = match c.kind {
            CompactKind::Execute { worker, succeeded } => (
                EXECUTE_SPAN,
                Attributes::execution(
                    &attempt,
                    &c.rollout,
                    EXECUTION_STATUSES[usize::from(!succeeded)],
                    &self.store.workers[worker as usize],
                ),
            ),
            CompactKind::Reward { name, value } => (
                REWARD_SPAN,
                Attributes(AttrRepr::Reward {
                    name: self.store.names[name as usize].clone(),
                    value,
                }),
            ),
        };
        Span {
            rollout_id: c.rollout.clone(),
            span_id: SpanId::new(&attempt, c.sequence),
            attempt_id: attempt,
            sequence_id: c.sequence,
            name: name.to_string(),
            start: Duration::from_nanos(c.start),
            end: Duration::from_nanos(c.end),
            attributes,
        }
    }
}

/// The spans of one attempt, in sequence order ([`SpanStore::by_attempt`]).
#[derive(Debug, Clone)]
pub struct AttemptSpans<'a> {
    store: &'a SpanStore,
    index: std::slice::Iter<'a, u32>,
}

impl<'a> Iterator for AttemptSpans<'a> {
    type Item = SpanView<'a>;

    fn next(&mut self) -> Option<SpanView<'a>> {
        self.index.next().map(|&i| self.store.view(i))
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
        let key = (&attempt.rollout, attempt.number);
        let at = |pos: usize| store.view(index[pos]).attempt_key();
        let start = if self.next < index.len() && at(self.next) == key {
            self.next
        } else {
            store.range_of(attempt).start
        };
        let mut end = start;
        while end < index.len() && at(end) == key {
            end += 1;
        }
        self.next = end;
        AttemptSpans {
            store,
            index: index[start..end].iter(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock that stays at its epoch: these tests look at spans, not time.
    #[derive(Debug, Clone, Copy)]
    struct StillClock;

    impl Clock for StillClock {
        fn now(&self) -> std::time::Duration {
            std::time::Duration::ZERO
        }
        fn sleep_until(
            &self,
            _deadline: std::time::Duration,
        ) -> impl std::future::Future<Output = ()> {
            std::future::ready(())
        }
    }

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
    fn reward_values_read_back_as_their_json() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -3.5,
            35.0,
            1e300,
            -1e-300,
            9_007_199_254_740_993.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let json = json_number(v).as_f64();
            assert_eq!(
                read_back(v).map(f64::to_bits),
                json.map(f64::to_bits),
                "{v}"
            );
        }
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
        let clock = StillClock;
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
            .map(|(a, spans)| (a.to_string(), spans.map(|s| s.sequence_id()).collect()))
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
            let found: Vec<u32> = lookup.attempt(&a).map(|s| s.sequence_id()).collect();
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
    fn stored_spans_read_back_exactly() {
        let clock = StillClock;
        let attempt = AttemptId::new(RolloutId::new("r7"), 3);
        let worker = WorkerId::new("worker-2");
        let mut tracer = Tracer::new(clock, attempt.clone());
        let span = tracer.start(EXECUTE_SPAN);
        tracer.end(
            span,
            Attributes::execution(&attempt, &attempt.rollout, "failed", &worker),
        );
        for (name, value) in [("a", 1.5), (EXECUTION_SUCCESS, 0.0), ("a", f64::NAN)] {
            tracer.emit_reward(&Reward::new(name, value));
        }
        let mut given = tracer.finish();
        // Spans the compact form does not cover stay as they are.
        let mut odd = given[1].clone();
        odd.span_id = "custom".into();
        given.push(odd);
        let mut other = given[0].clone();
        other.name = "custom.op".into();
        other.sequence_id = 9;
        other.attributes = Attributes::from_iter([("k".to_string(), Value::from(1))]);
        given.push(other);
        let mut exec = given[0].clone();
        exec.attributes =
            Attributes::execution(&attempt, &RolloutId::new("elsewhere"), "succeeded", &worker);
        given.push(exec);
        let mut store = SpanStore::new();
        store.extend(given.clone());
        let compact = store
            .records
            .iter()
            .filter(|r| matches!(r, Record::Compact(_)))
            .count();
        assert_eq!(compact, 4);
        assert_eq!(store.all(), given.as_slice());
        let views: Vec<Span> = store.views().map(|v| v.to_span()).collect();
        assert_eq!(views, given);
        for (view, span) in store.views().zip(&given) {
            assert_eq!(view.name(), span.name);
            assert_eq!(view.sequence_id(), span.sequence_id);
            assert_eq!(
                view.reward().map(|(n, v)| (n.to_string(), v.to_bits())),
                span.reward().map(|r| (r.name, r.value.to_bits()))
            );
        }
        assert_eq!(
            store.names(&attempt),
            // By sequence id; the copy of span 1 after it, as persisted.
            [
                EXECUTE_SPAN,
                EXECUTE_SPAN,
                REWARD_SPAN,
                REWARD_SPAN,
                REWARD_SPAN,
                REWARD_SPAN,
                "custom.op"
            ]
        );
        assert_eq!(store.rewards(&attempt, "a").len(), 2);
        assert_eq!(store.named(&attempt, EXECUTE_SPAN).len(), 2);
        assert!(
            std::mem::size_of::<Record>() <= 56,
            "{}",
            std::mem::size_of::<Record>()
        );
    }

    #[test]
    fn integral_rewards_are_json_integers() {
        assert_eq!(json_number(35.0).to_string(), "35");
        assert_eq!(json_number(0.5).to_string(), "0.5");
        assert_eq!(json_number(f64::NAN), Value::Null);
    }
}
