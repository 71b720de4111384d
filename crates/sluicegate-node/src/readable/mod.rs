//! [`Readable`]: Node's readable stream.
//!
//! A readable has a buffer, filled by its implementor's `_read` through [`Readable::push`] up to
//! the high-water mark (16 chunks in object mode, 64 KiB in byte mode), and consumed either in
//! *flowing* mode (`'data'` events, [`pipe`](Readable::pipe), async iteration) or in *paused* mode
//! ([`read`](Readable::read) after `'readable'`). [`readable_flowing`](Readable::readable_flowing)
//! has Node's three states: `None` (nobody consumes yet), `Some(true)`, `Some(false)`.

mod buffer;
mod flow;
mod from;
mod iter;
mod pipe;
mod state;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use sluicegate::AbortSignal;

pub use buffer::{ByteChunk, Decoder, Encoding};
pub(crate) use flow::Got;
pub use iter::{Chunks, IterOptions, NextChunk};
pub use pipe::{AsWritable, PipeOptions};
pub(crate) use state::{rf, DataFn};

use buffer::{Buffer, ByteOps};
use state::{ReadListeners, ReadState};

use crate::destroy::{lf, Life, LifeOptions, ReadSide};
use crate::error::Error;
use crate::events::{ev, Listener, ListenerId, StreamId};
use crate::implementor::{DuplexImpl, ImplCell, ReadHook, ReadImpl, ReadOnly};
use crate::tick::{Domain, EventLoop, Shared};

/// Node's default high-water mark in object mode.
pub const DEFAULT_OBJECT_HWM: usize = 16;
/// The default high-water mark in byte mode (64 KiB).
pub const DEFAULT_BYTES_HWM: usize = 64 * 1024;

/// Options of a [`Readable`] (Node's `new Readable(options)`).
pub struct ReadableOptions<T> {
    pub(crate) high_water_mark: Option<usize>,
    pub(crate) ops: Option<ByteOps<T>>,
    pub(crate) encoding: Option<Encoding>,
    pub(crate) emit_close: bool,
    pub(crate) auto_destroy: bool,
    pub(crate) signal: Option<AbortSignal>,
    pub(crate) event_loop: Option<EventLoop>,
}

impl<T> Clone for ReadableOptions<T> {
    fn clone(&self) -> Self {
        ReadableOptions {
            high_water_mark: self.high_water_mark,
            ops: self.ops,
            encoding: self.encoding,
            emit_close: self.emit_close,
            auto_destroy: self.auto_destroy,
            signal: self.signal.clone(),
            event_loop: self.event_loop.clone(),
        }
    }
}

impl<T> Default for ReadableOptions<T> {
    fn default() -> Self {
        Self::objects()
    }
}

impl<T> ReadableOptions<T> {
    /// Object mode (`objectMode: true`): every chunk counts 1, high-water mark 16.
    pub fn objects() -> Self {
        ReadableOptions {
            high_water_mark: None,
            ops: None,
            encoding: None,
            emit_close: true,
            auto_destroy: true,
            signal: None,
            event_loop: None,
        }
    }

    /// `highWaterMark`.
    pub fn high_water_mark(mut self, hwm: usize) -> Self {
        self.high_water_mark = Some(hwm);
        self
    }

    /// `emitClose` (default true).
    pub fn emit_close(mut self, on: bool) -> Self {
        self.emit_close = on;
        self
    }

    /// `autoDestroy` (default true).
    pub fn auto_destroy(mut self, on: bool) -> Self {
        self.auto_destroy = on;
        self
    }

    /// `signal`: destroy the stream with an `AbortError` when it aborts.
    pub fn signal(mut self, signal: AbortSignal) -> Self {
        self.signal = Some(signal);
        self
    }

    /// The event loop the stream joins (default: the entered one, or its own).
    pub fn event_loop(mut self, lp: &EventLoop) -> Self {
        self.event_loop = Some(lp.clone());
        self
    }

