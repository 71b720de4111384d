//! Holding user algorithms (a source, sink or transformer) so that they are never called with
//! their stream's state borrowed.
//!
//! A stream's state lives in a [`DomainCell`], user code runs with the domain released, and it
//! may call back into the same stream, so the core must never keep the state borrowed while user
//! code runs. An [`AlgorithmSlot`] lets the core check the algorithm object *out* of the state,
//! call it with the borrow ended, and check it back in. A call that arrives while the object is
//! checked out (user code re-entering the stream, for example `cancel()` from inside `pull()`) is
//! deferred and runs with the object as soon as the outer call returns it. `clear()` is the
//! standard's ClearAlgorithms: it drops the object, now or at check-in.

use crate::host::DomainCell;

/// A deferred call on a checked-out algorithm object.
pub(crate) type Deferred<A> = Box<dyn FnOnce(&mut A) + Send>;

/// A user algorithm object and whether it is checked out: present (`algorithm` is `Some`),
/// checked out (`in_use`), or cleared (neither).
pub(crate) struct AlgorithmSlot<A> {
    algorithm: Option<A>,
    /// Checked out: a call is running with the object outside the state.
    in_use: bool,
    /// Cleared while checked out: the object is dropped when it comes back.
    cleared: bool,
    /// Calls that arrived while the object was checked out, for when it comes back.
    deferred: Vec<Deferred<A>>,
}

/// What [`AlgorithmSlot::checkout`] found.
pub(crate) enum Checkout<A> {
    Got(A),
    Busy,
    Cleared,
}

impl<A> AlgorithmSlot<A> {
    pub(crate) fn new(a: A) -> Self {
        AlgorithmSlot {
            algorithm: Some(a),
            in_use: false,
            cleared: false,
            deferred: Vec::new(),
        }
    }

    /// A slot whose algorithms are cleared already.
    pub(crate) fn cleared() -> Self {
        AlgorithmSlot {
            algorithm: None,
            in_use: false,
            cleared: true,
            deferred: Vec::new(),
        }
    }

    pub(crate) fn checkout(&mut self) -> Checkout<A> {
        if self.in_use {
            return Checkout::Busy;
        }
        match self.algorithm.take() {
            Some(a) => {
                self.in_use = true;
                Checkout::Got(a)
            }
            None => Checkout::Cleared,
        }
    }

    /// ClearAlgorithms: returns the object so the caller can drop it outside the lock.
    pub(crate) fn clear(&mut self) -> Option<A> {
        self.cleared = true;
        self.algorithm.take()
    }

    /// Queues `call` for when the checked-out object comes back; returns it if the slot is not
    /// checked out.
    pub(crate) fn defer(&mut self, call: Deferred<A>) -> Result<(), Deferred<A>> {
        if self.in_use {
            self.deferred.push(call);
            Ok(())
        } else {
            Err(call)
        }
    }
}

/// Checks `a` back into the slot found by `slot` in the state in `cell`, first running any
/// calls deferred while it was out (with the state not borrowed).
pub(crate) fn checkin<S, A>(cell: &DomainCell<S>, slot: impl Fn(&mut S) -> &mut AlgorithmSlot<A>, mut a: A) {
    loop {
        let deferred = {
            let mut guard = cell.lock();
            let s = slot(&mut guard);
            if !s.in_use {
                // Not checked out (cannot happen with balanced checkout/checkin): keep what is
                // there.
                return;
            }
            if s.deferred.is_empty() {
                s.in_use = false;
                if s.cleared {
                    drop(guard);
                    drop(a);
                } else {
                    s.algorithm = Some(a);
                }
                return;
            }
            std::mem::take(&mut s.deferred)
        };
        for call in deferred {
            call(&mut a);
        }
    }
}

/// Runs `call` on the algorithm object now if it is available, deferring it if it is checked out.
/// Returns `false` if the algorithms were already cleared (the call never runs).
pub(crate) fn call_or_defer<S, A: 'static>(
    cell: &DomainCell<S>,
    slot: impl Fn(&mut S) -> &mut AlgorithmSlot<A> + Copy,
    call: impl FnOnce(&mut A) + Send + 'static,
) -> bool {
    let got = {
        let mut guard = cell.lock();
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
    checkin(cell, slot, a);
    true
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::host::Domain;

    /// A slot holding `a` in a cell of a new domain.
    fn slot_in_cell(a: u32) -> (Arc<Domain>, DomainCell<AlgorithmSlot<u32>>) {
        let domain = Domain::new();
        (domain.clone(), DomainCell::new(domain, AlgorithmSlot::new(a)))
    }

    fn this(s: &mut AlgorithmSlot<u32>) -> &mut AlgorithmSlot<u32> {
        s
    }

    #[test]
    fn calls_arriving_while_the_object_is_out_run_at_check_in_in_order() {
        let (domain, cell) = slot_in_cell(1);
        let _entered = domain.enter();
        let Checkout::Got(mut a) = cell.lock().checkout() else {
            panic!("a new slot has its object");
        };
        assert!(matches!(cell.lock().checkout(), Checkout::Busy));
        let log = Arc::new(Mutex::new(Vec::new()));
        for n in [10, 20] {
            let log = log.clone();
            assert!(cell
                .lock()
                .defer(Box::new(move |a: &mut u32| {
                    *a += n;
                    log.lock().unwrap().push(*a);
                }))
                .is_ok());
        }
        a += 100;
        checkin(&cell, this, a);
        assert_eq!(*log.lock().unwrap(), [111, 131]);
        let Checkout::Got(a) = cell.lock().checkout() else {
            panic!("checked back in");
        };
        assert_eq!(a, 131);
        checkin(&cell, this, a);
        assert!(
            cell.lock().defer(Box::new(|_| {})).is_err(),
            "not out: nothing to defer to"
        );
    }

    #[test]
    fn clearing_drops_the_object_now_or_when_it_comes_back() {
        let (domain, cell) = slot_in_cell(1);
        let _entered = domain.enter();
        assert_eq!(cell.lock().clear(), Some(1));
        assert!(matches!(cell.lock().checkout(), Checkout::Cleared));
        assert!(matches!(
            AlgorithmSlot::<u32>::cleared().checkout(),
            Checkout::Cleared
        ));

        let (domain, cell) = slot_in_cell(2);
        let _entered = domain.enter();
        let Checkout::Got(a) = cell.lock().checkout() else {
            panic!("a new slot has its object");
        };
        assert_eq!(cell.lock().clear(), None, "out: cleared when it comes back");
        let ran = Arc::new(Mutex::new(false));
        let r = ran.clone();
        assert!(cell
            .lock()
            .defer(Box::new(move |_| *r.lock().unwrap() = true))
            .is_ok());
        checkin(&cell, this, a);
        assert!(*ran.lock().unwrap(), "calls deferred before the clear still run");
        assert!(matches!(cell.lock().checkout(), Checkout::Cleared));
        assert!(!call_or_defer(&cell, this, |_| panic!("cleared: never called")));
    }
}
