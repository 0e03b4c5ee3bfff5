//! The virtual engine's executor: single-threaded, deterministic, and with a
//! clock that jumps.
//!
//! Tasks are polled in the order they were woken (FIFO). Timers are ordered
//! by `(deadline, registration number)`, so timers due at the same instant
//! fire in the order they were set, on every run. When no task is ready, the
//! driver asks for the next deadline and advances the clock straight to it:
//! virtual time costs nothing to pass.
//!
//! No tokio here: this executor is the fast path for suites and sweeps, and
//! it is built for it:
//!
//! - Timers live in a binary heap; a dropped sleep only marks its entry
//!   cancelled, and cancelled entries are discarded when they come to the
//!   top. (The runner re-arms its three interval timers every time round
//!   its loop, so registration and cancellation are the common case.)
//!   Past a few hundred entries (a run with many workers) they move to a
//!   list per deadline, each in registration order: such runs have few
//!   distinct deadlines pending at once (a thousand workers on 1 ms
//!   intervals share a handful), so finding the next timer costs a search
//!   among those, not among every pending timer. The order is the same
//!   either way.
//! - A sleep polled by the task the executor is polling registers the
//!   task's number, not a clone of its waker; firing it puts the number
//!   straight in the ready queue, which lives beside the timers on this
//!   thread. Each task's [`Waker`] is made once, at spawn.
//! - Wakers stay what std requires, `Send + Sync`: a waker used anywhere
//!   else (cloned by a combinator, or woken from another thread) goes
//!   through a mutex-guarded queue that the executor drains, in order,
//!   before it picks the next task.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use rollout_core::Clock;

/// What to wake when a timer fires.
enum Wakeup {
    /// A task of this executor, by number.
    Task(usize),
    /// Anything else.
    Waker(Waker),
}

/// A registered timer by its registration number; `None` once fired or
/// cancelled (the slot is reused once its entry is gone).
type TimerSlot = Option<(u64, Wakeup)>;

/// Where a sleep's timer is: its slot and registration number.
type TimerKey = (usize, u64);

/// A timer entry: `(deadline, registration number, slot)`.
type Entry = (Duration, u64, usize);

/// The registered timers' entries, earliest first, cancelled ones included.
enum Pending {
    /// While there are few.
    Heap(BinaryHeap<Reverse<Entry>>),
    /// Once there were many: per deadline, `(registration number, slot)`
    /// in registration order. A deadline's list only grows before that
    /// instant and only shrinks from it on (a sleep until a past instant is
    /// ready at once, never registered), and registration numbers only
    /// grow, so appending keeps each list in order.
    ByDeadline {
        lists: BTreeMap<Duration, VecDeque<(u64, usize)>>,
        /// Emptied lists, kept for their capacity.
        spare: Vec<VecDeque<(u64, usize)>>,
    },
}

/// Entries past which the heap gives way to lists per deadline: a heap is
/// cheapest for a run of a few workers, nearly every run.
const HEAP_MAX: usize = 256;

impl Pending {
    fn push(&mut self, entry: Entry) {
        match self {
            Self::Heap(heap) if heap.len() < HEAP_MAX => heap.push(Reverse(entry)),
            Self::Heap(heap) => {
                let mut entries: Vec<Entry> = std::mem::take(heap)
                    .into_vec()
                    .into_iter()
                    .map(|Reverse(e)| e)
                    .collect();
                entries.push(entry);
                entries.sort_unstable();
                let mut lists: BTreeMap<Duration, VecDeque<(u64, usize)>> = BTreeMap::new();
                for (deadline, key, slot) in entries {
                    lists.entry(deadline).or_default().push_back((key, slot));
                }
                *self = Self::ByDeadline {
                    lists,
                    spare: Vec::new(),
                };
            }
            Self::ByDeadline { lists, spare } => lists
                .entry(entry.0)
                .or_insert_with(|| spare.pop().unwrap_or_default())
                .push_back((entry.1, entry.2)),
        }
    }

    fn front(&self) -> Option<Entry> {
        match self {
            Self::Heap(heap) => heap.peek().map(|&Reverse(e)| e),
            Self::ByDeadline { lists, .. } => {
                let (&deadline, list) = lists.first_key_value()?;
                list.front().map(|&(key, slot)| (deadline, key, slot))
            }
        }
    }

