//! Time, as the runner sees it.
//!
//! The runner never reads the wall clock. Everything it knows about time comes
//! from a [`Clock`]: the current instant, measured as a [`Duration`] since the
//! clock's own epoch, and futures that complete at a deadline. Production code
//! plugs in [`TokioClock`]; the simulator plugs in a virtual clock that jumps
//! straight to the next timer, so a minute of runner time costs microseconds.
//!
//! [`Interval`] is built on top of any clock and reproduces tokio's interval
//! semantics exactly, including its 5 ms lateness tolerance and the
//! [`MissedTickBehavior`] variants, so that the same runner behaves the same
//! on every engine.

use std::future::Future;
use std::time::Duration;

/// A source of time and timers.
///
/// `now` is monotonic and starts at the clock's epoch (usually zero at the
/// start of a run). Clones share the same timeline.
pub trait Clock: Clone {
    /// Time elapsed since this clock's epoch.
    fn now(&self) -> Duration;

    /// A future that completes once `now() >= deadline`.
    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()>;

    /// A future that completes `duration` after the moment it is created.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        self.sleep_until(self.now().saturating_add(duration))
    }
}

/// What an [`Interval`] does when a tick is later than its deadline
/// (tokio's `MissedTickBehavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back: the next deadline stays on the
    /// original grid (`deadline + period`).
    #[default]
    Burst,
    /// Restart the grid from the late tick: the next deadline is
    /// `now + period`.
    Delay,
    /// Skip the missed ticks: the next deadline is the next grid point after
    /// `now`.
    Skip,
}

/// How late a tick may be before it counts as missed. tokio hard-codes this;
/// copying it keeps virtual and tokio runs tick for tick identical.
pub const MISSED_TICK_TOLERANCE: Duration = Duration::from_millis(5);

impl MissedTickBehavior {
    fn next_deadline(self, deadline: Duration, now: Duration, period: Duration) -> Duration {
        match self {
            MissedTickBehavior::Burst => deadline + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let late = (now - deadline).as_nanos();
                let offset = (late % period.as_nanos()) as u64;
                now + (period - Duration::from_nanos(offset))
            }
        }
    }
}

/// A periodic timer over any [`Clock`]; the first tick completes at `start`.
#[derive(Debug, Clone)]
pub struct Interval<C> {
    clock: C,
    period: Duration,
    next: Duration,
    behavior: MissedTickBehavior,
}

impl<C: Clock> Interval<C> {
    /// An interval whose first tick is immediate.
    pub fn new(clock: C, period: Duration, behavior: MissedTickBehavior) -> Self {
        let start = clock.now();
        Self::starting_at(clock, start, period, behavior)
    }

    /// An interval whose first tick is at `start`.
    pub fn starting_at(
        clock: C,
        start: Duration,
        period: Duration,
        behavior: MissedTickBehavior,
    ) -> Self {
        Self {
            clock,
            period,
            next: start,
            behavior,
        }
    }

    /// The deadline of the next tick.
    pub fn next_deadline(&self) -> Duration {
        self.next
    }

    /// Waits for the next tick and returns its scheduled deadline.
    ///
    /// Cancel-safe: the interval only advances in the same poll that
    /// completes, so dropping the future loses no tick.
    pub async fn tick(&mut self) -> Duration {
        self.clock.sleep_until(self.next).await;
        let deadline = self.next;
        let now = self.clock.now();
        self.next = if now > deadline + MISSED_TICK_TOLERANCE {
            self.behavior.next_deadline(deadline, now, self.period)
        } else {
            deadline + self.period
        };
        deadline
    }
}

/// The production clock: tokio's time driver, measured from the moment the
/// clock was created. Under a paused tokio runtime it is virtual too.
/// Behind the `tokio` feature.
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    epoch: tokio::time::Instant,
}

#[cfg(feature = "tokio")]
impl TokioClock {
    /// A clock whose epoch is now. Must be called inside a tokio runtime with
    /// the time driver enabled.
    pub fn new() -> Self {
        Self {
            epoch: tokio::time::Instant::now(),
        }
    }

    /// A clock with an explicit epoch.
    pub fn with_epoch(epoch: tokio::time::Instant) -> Self {
        Self { epoch }
    }
}

#[cfg(feature = "tokio")]
impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "tokio")]
impl Clock for TokioClock {
    fn now(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.epoch)
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep_until(self.epoch + deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missed_tick_rules_match_tokio() {
        let ms = Duration::from_millis;
        let p = ms(10);
        assert_eq!(
            MissedTickBehavior::Burst.next_deadline(ms(10), ms(37), p),
            ms(20)
        );
        assert_eq!(
            MissedTickBehavior::Delay.next_deadline(ms(10), ms(37), p),
            ms(47)
        );
        assert_eq!(
            MissedTickBehavior::Skip.next_deadline(ms(10), ms(37), p),
            ms(40)
        );
    }
}
