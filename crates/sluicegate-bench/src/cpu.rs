//! Scenario `cpu`: gzip level 1 (flate2) then SHA-256 (sha2) of the gzip output, over generated
//! log-like text in 64 KiB chunks. Figures are MB/s of *input* text for every row, so they
//! compare directly.
//!
//! flate2's backend here is zlib-rs, not its default miniz_oxide: `sluicegate-transforms` enables
//! the `zlib-rs` feature, and Cargo's feature unification applies it to every flate2 user in this
//! binary (figures before 2026-12-05 were measured with miniz_oxide).
//!
//! Rows: both stages one after the other on one thread; each stage alone (SHA-256 alone hashes the
//! gzip output, computed once before the rounds); and the two stages as a sluicegate pipeline on
//! two cores. In the pipeline the gzip stage is a `TransformStream` whose `transform` hands each
//! chunk to a dedicated `std::thread` through a bounded channel ([`WORKER_QUEUE`] chunks) and
//! returns as soon as the worker has room; a pump future running next to the pipe on the calling
//! thread enqueues the worker's output on the transform's readable side. The SHA-256 stage is the
//! `WritableStream` sink at the end, on the calling thread. Backpressure still holds: when the
//! readable side is full the transform stream stops calling `transform`, so the worker starves;
//! between the two threads at most [`WORKER_QUEUE`] chunks wait for the worker, one is being
//! compressed and two compressed chunks wait for the pump.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::report::{Contender, Measurement, RunResult};

/// Chunk size of the input.
pub const CHUNK: usize = 64 * 1024;
/// High-water mark of each sluicegate stage, in bytes (4 chunks).
pub const STAGE_HWM: usize = 4 * CHUNK;
/// Chunks the gzip worker can have queued: a stage's high-water mark. With room for one chunk
/// only, every chunk waited for the calling thread to wake up and send the next, and on a busy
/// 2-core machine that wake-up came late often enough to starve the worker (the pipeline ran at
/// 0.80–0.86x of gzip alone against 0.87–1.07x with four, `cpu --quick --rounds 3`).
pub const WORKER_QUEUE: usize = STAGE_HWM / CHUNK;

/// Generates `size` bytes of log-like text in 64 KiB chunks: a 16 MiB block of varied log lines
/// (timestamps, levels, paths, statuses, latencies, random request ids) repeated, which is far
/// beyond gzip's 32 KiB window, so it compresses like the block itself.
pub fn generate(size: usize) -> Vec<Bytes> {
    let block = log_block(size.min(16 << 20));
    let mut text = Vec::with_capacity(size);
    while text.len() < size {
        let n = (size - text.len()).min(block.len());
        text.extend_from_slice(&block[..n]);
    }
    let text = Bytes::from(text);
    (0..size.div_ceil(CHUNK))
        .map(|i| text.slice(i * CHUNK..((i + 1) * CHUNK).min(size)))
        .collect()
}

fn log_block(size: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    const LEVELS: [&str; 8] = [
        "INFO ", "INFO ", "INFO ", "INFO ", "DEBUG", "DEBUG", "WARN ", "ERROR",
    ];
    const METHODS: [&str; 4] = ["GET", "GET", "POST", "PUT"];
    const PATHS: [&str; 6] = [
        "/api/v1/items/",
        "/api/v1/users/",
        "/api/v2/orders/",
        "/static/img/",
        "/healthz?probe=",
        "/api/v1/search?q=",
    ];
    const STATUS: [u16; 8] = [200, 200, 200, 200, 201, 304, 404, 500];
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut s = String::with_capacity(size + 256);
    let mut ms = 1_715_000_000_000u64;
    while s.len() < size {
        let r = next();
        ms += r % 7;
        let (secs, milli) = (ms / 1000, ms % 1000);
        let (h, m, sec) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
        let _ = writeln!(
            s,
            "2024-05-17T{h:02}:{m:02}:{sec:02}.{milli:03}Z {} [worker-{}] {} {}{} status={} bytes={} latency_ms={} req={:016x}",
            LEVELS[(r >> 8) as usize % 8],
            (r >> 12) % 16,
            METHODS[(r >> 16) as usize % 4],
            PATHS[(r >> 20) as usize % 6],
            (r >> 24) % 100_000,
            STATUS[(r >> 40) as usize % 8],
            (r >> 44) % 65_536,
            (r >> 56) % 250,
            next(),
        );
    }
    s.into_bytes()
}

/// gzip level 1 over a sequence of chunks, handing out the compressed bytes produced so far after
/// each chunk.
pub struct Gzip(GzEncoder<Vec<u8>>);

impl Default for Gzip {
    fn default() -> Self {
        Gzip(GzEncoder::new(Vec::with_capacity(CHUNK), Compression::new(1)))
    }
}

