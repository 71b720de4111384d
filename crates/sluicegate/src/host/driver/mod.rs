//! The native host: a microtask queue and a set of pending futures, run by whoever polls.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::stream::{FuturesUnordered, StreamExt};
use smallvec::SmallVec;

use super::{Abandon, BoxFuture, Domain, Host, HostRef, Microtask};
use crate::sync::{thread_local, AtomicBool, AtomicPtr, AtomicUsize, Mutex, Ordering};

mod hold;
mod merge;

pub(crate) use hold::Hold;

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
    /// The [`Hold`]s on streams of this driver, plus one while a driver merged into this one is
    /// held itself (see `hold.rs`).
    holders: AtomicUsize,
    /// Taken by every move of `holders` to or from zero, and by a merge, so that none of them
    /// overlaps the group's abandonment.
    life: Mutex<()>,
    /// Set once nothing holds the group this driver is the root of: its work was dropped, and
    /// work queued from now on is dropped where it is queued.
    abandoned: AtomicBool,
    /// The work to abandon with the group ([`Host::track`]), on the group's root.
    tracked: Mutex<SmallVec<[Weak<dyn Abandon>; 2]>>,
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
            holders: AtomicUsize::new(0),
            life: Mutex::new(()),
            abandoned: AtomicBool::new(false),
            tracked: Mutex::new(SmallVec::new()),
        }
    }

    /// The driver `host` is, if the crate made it for streams created without a host.
    pub(crate) fn implicit(host: &HostRef) -> Option<Arc<Driver>> {
        let driver = host.domain()?.driver.upgrade()?;
        // The domain names its driver; the host must be that very driver (a host of another type
        // that hands out a driver's domain is not one).
        std::ptr::addr_eq(Arc::as_ptr(host), Arc::as_ptr(&driver)).then_some(driver)
    }

    /// Runs microtasks and polls pending futures until neither makes progress. Work that waits on
    /// something outside (a timer, I/O, another thread) stays pending.
    pub fn run_until_stalled(&self) {
        let waker = Waker::noop();
        self.run(&mut Context::from_waker(waker));
    }

    /// Puts work queued from outside the run loop behind the lock and wakes whoever waits, unless
    /// the driver was merged and its work moved since the caller looked (`moved` is set under
    /// this lock): then the work comes back, for the driver it forwards to.
    fn queue_from_outside<W>(&self, work: W, push: impl FnOnce(&mut Queued, W)) -> Result<(), W> {
        {
            let mut q = self.queue.lock();
            if self.moved.load(Ordering::Relaxed) {
                return Err(work);
            }
            if self.is_abandoned() {
                // Nothing will ever run it (`hold.rs`); dropped with no lock held.
                drop(q);
                drop(work);
                return Ok(());
            }
            push(&mut q, work);
            self.queued.store(true, Ordering::Release);
        }
        self.waiters.dirty.store(true, Ordering::Release);
        if !self.running.load(Ordering::Acquire) {
            self.waiters.wake_all();
        }
        Ok(())
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
            if self.is_abandoned() {
                self.running.swap(false, Ordering::AcqRel);
                self.drop_work();
                return;
            }
            self.run_exclusive();
            // A read-modify-write, not a store: every change of `running` is then one chain in
            // its modification order, so the swap above always sees whether another poll set it
            // since (loom's model, which orders a plain store after another thread's swap only
            // by causality, found a run where this thread's next swap read a stale `true` and
            // left the queued work to nobody).
            self.running.swap(false, Ordering::AcqRel);
            // Abandoned while it ran (a step let go of the group's last hold): what is left is
            // dropped, not run.
            if self.is_abandoned() {
                self.drop_work();
                return;
            }
            // Work queued between our last look and the store above saw `running` set and did not
            // wake anyone: pick it up ourselves. A merge that found `running` set left its
            // hand-over to us.
            if !self.has_queued() && !self.must_hand_over() {
                return;
            }
        }
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
                if self.stops() || !self.take_queued(me, futures) {
                    break;
                }
            }
            if self.stops() {
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
                if local || self.queued.load(Ordering::Acquire) || self.stops() {
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
        if self.stops() {
            return None;
        }
        with_frame(me, |frame| frame.tasks.pop_front()).flatten()
    }

    /// Whether the run must stop before its next step: the driver was merged (its work moves to
    /// the root) or abandoned (its work is dropped) since the run started.
    #[inline]
    fn stops(&self) -> bool {
        self.merged() || self.abandoned.load(Ordering::Relaxed)
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
        if let Err(task) = self.queue_from_outside(task, |q, task| q.microtasks.push_back(task)) {
            self.forwarded().expect("moved").queue_microtask(task);
        }
    }

    fn spawn(&self, future: BoxFuture<()>) {
        if let Some(next) = self.moved_to() {
            return next.spawn(future);
        }
        if let Err(future) = self.queue_from_outside(future, |q, future| q.spawned.push(future)) {
            self.forwarded().expect("moved").spawn(future);
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

    /// Kept for the group's abandonment, on a driver the crate made (`hold.rs`); a driver made
    /// by [`Driver::new`] lives as long as its streams and ignores it.
    fn track(&self, work: Weak<dyn Abandon>) {
        self.track_work(work);
    }

    /// The group's root has given up on it: nothing holds any stream of the group any more.
    fn abandoned(&self) -> bool {
        self.root().is_abandoned()
    }
}

#[cfg(all(test, not(sluicegate_loom)))]
mod tests;
