//! [`Writable`]: Node's writable stream.
//!
//! `write()` hands a chunk to the implementor's `_write` (or buffers it while a write is in
//! flight, while [corked](Writable::cork), or before construction) and returns `false` once the
//! buffered length reaches the high-water mark; `'drain'` follows when the buffer empties, never
//! synchronously. [`end`](Writable::end) runs `_final`, then `'prefinish'`, `'finish'` and (with
//! `autoDestroy`) `'close'`.

mod algorithms;
mod state;
mod wait;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;
use sluicegate::AbortSignal;

pub(crate) use state::wf;
use state::{WriteListeners, WriteState};
pub use wait::Settled;

use crate::destroy::{lf, Life, LifeOptions, WriteSide};
use crate::error::{Error, Result};
use crate::events::{ev, Listener, ListenerId, StreamId};
use crate::implementor::{DuplexImpl, ImplCell, WriteHook, WriteImpl, WriteOnly};
use crate::readable::{ByteChunk, DEFAULT_BYTES_HWM, DEFAULT_OBJECT_HWM};
use crate::tick::{Domain, EventLoop, Hold, Shared};

/// Options of a [`Writable`] (Node's `new Writable(options)`).
pub struct WritableOptions<T> {
    pub(crate) high_water_mark: Option<usize>,
    pub(crate) measure: Option<fn(&T) -> usize>,
    pub(crate) emit_close: bool,
    pub(crate) auto_destroy: bool,
    pub(crate) signal: Option<AbortSignal>,
    pub(crate) event_loop: Option<EventLoop>,
}

impl<T> Clone for WritableOptions<T> {
    fn clone(&self) -> Self {
        WritableOptions {
            high_water_mark: self.high_water_mark,
            measure: self.measure,
            emit_close: self.emit_close,
            auto_destroy: self.auto_destroy,
            signal: self.signal.clone(),
            event_loop: self.event_loop.clone(),
        }
    }
}

impl<T> Default for WritableOptions<T> {
    fn default() -> Self {
        Self::objects()
    }
}

impl<T> WritableOptions<T> {
    /// Object mode: every chunk counts 1, high-water mark 16.
    pub fn objects() -> Self {
        WritableOptions {
            high_water_mark: None,
            measure: None,
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

    /// `signal`.
    pub fn signal(mut self, signal: AbortSignal) -> Self {
        self.signal = Some(signal);
        self
    }

    /// The event loop the stream joins.
    pub fn event_loop(mut self, lp: &EventLoop) -> Self {
        self.event_loop = Some(lp.clone());
        self
    }

    pub(crate) fn resolved_hwm(&self) -> usize {
        self.high_water_mark.unwrap_or(if self.measure.is_some() {
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

impl<T: ByteChunk> WritableOptions<T> {
    /// Byte mode: the buffered length counts bytes; high-water mark 64 KiB.
    pub fn bytes() -> Self {
        WritableOptions {
            measure: Some(T::byte_len),
            ..Self::objects()
        }
    }
}

pub(crate) struct WriteCore<T: Send + 'static> {
    pub(crate) life: Arc<Life>,
    /// The side's state and its listeners, under one borrow.
    pub(crate) state: Shared<WriteState<T>>,
    pub(crate) hook: Arc<dyn WriteHook<T>>,
}

/// A Node writable stream of `T`. Cheap to clone (a handle); `Send + Sync` when `T: Send`.
///
/// Counts as a handle on the stream's event loop, as a [`Readable`](crate::Readable) does; the
/// crate's own ticks hold it through `Writable::tick_handle`.
pub struct Writable<T: Send + 'static>(pub(crate) Arc<WriteCore<T>>, bool);

impl<T: Send + 'static> Clone for Writable<T> {
    fn clone(&self) -> Self {
        Writable::counted(self.0.clone())
    }
}

impl<T: Send + 'static> Drop for Writable<T> {
    fn drop(&mut self) {
        if self.1 {
            self.0.life.domain().release();
        }
    }
}

impl<T: Send + 'static> Writable<T> {
    /// A handle that counts on the stream's loop: what the crate gives out.
    pub(crate) fn counted(core: Arc<WriteCore<T>>) -> Self {
        core.life.domain().hold();
        Writable(core, true)
    }

    /// A handle that does not count on the loop, for a tick queued on the stream's own loop or
    /// a call made on the loop: it must not be given out or kept beyond that (a clone of it
    /// counts again).
    pub(crate) fn internal(core: Arc<WriteCore<T>>) -> Self {
        Writable(core, false)
    }

    /// An uncounted handle on this stream for a tick queued on its own loop
    /// ([`Writable::internal`]).
    #[inline]
    pub(crate) fn tick_handle(&self) -> Self {
        Writable(self.0.clone(), false)
    }
}

impl<T: Send + 'static> fmt::Debug for Writable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writable")
            .field("id", &self.0.life.id)
            .field("length", &self.writable_length())
            .field("destroyed", &self.destroyed())
            .finish()
    }
}

