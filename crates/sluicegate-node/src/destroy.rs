//! The lifecycle both sides of a stream share: construction, `destroy`, `'error'` and `'close'`
//! (Node's `lib/internal/streams/destroy.js`).
//!
//! A Readable, a Writable and each side of a Duplex hold one [`Life`]: it has the flags Node keeps
//! twice (in `_readableState` and `_writableState`, always set together): `destroyed`, `errored`,
//! `closed`, `errorEmitted`, `closeEmitted`, `constructed`, and the shared `'close'`/`'error'`
//! listeners, so `'error'` is emitted at most once and `'close'` once for the whole stream.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use crate::completion::{upon, Completion};
use crate::error::{catch, Error, Result};
use crate::events::{call, Listener, Slot, Snapshot, StreamId};
use crate::tick::{Domain, Shared};

/// What the readable side tells the lifecycle and the writable side.
pub(crate) trait ReadSide: Send + Sync {
    /// `'end'` was emitted.
    fn end_emitted(&self) -> bool;
    /// The side exists but was disabled (`readable: false`).
    fn disabled(&self) -> bool;
    /// Node's `readable` getter.
    fn is_readable(&self) -> bool;
    /// `kOnConstructed`.
    fn on_constructed(self: Arc<Self>);
    /// Drops the side's listeners (after `'close'`).
    fn clear_listeners(&self);
    /// `rState.ended` (for finished()).
    fn ended(&self) -> bool;
    /// The buffered length.
    fn length(&self) -> usize;
    /// `on('end', f)`.
    fn on_end(&self, f: crate::events::Listener<()>) -> crate::events::ListenerId;
    /// `off` on the readable side's events.
    fn off(&self, id: crate::events::ListenerId) -> bool;
}

/// What the writable side tells the lifecycle and the readable side.
pub(crate) trait WriteSide: Send + Sync {
    /// `'finish'` was emitted.
    fn finished(&self) -> bool;
    /// The side exists but was disabled (`writable: false`).
    fn disabled(&self) -> bool;
    /// Node's `writable` getter.
    fn is_writable(&self) -> bool;
    /// `writableEnded`.
    fn ended(&self) -> bool;
    /// `kOnConstructed`.
    fn on_constructed(self: Arc<Self>);
    /// `end()`.
    fn end(self: Arc<Self>);
    /// Whether there are buffered writes or end callbacks waiting (Writable.prototype.destroy).
    fn has_pending(&self) -> bool;
    /// `pendingcb`.
    fn pending_callbacks(&self) -> usize;
    /// The buffered length.
    fn length(&self) -> usize;
    /// Drops the side's listeners (after `'close'`).
    fn clear_listeners(&self);
    /// Writable.prototype.destroy's first step: fail buffered writes on a tick.
    fn schedule_error_buffer(self: Arc<Self>);
    /// `on('finish', f)`.
    fn on_finish(&self, f: crate::events::Listener<()>) -> crate::events::ListenerId;
    /// `off` on the writable side's events.
    fn off(&self, id: crate::events::ListenerId) -> bool;
}

/// The implementor's lifecycle methods.
pub(crate) trait LifeImpl: Send + Sync {
    /// `_destroy(err, cb)`.
    fn destroy(&self, err: Option<Error>) -> Completion;
}

/// Lifecycle flags, in [`Life::flags`].
pub(crate) mod lf {
    pub const DESTROYED: u32 = 1;
    pub const ERRORED: u32 = 1 << 1;
    pub const CLOSED: u32 = 1 << 2;
    pub const CLOSE_EMITTED: u32 = 1 << 3;
    pub const ERROR_EMITTED: u32 = 1 << 4;
    pub const CONSTRUCTED: u32 = 1 << 5;
    pub const AUTO_DESTROY: u32 = 1 << 6;
    pub const EMIT_CLOSE: u32 = 1 << 7;
    pub const ALLOW_HALF_OPEN: u32 = 1 << 8;
}

#[derive(Default)]
pub(crate) struct LifeState {
    pub errored: Option<Error>,
    /// `once(kDestroy)`: a destroy waiting for construction to finish.
    destroy_waiting: Option<(Option<Error>, DestroyCb)>,
}

type DestroyCb = Option<Box<dyn FnOnce(Option<Error>) + Send>>;

#[derive(Default)]
pub(crate) struct LifeListeners {
    pub close: Slot<()>,
    pub error: Slot<Error>,
}

/// A stream's shared lifecycle.
pub(crate) struct Life {
    pub id: StreamId,
    /// [`lf`] bits. Written only by the thread holding the loop's lock (load then store: no
    /// read-modify-write), read by it too; the lock orders them between threads.
    flags: AtomicU32,
    pub state: Shared<LifeState>,
    pub listeners: Shared<LifeListeners>,
    imp: OnceLock<Arc<dyn LifeImpl>>,
    read: OnceLock<Weak<dyn ReadSide>>,
    write: OnceLock<Weak<dyn WriteSide>>,
}

