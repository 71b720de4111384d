//! ReadableStreamPipeTo as an explicit state machine, and `pipe_through`.
//!
//! The pipe reacts the way the standard's "upon fulfillment" steps do: every event that can move
//! it on (a read completing, the source or the destination closing or erroring, backpressure
//! lifting, a write or a shutdown action settling, the abort signal firing) queues one *step* as a
//! microtask on the destination's host. A step runs the state machine until it has to wait. A
//! chunk is written in a step, never inside the `enqueue()` that delivered it, and reads are
//! issued whenever the destination's desired size is positive, so reads and writes overlap.
//!
//! States follow the standard's prose: `Running` checks the four propagation rules in order
//! (errors forward, errors backward, closing forward, closing backward) and otherwise pumps;
//! `WaitingForWrites` is the first half of "shutdown" and "shutdown with an action" (every chunk
//! already read is written, and its write has settled); `Acting` waits for the shutdown action;
//! `finalize` releases the writer and the reader, removes the abort algorithm and settles the
//! result.
//!
//! The first step runs synchronously inside `pipe_to`, as the standard's checks of streams that
//! are already closed or errored do, except that a shutdown which has to wait for writes (the
//! destination is writable) waits for the microtasks already queued, as the standard's
//! "wait until every chunk that has been read has been written" does.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use crate::abort::{AbortAlgorithmHandle, AbortSignal};
use crate::error::{catch_user, StreamError};
use crate::host::{queue_step, Abandon, BoxFuture, Domain, DomainCell, Driver, HostRef};
use crate::promise::{PromiseCell, Promised};
use crate::readable::stream::{
    is_readable_stream_locked, readable_stream_cancel, Stream as ReadableInner, StreamState,
};
use crate::readable::{
    acquire_readable_stream_default_reader, readable_stream_default_reader_read_locked, ReadOutcome,
    ReadRequest, ReadableStream, ReadableStreamDefaultReader,
};
use crate::transform::TransformStream;
use crate::writable::{
    acquire_writable_stream_default_writer, is_writable_stream_locked, writable_stream_abort,
    writable_stream_close_queued_or_in_flight, writable_stream_default_controller_get_desired_size,
    writable_stream_default_writer_close_with_error_propagation, writable_stream_default_writer_release,
    writable_stream_default_writer_write_untracked, writable_stream_last_write_request, ReadyWaiter,
    Stream as WritableInner, WritableState, WritableStream, WritableStreamDefaultWriter,
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

impl<T: Send + 'static> ReadableStream<T> {
    /// The standard's `pipeTo(destination, options)`: reads every chunk from this stream and writes
    /// it to `dest`, respecting `dest`'s backpressure, and propagates closing and errors as
    /// `options` allow. Both streams are locked at once; the returned future settles when the pipe
    /// has finished. The pipe runs in microtasks on the destination's host and makes progress
    /// whenever that host is driven — by awaiting the returned future, or by anything else awaiting
    /// a stream on that host (as reading a `pipe_through` result does). Dropping the future does
    /// not stop the pipe; stop it with [`PipeOptions::signal`]. Nor does it keep the pipe running:
    /// a pipe whose future is dropped while nothing else drives its host stalls, both streams
    /// locked. To let a pipe run on its own, detach it with
    /// [`Promised::spawn`](Promised#method.spawn) (feature `tokio`) or hand the future to any
    /// executor.
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
        self.pipe_to_converting(dest, options, Convert::Core(std::convert::identity))
    }

    fn pipe_to_converting<U: Send + 'static>(
        &self,
        dest: &WritableStream<U>,
        options: PipeOptions,
        convert: Convert<T, U>,
    ) -> Promised<()> {
        let host = dest.inner.host.clone();
        let cell = match readable_stream_pipe_to(&self.inner, &dest.inner, options, convert) {
            Ok(cell) => cell,
            Err(e) => PromiseCell::settled(Err(e)),
        };
        Promised::new(host, cell)
    }

    /// [`pipe_to`](Self::pipe_to) into a stream of another chunk type: each chunk read is passed
    /// through `convert` before it is written. The pipe is otherwise the standard's: `convert`
    /// runs once per chunk, just before the write, and is not observable by either stream. If it
    /// panics, the chunk is lost and the pipe stops as if aborted by a signal with the panic as
    /// its reason (the destination aborted and the source cancelled, unless prevented).
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
    /// let dest = WritableStream::new(SinkFn::new().write(move |line: String, _| {
    ///     s.lock().unwrap().push(line);
    /// })).unwrap();
    /// ReadableStream::from_iter(1..=2)
    ///     .pipe_to_with(&dest, PipeOptions::default(), |n: u32| format!("#{n}"))
    ///     .await
    ///     .unwrap();
    /// assert_eq!(*seen.lock().unwrap(), ["#1", "#2"]);
    /// # });
    /// ```
    pub fn pipe_to_with<U: Send + 'static>(
        &self,
        dest: &WritableStream<U>,
        options: PipeOptions,
        convert: impl FnMut(T) -> U + Send + 'static,
    ) -> Promised<()> {
        self.pipe_to_converting(dest, options, Convert::plain(convert))
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
        readable_stream_pipe_to(
            &self.inner,
            &transform.writable().inner,
            options,
            Convert::Core(std::convert::identity),
        )?;
        Ok(transform.readable().clone())
    }
}

