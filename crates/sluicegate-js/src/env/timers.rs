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
  // The virtual clock, or real milliseconds since a point once a runner switches to real time.
  let realStart = null;
  const clock = () => realStart === null ? now : Date.now() - realStart;
  const timers = new Map();
  const errors = [];
  const delayOf = (ms) => { ms = Number(ms); return ms > 0 ? ms : 0; };
  function schedule(callback, ms, args, repeat) {
    const id = nextId++;
    timers.set(id, { due: clock() + delayOf(ms), sequence: sequence++, callback, args, repeat, ms: delayOf(ms) });
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
  hidden('__sluicegateNow', () => clock());
  hidden('__sluicegateUseRealClock', () => { if (realStart === null) realStart = Date.now() - now; });
  // Milliseconds until the first timer is due (0 or less: due now), or -1 with no timer.
  hidden('__sluicegateNextDue', () => {
    let first = null;
    for (const t of timers.values()) {
      if (first === null || t.due < first.due) first = t;
    }
    return first === null ? -1 : Math.max(first.due - clock(), 0);
  });
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
    if (realStart === null && at > now) now = at;
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
    // Named, so that a stack through it says where it is.
    let mut options = rquickjs::context::EvalOptions::default();
    options.filename = Some("sluicegate:timers".into());
    ctx.eval_with_options::<(), _>(SOURCE, options)
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

/// Switches the timers to real time: from now on a timer is due `ms` real milliseconds after it
/// was set, and [`run_due_timer`] runs only timers that are due. (The WPT runner keeps the
/// virtual clock; a script runner wants real time.)
pub fn use_real_clock(ctx: &Ctx<'_>) {
    let _: Option<()> = call_hidden(ctx, "__sluicegateUseRealClock");
}

/// How long until the first timer is due (zero if it is due now); `None` with no timer.
pub fn next_due(ctx: &Ctx<'_>) -> Option<std::time::Duration> {
    let ms: f64 = call_hidden(ctx, "__sluicegateNextDue")?;
    (ms >= 0.0).then(|| std::time::Duration::from_secs_f64(ms / 1000.0))
}

/// Runs the timer due first (whether or not it is due yet: check [`next_due`]); returns whether
/// there was one. An exception its callback throws is reported (see [`take_reported_errors`]).
pub fn run_due_timer(ctx: &Ctx<'_>) -> Result<bool, JsError> {
    let f: Function = ctx
        .globals()
        .get("__sluicegateRunTimer")
        .map_err(|e| JsError(e.to_string()))?;
    f.call::<_, bool>(())
        .map_err(|e| JsError(crate::runtime::describe_error(ctx, e)))
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
