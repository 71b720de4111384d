//! `finished(stream, options)`: Node's `end-of-stream`, as a future and as a callback with a
//! clean-up handle.
//!
//! It settles once the stream is done in the directions asked for: `Ok(())` after `'end'`
//! and/or `'finish'` (and `'close'`, when the stream will emit one), the error after `'error'`,
//! and `ERR_STREAM_PREMATURE_CLOSE` when `'close'` comes before the stream ended or finished.
//!
//! Every listener it adds is removed when it settles, when the future is dropped, or when the
//! [`Cleanup`] handle of [`finished_with`] is used: nothing is left behind (a pain Node users
//! report for `finished()` and `pipeline()`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;
use sluicegate::AbortSignal;

use crate::destroy::{lf, Life};
use crate::error::{Error, Result};
use crate::events::{ListenerId, Slot};
use crate::stream::NodeStream;
use crate::tick::Hold;
use crate::writable::DoneSlot;

/// Options of [`finished`] (Node's `eos` options).
#[derive(Clone, Debug, Default)]
pub struct FinishedOptions {
    /// Wait for the readable side (default: whether the stream has one).
    pub readable: Option<bool>,
    /// Wait for the writable side (default: whether the stream has one).
    pub writable: Option<bool>,
    /// Ignore `'error'` events (Node's `error: false`); default `false` (errors settle it).
    pub ignore_errors: bool,
    /// Settle with an `AbortError` (and stop listening) when this signal aborts.
    pub signal: Option<AbortSignal>,
}

type Callback = Box<dyn FnOnce(Result<()>) + Send + 'static>;

pub(crate) struct Eos {
    life: Arc<Life>,
    callback: Mutex<Option<Callback>>,
    ids: Mutex<Ids>,
    flags: Mutex<Flags>,
}

#[derive(Default)]
struct Ids {
    end: Option<ListenerId>,
    finish: Option<ListenerId>,
    error: Option<ListenerId>,
    close: Option<ListenerId>,
    abort: Option<sluicegate::abort::AbortAlgorithmHandle>,
    signal: Option<AbortSignal>,
}

struct Flags {
    readable: bool,
    writable: bool,
    will_emit_close: bool,
    readable_finished: bool,
    writable_finished: bool,
}

/// Node's `isReadableFinished(stream, strict)`: the stream is not errored, and `'end'` was
/// emitted (or, not `strict`, the end was pushed and nothing is left in the buffer).
pub(crate) fn is_readable_finished(life: &Life, strict: bool) -> bool {
    if life.has(lf::ERRORED) {
        return false;
    }
    life.read()
        .is_some_and(|r| r.end_emitted() || (!strict && r.ended() && r.length() == 0))
}

/// Removes every listener a [`finished_with`] added, and drops its callback uncalled.
#[must_use = "call `cleanup()` to remove the listeners, or drop it to keep them"]
pub struct Cleanup {
    eos: Arc<Eos>,
}

impl Cleanup {
    pub(crate) fn from_eos(eos: Arc<Eos>) -> Self {
        Cleanup { eos }
    }

    /// Removes the listeners now; the callback will not be called.
    pub fn cleanup(self) {
        self.eos.cleanup();
    }
}

impl Eos {
    fn call(&self, r: Result<()>) {
        let cb = self.callback.lock().take();
        if let Some(cb) = cb {
            self.cleanup_listeners();
            cb(r);
        }
    }

    fn cleanup(&self) {
        self.callback.lock().take();
        self.cleanup_listeners();
    }

    fn cleanup_listeners(&self) {
        let ids = std::mem::take(&mut *self.ids.lock());
        if let Some(id) = ids.end {
            if let Some(r) = self.life.read() {
                r.off(id);
            }
        }
        if let Some(id) = ids.finish {
            if let Some(w) = self.life.write() {
                w.off(id);
            }
        }
        let (error, close) = (ids.error, ids.close);
        self.life.listeners.with(|l| {
            if let Some(id) = error {
                l.error.remove(id);
            }
            if let Some(id) = close {
                l.close.remove(id);
            }
        });
        if let (Some(signal), Some(h)) = (ids.signal, ids.abort) {
            signal.remove_algorithm(h);
        }
    }

    fn errored(&self) -> Option<Error> {
        self.life.errored()
    }

