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
//!
//! It stays legible however dense the run (64 rollouts, two seconds of
//! polls, the stranded-attempts runs): every text is measured with
//! [`text_width`], a conservative estimate of Helvetica's advances, and
//! laid out so that no two texts overlap and none leaves the picture. The
//! left margin grows to the longest worker id (an id longer than a third of
//! the picture is shortened with an ellipsis, in full on hover); ticks are
//! spaced by their labels' width; an attempt's label is shortened to its id,
//! or left out, where its neighbours' take the room; and every shape carries
//! its details in a `<title>`, which viewers show on hover.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::ScenarioReport;
use rollout_core::{QueueOp, WorkerId};
use rollout_scenario::format_duration;
use rollout_simulator::RunResult;
use rollout_simulator::{CallResult, EventKind, LinkChange};

const WIDTH: f64 = 1200.0;
/// The least left margin, where worker ids go.
const LEFT: f64 = 120.0;
/// The widest left margin: a longer worker id is shortened.
const MAX_LEFT: f64 = WIDTH / 3.0;
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

/// The estimated width in pixels of `text` at `size` in Helvetica or Arial
/// (the font the SVG asks for): per character, a little more than the
/// font's advance, so a box never ends before its text does. Characters
/// outside ASCII count as full width.
pub fn text_width(text: &str, size: f64) -> f64 {
    let ems: f64 = text
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' => 0.32,
            'f' | 't' | 'r' | 'I' | '(' | ')' | '[' | ']' | '-' | '/' | '*' => 0.42,
            'm' | 'w' | 'M' | 'W' | '@' | '%' => 0.95,
            c if c.is_ascii_uppercase() || c == '&' => 0.78,
            c if c.is_ascii() => 0.6,
            _ => 1.0,
        })
        .sum();
    ems * size
}

/// How far a text reaches above its baseline, and below, in ems.
const ASCENT: f64 = 0.8;
const DESCENT: f64 = 0.25;

/// Where a text sits in the SVG's `text-anchor` terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn attr(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Middle => "middle",
            Self::End => "end",
        }
    }
}

/// A text's box: left, top, right, bottom.
type TextBox = [f64; 4];

fn text_box(x: f64, baseline: f64, size: f64, width: f64, anchor: Anchor) -> TextBox {
    let left = match anchor {
        Anchor::Start => x,
        Anchor::Middle => x - width / 2.0,
        Anchor::End => x - width,
    };
    [
        left,
        baseline - ASCENT * size,
        left + width,
        baseline + DESCENT * size,
    ]
}

fn overlap(a: &TextBox, b: &TextBox) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// The texts of one panel placed so far, bucketed by area so that a dense
/// lane checks a new label against its neighbours only.
#[derive(Default)]
struct Texts {
    boxes: Vec<TextBox>,
    grid: BTreeMap<(i64, i64), Vec<usize>>,
}

/// The size of a [`Texts`] bucket, in pixels.
const CELL: f64 = 64.0;

impl Texts {
    fn cells(b: &TextBox) -> impl Iterator<Item = (i64, i64)> {
        let (c0, c1) = ((b[0] / CELL).floor() as i64, (b[2] / CELL).floor() as i64);
        let (r0, r1) = ((b[1] / CELL).floor() as i64, (b[3] / CELL).floor() as i64);
        (c0..=c1).flat_map(move |c| (r0..=r1).map(move |r| (c, r)))
    }

    /// Whether `b` lies within the picture, `height` tall, and clear of
    /// every text placed.
    fn fits(&self, b: &TextBox, height: f64) -> bool {
        b[0] >= 0.0
            && b[2] <= WIDTH
            && b[1] >= 0.0
            && b[3] <= height
            && Self::cells(b).all(|cell| {
                self.grid
                    .get(&cell)
                    .is_none_or(|ids| ids.iter().all(|&i| !overlap(&self.boxes[i], b)))
            })
    }

    fn add(&mut self, b: TextBox) {
        let id = self.boxes.len();
        for cell in Self::cells(&b) {
            self.grid.entry(cell).or_default().push(id);
        }
        self.boxes.push(b);
    }
}

