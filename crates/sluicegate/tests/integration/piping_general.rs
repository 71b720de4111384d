//! WPT `streams/piping/general.any.js` and `general-addition.any.js`, ported to the native API:
//! locking, unlocking, locked streams, synchronously and asynchronously readable chunks, undefined
//! rejections, and writes never happening inside `enqueue()`.
//!
//! Not ported: the brand checks (`pipeTo.apply(fakeRS)`), option getters that grab a writer and
//! `null` options: JavaScript-only.

use crate::common;
use crate::piping_support;

use sluicegate::host::HostRef;
use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{Completion, ErrorKind, PipeOptions, StreamError};

use piping_support::*;

fn host() -> HostRef {
    common::host()
}

#[test]
fn piping_locks_both_streams() {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let ws = plain_writable::<&'static str>(&host);
    assert!(!rs.stream.locked(), "the readable stream must not start locked");
    assert!(!ws.stream.locked(), "the writable stream must not start locked");
    let _pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
    assert!(rs.stream.locked(), "the readable stream must become locked");
    assert!(ws.stream.locked(), "the writable stream must become locked");
    assert!(rs.stream.is_disturbed(), "piping disturbs the source");
}

#[test]
fn a_finished_pipe_unlocks_both_streams() {
    let host = host();
    let rs = readable_with::<&'static str>(&host, &[], true);
    let ws = plain_writable::<&'static str>(&host);
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert!(result.is_ok(), "{result:?}");
        assert!(!rs.stream.locked(), "the readable stream must become unlocked");
        assert!(!ws.stream.locked(), "the writable stream must become unlocked");
    });
}

#[test]
fn piping_a_locked_readable_stream_fails_and_leaves_the_writable_unlocked() {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let ws = plain_writable::<&'static str>(&host);
    let _reader = rs.stream.get_reader().unwrap();
    assert!(rs.stream.locked());
    assert!(!ws.stream.locked());
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_rejects_kind(result, ErrorKind::Type);
        assert!(!ws.stream.locked(), "the writable stream must still be unlocked");
        assert!(ws.events().is_empty(), "nothing was written");
        assert!(rs.events_without_pulls().is_empty(), "nothing was cancelled");
    });
}

#[test]
fn piping_to_a_locked_writable_stream_fails_and_leaves_the_readable_unlocked() {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let ws = plain_writable::<&'static str>(&host);
    let _writer = ws.stream.get_writer().unwrap();
    assert!(!rs.stream.locked());
    assert!(ws.stream.locked());
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_rejects_kind(result, ErrorKind::Type);
        assert!(!rs.stream.locked(), "the readable stream must still be unlocked");
        assert!(!rs.stream.is_disturbed(), "a failed pipe reads nothing");
    });
}

#[test]
fn piping_lots_of_synchronously_readable_chunks() {
    const CHUNKS: u32 = 10;
    let host = host();
    let rs = ReadableStream::with_host(
        SourceFn::new().start(|c| {
            for i in 0..CHUNKS {
                c.enqueue(i).unwrap();
            }
            c.close().unwrap();
        }),
        default(),
        host.clone(),
    )
    .unwrap();
    let written = common::Log::new();
    let (w1, w2) = (written.clone(), written.clone());
    let ws = WritableStream::with_host(
        SinkFn::new()
            .write(move |chunk: u32, _| w1.push(chunk.to_string()))
            .close(move || w2.push("closed")),
        hwm(f64::from(CHUNKS)),
        host.clone(),
    )
    .unwrap();
    common::run(async move {
        rs.pipe_to(&ws, PipeOptions::default()).await.unwrap();
        let mut expected: Vec<String> = (0..CHUNKS).map(|i| i.to_string()).collect();
        expected.push("closed".into());
        assert_eq!(written.entries(), expected, "the correct values must be written");
        // Both streams are closed by the time the pipe finishes.
        rs.get_reader().unwrap().closed().await.unwrap();
        ws.get_writer().unwrap().closed().await.unwrap();
    });
}

#[test]
fn piping_a_chunk_that_becomes_readable_after_the_pipe_started() {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let ws = plain_writable::<&'static str>(&host);
    let controller = rs.controller.clone();
    common::run(async move {
        let pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        let (result, ()) = futures::join!(pipe, async {
            common::sleep(10).await;
            controller.enqueue("Hello").unwrap();
            common::sleep(10).await;
            controller.close().unwrap();
        });
        result.unwrap();
        assert_log(ws.events(), &["write Hello", "close"]);
    });
}

fn undefined_rejection_from_pull(prevent_abort: bool) {
    let host = host();
    let undefined = StreamError::undefined();
    let u = undefined.clone();
    let rs = ReadableStream::with_host(
        SourceFn::<u32>::new().pull(move |_| Completion::err(u.clone())),
        default(),
        host.clone(),
    )
    .unwrap();
    let ws = WritableStream::with_host(SinkFn::new(), default(), host.clone()).unwrap();
    common::run(async move {
        let opts = PipeOptions {
            prevent_abort,
            ..Default::default()
        };
        let result = rs.pipe_to(&ws, opts).await;
        assert_rejects_with(result, &undefined);
    });
}

