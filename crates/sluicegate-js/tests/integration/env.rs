//! The host globals (`sluicegate_js::env`): JS snippets run on a runtime with the event loop, and
//! their results asserted.

use std::time::{Duration, Instant};

use sluicegate_js::env::abort::core_signal;
use sluicegate_js::env::timers::{now, run_event_loop, take_reported_errors, LoopEnd};
use sluicegate_js::{JsValue, Runtime};

/// Runs `script`, then the event loop until idle, and returns `String(globalThis.result)`.
fn run(script: &str) -> String {
    let rt = Runtime::new().unwrap();
    rt.eval("var result;").unwrap();
    rt.eval(script).unwrap();
    let (end, errors) = run_event_loop(&rt, Some(Instant::now() + Duration::from_secs(10))).unwrap();
    assert_eq!(end, LoopEnd::Idle);
    assert!(errors.is_empty(), "{errors:?}");
    rt.with(|ctx| ctx.eval::<String, _>("String(globalThis.result)").unwrap())
}

#[test]
fn self_is_the_global_object() {
    assert_eq!(run("result = self === globalThis"), "true");
}

#[test]
fn timers_run_in_due_order_after_microtasks_and_drain_jobs_after_each() {
    let out = run(r#"
        const log = [];
        setTimeout(() => { log.push('t20'); Promise.resolve().then(() => log.push('p-after-t20')); }, 20);
        setTimeout((a, b) => log.push('t0:' + a + b), 0, 'x', 'y');
        setTimeout(() => log.push('t10'), 10);
        setTimeout(() => log.push('t10b'), 10);
        const cancelled = setTimeout(() => log.push('never'), 5);
        clearTimeout(cancelled);
        clearTimeout(undefined);
        setTimeout(() => { log.push('t30'); result = log.join(); }, 30);
        Promise.resolve().then(() => log.push('micro'));
    "#);
    assert_eq!(out, "micro,t0:xy,t10,t10b,t20,p-after-t20,t30");
}

#[test]
fn the_virtual_clock_jumps_to_each_timer() {
    let rt = Runtime::new().unwrap();
    rt.eval("setTimeout(() => { globalThis.at = 1; }, 100000)")
        .unwrap();
    let started = Instant::now();
    let (end, _) = run_event_loop(&rt, None).unwrap();
    assert_eq!(end, LoopEnd::Idle);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(rt.with(|ctx| now(&ctx)), 100000.0);
}

#[test]
fn the_deadline_bounds_a_script_that_never_settles() {
    let rt = Runtime::new().unwrap();
    rt.eval("(function again() { setTimeout(again, 1); })()").unwrap();
    let (end, _) = run_event_loop(&rt, Some(Instant::now() + Duration::from_millis(50))).unwrap();
    assert_eq!(end, LoopEnd::Deadline);
}

#[test]
fn set_interval_repeats_until_cleared() {
    assert_eq!(
        run("let n = 0; const id = setInterval(() => { if (++n === 3) { clearInterval(id); result = n; } }, 5);"),
        "3"
    );
}

#[test]
fn queue_microtask_runs_in_fifo_with_promise_reactions_and_reports_errors() {
    let rt = Runtime::new().unwrap();
    rt.eval(
        r#"
        globalThis.log = [];
        queueMicrotask(() => log.push(1));
        Promise.resolve().then(() => log.push(2));
        queueMicrotask(() => { log.push(3); throw new Error('boom'); });
        queueMicrotask(() => log.push(4));
        try { queueMicrotask(5); } catch (e) { log.push(e.name); }
    "#,
    )
    .unwrap();
    run_event_loop(&rt, None).unwrap();
    let log: String = rt.with(|ctx| ctx.eval("log.join()").unwrap());
    assert_eq!(log, "TypeError,1,2,3,4");
    let errors = rt.with(|ctx| take_reported_errors(&ctx));
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("boom"), "{errors:?}");
}

