//! The behaviour of WPT `readable-byte-streams/bad-buffers-and-views.any.js`,
//! `enqueue-with-detached-buffer` and `non-transferable-buffers`, ported to the native API.
//!
//! In Rust a buffer passed to `read` or `respond_with_new_view` is moved (the standard's transfer),
//! so reusing it is a compile error rather than a run-time `TypeError`. What stays a run-time
//! error is a buffer *taken out* of a BYOB request ([`ReadableStreamBYOBRequest::take_view`]): the
//! request's buffer is then detached, exactly as in the standard, until it is given back.

use crate::bytes_common;
use crate::common;

use bytes::Bytes;
use sluicegate::readable::{
    ArrayBuffer, ByobView, ByteSourceFn, ReadableStream, ReadableStreamBYOBRequest, ViewType,
};
use sluicegate::{Completion, ErrorKind, StreamError};

use bytes_common::{b, controlled, u8v, view, Ctl};
use common::{assert_rejects_kind, flush, poll_once, Log, Slot};

#[test]
fn reading_from_a_closed_stream_still_transfers_the_buffer() {
    common::run(async {
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().start(|c: &Ctl| c.close().unwrap())).unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let buffer = ArrayBuffer::from(vec![1, 2, 3]);
        let ptr = buffer.as_slice().as_ptr();
        let r = reader.read(ByobView::new(buffer)).await.unwrap();
        assert!(r.done);
        let v = r.view.unwrap();
        assert!(v.as_slice().is_empty());
        assert_eq!(
            v.buffer().as_slice(),
            &[1, 2, 3],
            "the buffer itself comes back untouched"
        );
        assert_eq!(v.buffer().as_slice().as_ptr(), ptr, "moved, not copied");
    });
}

#[test]
fn reading_from_a_stream_with_queued_chunks_still_transfers_the_buffer() {
    common::run(async {
        let rs =
            ReadableStream::new_bytes(ByteSourceFn::new().start(|c: &Ctl| c.enqueue(b(&[1, 2, 3])).unwrap()))
                .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let buffer = ArrayBuffer::from(vec![4, 5, 6]);
        let ptr = buffer.as_slice().as_ptr();
        let r = reader.read(ByobView::new(buffer)).await.unwrap();
        assert!(!r.done);
        let v = r.view.unwrap();
        assert_eq!(
            v.as_slice(),
            &[1, 2, 3],
            "the enqueued bytes, not the original values"
        );
        assert_eq!(v.buffer().as_slice().as_ptr(), ptr);
    });
}

#[test]
fn enqueuing_a_zero_length_chunk_is_a_type_error() {
    let seen = Log::new();
    let s = seen.clone();
    ReadableStream::new_bytes(ByteSourceFn::new().start(move |c: &Ctl| {
        s.push(format!("{:?}", c.enqueue(Bytes::new()).unwrap_err().kind()));
    }))
    .unwrap();
    seen.assert(&["Type"]);
}

#[test]
fn enqueuing_a_zero_length_slice_of_a_non_empty_buffer_is_a_type_error() {
    let (rs, c) = controlled(None);
    let chunk = Bytes::from(vec![0u8; 10]).slice(0..0);
    assert_rejects_kind(c.enqueue(chunk), ErrorKind::Type);
    assert!(rs.is_readable(), "the failed enqueue does not error the stream");
    assert_eq!(c.desired_size(), Some(0.0));
}

#[test]
fn reading_into_a_zero_length_buffer_is_a_type_error() {
    common::run(async {
        let (rs, c) = controlled(None);
        c.enqueue(b(&[1, 2, 3])).unwrap();
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_kind(reader.read(u8v(0)).await, ErrorKind::Type);
        // The queued bytes are still there.
        assert_eq!(
            reader.read(u8v(3)).await.unwrap().view.unwrap().as_slice(),
            &[1, 2, 3]
        );
    });
}

#[test]
fn reading_into_a_zero_length_view_on_a_non_zero_length_buffer_is_a_type_error() {
    common::run(async {
        let (rs, c) = controlled(None);
        c.enqueue(b(&[1, 2, 3])).unwrap();
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_kind(
            reader.read(view(10, ViewType::Uint8, 0, 0)).await,
            ErrorKind::Type,
        );
    });
}

