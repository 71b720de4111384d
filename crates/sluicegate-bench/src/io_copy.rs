//! Scenario `bytes-io` (issue 3): a file copied through a sluicegate byte stream over the I/O
//! bridges, against `tokio::io::copy_buf` and `std::io::copy`, at 1 GiB and 4 GiB, with throughput
//! and each contender's peak RSS.
//!
//! ```sh
//! cargo run --release -p sluicegate-bench -- bytes-io                  # 1 GiB and 4 GiB, 5 rounds
//! cargo run --release -p sluicegate-bench -- bytes-io --gib 1 --rounds 3
//! cargo run --release -p sluicegate-bench -- bytes-io --mib 64 --rounds 2   # a quick look
//! cargo run --release -p sluicegate-bench -- bytes-files --gib 1 --rounds 7  # file to file
//! ```
//!
//! Scenario `bytes-files` (issue 11's "file to file" target): `io::file_source` piped straight to
//! `io::file_sink`, which the pipe copies directly between the two files (`copy_file_range`),
//! against `std::io::copy` of the same file, and the same two streams piped chunk by chunk (a
//! conversion in the pipe keeps it from copying directly), side by side in one run.
//!
//! Every contender runs as a child process (`sluicegate-bench child io-<name> <in> <out>`, through
//! the launcher of [`crate::proc`], so its peak RSS is its own), times its own copy and prints the
//! bytes it wrote and MB/s. Contenders alternate within each round (the order rotates), and the
//! tables give medians and min–max. Each size has its own input, generated in a temporary folder
//! that is removed before the next size is generated, so at most one input and its output exist
//! at a time. Outputs are overwritten in place after a `sync`, as in the `bytes` scenario, and
//! sampled blocks are checked after every run (the exact byte-for-byte check is the library's
//! `io_copy` test).

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::AsyncWrite;

use crate::bytes_copy::{generate, open_output, stamp, verify_copy};
use crate::proc::run_self_child;
use crate::report::{group, ratio, rss_cell, run_rounds, Contender, Measurement, Outcome, Stats, Table};

/// The chunk sizes every chunked contender runs with: the usual 64 KiB, and 256 KiB, where fewer
/// trips to tokio's blocking thread pool per byte let both tokio-based copies run faster.
pub const CHUNKS: [usize; 2] = [64 * 1024, 256 * 1024];

/// High-water mark of the sluicegate writable stream: 4 chunks, in bytes.
pub fn sink_hwm(chunk: usize) -> usize {
    4 * chunk
}

/// The usage text.
pub const USAGE: &str = "usage: sluicegate-bench bytes-io [--gib N]... [--mib N]... [--rounds N]
       sluicegate-bench bytes-files [--gib N]... [--mib N]... [--rounds N]";

/// One contender: its child kind, chunk size (0: none) and row label.
pub struct Kind {
    /// `child <kind>`.
    pub kind: &'static str,
    /// Chunk size in bytes, passed to the child.
    pub chunk: usize,
    /// Row label.
    pub name: String,
}

/// Whether a contender is one of the two sluicegate pipes (not the BYOB loop or an anchor).
fn is_pipe(k: &Kind) -> bool {
    matches!(k.kind, "io-sluicegate" | "io-sluicegate-files")
}

/// The contenders, sluicegate first.
pub fn kinds() -> Vec<Kind> {
    let mut v = Vec::new();
    for chunk in CHUNKS {
        v.push(Kind {
            kind: "io-sluicegate",
            chunk,
            name: format!(
                "sluicegate byte stream, {} KiB reads: file → ReadableStream::from_async_read → pipe_to → WritableStream::from_async_write → file",
                chunk >> 10
            ),
        });
    }
    for chunk in CHUNKS {
        v.push(Kind {
            kind: "io-sluicegate-files",
            chunk,
            name: format!(
                "sluicegate byte stream, {} KiB reads: io::file_source → pipe_to_with (identity) → io::file_sink",
                chunk >> 10
            ),
        });
    }
    for chunk in CHUNKS {
        v.push(Kind {
            kind: "io-sluicegate-byob",
            chunk,
            name: format!(
                "sluicegate byte stream, BYOB reader loop into fresh aligned {} KiB buffers → WritableStream::from_async_write → file",
                chunk >> 10
            ),
        });
    }
    for chunk in CHUNKS {
        v.push(Kind {
            kind: "io-tokio-copy-buf",
            chunk,
            name: format!(
                "tokio::io::copy_buf, BufReader {} KiB, current-thread",
                chunk >> 10
            ),
        });
    }
    v.push(Kind {
        kind: "io-std-copy",
        chunk: 0,
        name: "std::io::copy (copy_file_range)".to_string(),
    });
    v
}

