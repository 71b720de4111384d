//! A writable stream used as a `futures::Sink`.

use crate::common;

use futures::{SinkExt, StreamExt};
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{Completion, ErrorKind, StreamError};

#[test]
fn send_all_respects_backpressure_and_delivers_in_order() {
    let log = common::Log::new();
    let l = log.clone();
    let stream = WritableStream::new(SinkFn::new().write(move |n: u32, _| {
        let l = l.clone();
        Completion::future(async move {
            common::sleep(10).await;
            l.push(format!("write {n}"));
            Ok(())
        })
    }))
    .unwrap();
    common::run(async move {
        let mut sink = stream.into_sink().unwrap();
        assert!(stream.locked());
        let mut items = futures::stream::iter(1..=3u32).map(Ok);
        sink.send_all(&mut items).await.unwrap();
        sink.close().await.unwrap();
        assert_eq!(common::now(), 30, "one write at a time, each taking 10 ms");
    });
    log.assert(&["write 1", "write 2", "write 3"]);
}

#[test]
fn a_failed_write_is_reported_by_the_next_send_and_by_flush() {
    let boom = StreamError::user("boom");
    let b = boom.clone();
    let stream = WritableStream::new(SinkFn::new().write(move |n: u32, _| {
        if n == 2 {
            Completion::err(b.clone())
        } else {
            Completion::ok()
        }
    }))
    .unwrap();
    common::run(async move {
        let mut sink = stream.into_sink().unwrap();
        sink.send(1).await.unwrap();
        sink.feed(2).await.unwrap();
        let e = sink.flush().await.unwrap_err();
        assert!(StreamError::same(&e, &boom));
        // The stream is errored now: later sends fail with the stored error too.
        let again = sink.send(3).await.unwrap_err();
        assert!(StreamError::same(&again, &boom));
    });
}

#[test]
fn into_sink_on_a_locked_stream_is_a_type_error() {
    let stream = WritableStream::new(SinkFn::<u8>::new()).unwrap();
    let _writer = stream.get_writer().unwrap();
    let err = stream.into_sink().err().expect("locked");
    assert_eq!(err.kind(), ErrorKind::Type);
}

#[test]
fn dropping_the_sink_releases_the_lock() {
    let stream = WritableStream::new(SinkFn::<u8>::new()).unwrap();
    let sink = stream.into_sink().unwrap();
    assert!(stream.locked());
    drop(sink);
    assert!(!stream.locked());
}
