'use strict';
// sluicegate-bench, scenarios `objects-js` and `objects` (its Node web streams row): the objects
// pipe written in JavaScript, one script for both runtimes (sluicejs, the QuickJS binding of
// sluicegate, and Node's web streams, which are globals in Node 18 and later). N numbers from a
// pull source → pipeThrough(a TransformStream mapping x to 3x + 1) → pipeTo(a WritableStream
// sink that counts and sums them), CountQueuingStrategy with highWaterMark 16 on every stage.
// Prints one number: items per second.
//
//   node bench/js/objects-pipe.js [N]
//   cargo run --release -p sluicegate-js --bin sluicejs -- bench/js/objects-pipe.js [N]
const args = typeof sluice !== 'undefined' ? sluice.args : process.argv.slice(2);
const n = Number(args[0] ?? 1_000_000);
if (!Number.isSafeInteger(n) || n < 1) throw new Error(`N must be a positive integer, not ${args[0]}`);
const HWM = 16;
const expected = (3 * n * (n - 1)) / 2 + n; // Σ (3i + 1), exact below 2^53

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
let count = 0;
let sum = 0;
const sink = new WritableStream(
  {
    write(x) {
      count += 1;
      sum += x;
    },
  },
  new CountQueuingStrategy({ highWaterMark: HWM }),
);

const started = Date.now();
source
  .pipeThrough(mapper)
  .pipeTo(sink)
  .then(() => {
    const secs = (Date.now() - started) / 1000;
    if (count !== n || sum !== expected) {
      throw new Error(`counted ${count} items summing to ${sum}, expected ${n} and ${expected}`);
    }
    console.log(String(n / secs));
  });
