//! ReadableStreamFromIterable: streams made from iterators and `futures::Stream`s.

use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use futures_core::Stream as FuturesStream;
use futures_util::StreamExt;
use parking_lot::Mutex;

use crate::error::StreamError;
use crate::host::{domain_for, Completion, Driver, HostRef};
use crate::strategy::QueuingStrategy;

use super::{
    readable_stream_default_controller_close, readable_stream_default_controller_enqueue, ReadableStream,
    ReadableStreamDefaultController, UnderlyingSource,
};

/// The pull and cancel algorithms of ReadableStreamFromIterable over a synchronous iterator.
struct IterSource<I>(Option<I>);

impl<T: Send + 'static, I: Iterator<Item = T> + Send + 'static> UnderlyingSource<T> for IterSource<I> {
    fn pull(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        // IteratorNext; the iterator is user code and runs with no lock held (it may re-enter the
        // stream: a cancel from inside `next()` runs once this pull returns).
        match self.0.as_mut().and_then(Iterator::next) {
            Some(v) => enqueue_from_iterable(controller, v),
            None => {
                // Done: the iterator is finished; drop it (its `Drop` is user code, still unlocked).
                self.0 = None;
                close_from_iterable(controller);
            }
        }
        Completion::ok()
    }

    fn cancel(&mut self, _reason: StreamError) -> Completion {
        // The iterator's `return()`: closing a synchronous iterator is dropping it.
        self.0 = None;
        Completion::ok()
    }
}

/// `! ReadableStreamDefaultControllerEnqueue(stream.[[controller]], value)`: the abstract
/// operation, which does nothing once the stream is closing, closed or errored (cancelled from
/// inside `next()`, for example).
fn enqueue_from_iterable<T: Send + 'static>(controller: &ReadableStreamDefaultController<T>, value: T) {
    if let Some(stream) = controller.stream() {
        let _entered = stream.domain.enter();
        // No size algorithm (count, high-water mark 0): the enqueue cannot fail.
        let _ = readable_stream_default_controller_enqueue(&stream, value);
    }
}

/// `! ReadableStreamDefaultControllerClose(stream.[[controller]])`.
fn close_from_iterable<T: Send + 'static>(controller: &ReadableStreamDefaultController<T>) {
    if let Some(stream) = controller.stream() {
        let _entered = stream.domain.enter();
        readable_stream_default_controller_close(&stream);
    }
}

/// The async sequence a [`AsyncSource`] pulls from, shared with the future of its current pull.
struct AsyncState<S> {
    /// `None` while a pull polls it (so that a cancel from inside `poll_next` finds no lock held),
    /// and once it has ended or been cancelled.
    stream: Option<Pin<Box<S>>>,
    cancelled: bool,
}

type Shared<S> = Arc<Mutex<AsyncState<S>>>;

/// The pull and cancel algorithms of ReadableStreamFromIterable over an async sequence.
struct AsyncSource<S>(Shared<S>);

/// Polls the shared sequence for its next item with no lock held while it runs; `None` once the
/// sequence has ended or the stream was cancelled (the sequence is dropped then, unlocked).
fn poll_next_item<S: FuturesStream>(
    shared: &Shared<S>,
    cx: &mut std::task::Context<'_>,
) -> Poll<Option<S::Item>> {
    let mut stream = {
        let mut state = shared.lock();
        if state.cancelled {
            return Poll::Ready(None);
        }
        match state.stream.take() {
            Some(s) => s,
            None => return Poll::Ready(None),
        }
    };
    let polled = stream.as_mut().poll_next(cx);
    let cancelled = {
        let mut state = shared.lock();
        if !state.cancelled && !matches!(polled, Poll::Ready(None)) {
            state.stream = Some(stream);
            return polled;
        }
        state.cancelled
    };
    // Ended, or cancelled while it was being polled: drop it now, outside the lock.
    drop(stream);
    if cancelled {
        Poll::Ready(None)
    } else {
        polled
    }
}

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
            let next = std::future::poll_fn(|cx| poll_next_item(&shared, cx)).await;
            match next {
                Some(Ok(v)) => enqueue_from_iterable(&controller, v),
                Some(Err(e)) => {
                    let stream = shared.lock().stream.take();
                    drop(stream);
                    return Err(e.into());
                }
                // Done (or cancelled meanwhile, in which case the close does nothing).
                None => close_from_iterable(&controller),
            }
            Ok(())
        })
    }

    fn cancel(&mut self, _reason: StreamError) -> Completion {
        // The sequence's `return()`: dropping it. If a pull is polling it right now, that pull
        // drops it when its poll returns.
        let stream = {
            let mut state = self.0.lock();
            state.cancelled = true;
            state.stream.take()
        };
        drop(stream);
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
        let host: HostRef = Driver::new();
        Self::from_boxed_source(
            Box::new(IterSource(Some(iter.into_iter()))),
            QueuingStrategy::count(0.0),
            host.clone(),
            domain_for(&host),
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
        let host: HostRef = Driver::new();
        Self::from_boxed_source(
            Box::new(AsyncSource(Arc::new(Mutex::new(AsyncState {
                stream: Some(Box::pin(stream)),
                cancelled: false,
            })))),
            QueuingStrategy::count(0.0),
            host.clone(),
            domain_for(&host),
            0.0,
        )
        .expect("a stream from a futures::Stream has a valid strategy and an infallible start")
    }
}
