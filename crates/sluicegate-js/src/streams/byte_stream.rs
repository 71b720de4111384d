//! Readable byte streams from script: the JS underlying byte source and the
//! `ReadableByteStreamController` class.

use std::any::Any;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, Exception, JsLifetime, Value};
use sluicegate::readable::{self, ReadableByteStreamController as CoreController, UnderlyingByteSource};
use sluicegate::{Completion, StreamError};

use super::byob_request::ReadableStreamBYOBRequest;
use super::dict::{enforce_range_u64, StrategyInit};
use super::underlying_source::JsSource;
use super::views::JsView;
use crate::convert::{error_from_js, throw};
use crate::runtime::JsHost;
use crate::value::JsValue;

/// A JS underlying source with `type: "bytes"`.
struct JsByteSource {
    source: JsSource,
    auto_allocate_chunk_size: Option<usize>,
}

impl JsByteSource {
    fn call(&mut self, method: fn(&JsSource) -> Option<&JsValue>, controller: &CoreController) -> Completion {
        self.source.call_with(
            method,
            |ctx| ReadableByteStreamController::new_js(ctx, controller),
            || {
                controller
                    .readable_stream()
                    .map(|s| Box::new(s) as Box<dyn Any + Send>)
            },
        )
    }
}

impl UnderlyingByteSource for JsByteSource {
    fn start(&mut self, controller: &CoreController) -> Completion {
        self.call(|s| s.start.as_ref(), controller)
    }
    fn pull(&mut self, controller: &CoreController) -> Completion {
        self.call(|s| s.pull.as_ref(), controller)
    }
    fn cancel(&mut self, reason: StreamError) -> Completion {
        self.source.call_cancel(reason)
    }
    fn auto_allocate_chunk_size(&self) -> Option<usize> {
        self.auto_allocate_chunk_size
    }
}

/// The byte branch of the `ReadableStream` constructor: a `size` in the strategy is a
/// `RangeError`, the high-water mark defaults to 0, `autoAllocateChunkSize` is an
/// `[EnforceRange] unsigned long long` (0 is the core's `TypeError`).
pub(crate) fn new_byte_stream<'js>(
    ctx: &Ctx<'js>,
    host: &Arc<JsHost>,
    source: JsSource,
    auto_allocate: Value<'js>,
    strategy: StrategyInit,
) -> rquickjs::Result<readable::ReadableStream<Bytes>> {
    let auto_allocate_chunk_size = if auto_allocate.is_undefined() {
        None
    } else {
        Some(enforce_range_u64(ctx, &auto_allocate, "autoAllocateChunkSize")? as usize)
    };
    if strategy.has_size() {
        return Err(Exception::throw_range(
            ctx,
            "a byte stream's strategy cannot have a size function",
        ));
    }
    let source = JsByteSource {
        source,
        auto_allocate_chunk_size,
    };
    readable::ReadableStream::with_byte_host(source, strategy.high_water_mark(), host.clone())
        .map_err(|e| throw(ctx, &e))
}

/// The standard's `ReadableByteStreamController`; made only by a byte stream.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "ReadableByteStreamController")]
pub struct ReadableByteStreamController {
    #[qjs(skip_trace)]
    inner: CoreController,
    /// The stream, kept alive while script holds its controller.
    #[qjs(skip_trace)]
    #[allow(dead_code)] // Held, never read.
    keep_alive: Option<readable::ReadableStream<Bytes>>,
    /// `[[byobRequest]]` as handed to script, with the core request it stands for.
    #[qjs(skip_trace)]
    request: Mutex<Option<(readable::ReadableStreamBYOBRequest, JsValue)>>,
}

