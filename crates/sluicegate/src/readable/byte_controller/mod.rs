//! The `ReadableByteStreamController` class and its abstract operations
//! (§ "Byte stream controllers").
//!
//! The controller's slots live in the stream's `Slots::byte`, under the stream's one lock. Each
//! operation runs on the locked slots and records what the standard does *after* a state change
//! and what may run user code (read request steps, read-into request steps, pulling, dropping the
//! source) as [`Effect`]s, performed in order once the lock is released.
//!
//! This file holds the class, its slots and the operations on the controller as a whole (set-up,
//! pulling, close, error, desired size, cancel and release steps); `queue.rs` holds enqueueing and
//! reading from the queue, `pull_into.rs` the pull-into descriptors, `respond.rs` the BYOB
//! request's respond operations.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::algorithm::{call_or_defer, checkin, AlgorithmSlot, Checkout};
use crate::error::{catch_user, StreamError};
use crate::host::{Completion, HostRef};
use crate::strategy::{extract_high_water_mark, SizeAlgorithm};

use super::byob_reader::ReadIntoRequest;
use super::byob_request::ReadableStreamBYOBRequest;
use super::byob_view::{ArrayBuffer, ByobView, ViewType};
use super::byte_source::UnderlyingByteSource;
use super::stream::{
    as_byte_stream, cast, initialize_readable_stream_with, is_readable_stream_locked, react,
    readable_stream_close, readable_stream_error, ControllerSlots, Inner, Settled, Slots, Stream,
    StreamState,
};
use super::{ReadOutcome, ReadRequest};

mod pull_into;
mod queue;
mod respond;

pub(crate) use pull_into::*;
pub(crate) use queue::*;
pub(crate) use respond::*;

type ByteStream = Stream<Bytes>;

type ByteSlots = Slots<Bytes>;

/// A pull-into descriptor's reader type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReaderType {
    Default,
    Byob,
    None,
}

/// A pull-into descriptor.
pub(crate) struct PullIntoDescriptor {
    /// `None` while the buffer is detached (taken out by the source through the BYOB request).
    pub(crate) buffer: Option<ArrayBuffer>,
    pub(crate) buffer_byte_length: usize,
    pub(crate) byte_offset: usize,
    pub(crate) byte_length: usize,
    pub(crate) bytes_filled: usize,
    pub(crate) minimum_fill: usize,
    /// The view constructor; its element size is the descriptor's element size.
    pub(crate) view_type: ViewType,
    pub(crate) reader_type: ReaderType,
}

impl PullIntoDescriptor {
    pub(crate) fn element_size(&self) -> usize {
        self.view_type.element_size()
    }
}

/// The byte controller's internal slots.
pub(crate) struct ByteControllerSlots {
    pub(crate) auto_allocate_chunk_size: Option<usize>,
    /// `[[byobRequest]]`: the id of the live request object, if one was handed out.
    pub(crate) byob_request: Option<u64>,
    pub(crate) close_requested: bool,
    pub(crate) pull_again: bool,
    pub(crate) pulling: bool,
    pub(crate) pending_pull_intos: VecDeque<PullIntoDescriptor>,
    /// `[[queue]]`.
    pub(crate) queue: VecDeque<QueueEntry>,
    pub(crate) queue_total_size: usize,
    pub(crate) started: bool,
    pub(crate) strategy_hwm: f64,
    /// `[[pullAlgorithm]]` and `[[cancelAlgorithm]]`: the underlying byte source.
    pub(crate) source: AlgorithmSlot<Box<dyn UnderlyingByteSource>>,
    /// The file behind the stream, which a pipe may copy from directly
    /// ([`crate::pipe::DirectSource`]); `None` for every stream but `io::file_source`'s.
    pub(crate) direct: Option<std::sync::Arc<dyn crate::pipe::DirectSource>>,
}

