//! The behaviour of WPT `streams/readable-byte-streams/tee.any.js`, ported to the native API:
//! ReadableByteStreamTee's cloning rules (each branch its own bytes; a BYOB read on one branch
//! fills that branch's buffer and is cloned to the other), cancel, close and error propagation.

use crate::bytes_common;
use crate::common;

use bytes::Bytes;
use sluicegate::readable::{ArrayBuffer, ByobView, ByteSourceFn, ReadableStream, TeeCancelReasons, ViewType};
use sluicegate::{Completion, ErrorKind, StreamError};

use bytes_common::{b, controlled, u8v, view, Ctl};
use common::{assert_rejects_kind, assert_rejects_with, flush, poll_once, read_all, Log, Slot};

fn one_two_closed() -> ReadableStream<Bytes> {
    ReadableStream::new_bytes(ByteSourceFn::new().start(|c: &Ctl| {
        c.enqueue(b(&[0x01])).unwrap();
        c.enqueue(b(&[0x02])).unwrap();
        c.close().unwrap();
    }))
    .unwrap()
}

#[test]
fn tee_returns_two_byte_streams_and_locks_the_source() {
    let rs = ReadableStream::new_bytes(ByteSourceFn::new()).unwrap();
    let (branch1, branch2) = rs.tee().unwrap();
    assert!(rs.locked());
    assert!(branch1.is_byte_stream() && branch2.is_byte_stream());
    assert!(!branch1.locked() && !branch2.locked());
    assert_rejects_kind(rs.tee(), ErrorKind::Type);
    assert_rejects_kind(rs.get_byob_reader(), ErrorKind::Type);
}

#[test]
fn one_branch_can_be_read_to_the_end_without_affecting_the_other() {
    common::run(async {
        let (branch1, branch2) = one_two_closed().tee().unwrap();
        let reader1 = branch1.get_byob_reader().unwrap();
        let reader2 = branch2.get_byob_reader().unwrap();
        let r = reader1.read(u8v(1)).await.unwrap();
        assert!(!r.done);
        let v = r.view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (1, 0, 1));
        assert_eq!(v.as_slice(), &[0x01]);
        let r = reader1.read(u8v(1)).await.unwrap();
        assert_eq!(r.view.unwrap().as_slice(), &[0x02]);
        let r = reader1.read(u8v(1)).await.unwrap();
        assert!(r.done);
        let v = r.view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (1, 0, 0));
        let r = reader2.read(u8v(1)).await.unwrap();
        assert!(!r.done);
        assert_eq!(r.view.unwrap().as_slice(), &[0x01]);
        reader1.closed().await.unwrap();
        assert!(reader2.closed().peek().is_none(), "branch2 is not closed");
    });
}

#[test]
fn chunks_are_cloned_for_each_branch() {
    common::run(async {
        let mut pulls = 0;
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            pulls += 1;
            if pulls == 1 {
                c.enqueue(b(&[0x01])).unwrap();
            }
        }))
        .unwrap();
        let (branch1, branch2) = rs.tee().unwrap();
        let (reader1, reader2) = (branch1.get_reader().unwrap(), branch2.get_reader().unwrap());
        let (r1, r2) = futures::join!(reader1.read(), reader2.read());
        let (c1, c2) = (r1.unwrap().unwrap(), r2.unwrap().unwrap());
        assert_eq!(c1, b(&[0x01]));
        assert_eq!(c2, b(&[0x01]));
        assert_ne!(c1.as_ptr(), c2.as_ptr(), "chunks have different buffers");
    });
}

#[test]
fn branch1_gets_the_enqueued_bytes_without_a_copy() {
    common::run(async {
        let (rs, c) = controlled(None);
        let (branch1, branch2) = rs.tee().unwrap();
        let (reader1, reader2) = (branch1.get_reader().unwrap(), branch2.get_reader().unwrap());
        let (read1, read2) = (reader1.read(), reader2.read());
        let chunk = Bytes::from(vec![3u8; 64]);
        let ptr = chunk.as_ptr();
        c.enqueue(chunk).unwrap();
        let (c1, c2) = (read1.await.unwrap().unwrap(), read2.await.unwrap().unwrap());
        assert_eq!(c1.as_ptr(), ptr);
        assert_ne!(c2.as_ptr(), ptr);
        assert_eq!(c1, c2);
    });
}

