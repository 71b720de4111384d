// Random scenarios of the WHATWG stream classes, run unchanged on `sluicejs` (the QuickJS
// binding of sluicegate) and on Node.js with the standard's reference implementation (as the
// web-streams-polyfill package ports it); `web_differential.rs` compares the two event logs line
// for line.
//
//   sluicejs scenarios.js FIRST_SEED COUNT KINDS
//   node scenarios.js FIRST_SEED COUNT KINDS path/to/web-streams-polyfill
//
// KINDS is a comma-separated list of the kinds of scenario to run (readable, from, pipe, bytes,
// writable, transform, iteration); a seed that draws another kind prints {"seed": N, "skipped": true}, so
// that a seed always means the same scenario.
//
// Prints one JSON line per scenario: {"seed": N, "log": [...]}. Each scenario is drawn from its
// seed as plain data first (what every call into a source, sink or transformer does, and phases
// of operations from the top level), and only then run, so a difference in behaviour never
// changes what the rest of the scenario does. The log records every call into an underlying
// source, sink or transformer (with `desiredSize` as that code sees it), what every operation
// returns or throws, and every promise settlement, in the order they happen; between phases the
// scenario waits a drawn number of microtask turns, or for the event loop to run dry.
//
// Pipes are left out on purpose: how a pipe paces its reads and writes is the implementation's
// choice ("the exact manner in which this happens is not observable to author code"), so two
// conforming implementations may log them differently. Everything here is specified step by
// step: readers and writers, controllers, tee, async iteration, transform streams driven by
// hand, and byte streams with default and BYOB readers.
'use strict';

const ARGS = typeof sluice !== 'undefined' ? sluice.args : process.argv.slice(2);
// Under Node.js the classes come from the module named by the fourth argument: the reference
// implementation, as web-streams-polyfill ports it (Node.js's own classes differ from the
// standard in timing: an async iterator's first read waits a microtask, a BYOB read two more).
const { ReadableStream, WritableStream, TransformStream } = typeof sluice !== 'undefined' ? globalThis : require(ARGS[3]);
const print = (line) => console.log(line);
const macrotask = typeof setImmediate === 'function' ? (f) => setImmediate(f) : (f) => setTimeout(f, 0);

// mulberry32: a small deterministic generator, the same in both runtimes.
function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    below: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    pick: (xs) => xs[Math.floor(next() * xs.length)],
  };
}

// A reason the scenario passes to error, cancel or abort: logged by its label.
class Reason {
  constructor(label) {
    this.label = label;
  }
}

// Whether the reference implementation failed in the current scenario (or, for one case noted
// where it happens, took a step the standard does not): it performed an algorithm the standard
// had already cleared (TransformStreamDefaultControllerClearAlgorithms
// says they "will not be executed any more", yet after `terminate()` or `error()` a later abort
// or cancel still performs `[[cancelAlgorithm]]`). The polyfill then throws "... is not a
// function", at once or inside a promise reaction whose rejection it swallows (an abort then
// never settles). sluicegate treats a cleared algorithm as one that returns a promise resolved
// with undefined. The comparison leaves such a scenario out and counts it.
let referenceFailed = false;
const isReferenceFailure = (e) =>
  typeof sluice === 'undefined' &&
  ((e instanceof TypeError && / is not a function$/.test(e.message)) ||
    // The reference implementation's own assertions (`assert` from Node.js).
    (e instanceof Error && e.code === 'ERR_ASSERTION'));
if (typeof process !== 'undefined' && typeof sluice === 'undefined') {
  process.on('unhandledRejection', (reason) => {
    if (isReferenceFailure(reason)) referenceFailed = true;
  });
  // The reference's own microtasks can throw too (the polyfill's byte stream tee reading a view
  // that is not there; the reference implementation's assertions): that is its failure, not the
  // scenario's, whose own code never throws uncaught.
  const oracle = require('path').dirname(require.resolve(ARGS[3]));
  process.on('uncaughtException', (e) => {
    if (!(e && typeof e.stack === 'string' && e.stack.includes(oracle))) throw e;
    referenceFailed = true;
  });
}

// Under the reference implementation: notes when a transform stream's cleared algorithm is
// read to be performed (the polyfill keeps them in these fields of the controller).
function watchClearedAlgorithms(controller) {
  if (typeof sluice !== 'undefined') return;
  for (const name of ['_transformAlgorithm', '_flushAlgorithm', '_cancelAlgorithm']) {
    if (!(name in controller)) continue;
    let value = controller[name];
    Object.defineProperty(controller, name, {
      get() {
        if (value === undefined) referenceFailed = true;
        return value;
      },
      set(v) {
        value = v;
      },
      configurable: true,
    });
  }
}

