//! The behaviour of WPT `streams/readable-byte-streams/general.any.js`, ported to the native API:
//! construction, start/pull, default and BYOB readers on byte streams, enqueue, close, error,
//! `byobRequest` with `respond`, partial fills and element sizes.

use crate::bytes_common;
use crate::common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sluicegate::readable::{
    ArrayBuffer, ByobView, ByteSourceFn, ReadableStream, ReadableStreamBYOBRequest, SourceFn, ViewType,
};
use sluicegate::{Completion, ErrorKind, StreamError};

use bytes_common::{b, controlled, recording, u8v, view, Ctl};
use common::{assert_rejects_kind, assert_rejects_with, flush, poll_once, tick, Calls, Log, Slot};

fn error1() -> StreamError {
    StreamError::user("error1")
}

#[test]
fn get_byob_reader_on_a_non_byte_stream_is_a_type_error() {
    let rs: ReadableStream<Bytes> = ReadableStream::new(SourceFn::new()).unwrap();
    assert!(!rs.is_byte_stream());
    assert_rejects_kind(rs.get_byob_reader(), ErrorKind::Type);
    assert!(!rs.locked(), "the failed getReader() does not lock the stream");
}

#[test]
fn a_byte_stream_can_be_constructed_with_an_empty_source() {
    let rs = ReadableStream::new_bytes(ByteSourceFn::new()).unwrap();
    assert!(rs.is_byte_stream());
    let reader = rs.get_byob_reader().unwrap();
    assert!(rs.locked());
    reader.release_lock();
    assert!(!rs.locked());
    let _reader = rs.get_reader().unwrap();
}

#[test]
fn start_then_pull_with_desired_size_equal_to_the_high_water_mark() {
    common::run(async {
        let log = Log::new();
        let (l1, l2) = (log.clone(), log.clone());
        let rs = ReadableStream::with_byte_strategy(
            ByteSourceFn::new()
                .start(move |_c: &Ctl| l1.push("start"))
                .pull(move |c: &Ctl| l2.push(format!("pull {:?}", c.desired_size()))),
            256.0,
        )
        .unwrap();
        flush(rs.host());
        log.assert(&["start", "pull Some(256.0)"]);
    });
}

#[test]
fn no_automatic_pull_if_start_does_not_finish() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let (start, resolver) = Completion::deferred();
        let mut start = Some(start);
        let rs = ReadableStream::with_byte_strategy(
            ByteSourceFn::new()
                .start(move |_c: &Ctl| start.take().unwrap())
                .pull(move |_c: &Ctl| p.hit()),
            256.0,
        )
        .unwrap();
        flush(rs.host());
        pulls.assert_exactly(0);
        resolver.settle(Ok(()));
        flush(rs.host());
        pulls.assert_exactly(1);
    });
}

#[test]
fn start_failing_synchronously_fails_the_constructor() {
    let e1 = error1();
    let e = e1.clone();
    let result =
        ReadableStream::new_bytes(ByteSourceFn::new().start(move |_c: &Ctl| Completion::err(e.clone())));
    assert_rejects_with(result, &e1);
}

#[test]
fn a_panicking_start_fails_the_constructor_with_a_panic_error() {
    let e = ReadableStream::new_bytes(ByteSourceFn::new().start(|_c: &Ctl| -> Completion { panic!("boom") }));
    assert_rejects_kind(e, ErrorKind::Panic);
}

#[test]
fn high_water_mark_zero_means_no_pull_without_a_read() {
    common::run(async {
        let r = recording(Some(0.0), None, |_, _| {});
        flush(r.stream.host());
        r.log.assert(&[]);
    });
}

#[test]
fn invalid_high_water_marks_are_range_errors() {
    for hwm in [-1.0, f64::NAN] {
        assert_rejects_kind(
            ReadableStream::with_byte_strategy(ByteSourceFn::new(), hwm),
            ErrorKind::Range,
        );
    }
}

#[test]
fn auto_allocate_chunk_size_zero_is_a_type_error() {
    assert_rejects_kind(
        ReadableStream::new_bytes(ByteSourceFn::new().auto_allocate_chunk_size(0)),
        ErrorKind::Type,
    );
}

#[test]
fn desired_size_when_closed() {
    let seen = Log::new();
    let s = seen.clone();
    ReadableStream::with_byte_strategy(
        ByteSourceFn::new().start(move |c: &Ctl| {
            s.push(format!("{:?}", c.desired_size()));
            c.close().unwrap();
            s.push(format!("{:?}", c.desired_size()));
        }),
        10.0,
    )
    .unwrap();
    seen.assert(&["Some(10.0)", "Some(0.0)"]);
}

#[test]
fn desired_size_when_errored() {
    let seen = Log::new();
    let s = seen.clone();
    ReadableStream::with_byte_strategy(
        ByteSourceFn::new().start(move |c: &Ctl| {
            s.push(format!("{:?}", c.desired_size()));
            c.error(error1());
            s.push(format!("{:?}", c.desired_size()));
        }),
        10.0,
    )
    .unwrap();
    seen.assert(&["Some(10.0)", "None"]);
}

#[test]
fn get_reader_then_release_lock_rejects_closed() {
    common::run(async {
        let (rs, _c) = controlled(None);
        let reader = rs.get_reader().unwrap();
        reader.release_lock();
        assert_rejects_kind(reader.closed().await, ErrorKind::Type);
    });
}

