//! The JSON Schema of the scenario format ([`json_schema`], which
//! `rollout-sim schema` prints), for editors.
//!
//! The schema is derived from the serde types of [`super::schema`] with
//! schemars, so it cannot drift from the keys the loader accepts, and it
//! is made as strict as the loader wherever JSON Schema can say what the
//! loader checks. It refuses only what the loader refuses (an editor must
//! never underline a file that runs), so the checks it cannot express
//! exactly are left out rather than approximated from the strict side:
//!
//! - structure: unknown keys (`additionalProperties: false` on every
//!   mapping the loader closes), wrong types, required keys, and no `null`
//!   for an optional key (the loader takes a key left out, never `key: ~`;
//!   only `input` and `output` take any value);
//! - values: numeric ranges (rates in [0, 1], counts, `max_attempts` from
//!   1), non-empty lists (`rollouts`, `attempts`), durations by pattern
//!   (unit, whole milliseconds, greater than 0 where a zero is refused),
//!   known statuses, invariant and goal names, and texts without control
//!   or bidirectional characters, within the length limits (counted in
//!   characters: the loader counts bytes, so a long non-ASCII text is left
//!   to it);
//! - shapes the loader insists on: a rollout entry with exactly one of
//!   `id` or `generate`, a fault step with exactly one of `fail`, `pass`
//!   or `empty` (`empty` in dequeue scripts only), a timed fault with `at`
//!   and exactly one action (`for` only on what lasts), a `sometimes` goal
//!   with a condition.
//!
//! What needs the whole file or arithmetic (unique ids, known references,
//! `max >= min`, sums of rates, what the stop rule makes impossible) stays
//! with the loader and its located errors; `tests/schema.rs` lists which
//! files of `tests/broken/` the schema refuses and why the others pass it.
//!
//! The helper types below ([`Positive`], [`Name`], ...) exist only for the
//! schema: fields of [`super::schema`] name them with `#[schemars(with)]`
//! when their Rust type says less than the loader checks.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value};

use super::duration::Dur;
use super::limits::{MAX_MESSAGE_LEN, MAX_NAME_LEN, MAX_ROLLOUTS, MAX_WORKERS};
use super::schema::{
    AttemptExpect, FailSpec, InvariantsSpec, OrderedMap, RewardExpect, RolloutExpect, ScenarioFile,
    ScriptSpec, SpansExpect, StepSpec, StopWhenSpec, WorkersSpec,
};
use rollout_core::RolloutStatus;
use rollout_simulator::{Goal, Invariant};

/// Where the schema is published, for `$id` and editor settings.
pub const SCHEMA_ID: &str = "https://rollout-sim.dev/schema/scenario.json";

/// The JSON Schema (draft 2020-12) of a scenario file.
pub fn json_schema() -> Value {
    let mut schema = schemars::schema_for!(ScenarioFile).to_value();
    strip_optional_nulls(&mut schema);
    if let Some(object) = schema.as_object_mut() {
        object.insert("$id".into(), SCHEMA_ID.into());
        object.insert("title".into(), "rollout-sim scenario".into());
        object.insert(
            "description".into(),
            "A rollout-sim scenario file: the runner's config, workers, rollouts, faults, a stop rule and expectations (DESIGN §2)."
                .into(),
        );
    }
    schema
}

/// Removes the `null` schemars allows for every `Option` field: the loader
/// refuses `key: ~` (`schema::present`), so an optional key is one left
/// out. `input` and `output` keep taking anything (their schema is `true`).
fn strip_optional_nulls(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get_mut("properties") {
                for property in properties.values_mut() {
                    drop_null(property);
                }
            }
            for child in object.values_mut() {
                strip_optional_nulls(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_optional_nulls),
        _ => {}
    }
}

