//! JS `ArrayBufferView`s and the core's byte types.
//!
//! The core owns its buffers ([`ArrayBuffer`], [`ByobView`], [`Bytes`]) and QuickJS owns its own,
//! so bytes cross the seam by copy: once when script hands a view to the core (after which the
//! script's buffer is detached, as the standard's transfer leaves it), and once when the core
//! hands bytes to script (into a new JS `ArrayBuffer` that QuickJS allocates). Why not share one
//! allocation: the core moves its buffers between threads and frees them when it likes, and a JS
//! buffer aliasing that memory could outlive it; a copy at the seam is sound by construction.
//! (rquickjs's `ArrayBuffer::new`, which lends a `Vec` to QuickJS, is not used: its free callback
//! is called with a null pointer once script detaches such a buffer.)

use bytes::Bytes;
use rquickjs::{ArrayBuffer as JsArrayBuffer, Ctx, Exception, Function, Object, Value};
use sluicegate::readable::{ArrayBuffer, ByobView, ViewType};

use crate::runtime::host_of;
use crate::value::JsValue;

/// Captures the view helpers of `views.js`; called at start-up.
pub(crate) fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let pair: rquickjs::Array = ctx.eval(include_str!("views.js"))?;
    let host = host_of(ctx).ok_or(rquickjs::Error::Unknown)?;
    if let Some(describe) = JsValue::new(ctx, pair.get(0)?) {
        host.set_glue("views.describe", describe);
    }
    if let Some(make) = JsValue::new(ctx, pair.get(1)?) {
        host.set_glue("views.make", make);
    }
    Ok(())
}

fn glue<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Function<'js>> {
    host_of(ctx)
        .and_then(|host| host.glue(ctx, name))
        .ok_or(rquickjs::Error::Unknown)
}

/// A script's `ArrayBufferView`: its kind, buffer and range.
pub(crate) struct JsView<'js> {
    pub(crate) kind: ViewType,
    /// The buffer; `None` once detached (rquickjs does not wrap a detached buffer).
    pub(crate) buffer: Option<JsArrayBuffer<'js>>,
    pub(crate) byte_offset: usize,
    pub(crate) byte_length: usize,
}

impl<'js> JsView<'js> {
    /// The view `value` describes; `None` if it is not an `ArrayBufferView` over an `ArrayBuffer`.
    pub(crate) fn of(ctx: &Ctx<'js>, value: &Value<'js>) -> rquickjs::Result<Option<Self>> {
        let described: Value = glue(ctx, "views.describe")?.call((value.clone(),))?;
        let Some(parts) = described.as_array() else {
            return Ok(None);
        };
        let name: String = parts.get(0)?;
        let buffer: Object = parts.get(1)?;
        let detached: bool = parts.get(4)?;
        let buffer = if detached {
            None
        } else {
            JsArrayBuffer::from_object(buffer)
        };
        Ok(Some(JsView {
            kind: view_type(&name).ok_or_else(|| Exception::throw_type(ctx, "unknown view type"))?,
            buffer,
            byte_offset: parts.get::<f64>(2)? as usize,
            byte_length: parts.get::<f64>(3)? as usize,
        }))
    }

    /// Whether the view's buffer is detached.
    pub(crate) fn is_detached(&self) -> bool {
        self.bytes().is_none()
    }

    fn bytes(&self) -> Option<&[u8]> {
        self.buffer.as_ref()?.as_bytes()
    }

    /// The buffer's length in bytes (0 once detached).
    pub(crate) fn buffer_byte_length(&self) -> usize {
        self.bytes().map_or(0, <[u8]>::len)
    }

    /// The viewed bytes, copied.
    /// (Empty if the buffer is detached, or if a resizable buffer shrank under the view: a view
    /// out of its buffer's bounds reports no bytes, as its getters do.)
    pub(crate) fn to_bytes(&self) -> Bytes {
        self.bytes()
            .and_then(|all| all.get(self.byte_offset..self.byte_offset + self.byte_length))
            .map(Bytes::copy_from_slice)
            .unwrap_or_default()
    }

    /// A copy of the whole buffer, and the view's byte offset and length in it; `None` if the
    /// buffer is detached or the view is out of its bounds (a resizable buffer that shrank).
    pub(crate) fn to_buffer_range(&self) -> Option<(Bytes, usize, usize)> {
        let all = self.bytes()?;
        let end = self.byte_offset.checked_add(self.byte_length)?;
        (end <= all.len()).then(|| (Bytes::copy_from_slice(all), self.byte_offset, self.byte_length))
    }

