//! Swarm testing: each seed draws its own fault configuration.
//!
//! Fixed, always-on fault rates crowd each other out: with every overlay on
//! at a low rate, the runs that would expose a bug needing one fault family
//! at a high rate and the others off are rare. Swarm testing (Groce et al.,
//! as in TigerBeetle's VOPR and FoundationDB's simulator) draws per seed
//! *which* families are on and how hard, within bounds ([`SwarmBounds`]),
//! then runs that configuration ([`SwarmDraw`]).
//!
//! The families: the seeded overlay of each queue operation (dequeue
//! failures and empties, heartbeat, flush and complete failures), worker
//! crashes each followed by a restart, and, on the turmoil engine, message
//! loss and latency. Each is on with probability [`SwarmBounds::on`]; an
//! on family's rates are uniform in its range.
//!
//! The draw comes from its own ChaCha stream (`swarm`, derived from the
//! seed), so the same seed draws the same configuration on every engine and
//! in every process, and drawing changes no other stream: the overlay's
//! verdicts are drawn from their own streams as without swarm. Applied
//! ([`SwarmDraw::apply`]), the draw replaces the plan's `faults.random`
//! and network faults and adds its crashes to the timed faults: the plan
//! then says everything explicitly, which is what `freeze` and `shrink`
//! write.

use std::collections::BTreeMap;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use serde::Serialize;

use rollout_core::{QueueOp, WorkerId};

use super::faults::seeded_stream;
use super::plan::{NetworkFaults, SimPlan, TimedAction, TimedFault};
use super::script::RandomRates;

/// A closed range `[min, max]` a value is drawn from, uniformly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawRange<T> {
    /// The least value.
    pub min: T,
    /// The greatest value.
    pub max: T,
}

impl<T> DrawRange<T> {
    /// `[min, max]`.
    pub const fn new(min: T, max: T) -> Self {
        Self { min, max }
    }
}

/// The bounds of one operation's overlay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateBounds {
    /// Where the failure rate is drawn.
    pub fail_rate: DrawRange<f64>,
    /// Where the "nothing waiting" rate is drawn (dequeue only; zero-width
    /// elsewhere).
    pub empty_rate: DrawRange<f64>,
}

/// The bounds of the crash family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrashBounds {
    /// At most this many crashes (at least one when the family is on).
    pub max: u32,
    /// Crashes happen in `[0, within)`.
    pub within: Duration,
    /// Each crashed worker is restarted after a delay drawn here.
    pub restart_after: DrawRange<Duration>,
}

/// The bounds of the network family (turmoil engine only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkBounds {
    /// Where the per-message loss rate is drawn.
    pub loss_rate: DrawRange<f64>,
    /// Where the latency's maximum is drawn (its minimum is zero).
    pub latency_max: DrawRange<Duration>,
}

/// What a swarm draw may pick: the scenario's `swarm:` section, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmBounds {
    /// The probability that each family is on.
    pub on: f64,
    /// The overlay families, by operation.
    pub rates: BTreeMap<QueueOp, RateBounds>,
    /// Worker crashes with restarts; `None`: never.
    pub crashes: Option<CrashBounds>,
    /// Loss and latency; `None`: never (the only choice off turmoil).
    pub network: Option<NetworkBounds>,
}

/// The default probability that a family is on.
pub const DEFAULT_SWARM_ON: f64 = 0.5;

impl Default for SwarmBounds {
    /// Every queue operation's overlay (dequeue failures up to 50% and
    /// empties up to 30%, the others' failures up to 20%), and up to two
    /// crashes in the first second, each restarted after 10 to 200 ms. No
    /// network family: it would make every scenario turmoil-only.
    fn default() -> Self {
        let failing = |max| RateBounds {
            fail_rate: DrawRange::new(0.0, max),
            empty_rate: DrawRange::new(0.0, 0.0),
        };
        let rates = BTreeMap::from([
            (
                QueueOp::Dequeue,
                RateBounds {
                    fail_rate: DrawRange::new(0.0, 0.5),
                    empty_rate: DrawRange::new(0.0, 0.3),
                },
            ),
            (QueueOp::Heartbeat, failing(0.2)),
            (QueueOp::Flush, failing(0.2)),
            (QueueOp::Complete, failing(0.2)),
        ]);
        Self {
            on: DEFAULT_SWARM_ON,
            rates,
            crashes: Some(CrashBounds {
                max: 2,
                within: Duration::from_secs(1),
                restart_after: DrawRange::new(
                    Duration::from_millis(10),
                    Duration::from_millis(200),
                ),
            }),
            network: None,
        }
    }
}

