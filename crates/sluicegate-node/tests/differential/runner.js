// Runs the differential scenarios of `tests/differential.rs` on Node.js's own streams and prints
// each scenario's event log as one JSON line. Reads the scenarios (a JSON array) from stdin.
// The Rust side runs the same scenarios on sluicegate-node and compares the logs line by line;
// `differential.rs` documents the scenario format.
'use strict';

const { Readable, Writable, Transform, pipeline, finished } = require('node:stream');

function describe(e) {
  return e && e.code ? e.code : (e && e.message) || String(e);
}

function idle() {
  // Every stream step in these scenarios runs on process.nextTick or in a microtask, and both
  // queues are drained before the event loop reaches setImmediate.
  return new Promise((resolve) => setImmediate(resolve));
}

// `R`'s `_read`: its i-th call does `s.reads[i]`, pushing with `pushNext(stream)`.
function reader(s, log, pushNext) {
  let reads = 0;
  return function read() {
    log.push('R._read');
    const [kind, k] = s.reads[reads++] || ['none', 0];
    if (kind === 'sync') {
      for (let i = 0; i < k; i++) pushNext(this);
    } else if (kind === 'tick') {
      process.nextTick(() => {
        for (let i = 0; i < k; i++) pushNext(this);
      });
    } else if (kind === 'end') {
      log.push('R.push null');
      this.push(null);
    } else if (kind === 'end_tick') {
      process.nextTick(() => {
        log.push('R.push null');
        this.push(null);
      });
    }
  };
}

// The outcome of a writable's j-th `_write` or `_writev` (`writes[j]`): at once, on a tick, or
// an error.
function completer(writes) {
  let calls = 0;
  return (cb) => {
    const kind = writes[calls++] || 'sync';
    if (kind === 'sync') cb();
    else if (kind === 'tick') process.nextTick(() => cb());
    else cb(new Error('werr'));
  };
}

// A writable's `_write` and, with `writev`, `_writev`, logging chunks with `show` under the
// name `who`.
function sinkOptions(who, writes, writev, log, show, options) {
  const complete = completer(writes);
  options.write = (chunk, _encoding, cb) => {
    log.push(`${who}._write ${show(chunk)}`);
    complete(cb);
  };
  if (writev) {
    options.writev = (chunks, cb) => {
      log.push(`${who}._writev ${chunks.map((c) => show(c.chunk)).join(',')}`);
      complete(cb);
    };
  }
  return options;
}

// Logs every event of `R` (its 'data' and 'readable' only when an operation listens) and `W`.
function listen(r, w, log) {
  for (const ev of ['end', 'close', 'pause', 'resume']) r.on(ev, () => log.push(`R:${ev}`));
  r.on('error', (e) => log.push(`R:error ${describe(e)}`));
  listenWritable(w, 'W', log);
}

// Logs every event of a writable named `who`.
function listenWritable(w, who, log) {
  for (const ev of ['drain', 'prefinish', 'finish', 'close', 'pipe', 'unpipe']) {
    w.on(ev, () => log.push(`${who}:${ev}`));
  }
  w.on('error', (e) => log.push(`${who}:error ${describe(e)}`));
}

// Runs the scenario's phases with `ops`, waiting until nothing is queued after each.
async function phases(s, log, ops) {
  await idle();
  for (const phase of s.phases) {
    log.push('|');
    for (const op of phase) {
      log.push(`> ${op}`);
      ops[op]();
    }
    await idle();
  }
}

