//! `TextEncoder`, `TextDecoder`, `TextEncoderStream` and `TextDecoderStream` (the Encoding
//! Standard), on `sluicegate_transforms::text`.

use std::sync::Arc;

use parking_lot::Mutex;
use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Ctx, Exception, JsLifetime, Object, TypedArray, Value};
use sluicegate::transform::{TransformStreamDefaultController, Transformer};
use sluicegate::{Completion, StreamError};
use sluicegate_transforms::text::{self, DecodeOptions, TextDecoderCodec, Utf16Encoder};

use super::{
    buffer_source_bytes, buffer_source_input, glue, held, make_stream, to_dom_string, JsCodec, Sides,
};
use crate::convert::caught_error;
use crate::runtime::{host_of, JsHost};
use crate::streams::queuing_strategy::require_new;
use crate::streams::views::bytes_to_js;
use crate::value::JsValue;

/// A chunk as UTF-8 bytes through `encoder` (the glue gives a well-formed string or code units).
fn encode_value<'js>(ctx: &Ctx<'js>, encoder: &mut Utf16Encoder, v: Value<'js>) -> rquickjs::Result<Vec<u8>> {
    let input: Value = glue(ctx, "transforms.encoderInput")?.call((v,))?;
    if let Some(s) = input.as_string() {
        return Ok(encoder.encode_str(&s.to_string()?));
    }
    let units = TypedArray::<u16>::from_value(input)?;
    let units: &[u16] = units.as_ref();
    Ok(encoder.encode(units))
}

/// The label and options of the `TextDecoder` and `TextDecoderStream` constructors.
fn decoder_args<'js>(
    ctx: &Ctx<'js>,
    label: Opt<Value<'js>>,
    options: Opt<Value<'js>>,
) -> rquickjs::Result<(String, DecodeOptions)> {
    let label = match label.0.filter(|v| !v.is_undefined()) {
        Some(v) => to_dom_string(ctx, v)?,
        None => "utf-8".to_string(),
    };
    let mut o = DecodeOptions::default();
    if let Some(v) = options.0.filter(|v| !v.is_undefined() && !v.is_null()) {
        let Some(obj) = v.as_object() else {
            return Err(Exception::throw_type(ctx, "options must be an object"));
        };
        let fatal: Value = obj.get("fatal")?;
        o.fatal = rquickjs::Coerced::<bool>::from_js(ctx, fatal)?.0;
        let ignore: Value = obj.get("ignoreBOM")?;
        o.ignore_bom = rquickjs::Coerced::<bool>::from_js(ctx, ignore)?.0;
    }
    Ok((label, o))
}

use rquickjs::FromJs as _;

fn range_error(ctx: &Ctx<'_>, e: impl std::fmt::Display) -> rquickjs::Error {
    Exception::throw_range(ctx, &e.to_string())
}

/// `TextEncoder`.
#[derive(Trace, JsLifetime, Default)]
#[rquickjs::class(rename = "TextEncoder")]
pub struct TextEncoder {}

#[rquickjs::methods(rename_all = "camelCase")]
impl TextEncoder {
    /// `new TextEncoder()`.
    #[qjs(constructor)]
    pub fn new<'js>(ctx: Ctx<'js>, new_target: This<Value<'js>>) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        Ok(TextEncoder {})
    }

    /// `encoding`: always `"utf-8"`.
    #[qjs(get, enumerable, configurable)]
    pub fn encoding(&self) -> &'static str {
        "utf-8"
    }

    /// `encode(input = "")`.
    pub fn encode<'js>(&self, ctx: Ctx<'js>, input: Opt<Value<'js>>) -> rquickjs::Result<Value<'js>> {
        let mut encoder = Utf16Encoder::default();
        let mut bytes = match input.0.filter(|v| !v.is_undefined()) {
            Some(v) => encode_value(&ctx, &mut encoder, v)?,
            None => Vec::new(),
        };
        bytes.extend(encoder.flush());
        bytes_to_js(&ctx, bytes.into())
    }

    /// `encodeInto(source, destination)`: as many whole characters as fit.
    pub fn encode_into<'js>(
        &self,
        ctx: Ctx<'js>,
        source: Value<'js>,
        destination: Value<'js>,
    ) -> rquickjs::Result<Object<'js>> {
        let source = to_dom_string(&ctx, source)?;
        let room: usize = glue(&ctx, "transforms.destLength")?.call((destination.clone(),))?;
        let _ = &source;
        // `to_dom_string` gives a Rust string, where lone surrogates are already U+FFFD (each
        // one UTF-16 unit, as the replaced surrogate was).
        let (mut read, mut written) = (0usize, 0usize);
        let mut out = Vec::new();
        for c in source.chars() {
            let len = c.len_utf8();
            if written + len > room {
                break;
            }
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            written += len;
            read += c.len_utf16();
        }
        let array = TypedArray::<u8>::new_copy(ctx.clone(), &out)?;
        glue(&ctx, "transforms.copyInto")?.call::<_, ()>((destination, array))?;
        let result = Object::new(ctx)?;
        result.set("read", read as f64)?;
        result.set("written", written as f64)?;
        Ok(result)
    }
}

