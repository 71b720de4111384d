//! The `WritableStream` class: its internal slots and the abstract operations that work on a
//! writable stream (§ "Working with writable streams" and "Interfacing with controllers").
//!
//! Operations that never run user code take the locked [`Slots`]. Operations that may end in a
//! call to the underlying sink come in two forms: `…_locked(slots, fx)`, which performs the steps
//! on locked slots and records the sink call in an [`Effects`], and a form that takes the
//! [`Stream`], locks it, and runs the recorded effects once the lock is released. A chain of steps
//! the standard performs without running user code therefore runs under one lock hold, and the
//! sink is always called with no lock held.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use crate::abort::AbortController;
use crate::algorithm::{AlgorithmSlot, Checkout};
use crate::error::StreamError;
use crate::host::{upon_settlement, Abandon, CellGuard, Completion, Domain, DomainCell, HostRef, StepDomain};
use crate::promise::PromiseCell;
use crate::stats::Meter;
use crate::strategy::{QueueWithSizes, SizeAlgorithm};

use super::default_controller::{
    abort_steps_call, process_close_call, process_write_call,
    writable_stream_default_controller_close_locked, WritableStreamDefaultController,
};
use super::default_writer::{writable_stream_default_writer_ensure_ready_promise_rejected, WriterPromises};
use super::sink::UnderlyingSink;

/// The stream's `[[state]]`, with `[[storedError]]` folded into the erroring and errored states.
#[derive(Clone, Debug)]
pub(crate) enum WritableState {
    Writable,
    Erroring(StreamError),
    Errored(StreamError),
    Closed,
}

#[allow(dead_code)] // for pipes and transform streams
impl WritableState {
    /// `[[storedError]]`: set while erroring or errored.
    pub(crate) fn stored_error(&self) -> Option<&StreamError> {
        match self {
            WritableState::Erroring(e) | WritableState::Errored(e) => Some(e),
            WritableState::Writable | WritableState::Closed => None,
        }
    }
}

/// A pending abort request.
pub(crate) struct PendingAbortRequest {
    /// The promise `WritableStreamAbort` returned.
    pub(crate) promise: Arc<PromiseCell<()>>,
    /// The reason passed to `WritableStreamAbort` (`undefined` if the stream was already erroring).
    pub(crate) reason: StreamError,
    /// Whether the stream was already erroring when the abort was requested.
    pub(crate) was_already_erroring: bool,
}

/// The writer currently holding the lock, as the stream sees it.
pub(crate) struct WriterRecord {
    pub(crate) id: u64,
    /// The writer's `[[readyPromise]]` and `[[closedPromise]]` (shared with the writer handle).
    pub(crate) promises: Arc<DomainCell<WriterPromises>>,
}

/// An entry of the controller's `[[queue]]`: a chunk, or the close sentinel.
pub(crate) enum QueueItem<T> {
    /// A chunk; `None` once it has been handed to the sink's `write` (its size stays queued until
    /// the write settles, as the standard dequeues it only then).
    Chunk(Option<T>),
    /// The close sentinel.
    Close,
}

/// The default controller's internal slots (the controller handle is a weak pointer to the stream,
/// so its slots live here, under the stream's lock).
pub(crate) struct ControllerSlots<T> {
    pub(crate) queue: QueueWithSizes<QueueItem<T>>,
    pub(crate) started: bool,
    /// The stream itself, while its start has not settled and something waits for it to (see
    /// [`hold_until_started`]); `None` otherwise. The start reaction lets it go.
    pub(crate) start_hold: Option<Stream<T>>,
    /// The stream is written by a pipe whose group runs on a native driver the crate made, where
    /// a write that is over when the sink returns is reacted to at once instead of a microtask
    /// later (DESIGN.md, "Synchronous completions inside a pipe"). Set and cleared by the pipe;
    /// nothing runs at once on a group its driver gave up on (`Host::abandoned`).
    pub(crate) inline_completions: bool,
    pub(crate) strategy_hwm: f64,
    pub(crate) strategy_size: SizeAlgorithm<T>,
    /// `[[writeAlgorithm]]`, `[[closeAlgorithm]]` and `[[abortAlgorithm]]`: the underlying sink.
    pub(crate) sink: AlgorithmSlot<Box<dyn UnderlyingSink<T>>>,
    /// The file behind the stream, which a pipe may copy into directly
    /// ([`crate::pipe::DirectSink`]); `None` for every stream but `io::file_sink`'s.
    pub(crate) direct: Option<crate::pipe::DirectSink>,
}

