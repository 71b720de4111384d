//! The runtime: the core's microtasks share QuickJS's job FIFO, JS values stay on their thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sluicegate_js::{JsValue, Runtime};

fn log(rt: &Runtime) -> String {
    rt.with(|ctx| ctx.eval::<String, _>("log.join()").unwrap())
}

/// A core step that appends `entry` to the JS `log` when it runs.
fn push_step(rt: &Runtime, entry: &'static str) -> Box<dyn FnOnce() + Send> {
    let host = rt.js_host().clone();
    Box::new(move || {
        host.with_ctx(|ctx| ctx.eval::<(), _>(format!("log.push('{entry}')")).unwrap())
            .expect("runs on the runtime's thread");
    })
}

#[test]
fn core_microtasks_interleave_with_promise_reactions_in_fifo_order() {
    let rt = Runtime::new().unwrap();
    rt.eval("globalThis.log = []; Promise.resolve().then(() => log.push('js1'));")
        .unwrap();
    rt.host().queue_microtask(push_step(&rt, "core"));
    rt.eval("Promise.resolve().then(() => log.push('js2'));").unwrap();
    assert_eq!(log(&rt), "");
    rt.run_jobs().unwrap();
    assert_eq!(log(&rt), "js1,core,js2");
}

#[test]
fn a_core_step_queued_from_a_job_runs_after_reactions_already_queued() {
    let rt = Runtime::new().unwrap();
    let step = push_step(&rt, "core");
    let host = rt.host();
    let step = std::sync::Mutex::new(Some(step));
    rt.with(|ctx| {
        let f = rquickjs::Function::new(ctx.clone(), move || {
            host.queue_microtask(step.lock().unwrap().take().unwrap());
        })
        .unwrap();
        ctx.globals().set("queueCore", f).unwrap();
    });
    rt.eval(
        "globalThis.log = [];
         Promise.resolve().then(() => { log.push('a'); queueCore(); });
         Promise.resolve().then(() => log.push('b')).then(() => log.push('d'));",
    )
    .unwrap();
    rt.run_jobs().unwrap();
    assert_eq!(log(&rt), "a,b,core,d");
}

#[test]
fn steps_queued_from_another_thread_run_on_the_next_drain() {
    let rt = Runtime::new().unwrap();
    rt.eval("globalThis.log = []").unwrap();
    let host = rt.host();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    std::thread::spawn(move || {
        host.queue_microtask(Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }))
    })
    .join()
    .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    rt.run_jobs().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_step_is_reraised_by_run_jobs_not_through_quickjs() {
    let rt = Runtime::new().unwrap();
    rt.host().queue_microtask(Box::new(|| panic!("boom in a step")));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.run_jobs()));
    let panic = caught.expect_err("the panic surfaces");
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"boom in a step"));
    // The runtime stays usable.
    rt.eval("globalThis.log = ['after']").unwrap();
    rt.run_jobs().unwrap();
    assert_eq!(log(&rt), "after");
}

#[test]
fn spawned_futures_are_driven_by_run_jobs() {
    let rt = Runtime::new().unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    rt.host().spawn(Box::pin(async move {
        d.fetch_add(1, Ordering::SeqCst);
    }));
    rt.run_jobs().unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 1);
}

#[test]
fn eval_reports_the_thrown_error() {
    let rt = Runtime::new().unwrap();
    let err = rt.eval("throw new TypeError('bad chunk')").unwrap_err();
    assert!(err.0.contains("TypeError"), "{err}");
    assert!(err.0.contains("bad chunk"), "{err}");
}

#[test]
fn js_values_are_refused_on_other_threads_and_released_with_the_runtime() {
    let rt = Runtime::new().unwrap();
    let held = rt.with(|ctx| {
        let v: rquickjs::Value = ctx.eval("({ answer: 42 })").unwrap();
        JsValue::new(&ctx, v).unwrap()
    });
    let copy = held.clone();
    assert!(copy.same(&held));
    // Another thread can hold, clone and drop it, but never read it.
    let sent = held.clone();
    std::thread::spawn(move || {
        let again = sent.clone();
        drop(sent);
        drop(again);
    })
    .join()
    .unwrap();
    let answer: i32 = rt.with(|ctx| {
        held.get(&ctx)
            .unwrap()
            .into_object()
            .unwrap()
            .get("answer")
            .unwrap()
    });
    assert_eq!(answer, 42);
    // The last handle dropped on another thread after the runtime is gone: released, not freed
    // twice and not touched off its thread.
    drop(rt);
    std::thread::spawn(move || drop(held)).join().unwrap();
    drop(copy);
}