/// A readable byte stream queue entry: `byte_length` bytes at `byte_offset` of `buffer`.
///
/// The buffer is the whole buffer the standard transferred (an enqueued view's buffer, a filled
/// auto-allocated buffer), so a binding can hand script the view the standard hands out; native
/// readers get only the bytes, as a slice of the same allocation (no copy).
#[derive(Clone)]
pub(crate) struct QueueEntry {
    pub(crate) buffer: Bytes,
    pub(crate) byte_offset: usize,
    pub(crate) byte_length: usize,
}

impl QueueEntry {
    /// An entry that is all of `bytes`.
    pub(crate) fn whole(bytes: Bytes) -> Self {
        QueueEntry {
            byte_length: bytes.len(),
            buffer: bytes,
            byte_offset: 0,
        }
    }

    /// The entry's bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buffer[self.byte_offset..self.byte_offset + self.byte_length]
    }

    /// Whether the entry is its whole buffer.
    pub(crate) fn is_whole(&self) -> bool {
        self.byte_offset == 0 && self.byte_length == self.buffer.len()
    }

    /// Drops the first `n` bytes (the buffer stays; the offset moves on).
    pub(crate) fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.byte_length);
        self.byte_offset += n;
        self.byte_length -= n;
    }

    /// Runs `request`'s chunk steps with this entry: `chunk_steps` with the bytes when the entry
    /// is its whole buffer, `chunk_in_buffer_steps` with the bytes and the buffer otherwise.
    pub(crate) fn fulfill(self, request: Box<dyn ReadRequest<Bytes>>) {
        if self.is_whole() {
            request.chunk_steps(self.buffer);
        } else {
            let chunk = self
                .buffer
                .slice(self.byte_offset..self.byte_offset + self.byte_length);
            request.chunk_in_buffer_steps(chunk, self.buffer, self.byte_offset);
        }
    }

    /// What a read that returns its result directly (no request) yields.
    pub(crate) fn into_outcome(self) -> ReadOutcome<Bytes> {
        if self.is_whole() {
            ReadOutcome::Chunk(self.buffer)
        } else {
            let chunk = self
                .buffer
                .slice(self.byte_offset..self.byte_offset + self.byte_length);
            ReadOutcome::ChunkInBuffer(chunk, self.buffer, self.byte_offset)
        }
    }
}

/// What an operation leaves to do once the stream's lock is released, in the standard's order.
pub(crate) enum Effect {
    ReadChunk(Box<dyn ReadRequest<Bytes>>, QueueEntry),
    ReadClose(Box<dyn ReadRequest<Bytes>>),
    IntoChunk(Box<dyn ReadIntoRequest>, ByobView),
    IntoClose(Box<dyn ReadIntoRequest>, Option<ByobView>),
    IntoError(Box<dyn ReadIntoRequest>, StreamError),
    Settled(Settled<Bytes>),
    CallPullIfNeeded,
    /// User objects removed from the slots (the source, discarded chunks), dropped unlocked.
    Drop(Box<dyn Any + Send>),
}

/// Effects collected under the lock.
#[derive(Default)]
pub(crate) struct Effects(Vec<Effect>);

impl Effects {
    pub(crate) fn push(&mut self, e: Effect) {
        self.0.push(e);
    }

    /// Performs the effects in order; the stream's lock must not be held.
    pub(crate) fn run(self, stream: &ByteStream) {
        for e in self.0 {
            match e {
                Effect::ReadChunk(r, chunk) => chunk.fulfill(r),
                Effect::ReadClose(r) => r.close_steps(),
                Effect::IntoChunk(r, view) => r.chunk_steps(view),
                Effect::IntoClose(r, view) => r.close_steps(view),
                Effect::IntoError(r, e) => r.error_steps(e),
                Effect::Settled(s) => s.run(),
                Effect::CallPullIfNeeded => readable_byte_stream_controller_call_pull_if_needed(stream),
                Effect::Drop(x) => drop(x),
            }
        }
    }
}

