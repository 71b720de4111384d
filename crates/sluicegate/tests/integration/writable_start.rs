//! Ported from WPT `streams/writable-streams/start.any.js`: nothing reaches the sink before
//! `start` succeeds; a failing `start` fails construction (thrown) or errors the stream
//! (rejected); `controller.error()` during start.

use crate::common;
use crate::writable_support;

use std::sync::Arc;

use common::{run, Calls, Log};
use sluicegate::strategy::QueuingStrategy;
use sluicegate::writable::{SinkFn, WritableStream, WritableStreamDefaultController};
use sluicegate::{Completion, ErrorKind, StreamError};
use writable_support::*;

type Ctl = WritableStreamDefaultController<&'static str>;

fn stepped(log: &Log, extras: SinkFn<&'static str>) -> (Arc<StepHost>, WritableStream<&'static str>) {
    let step = StepHost::new();
    let ws = WritableStream::with_host(recording(log, extras), QueuingStrategy::new(), step.host()).unwrap();
    (step, ws)
}

fn slow_start(starts: &Resolvers) -> SinkFn<&'static str> {
    let s = starts.clone();
    SinkFn::new().start(move |_: &Ctl| s.completion())
}

#[test]
fn the_sink_write_waits_for_start() {
    let log = Log::new();
    let starts = Resolvers::new();
    let (step, ws) = stepped(&log, slow_start(&starts));
    let writer = ws.get_writer().unwrap();
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    drop(writer.write("a"));
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    step.run();
    log.assert(&[]);
    starts.resolve();
    step.run();
    assert_fulfilled(&writer.ready());
    log.assert(&["write a"]);
}

#[test]
fn the_sink_close_waits_for_start() {
    let log = Log::new();
    let starts = Resolvers::new();
    let (step, ws) = stepped(&log, slow_start(&starts));
    let writer = ws.get_writer().unwrap();
    drop(writer.close());
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    step.run();
    log.assert(&[]);
    starts.resolve();
    step.run();
    assert_fulfilled(&writer.closed());
    log.assert(&["close"]);
}

#[test]
fn a_throwing_start_fails_construction_and_nothing_else_is_called() {
    let passed = error("horrible things");
    let p = passed.clone();
    let (writes, closes) = (Calls::new(), Calls::new());
    let (w, c) = (writes.clone(), closes.clone());
    let got = WritableStream::<u8>::new(
        SinkFn::new()
            .start(move |_| Completion::err(p.clone()))
            .write(move |_, _| w.hit())
            .close(move || c.hit()),
    )
    .unwrap_err();
    assert_same(&got, &passed);
    writes.assert_exactly(0);
    closes.assert_exactly(0);
}

#[test]
fn a_rejected_start_invokes_neither_write_nor_close() {
    let log = Log::new();
    let (step, ws) = stepped(
        &log,
        SinkFn::new().start(|_: &Ctl| rejected(&StreamError::undefined())),
    );
    let writer = ws.get_writer().unwrap();
    let write = writer.write("a");
    let close = writer.close();
    step.run();
    log.assert(&[]);
    assert_rejected_kind(&write, ErrorKind::Undefined);
    assert_rejected_kind(&close, ErrorKind::Undefined);
}

#[test]
fn a_start_that_fails_later_errors_the_stream() {
    run(async {
        let e1 = error("error1");
        let e = e1.clone();
        let ws = WritableStream::new(SinkFn::<u8>::new().start(move |_| {
            let e = e.clone();
            Completion::future(async move {
                common::sleep(5).await;
                Err(e)
            })
        }))
        .unwrap();
        let writer = ws.get_writer().unwrap();
        assert_same(&writer.closed().await.unwrap_err(), &e1);
        assert_eq!(common::now(), 5);
    });
}

#[test]
fn controller_error_during_start_fails_writes() {
    let log = Log::new();
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = stepped(&log, SinkFn::new().start(move |c: &Ctl| c.error(e.clone())));
    let write = ws.get_writer().unwrap().write("a");
    step.run();
    assert_rejected_with(&write, &e1);
    log.assert(&[]);
}

#[test]
fn controller_error_during_an_async_start_fails_existing_writes_and_close() {
    let log = Log::new();
    let starts = Resolvers::new();
    let ctl = slot::<Ctl>();
    let (s, c) = (starts.clone(), ctl.clone());
    let (step, ws) = stepped(
        &log,
        SinkFn::new().start(move |controller: &Ctl| {
            *c.lock().unwrap() = Some(controller.clone());
            s.completion()
        }),
    );
    let writer = ws.get_writer().unwrap();
    let write = writer.write("a");
    let close = writer.close();
    let e1 = error("error1");
    get(&ctl, "controller").error(e1.clone());
    starts.resolve();
    step.run();
    assert_rejected_with(&write, &e1);
    assert_rejected_with(&close, &e1);
    log.assert(&[]);
}

#[test]
fn a_rejected_start_rejects_ready_write_and_closed_in_standard_order() {
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        SinkFn::<&str>::new().start(|_| rejected(&StreamError::undefined())),
        QueuingStrategy::count(0.0),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    let order = Log::new();
    watch(&order, "ready", writer.ready());
    watch(&order, "closed", writer.closed());
    watch(&order, "write", writer.write("x"));
    step.run();
    order.assert(&["ready undefined", "write undefined", "closed undefined"]);
}

#[test]
fn a_panicking_start_fails_construction() {
    let got = WritableStream::<u8>::new(SinkFn::new().start(|_| -> Completion { panic!("start exploded") }))
        .unwrap_err();
    assert_eq!(got.kind(), ErrorKind::Panic);
    assert_eq!(got.message(), "start exploded");
}

#[test]
fn a_panicking_start_future_errors_the_stream() {
    run(async {
        let ws = WritableStream::new(
            SinkFn::<u8>::new().start(|_| Completion::future(async { panic!("start future exploded") })),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        let e = writer.write(1).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_same(&writer.closed().await.unwrap_err(), &e);
    });
}

#[test]
fn start_gets_a_controller_whose_signal_is_not_aborted() {
    let aborted = Arc::new(std::sync::Mutex::new(None));
    let a = aborted.clone();
    let _ws = WritableStream::<u8>::new(SinkFn::new().start(move |c| {
        *a.lock().unwrap() = Some(c.signal().aborted());
    }))
    .unwrap();
    assert_eq!(*aborted.lock().unwrap(), Some(false));
}

#[test]
fn initial_backpressure_follows_the_high_water_mark() {
    let step = StepHost::new();
    let zero =
        WritableStream::with_host(SinkFn::<u8>::new(), QueuingStrategy::count(0.0), step.host()).unwrap();
    let writer = zero.get_writer().unwrap();
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    assert_pending(&writer.ready());
    step.run();
    // Still no room: with a high-water mark of 0 the ready promise waits for a write to finish.
    assert_pending(&writer.ready());

    let one =
        WritableStream::with_host(SinkFn::<u8>::new(), QueuingStrategy::count(1.0), step.host()).unwrap();
    assert_fulfilled(&one.get_writer().unwrap().ready());
}
