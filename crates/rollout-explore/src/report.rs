//! Reading sweep reports back, for `merge`: bounded, and checked field by
//! field.
//!
//! A report is read through a bounded reader (at most
//! [`MAX_REPORT_BYTES`], and only from a regular file), parsed, and then
//! every count and range is checked against the others before anything is
//! added up: passed and failed seeds make the runs, the runs are the seeds
//! of the report's shards (at most, in a cancelled report), the listed failing seeds lie in those shards,
//! histogram totals agree with the runs, summaries with their histograms,
//! findings' counts with the failed seeds and their ids with their titles,
//! coverage goals with the runs and the shards' seeds.
//! [`read_baseline`] reads the report `explore --baseline` compares with,
//! through the same reader.
//! A report that was edited, truncated or built by hand gets a message
//! naming the file and the field. Merging is linear: each report's
//! failing list is at most [`MAX_FAILING_LISTED`] long and histograms add
//! by value.
//!
//! The bounded reader is local to this module: the shared input reader of
//! the scenario loader was being written at the same time (issue 11).

use std::path::Path;

use super::{
    Distribution, FindingStatus, MAX_FAILING_LISTED, MAX_FINDINGS, Partial, SEEDS_END,
    SWEEP_SCHEMA, Shard, SweepReport, TOOL_VERSION, finding_id, findings::Grouping, machine,
};
use super::{GoalKind, coverage::Tallies};

/// The largest report `merge` reads: 64 MiB. A report lists at most
/// [`MAX_FAILING_LISTED`] failing seeds and one entry per distinct value
/// in each histogram, a few megabytes at most.
pub const MAX_REPORT_BYTES: u64 = 64 << 20;

/// Reads a report from a file: only a regular file, at most
/// [`MAX_REPORT_BYTES`]; then [`parse`] and [`validate`].
pub fn read(path: &Path) -> Result<SweepReport, String> {
    read_for(path, "merge reads", path.display().to_string())
}

/// Reads the report `explore --baseline` compares a sweep with, as
/// [`read`] does (bounded, checked field by field), and checks that it is
/// a sweep of the scenario named `scenario`: its file may have changed
/// since (that is the point), its name may not.
pub fn read_baseline(path: &Path, scenario: &str) -> Result<SweepReport, String> {
    let name = format!("--baseline {}", path.display());
    let report = read_for(path, "--baseline reads", name.clone())?;
    if report.name != scenario {
        return Err(format!(
            "{name}: name: a sweep of `{}`, but this sweep is of `{scenario}`: a baseline is an earlier sweep of the same scenario",
            report.name
        ));
    }
    Ok(report)
}

fn read_for(path: &Path, reader: &str, name: String) -> Result<SweepReport, String> {
    use rollout_scenario::{InputError, read_input};
    // Through the loader's reader: a FIFO or a device is refused before it
    // is opened (opening a FIFO with no writer would wait forever).
    let bytes = read_input(path, MAX_REPORT_BYTES).map_err(|e| match e {
        InputError::NotRegular(_) => format!(
            "{name}: not a regular file; {reader} the JSON files `explore --format json` writes"
        ),
        InputError::TooLarge { .. } => format!(
            "{name}: larger than {} MiB; a sweep report is a few megabytes at most (it lists at most {MAX_FAILING_LISTED} failing seeds)",
            MAX_REPORT_BYTES >> 20
        ),
        InputError::Io(e) => format!("{name}: cannot read: {e}"),
    })?;
    parse(&name, &bytes)
}

/// Parses a report's JSON as the schema ([`machine::SweepReport`]) and
/// [`validate`]s it; `name` is used in messages.
pub fn parse(name: &str, bytes: &[u8]) -> Result<SweepReport, String> {
    let report: machine::SweepReport = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "{name}:{}:{}: not a sweep report: {e}",
            e.line(),
            e.column()
        )
    })?;
    let report = SweepReport::from(report);
    validate(name, &report)?;
    Ok(report)
}

