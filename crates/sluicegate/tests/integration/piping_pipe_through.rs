//! WPT `streams/piping/pipe-through.any.js` and `transform-streams.any.js`, ported to the native
//! API: `pipe_through` pipes into a transform stream's writable side, returns its readable side,
//! checks locks, and honours the options and the signal.
//!
//! Not ported: the duck-typed `{ writable, readable }` pair (the native API takes a
//! `TransformStream`; the same checks run against a real one), brand checks, getters that throw,
//! `pipeThrough` not calling a patched or overridden `pipeTo`, invalid signals and `null` options:
//! all JavaScript-only.

use crate::common;
use crate::piping_support;

use sluicegate::host::HostRef;
use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::transform::TransformerFn;
use sluicegate::transform::{TransformStream, TransformStreamDefaultController};
use sluicegate::writable::SinkFn;
use sluicegate::{AbortController, Completion, ErrorKind, PipeOptions, StreamError};

use common::Log;
use piping_support::*;

fn host() -> HostRef {
    common::host()
}

type Ctl<T> = TransformStreamDefaultController<T>;

/// A pass-through transform stream on `host` that logs `transform`, `flush` and `cancel`, and
/// whose `start` runs `on_start`.
fn logging_transform(
    host: &HostRef,
    on_start: impl FnMut(&Ctl<&'static str>) + Send + 'static,
) -> (TransformStream<&'static str, &'static str>, Log) {
    let log = Log::new();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let mut on_start = on_start;
    let ts = TransformStream::with_host(
        TransformerFn::new(move |chunk: &'static str, c: &Ctl<&'static str>| {
            l1.push(format!("transform {chunk}"));
            c.enqueue(chunk)
        })
        .start(move |c| on_start(c))
        .flush(move |_| l2.push("flush"))
        .cancel(move |r| l3.push(format!("cancel {}", show(&r)))),
        default(),
        default(),
        host.clone(),
    )
    .unwrap();
    (ts, log)
}

#[test]
fn piping_through_a_pass_through_transform_stream_works() {
    let host = host();
    let rs = readable_with::<u32>(&host, &[1, 2, 3, 4, 5], true);
    let ts = TransformStream::with_host(
        TransformerFn::new(|chunk: u32, c: &Ctl<u32>| c.enqueue(chunk)),
        default(),
        default(),
        host.clone(),
    )
    .unwrap();
    common::run(async move {
        let readable_end = rs.stream.pipe_through(&ts, PipeOptions::default()).unwrap();
        let chunks = common::read_all(&readable_end).await.unwrap();
        assert_eq!(chunks, [1, 2, 3, 4, 5], "chunks should match");
    });
}

#[test]
fn piping_through_a_transform_errored_on_its_writable_end_cancels_the_source() {
    let host = host();
    let error1 = error("this rejection should not be reported as unhandled");
    let rs = plain_readable::<&'static str>(&host);
    let e1 = error1.clone();
    let (ts, _log) = logging_transform(&host, move |c| c.error(e1.clone()));
    common::run(async move {
        let readable_end = rs.stream.pipe_through(&ts, PipeOptions::default()).unwrap();
        common::sleep(0).await;
        common::flush(&host);
        assert_log(
            rs.events_without_pulls(),
            &["cancel this rejection should not be reported as unhandled"],
        );
        let read = readable_end.get_reader().unwrap().read().await;
        assert_rejects_with(read, &error1);
        assert!(!rs.stream.locked(), "the pipe finished");
    });
}

#[test]
fn pipe_through_accepts_a_real_abort_signal() {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let (ts, log) = logging_transform(&host, |_| {});
    let controller = AbortController::new();
    let signal = controller.signal();
    let reason = error("stop");
    common::run(async move {
        let opts = PipeOptions {
            signal: Some(signal.clone()),
            ..Default::default()
        };
        let readable_end = rs.stream.pipe_through(&ts, opts).unwrap();
        common::flush(&host);
        assert_eq!(signal.pending_algorithms(), 1);
        controller.abort(Some(reason.clone()));
        let read = readable_end.get_reader().unwrap().read().await;
        assert_rejects_with(read, &reason);
        assert_log(rs.events_without_pulls(), &["cancel stop"]);
        assert_log(log.entries(), &["cancel stop"]);
        assert_eq!(
            signal.pending_algorithms(),
            0,
            "the pipe removed its abort algorithm"
        );
    });
}

#[test]
fn pipe_through_fails_if_the_source_is_locked() {
    let rs = ReadableStream::from_iter(["a"]);
    let _reader = rs.get_reader().unwrap();
    let ts = TransformStream::<&'static str, &'static str>::identity();
    let result = rs.pipe_through(&ts, PipeOptions::default());
    assert_rejects_kind(result.map(|_| ()), ErrorKind::Type);
    assert!(!ts.writable().locked(), "the writable side is not locked");
}

#[test]
fn pipe_through_fails_if_the_writable_side_is_locked() {
    let rs = ReadableStream::from_iter(["a"]);
    let ts = TransformStream::<&'static str, &'static str>::identity();
    let _writer = ts.writable().get_writer().unwrap();
    let result = rs.pipe_through(&ts, PipeOptions::default());
    assert_rejects_kind(result.map(|_| ()), ErrorKind::Type);
    assert!(!rs.locked(), "the source is not locked");
}

#[test]
fn pipe_through_does_not_care_if_the_readable_side_is_locked() {
    let rs = ReadableStream::from_iter(["a"]);
    let ts = TransformStream::<&'static str, &'static str>::identity();
    let _reader = ts.readable().get_reader().unwrap();
    let result = rs
        .pipe_through(&ts, PipeOptions::default())
        .expect("pipe_through should not fail");
    assert!(
        result.locked(),
        "the result is the transform's readable side, locked by its reader"
    );
    assert!(
        rs.locked() && ts.writable().locked(),
        "the pipe locks the source and the writable side"
    );
}

#[test]
fn pipe_through_prevent_cancel_works() {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let (ts, _log) = logging_transform(&host, |c| c.error(StreamError::undefined()));
    common::run(async move {
        let opts = PipeOptions {
            prevent_cancel: true,
            ..Default::default()
        };
        let _readable_end = rs.stream.pipe_through(&ts, opts).unwrap();
        common::sleep(0).await;
        common::flush(&host);
        assert_log(rs.events(), &["pull"]);
        assert!(rs.stream.is_readable(), "cancel should not have been called");
    });
}

#[test]
fn pipe_through_prevent_close_works() {
    let host = host();
    let rs = readable_with::<&'static str>(&host, &[], true);
    let (ts, log) = logging_transform(&host, |_| {});
    common::run(async move {
        let opts = PipeOptions {
            prevent_close: true,
            ..Default::default()
        };
        let readable_end = rs.stream.pipe_through(&ts, opts).unwrap();
        common::sleep(0).await;
        common::flush(&host);
        assert!(
            log.entries().is_empty(),
            "the writable side should not be closed: {log:?}",
            log = log.entries()
        );
        // It is still open: a chunk written now comes out of the readable side.
        let writer = ts.writable().get_writer().unwrap();
        let write = writer.write("later");
        let reader = readable_end.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("later"));
        write.await.unwrap();
    });
}

