//! The `ReadableStreamDefaultController` class and its abstract operations
//! (§ "Default controllers").

use std::fmt;
use std::sync::{Arc, Weak};

use crate::host::CellGuard;

use crate::algorithm::{call_or_defer, checkin, Checkout};
use crate::error::{catch_user, StreamError};
use crate::host::Completion;
use crate::stats::{byte_len, readable_phase, Phase};
use crate::strategy::{call_size, SizeAlgorithm};

use super::from::readable_stream_from_iterable_pulled;
use super::stream::{
    is_readable_stream_locked, react, readable_stream_add_read_request, readable_stream_close,
    readable_stream_error, readable_stream_fulfill_read_request, readable_stream_get_num_read_requests,
    Garbage, Inner, Settled, Slots, Stream, StreamState,
};
use super::{CoreNext, ReadOutcome, ReadRequest};

/// The handle an underlying source uses to feed its stream: the standard's
/// `ReadableStreamDefaultController`.
///
/// It is cheap to clone and may be kept (a push source keeps it to enqueue later). It does not
/// keep the stream alive: once every handle to the stream is gone, its methods return a
/// `TypeError`.
pub struct ReadableStreamDefaultController<T> {
    stream: Weak<Inner<T>>,
}

impl<T> Clone for ReadableStreamDefaultController<T> {
    fn clone(&self) -> Self {
        ReadableStreamDefaultController {
            stream: self.stream.clone(),
        }
    }
}

impl<T> fmt::Debug for ReadableStreamDefaultController<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadableStreamDefaultController")
    }
}

fn gone() -> StreamError {
    StreamError::type_error("the readable stream behind this controller has been dropped")
}

impl<T> ReadableStreamDefaultController<T> {
    /// The controller of the stream being made (`Arc::new_cyclic`).
    pub(crate) fn of(stream: Weak<Inner<T>>) -> Self {
        ReadableStreamDefaultController { stream }
    }
}

impl<T: Send + 'static> ReadableStreamDefaultController<T> {
    pub(crate) fn stream(&self) -> Option<Stream<T>> {
        self.stream.upgrade()
    }

    /// The stream this controller feeds, while it exists. Holding the handle keeps the stream
    /// alive: a binding whose script-side controller must keep its stream alive (as a JavaScript
    /// controller does) holds one. `None` as well once the stream's group was given up because
    /// nothing outside the core held it (DESIGN.md, "A group nobody holds is freed").
    pub fn readable_stream(&self) -> Option<super::ReadableStream<T>> {
        self.stream().and_then(super::ReadableStream::try_handle)
    }

    /// The standard's `desiredSize`: the high-water mark minus the queued size; `None` once the
    /// stream is errored, 0 once it is closed. It can be negative.
    pub fn desired_size(&self) -> Option<f64> {
        let stream = self.stream()?;
        let _entered = stream.domain.enter();
        let slots = stream.lock();
        readable_stream_default_controller_get_desired_size(&slots)
    }

    /// The standard's `close()`: closes the stream once the queued chunks have been read. A
    /// `TypeError` if the stream is already closing, closed or errored.
    pub fn close(&self) -> Result<(), StreamError> {
        let stream = self.stream().ok_or_else(gone)?;
        let _entered = stream.domain.enter();
        if !readable_stream_default_controller_can_close_or_enqueue(&stream.lock()) {
            return Err(StreamError::type_error(
                "the stream is not in a state that permits close",
            ));
        }
        readable_stream_default_controller_close(&stream);
        Ok(())
    }

    /// The standard's `enqueue(chunk)`. A `TypeError` if the stream is closing, closed or errored
    /// (the chunk is not taken); the size function's error if measuring the chunk fails (the
    /// stream is then errored).
    pub fn enqueue(&self, chunk: T) -> Result<(), StreamError> {
        let stream = self.stream().ok_or_else(gone)?;
        let _entered = stream.domain.enter();
        readable_stream_default_controller_enqueue(&stream, chunk).map_err(EnqueueError::into_error)
    }

    /// The standard's `error(e)`: errors the stream; does nothing if it is not readable.
    pub fn error(&self, e: StreamError) {
        if let Some(stream) = self.stream() {
            let _entered = stream.domain.enter();
            readable_stream_default_controller_error(&stream, e);
        }
    }
}

