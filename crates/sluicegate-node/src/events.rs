//! Typed events: Node's `on`/`once`/`off`/`prependListener`/`listenerCount`, with one marker type
//! per event name instead of a string.
//!
//! ```
//! use sluicegate_node::{ev, EventLoop, Readable};
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//!
//! let lp = EventLoop::new();
//! let _g = lp.enter();
//! let r = Readable::<&str>::from_iter(["a", "b"]);
//! let n = Arc::new(AtomicUsize::new(0));
//! let n2 = n.clone();
//! let id = r.on(ev::Data, move |_chunk: &&str| { n2.fetch_add(1, Ordering::SeqCst); });
//! let other = r.on(ev::Data, |_chunk: &&str| {});
//! assert_eq!(r.listener_count(ev::Data), 2);
//! assert!(r.off(other));
//! lp.run_until_idle();
//! assert_eq!(n.load(Ordering::SeqCst), 2);
//! // After 'close' every listener is gone.
//! assert_eq!(r.listener_count(ev::Data), 0);
//! assert!(!r.off(id));
//! ```
//!
//! Listeners are `Fn + Send + Sync`: they run on whichever thread runs the stream's loop, and may
//! be re-entered (a `'data'` listener that calls `read()` can be called again from inside). A
//! listener may add or remove listeners, including itself; as in Node, an emit calls the
//! listeners registered when it started. A panic inside a listener destroys the stream with an
//! [`ErrorCode::Panic`](crate::ErrorCode::Panic) error.
//!
//! After `'close'` is emitted a stream drops all its listeners: nothing is emitted after
//! `'close'`, and the closures (which often hold handles to other streams) must not keep each
//! other alive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Identifies a registered listener, for [`off`](crate::Readable::off).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenerId(pub(crate) u64);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_id() -> ListenerId {
    ListenerId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// The event markers. `Close` and `Error` are shared by both sides of a duplex.
pub mod ev {
    /// `'data'`: a chunk, `&T`.
    #[derive(Clone, Copy, Debug)]
    pub struct Data;
    /// `'end'`: the readable side delivered everything.
    #[derive(Clone, Copy, Debug)]
    pub struct End;
    /// `'readable'`: data (or the end) can be read with `read()`.
    #[derive(Clone, Copy, Debug)]
    pub struct Readable;
    /// `'pause'`.
    #[derive(Clone, Copy, Debug)]
    pub struct Pause;
    /// `'resume'`.
    #[derive(Clone, Copy, Debug)]
    pub struct Resume;
    /// `'close'`: the stream and its resources are closed; nothing is emitted after it.
    #[derive(Clone, Copy, Debug)]
    pub struct Close;
    /// `'error'`: at most once per stream, `&Error`.
    #[derive(Clone, Copy, Debug)]
    pub struct Error;
    /// `'drain'`: a writable whose `write()` returned `false` can take more.
    #[derive(Clone, Copy, Debug)]
    pub struct Drain;
    /// `'finish'`: every write is done after `end()`.
    #[derive(Clone, Copy, Debug)]
    pub struct Finish;
    /// `'prefinish'`: before `'finish'`, once `_final` is done.
    #[derive(Clone, Copy, Debug)]
    pub struct Prefinish;
    /// `'pipe'`: a readable started piping into this writable, `&StreamId` of the source.
    #[derive(Clone, Copy, Debug)]
    pub struct Pipe;
    /// `'unpipe'`: a readable stopped piping into this writable, `&StreamId` of the source.
    #[derive(Clone, Copy, Debug)]
    pub struct Unpipe;
}

/// A stream's identity, as passed with `'pipe'` and `'unpipe'`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamId(pub(crate) u64);

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

impl StreamId {
    pub(crate) fn fresh() -> Self {
        StreamId(NEXT_STREAM.fetch_add(1, Ordering::Relaxed))
    }
}

pub(crate) type Listener<A> = Arc<dyn Fn(&A) + Send + Sync + 'static>;

/// One registered listener.
pub(crate) struct Entry<F> {
    pub id: ListenerId,
    pub once: bool,
    pub f: F,
}

impl<F: Clone> Clone for Entry<F> {
    fn clone(&self) -> Self {
        Entry {
            id: self.id,
            once: self.once,
            f: self.f.clone(),
        }
    }
}

