//! Ported from WPT `streams/transform-streams/errors.any.js`: errors from transformer methods,
//! `controller.error()`, size functions, and abort/cancel racing each other; plus panics in
//! transformer code, which must error both sides without hanging.

use crate::common;
use crate::transform_support;

use common::{flush, run, sleep, Calls};
use sluicegate::host::HostRef;
use sluicegate::transform::{IdentityTransformer, TransformStream, TransformerFn};
use sluicegate::{Completion, ErrorKind, QueuingStrategy, Resolver, StreamError};
use transform_support::*;

/// A transformer whose `cancel` must never run: it counts calls for the test to check.
fn no_cancel<I: Send + 'static, O: Send + 'static>(
    t: TransformerFn<I, O>,
    calls: &Calls,
) -> TransformerFn<I, O> {
    let c = calls.clone();
    t.cancel(move |_| c.hit())
}

#[test]
fn an_error_from_transform_errors_both_sides() {
    run(async {
        let thrown = error("error1");
        let t = thrown.clone();
        let cancels = Calls::new();
        let ts = TransformStream::new(no_cancel(
            TransformerFn::new(move |_: &str, _: &Controller<&str>| Completion::err(t.clone())),
            &cancels,
        ))
        .unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let writer = ts.writable().get_writer().unwrap();
        // All four are requested before any is awaited, as in the WPT file's Promise.all: the read
        // is what relieves backpressure and lets the write reach transform().
        let (write, read) = (writer.write("a"), reader.read());
        let (rs_closed, ws_closed) = (reader.closed(), writer.closed());
        assert_same_err(write.await, &thrown);
        assert_same_err(read.await, &thrown);
        assert_same_err(rs_closed.await, &thrown);
        assert_same_err(ws_closed.await, &thrown);
        cancels.assert_exactly(0);
    });
}

#[test]
fn a_panic_in_transform_errors_both_sides_with_the_same_panic_error() {
    run(async {
        let cancels = Calls::new();
        let ts = TransformStream::new(no_cancel(
            TransformerFn::new(|chunk: &str, _: &Controller<&str>| -> Completion {
                panic!("bad chunk {chunk}")
            }),
            &cancels,
        ))
        .unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let (write, read) = (writer.write("a"), reader.read());
        let e = write.await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "bad chunk a");
        assert_same_err(read.await, &e);
        assert_same_err(writer.closed().await, &e);
        assert_same_err(reader.closed().await, &e);
        assert_eq!(writer.desired_size().unwrap(), None);
        cancels.assert_exactly(0);
        // The stream is still usable as a value: further writes fail with the same error.
        assert_same_err(writer.write("b").await, &e);
    });
}

#[test]
fn a_panic_in_an_async_transform_errors_both_sides() {
    run(async {
        let ts = TransformStream::new(TransformerFn::new(|_: u32, _: &Controller<u32>| {
            Completion::future(async {
                sleep(1).await;
                panic!("later")
            })
        }))
        .unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let read = reader.read();
        let e = writer.write(1).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "later");
        assert_same_err(read.await, &e);
    });
}

#[test]
fn an_error_from_flush_errors_both_sides() {
    run(async {
        let thrown = error("error1");
        let t = thrown.clone();
        let cancels = Calls::new();
        let ts = TransformStream::new(no_cancel(
            TransformerFn::new(|_: &str, _: &Controller<&str>| ())
                .flush(move |_: &Controller<&str>| Completion::err(t.clone())),
            &cancels,
        ))
        .unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let write = writer.write("a");
        let close = writer.close();
        let read = reader.read();
        write.await.unwrap();
        assert_same_err(close.await, &thrown);
        assert_same_err(read.await, &thrown);
        assert_same_err(reader.closed().await, &thrown);
        assert_same_err(writer.closed().await, &thrown);
        cancels.assert_exactly(0);
    });
}

#[test]
fn a_panic_in_flush_errors_both_sides() {
    run(async {
        let ts = TransformStream::new(
            TransformerFn::new(|_: &str, _: &Controller<&str>| ())
                .flush(|_: &Controller<&str>| -> Completion { panic!("flush failed") }),
        )
        .unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let e = writer.close().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "flush failed");
        assert_same_err(reader.read().await, &e);
        assert_same_err(writer.closed().await, &e);
    });
}

