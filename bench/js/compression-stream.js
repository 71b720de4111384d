'use strict';
// sluicegate-bench anchor, scenario `transforms`: gzip 64 MiB of generated log text through a
// CompressionStream, the same script in Node and in sluicejs (the QuickJS binding of sluicegate):
// a ReadableStream handing out 64 KiB Uint8Array chunks → pipeThrough(new CompressionStream('gzip'))
// → pipeTo a WritableStream that counts the compressed bytes. Only the streams and the
// compressor are timed, not building the text. Prints the compressed size, then one number: MB/s
// of uncompressed input (10^6 bytes per second).
//
//   node bench/js/compression-stream.js
//   cargo run --release -p sluicegate-js --bin sluicejs -- bench/js/compression-stream.js
const CHUNK = 64 * 1024;
const BLOCK = 4 * 1024 * 1024;
const TOTAL = 64 * 1024 * 1024;

// A 4 MiB block of varied log lines, repeated: far beyond gzip's 32 KiB window, so it
// compresses like the block itself.
const lines = [];
let size = 0;
for (let i = 0; size < BLOCK; i++) {
  const line = `2026-12-05T10:${String(i % 60).padStart(2, '0')}:${String((i * 7) % 60).padStart(2, '0')}.${
    String(i % 1000).padStart(3, '0')} ${['INFO', 'WARN', 'DEBUG', 'ERROR'][i % 4]} GET /api/items/${
    (i * 7919) % 100003} status=${[200, 200, 200, 404, 500][i % 5]} ms=${(i * 31) % 997} req=${
    ((i * 2654435761) >>> 0).toString(16)}\n`;
  lines.push(line);
  size += line.length;
}
const block = new TextEncoder().encode(lines.join('')).subarray(0, BLOCK);

let offset = 0;
const source = new ReadableStream({
  pull(controller) {
    if (offset >= TOTAL) {
      controller.close();
      return;
    }
    const at = offset % BLOCK;
    controller.enqueue(block.subarray(at, at + CHUNK));
    offset += CHUNK;
  },
});
let compressed = 0;
const sink = new WritableStream({
  write(chunk) {
    compressed += chunk.byteLength;
  },
});
const started = Date.now();
source
  .pipeThrough(new CompressionStream('gzip'))
  .pipeTo(sink)
  .then(() => {
    const secs = (Date.now() - started) / 1000;
    console.log(`compressed ${compressed}`);
    console.log(String(TOTAL / secs / 1e6));
  }, (e) => {
    console.log(`failed: ${e}`);
    throw e;
  });
