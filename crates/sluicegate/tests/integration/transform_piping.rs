//! The pipe cases of WPT `streams/transform-streams/` (from `backpressure.any.js`,
//! `terminate.any.js` and `reentrant-strategies.any.js`): cancelling the readable side aborts a
//! pipe into the writable side, `controller.terminate()` fails a pipe into it, and a pipe started
//! from inside the readable side's size function. Plus `pipe_through` end to end.

use crate::common;
use crate::transform_support;

use std::sync::{Arc, Mutex};

use common::{flush, run, sleep, Log};
use sluicegate::host::HostRef;
use sluicegate::pipe::PipeOptions;
use sluicegate::readable::SourceFn;
use sluicegate::transform::{IdentityTransformer, TransformStream, TransformerFn};
use sluicegate::writable::SinkFn;
use sluicegate::{
    Completion, ErrorKind, Promised, QueuingStrategy, ReadableStream, StreamError, WritableStream,
};
use transform_support::*;

/// A readable stream on `host` whose `start` enqueues `chunks` (and never closes).
fn source_of<T: Clone + Send + 'static>(chunks: &[T], host: &HostRef) -> ReadableStream<T> {
    let chunks = chunks.to_vec();
    ReadableStream::with_host(
        SourceFn::new().start(move |c| {
            for chunk in &chunks {
                c.enqueue(chunk.clone()).unwrap();
            }
        }),
        QueuingStrategy::new(),
        host.clone(),
    )
    .unwrap()
}

/// WPT's `recordingWritableStream` on `host`: logs `"write {chunk}"`, `"close"`, `"abort {reason}"`.
fn recording_sink<T: std::fmt::Display + Send + 'static>(host: &HostRef) -> (WritableStream<T>, Log) {
    let log = Log::new();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let ws = WritableStream::with_host(
        SinkFn::new()
            .write(move |chunk: T, _| l1.push(format!("write {chunk}")))
            .close(move || l2.push("close"))
            .abort(move |r: StreamError| l3.push(format!("abort {}", show(&r)))),
        QueuingStrategy::new(),
        host.clone(),
    )
    .unwrap();
    (ws, log)
}

#[test]
fn cancelling_the_readable_side_aborts_an_empty_pipe() {
    run(async {
        let host: HostRef = common::host();
        let rs = source_of::<u32>(&[], &host);
        let ts =
            TransformStream::<u32, u32>::with_host(IdentityTransformer, default(), default(), host.clone())
                .unwrap();
        let pipe = rs.pipe_to(ts.writable(), PipeOptions::default());
        let error1 = error("error1");
        let _cancel = ts.readable().cancel(error1.clone());
        assert_same_err(pipe.await, &error1);
        // The pipe cancelled its source with the writable side's error.
        assert!(!rs.is_readable());
    });
}

#[test]
fn cancelling_the_readable_side_aborts_an_empty_pipe_after_startup() {
    run(async {
        let host: HostRef = common::host();
        let rs = source_of::<u32>(&[], &host);
        let ts =
            TransformStream::<u32, u32>::with_host(IdentityTransformer, default(), default(), host.clone())
                .unwrap();
        let pipe = rs.pipe_to(ts.writable(), PipeOptions::default());
        flush(&host);
        sleep(1).await;
        let error1 = error("error1");
        let _cancel = ts.readable().cancel(error1.clone());
        assert_same_err(pipe.await, &error1);
    });
}

#[test]
fn cancelling_the_readable_side_aborts_a_full_pipe() {
    run(async {
        let host: HostRef = common::host();
        let rs = source_of(&["a", "b", "c"], &host);
        let ts =
            TransformStream::<&str, &str>::with_host(IdentityTransformer, default(), default(), host.clone())
                .unwrap();
        let pipe = rs.pipe_to(ts.writable(), PipeOptions::default());
        // Let data flow into the pipe.
        flush(&host);
        sleep(1).await;
        let error1 = error("error1");
        let _cancel = ts.readable().cancel(error1.clone());
        assert_same_err(pipe.await, &error1);
    });
}

#[test]
fn controller_terminate_fails_a_pipe_into_the_writable_side() {
    run(async {
        let host: HostRef = common::host();
        let (ts, c, log) = recording::<u32>(|r| r, default(), hwm(0.0), &host);
        let rs = source_of(&[0u32], &host);
        let pipe = rs.pipe_to(ts.writable(), PipeOptions::default());
        flush(&host);
        sleep(1).await;
        log.assert(&[]);
        assert!(!settled(&pipe), "the pipe has not failed yet");
        c.terminate();
        assert_kind(pipe.await, ErrorKind::Type);
        log.assert(&[]);
    });
}