impl Gzip {
    /// Compresses `chunk`; returns the output produced so far (often empty).
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        self.0.write_all(chunk).expect("writing to memory cannot fail");
        if self.0.get_ref().is_empty() {
            return Bytes::new();
        }
        Bytes::from(std::mem::replace(self.0.get_mut(), Vec::with_capacity(CHUNK)))
    }

    /// Ends the stream; returns the remaining output and the gzip trailer.
    pub fn finish(self) -> Bytes {
        Bytes::from(self.0.finish().expect("writing to memory cannot fail"))
    }
}

/// The gzip output of `chunks`, chunk by chunk (empty outputs dropped, trailer last).
pub fn compress_all(chunks: &[Bytes]) -> Vec<Bytes> {
    let mut gz = Gzip::default();
    let mut out: Vec<Bytes> = chunks
        .iter()
        .map(|c| gz.push(c))
        .filter(|b| !b.is_empty())
        .collect();
    out.push(gz.finish());
    out
}

/// SHA-256 of a sequence of chunks.
pub fn sha256_all(chunks: &[Bytes]) -> [u8; 32] {
    let mut h = Sha256::new();
    for c in chunks {
        h.update(c);
    }
    h.finalize().into()
}

/// Both stages one after the other on this thread; returns the digest of the gzip output.
pub fn sequential(chunks: &[Bytes]) -> [u8; 32] {
    let mut gz = Gzip::default();
    let mut h = Sha256::new();
    for c in chunks {
        h.update(gz.push(c));
    }
    h.update(gz.finish());
    h.finalize().into()
}

/// The gzip stage alone; returns the compressed size.
pub fn gzip_alone(chunks: &[Bytes]) -> usize {
    let mut gz = Gzip::default();
    let mut total = 0;
    for c in chunks {
        total += std::hint::black_box(gz.push(c)).len();
    }
    total + gz.finish().len()
}

enum Job {
    Chunk(Bytes),
    Finish,
}

/// The two stages as a sluicegate pipeline on two cores (see the module docs); returns the digest.
pub fn pipeline(chunks: &[Bytes]) -> Result<[u8; 32], String> {
    use sluicegate::readable::ReadableStream;
    use sluicegate::transform::{TransformStream, TransformerFn};
    use sluicegate::writable::{SinkFn, WritableStream};
    use sluicegate::{ByteLengthQueuingStrategy, Completion, PipeOptions, StreamError};
    use tokio::sync::{mpsc, oneshot};

    let err = |e: StreamError| format!("failed: {e}");
    // The worker thread: the gzip stage's own core.
    let (jobs, mut job_rx) = mpsc::channel::<Job>(WORKER_QUEUE);
    let (out_tx, mut out_rx) = mpsc::channel::<(Bytes, bool)>(2);
    let worker = std::thread::spawn(move || {
        let mut gz = Some(Gzip::default());
        while let Some(job) = job_rx.blocking_recv() {
            let (out, last) = match job {
                Job::Chunk(chunk) => (gz.as_mut().map_or_else(Bytes::new, |g| g.push(&chunk)), false),
                Job::Finish => (gz.take().map_or_else(Bytes::new, Gzip::finish), true),
            };
            if (!out.is_empty() || last) && out_tx.blocking_send((out, last)).is_err() {
                break;
            }
            if last {
                break;
            }
        }
    });

    let controller = Arc::new(Mutex::new(None));
    let (flushed_tx, flushed_rx) = oneshot::channel::<()>();
    let (c_slot, jobs2) = (controller.clone(), jobs.clone());
    let mut flushed_rx = Some(flushed_rx);
    let gzip = TransformStream::with_strategies(
        TransformerFn::new(move |chunk: Bytes, _| {
            let jobs = jobs.clone();
            Completion::future(async move {
                jobs.send(Job::Chunk(chunk))
                    .await
                    .map_err(|_| StreamError::user("the gzip worker stopped"))
            })
        })
        .start(move |c| {
            *c_slot.lock() = Some(c.clone());
        })
        .flush(move |_| {
            let (jobs, flushed) = (jobs2.clone(), flushed_rx.take());
            Completion::future(async move {
                jobs.send(Job::Finish)
                    .await
                    .map_err(|_| StreamError::user("the gzip worker stopped"))?;
                match flushed {
                    Some(f) => f.await.map_err(|_| StreamError::user("the gzip worker stopped")),
                    None => Ok(()),
                }
            })
        }),
        ByteLengthQueuingStrategy::new(STAGE_HWM as f64),
        ByteLengthQueuingStrategy::new(STAGE_HWM as f64),
    )
    .map_err(err)?;
    let controller = controller.lock().take().ok_or("failed: start did not run")?;
    // The pump: the worker's output onto the gzip stage's readable side, on this thread.
    let pump = async move {
        let mut flushed_tx = Some(flushed_tx);
        while let Some((out, last)) = out_rx.recv().await {
            if !out.is_empty() && controller.enqueue(out).is_err() {
                break;
            }
            if last {
                if let Some(f) = flushed_tx.take() {
                    let _ = f.send(());
                }
            }
        }
    };

    let hasher = Arc::new(Mutex::new(Some(Sha256::new())));
    let (h1, h2) = (hasher.clone(), hasher.clone());
    let digest = Arc::new(Mutex::new(None));
    let d = digest.clone();
    let sink = WritableStream::with_strategy(
        SinkFn::new()
            .write(move |chunk: Bytes, _| {
                if let Some(h) = h1.lock().as_mut() {
                    h.update(&chunk);
                }
            })
            .close(move || {
                if let Some(h) = h2.lock().take() {
                    *d.lock() = Some(<[u8; 32]>::from(h.finalize()));
                }
            }),
        ByteLengthQueuingStrategy::new(STAGE_HWM as f64),
    )
    .map_err(err)?;

    let source = ReadableStream::from_iter(chunks.to_vec());
    let compressed = source.pipe_through(&gzip, PipeOptions::default()).map_err(err)?;
    let piped = compressed.pipe_to(&sink, PipeOptions::default());
    let (result, ()) = futures::executor::block_on(futures::future::join(piped, pump));
    result.map_err(err)?;
    worker.join().map_err(|_| "failed: the gzip worker panicked")?;
    let digest = digest.lock().take().ok_or("failed: the sink never closed")?;
    Ok(digest)
}

