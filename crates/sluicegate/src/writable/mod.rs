//! Writable streams: [`WritableStream`], its default controller and writer.
//!
//! Files follow the standard's classes: `stream.rs` holds the stream's slots and the operations on
//! a stream, `default_controller.rs` the `WritableStreamDefaultController` and its operations,
//! `default_writer.rs` the writer, `sink.rs` the underlying sink API.
//!
//! A write happens in the call that makes it: `writer.write(chunk)` measures the chunk, queues it,
//! updates the desired size and backpressure (replacing `ready` with a pending promise when the
//! queue is full) and, if the sink is idle, hands the chunk to the sink, all before it returns.
//! The future it returns reports how that write ended. The sink sees one write at a time, in
//! order; `close` waits for every queued write; `abort` lets a write in flight finish, fails the
//! queued ones in order, and calls the sink's `abort` unless a close has already started.

mod default_controller;
mod default_writer;
mod into_sink;
mod sink;
pub(crate) mod stream;

use std::fmt;

use crate::error::StreamError;
use crate::host::{domain_for, Domain, Driver, Hold, HostRef};
use crate::promise::{PromiseCell, Promised};
use crate::strategy::QueuingStrategy;
use std::sync::Arc;

pub use default_controller::WritableStreamDefaultController;
pub use default_writer::WritableStreamDefaultWriter;
pub use into_sink::WriterSink;
pub use sink::{CoreAlgorithms, SinkFn, UnderlyingSink};

// The operations pipes and transform streams call directly.
#[allow(unused_imports)]
pub(crate) use default_controller::{
    writable_stream_default_controller_advance_queue_if_needed,
    writable_stream_default_controller_error_if_needed,
    writable_stream_default_controller_error_if_needed_locked,
    writable_stream_default_controller_get_backpressure, writable_stream_default_controller_get_desired_size,
};
#[allow(unused_imports)]
pub(crate) use default_writer::{
    acquire_writable_stream_default_writer, writable_stream_default_writer_close_with_error_propagation,
    writable_stream_default_writer_get_desired_size, writable_stream_default_writer_release,
    writable_stream_default_writer_write, writable_stream_default_writer_write_untracked, ReadyWaiter,
};
#[allow(unused_imports)]
pub(crate) use stream::{
    is_writable_stream_locked, locked, writable_stream_abort, writable_stream_close,
    writable_stream_close_queued_or_in_flight, writable_stream_deal_with_rejection,
    writable_stream_finish_erroring, writable_stream_last_write_request, writable_stream_start_erroring,
    Effects, Slots, Stream, WritableState,
};

use default_controller::set_up_writable_stream_default_controller;
use stream::initialize_writable_stream;

/// A writable stream of `T`: the standard's `WritableStream` with a default controller.
///
/// Handles are cheap to clone and share one stream. The stream is `Send + Sync` when `T: Send`.
///
/// ```
/// use sluicegate::writable::{SinkFn, WritableStream};
/// use std::sync::{Arc, Mutex};
///
/// # futures::executor::block_on(async {
/// let total = Arc::new(Mutex::new(0u64));
/// let t = total.clone();
/// let stream = WritableStream::new(SinkFn::new().write(move |n: u64, _| {
///     *t.lock().unwrap() += n;
/// }))
/// .unwrap();
/// let writer = stream.get_writer().unwrap();
/// assert!(stream.locked());
/// for n in 1..=3 {
///     writer.ready().await.unwrap(); // wait while the queue is full
///     let _ = writer.write(n);
/// }
/// writer.close().await.unwrap();
/// assert_eq!(*total.lock().unwrap(), 6);
/// # });
/// ```
pub struct WritableStream<T: Send + 'static> {
    pub(crate) inner: Stream<T>,
    /// What keeps the stream's group from being abandoned while this handle lives
    /// ([`Hold`]).
    pub(crate) hold: Hold,
}

impl<T: Send + 'static> Clone for WritableStream<T> {
    fn clone(&self) -> Self {
        WritableStream {
            inner: self.inner.clone(),
            hold: self.hold.clone(),
        }
    }
}

impl<T: Send + 'static> fmt::Debug for WritableStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slots = self.inner.lock();
        f.debug_struct("WritableStream")
            .field("state", &slots.state)
            .field("locked", &is_writable_stream_locked(&slots))
            .finish()
    }
}

