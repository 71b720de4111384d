//! Ported from WPT `streams/writable-streams/close.any.js`: closing with writes queued or in
//! flight, errors during close, the ready promise, releasing during close, and the order in which
//! close, abort and closed settle.

use crate::common;
use crate::writable_support;

use std::sync::Arc;

use common::{run, Log};
use sluicegate::strategy::{ByteLengthQueuingStrategy, QueuingStrategy};
use sluicegate::writable::{SinkFn, WritableStream, WritableStreamDefaultController};
use sluicegate::{Completion, ErrorKind, StreamError};
use writable_support::*;

type Ctl = WritableStreamDefaultController<&'static str>;

fn stepped(log: &Log, extras: SinkFn<&'static str>) -> (Arc<StepHost>, WritableStream<&'static str>) {
    let step = StepHost::new();
    let ws = WritableStream::with_host(recording(log, extras), QueuingStrategy::new(), step.host()).unwrap();
    (step, ws)
}

fn keep_controller(ctl: &Slot<Ctl>) -> SinkFn<&'static str> {
    let c = ctl.clone();
    SinkFn::new().start(move |controller: &Ctl| *c.lock().unwrap() = Some(controller.clone()))
}

#[test]
fn close_fulfills_once_the_sink_closed() {
    let log = Log::new();
    let (step, ws) = stepped(&log, SinkFn::new());
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    assert_pending(&close);
    step.run();
    assert_fulfilled(&close);
    assert_fulfilled(&writer.closed());
    log.assert(&["close"]);
}

#[test]
fn an_error_from_the_sink_while_its_close_is_in_flight_does_not_error_the_stream() {
    let ctl = slot();
    let closes = Resolvers::new();
    let c = closes.clone();
    let (step, ws) = stepped(&Log::new(), keep_controller(&ctl).close(move || c.completion()));
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    step.run();
    get(&ctl, "controller").error(error("error1"));
    step.run();
    closes.resolve();
    step.run();
    assert_fulfilled(&close);
    assert_fulfilled(&writer.closed());
}

#[test]
fn an_error_from_the_sink_inside_its_close_does_not_error_the_stream() {
    let ctl = slot::<Ctl>();
    let c = ctl.clone();
    let (step, ws) = stepped(
        &Log::new(),
        keep_controller(&ctl).close(move || get(&c, "controller").error(error("error me"))),
    );
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    step.run();
    assert_fulfilled(&close);
    assert_fulfilled(&writer.closed());
}

#[test]
fn a_close_requested_while_a_write_is_in_flight_errors_the_stream_when_the_sink_close_fails() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = stepped(
        &Log::new(),
        SinkFn::new().close(move || Completion::err(e.clone())),
    );
    let writer = ws.get_writer().unwrap();
    let write = writer.write("y");
    let close = writer.close();
    step.run();
    assert_fulfilled(&write);
    assert_rejected_with(&close, &e1);
    assert_rejected_with(&writer.closed(), &e1);
}

#[test]
fn release_lock_with_a_pending_write_on_an_errored_stream() {
    let (step, ws) = stepped(
        &Log::new(),
        SinkFn::new().write(|_, c: &Ctl| {
            c.error(error("error1"));
            never()
        }),
    );
    let writer = ws.get_writer().unwrap();
    let write = writer.write("a");
    step.run();
    writer.release_lock();
    assert!(!ws.locked());
    assert_pending(&write);
}

#[test]
fn release_lock_with_a_pending_close_after_controller_error() {
    let ctl = slot::<Ctl>();
    let c = ctl.clone();
    let (step, ws) = stepped(
        &Log::new(),
        keep_controller(&ctl).close(move || {
            get(&c, "controller").error(error("error1"));
            never()
        }),
    );
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    step.run();
    writer.release_lock();
    assert!(!ws.locked());
    assert_pending(&close);
}

#[test]
fn closing_a_writable_stream_leaves_ready_fulfilled_and_desired_size_unchanged() {
    let log = Log::new();
    let (step, ws) = stepped(&log, SinkFn::new());
    let writer = ws.get_writer().unwrap();
    step.run();
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    drop(writer.close());
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    assert_fulfilled(&writer.ready());
    step.run();
    log.assert(&["close"]);
}

#[test]
fn closing_a_stream_under_backpressure_fulfills_ready() {
    let log = Log::new();
    let (step, ws) = stepped(&log, SinkFn::new().write(|_, _: &Ctl| never()));
    let writer = ws.get_writer().unwrap();
    step.run();
    drop(writer.write("a"));
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    let ready = writer.ready();
    step.run();
    assert_pending(&ready);
    drop(writer.close());
    assert_fulfilled(&ready);
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    log.assert(&["write a"]);
}

