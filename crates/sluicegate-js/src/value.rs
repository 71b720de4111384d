//! [`JsValue`]: a JavaScript value the `Send` core can hold (as a chunk, a reason, a source).
//!
//! The core requires `Send + 'static` chunks and sources, while QuickJS values belong to one
//! thread. Why a checked wrapper rather than rquickjs's `parallel` feature: `parallel` makes the
//! runtime lockable from any thread, but every value still has to be used under that lock, and the
//! binding never needs another thread; the cost of a global lock on every call buys nothing here.
//! Instead a `JsValue` remembers the thread it was made on and refuses to give its value to any
//! other thread, and the runtime releases every `JsValue` before it frees itself, so no value can
//! outlive the engine it points into.

use std::fmt;
use std::sync::Arc;
use std::thread::ThreadId;

use parking_lot::Mutex;
use rquickjs::{Ctx, Persistent, Value};

use crate::runtime::{host_of, this_thread};

/// The shared cell behind a [`JsValue`].
pub(crate) struct Slot {
    thread: ThreadId,
    value: Mutex<Option<Persistent<Value<'static>>>>,
}

// SAFETY: the only non-`Send` part is the `Persistent` QuickJS value. It is created on `thread`,
// handed out only on `thread` (`JsValue::get` checks), dropped normally only on `thread` (`Drop`
// checks and leaks it elsewhere, which is safe: leaking never touches QuickJS), and released by
// `Runtime::drop` on `thread` before the engine is freed. So QuickJS state is only ever touched
// from the thread that owns it, and never after it is freed.
unsafe impl Send for Slot {}
// SAFETY: as above; shared access goes through the mutex and the same thread check.
unsafe impl Sync for Slot {}

impl Slot {
    /// Drops the value now (on the owning thread, while the runtime lives).
    pub(crate) fn release(&self) {
        if this_thread() == self.thread {
            let value = self.value.lock().take();
            drop(value);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let value = self.value.get_mut().take();
        if this_thread() != self.thread {
            // Freeing a QuickJS value off its thread would race the engine: leak it instead.
            std::mem::forget(value);
        }
    }
}

/// A JavaScript value held by the core: `Send + Sync + Clone`, usable only on its runtime's
/// thread while the runtime lives.
///
/// ```
/// use sluicegate_js::{JsValue, Runtime};
///
/// let rt = Runtime::new().unwrap();
/// let held = rt.with(|ctx| {
///     let v: rquickjs::Value = ctx.eval("({ answer: 42 })").unwrap();
///     JsValue::new(&ctx, v).unwrap()
/// });
/// let answer: i32 = rt.with(|ctx| {
///     let v = held.get(&ctx).unwrap();
///     v.into_object().unwrap().get("answer").unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone)]
pub struct JsValue(Arc<Slot>);

impl fmt::Debug for JsValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsValue")
            .field("thread", &self.0.thread)
            .finish_non_exhaustive()
    }
}

impl JsValue {
    /// Holds `value`; `None` if `ctx` is not the context of a [`crate::Runtime`].
    pub fn new<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Option<JsValue> {
        let host = host_of(ctx)?;
        let slot = Arc::new(Slot {
            thread: this_thread(),
            value: Mutex::new(Some(Persistent::save(ctx, value))),
        });
        let mut values = host.values.lock();
        if values.len() == values.capacity() {
            // Amortised pruning of values already dropped, before the vector grows.
            values.retain(|w| w.strong_count() > 0);
        }
        values.push(Arc::downgrade(&slot));
        Some(JsValue(slot))
    }

    /// The value, on its runtime's thread while the runtime lives; `None` otherwise.
    pub fn get<'js>(&self, ctx: &Ctx<'js>) -> Option<Value<'js>> {
        if this_thread() != self.0.thread {
            return None;
        }
        let value = self.0.value.lock().clone()?;
        value.restore(ctx).ok()
    }

    /// Whether `self` and `other` hold the same value (`Object.is` identity for objects).
    pub fn same(&self, other: &JsValue) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
