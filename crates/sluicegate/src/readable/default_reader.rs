//! The `ReadableStreamDefaultReader` class and the reader abstract operations (§ "Readers").

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use crate::host::CellGuard;
use parking_lot::Mutex;

use crate::error::StreamError;
use crate::host::{Hold, HostRef};
use crate::promise::{PromiseCell, Promised};

use super::default_controller::pull_steps;
use super::stream::{
    is_readable_stream_locked, next_reader_id, readable_stream_cancel,
    readable_stream_reader_generic_release, ReaderRecord, Slots, Stream, StreamState,
};
use super::{ReadOutcome, ReadRequest};

struct ReaderInner<T: Send + 'static> {
    id: u64,
    host: HostRef,
    /// Keeps the stream's group from being abandoned while user code holds the reader; none for
    /// the core's own (a pipe's).
    hold: Hold,
    /// `[[stream]]`; `None` once released.
    stream: Mutex<Option<Stream<T>>>,
    /// `[[closedPromise]]`.
    closed: Mutex<Arc<PromiseCell<()>>>,
    /// Whether dropping the reader leaves the lock in place (see `keep_lock_on_drop`).
    keep_lock: std::sync::atomic::AtomicBool,
}

/// A reader that locks a [`ReadableStream`](super::ReadableStream) and reads chunks from it: the
/// standard's `ReadableStreamDefaultReader`.
///
/// Clones share one reader. When the last clone is dropped the lock is released, as if
/// [`release_lock`](Self::release_lock) had been called, so a dropped reader never leaves a stream
/// locked forever.
pub struct ReadableStreamDefaultReader<T: Send + 'static> {
    inner: Arc<ReaderInner<T>>,
}

impl<T: Send + 'static> Clone for ReadableStreamDefaultReader<T> {
    fn clone(&self) -> Self {
        ReadableStreamDefaultReader {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Send + 'static> fmt::Debug for ReadableStreamDefaultReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadableStreamDefaultReader")
            .field("released", &self.inner.stream.lock().is_none())
            .finish()
    }
}

fn released() -> StreamError {
    StreamError::type_error("the reader has been released")
}

/// AcquireReadableStreamDefaultReader (with SetUpReadableStreamDefaultReader and
/// ReadableStreamReaderGenericInitialize).
pub(crate) fn acquire_readable_stream_default_reader<T: Send + 'static>(
    stream: &Stream<T>,
    hold: Hold,
) -> Result<ReadableStreamDefaultReader<T>, StreamError> {
    let mut slots = stream.lock();
    if is_readable_stream_locked(&slots) {
        return Err(StreamError::type_error(
            "the stream is already locked to a reader",
        ));
    }
    let closed = match &slots.state {
        StreamState::Readable => PromiseCell::pending(),
        StreamState::Closed => PromiseCell::settled(Ok(())),
        StreamState::Errored(e) => PromiseCell::settled(Err(e.clone())),
    };
    let id = next_reader_id();
    slots.reader = Some(ReaderRecord::new(id, closed.clone(), false));
    drop(slots);
    Ok(ReadableStreamDefaultReader {
        inner: Arc::new(ReaderInner {
            id,
            host: stream.host.clone(),
            hold,
            stream: Mutex::new(Some(stream.clone())),
            closed: Mutex::new(closed),
            keep_lock: std::sync::atomic::AtomicBool::new(false),
        }),
    })
}

/// ReadableStreamDefaultReaderRead: performs the read on behalf of `make_request`'s request; a
/// result known at once is returned rather than handed to a request.
pub(crate) fn readable_stream_default_reader_read<T: Send + 'static>(
    stream: &Stream<T>,
    make_request: impl FnOnce() -> Box<dyn ReadRequest<T>>,
) -> ReadOutcome<T> {
    if stream.byte_stream {
        return super::byte_controller::default_reader_read_generic(stream, make_request);
    }
    readable_stream_default_reader_read_locked(stream, stream.lock(), make_request)
}

/// [`readable_stream_default_reader_read`] on the slots of a default stream that the caller has
/// locked already (a pipe that has just looked at the source's state), sparing a lock round trip;
/// a byte stream's read takes the lock afresh.
pub(crate) fn readable_stream_default_reader_read_locked<T: Send + 'static>(
    stream: &Stream<T>,
    mut slots: CellGuard<'_, Slots<T>>,
    make_request: impl FnOnce() -> Box<dyn ReadRequest<T>>,
) -> ReadOutcome<T> {
    if stream.byte_stream {
        drop(slots);
        return super::byte_controller::default_reader_read_generic(stream, make_request);
    }
    slots.disturbed = true;
    match &slots.state {
        StreamState::Closed => ReadOutcome::Closed,
        StreamState::Errored(e) => ReadOutcome::Errored(e.clone()),
        StreamState::Readable => pull_steps(stream, slots, make_request),
    }
}

