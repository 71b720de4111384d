//! The synchronisation primitives of the execution model, swapped for `loom`'s under
//! `--cfg sluicegate_loom` so that the model checker explores every interleaving of the real code
//! (see `tests/loom.rs`). Everything else in the crate uses `parking_lot` and `std` directly.

#[cfg(not(sluicegate_loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

#[cfg(sluicegate_loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// A mutex whose `lock` returns the guard directly (a panic while it is held is caught before it
/// can poison anything, so poisoning is not a state the core has).
pub(crate) struct Mutex<T> {
    #[cfg(not(sluicegate_loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(sluicegate_loom)]
    inner: loom::sync::Mutex<T>,
}

#[cfg(not(sluicegate_loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
#[cfg(sluicegate_loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex {
            #[cfg(not(sluicegate_loom))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(sluicegate_loom)]
            inner: loom::sync::Mutex::new(value),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(sluicegate_loom))]
        {
            self.inner.lock()
        }
        #[cfg(sluicegate_loom)]
        {
            self.inner.lock().unwrap_or_else(|e| e.into_inner())
        }
    }
}

/// A lock with no guard, for the domain: locked on one call, unlocked on another (possibly far
/// away: a domain is released when the last of its nested entries ends).
pub(crate) struct RawLock {
    #[cfg(not(sluicegate_loom))]
    inner: parking_lot::RawMutex,
    #[cfg(sluicegate_loom)]
    locked: loom::sync::Mutex<bool>,
    #[cfg(sluicegate_loom)]
    unlocked: loom::sync::Condvar,
}

#[cfg(not(sluicegate_loom))]
use parking_lot::lock_api::RawMutex as _;

impl RawLock {
    pub(crate) fn new() -> Self {
        RawLock {
            #[cfg(not(sluicegate_loom))]
            inner: parking_lot::RawMutex::INIT,
            #[cfg(sluicegate_loom)]
            locked: loom::sync::Mutex::new(false),
            #[cfg(sluicegate_loom)]
            unlocked: loom::sync::Condvar::new(),
        }
    }

    /// Takes the lock, waiting (spinning briefly, then parked) while another thread has it.
    pub(crate) fn lock(&self) {
        #[cfg(not(sluicegate_loom))]
        self.inner.lock();
        #[cfg(sluicegate_loom)]
        {
            let mut locked = self.locked.lock().unwrap();
            while *locked {
                locked = self.unlocked.wait(locked).unwrap();
            }
            *locked = true;
        }
    }

    /// Takes the lock if it is free.
    pub(crate) fn try_lock(&self) -> bool {
        #[cfg(not(sluicegate_loom))]
        {
            self.inner.try_lock()
        }
        #[cfg(sluicegate_loom)]
        {
            let mut locked = self.locked.lock().unwrap();
            if *locked {
                false
            } else {
                *locked = true;
                true
            }
        }
    }

    /// Releases the lock.
    ///
    /// The caller must hold it (every call pairs with a `lock` or a successful `try_lock` of the
    /// same thread; [`Domain`](crate::host::Domain) keeps that pairing).
    pub(crate) fn unlock(&self) {
        #[cfg(not(sluicegate_loom))]
        // SAFETY: the domain calls `unlock` only for a lock its own bookkeeping says this thread
        // holds (one `unlock` for each `lock`/successful `try_lock`), which is `RawMutex::unlock`'s
        // requirement. Exercised by every test that uses a stream; `host::domain` has tests of
        // nesting, release around user code, merging and contention.
        unsafe {
            self.inner.unlock()
        };
        #[cfg(sluicegate_loom)]
        {
            *self.locked.lock().unwrap() = false;
            self.unlocked.notify_one();
        }
    }
}

/// `thread_local!`, loom's under the model checker (each modelled thread has its own).
macro_rules! thread_local_shim {
    ($(#[$m:meta])* static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(sluicegate_loom))]
        std::thread_local! { $(#[$m])* static $name: $t = $init; }
        #[cfg(sluicegate_loom)]
        loom::thread_local! { $(#[$m])* static $name: $t = $init; }
    };
}
pub(crate) use thread_local_shim as thread_local;
