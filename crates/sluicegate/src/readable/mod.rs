//! Readable streams: [`ReadableStream`], its default controller and reader, construction from
//! iterators and `futures::Stream`s, and consumption as a `futures::Stream`.
//!
//! Files follow the standard's classes: `stream.rs` holds the stream's slots and the operations on
//! a stream, `default_controller.rs` the `ReadableStreamDefaultController` and its operations,
//! `default_reader.rs` the reader, `from.rs` ReadableStreamFromIterable, `iter.rs` async
//! iteration, `tee.rs` ReadableStreamTee and the bounded tee, `channel.rs` a push source fed by a
//! sender ([`ReadableStream::channel`]).
//!
//! Readable byte streams are `ReadableStream<Bytes>` made with [`ReadableStream::new_bytes`] over
//! an [`UnderlyingByteSource`]: `byte_controller.rs` holds the `ReadableByteStreamController` and
//! its operations, `byob_request.rs` the `ReadableStreamBYOBRequest`, `byob_reader.rs` the
//! `ReadableStreamBYOBReader`, `byob_view.rs` the owned buffers and views BYOB reads fill, and
//! `byte_source.rs` the underlying byte source API. A byte stream is read with `get_reader()`
//! (chunks of `Bytes`, moved without a copy), with [`ReadableStream::get_byob_reader`] into
//! caller-supplied buffers, piped, iterated and teed like any other stream.

mod byob_reader;
mod byob_request;
mod byob_view;
pub(crate) mod byte_controller;
mod byte_source;
mod byte_tee;
mod channel;
mod default_controller;
mod default_reader;
mod from;
mod iter;
mod source;
pub(crate) mod stream;
mod tee;

use std::fmt;

use crate::error::StreamError;
use crate::host::{domain_for, Domain, Driver, Hold, HostRef};
use crate::promise::Promised;
use crate::strategy::QueuingStrategy;
use std::sync::Arc;

pub use byob_reader::{ReadIntoFuture, ReadIntoRequest, ReadIntoResult, ReadableStreamBYOBReader};
pub use byob_request::{ByobRequestView, ReadableStreamBYOBRequest};
pub use byob_view::{ArrayBuffer, ByobView, ViewType, IO_ALIGNMENT};
pub use byte_controller::ReadableByteStreamController;
pub use byte_source::{ByteSourceFn, UnderlyingByteSource};
pub use channel::{ReadableStreamSender, SendError, TrySendError};
pub use default_controller::ReadableStreamDefaultController;
pub use default_reader::{ReadFuture, ReadableStreamDefaultReader};
pub use iter::{IterOptions, Values};
pub use source::{CoreNext, SourceFn, UnderlyingSource};
pub use tee::TeeCancelReasons;

pub(crate) use default_controller::{
    readable_stream_default_controller_close, readable_stream_default_controller_enqueue,
    readable_stream_default_controller_error, readable_stream_default_controller_get_desired_size,
    readable_stream_default_controller_has_backpressure, EnqueueError,
};
pub(crate) use default_reader::{
    acquire_readable_stream_default_reader, readable_stream_default_reader_read_locked,
};

use stream::{
    initialize_readable_stream, is_readable_stream_locked, readable_stream_cancel, Stream, StreamState,
};

/// A read request: the steps to run when a read is fulfilled.
///
/// Exactly one of the three methods is called, exactly once. The native reader's `read()` future,
/// tee, pipes and the JavaScript binding are all read requests; none of them needs a promise or a
/// boxed future per chunk. Steps run with no stream lock held, so they may call back into streams.
pub trait ReadRequest<T>: Send {
    /// The read produced `chunk`.
    fn chunk_steps(self: Box<Self>, chunk: T);
    /// A byte stream's read produced `chunk`, which is the bytes at `byte_offset` of a larger
    /// `buffer`: the standard hands script a `Uint8Array` over the whole transferred buffer with
    /// that offset (after a partial BYOB read of an enqueued chunk, an auto-allocated buffer
    /// filled in part, an enqueued view of part of its buffer). A binding overrides this to build
    /// that view; the default runs `chunk_steps(chunk)`, since native readers want only the
    /// bytes. Called instead of `chunk_steps`, only for streams of `Bytes`.
    fn chunk_in_buffer_steps(self: Box<Self>, chunk: T, buffer: bytes::Bytes, byte_offset: usize) {
        let _ = (buffer, byte_offset);
        self.chunk_steps(chunk);
    }
    /// The stream closed before producing a chunk.
    fn close_steps(self: Box<Self>);
    /// The stream errored (or the reader was released) with `e`.
    fn error_steps(self: Box<Self>, e: StreamError);
}

