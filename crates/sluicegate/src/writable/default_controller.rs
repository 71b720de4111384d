//! The `WritableStreamDefaultController` class and its abstract operations
//! (§ "Default controllers").

use std::fmt;
use std::sync::{Arc, Weak};

use crate::abort::AbortSignal;
use crate::algorithm::{checkin, Checkout};
use crate::error::{catch_user, StreamError};
use crate::host::Completion;
use crate::promise::PromiseCell;
use crate::stats::{byte_len, writable_phase};
use crate::strategy::{call_size, SizeAlgorithm};

use super::sink::UnderlyingSink;
use super::stream::{
    locked, react, writable_stream_close_queued_or_in_flight, writable_stream_deal_with_rejection_locked,
    writable_stream_finish_erroring_locked, writable_stream_finish_in_flight_close,
    writable_stream_finish_in_flight_close_with_error_locked, writable_stream_finish_in_flight_write,
    writable_stream_finish_in_flight_write_with_error_locked, writable_stream_mark_close_request_in_flight,
    writable_stream_mark_first_write_request_in_flight,
    writable_stream_reject_close_and_closed_promise_if_needed, writable_stream_start_erroring_locked,
    writable_stream_update_backpressure, Effects, Inner, QueueItem, SinkCall, Slots, Stream, WritableState,
};

/// The handle an underlying sink uses to control its stream: the standard's
/// `WritableStreamDefaultController`.
///
/// It is cheap to clone and may be kept. It does not keep the stream alive: once every handle to
/// the stream is gone, [`error`](Self::error) does nothing.
pub struct WritableStreamDefaultController<T> {
    stream: Weak<Inner<T>>,
    signal: AbortSignal,
}

impl<T> Clone for WritableStreamDefaultController<T> {
    fn clone(&self) -> Self {
        WritableStreamDefaultController {
            stream: self.stream.clone(),
            signal: self.signal.clone(),
        }
    }
}

impl<T> fmt::Debug for WritableStreamDefaultController<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WritableStreamDefaultController")
            .field("signal", &self.signal)
            .finish()
    }
}

impl<T> WritableStreamDefaultController<T> {
    /// The controller of the stream being made (`Arc::new_cyclic`), with its abort signal.
    pub(crate) fn with_parts(stream: Weak<Inner<T>>, signal: AbortSignal) -> Self {
        WritableStreamDefaultController { stream, signal }
    }

    /// Signals abort on the controller's `[[abortController]]` (WritableStreamAbort step 2): its
    /// algorithms run before this returns.
    pub(crate) fn signal_abort(&self, reason: StreamError) {
        self.signal.signal_abort(Some(reason));
    }
}

impl<T: Send + 'static> WritableStreamDefaultController<T> {
    /// The stream this controller controls, while it exists. Holding the handle keeps the stream
    /// alive: a binding whose script-side controller must keep its stream alive (as a JavaScript
    /// controller does) holds one. `None` as well once the stream's group was given up because
    /// nothing outside the core held it (DESIGN.md, "A group nobody holds is freed").
    pub fn writable_stream(&self) -> Option<super::WritableStream<T>> {
        self.stream.upgrade().and_then(super::WritableStream::try_handle)
    }

    /// The standard's `signal`: aborted, synchronously, when the stream is aborted, so that a sink
    /// can give up a write or close in progress. It is not aborted when the stream errors for
    /// another reason.
    pub fn signal(&self) -> AbortSignal {
        self.signal.clone()
    }

    /// The standard's `error(e)`: errors the stream (after any write or close in flight settles,
    /// it ends errored with `e`); does nothing if the stream is not writable.
    pub fn error(&self, e: StreamError) {
        let Some(stream) = self.stream.upgrade() else {
            return;
        };
        let _entered = stream.domain.enter();
        locked(&stream, |slots, fx| {
            // 1–2.
            if !matches!(slots.state, WritableState::Writable) {
                return;
            }
            // 3.
            writable_stream_default_controller_error_locked(slots, e, fx);
        });
    }
}