#[test]
fn get_byob_reader_then_release_lock_rejects_closed() {
    common::run(async {
        let (rs, _c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        reader.release_lock();
        assert_rejects_kind(reader.closed().await, ErrorKind::Type);
    });
}

#[test]
fn closing_does_not_release_a_default_reader() {
    common::run(async {
        let r = recording(None, None, |_, _| {});
        r.controller.close().unwrap();
        let reader = r.stream.get_reader().unwrap();
        reader.closed().await.unwrap();
        assert_rejects_kind(r.stream.get_reader(), ErrorKind::Type);
        r.log.assert(&[]);
    });
}

#[test]
fn closing_does_not_release_a_byob_reader() {
    common::run(async {
        let r = recording(None, None, |_, _| {});
        r.controller.close().unwrap();
        let reader = r.stream.get_byob_reader().unwrap();
        reader.closed().await.unwrap();
        assert_rejects_kind(r.stream.get_byob_reader(), ErrorKind::Type);
        r.log.assert(&[]);
    });
}

#[test]
fn erroring_does_not_release_a_default_reader() {
    common::run(async {
        let r = recording(None, None, |_, _| {});
        let e1 = error1();
        r.controller.error(e1.clone());
        let reader = r.stream.get_reader().unwrap();
        assert_rejects_with(reader.closed().await, &e1);
        assert_rejects_kind(r.stream.get_reader(), ErrorKind::Type);
    });
}

#[test]
fn erroring_does_not_release_a_byob_reader() {
    common::run(async {
        let r = recording(None, None, |_, _| {});
        let e1 = error1();
        r.controller.error(e1.clone());
        let reader = r.stream.get_byob_reader().unwrap();
        assert_rejects_with(reader.closed().await, &e1);
        assert_rejects_kind(r.stream.get_byob_reader(), ErrorKind::Type);
    });
}

#[test]
fn release_lock_with_a_pending_default_read_rejects_the_read() {
    common::run(async {
        let (rs, _c) = controlled(None);
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        reader.release_lock();
        assert_rejects_kind(read.await, ErrorKind::Type);
        assert!(!rs.locked());
    });
}

#[test]
fn automatic_pull_after_start() {
    common::run(async {
        let r = recording(Some(8.0), None, |_, _| {});
        let _reader = r.stream.get_reader().unwrap();
        r.log.assert(&[]);
        tick().await;
        flush(r.stream.host());
        r.log.assert(&["pull"]);
    });
}

#[test]
fn automatic_pull_after_start_and_read() {
    common::run(async {
        let r = recording(Some(0.0), None, |_, _| {});
        let reader = r.stream.get_reader().unwrap();
        let _read = reader.read();
        r.log.assert(&[]);
        flush(r.stream.host());
        r.log.assert(&["pull"]);
    });
}

#[test]
fn automatic_pull_after_start_and_read_view() {
    common::run(async {
        let r = recording(Some(0.0), None, |_, _| {});
        let reader = r.stream.get_byob_reader().unwrap();
        let _read = reader.read(u8v(8));
        r.log.assert(&[]);
        flush(r.stream.host());
        r.log.assert(&["pull"]);
    });
}

/// The first BYOB request's view as `(offset, length, buffer length)`.
fn request_shape(c: &Ctl) -> (usize, usize, usize) {
    let v = c.byob_request().expect("a byob request").view().expect("a view");
    (v.byte_offset, v.byte_length, v.buffer_byte_length)
}

#[test]
fn auto_allocate_chunk_size_presents_a_byob_request_to_default_reads() {
    common::run(async {
        let shapes = Log::new();
        let s = shapes.clone();
        let r = recording(Some(0.0), Some(16), move |c, n| {
            s.push(format!("{:?}", request_shape(c)));
            let request = c.byob_request().unwrap();
            if n == 0 {
                request.write(0, &[0x01]).unwrap();
                request.respond(1).unwrap();
            } else if n == 1 {
                request.write(0, &[0x02, 0x03]).unwrap();
                request.respond(2).unwrap();
            }
        });
        let reader = r.stream.get_reader().unwrap();
        let p0 = reader.read();
        let p1 = reader.read();
        r.log.assert(&[]);
        assert_eq!(p0.await.unwrap().unwrap(), b(&[0x01]));
        assert_eq!(p1.await.unwrap().unwrap(), b(&[0x02, 0x03]));
        shapes.assert(&["(0, 16, 16)", "(0, 16, 16)"]);
        r.log.assert(&["pull", "pull"]);
    });
}

#[test]
fn auto_allocated_buffers_are_page_aligned_and_not_copied() {
    common::run(async {
        let address = Slot::new();
        let a = address.clone();
        let r = recording(Some(0.0), Some(4096), move |c, _| {
            let request = c.byob_request().unwrap();
            let ptr = request
                .with_view_mut(|v| {
                    v[..3].copy_from_slice(b"abc");
                    v.as_ptr() as usize
                })
                .unwrap();
            a.set(ptr);
            request.respond(3).unwrap();
        });
        let reader = r.stream.get_reader().unwrap();
        let chunk = reader.read().await.unwrap().unwrap();
        assert_eq!(&chunk[..], b"abc");
        assert_eq!(
            chunk.as_ptr() as usize,
            address.get(),
            "the chunk is the auto-allocated buffer"
        );
        assert_eq!(address.get() % 4096, 0);
    });
}

#[test]
fn mix_of_auto_allocate_and_byob() {
    common::run(async {
        let shapes = Log::new();
        let s = shapes.clone();
        let r = recording(Some(0.0), Some(16), move |c, n| {
            s.push(format!("{:?}", request_shape(c)));
            let request = c.byob_request().unwrap();
            if n == 0 {
                request.write(0, &[0x01]).unwrap();
                request.respond(1).unwrap();
            } else {
                request.write(0, &[0x02, 0x03]).unwrap();
                request.respond(2).unwrap();
            }
        });
        let reader = r.stream.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().unwrap(), b(&[0x01]));
        reader.release_lock();
        let byob = r.stream.get_byob_reader().unwrap();
        let result = byob.read(u8v(32)).await.unwrap();
        assert!(!result.done);
        let v = result.view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (32, 0, 2));
        assert_eq!(v.as_slice(), &[0x02, 0x03]);
        shapes.assert(&["(0, 16, 16)", "(0, 32, 32)"]);
    });
}

#[test]
fn enqueue_in_start_then_read_pulls_on_read() {
    common::run(async {
        let in_start = Slot::new();
        let s = in_start.clone();
        let log = Log::new();
        let l = log.clone();
        let rs = ReadableStream::with_byte_strategy(
            ByteSourceFn::new()
                .start(move |c: &Ctl| {
                    c.enqueue(Bytes::from(vec![0u8; 16])).unwrap();
                    s.set(c.desired_size());
                })
                .pull(move |c: &Ctl| l.push(format!("pull {:?}", c.desired_size()))),
            8.0,
        )
        .unwrap();
        flush(rs.host());
        log.assert(&[]);
        assert_eq!(in_start.get(), Some(-8.0));
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        log.assert(&["pull Some(8.0)"]);
        let chunk = read.await.unwrap().unwrap();
        assert_eq!(chunk.len(), 16);
    });
}

