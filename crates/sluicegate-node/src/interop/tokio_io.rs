//! tokio's `AsyncRead`/`AsyncWrite` and byte-mode Node streams, both ways (feature `tokio`).
//!
//! The adapters make progress while polled, like every future of this crate: they run the
//! stream's event loop themselves, so they need no runtime of their own (the reader or writer
//! they wrap may, e.g. a `tokio::fs::File` needs tokio's blocking pool).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{FutureExt, StreamExt};
use parking_lot::Mutex;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::completion::Completion;
use crate::error::Error;
use crate::implementor::WriteImpl;
use crate::readable::{Chunks, Readable, ReadableOptions, DEFAULT_BYTES_HWM};
use crate::writable::{Settled, Writable, WritableOptions, Written};

/// A byte-mode [`Readable`] as `AsyncRead` + `AsyncBufRead` ([`Readable::into_async_read`]).
/// Dropping it before the end destroys the readable, as breaking out of async iteration does.
pub struct NodeAsyncRead {
    chunks: Chunks<Bytes>,
    buf: Bytes,
    done: bool,
}

impl Readable<Bytes> {
    /// This readable as tokio's `AsyncRead` (and `AsyncBufRead`): reads take the readable's
    /// chunks in order; the end of the stream is the end of the reader; its error is an
    /// `io::Error` (of the original `io::ErrorKind` when it came from I/O).
    pub fn into_async_read(&self) -> NodeAsyncRead {
        NodeAsyncRead {
            chunks: self.iter(),
            buf: Bytes::new(),
            done: false,
        }
    }

    /// A byte-mode readable over `reader`, in chunks of up to 64 KiB (`fs.createReadStream`
    /// for any `AsyncRead`).
    pub fn from_async_read<R>(reader: R) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        Self::from_async_read_with(reader, DEFAULT_BYTES_HWM, ReadableOptions::bytes())
    }

    /// [`Readable::from_async_read`] with a chunk size and options.
    pub fn from_async_read_with<R>(reader: R, chunk_size: usize, options: ReadableOptions<Bytes>) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let chunk_size = chunk_size.max(1);
        let chunks = futures_util::stream::unfold(Some(reader), move |reader| async move {
            let mut r = reader?;
            let mut buf = BytesMut::with_capacity(chunk_size);
            match r.read_buf(&mut buf).await {
                Ok(0) => None,
                Ok(_) => Some((Ok(buf.freeze()), Some(r))),
                Err(e) => Some((Err(Error::from(e)), None)),
            }
        });
        Readable::from_try_stream_with(chunks, options)
    }
}

