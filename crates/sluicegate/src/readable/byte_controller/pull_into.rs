//! Pull-into descriptors: ReadableByteStreamControllerPullInto and the operations that fill,
//! commit, convert and shift the descriptors of pending BYOB (and auto-allocated) reads.

use super::*;

/// ReadableByteStreamControllerCommitPullIntoDescriptor.
pub(super) fn readable_byte_stream_controller_commit_pull_into_descriptor(
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
                // The view over the whole (auto-allocated or respondWithNewView's) buffer.
                let byte_offset = filled.byte_offset();
                let byte_length = filled.byte_length();
                let buffer = filled.into_buffer();
                let len = buffer.len();
                let chunk = QueueEntry {
                    buffer: buffer.into_bytes(0, len),
                    byte_offset,
                    byte_length,
                };
                slots.meter.bytes_out(byte_length as u64);
                fx.push(Effect::ReadChunk(r, chunk));
            }
        }
    } else if let Some(r) = reader.read_into_requests_mut().and_then(|q| q.pop_front()) {
        // ReadableStreamFulfillReadIntoRequest.
        if done {
            fx.push(Effect::IntoClose(r, Some(filled)));
        } else {
            slots.meter.bytes_out(filled.byte_length() as u64);
            fx.push(Effect::IntoChunk(r, filled));
        }
    }
}

/// ReadableByteStreamControllerConvertPullIntoDescriptor.
pub(super) fn readable_byte_stream_controller_convert_pull_into_descriptor(
    d: PullIntoDescriptor,
) -> ByobView {
    debug_assert!(d.bytes_filled <= d.byte_length);
    debug_assert_eq!(d.bytes_filled % d.element_size(), 0);
    debug_assert!(d.buffer.is_some(), "a committed descriptor's buffer is attached");
    let buffer = d.buffer.unwrap_or_else(|| ArrayBuffer::new(d.buffer_byte_length));
    ByobView::from_parts(buffer, d.byte_offset, d.bytes_filled, d.view_type)
}

/// ReadableByteStreamControllerFillHeadPullIntoDescriptor.
pub(super) fn readable_byte_stream_controller_fill_head_pull_into_descriptor(
    size: usize,
    d: &mut PullIntoDescriptor,
) {
    d.bytes_filled += size;
}

/// ReadableByteStreamControllerFillPullIntoDescriptorFromQueue: copies queued bytes into the
/// descriptor's buffer, whole elements only unless the minimum fill cannot be reached.
pub(super) fn readable_byte_stream_controller_fill_pull_into_descriptor_from_queue(
    queue: &mut VecDeque<QueueEntry>,
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
        let bytes_to_copy = total_bytes_to_copy_remaining.min(head.byte_length);
        let dest_start = d.byte_offset + d.bytes_filled;
        buffer.as_mut_slice()[dest_start..dest_start + bytes_to_copy]
            .copy_from_slice(&head.as_slice()[..bytes_to_copy]);
        if head.byte_length == bytes_to_copy {
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

/// ReadableByteStreamControllerProcessPullIntoDescriptorsUsingQueue.
pub(super) fn readable_byte_stream_controller_process_pull_into_descriptors_using_queue(
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

/// ReadableByteStreamControllerShiftPendingPullInto.
pub(super) fn readable_byte_stream_controller_shift_pending_pull_into(
    c: &mut ByteControllerSlots,
) -> PullIntoDescriptor {
    debug_assert!(c.byob_request.is_none());
    c.pending_pull_intos
        .pop_front()
        .expect("a pending pull-into descriptor")
}
