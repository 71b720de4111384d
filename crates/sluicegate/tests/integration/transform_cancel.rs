//! Ported from WPT `streams/transform-streams/cancel.any.js`: `transformer.cancel()` runs once,
//! for a readable-side cancel or a writable-side abort, and its outcome (or a `controller.error()`
//! inside it) settles both sides; close, abort and cancel started from inside flush() or cancel()
//! share the one finish promise instead of calling the transformer again.

use crate::common;
use crate::transform_support;

use std::sync::{Arc, Mutex};

use common::{flush, run, Calls, Log};
use sluicegate::host::HostRef;
use sluicegate::transform::{TransformStream, TransformerFn};
use sluicegate::{Completion, Promised, ReadableStream, StreamError, WritableStream};
use transform_support::*;

/// Records the reasons `cancel` is called with.
fn reasons() -> Arc<Mutex<Vec<StreamError>>> {
    Arc::default()
}

#[test]
fn cancelling_the_readable_calls_transformer_cancel_with_the_reason() {
    run(async {
        let seen = reasons();
        let s = seen.clone();
        let ts = TransformStream::<u32, u32>::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ()).cancel(move |r| s.lock().unwrap().push(r)),
        )
        .unwrap();
        let thrown = error("error1");
        ts.readable().cancel(thrown.clone()).await.unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert!(StreamError::same(&seen[0], &thrown));
    });
}

#[test]
fn cancelling_the_readable_rejects_if_transformer_cancel_fails() {
    run(async {
        let original = error("original reason");
        let thrown = error("error1");
        let (o, t) = (original.clone(), thrown.clone());
        let ts = TransformStream::<u32, u32>::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ()).cancel(move |r: StreamError| {
                assert!(StreamError::same(&r, &o), "cancel gets the reason passed");
                Completion::err(t.clone())
            }),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let cancel = ts.readable().cancel(original.clone());
        assert_same_err(cancel.await, &thrown);
        assert_same_err(writer.closed().await, &thrown);
    });
}

#[test]
fn aborting_the_writable_calls_transformer_cancel_and_not_flush() {
    run(async {
        let seen = reasons();
        let flushes = Calls::new();
        let (s, f) = (seen.clone(), flushes.clone());
        let ts = TransformStream::<u32, u32>::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ())
                .cancel(move |r| s.lock().unwrap().push(r))
                .flush(move |_: &Controller<u32>| f.hit()),
        )
        .unwrap();
        let thrown = error("error1");
        ts.writable().abort(thrown.clone()).await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert!(StreamError::same(&seen[0], &thrown));
        flushes.assert_exactly(0);
        assert_same_err(ts.readable().get_reader().unwrap().closed().await, &thrown);
    });
}

#[test]
fn aborting_the_writable_rejects_if_transformer_cancel_fails() {
    run(async {
        let original = error("original reason");
        let thrown = error("error1");
        let (o, t) = (original.clone(), thrown.clone());
        let flushes = Calls::new();
        let f = flushes.clone();
        let ts = TransformStream::<u32, u32>::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ())
                .cancel(move |r: StreamError| {
                    assert!(StreamError::same(&r, &o));
                    Completion::err(t.clone())
                })
                .flush(move |_: &Controller<u32>| f.hit()),
        )
        .unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let abort = ts.writable().abort(original.clone());
        assert_same_err(abort.await, &thrown);
        assert_same_err(reader.closed().await, &thrown);
        flushes.assert_exactly(0);
    });
}

#[test]
fn closing_the_writable_rejects_if_a_parallel_transformer_cancel_fails() {
    run(async {
        let original = error("original reason");
        let thrown = error("error1");
        let (o, t) = (original.clone(), thrown.clone());
        let flushes = Calls::new();
        let f = flushes.clone();
        let ts = TransformStream::<u32, u32>::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ())
                .cancel(move |r: StreamError| {
                    assert!(StreamError::same(&r, &o));
                    let t = t.clone();
                    // An async cancel that fails.
                    Completion::future(async move { Err(t) })
                })
                .flush(move |_: &Controller<u32>| f.hit()),
        )
        .unwrap();
        let cancel = ts.readable().cancel(original.clone());
        let close = ts.writable().close();
        assert_same_err(cancel.await, &thrown);
        assert_same_err(close.await, &thrown);
        flushes.assert_exactly(0);
    });
}

