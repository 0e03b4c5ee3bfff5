//! Capped exponential backoff, with optional jitter, and the recovery
//! context that remembers it.
//!
//! After the `n`th consecutive poll failure the base delay is
//! `t(n) = min(initial * 2^(n-1), max)`. [`Jitter`] turns it into the delay
//! actually slept, in whole milliseconds, with the standard definitions
//! (`U[a, b]` is a uniform whole number of milliseconds, both ends included):
//!
//! | jitter | delay |
//! | --- | --- |
//! | `none` | `t(n)` |
//! | `full` | `U[0, t(n)]` |
//! | `equal` | `t(n)/2 + U[0, t(n) - t(n)/2]` (`/` rounds down) |
//! | `decorrelated` | `min(max, U[initial, 3 * previous])`, `previous` = `initial` at the first failure |
//!
//! The [`RecoveryContext`] counts the failures and adds up the delays
//! actually slept; when a poll finally dequeues a rollout, the context is what
//! the retry-recovery metrics report. Any successful poll, an empty one
//! included, resets it.

use std::time::Duration;

/// Where backoff jitter draws its randomness: uniform 64-bit words.
///
/// The core picks no generator of its own. The simulator gives every runner
/// a ChaCha8 stream derived from the scenario seed and the worker id, so a
/// run draws the same delays on every machine; production code may pass any
/// generator. A runner given none draws from [`SplitMix64`] seeded with
/// [`RunnerConfig::jitter_seed`](super::RunnerConfig::jitter_seed).
pub trait JitterSource: std::fmt::Debug {
    /// The next uniformly distributed word.
    fn next_u64(&mut self) -> u64;
}

impl<S: JitterSource + ?Sized> JitterSource for &mut S {
    fn next_u64(&mut self) -> u64 {
        (**self).next_u64()
    }
}

impl<S: JitterSource + ?Sized> JitterSource for Box<S> {
    fn next_u64(&mut self) -> u64 {
        (**self).next_u64()
    }
}

/// Vigna's SplitMix64: the runner's generator when none is given. Small and
/// fast; backoff jitter needs spread, not secrecy.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }
}

impl JitterSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// How the delay is randomised around the capped exponential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Jitter {
    /// Exactly `t(n)`.
    #[default]
    None,
    /// Uniform in `[0, t(n)]`.
    Full,
    /// Half of `t(n)` plus uniform in the other half.
    Equal,
    /// Uniform in `[initial, 3 * previous delay]`, capped at `max`.
    Decorrelated,
}

impl Jitter {
    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Full => "full",
            Self::Equal => "equal",
            Self::Decorrelated => "decorrelated",
        }
    }
}

/// The backoff policy: capped exponential, with optional jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The delay after the first failure.
    pub initial: Duration,
    /// The most any one delay may be.
    pub max: Duration,
    /// How delays are randomised.
    pub jitter: Jitter,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(25),
            max: Duration::from_millis(500),
            jitter: Jitter::None,
        }
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

/// A uniform whole number in `[low, high]`, without modulo bias.
fn uniform(rng: &mut (impl JitterSource + ?Sized), low: u64, high: u64) -> u64 {
    if high <= low {
        return low;
    }
    let span = high - low + 1;
    if span == 0 {
        return rng.next_u64();
    }
    let zone = u64::MAX - (u64::MAX - span + 1) % span;
    loop {
        let x = rng.next_u64();
        if x <= zone {
            return low + x % span;
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

    /// The whole-millisecond range the delay after the `failures`th failure
    /// may take, given the previous delay slept (for decorrelated jitter).
    pub fn envelope_ms(&self, failures: u32, previous: Option<Duration>) -> (u64, u64) {
        let t = ms(self.delay(failures));
        match self.jitter {
            Jitter::None => (t, t),
            Jitter::Full => (0, t),
            Jitter::Equal => (t / 2, t),
            Jitter::Decorrelated => {
                let initial = ms(self.initial);
                let cap = ms(self.max);
                let previous = previous.map_or(initial, ms);
                let high = previous.saturating_mul(3).max(initial);
                (initial.min(cap), high.min(cap))
            }
        }
    }

    /// The delay to sleep after the `failures`th failure, drawing from `rng`
    /// when the policy has jitter (exactly one draw per jittered delay).
    pub fn jittered_delay(
        &self,
        failures: u32,
        previous: Option<Duration>,
        rng: &mut (impl JitterSource + ?Sized),
    ) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let (low, high) = self.envelope_ms(failures, previous);
        let chosen = match self.jitter {
            Jitter::None => return self.delay(failures),
            Jitter::Full | Jitter::Equal | Jitter::Decorrelated => uniform(rng, low, high),
        };
        Duration::from_millis(chosen)
    }
}

/// What the poll loop remembers about the failures it is recovering from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryContext {
    /// Consecutive poll failures since the last successful poll.
    pub failures: u32,
    /// Whole milliseconds of backoff slept over those failures.
    pub backoff_ms: u64,
    /// The last delay slept, for decorrelated jitter.
    pub last_delay: Option<Duration>,
}

