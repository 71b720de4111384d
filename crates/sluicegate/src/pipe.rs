//! ReadableStreamPipeTo as an explicit state machine, and `pipe_through`.
//!
//! A pipe is a future spawned on the destination's host: it runs whenever anything drives that
//! host (awaiting the pipe's result does), and it polls the source's and the destination's
//! hosts together, so reads and writes overlap without a runtime task. It reads whenever the
//! destination's desired size is positive and writes each chunk in the read request's chunk steps,
//! so a chunk never waits inside the pipe.
//!
//! States follow the standard's prose: `Running` checks the four propagation rules in order
//! (errors forward, errors backward, closing forward, closing backward) and otherwise pumps;
//! `WaitingForWrites` is the first half of "shutdown" (every chunk read has been written);
//! `Acting` waits for the shutdown action; `finalize` releases the reader and writer, removes the
//! abort algorithm and settles the result.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::abort::{AbortAlgorithmHandle, AbortSignal};
use crate::error::StreamError;
use crate::host::HostRef;
use crate::promise::{PromiseCell, Promised};
use crate::readable::stream::{readable_stream_cancel, Stream as ReadableInner, StreamState};
use crate::readable::{
    acquire_readable_stream_default_reader, ReadRequest, ReadableStream, ReadableStreamDefaultReader,
};
use crate::transform::TransformStream;
use crate::writable::{
    acquire_writable_stream_default_writer, is_writable_stream_locked, writable_stream_abort,
    writable_stream_close_queued_or_in_flight, writable_stream_default_writer_close_with_error_propagation,
    writable_stream_default_writer_get_desired_size, writable_stream_default_writer_release,
    writable_stream_default_writer_write, Stream as WritableInner, WritableState, WritableStream,
    WritableStreamDefaultWriter,
};

/// Options for [`ReadableStream::pipe_to`]: the standard's `StreamPipeOptions`.
#[derive(Clone, Debug, Default)]
pub struct PipeOptions {
    /// Leave the destination open when the source closes.
    pub prevent_close: bool,
    /// Leave the destination un-aborted when the source errors.
    pub prevent_abort: bool,
    /// Leave the source uncancelled when the destination errors or closes.
    pub prevent_cancel: bool,
    /// Stops the pipe when aborted: the destination is aborted and the source cancelled with the
    /// signal's reason (unless prevented), and the pipe fails with that reason.
    pub signal: Option<AbortSignal>,
}

/// State shared with the pipe's read request and abort algorithm.
#[derive(Default)]
struct Shared {
    reading: bool,
    /// The promise of the most recent write ("currentWrite").
    current_write: Option<Arc<PromiseCell<()>>>,
    /// Set by the abort algorithm; handled at the next step.
    abort_reason: Option<StreamError>,
    waker: Option<Waker>,
}

impl Shared {
    fn wake(this: &Mutex<Shared>) {
        if let Some(w) = this.lock().waker.take() {
            w.wake();
        }
    }
}

/// The pipe's read request: writes the chunk at once.
struct PipeRead<T: Send + 'static> {
    writer: WritableStreamDefaultWriter<T>,
    shared: Arc<Mutex<Shared>>,
}

impl<T: Send + 'static> ReadRequest<T> for PipeRead<T> {
    fn chunk_steps(self: Box<Self>, chunk: T) {
        let write = writable_stream_default_writer_write(&self.writer, chunk);
        {
            let mut s = self.shared.lock();
            s.current_write = Some(write);
            s.reading = false;
        }
        Shared::wake(&self.shared);
    }

    fn close_steps(self: Box<Self>) {
        self.shared.lock().reading = false;
        Shared::wake(&self.shared);
    }

    fn error_steps(self: Box<Self>, _e: StreamError) {
        self.shared.lock().reading = false;
        Shared::wake(&self.shared);
    }
}

/// A shutdown action.
enum Action {
    /// WritableStreamAbort(dest, e) if dest is writable.
    AbortDest(StreamError),
    /// ReadableStreamCancel(source, e) if source is readable.
    CancelSource(StreamError),
    /// WritableStreamDefaultWriterCloseWithErrorPropagation(writer).
    CloseDest,
    /// The abort signal's actions: both of the above, unless prevented.
    Both(Option<StreamError>, Option<StreamError>),
}

enum State {
    Running,
    WaitingForWrites {
        action: Option<Action>,
        error: Option<StreamError>,
    },
    Acting {
        pending: Vec<Arc<PromiseCell<()>>>,
        error: Option<StreamError>,
    },
    Done,
}