impl ReadableStream<Bytes> {
    /// [`pipe_to_with`](ReadableStream::pipe_to_with) for a byte stream whose destination wants
    /// the standard's view of each chunk: `convert` gets the chunk's bytes and, when the chunk is
    /// part of a larger buffer (the rest of an enqueued chunk after a partial BYOB read, a partly
    /// filled auto-allocated buffer, a view of part of its buffer), that whole buffer and the
    /// chunk's offset in it; `None` when the chunk is its whole buffer. A binding builds the
    /// `Uint8Array` over the transferred buffer the standard's pipe writes.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sluicegate::pipe::PipeOptions;
    /// use sluicegate::readable::{ByteSourceFn, ReadableStream};
    /// use sluicegate::writable::{SinkFn, WritableStream};
    /// use std::sync::{Arc, Mutex};
    ///
    /// # futures::executor::block_on(async {
    /// let source = ReadableStream::new_bytes(ByteSourceFn::new().start(|c| {
    ///     c.enqueue_in_buffer(Bytes::from_static(b"headerbody"), 6, 4)?;
    ///     c.close()
    /// }))
    /// .unwrap();
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let dest = WritableStream::new(SinkFn::new().write(move |view: (Bytes, usize, usize), _| {
    ///     s.lock().unwrap().push(view);
    /// }))
    /// .unwrap();
    /// source
    ///     .pipe_to_with_buffers(&dest, PipeOptions::default(), |chunk, within| match within {
    ///         Some((buffer, offset)) => (buffer, offset, chunk.len()),
    ///         None => (chunk.clone(), 0, chunk.len()),
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(*seen.lock().unwrap(), [(Bytes::from_static(b"headerbody"), 6, 4)]);
    /// # });
    /// ```
    pub fn pipe_to_with_buffers<U: Send + 'static>(
        &self,
        dest: &WritableStream<U>,
        options: PipeOptions,
        convert: impl FnMut(Bytes, Option<(Bytes, usize)>) -> U + Send + 'static,
    ) -> Promised<()> {
        self.pipe_to_converting(dest, options, Convert::WithBuffer(Box::new(convert)))
    }
}

/// A direct copy between the files behind a pipe's two ends: the hook through which
/// `io::file_source` piped straight to `io::file_sink` lets the kernel copy the bytes
/// (`copy_file_range`) instead of moving chunks through both streams.
///
/// The core knows no file: the I/O layer registers a [`DirectSource`] on the readable stream
/// ([`offer_direct_source`]) and a [`DirectSink`] on the writable one ([`offer_direct_sink`]).
/// When `pipe_to` (or `pipe_through`, whose destination is never a file) is called with no
/// conversion, the source untouched (readable, never read, nothing queued) and the destination
/// untouched (writable, nothing written, queued or closing), the source is asked to take both
/// ends ([`DirectSource::copy_to`]). If it does, the pipe lets the copy go on slice by slice
/// ([`DirectCopy::go_on`]), the slices let go a few at a time by steps of the pipe, as a chunk's
/// read and write are; the copy may run a few slices ahead of the steps, so that it seldom waits
/// for one. A pipe
/// whose host nobody drives thus copies at most those few slices more, and an abort signal stops
/// the copy after the slice in flight ([`DirectCopy::stop`]). Once the copy is over (the source exhausted, a
/// slice failed, or it was stopped) the files go back to their streams
/// ([`DirectCopy::give_back`]), with any error for the stream that met it, and the pipe goes on
/// as if it had moved the bytes itself: the source's next read finds its end (or the read
/// error), the destination's next write or close finds the write error, and the standard's steps
/// close, abort or cancel as they would.
pub(crate) trait DirectSource: Send + Sync {
    /// Takes this source and `sink` for a direct copy, if `sink` is an end this source can copy
    /// into and both are untouched; `None` (and nothing changed) otherwise.
    fn copy_to(&self, sink: &DirectSink) -> Option<Box<dyn DirectCopy>>;
}

/// A writable stream's file end, as its [`DirectSource`] counterpart recognises it.
pub(crate) type DirectSink = Arc<dyn Any + Send + Sync>;

/// A direct copy in progress ([`DirectSource`]).
pub(crate) trait DirectCopy: Send {
    /// Lets the copy go on by a few more slices (the first call borrows the files and starts it).
    /// The future, driven by the pipe's host, is over once the next step is due (some of those
    /// slices are copied, the rest still in hand so that the copy need not wait for the step), or
    /// the copy is over.
    fn go_on(&mut self) -> BoxFuture<()>;
    /// Asks the copy to stop before its next slice; the future is over once it is over.
    fn stop(&mut self) -> BoxFuture<()>;
    /// A future from [`go_on`](Self::go_on) or [`stop`](Self::stop) is pending.
    fn busy(&self) -> bool;
    /// The copy is over: the source is exhausted, a slice failed, or it was stopped.
    fn over(&self) -> bool;
    /// Bytes copied so far.
    fn copied(&self) -> u64;
    /// Hands the files back to their streams, the error a slice met (if any) to the stream whose
    /// file failed. Called once the copy is over.
    fn give_back(self: Box<Self>);
}

/// Registers `end` as the file behind `stream` that a pipe may copy from ([`DirectSource`]).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn offer_direct_source(stream: &ReadableStream<Bytes>, end: Arc<dyn DirectSource>) {
    let _entered = stream.inner.domain.enter();
    if let Some(byte) = stream.inner.lock().byte.as_deref_mut() {
        byte.direct = Some(end);
    }
}

/// Registers `end` as the file behind `stream` that a pipe may copy into ([`DirectSource`]).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn offer_direct_sink(stream: &WritableStream<Bytes>, end: DirectSink) {
    let _entered = stream.inner.domain.enter();
    stream.inner.lock().controller.direct = Some(end);
}

