//! Enqueueing into a byte stream and serving reads from its queue: ReadableByteStreamControllerEnqueue
//! and the queue operations it uses, and the `[[PullSteps]]` of a default reader's read.

use super::*;
use crate::stats::{readable_phase, Phase};

/// ReadableByteStreamControllerEnqueue.
pub(crate) fn readable_byte_stream_controller_enqueue(
    stream: &ByteStream,
    chunk: QueueEntry,
) -> Result<(), StreamError> {
    readable_byte_stream_controller_enqueue_with(stream, chunk, false)
}

/// ReadableByteStreamControllerEnqueue, with the `enqueue()` method's checks first when
/// `method_checks` (a `TypeError` where the abstract operation returns quietly).
pub(super) fn readable_byte_stream_controller_enqueue_with(
    stream: &ByteStream,
    chunk: QueueEntry,
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
        }
        slots.meter.bytes_in(chunk.byte_length as u64);
        let c = ctl(&mut slots);
        if c.pending_pull_intos.front().is_some() {
            readable_byte_stream_controller_invalidate_byob_request(c);
            if c.pending_pull_intos[0].reader_type == ReaderType::None {
                readable_byte_stream_controller_enqueue_detached_pull_into_to_queue(c);
            }
        }
        if readable_stream_has_default_reader(&slots) {
            let waiting = num_read_requests(&slots);
            readable_byte_stream_controller_process_read_requests_using_queue(&mut slots, &mut fx);
            let served = waiting - num_read_requests(&slots);
            discard_pull_intos_of_served_reads(ctl(&mut slots), served);
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
                slots.meter.bytes_out(chunk.byte_length as u64);
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
        let phase = readable_phase(&slots);
        slots.meter.phase(phase);
        fx.push(Effect::CallPullIfNeeded);
    }
    fx.run(stream);
    Ok(())
}

/// ReadableByteStreamControllerEnqueueChunkToQueue.
pub(super) fn readable_byte_stream_controller_enqueue_chunk_to_queue(
    c: &mut ByteControllerSlots,
    chunk: QueueEntry,
) {
    c.queue_total_size += chunk.byte_length;
    c.queue.push_back(chunk);
}

/// ReadableByteStreamControllerEnqueueClonedChunkToQueue (CloneArrayBuffer is a copy).
pub(super) fn readable_byte_stream_controller_enqueue_cloned_chunk_to_queue(
    c: &mut ByteControllerSlots,
    bytes: &[u8],
) {
    readable_byte_stream_controller_enqueue_chunk_to_queue(
        c,
        QueueEntry::whole(Bytes::copy_from_slice(bytes)),
    );
}

/// ReadableByteStreamControllerEnqueueDetachedPullIntoToQueue.
pub(super) fn readable_byte_stream_controller_enqueue_detached_pull_into_to_queue(
    c: &mut ByteControllerSlots,
) {
    let d = &c.pending_pull_intos[0];
    debug_assert_eq!(d.reader_type, ReaderType::None);
    if d.bytes_filled > 0 {
        let copy = match &d.buffer {
            Some(b) => Bytes::copy_from_slice(&b.as_slice()[d.byte_offset..d.byte_offset + d.bytes_filled]),
            None => Bytes::from(vec![0; d.bytes_filled]),
        };
        readable_byte_stream_controller_enqueue_chunk_to_queue(c, QueueEntry::whole(copy));
    }
    readable_byte_stream_controller_shift_pending_pull_into(c);
}

/// Not a step of the standard: drops the auto-allocated pull-into descriptors of the `served`
/// default reads that enqueue just served from the queue.
///
/// With `autoAllocateChunkSize`, a default read made while the queue is empty gets a descriptor
/// (reader type "default") beside its read request. Enqueue normally serves such a read by
/// shifting the descriptor with it. But when a released BYOB reader left a partly filled
/// descriptor at the head (reader type "none"), enqueue first moves its bytes to the queue, and
/// ReadableByteStreamControllerProcessReadRequestsUsingQueue then serves the reads from the
/// queue, leaving their descriptors behind. The standard asserts right after that no descriptor
/// is left; one that is left would be offered to the source as a `byobRequest` for a read that
/// no longer exists. Read requests and their descriptors are both FIFO, so the first `served`
/// default-type descriptors are the served reads' own (the same holds after a respond to a "none"
/// descriptor, which moves its bytes to the queue too); none of them holds bytes (a default
/// descriptor is committed by its first response, its minimum fill being one byte).
/// Found by the byte controller fuzz target; see `tests/integration/bytes_orphan_pull_into.rs`.
pub(super) fn discard_pull_intos_of_served_reads(c: &mut ByteControllerSlots, served: usize) {
    for _ in 0..served {
        let Some(i) = c
            .pending_pull_intos
            .iter()
            .position(|d| d.reader_type == ReaderType::Default)
        else {
            return;
        };
        debug_assert_eq!(c.pending_pull_intos[i].bytes_filled, 0);
        c.pending_pull_intos.remove(i);
    }
}

/// ReadableByteStreamControllerProcessReadRequestsUsingQueue.
pub(super) fn readable_byte_stream_controller_process_read_requests_using_queue(
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
pub(super) fn readable_byte_stream_controller_fill_read_request_from_queue(
    slots: &mut ByteSlots,
    r: Box<dyn ReadRequest<Bytes>>,
    fx: &mut Effects,
) {
    let c = ctl(slots);
    let entry = c.queue.pop_front().expect("the queue is not empty");
    c.queue_total_size -= entry.byte_length;
    slots.meter.bytes_out(entry.byte_length as u64);
    readable_byte_stream_controller_handle_queue_drain(slots, fx);
    fx.push(Effect::ReadChunk(r, entry));
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
        ReadOutcome::ChunkInBuffer(b, buffer, offset) => ReadOutcome::ChunkInBuffer(
            cast::<Bytes, T>(b).unwrap_or_else(|_| unreachable!("T is Bytes")),
            buffer,
            offset,
        ),
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
            c.queue_total_size -= entry.byte_length;
            slots.meter.bytes_out(entry.byte_length as u64);
            let phase = readable_phase(&slots);
            slots.meter.phase(phase);
            readable_byte_stream_controller_handle_queue_drain(&mut slots, &mut fx);
            entry.into_outcome()
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
            slots.meter.phase(Phase::Starved);
            fx.push(Effect::CallPullIfNeeded);
            ReadOutcome::Queued
        }
    };
    fx.run(stream);
    outcome
}
