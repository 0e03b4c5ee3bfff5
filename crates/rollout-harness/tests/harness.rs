//! The harness on a folder of its own: names, `seeds:` expansion, filters,
//! a failing scenario, a file that does not load, and a check of one's own.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use libtest_mimic::Arguments;
use rollout_harness::{Harness, collect_cases, run_twice};

const C02: &str = "name: c02\nrunner: { poll_interval: 10ms, backoff: { initial: 5ms, max: 20ms } }\nrollouts: [ { id: r1, run: { duration: 5ms, output: \"4\" } } ]\nfaults: { dequeue: [ { fail: 3 } ] }\nexpect:\n  rewards: { r1: { runner.poll_retry_backoff_ms_before_rollout: 35 } }\n  finished_at: 45ms\n";

/// A folder of scenario files, fresh for each test.
fn folder(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rollout-harness-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("regress")).unwrap();
    std::fs::write(dir.join("c02.yaml"), C02).unwrap();
    std::fs::write(
        dir.join("regress/wrong.yaml"),
        C02.replace("name: c02", "name: wrong")
            .replace("ms_before_rollout: 35", "ms_before_rollout: 36"),
    )
    .unwrap();
    std::fs::write(
        dir.join("seeded.yml"),
        "name: seeded\nseeds: [7, 3, 11]\nrollouts: [ { id: r1, run: { duration: 5ms, output: ok } } ]\nfaults: { random: { dequeue: { fail_rate: 0.3 } } }\nexpect: { rollouts: { r1: succeeded } }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("broken.yaml"),
        "name: broken\nrollouts: [ { id: r1, run: { duration: 5 } } ]\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a scenario").unwrap();
    dir
}

/// One thread, and the inner runs' own libtest output in a file of its
/// own, so that the failures they are meant to have stay out of this
/// test's log.
fn args(filter: Option<&str>) -> Arguments {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let log = std::env::temp_dir().join(format!(
        "rollout-harness-log-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    Arguments {
        filter: filter.map(str::to_string),
        test_threads: Some(1),
        quiet: true,
        logfile: Some(log.display().to_string()),
        ..Arguments::default()
    }
}

#[test]
fn each_file_and_each_listed_seed_is_a_case_named_by_its_path() {
    let dir = folder("names");
    let cases = collect_cases(std::slice::from_ref(&dir)).unwrap();
    let names: Vec<(&str, Option<u64>)> = cases.iter().map(|c| (c.name.as_str(), c.seed)).collect();
    assert_eq!(
        names,
        [
            ("broken", None),
            ("c02", None),
            ("regress/wrong", None),
            ("seeded/seed-7", Some(7)),
            ("seeded/seed-3", Some(3)),
            ("seeded/seed-11", Some(11)),
        ]
    );
    let broken = cases[0].scenario.as_ref().unwrap_err();
    assert!(
        broken.trim_end().ends_with("broken.yaml:2:40: rollouts[0].run.duration: a bare number (5) is not a duration; write it with a unit: 5ms or 5s"),
        "{broken}"
    );
}

#[test]
fn a_run_passes_the_good_files_and_fails_the_wrong_and_the_broken() {
    let dir = folder("run");
    let trials = Harness::new().dir(&dir).trials().unwrap();
    let conclusion = libtest_mimic::run(&args(None), trials);
    assert_eq!(
        (conclusion.num_passed, conclusion.num_failed),
        (4, 2),
        "c02 and the three seeds pass; the wrong expectation and the broken file fail"
    );
    let trials = Harness::new().dir(&dir).trials().unwrap();
    let seeded = libtest_mimic::run(&args(Some("seeded")), trials);
    assert_eq!((seeded.num_passed, seeded.num_filtered_out), (3, 3));
}

#[test]
fn a_failure_says_which_check_and_how_to_reproduce_it() {
    let dir = folder("message");
    let cases = collect_cases(&[dir.join("regress/wrong.yaml")]).unwrap();
    assert_eq!(
        cases[0].name, "wrong",
        "a file given as is is named by its stem"
    );
    let message = run_twice(cases[0].scenario.as_ref().unwrap()).unwrap_err();
    assert!(
        message.contains("runner.poll_retry_backoff_ms_before_rollout  expected 36, actual 35"),
        "{message}"
    );
    assert!(
        message.contains("repro: rollout-sim scenario "),
        "{message}"
    );
}

#[test]
fn a_check_of_ones_own_sees_each_case_with_its_seed() {
    let dir = folder("custom");
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    let trials = Harness::new()
        .file(dir.join("seeded.yml"))
        .check(move |scenario| {
            counted.fetch_add(1, Ordering::Relaxed);
            if scenario.plan.seed == 3 {
                Err("seed 3 refused".into())
            } else {
                Ok(())
            }
        })
        .trials()
        .unwrap();
    let conclusion = libtest_mimic::run(&args(None), trials);
    assert_eq!((conclusion.num_passed, conclusion.num_failed), (2, 1));
    assert_eq!(seen.load(Ordering::Relaxed), 3);
}

#[test]
fn a_missing_folder_is_an_error_naming_it() {
    let missing = std::env::temp_dir().join("rollout-harness-no-such-folder");
    let e = Harness::new().dir(&missing).trials().unwrap_err();
    assert!(e.contains("no such file or folder"), "{e}");
}
