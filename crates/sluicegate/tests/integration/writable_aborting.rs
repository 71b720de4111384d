//! Ported from WPT `streams/writable-streams/aborting.any.js`: abort() before start, during writes
//! and closes, its interaction with controller.error(), the pending abort request, and the
//! controller's abort signal.
//!
//! Most tests run on a [`StepHost`]: `step.run()` is WPT's `flushAsyncEvents()`, and [`watch`]
//! logs promises in the order the core settles them (the order of a JS test's `.then` callbacks).

use crate::common;
use crate::writable_support;

use std::sync::Arc;

use common::{run, Calls, Log};
use sluicegate::strategy::QueuingStrategy;
use sluicegate::writable::{SinkFn, WritableStream, WritableStreamDefaultController};
use sluicegate::{Completion, ErrorKind, StreamError};
use writable_support::*;

type Ctl = WritableStreamDefaultController<&'static str>;

/// A recording stream on a step host.
fn recorded(log: &Log, extras: SinkFn<&'static str>) -> (Arc<StepHost>, WritableStream<&'static str>) {
    recorded_with(log, extras, QueuingStrategy::new())
}

fn recorded_with(
    log: &Log,
    extras: SinkFn<&'static str>,
    strategy: QueuingStrategy<&'static str>,
) -> (Arc<StepHost>, WritableStream<&'static str>) {
    let step = StepHost::new();
    let ws = WritableStream::with_host(recording(log, extras), strategy, step.host()).unwrap();
    (step, ws)
}

/// A sink whose writes wait for `writes` to settle them.
fn deferred_writes(writes: &Resolvers) -> SinkFn<&'static str> {
    let w = writes.clone();
    SinkFn::new().write(move |_, _: &Ctl| w.completion())
}

/// A sink whose close waits for `closes` to settle it, keeping its controller in `ctl`.
fn deferred_close(closes: &Resolvers, ctl: &Slot<Ctl>) -> SinkFn<&'static str> {
    let c = closes.clone();
    let s = ctl.clone();
    SinkFn::new()
        .start(move |c: &Ctl| *s.lock().unwrap() = Some(c.clone()))
        .close(move || c.completion())
}

#[test]
fn aborting_before_start_rejects_the_unsettled_ready_promise_and_the_write() {
    let log = Log::new();
    let (step, ws) = recorded(&log, SinkFn::new());
    let writer = ws.get_writer().unwrap();
    let write = writer.write("a");
    let ready = writer.ready();
    assert_pending(&ready);
    let e1 = error("error1");
    drop(writer.abort(e1.clone()));
    // The pending ready promise itself was rejected (not replaced).
    assert_rejected_with(&ready, &e1);
    assert_rejected_with(&writer.ready(), &e1);
    step.run();
    assert_rejected_with(&write, &e1);
    log.assert(&["abort error1"]);
}

#[test]
fn aborting_replaces_a_fulfilled_ready_promise_with_a_rejected_one() {
    let (step, ws) = recorded(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    drop(writer.write("a"));
    let ready = writer.ready();
    step.run();
    assert_fulfilled(&ready);
    let e1 = error("error1");
    drop(writer.abort(e1.clone()));
    assert_fulfilled(&ready);
    assert_rejected_with(&writer.ready(), &e1);
}

#[test]
fn abort_on_a_released_writer_rejects_with_a_type_error() {
    let (_step, ws) = recorded(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    writer.release_lock();
    assert_rejected_kind(&writer.abort(StreamError::undefined()), ErrorKind::Type);
}

#[test]
fn aborting_immediately_prevents_future_writes() {
    let log = Log::new();
    let (step, ws) = recorded(&log, SinkFn::new());
    step.run();
    let writer = ws.get_writer().unwrap();
    let e1 = error("error1");
    let abort = writer.abort(e1.clone());
    let w1 = writer.write("1");
    let w2 = writer.write("2");
    step.run();
    assert_rejected_with(&w1, &e1);
    assert_rejected_with(&w2, &e1);
    assert_fulfilled(&abort);
    log.assert(&["abort error1"]);
}

#[test]
fn aborting_prevents_further_writes_after_any_in_progress() {
    let log = Log::new();
    let (step, ws) = recorded(&log, SinkFn::new());
    step.run();
    let writer = ws.get_writer().unwrap();
    let e1 = error("error1");
    let w1 = writer.write("1");
    let w2 = writer.write("2");
    let w3 = writer.write("3");
    let abort = writer.abort(e1.clone());
    let w4 = writer.write("4");
    let w5 = writer.write("5");
    // Writes after the abort fail at once; the write in flight and the queued ones do not yet.
    assert_rejected_with(&w4, &e1);
    assert_rejected_with(&w5, &e1);
    assert_pending(&w2);
    step.run();
    assert_fulfilled(&abort);
    assert_fulfilled(&w1);
    assert_rejected_with(&w2, &e1);
    assert_rejected_with(&w3, &e1);
    log.assert(&["write 1", "abort error1"]);
}

#[test]
fn a_failing_sink_abort_rejects_writer_abort_and_closed_keeps_the_reason() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = recorded(
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
fn repeated_writer_aborts_share_one_pending_request() {
    let e1 = error("error1");
    let e = e1.clone();
    let aborts = Calls::new();
    let a = aborts.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().abort(move |_| {
            a.hit();
            Completion::err(e.clone())
        }),
    );
    let writer = ws.get_writer().unwrap();
    let abort1 = writer.abort(StreamError::undefined());
    let abort2 = writer.abort(StreamError::undefined());
    step.run();
    assert_rejected_with(&abort1, &e1);
    assert_rejected_with(&abort2, &e1);
    aborts.assert_exactly(1);
}

#[test]
fn a_failing_sink_abort_rejects_stream_abort() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().abort(move |_| Completion::err(e.clone())),
    );
    let abort = ws.abort(StreamError::undefined());
    step.run();
    assert_rejected_with(&abort, &e1);
}

