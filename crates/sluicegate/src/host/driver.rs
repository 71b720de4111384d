//! The native host: a microtask queue and a set of pending futures, run by whoever polls.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::stream::{FuturesUnordered, StreamExt};
use smallvec::SmallVec;

use super::{BoxFuture, Domain, Host, HostRef, Microtask};
use crate::sync::{thread_local, AtomicBool, AtomicPtr, Mutex, Ordering};

/// A driver whose run loop is on this thread's stack.
struct Frame {
    /// The driver's address.
    driver: usize,
    /// Microtasks queued to the driver from this thread while it runs: they need no lock (the run
    /// loop lends its batch here and takes it back when it stops).
    tasks: VecDeque<Microtask>,
}

thread_local! {
    /// The drivers whose run loop is on this thread's stack, innermost last.
    static RUNNING_HERE: std::cell::RefCell<Vec<Frame>> = std::cell::RefCell::new(Vec::new());
}

/// Runs `f` on this thread's frame for `driver`, if its run loop is on this thread's stack.
fn with_frame<R>(driver: usize, f: impl FnOnce(&mut Frame) -> R) -> Option<R> {
    RUNNING_HERE
        .try_with(|frames| {
            let mut frames = frames.borrow_mut();
            // Almost always the innermost frame: look there before searching.
            match frames.last_mut() {
                Some(top) if top.driver == driver => Some(f(top)),
                _ => frames
                    .iter_mut()
                    .rev()
                    .find(|frame| frame.driver == driver)
                    .map(f),
            }
        })
        .ok()
        .flatten()
}

/// Lends a run loop's batch to a new frame on this thread; takes it back when dropped, even if a
/// step panics, so that a caught panic cannot leave the frame behind.
struct Lent<'a> {
    batch: &'a mut VecDeque<Microtask>,
}

impl<'a> Lent<'a> {
    fn new(driver: usize, batch: &'a mut VecDeque<Microtask>) -> Self {
        let tasks = std::mem::take(batch);
        RUNNING_HERE.with(|frames| frames.borrow_mut().push(Frame { driver, tasks }));
        Lent { batch }
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Ok(Some(frame)) = RUNNING_HERE.try_with(|frames| frames.borrow_mut().pop()) {
            *self.batch = frame.tasks;
        }
    }
}

/// The native host: a microtask queue and a set of pending futures, run by whoever polls.
///
/// Every stream created without an explicit host gets a fresh driver; streams wired together share
/// one, and a pipe between two groups of such streams merges their drivers into one, whose run
/// loop then runs the whole group's microtasks and futures. A driver made by [`Driver::new`] is
/// never merged. [`Driver::run_until_stalled`] runs it by hand, which is what a test does where a
/// JavaScript test would wait for a microtask checkpoint.
///
/// Microtasks queued by a step the driver is running, on the thread running it, go to that
/// thread's own queue without a lock and run in the order queued. Work queued from anywhere else
/// (before the run, or from another thread) waits behind a lock and joins the back of that queue
/// whenever the running thread finds it empty.
///
/// ```
/// use sluicegate::host::{Driver, Host};
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
///
/// let driver = Driver::new();
/// let hits = Arc::new(AtomicUsize::new(0));
/// let h = hits.clone();
/// driver.queue_microtask(Box::new(move || { h.fetch_add(1, Ordering::SeqCst); }));
/// assert_eq!(hits.load(Ordering::SeqCst), 0); // nothing runs until the driver is polled
/// driver.run_until_stalled();
/// assert_eq!(hits.load(Ordering::SeqCst), 1);
/// ```
pub struct Driver {
    /// Work queued from outside the run loop: before it started, or from another thread.
    queue: Mutex<Queued>,
    /// Set when work is put in `queue`; cleared by the run loop before it takes that work, so the
    /// loop takes the lock only when there is something to take.
    queued: AtomicBool,
    /// Only the thread that set `running` touches this; the mutex is never contended.
    running_state: Mutex<RunningState>,
    running: AtomicBool,
    waiters: Arc<Waiters>,
    /// The domain of the streams on this driver, held by the run loop while it runs steps.
    domain: Arc<Domain>,
    /// The driver this one was merged into ([`Driver::merge`]), null while it is a root. Set
    /// once, under `queue`'s lock.
    forward: AtomicPtr<Driver>,
    /// Set, under `queue`'s lock, once this driver's queued work has moved to `forward`'s driver:
    /// from then on every call goes there. Until then work still queues here, so that what one
    /// thread queues keeps its order behind what was queued before the merge.
    moved: AtomicBool,
    /// Keeps the driver `forward` points to alive as long as this one.
    forward_keep: Mutex<Option<Arc<Driver>>>,
    /// This driver's own `Arc` if the crate made it for streams created without a host (the only
    /// drivers a pipe merges); empty for a driver made by [`Driver::new`].
    me: Weak<Driver>,
}