impl<T: Send + 'static> ReadableStreamDefaultReader<T> {
    pub(crate) fn stream(&self) -> Option<Stream<T>> {
        self.inner.stream.lock().clone()
    }

    /// Reads the next chunk: `Some(chunk)`, or `None` once the stream is closed. Fails with the
    /// stream's error if it is errored, or a `TypeError` if the reader was released.
    ///
    /// The read is requested when this is called, not when the future is first polled, so reads
    /// are served in call order.
    pub fn read(&self) -> ReadFuture<T> {
        let hold = self.inner.hold.clone();
        let Some(stream) = self.stream() else {
            return ReadFuture::ready(Err(released()), self.inner.host.clone(), hold);
        };
        let _entered = stream.domain.enter();
        let mut cell = None;
        let outcome = readable_stream_default_reader_read(&stream, || {
            let c = PromiseCell::pending();
            cell = Some(c.clone());
            Box::new(CellRequest(Some(c)))
        });
        let host = stream.host.clone();
        match outcome {
            ReadOutcome::Chunk(chunk) | ReadOutcome::ChunkInBuffer(chunk, ..) => {
                ReadFuture::ready(Ok(Some(chunk)), host, hold)
            }
            ReadOutcome::Closed => ReadFuture::ready(Ok(None), host, hold),
            ReadOutcome::Errored(e) => ReadFuture::ready(Err(e), host, hold),
            ReadOutcome::Queued => ReadFuture {
                host,
                state: ReadState::Waiting(cell.expect("a queued read made its request")),
                _hold: hold,
            },
        }
    }

    /// Reads with explicit steps instead of a future: the request's chunk, close or error steps
    /// run exactly once, now or when the stream settles it. This is the primitive the standard
    /// calls a *read request*; `read()`, tee and pipes are built on it.
    pub fn read_with(&self, request: Box<dyn ReadRequest<T>>) -> Result<(), StreamError> {
        let stream = self.stream().ok_or_else(released)?;
        let _entered = stream.domain.enter();
        let mut request = Some(request);
        let outcome = readable_stream_default_reader_read(&stream, || request.take().expect("made once"));
        if let Some(request) = request {
            match outcome {
                ReadOutcome::Chunk(chunk) => request.chunk_steps(chunk),
                ReadOutcome::ChunkInBuffer(chunk, buffer, offset) => {
                    request.chunk_in_buffer_steps(chunk, buffer, offset)
                }
                ReadOutcome::Closed => request.close_steps(),
                ReadOutcome::Errored(e) => request.error_steps(e),
                ReadOutcome::Queued => unreachable!("a queued read consumed its request"),
            }
        }
        Ok(())
    }

    /// The standard's `closed`: settles when the stream closes (Ok) or errors (Err), or with a
    /// `TypeError` once the reader is released.
    pub fn closed(&self) -> Promised<()> {
        Promised::held(
            self.inner.host.clone(),
            self.inner.closed.lock().clone(),
            self.inner.hold.clone(),
        )
    }

    /// The standard's `cancel(reason)`: cancels the stream through this reader.
    pub fn cancel(&self, reason: StreamError) -> Promised<()> {
        let cell = match self.stream() {
            Some(stream) => {
                let _entered = stream.domain.enter();
                readable_stream_cancel(&stream, reason)
            }
            None => PromiseCell::settled(Err(released())),
        };
        Promised::held(self.inner.host.clone(), cell, self.inner.hold.clone())
    }

    /// The standard's `releaseLock()`: unlocks the stream; pending reads fail with a `TypeError`.
    /// Does nothing if already released.
    pub fn release_lock(&self) {
        readable_stream_default_reader_release(&self.inner);
    }

    /// Whether this reader still holds its stream's lock.
    pub fn is_attached(&self) -> bool {
        self.inner.stream.lock().is_some()
    }

    /// Makes dropping the last clone leave the stream locked, as a reader that JavaScript garbage
    /// collects does: the stream keeps serving this reader's `closed` promise and pending reads.
    /// For bindings, whose script-side reader may be collected while the stream lives on; native
    /// code should let the lock go with the reader.
    pub fn keep_lock_on_drop(&self) {
        self.inner
            .keep_lock
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// A handle that can release this reader without keeping it alive, for read requests that
    /// release their own reader (the async iterator's) and sit in the stream's list meanwhile.
    pub(crate) fn downgrade(&self) -> WeakReader<T> {
        WeakReader(Arc::downgrade(&self.inner))
    }

    /// The reader's host.
    pub(crate) fn host(&self) -> &HostRef {
        &self.inner.host
    }
}

