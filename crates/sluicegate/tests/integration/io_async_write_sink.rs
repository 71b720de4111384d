//! Any `AsyncWrite` as a `WritableStream<Bytes>`: every byte in order, backpressure in bytes,
//! I/O errors as stream errors, close and abort.
#![cfg(feature = "tokio")]

use crate::common;
use crate::io_support;

use std::io;

use bytes::Bytes;
use common::{poll_once, run, tick};
use io_support::{pseudo_random, WriterHandle};
use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::{
    ByteLengthQueuingStrategy, Completion, ErrorKind, PipeOptions, StreamError, WritableStream,
};

#[test]
fn every_byte_arrives_in_order_through_partial_writes_and_close_flushes_and_shuts_down() {
    run(async {
        let (handle, w) = WriterHandle::new();
        handle.state().max_per_write = 3;
        let stream = WritableStream::from_async_write(w);
        let writer = stream.get_writer().unwrap();
        let data = pseudo_random(1000, 7);
        for part in data.chunks(97) {
            writer.write(Bytes::copy_from_slice(part)).await.unwrap();
        }
        assert_eq!(handle.state().shutdowns, 0);
        writer.close().await.unwrap();
        let s = handle.state();
        assert_eq!(s.data, data);
        let expected_writes: usize = data.chunks(97).map(|c| c.len().div_ceil(3)).sum();
        assert_eq!(
            s.writes, expected_writes,
            "a partial write is continued, not dropped"
        );
        assert!(s.flushes >= 1, "close flushes");
        assert_eq!(s.shutdowns, 1, "close shuts down");
        assert!(s.dropped, "the writer is dropped after close");
    });
}

#[test]
fn desired_size_counts_bytes_and_a_slow_writer_holds_the_queue() {
    run(async {
        let (handle, w) = WriterHandle::new();
        handle.pause();
        let stream = WritableStream::from_async_write_with_high_water_mark(w, 10);
        let writer = stream.get_writer().unwrap();
        assert_eq!(writer.desired_size().unwrap(), Some(10.0));
        let first = writer.write(Bytes::from_static(b"abcdef"));
        assert_eq!(writer.desired_size().unwrap(), Some(4.0));
        let second = writer.write(Bytes::from_static(b"ghij"));
        assert_eq!(writer.desired_size().unwrap(), Some(0.0));
        let mut ready = writer.ready();
        for _ in 0..5 {
            assert!(
                poll_once(&mut ready).is_none(),
                "ready waits while the writer is slow"
            );
            tick().await;
        }
        let third = writer.write(Bytes::from_static(b"klmno"));
        assert_eq!(writer.desired_size().unwrap(), Some(-5.0));
        assert!(handle.data().is_empty());
        handle.resume();
        first.await.unwrap();
        second.await.unwrap();
        third.await.unwrap();
        ready.await.unwrap();
        assert_eq!(writer.desired_size().unwrap(), Some(10.0));
        assert_eq!(handle.data(), b"abcdefghijklmno");
    });
}

