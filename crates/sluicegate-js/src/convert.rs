//! Conversions at the seam between JavaScript and the core: errors both ways, and a user
//! algorithm's return value (a JS promise or not) as the core's [`Completion`].

use rquickjs::class::JsClass;
use rquickjs::{Ctx, Exception, Function, Value};
use sluicegate::readable::TeeCancelReasons;
use sluicegate::{Completion, ErrorKind, StreamError};

use crate::runtime::host_of;
use crate::value::JsValue;

/// Source of the reaction helper: "react to a promise resolved with `v`" using the `Promise`,
/// `Promise.prototype.then` and `Reflect.apply` captured when the runtime starts, so scripts that
/// patch them (as WPT's `patched-global` tests do) do not change the binding's steps.
///
/// Web IDL's "a promise resolved with" (and its conversion of a callback's return value to a
/// promise type) always makes a new promise, even of a promise: that one is adopted through a
/// NewPromiseResolveThenableJob and its `then` reaction, two microtasks later than reacting to it
/// directly. ECMAScript's `PromiseResolve` would hand a native promise back unchanged; the
/// standard does not use it, and WPT sees the difference (`transform-streams/cancel.any.js`: a
/// `transformer.cancel()` that returns a promise reacts after the writable's start reaction).
///
/// The fourth argument is the [`Conversion`]. With `1` (in place) it does what the standard's
/// "resolve *p* with *v*" does for a promise *p* the core owns (a transform stream's
/// `[[startPromise]]`, resolved with what `transformer.start()` returned): ECMAScript's promise
/// resolve functions, step for step, with the core's promise in place of *p*. A value that is not
/// a thenable fulfils *p* at once (the helper returns `true` and calls nothing); a thenable is
/// adopted by a NewPromiseResolveThenableJob whose resolving functions call `onFulfilled` or
/// `onRejected` in the job that settles *p*. That is one job sooner than reacting to a new
/// promise resolved with *v*, as the standard's `[[startPromise]]` is that promise itself (found
/// by the differential tests against the reference implementation, `tests/web_differential.rs`).
/// The job is queued as a reaction to a promise fulfilled at start-up, so it takes its place in
/// QuickJS's one FIFO of jobs. With `2` (direct) it reacts to the promise *v* itself: for the
/// binding's own glue, whose algorithms are the standard's and return a promise the standard
/// reacts to as it is.
const REACT_SOURCE: &str = "(() => {
  const P = Promise, then = P.prototype.then, apply = Reflect.apply;
  const fulfilled = P.resolve();
  const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';
  const thenableJob = (x, thenAction, onFulfilled, onRejected) => apply(then, fulfilled, [() => {
    let done = false;
    const resolve = (y) => {
      if (done) return;
      done = true;
      if (!isObject(y)) return onFulfilled();
      let next;
      try { next = y.then; } catch (e) { return onRejected(e); }
      if (typeof next !== 'function') return onFulfilled();
      thenableJob(y, next, onFulfilled, onRejected);
    };
    const reject = (r) => {
      if (done) return;
      done = true;
      onRejected(r);
    };
    try { apply(thenAction, x, [resolve, reject]); } catch (e) { reject(e); }
  }]);
  return (v, onFulfilled, onRejected, mode) => {
    if (mode === 2) {
      apply(then, v, [onFulfilled, onRejected]);
      return false;
    }
    if (mode !== 1) {
      apply(then, new P(resolve => resolve(v)), [onFulfilled, onRejected]);
      return false;
    }
    let thenAction;
    try { thenAction = v.then; } catch (e) { onRejected(e); return false; }
    if (typeof thenAction !== 'function') return true;
    thenableJob(v, thenAction, onFulfilled, onRejected);
    return false;
  };
})()";

/// How a user algorithm's (or the glue's) result becomes a completion.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Conversion {
    /// "A promise resolved with" the value, reacted to: a Web IDL callback's return value.
    ResolvedWith = 0,
    /// "Resolve *p* with" the value, for a promise *p* of the core's own (see
    /// `REACT_SOURCE`).
    InPlace = 1,
    /// The value is a promise the standard's own algorithm returned, reacted to as it is (the
    /// glue of `ReadableStream.from`).
    Direct = 2,
}