/// Everything behind the stream's one lock.
pub(crate) struct Slots<T> {
    pub(crate) state: WritableState,
    pub(crate) writer: Option<WriterRecord>,
    pub(crate) write_requests: VecDeque<WriteRequest>,
    pub(crate) in_flight_write_request: Option<WriteRequest>,
    pub(crate) close_request: Option<Arc<PromiseCell<()>>>,
    pub(crate) in_flight_close_request: Option<Arc<PromiseCell<()>>>,
    /// Boxed: a stream is seldom aborted, and the request is three words.
    pub(crate) pending_abort_request: Option<Box<PendingAbortRequest>>,
    pub(crate) backpressure: bool,
    pub(crate) controller: ControllerSlots<T>,
    /// Statistics ([`crate::stats`]).
    pub(crate) meter: Meter,
}

/// A writable stream's shared core.
pub(crate) struct Inner<T> {
    pub(crate) host: HostRef,
    /// The execution domain of the stream's group: held by whoever runs one of its steps.
    pub(crate) domain: StepDomain,
    /// Whether the strategy has a size algorithm. Without one every chunk counts 1, and
    /// measuring a chunk needs no look at the slots.
    pub(crate) sized: bool,
    /// The handle passed to the sink's methods, made once: making one per call cost two reference
    /// counts on every write.
    pub(crate) controller: WritableStreamDefaultController<T>,
    pub(crate) slots: DomainCell<Slots<T>>,
}

pub(crate) type Stream<T> = Arc<Inner<T>>;

static NEXT_WRITER_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_writer_id() -> u64 {
    NEXT_WRITER_ID.fetch_add(1, Ordering::Relaxed)
}

impl<T: Send + 'static> Inner<T> {
    pub(crate) fn lock(&self) -> CellGuard<'_, Slots<T>> {
        self.slots.lock()
    }
}

/// A stream whose host will never run its steps again (see [`Host::track`]) lets go of the hold
/// on itself that [`hold_until_started`] took, so that a stream dropped with work waiting for a
/// start that will never settle is freed. Nothing runs.
///
/// [`Host::track`]: crate::host::Host::track
impl<T: Send + 'static> Abandon for Inner<T> {
    fn abandon(&self) {
        let _entered = self.domain.enter();
        let hold = self.lock().controller.start_hold.take();
        drop(hold);
    }
}

/// A write's chunk and the sink checked out for it ([`SinkCall::Write`]).
pub(crate) type WriteCall<T> = (T, Checkout<Box<dyn UnderlyingSink<T>>>);

/// A call into the underlying sink, decided under the lock and performed once it is released.
/// The sink was checked out of its slot under the same lock hold.
pub(crate) enum SinkCall<T> {
    /// WritableStreamDefaultControllerProcessWrite, from step 3 on.
    Write {
        chunk: T,
        sink: Checkout<Box<dyn UnderlyingSink<T>>>,
    },
    /// WritableStreamDefaultControllerProcessClose, from step 5 on.
    Close {
        sink: Checkout<Box<dyn UnderlyingSink<T>>>,
    },
    /// WritableStreamFinishErroring from step 13 on: `[[AbortSteps]](reason)` and the reactions
    /// that settle the abort request's promise.
    Abort {
        reason: StreamError,
        promise: Arc<PromiseCell<()>>,
        sink: Checkout<Box<dyn UnderlyingSink<T>>>,
    },
}

/// Work that must happen once the stream's lock is released: calls into the underlying sink, and
/// dropping values whose `Drop` is user code (a cleared sink, discarded chunks).
#[must_use = "effects must be run once the lock is released"]
pub(crate) struct Effects<T> {
    /// The sink call a chain of steps ends in (a chain makes at most one; `more` holds any others
    /// without allocating in the common case).
    call: Option<SinkCall<T>>,
    more: Vec<SinkCall<T>>,
    garbage: Vec<Box<dyn Send>>,
}

