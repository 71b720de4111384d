//! The `TransformStreamDefaultController` class and its operations (§ "Default controllers").

use std::fmt;
use std::sync::{Arc, Weak};

use crate::algorithm::{checkin, Checkout};
use crate::error::{catch_user, StreamError};
use crate::host::{upon_settlement, Completion, Deferred};
use crate::promise::{PromiseCell, Promised};
use crate::readable;
use crate::transform::Transformer;

use super::stream::{
    transform_stream_error, transform_stream_error_writable_and_unblock_write,
    transform_stream_set_backpressure, Inner, Slots,
};

/// What a controller handle reaches: the transform stream's core, seen from its output type.
pub(crate) trait ControllerTarget<O>: Send + Sync {
    fn enqueue(self: Arc<Self>, chunk: O) -> Result<(), StreamError>;
    fn error(self: Arc<Self>, e: StreamError);
    fn terminate(self: Arc<Self>);
    fn ready(self: Arc<Self>) -> Promised<()>;
}

/// The writable side as a controller reaches it once the stream's shared core is gone, its chunk
/// type erased.
pub(crate) trait WritableSide: Send + Sync {
    /// WritableStreamDefaultControllerErrorIfNeeded, in the side's domain.
    fn error_if_needed(self: Arc<Self>, e: StreamError);
}

impl<I: Send + 'static> WritableSide for crate::writable::stream::Inner<I> {
    fn error_if_needed(self: Arc<Self>, e: StreamError) {
        let _entered = self.domain.enter();
        crate::writable::writable_stream_default_controller_error_if_needed(&self, e);
    }
}

/// The handle a transformer uses to feed the readable side: the standard's
/// `TransformStreamDefaultController`. Cheap to clone; it does not keep the stream alive.
pub struct TransformStreamDefaultController<O> {
    target: Weak<dyn ControllerTarget<O>>,
    /// `[[stream]].[[readable]]` and `[[stream]].[[writable]]`, held here too: once both sides
    /// have cleared their algorithms the shared core may be gone, but the standard's controller
    /// still reaches both sides through its `[[stream]]`. `desiredSize` still reports the
    /// readable side's (0 once closed), and `error()` and `terminate()` still reach a writable
    /// side whose close is in flight: its sink's close algorithm was cleared once called, the
    /// readable side's once it errored, and the close's rejection has not been processed yet.
    readable: Weak<readable::stream::Inner<O>>,
    writable: Weak<dyn WritableSide>,
}

impl<O> Clone for TransformStreamDefaultController<O> {
    fn clone(&self) -> Self {
        TransformStreamDefaultController {
            target: self.target.clone(),
            readable: self.readable.clone(),
            writable: self.writable.clone(),
        }
    }
}

impl<O> fmt::Debug for TransformStreamDefaultController<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransformStreamDefaultController")
    }
}

