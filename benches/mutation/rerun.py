#!/usr/bin/env python3
"""Reruns exactly the survivors of a cargo-mutants run (BENCHMARKS.md,
"Mutation testing of the runner core").

    benches/mutation/rerun.py MUTANTS_OUT OUT [CARGO_MUTANTS_ARGS...]

reads MUTANTS_OUT/missed.txt and runs `cargo mutants -p rollout-core` over
the five runner-core files with one anchored `--re` per survivor, writing to
OUT; extra arguments follow (such as `-- --test exploration`). With
`--test-workspace=true` among them `-p rollout-core` (which would still
test that package only) becomes `--workspace`: the `-f` files still pick
the mutants, and every package's tests run against each. cargo-mutants
27.1 lets field-deletion mutants of the files through `--re` regardless
(`delete field policy ... in MemoryQueue<C>::with_policy`): tabulate counts
them like any other.
"""

import subprocess
import sys
from pathlib import Path

FILES = [
    "crates/rollout-core/src/runner/mod.rs",
    "crates/rollout-core/src/runner/backoff.rs",
    "crates/rollout-core/src/queue/model.rs",
    "crates/rollout-core/src/queue/memory.rs",
    "crates/rollout-core/src/queue/mod.rs",
]


def escape(name):
    # Only the regex crate's metacharacters: `\<` and `\>` are word
    # boundaries there, so the rest stay as they are.
    return "".join("\\" + c if c in "\\.+*?()|[]{}^$" else c for c in name)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    missed = Path(argv[1]) / "missed.txt"
    names = [l.strip() for l in missed.read_text().splitlines() if l.strip()]
    if not names:
        sys.exit(f"{missed}: no survivors")
    cmd = ["cargo", "mutants", "--jobs", "1", "-o", argv[2]]
    if "--test-workspace=true" in argv[3:]:
        cmd[2:2] = ["--workspace"]
    else:
        cmd[2:2] = ["-p", "rollout-core"]
    for f in FILES:
        cmd += ["-f", f]
    for n in names:
        cmd += ["--re", f"^{escape(n)}$"]
    cmd += argv[3:]
    print(" ".join(cmd[:8]), f"... ({len(names)} --re)", file=sys.stderr)
    sys.exit(subprocess.call(cmd))


if __name__ == "__main__":
    main(sys.argv)