/// What the thread running the driver works with.
struct RunningState {
    /// The pending futures, made at the first one: most streams' drivers never get any (an idle
    /// pipe's two drivers saved 288 bytes by not making an empty set each).
    futures: Option<FuturesUnordered<BoxFuture<()>>>,
    /// The microtasks being run, lent to this thread's [`Frame`] while the loop runs: swapped with
    /// the queue's, so that neither allocates again once warm.
    batch: VecDeque<Microtask>,
}

#[derive(Default)]
struct Queued {
    microtasks: VecDeque<Microtask>,
    spawned: Vec<BoxFuture<()>>,
}

/// Every task waiting on something this driver may produce; woken together when there is new work.
#[derive(Default)]
struct Waiters {
    /// Usually one task (the one awaiting) or two (a pipe's source driven from its destination's
    /// host): kept inline, so registering and waking allocate nothing.
    list: Mutex<SmallVec<[Waker; 2]>>,
    /// Set whenever work may have arrived (a microtask or future queued, a pending future woken);
    /// cleared when a run starts. Lets [`Host::run_queued`] return at once when it is clear.
    dirty: AtomicBool,
}

impl Waiters {
    fn register(&self, waker: &Waker) {
        let mut list = self.list.lock();
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
    }

    fn wake_all(&self) {
        let list = std::mem::take(&mut *self.list.lock());
        for w in list {
            w.wake();
        }
    }
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.dirty.store(true, Ordering::Release);
        self.wake_all();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.dirty.store(true, Ordering::Release);
        self.wake_all();
    }
}

impl Driver {
    /// A new, empty driver, shared (pass a clone of it wherever a [`HostRef`] is wanted).
    ///
    /// A driver made here is the caller's: it is never merged with another, so streams made on
    /// it keep running on it (and a pipe to or from a stream on another host drives one host from
    /// the other).
    pub fn new() -> Arc<Driver> {
        Arc::new(Self::default())
    }

    /// The driver the crate makes for streams created without a host: when a pipe connects two
    /// groups of such streams, their drivers merge ([`Driver::merge`]).
    pub(crate) fn new_implicit() -> Arc<Driver> {
        Arc::new_cyclic(|me: &Weak<Driver>| Driver::build(me.clone(), Domain::for_driver(me.clone())))
    }

    fn build(me: Weak<Driver>, domain: Arc<Domain>) -> Driver {
        Driver {
            queue: Mutex::new(Queued::default()),
            queued: AtomicBool::new(false),
            running_state: Mutex::new(RunningState {
                futures: None,
                batch: VecDeque::new(),
            }),
            running: AtomicBool::new(false),
            waiters: Arc::new(Waiters::default()),
            domain,
            forward: AtomicPtr::new(std::ptr::null_mut()),
            moved: AtomicBool::new(false),
            forward_keep: Mutex::new(None),
            me,
        }
    }

    /// The driver `host` is, if the crate made it for streams created without a host.
    pub(crate) fn implicit(host: &HostRef) -> Option<Arc<Driver>> {
        let driver = host.domain()?.driver.upgrade()?;
        // The domain names its driver; the host must be that very driver (a host of another type
        // that hands out a driver's domain is not one).
        std::ptr::addr_eq(Arc::as_ptr(host), Arc::as_ptr(&driver)).then_some(driver)
    }

