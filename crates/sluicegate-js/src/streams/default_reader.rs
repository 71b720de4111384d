//! `ReadableStreamDefaultReader` over the core's reader.

use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Class, Ctx, JsLifetime, Promise, Value};
use sluicegate::Promised;

use super::core_stream::{CoreDefaultReader, JsReadRequest};
use super::promise::{mirror, same_promise_handled, Settle};
use super::queuing_strategy::require_new;
use super::readable_stream::ReadableStream;
use crate::convert::error_from_js;
use crate::value::JsValue;

/// The standard's `ReadableStreamDefaultReader`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "ReadableStreamDefaultReader")]
pub struct ReadableStreamDefaultReader {
    #[qjs(skip_trace)]
    pub(crate) inner: CoreDefaultReader,
    /// `[[closedPromise]]` as handed to script, with the core promise it mirrors: the getter
    /// returns the same object until a release replaces the core's promise.
    #[qjs(skip_trace)]
    pub(crate) closed: parking_lot::Mutex<Option<(Promised<()>, JsValue)>>,
}

impl ReadableStreamDefaultReader {
    /// The JS reader for a core reader.
    pub(crate) fn from_core(inner: CoreDefaultReader) -> Self {
        ReadableStreamDefaultReader {
            inner,
            closed: parking_lot::Mutex::new(None),
        }
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl ReadableStreamDefaultReader {
    /// `new ReadableStreamDefaultReader(stream)`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        stream: Class<'js, ReadableStream>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let inner = stream.borrow().acquire_reader(&ctx)?;
        Ok(ReadableStreamDefaultReader::from_core(inner))
    }

    /// `read()`: a promise for `{ value, done }`.
    pub fn read<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Promise<'js>> {
        let (promise, settle) = Settle::new(&ctx)?;
        if let Err(e) = self.inner.read_with(JsReadRequest {
            settle,
            release: None,
        }) {
            let (rejected, settle) = Settle::new(&ctx)?;
            settle.reject(&e);
            return Ok(rejected);
        }
        Ok(promise)
    }

    /// `closed`.
    #[qjs(get, enumerable, configurable)]
    pub fn closed<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Promise<'js>> {
        same_promise_handled(&ctx, &self.closed, self.inner.closed())
    }

    /// `cancel(reason)`.
    pub fn cancel<'js>(&self, ctx: Ctx<'js>, reason: Opt<Value<'js>>) -> rquickjs::Result<Promise<'js>> {
        let reason = reason.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        mirror(&ctx, self.inner.cancel(error_from_js(&ctx, reason)))
    }

    /// `releaseLock()`.
    pub fn release_lock(&self) {
        self.inner.release_lock();
    }
}