#[test]
fn push_source_that_ignores_pull() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        c.enqueue(b(&[9])).unwrap();
        assert_eq!(read.await.unwrap().unwrap(), b(&[9]));
    });
}

#[test]
fn enqueued_bytes_are_moved_to_a_waiting_default_reader() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        let chunk = Bytes::from(vec![5u8; 100]);
        let ptr = chunk.as_ptr();
        c.enqueue(chunk).unwrap();
        let got = read.await.unwrap().unwrap();
        assert_eq!(got.as_ptr(), ptr);
        assert_eq!(got.len(), 100);
    });
}

#[test]
fn enqueued_bytes_are_moved_through_the_queue_too() {
    common::run(async {
        let (rs, c) = controlled(Some(1000.0));
        let chunk = Bytes::from(vec![5u8; 100]);
        let ptr = chunk.as_ptr();
        c.enqueue(chunk).unwrap();
        assert_eq!(c.desired_size(), Some(900.0));
        let reader = rs.get_reader().unwrap();
        let got = reader.read().await.unwrap().unwrap();
        assert_eq!(got.as_ptr(), ptr);
        assert_eq!(c.desired_size(), Some(1000.0));
    });
}

#[test]
fn enqueue_then_partial_read_view_then_read_gets_the_rest_without_a_copy() {
    common::run(async {
        let mut data = vec![0u8; 16];
        data[0] = 0x01;
        data[8] = 0x02;
        let chunk = Bytes::from(data);
        let ptr = chunk.as_ptr() as usize;
        let r = recording(None, None, |_, _| panic!("pull() should not be called"));
        r.controller.enqueue(chunk).unwrap();
        let byob = r.stream.get_byob_reader().unwrap();
        let result = byob.read(u8v(8)).await.unwrap();
        assert!(!result.done);
        let v = result.view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (8, 0, 8));
        assert_eq!(v.as_slice()[0], 0x01);
        byob.release_lock();
        let reader = r.stream.get_reader().unwrap();
        let rest = reader.read().await.unwrap().unwrap();
        assert_eq!(rest.len(), 8);
        assert_eq!(rest[0], 0x02);
        assert_eq!(
            rest.as_ptr() as usize - ptr,
            8,
            "the rest is the same buffer at byte offset 8"
        );
    });
}

#[test]
fn get_reader_enqueue_close_then_read() {
    common::run(async {
        let r = recording(None, None, |_, _| panic!("pull() should not be called"));
        let reader = r.stream.get_reader().unwrap();
        r.controller.enqueue(Bytes::from(vec![0u8; 16])).unwrap();
        r.controller.close().unwrap();
        assert_eq!(reader.read().await.unwrap().unwrap().len(), 16);
        assert_eq!(reader.read().await.unwrap(), None);
    });
}

#[test]
fn enqueue_close_get_reader_then_read() {
    common::run(async {
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().start(|c: &Ctl| {
            c.enqueue(Bytes::from(vec![0u8; 16])).unwrap();
            c.close().unwrap();
        }))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().unwrap().len(), 16);
        assert_eq!(reader.read().await.unwrap(), None);
        reader.closed().await.unwrap();
    });
}

#[test]
fn respond_to_pull_by_enqueue_leaves_no_byob_request() {
    common::run(async {
        let had_request = Slot::new();
        let h = had_request.clone();
        let r = recording(None, None, move |c, _| {
            c.enqueue(Bytes::from(vec![0u8; 16])).unwrap();
            h.set(c.byob_request().is_some());
        });
        let reader = r.stream.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().unwrap().len(), 16);
        assert!(!had_request.get());
    });
}

#[test]
fn respond_to_pull_by_enqueue_asynchronously() {
    common::run(async {
        let sizes = Log::new();
        let s = sizes.clone();
        let had_request = Slot::new();
        let h = had_request.clone();
        let r = recording(Some(0.0), None, move |c, _| {
            h.set(c.byob_request().is_some());
            s.push(format!("{:?}", c.desired_size()));
            c.enqueue(b(&[1])).unwrap();
            s.push(format!("{:?}", c.desired_size()));
            c.enqueue(b(&[2])).unwrap();
            s.push(format!("{:?}", c.desired_size()));
        });
        let reader = r.stream.get_reader().unwrap();
        let p0 = reader.read();
        let p1 = reader.read();
        let p2 = reader.read();
        r.controller.enqueue(b(&[0])).unwrap();
        r.log.assert(&[]);
        assert_eq!(p0.await.unwrap().unwrap(), b(&[0]));
        assert_eq!(p1.await.unwrap().unwrap(), b(&[1]));
        assert_eq!(p2.await.unwrap().unwrap(), b(&[2]));
        r.log.assert(&["pull"]);
        assert!(!had_request.get());
        sizes.assert(&["Some(0.0)", "Some(0.0)", "Some(0.0)"]);
    });
}

#[test]
fn respond_to_multiple_pulls_by_separate_enqueues() {
    common::run(async {
        let sizes = Log::new();
        let s = sizes.clone();
        let r = recording(Some(256.0), None, move |c, n| {
            s.push(format!("{:?}", c.desired_size()));
            if n < 3 {
                c.enqueue(b(&[n as u8])).unwrap();
            } else {
                c.close().unwrap();
            }
        });
        let reader = r.stream.get_reader().unwrap();
        let p0 = reader.read();
        let p1 = reader.read();
        let p2 = reader.read();
        r.log.assert(&[]);
        assert_eq!(p0.await.unwrap().unwrap(), b(&[0]));
        assert_eq!(p1.await.unwrap().unwrap(), b(&[1]));
        assert_eq!(p2.await.unwrap().unwrap(), b(&[2]));
        flush(r.stream.host());
        r.log.assert(&["pull", "pull", "pull", "pull"]);
        sizes.assert(&["Some(256.0)", "Some(256.0)", "Some(256.0)", "Some(256.0)"]);
    });
}