impl<T: Send + 'static> Effects<T> {
    pub(crate) fn new() -> Self {
        Effects {
            call: None,
            more: Vec::new(),
            garbage: Vec::new(),
        }
    }

    pub(crate) fn call(&mut self, call: SinkCall<T>) {
        if self.call.is_none() {
            self.call = Some(call);
        } else {
            self.more.push(call);
        }
    }

    /// Takes the recorded work's one sink call if it is the only one and a write: the caller
    /// performs it itself ([`process_write_call`]'s loop).
    ///
    /// [`process_write_call`]: super::default_controller::process_write_call
    pub(crate) fn take_only_write(&mut self) -> Option<WriteCall<T>> {
        if !self.more.is_empty() {
            return None;
        }
        match self.call.take() {
            Some(SinkCall::Write { chunk, sink }) => Some((chunk, sink)),
            other => {
                self.call = other;
                None
            }
        }
    }

    /// Keeps `value` to be dropped after the lock is released.
    pub(crate) fn discard(&mut self, value: impl Send + 'static) {
        self.garbage.push(Box::new(value));
    }

    /// Performs the recorded work, in order, with no lock held.
    pub(crate) fn run(mut self, stream: &Stream<T>) {
        // Most chains record one sink call and nothing to drop: test before taking.
        if !self.garbage.is_empty() {
            drop(std::mem::take(&mut self.garbage));
        }
        let Some(first) = self.call.take() else {
            // `call` fills first, so nothing is in `more` either.
            return;
        };
        run_sink_call(stream, first);
        if !self.more.is_empty() {
            for call in std::mem::take(&mut self.more) {
                run_sink_call(stream, call);
            }
        }
    }
}

/// Performs one recorded sink call.
fn run_sink_call<T: Send + 'static>(stream: &Stream<T>, call: SinkCall<T>) {
    match call {
        SinkCall::Write { chunk, sink } => process_write_call(stream, chunk, sink),
        SinkCall::Close { sink } => process_close_call(stream, sink),
        SinkCall::Abort {
            reason,
            promise,
            sink,
        } => abort_steps_call(stream, reason, promise, sink),
    }
}

#[cfg(debug_assertions)]
impl<T> Drop for Effects<T> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert!(
                self.call.is_none() && self.more.is_empty(),
                "sink calls recorded but never run"
            );
        }
    }
}

/// Runs `f` on the locked slots, then the effects it recorded with the lock released.
pub(crate) fn locked<T: Send + 'static, R>(
    stream: &Stream<T>,
    f: impl FnOnce(&mut Slots<T>, &mut Effects<T>) -> R,
) -> R {
    let mut fx = Effects::new();
    let result = {
        let mut slots = stream.lock();
        f(&mut slots, &mut fx)
    };
    fx.run(stream);
    result
}

/// "Started operations finish", for the operations that wait on the sink's start: while its start
/// has not settled, a stream that may be given work holds itself, so that a write, close or abort
/// queued behind the start still reaches the sink (and its promise settles) when every handle is
/// dropped and the host runs on. It may be given work once a writer is acquired, and when it is
/// closed or aborted while unlocked; those call this. Until then the start reaction holds the
/// stream weakly: a stream nobody used, dropped before its host ever ran, is freed with its sink
/// instead of being kept alive by its own start reaction. The hold goes when the start reaction
/// runs, or when the writer is released with nothing waiting ([`let_go_if_idle`]); a stream
/// whose host never runs again keeps it (the leak DESIGN.md records under "Started operations
/// finish", now for streams that were given work only).
///
/// Taken per writer, not per chunk: a test of `started` on every step cost the objects benchmark
/// 3% of its CPU time. Out of line, as is [`let_go_if_idle`]: both run once per writer, and
/// inlined into their callers they measured 4% slower there too (code layout, DESIGN.md).
#[inline(never)]
pub(crate) fn hold_until_started<T: Send + 'static>(stream: &Stream<T>, slots: &mut Slots<T>) {
    if !slots.controller.started && slots.controller.start_hold.is_none() {
        slots.controller.start_hold = Some(stream.clone());
        // A host that gives up on the group lets go of this hold (`Abandon for Inner`).
        stream.host.track(Arc::downgrade(stream) as Weak<dyn Abandon>);
    }
}

