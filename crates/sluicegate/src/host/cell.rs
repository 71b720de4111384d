//! [`DomainCell`]: state that only the thread holding its group's domain touches, with no lock
//! of its own.
//!
//! A stream's slots used to sit behind a mutex of their own, taken and released around every
//! step: two atomic read-modify-writes each time, many times per chunk. But every step already
//! runs inside the stream's [`Domain`], which excludes every other thread from the whole group.
//! A second lock per stream inside it only repeats that exclusion. A `DomainCell` relies on the
//! domain instead: borrowing it checks that this thread holds the domain (a couple of plain
//! loads) and marks the cell borrowed (a plain store), so a step touches its stream's state with
//! no atomic read-modify-write at all.
//!
//! No crate offers this: the exclusion comes from the domain, which is this crate's own, so the
//! cell is written here. Its two checks run in every build, because soundness rests on them:
//!
//! * **The domain is held here.** Two threads can never both hold one domain, so two threads can
//!   never both get past this check at once. A borrow outside the domain is a bug in the core;
//!   it panics instead of racing.
//! * **Not borrowed already.** A second borrow while a guard lives (re-entrantly on this thread,
//!   or on another thread after this one released the domain with the guard still alive) panics
//!   instead of aliasing. The flag is written with `Release` when a guard ends and read with
//!   `Acquire`, and it is set before the domain can be released, so whoever holds the domain
//!   next sees it set, or sees it cleared together with every write the guard made.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::Domain;

#[cfg(debug_assertions)]
crate::sync::thread_local! {
    /// Debug builds: how many guards this thread has alive that must end before it releases its
    /// domains (every guard but [`DomainCell::lock_across_user_code`]'s).
    static LIVE: std::cell::Cell<usize> = std::cell::Cell::new(0);
}

/// Debug builds: panics if this thread has a borrow alive while it lets go of its domains (all of
/// them, for user code or to wait for another domain, or its last one). Such a borrow could be
/// found by the next thread to enter, which would panic on it; the one guard allowed across a
/// release is the pipe machine's, which the pipe's `stepping` flag protects instead. Quiet while
/// the thread unwinds from another panic, which would otherwise abort the process.
#[inline]
pub(crate) fn debug_assert_no_borrow_alive() {
    #[cfg(debug_assertions)]
    if !std::thread::panicking() {
        LIVE.with(|live| {
            assert_eq!(
                live.get(),
                0,
                "sluicegate bug: a domain was released with a stream's state still borrowed"
            );
        });
    }
}

/// State guarded by a [`Domain`] instead of a lock of its own (see the module docs).
pub(crate) struct DomainCell<T> {
    domain: Arc<Domain>,
    borrowed: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `lock`, which hands out one guard at a time and only
// to a thread that holds `domain` (checked in every build); the domain's lock orders one holder's
// accesses before the next holder's, and the `borrowed` flag (Release when a guard ends, Acquire
// when the next borrow checks it) orders a guard that outlived a release of the domain before any
// later borrow. So the value moves between threads (hence `T: Send`) but is never shared by two.
unsafe impl<T: Send> Sync for DomainCell<T> {}

impl<T> DomainCell<T> {
    /// A cell guarded by `domain` (a stream's own domain: the check follows it to the group's
    /// current root, so merges need nothing here).
    pub(crate) fn new(domain: Arc<Domain>, value: T) -> Self {
        DomainCell {
            domain,
            borrowed: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The domain that guards the cell.
    pub(crate) fn domain(&self) -> &Arc<Domain> {
        &self.domain
    }

    /// Enters the cell's domain, borrows the value for `f`, and ends the borrow before leaving the
    /// domain: for calls from outside any step, such as a handle's getters.
    ///
    /// Written out instead as `let _entered = ….enter();` followed by `f(&cell.lock())` as a
    /// function's last expression, the borrow would outlive the domain: Rust drops the
    /// temporaries of a block's final expression after the block's locals (before the 2024
    /// edition), so the guard would end after the domain was released, and another thread
    /// entering in between would find the value still borrowed and panic
    /// (`tests/integration/threads.rs`, `handles_queried_from_two_threads_at_once`).
    pub(crate) fn with_entered<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let _entered = self.domain.enter();
        let mut guard = self.lock();
        let result = f(&mut guard);
        drop(guard);
        result
    }

    /// Borrows the value. The calling thread must hold the cell's domain and no other guard of
    /// this cell may be alive; either mistake is a bug in the core and panics.
    #[inline]
    pub(crate) fn lock(&self) -> CellGuard<'_, T> {
        if !self.domain.is_held_here() {
            outside_domain();
        }
        if self.borrowed.load(Ordering::Acquire) {
            borrowed_twice();
        }
        self.borrowed.store(true, Ordering::Relaxed);
        #[cfg(debug_assertions)]
        LIVE.with(|live| live.set(live.get() + 1));
        CellGuard {
            cell: self,
            #[cfg(debug_assertions)]
            counted: true,
        }
    }