/// `{ anyOf: [X, { type: null }] }` becomes X (beside the property's
/// description), `type: [T, "null"]` becomes T, and `default: null` goes:
/// an editor would insert it.
fn drop_null(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.get("default") == Some(&Value::Null) {
        object.remove("default");
    }
    let null = serde_json::json!({ "type": "null" });
    if let Some(Value::Array(any_of)) = object.get("anyOf")
        && any_of.len() == 2
        && any_of[1] == null
        && let Value::Object(kept) = any_of[0].clone()
    {
        object.remove("anyOf");
        for (key, value) in kept {
            object.entry(key).or_insert(value);
        }
    }
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            object.insert("type".into(), only);
        }
    }
}

/// The characters the loader refuses in every id, name and message
/// ([`crate::is_hidden_char`]): C0, DEL and C1 controls and the Unicode
/// bidirectional formatting characters.
const HIDDEN: &str = r"\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069";

/// The white space Rust's `str::trim` removes that is not already
/// [`HIDDEN`]: a text of only these is empty to the loader.
const BLANK: &str = r" \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// A text without hidden characters.
fn plain_pattern() -> String {
    format!("^[^{HIDDEN}]*$")
}

/// A text without hidden characters and not blank.
fn not_blank_pattern() -> String {
    format!("^[^{HIDDEN}]*[^{HIDDEN}{BLANK}][^{HIDDEN}]*$")
}

/// A duration string: `5ms`, `1.5s`, `2m`, `1h`, `7d`, and `ns`/`us` when
/// they come to whole milliseconds. The loader's timers count whole
/// milliseconds: `250us` and `1.0005s` are refused, by the pattern for
/// `ns`, `us`, `ms` and `s`; a fraction of a minute, hour or day that is
/// not whole milliseconds is left to the loader.
pub const DURATION_PATTERN: &str = concat!(
    r"^\s*(",
    r"(0+|[0-9]*000000)(\.0+)?\s*ns",
    r"|(0+|[0-9]*000)(\.0+)?\s*(us|µs)",
    r"|[0-9]{1,15}(\.0{1,9})?\s*ms",
    r"|[0-9]{1,15}(\.[0-9]{0,2}[0-9]0{0,6})?\s*s",
    r"|[0-9]{1,15}(\.[0-9]{1,9})?\s*(m|min|h|d)",
    r")\s*$"
);

/// A duration of zero, in any unit.
const ZERO_DURATION_PATTERN: &str = r"^\s*0+(\.0+)?\s*(ns|us|µs|ms|s|m|min|h|d)\s*$";

/// A type that exists only for its JSON Schema, named `$name` in the
/// document: a restriction of a plain value that the serde types read as
/// `String`, `u32` or `f64` (fields point at it with `#[schemars(with)]`).
macro_rules! schema_only {
    ($(#[$doc:meta])* $ty:ident, $name:literal, |$generator:pat_param| $body:block) => {
        $(#[$doc])*
        pub(crate) struct $ty;

        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }

            fn json_schema($generator: &mut SchemaGenerator) -> Schema $body
        }
    };
}

impl JsonSchema for Dur {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration with a unit, in whole milliseconds: 5ms, 1.5s, 2m, 1h, 7d. Bare numbers are refused.",
            "type": "string",
            "pattern": DURATION_PATTERN,
            "examples": ["5ms", "1.5s", "2m"]
        })
    }
}

schema_only! {
    /// A duration greater than 0: the timers, `for`, `every`, `stop.within`.
    Positive, "PositiveDuration", |generator| {
        let duration = generator.subschema_for::<Dur>();
        json_schema!({
            "description": "A duration greater than 0, with a unit: 5ms, 1.5s, 2m.",
            "allOf": [duration],
            "not": { "type": "string", "pattern": ZERO_DURATION_PATTERN }
        })
    }
}

schema_only! {
    /// An id or a name: not blank, at most [`MAX_NAME_LEN`], no hidden
    /// characters.
    Name, "Name", |_| {
        json_schema!({
            "description": "An id or name: not blank, at most 128 bytes, no control or bidirectional formatting characters.",
            "type": "string",
            "maxLength": MAX_NAME_LEN,
            "pattern": not_blank_pattern()
        })
    }
}