impl<T: Send + 'static> WritableStream<T> {
    /// A stream over `sink` with the default strategy (count chunks, high-water mark 1).
    pub fn new(sink: impl UnderlyingSink<T>) -> Result<Self, StreamError> {
        Self::with_strategy(sink, QueuingStrategy::new())
    }

    /// A stream over `sink` with a queuing strategy. A NaN or negative high-water mark is a
    /// `RangeError`; a synchronous failure of the sink's `start` is returned as is.
    pub fn with_strategy(
        sink: impl UnderlyingSink<T>,
        strategy: impl Into<QueuingStrategy<T>>,
    ) -> Result<Self, StreamError> {
        Self::with_host(sink, strategy, Driver::new_implicit())
    }

    /// Like [`with_strategy`](Self::with_strategy), on an explicit host. Streams on one host are
    /// driven together.
    pub fn with_host(
        sink: impl UnderlyingSink<T>,
        strategy: impl Into<QueuingStrategy<T>>,
        host: HostRef,
    ) -> Result<Self, StreamError> {
        let domain = domain_for(&host);
        Self::from_boxed_sink(Box::new(sink), strategy.into(), host, domain, 1.0)
    }

    /// CreateWritableStream / SetUpWritableStreamDefaultControllerFromUnderlyingSink, with the
    /// high-water mark to use when the strategy has none.
    pub(crate) fn from_boxed_sink(
        sink: Box<dyn UnderlyingSink<T>>,
        strategy: QueuingStrategy<T>,
        host: HostRef,
        domain: Arc<Domain>,
        default_hwm: f64,
    ) -> Result<Self, StreamError> {
        // Taken before the sink's `start` runs: nothing it does can let go of the group's last
        // hold before the handle exists.
        let hold = Hold::for_new_stream(&host)?;
        let _entered = domain.enter();
        let size = strategy.extract_size_algorithm();
        let hwm = strategy.extract_high_water_mark(default_hwm)?;
        let inner = initialize_writable_stream(host, domain.clone(), sink, hwm, size);
        set_up_writable_stream_default_controller(&inner)?;
        Ok(WritableStream { inner, hold })
    }

    /// A new handle on `inner`, or `None` if its group was abandoned (nothing held it).
    pub(crate) fn try_handle(inner: Stream<T>) -> Option<Self> {
        let hold = Hold::try_on(&inner.host)?;
        Some(WritableStream { inner, hold })
    }

    /// The standard's `locked`: whether a writer holds the stream.
    pub fn locked(&self) -> bool {
        self.inner
            .slots
            .with_entered(|slots| is_writable_stream_locked(slots))
    }

    /// The standard's `abort(reason)`: a `TypeError` if the stream is locked; otherwise moves the
    /// stream towards errored with `reason`, discarding queued writes, and calls the sink's
    /// `abort` once any write in flight has finished (not if a close has started). Resolves when
    /// the sink's abort succeeded; pass [`StreamError::undefined()`] for no reason.
    pub fn abort(&self, reason: StreamError) -> Promised<()> {
        let _entered = self.inner.domain.enter();
        let cell = if self.locked() {
            PromiseCell::settled(Err(StreamError::type_error("cannot abort a locked stream")))
        } else {
            writable_stream_abort(&self.inner, reason)
        };
        Promised::held(self.inner.host.clone(), cell, self.hold.clone())
    }

    /// The standard's `close()`: a `TypeError` if the stream is locked, already closing, closed
    /// or errored; otherwise closes it once queued writes are done.
    pub fn close(&self) -> Promised<()> {
        let _entered = self.inner.domain.enter();
        let cell = locked(&self.inner, |slots, fx| {
            if is_writable_stream_locked(slots) {
                PromiseCell::settled(Err(StreamError::type_error("cannot close a locked stream")))
            } else if writable_stream_close_queued_or_in_flight(slots) {
                PromiseCell::settled(Err(StreamError::type_error("the stream is already closing")))
            } else {
                stream::hold_until_started(&self.inner, slots);
                stream::writable_stream_close_locked(slots, fx)
            }
        });
        Promised::held(self.inner.host.clone(), cell, self.hold.clone())
    }

    /// The standard's `getWriter()`: locks the stream to a new writer; a `TypeError` if it is
    /// already locked.
    pub fn get_writer(&self) -> Result<WritableStreamDefaultWriter<T>, StreamError> {
        let _entered = self.inner.domain.enter();
        acquire_writable_stream_default_writer(&self.inner, self.hold.clone())
    }

    /// The host that drives this stream.
    pub fn host(&self) -> &HostRef {
        &self.inner.host
    }

    /// Whether the stream has reached its end: closed, or errored (not merely erroring).
    ///
    /// ```
    /// use sluicegate::writable::{SinkFn, WritableStream};
    ///
    /// let stream = WritableStream::<u8>::new(SinkFn::new()).unwrap();
    /// assert!(!stream.is_closed_or_errored());
    /// # futures::executor::block_on(async {
    /// stream.close().await.unwrap();
    /// # });
    /// assert!(stream.is_closed_or_errored());
    /// ```
    pub fn is_closed_or_errored(&self) -> bool {
        self.inner.slots.with_entered(|slots| {
            matches!(
                slots.state,
                stream::WritableState::Closed | stream::WritableState::Errored(_)
            )
        })
    }
}