/// Lets go of the hold [`hold_until_started`] took if nothing waits for the start (the writer
/// was released unused); the caller drops it once the stream's lock is released.
#[inline(never)]
pub(crate) fn let_go_if_idle<T>(slots: &mut Slots<T>) -> Option<Stream<T>> {
    let waits = !slots.write_requests.is_empty()
        || slots.close_request.is_some()
        || slots.pending_abort_request.is_some()
        || matches!(slots.state, WritableState::Erroring(_));
    if waits {
        None
    } else {
        slots.controller.start_hold.take()
    }
}

/// Reacts to a completion on the stream's host.
pub(crate) fn react<T>(
    stream: &Stream<T>,
    completion: Completion,
    steps: impl FnOnce(Result<(), StreamError>) + Send + 'static,
) {
    upon_settlement(&stream.host, Some(&stream.domain), completion, steps);
}

/// InitializeWritableStream plus the controller's initial slots (SetUpWritableStreamDefaultController
/// steps 1–12); the caller performs the remaining steps.
pub(crate) fn initialize_writable_stream<T: Send + 'static>(
    host: HostRef,
    domain: Arc<Domain>,
    sink: Box<dyn UnderlyingSink<T>>,
    high_water_mark: f64,
    size: SizeAlgorithm<T>,
) -> Stream<T> {
    // The controller's `[[abortController]]`: the signal is all of it a stream needs (it never
    // changes, so it lives outside the lock, in the controller handle).
    let signal = AbortController::new().signal();
    Arc::new_cyclic(|stream| Inner {
        domain: StepDomain::new(&host, &domain),
        host,
        controller: WritableStreamDefaultController::with_parts(stream.clone(), signal),
        sized: !size.is_count(),
        slots: DomainCell::new(
            domain.clone(),
            Slots {
                state: WritableState::Writable,
                writer: None,
                write_requests: VecDeque::new(),
                in_flight_write_request: None,
                close_request: None,
                in_flight_close_request: None,
                pending_abort_request: None,
                backpressure: false,
                controller: ControllerSlots {
                    queue: QueueWithSizes::new(),
                    started: false,
                    start_hold: None,
                    inline_completions: false,
                    strategy_hwm: high_water_mark,
                    strategy_size: size,
                    sink: AlgorithmSlot::new(sink),
                    direct: None,
                },
                meter: Meter::new(),
            },
        ),
    })
}

/// IsWritableStreamLocked.
pub(crate) fn is_writable_stream_locked<T>(slots: &Slots<T>) -> bool {
    slots.writer.is_some()
}

/// WritableStreamAbort. Returns the promise the standard returns.
pub(crate) fn writable_stream_abort<T: Send + 'static>(
    stream: &Stream<T>,
    reason: StreamError,
) -> Arc<PromiseCell<()>> {
    // 1. If stream.[[state]] is "closed" or "errored", return a promise resolved with undefined.
    if matches!(
        stream.lock().state,
        WritableState::Closed | WritableState::Errored(_)
    ) {
        return PromiseCell::settled(Ok(()));
    }
    // 2. Signal abort on stream.[[controller]].[[abortController]] with reason. This runs the
    //    signal's algorithms, which are user code: no lock is held.
    stream.controller.signal_abort(reason.clone());
    locked(stream, |slots, fx| {
        // 3–4. Re-check the state: signalling abort ran user code.
        if matches!(slots.state, WritableState::Closed | WritableState::Errored(_)) {
            return PromiseCell::settled(Ok(()));
        }
        // 5. If there is a pending abort request, return its promise.
        if let Some(request) = &slots.pending_abort_request {
            return request.promise.clone();
        }
        // 6–8. If erroring, the request was already erroring and the reason becomes undefined.
        let (reason, was_already_erroring) = match slots.state {
            WritableState::Erroring(_) => (StreamError::undefined(), true),
            _ => (reason, false),
        };
        // 9–10. (An abort queued behind the start holds the stream until the start settles.)
        hold_until_started(stream, slots);
        let promise = PromiseCell::pending();
        slots.pending_abort_request = Some(Box::new(PendingAbortRequest {
            promise: promise.clone(),
            reason: reason.clone(),
            was_already_erroring,
        }));
        // 11.
        if !was_already_erroring {
            writable_stream_start_erroring_locked(slots, reason, fx);
        }
        // 12.
        promise
    })
}

