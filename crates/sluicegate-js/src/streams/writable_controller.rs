//! `WritableStreamDefaultController` over the core's controller.

use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, Exception, JsLifetime, Value};
use sluicegate::writable;

use crate::convert::error_from_js;
use crate::env::abort::js_signal_following;
use crate::value::JsValue;

/// The standard's `WritableStreamDefaultController`; made only by a `WritableStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "WritableStreamDefaultController")]
pub struct WritableStreamDefaultController {
    #[qjs(skip_trace)]
    inner: writable::WritableStreamDefaultController<JsValue>,
    /// `signal`: a JS `AbortSignal` following the core controller's.
    #[qjs(skip_trace)]
    signal: Option<JsValue>,
    /// The stream, kept alive while script holds its controller.
    #[qjs(skip_trace)]
    #[allow(dead_code)] // Held, never read.
    keep_alive: Option<writable::WritableStream<JsValue>>,
}

impl WritableStreamDefaultController {
    /// The JS controller object for a core controller.
    pub(crate) fn new_js<'js>(
        ctx: &Ctx<'js>,
        inner: &writable::WritableStreamDefaultController<JsValue>,
    ) -> rquickjs::Result<Value<'js>> {
        let signal = js_signal_following(ctx, inner.signal())?;
        let controller = WritableStreamDefaultController {
            inner: inner.clone(),
            signal: JsValue::new(ctx, signal),
            keep_alive: inner.writable_stream(),
        };
        Ok(Class::instance(ctx.clone(), controller)?.into_value())
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl WritableStreamDefaultController {
    /// Not constructible from script.
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'_>) -> rquickjs::Result<Self> {
        Err(Exception::throw_type(&ctx, "Illegal constructor"))
    }

    /// `signal`.
    #[qjs(get, enumerable, configurable)]
    pub fn signal<'js>(&self, ctx: Ctx<'js>) -> Value<'js> {
        self.signal
            .as_ref()
            .and_then(|s| s.get(&ctx))
            .unwrap_or_else(|| Value::new_undefined(ctx))
    }

    /// `error(e)`.
    pub fn error<'js>(&self, ctx: Ctx<'js>, e: Opt<Value<'js>>) {
        let e = e.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        self.inner.error(error_from_js(&ctx, e));
    }
}