#[test]
fn a_value_from_a_plain_context_is_refused() {
    let rt = rquickjs::Runtime::new().unwrap();
    let ctx = rquickjs::Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        let v: rquickjs::Value = ctx.eval("1").unwrap();
        assert!(JsValue::new(&ctx, v).is_none());
    });
}

#[test]
fn a_runtime_with_open_streams_pending_reads_and_pipes_drops_cleanly() {
    let rt = sluicegate_js::Runtime::new().unwrap();
    rt.eval(
        "
        globalThis.kept = [];
        for (let i = 0; i < 200; i++) {
            const rs = new ReadableStream({ start(c) { kept.push(c); } });
            rs.getReader().read();
            const ts = new TransformStream();
            new ReadableStream().pipeTo(ts.writable);
            const bytes = new ReadableStream({ type: 'bytes' });
            bytes.getReader({ mode: 'byob' }).read(new Uint8Array(8));
        }
        ",
    )
    .unwrap();
    rt.run_jobs().unwrap();
    // Dropping the runtime frees every stream still open, every pending request and every JS
    // value the core holds, without touching QuickJS after it is freed.
    drop(rt);
}

#[test]
fn a_job_stopped_by_the_interrupt_handler_is_an_error_and_the_runtime_still_frees_cleanly() {
    // Regression: the context of a job's exception was freed once too often (rquickjs 0.11's
    // JobException), and the next GC or the runtime's drop aborted the process in QuickJS's
    // `gc_decref_child` assertion.
    let rt = Runtime::new().unwrap();
    rt.eval("globalThis.after = 0; Promise.resolve().then(() => { for (;;) {} }); Promise.resolve().then(() => { after += 1; });")
        .unwrap();
    rt.quickjs().set_interrupt_handler(Some(Box::new(|| true)));
    let error = rt.run_jobs().expect_err("the job was interrupted");
    assert!(error.0.contains("interrupted"), "{}", error.0);
    rt.quickjs().set_interrupt_handler(None);
    assert_eq!(
        rt.with(|ctx| ctx.eval::<i32, _>("after").unwrap()),
        1,
        "the next job ran"
    );
    rt.quickjs().run_gc();
    let weak = rt.quickjs().weak();
    drop(rt);
    assert!(
        weak.try_ref().is_none(),
        "the engine's runtime was freed, not leaked"
    );
}

#[test]
fn numbers_booleans_null_and_undefined_are_held_as_plain_data() {
    let rt = Runtime::new().unwrap();
    let sources = [
        "1",
        "-0",
        "0.5",
        "2 ** 53",
        "NaN",
        "-Infinity",
        "true",
        "false",
        "null",
        "undefined",
    ];
    let held: Vec<JsValue> = rt.with(|ctx| {
        sources
            .iter()
            .map(|s| JsValue::new(&ctx, ctx.eval::<rquickjs::Value, _>(*s).unwrap()).unwrap())
            .collect()
    });
    // Each comes back as the same value (Object.is), after a trip through another thread.
    let held = std::thread::spawn(move || held.clone()).join().unwrap();
    rt.with(|ctx| {
        let is: rquickjs::Function = ctx.eval("Object.is").unwrap();
        for (source, held) in sources.iter().zip(&held) {
            let expected: rquickjs::Value = ctx.eval(*source).unwrap();
            let same: bool = is.call((held.get(&ctx).unwrap(), expected)).unwrap();
            assert!(same, "{source}");
        }
    });
    // `same` is Object.is for them.
    let again = rt.with(|ctx| JsValue::new(&ctx, ctx.eval::<rquickjs::Value, _>("1.0").unwrap()).unwrap());
    assert!(held[0].same(&again), "1 and 1.0");
    assert!(!held[1]
        .same(&rt.with(|ctx| JsValue::new(&ctx, ctx.eval::<rquickjs::Value, _>("0").unwrap()).unwrap())));
    assert!(held[4].same(&held[4].clone()), "NaN is NaN");
    assert!(!held[8].same(&held[9]), "null is not undefined");
    // Another runtime's context does not get them.
    let other = Runtime::new().unwrap();
    other.with(|ctx| assert!(held[0].get(&ctx).is_none()));
}