/// Checks that a report's counts and ranges agree with each other.
pub fn validate(name: &str, r: &SweepReport) -> Result<(), String> {
    let fail = |field: &str, message: String| Err(format!("{name}: {field}: {message}"));
    if r.schema != SWEEP_SCHEMA {
        return fail(
            "schema",
            format!(
                "`{}` is not a sweep report; expected `{SWEEP_SCHEMA}`",
                r.schema
            ),
        );
    }
    if r.tool_version != TOOL_VERSION {
        return fail(
            "tool_version",
            format!(
                "written by rollout-sim {}, this is {TOOL_VERSION}; merge reports of one version",
                r.tool_version
            ),
        );
    }
    if r.scenario_hash.len() != 16 || !r.scenario_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return fail(
            "scenario_hash",
            format!("`{}` is not 16 hex digits", r.scenario_hash),
        );
    }
    let seeds = r.seeds;
    if seeds.end > SEEDS_END {
        return fail(
            "seeds.end",
            format!("{} is past the last seed; at most {SEEDS_END}", seeds.end),
        );
    }
    if seeds.end < u128::from(seeds.start) {
        return fail(
            "seeds",
            format!(
                "the range is reversed: it starts at {} and ends at {}",
                seeds.start, seeds.end
            ),
        );
    }
    if seeds.is_empty() {
        return fail("seeds", format!("{seeds} holds no seed"));
    }
    if r.shard_count == 0 {
        return fail("shard_count", "is 0; a sweep has at least one shard".into());
    }
    if r.shards.is_empty() {
        return fail(
            "shards",
            "is empty; a report covers at least one shard".into(),
        );
    }
    let mut expected_runs = 0u128;
    for (i, pair) in r.shards.iter().enumerate() {
        if *pair == 0 || *pair > r.shard_count {
            return fail(
                &format!("shards[{i}]"),
                format!(
                    "shard {pair} of {}: shards are numbered from 1 to {} (this is {SWEEP_SCHEMA}, which counts from 1)",
                    r.shard_count, r.shard_count
                ),
            );
        }
        if i > 0 && *pair <= r.shards[i - 1] {
            return fail(
                &format!("shards[{i}]"),
                format!(
                    "shard {pair} after shard {}: each shard once, in increasing order",
                    r.shards[i - 1]
                ),
            );
        }
        expected_runs += seeds.count(Shard {
            number: *pair,
            count: r.shard_count,
        });
    }
    let s = &r.summary;
    if r.cancelled && !r.partial {
        return fail(
            "partial",
            "false, but the sweep was cancelled: a cancelled report is partial".into(),
        );
    }
    // A cancelled sweep ran only some of its shards' seeds.
    if r.cancelled && u128::from(s.runs) > expected_runs {
        return fail(
            "summary.runs",
            format!(
                "{} runs, but seeds {seeds} in shard(s) {:?} of {} are {expected_runs}",
                s.runs, r.shards, r.shard_count
            ),
        );
    }
    if !r.cancelled && u128::from(s.runs) != expected_runs {
        return fail(
            "summary.runs",
            format!(
                "{} runs, but seeds {seeds} in shard(s) {:?} of {} are {expected_runs}",
                s.runs, r.shards, r.shard_count
            ),
        );
    }
    if s.passed.checked_add(s.failed) != Some(s.runs) {
        return fail(
            "summary.passed",
            format!(
                "{} passed and {} failed do not make the {} runs",
                s.passed, s.failed, s.runs
            ),
        );
    }
    if s.failing.len() > MAX_FAILING_LISTED {
        return fail(
            "summary.failing",
            format!(
                "lists {} seeds; a report lists at most {MAX_FAILING_LISTED}",
                s.failing.len()
            ),
        );
    }
    if (s.failing.len() as u64).checked_add(s.failing_not_listed) != Some(s.failed) {
        return fail(
            "summary.failing_not_listed",
            format!(
                "{} listed and {} not listed do not make the {} failed",
                s.failing.len(),
                s.failing_not_listed,
                s.failed
            ),
        );
    }
    if s.failing_not_listed > 0 && s.failing.len() < MAX_FAILING_LISTED {
        return fail(
            "summary.failing_not_listed",
            format!(
                "{} failing seeds not listed, but only {} listed: the first {MAX_FAILING_LISTED} are listed",
                s.failing_not_listed,
                s.failing.len()
            ),
        );
    }
    for (i, f) in s.failing.iter().enumerate() {
        let field = format!("summary.failing[{i}].seed");
        if i > 0 && f.seed <= s.failing[i - 1].seed {
            return fail(
                &field,
                format!(
                    "seed {} after seed {}: each seed once, in increasing order",
                    f.seed,
                    s.failing[i - 1].seed
                ),
            );
        }
        let in_report = r.shards.iter().any(|&index| {
            seeds.holds(
                Shard {
                    number: index,
                    count: r.shard_count,
                },
                f.seed,
            )
        });
        if !in_report {
            return fail(
                &field,
                format!(
                    "seed {} is not one of this report's: seeds {seeds}, shard(s) {:?} of {}",
                    f.seed, r.shards, r.shard_count
                ),
            );
        }
    }
    let check = |field: &str, d: &Distribution| -> Result<u64, String> {
        let total = d.histogram.total().ok_or_else(|| {
            format!(
                "{name}: summary.{field}.histogram: its counts add up past {}",
                u64::MAX
            )
        })?;
        if d.summary != d.histogram.summary() {
            return Err(format!(
                "{name}: summary.{field}.summary: does not match its histogram (which gives {:?})",
                d.histogram.summary()
            ));
        }
        Ok(total)
    };
    let failures = check("poll_failures_per_rollout", &s.poll_failures_per_rollout)?;
    let backoff = check("backoff_ms_per_rollout", &s.backoff_ms_per_rollout)?;
    let time = check("time_to_all_terminal_ms", &s.time_to_all_terminal_ms)?;
    if failures != backoff {
        return fail(
            "summary.backoff_ms_per_rollout.histogram",
            format!(
                "{backoff} observations, but poll_failures_per_rollout has {failures}: both have one per rollout of every run"
            ),
        );
    }
    if time > s.runs {
        return fail(
            "summary.time_to_all_terminal_ms.histogram",
            format!(
                "{time} observations, more than the {} runs: a run has at most one",
                s.runs
            ),
        );
    }
    validate_findings(name, r)?;
    validate_coverage(name, r)?;
    if !r.wall_time_ms.is_finite() || r.wall_time_ms < 0.0 {
        return fail(
            "wall_time_ms",
            format!("{} is not a duration", r.wall_time_ms),
        );
    }
    Ok(())
}