/// The contenders of `bytes-files`: the direct copy first, then `std::io::copy`, then the same
/// streams piped chunk by chunk.
pub fn files_kinds() -> Vec<Kind> {
    vec![
        Kind {
            kind: "io-sluicegate-direct",
            chunk: 64 * 1024,
            name: "sluicegate: io::file_source → pipe_to → io::file_sink (direct copy)".to_string(),
        },
        Kind {
            kind: "io-std-copy",
            chunk: 0,
            name: "std::io::copy (copy_file_range)".to_string(),
        },
        Kind {
            kind: "io-sluicegate-files",
            chunk: 64 * 1024,
            name: "sluicegate: the same streams, pipe_to_with (identity): 64 KiB chunks through both"
                .to_string(),
        },
    ]
}

/// Handles `bytes-io ...`, `bytes-files ...` and `child io-* ...`; `None` for anything else.
pub fn dispatch(args: &[String]) -> Option<i32> {
    match args.first().map(String::as_str) {
        Some("bytes-io") => Some(match parse(&args[1..]) {
            Ok((sizes, rounds)) => {
                let command = format!("cargo run --release -p sluicegate-bench -- {}", args.join(" "));
                print!("{}", run(&sizes, rounds, &command));
                0
            }
            Err(e) => {
                eprintln!("{e}");
                2
            }
        }),
        Some("bytes-files") => Some(match parse(&args[1..]) {
            Ok((sizes, rounds)) => {
                let command = format!("cargo run --release -p sluicegate-bench -- {}", args.join(" "));
                print!("{}", run_files(&sizes, rounds, &command));
                0
            }
            Err(e) => {
                eprintln!("{e}");
                2
            }
        }),
        Some("child") if args.get(1).is_some_and(|k| k.starts_with("io-")) => Some(match &args[1..] {
            [kind, input, output, chunk] => match child(kind, input.as_ref(), output.as_ref(), chunk) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("sluicegate-bench child {kind}: {e}");
                    1
                }
            },
            _ => {
                eprintln!("usage: child io-<kind> <input> <output> <chunk bytes>");
                2
            }
        }),
        _ => None,
    }
}

/// Parses `--gib N`, `--mib N` (repeatable; default 1 GiB and 4 GiB) and `--rounds N`.
pub fn parse(args: &[String]) -> Result<(Vec<u64>, usize), String> {
    let mut sizes = Vec::new();
    let mut rounds = 5;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = || {
            it.next()
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|&n| n > 0)
                .ok_or(format!("{a} needs a positive number\n{USAGE}"))
        };
        match a.as_str() {
            "--gib" => sizes.push(number()? << 30),
            "--mib" => sizes.push(number()? << 20),
            "--rounds" => rounds = number()? as usize,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![1 << 30, 4 << 30];
    }
    Ok((sizes, rounds))
}

fn label(b: u64) -> String {
    if b >= 1 << 30 && b % (1 << 30) == 0 {
        format!("{} GiB", b >> 30)
    } else {
        format!("{} MiB", b >> 20)
    }
}

/// An input and an output file in a temporary folder, removed on drop.
struct Files {
    dir: PathBuf,
    input: PathBuf,
    output: PathBuf,
}

impl Files {
    fn generate(size: u64) -> io::Result<Files> {
        let dir = std::env::temp_dir().join(format!("sluicegate-bench-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let files = Files {
            input: dir.join("input.bin"),
            output: dir.join("output.bin"),
            dir,
        };
        eprintln!(
            "[bytes-io] generating a {} input in {}",
            label(size),
            files.dir.display()
        );
        generate(&files.input, size)?;
        std::io::copy(
            &mut std::fs::File::open(&files.input)?,
            &mut open_output(&files.output)?,
        )?;
        Ok(files)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn contender<'a>(k: &Kind, files: &'a Files) -> Contender<'a> {
    let (kind, chunk) = (k.kind, k.chunk.to_string());
    Contender::new(k.name.clone(), move || {
        let (input, output) = (&files.input, &files.output);
        let len = std::fs::metadata(input).map_err(|e| e.to_string())?.len();
        stamp(output, len).map_err(|e| format!("failed: stamping the output: {e}"))?;
        // SAFETY: sync(2) has no preconditions.
        unsafe { libc::sync() };
        let run = run_self_child([
            kind.as_ref(),
            input.as_os_str(),
            output.as_os_str(),
            chunk.as_ref(),
        ])?;
        let wrote = run
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("bytes ")?.trim().parse::<u64>().ok());
        if wrote != Some(len) {
            return Err(format!("failed: the child wrote {wrote:?} bytes of {len}"));
        }
        verify_copy(input, output)?;
        Ok(Measurement {
            value: run.figure()?,
            peak_rss_kib: Some(run.peak_rss_kib),
        })
    })
}