async function run(s) {
  const log = [];
  let next = 1;
  let written = 1001;
  let transforms = 0;

  function pushNext(r) {
    const v = next++;
    log.push(`R.push ${v} -> ${r.push(v)}`);
  }

  // `_construct` and `_destroy` as the scenario says, for `R` or `W`.
  function lifecycle(options, who, construct, destroy) {
    if (construct !== 'none') {
      options.construct = (cb) => {
        log.push(`${who}._construct`);
        if (construct === 'tick') process.nextTick(() => cb());
        else cb();
      };
    }
    if (destroy !== 'none') {
      options.destroy = (err, cb) => {
        log.push(`${who}._destroy`);
        if (destroy === 'tick') process.nextTick(() => cb(err));
        else cb(new Error('derr'));
      };
    }
    return options;
  }

  const r = new Readable(lifecycle({
    objectMode: true,
    highWaterMark: s.rhwm,
    autoDestroy: s.rauto,
    read: reader(s, log, pushNext),
  }, 'R', s.rconstruct, s.rdestroy));
  const sink = sinkOptions('W', s.writes, s.writev, log, String, {
    objectMode: true,
    highWaterMark: s.whwm,
    autoDestroy: s.wauto,
  });
  if (s.final !== 'none') {
    sink.final = (cb) => {
      log.push('W._final');
      if (s.final === 'sync') cb();
      else if (s.final === 'tick') process.nextTick(() => cb());
      else cb(new Error('ferr'));
    };
  }
  const w = new Writable(lifecycle(sink, 'W', s.wconstruct, s.wdestroy));

  let t = null;
  if (s.transform) {
    t = new Transform({
      objectMode: true,
      highWaterMark: s.thwm,
      allowHalfOpen: s.thalf,
      transform(chunk, _encoding, cb) {
        log.push(`T._transform ${chunk}`);
        const kind = s.transforms[transforms++] || 'push';
        const push = (v) => log.push(`T.push ${v} -> ${t.push(v)}`);
        if (kind === 'push') {
          push(chunk * 10);
          cb();
        } else if (kind === 'tick') {
          process.nextTick(() => {
            push(chunk * 10);
            cb();
          });
        } else if (kind === 'twice') {
          push(chunk * 10);
          push(chunk * 10 + 1);
          cb();
        } else if (kind === 'drop') {
          cb();
        } else {
          cb(new Error('terr'));
        }
      },
      flush(cb) {
        log.push('T._flush');
        if (s.flush === 'push') {
          log.push(`T.push 999 -> ${t.push(999)}`);
          cb();
        } else if (s.flush === 'tick') {
          process.nextTick(() => cb());
        } else if (s.flush === 'err') {
          cb(new Error('flusherr'));
        } else {
          cb();
        }
      },
    });
  }

  listen(r, w, log);
  let v = null;
  if (s.second) {
    v = new Writable(sinkOptions('V', s.vwrites, false, log, String, {
      objectMode: true,
      highWaterMark: s.vhwm,
    }));
    listenWritable(v, 'V', log);
  }
  if (t) {
    for (const ev of ['end', 'close', 'pause', 'resume', 'drain', 'prefinish', 'finish', 'pipe', 'unpipe']) {
      t.on(ev, () => log.push(`T:${ev}`));
    }
    t.on('error', (e) => log.push(`T:error ${describe(e)}`));
  }
  const dest = t || w;
  let outcome = null;
  const settled = (name) => (err) => log.push(`finished ${name} ${err ? describe(err) : 'ok'}`);

  let onData = null;
  let onReadable = null;
  const result = (err) => (err ? describe(err) : 'ok');
  const ops = {
    on_data: () => r.on('data', (onData = (x) => log.push(`R:data ${x}`))),
    on_readable: () => r.on('readable', (onReadable = () => {
      log.push('R:readable');
      let x;
      while ((x = r.read()) !== null) log.push(`R.read -> ${x}`);
      log.push('R.read -> null');
    })),
    on_readable1: () => r.on('readable', (onReadable = () => {
      log.push('R:readable');
      const x = r.read();
      log.push(`R.read -> ${x}`);
    })),
    pipe_v: () => r.pipe(v),
    unpipe_v: () => r.unpipe(v),
    v_destroy: () => v.destroy(),
    off_data: () => {
      if (onData) r.removeListener('data', onData);
      onData = null;
    },
    off_readable: () => {
      if (onReadable) r.removeListener('readable', onReadable);
      onReadable = null;
    },
    unshift: () => {
      const v = next++;
      log.push(`R.unshift ${v} -> ${r.unshift(v)}`);
    },
    write_cb: () => {
      const v = written++;
      const accepted = w.write(v, (err) => log.push(`W.write_cb ${v} ${result(err)}`));
      log.push(`W.write ${v} -> ${accepted}`);
    },
    end_cb: () => {
      log.push('W.end');
      w.end((err) => log.push(`W.end_cb ${result(err)}`));
    },
    pause: () => r.pause(),
    resume: () => r.resume(),
    read: () => {
      const x = r.read();
      log.push(`R.read -> ${x}`);
    },
    push: () => pushNext(r),
    push_end: () => {
      log.push('R.push null');
      r.push(null);
    },
    destroy: () => r.destroy(),
    destroy_err: () => r.destroy(new Error('boom')),
    pipe: () => {
      r.pipe(dest);
      if (t) t.pipe(w);
    },
    unpipe: () => r.unpipe(dest),
    pipeline: () => {
      const done = (err) => {
        outcome = err ? describe(err) : 'ok';
      };
      if (t) pipeline(r, t, w, done);
      else pipeline(r, w, done);
    },
    finished_r: () => finished(r, settled('R')),
    finished_w: () => finished(w, settled('W')),
    finished_t: () => finished(t, settled('T')),
    write: () => {
      const v = written++;
      log.push(`W.write ${v} -> ${w.write(v)}`);
    },
    end: () => {
      log.push('W.end');
      w.end();
    },
    end_chunk: () => {
      const v = written++;
      log.push(`W.end ${v}`);
      w.end(v);
    },
    cork: () => w.cork(),
    uncork: () => w.uncork(),
    w_destroy: () => w.destroy(),
    w_destroy_err: () => w.destroy(new Error('wboom')),
    t_write: () => {
      const v = written++;
      log.push(`T.write ${v} -> ${t.write(v)}`);
    },
    t_end: () => {
      log.push('T.end');
      t.end();
    },
    t_destroy_err: () => t.destroy(new Error('tboom')),
  };

  await phases(s, log, ops);
  if (s.phases.some((phase) => phase.includes('pipeline'))) {
    log.push(`pipeline -> ${outcome === null ? 'pending' : outcome}`);
  }
  return log;
}