#[test]
fn read_view_then_respond_invalidates_the_request() {
    common::run(async {
        let seen = Log::new();
        let s = seen.clone();
        let r = recording(None, None, move |c, _| {
            let request = c.byob_request().unwrap();
            s.push(format!("before {}", request.is_valid()));
            request.write(0, &[0x01]).unwrap();
            request.respond(1).unwrap();
            s.push(format!(
                "after {} {}",
                c.byob_request().is_some(),
                request.view().is_some()
            ));
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let result = reader.read(u8v(1)).await.unwrap();
        assert!(!result.done);
        assert_eq!(result.view.unwrap().as_slice(), &[0x01]);
        r.log.assert(&["pull"]);
        seen.assert(&["before true", "after false false"]);
    });
}

#[test]
fn read_view_then_respond_with_new_view_of_the_transferred_buffer() {
    common::run(async {
        let seen = Log::new();
        let s = seen.clone();
        let r = recording(None, None, move |c, _| {
            let request = c.byob_request().unwrap();
            let mut v = request.take_view().unwrap();
            v.as_mut_slice()[0] = 0x01;
            request.respond_with_new_view(v).unwrap();
            s.push(format!(
                "after {} {}",
                c.byob_request().is_some(),
                request.view().is_some()
            ));
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let result = reader.read(u8v(1)).await.unwrap();
        assert_eq!(result.view.unwrap().as_slice(), &[0x01]);
        r.log.assert(&["pull"]);
        seen.assert(&["after false false"]);
    });
}

#[test]
fn respond_with_too_big_a_value_is_a_range_error() {
    common::run(async {
        let errors = Log::new();
        let e = errors.clone();
        let r = recording(None, None, move |c, _| {
            let request = c.byob_request().unwrap();
            e.push(format!("{:?}", request.respond(2).unwrap_err().kind()));
            request.respond(1).unwrap();
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let result = reader.read(u8v(1)).await.unwrap();
        assert_eq!(result.view.unwrap().byte_length(), 1);
        errors.assert(&["Range"]);
    });
}

#[test]
fn respond_3_to_a_two_element_uint16_view_queues_the_one_byte_remainder() {
    common::run(async {
        let shapes = Log::new();
        let s = shapes.clone();
        let r = recording(None, None, move |c, _| {
            s.push(format!("{:?}", request_shape(c)));
            let request = c.byob_request().unwrap();
            request.write(0, &[0x01, 0x02, 0x03]).unwrap();
            request.respond(3).unwrap();
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let result = reader.read(view(4, ViewType::Uint16, 0, 2)).await.unwrap();
        let v = result.view.unwrap();
        assert_eq!(
            (v.byte_offset(), v.byte_length(), v.view_type()),
            (0, 2, ViewType::Uint16)
        );
        assert_eq!(u16::from_be_bytes([v.as_slice()[0], v.as_slice()[1]]), 0x0102);
        let result = reader.read(u8v(1)).await.unwrap();
        let v = result.view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 1));
        assert_eq!(v.as_slice(), &[0x03]);
        r.log.assert(&["pull"]);
        shapes.assert(&["(0, 4, 4)"]);
    });
}

#[test]
fn byob_reads_filled_by_respond_land_in_the_callers_buffer() {
    common::run(async {
        let r = recording(None, None, move |c, _| {
            let request = c.byob_request().unwrap();
            request
                .with_view_mut(|v| v[..4].copy_from_slice(b"data"))
                .unwrap();
            request.respond(4).unwrap();
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let buffer = ArrayBuffer::aligned(8192);
        let ptr = buffer.as_slice().as_ptr();
        let result = reader.read(ByobView::new(buffer)).await.unwrap();
        let v = result.view.unwrap();
        assert_eq!(v.buffer().as_slice().as_ptr(), ptr, "the same buffer comes back");
        assert!(v.buffer().is_aligned());
        assert_eq!(v.as_slice(), b"data");
    });
}

#[test]
fn request_handles_outlive_their_request_as_type_errors() {
    common::run(async {
        let kept: Slot<ReadableStreamBYOBRequest> = Slot::new();
        let k = kept.clone();
        let r = recording(None, None, move |c, _| {
            let request = c.byob_request().unwrap();
            k.set(request.clone());
            request.respond(1).unwrap();
        });
        let reader = r.stream.get_byob_reader().unwrap();
        reader.read(u8v(1)).await.unwrap();
        let stale = kept.get();
        assert_rejects_kind(stale.respond(1), ErrorKind::Type);
        assert_rejects_kind(stale.write(0, &[1]), ErrorKind::Type);
        assert_rejects_kind(stale.take_view(), ErrorKind::Type);
        assert_rejects_kind(stale.respond_with_new_view(u8v(1)), ErrorKind::Type);
        assert!(stale.view().is_none());
    });
}

#[test]
fn the_same_request_is_returned_until_answered() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let mut read = reader.read(u8v(4));
        let first = c.byob_request().unwrap();
        first.write(0, &[7, 7]).unwrap();
        let again = c.byob_request().unwrap();
        assert_eq!(again.view(), first.view());
        again.respond(2).unwrap();
        assert!(c.byob_request().is_none());
        assert!(!first.is_valid());
        let result = poll_once(&mut read).expect("settled").unwrap();
        assert_eq!(result.view.unwrap().as_slice(), &[7, 7]);
    });
}

#[test]
fn shared_state_between_pulls_is_safe_across_threads() {
    // The controller and requests are Send + Sync.
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Ctl>();
    assert_send_sync::<ReadableStreamBYOBRequest>();
    assert_send_sync::<sluicegate::ReadableStreamBYOBReader>();
    let _unused: Arc<Mutex<()>> = Arc::default();
}

fn no_pull_source(start: impl FnMut(&Ctl) + Send + 'static) -> ReadableStream<Bytes> {
    let mut start = start;
    ReadableStream::new_bytes(
        ByteSourceFn::new()
            .start(move |c: &Ctl| start(c))
            .pull(|_c: &Ctl| -> Completion { panic!("pull() should not be called") }),
    )
    .unwrap()
}

fn with_bytes(len: usize, set: &[(usize, u8)]) -> Bytes {
    let mut v = vec![0u8; len];
    for &(i, x) in set {
        v[i] = x;
    }
    Bytes::from(v)
}

#[test]
fn enqueue_get_reader_then_read_view() {
    common::run(async {
        let rs = no_pull_source(|c| c.enqueue(with_bytes(16, &[(15, 0x01)])).unwrap());
        let reader = rs.get_byob_reader().unwrap();
        let r = reader.read(u8v(16)).await.unwrap();
        assert!(!r.done);
        let v = r.view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 16));
        assert_eq!(v.as_slice()[15], 0x01);
    });
}

fn cancel_counting_stream() -> (ReadableStream<Bytes>, Log) {
    let log = Log::new();
    let l = log.clone();
    let rs = ReadableStream::new_bytes(
        ByteSourceFn::new()
            .start(|c: &Ctl| c.enqueue(Bytes::from(vec![0u8; 16])).unwrap())
            .pull(|_c: &Ctl| -> Completion { panic!("pull() should not be called") })
            .cancel(move |r: StreamError| l.push(format!("cancel {}", common::describe(&r)))),
    )
    .unwrap();
    (rs, log)
}

#[test]
fn enqueue_get_reader_then_cancel_default_mode() {
    common::run(async {
        let (rs, log) = cancel_counting_stream();
        let reader = rs.get_reader().unwrap();
        reader.cancel(StreamError::user("foo")).await.unwrap();
        log.assert(&["cancel foo"]);
        assert_eq!(reader.read().await.unwrap(), None, "the queue was discarded");
    });
}

#[test]
fn enqueue_get_reader_then_cancel_byob_mode() {
    common::run(async {
        let (rs, log) = cancel_counting_stream();
        let reader = rs.get_byob_reader().unwrap();
        reader.cancel(StreamError::user("foo")).await.unwrap();
        log.assert(&["cancel foo"]);
        let r = reader.read(u8v(4)).await.unwrap();
        assert!(r.done);
        assert_eq!(r.view.unwrap().byte_length(), 0);
    });
}

#[test]
fn get_reader_read_view_then_cancel_resolves_the_read_done_without_a_view() {
    common::run(async {
        let log = Log::new();
        let l = log.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .pull(|_c: &Ctl| -> Completion { panic!("pull() should not be called") })
                .cancel(move |r: StreamError| l.push(format!("cancel {}", common::describe(&r)))),
        )
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(u8v(1));
        let cancel = reader.cancel(StreamError::user("foo"));
        let r = read.await.unwrap();
        assert!(r.done);
        assert!(r.view.is_none());
        cancel.await.unwrap();
        log.assert(&["cancel foo"]);
    });
}

#[test]
fn cancel_with_a_partially_filled_pending_pull_request() {
    common::run(async {
        let lengths = Log::new();
        let l = lengths.clone();
        let r = recording(None, None, move |c, _| {
            l.push(format!(
                "{}",
                c.byob_request().unwrap().view().unwrap().byte_length
            ));
            c.enqueue(b(&[0x01])).unwrap();
            let v = c.byob_request().unwrap().view().unwrap();
            l.push(format!("{} at {}", v.byte_length, v.byte_offset));
        });
        flush(r.stream.host());
        r.log.assert(&[]);
        let reader = r.stream.get_byob_reader().unwrap();
        let read = reader.read(view(2, ViewType::Uint16, 0, 1));
        r.log.assert(&["pull"]);
        lengths.assert(&["2", "1 at 1"]);
        let cancel = reader.cancel(StreamError::undefined());
        let result = read.await.unwrap();
        assert!(result.done);
        assert!(result.view.is_none());
        cancel.await.unwrap();
        r.log.assert(&["pull", "cancel undefined"]);
    });
}

#[test]
fn read_view_where_the_buffer_is_not_fully_covered_by_the_view() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(|c: &Ctl| c.enqueue(with_bytes(8, &[(7, 0x01)])).unwrap())
                .pull(move |_c: &Ctl| p.hit()),
        )
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let r = reader.read(view(16, ViewType::Uint8, 8, 8)).await.unwrap();
        assert!(!r.done);
        pulls.assert_exactly(0);
        let v = r.view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (16, 8, 8));
        assert_eq!(v.as_slice()[7], 0x01);
        assert_eq!(
            &v.buffer().as_slice()[..8],
            &[0; 8],
            "bytes outside the view are untouched"
        );
    });
}

