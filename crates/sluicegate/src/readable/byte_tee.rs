//! ReadableByteStreamTee: teeing a readable byte stream into two byte streams.
//!
//! The tee reads its source with a default reader while neither branch has a BYOB read pending,
//! and with a BYOB reader into the pending branch's own buffer otherwise (the branch's request
//! buffer is moved into the source read and moved back with `respondWithNewView`: no copy for
//! that branch). The other branch gets its own copy of the bytes (CloneAsUint8Array), as the
//! standard requires. Reader switches follow the standard: the old reader is released and a new
//! one acquired, and only the current reader's `closed` errors the branches.
//!
//! The shared variables live behind one mutex never held while a stream operation runs.

use std::sync::{Arc, OnceLock, Weak};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::error::StreamError;
use crate::host::{queue_step, Completion, Deferred, Hold, HostRef};
use crate::promise::PromiseCell;

use super::byob_reader::{readable_stream_byob_reader_read, ReadIntoRequest};
use super::byob_request::ReadableStreamBYOBRequest;
use super::byob_view::ByobView;
use super::byte_controller::{
    default_reader_read, readable_byte_stream_controller_close, readable_byte_stream_controller_enqueue,
    readable_byte_stream_controller_error, readable_byte_stream_controller_get_byob_request,
    readable_byte_stream_controller_respond, readable_byte_stream_controller_respond_with_new_view,
    release_steps, set_up_readable_byte_stream_controller_from_underlying_source, QueueEntry,
};
use super::byte_source::UnderlyingByteSource;
use super::stream::{
    is_readable_stream_locked, next_reader_id, readable_stream_cancel, Inner, ReaderRecord, Stream,
    StreamState,
};
use super::tee::{resolve_cancel_promise_with, upon_promise_settlement};
use super::{ReadOutcome, ReadRequest, ReadableByteStreamController, ReadableStream, TeeCancelReasons};

#[derive(Default)]
struct ByteTeeState {
    reading: bool,
    /// `readAgainForBranch1`, `readAgainForBranch2`.
    read_again: [bool; 2],
    canceled: [bool; 2],
    reason: [Option<StreamError>; 2],
    cancel_promise_resolved: bool,
    /// The id of `reader` (the tee's current reader) and whether it is a BYOB reader.
    reader_id: u64,
    reader_byob: bool,
}

struct ByteTee {
    stream: Stream<Bytes>,
    branches: OnceLock<[Weak<Inner<Bytes>>; 2]>,
    cancel_promise: Arc<PromiseCell<()>>,
    state: Mutex<ByteTeeState>,
}

impl ByteTee {
    fn host(&self) -> &HostRef {
        &self.stream.host
    }

    fn branch(&self, i: usize) -> Option<Stream<Bytes>> {
        self.branches.get()?[i].upgrade()
    }

    fn canceled(&self, i: usize) -> bool {
        self.state.lock().canceled[i]
    }
}

/// ReadableByteStreamTee(stream).
pub(crate) fn readable_byte_stream_tee(
    stream: &Stream<Bytes>,
) -> Result<(ReadableStream<Bytes>, ReadableStream<Bytes>), StreamError> {
    // 3. Let reader be ? AcquireReadableStreamDefaultReader(stream).
    let (reader_id, closed) = acquire_tee_reader(stream, false)?;
    let tee = Arc::new(ByteTee {
        stream: stream.clone(),
        branches: OnceLock::new(),
        cancel_promise: PromiseCell::pending(),
        state: Mutex::new(ByteTeeState {
            reader_id,
            ..ByteTeeState::default()
        }),
    });
    let make_branch = |index| {
        set_up_readable_byte_stream_controller_from_underlying_source(
            Box::new(ByteTeeBranchSource {
                tee: tee.clone(),
                index,
            }),
            None,
            stream.host.clone(),
            stream.domain.clone(),
        )
    };
    let branch1 = make_branch(0)?;
    let branch2 = make_branch(1)?;
    let _ = tee
        .branches
        .set([Arc::downgrade(&branch1), Arc::downgrade(&branch2)]);
    // Perform forwardReaderError, given reader.
    forward_reader_error(&tee, reader_id, &closed);
    let (hold1, hold2) = (Hold::on(&branch1.host), Hold::on(&branch2.host));
    Ok((
        ReadableStream::held(branch1, hold1),
        ReadableStream::held(branch2, hold2),
    ))
}