#[test]
fn a_failing_sink_abort_after_a_write_in_flight_rejects_abort() {
    let e1 = error("error1");
    let e = e1.clone();
    let writes = Resolvers::new();
    let (step, ws) = recorded(
        &Log::new(),
        deferred_writes(&writes).abort(move |_| Completion::err(e.clone())),
    );
    let writer = ws.get_writer().unwrap();
    drop(writer.write("a"));
    step.run();
    let abort = writer.abort(StreamError::undefined());
    writes.resolve();
    step.run();
    assert_rejected_with(&abort, &e1);
}

#[test]
fn aborting_passes_the_very_reason_to_the_sink() {
    let got = slot::<StreamError>();
    let g = got.clone();
    let log = Log::new();
    let (step, ws) = recorded(&log, SinkFn::new().abort(move |r| *g.lock().unwrap() = Some(r)));
    let writer = ws.get_writer().unwrap();
    let e1 = error("error1");
    let abort = writer.abort(e1.clone());
    step.run();
    assert_fulfilled(&abort);
    log.assert(&["abort error1"]);
    assert_same(&take(&got, "abort reason"), &e1);
}

#[test]
fn aborting_errors_the_stream_with_the_reason_and_ready_rejects_before_closed() {
    let (step, ws) = recorded(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    let e1 = error("error1");
    let abort = writer.abort(e1.clone());
    let order = Log::new();
    watch(&order, "ready", writer.ready());
    watch(&order, "closed", writer.closed());
    let write = writer.write("x");
    let close = writer.close();
    step.run();
    assert_fulfilled(&abort);
    assert_rejected_with(&write, &e1);
    assert_rejected_with(&close, &e1);
    assert_rejected_with(&writer.ready(), &e1);
    assert_rejected_with(&writer.closed(), &e1);
    order.assert(&["ready error1", "closed error1"]);
}

#[test]
fn aborting_rejects_outstanding_writes_with_the_reason() {
    let (step, ws) = recorded(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    let write = writer.write("a");
    let e1 = error("error1");
    drop(writer.abort(e1.clone()));
    step.run();
    assert_rejected_with(&write, &e1);
}

#[test]
fn closing_then_immediately_aborting_errors_the_stream() {
    let log = Log::new();
    let (step, ws) = recorded(&log, SinkFn::new());
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    let e1 = error("error1");
    let abort = writer.abort(e1.clone());
    step.run();
    assert_rejected_with(&writer.closed(), &e1);
    assert_rejected_with(&close, &e1);
    assert_fulfilled(&abort);
    log.assert(&["abort error1"]);
}

#[test]
fn aborting_while_the_sink_closes_is_ignored() {
    let closes = Resolvers::new();
    let ctl = slot();
    let (step, ws) = recorded(&Log::new(), deferred_close(&closes, &ctl));
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    step.run();
    let abort = writer.abort(error("error1"));
    closes.resolve();
    step.run();
    assert_fulfilled(&writer.closed());
    assert_fulfilled(&abort);
    assert_fulfilled(&close);
}

#[test]
fn aborting_a_closed_stream_is_a_no_op() {
    let (step, ws) = recorded(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    drop(writer.close());
    step.run();
    let abort = writer.abort(StreamError::undefined());
    assert_fulfilled(&abort);
    assert_fulfilled(&writer.closed());
}

#[test]
fn closed_does_not_settle_before_a_fulfilled_write() {
    let writes = Resolvers::new();
    let (step, ws) = recorded(&Log::new(), deferred_writes(&writes));
    let writer = ws.get_writer().unwrap();
    step.run();
    let order = Log::new();
    watch(&order, "write", writer.write("a"));
    drop(writer.abort(error("error1")));
    watch(&order, "closed", writer.closed());
    writes.resolve();
    step.run();
    order.assert(&["write ok", "closed error1"]);
}

#[test]
fn closed_does_not_settle_before_a_rejected_write_whose_error_does_not_replace_the_abort_reason() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().write(move |_, _: &Ctl| Completion::err(e.clone())),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    let order = Log::new();
    let write = writer.write("a");
    let abort = writer.abort(error("error2"));
    watch(&order, "write", write);
    watch(&order, "abort", abort);
    watch(&order, "closed", writer.closed());
    step.run();
    order.assert(&["write error1", "abort ok", "closed error2"]);
}

#[test]
fn writes_are_settled_in_order_when_aborting() {
    let writes = Resolvers::new();
    let (step, ws) = recorded_with(&Log::new(), deferred_writes(&writes), QueuingStrategy::count(4.0));
    let writer = ws.get_writer().unwrap();
    step.run();
    let order = Log::new();
    watch(&order, "1", writer.write("1"));
    watch(&order, "2", writer.write("2"));
    watch(&order, "3", writer.write("3"));
    watch(&order, "abort", writer.abort(error("error1")));
    writes.resolve();
    step.run();
    order.assert(&["1 ok", "2 error1", "3 error1", "abort ok"]);
}

#[test]
fn writes_are_settled_in_order_after_a_rejected_write_when_aborting() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = recorded_with(
        &Log::new(),
        SinkFn::new().write(move |_, _: &Ctl| Completion::err(e.clone())),
        QueuingStrategy::count(4.0),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    let order = Log::new();
    watch(&order, "1", writer.write("1"));
    watch(&order, "2", writer.write("2"));
    watch(&order, "3", writer.write("3"));
    watch(&order, "abort", writer.abort(error("error2")));
    step.run();
    order.assert(&["1 error1", "2 error2", "3 error2", "abort ok"]);
}

#[test]
fn close_rejects_with_the_abort_reason_when_abort_is_the_first_error() {
    let e1 = error("error1");
    let e2 = error("error2");
    let e = e1.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().write(move |_, _: &Ctl| Completion::err(e.clone())),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    let write = writer.write("a");
    let close = writer.close();
    let abort = writer.abort(e2.clone());
    step.run();
    assert_rejected_with(&write, &e1);
    assert_rejected_with(&close, &e2);
    assert_fulfilled(&abort);
}

#[test]
fn the_sink_abort_waits_for_the_write_in_flight() {
    let log = Log::new();
    let writes = Resolvers::new();
    let (step, ws) = recorded(&log, deferred_writes(&writes));
    let writer = ws.get_writer().unwrap();
    step.run();
    drop(writer.write("a"));
    let abort = writer.abort(error("b"));
    step.run();
    log.assert(&["write a"]);
    writes.resolve();
    step.run();
    assert_fulfilled(&abort);
    log.assert(&["write a", "abort b"]);
}

#[test]
fn the_sink_abort_is_not_called_once_close_has_started() {
    let log = Log::new();
    let closes = Resolvers::new();
    let (step, ws) = recorded(&log, deferred_close(&closes, &slot()));
    let writer = ws.get_writer().unwrap();
    step.run();
    drop(writer.close());
    let abort = writer.abort(StreamError::undefined());
    step.run();
    log.assert(&["close"]);
    closes.resolve();
    step.run();
    assert_fulfilled(&abort);
    log.assert(&["close"]);
}

#[test]
fn a_started_close_that_rejects_rejects_both_close_and_abort_with_its_reason() {
    let log = Log::new();
    let closes = Resolvers::new();
    let (step, ws) = recorded(&log, deferred_close(&closes, &slot()));
    let writer = ws.get_writer().unwrap();
    step.run();
    let close = writer.close();
    let abort = writer.abort(StreamError::undefined());
    step.run();
    let e1 = error("error1");
    closes.reject(&e1);
    step.run();
    assert_rejected_with(&abort, &e1);
    assert_rejected_with(&close, &e1);
    log.assert(&["close"]);
}

#[test]
fn an_abort_during_a_write_calls_the_sink_abort_even_with_a_close_queued() {
    let log = Log::new();
    let writes = Resolvers::new();
    let (step, ws) = recorded(&log, deferred_writes(&writes));
    let writer = ws.get_writer().unwrap();
    step.run();
    drop(writer.write("a"));
    let close = writer.close();
    let e1 = error("error1");
    let abort = writer.abort(e1.clone());
    step.run();
    log.assert(&["write a"]);
    writes.resolve();
    step.run();
    assert_fulfilled(&abort);
    log.assert(&["write a", "abort error1"]);
    assert_rejected_with(&close, &e1);
}

#[test]
fn a_new_writer_on_a_stream_with_a_pending_abort_has_a_rejected_ready_promise() {
    let (step, ws) = recorded(&Log::new(), SinkFn::new().write(|_, _: &Ctl| never()));
    let writer = ws.get_writer().unwrap();
    step.run();
    drop(writer.write("a"));
    let e1 = error("error1");
    drop(writer.abort(e1.clone()));
    writer.release_lock();
    let writer2 = ws.get_writer().unwrap();
    assert_rejected_with(&writer2.ready(), &e1);
}

#[test]
fn writer_close_resolves_before_abort() {
    let (step, ws) = recorded(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    step.run();
    let order = Log::new();
    watch(&order, "close", writer.close());
    watch(&order, "abort", writer.abort(StreamError::undefined()));
    step.run();
    order.assert(&["close ok", "abort ok"]);
}

#[test]
fn ready_rejects_on_controller_error_without_waiting_for_the_write() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().write(move |_, c: &Ctl| {
            c.error(e.clone());
            never()
        }),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    drop(writer.write("a"));
    assert_rejected_with(&writer.ready(), &e1);
}

#[test]
fn abort_during_an_in_flight_write_that_then_rejects() {
    let writes = Resolvers::new();
    let (step, ws) = recorded(&Log::new(), deferred_writes(&writes));
    let writer = ws.get_writer().unwrap();
    let events = Log::new();
    watch(&events, "closed", writer.closed());
    step.run();

    let e1 = error("error1");
    let e2 = error("error2");
    watch(&events, "write", writer.write("a"));
    watch(&events, "abort", writer.abort(e1.clone()));
    let write2 = writer.write("a");
    step.run();
    assert_rejected_with(&write2, &e1);
    assert_rejected_with(&writer.ready(), &e1);
    events.assert(&[]);

    writes.reject(&e2);
    step.run();
    events.assert(&["write error2", "abort ok", "closed error1"]);

    assert_rejected_with(&writer.write("a"), &e1);
    assert_rejected_with(&writer.ready(), &e1);

    writer.release_lock();
    assert_rejected_kind(&writer.ready(), ErrorKind::Type);
    assert_rejected_kind(&writer.closed(), ErrorKind::Type);
}

#[test]
fn abort_then_controller_error_during_an_in_flight_write_that_then_succeeds() {
    let writes = Resolvers::new();
    let ctl = slot::<Ctl>();
    let w = writes.clone();
    let c2 = ctl.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().write(move |_, c: &Ctl| {
            *c2.lock().unwrap() = Some(c.clone());
            w.completion()
        }),
    );
    let writer = ws.get_writer().unwrap();
    let events = Log::new();
    watch(&events, "closed", writer.closed());
    step.run();

    let e1 = error("error1");
    let e2 = error("error2");
    watch(&events, "write", writer.write("a"));
    watch(&events, "abort", writer.abort(e1.clone()));
    assert_rejected_with(&writer.write("a"), &e1);
    assert_rejected_with(&writer.ready(), &e1);
    step.run();
    events.assert(&[]);

    // Too late to change anything: abort() already made the stream erroring.
    get(&ctl, "controller").error(e2.clone());
    assert_rejected_with(&writer.write("a"), &e1);
    assert_rejected_with(&writer.ready(), &e1);
    step.run();
    events.assert(&[]);

    writes.resolve();
    step.run();
    events.assert(&["write ok", "abort ok", "closed error1"]);
    assert_rejected_with(&writer.write("a"), &e1);
    assert_rejected_with(&writer.ready(), &e1);

    writer.release_lock();
    assert_rejected_kind(&writer.ready(), ErrorKind::Type);
    assert_rejected_kind(&writer.closed(), ErrorKind::Type);
}

#[test]
fn abort_then_controller_error_during_an_in_flight_close_that_then_succeeds() {
    let closes = Resolvers::new();
    let ctl = slot::<Ctl>();
    let (step, ws) = recorded(&Log::new(), deferred_close(&closes, &ctl));
    let writer = ws.get_writer().unwrap();
    let events = Log::new();
    watch(&events, "closed", writer.closed());
    step.run();

    let e1 = error("error1");
    watch(&events, "close", writer.close());
    watch(&events, "abort", writer.abort(e1.clone()));
    assert_rejected_kind(&writer.close(), ErrorKind::Type);
    assert_rejected_with(&writer.ready(), &e1);
    step.run();
    events.assert(&[]);

    get(&ctl, "controller").error(error("error2"));
    assert_rejected_kind(&writer.close(), ErrorKind::Type);
    assert_rejected_with(&writer.ready(), &e1);
    step.run();
    events.assert(&[]);

    closes.resolve();
    step.run();
    events.assert(&["close ok", "abort ok", "closed ok"]);
    assert_rejected_kind(&writer.close(), ErrorKind::Type);
    assert_rejected_with(&writer.ready(), &e1);

    writer.release_lock();
    assert_rejected_kind(&writer.close(), ErrorKind::Type);
    assert_rejected_kind(&writer.ready(), ErrorKind::Type);
    assert_rejected_kind(&writer.closed(), ErrorKind::Type);
}

#[test]
fn controller_error_then_abort_during_an_in_flight_write_that_then_succeeds() {
    let log = Log::new();
    let writes = Resolvers::new();
    let ctl = slot::<Ctl>();
    let w = writes.clone();
    let c2 = ctl.clone();
    let (step, ws) = recorded(
        &log,
        SinkFn::new().write(move |_, c: &Ctl| {
            *c2.lock().unwrap() = Some(c.clone());
            w.completion()
        }),
    );
    let writer = ws.get_writer().unwrap();
    let events = Log::new();
    watch(&events, "closed", writer.closed());
    step.run();

    let e2 = error("error2");
    watch(&events, "write", writer.write("a"));
    get(&ctl, "controller").error(e2.clone());
    assert_rejected_with(&writer.write("a"), &e2);
    assert_rejected_with(&writer.ready(), &e2);
    step.run();
    events.assert(&[]);

    watch(&events, "abort", writer.abort(error("error1")));
    assert_rejected_with(&writer.write("a"), &e2);
    step.run();
    events.assert(&[]);

    writes.resolve();
    step.run();
    events.assert(&["write ok", "abort error2", "closed error2"]);
    log.assert(&["write a"]);
    assert_rejected_with(&writer.write("a"), &e2);
    assert_rejected_with(&writer.ready(), &e2);

    writer.release_lock();
    assert_rejected_kind(&writer.ready(), ErrorKind::Type);
    assert_rejected_kind(&writer.closed(), ErrorKind::Type);
}

#[test]
fn controller_error_then_abort_during_an_in_flight_close_that_then_succeeds() {
    let closes = Resolvers::new();
    let ctl = slot::<Ctl>();
    let (step, ws) = recorded(&Log::new(), deferred_close(&closes, &ctl));
    let writer = ws.get_writer().unwrap();
    let events = Log::new();
    watch(&events, "closed", writer.closed());
    step.run();

    let e2 = error("error2");
    watch(&events, "close", writer.close());
    get(&ctl, "controller").error(e2.clone());
    step.run();
    events.assert(&[]);

    watch(&events, "abort", writer.abort(error("error1")));
    assert_rejected_with(&writer.ready(), &e2);
    step.run();
    events.assert(&[]);

    // The close succeeds, and that wins over the erroring: the stream ends closed.
    closes.resolve();
    step.run();
    events.assert(&["close ok", "abort ok", "closed ok"]);
    assert_rejected_with(&writer.ready(), &e2);

    writer.release_lock();
    assert_rejected_kind(&writer.ready(), ErrorKind::Type);
    assert_rejected_kind(&writer.closed(), ErrorKind::Type);
}

#[test]
fn release_lock_while_aborting_rejects_the_original_closed_promise() {
    let writes = Resolvers::new();
    let (step, ws) = recorded(&Log::new(), deferred_writes(&writes));
    let writer = ws.get_writer().unwrap();
    step.run();
    let write = writer.write("a");
    let closed = writer.closed();
    let abort = writer.abort(StreamError::undefined());
    writer.release_lock();
    writes.resolve();
    step.run();
    assert_fulfilled(&write);
    assert_fulfilled(&abort);
    assert_rejected_kind(&closed, ErrorKind::Type);
}

#[test]
fn release_lock_during_a_slow_sink_abort_rejects_closed() {
    let writes = Resolvers::new();
    let aborts = Resolvers::new();
    let a = aborts.clone();
    let (step, ws) = recorded(
        &Log::new(),
        deferred_writes(&writes).abort(move |_| a.completion()),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    let write = writer.write("a");
    let closed = writer.closed();
    let abort = writer.abort(StreamError::undefined());
    writes.resolve();
    step.run();
    assert_eq!(aborts.len(), 1, "the sink's abort has started");
    writer.release_lock();
    let e = assert_rejected_kind(&closed, ErrorKind::Type);
    // The closed promise was rejected in place, not replaced.
    assert_rejected_with(&writer.closed(), &e);
    aborts.resolve();
    step.run();
    assert_fulfilled(&write);
    assert_fulfilled(&abort);
}

#[test]
fn the_sink_abort_waits_for_start() {
    let log = Log::new();
    let starts = Resolvers::new();
    let s = starts.clone();
    let (step, ws) = recorded(&log, SinkFn::new().start(move |_: &Ctl| s.completion()));
    let abort = ws.abort(error("done"));
    step.run();
    log.assert(&[]);
    starts.resolve();
    step.run();
    assert_fulfilled(&abort);
    log.assert(&["abort done"]);
}

#[test]
fn a_start_that_errors_the_controller_after_abort_loses() {
    let log = Log::new();
    let starts = Resolvers::new();
    let ctl = slot::<Ctl>();
    let (s, c2) = (starts.clone(), ctl.clone());
    let (step, ws) = recorded(
        &log,
        SinkFn::new().start(move |c: &Ctl| {
            *c2.lock().unwrap() = Some(c.clone());
            s.completion()
        }),
    );
    let abort = ws.abort(error("done"));
    get(&ctl, "controller").error(error("error1"));
    starts.resolve();
    step.run();
    assert_fulfilled(&abort);
    log.assert(&["abort done"]);
}

#[test]
fn stream_abort_resolves_even_if_start_rejects() {
    let log = Log::new();
    let e1 = error("error1");
    let (step, ws) = recorded(&log, SinkFn::new().start(move |_: &Ctl| rejected(&e1)));
    let abort = ws.abort(error("done"));
    step.run();
    assert_fulfilled(&abort);
    log.assert(&["abort done"]);
}

#[test]
fn abort_during_start_replaces_ready_synchronously() {
    let (_step, ws) = recorded(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    let ready1 = writer.ready();
    let e1 = error("error1");
    drop(writer.abort(e1.clone()));
    assert_fulfilled(&ready1);
    assert_rejected_with(&writer.ready(), &e1);
}

#[test]
fn writer_promises_settle_in_standard_order_when_aborted_during_start() {
    let log = Log::new();
    let (step, ws) = recorded(&log, SinkFn::new());
    let writer = ws.get_writer().unwrap();
    let e1 = error("error1");
    let write1 = writer.write("1");
    let abort = writer.abort(e1.clone());
    let write2 = writer.write("2");
    let close = writer.close();
    let order = Log::new();
    watch(&order, "write1", write1);
    watch(&order, "abort", abort);
    watch(&order, "write2", write2);
    watch(&order, "close", close);
    step.run();
    order.assert(&["write2 error1", "write1 error1", "abort ok", "close error1"]);
    log.assert(&["abort error1"]);
}

#[test]
fn abort_succeeds_despite_a_rejected_write() {
    let writes = Resolvers::new();
    let ctl = slot::<Ctl>();
    let (w, c2) = (writes.clone(), ctl.clone());
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().write(move |_, c: &Ctl| {
            *c2.lock().unwrap() = Some(c.clone());
            w.completion()
        }),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    let write = writer.write("a");
    let abort = writer.abort(StreamError::undefined());
    get(&ctl, "controller").error(error("error1"));
    let e2 = error("error2");
    writes.reject(&e2);
    step.run();
    assert_rejected_with(&write, &e2);
    assert_fulfilled(&abort);
}

#[test]
fn abort_is_rejected_with_the_rejection_from_close() {
    let closes = Resolvers::new();
    let ctl = slot::<Ctl>();
    let (step, ws) = recorded(&Log::new(), deferred_close(&closes, &ctl));
    let writer = ws.get_writer().unwrap();
    step.run();
    let close = writer.close();
    let abort = writer.abort(StreamError::undefined());
    get(&ctl, "controller").error(error("error1"));
    let e2 = error("error2");
    closes.reject(&e2);
    step.run();
    assert_rejected_with(&close, &e2);
    assert_rejected_with(&abort, &e2);
}

#[test]
fn a_rejecting_sink_write_does_not_prevent_the_sink_abort() {
    let log = Log::new();
    let writes = Resolvers::new();
    let (step, ws) = recorded(&log, deferred_writes(&writes));
    let writer = ws.get_writer().unwrap();
    step.run();
    let write = writer.write("1");
    let e2 = error("error2");
    let abort = writer.abort(e2.clone());
    let e1 = error("error1");
    writes.reject(&e1);
    step.run();
    assert_rejected_with(&write, &e1);
    assert_fulfilled(&abort);
    assert_rejected_with(&writer.closed(), &e2);
    log.assert(&["write 1", "abort error2"]);
}

#[test]
fn the_sink_abort_is_called_even_when_start_fails_after_abort() {
    let log = Log::new();
    let e1 = error("error1");
    let (step, ws) = recorded(&log, SinkFn::new().start(move |_: &Ctl| rejected(&e1)));
    let abort = ws.abort(error("error2"));
    step.run();
    assert_fulfilled(&abort);
    log.assert(&["abort error2"]);
}

#[test]
fn two_concurrent_stream_aborts_share_a_request_that_fulfills() {
    let log = Log::new();
    let (step, ws) = recorded(&log, SinkFn::new());
    let abort1 = ws.abort(StreamError::undefined());
    let abort2 = ws.abort(StreamError::undefined());
    step.run();
    assert_fulfilled(&abort1);
    assert_fulfilled(&abort2);
    log.assert(&["abort undefined"]);
}

#[test]
fn two_sequential_stream_aborts_both_fulfill() {
    let log = Log::new();
    let (step, ws) = recorded(&log, SinkFn::new());
    let abort1 = ws.abort(StreamError::undefined());
    step.run();
    assert_fulfilled(&abort1);
    let abort2 = ws.abort(StreamError::undefined());
    assert_fulfilled(&abort2);
    log.assert(&["abort undefined"]);
}

#[test]
fn abort_on_an_errored_stream_fulfills() {
    let e1 = error("error1");
    let e = e1.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().start(move |c: &Ctl| c.error(e.clone())),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    assert_rejected_with(&writer.closed(), &e1);
    assert_fulfilled(&writer.abort(StreamError::undefined()));
}

#[test]
fn the_sink_abort_is_not_called_when_controller_error_came_first() {
    let log = Log::new();
    let writes = Resolvers::new();
    let ctl = slot::<Ctl>();
    let c2 = ctl.clone();
    let (step, ws) = recorded(
        &log,
        deferred_writes(&writes).start(move |c: &Ctl| *c2.lock().unwrap() = Some(c.clone())),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    let write = writer.write("chunk");
    let e1 = error("error1");
    get(&ctl, "controller").error(e1.clone());
    let abort = writer.abort(error("error2"));
    writes.resolve();
    step.run();
    assert_fulfilled(&write);
    assert_rejected_with(&abort, &e1);
    log.assert(&["write chunk"]);
}

#[test]
fn the_sink_abort_is_not_called_when_a_bad_chunk_size_came_first() {
    let log = Log::new();
    let writes = Resolvers::new();
    let size = Arc::new(std::sync::Mutex::new(1.0));
    let sz = size.clone();
    let (step, ws) = recorded_with(
        &log,
        deferred_writes(&writes),
        QueuingStrategy::with_size(1.0, move |_| *sz.lock().unwrap()),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    let write1 = writer.write("chunk1");
    *size.lock().unwrap() = f64::NAN;
    let write2 = writer.write("chunk2");
    let abort = writer.abort(error("error2"));
    writes.resolve();
    step.run();
    assert_fulfilled(&write1);
    let range = assert_rejected_kind(&write2, ErrorKind::Range);
    assert_rejected_with(&abort, &range);
    log.assert(&["write chunk1"]);
}

#[test]
fn abort_without_a_reason_stores_the_undefined_reason() {
    run(async {
        let ws = WritableStream::new(SinkFn::<u8>::new()).unwrap();
        ws.abort(StreamError::undefined()).await.unwrap();
        let writer = ws.get_writer().unwrap();
        let e = writer.closed().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Undefined);
    });
}

#[test]
fn abort_with_a_reason_stores_that_reason() {
    run(async {
        let ws = WritableStream::new(SinkFn::<u8>::new()).unwrap();
        let reason = StreamError::user("string argument");
        ws.abort(reason.clone()).await.unwrap();
        let writer = ws.get_writer().unwrap();
        assert_same(&writer.closed().await.unwrap_err(), &reason);
    });
}

#[test]
fn abort_on_a_locked_stream_rejects_and_leaves_it_alone() {
    run(async {
        let ws = WritableStream::new(SinkFn::<u8>::new()).unwrap();
        let writer = ws.get_writer().unwrap();
        let e = ws.abort(StreamError::undefined()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
        writer.ready().await.unwrap();
        assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    });
}

#[test]
fn the_controller_signal_is_aborted_with_the_reason() {
    let ctl = slot::<Ctl>();
    let c2 = ctl.clone();
    let (_step, ws) = recorded(
        &Log::new(),
        SinkFn::new().start(move |c: &Ctl| *c2.lock().unwrap() = Some(c.clone())),
    );
    let signal = get(&ctl, "controller").signal();
    assert!(!signal.aborted());
    assert!(signal.reason().is_none());
    let e = error("hello");
    drop(ws.abort(e.clone()));
    assert!(signal.aborted());
    assert_same(&signal.reason().unwrap(), &e);
}

#[test]
fn the_abort_signal_is_signalled_synchronously_during_a_write() {
    let ctl = slot::<Ctl>();
    let c2 = ctl.clone();
    let writes = Calls::new();
    let w = writes.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new()
            .start(move |c: &Ctl| *c2.lock().unwrap() = Some(c.clone()))
            .write(move |_, _: &Ctl| {
                w.hit();
                never()
            }),
    );
    let writer = ws.get_writer().unwrap();
    drop(writer.write("99"));
    step.run();
    writes.assert_exactly(1);
    let signal = get(&ctl, "controller").signal();
    assert!(!signal.aborted());
    drop(writer.abort(StreamError::undefined()));
    assert!(signal.aborted());
    assert_eq!(signal.reason().unwrap().kind(), ErrorKind::Abort);
}

#[test]
fn the_abort_signal_is_signalled_synchronously_during_a_close() {
    let closes = Calls::new();
    let c = closes.clone();
    let ctl = slot::<Ctl>();
    let c2 = ctl.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new()
            .start(move |c: &Ctl| *c2.lock().unwrap() = Some(c.clone()))
            .close(move || {
                c.hit();
                never()
            }),
    );
    let writer = ws.get_writer().unwrap();
    drop(writer.close());
    step.run();
    closes.assert_exactly(1);
    let signal = get(&ctl, "controller").signal();
    assert!(!signal.aborted());
    drop(writer.abort(StreamError::undefined()));
    assert!(signal.aborted());
}

#[test]
fn the_abort_signal_is_not_signalled_on_error() {
    let ctl = slot::<Ctl>();
    let c2 = ctl.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().start(move |c: &Ctl| *c2.lock().unwrap() = Some(c.clone())),
    );
    let writer = ws.get_writer().unwrap();
    let controller = get(&ctl, "controller");
    let e = StreamError::type_error("e");
    controller.error(e.clone());
    step.run();
    assert_rejected_with(&writer.closed(), &e);
    assert!(!controller.signal().aborted());
}

#[test]
fn the_abort_signal_is_not_signalled_on_write_failure() {
    let ctl = slot::<Ctl>();
    let c2 = ctl.clone();
    let e = StreamError::type_error("e");
    let e2 = e.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new()
            .start(move |c: &Ctl| *c2.lock().unwrap() = Some(c.clone()))
            .write(move |_, _: &Ctl| rejected(&e2)),
    );
    let writer = ws.get_writer().unwrap();
    let write = writer.write("hello");
    step.run();
    assert_rejected_with(&write, &e);
    assert_rejected_with(&writer.closed(), &e);
    assert!(!get(&ctl, "controller").signal().aborted());
}

#[test]
fn the_abort_signal_is_not_signalled_on_close_failure() {
    let ctl = slot::<Ctl>();
    let c2 = ctl.clone();
    let e = StreamError::type_error("e");
    let e2 = e.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new()
            .start(move |c: &Ctl| *c2.lock().unwrap() = Some(c.clone()))
            .close(move || rejected(&e2)),
    );
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    step.run();
    assert_rejected_with(&close, &e);
    assert_rejected_with(&writer.closed(), &e);
    assert!(!get(&ctl, "controller").signal().aborted());
}

