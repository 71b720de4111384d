//! `ByteLengthQueuingStrategy` and `CountQueuingStrategy`: the standard's two built-in
//! strategies, backed by the core's [`sluicegate::strategy`] types.

use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Class, Coerced, Ctx, Exception, Function, JsLifetime, Object, Value};
use sluicegate::strategy;

use crate::runtime::host_of;
use crate::value::JsValue;

/// Reads the required `highWaterMark` member of a `QueuingStrategyInit` dictionary, the WebIDL
/// way: `undefined`/`null` is an empty dictionary, another non-object is a `TypeError`, a missing
/// member is a `TypeError`, and the value goes through ToNumber.
fn high_water_mark_of<'js>(ctx: &Ctx<'js>, init: Value<'js>) -> rquickjs::Result<f64> {
    let member = if init.is_undefined() || init.is_null() {
        None
    } else if let Some(object) = init.as_object() {
        let v: Value = object.get("highWaterMark")?;
        (!v.is_undefined()).then_some(v)
    } else {
        return Err(Exception::throw_type(ctx, "the init argument must be an object"));
    };
    match member {
        Some(v) => Ok(v.get::<Coerced<f64>>()?.0),
        None => Err(Exception::throw_type(
            ctx,
            "Failed to read the 'highWaterMark' property from 'QueuingStrategyInit': required member",
        )),
    }
}

/// WebIDL: a constructor called without `new` throws a `TypeError`. QuickJS passes `new.target`
/// as `this` to a constructor called with `new`, and the caller's `this` otherwise.
pub(crate) fn require_new<'js>(ctx: &Ctx<'js>, new_target: &This<Value<'js>>) -> rquickjs::Result<()> {
    if new_target.0.is_constructor() {
        Ok(())
    } else {
        Err(Exception::throw_type(ctx, "Illegal constructor call: use 'new'"))
    }
}

/// The glue name under which the host keeps the `CountQueuingStrategy` size function the binding
/// made: a strategy whose `size` is that very function counts chunks without calling it.
pub(crate) const COUNT_SIZE: &str = "sizes.count";

/// One `size` function per realm and class, as the standard requires (`a.size === b.size`).
fn size_function<'js>(ctx: &Ctx<'js>, key: &str, body: &str) -> rquickjs::Result<Function<'js>> {
    let globals = ctx.globals();
    let store: Object = match globals.get::<_, Option<Object>>("__sluicegate_sizes")? {
        Some(o) => o,
        None => {
            let o = Object::new(ctx.clone())?;
            let define: Function =
                ctx.eval("(o) => Object.defineProperty(globalThis, '__sluicegate_sizes', { value: o })")?;
            define.call::<_, ()>((o.clone(),))?;
            o
        }
    };
    if let Some(f) = store.get::<_, Option<Function>>(key)? {
        return Ok(f);
    }
    let f: Function = ctx.eval(body)?;
    store.set(key, f.clone())?;
    if key == "count" {
        // Only the function made here from its fixed body, whatever script later stores.
        if let (Some(host), Some(held)) = (host_of(ctx), JsValue::new(ctx, f.clone().into_value())) {
            host.set_glue(COUNT_SIZE, held);
        }
    }
    Ok(f)
}

/// The standard's `CountQueuingStrategy`: every chunk has size 1.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "CountQueuingStrategy")]
pub struct CountQueuingStrategy {
    #[qjs(skip_trace)]
    inner: strategy::CountQueuingStrategy,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl CountQueuingStrategy {
    /// `new CountQueuingStrategy({ highWaterMark })`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        init: Opt<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let init = init.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        let hwm = high_water_mark_of(&ctx, init)?;
        Ok(CountQueuingStrategy {
            inner: strategy::CountQueuingStrategy::new(hwm),
        })
    }

    /// The high-water mark given at construction.
    #[qjs(get, enumerable, configurable)]
    pub fn high_water_mark(&self) -> f64 {
        self.inner.high_water_mark()
    }

    /// The size function: always 1.
    #[qjs(get, enumerable, configurable)]
    pub fn size<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Function<'js>> {
        size_function(&ctx, "count", "({ size() { return 1; } }).size")
    }
}

/// The standard's `ByteLengthQueuingStrategy`: a chunk's size is its `byteLength`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "ByteLengthQueuingStrategy")]
pub struct ByteLengthQueuingStrategy {
    #[qjs(skip_trace)]
    inner: strategy::ByteLengthQueuingStrategy,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl ByteLengthQueuingStrategy {
    /// `new ByteLengthQueuingStrategy({ highWaterMark })`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        init: Opt<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let init = init.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        let hwm = high_water_mark_of(&ctx, init)?;
        Ok(ByteLengthQueuingStrategy {
            inner: strategy::ByteLengthQueuingStrategy::new(hwm),
        })
    }

    /// The high-water mark given at construction.
    #[qjs(get, enumerable, configurable)]
    pub fn high_water_mark(&self) -> f64 {
        self.inner.high_water_mark()
    }

    /// The size function: the chunk's `byteLength`.
    #[qjs(get, enumerable, configurable)]
    pub fn size<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Function<'js>> {
        size_function(
            &ctx,
            "byteLength",
            "({ size(chunk) { return chunk.byteLength; } }).size",
        )
    }
}

/// Defines both classes on the global object, with their `Symbol.toStringTag`.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    Class::<CountQueuingStrategy>::define(&globals)?;
    Class::<ByteLengthQueuingStrategy>::define(&globals)?;
    let tag: Function = ctx.eval(
        "(name) => Object.defineProperty(globalThis[name].prototype, Symbol.toStringTag, \
         { value: name, configurable: true })",
    )?;
    tag.call::<_, ()>(("CountQueuingStrategy",))?;
    tag.call::<_, ()>(("ByteLengthQueuingStrategy",))?;
    Ok(())
}
