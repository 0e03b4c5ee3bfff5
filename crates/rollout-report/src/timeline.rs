//! The timeline picture: virtual time across, one lane per worker.
//!
//! Each lane shows poll ticks (grey marks), heartbeats (blue dots), poll
//! failures (red crosses), backoff sleeps (orange bars labelled with their
//! length), attempts (bars coloured by outcome, labelled with the attempt id)
//! and crashes and restarts (black markers). Turmoil runs add the network:
//! a worker's link to the queue partitioned (purple band) or held (yellow
//! band), messages dropped to or from the worker (purple triangles), and
//! events that touch every lane (the queue bounced, latency set) as dashed
//! lines across the panel. One panel per scenario run, each with a time
//! axis and a legend (network items only when the run has them). Plain SVG,
//! no scripts, so it opens anywhere.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::ScenarioReport;
use rollout_core::{QueueOp, WorkerId};
use rollout_scenario::format_duration;
use rollout_simulator::RunResult;
use rollout_simulator::{CallResult, EventKind, LinkChange};

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 120.0;
const RIGHT: f64 = 30.0;
const LANE: f64 = 64.0;
const HEADER: f64 = 58.0;
const FOOTER: f64 = 56.0;
/// Shapes drawn per panel at most, so a huge run still gives a usable file.
const MAX_SHAPES: usize = 20_000;

/// Ids, names and messages come from the scenario (or a library user's
/// plan): markup and control characters are escaped so the SVG stays
/// well-formed XML.
fn esc(text: &str) -> String {
    super::escape::xml(text)
}

/// A tick spacing of 1, 2 or 5 times a power of ten giving about 10 ticks.
fn tick_step(total_ms: f64) -> f64 {
    let raw = (total_ms / 10.0).max(1e-3);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power)
}

enum Bar {
    Attempt {
        label: String,
        start: Duration,
        end: Duration,
        outcome: &'static str,
    },
    Backoff {
        start: Duration,
        end: Duration,
        ms: u64,
    },
}

#[derive(Default)]
struct Lane {
    polls: Vec<Duration>,
    heartbeats: Vec<Duration>,
    failures: Vec<(Duration, String)>,
    bars: Vec<Bar>,
    marks: Vec<(Duration, &'static str)>,
    /// Spans of the worker's links cut off (partitioned or held), with the
    /// other host.
    links: Vec<LinkBand>,
    /// Segments dropped to or from the worker, with a description.
    drops: Vec<(Duration, String)>,
}

struct LinkBand {
    start: Duration,
    end: Duration,
    held: bool,
    label: String,
}

/// What a panel draws: the workers' lanes and the events of every lane.
struct Picture {
    lanes: BTreeMap<WorkerId, Lane>,
    /// Events that touch every lane: the queue bounced, the latency set.
    across: Vec<(Duration, String)>,
}

impl Picture {
    fn has_network(&self) -> bool {
        !self.across.is_empty()
            || self
                .lanes
                .values()
                .any(|l| !l.links.is_empty() || !l.drops.is_empty())
    }
}

/// The other host of a link and the worker whose lane shows it: links name
/// `queue` or worker ids.
fn link_lanes<'a>(a: &'a str, b: &'a str) -> Vec<(&'a str, &'a str)> {
    match (a, b) {
        ("queue", w) | (w, "queue") => vec![(w, "queue")],
        (w1, w2) => vec![(w1, w2), (w2, w1)],
    }
}

