//! Execution domains: the unit of mutual exclusion for the standard's steps.
//!
//! The standard's algorithms assume that nothing else runs in the middle of a step: between
//! "set backpressure to false" and "return the new change promise", no other step may look at the
//! stream. With handles used from several threads that is not automatic. A [`Domain`] makes it so:
//! every group of connected streams (a transform stream's two sides, a tee's branches, both ends of
//! a pipe and everything piped to them) shares one domain, and a thread runs one of the group's
//! steps only while it holds that domain. Steps of one group therefore never interleave, whichever
//! threads the handles are on.
//!
//! Four rules keep the domain cheap and free of deadlocks:
//!
//! * **Re-entrant on its thread.** A step that calls another step (a close that resolves a
//!   promise whose reaction runs at once, a binding's reaction job) enters the domain it already
//!   holds: a load and a thread-local counter, no atomic read-modify-write.
//! * **Never held across user code.** Every call into a source, sink, transformer, size
//!   function or user future goes through [`outside_domains`], which releases every domain the
//!   thread holds and takes them back afterwards. User code may call back into its stream from the
//!   same thread or any other, and a thread waiting for a domain waits only for the core's own,
//!   short, non-blocking steps.
//! * **One order for waiting.** A thread that must wait for a domain while it already holds
//!   others first releases them, then takes them all back in creation order. Waiting happens only
//!   in that order, so two threads can never each hold what the other waits for.
//! * **Groups merge, never split.** When a pipe connects two groups, [`Domain::merge`] makes one
//!   domain forward to the other; a stream keeps its domain handle and always enters the group's
//!   current root.
//!
//! `src/host/loom_tests.rs` model-checks these rules (nesting, release around user code, contention,
//! crossed waits and merging while others wait) with `loom`.

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, Weak};

use smallvec::SmallVec;

use crate::sync::{thread_local, AtomicPtr, AtomicUsize, Mutex, Ordering, RawLock};

/// A group of connected streams whose steps never run at the same time (see the module docs).
///
/// Streams on a [`Driver`](super::Driver) use the driver's domain; an embedding's host can offer
/// one through [`Host::domain`](super::Host::domain). Streams made on a host without one get a
/// domain of their own. The type has no public operations: it exists so that a host can say which
/// streams belong together.
pub struct Domain {
    /// Held by the thread running one of the group's steps.
    lock: RawLock,
    /// That thread's token ([`token`]), 0 when free.
    owner: AtomicUsize,
    /// The domain this one was merged into, if any (null for a group's root).
    forward: AtomicPtr<Domain>,
    /// Keeps the domain `forward` points to alive as long as this one.
    forward_keep: Mutex<Option<Arc<Domain>>>,
    /// This domain's own `Arc`, for [`Domain::merge`] to hand to the domain it folds in.
    me: Weak<Domain>,
    /// The order in which a thread takes several domains: creation order, so that two threads
    /// always agree on it (addresses would do in one run, but differ between runs of a model).
    order: u64,
    /// The driver the crate made for streams created without a host, whose domain this is:
    /// empty for every other domain. How a pipe finds the two drivers it may merge
    /// ([`Driver::merge`](super::Driver)) from its streams' hosts.
    pub(super) driver: Weak<super::Driver>,
}

/// The next [`Domain::order`]. A plain `std` atomic even under the model checker: it only numbers
/// domains, and the numbering must not become part of the interleavings being explored.
static NEXT_ORDER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A domain this thread holds, and how many nested entries hold it.
#[derive(Clone, Copy)]
struct Held {
    domain: *const Domain,
    depth: usize,
}

thread_local! {
    /// The domains this thread holds. Entries are roots: merging folds a root's entry into the
    /// root it now forwards to.
    static HELD: RefCell<SmallVec<[Held; 4]>> = RefCell::new(SmallVec::new());
}