/// A transformer whose `cancel` calls `controller.error(thrown)` and then succeeds; `flush`
/// counts calls (it must not run).
fn erroring_cancel(
    thrown: &StreamError,
    original: &StreamError,
    flushes: &Calls,
    host: &HostRef,
) -> TransformStream<u32, u32> {
    let controller: Slot<Controller<u32>> = slot();
    let c = controller.clone();
    let (t, o, f) = (thrown.clone(), original.clone(), flushes.clone());
    TransformStream::with_host(
        TransformerFn::new(|_: u32, _: &Controller<u32>| ())
            .start(move |ctl: &Controller<u32>| *c.lock().unwrap() = Some(ctl.clone()))
            .cancel(move |r: StreamError| {
                assert!(StreamError::same(&r, &o));
                // An async function's body runs synchronously up to its first await.
                get(&controller, "controller").error(t.clone());
                Completion::future(async { Ok(()) })
            })
            .flush(move |_: &Controller<u32>| f.hit()),
        default(),
        default(),
        host.clone(),
    )
    .unwrap()
}

#[test]
fn readable_cancel_and_a_parallel_writable_close_reject_if_cancel_calls_controller_error() {
    run(async {
        let host: HostRef = common::host();
        let (original, thrown, flushes) = (error("original reason"), error("error1"), Calls::new());
        let ts = erroring_cancel(&thrown, &original, &flushes, &host);
        let cancel = ts.readable().cancel(original.clone());
        let close = ts.writable().close();
        assert_same_err(cancel.await, &thrown);
        assert_same_err(close.await, &thrown);
        flushes.assert_exactly(0);
    });
}

#[test]
fn writable_abort_and_readable_cancel_reject_if_cancel_calls_controller_error() {
    run(async {
        let host: HostRef = common::host();
        let (original, thrown, flushes) = (error("original reason"), error("error1"), Calls::new());
        let ts = erroring_cancel(&thrown, &original, &flushes, &host);
        assert_same_err(ts.writable().abort(original.clone()).await, &thrown);
        assert_same_err(ts.readable().cancel(error("1")).await, &thrown);
        flushes.assert_exactly(0);
    });
}

/// The two sides of a transform stream, reachable from inside its own transformer.
type Sides = Slot<(WritableStream<u32>, ReadableStream<u32>)>;

fn sides_of(ts: &TransformStream<u32, u32>, sides: &Sides) {
    *sides.lock().unwrap() = Some((ts.writable().clone(), ts.readable().clone()));
}

#[test]
fn readable_cancel_from_inside_flush_does_not_call_transformer_cancel() {
    run(async {
        let host: HostRef = common::host();
        let sides: Sides = slot();
        let cancel_promise: Slot<Promised<()>> = slot();
        let (cancels, flushes) = (Calls::new(), Calls::new());
        let (s, p, c, f) = (
            sides.clone(),
            cancel_promise.clone(),
            cancels.clone(),
            flushes.clone(),
        );
        let ts = TransformStream::with_host(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ())
                .flush(move |_: &Controller<u32>| {
                    f.hit();
                    let readable = get(&s, "sides").1;
                    *p.lock().unwrap() = Some(readable.cancel(error("cancel reason")));
                })
                .cancel(move |_| c.hit()),
            default(),
            default(),
            host.clone(),
        )
        .unwrap();
        sides_of(&ts, &sides);
        flush(&host); // the stream has started
        ts.writable().close().await.unwrap();
        flushes.assert_exactly(1);
        take(&cancel_promise, "cancel promise").await.unwrap();
        cancels.assert_exactly(0);
        sides.lock().unwrap().take();
    });
}

#[test]
fn readable_cancel_from_inside_cancel_for_an_abort_does_not_call_cancel_again() {
    run(async {
        let host: HostRef = common::host();
        let sides: Sides = slot();
        let cancel_promise: Slot<Promised<()>> = slot();
        let (cancels, flushes) = (Calls::new(), Calls::new());
        let (s, p, c, f) = (
            sides.clone(),
            cancel_promise.clone(),
            cancels.clone(),
            flushes.clone(),
        );
        let ts = TransformStream::with_host(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ())
                .cancel(move |_| {
                    c.hit();
                    if c.count() == 1 {
                        let readable = get(&s, "sides").1;
                        *p.lock().unwrap() = Some(readable.cancel(error("cancel reason")));
                    }
                })
                .flush(move |_: &Controller<u32>| f.hit()),
            default(),
            default(),
            host.clone(),
        )
        .unwrap();
        sides_of(&ts, &sides);
        flush(&host);
        ts.writable().abort(error("abort reason")).await.unwrap();
        cancels.assert_exactly(1);
        take(&cancel_promise, "cancel promise").await.unwrap();
        cancels.assert_exactly(1);
        flushes.assert_exactly(0);
        sides.lock().unwrap().take();
    });
}

