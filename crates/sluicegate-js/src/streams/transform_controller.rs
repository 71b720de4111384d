//! `TransformStreamDefaultController` over the core's controller.

use std::sync::Arc;

use parking_lot::Mutex;
use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Ctx, Exception, JsLifetime, Value};
use sluicegate::transform;

use crate::convert::{error_from_js, this_instance, throw};
use crate::value::JsValue;

/// The two sides of a transform stream, filled in once the constructor has made them; what a JS
/// controller keeps alive, as a JavaScript controller keeps its stream.
pub(crate) type Sides = Arc<Mutex<Option<transform::TransformStream<JsValue, JsValue>>>>;

/// The standard's `TransformStreamDefaultController`; made only by a `TransformStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "TransformStreamDefaultController")]
pub struct TransformStreamDefaultController {
    #[qjs(skip_trace)]
    pub(crate) inner: transform::TransformStreamDefaultController<JsValue>,
    #[qjs(skip_trace)]
    #[allow(dead_code)] // Held, never read.
    pub(crate) keep_alive: Sides,
}

impl TransformStreamDefaultController {
    /// `enqueue(chunk)` on `this` (which must be a controller), with borrowed arguments: what
    /// both the class's method and the native one script calls ([`super::native`]) do.
    pub(crate) fn enqueue_ref<'js>(
        ctx: &Ctx<'js>,
        this: &Value<'js>,
        chunk: Option<&Value<'js>>,
    ) -> rquickjs::Result<()> {
        let this = this_instance::<Self>(this)?;
        let held = JsValue::of_arg(ctx, chunk).ok_or(rquickjs::Error::Unknown)?;
        this.inner.enqueue(held).map_err(|e| throw(ctx, &e))
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl TransformStreamDefaultController {
    /// Not constructible from script.
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'_>) -> rquickjs::Result<Self> {
        Err(Exception::throw_type(&ctx, "Illegal constructor"))
    }

    /// `desiredSize`: the readable side's.
    #[qjs(get, enumerable, configurable, rename = "desiredSize")]
    pub fn desired_size<'js>(ctx: Ctx<'js>, this: This<Value<'js>>) -> rquickjs::Result<Value<'js>> {
        let this = this_instance::<Self>(&this.0)?;
        Ok(crate::convert::desired_size_to_js(ctx, this.inner.desired_size()))
    }

    /// `enqueue(chunk)`.
    pub fn enqueue<'js>(
        ctx: Ctx<'js>,
        this: This<Value<'js>>,
        chunk: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        Self::enqueue_ref(&ctx, &this.0, chunk.0.as_ref())
    }

    /// `error(reason)`.
    pub fn error<'js>(&self, ctx: Ctx<'js>, reason: Opt<Value<'js>>) {
        let reason = reason.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        self.inner.error(error_from_js(&ctx, reason));
    }

    /// `terminate()`.
    pub fn terminate(&self) {
        self.inner.terminate();
    }
}