    pub(crate) fn resolved_hwm(&self) -> usize {
        self.high_water_mark.unwrap_or(if self.ops.is_some() {
            DEFAULT_BYTES_HWM
        } else {
            DEFAULT_OBJECT_HWM
        })
    }

    pub(crate) fn domain(&self) -> Arc<Domain> {
        match &self.event_loop {
            Some(lp) => lp.domain().clone(),
            None => Domain::for_new_stream(),
        }
    }
}

impl<T: ByteChunk> ReadableOptions<T> {
    /// Byte mode: lengths in bytes, `read(n)` returns exactly `n` bytes when buffered,
    /// high-water mark 64 KiB.
    pub fn bytes() -> Self {
        ReadableOptions {
            ops: Some(ByteOps::of()),
            ..Self::objects()
        }
    }

    /// `encoding`: decode the bytes as text (byte mode only), as `set_encoding` does.
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = Some(encoding);
        if self.ops.is_some() {
            self.ops = Some(ByteOps::text());
        }
        self
    }
}

pub(crate) struct ReadCore<T: Send + 'static> {
    pub(crate) life: Arc<Life>,
    /// The side's state and its listeners, under one borrow.
    pub(crate) state: Shared<ReadState<T>>,
    pub(crate) hook: Arc<dyn ReadHook<T>>,
}

/// A Node readable stream of `T`. Cheap to clone (a handle); `Send + Sync` when `T: Send`.
///
/// A handle counts as a handle on the stream's event loop (see `tick::Hold`): the loop keeps
/// what it has queued while any handle lives, and drops it with the last. The crate's own
/// ticks hold their stream through an uncounted handle (`Readable::tick_handle`), the second
/// field being whether this one counts.
pub struct Readable<T: Send + 'static>(pub(crate) Arc<ReadCore<T>>, bool);

impl<T: Send + 'static> Clone for Readable<T> {
    fn clone(&self) -> Self {
        Readable::counted(self.0.clone())
    }
}

impl<T: Send + 'static> Drop for Readable<T> {
    fn drop(&mut self) {
        if self.1 {
            self.0.life.domain().release();
        }
    }
}

impl<T: Send + 'static> Readable<T> {
    /// A handle that counts on the stream's loop: what the crate gives out.
    pub(crate) fn counted(core: Arc<ReadCore<T>>) -> Self {
        core.life.domain().hold();
        Readable(core, true)
    }

    /// A handle that does not count on the loop, for a tick queued on the stream's own loop or
    /// a call made on the loop: it must not be given out or kept beyond that (a clone of it
    /// counts again).
    pub(crate) fn internal(core: Arc<ReadCore<T>>) -> Self {
        Readable(core, false)
    }

    /// An uncounted handle on this stream for a tick queued on its own loop
    /// ([`Readable::internal`]).
    #[inline]
    pub(crate) fn tick_handle(&self) -> Self {
        Readable(self.0.clone(), false)
    }
}

impl<T: Send + 'static> fmt::Debug for Readable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readable")
            .field("id", &self.0.life.id)
            .field("length", &self.readable_length())
            .field("flowing", &self.readable_flowing())
            .field("destroyed", &self.destroyed())
            .finish()
    }
}

impl<T: Send + 'static> ReadCore<T> {
    pub(crate) fn new(
        life: &Arc<Life>,
        hook: Arc<dyn ReadHook<T>>,
        opts: &ReadableOptions<T>,
        disabled: bool,
    ) -> Arc<Self> {
        let domain = life.domain();
        let mut flags = rf::SYNC;
        if opts.ops.is_none() {
            flags |= rf::OBJECT_MODE;
        }
        if disabled {
            flags |= rf::DISABLED | rf::ENDED | rf::END_EMITTED;
        }
        let core = Arc::new(ReadCore {
            life: life.clone(),
            state: Shared::new(
                domain,
                ReadState {
                    flags,
                    buffer: Buffer::new(),
                    hwm: opts.resolved_hwm(),
                    ops: opts.ops,
                    decoder: opts.encoding.map(Decoder::new),
                    pipes: Vec::new(),
                    await_drain: Default::default(),
                    clone_fn: None,
                    unpipe_handled: false,
                    listeners: ReadListeners::default(),
                },
            ),
            hook,
        });
        let weak: std::sync::Weak<dyn ReadSide> = Arc::downgrade(&core) as _;
        life.set_read(weak);
        core
    }
}