function describe(v) {
  if (isReferenceFailure(v)) referenceFailed = true;
  if (v instanceof Reason) return v.label;
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (ArrayBuffer.isView(v)) {
    return `${v.constructor.name}[${Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).join(',')}]@${v.byteOffset}/${v.buffer.byteLength}`;
  }
  if (v instanceof Error || (typeof DOMException !== 'undefined' && v instanceof DOMException)) return v.name;
  if (typeof v === 'object' && 'done' in v && 'value' in v) return `{${describe(v.value)} done=${v.done}}`;
  return typeof v;
}

function ticks(n) {
  let p = Promise.resolve();
  for (let i = 0; i < n; i++) p = p.then(() => {});
  return p;
}

// What a call into user code does with its promise: return nothing, or a promise that fulfils
// or rejects after some microtask turns, or throw.
function drawSettle(g) {
  const r = g.below(10);
  if (r < 4) return { kind: 'sync' };
  if (r < 8) return { kind: 'ticks', n: g.below(4) };
  if (r < 9) return { kind: 'reject', n: g.below(3) };
  return { kind: 'throw' };
}

function settle(plan, label, log, before) {
  switch (plan.kind) {
    case 'sync':
      if (before) before();
      return undefined;
    case 'ticks':
      return ticks(plan.n).then(() => {
        if (before) before();
        log(`${label} settles`);
      });
    case 'reject':
      return ticks(plan.n).then(() => {
        log(`${label} rejects`);
        throw new Reason(`${label}-rejection`);
      });
    default:
      if (before) before();
      throw new Reason(`${label}-thrown`);
  }
}

function attempt(log, label, f) {
  try {
    const r = f();
    log(`${label} -> ${describe(r)}`);
    return r;
  } catch (e) {
    log(`${label} threw ${describe(e)}`);
    return undefined;
  }
}

function watch(log, label, p) {
  if (!p || typeof p.then !== 'function') return;
  p.then(
    (v) => log(`${label} fulfilled ${describe(v)}`),
    (e) => log(`${label} rejected ${describe(e)}`),
  );
}

function drawStrategy(g, bytes) {
  const hwm = g.pick([0, 1, 2, 3, 4]);
  if (bytes) return { highWaterMark: hwm * 2 };
  if (g.chance(0.3)) {
    // Sizes 0–2, and now and then an invalid one or a throw (the enqueue or write then errors).
    return {
      highWaterMark: hwm,
      size: (chunk) => {
        if (typeof chunk !== 'number') return 1;
        if (chunk % 13 === 12) throw new Reason('size-thrown');
        return chunk % 11 === 10 ? -1 : chunk % 3;
      },
    };
  }
  return { highWaterMark: hwm };
}

// ---- readable streams (default and byte) -------------------------------------------------

function drawSourcePlan(g, bytes) {
  const pulls = [];
  for (let i = 0; i < 10; i++) {
    const r = g.below(12);
    let act;
    if (r < 5) act = { kind: 'enqueue', n: 1 + g.below(3) };
    else if (r < 7) act = { kind: 'later', n: 1 + g.below(2), after: g.below(3) };
    else if (r < 8) act = { kind: 'close' };
    else if (r < 9) act = { kind: 'error' };
    else if (r < 10 && bytes) act = { kind: g.chance(0.5) ? 'respond' : 'respondWithNewView', n: g.below(3) };
    else act = { kind: 'nothing' };
    pulls.push({ act, settle: drawSettle(g) });
  }
  return {
    start: drawSettle(g),
    startEnqueues: g.chance(0.3) ? 1 + g.below(2) : 0,
    pulls,
    cancel: drawSettle(g),
    hasPull: g.chance(0.9),
    hasCancel: g.chance(0.8),
    autoAllocate: bytes && g.chance(0.3) ? 2 + g.below(3) : undefined,
  };
}

// Fills up to `n` bytes of the controller's BYOB request and responds, with `respond(n)` or with
// `respondWithNewView` of a view on the same buffer.
function respondTo(c, how, n, log, name, counter) {
  const req = c.byobRequest;
  const view = req.view;
  const filled = Math.min(n, view.byteLength);
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let k = 0; k < filled; k++) bytes[k] = (counter.next++ * 3) % 256;
  if (how === 'respond') {
    attempt(log, `${name}.respond(${filled})`, () => req.respond(filled));
  } else {
    attempt(log, `${name}.respondWithNewView(${filled})`, () =>
      req.respondWithNewView(new Uint8Array(view.buffer, view.byteOffset, filled)),
    );
  }
}