    /// Makes `source`'s group of drivers one with `dest`'s: the root of `source`'s forwards to the
    /// root of `dest`'s, and its queued microtasks and pending futures move there (at once, or,
    /// if its run loop is running somewhere, when that loop next looks, before it runs another
    /// step). Returns whether the two are now one group (false: one of them was made by
    /// [`Driver::new`], and nothing changed).
    ///
    /// The caller holds the two drivers' domains, merged: merges of one group never overlap, and
    /// no step of either group runs meanwhile, except the caller's own.
    pub(crate) fn merge(source: &Driver, dest: &Driver) -> bool {
        let (from, into) = (source.root(), dest.root());
        if std::ptr::eq(from, into) {
            return true;
        }
        if from.me.strong_count() == 0 {
            return false;
        }
        let Some(keep) = into.me.upgrade() else {
            return false;
        };
        {
            let _queue = from.queue.lock();
            *from.forward_keep.lock() = Some(keep);
            from.forward
                .store(into as *const Driver as *mut Driver, Ordering::Release);
        }
        // A read-modify-write on `running`, after the forward is published: either this takes the
        // loop and moves the work itself, or the loop that has it sees the forward when it lets
        // go of `running` (its swap reads this one's) and moves the work before it stops.
        if !from.running.swap(true, Ordering::AcqRel) {
            from.hand_over();
            from.running.swap(false, Ordering::AcqRel);
        }
        true
    }

    /// The driver this one forwards to, if it was merged.
    #[inline]
    fn forwarded(&self) -> Option<&Driver> {
        let next = self.forward.load(Ordering::Acquire);
        // SAFETY: `forward` is written once, by `merge`, with the address of the driver whose
        // `Arc` it stored in `forward_keep` just before (under the same lock; the store is
        // `Release`, this load `Acquire`). `forward_keep` is never cleared, so the target lives as
        // long as `self`, which the returned borrow is tied to. Exercised by the merge tests below
        // and in `src/host/loom_tests.rs`.
        (!next.is_null()).then(|| unsafe { &*next })
    }

    /// The group's root: this driver, or the one it was merged into, transitively.
    fn root(&self) -> &Driver {
        let mut driver = self;
        while let Some(next) = driver.forwarded() {
            driver = next;
        }
        driver
    }

    /// Where this driver's calls go once its work has moved: the driver it was merged into.
    #[inline]
    fn moved_to(&self) -> Option<&Driver> {
        if self.moved.load(Ordering::Acquire) {
            self.forwarded()
        } else {
            None
        }
    }

    /// Moves this merged driver's work to the driver it forwards to: the microtasks it had (the
    /// run loop's left-over batch first, then those queued from outside, each in order), then its
    /// futures. Called by whoever holds `running`, once `forward` is set.
    fn hand_over(&self) {
        let next = self.forwarded().expect("handing over a merged driver");
        let (mut tasks, futures) = {
            let mut state = self.running_state.lock();
            (std::mem::take(&mut state.batch), state.futures.take())
        };
        let receiver = {
            let mut q = self.queue.lock();
            tasks.extend(q.microtasks.drain(..));
            let mut spawned: Vec<BoxFuture<()>> = futures.into_iter().flatten().collect();
            spawned.append(&mut q.spawned);
            self.queued.store(false, Ordering::Release);
            // Still under this driver's lock: whatever is queued here from now on waits for
            // `moved` and then follows, behind what moves now.
            let receiver = next.accept(tasks, spawned);
            self.moved.store(true, Ordering::Release);
            receiver
        };
        if let Some(receiver) = receiver {
            receiver.waiters.dirty.store(true, Ordering::Release);
            if !receiver.running.load(Ordering::Acquire) {
                receiver.waiters.wake_all();
            }
        }
        // Whoever waits on this driver polls it again and is sent on to the root.
        self.waiters.wake_all();
    }

    /// Queues work moved from a driver merged into this one, behind what is queued here (or
    /// passes it on, if this one has moved too). Returns the driver that took it, to be woken, if
    /// there was anything.
    fn accept(&self, tasks: VecDeque<Microtask>, futures: Vec<BoxFuture<()>>) -> Option<&Driver> {
        if tasks.is_empty() && futures.is_empty() {
            return None;
        }
        let mut q = self.queue.lock();
        if self.moved.load(Ordering::Relaxed) {
            drop(q);
            return self.forwarded().expect("moved").accept(tasks, futures);
        }
        if q.microtasks.is_empty() {
            q.microtasks = tasks;
        } else {
            q.microtasks.extend(tasks);
        }
        q.spawned.extend(futures);
        self.queued.store(true, Ordering::Release);
        Some(self)
    }

