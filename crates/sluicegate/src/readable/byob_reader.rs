//! The `ReadableStreamBYOBReader` class and its abstract operations (§ "Readers").

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::error::StreamError;
use crate::host::{Hold, HostRef};
use crate::promise::{PromiseCell, Promised};

use super::byob_view::ByobView;
use super::byte_controller::readable_byte_stream_controller_pull_into;
use super::stream::readable_stream_reader_generic_release;
use super::stream::{
    is_readable_stream_locked, next_reader_id, readable_stream_cancel, ReaderRecord, Stream, StreamState,
};

/// A read-into request: the steps to run when a BYOB read is fulfilled.
///
/// Exactly one method is called, exactly once, with no stream lock held.
pub trait ReadIntoRequest: Send {
    /// The read filled `view` (at least the read's minimum).
    fn chunk_steps(self: Box<Self>, view: ByobView);
    /// The stream is closed: `view` is the buffer with what was filled (possibly nothing), or
    /// `None` when the stream was cancelled.
    fn close_steps(self: Box<Self>, view: Option<ByobView>);
    /// The stream errored (or the reader was released) with `e`; the buffer is lost.
    fn error_steps(self: Box<Self>, e: StreamError);
}

/// What a BYOB read produced: the standard's `{ value, done }`.
#[derive(Debug)]
pub struct ReadIntoResult {
    /// The filled view, on the buffer passed to `read` (`None` after a cancel).
    pub view: Option<ByobView>,
    /// Whether the stream is closed (the view then holds what was left, often nothing).
    pub done: bool,
}

struct ReaderInner {
    id: u64,
    host: HostRef,
    /// Keeps the stream's group from being abandoned while user code holds the reader.
    hold: Hold,
    stream: Mutex<Option<Stream<Bytes>>>,
    closed: Mutex<Arc<PromiseCell<()>>>,
    /// Whether dropping the reader leaves the lock in place (see `keep_lock_on_drop`).
    keep_lock: std::sync::atomic::AtomicBool,
}

/// A reader that reads a byte stream into buffers the caller supplies: the standard's
/// `ReadableStreamBYOBReader`. Get one with
/// [`ReadableStream::get_byob_reader`](super::ReadableStream::get_byob_reader).
///
/// Clones share one reader; dropping the last releases the lock.
///
/// ```
/// use bytes::Bytes;
/// use sluicegate::readable::{ArrayBuffer, ByobView, ByteSourceFn, ReadableStream, ViewType};
/// use sluicegate::Completion;
///
/// # futures::executor::block_on(async {
/// let stream = ReadableStream::new_bytes(ByteSourceFn::new().start(|c| {
///     c.enqueue(Bytes::from_static(&[1, 2, 3, 4, 5])).unwrap();
///     c.close().unwrap();
///     Completion::ok()
/// }))
/// .unwrap();
/// let reader = stream.get_byob_reader().unwrap();
/// // A Uint16 view is filled in whole elements: 4 of the 5 bytes.
/// let view = ByobView::with_type(ArrayBuffer::aligned(8), ViewType::Uint16, 0, 4).unwrap();
/// let result = reader.read(view).await.unwrap();
/// assert_eq!(result.view.as_ref().unwrap().as_slice(), &[1, 2, 3, 4]);
/// assert!(!result.done);
/// let result = reader.read(ByobView::new(ArrayBuffer::new(8))).await.unwrap();
/// assert_eq!(result.view.unwrap().as_slice(), &[5]);
/// let result = reader.read(ByobView::new(ArrayBuffer::new(8))).await.unwrap();
/// assert!(result.done);
/// # });
/// ```
#[derive(Clone)]
pub struct ReadableStreamBYOBReader {
    inner: Arc<ReaderInner>,
}

impl fmt::Debug for ReadableStreamBYOBReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadableStreamBYOBReader")
            .field("released", &self.inner.stream.lock().is_none())
            .finish()
    }
}

fn released() -> StreamError {
    StreamError::type_error("the reader has been released")
}

