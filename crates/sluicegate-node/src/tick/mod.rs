//! The event loop: Node's `process.nextTick` queue, the futures streams wait on, and the lock that
//! makes one loop's streams single-threaded the way Node's are.
//!
//! # Why a loop of its own
//!
//! Node's stream events are ordered by `process.nextTick`: `'drain'`, `'end'`, `'close'`,
//! `'readable'` and the flow of paused streams all run "after the current operation, before
//! anything else". Tests observe that order, so the Rust side has a FIFO of ticks with the same
//! rules. It is not sluicegate's microtask [`Driver`](sluicegate::host::Driver): Node drains the
//! whole tick queue before any promise job, and the streams here use no promise jobs at all.
//!
//! # One thread at a time per loop
//!
//! Every stream belongs to one [`EventLoop`]. An operation on a stream (a `write`, a `push`, a
//! tick, a listener) holds that loop's re-entrant lock for its duration, so a loop's streams are
//! used by one thread at a time, as Node's are, while different loops run in parallel on a
//! multi-thread runtime. Connecting two streams (`pipe`, `pipeline`, a duplex's two sides)
//! merges their loops into one: a union-find whose surviving root takes over the other's queued
//! ticks, futures, waiters and any holds the calling thread has on the other's lock.
//!
//! A stream made while an [`EventLoop`] is [entered](EventLoop::enter) joins it; otherwise a stream
//! gets a loop of its own until it is connected to others.
//!
//! # Who runs it
//!
//! Rust futures run when polled, so the loop runs inside the futures this crate returns
//! ([`finished`](crate::finished()), [`pipeline`](crate::pipeline()), a next-chunk read, a
//! write's completion, async iteration), or by hand with [`EventLoop::run_until_idle`]. Work queued
//! from another thread wakes whichever future is waiting on the loop. A future runs at most a
//! budget of ticks per poll and then yields, so a stream that never pauses cannot starve a tokio
//! worker.

mod cell;
mod lock;

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::stream::{FuturesUnordered, StreamExt};
use parking_lot::Mutex;
use smallvec::SmallVec;

use cell::LockedCell;
pub(crate) use cell::Shared;
use lock::ReLock;

/// A deferred step: the Rust counterpart of a `process.nextTick` callback.
pub(crate) type Tick = Box<dyn FnOnce() + Send + 'static>;

/// A boxed future the loop drives.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// How many ticks a future runs per poll before yielding.
pub(crate) const BUDGET: usize = 4096;

/// One node of the union-find of event loops. Only the root's queues are used.
pub(crate) struct Domain {
    parent: OnceLock<Arc<Domain>>,
    lock: ReLock,
    queues: LockedCell<Queues>,
    waiters: Mutex<SmallVec<[Waker; 2]>>,
    dirty: AtomicBool,
    /// How many handles from outside the loop reach it through this node (see [`Hold`]);
    /// [`SEALED`] once the node is merged into another, whose count took this one's over.
    handles: AtomicUsize,
}

/// The handle count of a node merged into another loop: its holds count on the survivor.
const SEALED: usize = usize::MAX;

#[derive(Default)]
struct Queues {
    ticks: VecDeque<Tick>,
    futures: FuturesUnordered<BoxFuture<()>>,
    running: bool,
}

/// Holds a domain's lock; releases it (on whatever the root is by then) when dropped. When the
/// thread already held the lock further up its stack, the guard holds nothing and costs nothing:
/// those outer holds outlive it.
///
/// While a guard lives, the calling thread holds the lock of `domain`'s root, whatever that root
/// becomes: a hold is only given up by the guard that took it (guards are stack values, dropped
/// in reverse order), and a merge moves this thread's holds onto the surviving root
/// ([`Domain::join`]). [`Shared::with_in`] relies on that to skip its check.
pub(crate) struct Entered<'a> {
    /// The node `enter` was called on.
    domain: &'a Domain,
    /// Whether this guard took a hold (and so releases one).
    release: bool,
}

impl Entered<'_> {
    /// Whether this guard entered `domain` itself (not merely its loop): then it proves this
    /// thread holds `domain`'s lock, whatever its root becomes.
    #[inline(always)]
    pub(crate) fn is_on(&self, domain: &Domain) -> bool {
        std::ptr::eq(self.domain, domain)
    }
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.release {
            self.domain.root().lock.unlock();
        }
    }
}

/// The outcome of one run of the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ran {
    /// Nothing is left that can run now.
    Idle,
    /// The budget ran out with work left.
    Yielded,
    /// This thread is already running the loop further up its stack.
    Nested,
}

