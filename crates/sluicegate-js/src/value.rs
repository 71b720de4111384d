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

use crate::runtime::{host_of, is_runtime_ctx, this_thread};

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
/// A number, boolean, `null` or `undefined` (a value QuickJS does not count references to) is
/// held as plain data, tied to its runtime's context by address: no handle into the engine, no
/// allocation, nothing to release. A JS pipe of numbers makes and reads two of them per chunk.
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
pub struct JsValue(Held);

#[derive(Clone)]
enum Held {
    /// A value without a reference count, and the address of the context it was made in.
    Plain(Plain, usize),
    /// Any other value: a handle into the engine.
    Shared(Arc<Slot>),
}

/// The values QuickJS does not count references to, by their tags.
#[derive(Clone, Copy, Debug)]
enum Plain {
    Int(i32),
    Float(f64),
    Bool(bool),
    Null,
    Undefined,
}

impl Plain {
    /// The plain data of `value`, if it has no reference count (only tag checks).
    fn of(value: &Value<'_>) -> Option<Plain> {
        if let Some(i) = value.as_int() {
            Some(Plain::Int(i))
        } else if let Some(f) = value.as_float() {
            Some(Plain::Float(f))
        } else if let Some(b) = value.as_bool() {
            Some(Plain::Bool(b))
        } else if value.is_undefined() {
            Some(Plain::Undefined)
        } else if value.is_null() {
            Some(Plain::Null)
        } else {
            None
        }
    }

    fn to_value<'js>(self, ctx: &Ctx<'js>) -> Value<'js> {
        let ctx = ctx.clone();
        match self {
            Plain::Int(i) => Value::new_int(ctx, i),
            // An integral float comes back as an int (QuickJS's own normalisation), -0 and NaN
            // as floats: the same number to script.
            Plain::Float(f) => Value::new_float(ctx, f),
            Plain::Bool(b) => Value::new_bool(ctx, b),
            Plain::Null => Value::new_null(ctx),
            Plain::Undefined => Value::new_undefined(ctx),
        }
    }

    /// SameValue (`Object.is`).
    fn same(self, other: Plain) -> bool {
        match (self, other) {
            (Plain::Int(a), Plain::Int(b)) => a == b,
            (Plain::Float(a), Plain::Float(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (Plain::Int(i), Plain::Float(f)) | (Plain::Float(f), Plain::Int(i)) => {
                f64::from(i).to_bits() == f.to_bits()
            }
            (Plain::Bool(a), Plain::Bool(b)) => a == b,
            (Plain::Null, Plain::Null) | (Plain::Undefined, Plain::Undefined) => true,
            _ => false,
        }
    }
}

impl fmt::Debug for JsValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Held::Plain(value, _) => f.debug_tuple("JsValue").field(value).finish(),
            Held::Shared(slot) => f
                .debug_struct("JsValue")
                .field("thread", &slot.thread)
                .finish_non_exhaustive(),
        }
    }
}

impl JsValue {
    /// Holds `value`; `None` if `ctx` is not the context of a [`crate::Runtime`].
    pub fn new<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Option<JsValue> {
        if let Some(plain) = Plain::of(&value) {
            return is_runtime_ctx(ctx).then(|| JsValue(Held::Plain(plain, ctx_address(ctx))));
        }
        Self::shared(ctx, value)
    }

    /// [`JsValue::new`] for a borrowed value: a number, boolean, `null` or `undefined` is held
    /// without touching the engine; any other value is duplicated (one more reference).
    pub(crate) fn new_ref<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> Option<JsValue> {
        if let Some(plain) = Plain::of(value) {
            return is_runtime_ctx(ctx).then(|| JsValue(Held::Plain(plain, ctx_address(ctx))));
        }
        Self::shared(ctx, value.clone())
    }

    /// An optional argument of a call, held: `undefined` when the caller passed none (a
    /// controller's `enqueue()` with no chunk).
    pub(crate) fn of_arg<'js>(ctx: &Ctx<'js>, arg: Option<&Value<'js>>) -> Option<JsValue> {
        match arg {
            Some(value) => JsValue::new_ref(ctx, value),
            None => JsValue::new(ctx, Value::new_undefined(ctx.clone())),
        }
    }

    /// Holds a value that has a reference count.
    fn shared<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Option<JsValue> {
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
        Some(JsValue(Held::Shared(slot)))
    }

    /// The value, on its runtime's thread while the runtime lives; `None` otherwise.
    pub fn get<'js>(&self, ctx: &Ctx<'js>) -> Option<Value<'js>> {
        let slot = match &self.0 {
            // Only the context it was made in (one per runtime, used on the runtime's thread)
            // has the address.
            Held::Plain(value, made_in) => {
                return (*made_in == ctx_address(ctx)).then(|| value.to_value(ctx));
            }
            Held::Shared(slot) => slot,
        };
        if this_thread() != slot.thread {
            return None;
        }
        let value = slot.value.lock().clone()?;
        value.restore(ctx).ok()
    }

    /// Whether `self` and `other` hold the same value: `Object.is` for numbers, booleans, `null`
    /// and `undefined`; for any other value, whether both come from one [`JsValue::new`] (clones).
    pub fn same(&self, other: &JsValue) -> bool {
        match (&self.0, &other.0) {
            (Held::Plain(a, _), Held::Plain(b, _)) => a.same(*b),
            (Held::Shared(a), Held::Shared(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The address of `ctx`'s `JSContext`, what a plain value is tied to.
fn ctx_address(ctx: &Ctx<'_>) -> usize {
    ctx.as_raw().as_ptr() as usize
}
