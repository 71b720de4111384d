//! A push source without callbacks: [`ReadableStream::channel`] returns a
//! [`ReadableStreamSender`] and the stream it feeds, the way `tokio::sync::mpsc::channel` returns a
//! sender and a receiver.
//!
//! `send(chunk).await` waits for backpressure: it enqueues the chunk once the stream wants more
//! (its desired size, less the chunks being sent right now, is above zero, or a read is waiting on
//! an empty queue), so a producer never runs more than the high-water mark ahead of the consumer.
//! `close()` and `error(e)` end the stream; dropping the last sender closes it; cancelling the
//! stream makes every later (and every waiting) `send` fail with the cancel reason, handing the
//! chunk back.
//!
//! It is built on the public controller API only: an underlying source whose `pull` records that
//! the stream wants a chunk and wakes the waiting senders, and whose `cancel` records the reason.
//!
//! # Locks
//!
//! Three locks are involved: the channel's state, its list of waiting tasks, and the stream's own.
//! The state lock may be held while the stream's is taken (to read the desired size), never the
//! other way round: the core calls `pull` and `cancel` with no stream lock held, and the one piece
//! of the source that may run under the stream's lock (its drop, when the stream lets go of its
//! algorithms) touches only an atomic flag and the waiter list, which is a leaf lock. The
//! controller's `enqueue`, `close` and `error` are called with no channel lock held, since they may
//! call `pull` synchronously.

use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::error::StreamError;
use crate::host::{Completion, Driver, Hold, HostRef};
use crate::strategy::{QueuingStrategy, SizeFn};

use super::{ReadableStream, ReadableStreamDefaultController, SourceFn};

impl<T: Send + 'static> ReadableStream<T> {
    /// A stream fed by a [`ReadableStreamSender`]: the stream queues up to `high_water_mark`
    /// chunks before `send` waits (0 makes every `send` wait for a read, a rendezvous).
    ///
    /// ```
    /// use sluicegate::readable::ReadableStream;
    ///
    /// # futures::executor::block_on(async {
    /// let (tx, stream) = ReadableStream::channel(2);
    /// let producer = async move {
    ///     for n in 1..=5u32 {
    ///         tx.send(n).await.unwrap(); // waits while 2 chunks are queued
    ///     }
    ///     // Dropping the last sender closes the stream.
    /// };
    /// let consumer = async {
    ///     let reader = stream.get_reader().unwrap();
    ///     let mut got = Vec::new();
    ///     while let Some(n) = reader.read().await.unwrap() {
    ///         got.push(n);
    ///     }
    ///     got
    /// };
    /// let ((), got) = futures::join!(producer, consumer);
    /// assert_eq!(got, [1, 2, 3, 4, 5]);
    /// # });
    /// ```
    pub fn channel(high_water_mark: usize) -> (ReadableStreamSender<T>, ReadableStream<T>) {
        Self::channel_with_strategy(
            QueuingStrategy::count(high_water_mark as f64),
            Driver::new_implicit(),
        )
        .expect("a count strategy with a finite, non-negative high-water mark is valid")
    }

    /// Like [`channel`](Self::channel), with any queuing strategy (a size function measures each
    /// chunk, as for any stream) and on an explicit host. A NaN or negative high-water mark is a
    /// `RangeError`.
    pub fn channel_with_strategy(
        strategy: impl Into<QueuingStrategy<T>>,
        host: HostRef,
    ) -> Result<(ReadableStreamSender<T>, ReadableStream<T>), StreamError> {
        let strategy = strategy.into();
        let high_water_mark = strategy.extract_high_water_mark(1.0)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                controller: None,
                demand: false,
                in_flight: 0,
                in_flight_size: 0.0,
                ending: None,
                closing: false,
                senders: 1,
                enqueued: 0,
            }),
            waiters: Mutex::new(Vec::new()),
            source_dropped: AtomicBool::new(false),
            size: strategy.size.clone(),
            high_water_mark,
            host: host.clone(),
        });
        let guard = SourceGuard(shared.clone());
        let (on_start, on_pull, on_cancel) = (shared.clone(), shared.clone(), shared.clone());
        let source = SourceFn::new()
            .start(move |c: &ReadableStreamDefaultController<T>| {
                on_start.state.lock().controller = Some(c.clone());
                Completion::ok()
            })
            .pull(move |_: &ReadableStreamDefaultController<T>| {
                // Kept by the closure: dropped with the source (see `SourceGuard`).
                let _ = &guard;
                on_pull.state.lock().demand = true;
                on_pull.wake_all();
                Completion::ok()
            })
            .cancel(move |reason| {
                {
                    let mut state = on_cancel.state.lock();
                    if state.ending.is_none() {
                        state.ending = Some(Ended::Cancelled(reason));
                    }
                }
                on_cancel.wake_all();
                Completion::ok()
            });
        let stream = ReadableStream::with_host(source, strategy, host)?;
        let hold = stream.hold.clone();
        Ok((ReadableStreamSender { shared, hold }, stream))
    }
}