/// Captures the reaction helper; called by [`crate::install`].
pub(crate) fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let react: Value = ctx.eval(REACT_SOURCE)?;
    if let Some(host) = host_of(ctx) {
        *host.react.lock() = JsValue::new(ctx, react);
    }
    Ok(())
}

/// A JS exception or rejection reason as a core error that keeps the very value: converting it
/// back with [`error_to_js`] gives the same value (`promise_rejects_exactly` holds).
pub fn error_from_js<'js>(ctx: &Ctx<'js>, reason: Value<'js>) -> StreamError {
    if reason.is_undefined() {
        return StreamError::undefined();
    }
    match JsValue::new(ctx, reason) {
        Some(held) => StreamError::user(held),
        None => StreamError::user("a reason from outside a sluicegate runtime"),
    }
}

/// The pending exception of `ctx` (after an `Err(Error::Exception)`) as a core error.
pub fn caught_error(ctx: &Ctx<'_>, error: rquickjs::Error) -> StreamError {
    match error {
        rquickjs::Error::Exception => error_from_js(ctx, ctx.catch()),
        other => StreamError::type_error(other.to_string()),
    }
}

/// A core error as the JS value the standard has: the user's own value, or a new `TypeError`,
/// `RangeError`, `AbortError` `DOMException` (an `Error` named `AbortError` when `DOMException`
/// is not installed), `undefined`, or an `Error` describing a panic.
///
/// An error is converted once: converting the same error again (a clone of it) gives the very same
/// JS object, as the standard's one error object rejects every promise it reaches.
pub fn error_to_js<'js>(ctx: &Ctx<'js>, e: &StreamError) -> rquickjs::Result<Value<'js>> {
    if let Some(value) = e.reason::<JsValue>().and_then(|held| held.get(ctx)) {
        return Ok(value);
    }
    if e.kind() == ErrorKind::Undefined {
        return Ok(Value::new_undefined(ctx.clone()));
    }
    if let Some(value) = e.binding_value::<JsValue>().and_then(|held| held.get(ctx)) {
        return Ok(value);
    }
    let value = new_error_value(ctx, e)?;
    if let Some(held) = JsValue::new(ctx, value.clone()) {
        e.set_binding_value(held);
    }
    Ok(value)
}

/// A new JS value for an error that has none yet.
fn new_error_value<'js>(ctx: &Ctx<'js>, e: &StreamError) -> rquickjs::Result<Value<'js>> {
    match e.kind() {
        ErrorKind::Undefined => Ok(Value::new_undefined(ctx.clone())),
        ErrorKind::User => {
            // A tee's composite cancel reason is the standard's array « reason1, reason2 ».
            if let Some(reasons) = e.reason::<TeeCancelReasons>() {
                let array = rquickjs::Array::new(ctx.clone())?;
                array.set(0, error_to_js(ctx, reasons.branch1())?)?;
                array.set(1, error_to_js(ctx, reasons.branch2())?)?;
                return Ok(array.into_value());
            }
            Ok(Exception::from_message(ctx.clone(), e.message())?.into_value())
        }
        ErrorKind::Type => construct_error(ctx, "TypeError", e.message()),
        ErrorKind::Range => construct_error(ctx, "RangeError", e.message()),
        ErrorKind::Abort => {
            let globals = ctx.globals();
            if let Ok(dom) = globals.get::<_, rquickjs::function::Constructor>("DOMException") {
                return dom.construct((e.message(), "AbortError"));
            }
            let error = construct_error(ctx, "Error", e.message())?;
            if let Some(object) = error.as_object() {
                object.set("name", "AbortError")?;
            }
            Ok(error)
        }
        _ => construct_error(ctx, "Error", e.message()),
    }
}