/// The direct copy a pipe from `source` to `dest` may run instead of moving chunks: both ends
/// offer a file and are untouched ([`DirectSource`]). Called with both streams locked to the
/// pipe, before it marks the source disturbed.
fn direct_copy<T: Send + 'static, U: Send + 'static>(
    source: &ReadableInner<T>,
    dest: &WritableInner<U>,
) -> Option<Box<dyn DirectCopy>> {
    let source_end = {
        let slots = source.lock();
        let byte = slots.byte.as_deref()?;
        let untouched = matches!(slots.state, StreamState::Readable)
            && !slots.disturbed
            && byte.queue.is_empty()
            && byte.pending_pull_intos.is_empty()
            && !byte.pulling
            && !byte.close_requested;
        if !untouched {
            return None;
        }
        byte.direct.clone()?
    };
    let sink_end = {
        let slots = dest.lock();
        let untouched = matches!(slots.state, WritableState::Writable)
            && slots.write_requests.is_empty()
            && slots.in_flight_write_request.is_none()
            && slots.close_request.is_none()
            && slots.in_flight_close_request.is_none()
            && slots.pending_abort_request.is_none()
            && slots.controller.queue.is_empty();
        if !untouched {
            return None;
        }
        slots.controller.direct.clone()?
    };
    source_end.copy_to(&sink_end)
}

