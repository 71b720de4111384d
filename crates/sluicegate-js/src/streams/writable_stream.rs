//! `WritableStream` over the core's stream, with a JS underlying sink.

use std::any::Any;
use std::sync::Arc;

use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Class, Ctx, Exception, JsLifetime, Promise, Value};
use sluicegate::writable::{self, UnderlyingSink};
use sluicegate::{Completion, StreamError};

use super::dict::{method, StrategyInit};
use super::promise::{mirror, same_promise};
use super::queuing_strategy::require_new;
use super::writable_controller::WritableStreamDefaultController;
use super::writable_writer::WritableStreamDefaultWriter;
use crate::convert::{call_algorithm_keeping_lazily, caught_error, error_from_js, error_to_js, throw};
use crate::runtime::{host_of, JsHost};
use crate::value::JsValue;

/// An underlying sink object from script: its methods, read once at construction.
struct JsSink {
    host: Arc<JsHost>,
    this: Option<JsValue>,
    start: Option<JsValue>,
    write: Option<JsValue>,
    close: Option<JsValue>,
    abort: Option<JsValue>,
    /// The JS controller, made on the first call (start) and passed to every later one.
    controller: Option<JsValue>,
    /// The core controller (which holds the stream weakly), taken on the first call: each call
    /// keeps the stream alive while the promise it returns is pending. Not the stream itself,
    /// which owns this sink: that cycle kept every stream left open alive past its runtime.
    core: Option<writable::WritableStreamDefaultController<JsValue>>,
}

impl JsSink {
    /// The JS controller for `controller`, made the first time.
    fn js_controller<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        controller: &writable::WritableStreamDefaultController<JsValue>,
    ) -> rquickjs::Result<Value<'js>> {
        if let Some(c) = self.controller.as_ref().and_then(|c| c.get(ctx)) {
            return Ok(c);
        }
        let c = WritableStreamDefaultController::new_js(ctx, controller)?;
        self.controller = JsValue::new(ctx, c.clone());
        if self.core.is_none() {
            self.core = Some(controller.clone());
        }
        Ok(c)
    }

    /// Calls `f` with `this` the sink and `args`, as a completion that keeps the stream alive
    /// while pending.
    fn call<'js>(&self, ctx: &Ctx<'js>, f: &JsValue, args: &[&Value<'js>]) -> Completion {
        let core = self.core.as_ref();
        call_algorithm_keeping_lazily(ctx, f, self.this.as_ref(), args, || {
            core.and_then(|c| c.writable_stream())
                .map(|s| Box::new(s) as Box<dyn Any + Send>)
        })
    }

    fn gone() -> Completion {
        Completion::err(StreamError::type_error("the JS runtime is gone"))
    }
}

impl UnderlyingSink<JsValue> for JsSink {
    fn start(&mut self, controller: &writable::WritableStreamDefaultController<JsValue>) -> Completion {
        let host = self.host.clone();
        host.with_ctx(|ctx| {
            let c = match self.js_controller(ctx, controller) {
                Ok(c) => c,
                Err(e) => return Completion::err(caught_error(ctx, e)),
            };
            match self.start.clone() {
                Some(f) => self.call(ctx, &f, &[&c]),
                None => Completion::ok(),
            }
        })
        .unwrap_or_else(Self::gone)
    }

    fn write(
        &mut self,
        chunk: JsValue,
        controller: &writable::WritableStreamDefaultController<JsValue>,
    ) -> Completion {
        let Some(f) = self.write.clone() else {
            return Completion::ok();
        };
        let host = self.host.clone();
        host.with_ctx(|ctx| {
            let c = match self.js_controller(ctx, controller) {
                Ok(c) => c,
                Err(e) => return Completion::err(caught_error(ctx, e)),
            };
            let chunk = chunk
                .get(ctx)
                .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
            self.call(ctx, &f, &[&chunk, &c])
        })
        .unwrap_or_else(Self::gone)
    }

    fn close(&mut self) -> Completion {
        let Some(f) = self.close.clone() else {
            return Completion::ok();
        };
        let host = self.host.clone();
        host.with_ctx(|ctx| self.call(ctx, &f, &[]))
            .unwrap_or_else(Self::gone)
    }

    fn abort(&mut self, reason: StreamError) -> Completion {
        let Some(f) = self.abort.clone() else {
            return Completion::ok();
        };
        let host = self.host.clone();
        host.with_ctx(|ctx| match error_to_js(ctx, &reason) {
            Ok(reason) => self.call(ctx, &f, &[&reason]),
            Err(e) => Completion::err(caught_error(ctx, e)),
        })
        .unwrap_or_else(Self::gone)
    }
}