/// SetUpReadableStreamDefaultController steps 9–11: runs the start algorithm and reacts to it.
/// A synchronous failure of `start` is returned (the constructor rethrows it).
pub(crate) fn set_up_readable_stream_default_controller<T: Send + 'static>(
    stream: &Stream<T>,
) -> Result<(), StreamError> {
    let controller = &stream.controller;
    let source = match stream.lock().controller.source.checkout() {
        Checkout::Got(s) => s,
        _ => unreachable!("a new stream's source is present"),
    };
    let mut source = source;
    let start_result = catch_user(|| source.start(controller));
    checkin(&stream.slots, |s: &mut Slots<T>| &mut s.controller.source, source);
    let completion = match start_result {
        Ok(Completion::Ready(Err(e))) | Err(e) => return Err(e),
        Ok(c) => c,
    };
    let weak = Arc::downgrade(stream);
    react(stream, completion, move |result| {
        let Some(stream) = weak.upgrade() else { return };
        match result {
            Ok(()) => {
                {
                    let mut slots = stream.lock();
                    slots.controller.started = true;
                    debug_assert!(!slots.controller.pulling);
                    debug_assert!(!slots.controller.pull_again);
                }
                readable_stream_default_controller_call_pull_if_needed(&stream);
            }
            Err(r) => readable_stream_default_controller_error(&stream, r),
        }
    });
    Ok(())
}

/// ReadableStreamDefaultControllerCallPullIfNeeded.
pub(crate) fn readable_stream_default_controller_call_pull_if_needed<T: Send + 'static>(stream: &Stream<T>) {
    readable_stream_default_controller_call_pull_if_needed_locked(stream, stream.lock());
}

/// ReadableStreamDefaultControllerCallPullIfNeeded on slots the caller has locked already (an
/// enqueue or a read that ends with it), sparing a lock round trip. The lock is released before
/// the pull runs.
pub(crate) fn readable_stream_default_controller_call_pull_if_needed_locked<'a, T: Send + 'static>(
    stream: &'a Stream<T>,
    mut slots: CellGuard<'a, Slots<T>>,
) {
    loop {
        let mut source = {
            if !readable_stream_default_controller_should_call_pull(&slots) {
                return;
            }
            if slots.controller.pulling {
                slots.controller.pull_again = true;
                return;
            }
            debug_assert!(!slots.controller.pull_again);
            slots.controller.pulling = true;
            let source = match slots.controller.source.checkout() {
                Checkout::Got(s) => Some(s),
                // Cleared: the default pull algorithm returns a promise resolved with undefined.
                Checkout::Cleared | Checkout::Busy => None,
            };
            drop(slots);
            source
        };
        let completion = match source.as_mut() {
            Some(s) => match catch_user(|| match s.core_next() {
                Some(next) => Pulled::Next(next),
                None => Pulled::Completion(s.pull(&stream.controller)),
            }) {
                Ok(Pulled::Completion(completion)) => completion,
                // The crate's iterator source: its IteratorNext ran outside the domain; the rest
                // of its pull runs here, with the domain still held from the call.
                Ok(Pulled::Next(CoreNext(next))) => {
                    readable_stream_from_iterable_pulled(stream, next);
                    Completion::ok()
                }
                Err(e) => Completion::err(e),
            },
            None => Completion::ok(),
        };
        if let Some(s) = source {
            checkin(&stream.slots, |s: &mut Slots<T>| &mut s.controller.source, s);
        }
        if completion.is_fulfilled() {
            // Inside a pipe on a native driver, the pull that is already over is reacted to now
            // (the fulfillment steps below, as a loop rather than a call, so that a source pulled
            // again and again does not deepen the stack).
            slots = stream.lock();
            if slots.controller.inline_completions && !stream.host.abandoned() {
                if pull_fulfilled(&mut slots) {
                    continue;
                }
                return;
            }
            drop(slots);
        }
        let weak = Arc::downgrade(stream);
        react(stream, completion, move |result| {
            let Some(stream) = weak.upgrade() else { return };
            match result {
                Ok(()) => {
                    let mut slots = stream.lock();
                    if pull_fulfilled(&mut slots) {
                        readable_stream_default_controller_call_pull_if_needed_locked(&stream, slots);
                    }
                }
                Err(e) => readable_stream_default_controller_error(&stream, e),
            }
        });
        return;
    }
}

/// What calling a source's pull algorithm gave: its completion, or (the crate's iterator source,
/// [`UnderlyingSource::core_next`](super::UnderlyingSource::core_next)) the iterator's next item
/// for the core to enqueue.
enum Pulled<T> {
    Completion(Completion),
    Next(CoreNext<T>),
}

/// CallPullIfNeeded step 7, upon fulfillment of pullPromise: pulling is over; returns whether
/// the source must be pulled again (pullAgain was set meanwhile, and is cleared).
fn pull_fulfilled<T>(slots: &mut Slots<T>) -> bool {
    slots.controller.pulling = false;
    std::mem::take(&mut slots.controller.pull_again)
}

