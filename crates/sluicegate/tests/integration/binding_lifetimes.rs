//! Lifetimes as a garbage-collected binding needs them: a reader or writer set to keep its lock
//! when dropped leaves the stream locked and its promises served, and a controller's stream handle
//! keeps the stream alive after every other handle is gone.

use crate::common;

use sluicegate::readable::ReadableStream;
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{ErrorKind, QueuingStrategy, StreamError};

use common::{assert_rejects_kind, assert_same, flush, poll_once};

#[test]
fn a_dropped_reader_releases_its_lock_by_default() {
    let (rs, _c) = common::controlled_stream::<u32>(QueuingStrategy::new());
    drop(rs.get_reader().unwrap());
    assert!(!rs.locked());
}

#[test]
fn a_reader_kept_locked_serves_its_closed_promise_and_pending_reads_after_it_is_dropped() {
    common::run(async {
        let (rs, c) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        reader.keep_lock_on_drop();
        let mut closed = reader.closed();
        let mut read = reader.read();
        drop(reader);
        assert!(rs.locked(), "the lock outlives the reader");
        assert_rejects_kind(rs.get_reader(), ErrorKind::Type);
        flush(rs.host());
        assert!(poll_once(&mut read).is_none());
        c.enqueue(7).unwrap();
        assert_eq!(read.await.unwrap(), Some(7));
        assert!(poll_once(&mut closed).is_none());
        c.close().unwrap();
        closed.await.unwrap();
    });
}

#[test]
fn a_reader_kept_locked_sees_the_stream_error() {
    common::run(async {
        let (rs, c) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        reader.keep_lock_on_drop();
        let closed = reader.closed();
        drop(reader);
        let boom = StreamError::user("boom");
        c.error(boom.clone());
        assert_same(&closed.await.unwrap_err(), &boom);
    });
}

#[test]
fn a_byob_reader_kept_locked_leaves_the_stream_locked() {
    let rs = ReadableStream::new_bytes(sluicegate::readable::ByteSourceFn::new()).unwrap();
    let reader = rs.get_byob_reader().unwrap();
    reader.keep_lock_on_drop();
    drop(reader);
    assert!(rs.locked());
    let rs = ReadableStream::new_bytes(sluicegate::readable::ByteSourceFn::new()).unwrap();
    drop(rs.get_byob_reader().unwrap());
    assert!(!rs.locked(), "by default the lock goes with the reader");
}

#[test]
fn a_writer_kept_locked_leaves_the_stream_locked() {
    let ws = WritableStream::<u32>::new(SinkFn::new()).unwrap();
    let writer = ws.get_writer().unwrap();
    writer.keep_lock_on_drop();
    drop(writer);
    assert!(ws.locked());
    assert!(ws.get_writer().is_err());
    let ws = WritableStream::<u32>::new(SinkFn::new()).unwrap();
    drop(ws.get_writer().unwrap());
    assert!(!ws.locked(), "by default the lock goes with the writer");
}

#[test]
fn a_controller_stream_handle_keeps_the_stream_alive() {
    common::run(async {
        let (rs, c) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let held = c.readable_stream().expect("the stream is alive");
        drop(rs);
        c.enqueue(1).unwrap();
        assert_eq!(c.desired_size(), Some(0.0));
        let reader = held.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some(1));
        drop((reader, held));
        assert!(
            c.readable_stream().is_none(),
            "gone once the last handle is dropped"
        );
        assert_rejects_kind(c.enqueue(2), ErrorKind::Type);
    });
}