#[test]
fn controller_terminate_stops_the_remaining_chunks() {
    run(async {
        let host: HostRef = common::host();
        let (ts, c, log) = recording::<u32>(|r| r, default(), hwm(1.0), &host);
        let rs = source_of(&[0u32, 1], &host);
        let pipe = rs.pipe_to(ts.writable(), PipeOptions::default());
        flush(&host);
        sleep(1).await;
        log.assert(&["transform 0"]);
        c.terminate();
        assert_kind(pipe.await, ErrorKind::Type);
        log.assert(&["transform 0"]);
        // The chunk transformed before termination is still readable; then the end.
        assert_eq!(read_all(ts.readable()).await.unwrap(), [0]);
    });
}

#[test]
fn pipe_to_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let (ws, ws_log) = recording_sink::<&str>(&host);
        let readable: Slot<ReadableStream<&str>> = slot();
        let pipe: Slot<Promised<()>> = slot();
        let (r, p, w) = (readable.clone(), pipe.clone(), ws.clone());
        let (ts, controller) = with_controller(
            IdentityTransformer,
            default(),
            QueuingStrategy::with_size(1.0, move |_: &&str| {
                let mut p = p.lock().unwrap();
                if p.is_none() {
                    *p = Some(take(&r, "readable").pipe_to(&w, PipeOptions::default()));
                }
                1.0
            }),
            &host,
        )
        .unwrap();
        *readable.lock().unwrap() = Some(ts.readable().clone());
        // Let start() finish so that enqueue() happens synchronously.
        flush(&host);
        controller.enqueue("a").unwrap();
        assert!(pipe.lock().unwrap().is_some(), "size() started the pipe");
        // Some pipe implementations need a second chunk to process the first (whatwg/streams#794).
        controller.enqueue("a").unwrap();
        flush(&host);
        sleep(1).await;
        ws_log.assert(&["write a", "write a"]);
        controller.terminate();
        take(&pipe, "pipe").await.unwrap();
        ws_log.assert(&["write a", "write a", "close"]);
    });
}

#[test]
fn pipe_through_a_transform_stream_maps_every_chunk_in_order() {
    run(async {
        let host: HostRef = common::host();
        let rs = ReadableStream::with_host(
            SourceFn::new().start(|c| {
                for n in 1..=5u32 {
                    c.enqueue(n).unwrap();
                }
                c.close().unwrap();
            }),
            QueuingStrategy::new(),
            host.clone(),
        )
        .unwrap();
        let (ts, _c, log) = recording::<u32>(
            |r| r.transform(|n, c| c.enqueue(n * n)),
            default(),
            default(),
            &host,
        );
        let out = rs.pipe_through(&ts, PipeOptions::default()).unwrap();
        assert!(rs.locked());
        assert!(ts.writable().locked());
        assert_eq!(read_all(&out).await.unwrap(), [1, 4, 9, 16, 25]);
        log.assert(&[
            "transform 1",
            "transform 2",
            "transform 3",
            "transform 4",
            "transform 5",
            "flush",
        ]);
    });
}

#[test]
fn pipe_through_carries_a_transform_error_back_to_the_source() {
    run(async {
        let host: HostRef = common::host();
        let cancelled: Arc<Mutex<Vec<String>>> = Arc::default();
        let c = cancelled.clone();
        let rs = ReadableStream::with_host(
            SourceFn::new()
                .pull(|ctl| {
                    ctl.enqueue(1u32).unwrap();
                })
                .cancel(move |r: StreamError| c.lock().unwrap().push(show(&r))),
            QueuingStrategy::new(),
            host.clone(),
        )
        .unwrap();
        let boom = error("boom");
        let b = boom.clone();
        let ts = TransformStream::with_host(
            TransformerFn::new(move |n: u32, _: &Controller<u32>| {
                if n == 1 {
                    Completion::err(b.clone())
                } else {
                    Completion::ok()
                }
            }),
            default(),
            default(),
            host.clone(),
        )
        .unwrap();
        let out = rs.pipe_through(&ts, PipeOptions::default()).unwrap();
        let reader = out.get_reader().unwrap();
        assert_same_err(reader.read().await, &boom);
        flush(&host);
        assert_eq!(*cancelled.lock().unwrap(), ["boom"]);
    });
}

#[test]
fn pipe_through_a_locked_writable_side_is_a_type_error() {
    let ts = TransformStream::<u32, u32>::identity();
    let _writer = ts.writable().get_writer().unwrap();
    let rs = ReadableStream::from_iter([1u32]);
    assert_kind(
        rs.pipe_through(&ts, PipeOptions::default()).map(|_| ()),
        ErrorKind::Type,
    );
    assert!(!rs.locked(), "a failed pipe_through leaves the source unlocked");
}
