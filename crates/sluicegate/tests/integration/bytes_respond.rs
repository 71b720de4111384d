//! The behaviour of WPT `readable-byte-streams/respond-after-enqueue.any.js`, and the standard's
//! respond paths (ReadableByteStreamControllerRespondInReadableState / InClosedState, released
//! readers' descriptors, auto-allocated requests), ported to the native API.

use crate::bytes_common;
use crate::common;

use bytes::Bytes;
use sluicegate::readable::{ByteSourceFn, ReadableStream, ReadableStreamBYOBRequest, ViewType};
use sluicegate::{Completion, ErrorKind, StreamError};

use bytes_common::{b, controlled, recording, u8v, view, Ctl};
use common::{assert_rejects_kind, flush, poll_once, Calls, Log, Slot};

#[test]
fn respond_after_enqueue_finds_no_request() {
    common::run(async {
        let seen = Log::new();
        let s = seen.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .pull(move |c: &Ctl| {
                    c.enqueue(b(&[1, 2, 3])).unwrap();
                    s.push(format!("request after enqueue: {}", c.byob_request().is_some()));
                })
                .auto_allocate_chunk_size(10),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().unwrap(), b(&[1, 2, 3]));
        seen.assert(&["request after enqueue: false"]);
    });
}

#[test]
fn respond_with_a_cached_request_after_enqueue_is_a_type_error() {
    common::run(async {
        let seen = Log::new();
        let s = seen.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .pull(move |c: &Ctl| {
                    let request = c.byob_request().unwrap();
                    c.enqueue(b(&[1, 2, 3])).unwrap();
                    s.push(format!("{:?}", request.respond(10).unwrap_err().kind()));
                })
                .auto_allocate_chunk_size(10),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().unwrap(), b(&[1, 2, 3]));
        seen.assert(&["Type"]);
    });
}

/// With two default reads pending there are two auto-allocated descriptors: the enqueue answers
/// the first read (dropping its descriptor) and the request that remains is the second read's,
/// so `respond(2)` answers it with the first 2 bytes of its (zeroed) auto-allocated buffer.
#[test]
fn respond_after_enqueue_with_a_double_read_answers_the_second_read() {
    common::run(async {
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .pull(|c: &Ctl| {
                    c.enqueue(b(&[1, 2, 3])).unwrap();
                    let request = c.byob_request().expect("the second read's request");
                    assert_eq!(request.view().unwrap().byte_length, 10);
                    request.write(0, &[4, 5]).unwrap();
                    request.respond(2)
                })
                .auto_allocate_chunk_size(10),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let (r1, r2) = (reader.read(), reader.read());
        assert_eq!(r1.await.unwrap().unwrap(), b(&[1, 2, 3]));
        assert_eq!(r2.await.unwrap().unwrap(), b(&[4, 5]));
    });
}

#[test]
fn a_source_that_finds_no_request_after_enqueue_can_fail_the_next_read() {
    common::run(async {
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .pull(|c: &Ctl| {
                    c.enqueue(b(&[1, 2, 3])).unwrap();
                    match c.byob_request() {
                        Some(request) => request.respond(1),
                        None => Err(StreamError::type_error("byobRequest is null")),
                    }
                })
                .auto_allocate_chunk_size(10),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().unwrap(), b(&[1, 2, 3]));
        assert_rejects_kind(reader.read().await, ErrorKind::Type);
        assert_rejects_kind(reader.closed().await, ErrorKind::Type);
    });
}

#[test]
fn respond_zero_while_readable_is_a_type_error_and_keeps_the_request() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(u8v(4));
        let request = c.byob_request().unwrap();
        assert_rejects_kind(request.respond(0), ErrorKind::Type);
        assert!(request.is_valid());
        request.write(0, &[5]).unwrap();
        request.respond(1).unwrap();
        assert_eq!(read.await.unwrap().view.unwrap().as_slice(), &[5]);
    });
}

#[test]
fn respond_with_bytes_once_closed_is_a_type_error() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(u8v(4));
        let request = c.byob_request().unwrap();
        c.close().unwrap();
        assert_rejects_kind(request.respond(1), ErrorKind::Type);
        request.respond(0).unwrap();
        assert!(read.await.unwrap().done);
    });
}

#[test]
fn respond_after_the_stream_errored_is_a_type_error() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(u8v(4));
        let request = c.byob_request().unwrap();
        c.error(StreamError::user("gone"));
        assert_rejects_kind(request.respond(1), ErrorKind::Type);
        assert_rejects_kind(request.respond_with_new_view(u8v(4)), ErrorKind::Type);
        assert!(read.await.is_err());
    });
}