/// AcquireReadableStreamDefaultReader / AcquireReadableStreamBYOBReader for the tee's own reader.
fn acquire_tee_reader(
    stream: &Stream<Bytes>,
    byob: bool,
) -> Result<(u64, Arc<PromiseCell<()>>), StreamError> {
    let mut slots = stream.lock();
    if is_readable_stream_locked(&slots) {
        return Err(StreamError::type_error(
            "cannot tee a stream that is already locked to a reader",
        ));
    }
    let closed = match &slots.state {
        StreamState::Readable => PromiseCell::pending(),
        StreamState::Closed => PromiseCell::settled(Ok(())),
        StreamState::Errored(e) => PromiseCell::settled(Err(e.clone())),
    };
    let id = next_reader_id();
    slots.reader = Some(ReaderRecord::new(id, closed.clone(), byob));
    Ok((id, closed))
}

/// ReadableStreamDefaultReaderRelease / ReadableStreamBYOBReaderRelease of the tee's reader (its
/// request lists are empty: the tee reads one at a time and only switches when idle).
fn release_tee_reader(tee: &ByteTee, reader_id: u64) {
    let mut slots = tee.stream.lock();
    if slots.reader.as_ref().is_none_or(|r| r.id != reader_id) {
        return;
    }
    let record = slots.reader.take().expect("checked above");
    if matches!(slots.state, StreamState::Readable) {
        record
            .closed
            .reject(StreamError::type_error("the reader was released"));
    }
    if let Some(byte) = slots.byte.as_deref_mut() {
        release_steps(byte);
    }
    debug_assert!(record.read_requests.is_empty() && record.num_read_into_requests() == 0);
}

/// Switches the tee's reader to a BYOB (`byob`) or default reader if it is not one already.
fn switch_reader(tee: &Arc<ByteTee>, byob: bool) {
    let old = {
        let state = tee.state.lock();
        if state.reader_byob == byob {
            return;
        }
        state.reader_id
    };
    release_tee_reader(tee, old);
    let Ok((id, closed)) = acquire_tee_reader(&tee.stream, byob) else {
        return;
    };
    {
        let mut state = tee.state.lock();
        state.reader_id = id;
        state.reader_byob = byob;
    }
    forward_reader_error(tee, id, &closed);
}

/// forwardReaderError, given `thisReader` (by id).
fn forward_reader_error(tee: &Arc<ByteTee>, this_reader: u64, closed: &Arc<PromiseCell<()>>) {
    let weak = Arc::downgrade(tee);
    upon_promise_settlement(
        tee.host(),
        tee.stream.domain.for_steps().cloned(),
        closed,
        move |result| {
            let (Err(r), Some(tee)) = (result, weak.upgrade()) else {
                return;
            };
            if tee.state.lock().reader_id != this_reader {
                return;
            }
            for i in 0..2 {
                if let Some(branch) = tee.branch(i) {
                    readable_byte_stream_controller_error(&branch, r.clone());
                }
            }
            let canceled = tee.state.lock().canceled;
            if !canceled[0] || !canceled[1] {
                resolve_cancel_promise(&tee, None);
            }
        },
    );
}

/// Resolves `cancelPromise` (see the default tee's `resolve_tee_cancel_promise`); only the first
/// call counts.
fn resolve_cancel_promise(tee: &ByteTee, with: Option<Arc<PromiseCell<()>>>) {
    {
        let mut state = tee.state.lock();
        if state.cancel_promise_resolved {
            return;
        }
        state.cancel_promise_resolved = true;
    }
    resolve_cancel_promise_with(tee.host(), &tee.cancel_promise, with);
}

/// A branch's underlying byte source: pull1Algorithm/pull2Algorithm, cancel1/cancel2Algorithm.
struct ByteTeeBranchSource {
    tee: Arc<ByteTee>,
    index: usize,
}

impl UnderlyingByteSource for ByteTeeBranchSource {
    fn pull(&mut self, _controller: &ReadableByteStreamController) -> Completion {
        // The core calls a branch's algorithms as it calls user code, outside its domain; they are
        // the standard's own steps, so each runs inside it.
        let _entered = self.tee.stream.domain.enter();
        pull_algorithm(&self.tee, self.index);
        Completion::ok()
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        let _entered = self.tee.stream.domain.enter();
        cancel_algorithm(&self.tee, self.index, reason)
    }
}