/// The listeners inside a side's state, borrowed like the rest of it.
pub(crate) struct ListenersOf<'a, S>(pub(crate) &'a S);

impl<T: Send + 'static> ListenersOf<'_, Shared<ReadState<T>>> {
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut ReadListeners<T>) -> R) -> R {
        self.0.with(|s| f(&mut s.listeners))
    }
}

impl<T: Send + 'static> ReadCore<T> {
    /// The side's listeners.
    #[inline]
    pub(crate) fn listeners(&self) -> ListenersOf<'_, Shared<ReadState<T>>> {
        ListenersOf(&self.state)
    }
}

impl<T: Send + 'static> ReadSide for ReadCore<T> {
    fn end_emitted(&self) -> bool {
        self.state.with(|s| s.has(rf::END_EMITTED))
    }
    fn disabled(&self) -> bool {
        self.state.with(|s| s.has(rf::DISABLED))
    }
    fn is_readable(&self) -> bool {
        let life = self.life.flags();
        self.state.with(|s| !s.has(rf::DISABLED | rf::END_EMITTED))
            && life & (lf::DESTROYED | lf::ERROR_EMITTED) == 0
    }
    fn on_constructed(self: Arc<Self>) {
        if self.state.with(|s| s.has(rf::NEED_READABLE)) {
            Readable::internal(self).maybe_read_more();
        }
    }
    fn clear_listeners(&self) {
        self.listeners().with(|l| l.clear());
    }
    fn ended(&self) -> bool {
        self.state.with(|s| s.has(rf::ENDED))
    }
    fn length(&self) -> usize {
        self.state.with(|s| s.buffer.length)
    }
    fn on_end(&self, f: Listener<()>) -> ListenerId {
        self.listeners().with(|l| l.end.add(f, false, false))
    }
    fn off(&self, id: ListenerId) -> bool {
        self.listeners().with(|l| l.end.remove(id))
    }
}