/// A copy-on-write list of listeners: an emit takes the list as it is (one reference count, no
/// copy), and a change made while an emit runs copies it, so the emit still calls exactly the
/// listeners registered when it started, as Node's `emit` does.
///
/// The per-chunk `'data'` emit [lends](List::lend) a spare reference instead of counting a new
/// one: see [`List::spare`].
pub(crate) struct List<F> {
    entries: Option<Arc<Vec<Entry<F>>>>,
    /// How many entries are `once` (an emit removes them).
    once: usize,
    /// A second reference to `entries`, kept between emits so that an emit can move it out and
    /// back ([`List::lend`], [`List::give_back`]) instead of incrementing and decrementing the
    /// shared count (two atomic read-modify-writes) per chunk. Only ever `Some` while it points
    /// at `entries` itself: every change drops it first, so the list is uniquely owned again and
    /// is changed in place, and a listener removed between emits is dropped at once, as without
    /// it.
    spare: Option<Arc<Vec<Entry<F>>>>,
}

impl<F> Default for List<F> {
    fn default() -> Self {
        List {
            entries: None,
            once: 0,
            spare: None,
        }
    }
}

/// The listeners an emit calls, as they were when it started.
pub(crate) type Snapshot<F> = Option<Arc<Vec<Entry<F>>>>;

impl<F: Clone> List<F> {
    fn vec(&mut self) -> &mut Vec<Entry<F>> {
        // The spare is a reference like any other: drop it so that `make_mut` finds the list
        // unique (unless an emit is running with it) and changes it in place.
        self.spare = None;
        Arc::make_mut(self.entries.get_or_insert_with(Default::default))
    }

    pub(crate) fn add(&mut self, f: F, once: bool, prepend: bool) -> ListenerId {
        let id = next_id();
        let e = Entry { id, once, f };
        self.once += usize::from(once);
        let v = self.vec();
        if prepend {
            v.insert(0, e);
        } else {
            v.push(e);
        }
        id
    }

    pub(crate) fn remove(&mut self, id: ListenerId) -> bool {
        let Some(i) = self
            .entries
            .as_ref()
            .and_then(|v| v.iter().position(|e| e.id == id))
        else {
            return false;
        };
        let v = self.vec();
        let e = v.remove(i);
        let empty = v.is_empty();
        self.once -= usize::from(e.once);
        if empty {
            self.entries = None;
        }
        true
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |v| v.len())
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_none()
    }

    pub(crate) fn clear(&mut self) {
        self.entries = None;
        self.spare = None;
        self.once = 0;
    }

    /// The ids of the listeners, in order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = ListenerId> + '_ {
        self.entries.iter().flat_map(|v| v.iter().map(|e| e.id))
    }

    /// The listeners an emit calls now; `once` listeners are removed first, as Node's are.
    #[inline]
    pub(crate) fn snapshot(&mut self) -> Snapshot<F> {
        let snap = self.entries.clone();
        if self.once > 0 {
            self.vec().retain(|e| !e.once);
            self.once = 0;
            if self.entries.as_ref().is_some_and(|v| v.is_empty()) {
                self.entries = None;
            }
        }
        snap
    }

    /// [`List::snapshot`] for an emit that hands the snapshot back with [`List::give_back`] when
    /// done: the same listeners, but taken by moving the spare reference out when there is one
    /// (no reference count), so a steady stream of emits to an unchanged list counts nothing.
    #[inline(always)]
    pub(crate) fn lend(&mut self) -> Snapshot<F> {
        match self.spare.take() {
            // `once` is 0 with a spare: adding a `once` listener drops it.
            Some(spare) => Some(spare),
            None => self.lend_slow(),
        }
    }

    /// [`List::lend`] without a spare: no listeners, `once` listeners, or the first emit since
    /// the last change.
    #[inline(never)]
    fn lend_slow(&mut self) -> Snapshot<F> {
        if self.once > 0 {
            return self.snapshot();
        }
        self.entries.clone()
    }

    /// Takes back a snapshot from [`List::lend`] as the spare if the list is still that very
    /// list and has no spare; otherwise returns it, for the caller to drop outside its borrow
    /// (dropping the last reference drops listeners, which may run user code).
    ///
    /// Pointer equality is identity here: the snapshot keeps its allocation alive, so no other
    /// list can live at that address meanwhile.
    #[inline]
    pub(crate) fn give_back(&mut self, snap: Arc<Vec<Entry<F>>>) -> Option<Arc<Vec<Entry<F>>>> {
        if self.spare.is_none() && self.entries.as_ref().is_some_and(|e| Arc::ptr_eq(e, &snap)) {
            self.spare = Some(snap);
            None
        } else {
            Some(snap)
        }
    }
}

