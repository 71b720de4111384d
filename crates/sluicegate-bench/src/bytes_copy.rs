//! Scenario `bytes`: copy a generated file through a pass-through stage in 64 KiB chunks to
//! another file, in MB/s, with each contender's peak RSS.
//!
//! Every contender runs as a child process (`sluicegate-bench child bytes-<name> <in> <out>`, or
//! `node bench/node/bytes-pipeline.js <in> <out>`), which times its own copy and prints the bytes
//! it wrote and MB/s; the parent reaps it with `wait4` (through the launcher, see
//! [`crate::proc`]) and records its peak RSS.
//!
//! The output file is created once, at full size, and every run overwrites it in place (opened
//! without truncation), after a `sync` so that no writeback from an earlier run overlaps. On this
//! shared virtual machine a copy into freshly truncated files spends most of its time getting new
//! page-cache pages, and that cost swings 3x from run to run; overwriting measures the pipelines
//! themselves. Before each run the parent stamps a marker over 17 sampled 64 KiB blocks of the
//! output, and after it checks those blocks against the input and the byte count the child
//! reports.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::aligned::{read_full, AlignedBuf};
use crate::node;
use crate::proc::run_self_child;
use crate::report::{Contender, Measurement, RunResult};

/// Chunk size of every contender.
pub const CHUNK: usize = 64 * 1024;
/// High-water mark of each sluicegate stage, in bytes (4 chunks).
pub const STAGE_HWM: usize = 4 * CHUNK;
/// Capacity, in chunks, of the tokio channel.
pub const TOKIO_CAPACITY: usize = 16;

/// Writes `size` bytes of pseudo-random data to `path` (a xorshift block, varied per MiB).
pub fn generate(path: &Path, size: u64) -> std::io::Result<()> {
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for b in block.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
    }
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut written = 0u64;
    let mut mib = 0u64;
    while written < size {
        block[..8].copy_from_slice(&mib.to_le_bytes());
        let n = (size - written).min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        written += n as u64;
        mib += 1;
    }
    out.flush()
}

fn sample_offsets(len: u64) -> impl Iterator<Item = u64> {
    (0..=16u64).map(move |i| (len.saturating_sub(CHUNK as u64)) * i / 16)
}

/// Overwrites the sampled blocks of `output` (those [`verify_copy`] checks) with a marker, so a run
/// that fails to rewrite them is caught.
pub fn stamp(output: &Path, len: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let f = open_output(output)?;
    let marker = vec![0xA5u8; CHUNK];
    for at in sample_offsets(len) {
        let n = (len - at).min(CHUNK as u64) as usize;
        f.write_all_at(&marker[..n], at)?;
    }
    Ok(())
}

/// Checks that `output` holds at least `input`'s size and the same bytes at a spread of sampled
/// offsets.
pub fn verify_copy(input: &Path, output: &Path) -> Result<(), String> {
    let len = std::fs::metadata(input).map_err(|e| e.to_string())?.len();
    let out_len = std::fs::metadata(output)
        .map_err(|e| format!("failed: no output: {e}"))?
        .len();
    if out_len < len {
        return Err(format!("failed: output has {out_len} bytes, input {len}"));
    }
    let (mut a, mut b) = (
        File::open(input).map_err(|e| e.to_string())?,
        File::open(output).map_err(|e| e.to_string())?,
    );
    let (mut x, mut y) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    for at in sample_offsets(len) {
        let n = (len - at).min(CHUNK as u64) as usize;
        for (f, buf) in [(&mut a, &mut x), (&mut b, &mut y)] {
            f.seek(SeekFrom::Start(at)).map_err(|e| e.to_string())?;
            let got = read_full(f, &mut buf[..n]).map_err(|e| e.to_string())?;
            buf.truncate(got);
        }
        if x != y {
            return Err(format!("failed: output differs from input near offset {at}"));
        }
        x.resize(CHUNK, 0);
        y.resize(CHUNK, 0);
    }
    Ok(())
}

/// Reads the next chunk of `file` into a fresh aligned buffer; `None` at the end.
fn next_chunk(file: &mut File) -> std::io::Result<Option<Bytes>> {
    let mut buf = AlignedBuf::new(CHUNK);
    let n = read_full(file, buf.as_mut_slice())?;
    Ok((n > 0).then(|| buf.freeze(n)))
}

