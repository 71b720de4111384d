//! The `ReadableStream` class: its internal slots and the abstract operations that work on a
//! readable stream (§ "Working with readable streams" and "Interfacing with controllers").

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::algorithm::AlgorithmSlot;
use crate::error::StreamError;
use crate::host::{upon_settlement, CellGuard, Completion, Domain, DomainCell, HostRef, StepDomain};
use crate::promise::PromiseCell;
use crate::stats::Meter;
use crate::strategy::{QueueWithSizes, SizeAlgorithm, SizeFn};

use super::byob_reader::ReadIntoRequest;
use super::byte_controller::ByteControllerSlots;
use super::default_controller::{self as ctrl, ReadableStreamDefaultController};
use super::source::UnderlyingSource;
use super::ReadRequest;

/// The stream's `[[state]]`, with `[[storedError]]` folded into the errored state.
#[derive(Clone, Debug)]
pub(crate) enum StreamState {
    Readable,
    Closed,
    Errored(StreamError),
}

/// The reader currently holding the lock, as the stream sees it.
pub(crate) struct ReaderRecord<T> {
    pub(crate) id: u64,
    /// The reader's `[[closedPromise]]` (shared with the reader handle).
    pub(crate) closed: Arc<PromiseCell<()>>,
    /// The default reader's `[[readRequests]]`.
    pub(crate) read_requests: VecDeque<Box<dyn ReadRequest<T>>>,
    /// The BYOB reader's `[[readIntoRequests]]`: `Some` if and only if the reader is a
    /// `ReadableStreamBYOBReader` (byte streams only). Boxed, so that a default reader, which
    /// most are, pays one pointer for it.
    #[allow(clippy::box_collection)] // the box is the point: one pointer instead of a deque
    read_into_requests: Option<Box<VecDeque<Box<dyn ReadIntoRequest>>>>,
}

impl<T> ReaderRecord<T> {
    /// A record for a new reader (ReadableStreamReaderGenericInitialize).
    pub(crate) fn new(id: u64, closed: Arc<PromiseCell<()>>, byob: bool) -> Self {
        ReaderRecord {
            id,
            closed,
            read_requests: VecDeque::new(),
            read_into_requests: byob.then(Box::default),
        }
    }

    /// Whether the reader is a `ReadableStreamBYOBReader`.
    pub(crate) fn is_byob(&self) -> bool {
        self.read_into_requests.is_some()
    }

    /// The number of read-into requests (0 for a default reader).
    pub(crate) fn num_read_into_requests(&self) -> usize {
        self.read_into_requests.as_ref().map_or(0, |q| q.len())
    }

    /// The BYOB reader's read-into requests, mutably; `None` for a default reader.
    pub(crate) fn read_into_requests_mut(&mut self) -> Option<&mut VecDeque<Box<dyn ReadIntoRequest>>> {
        self.read_into_requests.as_deref_mut()
    }

    /// Takes every read-into request, leaving none (and the reader what it is).
    pub(crate) fn take_read_into_requests(&mut self) -> VecDeque<Box<dyn ReadIntoRequest>> {
        self.read_into_requests_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

/// The default controller's internal slots (the controller handle is a weak pointer to the stream,
/// so its slots live here, under the stream's lock).
pub(crate) struct ControllerSlots<T> {
    pub(crate) queue: QueueWithSizes<T>,
    pub(crate) started: bool,
    pub(crate) close_requested: bool,
    pub(crate) pull_again: bool,
    pub(crate) pulling: bool,
    /// The stream is read by a pipe whose group runs on a native driver the crate made, where a
    /// pull that is over when it returns is reacted to at once instead of a microtask later
    /// (DESIGN.md, "Synchronous completions inside a pipe"). Set and cleared by the pipe; nothing
    /// runs at once on a group its driver gave up on (`Host::abandoned`).
    pub(crate) inline_completions: bool,
    pub(crate) strategy_hwm: f64,
    pub(crate) strategy_size: SizeAlgorithm<T>,
    /// `[[pullAlgorithm]]` and `[[cancelAlgorithm]]`: the underlying source.
    pub(crate) source: AlgorithmSlot<Box<dyn UnderlyingSource<T>>>,
}

/// Everything behind the stream's one lock.
pub(crate) struct Slots<T> {
    pub(crate) state: StreamState,
    pub(crate) disturbed: bool,
    pub(crate) reader: Option<ReaderRecord<T>>,
    pub(crate) controller: ControllerSlots<T>,
    /// `[[controller]]` when it is a `ReadableByteStreamController` (then `controller` is unused
    /// and `T` is `Bytes`). Boxed so that default streams pay one pointer for it.
    pub(crate) byte: Option<Box<ByteControllerSlots>>,
    /// Statistics ([`crate::stats`]).
    pub(crate) meter: Meter,
}

/// A readable stream's shared core.
pub(crate) struct Inner<T> {
    pub(crate) host: HostRef,
    /// The execution domain of the stream's group: held by whoever runs one of its steps.
    pub(crate) domain: StepDomain,
    /// Whether `[[controller]]` is a `ReadableByteStreamController` (then `T` is `Bytes`). Fixed at
    /// construction, so a read dispatches to the right controller before taking the lock.
    pub(crate) byte_stream: bool,
    /// The handle passed to a default controller's source, made once: making one per call cost
    /// two reference counts on every pull.
    pub(crate) controller: ReadableStreamDefaultController<T>,
    pub(crate) slots: DomainCell<Slots<T>>,
}

pub(crate) type Stream<T> = Arc<Inner<T>>;

static NEXT_READER_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_reader_id() -> u64 {
    NEXT_READER_ID.fetch_add(1, Ordering::Relaxed)
}

impl<T: Send + 'static> Inner<T> {
    pub(crate) fn lock(&self) -> CellGuard<'_, Slots<T>> {
        self.slots.lock()
    }
}