/// ReadableStreamPipeTo: locks both streams, runs the first step and leaves the rest to
/// microtasks on the destination's host. Returns the pipe's promise.
pub(crate) fn readable_stream_pipe_to<T: Send + 'static, U: Send + 'static>(
    source: &ReadableInner<T>,
    dest: &WritableInner<U>,
    options: PipeOptions,
    convert: Convert<T, U>,
) -> Result<Arc<PromiseCell<()>>, StreamError> {
    // The two streams become one group: the pipe's steps touch both.
    Domain::merge(&source.domain, &dest.domain);
    let _entered = source.domain.enter();
    // The method steps' lock checks (the abstract operation asserts them).
    if is_readable_stream_locked(&source.lock()) {
        return Err(StreamError::type_error("cannot pipe a locked stream"));
    }
    if is_writable_stream_locked(&dest.lock()) {
        return Err(StreamError::type_error("cannot pipe to a locked stream"));
    }
    // Two drivers the crate made for streams created without a host become one: the group's
    // microtasks and futures then run in one run loop (see `Driver::merge`). Any other pair of
    // hosts keeps its own, the source's driven from the destination's below.
    let merged = match (Driver::implicit(&source.host), Driver::implicit(&dest.host)) {
        (Some(from), Some(into)) => Driver::merge(&from, &into),
        _ => false,
    };
    // 8–11. Acquire the reader and the writer; the source is disturbed.
    let reader = acquire_readable_stream_default_reader(source)?;
    let writer = match acquire_writable_stream_default_writer(dest) {
        Ok(writer) => writer,
        Err(e) => {
            reader.release_lock();
            return Err(e);
        }
    };
    // Two untouched file ends: the files are copied directly, with nothing observing the bytes.
    let direct = match convert {
        Convert::Core(_) => direct_copy(source, dest),
        _ => None,
    };
    source.lock().disturbed = true;
    crate::stats::link_pipe(source, dest);
    // 12–13. shuttingDown is the machine's state; the promise is `result`.
    let result = PromiseCell::pending();
    // The pipe's own state is guarded by the group's domain (merged above), as the streams' is.
    let group: Arc<Domain> = Arc::clone(&dest.domain);
    let core = Arc::new(Core {
        host: dest.host.clone(),
        domain: dest.domain.for_steps().cloned(),
        shared: DomainCell::new(
            group.clone(),
            Shared {
                scheduled: false,
                stepping: false,
                again: false,
                reading: false,
                unwritten: None,
                abort_reason: None,
                done: false,
                driver: None,
                spare_read: None,
            },
        ),
        machine: DomainCell::new(
            group,
            Some(Machine {
                source: source.clone(),
                dest: dest.clone(),
                reader,
                writer,
                prevent_close: options.prevent_close,
                prevent_abort: options.prevent_abort,
                prevent_cancel: options.prevent_cancel,
                signal: None,
                state: direct.map_or(State::Running, State::Copying),
                result: result.clone(),
                wrote: false,
                reading: false,
                signalled: false,
                unwritten: None,
                watched_ready: None,
                watched_write: None,
                first: true,
                convert,
            }),
        ),
    });
    // 14. The abort algorithm records the reason; the next step shuts down with it.
    if let Some(signal) = options.signal {
        if let Some(m) = core.machine.lock().as_mut() {
            m.signalled = true;
        }
        let c = core.clone();
        let handle = signal.add_algorithm(move |reason| {
            // Run by whoever aborts the signal, on any thread: the pipe's state is the group's.
            let _entered = c.shared.domain().enter();
            c.shared.lock().abort_reason = Some(reason.clone());
            c.schedule();
        });
        if let Some(reason) = signal.reason() {
            // Already aborted: the standard performs the abort algorithm instead of adding it.
            // (`add_algorithm` drops an algorithm for a signal that is already aborted.)
            signal.remove_algorithm(handle);
            core.shared.lock().abort_reason = Some(reason);
        } else {
            if let Some(m) = core.machine.lock().as_mut() {
                m.signal = Some(Box::new((signal, handle)));
            }
        }
    }
    // The pipe holds the only writer: nothing else can see its `ready` promise, so the pipe waits
    // on a `ReadyWaiter` instead of a new promise each time backpressure flips.
    if let Some(writer) = dest.lock().writer.as_ref() {
        let mut promises = writer.promises.lock();
        let pending = promises.ready_is_pending();
        let weak = Arc::downgrade(&core);
        promises.ready_waiter = Some(ReadyWaiter::new(
            pending,
            Box::new(move || {
                if let Some(core) = weak.upgrade() {
                    core.schedule();
                }
            }),
        ));
    }
    // The pipe reacts to the source closing or erroring and to the destination erroring.
    core.watch_closed_promises();
    // A source on another host is driven from the destination's host while the pipe lasts,
    // unless both hosts are drivers made for streams created without one: those were merged
    // above, and the group's steps all run in one run loop.
    if !merged && !std::ptr::addr_eq(Arc::as_ptr(&source.host), Arc::as_ptr(&dest.host)) {
        dest.host.spawn(Box::pin(DriveSource {
            core: core.clone(),
            host: source.host.clone(),
        }));
    }
    // A host torn down while the pipe waits lets go of it (see `Abandon for Core`).
    dest.host.track(Arc::downgrade(&core) as Weak<dyn Abandon>);
    // 15. The first step, now; the rest in microtasks.
    core.step();
    if let Some(m) = core.machine.lock().as_mut() {
        m.first = false;
    }
    core.schedule();
    Ok(result)
}

