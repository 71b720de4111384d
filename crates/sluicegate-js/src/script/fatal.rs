//! What ends a script with an error, as in Node: an exception nobody catches (thrown by the script,
//! a timer or a `queueMicrotask` callback) and a promise rejected with no handler by the end of the
//! microtask checkpoint.
//!
//! An uncaught exception in a callback is printed and the process exits with status 1 at that
//! moment, before any other job runs (the runner replaces the hidden error-report hook the timers
//! and `queueMicrotask` call). Rejections are tracked with QuickJS's rejection tracker: a promise
//! rejected with no handler is remembered, and forgotten if a handler is attached later; whatever
//! is still remembered when the job queue runs dry is reported. Promises the standard marks as
//! handled (a reader's or writer's `closed`, a writer's `ready`) are never reported.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use rquickjs::{Ctx, Function, Value};

use crate::env::inspect::inspect;
use crate::value::JsValue;
use crate::Runtime;

/// The status a script that failed exits with.
pub const FAILURE: i32 = 1;

/// `Uncaught <the value, as console shows it>`, printed to stderr.
pub fn print_uncaught<'js>(ctx: &Ctx<'js>, label: &str, value: Value<'js>) {
    let shown = match value.as_string() {
        Some(s) => s.to_string().unwrap_or_default(),
        None => inspect(ctx, value),
    };
    let _ = std::io::stdout().flush();
    let _ = writeln!(std::io::stderr().lock(), "{label} {shown}");
}

/// Prints an uncaught exception and exits the process with [`FAILURE`] at once (or, if the run's
/// deadline has passed, which is why the engine threw, reports the time-out and exits with its
/// status).
pub fn die<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> ! {
    if let Some(limit) = super::deadline::passed_on_this_thread() {
        std::process::exit(super::deadline::report(limit));
    }
    print_uncaught(ctx, "Uncaught", value);
    std::process::exit(FAILURE)
}

/// A JS-callable `(error) => never`: prints the error as uncaught and exits.
pub fn fatal_hook() -> impl for<'js> Fn(Ctx<'js>, Value<'js>) + 'static {
    |ctx, e| die(&ctx, e)
}

/// Rejected promises that have no handler yet, with their reasons.
#[derive(Clone, Default)]
pub struct Rejections(Rc<RefCell<Vec<(JsValue, JsValue)>>>);

impl Rejections {
    /// Installs the tracker on `rt` and the hook that makes exceptions in callbacks fatal.
    pub fn install(rt: &Runtime) -> rquickjs::Result<Rejections> {
        let rejections = Rejections::default();
        let list = rejections.0.clone();
        rt.quickjs().set_host_promise_rejection_tracker(Some(Box::new(
            move |ctx, promise, reason, handled| {
                let mut list = list.borrow_mut();
                if handled {
                    list.retain(|(p, _)| p.get(&ctx).is_none_or(|p| p != promise));
                } else if crate::streams::promise::is_marked_handled(&ctx, &promise) {
                    // A reader's `closed` or a writer's `ready`: the standard marks it handled.
                } else if let (Some(p), Some(r)) = (JsValue::new(&ctx, promise), JsValue::new(&ctx, reason)) {
                    list.push((p, r));
                }
            },
        )));
        rt.with(|ctx| -> rquickjs::Result<()> {
            let report = Function::new(ctx.clone(), fatal_hook())?;
            let define: Function = ctx.eval(
                "(value) => Object.defineProperty(globalThis, '__sluicegateReportError', { value, configurable: true })",
            )?;
            define.call::<_, ()>((report,))
        })?;
        Ok(rejections)
    }

    /// At the end of a microtask checkpoint: prints the first rejection still unhandled, if any,
    /// and says whether there was one.
    pub fn report_unhandled(&self, rt: &Runtime) -> bool {
        let pending = std::mem::take(&mut *self.0.borrow_mut());
        if pending.is_empty() {
            return false;
        }
        rt.with(|ctx| {
            // Checked now, not when the tracker saw it: a `closed` getter's promise may be
            // rejected while it is made, before it is marked.
            let first = pending.into_iter().find(|(promise, _)| {
                promise
                    .get(&ctx)
                    .is_some_and(|p| !crate::streams::promise::is_marked_handled(&ctx, &p))
            });
            let Some((_, reason)) = first else {
                return false;
            };
            let reason = reason
                .get(&ctx)
                .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
            print_uncaught(&ctx, "Uncaught (in promise)", reason);
            true
        })
    }

    /// Forgets everything (before the runtime is dropped).
    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }
}
