'use strict';
// sluicegate-bench anchor, scenario `objects`: N numbers through Node's web streams
// (node:stream/web), ReadableStream → pipeThrough(TransformStream map) → pipeTo(WritableStream),
// CountQueuingStrategy with highWaterMark 16 everywhere. Prints one number: items per second.
//
//   node bench/node/objects-web.js [N]
const { ReadableStream, TransformStream, WritableStream, CountQueuingStrategy } = require('node:stream/web');

const n = Number(process.argv[2] ?? 10_000_000);
const HWM = 16;
const expected = (3 * n * (n - 1)) / 2 + n; // Σ (3i + 1), exact below 2^53

async function main() {
  const started = process.hrtime.bigint();
  let i = 0;
  const source = new ReadableStream(
    {
      pull(controller) {
        // Fill up to the high-water mark on each pull, as a careful source would.
        while (i < n && controller.desiredSize > 0) controller.enqueue(i++);
        if (i === n) controller.close();
      },
    },
    new CountQueuingStrategy({ highWaterMark: HWM }),
  );
  const mapper = new TransformStream(
    {
      transform(x, controller) {
        controller.enqueue(x * 3 + 1);
      },
    },
    new CountQueuingStrategy({ highWaterMark: HWM }),
    new CountQueuingStrategy({ highWaterMark: HWM }),
  );
  let sum = 0;
  const sink = new WritableStream(
    {
      write(x) {
        sum += x;
      },
    },
    new CountQueuingStrategy({ highWaterMark: HWM }),
  );
  await source.pipeThrough(mapper).pipeTo(sink);
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  if (sum !== expected) {
    console.error(`sum ${sum}, expected ${expected}`);
    process.exit(1);
  }
  console.log(String(n / secs));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