pub(super) fn ctl(slots: &mut ByteSlots) -> &mut ByteControllerSlots {
    slots
        .byte
        .as_deref_mut()
        .expect("a byte stream has a byte controller")
}

pub(super) fn ctl_ref(slots: &ByteSlots) -> &ByteControllerSlots {
    slots
        .byte
        .as_deref()
        .expect("a byte stream has a byte controller")
}

pub(super) fn source_slot(s: &mut ByteSlots) -> &mut AlgorithmSlot<Box<dyn UnderlyingByteSource>> {
    &mut ctl(s).source
}

pub(super) fn gone() -> StreamError {
    StreamError::type_error("the readable byte stream behind this controller has been dropped")
}

static NEXT_BYOB_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

/// The handle an underlying byte source uses to feed its stream: the standard's
/// `ReadableByteStreamController`.
///
/// Cheap to clone; it does not keep the stream alive (once the stream is gone its methods return a
/// `TypeError`).
#[derive(Clone)]
pub struct ReadableByteStreamController {
    stream: Weak<Inner<Bytes>>,
}

impl fmt::Debug for ReadableByteStreamController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadableByteStreamController")
    }
}

impl ReadableByteStreamController {
    pub(crate) fn new(stream: &ByteStream) -> Self {
        ReadableByteStreamController {
            stream: Arc::downgrade(stream),
        }
    }

    pub(crate) fn stream(&self) -> Option<ByteStream> {
        self.stream.upgrade()
    }

    /// The stream this controller feeds, while it exists. Holding the handle keeps the stream
    /// alive: a binding whose script-side controller must keep its stream alive (as a JavaScript
    /// controller does) holds one. `None` as well once the stream's group was given up because
    /// nothing outside the core held it (DESIGN.md, "A group nobody holds is freed").
    pub fn readable_stream(&self) -> Option<super::ReadableStream<Bytes>> {
        self.stream().and_then(super::ReadableStream::try_handle)
    }

    /// The standard's `byobRequest`: the pending read's request to fill, or `None` when no read is
    /// waiting for bytes. The same request is returned until it is responded to.
    pub fn byob_request(&self) -> Option<ReadableStreamBYOBRequest> {
        let stream = self.stream()?;
        let _entered = stream.domain.enter();
        let mut slots = stream.lock();
        readable_byte_stream_controller_get_byob_request(&mut slots)
            .map(|id| ReadableStreamBYOBRequest::new(&stream, id))
    }

    /// The standard's `desiredSize`: the high-water mark minus the queued bytes; `None` once
    /// errored, 0 once closed.
    pub fn desired_size(&self) -> Option<f64> {
        let stream = self.stream()?;
        let _entered = stream.domain.enter();
        let slots = stream.lock();
        readable_byte_stream_controller_get_desired_size(&slots)
    }

    /// The standard's `close()`. A `TypeError` if the stream is already closing, closed or
    /// errored, or if a pending BYOB read holds a partial element (the stream is errored then).
    pub fn close(&self) -> Result<(), StreamError> {
        let stream = self.stream().ok_or_else(gone)?;
        let _entered = stream.domain.enter();
        // The method's checks (closeRequested, state) run under the same lock as the operation.
        readable_byte_stream_controller_close_with(&stream, true)
    }

    /// The standard's `enqueue(chunk)`: the bytes are moved into the stream (to a waiting default
    /// reader with no copy). A `TypeError` for an empty chunk, when the stream is closing, closed
    /// or errored, or when the pending BYOB request's buffer has been taken out
    /// ([`ReadableStreamBYOBRequest::take_view`]) and not given back.
    pub fn enqueue(&self, chunk: Bytes) -> Result<(), StreamError> {
        if chunk.is_empty() {
            return Err(StreamError::type_error("cannot enqueue an empty chunk"));
        }
        let stream = self.stream().ok_or_else(gone)?;
        let _entered = stream.domain.enter();
        // The method's checks (closeRequested, state) run under the same lock as the operation, so
        // a chunk is never accepted and then dropped by a close from another thread.
        readable_byte_stream_controller_enqueue_with(&stream, QueueEntry::whole(chunk), true)
    }