fn construct_error<'js>(ctx: &Ctx<'js>, class: &str, message: &str) -> rquickjs::Result<Value<'js>> {
    let constructor: rquickjs::function::Constructor = ctx.globals().get(class)?;
    constructor.construct((message,))
}

/// Throws `e` in `ctx` (as [`error_to_js`] gives it); returns the error to propagate.
pub fn throw(ctx: &Ctx<'_>, e: &StreamError) -> rquickjs::Error {
    match error_to_js(ctx, e) {
        Ok(value) => ctx.throw(value),
        Err(other) => other,
    }
}

/// What a user algorithm returned, as the core's [`Completion`]: an exception is a rejection, a
/// value is "a promise resolved with" it. A promise or thenable settles the completion when it
/// settles (through the captured `then`, in QuickJS's job queue); any other value is fulfilled.
///
/// The callbacks settle the completion with [`sluicegate::host::Resolver::settle_from_reaction`],
/// so the core's steps "upon fulfillment" run inside the promise's own reaction job, as the
/// standard's do.
pub fn completion_from_js<'js>(ctx: &Ctx<'js>, result: rquickjs::Result<Value<'js>>) -> Completion {
    completion_from_js_keeping(ctx, result, None)
}

/// [`completion_from_js`], keeping `keep` (the stream the algorithm belongs to) alive while the
/// JS promise is pending, as the promise's reactions keep it alive in JavaScript, and then until
/// the core's reaction to it has run ([`crate::JsHost::hold_until_idle`]).
pub fn completion_from_js_keeping<'js>(
    ctx: &Ctx<'js>,
    result: rquickjs::Result<Value<'js>>,
    keep: Option<Box<dyn std::any::Any + Send>>,
) -> Completion {
    completion_from_js_keeping_lazily(ctx, result, || keep)
}

/// [`completion_from_js_keeping`], asking `keep` for what to keep alive only when the result is a
/// promise or thenable: a primitive result (the common case on every chunk) settles at once and
/// keeps nothing, so it costs no stream handle and no allocation.
pub(crate) fn completion_from_js_keeping_lazily<'js>(
    ctx: &Ctx<'js>,
    result: rquickjs::Result<Value<'js>>,
    keep: impl FnOnce() -> Option<Box<dyn std::any::Any + Send>>,
) -> Completion {
    completion_with(ctx, result, keep, Conversion::ResolvedWith)
}

/// A user algorithm's result (or exception) as a completion: with [`Conversion::ResolvedWith`], "a
/// promise resolved with" the value, reacted to ([`completion_from_js`]); with
/// [`Conversion::Direct`], the promise itself reacted to; with [`Conversion::InPlace`], what
/// "resolve *p* with" the value makes of a promise *p* the core owns, for the one place the
/// standard resolves a promise of its own with a user algorithm's result: a transform stream's
/// `[[startPromise]]`, resolved with what `transformer.start()` returned. Then a value that is not
/// a thenable fulfils at once, and a thenable is adopted: the completion settles in the job that
/// settles *p*, one job before a reaction to a new promise resolved with the value would (see
/// `REACT_SOURCE`). An exception is the algorithm's either way (the constructor rethrows it). A
/// `then` getter that throws rejects *p* at once in the standard; here the completion is rejected
/// at once, and the core sees it one job later, as it always has.
pub(crate) fn completion_with<'js>(
    ctx: &Ctx<'js>,
    result: rquickjs::Result<Value<'js>>,
    keep: impl FnOnce() -> Option<Box<dyn std::any::Any + Send>>,
    conversion: Conversion,
) -> Completion {
    let value = match result {
        Ok(value) => value,
        Err(error) => return Completion::err(caught_error(ctx, error)),
    };
    // A primitive cannot be a thenable; an object goes through the promise machinery, which reads
    // its `then` exactly once, as the standard's "a promise resolved with" does.
    if !value.is_object() && !value.is_function() {
        return Completion::ok();
    }
    let react = host_of(ctx)
        .and_then(|host| host.react.lock().clone())
        .and_then(|held| held.get(ctx));
    let Some(react) = react.as_ref().and_then(as_function) else {
        return Completion::err(StreamError::type_error("not a sluicegate runtime"));
    };
    let (completion, resolver) = Completion::deferred();
    let on_rejected_resolver = resolver.clone();
    let kept = std::sync::Arc::new(parking_lot::Mutex::new(keep()));
    let on_rejected_kept = kept.clone();
    let wired = (|| -> rquickjs::Result<bool> {
        let on_fulfilled = Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
            resolver.settle_from_reaction(Ok(()));
            release_kept(&ctx, &kept);
        })?;
        let on_rejected = Function::new(ctx.clone(), move |ctx: Ctx<'js>, reason: Value<'js>| {
            on_rejected_resolver.settle_from_reaction(Err(error_from_js(&ctx, reason)));
            release_kept(&ctx, &on_rejected_kept);
        })?;
        react.call::<_, bool>((value, on_fulfilled, on_rejected, conversion as i32))
    })();
    match wired {
        // Not a thenable: fulfilled now.
        Ok(true) => Completion::ok(),
        Ok(false) => completion,
        Err(error) => Completion::err(caught_error(ctx, error)),
    }
}