/// Everything a pipe is: the state machine, and the state its reactions share.
/// How a chunk read becomes a chunk written ([`ReadableStream::pipe_to_with`],
/// [`ReadableStream::pipe_to_with_buffers`]).
pub(crate) enum Convert<T, U> {
    /// The crate's own conversion (the identity of `pipe_to` and `pipe_through`): not user code,
    /// so it runs inside the domain with nothing to catch.
    Core(fn(T) -> U),
    /// From the chunk alone.
    Plain(Box<dyn FnMut(T) -> U + Send>),
    /// From the chunk and, for a byte stream's chunk that is part of a larger buffer, that buffer
    /// and the chunk's offset in it.
    WithBuffer(Box<dyn FnMut(T, Option<Within>) -> U + Send>),
}

/// The whole buffer a byte stream's chunk is part of, and the chunk's offset in it.
type Within = (Bytes, usize);

impl<T, U> Convert<T, U> {
    fn plain(f: impl FnMut(T) -> U + Send + 'static) -> Self {
        Convert::Plain(Box::new(f))
    }

    fn apply(&mut self, read: ReadChunk<T>) -> U {
        match self {
            Convert::Core(f) => f(read.chunk),
            Convert::Plain(f) => f(read.chunk),
            Convert::WithBuffer(f) => f(read.chunk, read.within.map(|within| *within)),
        }
    }
}

