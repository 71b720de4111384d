//! The Streams Standard's classes, one file per class, installed by [`install`].

pub mod queuing_strategy;

use rquickjs::Ctx;

/// Defines the stream classes on the global object.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    queuing_strategy::install(ctx)
}
