'use strict';
// sluicegate-bench anchor, scenario `bytes`: copy a file through a PassThrough with Node's
// classic streams and stream.pipeline, 64 KiB chunks (highWaterMark 64 KiB on every stage).
// The output is overwritten in place (flags 'r+', no truncation), as the Rust contenders do.
// Prints the bytes written, then one number: MB/s (10^6 bytes per second).
//
//   node bench/node/bytes-pipeline.js <input> <output>
const fs = require('node:fs');
const { pipeline, PassThrough } = require('node:stream');

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: bytes-pipeline.js <input> <output>');
  process.exit(2);
}
const HWM = 64 * 1024;
const started = process.hrtime.bigint();
const sink = fs.createWriteStream(output, { flags: fs.existsSync(output) ? 'r+' : 'w', highWaterMark: HWM });
pipeline(fs.createReadStream(input, { highWaterMark: HWM }), new PassThrough({ highWaterMark: HWM }), sink, (err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`bytes ${sink.bytesWritten}`);
  console.log(String(sink.bytesWritten / secs / 1e6));
});
