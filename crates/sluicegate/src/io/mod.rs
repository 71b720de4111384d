//! I/O bridges (feature `tokio`): tokio's `AsyncRead` and `AsyncWrite` as byte streams and back,
//! files, sockets and stdio.
//!
//! | from | to | how |
//! |---|---|---|
//! | any `AsyncRead` | readable byte stream | [`ReadableStream::from_async_read`], [`AsyncReadSource`] |
//! | any `AsyncWrite` | `WritableStream<Bytes>` | [`WritableStream::from_async_write`], [`AsyncWriteSink`] |
//! | `WritableStream<Bytes>` | `AsyncWrite` | [`WritableStream::into_async_write`], [`WritableAsyncWrite`] |
//! | `ReadableStream<Bytes>` | `AsyncRead` | [`ReadableStream::into_async_read`], [`ReadableAsyncRead`] |
//! | a file | readable byte stream | [`file_source`] |
//! | a file | `WritableStream<Bytes>` | [`file_sink`] |
//! | a TCP connection | `{readable, writable}` ([`Connection`]) | [`tcp::connect`], [`tcp::listen`] |
//! | a Unix socket connection | `{readable, writable}` ([`Connection`]) | [`unix::connect`], [`unix::listen`] |
//! | standard input | readable byte stream | [`stdin`] |
//! | standard output, error | `WritableStream<Bytes>` | [`stdout`], [`stderr`] ([`is_broken_pipe`]) |
//!
//! Units stay bytes end to end: every stream made here measures its queue with a byte-length
//! strategy whose high-water mark is in bytes ([`DEFAULT_HIGH_WATER_MARK`] unless chosen), so
//! memory is bounded by bytes, never by a count of chunks of unknown size.
//!
//! Errors cross the bridge without losing anything: an `io::Error` becomes a
//! [`StreamError`](crate::StreamError) of kind `User` whose reason is the `io::Error` itself, and a
//! stream error becomes an `io::Error` of the same `io::ErrorKind` that wraps the stream error (see
//! the conversions on [`StreamError`](crate::StreamError)).
//!
//! The bridges need no runtime of their own: like every sluicegate future, they make progress
//! while polled. The file helpers use `tokio::fs` and its blocking pool, and sockets tokio's
//! reactor: they need a tokio runtime. Stdio runs on threads of its own and needs none.
//!
//! [`WritableStream::from_async_write`]: crate::WritableStream::from_async_write
//! [`WritableStream::into_async_write`]: crate::WritableStream::into_async_write
//! [`ReadableStream::into_async_read`]: crate::ReadableStream::into_async_read
//! [`ReadableStream::from_async_read`]: crate::ReadableStream::from_async_read

mod async_read_source;
mod async_write_sink;
mod connection;
mod direct;
mod file;
mod pool;
mod readable_async_read;
mod stdio;
pub mod tcp;
mod threaded;
#[cfg(unix)]
pub mod unix;
mod writable_async_write;

pub use async_read_source::AsyncReadSource;
pub use async_write_sink::AsyncWriteSink;
pub use connection::{Connection, ConnectionOptions};
pub use file::{
    file_sink, file_sink_from, file_sink_with_high_water_mark, file_source, file_source_from, READ_AHEAD,
};
pub use readable_async_read::ReadableAsyncRead;
pub use stdio::{is_broken_pipe, stderr, stdin, stdin_with_chunk_size, stdout, stdout_with_high_water_mark};
pub use writable_async_write::WritableAsyncWrite;

/// The high-water mark, in bytes, of the streams this module makes unless told otherwise: 64 KiB.
pub const DEFAULT_HIGH_WATER_MARK: usize = 64 * 1024;

/// The size, in bytes, of the buffers a byte source made here reads into when it allocates them
/// itself: 64 KiB.
pub const DEFAULT_CHUNK_SIZE: usize = 64 * 1024;
