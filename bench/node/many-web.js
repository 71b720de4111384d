'use strict';
// sluicegate-bench anchor, scenario `many`: N idle pipes held at once with Node's web streams:
// a ReadableStream whose pull enqueues nothing, pipeTo a WritableStream (highWaterMark 16).
// Prints one number: bytes of RSS per pipe (after − before, after a GC when --expose-gc).
//
//   node --expose-gc bench/node/many-web.js [N]
const { ReadableStream, WritableStream, CountQueuingStrategy } = require('node:stream/web');

const n = Number(process.argv[2] ?? 10_000);
const gc = globalThis.gc ?? (() => {});

async function main() {
  const held = new Array(n);
  gc();
  const before = process.memoryUsage().rss;
  for (let k = 0; k < n; k++) {
    const source = new ReadableStream({ pull() {} }, new CountQueuingStrategy({ highWaterMark: 16 }));
    const sink = new WritableStream({ write() {} }, new CountQueuingStrategy({ highWaterMark: 16 }));
    const done = source.pipeTo(sink);
    held[k] = [source, sink, done];
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