    /// The standard's `enqueue(chunk)` for a view of `byte_length` bytes at `byte_offset` of a
    /// larger `buffer`: the stream takes the whole buffer (the standard transfers it) and a read
    /// that is not a BYOB read produces the view's bytes, with the buffer and offset for a
    /// binding's read request ([`ReadRequest::chunk_in_buffer_steps`]); native readers get the
    /// bytes as a slice of `buffer`, without a copy.
    ///
    /// The errors of [`enqueue`](Self::enqueue), and a `RangeError` if the range is not within
    /// the buffer.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sluicegate::readable::{ByteSourceFn, ReadableStream};
    ///
    /// # futures::executor::block_on(async {
    /// let stream = ReadableStream::new_bytes(ByteSourceFn::new().start(|c| {
    ///     c.enqueue_in_buffer(Bytes::from_static(b"headerbody"), 6, 4)?;
    ///     c.close()
    /// }))
    /// .unwrap();
    /// let reader = stream.get_reader().unwrap();
    /// assert_eq!(reader.read().await.unwrap().as_deref(), Some(&b"body"[..]));
    /// # });
    /// ```
    pub fn enqueue_in_buffer(
        &self,
        buffer: Bytes,
        byte_offset: usize,
        byte_length: usize,
    ) -> Result<(), StreamError> {
        if byte_length == 0 {
            return Err(StreamError::type_error("cannot enqueue an empty chunk"));
        }
        if byte_offset
            .checked_add(byte_length)
            .is_none_or(|end| end > buffer.len())
        {
            return Err(StreamError::range_error("the chunk is not within its buffer"));
        }
        let stream = self.stream().ok_or_else(gone)?;
        let _entered = stream.domain.enter();
        let entry = QueueEntry {
            buffer,
            byte_offset,
            byte_length,
        };
        readable_byte_stream_controller_enqueue_with(&stream, entry, true)
    }

    /// The standard's `error(e)`.
    pub fn error(&self, e: StreamError) {
        if let Some(stream) = self.stream() {
            let _entered = stream.domain.enter();
            readable_byte_stream_controller_error(&stream, e);
        }
    }
}

/// SetUpReadableByteStreamControllerFromUnderlyingSource and SetUpReadableByteStreamController
/// (with InitializeReadableStream): builds the stream and runs `start`.
pub(crate) fn set_up_readable_byte_stream_controller_from_underlying_source(
    source: Box<dyn UnderlyingByteSource>,
    high_water_mark: Option<f64>,
    host: HostRef,
    domain: Arc<crate::host::Domain>,
) -> Result<ByteStream, StreamError> {
    // SetUpReadableStream for type "bytes": ExtractHighWaterMark(strategy, 0).
    let hwm = extract_high_water_mark(high_water_mark, 0.0)?;
    let auto_allocate_chunk_size = source.auto_allocate_chunk_size();
    if auto_allocate_chunk_size == Some(0) {
        return Err(StreamError::type_error("autoAllocateChunkSize must not be 0"));
    }
    let stream: ByteStream = initialize_readable_stream_with(
        host,
        domain,
        ControllerSlots::new(0.0, SizeAlgorithm::Count, AlgorithmSlot::cleared()),
        Some(Box::new(ByteControllerSlots {
            auto_allocate_chunk_size,
            byob_request: None,
            close_requested: false,
            pull_again: false,
            pulling: false,
            pending_pull_intos: VecDeque::new(),
            queue: VecDeque::new(),
            queue_total_size: 0,
            started: false,
            strategy_hwm: hwm,
            source: AlgorithmSlot::new(source),
            direct: None,
        })),
    );
    let controller = ReadableByteStreamController::new(&stream);
    let mut source = match source_slot(&mut stream.lock()).checkout() {
        Checkout::Got(s) => s,
        _ => unreachable!("a new stream's source is present"),
    };
    let start_result = catch_user(|| source.start(&controller));
    checkin(&stream.slots, source_slot, source);
    let completion = match start_result {
        Ok(Completion::Ready(Err(e))) | Err(e) => return Err(e),
        Ok(c) => c,
    };
    let weak = Arc::downgrade(&stream);
    react(&stream, completion, move |result| {
        let Some(stream) = weak.upgrade() else { return };
        match result {
            Ok(()) => {
                ctl(&mut stream.lock()).started = true;
                readable_byte_stream_controller_call_pull_if_needed(&stream);
            }
            Err(r) => readable_byte_stream_controller_error(&stream, r),
        }
    });
    Ok(stream)
}