    /// Whether this driver was merged but its work has not moved yet.
    fn must_hand_over(&self) -> bool {
        !self.forward.load(Ordering::Acquire).is_null() && !self.moved.load(Ordering::Acquire)
    }

    /// Runs microtasks and polls pending futures until neither makes progress. Work that waits on
    /// something outside (a timer, I/O, another thread) stays pending.
    pub fn run_until_stalled(&self) {
        let waker = Waker::noop();
        self.run(&mut Context::from_waker(waker));
    }

    fn has_queued(&self) -> bool {
        let q = self.queue.lock();
        !q.microtasks.is_empty() || !q.spawned.is_empty()
    }

    fn run(&self, cx: &mut Context<'_>) {
        if let Some(next) = self.moved_to() {
            return next.run(cx);
        }
        if self.is_running_on_this_thread() {
            // Called from inside this driver's own run (a future it polls awaits a stream on the
            // same host). The outer run keeps going until nothing can progress, and promise cells
            // wake that future directly; registering its waker here would make every wake-up of
            // the driver wake the future, which wakes the driver again: a busy loop.
            return;
        }
        self.waiters.register(cx.waker());
        self.run_loop();
        // Merged meanwhile: the work is the root's now. (A waker registered above after the
        // hand-over's wake-up sees `moved` here.)
        if let Some(next) = self.moved_to() {
            next.run(cx);
        }
    }

    /// This driver's identity in [`Frame::driver`].
    fn id(&self) -> usize {
        self as *const Driver as usize
    }

    fn is_running_on_this_thread(&self) -> bool {
        with_frame(self.id(), |_| ()).is_some()
    }

    fn run_loop(&self) {
        loop {
            if self.running.swap(true, Ordering::AcqRel) {
                // Another poll is running the driver (on this thread, from inside a user future,
                // or on another thread); it will see our work, and we are registered for a wake-up.
                return;
            }
            if self.must_hand_over() {
                // Merged: the work goes to the root, whose run runs it.
                self.hand_over();
                self.running.swap(false, Ordering::AcqRel);
                return;
            }
            self.run_exclusive();
            // A read-modify-write, not a store: every change of `running` is then one chain in
            // its modification order, so the swap above always sees whether another poll set it
            // since (loom's model, which orders a plain store after another thread's swap only
            // by causality, found a run where this thread's next swap read a stale `true` and
            // left the queued work to nobody).
            self.running.swap(false, Ordering::AcqRel);
            // Work queued between our last look and the store above saw `running` set and did not
            // wake anyone: pick it up ourselves. A merge that found `running` set left its
            // hand-over to us.
            if !self.has_queued() && !self.must_hand_over() {
                return;
            }
        }
    }

    /// Whether a merge has happened since the run started: the run stops before its next step,
    /// and the work it had left moves to the root.
    #[inline]
    fn merged(&self) -> bool {
        !self.forward.load(Ordering::Acquire).is_null()
    }

    fn run_exclusive(&self) {
        // Every step the loop runs is a step of this driver's group (user code inside them runs
        // outside it: `catch_user`).
        let _entered = self.domain.enter();
        self.waiters.dirty.store(false, Ordering::Release);
        let mut state = self.running_state.lock();
        let RunningState { futures, batch } = &mut *state;
        let me = self.id();
        // A batch left over by a panic runs first.
        let lent = Lent::new(me, batch);
        let mut waker = None;
        loop {
            let mut progressed = false;
            // Microtasks first, in FIFO order, including ones queued while these run (they join
            // the back of the frame's queue).
            loop {
                while let Some(task) = self.next_task(me) {
                    progressed = true;
                    task();
                }
                if self.merged() || !self.take_queued(me, futures) {
                    break;
                }
            }
            if self.merged() {
                break;
            }
            let Some(futures) = futures.as_mut().filter(|f| !f.is_empty()) else {
                // Nothing else can have queued work.
                break;
            };
            let waker = waker.get_or_insert_with(|| Waker::from(self.waiters.clone()));
            let mut cx = Context::from_waker(waker);
            while let Poll::Ready(Some(())) = futures.poll_next_unpin(&mut cx) {
                progressed = true;
                let local = with_frame(me, |frame| !frame.tasks.is_empty()).unwrap_or(false);
                if local || self.queued.load(Ordering::Acquire) || self.merged() {
                    break;
                }
            }
            // A future that queued microtasks and then returned `Pending` (it settled a promise,
            // then waits on another) left them on this frame: run them before stopping.
            if with_frame(me, |frame| !frame.tasks.is_empty()).unwrap_or(false) {
                continue;
            }
            if !progressed && !self.queued.load(Ordering::Acquire) {
                break;
            }
        }
        drop(lent);
    }

