//! `ReadableStreamBYOBReader` over the core's BYOB reader.

use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Class, Ctx, Exception, JsLifetime, Promise, Value};
use sluicegate::readable::{self, ByobView, ReadIntoRequest};
use sluicegate::{Promised, StreamError};

use super::core_stream::CoreReadable;
use super::dict::enforce_range_u64;
use super::promise::{iter_result, mirror, same_promise_handled, Settle};
use super::queuing_strategy::require_new;
use super::readable_stream::ReadableStream;
use super::views::{core_view_to_js, JsView};
use crate::convert::{error_from_js, throw};
use crate::value::JsValue;

/// The standard's `ReadableStreamBYOBReader`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "ReadableStreamBYOBReader")]
pub struct ReadableStreamBYOBReader {
    #[qjs(skip_trace)]
    inner: readable::ReadableStreamBYOBReader,
    #[qjs(skip_trace)]
    closed: parking_lot::Mutex<Option<(Promised<()>, JsValue)>>,
}

impl ReadableStreamBYOBReader {
    /// AcquireReadableStreamBYOBReader: a `TypeError` for a locked stream or one that is not a
    /// byte stream. The reader keeps its lock when collected, as a JS reader does.
    pub(crate) fn acquire(ctx: &Ctx<'_>, stream: &CoreReadable) -> rquickjs::Result<Self> {
        let CoreReadable::Bytes(stream) = stream else {
            return Err(Exception::throw_type(
                ctx,
                "a BYOB reader needs a readable byte stream",
            ));
        };
        let inner = stream.get_byob_reader().map_err(|e| throw(ctx, &e))?;
        inner.keep_lock_on_drop();
        Ok(ReadableStreamBYOBReader {
            inner,
            closed: parking_lot::Mutex::new(None),
        })
    }
}

/// A read-into request settling a JS promise with `{ value, done }` (value: the filled view).
struct JsReadIntoRequest(Settle);

impl ReadIntoRequest for JsReadIntoRequest {
    fn chunk_steps(self: Box<Self>, view: ByobView) {
        self.0.resolve_with(move |ctx| {
            let v = core_view_to_js(ctx, view)?;
            iter_result(ctx, v, false)
        });
    }
    fn close_steps(self: Box<Self>, view: Option<ByobView>) {
        self.0.resolve_with(move |ctx| {
            let v = match view {
                Some(view) => core_view_to_js(ctx, view)?,
                None => Value::new_undefined(ctx.clone()),
            };
            iter_result(ctx, v, true)
        });
    }
    fn error_steps(self: Box<Self>, e: StreamError) {
        self.0.reject(&e);
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl ReadableStreamBYOBReader {
    /// `new ReadableStreamBYOBReader(stream)`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        stream: Class<'js, ReadableStream>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let stream = stream.borrow().inner.clone();
        ReadableStreamBYOBReader::acquire(&ctx, &stream)
    }

    /// `read(view, { min })`: the view's bytes go to the core and its buffer is detached; the
    /// promise resolves with a new view of the same kind over the filled buffer.
    pub fn read<'js>(
        &self,
        ctx: Ctx<'js>,
        view: Value<'js>,
        options: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        let Some(js_view) = JsView::of(&ctx, &view)? else {
            return Err(Exception::throw_type(&ctx, "read() needs an ArrayBufferView"));
        };
        // ReadableStreamBYOBReaderReadOptions { [EnforceRange] unsigned long long min = 1; }.
        let min = match options.0.filter(|o| !o.is_undefined() && !o.is_null()) {
            None => 1,
            Some(o) => {
                let Some(o) = o.as_object() else {
                    return Err(Exception::throw_type(&ctx, "options must be an object"));
                };
                let min: Value = o.get("min")?;
                if min.is_undefined() {
                    1
                } else {
                    enforce_range_u64(&ctx, &min, "min")?
                }
            }
        };
        if js_view.byte_length == 0 {
            return Err(Exception::throw_type(&ctx, "the view is empty"));
        }
        if js_view.buffer_byte_length() == 0 {
            return Err(Exception::throw_type(
                &ctx,
                "the view's buffer is empty or detached",
            ));
        }
        let Some(core_view) = js_view.to_core() else {
            return Err(Exception::throw_type(&ctx, "the view does not fit its buffer"));
        };
        let (promise, settle) = Settle::new(&ctx)?;
        let min = usize::try_from(min).unwrap_or(usize::MAX);
        match self
            .inner
            .read_into_with(core_view, min, Box::new(JsReadIntoRequest(settle)))
        {
            Ok(()) => {
                js_view.detach();
                Ok(promise)
            }
            Err((e, _)) => Err(throw(&ctx, &e)),
        }
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
