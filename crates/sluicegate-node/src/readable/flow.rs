//! The readable algorithms, in the order and with the names of Node's `readable.js`: `push`
//! (`readableAddChunkPush*`), `addChunk`, `read`, `onEofChunk`, `emitReadable`,
//! `maybeReadMore`, `flow`, `resume`/`pause`, `endReadable`.

use crate::destroy::lf;
use crate::error::{Error, ErrorCode};
use crate::events::{Entry, Listener, Snapshot};
use crate::tick::Entered;

use super::pipe::on_data;
use super::state::{rf, DataFn, Lent};
use super::Readable;

/// Node's `MAX_HWM`: `read(n)` above 1 GiB is an error.
const MAX_HWM: usize = 0x4000_0000;

/// What `read` produced.
pub(crate) enum Got<T> {
    /// Nothing (`null`).
    Nothing,
    /// A chunk, given to the caller (after any borrowing `'data'` listeners saw it).
    Chunk(T),
    /// A chunk taken by a pipe's `'data'` listener.
    Taken,
}

impl<T> Got<T> {
    pub(crate) fn is_some(&self) -> bool {
        !matches!(self, Got::Nothing)
    }
}

enum PushStep<T> {
    AfterEof,
    Refused,
    Empty,
    Add(T),
}

enum ReadStep {
    Null,
    EmitReadable,
    EndReadable,
    Go { n: usize, do_read: bool, hwm: usize },
}