/// One size of a scenario: its heading in `md`, the input generated, every kind's rounds run
/// (the files removed after); `None`, with the reason in `md`, if the input could not be made.
fn measure_size(
    md: &mut String,
    scenario: &str,
    kinds: &[Kind],
    size: u64,
    rounds: usize,
) -> Option<Vec<Outcome>> {
    let _ = writeln!(md, "### {} input, {rounds} rounds\n", label(size));
    let files = match Files::generate(size) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(md, "Could not generate the input: {e}\n");
            return None;
        }
    };
    let mut contenders: Vec<Contender<'_>> = kinds.iter().map(|k| contender(k, &files)).collect();
    Some(run_rounds(
        &format!("{scenario} {}", label(size)),
        &mut contenders,
        rounds,
    ))
}

/// Runs every size and returns the Markdown report.
pub fn run(sizes: &[u64], rounds: usize, command: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## bytes-io: a file copied through a sluicegate byte stream, against tokio::io::copy_buf \
         and std::io::copy\n"
    );
    let mut sluicegate_rss = Vec::new();
    let kinds = kinds();
    for &size in sizes {
        let Some(outcomes) = measure_size(&mut md, "bytes-io", &kinds, size, rounds) else {
            continue;
        };
        md.push_str(&table(&kinds, &outcomes).markdown());
        md.push('\n');
        for (k, o) in kinds.iter().zip(&outcomes) {
            if is_pipe(k) {
                sluicegate_rss.push((k.kind, k.chunk, size, o.rss_stats()));
            }
        }
    }
    let _ = writeln!(
        md,
        "sluicegate: `sluicegate::io` on a current-thread tokio runtime. The input \
         `tokio::fs::File` is a byte stream (`ReadableStream::from_async_read_with(file, chunk, 0)`: \
         high-water mark 0, so each read of the pipe makes one pull, which reads the file straight \
         into a 4096-aligned buffer from the source's pool, enqueued and moved to the pipe without \
         a copy), piped with `pipe_to` into `WritableStream::from_async_write` over the output \
         `tokio::fs::File`, byte-length high-water mark 4 chunks. The `file_source`/`file_sink` rows use \
         sluicegate's file helpers, which read ahead and write behind on one blocking thread each \
         instead of a trip to the blocking pool per chunk. The BYOB rows read the same byte \
         stream with a `ReadableStreamBYOBReader` into a fresh `ArrayBuffer::aligned(chunk)` per \
         read, filled by the file in place, and write each filled view to the same kind of \
         writable stream. tokio: `copy_buf` from a \
         `BufReader` of the chunk size over the input `tokio::fs::File` to the output one. Both \
         go through `tokio::fs`, which runs every read and write on its blocking thread pool and \
         copies through its own buffer. `std::io::copy` between two files uses \
         `copy_file_range` on Linux (the kernel copies; no user-space buffer at all). Throughput \
         is MB/s (10^6 bytes/s) of the copy alone; peak RSS is each child's `ru_maxrss`.\n"
    );
    for (kind, chunk) in kinds.iter().filter(|k| is_pipe(k)).map(|k| (k.kind, k.chunk)) {
        let rows: Vec<(u64, Stats)> = sluicegate_rss
            .iter()
            .filter(|(k, c, ..)| *k == kind && *c == chunk)
            .filter_map(|&(_, _, size, rss)| Some((size, rss?)))
            .collect();
        if let [(a, ra), .., (b, rb)] = rows.as_slice() {
            let _ = writeln!(
                md,
                "sluicegate peak RSS, {} with {} KiB chunks: {} at {}, {} at {} (largest {:.1} vs \
                 {:.1} MiB): {}.\n",
                if kind == "io-sluicegate" {
                    "from_async_read/from_async_write"
                } else {
                    "file_source/file_sink"
                },
                chunk >> 10,
                rss_cell(Some(*ra)),
                label(*a),
                rss_cell(Some(*rb)),
                label(*b),
                ra.max / 1024.0,
                rb.max / 1024.0,
                if (ra.max - rb.max).abs() <= 1024.0 {
                    "does not grow with the input (within 1 MiB)"
                } else {
                    "DIFFERS by more than 1 MiB"
                }
            );
        }
    }
    let _ = writeln!(md, "Command: `{command}`");
    md
}