/// One text to draw: where, how large, with what extra attributes.
struct Label<'a> {
    x: f64,
    baseline: f64,
    size: f64,
    anchor: Anchor,
    /// Attributes beside position, size and anchor (`fill`, `font-weight`).
    attrs: &'a str,
}

impl Label<'_> {
    fn bold(&self) -> bool {
        self.attrs.contains("bold")
    }

    fn width(&self, text: &str) -> f64 {
        text_width(text, self.size) * if self.bold() { 1.12 } else { 1.0 }
    }
}

/// Draws `text` at `label` if it fits among the texts placed (within a
/// picture `height` tall): whether it was drawn. `title`, when given, is
/// the full text, shown on hover (the drawn text may be shortened).
fn place(
    out: &mut String,
    texts: &mut Texts,
    height: f64,
    label: &Label<'_>,
    text: &str,
    title: Option<&str>,
) -> bool {
    let b = text_box(
        label.x,
        label.baseline,
        label.size,
        label.width(text),
        label.anchor,
    );
    if !texts.fits(&b, height) {
        return false;
    }
    texts.add(b);
    let title = title
        .map(|t| format!("<title>{}</title>", esc(t)))
        .unwrap_or_default();
    let _ = write!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="{}" text-anchor="{}"{}{}>{title}{}</text>"##,
        label.x,
        label.baseline,
        label.size,
        label.anchor.attr(),
        if label.attrs.is_empty() { "" } else { " " },
        label.attrs,
        esc(text)
    );
    true
}

/// `text` cut to at most `max` pixels at `size`, with an ellipsis when cut.
fn shorten(text: &str, size: f64, max: f64) -> String {
    if text_width(text, size) <= max {
        return text.to_string();
    }
    let mut kept = String::new();
    for c in text.chars() {
        let mut next = kept.clone();
        next.push(c);
        if text_width(&next, size) + text_width("…", size) > max {
            break;
        }
        kept = next;
    }
    kept.push('…');
    kept
}

/// A tick spacing of 1, 2 or 5 times a power of ten giving about 10 ticks,
/// widened until the labels, `plot` pixels across `total_ms`, keep apart.
fn axis_step(total_ms: f64, plot: f64) -> f64 {
    let mut step = tick_step(total_ms);
    for _ in 0..64 {
        let count = (total_ms / step).floor() as u64;
        let widest = (0..=count)
            .map(|i| text_width(&tick_label(i as f64 * step), 10.0))
            .fold(0.0, f64::max);
        if step / total_ms * plot >= widest + 12.0 {
            break;
        }
        step = next_step(step);
    }
    step
}

/// The next spacing of the 1, 2, 5 series.
fn next_step(step: f64) -> f64 {
    let power = 10f64.powf(step.log10().floor());
    let m = (step / power).round();
    if m < 2.0 {
        2.0 * power
    } else if m < 5.0 {
        5.0 * power
    } else {
        10.0 * power
    }
}

