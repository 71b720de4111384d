//! ReadableStreamFromIterable: streams made from iterators and `futures::Stream`s, with an
//! optional cancel hook that closes the iterator with the cancel reason (the standard's cancel
//! algorithm closes the async iterator with the reason and waits for it).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream as FuturesStream;
use parking_lot::Mutex;

use crate::error::StreamError;
use crate::host::{domain_for, Completion, Driver, HostRef};
use crate::strategy::QueuingStrategy;

use super::stream::Stream;
use super::{
    readable_stream_default_controller_close, readable_stream_default_controller_enqueue, CoreNext,
    ReadableStream, ReadableStreamDefaultController, UnderlyingSource,
};

/// A cancel hook: what closing the iterator (or sequence) `I` with the cancel reason means to its
/// owner; the cancel settles when the future does. See
/// [`ReadableStream::from_iter_with_cancel`].
type CancelHook<I> = Box<dyn FnOnce(I, StreamError) -> BoxedCompletion + Send>;

/// The future a cancel hook returns.
type BoxedCompletion = Pin<Box<dyn Future<Output = Result<(), StreamError>> + Send>>;

/// Boxes a user's hook.
fn cancel_hook<I, F, Fut>(on_cancel: F) -> CancelHook<I>
where
    F: FnOnce(I, StreamError) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), StreamError>> + Send + 'static,
{
    Box::new(move |iterator, reason| Box::pin(on_cancel(iterator, reason)))
}

/// The pull and cancel algorithms of ReadableStreamFromIterable over a synchronous iterator.
struct IterSource<I> {
    iter: Option<I>,
    on_cancel: Option<CancelHook<I>>,
}

impl<T: Send + 'static, I: Iterator<Item = T> + Send + 'static> UnderlyingSource<T> for IterSource<I> {
    fn pull(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        // The core pulls this source through `core_next` below; called directly, the pull does
        // the same two halves, entering the domain for the second.
        pulled_from_iterable(controller, self.next_item());
        Completion::ok()
    }

    fn core_next(&mut self) -> Option<CoreNext<T>> {
        Some(CoreNext(self.next_item()))
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        // Closing the iterator with the reason: the hook gets it, and the cancel waits for the
        // hook's future; with no hook, closing a synchronous iterator is dropping it.
        match (self.iter.take(), self.on_cancel.take()) {
            (Some(iter), Some(hook)) => Completion::future(hook(iter, reason)),
            _ => Completion::ok(),
        }
    }
}

impl<I: Iterator> IterSource<I> {
    /// The pull algorithm's IteratorNext. The iterator is user code and runs with the domain
    /// released (it may re-enter the stream: a cancel from inside `next()` runs once this pull
    /// returns). At the end the iterator is finished and dropped (its `Drop` is user code too).
    fn next_item(&mut self) -> Option<I::Item> {
        let next = self.iter.as_mut().and_then(Iterator::next);
        if next.is_none() {
            self.iter = None;
        }
        next
    }
}

/// The rest of the pull algorithm of ReadableStreamFromIterable, once IteratorNext has given
/// `next`, with the stream's domain held: `! ReadableStreamDefaultControllerEnqueue` of the
/// value, or `! ReadableStreamDefaultControllerClose` when the iterator is done. Both do nothing
/// once the stream is closing, closed or errored (cancelled from inside `next()`, for example).
pub(crate) fn readable_stream_from_iterable_pulled<T: Send + 'static>(stream: &Stream<T>, next: Option<T>) {
    match next {
        // No size algorithm (count, high-water mark 0): the enqueue cannot fail.
        Some(value) => {
            let _ = readable_stream_default_controller_enqueue(stream, value);
        }
        None => readable_stream_default_controller_close(stream),
    }
}

/// [`readable_stream_from_iterable_pulled`] from outside the domain, through the controller (a
/// pull that was not run by the core's call, or the future of an async sequence's pull).
fn pulled_from_iterable<T: Send + 'static>(controller: &ReadableStreamDefaultController<T>, next: Option<T>) {
    if let Some(stream) = controller.stream() {
        let _entered = stream.domain.enter();
        readable_stream_from_iterable_pulled(&stream, next);
    }
}

