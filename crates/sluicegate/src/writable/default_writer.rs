//! The `WritableStreamDefaultWriter` class and the writer abstract operations (§ "Writers").

use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::StreamError;
use crate::host::{DomainCell, Hold, HostRef};
use crate::promise::{PromiseCell, Promised};

use super::default_controller::{
    writable_stream_default_controller_get_chunk_size, writable_stream_default_controller_get_desired_size,
    writable_stream_default_controller_write_locked,
};
use super::stream::{
    hold_until_started, is_writable_stream_locked, let_go_if_idle, locked, next_writer_id,
    writable_stream_abort, writable_stream_add_write_request, writable_stream_close_locked,
    writable_stream_close_queued_or_in_flight, Stream, WritableState, WriterRecord,
};

/// A writer's `[[readyPromise]]` and `[[closedPromise]]`, shared between the writer handle and the
/// stream it locks. The stream replaces and settles them under its own lock, taking this one
/// second; the writer handle takes only this one.
pub(crate) struct WriterPromises {
    /// `[[readyPromise]]`, made only once someone asks for it ([`ready`](Self::ready)): a writer
    /// nobody asks (as a pipe's, while the destination applies no backpressure) keeps its state.
    ready: Ready,
    pub(crate) closed: Arc<PromiseCell<()>>,
    /// Stands in for `ready` while a pipe holds the writer (see [`ReadyWaiter`]).
    pub(crate) ready_waiter: Option<ReadyWaiter>,
}

/// A pipe's wait for its writer's `ready` promise, without the promise: the pipe holds the only
/// writer, so nothing else can see `ready`, and making, settling and reacting to a new cell each
/// time backpressure flips (once per chunk when the pipes of a group move in lock-step) is work
/// for nobody. The writer's promises update it wherever they replace or settle `ready`
/// (`resolve_ready`, `replace_ready_with_pending`, `reject_ready`), and it calls the pipe back
/// exactly where the cell would have run the pipe's reaction.
pub(crate) struct ReadyWaiter {
    /// The pipe's reaction ("upon settlement of ready": a step).
    wake: Box<dyn Fn() + Send + Sync>,
    /// Whether `ready` would be pending.
    pending: bool,
    /// Counts the `ready` promises the writer would have had: one more each time it would have
    /// been replaced by a new one.
    generation: u64,
    /// The generation the pipe reacts to, once it has asked ([`ReadyWaiter::watch`]).
    watched: Option<u64>,
    /// Whether the pipe waits for the current (pending) generation to settle.
    armed: bool,
}

impl ReadyWaiter {
    /// For a writer whose `ready` is pending (`pending`) or settled now.
    pub(crate) fn new(pending: bool, wake: Box<dyn Fn() + Send + Sync>) -> Self {
        ReadyWaiter {
            wake,
            pending,
            generation: 0,
            watched: None,
            armed: false,
        }
    }

    /// `ready` would be replaced by a new pending promise.
    pub(crate) fn replace_pending(&mut self) {
        self.generation += 1;
        self.pending = true;
        self.armed = false;
    }

    /// `ready` would be settled (resolved or rejected) if pending, or else replaced by a new
    /// settled promise (`replace_if_settled`, as `EnsureReadyPromiseRejected` does).
    pub(crate) fn settle(&mut self, replace_if_settled: bool) {
        if self.pending {
            self.pending = false;
            if std::mem::take(&mut self.armed) {
                (self.wake)();
            }
        } else if replace_if_settled {
            self.generation += 1;
        }
    }

    /// "Upon settlement of ready", once per promise: returns whether the pipe must react at once
    /// (the promise is settled); a pending one calls `wake` when it settles.
    pub(crate) fn watch(&mut self) -> bool {
        if self.watched == Some(self.generation) {
            return false;
        }
        self.watched = Some(self.generation);
        if self.pending {
            self.armed = true;
            false
        } else {
            true
        }
    }
}

