//! State guarded by an event loop's lock instead of a lock of its own.
//!
//! Every stream of one event loop is used by one thread at a time: an operation takes the loop's
//! re-entrant lock (cheaply, with no atomic read-modify-write, when this thread holds it already,
//! which is the case for everything that happens inside a tick, a listener or an implementor
//! call). A [`Shared`] cell checks that its loop's lock is held by the calling thread, then lends
//! its value for the length of a closure that is internal code: no user code ever runs while a
//! cell is borrowed, so a listener or an implementor method may call back into the same stream.

use std::cell::{Cell, UnsafeCell};
use std::sync::Arc;

use super::{Domain, Entered};

/// A value only touched by the thread that holds a domain's lock, one borrow at a time.
pub(crate) struct LockedCell<T> {
    value: UnsafeCell<T>,
    borrowed: Cell<bool>,
}

// SAFETY: the value is only reached through `LockedCell::with_held`, whose callers prove the
// calling thread holds the lock this cell belongs to (the root domain's lock), so at most one
// thread touches it at a time, and the lock's acquire/release orders those touches; `borrowed`
// (also only touched under that lock) rules out two live `&mut` on one thread. `T: Send` because
// the value moves between the threads that take the lock in turn.
unsafe impl<T: Send> Sync for LockedCell<T> {}
// SAFETY: as above; the cell owns a `T`.
unsafe impl<T: Send> Send for LockedCell<T> {}

/// Clears the borrow flag even if the closure panics.
struct Unborrow<'a>(&'a Cell<bool>);

impl Drop for Unborrow<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl<T> LockedCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        LockedCell {
            value: UnsafeCell::new(value),
            borrowed: Cell::new(false),
        }
    }

    /// Lends the value to `f`.
    ///
    /// `lock_held` must be true only if the calling thread holds the lock guarding this cell;
    /// it is checked here (not assumed) because soundness rests on it.
    #[inline(always)]
    pub(crate) fn with_held<R>(&self, lock_held: bool, f: impl FnOnce(&mut T) -> R) -> R {
        if !lock_held {
            unlocked();
        }
        if self.borrowed.get() {
            borrowed_twice();
        }
        self.borrowed.set(true);
        let _unborrow = Unborrow(&self.borrowed);
        // SAFETY: the lock is held by this thread (asserted above) and the cell is not borrowed
        // (asserted above), so this is the only reference to the value until `f` returns.
        f(unsafe { &mut *self.value.get() })
    }
}

#[cold]
#[inline(never)]
fn unlocked() -> ! {
    panic!("sluicegate-node: a stream's state was reached without its loop's lock")
}

#[cold]
#[inline(never)]
fn borrowed_twice() -> ! {
    panic!("sluicegate-node: a stream's state was borrowed twice (internal error)")
}

/// A stream's piece of state, guarded by its event loop's lock.
pub(crate) struct Shared<T> {
    domain: Arc<Domain>,
    cell: LockedCell<T>,
}

impl<T> Shared<T> {
    pub(crate) fn new(domain: &Arc<Domain>, value: T) -> Self {
        Shared {
            domain: domain.clone(),
            cell: LockedCell::new(value),
        }
    }

    /// Runs internal code `f` on the value, taking the loop's lock if this thread lacks it.
    /// `f` must not call user code.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        if self.domain.root().lock.held_here() {
            return self.cell.with_held(true, f);
        }
        self.with_locking(f)
    }

    /// [`Shared::with`] for a caller inside `held`, a guard from entering this value's own
    /// domain: that guard proves this thread holds the loop's lock (see [`Entered`]), so the
    /// root walk and the owner check are skipped. A guard of another domain is checked as
    /// `with` checks, and refused (an internal error) unless that proves the lock held: the
    /// closure is called from one place only, so it is inlined here as in `with`.
    #[inline(always)]
    pub(crate) fn with_in<R>(&self, held: &Entered<'_>, f: impl FnOnce(&mut T) -> R) -> R {
        let ours = held.is_on(&self.domain);
        debug_assert!(!ours || self.domain.held_here(), "a live guard without the lock");
        self.cell.with_held(ours || self.domain.held_here(), f)
    }

    #[inline(never)]
    fn with_locking<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let _entered = self.domain.enter();
        self.cell.with_held(self.domain.root().lock.held_here(), f)
    }

    pub(crate) fn domain(&self) -> &Arc<Domain> {
        &self.domain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_borrow_is_refused_not_aliased() {
        let d = Domain::new();
        let s = Arc::new(Shared::new(&d, 1u32));
        let s2 = s.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            s.with(|_| s2.with(|v| *v += 1));
        }));
        assert!(r.is_err());
        // The flag was cleared on unwind: the cell is usable again.
        assert_eq!(s.with(|v| *v), 1);
    }

    #[test]
    fn with_in_trusts_only_a_guard_of_its_own_domain() {
        let (d, other) = (Domain::new(), Domain::new());
        let s = Shared::new(&d, 1u32);
        {
            let e = d.enter();
            s.with_in(&e, |v| *v += 1);
            // Nested guards (holding nothing themselves) are just as good.
            let inner = d.enter();
            s.with_in(&inner, |v| *v += 1);
        }
        assert!(!d.root().lock.held_here(), "the guards released the lock");
        // A guard of an unrelated loop proves nothing: refused, not trusted.
        let e = other.enter();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.with_in(&e, |v| *v += 1)));
        assert!(r.is_err());
        drop(e);
        // Once the loops are merged, the other loop's guard holds this one's lock too.
        Domain::join(&d, &other);
        let e = other.enter();
        s.with_in(&e, |v| *v += 1);
        drop(e);
        assert_eq!(s.with(|v| *v), 4);
    }

    #[test]
    fn other_threads_wait_for_the_lock() {
        let d = Domain::new();
        let s = Arc::new(Shared::new(&d, 0u64));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        s.with(|v| *v += 1);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(s.with(|v| *v), 40_000);
    }
}
