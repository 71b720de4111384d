//! `ReadableStream` over the core's stream (the JS source is in `streams::underlying_source`).

use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Class, Coerced, Ctx, Exception, Function, JsLifetime, Promise, Value};
use sluicegate::readable;

use super::async_iterator::to_boolean;
use super::byob_reader::ReadableStreamBYOBReader;
use super::byte_stream::new_byte_stream;
use super::core_stream::{CoreDefaultReader, CoreReadable};
use super::default_controller::ReadableStreamDefaultController;
use super::default_reader::ReadableStreamDefaultReader;
use super::dict::{method, StrategyInit};
use super::promise::mirror;
use super::queuing_strategy::require_new;
use super::underlying_source::JsSource;
use super::views::{bytes_in_buffer_to_js, bytes_to_js};
use super::writable_stream::WritableStream;
use crate::convert::{error_from_js, throw, Conversion};
use crate::env::abort::core_signal;
use crate::runtime::host_of;
use crate::value::JsValue;
use sluicegate::PipeOptions;

/// The standard's `ReadableStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "ReadableStream")]
pub struct ReadableStream {
    #[qjs(skip_trace)]
    pub(crate) inner: CoreReadable,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl ReadableStream {
    /// `new ReadableStream(underlyingSource, strategy)` (default streams).
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        source: Opt<Value<'js>>,
        strategy: Opt<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let host = host_of(&ctx).ok_or(rquickjs::Error::Unknown)?;
        // The strategy's members are read before the source's, as the standard converts them.
        let strategy = StrategyInit::from_js(&ctx, strategy)?;
        // WebIDL `optional object`: absent or undefined is no source, anything else must be an
        // object (null included is a TypeError).
        let source_value = source.0.filter(|s| !s.is_undefined());
        let mut js_source = JsSource::new(host.clone(), Conversion::ResolvedWith);
        if let Some(s) = source_value {
            let Some(o) = s.as_object() else {
                return Err(Exception::throw_type(&ctx, "underlyingSource must be an object"));
            };
            // Dictionary members in lexicographic order; autoAllocateChunkSize is read by the
            // byte path (it comes first).
            let auto_allocate: Value = o.get("autoAllocateChunkSize")?;
            js_source.cancel = method(&ctx, o, "cancel")?;
            js_source.pull = method(&ctx, o, "pull")?;
            js_source.start = method(&ctx, o, "start")?;
            let kind: Value = o.get("type")?;
            js_source.this = JsValue::new(&ctx, s.clone());
            if !kind.is_undefined() {
                // ReadableStreamType is an enum: anything but "bytes" is a TypeError.
                let kind = kind.get::<Coerced<String>>()?.0;
                if kind != "bytes" {
                    return Err(Exception::throw_type(
                        &ctx,
                        &format!("'{kind}' is not a valid ReadableStreamType"),
                    ));
                }
                let inner = new_byte_stream(&ctx, &host, js_source, auto_allocate, strategy)?;
                let inner = CoreReadable::Bytes(inner);
                inner.keep_until_settled(&host);
                return Ok(ReadableStream { inner });
            }
        }
        let strategy = strategy.into_strategy(&host);
        let inner = readable::ReadableStream::with_host(js_source, strategy, host.clone())
            .map_err(|e| throw(&ctx, &e))?;
        let inner = CoreReadable::Values(inner);
        inner.keep_until_settled(&host);
        Ok(ReadableStream { inner })
    }

    /// `locked`.
    #[qjs(get, enumerable, configurable)]
    pub fn locked(&self) -> bool {
        self.inner.locked()
    }

    /// `cancel(reason)`: rejects with a `TypeError` when locked.
    pub fn cancel<'js>(&self, ctx: Ctx<'js>, reason: Opt<Value<'js>>) -> rquickjs::Result<Promise<'js>> {
        let reason = reason.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        mirror(&ctx, self.inner.cancel(error_from_js(&ctx, reason)))
    }