/// A chunk the pipe has read: the chunk, and for a byte stream's chunk that is part of a larger
/// buffer, that buffer and the chunk's offset in it ([`ReadRequest::chunk_in_buffer_steps`]) when
/// the conversion wants them ([`Convert::WithBuffer`]; for the others they are dropped as the
/// chunk is read). Boxed: a pipe keeps two places for a chunk, which an idle pipe holds empty.
pub(crate) struct ReadChunk<T> {
    chunk: T,
    within: Option<Box<Within>>,
}

impl<T> ReadChunk<T> {
    fn new(chunk: T) -> Self {
        ReadChunk { chunk, within: None }
    }

    /// A chunk that is part of `buffer` at `offset`, which are kept if `keep`.
    fn in_buffer(chunk: T, buffer: Bytes, offset: usize, keep: bool) -> Self {
        ReadChunk {
            chunk,
            within: keep.then(|| Box::new((buffer, offset))),
        }
    }
}

struct Core<T: Send + 'static, U: Send + 'static> {
    /// The destination's host, where steps run.
    host: HostRef,
    /// The domain a step enters itself, if the host does not run it inside it already.
    domain: Option<Arc<Domain>>,
    /// What the read request, the abort algorithm and the reactions touch. Never held across a
    /// call into user code. Like the streams' slots, guarded by the group's domain.
    shared: DomainCell<Shared<T, U>>,
    /// Taken only by the step in progress (see [`Shared::stepping`]); held across calls into user
    /// code, which cannot re-enter it: a step that finds another one running asks it to go again.
    /// `None` once the pipe was abandoned by its host ([`Abandon`]).
    machine: DomainCell<Option<Machine<T, U>>>,
}

struct Shared<T: Send + 'static, U: Send + 'static> {
    /// A step is queued as a microtask.
    scheduled: bool,
    /// A step is running; `again` asks it to run the machine once more before it stops.
    stepping: bool,
    again: bool,
    /// A read request is outstanding.
    reading: bool,
    /// A chunk that has been read but not yet written.
    unwritten: Option<ReadChunk<T>>,
    /// Set by the abort algorithm: the signal's abort reason.
    abort_reason: Option<StreamError>,
    /// The pipe has finalized.
    done: bool,
    /// The task driving the source's host, if it is not the destination's.
    driver: Option<Waker>,
    /// The read request's box, kept between reads so that a read allocates nothing
    /// ([`Core::read_request`]).
    spare_read: Option<Box<PipeRead<T, U>>>,
}

impl<T: Send + 'static, U: Send + 'static> Shared<T, U> {
    /// Something happened that a step must look at: asks the running step to go again, or
    /// returns whether the caller must queue a step ([`Core::queue_step`]).
    fn needs_step(&mut self) -> bool {
        if self.done {
            return false;
        }
        if self.stepping {
            self.again = true;
            return false;
        }
        if self.scheduled {
            return false;
        }
        self.scheduled = true;
        true
    }
}