#[test]
fn an_errored_transform_stream_does_not_enqueue_new_chunks() {
    let seen: Slot<Result<(), StreamError>> = slot();
    let s = seen.clone();
    let cancels = Calls::new();
    let ts = TransformStream::<u32, &str>::new(no_cancel(
        TransformerFn::new(|_: u32, _: &Controller<&str>| ()).start(move |c: &Controller<&str>| {
            c.enqueue("a").unwrap();
            c.error(error("generic error"));
            *s.lock().unwrap() = Some(c.enqueue("b"));
        }),
        &cancels,
    ))
    .unwrap();
    assert_kind(get(&seen, "enqueue result"), ErrorKind::Type);
    assert_eq!(
        ts.readable().stored_error().map(|e| show(&e)).as_deref(),
        Some("generic error")
    );
    cancels.assert_exactly(0);
}

#[test]
fn a_rejected_start_errors_the_stream() {
    run(async {
        let thrown = error("error1");
        let t = thrown.clone();
        let calls = Calls::new();
        let (c1, c2) = (calls.clone(), calls.clone());
        let ts = TransformStream::new(
            no_cancel(
                TransformerFn::new(move |_: &str, _: &Controller<&str>| c1.hit())
                    .flush(move |_: &Controller<&str>| c2.hit()),
                &calls,
            )
            .start(move |_: &Controller<&str>| {
                let t = t.clone();
                after(1, move || Err(t))
            }),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let (write, close, read) = (writer.write("a"), writer.close(), reader.read());
        assert_same_err(write.await, &thrown);
        assert_same_err(close.await, &thrown);
        assert_same_err(read.await, &thrown);
        calls.assert_exactly(0);
    });
}

#[test]
fn when_controller_error_is_followed_by_a_rejection_the_reason_comes_from_controller_error() {
    run(async {
        let controller_error = error("controllerError");
        let ce = controller_error.clone();
        let calls = Calls::new();
        let c1 = calls.clone();
        let ts = TransformStream::new(
            no_cancel(
                TransformerFn::new(move |_: &str, _: &Controller<&str>| c1.hit()),
                &calls,
            )
            .start(move |c: &Controller<&str>| {
                let (c, ce) = (c.clone(), ce.clone());
                after(1, move || {
                    c.error(ce);
                    Err(error("ignored error"))
                })
            }),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let (write, close, read) = (writer.write("a"), writer.close(), reader.read());
        assert_same_err(write.await, &controller_error);
        assert_same_err(close.await, &controller_error);
        assert_same_err(read.await, &controller_error);
        calls.assert_exactly(0);
    });
}

#[test]
fn the_constructor_returns_the_error_start_fails_with() {
    let thrown = error("start thrown error");
    let t = thrown.clone();
    let r = TransformStream::new(
        TransformerFn::new(|_: u32, _: &Controller<u32>| ())
            .start(move |_: &Controller<u32>| Completion::err(t.clone())),
    );
    assert_same_err(r.map(|_| ()), &thrown);
}

#[test]
fn the_constructor_returns_a_panic_error_when_start_panics() {
    let r = TransformStream::new(
        TransformerFn::new(|_: u32, _: &Controller<u32>| ())
            .start(|_: &Controller<u32>| -> Completion { panic!("no start") }),
    );
    let e = r.map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Panic);
    assert_eq!(e.message(), "no start");
}

#[test]
fn when_size_fails_inside_start_the_constructor_returns_the_same_error() {
    let thrown = error("size thrown error");
    let t = thrown.clone();
    let r = TransformStream::with_strategies(
        TransformerFn::new(|_: u32, _: &Controller<&str>| ()).start(|c: &Controller<&str>| c.enqueue("a")),
        default(),
        QueuingStrategy::with_fallible_size(None, move |_: &&str| Err(t.clone())),
    );
    assert_same_err(r.map(|_| ()), &thrown);
}

#[test]
fn when_size_calls_controller_error_then_fails_the_constructor_returns_the_first_error() {
    let controller_error = error("controller.error");
    let ce = controller_error.clone();
    let controller: Slot<Controller<&str>> = slot();
    let c = controller.clone();
    let r = TransformStream::with_strategies(
        TransformerFn::new(|_: u32, _: &Controller<&str>| ()).start(move |ctl: &Controller<&str>| {
            *c.lock().unwrap() = Some(ctl.clone());
            ctl.enqueue("a")
        }),
        default(),
        QueuingStrategy::with_fallible_size(None, move |_: &&str| {
            get(&controller, "controller").error(ce.clone());
            Err(error("redundant error"))
        }),
    );
    assert_same_err(r.map(|_| ()), &controller_error);
}

#[test]
fn cancelling_the_readable_side_errors_the_writable() {
    run(async {
        let ts = TransformStream::<u32, u32>::identity();
        let writer = ts.writable().get_writer().unwrap();
        let closed = writer.closed();
        let thrown = error("error1");
        ts.readable().cancel(thrown.clone()).await.unwrap();
        assert_same_err(closed.await, &thrown);
    });
}

#[test]
fn the_readable_can_be_errored_between_close_requested_and_complete() {
    run(async {
        let host: HostRef = common::host();
        let (ts, controller) =
            with_controller::<&str, &str, _>(IdentityTransformer, default(), default(), &host).unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let write = writer.write("a");
        let close = writer.close();
        let thrown = error("error1");
        controller.error(thrown.clone());
        assert_same_err(reader.closed().await, &thrown);
        assert_same_err(write.await, &thrown);
        assert_same_err(close.await, &thrown);
    });
}

#[test]
fn an_error_from_transform_errors_the_stream_if_terminate_was_requested_but_not_completed() {
    run(async {
        let thrown = error("error1");
        let t = thrown.clone();
        let ts = TransformStream::with_strategies(
            TransformerFn::new(move |chunk: &str, c: &Controller<&str>| {
                c.enqueue(chunk).unwrap();
                c.terminate();
                Completion::err(t.clone())
            }),
            default(),
            hwm(1.0),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let write = writer.write("a");
        // (Dropping the last handle of a reader releases its lock, so keep it.)
        let reader = ts.readable().get_reader().unwrap();
        let closed = reader.closed();
        assert_same_err(write.await, &thrown);
        assert_same_err(closed.await, &thrown);
    });
}

#[test]
fn abort_before_cancel_during_start_sets_the_writable_error_and_both_succeed() {
    run(async {
        let ts = TransformStream::<u32, u32>::identity();
        let writer = ts.writable().get_writer().unwrap();
        let thrown = error("error1");
        // The writable has not started yet: the abort is pending until its start reaction runs.
        let abort = writer.abort(thrown.clone());
        let cancel = ts.readable().cancel(error("cancel reason"));
        assert_same_err(writer.closed().await, &thrown);
        // Each side's start reaction waits for "a promise resolved with" the transform stream's
        // start promise, a new promise that adopts it two microtasks later, so the cancel reaction
        // runs first and finds the writable still erroring: it resolves the finish promise, which
        // the sink's abort then returns (WPT: "abort should set the close reason for the writable
        // when it happens before cancel during start, and cancel should reject").
        cancel.await.unwrap();
        abort.await.unwrap();
    });
}

#[test]
fn abort_before_cancel_during_a_sink_write_sets_the_writable_error_and_cancel_still_succeeds() {
    run(async {
        let host: HostRef = common::host();
        let resolver: Slot<Resolver> = slot();
        let r = resolver.clone();
        let ts = TransformStream::with_host(
            TransformerFn::new(move |_: u32, _: &Controller<u32>| {
                let (done, res) = Completion::deferred();
                *r.lock().unwrap() = Some(res);
                done
            }),
            default(),
            hwm(2.0),
            host.clone(),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        flush(&host);
        let thrown = error("error1");
        let write = writer.write(0);
        let abort = writer.abort(thrown.clone());
        let cancel = ts.readable().cancel(error("cancel reason"));
        get(&resolver, "transform resolver").settle(Ok(()));
        write.await.unwrap();
        abort.await.unwrap();
        cancel.await.unwrap();
        assert_same_err(writer.closed().await, &thrown);
    });
}

#[test]
fn controller_error_does_nothing_the_second_time() {
    run(async {
        let thrown = error("error1");
        let t = thrown.clone();
        let ts = TransformStream::<u32, u32>::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ()).start(move |c: &Controller<u32>| {
                c.error(t.clone());
                c.error(error("ignoredError"));
            }),
        )
        .unwrap();
        assert_same_err(ts.writable().abort(StreamError::undefined()).await, &thrown);
        assert_same_err(ts.readable().get_reader().unwrap().closed().await, &thrown);
    });
}

#[test]
fn controller_error_right_after_readable_cancel_errors_the_writable() {
    run(async {
        let host: HostRef = common::host();
        let (ts, controller) =
            with_controller::<u32, u32, _>(IdentityTransformer, default(), default(), &host).unwrap();
        let cancel = ts.readable().cancel(error("ignoredError"));
        let thrown = error("error1");
        controller.error(thrown.clone());
        assert_same_err(ts.writable().get_writer().unwrap().closed().await, &thrown);
        // The cancel reaction runs before the writable's start reaction (which waits two
        // microtasks more for "a promise resolved with" the start promise) and finds the writable
        // erroring, not errored: it resolves.
        cancel.await.unwrap();
    });
}

#[test]
fn controller_error_does_nothing_after_readable_cancel_resolves() {
    run(async {
        let host: HostRef = common::host();
        let (ts, controller) =
            with_controller::<u32, u32, _>(IdentityTransformer, default(), default(), &host).unwrap();
        let thrown = error("error1");
        ts.readable().cancel(thrown.clone()).await.unwrap();
        controller.error(error("ignoredError"));
        assert_same_err(ts.writable().get_writer().unwrap().closed().await, &thrown);
    });
}

#[test]
fn controller_error_does_nothing_after_writable_abort_completed() {
    run(async {
        let host: HostRef = common::host();
        let (ts, controller) =
            with_controller::<u32, u32, _>(IdentityTransformer, default(), default(), &host).unwrap();
        let thrown = error("error1");
        ts.writable().abort(thrown.clone()).await.unwrap();
        controller.error(error("ignoredError"));
        assert_same_err(ts.writable().get_writer().unwrap().closed().await, &thrown);
        assert_same_err(ts.readable().get_reader().unwrap().closed().await, &thrown);
    });
}

#[test]
fn controller_error_does_nothing_after_a_transformer_method_failed() {
    run(async {
        let host: HostRef = common::host();
        let thrown = error("error1");
        let t = thrown.clone();
        let (ts, controller) = with_controller(
            TransformerFn::new(move |_: u32, _: &Controller<u32>| Completion::err(t.clone())),
            default(),
            hwm(f64::INFINITY),
            &host,
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        assert_same_err(writer.write(1).await, &thrown);
        controller.error(StreamError::undefined());
        assert_same_err(writer.closed().await, &thrown);
    });
}

#[test]
fn erroring_during_a_write_with_backpressure_fails_the_write() {
    run(async {
        let host: HostRef = common::host();
        let calls = Calls::new();
        let c = calls.clone();
        let (ts, controller) = with_controller(
            TransformerFn::new(move |_: &str, _: &Controller<&str>| c.hit()),
            default(),
            hwm(1.0),
            &host,
        )
        .unwrap();
        flush(&host);
        // Create backpressure.
        controller.enqueue("a").unwrap();
        let writer = ts.writable().get_writer().unwrap();
        // transform() is not called until backpressure is relieved.
        let write = writer.write("b");
        calls.assert_exactly(0);
        let thrown = error("error1");
        controller.error(thrown.clone());
        // Now backpressure has been relieved and the write can proceed: to its failure.
        assert_same_err(write.await, &thrown);
        calls.assert_exactly(0);
    });
}

#[test]
fn a_write_waiting_for_backpressure_rejects_if_the_writable_is_aborted() {
    run(async {
        let host: HostRef = common::host();
        let ts =
            TransformStream::<u32, u32>::with_host(IdentityTransformer, default(), hwm(0.0), host.clone())
                .unwrap();
        flush(&host);
        let writer = ts.writable().get_writer().unwrap();
        // The write starts at once and waits for backpressure.
        let write = writer.write(0);
        // The sink's abort is not called until the write completes.
        let thrown = error("error1");
        let abort = writer.abort(thrown.clone());
        // A read relieves backpressure and lets the write finish.
        let reader = ts.readable().get_reader().unwrap();
        let read = reader.read();
        assert_same_err(read.await, &thrown);
        assert_same_err(write.await, &thrown);
        abort.await.unwrap();
    });
}

#[test]
fn the_readable_is_errored_with_the_reason_given_to_writable_abort() {
    run(async {
        let ts = TransformStream::<u32, u32>::identity();
        let thrown = error("error1");
        let _abort = ts.writable().abort(thrown.clone());
        let reader = ts.readable().get_reader().unwrap();
        assert_same_err(reader.read().await, &thrown);
    });
}

#[test]
fn a_panic_in_cancel_rejects_the_cancel_and_errors_the_writable() {
    run(async {
        let ts = TransformStream::<u32, u32>::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ())
                .cancel(|_| -> Completion { panic!("cancel failed") }),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let e = ts.readable().cancel(error("reason")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "cancel failed");
        assert_same_err(writer.closed().await, &e);
    });
}

#[test]
fn a_panic_in_size_during_a_transform_errors_both_sides() {
    run(async {
        let ts = TransformStream::<u32, u32>::with_strategies(
            IdentityTransformer,
            default(),
            QueuingStrategy::with_size(f64::INFINITY, |_: &u32| -> f64 { panic!("size exploded") }),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let e = writer.write(1).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "size exploded");
        assert_same_err(writer.closed().await, &e);
        assert_same_err(ts.readable().get_reader().unwrap().closed().await, &e);
    });
}

#[test]
fn a_panic_in_an_async_start_errors_both_sides_and_no_method_runs() {
    run(async {
        let calls = Calls::new();
        let (c1, c2) = (calls.clone(), calls.clone());
        let ts = TransformStream::new(
            no_cancel(
                TransformerFn::new(move |_: u32, _: &Controller<u32>| c1.hit())
                    .flush(move |_: &Controller<u32>| c2.hit()),
                &calls,
            )
            .start(|_: &Controller<u32>| {
                Completion::future(async {
                    sleep(2).await;
                    panic!("start gave up")
                })
            }),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let (write, close, read) = (writer.write(1), writer.close(), reader.read());
        let e = write.await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "start gave up");
        assert_same_err(read.await, &e);
        assert_same_err(close.await, &e);
        calls.assert_exactly(0);
        assert_eq!(common::now(), 2);
    });
}

/// Runs `f` on `host` `turns` microtasks from now.
fn after_turns(host: &HostRef, turns: usize, f: Box<dyn FnOnce() + Send>) {
    if turns == 0 {
        host.queue_microtask(f);
        return;
    }
    let next = host.clone();
    host.queue_microtask(Box::new(move || after_turns(&next, turns - 1, f)));
}

#[test]
fn error_and_terminate_still_reach_a_writable_side_whose_close_is_in_flight() {
    // `close()` calls the flush, which enqueues and fails: the readable side errors, both sides'
    // algorithms are cleared (the sink's once its close algorithm was called), and the writable
    // side stays writable, its close in flight, until the close's rejection is processed some
    // turns later. In that window the controller still reaches the writable side through its
    // stream, and `error()` or `terminate()` must start it erroring. The stream's shared core is
    // gone by then; both calls did nothing.
    for terminate in [false, true] {
        let mut in_window = 0;
        for turns in 0..12 {
            let host: HostRef = common::host();
            let (ts, controller) = with_controller(
                TransformerFn::new(|chunk: &str, c: &Controller<&str>| c.enqueue(chunk)).flush(
                    |c: &Controller<&str>| {
                        let _ = c.enqueue("flushed");
                        Completion::err(error("flush"))
                    },
                ),
                hwm(4.0),
                hwm(4.0),
                &host,
            )
            .unwrap();
            flush(&host);
            let writer = ts.writable().get_writer().unwrap();
            let close = writer.close();
            let outcome = std::sync::Arc::new(std::sync::Mutex::new(None));
            let o = outcome.clone();
            let w = writer.clone();
            after_turns(
                &host,
                turns,
                Box::new(move || {
                    let readable_errored = controller.desired_size().is_none();
                    let writable = matches!(w.desired_size(), Ok(Some(_)));
                    if readable_errored && writable {
                        if terminate {
                            controller.terminate();
                        } else {
                            controller.error(error("late"));
                        }
                        *o.lock().unwrap() = Some(w.desired_size());
                    }
                }),
            );
            flush(&host);
            drop(close);
            let after = outcome.lock().unwrap().take();
            if let Some(after) = after {
                in_window += 1;
                assert!(
                    matches!(after, Ok(None)),
                    "{} {turns} turns after close left the writable side writable: {after:?}",
                    if terminate { "terminate()" } else { "error()" }
                );
            }
        }
        assert!(
            in_window > 0,
            "no turn fell between the readable side erroring and the writable side"
        );
    }
}
