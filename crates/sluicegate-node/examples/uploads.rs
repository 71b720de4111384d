//! The seed scenario of the Node chapter: ten concurrent 2 GiB uploads, each generated in 64 KiB
//! chunks and streamed through `pipeline` (a checksumming `Transform`) into a sink, on a
//! multi-thread tokio runtime. Prints throughput and peak RSS (`getrusage`), which must not grow
//! with the upload size or count: only what the high-water marks allow is ever alive.
//!
//! ```sh
//! cargo run --release -p sluicegate-node --example uploads -- --gib 2 --count 10
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sluicegate_node::{
    Completion, DuplexOptions, Pipeline, ReadImpl, Readable, ReadableOptions, Transform, TransformImpl,
    Writable, WritableOptions,
};

const CHUNK: usize = 64 * 1024;

/// An upload body: `left` bytes in 64 KiB chunks, made on demand from one shared block.
struct Body {
    block: Bytes,
    left: u64,
}

impl ReadImpl<Bytes> for Body {
    fn read(&mut self, _size: usize, stream: &Readable<Bytes>) {
        loop {
            if self.left == 0 {
                stream.push_end();
                return;
            }
            let n = (self.left as usize).min(CHUNK);
            self.left -= n as u64;
            if !stream.push(self.block.slice(..n)) {
                return;
            }
        }
    }
}

/// A stage that checksums every byte it passes on (so the data is really touched).
struct Checksum(Arc<AtomicU64>);

impl TransformImpl<Bytes, Bytes> for Checksum {
    fn transform(&mut self, chunk: Bytes, out: &Readable<Bytes>) -> Completion {
        let mut sum = 0u64;
        for w in chunk.chunks_exact(8) {
            sum = sum.wrapping_add(u64::from_le_bytes(w.try_into().unwrap()));
        }
        self.0.fetch_add(sum, Ordering::Relaxed);
        out.push(chunk);
        Completion::ok()
    }
}

fn peak_rss_mib() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_maxrss as f64 / 1024.0
}

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let gib = arg("--gib", 2.0);
    let count = arg("--count", 10.0) as usize;
    let size = (gib * (1u64 << 30) as f64) as u64;
    let block = Bytes::from(vec![7u8; CHUNK]);
    let rt = tokio::runtime::Builder::new_multi_thread().build().unwrap();
    let started = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    rt.block_on(async {
        let mut uploads = Vec::new();
        for _ in 0..count {
            let (block, received) = (block.clone(), received.clone());
            uploads.push(tokio::spawn(async move {
                let body = Readable::with_options(Body { block, left: size }, ReadableOptions::bytes());
                let check = Transform::transform_with(
                    Checksum(Arc::new(AtomicU64::new(0))),
                    DuplexOptions {
                        readable: ReadableOptions::bytes(),
                        writable: WritableOptions::bytes(),
                        ..DuplexOptions::default()
                    },
                );
                let r = received.clone();
                let sink = Writable::from_fn_with(
                    move |c: Bytes| {
                        r.fetch_add(c.len() as u64, Ordering::Relaxed);
                        Completion::ok()
                    },
                    WritableOptions::bytes(),
                );
                Pipeline::from(body).pipe(&check).to(&sink).await
            }));
        }
        for u in uploads {
            u.await.unwrap().unwrap();
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let total = received.load(Ordering::Relaxed);
    assert_eq!(total, size * count as u64, "every byte of every upload arrived");
    println!(
        "{count} uploads x {gib} GiB: {:.0} MB/s, peak RSS {:.1} MiB",
        total as f64 / secs / 1e6,
        peak_rss_mib()
    );
}