/// sluicegate: a `ReadableStream` whose `pull` reads 64 KiB from a `std::fs::File` into `Bytes`,
/// piped through an identity `TransformStream` into a `WritableStream` whose `write` does
/// `write_all` on a `std::fs::File`; every stage `ByteLengthQueuingStrategy(STAGE_HWM)`, driven
/// by `futures::executor::block_on`. Returns the bytes copied.
pub fn copy_sluicegate(input: &Path, output: &Path) -> std::io::Result<u64> {
    use sluicegate::readable::{ReadableStream, SourceFn};
    use sluicegate::transform::{IdentityTransformer, TransformStream};
    use sluicegate::writable::{SinkFn, WritableStream};
    use sluicegate::{ByteLengthQueuingStrategy, Completion, PipeOptions, StreamError};

    let hwm = STAGE_HWM as f64;
    let mut src = File::open(input)?;
    let mut dst = open_output(output)?;
    let source = ReadableStream::with_strategy(
        SourceFn::new().pull(move |c| -> Completion {
            match next_chunk(&mut src) {
                Ok(Some(chunk)) => c.enqueue(chunk).into(),
                Ok(None) => c.close().into(),
                Err(e) => Completion::err(StreamError::user(e.to_string())),
            }
        }),
        ByteLengthQueuingStrategy::new(hwm),
    )?;
    let identity = TransformStream::with_strategies(
        IdentityTransformer,
        ByteLengthQueuingStrategy::new(hwm),
        ByteLengthQueuingStrategy::new(hwm),
    )?;
    let written = Arc::new(AtomicU64::new(0));
    let w = written.clone();
    let sink = WritableStream::with_strategy(
        SinkFn::new().write(move |chunk: Bytes, _| -> Completion {
            w.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            dst.write_all(&chunk)
                .map_err(|e| StreamError::user(e.to_string()))
                .into()
        }),
        ByteLengthQueuingStrategy::new(hwm),
    )?;
    let piped = source.pipe_through(&identity, PipeOptions::default())?;
    // The pipe settles once the sink's close has run, so every write has reached the file.
    futures::executor::block_on(piped.pipe_to(&sink, PipeOptions::default()))?;
    drop(sink);
    Ok(written.load(Ordering::Relaxed))
}

/// tokio, current-thread runtime: a task reading 64 KiB chunks from a `tokio::fs::File` into
/// `Bytes`, `mpsc::channel(16)`, a task doing `write_all` on a `tokio::fs::File`.
pub fn copy_tokio(input: &Path, output: &Path) -> std::io::Result<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (input, output) = (input.to_path_buf(), output.to_path_buf());
    rt.block_on(async move {
        let mut src = tokio::fs::File::open(&input).await?;
        let mut dst = tokio::fs::File::from_std(open_output(&output)?);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(TOKIO_CAPACITY);
        let reader = tokio::spawn(async move {
            loop {
                let mut buf = AlignedBuf::new(CHUNK);
                let slice = buf.as_mut_slice();
                let mut filled = 0;
                while filled < CHUNK {
                    let n = src.read(&mut slice[filled..]).await?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 || tx.send(buf.freeze(filled)).await.is_err() {
                    return Ok::<_, std::io::Error>(());
                }
            }
        });
        let writer = tokio::spawn(async move {
            let mut copied = 0u64;
            while let Some(chunk) = rx.recv().await {
                dst.write_all(&chunk).await?;
                copied += chunk.len() as u64;
            }
            dst.flush().await?;
            Ok::<_, std::io::Error>(copied)
        });
        reader.await.map_err(std::io::Error::other)??;
        writer.await.map_err(std::io::Error::other)?
    })
}

/// `std::io::copy` from one `File` to the other (on Linux, `copy_file_range`: no user-space copy).
pub fn copy_std(input: &Path, output: &Path) -> std::io::Result<u64> {
    let mut src = File::open(input)?;
    let mut dst = open_output(output)?;
    std::io::copy(&mut src, &mut dst)
}

/// The buffer-copy baseline: a `read`/`write_all` loop through one 64 KiB 4096-aligned buffer,
/// the user-space floor any pass-through stage pays (unlike `copy_file_range`).
pub fn copy_buffer(input: &Path, output: &Path) -> std::io::Result<u64> {
    use std::io::Write;
    let mut src = File::open(input)?;
    let mut dst = open_output(output)?;
    let mut buf = AlignedBuf::new(CHUNK);
    let mut copied = 0u64;
    loop {
        let n = read_full(&mut src, buf.as_mut_slice())?;
        if n == 0 {
            return Ok(copied);
        }
        dst.write_all(&buf.as_mut_slice()[..n])?;
        copied += n as u64;
    }
}

