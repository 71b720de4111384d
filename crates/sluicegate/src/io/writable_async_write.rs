//! A `WritableStream<Bytes>` as an `AsyncWrite`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;

use crate::error::StreamError;
use crate::promise::Promised;
use crate::writable::{WritableStream, WritableStreamDefaultWriter};

/// A [`WritableStream<Bytes>`] as a tokio `AsyncWrite`, holding the stream's writer.
///
/// * `poll_write` respects backpressure in bytes: while a write of its own is still queued it
///   waits for the writer's `ready` (the stream's desired size turning positive), then accepts at
///   most the desired size (at least one byte), copied into one `Bytes` chunk (the copy is
///   unavoidable: `AsyncWrite` lends the bytes only for the call). With nothing of its own queued
///   it always accepts a chunk, so a stream with a high-water mark of 0 still makes progress.
///   Memory held by the stream therefore stays within the high-water mark plus one chunk.
/// * A write the sink rejects is reported by the next `poll_write`, `poll_flush` or
///   `poll_shutdown`, as the stream's error converted to an `io::Error` (of the same
///   `io::ErrorKind` when the sink failed with an `io::Error`).
/// * `poll_flush` waits until every accepted byte has reached the sink.
/// * `poll_shutdown` flushes, then closes the stream (the sink's `close`).
///
/// Dropping it releases the writer's lock; accepted writes carry on while the stream is driven.
///
/// ```
/// use sluicegate::writable::{SinkFn, WritableStream};
/// use std::sync::{Arc, Mutex};
/// use tokio::io::AsyncWriteExt;
///
/// # futures::executor::block_on(async {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let s = seen.clone();
/// let stream = WritableStream::new(SinkFn::new().write(move |chunk: bytes::Bytes, _| {
///     s.lock().unwrap().extend_from_slice(&chunk);
/// }))
/// .unwrap();
/// let mut out = stream.into_async_write().unwrap();
/// out.write_all(b"one ").await.unwrap();
/// out.write_all(b"two").await.unwrap();
/// out.shutdown().await.unwrap();
/// assert_eq!(&*seen.lock().unwrap(), b"one two");
/// # });
/// ```
pub struct WritableAsyncWrite {
    writer: WritableStreamDefaultWriter<Bytes>,
    /// The `ready` being waited on.
    ready: Option<Promised<()>>,
    /// The most recent write: writes settle in order, so it settles after every earlier one.
    last_write: Option<Promised<()>>,
    /// The close, once `poll_shutdown` has started it.
    closing: Option<Promised<()>>,
}

impl WritableStream<Bytes> {
    /// Locks the stream to a writer and wraps it as an `AsyncWrite` (see [`WritableAsyncWrite`]).
    /// A `TypeError` if the stream is already locked.
    pub fn into_async_write(&self) -> Result<WritableAsyncWrite, StreamError> {
        Ok(WritableAsyncWrite {
            writer: self.get_writer()?,
            ready: None,
            last_write: None,
            closing: None,
        })
    }
}

impl WritableAsyncWrite {
    /// The writer behind this `AsyncWrite`.
    pub fn writer(&self) -> &WritableStreamDefaultWriter<Bytes> {
        &self.writer
    }

    /// Waits for the last write; its failure is the stream's error, reported once here.
    fn poll_last_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(write) = &mut self.last_write {
            let result = ready!(Pin::new(write).poll(cx));
            self.last_write = None;
            result?;
        }
        Poll::Ready(Ok(()))
    }
}

fn shut_down() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        StreamError::type_error("the stream has been shut down"),
    )
}

impl AsyncWrite for WritableAsyncWrite {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.closing.is_some() {
            return Poll::Ready(Err(shut_down()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // A write of ours that failed is reported before more bytes are accepted.
        if let Some(Err(e)) = this.last_write.as_ref().and_then(Promised::peek) {
            this.last_write = None;
            return Poll::Ready(Err(e.into()));
        }
        let ours_queued = this.last_write.as_ref().is_some_and(|w| w.peek().is_none());
        if ours_queued {
            // Backpressure: wait for `ready` (this drives the stream's host while it waits).
            let ready_fut = this.ready.get_or_insert_with(|| this.writer.ready());
            let result = ready!(Pin::new(ready_fut).poll(cx));
            this.ready = None;
            result?;
        } else if let Some(Err(e)) = this.writer.ready().peek() {
            // An errored stream rejects `ready`; report that rather than a write's TypeError.
            return Poll::Ready(Err(e.into()));
        }
        let desired = this.writer.desired_size()?;
        let n = match desired {
            Some(d) if d >= 1.0 => buf.len().min(d.ceil() as usize),
            _ => buf.len(),
        };
        this.last_write = Some(this.writer.write(Bytes::copy_from_slice(&buf[..n])));
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_last_write(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closing.is_none() {
            ready!(this.poll_last_write(cx))?;
            this.closing = Some(this.writer.close());
        }
        let closing = this.closing.as_mut().expect("set above");
        ready!(Pin::new(closing).poll(cx))?;
        Poll::Ready(Ok(()))
    }
}