#[test]
fn pipe_through_prevent_abort_works() {
    let host = host();
    let rs = readable(
        &host,
        default(),
        SourceFn::<&'static str>::new().start(|c| c.error(StreamError::undefined())),
    );
    let (ts, log) = logging_transform(&host, |_| {});
    common::run(async move {
        let opts = PipeOptions {
            prevent_abort: true,
            ..Default::default()
        };
        let _readable_end = rs.stream.pipe_through(&ts, opts).unwrap();
        common::sleep(0).await;
        common::flush(&host);
        assert!(
            log.entries().is_empty(),
            "the writable side should not be aborted"
        );
        let writer = ts.writable().get_writer().unwrap();
        assert!(
            writer.desired_size().unwrap().is_some(),
            "the writable side is not errored"
        );
    });
}

#[test]
fn pipe_through_returns_the_readable_side_and_locks_the_source_and_the_writable_side() {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let (ts, _log) = logging_transform(&host, |_| {});
    let readable_end = rs.stream.pipe_through(&ts, PipeOptions::default()).unwrap();
    assert!(rs.stream.locked());
    assert!(ts.writable().locked());
    assert!(!readable_end.locked() && !ts.readable().locked());
    // The same stream: a reader on one locks the other.
    let _reader = readable_end.get_reader().unwrap();
    assert!(ts.readable().locked());
}

// transform-streams.any.js

#[test]
fn piping_through_an_identity_transform_closes_the_destination_when_the_source_closes() {
    let host = host();
    let rs = readable_with::<&'static str>(&host, &["a", "b", "c"], true);
    let ws = plain_writable::<&'static str>(&host);
    let ts = TransformStream::<&'static str, &'static str>::identity();
    common::run(async move {
        rs.stream
            .pipe_through(&ts, PipeOptions::default())
            .unwrap()
            .pipe_to(&ws.stream, PipeOptions::default())
            .await
            .unwrap();
        ws.stream.get_writer().unwrap().closed().await.unwrap();
        assert_log(ws.events(), &["write a", "write b", "write c", "close"]);
    });
}

// Native additions.

#[test]
fn a_chain_of_transforms_maps_every_chunk_in_order() {
    common::run(async {
        let out = ReadableStream::from_iter(1..=5u32)
            .pipe_through(&TransformStream::map(|n: u32| n * 2), PipeOptions::default())
            .unwrap()
            .pipe_through(&TransformStream::map(|n: u32| n + 1), PipeOptions::default())
            .unwrap();
        assert_eq!(common::read_all(&out).await.unwrap(), [3, 5, 7, 9, 11]);
    });
}

#[test]
fn a_failing_transform_cancels_the_source_with_its_error() {
    let host = host();
    let error1 = error("error1");
    let rs = readable_with::<&'static str>(&host, &["a", "b", "c"], false);
    let e1 = error1.clone();
    let ts = TransformStream::with_host(
        TransformerFn::new(move |chunk: &'static str, c: &Ctl<&'static str>| -> Completion {
            if chunk == "b" {
                Completion::err(e1.clone())
            } else {
                c.enqueue(chunk).into()
            }
        }),
        hwm(4.0),
        hwm(4.0),
        host.clone(),
    )
    .unwrap();
    common::run(async move {
        let readable_end = rs.stream.pipe_through(&ts, PipeOptions::default()).unwrap();
        let reader = readable_end.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        assert_rejects_with(reader.read().await, &error1);
        common::flush(&host);
        assert_log(rs.events_without_pulls(), &["cancel error1"]);
        assert!(!rs.stream.locked());
    });
}

#[test]
fn pipe_through_a_transform_on_another_host() {
    let (source_host, transform_host) = (host(), host());
    let rs = readable_with::<&'static str>(&source_host, &["x", "y"], true);
    let (ts, log) = logging_transform(&transform_host, |_| {});
    let ws = writable(&transform_host, default(), SinkFn::<&'static str>::new());
    common::run(async move {
        let readable_end = rs.stream.pipe_through(&ts, PipeOptions::default()).unwrap();
        readable_end
            .pipe_to(&ws.stream, PipeOptions::default())
            .await
            .unwrap();
        assert_log(log.entries(), &["transform x", "transform y", "flush"]);
        assert_log(ws.events(), &["write x", "write y", "close"]);
    });
}
