//! Teeing a readable stream: ReadableStreamTee and ReadableStreamDefaultTee (§ "Working with
//! readable streams"), plus the native API's opt-in bounded tee.
//!
//! The tee locks its source with a reader only it holds, and feeds two branch streams whose
//! underlying sources are the standard's pull and cancel algorithms. Its read of the source is a
//! read request ([`ReadRequest`]), not a future: a chunk costs one microtask and, while both
//! branches are live, one `clone()`. Both branches run on the source's host, so awaiting either
//! branch drives the source.
//!
//! The tee's shared variables (`reading`, `readAgain`, `canceled1`, …) live behind one mutex that
//! is never held while a stream operation runs: every step takes what it needs, releases the lock,
//! acts on the streams, and re-reads the variables the standard reads afterwards.

use std::fmt;
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use crate::error::StreamError;
use crate::host::{adopt, queue_step, Completion, Deferred, Domain, HostRef};
use crate::promise::PromiseCell;
use crate::strategy::QueuingStrategy;

use super::default_controller::readable_stream_default_controller_call_pull_if_needed;
use super::default_reader::readable_stream_default_reader_read;
use super::stream::{
    as_byte_stream, cast, is_readable_stream_locked, next_reader_id, readable_stream_cancel, Inner,
    ReaderRecord, Stream, StreamState,
};
use super::{
    readable_stream_default_controller_close, readable_stream_default_controller_enqueue,
    readable_stream_default_controller_error, ReadOutcome, ReadRequest, ReadableStream,
    ReadableStreamDefaultController, UnderlyingSource,
};

/// The composite reason a tee hands to its source's `cancel` once both branches are cancelled:
/// the standard's array « reason1, reason2 », branch 1's reason first whatever the order of the
/// two cancels.
///
/// It arrives as the [`reason`](StreamError::reason) of a [`StreamError`] of kind
/// [`ErrorKind::User`](crate::ErrorKind::User).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use sluicegate::readable::{ReadableStream, SourceFn, TeeCancelReasons};
/// use sluicegate::StreamError;
///
/// let seen = Arc::new(Mutex::new(None));
/// let s = seen.clone();
/// let source = ReadableStream::<u8>::new(SourceFn::new().cancel(move |reason: StreamError| {
///     *s.lock().unwrap() = reason.reason::<TeeCancelReasons>().cloned();
/// }))
/// .unwrap();
/// let (branch1, branch2) = source.tee().unwrap();
/// let (why1, why2) = (StreamError::user("left"), StreamError::user("right"));
/// # futures::executor::block_on(async {
/// let cancel2 = branch2.cancel(why2.clone());
/// branch1.cancel(why1.clone()).await.unwrap();
/// cancel2.await.unwrap();
/// # });
/// let reasons = seen.lock().unwrap().take().expect("the source was cancelled");
/// assert!(StreamError::same(reasons.branch1(), &why1));
/// assert!(StreamError::same(reasons.branch2(), &why2));
/// ```
#[derive(Clone)]
pub struct TeeCancelReasons(pub [StreamError; 2]);

impl TeeCancelReasons {
    /// The reason branch 1 was cancelled with (`reason1`).
    pub fn branch1(&self) -> &StreamError {
        &self.0[0]
    }

    /// The reason branch 2 was cancelled with (`reason2`).
    pub fn branch2(&self) -> &StreamError {
        &self.0[1]
    }
}

impl fmt::Debug for TeeCancelReasons {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

/// The variables ReadableStreamDefaultTee's algorithms share, indexed by branch (0 is branch 1).
#[derive(Default)]
struct TeeState {
    /// `reading`.
    reading: bool,
    /// `readAgain`.
    read_again: bool,
    /// `canceled1`, `canceled2`.
    canceled: [bool; 2],
    /// `reason1`, `reason2` (`None` is the standard's initial undefined).
    reason: [Option<StreamError>; 2],
    /// Whether `cancelPromise` has been resolved (possibly with a promise still pending).
    cancel_promise_resolved: bool,
    /// Bounded tee only: a pull was turned away because a branch was full.
    pull_blocked: bool,
}

/// One tee: the source, its branches and the shared variables.
struct Tee<T: Send + 'static> {
    /// `stream`, locked by the tee's own reader for good.
    stream: Stream<T>,
    /// `branch1`, `branch2`. Weak, as a controller is: a branch's source holds the tee, so strong
    /// pointers back would be a cycle. A dropped branch is skipped.
    branches: OnceLock<[Weak<Inner<T>>; 2]>,
    /// `cancelPromise`.
    cancel_promise: Arc<PromiseCell<()>>,
    /// The bounded tee's limit on unread chunks per branch; `None` for the standard's tee.
    limit: Option<usize>,
    state: Mutex<TeeState>,
}