/// The sending half of [`ReadableStream::channel`]: `Send + Sync`, cloneable (every clone feeds
/// the same stream; the stream closes when the last one is dropped).
///
/// Chunks from one sender arrive in the order sent. Senders waiting at the same time are let in
/// as the stream asks for chunks, in no promised order.
pub struct ReadableStreamSender<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    /// Keeps the stream's group from being abandoned while a sender may still send (its sends
    /// drive the stream's host). Held by each sender, not by `Shared`, which the stream's own
    /// source holds.
    hold: Hold,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Tasks waiting for the stream to want a chunk (or to end). A leaf lock.
    waiters: Mutex<Vec<Waker>>,
    /// Set when the stream drops its source: it was dropped, or it has closed, errored or been
    /// cancelled and let go of its algorithms.
    source_dropped: AtomicBool,
    size: Option<SizeFn<T>>,
    high_water_mark: f64,
    host: HostRef,
}

struct State<T> {
    /// The stream's controller, from `start`.
    controller: Option<ReadableStreamDefaultController<T>>,
    /// `pull` was called and no send was let in since: with a high-water mark of 0, a read may be
    /// waiting on the empty queue (the desired size alone never says so).
    demand: bool,
    /// Sends let in whose `enqueue` has not returned yet, and their total size: the desired size
    /// does not count them yet.
    in_flight: usize,
    in_flight_size: f64,
    /// Why sends fail from now on.
    ending: Option<Ended>,
    /// `close()` was called while sends were in flight: the last of them closes the stream.
    closing: bool,
    senders: usize,
    /// How many sends have finished their enqueue: a send that read the desired size before
    /// another finished reads it again.
    enqueued: u64,
}

impl<T> State<T> {
    /// `Err(reason)` once sends fail.
    fn open(&self) -> Result<(), StreamError> {
        match &self.ending {
            Some(ended) => Err(ended.reason()),
            None if self.closing => Err(Ended::Closed.reason()),
            None => Ok(()),
        }
    }
}

/// Why a stream no longer takes chunks.
enum Ended {
    Closed,
    Errored(StreamError),
    Cancelled(StreamError),
}

impl Ended {
    fn reason(&self) -> StreamError {
        match self {
            Ended::Closed => StreamError::type_error("the channel's stream is closed"),
            Ended::Errored(e) | Ended::Cancelled(e) => e.clone(),
        }
    }
}

/// Held by the source's `pull` closure, so dropped with the source: wakes the waiting senders so
/// that they find out (a stream dropped with senders waiting would otherwise leave them waiting).
/// It may be dropped under the stream's lock, so it touches only the flag and the waiter list.
struct SourceGuard<T>(Arc<Shared<T>>);

impl<T> Drop for SourceGuard<T> {
    fn drop(&mut self) {
        self.0.source_dropped.store(true, Ordering::Release);
        self.0.wake_all();
    }
}

impl<T> Shared<T> {
    fn wake_all(&self) {
        let waiters = std::mem::take(&mut *self.waiters.lock());
        for w in waiters {
            w.wake();
        }
    }

    fn register(&self, waker: &Waker) {
        let mut waiters = self.waiters.lock();
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push(waker.clone());
        }
    }
}

/// What a send may do now.
enum Admission<T> {
    /// Enqueue, with this controller; the send counts as in flight.
    Go(ReadableStreamDefaultController<T>, f64),
    /// The stream has ended: fail with this reason.
    Ended(StreamError),
    /// The stream wants nothing now.
    Full,
}

/// A send that failed: the stream was closed, errored or cancelled (or dropped). Holds the reason
/// and gives the chunk back.
pub struct SendError<T> {
    chunk: Option<T>,
    reason: StreamError,
}

impl<T> SendError<T> {
    /// Why the stream takes no more chunks: the cancel reason, the error the stream was errored
    /// with, or a `TypeError` for a stream that was closed or dropped.
    pub fn reason(&self) -> &StreamError {
        &self.reason
    }

    /// The chunk that was not sent. `None` only when the stream ended (was cancelled or errored)
    /// in the instant between the send being let in and its enqueue: the stream then discarded
    /// its whole queue, and the chunk went with the chunks queued before it.
    pub fn into_chunk(self) -> Option<T> {
        self.chunk
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("reason", &self.reason)
            .field("chunk_returned", &self.chunk.is_some())
            .finish()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the stream takes no more chunks: {}", self.reason)
    }
}