#[test]
fn reading_on_a_released_reader_is_a_type_error() {
    common::run(async {
        let (rs, _c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        reader.release_lock();
        assert_rejects_kind(reader.read(u8v(4)).await, ErrorKind::Type);
        assert_rejects_kind(reader.cancel(StreamError::undefined()).await, ErrorKind::Type);
        assert!(!reader.is_attached());
    });
}

/// A stream whose pull runs `f` once with the controller and request, with a BYOB read of
/// `[4, 5, 6]` pending; returns what `f` logged.
fn in_pull(f: impl FnOnce(&Ctl, ReadableStreamBYOBRequest, &Log) + Send + 'static) -> Log {
    let log = Log::new();
    let l = log.clone();
    let mut f = Some(f);
    common::run(async move {
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            if let Some(f) = f.take() {
                f(c, c.byob_request().unwrap(), &l);
            }
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let _read = reader.read(ByobView::new(ArrayBuffer::from(vec![4, 5, 6])));
        flush(rs.host());
    });
    log
}

fn kind<V: std::fmt::Debug>(r: Result<V, StreamError>) -> String {
    format!("{:?}", r.unwrap_err().kind())
}

#[test]
fn respond_throws_if_the_request_buffer_is_taken_out_in_the_readable_state() {
    let log = in_pull(|_c, request, log| {
        let v = request.take_view().unwrap();
        assert_eq!((v.byte_offset(), v.byte_length(), v.buffer().len()), (0, 3, 3));
        log.push(kind(request.respond(1)));
        let d = request.view().unwrap();
        log.push(format!(
            "detached={} len={} buffer={}",
            d.detached, d.byte_length, d.buffer_byte_length
        ));
    });
    log.assert(&["Type", "detached=true len=0 buffer=0"]);
}

#[test]
fn respond_throws_if_the_request_buffer_is_taken_out_in_the_closed_state() {
    let log = in_pull(|c, request, log| {
        c.close().unwrap();
        let _v = request.take_view().unwrap();
        log.push(kind(request.respond(0)));
    });
    log.assert(&["Type"]);
}

#[test]
fn taking_the_view_twice_is_a_type_error() {
    let log = in_pull(|_c, request, log| {
        let _v = request.take_view().unwrap();
        log.push(kind(request.take_view()));
        log.push(kind(request.write(0, &[1])));
        log.push(kind(request.with_view_mut(|_| ())));
    });
    log.assert(&["Type", "Type", "Type"]);
}

#[test]
fn respond_with_new_view_with_a_zero_length_buffer_in_the_readable_state_is_a_type_error() {
    let log = in_pull(|_c, request, log| {
        log.push(kind(request.respond_with_new_view(u8v(0))));
        log.push(format!("valid={}", request.is_valid()));
    });
    log.assert(&["Type", "valid=true"]);
}

#[test]
fn respond_with_new_view_with_a_zero_length_view_on_a_non_zero_buffer_in_the_readable_state_is_a_type_error()
{
    let log = in_pull(|_c, request, log| {
        log.push(kind(request.respond_with_new_view(view(
            10,
            ViewType::Uint8,
            0,
            0,
        ))));
    });
    log.assert(&["Type"]);
}

#[test]
fn respond_with_new_view_with_a_zero_length_buffer_in_the_closed_state_is_a_range_error() {
    // Closed: a zero-length view is allowed, but its buffer must be the request's (3 bytes).
    let log = in_pull(|c, request, log| {
        c.close().unwrap();
        log.push(kind(request.respond_with_new_view(u8v(0))));
        log.push(kind(request.respond_with_new_view(view(
            10,
            ViewType::Uint8,
            0,
            0,
        ))));
    });
    log.assert(&["Range", "Range"]);
}

#[test]
fn respond_with_new_view_with_a_non_zero_view_in_the_closed_state_is_a_type_error() {
    let log = in_pull(|c, request, log| {
        c.close().unwrap();
        let v = request.take_view().unwrap();
        log.push(kind(request.respond_with_new_view(v)));
    });
    log.assert(&["Type"]);
}

#[test]
fn respond_with_new_view_at_the_wrong_offset_is_a_range_error() {
    let log = in_pull(|_c, request, log| {
        let v = ByobView::with_type(ArrayBuffer::new(3), ViewType::Uint8, 1, 1).unwrap();
        log.push(kind(request.respond_with_new_view(v)));
    });
    log.assert(&["Range"]);
}

#[test]
fn respond_with_new_view_on_a_buffer_of_another_length_is_a_range_error() {
    let log = in_pull(|_c, request, log| {
        log.push(kind(request.respond_with_new_view(u8v(4))));
        log.push(kind(request.respond_with_new_view(u8v(2))));
    });
    log.assert(&["Range", "Range"]);
}

#[test]
fn respond_with_new_view_longer_than_the_request_is_a_range_error() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        // A view of bytes 0..2 of a 4-byte buffer: the request covers 2 bytes.
        let _read = reader.read(view(4, ViewType::Uint8, 0, 2));
        let request = c.byob_request().unwrap();
        let too_long = ByobView::with_type(ArrayBuffer::new(4), ViewType::Uint8, 0, 3).unwrap();
        assert_rejects_kind(request.respond_with_new_view(too_long), ErrorKind::Range);
        assert!(request.is_valid());
    });
}

