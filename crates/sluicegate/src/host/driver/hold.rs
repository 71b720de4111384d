//! Holds on a group of streams made without a host, and the group's abandonment once nothing
//! outside the core holds it (DESIGN.md, "A group nobody holds is freed").
//!
//! A group's steps run only when something polls its driver, and only user code polls: the
//! futures the API hands out, and the handles that make them. The core's own references (a
//! pipe's reader and writer, the reactions and requests waiting in the streams, the futures the
//! driver polls) never poll it. So once user code holds nothing of the group (no stream, reader,
//! writer, promise or read future), none of its steps can ever run again, and the cycles its
//! pending work forms (a pipe and its streams, the driver and the futures that hold the streams)
//! would keep it, and whatever its sources and sinks own (files, sockets), alive for good.
//!
//! Every handle user code can hold on a stream of such a group carries a [`Hold`], counted on
//! its stream's own driver. A driver merged into another ([`Driver::merge`]) holds its root once
//! while it is held itself, so the root's count reaches zero only when no handle on any stream of
//! the group is left. Then the root abandons the group: the work tracked with
//! [`Host::track`](crate::host::Host::track) lets go of its streams ([`Abandon`]), and the
//! microtasks and futures queued on the driver are dropped, so the group is freed. Moves of a
//! count to and from zero are serialised with the abandonment (`life`), and a group abandoned
//! once is never held again: a controller asking for its stream then gets none.

use std::sync::Arc;

use super::Driver;
use crate::error::StreamError;
use crate::host::{Abandon, HostRef};
use crate::sync::Ordering;

/// A hold on a group of streams made without a host: while one lives, the group's pending work
/// is kept for whoever will drive it. Held by every handle user code can keep (streams, readers,
/// writers, promises, read futures); empty for streams on a host the crate did not make, and for
/// the core's own readers and writers.
pub(crate) struct Hold(Option<Arc<Driver>>);

impl Hold {
    /// No hold.
    pub(crate) const fn none() -> Hold {
        Hold(None)
    }

    /// A hold on the group of `host`, if it is a driver the crate made for streams created
    /// without a host; no hold otherwise, and none if that group was abandoned already.
    pub(crate) fn on(host: &HostRef) -> Hold {
        Self::try_on(host).unwrap_or(Hold(None))
    }

    /// The first hold of a stream being made on `host`: a `TypeError` if `host` is a driver
    /// whose group was abandoned (user code kept a stream's `host()` after dropping everything
    /// else, and makes a new stream on it), since nothing would ever run that stream's steps.
    pub(crate) fn for_new_stream(host: &HostRef) -> Result<Hold, StreamError> {
        Self::try_on(host).ok_or_else(|| {
            StreamError::type_error(
                "the host's streams were given up (nothing held them any more): make the stream on another host",
            )
        })
    }

    /// [`Hold::on`], telling an abandoned group (`None`) from a host that is not counted
    /// (`Some` of no hold).
    pub(crate) fn try_on(host: &HostRef) -> Option<Hold> {
        match Driver::implicit(host) {
            Some(driver) => driver.acquire().then(|| Hold(Some(driver))),
            None => Some(Hold(None)),
        }
    }
}

impl Clone for Hold {
    fn clone(&self) -> Self {
        match &self.0 {
            Some(driver) => {
                // This hold counts on `driver`: the count is not zero, and stays above it.
                driver.holders.fetch_add(1, Ordering::Relaxed);
                Hold(Some(driver.clone()))
            }
            None => Hold(None),
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(driver) = self.0.take() {
            driver.release();
        }
    }
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Hold" } else { "Hold(none)" })
    }
}

impl Driver {
    /// Counts one more hold; false (and nothing counted) if the group was abandoned.
    pub(super) fn acquire(&self) -> bool {
        let mut n = self.holders.load(Ordering::Relaxed);
        while n > 0 {
            match self
                .holders
                .compare_exchange_weak(n, n + 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => n = now,
            }
        }
        let _life = self.life.lock();
        if self.abandoned.load(Ordering::Relaxed) {
            return false;
        }
        if self.holders.fetch_add(1, Ordering::AcqRel) == 0 {
            // Held again: a merged driver holds its root once while it is held itself.
            if let Some(next) = self.forwarded() {
                if !next.acquire() {
                    self.holders.fetch_sub(1, Ordering::AcqRel);
                    return false;
                }
            }
        }
        true
    }

    /// Counts one hold less; the last one on the group's root abandons the group.
    pub(super) fn release(&self) {
        let mut n = self.holders.load(Ordering::Relaxed);
        while n > 1 {
            match self
                .holders
                .compare_exchange_weak(n, n - 1, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => n = now,
            }
        }
        let next = {
            let _life = self.life.lock();
            if self.holders.fetch_sub(1, Ordering::AcqRel) != 1 {
                // Held again meanwhile.
                return;
            }
            match self.forwarded() {
                Some(next) => Some(next),
                None => {
                    self.abandoned.store(true, Ordering::Release);
                    None
                }
            }
        };
        match next {
            Some(next) => next.release(),
            None => self.abandon_group(),
        }
    }

    /// Whether the group this driver is the root of was abandoned.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }

    /// Gives up on the group, whose root this driver is and which nothing holds any more: the
    /// tracked work lets go of its streams, then the queued microtasks and futures are dropped.
    fn abandon_group(&self) {
        let tracked = std::mem::take(&mut *self.tracked.lock());
        for work in tracked {
            if let Some(work) = work.upgrade() {
                work.abandon();
            }
        }
        self.drop_work();
    }

    /// Drops the work queued on this abandoned driver, unless its run loop is running somewhere:
    /// then that loop drops it when it stops (it looks at `abandoned` before every microtask and
    /// after it lets go of `running`). Work queued later is dropped where it is queued.
    pub(super) fn drop_work(&self) {
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let (batch, futures) = {
            let mut state = self.running_state.lock();
            (std::mem::take(&mut state.batch), state.futures.take())
        };
        let queued = {
            let mut q = self.queue.lock();
            self.queued.store(false, Ordering::Release);
            std::mem::take(&mut *q)
        };
        self.running.swap(false, Ordering::AcqRel);
        // Dropped with no lock held: their `Drop` may be user code (sources, sinks, futures).
        drop((batch, futures, queued));
    }

    /// Keeps `work` for the group's abandonment ([`Host::track`](crate::host::Host::track)).
    pub(super) fn track_work(&self, work: std::sync::Weak<dyn Abandon>) {
        let root = self.root();
        if root.me.strong_count() == 0 {
            // A driver made by `Driver::new` is never abandoned.
            return;
        }
        let mut tracked = root.tracked.lock();
        // Entries whose work is over are swept whenever the list would grow past a power of two.
        if tracked.len() == tracked.capacity() && tracked.len() >= 2 {
            tracked.retain(|w| w.strong_count() > 0);
        }
        tracked.push(work);
    }
}