/// The last [`token`] handed out. A plain `std` atomic even under the model checker: it only
/// names threads.
static LAST_TOKEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(sluicegate_loom)]
thread_local! {
    /// This thread's [`token`].
    static TOKEN: usize = LAST_TOKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
}

#[cfg(not(sluicegate_loom))]
std::thread_local! {
    /// This thread's [`token`], 0 until the thread first asks for it. Initialised as a constant,
    /// so reading it needs no check of a lazy initialiser: every stream step reads it
    /// (`DomainCell::lock`).
    static TOKEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// This thread's identity for [`Domain::owner`], never 0 and never reused by another thread.
///
/// `enter`'s fast path reads `owner` with `Relaxed` ordering: it may see a stale value, but only
/// this thread ever stores its own token, and a thread always sees its own latest store (it
/// cleared `owner` itself when it let the domain go), so a stale value is never mistaken for this
/// thread's hold. An address (of a thread-local, say) would break that: a thread that has ended
/// can leave its address to a new one, and loom found exactly that interleaving.
#[inline]
fn token() -> usize {
    #[cfg(sluicegate_loom)]
    {
        TOKEN.with(|t| *t)
    }
    #[cfg(not(sluicegate_loom))]
    {
        let t = TOKEN.get();
        if t != 0 {
            return t;
        }
        let t = LAST_TOKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        TOKEN.set(t);
        t
    }
}

impl Domain {
    /// A new domain, for a new group of streams.
    pub fn new() -> Arc<Domain> {
        Self::for_driver(Weak::new())
    }

    /// A new domain for the streams of `driver` (see [`Domain::driver`]).
    pub(super) fn for_driver(driver: Weak<super::Driver>) -> Arc<Domain> {
        Arc::new_cyclic(|me| Domain {
            driver,
            lock: RawLock::new(),
            owner: AtomicUsize::new(0),
            forward: AtomicPtr::new(std::ptr::null_mut()),
            forward_keep: Mutex::new(None),
            me: me.clone(),
            order: NEXT_ORDER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// The group's current root: this domain, or the one it was merged into, transitively.
    #[inline]
    fn root(&self) -> &Domain {
        let mut domain = self;
        loop {
            let next = domain.forward.load(Ordering::Acquire);
            if next.is_null() {
                return domain;
            }
            // SAFETY: `forward` is written once, by `merge`, with the address of the domain whose
            // `Arc` it stored in `forward_keep` just before (the store is `Release`, this load
            // `Acquire`). `forward_keep` is never cleared, so the target lives as long as
            // `domain` does, and by induction as long as `self`, which the returned borrow is tied
            // to. Exercised by the merge tests below and in `src/host/loom_tests.rs`.
            domain = unsafe { &*next };
        }
    }

    /// Lets go of the domain, which this thread holds (owner, then lock: the next holder sets
    /// `owner` only once it has the lock).
    fn let_go(&self) {
        self.owner.store(0, Ordering::Relaxed);
        self.lock.unlock();
    }

    fn is_forwarded(&self) -> bool {
        !self.forward.load(Ordering::Acquire).is_null()
    }

    /// Whether this thread holds the group's domain.
    #[inline]
    pub(crate) fn is_held_here(&self) -> bool {
        self.root().owner.load(Ordering::Relaxed) == token()
    }

    /// Enters the domain: at once if this thread holds it already, otherwise once no other thread
    /// does (see the module docs for the order in which a thread holding other domains waits).
    pub(crate) fn enter(&self) -> Entered<'_> {
        let me = token();
        let root = self.root();
        if root.owner.load(Ordering::Relaxed) == me {
            bump(root, 1);
            return Entered(self);
        }
        if root.lock.try_lock() {
            if !root.is_forwarded() {
                root.owner.store(me, Ordering::Relaxed);
                push(root, 1);
                return Entered(self);
            }
            // Merged away between the look at `forward` and the lock: start again at the root.
            root.lock.unlock();
        }
        // Contended (or merged meanwhile): release whatever this thread holds, then take it all
        // back together with this domain, in creation order.
        let mut wanted = release_all();
        wanted.push(Held {
            domain: self,
            depth: 0,
        });
        lock_all(wanted);
        bump(self.root(), 1);
        Entered(self)
    }

    /// Makes `a` and `b` one group: afterwards entering either enters the same domain. Work
    /// either group had under way is unaffected: a thread that held one of them, or was waiting
    /// for it, ends up holding or waiting for the merged root.
    pub(crate) fn merge(a: &Domain, b: &Domain) {
        if std::ptr::eq(a.root(), b.root()) {
            return;
        }
        let _a = a.enter();
        let _b = b.enter();
        let (ra, rb) = (a.root(), b.root());
        if std::ptr::eq(ra, rb) {
            return;
        }
        // Fold `rb` into `ra`: publish the forward (keeping `ra` alive first), move this thread's
        // entries on `rb` to `ra`, and let `rb` go so that threads waiting on it find the forward.
        *rb.forward_keep.lock() = Some(ra.me.upgrade().expect("a domain being entered is alive"));
        rb.forward
            .store(ra as *const Domain as *mut Domain, Ordering::Release);
        let depth = HELD.with(|held| {
            let mut held = held.borrow_mut();
            let i = held
                .iter()
                .position(|h| std::ptr::eq(h.domain, rb))
                .expect("merge entered both domains");
            held.remove(i).depth
        });
        bump(ra, depth);
        rb.let_go();
    }
}

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Domain")
            .field("merged", &self.is_forwarded())
            .finish_non_exhaustive()
    }
}

/// Adds `n` nested entries to this thread's hold on `root` (which it holds).
fn bump(root: &Domain, n: usize) {
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        match held.iter_mut().rev().find(|h| std::ptr::eq(h.domain, root)) {
            Some(h) => h.depth += n,
            None => held.push(Held {
                domain: root,
                depth: n,
            }),
        }
    });
}