function makeReadable(plan, bytes, strategy, log, name, counter) {
  let controller;
  let pulls = 0;
  const chunk = () => {
    const n = counter.next++;
    return bytes ? new Uint8Array([n % 256, (n * 7) % 256]) : n;
  };
  const enqueue = (c) => attempt(log, `${name}.enqueue`, () => c.enqueue(chunk()));
  const source = {
    start(c) {
      controller = c;
      log(`${name}.start desired=${describe(c.desiredSize)}`);
      return settle(plan.start, `${name}.start`, log, () => {
        for (let i = 0; i < plan.startEnqueues; i++) enqueue(c);
      });
    },
  };
  if (plan.hasPull) {
    source.pull = (c) => {
      const i = pulls++;
      const step = plan.pulls[i % plan.pulls.length];
      const byob = bytes ? c.byobRequest : null;
      log(`${name}.pull#${i} desired=${describe(c.desiredSize)}${bytes ? ` byob=${byob ? byob.view.byteLength : 'null'}` : ''}`);
      const act = step.act;
      const run = () => {
        switch (act.kind) {
          case 'enqueue':
            for (let k = 0; k < act.n; k++) enqueue(c);
            break;
          case 'close':
            attempt(log, `${name}.close`, () => c.close());
            break;
          case 'error':
            attempt(log, `${name}.error`, () => c.error(new Reason(`${name}-error`)));
            break;
          case 'respond':
          case 'respondWithNewView':
            if (c.byobRequest) respondTo(c, act.kind, act.n, log, name, counter);
            else enqueue(c);
            break;
          default:
            break;
        }
      };
      if (act.kind === 'later') {
        ticks(act.after).then(() => {
          for (let k = 0; k < act.n; k++) enqueue(c);
        });
        return settle(step.settle, `${name}.pull#${i}`, log);
      }
      return settle(step.settle, `${name}.pull#${i}`, log, run);
    };
  }
  if (plan.hasCancel) {
    source.cancel = (reason) => {
      log(`${name}.cancel(${describe(reason)})`);
      return settle(plan.cancel, `${name}.cancel`, log);
    };
  }
  if (bytes) {
    source.type = 'bytes';
    if (plan.autoAllocate !== undefined) source.autoAllocateChunkSize = plan.autoAllocate;
  }
  const stream = new ReadableStream(source, strategy);
  return { stream, controller: () => controller };
}

// ---- ReadableStream.from ------------------------------------------------------------------

function drawFromPlan(g) {
  const n = g.below(5);
  const delays = [];
  for (let i = 0; i <= n; i++) delays.push(g.below(3));
  return {
    type: g.pick(['array', 'syncGenerator', 'asyncGenerator', 'asyncIterable']),
    n,
    delays,
    // Throws (or rejects) instead of giving the item at this index; -1: never.
    throwAt: g.chance(0.3) ? g.below(n + 1) : -1,
    // What a hand-written iterator's `return()` does: missing, a result object now or after
    // some turns, a rejection, a throw, or a non-object result.
    ret: g.pick(['none', 'object', 'ticks', 'reject', 'throw', 'primitive']),
  };
}

// Under the reference implementation: what it gets for ReadableStream.from(iterable). The polyfill
// predates the standard's use of Web IDL's async sequences: its pull reacts once to a promise
// resolved with the iterator's next() result, where the standard gets the next value (a promise
// resolved with that result, reacted to) and reacts to that, one job later. An async iterable
// whose next() is a promise resolved with the iterator's own next() result adds that job, settled
// or not, so the polyfill takes the standard's steps, for iterators whose next() returns a
// promise, as every one here does (a sync iterable's included, opened with
// CreateAsyncFromSyncIterator here, as the standard does). Its `return` is the iterator's own.
function withCurrentStandardTiming(iterable) {
  if (typeof sluice !== 'undefined') return iterable;
  const asyncMethod = iterable[Symbol.asyncIterator];
  const inner = asyncMethod != null ? asyncMethod.call(iterable) : asyncFromSync(iterable[Symbol.iterator]());
  const iterator = { next: () => new Promise((resolve) => resolve(inner.next())) };
  if (inner.return !== undefined) {
    iterator.return = (reason) => {
      try {
        return inner.return(reason);
      } catch (e) {
        // Web IDL's "close an async iterator" returns a promise rejected with the exception
        // itself; the polyfill reacts to one, a job later. Left out (see `referenceFailed`).
        referenceFailed = true;
        throw e;
      }
    };
  }
  return { [Symbol.asyncIterator]: () => iterator };
}