thread_local! {
    /// The loops entered on this thread with [`EventLoop::enter`], innermost last.
    static ENTERED: std::cell::RefCell<Vec<Arc<Domain>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Domain {
    pub(crate) fn new() -> Arc<Domain> {
        Arc::new(Domain {
            parent: OnceLock::new(),
            lock: ReLock::new(),
            queues: LockedCell::new(Queues::default()),
            waiters: Mutex::new(SmallVec::new()),
            dirty: AtomicBool::new(false),
            handles: AtomicUsize::new(0),
        })
    }

    /// Counts one more handle from outside the loop (see [`Hold`]).
    pub(crate) fn hold(&self) {
        self.count_handle(true);
    }

    /// Counts one handle less; the last one going drops what the loop still has queued
    /// ([`Domain::drop_unreachable`]).
    pub(crate) fn release(&self) {
        let (node, before) = self.count_handle(false);
        if before == 1 {
            node.drop_unreachable();
        }
    }

    /// Adds one handle (`up`) or takes one away, on the loop this one was merged into if it
    /// was (its count is sealed then); returns that loop and its count before the change.
    fn count_handle(&self, up: bool) -> (&Domain, usize) {
        let mut node = self;
        loop {
            let n = node.handles.load(Ordering::Acquire);
            if n == SEALED {
                node = node.parent.get().expect("a sealed loop has a parent");
                continue;
            }
            let next = if up { n + 1 } else { n - 1 };
            if node
                .handles
                .compare_exchange_weak(n, next, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return (node, n);
            }
        }
    }

    /// Drops the queued ticks and futures once no handle from outside reaches the loop.
    ///
    /// What is queued holds the loop's streams, and the streams hold the loop: without this,
    /// a loop dropped with work queued would be a cycle nothing frees. With no handle left
    /// (no [`EventLoop`], entered guard, stream handle or future of this crate), nothing can
    /// run the loop again, so nothing queued could ever run or be observed running; dropping
    /// it frees the streams (and completes any callback it held with its dropped error).
    /// Checked again under the lock: a merge moves counts only under both loops' locks.
    fn drop_unreachable(&self) {
        loop {
            let queued = {
                let _e = self.enter();
                let root = self.root();
                if root.handles.load(Ordering::Acquire) != 0 {
                    return;
                }
                self.with_queues(|q| {
                    if q.running {
                        // Only a handle runs the loop, and it holds the loop while it does.
                        return None;
                    }
                    let ticks = std::mem::take(&mut q.ticks);
                    let futures = std::mem::take(&mut q.futures);
                    (!ticks.is_empty() || !futures.is_empty()).then_some((ticks, futures))
                })
            };
            // Dropped outside the lock: dropping a stream or a callback may queue more.
            match queued {
                Some(work) => drop(work),
                None => return,
            }
        }
    }

    /// The loop a new stream joins: the innermost entered one, else a new one.
    pub(crate) fn for_new_stream() -> Arc<Domain> {
        ENTERED
            .try_with(|e| e.borrow().last().cloned())
            .ok()
            .flatten()
            .unwrap_or_else(Domain::new)
    }

    #[inline(always)]
    pub(crate) fn root(&self) -> &Domain {
        let mut node = self;
        while let Some(p) = node.parent.get() {
            node = p;
        }
        node
    }

    fn root_arc(self: &Arc<Self>) -> Arc<Domain> {
        let mut node = self.clone();
        while let Some(p) = node.parent.get() {
            node = p.clone();
        }
        node
    }

    /// Whether `a` and `b` are the same loop now.
    pub(crate) fn same(a: &Domain, b: &Domain) -> bool {
        std::ptr::eq(a.root(), b.root())
    }

    /// Whether the calling thread holds the loop's lock (for debug assertions).
    pub(crate) fn held_here(&self) -> bool {
        self.root().lock.held_here()
    }

    /// Takes the loop's lock for the guard's lifetime.
    #[inline(always)]
    pub(crate) fn enter(&self) -> Entered<'_> {
        if self.root().lock.held_here() {
            return Entered {
                domain: self,
                release: false,
            };
        }
        self.enter_locking()
    }

    #[inline(never)]
    fn enter_locking(&self) -> Entered<'_> {
        loop {
            let root = self.root();
            root.lock.lock();
            if root.parent.get().is_none() {
                return Entered {
                    domain: self,
                    release: true,
                };
            }
            // Merged into another loop while we waited: follow it.
            root.lock.unlock();
        }
    }

    fn with_queues<R>(&self, f: impl FnOnce(&mut Queues) -> R) -> R {
        let root = self.root();
        root.queues.with_held(root.lock.held_here(), f)
    }

    /// `process.nextTick(task)`. The caller holds the lock (it is inside a stream operation).
    pub(crate) fn next_tick(&self, task: Tick) {
        let _e = self.enter();
        let running = self.with_queues(|q| {
            q.ticks.push_back(task);
            q.running
        });
        if !running {
            self.root().wake_waiters();
        }
    }

    /// Drives `future` on the loop.
    pub(crate) fn spawn(&self, future: BoxFuture<()>) {
        let _e = self.enter();
        let running = self.with_queues(|q| {
            q.futures.push(future);
            q.running
        });
        if !running {
            self.root().wake_waiters();
        }
    }

    fn wake_waiters(&self) {
        self.dirty.store(true, Ordering::Release);
        let list = std::mem::take(&mut *self.waiters.lock());
        for w in list {
            w.wake();
        }
    }

    fn register(&self, waker: &Waker) {
        let mut list = self.waiters.lock();
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
    }

    /// Merges the loops of `a` and `b` into one.
    pub(crate) fn join(a: &Arc<Domain>, b: &Arc<Domain>) {
        loop {
            let (ra, rb) = (a.root_arc(), b.root_arc());
            if Arc::ptr_eq(&ra, &rb) {
                return;
            }
            let (first, second) = if Arc::as_ptr(&ra) < Arc::as_ptr(&rb) {
                (&ra, &rb)
            } else {
                (&rb, &ra)
            };
            first.lock.lock();
            second.lock.lock();
            if first.parent.get().is_some() || second.parent.get().is_some() {
                second.lock.unlock();
                first.lock.unlock();
                continue;
            }
            let (survivor, loser) = (&ra, &rb);
            let moved = loser.queues.with_held(loser.lock.held_here(), std::mem::take);
            let has_work = !moved.ticks.is_empty() || !moved.futures.is_empty();
            survivor.queues.with_held(survivor.lock.held_here(), |q| {
                q.ticks.extend(moved.ticks);
                for f in moved.futures {
                    q.futures.push(f);
                }
                q.running |= moved.running;
            });
            let waiters = std::mem::take(&mut *loser.waiters.lock());
            let _ = loser.parent.set(survivor.clone());
            // Handles of the loser count on the survivor from now on (a `hold` or `release`
            // racing with this sees `SEALED` and follows the parent set just above).
            let held = loser.handles.swap(SEALED, Ordering::AcqRel);
            survivor.handles.fetch_add(held, Ordering::AcqRel);
            // Our merge hold on the loser, and any holds further up this thread's stack, now
            // count on the survivor; guards release whatever the root is when they drop.
            loser.lock.transfer_to(&survivor.lock);
            survivor.lock.unlock();
            survivor.lock.unlock();
            for w in waiters {
                w.wake();
            }
            if has_work {
                survivor.wake_waiters();
            }
            return;
        }
    }

    /// Runs ticks and polls futures until idle or `budget` ticks have run.
    pub(crate) fn run(self: &Arc<Self>, budget: usize) -> Ran {
        let _e = self.enter();
        if self.with_queues(|q| std::mem::replace(&mut q.running, true)) {
            return Ran::Nested;
        }
        struct NotRunning<'a>(&'a Domain);
        impl Drop for NotRunning<'_> {
            fn drop(&mut self) {
                self.0.with_queues(|q| q.running = false);
            }
        }
        let _stop = NotRunning(self);
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        let mut ran = 0usize;
        loop {
            self.root().dirty.store(false, Ordering::Release);
            let mut progressed = false;
            while let Some(task) = self.with_queues(|q| q.ticks.pop_front()) {
                task();
                progressed = true;
                ran += 1;
                if ran >= budget {
                    return Ran::Yielded;
                }
            }
            let mut futures = self.with_queues(|q| std::mem::take(&mut q.futures));
            if !futures.is_empty() {
                while let Poll::Ready(Some(())) = futures.poll_next_unpin(&mut cx) {
                    progressed = true;
                    if self.with_queues(|q| !q.ticks.is_empty()) {
                        break;
                    }
                }
                self.with_queues(|q| {
                    for f in std::mem::take(&mut q.futures) {
                        futures.push(f);
                    }
                    q.futures = futures;
                });
            }
            let more = self.with_queues(|q| !q.ticks.is_empty());
            if !progressed && !more && !self.root().dirty.load(Ordering::Acquire) {
                return Ran::Idle;
            }
        }
    }

    /// Runs the loop from a future's `poll`: registers for wake-ups first (so that work queued by
    /// another thread after the run is not missed), then runs with the budget.
    pub(crate) fn poll_run(self: &Arc<Self>, cx: &mut Context<'_>) {
        {
            let _e = self.enter();
            if self.with_queues(|q| q.running) {
                // Polled from inside this loop's own run: that run goes on until idle.
                return;
            }
            self.root().register(cx.waker());
        }
        if self.run(BUDGET) == Ran::Yielded {
            cx.waker().wake_by_ref();
        }
    }

    /// Whether the loop has nothing queued or pending.
    pub(crate) fn is_idle(&self) -> bool {
        let _e = self.enter();
        self.with_queues(|q| q.ticks.is_empty() && q.futures.is_empty())
    }
}