impl<T: Send + 'static> Readable<T> {
    /// A readable in object mode over `imp` (Node's `new Readable({ objectMode: true, read })`).
    pub fn new(imp: impl ReadImpl<T>) -> Self {
        Self::with_options(imp, ReadableOptions::objects())
    }

    /// A readable over `imp` with `options`.
    pub fn with_options(imp: impl ReadImpl<T>, options: ReadableOptions<T>) -> Self {
        Self::build(ReadOnly(imp), options)
    }

    pub(crate) fn build<X: DuplexImpl<(), T>>(imp: X, opts: ReadableOptions<T>) -> Self {
        let domain = opts.domain();
        let life = Life::new(
            &domain,
            LifeOptions {
                auto_destroy: opts.auto_destroy,
                emit_close: opts.emit_close,
                allow_half_open: true,
            },
        );
        let (cell, construct) = ImplCell::new(&domain, imp);
        life.set_impl(cell.clone());
        let core = ReadCore::new(&life, cell, &opts, false);
        life.construct(construct);
        let r = Readable::counted(core);
        if let Some(signal) = opts.signal {
            crate::abort::add_abort_signal_to(&signal, life.clone());
        }
        r
    }

    /// A readable whose `_read` is `f` (Node's `new Readable({ objectMode: true, read })`).
    pub fn from_fn(f: impl FnMut(usize, &Readable<T>) + Send + 'static) -> Self {
        Self::from_fn_with(f, ReadableOptions::objects())
    }

    /// [`from_fn`](Readable::from_fn) with options.
    pub fn from_fn_with(
        f: impl FnMut(usize, &Readable<T>) + Send + 'static,
        options: ReadableOptions<T>,
    ) -> Self {
        struct Fun<F>(F);
        impl<T: Send + 'static, F: FnMut(usize, &Readable<T>) + Send + 'static> ReadImpl<T> for Fun<F> {
            fn read(&mut self, size: usize, stream: &Readable<T>) {
                (self.0)(size, stream)
            }
        }
        Self::with_options(Fun(f), options)
    }

    /// `push(chunk)`: adds a chunk to the buffer (or hands it straight to `'data'` listeners in
    /// flowing mode). Returns `false` once the buffer reaches the high-water mark: stop pushing
    /// until the next `_read`. A push after [`push_end`](Readable::push_end) errors the stream
    /// with `ERR_STREAM_PUSH_AFTER_EOF`; on a destroyed stream it is refused (`false`).
    pub fn push(&self, chunk: T) -> bool {
        self.push_chunk(chunk)
    }

    /// `push(null)`: the end of the data. `'end'` follows once the buffer is consumed.
    pub fn push_end(&self) {
        self.push_eof()
    }

    /// `unshift(chunk)`: puts a chunk back at the front of the buffer.
    pub fn unshift(&self, chunk: T) -> bool {
        self.unshift_chunk(chunk)
    }

    /// `read()`: the next chunk from the buffer (in byte mode, everything buffered; in flowing
    /// mode one chunk), or `None`. Like Node, it also emits `'data'` with the chunk, and returns
    /// it even when a pipe is listening: the pipe gets a copy (`pipe` needs `T: Clone`). Only a
    /// stream piped without a way to copy its chunks ([`pipeline`](crate::pipeline()) of chunks
    /// that are not `Clone`) lets the pipe take the chunk, and then returns `None`.
    pub fn read(&self) -> Option<T> {
        match self.read_with(None, true) {
            Got::Chunk(c) => Some(c),
            _ => None,
        }
    }

    /// `read(n)`: in byte mode exactly `n` bytes if buffered (or the rest at the end), else
    /// `None`; in object mode the next chunk. `read_size(0)` only triggers a refill. `n` above
    /// 1 GiB errors the stream with `ERR_OUT_OF_RANGE`.
    pub fn read_size(&self, n: usize) -> Option<T> {
        match self.read_with(Some(n), true) {
            Got::Chunk(c) => Some(c),
            _ => None,
        }
    }

    /// `pause()`: leave flowing mode.
    pub fn pause(&self) -> &Self {
        self.pause_inner();
        self
    }

    /// `resume()`: enter flowing mode (on the next tick).
    pub fn resume(&self) -> &Self {
        self.resume_inner();
        self
    }

    /// `isPaused()`.
    pub fn is_paused(&self) -> bool {
        self.0
            .state
            .with(|s| s.has(rf::PAUSED) || s.flags & (rf::HAS_FLOWING | rf::FLOWING) == rf::HAS_FLOWING)
    }

    /// `readableFlowing`: `None` until something consumes, then `Some(true)` or `Some(false)`.
    pub fn readable_flowing(&self) -> Option<bool> {
        self.0
            .state
            .with(|s| s.has(rf::HAS_FLOWING).then(|| s.has(rf::FLOWING)))
    }

    /// `destroy(err)`: tear the stream down; `'error'` (if `err`) then `'close'` follow.
    pub fn destroy(&self, err: Option<Error>) -> &Self {
        self.0.life.destroy(err, None);
        self
    }

    /// `destroy(err, cb)`: `cb` runs once `_destroy` completes, with its error (before
    /// `'error'` and `'close'`, which follow as usual); on a stream already destroyed it runs at
    /// once with no error.
    pub fn destroy_with(&self, err: Option<Error>, cb: impl FnOnce(Option<Error>) + Send + 'static) -> &Self {
        self.0.life.destroy(err, Some(Box::new(cb)));
        self
    }

    /// `destroyed`.
    pub fn destroyed(&self) -> bool {
        self.0.life.destroyed()
    }

    /// `readable`: false once ended, errored or destroyed.
    pub fn readable(&self) -> bool {
        self.0.is_readable()
    }

    /// `readableEnded`: `'end'` was emitted.
    pub fn readable_ended(&self) -> bool {
        self.0.end_emitted()
    }

    /// `readableLength`: buffered items (object mode), bytes, or with an encoding the length of
    /// the buffered text as Node measures strings (UTF-16 code units).
    pub fn readable_length(&self) -> usize {
        self.0.state.with(|s| s.buffer.length)
    }

    /// `readableHighWaterMark`.
    pub fn readable_high_water_mark(&self) -> usize {
        self.0.state.with(|s| s.hwm)
    }

    /// `readableObjectMode`.
    pub fn readable_object_mode(&self) -> bool {
        self.0.state.with(|s| s.has(rf::OBJECT_MODE))
    }

    /// `readableAborted`: destroyed or errored before `'end'`.
    pub fn readable_aborted(&self) -> bool {
        let life = self.0.life.flags();
        self.0.state.with(|s| !s.has(rf::DISABLED | rf::END_EMITTED))
            && life & (lf::DESTROYED | lf::ERRORED) != 0
    }

    /// `readableDidRead`: a `'data'` was emitted.
    pub fn readable_did_read(&self) -> bool {
        self.0.state.with(|s| s.has(rf::DATA_EMITTED))
    }

    /// `readableEncoding`.
    pub fn readable_encoding(&self) -> Option<Encoding> {
        self.0.state.with(|s| s.decoder.as_ref().map(Decoder::encoding))
    }

    /// `errored`: the stored error.
    pub fn errored(&self) -> Option<Error> {
        self.0.life.errored()
    }

    /// `closed`: `_destroy` completed.
    pub fn closed(&self) -> bool {
        self.0.life.has(lf::CLOSED)
    }

    /// This stream's identity (what `'pipe'`/`'unpipe'` carry).
    pub fn id(&self) -> StreamId {
        self.0.life.id
    }

    /// The event loop this stream belongs to.
    pub fn event_loop(&self) -> EventLoop {
        EventLoop::from_domain(self.0.life.domain())
    }

    /// A snapshot of the internal state, for tests and debugging (Node's `_readableState`).
    pub fn state(&self) -> ReadableState {
        let life = self.0.life.flags();
        self.0.state.with(|s| ReadableState {
            length: s.buffer.length,
            buffered_chunks: s.buffer.chunks.len(),
            high_water_mark: s.hwm,
            ended: s.has(rf::ENDED),
            end_emitted: s.has(rf::END_EMITTED),
            reading: s.has(rf::READING),
            sync: s.has(rf::SYNC),
            need_readable: s.has(rf::NEED_READABLE),
            emitted_readable: s.has(rf::EMITTED_READABLE),
            readable_listening: s.has(rf::READABLE_LISTENING),
            resume_scheduled: s.has(rf::RESUME_SCHEDULED),
            reading_more: s.has(rf::READING_MORE),
            data_emitted: s.has(rf::DATA_EMITTED),
            flowing: s.has(rf::HAS_FLOWING).then(|| s.has(rf::FLOWING)),
            paused: s.has(rf::PAUSED),
            pipes: s.pipes.len(),
            await_drain_writers: s.await_drain.len(),
            multi_await_drain: s.has(rf::MULTI_AWAIT_DRAIN),
            constructed: life & lf::CONSTRUCTED != 0,
            destroyed: life & lf::DESTROYED != 0,
            error_emitted: life & lf::ERROR_EMITTED != 0,
            close_emitted: life & lf::CLOSE_EMITTED != 0,
        })
    }

    /// `on(event, listener)`.
    pub fn on<E: ReadableEvent<T>>(
        &self,
        event: E,
        f: impl Fn(&E::Arg) + Send + Sync + 'static,
    ) -> ListenerId {
        let _ = event;
        E::add(self, Arc::new(f), false, false)
    }

    /// `once(event, listener)`: removed before its first call.
    pub fn once<E: ReadableEvent<T>>(
        &self,
        event: E,
        f: impl Fn(&E::Arg) + Send + Sync + 'static,
    ) -> ListenerId {
        let _ = event;
        E::add(self, Arc::new(f), true, false)
    }

    /// `prependListener(event, listener)`.
    pub fn prepend_listener<E: ReadableEvent<T>>(
        &self,
        event: E,
        f: impl Fn(&E::Arg) + Send + Sync + 'static,
    ) -> ListenerId {
        let _ = event;
        E::add(self, Arc::new(f), false, true)
    }

    /// `listenerCount(event)`.
    pub fn listener_count<E: ReadableEvent<T>>(&self, event: E) -> usize {
        let _ = event;
        E::count(self)
    }

    /// `removeAllListeners(event)`.
    pub fn remove_all_listeners<E: ReadableEvent<T>>(&self, event: E) {
        let _ = event;
        E::remove_all(self)
    }

    /// `removeListener`/`off`: returns whether the listener was registered.
    pub fn off(&self, id: ListenerId) -> bool {
        let _e = self.0.life.domain().enter();
        enum Which {
            Data,
            ClosedData,
            ClosedReadable,
            Readable,
            Other,
            None,
        }
        let which = self.0.listeners().with(|l| {
            if l.data.remove(id) {
                return Which::Data;
            }
            if let Some(i) = l.data_closed.iter().position(|d| *d == id) {
                // Dropped at 'close' already (so not registered any more, as `listener_count`
                // says), but Node would have had it until now.
                l.data_closed.remove(i);
                return Which::ClosedData;
            }
            if l.readable.remove(id) {
                return Which::Readable;
            }
            if let Some(i) = l.readable_closed.iter().position(|d| *d == id) {
                // As for 'data' above.
                l.readable_closed.remove(i);
                return Which::ClosedReadable;
            }
            if l.end.remove(id) || l.pause.remove(id) || l.resume.remove(id) {
                return Which::Other;
            }
            Which::None
        });
        match which {
            Which::Data | Which::ClosedData => {
                if self
                    .0
                    .listeners()
                    .with(|l| l.data.is_empty() && l.data_closed.is_empty())
                {
                    self.0.state.with(|s| s.clear(rf::DATA_LISTENING));
                }
                matches!(which, Which::Data)
            }
            Which::Readable | Which::ClosedReadable => {
                let r = self.tick_handle();
                self.0
                    .life
                    .domain()
                    .next_tick(Box::new(move || r.update_readable_listening()));
                matches!(which, Which::Readable)
            }
            Which::Other => true,
            Which::None => self
                .0
                .life
                .listeners
                .with(|l| l.close.remove(id) || l.error.remove(id)),
        }
    }

    /// Node's `Readable.prototype.on` side effects for `'data'`.
    pub(crate) fn on_data_added(&self) {
        let readable_count = self.0.listeners().with(|l| l.readable.len());
        let resume = self.0.state.with(|s| {
            s.set(rf::DATA_LISTENING);
            if readable_count > 0 {
                s.set(rf::READABLE_LISTENING);
            }
            s.flags & (rf::HAS_FLOWING | rf::FLOWING) != rf::HAS_FLOWING
        });
        if resume {
            self.resume_inner();
        }
    }

    /// Node's `Readable.prototype.on` side effects for `'readable'`.
    fn on_readable_added(&self) {
        enum Next {
            Nothing,
            Emit,
            ReadZero,
        }
        let next = self.0.state.with(|s| {
            if s.flags & (rf::END_EMITTED | rf::READABLE_LISTENING) != 0 {
                return Next::Nothing;
            }
            s.set(rf::READABLE_LISTENING | rf::NEED_READABLE | rf::HAS_FLOWING);
            s.clear(rf::FLOWING | rf::EMITTED_READABLE);
            if s.buffer.length > 0 {
                Next::Emit
            } else if !s.has(rf::READING) {
                Next::ReadZero
            } else {
                Next::Nothing
            }
        });
        match next {
            Next::Nothing => {}
            Next::Emit => self.emit_readable(),
            Next::ReadZero => self.n_reading_next_tick(),
        }
    }

    /// Adds a chunk type copier so several pipes (or a pipe and a later borrowing listener) can
    /// each get a chunk in Node's order.
    pub(crate) fn set_clone_fn(&self, f: fn(&T) -> T) {
        self.0.state.with(|s| s.clone_fn = Some(f));
    }
}

