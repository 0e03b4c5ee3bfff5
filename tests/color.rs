//! `--color auto|always|never` (a global option) and the environment, as
//! cargo and cargo-nextest read it (DESIGN §5): in `auto`, `NO_COLOR` (set,
//! not empty) and `CLICOLOR=0` turn colour off, `CLICOLOR_FORCE` (set, not
//! `0`) turns it on off a terminal, `NO_COLOR` winning; otherwise colour
//! only on a terminal. An explicit `--color` wins over every variable.
//! Checked by running the binary, stdout a pipe (and a terminal, through
//! `script`, where it is installed).

use std::process::{Command, Output};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// Runs the binary with only the colour variables given set.
fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollout-sim"));
    command.args(args).current_dir(MANIFEST);
    for name in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TERM"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

/// The human report's first line, as c02 passing prints it in colour.
const PASS: &str = "\x1b[1;32m    PASS\x1b[0m ";

/// Whether the report of c02 on stdout is coloured; checks the run is the
/// same, coloured or not (one trace hash).
fn coloured(env: &[(&str, &str)], args: &[&str]) -> bool {
    let mut full = vec!["scenario", "scenarios/c02.yaml"];
    full.extend(args);
    let o = run(env, &full);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("trace 1b222016f341ad18"), "{text}");
    let has = text.contains('\x1b');
    assert_eq!(has, text.starts_with(PASS), "{text:?}");
    has
}

#[test]
fn auto_colours_a_pipe_only_when_forced() {
    assert!(!coloured(&[], &[]));
    assert!(!coloured(&[], &["--color", "auto"]));
    assert!(coloured(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(!coloured(&[("CLICOLOR_FORCE", "0")], &[]));
    assert!(!coloured(&[("CLICOLOR_FORCE", "")], &[]));
    // NO_COLOR wins over CLICOLOR_FORCE, as in cargo; empty is unset.
    assert!(!coloured(
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
        &[]
    ));
    assert!(coloured(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")], &[]));
    assert!(!coloured(
        &[("CLICOLOR_FORCE", "1"), ("CLICOLOR", "0")],
        &[]
    ));
}

#[test]
fn an_explicit_flag_wins_over_the_environment() {
    assert!(coloured(&[], &["--color", "always"]));
    assert!(coloured(&[("NO_COLOR", "1")], &["--color", "always"]));
    assert!(coloured(&[("CLICOLOR", "0")], &["--color=always"]));
    assert!(!coloured(&[("CLICOLOR_FORCE", "1")], &["--color", "never"]));
    // Global: before the subcommand too; the last one given wins.
    let o = run(
        &[("CLICOLOR_FORCE", "1")],
        &["--color", "never", "scenario", "scenarios/c02.yaml"],
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains('\x1b'));
    assert!(coloured(&[], &["--color", "never", "--color", "always"]));
}

#[test]
fn every_command_that_colours_takes_it() {
    for args in [
        &["explore", "scenarios/c02.yaml", "--seeds", "0..4"][..],
        &["diff", "scenarios/c02.yaml"][..],
    ] {
        let with = |env: &[(&str, &str)], color: &str| {
            let mut full = args.to_vec();
            full.extend(["--color", color]);
            let o = run(env, &full);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            String::from_utf8(o.stdout).unwrap()
        };
        assert!(
            with(&[("NO_COLOR", "1")], "always").contains("\x1b["),
            "{args:?}"
        );
        assert!(
            !with(&[("CLICOLOR_FORCE", "1")], "never").contains('\x1b'),
            "{args:?}"
        );
        assert!(!with(&[], "auto").contains('\x1b'), "{args:?}");
        assert!(
            with(&[("CLICOLOR_FORCE", "1")], "auto").contains("\x1b["),
            "{args:?}"
        );
    }
}

#[test]
fn a_bad_value_is_refused_with_the_good_ones() {
    let o = run(
        &[],
        &["scenario", "scenarios/c02.yaml", "--color", "sometimes"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: invalid value 'sometimes' for '--color <COLOR>'\n  [possible values: auto, always, never]\n\nFor more information, try '--help'.\n"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn auto_colours_a_terminal_unless_no_color() {
    // script(1) runs the command on a pseudo-terminal, stdout and stderr
    // both.
    let bin = env!("CARGO_BIN_EXE_rollout-sim");
    let on_tty = |env: &[(&str, &str)], args: &str, code: i32| -> Option<String> {
        let line = format!("{bin} {args}");
        let mut command = Command::new("script");
        command
            .args(["-qec", &line, "/dev/null"])
            .current_dir(MANIFEST);
        for name in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        let o = command.output().ok()?;
        // script(1) exits with the command's code (util-linux, -e).
        (o.status.code() == Some(code)).then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let c02 = "scenario scenarios/c02.yaml";
    let Some(plain) = on_tty(&[], c02, 0) else {
        println!("skipped: script(1) is not available here");
        return;
    };
    assert!(plain.starts_with(PASS), "{plain:?}");
    let off = on_tty(&[("NO_COLOR", "1")], c02, 0).unwrap();
    assert!(
        off.starts_with("    PASS ") && !off.contains('\x1b'),
        "{off:?}"
    );
    let never = on_tty(&[], &format!("{c02} --color never"), 0).unwrap();
    assert!(!never.contains('\x1b'), "{never:?}");
    let always = on_tty(&[("NO_COLOR", "1")], &format!("{c02} --color always"), 0).unwrap();
    assert!(always.starts_with(PASS), "{always:?}");
    // An invalid file's underlined snippet, on stderr, follows it too.
    let broken = "scenario tests/broken/attempt-beyond-max.yaml";
    let snippet = on_tty(&[], broken, 2).unwrap();
    assert!(snippet.contains("\x1b[31m"), "{snippet:?}");
    assert!(
        snippet.contains("tests/broken/attempt-beyond-max.yaml:9:37"),
        "{snippet:?}"
    );
    for (env, flag) in [(&[("NO_COLOR", "1")][..], ""), (&[][..], " --color never")] {
        let snippet = on_tty(env, &format!("{broken}{flag}"), 2).unwrap();
        assert!(!snippet.contains('\x1b'), "{snippet:?}");
        assert!(
            snippet.contains("`attempts: 3` can never hold"),
            "{snippet:?}"
        );
    }
}