/// Runs `bytes-files` for every size and returns the Markdown report: one table per size with
/// "direct copy ÷ this", and the direct copy's ratio to `std::io::copy` round by round.
pub fn run_files(sizes: &[u64], rounds: usize, command: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## bytes-files: io::file_source piped straight to io::file_sink, against std::io::copy\n"
    );
    let kinds = files_kinds();
    for &size in sizes {
        let Some(outcomes) = measure_size(&mut md, "bytes-files", &kinds, size, rounds) else {
            continue;
        };
        let mut t = Table::new([
            "contender",
            "median (MB/s)",
            "min–max",
            "direct copy ÷ this",
            "peak RSS",
        ]);
        let direct = outcomes[0].stats().map(|s| s.median);
        for (kind, outcome) in kinds.iter().zip(&outcomes) {
            match outcome.stats() {
                Some(s) => t.row([
                    kind.name.clone(),
                    group(s.median, 0),
                    format!("{}–{}", group(s.min, 0), group(s.max, 0)),
                    direct.map_or("—".to_string(), |d| ratio(d / s.median)),
                    rss_cell(outcome.rss_stats()),
                ]),
                None => t.row([kind.name.clone(), "no runs".to_string()]),
            }
        }
        md.push_str(&t.markdown());
        md.push('\n');
        if let (Outcome::Measured(d), Outcome::Measured(c)) = (&outcomes[0], &outcomes[1]) {
            let per_round: Vec<f64> = d.iter().zip(c).map(|(d, c)| d.value / c.value).collect();
            if let (Some(d), Some(c), Some(r)) =
                (outcomes[0].stats(), outcomes[1].stats(), Stats::of(&per_round))
            {
                let met = match d.median / c.median {
                    x if x >= 0.9 => format!("met, {x:.3}"),
                    x => format!("not met, {x:.3}"),
                };
                let rounds: Vec<String> = per_round.iter().map(|&x| ratio(x)).collect();
                let _ = writeln!(
                    md,
                    "File to file, direct copy ÷ std::io::copy: **{}** (ratio of the medians; \
                     target ≥ 0.9x: {met}); the median of the rounds' own ratios {} (each round \
                     runs both); round by round {}.\n",
                    ratio(d.median / c.median),
                    ratio(r.median),
                    rounds.join(", ")
                );
            }
        }
    }
    let _ = writeln!(
        md,
        "Each contender is a child process on a current-thread tokio runtime (the sluicegate rows) \
         copying the input, which the generation left in the page cache, over an output of the \
         same size written in place after a `sync`: both copies read from memory and leave dirty \
         pages, and neither waits for the disk. The direct copy is `sluicegate::io::file_source` \
         piped with a plain `pipe_to` into `sluicegate::io::file_sink_from`: both ends untouched, \
         so the pipe borrows the two files from the streams' threads and copies them with \
         `std::io::copy` (`copy_file_range`) in 8 MiB slices, let go a few at a time by the \
         pipe's steps. The \
         chunked row pipes the same two streams with `pipe_to_with` and an identity conversion, \
         which keeps every 64 KiB chunk moving through both streams. MB/s is 10^6 bytes/s of the \
         copy alone; peak RSS is each child's `ru_maxrss`.\n"
    );
    let _ = writeln!(md, "Command: `{command}`");
    md
}