impl<T> std::error::Error for SendError<T> {}

/// A [`ReadableStreamSender::try_send`] that did not send.
#[derive(Debug)]
pub enum TrySendError<T> {
    /// The stream wants no chunk now (its queue is at the high-water mark): the chunk, back.
    Full(T),
    /// The stream takes no more chunks.
    Ended(SendError<T>),
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the stream's queue is full"),
            TrySendError::Ended(e) => e.fmt(f),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for TrySendError<T> {}

impl<T: Send + 'static> ReadableStreamSender<T> {
    /// Enqueues `chunk` once the stream wants it; fails (giving the chunk back) if the stream is
    /// closed, errored, cancelled or dropped, now or while waiting.
    ///
    /// Dropping the future before it completes drops the chunk unsent: nothing was enqueued.
    ///
    /// ```
    /// use sluicegate::readable::ReadableStream;
    /// use sluicegate::StreamError;
    ///
    /// # futures::executor::block_on(async {
    /// let (tx, stream) = ReadableStream::channel(1);
    /// stream.cancel(StreamError::user("enough")).await.unwrap();
    /// let failed = tx.send("late").await.unwrap_err();
    /// assert_eq!(failed.reason().reason::<&str>(), Some(&"enough"));
    /// assert_eq!(failed.into_chunk(), Some("late"));
    /// # });
    /// ```
    pub async fn send(&self, chunk: T) -> Result<(), SendError<T>> {
        let mut chunk = Some(chunk);
        poll_fn(|cx| self.poll_send(cx, &mut chunk)).await
    }

    fn poll_send(&self, cx: &mut Context<'_>, chunk: &mut Option<T>) -> Poll<Result<(), SendError<T>>> {
        // Let the stream's queued steps run (the reaction to a pull that asks for the next one),
        // and be woken when it queues more.
        self.shared.host.poll_progress(cx);
        // Registered before looking, so a pull between the look and the wait is not missed.
        self.shared.register(cx.waker());
        let Some(held) = chunk.as_ref() else {
            return Poll::Pending;
        };
        match self.admit(held) {
            Admission::Go(controller, size) => {
                let chunk = chunk.take().expect("checked above");
                Poll::Ready(self.enqueue(controller, chunk, size))
            }
            Admission::Ended(reason) => Poll::Ready(Err(SendError {
                chunk: chunk.take(),
                reason,
            })),
            Admission::Full => Poll::Pending,
        }
    }

    /// Enqueues `chunk` if the stream wants it now, without waiting.
    pub fn try_send(&self, chunk: T) -> Result<(), TrySendError<T>> {
        match self.admit(&chunk) {
            Admission::Go(controller, size) => {
                self.enqueue(controller, chunk, size).map_err(TrySendError::Ended)
            }
            Admission::Ended(reason) => Err(TrySendError::Ended(SendError {
                chunk: Some(chunk),
                reason,
            })),
            Admission::Full => Err(TrySendError::Full(chunk)),
        }
    }

    /// Whether a chunk may be enqueued now; if so, counts it in flight.
    fn admit(&self, chunk: &T) -> Admission<T> {
        // Measured before any lock is taken: the size function is user code.
        let size = match &self.shared.size {
            Some(f) => f(chunk).unwrap_or(1.0),
            None => 1.0,
        };
        loop {
            let (controller, seen) = {
                let state = self.shared.state.lock();
                if let Err(reason) = state.open() {
                    return Admission::Ended(reason);
                }
                let Some(controller) = state.controller.clone() else {
                    return Admission::Ended(StreamError::type_error(
                        "the channel's stream was never started",
                    ));
                };
                (controller, state.enqueued)
            };
            // Read with no lock of the channel's held (see the module docs on locks).
            let Some(desired) = controller.desired_size() else {
                // Errored (by a size function, say) or dropped.
                let reason = controller
                    .readable_stream()
                    .and_then(|s| s.stored_error())
                    .unwrap_or_else(|| StreamError::type_error("the channel's stream has been dropped"));
                return Admission::Ended(reason);
            };
            let mut state = self.shared.state.lock();
            if let Err(reason) = state.open() {
                return Admission::Ended(reason);
            }
            if self.shared.source_dropped.load(Ordering::Acquire) {
                return Admission::Ended(StreamError::type_error("the channel's stream has been dropped"));
            }
            if state.enqueued != seen {
                // Another send enqueued after the desired size was read: read it again.
                continue;
            }
            // The desired size says whether the stream wants a chunk, except with a high-water
            // mark of 0: then it is 0 whether or not a read waits on the empty queue, and only a
            // pull says one does. (With a positive high-water mark, a waiting read means an empty
            // queue, so a positive desired size: a pull adds nothing, and a pull that is no longer
            // current must not let a chunk in over the mark.)
            let read_waiting =
                state.demand && self.shared.high_water_mark == 0.0 && desired >= 0.0 && state.in_flight == 0;
            if read_waiting || desired - state.in_flight_size > 0.0 {
                state.demand = false;
                state.in_flight += 1;
                state.in_flight_size += size;
                return Admission::Go(controller, size);
            }
            return Admission::Full;
        }
    }

