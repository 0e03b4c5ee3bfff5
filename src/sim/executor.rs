//! The virtual engine's executor: single-threaded, deterministic, and with a
//! clock that jumps.
//!
//! Tasks are polled in the order they were woken (FIFO). Timers live in one
//! ordered map keyed by `(deadline, registration number)`, so timers due at
//! the same instant fire in the order they were set, on every run. When no
//! task is ready, the driver asks for the next deadline and advances the
//! clock straight to it: virtual time costs nothing to pass.
//!
//! No tokio here: this executor is the fast path for suites and sweeps.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::core::clock::Clock;

#[derive(Default)]
struct Timeline {
    now: Cell<Duration>,
    next_key: Cell<u64>,
    timers: RefCell<BTreeMap<(Duration, u64), Waker>>,
}

/// The virtual clock. Clones share one timeline, owned by a
/// [`VirtualExecutor`]; time moves only when the executor advances it.
#[derive(Clone, Default)]
pub struct VirtualClock {
    timeline: Rc<Timeline>,
}

impl std::fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualClock")
            .field("now", &self.now())
            .finish()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        self.timeline.now.get()
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        VirtualSleep {
            timeline: self.timeline.clone(),
            deadline,
            key: None,
        }
    }
}

struct VirtualSleep {
    timeline: Rc<Timeline>,
    deadline: Duration,
    key: Option<(Duration, u64)>,
}

impl Future for VirtualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.timeline.now.get() >= self.deadline {
            if let Some(key) = self.key.take() {
                self.timeline.timers.borrow_mut().remove(&key);
            }
            return Poll::Ready(());
        }
        let mut timers = self.timeline.timers.borrow_mut();
        match self.key {
            Some(key) => {
                if let Some(waker) = timers.get_mut(&key)
                    && !waker.will_wake(cx.waker())
                {
                    waker.clone_from(cx.waker());
                }
            }
            None => {
                let seq = self.timeline.next_key.get();
                self.timeline.next_key.set(seq + 1);
                let key = (self.deadline, seq);
                timers.insert(key, cx.waker().clone());
                drop(timers);
                self.key = Some(key);
            }
        }
        Poll::Pending
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.timeline.timers.borrow_mut().remove(&key);
        }
    }
}

/// Identifies a task spawned on a [`VirtualExecutor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(usize);

#[derive(Default)]
struct ReadyQueue {
    queue: Mutex<VecDeque<usize>>,
}

struct TaskWaker {
    id: usize,
    ready: Arc<ReadyQueue>,
    queued: std::sync::atomic::AtomicBool,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if !self.queued.swap(true, Ordering::Relaxed) {
            self.ready
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(self.id);
        }
    }
}

struct Task {
    future: Pin<Box<dyn Future<Output = ()>>>,
    waker: Arc<TaskWaker>,
}

/// A deterministic single-threaded executor over a [`VirtualClock`].
#[derive(Default)]
pub struct VirtualExecutor {
    clock: VirtualClock,
    tasks: Vec<Option<Task>>,
    ready: Arc<ReadyQueue>,
    polls: u64,
    advances: u64,
    late_advance: Option<u64>,
}

impl VirtualExecutor {
    /// An executor at virtual time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The clock its tasks should use.
    pub fn clock(&self) -> VirtualClock {
        self.clock.clone()
    }

    /// Adds a task; it first runs at the next [`run_ready`](Self::run_ready).
    pub fn spawn(&mut self, future: impl Future<Output = ()> + 'static) -> TaskId {
        let id = self.tasks.len();
        let waker = Arc::new(TaskWaker {
            id,
            ready: self.ready.clone(),
            queued: false.into(),
        });
        Waker::from(waker.clone()).wake();
        self.tasks.push(Some(Task {
            future: Box::pin(future),
            waker,
        }));
        TaskId(id)
    }

    /// Drops a task wherever it is; its timers are cancelled with it.
    /// Returns false if it had already finished or been cancelled.
    pub fn cancel(&mut self, task: TaskId) -> bool {
        self.tasks.get_mut(task.0).and_then(Option::take).is_some()
    }

    /// True while the task has neither finished nor been cancelled.
    pub fn is_alive(&self, task: TaskId) -> bool {
        self.tasks.get(task.0).is_some_and(Option::is_some)
    }

    /// How many task polls have run so far.
    pub fn polls(&self) -> u64 {
        self.polls
    }

    fn next_ready(&self) -> Option<usize> {
        self.ready
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    /// Polls woken tasks, in wake order, until none is ready. Returns how
    /// many polls ran.
    pub fn run_ready(&mut self) -> u64 {
        let start = self.polls;
        while let Some(id) = self.next_ready() {
            let Some(task) = self.tasks.get_mut(id).and_then(Option::as_mut) else {
                continue;
            };
            task.waker
                .queued
                .store(false, std::sync::atomic::Ordering::Relaxed);
            let waker = Waker::from(task.waker.clone());
            let mut cx = Context::from_waker(&waker);
            self.polls += 1;
            if task.future.as_mut().poll(&mut cx).is_ready() {
                self.tasks[id] = None;
            }
        }
        self.polls - start
    }

    /// The earliest pending timer's deadline.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.clock
            .timeline
            .timers
            .borrow()
            .first_key_value()
            .map(|(&(at, _), _)| at)
    }

    /// Test-only: the `n`th advance of the clock overshoots by 1 ms, as a
    /// scheduler that is sometimes late would.
    #[doc(hidden)]
    pub fn make_advance_late(&mut self, n: u64) {
        self.late_advance = Some(n);
    }

    /// Moves the clock to `at` (never backwards) and wakes every timer due
    /// by then, in deadline then registration order.
    pub fn advance_to(&mut self, at: Duration) {
        self.advances += 1;
        let at = if self.late_advance == Some(self.advances) {
            at + Duration::from_millis(1)
        } else {
            at
        };
        let timeline = &self.clock.timeline;
        if at > timeline.now.get() {
            timeline.now.set(at);
        }
        let now = timeline.now.get();
        loop {
            let due = {
                let mut timers = timeline.timers.borrow_mut();
                match timers.first_key_value() {
                    Some((&(deadline, _), _)) if deadline <= now => {
                        timers.pop_first().map(|(_, w)| w)
                    }
                    _ => None,
                }
            };
            match due {
                Some(waker) => waker.wake(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_deadline_then_registration_order() {
        let mut exec = VirtualExecutor::new();
        let clock = exec.clock();
        let log = Rc::new(RefCell::new(Vec::new()));
        for (name, ms) in [("a", 20), ("b", 10), ("c", 20), ("d", 10)] {
            let (clock, log) = (clock.clone(), log.clone());
            exec.spawn(async move {
                clock.sleep(Duration::from_millis(ms)).await;
                log.borrow_mut().push((name, clock.now().as_millis()));
            });
        }
        exec.run_ready();
        while let Some(at) = exec.next_deadline() {
            exec.advance_to(at);
            exec.run_ready();
        }
        assert_eq!(*log.borrow(), [("b", 10), ("d", 10), ("a", 20), ("c", 20)]);
    }

    #[test]
    fn cancelled_tasks_leave_no_timers() {
        let mut exec = VirtualExecutor::new();
        let clock = exec.clock();
        let task = exec.spawn(async move { clock.sleep(Duration::from_secs(5)).await });
        exec.run_ready();
        assert_eq!(exec.next_deadline(), Some(Duration::from_secs(5)));
        assert!(exec.cancel(task));
        assert_eq!(exec.next_deadline(), None);
        assert!(!exec.is_alive(task));
    }
}