/// User objects a step has removed from the stream's slots: the source (ClearAlgorithms), the
/// size function, and discarded chunks (ResetQueue). Dropping them runs user code (`Drop`), which
/// may call back into the stream, so they are dropped only once the lock is released.
pub(crate) struct Garbage<T> {
    pub(crate) source: Option<Box<dyn UnderlyingSource<T>>>,
    pub(crate) size: Option<SizeFn<T>>,
    pub(crate) chunks: Option<QueueWithSizes<T>>,
}

impl<T> Default for Garbage<T> {
    fn default() -> Self {
        Garbage {
            source: None,
            size: None,
            chunks: None,
        }
    }
}

impl<T> Garbage<T> {
    fn absorb(&mut self, other: Garbage<T>) {
        self.source = self.source.take().or(other.source);
        self.size = self.size.take().or(other.size);
        self.chunks = self.chunks.take().or(other.chunks);
    }
}

enum SettledRequests<T> {
    None,
    Closed(VecDeque<Box<dyn ReadRequest<T>>>),
    Errored(VecDeque<Box<dyn ReadRequest<T>>>, StreamError),
}

/// Steps to run once the lock is released: the read requests a close or an error settles, and
/// the user objects it removed (dropped first, as ClearAlgorithms comes before the settling).
#[must_use = "the settled read requests must be run after unlocking"]
pub(crate) struct Settled<T> {
    requests: SettledRequests<T>,
    garbage: Garbage<T>,
    /// A BYOB reader's read-into requests an error settles.
    into_requests: Option<(VecDeque<Box<dyn ReadIntoRequest>>, StreamError)>,
}

impl<T> Settled<T> {
    /// Nothing to do.
    pub(crate) fn none() -> Self {
        Settled {
            requests: SettledRequests::None,
            garbage: Garbage::default(),
            into_requests: None,
        }
    }

    /// Adds objects to drop once unlocked.
    pub(crate) fn with_garbage(mut self, garbage: Garbage<T>) -> Self {
        self.garbage.absorb(garbage);
        self
    }

    /// Drops the removed objects, then performs the settled requests' close or error steps.
    pub(crate) fn run(self) {
        drop(self.garbage);
        match self.requests {
            SettledRequests::None => {}
            SettledRequests::Closed(requests) => {
                for r in requests {
                    r.close_steps();
                }
            }
            SettledRequests::Errored(requests, e) => {
                for r in requests {
                    r.error_steps(e.clone());
                }
            }
        }
        if let Some((requests, e)) = self.into_requests {
            for r in requests {
                r.error_steps(e.clone());
            }
        }
    }
}

/// InitializeReadableStream plus the controller's initial slots (SetUpReadableStreamDefaultController
/// steps 1–8); the start algorithm is run by the caller.
pub(crate) fn initialize_readable_stream<T: Send + 'static>(
    host: HostRef,
    domain: Arc<Domain>,
    source: Box<dyn UnderlyingSource<T>>,
    high_water_mark: f64,
    size: SizeAlgorithm<T>,
) -> Stream<T> {
    let controller = ControllerSlots::new(high_water_mark, size, AlgorithmSlot::new(source));
    initialize_readable_stream_with(host, domain, controller, None)
}

