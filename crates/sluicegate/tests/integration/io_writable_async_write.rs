//! A `WritableStream<Bytes>` as an `AsyncWrite`: backpressure in bytes, sink failures as I/O
//! errors, flush and shutdown.
#![cfg(feature = "tokio")]

use crate::common;
use crate::io_support;

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use common::{run, Log};
use io_support::pseudo_random;
use sluicegate::writable::SinkFn;
use sluicegate::{ByteLengthQueuingStrategy, Completion, ErrorKind, Resolver, StreamError, WritableStream};
use tokio::io::{AsyncWrite, AsyncWriteExt};

fn poll_write(w: &mut sluicegate::io::WritableAsyncWrite, buf: &[u8]) -> Poll<io::Result<usize>> {
    Pin::new(w).poll_write(&mut Context::from_waker(Waker::noop()), buf)
}

#[test]
fn write_all_reaches_the_sink_in_chunks_no_larger_than_the_high_water_mark() {
    run(async {
        let chunks = Arc::new(Mutex::new(Vec::<Bytes>::new()));
        let (c, log) = (chunks.clone(), Log::new());
        let l = log.clone();
        let stream = WritableStream::with_strategy(
            SinkFn::new()
                .write(move |chunk: Bytes, _| c.lock().unwrap().push(chunk))
                .close(move || l.push("close")),
            ByteLengthQueuingStrategy::new(16384.0),
        )
        .unwrap();
        let mut out = stream.into_async_write().unwrap();
        let data = pseudo_random(100_000, 3);
        out.write_all(&data).await.unwrap();
        out.flush().await.unwrap();
        assert!(log.entries().is_empty());
        out.shutdown().await.unwrap();
        log.assert(&["close"]);
        let chunks = chunks.lock().unwrap();
        assert!(chunks.iter().all(|c| c.len() <= 16384), "units are bytes");
        assert_eq!(chunks.concat(), data);
    });
}

#[test]
fn poll_write_accepts_up_to_the_desired_size_then_waits_for_ready() {
    let resolvers = Arc::new(Mutex::new(Vec::<Resolver>::new()));
    let chunks = Arc::new(Mutex::new(Vec::<Bytes>::new()));
    let (r, c) = (resolvers.clone(), chunks.clone());
    let stream = WritableStream::with_strategy(
        SinkFn::new().write(move |chunk: Bytes, _| {
            c.lock().unwrap().push(chunk);
            let (completion, resolver) = Completion::deferred();
            r.lock().unwrap().push(resolver);
            completion
        }),
        ByteLengthQueuingStrategy::new(10.0),
    )
    .unwrap();
    common::flush(stream.host());
    let mut out = stream.into_async_write().unwrap();
    assert!(matches!(
        poll_write(&mut out, b"0123456789abc"),
        Poll::Ready(Ok(10))
    ));
    assert_eq!(out.writer().desired_size().unwrap(), Some(0.0));
    assert!(
        poll_write(&mut out, b"abc").is_pending(),
        "backpressure: the queue holds 10 bytes"
    );
    assert!(poll_write(&mut out, b"abc").is_pending());
    resolvers.lock().unwrap().remove(0).settle(Ok(()));
    assert!(matches!(poll_write(&mut out, b"abc"), Poll::Ready(Ok(3))));
    common::flush(stream.host());
    resolvers.lock().unwrap().remove(0).settle(Ok(()));
    assert!(matches!(
        Pin::new(&mut out).poll_flush(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(Ok(()))
    ));
    let chunks = chunks.lock().unwrap();
    assert_eq!(
        chunks.as_slice(),
        [Bytes::from_static(b"0123456789"), Bytes::from_static(b"abc")]
    );
}

#[test]
fn a_high_water_mark_of_zero_still_makes_progress() {
    run(async {
        let chunks = Arc::new(Mutex::new(Vec::<u8>::new()));
        let c = chunks.clone();
        let stream = WritableStream::with_strategy(
            SinkFn::new().write(move |chunk: Bytes, _| c.lock().unwrap().extend_from_slice(&chunk)),
            ByteLengthQueuingStrategy::new(0.0),
        )
        .unwrap();
        let mut out = stream.into_async_write().unwrap();
        out.write_all(b"one chunk at a time").await.unwrap();
        out.shutdown().await.unwrap();
        assert_eq!(chunks.lock().unwrap().as_slice(), b"one chunk at a time");
    });
}

#[test]
fn a_sink_failure_is_an_io_error_of_the_same_kind_carrying_the_stream_error() {
    run(async {
        let stream = WritableStream::new(SinkFn::new().write(|_: Bytes, _| -> Completion {
            Completion::err(io::Error::new(io::ErrorKind::PermissionDenied, "read-only").into())
        }))
        .unwrap();
        let mut out = stream.into_async_write().unwrap();
        // The first write is accepted; its failure is reported by the next call.
        let e = out.write_all(b"abc").await.and(out.flush().await).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        let inner = e.get_ref().and_then(|i| i.downcast_ref::<StreamError>()).unwrap();
        let stored = out.writer().closed().await.unwrap_err();
        assert!(StreamError::same(inner, &stored));
        // Later writes keep failing with the stream's error.
        let again = out.write(b"more").await.unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::PermissionDenied);
    });
}

#[test]
fn writing_after_shutdown_is_a_broken_pipe_and_a_locked_stream_is_a_type_error() {
    run(async {
        let stream = WritableStream::new(SinkFn::<Bytes>::new()).unwrap();
        let mut out = stream.into_async_write().unwrap();
        assert_eq!(
            stream.into_async_write().err().map(|e| e.kind()),
            Some(ErrorKind::Type)
        );
        out.shutdown().await.unwrap();
        out.shutdown().await.unwrap();
        assert_eq!(
            out.write(b"late").await.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        assert_eq!(
            out.write(b"").await.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    });
}