    fn pop_front(&mut self) {
        match self {
            Self::Heap(heap) => {
                heap.pop();
            }
            Self::ByDeadline { lists, spare } => {
                if let Some(mut earliest) = lists.first_entry() {
                    earliest.get_mut().pop_front();
                    if earliest.get().is_empty() {
                        spare.push(earliest.remove());
                    }
                }
            }
        }
    }
}

struct Timers {
    pending: Pending,
    slots: Vec<TimerSlot>,
    free: Vec<usize>,
    next_key: u64,
    /// Live (registered, not fired, not cancelled) timers.
    live: usize,
}

/// Room for the timers of a few workers (each runner keeps three armed),
/// so that a small run never grows its tables.
const TIMERS_RESERVED: usize = 16;

impl Default for Timers {
    fn default() -> Self {
        Self {
            pending: Pending::Heap(BinaryHeap::with_capacity(TIMERS_RESERVED)),
            slots: Vec::with_capacity(TIMERS_RESERVED),
            free: Vec::with_capacity(TIMERS_RESERVED),
            next_key: 0,
            live: 0,
        }
    }
}

impl Timers {
    fn insert(&mut self, deadline: Duration, wakeup: Wakeup) -> TimerKey {
        let key = self.next_key;
        self.next_key += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some((key, wakeup));
                slot
            }
            None => {
                self.slots.push(Some((key, wakeup)));
                self.slots.len() - 1
            }
        };
        self.pending.push((deadline, key, slot));
        self.live += 1;
        (slot, key)
    }

    /// The wakeup of a live timer.
    fn get_mut(&mut self, (slot, key): TimerKey) -> Option<&mut Wakeup> {
        match &mut self.slots[slot] {
            Some((k, wakeup)) if *k == key => Some(wakeup),
            _ => None,
        }
    }

    /// Cancels a timer unless it already fired; its entry is dropped when
    /// it comes to the front.
    fn cancel(&mut self, timer: TimerKey) {
        if self.get_mut(timer).is_some() {
            self.slots[timer.0] = None;
            self.live -= 1;
        }
    }

    /// Drops cancelled entries from the front; the earliest live deadline.
    fn first(&mut self) -> Option<Duration> {
        while let Some((deadline, key, slot)) = self.pending.front() {
            if self.get_mut((slot, key)).is_some() {
                return Some(deadline);
            }
            self.pending.pop_front();
            self.free.push(slot);
        }
        None
    }

    /// The earliest live timer due by `now`, removed.
    fn pop_due(&mut self, now: Duration) -> Option<Wakeup> {
        match self.first() {
            Some(deadline) if deadline <= now => {
                let (_, _, slot) = self.pending.front()?;
                self.pending.pop_front();
                self.free.push(slot);
                self.live -= 1;
                self.slots[slot].take().map(|(_, wakeup)| wakeup)
            }
            _ => None,
        }
    }
}

/// The ready queue of task numbers, FIFO, each at most once.
struct Ready {
    queue: VecDeque<usize>,
    queued: Vec<bool>,
}

/// Room for the tasks of a few workers, so that a small run never grows
/// its task tables (each growth is an allocation, a copy and a free).
const TASKS_RESERVED: usize = 4;

impl Default for Ready {
    fn default() -> Self {
        Self {
            queue: VecDeque::with_capacity(TASKS_RESERVED),
            queued: Vec::with_capacity(TASKS_RESERVED),
        }
    }
}

impl Ready {
    fn push(&mut self, id: usize) {
        if !self.queued[id] {
            self.queued[id] = true;
            self.queue.push_back(id);
        }
    }
}

#[derive(Default)]
struct Timeline {
    now: Cell<Duration>,
    timers: RefCell<Timers>,
    ready: RefCell<Ready>,
    /// The task being polled and its waker's data pointer: a sleep polled
    /// with exactly that waker registers the task's number.
    current: Cell<Option<(usize, *const ())>>,
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
            timer: None,
        }
    }
}

struct VirtualSleep {
    timeline: Rc<Timeline>,
    deadline: Duration,
    /// Its timer, once registered.
    timer: Option<TimerKey>,
}