impl<T: Send + 'static> Tee<T> {
    fn host(&self) -> &HostRef {
        &self.stream.host
    }

    fn branch(&self, i: usize) -> Option<Stream<T>> {
        self.branches.get()?[i].upgrade()
    }

    fn canceled(&self, i: usize) -> bool {
        self.state.lock().canceled[i]
    }
}

/// ReadableStreamTee(stream, cloneForBranch2 = false).
///
/// Step 3: a byte stream (whose `T` is `Bytes`) is teed by ReadableByteStreamTee. With
/// `cloneForBranch2` false both branches receive the same chunk; in Rust that is one `clone()` for
/// branch 1 and the original for branch 2.
pub(crate) fn readable_stream_tee<T: Clone + Send + 'static>(
    stream: &Stream<T>,
) -> Result<(ReadableStream<T>, ReadableStream<T>), StreamError> {
    let is_byte = stream.lock().byte.is_some();
    if is_byte {
        let bytes = as_byte_stream(stream).expect("a byte controller controls a stream of Bytes");
        let (branch1, branch2) = super::byte_tee::readable_byte_stream_tee(bytes)?;
        let cast_back = |b| {
            cast::<ReadableStream<bytes::Bytes>, ReadableStream<T>>(b)
                .unwrap_or_else(|_| unreachable!("T is Bytes"))
        };
        return Ok((cast_back(branch1), cast_back(branch2)));
    }
    readable_stream_default_tee(stream, None)
}

/// ReadableStreamDefaultTee(stream, false); with `limit`, the bounded variant of
/// [`ReadableStream::tee_bounded`].
fn readable_stream_default_tee<T: Clone + Send + 'static>(
    stream: &Stream<T>,
    limit: Option<usize>,
) -> Result<(ReadableStream<T>, ReadableStream<T>), StreamError> {
    // 3. Let reader be ? AcquireReadableStreamDefaultReader(stream).
    let closed_promise = acquire_tee_reader(stream)?;
    // 4–12. reading, readAgain, canceled1/2, reason1/2, branch1/2, cancelPromise.
    let tee = Arc::new(Tee {
        stream: stream.clone(),
        branches: OnceLock::new(),
        cancel_promise: PromiseCell::pending(),
        limit,
        state: Mutex::new(TeeState::default()),
    });
    // 13–16. pullAlgorithm, cancel1Algorithm, cancel2Algorithm, startAlgorithm: the branches'
    // underlying sources. 17–18. Create the branches on the source's host.
    let strategy = match limit {
        None => QueuingStrategy::new(),
        Some(limit) => QueuingStrategy::count(limit as f64),
    };
    let make_branch = |index| {
        ReadableStream::from_boxed_source(
            Box::new(TeeBranchSource {
                tee: tee.clone(),
                index,
            }),
            strategy.clone(),
            stream.host.clone(),
            stream.domain.clone(),
            1.0,
        )
    };
    let branch1 = make_branch(0)?;
    let branch2 = make_branch(1)?;
    let _ = tee
        .branches
        .set([Arc::downgrade(&branch1.inner), Arc::downgrade(&branch2.inner)]);
    // 19. Upon rejection of reader.[[closedPromise]] with reason r, …
    let weak = Arc::downgrade(&tee);
    upon_promise_settlement(
        &stream.host,
        stream.domain.for_steps().cloned(),
        &closed_promise,
        move |result| {
            if let (Err(r), Some(tee)) = (result, weak.upgrade()) {
                readable_stream_default_tee_on_source_errored(&tee, r);
            }
        },
    );
    // 20. Return « branch1, branch2 ».
    Ok((branch1, branch2))
}

/// AcquireReadableStreamDefaultReader for the tee's reader, which only the tee holds: the source
/// stays locked for as long as it exists, as the standard's unreachable reader keeps it. Returns
/// the reader's `[[closedPromise]]`.
fn acquire_tee_reader<T: Send + 'static>(stream: &Stream<T>) -> Result<Arc<PromiseCell<()>>, StreamError> {
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
    slots.reader = Some(ReaderRecord::new(next_reader_id(), closed.clone(), false));
    Ok(closed)
}

