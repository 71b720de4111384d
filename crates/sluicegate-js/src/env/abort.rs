//! `AbortController` and `AbortSignal` (DOM), backed by the core's [`sluicegate::AbortController`]
//! so that a binding receiving a JS signal (`pipeTo(dest, { signal })`) gets the core signal with
//! [`core_signal`].
//!
//! Aborting runs the DOM's "signal abort" in its order: the reason is set (a `DOMException` named
//! `AbortError` when none is given), the core signal is aborted, which runs the core's abort
//! algorithms (a pipe's), and then the `abort` event is fired (`onabort`, then listeners in the
//! order they were added). The core signal's reason is [`error_from_js`] of the JS reason (a
//! `StreamError::user` holding it as a `JsValue`), so a pipe rejects with the very same JS value.

use rquickjs::class::Trace;
use rquickjs::{Class, Ctx, Function, JsLifetime, Object, Value};
use sluicegate::{AbortController, AbortSignal};

use crate::convert::{error_from_js, error_to_js};
use crate::runtime::host_of;
use crate::value::JsValue;

/// The property of a JS `AbortSignal` that holds its native core controller (non-enumerable).
const NATIVE_KEY: &str = "__sluicegateNative";

/// The native half of a JS `AbortController`/`AbortSignal` pair: the core controller.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "SluicegateNativeAbort")]
pub struct NativeAbort {
    /// The core controller of a signal made by `new AbortController()`; `None` for a signal that
    /// follows a core signal (see [`js_signal_following`]).
    #[qjs(skip_trace)]
    controller: Option<AbortController>,
    #[qjs(skip_trace)]
    signal: AbortSignal,
}

const SOURCE: &str = r#"((makeNative, abortNative) => {
  const NATIVE = '__sluicegateNative';
  const state = new WeakMap();
  const brand = (signal) => {
    const s = state.get(signal);
    if (!s) throw new TypeError('Illegal invocation: not an AbortSignal');
    return s;
  };
  function signalAbort(signal, reason) {
    const s = state.get(signal);
    if (s.aborted) return;
    if (reason === undefined) reason = new DOMException('signal is aborted without reason', 'AbortError');
    s.aborted = true;
    s.reason = reason;
    abortNative(signal[NATIVE], reason);
    const event = { type: 'abort', target: signal, currentTarget: signal, bubbles: false,
                    cancelable: false, defaultPrevented: false, isTrusted: true, timeStamp: 0 };
    const report = (e) => globalThis.__sluicegateReportError(e);
    if (typeof s.onabort === 'function') {
      try { s.onabort.call(signal, event); } catch (e) { report(e); }
    }
    for (const entry of [...s.listeners]) {
      if (entry.removed) continue;
      if (entry.once) { entry.removed = true; s.listeners.splice(s.listeners.indexOf(entry), 1); }
      try {
        if (typeof entry.listener === 'function') entry.listener.call(signal, event);
        else entry.listener.handleEvent(event);
      } catch (e) { report(e); }
    }
  }
  class AbortSignal {
    constructor() { throw new TypeError('Illegal constructor'); }
    get aborted() { return brand(this).aborted; }
    get reason() { return brand(this).reason; }
    get onabort() { return brand(this).onabort; }
    set onabort(f) { brand(this).onabort = (typeof f === 'function' || (f && typeof f === 'object')) ? f : null; }
    throwIfAborted() { const s = brand(this); if (s.aborted) throw s.reason; }
    addEventListener(type, listener, options) {
      const s = brand(this);
      if (listener == null || String(type) !== 'abort') return;
      const once = typeof options === 'object' && options !== null && !!options.once;
      if (s.listeners.some((e) => e.listener === listener)) return;
      s.listeners.push({ listener, once, removed: false });
    }
    removeEventListener(type, listener) {
      const s = brand(this);
      if (String(type) !== 'abort') return;
      const i = s.listeners.findIndex((e) => e.listener === listener);
      if (i >= 0) { s.listeners[i].removed = true; s.listeners.splice(i, 1); }
    }
    dispatchEvent(event) { return true; }
    static abort(reason) {
      const signal = createSignal();
      signalAbort(signal, reason);
      return signal;
    }
  }
  Object.defineProperty(AbortSignal.prototype, Symbol.toStringTag, { value: 'AbortSignal', configurable: true });
  function createSignal(native = makeNative()) {
    const signal = Object.create(AbortSignal.prototype);
    Object.defineProperty(signal, NATIVE, { value: native });
    state.set(signal, { aborted: false, reason: undefined, onabort: null, listeners: [] });
    return signal;
  }
  class AbortController {
    #signal = createSignal();
    get signal() { return this.#signal; }
    abort(reason) { signalAbort(this.#signal, reason); }
  }
  Object.defineProperty(AbortController.prototype, Symbol.toStringTag, { value: 'AbortController', configurable: true });
  const define = (name, value) => Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  define('AbortSignal', AbortSignal);
  define('AbortController', AbortController);
  // For native code: a signal over a given native half, and "signal abort" on it.
  return [createSignal, signalAbort];
})"#;

/// Defines `AbortController` and `AbortSignal`.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<()> {
    let make = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>| -> rquickjs::Result<Class<'js, NativeAbort>> {
            let controller = AbortController::new();
            let signal = controller.signal();
            Class::instance(
                ctx,
                NativeAbort {
                    controller: Some(controller),
                    signal,
                },
            )
        },
    )?;
    let abort = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, native: Class<'js, NativeAbort>, reason: Value<'js>| {
            // The JS side always passes a reason (the default AbortError DOMException when
            // none was given), so the core's reason is that very value.
            let error = error_from_js(&ctx, reason);
            // A shared borrow: re-entry from an abort algorithm can only read (core_signal);
            // the JS side marks the signal aborted before calling here, so no second abort.
            if let Some(controller) = &native.borrow().controller {
                controller.abort(Some(error));
            }
        },
    )?;
    let setup: Function = ctx.eval(SOURCE)?;
    let pair: rquickjs::Array = setup.call((make, abort))?;
    let (create, signal_abort): (Value, Value) = (pair.get(0)?, pair.get(1)?);
    if let Some(host) = host_of(ctx) {
        if let Some(create) = JsValue::new(ctx, create) {
            host.set_glue("abort.createSignal", create);
        }
        if let Some(signal_abort) = JsValue::new(ctx, signal_abort) {
            host.set_glue("abort.signalAbort", signal_abort);
        }
    }
    Ok(())
}

