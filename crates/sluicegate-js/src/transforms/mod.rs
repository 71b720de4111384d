//! The Compression Standard's and the Encoding Standard's classes, backed by
//! `sluicegate-transforms`: `CompressionStream`, `DecompressionStream` ([`compression`]),
//! `TextEncoder`, `TextDecoder`, `TextEncoderStream` and `TextDecoderStream` ([`encoding`]).
//!
//! The streams are the core's transform streams over JS values, with the native codecs as their
//! transformers: a chunk's bytes are copied out of script's buffer, run through the codec, and
//! each piece of output (at most 64 KiB) is copied into a new `Uint8Array` (or string), enqueued
//! only when the reader has room. Bad input rejects with a `TypeError`, as the standards say.

// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod compression;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod encoding;

use std::sync::Arc;

use bytes::Bytes;
use rquickjs::{Class, Ctx, Exception, Function, TypedArray, Value};
use sluicegate::host::BoxFuture;
use sluicegate::transform::{self, TransformStreamDefaultController, Transformer};
use sluicegate::{Completion, QueuingStrategy, StreamError};
use sluicegate_transforms::codec::{Codec, CodecTransformer, MAX_CHUNK};
use sluicegate_transforms::TransformError;

use crate::runtime::{host_of, JsHost};
use crate::streams::core_stream::CoreReadable;
use crate::streams::readable_stream::ReadableStream;
use crate::streams::writable_stream::{self, WritableStream};
use crate::value::JsValue;

/// Defines the classes and captures the glue.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let pair: rquickjs::Array = ctx.eval(include_str!("glue.js"))?;
    let host = host_of(ctx).ok_or(rquickjs::Error::Unknown)?;
    if let Some(f) = JsValue::new(ctx, pair.get(0)?) {
        host.set_glue("transforms.bytesOf", f);
    }
    if let Some(f) = JsValue::new(ctx, pair.get(1)?) {
        host.set_glue("transforms.encoderInput", f);
    }
    if let Some(f) = JsValue::new(ctx, pair.get(2)?) {
        host.set_glue("transforms.copyInto", f);
    }
    if let Some(f) = JsValue::new(ctx, pair.get(3)?) {
        host.set_glue("transforms.destLength", f);
    }
    let globals = ctx.globals();
    Class::<compression::CompressionStream>::define(&globals)?;
    Class::<compression::DecompressionStream>::define(&globals)?;
    Class::<encoding::TextEncoder>::define(&globals)?;
    Class::<encoding::TextDecoder>::define(&globals)?;
    Class::<encoding::TextEncoderStream>::define(&globals)?;
    Class::<encoding::TextDecoderStream>::define(&globals)?;
    crate::streams::define_to_string_tags(
        ctx,
        &[
            "CompressionStream",
            "DecompressionStream",
            "TextEncoder",
            "TextDecoder",
            "TextEncoderStream",
            "TextDecoderStream",
        ],
    )
}

pub(crate) fn glue<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Function<'js>> {
    host_of(ctx)
        .and_then(|host| host.glue(ctx, name))
        .ok_or(rquickjs::Error::Unknown)
}

/// The bytes of a BufferSource (copied), or `None` if `value` is not one.
pub(crate) fn buffer_source_bytes<'js>(
    ctx: &Ctx<'js>,
    value: &Value<'js>,
) -> rquickjs::Result<Option<Bytes>> {
    let view: Value = glue(ctx, "transforms.bytesOf")?.call((value.clone(),))?;
    if view.is_undefined() {
        return Ok(None);
    }
    let array = TypedArray::<u8>::from_value(view)?;
    Ok(Some(
        array.as_bytes().map(Bytes::copy_from_slice).unwrap_or_default(),
    ))
}

/// The error script sees for a codec's error: the standards' `TypeError`.
fn to_js_error(e: StreamError) -> StreamError {
    match TransformError::of(&e) {
        Some(te) => StreamError::type_error(te.to_string()),
        None => e,
    }
}

/// `c` with a codec's error turned into a `TypeError`.
fn map_completion(c: Completion) -> Completion {
    match c {
        Completion::Ready(r) => Completion::Ready(r.map_err(to_js_error)),
        Completion::Pending(f) => {
            let f: BoxFuture<Result<(), StreamError>> = f;
            Completion::future(async move { f.await.map_err(to_js_error) })
        }
        other => other,
    }
}

/// What a native transform does with a script's chunk before its codec sees it.
pub(crate) type Input = for<'js> fn(&Ctx<'js>, Value<'js>) -> Result<Bytes, StreamError>;