/// A branch's underlying source: start returns undefined, pull is the shared `pullAlgorithm`,
/// cancel is `cancel1Algorithm` or `cancel2Algorithm`.
struct TeeBranchSource<T: Send + 'static> {
    tee: Arc<Tee<T>>,
    index: usize,
}

impl<T: Send + 'static> Drop for TeeBranchSource<T> {
    /// Bounded tee: a branch whose algorithms go away (it was closed, errored, cancelled, or
    /// dropped unread) no longer holds the other branch back, so a pull that was turned away is
    /// retried. This may run under the branch's lock, so the retry is a microtask.
    fn drop(&mut self) {
        if self.tee.limit.is_none() {
            return;
        }
        let tee = self.tee.clone();
        queue_step(
            self.tee.host(),
            self.tee.stream.domain.for_steps().cloned(),
            move || {
                if !tee.state.lock().pull_blocked {
                    return;
                }
                for i in 0..2 {
                    if let Some(branch) = tee.branch(i) {
                        readable_stream_default_controller_call_pull_if_needed(&branch);
                    }
                }
            },
        );
    }
}

impl<T: Clone + Send + 'static> UnderlyingSource<T> for TeeBranchSource<T> {
    fn pull(&mut self, _controller: &ReadableStreamDefaultController<T>) -> Completion {
        // The core calls a branch's algorithms as it calls user code, outside its domain; they are
        // the standard's own steps, so each runs inside it.
        let _entered = self.tee.stream.domain.enter();
        readable_stream_default_tee_pull_algorithm(&self.tee)
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        let _entered = self.tee.stream.domain.enter();
        readable_stream_default_tee_cancel_algorithm(&self.tee, self.index, reason)
    }
}

/// ReadableStreamDefaultTee's `pullAlgorithm`, with the bounded tee's gate before the read.
fn readable_stream_default_tee_pull_algorithm<T: Clone + Send + 'static>(tee: &Arc<Tee<T>>) -> Completion {
    // Upgraded before locking, so that a branch's last handle is never dropped under the lock.
    let branches = [tee.branch(0), tee.branch(1)];
    {
        let mut state = tee.state.lock();
        // 1. If reading is true, set readAgain to true and return a promise resolved with undefined.
        if state.reading {
            state.read_again = true;
            return Completion::ok();
        }
        if let Some(limit) = tee.limit {
            if tee_bounded_has_full_branch(&state, &branches, limit) {
                state.pull_blocked = true;
                return Completion::ok();
            }
            state.pull_blocked = false;
        }
        // 2. Set reading to true.
        state.reading = true;
    }
    drop(branches);
    // 3. Let readRequest be a read request with the chunk, close and error steps below.
    let mut request: Option<Box<dyn ReadRequest<T>>> = Some(Box::new(TeeReadRequest {
        tee: Arc::downgrade(tee),
    }));
    // 4. Perform ! ReadableStreamDefaultReaderRead(reader, readRequest).
    let outcome = readable_stream_default_reader_read(&tee.stream, || {
        request.take().expect("the read request is made once")
    });
    if let Some(request) = request {
        match outcome {
            ReadOutcome::Chunk(chunk) | ReadOutcome::ChunkInBuffer(chunk, ..) => request.chunk_steps(chunk),
            ReadOutcome::Closed => request.close_steps(),
            ReadOutcome::Errored(e) => request.error_steps(e),
            ReadOutcome::Queued => unreachable!("a queued read consumed its request"),
        }
    }
    // 5. Return a promise resolved with undefined.
    Completion::ok()
}

/// The read request of `pullAlgorithm`. It holds the tee weakly: a pending read in the source's
/// queue must not keep the tee (which holds the source) alive in a cycle.
struct TeeReadRequest<T: Send + 'static> {
    tee: Weak<Tee<T>>,
}

