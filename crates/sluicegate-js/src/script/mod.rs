//! Running a script file as a command-line runtime does: the engine of `sluicejs`.
//!
//! [`run`] loads a file as a classic script or an ES module, runs it, then runs its event loop
//! (promise jobs, the core's steps, timers on the real clock, and waits on file and stdio threads)
//! until nothing is left, and returns the exit status:
//!
//! | what happened | status | printed (stderr) |
//! |---|---|---|
//! | the loop ran dry | 0 | |
//! | the file cannot be read | 1 | `sluicejs: cannot read 'x.js': …` |
//! | a syntax error, or an exception the script throws | 1 | `Uncaught SyntaxError: …` with the stack |
//! | an exception thrown by a timer or `queueMicrotask` callback | 1, at once | `Uncaught Error: …` |
//! | a promise rejected with no handler at the end of a microtask checkpoint | 1 | `Uncaught (in promise) …` |
//! | a module's top-level `await` never settles | 13 | a warning, as Node gives |
//! | `sluice.exit(code)` | `code` | |
//! | the run outlasts [`Options::timeout`] (`--timeout-ms`) | 124 | `sluicejs: the script did not finish within N ms …` |
//!
//! # Scripts and modules
//!
//! A `.mjs` file is a module, a `.cjs` file a script; any other file is a script if it compiles
//! as one, else a module if it compiles as one (it has `import`, `export` or a top-level `await`),
//! as Node decides for a `.js` file of unknown type. [`Kind`] forces either. Modules `import` other files by relative path
//! ([`modules`]). Stack traces name the file by its full path, with its real line numbers.
//!
//! Besides the stream classes and the host globals of [`crate::env`], a script has `sluice`:
//! files and the standard streams as web streams ([`sluice_io`]).

pub mod deadline;
pub mod fatal;
pub mod modules;
pub mod sluice_io;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::{Ctx, Function, Module, Promise, Value};

use crate::env::timers::{next_due, run_due_timer, use_real_clock};
use crate::Runtime;
use deadline::Deadline;
use fatal::{Rejections, FAILURE};
use sluice_io::IoRefs;

/// How to read the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    /// By its extension, then by its content (see the module docs).
    #[default]
    Auto,
    /// A classic script.
    Script,
    /// An ES module.
    Module,
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The script's path.
    pub path: PathBuf,
    /// Script or module.
    pub kind: Kind,
    /// The arguments after the path (`sluice.args`).
    pub args: Vec<String>,
    /// A wall-clock limit on the whole run (none: the run ends when the event loop runs dry).
    pub timeout: Option<Duration>,
}

/// The status of a module whose top-level `await` never settled (Node's).
pub const UNSETTLED_TOP_LEVEL_AWAIT: i32 = 13;

/// Runs the script and its event loop; returns the exit status (see the module docs).
pub fn run(options: &Options) -> i32 {
    let path = &options.path;
    let source = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sluicejs: cannot read '{}': {e}", path.display());
            return FAILURE;
        }
    };
    let name = path
        .canonicalize()
        .unwrap_or_else(|_| path.clone())
        .to_string_lossy()
        .into_owned();
    // The file and stdio streams run their threads on tokio's blocking pool; the runtime is only
    // entered, never driven (the event loop below is the one that runs).
    let tokio = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sluicejs: cannot start the I/O threads: {e}");
            return FAILURE;
        }
    };
    let entered = tokio.enter();
    let rt = match Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sluicejs: {e}");
            return FAILURE;
        }
    };
    let refs = IoRefs::default();
    let rejections = match set_up(&rt, &refs, &options.args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sluicejs: cannot set up the runtime: {e}");
            return FAILURE;
        }
    };
    let deadline = options.timeout.map(|limit| Deadline::install(&rt, limit));
    let module = match options.kind {
        Kind::Module => true,
        Kind::Script => false,
        Kind::Auto => match Path::new(&name).extension().and_then(|e| e.to_str()) {
            Some("mjs") => true,
            Some("cjs") => false,
            _ => rt.with(|ctx| modules::looks_like_module(&ctx, &source)),
        },
    };
    let status = if module {
        run_module(&rt, &rejections, &refs, deadline.as_ref(), &name, source)
    } else {
        run_script(&rt, &rejections, &refs, deadline.as_ref(), &name, source)
    };
    rejections.clear();
    // The streams go first (an unclosed file's thread then writes what it holds and ends); the
    // wait for those threads is bounded, should a stream outlive its runtime.
    drop(rt);
    drop(entered);
    tokio.shutdown_timeout(std::time::Duration::from_secs(2));
    status
}

