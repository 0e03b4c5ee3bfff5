//! Capped exponential backoff, and the recovery context that remembers it.
//!
//! After the `n`th consecutive poll failure the runner sleeps
//! `min(initial * 2^(n-1), max)`. The [`RecoveryContext`] counts those
//! failures and adds up the sleeps in whole milliseconds; when a poll finally
//! dequeues a rollout, the context is what the retry-recovery metrics report.
//! Any successful poll, an empty one included, resets it.

use std::time::Duration;

/// The backoff policy: capped exponential, without jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The delay after the first failure.
    pub initial: Duration,
    /// The most any one delay may be.
    pub max: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(25),
            max: Duration::from_millis(500),
        }
    }
}

impl BackoffPolicy {
    /// The delay after the `failures`th consecutive failure (1-based):
    /// `min(initial * 2^(failures-1), max)`. Saturates instead of
    /// overflowing, so any count is safe. Zero failures, zero delay.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// What the poll loop remembers about the failures it is recovering from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryContext {
    /// Consecutive poll failures since the last successful poll.
    pub failures: u32,
    /// Whole milliseconds of backoff slept over those failures.
    pub backoff_ms: u64,
}

impl RecoveryContext {
    /// Counts one more failure; returns the delay to sleep.
    pub fn record_failure(&mut self, policy: &BackoffPolicy) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let delay = policy.delay(self.failures);
        self.backoff_ms = self.backoff_ms.saturating_add(delay.as_millis() as u64);
        delay
    }

    /// A successful poll: back to zero.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// True when the next rollout processed is a recovery.
    pub fn is_recovering(&self) -> bool {
        self.failures > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn capped_exponential_formula() {
        let policy = BackoffPolicy {
            initial: ms(10),
            max: ms(40),
        };
        assert_eq!(policy.delay(1), ms(10));
        assert_eq!(policy.delay(2), ms(20));
        assert_eq!(policy.delay(3), ms(40));
        assert_eq!(policy.delay(6), ms(40));
        assert_eq!(policy.delay(0), ms(0));
        assert_eq!(policy.delay(u32::MAX), ms(40));
    }

    #[test]
    fn spec_case_c02_totals() {
        let policy = BackoffPolicy {
            initial: ms(5),
            max: ms(20),
        };
        let mut ctx = RecoveryContext::default();
        let delays: Vec<_> = (0..3).map(|_| ctx.record_failure(&policy)).collect();
        assert_eq!(delays, [ms(5), ms(10), ms(20)]);
        assert_eq!(
            ctx,
            RecoveryContext {
                failures: 3,
                backoff_ms: 35
            }
        );
        ctx.reset();
        assert!(!ctx.is_recovering());
        assert_eq!(ctx.backoff_ms, 0);
    }
}