    /// The next microtask of this run, unless the driver was merged meanwhile.
    #[inline]
    fn next_task(&self, me: usize) -> Option<Microtask> {
        if self.merged() {
            return None;
        }
        with_frame(me, |frame| frame.tasks.pop_front()).flatten()
    }

    /// Moves the work queued from outside the loop into it: microtasks to the back of the frame's
    /// queue, futures into the set being polled. Returns whether a microtask was moved.
    fn take_queued(&self, me: usize, futures: &mut Option<FuturesUnordered<BoxFuture<()>>>) -> bool {
        if !self.queued.load(Ordering::Acquire) {
            return false;
        }
        let (moved, spawned) = {
            let mut q = self.queue.lock();
            // Cleared under the lock that it is set under, so that whoever sees a task in the
            // queue (`has_queued`) also sees the flag and takes it: no runner spins on a task
            // whose flag is not yet set.
            self.queued.store(false, Ordering::Release);
            let moved = !q.microtasks.is_empty();
            if moved {
                // Swapped with the frame's empty queue where it can be, so that neither allocates
                // again once warm.
                with_frame(me, |frame| {
                    if frame.tasks.is_empty() {
                        std::mem::swap(&mut frame.tasks, &mut q.microtasks);
                    } else {
                        frame.tasks.extend(q.microtasks.drain(..));
                    }
                });
            }
            (moved, std::mem::take(&mut q.spawned))
        };
        if !spawned.is_empty() {
            let futures = futures.get_or_insert_with(FuturesUnordered::new);
            for f in spawned {
                futures.push(f);
            }
        }
        moved
    }
}

impl Default for Driver {
    fn default() -> Self {
        Driver::build(Weak::new(), Domain::new())
    }
}

impl Host for Driver {
    fn queue_microtask(&self, task: Microtask) {
        if let Some(next) = self.moved_to() {
            return next.queue_microtask(task);
        }
        // From a step this driver is running on this thread: no lock, no wake-up needed.
        let mut task = Some(task);
        with_frame(self.id(), |frame| {
            if let Some(task) = task.take() {
                frame.tasks.push_back(task);
            }
        });
        let Some(task) = task else {
            return;
        };
        {
            let mut q = self.queue.lock();
            if self.moved.load(Ordering::Relaxed) {
                // Merged and moved since the look above (`moved` is set under this lock).
                drop(q);
                return self.forwarded().expect("moved").queue_microtask(task);
            }
            q.microtasks.push_back(task);
            self.queued.store(true, Ordering::Release);
        }
        self.waiters.dirty.store(true, Ordering::Release);
        if !self.running.load(Ordering::Acquire) {
            self.waiters.wake_all();
        }
    }

    fn spawn(&self, future: BoxFuture<()>) {
        if let Some(next) = self.moved_to() {
            return next.spawn(future);
        }
        {
            let mut q = self.queue.lock();
            if self.moved.load(Ordering::Relaxed) {
                drop(q);
                return self.forwarded().expect("moved").spawn(future);
            }
            q.spawned.push(future);
            self.queued.store(true, Ordering::Release);
        }
        self.waiters.dirty.store(true, Ordering::Release);
        if !self.running.load(Ordering::Acquire) {
            self.waiters.wake_all();
        }
    }

    fn poll_progress(&self, cx: &mut Context<'_>) {
        self.run(cx);
    }

    fn run_queued(&self) {
        if let Some(next) = self.moved_to() {
            return next.run_queued();
        }
        if self.waiters.dirty.load(Ordering::Acquire) || self.must_hand_over() {
            self.run_loop();
            if let Some(next) = self.moved_to() {
                next.run_queued();
            }
        }
    }

    fn domain(&self) -> Option<Arc<Domain>> {
        Some(self.domain.clone())
    }
}