#[test]
fn enqueue_throws_if_the_request_buffer_is_taken_out_in_the_readable_state() {
    let log = in_pull(|c, request, log| {
        let v = request.take_view().unwrap();
        log.push(kind(c.enqueue(b(&[1]))));
        // Giving the buffer back makes enqueue possible again.
        request.respond_with_new_view(v.subarray(0, 1).unwrap()).unwrap();
        log.push(format!("{:?}", c.enqueue(b(&[1]))));
    });
    log.assert(&["Type", "Ok(())"]);
}

#[test]
fn enqueue_throws_in_the_closed_state_with_a_taken_out_buffer() {
    let log = in_pull(|c, request, log| {
        c.close().unwrap();
        let _v = request.take_view().unwrap();
        log.push(kind(c.enqueue(b(&[1]))));
    });
    log.assert(&["Type"]);
}

#[test]
fn close_with_a_taken_out_buffer_closes_and_the_read_needs_the_buffer_back() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let mut read = reader.read(ByobView::new(ArrayBuffer::from(vec![4, 5, 6])));
        let request = c.byob_request().unwrap();
        let v = request.take_view().unwrap();
        c.close().unwrap();
        assert!(poll_once(&mut read).is_none(), "the read waits for the buffer");
        assert_rejects_kind(request.respond(0), ErrorKind::Type);
        request.respond_with_new_view(v.subarray(0, 0).unwrap()).unwrap();
        let r = read.await.unwrap();
        assert!(r.done);
        assert_eq!(r.view.unwrap().buffer().as_slice(), &[4, 5, 6]);
    });
}

#[test]
fn with_view_mut_gives_the_buffer_back() {
    let log = in_pull(|_c, request, log| {
        let n = request
            .with_view_mut(|v| {
                v[0] = 9;
                v.len()
            })
            .unwrap();
        log.push(format!("{n} {:?}", request.view().unwrap().detached));
        request.respond(1).unwrap();
        log.push(format!("{}", request.is_valid()));
    });
    log.assert(&["3 false", "false"]);
}

#[test]
fn views_are_checked_like_typed_array_constructors() {
    assert_rejects_kind(
        ByobView::with_type(ArrayBuffer::new(8), ViewType::Float64, 4, 0),
        ErrorKind::Range,
    );
    assert_rejects_kind(
        ByobView::with_type(ArrayBuffer::new(8), ViewType::Uint32, 0, 3),
        ErrorKind::Range,
    );
    assert_rejects_kind(
        ByobView::with_type(ArrayBuffer::new(8), ViewType::Uint8, 9, 0),
        ErrorKind::Range,
    );
    assert_rejects_kind(
        ByobView::with_type(ArrayBuffer::new(8), ViewType::Uint16, 0, usize::MAX),
        ErrorKind::Range,
    );
    let v = ByobView::with_type(ArrayBuffer::new(16), ViewType::Float64, 8, 1).unwrap();
    assert_eq!(
        (v.byte_offset(), v.byte_length(), v.len(), v.element_size()),
        (8, 8, 1, 8)
    );
    assert_rejects_kind(v.subarray(0, 2), ErrorKind::Range);
}

