//! `rollout-sim schema`: the JSON Schema is as strict as the loader where
//! JSON Schema can say it, and never stricter.
//!
//! Every scenario under `scenarios/` validates. Every file of
//! `tests/broken/` (all refused by the loader: `tests/broken.rs`) is seen as
//! an editor sees it, YAML read into JSON, and falls in exactly one of three
//! lists below: not JSON at all (the YAML parser refuses it first, or it
//! holds a value JSON has no form for), refused by the schema, or passed by
//! it because only the loader's semantic checks refuse it. Probes check the
//! schema and the loader agree, value by value.
//!
//! Why each file of [`PASSES_SCHEMA`] passes (what JSON Schema cannot say):
//!
//! | file | the loader's check |
//! | --- | --- |
//! | attempt-beyond-max | attempts beyond `runner.max_attempts`: a comparison of two values |
//! | attempts-list-too-large | the estimated memory of the scripted attempts |
//! | backoff-max-below-initial | `backoff.max >= initial`: two values |
//! | contradictory-invariants | a name both in `invariants` and `violated`: two lists |
//! | duplicate-rollout-id | unique ids over single and generated rollouts (generated ids are computed) |
//! | enqueued-after-stop | a status expected of a rollout enqueued after `stop.when.at`: two durations |
//! | expectation-contradictions | `between: [1, 0]`, and `succeeded` with 0 attempts: two values |
//! | finished-at-cannot-hold | `finished_at` equal to `stop.when.at`: two values |
//! | finished-before-last-enqueue | `finished_at` after the last enqueue: durations computed from `generate` |
//! | never-happens | faults and enqueues after `stop.within`: two durations |
//! | payload-too-large | the estimated memory of the rollouts' data |
//! | reward-contradictions | one reward of one attempt expected twice, via rollout and attempt ids |
//! | rollout-payload-too-large | the estimated memory of one rollout's data |
//! | status-cannot-hold-by-stop-at | run durations against `stop.when.at` |
//! | stop-at-after-within | `stop.when.at <= stop.within`: two values |
//! | timed-faults-too-many | repeats of `every` counted until `stop.within` |
//! | unknown-attempt | attempt ids of known rollouts: a reference |
//! | unknown-rollout | rollout ids named in `expect`: a reference |
//! | unknown-worker-in-expect | worker ids named in `expect`: a reference |
//! | unknown-worker-in-faults | worker ids named in `faults`: a reference |
//! | yaml-alias-key-without-space | `*r1:` is an alias of an anchor `r1:`, which the loader's YAML screen refuses; serde_norway, as editors, reads it |
//! | yaml-deep-nesting | nesting past 64 levels, inside `input`, which takes any value |
//! | within-too-long | `stop.within` at most 7 days: a duration's value, not its form |

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use rollout_sim::scenario::{json_schema, load_str};

/// The files of `tests/broken/` that are not JSON as an editor reads them:
/// YAML syntax and structure errors (the parser refuses them before any
/// schema), or values JSON cannot hold (`.nan`, `.inf`).
const NOT_JSON: &[&str] = &[
    "duplicate-key",
    "expectation-not-finite",
    "not-utf8",
    "positions-aliases",
    "positions-cr-only",
    "reward-nan",
    "reward-not-finite",
    "yaml-alias-bomb",
    "yaml-bad-indentation",
    "yaml-recursive-alias",
    "yaml-tab-indentation",
    "yaml-two-documents",
    "yaml-unclosed-bracket",
    "yaml-unknown-anchor",
];

/// The files of `tests/broken/` the schema refuses.
const REFUSED_BY_SCHEMA: &[&str] = &[
    "attempt-expectations",
    "control-characters",
    "count-too-large",
    "duplicate-worker-id",
    "duration-bare-number",
    "duration-negative",
    "duration-sub-millisecond",
    "duration-unknown-unit",
    "duration-zero-interval",
    "duration-zero-stop",
    "empty-file",
    "key-without-value",
    "many-problems-at-once",
    "missing-field-in-section",
    "missing-name",
    "needs-turmoil-engine",
    "no-rollouts",
    "not-a-mapping",
    "not-terminal-under-all-terminal",
    "positions-byte-order-mark",
    "positions-crlf",
    "rate-out-of-range",
    "rollout-entry-id-and-generate",
    "run-result-mismatch",
    "script-not-a-list",
    "seeds-empty",
    "seeds-listed-twice",
    "spans-expectation-shape",
    "step-needs-one-kind",
    "stop-at-with-all-terminal",
    "text-too-long",
    "timed-fault-incomplete",
    "too-many-rollouts",
    "too-many-workers",
    "type-errors-in-several-sections",
    "unknown-key",
    "unknown-status-and-invariant",
    "unknown-variant",
    "worker-entries",
    "wrong-type-bool",
    "wrong-type-reward",
    "wrong-type-seed",
    "wrong-type-workers",
];