    /// A core view with a copy of the whole buffer and this view's range and kind.
    pub(crate) fn to_core(&self) -> Option<ByobView> {
        let all = self.bytes()?;
        let elements = self.byte_length / self.kind.element_size();
        ByobView::with_type(ArrayBuffer::from(all), self.kind, self.byte_offset, elements).ok()
    }

    /// Detaches the script's buffer: the standard's TransferArrayBuffer, whose result the core
    /// now holds as its copy.
    pub(crate) fn detach(self) {
        if let Some(mut buffer) = self.buffer {
            buffer.detach();
        }
    }
}

/// The core's [`ViewType`] for a typed array name or `DataView`.
fn view_type(name: &str) -> Option<ViewType> {
    Some(match name {
        "Int8Array" => ViewType::Int8,
        "Uint8Array" => ViewType::Uint8,
        "Uint8ClampedArray" => ViewType::Uint8Clamped,
        "Int16Array" => ViewType::Int16,
        "Uint16Array" => ViewType::Uint16,
        "Float16Array" => ViewType::Float16,
        "Int32Array" => ViewType::Int32,
        "Uint32Array" => ViewType::Uint32,
        "Float32Array" => ViewType::Float32,
        "Float64Array" => ViewType::Float64,
        "BigInt64Array" => ViewType::BigInt64,
        "BigUint64Array" => ViewType::BigUint64,
        "DataView" => ViewType::DataView,
        _ => return None,
    })
}

fn view_type_name(kind: ViewType) -> &'static str {
    match kind {
        ViewType::Int8 => "Int8Array",
        ViewType::Uint8 => "Uint8Array",
        ViewType::Uint8Clamped => "Uint8ClampedArray",
        ViewType::Int16 => "Int16Array",
        ViewType::Uint16 => "Uint16Array",
        ViewType::Float16 => "Float16Array",
        ViewType::Int32 => "Int32Array",
        ViewType::Uint32 => "Uint32Array",
        ViewType::Float32 => "Float32Array",
        ViewType::Float64 => "Float64Array",
        ViewType::BigInt64 => "BigInt64Array",
        ViewType::BigUint64 => "BigUint64Array",
        ViewType::DataView => "DataView",
    }
}

/// A new view of `kind` over `buffer` (a JS `ArrayBuffer`).
pub(crate) fn make_view<'js>(
    ctx: &Ctx<'js>,
    kind: ViewType,
    buffer: Value<'js>,
    byte_offset: usize,
    byte_length: usize,
) -> rquickjs::Result<Value<'js>> {
    glue(ctx, "views.make")?.call((
        view_type_name(kind),
        buffer,
        byte_offset as f64,
        byte_length as f64,
    ))
}

/// A core view as a new JS view of its kind, over a new JS buffer with a copy of the core's bytes.
pub(crate) fn core_view_to_js<'js>(ctx: &Ctx<'js>, view: ByobView) -> rquickjs::Result<Value<'js>> {
    let (buffer, byte_offset, byte_length, kind) = view.into_parts();
    let buffer = JsArrayBuffer::new_copy(ctx.clone(), buffer.as_slice())?;
    make_view(ctx, kind, buffer.into_value(), byte_offset, byte_length)
}

/// `byte_length` bytes at `byte_offset` of `buffer` as a new `Uint8Array` with that offset and
/// length over a new JS buffer with a copy of all of `buffer`: the view a byte stream's read
/// hands out when its chunk is part of a larger transferred buffer.
pub(crate) fn bytes_in_buffer_to_js<'js>(
    ctx: &Ctx<'js>,
    buffer: &Bytes,
    byte_offset: usize,
    byte_length: usize,
) -> rquickjs::Result<Value<'js>> {
    let buffer = JsArrayBuffer::new_copy(ctx.clone(), &buffer[..])?;
    make_view(
        ctx,
        ViewType::Uint8,
        buffer.into_value(),
        byte_offset,
        byte_length,
    )
}

/// Bytes as a new `Uint8Array` over a buffer of exactly those bytes.
pub(crate) fn bytes_to_js<'js>(ctx: &Ctx<'js>, bytes: Bytes) -> rquickjs::Result<Value<'js>> {
    let len = bytes.len();
    let buffer = JsArrayBuffer::new_copy(ctx.clone(), &bytes[..])?;
    make_view(ctx, ViewType::Uint8, buffer.into_value(), 0, len)
}
