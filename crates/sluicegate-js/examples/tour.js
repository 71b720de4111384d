// A tour of the stream classes on the sluicegate core, for `sluicejs`:
//   cargo run --release -p sluicegate-js --bin sluicejs -- crates/sluicegate-js/examples/tour.js
// It prints what it does; the binding's tests run it and check the output.

async function main() {
  // ReadableStream.from → pipeThrough a TransformStream → pipeTo a WritableStream, with
  // backpressure from the strategies' high-water marks.
  const lines = [];
  await ReadableStream.from(['alpha', 'beta', 'gamma'])
    .pipeThrough(new TransformStream({ transform(word, c) { c.enqueue(word.toUpperCase()); } }))
    .pipeTo(new WritableStream({ write(line) { lines.push(line); } }, new CountQueuingStrategy({ highWaterMark: 2 })));
  console.log('piped:', lines.join(' '));

  // A byte stream filled in the reader's own buffer through a BYOB request.
  let next = 1;
  const bytes = new ReadableStream({
    type: 'bytes',
    pull(c) {
      const view = c.byobRequest.view;
      for (let i = 0; i < view.byteLength; i++) view[i] = next++;
      c.byobRequest.respond(view.byteLength);
      if (next > 8) c.close();
    },
  });
  const reader = bytes.getReader({ mode: 'byob' });
  const first = await reader.read(new Uint8Array(4));
  const second = await reader.read(new Uint8Array(4));
  console.log('byob reads:', Array.from(first.value).join(','), '|', Array.from(second.value).join(','));

  // tee, and async iteration of each branch.
  const [left, right] = ReadableStream.from([1, 2, 3]).tee();
  let sum = 0;
  for await (const n of left) sum += n;
  for await (const n of right) sum += n;
  console.log('tee sum:', sum);

  // An abort signal stops a pipe with its reason.
  const controller = new AbortController();
  const endless = new ReadableStream({ pull(c) { c.enqueue('tick'); } });
  const stopped = endless.pipeTo(new WritableStream(), { signal: controller.signal });
  controller.abort(new Error('enough'));
  await stopped.catch((e) => console.log('pipe stopped:', e.message));
}

main().catch((e) => { console.log('failed:', e); throw e; });