/// The promise `abort()` last handed out, with the core promise it mirrors. Aborting again while
/// an abort is pending gives the pending abort request's promise (WritableStreamAbort step 5),
/// through the stream or any of its writers: the same object, so its reactions keep their order.
pub(crate) type AbortedPromise =
    std::sync::Arc<parking_lot::Mutex<Option<(sluicegate::Promised<()>, JsValue)>>>;

/// The standard's `WritableStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "WritableStream")]
pub struct WritableStream {
    #[qjs(skip_trace)]
    pub(crate) inner: writable::WritableStream<JsValue>,
    /// The last `abort()` promise handed out, with the core promise it mirrors; shared with the
    /// stream's writers, whose `abort()` hands out the very same promise while an abort is pending.
    #[qjs(skip_trace)]
    pub(crate) aborted: AbortedPromise,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl WritableStream {
    /// `new WritableStream(underlyingSink, strategy)`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        sink: Opt<Value<'js>>,
        strategy: Opt<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let host = host_of(&ctx).ok_or(rquickjs::Error::Unknown)?;
        // The strategy's members are read before the sink's, as the standard converts them.
        let strategy = StrategyInit::from_js(&ctx, strategy)?;
        let mut js_sink = JsSink {
            host: host.clone(),
            this: None,
            start: None,
            write: None,
            close: None,
            abort: None,
            controller: None,
            core: None,
        };
        // WebIDL `optional object`: undefined is no sink; null or a primitive is a TypeError.
        if let Some(s) = sink.0.filter(|s| !s.is_undefined()) {
            let Some(o) = s.as_object() else {
                return Err(Exception::throw_type(&ctx, "underlyingSink must be an object"));
            };
            // Dictionary members in lexicographic order: abort, close, start, type, write.
            js_sink.abort = method(&ctx, o, "abort")?;
            js_sink.close = method(&ctx, o, "close")?;
            js_sink.start = method(&ctx, o, "start")?;
            let kind: Value = o.get("type")?;
            js_sink.write = method(&ctx, o, "write")?;
            if !kind.is_undefined() {
                return Err(Exception::throw_range(
                    &ctx,
                    "invalid type: writable streams have no type",
                ));
            }
            js_sink.this = JsValue::new(&ctx, s.clone());
        }
        let strategy = strategy.into_strategy(&host);
        let inner = writable::WritableStream::with_host(js_sink, strategy, host.clone())
            .map_err(|e| throw(&ctx, &e))?;
        keep_until_settled(&host, &inner);
        Ok(WritableStream::from_core(inner))
    }

    /// `locked`.
    #[qjs(get, enumerable, configurable)]
    pub fn locked(&self) -> bool {
        self.inner.locked()
    }

    /// `abort(reason)`: rejects with a `TypeError` when locked.
    pub fn abort<'js>(&self, ctx: Ctx<'js>, reason: Opt<Value<'js>>) -> rquickjs::Result<Promise<'js>> {
        let reason = reason.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        // Aborting twice gives the pending abort request's promise: the same object.
        same_promise(&ctx, &self.aborted, self.inner.abort(error_from_js(&ctx, reason)))
    }

    /// `close()`: rejects with a `TypeError` when locked or already closing.
    pub fn close<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Promise<'js>> {
        mirror(&ctx, self.inner.close())
    }

    /// `getWriter()`.
    pub fn get_writer<'js>(
        &self,
        ctx: Ctx<'js>,
    ) -> rquickjs::Result<Class<'js, WritableStreamDefaultWriter>> {
        let writer = self.acquire_writer(&ctx)?;
        Class::instance(
            ctx,
            WritableStreamDefaultWriter::from_core(writer, self.aborted.clone()),
        )
    }
}

impl WritableStream {
    /// The JS stream for a core stream made elsewhere (a transform stream's side).
    pub(crate) fn from_core(inner: writable::WritableStream<JsValue>) -> Self {
        WritableStream {
            inner,
            aborted: AbortedPromise::default(),
        }
    }

    /// AcquireWritableStreamDefaultWriter. A JS writer that is garbage collected keeps the lock.
    pub(crate) fn acquire_writer(
        &self,
        ctx: &Ctx<'_>,
    ) -> rquickjs::Result<writable::WritableStreamDefaultWriter<JsValue>> {
        let writer = self.inner.get_writer().map_err(|e| throw(ctx, &e))?;
        writer.keep_lock_on_drop();
        Ok(writer)
    }
}

/// Keeps a writable stream made from script alive until it closes or errors (see
/// [`JsHost::keep_until_settled`]).
pub(crate) fn keep_until_settled(host: &JsHost, stream: &writable::WritableStream<JsValue>) {
    let stream = stream.clone();
    host.keep_until_settled(Box::new(move || stream.is_closed_or_errored()));
}