/// A handle on a loop from outside it: an [`EventLoop`], an entered guard, a future of this
/// crate that runs the loop. Stream handles count the same way without holding one (see
/// `Readable`'s and `Writable`'s `Drop`). While any handle lives, what is queued on the loop is
/// kept; when the last goes, it is dropped ([`Domain::drop_unreachable`]). What is queued never
/// holds a `Hold` or a counted stream handle of its own loop, or the loop could not be freed:
/// ticks hold their stream through an uncounted handle (`Readable::tick_handle`).
pub(crate) struct Hold(Arc<Domain>);

impl Hold {
    pub(crate) fn new(domain: &Arc<Domain>) -> Hold {
        domain.hold();
        Hold(domain.clone())
    }
}

impl Clone for Hold {
    fn clone(&self) -> Self {
        Hold::new(&self.0)
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl std::ops::Deref for Hold {
    type Target = Arc<Domain>;
    #[inline(always)]
    fn deref(&self) -> &Arc<Domain> {
        &self.0
    }
}

impl Wake for Domain {
    fn wake(self: Arc<Self>) {
        self.root().wake_waiters();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.root().wake_waiters();
    }
}

/// An event loop: a `process.nextTick` queue and the futures its streams wait on.
///
/// Streams made while a loop is [entered](EventLoop::enter) on the thread join it, so their
/// events interleave in one FIFO exactly as in Node. Without an entered loop each stream starts
/// with a loop of its own, merged with others when streams are connected.
///
/// ```
/// use sluicegate_node::{EventLoop, Readable, ev};
/// use std::sync::{Arc, Mutex};
///
/// let lp = EventLoop::new();
/// let _in_loop = lp.enter();
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let r = Readable::<u32>::from_iter([1, 2]);
/// let l = log.clone();
/// r.on(ev::Data, move |x: &u32| l.lock().unwrap().push(format!("data {x}")));
/// let l = log.clone();
/// r.on(ev::End, move |_| l.lock().unwrap().push("end".to_string()));
/// assert!(log.lock().unwrap().is_empty()); // nothing runs before the loop does
/// lp.run_until_idle();
/// assert_eq!(*log.lock().unwrap(), ["data 1", "data 2", "end"]);
/// ```
#[derive(Clone)]
pub struct EventLoop {
    domain: Hold,
}

/// Returned by [`EventLoop::enter`]; leaves the loop when dropped.
#[must_use = "the loop is left when this guard is dropped"]
pub struct EnterGuard {
    _not_send: std::marker::PhantomData<*const ()>,
    /// Streams made under the guard join the loop, so it counts as a handle.
    _hold: Hold,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Before `_hold` is released (fields drop after this).
        let _ = ENTERED.try_with(|e| e.borrow_mut().pop());
    }
}

impl EventLoop {
    /// A new, empty loop.
    pub fn new() -> Self {
        EventLoop {
            domain: Hold::new(&Domain::new()),
        }
    }