fn picture(run: &RunResult) -> Picture {
    let mut lanes: BTreeMap<WorkerId, Lane> = BTreeMap::new();
    let mut across = Vec::new();
    // Links cut off and not yet restored: (worker, other host) to (start, held).
    let mut open_links: BTreeMap<(String, String), (Duration, bool)> = BTreeMap::new();
    let mut open_attempt: BTreeMap<WorkerId, (String, Duration)> = BTreeMap::new();
    let mut open_backoff: BTreeMap<WorkerId, (Duration, u64)> = BTreeMap::new();
    let mut timed_out = std::collections::BTreeSet::new();
    for event in &run.trace.events {
        if let EventKind::Call {
            result: CallResult::TimedOut { attempts },
            ..
        } = &event.kind
        {
            timed_out.extend(attempts.iter().map(|a| a.to_string()));
        }
        match &event.kind {
            EventKind::Link { change, a, b } => {
                // A link is in one state at a time, as in turmoil: a
                // partition or hold replaces what the link was, a repair or
                // release heals it whatever it was.
                for (worker, other) in link_lanes(a, b) {
                    let key = (worker.to_string(), other.to_string());
                    let held = match change {
                        LinkChange::Partition => Some(false),
                        LinkChange::Hold => Some(true),
                        LinkChange::Repair | LinkChange::Release => None,
                    };
                    if let Some(&(_, open_held)) = open_links.get(&key)
                        && Some(open_held) == held
                    {
                        continue;
                    }
                    if let Some((start, was_held)) = open_links.remove(&key) {
                        lanes
                            .entry(WorkerId::new(worker))
                            .or_default()
                            .links
                            .push(LinkBand {
                                start,
                                end: event.at,
                                held: was_held,
                                label: other.to_string(),
                            });
                    }
                    if let Some(held) = held {
                        open_links.insert(key, (event.at, held));
                    }
                }
                continue;
            }
            EventKind::MessageDropped { from, to, segment } => {
                for worker in [from, to] {
                    if worker != "queue" {
                        lanes
                            .entry(WorkerId::new(worker))
                            .or_default()
                            .drops
                            .push((event.at, format!("{segment} {from} to {to} dropped")));
                    }
                }
                continue;
            }
            EventKind::QueueBounced => {
                across.push((event.at, "queue bounced".to_string()));
                continue;
            }
            EventKind::Healed => {
                across.push((event.at, "healed: no fault from now on".to_string()));
                continue;
            }
            EventKind::Latency { fixed_ms } => {
                across.push((
                    event.at,
                    match fixed_ms {
                        Some(ms) => format!("latency {ms}ms"),
                        None => "latency as configured".to_string(),
                    },
                ));
                continue;
            }
            _ => {}
        }
        let Some(worker) = &event.worker else {
            continue;
        };
        let lane = lanes.entry(worker.clone()).or_default();
        let t = event.at;
        let mut close_attempt = |lane: &mut Lane, outcome: &'static str| {
            if let Some((label, start)) = open_attempt.remove(worker) {
                let outcome = if outcome == "succeeded" && timed_out.contains(&label) {
                    "timeout"
                } else {
                    outcome
                };
                lane.bars.push(Bar::Attempt {
                    label,
                    start,
                    end: t,
                    outcome,
                });
            }
        };
        match &event.kind {
            EventKind::PollTick => lane.polls.push(t),
            EventKind::Call {
                op: QueueOp::Heartbeat,
                result: CallResult::Ok,
                ..
            } => lane.heartbeats.push(t),
            EventKind::Call {
                op,
                result: CallResult::Failed { message, .. },
                ..
            } => lane.failures.push((t, format!("{op}: {message}"))),
            EventKind::AttemptStarted { attempt, .. } => {
                open_attempt.insert(worker.clone(), (attempt.to_string(), t));
            }
            EventKind::AttemptFinished {
                status, recorded, ..
            } => close_attempt(
                lane,
                if *recorded {
                    status.as_str()
                } else {
                    "timeout"
                },
            ),
            EventKind::PollFailed { delay_ms, .. } => {
                close_attempt(lane, "lost");
                open_backoff.insert(worker.clone(), (t, *delay_ms));
            }
            EventKind::BackoffEnded { .. } => {
                if let Some((start, ms)) = open_backoff.remove(worker) {
                    lane.bars.push(Bar::Backoff { start, end: t, ms });
                }
            }
            EventKind::WorkerCrashed => {
                close_attempt(lane, "lost");
                if let Some((start, ms)) = open_backoff.remove(worker) {
                    lane.bars.push(Bar::Backoff { start, end: t, ms });
                }
                lane.marks.push((t, "crash"));
            }
            EventKind::WorkerRestarted => lane.marks.push((t, "restart")),
            EventKind::WorkerFailed { .. } => lane.marks.push((t, "runner failed")),
            _ => {}
        }
    }
    let end = run.ended_at;
    for (worker, (label, start)) in open_attempt {
        if let Some(lane) = lanes.get_mut(&worker) {
            lane.bars.push(Bar::Attempt {
                label,
                start,
                end,
                outcome: "running",
            });
        }
    }
    for (worker, (start, ms)) in open_backoff {
        if let Some(lane) = lanes.get_mut(&worker) {
            lane.bars.push(Bar::Backoff { start, end, ms });
        }
    }
    for ((worker, other), (start, held)) in open_links {
        lanes
            .entry(WorkerId::new(&worker))
            .or_default()
            .links
            .push(LinkBand {
                start,
                end,
                held,
                label: other,
            });
    }
    Picture { lanes, across }
}

