//! Files as byte streams, each served by one blocking thread that reads ahead or writes behind.
//!
//! `tokio::fs::File` runs every read and write as a separate job on tokio's blocking pool and
//! copies through its own buffer; at 64 KiB per chunk those round trips cost more than the copy.
//! These helpers run one long blocking job per file instead: the source's job reads ahead into
//! pooled 4096-aligned buffers, the sink's job writes chunks as they are handed over, with no
//! copy, so reading, the pipe and writing overlap on their own threads. Copying a 1 GiB file with
//! 64 KiB chunks (`sluicegate-bench -- bytes-io`, one run): 3.7 GB/s through these helpers, 1.7
//! GB/s through `from_async_read`/`from_async_write` over `tokio::fs::File`. Memory stays
//! bounded in bytes: the source reads ahead at most [`READ_AHEAD`] chunks, the sink holds at most
//! its high-water mark in bytes in hand-over (besides the stream's own queue).
//!
//! A job starts when its stream is first used (the source's at its first pull, the sink's at its
//! first write, close or abort), so a stream made and never used holds no thread and closes its
//! file when dropped; and a runtime, which waits for its blocking jobs when it shuts down, is
//! never held up by the job of a stream nobody used (a pipe dropped before its first poll, say).
//!
//! A [`file_source`] piped straight to a [`file_sink`] (`pipe_to` with both untouched: nothing
//! read from the source, nothing written to the sink) is copied between the two files directly,
//! with `std::io::copy` (`copy_file_range` on Linux: the kernel copies, no chunk is made), in
//! slices of 8 MiB, let go a few at a time by steps of the pipe (the copy runs at most four slices ahead of them). Nothing in the streams' behaviour tells
//! the difference: the pipe closes the sink (unless `prevent_close`), an abort signal stops the
//! copy after the slice in flight, a read or write error reaches the streams and the pipe as a
//! chunk's would, and the streams stay usable where the pipe's options leave them so. Only the
//! statistics show it ([`StreamStats::bytes_copied`](crate::StreamStats::bytes_copied)). A
//! transform in between, a conversion (`pipe_to_with`), or a read or write before the pipe
//! keeps the chunks moving as usual.

use std::io;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::pipe::direct::{offer_direct_sink, offer_direct_source};
use crate::readable::ReadableStream;
use crate::writable::WritableStream;

use super::direct::{FileSink, FileSource};
use super::threaded::{thread_sink, thread_source, Fill, Spawn};
use super::DEFAULT_HIGH_WATER_MARK;

/// How many chunks a [`file_source`] reads ahead of its reader.
pub const READ_AHEAD: usize = 4;

/// How many returned buffers a [`file_source`]'s pool may keep. The pool never holds more than
/// were in use at once, so this caps nothing in a steady copy; it only has to be large enough
/// that the buffers circulating between the reading thread, the streams and a writer are all
/// reused: with fewer, every chunk was freed and allocated again across threads, and a 64 KiB
/// copy peaked at 14 MiB instead of 6.
const POOL_KEEP: usize = 64;

/// A readable byte stream of the file at `path`, read `chunk_size` bytes at a time (at least 1)
/// by a blocking thread that stays up to [`READ_AHEAD`] chunks ahead, into 4096-byte-aligned
/// pooled buffers that are moved to the reader as `Bytes`. A BYOB reader gets the bytes copied
/// from those chunks (the standard's path for queued data); to have a file fill BYOB buffers in
/// place, use [`ReadableStream::from_async_read`] over a `tokio::fs::File`. Cancelling the stream
/// stops the thread and closes the file. Needs a tokio runtime (for the blocking thread): polled
/// outside one, it fails with an `io::Error` saying so (it never panics inside tokio). Piped
/// straight to a [`file_sink`], it is copied directly between the files (see the module's
/// documentation).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let path = std::env::temp_dir().join(format!("sluicegate-doc-file-source-{}", std::process::id()));
/// std::fs::write(&path, b"hello, file").unwrap();
/// let source = sluicegate::io::file_source(&path, 64 * 1024).await.unwrap();
/// let reader = source.get_reader().unwrap();
/// let chunk = reader.read().await.unwrap().unwrap();
/// assert_eq!(&chunk[..], b"hello, file");
/// assert_eq!(chunk.as_ptr() as usize % 4096, 0, "an aligned buffer, moved to the reader");
/// assert!(reader.read().await.unwrap().is_none());
/// # std::fs::remove_file(&path).unwrap();
/// # });
/// ```
pub async fn file_source(path: impl AsRef<Path>, chunk_size: usize) -> io::Result<ReadableStream<Bytes>> {
    // Checked first: `tokio::fs` panics outside a runtime.
    runtime()?;
    let file = tokio::fs::File::open(path).await?.into_std().await;
    file_source_from(file, chunk_size)
}

