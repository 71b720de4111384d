//! `ReadableStreamBYOBRequest` through the native API (the Rust side of WPT
//! `construct-byob-request.any.js`: a request exists only when the controller hands one out, so
//! there is no public constructor to misuse). Its view reports the pending pull-into descriptor
//! as the standard's `byobRequest.view` does, plus what a binding needs: the element size, the
//! bytes filled so far and the minimum fill.

use crate::bytes_common;
use crate::common;

use sluicegate::readable::{ByobRequestView, ReadableStream, ViewType};
use sluicegate::ErrorKind;

use bytes_common::{b, controlled, u8v, view};
use common::{assert_rejects_kind, flush, poll_once};

#[test]
fn no_request_without_a_pending_read() {
    let (rs, c) = controlled(None);
    assert!(c.byob_request().is_none());
    let _reader = rs.get_reader().unwrap();
    assert!(
        c.byob_request().is_none(),
        "a default read without autoAllocateChunkSize has none"
    );
}

#[test]
fn the_request_view_describes_the_pending_read() {
    let (rs, c) = controlled(None);
    let reader = rs.get_byob_reader().unwrap();
    let _read = reader.read_min(view(32, ViewType::Uint32, 8, 4), 2);
    let v = c.byob_request().unwrap().view().unwrap();
    assert_eq!(
        v,
        ByobRequestView {
            byte_offset: 8,
            byte_length: 16,
            buffer_byte_length: 32,
            bytes_filled: 0,
            element_size: 4,
            view_type: ViewType::Uint32,
            minimum_fill: 8,
            detached: false,
        }
    );
}

#[test]
fn the_request_view_advances_with_partial_fills() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let mut read = reader.read_min(view(8, ViewType::Uint16, 0, 4), 4);
        c.enqueue(b(&[1, 2, 3])).unwrap();
        let v = c.byob_request().unwrap().view().unwrap();
        assert_eq!((v.byte_offset, v.byte_length, v.bytes_filled), (3, 5, 3));
        let request = c.byob_request().unwrap();
        request.write(0, &[4, 5]).unwrap();
        request.respond(2).unwrap();
        let v = c.byob_request().unwrap().view().unwrap();
        assert_eq!((v.byte_offset, v.byte_length, v.bytes_filled), (5, 3, 5));
        assert!(poll_once(&mut read).is_none());
        let request = c.byob_request().unwrap();
        request.write(0, &[6, 7, 8]).unwrap();
        request.respond(3).unwrap();
        let result = read.await.unwrap();
        assert_eq!(result.view.unwrap().as_slice(), &[1, 2, 3, 4, 5, 6, 7, 8]);
    });
}

#[test]
fn write_checks_bounds_against_the_remaining_view() {
    let (rs, c) = controlled(None);
    let reader = rs.get_byob_reader().unwrap();
    let _read = reader.read(u8v(4));
    let request = c.byob_request().unwrap();
    assert_rejects_kind(request.write(0, &[0; 5]), ErrorKind::Range);
    assert_rejects_kind(request.write(3, &[0; 2]), ErrorKind::Range);
    assert_rejects_kind(request.write(usize::MAX, &[0]), ErrorKind::Range);
    request.write(3, &[9]).unwrap();
    request.write(0, &[]).unwrap();
}

#[test]
fn writes_land_at_the_view_offset_of_the_callers_buffer() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(view(8, ViewType::Uint8, 3, 4));
        let request = c.byob_request().unwrap();
        request.write(1, &[0xbb, 0xcc]).unwrap();
        request.write(0, &[0xaa]).unwrap();
        request.respond(3).unwrap();
        let v = read.await.unwrap().view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (3, 3));
        assert_eq!(v.buffer().as_slice(), &[0, 0, 0, 0xaa, 0xbb, 0xcc, 0, 0]);
    });
}

#[test]
fn a_taken_view_covers_only_the_unfilled_part() {
    let (rs, c) = controlled(None);
    let reader = rs.get_byob_reader().unwrap();
    let _read = reader.read_min(view(6, ViewType::Uint8, 1, 5), 5);
    c.enqueue(b(&[1, 2])).unwrap();
    let request = c.byob_request().unwrap();
    let v = request.take_view().unwrap();
    assert_eq!(
        (v.view_type(), v.byte_offset(), v.byte_length(), v.buffer().len()),
        (ViewType::Uint8, 3, 3, 6)
    );
    assert_eq!(
        &v.buffer().as_slice()[1..3],
        &[1, 2],
        "the filled bytes are in the buffer"
    );
    let d = request.view().unwrap();
    assert!(d.detached);
    request.respond_with_new_view(v.subarray(0, 1).unwrap()).unwrap();
    let d = c.byob_request().unwrap().view().unwrap();
    assert_eq!((d.byte_offset, d.byte_length, d.detached), (4, 2, false));
}

#[test]
fn the_request_survives_a_failed_respond() {
    let (rs, c) = controlled(None);
    let reader = rs.get_byob_reader().unwrap();
    let _read = reader.read(u8v(2));
    let request = c.byob_request().unwrap();
    assert_rejects_kind(request.respond(3), ErrorKind::Range);
    assert!(request.is_valid());
    assert_eq!(c.byob_request().unwrap().view(), request.view());
}

#[test]
fn cancel_invalidates_the_request() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(u8v(2));
        let request = c.byob_request().unwrap();
        reader.cancel(sluicegate::StreamError::undefined()).await.unwrap();
        assert!(!request.is_valid());
        assert!(c.byob_request().is_none());
        assert!(read.await.unwrap().done);
    });
}

#[test]
fn requests_are_send_and_usable_from_another_thread() {
    let (rs, c) = controlled(None);
    let reader = rs.get_byob_reader().unwrap();
    let mut read = reader.read(u8v(4));
    let request = c.byob_request().unwrap();
    std::thread::spawn(move || {
        request.write(0, &[1, 2, 3, 4]).unwrap();
        request.respond(4).unwrap();
    })
    .join()
    .unwrap();
    flush(rs.host());
    let result = poll_once(&mut read).expect("settled").unwrap();
    assert_eq!(result.view.unwrap().as_slice(), &[1, 2, 3, 4]);
}

#[test]
fn a_byte_stream_is_a_readable_stream_of_bytes() {
    let (rs, _c) = controlled(None);
    let _: &ReadableStream<bytes::Bytes> = &rs;
    assert!(rs.is_byte_stream());
    assert!(rs.is_readable());
    assert!(!rs.is_disturbed());
}