/// SetUpWritableStreamDefaultController steps 13–18 (steps 1–12 are
/// [`initialize_writable_stream`](super::stream::initialize_writable_stream)): computes the initial
/// backpressure, runs the start algorithm and reacts to it. A synchronous failure of `start` is
/// returned (the constructor rethrows it).
pub(crate) fn set_up_writable_stream_default_controller<T: Send + 'static>(
    stream: &Stream<T>,
) -> Result<(), StreamError> {
    // 13–14.
    {
        let mut slots = stream.lock();
        let backpressure = writable_stream_default_controller_get_backpressure(&slots);
        writable_stream_update_backpressure(&mut slots, backpressure);
    }
    // 15. Let startResult be the result of performing startAlgorithm (with no lock held).
    let controller = &stream.controller;
    let mut sink = match stream.lock().controller.sink.checkout() {
        Checkout::Got(s) => s,
        _ => unreachable!("a new stream's sink is present"),
    };
    let start_result = catch_user(|| sink.start(controller));
    checkin(&stream.slots, |s: &mut Slots<T>| &mut s.controller.sink, sink);
    let completion = match start_result {
        Ok(Completion::Ready(Err(e))) | Err(e) => return Err(e),
        Ok(c) => c,
    };
    // 16–18. The reaction holds the stream weakly: a stream given no work before its start
    // settled, and dropped, is freed with its sink even if its host never runs. Work queued
    // before then holds the stream until this runs (`stream::hold_until_started`), so that an
    // operation that has started still runs to its end.
    let weak = Arc::downgrade(stream);
    react(stream, completion, move |result| {
        let Some(s) = weak.upgrade() else { return };
        let hold = locked(&s, |slots, fx| {
            debug_assert!(matches!(
                slots.state,
                WritableState::Writable | WritableState::Erroring(_)
            ));
            slots.controller.started = true;
            match result {
                Ok(()) => writable_stream_default_controller_advance_queue_if_needed_locked(slots, fx),
                Err(r) => writable_stream_deal_with_rejection_locked(slots, r, fx),
            }
            slots.controller.start_hold.take()
        });
        // Let go once the lock is released; `s` still holds the stream here.
        drop(hold);
    });
    Ok(())
}

/// WritableStreamDefaultControllerAdvanceQueueIfNeeded.
#[allow(dead_code)] // called by pipes and transform streams
pub(crate) fn writable_stream_default_controller_advance_queue_if_needed<T: Send + 'static>(
    stream: &Stream<T>,
) {
    locked(
        stream,
        writable_stream_default_controller_advance_queue_if_needed_locked,
    );
}

/// WritableStreamDefaultControllerAdvanceQueueIfNeeded on locked slots.
pub(crate) fn writable_stream_default_controller_advance_queue_if_needed_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    fx: &mut Effects<T>,
) {
    // 2.
    if !slots.controller.started {
        return;
    }
    // 3.
    if slots.in_flight_write_request.is_some() {
        return;
    }
    // 4–6.
    match slots.state {
        WritableState::Writable => {}
        WritableState::Erroring(_) => {
            writable_stream_finish_erroring_locked(slots, fx);
            return;
        }
        WritableState::Closed | WritableState::Errored(_) => {
            debug_assert!(false, "AdvanceQueueIfNeeded on a closed or errored stream");
            return;
        }
    }
    // 7–10.
    match slots.controller.queue.peek_queue_value() {
        None => {}
        Some(QueueItem::Close) => writable_stream_default_controller_process_close_locked(slots, fx),
        Some(QueueItem::Chunk(_)) => writable_stream_default_controller_process_write_locked(slots, fx),
    }
}

/// WritableStreamDefaultControllerClearAlgorithms. A checked-out sink is dropped when it comes
/// back; a present one is dropped once the lock is released.
pub(crate) fn writable_stream_default_controller_clear_algorithms<T: Send + 'static>(
    slots: &mut Slots<T>,
    fx: &mut Effects<T>,
) {
    if let Some(sink) = slots.controller.sink.clear() {
        fx.discard(sink);
    }
    if let Some(size) = slots.controller.strategy_size.take().into_user() {
        fx.discard(size);
    }
}