impl VirtualSleep {
    /// How the waker of this poll is to be woken.
    fn wakeup(&self, cx: &Context<'_>) -> Wakeup {
        match self.timeline.current.get() {
            Some((id, data)) if std::ptr::eq(cx.waker().data(), data) => Wakeup::Task(id),
            _ => Wakeup::Waker(cx.waker().clone()),
        }
    }

    /// True when a registered timer's wakeup is the one this poll asks for.
    fn wakes(&self, wakeup: &Wakeup, cx: &Context<'_>) -> bool {
        match wakeup {
            Wakeup::Task(id) => matches!(self.timeline.current.get(),
                Some((current, data)) if current == *id && std::ptr::eq(cx.waker().data(), data)),
            Wakeup::Waker(waker) => waker.will_wake(cx.waker()),
        }
    }
}

impl Future for VirtualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let timeline = self.timeline.clone();
        if timeline.now.get() >= self.deadline {
            if let Some(timer) = self.timer.take() {
                timeline.timers.borrow_mut().cancel(timer);
            }
            return Poll::Ready(());
        }
        let mut timers = timeline.timers.borrow_mut();
        let registered = self.timer.and_then(|timer| timers.get_mut(timer));
        match registered {
            Some(wakeup) => {
                if !self.wakes(wakeup, cx) {
                    *wakeup = self.wakeup(cx);
                }
            }
            None => {
                let wakeup = self.wakeup(cx);
                self.timer = Some(timers.insert(self.deadline, wakeup));
            }
        }
        Poll::Pending
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            self.timeline.timers.borrow_mut().cancel(timer);
        }
    }
}

/// Identifies a task spawned on a [`VirtualExecutor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(usize);

/// Wakes from anywhere: task numbers woken through a [`Waker`] wait here
/// until the executor moves them to its ready queue.
#[derive(Default)]
struct Remote {
    queue: Mutex<Vec<usize>>,
    /// Set while `queue` may be non-empty, so the executor need not lock.
    pending: AtomicBool,
}

struct TaskWaker {
    id: usize,
    remote: Arc<Remote>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.remote
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.id);
        self.remote.pending.store(true, Ordering::Release);
    }
}

struct Task {
    future: Pin<Box<dyn Future<Output = ()>>>,
    waker: Waker,
}

/// A deterministic single-threaded executor over a [`VirtualClock`].
pub struct VirtualExecutor {
    clock: VirtualClock,
    tasks: Vec<Option<Task>>,
    remote: Arc<Remote>,
    polls: u64,
    advances: u64,
    late_advance: Option<u64>,
}

impl Default for VirtualExecutor {
    fn default() -> Self {
        Self {
            clock: VirtualClock::default(),
            tasks: Vec::with_capacity(TASKS_RESERVED),
            remote: Arc::default(),
            polls: 0,
            advances: 0,
            late_advance: None,
        }
    }
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

    fn timeline(&self) -> &Timeline {
        &self.clock.timeline
    }

    /// Adds a task; it first runs at the next [`run_ready`](Self::run_ready).
    pub fn spawn(&mut self, future: impl Future<Output = ()> + 'static) -> TaskId {
        let id = self.tasks.len();
        let waker = Waker::from(Arc::new(TaskWaker {
            id,
            remote: self.remote.clone(),
        }));
        self.tasks.push(Some(Task {
            future: Box::pin(future),
            waker,
        }));
        let mut ready = self.timeline().ready.borrow_mut();
        ready.queued.push(false);
        ready.push(id);
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
        let timeline = self.timeline();
        let mut ready = timeline.ready.borrow_mut();
        if self.remote.pending.swap(false, Ordering::Acquire) {
            let woken =
                std::mem::take(&mut *self.remote.queue.lock().unwrap_or_else(|e| e.into_inner()));
            for id in woken {
                ready.push(id);
            }
        }
        let id = ready.queue.pop_front()?;
        ready.queued[id] = false;
        Some(id)
    }

