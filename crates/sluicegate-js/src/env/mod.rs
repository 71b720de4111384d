//! Host globals the tests need beyond the streams themselves, one file each: `self` and
//! `console` ([`global`], showing values through [`inspect`]), `DOMException`
//! ([`dom_exception`]), `queueMicrotask` ([`microtask`]), `setTimeout`/`clearTimeout` with a
//! virtual clock (or a real one, for a script runner) and the event loop that runs them
//! ([`timers`]), `AbortController`/`AbortSignal` backed by the core's ([`abort`]) and
//! `structuredClone` ([`structured_clone`]).
//!
//! Why much of this is JavaScript source evaluated at install time rather than Rust classes: these
//! are small DOM shims whose behaviour (prototype getters, listener lists, deep clone with cycles)
//! is a few lines of JS and hundreds of lines of rquickjs glue; the part the core must see (the
//! abort signal) is a native object (see [`abort::core_signal`]).

use rquickjs::Ctx;

pub mod abort;
pub mod dom_exception;
pub mod global;
pub mod inspect;
pub mod microtask;
pub mod structured_clone;
pub mod timers;

/// Installs the host globals into `ctx`; called once by [`crate::Runtime::new`].
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    inspect::install(ctx)?;
    global::install(ctx)?;
    dom_exception::install(ctx)?;
    microtask::install(ctx)?;
    timers::install(ctx)?;
    abort::install(ctx)?;
    structured_clone::install(ctx)?;
    Ok(())
}