/// Rows with "best sluicegate pipe ÷ this": against the faster of the two sluicegate pipes
/// (`from_async_read`/`from_async_write` and `file_source`/`file_sink`) with the same chunk size
/// (for `std::io::copy`, the fastest sluicegate pipe of any chunk size).
fn table(kinds: &[Kind], outcomes: &[Outcome]) -> Table {
    let mut t = Table::new([
        "contender",
        "median (MB/s)",
        "min–max",
        "best sluicegate pipe (same chunk) ÷ this",
        "peak RSS",
    ]);
    let sluicegate = |chunk: usize| {
        kinds
            .iter()
            .zip(outcomes)
            .filter(|(k, _)| is_pipe(k) && (chunk == 0 || k.chunk == chunk))
            .filter_map(|(_, o)| o.stats().map(|s| s.median))
            .reduce(f64::max)
    };
    for (kind, outcome) in kinds.iter().zip(outcomes) {
        let name = &kind.name;
        let reference = sluicegate(kind.chunk);
        match outcome.stats() {
            Some(s) => t.row([
                name.to_string(),
                group(s.median, 0),
                format!("{}–{}", group(s.min, 0), group(s.max, 0)),
                reference.map_or("—".to_string(), |r| ratio(r / s.median)),
                rss_cell(outcome.rss_stats()),
            ]),
            None => t.row([
                name.to_string(),
                match outcome {
                    Outcome::Skipped(r) => r.clone(),
                    Outcome::Measured(_) => "no runs".to_string(),
                },
            ]),
        }
    }
    t
}