/// pull1Algorithm (`index` 0) and pull2Algorithm (`index` 1).
fn pull_algorithm(tee: &Arc<ByteTee>, index: usize) {
    {
        let mut state = tee.state.lock();
        if state.reading {
            state.read_again[index] = true;
            return;
        }
        state.reading = true;
    }
    let Some(branch) = tee.branch(index) else {
        pull_with_default_reader(tee);
        return;
    };
    let request = readable_byte_stream_controller_get_byob_request(&mut branch.lock());
    let view = request.and_then(|id| ReadableStreamBYOBRequest::new(&branch, id).take_view().ok());
    match view {
        None => pull_with_default_reader(tee),
        Some(view) => pull_with_byob_reader(tee, view, index == 1),
    }
}

/// pullWithDefaultReader.
fn pull_with_default_reader(tee: &Arc<ByteTee>) {
    switch_reader(tee, false);
    let mut request: Option<Box<dyn ReadRequest<Bytes>>> = Some(Box::new(TeeReadRequest {
        tee: Arc::downgrade(tee),
    }));
    let outcome = default_reader_read(&tee.stream, || request.take().expect("made once"));
    if let Some(request) = request {
        match outcome {
            ReadOutcome::Chunk(chunk) => request.chunk_steps(chunk),
            ReadOutcome::ChunkInBuffer(chunk, buffer, offset) => {
                request.chunk_in_buffer_steps(chunk, buffer, offset)
            }
            ReadOutcome::Closed => request.close_steps(),
            ReadOutcome::Errored(e) => request.error_steps(e),
            ReadOutcome::Queued => unreachable!("a queued read consumed its request"),
        }
    }
}

/// pullWithBYOBReader, given `view` and `forBranch2`.
fn pull_with_byob_reader(tee: &Arc<ByteTee>, view: ByobView, for_branch2: bool) {
    switch_reader(tee, true);
    let request = Box::new(TeeReadIntoRequest {
        tee: Arc::downgrade(tee),
        byob_index: usize::from(for_branch2),
    });
    readable_stream_byob_reader_read(&tee.stream, view, 1, request);
}

/// After a chunk: set reading to false; perform pull1Algorithm if readAgainForBranch1, otherwise
/// pull2Algorithm if readAgainForBranch2.
fn finish_read(tee: &Arc<ByteTee>) {
    let again = {
        let mut state = tee.state.lock();
        state.reading = false;
        state.read_again
    };
    if again[0] {
        pull_algorithm(tee, 0);
    } else if again[1] {
        pull_algorithm(tee, 1);
    }
}

fn enqueue_to(tee: &ByteTee, i: usize, chunk: QueueEntry) {
    if let Some(branch) = tee.branch(i) {
        let _ = readable_byte_stream_controller_enqueue(&branch, chunk);
    }
}

fn close_branch(tee: &ByteTee, i: usize) {
    if let Some(branch) = tee.branch(i) {
        let _ = readable_byte_stream_controller_close(&branch);
    }
}

/// If the branch's `[[pendingPullIntos]]` is not empty, ReadableByteStreamControllerRespond(0).
fn respond_zero_if_pending(tee: &ByteTee, i: usize) {
    if let Some(branch) = tee.branch(i) {
        let pending = branch
            .lock()
            .byte
            .as_deref()
            .is_some_and(|c| !c.pending_pull_intos.is_empty());
        if pending {
            let _ = readable_byte_stream_controller_respond(&branch, 0);
        }
    }
}

fn respond_with_new_view_to(tee: &ByteTee, i: usize, view: ByobView) {
    if let Some(branch) = tee.branch(i) {
        let _ = readable_byte_stream_controller_respond_with_new_view(&branch, view);
    }
}

/// The read request of pullWithDefaultReader.
struct TeeReadRequest {
    tee: Weak<ByteTee>,
}

impl TeeReadRequest {
    /// The chunk steps, given the chunk as the standard's view: its bytes within its buffer.
    fn chunk(self, chunk: QueueEntry) {
        let Some(tee) = self.tee.upgrade() else { return };
        let host = tee.host().clone();
        queue_step(&host, tee.stream.domain.for_steps().cloned(), move || {
            let canceled = {
                let mut state = tee.state.lock();
                state.read_again = [false, false];
                state.canceled
            };
            // CloneAsUint8Array: branch 2 gets its own copy of the view's bytes (a new buffer of
            // just those bytes) while both branches are live; branch 1 gets the view itself, its
            // whole buffer and offset.
            let chunk2 = if !canceled[0] && !canceled[1] {
                QueueEntry::whole(Bytes::copy_from_slice(chunk.as_slice()))
            } else {
                chunk.clone()
            };
            if !tee.canceled(0) {
                enqueue_to(&tee, 0, chunk);
            }
            if !tee.canceled(1) {
                enqueue_to(&tee, 1, chunk2);
            }
            finish_read(&tee);
        });
    }
}