fn tick_label(t_ms: f64) -> String {
    format_duration(Duration::from_secs_f64(t_ms / 1e3))
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

/// The legend's items: label and swatch kind, network items when the run
/// has them.
fn legend_items(network: bool) -> Vec<(&'static str, &'static str)> {
    let mut items = vec![
        ("poll tick", "poll"),
        ("heartbeat", "heartbeat"),
        ("poll failure", "failure"),
        ("backoff sleep", "backoff"),
        ("attempt succeeded", "ok"),
        ("attempt failed", "failed"),
        ("attempt timed out / lost", "lost"),
    ];
    if network {
        items.extend([
            ("partitioned", "partitioned"),
            ("held", "held"),
            ("dropped", "dropped"),
        ]);
    }
    items
}

/// Where each legend item goes, from `left`: `(x, row)` each, rows wrapped
/// at the right edge (and the network's items on a row of their own).
fn legend_layout(items: &[(&str, &str)], left: f64) -> Vec<(f64, usize)> {
    let mut at = Vec::with_capacity(items.len());
    let (mut lx, mut row) = (left, 0);
    for (label, kind) in items {
        let width = 18.0 + text_width(label, 11.0);
        if (*kind == "partitioned" || lx + width > WIDTH - RIGHT) && lx > left {
            (lx, row) = (left, row + 1);
        }
        at.push((lx, row));
        lx += width + 22.0;
    }
    at
}

fn panel(out: &mut String, top: f64, report: &ScenarioReport, run: &RunResult) -> f64 {
    let picture = picture(run);
    let lanes = &picture.lanes;
    let total_ms = (run.ended_at.as_secs_f64() * 1e3).max(1.0);
    // The left margin holds the longest worker id, up to a third of the
    // picture; a longer one is shortened.
    let widest_id = lanes
        .keys()
        .map(|w| text_width(w.as_str(), 12.0))
        .fold(0.0, f64::max);
    let left = (widest_id + 24.0).clamp(LEFT, MAX_LEFT);
    let plot = WIDTH - left - RIGHT;
    let x = |t: Duration| left + t.as_secs_f64() * 1e3 / total_ms * plot;
    let items = legend_items(picture.has_network());
    let legend = legend_layout(&items, left);
    let legend_rows = legend.last().map_or(1, |(_, row)| row + 1);
    let height =
        HEADER + LANE * lanes.len().max(1) as f64 + FOOTER + (legend_rows - 1) as f64 * 18.0;
    let mut texts = Texts::default();
    let _ = write!(out, r##"<g transform="translate(0,{top})">"##);
    // The header: the name, and the run's facts; shortened to the width,
    // in full on hover.
    let facts = format!(
        "{} · seed {} · engine {} · virtual time {} · trace {} · {}",
        report.file,
        report.seed,
        report.engine,
        format_duration(run.ended_at),
        report.trace_hash,
        if report.passed { "PASS" } else { "FAIL" }
    );
    for (text, label) in [
        (
            &report.name,
            Label {
                x: 16.0,
                baseline: 22.0,
                size: 15.0,
                anchor: Anchor::Start,
                attrs: r##"font-weight="bold""##,
            },
        ),
        (
            &facts,
            Label {
                x: 16.0,
                baseline: 40.0,
                size: 11.0,
                anchor: Anchor::Start,
                attrs: r##"fill="#555""##,
            },
        ),
    ] {
        let room = WIDTH - 16.0 - 8.0;
        let shown = shorten(
            text,
            label.size * if label.bold() { 1.12 } else { 1.0 },
            room,
        );
        let title = (shown != *text).then_some(text.as_str());
        place(out, &mut texts, height, &label, &shown, title);
    }
    out.push('\n');
    let lanes_top = HEADER;
    let lanes_bottom = HEADER + LANE * lanes.len().max(1) as f64;
    // Axis: grid lines every step, labels spaced by their width; the last
    // one ends at the edge rather than past it.
    let step = axis_step(total_ms, plot);
    let count = (total_ms / step + 1e-9).floor() as u64;
    for i in 0..=count {
        let t = i as f64 * step;
        let px = left + t / total_ms * plot;
        let _ = write!(
            out,
            r##"<line x1="{px:.1}" y1="{lanes_top}" x2="{px:.1}" y2="{lanes_bottom}" stroke="#e4e4e4"/>"##,
        );
        let text = tick_label(t);
        let anchor = if px + text_width(&text, 10.0) / 2.0 > WIDTH - 2.0 {
            Anchor::End
        } else {
            Anchor::Middle
        };
        let label = Label {
            x: px,
            baseline: lanes_bottom + 14.0,
            size: 10.0,
            anchor,
            attrs: r##"fill="#555""##,
        };
        place(out, &mut texts, height, &label, &text, None);
        out.push('\n');
    }
    let label = Label {
        x: WIDTH - RIGHT,
        baseline: lanes_bottom + 30.0,
        size: 10.0,
        anchor: Anchor::End,
        attrs: r##"fill="#555""##,
    };
    place(out, &mut texts, height, &label, "virtual time", None);
    out.push('\n');
    let mut shapes = 0usize;
    for (i, (worker, lane)) in lanes.iter().enumerate() {
        let y0 = lanes_top + LANE * i as f64;
        let mid = y0 + LANE / 2.0;
        let fill = if i % 2 == 0 { "#fafafa" } else { "#f2f2f2" };
        let _ = write!(
            out,
            r##"<rect x="{left:.1}" y="{y0}" width="{plot:.1}" height="{LANE}" fill="{fill}"/>"##,
        );
        let id = worker.as_str();
        let shown = shorten(id, 12.0, left - 20.0);
        let label = Label {
            x: left - 10.0,
            baseline: mid + 4.0,
            size: 12.0,
            anchor: Anchor::End,
            attrs: "",
        };
        place(
            out,
            &mut texts,
            height,
            &label,
            &shown,
            (shown != id).then_some(id),
        );
        out.push('\n');
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
                    esc(what),
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
                    r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#3b6fd6"><title>heartbeat at {}</title></circle>"##,
                    x(t),
                    y0 + 8.0,
                    format_duration(t)
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
                    let _ = write!(
                        out,
                        r##"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="18" rx="3" fill="{}"><title>{} {outcome}: {} to {}</title></rect>"##,
                        mid - 9.0,
                        x1 - x0,
                        attempt_color(outcome),
                        esc(label),
                        format_duration(*start),
                        format_duration(*end),
                    );
                    // The id and outcome where they fit, else the id, else
                    // nothing (the bar's title has both); never past the
                    // right edge.
                    for text in [format!("{label} {outcome}"), label.clone()] {
                        let w = text_width(&text, 10.0);
                        let lx = x0.min(WIDTH - 2.0 - w).max(left);
                        let at = Label {
                            x: lx,
                            baseline: mid - 13.0,
                            size: 10.0,
                            anchor: Anchor::Start,
                            attrs: "",
                        };
                        if place(out, &mut texts, height, &at, &text, None) {
                            break;
                        }
                    }
                    out.push('\n');
                }
                Bar::Backoff { start, end, ms } => {
                    let (x0, x1) = (x(*start), x(*end).max(x(*start) + 2.0));
                    let _ = write!(
                        out,
                        r##"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="10" fill="#f0a030"><title>backoff {ms}ms: {} to {}</title></rect>"##,
                        mid - 5.0,
                        x1 - x0,
                        format_duration(*start),
                        format_duration(*end),
                    );
                    let text = format!("{ms}ms");
                    let w = text_width(&text, 10.0);
                    let cx = ((x0 + x1) / 2.0).min(WIDTH - 2.0 - w / 2.0);
                    let at = Label {
                        x: cx,
                        baseline: mid - 8.0,
                        size: 10.0,
                        anchor: Anchor::Middle,
                        attrs: r##"fill="#a86400""##,
                    };
                    place(out, &mut texts, height, &at, &text, None);
                    out.push('\n');
                }
            }
        }
        for (t, message) in &lane.failures {
            if shapes < MAX_SHAPES {
                let (cx, cy) = (x(*t), mid);
                let _ = writeln!(
                    out,
                    r##"<g stroke="#d62020" stroke-width="2.2"><title>{} at {}</title><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/></g>"##,
                    esc(message),
                    format_duration(*t),
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
        for (t, mark) in &lane.marks {
            let px = x(*t);
            let _ = write!(
                out,
                r##"<line x1="{px:.1}" y1="{y0:.1}" x2="{px:.1}" y2="{:.1}" stroke="#111" stroke-width="2"><title>{mark} at {}</title></line>"##,
                y0 + LANE,
                format_duration(*t)
            );
            let w = text_width(mark, 10.0) * 1.12;
            let at = Label {
                x: (px + 3.0).min(WIDTH - 2.0 - w),
                baseline: y0 + LANE - 4.0,
                size: 10.0,
                anchor: Anchor::Start,
                attrs: r##"font-weight="bold""##,
            };
            place(out, &mut texts, height, &at, mark, None);
            out.push('\n');
        }
    }
    // Events across every lane: a dashed line, labelled in the header's
    // last row where there is room.
    for (t, what) in &picture.across {
        let px = x(*t);
        let _ = write!(
            out,
            r##"<line x1="{px:.1}" y1="{lanes_top}" x2="{px:.1}" y2="{lanes_bottom}" stroke="#8e44ad" stroke-width="1.5" stroke-dasharray="4 3"><title>{} at {}</title></line>"##,
            esc(what),
            format_duration(*t)
        );
        let w = text_width(what, 10.0);
        let at = Label {
            x: (px + 3.0).min(WIDTH - 2.0 - w),
            baseline: lanes_top - 4.0,
            size: 10.0,
            anchor: Anchor::Start,
            attrs: r##"fill="#8e44ad""##,
        };
        place(out, &mut texts, height, &at, what, None);
        out.push('\n');
    }
    // Legend.
    for ((label, kind), (lx, row)) in items.iter().zip(&legend) {
        let lx = *lx;
        let ly = lanes_bottom + 46.0 + *row as f64 * 18.0;
        let swatch = match *kind {
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
                if *kind == "held" {
                    "#f3d250"
                } else {
                    "#9b59b6"
                }
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
        out.push_str(&swatch);
        let at = Label {
            x: lx + 18.0,
            baseline: ly,
            size: 11.0,
            anchor: Anchor::Start,
            attrs: "",
        };
        place(out, &mut texts, height, &at, label, None);
        out.push('\n');
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

#[cfg(test)]
mod tests {
    //! The layout, checked on the SVG emitted: every text's box (from
    //! [`text_width`], as the layout measures) within the picture, and no
    //! two boxes overlapping.

    use super::*;
    use rollout_scenario::{RunOptions, ScenarioOutcome, load_str, run_scenario};

    /// 64 rollouts on four workers, one with a long id, faults and crashes
    /// over two seconds: dense lanes, long labels, marks and backoffs.
    const DENSE: &str = r#"
name: dense-timeline
workers: [worker-1, worker-2, a-very-long-worker-id-from-a-kubernetes-pod-7f9c6d5b8-xk2lp, w4]
runner: { worker_timeout: 300ms, heartbeat_interval: 100ms }
rollouts:
  - generate: { count: 64, every: 25ms, run: { duration: 40ms, output: ok } }
faults:
  random:
    dequeue: { fail_rate: 0.2 }
    complete: { fail_rate: 0.1 }
  at:
    - { at: 300ms, crash: worker-2 }
    - { at: 700ms, restart: worker-2 }
    - { at: 1200ms, crash: w4 }
    - { at: 1250ms, restart: w4 }
stop:
  when: { at: 2s }
expect:
  invariants: []
"#;

    /// Runs `DENSE` twice, checking the runs are the same, and renders it.
    fn dense_svg() -> String {
        let scenario = load_str("dense.yaml", DENSE).expect("a valid scenario");
        let outcomes: Vec<ScenarioOutcome> = (0..2)
            .map(|_| run_scenario(&scenario, RunOptions::default()))
            .collect();
        assert_eq!(
            outcomes[0].run.trace.hash(),
            outcomes[1].run.trace.hash(),
            "the run is deterministic"
        );
        let outcome = &outcomes[0];
        assert_eq!(outcome.run.ended_at, Duration::from_secs(2));
        let report = ScenarioReport::new(&scenario, outcome, "rollout-sim");
        render(&[(&report, &outcome.run)])
    }

    /// The value of attribute `name` in the start tag `tag`.
    fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(&tag[at..at + tag[at..].find('"')?])
    }

    fn unescape(text: &str) -> String {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    /// Every `<text>` of the SVG: its box in the picture's coordinates and
    /// its shown text (a `<title>` inside is shown on hover only).
    fn text_boxes(svg: &str) -> Vec<(TextBox, String)> {
        let mut boxes = Vec::new();
        let mut offset = 0.0;
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            rest = &rest[start..];
            let end = rest.find('>').expect("a closed tag");
            let tag = &rest[..=end];
            if let Some(y) = tag.strip_prefix("<g transform=\"translate(0,") {
                offset = y[..y.find(')').unwrap()].parse().unwrap();
            } else if tag.starts_with("<text ") {
                let body_end = rest.find("</text>").expect("a closed text");
                let mut body = &rest[end + 1..body_end];
                if let Some(t) = body.find("</title>") {
                    body = &body[t + "</title>".len()..];
                }
                let shown = unescape(body);
                let num = |n: &str| attr(tag, n).unwrap().parse::<f64>().unwrap();
                let size = num("font-size");
                let mut width = text_width(&shown, size);
                if attr(tag, "font-weight") == Some("bold") {
                    width *= 1.12;
                }
                let anchor = match attr(tag, "text-anchor") {
                    Some("middle") => Anchor::Middle,
                    Some("end") => Anchor::End,
                    _ => Anchor::Start,
                };
                let b = text_box(num("x"), num("y") + offset, size, width, anchor);
                boxes.push((b, shown));
            }
            rest = &rest[end + 1..];
        }
        boxes
    }

    fn view_box(svg: &str) -> (f64, f64) {
        let v = attr(svg, "viewBox").expect("a viewBox");
        let n: Vec<f64> = v.split(' ').map(|p| p.parse().unwrap()).collect();
        (n[2], n[3])
    }

    #[test]
    fn no_text_overlaps_another_or_leaves_the_picture_at_64_rollouts() {
        let svg = dense_svg();
        let (width, height) = view_box(&svg);
        let boxes = text_boxes(&svg);
        // The lanes are labelled, attempts too (not all: some are too close).
        let attempt_labels = boxes
            .iter()
            .filter(|(_, t)| t.contains(":attempt-"))
            .count();
        assert!(attempt_labels >= 10, "{attempt_labels} attempt labels");
        for (b, text) in &boxes {
            assert!(
                b[0] >= 0.0 && b[2] <= width && b[1] >= 0.0 && b[3] <= height,
                "{text:?} at {b:?} leaves the {width}x{height} picture"
            );
        }
        for (i, (a, ta)) in boxes.iter().enumerate() {
            for (b, tb) in &boxes[i + 1..] {
                assert!(!overlap(a, b), "{ta:?} at {a:?} overlaps {tb:?} at {b:?}");
            }
        }
    }

    #[test]
    fn a_long_worker_id_widens_the_margin_and_is_shown_whole_or_on_hover() {
        let svg = dense_svg();
        let long = "a-very-long-worker-id-from-a-kubernetes-pod-7f9c6d5b8-xk2lp";
        // Wider than a third of the picture: shortened, whole in the title.
        assert!(text_width(long, 12.0) + 24.0 > MAX_LEFT);
        assert!(svg.contains(&format!("<title>{long}</title>a-very-long-worker")));
        let boxes = text_boxes(&svg);
        let shown = boxes
            .iter()
            .find(|(_, t)| t.starts_with("a-very-long") && t.ends_with('…'))
            .expect("the long id, shortened");
        assert!(shown.0[0] >= 0.0, "cut off at the left: {:?}", shown.0);
        // The short ids sit in the same, widened margin.
        let w4 = boxes.iter().find(|(_, t)| t == "w4").expect("w4's lane");
        assert!((w4.0[2] - shown.0[2]).abs() < 1e-6, "ids end at one line");
        assert!(w4.0[2] > LEFT, "the margin grew");
    }

    #[test]
    fn ticks_keep_apart_at_any_span() {
        for total_ms in [
            1.0,
            7.0,
            155.0,
            2_000.0,
            2_345.0,
            600_000.0,
            7.0 * 86_400_000.0,
        ] {
            for plot in [200.0, 600.0, 1_000.0] {
                let step = axis_step(total_ms, plot);
                let count = (total_ms / step).floor() as u64;
                let widest = (0..=count)
                    .map(|i| text_width(&tick_label(i as f64 * step), 10.0))
                    .fold(0.0, f64::max);
                assert!(
                    step / total_ms * plot >= widest + 12.0 || count == 0,
                    "{total_ms}ms over {plot}px: step {step}"
                );
                assert!(count <= 12, "{total_ms}ms over {plot}px: {count} ticks");
            }
        }
    }

    #[test]
    fn details_are_on_hover() {
        let svg = dense_svg();
        for needle in [
            "succeeded: ",
            "<title>heartbeat at ",
            "<title>crash at 300ms</title>",
            "<title>restart at 700ms</title>",
            "<title>dequeue: ",
        ] {
            assert!(svg.contains(needle), "no {needle:?} in the SVG");
        }
    }
}