#[test]
fn byob_reads_on_branch1_fill_its_buffer_and_are_cloned_to_branch2() {
    common::run(async {
        let mut pulls = 0;
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            pulls += 1;
            if pulls == 1 {
                let request = c.byob_request().unwrap();
                request.write(0, &[0x01]).unwrap();
                request.respond(1).unwrap();
            }
        }))
        .unwrap();
        let (branch1, branch2) = rs.tee().unwrap();
        let reader1 = branch1.get_byob_reader().unwrap();
        let reader2 = branch2.get_reader().unwrap();
        let buffer = ArrayBuffer::from(vec![42u8, 42, 42]);
        let ptr = buffer.as_slice().as_ptr();
        let r = reader1
            .read(ByobView::with_type(buffer, ViewType::Uint8, 0, 1).unwrap())
            .await
            .unwrap();
        assert!(!r.done);
        let v = r.view.unwrap();
        assert_eq!(v.buffer().as_slice(), &[0x01, 42, 42]);
        assert_eq!(
            v.buffer().as_slice().as_ptr(),
            ptr,
            "the source wrote into branch1's buffer"
        );
        assert_eq!((v.byte_offset(), v.byte_length()), (0, 1));
        let chunk = reader2.read().await.unwrap().unwrap();
        assert_eq!(chunk, b(&[0x01]));
        assert_ne!(chunk.as_ptr(), ptr);
    });
}

#[test]
fn byob_reads_on_branch2_are_cloned_to_branch1() {
    common::run(async {
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            if let Some(request) = c.byob_request() {
                let n = request.view().unwrap().byte_length.min(3);
                request.write(0, &[7, 8, 9][..n]).unwrap();
                request.respond(n).unwrap();
            }
        }))
        .unwrap();
        let (branch1, branch2) = rs.tee().unwrap();
        let reader1 = branch1.get_reader().unwrap();
        let reader2 = branch2.get_byob_reader().unwrap();
        let r = reader2.read(u8v(8)).await.unwrap();
        assert_eq!(r.view.unwrap().as_slice(), &[7, 8, 9]);
        assert_eq!(reader1.read().await.unwrap().unwrap(), b(&[7, 8, 9]));
    });
}

#[test]
fn errors_in_the_source_propagate_to_both_branches() {
    common::run(async {
        let the_error = StreamError::user("boo!");
        let e = the_error.clone();
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(|c: &Ctl| {
                    c.enqueue(b(&[0x01])).unwrap();
                    c.enqueue(b(&[0x02])).unwrap();
                })
                .pull(move |_c: &Ctl| Completion::err(e.clone())),
        )
        .unwrap();
        let (branch1, branch2) = rs.tee().unwrap();
        let reader1 = branch1.get_byob_reader().unwrap();
        let reader2 = branch2.get_byob_reader().unwrap();
        assert_eq!(
            reader1.read(u8v(1)).await.unwrap().view.unwrap().as_slice(),
            &[0x01]
        );
        assert_eq!(
            reader1.read(u8v(1)).await.unwrap().view.unwrap().as_slice(),
            &[0x02]
        );
        assert_rejects_with(reader1.read(u8v(1)).await, &the_error);
        assert_rejects_with(reader2.read(u8v(1)).await, &the_error);
        assert_rejects_with(reader1.closed().await, &the_error);
        assert_rejects_with(reader2.closed().await, &the_error);
    });
}

#[test]
fn canceling_branch1_does_not_impact_branch2() {
    common::run(async {
        let (branch1, branch2) = one_two_closed().tee().unwrap();
        let cancel = branch1.cancel(StreamError::undefined());
        let (c1, c2) = futures::join!(read_all(&branch1), read_all(&branch2));
        assert!(c1.unwrap().is_empty());
        assert_eq!(c2.unwrap(), vec![b(&[0x01]), b(&[0x02])]);
        cancel.await.unwrap();
    });
}

#[test]
fn canceling_branch2_does_not_impact_branch1() {
    common::run(async {
        let (branch1, branch2) = one_two_closed().tee().unwrap();
        let cancel = branch2.cancel(StreamError::undefined());
        let (c1, c2) = futures::join!(read_all(&branch1), read_all(&branch2));
        assert_eq!(c1.unwrap(), vec![b(&[0x01]), b(&[0x02])]);
        assert!(c2.unwrap().is_empty());
        cancel.await.unwrap();
    });
}

fn cancel_recording_source() -> (ReadableStream<Bytes>, Slot<TeeCancelReasons>) {
    let seen = Slot::new();
    let s = seen.clone();
    let rs = ReadableStream::new_bytes(ByteSourceFn::new().cancel(move |reason: StreamError| {
        s.set(
            reason
                .reason::<TeeCancelReasons>()
                .cloned()
                .expect("a composite reason"),
        );
    }))
    .unwrap();
    (rs, seen)
}