impl ReadRequest<Bytes> for TeeReadRequest {
    fn chunk_steps(self: Box<Self>, chunk: Bytes) {
        (*self).chunk(QueueEntry::whole(chunk));
    }

    fn chunk_in_buffer_steps(self: Box<Self>, chunk: Bytes, buffer: Bytes, byte_offset: usize) {
        let byte_length = chunk.len();
        drop(chunk);
        (*self).chunk(QueueEntry {
            buffer,
            byte_offset,
            byte_length,
        });
    }

    fn close_steps(self: Box<Self>) {
        let Some(tee) = self.tee.upgrade() else { return };
        tee.state.lock().reading = false;
        if !tee.canceled(0) {
            close_branch(&tee, 0);
        }
        if !tee.canceled(1) {
            close_branch(&tee, 1);
        }
        respond_zero_if_pending(&tee, 0);
        respond_zero_if_pending(&tee, 1);
        let canceled = tee.state.lock().canceled;
        if !canceled[0] || !canceled[1] {
            resolve_cancel_promise(&tee, None);
        }
    }

    fn error_steps(self: Box<Self>, _e: StreamError) {
        if let Some(tee) = self.tee.upgrade() {
            tee.state.lock().reading = false;
        }
    }
}

/// The read-into request of pullWithBYOBReader.
struct TeeReadIntoRequest {
    tee: Weak<ByteTee>,
    /// The index of `byobBranch` (1 when `forBranch2`).
    byob_index: usize,
}

impl ReadIntoRequest for TeeReadIntoRequest {
    fn chunk_steps(self: Box<Self>, view: ByobView) {
        let Some(tee) = self.tee.upgrade() else { return };
        let (byob, other) = (self.byob_index, 1 - self.byob_index);
        let host = tee.host().clone();
        queue_step(&host, tee.stream.domain.for_steps().cloned(), move || {
            let canceled = {
                let mut state = tee.state.lock();
                state.read_again = [false, false];
                state.canceled
            };
            if !canceled[other] {
                let cloned = QueueEntry::whole(Bytes::copy_from_slice(view.as_slice()));
                if !canceled[byob] {
                    respond_with_new_view_to(&tee, byob, view);
                }
                enqueue_to(&tee, other, cloned);
            } else if !canceled[byob] {
                respond_with_new_view_to(&tee, byob, view);
            }
            finish_read(&tee);
        });
    }

    fn close_steps(self: Box<Self>, chunk: Option<ByobView>) {
        let Some(tee) = self.tee.upgrade() else { return };
        let (byob, other) = (self.byob_index, 1 - self.byob_index);
        let canceled = {
            let mut state = tee.state.lock();
            state.reading = false;
            state.canceled
        };
        if !canceled[byob] {
            close_branch(&tee, byob);
        }
        if !canceled[other] {
            close_branch(&tee, other);
        }
        if let Some(chunk) = chunk {
            debug_assert_eq!(chunk.byte_length(), 0);
            if !canceled[byob] {
                respond_with_new_view_to(&tee, byob, chunk);
            }
            if !canceled[other] {
                respond_zero_if_pending(&tee, other);
            }
        }
        if !canceled[byob] || !canceled[other] {
            resolve_cancel_promise(&tee, None);
        }
    }

    fn error_steps(self: Box<Self>, _e: StreamError) {
        if let Some(tee) = self.tee.upgrade() {
            tee.state.lock().reading = false;
        }
    }
}

/// cancel1Algorithm (`index` 0) and cancel2Algorithm (`index` 1).
fn cancel_algorithm(tee: &Arc<ByteTee>, index: usize, reason: StreamError) -> Completion {
    let composite = {
        let mut state = tee.state.lock();
        state.canceled[index] = true;
        state.reason[index] = Some(reason);
        if state.canceled[1 - index] {
            Some(TeeCancelReasons([0, 1].map(|i| {
                state.reason[i].clone().unwrap_or_else(StreamError::undefined)
            })))
        } else {
            None
        }
    };
    if let Some(reasons) = composite {
        let cancel_result = readable_stream_cancel(&tee.stream, StreamError::user(reasons));
        resolve_cancel_promise(tee, Some(cancel_result));
    }
    Completion::Deferred(Deferred::of(tee.cancel_promise.clone()))
}
