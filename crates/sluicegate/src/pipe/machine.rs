//! The pipe's state machine: the standard's steps as states (running, waiting for writes,
//! acting, done), the pump, the shutdown actions and finalize.

use std::sync::Arc;

use super::steps::Core;
use super::{Convert, DirectCopy, ReadChunk};
use crate::abort::{AbortAlgorithmHandle, AbortSignal};
use crate::error::{catch_user, StreamError};
use crate::promise::PromiseCell;
use crate::readable::stream::{readable_stream_cancel, Stream as ReadableInner, StreamState};
use crate::readable::{readable_stream_default_reader_read_locked, ReadOutcome, ReadableStreamDefaultReader};
use crate::writable::{
    writable_stream_abort, writable_stream_close_queued_or_in_flight,
    writable_stream_default_controller_get_desired_size,
    writable_stream_default_writer_close_with_error_propagation, writable_stream_default_writer_release,
    writable_stream_default_writer_write_untracked, writable_stream_last_write_request,
    Stream as WritableInner, WritableState, WritableStreamDefaultWriter,
};

/// A shutdown action.
pub(super) enum Action {
    /// ! WritableStreamAbort(dest, e).
    AbortDest(StreamError),
    /// ! ReadableStreamCancel(source, e).
    CancelSource(StreamError),
    /// ! WritableStreamDefaultWriterCloseWithErrorPropagation(writer).
    CloseDest,
    /// The abort algorithm's actions, each unless prevented: abort the destination if it is
    /// writable, then cancel the source if it is readable.
    Signal {
        abort: Option<StreamError>,
        cancel: Option<StreamError>,
    },
}

pub(super) enum State {
    /// Copying directly between the files behind the two ends ([`DirectSource`](super::DirectSource)), before
    /// running.
    Copying(Box<dyn DirectCopy>),
    /// Not shutting down.
    Running,
    /// Shutting down: waiting for every chunk read to be written before acting or finalizing.
    WaitingForWrites {
        action: Option<Action>,
        error: Option<StreamError>,
    },
    /// Waiting for the action's promises ("getting a promise to wait for all").
    Acting {
        pending: Vec<Arc<PromiseCell<()>>>,
        watched: bool,
        error: Option<StreamError>,
    },
    /// Finalized.
    Done,
}

pub(super) struct Machine<T: Send + 'static, U: Send + 'static> {
    pub(super) source: ReadableInner<T>,
    pub(super) dest: WritableInner<U>,
    pub(super) reader: ReadableStreamDefaultReader<T>,
    pub(super) writer: WritableStreamDefaultWriter<U>,
    pub(super) prevent_close: bool,
    pub(super) prevent_abort: bool,
    pub(super) prevent_cancel: bool,
    /// The abort signal and its algorithm's handle, to remove at finalize. Boxed: few pipes
    /// have a signal.
    pub(super) signal: Option<Box<(AbortSignal, AbortAlgorithmHandle)>>,
    pub(super) state: State,
    pub(super) result: Arc<PromiseCell<()>>,
    /// Whether the pipe has written a chunk. The most recent write ("currentWrite") is the
    /// destination's newest write request while one is pending (the pipe holds the only writer),
    /// so its promise is made only when a shutdown has to wait for it
    /// ([`writable_stream_last_write_request`]).
    pub(super) wrote: bool,
    /// A read request is outstanding, as last seen in [`Shared::reading`](super::steps::Shared::reading).
    pub(super) reading: bool,
    /// The pipe has an abort signal, whose algorithm may leave a reason in `shared`.
    pub(super) signalled: bool,
    /// A chunk read but not yet written, taken over from [`Shared::unwritten`](super::steps::Shared::unwritten).
    pub(super) unwritten: Option<ReadChunk<T>>,
    /// The `ready` promise and the write a reaction is registered on, so each gets one.
    pub(super) watched_ready: Option<Arc<PromiseCell<()>>>,
    pub(super) watched_write: Option<Arc<PromiseCell<()>>>,
    /// The synchronous first step inside `pipe_to`: it neither reads nor waits for writes.
    pub(super) first: bool,
    /// Each chunk read, converted for the destination.
    pub(super) convert: Convert<T, U>,
}
impl<T: Send + 'static, U: Send + 'static> Machine<T, U> {
    /// Runs the state machine until nothing more can happen without outside events.
    pub(super) fn advance(&mut self, core: &Arc<Core<T, U>>) {
        loop {
            let progressed = match std::mem::replace(&mut self.state, State::Done) {
                State::Copying(copy) => self.copy(copy, core),
                State::Running => self.run(core),
                State::WaitingForWrites { action, error } => self.wait_for_writes(action, error, core),
                State::Acting {
                    pending,
                    watched,
                    error,
                } => self.act(pending, watched, error, core),
                State::Done => return,
            };
            if !progressed || matches!(self.state, State::Done) {
                return;
            }
        }
    }