    pub(crate) fn from_domain(domain: &Arc<Domain>) -> Self {
        EventLoop {
            domain: Hold::new(domain),
        }
    }

    pub(crate) fn domain(&self) -> &Arc<Domain> {
        &self.domain
    }

    /// Streams made on this thread until the guard drops join this loop.
    pub fn enter(&self) -> EnterGuard {
        ENTERED.with(|e| e.borrow_mut().push(Arc::clone(&self.domain)));
        EnterGuard {
            _not_send: std::marker::PhantomData,
            _hold: self.domain.clone(),
        }
    }

    /// `process.nextTick(f)`: runs `f` after the current operation, in FIFO order with the
    /// streams' own ticks.
    pub fn next_tick(&self, f: impl FnOnce() + Send + 'static) {
        self.domain.next_tick(Box::new(f));
    }

    /// Drives `future` on this loop (it runs while anything polls the loop).
    pub fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        self.domain.spawn(Box::pin(future));
    }

    /// Runs ticks and ready futures until nothing more can run without outside events. Returns
    /// at once, doing nothing, when called from inside this loop's own run.
    pub fn run_until_idle(&self) {
        while self.domain.run(usize::MAX) == Ran::Yielded {}
    }

    /// Whether nothing is queued or pending on the loop.
    pub fn is_idle(&self) -> bool {
        self.domain.is_idle()
    }

