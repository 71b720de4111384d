//! A re-entrant lock whose holding can be handed from one lock to another.
//!
//! `parking_lot::ReentrantMutex` keeps its recursion count private, but merging two event loops
//! while a thread holds one of them (a `pipe()` called from inside a listener) must move that
//! thread's holds onto the surviving loop's lock, so that the guards still on its stack release
//! the right lock. That is the one thing this lock adds, which is why it is written here.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::lock_api::RawMutex as _;

/// This thread's identity: the address of a thread-local, never 0.
#[inline]
pub(crate) fn thread_id() -> usize {
    thread_local! {
        static ID: u8 = const { 0 };
    }
    ID.with(|id| id as *const u8 as usize)
}

pub(crate) struct ReLock {
    raw: parking_lot::RawMutex,
    /// The holder's [`thread_id`], or 0. Written only by the holder, while it holds `raw`.
    owner: AtomicUsize,
    /// How many times the holder holds it. Read and written only by the holder.
    count: AtomicUsize,
}

impl ReLock {
    pub(crate) const fn new() -> Self {
        ReLock {
            raw: parking_lot::RawMutex::INIT,
            owner: AtomicUsize::new(0),
            count: AtomicUsize::new(0),
        }
    }

    /// Whether the calling thread holds the lock.
    #[inline]
    pub(crate) fn held_here(&self) -> bool {
        // Only this thread ever stores its own id, so a relaxed load that sees it is this
        // thread's own latest store (the same argument as `lock_api::ReentrantMutex`).
        self.owner.load(Ordering::Relaxed) == thread_id()
    }

    /// Takes the lock (once more, if this thread holds it already).
    pub(crate) fn lock(&self) {
        let me = thread_id();
        if self.owner.load(Ordering::Relaxed) == me {
            let c = self.count.load(Ordering::Relaxed);
            self.count.store(c + 1, Ordering::Relaxed);
            return;
        }
        self.raw.lock();
        self.owner.store(me, Ordering::Relaxed);
        self.count.store(1, Ordering::Relaxed);
    }

    /// Releases one hold. The caller must hold the lock.
    pub(crate) fn unlock(&self) {
        if !self.held_here() {
            debug_assert!(false, "unlock of a lock this thread does not hold");
            return;
        }
        let c = self.count.load(Ordering::Relaxed) - 1;
        self.count.store(c, Ordering::Relaxed);
        if c == 0 {
            self.owner.store(0, Ordering::Relaxed);
            // SAFETY: this thread holds `raw` (it is the owner with a count that just reached 0).
            unsafe { self.raw.unlock() };
        }
    }

    /// Moves every hold this thread has on `self` onto `to` (which this thread must hold), and
    /// releases `self`. Returns how many holds moved.
    pub(crate) fn transfer_to(&self, to: &ReLock) -> usize {
        if !self.held_here() || !to.held_here() {
            debug_assert!(false, "transfer between locks this thread does not hold");
            return 0;
        }
        let moved = self.count.load(Ordering::Relaxed);
        let had = to.count.load(Ordering::Relaxed);
        to.count.store(had + moved, Ordering::Relaxed);
        self.count.store(0, Ordering::Relaxed);
        self.owner.store(0, Ordering::Relaxed);
        // SAFETY: this thread holds `raw` (checked above).
        unsafe { self.raw.unlock() };
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn reentrant_and_exclusive_across_threads() {
        let lock = Arc::new(ReLock::new());
        lock.lock();
        lock.lock();
        assert!(lock.held_here());
        let l2 = lock.clone();
        let other = std::thread::spawn(move || {
            assert!(!l2.held_here());
            l2.lock(); // waits until the main thread releases both holds
            assert!(l2.held_here());
            l2.unlock();
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        lock.unlock();
        assert!(lock.held_here());
        lock.unlock();
        other.join().unwrap();
        assert!(!lock.held_here());
    }

    #[test]
    fn transfer_moves_holds() {
        let (a, b) = (ReLock::new(), ReLock::new());
        a.lock();
        a.lock();
        b.lock();
        assert_eq!(a.transfer_to(&b), 2);
        assert!(!a.held_here());
        b.unlock();
        b.unlock();
        assert!(b.held_here());
        b.unlock();
        assert!(!b.held_here());
    }
}