/// `TextDecoder`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "TextDecoder")]
pub struct TextDecoder {
    #[qjs(skip_trace)]
    inner: Mutex<text::TextDecoder>,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl TextDecoder {
    /// `new TextDecoder(label = "utf-8", options = {})`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        label: Opt<Value<'js>>,
        options: Opt<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let (label, options) = decoder_args(&ctx, label, options)?;
        let inner = text::TextDecoder::new(&label, options).map_err(|e| range_error(&ctx, e))?;
        Ok(TextDecoder {
            inner: Mutex::new(inner),
        })
    }

    /// `encoding`.
    #[qjs(get, enumerable, configurable)]
    pub fn encoding(&self) -> String {
        self.inner.lock().encoding()
    }

    /// `fatal`.
    #[qjs(get, enumerable, configurable)]
    pub fn fatal(&self) -> bool {
        self.inner.lock().options().fatal
    }

    /// `ignoreBOM`.
    #[qjs(get, enumerable, configurable, rename = "ignoreBOM")]
    pub fn ignore_bom(&self) -> bool {
        self.inner.lock().options().ignore_bom
    }

    /// `decode(input, { stream })`.
    pub fn decode<'js>(
        &self,
        ctx: Ctx<'js>,
        input: Opt<Value<'js>>,
        options: Opt<Value<'js>>,
    ) -> rquickjs::Result<String> {
        let bytes = match input.0.filter(|v| !v.is_undefined()) {
            Some(v) => buffer_source_bytes(&ctx, &v)?
                .ok_or_else(|| Exception::throw_type(&ctx, "decode() needs a BufferSource"))?,
            None => Default::default(),
        };
        let mut stream = false;
        if let Some(v) = options.0.filter(|v| !v.is_undefined() && !v.is_null()) {
            let Some(obj) = v.as_object() else {
                return Err(Exception::throw_type(&ctx, "options must be an object"));
            };
            let s: Value = obj.get("stream")?;
            stream = rquickjs::Coerced::<bool>::from_js(&ctx, s)?.0;
        }
        self.inner
            .lock()
            .decode(&bytes, stream)
            .map_err(|e| Exception::throw_type(&ctx, &e.to_string()))
    }
}

/// The transformer of `TextEncoderStream`.
struct EncoderTransformer {
    host: Arc<JsHost>,
    encoder: Utf16Encoder,
}

impl EncoderTransformer {
    fn emit(&self, bytes: Vec<u8>, c: &TransformStreamDefaultController<JsValue>) -> Completion {
        if bytes.is_empty() {
            return Completion::ok();
        }
        let chunk = self.host.with_ctx(|ctx| {
            let v = bytes_to_js(ctx, bytes.into()).map_err(|e| caught_error(ctx, e))?;
            JsValue::new(ctx, v).ok_or_else(|| StreamError::type_error("the JS runtime is gone"))
        });
        match chunk {
            Some(Ok(v)) => c.enqueue(v).into(),
            Some(Err(e)) => Completion::err(e),
            None => Completion::err(StreamError::type_error("the JS runtime is gone")),
        }
    }
}

