// Runs the differential scenarios of `tests/differential.rs` on Node.js's own streams and prints
// each scenario's event log as one JSON line. Reads the scenarios (a JSON array) from stdin.
// The Rust side runs the same scenarios on sluicegate-node and compares the logs line by line;
// `differential.rs` documents the scenario format.
'use strict';

const { Readable, Writable } = require('node:stream');

function describe(e) {
  return e && e.code ? e.code : (e && e.message) || String(e);
}

function idle() {
  // Every stream step in these scenarios runs on process.nextTick or in a microtask, and both
  // queues are drained before the event loop reaches setImmediate.
  return new Promise((resolve) => setImmediate(resolve));
}

async function run(s) {
  const log = [];
  let next = 1;
  let written = 1001;
  let reads = 0;
  let writes = 0;

  function pushNext(r) {
    const v = next++;
    log.push(`R.push ${v} -> ${r.push(v)}`);
  }

  const r = new Readable({
    objectMode: true,
    highWaterMark: s.rhwm,
    read() {
      log.push('R._read');
      const [kind, k] = s.reads[reads++] || ['none', 0];
      if (kind === 'sync') {
        for (let i = 0; i < k; i++) pushNext(r);
      } else if (kind === 'tick') {
        process.nextTick(() => {
          for (let i = 0; i < k; i++) pushNext(r);
        });
      } else if (kind === 'end') {
        log.push('R.push null');
        r.push(null);
      } else if (kind === 'end_tick') {
        process.nextTick(() => {
          log.push('R.push null');
          r.push(null);
        });
      }
    },
  });
  const w = new Writable({
    objectMode: true,
    highWaterMark: s.whwm,
    write(chunk, _encoding, cb) {
      log.push(`W._write ${chunk}`);
      const kind = s.writes[writes++] || 'sync';
      if (kind === 'sync') cb();
      else if (kind === 'tick') process.nextTick(() => cb());
      else cb(new Error('werr'));
    },
  });

  for (const ev of ['end', 'close', 'pause', 'resume']) r.on(ev, () => log.push(`R:${ev}`));
  r.on('error', (e) => log.push(`R:error ${describe(e)}`));
  for (const ev of ['drain', 'prefinish', 'finish', 'close', 'pipe', 'unpipe']) {
    w.on(ev, () => log.push(`W:${ev}`));
  }
  w.on('error', (e) => log.push(`W:error ${describe(e)}`));

  const ops = {
    on_data: () => r.on('data', (x) => log.push(`R:data ${x}`)),
    on_readable: () => r.on('readable', () => {
      log.push('R:readable');
      let x;
      while ((x = r.read()) !== null) log.push(`R.read -> ${x}`);
      log.push('R.read -> null');
    }),
    on_readable1: () => r.on('readable', () => {
      log.push('R:readable');
      const x = r.read();
      log.push(`R.read -> ${x}`);
    }),
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
    pipe: () => r.pipe(w),
    unpipe: () => r.unpipe(w),
    write: () => {
      const v = written++;
      log.push(`W.write ${v} -> ${w.write(v)}`);
    },
    end: () => {
      log.push('W.end');
      w.end();
    },
    w_destroy: () => w.destroy(),
    w_destroy_err: () => w.destroy(new Error('wboom')),
  };

  await idle();
  for (const phase of s.phases) {
    log.push('|');
    for (const op of phase) {
      log.push(`> ${op}`);
      ops[op]();
    }
    await idle();
  }
  return log;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const scenarios = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const out = [];
  for (const s of scenarios) out.push(JSON.stringify(await run(s)));
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
