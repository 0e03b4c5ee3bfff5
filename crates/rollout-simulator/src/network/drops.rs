//! Seeing what turmoil's network drops.
//!
//! turmoil drops a segment when its link is partitioned or when a loss draw
//! breaks the link (`fail_rate`); it reports that only through a `tracing`
//! event (`target: "turmoil"`, message `Drop`). [`DropWatch`] is a tiny
//! `tracing` subscriber, installed for the run's thread only, that keeps
//! those events (source, destination, kind of segment) until the engine
//! moves them into the event trace. Every other event is ignored without
//! being formatted.

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

/// One dropped segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedSegment {
    /// The sender's address.
    pub from: IpAddr,
    /// The addressee's address.
    pub to: IpAddr,
    /// `syn`, `data`, `fin` or `rst`.
    pub segment: &'static str,
}

/// The subscriber; clones share the list of drops not yet taken.
#[derive(Debug, Clone, Default)]
pub struct DropWatch {
    pending: Arc<Mutex<Vec<DroppedSegment>>>,
}

impl DropWatch {
    /// A watch with nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the drops seen since the last call, in the order they happened.
    pub fn take(&self) -> Vec<DroppedSegment> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Checks, without allocating, whether a formatted value equals `want`.
struct Equals<'a> {
    want: &'a str,
    at: usize,
    equal: bool,
}

impl fmt::Write for Equals<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.equal && self.want.get(self.at..self.at + s.len()) == Some(s) {
            self.at += s.len();
        } else {
            self.equal = false;
        }
        Ok(())
    }
}

fn formats_as(value: &dyn fmt::Debug, want: &str) -> bool {
    let mut w = Equals {
        want,
        at: 0,
        equal: true,
    };
    let _ = write!(w, "{value:?}");
    w.equal && w.at == want.len()
}

#[derive(Default)]
struct IsDrop(bool);

impl Visit for IsDrop {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" && formats_as(value, "Drop") {
            self.0 = true;
        }
    }
}

#[derive(Default)]
struct Fields {
    from: Option<IpAddr>,
    to: Option<IpAddr>,
    segment: Option<&'static str>,
}

/// The IP of a `SocketAddr` printed with `{:?}`.
fn ip_of(value: &dyn fmt::Debug) -> Option<IpAddr> {
    let text = format!("{value:?}");
    text.parse::<std::net::SocketAddr>()
        .map(|a| a.ip())
        .ok()
        .or_else(|| text.parse().ok())
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "src" => self.from = ip_of(value),
            "dst" => self.to = ip_of(value),
            "protocol" => {
                self.segment = Some(if formats_as(value, "TCP SYN") {
                    "syn"
                } else if formats_as(value, "TCP FIN") {
                    "fin"
                } else if formats_as(value, "TCP RST") {
                    "rst"
                } else {
                    "data"
                });
            }
            _ => {}
        }
    }
}

impl Subscriber for DropWatch {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.is_event() && meta.target() == "turmoil" {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        meta.is_event() && meta.target() == "turmoil"
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut is_drop = IsDrop::default();
        event.record(&mut is_drop);
        if !is_drop.0 {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let (Some(from), Some(to)) = (fields.from, fields.to) {
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(DroppedSegment {
                    from,
                    to,
                    segment: fields.segment.unwrap_or("data"),
                });
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_without_allocation() {
        assert!(formats_as(&format_args!("Drop"), "Drop"));
        assert!(!formats_as(&format_args!("Dropped"), "Drop"));
        assert!(!formats_as(&format_args!("Dro"), "Drop"));
        assert!(formats_as(&"x", "\"x\""));
    }
}