/// WritableStreamClose.
#[allow(dead_code)] // called by pipes and transform streams
pub(crate) fn writable_stream_close<T: Send + 'static>(stream: &Stream<T>) -> Arc<PromiseCell<()>> {
    locked(stream, writable_stream_close_locked)
}

/// WritableStreamClose on locked slots.
pub(crate) fn writable_stream_close_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    fx: &mut Effects<T>,
) -> Arc<PromiseCell<()>> {
    // 1–2.
    if matches!(slots.state, WritableState::Closed | WritableState::Errored(_)) {
        return PromiseCell::settled(Err(StreamError::type_error(
            "cannot close a stream that is closed or errored",
        )));
    }
    // 3–4.
    debug_assert!(!writable_stream_close_queued_or_in_flight(slots));
    // 5–6.
    let promise = PromiseCell::pending();
    slots.close_request = Some(promise.clone());
    // 7–8. Resolve the writer's ready promise if backpressure held it back.
    if let Some(writer) = &slots.writer {
        if slots.backpressure && matches!(slots.state, WritableState::Writable) {
            writer.promises.lock().resolve_ready();
        }
    }
    // 9.
    writable_stream_default_controller_close_locked(slots, fx);
    // 10.
    promise
}

/// An entry of `[[writeRequests]]`: the promise a write returned, or none yet for a write whose
/// promise nobody holds (a pipe's). A pipe needs the promise of its last write only when it shuts
/// down; [`writable_stream_last_write_request`] makes it then, so the writes of a running pipe
/// allocate no promise.
pub(crate) struct WriteRequest(Option<Arc<PromiseCell<()>>>);

impl WriteRequest {
    fn resolve(&self) {
        if let Some(promise) = &self.0 {
            promise.resolve(());
        }
    }

    fn reject(&self, e: StreamError) {
        if let Some(promise) = &self.0 {
            promise.reject(e);
        }
    }

    /// The request's promise, made now if nobody asked for it before.
    fn promise(&mut self) -> Arc<PromiseCell<()>> {
        self.0.get_or_insert_with(PromiseCell::pending).clone()
    }
}

/// WritableStreamAddWriteRequest, with the promise made by the caller, or none for a write whose
/// promise nobody holds yet.
pub(crate) fn writable_stream_add_write_request<T>(
    slots: &mut Slots<T>,
    promise: Option<Arc<PromiseCell<()>>>,
) {
    debug_assert!(is_writable_stream_locked(slots));
    debug_assert!(matches!(slots.state, WritableState::Writable));
    slots.write_requests.push_back(WriteRequest(promise));
}

/// The promise of the newest write request still pending (queued or in flight), made on demand:
/// write requests settle in order, so it settles after every earlier one. `None` if none is
/// pending.
pub(crate) fn writable_stream_last_write_request<T>(slots: &mut Slots<T>) -> Option<Arc<PromiseCell<()>>> {
    match slots.write_requests.back_mut() {
        Some(request) => Some(request.promise()),
        None => slots.in_flight_write_request.as_mut().map(WriteRequest::promise),
    }
}

/// WritableStreamCloseQueuedOrInFlight.
pub(crate) fn writable_stream_close_queued_or_in_flight<T>(slots: &Slots<T>) -> bool {
    slots.close_request.is_some() || slots.in_flight_close_request.is_some()
}

/// WritableStreamDealWithRejection.
#[allow(dead_code)] // called by pipes and transform streams
pub(crate) fn writable_stream_deal_with_rejection<T: Send + 'static>(stream: &Stream<T>, error: StreamError) {
    locked(stream, |slots, fx| {
        writable_stream_deal_with_rejection_locked(slots, error, fx)
    });
}

/// WritableStreamDealWithRejection on locked slots.
pub(crate) fn writable_stream_deal_with_rejection_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    error: StreamError,
    fx: &mut Effects<T>,
) {
    // 1–2.
    if matches!(slots.state, WritableState::Writable) {
        writable_stream_start_erroring_locked(slots, error, fx);
        return;
    }
    // 3–4.
    debug_assert!(matches!(slots.state, WritableState::Erroring(_)));
    writable_stream_finish_erroring_locked(slots, fx);
}