impl<O: Send + 'static> TransformStreamDefaultController<O> {
    pub(crate) fn new<I: Send + 'static>(stream: &Arc<Inner<I, O>>) -> Self {
        let strong: Arc<dyn ControllerTarget<O>> = stream.clone();
        let writable: Weak<dyn WritableSide> = match stream.writable_side.get() {
            Some(side) => side.clone(),
            None => Weak::<crate::writable::stream::Inner<I>>::new(),
        };
        TransformStreamDefaultController {
            target: Arc::downgrade(&strong),
            readable: stream.readable_side.get().cloned().unwrap_or_default(),
            writable,
        }
    }

    /// The standard's `desiredSize`: the readable side's desired size (`None` once errored, 0 once
    /// closed).
    pub fn desired_size(&self) -> Option<f64> {
        let readable = self.readable.upgrade()?;
        let _entered = readable.domain.enter();
        let slots = readable.lock();
        readable::readable_stream_default_controller_get_desired_size(&slots)
    }

    /// The standard's `enqueue(chunk)`: hands `chunk` to the readable side. A `TypeError` if the
    /// readable side is closing, closed or errored.
    pub fn enqueue(&self, chunk: O) -> Result<(), StreamError> {
        match self.target.upgrade() {
            Some(t) => t.enqueue(chunk),
            None => Err(StreamError::type_error("the transform stream has been dropped")),
        }
    }

    /// The standard's `error(e)`: errors both sides.
    pub fn error(&self, e: StreamError) {
        match self.target.upgrade() {
            Some(t) => t.error(e),
            None => self.sides_without_core(Some(e)),
        }
    }

    /// The standard's `terminate()`: closes the readable side and errors the writable side.
    pub fn terminate(&self) {
        match self.target.upgrade() {
            Some(t) => t.terminate(),
            None => self.sides_without_core(None),
        }
    }

    /// `error(e)` (`Some`) or `terminate()` (`None`) once the stream's shared core is gone (both
    /// sides have cleared their algorithms, so the core's own steps, clearing them again and
    /// unblocking a write that waits for backpressure, have nothing left to do): the readable side
    /// is errored or closed if it still can be, and the writable side errored if it is still
    /// writable (TransformStreamError and TransformStreamDefaultControllerTerminate).
    fn sides_without_core(&self, e: Option<StreamError>) {
        let e = match (e, self.readable.upgrade()) {
            (e, Some(readable)) => {
                let _entered = readable.domain.enter();
                match e {
                    Some(e) => {
                        readable::readable_stream_default_controller_error(&readable, e.clone());
                        e
                    }
                    None => {
                        readable::readable_stream_default_controller_close(&readable);
                        StreamError::type_error("the transform stream has been terminated")
                    }
                }
            }
            (Some(e), None) => e,
            (None, None) => StreamError::type_error("the transform stream has been terminated"),
        };
        if let Some(writable) = self.writable.upgrade() {
            writable.error_if_needed(e);
        }
    }

    /// Settles when the readable side wants more: at once while the stream has no backpressure,
    /// otherwise when the stream's `[[backpressureChangePromise]]` does (the next pull of the
    /// readable side, or an error, cancel or termination that unblocks the writable side).
    ///
    /// Not in the standard, whose transformers enqueue everything a chunk gives at once. A
    /// transformer that turns one chunk into many (a decompressor) awaits this between pieces, so
    /// that a small input that inflates to gigabytes never sits in the readable side's queue
    /// whole. After it settles, `enqueue` may still fail: the stream may have been cancelled.
    ///
    /// ```
    /// use sluicegate::transform::{TransformStream, TransformerFn};
    /// use sluicegate::Completion;
    ///
    /// # futures::executor::block_on(async {
    /// // Each number comes out as that many chunks, one at a time as the reader asks.
    /// let spread = TransformStream::new(TransformerFn::new(|n: u32, c| {
    ///     let c = c.clone();
    ///     Completion::future(async move {
    ///         for i in 0..n {
    ///             c.ready().await?;
    ///             c.enqueue(i)?;
    ///         }
    ///         Ok(())
    ///     })
    /// }))
    /// .unwrap();
    /// let writer = spread.writable().get_writer().unwrap();
    /// let reader = spread.readable().get_reader().unwrap();
    /// let _ = writer.write(3);
    /// assert_eq!(reader.read().await.unwrap(), Some(0));
    /// assert_eq!(reader.read().await.unwrap(), Some(1));
    /// assert_eq!(reader.read().await.unwrap(), Some(2));
    /// # });
    /// ```
    pub fn ready(&self) -> Promised<()> {
        match self.target.upgrade() {
            Some(t) => t.ready(),
            None => Promised::new(crate::host::Driver::new(), PromiseCell::settled(Ok(()))),
        }
    }
}

impl<I: Send + 'static, O: Send + 'static> ControllerTarget<O> for Inner<I, O> {
    fn enqueue(self: Arc<Self>, chunk: O) -> Result<(), StreamError> {
        let _entered = self.domain.enter();
        transform_stream_default_controller_enqueue(&self, chunk)
    }

    fn error(self: Arc<Self>, e: StreamError) {
        let _entered = self.domain.enter();
        transform_stream_default_controller_error(&self, e);
    }

    fn terminate(self: Arc<Self>) {
        let _entered = self.domain.enter();
        transform_stream_default_controller_terminate(&self);
    }

    fn ready(self: Arc<Self>) -> Promised<()> {
        let cell = {
            let _entered = self.domain.enter();
            let slots = self.lock();
            match (&slots.backpressure, &slots.backpressure_change_promise) {
                (Some(true), Some(p)) => p.clone(),
                _ => PromiseCell::settled(Ok(())),
            }
        };
        Promised::new(self.host.clone(), cell)
    }
}

/// TransformStreamDefaultControllerClearAlgorithms.
pub(crate) fn transform_stream_default_controller_clear_algorithms<I: Send + 'static, O: Send + 'static>(
    stream: &Inner<I, O>,
) {
    let transformer = stream.lock().transformer.clear();
    drop(transformer);
}

/// TransformStreamDefaultControllerEnqueue.
pub(crate) fn transform_stream_default_controller_enqueue<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
    chunk: O,
) -> Result<(), StreamError> {
    let readable = stream
        .readable()
        .ok_or_else(|| StreamError::type_error("the readable side has been dropped"))?;
    // 2–3: the check and the enqueue in one lock hold.
    match readable::readable_stream_default_controller_enqueue(&readable, chunk) {
        Ok(()) => {}
        Err(readable::EnqueueError::CannotEnqueue) => {
            return Err(StreamError::type_error(
                "the readable side is not in a state that permits enqueue",
            ))
        }
        Err(readable::EnqueueError::Size(e)) => {
            transform_stream_error_writable_and_unblock_write(stream, e.clone());
            let stored = match &readable.lock().state {
                readable::stream::StreamState::Errored(stored) => stored.clone(),
                _ => e,
            };
            return Err(stored);
        }
    }
    let backpressure = readable::readable_stream_default_controller_has_backpressure(&readable.lock());
    if Some(backpressure) != stream.lock().backpressure {
        debug_assert!(backpressure);
        transform_stream_set_backpressure(stream, true);
    }
    Ok(())
}

