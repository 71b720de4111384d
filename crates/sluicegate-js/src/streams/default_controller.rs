//! `ReadableStreamDefaultController` over the core's controller.

use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Ctx, Exception, JsLifetime, Value};
use sluicegate::readable;

use crate::convert::{error_from_js, this_instance, throw};
use crate::value::JsValue;

/// The standard's `ReadableStreamDefaultController`; made only by a `ReadableStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "ReadableStreamDefaultController")]
pub struct ReadableStreamDefaultController {
    #[qjs(skip_trace)]
    pub(crate) inner: readable::ReadableStreamDefaultController<JsValue>,
    /// The stream, kept alive while script holds its controller (as in JavaScript, where the
    /// controller references its stream).
    #[qjs(skip_trace)]
    #[allow(dead_code)] // Held, never read.
    pub(crate) keep_alive: Option<readable::ReadableStream<JsValue>>,
}

impl ReadableStreamDefaultController {
    /// `desiredSize` of `this` (which must be a controller), borrowed: what both the class's
    /// getter and the native one script calls ([`super::native`]) answer.
    pub(crate) fn desired_size_of(this: &Value<'_>) -> rquickjs::Result<Option<f64>> {
        Ok(this_instance::<Self>(this)?.inner.desired_size())
    }

    /// `enqueue(chunk)` on `this` (which must be a controller), with borrowed arguments.
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
impl ReadableStreamDefaultController {
    /// Not constructible from script.
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'_>) -> rquickjs::Result<Self> {
        Err(Exception::throw_type(&ctx, "Illegal constructor"))
    }

    /// `desiredSize`: `null` once errored.
    #[qjs(get, enumerable, configurable, rename = "desiredSize")]
    pub fn desired_size<'js>(ctx: Ctx<'js>, this: This<Value<'js>>) -> rquickjs::Result<Value<'js>> {
        Ok(crate::convert::desired_size_to_js(
            ctx,
            Self::desired_size_of(&this.0)?,
        ))
    }

    /// `close()`.
    pub fn close(&self, ctx: Ctx<'_>) -> rquickjs::Result<()> {
        self.inner.close().map_err(|e| throw(&ctx, &e))
    }

    /// `enqueue(chunk)`.
    pub fn enqueue<'js>(
        ctx: Ctx<'js>,
        this: This<Value<'js>>,
        chunk: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        Self::enqueue_ref(&ctx, &this.0, chunk.0.as_ref())
    }

    /// `error(e)`.
    pub fn error<'js>(&self, ctx: Ctx<'js>, e: Opt<Value<'js>>) {
        let e = e.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        self.inner.error(error_from_js(&ctx, e));
    }
}