    /// Borrows the value like [`lock`](Self::lock), for a borrow that may stay alive while this
    /// thread releases the domain to run user code: the pipe's machine, which a step keeps across
    /// its calls into user code, while its `stepping` flag sends every other step away instead
    /// of letting it borrow. No other cell may be borrowed across a release.
    #[inline]
    pub(crate) fn lock_across_user_code(&self) -> CellGuard<'_, T> {
        #[cfg_attr(not(debug_assertions), allow(unused_mut))]
        let mut guard = self.lock();
        #[cfg(debug_assertions)]
        {
            LIVE.with(|live| live.set(live.get() - 1));
            guard.counted = false;
        }
        guard
    }
}

#[cold]
#[inline(never)]
fn outside_domain() -> ! {
    panic!("sluicegate bug: a stream's state was used outside its domain")
}

#[cold]
#[inline(never)]
fn borrowed_twice() -> ! {
    panic!("sluicegate bug: a stream's state was borrowed while already borrowed")
}

/// A borrow of a [`DomainCell`]'s value; ends when dropped.
pub(crate) struct CellGuard<'a, T> {
    cell: &'a DomainCell<T>,
    /// Counted in `LIVE` (debug builds).
    #[cfg(debug_assertions)]
    counted: bool,
}

impl<T> Deref for CellGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one alive (`lock` checked the flag, under the domain that
        // excludes every other thread's `lock`), so no `&mut` to the value exists elsewhere.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> DerefMut for CellGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this borrow unique within the guard too.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for CellGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.cell.borrowed.store(false, Ordering::Release);
        #[cfg(debug_assertions)]
        if self.counted {
            LIVE.with(|live| live.set(live.get() - 1));
        }
    }
}

#[cfg(all(test, not(sluicegate_loom)))]
mod tests {
    use super::*;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    #[test]
    fn a_borrow_inside_the_domain_reads_and_writes() {
        let domain = Domain::new();
        let cell = DomainCell::new(domain.clone(), 1u32);
        let _entered = domain.enter();
        *cell.lock() += 1;
        assert_eq!(*cell.lock(), 2);
    }

    #[test]
    fn a_borrow_outside_the_domain_panics() {
        let domain = Domain::new();
        let cell = DomainCell::new(domain, 1u32);
        let r = catch_unwind(AssertUnwindSafe(|| *cell.lock()));
        assert!(r.is_err());
    }

    #[test]
    fn a_second_borrow_while_the_first_lives_panics_and_the_first_still_ends() {
        let domain = Domain::new();
        let cell = DomainCell::new(domain.clone(), 1u32);
        let _entered = domain.enter();
        let first = cell.lock();
        let r = catch_unwind(AssertUnwindSafe(|| *cell.lock()));
        assert!(r.is_err());
        drop(first);
        assert_eq!(*cell.lock(), 1);
    }

    /// The mistake `with_entered` exists for, caught in debug builds where it happens rather
    /// than on whichever thread enters next.
    #[test]
    #[cfg(debug_assertions)]
    fn leaving_the_domain_with_a_borrow_alive_panics_in_debug_builds() {
        let domain = Domain::new();
        let cell = DomainCell::new(domain.clone(), 1u32);
        let r = catch_unwind(AssertUnwindSafe(|| {
            let entered = domain.enter();
            let guard = cell.lock();
            drop(entered);
            drop(guard);
        }));
        assert!(r.is_err());
        // The right order passes, and so does the helper.
        let domain = Domain::new();
        let cell = DomainCell::new(domain.clone(), 1u32);
        {
            let _entered = domain.enter();
            *cell.lock() += 1;
        }
        assert_eq!(cell.with_entered(|v| *v), 2);
    }

    #[test]
    fn a_merged_domain_guards_the_cell_through_the_root() {
        let (a, b) = (Domain::new(), Domain::new());
        let cell = DomainCell::new(b.clone(), 7u32);
        Domain::merge(&a, &b);
        let _entered = a.enter();
        assert_eq!(*cell.lock(), 7);
    }

    #[test]
    fn threads_taking_turns_through_the_domain_lose_no_update() {
        let domain = Domain::new();
        let cell = Arc::new(DomainCell::new(domain.clone(), 0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (domain, cell) = (domain.clone(), cell.clone());
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        let _entered = domain.enter();
                        *cell.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let _entered = domain.enter();
        assert_eq!(*cell.lock(), 40_000);
    }
}
