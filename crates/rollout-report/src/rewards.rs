//! Every reward a run emitted, as the report carries it: by attempt id,
//! each attempt's rewards in emission order.
//!
//! A million-rollout run emits millions of rewards, so the log keeps each
//! attempt's id once and each reward in 16 bytes (a name from a small table
//! and the value), and writes the JSON a map of lists would:
//! `{"r1:attempt-1": [["exact_match", 1], ...], ...}`, attempts in the
//! order of their ids' text.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::Value;

use rollout_core::{SpanStore, json_number};

/// A run of one attempt's rewards: its id, the first reward, how many.
type Run = (Box<str>, u32, u32);

/// Every reward of a run, by attempt id ([`RewardLog::from_spans`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RewardLog {
    /// `(attempt id, first reward, count)`: runs of one attempt's rewards in
    /// persistence order, sorted by id (stable, so an attempt's runs stay in
    /// emission order).
    attempts: Vec<Run>,
    /// `(name, value)`, in persistence order.
    rewards: Vec<(u32, f64)>,
    names: Vec<Box<str>>,
    name_numbers: BTreeMap<Box<str>, u32>,
}

/// An attempt's id as text, `{rollout}:attempt-{n}`, as its `Display`
/// writes it, without the formatting machinery: a million-rollout run
/// writes a million of them.
pub(crate) fn attempt_text(attempt: &rollout_core::AttemptId) -> String {
    let rollout = attempt.rollout.as_str();
    let mut digits = [0u8; 10];
    let mut n = attempt.number;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut text = String::with_capacity(rollout.len() + 9 + digits.len() - at);
    text.push_str(rollout);
    text.push_str(":attempt-");
    // Only ASCII digits were written.
    text.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
    text
}

impl RewardLog {
    /// The rewards of every `reward.emit` span in the store.
    pub fn from_spans(spans: &SpanStore) -> Self {
        let mut log = Self::default();
        let mut last = None;
        for span in spans.views() {
            let Some((name, value)) = span.reward() else {
                continue;
            };
            let name = match log.name_numbers.get(name) {
                Some(&i) => i as usize,
                None => {
                    log.names.push(name.into());
                    log.name_numbers
                        .insert(name.into(), log.names.len() as u32 - 1);
                    log.names.len() - 1
                }
            };
            let at = log.rewards.len() as u32;
            log.rewards.push((name as u32, value));
            let attempt = span.attempt();
            match log.attempts.last_mut() {
                Some(run) if last.as_ref() == Some(&attempt) => run.2 += 1,
                _ => {
                    log.attempts
                        .push((attempt_text(&attempt).into_boxed_str(), at, 1));
                    last = Some(attempt);
                }
            }
        }
        log.attempts.sort_by(|a, b| a.0.cmp(&b.0));
        log
    }

    /// How many attempts emitted rewards.
    pub fn len(&self) -> usize {
        self.entries().count()
    }

    /// True when no reward was emitted.
    pub fn is_empty(&self) -> bool {
        self.attempts.is_empty()
    }

    /// Each attempt's id and its runs of rewards, the runs of one attempt
    /// together.
    fn entries(&self) -> impl Iterator<Item = (&str, &[Run])> {
        self.attempts
            .chunk_by(|a, b| a.0 == b.0)
            .map(|runs| (&*runs[0].0, runs))
    }

    fn rewards_of<'a>(&'a self, runs: &'a [Run]) -> impl Iterator<Item = (&'a str, Value)> {
        runs.iter()
            .flat_map(|&(_, start, count)| &self.rewards[start as usize..(start + count) as usize])
            .map(|&(name, value)| (&*self.names[name as usize], json_number(value)))
    }

    /// The rewards of one attempt, by its id, in emission order.
    pub fn get(&self, attempt: &str) -> Vec<(String, Value)> {
        self.entries()
            .find(|(id, _)| *id == attempt)
            .map(|(_, runs)| {
                self.rewards_of(runs)
                    .map(|(n, v)| (n.to_string(), v))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// As a map of attempt id to its rewards.
    pub fn to_map(&self) -> BTreeMap<String, Vec<(String, Value)>> {
        self.entries()
            .map(|(id, runs)| {
                (
                    id.to_string(),
                    self.rewards_of(runs)
                        .map(|(n, v)| (n.to_string(), v))
                        .collect(),
                )
            })
            .collect()
    }
}

impl Serialize for RewardLog {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Rewards<'a>(&'a RewardLog, &'a [Run]);
        impl Serialize for Rewards<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(None)?;
                for pair in self.0.rewards_of(self.1) {
                    seq.serialize_element(&pair)?;
                }
                seq.end()
            }
        }
        let mut map = s.serialize_map(None)?;
        for (id, runs) in self.entries() {
            map.serialize_entry(id, &Rewards(self, runs))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_attempt_id_is_written_as_it_displays() {
        use rollout_core::{AttemptId, RolloutId};
        for (rollout, n) in [("r1", 1), ("", 0), ("gen-00042", 10), ("x", u32::MAX)] {
            let id = AttemptId::new(RolloutId::new(rollout), n);
            assert_eq!(super::attempt_text(&id), id.to_string());
        }
    }

    use super::*;
    use rollout_core::{AttemptId, RolloutId};
    use rollout_core::{Reward, Tracer};

    #[test]
    fn the_log_writes_what_a_map_of_lists_would() {
        let clock = rollout_core::TokioClock::with_epoch(tokio::time::Instant::now());
        let mut store = SpanStore::new();
        // Attempts out of id order, one of them flushed twice, and an
        // attempt number whose text sorts before a smaller one.
        for (rollout, number, rewards) in [
            ("r2", 1, vec![("b", 2.0), ("a", 0.5)]),
            ("r1", 10, vec![("a", 1.0)]),
            ("r1", 2, vec![("a", f64::NAN), ("c", -3.0)]),
            ("r2", 1, vec![("z", 9.0)]),
            ("r3", 1, vec![]),
        ] {
            let mut tracer = Tracer::new(clock, AttemptId::new(RolloutId::new(rollout), number));
            let span = tracer.start("op");
            tracer.end(span, BTreeMap::new());
            for (name, value) in rewards {
                tracer.emit_reward(&Reward::new(name, value));
            }
            store.extend(tracer.finish());
        }
        let mut map: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
        for span in store.all() {
            if let Some(reward) = span.reward() {
                map.entry(span.attempt_id.to_string())
                    .or_default()
                    .push((reward.name, json_number(reward.value)));
            }
        }
        let log = RewardLog::from_spans(&store);
        assert_eq!(log.to_map(), map);
        assert_eq!(
            serde_json::to_string(&log).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(
            serde_json::to_string_pretty(&log).unwrap(),
            serde_json::to_string_pretty(&map).unwrap()
        );
        assert_eq!(log.len(), 3);
        assert_eq!(log.get("r2:attempt-1").len(), 3);
        assert!(RewardLog::default().is_empty());
        assert_eq!(serde_json::to_string(&RewardLog::default()).unwrap(), "{}");
    }
}