// ECMAScript's CreateAsyncFromSyncIterator, for the values here (which never reject).
function asyncFromSync(syncIterator) {
  const continuation = (result) => {
    const done = !!result.done;
    return Promise.resolve(result.value).then((value) => ({ value, done }));
  };
  const iterator = {
    next() {
      let result;
      try {
        result = syncIterator.next();
      } catch (e) {
        return Promise.reject(e);
      }
      return continuation(result);
    },
    return(reason) {
      let result;
      try {
        const method = syncIterator.return;
        if (method === undefined || method === null) return Promise.resolve({ value: reason, done: true });
        result = method.call(syncIterator, reason);
      } catch (e) {
        return Promise.reject(e);
      }
      if ((typeof result !== 'object' || result === null) && typeof result !== 'function') {
        return Promise.reject(new TypeError('the iterator result is not an object'));
      }
      return continuation(result);
    },
  };
  return iterator;
}

function makeFrom(plan, log, counter) {
  const values = [];
  for (let i = 0; i < plan.n; i++) values.push(counter.next++);
  switch (plan.type) {
    case 'array':
      return ReadableStream.from(withCurrentStandardTiming(values));
    case 'syncGenerator':
      return ReadableStream.from(withCurrentStandardTiming((function* generate() {
        try {
          for (let i = 0; i < values.length; i++) {
            if (i === plan.throwAt) throw new Reason('generator-thrown');
            log(`generator yields ${values[i]}`);
            yield values[i];
          }
        } finally {
          log('generator finally');
        }
      })()));
    case 'asyncGenerator':
      return ReadableStream.from(withCurrentStandardTiming((async function* generate() {
        try {
          for (let i = 0; i < values.length; i++) {
            await ticks(plan.delays[i]);
            if (i === plan.throwAt) throw new Reason('generator-thrown');
            log(`generator yields ${values[i]}`);
            yield values[i];
          }
        } finally {
          log('generator finally');
        }
      })()));
    default: {
      let i = 0;
      const iterator = {
        next() {
          const k = i++;
          log(`iterator.next#${k}`);
          if (k === plan.throwAt) return ticks(plan.delays[k]).then(() => { throw new Reason('next-rejected'); });
          const result = k < values.length ? { value: values[k], done: false } : { value: undefined, done: true };
          return ticks(plan.delays[Math.min(k, plan.n)]).then(() => result);
        },
      };
      if (plan.ret !== 'none') {
        iterator.return = (reason) => {
          log(`iterator.return(${describe(reason)})`);
          switch (plan.ret) {
            case 'object': return Promise.resolve({ done: true, value: undefined });
            case 'ticks': return ticks(2).then(() => ({ done: true, value: undefined }));
            case 'reject': return Promise.reject(new Reason('return-rejected'));
            case 'throw': throw new Reason('return-thrown');
            default: return Promise.resolve(7);
          }
        };
      }
      return ReadableStream.from(withCurrentStandardTiming({ [Symbol.asyncIterator]: () => iterator }));
    }
  }
}

// ---- writable streams ---------------------------------------------------------------------

function drawSinkPlan(g) {
  const writes = [];
  for (let i = 0; i < 10; i++) {
    writes.push({ settle: drawSettle(g), error: g.chance(0.08) });
  }
  return {
    start: drawSettle(g),
    writes,
    close: drawSettle(g),
    abort: drawSettle(g),
    hasWrite: g.chance(0.95),
    hasClose: g.chance(0.8),
    hasAbort: g.chance(0.8),
  };
}

function makeWritable(plan, strategy, log, name) {
  let controller;
  let writes = 0;
  const sink = {
    start(c) {
      controller = c;
      log(`${name}.start`);
      c.signal.addEventListener('abort', () => log(`${name}.signal abort ${describe(c.signal.reason)}`));
      return settle(plan.start, `${name}.start`, log);
    },
  };
  if (plan.hasWrite) {
    sink.write = (chunk, c) => {
      const i = writes++;
      const step = plan.writes[i % plan.writes.length];
      log(`${name}.write#${i}(${describe(chunk)}) aborted=${c.signal.aborted}`);
      if (step.error) attempt(log, `${name}.controller.error`, () => c.error(new Reason(`${name}-error`)));
      return settle(step.settle, `${name}.write#${i}`, log);
    };
  }
  if (plan.hasClose) {
    sink.close = () => {
      log(`${name}.close`);
      return settle(plan.close, `${name}.close`, log);
    };
  }
  if (plan.hasAbort) {
    sink.abort = (reason) => {
      log(`${name}.abort(${describe(reason)})`);
      return settle(plan.abort, `${name}.abort`, log);
    };
  }
  const stream = new WritableStream(sink, strategy);
  return { stream, controller: () => controller };
}

// ---- transform streams --------------------------------------------------------------------

