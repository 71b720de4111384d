//! `setTimeout`/`clearTimeout` (and `setInterval`/`clearInterval`) on a virtual clock, and the
//! event loop that runs them: [`run_event_loop`] drains the job queue, then runs the timer due
//! first (jumping the clock to its time when nothing else is runnable), drains the jobs again,
//! and so on until no timer is left or a wall-clock deadline passes.
//!
//! A virtual clock makes a run that waits on timers (the test harness's timeouts, `delay(100)` in
//! tests) as fast as the work itself, while the order of timers stays the one their due times and
//! creation give; the wall-clock deadline still bounds a script that never settles.

use std::time::Instant;

use rquickjs::{Ctx, Function, Object};

use crate::runtime::{describe, Runtime};
use crate::JsError;

const SOURCE: &str = r#"(() => {
  let now = 0, nextId = 1, sequence = 0;
  const timers = new Map();
  const errors = [];
  const delayOf = (ms) => { ms = Number(ms); return ms > 0 ? ms : 0; };
  function schedule(callback, ms, args, repeat) {
    const id = nextId++;
    timers.set(id, { due: now + delayOf(ms), sequence: sequence++, callback, args, repeat, ms: delayOf(ms) });
    return id;
  }
  const clear = (id) => { timers.delete(id); };
  const define = (name, value) => Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  define('setTimeout', function setTimeout(callback, ms = 0, ...args) { return schedule(callback, ms, args, false); });
  define('setInterval', function setInterval(callback, ms = 0, ...args) { return schedule(callback, ms, args, true); });
  define('clearTimeout', function clearTimeout(id) { clear(id); });
  define('clearInterval', function clearInterval(id) { clear(id); });
  const hidden = (name, value) => Object.defineProperty(globalThis, name, { value, configurable: true });
  hidden('__sluicegateReportError', (e) => {
    errors.push(e);
    if (typeof globalThis.onerror === 'function') {
      try { globalThis.onerror(String(e && e.message), '', 0, 0, e); } catch (_) {}
    }
  });
  hidden('__sluicegateTakeErrors', () => errors.splice(0));
  hidden('__sluicegateNow', () => now);
  // Runs the timer due first; returns whether there was one.
  hidden('__sluicegateRunTimer', () => {
    let first = null, firstId = 0;
    for (const [id, t] of timers) {
      if (first === null || t.due < first.due || (t.due === first.due && t.sequence < first.sequence)) {
        first = t; firstId = id;
      }
    }
    if (first === null) return false;
    const at = first.due;
    if (at > now) now = at;
    if (first.repeat) {
      first.due = at + Math.max(first.ms, 1);
      first.sequence = sequence++;
    } else {
      timers.delete(firstId);
    }
    try {
      if (typeof first.callback === 'function') first.callback(...first.args);
      else (0, eval)(String(first.callback));
    } catch (e) {
      globalThis.__sluicegateReportError(e);
    }
    return true;
  });
})();"#;

/// Defines the timer globals.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    ctx.eval::<(), _>(SOURCE)
}

/// How [`run_event_loop`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopEnd {
    /// No job and no timer is left.
    Idle,
    /// The deadline passed with work still pending (a timer, or jobs that keep queueing jobs).
    Deadline,
}

/// The virtual clock's time in milliseconds (advanced to each timer's due time as it runs).
pub fn now(ctx: &Ctx<'_>) -> f64 {
    call_hidden(ctx, "__sluicegateNow").unwrap_or(0.0)
}

/// Exceptions thrown by timer and `queueMicrotask` callbacks since the last call, as text.
pub fn take_reported_errors(ctx: &Ctx<'_>) -> Vec<String> {
    let taken: Option<Vec<rquickjs::Value>> = call_hidden(ctx, "__sluicegateTakeErrors");
    taken
        .unwrap_or_default()
        .into_iter()
        .map(|e| describe(ctx, e))
        .collect()
}

fn call_hidden<'js, R: rquickjs::FromJs<'js>>(ctx: &Ctx<'js>, name: &str) -> Option<R> {
    let globals: Object = ctx.globals();
    let f: Function = globals.get(name).ok()?;
    f.call(()).ok()
}

/// Runs jobs and timers until nothing is left ([`LoopEnd::Idle`]) or `deadline` passes
/// ([`LoopEnd::Deadline`]). Jobs are drained after the script and after every timer callback.
/// Exceptions thrown by jobs are collected into the returned list rather than stopping the loop;
/// exceptions from timer and `queueMicrotask` callbacks are in [`take_reported_errors`].
pub fn run_event_loop(rt: &Runtime, deadline: Option<Instant>) -> Result<(LoopEnd, Vec<JsError>), JsError> {
    let mut errors = Vec::new();
    loop {
        if let Err(e) = rt.run_jobs() {
            errors.push(e);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok((LoopEnd::Deadline, errors));
        }
        let ran = rt.with(|ctx| {
            let globals = ctx.globals();
            let f: Function = globals
                .get("__sluicegateRunTimer")
                .map_err(|e| JsError(e.to_string()))?;
            f.call::<_, bool>(())
                .map_err(|e| JsError(crate::runtime::describe_error(&ctx, e)))
        })?;
        if !ran {
            return Ok((LoopEnd::Idle, errors));
        }
    }
}