impl Readable<Bytes> {
    /// A readable in byte mode over `imp` (Node's `new Readable({ read })`).
    pub fn new_bytes(imp: impl ReadImpl<Bytes>) -> Self {
        Self::with_options(imp, ReadableOptions::bytes())
    }

    /// `setEncoding(enc)`: from now on chunks are decoded text (UTF-8 bytes that always hold
    /// whole characters, split nowhere inside one), including what is already buffered; use
    /// [`std::str::from_utf8`] or [`Readable::on_text`] to see them as `&str`. As in Node, the
    /// buffer is then measured as text, in UTF-16 code units (`é` counts 1 against the
    /// high-water mark, not 2), and `read(n)` takes `n` of them (a character outside the Basic
    /// Multilingual Plane that `n` would cut in two comes whole).
    pub fn set_encoding(&self, encoding: Encoding) -> &Self {
        self.0.state.with(|s| {
            let mut d = Decoder::new(encoding);
            let old: Vec<Bytes> = s.buffer.chunks.drain(..).collect();
            let mut text = String::new();
            for c in old {
                let decoded = c.decode(&mut d);
                text.push_str(std::str::from_utf8(&decoded).unwrap_or_default());
            }
            // Node's string length: UTF-16 code units, as every length is from now on.
            s.buffer.length = text.encode_utf16().count();
            s.ops = Some(ByteOps::text());
            if !text.is_empty() {
                s.buffer.chunks.push_back(Bytes::from(text.into_bytes()));
            }
            s.decoder = Some(d);
        });
        self
    }

