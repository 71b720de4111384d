//! `TransformStream` over the core's transform stream, with a JS transformer.

use std::any::Any;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Class, Ctx, Exception, JsLifetime, Value};
use sluicegate::transform::{self, Transformer};
use sluicegate::{Completion, StreamError};

use super::core_stream::CoreReadable;
use super::dict::{method, StrategyInit};
use super::queuing_strategy::require_new;
use super::readable_stream::ReadableStream;
use super::transform_controller::{Sides, TransformStreamDefaultController};
use super::writable_stream::{self, WritableStream};
use crate::convert::{call_algorithm_with, caught_error, error_to_js, throw, Conversion};
use crate::runtime::{host_of, JsHost};
use crate::value::JsValue;

/// A transformer object from script: its methods, read once at construction.
struct JsTransformer {
    host: Arc<JsHost>,
    this: Option<JsValue>,
    start: Option<JsValue>,
    transform: Option<JsValue>,
    flush: Option<JsValue>,
    cancel: Option<JsValue>,
    /// The JS controller, made on the first call (start).
    controller: Option<JsValue>,
    /// The two sides, weakly: the transform stream owns this transformer, so a strong handle
    /// here was a cycle that kept every transform stream left open alive past its runtime. The
    /// JS controller holds them strongly (as a JavaScript controller holds its stream), and each
    /// call keeps them alive while the promise it returns is pending.
    sides: Weak<Mutex<Option<transform::TransformStream<JsValue, JsValue>>>>,
}

impl JsTransformer {
    fn js_controller<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        controller: &transform::TransformStreamDefaultController<JsValue>,
    ) -> rquickjs::Result<Value<'js>> {
        if let Some(c) = self.controller.as_ref().and_then(|c| c.get(ctx)) {
            return Ok(c);
        }
        let c = Class::instance(
            ctx.clone(),
            TransformStreamDefaultController {
                inner: controller.clone(),
                keep_alive: self.sides.upgrade().unwrap_or_default(),
            },
        )?
        .into_value();
        self.controller = JsValue::new(ctx, c.clone());
        Ok(c)
    }

    /// Calls `f` with `this` the transformer and `args`, its result taken as `conversion` says
    /// (`start`'s resolves the stream's `[[startPromise]]` in place, the other methods' are
    /// promises resolved with it); the completion keeps both sides alive while the returned
    /// promise is pending.
    fn call<'js>(
        &self,
        ctx: &Ctx<'js>,
        f: &JsValue,
        args: &[&Value<'js>],
        conversion: Conversion,
    ) -> Completion {
        let sides = &self.sides;
        let keep = || {
            sides
                .upgrade()
                .map(|sides| Box::new(sides) as Box<dyn Any + Send>)
        };
        call_algorithm_with(ctx, f, self.this.as_ref(), args, keep, conversion)
    }

    fn with_controller(
        &mut self,
        method: Option<JsValue>,
        chunk: Option<JsValue>,
        controller: &transform::TransformStreamDefaultController<JsValue>,
        conversion: Conversion,
    ) -> Completion {
        let Some(f) = method else {
            return Completion::ok();
        };
        let host = self.host.clone();
        host.with_ctx(|ctx| {
            let c = match self.js_controller(ctx, controller) {
                Ok(c) => c,
                Err(e) => return Completion::err(caught_error(ctx, e)),
            };
            // (chunk, controller) for transform, (controller) for start and flush.
            let chunk = chunk.map(|chunk| {
                chunk
                    .get(ctx)
                    .unwrap_or_else(|| Value::new_undefined(ctx.clone()))
            });
            match &chunk {
                Some(chunk) => self.call(ctx, &f, &[chunk, &c], conversion),
                None => self.call(ctx, &f, &[&c], conversion),
            }
        })
        .unwrap_or_else(|| Completion::err(StreamError::type_error("the JS runtime is gone")))
    }
}

impl Transformer<JsValue, JsValue> for JsTransformer {
    fn start(&mut self, controller: &transform::TransformStreamDefaultController<JsValue>) -> Completion {
        let host = self.host.clone();
        // The controller is made now even without a start method: later calls pass it.
        let made = host.with_ctx(|ctx| {
            self.js_controller(ctx, controller)
                .map(|_| ())
                .map_err(|e| caught_error(ctx, e))
        });
        if let Some(Err(e)) = made {
            return Completion::err(e);
        }
        self.with_controller(self.start.clone(), None, controller, Conversion::InPlace)
    }

