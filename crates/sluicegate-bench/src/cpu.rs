//! Scenario `cpu`: two CPU-bound stages of similar cost over generated log-like text in 64 KiB
//! chunks, to show what stage parallelism gives. Figures are MB/s of *input* text for every row,
//! so they compare directly.
//!
//! The stages, each of which sees every byte of the text:
//! - **checksums** (sha2): each chunk's own SHA-256 and SHA-512, the manifest a content-addressed
//!   store or a piece list keeps, and the SHA-256 of the whole text: SHA-256 twice and SHA-512
//!   once over every byte;
//! - **gzip**: level 1 (flate2), counting the compressed bytes.
//!
//! They were chosen to cost about the same alone (the report prints both and their ratio; issue 11
//! asks for "within 1.5x"): gzip level 1 against SHA-256 *of the gzip output*, this scenario's
//! first design, was 25x unbalanced, so no pipeline could beat gzip alone.
//!
//! flate2's backend here is zlib-rs, not its default miniz_oxide: `sluicegate-transforms` enables
//! the `zlib-rs` feature, and Cargo's feature unification applies it to every flate2 user in this
//! binary (figures before 2026-12-05 were measured with miniz_oxide).
//!
//! Rows: the two stages one after the other on one thread (per chunk: checksums, then gzip, in a
//! plain loop); each stage alone; and the two stages as a sluicegate pipeline on two cores. In the
//! pipeline the checksum stage is a `TransformStream` whose `transform` hands each chunk to a
//! dedicated `std::thread` through a bounded channel ([`WORKER_QUEUE`] chunks) and returns as soon
//! as the worker has room; the worker hashes the chunk and hands it back, and a pump future running
//! next to the pipe on the calling thread enqueues it, unchanged, on the transform's readable side.
//! The gzip stage is the `WritableStream` sink at the end, on the calling thread. Backpressure
//! still holds: when the readable side is full the transform stream stops calling `transform`, so
//! the worker starves; between the two threads at most [`WORKER_QUEUE`] chunks wait for the worker,
//! one is being hashed and two hashed chunks wait for the pump.
//!
//! Every run also records the CPU time it used ([`CpuMeter`]: this process's CPU clock, all
//! threads, and the whole machine's busy time from `/proc/stat`), so the report can say how many
//! cores the benchmark had and how much of the machine other processes were using meanwhile: a
//! pipeline can only reach 2x on two cores if the second core is free.

use std::cell::RefCell;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use parking_lot::Mutex;
use sha2::{Digest, Sha256, Sha512};

use crate::proc::process_cpu_time;
use crate::report::{Contender, Measurement, RunResult};

/// Chunk size of the input.
pub const CHUNK: usize = 64 * 1024;
/// High-water mark of each sluicegate stage, in bytes (4 chunks).
pub const STAGE_HWM: usize = 4 * CHUNK;
/// Chunks the checksum worker can have queued: a stage's high-water mark. With room for one chunk
/// only, every chunk waited for the calling thread to wake up and send the next, and on a busy
/// 2-core machine that wake-up came late often enough to starve the worker (measured with the
/// earlier gzip worker: 0.80–0.86x of gzip alone against 0.87–1.07x with four).
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

/// The checksum stage's state: a chunk manifest (each chunk's own SHA-256 and SHA-512, as a
/// content-addressed store or a piece list keeps them) and the SHA-256 of the whole text.
#[derive(Clone, Default)]
pub struct Checksums {
    whole: Sha256,
    manifest: Sha256,
    chunks: usize,
}

impl Checksums {
    /// Hashes `chunk`: its own two digests go into the manifest, its bytes into the whole
    /// text's digest.
    pub fn update(&mut self, chunk: &[u8]) {
        self.whole.update(chunk);
        self.manifest.update(Sha256::digest(chunk));
        self.manifest.update(Sha512::digest(chunk));
        self.chunks += 1;
    }

    /// The digests of everything hashed.
    pub fn finish(self) -> Digests {
        Digests {
            sha256: self.whole.finalize().into(),
            manifest: self.manifest.finalize().into(),
            chunks: self.chunks,
        }
    }
}

/// The checksum stage's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digests {
    /// SHA-256 of the whole text.
    pub sha256: [u8; 32],
    /// SHA-256 of the manifest: every chunk's SHA-256 then SHA-512, in order.
    pub manifest: [u8; 32],
    /// Chunks in the manifest.
    pub chunks: usize,
}

/// What a run of both stages produces: the digests and the gzip output's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output {
    /// The checksum stage's digests.
    pub digests: Digests,
    /// Bytes of gzip output.
    pub compressed: usize,
}

