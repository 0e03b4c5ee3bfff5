//! Same-instant timers in registration order, on tokio.
//!
//! The virtual executor fires the timers due at an instant in the order
//! they were registered, and runs the tasks they wake in that order. Tokio's
//! timer wheel fires same-instant timers in an order of its own (it depends
//! on which level of the wheel each timer was filed in), so two workers
//! whose timers fall due together could run in the other order on the tokio
//! engine, and the two engines' traces part at that instant.
//!
//! [`TimerOrder`] puts a gate behind tokio's timers. A sleep still waits on
//! a real tokio timer (the engine keeps exercising tokio's clock), but when
//! it fires the sleep only reports itself *due* and waits. Once every sleep
//! registered for an instant that has come is due, the engine
//! [releases](TimerOrder::release_settled) them all at once, waking
//! their tasks in registration order; a `LocalSet` then polls them in that
//! order. A sleep whose deadline has passed at its first poll completes at
//! once without registering, as on the virtual engine.
//!
//! Registration numbers follow the order sleeps are first polled, which is
//! the order the virtual engine numbers its timers in, as long as both ran
//! the same tasks in the same order so far: by induction, they do.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// A registered sleep: its deadline, then its registration number.
type Key = (Duration, u64);

#[derive(Debug)]
struct Entry {
    /// Its tokio timer has fired (the instant has come) and it waits.
    due: bool,
    /// The control loop let it through.
    released: bool,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct State {
    next: u64,
    entries: BTreeMap<Key, Entry>,
    /// Entries let through whose sleep has not yet seen it (its task has
    /// not been polled since).
    released: usize,
}

/// The gate behind one run's tokio timers. Share it with `Rc` between the
/// workers' clocks and the engine.
#[derive(Debug, Default)]
pub struct TimerOrder {
    state: RefCell<State>,
}

impl TimerOrder {
    /// An empty gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// The earliest deadline of a sleep not yet let through: when the
    /// engine next has something to do.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.state
            .borrow()
            .entries
            .iter()
            .find(|(_, e)| !e.released)
            .map(|((deadline, _), _)| *deadline)
    }

    /// A sleep until `deadline` that waits on `timer` and then on the gate;
    /// `now` reads the clock `deadline` is on.
    pub fn sleep<T: Future<Output = ()>>(
        self: &Rc<Self>,
        deadline: Duration,
        now: impl Fn() -> Duration,
        timer: T,
    ) -> impl Future<Output = ()> {
        OrderedSleep {
            order: self.clone(),
            deadline,
            now,
            timer,
            key: None,
        }
    }

    /// If every sleep registered for an instant up to `now` is due, lets
    /// them all through, waking their tasks in registration order. Returns
    /// whether it released any.
    pub fn release_settled(&self, now: Duration) -> bool {
        let wakers: Vec<Waker> = {
            let mut state = self.state.borrow_mut();
            let mut waiting = state
                .entries
                .range(..=(now, u64::MAX))
                .filter(|(_, e)| !e.released)
                .peekable();
            if waiting.peek().is_none() || waiting.any(|(_, e)| !e.due) {
                return false;
            }
            state
                .entries
                .range_mut(..=(now, u64::MAX))
                .filter(|(_, e)| !e.released)
                .filter_map(|(_, e)| {
                    e.released = true;
                    e.waker.take()
                })
                .collect::<Vec<_>>()
        };
        self.state.borrow_mut().released += wakers.len();
        for waker in wakers {
            waker.wake();
        }
        true
    }

    /// How many sleeps were let through and have not yet seen it: their
    /// tasks are woken and not yet polled.
    pub fn outstanding(&self) -> usize {
        self.state.borrow().released
    }

    /// True while a sleep registered for an instant up to `now` is not yet
    /// due: its task has not been polled since its tokio timer fired.
    pub fn waiting(&self, now: Duration) -> bool {
        self.state
            .borrow()
            .entries
            .range(..=(now, u64::MAX))
            .any(|(_, e)| !e.released && !e.due)
    }

    fn register(&self, deadline: Duration, waker: &Waker) -> Key {
        let mut state = self.state.borrow_mut();
        let key = (deadline, state.next);
        state.next += 1;
        state.entries.insert(
            key,
            Entry {
                due: false,
                released: false,
                waker: Some(waker.clone()),
            },
        );
        key
    }

    fn remove(&self, key: Key) {
        let mut state = self.state.borrow_mut();
        if state.entries.remove(&key).is_some_and(|e| e.released) {
            state.released -= 1;
        }
    }
}

pin_project_lite::pin_project! {
    struct OrderedSleep<N, T> {
        order: Rc<TimerOrder>,
        deadline: Duration,
        now: N,
        #[pin]
        timer: T,
        key: Option<Key>,
    }

    impl<N, T> PinnedDrop for OrderedSleep<N, T> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(key) = this.key.take() {
                this.order.remove(key);
            }
        }
    }
}

impl<N: Fn() -> Duration, T: Future<Output = ()>> Future for OrderedSleep<N, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let now = (this.now)();
        let Some(key) = *this.key else {
            if now >= *this.deadline {
                return Poll::Ready(());
            }
            *this.key = Some(this.order.register(*this.deadline, cx.waker()));
            // Not due yet, so tokio's timer is pending: this arms it.
            let _ = this.timer.poll(cx);
            return Poll::Pending;
        };
        let mut state = this.order.state.borrow_mut();
        let entry = state
            .entries
            .get_mut(&key)
            .expect("a registered sleep keeps its entry until it ends");
        if entry.released {
            state.entries.remove(&key);
            state.released -= 1;
            *this.key = None;
            return Poll::Ready(());
        }
        if !entry
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            entry.waker = Some(cx.waker().clone());
        }
        if now >= *this.deadline {
            entry.due = true;
        } else {
            drop(state);
            let _ = this.timer.poll(cx);
        }
        Poll::Pending
    }
}