impl<T: Clone + Send + 'static> ReadRequest<T> for TeeReadRequest<T> {
    /// Chunk steps: 1. Queue a microtask to perform the rest.
    fn chunk_steps(self: Box<Self>, chunk: T) {
        let Some(tee) = self.tee.upgrade() else { return };
        let host = tee.host().clone();
        queue_step(&host, tee.stream.domain.for_steps().cloned(), move || {
            readable_stream_default_tee_chunk_microtask(&tee, chunk)
        });
    }

    /// Close steps.
    fn close_steps(self: Box<Self>) {
        let Some(tee) = self.tee.upgrade() else { return };
        // 1. Set reading to false.
        tee.state.lock().reading = false;
        // 2. If canceled1 is false, perform ! ReadableStreamDefaultControllerClose(branch1.[[controller]]).
        if !tee.canceled(0) {
            if let Some(branch) = tee.branch(0) {
                readable_stream_default_controller_close(&branch);
            }
        }
        // 3. If canceled2 is false, perform ! ReadableStreamDefaultControllerClose(branch2.[[controller]]).
        if !tee.canceled(1) {
            if let Some(branch) = tee.branch(1) {
                readable_stream_default_controller_close(&branch);
            }
        }
        // 4. If canceled1 is false or canceled2 is false, resolve cancelPromise with undefined.
        let canceled = tee.state.lock().canceled;
        if !canceled[0] || !canceled[1] {
            resolve_tee_cancel_promise(&tee, None);
        }
    }

    /// Error steps: 1. Set reading to false.
    fn error_steps(self: Box<Self>, _e: StreamError) {
        if let Some(tee) = self.tee.upgrade() {
            tee.state.lock().reading = false;
        }
    }
}

/// The microtask the read request's chunk steps queue (cloneForBranch2 is false, so the
/// StructuredClone branch of the standard never runs).
fn readable_stream_default_tee_chunk_microtask<T: Clone + Send + 'static>(tee: &Arc<Tee<T>>, chunk: T) {
    // 1. Set readAgain to false.
    let canceled = {
        let mut state = tee.state.lock();
        state.read_again = false;
        state.canceled
    };
    // 2. Let chunk1 and chunk2 be chunk: clone only while branch 2 may still take its own copy
    // (canceled2 never goes back to false).
    let mut chunk2 = Some(chunk);
    // 4. If canceled1 is false, perform ! ReadableStreamDefaultControllerEnqueue(branch1.[[controller]], chunk1).
    if !canceled[0] {
        let chunk1 = if canceled[1] {
            chunk2.take()
        } else {
            chunk2.clone()
        };
        if let (Some(chunk1), Some(branch)) = (chunk1, tee.branch(0)) {
            // A branch counts chunks, so enqueueing cannot fail (the "!" of the standard).
            let _ = readable_stream_default_controller_enqueue(&branch, chunk1);
        }
    }
    // 5. If canceled2 is false, perform ! ReadableStreamDefaultControllerEnqueue(branch2.[[controller]], chunk2).
    if !tee.canceled(1) {
        if let (Some(chunk2), Some(branch)) = (chunk2, tee.branch(1)) {
            let _ = readable_stream_default_controller_enqueue(&branch, chunk2);
        }
    }
    // 6. Set reading to false.
    let read_again = {
        let mut state = tee.state.lock();
        state.reading = false;
        state.read_again
    };
    // 7. If readAgain is true, perform pullAlgorithm.
    if read_again {
        let _ = readable_stream_default_tee_pull_algorithm(tee);
    }
}

/// ReadableStreamDefaultTee's `cancel1Algorithm` (`index` 0) and `cancel2Algorithm` (`index` 1).
fn readable_stream_default_tee_cancel_algorithm<T: Clone + Send + 'static>(
    tee: &Arc<Tee<T>>,
    index: usize,
    reason: StreamError,
) -> Completion {
    let (composite, wake_other) = {
        let mut state = tee.state.lock();
        // 1. Set canceledN to true. 2. Set reasonN to reason.
        state.canceled[index] = true;
        state.reason[index] = Some(reason);
        // 3. If the other branch is cancelled too, let compositeReason be « reason1, reason2 ».
        if state.canceled[1 - index] {
            let reasons = [0, 1].map(|i| state.reason[i].clone().unwrap_or_else(StreamError::undefined));
            (Some(TeeCancelReasons(reasons)), false)
        } else {
            (None, state.pull_blocked)
        }
    };
    if let Some(reasons) = composite {
        // Let cancelResult be ! ReadableStreamCancel(stream, compositeReason); resolve cancelPromise
        // with cancelResult.
        let cancel_result = readable_stream_cancel(&tee.stream, StreamError::user(reasons));
        resolve_tee_cancel_promise(tee, Some(cancel_result));
    } else if wake_other {
        // Bounded tee: a full branch that is cancelled no longer holds the other one back.
        if let Some(other) = tee.branch(1 - index) {
            readable_stream_default_controller_call_pull_if_needed(&other);
        }
    }
    // 4. Return cancelPromise.
    Completion::Deferred(Deferred::of(tee.cancel_promise.clone()))
}

