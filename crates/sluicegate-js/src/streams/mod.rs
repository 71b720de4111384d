//! The Streams Standard's classes, one file per class, installed by [`install`].

// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod default_controller;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod default_reader;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod async_iterator;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod byob_reader;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod byob_request;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod byte_stream;
pub(crate) mod core_stream;
mod dict;
mod native;
pub(crate) mod promise;
pub mod queuing_strategy;
mod underlying_source;
pub(crate) mod views;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod readable_stream;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod writable_controller;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod transform_controller;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod transform_stream;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod writable_stream;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod writable_writer;

use rquickjs::Ctx;

/// Defines the stream classes on the global object.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    queuing_strategy::install(ctx)?;
    readable_stream::install(ctx)?;
    async_iterator::install(ctx)?;
    install_classes_writable(ctx)?;
    install_classes_transform(ctx)?;
    install_classes_bytes(ctx)?;
    native::install(ctx)?;
    apply_webidl_shapes(ctx)
}

/// Defines the writable stream classes.
fn install_classes_writable(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    rquickjs::Class::<writable_stream::WritableStream>::define(&globals)?;
    rquickjs::Class::<writable_writer::WritableStreamDefaultWriter>::define(&globals)?;
    rquickjs::Class::<writable_controller::WritableStreamDefaultController>::define(&globals)?;
    define_to_string_tags(
        ctx,
        &[
            "WritableStream",
            "WritableStreamDefaultWriter",
            "WritableStreamDefaultController",
        ],
    )
}

/// Defines the transform stream classes.
fn install_classes_transform(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    rquickjs::Class::<transform_stream::TransformStream>::define(&globals)?;
    rquickjs::Class::<transform_controller::TransformStreamDefaultController>::define(&globals)?;
    define_to_string_tags(ctx, &["TransformStream", "TransformStreamDefaultController"])
}

/// Defines the byte stream classes and captures the view helpers.
fn install_classes_bytes(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    views::install(ctx)?;
    let globals = ctx.globals();
    rquickjs::Class::<byte_stream::ReadableByteStreamController>::define(&globals)?;
    rquickjs::Class::<byob_reader::ReadableStreamBYOBReader>::define(&globals)?;
    rquickjs::Class::<byob_request::ReadableStreamBYOBRequest>::define(&globals)?;
    define_to_string_tags(
        ctx,
        &[
            "ReadableByteStreamController",
            "ReadableStreamBYOBReader",
            "ReadableStreamBYOBRequest",
        ],
    )
}

/// `Symbol.toStringTag` on each class's prototype: its name.
pub(crate) fn define_to_string_tags(ctx: &Ctx<'_>, names: &[&str]) -> rquickjs::Result<()> {
    let tag: rquickjs::Function = ctx.eval(
        "(name) => Object.defineProperty(globalThis[name].prototype, Symbol.toStringTag, \
         { value: name, configurable: true })",
    )?;
    for name in names {
        tag.call::<_, ()>((*name,))?;
    }
    Ok(())
}

/// Gives every installed class the property shapes its IDL prescribes (see `webidl.js`); runs
/// last, once every class is defined.
fn apply_webidl_shapes(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let glue: rquickjs::Function = ctx.eval(include_str!("webidl.js"))?;
    glue.call::<_, ()>((ctx.globals(),))
}