function drawTransformerPlan(g) {
  const transforms = [];
  for (let i = 0; i < 10; i++) {
    const r = g.below(12);
    let act;
    if (r < 6) act = { kind: 'enqueue', n: g.below(3) };
    else if (r < 8) act = { kind: 'later', n: 1, after: g.below(3) };
    else if (r < 9) act = { kind: 'error' };
    else if (r < 10) act = { kind: 'terminate' };
    else act = { kind: 'nothing' };
    transforms.push({ act, settle: drawSettle(g) });
  }
  return {
    start: drawSettle(g),
    transforms,
    flush: { settle: drawSettle(g), enqueue: g.below(2) },
    hasTransform: g.chance(0.85),
    hasFlush: g.chance(0.7),
    // transformer.cancel(reason), called when the readable side is cancelled or the writable
    // side aborted: settles the usual ways, and may error or terminate through the controller.
    cancel: g.chance(0.7) ? { settle: drawSettle(g), act: g.pick(['nothing', 'nothing', 'error', 'terminate', 'enqueue']) } : null,
  };
}

function makeTransform(plan, writableStrategy, readableStrategy, log, name) {
  let controller;
  let calls = 0;
  const ds = (c) => describe(c.desiredSize);
  const transformer = {
    start(c) {
      controller = c;
      watchClearedAlgorithms(c);
      log(`${name}.start desired=${ds(c)}`);
      return settle(plan.start, `${name}.start`, log);
    },
  };
  if (plan.hasTransform) {
    transformer.transform = (chunk, c) => {
      const i = calls++;
      const step = plan.transforms[i % plan.transforms.length];
      log(`${name}.transform#${i}(${describe(chunk)}) desired=${ds(c)}`);
      const act = step.act;
      const out = (k) => `${chunk}/${k}`;
      if (act.kind === 'later') {
        ticks(act.after).then(() => attempt(log, `${name}.enqueue`, () => c.enqueue(out(0))));
        return settle(step.settle, `${name}.transform#${i}`, log);
      }
      return settle(step.settle, `${name}.transform#${i}`, log, () => {
        if (act.kind === 'enqueue') {
          for (let k = 0; k < act.n; k++) attempt(log, `${name}.enqueue`, () => c.enqueue(out(k)));
        } else if (act.kind === 'error') {
          attempt(log, `${name}.error`, () => c.error(new Reason(`${name}-error`)));
        } else if (act.kind === 'terminate') {
          attempt(log, `${name}.terminate`, () => c.terminate());
        }
      });
    };
  }
  if (plan.hasFlush) {
    transformer.flush = (c) => {
      log(`${name}.flush desired=${ds(c)}`);
      return settle(plan.flush.settle, `${name}.flush`, log, () => {
        for (let k = 0; k < plan.flush.enqueue; k++) attempt(log, `${name}.enqueue`, () => c.enqueue('flushed'));
      });
    };
  }
  if (plan.cancel) {
    transformer.cancel = (reason) => {
      log(`${name}.cancel(${describe(reason)})`);
      const c = controller;
      return settle(plan.cancel.settle, `${name}.cancel`, log, () => {
        if (plan.cancel.act === 'error') attempt(log, `${name}.error`, () => c.error(new Reason(`${name}-cancel-error`)));
        else if (plan.cancel.act === 'terminate') attempt(log, `${name}.terminate`, () => c.terminate());
        else if (plan.cancel.act === 'enqueue') attempt(log, `${name}.enqueue`, () => c.enqueue('cancelled'));
      });
    };
  }
  const ts = new TransformStream(transformer, writableStrategy, readableStrategy);
  return { readable: ts.readable, writable: ts.writable, controller: () => controller };
}

// ---- the top-level operations ---------------------------------------------------------------

// What a phase may do: each entry names an operation the runner below knows.
const READ_OPS = ['getReader', 'read', 'read', 'read', 'releaseLock', 'readerCancel', 'cancel', 'desiredSize', 'locked', 'tee', 'closed'];
const ITERATOR_OPS = ['values', 'next', 'next', 'return'];
const BYTE_OPS = ['getByobReader', 'readInto', 'readInto', 'readIntoMin', 'respondOutside'];
const SOURCE_OPS = ['enqueue', 'close', 'error'];
const WRITE_OPS = ['getWriter', 'write', 'write', 'write', 'writerClose', 'writerAbort', 'writerRelease', 'writerDesired', 'ready', 'abort', 'close', 'sinkError', 'writerClosed'];
const TRANSFORM_OPS = ['tEnqueue', 'tError', 'tTerminate', 'tDesired'];
const PIPE_OPS = ['enqueue', 'enqueue', 'close', 'error', 'desiredSize', 'sinkError', 'abortSignal', 'locked', 'tEnqueue', 'tError', 'tTerminate'];

// A pipe from the scenario's source to a sink, through a transform stream in half of them, with
// each prevent option in a fifth of them and an abort signal that an operation may fire.
function drawPipePlan(g) {
  const through = g.chance(0.5);
  return {
    sink: drawSinkPlan(g),
    sinkStrategy: drawStrategy(g, false),
    transformer: through ? drawTransformerPlan(g) : null,
    writableStrategy: drawStrategy(g, false),
    readableStrategy: drawStrategy(g, false),
    preventClose: g.chance(0.2),
    preventAbort: g.chance(0.2),
    preventCancel: g.chance(0.2),
    signal: g.chance(0.5),
  };
}