/// WritableStreamDefaultControllerClose on locked slots.
pub(crate) fn writable_stream_default_controller_close_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    fx: &mut Effects<T>,
) {
    // 1. EnqueueValueWithSize(controller, close sentinel, 0): size 0 cannot be rejected.
    if slots
        .controller
        .queue
        .enqueue_value_with_size(QueueItem::Close, 0.0)
        .is_err()
    {
        unreachable!("a size of 0 is valid");
    }
    // 2.
    writable_stream_default_controller_advance_queue_if_needed_locked(slots, fx);
}

/// WritableStreamDefaultControllerError on locked slots.
pub(crate) fn writable_stream_default_controller_error_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    error: StreamError,
    fx: &mut Effects<T>,
) {
    // 2.
    debug_assert!(matches!(slots.state, WritableState::Writable));
    // 3.
    writable_stream_default_controller_clear_algorithms(slots, fx);
    // 4.
    writable_stream_start_erroring_locked(slots, error, fx);
}

/// WritableStreamDefaultControllerErrorIfNeeded.
pub(crate) fn writable_stream_default_controller_error_if_needed<T: Send + 'static>(
    stream: &Stream<T>,
    error: StreamError,
) {
    locked(stream, |slots, fx| {
        writable_stream_default_controller_error_if_needed_locked(slots, error, fx)
    });
}

/// WritableStreamDefaultControllerErrorIfNeeded on locked slots.
pub(crate) fn writable_stream_default_controller_error_if_needed_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    error: StreamError,
    fx: &mut Effects<T>,
) {
    if matches!(slots.state, WritableState::Writable) {
        writable_stream_default_controller_error_locked(slots, error, fx);
    }
}

/// WritableStreamDefaultControllerGetBackpressure.
pub(crate) fn writable_stream_default_controller_get_backpressure<T>(slots: &Slots<T>) -> bool {
    writable_stream_default_controller_get_desired_size(slots) <= 0.0
}

/// WritableStreamDefaultControllerGetChunkSize. Runs the size algorithm (user code) with no lock
/// held; if it fails, the stream is errored and the size is 1.
pub(crate) fn writable_stream_default_controller_get_chunk_size<T: Send + 'static>(
    stream: &Stream<T>,
    chunk: &T,
) -> f64 {
    // 1. Undefined size algorithm: counting chunks (or cleared, once the stream is not writable).
    if !stream.sized {
        return 1.0;
    }
    let size = {
        let slots = stream.lock();
        match &slots.controller.strategy_size {
            SizeAlgorithm::Count => return 1.0,
            // The crate's own measure: no user code, so no need to let the stream go.
            SizeAlgorithm::Builtin(measure) => return measure(chunk),
            SizeAlgorithm::User(size) => size.clone(),
        }
    };
    // 2–5.
    match call_size(&Some(size), chunk) {
        Ok(v) => v,
        Err(e) => {
            writable_stream_default_controller_error_if_needed(stream, e);
            1.0
        }
    }
}

/// WritableStreamDefaultControllerGetDesiredSize.
pub(crate) fn writable_stream_default_controller_get_desired_size<T>(slots: &Slots<T>) -> f64 {
    slots.controller.strategy_hwm - slots.controller.queue.total_size()
}

/// WritableStreamDefaultControllerProcessClose, steps 1–4 on locked slots; the sink's close is
/// called by [`process_close_call`] once the lock is released.
fn writable_stream_default_controller_process_close_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    fx: &mut Effects<T>,
) {
    // 2.
    writable_stream_mark_close_request_in_flight(slots);
    // 3.
    let _ = slots.controller.queue.dequeue_value();
    // 4.
    debug_assert!(slots.controller.queue.is_empty());
    // 5 (taking the close algorithm) and 6 (ClearAlgorithms, which drops the checked-out sink when
    // it comes back, after the call).
    let sink = slots.controller.sink.checkout();
    writable_stream_default_controller_clear_algorithms(slots, fx);
    fx.call(SinkCall::Close { sink });
}

