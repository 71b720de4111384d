//! Ported from WPT `streams/writable-streams/bad-underlying-sinks.any.js`: sink methods that throw
//! (return an error at once) or return rejected promises, and sinks that panic.

use crate::common;
use crate::writable_support;

use std::sync::Arc;

use common::{run, Log};
use sluicegate::strategy::QueuingStrategy;
use sluicegate::writable::{SinkFn, WritableStream, WritableStreamDefaultController};
use sluicegate::{Completion, ErrorKind};
use writable_support::*;

type Ctl = WritableStreamDefaultController<&'static str>;

fn stepped(log: &Log, extras: SinkFn<&'static str>) -> (Arc<StepHost>, WritableStream<&'static str>) {
    let step = StepHost::new();
    let ws = WritableStream::with_host(recording(log, extras), QueuingStrategy::new(), step.host()).unwrap();
    (step, ws)
}

#[test]
fn a_start_error_is_the_constructor_error() {
    let e1 = error("error1");
    let e = e1.clone();
    let got =
        WritableStream::<u8>::new(SinkFn::new().start(move |_| Completion::err(e.clone()))).unwrap_err();
    assert_same(&got, &e1);
}

#[test]
fn a_throwing_close_rejects_close_ready_and_closed() {
    let log = Log::new();
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = stepped(&log, SinkFn::new().close(move || Completion::err(e.clone())));
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    step.run();
    assert_rejected_with(&close, &e1);
    assert_rejected_with(&writer.ready(), &e1);
    assert_rejected_with(&writer.closed(), &e1);
    log.assert(&["close"]);
}

#[test]
fn a_close_returning_a_rejected_promise_rejects_close_and_ready() {
    let log = Log::new();
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = stepped(&log, SinkFn::new().close(move || rejected(&e)));
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    step.run();
    assert_rejected_with(&close, &e1);
    assert_rejected_with(&writer.ready(), &e1);
    log.assert(&["close"]);
}

#[test]
fn a_throwing_write_rejects_write_and_closed() {
    run(async {
        let e1 = error("error1");
        let e = e1.clone();
        let ws =
            WritableStream::new(SinkFn::<&str>::new().write(move |_, _| Completion::err(e.clone()))).unwrap();
        let writer = ws.get_writer().unwrap();
        assert_same(&writer.write("a").await.unwrap_err(), &e1);
        assert_same(&writer.closed().await.unwrap_err(), &e1);
    });
}

#[test]
fn a_write_promise_rejected_later_rejects_write_and_ready() {
    let log = Log::new();
    let writes = Resolvers::new();
    let w = writes.clone();
    let (step, ws) = stepped(&log, SinkFn::new().write(move |_, _: &Ctl| w.completion()));
    step.run();
    let writer = ws.get_writer().unwrap();
    let write = writer.write("a");
    let e1 = error("error1");
    writes.reject(&e1);
    step.run();
    assert_rejected_with(&write, &e1);
    assert_rejected_with(&writer.ready(), &e1);
    log.assert(&["write a"]);
}

#[test]
fn a_rejected_second_write_rejects_the_pending_ready_promise_in_place() {
    let log = Log::new();
    let e1 = error("error1");
    let e = e1.clone();
    let l = log.clone();
    let (step, ws) = stepped(
        &log,
        SinkFn::new().write(move |_, _: &Ctl| {
            if l.len() == 1 {
                Completion::future(async { Ok(()) })
            } else {
                rejected(&e)
            }
        }),
    );
    let writer = ws.get_writer().unwrap();
    drop(writer.write("a"));
    let ready = writer.ready();
    assert_pending(&ready);
    let write2 = writer.write("b");
    step.run();
    assert_rejected_with(&write2, &e1);
    // The queue was full after the first write, so the pending ready promise was rejected rather
    // than replaced.
    assert_rejected_with(&ready, &e1);
    assert_rejected_with(&writer.ready(), &e1);
    log.assert(&["write a", "write b"]);
}

#[test]
fn a_throwing_abort_rejects_abort_while_closed_keeps_the_abort_reason() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = stepped(
        &Log::new(),
        SinkFn::new().abort(move |_| Completion::err(e.clone())),
    );
    let writer = ws.get_writer().unwrap();
    let reason = error("different string");
    let abort = writer.abort(reason.clone());
    step.run();
    assert_rejected_with(&abort, &e1);
    assert_rejected_with(&writer.closed(), &reason);
}

#[test]
fn a_panicking_sink_write_with_queued_writes_fails_them_all_with_the_panic() {
    let log = Log::new();
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        recording(
            &log,
            SinkFn::new().write(|chunk: &'static str, _| {
                if chunk == "boom" {
                    panic!("bad chunk")
                }
            }),
        ),
        QueuingStrategy::count(10.0),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    let ok = writer.write("fine");
    let boom = writer.write("boom");
    let after = writer.write("after");
    let close = writer.close();
    step.run();
    assert_fulfilled(&ok);
    let e = assert_rejected_kind(&boom, ErrorKind::Panic);
    assert_eq!(e.message(), "bad chunk");
    assert_rejected_with(&after, &e);
    assert_rejected_with(&close, &e);
    assert_rejected_with(&writer.closed(), &e);
    log.assert(&["write fine", "write boom"]);
}

#[test]
fn a_panicking_abort_future_rejects_abort() {
    run(async {
        let ws = WritableStream::new(
            SinkFn::<u8>::new().abort(|_| Completion::future(async { panic!("abort future exploded") })),
        )
        .unwrap();
        let reason = error("reason");
        let e = ws.abort(reason.clone()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        let writer = ws.get_writer().unwrap();
        assert_same(&writer.closed().await.unwrap_err(), &reason);
    });
}

#[test]
fn a_panicking_close_future_errors_the_stream() {
    run(async {
        let ws = WritableStream::new(
            SinkFn::<u8>::new().close(|| Completion::future(async { panic!("late close") })),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        let e = writer.close().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "late close");
        assert_same(&writer.closed().await.unwrap_err(), &e);
    });
}