#[test]
fn dom_exception_has_name_message_code_and_is_an_error() {
    assert_eq!(
        run(r#"
            const e = new DOMException('m', 'AbortError');
            const d = new DOMException();
            result = [e.name, e.message, e.code, e instanceof Error, e instanceof DOMException,
                      Object.prototype.toString.call(e), d.name, d.message, d.code,
                      new DOMException('x', 'DataCloneError').code, DOMException.ABORT_ERR,
                      DOMException.DATA_CLONE_ERR, Object.keys(e).length].join();
        "#),
        "AbortError,m,20,true,true,[object DOMException],Error,,0,25,20,25,0"
    );
}

#[test]
fn abort_controller_sets_reason_fires_onabort_then_listeners_once() {
    assert_eq!(
        run(r#"
            const log = [];
            const c = new AbortController();
            const s = c.signal;
            log.push(s.aborted, String(s.reason));
            s.onabort = (e) => log.push('onabort:' + e.type + ':' + (e.target === s));
            const l = () => log.push('listener');
            s.addEventListener('abort', l);
            s.addEventListener('abort', l);
            s.addEventListener('abort', { handleEvent: () => log.push('handleEvent') });
            const removed = () => log.push('removed');
            s.addEventListener('abort', removed);
            s.removeEventListener('abort', removed);
            s.throwIfAborted();
            c.abort('why');
            c.abort('again');
            log.push(s.aborted, s.reason);
            try { s.throwIfAborted(); } catch (e) { log.push('threw:' + e); }
            result = log.join();
        "#),
        "false,undefined,onabort:abort:true,listener,handleEvent,true,why,threw:why"
    );
}

#[test]
fn the_default_reason_is_an_abort_error_dom_exception() {
    assert_eq!(
        run(r#"
            const c = new AbortController();
            c.abort();
            const s = AbortSignal.abort();
            const t = AbortSignal.abort(42);
            result = [c.signal.reason instanceof DOMException, c.signal.reason.name,
                      s.aborted, s.reason.name, s.reason.code, t.reason,
                      Object.prototype.toString.call(s)].join();
        "#),
        "true,AbortError,true,AbortError,20,42,[object AbortSignal]"
    );
    assert_eq!(
        run("try { new AbortSignal(); } catch (e) { result = e.name; }"),
        "TypeError"
    );
}

#[test]
fn core_signal_follows_the_js_signal_and_carries_the_same_reason() {
    let rt = Runtime::new().unwrap();
    rt.eval("globalThis.c = new AbortController(); globalThis.reason = { why: 1 };")
        .unwrap();
    let signal = rt.with(|ctx| {
        let s: rquickjs::Value = ctx.eval("c.signal").unwrap();
        core_signal(&s).unwrap()
    });
    assert!(rt
        .with(|ctx| core_signal(&ctx.eval::<rquickjs::Value, _>("({})").unwrap()))
        .is_none());
    assert!(!signal.aborted());
    rt.eval("c.abort(reason)").unwrap();
    assert!(signal.aborted());
    let reason = signal.reason().unwrap();
    let held = reason.reason::<JsValue>().expect("the JS reason").clone();
    let same: bool = rt.with(|ctx| {
        let v = held.get(&ctx).unwrap();
        let expected: rquickjs::Value = ctx.eval("reason").unwrap();
        v == expected
    });
    assert!(same);
}

#[test]
fn abort_algorithms_of_the_core_run_before_the_abort_event() {
    let rt = Runtime::new().unwrap();
    rt.eval("globalThis.c = new AbortController(); globalThis.log = []; c.signal.addEventListener('abort', () => log.push('event:' + globalThis.coreRan));")
        .unwrap();
    let signal = rt.with(|ctx| core_signal(&ctx.eval::<rquickjs::Value, _>("c.signal").unwrap()).unwrap());
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = ran.clone();
    let _handle = signal.add_algorithm(move |_| flag.store(true, std::sync::atomic::Ordering::SeqCst));
    rt.eval("c.abort()").unwrap();
    assert!(ran.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(signal.pending_algorithms(), 0);
}

#[test]
fn structured_clone_copies_values_and_keeps_shared_references() {
    assert_eq!(
        run(r#"
            const shared = { n: 1 };
            const src = { a: [1, 'x', null, undefined, true], shared, again: shared, d: new Date(5),
                          m: new Map([[1, shared]]), s: new Set([2]), big: 10n, re: /a/g };
            src.self = src;
            const c = structuredClone(src);
            result = [c !== src, c.a.join('|'), c.shared !== shared, c.shared === c.again,
                      c.self === c, c.d.getTime(), c.m.get(1) === c.shared, c.s.has(2), c.big,
                      c.re.source + c.re.flags, structuredClone(3), structuredClone('s')].join();
        "#),
        "true,1|x|||true,true,true,true,5,true,true,10,ag,3,s"
    );
}

#[test]
fn structured_clone_transfers_array_buffers_and_detaches_the_source() {
    assert_eq!(
        run(r#"
            const ab = new Uint8Array([1, 2, 3]).buffer;
            const view = new Uint8Array(ab, 1, 2);
            const copy = structuredClone(view);
            const moved = structuredClone({ view, ab }, { transfer: [ab] });
            result = [copy.join(''), copy.buffer !== ab, ab.byteLength, ab.detached,
                      moved.ab.byteLength, moved.view.buffer === moved.ab, moved.view.join(''),
                      moved.view instanceof Uint8Array].join();
        "#),
        "23,true,0,true,3,true,23,true"
    );
}

#[test]
fn structured_clone_rejects_what_it_cannot_clone_with_data_clone_error() {
    assert_eq!(
        run(r#"
            const names = [];
            const ab = new ArrayBuffer(4);
            for (const f of [() => structuredClone(() => 1), () => structuredClone(Symbol()),
                             () => structuredClone({ f() {} }),
                             () => structuredClone(1, { transfer: [ab, ab] }),
                             () => structuredClone({ ab, f: () => 1 }, { transfer: [ab] })]) {
              try { f(); names.push('none'); } catch (e) { names.push(e.name + e.code); }
            }
            names.push(ab.byteLength);
            structuredClone(0, { transfer: [ab] });
            try { structuredClone(0, { transfer: [ab] }); } catch (e) { names.push(e.name); }
            result = names.join();
        "#),
        "DataCloneError25,DataCloneError25,DataCloneError25,DataCloneError25,DataCloneError25,4,DataCloneError"
    );
}

#[test]
fn queue_microtask_is_not_affected_by_a_patched_promise_then() {
    let rt = sluicegate_js::Runtime::new().unwrap();
    rt.eval(
        "globalThis.ran = false;
         Promise.prototype.then = () => { throw new Error('patched'); };
         queueMicrotask(() => { ran = true; });",
    )
    .unwrap();
    rt.run_jobs().unwrap();
    assert_eq!(rt.with(|ctx| ctx.eval::<bool, _>("ran")).ok(), Some(true));
}
