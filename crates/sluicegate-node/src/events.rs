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

use smallvec::SmallVec;

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

struct Entry<A: ?Sized> {
    id: ListenerId,
    once: bool,
    f: Listener<A>,
}

/// The listeners of one event.
pub(crate) struct Slot<A: ?Sized> {
    entries: Vec<Entry<A>>,
}

impl<A: ?Sized> Default for Slot<A> {
    fn default() -> Self {
        Slot { entries: Vec::new() }
    }
}

/// A snapshot of listeners to call, taken under the state borrow and called after it.
pub(crate) type Snapshot<A> = SmallVec<[Listener<A>; 2]>;

impl<A: ?Sized> Slot<A> {
    pub(crate) fn add(&mut self, f: Listener<A>, once: bool, prepend: bool) -> ListenerId {
        let id = next_id();
        let e = Entry { id, once, f };
        if prepend {
            self.entries.insert(0, e);
        } else {
            self.entries.push(e);
        }
        id
    }

    pub(crate) fn remove(&mut self, id: ListenerId) -> bool {
        match self.entries.iter().position(|e| e.id == id) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// The listeners an emit calls now; `once` listeners are removed first, as Node's are.
    pub(crate) fn snapshot(&mut self) -> Snapshot<A> {
        let snap: Snapshot<A> = self.entries.iter().map(|e| e.f.clone()).collect();
        if self.entries.iter().any(|e| e.once) {
            self.entries.retain(|e| !e.once);
        }
        snap
    }
}

/// Calls a snapshot; returns whether there was any listener.
pub(crate) fn call<A: ?Sized>(snap: Snapshot<A>, arg: &A) -> bool {
    let any = !snap.is_empty();
    for f in snap {
        f(arg);
    }
    any
}