#[test]
fn multiple_enqueues_then_one_read_view() {
    common::run(async {
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().start(|c: &Ctl| {
            c.enqueue(with_bytes(16, &[(15, 123)])).unwrap();
            c.enqueue(with_bytes(8, &[(7, 111)])).unwrap();
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let r = reader.read(u8v(24)).await.unwrap();
        let v = r.view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 24));
        assert_eq!(v.as_slice()[15], 123);
        assert_eq!(v.as_slice()[23], 111);
    });
}

#[test]
fn read_view_with_a_bigger_view_than_queued() {
    common::run(async {
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new().start(|c: &Ctl| c.enqueue(with_bytes(16, &[(15, 0x01)])).unwrap()),
        )
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let r = reader.read(u8v(24)).await.unwrap();
        let v = r.view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 16));
        assert_eq!(v.as_slice()[15], 0x01);
    });
}

#[test]
fn read_view_with_smaller_views() {
    common::run(async {
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new().start(|c: &Ctl| c.enqueue(with_bytes(16, &[(7, 0x01), (15, 0x02)])).unwrap()),
        )
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let v = reader.read(u8v(8)).await.unwrap().view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length(), v.as_slice()[7]), (0, 8, 0x01));
        let v = reader.read(u8v(8)).await.unwrap().view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length(), v.as_slice()[7]), (0, 8, 0x02));
    });
}

#[test]
fn one_byte_enqueued_then_read_view_with_uint16_is_completed_by_respond() {
    common::run(async {
        let shapes = Log::new();
        let s = shapes.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(|c: &Ctl| c.enqueue(b(&[0xff])).unwrap())
                .pull(move |c: &Ctl| {
                    let Some(request) = c.byob_request() else { return };
                    s.push(format!("{:?}", request_shape(c)));
                    request.write(0, &[0xaa]).unwrap();
                    request.respond(1).unwrap();
                }),
        )
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let v = reader
            .read(view(2, ViewType::Uint16, 0, 1))
            .await
            .unwrap()
            .view
            .unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 2));
        assert_eq!(u16::from_be_bytes([v.as_slice()[0], v.as_slice()[1]]), 0xffaa);
        shapes.assert(&["(1, 1, 2)"]);
    });
}

