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

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::error::StreamError;
use crate::host::Completion;
use crate::readable::{ByteSourceFn, ReadableStream};
use crate::strategy::ByteLengthQueuingStrategy;
use crate::writable::{SinkFn, WritableStream};

use super::pool::Pool;
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
/// outside one, it fails with an `io::Error` saying so (it never panics inside tokio).
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
pub fn file_source_from(mut file: std::fs::File, chunk_size: usize) -> io::Result<ReadableStream<Bytes>> {
    let runtime = runtime()?;
    let pool = Pool::new(chunk_size.max(1), POOL_KEEP);
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(READ_AHEAD);
    runtime.spawn_blocking(move || loop {
        let mut buffer = pool.get();
        let read = read_full(&mut file, buffer.as_mut_slice());
        let item = match read {
            Ok(0) => return,
            Ok(n) => {
                // SAFETY: `read_full` returns at most the slice's length.
                unsafe { buffer.set_len(n) };
                Ok(buffer.freeze())
            }
            Err(e) => Err(e),
        };
        let failed = item.is_err();
        // Fails once the stream is cancelled or dropped (the receiver is gone): stop reading.
        if tx.blocking_send(item).is_err() || failed {
            return;
        }
    });
    let rx = Arc::new(Mutex::new(Some(rx)));
    let cancel_rx = rx.clone();
    let source = ByteSourceFn::new()
        .pull(move |c| {
            let Some(mut receiver) = rx.lock().take() else {
                return Completion::err(StreamError::type_error("the file has been closed"));
            };
            // A chunk already read ahead is enqueued at once, with no future and no wake-up.
            match receiver.try_recv() {
                Ok(item) => {
                    *rx.lock() = Some(receiver);
                    return deliver(c, Some(item)).into();
                }
                Err(mpsc::error::TryRecvError::Disconnected) => return close(c).into(),
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            let (c, rx) = (c.clone(), rx.clone());
            Completion::future(async move {
                let item = receiver.recv().await;
                *rx.lock() = Some(receiver);
                deliver(&c, item)
            })
        })
        .cancel(move |_| {
            // Dropping the receiver stops the reading thread at its next chunk.
            drop(cancel_rx.lock().take());
        });
    ReadableStream::new_bytes(source).map_err(io::Error::from)
}

fn deliver(
    c: &crate::readable::ReadableByteStreamController,
    item: Option<io::Result<Bytes>>,
) -> Result<(), StreamError> {
    match item {
        Some(Ok(chunk)) => c.enqueue(chunk),
        Some(Err(e)) => Err(e.into()),
        None => close(c),
    }
}

/// Closes the stream at the end of the file; a BYOB read waiting then completes, done, with its
/// buffer (the standard's `close()` followed by `byobRequest.respond(0)`).
fn close(c: &crate::readable::ReadableByteStreamController) -> Result<(), StreamError> {
    c.close()?;
    match c.byob_request() {
        Some(request) => request.respond(0),
        None => Ok(()),
    }
}

/// The current tokio runtime, or an error saying one is needed.
fn runtime() -> io::Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current()
        .map_err(|_| io::Error::other("sluicegate::io file streams need a tokio runtime"))
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
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

/// What the sink's writing thread shares with the stream.
struct Behind {
    /// Bytes handed to the thread and not yet written.
    in_hand: AtomicUsize,
    /// Notified whenever the thread has written a chunk.
    written: Notify,
    /// The first write error, once the thread has stopped on it.
    error: Mutex<Option<StreamError>>,
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
/// tokio runtime: polled outside one, it fails with an `io::Error` saying so.
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
pub fn file_sink_from(mut file: std::fs::File, high_water_mark: usize) -> io::Result<WritableStream<Bytes>> {
    let runtime = runtime()?;
    let budget = high_water_mark.max(1);
    let behind = Arc::new(Behind {
        in_hand: AtomicUsize::new(0),
        written: Notify::new(),
        error: Mutex::new(None),
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let b = behind.clone();
    runtime.spawn_blocking(move || {
        while let Some(chunk) = rx.blocking_recv() {
            if let Err(e) = file.write_all(&chunk) {
                *b.error.lock() = Some(e.into());
                b.written.notify_waiters();
                break;
            }
            b.in_hand.fetch_sub(chunk.len(), Ordering::AcqRel);
            b.written.notify_waiters();
        }
        drop(file);
        let _ = done_tx.send(());
    });
    let tx = Arc::new(Mutex::new(Some(tx)));
    let (close_tx, abort_tx) = (tx.clone(), tx.clone());
    let done_rx = Arc::new(Mutex::new(Some(done_rx)));
    let abort_done = done_rx.clone();
    let (b_write, b_close) = (behind.clone(), behind);
    let sink = SinkFn::new()
        .write(move |chunk: Bytes, _| -> Completion {
            if let Some(e) = b_write.error.lock().clone() {
                return Completion::err(e);
            }
            let len = chunk.len();
            let before = b_write.in_hand.fetch_add(len, Ordering::AcqRel);
            let sent = tx.lock().as_ref().map(|tx| tx.send(chunk).is_ok());
            if sent != Some(true) {
                return Completion::err(StreamError::type_error("the file has been closed"));
            }
            if before + len <= budget || before == 0 {
                return Completion::ok();
            }
            // Over the budget: done once the thread has caught up to it.
            let b = b_write.clone();
            Completion::future(async move {
                loop {
                    let notified = b.written.notified();
                    if let Some(e) = b.error.lock().clone() {
                        return Err(e);
                    }
                    if b.in_hand.load(Ordering::Acquire) <= budget {
                        return Ok(());
                    }
                    notified.await;
                }
            })
        })
        .close(move || -> Completion {
            drop(close_tx.lock().take());
            let done = done_rx.lock().take();
            let b = b_close.clone();
            Completion::future(async move {
                if let Some(done) = done {
                    let _ = done.await;
                }
                match b.error.lock().clone() {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            })
        })
        .abort(move |_| -> Completion {
            // Chunks still queued in the stream are dropped by the stream; those already handed
            // over were reported written, so the thread writes them, then closes the file.
            drop(abort_tx.lock().take());
            let done = abort_done.lock().take();
            Completion::future(async move {
                if let Some(done) = done {
                    let _ = done.await;
                }
                Ok(())
            })
        });
    WritableStream::with_strategy(sink, ByteLengthQueuingStrategy::new(high_water_mark as f64))
        .map_err(io::Error::from)
}
