//! `faults.at`: faults at moments of virtual time.
//!
//! Each entry has an `at` and exactly one action: crash or restart a worker,
//! or (the turmoil engine only, see [`network`](super::network)) partition,
//! repair, hold or release the link between two hosts, bounce a host, or
//! set the latency. A `partition`, `hold` or `latency` with `for` ends by
//! itself; `every` repeats the entry until `stop.within`. Hosts are `queue`
//! or known workers, and a link joins two different hosts.
//!
//! Repeats are counted, not expanded, until every entry has been counted:
//! at most [`MAX_TIMED_FAULTS`] timed faults in all, each repeat and the
//! end of each `for` included, so that a millisecond `every` over a week is
//! refused before it takes memory.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::duration::Dur;
use crate::limits::MAX_TIMED_FAULTS;
use crate::schema::AtEvent;
use crate::source::{Path, at};
use rollout_core::WorkerId;
use rollout_simulator::{NetHost, TimedAction, TimedFault};

use super::Validator;
use super::suggest::known;

/// The actions of one entry, at offsets from its `at`.
type Actions = Vec<(Duration, TimedAction)>;

impl Validator<'_> {
    /// Every timed fault of the entries, each repeat expanded; none past
    /// [`MAX_TIMED_FAULTS`].
    pub(super) fn timed_faults(
        &mut self,
        events: &[AtEvent],
        workers: &BTreeSet<&str>,
    ) -> Vec<TimedFault> {
        let mut timed = Vec::new();
        // Counted before each entry is expanded: past the cap, entries are
        // still checked but nothing more is allocated.
        let mut scheduled: u64 = 0;
        let mut over = false;
        for (i, event) in events.iter().enumerate() {
            let at = at!["faults", "at", i];
            let Some(when) = event.at else {
                self.problem(
                    at,
                    "a timed fault needs `at`",
                    Some("write { at: 120ms, crash: worker-1 }".into()),
                );
                continue;
            };
            let Some(actions) = self.timed_actions(&at, event, workers) else {
                continue;
            };
            let (every, repeats) = self.repeats(&at![at; "every"], when.0, event.every);
            if over {
                continue;
            }
            scheduled = scheduled.saturating_add(repeats.saturating_mul(actions.len() as u64));
            if scheduled > MAX_TIMED_FAULTS {
                over = true;
                timed = Vec::new();
                self.too_many_timed_faults(at, event.every.is_some(), repeats, scheduled);
                continue;
            }
            for k in 0..repeats {
                let first = when.0.saturating_add(every.saturating_mul(k as u32));
                for (offset, action) in &actions {
                    timed.push(TimedFault {
                        at: first.saturating_add(*offset),
                        action: action.clone(),
                    });
                }
            }
        }
        timed
    }

    fn too_many_timed_faults(&mut self, at: Path, every: bool, repeats: u64, scheduled: u64) {
        let (at, message, help) = if every {
            (
                at![at; "every"],
                format!(
                    "repeating until stop.within gives {repeats} events here and {scheduled} timed faults in all; the limit is {MAX_TIMED_FAULTS}, over every `faults.at` entry"
                ),
                "repeat less often, shorten `stop.within`, or use fewer entries",
            )
        } else {
            (
                at,
                format!(
                    "`faults.at` schedules more than {MAX_TIMED_FAULTS} timed faults (counting each repeat of `every` and the end of each `for`); the limit is {MAX_TIMED_FAULTS}"
                ),
                "use fewer entries, or repeat less often",
            )
        };
        self.problem(at, message, Some(help.into()));
    }

    /// What one `faults.at` entry does, as actions at offsets from its `at`
    /// (a `partition` or `hold` with `for` ends by itself); `None` when it is
    /// invalid.
    fn timed_actions(
        &mut self,
        at: &Path,
        event: &AtEvent,
        workers: &BTreeSet<&str>,
    ) -> Option<Actions> {
        let key = self.timed_kind(at, event)?;
        self.check_for(at, event, key);
        let key_at = at![at; key];
        let actions = match key {
            "crash" => now(TimedAction::Crash(self.worker(
                event.crash.as_deref()?,
                key_at,
                workers,
            ))),
            "restart" => now(TimedAction::Restart(self.worker(
                event.restart.as_deref()?,
                key_at,
                workers,
            ))),
            "bounce" => now(TimedAction::Bounce(self.host(
                event.bounce.as_deref()?,
                key_at,
                workers,
            ))),
            "latency" => lasting(
                event,
                TimedAction::Latency(event.latency.map(|d| d.0)),
                TimedAction::Latency(None),
            ),
            _ => {
                let (a, b) = self.pair(key, link_hosts(event, key)?, &key_at, workers)?;
                link_actions(event, key, a, b)
            }
        };
        Some(actions)
    }

    /// The one action an entry names, by its key.
    fn timed_kind(&mut self, at: &Path, event: &AtEvent) -> Option<&'static str> {
        let given: Vec<&'static str> = actions_given(event).collect();
        let [key] = given[..] else {
            self.problem(
                at.clone(),
                "a timed fault needs exactly one of `crash`, `restart`, `partition`, `repair`, `hold`, `release`, `bounce` or `latency`",
                Some("write { at: 120ms, crash: worker-1 } or { at: 50ms, partition: [worker-1, queue], for: 200ms }".into()),
            );
            return None;
        };
        Some(key)
    }

    /// `for`: only on what lasts, and greater than 0.
    fn check_for(&mut self, at: &Path, event: &AtEvent, key: &str) {
        let Some(d) = event.for_ else { return };
        if !matches!(key, "partition" | "hold" | "latency") {
            self.key_problem(
                at![at; "for"],
                format!("`for` goes with `partition`, `hold` or `latency`, not `{key}`"),
                Some("remove `for`, or schedule the next event at its own time".into()),
            );
        } else if d.0.is_zero() {
            self.problem(at![at; "for"], "`for` must be greater than 0", None);
        }
    }

    /// The worker `name`, at `at`: a known one.
    fn worker(&mut self, name: &str, at: Path, workers: &BTreeSet<&str>) -> WorkerId {
        if !workers.contains(name) {
            let help = if name == "queue" {
                "the queue host can only be bounced: write { bounce: queue }".to_string()
            } else {
                known("workers", workers)
            };
            self.problem(at, format!("unknown worker `{name}`"), Some(help));
        }
        WorkerId::new(name)
    }

    /// The host `name`, at `at`: `queue` or a known worker.
    fn host(&mut self, name: &str, at: Path, workers: &BTreeSet<&str>) -> NetHost {
        if name == "queue" {
            if workers.contains("queue") {
                self.problem(
                    at,
                    "`queue` names both the queue host and a worker",
                    Some("rename the worker".into()),
                );
            }
            return NetHost::Queue;
        }
        if !workers.contains(name) {
            self.problem(
                at,
                format!("unknown host `{name}`"),
                Some(format!(
                    "`queue` or a worker; {}",
                    known("workers", workers)
                )),
            );
        }
        NetHost::Worker(WorkerId::new(name))
    }

    /// The two different hosts of a link, the value of `key` at `at`.
    fn pair(
        &mut self,
        key: &str,
        hosts: &[String],
        at: &Path,
        workers: &BTreeSet<&str>,
    ) -> Option<(NetHost, NetHost)> {
        let [a, b] = hosts else {
            self.problem(
                at.clone(),
                format!("`{key}` takes two hosts, not {}", hosts.len()),
                Some(format!("write {key}: [worker-1, queue]")),
            );
            return None;
        };
        let at_b = at![at; 1];
        let (a, b) = (
            self.host(a, at![at; 0], workers),
            self.host(b, at_b.clone(), workers),
        );
        if a == b {
            self.problem(at_b, format!("`{key}` needs two different hosts"), None);
            return None;
        }
        Some((a, b))
    }

    /// How often a timed fault at `first` repeats `every` until
    /// `stop.within` (1 without `every`), and the interval: arithmetic
    /// only, nothing is expanded here.
    fn repeats(&mut self, at: &Path, first: Duration, every: Option<Dur>) -> (Duration, u64) {
        let Some(every) = every.map(|d| d.0) else {
            return (Duration::ZERO, 1);
        };
        if every.is_zero() {
            self.problem(at.clone(), "`every` must be greater than 0", None);
            return (Duration::ZERO, 1);
        }
        let count = self.within.saturating_sub(first).as_nanos() / every.as_nanos() + 1;
        (every, u64::try_from(count).unwrap_or(u64::MAX))
    }
}