/// The checksum stage alone over `chunks`.
pub fn checksums_alone(chunks: &[Bytes]) -> Digests {
    let mut sums = Checksums::default();
    for c in chunks {
        sums.update(c);
    }
    sums.finish()
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

/// Both stages one after the other on this thread, in a plain loop: per chunk, the checksums,
/// then gzip.
pub fn sequential(chunks: &[Bytes]) -> Output {
    let mut sums = Checksums::default();
    let mut gz = Gzip::default();
    let mut compressed = 0;
    for c in chunks {
        sums.update(c);
        compressed += std::hint::black_box(gz.push(c)).len();
    }
    compressed += gz.finish().len();
    Output {
        digests: sums.finish(),
        compressed,
    }
}

/// The two-core ceiling: each stage over the whole text at the same time on its own plain
/// thread (the checksums on a scoped thread, gzip on this one), nothing handed between them. No
/// pipeline on this machine can beat it; it shows what two busy cores give here (two vCPUs may
/// share a physical core or its memory bandwidth).
pub fn both_at_once(chunks: &[Bytes]) -> Output {
    std::thread::scope(|s| {
        let sums = s.spawn(|| checksums_alone(chunks));
        let compressed = gzip_alone(chunks);
        Output {
            digests: sums.join().expect("the checksum thread panicked"),
            compressed,
        }
    })
}

enum Job {
    Chunk(Bytes),
    Finish,
}

enum Hashed {
    Chunk(Bytes),
    Done(Digests),
}

/// The two stages as a sluicegate pipeline on two cores (see the module docs).
pub fn pipeline(chunks: &[Bytes]) -> Result<Output, String> {
    use sluicegate::readable::ReadableStream;
    use sluicegate::transform::{TransformStream, TransformerFn};
    use sluicegate::writable::{SinkFn, WritableStream};
    use sluicegate::{ByteLengthQueuingStrategy, Completion, PipeOptions, StreamError};
    use tokio::sync::{mpsc, oneshot};

    let err = |e: StreamError| format!("failed: {e}");
    let stopped = || StreamError::user("the checksum worker stopped");
    // The worker thread: the checksum stage's own core.
    let (jobs, mut job_rx) = mpsc::channel::<Job>(WORKER_QUEUE);
    let (out_tx, mut out_rx) = mpsc::channel::<Hashed>(2);
    let worker = std::thread::spawn(move || {
        let mut sums = Some(Checksums::default());
        while let Some(job) = job_rx.blocking_recv() {
            let out = match job {
                Job::Chunk(chunk) => {
                    if let Some(s) = sums.as_mut() {
                        s.update(&chunk);
                    }
                    Hashed::Chunk(chunk)
                }
                Job::Finish => match sums.take() {
                    Some(s) => Hashed::Done(s.finish()),
                    None => break,
                },
            };
            let last = matches!(out, Hashed::Done(_));
            if out_tx.blocking_send(out).is_err() || last {
                break;
            }
        }
    });

    let controller = Arc::new(Mutex::new(None));
    let (flushed_tx, flushed_rx) = oneshot::channel::<()>();
    let (c_slot, jobs2) = (controller.clone(), jobs.clone());
    let mut flushed_rx = Some(flushed_rx);
    let checksums = TransformStream::with_strategies(
        TransformerFn::new(move |chunk: Bytes, _| {
            let jobs = jobs.clone();
            Completion::future(async move { jobs.send(Job::Chunk(chunk)).await.map_err(|_| stopped()) })
        })
        .start(move |c| {
            *c_slot.lock() = Some(c.clone());
        })
        .flush(move |_| {
            let (jobs, flushed) = (jobs2.clone(), flushed_rx.take());
            Completion::future(async move {
                jobs.send(Job::Finish).await.map_err(|_| stopped())?;
                match flushed {
                    Some(f) => f.await.map_err(|_| stopped()),
                    None => Ok(()),
                }
            })
        }),
        ByteLengthQueuingStrategy::new(STAGE_HWM as f64),
        ByteLengthQueuingStrategy::new(STAGE_HWM as f64),
    )
    .map_err(err)?;
    let controller = controller.lock().take().ok_or("failed: start did not run")?;
    // The pump: the worker's hashed chunks onto the checksum stage's readable side, on this
    // thread.
    let digests = Arc::new(Mutex::new(None));
    let d = digests.clone();
    let pump = async move {
        let mut flushed_tx = Some(flushed_tx);
        while let Some(out) = out_rx.recv().await {
            match out {
                Hashed::Chunk(chunk) => {
                    if controller.enqueue(chunk).is_err() {
                        break;
                    }
                }
                Hashed::Done(digests) => {
                    *d.lock() = Some(digests);
                    if let Some(f) = flushed_tx.take() {
                        let _ = f.send(());
                    }
                    break;
                }
            }
        }
    };

    // The gzip stage: the sink, on this thread.
    let gzip = Arc::new(Mutex::new(Some((Gzip::default(), 0usize))));
    let (g1, g2) = (gzip.clone(), gzip.clone());
    let compressed = Arc::new(Mutex::new(None));
    let total = compressed.clone();
    let sink = WritableStream::with_strategy(
        SinkFn::new()
            .write(move |chunk: Bytes, _| {
                if let Some((gz, n)) = g1.lock().as_mut() {
                    *n += std::hint::black_box(gz.push(&chunk)).len();
                }
            })
            .close(move || {
                if let Some((gz, n)) = g2.lock().take() {
                    *total.lock() = Some(n + gz.finish().len());
                }
            }),
        ByteLengthQueuingStrategy::new(STAGE_HWM as f64),
    )
    .map_err(err)?;

    let source = ReadableStream::from_iter(chunks.to_vec());
    let hashed = source
        .pipe_through(&checksums, PipeOptions::default())
        .map_err(err)?;
    let piped = hashed.pipe_to(&sink, PipeOptions::default());
    let (result, ()) = futures::executor::block_on(futures::future::join(piped, pump));
    result.map_err(err)?;
    worker
        .join()
        .map_err(|_| "failed: the checksum worker panicked")?;
    let digests = digests
        .lock()
        .take()
        .ok_or("failed: the worker sent no digests")?;
    let compressed = compressed.lock().take().ok_or("failed: the sink never closed")?;
    Ok(Output { digests, compressed })
}

/// The inputs of the scenario, made once: the text and the output both stages must give.
pub struct Inputs {
    /// The text in 64 KiB chunks.
    pub chunks: Vec<Bytes>,
    /// The digests and gzip size every contender must reproduce.
    pub expected: Output,
}

impl Inputs {
    /// Generates `size` bytes of text and runs both stages over it once.
    pub fn new(size: usize) -> Inputs {
        eprintln!(
            "[cpu] generating {} MiB of log text, its checksums and gzip size",
            size >> 20
        );
        let chunks = generate(size);
        let expected = sequential(&chunks);
        Inputs { chunks, expected }
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
        self.expected.compressed
    }
}

/// CPU use over one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuUse {
    /// Wall time, seconds.
    pub wall: f64,
    /// CPU time of this process, all threads, user and system ([`process_cpu_time`]),
    /// seconds.
    pub own: f64,
    /// Busy time of the whole machine, all processes, from `/proc/stat` (core-seconds), if
    /// readable.
    pub machine: Option<f64>,
}