#[test]
fn three_bytes_enqueued_then_read_view_with_two_element_uint16() {
    common::run(async {
        let seen = Log::new();
        let s = seen.clone();
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(|c: &Ctl| c.enqueue(b(&[0x01, 0x00, 0x02])).unwrap())
                .pull(move |c: &Ctl| {
                    let request = c.byob_request().unwrap();
                    s.push(format!("{:?}", request_shape(c)));
                    request.write(0, &[0x03]).unwrap();
                    request.respond(1).unwrap();
                    s.push(format!("desired {:?}", c.desired_size()));
                    p.hit();
                }),
        )
        .unwrap();
        flush(rs.host());
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(view(4, ViewType::Uint16, 0, 2));
        pulls.assert_exactly(0);
        let v = read.await.unwrap().view.unwrap();
        assert_eq!(
            (v.view_type(), v.buffer().len(), v.byte_offset(), v.byte_length()),
            (ViewType::Uint16, 4, 0, 2)
        );
        assert_eq!(v.as_slice(), &[0x01, 0x00]);
        let read = reader.read(view(2, ViewType::Uint16, 0, 1));
        pulls.assert_exactly(1);
        let v = read.await.unwrap().view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (2, 0, 2));
        assert_eq!(v.as_slice(), &[0x02, 0x03]);
        seen.assert(&["(1, 1, 2)", "desired Some(0.0)"]);
    });
}

#[test]
fn read_view_with_uint16_on_a_closed_stream_with_one_byte_queued_fails() {
    common::run(async {
        let rs = no_pull_source(|c| {
            c.enqueue(b(&[0xff])).unwrap();
            c.close().unwrap();
        });
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_kind(
            reader.read(view(2, ViewType::Uint16, 0, 1)).await,
            ErrorKind::Type,
        );
        assert_rejects_kind(reader.closed().await, ErrorKind::Type);
    });
}

#[test]
fn close_before_fulfilling_a_uint16_read_view_errors_the_stream() {
    common::run(async {
        let slot = Slot::new();
        let s = slot.clone();
        let rs = no_pull_source(move |c| {
            c.enqueue(b(&[0xff])).unwrap();
            s.set(c.clone());
        });
        let controller: Ctl = slot.get();
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(view(2, ViewType::Uint16, 0, 1));
        assert_rejects_kind(controller.close(), ErrorKind::Type);
        assert_rejects_kind(read.await, ErrorKind::Type);
        assert_rejects_kind(reader.closed().await, ErrorKind::Type);
    });
}

#[test]
fn close_twice_is_a_type_error_even_before_the_stream_closes() {
    let (_rs, c) = controlled(None);
    c.enqueue(b(&[0])).unwrap();
    c.close().unwrap();
    assert_rejects_kind(c.close(), ErrorKind::Type);
}

#[test]
fn enqueue_after_close_is_a_type_error_and_keeps_the_queue() {
    common::run(async {
        let (rs, c) = controlled(None);
        c.enqueue(b(&[1])).unwrap();
        c.close().unwrap();
        assert_rejects_kind(c.enqueue(b(&[2])), ErrorKind::Type);
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().unwrap(), b(&[1]));
        assert_eq!(reader.read().await.unwrap(), None);
    });
}

#[test]
fn read_view_then_respond_and_close_in_pull() {
    common::run(async {
        let shapes = Log::new();
        let s = shapes.clone();
        let r = recording(None, None, move |c, _| {
            s.push(format!("{:?}", request_shape(c)));
            let request = c.byob_request().unwrap();
            request.write(15, &[0x01]).unwrap();
            request.respond(16).unwrap();
            c.close().unwrap();
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let v = reader.read(u8v(16)).await.unwrap().view.unwrap();
        assert_eq!(
            (v.byte_offset(), v.byte_length(), v.as_slice()[15]),
            (0, 16, 0x01)
        );
        let result = reader.read(u8v(16)).await.unwrap();
        assert!(result.done);
        let v = result.view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 0));
        shapes.assert(&["(0, 16, 16)"]);
    });
}

#[test]
fn read_view_with_uint32_filled_by_multiple_responds() {
    common::run(async {
        let shapes = Log::new();
        let s = shapes.clone();
        let r = recording(None, None, move |c, _| {
            if c.byob_request().is_none() {
                return;
            }
            for _ in 0..4 {
                let request = c.byob_request().unwrap();
                s.push(format!("{:?}", request_shape(c)));
                request.write(0, &[0x01]).unwrap();
                request.respond(1).unwrap();
                s.push(format!("after valid={}", request.is_valid()));
            }
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let v = reader
            .read(view(4, ViewType::Uint32, 0, 1))
            .await
            .unwrap()
            .view
            .unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 4));
        assert_eq!(v.as_slice(), &[1, 1, 1, 1]);
        r.log.assert(&["pull"]);
        shapes.assert(&[
            "(0, 4, 4)",
            "after valid=false",
            "(1, 3, 4)",
            "after valid=false",
            "(2, 2, 4)",
            "after valid=false",
            "(3, 1, 4)",
            "after valid=false",
        ]);
    });
}

#[test]
fn read_view_with_uint32_filled_by_multiple_enqueues() {
    common::run(async {
        let shapes = Log::new();
        let s = shapes.clone();
        let r = recording(None, None, move |c, _| {
            if c.byob_request().is_none() {
                return;
            }
            for _ in 0..4 {
                let request = c.byob_request().unwrap();
                s.push(format!("{:?}", request_shape(c)));
                c.enqueue(b(&[0x01])).unwrap();
                s.push(format!("after valid={}", request.is_valid()));
            }
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let v = reader
            .read(view(4, ViewType::Uint32, 0, 1))
            .await
            .unwrap()
            .view
            .unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 4));
        assert_eq!(u32::from_ne_bytes(v.as_slice().try_into().unwrap()), 0x0101_0101);
        r.log.assert(&["pull"]);
        shapes.assert(&[
            "(0, 4, 4)",
            "after valid=false",
            "(1, 3, 4)",
            "after valid=false",
            "(2, 2, 4)",
            "after valid=false",
            "(3, 1, 4)",
            "after valid=false",
        ]);
    });
}

#[test]
fn read_twice_then_enqueue_twice() {
    common::run(async {
        let r = recording(None, None, |c, _| assert!(c.byob_request().is_none()));
        let reader = r.stream.get_reader().unwrap();
        let p0 = reader.read();
        let p1 = reader.read();
        r.log.assert(&[]);
        r.controller.enqueue(b(&[0])).unwrap();
        r.log.assert(&[]);
        assert_eq!(p0.await.unwrap().unwrap().len(), 1);
        r.log.assert(&["pull"]);
        r.controller.enqueue(b(&[0, 0])).unwrap();
        r.log.assert(&["pull"]);
        assert_eq!(p1.await.unwrap().unwrap().len(), 2);
    });
}