/// Checks the coverage against the report: every built-in goal, in order,
/// then the scenario's own, each named once; no goal reached by more seeds
/// than ran; a first seed exactly when some seed reached it, one of the
/// report's seeds. Reports written before goals were counted have none.
fn validate_coverage(name: &str, r: &SweepReport) -> Result<(), String> {
    let fail = |field: String, message: String| Err(format!("{name}: {field}: {message}"));
    let goals = &r.coverage.goals;
    if goals.is_empty() {
        return Ok(());
    }
    let built_in = rollout_simulator::Goal::ALL;
    for (i, want) in built_in.iter().enumerate() {
        match goals.get(i) {
            Some(g) if g.goal == want.name() && g.kind == GoalKind::BuiltIn => {}
            Some(g) => {
                return fail(
                    format!("coverage.goals[{i}]"),
                    format!(
                        "`{}` ({}), but the built-in goal `{}` comes here: the built-in goals come first, in their order",
                        g.goal,
                        g.kind.as_str(),
                        want.name()
                    ),
                );
            }
            None => {
                return fail(
                    "coverage.goals".into(),
                    format!(
                        "{} goals, but there are {} built-in goals",
                        goals.len(),
                        built_in.len()
                    ),
                );
            }
        }
    }
    for (i, g) in goals.iter().enumerate().skip(built_in.len()) {
        let field = format!("coverage.goals[{i}]");
        if g.kind != GoalKind::Scenario {
            return fail(
                field,
                format!(
                    "`{}` is marked built-in, but is not one of the built-in goals",
                    g.goal
                ),
            );
        }
        if goals[..i].iter().any(|other| other.goal == g.goal) {
            return fail(field, format!("goal `{}` is listed twice", g.goal));
        }
    }
    for (i, g) in goals.iter().enumerate() {
        let field = |f: &str| format!("coverage.goals[{i}].{f}");
        if g.seeds > r.summary.runs {
            return fail(
                field("seeds"),
                format!(
                    "{} seeds reached `{}`, more than the {} runs",
                    g.seeds, g.goal, r.summary.runs
                ),
            );
        }
        match g.first_seed {
            None if g.seeds > 0 => {
                return fail(
                    field("first_seed"),
                    format!("null, but {} seeds reached `{}`", g.seeds, g.goal),
                );
            }
            Some(seed) if g.seeds == 0 => {
                return fail(
                    field("first_seed"),
                    format!("seed {seed}, but no seed reached `{}`", g.goal),
                );
            }
            Some(seed) => {
                let in_report = r.shards.iter().any(|&index| {
                    r.seeds.holds(
                        Shard {
                            number: index,
                            count: r.shard_count,
                        },
                        seed,
                    )
                });
                if !in_report {
                    return fail(
                        field("first_seed"),
                        format!(
                            "seed {seed} is not one of this report's: seeds {}, shard(s) {:?} of {}",
                            r.seeds, r.shards, r.shard_count
                        ),
                    );
                }
            }
            None => {}
        }
    }
    Ok(())
}