/// One crash of a swarm draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwarmCrash {
    /// When, in ms of virtual time.
    #[serde(rename = "at_ms", serialize_with = "millis")]
    pub at: Duration,
    /// Which worker.
    pub worker: WorkerId,
    /// How long until it is restarted, in ms.
    #[serde(rename = "restart_after_ms", serialize_with = "millis")]
    pub restart_after: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One seed's fault configuration. Families that are off are absent.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SwarmDraw {
    /// The overlay rates of the operations that are on.
    pub random: BTreeMap<QueueOp, RandomRates>,
    /// The crashes, in time order.
    pub crashes: Vec<SwarmCrash>,
    /// Loss and latency, when on.
    #[serde(serialize_with = "network", skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkFaults>,
}

fn network<S: serde::Serializer>(n: &Option<NetworkFaults>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Drawn {
        latency_max_ms: u64,
        loss_rate: f64,
    }
    n.map(|n| Drawn {
        latency_max_ms: u64::try_from(n.latency_max.as_millis()).unwrap_or(u64::MAX),
        loss_rate: n.loss_rate,
    })
    .serialize(s)
}

/// A uniform draw in `[0, 1)` with 53 bits of precision.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn in_span(rng: &mut ChaCha8Rng, span: DrawRange<f64>) -> f64 {
    span.min + (span.max - span.min) * unit(rng)
}

/// A whole number of ms in `[min, max]`.
fn ms_in(rng: &mut ChaCha8Rng, min: Duration, max: Duration) -> Duration {
    let (lo, hi) = (min.as_millis() as u64, max.as_millis() as u64);
    Duration::from_millis(lo + rng.next_u64() % (hi.saturating_sub(lo).saturating_add(1)))
}

impl SwarmBounds {
    /// The configuration `seed` draws for a run with these `workers`. Every
    /// family draws its on/off coin, and its values, whether or not it ends
    /// up on, so that changing one family's bounds moves no other's draw.
    pub fn draw(&self, seed: u64, workers: &[WorkerId]) -> SwarmDraw {
        let mut rng = seeded_stream(seed, "swarm");
        let mut draw = SwarmDraw::default();
        for (&op, bounds) in &self.rates {
            let on = unit(&mut rng) < self.on;
            let rates = RandomRates {
                fail_rate: in_span(&mut rng, bounds.fail_rate),
                empty_rate: in_span(&mut rng, bounds.empty_rate),
            };
            if on {
                draw.random.insert(op, rates);
            }
        }
        if let Some(bounds) = self.crashes {
            let on = unit(&mut rng) < self.on;
            let count = 1 + rng.next_u64() % u64::from(bounds.max.max(1));
            let mut crashes = Vec::new();
            for _ in 0..count {
                let at = ms_in(
                    &mut rng,
                    Duration::ZERO,
                    bounds.within.saturating_sub(Duration::from_millis(1)),
                );
                let worker = rng.next_u64() % workers.len().max(1) as u64;
                let restart_after =
                    ms_in(&mut rng, bounds.restart_after.min, bounds.restart_after.max);
                if let Some(worker) = workers.get(worker as usize) {
                    crashes.push(SwarmCrash {
                        at,
                        worker: worker.clone(),
                        restart_after,
                    });
                }
            }
            if on {
                crashes.sort_by_key(|c| c.at);
                draw.crashes = crashes;
            }
        }
        if let Some(bounds) = self.network {
            let on = unit(&mut rng) < self.on;
            let faults = NetworkFaults {
                latency_min: Duration::ZERO,
                latency_max: ms_in(&mut rng, bounds.latency_max.min, bounds.latency_max.max),
                loss_rate: in_span(&mut rng, bounds.loss_rate),
            };
            if on {
                draw.network = Some(faults);
            }
        }
        draw
    }
}