/// The files of `tests/broken/` only the loader refuses: the module's
/// table says why for each.
const PASSES_SCHEMA: &[&str] = &[
    "attempt-beyond-max",
    "attempts-list-too-large",
    "backoff-max-below-initial",
    "contradictory-invariants",
    "duplicate-rollout-id",
    "enqueued-after-stop",
    "expectation-contradictions",
    "finished-at-cannot-hold",
    "finished-before-last-enqueue",
    "never-happens",
    "payload-too-large",
    "reward-contradictions",
    "rollout-payload-too-large",
    "status-cannot-hold-by-stop-at",
    "stop-at-after-within",
    "timed-faults-too-many",
    "unknown-attempt",
    "unknown-rollout",
    "unknown-worker-in-expect",
    "unknown-worker-in-faults",
    "within-too-long",
    "yaml-alias-key-without-space",
    "yaml-deep-nesting",
];

/// YAML text as the JSON value an editor's YAML language server checks,
/// or why it has none: a YAML error, or a value JSON cannot hold.
fn yaml_text_as_json(text: &str) -> Result<serde_json::Value, String> {
    // A byte-order mark is not content (editors drop it; so does the loader).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    to_json(&yaml)
}

fn to_json(yaml: &serde_yaml::Value) -> Result<serde_json::Value, String> {
    use serde_yaml::Value as Y;
    Ok(match yaml {
        Y::Null => serde_json::Value::Null,
        Y::Bool(b) => serde_json::Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_u64() {
                i.into()
            } else if let Some(i) = n.as_i64() {
                i.into()
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)
                    .ok_or_else(|| format!("{f} has no JSON form"))?
            }
        }
        Y::String(s) => serde_json::Value::String(s.clone()),
        Y::Sequence(items) => {
            serde_json::Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Y::Mapping(map) => {
            let mut object = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s.clone(),
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("a key JSON cannot hold: {other:?}")),
                };
                object.insert(key, to_json(v)?);
            }
            serde_json::Value::Object(object)
        }
        Y::Tagged(t) => return Err(format!("a tagged value `{}`", t.tag)),
    })
}

fn yaml_as_json(path: &Path) -> Result<serde_json::Value, String> {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let text = String::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    yaml_text_as_json(&text)
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&json_schema()).expect("the schema is a valid JSON Schema")
}

fn errors(validator: &jsonschema::Validator, instance: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("at `{}`: {e}", e.instance_path()))
        .collect()
}

