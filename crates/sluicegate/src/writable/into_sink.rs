//! A writable stream as a `futures::Sink`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_sink::Sink;

use crate::error::StreamError;
use crate::promise::Promised;

use super::{WritableStream, WritableStreamDefaultWriter};

/// A [`WritableStream`] as a `futures::Sink<T>`, holding the stream's writer.
///
/// `poll_ready` waits for the writer's `ready` (backpressure), `start_send` writes, `poll_flush`
/// waits until every write so far has reached the sink (reporting the first failure), and
/// `poll_close` closes the stream. Dropping it releases the lock.
///
/// ```
/// use futures::SinkExt;
/// use sluicegate::writable::{SinkFn, WritableStream};
/// use std::sync::{Arc, Mutex};
///
/// # futures::executor::block_on(async {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let s = seen.clone();
/// let stream = WritableStream::new(SinkFn::new().write(move |n: u32, _| s.lock().unwrap().push(n))).unwrap();
/// let mut sink = stream.into_sink().unwrap();
/// sink.send(1).await.unwrap();
/// sink.send(2).await.unwrap();
/// sink.close().await.unwrap();
/// assert_eq!(*seen.lock().unwrap(), [1, 2]);
/// # });
/// ```
pub struct WriterSink<T: Send + 'static> {
    writer: WritableStreamDefaultWriter<T>,
    /// The most recent write: writes complete in order, so it settles after every earlier one.
    last_write: Option<Promised<()>>,
    /// The first write failure not yet reported.
    failed: Option<StreamError>,
    closing: Option<Promised<()>>,
}

impl<T: Send + 'static> WritableStream<T> {
    /// Locks the stream to a writer and wraps it as a `futures::Sink`. A `TypeError` if the
    /// stream is already locked.
    pub fn into_sink(&self) -> Result<WriterSink<T>, StreamError> {
        Ok(WriterSink {
            writer: self.get_writer()?,
            last_write: None,
            failed: None,
            closing: None,
        })
    }
}

impl<T: Send + 'static> WriterSink<T> {
    /// The writer behind this sink.
    pub fn writer(&self) -> &WritableStreamDefaultWriter<T> {
        &self.writer
    }

    fn poll_last_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        if let Some(write) = &mut self.last_write {
            let result = std::task::ready!(Pin::new(write).poll(cx));
            self.last_write = None;
            if let Err(e) = result {
                self.failed.get_or_insert(e);
            }
        }
        match self.failed.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl<T: Send + 'static> Sink<T> for WriterSink<T> {
    type Error = StreamError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        let this = self.get_mut();
        if let Some(e) = this.failed.take() {
            return Poll::Ready(Err(e));
        }
        // A write that has already failed is reported before more are accepted.
        if let Some(Err(e)) = this.last_write.as_ref().and_then(Promised::peek) {
            this.last_write = None;
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.writer.ready()).poll(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), StreamError> {
        let this = self.get_mut();
        this.last_write = Some(this.writer.write(item));
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        self.get_mut().poll_last_write(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_last_write(cx))?;
        let closing = this.closing.get_or_insert_with(|| this.writer.close());
        Pin::new(closing).poll(cx)
    }
}