    fn is_readable_finished(&self) -> bool {
        is_readable_finished(&self.life, false)
    }

    fn is_writable_finished(&self) -> bool {
        if self.life.has(lf::ERRORED) {
            return false;
        }
        self.life
            .write()
            .is_some_and(|w| w.finished() || (w.ended() && w.length() == 0))
    }

    fn onend(&self) {
        let mut f = self.flags.lock();
        f.readable_finished = true;
        if self.life.destroyed() {
            f.will_emit_close = false;
        }
        let stream_writable = self.life.write().is_some_and(|w| w.is_writable());
        if f.will_emit_close && (!stream_writable || f.writable) {
            return;
        }
        if !f.writable || f.writable_finished {
            drop(f);
            self.call(Ok(()));
        }
    }

    fn onfinish(&self) {
        let mut f = self.flags.lock();
        f.writable_finished = true;
        if self.life.destroyed() {
            f.will_emit_close = false;
        }
        let stream_readable = self.life.read().is_some_and(|r| r.is_readable());
        if f.will_emit_close && (!stream_readable || f.readable) {
            return;
        }
        if !f.readable || f.readable_finished {
            drop(f);
            self.call(Ok(()));
        }
    }

    fn onclose(&self) {
        if let Some(e) = self.errored() {
            return self.call(Err(e));
        }
        let f = self.flags.lock();
        let (readable, writable, rf_, wf_) =
            (f.readable, f.writable, f.readable_finished, f.writable_finished);
        drop(f);
        let strict_readable = self.life.read().is_some_and(|r| !r.disabled());
        if readable && !rf_ && strict_readable && !self.is_readable_finished() {
            return self.call(Err(Error::premature_close()));
        }
        if writable && !wf_ && !self.is_writable_finished() {
            return self.call(Err(Error::premature_close()));
        }
        self.call(Ok(()));
    }

    fn onclosed(&self) {
        match self.errored() {
            Some(e) => self.call(Err(e)),
            None => self.call(Ok(())),
        }
    }
}

/// `eos(stream, options, callback)`.
pub(crate) fn eos(
    life: &Arc<Life>,
    opts: &FinishedOptions,
    callback: impl FnOnce(Result<()>) + Send + 'static,
) -> Arc<Eos> {
    let _e = life.domain().enter();
    let has_read = life.has_read();
    let has_write = life.has_write();
    let readable = opts.readable.unwrap_or(has_read);
    let writable = opts.writable.unwrap_or(has_write);
    let lflags = life.flags();
    let will_emit_close = lflags & lf::AUTO_DESTROY != 0
        && lflags & lf::EMIT_CLOSE != 0
        && lflags & lf::CLOSED == 0
        && has_read == readable
        && has_write == writable;
    let e = Arc::new(Eos {
        life: life.clone(),
        callback: Mutex::new(Some(Box::new(callback))),
        ids: Mutex::new(Ids::default()),
        flags: Mutex::new(Flags {
            readable,
            writable,
            will_emit_close,
            readable_finished: false,
            writable_finished: false,
        }),
    });
    {
        let rf_ = e.is_readable_finished();
        let wf_ = e.is_writable_finished();
        let mut f = e.flags.lock();
        f.readable_finished = rf_;
        f.writable_finished = wf_;
    }
    let mut ids = Ids::default();
    if let Some(r) = life.read() {
        let q = e.clone();
        ids.end = Some(r.on_end(Arc::new(move |_| q.onend())));
    }
    if let Some(w) = life.write() {
        let q = e.clone();
        ids.finish = Some(w.on_finish(Arc::new(move |_| q.onfinish())));
    }
    let (q1, q2) = (e.clone(), e.clone());
    let ignore_errors = opts.ignore_errors;
    life.listeners.with(|l| {
        if !ignore_errors {
            ids.error = Some(add(&mut l.error, move |err: &Error| q1.call(Err(err.clone()))));
        }
        ids.close = Some(add(&mut l.close, move |_: &()| q2.onclose()));
    });
    *e.ids.lock() = ids;

    let closed = lflags & lf::CLOSED != 0;
    let (rfin, wfin) = {
        let f = e.flags.lock();
        (f.readable_finished, f.writable_finished)
    };
    let is_readable = life.read().map(|r| r.is_readable());
    let is_writable = life.write().map(|w| w.is_writable());
    let pending = life.write().map_or(0, |w| w.pending_callbacks());
    let d = life.domain().clone();
    if closed {
        let q = e.clone();
        d.next_tick(Box::new(move || q.onclose()));
    } else if lflags & lf::ERROR_EMITTED != 0 {
        if !will_emit_close {
            let q = e.clone();
            d.next_tick(Box::new(move || q.onclosed()));
        }
    } else if !readable
        && (!will_emit_close || is_readable == Some(true))
        && (wfin || is_writable == Some(false))
        && pending == 0
    {
        let q = e.clone();
        d.next_tick(Box::new(move || q.onclosed()));
    } else if !writable
        && (!will_emit_close || is_writable == Some(true))
        && (rfin || is_readable == Some(false))
    {
        let q = e.clone();
        d.next_tick(Box::new(move || q.onclosed()));
    }

    if let Some(signal) = &opts.signal {
        if !closed {
            let q = e.clone();
            let abort = move |reason: Option<Error>| {
                let cb = q.callback.lock().take();
                q.cleanup_listeners();
                if let Some(cb) = cb {
                    cb(Err(Error::abort(reason)));
                }
            };
            if signal.aborted() {
                let reason = signal.reason().map(Error::from);
                d.next_tick(Box::new(move || abort(reason)));
            } else {
                let dom = d.clone();
                let h = signal.add_algorithm(move |reason| {
                    let reason = Some(Error::from(reason.clone()));
                    let _g = dom.enter();
                    abort(reason)
                });
                let mut ids = e.ids.lock();
                ids.abort = Some(h);
                ids.signal = Some(signal.clone());
            }
        }
    }
    e
}