/// The listeners of one event.
pub(crate) type Slot<A> = List<Listener<A>>;

/// Calls a snapshot; returns whether there was any listener.
#[inline]
pub(crate) fn call<A: ?Sized>(snap: Snapshot<Listener<A>>, arg: &A) -> bool {
    let Some(list) = snap else {
        return false;
    };
    for e in list.iter() {
        (e.f)(arg);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A listener whose drop is counted.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counted(drops: &Arc<AtomicUsize>) -> Listener<()> {
        let c = Counted(drops.clone());
        Arc::new(move |_: &()| {
            let _ = &c;
        })
    }

    #[test]
    fn a_lent_list_given_back_is_lent_again_without_a_new_reference() {
        let mut l: Slot<()> = List::default();
        l.add(Arc::new(|_: &()| {}), false, false);
        let first = l.lend().unwrap();
        // The first lend counts a reference (there is no spare yet)...
        assert_eq!(Arc::strong_count(&first), 2);
        assert!(l.give_back(first).is_none(), "taken back as the spare");
        // ...later ones move the spare out and back: the count stays at two.
        for _ in 0..3 {
            let again = l.lend().unwrap();
            assert_eq!(Arc::strong_count(&again), 2);
            assert!(l.give_back(again).is_none());
        }
        assert!(l.spare.is_some());
    }

    #[test]
    fn a_change_drops_the_spare_and_changes_the_list_in_place() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut l: Slot<()> = List::default();
        let id = l.add(counted(&drops), false, false);
        let snap = l.lend().unwrap();
        assert!(l.give_back(snap).is_none());
        assert!(l.spare.is_some());
        // Removing the listener between emits drops it at once, as without the spare.
        assert!(l.remove(id));
        assert!(l.spare.is_none());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(l.len(), 0);
        assert!(l.lend().is_none());
        // Adding one drops the spare before changing the list: unique, changed in place.
        l.add(Arc::new(|_: &()| {}), false, false);
        let snap = l.lend().unwrap();
        assert!(l.give_back(snap).is_none());
        let before = Arc::as_ptr(l.entries.as_ref().unwrap());
        l.add(Arc::new(|_: &()| {}), false, false);
        assert!(l.spare.is_none());
        assert_eq!(Arc::as_ptr(l.entries.as_ref().unwrap()), before);
        l.clear();
        assert!(l.spare.is_none() && l.entries.is_none());
    }

    #[test]
    fn a_change_during_an_emit_leaves_the_emit_its_list_and_refuses_it_back() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut l: Slot<()> = List::default();
        let id = l.add(counted(&drops), false, false);
        let warm = l.lend().unwrap();
        assert!(l.give_back(warm).is_none());
        let lent = l.lend().unwrap();
        // The listener removes itself during the emit: the emit still holds it.
        assert!(l.remove(id));
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        assert_eq!(lent.len(), 1);
        // The list is another one now: the lent one comes back to be dropped by the caller.
        let refused = l.give_back(lent).expect("a changed list refuses the old one");
        assert!(l.spare.is_none());
        drop(refused);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_nested_emit_counts_a_reference_and_one_of_the_two_is_kept() {
        let mut l: Slot<()> = List::default();
        l.add(Arc::new(|_: &()| {}), false, false);
        let warm = l.lend().unwrap();
        assert!(l.give_back(warm).is_none());
        let outer = l.lend().unwrap();
        // The spare is out: an emit from inside the first one counts a new reference.
        let inner = l.lend().unwrap();
        assert_eq!(Arc::strong_count(&outer), 3);
        assert!(l.give_back(inner).is_none(), "the inner one becomes the spare");
        let extra = l.give_back(outer).expect("there is a spare already");
        drop(extra);
        assert_eq!(Arc::strong_count(l.entries.as_ref().unwrap()), 2);
    }

    #[test]
    fn once_listeners_are_lent_as_a_snapshot_and_removed() {
        let mut l: Slot<()> = List::default();
        l.add(Arc::new(|_: &()| {}), false, false);
        l.add(Arc::new(|_: &()| {}), true, false);
        let snap = l.lend().unwrap();
        assert_eq!(snap.len(), 2, "this emit calls the once listener");
        assert_eq!(l.len(), 1, "and removes it");
        assert!(l.give_back(snap).is_some(), "the list changed: not taken back");
        let next = l.lend().unwrap();
        assert_eq!(next.len(), 1);
        assert!(l.give_back(next).is_none());
    }
}