schema_only! {
    /// A rollout id: a [`Name`], neither `*` nor holding `:attempt-`, which
    /// expectations use for every rollout and for attempts.
    RolloutIdText, "RolloutId", |generator| {
        let name = generator.subschema_for::<Name>();
        json_schema!({
            "description": "A rollout id, unique in the file; not `*` and without `:attempt-` (reserved by expectations).",
            "allOf": [name],
            "not": { "anyOf": [{ "const": "*" }, { "pattern": ":attempt-" }] }
        })
    }
}

schema_only! {
    /// `generate.prefix`: like a [`Name`], but may be empty.
    Prefix, "IdPrefix", |_| {
        json_schema!({
            "type": "string",
            "maxLength": MAX_NAME_LEN,
            "pattern": plain_pattern()
        })
    }
}

schema_only! {
    /// A fault or executor error message: at most [`MAX_MESSAGE_LEN`], no
    /// hidden characters.
    Message, "Message", |_| {
        json_schema!({
            "description": "A message: at most 256 bytes, no control or bidirectional formatting characters.",
            "type": "string",
            "maxLength": MAX_MESSAGE_LEN,
            "pattern": plain_pattern()
        })
    }
}

schema_only! {
    /// The scenario's `name`: not blank, no hidden characters, no limit.
    Title, "Title", |_| {
        json_schema!({
            "type": "string",
            "pattern": not_blank_pattern()
        })
    }
}

schema_only! {
    /// The `description`: line feeds and tabs, but no other hidden character.
    Prose, "Prose", |_| {
        let hidden_but_lines =
            r"\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069";
        json_schema!({
            "type": "string",
            "pattern": format!("^[^{hidden_but_lines}]*$")
        })
    }
}

schema_only! {
    /// A probability, in [0, 1].
    Probability, "Probability", |_| {
        json_schema!({
            "description": "A probability, from 0 to 1: 0.1 for 10%.",
            "type": "number",
            "minimum": 0,
            "maximum": 1
        })
    }
}

schema_only! {
    /// The two different hosts of a link: `queue` or worker ids.
    HostPair, "HostPair", |_| {
        json_schema!({
            "description": "Two different hosts: `queue` or worker ids, such as [worker-1, queue].",
            "type": "array",
            "items": { "type": "string" },
            "minItems": 2,
            "maxItems": 2,
            "uniqueItems": true
        })
    }
}

schema_only! {
    /// `faults.random.heartbeat`, `flush`, `complete`: only a `fail_rate`
    /// (only dequeue comes back empty).
    FailRateOnly, "FailRate", |generator| {
        let probability = generator.subschema_for::<Probability>();
        json_schema!({
            "description": "The rate at which calls fail (`empty_rate` is for dequeue).",
            "type": "object",
            "properties": { "fail_rate": probability },
            "additionalProperties": false
        })
    }
}

schema_only! {
    /// A script of dequeue calls: the only one with `empty` steps.
    DequeueScript, "DequeueScript", |generator| {
        let steps = [
            step(generator, "fail"),
            step(generator, "pass"),
            step(generator, "empty"),
        ];
        script(steps.into(), "`fail`, `pass` or `empty`")
    }
}

impl JsonSchema for ScriptSpec {
    fn schema_name() -> Cow<'static, str> {
        "Script".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let steps = [step(generator, "fail"), step(generator, "pass")];
        script(steps.into(), "`fail` or `pass` (`empty` is for dequeue)")
    }
}

/// The step `{ kind: ... }` alone.
fn step(generator: &mut SchemaGenerator, kind: &str) -> Value {
    let value = match kind {
        "fail" => generator.subschema_for::<FailSpec>().to_value(),
        _ => serde_json::json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX }),
    };
    let mut properties = Map::new();
    properties.insert(kind.into(), value);
    serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": [kind],
        "additionalProperties": false
    })
}