/// A JS `AbortSignal` that follows the core signal `signal`: aborted, with the core reason's JS
/// value and its `abort` event, at the moment the core signal is (a writable stream controller's
/// `signal`). [`core_signal`] of it gives `signal` back.
pub fn js_signal_following<'js>(ctx: &Ctx<'js>, signal: AbortSignal) -> rquickjs::Result<Value<'js>> {
    let host = host_of(ctx).ok_or(rquickjs::Error::Unknown)?;
    let create = host
        .glue(ctx, "abort.createSignal")
        .ok_or(rquickjs::Error::Unknown)?;
    let native = Class::instance(
        ctx.clone(),
        NativeAbort {
            controller: None,
            signal: signal.clone(),
        },
    )?;
    let js: Value = create.call((native,))?;
    let held = JsValue::new(ctx, js.clone()).ok_or(rquickjs::Error::Unknown)?;
    let weak_host = std::sync::Arc::downgrade(&host);
    // The algorithm runs where the core signal is aborted (never under a stream's lock); it holds
    // the JS signal, as the core signal's abort algorithms would in a browser.
    // Never removed: the JS signal follows the core signal for as long as both live.
    let _following = signal.add_algorithm(move |reason| {
        let Some(host) = weak_host.upgrade() else { return };
        let reason = reason.clone();
        host.clone().with_ctx(|ctx| {
            let (Some(signal_abort), Some(js)) = (host.glue(ctx, "abort.signalAbort"), held.get(ctx)) else {
                return;
            };
            if let Ok(reason) = error_to_js(ctx, &reason) {
                let _ = signal_abort.call::<_, ()>((js, reason));
            }
        });
    });
    Ok(js)
}

/// The core signal behind a JS `AbortSignal` made by this module; `None` for any other value.
pub fn core_signal(value: &Value<'_>) -> Option<AbortSignal> {
    let object: &Object = value.as_object()?;
    let native: Object = object.get(NATIVE_KEY).ok()?;
    let class = Class::<NativeAbort>::from_object(&native)?;
    let signal = class.borrow().signal.clone();
    Some(signal)
}
