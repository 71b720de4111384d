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
pub(crate) struct List<F> {
    entries: Option<Arc<Vec<Entry<F>>>>,
    /// How many entries are `once` (an emit removes them).
    once: usize,
}

impl<F> Default for List<F> {
    fn default() -> Self {
        List {
            entries: None,
            once: 0,
        }
    }
}

/// The listeners an emit calls, as they were when it started.
pub(crate) type Snapshot<F> = Option<Arc<Vec<Entry<F>>>>;

impl<F: Clone> List<F> {
    fn vec(&mut self) -> &mut Vec<Entry<F>> {
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
        self.once = 0;
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