/// TransformStreamDefaultControllerError.
pub(crate) fn transform_stream_default_controller_error<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
    e: StreamError,
) {
    transform_stream_error(stream, e);
}

/// TransformStreamDefaultControllerPerformTransform: runs the transform algorithm on `chunk`; a
/// rejection errors the stream and is passed on.
///
/// If the transformer is checked out (user code in `start`, `flush` or `cancel` wrote to this
/// stream's own writable side), the transform runs as soon as that method hands the transformer
/// back, instead of re-entering it; once the algorithms are cleared it fails with a `TypeError`.
pub(crate) fn transform_stream_default_controller_perform_transform<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
    chunk: I,
) -> Completion {
    // 1. Let transformPromise be the result of performing controller.[[transformAlgorithm]].
    let mut transformer = {
        let mut slots = stream.slots.lock();
        match slots.transformer.checkout() {
            Checkout::Got(transformer) => Some(transformer),
            Checkout::Cleared => None,
            Checkout::Busy => {
                let result = PromiseCell::pending();
                let react = react_to_transform_promise(stream, result.clone());
                let s = stream.clone();
                let _ = slots
                    .transformer
                    .defer(Box::new(move |t| react(transform_algorithm(&s, Some(t), chunk))));
                return Completion::Deferred(Deferred::of(result));
            }
        }
    };
    let transform_promise = transform_algorithm(stream, transformer.as_mut(), chunk);
    // 2. Return the result of reacting to transformPromise with a rejection step.
    let completion = match transform_promise {
        // Already fulfilled: the reaction's promise fulfils one microtask after a reaction is
        // attached to it, with no cell to allocate (the common case of a synchronous transform).
        Completion::Ready(Ok(())) => Completion::Deferred(Deferred::after_tick(Ok(()))),
        transform_promise => {
            let result = PromiseCell::pending();
            react_to_transform_promise(stream, result.clone())(transform_promise);
            Completion::Deferred(Deferred::of(result))
        }
    };
    if let Some(transformer) = transformer {
        checkin(
            &stream.slots,
            |slots: &mut Slots<I, O>| &mut slots.transformer,
            transformer,
        );
    }
    completion
}

/// Performs controller.`[[transformAlgorithm]]` on `chunk` with the checked-out transformer
/// (`None` once the algorithms are cleared: a `TypeError`).
fn transform_algorithm<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
    transformer: Option<&mut Box<dyn Transformer<I, O>>>,
    chunk: I,
) -> Completion {
    match transformer {
        Some(transformer) => {
            catch_user(|| transformer.transform(chunk, stream.controller())).unwrap_or_else(Completion::err)
        }
        None => Completion::err(StreamError::type_error(
            "the transform stream's algorithms are no longer available",
        )),
    }
}

/// PerformTransform step 2: reacts to transformPromise with a rejection step that performs
/// TransformStreamError(stream, r) and rethrows r, settling `out` as the reaction's promise.
fn react_to_transform_promise<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
    out: Arc<PromiseCell<()>>,
) -> impl FnOnce(Completion) + Send + 'static {
    let s = stream.clone();
    move |transform_promise: Completion| {
        let at = s.clone();
        upon_settlement(&at.host, Some(&at.domain), transform_promise, move |r| {
            if let Err(e) = &r {
                transform_stream_error(&s, e.clone());
            }
            out.settle(r);
        });
    }
}

/// TransformStreamDefaultControllerTerminate.
pub(crate) fn transform_stream_default_controller_terminate<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
) {
    if let Some(readable) = stream.readable() {
        readable::readable_stream_default_controller_close(&readable);
    }
    let error = StreamError::type_error("the transform stream has been terminated");
    transform_stream_error_writable_and_unblock_write(stream, error);
}

/// Runs `call` on the transformer (deferring it while the transformer is checked out) and hands
/// its completion to `then`; a cleared transformer's algorithms return a promise resolved with
/// undefined.
pub(crate) fn call_transformer<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
    call: impl FnOnce(&mut Box<dyn super::Transformer<I, O>>, &TransformStreamDefaultController<O>) -> Completion
        + Send
        + 'static,
    then: impl FnOnce(Completion) + Send + 'static,
) {
    type Then = Box<dyn FnOnce(Completion) + Send>;
    let then: Arc<parking_lot::Mutex<Option<Then>>> = Arc::new(parking_lot::Mutex::new(Some(Box::new(then))));
    let t = then.clone();
    let s = stream.clone();
    let ran = crate::algorithm::call_or_defer(
        &stream.slots,
        |slots: &mut Slots<I, O>| &mut slots.transformer,
        move |transformer| {
            let c = catch_user(|| call(transformer, s.controller())).unwrap_or_else(Completion::err);
            if let Some(then) = t.lock().take() {
                then(c);
            }
        },
    );
    if !ran {
        if let Some(then) = then.lock().take() {
            then(Completion::ok());
        }
    }
}
