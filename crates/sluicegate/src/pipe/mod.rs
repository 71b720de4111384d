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

pub(crate) mod direct;
mod machine;
mod steps;

use std::sync::{Arc, Weak};

use bytes::Bytes;

use self::direct::direct_copy;
pub(crate) use self::direct::{DirectCopy, DirectSink, DirectSource};
use self::machine::{Machine, State};
use self::steps::{Core, DriveSource, Shared};
use crate::abort::AbortSignal;
use crate::error::StreamError;
use crate::host::{Abandon, Domain, DomainCell, Driver, Hold};
use crate::promise::{PromiseCell, Promised};
use crate::readable::stream::{is_readable_stream_locked, Stream as ReadableInner};
use crate::readable::{acquire_readable_stream_default_reader, ReadableStream};
use crate::transform::TransformStream;
use crate::writable::{
    acquire_writable_stream_default_writer, is_writable_stream_locked, ReadyWaiter, Stream as WritableInner,
    WritableStream,
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
    /// locked, until something drives that host again. For streams made without a host, once
    /// user code holds nothing of the pipe's streams (no stream, reader, writer or future on
    /// them), nothing ever will: the pipe is then given up, and its streams are freed with what
    /// they own (a file, a socket), without closing, aborting or cancelling anything (DESIGN.md,
    /// "A group nobody holds is freed"). So give a pipe a deadline with the signal (an
    /// [`AbortController`](crate::abort::AbortController) aborted when a timer fires), which
    /// closes its ends as the options say, rather than by dropping its future. To let a pipe run
    /// on its own, detach it with [`Promised::spawn`](Promised#method.spawn) (feature `tokio`) or
    /// hand the future to any executor.
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
        let cell = match readable_stream_pipe_to(&self.inner, &dest.inner, options, convert) {
            Ok(cell) => cell,
            Err(e) => PromiseCell::settled(Err(e)),
        };
        Promised::held(dest.inner.host.clone(), cell, dest.hold.clone())
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
    // The pipe's own reader and writer hold nothing: what user code holds of the streams decides
    // whether the group lives (see `Hold`).
    let reader = acquire_readable_stream_default_reader(source, Hold::none())?;
    let writer = match acquire_writable_stream_default_writer(dest, Hold::none()) {
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
    // On a driver the crate made, nothing but the pipe sees when the source's pulls and the
    // destination's writes are reacted to: those already over are reacted to at once
    // (DESIGN.md, "Synchronous completions inside a pipe").
    {
        let mut slots = source.lock();
        slots.disturbed = true;
        slots.controller.inline_completions = merged;
    }
    dest.lock().controller.inline_completions = merged;
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
                abandoned: false,
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
            _hold: Hold::on(&source.host),
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
/// buffer, that buffer and the chunk's offset in it ([`ReadRequest::chunk_in_buffer_steps`](crate::readable::ReadRequest::chunk_in_buffer_steps)) when
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
