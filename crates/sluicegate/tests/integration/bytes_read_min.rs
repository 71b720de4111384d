//! The behaviour of WPT `streams/readable-byte-streams/read-min.any.js`, ported to the native
//! API: `read_min(view, min)` checks its argument, waits until `min` elements are filled, and
//! keeps partially filled requests at the head so the source can keep filling them.

use crate::bytes_common;
use crate::common;

use bytes::Bytes;
use sluicegate::readable::{ArrayBuffer, ByobView, ByteSourceFn, ReadableStream, ViewType};
use sluicegate::{Completion, ErrorKind, StreamError};

use bytes_common::{b, controlled, recording, u8v, view, Ctl};
use common::{assert_rejects_kind, assert_rejects_with, flush, poll_once, Calls, Log, Slot};

fn no_pull() -> ReadableStream<Bytes> {
    ReadableStream::new_bytes(
        ByteSourceFn::new().pull(|_c: &Ctl| -> Completion { panic!("pull() should not be called") }),
    )
    .unwrap()
}

/// The request's view as `(offset, length, buffer length)`.
fn shape(c: &Ctl) -> String {
    let v = c.byob_request().unwrap().view().unwrap();
    format!("({}, {}, {})", v.byte_offset, v.byte_length, v.buffer_byte_length)
}

#[test]
fn min_zero_is_a_type_error() {
    common::run(async {
        let reader = no_pull().get_byob_reader().unwrap();
        assert_rejects_kind(reader.read_min(u8v(1), 0).await, ErrorKind::Type);
    });
}

#[test]
fn min_larger_than_a_uint8_view_is_a_range_error() {
    common::run(async {
        let reader = no_pull().get_byob_reader().unwrap();
        assert_rejects_kind(reader.read_min(u8v(1), 2).await, ErrorKind::Range);
    });
}

#[test]
fn min_larger_than_a_uint16_view_is_a_range_error() {
    common::run(async {
        let reader = no_pull().get_byob_reader().unwrap();
        assert_rejects_kind(
            reader.read_min(view(2, ViewType::Uint16, 0, 1), 2).await,
            ErrorKind::Range,
        );
    });
}

#[test]
fn min_larger_than_a_data_view_is_a_range_error() {
    common::run(async {
        let reader = no_pull().get_byob_reader().unwrap();
        assert_rejects_kind(
            reader.read_min(view(1, ViewType::DataView, 0, 1), 2).await,
            ErrorKind::Range,
        );
    });
}

#[test]
fn min_counts_bytes_for_a_data_view_and_elements_for_typed_arrays() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        // A DataView of 4 bytes accepts min 4; a Uint32Array of 1 element does not accept min 4.
        assert_rejects_kind(
            reader.read_min(view(4, ViewType::Uint32, 0, 1), 4).await,
            ErrorKind::Range,
        );
        let mut read = reader.read_min(view(4, ViewType::DataView, 0, 4), 4);
        c.enqueue(b(&[1, 2, 3])).unwrap();
        assert!(poll_once(&mut read).is_none(), "3 bytes are not enough");
        c.enqueue(b(&[4])).unwrap();
        let v = read.await.unwrap().view.unwrap();
        assert_eq!(
            (v.view_type(), v.as_slice()),
            (ViewType::DataView, &[1, 2, 3, 4][..])
        );
    });
}