function drawPhases(g, ops) {
  const phases = [];
  const count = 2 + g.below(6);
  for (let i = 0; i < count; i++) {
    const steps = [];
    const n = 1 + g.below(4);
    for (let k = 0; k < n; k++) steps.push({ op: g.pick(ops), target: g.below(3), arg: g.below(4), view: g.below(5) });
    phases.push({ steps, wait: g.chance(0.25) ? { macrotask: true } : { ticks: g.below(6) } });
  }
  return phases;
}

function draw(seed) {
  const g = generator(seed);
  const kind = g.pick(['readable', 'readable', 'bytes', 'writable', 'writable', 'transform', 'transform']);
  const scenario = { seed, kind };
  // Readable scenarios use the async iterator in a third of the runs (kind "iteration").
  const iteration = kind !== 'writable' && g.chance(1 / 3);
  scenario.label = iteration ? 'iteration' : kind;
  const readOps = iteration ? READ_OPS.concat(ITERATOR_OPS) : READ_OPS;
  if (kind === 'readable' || kind === 'bytes') {
    const bytes = kind === 'bytes';
    scenario.source = drawSourcePlan(g, bytes);
    scenario.strategy = drawStrategy(g, bytes);
    scenario.phases = drawPhases(g, readOps.concat(SOURCE_OPS, bytes ? BYTE_OPS.concat(BYTE_OPS) : []));
    // A quarter of the default readables come from ReadableStream.from instead (kind "from"),
    // drawn last so that every other scenario stays what its seed always gave.
    if (!bytes && !iteration && g.chance(0.25)) {
      scenario.from = drawFromPlan(g);
      scenario.label = 'from';
    } else if (!bytes && !iteration && g.chance(0.4)) {
      // A pipe from this source (kind "pipe"), likewise drawn last.
      scenario.pipe = drawPipePlan(g);
      scenario.phases = drawPhases(g, PIPE_OPS);
      scenario.phases[0].steps.unshift({ op: 'pipe', target: 0, arg: 0, view: 0 });
      scenario.label = 'pipe';
    }
  } else if (kind === 'writable') {
    scenario.sink = drawSinkPlan(g);
    scenario.strategy = drawStrategy(g, false);
    scenario.phases = drawPhases(g, WRITE_OPS);
  } else {
    scenario.transformer = drawTransformerPlan(g);
    scenario.writableStrategy = drawStrategy(g, false);
    scenario.readableStrategy = drawStrategy(g, false);
    scenario.phases = drawPhases(g, WRITE_OPS.concat(readOps, TRANSFORM_OPS));
  }
  return scenario;
}