/// Opens `path` for writing from the start, creating it if needed but never truncating it.
pub fn open_output(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// The `child bytes-*` entry point: runs one copy and prints MB/s.
pub fn child(kind: &str, input: &Path, output: &Path) -> Result<(), String> {
    let started = Instant::now();
    let copied = match kind {
        "bytes-sluicegate" => copy_sluicegate(input, output),
        "bytes-tokio" => copy_tokio(input, output),
        "bytes-std-copy" => copy_std(input, output),
        "bytes-buffer" => copy_buffer(input, output),
        "bytes-node-model" => crate::node_model::copy(input, output),
        _ => return Err(format!("unknown child {kind}")),
    }
    .map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    println!("bytes {copied}");
    println!("{}", copied as f64 / secs / 1e6);
    Ok(())
}

/// The input and output files and the temporary folder holding them (removed on drop).
pub struct Files {
    dir: PathBuf,
    /// The main input.
    pub input: PathBuf,
    /// The large input for the memory check.
    pub large_input: PathBuf,
    /// Where copies of the main input go.
    pub output: PathBuf,
    /// Where copies of the large input go.
    pub large_output: PathBuf,
}

impl Files {
    /// Creates the folder and generates both inputs.
    pub fn generate(size: u64, large_size: u64) -> std::io::Result<Files> {
        let dir = std::env::temp_dir().join(format!("sluicegate-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let files = Files {
            input: dir.join("input.bin"),
            large_input: dir.join("input-large.bin"),
            output: dir.join("output.bin"),
            large_output: dir.join("output-large.bin"),
            dir,
        };
        eprintln!(
            "[bytes] generating {} and {} MiB inputs and their outputs in {}",
            size >> 20,
            large_size >> 20,
            files.dir.display()
        );
        generate(&files.input, size)?;
        generate(&files.large_input, large_size)?;
        copy_std(&files.input, &files.output)?;
        copy_std(&files.large_input, &files.large_output)?;
        Ok(files)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Untimed preparation before each run: stamp the sampled blocks, then `sync`.
fn prepare(input: &Path, output: &Path) -> Result<(), String> {
    let len = std::fs::metadata(input).map_err(|e| e.to_string())?.len();
    stamp(output, len).map_err(|e| format!("failed: stamping the output: {e}"))?;
    // SAFETY: sync(2) has no preconditions.
    unsafe { libc::sync() };
    Ok(())
}

fn measured(run: crate::proc::ChildRun, input: &Path, output: &Path) -> RunResult {
    let len = std::fs::metadata(input).map_err(|e| e.to_string())?.len();
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
}

pub(crate) fn self_contender<'a>(
    name: String,
    kind: &'static str,
    input: &'a Path,
    output: &'a Path,
) -> Contender<'a> {
    Contender::new(name, move || {
        prepare(input, output)?;
        let run = run_self_child([kind.as_ref(), input.as_os_str(), output.as_os_str()])?;
        measured(run, input, output)
    })
}

/// The contenders: sluicegate on both inputs first, then the anchors on the main input.
pub fn contenders<'a>(files: &'a Files, size_label: &str, large_label: &str) -> Vec<Contender<'a>> {
    let (input, output) = (&files.input, &files.output);
    let (large, large_output) = (&files.large_input, &files.large_output);
    vec![
        self_contender(
            format!("sluicegate, {size_label}"),
            "bytes-sluicegate",
            input,
            output,
        ),
        self_contender(
            format!("sluicegate, {large_label}"),
            "bytes-sluicegate",
            large,
            large_output,
        ),
        self_contender(
            "tokio read → mpsc(16) → write, current-thread".to_string(),
            "bytes-tokio",
            input,
            output,
        ),
        self_contender(
            "std::io::copy (copy_file_range, kernel copy)".to_string(),
            "bytes-std-copy",
            input,
            output,
        ),
        self_contender(
            "read/write loop, one 64 KiB aligned buffer".to_string(),
            "bytes-buffer",
            input,
            output,
        ),
        Contender::new("Node stream.pipeline with a PassThrough", move || {
            prepare(input, output)?;
            let args = [input.display().to_string(), output.display().to_string()];
            let run = node::run_script("bytes-pipeline.js", &[], &args)?;
            measured(run, input, output)
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rust_copy_is_exact() {
        let dir = std::env::temp_dir().join(format!("sluicegate-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (input, output) = (dir.join("in"), dir.join("out"));
        generate(&input, 3 * CHUNK as u64 + 123).unwrap();
        let len = 3 * CHUNK as u64 + 123;
        for copy in [copy_sluicegate, copy_tokio, copy_std, copy_buffer] {
            let _ = std::fs::remove_file(&output);
            assert_eq!(copy(&input, &output).unwrap(), len);
            verify_copy(&input, &output).unwrap();
            assert_eq!(std::fs::read(&input).unwrap(), std::fs::read(&output).unwrap());
            stamp(&output, len).unwrap();
            assert!(verify_copy(&input, &output).is_err());
            assert_eq!(copy(&input, &output).unwrap(), len);
            assert_eq!(std::fs::read(&input).unwrap(), std::fs::read(&output).unwrap());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
