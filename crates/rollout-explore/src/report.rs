//! Reading sweep reports back, for `merge`: bounded, and checked field by
//! field.
//!
//! A report is read through a bounded reader (at most
//! [`MAX_REPORT_BYTES`], and only from a regular file), parsed, and then
//! every count and range is checked against the others before anything is
//! added up: passed and failed seeds make the runs, the runs are the seeds
//! of the report's shards, the listed failing seeds lie in those shards,
//! histogram totals agree with the runs, summaries with their histograms.
//! A report that was edited, truncated or built by hand gets a message
//! naming the file and the field. Merging is linear: each report's
//! failing list is at most [`MAX_FAILING_LISTED`] long and histograms add
//! by value.
//!
//! The bounded reader is local to this module: the shared input reader of
//! the scenario loader was being written at the same time (issue 11).

use std::path::Path;

use super::{
    Distribution, MAX_FAILING_LISTED, Partial, SEEDS_END, SWEEP_SCHEMA, Shard, SweepReport,
    TOOL_VERSION, machine,
};

/// The largest report `merge` reads: 64 MiB. A report lists at most
/// [`MAX_FAILING_LISTED`] failing seeds and one entry per distinct value
/// in each histogram, a few megabytes at most.
pub const MAX_REPORT_BYTES: u64 = 64 << 20;

/// Reads a report from a file: only a regular file, at most
/// [`MAX_REPORT_BYTES`]; then [`parse`] and [`validate`].
pub fn read(path: &Path) -> Result<SweepReport, String> {
    use rollout_scenario::{InputError, read_input};
    let name = path.display().to_string();
    // Through the loader's reader: a FIFO or a device is refused before it
    // is opened (opening a FIFO with no writer would wait forever).
    let bytes = read_input(path, MAX_REPORT_BYTES).map_err(|e| match e {
        InputError::NotRegular(_) => format!(
            "{name}: not a regular file; merge reads the JSON files `explore --format json` writes"
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
        if *pair >= r.shard_count {
            return fail(
                &format!("shards[{i}]"),
                format!(
                    "shard {pair} of {}: shards are numbered from 0 to {}",
                    r.shard_count,
                    r.shard_count - 1
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
            index: *pair,
            count: r.shard_count,
        });
    }
    let s = &r.summary;
    if u128::from(s.runs) != expected_runs {
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
                    index,
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
    if !r.wall_time_ms.is_finite() || r.wall_time_ms < 0.0 {
        return fail(
            "wall_time_ms",
            format!("{} is not a duration", r.wall_time_ms),
        );
    }
    Ok(())
}

/// Combines named shard reports of one sweep: each one validated, then
/// the set. Missing shards are an error unless `allow_partial`, when the
/// result is marked [`partial`](SweepReport::partial).
pub fn merge_named(
    reports: &[(String, SweepReport)],
    allow_partial: bool,
) -> Result<SweepReport, String> {
    let Some((first_name, first)) = reports.first() else {
        return Err("no reports to merge".into());
    };
    let mut shards: Vec<(u64, &str)> = Vec::new();
    let mut partial = Partial::default();
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
        shards.extend(r.shards.iter().map(|&s| (s, name.as_str())));
        let s = &r.summary;
        let mut failing = super::FailingSeeds::default();
        failing.add(s.failing.iter().cloned(), s.failed);
        partial.merge(Partial {
            runs: s.runs,
            failing,
            failures: s.poll_failures_per_rollout.histogram.clone(),
            backoff: s.backoff_ms_per_rollout.histogram.clone(),
            time: s.time_to_all_terminal_ms.histogram.clone(),
        });
        wall = wall.max(r.wall_time_ms);
    }
    shards.sort_unstable();
    for pair in shards.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(format!(
                "{}: shards: shard {}/{} is also in {}",
                pair[1].1, pair[1].0, first.shard_count, pair[0].1
            ));
        }
    }
    let missing = first.shard_count - shards.len() as u64;
    if missing > 0 && !allow_partial {
        let mut listed = Vec::new();
        let mut have = shards.iter().map(|s| s.0).peekable();
        let mut i = 0;
        while i < first.shard_count && listed.len() < 10 {
            if have.next_if_eq(&i).is_none() {
                listed.push(i.to_string());
            }
            i += 1;
        }
        let more = if missing > listed.len() as u64 {
            format!(" and {} more", missing - listed.len() as u64)
        } else {
            String::new()
        };
        return Err(format!(
            "{missing} of {} shards missing: {}{more}; merge every shard's report, or pass --allow-partial",
            first.shard_count,
            listed.join(", ")
        ));
    }
    Ok(SweepReport {
        shards: shards.into_iter().map(|s| s.0).collect(),
        summary: partial.into_summary(),
        wall_time_ms: wall,
        partial: missing > 0,
        ..first.clone()
    })
}
