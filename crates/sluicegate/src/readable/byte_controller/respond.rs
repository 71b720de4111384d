//! Answering a BYOB request: ReadableByteStreamControllerRespond, RespondWithNewView and the
//! closed- and readable-state steps they share.

use super::*;

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
pub(super) fn readable_byte_stream_controller_respond_in_closed_state(
    slots: &mut ByteSlots,
    fx: &mut Effects,
) {
    let c = ctl(slots);
    let first = &c.pending_pull_intos[0];
    debug_assert_eq!(first.bytes_filled % first.element_size(), 0);
    if first.reader_type == ReaderType::None {
        readable_byte_stream_controller_shift_pending_pull_into(c);
    }
    if readable_stream_has_byob_reader(slots) {
        let wanted = slots.reader.as_ref().map_or(0, |r| r.num_read_into_requests());
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
pub(super) fn readable_byte_stream_controller_respond_in_readable_state(
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
        // Not a step of the standard: a default reader's waiting reads take the bytes just
        // moved to the queue, as they would from an enqueue. Without this they wait for the
        // source's next chunk while a later read() takes these bytes first, out of order. Found
        // by the byte controller fuzz target; see `tests/integration/bytes_orphan_pull_into.rs`.
        if readable_stream_has_default_reader(slots) {
            let waiting = num_read_requests(slots);
            readable_byte_stream_controller_process_read_requests_using_queue(slots, fx);
            let served = waiting - num_read_requests(slots);
            discard_pull_intos_of_served_reads(ctl(slots), served);
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
            readable_byte_stream_controller_enqueue_chunk_to_queue(c, QueueEntry::whole(rest));
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
pub(super) fn readable_byte_stream_controller_respond_internal(
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
        slots.meter.bytes_in(bytes_written as u64);
        readable_byte_stream_controller_respond_in_readable_state(slots, bytes_written, fx);
        let phase = crate::stats::readable_phase(slots);
        slots.meter.phase(phase);
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