fn broken_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/broken exists")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_file_validates_against_the_schema() {
    let validator = validator();
    let mut failures = Vec::new();
    let files = common::scenario_files();
    assert!(!files.is_empty());
    for file in &files {
        let instance = yaml_as_json(file)
            .unwrap_or_else(|e| panic!("{} is not JSON-like: {e}", common::display(file)));
        let errors = errors(&validator, &instance);
        if !errors.is_empty() {
            failures.push(format!(
                "{}:\n  {}",
                common::display(file),
                errors.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenario files do not validate:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn the_schema_refuses_exactly_the_listed_broken_files() {
    let validator = validator();
    let (mut not_json, mut refused, mut passed) = (Vec::new(), Vec::new(), Vec::new());
    for file in broken_files() {
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 name")
            .to_string();
        match yaml_as_json(&file) {
            Err(_) => not_json.push(name),
            Ok(instance) if validator.is_valid(&instance) => passed.push(name),
            Ok(_) => refused.push(name),
        }
    }
    assert_eq!(not_json, NOT_JSON, "not JSON");
    assert_eq!(refused, REFUSED_BY_SCHEMA, "refused by the schema");
    assert_eq!(passed, PASSES_SCHEMA, "passed by the schema");
}

/// A minimal valid scenario with `extra` (YAML lines at the top level)
/// added.
fn scenario(extra: &str) -> String {
    format!("name: probe\nrollouts:\n  - id: r1\n{extra}\n")
}

/// The schema's verdict and the loader's on `text`: `true` for valid.
fn verdicts(validator: &jsonschema::Validator, text: &str) -> (bool, bool) {
    let instance = yaml_text_as_json(text).expect("a probe is JSON-like");
    let schema = validator.is_valid(&instance);
    let loader = load_str("probe.yaml", text).is_ok();
    (schema, loader)
}

#[test]
fn the_issues_examples_are_refused_by_schema_and_loader() {
    let validator = validator();
    for (what, text) in [
        (
            "fail_rate: 1.5",
            scenario("faults:\n  random:\n    dequeue: { fail_rate: 1.5 }"),
        ),
        ("rollouts: []", "name: probe\nrollouts: []\n".to_string()),
        ("fail: ~", scenario("faults:\n  dequeue: [ { fail: ~ } ]")),
    ] {
        let instance = yaml_text_as_json(&text).expect("JSON-like");
        assert!(
            !errors(&validator, &instance).is_empty(),
            "the schema passes `{what}`"
        );
        assert!(
            load_str("probe.yaml", &text).is_err(),
            "the loader takes `{what}`"
        );
    }
}

/// Where the schema and the loader must agree: each probe is a small
/// change of a valid scenario, and both take it or both refuse it.
#[test]
fn schema_and_loader_agree_on_each_probe() {
    let validator = validator();
    let probes: &[(&str, bool)] = &[
        // No null for an optional key, at every depth; any value for input
        // and output.
        ("description: ~", false),
        ("runner: { poll_interval: ~ }", false),
        ("runner: { backoff: ~ }", false),
        ("runner: { backoff: { jitter: ~ } }", false),
        ("faults: { dequeue: ~ }", false),
        ("faults: { dequeue: [ { fail: 1, pass: ~ } ] }", false),
        (
            "faults: { dequeue: [ { fail: { times: 1, message: ~ } } ] }",
            false,
        ),
        ("faults: { random: { dequeue: { fail_rate: ~ } } }", false),
        ("faults: { heal_at: ~ }", false),
        ("stop: { when: ~ }", false),
        ("expect: { rollouts: ~ }", false),
        ("expect: { rollouts: { r1: { status: ~ } } }", false),
        ("expect: { finished_at: ~ }", false),
        ("swarm: ~", false),
        ("swarm: { on: ~ }", false),
        ("faults: { at: [ { at: 5ms, crash: ~ } ] }", false),
        // Ranges.
        ("faults: { random: { dequeue: { fail_rate: 1 } } }", true),
        (
            "faults: { random: { dequeue: { fail_rate: -0.1 } } }",
            false,
        ),
        ("faults: { random: { flush: { fail_rate: 0.5 } } }", true),
        ("faults: { random: { flush: { empty_rate: 0.5 } } }", false),
        ("faults: { network: { loss_rate: 1.01 } }", false),
        ("runner: { max_attempts: 1 }", true),
        ("runner: { max_attempts: 0 }", false),
        ("workers: 0", false),
        ("workers: 1024", true),
        ("workers: 1025", false),
        ("workers: []", false),
        ("workers: [a, a]", false),
        ("workers: [a, ' ']", false),
        ("swarm: { on: 0.5, crashes: { max: 100 } }", true),
        ("swarm: { crashes: { max: 101 } }", false),
        ("swarm: { dequeue: { fail_rate: [0, 1.5] } }", false),
        // Durations: units, whole milliseconds, zero where refused.
        ("runner: { poll_interval: 1.5s }", true),
        ("runner: { poll_interval: 1.0005s }", false),
        ("runner: { poll_interval: 2000us }", true),
        ("runner: { poll_interval: 2500us }", false),
        ("runner: { poll_interval: 3000000ns }", true),
        ("runner: { poll_interval: 0.5m }", true),
        ("runner: { poll_interval: 0ms }", false),
        ("runner: { restart_after: 0ms }", true),
        ("stop: { within: 0s }", false),
        ("stop: { when: { at: 0ms } }", false),
        ("faults: { at: [ { at: 0ms, crash: worker-1 } ] }", true),
        (
            "faults: { at: [ { at: 0ms, every: 0ms, crash: worker-1 } ] }",
            false,
        ),
        // Shapes: steps, timed faults, rollout entries, runs.
        ("faults: { dequeue: [ { empty: 2 } ] }", true),
        ("faults: { heartbeat: [ { empty: 2 } ] }", false),
        ("faults: { dequeue: [ {} ] }", false),
        ("faults: { dequeue: [ { fail: 1, pass: 1 } ] }", false),
        ("faults: { at: [ { crash: worker-1 } ] }", false),
        ("faults: { at: [ { at: 5ms } ] }", false),
        (
            "faults: { at: [ { at: 5ms, crash: worker-1, restart: worker-1 } ] }",
            false,
        ),
        (
            "faults: { at: [ { at: 5ms, crash: worker-1, for: 5ms } ] }",
            false,
        ),
        (
            "engine: turmoil\nfaults: { at: [ { at: 5ms, partition: [worker-1, queue], for: 5ms } ] }",
            true,
        ),
        (
            "engine: turmoil\nfaults: { at: [ { at: 5ms, partition: [queue, queue] } ] }",
            false,
        ),
        ("  - generate: { count: 2, prefix: g- }", true),
        ("  - generate: { count: 0 }", false),
        (
            "  - { generate: { count: 2, prefix: g- }, input: 1 }",
            false,
        ),
        ("  - { id: r2, input: ~, run: { output: ~ } }", true),
        ("  - { id: r2, attempts: [] }", false),
        ("  - { id: '*' }", false),
        ("  - { id: 'x:attempt-1' }", false),
        (
            "  - { id: r2, run: { result: succeeded, error: boom } }",
            false,
        ),
        ("  - { id: r2, run: { result: failed, error: boom } }", true),
        (
            "  - { id: r2, run: { result: failed, rewards: { a: 1 } } }",
            false,
        ),
        // Names and messages.
        ("expect: { spans: { r1: [ \"a\\u202eb\" ] } }", false),
        ("description: \"two\\nlines\\tand a tab\"", true),
        ("description: \"a bell \\a\"", false),
        // Expectations.
        (
            "expect: { rollouts: { r1: { status: succeeded, attempts: 1 } } }",
            true,
        ),
        (
            "expect: { invariants: [attempt-ids], violated: [backoff-policy] }",
            true,
        ),
        ("expect: { violated: [no-such-invariant] }", false),
        (
            "expect: { sometimes: { mine: { goals: [backoff-capped] } } }",
            true,
        ),
        ("expect: { sometimes: { mine: {} } }", false),
        ("expect: { sometimes: { mine: { goals: [] } } }", false),
        (
            "expect: { sometimes: { backoff-capped: { goals: [backoff-capped] } } }",
            false,
        ),
        // What one section rules out in another.
        (
            "expect: { rollouts: { r1: cancelled, '*': { status: failed } } }",
            true,
        ),
        ("expect: { rollouts: { r1: { status: requeuing } } }", false),
        (
            "stop: { when: all_terminal }\nexpect: { rollouts: { r1: running } }",
            false,
        ),
        (
            "stop: { when: { at: 2s } }\nexpect: { invariants: [attempt-ids, all-terminal] }",
            false,
        ),
        (
            "stop: { when: { at: 2s } }\nexpect: { invariants: [attempt-ids] }",
            true,
        ),
        ("stop: { recover_within: 5s }", false),
        (
            "faults: { heal_at: 1s }\nstop: { recover_within: 5s }",
            true,
        ),
        ("expect: { invariants: [liveness] }", false),
        (
            "faults: { heal_at: 1s }\nexpect: { invariants: [liveness] }",
            true,
        ),
        (
            "engine: tokio\nfaults: { network: { loss_rate: 0.1 } }",
            false,
        ),
        (
            "engine: virtual\nfaults: { at: [ { at: 5ms, bounce: queue } ] }",
            false,
        ),
        (
            "engine: auto\nfaults: { network: { loss_rate: 0.1 } }",
            true,
        ),
    ];
    let mut disagreements = Vec::new();
    for (extra, valid) in probes {
        let text = if extra.starts_with("  -") {
            format!("name: probe\nrollouts:\n  - id: r1\n{extra}\n")
        } else {
            scenario(extra)
        };
        let (schema, loader) = verdicts(&validator, &text);
        if schema != *valid || loader != *valid {
            disagreements.push(format!(
                "`{extra}`: expected {}, schema {}, loader {}",
                verdict(*valid),
                verdict(schema),
                verdict(loader)
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} probes:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

fn verdict(valid: bool) -> &'static str {
    if valid { "valid" } else { "refused" }
}

#[test]
fn the_schema_has_no_null_but_for_input_and_output() {
    let text = serde_json::to_string(&json_schema()).expect("JSON");
    assert!(
        !text.contains("\"null\""),
        "the schema allows null somewhere: check-jsonschema's messages would list it"
    );
}

#[test]
fn the_schema_subcommand_prints_the_schema() {
    let out = Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .arg("schema")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(0));
    let printed: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("`rollout-sim schema` prints JSON");
    assert_eq!(printed, json_schema());
    assert_eq!(
        printed["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "draft 2020-12, which yaml-language-server and VS Code understand"
    );
    for key in ["name", "rollouts", "runner", "faults", "stop", "expect"] {
        assert!(
            printed["properties"].get(key).is_some(),
            "the schema lacks `{key}`"
        );
    }
}