    /// `tee()`: two branches that receive the same chunks (the same JS values).
    pub fn tee<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<rquickjs::Array<'js>> {
        let (a, b) = self.inner.tee().map_err(|e| throw(&ctx, &e))?;
        let branches = rquickjs::Array::new(ctx.clone())?;
        if let Some(host) = host_of(&ctx) {
            a.keep_until_settled(&host);
            b.keep_until_settled(&host);
        }
        for (i, inner) in [a, b].into_iter().enumerate() {
            let branch = ReadableStream { inner };
            branches.set(i, Class::instance(ctx.clone(), branch)?)?;
        }
        Ok(branches)
    }

    /// `pipeTo(destination, options)`: rejects with a `TypeError` for a non-`WritableStream`
    /// destination, bad options, or a locked source or destination.
    pub fn pipe_to<'js>(
        &self,
        ctx: Ctx<'js>,
        destination: Value<'js>,
        options: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        let Some(dest) = destination
            .as_object()
            .and_then(Class::<WritableStream>::from_object)
        else {
            return Err(Exception::throw_type(
                &ctx,
                "pipeTo's destination must be a WritableStream",
            ));
        };
        let options = pipe_options(&ctx, options.0)?;
        let dest = dest.borrow().inner.clone();
        mirror(&ctx, self.pipe(&ctx, &dest, options)?)
    }

    /// `pipeThrough({ writable, readable }, options)`: pipes into `writable` and returns
    /// `readable`, whatever the pair is (a `TransformStream` or any object with the two members).
    pub fn pipe_through<'js>(
        &self,
        ctx: Ctx<'js>,
        transform: Value<'js>,
        options: Opt<Value<'js>>,
    ) -> rquickjs::Result<Value<'js>> {
        // ReadableWritablePair: required members, read in lexicographic order.
        let Some(pair) = transform.as_object() else {
            return Err(Exception::throw_type(
                &ctx,
                "pipeThrough's argument must be an object",
            ));
        };
        let readable: Value = pair.get("readable")?;
        if readable
            .as_object()
            .and_then(Class::<ReadableStream>::from_object)
            .is_none()
        {
            return Err(Exception::throw_type(
                &ctx,
                "the pair's readable must be a ReadableStream",
            ));
        }
        let writable: Value = pair.get("writable")?;
        let Some(writable_class) = writable
            .as_object()
            .and_then(Class::<WritableStream>::from_object)
        else {
            return Err(Exception::throw_type(
                &ctx,
                "the pair's writable must be a WritableStream",
            ));
        };
        let options = pipe_options(&ctx, options.0)?;
        if self.inner.locked() {
            return Err(Exception::throw_type(&ctx, "cannot pipe a locked stream"));
        }
        let dest = writable_class.borrow().inner.clone();
        if dest.locked() {
            return Err(Exception::throw_type(&ctx, "the pair's writable is locked"));
        }
        // The pipe's promise is marked handled: nobody observes it.
        drop(self.pipe(&ctx, &dest, options)?);
        Ok(readable)
    }

    /// `getReader()` (default readers).
    pub fn get_reader<'js>(&self, ctx: Ctx<'js>, options: Opt<Value<'js>>) -> rquickjs::Result<Value<'js>> {
        let options = options.0.filter(|o| !o.is_undefined() && !o.is_null());
        if options.as_ref().is_some_and(|o| !o.is_object()) {
            return Err(Exception::throw_type(&ctx, "options must be an object"));
        }
        if let Some(o) = options.as_ref().and_then(|o| o.as_object()) {
            let mode: Value = o.get("mode")?;
            if !mode.is_undefined() {
                let mode = mode.get::<Coerced<String>>()?.0;
                if mode != "byob" {
                    return Err(Exception::throw_type(
                        &ctx,
                        &format!("'{mode}' is not a valid ReadableStreamReaderMode"),
                    ));
                }
                let reader = ReadableStreamBYOBReader::acquire(&ctx, &self.inner)?;
                return Ok(Class::instance(ctx, reader)?.into_value());
            }
        }
        let inner = self.acquire_reader(&ctx)?;
        Ok(Class::instance(ctx, ReadableStreamDefaultReader::from_core(inner))?.into_value())
    }
}

impl ReadableStream {
    /// The JS stream for a core stream made elsewhere (a transform stream's side).
    pub(crate) fn from_core(inner: readable::ReadableStream<JsValue>) -> Self {
        ReadableStream {
            inner: CoreReadable::Values(inner),
        }
    }

    /// The JS stream for a core byte stream made natively on `host` (a file, stdin), kept alive
    /// until it settles as streams made from script are.
    pub(crate) fn from_core_bytes(
        host: &crate::runtime::JsHost,
        inner: readable::ReadableStream<bytes::Bytes>,
    ) -> Self {
        let inner = CoreReadable::Bytes(inner);
        inner.keep_until_settled(host);
        ReadableStream { inner }
    }