#[test]
fn a_released_readers_partial_element_is_queued_before_later_bytes() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read(view(4, ViewType::Uint16, 0, 2));
        let request = c.byob_request().unwrap();
        request.write(0, &[1]).unwrap();
        request.respond(1).unwrap();
        reader.release_lock();
        assert_rejects_kind(read.await, ErrorKind::Type);
        c.enqueue(b(&[2, 3])).unwrap();
        let reader = rs.get_reader().unwrap();
        assert_eq!(
            reader.read().await.unwrap().unwrap(),
            b(&[1]),
            "the filled byte is cloned into the queue"
        );
        assert_eq!(reader.read().await.unwrap().unwrap(), b(&[2, 3]));
    });
}

#[test]
fn responding_to_a_released_readers_request_serves_the_next_byob_reader() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let first = reader.read(u8v(8));
        let request = c.byob_request().unwrap();
        reader.release_lock();
        assert_rejects_kind(first.await, ErrorKind::Type);
        let reader2 = rs.get_byob_reader().unwrap();
        let mut second = reader2.read(u8v(2));
        assert!(poll_once(&mut second).is_none());
        request.write(0, &[7, 8, 9]).unwrap();
        request.respond(3).unwrap();
        let v = second.await.unwrap().view.unwrap();
        assert_eq!(v.as_slice(), &[7, 8]);
        let v = reader2.read(u8v(2)).await.unwrap().view.unwrap();
        assert_eq!(v.as_slice(), &[9]);
    });
}

#[test]
fn respond_zero_when_closed_skips_a_released_readers_descriptor() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let first = reader.read(u8v(8));
        let request = c.byob_request().unwrap();
        reader.release_lock();
        assert_rejects_kind(first.await, ErrorKind::Type);
        let reader2 = rs.get_byob_reader().unwrap();
        let second = reader2.read(view(6, ViewType::Uint8, 2, 3));
        c.close().unwrap();
        request.respond(0).unwrap();
        let r = second.await.unwrap();
        assert!(r.done);
        let v = r.view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (6, 2, 0));
    });
}

#[test]
fn respond_to_an_auto_allocated_request_with_fewer_bytes() {
    common::run(async {
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .pull(|c: &Ctl| {
                    let request = c.byob_request().unwrap();
                    request.write(0, b"hey").unwrap();
                    request.respond(3)
                })
                .auto_allocate_chunk_size(4096),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let chunk = reader.read().await.unwrap().unwrap();
        assert_eq!(&chunk[..], b"hey");
        assert_eq!(
            chunk.as_ptr() as usize % 4096,
            0,
            "the chunk is the auto-allocated, aligned buffer"
        );
    });
}

#[test]
fn respond_with_new_view_to_an_auto_allocated_request() {
    common::run(async {
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .pull(|c: &Ctl| {
                    let request = c.byob_request().unwrap();
                    let mut v = request.take_view().unwrap();
                    v.as_mut_slice()[..5].copy_from_slice(b"hello");
                    request.respond_with_new_view(v.subarray(0, 5).unwrap())
                })
                .auto_allocate_chunk_size(64),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_eq!(&reader.read().await.unwrap().unwrap()[..], b"hello");
    });
}

#[test]
fn an_enqueue_answers_a_pending_auto_allocated_read_without_a_copy() {
    common::run(async {
        let slot = Slot::new();
        let s = slot.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(move |c: &Ctl| s.set(c.clone()))
                .auto_allocate_chunk_size(16),
        )
        .unwrap();
        let c: Ctl = slot.get();
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        assert!(c.byob_request().is_some());
        let chunk = Bytes::from(vec![1u8; 100]);
        let ptr = chunk.as_ptr();
        c.enqueue(chunk).unwrap();
        assert!(
            c.byob_request().is_none(),
            "the auto-allocated descriptor is dropped"
        );
        let got = read.await.unwrap().unwrap();
        assert_eq!((got.as_ptr(), got.len()), (ptr, 100));
    });
}

#[test]
fn one_enqueue_fills_several_pending_byob_reads() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let r1 = reader.read(u8v(2));
        let r2 = reader.read(u8v(3));
        c.enqueue(b(&[0, 1, 2, 3, 4, 5])).unwrap();
        assert_eq!(c.desired_size(), Some(-1.0), "one byte is left in the queue");
        assert_eq!(r1.await.unwrap().view.unwrap().as_slice(), &[0, 1]);
        assert_eq!(r2.await.unwrap().view.unwrap().as_slice(), &[2, 3, 4]);
        assert_eq!(reader.read(u8v(3)).await.unwrap().view.unwrap().as_slice(), &[5]);
        assert_eq!(c.desired_size(), Some(0.0));
    });
}

