#!/usr/bin/env python3
"""Tabulates a cargo-mutants run of the runner core (BENCHMARKS.md,
"Mutation testing of the runner core").

    benches/mutation/tabulate.py MUTANTS_OUT [--by-mode] [--survivors]

MUTANTS_OUT is cargo-mutants' output folder (`mutants.out`, under `-o`).
Prints, per source file and in total, the mutants, the unviable ones, the
viable ones, the killed ones (caught or timed out) and the survivors.

--by-mode reads the lines `crates/rollout-core/tests/exploration.rs` prints
for a failing mode,

    exploration: mode=<m> scenario=<name> first_failure_run=<k> seed=<s> cause=<...>

from each mutant's log, and prints per mode the mutants it killed and the
median and maximum runs to its first failure. A mutant killed by a timeout
prints no line: it counts as killed overall, by no mode in particular.

--survivors lists the survivors, one a line.
"""

import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

LINE = re.compile(
    r"^exploration: mode=(\S+) scenario=(\S+) first_failure_run=(\d+) seed=(\d+) cause=(.*)$"
)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    out = Path(argv[1])
    by_mode = "--by-mode" in argv
    survivors_wanted = "--survivors" in argv
    outcomes = json.loads((out / "outcomes.json").read_text())["outcomes"]
    files = defaultdict(lambda: defaultdict(int))
    survivors = []
    modes = defaultdict(dict)  # mode -> mutant name -> runs to first failure
    viable_names = []
    for o in outcomes:
        scenario = o["scenario"]
        if not isinstance(scenario, dict) or "Mutant" not in scenario:
            continue  # the unmutated baseline
        mutant = scenario["Mutant"]
        name, file = mutant["name"], mutant["file"]
        summary = o["summary"]
        row = files[file]
        row["mutants"] += 1
        if summary == "Unviable":
            row["unviable"] += 1
            continue
        row["viable"] += 1
        viable_names.append(name)
        if summary in ("CaughtMutant", "Timeout"):
            row["killed"] += 1
            if summary == "Timeout":
                row["timeout"] += 1
        else:
            row["survivors"] += 1
            survivors.append(name)
        if by_mode and summary == "CaughtMutant":
            log = (out / o["log_path"]).read_text(errors="replace")
            for line in log.splitlines():
                m = LINE.match(line.strip())
                if m:
                    modes[m.group(1)].setdefault(name, int(m.group(3)))

    def pct(a, b):
        return f"{100.0 * a / b:.1f}%" if b else "-"

    print("| file | mutants | unviable | viable | killed | of which timeout | survivors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    total = defaultdict(int)
    for file in sorted(files):
        row = files[file]
        for k, v in row.items():
            total[k] += v
        print(
            f"| {file} | {row['mutants']} | {row['unviable']} | {row['viable']} | "
            f"{row['killed']} ({pct(row['killed'], row['viable'])}) | {row['timeout']} | {row['survivors']} |"
        )
    print(
        f"| **total** | {total['mutants']} | {total['unviable']} | {total['viable']} | "
        f"**{total['killed']} ({pct(total['killed'], total['viable'])})** | {total['timeout']} | {total['survivors']} |"
    )
    if by_mode:
        print()
        print("| mode | killed (of viable) | runs to first failure: median | max |")
        print("| --- | --- | --- | --- |")
        for mode in sorted(modes):
            runs = list(modes[mode].values())
            print(
                f"| {mode} | {len(runs)} ({pct(len(runs), total['viable'])}) | "
                f"{statistics.median(runs):g} | {max(runs)} |"
            )
        union = set().union(*(set(m) for m in modes.values())) if modes else set()
        print(f"\nkilled by some mode: {len(union)}; by every mode: "
              f"{len(set.intersection(*(set(m) for m in modes.values()))) if modes else 0}")
        for mode in sorted(modes):
            only = set(modes[mode]) - set().union(*(set(m) for k, m in modes.items() if k != mode))
            print(f"killed by {mode} only: {len(only)}")
            for name in sorted(only):
                print(f"  {name}")
    if survivors_wanted:
        print()
        for name in survivors:
            print(name)


if __name__ == "__main__":
    main(sys.argv)