/// ReadableByteStreamControllerCallPullIfNeeded.
pub(crate) fn readable_byte_stream_controller_call_pull_if_needed(stream: &ByteStream) {
    let source = {
        let mut slots = stream.lock();
        if !readable_byte_stream_controller_should_call_pull(&slots) {
            return;
        }
        let c = ctl(&mut slots);
        if c.pulling {
            c.pull_again = true;
            return;
        }
        debug_assert!(!c.pull_again);
        c.pulling = true;
        match c.source.checkout() {
            Checkout::Got(s) => Some(s),
            Checkout::Cleared | Checkout::Busy => None,
        }
    };
    let controller = ReadableByteStreamController::new(stream);
    let mut source = source;
    let completion = match source.as_mut() {
        Some(s) => catch_user(|| s.pull(&controller)).unwrap_or_else(Completion::err),
        None => Completion::ok(),
    };
    if let Some(s) = source {
        checkin(&stream.slots, source_slot, s);
    }
    let weak = Arc::downgrade(stream);
    react(stream, completion, move |result| {
        let Some(stream) = weak.upgrade() else { return };
        match result {
            Ok(()) => {
                let again = {
                    let mut slots = stream.lock();
                    let c = ctl(&mut slots);
                    c.pulling = false;
                    std::mem::take(&mut c.pull_again)
                };
                if again {
                    readable_byte_stream_controller_call_pull_if_needed(&stream);
                }
            }
            Err(e) => readable_byte_stream_controller_error(&stream, e),
        }
    });
}

/// ReadableByteStreamControllerClearAlgorithms: the source is handed back to drop unlocked.
pub(super) fn readable_byte_stream_controller_clear_algorithms(
    c: &mut ByteControllerSlots,
    fx: &mut Effects,
) {
    if let Some(source) = c.source.clear() {
        fx.push(Effect::Drop(Box::new(source)));
    }
}

/// ReadableByteStreamControllerClearPendingPullIntos.
pub(super) fn readable_byte_stream_controller_clear_pending_pull_intos(c: &mut ByteControllerSlots) {
    readable_byte_stream_controller_invalidate_byob_request(c);
    c.pending_pull_intos.clear();
}

/// ResetQueue on a byte controller: the discarded chunks are dropped unlocked.
pub(super) fn reset_queue(c: &mut ByteControllerSlots, fx: &mut Effects) {
    let queue = std::mem::take(&mut c.queue);
    c.queue_total_size = 0;
    if !queue.is_empty() {
        fx.push(Effect::Drop(Box::new(queue)));
    }
}

/// ReadableByteStreamControllerClose.
pub(crate) fn readable_byte_stream_controller_close(stream: &ByteStream) -> Result<(), StreamError> {
    readable_byte_stream_controller_close_with(stream, false)
}