    /// Enqueues a chunk let in by [`admit`](Self::admit), then finishes a `close()` that waited
    /// for it.
    fn enqueue(
        &self,
        controller: ReadableStreamDefaultController<T>,
        chunk: T,
        size: f64,
    ) -> Result<(), SendError<T>> {
        let result = controller.enqueue(chunk);
        let close_now = {
            let mut state = self.shared.state.lock();
            state.enqueued = state.enqueued.wrapping_add(1);
            state.in_flight -= 1;
            state.in_flight_size -= size;
            if state.in_flight == 0 {
                state.in_flight_size = 0.0;
            }
            state.closing && state.in_flight == 0 && state.ending.is_none()
        };
        // A send that looked while this one was in flight counted it twice (once in the desired
        // size, once in flight) and may be waiting: let it look again.
        self.shared.wake_all();
        if close_now {
            self.finish_close(&controller);
        }
        result.map_err(|e| {
            // The stream ended between the admission and the enqueue; report why it ended.
            let reason = self
                .shared
                .state
                .lock()
                .ending
                .as_ref()
                .map(Ended::reason)
                .or_else(|| controller.readable_stream().and_then(|s| s.stored_error()))
                .unwrap_or(e);
            SendError { chunk: None, reason }
        })
    }

    /// Closes the stream: the chunks already sent are still read, then the stream is done. Sends
    /// in flight on other threads finish first. A `TypeError` if the stream was already closed,
    /// errored or cancelled.
    pub fn close(&self) -> Result<(), StreamError> {
        let controller = {
            let mut state = self.shared.state.lock();
            if let Some(ended) = &state.ending {
                return Err(ended.reason());
            }
            if state.closing {
                return Err(Ended::Closed.reason());
            }
            if state.in_flight > 0 {
                state.closing = true;
                None
            } else {
                state.ending = Some(Ended::Closed);
                state.controller.clone()
            }
        };
        self.shared.wake_all();
        match controller {
            Some(c) => c.close(),
            None => Ok(()),
        }
    }

    fn finish_close(&self, controller: &ReadableStreamDefaultController<T>) {
        self.shared.state.lock().ending = Some(Ended::Closed);
        self.shared.wake_all();
        let _ = controller.close();
    }

    /// Errors the stream with `e`: queued chunks are discarded and the reader sees `e`; later
    /// sends fail with it. Does nothing if the stream had already ended.
    pub fn error(&self, e: StreamError) {
        let controller = {
            let mut state = self.shared.state.lock();
            if state.ending.is_some() {
                return;
            }
            state.ending = Some(Ended::Errored(e.clone()));
            state.controller.clone()
        };
        self.shared.wake_all();
        if let Some(c) = controller {
            c.error(e);
        }
    }

    /// The stream's desired size (see
    /// [`ReadableStreamDefaultController::desired_size`]), `None` once it is errored or dropped.
    pub fn desired_size(&self) -> Option<f64> {
        let controller = self.shared.state.lock().controller.clone()?;
        controller.desired_size()
    }

    /// Whether sends now fail: the stream was closed, errored, cancelled or dropped.
    pub fn is_closed(&self) -> bool {
        let controller = {
            let state = self.shared.state.lock();
            if state.open().is_err() {
                return true;
            }
            state.controller.clone()
        };
        self.shared.source_dropped.load(Ordering::Acquire)
            || controller.is_none_or(|c| c.desired_size().is_none())
    }
}

impl<T: Send + 'static> Clone for ReadableStreamSender<T> {
    fn clone(&self) -> Self {
        self.shared.state.lock().senders += 1;
        ReadableStreamSender {
            shared: self.shared.clone(),
            hold: self.hold.clone(),
        }
    }
}

impl<T: Send + 'static> Drop for ReadableStreamSender<T> {
    fn drop(&mut self) {
        let last = {
            let mut state = self.shared.state.lock();
            state.senders -= 1;
            state.senders == 0
        };
        if last {
            // As `close()`; a stream that already ended stays as it is.
            let _ = self.close();
        }
    }
}

impl<T: Send + 'static> fmt::Debug for ReadableStreamSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadableStreamSender")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
