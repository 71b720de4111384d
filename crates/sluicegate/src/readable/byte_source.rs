//! The underlying byte source API: what a readable byte stream pulls from.

use crate::error::StreamError;
use crate::host::Completion;

use super::ReadableByteStreamController;

/// An underlying byte source: the standard's `start`, `pull`, `cancel` and `autoAllocateChunkSize`
/// for a source of `type: "bytes"`.
///
/// Every method has a default. A source either enqueues `Bytes` it already has
/// ([`ReadableByteStreamController::enqueue`], moved to a default reader without a copy), or fills
/// the pending BYOB request ([`ReadableByteStreamController::byob_request`]) in place and responds.
///
/// ```
/// use bytes::Bytes;
/// use sluicegate::readable::{ReadableByteStreamController, ReadableStream, UnderlyingByteSource};
/// use sluicegate::Completion;
///
/// /// Serves `data` in pieces of at most 4 bytes, straight into the reader's buffer.
/// struct Slices(Vec<u8>);
///
/// impl UnderlyingByteSource for Slices {
///     fn pull(&mut self, c: &ReadableByteStreamController) -> Completion {
///         if self.0.is_empty() {
///             c.close().unwrap();
///             if let Some(request) = c.byob_request() {
///                 request.respond(0).unwrap();
///             }
///         } else if let Some(request) = c.byob_request() {
///             let n = request
///                 .with_view_mut(|view| {
///                     let n = view.len().min(self.0.len()).min(4);
///                     view[..n].copy_from_slice(&self.0[..n]);
///                     n
///                 })
///                 .unwrap();
///             self.0.drain(..n);
///             request.respond(n).unwrap();
///         } else {
///             c.enqueue(Bytes::from(std::mem::take(&mut self.0))).unwrap();
///         }
///         Completion::ok()
///     }
/// }
///
/// # futures::executor::block_on(async {
/// let stream = ReadableStream::new_bytes(Slices(b"hello, world".to_vec())).unwrap();
/// let reader = stream.get_byob_reader().unwrap();
/// let mut buffer = sluicegate::readable::ArrayBuffer::aligned(16);
/// let mut text = Vec::new();
/// loop {
///     let result = reader.read(buffer.into()).await.unwrap();
///     let view = result.view.unwrap();
///     text.extend_from_slice(view.as_slice());
///     if result.done {
///         break;
///     }
///     buffer = view.into_buffer();
/// }
/// assert_eq!(text, b"hello, world");
/// # });
/// ```
pub trait UnderlyingByteSource: Send + 'static {
    /// Called once, synchronously, while the stream is constructed. A synchronous `Err` makes the
    /// constructor fail; a future that fails errors the stream.
    fn start(&mut self, controller: &ReadableByteStreamController) -> Completion {
        let _ = controller;
        Completion::ok()
    }

    /// Called when the stream wants more bytes: the queue is below the high-water mark or a read
    /// is waiting. A failure errors the stream.
    fn pull(&mut self, controller: &ReadableByteStreamController) -> Completion {
        let _ = controller;
        Completion::ok()
    }

    /// Called when the consumer cancels the stream; no more calls follow.
    fn cancel(&mut self, reason: StreamError) -> Completion {
        let _ = reason;
        Completion::ok()
    }

    /// `autoAllocateChunkSize`: when `Some(n)`, a default reader's read allocates an `n`-byte
    /// buffer and presents it as a BYOB request. `Some(0)` makes the constructor fail with a
    /// `TypeError`. Asked once, at construction.
    fn auto_allocate_chunk_size(&self) -> Option<usize> {
        None
    }
}

type Step = Box<dyn FnMut(&ReadableByteStreamController) -> Completion + Send>;
type CancelFn = Box<dyn FnMut(StreamError) -> Completion + Send>;

/// An underlying byte source made of closures.
///
/// ```
/// use bytes::Bytes;
/// use sluicegate::readable::{ByteSourceFn, ReadableStream};
/// use sluicegate::Completion;
///
/// let stream = ReadableStream::new_bytes(ByteSourceFn::new().start(|c| {
///     c.enqueue(Bytes::from_static(b"abc")).unwrap();
///     c.close().unwrap();
///     Completion::ok()
/// }))
/// .unwrap();
/// # futures::executor::block_on(async {
/// let reader = stream.get_reader().unwrap();
/// assert_eq!(reader.read().await.unwrap().unwrap(), Bytes::from_static(b"abc"));
/// assert_eq!(reader.read().await.unwrap(), None);
/// # });
/// ```
#[derive(Default)]
pub struct ByteSourceFn {
    start: Option<Step>,
    pull: Option<Step>,
    cancel: Option<CancelFn>,
    auto_allocate_chunk_size: Option<usize>,
}

impl ByteSourceFn {
    /// A source that does nothing until given closures.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `start` closure.
    pub fn start<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(&ReadableByteStreamController) -> R + Send + 'static,
    ) -> Self {
        self.start = Some(Box::new(move |c| f(c).into()));
        self
    }

    /// Sets the `pull` closure.
    pub fn pull<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(&ReadableByteStreamController) -> R + Send + 'static,
    ) -> Self {
        self.pull = Some(Box::new(move |c| f(c).into()));
        self
    }

    /// Sets the `cancel` closure.
    pub fn cancel<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(StreamError) -> R + Send + 'static,
    ) -> Self {
        self.cancel = Some(Box::new(move |r| f(r).into()));
        self
    }

    /// Sets `autoAllocateChunkSize`.
    pub fn auto_allocate_chunk_size(mut self, size: usize) -> Self {
        self.auto_allocate_chunk_size = Some(size);
        self
    }
}

impl UnderlyingByteSource for ByteSourceFn {
    fn start(&mut self, controller: &ReadableByteStreamController) -> Completion {
        match &mut self.start {
            Some(f) => f(controller),
            None => Completion::ok(),
        }
    }

    fn pull(&mut self, controller: &ReadableByteStreamController) -> Completion {
        match &mut self.pull {
            Some(f) => f(controller),
            None => Completion::ok(),
        }
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        match &mut self.cancel {
            Some(f) => f(reason),
            None => Completion::ok(),
        }
    }

    fn auto_allocate_chunk_size(&self) -> Option<usize> {
        self.auto_allocate_chunk_size
    }
}