    fn transform(
        &mut self,
        chunk: JsValue,
        controller: &transform::TransformStreamDefaultController<JsValue>,
    ) -> Completion {
        match self.transform.clone() {
            Some(f) => self.with_controller(Some(f), Some(chunk), controller, Conversion::ResolvedWith),
            // No transform: TransformStreamDefaultControllerEnqueue(controller, chunk).
            None => match controller.enqueue(chunk) {
                Ok(()) => Completion::ok(),
                Err(e) => Completion::err(e),
            },
        }
    }

    fn flush(&mut self, controller: &transform::TransformStreamDefaultController<JsValue>) -> Completion {
        self.with_controller(self.flush.clone(), None, controller, Conversion::ResolvedWith)
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        let Some(f) = self.cancel.clone() else {
            return Completion::ok();
        };
        let host = self.host.clone();
        host.with_ctx(|ctx| match error_to_js(ctx, &reason) {
            Ok(reason) => self.call(ctx, &f, &[&reason], Conversion::ResolvedWith),
            Err(e) => Completion::err(caught_error(ctx, e)),
        })
        .unwrap_or_else(|| Completion::err(StreamError::type_error("the JS runtime is gone")))
    }
}

/// The standard's `TransformStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "TransformStream")]
pub struct TransformStream {
    /// The JS `ReadableStream` and `WritableStream` objects of the two sides, made once so that
    /// `readable` and `writable` give the same object every time.
    #[qjs(skip_trace)]
    readable: JsValue,
    #[qjs(skip_trace)]
    writable: JsValue,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl TransformStream {
    /// `new TransformStream(transformer, writableStrategy, readableStrategy)`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        transformer: Opt<Value<'js>>,
        writable_strategy: Opt<Value<'js>>,
        readable_strategy: Opt<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let host = host_of(&ctx).ok_or(rquickjs::Error::Unknown)?;
        // The strategies are converted as arguments, before the body reads the transformer.
        let writable_strategy = StrategyInit::from_js(&ctx, writable_strategy)?;
        let readable_strategy = StrategyInit::from_js(&ctx, readable_strategy)?;
        let sides: Sides = Arc::new(Mutex::new(None));
        let mut js = JsTransformer {
            host: host.clone(),
            this: None,
            start: None,
            transform: None,
            flush: None,
            cancel: None,
            controller: None,
            sides: Arc::downgrade(&sides),
        };
        // WebIDL `optional object`: undefined is no transformer; null or a primitive a TypeError.
        if let Some(t) = transformer.0.filter(|t| !t.is_undefined()) {
            let Some(o) = t.as_object() else {
                return Err(Exception::throw_type(&ctx, "transformer must be an object"));
            };
            // Dictionary members in lexicographic order.
            js.cancel = method(&ctx, o, "cancel")?;
            js.flush = method(&ctx, o, "flush")?;
            let readable_type: Value = o.get("readableType")?;
            js.start = method(&ctx, o, "start")?;
            js.transform = method(&ctx, o, "transform")?;
            let writable_type: Value = o.get("writableType")?;
            if !readable_type.is_undefined() {
                return Err(Exception::throw_range(&ctx, "invalid readableType"));
            }
            if !writable_type.is_undefined() {
                return Err(Exception::throw_range(&ctx, "invalid writableType"));
            }
            js.this = JsValue::new(&ctx, t.clone());
        }
        let stream = transform::TransformStream::with_host(
            js,
            writable_strategy.into_strategy(&host),
            readable_strategy.into_strategy(&host),
            host.clone(),
        )
        .map_err(|e| throw(&ctx, &e))?;
        CoreReadable::Values(stream.readable().clone()).keep_until_settled(&host);
        writable_stream::keep_until_settled(&host, stream.writable());
        *sides.lock() = Some(stream.clone());
        let readable = Class::instance(ctx.clone(), ReadableStream::from_core(stream.readable().clone()))?;
        let writable = Class::instance(ctx.clone(), WritableStream::from_core(stream.writable().clone()))?;
        Ok(TransformStream {
            readable: JsValue::new(&ctx, readable.into_value()).ok_or(rquickjs::Error::Unknown)?,
            writable: JsValue::new(&ctx, writable.into_value()).ok_or(rquickjs::Error::Unknown)?,
        })
    }

    /// `readable`.
    #[qjs(get, enumerable, configurable)]
    pub fn readable<'js>(&self, ctx: Ctx<'js>) -> Value<'js> {
        self.readable
            .get(&ctx)
            .unwrap_or_else(|| Value::new_undefined(ctx))
    }

    /// `writable`.
    #[qjs(get, enumerable, configurable)]
    pub fn writable<'js>(&self, ctx: Ctx<'js>) -> Value<'js> {
        self.writable
            .get(&ctx)
            .unwrap_or_else(|| Value::new_undefined(ctx))
    }
}