/// Hands what a settled promise's callbacks kept alive to the host until the core has reacted.
fn release_kept(ctx: &Ctx<'_>, kept: &parking_lot::Mutex<Option<Box<dyn std::any::Any + Send>>>) {
    let Some(keep) = kept.lock().take() else {
        return;
    };
    match host_of(ctx) {
        Some(host) => host.hold_until_idle(keep),
        None => drop(keep),
    }
}

/// Calls the user algorithm `f` (a method of an underlying source, sink or transformer) with
/// `this` (undefined when `None`) and `args`, as a completion that keeps `keep` alive while the
/// returned promise is pending (see [`completion_from_js_keeping`]). A missing function is a
/// promise resolved with undefined, as the standard's default algorithms are.
pub fn call_algorithm<'js>(
    ctx: &Ctx<'js>,
    f: &JsValue,
    this: Option<&JsValue>,
    args: Vec<Value<'js>>,
    keep: Option<Box<dyn std::any::Any + Send>>,
) -> Completion {
    let args: Vec<&Value<'js>> = args.iter().collect();
    call_algorithm_keeping_lazily(ctx, f, this, &args, || keep)
}

/// [`call_algorithm`], asking `keep` for what to keep alive only if the algorithm returns a
/// promise or thenable (see [`completion_from_js_keeping_lazily`]).
pub(crate) fn call_algorithm_keeping_lazily<'js>(
    ctx: &Ctx<'js>,
    f: &JsValue,
    this: Option<&JsValue>,
    args: &[&Value<'js>],
    keep: impl FnOnce() -> Option<Box<dyn std::any::Any + Send>>,
) -> Completion {
    call_algorithm_with(ctx, f, this, args, keep, Conversion::ResolvedWith)
}

/// [`call_algorithm_keeping_lazily`] with the result taken as `conversion` says (see
/// [`Conversion`]): `transformer.start()`'s resolves the stream's `[[startPromise]]` in place.
pub(crate) fn call_algorithm_with<'js>(
    ctx: &Ctx<'js>,
    f: &JsValue,
    this: Option<&JsValue>,
    args: &[&Value<'js>],
    keep: impl FnOnce() -> Option<Box<dyn std::any::Any + Send>>,
    conversion: Conversion,
) -> Completion {
    let Some(f) = f.get(ctx) else {
        return Completion::ok();
    };
    let Some(f) = as_function(&f) else {
        return Completion::ok();
    };
    let this = this.and_then(|t| t.get(ctx));
    let result = call_borrowed(ctx, f, this.as_ref(), args);
    completion_with(ctx, result, keep, conversion)
}