    /// The direct copy ([`DirectSource`](super::DirectSource)): lets it go on by a slice, or stops it once the abort
    /// signal has fired; once it is over, hands the files back and runs. Returns whether
    /// anything changed.
    fn copy(&mut self, mut copy: Box<dyn DirectCopy>, core: &Arc<Core<T, U>>) -> bool {
        if self.first || copy.busy() {
            self.state = State::Copying(copy);
            return false;
        }
        if !copy.over() {
            // The signal's reason stays in `shared` for `run` to shut down with.
            let aborted = self.signalled && core.shared.lock().abort_reason.is_some();
            let wait = if aborted { copy.stop() } else { copy.go_on() };
            let c = core.clone();
            core.host.spawn(Box::pin(async move {
                wait.await;
                // Polled by the destination's host, which need not run it inside the domain.
                let _entered = c.shared.domain().enter();
                c.schedule();
            }));
            self.state = State::Copying(copy);
            return false;
        }
        let copied = copy.copied();
        copy.give_back();
        self.source.lock().meter.copied(copied);
        self.dest.lock().meter.copied(copied);
        self.state = State::Running;
        true
    }

    /// The abort signal, then the propagation rules in the standard's order, then the pump.
    /// Returns whether anything changed.
    fn run(&mut self, core: &Arc<Core<T, U>>) -> bool {
        self.state = State::Running;
        // Only an outstanding read request and the abort algorithm leave news in `shared`; a pipe
        // with neither skips the lock (most reads find a chunk queued and need no request).
        let abort_reason = if self.reading || self.signalled {
            let mut s = core.shared.lock();
            if let Some(chunk) = s.unwritten.take() {
                self.unwritten = Some(chunk);
            }
            self.reading = s.reading;
            s.abort_reason.take()
        } else {
            None
        };
        if let Some(error) = abort_reason {
            // The abort algorithm: shutdown with an action consisting of waiting for all of the
            // actions not prevented, and with the signal's abort reason.
            let action = Action::Signal {
                abort: (!self.prevent_abort).then(|| error.clone()),
                cancel: (!self.prevent_cancel).then(|| error.clone()),
            };
            self.shutdown(Some(action), Some(error));
            return true;
        }
        // The destination's state and its desired size in one lock round trip (the pump's
        // backpressure check below uses the same snapshot; nothing runs in between).
        let (dest_state, dest_closing, desired) = {
            let slots = self.dest.lock();
            let desired = match slots.state {
                WritableState::Errored(_) | WritableState::Erroring(_) => None,
                WritableState::Closed => Some(0.0),
                WritableState::Writable => Some(writable_stream_default_controller_get_desired_size(&slots)),
            };
            (
                slots.state.clone(),
                writable_stream_close_queued_or_in_flight(&slots),
                desired,
            )
        };
        let source = self.source.lock();
        let source_state = source.state.clone();
        // The pump, in the common case where every check below passes: nothing to write, no read
        // outstanding, and the destination's desired size positive
        // (WritableStreamDefaultWriterGetDesiredSize, from the snapshot above). The pipe's reader
        // locks the source until finalize, so the read goes to the stream directly, on the lock
        // just taken. A chunk already queued comes back at once and needs no request.
        let pump = matches!(source_state, StreamState::Readable)
            && matches!(dest_state, WritableState::Writable)
            && !dest_closing
            && !self.first
            && self.unwritten.is_none()
            && !self.reading
            && desired.is_some_and(|d| d > 0.0);
        if pump {
            let buffers = matches!(self.convert, Convert::WithBuffer(_));
            match readable_stream_default_reader_read_locked(&self.source, source, || {
                core.read_request(buffers)
            }) {
                // Written at once, without another pass of the checks above: whatever the read's
                // user code (a pull) changed, the standard writes this chunk anyway. If the
                // source closed or errored, shutdown writes chunks already read before acting;
                // if the destination is erroring, errored or closing, the write is rejected and
                // the chunk dropped, as shutdown would drop it.
                ReadOutcome::Chunk(chunk) => self.write_or_stop(ReadChunk::new(chunk)),
                ReadOutcome::ChunkInBuffer(chunk, buffer, offset) => {
                    let keep = buffers;
                    self.write_or_stop(ReadChunk::in_buffer(chunk, buffer, offset, keep))
                }
                // Waiting for the chunk: the request's completion asks for a step, as does
                // anything else the read's user code changed, so this step has nothing more to do,
                // unless the pull the read made delivered the chunk before returning: that chunk is
                // written now, as one found in the queue is (the step the request asked for comes
                // next, and sees whatever else the pull changed).
                ReadOutcome::Queued => {
                    let delivered = {
                        let mut s = core.shared.lock();
                        if s.reading {
                            None
                        } else {
                            s.unwritten.take()
                        }
                    };
                    match delivered {
                        Some(chunk) => self.write_or_stop(chunk),
                        None => {
                            self.reading = true;
                            return false;
                        }
                    }
                }
                // Closed or errored: the next pass sees it in the source's state.
                ReadOutcome::Closed | ReadOutcome::Errored(_) => {}
            }
            return true;
        }
        drop(source);
        // 1. Errors must be propagated forward.
        if let StreamState::Errored(stored) = source_state {
            let action = (!self.prevent_abort).then(|| Action::AbortDest(stored.clone()));
            self.shutdown(action, Some(stored));
            return true;
        }
        // 2. Errors must be propagated backward.
        if let WritableState::Errored(stored) = dest_state {
            let action = (!self.prevent_cancel).then(|| Action::CancelSource(stored.clone()));
            self.shutdown(action, Some(stored));
            return true;
        }
        // 3. Closing must be propagated forward.
        if let StreamState::Closed = source_state {
            let action = (!self.prevent_close).then_some(Action::CloseDest);
            self.shutdown(action, None);
            return true;
        }
        // 4. Closing must be propagated backward.
        if dest_closing || matches!(dest_state, WritableState::Closed) {
            let dest_closed =
                StreamError::type_error("the destination stream closed before the pipe finished");
            let action = (!self.prevent_cancel).then(|| Action::CancelSource(dest_closed.clone()));
            self.shutdown(action, Some(dest_closed));
            return true;
        }
        if self.first {
            return false;
        }
        // Write the chunk the last read produced.
        if let Some(chunk) = self.unwritten.take() {
            self.write_or_stop(chunk);
            return true;
        }
        // Room in the destination here means a read is outstanding (the pump above reads
        // otherwise): its completion asks for the next step.
        if desired.is_some_and(|d| d > 0.0) {
            debug_assert!(self.reading);
            return false;
        }
        // Wait for backpressure to lift (or the destination to start erroring).
        self.watch_ready(core);
        false
    }