impl CpuUse {
    /// Cores this process kept busy on average: CPU time ÷ wall time.
    pub fn cores(&self) -> f64 {
        self.own / self.wall
    }

    /// Cores other processes kept busy on average during the run: (machine busy − own) ÷ wall
    /// time, never below 0 (`/proc/stat` counts in clock ticks, so short runs are coarse).
    pub fn others(&self) -> Option<f64> {
        self.machine.map(|m| ((m - self.own) / self.wall).max(0.0))
    }
}

/// Measures a run's [`CpuUse`]: started before the run, read after it.
pub struct CpuMeter {
    started: Instant,
    own: Duration,
    machine: Option<f64>,
}

impl CpuMeter {
    /// Reads the clocks now.
    pub fn start() -> CpuMeter {
        CpuMeter {
            started: Instant::now(),
            own: process_cpu_time(),
            machine: machine_busy(),
        }
    }

    /// The use since [`CpuMeter::start`].
    pub fn stop(&self) -> CpuUse {
        let wall = self.started.elapsed().as_secs_f64();
        let own = (process_cpu_time().saturating_sub(self.own)).as_secs_f64();
        let machine = match (self.machine, machine_busy()) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        CpuUse { wall, own, machine }
    }
}

/// Busy time of the whole machine so far, in core-seconds: the first line of `/proc/stat`
/// (user + nice + system + irq + softirq + steal clock ticks; guest time is inside user).
pub fn machine_busy() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .map(|&i| ticks.get(i).copied().unwrap_or(0))
        .sum::<u64>();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| busy as f64 / hz as f64)
}

/// Every run's [`CpuUse`], per contender in the order [`contenders`] gives them.
pub type CpuLog = RefCell<Vec<Vec<CpuUse>>>;