#[test]
fn read_min_then_read() {
    common::run(async {
        let shapes = Log::new();
        let s = shapes.clone();
        let r = recording(None, None, move |c, n| {
            s.push(shape(c));
            let request = c.byob_request().unwrap();
            match n {
                0 => {
                    request.write(0, &[0x01, 0x02]).unwrap();
                    request.respond(2).unwrap();
                }
                1 => {
                    request.write(0, &[0x03]).unwrap();
                    request.respond(1).unwrap();
                }
                2 => {
                    request.write(0, &[0x04]).unwrap();
                    request.respond(1).unwrap();
                }
                _ => {}
            }
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let read1 = reader.read_min(u8v(3), 3);
        let read2 = reader.read(u8v(1));
        let r1 = read1.await.unwrap();
        assert!(!r1.done);
        assert_eq!(r1.view.unwrap().as_slice(), &[0x01, 0x02, 0x03]);
        let r2 = read2.await.unwrap();
        assert_eq!(r2.view.unwrap().as_slice(), &[0x04]);
        r.log.assert(&["pull", "pull", "pull"]);
        shapes.assert(&["(0, 3, 3)", "(2, 1, 3)", "(0, 1, 1)"]);
    });
}

#[test]
fn enqueue_then_read_min() {
    common::run(async {
        let shapes = Log::new();
        let s = shapes.clone();
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(|c: &Ctl| c.enqueue(b(&[0x01])).unwrap())
                .pull(move |c: &Ctl| {
                    s.push(shape(c));
                    if p.count() == 0 {
                        let request = c.byob_request().unwrap();
                        request.write(0, &[0x02, 0x03]).unwrap();
                        request.respond(2).unwrap();
                    }
                    p.hit();
                }),
        )
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let r = reader.read_min(u8v(3), 3).await.unwrap();
        assert_eq!(r.view.unwrap().as_slice(), &[0x01, 0x02, 0x03]);
        pulls.assert_exactly(1);
        shapes.assert(&["(1, 2, 3)"]);
    });
}

#[test]
fn read_min_then_multiple_enqueues() {
    common::run(async {
        let shapes = Log::new();
        let s = shapes.clone();
        let r = recording(None, None, move |c, n| {
            s.push(shape(c));
            match n {
                0 => c.enqueue(b(&[0x01, 0x02])).unwrap(),
                1 => c.enqueue(b(&[0x03])).unwrap(),
                _ => {}
            }
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let result = reader.read_min(u8v(3), 3).await.unwrap();
        assert_eq!(result.view.unwrap().as_slice(), &[0x01, 0x02, 0x03]);
        r.log.assert(&["pull", "pull"]);
        shapes.assert(&["(0, 3, 3)", "(2, 1, 3)"]);
    });
}

#[test]
fn enqueue_read_min_partially_then_read() {
    common::run(async {
        let mut data = vec![0u8; 16];
        data[0] = 0x01;
        data[8] = 0x02;
        let chunk = Bytes::from(data);
        let ptr = chunk.as_ptr() as usize;
        let (stream, controller) = controlled(None);
        controller.enqueue(chunk).unwrap();
        let byob = stream.get_byob_reader().unwrap();
        let v = byob.read_min(u8v(8), 8).await.unwrap().view.unwrap();
        assert_eq!(
            (
                v.buffer().len(),
                v.byte_offset(),
                v.byte_length(),
                v.as_slice()[0]
            ),
            (8, 0, 8, 0x01)
        );
        byob.release_lock();
        let reader = stream.get_reader().unwrap();
        let rest = reader.read().await.unwrap().unwrap();
        assert_eq!((rest.len(), rest[0]), (8, 0x02));
        assert_eq!(rest.as_ptr() as usize - ptr, 8);
    });
}

#[test]
fn read_min_then_respond_with_new_view_of_the_transferred_buffer() {
    common::run(async {
        let seen = Log::new();
        let s = seen.clone();
        let r = recording(None, None, move |c, _| {
            let request = c.byob_request().unwrap();
            let mut v = request.take_view().unwrap();
            v.as_mut_slice()[0] = 0x01;
            request.respond_with_new_view(v).unwrap();
            s.push(format!(
                "{} {}",
                c.byob_request().is_some(),
                request.view().is_some()
            ));
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let result = reader.read_min(u8v(1), 1).await.unwrap();
        assert_eq!(result.view.unwrap().as_slice(), &[0x01]);
        r.log.assert(&["pull"]);
        seen.assert(&["false false"]);
    });
}

#[test]
fn read_min_on_a_closed_stream_gives_an_empty_view_of_the_buffer() {
    common::run(async {
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(|c: &Ctl| c.close().unwrap())
                .pull(|_c: &Ctl| -> Completion { panic!("pull() should not be called") }),
        )
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let r = reader
            .read_min(ByobView::new(ArrayBuffer::from(vec![0x01])), 1)
            .await
            .unwrap();
        assert!(r.done);
        let v = r.view.unwrap();
        assert_eq!(
            (v.byte_offset(), v.byte_length(), v.buffer().as_slice()),
            (0, 0, &[0x01][..])
        );
        reader.closed().await.unwrap();
    });
}

#[test]
fn read_min_when_closed_before_the_view_is_filled() {
    common::run(async {
        let r = recording(None, None, |c, n| match n {
            0 => {
                let request = c.byob_request().unwrap();
                request.write(0, &[0x01]).unwrap();
                request.respond(1).unwrap();
            }
            1 => {
                c.close().unwrap();
                c.byob_request().unwrap().respond(0).unwrap();
            }
            _ => {}
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let result = reader.read_min(u8v(3), 3).await.unwrap();
        assert!(result.done);
        let v = result.view.unwrap();
        assert_eq!(
            (v.byte_offset(), v.byte_length(), v.buffer().as_slice()),
            (0, 1, &[0x01, 0, 0][..])
        );
        r.log.assert(&["pull", "pull"]);
        reader.closed().await.unwrap();
    });
}

#[test]
fn read_min_when_closed_immediately_after_the_view_is_filled() {
    common::run(async {
        let r = recording(None, None, |c, n| match n {
            0 => {
                let request = c.byob_request().unwrap();
                request.write(0, &[0x01, 0x02]).unwrap();
                request.respond(2).unwrap();
            }
            1 => {
                let request = c.byob_request().unwrap();
                request.write(0, &[0x03]).unwrap();
                request.respond(1).unwrap();
                c.close().unwrap();
            }
            _ => {}
        });
        let reader = r.stream.get_byob_reader().unwrap();
        let result = reader.read_min(u8v(3), 3).await.unwrap();
        assert!(!result.done);
        assert_eq!(result.view.unwrap().as_slice(), &[0x01, 0x02, 0x03]);
        r.log.assert(&["pull", "pull"]);
        reader.closed().await.unwrap();
    });
}

#[test]
fn read_min_on_an_errored_stream() {
    common::run(async {
        let e1 = StreamError::user("error1");
        let e = e1.clone();
        let rs =
            ReadableStream::new_bytes(ByteSourceFn::new().start(move |c: &Ctl| c.error(e.clone()))).unwrap();
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_with(reader.read_min(u8v(1), 1).await, &e1);
        assert_rejects_with(reader.closed().await, &e1);
    });
}

#[test]
fn read_min_then_error() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read_min(u8v(1), 1);
        let e1 = StreamError::user("error1");
        c.error(e1.clone());
        assert_rejects_with(read.await, &e1);
        assert_rejects_with(reader.closed().await, &e1);
    });
}

#[test]
fn read_min_then_cancel() {
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
        let read = reader.read_min(u8v(1), 1);
        reader.cancel(StreamError::type_error("foo")).await.unwrap();
        let r = read.await.unwrap();
        assert!(r.done && r.view.is_none());
        log.assert(&["cancel Type"]);
    });
}

#[test]
fn cancel_with_a_partially_filled_pending_read_min() {
    common::run(async {
        let lengths = Log::new();
        let l = lengths.clone();
        let r = recording(None, None, move |c, _| {
            let request = c.byob_request().unwrap();
            l.push(format!("{}", request.view().unwrap().byte_length));
            request.write(0, &[0x01]).unwrap();
            request.respond(1).unwrap();
            l.push(format!(
                "{}",
                c.byob_request().unwrap().view().unwrap().byte_length
            ));
        });
        flush(r.stream.host());
        r.log.assert(&[]);
        let reader = r.stream.get_byob_reader().unwrap();
        let read = reader.read_min(u8v(3), 3);
        r.log.assert(&["pull"]);
        lengths.assert(&["3", "2"]);
        let cancel = reader.cancel(StreamError::undefined());
        let result = read.await.unwrap();
        assert!(result.done && result.view.is_none());
        cancel.await.unwrap();
        reader.closed().await.unwrap();
        r.log.assert(&["pull", "cancel undefined"]);
    });
}

#[test]
fn enqueue_then_read_min_with_smaller_views() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(|c: &Ctl| {
                    let mut v = vec![0u8; 16];
                    v[7] = 0x01;
                    v[15] = 0x02;
                    c.enqueue(Bytes::from(v)).unwrap();
                })
                .pull(move |_c: &Ctl| p.hit()),
        )
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let v = reader.read_min(u8v(8), 8).await.unwrap().view.unwrap();
        assert_eq!((v.byte_offset(), v.byte_length(), v.as_slice()[7]), (0, 8, 0x01));
        let v = reader.read_min(u8v(8), 8).await.unwrap().view.unwrap();
        pulls.assert_exactly(0);
        assert_eq!((v.byte_offset(), v.byte_length(), v.as_slice()[7]), (0, 8, 0x02));
    });
}