/// A reader held weakly; see [`ReadableStreamDefaultReader::downgrade`].
pub(crate) struct WeakReader<T: Send + 'static>(Weak<ReaderInner<T>>);

impl<T: Send + 'static> WeakReader<T> {
    /// ReadableStreamDefaultReaderRelease, if the reader still exists (a reader that is gone has
    /// released its lock already).
    pub(crate) fn release(&self) {
        if let Some(inner) = self.0.upgrade() {
            readable_stream_default_reader_release(&inner);
        }
    }
}

/// ReadableStreamDefaultReaderRelease: ReadableStreamReaderGenericRelease, then
/// ReadableStreamDefaultReaderErrorReadRequests with a new `TypeError`.
fn readable_stream_default_reader_release<T: Send + 'static>(reader: &ReaderInner<T>) {
    let Some(stream) = reader.stream.lock().clone() else {
        return;
    };
    let _entered = stream.domain.enter();
    // Taken under the domain: a release racing another on a second thread finds it gone.
    if reader.stream.lock().take().is_none() {
        return;
    }
    let e = StreamError::type_error("the reader was released");
    let Some(record) = readable_stream_reader_generic_release(&stream, reader.id, &reader.closed, &e) else {
        return;
    };
    let requests = record.read_requests;
    for r in requests {
        r.error_steps(e.clone());
    }
}

impl<T: Send + 'static> Drop for ReaderInner<T> {
    fn drop(&mut self) {
        if *self.keep_lock.get_mut() {
            return;
        }
        readable_stream_default_reader_release(self);
    }
}

/// A native read request: settles a promise cell. Dropped unsettled, which happens only when its
/// stream is freed with the read still waiting (a reader left locked with `keep_lock_on_drop`
/// and every handle gone), it fails the read with a `TypeError` instead of leaving its future
/// pending for good.
struct CellRequest<T>(Option<Arc<PromiseCell<Option<T>>>>);

impl<T> CellRequest<T> {
    fn take(&mut self) -> Arc<PromiseCell<Option<T>>> {
        self.0.take().expect("a request settles once")
    }
}

impl<T: Send> ReadRequest<T> for CellRequest<T> {
    fn chunk_steps(mut self: Box<Self>, chunk: T) {
        self.take().resolve(Some(chunk));
    }
    fn close_steps(mut self: Box<Self>) {
        self.take().resolve(None);
    }
    fn error_steps(mut self: Box<Self>, e: StreamError) {
        self.take().reject(e);
    }
}

impl<T> Drop for CellRequest<T> {
    fn drop(&mut self) {
        if let Some(cell) = self.0.take() {
            cell.reject(StreamError::type_error(
                "the stream was dropped while this read waited",
            ));
        }
    }
}

enum ReadState<T> {
    Ready(Option<Result<Option<T>, StreamError>>),
    Waiting(Arc<PromiseCell<Option<T>>>),
}

/// The future [`ReadableStreamDefaultReader::read`] returns: `Some(chunk)`, or `None` at the end.
#[must_use = "the read has been requested; dropping this future loses the chunk it receives"]
pub struct ReadFuture<T> {
    host: HostRef,
    state: ReadState<T>,
    /// Keeps the stream's group from being abandoned while the read may still be awaited.
    _hold: Hold,
}

impl<T> ReadFuture<T> {
    fn ready(result: Result<Option<T>, StreamError>, host: HostRef, hold: Hold) -> Self {
        ReadFuture {
            host,
            state: ReadState::Ready(Some(result)),
            _hold: hold,
        }
    }
}

impl<T> Unpin for ReadFuture<T> {}

impl<T> Future for ReadFuture<T> {
    type Output = Result<Option<T>, StreamError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match &mut this.state {
            ReadState::Ready(r) => {
                // The result is known, but steps queued before it (a reaction to the last pull)
                // run first, as they would before the continuation of an `await`.
                this.host.run_queued();
                Poll::Ready(
                    r.take()
                        .unwrap_or_else(|| Err(StreamError::type_error("polled after completion"))),
                )
            }
            ReadState::Waiting(cell) => {
                this.host.poll_progress(cx);
                cell.poll_take(cx)
            }
        }
    }
}