    /// ReadableStreamPipeTo into a JS writable stream: a byte stream's chunks reach it as new
    /// `Uint8Array`s, one per chunk read, each over its whole transferred buffer as the
    /// standard's default read hands it out.
    fn pipe(
        &self,
        ctx: &Ctx<'_>,
        dest: &sluicegate::writable::WritableStream<JsValue>,
        options: PipeOptions,
    ) -> rquickjs::Result<sluicegate::Promised<()>> {
        Ok(match &self.inner {
            CoreReadable::Values(s) => s.pipe_to(dest, options),
            CoreReadable::Bytes(s) => {
                let host = host_of(ctx).ok_or(rquickjs::Error::Unknown)?;
                s.pipe_to_with_buffers(dest, options, move |bytes, within| {
                    host.with_ctx(|ctx| {
                        let view = match &within {
                            // The standard's view: the whole transferred buffer, at the offset.
                            Some((buffer, offset)) => {
                                bytes_in_buffer_to_js(ctx, buffer, *offset, bytes.len())
                            }
                            None => bytes_to_js(ctx, bytes),
                        };
                        view.ok().and_then(|v| JsValue::new(ctx, v))
                    })
                    .flatten()
                    .expect("pipes run on the runtime's thread while it lives")
                })
            }
        })
    }

    /// AcquireReadableStreamDefaultReader. A JS reader that is garbage collected keeps the lock,
    /// so the core reader is told to keep it when dropped.
    pub(crate) fn acquire_reader(&self, ctx: &Ctx<'_>) -> rquickjs::Result<CoreDefaultReader> {
        self.inner.get_reader().map_err(|e| throw(ctx, &e))
    }
}

/// A `StreamPipeOptions` dictionary: undefined or null is the defaults, another non-object a
/// `TypeError`; members read in lexicographic order; `signal` must be an `AbortSignal`.
fn pipe_options<'js>(ctx: &Ctx<'js>, options: Option<Value<'js>>) -> rquickjs::Result<PipeOptions> {
    let mut result = PipeOptions::default();
    let Some(options) = options.filter(|o| !o.is_undefined() && !o.is_null()) else {
        return Ok(result);
    };
    let Some(o) = options.as_object() else {
        return Err(Exception::throw_type(ctx, "pipe options must be an object"));
    };
    result.prevent_abort = to_boolean(&o.get::<_, Value>("preventAbort")?);
    result.prevent_cancel = to_boolean(&o.get::<_, Value>("preventCancel")?);
    result.prevent_close = to_boolean(&o.get::<_, Value>("preventClose")?);
    let signal: Value = o.get("signal")?;
    if !signal.is_undefined() {
        match core_signal(&signal) {
            Some(signal) => result.signal = Some(signal),
            None => return Err(Exception::throw_type(ctx, "signal must be an AbortSignal")),
        }
    }
    Ok(result)
}

/// Defines the readable stream classes on the global object.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    Class::<ReadableStream>::define(&globals)?;
    Class::<ReadableStreamDefaultReader>::define(&globals)?;
    Class::<ReadableStreamDefaultController>::define(&globals)?;
    let tag: Function = ctx.eval(
        "(name) => Object.defineProperty(globalThis[name].prototype, Symbol.toStringTag, \
         { value: name, configurable: true })",
    )?;
    for name in [
        "ReadableStream",
        "ReadableStreamDefaultReader",
        "ReadableStreamDefaultController",
    ] {
        tag.call::<_, ()>((name,))?;
    }
    Ok(())
}

/// The stream of `ReadableStream.from` (`from_iterable.js`): a default stream with a high-water
/// mark of 0 whose pull and cancel algorithms are the glue's functions. They implement the
/// standard's own algorithms (ReadableStreamFromIterable's), not a script's underlying source, so
/// the promises they return are reacted to as they are ([`Conversion::Direct`]), not converted as a
/// Web IDL callback's return value would be (a new promise adopting them, two jobs later).
pub(crate) fn from_iterable_stream<'js>(
    ctx: Ctx<'js>,
    pull: Function<'js>,
    cancel: Function<'js>,
) -> rquickjs::Result<Class<'js, ReadableStream>> {
    let host = host_of(&ctx).ok_or(rquickjs::Error::Unknown)?;
    let mut js_source = JsSource::new(host.clone(), Conversion::Direct);
    js_source.pull = JsValue::new(&ctx, pull.into_value());
    js_source.cancel = JsValue::new(&ctx, cancel.into_value());
    let strategy = sluicegate::QueuingStrategy::count(0.0);
    let inner = readable::ReadableStream::with_host(js_source, strategy, host.clone())
        .map_err(|e| throw(&ctx, &e))?;
    let inner = CoreReadable::Values(inner);
    inner.keep_until_settled(&host);
    Class::instance(ctx, ReadableStream { inner })
}
