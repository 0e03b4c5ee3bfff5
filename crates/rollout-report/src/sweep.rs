//! Sweep reports for people: a terminal summary and a self-contained HTML
//! page with the distributions as histograms, the coverage goals (seeds
//! that reached each, the first, and those none reached), the findings (the failing
//! seeds grouped by cause, first) and the failing seeds with their repro
//! commands; and JUnit XML for CI, with a test case per finding.
//!
//! Names, file paths, failure messages and repro commands come from
//! scenario files and reports that may be hostile: in both outputs every
//! control character is shown as an escape (`\u{1b}`), so that none can
//! drive a terminal or make the page ill-formed, and the HTML escapes its
//! markup characters besides.

use std::fmt::Write as _;

use rollout_explore::{Distribution, Finding, FindingStatus, GoalKind, SweepReport};

use super::human::Style;

/// `1 cause`, `2 causes`.
fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn status_word(status: Option<FindingStatus>) -> &'static str {
    match status {
        None => "",
        Some(FindingStatus::New) => "new",
        Some(FindingStatus::StillFailing) => "still failing",
        Some(FindingStatus::Fixed) => "fixed",
    }
}

/// Findings as aligned rows: status (with a baseline), id, seeds, first
/// seed, cause; the repro and the shrunk file below each.
fn finding_rows(out: &mut String, findings: &[Finding], with_status: bool, style: Style) {
    let seeds = findings
        .iter()
        .map(|f| f.seeds.to_string().len())
        .max()
        .unwrap_or(0)
        .max("seeds".len());
    let first = findings
        .iter()
        .map(|f| f.first_seed.to_string().len())
        .max()
        .unwrap_or(0)
        .max("first".len());
    let status = if with_status {
        "still failing".len() + 2
    } else {
        0
    };
    let _ = writeln!(
        out,
        "      {:status$}{:<12}  {:>seeds$}  {:>first$}  cause",
        if with_status { "status" } else { "" },
        "id",
        "seeds",
        "first"
    );
    let indent = 6 + status + 12 + 2 + seeds + 2 + first + 2;
    for f in findings {
        let word = status_word(f.status);
        let word = if with_status {
            let padded = format!("{word:status$}");
            match f.status {
                Some(FindingStatus::New) => style.red(&padded),
                Some(FindingStatus::Fixed) => style.green(&padded),
                _ => padded,
            }
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "      {word}{:<12}  {:>seeds$}  {:>first$}  {}",
            visible(&f.id),
            f.seeds,
            f.first_seed,
            visible(&f.title)
        );
        let _ = writeln!(out, "{:indent$}repro: {}", "", visible(&f.repro));
        if let Some(shrunk) = &f.shrunk {
            let _ = writeln!(out, "{:indent$}shrunk: {}", "", visible(shrunk));
        }
    }
}

fn human_findings(out: &mut String, report: &SweepReport, style: Style) {
    let f = &report.findings;
    let with_status = f.baseline.is_some();
    if !f.listed.is_empty() {
        let _ = writeln!(
            out,
            "    {}:",
            style.bold(&format!(
                "findings: {} of {}",
                counted(f.listed.len() as u64, "cause"),
                counted(report.summary.failed, "failing seed")
            ))
        );
        finding_rows(out, &f.listed, with_status, style);
        if f.not_listed > 0 {
            let _ = writeln!(
                out,
                "      ... and {} more failing seeds of causes beyond the first {} (counted, not listed)",
                f.not_listed,
                f.listed.len()
            );
        }
    }
    if let Some(b) = &f.baseline {
        let (new, still) = f.listed.iter().fold((0, 0), |(n, s), x| match x.status {
            Some(FindingStatus::New) => (n + 1, s),
            Some(FindingStatus::StillFailing) => (n, s + 1),
            _ => (n, s),
        });
        let _ = writeln!(
            out,
            "    against {}: {new} new · {still} still failing · {} fixed",
            visible(&b.file),
            b.fixed.len()
        );
        if !b.fixed.is_empty() {
            finding_rows(out, &b.fixed, true, style);
        }
    }
}

/// The name a goal is shown by: the scenario's own are marked.
fn goal_label(goal: &str, kind: GoalKind) -> String {
    match kind {
        GoalKind::BuiltIn => visible(goal).into_owned(),
        GoalKind::Scenario => format!("{} (scenario)", visible(goal)),
    }
}

