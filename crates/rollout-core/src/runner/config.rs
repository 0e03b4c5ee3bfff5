//! The runner's configuration, its defaults and its validation.

use std::time::Duration;

use super::backoff::BackoffPolicy;
use crate::queue::WorkerId;

/// How a runner behaves. `Default` gives the reference runner's values.
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerConfig {
    /// The worker's id (`worker-1`).
    pub worker_id: WorkerId,
    /// How often to poll the queue (75 ms).
    pub poll_interval: Duration,
    /// How often to heartbeat, idle or busy (1 s).
    pub heartbeat_interval: Duration,
    /// How often to look for stale attempts (250 ms).
    pub reassignment_interval: Duration,
    /// How long an attempt may go without a heartbeat (3 s).
    pub worker_timeout: Duration,
    /// Backoff after poll failures (25 ms, capped at 500 ms).
    pub backoff: BackoffPolicy,
    /// Emit the two retry-recovery metrics (on).
    pub retry_metrics: bool,
    /// Seeds the runner's own jitter generator ([`SplitMix64`](super::SplitMix64)),
    /// used unless [`Runner::with_jitter_source`](super::Runner::with_jitter_source)
    /// gives another (0). Unused without jitter.
    pub jitter_seed: u64,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            worker_id: WorkerId::new("worker-1"),
            poll_interval: Duration::from_millis(75),
            heartbeat_interval: Duration::from_secs(1),
            reassignment_interval: Duration::from_millis(250),
            worker_timeout: Duration::from_secs(3),
            backoff: BackoffPolicy::default(),
            retry_metrics: true,
            jitter_seed: 0,
        }
    }
}

/// Why a [`RunnerConfig`] is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `backoff.initial` is zero.
    BackoffInitialZero,
    /// `backoff.max` is zero.
    BackoffMaxZero,
    /// `backoff.max` is below `backoff.initial`.
    BackoffMaxBelowInitial {
        /// The initial delay.
        initial: Duration,
        /// The cap.
        max: Duration,
    },
    /// An interval or timeout is zero.
    ZeroInterval {
        /// `poll_interval`, `heartbeat_interval`, `reassignment_interval` or
        /// `worker_timeout`.
        name: &'static str,
    },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BackoffInitialZero => f.write_str("backoff initial must be greater than 0"),
            Self::BackoffMaxZero => f.write_str("backoff max must be greater than 0"),
            Self::BackoffMaxBelowInitial { initial, max } => write!(
                f,
                "backoff max ({max:?}) must be at least backoff initial ({initial:?})"
            ),
            Self::ZeroInterval { name } => write!(f, "{name} must be greater than 0"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl RunnerConfig {
    /// Checks the rules in order: initial > 0, max > 0, max >= initial, then
    /// every interval > 0. Returns the first broken one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let BackoffPolicy { initial, max, .. } = self.backoff;
        if initial.is_zero() {
            return Err(ConfigError::BackoffInitialZero);
        }
        if max.is_zero() {
            return Err(ConfigError::BackoffMaxZero);
        }
        if max < initial {
            return Err(ConfigError::BackoffMaxBelowInitial { initial, max });
        }
        for (name, value) in [
            ("poll_interval", self.poll_interval),
            ("heartbeat_interval", self.heartbeat_interval),
            ("reassignment_interval", self.reassignment_interval),
            ("worker_timeout", self.worker_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::ZeroInterval { name });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn with(f: impl FnOnce(&mut RunnerConfig)) -> Result<(), String> {
        let mut config = RunnerConfig::default();
        f(&mut config);
        config.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_reference_values_and_valid() {
        let c = RunnerConfig::default();
        assert_eq!(c.worker_id.as_str(), "worker-1");
        assert_eq!(c.poll_interval, ms(75));
        assert_eq!(c.heartbeat_interval, ms(1000));
        assert_eq!(c.reassignment_interval, ms(250));
        assert_eq!(c.worker_timeout, ms(3000));
        assert_eq!(
            c.backoff,
            BackoffPolicy {
                initial: ms(25),
                max: ms(500),
                jitter: crate::runner::backoff::Jitter::None,
            }
        );
        assert!(c.retry_metrics);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn every_validation_message() {
        assert_eq!(
            with(|c| c.backoff.initial = ms(0)),
            Err("backoff initial must be greater than 0".into())
        );
        assert_eq!(
            with(|c| c.backoff.max = ms(0)),
            Err("backoff max must be greater than 0".into())
        );
        assert_eq!(
            with(|c| c.backoff = BackoffPolicy {
                initial: ms(10),
                max: ms(5),
                jitter: crate::runner::backoff::Jitter::None,
            }),
            Err("backoff max (5ms) must be at least backoff initial (10ms)".into())
        );
        for name in [
            "poll_interval",
            "heartbeat_interval",
            "reassignment_interval",
            "worker_timeout",
        ] {
            let got = with(|c| match name {
                "poll_interval" => c.poll_interval = ms(0),
                "heartbeat_interval" => c.heartbeat_interval = ms(0),
                "reassignment_interval" => c.reassignment_interval = ms(0),
                _ => c.worker_timeout = ms(0),
            });
            assert_eq!(got, Err(format!("{name} must be greater than 0")));
        }
    }

    #[test]
    fn validation_order_is_initial_then_max_then_intervals() {
        assert_eq!(
            with(|c| {
                c.backoff = BackoffPolicy {
                    initial: ms(0),
                    max: ms(0),
                    jitter: crate::runner::backoff::Jitter::None,
                };
                c.poll_interval = ms(0);
            }),
            Err("backoff initial must be greater than 0".into())
        );
        assert_eq!(
            with(|c| {
                c.backoff.max = ms(1);
                c.poll_interval = ms(0);
            }),
            Err("backoff max (1ms) must be at least backoff initial (25ms)".into())
        );
    }
}