    /// Writes a chunk that has been read; a conversion that panics stops the pipe as an abort
    /// signal would.
    fn write_or_stop(&mut self, chunk: ReadChunk<T>) {
        if let Err(error) = self.write(chunk) {
            let action = Action::Signal {
                abort: (!self.prevent_abort).then(|| error.clone()),
                cancel: (!self.prevent_cancel).then(|| error.clone()),
            };
            self.shutdown(Some(action), Some(error));
        }
    }

    /// Writes a chunk that has been read, converted for the destination; the write becomes
    /// currentWrite. A conversion that panics loses the chunk and is returned as the error that
    /// stops the pipe.
    fn write(&mut self, chunk: ReadChunk<T>) -> Result<(), StreamError> {
        let chunk = match &mut self.convert {
            Convert::Core(f) => f(chunk.chunk),
            convert => catch_user(|| convert.apply(chunk))?,
        };
        // A write rejected at once settles currentWrite at once: nothing to wait for. The next
        // step sees why (the destination closing or erroring).
        self.wrote = true;
        let _ = writable_stream_default_writer_write_untracked(&self.writer, &self.dest, chunk);
        Ok(())
    }

    /// "Shutdown" (`action` is `None`) and "shutdown with an action": shuttingDown becomes true
    /// (the machine leaves `Running` for good), then the writes are waited for.
    fn shutdown(&mut self, action: Option<Action>, error: Option<StreamError>) {
        self.state = State::WaitingForWrites { action, error };
    }

    /// Shutdown steps 3–4: if the destination is writable and not closing, every chunk read is
    /// written and its write has settled; then the action (or finalize).
    fn wait_for_writes(
        &mut self,
        action: Option<Action>,
        error: Option<StreamError>,
        core: &Arc<Core<T, U>>,
    ) -> bool {
        let dest_writable = {
            let slots = self.dest.lock();
            matches!(slots.state, WritableState::Writable)
                && !writable_stream_close_queued_or_in_flight(&slots)
        };
        if dest_writable {
            if self.first {
                // Waiting takes at least until the microtasks already queued have run.
                self.state = State::WaitingForWrites { action, error };
                return false;
            }
            // 3.1. Chunks read but not yet written are written.
            let unwritten = self
                .unwritten
                .take()
                .or_else(|| core.shared.lock().unwritten.take());
            if let Some(chunk) = unwritten {
                // Shutting down already: a conversion that panics only loses its chunk.
                let _ = self.write(chunk);
            }
            // 3.2. Wait until the last write (and so every earlier one) has settled.
            let current_write = if self.wrote {
                writable_stream_last_write_request(&mut self.dest.lock())
            } else {
                None
            };
            if let Some(write) = current_write {
                if write.is_pending() {
                    let watched = self
                        .watched_write
                        .as_ref()
                        .is_some_and(|w| Arc::ptr_eq(w, &write));
                    if !watched {
                        core.upon_settlement(&write);
                        self.watched_write = Some(write);
                    }
                    self.state = State::WaitingForWrites { action, error };
                    return false;
                }
            }
        }
        match action {
            None => self.finalize(error, core),
            Some(action) => {
                let pending = self.perform(action);
                self.state = State::Acting {
                    pending,
                    watched: false,
                    error,
                };
            }
        }
        true
    }

