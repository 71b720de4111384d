//! Ported from WPT `streams/writable-streams/error.any.js`: `controller.error()` errors a writable
//! stream once, and is a harmless no-op on a stream that is erroring, errored or closed.

use crate::common;
use crate::writable_support;

use std::sync::Arc;

use common::{run, Log};
use sluicegate::strategy::QueuingStrategy;
use sluicegate::writable::{SinkFn, WritableStream, WritableStreamDefaultController};
use sluicegate::{ErrorKind, StreamError};
use writable_support::*;

type Ctl = WritableStreamDefaultController<&'static str>;

/// A stream on a step host whose controller is kept in the returned slot.
fn with_controller() -> (Arc<StepHost>, WritableStream<&'static str>, Ctl) {
    let step = StepHost::new();
    let ctl = slot::<Ctl>();
    let c = ctl.clone();
    let ws = WritableStream::with_host(
        SinkFn::new().start(move |controller: &Ctl| *c.lock().unwrap() = Some(controller.clone())),
        QueuingStrategy::new(),
        step.host(),
    )
    .unwrap();
    let controller = take(&ctl, "controller");
    (step, ws, controller)
}

#[test]
fn controller_error_errors_the_stream() {
    run(async {
        let e1 = error("error1");
        let e = e1.clone();
        let ws = WritableStream::new(SinkFn::<u8>::new().start(move |c| c.error(e.clone()))).unwrap();
        assert_same(&ws.get_writer().unwrap().closed().await.unwrap_err(), &e1);
    });
}

#[test]
fn controller_error_on_an_erroring_stream_is_a_no_op() {
    let (step, ws, controller) = with_controller();
    let abort = ws.abort(StreamError::undefined());
    controller.error(error("error1"));
    step.run();
    assert_fulfilled(&abort);
    let writer = ws.get_writer().unwrap();
    // The abort's (undefined) reason is the stored error, not error1.
    assert_rejected_kind(&writer.closed(), ErrorKind::Undefined);
}

#[test]
fn surplus_controller_errors_are_no_ops_and_the_first_wins() {
    let (step, ws, controller) = with_controller();
    let e1 = error("error1");
    controller.error(e1.clone());
    controller.error(error("error2"));
    let writer = ws.get_writer().unwrap();
    step.run();
    assert_rejected_with(&writer.closed(), &e1);
}

#[test]
fn controller_error_on_an_errored_stream_is_a_no_op() {
    let (step, ws, controller) = with_controller();
    let abort = ws.abort(StreamError::undefined());
    step.run();
    assert_fulfilled(&abort);
    controller.error(error("error1"));
    let writer = ws.get_writer().unwrap();
    assert_rejected_kind(&writer.closed(), ErrorKind::Undefined);
}

#[test]
fn controller_error_on_a_closed_stream_is_a_no_op() {
    let (step, ws, controller) = with_controller();
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    step.run();
    assert_fulfilled(&close);
    controller.error(error("error1"));
    assert_fulfilled(&writer.closed());
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
}

#[test]
fn controller_error_rejects_a_pending_ready_promise_at_once() {
    let (step, ws, controller) = with_controller();
    let writer = ws.get_writer().unwrap();
    step.run();
    // Fill the queue so that `ready` is pending, with the write still queued (start has run, so it
    // is in flight; a second write waits behind it).
    let write = writer.write("a");
    let ready = writer.ready();
    let e1 = error("error1");
    controller.error(e1.clone());
    assert_rejected_with(&ready, &e1);
    assert_eq!(writer.desired_size().unwrap(), None);
    step.run();
    // The write that was in flight when the stream errored still succeeds.
    assert_fulfilled(&write);
    assert_rejected_with(&writer.closed(), &e1);
}

#[test]
fn controller_error_after_the_stream_is_dropped_is_harmless() {
    let (_step, ws, controller) = with_controller();
    drop(ws);
    controller.error(error("late"));
    assert!(!controller.signal().aborted());
}

#[test]
fn dropping_the_stream_drops_the_sink() {
    struct Tracked(Log);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.push("dropped");
        }
    }
    let log = Log::new();
    let tracked = Tracked(log.clone());
    let ws = WritableStream::new(SinkFn::<u8>::new().write(move |_, _| {
        let _keep = &tracked;
    }))
    .unwrap();
    let writer = ws.get_writer().unwrap();
    common::flush(ws.host());
    log.assert(&[]);
    drop(writer);
    drop(ws);
    log.assert(&["dropped"]);
}

#[test]
fn erroring_drops_the_sink_once_nothing_is_in_flight() {
    struct Tracked(Log);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.push("sink dropped");
        }
    }
    // A sink is released when the controller's algorithms are cleared: here, on error.
    let log = Log::new();
    let tracked = Tracked(log.clone());
    let step = StepHost::new();
    let ctl = slot::<Ctl>();
    let c = ctl.clone();
    let ws = WritableStream::with_host(
        SinkFn::new()
            .start(move |controller: &Ctl| *c.lock().unwrap() = Some(controller.clone()))
            .close(move || {
                let _keep = &tracked;
            }),
        QueuingStrategy::new(),
        step.host(),
    )
    .unwrap();
    get(&ctl, "controller").error(error("error1"));
    log.assert(&["sink dropped"]);
    step.run();
    drop(ws);
}