/// What a read found at once, when it did not have to wait.
pub(crate) enum ReadOutcome<T> {
    Chunk(T),
    /// A byte stream's chunk that is part of a larger buffer, with the buffer and the chunk's
    /// offset in it (see [`ReadRequest::chunk_in_buffer_steps`]).
    ChunkInBuffer(T, bytes::Bytes, usize),
    Closed,
    Errored(StreamError),
    Queued,
}

/// A readable stream of `T`: the standard's `ReadableStream` with a default controller.
///
/// Handles are cheap to clone and share one stream. The stream is `Send + Sync` when `T: Send`.
///
/// ```
/// use sluicegate::readable::ReadableStream;
///
/// # futures::executor::block_on(async {
/// let stream = ReadableStream::from_iter(1..=3);
/// let reader = stream.get_reader().unwrap();
/// assert!(stream.locked());
/// let mut total = 0;
/// while let Some(n) = reader.read().await.unwrap() {
///     total += n;
/// }
/// assert_eq!(total, 6);
/// # });
/// ```
pub struct ReadableStream<T: Send + 'static> {
    pub(crate) inner: Stream<T>,
    /// What keeps the stream's group from being abandoned while this handle lives
    /// ([`Hold`]).
    pub(crate) hold: Hold,
}

impl<T: Send + 'static> Clone for ReadableStream<T> {
    fn clone(&self) -> Self {
        ReadableStream {
            inner: self.inner.clone(),
            hold: self.hold.clone(),
        }
    }
}

impl<T: Send + 'static> ReadableStream<T> {
    /// A handle on `inner`, holding its group with `hold` (taken before the stream was made, so
    /// that nothing the source's `start` does can let go of the group's last hold).
    pub(crate) fn held(inner: Stream<T>, hold: Hold) -> Self {
        ReadableStream { inner, hold }
    }

    /// A new handle on `inner`, or `None` if its group was abandoned (nothing held it).
    pub(crate) fn try_handle(inner: Stream<T>) -> Option<Self> {
        let hold = Hold::try_on(&inner.host)?;
        Some(ReadableStream { inner, hold })
    }
}

impl<T: Send + 'static> fmt::Debug for ReadableStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slots = self.inner.lock();
        f.debug_struct("ReadableStream")
            .field("state", &slots.state)
            .field("locked", &is_readable_stream_locked(&slots))
            .finish()
    }
}

impl<T: Send + 'static> ReadableStream<T> {
    /// A stream over `source` with the default strategy (count chunks, high-water mark 1).
    pub fn new(source: impl UnderlyingSource<T>) -> Result<Self, StreamError> {
        Self::with_strategy(source, QueuingStrategy::new())
    }

    /// A stream over `source` with a queuing strategy. A NaN or negative high-water mark is a
    /// `RangeError`; a synchronous failure of the source's `start` is returned as is.
    pub fn with_strategy(
        source: impl UnderlyingSource<T>,
        strategy: impl Into<QueuingStrategy<T>>,
    ) -> Result<Self, StreamError> {
        Self::with_host(source, strategy, Driver::new_implicit())
    }

    /// Like [`with_strategy`](Self::with_strategy), on an explicit host. Streams on one host are
    /// driven together.
    pub fn with_host(
        source: impl UnderlyingSource<T>,
        strategy: impl Into<QueuingStrategy<T>>,
        host: HostRef,
    ) -> Result<Self, StreamError> {
        let domain = domain_for(&host);
        Self::from_boxed_source(Box::new(source), strategy.into(), host, domain, 1.0)
    }

    /// CreateReadableStream / SetUpReadableStreamDefaultControllerFromUnderlyingSource.
    pub(crate) fn from_boxed_source(
        source: Box<dyn UnderlyingSource<T>>,
        strategy: QueuingStrategy<T>,
        host: HostRef,
        domain: Arc<Domain>,
        default_hwm: f64,
    ) -> Result<Self, StreamError> {
        let hold = Hold::for_new_stream(&host)?;
        let _entered = domain.enter();
        let hwm = strategy.extract_high_water_mark(default_hwm)?;
        let size = strategy.extract_size_algorithm();
        let inner = initialize_readable_stream(host, domain.clone(), source, hwm, size);
        default_controller::set_up_readable_stream_default_controller(&inner)?;
        Ok(ReadableStream::held(inner, hold))
    }

    /// The standard's `locked`: whether a reader holds the stream.
    pub fn locked(&self) -> bool {
        self.inner
            .slots
            .with_entered(|slots| is_readable_stream_locked(slots))
    }

    /// The standard's `getReader()`: locks the stream to a new default reader; a `TypeError` if it
    /// is already locked.
    pub fn get_reader(&self) -> Result<ReadableStreamDefaultReader<T>, StreamError> {
        let _entered = self.inner.domain.enter();
        acquire_readable_stream_default_reader(&self.inner, self.hold.clone())
    }

    /// The standard's `cancel(reason)`: a `TypeError` if the stream is locked; otherwise cancels
    /// the source and discards queued chunks.
    pub fn cancel(&self, reason: StreamError) -> Promised<()> {
        let _entered = self.inner.domain.enter();
        let cell = if self.locked() {
            crate::promise::PromiseCell::settled(Err(StreamError::type_error(
                "cannot cancel a locked stream",
            )))
        } else {
            readable_stream_cancel(&self.inner, reason)
        };
        Promised::held(self.inner.host.clone(), cell, self.hold.clone())
    }

    /// The host that drives this stream.
    pub fn host(&self) -> &HostRef {
        &self.inner.host
    }

    /// Whether the stream is still readable (neither closed nor errored).
    pub fn is_readable(&self) -> bool {
        self.inner
            .slots
            .with_entered(|slots| matches!(slots.state, StreamState::Readable))
    }

    /// Whether the stream has been read from or cancelled (the standard's `[[disturbed]]`).
    pub fn is_disturbed(&self) -> bool {
        self.inner.slots.with_entered(|slots| slots.disturbed)
    }

    /// The stored error, if the stream is errored.
    pub fn stored_error(&self) -> Option<StreamError> {
        self.inner.slots.with_entered(|slots| match &slots.state {
            StreamState::Errored(e) => Some(e.clone()),
            _ => None,
        })
    }
}

