//! The writable side's state (Node's `WritableState`) and listeners.

use std::collections::VecDeque;

use crate::error::Error;
use crate::events::{Slot, StreamId};

/// `WritableState` bits that are not lifecycle bits.
pub(crate) mod wf {
    pub const OBJECT_MODE: u32 = 1;
    pub const SYNC: u32 = 1 << 1;
    pub const FINAL_CALLED: u32 = 1 << 2;
    pub const NEED_DRAIN: u32 = 1 << 3;
    pub const ENDING: u32 = 1 << 4;
    pub const FINISHED: u32 = 1 << 5;
    pub const WRITING: u32 = 1 << 6;
    pub const BUFFER_PROCESSING: u32 = 1 << 7;
    pub const PREFINISHED: u32 = 1 << 8;
    pub const CORKED: u32 = 1 << 9;
    pub const EXPECT_WRITE_CB: u32 = 1 << 10;
    pub const AFTER_WRITE_PENDING: u32 = 1 << 11;
    pub const ENDED: u32 = 1 << 12;
    /// The implementor has no `_writev` (learned on first use).
    pub const NO_WRITEV: u32 = 1 << 13;
    /// `writable: false` on a duplex.
    pub const DISABLED: u32 = 1 << 14;
}

/// A per-write callback (Node's `write(chunk, cb)`).
pub(crate) type WriteCb = Box<dyn FnOnce(Result<(), Error>) + Send + 'static>;

pub(crate) struct Pending<T> {
    pub chunk: T,
    pub cb: Option<WriteCb>,
}

pub(crate) struct WriteState<T> {
    pub flags: u32,
    pub length: usize,
    pub hwm: usize,
    pub corked: u32,
    pub writelen: usize,
    pub writecb: Option<WriteCb>,
    /// The callbacks of a `_writev` batch, called together when it completes.
    pub writev_cbs: Vec<WriteCb>,
    pub buffered: VecDeque<Pending<T>>,
    pub pendingcb: usize,
    pub on_finished: Vec<WriteCb>,
    pub measure: Option<fn(&T) -> usize>,
}

impl<T> WriteState<T> {
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
        match self.measure {
            Some(m) => m(chunk),
            None => 1,
        }
    }
}

#[derive(Default)]
pub(crate) struct WriteListeners {
    pub drain: Slot<()>,
    pub finish: Slot<()>,
    pub prefinish: Slot<()>,
    pub pipe: Slot<StreamId>,
    pub unpipe: Slot<StreamId>,
}

impl WriteListeners {
    pub(crate) fn clear(&mut self) {
        self.drain.clear();
        self.finish.clear();
        self.prefinish.clear();
        self.pipe.clear();
        self.unpipe.clear();
    }
}