impl<T: Send + 'static> WriteCore<T> {
    pub(crate) fn new(
        life: &Arc<Life>,
        hook: Arc<dyn WriteHook<T>>,
        opts: &WritableOptions<T>,
        disabled: bool,
    ) -> Arc<Self> {
        let domain = life.domain();
        let mut flags = wf::SYNC;
        if opts.measure.is_none() {
            flags |= wf::OBJECT_MODE;
        }
        if disabled {
            flags |= wf::DISABLED | wf::ENDING | wf::ENDED | wf::FINISHED;
        }
        let core = Arc::new(WriteCore {
            life: life.clone(),
            state: Shared::new(
                domain,
                WriteState {
                    flags,
                    length: 0,
                    hwm: opts.resolved_hwm(),
                    corked: 0,
                    writelen: 0,
                    writecb: None,
                    writev_cbs: Vec::new(),
                    buffered: Default::default(),
                    pendingcb: 0,
                    on_finished: Vec::new(),
                    measure: opts.measure,
                    listeners: WriteListeners::default(),
                },
            ),
            hook,
        });
        let weak: std::sync::Weak<dyn WriteSide> = Arc::downgrade(&core) as _;
        life.set_write(weak);
        core
    }
}

impl<T: Send + 'static> crate::readable::ListenersOf<'_, Shared<WriteState<T>>> {
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut WriteListeners) -> R) -> R {
        self.0.with(|s| f(&mut s.listeners))
    }
}

impl<T: Send + 'static> WriteCore<T> {
    /// The side's listeners.
    #[inline]
    pub(crate) fn listeners(&self) -> crate::readable::ListenersOf<'_, Shared<WriteState<T>>> {
        crate::readable::ListenersOf(&self.state)
    }
}

impl<T: Send + 'static> WriteSide for WriteCore<T> {
    fn finished(&self) -> bool {
        self.state.with(|s| s.has(wf::FINISHED))
    }
    fn disabled(&self) -> bool {
        self.state.with(|s| s.has(wf::DISABLED))
    }
    fn is_writable(&self) -> bool {
        let life = self.life.flags();
        self.state.with(|s| !s.has(wf::DISABLED | wf::ENDING | wf::ENDED))
            && life & (lf::DESTROYED | lf::ERRORED) == 0
    }
    fn ended(&self) -> bool {
        self.state.with(|s| s.has(wf::ENDING))
    }
    fn on_constructed(self: Arc<Self>) {
        let w = Writable::internal(self);
        if !w.0.state.with(|s| s.has(wf::WRITING)) {
            w.clear_buffer();
        }
        if w.0.state.with(|s| s.has(wf::ENDING)) {
            w.finish_maybe(false);
        }
    }
    fn end(self: Arc<Self>) {
        Writable::internal(self).end_inner(None);
    }
    fn has_pending(&self) -> bool {
        self.state
            .with(|s| !s.buffered.is_empty() || !s.on_finished.is_empty())
    }
    fn pending_callbacks(&self) -> usize {
        self.state.with(|s| s.pendingcb)
    }
    fn length(&self) -> usize {
        self.state.with(|s| s.length)
    }
    fn clear_listeners(&self) {
        self.listeners().with(|l| l.clear());
    }
    fn schedule_error_buffer(self: Arc<Self>) {
        if self.has_pending() {
            let w = Writable::internal(self.clone());
            self.life.domain().next_tick(Box::new(move || w.error_buffer()));
        }
    }
    fn on_finish(&self, f: Listener<()>) -> ListenerId {
        self.listeners().with(|l| l.finish.add(f, false, false))
    }
    fn off(&self, id: ListenerId) -> bool {
        self.listeners().with(|l| l.finish.remove(id))
    }
}