/// AcquireReadableStreamBYOBReader (SetUpReadableStreamBYOBReader).
pub(crate) fn acquire_readable_stream_byob_reader(
    stream: &Stream<Bytes>,
    hold: Hold,
) -> Result<ReadableStreamBYOBReader, StreamError> {
    let mut slots = stream.lock();
    if is_readable_stream_locked(&slots) {
        return Err(StreamError::type_error(
            "the stream is already locked to a reader",
        ));
    }
    if slots.byte.is_none() {
        return Err(StreamError::type_error(
            "a BYOB reader needs a readable byte stream",
        ));
    }
    let closed = match &slots.state {
        StreamState::Readable => PromiseCell::pending(),
        StreamState::Closed => PromiseCell::settled(Ok(())),
        StreamState::Errored(e) => PromiseCell::settled(Err(e.clone())),
    };
    let id = next_reader_id();
    slots.reader = Some(ReaderRecord::new(id, closed.clone(), true));
    drop(slots);
    Ok(ReadableStreamBYOBReader {
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

/// ReadableStreamBYOBReaderRead. Steps 3–5 (set `[[disturbed]]`, the errored check, PullInto)
/// run under one lock of the stream, inside [`readable_byte_stream_controller_pull_into`], so a
/// concurrent error or release cannot slip between them.
pub(crate) fn readable_stream_byob_reader_read(
    stream: &Stream<Bytes>,
    view: ByobView,
    min: usize,
    request: Box<dyn ReadIntoRequest>,
) {
    readable_byte_stream_controller_pull_into(stream, view, min, request);
}

/// The checks of the standard's `read(view, { min })` before the read starts.
fn check_read_arguments(view: &ByobView, min: usize) -> Result<(), StreamError> {
    if view.byte_length() == 0 {
        return Err(StreamError::type_error("the view must not be empty"));
    }
    if view.buffer().is_empty() {
        return Err(StreamError::type_error("the view's buffer must not be empty"));
    }
    if min == 0 {
        return Err(StreamError::type_error("min must be greater than 0"));
    }
    if view.view_type().is_typed_array() {
        if min > view.len() {
            return Err(StreamError::range_error("min must not exceed the view's length"));
        }
    } else if min > view.byte_length() {
        return Err(StreamError::range_error(
            "min must not exceed the view's byte length",
        ));
    }
    Ok(())
}

impl ReadableStreamBYOBReader {
    /// Reads into `view`: resolves with the view filled with at least one element, or `done` with
    /// an empty view once the stream is closed. The buffer moves into the stream and comes back in
    /// the result (the standard's transfer); a source that responds to the BYOB request writes
    /// straight into it.
    ///
    /// Fails with a `TypeError` for an empty view or a released reader, and with the stream's
    /// error if it errors (the buffer is then dropped).
    pub fn read(&self, view: ByobView) -> ReadIntoFuture {
        self.read_min(view, 1)
    }

    /// Like [`read`](Self::read) with the `min` option: the read completes only once `min`
    /// elements (bytes for a `DataView`) are filled, or the stream closes. `min` of 0 is a
    /// `TypeError`; more than the view's length is a `RangeError`.
    pub fn read_min(&self, view: ByobView, min: usize) -> ReadIntoFuture {
        let host = self.inner.host.clone();
        let cell = PromiseCell::pending();
        let request = Box::new(CellRequest(Some(cell.clone())));
        if let Err((e, _view)) = self.read_into_with(view, min, request) {
            return ReadIntoFuture {
                host,
                cell: PromiseCell::settled(Err(e)),
                _hold: self.inner.hold.clone(),
            };
        }
        ReadIntoFuture {
            host,
            cell,
            _hold: self.inner.hold.clone(),
        }
    }

    /// Reads with explicit steps (a *read-into request*) instead of a future. The argument checks
    /// of `read` fail synchronously, handing the view back untouched (the standard rejects before
    /// transferring the buffer) and leaving the request unused; otherwise exactly one of the
    /// request's steps runs, now or later.
    pub fn read_into_with(
        &self,
        view: ByobView,
        min: usize,
        request: Box<dyn ReadIntoRequest>,
    ) -> Result<(), (StreamError, ByobView)> {
        if let Err(e) = check_read_arguments(&view, min) {
            return Err((e, view));
        }
        let Some(stream) = self.inner.stream.lock().clone() else {
            return Err((released(), view));
        };
        let _entered = stream.domain.enter();
        readable_stream_byob_reader_read(&stream, view, min, request);
        Ok(())
    }

    /// The standard's `closed`.
    pub fn closed(&self) -> Promised<()> {
        Promised::held(
            self.inner.host.clone(),
            self.inner.closed.lock().clone(),
            self.inner.hold.clone(),
        )
    }

    /// The standard's `cancel(reason)`.
    pub fn cancel(&self, reason: StreamError) -> Promised<()> {
        let stream = self.inner.stream.lock().clone();
        let cell = match stream {
            Some(stream) => {
                let _entered = stream.domain.enter();
                readable_stream_cancel(&stream, reason)
            }
            None => PromiseCell::settled(Err(released())),
        };
        Promised::held(self.inner.host.clone(), cell, self.inner.hold.clone())
    }

    /// The standard's `releaseLock()`: pending reads fail with a `TypeError`.
    pub fn release_lock(&self) {
        readable_stream_byob_reader_release(&self.inner);
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
}

/// ReadableStreamBYOBReaderRelease: ReadableStreamReaderGenericRelease (with the controller's
/// `[[ReleaseSteps]]`), then ReadableStreamBYOBReaderErrorReadIntoRequests with a `TypeError`.
fn readable_stream_byob_reader_release(reader: &ReaderInner) {
    let Some(stream) = reader.stream.lock().clone() else {
        return;
    };
    let _entered = stream.domain.enter();
    // Taken under the domain: a release racing another on a second thread finds it gone.
    if reader.stream.lock().take().is_none() {
        return;
    }
    let e = StreamError::type_error("the reader was released");
    let Some(mut record) = readable_stream_reader_generic_release(&stream, reader.id, &reader.closed, &e)
    else {
        return;
    };
    let requests = record.take_read_into_requests();
    for r in requests {
        r.error_steps(e.clone());
    }
}

impl Drop for ReaderInner {
    fn drop(&mut self) {
        if *self.keep_lock.get_mut() {
            return;
        }
        readable_stream_byob_reader_release(self);
    }
}

/// The native read-into request: settles a promise cell.
/// A native read-into request: settles a promise cell. Dropped unsettled (its stream freed with
/// the read still waiting, the buffer with it), it fails the read with a `TypeError` instead of
/// leaving its future pending for good.
struct CellRequest(Option<Arc<PromiseCell<ReadIntoResult>>>);

impl CellRequest {
    fn take(&mut self) -> Arc<PromiseCell<ReadIntoResult>> {
        self.0.take().expect("a request settles once")
    }
}

impl ReadIntoRequest for CellRequest {
    fn chunk_steps(mut self: Box<Self>, view: ByobView) {
        self.take().resolve(ReadIntoResult {
            view: Some(view),
            done: false,
        });
    }
    fn close_steps(mut self: Box<Self>, view: Option<ByobView>) {
        self.take().resolve(ReadIntoResult { view, done: true });
    }
    fn error_steps(mut self: Box<Self>, e: StreamError) {
        self.take().reject(e);
    }
}

impl Drop for CellRequest {
    fn drop(&mut self) {
        if let Some(cell) = self.0.take() {
            cell.reject(StreamError::type_error(
                "the stream was dropped while this read waited",
            ));
        }
    }
}

/// The future [`ReadableStreamBYOBReader::read`] returns.
#[must_use = "the read has been requested; dropping this future loses the buffer it fills"]
pub struct ReadIntoFuture {
    host: HostRef,
    cell: Arc<PromiseCell<ReadIntoResult>>,
    /// Keeps the stream's group from being abandoned while the read may still be awaited.
    _hold: Hold,
}

impl fmt::Debug for ReadIntoFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadIntoFuture")
    }
}

impl Future for ReadIntoFuture {
    type Output = Result<ReadIntoResult, StreamError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if !self.cell.is_pending() {
            self.host.run_queued();
        } else {
            self.host.poll_progress(cx);
        }
        self.cell.poll_take(cx)
    }
}
