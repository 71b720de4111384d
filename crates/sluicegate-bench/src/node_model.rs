//! Scenario `node-model`: sluicegate-node (Node's stream model in Rust) beside Node itself.
//!
//! * objects: N `u64` through `Readable` → `Transform` (map) → `Writable`, highWaterMark 16 on
//!   every stage, joined with `Pipeline`, against `bench/node/objects-classic.js` (the same
//!   shape in Node's classic objectMode streams) in the same run;
//! * bytes: a generated file → `PassThrough` → file in 64 KiB chunks against the read/write loop
//!   (the user-space floor), with peak RSS at two input sizes.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sluicegate_node::{
    Completion, DuplexOptions, Pipeline, ReadImpl, Readable, ReadableOptions, Transform, TransformImpl,
    Writable, WritableOptions, WriteImpl,
};

use crate::aligned::{read_full, AlignedBuf};
use crate::bytes_copy::{open_output, CHUNK};
use crate::objects::{expected_sum, map, CAPACITY};
use crate::report::{Contender, Measurement, RunResult};

/// sluicegate-node: `Readable::from_iter` → `Transform` → `Writable`, all highWaterMark 16,
/// awaited with `futures::executor::block_on`.
pub fn objects(n: u64) -> RunResult {
    struct Map;
    impl TransformImpl<u64, u64> for Map {
        fn transform(&mut self, x: u64, out: &Readable<u64>) -> Completion {
            out.push(map(x));
            Completion::ok()
        }
    }
    let sum = Arc::new(AtomicU64::new(0));
    let s = sum.clone();
    let started = Instant::now();
    let src = Readable::from_iter_with(0..n, ReadableOptions::objects().high_water_mark(CAPACITY));
    let mapper = Transform::transform_with(
        Map,
        DuplexOptions {
            readable: ReadableOptions::objects().high_water_mark(CAPACITY),
            writable: WritableOptions::objects().high_water_mark(CAPACITY),
            ..DuplexOptions::default()
        },
    );
    let sink = Writable::from_fn_with(
        move |x: u64| {
            s.fetch_add(x, Ordering::Relaxed);
            Completion::ok()
        },
        WritableOptions::objects().high_water_mark(CAPACITY),
    );
    futures::executor::block_on(Pipeline::from(src).pipe(&mapper).to(&sink))
        .map_err(|e| format!("failed: {e}"))?;
    let elapsed = started.elapsed();
    let got = sum.load(Ordering::Relaxed);
    if got != expected_sum(n) {
        return Err(format!("failed: sum {got}, expected {}", expected_sum(n)));
    }
    Ok(Measurement::value(n as f64 / elapsed.as_secs_f64()))
}

/// The objects contenders: sluicegate-node, then Node classic streams.
pub fn object_contenders<'a>(n: u64) -> Vec<Contender<'a>> {
    vec![
        Contender::new("sluicegate-node Readable → Transform → Writable", move || {
            objects(n)
        }),
        Contender::new("Node classic objectMode streams", move || {
            crate::objects::node("objects-classic.js", n)
        }),
    ]
}

struct FileSource(File);

impl ReadImpl<Bytes> for FileSource {
    fn read(&mut self, _size: usize, stream: &Readable<Bytes>) {
        loop {
            let mut buf = AlignedBuf::new(CHUNK);
            match read_full(&mut self.0, buf.as_mut_slice()) {
                Ok(0) => {
                    stream.push_end();
                    return;
                }
                Ok(n) => {
                    if !stream.push(buf.freeze(n)) {
                        return;
                    }
                }
                Err(e) => {
                    stream.destroy(Some(e.into()));
                    return;
                }
            }
        }
    }
}

struct FileSink(File, Arc<AtomicU64>);

impl WriteImpl<Bytes> for FileSink {
    fn write(&mut self, chunk: Bytes) -> Completion {
        self.1.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        self.0.write_all(&chunk).map_err(Into::into).into()
    }
}

/// File → PassThrough → file with sluicegate-node, byte mode, 64 KiB chunks, default
/// high-water marks (64 KiB). Returns the bytes copied.
pub fn copy(input: &Path, output: &Path) -> std::io::Result<u64> {
    let written = Arc::new(AtomicU64::new(0));
    let src = Readable::with_options(FileSource(File::open(input)?), ReadableOptions::bytes());
    let pt = Transform::<Bytes, Bytes>::passthrough_with(DuplexOptions {
        readable: ReadableOptions::bytes(),
        writable: WritableOptions::bytes(),
        ..DuplexOptions::default()
    });
    let sink = Writable::with_options(
        FileSink(open_output(output)?, written.clone()),
        WritableOptions::bytes(),
    );
    futures::executor::block_on(Pipeline::from(src).pipe(&pt).to(&sink))?;
    Ok(written.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_copy_are_exact() {
        objects(5_000).unwrap();
        let dir = std::env::temp_dir().join(format!("sg-node-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (input, output) = (dir.join("in"), dir.join("out"));
        let len = 5 * CHUNK as u64 + 77;
        crate::bytes_copy::generate(&input, len).unwrap();
        assert_eq!(copy(&input, &output).unwrap(), len);
        assert_eq!(std::fs::read(&input).unwrap(), std::fs::read(&output).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