/// The inputs of the scenario, made once: the text, its gzip output and the expected digest.
pub struct Inputs {
    /// The text in 64 KiB chunks.
    pub chunks: Vec<Bytes>,
    /// Its gzip output, chunk by chunk.
    pub compressed: Vec<Bytes>,
    /// SHA-256 of the gzip output.
    pub digest: [u8; 32],
}

impl Inputs {
    /// Generates `size` bytes of text and compresses it once.
    pub fn new(size: usize) -> Inputs {
        eprintln!(
            "[cpu] generating {} MiB of log text and its gzip output",
            size >> 20
        );
        let chunks = generate(size);
        let compressed = compress_all(&chunks);
        let digest = sha256_all(&compressed);
        Inputs {
            chunks,
            compressed,
            digest,
        }
    }

    /// Bytes of text.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum()
    }

    /// Whether there is no text.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of gzip output.
    pub fn compressed_len(&self) -> usize {
        self.compressed.iter().map(Bytes::len).sum()
    }
}

fn mbps(bytes: usize, started: Instant) -> Measurement {
    Measurement::value(bytes as f64 / started.elapsed().as_secs_f64() / 1e6)
}

fn check_digest(got: [u8; 32], want: [u8; 32]) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err("failed: wrong SHA-256 of the gzip output".to_string())
    }
}

/// The contenders, the sluicegate pipeline first.
pub fn contenders(inputs: &Inputs) -> Vec<Contender<'_>> {
    let len = inputs.len();
    vec![
        Contender::new(
            "sluicegate pipeline: gzip on a worker thread → sha256 sink",
            move || {
                let started = Instant::now();
                check_digest(pipeline(&inputs.chunks)?, inputs.digest)?;
                Ok(mbps(len, started))
            },
        ),
        Contender::new(
            "sequential, one thread (gzip then sha256 per chunk)",
            move || -> RunResult {
                let started = Instant::now();
                check_digest(sequential(&inputs.chunks), inputs.digest)?;
                Ok(mbps(len, started))
            },
        ),
        Contender::new(
            "gzip -1 alone (flate2; zlib-rs backend, unified in by sluicegate-transforms)",
            move || -> RunResult {
                let started = Instant::now();
                if gzip_alone(&inputs.chunks) != inputs.compressed_len() {
                    return Err("failed: wrong gzip output size".to_string());
                }
                Ok(mbps(len, started))
            },
        ),
        Contender::new(
            "sha256 alone (sha2) over the gzip output",
            move || -> RunResult {
                let started = Instant::now();
                check_digest(sha256_all(&inputs.compressed), inputs.digest)?;
                Ok(mbps(len, started))
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn every_contender_agrees_and_the_gzip_output_decompresses() {
        let inputs = Inputs::new(CHUNK * 5 + 1000);
        assert_eq!(inputs.chunks.len(), 6);
        assert!(inputs.chunks[0].starts_with(b"2024-05-17T"));
        assert_eq!(sequential(&inputs.chunks), inputs.digest);
        assert_eq!(pipeline(&inputs.chunks).unwrap(), inputs.digest);
        assert_eq!(gzip_alone(&inputs.chunks), inputs.compressed_len());
        let gz: Vec<u8> = inputs.compressed.concat();
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut text)
            .unwrap();
        assert_eq!(text, inputs.chunks.concat());
        let ratio = inputs.len() as f64 / inputs.compressed_len() as f64;
        assert!((2.0..20.0).contains(&ratio), "log text compresses {ratio:.1}x");
    }
}
