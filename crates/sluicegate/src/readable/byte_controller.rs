//! The `ReadableByteStreamController` class and its abstract operations
//! (§ "Byte stream controllers").
//!
//! The controller's slots live in the stream's `Slots::byte`, under the stream's one lock. Each
//! operation runs on the locked slots and records what the standard does *after* a state change
//! and what may run user code (read request steps, read-into request steps, pulling, dropping the
//! source) as [`Effect`]s, performed in order once the lock is released.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use bytes::{Buf, Bytes};
use parking_lot::Mutex;

use crate::algorithm::{call_or_defer, checkin, AlgorithmSlot, Checkout};
use crate::error::{catch_user, StreamError};
use crate::host::{Completion, HostRef};
use crate::strategy::{extract_high_water_mark, QueueWithSizes};

use super::byob_reader::ReadIntoRequest;
use super::byob_request::ReadableStreamBYOBRequest;
use super::byob_view::{ArrayBuffer, ByobView, ViewType};
use super::byte_source::UnderlyingByteSource;
use super::stream::{
    as_byte_stream, cast, is_readable_stream_locked, react, readable_stream_close, readable_stream_error,
    ControllerSlots, Inner, Settled, Slots, Stream, StreamState,
};
use super::{ReadOutcome, ReadRequest};

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
    /// `[[queue]]`: each entry's buffer, byte offset and byte length are one `Bytes`.
    pub(crate) queue: VecDeque<Bytes>,
    pub(crate) queue_total_size: usize,
    pub(crate) started: bool,
    pub(crate) strategy_hwm: f64,
    /// `[[pullAlgorithm]]` and `[[cancelAlgorithm]]`: the underlying byte source.
    pub(crate) source: AlgorithmSlot<Box<dyn UnderlyingByteSource>>,
}

