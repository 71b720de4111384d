//! Ported from WPT `streams/transform-streams/terminate.any.js`: `controller.terminate()` closes
//! the readable side (after its queued chunks) and errors the writable side with a `TypeError`.
//! The pipe cases of that file are in `transform_piping.rs`.

use crate::common;
use crate::transform_support;

use common::{flush, run};
use sluicegate::host::HostRef;
use sluicegate::transform::{TransformStream, TransformerFn};
use sluicegate::{ErrorKind, StreamError};
use transform_support::*;

#[test]
fn enqueue_after_terminate_is_a_type_error() {
    let seen: Slot<Result<(), StreamError>> = slot();
    let s = seen.clone();
    let ts = TransformStream::<u32, u32>::new(TransformerFn::new(|_: u32, _: &Controller<u32>| ()).start(
        move |c: &Controller<u32>| {
            c.enqueue(0).unwrap();
            c.terminate();
            *s.lock().unwrap() = Some(c.enqueue(1));
        },
    ))
    .unwrap();
    assert_kind(get(&seen, "enqueue result"), ErrorKind::Type);
    run(async move {
        // Only the chunk enqueued before terminate() comes out.
        assert_eq!(read_all(ts.readable()).await.unwrap(), [0]);
    });
}

#[test]
fn error_after_terminate_with_a_queued_chunk_errors_the_readable() {
    run(async {
        let error1 = error("error1");
        let e = error1.clone();
        let ts = TransformStream::<u32, u32>::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ()).start(move |c: &Controller<u32>| {
                c.enqueue(0).unwrap();
                c.terminate();
                c.error(e.clone());
            }),
        )
        .unwrap();
        let abort = ts.writable().abort(StreamError::undefined());
        let cancel = ts.readable().cancel(StreamError::undefined());
        let reader = ts.readable().get_reader().unwrap();
        assert_kind(abort.await, ErrorKind::Type);
        assert_same_err(cancel.await, &error1);
        assert_same_err(reader.closed().await, &error1);
    });
}

#[test]
fn error_after_terminate_without_a_queued_chunk_does_nothing() {
    run(async {
        let ts = TransformStream::<u32, u32>::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ()).start(|c: &Controller<u32>| {
                c.terminate();
                c.error(error("error1"));
            }),
        )
        .unwrap();
        let abort = ts.writable().abort(StreamError::undefined());
        let cancel = ts.readable().cancel(StreamError::undefined());
        let reader = ts.readable().get_reader().unwrap();
        assert_kind(abort.await, ErrorKind::Type);
        cancel.await.unwrap();
        reader.closed().await.unwrap();
    });
}

#[test]
fn terminate_inside_flush_does_not_prevent_close_from_succeeding() {
    run(async {
        let ts = TransformStream::<u32, u32>::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ()).flush(|c: &Controller<u32>| c.terminate()),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let (close, closed, rs_closed) = (writer.close(), writer.closed(), reader.closed());
        close.await.unwrap();
        closed.await.unwrap();
        rs_closed.await.unwrap();
    });
}

#[test]
fn terminate_inside_transform_lets_the_write_succeed_and_fails_later_writes() {
    run(async {
        let host: HostRef = common::host();
        let (ts, c, log) = recording::<u32>(
            |r| {
                r.transform(|chunk, c| {
                    c.enqueue(chunk * 10).unwrap();
                    c.terminate();
                })
            },
            hwm(4.0),
            hwm(4.0),
            &host,
        );
        let writer = ts.writable().get_writer().unwrap();
        let first = writer.write(1);
        // Queued behind the first write; it never reaches transform().
        let second = writer.write(2);
        first.await.unwrap();
        let e = second.await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
        assert_same_err(writer.closed().await, &e);
        assert_eq!(writer.desired_size().unwrap(), None);
        log.assert(&["transform 1"]);
        // The readable side closes once its queued chunk is read.
        assert_eq!(c.desired_size(), Some(3.0));
        assert_eq!(read_all(ts.readable()).await.unwrap(), [10]);
        assert_eq!(c.desired_size(), Some(0.0));
        assert_kind(c.enqueue(3), ErrorKind::Type);
    });
}

#[test]
fn terminate_releases_a_write_waiting_for_backpressure_with_a_type_error() {
    run(async {
        let host: HostRef = common::host();
        let (ts, c, log) = recording::<u32>(|r| r, default(), hwm(0.0), &host);
        flush(&host);
        let writer = ts.writable().get_writer().unwrap();
        let write = writer.write(1);
        flush(&host);
        assert!(!settled(&write), "waiting for backpressure");
        c.terminate();
        let e = write.await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
        log.assert(&[]);
        let reader = ts.readable().get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), None);
    });
}

#[test]
fn terminate_then_writer_close_is_rejected_with_the_termination_error() {
    run(async {
        let host: HostRef = common::host();
        let (ts, c, log) = recording::<u32>(|r| r, default(), default(), &host);
        let writer = ts.writable().get_writer().unwrap();
        c.terminate();
        let closed = writer.closed().await.unwrap_err();
        assert_eq!(closed.kind(), ErrorKind::Type);
        // WritableStreamClose on an errored stream: a new TypeError, not the stored error.
        let close = writer.close().await.unwrap_err();
        assert_eq!(close.kind(), ErrorKind::Type);
        assert!(!StreamError::same(&close, &closed));
        log.assert(&[]);
    });
}
