//! `Readable.from(iterable)`: any Rust iterator or `futures::Stream` as a readable.

use std::sync::Arc;

use futures_core::Stream;
use futures_util::StreamExt;
use parking_lot::Mutex;

use super::{Readable, ReadableOptions};
use crate::error::Error;
use crate::implementor::ReadImpl;

struct IterSource<I> {
    iter: I,
}

impl<T: Send + 'static, I: Iterator<Item = T> + Send + 'static> ReadImpl<T> for IterSource<I> {
    fn read(&mut self, _size: usize, stream: &Readable<T>) {
        // Node's nextSyncWithSyncValues: push until the buffer is full or the iterator ends.
        loop {
            match self.iter.next() {
                None => {
                    stream.push_end();
                    return;
                }
                Some(v) => {
                    if !stream.push(v) {
                        return;
                    }
                }
            }
        }
    }
}

/// A stream's state, lent to the future that reads it and handed back when it pauses.
struct StreamSource<S> {
    stream: Arc<Mutex<Option<S>>>,
}

impl<T, E, S> ReadImpl<T> for StreamSource<S>
where
    T: Send + 'static,
    E: Into<Error> + Send + 'static,
    S: Stream<Item = Result<T, E>> + Send + Unpin + 'static,
{
    fn read(&mut self, _size: usize, stream: &Readable<T>) {
        // Node's nextAsync: one reader at a time; `reading` is "the source is lent out".
        let Some(mut source) = self.stream.lock().take() else {
            return;
        };
        let (slot, r) = (self.stream.clone(), stream.clone());
        stream.event_loop().spawn(async move {
            loop {
                match source.next().await {
                    None => {
                        r.push_end();
                        break;
                    }
                    Some(Err(e)) => {
                        r.destroy(Some(e.into()));
                        break;
                    }
                    Some(Ok(v)) => {
                        if !r.push(v) {
                            break;
                        }
                    }
                }
            }
            *slot.lock() = Some(source);
        });
    }
}

impl<T: Send + 'static> Readable<T> {
    #[allow(clippy::should_implement_trait)]
    /// `Readable.from(iterable)`: object mode, high-water mark 1, pulling the iterator from
    /// `_read` (synchronously, until `push` returns `false`).
    pub fn from_iter<I>(iter: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        Self::from_iter_with(iter, ReadableOptions::objects().high_water_mark(1))
    }

    /// [`from_iter`](Readable::from_iter) with options.
    pub fn from_iter_with<I>(iter: I, options: ReadableOptions<T>) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        Self::with_options(
            IterSource {
                iter: iter.into_iter(),
            },
            options,
        )
    }

    /// `Readable.from(asyncIterable)` for a `futures::Stream` of values.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = T> + Send + 'static,
    {
        Self::from_try_stream(stream.map(Ok::<T, Error>))
    }

    /// `Readable.from(asyncIterable)` for a stream of results: an `Err` destroys the readable
    /// with that error.
    pub fn from_try_stream<S, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        E: Into<Error> + Send + 'static,
    {
        Self::from_try_stream_with(stream, ReadableOptions::objects().high_water_mark(1))
    }

    /// [`from_try_stream`](Readable::from_try_stream) with options.
    pub fn from_try_stream_with<S, E>(stream: S, options: ReadableOptions<T>) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        E: Into<Error> + Send + 'static,
    {
        Self::with_options(
            StreamSource {
                stream: Arc::new(Mutex::new(Some(Box::pin(stream)))),
            },
            options,
        )
    }
}
