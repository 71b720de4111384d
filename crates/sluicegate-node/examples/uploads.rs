//! The seed scenario of the Node chapter: ten concurrent 2 GiB uploads, each generated in 64 KiB
//! chunks and streamed through `pipeline` (a checksumming `Transform`) into a sink, on a
//! multi-thread tokio runtime. Prints throughput and peak RSS (`getrusage`), which must not grow
//! with the upload size or count: only what the high-water marks allow is ever alive.
//!
//! ```sh
//! cargo run --release -p sluicegate-node --example uploads -- --gib 2 --count 10
//! ```
//!
//! Every chunk is freshly allocated and filled with bytes of its own, and the checksum reads
//! all of them, so the figure is a real data rate, not the speed of passing one buffer around.
//! It also prints the same work (generate, checksum, count) without any stream, as the floor
//! the pipeline is compared with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sluicegate_node::{
    Completion, DuplexOptions, Pipeline, ReadImpl, Readable, ReadableOptions, Transform, TransformImpl,
    Writable, WritableOptions,
};

const CHUNK: usize = 64 * 1024;

/// An upload body: `left` bytes in 64 KiB chunks, each freshly allocated and filled with its
/// own bytes (a xorshift sequence seeded by the upload and the chunk's index), so that every
/// chunk is real memory the pipeline moves and the checksum really reads; nothing is shared.
struct Body {
    upload: u64,
    index: u64,
    left: u64,
}

/// Fills `buf` with the bytes of chunk `index` of `upload` (about 1 ns per 8 bytes).
fn fill(buf: &mut [u8], upload: u64, index: u64) {
    let mut x = (upload << 40) ^ index ^ 0x9E37_79B9_7F4A_7C15;
    for w in buf.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w.copy_from_slice(&x.to_le_bytes());
    }
    // The first word says which chunk this is, for the sink to check the order.
    buf[..8].copy_from_slice(&index.to_le_bytes());
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
            let mut buf = BytesMut::zeroed(n);
            fill(&mut buf, self.upload, self.index);
            self.index += 1;
            if !stream.push(buf.freeze()) {
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

/// The number after `name`, or `default` without one; a value that is not a positive number
/// (below 2^40) ends the program with a message and status 2 rather than being replaced.
fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    let Some(i) = args.iter().position(|a| a == name) else {
        return default;
    };
    match args.get(i + 1).and_then(|v| v.parse::<f64>().ok()) {
        Some(v) if v > 0.0 && v < (1u64 << 40) as f64 => v,
        _ => {
            eprintln!("uploads: {name} takes a positive number");
            std::process::exit(2);
        }
    }
}

/// The same work without streams: each task generates its chunks, checksums and counts them.
fn baseline(rt: &tokio::runtime::Runtime, count: usize, size: u64) -> f64 {
    let started = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..count as u64)
            .map(|upload| {
                tokio::spawn(async move {
                    let (mut left, mut index, mut sum, mut got) = (size, 0u64, 0u64, 0u64);
                    while left > 0 {
                        let n = (left as usize).min(CHUNK);
                        left -= n as u64;
                        let mut buf = BytesMut::zeroed(n);
                        fill(&mut buf, upload, index);
                        index += 1;
                        for w in buf.chunks_exact(8) {
                            sum = sum.wrapping_add(u64::from_le_bytes(w.try_into().unwrap()));
                        }
                        got += buf.freeze().len() as u64;
                        if index % 64 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                    std::hint::black_box(sum);
                    got
                })
            })
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        assert_eq!(total, size * count as u64);
    });
    (size * count as u64) as f64 / started.elapsed().as_secs_f64() / 1e6
}

fn main() {
    let gib = arg("--gib", 2.0);
    let count = arg("--count", 10.0) as usize;
    let size = (gib * (1u64 << 30) as f64) as u64;
    let rt = tokio::runtime::Builder::new_multi_thread().build().unwrap();
    let started = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    rt.block_on(async {
        let mut uploads = Vec::new();
        for upload in 0..count as u64 {
            let received = received.clone();
            uploads.push(tokio::spawn(async move {
                let body = Readable::with_options(
                    Body {
                        upload,
                        index: 0,
                        left: size,
                    },
                    ReadableOptions::bytes(),
                );
                let check = Transform::transform_with(
                    Checksum(Arc::new(AtomicU64::new(0))),
                    DuplexOptions {
                        readable: ReadableOptions::bytes(),
                        writable: WritableOptions::bytes(),
                        ..DuplexOptions::default()
                    },
                );
                let r = received.clone();
                let mut expected = 0u64;
                let sink = Writable::from_fn_with(
                    move |c: Bytes| {
                        // Chunks arrive whole and in order (64 KiB pushes through 64 KiB marks).
                        let index = u64::from_le_bytes(c[..8].try_into().unwrap());
                        if index != expected {
                            return Completion::err(sluicegate_node::Error::user(format!(
                                "chunk {index} where {expected} was due"
                            )));
                        }
                        expected += 1;
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
    let rate = total as f64 / secs / 1e6;
    let rss = peak_rss_mib();
    let floor = baseline(&rt, count, size);
    println!(
        "{count} uploads x {gib} GiB through pipeline: {rate:.0} MB/s, peak RSS {rss:.1} MiB; \
         the same work without streams: {floor:.0} MB/s ({:.2}x)",
        rate / floor
    );
}