#[test]
fn multiple_read_views_then_close_and_respond() {
    common::run(async {
        let r = recording(None, None, |_, _| {});
        let reader = r.stream.get_byob_reader().unwrap();
        let p0 = reader.read(u8v(16));
        let p1 = reader.read(u8v(32));
        r.controller.close().unwrap();
        r.controller.byob_request().unwrap().respond(0).unwrap();
        let r0 = p0.await.unwrap();
        assert!(r0.done);
        let v = r0.view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (16, 0, 0));
        let r1 = p1.await.unwrap();
        assert!(r1.done);
        let v = r1.view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (32, 0, 0));
    });
}

#[test]
fn multiple_read_views_then_a_big_enqueue() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let p0 = reader.read(u8v(16));
        let p1 = reader.read(u8v(16));
        c.enqueue(Bytes::from((0..24u8).collect::<Vec<_>>())).unwrap();
        let v = p0.await.unwrap().view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (16, 0, 16));
        assert_eq!(v.as_slice(), (0..16u8).collect::<Vec<_>>().as_slice());
        let v = p1.await.unwrap().view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (16, 0, 8));
        assert_eq!(v.as_slice(), (16..24u8).collect::<Vec<_>>().as_slice());
    });
}

#[test]
fn multiple_read_views_and_multiple_enqueues() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let pump = async {
            let mut bytes_read = Vec::new();
            loop {
                let r = reader.read(u8v(7)).await.unwrap();
                if r.done {
                    return bytes_read;
                }
                bytes_read.extend_from_slice(r.view.unwrap().as_slice());
            }
        };
        let feed = async {
            c.enqueue(Bytes::from(vec![1u8; 512])).unwrap();
            c.enqueue(Bytes::from(vec![2u8; 512])).unwrap();
            c.close().unwrap();
        };
        let (got, ()) = futures::join!(pump, feed);
        assert_eq!(got.len(), 1024);
        assert!(got[..512].iter().all(|&x| x == 1) && got[512..].iter().all(|&x| x == 2));
    });
}

#[test]
fn read_view_with_an_empty_view_fails_without_pulling() {
    common::run(async {
        let r = recording(None, None, |_, _| {});
        let reader = r.stream.get_byob_reader().unwrap();
        assert_rejects_kind(reader.read(u8v(0)).await, ErrorKind::Type);
        flush(r.stream.host());
        r.log.assert(&[]);
        assert!(
            !r.stream.is_disturbed(),
            "a rejected read does not disturb the stream"
        );
    });
}

#[test]
fn read_on_an_errored_stream() {
    common::run(async {
        let e1 = error1();
        let e = e1.clone();
        let rs = no_pull_source(move |c| c.error(e.clone()));
        let reader = rs.get_reader().unwrap();
        assert_rejects_with(reader.read().await, &e1);
    });
}

#[test]
fn read_then_error() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        let e1 = error1();
        c.error(e1.clone());
        assert_rejects_with(read.await, &e1);
    });
}

#[test]
fn read_view_on_an_errored_stream() {
    common::run(async {
        let e1 = error1();
        let e = e1.clone();
        let rs = no_pull_source(move |c| c.error(e.clone()));
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_with(reader.read(u8v(1)).await, &e1);
    });
}

#[test]
fn read_view_then_error() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(u8v(1));
        let e1 = error1();
        c.error(e1.clone());
        assert_rejects_with(read.await, &e1);
        assert!(
            c.byob_request().is_none(),
            "erroring clears the pending pull-intos"
        );
    });
}

#[test]
fn throwing_in_pull_errors_the_stream() {
    common::run(async {
        let test_error = StreamError::type_error("foo");
        let e = test_error.clone();
        let had = Slot::new();
        let h = had.clone();
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            h.set(c.byob_request().is_some());
            Completion::err(e.clone())
        }))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_rejects_with(reader.read().await, &test_error);
        assert_rejects_with(reader.closed().await, &test_error);
        assert!(!had.get());
    });
}

#[test]
fn throwing_in_pull_after_error_in_it_is_ignored() {
    common::run(async {
        let e1 = error1();
        let e = e1.clone();
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            c.error(e.clone());
            Completion::err(StreamError::type_error("foo"))
        }))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_rejects_with(reader.read().await, &e1);
        assert_rejects_with(reader.closed().await, &e1);
    });
}

#[test]
fn throwing_in_pull_in_response_to_read_view_errors_the_stream() {
    common::run(async {
        let test_error = StreamError::type_error("foo");
        let e = test_error.clone();
        let had = Slot::new();
        let h = had.clone();
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            h.set(c.byob_request().is_some());
            Completion::err(e.clone())
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_with(reader.read(u8v(1)).await, &test_error);
        assert_rejects_with(reader.closed().await, &test_error);
        assert!(had.get());
    });
}

#[test]
fn throwing_in_pull_in_response_to_read_view_after_error_in_it_is_ignored() {
    common::run(async {
        let e1 = error1();
        let e = e1.clone();
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            c.error(e.clone());
            Completion::err(StreamError::type_error("foo"))
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_with(reader.read(u8v(1)).await, &e1);
        assert_rejects_with(reader.closed().await, &e1);
    });
}

#[test]
fn respond_twice_on_the_same_request_is_a_type_error() {
    common::run(async {
        let kept: Slot<ReadableStreamBYOBRequest> = Slot::new();
        let k = kept.clone();
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            let request = c.byob_request().unwrap();
            request.respond(4).unwrap();
            k.set(request);
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let v = reader.read(u8v(16)).await.unwrap().view.unwrap();
        assert_eq!(v.byte_length(), 4);
        assert_rejects_kind(kept.get().respond(4), ErrorKind::Type);
    });
}

#[test]
fn respond_with_new_view_twice_on_the_same_request_is_a_type_error() {
    common::run(async {
        let kept: Slot<ReadableStreamBYOBRequest> = Slot::new();
        let k = kept.clone();
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            let request = c.byob_request().unwrap();
            request.respond_with_new_view(u8v(16)).unwrap();
            k.set(request);
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let v = reader.read(u8v(16)).await.unwrap().view.unwrap();
        assert_eq!(v.byte_length(), 16);
        assert_rejects_kind(kept.get().respond_with_new_view(u8v(16)), ErrorKind::Type);
    });
}