/// A writer's `[[readyPromise]]`: the promise, or the state of one not made yet.
enum Ready {
    Pending,
    Resolved,
    Rejected(StreamError),
    Made(Arc<PromiseCell<()>>),
}

impl WriterPromises {
    /// The `ready` promise, made now if it was not yet (in the state it would have had).
    pub(crate) fn ready(&mut self) -> Arc<PromiseCell<()>> {
        let cell = match &self.ready {
            Ready::Made(cell) => return cell.clone(),
            Ready::Pending => PromiseCell::pending(),
            Ready::Resolved => PromiseCell::settled(Ok(())),
            Ready::Rejected(e) => PromiseCell::settled(Err(e.clone())),
        };
        self.ready = Ready::Made(cell.clone());
        cell
    }

    /// Whether the `ready` promise is (or would be, if made) pending.
    pub(crate) fn ready_is_pending(&self) -> bool {
        match &self.ready {
            Ready::Made(cell) => cell.is_pending(),
            Ready::Pending => true,
            Ready::Resolved | Ready::Rejected(_) => false,
        }
    }

    /// Resolves the `ready` promise with undefined (nothing if it is settled). A pipe's
    /// [`ReadyWaiter`] is settled with it, so the two never disagree.
    pub(crate) fn resolve_ready(&mut self) {
        if let Some(waiter) = self.ready_waiter.as_mut() {
            waiter.settle(false);
        }
        match &self.ready {
            Ready::Made(cell) => {
                cell.resolve(());
            }
            Ready::Pending => self.ready = Ready::Resolved,
            Ready::Resolved | Ready::Rejected(_) => {}
        }
    }

    /// Replaces the `ready` promise with a new pending one (and a pipe's [`ReadyWaiter`] with
    /// its next generation).
    pub(crate) fn replace_ready_with_pending(&mut self) {
        if let Some(waiter) = self.ready_waiter.as_mut() {
            waiter.replace_pending();
        }
        self.ready = Ready::Pending;
    }

    /// Rejects the `ready` promise if it is pending, or else replaces it with a new rejected one
    /// (a pipe's [`ReadyWaiter`] likewise).
    fn reject_ready(&mut self, error: StreamError) {
        if let Some(waiter) = self.ready_waiter.as_mut() {
            waiter.settle(true);
        }
        // A settled promise is replaced by a new rejected one; one not made yet is made rejected.
        let rejected = match &self.ready {
            Ready::Made(cell) => cell.reject(error.clone()),
            Ready::Pending | Ready::Resolved | Ready::Rejected(_) => false,
        };
        if !rejected {
            self.ready = Ready::Rejected(error);
        }
    }
}

struct WriterInner<T: Send + 'static> {
    id: u64,
    host: HostRef,
    /// Keeps the stream's group from being abandoned while user code holds the writer; none for
    /// the core's own (a pipe's).
    hold: Hold,
    /// `[[stream]]`; `None` once released.
    stream: Mutex<Option<Stream<T>>>,
    /// Guarded by the stream's domain, like the stream's own slots: the stream updates them in
    /// its steps, and the handle's getters enter the domain.
    promises: Arc<DomainCell<WriterPromises>>,
    /// Whether dropping the writer leaves the lock in place (see `keep_lock_on_drop`).
    keep_lock: std::sync::atomic::AtomicBool,
}

/// A writer that locks a [`WritableStream`](super::WritableStream) and writes chunks to it: the
/// standard's `WritableStreamDefaultWriter`.
///
/// Clones share one writer. When the last clone is dropped the lock is released, as if
/// [`release_lock`](Self::release_lock) had been called; writes already made carry on.
///
/// ```
/// use sluicegate::writable::{SinkFn, WritableStream};
///
/// # futures::executor::block_on(async {
/// let stream = WritableStream::new(SinkFn::<u32>::new()).unwrap();
/// let writer = stream.get_writer().unwrap();
/// assert_eq!(writer.desired_size().unwrap(), Some(1.0));
/// let write = writer.write(7); // queued now; the future reports how it ended
/// assert_eq!(writer.desired_size().unwrap(), Some(0.0));
/// write.await.unwrap();
/// writer.ready().await.unwrap();
/// writer.close().await.unwrap();
/// writer.closed().await.unwrap();
/// # });
/// ```
pub struct WritableStreamDefaultWriter<T: Send + 'static> {
    inner: Arc<WriterInner<T>>,
}

