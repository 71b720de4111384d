'use strict';
// sluicegate-bench anchor, scenario `many`: N idle pipes held at once with Node's classic
// streams: an objectMode Readable that never pushes, piped into an objectMode Writable.
// Prints one number: bytes of RSS per pipe (after − before, after a GC when --expose-gc).
//
//   node --expose-gc bench/node/many-classic.js [N]
const { Readable, Writable } = require('node:stream');

const n = Number(process.argv[2] ?? 10_000);
const gc = globalThis.gc ?? (() => {});

async function main() {
  const held = new Array(n);
  gc();
  const before = process.memoryUsage().rss;
  for (let k = 0; k < n; k++) {
    const source = new Readable({ objectMode: true, highWaterMark: 16, read() {} });
    const sink = new Writable({
      objectMode: true,
      highWaterMark: 16,
      write(_chunk, _encoding, callback) {
        callback();
      },
    });
    source.pipe(sink);
    held[k] = [source, sink];
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  const after = process.memoryUsage().rss;
  console.log(String((after - before) / n));
  return held;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