impl RecoveryContext {
    /// Counts one more failure; returns the delay to sleep (no jitter).
    pub fn record_failure(&mut self, policy: &BackoffPolicy) -> Duration {
        self.record_failure_with(policy, &mut NoRandomness)
    }

    /// Counts one more failure, drawing jitter from `rng`; returns the delay
    /// to sleep.
    pub fn record_failure_with(
        &mut self,
        policy: &BackoffPolicy,
        rng: &mut (impl JitterSource + ?Sized),
    ) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let delay = policy.jittered_delay(self.failures, self.last_delay, rng);
        self.backoff_ms = self.backoff_ms.saturating_add(ms(delay));
        self.last_delay = Some(delay);
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

/// A source of randomness for policies that never draw (no jitter).
#[derive(Debug)]
struct NoRandomness;

impl JitterSource for NoRandomness {
    fn next_u64(&mut self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Draws these values, in order, and no more.
    #[derive(Debug)]
    struct Scripted(std::collections::VecDeque<u64>);

    impl JitterSource for Scripted {
        fn next_u64(&mut self) -> u64 {
            self.0.pop_front().expect("drew more than the script holds")
        }
    }

    #[test]
    fn uniform_redraws_exactly_the_values_past_the_last_whole_span() {
        let draw = |values: &[u64], low, high| {
            uniform(&mut Scripted(values.iter().copied().collect()), low, high)
        };
        // 2^64 = 16 (mod 40): the top 16 values of a u64 would favour
        // 0..16, so they are drawn again; the one below is the last kept.
        assert_eq!(draw(&[u64::MAX - 16], 0, 39), 39);
        assert_eq!(draw(&[u64::MAX - 15, u64::MAX, 47], 0, 39), 7);
        assert_eq!(draw(&[41], 10, 49), 11);
        assert_eq!(draw(&[], 5, 5), 5);
    }

    #[test]
    fn capped_exponential_formula() {
        let policy = BackoffPolicy {
            initial: ms(10),
            max: ms(40),
            jitter: Jitter::None,
        };
        assert_eq!(policy.delay(1), ms(10));
        assert_eq!(policy.delay(2), ms(20));
        assert_eq!(policy.delay(3), ms(40));
        assert_eq!(policy.delay(6), ms(40));
        assert_eq!(policy.delay(0), ms(0));
        assert_eq!(policy.delay(u32::MAX), ms(40));
    }

    #[test]
    fn spec_case_2_totals() {
        let policy = BackoffPolicy {
            initial: ms(5),
            max: ms(20),
            jitter: Jitter::None,
        };
        let mut ctx = RecoveryContext::default();
        let delays: Vec<_> = (0..3).map(|_| ctx.record_failure(&policy)).collect();
        assert_eq!(delays, [ms(5), ms(10), ms(20)]);
        assert_eq!(
            ctx,
            RecoveryContext {
                failures: 3,
                backoff_ms: 35,
                last_delay: Some(ms(20)),
            }
        );
        ctx.reset();
        assert!(!ctx.is_recovering());
        assert_eq!(ctx.backoff_ms, 0);
    }

    #[test]
    fn jitter_stays_inside_its_envelope() {
        let mut rng = SplitMix64::new(7);
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
            let policy = BackoffPolicy {
                initial: ms(10),
                max: ms(200),
                jitter,
            };
            let mut ctx = RecoveryContext::default();
            let mut total = 0;
            for n in 1..=12 {
                let previous = ctx.last_delay;
                let (low, high) = policy.envelope_ms(n, previous);
                let d = ctx.record_failure_with(&policy, &mut rng).as_millis() as u64;
                assert!(
                    low <= d && d <= high,
                    "{jitter:?} failure {n}: {d} not in [{low}, {high}]"
                );
                total += d;
            }
            assert_eq!(ctx.backoff_ms, total);
        }
        let p = |jitter| BackoffPolicy {
            initial: ms(10),
            max: ms(40),
            jitter,
        };
        assert_eq!(p(Jitter::Full).envelope_ms(3, None), (0, 40));
        assert_eq!(p(Jitter::Equal).envelope_ms(2, None), (10, 20));
        assert_eq!(p(Jitter::Decorrelated).envelope_ms(1, None), (10, 30));
        assert_eq!(
            p(Jitter::Decorrelated).envelope_ms(2, Some(ms(25))),
            (10, 40)
        );
    }

    #[test]
    fn uniform_draws_cover_both_ends() {
        let mut rng = SplitMix64::new(1);
        let draws: Vec<u64> = (0..200).map(|_| uniform(&mut rng, 3, 5)).collect();
        assert!(draws.iter().all(|d| (3..=5).contains(d)));
        assert!(draws.contains(&3) && draws.contains(&5));
        assert_eq!(uniform(&mut rng, 9, 9), 9);
    }
}