#[test]
fn canceling_both_branches_aggregates_the_reasons() {
    common::run(async {
        let (rs, seen) = cancel_recording_source();
        let (branch1, branch2) = rs.tee().unwrap();
        let (reason1, reason2) = (
            StreamError::user("We're wanted men."),
            StreamError::user("twelve systems"),
        );
        let (a, b) = futures::join!(branch1.cancel(reason1.clone()), branch2.cancel(reason2.clone()));
        a.unwrap();
        b.unwrap();
        let reasons = seen.get();
        assert!(StreamError::same(reasons.branch1(), &reason1));
        assert!(StreamError::same(reasons.branch2(), &reason2));
    });
}

#[test]
fn canceling_both_branches_in_reverse_order_aggregates_the_reasons_in_branch_order() {
    common::run(async {
        let (rs, seen) = cancel_recording_source();
        let (branch1, branch2) = rs.tee().unwrap();
        let (reason1, reason2) = (
            StreamError::user("not worth the effort"),
            StreamError::user("come"),
        );
        let (b, a) = futures::join!(branch2.cancel(reason2.clone()), branch1.cancel(reason1.clone()));
        a.unwrap();
        b.unwrap();
        let reasons = seen.get();
        assert!(StreamError::same(reasons.branch1(), &reason1));
        assert!(StreamError::same(reasons.branch2(), &reason2));
    });
}

#[test]
fn a_failing_source_cancel_rejects_both_branch_cancels() {
    common::run(async {
        let the_error = StreamError::user("I'll be careful.");
        let e = the_error.clone();
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().cancel(move |_r| Completion::err(e.clone())))
            .unwrap();
        let (branch1, branch2) = rs.tee().unwrap();
        let (a, b) = futures::join!(
            branch1.cancel(StreamError::undefined()),
            branch2.cancel(StreamError::undefined())
        );
        assert_rejects_with(a, &the_error);
        assert_rejects_with(b, &the_error);
    });
}

#[test]
fn canceling_one_branch_then_erroring_the_source_resolves_its_cancel() {
    common::run(async {
        let (rs, c) = controlled(None);
        let (branch1, branch2) = rs.tee().unwrap();
        let cancel1 = branch1.cancel(StreamError::undefined());
        let the_error = StreamError::user("error");
        c.error(the_error.clone());
        cancel1.await.unwrap();
        let reader2 = branch2.get_reader().unwrap();
        assert_rejects_with(reader2.closed().await, &the_error);
    });
}

#[test]
fn closing_the_source_resolves_pending_default_reads_on_both_branches() {
    common::run(async {
        let (rs, c) = controlled(None);
        let (branch1, branch2) = rs.tee().unwrap();
        let (reader1, reader2) = (branch1.get_reader().unwrap(), branch2.get_reader().unwrap());
        let (read1, read2) = (reader1.read(), reader2.read());
        flush(rs.host());
        c.close().unwrap();
        assert_eq!(read1.await.unwrap(), None);
        assert_eq!(read2.await.unwrap(), None);
        reader1.closed().await.unwrap();
        reader2.closed().await.unwrap();
    });
}

#[test]
fn closing_the_source_answers_a_pending_byob_read_with_an_empty_view_of_its_buffer() {
    common::run(async {
        let (rs, c) = controlled(None);
        let (branch1, branch2) = rs.tee().unwrap();
        let reader1 = branch1.get_byob_reader().unwrap();
        let reader2 = branch2.get_reader().unwrap();
        let read1 = reader1.read(view(4, ViewType::Uint8, 1, 2));
        let read2 = reader2.read();
        flush(rs.host());
        c.close().unwrap();
        // The tee's source read is a BYOB read: the source must answer it with respond(0).
        c.byob_request().unwrap().respond(0).unwrap();
        let r1 = read1.await.unwrap();
        assert!(r1.done);
        let v = r1.view.unwrap();
        assert_eq!((v.buffer().len(), v.byte_offset(), v.byte_length()), (4, 1, 0));
        assert_eq!(read2.await.unwrap(), None);
    });
}

#[test]
fn erroring_the_source_rejects_pending_reads_on_both_branches() {
    common::run(async {
        let (rs, c) = controlled(None);
        let (branch1, branch2) = rs.tee().unwrap();
        let reader1 = branch1.get_byob_reader().unwrap();
        let reader2 = branch2.get_reader().unwrap();
        let read1 = reader1.read(u8v(4));
        let read2 = reader2.read();
        flush(rs.host());
        let the_error = StreamError::user("error1");
        c.error(the_error.clone());
        assert_rejects_with(read1.await, &the_error);
        assert_rejects_with(read2.await, &the_error);
    });
}