/// What a guided sweep did: how its runs were spent, why it stopped, and
/// each run that reached something new, with the branch that reruns it.
fn human_guided(out: &mut String, report: &SweepReport) {
    let Some(g) = &report.guided else { return };
    let stopped = match g.stopped {
        rollout_explore::GuidedStop::SeedBudget => "at the seed budget".to_string(),
        rollout_explore::GuidedStop::Plateau => format!(
            "at a plateau: {} runs in a row reached nothing new",
            g.settings.plateau
        ),
        rollout_explore::GuidedStop::Cancelled => "when cancelled (SIGINT or SIGTERM)".to_string(),
    };
    let first = g
        .first_failing_run
        .map(|r| format!(" · first failure at run {r}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "    guided: {} + {} (energy {}) · {} coverage states{first} · stopped {stopped}",
        counted(g.seeds, "seed"),
        if g.branches == 1 {
            "1 branch".to_string()
        } else {
            format!("{} branches", g.branches)
        },
        g.settings.energy,
        g.states
    );
    let shown = 12;
    for d in g.discoveries.iter().take(shown) {
        let at = if d.branch.is_empty() {
            format!("seed {}", d.seed)
        } else {
            format!("seed {} branch {}", d.seed, d.branch)
        };
        let _ = writeln!(
            out,
            "      run {:>6}  {at}: {}",
            d.run,
            visible(&d.reached.join(", "))
        );
    }
    if g.discoveries.len() > shown {
        let _ = writeln!(
            out,
            "      ... and {} more runs that reached something new (see --format json)",
            g.discoveries.len() - shown
        );
    }
}

/// The guided part of the HTML page.
fn html_guided(report: &SweepReport) -> String {
    let Some(g) = &report.guided else {
        return String::new();
    };
    let mut rows = String::new();
    for d in &g.discoveries {
        let _ = write!(
            rows,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td><code>{}</code></td><td>{}</td></tr>",
            d.run,
            d.seed,
            esc(&d.branch.to_string()),
            esc(&d.reached.join(", "))
        );
    }
    format!(
        "<h2>Guided exploration</h2><p>{} seeds and {} branches (energy {}, plateau {}); {} coverage states; stopped: {}.</p><table><thead><tr><th>run</th><th>seed</th><th>branch</th><th>reached first</th></tr></thead><tbody>{rows}</tbody></table>",
        g.seeds,
        g.branches,
        g.settings.energy,
        g.settings.plateau,
        g.states,
        g.stopped.as_str()
    )
}

/// The coverage block: every goal with the seeds that reached it and the
/// first, aligned; then the goals no seed reached, the scenario's own in
/// red, since those fail the sweep.
fn human_coverage(out: &mut String, report: &SweepReport, style: Style) {
    let goals = &report.coverage.goals;
    if goals.is_empty() {
        return;
    }
    let labels: Vec<String> = goals.iter().map(|g| goal_label(&g.goal, g.kind)).collect();
    let name = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let seeds = goals
        .iter()
        .map(|g| g.seeds.to_string().len())
        .max()
        .unwrap_or(0)
        .max("seeds".len());
    let _ = writeln!(
        out,
        "    {:<width$}  {:>seeds$}  first seed",
        "coverage",
        "seeds",
        width = name + 2
    );
    for (g, label) in goals.iter().zip(&labels) {
        let first = g
            .first_seed
            .map_or_else(|| "-".to_string(), |s| s.to_string());
        let pad = name - label.chars().count();
        let _ = writeln!(
            out,
            "      {label}{:pad$}  {:>seeds$}  {first}",
            "", g.seeds
        );
    }
    let unreached: Vec<&str> = report
        .coverage
        .unreached()
        .filter(|g| g.kind == GoalKind::BuiltIn)
        .map(|g| g.goal.as_str())
        .collect();
    if !unreached.is_empty() {
        let _ = writeln!(out, "    unreached: {}", visible(&unreached.join(", ")));
    }
    let own: Vec<&str> = report
        .coverage
        .scenario_unreached()
        .map(|g| g.goal.as_str())
        .collect();
    if !own.is_empty() {
        let line = format!(
            "scenario goals no seed reached (expect.sometimes): {}",
            visible(&own.join(", "))
        );
        let _ = writeln!(out, "    {}", style.red(&line));
    }
}

/// The coverage table of the HTML page.
fn html_coverage(report: &SweepReport) -> String {
    let goals = &report.coverage.goals;
    if goals.is_empty() {
        return "<p>Not recorded in this report.</p>".to_string();
    }
    let mut rows = String::new();
    for g in goals {
        let first = g
            .first_seed
            .map_or_else(|| "-".to_string(), |s| s.to_string());
        let class = match (g.seeds, g.kind) {
            (0, GoalKind::Scenario) => " class=\"bad\"",
            (0, GoalKind::BuiltIn) => " class=\"empty\"",
            _ => "",
        };
        let _ = write!(
            rows,
            "<tr{class}><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{first}</td></tr>",
            esc(&g.goal),
            g.kind.as_str(),
            g.seeds
        );
    }
    let mut out = format!(
        "<table><thead><tr><th>goal</th><th>kind</th><th>seeds</th><th>first seed</th></tr></thead><tbody>{rows}</tbody></table>"
    );
    let unreached: Vec<String> = report.coverage.unreached().map(|g| esc(&g.goal)).collect();
    if !unreached.is_empty() {
        let _ = write!(out, "<p>Unreached: {}.</p>", unreached.join(", "));
    }
    out
}

fn row(name: &str, d: &Distribution) -> String {
    match &d.summary {
        Some(s) => format!(
            "{name:<30} {:>7} {:>7} {:>7} {:>7} {:>7}",
            s.min, s.p50, s.p90, s.p99, s.max
        ),
        None => format!("{name:<30} {:>7}", "none"),
    }
}

/// `text` with every control character (C0, DEL and C1) written as a
/// Rust-style escape, `\u{1b}`: safe on a terminal and in XML alike.
fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The terminal summary of a sweep.
pub fn render_human(report: &SweepReport, style: Style) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let shards = if report.shard_count > 1 {
        let partial = if report.partial { " (partial)" } else { "" };
        format!(
            " · shards {:?} of {}{partial}",
            report.shards, report.shard_count
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{} {} ({}) · seeds {}{shards} · engine {}",
        style.bold("Explored"),
        visible(&report.name),
        visible(&report.file),
        report.seeds,
        report.engine
    );
    let rate = if report.wall_time_ms > 0.0 {
        s.runs as f64 / (report.wall_time_ms / 1e3)
    } else {
        0.0
    };
    let failed = if s.failed > 0 {
        style.red(&format!("failed {}", s.failed))
    } else {
        format!("failed {}", s.failed)
    };
    let _ = writeln!(
        out,
        "    runs {} · passed {} · {failed} · {:.2}s ({rate:.0} seeds/s)",
        s.runs,
        s.passed,
        report.wall_time_ms / 1e3
    );
    if report.cancelled {
        let _ = writeln!(
            out,
            "    {}",
            style.red(&format!(
                "cancelled after {} runs: the report holds the runs that finished (partial)",
                s.runs
            ))
        );
    }
    let _ = writeln!(
        out,
        "    {:<30} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "", "min", "p50", "p90", "p99", "max"
    );
    let _ = writeln!(
        out,
        "    {}",
        row("poll failures per rollout", &s.poll_failures_per_rollout)
    );
    let _ = writeln!(
        out,
        "    {}",
        row("backoff ms per rollout", &s.backoff_ms_per_rollout)
    );
    let _ = writeln!(
        out,
        "    {}",
        row("time to all terminal (ms)", &s.time_to_all_terminal_ms)
    );
    human_guided(&mut out, report);
    human_coverage(&mut out, report, style);
    human_findings(&mut out, report, style);
    if !s.failing.is_empty() {
        let _ = writeln!(out, "    failing seeds:");
        for f in s.failing.iter().take(20) {
            let at = if f.branch.is_empty() {
                format!("seed {}:", f.seed)
            } else {
                format!("seed {} branch {}:", f.seed, f.branch)
            };
            let _ = writeln!(
                out,
                "      {} {}",
                style.red(&at),
                visible(&f.first_failure)
            );
            let _ = writeln!(out, "        repro: {}", visible(&f.repro));
        }
        if s.failing.len() > 20 {
            let _ = writeln!(
                out,
                "      ... and {} more (see --format json)",
                s.failing.len() - 20
            );
        }
        if s.failing_not_listed > 0 {
            let _ = writeln!(
                out,
                "      ... and {} more failing seeds beyond the first {} (counted, not listed)",
                s.failing_not_listed,
                s.failing.len()
            );
        }
    }
    out
}

fn esc(t: &str) -> String {
    visible(t)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The height of a bar of `count` out of a tallest `top`, on `room`
/// pixels: on a log scale (`log(1 + count)`), so that a value seen once
/// among a hundred thousand still shows (a linear axis would give it a
/// thousandth of a pixel), and at least 2 pixels for any count but 0.
fn bar_height(count: u64, top: u64, room: f64) -> f64 {
    if count == 0 || top == 0 {
        return 0.0;
    }
    let scaled = (count as f64).ln_1p() / (top as f64).ln_1p() * room;
    scaled.max(2.0)
}

/// An inline SVG bar chart of a histogram, values grouped into at most 40
/// bins. Counts are on a log scale, each bar is labelled with its count
/// where the label fits above it, and every bar's range and count are in
/// its `<title>` (shown on hover).
fn histogram_svg(title: &str, unit: &str, d: &Distribution) -> String {
    let (w, h, left, bottom) = (560.0, 220.0, 48.0, 36.0);
    let mut out = format!("<figure><figcaption>{}</figcaption>", esc(title));
    let (Some(min), Some(max)) = (
        d.histogram.0.keys().next().copied(),
        d.histogram.0.keys().next_back().copied(),
    ) else {
        out.push_str("<p class=\"empty\">no observations</p></figure>");
        return out;
    };
    // In u128: a read report's values may span all of u64.
    let span = u128::from(max - min) + 1;
    let bins = span.min(40);
    let width = span.div_ceil(bins);
    let mut counts = vec![0u64; bins as usize];
    for (&v, &n) in &d.histogram.0 {
        let bin = (u128::from(v - min) / width) as usize;
        counts[bin] = counts[bin].saturating_add(n);
    }
    let top = counts.iter().copied().max().unwrap_or(0);
    let bar = (w - left - 10.0) / bins as f64;
    // Room for the bars, under the count labels.
    let room = h - bottom - 28.0;
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\">"
    );
    for (i, &c) in counts.iter().enumerate() {
        let bh = bar_height(c, top, room);
        let x = left + i as f64 * bar;
        let lo = u128::from(min) + i as u128 * width;
        let hi = lo + width - 1;
        let label = if width == 1 {
            format!("{lo}")
        } else {
            format!("{lo}–{hi}")
        };
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#3b6fd6\"><title>{label} {unit}: {c}</title></rect>",
            h - bottom - bh,
            (bar - 2.0).max(1.0)
        );
        // The count above its bar, where it fits in the bar's width (at
        // about 5.5 pixels a digit).
        let digits = c.to_string();
        if c > 0 && digits.len() as f64 * 5.5 <= bar - 1.0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#333\" class=\"count\">{digits}</text>",
                x + bar / 2.0,
                h - bottom - bh - 3.0
            );
        }
        if bins <= 12 || i % (bins as usize / 8).max(1) == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{lo}</text>",
                x + bar / 2.0,
                h - bottom + 14.0
            );
        }
    }
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#333\"/><text x=\"{2}\" y=\"{3}\" font-size=\"11\" text-anchor=\"middle\">{unit}</text><text x=\"{left}\" y=\"12\" font-size=\"10\">count, log scale (max {top})</text></svg>",
        h - bottom,
        w - 10.0,
        (w + left) / 2.0,
        h - 6.0
    );
    if let Some(s) = &d.summary {
        let _ = write!(
            out,
            "<p class=\"stats\">min {} · p50 {} · p90 {} · p99 {} · max {} ({} observations)</p>",
            s.min, s.p50, s.p90, s.p99, s.max, s.count
        );
    }
    out.push_str("</figure>");
    out
}