#[test]
fn respond_zero_twice_is_a_type_error_even_when_closed() {
    common::run(async {
        let kept: Slot<(Ctl, ReadableStreamBYOBRequest)> = Slot::new();
        let k = kept.clone();
        let (pull_done, resolver) = Completion::deferred();
        let mut pull_done = Some(pull_done);
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            k.set((c.clone(), c.byob_request().unwrap()));
            pull_done.take().unwrap_or_else(Completion::ok)
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(u8v(16));
        flush(rs.host());
        let (controller, request) = kept.get();
        controller.close().unwrap();
        request.respond(0).unwrap();
        resolver.settle(Ok(()));
        let r = read.await.unwrap();
        assert!(r.done);
        assert_eq!(r.view.unwrap().byte_length(), 0);
        assert_rejects_kind(request.respond(0), ErrorKind::Type);
    });
}

#[test]
fn respond_after_cancel_is_a_type_error() {
    common::run(async {
        let kept: Slot<ReadableStreamBYOBRequest> = Slot::new();
        let k = kept.clone();
        let (pull_done, resolver) = Completion::deferred();
        let mut pull_done = Some(pull_done);
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            k.set(c.byob_request().unwrap());
            pull_done.take().unwrap_or_else(Completion::ok)
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(u8v(16));
        flush(rs.host());
        let cancel = reader.cancel(StreamError::user("meh"));
        assert_rejects_kind(kept.get().respond(0), ErrorKind::Type);
        resolver.settle(Ok(()));
        let r = read.await.unwrap();
        assert!(r.done && r.view.is_none());
        cancel.await.unwrap();
    });
}

#[test]
fn release_lock_with_a_pending_read_view_rejects_it_and_later_bytes_go_to_the_next_reader() {
    common::run(async {
        let kept: Slot<ReadableStreamBYOBRequest> = Slot::new();
        let k = kept.clone();
        let mut first = true;
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            if first {
                first = false;
                k.set(c.byob_request().unwrap());
            }
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(u8v(16));
        flush(rs.host());
        reader.release_lock();
        assert_rejects_kind(read.await, ErrorKind::Type);
        let request = kept.get();
        assert!(
            request.is_valid(),
            "the released reader's descriptor stays at the head"
        );
        request.write(0, &[1, 2, 3]).unwrap();
        request.respond(3).unwrap();
        let reader2 = rs.get_reader().unwrap();
        assert_eq!(reader2.read().await.unwrap().unwrap(), b(&[1, 2, 3]));
    });
}

#[test]
fn default_reader_auto_allocate_and_byob_request_interaction_on_close() {
    common::run(async {
        let (rs, c) = {
            let slot = Slot::new();
            let s = slot.clone();
            let rs = ReadableStream::new_bytes(
                ByteSourceFn::new()
                    .start(move |c: &Ctl| s.set(c.clone()))
                    .auto_allocate_chunk_size(128),
            )
            .unwrap();
            (rs, slot.get())
        };
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        let request = c.byob_request().unwrap();
        assert_eq!(request.view().unwrap().byte_length, 128);
        c.close().unwrap();
        request.respond(0).unwrap();
        assert_eq!(read.await.unwrap(), None);
    });
}

#[test]
fn a_byob_reader_on_a_locked_stream_is_a_type_error() {
    let (rs, _c) = controlled(None);
    let _reader = rs.get_reader().unwrap();
    assert_rejects_kind(rs.get_byob_reader(), ErrorKind::Type);
}

#[test]
fn respond_with_new_view_with_a_smaller_view() {
    common::run(async {
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(|c: &Ctl| {
            let request = c.byob_request().unwrap();
            let mut v = request.take_view().unwrap().subarray(0, 1).unwrap();
            v.as_mut_slice()[0] = 1;
            request.respond_with_new_view(v).unwrap();
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let r = reader
            .read(ByobView::new(ArrayBuffer::from(vec![4, 5, 6])))
            .await
            .unwrap();
        assert!(!r.done);
        let v = r.view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length(), v.as_slice()[0]), (0, 1, 1));
        assert_eq!(v.buffer().as_slice(), &[1, 5, 6]);
    });
}

#[test]
fn respond_with_new_view_with_a_zero_length_view_in_the_closed_state() {
    common::run(async {
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(|c: &Ctl| {
            let request = c.byob_request().unwrap();
            let v = request.take_view().unwrap().subarray(0, 0).unwrap();
            c.close().unwrap();
            request.respond_with_new_view(v).unwrap();
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let r = reader
            .read(ByobView::new(ArrayBuffer::from(vec![4, 5, 6])))
            .await
            .unwrap();
        assert!(r.done);
        let v = r.view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 0));
        assert_eq!(v.buffer().as_slice(), &[4, 5, 6]);
    });
}

#[test]
fn respond_with_new_view_with_a_transferred_view_outside_pull() {
    common::run(async {
        let r = recording(None, None, |_, _| {});
        let reader = r.stream.get_byob_reader().unwrap();
        let read = reader.read(ByobView::new(ArrayBuffer::from(vec![4, 5, 6])));
        flush(r.stream.host());
        r.log.assert(&["pull"]);
        let request = r.controller.byob_request().unwrap();
        let mut v = request.take_view().unwrap().subarray(0, 1).unwrap();
        v.as_mut_slice()[0] = 42;
        request.respond_with_new_view(v).unwrap();
        let v = read.await.unwrap().view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 1));
        assert_eq!(v.buffer().as_slice(), &[42, 5, 6]);
    });
}

#[test]
fn respond_with_new_view_with_a_transferred_zero_length_view_when_closed() {
    common::run(async {
        let r = recording(None, None, |_, _| {});
        let reader = r.stream.get_byob_reader().unwrap();
        let read = reader.read(ByobView::new(ArrayBuffer::from(vec![4, 5, 6])));
        flush(r.stream.host());
        let request = r.controller.byob_request().unwrap();
        let v = request.take_view().unwrap().subarray(0, 0).unwrap();
        r.controller.close().unwrap();
        request.respond_with_new_view(v).unwrap();
        let result = read.await.unwrap();
        assert!(result.done);
        let v = result.view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 0));
        assert_eq!(v.buffer().as_slice(), &[4, 5, 6]);
    });
}