/// WritableStreamFinishErroring.
#[allow(dead_code)] // called by pipes and transform streams
pub(crate) fn writable_stream_finish_erroring<T: Send + 'static>(stream: &Stream<T>) {
    locked(stream, writable_stream_finish_erroring_locked);
}

/// WritableStreamFinishErroring on locked slots. The abort steps (step 13 on) are recorded in `fx`.
pub(crate) fn writable_stream_finish_erroring_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    fx: &mut Effects<T>,
) {
    // 1.
    let stored_error = match &slots.state {
        WritableState::Erroring(e) => e.clone(),
        _ => {
            debug_assert!(
                false,
                "WritableStreamFinishErroring on a stream that is not erroring"
            );
            return;
        }
    };
    // 2.
    debug_assert!(!writable_stream_has_operation_marked_in_flight(slots));
    // 3.
    slots.state = WritableState::Errored(stored_error.clone());
    slots.meter.done();
    // 4. [[ErrorSteps]]: ResetQueue (the chunks are dropped once the lock is released).
    fx.discard(std::mem::replace(
        &mut slots.controller.queue,
        QueueWithSizes::new(),
    ));
    // 5–7. Reject every queued write request, in order.
    for request in std::mem::take(&mut slots.write_requests) {
        request.reject(stored_error.clone());
    }
    // 8.
    let Some(abort_request) = slots.pending_abort_request.take() else {
        writable_stream_reject_close_and_closed_promise_if_needed(slots);
        return;
    };
    // 9–11.
    if abort_request.was_already_erroring {
        abort_request.promise.reject(stored_error);
        writable_stream_reject_close_and_closed_promise_if_needed(slots);
        return;
    }
    // 12. [[AbortSteps]](reason): the abort algorithm runs once the lock is released; the
    //     algorithms are cleared right after it is taken (as the standard clears them right after
    //     calling it), so the checked-out sink is dropped when it comes back.
    let sink = slots.controller.sink.checkout();
    super::default_controller::writable_stream_default_controller_clear_algorithms(slots, fx);
    // 13–14. The reactions that settle the request are attached in abort_steps_call.
    fx.call(SinkCall::Abort {
        reason: abort_request.reason,
        promise: abort_request.promise,
        sink,
    });
}

/// WritableStreamFinishInFlightClose.
pub(crate) fn writable_stream_finish_in_flight_close<T>(slots: &mut Slots<T>) {
    // 1–3.
    let request = slots
        .in_flight_close_request
        .take()
        .expect("WritableStreamFinishInFlightClose: a close is in flight");
    request.resolve(());
    // 4–5.
    debug_assert!(matches!(
        slots.state,
        WritableState::Writable | WritableState::Erroring(_)
    ));
    // 6. If erroring, the stored error is dropped and a pending abort request succeeds.
    if matches!(slots.state, WritableState::Erroring(_)) {
        if let Some(abort_request) = slots.pending_abort_request.take() {
            abort_request.promise.resolve(());
        }
    }
    // 7.
    slots.state = WritableState::Closed;
    slots.meter.done();
    // 8–9.
    if let Some(writer) = &slots.writer {
        writer.promises.lock().closed.resolve(());
    }
    // 10–11.
    debug_assert!(slots.pending_abort_request.is_none());
}

/// WritableStreamFinishInFlightCloseWithError on locked slots.
pub(crate) fn writable_stream_finish_in_flight_close_with_error_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    error: StreamError,
    fx: &mut Effects<T>,
) {
    // 1–3.
    let request = slots
        .in_flight_close_request
        .take()
        .expect("WritableStreamFinishInFlightCloseWithError: a close is in flight");
    request.reject(error.clone());
    // 4.
    debug_assert!(matches!(
        slots.state,
        WritableState::Writable | WritableState::Erroring(_)
    ));
    // 5.
    if let Some(abort_request) = slots.pending_abort_request.take() {
        abort_request.promise.reject(error.clone());
    }
    // 6.
    writable_stream_deal_with_rejection_locked(slots, error, fx);
}

/// WritableStreamFinishInFlightWrite.
pub(crate) fn writable_stream_finish_in_flight_write<T>(slots: &mut Slots<T>) {
    let request = slots
        .in_flight_write_request
        .take()
        .expect("WritableStreamFinishInFlightWrite: a write is in flight");
    request.resolve();
}