// The byte-mode scenarios (`bytes_scenario` in differential.rs): a readable and a writable of
// bytes, chunks logged as text.
async function runBytes(s) {
  const log = [];
  let next = 1;
  let written = 1;
  const show = (x) => (x === null ? 'null' : x.toString());

  function pushNext(r) {
    const n = next++;
    const len = s.lens.length ? s.lens[(n - 1) % s.lens.length] : 3;
    const chunk = String.fromCharCode(97 + ((n - 1) % 26)).repeat(len);
    log.push(`R.push ${chunk} -> ${r.push(Buffer.from(chunk))}`);
  }
  const r = new Readable({ highWaterMark: s.rhwm, read: reader(s, log, pushNext) });
  const sink = sinkOptions('W', s.writes, s.writev, log, (b) => b.toString(), {
    highWaterMark: s.whwm,
  });
  const w = new Writable(sink);
  listen(r, w, log);

  const readN = (n) => () => log.push(`R.read(${n}) -> ${show(r.read(n))}`);
  const ops = {
    on_data: () => r.on('data', (x) => log.push(`R:data ${x.toString()}`)),
    on_readable: () => r.on('readable', () => {
      log.push('R:readable');
      let x;
      while ((x = r.read()) !== null) log.push(`R.read -> ${x.toString()}`);
      log.push('R.read -> null');
    }),
    on_readable2: () => r.on('readable', () => {
      log.push('R:readable');
      let x;
      while ((x = r.read(2)) !== null) log.push(`R.read(2) -> ${x.toString()}`);
      log.push('R.read(2) -> null');
    }),
    pause: () => r.pause(),
    resume: () => r.resume(),
    read: () => log.push(`R.read -> ${show(r.read())}`),
    read_0: readN(0),
    read_1: readN(1),
    read_3: readN(3),
    read_100: readN(100),
    push: () => pushNext(r),
    push_end: () => {
      log.push('R.push null');
      r.push(null);
    },
    destroy: () => r.destroy(),
    pipe: () => r.pipe(w),
    unpipe: () => r.unpipe(w),
    write: () => {
      const v = `w${written++}`;
      log.push(`W.write ${v} -> ${w.write(Buffer.from(v))}`);
    },
    end: () => {
      log.push('W.end');
      w.end();
    },
    cork: () => w.cork(),
    uncork: () => w.uncork(),
  };

  await phases(s, log, ops);
  return log;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const scenarios = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const out = [];
  for (const s of scenarios) out.push(JSON.stringify(await (s.kind === 'bytes' ? runBytes(s) : run(s))));
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