impl<T: Send + 'static> Clone for WritableStreamDefaultWriter<T> {
    fn clone(&self) -> Self {
        WritableStreamDefaultWriter {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Send + 'static> fmt::Debug for WritableStreamDefaultWriter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WritableStreamDefaultWriter")
            .field("released", &self.inner.stream.lock().is_none())
            .finish()
    }
}

fn released() -> StreamError {
    StreamError::type_error("the writer has been released")
}

/// AcquireWritableStreamDefaultWriter (with SetUpWritableStreamDefaultWriter).
pub(crate) fn acquire_writable_stream_default_writer<T: Send + 'static>(
    stream: &Stream<T>,
    hold: Hold,
) -> Result<WritableStreamDefaultWriter<T>, StreamError> {
    let mut slots = stream.lock();
    // 1.
    if is_writable_stream_locked(&slots) {
        return Err(StreamError::type_error(
            "the stream is already locked to a writer",
        ));
    }
    // 4–8.
    let (ready, closed) = match &slots.state {
        WritableState::Writable => {
            let ready = if !writable_stream_close_queued_or_in_flight(&slots) && slots.backpressure {
                Ready::Pending
            } else {
                Ready::Resolved
            };
            (ready, PromiseCell::pending())
        }
        WritableState::Erroring(e) => (Ready::Rejected(e.clone()), PromiseCell::pending()),
        WritableState::Closed => (Ready::Resolved, PromiseCell::settled(Ok(()))),
        WritableState::Errored(e) => (Ready::Rejected(e.clone()), PromiseCell::settled(Err(e.clone()))),
    };
    let promises = Arc::new(DomainCell::new(
        Arc::clone(&stream.domain),
        WriterPromises {
            ready,
            closed,
            ready_waiter: None,
        },
    ));
    // 2–3.
    let id = next_writer_id();
    slots.writer = Some(WriterRecord {
        id,
        promises: promises.clone(),
    });
    // A writer may queue work behind the start: the stream holds itself until it settles.
    hold_until_started(stream, &mut slots);
    drop(slots);
    Ok(WritableStreamDefaultWriter {
        inner: Arc::new(WriterInner {
            id,
            host: stream.host.clone(),
            hold,
            stream: Mutex::new(Some(stream.clone())),
            promises,
            keep_lock: std::sync::atomic::AtomicBool::new(false),
        }),
    })
}

/// WritableStreamDefaultWriterCloseWithErrorPropagation (for pipes): closes the stream unless it
/// is already closing or closed (resolved) or errored (rejected with the stored error).
#[allow(dead_code)] // called by pipes and transform streams
pub(crate) fn writable_stream_default_writer_close_with_error_propagation<T: Send + 'static>(
    writer: &WritableStreamDefaultWriter<T>,
) -> Arc<PromiseCell<()>> {
    // 1–2.
    let Some(stream) = writer.stream() else {
        return PromiseCell::settled(Err(released()));
    };
    locked(&stream, |slots, fx| {
        // 3–4.
        if writable_stream_close_queued_or_in_flight(slots) || matches!(slots.state, WritableState::Closed) {
            return PromiseCell::settled(Ok(()));
        }
        // 5.
        if let WritableState::Errored(e) = &slots.state {
            return PromiseCell::settled(Err(e.clone()));
        }
        // 6–7. WritableStreamDefaultWriterClose.
        writable_stream_close_locked(slots, fx)
    })
}