struct Pipe<T: Send + 'static> {
    source: ReadableInner<T>,
    dest: WritableInner<T>,
    reader: ReadableStreamDefaultReader<T>,
    writer: WritableStreamDefaultWriter<T>,
    prevent_close: bool,
    prevent_abort: bool,
    prevent_cancel: bool,
    signal: Option<(AbortSignal, AbortAlgorithmHandle)>,
    shared: Arc<Mutex<Shared>>,
    state: State,
    result: Arc<PromiseCell<()>>,
}

impl<T: Send + 'static> ReadableStream<T> {
    /// The standard's `pipeTo(destination, options)`: reads every chunk from this stream and writes
    /// it to `dest`, respecting `dest`'s backpressure, and propagates closing and errors as
    /// `options` allow. Both streams are locked at once; the returned future settles when the pipe
    /// has finished. The pipe lives on the destination's host and makes progress whenever that
    /// host is driven — by awaiting the returned future, or by anything else awaiting a stream on
    /// that host (as reading a `pipe_through` result does). Dropping the future does not stop the
    /// pipe; stop it with [`PipeOptions::signal`].
    ///
    /// A `TypeError` if either stream is already locked.
    ///
    /// ```
    /// use sluicegate::pipe::PipeOptions;
    /// use sluicegate::readable::ReadableStream;
    /// use sluicegate::writable::{SinkFn, WritableStream};
    /// use std::sync::{Arc, Mutex};
    ///
    /// # futures::executor::block_on(async {
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let dest = WritableStream::new(SinkFn::new().write(move |chunk: u32, _| {
    ///     s.lock().unwrap().push(chunk);
    /// })).unwrap();
    /// ReadableStream::from_iter(1..=3).pipe_to(&dest, PipeOptions::default()).await.unwrap();
    /// assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
    /// # });
    /// ```
    pub fn pipe_to(&self, dest: &WritableStream<T>, options: PipeOptions) -> Promised<()> {
        let host = dest.inner.host.clone();
        let cell = match readable_stream_pipe_to(&self.inner, &dest.inner, options) {
            Ok(cell) => cell,
            Err(e) => PromiseCell::settled(Err(e)),
        };
        Promised::new(host, cell)
    }

    /// The standard's `pipeThrough(transform, options)`: pipes this stream into `transform`'s
    /// writable side and returns its readable side. A `TypeError` if this stream or the writable
    /// side is locked. The pipe's own result is not reported (as in the standard); errors show up
    /// on the returned stream.
    ///
    /// ```
    /// use sluicegate::pipe::PipeOptions;
    /// use sluicegate::readable::ReadableStream;
    /// use sluicegate::transform::TransformStream;
    /// use futures::StreamExt;
    ///
    /// # futures::executor::block_on(async {
    /// let doubled = ReadableStream::from_iter(1..=3)
    ///     .pipe_through(&TransformStream::map(|n: u32| n * 2), PipeOptions::default())
    ///     .unwrap();
    /// let out: Vec<u32> = doubled.values().unwrap().map(Result::unwrap).collect().await;
    /// assert_eq!(out, [2, 4, 6]);
    /// # });
    /// ```
    pub fn pipe_through<O: Send + 'static>(
        &self,
        transform: &TransformStream<T, O>,
        options: PipeOptions,
    ) -> Result<ReadableStream<O>, StreamError> {
        if self.locked() {
            return Err(StreamError::type_error("cannot pipe a locked stream"));
        }
        if transform.writable().locked() {
            return Err(StreamError::type_error(
                "the transform stream's writable side is locked",
            ));
        }
        readable_stream_pipe_to(&self.inner, &transform.writable().inner, options)?;
        Ok(transform.readable().clone())
    }
}

/// ReadableStreamPipeTo: locks both streams and spawns the pipe on the destination's host.
/// Returns the pipe's promise.
pub(crate) fn readable_stream_pipe_to<T: Send + 'static>(
    source: &ReadableInner<T>,
    dest: &WritableInner<T>,
    options: PipeOptions,
) -> Result<Arc<PromiseCell<()>>, StreamError> {
    if crate::readable::stream::is_readable_stream_locked(&source.lock()) {
        return Err(StreamError::type_error("cannot pipe a locked stream"));
    }
    if is_writable_stream_locked(&dest.lock()) {
        return Err(StreamError::type_error("cannot pipe to a locked stream"));
    }
    let reader = acquire_readable_stream_default_reader(source)?;
    let writer = acquire_writable_stream_default_writer(dest)?;
    source.lock().disturbed = true;
    let shared = Arc::new(Mutex::new(Shared::default()));
    let result = PromiseCell::pending();
    let signal = options.signal.map(|signal| {
        let s = shared.clone();
        let handle = signal.add_algorithm(move |reason| {
            s.lock().abort_reason = Some(reason.clone());
            Shared::wake(&s);
        });
        if let Some(reason) = signal.reason() {
            // Already aborted: the algorithm does not run for a signal aborted before it was added.
            shared.lock().abort_reason = Some(reason);
        }
        (signal, handle)
    });
    let mut pipe = Pipe {
        source: source.clone(),
        dest: dest.clone(),
        reader,
        writer,
        prevent_close: options.prevent_close,
        prevent_abort: options.prevent_abort,
        prevent_cancel: options.prevent_cancel,
        signal,
        shared,
        state: State::Running,
        result: result.clone(),
    };
    let hosts = Hosts::new(&source.host, &dest.host);
    dest.host.spawn(Box::pin(std::future::poll_fn(move |cx| {
        hosts.poll_progress(cx);
        pipe.poll_step(cx)
    })));
    Ok(result)
}