/// ReadableStreamDefaultControllerShouldCallPull.
pub(crate) fn readable_stream_default_controller_should_call_pull<T>(slots: &Slots<T>) -> bool {
    if !readable_stream_default_controller_can_close_or_enqueue(slots) {
        return false;
    }
    if !slots.controller.started {
        return false;
    }
    if is_readable_stream_locked(slots) && readable_stream_get_num_read_requests(slots) > 0 {
        return true;
    }
    let desired = readable_stream_default_controller_get_desired_size(slots)
        .expect("readable stream has a desired size");
    desired > 0.0
}

/// ReadableStreamDefaultControllerClearAlgorithms. The source and the size function are handed
/// back, for the caller to drop once the lock is released (their `Drop` is user code); a source
/// that is checked out is dropped when it comes back.
#[must_use = "drop the cleared algorithms after unlocking"]
pub(crate) fn readable_stream_default_controller_clear_algorithms<T>(slots: &mut Slots<T>) -> Garbage<T> {
    Garbage {
        source: slots.controller.source.clear(),
        size: slots.controller.strategy_size.take().into_user(),
        chunks: None,
    }
}

/// ReadableStreamDefaultControllerClose.
pub(crate) fn readable_stream_default_controller_close<T: Send + 'static>(stream: &Stream<T>) {
    let settled = {
        let mut slots = stream.lock();
        if !readable_stream_default_controller_can_close_or_enqueue(&slots) {
            return;
        }
        slots.controller.close_requested = true;
        if !slots.controller.queue.is_empty() {
            return;
        }
        let cleared = readable_stream_default_controller_clear_algorithms(&mut slots);
        readable_stream_close(&mut slots).with_garbage(cleared)
    };
    settled.run();
}

/// Why [`readable_stream_default_controller_enqueue`] did not take its chunk.
#[derive(Debug)]
pub(crate) enum EnqueueError {
    /// ReadableStreamDefaultControllerCanCloseOrEnqueue is false (the stream is closing, closed or
    /// errored): nothing happened. The abstract operation does nothing then; the `enqueue()`
    /// methods, which check first, throw a `TypeError`.
    CannotEnqueue,
    /// Measuring the chunk failed: the abrupt completion the standard returns. The stream is
    /// errored with it.
    Size(StreamError),
}

impl EnqueueError {
    /// The error an `enqueue()` method reports.
    pub(crate) fn into_error(self) -> StreamError {
        match self {
            EnqueueError::CannotEnqueue => {
                StreamError::type_error("the stream is not in a state that permits enqueue")
            }
            EnqueueError::Size(e) => e,
        }
    }
}

/// ReadableStreamDefaultControllerEnqueue, with the check of the `enqueue()` methods in the same
/// lock hold: [`EnqueueError::CannotEnqueue`] where the abstract operation would do nothing.
pub(crate) fn readable_stream_default_controller_enqueue<T: Send + 'static>(
    stream: &Stream<T>,
    chunk: T,
) -> Result<(), EnqueueError> {
    let mut slots = stream.lock();
    if !readable_stream_default_controller_can_close_or_enqueue(&slots) {
        return Err(EnqueueError::CannotEnqueue);
    }
    if is_readable_stream_locked(&slots) && readable_stream_get_num_read_requests(&slots) > 0 {
        let request = readable_stream_fulfill_read_request(&mut slots);
        slots.meter.chunk_in(&chunk);
        slots.meter.chunk_out(&chunk);
        let phase = readable_phase(&slots);
        slots.meter.phase(phase);
        drop(slots);
        request.chunk_steps(chunk);
    } else {
        let size = match &slots.controller.strategy_size {
            SizeAlgorithm::Count => 1.0,
            SizeAlgorithm::Builtin(measure) => measure(&chunk),
            SizeAlgorithm::User(f) => {
                // The size function is user code: run it with the lock released.
                let f = Some(f.clone());
                drop(slots);
                let result = call_size(&f, &chunk);
                slots = stream.lock();
                match result {
                    Ok(size) => size,
                    Err(e) => {
                        drop(slots);
                        readable_stream_default_controller_error(stream, e.clone());
                        return Err(EnqueueError::Size(e));
                    }
                }
            }
        };
        let bytes = byte_len(&chunk);
        if let Err((_chunk, e)) = slots.controller.queue.enqueue_value_with_size(chunk, size) {
            drop(slots);
            readable_stream_default_controller_error(stream, e.clone());
            return Err(EnqueueError::Size(e));
        }
        slots.meter.bytes_in(bytes);
        let phase = readable_phase(&slots);
        slots.meter.phase(phase);
        readable_stream_default_controller_call_pull_if_needed_locked(stream, slots);
        return Ok(());
    }
    readable_stream_default_controller_call_pull_if_needed(stream);
    Ok(())
}