async function run(scenario) {
  const lines = [];
  const log = (line) => lines.push(line);
  const counter = { next: 0 };
  let reasons = 0;
  const reason = () => new Reason(`r${reasons++}`);
  // Readables: the stream under test and, after a tee, its branches; each with its reader or
  // iterator.
  const readables = [];
  let writable = null;
  let sourceController = () => undefined;
  let transformController = () => undefined;
  let reads = 0;
  let writes = 0;

  let pipe = null;
  try {
    if (scenario.pipe) {
      const r = makeReadable(scenario.source, false, scenario.strategy, log, 'src', counter);
      readables.push({ name: 's', stream: r.stream });
      sourceController = r.controller;
      const plan = scenario.pipe;
      const w = makeWritable(plan.sink, plan.sinkStrategy, log, 'sink');
      writable = { stream: w.stream };
      const sinkController = w.controller;
      let through = null;
      if (plan.transformer) {
        const t = makeTransform(plan.transformer, plan.writableStrategy, plan.readableStrategy, log, 'tf');
        through = { readable: t.readable, writable: t.writable };
        transformController = t.controller;
      }
      const controller = plan.signal ? new AbortController() : null;
      pipe = { plan, through, controller, sinkController };
    } else if (scenario.from) {
      readables.push({ name: 's', stream: makeFrom(scenario.from, log, counter) });
    } else if (scenario.kind === 'readable' || scenario.kind === 'bytes') {
      const r = makeReadable(scenario.source, scenario.kind === 'bytes', scenario.strategy, log, 'src', counter);
      readables.push({ name: 's', stream: r.stream });
      sourceController = r.controller;
    } else if (scenario.kind === 'writable') {
      const w = makeWritable(scenario.sink, scenario.strategy, log, 'sink');
      writable = { stream: w.stream };
      sourceController = w.controller;
    } else {
      const t = makeTransform(scenario.transformer, scenario.writableStrategy, scenario.readableStrategy, log, 'tf');
      readables.push({ name: 'r', stream: t.readable });
      writable = { stream: t.writable };
      transformController = t.controller;
    }
  } catch (e) {
    log(`constructor threw ${describe(e)}`);
    return lines;
  }

  const readOne = (slot, label) => {
    const id = reads++;
    const p = attempt(log, `${slot.name}.${label}#${id}`, () => {
      if (label === 'next') return slot.iterator.next();
      if (label === 'return') return slot.iterator.return(reason());
      return slot.reader.read();
    });
    watch(log, `${slot.name}.${label}#${id}`, p);
  };

  const step = (s) => {
    const slot = readables[s.target % Math.max(readables.length, 1)];
    switch (s.op) {
      case 'getReader':
        if (slot && !slot.reader) slot.reader = attempt(log, `${slot.name}.getReader`, () => slot.stream.getReader()) || null;
        break;
      case 'getByobReader':
        if (slot && !slot.reader) {
          slot.reader = attempt(log, `${slot.name}.getReader(byob)`, () => slot.stream.getReader({ mode: 'byob' })) || null;
          if (slot.reader) slot.byob = true;
        }
        break;
      case 'read':
        if (slot && slot.reader && !slot.byob) readOne(slot, 'read');
        break;
      case 'readInto':
      case 'readIntoMin':
        if (slot && slot.reader && slot.byob) {
          const id = reads++;
          const size = 1 + s.arg;
          // Views of one, two and four bytes per element, at offset 0 or not, and a DataView.
          let view;
          switch (s.view) {
            case 0: view = new Uint8Array(size); break;
            case 1: view = new Uint8Array(new ArrayBuffer(size + 2), 1, size); break;
            case 2: view = new Uint16Array(new ArrayBuffer(2 * size + 2), 2, size); break;
            case 3: view = new Uint32Array(size); break;
            default: view = new DataView(new ArrayBuffer(size + 1), 1, size); break;
          }
          const options = s.op === 'readIntoMin' ? { min: Math.max(1, size - 1) } : undefined;
          const p = attempt(log, `${slot.name}.readInto#${id}(${view.constructor.name} ${size}${options ? ` min ${options.min}` : ''})`, () =>
            options ? slot.reader.read(view, options) : slot.reader.read(view),
          );
          watch(log, `${slot.name}.readInto#${id}`, p);
        }
        break;
      case 'releaseLock':
        if (slot && slot.reader) {
          attempt(log, `${slot.name}.releaseLock`, () => slot.reader.releaseLock());
          slot.reader = null;
          slot.byob = false;
        }
        break;
      case 'readerCancel':
        if (slot && slot.reader) watch(log, `${slot.name}.reader.cancel`, attempt(log, `${slot.name}.reader.cancel`, () => slot.reader.cancel(reason())));
        break;
      case 'cancel':
        if (slot) watch(log, `${slot.name}.cancel`, attempt(log, `${slot.name}.cancel`, () => slot.stream.cancel(reason())));
        break;
      case 'closed':
        if (slot && slot.reader && !slot.watchedClosed) {
          slot.watchedClosed = true;
          watch(log, `${slot.name}.closed`, slot.reader.closed);
        }
        break;
      case 'desiredSize': {
        const c = sourceController();
        if (c && 'enqueue' in c) log(`desiredSize ${describe(c.desiredSize)}`);
        break;
      }
      case 'locked':
        if (slot) log(`${slot.name}.locked ${slot.stream.locked}`);
        break;
      case 'tee':
        if (slot && readables.length < 5) {
          const branches = attempt(log, `${slot.name}.tee`, () => slot.stream.tee());
          if (branches) {
            readables.push({ name: `${slot.name}1`, stream: branches[0] });
            readables.push({ name: `${slot.name}2`, stream: branches[1] });
          }
        }
        break;
      case 'values':
        if (slot && !slot.iterator && !slot.reader) {
          slot.iterator = attempt(log, `${slot.name}.values`, () => slot.stream.values({ preventCancel: s.arg % 2 === 1 })) || null;
        }
        break;
      case 'next':
      case 'return':
        if (slot && slot.iterator) readOne(slot, s.op);
        break;
      case 'pipe': {
        const { plan, through, controller } = pipe;
        const options = {
          preventClose: plan.preventClose,
          preventAbort: plan.preventAbort,
          preventCancel: plan.preventCancel,
          signal: controller ? controller.signal : undefined,
        };
        let from = slot.stream;
        if (through) from = attempt(log, 's.pipeThrough', () => slot.stream.pipeThrough(through, options));
        if (from) watch(log, 'pipeTo', attempt(log, 'pipeTo', () => from.pipeTo(writable.stream, options)));
        break;
      }
      case 'abortSignal':
        if (pipe && pipe.controller) attempt(log, 'signal.abort', () => pipe.controller.abort(reason()));
        break;
      case 'respondOutside': {
        const c = sourceController();
        if (c && 'byobRequest' in c) {
          if (c.byobRequest) respondTo(c, s.arg % 2 === 0 ? 'respond' : 'respondWithNewView', s.arg, log, 'controller', counter);
          else log('controller.byobRequest null');
        }
        break;
      }
      case 'enqueue': {
        const c = sourceController();
        if (c && 'enqueue' in c) {
          const n = counter.next++;
          attempt(log, 'controller.enqueue', () => c.enqueue(scenario.kind === 'bytes' ? new Uint8Array([n % 256]) : n));
        }
        break;
      }
      case 'close': {
        const c = sourceController();
        if (c && 'close' in c) attempt(log, 'controller.close', () => c.close());
        else if (writable) watch(log, 'w.close', attempt(log, 'w.close', () => writable.stream.close()));
        break;
      }
      case 'error': {
        const c = sourceController();
        if (c && 'enqueue' in c) attempt(log, 'controller.error', () => c.error(reason()));
        break;
      }
      case 'getWriter':
        if (writable && !writable.writer) writable.writer = attempt(log, 'w.getWriter', () => writable.stream.getWriter()) || null;
        break;
      case 'write':
        if (writable && writable.writer) {
          const id = writes++;
          const chunk = 100 + counter.next++;
          watch(log, `w.write#${id}`, attempt(log, `w.write#${id}(${chunk})`, () => writable.writer.write(chunk)));
        }
        break;
      case 'writerClose':
        if (writable && writable.writer) watch(log, 'w.writer.close', attempt(log, 'w.writer.close', () => writable.writer.close()));
        break;
      case 'writerAbort':
        if (writable && writable.writer) watch(log, 'w.writer.abort', attempt(log, 'w.writer.abort', () => writable.writer.abort(reason())));
        break;
      case 'writerRelease':
        if (writable && writable.writer) {
          attempt(log, 'w.releaseLock', () => writable.writer.releaseLock());
          writable.writer = null;
        }
        break;
      case 'writerDesired':
        if (writable && writable.writer) attempt(log, 'w.desiredSize', () => writable.writer.desiredSize);
        break;
      case 'ready':
        if (writable && writable.writer) watch(log, 'w.ready', writable.writer.ready);
        break;
      case 'writerClosed':
        if (writable && writable.writer) watch(log, 'w.closed', writable.writer.closed);
        break;
      case 'abort':
        if (writable) watch(log, 'w.abort', attempt(log, 'w.abort', () => writable.stream.abort(reason())));
        break;
      case 'sinkError': {
        const c = pipe ? pipe.sinkController() : sourceController();
        if (c && 'signal' in c) attempt(log, 'sink.controller.error', () => c.error(reason()));
        break;
      }
      case 'tEnqueue': {
        const c = transformController();
        if (c) attempt(log, 'tf.controller.enqueue', () => c.enqueue(`top${counter.next++}`));
        break;
      }
      case 'tError': {
        const c = transformController();
        if (c) attempt(log, 'tf.controller.error', () => c.error(reason()));
        break;
      }
      case 'tTerminate': {
        const c = transformController();
        if (c) attempt(log, 'tf.controller.terminate', () => c.terminate());
        break;
      }
      case 'tDesired': {
        const c = transformController();
        if (c) log(`tf.desiredSize ${describe(c.desiredSize)}`);
        break;
      }
      default:
        throw new Error(`unknown operation ${s.op}`);
    }
  };

  for (const [i, phase] of scenario.phases.entries()) {
    log(`-- phase ${i}`);
    for (const s of phase.steps) step(s);
    if (phase.wait.macrotask) await new Promise((resolve) => macrotask(resolve));
    else await ticks(phase.wait.ticks);
  }
  await new Promise((resolve) => macrotask(resolve));
  log('-- end');
  return lines;
}

async function main() {
  const first = Number(ARGS[0] || 1);
  const count = Number(ARGS[1] || 1);
  const kinds = (ARGS[2] || 'readable,from,pipe,bytes,writable,transform,iteration').split(',');
  for (let seed = first; seed < first + count; seed++) {
    const scenario = draw(seed);
    if (!kinds.includes(scenario.label)) {
      print(JSON.stringify({ seed, skipped: true }));
      continue;
    }
    referenceFailed = false;
    const log = await run(scenario);
    print(JSON.stringify(referenceFailed ? { seed, log, referenceFailed } : { seed, log }));
  }
}

main().catch((e) => {
  console.log(`runner failed: ${e && e.stack}`);
});