/// A script of the given steps: shared, or per worker.
fn script(steps: Vec<Value>, kinds: &str) -> Schema {
    let step = serde_json::json!({
        "description": format!("One step: exactly one of {kinds}."),
        "oneOf": steps
    });
    json_schema!({
        "description": "A list of steps shared by all workers in call order, or a mapping from worker id to such a list. After the last step, calls pass.",
        "oneOf": [
            { "type": "array", "items": step },
            {
                "type": "object",
                "propertyNames": { "not": { "enum": ["fail", "pass", "empty"] } },
                "additionalProperties": { "type": "array", "items": step }
            }
        ]
    })
}

impl JsonSchema for StepSpec {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let steps = vec![
            step(generator, "fail"),
            step(generator, "pass"),
            step(generator, "empty"),
        ];
        json_schema!({ "oneOf": steps })
    }
}

impl JsonSchema for WorkersSpec {
    fn schema_name() -> Cow<'static, str> {
        "Workers".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let name = generator.subschema_for::<Name>();
        let duration = generator.subschema_for::<Dur>();
        let runner = generator.subschema_for::<super::schema::RunnerSection>();
        json_schema!({
            "description": "A worker count (worker-1 to worker-N), or a list of unique worker ids or { id, start_at, runner }.",
            "oneOf": [
                { "type": "integer", "minimum": 1, "maximum": MAX_WORKERS },
                {
                    "type": "array",
                    "items": { "oneOf": [
                        name,
                        {
                            "type": "object",
                            "properties": {
                                "id": name,
                                "start_at": duration,
                                "runner": runner
                            },
                            "required": ["id"],
                            "additionalProperties": false
                        }
                    ] },
                    "minItems": 1,
                    "maxItems": MAX_WORKERS,
                    "uniqueItems": true
                }
            ]
        })
    }
}

impl<V: JsonSchema> JsonSchema for OrderedMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let values = generator.subschema_for::<V>();
        json_schema!({
            "type": "object",
            "propertyNames": { "maxLength": MAX_NAME_LEN, "pattern": plain_pattern() },
            "additionalProperties": values
        })
    }
}