impl NodeAsyncRead {
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.buf.is_empty() && !self.done {
            match ready!(self.chunks.poll_next_unpin(cx)) {
                Some(Ok(b)) => self.buf = b,
                Some(Err(e)) => {
                    self.done = true;
                    return Poll::Ready(Err(e.into()));
                }
                None => self.done = true,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for NodeAsyncRead {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_fill(cx))?;
        let n = self.buf.len().min(out.remaining());
        out.put_slice(&self.buf[..n]);
        self.buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for NodeAsyncRead {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        ready!(this.poll_fill(cx))?;
        Poll::Ready(Ok(&this.buf[..]))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        let n = amt.min(self.buf.len());
        self.buf.advance(n);
    }
}

/// A byte-mode [`Writable`] as tokio's `AsyncWrite` ([`Writable::into_async_write`]).
///
/// `poll_write` copies the bytes into a chunk and writes it; once `write()` returns `false` the
/// next `poll_write` waits for `'drain'`, so memory stays bounded by the high-water mark.
/// `poll_flush` waits until every write so far is done, `poll_shutdown` ends the stream and
/// waits for `'finish'`.
pub struct NodeAsyncWrite {
    w: Writable<Bytes>,
    drain: Option<Settled>,
    last: Option<Written>,
    end: Option<Settled>,
}

impl Writable<Bytes> {
    /// This writable as tokio's `AsyncWrite`.
    pub fn into_async_write(&self) -> NodeAsyncWrite {
        NodeAsyncWrite {
            w: self.clone(),
            drain: None,
            last: None,
            end: None,
        }
    }

    /// A byte-mode writable over `writer` (`fs.createWriteStream` for any `AsyncWrite`):
    /// `_write` is `write_all`, `_writev` writes a corked batch in one call, `_final` flushes
    /// and shuts the writer down.
    pub fn from_async_write<W>(writer: W) -> Self
    where
        W: AsyncWrite + Send + Unpin + 'static,
    {
        Self::from_async_write_with(writer, WritableOptions::bytes())
    }

    /// [`Writable::from_async_write`] with options.
    pub fn from_async_write_with<W>(writer: W, options: WritableOptions<Bytes>) -> Self
    where
        W: AsyncWrite + Send + Unpin + 'static,
    {
        Writable::with_options(
            AsyncWriteSink {
                writer: Arc::new(Mutex::new(Some(writer))),
            },
            options,
        )
    }
}

fn closed_error(w: &Writable<Bytes>) -> io::Error {
    match w.errored() {
        Some(e) => e.into(),
        None => io::Error::new(
            io::ErrorKind::BrokenPipe,
            "the writable stream is ended or destroyed",
        ),
    }
}

impl AsyncWrite for NodeAsyncWrite {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(d) = self.drain.as_mut() {
            let r = ready!(d.poll_unpin(cx));
            self.drain = None;
            r?;
        }
        if !self.w.writable() {
            return Poll::Ready(Err(closed_error(&self.w)));
        }
        let written = self.w.write_async(Bytes::copy_from_slice(buf));
        if !written.accepted() {
            self.drain = Some(self.w.drain());
        }
        self.last = Some(written);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(last) = self.last.as_mut() {
            let r = ready!(last.poll_unpin(cx));
            self.last = None;
            r?;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.end.is_none() {
            let end = self.w.end_async();
            self.end = Some(end);
        }
        let r = ready!(self.end.as_mut().expect("set above").poll_unpin(cx));
        Poll::Ready(r.map_err(Into::into))
    }
}

/// The implementor of [`Writable::from_async_write`]: the writer is lent to one write at a
/// time (Node never runs two `_write`s at once).
struct AsyncWriteSink<W> {
    writer: Arc<Mutex<Option<W>>>,
}

fn busy() -> Error {
    Error::user(io::Error::other("the writer is already in use"))
}

impl<W: AsyncWrite + Send + Unpin + 'static> WriteImpl<Bytes> for AsyncWriteSink<W> {
    fn write(&mut self, chunk: Bytes) -> Completion {
        let Some(mut w) = self.writer.lock().take() else {
            return Completion::err(busy());
        };
        let slot = self.writer.clone();
        Completion::future(async move {
            let r = w.write_all(&chunk).await;
            *slot.lock() = Some(w);
            r.map_err(Error::from)
        })
    }

    fn writev(&mut self, chunks: &mut Vec<Bytes>) -> Option<Completion> {
        let Some(mut w) = self.writer.lock().take() else {
            return Some(Completion::err(busy()));
        };
        let chunks = std::mem::take(chunks);
        let slot = self.writer.clone();
        Some(Completion::future(async move {
            let mut r = Ok(());
            for c in &chunks {
                r = w.write_all(c).await;
                if r.is_err() {
                    break;
                }
            }
            *slot.lock() = Some(w);
            r.map_err(Error::from)
        }))
    }

    fn finalize(&mut self) -> Option<Completion> {
        let Some(mut w) = self.writer.lock().take() else {
            return Some(Completion::err(busy()));
        };
        let slot = self.writer.clone();
        Some(Completion::future(async move {
            let mut r = w.flush().await;
            if r.is_ok() {
                r = w.shutdown().await;
            }
            *slot.lock() = Some(w);
            r.map_err(Error::from)
        }))
    }
}