impl SwarmDraw {
    /// Writes the draw into `plan`: its overlay rates replace
    /// `faults.random`, its network faults `faults.network`, and each crash
    /// and its restart join the timed faults in time order (after those
    /// already at the same instant).
    pub fn apply(&self, plan: &mut SimPlan) {
        plan.random_faults = self.random.clone();
        if self.network.is_some() {
            plan.network.faults = self.network;
        }
        for crash in &self.crashes {
            for (at, action) in [
                (crash.at, TimedAction::Crash(crash.worker.clone())),
                (
                    crash.at + crash.restart_after,
                    TimedAction::Restart(crash.worker.clone()),
                ),
            ] {
                let after = plan.timed_faults.partition_point(|f| f.at <= at);
                plan.timed_faults.insert(after, TimedFault { at, action });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workers() -> Vec<WorkerId> {
        vec![WorkerId::new("worker-1"), WorkerId::new("worker-2")]
    }

    #[test]
    fn a_seed_draws_the_same_configuration_every_time() {
        let bounds = SwarmBounds::default();
        for seed in 0..50 {
            assert_eq!(bounds.draw(seed, &workers()), bounds.draw(seed, &workers()));
        }
    }

    #[test]
    fn draws_stay_in_bounds_and_families_are_sometimes_off() {
        let bounds = SwarmBounds::default();
        let (mut dequeue_on, mut crashes_on) = (0, 0);
        for seed in 0..400 {
            let draw = bounds.draw(seed, &workers());
            if let Some(r) = draw.random.get(&QueueOp::Dequeue) {
                dequeue_on += 1;
                assert!((0.0..=0.5).contains(&r.fail_rate), "{r:?}");
                assert!((0.0..=0.3).contains(&r.empty_rate), "{r:?}");
            }
            for op in [QueueOp::Heartbeat, QueueOp::Flush, QueueOp::Complete] {
                if let Some(r) = draw.random.get(&op) {
                    assert!((0.0..=0.2).contains(&r.fail_rate), "{r:?}");
                    assert_eq!(r.empty_rate, 0.0);
                }
            }
            if !draw.crashes.is_empty() {
                crashes_on += 1;
                assert!(draw.crashes.len() <= 2);
                for c in &draw.crashes {
                    assert!(c.at < Duration::from_secs(1));
                    assert!(
                        (Duration::from_millis(10)..=Duration::from_millis(200))
                            .contains(&c.restart_after)
                    );
                }
                assert!(draw.crashes.is_sorted_by_key(|c| c.at));
            }
            assert_eq!(draw.network, None);
        }
        // Each family is on with probability 1/2: 400 coins land far from
        // 0 and from 400.
        assert!((120..280).contains(&dequeue_on), "{dequeue_on}");
        assert!((120..280).contains(&crashes_on), "{crashes_on}");
    }

    #[test]
    fn applying_a_draw_writes_rates_and_crashes_into_the_plan_in_time_order() {
        let mut plan = SimPlan::default();
        plan.timed_faults.push(TimedFault {
            at: Duration::from_millis(50),
            action: TimedAction::Crash(WorkerId::new("worker-1")),
        });
        let draw = SwarmDraw {
            random: BTreeMap::from([(
                QueueOp::Dequeue,
                RandomRates {
                    fail_rate: 0.25,
                    empty_rate: 0.0,
                },
            )]),
            crashes: vec![SwarmCrash {
                at: Duration::from_millis(50),
                worker: WorkerId::new("worker-1"),
                restart_after: Duration::from_millis(20),
            }],
            network: None,
        };
        draw.apply(&mut plan);
        assert_eq!(plan.random_faults, draw.random);
        let times: Vec<u128> = plan.timed_faults.iter().map(|f| f.at.as_millis()).collect();
        assert_eq!(times, [50, 50, 70]);
        assert_eq!(
            plan.timed_faults[2].action,
            TimedAction::Restart(WorkerId::new("worker-1"))
        );
    }
}