#[test]
fn a_respond_larger_than_one_read_fills_the_later_reads_from_the_queue_remainder() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let r1 = reader.read(view(4, ViewType::Uint16, 0, 2));
        let r2 = reader.read(u8v(1));
        let request = c.byob_request().unwrap();
        request.write(0, &[1, 2, 3]).unwrap();
        request.respond(3).unwrap();
        assert_eq!(r1.await.unwrap().view.unwrap().as_slice(), &[1, 2]);
        // The odd byte was cloned into the queue and serves the next read.
        assert_eq!(r2.await.unwrap().view.unwrap().as_slice(), &[3]);
    });
}

#[test]
fn the_high_water_mark_counts_bytes() {
    common::run(async {
        let r = recording(Some(10.0), None, |_, _| {});
        flush(r.stream.host());
        r.log.assert(&["pull"]);
        r.controller.enqueue(b(&[0; 3])).unwrap();
        assert_eq!(r.controller.desired_size(), Some(7.0));
        flush(r.stream.host());
        r.log.assert(&["pull", "pull"]);
        r.controller.enqueue(Bytes::from(vec![0; 10])).unwrap();
        assert_eq!(r.controller.desired_size(), Some(-3.0));
        flush(r.stream.host());
        r.log.assert(&["pull", "pull"]);
        let reader = r.stream.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().unwrap().len(), 3);
        assert_eq!(r.controller.desired_size(), Some(0.0));
        flush(r.stream.host());
        r.log.assert(&["pull", "pull"]);
        assert_eq!(reader.read().await.unwrap().unwrap().len(), 10);
        assert_eq!(r.controller.desired_size(), Some(10.0));
        flush(r.stream.host());
        r.log.assert(&["pull", "pull", "pull"]);
    });
}

#[test]
fn a_pending_byob_read_does_not_change_the_desired_size() {
    common::run(async {
        let (rs, c) = controlled(Some(5.0));
        let reader = rs.get_byob_reader().unwrap();
        let _read = reader.read(u8v(100));
        assert_eq!(c.desired_size(), Some(5.0));
    });
}

#[test]
fn pull_is_not_called_again_while_a_pull_is_pending() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let pending: Slot<sluicegate::Resolver> = Slot::new();
        let pd = pending.clone();
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |_c: &Ctl| {
            p.hit();
            let (completion, resolver) = Completion::deferred();
            pd.set(resolver);
            completion
        }))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let _r1 = reader.read();
        let _r2 = reader.read();
        flush(rs.host());
        pulls.assert_exactly(1);
        pending.take().unwrap().settle(Ok(()));
        flush(rs.host());
        // No call to CallPullIfNeeded came while pulling, so [[pullAgain]] is false.
        pulls.assert_exactly(1);
        let _r3 = reader.read();
        pulls.assert_exactly(2);
    });
}

#[test]
fn a_panicking_pull_errors_the_stream_with_a_panic_error() {
    common::run(async {
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new().pull(|_c: &Ctl| -> Completion { panic!("pull exploded") }),
        )
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_kind(reader.read(u8v(4)).await, ErrorKind::Panic);
        assert_rejects_kind(reader.closed().await, ErrorKind::Panic);
    });
}

#[test]
fn cancel_calls_the_source_once_and_discards_the_queue() {
    common::run(async {
        let log = Log::new();
        let l = log.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(|c: &Ctl| c.enqueue(b(&[1, 2])).unwrap())
                .cancel(move |r: StreamError| l.push(format!("cancel {}", common::describe(&r)))),
        )
        .unwrap();
        rs.cancel(StreamError::user("first")).await.unwrap();
        rs.cancel(StreamError::user("second")).await.unwrap();
        log.assert(&["cancel first"]);
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), None);
    });
}

#[test]
fn a_request_kept_across_pulls_is_replaced_by_a_fresh_one() {
    common::run(async {
        let kept: Slot<ReadableStreamBYOBRequest> = Slot::new();
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let r1 = reader.read(u8v(2));
        let first = c.byob_request().unwrap();
        kept.set(first.clone());
        first.respond(2).unwrap();
        r1.await.unwrap();
        let _r2 = reader.read(u8v(2));
        let second = c.byob_request().unwrap();
        assert!(!kept.get().is_valid());
        assert!(second.is_valid());
        assert_rejects_kind(kept.get().respond(1), ErrorKind::Type);
    });
}