#[test]
fn a_pipe_into_a_slow_writer_holds_memory_to_the_high_water_marks() {
    const CHUNK: usize = 1024;
    const SOURCE_HWM: usize = 4 * CHUNK;
    const SINK_HWM: usize = 8 * CHUNK;
    const TOTAL: usize = 1 << 20;
    run(async {
        let produced = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p = produced.clone();
        let source = ReadableStream::with_strategy(
            SourceFn::new().pull(move |c| {
                let done = p.load(std::sync::atomic::Ordering::SeqCst);
                if done == TOTAL {
                    c.close().unwrap();
                } else {
                    let chunk = pseudo_random(CHUNK, done as u64 + 1);
                    p.fetch_add(CHUNK, std::sync::atomic::Ordering::SeqCst);
                    c.enqueue(Bytes::from(chunk)).unwrap();
                }
                Completion::ok()
            }),
            ByteLengthQueuingStrategy::new(SOURCE_HWM as f64),
        )
        .unwrap();
        let (handle, w) = WriterHandle::new();
        handle.pause();
        let sink = WritableStream::from_async_write_with_high_water_mark(w, SINK_HWM);
        let mut pipe = source.pipe_to(&sink, PipeOptions::default());
        for _ in 0..50 {
            assert!(poll_once(&mut pipe).is_none());
            tick().await;
        }
        let held = produced.load(std::sync::atomic::Ordering::SeqCst) - handle.data().len();
        assert!(
            held >= SINK_HWM,
            "the sink's queue fills up to its high-water mark ({held})"
        );
        assert!(
            held <= SINK_HWM + SOURCE_HWM + CHUNK,
            "memory stays within the high-water marks plus one chunk, not the input ({held} bytes)"
        );
        handle.resume();
        pipe.await.unwrap();
        assert_eq!(handle.data().len(), TOTAL);
        assert_eq!(&handle.data()[..CHUNK], &pseudo_random(CHUNK, 1)[..]);
        assert!(handle.state().dropped);
    });
}

#[test]
fn an_io_error_errors_the_stream_with_the_io_error_as_its_reason() {
    run(async {
        let (handle, w) = WriterHandle::new();
        handle.state().fail_next_write = Some(io::ErrorKind::BrokenPipe);
        let stream = WritableStream::from_async_write(w);
        let writer = stream.get_writer().unwrap();
        let e = writer.write(Bytes::from_static(b"lost?")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::User);
        let io_error = e.reason::<io::Error>().expect("the io::Error is the reason");
        assert_eq!(io_error.kind(), io::ErrorKind::BrokenPipe);
        let closed = writer.closed().await.unwrap_err();
        assert!(StreamError::same(&e, &closed), "the stored error is the io error");
        let later = writer.write(Bytes::from_static(b"x")).await.unwrap_err();
        assert!(StreamError::same(&e, &later));
        assert!(handle.state().dropped, "the failed writer is dropped");
        // Back across the bridge, the io::ErrorKind survives.
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::BrokenPipe);
    });
}

#[test]
fn a_failed_shutdown_fails_the_close() {
    run(async {
        let (handle, w) = WriterHandle::new();
        handle.state().fail_shutdown = Some(io::ErrorKind::StorageFull);
        let stream = WritableStream::from_async_write(w);
        let writer = stream.get_writer().unwrap();
        writer.write(Bytes::from_static(b"data")).await.unwrap();
        let e = writer.close().await.unwrap_err();
        assert_eq!(
            e.reason::<io::Error>().map(io::Error::kind),
            Some(io::ErrorKind::StorageFull)
        );
        assert_eq!(
            handle.data(),
            b"data",
            "bytes written before the failure stay written"
        );
    });
}

#[test]
fn abort_drops_the_writer_without_flushing_after_the_write_in_flight() {
    run(async {
        let (handle, w) = WriterHandle::new();
        handle.pause();
        let stream = WritableStream::from_async_write(w);
        let writer = stream.get_writer().unwrap();
        common::flush(stream.host()); // start() has succeeded: the first write goes to the sink
        let in_flight = writer.write(Bytes::from_static(b"in flight"));
        let queued = writer.write(Bytes::from_static(b"queued"));
        let mut abort = writer.abort(StreamError::user("stop"));
        for _ in 0..3 {
            assert!(
                poll_once(&mut abort).is_none(),
                "abort waits for the write in flight"
            );
            tick().await;
        }
        assert!(!handle.state().dropped);
        handle.resume();
        abort.await.unwrap();
        in_flight.await.unwrap();
        let e = queued.await.unwrap_err();
        assert_eq!(common::reason_of(&e), Some("stop"));
        let s = handle.state();
        assert_eq!(
            s.data, b"in flight",
            "the queued chunk is discarded, the one in flight written"
        );
        assert!(s.dropped);
        assert_eq!((s.flushes, s.shutdowns), (0, 0));
    });
}
