//! Any `AsyncWrite` as the underlying sink of a `WritableStream<Bytes>`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::error::StreamError;
use crate::host::Completion;
use crate::strategy::ByteLengthQueuingStrategy;
use crate::writable::{UnderlyingSink, WritableStream, WritableStreamDefaultController};

use super::DEFAULT_HIGH_WATER_MARK;

/// An underlying sink that writes every chunk to an `AsyncWrite`.
///
/// * `write` writes the whole chunk (`write_all`: a partial write is continued, never dropped);
///   the chunk is moved in and written from where it is, with no copy.
/// * `close` flushes, then shuts the writer down, then drops it.
/// * `abort` drops the writer without flushing.
///
/// An `io::Error` errors the stream with a [`StreamError`] whose reason is that `io::Error`; the
/// writer is dropped then, since no further call will come.
///
/// Most code wants [`WritableStream::from_async_write`], which wraps this sink in a stream with a
/// byte-length strategy; use the sink directly to choose another strategy or host.
pub struct AsyncWriteSink<W> {
    /// The writer, lent to one write (or the close) at a time and returned when it succeeds. The
    /// sink's methods take `&mut self` but return `'static` futures, so the writer travels into
    /// the future and back through this slot; the stream never runs two of them at once, so the
    /// lock is never contended.
    slot: Arc<Mutex<Option<W>>>,
}

impl<W> AsyncWriteSink<W> {
    /// A sink over `writer`.
    pub fn new(writer: W) -> Self {
        AsyncWriteSink {
            slot: Arc::new(Mutex::new(Some(writer))),
        }
    }

    fn take(&self) -> Result<W, StreamError> {
        self.slot
            .lock()
            .take()
            .ok_or_else(|| StreamError::type_error("the writer is gone (an earlier write failed)"))
    }
}

impl<W: AsyncWrite + Send + Unpin + 'static> UnderlyingSink<Bytes> for AsyncWriteSink<W> {
    fn write(&mut self, chunk: Bytes, _: &WritableStreamDefaultController<Bytes>) -> Completion {
        let mut writer = match self.take() {
            Ok(w) => w,
            Err(e) => return Completion::err(e),
        };
        // As much as the writer takes at once is written now, with no future to box and drive:
        // tries with a waker that does nothing. Only a chunk the writer cannot take whole gets
        // the future below, which writes the rest and registers the real waker.
        let mut cx = Context::from_waker(Waker::noop());
        let mut written = 0;
        while written < chunk.len() {
            match Pin::new(&mut writer).poll_write(&mut cx, &chunk[written..]) {
                Poll::Ready(Ok(0)) => {
                    return Completion::err(io::Error::from(io::ErrorKind::WriteZero).into())
                }
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Completion::err(e.into()),
                Poll::Pending => break,
            }
        }
        if written == chunk.len() {
            *self.slot.lock() = Some(writer);
            return Completion::ok();
        }
        let slot = self.slot.clone();
        Completion::future(async move {
            writer.write_all(&chunk[written..]).await?;
            *slot.lock() = Some(writer);
            Ok(())
        })
    }

    fn close(&mut self) -> Completion {
        let mut writer = match self.take() {
            Ok(w) => w,
            Err(e) => return Completion::err(e),
        };
        Completion::future(async move {
            writer.flush().await?;
            writer.shutdown().await?;
            Ok(())
        })
    }

    fn abort(&mut self, _reason: StreamError) -> Completion {
        drop(self.slot.lock().take());
        Completion::ok()
    }
}

impl WritableStream<Bytes> {
    /// A writable stream of bytes that writes to `writer`, with a byte-length strategy of
    /// [`DEFAULT_HIGH_WATER_MARK`] bytes (64 KiB).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sluicegate::WritableStream;
    ///
    /// # futures::executor::block_on(async {
    /// // Any `AsyncWrite + Send + Unpin + 'static` will do: a file, a socket, a pipe.
    /// let (ours, mut theirs) = tokio::io::duplex(1024);
    /// let stream = WritableStream::from_async_write(ours);
    /// let writer = stream.get_writer().unwrap();
    /// writer.write(Bytes::from_static(b"hello, ")).await.unwrap();
    /// writer.write(Bytes::from_static(b"world")).await.unwrap();
    /// writer.close().await.unwrap();
    /// let mut got = String::new();
    /// tokio::io::AsyncReadExt::read_to_string(&mut theirs, &mut got).await.unwrap();
    /// assert_eq!(got, "hello, world");
    /// # });
    /// ```
    pub fn from_async_write<W>(writer: W) -> Self
    where
        W: AsyncWrite + Send + Unpin + 'static,
    {
        Self::from_async_write_with_high_water_mark(writer, DEFAULT_HIGH_WATER_MARK)
    }

    /// Like [`from_async_write`](Self::from_async_write), with a high-water mark of
    /// `high_water_mark` bytes: writes beyond it are still accepted, but the writer's `ready` (and
    /// a pipe into the stream) waits until the queue has drained below it.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sluicegate::WritableStream;
    ///
    /// let stream = WritableStream::from_async_write_with_high_water_mark(tokio::io::sink(), 10);
    /// let writer = stream.get_writer().unwrap();
    /// assert_eq!(writer.desired_size().unwrap(), Some(10.0));
    /// let _ = writer.write(Bytes::from_static(b"0123456789abcdef"));
    /// assert_eq!(writer.desired_size().unwrap(), Some(-6.0)); // measured in bytes
    /// ```
    pub fn from_async_write_with_high_water_mark<W>(writer: W, high_water_mark: usize) -> Self
    where
        W: AsyncWrite + Send + Unpin + 'static,
    {
        WritableStream::with_strategy(
            AsyncWriteSink::new(writer),
            ByteLengthQueuingStrategy::new(high_water_mark as f64),
        )
        .expect("a usize high-water mark is valid and this sink's start cannot fail")
    }
}
