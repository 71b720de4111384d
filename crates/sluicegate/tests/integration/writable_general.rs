//! Ported from WPT `streams/writable-streams/general.any.js`, `constructor.any.js` and
//! `properties.any.js`: writers, locking, desired size, and how sink methods are called.

use crate::common;
use crate::writable_support;

use std::sync::{Arc, Mutex};

use common::{flush, run, Calls, Log};
use sluicegate::strategy::QueuingStrategy;
use sluicegate::writable::{
    SinkFn, WritableStream, WritableStreamDefaultController, WritableStreamDefaultWriter,
};
use sluicegate::{Completion, ErrorKind, StreamError};
use writable_support::*;

fn plain() -> WritableStream<&'static str> {
    WritableStream::new(SinkFn::new()).unwrap()
}

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<WritableStream<u64>>();
    assert_send_sync::<WritableStreamDefaultWriter<u64>>();
    assert_send_sync::<WritableStreamDefaultController<u64>>();
    assert_send_sync::<sluicegate::AbortSignal>();
}

#[test]
fn desired_size_on_a_released_writer_is_a_type_error() {
    let ws = plain();
    let writer = ws.get_writer().unwrap();
    writer.release_lock();
    assert_eq!(writer.desired_size().unwrap_err().kind(), ErrorKind::Type);
    assert!(!writer.is_attached());
}

#[test]
fn desired_size_initial_value_is_the_default_high_water_mark() {
    let ws = plain();
    let writer = ws.get_writer().unwrap();
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
}

#[test]
fn desired_size_on_a_writer_for_a_closed_stream_is_zero() {
    run(async {
        let ws = plain();
        let writer = ws.get_writer().unwrap();
        drop(writer.close());
        writer.closed().await.unwrap();
        assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    });
}