/// A codec as the transformer of a transform stream over JS values.
pub(crate) struct JsCodec<C: Codec> {
    host: Arc<JsHost>,
    inner: CodecTransformer<C, JsValue>,
    input: Input,
}

impl<C: Codec> JsCodec<C> {
    /// `codec`'s transformer; its pieces become JS values through `output`.
    pub(crate) fn new(
        host: Arc<JsHost>,
        codec: C,
        input: Input,
        output: for<'js> fn(&Ctx<'js>, C::Output) -> rquickjs::Result<Value<'js>>,
    ) -> Self {
        let h = host.clone();
        let wrap = Arc::new(move |piece: C::Output| {
            h.with_ctx(|ctx| {
                let v = output(ctx, piece).map_err(|e| crate::convert::caught_error(ctx, e))?;
                JsValue::new(ctx, v).ok_or_else(|| StreamError::type_error("the JS runtime is gone"))
            })
            .unwrap_or_else(|| Err(StreamError::type_error("the JS runtime is gone")))
        });
        JsCodec {
            host,
            inner: CodecTransformer::new(codec, MAX_CHUNK, wrap),
            input,
        }
    }
}

impl<C: Codec> Transformer<JsValue, JsValue> for JsCodec<C> {
    fn transform(&mut self, chunk: JsValue, c: &TransformStreamDefaultController<JsValue>) -> Completion {
        let input = self.input;
        let bytes = self
            .host
            .with_ctx(|ctx| {
                let v = chunk
                    .get(ctx)
                    .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
                input(ctx, v)
            })
            .unwrap_or_else(|| Err(StreamError::type_error("the JS runtime is gone")));
        match bytes {
            Ok(b) => map_completion(self.inner.transform(b, c)),
            Err(e) => Completion::err(e),
        }
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<JsValue>) -> Completion {
        map_completion(self.inner.flush(c))
    }
}

/// A BufferSource chunk's bytes; anything else is a `TypeError`.
pub(crate) fn buffer_source_input<'js>(ctx: &Ctx<'js>, v: Value<'js>) -> Result<Bytes, StreamError> {
    match buffer_source_bytes(ctx, &v) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(StreamError::type_error("the chunk is not a BufferSource")),
        Err(e) => Err(crate::convert::caught_error(ctx, e)),
    }
}

/// The JS sides of a native transform stream, made once.
pub(crate) struct Sides {
    pub(crate) readable: JsValue,
    pub(crate) writable: JsValue,
}

/// A transform stream over `transformer` with the standard's default strategies, its sides
/// kept alive until they settle, as JS objects.
pub(crate) fn make_stream<'js>(
    ctx: &Ctx<'js>,
    transformer: impl Transformer<JsValue, JsValue>,
) -> rquickjs::Result<Sides> {
    let host = host_of(ctx).ok_or(rquickjs::Error::Unknown)?;
    let stream = transform::TransformStream::with_host(
        transformer,
        QueuingStrategy::new(),
        QueuingStrategy::new(),
        host.clone(),
    )
    .map_err(|e| crate::convert::throw(ctx, &e))?;
    CoreReadable::Values(stream.readable().clone()).keep_until_settled(&host);
    writable_stream::keep_until_settled(&host, stream.writable());
    let readable = Class::instance(ctx.clone(), ReadableStream::from_core(stream.readable().clone()))?;
    let writable = Class::instance(ctx.clone(), WritableStream::from_core(stream.writable().clone()))?;
    Ok(Sides {
        readable: JsValue::new(ctx, readable.into_value()).ok_or(rquickjs::Error::Unknown)?,
        writable: JsValue::new(ctx, writable.into_value()).ok_or(rquickjs::Error::Unknown)?,
    })
}

/// A held JS value, or `undefined`.
pub(crate) fn held<'js>(ctx: &Ctx<'js>, v: &JsValue) -> Value<'js> {
    v.get(ctx).unwrap_or_else(|| Value::new_undefined(ctx.clone()))
}

/// Converts with WebIDL's DOMString rules (`String(value)`, a TypeError for symbols).
pub(crate) fn to_dom_string<'js>(ctx: &Ctx<'js>, v: Value<'js>) -> rquickjs::Result<String> {
    if v.is_symbol() {
        return Err(Exception::throw_type(ctx, "cannot convert a Symbol to a string"));
    }
    let s: rquickjs::Coerced<String> = rquickjs::FromJs::from_js(ctx, v)?;
    Ok(s.0)
}
