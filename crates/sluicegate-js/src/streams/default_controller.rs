//! `ReadableStreamDefaultController` over the core's controller.

use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, JsLifetime, Value};
use sluicegate::readable;

use crate::convert::{error_from_js, throw};
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

#[rquickjs::methods(rename_all = "camelCase")]
impl ReadableStreamDefaultController {
    /// Not constructible from script.
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'_>) -> rquickjs::Result<Self> {
        Err(Exception::throw_type(&ctx, "Illegal constructor"))
    }

    /// `desiredSize`: `null` once errored.
    #[qjs(get, enumerable, configurable)]
    pub fn desired_size<'js>(&self, ctx: Ctx<'js>) -> Value<'js> {
        crate::convert::desired_size_to_js(ctx, self.inner.desired_size())
    }

    /// `close()`.
    pub fn close(&self, ctx: Ctx<'_>) -> rquickjs::Result<()> {
        self.inner.close().map_err(|e| throw(&ctx, &e))
    }

    /// `enqueue(chunk)`.
    pub fn enqueue<'js>(&self, ctx: Ctx<'js>, chunk: Opt<Value<'js>>) -> rquickjs::Result<()> {
        let chunk = chunk.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        let held = JsValue::new(&ctx, chunk).ok_or(rquickjs::Error::Unknown)?;
        self.inner.enqueue(held).map_err(|e| throw(&ctx, &e))
    }

    /// `error(e)`.
    pub fn error<'js>(&self, ctx: Ctx<'js>, e: Opt<Value<'js>>) {
        let e = e.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        self.inner.error(error_from_js(&ctx, e));
    }
}