/// The actions an entry gives, by key, in the order the format lists them.
pub(super) fn actions_given(event: &AtEvent) -> impl Iterator<Item = &'static str> {
    [
        ("crash", event.crash.is_some()),
        ("restart", event.restart.is_some()),
        ("partition", event.partition.is_some()),
        ("repair", event.repair.is_some()),
        ("hold", event.hold.is_some()),
        ("release", event.release.is_some()),
        ("bounce", event.bounce.is_some()),
        ("latency", event.latency.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, given)| given.then_some(key))
}

/// Whether only the turmoil engine runs the action `key`: all but `crash`
/// and `restart`.
pub(super) fn is_network_action(key: &str) -> bool {
    !matches!(key, "crash" | "restart")
}

/// The hosts of the link action `key` (`partition`, `hold`, `repair` or
/// `release`) of `event`.
fn link_hosts<'e>(event: &'e AtEvent, key: &str) -> Option<&'e [String]> {
    match key {
        "partition" => event.partition.as_deref(),
        "hold" => event.hold.as_deref(),
        "repair" => event.repair.as_deref(),
        _ => event.release.as_deref(),
    }
}

/// What the link action `key` between `a` and `b` does: a `partition` or
/// `hold` with `for` is repaired or released when it has passed.
fn link_actions(event: &AtEvent, key: &str, a: NetHost, b: NetHost) -> Actions {
    match key {
        "partition" => lasting(
            event,
            TimedAction::Partition(a.clone(), b.clone()),
            TimedAction::Repair(a, b),
        ),
        "hold" => lasting(
            event,
            TimedAction::Hold(a.clone(), b.clone()),
            TimedAction::Release(a, b),
        ),
        "repair" => now(TimedAction::Repair(a, b)),
        _ => now(TimedAction::Release(a, b)),
    }
}

/// `action`, at once.
fn now(action: TimedAction) -> Actions {
    vec![(Duration::ZERO, action)]
}

/// `start` now and, with `for`, `end` when it has passed.
fn lasting(event: &AtEvent, start: TimedAction, end: TimedAction) -> Actions {
    let mut actions = vec![(Duration::ZERO, start)];
    if let Some(d) = event.for_ {
        actions.push((d.0, end));
    }
    actions
}