impl<T: Send + 'static> Readable<T> {
    /// `readableAddChunkPush{Byte,Object}Mode`, then `addChunk` and `canPushMore`: one state
    /// borrow when the chunk is buffered, and one before and one after the `'data'` emit when it
    /// goes straight to the listeners.
    pub(crate) fn push_chunk(&self, chunk: T) -> bool {
        enum Push<T: Send + 'static> {
            AfterEof,
            Refused,
            Empty,
            Emit(T, Snapshot<DataFn<T>>, Option<fn(&T) -> T>),
            Done {
                readable: bool,
                read_more: bool,
                more: bool,
            },
        }
        let e = self.0.life.domain().enter();
        let life = self.0.life.flags();
        let step = self.0.state.with_in(&e, |s| {
            if let Some(ops) = &s.ops {
                if (ops.len)(&chunk) == 0 {
                    s.clear(rf::READING);
                    return Push::Empty;
                }
            }
            if s.has(rf::ENDED) {
                return Push::AfterEof;
            }
            if life & (lf::DESTROYED | lf::ERRORED) != 0 {
                return Push::Refused;
            }
            s.clear(rf::READING);
            let chunk = match (&s.ops, s.decoder.as_mut()) {
                (Some(ops), Some(d)) => {
                    let decoded = (ops.decode)(chunk, d);
                    if (ops.len)(&decoded) == 0 {
                        return Push::Empty;
                    }
                    decoded
                }
                _ => chunk,
            };
            // addChunk(stream, state, chunk, false)
            if s.flags & (rf::FLOWING | rf::SYNC | rf::DATA_LISTENING) == (rf::FLOWING | rf::DATA_LISTENING)
                && s.buffer.length == 0
            {
                s.clear_await_drain();
                s.set(rf::DATA_EMITTED);
                // The listeners the emit calls, taken in this same borrow.
                return Push::Emit(chunk, s.listeners.data.lend(), s.clone_fn);
            }
            let len = s.len_of(&chunk);
            s.buffer.length += len;
            s.buffer.chunks.push_back(chunk);
            let mut readable = false;
            if s.has(rf::NEED_READABLE) {
                // emitReadable(stream), inline.
                s.clear(rf::NEED_READABLE);
                if !s.has(rf::EMITTED_READABLE) {
                    s.set(rf::EMITTED_READABLE);
                    readable = true;
                }
            }
            let read_more = s.start_read_more(life);
            Push::Done {
                readable,
                read_more,
                more: s.can_push_more(),
            }
        });
        match step {
            Push::AfterEof => {
                self.0.life.error_or_destroy(
                    Error::new(ErrorCode::PushAfterEof, "stream.push() after EOF"),
                    false,
                );
                false
            }
            Push::Refused => false,
            Push::Empty => {
                self.maybe_read_more();
                self.0.state.with_in(&e, |s| s.can_push_more())
            }
            Push::Emit(c, snap, clone_fn) => {
                let (_, lent) = self.emit_lent(c, snap, clone_fn);
                let life = self.0.life.flags();
                // The lent listener list goes back in the borrow that follows the emit anyway.
                let (read_more, more, rest) = self.0.state.with_in(&e, |s| {
                    let rest = lent.and_then(|l| s.give_back_data(l));
                    (s.start_read_more(life), s.can_push_more(), rest)
                });
                drop(rest);
                if read_more {
                    self.schedule_read_more();
                }
                more
            }
            Push::Done {
                readable,
                read_more,
                more,
            } => {
                if readable {
                    let r = self.tick_handle();
                    self.0
                        .life
                        .domain()
                        .next_tick(Box::new(move || r.emit_readable_()));
                }
                if read_more {
                    self.schedule_read_more();
                }
                more
            }
        }
    }

    /// `readableAddChunkUnshift*`.
    pub(crate) fn unshift_chunk(&self, chunk: T) -> bool {
        let _e = self.0.life.domain().enter();
        let life = self.0.life.flags();
        let step = self.0.state.with(|s| {
            if let Some(ops) = &s.ops {
                if (ops.len)(&chunk) == 0 {
                    return PushStep::Empty;
                }
            }
            if s.has(rf::END_EMITTED) {
                return PushStep::AfterEof;
            }
            if life & (lf::DESTROYED | lf::ERRORED) != 0 {
                return PushStep::Refused;
            }
            PushStep::Add(chunk)
        });
        match step {
            PushStep::AfterEof => {
                self.0.life.error_or_destroy(
                    Error::new(
                        ErrorCode::UnshiftAfterEndEvent,
                        "stream.unshift() after end event",
                    ),
                    false,
                );
            }
            PushStep::Refused => return false,
            PushStep::Empty => {}
            PushStep::Add(c) => self.add_chunk(c, true),
        }
        self.0.state.with(|s| s.can_push_more())
    }

    /// `push(null)`: `state.reading = false; onEofChunk(stream, state)`.
    pub(crate) fn push_eof(&self) {
        let _e = self.0.life.domain().enter();
        enum Eof {
            Already,
            Sync,
            Now,
        }
        let step = self.0.state.with(|s| {
            s.clear(rf::READING);
            if s.has(rf::ENDED) {
                return Eof::Already;
            }
            if let (Some(ops), Some(d)) = (&s.ops, s.decoder.as_mut()) {
                if let Some(rest) = (ops.decode_end)(d) {
                    let n = (ops.len)(&rest);
                    s.buffer.chunks.push_back(rest);
                    s.buffer.length += n;
                }
            }
            s.set(rf::ENDED);
            if s.has(rf::SYNC) {
                Eof::Sync
            } else {
                s.clear(rf::NEED_READABLE);
                s.set(rf::EMITTED_READABLE);
                Eof::Now
            }
        });
        match step {
            Eof::Already => {}
            Eof::Sync => self.emit_readable(),
            Eof::Now => self.emit_readable_(),
        }
    }

    /// `addChunk(stream, state, chunk, addToFront)`.
    fn add_chunk(&self, chunk: T, front: bool) {
        enum Added<T> {
            Emit(T),
            Readable,
            Buffered,
        }
        let added = self.0.state.with(|s| {
            if s.flags & (rf::FLOWING | rf::SYNC | rf::DATA_LISTENING) == (rf::FLOWING | rf::DATA_LISTENING)
                && s.buffer.length == 0
            {
                s.clear_await_drain();
                s.set(rf::DATA_EMITTED);
                return Added::Emit(chunk);
            }
            let len = s.len_of(&chunk);
            s.buffer.length += len;
            if front {
                s.buffer.chunks.push_front(chunk);
            } else {
                s.buffer.chunks.push_back(chunk);
            }
            if s.has(rf::NEED_READABLE) {
                // emitReadable(stream), inline: one state borrow for both.
                s.clear(rf::NEED_READABLE);
                if !s.has(rf::EMITTED_READABLE) {
                    s.set(rf::EMITTED_READABLE);
                    return Added::Readable;
                }
            }
            Added::Buffered
        });
        match added {
            Added::Emit(chunk) => {
                let e = self.0.life.domain().enter();
                let _ = self.emit_data(&e, chunk);
            }
            Added::Readable => {
                let r = self.tick_handle();
                self.0
                    .life
                    .domain()
                    .next_tick(Box::new(move || r.emit_readable_()));
            }
            Added::Buffered => {}
        }
        self.maybe_read_more();
    }

    /// `emitReadable(stream)`.
    pub(crate) fn emit_readable(&self) {
        let schedule = self.0.state.with(|s| {
            s.clear(rf::NEED_READABLE);
            if !s.has(rf::EMITTED_READABLE) {
                s.set(rf::EMITTED_READABLE);
                true
            } else {
                false
            }
        });
        if schedule {
            let r = self.tick_handle();
            self.0
                .life
                .domain()
                .next_tick(Box::new(move || r.emit_readable_()));
        }
    }

    /// `emitReadable_(stream)`.
    pub(crate) fn emit_readable_(&self) {
        let life = self.0.life.flags();
        let emit = self
            .0
            .state
            .with(|s| life & (lf::DESTROYED | lf::ERRORED) == 0 && (s.buffer.length > 0 || s.has(rf::ENDED)));
        if emit {
            let snap = self.0.listeners().with(|l| l.readable.snapshot());
            self.call_guarded(snap, &());
            self.0.state.with(|s| s.clear(rf::EMITTED_READABLE));
        }
        self.0.state.with(|s| {
            if s.flags & (rf::FLOWING | rf::ENDED) == 0 && s.buffer.length <= s.hwm {
                s.set(rf::NEED_READABLE);
            }
        });
        self.flow();
    }

    /// `maybeReadMore(stream, state)`.
    pub(crate) fn maybe_read_more(&self) {
        let life = self.0.life.flags();
        if self.0.state.with(|s| s.start_read_more(life)) {
            self.schedule_read_more();
        }
    }

    /// The tick of `maybeReadMore`, once [`ReadState::start_read_more`](super::state::ReadState::start_read_more) said so.
    fn schedule_read_more(&self) {
        let r = self.tick_handle();
        self.0
            .life
            .domain()
            .next_tick(Box::new(move || r.maybe_read_more_()));
    }

    fn maybe_read_more_(&self) {
        loop {
            let len = self.0.state.with(|s| {
                let go = !s.has(rf::READING | rf::ENDED)
                    && (s.buffer.length < s.hwm || (s.has(rf::FLOWING) && s.buffer.length == 0));
                go.then_some(s.buffer.length)
            });
            let Some(len) = len else { break };
            let _ = self.read_inner(Some(0));
            if self.0.state.with(|s| s.buffer.length) == len {
                break;
            }
        }
        self.0.state.with(|s| s.clear(rf::READING_MORE));
    }

    /// `Readable.prototype.read(n)` for the stream's own steps, which do not use the chunk
    /// (flowing, refills); `None` is `read()` without a size.
    pub(crate) fn read_inner(&self, n: Option<usize>) -> Got<T> {
        self.read_with(n, false)
    }

    /// `Readable.prototype.read(n)`. With `keep` (a caller that uses the chunk: user code's
    /// `read()`, the async iterator), the chunk is returned even when a pipe is listening, as
    /// Node returns it and also emits it: the listeners get a copy if the stream knows how to
    /// make one (`pipe` with `T: Clone`); without one the pipe takes it and nothing is returned.
    pub(crate) fn read_with(&self, n: Option<usize>, keep: bool) -> Got<T> {
        let e = self.0.life.domain().enter();
        let life = self.0.life.flags();
        let step = self.0.state.with_in(&e, |s| -> Result<ReadStep, ()> {
            if let Some(k) = n {
                if k > s.hwm {
                    if k > MAX_HWM {
                        return Err(());
                    }
                    s.hwm = k.next_power_of_two();
                }
            }
            if n != Some(0) {
                s.clear(rf::EMITTED_READABLE);
            }
            let length = s.buffer.length;
            if n == Some(0)
                && s.has(rf::NEED_READABLE)
                && ((if s.hwm != 0 { length >= s.hwm } else { length > 0 }) || s.has(rf::ENDED))
            {
                return Ok(if length == 0 && s.has(rf::ENDED) {
                    ReadStep::EndReadable
                } else {
                    ReadStep::EmitReadable
                });
            }
            let k = s.how_much_to_read(n);
            if k == 0 && s.has(rf::ENDED) {
                return Ok(if length == 0 {
                    ReadStep::EndReadable
                } else {
                    ReadStep::Null
                });
            }
            let mut do_read = s.has(rf::NEED_READABLE);
            if length == 0 || length.saturating_sub(k) < s.hwm {
                do_read = true;
            }
            if s.has(rf::READING | rf::ENDED)
                || life & (lf::DESTROYED | lf::ERRORED) != 0
                || life & lf::CONSTRUCTED == 0
            {
                do_read = false;
            } else if do_read {
                s.set(rf::READING | rf::SYNC);
                if length == 0 {
                    s.set(rf::NEED_READABLE);
                }
            }
            Ok(ReadStep::Go {
                n: k,
                do_read,
                hwm: s.hwm,
            })
        });
        let (mut k, do_read, hwm) = match step {
            Err(()) => {
                self.0.life.error_or_destroy(
                    Error::new(
                        ErrorCode::OutOfRange,
                        format!(
                            "The value of \"size\" is out of range. It must be <= 1GiB. Received {}",
                            n.unwrap_or(0)
                        ),
                    ),
                    false,
                );
                return Got::Nothing;
            }
            Ok(ReadStep::Null) => return Got::Nothing,
            Ok(ReadStep::EmitReadable) => {
                self.emit_readable();
                return Got::Nothing;
            }
            Ok(ReadStep::EndReadable) => {
                self.end_readable();
                return Got::Nothing;
            }
            Ok(ReadStep::Go { n, do_read, hwm }) => (n, do_read, hwm),
        };
        let mut refill = false;
        if do_read {
            match self.0.hook.read(&e, hwm, self) {
                Ok(true) => {}
                Ok(false) => refill = true,
                Err(e) => self.0.life.error_or_destroy(e, false),
            }
        }
        let life = self.0.life.flags();
        let (ret, end) = self.0.state.with_in(&e, |s| {
            if do_read {
                if refill {
                    // `_read` is running further up this thread's stack (it called read()):
                    // never re-enter it; ask again once it has returned.
                    s.clear(rf::READING);
                }
                s.clear(rf::SYNC);
                if !s.has(rf::READING) {
                    k = s.how_much_to_read(n);
                }
            }
            let ret = if k > 0 {
                match &s.ops {
                    // Object mode: the next chunk, without a call.
                    None => s.buffer.chunks.pop_front(),
                    Some(ops) => s.buffer.take_front(k, Some(ops)),
                }
            } else {
                None
            };
            let taken = match &ret {
                None => {
                    if s.buffer.length <= s.hwm {
                        s.set(rf::NEED_READABLE);
                    }
                    0
                }
                Some(c) => {
                    let len = s.len_of(c);
                    s.buffer.length -= len.min(s.buffer.length);
                    s.clear_await_drain();
                    if s.ops.is_none() {
                        1
                    } else {
                        len
                    }
                }
            };
            let mut end = false;
            if s.buffer.length == 0 {
                if !s.has(rf::ENDED) {
                    s.set(rf::NEED_READABLE);
                }
                if n != Some(taken) && s.has(rf::ENDED) {
                    end = true;
                }
            }
            let ret = match ret {
                Some(c) if life & (lf::ERROR_EMITTED | lf::CLOSE_EMITTED) == 0 => {
                    s.set(rf::DATA_EMITTED);
                    // The listeners the emit calls, taken in this same borrow.
                    Some((c, Some((s.listeners.data.lend(), s.clone_fn))))
                }
                Some(c) => Some((c, None)),
                None => None,
            };
            (ret, end)
        });
        if refill {
            self.maybe_read_more();
        }
        if end {
            self.end_readable();
        }
        match ret {
            None => Got::Nothing,
            Some((c, Some((snap, Some(clone))))) if keep && snap.is_some() => {
                let (copy_left, lent) = self.emit_lent(clone(&c), snap, Some(clone));
                if let Some(lent) = lent {
                    self.give_back_data(&e, lent);
                }
                drop(copy_left);
                Got::Chunk(c)
            }
            Some((c, Some((snap, clone_fn)))) => {
                let (rest, lent) = self.emit_lent(c, snap, clone_fn);
                if let Some(lent) = lent {
                    self.give_back_data(&e, lent);
                }
                match rest {
                    Some(c) => Got::Chunk(c),
                    None => Got::Taken,
                }
            }
            Some((c, None)) => Got::Chunk(c),
        }
    }

    /// `stream.emit('data', chunk)`: borrowing listeners see it; a pipe takes it (the last
    /// taker gets the original, earlier ones a copy). Returns the chunk if nobody took it.
    /// `held` is the caller's guard on this stream's loop.
    pub(crate) fn emit_data(&self, held: &Entered<'_>, chunk: T) -> Option<T> {
        let (snap, clone_fn) = self
            .0
            .state
            .with_in(held, |s| (s.listeners.data.lend(), s.clone_fn));
        let (rest, lent) = self.emit_lent(chunk, snap, clone_fn);
        if let Some(lent) = lent {
            self.give_back_data(held, lent);
        }
        rest
    }

    /// The `'data'` emit to `snap`, the listeners lent by `List::lend` in the caller's borrow
    /// of the state (as the emit started); returns the chunk if nobody took it, and the lent
    /// list, for the caller to hand back in its next borrow ([`ReadState::give_back_data`]) so
    /// that the next chunk's emit takes it again without counting a reference.
    ///
    /// [`ReadState::give_back_data`]: super::state::ReadState::give_back_data
    #[inline(always)]
    fn emit_lent(
        &self,
        chunk: T,
        snap: Snapshot<DataFn<T>>,
        clone_fn: Option<fn(&T) -> T>,
    ) -> (Option<T>, Option<Lent<T>>) {
        let Some(snap) = snap else {
            return (Some(chunk), None);
        };
        // The common case, one pipe: hand it the chunk. A pipe's `ondata` is this crate's
        // code, and every user call it leads to (the destination's `_write`, its listeners) is
        // guarded where it is made, so it needs no guard of its own.
        if let [Entry {
            f: DataFn::Pipe(p), ..
        }] = &snap[..]
        {
            on_data(p, chunk);
            return (None, Some(snap));
        }
        match Self::emit_to_all(&snap, clone_fn, chunk) {
            Ok(rest) => (rest, Some(snap)),
            Err(e) => {
                self.0.life.destroy(Some(e), None);
                (None, Some(snap))
            }
        }
    }

    /// Hands a lent `'data'` listener list back in a borrow of its own; one the list does not
    /// take back (it changed meanwhile) is dropped here, outside the borrow.
    #[inline]
    fn give_back_data(&self, held: &Entered<'_>, lent: Lent<T>) {
        let rest = self.0.state.with_in(held, |s| s.give_back_data(lent));
        drop(rest);
    }

    /// The general `'data'` emit: every listener of `snap` in order, borrowing ones with a
    /// reference, pipes with the chunk (a copy, but the original for a pipe that is the last
    /// listener; without a way to copy, borrowers first and then the one pipe). Returns the chunk if nobody took it, or
    /// the panic of a listener.
    fn emit_to_all(
        snap: &[Entry<DataFn<T>>],
        clone_fn: Option<fn(&T) -> T>,
        chunk: T,
    ) -> Result<Option<T>, Error> {
        crate::error::catch(|| {
            let mut chunk = Some(chunk);
            match clone_fn {
                Some(clone) => {
                    // The original goes to a pipe that is the last listener; every other pipe,
                    // and any pipe with a borrowing listener after it, gets a copy.
                    let last_pipe = match snap.last() {
                        Some(Entry {
                            f: DataFn::Pipe(_), ..
                        }) => snap.len() - 1,
                        _ => usize::MAX,
                    };
                    for (i, e) in snap.iter().enumerate() {
                        match &e.f {
                            DataFn::Borrow(f) => {
                                if let Some(c) = &chunk {
                                    f(c)
                                }
                            }
                            DataFn::Pipe(p) => {
                                let c = if i == last_pipe {
                                    chunk.take()
                                } else {
                                    chunk.as_ref().map(clone)
                                };
                                if let Some(c) = c {
                                    on_data(p, c)
                                }
                            }
                        }
                    }
                }
                None => {
                    // No way to copy: borrowers first, then the (single) pipe.
                    for e in snap.iter() {
                        if let (DataFn::Borrow(f), Some(c)) = (&e.f, &chunk) {
                            f(c)
                        }
                    }
                    if let Some(DataFn::Pipe(p)) =
                        snap.iter().map(|e| &e.f).find(|f| matches!(f, DataFn::Pipe(_)))
                    {
                        if let Some(c) = chunk.take() {
                            on_data(p, c)
                        }
                    }
                }
            }
            chunk
        })
    }

    /// Calls listeners; a panic destroys the stream.
    pub(crate) fn call_guarded<A: ?Sized>(&self, snap: Snapshot<Listener<A>>, arg: &A) -> bool {
        self.0.life.call_guarded(snap, arg)
    }

    /// `flow(stream)`.
    pub(crate) fn flow(&self) {
        let e = self.0.life.domain().enter();
        while self.0.state.with_in(&e, |s| s.has(rf::FLOWING)) && self.read_inner(None).is_some() {}
    }

    /// `resume()`.
    pub(crate) fn resume_inner(&self) {
        let _e = self.0.life.domain().enter();
        let schedule = self.0.state.with(|s| {
            let mut schedule = false;
            if !s.has(rf::FLOWING) {
                s.set(rf::HAS_FLOWING);
                if !s.has(rf::READABLE_LISTENING) {
                    s.set(rf::FLOWING);
                } else {
                    s.clear(rf::FLOWING);
                }
                if !s.has(rf::RESUME_SCHEDULED) {
                    s.set(rf::RESUME_SCHEDULED);
                    schedule = true;
                }
            }
            s.set(rf::HAS_PAUSED);
            s.clear(rf::PAUSED);
            schedule
        });
        if schedule {
            let r = self.tick_handle();
            self.0.life.domain().next_tick(Box::new(move || r.resume_()));
        }
    }

    fn resume_(&self) {
        if !self.0.state.with(|s| s.has(rf::READING)) {
            let _ = self.read_inner(Some(0));
        }
        self.0.state.with(|s| s.clear(rf::RESUME_SCHEDULED));
        let snap = self.0.listeners().with(|l| l.resume.snapshot());
        self.call_guarded(snap, &());
        self.flow();
        if self
            .0
            .state
            .with(|s| s.flags & (rf::FLOWING | rf::READING) == rf::FLOWING)
        {
            let _ = self.read_inner(Some(0));
        }
    }

    /// `pause()`.
    pub(crate) fn pause_inner(&self) {
        let _e = self.0.life.domain().enter();
        let emit = self.0.state.with(|s| {
            let emit = s.flags & (rf::HAS_FLOWING | rf::FLOWING) != rf::HAS_FLOWING;
            if emit {
                s.set(rf::HAS_FLOWING);
                s.clear(rf::FLOWING);
            }
            s.set(rf::HAS_PAUSED | rf::PAUSED);
            emit
        });
        if emit {
            let snap = self.0.listeners().with(|l| l.pause.snapshot());
            self.call_guarded(snap, &());
        }
    }

    /// `endReadable(stream)`.
    pub(crate) fn end_readable(&self) {
        let schedule = self.0.state.with(|s| {
            if !s.has(rf::END_EMITTED) {
                s.set(rf::ENDED);
                true
            } else {
                false
            }
        });
        if schedule {
            let r = self.tick_handle();
            self.0
                .life
                .domain()
                .next_tick(Box::new(move || r.end_readable_nt()));
        }
    }

    fn end_readable_nt(&self) {
        let life = self.0.life.flags();
        let emit = self.0.state.with(|s| {
            if life & (lf::ERRORED | lf::CLOSE_EMITTED) == 0
                && !s.has(rf::END_EMITTED)
                && s.buffer.length == 0
            {
                s.set(rf::END_EMITTED);
                true
            } else {
                false
            }
        });
        if !emit {
            return;
        }
        let snap = self.0.listeners().with(|l| l.end.snapshot());
        self.call_guarded(snap, &());
        let life = &self.0.life;
        let write = life.write();
        match write {
            Some(w) if w.is_writable() && !life.has(lf::ALLOW_HALF_OPEN) => {
                life.domain().next_tick(Box::new(move || {
                    if w.is_writable() {
                        w.end();
                    }
                }));
            }
            _ => {
                if life.has(lf::AUTO_DESTROY) {
                    let auto = match life.write() {
                        None => true,
                        Some(w) => w.finished() || w.disabled(),
                    };
                    if auto {
                        life.destroy(None, None);
                    }
                }
            }
        }
    }

    /// `nReadingNextTick`: queued when a `'readable'` listener is added to an empty stream.
    pub(crate) fn n_reading_next_tick(&self) {
        let r = self.tick_handle();
        self.0.life.domain().next_tick(Box::new(move || {
            let _ = r.read_inner(Some(0));
        }));
    }

    /// `updateReadableListening(self)`.
    pub(crate) fn update_readable_listening(&self) {
        // Node's `listenerCount('readable')`, counting those dropped at 'close' that Node keeps.
        let count = self
            .0
            .listeners()
            .with(|l| l.readable.len() + l.readable_closed.len());
        let resume = self.0.state.with(|s| {
            if count > 0 {
                s.set(rf::READABLE_LISTENING);
            } else {
                s.clear(rf::READABLE_LISTENING);
            }
            if s.flags & (rf::HAS_PAUSED | rf::PAUSED | rf::RESUME_SCHEDULED)
                == (rf::HAS_PAUSED | rf::RESUME_SCHEDULED)
            {
                s.set(rf::HAS_FLOWING | rf::FLOWING);
                false
            } else if s.has(rf::DATA_LISTENING) {
                true
            } else {
                if !s.has(rf::READABLE_LISTENING) {
                    s.clear(rf::HAS_FLOWING | rf::FLOWING);
                }
                false
            }
        });
        if resume {
            self.resume_inner();
        }
    }
}
