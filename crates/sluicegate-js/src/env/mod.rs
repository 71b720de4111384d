//! Host globals the tests need beyond the streams themselves: `self` here; timers,
//! `queueMicrotask`, `AbortController`/`AbortSignal`, `DOMException` and `structuredClone` are
//! added next to it, one file each, and installed from [`install`].

use rquickjs::Ctx;

/// Installs the host globals into `ctx`; called once by [`crate::Runtime::new`].
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    // `self` is the global object, as in a window or worker.
    globals.set("self", globals.clone())?;
    Ok(())
}