#[test]
fn an_undefined_rejection_from_pull_rejects_the_pipe_prevent_abort_true() {
    undefined_rejection_from_pull(true);
}

#[test]
fn an_undefined_rejection_from_pull_rejects_the_pipe_prevent_abort_false() {
    undefined_rejection_from_pull(false);
}

fn undefined_rejection_from_write(prevent_cancel: bool) {
    let host = host();
    let undefined = StreamError::undefined();
    let u = undefined.clone();
    let rs = ReadableStream::with_host(
        SourceFn::<u32>::new().pull(|c| c.enqueue(0)),
        default(),
        host.clone(),
    )
    .unwrap();
    let ws = WritableStream::with_host(
        SinkFn::new().write(move |_: u32, _| Completion::err(u.clone())),
        default(),
        host.clone(),
    )
    .unwrap();
    common::run(async move {
        let opts = PipeOptions {
            prevent_cancel,
            ..Default::default()
        };
        let result = rs.pipe_to(&ws, opts).await;
        assert_rejects_with(result, &undefined);
        assert_eq!(rs.is_readable(), prevent_cancel, "cancelled unless prevented");
    });
}

#[test]
fn an_undefined_rejection_from_write_rejects_the_pipe_prevent_cancel_true() {
    undefined_rejection_from_write(true);
}

#[test]
fn an_undefined_rejection_from_write_rejects_the_pipe_prevent_cancel_false() {
    undefined_rejection_from_write(false);
}

#[test]
fn the_pipe_fulfils_with_unit_when_given_default_options() {
    let host = host();
    let rs = readable_with::<&'static str>(&host, &[], true);
    let ws = plain_writable::<&'static str>(&host);
    common::run(async move {
        let value: () = rs
            .stream
            .pipe_to(&ws.stream, PipeOptions::default())
            .await
            .unwrap();
        assert_eq!(value, ());
        assert_log(ws.events(), &["close"]);
    });
}

// general-addition.any.js

#[test]
fn enqueue_does_not_call_the_write_algorithm_synchronously() {
    let host = host();
    let rs = readable(&host, hwm(0.0), SourceFn::<&'static str>::new());
    let ws = plain_writable::<&'static str>(&host);
    let mut pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
    // Let both start algorithms finish and the pipe issue its read.
    common::flush(&host);
    assert!(ws.events().is_empty());
    rs.controller.enqueue("a").unwrap();
    assert!(
        ws.events().is_empty(),
        "the write algorithm must not run inside enqueue()"
    );
    common::flush(&host);
    assert_log(ws.events(), &["write a"]);
    rs.controller.close().unwrap();
    common::flush(&host);
    assert_eq!(common::poll_once(&mut pipe).map(|r| r.is_ok()), Some(true));
    assert_log(ws.events(), &["write a", "close"]);
}

// Native additions.

#[test]
fn a_dropped_pipe_future_keeps_piping_while_the_host_is_driven() {
    let host = host();
    let rs = readable_with(&host, &["a", "b"], true);
    let ws = plain_writable::<&'static str>(&host);
    drop(rs.stream.pipe_to(&ws.stream, PipeOptions::default()));
    common::flush(&host);
    assert_log(ws.events(), &["write a", "write b", "close"]);
    assert!(!rs.stream.locked() && !ws.stream.locked());
}

#[test]
fn a_pipe_between_streams_on_different_hosts_completes() {
    let (source_host, dest_host) = (host(), host());
    let rs = readable_with(&source_host, &["a", "b", "c"], false);
    let ws = plain_writable::<&'static str>(&dest_host);
    let controller = rs.controller.clone();
    common::run(async move {
        let pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        let (result, ()) = futures::join!(pipe, async {
            common::sleep(5).await;
            controller.enqueue("d").unwrap();
            controller.close().unwrap();
        });
        result.unwrap();
        assert_log(
            ws.events(),
            &["write a", "write b", "write c", "write d", "close"],
        );
    });
}

#[test]
fn chunks_enqueued_on_another_thread_reach_a_pipe_awaited_on_this_one() {
    let slot = common::Slot::new();
    let s = slot.clone();
    let rs = ReadableStream::with_strategy(SourceFn::<u32>::new().start(move |c| s.set(c.clone())), hwm(0.0))
        .unwrap();
    let controller: sluicegate::ReadableStreamDefaultController<u32> = slot.get();
    let written = common::Log::new();
    let (w1, w2) = (written.clone(), written.clone());
    let ws = WritableStream::with_strategy(
        SinkFn::new()
            .write(move |n: u32, _| w1.push(n.to_string()))
            .close(move || w2.push("close")),
        hwm(2.0),
    )
    .unwrap();
    let producer = std::thread::spawn(move || {
        for n in 0..100 {
            controller.enqueue(n).unwrap();
            if n % 10 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        controller.close().unwrap();
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = futures::executor::block_on(rs.pipe_to(&ws, PipeOptions::default()));
        tx.send(result).unwrap();
    });
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the pipe finishes");
    producer.join().unwrap();
    result.unwrap();
    let mut expected: Vec<String> = (0..100).map(|n: u32| n.to_string()).collect();
    expected.push("close".into());
    assert_eq!(written.entries(), expected);
}