    /// A `'data'` listener that sees each chunk as text (for streams with an encoding set).
    pub fn on_text(&self, f: impl Fn(&str) + Send + Sync + 'static) -> ListenerId {
        self.on(ev::Data, move |b: &Bytes| f(&String::from_utf8_lossy(b)))
    }
}

/// A snapshot of a readable's internal state ([`Readable::state`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ReadableState {
    pub length: usize,
    pub buffered_chunks: usize,
    pub high_water_mark: usize,
    pub ended: bool,
    pub end_emitted: bool,
    pub reading: bool,
    pub sync: bool,
    pub need_readable: bool,
    pub emitted_readable: bool,
    pub readable_listening: bool,
    pub resume_scheduled: bool,
    pub reading_more: bool,
    pub data_emitted: bool,
    pub flowing: Option<bool>,
    pub paused: bool,
    pub pipes: usize,
    pub await_drain_writers: usize,
    pub multi_await_drain: bool,
    pub constructed: bool,
    pub destroyed: bool,
    pub error_emitted: bool,
    pub close_emitted: bool,
}

mod sealed {
    pub trait Sealed {}
}

/// The events a [`Readable`] emits.
pub trait ReadableEvent<T: Send + 'static>: Copy + sealed::Sealed {
    /// What a listener receives.
    type Arg: ?Sized;
    #[doc(hidden)]
    fn add(r: &Readable<T>, f: Listener<Self::Arg>, once: bool, prepend: bool) -> ListenerId;
    #[doc(hidden)]
    fn count(r: &Readable<T>) -> usize;
    #[doc(hidden)]
    fn remove_all(r: &Readable<T>);
}