/// InitializeReadableStream for a stream whose controller's slots are given: `byte` for a byte
/// stream (which keeps an empty default controller), `None` for a default stream.
pub(crate) fn initialize_readable_stream_with<T: Send + 'static>(
    host: HostRef,
    domain: Arc<Domain>,
    controller: ControllerSlots<T>,
    byte: Option<Box<ByteControllerSlots>>,
) -> Stream<T> {
    Arc::new_cyclic(|stream| Inner {
        domain: StepDomain::new(&host, &domain),
        host,
        byte_stream: byte.is_some(),
        controller: ReadableStreamDefaultController::of(stream.clone()),
        slots: DomainCell::new(
            domain.clone(),
            Slots {
                state: StreamState::Readable,
                disturbed: false,
                reader: None,
                controller,
                byte,
                meter: Meter::new(),
            },
        ),
    })
}

impl<T> ControllerSlots<T> {
    /// A default controller's slots before `start` has run.
    pub(crate) fn new(
        high_water_mark: f64,
        size: SizeAlgorithm<T>,
        source: AlgorithmSlot<Box<dyn UnderlyingSource<T>>>,
    ) -> Self {
        ControllerSlots {
            queue: QueueWithSizes::new(),
            started: false,
            close_requested: false,
            pull_again: false,
            pulling: false,
            inline_completions: false,
            strategy_hwm: high_water_mark,
            strategy_size: size,
            source,
        }
    }
}

/// IsReadableStreamLocked.
pub(crate) fn is_readable_stream_locked<T>(slots: &Slots<T>) -> bool {
    slots.reader.is_some()
}

/// ReadableStreamGetNumReadRequests (0 when there is no default reader).
pub(crate) fn readable_stream_get_num_read_requests<T>(slots: &Slots<T>) -> usize {
    slots.reader.as_ref().map_or(0, |r| r.read_requests.len())
}

/// ReadableStreamAddReadRequest.
pub(crate) fn readable_stream_add_read_request<T>(slots: &mut Slots<T>, request: Box<dyn ReadRequest<T>>) {
    debug_assert!(matches!(slots.state, StreamState::Readable));
    let requests = &mut slots
        .reader
        .as_mut()
        .expect("ReadableStreamAddReadRequest: stream has a reader")
        .read_requests;
    if requests.capacity() == 0 {
        // Room for the one request most readers (a pipe, an iterator) ever have outstanding,
        // rather than the four a first push makes room for: it lasts as long as the reader does.
        requests.reserve_exact(1);
    }
    requests.push_back(request);
}

/// ReadableStreamClose: marks the stream closed and resolves the reader's `closed`; the returned
/// read requests' close steps must run once the lock is released.
pub(crate) fn readable_stream_close<T>(slots: &mut Slots<T>) -> Settled<T> {
    debug_assert!(matches!(slots.state, StreamState::Readable));
    slots.state = StreamState::Closed;
    slots.meter.done();
    let Some(reader) = slots.reader.as_mut() else {
        return Settled::none();
    };
    reader.closed.resolve(());
    Settled {
        requests: SettledRequests::Closed(std::mem::take(&mut reader.read_requests)),
        garbage: Garbage::default(),
        into_requests: None,
    }
}

/// ReadableStreamError: stores `e`, rejects the reader's `closed` and hands back the read requests
/// to reject (ReadableStreamDefaultReaderErrorReadRequests) once the lock is released.
pub(crate) fn readable_stream_error<T>(slots: &mut Slots<T>, e: StreamError) -> Settled<T> {
    debug_assert!(matches!(slots.state, StreamState::Readable));
    slots.state = StreamState::Errored(e.clone());
    slots.meter.done();
    let Some(reader) = slots.reader.as_mut() else {
        return Settled::none();
    };
    reader.closed.reject(e.clone());
    // ReadableStreamBYOBReaderErrorReadIntoRequests for a BYOB reader.
    let into_requests = if reader.is_byob() {
        Some((reader.take_read_into_requests(), e.clone()))
    } else {
        None
    };
    Settled {
        requests: SettledRequests::Errored(std::mem::take(&mut reader.read_requests), e),
        garbage: Garbage::default(),
        into_requests,
    }
}