/// Options shared by every stream kind.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LifeOptions {
    pub auto_destroy: bool,
    pub emit_close: bool,
    pub allow_half_open: bool,
}

impl Life {
    pub(crate) fn new(domain: &Arc<Domain>, opts: LifeOptions) -> Arc<Life> {
        let mut flags = lf::CONSTRUCTED;
        if opts.auto_destroy {
            flags |= lf::AUTO_DESTROY;
        }
        if opts.emit_close {
            flags |= lf::EMIT_CLOSE;
        }
        if opts.allow_half_open {
            flags |= lf::ALLOW_HALF_OPEN;
        }
        Arc::new(Life {
            id: StreamId::fresh(),
            flags: AtomicU32::new(flags),
            state: Shared::new(domain, LifeState::default()),
            listeners: Shared::new(domain, LifeListeners::default()),
            imp: OnceLock::new(),
            read: OnceLock::new(),
            write: OnceLock::new(),
        })
    }

    pub(crate) fn domain(&self) -> &Arc<Domain> {
        self.state.domain()
    }

    /// The [`lf`] bits.
    #[inline]
    pub(crate) fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn has(&self, bit: u32) -> bool {
        self.flags() & bit != 0
    }

    /// Sets or clears bits; the caller holds the loop's lock.
    pub(crate) fn set(&self, bits: u32, on: bool) {
        let _e = self.domain().enter();
        let f = self.flags.load(Ordering::Relaxed);
        self.flags
            .store(if on { f | bits } else { f & !bits }, Ordering::Relaxed);
    }

    pub(crate) fn set_impl(&self, imp: Arc<dyn LifeImpl>) {
        let _ = self.imp.set(imp);
    }

    pub(crate) fn set_read(&self, r: Weak<dyn ReadSide>) {
        let _ = self.read.set(r);
    }

    pub(crate) fn set_write(&self, w: Weak<dyn WriteSide>) {
        let _ = self.write.set(w);
    }

    pub(crate) fn read(&self) -> Option<Arc<dyn ReadSide>> {
        self.read.get()?.upgrade()
    }

    pub(crate) fn write(&self) -> Option<Arc<dyn WriteSide>> {
        self.write.get()?.upgrade()
    }

    pub(crate) fn has_read(&self) -> bool {
        self.read.get().is_some()
    }

    pub(crate) fn has_write(&self) -> bool {
        self.write.get().is_some()
    }

    pub(crate) fn destroyed(&self) -> bool {
        self.has(lf::DESTROYED)
    }

    pub(crate) fn errored(&self) -> Option<Error> {
        self.state.with(|s| s.errored.clone())
    }

    /// Sets `errored` if unset (checkError).
    pub(crate) fn set_errored(&self, err: &Error) {
        self.state.with(|s| {
            if s.errored.is_none() {
                s.errored = Some(err.clone());
            }
        });
        self.set(lf::ERRORED, true);
    }

    /// Node's `destroyImpl.construct`: `completion` is what the implementor's `_construct`
    /// returned (asked for when the stream was made; `None` when it has none). Until it completes
    /// (processed two ticks later at the earliest, as Node's `constructNT` then `onConstruct`),
    /// the stream is not constructed: no `_read`, `_write` or `_final` runs, and a `destroy`
    /// waits for it.
    pub(crate) fn construct(self: &Arc<Self>, completion: Option<Completion>) {
        let Some(completion) = completion else {
            return;
        };
        self.set(lf::CONSTRUCTED, false);
        let life = self.clone();
        self.domain().next_tick(Box::new(move || {
            let (l, d) = (life.clone(), life.domain().clone());
            upon(life.domain(), completion, move |r| {
                let err = r.err();
                d.next_tick(Box::new(move || l.on_construct(err)));
            });
        }));
    }

    fn on_construct(self: &Arc<Self>, err: Option<Error>) {
        self.set(lf::CONSTRUCTED, true);
        let destroyed = self.destroyed();
        let waiting = self.state.with(|s| s.destroy_waiting.take());
        if destroyed {
            if let Some((derr, cb)) = waiting {
                let e = aggregate(err, derr);
                self.run_destroy(e, cb);
            }
        } else if let Some(e) = err {
            self.error_or_destroy(e, true);
        } else {
            if let Some(r) = self.read() {
                r.on_constructed();
            }
            if let Some(w) = self.write() {
                w.on_constructed();
            }
        }
    }