impl sealed::Sealed for ev::Data {}
impl sealed::Sealed for ev::End {}
impl sealed::Sealed for ev::Readable {}
impl sealed::Sealed for ev::Pause {}
impl sealed::Sealed for ev::Resume {}
impl sealed::Sealed for ev::Close {}
impl sealed::Sealed for ev::Error {}

impl<T: Send + 'static> ReadableEvent<T> for ev::Data {
    type Arg = T;
    fn add(r: &Readable<T>, f: Listener<T>, once: bool, prepend: bool) -> ListenerId {
        let _e = r.0.life.domain().enter();
        let id =
            r.0.listeners()
                .with(|l| l.data.add(DataFn::Borrow(f), once, prepend));
        r.on_data_added();
        id
    }
    fn count(r: &Readable<T>) -> usize {
        r.0.listeners().with(|l| l.data.len())
    }
    fn remove_all(r: &Readable<T>) {
        r.0.listeners().with(|l| {
            l.data.clear();
            l.data_closed.clear();
        });
        r.0.state.with(|s| s.clear(rf::DATA_LISTENING));
    }
}

impl<T: Send + 'static> ReadableEvent<T> for ev::Readable {
    type Arg = ();
    fn add(r: &Readable<T>, f: Listener<()>, once: bool, prepend: bool) -> ListenerId {
        let _e = r.0.life.domain().enter();
        let id = r.0.listeners().with(|l| l.readable.add(f, once, prepend));
        r.on_readable_added();
        id
    }
    fn count(r: &Readable<T>) -> usize {
        r.0.listeners().with(|l| l.readable.len())
    }
    fn remove_all(r: &Readable<T>) {
        r.0.listeners().with(|l| {
            l.readable.clear();
            l.readable_closed.clear();
        });
        let r2 = r.tick_handle();
        r.0.life
            .domain()
            .next_tick(Box::new(move || r2.update_readable_listening()));
    }
}