impl JsonSchema for FailSpec {
    fn schema_name() -> Cow<'static, str> {
        "Fail".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let message = generator.subschema_for::<Message>();
        json_schema!({
            "description": "Fail the next N calls: a count, or { times, message }.",
            "oneOf": [
                { "type": "integer", "minimum": 0, "maximum": u32::MAX },
                {
                    "type": "object",
                    "properties": {
                        "times": { "type": "integer", "minimum": 0, "maximum": u32::MAX },
                        "message": message
                    },
                    "required": ["times"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl JsonSchema for StopWhenSpec {
    fn schema_name() -> Cow<'static, str> {
        "StopWhen".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let duration = generator.subschema_for::<Positive>();
        json_schema!({
            "description": "`all_terminal` (every rollout succeeded, failed or cancelled), or { at: 2s } to run a fixed span of virtual time.",
            "oneOf": [
                { "const": "all_terminal" },
                {
                    "type": "object",
                    "properties": { "at": duration },
                    "required": ["at"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl JsonSchema for RolloutExpect {
    fn schema_name() -> Cow<'static, str> {
        "RolloutExpectation".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let statuses: Vec<&str> = RolloutStatus::ALL.iter().map(|s| s.as_str()).collect();
        let message = generator.subschema_for::<Message>();
        json_schema!({
            "description": "A final status, or { status, attempts, worker, error }.",
            "oneOf": [
                { "enum": statuses },
                {
                    "type": "object",
                    "properties": {
                        "status": { "enum": statuses },
                        "attempts": { "type": "integer", "minimum": 0, "maximum": u32::MAX },
                        "worker": { "type": "string" },
                        "error": message
                    },
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl JsonSchema for RewardExpect {
    fn schema_name() -> Cow<'static, str> {
        "RewardExpectation".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An exact value, or { between: [low, high] }.",
            "oneOf": [
                { "type": "number" },
                {
                    "type": "object",
                    "properties": {
                        "between": {
                            "type": "array",
                            "items": { "type": "number" },
                            "minItems": 2,
                            "maxItems": 2
                        }
                    },
                    "required": ["between"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

schema_only! {
    /// A built-in invariant's name.
    InvariantName, "InvariantName", |_| {
        let names = Invariant::ALL.map(Invariant::name);
        json_schema!({ "enum": names })
    }
}

schema_only! {
    /// A built-in coverage goal's name.
    GoalName, "GoalName", |_| {
        let names = Goal::ALL.map(Goal::name);
        json_schema!({ "enum": names })
    }
}

schema_only! {
    /// `expect.sometimes`: goals of the scenario's own, named apart from the
    /// built-in ones.
    SometimesGoals, "SometimesGoals", |generator| {
        let goal = generator.subschema_for::<super::schema::SometimesSpec>();
        let builtin = Goal::ALL.map(Goal::name);
        json_schema!({
            "type": "object",
            "propertyNames": {
                "maxLength": MAX_NAME_LEN,
                "pattern": plain_pattern(),
                "not": { "enum": builtin }
            },
            "additionalProperties": goal
        })
    }
}

impl JsonSchema for InvariantsSpec {
    fn schema_name() -> Cow<'static, str> {
        "Invariants".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let name = generator.subschema_for::<InvariantName>();
        json_schema!({
            "description": "`all` (the default), or a list of built-in invariant names (`[]` for none).",
            "oneOf": [
                { "const": "all" },
                { "type": "array", "items": name }
            ]
        })
    }
}

/// Container transform of the whole file: what one section rules out in
/// another, where it takes no arithmetic.
///
/// - `stop.when: all_terminal` (the default) passes only runs that end with
///   every rollout terminal: no other status can be expected; stopping at
///   a time, the `all-terminal` invariant would check nothing.
/// - `stop.recover_within` and the `liveness` invariant need
///   `faults.heal_at`.
/// - `engine: virtual` and `engine: tokio` run no network fault.
/// - `seeds` replaces `seed`: not both.
pub(crate) fn scenario_file(schema: &mut Schema) {
    schema.insert(
        "dependentSchemas".into(),
        serde_json::json!({ "seeds": { "not": { "required": ["seed"] } } }),
    );
    let terminal: Vec<&str> = RolloutStatus::ALL
        .iter()
        .filter(|s| s.is_terminal())
        .map(|s| s.as_str())
        .collect();
    let names_none_of = |name: &str| serde_json::json!({ "not": { "type": "array", "contains": { "const": name } } });
    let network_actions = [
        "partition",
        "repair",
        "hold",
        "release",
        "bounce",
        "latency",
    ];
    schema.insert(
        "allOf".into(),
        serde_json::json!([
            {
                "if": {
                    "properties": { "stop": { "properties": { "when": { "type": "object" } }, "required": ["when"] } },
                    "required": ["stop"]
                },
                "then": {
                    "properties": { "expect": { "properties": { "invariants": names_none_of("all-terminal") } } }
                },
                "else": {
                    "properties": { "expect": { "properties": { "rollouts": {
                        "additionalProperties": {
                            "anyOf": [
                                { "enum": terminal },
                                { "type": "object", "properties": { "status": { "enum": terminal } } }
                            ]
                        }
                    } } } }
                }
            },
            {
                "if": {
                    "properties": { "faults": { "required": ["heal_at"] } },
                    "required": ["faults"]
                },
                "else": {
                    "properties": {
                        "stop": { "not": { "required": ["recover_within"] } },
                        "expect": {
                            "properties": {
                                "invariants": names_none_of("liveness"),
                                "violated": names_none_of("liveness")
                            }
                        }
                    }
                }
            },
            {
                "if": {
                    "properties": { "engine": { "enum": ["virtual", "tokio"] } },
                    "required": ["engine"]
                },
                "then": {
                    "properties": {
                        "faults": {
                            "properties": {
                                "network": false,
                                "at": { "items": { "propertyNames": { "not": { "enum": network_actions } } } }
                            }
                        },
                        "swarm": { "properties": { "network": false } }
                    }
                }
            }
        ]),
    );
}

/// Container transform of a rollout entry: exactly one of `id` and
/// `generate`, and with `generate` nothing beside it.
pub(crate) fn rollout_entry(schema: &mut Schema) {
    let single = serde_json::json!({
        "required": ["id"],
        "not": { "required": ["generate"] }
    });
    let batch = serde_json::json!({
        "required": ["generate"],
        "propertyNames": { "const": "generate" }
    });
    schema.insert("oneOf".into(), Value::Array(vec![single, batch]));
}

/// Container transform of `run` and `attempts` entries: an `error` only on
/// a run written `result: failed` or with no result, `rewards` never on a
/// failed one.
pub(crate) fn run_spec(schema: &mut Schema) {
    schema.insert(
        "allOf".into(),
        serde_json::json!([
            {
                "if": { "properties": { "result": { "const": "succeeded" } }, "required": ["result"] },
                "then": { "not": { "required": ["error"] } }
            },
            {
                "if": { "properties": { "result": { "const": "failed" } }, "required": ["result"] },
                "then": { "not": { "required": ["rewards"] } }
            }
        ]),
    );
}

/// Container transform of a `faults.at` entry: `at` and exactly one
/// action; `for` only on a partition, a hold or a latency.
pub(crate) fn at_event(schema: &mut Schema) {
    let actions = [
        "crash",
        "restart",
        "partition",
        "repair",
        "hold",
        "release",
        "bounce",
        "latency",
    ];
    let one_of: Vec<Value> = actions
        .iter()
        .map(|a| serde_json::json!({ "required": [a] }))
        .collect();
    schema.insert("required".into(), serde_json::json!(["at"]));
    schema.insert("oneOf".into(), Value::Array(one_of));
    schema.insert(
        "dependentSchemas".into(),
        serde_json::json!({
            "for": {
                "anyOf": [
                    { "required": ["partition"] },
                    { "required": ["hold"] },
                    { "required": ["latency"] }
                ]
            }
        }),
    );
}

/// Container transform of a `sometimes` goal: a condition that says
/// something (a goal without one would be reached by every run).
pub(crate) fn sometimes_goal(schema: &mut Schema) {
    let any: Vec<Value> = ["rollouts", "rewards", "absent_rewards"]
        .iter()
        .map(|key| {
            serde_json::json!({
                "required": [key],
                "properties": { *key: { "minProperties": 1 } }
            })
        })
        .chain(std::iter::once(serde_json::json!({
            "required": ["goals"],
            "properties": { "goals": { "minItems": 1 } }
        })))
        .collect();
    schema.insert("anyOf".into(), Value::Array(any));
}

schema_only! {
    /// `generate.count`: from 1 to [`MAX_ROLLOUTS`].
    RolloutCount, "RolloutCount", |_| {
        json_schema!({
            "description": "How many rollouts: 1 to 1,000,000 (over the whole file).",
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_ROLLOUTS
        })
    }
}

impl JsonSchema for AttemptExpect {
    fn schema_name() -> Cow<'static, str> {
        "AttemptExpectation".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let statuses: Vec<&str> = rollout_core::AttemptStatus::USED
            .iter()
            .map(|s| s.as_str())
            .collect();
        json_schema!({
            "description": "An attempt's final status, or { status, worker }.",
            "oneOf": [
                { "enum": statuses },
                {
                    "type": "object",
                    "properties": {
                        "status": { "enum": statuses },
                        "worker": { "type": "string" }
                    },
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl JsonSchema for SpansExpect {
    fn schema_name() -> Cow<'static, str> {
        "SpansExpectation".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let name = generator.subschema_for::<Name>();
        json_schema!({
            "description": "The exact span names in sequence order, or { contains: [names] }.",
            "oneOf": [
                { "type": "array", "items": name },
                {
                    "type": "object",
                    "properties": {
                        "contains": { "type": "array", "items": name }
                    },
                    "required": ["contains"],
                    "additionalProperties": false
                }
            ]
        })
    }
}