/// WritableStreamDefaultWriterEnsureClosedPromiseRejected.
pub(crate) fn writable_stream_default_writer_ensure_closed_promise_rejected(
    promises: &DomainCell<WriterPromises>,
    error: StreamError,
) {
    let mut promises = promises.lock();
    if !promises.closed.reject(error.clone()) {
        promises.closed = PromiseCell::settled(Err(error));
    }
}

/// WritableStreamDefaultWriterEnsureReadyPromiseRejected.
pub(crate) fn writable_stream_default_writer_ensure_ready_promise_rejected(
    promises: &DomainCell<WriterPromises>,
    error: StreamError,
) {
    promises.lock().reject_ready(error);
}

/// WritableStreamDefaultWriterGetDesiredSize.
pub(crate) fn writable_stream_default_writer_get_desired_size<T: Send + 'static>(
    stream: &Stream<T>,
) -> Option<f64> {
    let slots = stream.lock();
    match slots.state {
        WritableState::Errored(_) | WritableState::Erroring(_) => None,
        WritableState::Closed => Some(0.0),
        WritableState::Writable => Some(writable_stream_default_controller_get_desired_size(&slots)),
    }
}

/// WritableStreamDefaultWriterRelease. Does nothing if the writer is already released.
pub(crate) fn writable_stream_default_writer_release<T: Send + 'static>(
    writer: &WritableStreamDefaultWriter<T>,
) {
    release(&writer.inner);
}

fn release<T: Send + 'static>(writer: &WriterInner<T>) {
    // 1–2. (`[[stream]]` is cleared first, so a concurrent release finds nothing to do.)
    let Some(stream) = writer.stream.lock().clone() else {
        return;
    };
    let _entered = stream.domain.enter();
    // Taken under the domain: a release racing another on a second thread finds it gone.
    if writer.stream.lock().take().is_none() {
        return;
    }
    let mut slots = stream.lock();
    // 3.
    match &slots.writer {
        Some(record) if record.id == writer.id => {}
        _ => return,
    }
    // 4. One TypeError for both promises.
    let released_error = StreamError::type_error("the writer was released");
    // 5–6.
    writable_stream_default_writer_ensure_ready_promise_rejected(&writer.promises, released_error.clone());
    writable_stream_default_writer_ensure_closed_promise_rejected(&writer.promises, released_error);
    // 7–8.
    slots.writer = None;
    // A writer released with nothing queued leaves nothing for the start to go on with.
    let hold = let_go_if_idle(&mut slots);
    drop(slots);
    drop(hold);
}

/// WritableStreamDefaultWriterWrite: performs the write's steps now and returns the promise the
/// standard returns. A released writer gets a promise rejected with a `TypeError` (the `write()`
/// method's first step).
pub(crate) fn writable_stream_default_writer_write<T: Send + 'static>(
    writer: &WritableStreamDefaultWriter<T>,
    chunk: T,
) -> Arc<PromiseCell<()>> {
    // 1–2.
    let Some(stream) = writer.stream() else {
        return PromiseCell::settled(Err(released()));
    };
    let _entered = stream.domain.enter();
    let promise = PromiseCell::pending();
    if let Err(e) =
        writable_stream_default_writer_write_to(&stream, writer.inner.id, chunk, Some(promise.clone()))
    {
        // Rejected at once: the request was never added, so this is the only handle.
        promise.reject(e);
    }
    promise
}

/// WritableStreamDefaultWriterWrite for a caller that holds the writer's stream and not the
/// write's promise (a pipe): the write request gets a promise only if one is asked for later
/// ([`writable_stream_last_write_request`](super::stream::writable_stream_last_write_request)).
/// `Err` is the rejection the promise would have had at once; a writer that no longer locks
/// `stream` gets a `TypeError`.
pub(crate) fn writable_stream_default_writer_write_untracked<T: Send + 'static>(
    writer: &WritableStreamDefaultWriter<T>,
    stream: &Stream<T>,
    chunk: T,
) -> Result<(), StreamError> {
    writable_stream_default_writer_write_to(stream, writer.inner.id, chunk, None)
}

