// Streams a file of any size through a transform into another, in bounded memory:
//   cargo run --release -p sluicegate-js --bin sluicejs -- crates/sluicegate-js/examples/upper.mjs in.log out.log
// The binding's tests run it and check every byte.
const [from, to] = sluice.args;
const upper = new TransformStream({
  transform(bytes, controller) {
    controller.enqueue(bytes.map((b) => (b >= 97 && b <= 122 ? b - 32 : b)));
  },
});
await sluice.open(from).pipeThrough(upper).pipeTo(sluice.create(to));
