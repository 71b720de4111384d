//! The WPT stream templates (`resources/rs-test-templates.js`) run against byte streams, as
//! `readable-byte-streams/templated.any.js` does for ThrowAfterCloseOrError, plus the closed,
//! errored, empty-reader and two-chunk templates with default and BYOB readers.

use crate::bytes_common;
use crate::common;

use bytes::Bytes;
use sluicegate::readable::{ByteSourceFn, ReadableStream};
use sluicegate::{ErrorKind, StreamError};

use bytes_common::{b, controlled, u8v, Ctl};
use common::{assert_rejects_kind, assert_rejects_with, flush, poll_once};

fn the_error() -> StreamError {
    StreamError::user("a unique string")
}

// templatedRSThrowAfterCloseOrError

#[test]
fn enqueue_throws_after_close() {
    let (_rs, c) = controlled(None);
    c.close().unwrap();
    assert_rejects_kind(c.enqueue(b(&[1])), ErrorKind::Type);
}

#[test]
fn enqueue_throws_after_enqueue_and_close() {
    let (_rs, c) = controlled(None);
    c.enqueue(b(&[1])).unwrap();
    c.close().unwrap();
    assert_rejects_kind(c.enqueue(b(&[2])), ErrorKind::Type);
}

#[test]
fn enqueue_throws_after_error() {
    let (_rs, c) = controlled(None);
    c.error(the_error());
    assert_rejects_kind(c.enqueue(b(&[1])), ErrorKind::Type);
}

#[test]
fn close_throws_after_error() {
    let (_rs, c) = controlled(None);
    c.error(the_error());
    assert_rejects_kind(c.close(), ErrorKind::Type);
}

// templatedRSClosed

fn closed_stream() -> ReadableStream<Bytes> {
    let (rs, c) = controlled(None);
    c.close().unwrap();
    rs
}

#[test]
fn closed_cancel_fulfils_each_time() {
    common::run(async {
        let rs = closed_stream();
        let (a, b) = (
            rs.cancel(StreamError::undefined()),
            rs.cancel(StreamError::undefined()),
        );
        a.await.unwrap();
        b.await.unwrap();
    });
}

#[test]
fn closed_readers_can_be_acquired_in_succession_of_both_kinds() {
    let rs = closed_stream();
    assert!(!rs.locked());
    rs.get_reader().unwrap().release_lock();
    rs.get_byob_reader().unwrap().release_lock();
    let _r = rs.get_reader().unwrap();
    assert_rejects_kind(rs.get_reader(), ErrorKind::Type);
    assert_rejects_kind(rs.get_byob_reader(), ErrorKind::Type);
}

// templatedRSErrored / templatedRSErroredSyncOnly

fn errored_stream(e: &StreamError) -> ReadableStream<Bytes> {
    let (rs, c) = controlled(None);
    c.error(e.clone());
    rs
}

#[test]
fn errored_reader_acts_errored() {
    common::run(async {
        let e = the_error();
        let rs = errored_stream(&e);
        assert!(!rs.locked());
        let reader = rs.get_reader().unwrap();
        assert_rejects_with(reader.read().await, &e);
        assert_rejects_with(reader.read().await, &e);
        assert_rejects_with(reader.closed().await, &e);
    });
}

#[test]
fn errored_second_reader_after_release_has_the_error() {
    common::run(async {
        let e = the_error();
        let rs = errored_stream(&e);
        rs.get_byob_reader().unwrap().release_lock();
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_with(reader.closed().await, &e);
        assert_rejects_with(reader.read(u8v(1)).await, &e);
    });
}

#[test]
fn errored_cancel_rejects_each_time() {
    common::run(async {
        let e = the_error();
        let rs = errored_stream(&e);
        let (a, b) = (
            rs.cancel(StreamError::undefined()),
            rs.cancel(StreamError::undefined()),
        );
        assert_rejects_with(a.await, &e);
        assert_rejects_with(b.await, &e);
        let reader = rs.get_byob_reader().unwrap();
        let (a, b) = (
            reader.cancel(StreamError::undefined()),
            reader.cancel(StreamError::undefined()),
        );
        assert_rejects_with(a.await, &e);
        assert_rejects_with(b.await, &e);
    });
}

#[test]
fn errored_closed_rejects_then_release_changes_it_to_a_type_error() {
    common::run(async {
        let e = the_error();
        let rs = errored_stream(&e);
        let reader = rs.get_byob_reader().unwrap();
        assert_rejects_with(reader.closed().await, &e);
        reader.release_lock();
        assert_rejects_kind(reader.closed().await, ErrorKind::Type);
    });
}

// templatedRSEmptyReader (BYOB)