struct AsyncState<S> {
    /// `None` while a pull polls it (so that a cancel from inside `poll_next` finds no lock held),
    /// and once it has ended, failed or been cancelled.
    stream: Option<Pin<Box<S>>>,
    /// A pull is inside `poll_next` (the sequence is out of `stream`).
    polling: bool,
    cancelled: bool,
    /// A cancel hook waits for the sequence: a pull that finds the stream cancelled when its
    /// poll returns puts the sequence back for the hook instead of dropping it.
    hand_back: bool,
    /// The waker of the cancel waiting for a poll to hand the sequence back.
    cancel_waker: Option<Waker>,
}

type Shared<S> = Arc<Mutex<AsyncState<S>>>;

/// The pull and cancel algorithms of ReadableStreamFromIterable over an async sequence, whose
/// items `convert` turns into chunks or errors.
struct AsyncSource<S: FuturesStream, T> {
    shared: Shared<S>,
    convert: fn(S::Item) -> Result<T, StreamError>,
    on_cancel: Option<CancelHook<Pin<Box<S>>>>,
}

/// Polls the shared sequence for its next item with no lock held while it runs; `None` once the
/// sequence has ended or the stream was cancelled (the sequence is dropped then, unlocked, or
/// handed to a waiting cancel hook).
fn poll_next_item<S: FuturesStream>(shared: &Shared<S>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
    let mut stream = {
        let mut state = shared.lock();
        if state.cancelled {
            return Poll::Ready(None);
        }
        match state.stream.take() {
            Some(s) => {
                state.polling = true;
                s
            }
            None => return Poll::Ready(None),
        }
    };
    let polled = stream.as_mut().poll_next(cx);
    let mut state = shared.lock();
    state.polling = false;
    if !state.cancelled && !matches!(polled, Poll::Ready(None)) {
        state.stream = Some(stream);
        return polled;
    }
    if state.cancelled && state.hand_back {
        // Cancelled while it was being polled, with a hook waiting for it: hand it over.
        state.stream = Some(stream);
        let waker = state.cancel_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        return Poll::Ready(None);
    }
    let cancelled = state.cancelled;
    drop(state);
    // Ended, or cancelled while it was being polled: drop it now, outside the lock.
    drop(stream);
    if cancelled {
        Poll::Ready(None)
    } else {
        polled
    }
}