/// Calls `f` with `this` (undefined when `None`) and `args`, all borrowed: what `Function::call`
/// does, without its argument list (which duplicates the context and each argument, and frees
/// them after): `JS_Call` only borrows its arguments. Up to four live on the stack.
pub(crate) fn call_borrowed<'js>(
    ctx: &Ctx<'js>,
    f: &Function<'js>,
    this: Option<&Value<'js>>,
    args: &[&Value<'js>],
) -> rquickjs::Result<Value<'js>> {
    let mut small = [rquickjs::qjs::JS_UNDEFINED; 4];
    let mut large = Vec::new();
    let argv: &mut [rquickjs::qjs::JSValue] = match small.get_mut(..args.len()) {
        Some(argv) => {
            for (slot, v) in argv.iter_mut().zip(args) {
                *slot = v.as_raw();
            }
            argv
        }
        None => {
            large.extend(args.iter().map(|v| v.as_raw()));
            &mut large
        }
    };
    let argc = argv.len();
    let this = this.map_or(rquickjs::qjs::JS_UNDEFINED, Value::as_raw);
    // SAFETY: `ctx` is live and current; `f`, `this` and the `argc` values in `argv` are values
    // of its runtime, borrowed (kept alive by the callers' `Value`s across the call), and
    // `JS_Call` takes them as `JSValueConst` (it duplicates what it keeps). Its result is owned,
    // which `from_raw` takes over. Tested by `convert::call_borrowed_calls_as_function_call_does`.
    let result = unsafe {
        let raw = rquickjs::qjs::JS_Call(
            ctx.as_raw().as_ptr(),
            f.as_raw(),
            this,
            argc as _,
            argv.as_mut_ptr(),
        );
        Value::from_raw(ctx.clone(), raw)
    };
    if result.is_exception() {
        return Err(raised(ctx));
    }
    Ok(result)
}

/// The error for an exception `JS_Call` returned. rquickjs keeps a panic raised in a class
/// method script called (it must not unwind through QuickJS) and re-raises it when it next sees
/// an exception come back from QuickJS, as `Function::call` would have here: so it is shown one
/// (a throw of `undefined`), then the pending exception is thrown again.
fn raised(ctx: &Ctx<'_>) -> rquickjs::Error {
    let pending = ctx.catch();
    let _ = ctx.eval::<(), _>("throw undefined");
    drop(ctx.catch());
    ctx.throw(pending)
}

/// `value` as a function if it is callable (any function, bound function or callable proxy).
///
/// One question to QuickJS, where `Value::as_function` asks up to five (`type_of` tells arrays,
/// constructors, functions, promises, errors and proxies apart) on every algorithm call.
pub(crate) fn as_function<'a, 'js>(value: &'a Value<'js>) -> Option<&'a Function<'js>> {
    if !value.is_function() {
        return None;
    }
    // SAFETY: `Function` is a transparent wrapper of a value that is callable, and
    // `is_function` (JS_IsFunction) has just said this one is; the reference borrows `value`.
    // Tested by `convert::as_function_takes_every_callable_and_nothing_else`.
    Some(unsafe { value.ref_function() })
}

/// `this` as an instance of the class `C`, borrowed for the call: what a `&self` method gets, with
/// one class-id lookup where rquickjs's own extraction first asks `type_of` its five questions.
/// For the methods script calls on every chunk (a controller's `enqueue` and `desiredSize`).
pub(crate) fn this_instance<'a, 'js, C: JsClass<'js>>(
    this: &'a Value<'js>,
) -> rquickjs::Result<rquickjs::class::Borrow<'a, 'js, C>> {
    let class = if this.is_object() {
        // SAFETY: `Object` is a transparent wrapper of a value whose tag is an object, which
        // `is_object` has just checked; the reference borrows `this`. Tested by
        // `convert::this_instance_takes_only_instances_of_its_class`.
        unsafe { this.ref_object() }.as_class::<C>()
    } else {
        None
    };
    let Some(class) = class else {
        return Err(rquickjs::Error::FromJs {
            from: this.type_name(),
            to: C::NAME,
            message: None,
        });
    };
    class.try_borrow()
}