    /// Polls woken tasks, in wake order, until none is ready. Returns how
    /// many polls ran.
    pub fn run_ready(&mut self) -> u64 {
        let start = self.polls;
        while let Some(id) = self.next_ready() {
            let Some(task) = self.tasks.get_mut(id).and_then(Option::as_mut) else {
                continue;
            };
            let timeline = &self.clock.timeline;
            timeline.current.set(Some((id, task.waker.data())));
            let mut cx = Context::from_waker(&task.waker);
            self.polls += 1;
            let done = task.future.as_mut().poll(&mut cx).is_ready();
            timeline.current.set(None);
            if done {
                self.tasks[id] = None;
            }
        }
        self.polls - start
    }

    /// The earliest pending timer's deadline.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.timeline().timers.borrow_mut().first()
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
        let timeline = self.timeline();
        if at > timeline.now.get() {
            timeline.now.set(at);
        }
        let now = timeline.now.get();
        loop {
            let due = timeline.timers.borrow_mut().pop_due(now);
            match due {
                Some(Wakeup::Task(id)) => timeline.ready.borrow_mut().push(id),
                Some(Wakeup::Waker(waker)) => waker.wake(),
                None => break,
            }
        }
    }

    /// Timers registered and neither fired nor cancelled.
    #[doc(hidden)]
    pub fn live_timers(&self) -> usize {
        self.timeline().timers.borrow().live
    }
}

impl Drop for VirtualExecutor {
    fn drop(&mut self) {
        // Futures first: their sleeps cancel timers on the timeline.
        self.tasks.clear();
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
        assert_eq!(exec.live_timers(), 0);
        assert!(!exec.is_alive(task));
    }

    #[test]
    fn dropped_sleeps_are_skipped_and_the_earlier_one_still_fires() {
        let mut exec = VirtualExecutor::new();
        let clock = exec.clock();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (c, l) = (clock.clone(), log.clone());
        exec.spawn(async move {
            // Re-arm a far timer many times, as the runner's loop does.
            for _ in 0..100 {
                let far = c.sleep(Duration::from_secs(60));
                let near = c.sleep(Duration::from_millis(1));
                let mut far = std::pin::pin!(far);
                let mut near = std::pin::pin!(near);
                std::future::poll_fn(|cx| {
                    if near.as_mut().poll(cx).is_ready() || far.as_mut().poll(cx).is_ready() {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
            }
            l.borrow_mut().push(c.now().as_millis());
        });
        exec.run_ready();
        while let Some(at) = exec.next_deadline() {
            exec.advance_to(at);
            exec.run_ready();
        }
        assert_eq!(*log.borrow(), [100]);
        assert_eq!(exec.live_timers(), 0);
        assert_eq!(clock.now(), Duration::from_millis(100));
    }

    /// A waker that is not the task's own (a combinator's, or one sent to
    /// another thread) still wakes the task, in order.
    #[test]
    fn foreign_and_cross_thread_wakers_work() {
        struct Flag(Arc<AtomicBool>);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let mut exec = VirtualExecutor::new();
        let clock = exec.clock();
        let fired = Arc::new(AtomicBool::new(false));
        // A sleep polled with a foreign waker wakes that waker.
        let foreign = Waker::from(Arc::new(Flag(fired.clone())));
        let mut sleep = Box::pin(clock.sleep(Duration::from_millis(3)));
        assert!(
            sleep
                .as_mut()
                .poll(&mut Context::from_waker(&foreign))
                .is_pending()
        );
        exec.advance_to(Duration::from_millis(3));
        assert!(fired.load(Ordering::SeqCst));
        assert!(
            sleep
                .as_mut()
                .poll(&mut Context::from_waker(&foreign))
                .is_ready()
        );

        // A task's waker sent to another thread wakes the task.
        let parked: Arc<Mutex<Option<Waker>>> = Arc::default();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (p, l) = (parked.clone(), log.clone());
        let mut first = true;
        exec.spawn(std::future::poll_fn(move |cx| {
            l.borrow_mut().push("polled");
            if std::mem::take(&mut first) {
                *p.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        }));
        exec.run_ready();
        let waker = parked.lock().unwrap().take().unwrap();
        std::thread::spawn(move || waker.wake()).join().unwrap();
        assert_eq!(exec.run_ready(), 1);
        assert_eq!(*log.borrow(), ["polled", "polled"]);
    }
}