/// ReadableByteStreamControllerClose, with the `close()` method's checks first when
/// `method_checks` (a `TypeError` where the abstract operation returns quietly).
pub(super) fn readable_byte_stream_controller_close_with(
    stream: &ByteStream,
    method_checks: bool,
) -> Result<(), StreamError> {
    let mut fx = Effects::default();
    let result = {
        let mut slots = stream.lock();
        readable_byte_stream_controller_close_locked(&mut slots, &mut fx, method_checks)
    };
    fx.run(stream);
    result
}

pub(super) fn readable_byte_stream_controller_close_locked(
    slots: &mut ByteSlots,
    fx: &mut Effects,
    method_checks: bool,
) -> Result<(), StreamError> {
    let readable = matches!(slots.state, StreamState::Readable);
    let c = ctl(slots);
    if c.close_requested || !readable {
        if method_checks {
            return Err(StreamError::type_error(if c.close_requested {
                "the stream is already closing"
            } else {
                "the stream is not readable"
            }));
        }
        return Ok(());
    }
    if c.queue_total_size > 0 {
        c.close_requested = true;
        return Ok(());
    }
    if let Some(first) = c.pending_pull_intos.front() {
        if first.bytes_filled % first.element_size() != 0 {
            let e = StreamError::type_error("cannot close: a pending read holds a partial element");
            readable_byte_stream_controller_error_locked(slots, e.clone(), fx);
            return Err(e);
        }
    }
    readable_byte_stream_controller_clear_algorithms(c, fx);
    fx.push(Effect::Settled(readable_stream_close(slots)));
    Ok(())
}

/// ReadableByteStreamControllerError.
pub(crate) fn readable_byte_stream_controller_error(stream: &ByteStream, e: StreamError) {
    let mut fx = Effects::default();
    readable_byte_stream_controller_error_locked(&mut stream.lock(), e, &mut fx);
    fx.run(stream);
}

pub(super) fn readable_byte_stream_controller_error_locked(
    slots: &mut ByteSlots,
    e: StreamError,
    fx: &mut Effects,
) {
    if !matches!(slots.state, StreamState::Readable) {
        return;
    }
    let c = ctl(slots);
    readable_byte_stream_controller_clear_pending_pull_intos(c);
    reset_queue(c, fx);
    readable_byte_stream_controller_clear_algorithms(c, fx);
    fx.push(Effect::Settled(readable_stream_error(slots, e)));
}

/// ReadableByteStreamControllerGetBYOBRequest: the live request's id.
pub(crate) fn readable_byte_stream_controller_get_byob_request(slots: &mut ByteSlots) -> Option<u64> {
    let c = ctl(slots);
    if c.byob_request.is_none() && !c.pending_pull_intos.is_empty() {
        c.byob_request = Some(NEXT_BYOB_REQUEST_ID.fetch_add(1, Ordering::Relaxed));
    }
    c.byob_request
}

/// ReadableByteStreamControllerGetDesiredSize.
pub(crate) fn readable_byte_stream_controller_get_desired_size(slots: &ByteSlots) -> Option<f64> {
    match slots.state {
        StreamState::Errored(_) => None,
        StreamState::Closed => Some(0.0),
        StreamState::Readable => {
            let c = ctl_ref(slots);
            Some(c.strategy_hwm - c.queue_total_size as f64)
        }
    }
}

/// ReadableByteStreamControllerHandleQueueDrain.
pub(super) fn readable_byte_stream_controller_handle_queue_drain(slots: &mut ByteSlots, fx: &mut Effects) {
    debug_assert!(matches!(slots.state, StreamState::Readable));
    let c = ctl(slots);
    if c.queue_total_size == 0 && c.close_requested {
        readable_byte_stream_controller_clear_algorithms(c, fx);
        fx.push(Effect::Settled(readable_stream_close(slots)));
    } else {
        fx.push(Effect::CallPullIfNeeded);
    }
}

