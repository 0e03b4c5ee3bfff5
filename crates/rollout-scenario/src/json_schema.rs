//! The JSON Schema of the scenario format ([`json_schema`], which
//! `rollout-sim schema` prints), for editors.
//!
//! Derived from the serde types of [`super::schema`] with schemars, so it
//! cannot drift from what the loader accepts; the impls here describe the
//! types whose `Deserialize` is written by hand, each exactly the forms it
//! accepts. It checks structure and types (unknown keys, wrong types,
//! malformed durations, known statuses and invariant names); the semantic
//! checks (unique ids, known references, limits) stay with the loader and
//! its located errors.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::duration::Dur;
use super::schema::{
    AttemptExpect, FailSpec, InvariantsSpec, OrderedMap, RewardExpect, RolloutExpect, ScenarioFile,
    ScriptSpec, SpansExpect, StepSpec, StopWhenSpec, WorkersSpec,
};
use rollout_core::RolloutStatus;
use rollout_simulator::Invariant;

/// Where the schema is published, for `$id` and editor settings.
pub const SCHEMA_ID: &str = "https://rollout-sim.dev/schema/scenario.json";

/// The JSON Schema (draft 2020-12) of a scenario file.
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(ScenarioFile).to_value();
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

/// A duration string: `5ms`, `1.5s`, `2m`, `1h`, `7d` (whole milliseconds).
pub const DURATION_PATTERN: &str = r"^\s*[0-9]+(\.[0-9]+)?\s*(ns|us|µs|ms|s|m|min|h|d)\s*$";

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

impl JsonSchema for WorkersSpec {
    fn schema_name() -> Cow<'static, str> {
        "Workers".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A worker count (worker-1 to worker-N) or a list of worker ids.",
            "oneOf": [
                { "type": "integer", "minimum": 1, "maximum": 1024 },
                { "type": "array", "items": { "type": "string", "minLength": 1 }, "minItems": 1, "maxItems": 1024 }
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
            "additionalProperties": values
        })
    }
}

impl JsonSchema for ScriptSpec {
    fn schema_name() -> Cow<'static, str> {
        "Script".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let step = generator.subschema_for::<StepSpec>();
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
}

impl JsonSchema for FailSpec {
    fn schema_name() -> Cow<'static, str> {
        "Fail".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Fail the next N calls: a count, or { times, message }.",
            "oneOf": [
                { "type": "integer", "minimum": 0, "maximum": u32::MAX },
                {
                    "type": "object",
                    "properties": {
                        "times": { "type": "integer", "minimum": 0, "maximum": u32::MAX },
                        "message": { "type": ["string", "null"] }
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
        let duration = generator.subschema_for::<Dur>();
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

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let statuses: Vec<&str> = RolloutStatus::ALL.iter().map(|s| s.as_str()).collect();
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
                        "error": { "type": "string" }
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

impl JsonSchema for InvariantsSpec {
    fn schema_name() -> Cow<'static, str> {
        "Invariants".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names = Invariant::ALL.map(Invariant::name);
        json_schema!({
            "description": "`all` (the default), or a list of built-in invariant names (`[]` for none).",
            "oneOf": [
                { "const": "all" },
                { "type": "array", "items": { "enum": names } }
            ]
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

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The exact span names in sequence order, or { contains: [names] }.",
            "oneOf": [
                { "type": "array", "items": { "type": "string" } },
                {
                    "type": "object",
                    "properties": {
                        "contains": { "type": "array", "items": { "type": "string" } }
                    },
                    "required": ["contains"],
                    "additionalProperties": false
                }
            ]
        })
    }
}