/// Checks the findings against the summary: every failing seed is in one
/// finding or counted as not listed; each finding's id is its title's,
/// its first seed one of the report's failing seeds with that seed's
/// repro; statuses are there exactly when a baseline is.
fn validate_findings(name: &str, r: &SweepReport) -> Result<(), String> {
    let fail = |field: &str, message: String| Err(format!("{name}: {field}: {message}"));
    let (s, f) = (&r.summary, &r.findings);
    if f.listed.len() > MAX_FINDINGS {
        return fail(
            "findings.listed",
            format!(
                "lists {} findings; a report lists at most {MAX_FINDINGS}",
                f.listed.len()
            ),
        );
    }
    if f.not_listed > 0 && f.listed.len() < MAX_FINDINGS {
        return fail(
            "findings.not_listed",
            format!(
                "{} failing seeds not in a listed finding, but only {} findings listed: {MAX_FINDINGS} are listed before any seed goes unlisted",
                f.not_listed,
                f.listed.len()
            ),
        );
    }
    let mut grouped = Some(f.not_listed);
    let mut titles = std::collections::BTreeSet::new();
    let check = |field: &str, x: &super::Finding, fixed: bool| -> Result<(), String> {
        if x.id != finding_id(&x.title) {
            return fail(
                &format!("{field}.id"),
                format!(
                    "`{}` is not the id of its title, which is `{}`",
                    x.id,
                    finding_id(&x.title)
                ),
            );
        }
        if x.seeds == 0 {
            return fail(
                &format!("{field}.seeds"),
                "is 0; a finding has at least one failing seed".into(),
            );
        }
        let expected = match (&f.baseline, fixed) {
            (None, _) => "null (there is no baseline)",
            (Some(_), false) => "`new` or `still_failing`",
            (Some(_), true) => "`fixed`",
        };
        let good = match (&f.baseline, x.status) {
            (None, status) => status.is_none(),
            (Some(_), Some(FindingStatus::Fixed)) => fixed,
            (Some(_), Some(_)) => !fixed,
            (Some(_), None) => false,
        };
        if !good {
            return fail(
                &format!("{field}.status"),
                format!("{:?}; expected {expected}", x.status),
            );
        }
        Ok(())
    };
    for (i, x) in f.listed.iter().enumerate() {
        let field = format!("findings.listed[{i}]");
        check(&field, x, false)?;
        if !titles.insert(x.title.as_str()) {
            return fail(
                &format!("{field}.title"),
                "is listed twice; a finding is one cause".into(),
            );
        }
        if i > 0 && x.first_seed <= f.listed[i - 1].first_seed {
            return fail(
                &format!("{field}.first_seed"),
                format!(
                    "seed {} after seed {}: findings are listed by first seed, and a seed has one cause",
                    x.first_seed,
                    f.listed[i - 1].first_seed
                ),
            );
        }
        // A listed failing seed, or one past the list's end.
        let beyond = s.failing_not_listed > 0
            && s.failing
                .last()
                .is_some_and(|last| x.first_seed > last.seed);
        if !beyond {
            let listed = s
                .failing
                .binary_search_by_key(&x.first_seed, |f| f.seed)
                .ok()
                .map(|k| &s.failing[k]);
            match listed {
                None => {
                    return fail(
                        &format!("{field}.first_seed"),
                        format!(
                            "seed {} is not among the report's failing seeds",
                            x.first_seed
                        ),
                    );
                }
                Some(seed) if seed.repro != x.repro => {
                    return fail(
                        &format!("{field}.repro"),
                        format!(
                            "is not the repro of seed {} in summary.failing",
                            x.first_seed
                        ),
                    );
                }
                Some(_) => {}
            }
        }
        grouped = grouped.and_then(|g| g.checked_add(x.seeds));
    }
    if grouped != Some(s.failed) {
        return fail(
            "findings",
            format!(
                "the findings' seeds and the {} not listed do not make the {} failed",
                f.not_listed, s.failed
            ),
        );
    }
    if let Some(b) = &f.baseline {
        for (i, x) in b.fixed.iter().enumerate() {
            let field = format!("findings.baseline.fixed[{i}]");
            check(&field, x, true)?;
            if titles.contains(x.title.as_str()) {
                return fail(
                    &format!("{field}.title"),
                    "is also a finding of this sweep, so it is not fixed".into(),
                );
            }
        }
    }
    Ok(())
}