/// The contenders' labels, in order: the pipeline, the sequential run, each stage alone, and the
/// two stages at once with nothing between them ([`both_at_once`]).
pub const NAMES: [&str; 5] = [
    "sluicegate pipeline, 2 cores: checksums on a worker thread → gzip -1 sink",
    "sequential, one thread (checksums then gzip -1 per chunk, plain loop)",
    "checksums alone (sha2: SHA-256 + SHA-512 per chunk, SHA-256 of the whole)",
    "gzip -1 alone (flate2; zlib-rs backend, unified in by sluicegate-transforms)",
    "ceiling: both stages at once on two plain threads, nothing handed between them",
];

/// The contenders (labelled by [`NAMES`]), recording each run's CPU use in `log`.
pub fn contenders<'a>(inputs: &'a Inputs, log: &'a CpuLog) -> Vec<Contender<'a>> {
    let len = inputs.len();
    *log.borrow_mut() = vec![Vec::new(); NAMES.len()];
    let want = inputs.expected;
    let check = move |ok: bool, what: &str| -> Result<(), String> {
        if ok {
            Ok(())
        } else {
            Err(format!("failed: wrong {what}"))
        }
    };
    // Runs `f` once, checks it, records its CPU use as row `row`.
    let timed = move |row: usize, f: &dyn Fn() -> Result<(), String>| -> RunResult {
        let meter = CpuMeter::start();
        f()?;
        let usage = meter.stop();
        log.borrow_mut()[row].push(usage);
        Ok(Measurement::value(len as f64 / usage.wall / 1e6))
    };
    let chunks = &inputs.chunks;
    vec![
        Contender::new(NAMES[0], move || {
            timed(0, &|| check(pipeline(chunks)? == want, "digests or gzip size"))
        }),
        Contender::new(NAMES[1], move || {
            timed(1, &|| check(sequential(chunks) == want, "digests or gzip size"))
        }),
        Contender::new(NAMES[2], move || {
            timed(2, &|| check(checksums_alone(chunks) == want.digests, "digests"))
        }),
        Contender::new(NAMES[3], move || {
            timed(3, &|| check(gzip_alone(chunks) == want.compressed, "gzip size"))
        }),
        Contender::new(NAMES[4], move || {
            timed(4, &|| check(both_at_once(chunks) == want, "digests or gzip size"))
        }),
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
        let text = inputs.chunks.concat();
        let digests = inputs.expected.digests;
        assert_eq!(digests.sha256[..], Sha256::digest(&text)[..]);
        let mut manifest = Sha256::new();
        for c in text.chunks(CHUNK) {
            manifest.update(Sha256::digest(c));
            manifest.update(Sha512::digest(c));
        }
        assert_eq!(digests.manifest[..], manifest.finalize()[..]);
        assert_eq!(digests.chunks, 6);
        assert_eq!(pipeline(&inputs.chunks).unwrap(), inputs.expected);
        assert_eq!(checksums_alone(&inputs.chunks), inputs.expected.digests);
        assert_eq!(gzip_alone(&inputs.chunks), inputs.compressed_len());
        assert_eq!(both_at_once(&inputs.chunks), inputs.expected);
        let gz: Vec<u8> = compress_all(&inputs.chunks).concat();
        assert_eq!(gz.len(), inputs.compressed_len());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, text);
        let ratio = inputs.len() as f64 / inputs.compressed_len() as f64;
        assert!((2.0..20.0).contains(&ratio), "log text compresses {ratio:.1}x");
    }

    #[test]
    fn contenders_check_their_output_and_log_their_cpu_use() {
        let inputs = Inputs::new(CHUNK * 3);
        let log = CpuLog::default();
        let mut contenders = contenders(&inputs, &log);
        let names: Vec<&str> = contenders.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, NAMES);
        let outcomes = crate::report::run_rounds("test", &mut contenders, 2);
        drop(contenders);
        assert!(outcomes.iter().all(|o| o.stats().is_some()));
        let log = log.into_inner();
        assert_eq!(log.len(), NAMES.len());
        for runs in &log {
            assert_eq!(runs.len(), 2);
            assert!(runs.iter().all(|u| u.wall > 0.0 && u.own >= 0.0));
        }
    }

    #[test]
    fn cpu_clocks_move() {
        assert!(machine_busy().is_some());
        let meter = CpuMeter::start();
        let mut x = 0u64;
        while process_cpu_time() < meter.own + Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let usage = meter.stop();
        assert!(usage.own >= 0.02, "{usage:?}");
        assert!(usage.cores() > 0.0 && usage.others().is_some());
    }
}