#[test]
fn desired_size_on_a_writer_for_an_errored_stream_is_none() {
    let ws: WritableStream<&str> = WritableStream::new(
        SinkFn::new().start(|c: &WritableStreamDefaultController<&str>| c.error(StreamError::undefined())),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    assert_eq!(writer.desired_size().unwrap(), None);
}

#[test]
fn get_writer_on_a_closing_stream() {
    let ws = plain();
    let writer = ws.get_writer().unwrap();
    drop(writer.close());
    writer.release_lock();
    let writer2 = ws.get_writer().unwrap();
    // Closing but not closed: `ready` is resolved (a close is queued), `closed` pending.
    let host = ws.host().clone();
    assert!(writer2.ready().peek().is_some());
    assert!(writer2.closed().peek().is_none());
    flush(&host);
    writer2.closed().peek().unwrap().unwrap();
}

#[test]
fn get_writer_on_a_closed_stream() {
    run(async {
        let ws = plain();
        let writer = ws.get_writer().unwrap();
        writer.close().await.unwrap();
        writer.release_lock();
        let writer2 = ws.get_writer().unwrap();
        writer2.ready().await.unwrap();
        writer2.closed().await.unwrap();
        assert_eq!(writer2.desired_size().unwrap(), Some(0.0));
    });
}

#[test]
fn get_writer_on_an_aborted_stream() {
    let ws = plain();
    let writer = ws.get_writer().unwrap();
    let reason = error("error1");
    drop(writer.abort(reason.clone()));
    writer.release_lock();
    let writer2 = ws.get_writer().unwrap();
    // The stream is erroring (start has not finished): ready rejected, closed pending.
    assert_rejected_with(&writer2.ready(), &reason);
    assert_pending(&writer2.closed());
    assert_eq!(writer2.desired_size().unwrap(), None);
    flush(ws.host());
    assert_rejected_with(&writer2.closed(), &reason);
}

#[test]
fn get_writer_on_an_errored_stream() {
    run(async {
        let e = error("error1");
        let e2 = e.clone();
        let ws: WritableStream<&str> = WritableStream::new(
            SinkFn::new().start(move |c: &WritableStreamDefaultController<&str>| c.error(e2.clone())),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        assert_same(&writer.closed().await.unwrap_err(), &e);
        writer.release_lock();
        let writer2 = ws.get_writer().unwrap();
        assert_same(&writer2.closed().await.unwrap_err(), &e);
        assert_same(&writer2.ready().await.unwrap_err(), &e);
    });
}

#[test]
fn closed_and_ready_on_a_released_writer_reject_with_the_same_type_error() {
    run(async {
        let ws = plain();
        let writer = ws.get_writer().unwrap();
        writer.release_lock();
        let closed = writer.closed().await.unwrap_err();
        assert_eq!(closed.kind(), ErrorKind::Type);
        let ready = writer.ready().await.unwrap_err();
        assert_same(&ready, &closed);
    });
}

#[test]
fn sink_methods_are_called_with_their_arguments() {
    run(async {
        let log = Log::new();
        let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
        let sink = move || {
            let (l1, l2, l3, l4) = (l1.clone(), l2.clone(), l3.clone(), l4.clone());
            SinkFn::new()
                .start(move |_c: &WritableStreamDefaultController<&'static str>| l1.push("start"))
                .write(move |chunk, c: &WritableStreamDefaultController<&'static str>| {
                    assert!(!c.signal().aborted());
                    l2.push(format!("write {chunk}"));
                })
                .close(move || l3.push("close"))
                .abort(move |r: StreamError| l4.push(format!("abort {}", show(&r))))
        };
        let ws1 = WritableStream::new(sink()).unwrap();
        let writer1 = ws1.get_writer().unwrap();
        drop(writer1.write("a"));
        let close = writer1.close();

        let ws2 = WritableStream::new(sink()).unwrap();
        let writer2 = ws2.get_writer().unwrap();
        let abort_error = error("abort error");
        let abort = writer2.abort(abort_error.clone());

        close.await.unwrap();
        abort.await.unwrap();
        writer1.closed().await.unwrap();
        assert_same(&writer2.closed().await.unwrap_err(), &abort_error);
        log.assert(&["start", "start", "write a", "close", "abort abort error"]);
    });
}

#[test]
fn aborting_a_sink_without_abort_does_not_call_close() {
    run(async {
        let closes = Calls::new();
        let c = closes.clone();
        let ws: WritableStream<&str> = WritableStream::new(SinkFn::new().close(move || c.hit())).unwrap();
        let writer = ws.get_writer().unwrap();
        let reason = error("abort error");
        writer.abort(reason.clone()).await.unwrap();
        assert_same(&writer.closed().await.unwrap_err(), &reason);
        closes.assert_exactly(0);
    });
}

#[test]
fn size_is_called_with_each_chunk() {
    run(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let ws = WritableStream::with_strategy(
            SinkFn::new(),
            QueuingStrategy::with_size(1.0, move |c: &&str| {
                s.lock().unwrap().push(c.to_string());
                1.0
            }),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        writer.write("a").await.unwrap();
        writer.write("b").await.unwrap();
        assert_eq!(*seen.lock().unwrap(), ["a", "b"]);
    });
}

#[test]
fn redundant_release_lock_is_a_no_op() {
    run(async {
        let ws = plain();
        let writer1 = ws.get_writer().unwrap();
        writer1.release_lock();
        let writer2 = ws.get_writer().unwrap();
        writer1.release_lock();
        // Releasing writer1 again must not interfere with writer2.
        assert!(ws.locked());
        writer2.ready().await.unwrap();
        assert!(writer2.is_attached());
    });
}

#[test]
fn ready_rejects_before_closed_on_release_lock() {
    let step = StepHost::new();
    let ws: WritableStream<&str> =
        WritableStream::with_host(SinkFn::new(), QueuingStrategy::new(), step.host()).unwrap();
    let writer = ws.get_writer().unwrap();
    step.run();
    // Force the ready promise back to pending.
    let write = writer.write("dummy");
    let log = Log::new();
    watch(&log, "ready", writer.ready());
    watch(&log, "closed", writer.closed());
    writer.release_lock();
    log.assert(&["ready TypeError", "closed TypeError"]);
    step.run();
    assert_fulfilled(&write);
}

#[test]
fn locked_is_true_while_a_writer_holds_the_stream() {
    let ws = plain();
    assert!(!ws.locked());
    let writer = ws.get_writer().unwrap();
    assert!(ws.locked());
    writer.release_lock();
    assert!(!ws.locked());
}

#[test]
fn dropping_the_last_writer_clone_releases_the_lock() {
    let ws = plain();
    let writer = ws.get_writer().unwrap();
    let clone = writer.clone();
    drop(writer);
    assert!(ws.locked());
    let closed = clone.closed();
    drop(clone);
    assert!(!ws.locked());
    assert_eq!(closed.peek().unwrap().unwrap_err().kind(), ErrorKind::Type);
}

#[test]
fn get_writer_on_a_locked_stream_fails_and_keeps_the_first_writer() {
    run(async {
        let ws = plain();
        let writer = ws.get_writer().unwrap();
        assert_eq!(ws.get_writer().unwrap_err().kind(), ErrorKind::Type);
        // The failed acquisition did not disturb the first writer's lock or promises.
        writer.close().await.unwrap();
        writer.closed().await.unwrap();
    });
}

#[test]
fn controller_passed_to_start_can_error_the_stream_after_construction() {
    run(async {
        let slot = slot::<WritableStreamDefaultController<&str>>();
        let s = slot.clone();
        let ws = WritableStream::new(SinkFn::new().start(
            move |c: &WritableStreamDefaultController<&str>| {
                *s.lock().unwrap() = Some(c.clone());
            },
        ))
        .unwrap();
        let e = error("error1");
        take(&slot, "controller").error(e.clone());
        let writer = ws.get_writer().unwrap();
        assert_eq!(writer.desired_size().unwrap(), None);
        assert_same(&writer.closed().await.unwrap_err(), &e);
    });
}

#[test]
fn controller_passed_to_write_can_error_the_stream() {
    run(async {
        let e = error("error1");
        let e2 = e.clone();
        let ws = WritableStream::new(
            SinkFn::new()
                .write(move |_: &str, c: &WritableStreamDefaultController<&str>| c.error(e2.clone())),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        // The write itself succeeded (the sink returned success)...
        writer.write("a").await.unwrap();
        // ...but the stream is errored.
        assert_same(&writer.closed().await.unwrap_err(), &e);
    });
}

#[test]
fn high_water_mark_is_reflected_in_desired_size() {
    run(async {
        let ws =
            WritableStream::with_strategy(SinkFn::<&str>::new(), QueuingStrategy::with_size(1000.0, |_| 1.0))
                .unwrap();
        let writer = ws.get_writer().unwrap();
        assert_eq!(writer.desired_size().unwrap(), Some(1000.0));
        writer.ready().await.unwrap();
    });
}

#[test]
fn infinite_high_water_mark_never_applies_backpressure() {
    run(async {
        let ws = WritableStream::with_strategy(
            SinkFn::<&str>::new(),
            QueuingStrategy::with_size(f64::INFINITY, |_| 0.0),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        assert_eq!(writer.desired_size().unwrap(), Some(f64::INFINITY));
        writer.ready().await.unwrap();
    });
}

#[test]
fn constructible_with_the_default_sink_and_strategy() {
    run(async {
        let ws = WritableStream::new(SinkFn::<u8>::new()).unwrap();
        assert!(!ws.locked());
        let writer = ws.get_writer().unwrap();
        writer.write(1).await.unwrap();
        writer.close().await.unwrap();
    });
}

#[test]
fn each_sink_method_is_called_when_triggered() {
    // properties.any.js: start on construction, write on write(), close on close(), abort on abort().
    run(async {
        for method in ["start", "write", "close", "abort"] {
            let calls = Calls::new();
            let c = calls.clone();
            let sink = match method {
                "start" => SinkFn::new().start(move |_: &WritableStreamDefaultController<u8>| c.hit()),
                "write" => SinkFn::new().write(move |_, _: &WritableStreamDefaultController<u8>| c.hit()),
                "close" => SinkFn::new().close(move || c.hit()),
                _ => SinkFn::new().abort(move |_| c.hit()),
            };
            let ws = WritableStream::new(sink).unwrap();
            let writer = ws.get_writer().unwrap();
            match method {
                "start" => writer.ready().await.unwrap(),
                "write" => writer.write(0).await.unwrap(),
                "close" => writer.close().await.unwrap(),
                _ => writer.abort(StreamError::undefined()).await.unwrap(),
            }
            calls.assert_exactly(1);
        }
    });
}

#[test]
fn start_returning_a_ready_error_makes_the_constructor_fail() {
    let e = error("error1");
    let e2 = e.clone();
    let got = WritableStream::<u8>::new(
        SinkFn::new().start(move |_: &WritableStreamDefaultController<u8>| Completion::err(e2.clone())),
    )
    .unwrap_err();
    assert_same(&got, &e);
}