/// Records a new hold on `root`.
fn push(root: &Domain, depth: usize) {
    HELD.with(|held| held.borrow_mut().push(Held { domain: root, depth }));
}

/// Domains with the depths of this thread's holds on them, as [`release_all`] lets them go and
/// [`lock_all`] takes them back. Inline: a thread rarely holds more than one or two, and this is
/// made around every call into user code, so it must not allocate. The same type as [`HELD`]'s,
/// so letting go is a move of the list.
type Holds = SmallVec<[Held; 4]>;

/// Releases every domain this thread holds and returns them with their depths, for
/// [`lock_all`] to take back.
fn release_all() -> Holds {
    super::cell::debug_assert_no_borrow_alive();
    let taken: Holds = HELD.with(|held| std::mem::take(&mut *held.borrow_mut()));
    for h in &taken {
        // SAFETY: an entry in `HELD` is a domain this thread holds through an `Entered` guard
        // still on its stack (or an outer `outside_domains` frame that will take it back); the
        // guard borrows a domain whose forward chain keeps this one alive.
        unsafe { &*h.domain }.let_go();
    }
    taken
}

/// Takes every domain in `wanted` (by its current root), waiting for each in creation order, and
/// records the holds with their depths (a depth of 0 records nothing).
fn lock_all(wanted: Holds) {
    if let [held] = wanted[..] {
        // The common case, one domain: no folding and no ordering to do.
        lock_one(held);
        return;
    }
    let me = token();
    loop {
        // Resolve to roots and fold duplicates.
        let mut roots: SmallVec<[(*const Domain, usize); 4]> = SmallVec::new();
        for &Held { domain, depth } in &wanted {
            // SAFETY: as in `release_all`: each domain is borrowed by a guard or an
            // `outside_domains` frame on this thread's stack, so it is alive.
            let root = unsafe { &*domain }.root() as *const Domain;
            match roots.iter_mut().find(|(r, _)| *r == root) {
                Some((_, d)) => *d += depth,
                None => roots.push((root, depth)),
            }
        }
        // SAFETY: as above.
        roots.sort_by_key(|&(r, _)| unsafe { &*r }.order);
        let mut locked = 0;
        let mut merged_meanwhile = false;
        for &(root, _) in &roots {
            // SAFETY: resolved from live domains just above (a root is kept alive by the domains
            // that forward to it).
            let root = unsafe { &*root };
            root.lock.lock();
            locked += 1;
            if root.is_forwarded() {
                merged_meanwhile = true;
                break;
            }
        }
        if merged_meanwhile {
            for &(root, _) in &roots[..locked] {
                // SAFETY: as above; this thread locked it in the loop just before.
                unsafe { &*root }.lock.unlock();
            }
            continue;
        }
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            for &(root, depth) in &roots {
                // SAFETY: as above.
                unsafe { &*root }.owner.store(me, Ordering::Relaxed);
                // A depth of 0 is the domain `enter` wants, which it bumps next.
                held.push(Held { domain: root, depth });
            }
        });
        return;
    }
}

