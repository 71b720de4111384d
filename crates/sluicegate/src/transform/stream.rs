//! The `TransformStream` class: its internal slots and the operations on a transform stream
//! (§ "Working with transform streams").

use std::sync::{Arc, OnceLock, Weak};

use crate::algorithm::AlgorithmSlot;
use crate::error::StreamError;
use crate::host::{Abandon, CellGuard, Completion, Deferred, DomainCell, HostRef, StepDomain};
use crate::promise::PromiseCell;
use crate::readable::{self, stream::Inner as ReadableInner};
use crate::writable::{
    self,
    stream::{Inner as WritableInner, WritableState},
};

use super::default_controller::TransformStreamDefaultController;
use super::Transformer;

/// Everything behind the transform stream's lock: the stream's and its controller's slots.
pub(crate) struct Slots<I, O> {
    /// `[[backpressure]]` (`None` before the first TransformStreamSetBackpressure).
    pub(crate) backpressure: Option<bool>,
    /// `[[backpressureChangePromise]]`.
    pub(crate) backpressure_change_promise: Option<Arc<PromiseCell<()>>>,
    /// The controller's `[[finishPromise]]`.
    pub(crate) finish_promise: Option<Arc<PromiseCell<()>>>,
    /// The controller's `[[transformAlgorithm]]`, `[[flushAlgorithm]]` and `[[cancelAlgorithm]]`.
    pub(crate) transformer: AlgorithmSlot<Box<dyn Transformer<I, O>>>,
}

/// A transform stream's shared core. The sides are held weakly: each side's algorithms hold the
/// core strongly, so the core lives exactly as long as either side does, with no cycle.
pub(crate) struct Inner<I: Send + 'static, O: Send + 'static> {
    pub(crate) host: HostRef,
    /// The execution domain the two sides share.
    pub(crate) domain: StepDomain,
    /// `[[readable]]`, set once while the stream is constructed.
    pub(crate) readable_side: OnceLock<Weak<ReadableInner<O>>>,
    /// `[[writable]]`, set once while the stream is constructed.
    pub(crate) writable_side: OnceLock<Weak<WritableInner<I>>>,
    /// `[[startPromise]]` of the constructor, which both sides' start algorithms return.
    pub(crate) start_promise: Arc<PromiseCell<()>>,
    /// The handle passed to the transformer's methods, made once ([`Inner::controller`]): making
    /// one per call cost six reference counts on every transform.
    pub(crate) controller: OnceLock<TransformStreamDefaultController<O>>,
    pub(crate) slots: DomainCell<Slots<I, O>>,
}

/// A transform stream whose host will never run steps again (see [`Host::track`]) drops its
/// `[[backpressureChangePromise]]`: a write waiting for the readable side holds the stream through
/// that promise's reaction, a cycle (a transform stream dropped with a write waiting; DESIGN.md,
/// "Started operations finish, and a group nobody holds is freed") that only the readable side's
/// next pull would break. Nothing runs: the write
/// stays pending, as it would have in the dropped host.
///
/// [`Host::track`]: crate::host::Host::track
impl<I: Send + 'static, O: Send + 'static> Abandon for Inner<I, O> {
    fn abandon(&self) {
        let _entered = self.slots.domain().enter();
        let change = self.lock().backpressure_change_promise.take();
        drop(change);
    }
}

impl<I: Send + 'static, O: Send + 'static> Inner<I, O> {
    pub(crate) fn lock(&self) -> CellGuard<'_, Slots<I, O>> {
        self.slots.lock()
    }

    /// The readable side, while any handle to it lives.
    pub(crate) fn readable(&self) -> Option<Arc<ReadableInner<O>>> {
        self.readable_side.get().and_then(Weak::upgrade)
    }

    /// The handle for the transformer's methods, made on first use: the constructor's call to
    /// `start`, once both sides exist (the handle keeps the readable side for `desiredSize`).
    pub(crate) fn controller(self: &Arc<Self>) -> &TransformStreamDefaultController<O> {
        self.controller
            .get_or_init(|| TransformStreamDefaultController::new(self))
    }

    /// The writable side, while any handle to it lives.
    pub(crate) fn writable(&self) -> Option<Arc<WritableInner<I>>> {
        self.writable_side.get().and_then(Weak::upgrade)
    }
}

