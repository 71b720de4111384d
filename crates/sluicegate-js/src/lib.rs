//! The QuickJS binding of sluicegate: the Streams Standard's classes in JavaScript, backed by the
//! Rust core.
//!
//! [`Runtime`] owns a QuickJS runtime and context. [`Runtime::new`] calls [`install`], which
//! installs the stream classes and the host globals ([`env::install`]). Scripts run with
//! [`Runtime::eval`]; [`Runtime::run_jobs`] then drains QuickJS's job queue, in which the core's
//! microtasks are ordinary jobs (see [`runtime`] for how the ordering is kept).
//!
//! [`script`] runs a file as a command-line runtime does (modules, real timers, uncaught errors
//! ending the process, files and stdio as streams): the engine of the `sluicejs` binary.
//!
//! # Hooking in host pieces (timers, abort signals, the WPT runner)
//!
//! - Host globals live in [`mod@env`], one file per global, installed from [`env::install`].
//! - An event loop with timers calls [`Runtime::run_jobs`] after each script and after each timer
//!   callback: that drains promise reactions and core steps in one FIFO.
//! - Core steps that need JavaScript reach it through [`JsHost::with_ctx`]; JavaScript values the
//!   core holds are [`JsValue`]s.
//!
//! # Lifetimes and memory
//!
//! The core holds many links weakly (a controller its stream, a queued step its stream), so that
//! a native stream dies with its last handle; JavaScript keeps alive whatever a reaction or an
//! object refers to. The binding bridges the two conservatively: a stream made from script lives
//! until it closes or errors (or its runtime is dropped), a pending promise of a source, sink or
//! transformer keeps its stream alive, and JS readers and writers keep their lock when collected.
//! So nothing script can still observe is freed early; the cost is that a stream left open and
//! unreachable is freed with its runtime, not before.
//!
//! Bytes cross between JS buffers and the core's by copy (see `streams::views`), and script's
//! buffer is detached wherever the standard transfers it.
//!
//! ```
//! let rt = sluicegate_js::Runtime::new().unwrap();
//! rt.eval("globalThis.ok = self === globalThis").unwrap();
//! assert!(rt.with(|ctx| ctx.eval::<bool, _>("ok").unwrap()));
//! ```

#![warn(missing_docs)]

pub mod convert;
pub mod env;
pub mod runtime;
pub mod script;
pub mod streams;
pub mod transforms;
pub mod value;

pub use runtime::{JsError, JsHost, Runtime};
pub use value::JsValue;

/// Installs everything the binding provides into `ctx`: the host globals (and, as they land, the
/// stream classes).
pub fn install(ctx: &rquickjs::Ctx<'_>) -> rquickjs::Result<()> {
    convert::install(ctx)?;
    env::install(ctx)?;
    transforms::install(ctx)?;
    streams::install(ctx)?;
    Ok(())
}
