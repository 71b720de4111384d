//! The readable side's state (Node's `ReadableState`) and listeners.

use std::sync::Arc;

use smallvec::SmallVec;

use super::buffer::{Buffer, ByteOps, Decoder};
use super::pipe::Pipe;
use crate::events::StreamId;
use crate::events::{Entry, List, Listener, ListenerId, Slot};
use crate::writable::Writable;

/// `ReadableState` bits (the ones Node keeps per side that are not lifecycle bits).
pub(crate) mod rf {
    pub const OBJECT_MODE: u32 = 1;
    pub const ENDED: u32 = 1 << 1;
    pub const END_EMITTED: u32 = 1 << 2;
    pub const READING: u32 = 1 << 3;
    pub const SYNC: u32 = 1 << 4;
    pub const NEED_READABLE: u32 = 1 << 5;
    pub const EMITTED_READABLE: u32 = 1 << 6;
    pub const READABLE_LISTENING: u32 = 1 << 7;
    pub const RESUME_SCHEDULED: u32 = 1 << 8;
    pub const MULTI_AWAIT_DRAIN: u32 = 1 << 9;
    pub const READING_MORE: u32 = 1 << 10;
    pub const DATA_EMITTED: u32 = 1 << 11;
    pub const HAS_FLOWING: u32 = 1 << 12;
    pub const FLOWING: u32 = 1 << 13;
    pub const HAS_PAUSED: u32 = 1 << 14;
    pub const PAUSED: u32 = 1 << 15;
    pub const DATA_LISTENING: u32 = 1 << 16;
    /// `readable: false` on a duplex: the side exists but is ended from the start.
    pub const DISABLED: u32 = 1 << 17;
}

pub(crate) struct ReadState<T: Send + 'static> {
    pub flags: u32,
    pub buffer: Buffer<T>,
    pub hwm: usize,
    pub ops: Option<ByteOps<T>>,
    pub decoder: Option<Decoder>,
    /// Where `pipe()` sends the data, in order.
    pub pipes: Vec<Writable<T>>,
    /// `awaitDrainWriters`: the destinations a paused pipe waits on.
    pub await_drain: SmallVec<[StreamId; 2]>,
    /// How to copy a chunk when more than one consumer needs it (set by `pipe` for `T: Clone`).
    pub clone_fn: Option<fn(&T) -> T>,
    /// Node's `unpipeInfo.hasUnpiped` for the `'unpipe'` being emitted.
    pub unpipe_handled: bool,
    pub listeners: ReadListeners<T>,
}

impl<T: Send + 'static> ReadState<T> {
    #[inline]
    pub(crate) fn has(&self, bits: u32) -> bool {
        self.flags & bits != 0
    }

    #[inline]
    pub(crate) fn set(&mut self, bits: u32) {
        self.flags |= bits;
    }

    #[inline]
    pub(crate) fn clear(&mut self, bits: u32) {
        self.flags &= !bits;
    }

    #[inline]
    pub(crate) fn len_of(&self, chunk: &T) -> usize {
        match &self.ops {
            Some(ops) => (ops.len)(chunk),
            None => 1,
        }
    }

    /// `canPushMore`.
    #[inline]
    pub(crate) fn can_push_more(&self) -> bool {
        !self.has(rf::ENDED) && (self.buffer.length < self.hwm || self.buffer.length == 0)
    }

    /// `maybeReadMore`'s check: whether to schedule `maybeReadMore_` (and mark it scheduled).
    #[inline]
    pub(crate) fn start_read_more(&mut self, life: u32) -> bool {
        if !self.has(rf::READING_MORE) && life & crate::destroy::lf::CONSTRUCTED != 0 {
            self.set(rf::READING_MORE);
            true
        } else {
            false
        }
    }

    /// `howMuchToRead(n, state)`; `None` is Node's `NaN` (`read()` without a size).
    pub(crate) fn how_much_to_read(&self, n: Option<usize>) -> usize {
        let length = self.buffer.length;
        if n == Some(0) || (length == 0 && self.has(rf::ENDED)) {
            return 0;
        }
        if self.has(rf::OBJECT_MODE) {
            return 1;
        }
        match n {
            None => {
                if self.has(rf::FLOWING) && length > 0 {
                    self.buffer.chunks.front().map_or(0, |c| self.len_of(c))
                } else {
                    length
                }
            }
            Some(n) if n <= length => n,
            Some(_) => {
                if self.has(rf::ENDED) {
                    length
                } else {
                    0
                }
            }
        }
    }

    /// Hands a `'data'` listener list lent by `List::lend` back to the list; returns it if the
    /// list does not take it back (it changed meanwhile), to be dropped outside the borrow.
    #[inline]
    pub(crate) fn give_back_data(&mut self, lent: Lent<T>) -> Option<Lent<T>> {
        self.listeners.data.give_back(lent)
    }

    /// Clears `awaitDrainWriters` (a test first: it is almost always empty on the per-chunk
    /// paths, and `SmallVec::clear` is a truncation loop behind a spill check).
    #[inline]
    pub(crate) fn clear_await_drain(&mut self) {
        if !self.await_drain.is_empty() {
            self.await_drain.clear();
        }
    }
}

/// The `'data'` listeners an emit was lent (`List::lend`), to hand back when it is done.
pub(crate) type Lent<T> = Arc<Vec<Entry<DataFn<T>>>>;

/// A `'data'` listener: borrowing (user code) or taking the chunk (a pipe's `ondata`, called
/// statically: it is this crate's code).
pub(crate) enum DataFn<T: Send + 'static> {
    Borrow(Listener<T>),
    Pipe(Arc<Pipe<T>>),
}

impl<T: Send + 'static> Clone for DataFn<T> {
    fn clone(&self) -> Self {
        match self {
            DataFn::Borrow(f) => DataFn::Borrow(f.clone()),
            DataFn::Pipe(p) => DataFn::Pipe(p.clone()),
        }
    }
}

pub(crate) struct ReadListeners<T: Send + 'static> {
    pub data: List<DataFn<T>>,
    /// The `'data'` listeners dropped at `'close'` ([`clear`](Self::clear)), by id. Node keeps
    /// them, and counts them: a pipe cleaned up after its source closed (its destination closing
    /// later) resumes the source if the source still has `'data'` listeners, and only its own
    /// is gone then. So `off` still finds these, and `DATA_LISTENING` stays true until the last
    /// one goes, as Node's `listenerCount('data')` would.
    pub data_closed: SmallVec<[ListenerId; 2]>,
    /// The same for `'readable'` listeners: removing one after `'close'` still updates
    /// `readableListening` on a tick, as Node's `removeListener('readable')` does.
    pub readable_closed: SmallVec<[ListenerId; 2]>,
    pub end: Slot<()>,
    pub readable: Slot<()>,
    pub pause: Slot<()>,
    pub resume: Slot<()>,
}

impl<T: Send + 'static> Default for ReadListeners<T> {
    fn default() -> Self {
        ReadListeners {
            data: List::default(),
            data_closed: SmallVec::new(),
            readable_closed: SmallVec::new(),
            end: Slot::default(),
            readable: Slot::default(),
            pause: Slot::default(),
            resume: Slot::default(),
        }
    }
}

impl<T: Send + 'static> ReadListeners<T> {
    pub(crate) fn clear(&mut self) {
        self.data_closed.extend(self.data.ids());
        self.readable_closed.extend(self.readable.ids());
        self.data.clear();
        self.end.clear();
        self.readable.clear();
        self.pause.clear();
        self.resume.clear();
    }
}
