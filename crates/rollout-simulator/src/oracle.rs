//! The harness's own model of the backoff policy.
//!
//! The `backoff-policy` invariant checks every delay the runner slept
//! against what DESIGN §1 says it may be. If it asked the core's
//! [`BackoffPolicy`] for that, a bug in the core's formula would be in the
//! prediction too, and the invariant would agree with it (mutation testing
//! found exactly that: a planted off-by-one in the exponent went unseen).
//! So the formula is written again here, from the specification, reading
//! only the policy's settings:
//!
//! `t(n) = min(initial * 2^(n-1), max)` in whole milliseconds; `none`:
//! exactly `t(n)`; `full`: `[0, t(n)]`; `equal`: `[t(n)/2, t(n)]`;
//! `decorrelated`: `[min(initial, max), min(max, max(initial, 3 * previous))]`
//! with `previous` the last delay slept (`initial` at the first failure).

use std::time::Duration;

use rollout_core::{BackoffPolicy, Jitter};

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `t(n)` in ms: the base delay after the `failures`th consecutive failure
/// (1-based), saturating.
pub(crate) fn base_delay_ms(policy: &BackoffPolicy, failures: u32) -> u64 {
    if failures == 0 {
        return 0;
    }
    let doubled = (1..failures).try_fold(ms(policy.initial), |d, _| d.checked_mul(2));
    doubled.unwrap_or(u64::MAX).min(ms(policy.max))
}

/// The whole-millisecond range the delay after the `failures`th failure may
/// take, given the previous delay slept.
pub fn envelope_ms(
    policy: &BackoffPolicy,
    failures: u32,
    previous: Option<Duration>,
) -> (u64, u64) {
    let t = base_delay_ms(policy, failures);
    match policy.jitter {
        Jitter::None => (t, t),
        Jitter::Full => (0, t),
        Jitter::Equal => (t / 2, t),
        Jitter::Decorrelated => {
            let (initial, cap) = (ms(policy.initial), ms(policy.max));
            let previous = previous.map_or(initial, ms);
            (
                initial.min(cap),
                previous.saturating_mul(3).max(initial).min(cap),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(initial: u64, max: u64, jitter: Jitter) -> BackoffPolicy {
        BackoffPolicy {
            initial: Duration::from_millis(initial),
            max: Duration::from_millis(max),
            jitter,
        }
    }

    #[test]
    fn the_base_delay_doubles_from_initial_up_to_the_cap() {
        // Spec C-02: initial 5 ms, max 20 ms: 5, 10, 20, 20.
        let p = policy(5, 20, Jitter::None);
        let delays: Vec<u64> = (0..=5).map(|n| base_delay_ms(&p, n)).collect();
        assert_eq!(delays, [0, 5, 10, 20, 20, 20]);
        // Saturates rather than overflowing.
        assert_eq!(
            base_delay_ms(&policy(5, u64::MAX, Jitter::None), 200),
            u64::MAX
        );
    }

    #[test]
    fn envelopes_follow_the_jitter_definitions() {
        assert_eq!(
            envelope_ms(&policy(25, 500, Jitter::None), 3, None),
            (100, 100)
        );
        assert_eq!(
            envelope_ms(&policy(25, 500, Jitter::Full), 3, None),
            (0, 100)
        );
        assert_eq!(
            envelope_ms(&policy(25, 500, Jitter::Equal), 3, None),
            (50, 100)
        );
        assert_eq!(
            envelope_ms(
                &policy(25, 500, Jitter::Decorrelated),
                3,
                Some(Duration::from_millis(60))
            ),
            (25, 180)
        );
        assert_eq!(
            envelope_ms(&policy(25, 500, Jitter::Decorrelated), 1, None),
            (25, 75)
        );
    }

    #[test]
    fn the_model_agrees_with_the_core_on_every_count_and_policy() {
        for (initial, max) in [(1, 1), (5, 20), (25, 500), (7, 1000), (0, 10)] {
            for jitter in [
                Jitter::None,
                Jitter::Full,
                Jitter::Equal,
                Jitter::Decorrelated,
            ] {
                let p = policy(initial, max, jitter);
                for n in 0..40 {
                    for previous in [None, Some(Duration::from_millis(13))] {
                        assert_eq!(
                            envelope_ms(&p, n, previous),
                            p.envelope_ms(n, previous),
                            "{p:?} n={n} previous={previous:?}"
                        );
                    }
                }
            }
        }
    }
}
