//! Merging drivers: a pipe that joins two groups of streams made without a host makes their
//! drivers one (union-find forwarding; DESIGN.md, "One native driver per group").

use std::collections::VecDeque;

use super::Driver;
use crate::host::{BoxFuture, Microtask};
use crate::sync::Ordering;

/// What [`Driver::accept`] did with the work: the driver that took it (to be woken), or the work
/// itself, refused by an abandoned group.
type Accepted<'a> = Result<Option<&'a Driver>, (VecDeque<Microtask>, Vec<BoxFuture<()>>)>;

impl Driver {
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
            // Under `life`: no move of `from`'s holds to or from zero overlaps the forward (see
            // `hold.rs`).
            let _life = from.life.lock();
            {
                let _queue = from.queue.lock();
                *from.forward_keep.lock() = Some(keep);
                from.forward
                    .store(into as *const Driver as *mut Driver, Ordering::Release);
            }
            // A merged driver holds its root once while it is held itself. (The caller holds a
            // handle on each side, so neither group can be abandoned meanwhile.)
            if from.holders.load(Ordering::Acquire) > 0 {
                let held = into.acquire();
                debug_assert!(held, "merged into an abandoned group");
            }
        }
        // The work to abandon with the group goes to the root too.
        let tracked = std::mem::take(&mut *from.tracked.lock());
        into.tracked.lock().extend(tracked);
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
    pub(super) fn forwarded(&self) -> Option<&Driver> {
        let next = self.forward.load(Ordering::Acquire);
        // SAFETY: `forward` is written once, by `merge`, with the address of the driver whose
        // `Arc` it stored in `forward_keep` just before (under the same lock; the store is
        // `Release`, this load `Acquire`). `forward_keep` is never cleared, so the target lives as
        // long as `self`, which the returned borrow is tied to. Exercised by the merge tests in
        // `tests.rs` and in `src/host/loom_tests.rs`.
        (!next.is_null()).then(|| unsafe { &*next })
    }

    /// The group's root: this driver, or the one it was merged into, transitively.
    pub(super) fn root(&self) -> &Driver {
        let mut driver = self;
        while let Some(next) = driver.forwarded() {
            driver = next;
        }
        driver
    }

    /// Where this driver's calls go once its work has moved: the driver it was merged into.
    #[inline]
    pub(super) fn moved_to(&self) -> Option<&Driver> {
        if self.moved.load(Ordering::Acquire) {
            self.forwarded()
        } else {
            None
        }
    }

    /// Moves this merged driver's work to the driver it forwards to: the microtasks it had (the
    /// run loop's left-over batch first, then those queued from outside, each in order), then its
    /// futures. Called by whoever holds `running`, once `forward` is set.
    pub(super) fn hand_over(&self) {
        let next = self.forwarded().expect("handing over a merged driver");
        let (mut tasks, futures) = {
            let mut state = self.running_state.lock();
            (std::mem::take(&mut state.batch), state.futures.take())
        };
        let (receiver, refused) = {
            let mut q = self.queue.lock();
            // Taken with their buffers: this driver queues nothing more of its own, so keeping
            // their capacity would only cost every merged group a block.
            tasks.extend(std::mem::take(&mut q.microtasks));
            let mut spawned: Vec<BoxFuture<()>> = futures.into_iter().flatten().collect();
            spawned.append(&mut std::mem::take(&mut q.spawned));
            self.queued.store(false, Ordering::Release);
            // Still under this driver's lock: whatever is queued here from now on waits for
            // `moved` and then follows, behind what moves now.
            let accepted = next.accept(tasks, spawned);
            self.moved.store(true, Ordering::Release);
            match accepted {
                Ok(receiver) => (receiver, None),
                Err(refused) => (None, Some(refused)),
            }
        };
        // Work an abandoned root refused is dropped here, with no lock held: its `Drop` may be
        // user code, and may queue to this very driver.
        drop(refused);
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
    /// there was anything; gives the work back if the group was abandoned (nothing will ever run
    /// it: `hold.rs`), for the caller to drop once it holds no lock.
    pub(super) fn accept(&self, tasks: VecDeque<Microtask>, futures: Vec<BoxFuture<()>>) -> Accepted<'_> {
        if tasks.is_empty() && futures.is_empty() {
            return Ok(None);
        }
        let mut q = self.queue.lock();
        if self.moved.load(Ordering::Relaxed) {
            drop(q);
            return self.forwarded().expect("moved").accept(tasks, futures);
        }
        if self.is_abandoned() {
            return Err((tasks, futures));
        }
        if q.microtasks.is_empty() {
            q.microtasks = tasks;
        } else {
            q.microtasks.extend(tasks);
        }
        q.spawned.extend(futures);
        self.queued.store(true, Ordering::Release);
        Ok(Some(self))
    }

    /// Whether this driver was merged but its work has not moved yet.
    pub(super) fn must_hand_over(&self) -> bool {
        !self.forward.load(Ordering::Acquire).is_null() && !self.moved.load(Ordering::Acquire)
    }

    /// Whether a merge has happened since the run started: the run stops before its next step,
    /// and the work it had left moves to the root.
    #[inline]
    pub(super) fn merged(&self) -> bool {
        !self.forward.load(Ordering::Acquire).is_null()
    }
}