/// A `desiredSize` as the IDL's `unrestricted double?`: the number, or `null`.
pub fn desired_size_to_js(ctx: Ctx<'_>, size: Option<f64>) -> Value<'_> {
    match size {
        Some(size) => Value::new_number(ctx, size),
        None => Value::new_null(ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Runtime;

    #[test]
    fn as_function_takes_every_callable_and_nothing_else() {
        let rt = Runtime::new().unwrap();
        rt.with(|ctx| {
            let callables = [
                "(function f(x) { return x + 1; })",
                "((x) => x + 1)",
                "({ m(x) { return x + 1; } }).m",
                "(function (x) { return x + this.one; }).bind({ one: 1 })",
                "new Proxy((x) => x + 1, {})",
                "(class { static f(x) { return x + 1; } }).f",
            ];
            for source in callables {
                let v: Value = ctx.eval(source).unwrap();
                let f = as_function(&v).unwrap_or_else(|| panic!("{source} is callable"));
                assert_eq!(f.call::<_, i32>((41,)).unwrap(), 42, "{source}");
            }
            for source in [
                "({})",
                "[1]",
                "Promise.resolve()",
                "new Error('e')",
                "new Proxy({}, {})",
                "1",
                "'f'",
                "undefined",
            ] {
                let v: Value = ctx.eval(source).unwrap();
                assert!(as_function(&v).is_none(), "{source} is not callable");
            }
        });
    }

    #[test]
    fn call_borrowed_calls_as_function_call_does() {
        let rt = Runtime::new().unwrap();
        rt.with(|ctx| {
            let f: Value = ctx
                .eval("(function (...args) { if (args[0] === 'throw') throw new RangeError('r'); return [this === undefined ? 'u' : this.k, ...args].join(); })")
                .unwrap();
            let f = as_function(&f).unwrap();
            let this: Value = ctx.eval("({ k: 'K' })").unwrap();
            let a: Value = ctx.eval("'a'").unwrap();
            let b: Value = ctx.eval("({ toString() { return 'b'; } })").unwrap();
            let r = call_borrowed(&ctx, f, Some(&this), &[&a, &b]).unwrap();
            assert_eq!(r.as_string().unwrap().to_string().unwrap(), "K,a,b");
            let r = call_borrowed(&ctx, f, None, &[]).unwrap();
            assert_eq!(r.as_string().unwrap().to_string().unwrap(), "u");
            let r = call_borrowed(&ctx, f, None, &[&a, &b, &a, &b, &a]).unwrap();
            assert_eq!(r.as_string().unwrap().to_string().unwrap(), "u,a,b,a,b,a");
            let t: Value = ctx.eval("'throw'").unwrap();
            assert!(matches!(call_borrowed(&ctx, f, None, &[&t]), Err(rquickjs::Error::Exception)));
            let thrown = ctx.catch();
            let name: String = thrown.as_object().unwrap().get("name").unwrap();
            assert_eq!(name, "RangeError");
            // The borrowed values are still alive and usable.
            assert!(b.as_object().unwrap().get::<_, Value>("toString").unwrap().is_function());
        });
    }

    #[test]
    fn this_instance_takes_only_instances_of_its_class() {
        use crate::streams::default_controller::ReadableStreamDefaultController;
        use crate::streams::transform_controller::TransformStreamDefaultController;
        let rt = Runtime::new().unwrap();
        rt.with(|ctx| {
            let c: Value = ctx
                .eval("let c; new ReadableStream({ start(x) { c = x; } }, { highWaterMark: 3 }); c")
                .unwrap();
            let this = this_instance::<ReadableStreamDefaultController>(&c).unwrap();
            assert_eq!(this.inner.desired_size(), Some(3.0));
            drop(this);
            assert!(this_instance::<TransformStreamDefaultController>(&c).is_err());
            for source in ["({})", "ReadableStreamDefaultController.prototype", "1", "null"] {
                let v: Value = ctx.eval(source).unwrap();
                let e = this_instance::<ReadableStreamDefaultController>(&v).err();
                assert!(matches!(e, Some(rquickjs::Error::FromJs { .. })), "{source}");
            }
        });
    }
}