/// WritableStreamDefaultControllerProcessClose from step 5: calls the sink's close and reacts.
pub(crate) fn process_close_call<T: Send + 'static>(
    stream: &Stream<T>,
    sink: Checkout<Box<dyn UnderlyingSink<T>>>,
) {
    // 5. Let sinkClosePromise be the result of performing the close algorithm.
    let completion = match sink {
        Checkout::Got(mut sink) => {
            let completion = catch_user(|| sink.close()).unwrap_or_else(Completion::err);
            checkin(&stream.slots, |s: &mut Slots<T>| &mut s.controller.sink, sink);
            completion
        }
        // Cleared: the default close algorithm returns a promise resolved with undefined.
        Checkout::Cleared | Checkout::Busy => Completion::ok(),
    };
    // 7–8.
    let s = stream.clone();
    react(stream, completion, move |result| {
        locked(&s, |slots, fx| match result {
            Ok(()) => writable_stream_finish_in_flight_close(slots),
            Err(reason) => writable_stream_finish_in_flight_close_with_error_locked(slots, reason, fx),
        });
    });
}

/// WritableStreamDefaultControllerProcessWrite, steps 1–2 on locked slots; the sink's write is
/// called by [`process_write_call`] once the lock is released.
fn writable_stream_default_controller_process_write_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    fx: &mut Effects<T>,
) {
    // 2.
    writable_stream_mark_first_write_request_in_flight(slots);
    // The chunk moves to the sink; its size stays in the queue until DequeueValue on fulfillment.
    let chunk = match slots.controller.queue.peek_queue_value_mut() {
        Some(QueueItem::Chunk(chunk)) => chunk.take().expect("a queued chunk is written once"),
        _ => unreachable!("ProcessWrite is called with a chunk at the head of the queue"),
    };
    slots.meter.chunk_out(&chunk);
    let sink = slots.controller.sink.checkout();
    fx.call(SinkCall::Write { chunk, sink });
}

/// WritableStreamDefaultControllerProcessWrite from step 3: calls the sink's write and reacts.
///
/// Inside a pipe on a native driver, a write that is over when the sink returns is reacted to at
/// once, and a next chunk that reaction writes is written by this loop, not by a nested call
/// (DESIGN.md, "Synchronous completions inside a pipe").
pub(crate) fn process_write_call<T: Send + 'static>(
    stream: &Stream<T>,
    chunk: T,
    sink: Checkout<Box<dyn UnderlyingSink<T>>>,
) {
    let mut next = Some((chunk, sink));
    while let Some((chunk, sink)) = next.take() {
        let completion = call_sink_write(stream, chunk, sink);
        if completion.is_fulfilled() {
            let mut fx = Effects::new();
            let inline = {
                let mut slots = stream.lock();
                let inline = slots.controller.inline_completions && !stream.host.abandoned();
                if inline {
                    sink_write_fulfilled(&mut slots, &mut fx);
                }
                inline
            };
            if inline {
                next = fx.take_only_write();
                fx.run(stream);
                continue;
            }
        }
        let s = stream.clone();
        react(stream, completion, move |result| {
            locked(&s, |slots, fx| match result {
                // 4. Upon fulfillment of sinkWritePromise,
                Ok(()) => sink_write_fulfilled(slots, fx),
                // 5. Upon rejection of sinkWritePromise with reason,
                Err(reason) => {
                    if matches!(slots.state, WritableState::Writable) {
                        writable_stream_default_controller_clear_algorithms(slots, fx);
                    }
                    writable_stream_finish_in_flight_write_with_error_locked(slots, reason, fx);
                }
            });
        });
    }
}