/// A shutdown action.
enum Action {
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

enum State {
    /// Copying directly between the files behind the two ends ([`DirectSource`]), before
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

struct Machine<T: Send + 'static, U: Send + 'static> {
    source: ReadableInner<T>,
    dest: WritableInner<U>,
    reader: ReadableStreamDefaultReader<T>,
    writer: WritableStreamDefaultWriter<U>,
    prevent_close: bool,
    prevent_abort: bool,
    prevent_cancel: bool,
    /// The abort signal and its algorithm's handle, to remove at finalize. Boxed: few pipes
    /// have a signal.
    signal: Option<Box<(AbortSignal, AbortAlgorithmHandle)>>,
    state: State,
    result: Arc<PromiseCell<()>>,
    /// Whether the pipe has written a chunk. The most recent write ("currentWrite") is the
    /// destination's newest write request while one is pending (the pipe holds the only writer),
    /// so its promise is made only when a shutdown has to wait for it
    /// ([`writable_stream_last_write_request`]).
    wrote: bool,
    /// A read request is outstanding, as last seen in [`Shared::reading`].
    reading: bool,
    /// The pipe has an abort signal, whose algorithm may leave a reason in `shared`.
    signalled: bool,
    /// A chunk read but not yet written, taken over from [`Shared::unwritten`].
    unwritten: Option<ReadChunk<T>>,
    /// The `ready` promise and the write a reaction is registered on, so each gets one.
    watched_ready: Option<Arc<PromiseCell<()>>>,
    watched_write: Option<Arc<PromiseCell<()>>>,
    /// The synchronous first step inside `pipe_to`: it neither reads nor waits for writes.
    first: bool,
    /// Each chunk read, converted for the destination.
    convert: Convert<T, U>,
}

impl<T: Send + 'static, U: Send + 'static> Core<T, U> {
    /// Queues a step as a microtask on the destination's host, unless one is queued already. A
    /// step in progress is asked to go again instead.
    fn schedule(self: &Arc<Self>) {
        let queue = self.shared.lock().needs_step();
        if queue {
            self.queue_step();
        }
    }

    /// Marks a read as outstanding and returns its request, in the box the last read used;
    /// `buffers` as in [`PipeRead::buffers`].
    fn read_request(self: &Arc<Self>, buffers: bool) -> Box<dyn ReadRequest<T>> {
        let spare = {
            let mut s = self.shared.lock();
            s.reading = true;
            s.spare_read.take()
        };
        let mut request = spare.unwrap_or_else(|| {
            Box::new(PipeRead {
                core: None,
                buffers: false,
            })
        });
        request.core = Some(self.clone());
        request.buffers = buffers;
        request
    }

    /// Queues the step [`Shared::needs_step`] asked for.
    fn queue_step(self: &Arc<Self>) {
        let core = self.clone();
        queue_step(&self.host, self.domain.clone(), move || {
            core.shared.lock().scheduled = false;
            core.step();
        });
    }

    /// Runs the machine until it has to wait. Only one step runs at a time; a step started while
    /// another runs (re-entrantly from user code, or on another thread) leaves the work to it.
    fn step(self: &Arc<Self>) {
        {
            let mut s = self.shared.lock();
            if s.stepping {
                s.again = true;
                return;
            }
            s.stepping = true;
            s.again = false;
        }
        loop {
            if let Some(m) = self.machine.lock().as_mut() {
                m.advance(self);
            }
            let mut s = self.shared.lock();
            if s.again && !s.done {
                s.again = false;
                continue;
            }
            s.stepping = false;
            return;
        }
    }

    /// Reacts to the reader's and the writer's `closed` promises: the source closing or erroring
    /// and the destination erroring.
    fn watch_closed_promises(self: &Arc<Self>) {
        let (source_closed, dest_closed) = {
            let m = self.machine.lock();
            let Some(m) = m.as_ref() else { return };
            let source_closed = m.source.lock().reader.as_ref().map(|r| r.closed.clone());
            let dest_closed = m
                .dest
                .lock()
                .writer
                .as_ref()
                .map(|w| w.promises.lock().closed.clone());
            (source_closed, dest_closed)
        };
        for cell in [source_closed, dest_closed].into_iter().flatten() {
            self.upon_settlement(&cell);
        }
    }