#[test]
fn empty_byob_reader_reads_never_settle() {
    common::run(async {
        let (rs, _c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        assert!(rs.locked());
        let mut r1 = reader.read(u8v(1));
        let mut r2 = reader.read(u8v(1));
        common::sleep(500).await;
        flush(rs.host());
        assert!(poll_once(&mut r1).is_none() && poll_once(&mut r2).is_none());
        assert_rejects_kind(rs.get_byob_reader(), ErrorKind::Type);
    });
}

#[test]
fn empty_byob_reader_release_rejects_pending_reads_and_closed() {
    common::run(async {
        let (rs, _c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let (r1, r2) = (reader.read(u8v(1)), reader.read(u8v(2)));
        let closed = reader.closed();
        reader.release_lock();
        assert!(!rs.locked());
        assert_rejects_kind(r1.await, ErrorKind::Type);
        assert_rejects_kind(r2.await, ErrorKind::Type);
        assert_rejects_kind(closed.await, ErrorKind::Type);
        assert_rejects_kind(reader.read(u8v(1)).await, ErrorKind::Type);
    });
}

#[test]
fn empty_byob_reader_cancel_makes_the_reader_act_closed() {
    common::run(async {
        let (rs, _c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let cancel = reader.cancel(StreamError::undefined());
        let r = reader.read(u8v(3)).await.unwrap();
        assert!(r.done);
        assert_eq!(r.view.unwrap().byte_length(), 0);
        cancel.await.unwrap();
        assert_rejects_kind(rs.cancel(StreamError::undefined()).await, ErrorKind::Type);
    });
}

// templatedRSClosedReader (BYOB)

#[test]
fn closed_byob_reader_reads_are_done_with_empty_views() {
    common::run(async {
        let rs = closed_stream();
        let reader = rs.get_byob_reader().unwrap();
        for n in [1, 5] {
            let r = reader.read(u8v(n)).await.unwrap();
            assert!(r.done);
            let v = r.view.unwrap();
            assert_eq!((v.buffer().len(), v.byte_length()), (n, 0));
        }
        reader.closed().await.unwrap();
        let before = reader.closed();
        reader.release_lock();
        before.await.unwrap();
        assert_rejects_kind(reader.closed().await, ErrorKind::Type);
    });
}

// templatedRSTwoChunksOpenReader / templatedRSTwoChunksClosedReader with byte chunks

fn two_chunks(close: bool) -> ReadableStream<Bytes> {
    ReadableStream::new_bytes(ByteSourceFn::new().start(move |c: &Ctl| {
        c.enqueue(b(b"a")).unwrap();
        c.enqueue(b(b"b")).unwrap();
        if close {
            c.close().unwrap();
        }
    }))
    .unwrap()
}

#[test]
fn two_chunks_read_twice_without_waiting_gives_both() {
    common::run(async {
        let reader = two_chunks(false).get_reader().unwrap();
        let (r1, r2) = (reader.read(), reader.read());
        assert_eq!(r1.await.unwrap().unwrap(), b(b"a"));
        assert_eq!(r2.await.unwrap().unwrap(), b(b"b"));
    });
}

#[test]
fn two_chunks_cancel_after_a_read_still_gives_that_read() {
    common::run(async {
        let rs = two_chunks(false);
        let reader = rs.get_reader().unwrap();
        let closed = reader.closed();
        let r1 = reader.read();
        let cancel = reader.cancel(StreamError::undefined());
        let r2 = reader.read();
        assert_eq!(r1.await.unwrap().unwrap(), b(b"a"));
        assert_eq!(r2.await.unwrap(), None);
        closed.await.unwrap();
        cancel.await.unwrap();
    });
}

#[test]
fn two_chunks_closed_third_read_is_done_and_locked_stays_true() {
    common::run(async {
        let rs = two_chunks(true);
        let reader = rs.get_reader().unwrap();
        let (r1, r2, r3) = (reader.read(), reader.read(), reader.read());
        assert_eq!(r1.await.unwrap().unwrap(), b(b"a"));
        assert_eq!(r2.await.unwrap().unwrap(), b(b"b"));
        assert_eq!(r3.await.unwrap(), None);
        reader.closed().await.unwrap();
        assert!(rs.locked());
        reader.release_lock();
        assert!(!rs.locked());
    });
}

#[test]
fn two_chunks_closed_read_into_one_view_gets_both_chunks() {
    common::run(async {
        let rs = two_chunks(true);
        let reader = rs.get_byob_reader().unwrap();
        let r = reader.read(u8v(4)).await.unwrap();
        assert!(!r.done);
        assert_eq!(r.view.unwrap().as_slice(), b"ab");
        let r = reader.read(u8v(4)).await.unwrap();
        assert!(r.done);
    });
}

// templatedRSTeeCancel: erroring a teed stream handles cancelled branches

#[test]
fn a_cancel_after_the_tee_saw_the_error_resolves_and_the_other_branch_is_errored() {
    common::run(async {
        let (rs, c) = controlled(None);
        let (branch1, branch2) = rs.tee().unwrap();
        let e = StreamError::user("error");
        c.error(e.clone());
        let cancel1 = branch1.cancel(StreamError::undefined());
        flush(rs.host());
        // forwardReaderError resolved cancelPromise (branch 2 was not cancelled) and errored branch 2.
        cancel1.await.unwrap();
        assert_rejects_with(branch2.cancel(StreamError::undefined()).await, &e);
    });
}

#[test]
fn erroring_a_teed_byte_stream_rejects_both_branch_cancels() {
    common::run(async {
        let (rs, c) = controlled(None);
        let (branch1, branch2) = rs.tee().unwrap();
        let e = StreamError::user("You just watch yourself!");
        c.error(e.clone());
        // Both cancels are requested before the tee reacts to the error (a microtask later).
        let (cancel1, cancel2) = (
            branch1.cancel(StreamError::undefined()),
            branch2.cancel(StreamError::undefined()),
        );
        assert_rejects_with(cancel1.await, &e);
        assert_rejects_with(cancel2.await, &e);
    });
}