impl Transformer<JsValue, JsValue> for EncoderTransformer {
    fn transform(&mut self, chunk: JsValue, c: &TransformStreamDefaultController<JsValue>) -> Completion {
        let host = self.host.clone();
        let encoder = &mut self.encoder;
        let bytes = host.with_ctx(|ctx| {
            let v = chunk
                .get(ctx)
                .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
            encode_value(ctx, encoder, v).map_err(|e| caught_error(ctx, e))
        });
        match bytes {
            Some(Ok(b)) => self.emit(b, c),
            Some(Err(e)) => Completion::err(e),
            None => Completion::err(StreamError::type_error("the JS runtime is gone")),
        }
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<JsValue>) -> Completion {
        let bytes = self.encoder.flush();
        self.emit(bytes, c)
    }
}

/// `TextEncoderStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "TextEncoderStream")]
pub struct TextEncoderStream {
    #[qjs(skip_trace)]
    readable: JsValue,
    #[qjs(skip_trace)]
    writable: JsValue,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl TextEncoderStream {
    /// `new TextEncoderStream()`.
    #[qjs(constructor)]
    pub fn new<'js>(ctx: Ctx<'js>, new_target: This<Value<'js>>) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let host = host_of(&ctx).ok_or(rquickjs::Error::Unknown)?;
        let Sides { readable, writable } = make_stream(
            &ctx,
            EncoderTransformer {
                host,
                encoder: Utf16Encoder::default(),
            },
        )?;
        Ok(TextEncoderStream { readable, writable })
    }

    /// `encoding`: always `"utf-8"`.
    #[qjs(get, enumerable, configurable)]
    pub fn encoding(&self) -> &'static str {
        "utf-8"
    }

    /// `readable`.
    #[qjs(get, enumerable, configurable)]
    pub fn readable<'js>(&self, ctx: Ctx<'js>) -> Value<'js> {
        held(&ctx, &self.readable)
    }

    /// `writable`.
    #[qjs(get, enumerable, configurable)]
    pub fn writable<'js>(&self, ctx: Ctx<'js>) -> Value<'js> {
        held(&ctx, &self.writable)
    }
}

fn string_out<'js>(ctx: &Ctx<'js>, piece: String) -> rquickjs::Result<Value<'js>> {
    Ok(rquickjs::String::from_str(ctx.clone(), &piece)?.into_value())
}

/// `TextDecoderStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "TextDecoderStream")]
pub struct TextDecoderStream {
    #[qjs(skip_trace)]
    encoding: String,
    #[qjs(skip_trace)]
    options: DecodeOptions,
    #[qjs(skip_trace)]
    readable: JsValue,
    #[qjs(skip_trace)]
    writable: JsValue,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl TextDecoderStream {
    /// `new TextDecoderStream(label = "utf-8", options = {})`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        label: Opt<Value<'js>>,
        options: Opt<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let (label, options) = decoder_args(&ctx, label, options)?;
        let codec = TextDecoderCodec::new(&label, options).map_err(|e| range_error(&ctx, e))?;
        let encoding = codec.encoding();
        let host = host_of(&ctx).ok_or(rquickjs::Error::Unknown)?;
        let Sides { readable, writable } =
            make_stream(&ctx, JsCodec::new(host, codec, buffer_source_input, string_out))?;
        Ok(TextDecoderStream {
            encoding,
            options,
            readable,
            writable,
        })
    }

    /// `encoding`.
    #[qjs(get, enumerable, configurable)]
    pub fn encoding(&self) -> String {
        self.encoding.clone()
    }

    /// `fatal`.
    #[qjs(get, enumerable, configurable)]
    pub fn fatal(&self) -> bool {
        self.options.fatal
    }

    /// `ignoreBOM`.
    #[qjs(get, enumerable, configurable, rename = "ignoreBOM")]
    pub fn ignore_bom(&self) -> bool {
        self.options.ignore_bom
    }

    /// `readable`.
    #[qjs(get, enumerable, configurable)]
    pub fn readable<'js>(&self, ctx: Ctx<'js>) -> Value<'js> {
        held(&ctx, &self.readable)
    }

    /// `writable`.
    #[qjs(get, enumerable, configurable)]
    pub fn writable<'js>(&self, ctx: Ctx<'js>) -> Value<'js> {
        held(&ctx, &self.writable)
    }
}