    /// "Upon settlement of `cell`": a step.
    fn upon_settlement(self: &Arc<Self>, cell: &Arc<PromiseCell<()>>) {
        let core = self.clone();
        cell.on_settle(move |_| core.schedule());
    }
}

/// A pipe whose host will never run its steps again (see [`Host::track`]) drops its machine:
/// the streams, the reader, the writer and the chunk in flight. What the streams still hold of
/// the pipe (the pending read request, reactions on their promises) then reaches only this
/// `Core`, which reaches nothing of theirs, so the group is freed with its last handle instead
/// of keeping itself alive. Nothing runs: the pipe's promise stays pending and its streams stay
/// locked, as they would have in the dropped host.
///
/// [`Host::track`]: crate::host::Host::track
impl<T: Send + 'static, U: Send + 'static> Abandon for Core<T, U> {
    fn abandon(&self) {
        let _entered = self.shared.domain().enter();
        let unwritten = {
            let mut s = self.shared.lock();
            if s.stepping {
                return;
            }
            s.done = true;
            s.driver = None;
            s.unwritten.take()
        };
        // Taken out under the cell's borrow, dropped after it: dropping the reader or the writer
        // may release it, which reaches this pipe's read request and reactions.
        let machine = self.machine.lock().take();
        drop((machine, unwritten));
    }
}

impl<T: Send + 'static, U: Send + 'static> Machine<T, U> {
    /// Runs the state machine until nothing more can happen without outside events.
    fn advance(&mut self, core: &Arc<Core<T, U>>) {
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

    /// The direct copy ([`DirectSource`]): lets it go on by a slice, or stops it once the abort
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
                // anything else the read's user code changed, so this step has nothing more to do.
                ReadOutcome::Queued => {
                    self.reading = true;
                    return false;
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

/// The pipe's read request: keeps the chunk for the next step to write, so that a chunk never
/// reaches the sink inside the `enqueue()` that delivered it.
///
/// Its box goes back to the pipe once the read is over and serves the next read: the pipe reads
/// every chunk through it, and a fresh box per read was one of the largest per-chunk costs.
struct PipeRead<T: Send + 'static, U: Send + 'static> {
    /// The pipe, while the request is outstanding; `None` while the box is kept spare (so that the
    /// pipe does not own itself).
    core: Option<Arc<Core<T, U>>>,
    /// Whether a chunk's buffer and offset are kept ([`ReadChunk::in_buffer`]).
    buffers: bool,
}

impl<T: Send + 'static, U: Send + 'static> PipeRead<T, U> {
    /// The read is over (with a chunk, or because the source closed or errored): a step follows.
    fn done(mut self: Box<Self>, chunk: Option<ReadChunk<T>>) {
        let Some(core) = self.core.take() else { return };
        let queue = {
            let mut s = core.shared.lock();
            s.reading = false;
            if chunk.is_some() {
                s.unwritten = chunk;
            }
            s.spare_read = Some(self);
            s.needs_step()
        };
        if queue {
            core.queue_step();
        }
    }
}

impl<T: Send + 'static, U: Send + 'static> ReadRequest<T> for PipeRead<T, U> {
    fn chunk_steps(self: Box<Self>, chunk: T) {
        self.done(Some(ReadChunk::new(chunk)))
    }

    fn chunk_in_buffer_steps(self: Box<Self>, chunk: T, buffer: Bytes, byte_offset: usize) {
        let keep = self.buffers;
        self.done(Some(ReadChunk::in_buffer(chunk, buffer, byte_offset, keep)))
    }

    fn close_steps(self: Box<Self>) {
        self.done(None);
    }

    fn error_steps(self: Box<Self>, _e: StreamError) {
        self.done(None);
    }
}

/// Drives the source's host from the destination's host until the pipe finalizes, when the two
/// differ: the source's pull reactions run on its own host.
struct DriveSource<T: Send + 'static, U: Send + 'static> {
    core: Arc<Core<T, U>>,
    host: HostRef,
}

impl<T: Send + 'static, U: Send + 'static> Future for DriveSource<T, U> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        {
            // Polled by the destination's host, which need not run it inside the domain.
            let _entered = self.core.shared.domain().enter();
            let mut s = self.core.shared.lock();
            if s.done {
                return Poll::Ready(());
            }
            match &mut s.driver {
                Some(w) if w.will_wake(cx.waker()) => {}
                w => *w = Some(cx.waker().clone()),
            }
        }
        self.host.poll_progress(cx);
        Poll::Pending
    }
}