/// Combines named shard reports of one sweep: each one validated, then
/// the set. A shard twice is an error; missing shards, and shards that
/// were cancelled, are an error unless `allow_partial`, when the result is
/// marked [`partial`](SweepReport::partial) (and
/// [`cancelled`](SweepReport::cancelled) when a shard was).
pub fn merge_named(
    reports: &[(String, SweepReport)],
    allow_partial: bool,
) -> Result<SweepReport, String> {
    let Some((first_name, first)) = reports.first() else {
        return Err("no reports to merge".into());
    };
    let mut shards: Vec<(u64, &str)> = Vec::new();
    let mut partial = Partial::default();
    let mut baselines = Vec::new();
    let mut wall = 0.0f64;
    for (name, r) in reports {
        validate(name, r)?;
        let same = |field: &str, a: String, b: String| {
            if a == b {
                Ok(())
            } else {
                Err(format!(
                    "{name}: {field}: {b}, but {first_name} has {a}: merge shards of one sweep"
                ))
            }
        };
        same(
            "scenario_hash",
            first.scenario_hash.clone(),
            r.scenario_hash.clone(),
        )?;
        same("name", first.name.clone(), r.name.clone())?;
        same("engine", first.engine.to_string(), r.engine.to_string())?;
        same("seeds", first.seeds.to_string(), r.seeds.to_string())?;
        same(
            "shard_count",
            first.shard_count.to_string(),
            r.shard_count.to_string(),
        )?;
        let goals = |c: &super::SweepCoverage| {
            let names: Vec<&str> = c.goals.iter().map(|g| g.goal.as_str()).collect();
            format!("goals [{}]", names.join(", "))
        };
        same("coverage", goals(&first.coverage), goals(&r.coverage))?;
        shards.extend(r.shards.iter().map(|&s| (s, name.as_str())));
        let s = &r.summary;
        let mut failing = super::FailingSeeds::default();
        failing.add(s.failing.iter().cloned(), s.failed);
        let mut findings = Grouping::default();
        for f in &r.findings.listed {
            findings.add(
                f.title.clone(),
                f.seeds,
                (f.first_seed, &f.first_branch),
                &f.repro,
                f.shrunk.as_deref(),
            );
        }
        baselines.push((name, r.findings.clone()));
        partial.merge(Partial {
            runs: s.runs,
            failing,
            findings,
            failures: s.poll_failures_per_rollout.histogram.clone(),
            backoff: s.backoff_ms_per_rollout.histogram.clone(),
            time: s.time_to_all_terminal_ms.histogram.clone(),
            coverage: Tallies::of(&r.coverage),
        });
        wall = wall.max(r.wall_time_ms);
    }
    // Shards are named as `--shard K/N` takes them, so a message names
    // the CI job to rerun.
    let count = first.shard_count;
    shards.sort_unstable();
    for pair in shards.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(format!(
                "{}: shards: shard {}/{count} is also in {}: merge each shard's report once",
                pair[1].1, pair[1].0, pair[0].1
            ));
        }
    }
    let missing = count - shards.len() as u64;
    if missing > 0 && !allow_partial {
        let mut listed = Vec::new();
        let mut have = shards.iter().map(|s| s.0).peekable();
        let mut k = 1;
        while k <= count && listed.len() < 10 {
            if have.next_if_eq(&k).is_none() {
                listed.push(format!("{k}/{count}"));
            }
            k += 1;
        }
        let more = if missing > listed.len() as u64 {
            format!(" and {} more", missing - listed.len() as u64)
        } else {
            String::new()
        };
        return Err(format!(
            "missing {} {}{more} ({missing} of {count}): merge every shard's report, or pass --allow-partial",
            if missing == 1 { "shard" } else { "shards" },
            listed.join(", ")
        ));
    }
    let cancelled: Vec<&(String, SweepReport)> =
        reports.iter().filter(|(_, r)| r.cancelled).collect();
    if let Some((name, r)) = cancelled.first().filter(|_| !allow_partial) {
        let shards: Vec<String> = r.shards.iter().map(|k| format!("{k}/{count}")).collect();
        return Err(format!(
            "{name}: cancelled: shard {} was cancelled after {} runs, before every seed ran: rerun it, or pass --allow-partial",
            shards.join(", "),
            r.summary.runs
        ));
    }
    let (summary, mut findings, tallies) = partial.into_summary();
    merge_baselines(&baselines, &mut findings)?;
    let names = first
        .coverage
        .goals
        .iter()
        .map(|g| (g.goal.clone(), g.kind))
        .collect();
    Ok(SweepReport {
        shards: shards.into_iter().map(|s| s.0).collect(),
        summary,
        findings,
        coverage: tallies.into_coverage(names),
        wall_time_ms: wall,
        partial: missing > 0 || !cancelled.is_empty(),
        cancelled: !cancelled.is_empty(),
        ..first.clone()
    })
}