#[test]
fn ready_fulfills_at_close_even_if_the_close_takes_long() {
    let log = Log::new();
    let closes = Resolvers::new();
    let c = closes.clone();
    let (step, ws) = stepped(&log, SinkFn::new().close(move || c.completion()));
    let writer = ws.get_writer().unwrap();
    step.run();
    drop(writer.write("a"));
    let close = writer.close();
    assert_fulfilled(&writer.ready());
    step.run();
    assert_pending(&close);
    log.assert(&["write a", "close"]);
    closes.resolve();
    step.run();
    assert_fulfilled(&close);
}

#[test]
fn release_lock_does_not_change_the_result_of_a_sync_close() {
    let (step, ws) = stepped(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    step.run();
    let close = writer.close();
    let closed = writer.closed();
    writer.release_lock();
    step.run();
    assert_fulfilled(&close);
    assert_rejected_kind(&closed, ErrorKind::Type);
}

#[test]
fn release_lock_does_not_change_the_result_of_an_async_close() {
    run(async {
        let ws = WritableStream::new(SinkFn::<u8>::new().close(|| {
            Completion::future(async {
                common::sleep(10).await;
                Ok(())
            })
        }))
        .unwrap();
        let writer = ws.get_writer().unwrap();
        writer.ready().await.unwrap();
        let close = writer.close();
        let closed = writer.closed();
        writer.release_lock();
        close.await.unwrap();
        assert_eq!(closed.await.unwrap_err().kind(), ErrorKind::Type);
    });
}

#[test]
fn close_reaches_closed_even_after_the_writer_detached() {
    let closes = Resolvers::new();
    let c = closes.clone();
    let (step, ws) = stepped(&Log::new(), SinkFn::new().close(move || c.completion()));
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    writer.release_lock();
    step.run();
    closes.resolve();
    step.run();
    assert_fulfilled(&close);
    assert_eq!(ws.get_writer().unwrap().desired_size().unwrap(), Some(0.0));
}

#[test]
fn an_abort_during_a_slow_close_by_a_new_writer_resolves() {
    let closes = Resolvers::new();
    let c = closes.clone();
    let (step, ws) = stepped(&Log::new(), SinkFn::new().close(move || c.completion()));
    let writer = ws.get_writer().unwrap();
    drop(writer.close());
    writer.release_lock();
    step.run();
    let aborting = ws.get_writer().unwrap();
    let abort = aborting.abort(StreamError::undefined());
    aborting.release_lock();
    closes.resolve();
    step.run();
    assert_fulfilled(&abort);
}

#[test]
fn close_settles_before_closed() {
    let (step, ws) = stepped(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    let order = Log::new();
    watch(&order, "closePromise", writer.close());
    watch(&order, "closed", writer.closed());
    step.run();
    order.assert(&["closePromise ok", "closed ok"]);
}

#[test]
fn close_abort_and_closed_settle_in_order_on_an_aborted_closure() {
    let (step, ws) = stepped(&Log::new(), SinkFn::new());
    step.run();
    let writer = ws.get_writer().unwrap();
    let order = Log::new();
    watch(&order, "closePromise", writer.close());
    watch(&order, "abortPromise", writer.abort(error("error1")));
    watch(&order, "closed", writer.closed());
    step.run();
    order.assert(&["closePromise ok", "abortPromise ok", "closed ok"]);
}

#[test]
fn close_abort_and_closed_settle_in_order_on_an_aborted_and_errored_closure() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = stepped(&Log::new(), SinkFn::new().close(move || rejected(&e)));
    step.run();
    let writer = ws.get_writer().unwrap();
    let order = Log::new();
    let e2 = error("error2");
    let close = writer.close();
    let abort = writer.abort(e2.clone());
    watch(&order, "closePromise", close);
    watch(&order, "abortPromise", abort);
    watch(&order, "closed", writer.closed());
    step.run();
    order.assert(&["closePromise error1", "abortPromise error1", "closed error2"]);
    assert_rejected_with(&writer.closed(), &e2);
}

#[test]
fn close_does_not_reject_while_a_sink_method_is_in_flight() {
    let writes = Resolvers::new();
    let ctl = slot::<Ctl>();
    let (w, c) = (writes.clone(), ctl.clone());
    let (step, ws) = stepped(
        &Log::new(),
        SinkFn::new().write(move |_, controller: &Ctl| {
            *c.lock().unwrap() = Some(controller.clone());
            w.completion()
        }),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    let write = writer.write("c");
    let e1 = error("error1");
    get(&ctl, "controller").error(e1.clone());
    let close = writer.close();
    step.run();
    assert_pending(&close);
    writes.resolve();
    step.run();
    assert_fulfilled(&write);
    assert_rejected_with(&close, &e1);
}

#[test]
fn a_writer_on_a_closed_stream_starts_with_ready_fulfilled() {
    run(async {
        let ws = WritableStream::new(SinkFn::<u8>::new()).unwrap();
        let writer1 = ws.get_writer().unwrap();
        writer1.close().await.unwrap();
        writer1.release_lock();
        let writer2 = ws.get_writer().unwrap();
        assert_eq!(writer2.ready().peek().map(|r| r.is_ok()), Some(true));
    });
}

#[test]
fn stream_close_on_an_unlocked_stream_works() {
    run(async {
        let log = Log::new();
        let ws = WritableStream::new(recording::<u8>(&log, SinkFn::new())).unwrap();
        let close = ws.close();
        let writer = ws.get_writer().unwrap();
        writer.closed().await.unwrap();
        close.await.unwrap();
        log.assert(&["close"]);
    });
}

#[test]
fn stream_close_on_a_locked_stream_rejects() {
    let (step, ws) = stepped(&Log::new(), SinkFn::new());
    let _writer = ws.get_writer().unwrap();
    let close = ws.close();
    assert_rejected_kind(&close, ErrorKind::Type);
    step.run();
}

#[test]
fn stream_close_on_an_erroring_stream_rejects_with_the_error() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = stepped(
        &Log::new(),
        SinkFn::new().start(move |c: &Ctl| c.error(e.clone())),
    );
    let close = ws.close();
    step.run();
    assert_rejected_with(&close, &e1);
}

#[test]
fn stream_close_on_an_errored_stream_rejects_with_a_type_error() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = stepped(
        &Log::new(),
        SinkFn::new().start(move |c: &Ctl| c.error(e.clone())),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    assert_rejected_with(&writer.closed(), &e1);
    writer.release_lock();
    assert_rejected_kind(&ws.close(), ErrorKind::Type);
}

#[test]
fn stream_close_on_a_closed_stream_rejects_with_a_type_error() {
    let (step, ws) = stepped(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    drop(writer.close());
    step.run();
    writer.release_lock();
    assert_rejected_kind(&ws.close(), ErrorKind::Type);
}

#[test]
fn stream_close_with_a_close_pending_rejects_with_a_type_error() {
    let (_step, ws) = stepped(&Log::new(), SinkFn::new().close(never));
    let writer = ws.get_writer().unwrap();
    drop(writer.close());
    writer.release_lock();
    assert_rejected_kind(&ws.close(), ErrorKind::Type);
}

#[test]
fn writer_close_twice_rejects_the_second_with_a_type_error() {
    let (step, ws) = stepped(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    let close1 = writer.close();
    let close2 = writer.close();
    assert_rejected_kind(&close2, ErrorKind::Type);
    step.run();
    assert_fulfilled(&close1);
}

#[test]
fn write_on_a_closed_stream_rejects_with_a_type_error() {
    run(async {
        let ws = WritableStream::new(SinkFn::<u8>::new()).unwrap();
        let writer = ws.get_writer().unwrap();
        writer.write(1).await.unwrap();
        writer.close().await.unwrap();
        assert_eq!(writer.write(2).await.unwrap_err().kind(), ErrorKind::Type);
    });
}

#[test]
fn close_on_a_released_writer_rejects_with_a_type_error() {
    let (_step, ws) = stepped(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    writer.release_lock();
    assert_rejected_kind(&writer.close(), ErrorKind::Type);
}

#[test]
fn close_waits_for_writes_in_flight_below_the_high_water_mark() {
    // byte-length-queuing-strategy.any.js
    run(async {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (d1, d2) = (done.clone(), done.clone());
        let ws = WritableStream::with_strategy(
            SinkFn::<Vec<u8>>::new()
                .write(move |_, _| {
                    let d = d1.clone();
                    Completion::future(async move {
                        common::sleep(200).await;
                        d.store(true, std::sync::atomic::Ordering::SeqCst);
                        Ok(())
                    })
                })
                .close(move || {
                    assert!(
                        d2.load(std::sync::atomic::Ordering::SeqCst),
                        "close only after the write"
                    );
                }),
            ByteLengthQueuingStrategy::new(1024.0 * 16.0),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        drop(writer.write(vec![0; 1024]));
        writer.close().await.unwrap();
        assert_eq!(common::now(), 200);
    });
}

#[test]
fn a_panicking_sink_close_errors_the_stream() {
    let (step, ws) = stepped(
        &Log::new(),
        SinkFn::new().close(|| -> Completion { panic!("close exploded") }),
    );
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    step.run();
    let e = assert_rejected_kind(&close, ErrorKind::Panic);
    assert_eq!(e.message(), "close exploded");
    assert_rejected_with(&writer.closed(), &e);
    assert_rejected_with(&writer.ready(), &e);
}

#[test]
fn close_waits_for_every_queued_write() {
    run(async {
        let log = Log::new();
        let ws = WritableStream::with_strategy(
            recording::<u32>(
                &log,
                SinkFn::new().write(|_, _| {
                    Completion::future(async {
                        common::sleep(5).await;
                        Ok(())
                    })
                }),
            ),
            QueuingStrategy::count(10.0),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        let writes: Vec<_> = (1..=3).map(|i| writer.write(i)).collect();
        writer.close().await.unwrap();
        for w in writes {
            assert_eq!(w.peek().map(|r| r.is_ok()), Some(true));
        }
        log.assert(&["write 1", "write 2", "write 3", "close"]);
        assert_eq!(common::now(), 15);
    });
}