fn html_findings(report: &SweepReport) -> String {
    let f = &report.findings;
    let with_status = f.baseline.is_some();
    let table = |findings: &[Finding]| {
        let mut rows = String::new();
        for x in findings {
            let status = if with_status {
                format!("<td>{}</td>", status_word(x.status))
            } else {
                String::new()
            };
            let shrunk = x
                .shrunk
                .as_ref()
                .map(|p| format!("<br>shrunk: <code>{}</code>", esc(p)))
                .unwrap_or_default();
            let _ = write!(
                rows,
                "<tr>{status}<td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td><code>{}</code>{shrunk}</td></tr>",
                esc(&x.id),
                x.seeds,
                x.first_seed,
                esc(&x.title),
                esc(&x.repro)
            );
        }
        let status = if with_status { "<th>status</th>" } else { "" };
        format!(
            "<table><thead><tr>{status}<th>id</th><th>seeds</th><th>first seed</th><th>cause</th><th>repro</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let mut out = if f.listed.is_empty() {
        "<p>No finding: no seed failed.</p>".to_string()
    } else {
        let mut t = format!(
            "<p>{} of {}.</p>{}",
            counted(f.listed.len() as u64, "cause"),
            counted(report.summary.failed, "failing seed"),
            table(&f.listed)
        );
        if f.not_listed > 0 {
            let _ = write!(
                t,
                "<p>and {} more failing seeds of causes beyond the first {} (counted, not listed)</p>",
                f.not_listed,
                f.listed.len()
            );
        }
        t
    };
    if let Some(b) = &f.baseline {
        let _ = write!(out, "<h3>Fixed since {}</h3>", esc(&b.file));
        if b.fixed.is_empty() {
            out.push_str("<p>None: every baseline finding still fails.</p>");
        } else {
            out.push_str(&table(&b.fixed));
        }
    }
    out
}

/// JUnit XML for a sweep, one suite named `explore {name}` whose
/// properties are the file, its hash, the engine, the seeds, how many ran
/// and how many failed. A test case per finding, failing with its seed
/// count, first seed and repro; one for the failing seeds of causes not
/// listed, if any; with a baseline, each fixed finding is a passing case;
/// a failing case per goal of the scenario's own that no seed reached.
/// With no failing seed, one passing case, `seeds {range}`, says so: a
/// clean sweep is a green test, not an empty file.
pub fn render_junit(report: &SweepReport) -> String {
    use super::machine::Engine;
    use super::machine::junit::{
        Case, CaseResult, Document, Problem, ProblemKind, Property, REPORT_NAME, Suite,
    };
    let s = &report.summary;
    let case = |name: String, result: CaseResult, system_out| Case {
        name,
        classname: report.name.clone(),
        time: None,
        result,
        system_out,
    };
    let facts = |f: &Finding| {
        let mut out = vec![
            ("id", f.id.clone()),
            ("seeds", f.seeds.to_string()),
            ("first_seed", f.first_seed.to_string()),
        ];
        if !f.first_branch.is_empty() {
            out.push(("first_branch", f.first_branch.to_string()));
        }
        // Without a baseline a finding has no status to show.
        if f.status.is_some() {
            out.push(("status", status_word(f.status).to_string()));
        }
        out.push(("repro", f.repro.clone()));
        if let Some(path) = &f.shrunk {
            out.push(("shrunk", path.clone()));
        }
        out
    };
    let mut cases = Vec::new();
    for f in &report.findings.listed {
        let shrunk = f
            .shrunk
            .as_ref()
            .map(|p| format!("\nshrunk: {p}"))
            .unwrap_or_default();
        let problem = Problem {
            kind: ProblemKind::Finding,
            message: format!(
                "{} {} this way, first seed {}; repro: {}",
                counted(f.seeds, "seed"),
                if f.seeds == 1 { "fails" } else { "fail" },
                f.first_seed,
                f.repro
            ),
            text: format!("{}\nrepro: {}{shrunk}", f.title, f.repro),
        };
        cases.push(case(
            format!("{}: {}", f.id, f.title),
            CaseResult::Failed(problem),
            facts(f),
        ));
    }
    if report.findings.not_listed > 0 {
        let message = format!(
            "{} of causes beyond the first {} {} (counted, not listed)",
            counted(report.findings.not_listed, "seed"),
            report.findings.listed.len(),
            if report.findings.not_listed == 1 {
                "fails"
            } else {
                "fail"
            },
        );
        let problem = Problem {
            kind: ProblemKind::UnlistedFindings,
            text: message.clone(),
            message,
        };
        cases.push(case(
            "causes not listed".to_string(),
            CaseResult::Failed(problem),
            Vec::new(),
        ));
    }
    for f in report.findings.baseline.iter().flat_map(|b| &b.fixed) {
        cases.push(case(
            format!("{}: {}", f.id, f.title),
            CaseResult::Passed,
            facts(f),
        ));
    }
    // A shard alone, or a cancelled sweep, cannot say no seed of the
    // sweep reaches a goal.
    let whole = report.is_complete();
    for goal in report.coverage.scenario_unreached().filter(|_| whole) {
        let message = format!("no seed of {} reached it (expect.sometimes)", report.seeds);
        let problem = Problem {
            kind: ProblemKind::UnreachedGoal,
            text: message.clone(),
            message,
        };
        cases.push(case(
            format!("goal {}", goal.goal),
            CaseResult::Failed(problem),
            Vec::new(),
        ));
    }
    if report.cancelled {
        // A run that did not finish is not a pass: the seeds not run are
        // an `<error>`, and no passing case stands for the range.
        let message = format!(
            "cancelled (SIGINT or SIGTERM) after {} runs of seeds {}: the seeds not run are not judged",
            s.runs, report.seeds
        );
        cases.push(case(
            "cancelled".to_string(),
            CaseResult::Error(Problem {
                kind: ProblemKind::Cancelled,
                text: message.clone(),
                message,
            }),
            Vec::new(),
        ));
    } else if s.failed == 0 {
        cases.push(case(
            format!("seeds {}", report.seeds),
            CaseResult::Passed,
            vec![(
                "passed",
                format!("{} of {}", s.passed, counted(s.runs, "seed")),
            )],
        ));
    }
    let properties = [
        ("file", report.file.clone()),
        ("scenario_hash", report.scenario_hash.clone()),
        ("engine", Engine::from(report.engine).as_str().to_string()),
        ("seeds", report.seeds.to_string()),
        ("runs", s.runs.to_string()),
        ("failed", s.failed.to_string()),
    ]
    .into_iter()
    .map(|(name, value)| Property { name, value })
    .collect();
    let doc = Document {
        name: REPORT_NAME,
        suites: vec![Suite {
            name: format!("explore {}", report.name),
            time: std::time::Duration::from_secs_f64(report.wall_time_ms.max(0.0) / 1e3),
            properties,
            cases,
        }],
    };
    super::junit::render_document(&doc)
}

/// A self-contained HTML page for a sweep.
pub fn render_html(report: &SweepReport) -> String {
    let s = &report.summary;
    let mut failing = String::new();
    for f in &s.failing {
        let _ = write!(
            failing,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            f.seed,
            if f.branch.is_empty() {
                String::new()
            } else {
                format!(" branch {}", esc(&f.branch.to_string()))
            },
            esc(&f.failed.join(", ")),
            esc(&f.first_failure),
            esc(&f.repro)
        );
    }
    let failing = if s.failing.is_empty() {
        "<p>No seed failed.</p>".to_string()
    } else {
        let more = if s.failing_not_listed > 0 {
            format!(
                "<p>and {} more failing seeds beyond the first {} (counted, not listed)</p>",
                s.failing_not_listed,
                s.failing.len()
            )
        } else {
            String::new()
        };
        format!(
            "<table><thead><tr><th>seed</th><th>failed</th><th>first failure</th><th>repro</th></tr></thead><tbody>{failing}</tbody></table>{more}"
        )
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>rollout-sim sweep: {name}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #222; }}
h1 {{ font-size: 1.4em; }} .meta {{ color: #555; }}
.verdict {{ font-size: 1.1em; }} .bad {{ color: #c62828; font-weight: bold; }} .good {{ color: #2e7d32; font-weight: bold; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 1.5em; }}
figure {{ margin: 0; }} figcaption {{ font-weight: bold; margin-bottom: .3em; }}
.stats, .empty {{ color: #555; font-size: .9em; }}
table {{ border-collapse: collapse; margin-top: .5em; }} td, th {{ border: 1px solid #ddd; padding: .3em .6em; text-align: left; font-size: .9em; vertical-align: top; }}
code {{ font-size: .85em; }} td.n {{ text-align: right; }}
</style></head><body>
<h1>Sweep of {name}</h1>
<p class="meta">{file} · scenario hash {hash} · seeds {seeds} · engine {engine} · shards {shards:?} of {shard_count}{partial} · rollout-sim {version}</p>
<p class="verdict">{runs} runs: <span class="good">{passed} passed</span>, <span class="{failed_class}">{failed} failed</span> · {secs:.2}s</p>
<div class="charts">{h1}{h2}{h3}</div>
{guided}<h2>Coverage</h2>
{coverage}
<h2>Findings</h2>
{findings}
<h2>Failing seeds</h2>
{failing}
</body></html>
"#,
        name = esc(&report.name),
        findings = html_findings(report),
        coverage = html_coverage(report),
        guided = html_guided(report),
        file = esc(&report.file),
        hash = esc(&report.scenario_hash),
        seeds = report.seeds,
        partial = match (report.cancelled, report.partial) {
            (true, _) => " (cancelled, partial)",
            (false, true) => " (partial)",
            (false, false) => "",
        },
        engine = report.engine,
        shards = report.shards,
        shard_count = report.shard_count,
        version = esc(&report.tool_version),
        runs = s.runs,
        passed = s.passed,
        failed = s.failed,
        failed_class = if s.failed > 0 { "bad" } else { "good" },
        secs = report.wall_time_ms / 1e3,
        h1 = histogram_svg(
            "Poll failures per rollout",
            "failures",
            &s.poll_failures_per_rollout
        ),
        h2 = histogram_svg("Backoff per rollout", "ms", &s.backoff_ms_per_rollout),
        h3 = histogram_svg(
            "Time until every rollout ended",
            "ms",
            &s.time_to_all_terminal_ms
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollout_explore::Histogram;
    use std::collections::BTreeMap;

    /// The bars of a chart: (title, height), in order.
    fn bars(svg: &str) -> Vec<(String, f64)> {
        svg.split("<rect ")
            .skip(1)
            .map(|rect| {
                let h = rect.split("height=\"").nth(1).unwrap();
                let h: f64 = h[..h.find('"').unwrap()].parse().unwrap();
                let t = rect.split("<title>").nth(1).unwrap();
                (t[..t.find("</title>").unwrap()].to_string(), h)
            })
            .collect()
    }

    #[test]
    fn a_rare_value_stays_visible_and_counted_beside_a_common_one() {
        // 100,000 seeds with 0 retries, one with 7.
        let histogram = Histogram(BTreeMap::from([(0, 100_000), (7, 1)]));
        let d = Distribution {
            summary: None,
            histogram,
        };
        let svg = histogram_svg("Retries", "retries", &d);
        let bars = bars(&svg);
        assert_eq!(bars.len(), 8, "one bin a value from 0 to 7");
        assert_eq!(bars[0].0, "0 retries: 100000");
        assert_eq!(bars[7].0, "7 retries: 1");
        // Log scale: log(2)/log(100001) of the 156 pixels, not 1/100000.
        let room = 220.0 - 36.0 - 28.0;
        assert!((bars[0].1 - room).abs() < 0.05, "{}", bars[0].1);
        let rare = 2f64.ln() / 100_001f64.ln() * room;
        assert!((bars[7].1 - rare).abs() < 0.05, "{} vs {rare}", bars[7].1);
        assert!(bars[7].1 >= 9.0);
        for empty in &bars[1..7] {
            assert_eq!(empty.1, 0.0, "{}", empty.0);
        }
        // Each non-empty bar is labelled with its count.
        let counts: Vec<&str> = svg
            .split("class=\"count\">")
            .skip(1)
            .map(|t| &t[..t.find('<').unwrap()])
            .collect();
        assert_eq!(counts, ["100000", "1"]);
        assert!(svg.contains("count, log scale (max 100000)"));
    }

    #[test]
    fn every_non_zero_count_gets_at_least_two_pixels() {
        assert_eq!(bar_height(0, 10, 100.0), 0.0);
        assert_eq!(bar_height(1, u64::MAX, 100.0), 2.0);
        assert_eq!(bar_height(10, 10, 100.0), 100.0);
    }
}