/// The writable side's stored error if it is erroring.
pub(crate) fn writable_erroring_error<T>(writable: &WritableInner<T>) -> Option<StreamError>
where
    T: Send + 'static,
{
    match &writable.lock().state {
        WritableState::Erroring(e) => Some(e.clone()),
        _ => None,
    }
}

/// The writable side's stored error if it is errored.
pub(crate) fn writable_errored_error<T>(writable: &WritableInner<T>) -> Option<StreamError>
where
    T: Send + 'static,
{
    match &writable.lock().state {
        WritableState::Errored(e) => Some(e.clone()),
        _ => None,
    }
}

/// The readable side's stored error if it is errored.
pub(crate) fn readable_errored_error<O: Send + 'static>(readable: &ReadableInner<O>) -> Option<StreamError> {
    match &readable.lock().state {
        readable::stream::StreamState::Errored(e) => Some(e.clone()),
        _ => None,
    }
}

/// What each side's `SetUp…StreamDefaultController` makes of the start algorithm's result,
/// `[[startPromise]]`: "a promise resolved with" it, Web IDL's operation, which always makes a
/// new promise. That one adopts `[[startPromise]]` in two jobs, so each side's start reaction
/// runs two microtasks later than a reaction to `[[startPromise]]` itself would
/// ([`Settles::Adopt`](crate::host::Settles)). That is observable: a `readable.cancel()` issued
/// right after construction reacts while a writable side erroring during start is still
/// erroring, not yet errored, and so fulfils (`transform-streams/errors.any.js`,
/// `general.any.js`; ECMAScript's `PromiseResolve`, which would hand `[[startPromise]]` back
/// unchanged, is not the operation the standard names).
pub(crate) fn start_promise_resolved_with<I: Send + 'static, O: Send + 'static>(
    stream: &Inner<I, O>,
) -> Completion {
    Completion::Deferred(Deferred::adopting(stream.start_promise.clone()))
}

/// The first steps shared by the sink's abort and close algorithms and the source's cancel
/// algorithm: if `[[finishPromise]]` is set, return it (`Err`, as the completion to hand back);
/// otherwise set it to a new promise and return that.
pub(crate) fn claim_finish_promise<I: Send + 'static, O: Send + 'static>(
    stream: &Inner<I, O>,
) -> Result<Arc<PromiseCell<()>>, Completion> {
    let mut slots = stream.lock();
    if let Some(p) = &slots.finish_promise {
        return Err(Completion::Deferred(Deferred::of(p.clone())));
    }
    let p = PromiseCell::pending();
    slots.finish_promise = Some(p.clone());
    Ok(p)
}

/// TransformStreamError.
pub(crate) fn transform_stream_error<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
    e: StreamError,
) {
    if let Some(readable) = stream.readable() {
        readable::readable_stream_default_controller_error(&readable, e.clone());
    }
    transform_stream_error_writable_and_unblock_write(stream, e);
}

/// TransformStreamErrorWritableAndUnblockWrite.
pub(crate) fn transform_stream_error_writable_and_unblock_write<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
    e: StreamError,
) {
    super::default_controller::transform_stream_default_controller_clear_algorithms(stream);
    if let Some(writable) = stream.writable() {
        writable::writable_stream_default_controller_error_if_needed(&writable, e);
    }
    transform_stream_unblock_write(stream);
}

/// TransformStreamSetBackpressure.
pub(crate) fn transform_stream_set_backpressure<I: Send + 'static, O: Send + 'static>(
    stream: &Inner<I, O>,
    backpressure: bool,
) {
    let previous = {
        let mut slots = stream.lock();
        debug_assert_ne!(slots.backpressure, Some(backpressure));
        slots.backpressure = Some(backpressure);
        slots.backpressure_change_promise.replace(PromiseCell::pending())
    };
    if let Some(p) = previous {
        p.resolve(());
    }
}

/// TransformStreamUnblockWrite.
pub(crate) fn transform_stream_unblock_write<I: Send + 'static, O: Send + 'static>(stream: &Inner<I, O>) {
    let blocked = stream.lock().backpressure == Some(true);
    if blocked {
        transform_stream_set_backpressure(stream, false);
    }
}