impl ReadableByteStreamController {
    fn new_js<'js>(ctx: &Ctx<'js>, inner: &CoreController) -> rquickjs::Result<Value<'js>> {
        let controller = ReadableByteStreamController {
            inner: inner.clone(),
            keep_alive: inner.readable_stream(),
            request: Mutex::new(None),
        };
        Ok(Class::instance(ctx.clone(), controller)?.into_value())
    }

    /// The JS request object handed out for the current request, if any and still valid.
    fn current_request<'js>(&self, ctx: &Ctx<'js>) -> Option<Class<'js, ReadableStreamBYOBRequest>> {
        let cached = self.request.lock().clone();
        let (core, js) = cached?;
        if !core.is_valid() {
            return None;
        }
        js.get(ctx)?.into_object().and_then(|o| Class::from_object(&o))
    }

    /// Before an operation that uses the request's buffer: script's writes to `byobRequest.view`
    /// reach the core's buffer, or the core learns the view's buffer was detached.
    fn sync_request(&self, ctx: &Ctx<'_>) {
        if let Some(request) = self.current_request(ctx) {
            request.borrow().sync_to_core(ctx);
        }
    }

    /// After an operation that invalidated the request (its buffer moved on, as the standard's
    /// transfer does): script's view of it is detached.
    fn detach_answered_request(&self, ctx: &Ctx<'_>) {
        let cached = self.request.lock().clone();
        if let Some((core, js)) = cached {
            if !core.is_valid() {
                if let Some(request) = js
                    .get(ctx)
                    .and_then(|v| v.into_object())
                    .and_then(|o| Class::<ReadableStreamBYOBRequest>::from_object(&o))
                {
                    request.borrow().detach_view(ctx);
                }
                *self.request.lock() = None;
            }
        }
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl ReadableByteStreamController {
    /// Not constructible from script.
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'_>) -> rquickjs::Result<Self> {
        Err(Exception::throw_type(&ctx, "Illegal constructor"))
    }

    /// `byobRequest`: the same object while the request is pending, `null` when there is none.
    #[qjs(get, enumerable, configurable)]
    pub fn byob_request<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let Some(core) = self.inner.byob_request() else {
            return Ok(Value::new_null(ctx));
        };
        let cached = self.request.lock().clone();
        if let Some((c, js)) = cached {
            if c.is_same(&core) {
                if let Some(v) = js.get(&ctx) {
                    return Ok(v);
                }
            }
        }
        let request =
            Class::instance(ctx.clone(), ReadableStreamBYOBRequest::new(&ctx, core.clone())?)?.into_value();
        if let Some(held) = JsValue::new(&ctx, request.clone()) {
            *self.request.lock() = Some((core, held));
        }
        Ok(request)
    }

    /// `desiredSize`.
    #[qjs(get, enumerable, configurable)]
    pub fn desired_size<'js>(&self, ctx: Ctx<'js>) -> Value<'js> {
        crate::convert::desired_size_to_js(ctx, self.inner.desired_size())
    }

    /// `close()`.
    pub fn close(&self, ctx: Ctx<'_>) -> rquickjs::Result<()> {
        self.sync_request(&ctx);
        self.inner.close().map_err(|e| throw(&ctx, &e))?;
        self.detach_answered_request(&ctx);
        Ok(())
    }

    /// `enqueue(chunk)`: the chunk's buffer is copied into the core and detached.
    pub fn enqueue<'js>(&self, ctx: Ctx<'js>, chunk: Value<'js>) -> rquickjs::Result<()> {
        let Some(view) = JsView::of(&ctx, &chunk)? else {
            return Err(Exception::throw_type(&ctx, "enqueue() needs an ArrayBufferView"));
        };
        if view.byte_length == 0 {
            return Err(Exception::throw_type(&ctx, "the chunk is empty"));
        }
        if view.buffer_byte_length() == 0 {
            return Err(Exception::throw_type(
                &ctx,
                "the chunk's buffer is empty or detached",
            ));
        }
        self.sync_request(&ctx);
        // The core takes (a copy of) the whole buffer, as the standard transfers it, so reads
        // that are not BYOB reads hand out a view of that buffer with this view's offset.
        let enqueued = match view.to_buffer_range() {
            Some((buffer, offset, length)) => self.inner.enqueue_in_buffer(buffer, offset, length),
            None => self.inner.enqueue(view.to_bytes()),
        };
        enqueued.map_err(|e| throw(&ctx, &e))?;
        view.detach();
        self.detach_answered_request(&ctx);
        Ok(())
    }

    /// `error(e)`.
    pub fn error<'js>(&self, ctx: Ctx<'js>, e: Opt<Value<'js>>) {
        let e = e.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        self.inner.error(error_from_js(&ctx, e));
        *self.request.lock() = None;
    }
}