/// [`lock_all`] of one domain: takes `held`'s domain (by its current root) and records the hold
/// with its depth.
fn lock_one(Held { domain, depth }: Held) {
    let me = token();
    loop {
        // SAFETY: as in `release_all`: the domain is borrowed by a guard or an `outside_domains`
        // frame on this thread's stack, so it is alive; its root is kept alive by the domains
        // that forward to it.
        let root = unsafe { &*domain }.root();
        root.lock.lock();
        if root.is_forwarded() {
            // Merged away while this thread waited: start again at the new root.
            root.lock.unlock();
            continue;
        }
        root.owner.store(me, Ordering::Relaxed);
        push(root, depth);
        return;
    }
}

/// What this thread holds, as [`outside_domains`] sees it.
enum Holding {
    Nothing,
    /// One domain (the usual case: a step of one group calling user code), taken off the list.
    One(Held),
    /// More than one.
    Several,
}

/// Runs `f` (user code) with every domain this thread holds released, taking them back
/// afterwards, even if `f` panics.
pub(crate) fn outside_domains<R>(f: impl FnOnce() -> R) -> R {
    let holding = HELD.with(|held| {
        let mut held = held.borrow_mut();
        match held.len() {
            0 => Holding::Nothing,
            1 => Holding::One(held.pop().expect("one hold")),
            _ => Holding::Several,
        }
    });
    match holding {
        Holding::Nothing => f(),
        Holding::One(one) => {
            // `release_all` and `lock_all` for one domain, without moving the list around.
            super::cell::debug_assert_no_borrow_alive();
            // SAFETY: as in `release_all`: the hold just taken off `HELD` is this thread's,
            // through a guard still on its stack.
            unsafe { &*one.domain }.let_go();
            struct RestoreOne(Option<Held>);
            impl Drop for RestoreOne {
                fn drop(&mut self) {
                    if let Some(one) = self.0.take() {
                        lock_one(one);
                    }
                }
            }
            let _restore = RestoreOne(Some(one));
            f()
        }
        Holding::Several => {
            struct Restore(Option<Holds>);
            impl Drop for Restore {
                fn drop(&mut self) {
                    if let Some(wanted) = self.0.take() {
                        lock_all(wanted);
                    }
                }
            }
            let _restore = Restore(Some(release_all()));
            f()
        }
    }
}

/// One nested entry into a domain; leaving the last one releases it.
#[must_use = "the domain is held only while this lives"]
pub(crate) struct Entered<'a>(&'a Domain);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let root = self.0.root();
        let release = HELD.with(|held| {
            let mut held = held.borrow_mut();
            let Some(i) = held.iter().rposition(|h| std::ptr::eq(h.domain, root)) else {
                debug_assert!(false, "leaving a domain this thread does not hold");
                return false;
            };
            held[i].depth -= 1;
            if held[i].depth == 0 {
                held.remove(i);
                true
            } else {
                false
            }
        });
        if release {
            #[cfg(debug_assertions)]
            if HELD.with(|held| held.borrow().is_empty()) {
                super::cell::debug_assert_no_borrow_alive();
            }
            root.let_go();
        }
    }
}