/// WritableStreamDefaultWriterWrite from step 3, on writer.`[[stream]]` (`stream`), with the promise
/// its write request settles (if any); `Err` is the reason the returned promise is rejected with
/// at once.
fn writable_stream_default_writer_write_to<T: Send + 'static>(
    stream: &Stream<T>,
    writer_id: u64,
    chunk: T,
    promise: Option<Arc<PromiseCell<()>>>,
) -> Result<(), StreamError> {
    // 3–4. Measuring the chunk runs user code, which may use this writer or stream.
    let chunk_size = writable_stream_default_controller_get_chunk_size(stream, &chunk);
    locked(stream, |slots, fx| {
        // 5. If stream is not equal to writer.[[stream]] (the writer was released meanwhile).
        if slots.writer.as_ref().map(|w| w.id) != Some(writer_id) {
            fx.discard(chunk);
            return Err(StreamError::type_error(
                "the writer was released while the chunk was measured",
            ));
        }
        // 6–7.
        if let WritableState::Errored(e) = &slots.state {
            let e = e.clone();
            fx.discard(chunk);
            return Err(e);
        }
        // 8.
        if writable_stream_close_queued_or_in_flight(slots) || matches!(slots.state, WritableState::Closed) {
            fx.discard(chunk);
            return Err(StreamError::type_error(
                "cannot write to a stream that is closing or closed",
            ));
        }
        // 9.
        if let WritableState::Erroring(e) = &slots.state {
            let e = e.clone();
            fx.discard(chunk);
            return Err(e);
        }
        // 10–12.
        writable_stream_add_write_request(slots, promise);
        writable_stream_default_controller_write_locked(slots, chunk, chunk_size, fx);
        Ok(())
    })
}

