//! ReadableStreamFromIterable: streams made from iterators and `futures::Stream`s.

use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream as FuturesStream;
use futures_util::StreamExt;
use parking_lot::Mutex;

use crate::error::StreamError;
use crate::host::{Completion, Driver};
use crate::strategy::QueuingStrategy;

use super::{ReadableStream, ReadableStreamDefaultController, UnderlyingSource};

/// The pull and cancel algorithms of ReadableStreamFromIterable over a synchronous iterator.
struct IterSource<I>(Option<I>);

impl<T: Send + 'static, I: Iterator<Item = T> + Send + 'static> UnderlyingSource<T> for IterSource<I> {
    fn pull(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        match self.0.as_mut().and_then(Iterator::next) {
            Some(v) => controller.enqueue(v).into(),
            None => {
                self.0 = None;
                controller.close().into()
            }
        }
    }

    fn cancel(&mut self, _reason: StreamError) -> Completion {
        // Closing a synchronous iterator is dropping it.
        self.0 = None;
        Completion::ok()
    }
}

type Shared<S> = Arc<Mutex<Option<Pin<Box<S>>>>>;

/// The pull and cancel algorithms of ReadableStreamFromIterable over an async sequence.
struct AsyncSource<S>(Shared<S>);

impl<T, E, S> UnderlyingSource<T> for AsyncSource<S>
where
    T: Send + 'static,
    E: Into<StreamError>,
    S: FuturesStream<Item = Result<T, E>> + Send + 'static,
{
    fn pull(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        let shared = self.0.clone();
        let controller = controller.clone();
        Completion::future(async move {
            let next = std::future::poll_fn(|cx| match shared.lock().as_mut() {
                Some(s) => s.poll_next_unpin(cx),
                None => std::task::Poll::Ready(None),
            })
            .await;
            match next {
                Some(Ok(v)) => controller.enqueue(v),
                Some(Err(e)) => {
                    shared.lock().take();
                    Err(e.into())
                }
                None => {
                    shared.lock().take();
                    controller.close()
                }
            }
        })
    }

    fn cancel(&mut self, _reason: StreamError) -> Completion {
        self.0.lock().take();
        Completion::ok()
    }
}

/// Wraps infallible items as `Ok`.
fn infallible<T>(v: T) -> Result<T, StreamError> {
    Ok(v)
}

impl<T: Send + 'static> ReadableStream<T> {
    /// ReadableStreamFromIterable over any `IntoIterator`: each pull takes the next item; the
    /// stream closes when the iterator ends. Cancelling drops the iterator. High-water mark 0, as
    /// in the standard: nothing is taken from the iterator before a read asks for it.
    ///
    /// ```
    /// use sluicegate::readable::ReadableStream;
    /// use futures::StreamExt;
    ///
    /// # futures::executor::block_on(async {
    /// let stream = ReadableStream::from_iter(vec!["a", "b"]);
    /// let items: Vec<_> = stream.values().unwrap().map(Result::unwrap).collect().await;
    /// assert_eq!(items, ["a", "b"]);
    /// # });
    /// ```
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<I>(iter: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        Self::from_boxed_source(
            Box::new(IterSource(Some(iter.into_iter()))),
            QueuingStrategy::count(0.0),
            Driver::new(),
            0.0,
        )
        .expect("a stream from an iterator has a valid strategy and an infallible start")
    }

    /// ReadableStreamFromIterable over a `futures::Stream`: each pull polls the next item.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: FuturesStream<Item = T> + Send + 'static,
    {
        Self::from_try_stream(stream.map(infallible))
    }

    /// Like [`from_stream`](Self::from_stream) over a stream of results: an `Err` item errors the
    /// readable stream.
    pub fn from_try_stream<S, E>(stream: S) -> Self
    where
        S: FuturesStream<Item = Result<T, E>> + Send + 'static,
        E: Into<StreamError>,
    {
        Self::from_boxed_source(
            Box::new(AsyncSource(Arc::new(Mutex::new(Some(Box::pin(stream)))))),
            QueuingStrategy::count(0.0),
            Driver::new(),
            0.0,
        )
        .expect("a stream from a futures::Stream has a valid strategy and an infallible start")
    }
}