#[cfg(all(test, not(sluicegate_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn entering_nests_on_one_thread_and_the_last_exit_releases() {
        let d = Domain::new();
        assert!(!d.is_held_here());
        let outer = d.enter();
        let inner = d.enter();
        assert!(d.is_held_here());
        drop(inner);
        assert!(d.is_held_here());
        drop(outer);
        assert!(!d.is_held_here());
        // Another thread can take it now.
        let d2 = d.clone();
        std::thread::spawn(move || {
            let _g = d2.enter();
            assert!(d2.is_held_here());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn another_thread_waits_until_the_domain_is_released() {
        let d = Domain::new();
        let inside = Arc::new(AtomicBool::new(false));
        let g = d.enter();
        let (d2, i2) = (d.clone(), inside.clone());
        let t = std::thread::spawn(move || {
            let _g = d2.enter();
            i2.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!inside.load(std::sync::atomic::Ordering::SeqCst));
        drop(g);
        t.join().unwrap();
        assert!(inside.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn outside_domains_releases_every_hold_and_takes_it_back() {
        let (a, b) = (Domain::new(), Domain::new());
        let _ga = a.enter();
        let _ga2 = a.enter();
        let _gb = b.enter();
        let (a2, b2) = (a.clone(), b.clone());
        outside_domains(|| {
            assert!(!a.is_held_here() && !b.is_held_here());
            // Another thread can run steps of both groups meanwhile.
            std::thread::spawn(move || {
                let _x = a2.enter();
                let _y = b2.enter();
            })
            .join()
            .unwrap();
        });
        assert!(a.is_held_here() && b.is_held_here());
        drop(_gb);
        drop(_ga2);
        assert!(a.is_held_here());
    }

    #[test]
    fn outside_domains_takes_the_domains_back_after_a_panic() {
        let d = Domain::new();
        let _g = d.enter();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            outside_domains(|| panic!("user code"));
        }));
        assert!(caught.is_err());
        assert!(d.is_held_here());
    }

    #[test]
    fn merged_domains_are_one_and_holds_carry_over() {
        let (a, b) = (Domain::new(), Domain::new());
        let gb = b.enter();
        Domain::merge(&a, &b);
        // The hold on `b` is a hold on the merged root, which `a` reaches too.
        assert!(a.is_held_here() && b.is_held_here());
        drop(gb);
        assert!(!a.is_held_here() && !b.is_held_here());
        let _ga = a.enter();
        let b2 = b.clone();
        let blocked = std::thread::spawn(move || b2.root() as *const Domain as usize)
            .join()
            .unwrap();
        assert_eq!(blocked, a.root() as *const Domain as usize);
        // Merging again (either way round) changes nothing.
        Domain::merge(&b, &a);
        assert!(std::ptr::eq(a.root(), b.root()));
    }

    #[test]
    fn a_thread_waiting_on_a_domain_that_is_merged_away_ends_up_in_the_root() {
        let (a, b) = (Domain::new(), Domain::new());
        let gb = b.enter();
        let b2 = b.clone();
        let a_root = Arc::as_ptr(&a) as usize;
        let waiter = std::thread::spawn(move || {
            let _g = b2.enter();
            assert_eq!(b2.root() as *const Domain as usize, a_root);
            assert!(b2.is_held_here());
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        Domain::merge(&a, &b);
        drop(gb);
        waiter.join().unwrap();
    }

    #[test]
    fn crossed_waits_do_not_deadlock() {
        // Each thread holds one domain and enters the other, many times over.
        let (a, b) = (Domain::new(), Domain::new());
        let threads: Vec<_> = [(a.clone(), b.clone()), (b.clone(), a.clone())]
            .into_iter()
            .map(|(first, second)| {
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        let _f = first.enter();
                        let _s = second.enter();
                        assert!(first.is_held_here() && second.is_held_here());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
