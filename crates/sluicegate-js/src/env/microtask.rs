//! `queueMicrotask(callback)`: runs `callback` as a promise job, in the same FIFO as promise
//! reactions and the core's steps. An exception thrown by the callback is reported (see
//! [`crate::env::timers::take_reported_errors`]), never turned into an unhandled rejection.

use rquickjs::Ctx;

const SOURCE: &str = r#"(() => {
  // Captured at start-up so a test that patches `Promise.prototype.then` cannot change when
  // (or whether) callbacks run.
  const resolved = Promise.resolve();
  const then = Promise.prototype.then;
  const call = Function.prototype.call;
  function queueMicrotask(callback) {
    if (typeof callback !== 'function') {
      throw new TypeError("queueMicrotask's argument must be a function");
    }
    call.call(then, resolved, () => {
      try { callback(); } catch (e) { globalThis.__sluicegateReportError(e); }
    });
  }
  Object.defineProperty(globalThis, 'queueMicrotask', { value: queueMicrotask, writable: true, configurable: true });
})();"#;

/// Defines the global `queueMicrotask`.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    // Named, so that a stack through it says where it is.
    let mut options = rquickjs::context::EvalOptions::default();
    options.filename = Some("sluicegate:queueMicrotask".into());
    ctx.eval_with_options::<(), _>(SOURCE, options)
}
