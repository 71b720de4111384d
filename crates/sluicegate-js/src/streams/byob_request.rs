//! `ReadableStreamBYOBRequest` over the core's request.
//!
//! Script's `view` is a `Uint8Array` over a JS copy of the request's buffer (see
//! `streams::views` for why copies): what script writes there reaches the core's buffer when the
//! request is answered (`respond`, or an `enqueue` or `close` on the controller), and the copy is
//! detached then, as the standard's transfer of the buffer detaches script's view.

use rquickjs::class::Trace;
use rquickjs::{ArrayBuffer as JsArrayBuffer, Ctx, Exception, JsLifetime, Value};
use sluicegate::readable::{self, ViewType};

use super::dict::enforce_range_u64;
use super::views::{make_view, JsView};
use crate::convert::throw;
use crate::value::JsValue;

/// The standard's `ReadableStreamBYOBRequest`; made only by a byte stream controller.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "ReadableStreamBYOBRequest")]
pub struct ReadableStreamBYOBRequest {
    #[qjs(skip_trace)]
    inner: readable::ReadableStreamBYOBRequest,
    /// `[[view]]`: a `Uint8Array` over the JS copy of the buffer.
    #[qjs(skip_trace)]
    view: Option<JsValue>,
}

impl ReadableStreamBYOBRequest {
    /// The JS request for a core request, with its view over a copy of the request's buffer.
    pub(crate) fn new(ctx: &Ctx<'_>, inner: readable::ReadableStreamBYOBRequest) -> rquickjs::Result<Self> {
        let view = match (inner.view(), inner.with_buffer(|b| b.to_vec())) {
            (Some(v), Ok(bytes)) => {
                let buffer = JsArrayBuffer::new_copy(ctx.clone(), &bytes)?;
                let view = make_view(
                    ctx,
                    ViewType::Uint8,
                    buffer.into_value(),
                    v.byte_offset,
                    v.byte_length,
                )?;
                JsValue::new(ctx, view)
            }
            _ => None,
        };
        Ok(ReadableStreamBYOBRequest { inner, view })
    }

    fn js_view<'js>(&self, ctx: &Ctx<'js>) -> Option<JsView<'js>> {
        let v = self.view.as_ref()?.get(ctx)?;
        JsView::of(ctx, &v).ok().flatten()
    }

    /// Copies script's writes to the view into the core's buffer; if script detached the view's
    /// buffer, takes the core's buffer out too, so the core answers as for a detached buffer.
    pub(crate) fn sync_to_core(&self, ctx: &Ctx<'_>) {
        let Some(view) = self.js_view(ctx) else { return };
        if view.is_detached() {
            drop(self.inner.take_view());
            return;
        }
        let _ = self.inner.write(0, &view.to_bytes());
    }

    /// Detaches script's view: the request was answered and its buffer moved on.
    pub(crate) fn detach_view(&self, ctx: &Ctx<'_>) {
        if let Some(view) = self.js_view(ctx) {
            if !view.is_detached() {
                view.detach();
            }
        }
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl ReadableStreamBYOBRequest {
    /// Not constructible from script.
    #[qjs(constructor)]
    pub fn new_js(ctx: Ctx<'_>) -> rquickjs::Result<Self> {
        Err(Exception::throw_type(&ctx, "Illegal constructor"))
    }

    /// `view`: `null` once the request has been answered.
    #[qjs(get, enumerable, configurable)]
    pub fn view<'js>(&self, ctx: Ctx<'js>) -> Value<'js> {
        if !self.inner.is_valid() {
            return Value::new_null(ctx);
        }
        self.view
            .as_ref()
            .and_then(|v| v.get(&ctx))
            .unwrap_or_else(|| Value::new_null(ctx))
    }

    /// `respond(bytesWritten)`.
    pub fn respond<'js>(&self, ctx: Ctx<'js>, bytes_written: Value<'js>) -> rquickjs::Result<()> {
        let n = enforce_range_u64(&ctx, &bytes_written, "bytesWritten")?;
        if !self.inner.is_valid() {
            return Err(Exception::throw_type(
                &ctx,
                "this request has already been answered",
            ));
        }
        self.sync_to_core(&ctx);
        self.inner
            .respond(usize::try_from(n).unwrap_or(usize::MAX))
            .map_err(|e| throw(&ctx, &e))?;
        self.detach_view(&ctx);
        Ok(())
    }

    /// `respondWithNewView(view)`.
    pub fn respond_with_new_view<'js>(&self, ctx: Ctx<'js>, view: Value<'js>) -> rquickjs::Result<()> {
        let Some(new_view) = JsView::of(&ctx, &view)? else {
            return Err(Exception::throw_type(
                &ctx,
                "respondWithNewView() needs an ArrayBufferView",
            ));
        };
        if !self.inner.is_valid() {
            return Err(Exception::throw_type(
                &ctx,
                "this request has already been answered",
            ));
        }
        if new_view.is_detached() {
            return Err(Exception::throw_type(&ctx, "the view's buffer is detached"));
        }
        let Some(core_view) = new_view.to_core() else {
            return Err(Exception::throw_range(&ctx, "the view does not fit its buffer"));
        };
        self.inner
            .try_respond_with_new_view(core_view)
            .map_err(|(e, _)| throw(&ctx, &e))?;
        new_view.detach();
        self.detach_view(&ctx);
        Ok(())
    }
}