macro_rules! plain_read_event {
    ($ev:ident, $slot:ident) => {
        impl<T: Send + 'static> ReadableEvent<T> for ev::$ev {
            type Arg = ();
            fn add(r: &Readable<T>, f: Listener<()>, once: bool, prepend: bool) -> ListenerId {
                r.0.listeners().with(|l| l.$slot.add(f, once, prepend))
            }
            fn count(r: &Readable<T>) -> usize {
                r.0.listeners().with(|l| l.$slot.len())
            }
            fn remove_all(r: &Readable<T>) {
                r.0.listeners().with(|l| l.$slot.clear())
            }
        }
    };
}

plain_read_event!(End, end);
plain_read_event!(Pause, pause);
plain_read_event!(Resume, resume);

impl<T: Send + 'static> ReadableEvent<T> for ev::Close {
    type Arg = ();
    fn add(r: &Readable<T>, f: Listener<()>, once: bool, prepend: bool) -> ListenerId {
        r.0.life.listeners.with(|l| l.close.add(f, once, prepend))
    }
    fn count(r: &Readable<T>) -> usize {
        r.0.life.listeners.with(|l| l.close.len())
    }
    fn remove_all(r: &Readable<T>) {
        r.0.life.listeners.with(|l| l.close.clear())
    }
}

impl<T: Send + 'static> ReadableEvent<T> for ev::Error {
    type Arg = Error;
    fn add(r: &Readable<T>, f: Listener<Error>, once: bool, prepend: bool) -> ListenerId {
        r.0.life.listeners.with(|l| l.error.add(f, once, prepend))
    }
    fn count(r: &Readable<T>) -> usize {
        r.0.life.listeners.with(|l| l.error.len())
    }
    fn remove_all(r: &Readable<T>) {
        r.0.life.listeners.with(|l| l.error.clear())
    }
}
