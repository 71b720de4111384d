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
mod promise;
pub mod queuing_strategy;
// `rquickjs::methods` generates undocumented associated constants for methods.
#[allow(missing_docs)]
pub mod readable_stream;

use rquickjs::Ctx;

/// Defines the stream classes on the global object.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    queuing_strategy::install(ctx)?;
    readable_stream::install(ctx)?;
    async_iterator::install(ctx)?;
    apply_webidl_shapes(ctx)
}

/// Gives every installed class the property shapes its IDL prescribes (see `webidl.js`); runs
/// last, once every class is defined.
fn apply_webidl_shapes(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let glue: rquickjs::Function = ctx.eval(include_str!("webidl.js"))?;
    glue.call::<_, ()>((ctx.globals(),))
}