fn attempt_color(outcome: &str) -> &'static str {
    match outcome {
        "succeeded" => "#2e9d52",
        "failed" => "#d64545",
        "running" => "#6b8fd6",
        _ => "#9a9a9a",
    }
}

fn panel(out: &mut String, top: f64, report: &ScenarioReport, run: &RunResult) -> f64 {
    let picture = picture(run);
    let lanes = &picture.lanes;
    let total_ms = (run.ended_at.as_secs_f64() * 1e3).max(1.0);
    let plot = WIDTH - LEFT - RIGHT;
    let x = |t: Duration| LEFT + t.as_secs_f64() * 1e3 / total_ms * plot;
    // The network's legend items take a second row.
    let legend_rows = if picture.has_network() { 2.0 } else { 1.0 };
    let height = HEADER + LANE * lanes.len().max(1) as f64 + FOOTER + (legend_rows - 1.0) * 18.0;
    let _ = writeln!(
        out,
        r##"<g transform="translate(0,{top})"><text x="16" y="22" font-size="15" font-weight="bold">{}</text><text x="16" y="40" font-size="11" fill="#555">{} · seed {} · engine {} · virtual time {} · trace {} · {}</text>"##,
        esc(&report.name),
        esc(&report.file),
        report.seed,
        report.engine,
        format_duration(run.ended_at),
        report.trace_hash,
        if report.passed { "PASS" } else { "FAIL" }
    );
    let lanes_top = HEADER;
    let lanes_bottom = HEADER + LANE * lanes.len().max(1) as f64;
    // Axis: grid lines and labels every step.
    let step = tick_step(total_ms);
    let mut t = 0.0;
    while t <= total_ms + 1e-9 {
        let px = LEFT + t / total_ms * plot;
        let label = format_duration(Duration::from_secs_f64(t / 1e3));
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{lanes_top}" x2="{px:.1}" y2="{lanes_bottom}" stroke="#e4e4e4"/><text x="{px:.1}" y="{:.1}" font-size="10" fill="#555" text-anchor="middle">{label}</text>"##,
            lanes_bottom + 14.0
        );
        t += step;
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#555" text-anchor="end">virtual time</text>"##,
        WIDTH - RIGHT,
        lanes_bottom + 28.0
    );
    let mut shapes = 0usize;
    for (i, (worker, lane)) in lanes.iter().enumerate() {
        let y0 = lanes_top + LANE * i as f64;
        let mid = y0 + LANE / 2.0;
        let fill = if i % 2 == 0 { "#fafafa" } else { "#f2f2f2" };
        let _ = writeln!(
            out,
            r##"<rect x="{LEFT}" y="{y0}" width="{plot}" height="{LANE}" fill="{fill}"/><text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text>"##,
            LEFT - 10.0,
            mid + 4.0,
            esc(worker.as_str())
        );
        for band in &lane.links {
            let (x0, x1) = (x(band.start), x(band.end).max(x(band.start) + 2.0));
            let (fill, what) = if band.held {
                ("#f3d250", "held")
            } else {
                ("#9b59b6", "partitioned")
            };
            let _ = writeln!(
                out,
                r##"<rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{LANE}" fill="{fill}" fill-opacity="0.25"><title>link to {} {what}: {} to {}</title></rect>"##,
                x1 - x0,
                esc(&band.label),
                format_duration(band.start),
                format_duration(band.end)
            );
        }
        for (t, what) in &lane.drops {
            if shapes < MAX_SHAPES {
                let (cx, cy) = (x(*t), y0 + LANE - 10.0);
                let _ = writeln!(
                    out,
                    r##"<path d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="#8e44ad"><title>{}</title></path>"##,
                    cx - 4.0,
                    cy - 4.0,
                    cx + 4.0,
                    cy - 4.0,
                    cx,
                    cy + 3.0,
                    esc(what)
                );
                shapes += 1;
            }
        }
        for &t in &lane.polls {
            if shapes < MAX_SHAPES {
                let _ = writeln!(
                    out,
                    r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#8a8a8a"/>"##,
                    x(t),
                    mid + 14.0,
                    mid + 24.0
                );
                shapes += 1;
            }
        }
        for &t in &lane.heartbeats {
            if shapes < MAX_SHAPES {
                let _ = writeln!(
                    out,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#3b6fd6"/>"##,
                    x(t),
                    y0 + 8.0
                );
                shapes += 1;
            }
        }
        for bar in &lane.bars {
            if shapes >= MAX_SHAPES {
                break;
            }
            shapes += 1;
            match bar {
                Bar::Attempt {
                    label,
                    start,
                    end,
                    outcome,
                } => {
                    let (x0, x1) = (x(*start), x(*end).max(x(*start) + 2.0));
                    let _ = writeln!(
                        out,
                        r##"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="18" rx="3" fill="{}"><title>{} {outcome}: {} to {}</title></rect><text x="{:.1}" y="{:.1}" font-size="10">{} {outcome}</text>"##,
                        mid - 9.0,
                        x1 - x0,
                        attempt_color(outcome),
                        esc(label),
                        format_duration(*start),
                        format_duration(*end),
                        x0,
                        mid - 13.0,
                        esc(label)
                    );
                }
                Bar::Backoff { start, end, ms } => {
                    let (x0, x1) = (x(*start), x(*end).max(x(*start) + 2.0));
                    let _ = writeln!(
                        out,
                        r##"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="10" fill="#f0a030"><title>backoff {ms}ms</title></rect><text x="{:.1}" y="{:.1}" font-size="10" fill="#a86400" text-anchor="middle">{ms}ms</text>"##,
                        mid - 5.0,
                        x1 - x0,
                        (x0 + x1) / 2.0,
                        mid - 8.0
                    );
                }
            }
        }
        for (t, message) in &lane.failures {
            if shapes < MAX_SHAPES {
                let (cx, cy) = (x(*t), mid);
                let _ = writeln!(
                    out,
                    r##"<g stroke="#d62020" stroke-width="2.2"><title>{}</title><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/></g>"##,
                    esc(message),
                    cx - 5.0,
                    cy - 5.0,
                    cx + 5.0,
                    cy + 5.0,
                    cx - 5.0,
                    cy + 5.0,
                    cx + 5.0,
                    cy - 5.0
                );
                shapes += 1;
            }
        }
        for (t, label) in &lane.marks {
            let px = x(*t);
            let _ = writeln!(
                out,
                r##"<line x1="{px:.1}" y1="{y0:.1}" x2="{px:.1}" y2="{:.1}" stroke="#111" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="10" font-weight="bold">{label}</text>"##,
                y0 + LANE,
                px + 3.0,
                y0 + LANE - 4.0
            );
        }
    }
    for (t, label) in &picture.across {
        let px = x(*t);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{lanes_top}" x2="{px:.1}" y2="{lanes_bottom}" stroke="#8e44ad" stroke-width="1.5" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" font-size="10" fill="#8e44ad">{}</text>"##,
            px + 3.0,
            lanes_top + 10.0,
            esc(label)
        );
    }
    // Legend.
    let mut ly = lanes_bottom + 44.0;
    let mut items: Vec<(&str, &str)> = vec![
        ("poll tick", "poll"),
        ("heartbeat", "heartbeat"),
        ("poll failure", "failure"),
        ("backoff sleep", "backoff"),
        ("attempt succeeded", "ok"),
        ("attempt failed", "failed"),
        ("attempt timed out / lost", "lost"),
    ];
    if picture.has_network() {
        items.extend([
            ("partitioned", "partitioned"),
            ("held", "held"),
            ("dropped", "dropped"),
        ]);
    }
    let mut lx = LEFT;
    for (label, kind) in items {
        if kind == "partitioned" {
            (lx, ly) = (LEFT, ly + 18.0);
        }
        let swatch = match kind {
            "poll" => format!(
                r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#8a8a8a"/>"##,
                lx + 5.0,
                ly - 9.0,
                ly + 1.0
            ),
            "heartbeat" => format!(
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#3b6fd6"/>"##,
                lx + 5.0,
                ly - 4.0
            ),
            "failure" => format!(
                r##"<g stroke="#d62020" stroke-width="2"><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/></g>"##,
                lx,
                ly - 9.0,
                lx + 10.0,
                ly + 1.0,
                lx,
                ly + 1.0,
                lx + 10.0,
                ly - 9.0
            ),
            "backoff" => format!(
                r##"<rect x="{lx:.1}" y="{:.1}" width="14" height="8" fill="#f0a030"/>"##,
                ly - 8.0
            ),
            "ok" => format!(
                r##"<rect x="{lx:.1}" y="{:.1}" width="14" height="10" rx="2" fill="{}"/>"##,
                ly - 9.0,
                attempt_color("succeeded")
            ),
            "failed" => format!(
                r##"<rect x="{lx:.1}" y="{:.1}" width="14" height="10" rx="2" fill="{}"/>"##,
                ly - 9.0,
                attempt_color("failed")
            ),
            "partitioned" | "held" => format!(
                r##"<rect x="{lx:.1}" y="{:.1}" width="14" height="10" fill="{}" fill-opacity="0.35"/>"##,
                ly - 9.0,
                if kind == "held" { "#f3d250" } else { "#9b59b6" }
            ),
            "dropped" => format!(
                r##"<path d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="#8e44ad"/>"##,
                lx + 1.0,
                ly - 8.0,
                lx + 9.0,
                ly - 8.0,
                lx + 5.0,
                ly - 1.0
            ),
            _ => format!(
                r##"<rect x="{lx:.1}" y="{:.1}" width="14" height="10" rx="2" fill="{}"/>"##,
                ly - 9.0,
                attempt_color("timeout")
            ),
        };
        let _ = writeln!(
            out,
            r##"{swatch}<text x="{:.1}" y="{ly:.1}" font-size="11">{label}</text>"##,
            lx + 18.0
        );
        lx += 24.0 + label.len() as f64 * 6.2 + 16.0;
    }
    out.push_str("</g>\n");
    height
}

/// A timeline being drawn, one panel per run as results arrive: a run is
/// drawn when it finishes and only its panel (a bounded number of shapes)
/// is kept, not the run.
#[derive(Debug, Default)]
pub struct Timeline {
    body: String,
    top: f64,
}

impl Timeline {
    /// No panels yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Draws one run's panel below the others.
    pub fn add(&mut self, report: &ScenarioReport, run: &RunResult) {
        self.top += panel(&mut self.body, self.top, report, run) + 12.0;
    }

    /// The SVG document.
    pub fn finish(self) -> String {
        let height = self.top.max(1.0);
        let body = self.body;
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n"
        )
    }
}

/// The SVG document for these runs, one panel each.
pub fn render(runs: &[(&ScenarioReport, &RunResult)]) -> String {
    let mut timeline = Timeline::new();
    for (report, run) in runs {
        timeline.add(report, run);
    }
    timeline.finish()
}
