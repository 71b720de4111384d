//! A `ReadableStream<Bytes>` as an `AsyncRead` and `AsyncBufRead`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

use crate::error::StreamError;
use crate::promise::Promised;
use crate::readable::{ReadFuture, ReadableStream, ReadableStreamDefaultReader};

/// A [`ReadableStream<Bytes>`] as a tokio `AsyncRead` (and `AsyncBufRead`), holding the stream's
/// reader.
///
/// A chunk larger than the caller's buffer is not lost: the rest is kept and handed out by the
/// next reads. Through `AsyncBufRead` (`tokio::io::copy_buf`, `read_line`, ...) the chunks are
/// lent as they are, with no copy. Empty chunks are skipped; the end of the stream is end of file;
/// the stream's error is an `io::Error` (of the same `io::ErrorKind` when the stream was errored
/// with an `io::Error`, see the conversions on [`StreamError`]).
///
/// It reads with a default reader, also from a byte stream. A BYOB reader cannot fill the caller's
/// `ReadBuf` in place: a read that has to wait completes after `poll_read` has returned, when the
/// `ReadBuf` is no longer lent to us, so the stream would need a buffer of its own and the bytes
/// would be copied once anyway, exactly as they are from a default reader's chunk. The copy-free
/// path is `AsyncBufRead`, which lends the stream's chunks (for a byte stream from
/// [`ReadableStream::from_async_read`], the buffers the source read into).
///
/// Dropping it releases the reader's lock (a read in flight fails with a `TypeError`, so no chunk
/// is taken from the stream and lost); [`cancel`](Self::cancel) cancels the stream instead.
///
/// ```
/// use bytes::Bytes;
/// use sluicegate::ReadableStream;
/// use tokio::io::AsyncReadExt;
///
/// # futures::executor::block_on(async {
/// let stream = ReadableStream::from_iter([Bytes::from_static(b"hello, "), Bytes::from_static(b"world")]);
/// let mut input = stream.into_async_read().unwrap();
/// let mut text = String::new();
/// input.read_to_string(&mut text).await.unwrap();
/// assert_eq!(text, "hello, world");
/// # });
/// ```
pub struct ReadableAsyncRead {
    reader: ReadableStreamDefaultReader<Bytes>,
    /// What is left of the last chunk.
    leftover: Bytes,
    /// The read in flight.
    pending: Option<ReadFuture<Bytes>>,
    /// The stream has closed.
    done: bool,
}

impl ReadableStream<Bytes> {
    /// Locks the stream to a reader and wraps it as an `AsyncRead` (see [`ReadableAsyncRead`]).
    /// A `TypeError` if the stream is already locked.
    pub fn into_async_read(&self) -> Result<ReadableAsyncRead, StreamError> {
        Ok(ReadableAsyncRead {
            reader: self.get_reader()?,
            leftover: Bytes::new(),
            pending: None,
            done: false,
        })
    }
}

impl ReadableAsyncRead {
    /// The reader behind this `AsyncRead`.
    pub fn reader(&self) -> &ReadableStreamDefaultReader<Bytes> {
        &self.reader
    }

    /// Cancels the stream with `reason` (the source's `cancel` runs), dropping any bytes kept from
    /// the last chunk; later reads see end of file.
    pub fn cancel(&mut self, reason: StreamError) -> Promised<()> {
        self.leftover = Bytes::new();
        self.pending = None;
        self.done = true;
        self.reader.cancel(reason)
    }

    /// Makes `leftover` non-empty, or sets `done`.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.leftover.is_empty() && !self.done {
            let read = self.pending.get_or_insert_with(|| self.reader.read());
            let result = ready!(Pin::new(read).poll(cx));
            self.pending = None;
            match result {
                Ok(Some(chunk)) => self.leftover = chunk,
                Ok(None) => self.done = true,
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ReadableAsyncRead {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        ready!(this.poll_fill(cx))?;
        let n = buf.remaining().min(this.leftover.len());
        buf.put_slice(&this.leftover[..n]);
        this.leftover.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for ReadableAsyncRead {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        ready!(this.poll_fill(cx))?;
        Poll::Ready(Ok(&this.leftover))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.leftover.advance(amt.min(this.leftover.len()));
    }
}