fn set_up(rt: &Runtime, refs: &IoRefs, args: &[String]) -> rquickjs::Result<Rejections> {
    rt.quickjs()
        .set_loader(modules::RelativeResolver, modules::FileLoader);
    rt.with(|ctx| -> rquickjs::Result<()> {
        use_real_clock(&ctx);
        sluice_io::install(&ctx, refs, args)
    })?;
    Rejections::install(rt)
}

/// Prints the pending exception of `ctx` (after `Err(Exception)`) as uncaught.
fn print_caught(ctx: &Ctx<'_>, error: rquickjs::Error) {
    let value = match error {
        rquickjs::Error::Exception => ctx.catch(),
        other => {
            eprintln!("Uncaught {other}");
            return;
        }
    };
    fatal::print_uncaught(ctx, "Uncaught", value);
}

fn run_script(
    rt: &Runtime,
    rejections: &Rejections,
    refs: &IoRefs,
    deadline: Option<&Deadline>,
    name: &str,
    source: String,
) -> i32 {
    let evaluated = rt.with(|ctx| {
        let mut options = EvalOptions::default();
        options.strict = false;
        options.filename = Some(name.to_owned());
        match ctx.eval_with_options::<(), _>(source, options) {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Some(status) = deadline::check(deadline) {
                    let _ = ctx.catch();
                    return Err(status);
                }
                print_caught(&ctx, e);
                Err(FAILURE)
            }
        }
    });
    if let Err(status) = evaluated {
        return status;
    }
    event_loop(rt, rejections, refs, deadline)
}

fn run_module(
    rt: &Runtime,
    rejections: &Rejections,
    refs: &IoRefs,
    deadline: Option<&Deadline>,
    name: &str,
    source: String,
) -> i32 {
    let settled = Rc::new(Cell::new(false));
    let started = rt.with(|ctx| {
        let evaluated = Module::declare(ctx.clone(), name, source).and_then(|m| m.eval());
        let promise: Promise = match evaluated {
            Ok((_, promise)) => promise,
            Err(e) => {
                if let Some(status) = deadline::check(deadline) {
                    let _ = ctx.catch();
                    return Err(status);
                }
                print_caught(&ctx, e);
                return Err(FAILURE);
            }
        };
        // A module's evaluation promise: fulfilled once its top-level code (and awaits) finish,
        // rejected with an exception it throws, which is uncaught.
        let done = settled.clone();
        let watch = || -> rquickjs::Result<()> {
            let on_done = Function::new(ctx.clone(), move || done.set(true))?;
            let on_throw = Function::new(ctx.clone(), fatal::fatal_hook())?;
            let then: Function = promise.get("then")?;
            then.call::<_, Value>((rquickjs::function::This(promise.clone()), on_done, on_throw))?;
            Ok(())
        };
        if let Err(e) = watch() {
            print_caught(&ctx, e);
            return Err(FAILURE);
        }
        Ok(())
    });
    if let Err(status) = started {
        return status;
    }
    let status = event_loop(rt, rejections, refs, deadline);
    if status == 0 && !settled.get() {
        eprintln!("Warning: Detected unsettled top-level await in {name}");
        return UNSETTLED_TOP_LEVEL_AWAIT;
    }
    status
}

/// Runs jobs, due timers and I/O completions until none is left; see the module docs for how it
/// ends.
fn event_loop(rt: &Runtime, rejections: &Rejections, refs: &IoRefs, deadline: Option<&Deadline>) -> i32 {
    loop {
        let ran = rt.run_jobs();
        if let Some(status) = deadline::check(deadline) {
            return status;
        }
        if let Err(e) = ran {
            eprintln!("Uncaught {e}");
            return FAILURE;
        }
        if rejections.report_unhandled(rt) {
            return FAILURE;
        }
        let due = rt.with(|ctx| next_due(&ctx));
        match due {
            Some(wait) if wait.is_zero() => {
                let ran = rt.with(|ctx| run_due_timer(&ctx));
                if let Some(status) = deadline::check(deadline) {
                    return status;
                }
                if let Err(e) = ran {
                    eprintln!("Uncaught {e}");
                    return FAILURE;
                }
                continue;
            }
            None if refs.pending() == 0 => return 0,
            _ => {}
        }
        let wake = due.map(|wait| Instant::now() + wait);
        let wake = match (wake, deadline.map(Deadline::at)) {
            (Some(w), Some(d)) => Some(w.min(d)),
            (w, d) => w.or(d),
        };
        rt.js_host().wait_for_wake(wake);
    }
}