#[test]
fn writable_close_from_inside_cancel_does_not_call_flush() {
    run(async {
        let host: HostRef = common::host();
        let sides: Sides = slot();
        let close_promise: Slot<Promised<()>> = slot();
        let (cancels, flushes) = (Calls::new(), Calls::new());
        let (s, p, c, f) = (
            sides.clone(),
            close_promise.clone(),
            cancels.clone(),
            flushes.clone(),
        );
        let ts = TransformStream::with_host(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ())
                .cancel(move |_| {
                    c.hit();
                    let writable = get(&s, "sides").0;
                    *p.lock().unwrap() = Some(writable.close());
                })
                .flush(move |_: &Controller<u32>| f.hit()),
            default(),
            default(),
            host.clone(),
        )
        .unwrap();
        sides_of(&ts, &sides);
        flush(&host);
        ts.readable().cancel(error("cancel reason")).await.unwrap();
        cancels.assert_exactly(1);
        take(&close_promise, "close promise").await.unwrap();
        flushes.assert_exactly(0);
        sides.lock().unwrap().take();
    });
}

#[test]
fn writable_abort_from_inside_cancel_does_not_call_cancel_again() {
    run(async {
        let host: HostRef = common::host();
        let sides: Sides = slot();
        let abort_promise: Slot<Promised<()>> = slot();
        let abort_reason = error("abort reason");
        let (cancels, flushes) = (Calls::new(), Calls::new());
        let (s, p, c, f, a) = (
            sides.clone(),
            abort_promise.clone(),
            cancels.clone(),
            flushes.clone(),
            abort_reason.clone(),
        );
        let ts = TransformStream::with_host(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ())
                .cancel(move |_| {
                    c.hit();
                    if c.count() == 1 {
                        let writable = get(&s, "sides").0;
                        *p.lock().unwrap() = Some(writable.abort(a.clone()));
                    }
                })
                .flush(move |_: &Controller<u32>| f.hit()),
            default(),
            default(),
            host.clone(),
        )
        .unwrap();
        sides_of(&ts, &sides);
        flush(&host);
        assert_same_err(ts.readable().cancel(error("cancel reason")).await, &abort_reason);
        cancels.assert_exactly(1);
        assert_same_err(take(&abort_promise, "abort promise").await, &abort_reason);
        cancels.assert_exactly(1);
        flushes.assert_exactly(0);
        sides.lock().unwrap().take();
    });
}

#[test]
fn cancel_waits_for_an_async_transformer_cancel_and_logs_in_order() {
    run(async {
        let host: HostRef = common::host();
        let log = Log::new();
        let (l1, l2) = (log.clone(), log.clone());
        let ts = TransformStream::<u32, u32>::with_host(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ()).cancel(move |r: StreamError| {
                l1.push(format!("cancel {}", show(&r)));
                let l = l2.clone();
                after(5, move || {
                    l.push("cancel done");
                    Ok(())
                })
            }),
            default(),
            default(),
            host.clone(),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let cancel = ts.readable().cancel(error("reason"));
        flush(&host);
        assert!(!settled(&cancel));
        assert_eq!(
            writer.desired_size().unwrap(),
            Some(1.0),
            "the writable is untouched meanwhile"
        );
        cancel.await.unwrap();
        log.assert(&["cancel reason", "cancel done"]);
        assert_eq!(common::now(), 5);
        assert_eq!(show(&writer.closed().await.unwrap_err()), "reason");
    });
}

#[test]
fn a_write_from_inside_transformer_cancel_still_reaches_transform() {
    run(async {
        let host: HostRef = common::host();
        let log = Log::new();
        let writer: Slot<sluicegate::WritableStreamDefaultWriter<u32>> = slot();
        let write: Slot<Promised<()>> = slot();
        let (l1, l2, w, p) = (log.clone(), log.clone(), writer.clone(), write.clone());
        let ts = TransformStream::with_host(
            TransformerFn::new(move |chunk: u32, _: &Controller<u32>| l1.push(format!("transform {chunk}")))
                .cancel(move |r: StreamError| {
                    l2.push(format!("cancel {}", show(&r)));
                    // The standard runs this write's transform() while cancel() is still running
                    // (the algorithms are cleared only after cancel returns); here it runs as soon
                    // as cancel() hands the transformer back, never failing for being re-entrant.
                    *p.lock().unwrap() = Some(get(&w, "writer").write(7));
                    l2.push("cancel returns");
                }),
            default(),
            hwm(1.0),
            host.clone(),
        )
        .unwrap();
        *writer.lock().unwrap() = Some(ts.writable().get_writer().unwrap());
        flush(&host); // started; the readable side pulled, so there is no backpressure
        let reason = error("reason");
        let cancel = ts.readable().cancel(reason.clone());
        take(&write, "write").await.unwrap();
        cancel.await.unwrap();
        log.assert(&["cancel reason", "cancel returns", "transform 7"]);
        let writer = take(&writer, "writer");
        assert_same_err(writer.closed().await, &reason);
    });
}