    /// `destroy(err, cb)`.
    pub(crate) fn destroy(self: &Arc<Self>, err: Option<Error>, cb: DestroyCb) {
        enum Next {
            Done,
            Wait,
            Run,
        }
        let _e = self.domain().enter();
        let next = if self.destroyed() {
            Next::Done
        } else {
            if let Some(e) = &err {
                self.set_errored(e);
            }
            self.set(lf::DESTROYED, true);
            if self.has(lf::CONSTRUCTED) {
                Next::Run
            } else {
                Next::Wait
            }
        };
        match next {
            Next::Done => {
                if let Some(cb) = cb {
                    cb(None);
                }
            }
            Next::Wait => self.state.with(|s| s.destroy_waiting = Some((err, cb))),
            Next::Run => self.run_destroy(err, cb),
        }
    }

    /// `destroy(err)` as the stream kind does it: a writable-only stream first queues the
    /// failing of its buffered writes (Writable.prototype.destroy); a duplex does not.
    pub(crate) fn destroy_with_side_effects(self: &Arc<Self>, err: Option<Error>) {
        self.destroy_with_side_effects_cb(err, None)
    }

    /// [`Life::destroy_with_side_effects`] with Node's `destroy(err, cb)` callback.
    pub(crate) fn destroy_with_side_effects_cb(self: &Arc<Self>, err: Option<Error>, cb: DestroyCb) {
        let _e = self.domain().enter();
        if !self.destroyed() && !self.has_read() {
            if let Some(w) = self.write() {
                w.schedule_error_buffer();
            }
        }
        self.destroy(err, cb);
    }

    /// `_destroy(self, err, cb)`.
    fn run_destroy(self: &Arc<Self>, err: Option<Error>, cb: DestroyCb) {
        let completion = match self.imp.get() {
            Some(imp) => {
                let e = err.clone();
                catch(|| imp.destroy(e)).unwrap_or_else(Completion::err)
            }
            None => Completion(crate::completion::Kind::Ready(match err {
                Some(e) => Err(e),
                None => Ok(()),
            })),
        };
        let life = self.clone();
        upon(self.domain(), completion, move |r| {
            let err = r.err();
            if let Some(e) = &err {
                life.set_errored(e);
            }
            life.set(lf::CLOSED, true);
            if let Some(cb) = cb {
                cb(err.clone());
            }
            let l = life.clone();
            life.domain().next_tick(Box::new(move || match err {
                Some(e) => {
                    l.emit_error_nt(e);
                    l.emit_close_nt();
                }
                None => l.emit_close_nt(),
            }));
        });
    }

    /// `emitCloseNT`.
    pub(crate) fn emit_close_nt(&self) {
        self.set(lf::CLOSE_EMITTED, true);
        let emit = self.has(lf::EMIT_CLOSE);
        if emit {
            let snap = self.listeners.with(|l| l.close.snapshot());
            let _ = catch(|| call(snap, &()));
        }
        // Nothing is emitted after 'close': drop every listener, breaking handle cycles.
        self.listeners.with(|l| {
            l.close.clear();
            l.error.clear();
        });
        if let Some(r) = self.read() {
            r.clear_listeners();
        }
        if let Some(w) = self.write() {
            w.clear_listeners();
        }
    }

    /// `emitErrorNT`.
    pub(crate) fn emit_error_nt(&self, err: Error) {
        let first = !self.has(lf::ERROR_EMITTED);
        self.set(lf::ERROR_EMITTED, true);
        if first {
            let snap = self.listeners.with(|l| l.error.snapshot());
            let _ = catch(|| call(snap, &err));
        }
    }

    /// `errorOrDestroy(stream, err, sync)`.
    pub(crate) fn error_or_destroy(self: &Arc<Self>, err: Error, sync: bool) {
        let (destroyed, auto) = (self.destroyed(), self.has(lf::AUTO_DESTROY));
        if destroyed {
            return;
        }
        if auto {
            // Node's `stream.destroy(err)`: for a writable, `Writable.prototype.destroy`, which
            // also fails its buffered writes and `end()` callbacks on a tick.
            self.destroy_with_side_effects(Some(err));
        } else {
            self.set_errored(&err);
            if sync {
                let l = self.clone();
                self.domain().next_tick(Box::new(move || l.emit_error_nt(err)));
            } else {
                self.emit_error_nt(err);
            }
        }
    }

    /// Emits an error event with a snapshot (for listeners added by user code: a panic destroys).
    pub(crate) fn call_guarded<A: ?Sized>(self: &Arc<Self>, snap: Snapshot<Listener<A>>, arg: &A) -> bool {
        match catch(|| call(snap, arg)) {
            Ok(any) => any,
            Err(e) => {
                self.destroy(Some(e), None);
                true
            }
        }
    }
}

/// `aggregateTwoErrors(inner, outer)`: the first error if both exist (Node aggregates them; the
/// Rust error keeps the first and drops nothing it was handed, as the second is the same or a
/// consequence).
pub(crate) fn aggregate(a: Option<Error>, b: Option<Error>) -> Option<Error> {
    match (a, b) {
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

/// A result from a completion's error, for convenience.
pub(crate) fn to_result(err: Option<Error>) -> Result<()> {
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