#[test]
fn three_bytes_then_close_then_read_min_with_two_element_uint16_fails() {
    common::run(async {
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().start(|c: &Ctl| {
            c.enqueue(b(&[0xaa, 0xbb, 0xcc])).unwrap();
            c.close().unwrap();
        }))
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_kind(
            reader.read_min(view(4, ViewType::Uint16, 0, 2), 2).await,
            ErrorKind::Type,
        );
        assert_rejects_kind(reader.closed().await, ErrorKind::Type);
    });
}

#[test]
fn read_min_with_two_element_uint16_then_three_bytes_then_close_fails() {
    common::run(async {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let read = reader.read_min(view(4, ViewType::Uint16, 0, 2), 2);
        c.enqueue(b(&[0xaa, 0xbb, 0xcc])).unwrap();
        assert_rejects_kind(c.close(), ErrorKind::Type);
        assert_rejects_kind(read.await, ErrorKind::Type);
        assert_rejects_kind(reader.closed().await, ErrorKind::Type);
    });
}

#[test]
fn tee_with_read_min_on_branch1_and_read_on_branch2() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let slot = Slot::new();
        let s = slot.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(move |c: &Ctl| s.set(c.clone()))
                .pull(move |_c: &Ctl| p.hit()),
        )
        .unwrap();
        let controller: Ctl = slot.get();
        let (branch1, branch2) = rs.tee().unwrap();
        let (reader1, reader2) = (
            branch1.get_byob_reader().unwrap(),
            branch2.get_byob_reader().unwrap(),
        );
        flush(rs.host());
        pulls.assert_exactly(0);
        let read1 = reader1.read_min(u8v(3), 3);
        let read2 = reader2.read(u8v(1));
        pulls.assert_exactly(1);
        let request1 = controller.byob_request().unwrap();
        assert_eq!(request1.view().unwrap().byte_length, 3);
        request1.write(0, &[0x01]).unwrap();
        request1.respond(1).unwrap();
        let r2 = read2.await.unwrap();
        assert!(!r2.done);
        assert_eq!(r2.view.unwrap().as_slice(), &[0x01]);
        flush(rs.host());
        pulls.assert_exactly(2);
        let request2 = controller.byob_request().unwrap();
        assert_eq!(request2.view().unwrap().byte_length, 2);
        request2.write(0, &[0x02, 0x03]).unwrap();
        request2.respond(2).unwrap();
        let r1 = read1.await.unwrap();
        assert_eq!(r1.view.unwrap().as_slice(), &[0x01, 0x02, 0x03]);
        let r3 = reader2.read(u8v(2)).await.unwrap();
        pulls.assert_exactly(2);
        assert_eq!(r3.view.unwrap().as_slice(), &[0x02, 0x03]);
    });
}
