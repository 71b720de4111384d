//! The process's standard input as a readable byte stream, its standard output and error as
//! writable ones.
//!
//! Each is served by one plain thread of its own (not tokio's blocking pool), so they need no
//! runtime, and a read of stdin that nothing will ever answer — it cannot be interrupted — keeps
//! no runtime from shutting down and no process from exiting.
//!
//! A closed stdout (the reader of a pipe went away, as `| head -c 10` does) is a clean, typed
//! end: the write fails, the stream errors with an `io::Error` of kind `BrokenPipe` as its reason
//! ([`is_broken_pipe`] tells), and a pipe into it stops and cancels its source. Nothing panics,
//! and no `SIGPIPE` kills the process: Rust programs ignore that signal from the start, so a
//! write to a closed pipe returns `EPIPE` instead.
//!
//! ```no_run
//! use sluicegate::{io, PipeOptions};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // `cat`, with bounded memory.
//! let piped = io::stdin().pipe_to(&io::stdout(), PipeOptions::default()).await;
//! match piped {
//!     Ok(()) => {}
//!     Err(e) if io::is_broken_pipe(&e) => {} // the reader of our output is gone: a clean end
//!     Err(e) => {
//!         eprintln!("cat: {e}");
//!         std::process::exit(1);
//!     }
//! }
//! # });
//! ```

use std::io;

use bytes::Bytes;

use crate::error::StreamError;
use crate::host::Completion;
use crate::readable::ReadableStream;
use crate::writable::{SinkFn, WritableStream};

use super::threaded::{thread_sink, thread_source, Fill, Spawn};
use super::{DEFAULT_CHUNK_SIZE, DEFAULT_HIGH_WATER_MARK};

/// How many chunks [`stdin`] reads ahead of its reader.
const STDIN_READ_AHEAD: usize = 2;

/// Standard input as a readable byte stream, read up to 64 KiB at a time; each chunk is what one
/// read returned (bytes flow as they arrive, a line at a time from a terminal), in a 4096-aligned
/// pooled buffer moved to the reader. Nothing is read before the first read; from then on a
/// thread stays up to two chunks ahead. Cancelling the stream stops that thread after its current
/// read.
///
/// It reads through `std::io::stdin()`, so bytes that other code read from it first are not seen
/// again; make one such stream per process (two would share the input between them).
pub fn stdin() -> ReadableStream<Bytes> {
    stdin_with_chunk_size(DEFAULT_CHUNK_SIZE)
}

/// Like [`stdin`], reading at most `chunk_size` bytes at a time (at least 1).
pub fn stdin_with_chunk_size(chunk_size: usize) -> ReadableStream<Bytes> {
    thread_source(
        io::stdin(),
        chunk_size,
        STDIN_READ_AHEAD,
        STDIN_READ_AHEAD + 2,
        Fill::Once,
        Spawn::Thread("sluicegate-stdin"),
    )
    .map(|(stream, _)| stream)
    .expect("a stream whose thread starts at the first pull cannot fail to be made")
}

/// Standard output as a writable byte stream with a high-water mark of 64 KiB. See
/// [`stdout_with_high_water_mark`].
pub fn stdout() -> WritableStream<Bytes> {
    stdout_with_high_water_mark(DEFAULT_HIGH_WATER_MARK)
}

/// Standard output as a writable byte stream with a high-water mark of `high_water_mark` bytes.
///
/// A thread writes the chunks, moved to it, through `std::io::stdout()` (so they stay in order
/// with what `print!` wrote before them); a write is done once handed over while less than the
/// high-water mark is waiting there. `close` flushes and resolves once every byte is written; it
/// does not close the process's stdout, which other code may still use. A failed write (a closed
/// pipe: [`is_broken_pipe`]) errors the stream at the next write or at close.
/// The thread starts at the first write (or close); if the operating system refuses it, that
/// write fails, and the stream errors, with that `io::Error`.
pub fn stdout_with_high_water_mark(high_water_mark: usize) -> WritableStream<Bytes> {
    thread_sink(io::stdout(), high_water_mark, Spawn::Thread("sluicegate-stdout"))
        .map(|(stream, _)| stream)
        .unwrap_or_else(errored)
}

/// Standard error as a writable byte stream with a high-water mark of 64 KiB, written like
/// [`stdout`] (through `std::io::stderr()`, unbuffered).
pub fn stderr() -> WritableStream<Bytes> {
    thread_sink(
        io::stderr(),
        DEFAULT_HIGH_WATER_MARK,
        Spawn::Thread("sluicegate-stderr"),
    )
    .map(|(stream, _)| stream)
    .unwrap_or_else(errored)
}

/// A writable stream errored with `e` (its start fails), for an output that could not be set up.
fn errored(e: io::Error) -> WritableStream<Bytes> {
    let e = StreamError::from(e);
    WritableStream::new(SinkFn::new().start(move |_| {
        let e = e.clone();
        Completion::future(async move { Err(e) })
    }))
    .expect("a start that fails later does not fail the constructor")
}

/// Whether `e` is a write to a pipe or socket whose reader has gone (`io::ErrorKind::BrokenPipe`):
/// for a program writing to stdout, the clean end of `| head`.
///
/// ```
/// use sluicegate::{io, StreamError};
///
/// let gone = StreamError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
/// assert!(io::is_broken_pipe(&gone));
/// assert!(!io::is_broken_pipe(&StreamError::user("disk full")));
/// ```
pub fn is_broken_pipe(e: &StreamError) -> bool {
    e.reason::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
