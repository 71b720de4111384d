//! Holding user algorithms (a source, sink or transformer) so that they are never called under a
//! lock.
//!
//! A stream's state lives behind one mutex, and user code may call back into the same stream, so
//! the core must never hold that mutex while user code runs. An [`AlgorithmSlot`] lets the core
//! check the algorithm object *out* of the locked state, call it with the lock released, and check
//! it back in. A call that arrives while the object is checked out (user code re-entering the
//! stream, for example `cancel()` from inside `pull()`) is deferred and runs with the object as
//! soon as the outer call returns it. `clear()` is the standard's ClearAlgorithms: it drops the
//! object, now or at check-in.

use crate::host::DomainCell;

/// A deferred call on a checked-out algorithm object.
pub(crate) type Deferred<A> = Box<dyn FnOnce(&mut A) + Send>;

pub(crate) enum AlgorithmSlot<A> {
    Present(A),
    InUse {
        cleared: bool,
        deferred: Vec<Deferred<A>>,
    },
    Cleared,
}

/// What [`AlgorithmSlot::checkout`] found.
pub(crate) enum Checkout<A> {
    Got(A),
    Busy,
    Cleared,
}

impl<A> AlgorithmSlot<A> {
    pub(crate) fn new(a: A) -> Self {
        AlgorithmSlot::Present(a)
    }

    pub(crate) fn checkout(&mut self) -> Checkout<A> {
        match std::mem::replace(self, AlgorithmSlot::Cleared) {
            AlgorithmSlot::Present(a) => {
                *self = AlgorithmSlot::InUse {
                    cleared: false,
                    deferred: Vec::new(),
                };
                Checkout::Got(a)
            }
            in_use @ AlgorithmSlot::InUse { .. } => {
                *self = in_use;
                Checkout::Busy
            }
            AlgorithmSlot::Cleared => Checkout::Cleared,
        }
    }

    /// ClearAlgorithms: returns the object so the caller can drop it outside the lock.
    pub(crate) fn clear(&mut self) -> Option<A> {
        match self {
            AlgorithmSlot::Present(_) => match std::mem::replace(self, AlgorithmSlot::Cleared) {
                AlgorithmSlot::Present(a) => Some(a),
                _ => unreachable!("matched above"),
            },
            AlgorithmSlot::InUse { cleared, .. } => {
                *cleared = true;
                None
            }
            AlgorithmSlot::Cleared => None,
        }
    }

    /// Queues `call` for when the checked-out object comes back; returns it if the slot is not
    /// checked out.
    pub(crate) fn defer(&mut self, call: Deferred<A>) -> Result<(), Deferred<A>> {
        match self {
            AlgorithmSlot::InUse { deferred, .. } => {
                deferred.push(call);
                Ok(())
            }
            _ => Err(call),
        }
    }
}

/// Checks `a` back into the slot found by `slot` in the state behind `mutex`, first running any
/// calls deferred while it was out (with the lock released).
pub(crate) fn checkin<S, A>(mutex: &DomainCell<S>, slot: impl Fn(&mut S) -> &mut AlgorithmSlot<A>, mut a: A) {
    loop {
        let deferred = {
            let mut guard = mutex.lock();
            let s = slot(&mut guard);
            match s {
                AlgorithmSlot::InUse { cleared, deferred } => {
                    if deferred.is_empty() {
                        if *cleared {
                            *s = AlgorithmSlot::Cleared;
                            drop(guard);
                            drop(a);
                        } else {
                            *s = AlgorithmSlot::Present(a);
                        }
                        return;
                    }
                    std::mem::take(deferred)
                }
                // Not checked out (cannot happen with balanced checkout/checkin): keep what is there.
                _ => return,
            }
        };
        for call in deferred {
            call(&mut a);
        }
    }
}

/// Runs `call` on the algorithm object now if it is available, deferring it if it is checked out.
/// Returns `false` if the algorithms were already cleared (the call never runs).
pub(crate) fn call_or_defer<S, A: 'static>(
    mutex: &DomainCell<S>,
    slot: impl Fn(&mut S) -> &mut AlgorithmSlot<A> + Copy,
    call: impl FnOnce(&mut A) + Send + 'static,
) -> bool {
    let got = {
        let mut guard = mutex.lock();
        let s = slot(&mut guard);
        match s.checkout() {
            Checkout::Got(a) => a,
            Checkout::Busy => {
                let _ = s.defer(Box::new(call));
                return true;
            }
            Checkout::Cleared => return false,
        }
    };
    let mut a = got;
    call(&mut a);
    checkin(mutex, slot, a);
    true
}
