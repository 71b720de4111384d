//! `WritableStreamDefaultWriter` over the core's writer.

use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Class, Ctx, JsLifetime, Promise, Value};
use sluicegate::{writable, Promised};

use super::promise::{mirror, same_promise, same_promise_handled};
use super::queuing_strategy::require_new;
use super::writable_stream::{AbortedPromise, WritableStream};
use crate::convert::{error_from_js, throw};
use crate::value::JsValue;

/// The standard's `WritableStreamDefaultWriter`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "WritableStreamDefaultWriter")]
pub struct WritableStreamDefaultWriter {
    #[qjs(skip_trace)]
    inner: writable::WritableStreamDefaultWriter<JsValue>,
    /// `[[closedPromise]]` as handed to script, with the core promise it mirrors.
    #[qjs(skip_trace)]
    closed: parking_lot::Mutex<Option<(Promised<()>, JsValue)>>,
    /// `[[readyPromise]]` likewise: the same object until the core replaces the promise.
    #[qjs(skip_trace)]
    ready: parking_lot::Mutex<Option<(Promised<()>, JsValue)>>,
    /// The last `abort()` promise handed out, shared with the stream (see [`AbortedPromise`]).
    #[qjs(skip_trace)]
    aborted: AbortedPromise,
}

impl WritableStreamDefaultWriter {
    /// The JS writer for a core writer.
    pub(crate) fn from_core(
        inner: writable::WritableStreamDefaultWriter<JsValue>,
        aborted: AbortedPromise,
    ) -> Self {
        WritableStreamDefaultWriter {
            inner,
            closed: parking_lot::Mutex::new(None),
            ready: parking_lot::Mutex::new(None),
            aborted,
        }
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl WritableStreamDefaultWriter {
    /// `new WritableStreamDefaultWriter(stream)`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        stream: Class<'js, WritableStream>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let stream = stream.borrow();
        let inner = stream.acquire_writer(&ctx)?;
        Ok(WritableStreamDefaultWriter::from_core(
            inner,
            stream.aborted.clone(),
        ))
    }

    /// `closed`.
    #[qjs(get, enumerable, configurable)]
    pub fn closed<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Promise<'js>> {
        same_promise_handled(&ctx, &self.closed, self.inner.closed())
    }

    /// `ready`.
    #[qjs(get, enumerable, configurable)]
    pub fn ready<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Promise<'js>> {
        same_promise_handled(&ctx, &self.ready, self.inner.ready())
    }

    /// `desiredSize`: `null` when errored or erroring, 0 when closed; a `TypeError` once released.
    #[qjs(get, enumerable, configurable)]
    pub fn desired_size<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        match self.inner.desired_size() {
            Ok(size) => Ok(crate::convert::desired_size_to_js(ctx, size)),
            Err(e) => Err(throw(&ctx, &e)),
        }
    }

    /// `abort(reason)`.
    pub fn abort<'js>(&self, ctx: Ctx<'js>, reason: Opt<Value<'js>>) -> rquickjs::Result<Promise<'js>> {
        let reason = reason.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        // Aborting twice gives the pending abort request's promise: the same object.
        same_promise(&ctx, &self.aborted, self.inner.abort(error_from_js(&ctx, reason)))
    }

    /// `close()`.
    pub fn close<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Promise<'js>> {
        mirror(&ctx, self.inner.close())
    }

    /// `releaseLock()`.
    pub fn release_lock(&self) {
        self.inner.release_lock();
    }

    /// `write(chunk)`.
    pub fn write<'js>(&self, ctx: Ctx<'js>, chunk: Opt<Value<'js>>) -> rquickjs::Result<Promise<'js>> {
        let chunk = chunk.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        let held = JsValue::new(&ctx, chunk).ok_or(rquickjs::Error::Unknown)?;
        mirror(&ctx, self.inner.write(held))
    }
}