impl<T: Send + 'static> Writable<T> {
    /// A writable in object mode over `imp` (Node's `new Writable({ objectMode: true, write })`).
    pub fn new(imp: impl WriteImpl<T>) -> Self {
        Self::with_options(imp, WritableOptions::objects())
    }

    /// A writable over `imp` with `options`.
    pub fn with_options(imp: impl WriteImpl<T>, options: WritableOptions<T>) -> Self {
        Self::build(WriteOnly(imp), options)
    }

    pub(crate) fn build<X: DuplexImpl<T, ()>>(imp: X, opts: WritableOptions<T>) -> Self {
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
        let core = WriteCore::new(&life, cell, &opts, false);
        life.construct(construct);
        if let Some(signal) = opts.signal {
            crate::abort::add_abort_signal_to(&signal, life.clone());
        }
        Writable::counted(core)
    }

    /// A writable whose `_write` is `f` (object mode).
    pub fn from_fn<C: Into<crate::Completion>>(f: impl FnMut(T) -> C + Send + 'static) -> Self {
        Self::from_fn_with(f, WritableOptions::objects())
    }

    /// [`from_fn`](Writable::from_fn) with options.
    pub fn from_fn_with<C: Into<crate::Completion>>(
        f: impl FnMut(T) -> C + Send + 'static,
        options: WritableOptions<T>,
    ) -> Self {
        struct Fun<F>(F);
        impl<T: Send + 'static, C: Into<crate::Completion>, F: FnMut(T) -> C + Send + 'static> WriteImpl<T>
            for Fun<F>
        {
            fn write(&mut self, chunk: T) -> crate::Completion {
                (self.0)(chunk).into()
            }
        }
        Self::with_options(Fun(f), options)
    }

    /// `write(chunk)`: `false` once the buffered length reaches the high-water mark (wait for
    /// `'drain'`), or when the stream is destroyed or errored. A write after `end()` errors the
    /// stream with `ERR_STREAM_WRITE_AFTER_END`; after `destroy()`, with `ERR_STREAM_DESTROYED`.
    pub fn write(&self, chunk: T) -> bool {
        self.write_inner(chunk, None)
    }

    /// `write(chunk, cb)`: `cb` runs once the chunk is written (or with the write's error).
    pub fn write_with(&self, chunk: T, cb: impl FnOnce(Result<()>) + Send + 'static) -> bool {
        self.write_inner(chunk, Some(Box::new(cb)))
    }

    /// `write(chunk)` as a future of its completion; [`Written::accepted`] is what `write`
    /// returned.
    pub fn write_async(&self, chunk: T) -> Written {
        let slot = Arc::new(Mutex::new(DoneSlot::default()));
        let s = slot.clone();
        let accepted = self.write_with(chunk, move |r| DoneSlot::complete(&s, r));
        Written {
            slot,
            domain: Hold::new(self.0.life.domain()),
            accepted,
        }
    }

    /// `end()`.
    pub fn end(&self) -> &Self {
        self.end_inner(None);
        self
    }

    /// `end(cb)`: `cb` runs after `'finish'` (or with the error that prevented it).
    pub fn end_with(&self, cb: impl FnOnce(Result<()>) + Send + 'static) -> &Self {
        self.end_inner(Some(Box::new(cb)));
        self
    }

    /// `end(chunk)`: writes `chunk`, then ends, unless the write failed at once (the stream
    /// was ending or destroyed already: Node's `_write` returns an error then, and `end` does
    /// nothing more, so a destroyed stream never counts as ended).
    pub fn end_chunk(&self, chunk: T) -> &Self {
        let _e = self.0.life.domain().enter();
        let fails = self.0.state.with(|s| s.has(wf::ENDING)) || self.0.life.destroyed();
        self.write(chunk);
        if !fails {
            self.end_inner(None);
        }
        self
    }

    /// `cork()`: buffer writes until [`uncork`](Writable::uncork), so `_writev` gets them all.
    pub fn cork(&self) {
        self.0.state.with(|s| {
            s.set(wf::CORKED);
            s.corked += 1;
        });
    }

    /// `uncork()`.
    pub fn uncork(&self) {
        self.uncork_inner()
    }

    /// `destroy(err)`.
    pub fn destroy(&self, err: Option<Error>) -> &Self {
        self.0.life.destroy_with_side_effects(err);
        self
    }

    /// `destroy(err, cb)`: see [`Readable::destroy_with`](crate::Readable::destroy_with).
    pub fn destroy_with(&self, err: Option<Error>, cb: impl FnOnce(Option<Error>) + Send + 'static) -> &Self {
        self.0.life.destroy_with_side_effects_cb(err, Some(Box::new(cb)));
        self
    }

    /// `destroyed`.
    pub fn destroyed(&self) -> bool {
        self.0.life.destroyed()
    }

    /// `writable`: false once ending, errored or destroyed.
    pub fn writable(&self) -> bool {
        self.0.is_writable()
    }

    /// `writableEnded`: `end()` was called.
    pub fn writable_ended(&self) -> bool {
        self.0.ended()
    }

    /// `writableFinished`: `'finish'` was emitted.
    pub fn writable_finished(&self) -> bool {
        self.0.finished()
    }

    /// `writableNeedDrain`: a `write` returned `false` and `'drain'` is still to come.
    pub fn writable_need_drain(&self) -> bool {
        let life = self.0.life.flags();
        life & lf::DESTROYED == 0
            && self
                .0
                .state
                .with(|s| s.flags & (wf::ENDING | wf::NEED_DRAIN) == wf::NEED_DRAIN)
    }

    /// The `needDrain` slot itself (a `write()` returned `false` and `'drain'` has not been
    /// emitted yet), whatever the stream's state: what a pipe's `cleanup` asks, where
    /// [`writable_need_drain`](Writable::writable_need_drain) also says `false` for a stream
    /// that is ending or destroyed.
    pub(crate) fn need_drain_slot(&self) -> bool {
        self.0.state.with(|s| s.flags & wf::NEED_DRAIN != 0)
    }

    /// `writableLength`: buffered items or bytes, including the one being written.
    pub fn writable_length(&self) -> usize {
        self.0.length()
    }

    /// `writableHighWaterMark`.
    pub fn writable_high_water_mark(&self) -> usize {
        self.0.state.with(|s| s.hwm)
    }

    /// `writableCorked`: how many `uncork()` calls it takes to uncork.
    pub fn writable_corked(&self) -> u32 {
        self.0.state.with(|s| s.corked)
    }

    /// `writableObjectMode`.
    pub fn writable_object_mode(&self) -> bool {
        self.0.state.with(|s| s.has(wf::OBJECT_MODE))
    }

    /// `writableAborted`: destroyed or errored before `'finish'`.
    pub fn writable_aborted(&self) -> bool {
        let life = self.0.life.flags();
        self.0.state.with(|s| !s.has(wf::DISABLED | wf::FINISHED))
            && life & (lf::DESTROYED | lf::ERRORED) != 0
    }

    /// `writableBuffer.length` / `bufferedRequestCount`: writes waiting behind the current one.
    pub fn writable_buffered(&self) -> usize {
        self.0.state.with(|s| s.buffered.len())
    }

    /// `errored`.
    pub fn errored(&self) -> Option<Error> {
        self.0.life.errored()
    }

    /// `closed`.
    pub fn closed(&self) -> bool {
        self.0.life.has(lf::CLOSED)
    }

    /// This stream's identity.
    pub fn id(&self) -> StreamId {
        self.0.life.id
    }

    /// The event loop this stream belongs to.
    pub fn event_loop(&self) -> EventLoop {
        EventLoop::from_domain(self.0.life.domain())
    }

    /// A snapshot of the internal state, for tests and debugging (Node's `_writableState`).
    pub fn state(&self) -> WritableState {
        let life = self.0.life.flags();
        self.0.state.with(|s| WritableState {
            length: s.length,
            buffered: s.buffered.len(),
            pending_callbacks: s.pendingcb,
            ending: s.has(wf::ENDING),
            ended: s.has(wf::ENDED),
            finished: s.has(wf::FINISHED),
            writing: s.has(wf::WRITING),
            need_drain: s.has(wf::NEED_DRAIN),
            prefinished: s.has(wf::PREFINISHED),
            final_called: s.has(wf::FINAL_CALLED),
            corked: s.corked,
            constructed: life & lf::CONSTRUCTED != 0,
            destroyed: life & lf::DESTROYED != 0,
            error_emitted: life & lf::ERROR_EMITTED != 0,
            close_emitted: life & lf::CLOSE_EMITTED != 0,
        })
    }

    /// `on(event, listener)`.
    pub fn on<E: WritableEvent<T>>(
        &self,
        event: E,
        f: impl Fn(&E::Arg) + Send + Sync + 'static,
    ) -> ListenerId {
        let _ = event;
        E::add(self, Arc::new(f), false, false)
    }

    /// `once(event, listener)`.
    pub fn once<E: WritableEvent<T>>(
        &self,
        event: E,
        f: impl Fn(&E::Arg) + Send + Sync + 'static,
    ) -> ListenerId {
        let _ = event;
        E::add(self, Arc::new(f), true, false)
    }

    /// `prependListener(event, listener)`.
    pub fn prepend_listener<E: WritableEvent<T>>(
        &self,
        event: E,
        f: impl Fn(&E::Arg) + Send + Sync + 'static,
    ) -> ListenerId {
        let _ = event;
        E::add(self, Arc::new(f), false, true)
    }

    /// `listenerCount(event)`.
    pub fn listener_count<E: WritableEvent<T>>(&self, event: E) -> usize {
        let _ = event;
        E::count(self)
    }

    /// `removeAllListeners(event)`.
    pub fn remove_all_listeners<E: WritableEvent<T>>(&self, event: E) {
        let _ = event;
        E::remove_all(self)
    }

    /// `off(listener)`.
    pub fn off(&self, id: ListenerId) -> bool {
        self.0.listeners().with(|l| {
            l.drain.remove(id)
                || l.finish.remove(id)
                || l.prefinish.remove(id)
                || l.pipe.remove(id)
                || l.unpipe.remove(id)
        }) || self
            .0
            .life
            .listeners
            .with(|l| l.close.remove(id) || l.error.remove(id))
    }

    pub(crate) fn emit_pipe(&self, src: StreamId, unpipe: bool) {
        let snap = self.0.listeners().with(|l| {
            if unpipe {
                l.unpipe.snapshot()
            } else {
                l.pipe.snapshot()
            }
        });
        self.0.life.call_guarded(snap, &src);
    }
}