#[cfg(all(test, not(sluicegate_loom)))]
mod tests {
    use super::*;
    use crate::error::StreamError;
    use crate::host::{upon_settlement, Completion, HostRef};
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn microtasks_run_in_fifo_order_including_nested_ones() {
        let driver = Driver::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (d, l) = (driver.clone(), log.clone());
        driver.queue_microtask(Box::new(move || {
            l.lock().push(1);
            let l2 = l.clone();
            d.queue_microtask(Box::new(move || l2.lock().push(3)));
        }));
        let l = log.clone();
        driver.queue_microtask(Box::new(move || l.lock().push(2)));
        driver.run_until_stalled();
        assert_eq!(*log.lock(), vec![1, 2, 3]);
    }

    #[test]
    fn microtasks_queued_by_a_future_that_then_waits_run_in_the_same_run() {
        let driver = Driver::new();
        let hits = Arc::new(AtomicUsize::new(0));
        let (d, h) = (driver.clone(), hits.clone());
        driver.spawn(Box::pin(async move {
            let h2 = h.clone();
            // Settling a promise from inside a future queues its reactions on this frame...
            d.queue_microtask(Box::new(move || {
                h2.fetch_add(1, Ordering::SeqCst);
            }));
            // ...and then the future waits on something else.
            std::future::pending::<()>().await;
        }));
        driver.run_until_stalled();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn microtasks_queued_from_another_thread_during_a_run_run_in_that_run() {
        let driver = Driver::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (d, l) = (driver.clone(), log.clone());
        driver.queue_microtask(Box::new(move || {
            l.lock().push("first");
            let (d2, l2) = (d.clone(), l.clone());
            // Queued from another thread while this thread runs the driver: behind the lock.
            std::thread::spawn(move || d2.queue_microtask(Box::new(move || l2.lock().push("remote"))))
                .join()
                .unwrap();
            // Queued from the running step: this thread's own queue.
            let l3 = l.clone();
            d.queue_microtask(Box::new(move || l3.lock().push("local")));
        }));
        driver.run_until_stalled();
        assert_eq!(*log.lock(), vec!["first", "local", "remote"]);
        assert!(!driver.has_queued());
    }

    #[test]
    fn microtasks_queued_from_many_threads_all_run_and_wake_the_poller() {
        const THREADS: usize = 4;
        const EACH: usize = 2_000;
        let driver = Driver::new();
        let hits = Arc::new(AtomicUsize::new(0));
        let producers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (d, h) = (driver.clone(), hits.clone());
                std::thread::spawn(move || {
                    for _ in 0..EACH {
                        let h2 = h.clone();
                        let d2 = d.clone();
                        // Each microtask queues a second one from inside the run: both paths.
                        d.queue_microtask(Box::new(move || {
                            h2.fetch_add(1, Ordering::SeqCst);
                            let h3 = h2.clone();
                            d2.queue_microtask(Box::new(move || {
                                h3.fetch_add(1, Ordering::SeqCst);
                            }));
                        }));
                    }
                })
            })
            .collect();
        // A poller that relies on wake-ups alone to see the work the other threads queue.
        futures::executor::block_on(std::future::poll_fn(|cx| {
            driver.poll_progress(cx);
            if hits.load(Ordering::SeqCst) == 2 * THREADS * EACH {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        for p in producers {
            p.join().unwrap();
        }
        assert_eq!(hits.load(Ordering::SeqCst), 2 * THREADS * EACH);
        assert!(!driver.has_queued());
    }

    #[test]
    fn microtasks_queued_to_an_outer_driver_from_an_inner_run_run_in_the_outer_run() {
        let (outer, inner) = (Driver::new(), Driver::new());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (o, i, l) = (outer.clone(), inner.clone(), log.clone());
        outer.queue_microtask(Box::new(move || {
            l.lock().push("outer 1");
            let (o2, l2) = (o.clone(), l.clone());
            i.queue_microtask(Box::new(move || {
                l2.lock().push("inner");
                let l3 = l2.clone();
                // The outer driver's run loop is on this thread's stack, below the inner one's.
                o2.queue_microtask(Box::new(move || l3.lock().push("outer 3")));
            }));
            // The inner driver runs nested inside a step of the outer one.
            i.run_until_stalled();
            let l4 = l.clone();
            o.queue_microtask(Box::new(move || l4.lock().push("outer 4")));
        }));
        let l = log.clone();
        outer.queue_microtask(Box::new(move || l.lock().push("outer 2")));
        outer.run_until_stalled();
        assert_eq!(
            *log.lock(),
            vec!["outer 1", "inner", "outer 2", "outer 3", "outer 4"]
        );
        assert!(!outer.has_queued() && !inner.has_queued());
    }

    #[test]
    fn run_queued_runs_queued_work_and_woken_futures() {
        let driver = Driver::new();
        let hits = Arc::new(AtomicUsize::new(0));
        driver.run_queued(); // nothing queued: returns at once
        let h = hits.clone();
        driver.queue_microtask(Box::new(move || {
            h.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        driver.run_queued();
        assert_eq!(hits.load(Ordering::SeqCst), 1);

        // A pending future that is woken later counts as queued work.
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let h = hits.clone();
        driver.spawn(Box::pin(async move {
            rx.await.unwrap();
            h.fetch_add(10, Ordering::SeqCst);
        }));
        driver.run_queued();
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the future is still waiting");
        driver.run_queued();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        tx.send(()).unwrap();
        driver.run_queued();
        assert_eq!(hits.load(Ordering::SeqCst), 11);
    }

    /// Merges `from`'s driver into `into`'s as a pipe does: domains first, then the drivers,
    /// holding the merged domain.
    fn merge(from: &Driver, into: &Driver) -> bool {
        Domain::merge(&from.domain, &into.domain);
        let _held = from.domain.enter();
        Driver::merge(from, into)
    }

    fn logger(log: &Arc<Mutex<Vec<&'static str>>>, entry: &'static str) -> Microtask {
        let l = log.clone();
        Box::new(move || l.lock().push(entry))
    }

    #[test]
    fn drivers_made_by_new_never_merge() {
        let (a, b) = (Driver::new(), Driver::new());
        assert!(!merge(&a, &b));
        let c = Driver::new_implicit();
        assert!(!merge(&a, &c) && !merge(&c, &a));
        assert!(a.forwarded().is_none() && c.forwarded().is_none());
        let host: HostRef = a.clone();
        assert!(Driver::implicit(&host).is_none());
        let host: HostRef = c.clone();
        assert!(Driver::implicit(&host).is_some_and(|d| std::ptr::eq(&*d, &*c)));
    }

    #[test]
    fn merged_drivers_run_their_queued_work_in_one_loop_in_each_ones_order() {
        let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
        let log = Arc::new(Mutex::new(Vec::new()));
        a.queue_microtask(logger(&log, "a1"));
        b.queue_microtask(logger(&log, "b1"));
        a.queue_microtask(logger(&log, "a2"));
        assert!(merge(&a, &b));
        assert!(a.moved.load(Ordering::SeqCst) && !a.has_queued());
        a.queue_microtask(logger(&log, "a3"));
        b.queue_microtask(logger(&log, "b2"));
        // Running either runs the group.
        a.run_until_stalled();
        assert_eq!(*log.lock(), vec!["b1", "a1", "a2", "a3", "b2"]);
        assert!(!a.has_queued() && !b.has_queued());
    }

    #[test]
    fn chains_of_merges_reach_the_last_root() {
        let (a, b, c) = (
            Driver::new_implicit(),
            Driver::new_implicit(),
            Driver::new_implicit(),
        );
        let log = Arc::new(Mutex::new(Vec::new()));
        a.queue_microtask(logger(&log, "a"));
        assert!(merge(&a, &b));
        assert!(merge(&b, &c));
        // Merging within the group again changes nothing.
        assert!(merge(&c, &a) && merge(&a, &c));
        assert!(std::ptr::eq(a.root(), &*c) && std::ptr::eq(b.root(), &*c));
        assert!(c.forwarded().is_none());
        a.queue_microtask(logger(&log, "a again"));
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        a.spawn(Box::pin(async move {
            h.fetch_add(1, Ordering::SeqCst);
        }));
        c.run_until_stalled();
        assert_eq!(*log.lock(), vec!["a", "a again"]);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_merge_inside_a_step_of_the_merged_driver_moves_the_rest_of_its_run() {
        let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (a2, b2, l) = (a.clone(), b.clone(), log.clone());
        a.queue_microtask(Box::new(move || {
            l.lock().push("a1");
            // As a pipe made by user code running inside a step would (the domain is released
            // around user code; this step holds it, which merging re-enters).
            assert!(merge(&a2, &b2));
            // Still this run's frame: behind a2, which was queued before.
            a2.queue_microtask(logger(&l, "a3"));
            b2.queue_microtask(logger(&l, "b1"));
        }));
        a.queue_microtask(logger(&log, "a2"));
        a.run_until_stalled();
        assert_eq!(*log.lock(), vec!["a1", "b1", "a2", "a3"]);
        assert!(a.moved.load(Ordering::SeqCst));
        assert!(!a.has_queued() && !b.has_queued());
    }

    #[test]
    fn a_future_spawned_before_a_merge_is_polled_by_the_root_when_woken() {
        let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
        let hits = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let h = hits.clone();
        a.spawn(Box::pin(async move {
            rx.await.unwrap();
            h.fetch_add(1, Ordering::SeqCst);
        }));
        a.run_until_stalled();
        assert!(merge(&a, &b));
        tx.send(()).unwrap();
        b.run_queued();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_task_waiting_on_a_merged_driver_is_woken_and_then_waits_on_the_root() {
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        a.poll_progress(&mut Context::from_waker(&waker));
        assert!(merge(&a, &b));
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken by the merge");
        a.poll_progress(&mut Context::from_waker(&waker));
        // Registered on the root now: work queued there (from another thread) wakes it.
        let b2 = b.clone();
        std::thread::spawn(move || b2.queue_microtask(Box::new(|| ())))
            .join()
            .unwrap();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn merges_while_other_threads_run_and_queue_lose_nothing() {
        for _ in 0..200 {
            let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
            let hits = Arc::new(AtomicUsize::new(0));
            let threads: Vec<_> = [a.clone(), b.clone()]
                .into_iter()
                .map(|d| {
                    let h = hits.clone();
                    std::thread::spawn(move || {
                        for _ in 0..50 {
                            let h2 = h.clone();
                            d.queue_microtask(Box::new(move || {
                                h2.fetch_add(1, Ordering::SeqCst);
                            }));
                            d.run_until_stalled();
                        }
                    })
                })
                .collect();
            assert!(merge(&a, &b));
            for t in threads {
                t.join().unwrap();
            }
            a.run_until_stalled();
            assert_eq!(hits.load(Ordering::SeqCst), 100);
            assert!(!a.has_queued() && !b.has_queued());
        }
    }

    #[test]
    fn ready_completion_reacts_in_a_microtask_not_synchronously() {
        let host: HostRef = Driver::new();
        let hit = Arc::new(AtomicUsize::new(0));
        let h = hit.clone();
        upon_settlement(&host, None, Completion::ok(), move |r| {
            assert!(r.is_ok());
            h.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(hit.load(Ordering::SeqCst), 0);
        futures::executor::block_on(std::future::poll_fn(|cx| {
            host.poll_progress(cx);
            Poll::Ready(())
        }));
        assert_eq!(hit.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn deferred_reacts_in_a_microtask_after_settlement() {
        let driver = Driver::new();
        let host: HostRef = driver.clone();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (completion, resolver) = Completion::deferred();
        let l = log.clone();
        upon_settlement(&host, None, completion, move |r| {
            l.lock().push(format!("settled {}", r.is_ok()))
        });
        driver.run_until_stalled();
        assert!(log.lock().is_empty(), "no reaction before settlement");
        let l = log.clone();
        host.queue_microtask(Box::new(move || l.lock().push("earlier microtask".into())));
        resolver.settle(Err(StreamError::user("x")));
        assert!(
            log.lock().is_empty(),
            "reactions are queued, not run synchronously"
        );
        driver.run_until_stalled();
        assert_eq!(
            *log.lock(),
            vec!["earlier microtask".to_string(), "settled false".to_string()]
        );
    }

    #[test]
    fn panicking_future_becomes_a_rejection() {
        let host: HostRef = Driver::new();
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        upon_settlement(
            &host,
            None,
            Completion::future(async { panic!("boom") }),
            move |r| *s.lock() = Some(r),
        );
        let waker = Waker::noop();
        host.poll_progress(&mut Context::from_waker(waker));
        let got = seen.lock().take().expect("settled");
        let err = got.expect_err("rejected");
        assert_eq!(err.kind(), crate::ErrorKind::Panic);
        assert_eq!(err.message(), "boom");
    }
}