/// What an operation leaves to do once the stream's lock is released, in the standard's order.
pub(crate) enum Effect {
    ReadChunk(Box<dyn ReadRequest<Bytes>>, Bytes),
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
                Effect::ReadChunk(r, chunk) => r.chunk_steps(chunk),
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

fn ctl(slots: &mut ByteSlots) -> &mut ByteControllerSlots {
    slots
        .byte
        .as_deref_mut()
        .expect("a byte stream has a byte controller")
}

fn ctl_ref(slots: &ByteSlots) -> &ByteControllerSlots {
    slots
        .byte
        .as_deref()
        .expect("a byte stream has a byte controller")
}

fn source_slot(s: &mut ByteSlots) -> &mut AlgorithmSlot<Box<dyn UnderlyingByteSource>> {
    &mut ctl(s).source
}

fn gone() -> StreamError {
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

    /// The standard's `byobRequest`: the pending read's request to fill, or `None` when no read is
    /// waiting for bytes. The same request is returned until it is responded to.
    pub fn byob_request(&self) -> Option<ReadableStreamBYOBRequest> {
        let stream = self.stream()?;
        let mut slots = stream.lock();
        readable_byte_stream_controller_get_byob_request(&mut slots)
            .map(|id| ReadableStreamBYOBRequest::new(&stream, id))
    }

    /// The standard's `desiredSize`: the high-water mark minus the queued bytes; `None` once
    /// errored, 0 once closed.
    pub fn desired_size(&self) -> Option<f64> {
        let stream = self.stream()?;
        let slots = stream.lock();
        readable_byte_stream_controller_get_desired_size(&slots)
    }

    /// The standard's `close()`. A `TypeError` if the stream is already closing, closed or
    /// errored, or if a pending BYOB read holds a partial element (the stream is errored then).
    pub fn close(&self) -> Result<(), StreamError> {
        let stream = self.stream().ok_or_else(gone)?;
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
        // The method's checks (closeRequested, state) run under the same lock as the operation, so
        // a chunk is never accepted and then dropped by a close from another thread.
        readable_byte_stream_controller_enqueue_with(&stream, chunk, true)
    }

    /// The standard's `error(e)`.
    pub fn error(&self, e: StreamError) {
        if let Some(stream) = self.stream() {
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
) -> Result<ByteStream, StreamError> {
    // SetUpReadableStream for type "bytes": ExtractHighWaterMark(strategy, 0).
    let hwm = extract_high_water_mark(high_water_mark, 0.0)?;
    let auto_allocate_chunk_size = source.auto_allocate_chunk_size();
    if auto_allocate_chunk_size == Some(0) {
        return Err(StreamError::type_error("autoAllocateChunkSize must not be 0"));
    }
    let stream: ByteStream = Arc::new(Inner {
        host,
        byte_stream: true,
        slots: Mutex::new(Slots {
            state: StreamState::Readable,
            disturbed: false,
            reader: None,
            controller: ControllerSlots {
                queue: QueueWithSizes::new(),
                started: false,
                close_requested: false,
                pull_again: false,
                pulling: false,
                strategy_hwm: 0.0,
                strategy_size: None,
                source: AlgorithmSlot::Cleared,
            },
            byte: Some(Box::new(ByteControllerSlots {
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
            })),
        }),
    });
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
fn readable_byte_stream_controller_clear_algorithms(c: &mut ByteControllerSlots, fx: &mut Effects) {
    if let Some(source) = c.source.clear() {
        fx.push(Effect::Drop(Box::new(source)));
    }
}

/// ReadableByteStreamControllerClearPendingPullIntos.
fn readable_byte_stream_controller_clear_pending_pull_intos(c: &mut ByteControllerSlots) {
    readable_byte_stream_controller_invalidate_byob_request(c);
    c.pending_pull_intos.clear();
}

/// ResetQueue on a byte controller: the discarded chunks are dropped unlocked.
fn reset_queue(c: &mut ByteControllerSlots, fx: &mut Effects) {
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
fn readable_byte_stream_controller_close_with(
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

fn readable_byte_stream_controller_close_locked(
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

/// ReadableByteStreamControllerCommitPullIntoDescriptor.
fn readable_byte_stream_controller_commit_pull_into_descriptor(
    slots: &mut ByteSlots,
    descriptor: PullIntoDescriptor,
    fx: &mut Effects,
) {
    debug_assert!(!matches!(slots.state, StreamState::Errored(_)));
    debug_assert!(descriptor.reader_type != ReaderType::None);
    let done = matches!(slots.state, StreamState::Closed);
    let reader_type = descriptor.reader_type;
    let filled = readable_byte_stream_controller_convert_pull_into_descriptor(descriptor);
    let Some(reader) = slots.reader.as_mut() else {
        return;
    };
    if reader_type == ReaderType::Default {
        // ReadableStreamFulfillReadRequest.
        if let Some(r) = reader.read_requests.pop_front() {
            if done {
                fx.push(Effect::ReadClose(r));
            } else {
                fx.push(Effect::ReadChunk(r, filled.into_bytes()));
            }
        }
    } else if let Some(r) = reader.read_into_requests.pop_front() {
        // ReadableStreamFulfillReadIntoRequest.
        if done {
            fx.push(Effect::IntoClose(r, Some(filled)));
        } else {
            fx.push(Effect::IntoChunk(r, filled));
        }
    }
}

/// ReadableByteStreamControllerConvertPullIntoDescriptor.
fn readable_byte_stream_controller_convert_pull_into_descriptor(d: PullIntoDescriptor) -> ByobView {
    debug_assert!(d.bytes_filled <= d.byte_length);
    debug_assert_eq!(d.bytes_filled % d.element_size(), 0);
    debug_assert!(d.buffer.is_some(), "a committed descriptor's buffer is attached");
    let buffer = d.buffer.unwrap_or_else(|| ArrayBuffer::new(d.buffer_byte_length));
    ByobView::from_parts(buffer, d.byte_offset, d.bytes_filled, d.view_type)
}

/// ReadableByteStreamControllerEnqueue.
pub(crate) fn readable_byte_stream_controller_enqueue(
    stream: &ByteStream,
    chunk: Bytes,
) -> Result<(), StreamError> {
    readable_byte_stream_controller_enqueue_with(stream, chunk, false)
}

/// ReadableByteStreamControllerEnqueue, with the `enqueue()` method's checks first when
/// `method_checks` (a `TypeError` where the abstract operation returns quietly).
fn readable_byte_stream_controller_enqueue_with(
    stream: &ByteStream,
    chunk: Bytes,
    method_checks: bool,
) -> Result<(), StreamError> {
    let mut fx = Effects::default();
    {
        let mut slots = stream.lock();
        let readable = matches!(slots.state, StreamState::Readable);
        let c = ctl(&mut slots);
        if c.close_requested || !readable {
            if method_checks {
                return Err(StreamError::type_error(if c.close_requested {
                    "cannot enqueue: the stream is closing"
                } else {
                    "cannot enqueue: the stream is not readable"
                }));
            }
            return Ok(());
        }
        if let Some(first) = c.pending_pull_intos.front() {
            if first.buffer.is_none() {
                return Err(StreamError::type_error(
                    "cannot enqueue while the BYOB request's buffer is taken out",
                ));
            }
            readable_byte_stream_controller_invalidate_byob_request(c);
            if c.pending_pull_intos[0].reader_type == ReaderType::None {
                readable_byte_stream_controller_enqueue_detached_pull_into_to_queue(c);
            }
        }
        if readable_stream_has_default_reader(&slots) {
            readable_byte_stream_controller_process_read_requests_using_queue(&mut slots, &mut fx);
            if num_read_requests(&slots) == 0 {
                let c = ctl(&mut slots);
                debug_assert!(c.pending_pull_intos.is_empty());
                readable_byte_stream_controller_enqueue_chunk_to_queue(c, chunk);
            } else {
                let c = ctl(&mut slots);
                debug_assert!(c.queue.is_empty());
                if !c.pending_pull_intos.is_empty() {
                    debug_assert_eq!(c.pending_pull_intos[0].reader_type, ReaderType::Default);
                    readable_byte_stream_controller_shift_pending_pull_into(c);
                }
                let r = slots
                    .reader
                    .as_mut()
                    .and_then(|r| r.read_requests.pop_front())
                    .expect("a read request is waiting");
                fx.push(Effect::ReadChunk(r, chunk));
            }
        } else if readable_stream_has_byob_reader(&slots) {
            readable_byte_stream_controller_enqueue_chunk_to_queue(ctl(&mut slots), chunk);
            let filled =
                readable_byte_stream_controller_process_pull_into_descriptors_using_queue(ctl(&mut slots));
            for d in filled {
                readable_byte_stream_controller_commit_pull_into_descriptor(&mut slots, d, &mut fx);
            }
        } else {
            debug_assert!(!is_readable_stream_locked(&slots));
            readable_byte_stream_controller_enqueue_chunk_to_queue(ctl(&mut slots), chunk);
        }
        fx.push(Effect::CallPullIfNeeded);
    }
    fx.run(stream);
    Ok(())
}

/// ReadableByteStreamControllerEnqueueChunkToQueue.
fn readable_byte_stream_controller_enqueue_chunk_to_queue(c: &mut ByteControllerSlots, chunk: Bytes) {
    c.queue_total_size += chunk.len();
    c.queue.push_back(chunk);
}

/// ReadableByteStreamControllerEnqueueClonedChunkToQueue (CloneArrayBuffer is a copy).
fn readable_byte_stream_controller_enqueue_cloned_chunk_to_queue(c: &mut ByteControllerSlots, bytes: &[u8]) {
    readable_byte_stream_controller_enqueue_chunk_to_queue(c, Bytes::copy_from_slice(bytes));
}

/// ReadableByteStreamControllerEnqueueDetachedPullIntoToQueue.
fn readable_byte_stream_controller_enqueue_detached_pull_into_to_queue(c: &mut ByteControllerSlots) {
    let d = &c.pending_pull_intos[0];
    debug_assert_eq!(d.reader_type, ReaderType::None);
    if d.bytes_filled > 0 {
        let copy = match &d.buffer {
            Some(b) => Bytes::copy_from_slice(&b.as_slice()[d.byte_offset..d.byte_offset + d.bytes_filled]),
            None => Bytes::from(vec![0; d.bytes_filled]),
        };
        readable_byte_stream_controller_enqueue_chunk_to_queue(c, copy);
    }
    readable_byte_stream_controller_shift_pending_pull_into(c);
}

/// ReadableByteStreamControllerError.
pub(crate) fn readable_byte_stream_controller_error(stream: &ByteStream, e: StreamError) {
    let mut fx = Effects::default();
    readable_byte_stream_controller_error_locked(&mut stream.lock(), e, &mut fx);
    fx.run(stream);
}

fn readable_byte_stream_controller_error_locked(slots: &mut ByteSlots, e: StreamError, fx: &mut Effects) {
    if !matches!(slots.state, StreamState::Readable) {
        return;
    }
    let c = ctl(slots);
    readable_byte_stream_controller_clear_pending_pull_intos(c);
    reset_queue(c, fx);
    readable_byte_stream_controller_clear_algorithms(c, fx);
    fx.push(Effect::Settled(readable_stream_error(slots, e)));
}

/// ReadableByteStreamControllerFillHeadPullIntoDescriptor.
fn readable_byte_stream_controller_fill_head_pull_into_descriptor(size: usize, d: &mut PullIntoDescriptor) {
    d.bytes_filled += size;
}

/// ReadableByteStreamControllerFillPullIntoDescriptorFromQueue: copies queued bytes into the
/// descriptor's buffer, whole elements only unless the minimum fill cannot be reached.
fn readable_byte_stream_controller_fill_pull_into_descriptor_from_queue(
    queue: &mut VecDeque<Bytes>,
    queue_total_size: &mut usize,
    d: &mut PullIntoDescriptor,
) -> bool {
    let max_bytes_to_copy = (*queue_total_size).min(d.byte_length - d.bytes_filled);
    let max_bytes_filled = d.bytes_filled + max_bytes_to_copy;
    let mut total_bytes_to_copy_remaining = max_bytes_to_copy;
    let mut ready = false;
    debug_assert!(d.bytes_filled < d.minimum_fill);
    let remainder_bytes = max_bytes_filled % d.element_size();
    let max_aligned_bytes = max_bytes_filled - remainder_bytes;
    if max_aligned_bytes >= d.minimum_fill {
        total_bytes_to_copy_remaining = max_aligned_bytes - d.bytes_filled;
        ready = true;
    }
    let Some(mut buffer) = d.buffer.take() else {
        // Cannot happen (the caller checks); copying nothing keeps the queue intact.
        return false;
    };
    while total_bytes_to_copy_remaining > 0 {
        let head = queue.front_mut().expect("queued bytes cover the copy");
        let bytes_to_copy = total_bytes_to_copy_remaining.min(head.len());
        let dest_start = d.byte_offset + d.bytes_filled;
        buffer.as_mut_slice()[dest_start..dest_start + bytes_to_copy].copy_from_slice(&head[..bytes_to_copy]);
        if head.len() == bytes_to_copy {
            queue.pop_front();
        } else {
            head.advance(bytes_to_copy);
        }
        *queue_total_size -= bytes_to_copy;
        readable_byte_stream_controller_fill_head_pull_into_descriptor(bytes_to_copy, d);
        total_bytes_to_copy_remaining -= bytes_to_copy;
    }
    d.buffer = Some(buffer);
    if !ready {
        debug_assert_eq!(*queue_total_size, 0);
        debug_assert!(d.bytes_filled > 0);
        debug_assert!(d.bytes_filled < d.minimum_fill);
    }
    ready
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
fn readable_byte_stream_controller_handle_queue_drain(slots: &mut ByteSlots, fx: &mut Effects) {
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

/// ReadableByteStreamControllerProcessPullIntoDescriptorsUsingQueue.
fn readable_byte_stream_controller_process_pull_into_descriptors_using_queue(
    c: &mut ByteControllerSlots,
) -> Vec<PullIntoDescriptor> {
    debug_assert!(!c.close_requested);
    let mut filled = Vec::new();
    while let Some(d) = c.pending_pull_intos.front_mut() {
        if c.queue_total_size == 0 {
            break;
        }
        if readable_byte_stream_controller_fill_pull_into_descriptor_from_queue(
            &mut c.queue,
            &mut c.queue_total_size,
            d,
        ) {
            filled.push(readable_byte_stream_controller_shift_pending_pull_into(c));
        } else {
            break;
        }
    }
    filled
}

/// ReadableByteStreamControllerProcessReadRequestsUsingQueue.
fn readable_byte_stream_controller_process_read_requests_using_queue(
    slots: &mut ByteSlots,
    fx: &mut Effects,
) {
    while num_read_requests(slots) > 0 {
        if ctl(slots).queue_total_size == 0 {
            return;
        }
        let r = slots
            .reader
            .as_mut()
            .and_then(|r| r.read_requests.pop_front())
            .expect("checked above");
        readable_byte_stream_controller_fill_read_request_from_queue(slots, r, fx);
    }
}

/// ReadableByteStreamControllerFillReadRequestFromQueue.
fn readable_byte_stream_controller_fill_read_request_from_queue(
    slots: &mut ByteSlots,
    r: Box<dyn ReadRequest<Bytes>>,
    fx: &mut Effects,
) {
    let c = ctl(slots);
    let entry = c.queue.pop_front().expect("the queue is not empty");
    c.queue_total_size -= entry.len();
    readable_byte_stream_controller_handle_queue_drain(slots, fx);
    fx.push(Effect::ReadChunk(r, entry));
}

/// ReadableByteStreamControllerPullInto, preceded by ReadableStreamBYOBReaderRead's steps 3–4
/// (set `[[disturbed]]`; an errored stream runs the error steps) under the same lock. A reader
/// released by another thread meanwhile gets the release's `TypeError`.
pub(crate) fn readable_byte_stream_controller_pull_into(
    stream: &ByteStream,
    view: ByobView,
    min: usize,
    request: Box<dyn ReadIntoRequest>,
) {
    let mut fx = Effects::default();
    {
        let mut slots = stream.lock();
        slots.disturbed = true;
        if let StreamState::Errored(e) = &slots.state {
            let e = e.clone();
            drop(slots);
            request.error_steps(e);
            return;
        }
        if !readable_stream_has_byob_reader(&slots) {
            drop(slots);
            request.error_steps(StreamError::type_error("the reader has been released"));
            return;
        }
        let (buffer, byte_offset, byte_length, view_type) = view.into_parts();
        let element_size = view_type.element_size();
        let minimum_fill = min * element_size;
        debug_assert!(minimum_fill <= byte_length);
        let mut d = PullIntoDescriptor {
            buffer_byte_length: buffer.len(),
            buffer: Some(buffer),
            byte_offset,
            byte_length,
            bytes_filled: 0,
            minimum_fill,
            view_type,
            reader_type: ReaderType::Byob,
        };
        let closed = matches!(slots.state, StreamState::Closed);
        let c = ctl(&mut slots);
        if !c.pending_pull_intos.is_empty() {
            c.pending_pull_intos.push_back(d);
            readable_stream_add_read_into_request(&mut slots, request);
            return;
        }
        if closed {
            let empty = ByobView::from_parts(d.buffer.take().expect("attached"), byte_offset, 0, view_type);
            drop(slots);
            request.close_steps(Some(empty));
            return;
        }
        if c.queue_total_size > 0 {
            if readable_byte_stream_controller_fill_pull_into_descriptor_from_queue(
                &mut c.queue,
                &mut c.queue_total_size,
                &mut d,
            ) {
                let filled = readable_byte_stream_controller_convert_pull_into_descriptor(d);
                readable_byte_stream_controller_handle_queue_drain(&mut slots, &mut fx);
                fx.push(Effect::IntoChunk(request, filled));
                drop(slots);
                fx.run(stream);
                return;
            }
            if c.close_requested {
                let e = StreamError::type_error("the stream closed with fewer bytes than the read's minimum");
                readable_byte_stream_controller_error_locked(&mut slots, e.clone(), &mut fx);
                fx.push(Effect::IntoError(request, e));
                drop(slots);
                fx.run(stream);
                return;
            }
        }
        c.pending_pull_intos.push_back(d);
        readable_stream_add_read_into_request(&mut slots, request);
        fx.push(Effect::CallPullIfNeeded);
    }
    fx.run(stream);
}

/// ReadableByteStreamControllerRespond (the BYOB request has checked that its buffer is attached).
pub(crate) fn readable_byte_stream_controller_respond(
    stream: &ByteStream,
    bytes_written: usize,
) -> Result<(), StreamError> {
    let mut fx = Effects::default();
    {
        let mut slots = stream.lock();
        let state_closed = matches!(slots.state, StreamState::Closed);
        let c = ctl(&mut slots);
        let Some(first) = c.pending_pull_intos.front() else {
            return Err(StreamError::type_error("there is no pending read to respond to"));
        };
        if state_closed {
            if bytes_written != 0 {
                return Err(StreamError::type_error(
                    "bytesWritten must be 0 once the stream is closed",
                ));
            }
        } else {
            if bytes_written == 0 {
                return Err(StreamError::type_error(
                    "bytesWritten must be greater than 0 while the stream is readable",
                ));
            }
            if first.bytes_filled + bytes_written > first.byte_length {
                return Err(StreamError::range_error(
                    "bytesWritten is larger than the view's remaining length",
                ));
            }
        }
        readable_byte_stream_controller_respond_internal(&mut slots, bytes_written, &mut fx);
    }
    fx.run(stream);
    Ok(())
}

/// ReadableByteStreamControllerRespondInClosedState.
fn readable_byte_stream_controller_respond_in_closed_state(slots: &mut ByteSlots, fx: &mut Effects) {
    let c = ctl(slots);
    let first = &c.pending_pull_intos[0];
    debug_assert_eq!(first.bytes_filled % first.element_size(), 0);
    if first.reader_type == ReaderType::None {
        readable_byte_stream_controller_shift_pending_pull_into(c);
    }
    if readable_stream_has_byob_reader(slots) {
        let wanted = slots.reader.as_ref().map_or(0, |r| r.read_into_requests.len());
        let c = ctl(slots);
        let mut filled = Vec::new();
        while filled.len() < wanted && !c.pending_pull_intos.is_empty() {
            filled.push(readable_byte_stream_controller_shift_pending_pull_into(c));
        }
        for d in filled {
            readable_byte_stream_controller_commit_pull_into_descriptor(slots, d, fx);
        }
    }
}

/// ReadableByteStreamControllerRespondInReadableState.
fn readable_byte_stream_controller_respond_in_readable_state(
    slots: &mut ByteSlots,
    bytes_written: usize,
    fx: &mut Effects,
) {
    let c = ctl(slots);
    let d = &mut c.pending_pull_intos[0];
    debug_assert!(d.bytes_filled + bytes_written <= d.byte_length);
    readable_byte_stream_controller_fill_head_pull_into_descriptor(bytes_written, d);
    if d.reader_type == ReaderType::None {
        readable_byte_stream_controller_enqueue_detached_pull_into_to_queue(c);
        let filled = readable_byte_stream_controller_process_pull_into_descriptors_using_queue(c);
        for f in filled {
            readable_byte_stream_controller_commit_pull_into_descriptor(slots, f, fx);
        }
        return;
    }
    if d.bytes_filled < d.minimum_fill {
        return;
    }
    let mut d = readable_byte_stream_controller_shift_pending_pull_into(c);
    let remainder_size = d.bytes_filled % d.element_size();
    if remainder_size > 0 {
        let end = d.byte_offset + d.bytes_filled;
        if let Some(buffer) = &d.buffer {
            let rest = Bytes::copy_from_slice(&buffer.as_slice()[end - remainder_size..end]);
            readable_byte_stream_controller_enqueue_chunk_to_queue(c, rest);
        } else {
            readable_byte_stream_controller_enqueue_cloned_chunk_to_queue(c, &vec![0; remainder_size]);
        }
    }
    d.bytes_filled -= remainder_size;
    let filled = readable_byte_stream_controller_process_pull_into_descriptors_using_queue(c);
    readable_byte_stream_controller_commit_pull_into_descriptor(slots, d, fx);
    for f in filled {
        readable_byte_stream_controller_commit_pull_into_descriptor(slots, f, fx);
    }
}

/// ReadableByteStreamControllerRespondInternal.
fn readable_byte_stream_controller_respond_internal(
    slots: &mut ByteSlots,
    bytes_written: usize,
    fx: &mut Effects,
) {
    readable_byte_stream_controller_invalidate_byob_request(ctl(slots));
    if matches!(slots.state, StreamState::Closed) {
        debug_assert_eq!(bytes_written, 0);
        readable_byte_stream_controller_respond_in_closed_state(slots, fx);
    } else {
        debug_assert!(bytes_written > 0);
        readable_byte_stream_controller_respond_in_readable_state(slots, bytes_written, fx);
    }
    fx.push(Effect::CallPullIfNeeded);
}

/// ReadableByteStreamControllerRespondWithNewView. A rejected view is handed back (the standard
/// throws before transferring its buffer).
pub(crate) fn readable_byte_stream_controller_respond_with_new_view(
    stream: &ByteStream,
    view: ByobView,
) -> Result<(), (StreamError, ByobView)> {
    let mut fx = Effects::default();
    {
        let mut slots = stream.lock();
        let closed = matches!(slots.state, StreamState::Closed);
        let c = ctl(&mut slots);
        let Some(first) = c.pending_pull_intos.front_mut() else {
            return Err((
                StreamError::type_error("there is no pending read to respond to"),
                view,
            ));
        };
        if closed {
            if view.byte_length() != 0 {
                return Err((
                    StreamError::type_error("the view's byteLength must be 0 once the stream is closed"),
                    view,
                ));
            }
        } else if view.byte_length() == 0 {
            return Err((
                StreamError::type_error(
                    "the view's byteLength must be greater than 0 while the stream is readable",
                ),
                view,
            ));
        }
        if first.byte_offset + first.bytes_filled != view.byte_offset() {
            return Err((
                StreamError::range_error("the view's byteOffset does not match the request's"),
                view,
            ));
        }
        if first.buffer_byte_length != view.buffer().len() {
            return Err((
                StreamError::range_error("the view's buffer length does not match the request's"),
                view,
            ));
        }
        if first.bytes_filled + view.byte_length() > first.byte_length {
            return Err((
                StreamError::range_error("the view is longer than the request's remaining length"),
                view,
            ));
        }
        let view_byte_length = view.byte_length();
        first.buffer = Some(view.into_buffer());
        readable_byte_stream_controller_respond_internal(&mut slots, view_byte_length, &mut fx);
    }
    fx.run(stream);
    Ok(())
}

/// ReadableByteStreamControllerShiftPendingPullInto.
fn readable_byte_stream_controller_shift_pending_pull_into(
    c: &mut ByteControllerSlots,
) -> PullIntoDescriptor {
    debug_assert!(c.byob_request.is_none());
    c.pending_pull_intos
        .pop_front()
        .expect("a pending pull-into descriptor")
}

/// ReadableByteStreamControllerShouldCallPull.
fn readable_byte_stream_controller_should_call_pull(slots: &ByteSlots) -> bool {
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

/// ReadableStreamDefaultReaderRead with the byte controller's `[[PullSteps]]`, for a default
/// reader's read on a stream of any `T` whose controller is a byte controller (so `T` is `Bytes`).
pub(crate) fn default_reader_read_generic<T: Send + 'static>(
    stream: &Stream<T>,
    make_request: impl FnOnce() -> Box<dyn ReadRequest<T>>,
) -> ReadOutcome<T> {
    let stream = as_byte_stream(stream).expect("a byte controller controls a stream of Bytes");
    let outcome = default_reader_read(stream, || {
        cast::<Box<dyn ReadRequest<T>>, Box<dyn ReadRequest<Bytes>>>(make_request())
            .unwrap_or_else(|_| unreachable!("T is Bytes"))
    });
    match outcome {
        ReadOutcome::Chunk(b) => {
            ReadOutcome::Chunk(cast::<Bytes, T>(b).unwrap_or_else(|_| unreachable!("T is Bytes")))
        }
        ReadOutcome::Closed => ReadOutcome::Closed,
        ReadOutcome::Errored(e) => ReadOutcome::Errored(e),
        ReadOutcome::Queued => ReadOutcome::Queued,
    }
}

/// ReadableStreamDefaultReaderRead on a byte stream, with the byte controller's `[[PullSteps]]`.
pub(crate) fn default_reader_read(
    stream: &ByteStream,
    make_request: impl FnOnce() -> Box<dyn ReadRequest<Bytes>>,
) -> ReadOutcome<Bytes> {
    let mut fx = Effects::default();
    let outcome = {
        let mut slots = stream.lock();
        slots.disturbed = true;
        match &slots.state {
            StreamState::Closed => return ReadOutcome::Closed,
            StreamState::Errored(e) => return ReadOutcome::Errored(e.clone()),
            StreamState::Readable => {}
        }
        if !readable_stream_has_default_reader(&slots) {
            // Released by another thread between the reader's check and this lock.
            return ReadOutcome::Errored(StreamError::type_error("the reader has been released"));
        }
        let c = ctl(&mut slots);
        if c.queue_total_size > 0 {
            debug_assert_eq!(num_read_requests(&slots), 0);
            // ReadableByteStreamControllerFillReadRequestFromQueue, the chunk returned directly.
            let c = ctl(&mut slots);
            let entry = c.queue.pop_front().expect("the queue is not empty");
            c.queue_total_size -= entry.len();
            readable_byte_stream_controller_handle_queue_drain(&mut slots, &mut fx);
            ReadOutcome::Chunk(entry)
        } else {
            if let Some(size) = c.auto_allocate_chunk_size {
                c.pending_pull_intos.push_back(PullIntoDescriptor {
                    buffer: Some(ArrayBuffer::aligned(size)),
                    buffer_byte_length: size,
                    byte_offset: 0,
                    byte_length: size,
                    bytes_filled: 0,
                    minimum_fill: 1,
                    view_type: ViewType::Uint8,
                    reader_type: ReaderType::Default,
                });
            }
            if let Some(reader) = slots.reader.as_mut() {
                reader.read_requests.push_back(make_request());
            }
            fx.push(Effect::CallPullIfNeeded);
            ReadOutcome::Queued
        }
    };
    fx.run(stream);
    outcome
}

/// ReadableStreamAddReadIntoRequest.
fn readable_stream_add_read_into_request(slots: &mut ByteSlots, request: Box<dyn ReadIntoRequest>) {
    slots
        .reader
        .as_mut()
        .expect("ReadableStreamAddReadIntoRequest: a BYOB reader holds the stream")
        .read_into_requests
        .push_back(request);
}

/// ReadableStreamHasDefaultReader.
fn readable_stream_has_default_reader(slots: &ByteSlots) -> bool {
    slots.reader.as_ref().is_some_and(|r| !r.byob)
}

/// ReadableStreamHasBYOBReader.
fn readable_stream_has_byob_reader(slots: &ByteSlots) -> bool {
    slots.reader.as_ref().is_some_and(|r| r.byob)
}

fn num_read_requests(slots: &ByteSlots) -> usize {
    slots.reader.as_ref().map_or(0, |r| r.read_requests.len())
}

/// ReadableStreamGetNumReadIntoRequests.
fn num_read_into_requests(slots: &ByteSlots) -> usize {
    slots.reader.as_ref().map_or(0, |r| r.read_into_requests.len())
}