#[test]
fn a_recursive_abort_from_the_signal_wins() {
    let ctl = slot::<Ctl>();
    let c2 = ctl.clone();
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().start(move |c: &Ctl| *c2.lock().unwrap() = Some(c.clone())),
    );
    let writer = ws.get_writer().unwrap();
    let signal = get(&ctl, "controller").signal();
    let e1 = StreamError::user("SyntaxError");
    let e2 = StreamError::type_error("e2");
    let (w, e) = (writer.clone(), e2.clone());
    let _handle = signal.add_algorithm(move |_| drop(w.abort(e.clone())));
    drop(writer.abort(e1));
    assert!(signal.aborted());
    step.run();
    assert_rejected_with(&writer.closed(), &e2);
}

#[test]
fn a_panicking_sink_abort_rejects_abort_and_keeps_the_reason_for_closed() {
    let (step, ws) = recorded(
        &Log::new(),
        SinkFn::new().abort(|_| -> Completion { panic!("abort exploded") }),
    );
    let writer = ws.get_writer().unwrap();
    let reason = error("error1");
    let abort = writer.abort(reason.clone());
    step.run();
    let e = assert_rejected_kind(&abort, ErrorKind::Panic);
    assert_eq!(e.message(), "abort exploded");
    assert_rejected_with(&writer.closed(), &reason);
}

#[test]
fn a_sink_can_give_up_a_write_when_its_signal_aborts() {
    run(async {
        let log = Log::new();
        let ws = WritableStream::new(recording(
            &log,
            SinkFn::new().write(|_, c: &Ctl| {
                let signal = c.signal();
                Completion::future(async move { Err(signal.aborted_future().await) })
            }),
        ))
        .unwrap();
        let writer = ws.get_writer().unwrap();
        writer.ready().await.unwrap();
        let write = writer.write("slow");
        common::flush(ws.host());
        log.assert(&["write slow"]);
        let e1 = error("error1");
        let abort = writer.abort(e1.clone());
        assert_same(&write.await.unwrap_err(), &e1);
        abort.await.unwrap();
        assert_same(&writer.closed().await.unwrap_err(), &e1);
        log.assert(&["write slow", "abort error1"]);
    });
}