/// The hosts a pipe drives: the source's, and the destination's unless it is the same one. The
/// destination's host runs the pipe, so it is driven by whoever polls it.
struct Hosts {
    source: Option<HostRef>,
}

impl Hosts {
    fn new(source: &HostRef, dest: &HostRef) -> Self {
        let same = std::ptr::addr_eq(Arc::as_ptr(source), Arc::as_ptr(dest));
        Hosts {
            source: (!same).then(|| source.clone()),
        }
    }

    fn poll_progress(&self, cx: &mut Context<'_>) {
        if let Some(h) = &self.source {
            h.poll_progress(cx);
        }
    }
}

impl<T: Send + 'static> Pipe<T> {
    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            self.shared.lock().waker = Some(cx.waker().clone());
            let progressed = match std::mem::replace(&mut self.state, State::Done) {
                State::Running => self.run(cx),
                State::WaitingForWrites { action, error } => self.wait_for_writes(action, error, cx),
                State::Acting { pending, error } => self.act(pending, error, cx),
                State::Done => return Poll::Ready(()),
            };
            if matches!(self.state, State::Done) {
                return Poll::Ready(());
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    }

    /// The propagation rules, in the standard's order, then the pump. Returns whether anything
    /// changed (so the caller steps again).
    fn run(&mut self, cx: &mut Context<'_>) -> bool {
        self.state = State::Running;
        let abort_reason = self.shared.lock().abort_reason.take();
        if let Some(reason) = abort_reason {
            let abort = (!self.prevent_abort).then(|| reason.clone());
            let cancel = (!self.prevent_cancel).then(|| reason.clone());
            self.shutdown(Some(Action::Both(abort, cancel)), Some(reason));
            return true;
        }
        let source_state = self.source.lock().state.clone();
        let (dest_state, dest_closing) = {
            let slots = self.dest.lock();
            (
                slots.state.clone(),
                writable_stream_close_queued_or_in_flight(&slots),
            )
        };
        // Errors must be propagated forward.
        if let StreamState::Errored(e) = source_state {
            let action = (!self.prevent_abort).then(|| Action::AbortDest(e.clone()));
            self.shutdown(action, Some(e));
            return true;
        }
        // Errors must be propagated backward.
        if let WritableState::Errored(e) = dest_state {
            let action = (!self.prevent_cancel).then(|| Action::CancelSource(e.clone()));
            self.shutdown(action, Some(e));
            return true;
        }
        // Closing must be propagated forward.
        if let StreamState::Closed = source_state {
            let action = (!self.prevent_close).then_some(Action::CloseDest);
            self.shutdown(action, None);
            return true;
        }
        // Closing must be propagated backward.
        if dest_closing || matches!(dest_state, WritableState::Closed) {
            let dest_closed =
                StreamError::type_error("the destination stream closed before the pipe finished");
            let action = (!self.prevent_cancel).then(|| Action::CancelSource(dest_closed.clone()));
            self.shutdown(action, Some(dest_closed));
            return true;
        }
        // Pump: read while the destination wants more and no read is outstanding.
        let reading = self.shared.lock().reading;
        let desired = writable_stream_default_writer_get_desired_size(&self.dest);
        if !reading && desired.is_some_and(|d| d > 0.0) {
            self.shared.lock().reading = true;
            let request = Box::new(PipeRead {
                writer: self.writer.clone(),
                shared: self.shared.clone(),
            });
            if self.reader.read_with(request).is_err() {
                self.shared.lock().reading = false;
                return false;
            }
            return true;
        }
        // Wait for a change: the read completing (shared waker), backpressure lifting (ready), or
        // either stream closing or erroring (closed promises).
        // Each poll registers this task's waker; a promise that has already settled changes
        // nothing the checks above have not seen.
        let _ = Pin::new(&mut self.writer.ready()).poll(cx);
        let _ = Pin::new(&mut self.writer.closed()).poll(cx);
        let _ = Pin::new(&mut self.reader.closed()).poll(cx);
        false
    }

    /// "Shutdown" and "shutdown with an action": stop reading, then wait for the writes.
    fn shutdown(&mut self, action: Option<Action>, error: Option<StreamError>) {
        self.state = State::WaitingForWrites { action, error };
    }

    fn wait_for_writes(
        &mut self,
        action: Option<Action>,
        error: Option<StreamError>,
        cx: &mut Context<'_>,
    ) -> bool {
        let dest_writable = {
            let slots = self.dest.lock();
            matches!(slots.state, WritableState::Writable)
                && !writable_stream_close_queued_or_in_flight(&slots)
        };
        if dest_writable {
            let current = self.shared.lock().current_write.clone();
            if let Some(write) = current {
                if write.is_pending() {
                    let mut w = Promised::new(self.dest.host.clone(), write);
                    if Pin::new(&mut w).poll(cx).is_pending() {
                        self.state = State::WaitingForWrites { action, error };
                        return false;
                    }
                    // A newer write may have started meanwhile: look again.
                    self.state = State::WaitingForWrites { action, error };
                    return true;
                }
            }
        }
        let pending = match action {
            None => {
                self.finalize(error);
                return true;
            }
            Some(action) => self.perform(action),
        };
        self.state = State::Acting { pending, error };
        true
    }

    fn perform(&mut self, action: Action) -> Vec<Arc<PromiseCell<()>>> {
        match action {
            Action::AbortDest(e) => vec![self.abort_dest(e)],
            Action::CancelSource(e) => vec![self.cancel_source(e)],
            Action::CloseDest => vec![writable_stream_default_writer_close_with_error_propagation(
                &self.writer,
            )],
            Action::Both(abort, cancel) => {
                let mut all = Vec::new();
                if let Some(e) = abort {
                    all.push(self.abort_dest(e));
                }
                if let Some(e) = cancel {
                    all.push(self.cancel_source(e));
                }
                all
            }
        }
    }

    fn abort_dest(&self, e: StreamError) -> Arc<PromiseCell<()>> {
        if matches!(self.dest.lock().state, WritableState::Writable) {
            writable_stream_abort(&self.dest, e)
        } else {
            PromiseCell::settled(Ok(()))
        }
    }

    fn cancel_source(&self, e: StreamError) -> Arc<PromiseCell<()>> {
        if matches!(self.source.lock().state, StreamState::Readable) {
            readable_stream_cancel(&self.source, e)
        } else {
            PromiseCell::settled(Ok(()))
        }
    }

    /// Waits for every action's promise ("wait for all"): the first rejection wins, otherwise the
    /// original error (if any) is passed on.
    fn act(
        &mut self,
        pending: Vec<Arc<PromiseCell<()>>>,
        error: Option<StreamError>,
        cx: &mut Context<'_>,
    ) -> bool {
        let mut waiting = false;
        for p in &pending {
            match Pin::new(&mut Promised::new(self.dest.host.clone(), p.clone())).poll(cx) {
                Poll::Ready(Err(e)) => {
                    self.finalize(Some(e));
                    return true;
                }
                Poll::Ready(Ok(())) => {}
                Poll::Pending => waiting = true,
            }
        }
        if waiting {
            self.state = State::Acting { pending, error };
            return false;
        }
        self.finalize(error);
        true
    }

    /// "Finalize": release the writer and the reader, remove the abort algorithm, settle.
    fn finalize(&mut self, error: Option<StreamError>) {
        writable_stream_default_writer_release(&self.writer);
        self.reader.release_lock();
        if let Some((signal, handle)) = self.signal.take() {
            signal.remove_algorithm(handle);
        }
        match error {
            Some(e) => self.result.reject(e),
            None => self.result.resolve(()),
        };
        self.state = State::Done;
    }
}