#[test]
fn element_sizes_follow_the_typed_array_table() {
    use ViewType::*;
    let sizes: Vec<usize> = [
        Int8,
        Uint8,
        Uint8Clamped,
        Int16,
        Uint16,
        Float16,
        Int32,
        Uint32,
        Float32,
        Float64,
        BigInt64,
        BigUint64,
        DataView,
    ]
    .iter()
    .map(|t| t.element_size())
    .collect();
    assert_eq!(sizes, [1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8, 1]);
    assert!(!DataView.is_typed_array() && Uint8.is_typed_array());
}

#[test]
fn a_float64_read_is_filled_in_whole_eight_byte_elements() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(view(24, ViewType::Float64, 0, 3));
        c.enqueue(Bytes::from((1..=13u8).collect::<Vec<_>>())).unwrap();
        let v = read.await.unwrap().view.unwrap();
        assert_eq!((v.byte_length(), v.len()), (8, 1));
        assert_eq!(v.as_slice(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        let rest = reader.read(u8v(16)).await.unwrap().view.unwrap();
        assert_eq!(rest.as_slice(), &[9, 10, 11, 12, 13]);
    });
}

#[test]
fn a_dropped_stream_makes_the_controller_and_request_type_errors() {
    let slot: Slot<Ctl> = Slot::new();
    let s = slot.clone();
    let rs = ReadableStream::new_bytes(ByteSourceFn::new().start(move |c: &Ctl| s.set(c.clone()))).unwrap();
    let c = slot.get();
    let reader = rs.get_byob_reader().unwrap();
    let _read = reader.read(u8v(1));
    let request = c.byob_request().unwrap();
    drop((rs, reader, _read));
    assert_rejects_kind(c.enqueue(b(&[1])), ErrorKind::Type);
    assert_rejects_kind(c.close(), ErrorKind::Type);
    assert_eq!(c.desired_size(), None);
    assert!(c.byob_request().is_none());
    assert_rejects_kind(request.respond(1), ErrorKind::Type);
    c.error(StreamError::undefined());
    let _unused: Completion = Completion::ok();
}

struct Unused;

impl sluicegate::readable::ReadIntoRequest for Unused {
    fn chunk_steps(self: Box<Self>, _view: ByobView) {
        panic!("a rejected read must not use its request");
    }
    fn close_steps(self: Box<Self>, _view: Option<ByobView>) {
        panic!("a rejected read must not use its request");
    }
    fn error_steps(self: Box<Self>, _e: StreamError) {
        panic!("a rejected read must not use its request");
    }
}

#[test]
fn a_rejected_read_hands_the_view_back_untouched() {
    let (rs, _c) = controlled(None);
    let reader = rs.get_byob_reader().unwrap();
    let v = ByobView::new(ArrayBuffer::from(vec![1, 2, 3]));
    let (e, v) = reader.read_into_with(v, 4, Box::new(Unused)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Range);
    assert_eq!(v.as_slice(), &[1, 2, 3]);
    let (e, v) = reader.read_into_with(v, 0, Box::new(Unused)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
    reader.release_lock();
    let (e, v) = reader.read_into_with(v, 1, Box::new(Unused)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
    assert_eq!(v.buffer().as_slice(), &[1, 2, 3]);
    assert!(!rs.is_disturbed());
}

#[test]
fn a_rejected_new_view_is_handed_back_untouched() {
    let log = in_pull(|_c, request, log| {
        let taken = request.take_view().unwrap();
        let wrong = ByobView::with_type(ArrayBuffer::from(vec![9, 9, 9]), ViewType::Uint8, 1, 1).unwrap();
        let (e, wrong) = request.try_respond_with_new_view(wrong).unwrap_err();
        log.push(format!("{:?} {:?}", e.kind(), wrong.buffer().as_slice()));
        // The right one is accepted.
        request
            .try_respond_with_new_view(taken.subarray(0, 2).unwrap())
            .unwrap();
        let (e, _) = request.try_respond_with_new_view(wrong).unwrap_err();
        log.push(format!("{:?}", e.kind()));
    });
    log.assert(&["Range [9, 9, 9]", "Type"]);
}