/// A snapshot of a writable's internal state ([`Writable::state`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct WritableState {
    pub length: usize,
    pub buffered: usize,
    pub pending_callbacks: usize,
    pub ending: bool,
    pub ended: bool,
    pub finished: bool,
    pub writing: bool,
    pub need_drain: bool,
    pub prefinished: bool,
    pub final_called: bool,
    pub corked: u32,
    pub constructed: bool,
    pub destroyed: bool,
    pub error_emitted: bool,
    pub close_emitted: bool,
}

#[derive(Default)]
pub(crate) struct DoneSlot {
    result: Option<Result<()>>,
    waker: Option<std::task::Waker>,
}

impl DoneSlot {
    pub(crate) fn complete(slot: &Mutex<DoneSlot>, r: Result<()>) {
        let waker = {
            let mut s = slot.lock();
            if s.result.is_some() {
                return;
            }
            s.result = Some(r);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub(crate) fn poll(slot: &Mutex<DoneSlot>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut s = slot.lock();
        match s.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The completion of one write ([`Writable::write_async`]); runs the stream's loop while polled.
#[must_use = "futures do nothing unless polled"]
pub struct Written {
    slot: Arc<Mutex<DoneSlot>>,
    domain: Hold,
    accepted: bool,
}

impl Written {
    /// What `write()` returned: `false` means wait for `'drain'` before writing more.
    pub fn accepted(&self) -> bool {
        self.accepted
    }
}

impl Future for Written {
    type Output = Result<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if let Poll::Ready(r) = DoneSlot::poll(&self.slot, cx) {
            return Poll::Ready(r);
        }
        self.domain.poll_run(cx);
        DoneSlot::poll(&self.slot, cx)
    }
}

mod sealed {
    pub trait Sealed {}
}

/// The events a [`Writable`] emits.
pub trait WritableEvent<T: Send + 'static>: Copy + sealed::Sealed {
    /// What a listener receives.
    type Arg: ?Sized;
    #[doc(hidden)]
    fn add(w: &Writable<T>, f: Listener<Self::Arg>, once: bool, prepend: bool) -> ListenerId;
    #[doc(hidden)]
    fn count(w: &Writable<T>) -> usize;
    #[doc(hidden)]
    fn remove_all(w: &Writable<T>);
}

macro_rules! write_event {
    ($ev:ident, $slot:ident, $arg:ty, $cell:ident) => {
        impl sealed::Sealed for ev::$ev {}
        impl<T: Send + 'static> WritableEvent<T> for ev::$ev {
            type Arg = $arg;
            fn add(w: &Writable<T>, f: Listener<$arg>, once: bool, prepend: bool) -> ListenerId {
                write_event!(@cell w, $cell).with(|l| l.$slot.add(f, once, prepend))
            }
            fn count(w: &Writable<T>) -> usize {
                write_event!(@cell w, $cell).with(|l| l.$slot.len())
            }
            fn remove_all(w: &Writable<T>) {
                write_event!(@cell w, $cell).with(|l| l.$slot.clear())
            }
        }
    };
    (@cell $w:ident, side) => { $w.0.listeners() };
    (@cell $w:ident, life) => { $w.0.life.listeners };
}

write_event!(Drain, drain, (), side);
write_event!(Finish, finish, (), side);
write_event!(Prefinish, prefinish, (), side);
write_event!(Pipe, pipe, StreamId, side);
write_event!(Unpipe, unpipe, StreamId, side);
write_event!(Close, close, (), life);
write_event!(Error, error, Error, life);
