//! [`Duplex`]: a readable side and a writable side with independent buffers and high-water
//! marks, one lifecycle (one `'error'`, one `'close'`), `allowHalfOpen` (default true: the
//! writable side stays open after the readable side ends), destroyed once both sides are done.

use std::sync::Arc;

use sluicegate::AbortSignal;

use crate::destroy::{Life, LifeOptions};
use crate::error::{Error, Result};
use crate::events::{ev, ListenerId, StreamId};
use crate::implementor::{DuplexImpl, ImplCell, WriteHook};
use crate::readable::{AsWritable, ReadCore, Readable, ReadableEvent, ReadableOptions};
use crate::stream::{NodeStream, StreamRef};
use crate::tick::{Domain, EventLoop};
use crate::writable::{Writable, WritableEvent, WritableOptions, WriteCore};

/// Options of a [`Duplex`]: each side's options plus the shared ones.
pub struct DuplexOptions<I, O> {
    /// The readable side (`readableHighWaterMark`, `readableObjectMode`, ...).
    pub readable: ReadableOptions<O>,
    /// The writable side.
    pub writable: WritableOptions<I>,
    /// `allowHalfOpen` (default true).
    pub allow_half_open: bool,
    /// `readable: false` disables the readable side.
    pub readable_enabled: bool,
    /// `writable: false` disables the writable side.
    pub writable_enabled: bool,
    /// `emitClose`.
    pub emit_close: bool,
    /// `autoDestroy`.
    pub auto_destroy: bool,
    /// `signal`.
    pub signal: Option<AbortSignal>,
    /// The event loop.
    pub event_loop: Option<EventLoop>,
}

impl<I, O> Default for DuplexOptions<I, O> {
    fn default() -> Self {
        DuplexOptions {
            readable: ReadableOptions::objects(),
            writable: WritableOptions::objects(),
            allow_half_open: true,
            readable_enabled: true,
            writable_enabled: true,
            emit_close: true,
            auto_destroy: true,
            signal: None,
            event_loop: None,
        }
    }
}

/// A Node duplex stream that is written `I`s and reads `O`s.
pub struct Duplex<I: Send + 'static, O: Send + 'static> {
    r: Readable<O>,
    w: Writable<I>,
}

impl<I: Send + 'static, O: Send + 'static> Clone for Duplex<I, O> {
    fn clone(&self) -> Self {
        Duplex {
            r: self.r.clone(),
            w: self.w.clone(),
        }
    }
}

impl<I: Send + 'static, O: Send + 'static> std::fmt::Debug for Duplex<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Duplex").field("id", &self.r.id()).finish()
    }
}

impl<I: Send + 'static, O: Send + 'static> Duplex<I, O> {
    /// A duplex over `imp`, both sides in object mode.
    pub fn new(imp: impl DuplexImpl<I, O>) -> Self {
        Self::with_options(imp, DuplexOptions::default())
    }

    /// A duplex over `imp` with options.
    pub fn with_options(imp: impl DuplexImpl<I, O>, options: DuplexOptions<I, O>) -> Self {
        Self::build(imp, options, None, |_| {}, |cell, _| cell)
    }

    pub(crate) fn build<X: DuplexImpl<I, O>>(
        imp: X,
        opts: DuplexOptions<I, O>,
        read_override: Option<crate::implementor::ReadOverride>,
        tweak: impl FnOnce(&Readable<O>),
        write_hook: impl FnOnce(Arc<ImplCell<I, O, X>>, &Readable<O>) -> Arc<dyn WriteHook<I>>,
    ) -> Self {
        let domain = match (&opts.event_loop, &opts.readable.event_loop) {
            (Some(lp), _) | (None, Some(lp)) => lp.domain().clone(),
            _ => Domain::for_new_stream(),
        };
        let life = Life::new(
            &domain,
            LifeOptions {
                auto_destroy: opts.auto_destroy,
                emit_close: opts.emit_close,
                allow_half_open: opts.allow_half_open,
            },
        );
        let (cell, construct) = ImplCell::with_read_override(&domain, imp, read_override);
        life.set_impl(cell.clone());
        let r = Readable::counted(ReadCore::new(
            &life,
            cell.clone(),
            &opts.readable,
            !opts.readable_enabled,
        ));
        let w = Writable::counted(WriteCore::new(
            &life,
            write_hook(cell, &r),
            &opts.writable,
            !opts.writable_enabled,
        ));
        tweak(&r);
        life.construct(construct);
        if let Some(signal) = opts.signal {
            crate::abort::add_abort_signal_to(&signal, life);
        }
        Duplex { r, w }
    }

    /// The readable side (shares this stream's lifecycle).
    pub fn readable_side(&self) -> &Readable<O> {
        &self.r
    }

    /// The writable side (shares this stream's lifecycle).
    pub fn writable_side(&self) -> &Writable<I> {
        &self.w
    }

    /// `write(chunk)`.
    pub fn write(&self, chunk: I) -> bool {
        self.w.write(chunk)
    }

    /// `write(chunk, cb)`.
    pub fn write_with(&self, chunk: I, cb: impl FnOnce(Result<()>) + Send + 'static) -> bool {
        self.w.write_with(chunk, cb)
    }

    /// `end()`.
    pub fn end(&self) -> &Self {
        self.w.end();
        self
    }

    /// `end(cb)`.
    pub fn end_with(&self, cb: impl FnOnce(Result<()>) + Send + 'static) -> &Self {
        self.w.end_with(cb);
        self
    }

    /// `cork()`.
    pub fn cork(&self) {
        self.w.cork()
    }

    /// `uncork()`.
    pub fn uncork(&self) {
        self.w.uncork()
    }