    /// Performs a shutdown action, returning the promises to wait for.
    fn perform(&mut self, action: Action) -> Vec<Arc<PromiseCell<()>>> {
        match action {
            Action::AbortDest(e) => vec![writable_stream_abort(&self.dest, e)],
            Action::CancelSource(e) => vec![readable_stream_cancel(&self.source, e)],
            Action::CloseDest => vec![writable_stream_default_writer_close_with_error_propagation(
                &self.writer,
            )],
            Action::Signal { abort, cancel } => {
                let mut all = Vec::new();
                if let Some(e) = abort {
                    let writable = matches!(self.dest.lock().state, WritableState::Writable);
                    all.push(if writable {
                        writable_stream_abort(&self.dest, e)
                    } else {
                        PromiseCell::settled(Ok(()))
                    });
                }
                if let Some(e) = cancel {
                    let readable = matches!(self.source.lock().state, StreamState::Readable);
                    all.push(if readable {
                        readable_stream_cancel(&self.source, e)
                    } else {
                        PromiseCell::settled(Ok(()))
                    });
                }
                all
            }
        }
    }

    /// Waits for all of the action's promises: the first rejection finalizes with its reason;
    /// once all are fulfilled, finalize passes the original error along.
    fn act(
        &mut self,
        pending: Vec<Arc<PromiseCell<()>>>,
        watched: bool,
        error: Option<StreamError>,
        core: &Arc<Core<T, U>>,
    ) -> bool {
        let mut waiting = false;
        for p in &pending {
            match p.peek() {
                Some(Err(new_error)) => {
                    self.finalize(Some(new_error), core);
                    return true;
                }
                Some(Ok(())) => {}
                None => waiting = true,
            }
        }
        if !waiting {
            self.finalize(error, core);
            return true;
        }
        if !watched {
            for p in pending.iter().filter(|p| p.is_pending()) {
                core.upon_settlement(p);
            }
        }
        self.state = State::Acting {
            pending,
            watched: true,
            error,
        };
        false
    }

    /// Reacts once to the current `ready` promise.
    fn watch_ready(&mut self, core: &Arc<Core<T, U>>) {
        let now = {
            let slots = self.dest.lock();
            let Some(writer) = slots.writer.as_ref() else {
                return;
            };
            let mut promises = writer.promises.lock();
            promises.ready_waiter.as_mut().map(|waiter| waiter.watch())
        };
        match now {
            // Settled: the reaction runs at once, as `on_settle` runs it for a settled cell.
            Some(true) => return core.schedule(),
            Some(false) => return,
            None => {}
        }
        let ready = self
            .dest
            .lock()
            .writer
            .as_ref()
            .map(|w| w.promises.lock().ready());
        let Some(ready) = ready else { return };
        if self
            .watched_ready
            .as_ref()
            .is_some_and(|r| Arc::ptr_eq(r, &ready))
        {
            return;
        }
        core.upon_settlement(&ready);
        self.watched_ready = Some(ready);
    }

    /// "Finalize": release the writer and the reader, remove the abort algorithm, settle.
    fn finalize(&mut self, error: Option<StreamError>, core: &Arc<Core<T, U>>) {
        self.state = State::Done;
        let driver = {
            let mut s = core.shared.lock();
            s.done = true;
            s.driver.take()
        };
        // Streams handed back to user code are reacted to a microtask later again.
        self.source.lock().controller.inline_completions = false;
        self.dest.lock().controller.inline_completions = false;
        // 1–3.
        writable_stream_default_writer_release(&self.writer);
        self.reader.release_lock();
        // 4.
        if let Some((signal, handle)) = self.signal.take().map(|s| *s) {
            signal.remove_algorithm(handle);
        }
        // 5–6.
        match error {
            Some(e) => self.result.reject(e),
            None => self.result.resolve(()),
        };
        if let Some(w) = driver {
            w.wake();
        }
    }
}
