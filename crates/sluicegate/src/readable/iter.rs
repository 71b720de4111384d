//! Asynchronous iteration: a [`ReadableStream`] consumed as a `futures::Stream` (the standard's
//! async iterator, § "Asynchronous iteration").

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream as FuturesStream;

use crate::error::StreamError;
use crate::host::HostRef;
use crate::promise::{PromiseCell, Promised};

use super::default_reader::{readable_stream_default_reader_read, WeakReader};
use super::{ReadOutcome, ReadRequest, ReadableStream, ReadableStreamDefaultReader};

/// Options for [`ReadableStream::values_with`]: the standard's `ReadableStreamIteratorOptions`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IterOptions {
    /// Keep the stream uncancelled when the iterator is dropped before the end; only the lock is
    /// released.
    pub prevent_cancel: bool,
}

/// A readable stream as a `futures::Stream` of `Result<T, StreamError>`: the standard's async
/// iterator.
///
/// Dropping it before the end cancels the stream (the standard's `return()`), unless it was made
/// with `prevent_cancel`; either way the lock is released. When the stream closes or errors the
/// lock is released at once (not when the iterator is next polled), and the iterator yields
/// nothing more after the end or the error.
///
/// ```
/// use futures::StreamExt;
/// use sluicegate::readable::{IterOptions, ReadableStream};
///
/// # futures::executor::block_on(async {
/// let stream = ReadableStream::from_iter(1..=3);
/// let mut values = stream.values_with(IterOptions { prevent_cancel: true }).unwrap();
/// assert_eq!(values.next().await.unwrap().unwrap(), 1);
/// drop(values); // releases the lock without cancelling
/// let reader = stream.get_reader().unwrap();
/// assert_eq!(reader.read().await.unwrap(), Some(2));
/// # });
/// ```
pub struct Values<T: Send + 'static> {
    /// `None` once the iteration has finished (the reader is released then).
    reader: Option<ReadableStreamDefaultReader<T>>,
    host: HostRef,
    prevent_cancel: bool,
    /// The read request of a `next()` that is waiting.
    pending: Option<Arc<PromiseCell<Option<T>>>>,
}

impl<T: Send + 'static> ReadableStream<T> {
    /// The stream's async iterator, which cancels the stream if dropped early. A `TypeError` if
    /// the stream is locked.
    pub fn values(&self) -> Result<Values<T>, StreamError> {
        self.values_with(IterOptions::default())
    }

    /// The stream's async iterator with options.
    pub fn values_with(&self, options: IterOptions) -> Result<Values<T>, StreamError> {
        let reader = self.get_reader()?;
        Ok(Values {
            host: reader.host().clone(),
            reader: Some(reader),
            prevent_cancel: options.prevent_cancel,
            pending: None,
        })
    }
}

impl<T: Send + 'static> Values<T> {
    /// The standard's `return(reason)`: ends the iteration now, cancelling the stream unless
    /// `prevent_cancel` was set, and releases the lock synchronously. After the iteration has
    /// finished (the end, or an error), it does nothing and fulfils.
    pub fn cancel(mut self, reason: StreamError) -> Promised<()> {
        self.pending = None;
        let Some(reader) = self.reader.take() else {
            return Promised::new(self.host.clone(), PromiseCell::settled(Ok(())));
        };
        if self.prevent_cancel {
            reader.release_lock();
            Promised::new(self.host.clone(), PromiseCell::settled(Ok(())))
        } else {
            // ReadableStreamReaderGenericCancel, then ReadableStreamDefaultReaderRelease, as one
            // step of the stream's group.
            let stream = reader.stream();
            let _entered = stream.as_ref().map(|s| s.domain.enter());
            let result = reader.cancel(reason);
            reader.release_lock();
            result
        }
    }

    /// Whether the iteration has finished (the stream closed or errored, or was released).
    pub fn is_finished(&self) -> bool {
        self.reader.is_none()
    }

    /// The iteration finished: the reader has been (or is now) released.
    fn finish(&mut self) {
        self.pending = None;
        if let Some(reader) = self.reader.take() {
            reader.release_lock();
        }
    }
}

/// The read request of the async iterator's `next()`: its close and error steps release the
/// reader before settling, as the standard's do.
struct IterRequest<T: Send + 'static> {
    cell: Arc<PromiseCell<Option<T>>>,
    reader: WeakReader<T>,
}

impl<T: Send + 'static> ReadRequest<T> for IterRequest<T> {
    fn chunk_steps(self: Box<Self>, chunk: T) {
        self.cell.resolve(Some(chunk));
    }
    fn close_steps(self: Box<Self>) {
        self.reader.release();
        self.cell.resolve(None);
    }
    fn error_steps(self: Box<Self>, e: StreamError) {
        self.reader.release();
        self.cell.reject(e);
    }
}

impl<T: Send + 'static> FuturesStream for Values<T> {
    type Item = Result<T, StreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(reader) = &this.reader else {
            return Poll::Ready(None);
        };
        let cell = match &this.pending {
            Some(cell) => cell.clone(),
            None => {
                // The standard's next(): ReadableStreamDefaultReaderRead with the request above.
                let Some(stream) = reader.stream() else {
                    this.finish();
                    return Poll::Ready(None);
                };
                let mut cell = None;
                let entered = stream.domain.enter();
                let outcome = readable_stream_default_reader_read(&stream, || {
                    let c = PromiseCell::pending();
                    cell = Some(c.clone());
                    Box::new(IterRequest {
                        cell: c,
                        reader: reader.downgrade(),
                    })
                });
                let ready = match outcome {
                    ReadOutcome::Chunk(chunk) | ReadOutcome::ChunkInBuffer(chunk, ..) => {
                        Some(Some(Ok(chunk)))
                    }
                    ReadOutcome::Closed => {
                        this.finish();
                        Some(None)
                    }
                    ReadOutcome::Errored(e) => {
                        this.finish();
                        Some(Some(Err(e)))
                    }
                    ReadOutcome::Queued => None,
                };
                drop(entered);
                if let Some(item) = ready {
                    // Steps queued before the result run first, as before an `await`'s
                    // continuation.
                    this.host.run_queued();
                    return Poll::Ready(item);
                }
                let cell = cell.expect("a queued read made its request");
                this.pending = Some(cell.clone());
                cell
            }
        };
        if cell.is_pending() {
            this.host.poll_progress(cx);
        } else {
            this.host.run_queued();
        }
        let result = match cell.poll_take(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(r) => r,
        };
        this.pending = None;
        match result {
            Ok(Some(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Ok(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Err(e) => {
                this.finish();
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Values<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Values")
            .field("finished", &self.reader.is_none())
            .field("prevent_cancel", &self.prevent_cancel)
            .finish()
    }
}

impl<T: Send + 'static> Drop for Values<T> {
    fn drop(&mut self) {
        self.pending = None;
        if let Some(reader) = self.reader.take() {
            let stream = reader.stream();
            let _entered = stream.as_ref().map(|s| s.domain.enter());
            if !self.prevent_cancel {
                // The standard's return(undefined); the cancel has started and nobody awaits its
                // outcome.
                drop(reader.cancel(StreamError::undefined()));
            }
            reader.release_lock();
        }
    }
}