    /// `push(chunk)`.
    pub fn push(&self, chunk: O) -> bool {
        self.r.push(chunk)
    }

    /// `push(null)`.
    pub fn push_end(&self) {
        self.r.push_end()
    }

    /// `read()`.
    pub fn read(&self) -> Option<O> {
        self.r.read()
    }

    /// `pause()`.
    pub fn pause(&self) -> &Self {
        self.r.pause();
        self
    }

    /// `resume()`.
    pub fn resume(&self) -> &Self {
        self.r.resume();
        self
    }

    /// `pipe(dest)`.
    pub fn pipe<D: AsWritable<O>>(&self, dest: &D) -> Writable<O>
    where
        O: Clone,
    {
        self.r.pipe(dest)
    }

    /// `destroy(err)`.
    pub fn destroy(&self, err: Option<Error>) -> &Self {
        self.r.0.life.destroy(err, None);
        self
    }

    /// `destroy(err, cb)`: see [`Readable::destroy_with`].
    pub fn destroy_with(&self, err: Option<Error>, cb: impl FnOnce(Option<Error>) + Send + 'static) -> &Self {
        self.r.destroy_with(err, cb);
        self
    }

    /// `destroyed`.
    pub fn destroyed(&self) -> bool {
        self.r.destroyed()
    }

    /// `readable`.
    pub fn readable(&self) -> bool {
        self.r.readable()
    }

    /// `writable`.
    pub fn writable(&self) -> bool {
        self.w.writable()
    }

    /// `readableEnded`.
    pub fn readable_ended(&self) -> bool {
        self.r.readable_ended()
    }

    /// `writableEnded`.
    pub fn writable_ended(&self) -> bool {
        self.w.writable_ended()
    }

    /// `writableFinished`.
    pub fn writable_finished(&self) -> bool {
        self.w.writable_finished()
    }

    /// `errored`.
    pub fn errored(&self) -> Option<Error> {
        self.r.errored()
    }

    /// `allowHalfOpen`.
    pub fn allow_half_open(&self) -> bool {
        self.r.0.life.has(crate::destroy::lf::ALLOW_HALF_OPEN)
    }

    /// This stream's identity.
    pub fn id(&self) -> StreamId {
        self.r.id()
    }

    /// `on(event, listener)` for any event of either side.
    pub fn on<E: DuplexEvent<I, O>>(
        &self,
        event: E,
        f: impl Fn(&E::Arg) + Send + Sync + 'static,
    ) -> ListenerId {
        E::add(self, event, Arc::new(f), false)
    }

    /// `once(event, listener)`.
    pub fn once<E: DuplexEvent<I, O>>(
        &self,
        event: E,
        f: impl Fn(&E::Arg) + Send + Sync + 'static,
    ) -> ListenerId {
        E::add(self, event, Arc::new(f), true)
    }

    /// `listenerCount(event)`.
    pub fn listener_count<E: DuplexEvent<I, O>>(&self, event: E) -> usize {
        E::count(self, event)
    }

    /// `off(listener)`.
    pub fn off(&self, id: ListenerId) -> bool {
        self.r.off(id) || self.w.off(id)
    }
}

/// Events a [`Duplex`] emits (those of both sides).
pub trait DuplexEvent<I: Send + 'static, O: Send + 'static>: Copy {
    /// What a listener receives.
    type Arg: ?Sized;
    #[doc(hidden)]
    fn add(d: &Duplex<I, O>, e: Self, f: crate::events::Listener<Self::Arg>, once: bool) -> ListenerId;
    #[doc(hidden)]
    fn count(d: &Duplex<I, O>, e: Self) -> usize;
}

macro_rules! duplex_read_event {
    ($($ev:ident),*) => {$(
        impl<I: Send + 'static, O: Send + 'static> DuplexEvent<I, O> for ev::$ev {
            type Arg = <ev::$ev as ReadableEvent<O>>::Arg;
            fn add(d: &Duplex<I, O>, e: Self, f: crate::events::Listener<Self::Arg>, once: bool) -> ListenerId {
                if once { d.r.once(e, move |a| f(a)) } else { d.r.on(e, move |a| f(a)) }
            }
            fn count(d: &Duplex<I, O>, e: Self) -> usize {
                d.r.listener_count(e)
            }
        }
    )*};
}

macro_rules! duplex_write_event {
    ($($ev:ident),*) => {$(
        impl<I: Send + 'static, O: Send + 'static> DuplexEvent<I, O> for ev::$ev {
            type Arg = <ev::$ev as WritableEvent<I>>::Arg;
            fn add(d: &Duplex<I, O>, e: Self, f: crate::events::Listener<Self::Arg>, once: bool) -> ListenerId {
                if once { d.w.once(e, move |a| f(a)) } else { d.w.on(e, move |a| f(a)) }
            }
            fn count(d: &Duplex<I, O>, e: Self) -> usize {
                d.w.listener_count(e)
            }
        }
    )*};
}

duplex_read_event!(Data, End, Readable, Pause, Resume, Close, Error);
duplex_write_event!(Drain, Finish, Prefinish, Pipe, Unpipe);

impl<I: Send + 'static, O: Send + 'static> AsWritable<I> for Duplex<I, O> {
    fn as_writable(&self) -> Writable<I> {
        self.w.clone()
    }
}

impl<I: Send + 'static, O: Send + 'static> NodeStream for Duplex<I, O> {
    fn stream_ref(&self) -> StreamRef {
        StreamRef(self.r.0.life.clone())
    }
    fn destroy_stream(&self, err: Option<Error>) {
        self.destroy(err);
    }
}
