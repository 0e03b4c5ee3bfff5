//! `rollout-sim schema`: the JSON Schema accepts every scenario under
//! `scenarios/` and refuses the structural mistakes the loader refuses.

mod common;

use std::path::Path;
use std::process::Command;

use rollout_sim::scenario::json_schema;

/// A YAML file as the JSON value an editor's YAML language server sees.
fn yaml_as_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    serde_json::to_value(yaml).unwrap_or_else(|e| panic!("{}: not JSON-like: {e}", path.display()))
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&json_schema()).expect("the schema is a valid JSON Schema")
}

#[test]
fn every_scenario_file_validates_against_the_schema() {
    let validator = validator();
    let mut failures = Vec::new();
    let files = common::scenario_files();
    assert!(!files.is_empty());
    for file in &files {
        let instance = yaml_as_json(file);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("  at `{}`: {e}", e.instance_path()))
            .collect();
        if !errors.is_empty() {
            failures.push(format!("{}:\n{}", common::display(file), errors.join("\n")));
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
fn the_schema_refuses_structural_mistakes() {
    let validator = validator();
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    for name in [
        "unknown-key",
        "unknown-variant",
        "wrong-type-bool",
        "wrong-type-workers",
        "duration-bare-number",
        "duration-unknown-unit",
        "duration-negative",
        "missing-name",
        "missing-field-in-section",
        "unknown-status-and-invariant",
        "script-not-a-list",
        "count-too-large",
        "not-a-mapping",
        "too-many-workers",
    ] {
        let instance = yaml_as_json(&broken.join(format!("{name}.yaml")));
        assert!(
            !validator.is_valid(&instance),
            "tests/broken/{name}.yaml validates against the schema, but the loader refuses it"
        );
    }
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