/// ReadableStreamFulfillReadRequest: removes the first read request; the caller performs its
/// chunk or close steps after unlocking.
pub(crate) fn readable_stream_fulfill_read_request<T>(slots: &mut Slots<T>) -> Box<dyn ReadRequest<T>> {
    slots
        .reader
        .as_mut()
        .and_then(|r| r.read_requests.pop_front())
        .expect("ReadableStreamFulfillReadRequest: a read request is waiting")
}

/// ReadableStreamCancel. Returns the promise the standard returns.
pub(crate) fn readable_stream_cancel<T: Send + 'static>(
    stream: &Stream<T>,
    reason: StreamError,
) -> Arc<PromiseCell<()>> {
    let settled = {
        let mut slots = stream.lock();
        // 1. Set stream.[[disturbed]] to true.
        slots.disturbed = true;
        match &slots.state {
            // 2. If closed, return a promise resolved with undefined.
            StreamState::Closed => return PromiseCell::settled(Ok(())),
            // 3. If errored, return a promise rejected with the stored error.
            StreamState::Errored(e) => return PromiseCell::settled(Err(e.clone())),
            StreamState::Readable => {}
        }
        // 4. Perform ! ReadableStreamClose(stream).
        let settled = readable_stream_close(&mut slots);
        // 5–6. If reader is a BYOB reader, take its read-into requests to close.
        let into = match slots.reader.as_mut() {
            Some(r) => r.take_read_into_requests(),
            _ => VecDeque::new(),
        };
        (settled, into, slots.byte.is_some())
    };
    let (settled, into, is_byte) = settled;
    settled.run();
    for r in into {
        r.close_steps(None);
    }
    // 7. Let sourceCancelPromise be ! stream.[[controller]].[[CancelSteps]](reason).
    let result = PromiseCell::pending();
    let r = result.clone();
    let on_settled = move |outcome| {
        // 8. React with a fulfillment step that returns undefined.
        r.settle(outcome);
    };
    if is_byte {
        let stream = as_byte_stream(stream).expect("a byte controller controls a stream of Bytes");
        super::byte_controller::cancel_steps(stream, reason, on_settled);
    } else {
        ctrl::cancel_steps(stream, reason, on_settled);
    }
    result
}

/// Reacts to a completion on the stream's host.
pub(crate) fn react<T>(
    stream: &Stream<T>,
    completion: Completion,
    steps: impl FnOnce(Result<(), StreamError>) + Send + 'static,
) {
    upon_settlement(&stream.host, Some(&stream.domain), completion, steps);
}

/// The stream as a stream of `Bytes`, if `T` is `Bytes`: how generic code reaches the byte
/// controller's steps (a type check, only on byte streams' paths).
pub(crate) fn as_byte_stream<T: 'static>(stream: &Stream<T>) -> Option<&Stream<bytes::Bytes>> {
    (stream as &dyn std::any::Any).downcast_ref::<Stream<bytes::Bytes>>()
}

/// Moves `a` into a `B` when they are the same type (checked at run time, no copy).
pub(crate) fn cast<A: 'static, B: 'static>(a: A) -> Result<B, A> {
    let mut slot = Some(a);
    match (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<B>>() {
        Some(b) => Ok(b.take().expect("just filled")),
        None => Err(slot.expect("not taken")),
    }
}

/// ReadableStreamReaderGenericRelease, with the controller's `[[ReleaseSteps]]`: detaches the reader
/// `reader_id` (whose `[[closedPromise]]` slot is `reader_closed`) from `stream`, rejecting or
/// replacing its `closed` promise with `e`, and returns its record so that the caller can fail the
/// pending requests once the lock is released. `None` if that reader no longer holds the stream.
pub(crate) fn readable_stream_reader_generic_release<T: Send + 'static>(
    stream: &Stream<T>,
    reader_id: u64,
    reader_closed: &Mutex<Arc<PromiseCell<()>>>,
    e: &StreamError,
) -> Option<ReaderRecord<T>> {
    let mut slots = stream.lock();
    let record = match slots.reader.take() {
        Some(r) if r.id == reader_id => r,
        other => {
            slots.reader = other;
            return None;
        }
    };
    if matches!(slots.state, StreamState::Readable) {
        record.closed.reject(e.clone());
    } else {
        *reader_closed.lock() = PromiseCell::settled(Err(e.clone()));
    }
    // [[ReleaseSteps]]: nothing for a default controller.
    if let Some(byte) = slots.byte.as_deref_mut() {
        super::byte_controller::release_steps(byte);
    }
    Some(record)
}
