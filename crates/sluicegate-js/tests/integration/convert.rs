//! Errors keep their identity across the core; JS promises settle the core's completions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::strategy::QueuingStrategy;
use sluicegate::{Completion, ErrorKind, StreamError};
use sluicegate_js::convert::{completion_from_js, error_from_js, error_to_js};
use sluicegate_js::{JsValue, Runtime};

fn truthy(rt: &Runtime, expr: &str) -> bool {
    rt.with(|ctx| ctx.eval::<bool, _>(expr).unwrap())
}

#[test]
fn a_js_reason_comes_back_as_the_same_value() {
    let rt = Runtime::new().unwrap();
    rt.eval("globalThis.error1 = new Error('error1'); error1.name = 'error1';")
        .unwrap();
    rt.with(|ctx| {
        let reason: rquickjs::Value = ctx.eval("error1").unwrap();
        let e = error_from_js(&ctx, reason);
        assert_eq!(e.kind(), ErrorKind::User);
        let back = error_to_js(&ctx, &e.clone()).unwrap();
        ctx.globals().set("back", back).unwrap();
    });
    assert!(truthy(&rt, "back === error1"));
}

#[test]
fn undefined_stays_undefined_and_spec_errors_become_js_errors() {
    let rt = Runtime::new().unwrap();
    rt.with(|ctx| {
        let e = error_from_js(&ctx, rquickjs::Value::new_undefined(ctx.clone()));
        assert_eq!(e.kind(), ErrorKind::Undefined);
        let g = ctx.globals();
        g.set("u", error_to_js(&ctx, &e).unwrap()).unwrap();
        g.set(
            "t",
            error_to_js(&ctx, &StreamError::type_error("locked")).unwrap(),
        )
        .unwrap();
        g.set("r", error_to_js(&ctx, &StreamError::range_error("hwm")).unwrap())
            .unwrap();
        g.set(
            "a",
            error_to_js(&ctx, &StreamError::abort_error("aborted")).unwrap(),
        )
        .unwrap();
    });
    assert!(truthy(&rt, "u === undefined"));
    assert!(truthy(&rt, "t instanceof TypeError && t.message === 'locked'"));
    assert!(truthy(&rt, "r instanceof RangeError && r.message === 'hwm'"));
    assert!(truthy(&rt, "a.name === 'AbortError'"));
}

/// A core stream whose source's `start` returns what `start_js` evaluates to, mapped by
/// `completion_from_js`; counts pulls.
fn stream_started_by(rt: &Runtime, start_js: &'static str) -> (ReadableStream<u32>, Arc<AtomicUsize>) {
    let pulls = Arc::new(AtomicUsize::new(0));
    let p = pulls.clone();
    let host = rt.js_host().clone();
    let stream = rt.with(|_ctx| {
        ReadableStream::with_host(
            SourceFn::new()
                .start(move |_c| {
                    host.with_ctx(|ctx| completion_from_js(ctx, ctx.eval(start_js)))
                        .unwrap()
                })
                .pull(move |_c| {
                    p.fetch_add(1, Ordering::SeqCst);
                    Completion::ok()
                }),
            QueuingStrategy::count(1.0),
            rt.host(),
        )
        .unwrap()
    });
    (stream, pulls)
}

#[test]
fn a_pending_promise_holds_the_stream_until_it_fulfills() {
    let rt = Runtime::new().unwrap();
    rt.eval("globalThis.resolveStart = null").unwrap();
    let (stream, pulls) = stream_started_by(&rt, "new Promise(r => { globalThis.resolveStart = r; })");
    rt.run_jobs().unwrap();
    assert_eq!(pulls.load(Ordering::SeqCst), 0, "start has not settled");
    rt.eval("resolveStart()").unwrap();
    rt.run_jobs().unwrap();
    assert_eq!(pulls.load(Ordering::SeqCst), 1, "pulled once start fulfilled");
    assert!(stream.is_readable());
}

#[test]
fn a_rejected_promise_errors_the_stream_with_the_same_reason() {
    let rt = Runtime::new().unwrap();
    rt.eval("globalThis.error1 = { name: 'error1' }").unwrap();
    let (stream, pulls) = stream_started_by(&rt, "Promise.reject(error1)");
    rt.run_jobs().unwrap();
    assert_eq!(pulls.load(Ordering::SeqCst), 0);
    let stored = stream.stored_error().expect("errored");
    rt.with(|ctx| {
        let v = error_to_js(&ctx, &stored).unwrap();
        ctx.globals().set("stored", v).unwrap();
    });
    assert!(truthy(&rt, "stored === error1"));
}

#[test]
fn a_plain_value_is_fulfilled_without_then_and_a_promise_is_adopted_through_its_own_then() {
    // Web IDL's "a promise resolved with" makes a new promise and resolves it with the value: a
    // plain value fulfils it with no `then` looked up, while a promise (or any object) is a
    // thenable, whose `then` a NewPromiseResolveThenableJob calls, patched or not. The binding's
    // own reaction to the new promise uses the `then` captured at start-up.
    let rt = Runtime::new().unwrap();
    rt.eval(
        "globalThis.patched = 0;
         globalThis.patchedError = new Error('patched then');
         Promise.prototype.then = function () { patched++; throw patchedError; };",
    )
    .unwrap();
    let (_plain, plain_pulls) = stream_started_by(&rt, "42");
    rt.run_jobs().unwrap();
    assert_eq!(plain_pulls.load(Ordering::SeqCst), 1);
    assert!(truthy(&rt, "patched === 0"));
    let (promised, promised_pulls) = stream_started_by(&rt, "Promise.resolve()");
    rt.run_jobs().unwrap();
    assert!(truthy(&rt, "patched === 1"));
    assert_eq!(promised_pulls.load(Ordering::SeqCst), 0, "start rejected");
    let stored = promised
        .stored_error()
        .expect("errored by the patched then's exception");
    rt.with(|ctx| {
        let v = error_to_js(&ctx, &stored).unwrap();
        ctx.globals().set("stored", v).unwrap();
    });
    assert!(truthy(&rt, "stored === patchedError"));
}

#[test]
fn values_held_by_a_live_stream_are_released_when_the_runtime_drops() {
    let rt = Runtime::new().unwrap();
    rt.eval("globalThis.error1 = { name: 'error1' }").unwrap();
    let (stream, _) = stream_started_by(&rt, "Promise.reject(error1)");
    rt.run_jobs().unwrap();
    let stored = stream.stored_error().unwrap();
    assert!(stored.reason::<JsValue>().is_some());
    drop(rt);
    // The stream outlives the runtime: its reason is released, not dangling.
    drop(stored);
    drop(stream);
}