/// The merged findings' comparison with the baseline the shards were swept
/// against: a finding's status is what the shards that saw it say (they
/// agree when they read one baseline), and a baseline finding is fixed when
/// no shard saw it, that is, when every shard lists it as fixed. Shards
/// swept without a baseline merge without one; a mix is refused.
fn merge_baselines(
    reports: &[(&String, super::Findings)],
    merged: &mut super::Findings,
) -> Result<(), String> {
    let Some((first_name, first)) = reports.first() else {
        return Ok(());
    };
    let Some(base) = &first.baseline else {
        if let Some((name, _)) = reports.iter().find(|(_, f)| f.baseline.is_some()) {
            return Err(format!(
                "{name}: findings.baseline: compared with a baseline, but {first_name} is not: merge shards of one sweep"
            ));
        }
        return Ok(());
    };
    let mut status = std::collections::BTreeMap::new();
    let mut fixed: Option<std::collections::BTreeSet<&str>> = None;
    for (name, f) in reports {
        let Some(b) = f.baseline.as_ref().filter(|b| b.file == base.file) else {
            return Err(format!(
                "{name}: findings.baseline: not compared with {}, as {first_name} is: merge shards of one sweep",
                base.file
            ));
        };
        for x in &f.listed {
            if let Some(before) = status.insert(x.id.as_str(), x.status)
                && before != x.status
            {
                return Err(format!(
                    "{name}: findings: finding {} is {:?} here and {before:?} in another shard: merge shards compared with one baseline",
                    x.id, x.status
                ));
            }
        }
        let ids: std::collections::BTreeSet<&str> = b.fixed.iter().map(|x| x.id.as_str()).collect();
        fixed = Some(match fixed {
            None => ids,
            Some(f) => f.intersection(&ids).copied().collect(),
        });
    }
    let fixed = fixed.unwrap_or_default();
    for x in &mut merged.listed {
        x.status = status.get(x.id.as_str()).copied().flatten();
    }
    merged.baseline = Some(super::Baseline {
        file: base.file.clone(),
        fixed: base
            .fixed
            .iter()
            .filter(|x| fixed.contains(x.id.as_str()))
            .cloned()
            .collect(),
    });
    Ok(())
}