/// Like [`file_source`], over a file already open (read from its current position). Must be
/// called inside a tokio runtime, which runs the reading thread; outside one it fails.
pub fn file_source_from(file: std::fs::File, chunk_size: usize) -> io::Result<ReadableStream<Bytes>> {
    let runtime = runtime()?;
    let (stream, share) = thread_source(
        file,
        chunk_size,
        READ_AHEAD,
        POOL_KEEP,
        Fill::Full,
        Spawn::Runtime(runtime.clone()),
    )?;
    offer_direct_source(&stream, Arc::new(FileSource { share, runtime }));
    Ok(stream)
}

/// The current tokio runtime, or an error saying one is needed.
fn runtime() -> io::Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current()
        .map_err(|_| io::Error::other("sluicegate::io file streams need a tokio runtime"))
}

/// A writable stream of bytes into a new file at `path` (created, or truncated if it exists),
/// with a byte-length strategy of [`DEFAULT_HIGH_WATER_MARK`] bytes. See
/// [`file_sink_with_high_water_mark`].
///
/// ```
/// use bytes::Bytes;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let path = std::env::temp_dir().join(format!("sluicegate-doc-file-sink-{}", std::process::id()));
/// let sink = sluicegate::io::file_sink(&path).await.unwrap();
/// let writer = sink.get_writer().unwrap();
/// writer.write(Bytes::from_static(b"hello")).await.unwrap();
/// writer.close().await.unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// # std::fs::remove_file(&path).unwrap();
/// # });
/// ```
pub async fn file_sink(path: impl AsRef<Path>) -> io::Result<WritableStream<Bytes>> {
    file_sink_with_high_water_mark(path, DEFAULT_HIGH_WATER_MARK).await
}

/// Like [`file_sink`], with a high-water mark of `high_water_mark` bytes.
///
/// A blocking thread writes the chunks, moved to it with no copy. A write counts as done once the
/// chunk is handed to that thread while less than `high_water_mark` bytes are in its hands
/// (otherwise once enough is written), so at most the high-water mark in bytes waits there,
/// beside the stream's own queue. A write error stops the thread and errors the stream (at the
/// next write or at close) with the `io::Error` as its reason; `close` resolves once every byte is
/// written; `abort` drops the chunks still queued in the stream and resolves once those already
/// handed over (whose writes were reported done) are written and the file is closed. Needs a
/// tokio runtime: polled outside one, it fails with an `io::Error` saying so. A [`file_source`]
/// piped straight into it is copied directly between the files (see the module's
/// documentation).
pub async fn file_sink_with_high_water_mark(
    path: impl AsRef<Path>,
    high_water_mark: usize,
) -> io::Result<WritableStream<Bytes>> {
    // Checked first: `tokio::fs` panics outside a runtime.
    runtime()?;
    let file = tokio::fs::File::create(path).await?.into_std().await;
    file_sink_from(file, high_water_mark)
}

/// Like [`file_sink_with_high_water_mark`], over a file already open for writing (written from
/// its current position: open it in append mode, or without truncating, as you need). Must be
/// called inside a tokio runtime, which runs the writing thread; outside one it fails.
pub fn file_sink_from(file: std::fs::File, high_water_mark: usize) -> io::Result<WritableStream<Bytes>> {
    let (stream, share) = thread_sink(file, high_water_mark, Spawn::Runtime(runtime()?))?;
    offer_direct_sink(&stream, Arc::new(FileSink { share }));
    Ok(stream)
}