impl ReadableStream<bytes::Bytes> {
    /// A readable byte stream over `source` (the standard's `type: "bytes"`), with high-water
    /// mark 0 as the standard's default for byte streams.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sluicegate::readable::{ByteSourceFn, ReadableStream};
    /// use sluicegate::Completion;
    ///
    /// # futures::executor::block_on(async {
    /// let chunk = Bytes::from(vec![7u8; 1024]);
    /// let address = chunk.as_ptr();
    /// let stream = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c| {
    ///     c.enqueue(chunk.clone()).unwrap();
    ///     c.close().unwrap();
    ///     Completion::ok()
    /// }))
    /// .unwrap();
    /// let reader = stream.get_reader().unwrap();
    /// let got = reader.read().await.unwrap().unwrap();
    /// assert_eq!(got.as_ptr(), address, "enqueued bytes are moved, not copied");
    /// # });
    /// ```
    pub fn new_bytes(source: impl UnderlyingByteSource) -> Result<Self, StreamError> {
        Self::with_byte_host(source, None, Driver::new_implicit())
    }

    /// A readable byte stream with a high-water mark in bytes (NaN or negative: `RangeError`).
    pub fn with_byte_strategy(
        source: impl UnderlyingByteSource,
        high_water_mark: f64,
    ) -> Result<Self, StreamError> {
        Self::with_byte_host(source, Some(high_water_mark), Driver::new_implicit())
    }

    /// A readable byte stream on an explicit host; `high_water_mark` in bytes, `None` for 0.
    pub fn with_byte_host(
        source: impl UnderlyingByteSource,
        high_water_mark: Option<f64>,
        host: HostRef,
    ) -> Result<Self, StreamError> {
        let hold = Hold::for_new_stream(&host)?;
        let domain = domain_for(&host);
        let _entered = domain.enter();
        let inner = byte_controller::set_up_readable_byte_stream_controller_from_underlying_source(
            Box::new(source),
            high_water_mark,
            host,
            domain.clone(),
        )?;
        Ok(ReadableStream::held(inner, hold))
    }

    /// The standard's `getReader({ mode: "byob" })`: a `TypeError` if the stream is locked or is
    /// not a byte stream.
    pub fn get_byob_reader(&self) -> Result<ReadableStreamBYOBReader, StreamError> {
        let _entered = self.inner.domain.enter();
        byob_reader::acquire_readable_stream_byob_reader(&self.inner, self.hold.clone())
    }

    /// Whether this is a readable byte stream (its controller is a `ReadableByteStreamController`).
    pub fn is_byte_stream(&self) -> bool {
        self.inner.byte_stream
    }
}