#[test]
fn a_uint16_byob_read_across_the_tee_honours_the_element_size() {
    common::run(async {
        let (rs, c) = controlled(None);
        let (branch1, branch2) = rs.tee().unwrap();
        let reader1 = branch1.get_byob_reader().unwrap();
        let reader2 = branch2.get_reader().unwrap();
        let read1 = reader1.read(view(4, ViewType::Uint16, 0, 2));
        flush(rs.host());
        c.enqueue(b(&[1, 2, 3])).unwrap();
        let v = read1.await.unwrap().view.unwrap();
        assert_eq!(v.as_slice(), &[1, 2]);
        // Branch 2 received everything the source produced.
        assert_eq!(reader2.read().await.unwrap().unwrap(), b(&[1, 2, 3]));
        // The odd byte stays queued in branch 1.
        let r = reader1.read(u8v(4)).await.unwrap();
        assert_eq!(r.view.unwrap().as_slice(), &[3]);
    });
}

#[test]
fn reads_alternating_between_default_and_byob_readers_through_the_tee() {
    common::run(async {
        let mut next = 0u8;
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            next += 1;
            match c.byob_request() {
                Some(request) => {
                    request.write(0, &[next, next]).unwrap();
                    request.respond(2).unwrap();
                }
                None => c.enqueue(b(&[next])).unwrap(),
            }
        }))
        .unwrap();
        let (branch1, branch2) = rs.tee().unwrap();
        let reader2 = branch2.get_reader().unwrap();
        let reader1 = branch1.get_reader().unwrap();
        assert_eq!(reader1.read().await.unwrap().unwrap(), b(&[1]));
        reader1.release_lock();
        let byob1 = branch1.get_byob_reader().unwrap();
        assert_eq!(
            byob1.read(u8v(2)).await.unwrap().view.unwrap().as_slice(),
            &[2, 2]
        );
        byob1.release_lock();
        let reader1 = branch1.get_reader().unwrap();
        assert_eq!(reader1.read().await.unwrap().unwrap(), b(&[3]));
        assert_eq!(reader2.read().await.unwrap().unwrap(), b(&[1]));
        assert_eq!(reader2.read().await.unwrap().unwrap(), b(&[2, 2]));
        assert_eq!(reader2.read().await.unwrap().unwrap(), b(&[3]));
    });
}

#[test]
fn the_source_is_not_pulled_until_a_branch_reads() {
    common::run(async {
        let log = Log::new();
        let l = log.clone();
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |_c: &Ctl| l.push("pull"))).unwrap();
        let (branch1, _branch2) = rs.tee().unwrap();
        flush(rs.host());
        log.assert(&[]);
        let reader1 = branch1.get_reader().unwrap();
        let mut read = reader1.read();
        flush(rs.host());
        log.assert(&["pull"]);
        assert!(poll_once(&mut read).is_none());
    });
}

#[test]
fn many_bytes_through_both_branches_arrive_intact() {
    common::run(async {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let expected = data.clone();
        let mut offset = 0;
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            if offset >= data.len() {
                c.close().unwrap();
                if let Some(r) = c.byob_request() {
                    r.respond(0).unwrap();
                }
                return;
            }
            let end = (offset + 3000).min(data.len());
            match c.byob_request() {
                Some(r) => {
                    let n = r.view().unwrap().byte_length.min(end - offset);
                    r.write(0, &data[offset..offset + n]).unwrap();
                    r.respond(n).unwrap();
                    offset += n;
                }
                None => {
                    c.enqueue(Bytes::copy_from_slice(&data[offset..end])).unwrap();
                    offset = end;
                }
            }
        }))
        .unwrap();
        let (branch1, branch2) = rs.tee().unwrap();
        let byob = branch1.get_byob_reader().unwrap();
        let left = async {
            let mut got = Vec::new();
            let mut buffer = ArrayBuffer::aligned(4096);
            loop {
                let r = byob.read(ByobView::new(buffer)).await.unwrap();
                let v = r.view.unwrap();
                got.extend_from_slice(v.as_slice());
                if r.done {
                    return got;
                }
                buffer = v.into_buffer();
            }
        };
        let right = async { read_all(&branch2).await.unwrap().concat() };
        let (l, r) = futures::join!(left, right);
        assert_eq!(l, expected);
        assert_eq!(r, expected);
    });
}

#[test]
fn tee_bounded_on_a_byte_stream_gives_every_chunk_to_both_branches() {
    common::run(async {
        let mut n = 0u8;
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
            if n == 10 {
                c.close().unwrap();
            } else {
                c.enqueue(b(&[n; 3])).unwrap();
                n += 1;
            }
        }))
        .unwrap();
        let (branch1, branch2) = rs.tee_bounded(2).unwrap();
        let (c1, c2) = futures::join!(read_all(&branch1), read_all(&branch2));
        let expected: Vec<Bytes> = (0..10u8).map(|i| b(&[i; 3])).collect();
        assert_eq!(c1.unwrap(), expected);
        assert_eq!(c2.unwrap(), expected);
    });
}