/// Step 19: upon rejection of `reader.[[closedPromise]]` with reason `r`.
fn readable_stream_default_tee_on_source_errored<T: Send + 'static>(tee: &Arc<Tee<T>>, r: StreamError) {
    // 1. Perform ! ReadableStreamDefaultControllerError(branch1.[[controller]], r).
    if let Some(branch) = tee.branch(0) {
        readable_stream_default_controller_error(&branch, r.clone());
    }
    // 2. Perform ! ReadableStreamDefaultControllerError(branch2.[[controller]], r).
    if let Some(branch) = tee.branch(1) {
        readable_stream_default_controller_error(&branch, r);
    }
    // 3. If canceled1 is false or canceled2 is false, resolve cancelPromise with undefined.
    let canceled = tee.state.lock().canceled;
    if !canceled[0] || !canceled[1] {
        resolve_tee_cancel_promise(tee, None);
    }
}

/// Resolves `cancelPromise` with undefined (`None`) or with another promise, whose state it then
/// adopts. Like resolving a promise, only the first call counts.
fn resolve_tee_cancel_promise<T: Send + 'static>(tee: &Tee<T>, with: Option<Arc<PromiseCell<()>>>) {
    {
        let mut state = tee.state.lock();
        if state.cancel_promise_resolved {
            return;
        }
        state.cancel_promise_resolved = true;
    }
    resolve_cancel_promise_with(tee.host(), &tee.cancel_promise, with);
}

/// The resolution itself, shared with the byte tee once it has claimed its own first call:
/// `cancel_promise` is fulfilled at once (`with` is `None`) or adopts `with`'s state.
pub(super) fn resolve_cancel_promise_with(
    host: &HostRef,
    cancel_promise: &Arc<PromiseCell<()>>,
    with: Option<Arc<PromiseCell<()>>>,
) {
    match with {
        None => {
            cancel_promise.resolve(());
        }
        Some(result) => {
            // `cancelResult` is a promise, so `cancelPromise` adopts it the way a promise resolved
            // with a promise does, settling in the job that reacts to it (reactions to
            // `cancelPromise` run a job after that). Reacting to `cancelResult` at once settled it
            // a job early (found by the differential tests against the reference implementation).
            let cancel_promise = cancel_promise.clone();
            adopt(
                host,
                None,
                result,
                Box::new(move |_, outcome| {
                    cancel_promise.settle(outcome);
                }),
            );
        }
    }
}

/// The bounded tee's gate: whether a branch that is still fed (not cancelled, still readable)
/// holds `limit` or more unread chunks. Called with the tee's lock held; takes each branch's lock
/// briefly (the tee never takes its own lock under a branch's, so the order is fixed).
fn tee_bounded_has_full_branch<T: Send + 'static>(
    state: &TeeState,
    branches: &[Option<Stream<T>>; 2],
    limit: usize,
) -> bool {
    (0..2).any(|i| {
        !state.canceled[i]
            && branches[i].as_ref().is_some_and(|branch| {
                let slots = branch.lock();
                matches!(slots.state, StreamState::Readable) && slots.controller.queue.len() >= limit
            })
    })
}

/// "Upon settlement of `cell`, run `steps`": a microtask queued on `host` the moment the cell
/// settles (at once if it already has), which is when a promise reaction job is queued.
pub(super) fn upon_promise_settlement(
    host: &HostRef,
    domain: Option<Arc<Domain>>,
    cell: &Arc<PromiseCell<()>>,
    steps: impl FnOnce(Result<(), StreamError>) + Send + 'static,
) {
    let host = host.clone();
    cell.on_settle(move |result| queue_step(&host, domain, move || steps(result)));
}