/// WritableStreamFinishInFlightWriteWithError on locked slots.
pub(crate) fn writable_stream_finish_in_flight_write_with_error_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    error: StreamError,
    fx: &mut Effects<T>,
) {
    // 1–3.
    let request = slots
        .in_flight_write_request
        .take()
        .expect("WritableStreamFinishInFlightWriteWithError: a write is in flight");
    request.reject(error.clone());
    // 4.
    debug_assert!(matches!(
        slots.state,
        WritableState::Writable | WritableState::Erroring(_)
    ));
    // 5.
    writable_stream_deal_with_rejection_locked(slots, error, fx);
}

/// WritableStreamHasOperationMarkedInFlight.
pub(crate) fn writable_stream_has_operation_marked_in_flight<T>(slots: &Slots<T>) -> bool {
    slots.in_flight_write_request.is_some() || slots.in_flight_close_request.is_some()
}

/// WritableStreamMarkCloseRequestInFlight.
pub(crate) fn writable_stream_mark_close_request_in_flight<T>(slots: &mut Slots<T>) {
    debug_assert!(slots.in_flight_close_request.is_none());
    debug_assert!(slots.close_request.is_some());
    slots.in_flight_close_request = slots.close_request.take();
}

/// WritableStreamMarkFirstWriteRequestInFlight.
pub(crate) fn writable_stream_mark_first_write_request_in_flight<T>(slots: &mut Slots<T>) {
    debug_assert!(slots.in_flight_write_request.is_none());
    debug_assert!(!slots.write_requests.is_empty());
    slots.in_flight_write_request = slots.write_requests.pop_front();
}

/// WritableStreamRejectCloseAndClosedPromiseIfNeeded.
pub(crate) fn writable_stream_reject_close_and_closed_promise_if_needed<T>(slots: &mut Slots<T>) {
    // 1.
    let stored_error = match &slots.state {
        WritableState::Errored(e) => e.clone(),
        _ => {
            debug_assert!(
                false,
                "WritableStreamRejectCloseAndClosedPromiseIfNeeded: not errored"
            );
            return;
        }
    };
    // 2.
    if let Some(close_request) = slots.close_request.take() {
        debug_assert!(slots.in_flight_close_request.is_none());
        close_request.reject(stored_error.clone());
    }
    // 3–4. (Rejecting a settled promise does nothing.)
    if let Some(writer) = &slots.writer {
        writer.promises.lock().closed.reject(stored_error);
    }
}

/// WritableStreamStartErroring.
#[allow(dead_code)] // called by pipes and transform streams
pub(crate) fn writable_stream_start_erroring<T: Send + 'static>(stream: &Stream<T>, reason: StreamError) {
    locked(stream, |slots, fx| {
        writable_stream_start_erroring_locked(slots, reason, fx)
    });
}

/// WritableStreamStartErroring on locked slots.
pub(crate) fn writable_stream_start_erroring_locked<T: Send + 'static>(
    slots: &mut Slots<T>,
    reason: StreamError,
    fx: &mut Effects<T>,
) {
    // 1–2.
    debug_assert!(matches!(slots.state, WritableState::Writable));
    // 5–6.
    slots.state = WritableState::Erroring(reason.clone());
    // 7–8.
    if let Some(writer) = &slots.writer {
        writable_stream_default_writer_ensure_ready_promise_rejected(&writer.promises, reason);
    }
    // 9.
    if !writable_stream_has_operation_marked_in_flight(slots) && slots.controller.started {
        writable_stream_finish_erroring_locked(slots, fx);
    }
}

/// WritableStreamUpdateBackpressure.
pub(crate) fn writable_stream_update_backpressure<T>(slots: &mut Slots<T>, backpressure: bool) {
    // 1–2.
    debug_assert!(matches!(slots.state, WritableState::Writable));
    debug_assert!(!writable_stream_close_queued_or_in_flight(slots));
    // 3–4.
    if let Some(writer) = &slots.writer {
        if backpressure != slots.backpressure {
            // A pipe's writer: the pipe's `ReadyWaiter` follows, and the promise stays unmade
            // unless someone asks for it.
            let mut promises = writer.promises.lock();
            if backpressure {
                promises.replace_ready_with_pending();
            } else {
                promises.resolve_ready();
            }
        }
    }
    // 5.
    slots.backpressure = backpressure;
}