/// WritableStreamDefaultControllerProcessWrite step 3: the sink's write algorithm.
fn call_sink_write<T: Send + 'static>(
    stream: &Stream<T>,
    chunk: T,
    sink: Checkout<Box<dyn UnderlyingSink<T>>>,
) -> Completion {
    match sink {
        Checkout::Got(mut sink) => {
            let completion = if sink.core_algorithms().is_some() {
                // The standard's own algorithms (a transform stream's writable side): called
                // inside the domain, saving the release and retake a user call costs. They call
                // the transformer as user code themselves; a panic is still caught.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    sink.write(chunk, &stream.controller)
                }))
                .unwrap_or_else(|panic| Completion::err(StreamError::from_panic(panic)))
            } else {
                catch_user(|| sink.write(chunk, &stream.controller)).unwrap_or_else(Completion::err)
            };
            checkin(&stream.slots, |s: &mut Slots<T>| &mut s.controller.sink, sink);
            completion
        }
        // The algorithms are only cleared once the stream stops being writable, and a write is
        // only processed while it is writable, so this cannot happen; never report a chunk as
        // written that no sink saw.
        Checkout::Cleared | Checkout::Busy => Completion::err(StreamError::type_error(
            "the underlying sink is no longer available",
        )),
    }
}

/// WritableStreamDefaultControllerProcessWrite step 4: upon fulfillment of sinkWritePromise.
fn sink_write_fulfilled<T: Send + 'static>(slots: &mut Slots<T>, fx: &mut Effects<T>) {
    writable_stream_finish_in_flight_write(slots);
    debug_assert!(matches!(
        slots.state,
        WritableState::Writable | WritableState::Erroring(_)
    ));
    let _ = slots.controller.queue.dequeue_value();
    update_backpressure_and_advance_queue(slots, fx);
}

/// The steps WritableStreamDefaultControllerWrite (3–5) and ProcessWrite's fulfillment (4.4–4.5)
/// end with alike: unless the stream is closing or no longer writable, backpressure follows the
/// desired size; then the queue advances (and the statistics see the stream's new phase).
fn update_backpressure_and_advance_queue<T: Send + 'static>(slots: &mut Slots<T>, fx: &mut Effects<T>) {
    if !writable_stream_close_queued_or_in_flight(slots) && matches!(slots.state, WritableState::Writable) {
        let backpressure = writable_stream_default_controller_get_backpressure(slots);
        writable_stream_update_backpressure(slots, backpressure);
    }
    writable_stream_default_controller_advance_queue_if_needed_locked(slots, fx);
    let phase = writable_phase(slots);
    slots.meter.phase(phase);
}

/// WritableStreamFinishErroring steps 12–14: `[[AbortSteps]](reason)` (the abort algorithm; the
/// algorithms were cleared when the sink was taken) and the reactions that settle the abort
/// request's promise.
pub(crate) fn abort_steps_call<T: Send + 'static>(
    stream: &Stream<T>,
    reason: StreamError,
    promise: Arc<PromiseCell<()>>,
    sink: Checkout<Box<dyn UnderlyingSink<T>>>,
) {
    let completion = match sink {
        Checkout::Got(mut sink) => {
            let completion = catch_user(|| sink.abort(reason)).unwrap_or_else(Completion::err);
            checkin(&stream.slots, |s: &mut Slots<T>| &mut s.controller.sink, sink);
            completion
        }
        // Already cleared: the default abort algorithm returns a promise resolved with undefined.
        Checkout::Cleared | Checkout::Busy => Completion::ok(),
    };
    let s = stream.clone();
    react(stream, completion, move |result| {
        let mut slots = s.lock();
        // 13. Upon fulfillment / 14. upon rejection.
        promise.settle(result);
        writable_stream_reject_close_and_closed_promise_if_needed(&mut slots);
    });
}

/// WritableStreamDefaultControllerWrite on locked slots.
pub(crate) fn writable_stream_default_controller_write_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    chunk: T,
    chunk_size: f64,
    fx: &mut Effects<T>,
) {
    // 1–2.
    let bytes = byte_len(&chunk);
    if let Err((item, e)) = slots
        .controller
        .queue
        .enqueue_value_with_size(QueueItem::Chunk(Some(chunk)), chunk_size)
    {
        fx.discard(item);
        writable_stream_default_controller_error_if_needed_locked(slots, e, fx);
        return;
    }
    slots.meter.bytes_in(bytes);
    // 3–5.
    update_backpressure_and_advance_queue(slots, fx);
}
