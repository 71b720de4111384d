//! `self` (the global object, as in a window or worker) and `console`: `log`, `info` and `debug`
//! print to stdout, `warn`, `error` and `trace` to stderr, each argument shown as Node's console
//! shows it (see [`super::inspect`]); `dir(value, options)` prints one value inspected, and
//! `assert(condition, ...message)` prints `Assertion failed` to stderr when the condition is false.
//!
//! Output that cannot be written (a closed stdout) is dropped quietly instead of failing the
//! script, as a shell tool's output into `head` should be.

use std::io::Write;

use rquickjs::{Ctx, Function, Object};

const SOURCE: &str = r#"((print) => {
  const { format, inspect } = globalThis.__sluicegateInspect;
  const console = {};
  for (const name of ['log', 'info', 'debug']) console[name] = (...args) => print(format(...args), false);
  for (const name of ['warn', 'error']) console[name] = (...args) => print(format(...args), true);
  console.dir = (value, options) => print(inspect(value, options), false);
  console.trace = (...args) => {
    const stack = String(new Error().stack || '').split('\n').slice(1).join('\n');
    print(`Trace${args.length ? ': ' + format(...args) : ''}${stack ? '\n' + stack.replace(/\s+$/, '') : ''}`, true);
  };
  console.assert = (condition, ...args) => {
    if (!condition) print(args.length ? `Assertion failed: ${format(...args)}` : 'Assertion failed', true);
  };
  return console;
})"#;

/// Defines `self` and `console` (after [`super::inspect::install`]).
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    globals.set("self", globals.clone())?;
    let print = Function::new(ctx.clone(), |line: String, to_stderr: bool| {
        // A write error (EPIPE from a closed pipe) is dropped: see the module docs.
        let _ = if to_stderr {
            writeln!(std::io::stderr().lock(), "{line}")
        } else {
            writeln!(std::io::stdout().lock(), "{line}")
        };
    })?;
    let make: Function = ctx.eval(SOURCE)?;
    let console: Object = make.call((print,))?;
    globals.set("console", console)?;
    Ok(())
}
