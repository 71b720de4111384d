//! `CompressionStream` and `DecompressionStream` (the Compression Standard).

use rquickjs::class::Trace;
use rquickjs::function::This;
use rquickjs::{Ctx, Exception, JsLifetime, Value};
use sluicegate_transforms::compression::{Decoder, Encoder, Format};

use super::{buffer_source_input, held, make_stream, to_dom_string, JsCodec, Sides};
use crate::runtime::host_of;
use crate::streams::queuing_strategy::require_new;
use crate::streams::views::bytes_to_js;
use crate::value::JsValue;

/// The `CompressionFormat` enum: the formats the standard lists.
fn format<'js>(ctx: &Ctx<'js>, v: Value<'js>) -> rquickjs::Result<Format> {
    let name = to_dom_string(ctx, v)?;
    match name.as_str() {
        "gzip" => Ok(Format::Gzip),
        "deflate" => Ok(Format::Deflate),
        "deflate-raw" => Ok(Format::DeflateRaw),
        _ => Err(Exception::throw_type(
            ctx,
            &format!("'{name}' is not a valid CompressionFormat"),
        )),
    }
}

fn bytes_out<'js>(ctx: &Ctx<'js>, piece: Vec<u8>) -> rquickjs::Result<Value<'js>> {
    bytes_to_js(ctx, piece.into())
}

/// `CompressionStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "CompressionStream")]
pub struct CompressionStream {
    #[qjs(skip_trace)]
    readable: JsValue,
    #[qjs(skip_trace)]
    writable: JsValue,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl CompressionStream {
    /// `new CompressionStream(format)`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        format_arg: Value<'js>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let f = format(&ctx, format_arg)?;
        let host = host_of(&ctx).ok_or(rquickjs::Error::Unknown)?;
        let encoder =
            Encoder::new(f, f.default_level()).map_err(|e| Exception::throw_type(&ctx, &e.to_string()))?;
        let Sides { readable, writable } =
            make_stream(&ctx, JsCodec::new(host, encoder, buffer_source_input, bytes_out))?;
        Ok(CompressionStream { readable, writable })
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

/// `DecompressionStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "DecompressionStream")]
pub struct DecompressionStream {
    #[qjs(skip_trace)]
    readable: JsValue,
    #[qjs(skip_trace)]
    writable: JsValue,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl DecompressionStream {
    /// `new DecompressionStream(format)`.
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        format_arg: Value<'js>,
    ) -> rquickjs::Result<Self> {
        require_new(&ctx, &new_target)?;
        let f = format(&ctx, format_arg)?;
        let host = host_of(&ctx).ok_or(rquickjs::Error::Unknown)?;
        let decoder = Decoder::new(f).map_err(|e| Exception::throw_type(&ctx, &e.to_string()))?;
        let Sides { readable, writable } =
            make_stream(&ctx, JsCodec::new(host, decoder, buffer_source_input, bytes_out))?;
        Ok(DecompressionStream { readable, writable })
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
