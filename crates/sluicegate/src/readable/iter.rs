//! Asynchronous iteration: a [`ReadableStream`] consumed as a `futures::Stream`.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream as FuturesStream;

use crate::error::StreamError;
use crate::promise::Promised;

use super::{ReadFuture, ReadableStream, ReadableStreamDefaultReader};

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
/// with `prevent_cancel`; either way the lock is released. After the end or an error, the lock is
/// released and the iterator yields nothing more.
pub struct Values<T: Send + 'static> {
    reader: Option<ReadableStreamDefaultReader<T>>,
    prevent_cancel: bool,
    pending: Option<ReadFuture<T>>,
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
            reader: Some(reader),
            prevent_cancel: options.prevent_cancel,
            pending: None,
        })
    }
}

impl<T: Send + 'static> Values<T> {
    /// The standard's `return(reason)`: ends the iteration now, cancelling the stream unless
    /// `prevent_cancel` was set, and releases the lock.
    pub fn cancel(mut self, reason: StreamError) -> Promised<()> {
        self.pending = None;
        let reader = self.reader.take().expect("an unfinished iterator has its reader");
        let result = if self.prevent_cancel {
            let host = reader.stream().map(|s| s.host.clone());
            reader.release_lock();
            match host {
                Some(h) => Promised::new(h, crate::promise::PromiseCell::settled(Ok(()))),
                None => reader.cancel(reason),
            }
        } else {
            let r = reader.cancel(reason);
            reader.release_lock();
            r
        };
        result
    }
}

impl<T: Send + 'static> FuturesStream for Values<T> {
    type Item = Result<T, StreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(reader) = &this.reader else {
            return Poll::Ready(None);
        };
        let read = this.pending.get_or_insert_with(|| reader.read());
        let result = match Pin::new(read).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(r) => r,
        };
        this.pending = None;
        match result {
            Ok(Some(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Ok(None) => {
                if let Some(r) = this.reader.take() {
                    r.release_lock();
                }
                Poll::Ready(None)
            }
            Err(e) => {
                if let Some(r) = this.reader.take() {
                    r.release_lock();
                }
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

impl<T: Send + 'static> Drop for Values<T> {
    fn drop(&mut self) {
        self.pending = None;
        if let Some(reader) = self.reader.take() {
            if !self.prevent_cancel {
                let _ = reader.cancel(StreamError::undefined());
            }
            reader.release_lock();
        }
    }
}

use std::future::Future;
