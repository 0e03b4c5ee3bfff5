//! `rollout-sim diff` (DESIGN §8): metrics on vs off changes only the two
//! metric spans (spec C-04), and every engine that can run a file reaches
//! its outcomes, the virtual and tokio engines with the same trace. Checked
//! on c02 (whose numbers the spec fixes), on a network scenario (turmoil
//! only), and with the virtual engine perturbed on purpose, where each
//! comparison must fail and name the first divergent event.

use std::path::Path;
use std::process::Command;

fn diff(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_rollout-sim"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .arg("diff")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

#[test]
fn spec_case_2_agrees_with_itself_every_way() {
    let (code, report) = diff(&["scenarios/c02.yaml"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["schema"], "rollout-sim.diff/1");
    assert_eq!(report["held"], true);
    let c = report["comparisons"].as_array().unwrap();
    let kinds: Vec<(&str, Vec<&str>)> = c
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap(),
                c["engines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("metrics-on-off", vec!["virtual"]),
            ("same-trace", vec!["virtual", "tokio"]),
            ("same-outcomes", vec!["virtual", "turmoil"]),
        ]
    );
    // C-02: one rollout after 3 poll failures carries the two metrics, so
    // exactly two reward events are left out; the trace is c02's 31 events.
    assert_eq!(
        c[0]["detail"],
        "29 events alike once the 2 metric rewards are left out"
    );
    assert_eq!(c[1]["detail"], "31 events, trace 1b222016f341ad18");
    assert!(c.iter().all(|c| c["divergence"].is_null()));
}

#[test]
fn a_network_scenario_runs_on_turmoil_only() {
    let (code, report) = diff(&["scenarios/network/loss-sweep.yaml", "--seed", "3"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["seed"], 3);
    let c = report["comparisons"].as_array().unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["kind"], "metrics-on-off");
    assert_eq!(c[0]["engines"][0], "turmoil");
}

#[test]
fn a_perturbed_engine_fails_and_names_the_first_divergent_event() {
    let (code, report) = diff(&["scenarios/c02.yaml", "--perturb-scheduling"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["held"], false);
    let c = report["comparisons"].as_array().unwrap();
    for comparison in &c[..2] {
        assert_eq!(comparison["held"], false, "{comparison}");
        let d = &comparison["divergence"];
        let index = d["event_index"].as_u64().unwrap();
        // The perturbation makes one timer fire 1 ms late: the two sides'
        // events there are the same kind at times 1 ms apart.
        let (l, r) = (&d["left"], &d["right"]);
        assert_eq!(l["event"], r["event"], "event #{index}: {l} vs {r}");
        assert_eq!(
            l["t_us"]
                .as_u64()
                .unwrap()
                .abs_diff(r["t_us"].as_u64().unwrap()),
            1_000,
            "event #{index}: {l} vs {r}"
        );
    }
}