fn add<A: ?Sized>(slot: &mut Slot<A>, f: impl Fn(&A) + Send + Sync + 'static) -> ListenerId {
    slot.add(Arc::new(f), false, false)
}

/// `finished(stream, callback)`: `callback` runs once when the stream is done (see the module
/// docs). Returns the clean-up handle.
pub fn finished_with<S: NodeStream + ?Sized>(
    stream: &S,
    options: FinishedOptions,
    callback: impl FnOnce(Result<()>) + Send + 'static,
) -> Cleanup {
    Cleanup {
        eos: eos(&stream.stream_ref().0, &options, callback),
    }
}

/// `stream.promises.finished(stream)`: a future that runs the stream's loop and settles when
/// the stream is done. Dropping it removes its listeners.
///
/// ```
/// use sluicegate_node::{finished, Readable};
///
/// # futures::executor::block_on(async {
/// let r = Readable::<u8>::from_iter([1, 2, 3]);
/// r.resume();
/// finished(&r).await.unwrap();
/// assert!(r.readable_ended());
/// # });
/// ```
pub fn finished<S: NodeStream + ?Sized>(stream: &S) -> Finished {
    finished_opts(stream, FinishedOptions::default())
}

/// [`finished`] with options.
pub fn finished_opts<S: NodeStream + ?Sized>(stream: &S, options: FinishedOptions) -> Finished {
    let slot = Arc::new(Mutex::new(DoneSlot::default()));
    let s = slot.clone();
    let life = stream.stream_ref().0;
    let e = eos(&life, &options, move |r| DoneSlot::complete(&s, r));
    Finished {
        slot,
        eos: Some(e),
        domain: Hold::new(life.domain()),
    }
}

/// The future of [`finished`].
#[must_use = "futures do nothing unless polled"]
pub struct Finished {
    slot: Arc<Mutex<DoneSlot>>,
    eos: Option<Arc<Eos>>,
    domain: Hold,
}

impl Future for Finished {
    type Output = Result<()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if let Poll::Ready(r) = DoneSlot::poll(&self.slot, cx) {
            self.eos = None;
            return Poll::Ready(r);
        }
        self.domain.poll_run(cx);
        match DoneSlot::poll(&self.slot, cx) {
            Poll::Ready(r) => {
                self.eos = None;
                Poll::Ready(r)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Finished {
    fn drop(&mut self) {
        if let Some(e) = self.eos.take() {
            let _g = e.life.domain().enter();
            e.cleanup();
        }
    }
}