impl<T: Send + 'static> WritableStreamDefaultWriter<T> {
    /// `[[stream]]`: the stream this writer locks, `None` once released.
    pub(crate) fn stream(&self) -> Option<Stream<T>> {
        self.inner.stream.lock().clone()
    }

    /// The standard's `closed`: settles when the stream closes (Ok) or errors (Err), or with a
    /// `TypeError` once the writer is released.
    pub fn closed(&self) -> Promised<()> {
        let closed = self.inner.promises.with_entered(|p| p.closed.clone());
        Promised::held(self.inner.host.clone(), closed, self.inner.hold.clone())
    }

    /// The standard's `ready`: settles when the stream stops applying backpressure (its desired
    /// size turns positive), or fails when it errors or the writer is released. Each call returns
    /// the promise current at that moment; when backpressure returns, a new pending one replaces
    /// it.
    pub fn ready(&self) -> Promised<()> {
        let ready = self.inner.promises.with_entered(|p| p.ready());
        Promised::held(self.inner.host.clone(), ready, self.inner.hold.clone())
    }

    /// The standard's `desiredSize`: the high-water mark minus the size of the queued chunks
    /// (negative when over-full); `None` when the stream is errored or erroring (an abort is
    /// pending), 0 once it is closed. A `TypeError` if the writer was released.
    pub fn desired_size(&self) -> Result<Option<f64>, StreamError> {
        let stream = self.stream().ok_or_else(released)?;
        let _entered = stream.domain.enter();
        Ok(writable_stream_default_writer_get_desired_size(&stream))
    }

    /// The standard's `write(chunk)`: queues `chunk` now (measuring it, updating the desired size
    /// and backpressure before returning) and returns a future for the sink's result. Fails with
    /// a `TypeError` if the writer was released or the stream is closing or closed, or with the
    /// stream's error if it is errored.
    pub fn write(&self, chunk: T) -> Promised<()> {
        Promised::held(
            self.inner.host.clone(),
            writable_stream_default_writer_write(self, chunk),
            self.inner.hold.clone(),
        )
    }

    /// The standard's `close()`: closes the stream once every queued write has been written. A
    /// `TypeError` if the writer was released or a close is already queued or in flight.
    pub fn close(&self) -> Promised<()> {
        let cell = match self.stream() {
            None => PromiseCell::settled(Err(released())),
            Some(stream) => {
                let _entered = stream.domain.enter();
                locked(&stream, |slots, fx| {
                    if writable_stream_close_queued_or_in_flight(slots) {
                        PromiseCell::settled(Err(StreamError::type_error("the stream is already closing")))
                    } else {
                        writable_stream_close_locked(slots, fx)
                    }
                })
            }
        };
        Promised::held(self.inner.host.clone(), cell, self.inner.hold.clone())
    }

    /// The standard's `abort(reason)`: aborts the stream (see
    /// [`WritableStream::abort`](super::WritableStream::abort)). A `TypeError` if the writer was
    /// released.
    pub fn abort(&self, reason: StreamError) -> Promised<()> {
        let cell = match self.stream() {
            None => PromiseCell::settled(Err(released())),
            Some(stream) => {
                let _entered = stream.domain.enter();
                writable_stream_abort(&stream, reason)
            }
        };
        Promised::held(self.inner.host.clone(), cell, self.inner.hold.clone())
    }

    /// The standard's `releaseLock()`: unlocks the stream; `ready` and `closed` fail with a
    /// `TypeError` from now on. Writes already made carry on. Does nothing if already released.
    pub fn release_lock(&self) {
        writable_stream_default_writer_release(self);
    }

    /// Whether this writer still holds its stream's lock.
    pub fn is_attached(&self) -> bool {
        self.inner.stream.lock().is_some()
    }

    /// Makes dropping the last clone leave the stream locked, as a writer that JavaScript garbage
    /// collects does: the stream keeps settling this writer's `ready` and `closed` promises. For
    /// bindings, whose script-side writer may be collected while the stream lives on; native code
    /// should let the lock go with the writer.
    pub fn keep_lock_on_drop(&self) {
        self.inner
            .keep_lock
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl<T: Send + 'static> Drop for WriterInner<T> {
    fn drop(&mut self) {
        if *self.keep_lock.get_mut() {
            return;
        }
        release(self);
    }
}

#[cfg(test)]
mod tests {
    use super::ReadyWaiter;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn waiter(pending: bool) -> (ReadyWaiter, Arc<AtomicUsize>) {
        let woken = Arc::new(AtomicUsize::new(0));
        let w = woken.clone();
        let waiter = ReadyWaiter::new(
            pending,
            Box::new(move || {
                w.fetch_add(1, Ordering::SeqCst);
            }),
        );
        (waiter, woken)
    }

    #[test]
    fn a_ready_waiter_reacts_once_per_promise_the_writer_would_have_had() {
        let (mut waiter, woken) = waiter(false);
        // A settled `ready`: the reaction is due at once, and only once for this promise.
        assert!(waiter.watch());
        assert!(!waiter.watch());
        // Backpressure: a new pending promise, watched; settling it calls the pipe back once.
        waiter.replace_pending();
        assert!(!waiter.watch());
        assert_eq!(woken.load(Ordering::SeqCst), 0);
        waiter.settle(false);
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        waiter.settle(false);
        assert_eq!(woken.load(Ordering::SeqCst), 1, "a settled promise settles once");
        assert!(!waiter.watch(), "the same promise is not watched twice");
        // A pending promise nobody watches settles without a call.
        waiter.replace_pending();
        waiter.settle(false);
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        // EnsureReadyPromiseRejected on a settled promise makes a new, settled one.
        waiter.settle(true);
        assert!(waiter.watch());
    }

    #[test]
    fn a_ready_waiter_made_while_ready_is_pending_waits_for_it() {
        let (mut waiter, woken) = waiter(true);
        assert!(!waiter.watch());
        waiter.settle(true);
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert!(!waiter.watch());
    }
}