/// The `child io-*` entry point: runs one copy and prints the bytes written and MB/s.
pub fn child(kind: &str, input: &Path, output: &Path, chunk: &str) -> Result<(), String> {
    let chunk: usize = chunk.parse().map_err(|_| format!("bad chunk size {chunk:?}"))?;
    let started = Instant::now();
    let copied = match kind {
        "io-sluicegate" => copy_sluicegate(input, output, chunk),
        "io-sluicegate-byob" => copy_sluicegate_byob(input, output, chunk),
        "io-sluicegate-files" => copy_sluicegate_files(input, output, chunk),
        "io-sluicegate-direct" => copy_sluicegate_direct(input, output, chunk),
        "io-tokio-copy-buf" => copy_tokio_copy_buf(input, output, chunk),
        "io-std-copy" => copy_std(input, output, chunk),
        _ => return Err(format!("unknown child {kind}")),
    }
    .map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    println!("bytes {copied}");
    println!("{}", copied as f64 / secs / 1e6);
    Ok(())
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// An `AsyncWrite` that counts the bytes it passes on.
struct Counting<W> {
    inner: W,
    count: Arc<AtomicU64>,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Counting<W> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(n))
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// sluicegate: the input file as a byte stream, piped into a writable stream over the output file.
pub fn copy_sluicegate(input: &Path, output: &Path, chunk: usize) -> io::Result<u64> {
    use sluicegate::{PipeOptions, WritableStream};
    runtime()?.block_on(async {
        let src = tokio::fs::File::open(input).await?;
        let count = Arc::new(AtomicU64::new(0));
        let dst = Counting {
            inner: tokio::fs::File::from_std(open_output(output)?),
            count: count.clone(),
        };
        // A byte stream with no read-ahead: each of the pipe's reads makes one pull, which reads
        // the file into a pooled aligned buffer that is then moved to the pipe.
        let source = sluicegate::ReadableStream::from_async_read_with(src, chunk, 0);
        let sink = WritableStream::from_async_write_with_high_water_mark(dst, sink_hwm(chunk));
        source.pipe_to(&sink, PipeOptions::default()).await?;
        Ok(count.load(Ordering::Relaxed))
    })
}

/// sluicegate's file helpers: `io::file_source` (a blocking thread reading ahead into pooled
/// aligned buffers) piped into `io::file_sink` (a blocking thread writing behind), the sink's
/// high-water mark 4 chunks. The output is opened without truncation, like the other contenders'.
/// The pipe is `pipe_to_with` an identity conversion, which moves every chunk through both
/// streams: a plain `pipe_to` between these two would copy the files directly
/// ([`copy_sluicegate_direct`]).
pub fn copy_sluicegate_files(input: &Path, output: &Path, chunk: usize) -> io::Result<u64> {
    use sluicegate::PipeOptions;
    runtime()?.block_on(async {
        let source = sluicegate::io::file_source(input, chunk).await?;
        let sink = sluicegate::io::file_sink_from(open_output(output)?, sink_hwm(chunk))?;
        source
            .pipe_to_with(&sink, PipeOptions::default(), |chunk: bytes::Bytes| chunk)
            .await?;
        if source.stats().bytes_copied != 0 {
            return Err(io::Error::other("the chunked pipe copied directly"));
        }
        // The pipe resolves only after the sink's close, which waits for every byte to be
        // written; the parent checks the output too.
        Ok(std::fs::metadata(input)?.len())
    })
}

/// sluicegate's file helpers piped with a plain `pipe_to`: both ends untouched, so the pipe copies
/// the two files directly (`copy_file_range`, 8 MiB slices). Fails if it did not.
pub fn copy_sluicegate_direct(input: &Path, output: &Path, chunk: usize) -> io::Result<u64> {
    use sluicegate::PipeOptions;
    runtime()?.block_on(async {
        let source = sluicegate::io::file_source(input, chunk).await?;
        let sink = sluicegate::io::file_sink_from(open_output(output)?, sink_hwm(chunk))?;
        source.pipe_to(&sink, PipeOptions::default()).await?;
        let copied = sink.stats().bytes_copied;
        if copied != std::fs::metadata(input)?.len() {
            return Err(io::Error::other(format!(
                "the pipe copied {copied} bytes directly"
            )));
        }
        Ok(copied)
    })
}

/// sluicegate with a BYOB reader: a loop reading the byte stream into a fresh 4096-aligned
/// `ArrayBuffer` of the chunk size per read (filled by the file in place), each filled view moved
/// as `Bytes` into the writable stream, which shares the readable's host.
pub fn copy_sluicegate_byob(input: &Path, output: &Path, chunk: usize) -> io::Result<u64> {
    use sluicegate::io::AsyncWriteSink;
    use sluicegate::readable::{ArrayBuffer, ByobView};
    use sluicegate::{ByteLengthQueuingStrategy, ReadableStream, WritableStream};
    runtime()?.block_on(async {
        let src = tokio::fs::File::open(input).await?;
        let count = Arc::new(AtomicU64::new(0));
        let dst = Counting {
            inner: tokio::fs::File::from_std(open_output(output)?),
            count: count.clone(),
        };
        let source = ReadableStream::from_async_read_with(src, chunk, 0);
        let sink = WritableStream::with_host(
            AsyncWriteSink::new(dst),
            ByteLengthQueuingStrategy::new(sink_hwm(chunk) as f64),
            source.host().clone(),
        )?;
        let reader = source.get_byob_reader()?;
        let writer = sink.get_writer()?;
        loop {
            let result = reader.read(ByobView::new(ArrayBuffer::aligned(chunk))).await?;
            if result.done {
                break;
            }
            let Some(view) = result.view else { break };
            writer.ready().await?;
            // Its outcome is the stream's: a failure shows in `ready` or `close`.
            drop(writer.write(view.into_bytes()));
        }
        writer.close().await?;
        Ok(count.load(Ordering::Relaxed))
    })
}

/// tokio: `copy_buf` from a `BufReader` of the chunk size over the input to the output.
pub fn copy_tokio_copy_buf(input: &Path, output: &Path, chunk: usize) -> io::Result<u64> {
    use tokio::io::AsyncWriteExt;
    runtime()?.block_on(async {
        let mut src = tokio::io::BufReader::with_capacity(chunk, tokio::fs::File::open(input).await?);
        let mut dst = tokio::fs::File::from_std(open_output(output)?);
        let n = tokio::io::copy_buf(&mut src, &mut dst).await?;
        dst.flush().await?;
        Ok(n)
    })
}

/// `std::io::copy` from one `File` to the other.
pub fn copy_std(input: &Path, output: &Path, _chunk: usize) -> io::Result<u64> {
    std::io::copy(&mut std::fs::File::open(input)?, &mut open_output(output)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contender_copies_exactly() {
        let dir = std::env::temp_dir().join(format!("sluicegate-bench-io-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (input, output) = (dir.join("in"), dir.join("out"));
        let len = 5 * 64 * 1024 + 4321;
        generate(&input, len).unwrap();
        for copy in [
            copy_sluicegate,
            copy_sluicegate_byob,
            copy_sluicegate_files,
            copy_sluicegate_direct,
            copy_tokio_copy_buf,
            copy_std,
        ] {
            let _ = std::fs::remove_file(&output);
            assert_eq!(copy(&input, &output, 10_000).unwrap(), len);
            assert_eq!(std::fs::read(&input).unwrap(), std::fs::read(&output).unwrap());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn options() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(parse(&args("")).unwrap(), (vec![1 << 30, 4 << 30], 5));
        assert_eq!(
            parse(&args("--gib 1 --mib 64 --rounds 2")).unwrap(),
            (vec![1 << 30, 64 << 20], 2)
        );
        assert!(parse(&args("--gib 0")).is_err());
        assert!(parse(&args("--what")).is_err());
    }
}
