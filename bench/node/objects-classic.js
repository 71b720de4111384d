'use strict';
// sluicegate-bench anchor, scenario `objects`: N numbers through Node's classic objectMode
// streams, Readable → Transform (map) → Writable, highWaterMark 16 everywhere, joined with
// stream.pipeline. Prints one number: items per second.
//
//   node bench/node/objects-classic.js [N]
const { Readable, Transform, Writable, pipeline } = require('node:stream');

const n = Number(process.argv[2] ?? 10_000_000);
const HWM = 16;
const expected = (3 * n * (n - 1)) / 2 + n; // Σ (3i + 1), exact below 2^53

const started = process.hrtime.bigint();
let i = 0;
const source = new Readable({
  objectMode: true,
  highWaterMark: HWM,
  read() {
    while (i < n) {
      if (!this.push(i++)) return;
    }
    if (i === n) {
      i++;
      this.push(null);
    }
  },
});
const mapper = new Transform({
  objectMode: true,
  highWaterMark: HWM,
  transform(x, _encoding, callback) {
    callback(null, x * 3 + 1);
  },
});
let sum = 0;
const sink = new Writable({
  objectMode: true,
  highWaterMark: HWM,
  write(x, _encoding, callback) {
    sum += x;
    callback();
  },
});
pipeline(source, mapper, sink, (err) => {
  if (err) throw err;
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  if (sum !== expected) {
    console.error(`sum ${sum}, expected ${expected}`);
    process.exit(1);
  }
  console.log(String(n / secs));
});