/// ReadableByteStreamControllerInvalidateBYOBRequest.
pub(crate) fn readable_byte_stream_controller_invalidate_byob_request(c: &mut ByteControllerSlots) {
    c.byob_request = None;
}

/// ReadableByteStreamControllerShouldCallPull.
pub(super) fn readable_byte_stream_controller_should_call_pull(slots: &ByteSlots) -> bool {
    if !matches!(slots.state, StreamState::Readable) {
        return false;
    }
    let c = ctl_ref(slots);
    if c.close_requested || !c.started {
        return false;
    }
    if readable_stream_has_default_reader(slots) && num_read_requests(slots) > 0 {
        return true;
    }
    if readable_stream_has_byob_reader(slots) && num_read_into_requests(slots) > 0 {
        return true;
    }
    readable_byte_stream_controller_get_desired_size(slots).is_some_and(|d| d > 0.0)
}

/// `[[CancelSteps]](reason)` of a byte controller.
pub(crate) fn cancel_steps(
    stream: &ByteStream,
    reason: StreamError,
    on_settled: impl FnOnce(Result<(), StreamError>) + Send + 'static,
) {
    let mut fx = Effects::default();
    {
        let mut slots = stream.lock();
        let c = ctl(&mut slots);
        readable_byte_stream_controller_clear_pending_pull_intos(c);
        reset_queue(c, &mut fx);
    }
    fx.run(stream);
    let weak = Arc::downgrade(stream);
    type Done = Box<dyn FnOnce(Result<(), StreamError>) + Send>;
    let pending: Arc<Mutex<Option<Done>>> = Arc::new(Mutex::new(Some(Box::new(on_settled))));
    let p = pending.clone();
    let called = call_or_defer(&stream.slots, source_slot, move |source| {
        let completion = catch_user(|| source.cancel(reason)).unwrap_or_else(Completion::err);
        if let (Some(stream), Some(done)) = (weak.upgrade(), p.lock().take()) {
            react(&stream, completion, done);
        }
    });
    if !called {
        if let Some(done) = pending.lock().take() {
            react(stream, Completion::ok(), done);
        }
    }
    let mut fx = Effects::default();
    readable_byte_stream_controller_clear_algorithms(ctl(&mut stream.lock()), &mut fx);
    fx.run(stream);
}

/// `[[ReleaseSteps]]()` of a byte controller.
pub(crate) fn release_steps(c: &mut ByteControllerSlots) {
    if let Some(first) = c.pending_pull_intos.front_mut() {
        first.reader_type = ReaderType::None;
        c.pending_pull_intos.truncate(1);
    }
}

/// ReadableStreamAddReadIntoRequest.
pub(super) fn readable_stream_add_read_into_request(
    slots: &mut ByteSlots,
    request: Box<dyn ReadIntoRequest>,
) {
    slots
        .reader
        .as_mut()
        .expect("ReadableStreamAddReadIntoRequest: a BYOB reader holds the stream")
        .read_into_requests_mut()
        .expect("ReadableStreamAddReadIntoRequest: the reader is a BYOB reader")
        .push_back(request);
}

/// ReadableStreamHasDefaultReader.
pub(super) fn readable_stream_has_default_reader(slots: &ByteSlots) -> bool {
    slots.reader.as_ref().is_some_and(|r| !r.is_byob())
}

/// ReadableStreamHasBYOBReader.
pub(super) fn readable_stream_has_byob_reader(slots: &ByteSlots) -> bool {
    slots.reader.as_ref().is_some_and(|r| r.is_byob())
}

pub(super) fn num_read_requests(slots: &ByteSlots) -> usize {
    slots.reader.as_ref().map_or(0, |r| r.read_requests.len())
}

/// ReadableStreamGetNumReadIntoRequests.
pub(super) fn num_read_into_requests(slots: &ByteSlots) -> usize {
    slots.reader.as_ref().map_or(0, |r| r.num_read_into_requests())
}
