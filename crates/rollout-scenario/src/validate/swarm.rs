//! `swarm:`: the bounds of what `--swarm` draws for each seed.
//!
//! Every key is optional and keeps the default of
//! [`SwarmBounds::default`] when left out, so `--swarm` works on a file
//! without the section. Rates are `[min, max]` probabilities with
//! `0 <= min <= max <= 1`; a dequeue's two rates may add up to at most 1 at
//! their maxima (a call that fails cannot also come back empty); durations
//! are `[min, max]` with `min <= max`; `on`, the chance that each family is
//! on, is a probability. At most [`MAX_SWARM_CRASHES`] crashes a seed. A
//! `network` family makes the file turmoil-only, like `faults.network`.

use rollout_core::QueueOp;
use rollout_simulator::{CrashBounds, DrawRange, NetworkBounds, RateBounds, SwarmBounds};

use crate::duration::Dur;
use crate::limits::MAX_SWARM_CRASHES;
use crate::schema::SwarmSection;
use crate::source::{Path, at};

use super::Validator;

impl Validator<'_> {
    /// `swarm:`, resolved over the defaults.
    pub(super) fn swarm(&mut self, section: Option<&SwarmSection>) -> SwarmBounds {
        let mut bounds = SwarmBounds::default();
        let Some(section) = section else {
            return bounds;
        };
        if let Some(on) = section.on {
            if (0.0..=1.0).contains(&on) {
                bounds.on = on;
            } else {
                self.problem(
                    at!["swarm", "on"],
                    format!("on must be between 0 and 1, not {on}"),
                    Some("the chance that each fault family is on, such as 0.5".into()),
                );
            }
        }
        if let Some(dequeue) = section.dequeue {
            let entry = bounds.rates.get_mut(&QueueOp::Dequeue);
            let (fail, empty) = entry
                .map_or((DrawRange::new(0.0, 0.0), DrawRange::new(0.0, 0.0)), |b| {
                    (b.fail_rate, b.empty_rate)
                });
            let fail_rate = self.rate_range(
                at!["swarm", "dequeue", "fail_rate"],
                dequeue.fail_rate,
                fail,
            );
            let empty_rate = self.rate_range(
                at!["swarm", "dequeue", "empty_rate"],
                dequeue.empty_rate,
                empty,
            );
            if fail_rate.max + empty_rate.max > 1.0 {
                self.problem(
                    at!["swarm", "dequeue"],
                    format!(
                        "the largest fail_rate and empty_rate add up to {}, more than 1",
                        fail_rate.max + empty_rate.max
                    ),
                    Some("a dequeue that fails cannot also come back empty".into()),
                );
            }
            bounds.rates.insert(
                QueueOp::Dequeue,
                RateBounds {
                    fail_rate,
                    empty_rate,
                },
            );
        }
        for (op, name, spec) in [
            (QueueOp::Heartbeat, "heartbeat", section.heartbeat),
            (QueueOp::Flush, "flush", section.flush),
            (QueueOp::Complete, "complete", section.complete),
        ] {
            let Some(spec) = spec else { continue };
            let default = bounds
                .rates
                .get(&op)
                .map_or(DrawRange::new(0.0, 0.0), |b| b.fail_rate);
            let fail_rate =
                self.rate_range(at!["swarm", name, "fail_rate"], spec.fail_rate, default);
            bounds.rates.insert(
                op,
                RateBounds {
                    fail_rate,
                    empty_rate: DrawRange::new(0.0, 0.0),
                },
            );
        }
        if let Some(crashes) = section.crashes {
            let default = bounds.crashes.unwrap_or(CrashBounds {
                max: 0,
                within: std::time::Duration::from_secs(1),
                restart_after: DrawRange::new(std::time::Duration::ZERO, std::time::Duration::ZERO),
            });
            let max = crashes.max.unwrap_or(default.max);
            if max > MAX_SWARM_CRASHES {
                self.problem(
                    at!["swarm", "crashes", "max"],
                    format!("at most {MAX_SWARM_CRASHES} crashes a seed, not {max}"),
                    None,
                );
            }
            let within = crashes.within.map_or(default.within, |d| d.0);
            if within.is_zero() && max > 0 {
                self.problem(
                    at!["swarm", "crashes", "within"],
                    "within must be greater than 0",
                    Some("crashes happen before this time, such as 1s".into()),
                );
            }
            let restart_after = self.duration_range(
                at!["swarm", "crashes", "restart_after"],
                crashes.restart_after,
                default.restart_after,
            );
            bounds.crashes = (max > 0).then_some(CrashBounds {
                max: max.min(MAX_SWARM_CRASHES),
                within,
                restart_after,
            });
        }
        if let Some(network) = section.network {
            let loss_rate = self.rate_range(
                at!["swarm", "network", "loss_rate"],
                network.loss_rate,
                DrawRange::new(0.0, 0.05),
            );
            let latency_max = self.duration_range(
                at!["swarm", "network", "latency_max"],
                network.latency_max,
                DrawRange::new(
                    std::time::Duration::ZERO,
                    std::time::Duration::from_millis(20),
                ),
            );
            bounds.network = Some(NetworkBounds {
                loss_rate,
                latency_max,
            });
        }
        bounds
    }

    /// A `[min, max]` probability range at `at`, or `default`.
    fn rate_range(
        &mut self,
        at: Path,
        given: Option<[f64; 2]>,
        default: DrawRange<f64>,
    ) -> DrawRange<f64> {
        let Some([min, max]) = given else {
            return default;
        };
        if !(0.0..=1.0).contains(&min) || !(0.0..=1.0).contains(&max) || min > max {
            self.problem(
                at,
                format!("[{min}, {max}] is not a range of probabilities"),
                Some("write [min, max] with 0 <= min <= max <= 1, such as [0, 0.2]".into()),
            );
            return default;
        }
        DrawRange::new(min, max)
    }

    /// A `[min, max]` duration range at `at`, or `default`.
    fn duration_range(
        &mut self,
        at: Path,
        given: Option<[Dur; 2]>,
        default: DrawRange<std::time::Duration>,
    ) -> DrawRange<std::time::Duration> {
        let Some([min, max]) = given else {
            return default;
        };
        if min.0 > max.0 {
            self.problem(
                at,
                format!("[{min}, {max}] is not a range: min is above max"),
                Some("write [min, max] with min <= max, such as [10ms, 200ms]".into()),
            );
            return default;
        }
        DrawRange::new(min.0, max.0)
    }
}