/// ReadableStreamDefaultControllerError.
pub(crate) fn readable_stream_default_controller_error<T: Send + 'static>(
    stream: &Stream<T>,
    e: StreamError,
) {
    let settled = {
        let mut slots = stream.lock();
        readable_stream_default_controller_error_locked(&mut slots, e)
    };
    settled.run();
}

/// ReadableStreamDefaultControllerError on already locked slots.
pub(crate) fn readable_stream_default_controller_error_locked<T>(
    slots: &mut Slots<T>,
    e: StreamError,
) -> Settled<T> {
    if !matches!(slots.state, StreamState::Readable) {
        return Settled::none();
    }
    // ResetQueue: the discarded chunks are dropped once unlocked.
    let chunks = slots.controller.queue.take_queue();
    let mut cleared = readable_stream_default_controller_clear_algorithms(slots);
    cleared.chunks = Some(chunks);
    readable_stream_error(slots, e).with_garbage(cleared)
}

/// ReadableStreamDefaultControllerGetDesiredSize.
pub(crate) fn readable_stream_default_controller_get_desired_size<T>(slots: &Slots<T>) -> Option<f64> {
    match slots.state {
        StreamState::Errored(_) => None,
        StreamState::Closed => Some(0.0),
        StreamState::Readable => Some(slots.controller.strategy_hwm - slots.controller.queue.total_size()),
    }
}

/// ReadableStreamDefaultControllerHasBackpressure.
pub(crate) fn readable_stream_default_controller_has_backpressure<T>(slots: &Slots<T>) -> bool {
    !readable_stream_default_controller_should_call_pull(slots)
}

/// ReadableStreamDefaultControllerCanCloseOrEnqueue.
pub(crate) fn readable_stream_default_controller_can_close_or_enqueue<T>(slots: &Slots<T>) -> bool {
    !slots.controller.close_requested && matches!(slots.state, StreamState::Readable)
}

/// `[[CancelSteps]](reason)`: resets the queue, runs the cancel algorithm, clears the algorithms;
/// `on_settled` receives the cancel algorithm's outcome.
pub(crate) fn cancel_steps<T: Send + 'static>(
    stream: &Stream<T>,
    reason: StreamError,
    on_settled: impl FnOnce(Result<(), StreamError>) + Send + 'static,
) {
    // 1. ResetQueue (the discarded chunks are dropped outside the lock).
    let discarded = stream.lock().controller.queue.take_queue();
    drop(discarded);
    let weak = Arc::downgrade(stream);
    type Done = Box<dyn FnOnce(Result<(), StreamError>) + Send>;
    let pending: Arc<parking_lot::Mutex<Option<Done>>> =
        Arc::new(parking_lot::Mutex::new(Some(Box::new(on_settled))));
    let p = pending.clone();
    let called = call_or_defer(
        &stream.slots,
        |s: &mut Slots<T>| &mut s.controller.source,
        move |source| {
            let completion = catch_user(|| source.cancel(reason)).unwrap_or_else(Completion::err);
            if let (Some(stream), Some(done)) = (weak.upgrade(), p.lock().take()) {
                react(&stream, completion, done);
            }
        },
    );
    if !called {
        // Already cleared: the default cancel algorithm returns a promise resolved with undefined.
        if let Some(done) = pending.lock().take() {
            react(stream, Completion::ok(), done);
        }
    }
    let cleared = readable_stream_default_controller_clear_algorithms(&mut stream.lock());
    drop(cleared);
}

/// `[[PullSteps]](readRequest)` for a default controller, on the locked slots of a readable
/// stream. A chunk available at once is returned instead of being handed to a request, so the
/// common read allocates nothing; otherwise `make_request` is queued.
pub(crate) fn pull_steps<T: Send + 'static>(
    stream: &Stream<T>,
    mut slots: CellGuard<'_, Slots<T>>,
    make_request: impl FnOnce() -> Box<dyn ReadRequest<T>>,
) -> ReadOutcome<T> {
    if let Some(chunk) = slots.controller.queue.dequeue_value() {
        slots.meter.chunk_out(&chunk);
        let phase = readable_phase(&slots);
        slots.meter.phase(phase);
        if slots.controller.close_requested && slots.controller.queue.is_empty() {
            let cleared = readable_stream_default_controller_clear_algorithms(&mut slots);
            let settled = readable_stream_close(&mut slots).with_garbage(cleared);
            drop(slots);
            settled.run();
        } else {
            readable_stream_default_controller_call_pull_if_needed_locked(stream, slots);
        }
        ReadOutcome::Chunk(chunk)
    } else {
        readable_stream_add_read_request(&mut slots, make_request());
        slots.meter.phase(Phase::Starved);
        readable_stream_default_controller_call_pull_if_needed_locked(stream, slots);
        ReadOutcome::Queued
    }
}