    /// Whether `self` and `other` are (now) the same loop.
    pub fn same(&self, other: &EventLoop) -> bool {
        Domain::same(&self.domain, &other.domain)
    }

    /// A future that runs the loop until nothing is queued or pending on it.
    pub fn idle(&self) -> Idle {
        Idle {
            domain: self.domain.clone(),
        }
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop").finish_non_exhaustive()
    }
}

/// Returned by [`EventLoop::idle`].
#[must_use = "futures do nothing unless polled"]
pub struct Idle {
    domain: Hold,
}

impl Future for Idle {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.domain.poll_run(cx);
        if self.domain.is_idle() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn ticks_run_in_fifo_order_including_nested_ones() {
        let d = Domain::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (d2, l) = (d.clone(), log.clone());
        d.next_tick(Box::new(move || {
            l.lock().push(1);
            let l2 = l.clone();
            d2.next_tick(Box::new(move || l2.lock().push(3)));
        }));
        let l = log.clone();
        d.next_tick(Box::new(move || l.lock().push(2)));
        assert!(log.lock().is_empty());
        d.run(usize::MAX);
        assert_eq!(*log.lock(), vec![1, 2, 3]);
    }

    #[test]
    fn joined_loops_share_one_queue_and_lock() {
        let (a, b) = (Domain::new(), Domain::new());
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        a.next_tick(Box::new(move || l.lock().push("a")));
        let l = log.clone();
        b.next_tick(Box::new(move || l.lock().push("b")));
        Domain::join(&a, &b);
        assert!(Domain::same(&a, &b));
        b.run(usize::MAX);
        assert_eq!(*log.lock(), vec!["a", "b"]);
        assert!(a.is_idle() && b.is_idle());
    }

    #[test]
    fn join_while_holding_the_losing_lock_moves_the_hold() {
        let (a, b) = (Domain::new(), Domain::new());
        let held = b.enter();
        Domain::join(&a, &b);
        // This thread still holds the merged loop through `held`.
        assert!(a.root().lock.held_here());
        let a2 = a.clone();
        let t = std::thread::spawn(move || {
            let _e = a2.enter();
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!t.is_finished(), "the other thread waits for our hold");
        drop(held);
        t.join().unwrap();
        assert!(!a.root().lock.held_here());
    }

    #[test]
    fn spawned_futures_are_driven_and_wake_the_poller() {
        let d = Domain::new();
        let hits = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let h = hits.clone();
        d.spawn(Box::pin(async move {
            rx.await.unwrap();
            h.fetch_add(1, Ordering::SeqCst);
        }));
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(10));
            tx.send(()).unwrap();
        });
        let d2 = d.clone();
        futures::executor::block_on(std::future::poll_fn(move |cx| {
            d2.poll_run(cx);
            if hits.load(Ordering::SeqCst) == 1 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        sender.join().unwrap();
    }

    #[test]
    fn the_last_handle_of_merged_loops_drops_their_queued_ticks() {
        struct Flag(Arc<AtomicUsize>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let (a, b) = (Domain::new(), Domain::new());
        let dropped = Arc::new(AtomicUsize::new(0));
        let (ha, hb) = (Hold::new(&a), Hold::new(&b));
        for d in [&a, &b] {
            // Each tick holds its loop, as a stream's tick does through the stream.
            let (d2, f) = (d.clone(), Flag(dropped.clone()));
            d.next_tick(Box::new(move || drop((d2, f))));
        }
        Domain::join(&a, &b);
        drop(ha);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            0,
            "b's handle counts on the merged loop"
        );
        let again = hb.clone();
        drop(hb);
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
        drop(again);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            2,
            "both ticks dropped with the last handle"
        );
        assert!(a.is_idle() && b.is_idle());
    }

    #[test]
    fn a_run_from_inside_a_run_is_nested_and_does_nothing() {
        let d = Domain::new();
        let d2 = d.clone();
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        d.next_tick(Box::new(move || {
            *s.lock() = Some(d2.run(usize::MAX));
        }));
        assert_eq!(d.run(usize::MAX), Ran::Idle);
        assert_eq!(*seen.lock(), Some(Ran::Nested));
    }
}