impl<T: Clone + Send + 'static> ReadableStream<T> {
    /// The standard's `tee()`: splits the stream into two branches that each receive every chunk.
    ///
    /// The stream is locked for good. Branch 1 gets a `clone()` of each chunk and branch 2 the
    /// original (the standard's tee with `cloneForBranch2` false); once a branch is cancelled the
    /// other gets the chunk without a clone. Closing or erroring the source closes or errors both
    /// branches; cancelling one branch does not affect the other, and the source is cancelled only
    /// when both are, with a [`TeeCancelReasons`] holding both reasons. The source is pulled only
    /// when a branch pulls, and each branch has a high-water mark of 1.
    ///
    /// The branches share this stream's host, so awaiting either one drives the source.
    ///
    /// A readable byte stream ([`ReadableStream::new_bytes`]) is teed by the standard's
    /// ReadableByteStreamTee instead: both branches are byte streams, branch 1 gets the source's
    /// bytes and branch 2 its own copy of them, and a BYOB read on either branch reads the source
    /// straight into that branch's buffer (the other branch gets a copy).
    ///
    /// As in the standard, the faster branch's pace sets the reading pace and the slower branch
    /// buffers **without limit** whatever it has not read yet. Use
    /// [`tee_bounded`](Self::tee_bounded) to cap that buffer.
    ///
    /// A `TypeError` if the stream is locked.
    ///
    /// ```
    /// use sluicegate::readable::ReadableStream;
    ///
    /// # futures::executor::block_on(async {
    /// let (left, right) = ReadableStream::from_iter(["a", "b"]).tee().unwrap();
    /// let (left, right) = (left.get_reader().unwrap(), right.get_reader().unwrap());
    /// assert_eq!(left.read().await.unwrap(), Some("a"));
    /// assert_eq!(left.read().await.unwrap(), Some("b"));
    /// assert_eq!(left.read().await.unwrap(), None);
    /// assert_eq!(right.read().await.unwrap(), Some("a"));
    /// assert_eq!(right.read().await.unwrap(), Some("b"));
    /// assert_eq!(right.read().await.unwrap(), None);
    /// # });
    /// ```
    pub fn tee(&self) -> Result<(ReadableStream<T>, ReadableStream<T>), StreamError> {
        let _entered = self.inner.domain.enter();
        readable_stream_tee(&self.inner)
    }

    /// A tee whose buffering is bounded by the slower branch: the source is not read while either
    /// branch (not cancelled) holds `limit` or more unread chunks. Each branch has a high-water mark
    /// of `limit`, so it reads ahead up to `limit` chunks and the faster branch may run up to
    /// `limit` chunks ahead of the slower one; memory stays at most `limit` chunks per branch.
    ///
    /// Everything else is [`tee`](Self::tee): the same chunks in the same order on both branches,
    /// close and error reaching both, the source cancelled once both branches are, with a
    /// [`TeeCancelReasons`].
    ///
    /// **Deadlock risk:** the branches advance together. If one branch is never read (nor
    /// cancelled), the other stalls after `limit` chunks and its next read waits forever. Read
    /// both branches concurrently (for example with `futures::join!`), or cancel a branch you do
    /// not need.
    ///
    /// A `RangeError` if `limit` is 0; a `TypeError` if the stream is locked.
    ///
    /// ```
    /// use sluicegate::readable::ReadableStream;
    ///
    /// # futures::executor::block_on(async {
    /// let (fast, slow) = ReadableStream::from_iter(0..100u32).tee_bounded(4).unwrap();
    /// let (fast, slow) = (fast.get_reader().unwrap(), slow.get_reader().unwrap());
    /// let mut got = (Vec::new(), Vec::new());
    /// loop {
    ///     let (a, b) = futures::join!(fast.read(), slow.read());
    ///     match (a.unwrap(), b.unwrap()) {
    ///         (Some(a), Some(b)) => { got.0.push(a); got.1.push(b) }
    ///         (None, None) => break,
    ///         other => panic!("branches out of step: {other:?}"),
    ///     }
    /// }
    /// assert_eq!(got.0, (0..100).collect::<Vec<_>>());
    /// assert_eq!(got.0, got.1);
    /// # });
    /// ```
    pub fn tee_bounded(&self, limit: usize) -> Result<(ReadableStream<T>, ReadableStream<T>), StreamError> {
        if limit == 0 {
            return Err(StreamError::range_error(
                "a bounded tee needs a limit of at least one chunk",
            ));
        }
        let _entered = self.inner.domain.enter();
        readable_stream_default_tee(&self.inner, Some(limit))
    }
}