/// The sequence for a cancel hook: at once, or once the poll that has it out returns; `None` if
/// it has ended or failed meanwhile.
async fn sequence_for_hook<S>(shared: &Shared<S>) -> Option<Pin<Box<S>>> {
    std::future::poll_fn(|cx| {
        let mut state = shared.lock();
        if let Some(stream) = state.stream.take() {
            return Poll::Ready(Some(stream));
        }
        if state.polling {
            state.cancel_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(None)
    })
    .await
}

impl<T, S> UnderlyingSource<T> for AsyncSource<S, T>
where
    T: Send + 'static,
    S: FuturesStream + Send + 'static,
{
    fn pull(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        let shared = self.shared.clone();
        let convert = self.convert;
        let controller = controller.clone();
        Completion::future(async move {
            let next = std::future::poll_fn(|cx| poll_next_item(&shared, cx)).await;
            match next.map(convert) {
                Some(Ok(v)) => pulled_from_iterable(&controller, Some(v)),
                Some(Err(e)) => {
                    let stream = shared.lock().stream.take();
                    drop(stream);
                    return Err(e);
                }
                // Done (or cancelled meanwhile, in which case the close does nothing).
                None => pulled_from_iterable(&controller, None),
            }
            Ok(())
        })
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        let Some(hook) = self.on_cancel.take() else {
            // The sequence's `return()`: dropping it. If a pull is polling it right now, that
            // pull drops it when its poll returns.
            let stream = {
                let mut state = self.shared.lock();
                state.cancelled = true;
                state.stream.take()
            };
            drop(stream);
            return Completion::ok();
        };
        // Closing the sequence with the reason: the hook gets it (once a poll that has it out
        // returns), and the cancel waits for the hook's future.
        {
            let mut state = self.shared.lock();
            state.cancelled = true;
            state.hand_back = true;
        }
        let shared = self.shared.clone();
        Completion::future(async move {
            match sequence_for_hook(&shared).await {
                Some(stream) => hook(stream, reason).await,
                None => Ok(()),
            }
        })
    }
}

/// Wraps infallible items as `Ok`.
fn infallible<T>(v: T) -> Result<T, StreamError> {
    Ok(v)
}

/// Turns an item's error into the stream's.
fn fallible<T, E: Into<StreamError>>(item: Result<T, E>) -> Result<T, StreamError> {
    item.map_err(Into::into)
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
        Self::from_iter_source(iter.into_iter(), None)
    }

    /// Like [`from_iter`](Self::from_iter), with a cancel hook: the standard's cancel closes the
    /// iterator with the reason and waits for that, so cancelling the stream calls
    /// `on_cancel(iterator, reason)` with the iterator not yet consumed, and the cancel settles
    /// with the future it returns (an `Err` rejects the cancel; a panic rejects it too). The hook
    /// runs at most once, and not at all if the iterator ended first (the stream is closed then,
    /// and a cancel has nothing to close).
    ///
    /// ```
    /// use sluicegate::readable::ReadableStream;
    /// use sluicegate::StreamError;
    ///
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let stream = ReadableStream::from_iter_with_cancel(1..=100, move |rest, reason: StreamError| async move {
    ///     // Asynchronous clean-up (flush a log, release a lease) finishes before cancel resolves.
    ///     tx.send((rest.count(), reason.to_string())).unwrap();
    ///     Ok(())
    /// });
    /// let reader = stream.get_reader().unwrap();
    /// assert_eq!(reader.read().await.unwrap(), Some(1));
    /// reader.cancel(StreamError::type_error("enough")).await.unwrap();
    /// let (left, why) = rx.try_recv().unwrap();
    /// assert_eq!(left, 99);
    /// assert!(why.contains("enough"));
    /// # });
    /// ```
    pub fn from_iter_with_cancel<I, F, Fut>(iter: I, on_cancel: F) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
        F: FnOnce(I::IntoIter, StreamError) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), StreamError>> + Send + 'static,
    {
        Self::from_iter_source(iter.into_iter(), Some(cancel_hook(on_cancel)))
    }

    fn from_iter_source<I>(iter: I, on_cancel: Option<CancelHook<I>>) -> Self
    where
        I: Iterator<Item = T> + Send + 'static,
    {
        let host: HostRef = Driver::new_implicit();
        Self::from_boxed_source(
            Box::new(IterSource {
                iter: Some(iter),
                on_cancel,
            }),
            QueuingStrategy::count(0.0),
            host.clone(),
            domain_for(&host),
            0.0,
        )
        .expect("a stream from an iterator has a valid strategy and an infallible start")
    }

    /// ReadableStreamFromIterable over a `futures::Stream`: each pull polls the next item.
    /// Cancelling drops the sequence (once a poll in progress on another thread returns).
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: FuturesStream<Item = T> + Send + 'static,
    {
        Self::from_async_source(stream, infallible, None)
    }

    /// Like [`from_stream`](Self::from_stream), with a cancel hook: cancelling the stream calls
    /// `on_cancel(sequence, reason)` with the sequence (after any poll of it in progress on
    /// another thread, or re-entered from inside `poll_next`, has returned), and the cancel
    /// settles with the future the hook returns, as the standard's cancel waits for the async
    /// iterator's `return(reason)`. The hook runs at most once, and not at all if the sequence
    /// ended or failed first.
    ///
    /// ```
    /// use futures::stream;
    /// use sluicegate::readable::ReadableStream;
    /// use sluicegate::StreamError;
    ///
    /// # futures::executor::block_on(async {
    /// let rows = stream::iter(["row 1", "row 2", "row 3"]);
    /// let stream = ReadableStream::from_stream_with_cancel(rows, |_rows, reason: StreamError| async move {
    ///     // Close the cursor behind `rows` here; the cancel resolves when this does.
    ///     assert!(reason.to_string().contains("client went away"));
    ///     Ok(())
    /// });
    /// let reader = stream.get_reader().unwrap();
    /// assert_eq!(reader.read().await.unwrap(), Some("row 1"));
    /// reader.cancel(StreamError::type_error("client went away")).await.unwrap();
    /// # });
    /// ```
    pub fn from_stream_with_cancel<S, F, Fut>(stream: S, on_cancel: F) -> Self
    where
        S: FuturesStream<Item = T> + Send + 'static,
        F: FnOnce(Pin<Box<S>>, StreamError) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), StreamError>> + Send + 'static,
    {
        Self::from_async_source(stream, infallible, Some(cancel_hook(on_cancel)))
    }

    /// Like [`from_stream`](Self::from_stream) over a stream of results: an `Err` item errors the
    /// readable stream.
    pub fn from_try_stream<S, E>(stream: S) -> Self
    where
        S: FuturesStream<Item = Result<T, E>> + Send + 'static,
        E: Into<StreamError>,
    {
        Self::from_async_source(stream, fallible::<T, E>, None)
    }

    /// Like [`from_try_stream`](Self::from_try_stream), with a cancel hook as
    /// [`from_stream_with_cancel`](Self::from_stream_with_cancel) has.
    pub fn from_try_stream_with_cancel<S, E, F, Fut>(stream: S, on_cancel: F) -> Self
    where
        S: FuturesStream<Item = Result<T, E>> + Send + 'static,
        E: Into<StreamError>,
        F: FnOnce(Pin<Box<S>>, StreamError) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), StreamError>> + Send + 'static,
    {
        Self::from_async_source(stream, fallible::<T, E>, Some(cancel_hook(on_cancel)))
    }

    fn from_async_source<S>(
        stream: S,
        convert: fn(S::Item) -> Result<T, StreamError>,
        on_cancel: Option<CancelHook<Pin<Box<S>>>>,
    ) -> Self
    where
        S: FuturesStream + Send + 'static,
    {
        let host: HostRef = Driver::new_implicit();
        Self::from_boxed_source(
            Box::new(AsyncSource {
                shared: Arc::new(Mutex::new(AsyncState {
                    stream: Some(Box::pin(stream)),
                    polling: false,
                    cancelled: false,
                    hand_back: false,
                    cancel_waker: None,
                })),
                convert,
                on_cancel,
            }),
            QueuingStrategy::count(0.0),
            host.clone(),
            domain_for(&host),
            0.0,
        )
        .expect("a stream from a futures::Stream has a valid strategy and an infallible start")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forwards `pull` and `cancel` to an iterator source but not `core_next`: the iterator
    /// source pulled through its own `pull`, as anything but the core's call would pull it.
    struct PullOnly<S>(S);

    impl<T: Send + 'static, S: UnderlyingSource<T>> UnderlyingSource<T> for PullOnly<S> {
        fn pull(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
            self.0.pull(controller)
        }

        fn cancel(&mut self, reason: StreamError) -> Completion {
            self.0.cancel(reason)
        }
    }

    #[test]
    fn an_iterator_source_pulled_through_pull_enqueues_every_item_then_closes() {
        let source = IterSource {
            iter: Some(vec![1, 2, 3].into_iter()),
            on_cancel: None,
        };
        let stream = ReadableStream::new(PullOnly(source)).unwrap();
        let reader = stream.get_reader().unwrap();
        // Each read is over within its first poll (the pull enqueues before returning), so a pull
        // that enqueued nothing fails here instead of waiting forever.
        let read = || {
            futures::FutureExt::now_or_never(reader.read())
                .expect("the pull answers the read at once")
                .unwrap()
        };
        assert_eq!(
            [read(), read(), read(), read()],
            [Some(1), Some(2), Some(3), None]
        );
    }
}
