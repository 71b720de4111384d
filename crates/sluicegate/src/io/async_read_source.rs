//! Any `AsyncRead` as the underlying source of a readable byte stream.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use crate::error::StreamError;
use crate::host::Completion;
use crate::readable::{
    ByobView, ReadableByteStreamController, ReadableStream, UnderlyingByteSource, ViewType,
};

use super::pool::{Pool, PoolBuf};
use super::DEFAULT_CHUNK_SIZE;

/// How many unused buffers a source keeps for reuse.
const POOL_KEEP: usize = 16;

/// The reader, lent to one pull at a time, and whether the stream was cancelled meanwhile.
struct Shared<R> {
    reader: Option<R>,
    cancelled: bool,
}

/// An underlying byte source that reads from an `AsyncRead`.
///
/// Each `pull` does one read:
///
/// * when a BYOB read is waiting (a [`ReadableStreamBYOBReader`](crate::readable::ReadableStreamBYOBReader)
///   read), the request's buffer is moved out of the stream, the `AsyncRead` fills it through a
///   `ReadBuf` directly, and it is moved back with `respond_with_new_view`: the bytes land in the
///   reader's buffer with no intermediate copy;
/// * otherwise (a default reader's read, or the stream filling its queue up to its high-water
///   mark) it reads into a 4096-byte-aligned buffer of the chunk size and enqueues it, moved, as
///   `Bytes`. These buffers come from a small pool owned by the source and return to it when the
///   last `Bytes` referring to them drops, so they are allocated and zeroed only once. (This is why the source leaves `autoAllocateChunkSize` unset: the controller would
///   allocate and zero a fresh buffer per read, which cost a fifth of a 1 GiB file copy in page
///   faults and `memset`.)
///
/// End of file closes the stream; an `io::Error` errors it with a
/// [`StreamError`] whose reason is that `io::Error`. Cancelling the stream drops the reader (at
/// once, or as soon as a read in flight finishes).
///
/// Most code wants [`ReadableStream::from_async_read`]; the source itself is for choosing another
/// host.
pub struct AsyncReadSource<R> {
    shared: Arc<Mutex<Shared<R>>>,
    pool: Arc<Pool>,
}

impl<R> AsyncReadSource<R> {
    /// A source over `reader` that reads up to `chunk_size` bytes at a time (at least 1) when it
    /// fills its own buffers.
    pub fn new(reader: R, chunk_size: usize) -> Self {
        AsyncReadSource {
            shared: Arc::new(Mutex::new(Shared {
                reader: Some(reader),
                cancelled: false,
            })),
            pool: Pool::new(chunk_size.max(1), POOL_KEEP),
        }
    }
}

/// Gives the reader back after a read, unless the stream was cancelled meanwhile.
fn give_back<R>(shared: &Mutex<Shared<R>>, reader: R) {
    let mut s = shared.lock();
    if !s.cancelled {
        s.reader = Some(reader);
        return;
    }
    drop(s);
    drop(reader);
}

/// Enqueues the first `n` bytes of `buffer`, which a `ReadBuf` over it reported filled; 0 is the
/// end of the input.
fn deliver(
    controller: &ReadableByteStreamController,
    mut buffer: PoolBuf,
    n: usize,
) -> Result<(), StreamError> {
    if n == 0 {
        return controller.close();
    }
    // SAFETY: the caller's `ReadBuf` over the buffer reported its first `n` bytes filled, and a
    // `ReadBuf` never reports more than its capacity.
    unsafe { buffer.set_len(n) };
    controller.enqueue(buffer.freeze())
}

impl<R: AsyncRead + Send + Unpin + 'static> UnderlyingByteSource for AsyncReadSource<R> {
    fn pull(&mut self, controller: &ReadableByteStreamController) -> Completion {
        let Some(mut reader) = self.shared.lock().reader.take() else {
            return Completion::err(StreamError::type_error("the reader is gone"));
        };
        let shared = self.shared.clone();
        let controller = controller.clone();
        if let Some(request) = controller.byob_request() {
            let mut view = match request.take_view() {
                Ok(view) => view,
                Err(e) => {
                    give_back(&shared, reader);
                    return Completion::err(e);
                }
            };
            return Completion::future(async move {
                let read = reader.read(view.as_mut_slice()).await;
                give_back(&shared, reader);
                let n = read?;
                if n == 0 {
                    controller.close()?;
                }
                // The same buffer moved back, as a view of the bytes written (none at the end).
                let (buffer, offset, _, _) = view.into_parts();
                view = ByobView::with_type(buffer, ViewType::Uint8, offset, n)?;
                request.respond_with_new_view(view)
            });
        }
        let mut buffer = self.pool.get();
        // Bytes already there (a socket with data waiting, a pipe, memory) are read at once, with
        // no future to box and drive: one try with a waker that does nothing. Only a reader that
        // has nothing yet gets the future below, whose poll registers the real waker.
        let mut read_buf = ReadBuf::uninit(buffer.as_uninit());
        let mut cx = Context::from_waker(Waker::noop());
        if let Poll::Ready(read) = Pin::new(&mut reader).poll_read(&mut cx, &mut read_buf) {
            let n = read_buf.filled().len();
            give_back(&shared, reader);
            return Completion::from(
                read.map_err(StreamError::from)
                    .and_then(|()| deliver(&controller, buffer, n)),
            );
        }
        Completion::future(async move {
            let mut read_buf = ReadBuf::uninit(buffer.as_uninit());
            let read = std::future::poll_fn(|cx| Pin::new(&mut reader).poll_read(cx, &mut read_buf)).await;
            let n = read_buf.filled().len();
            give_back(&shared, reader);
            read?;
            deliver(&controller, buffer, n)
        })
    }

    fn cancel(&mut self, _reason: StreamError) -> Completion {
        let reader = {
            let mut s = self.shared.lock();
            s.cancelled = true;
            s.reader.take()
        };
        drop(reader);
        Completion::ok()
    }
}

impl ReadableStream<Bytes> {
    /// A readable byte stream that reads from `reader`, [`DEFAULT_CHUNK_SIZE`] (64 KiB) at a time,
    /// with high-water mark 0 (the standard's default for byte streams): nothing is read ahead,
    /// so every read — a BYOB read into your buffer, or a default read into a 64 KiB aligned,
    /// pooled buffer moved to you — is filled by the `AsyncRead` directly, with no copy. See
    /// [`AsyncReadSource`].
    ///
    /// ```
    /// use sluicegate::readable::{ArrayBuffer, ByobView};
    /// use sluicegate::ReadableStream;
    ///
    /// # futures::executor::block_on(async {
    /// let stream = ReadableStream::from_async_read(&b"hello, world"[..]);
    /// let reader = stream.get_byob_reader().unwrap();
    /// let buffer = ArrayBuffer::aligned(5);
    /// let address = buffer.as_slice().as_ptr();
    /// let view = reader.read(ByobView::new(buffer)).await.unwrap().view.unwrap();
    /// assert_eq!(view.as_slice(), b"hello");
    /// assert_eq!(view.as_slice().as_ptr(), address, "read into the caller's buffer");
    /// # });
    /// ```
    pub fn from_async_read<R>(reader: R) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        Self::from_async_read_with(reader, DEFAULT_CHUNK_SIZE, 0)
    }

    /// Like [`from_async_read`](Self::from_async_read), reading `chunk_size` bytes at a time into
    /// its own buffers, and reading ahead up to `high_water_mark` bytes (a BYOB read is then
    /// served from that queue, copied, when data is already there).
    pub fn from_async_read_with<R>(reader: R, chunk_size: usize, high_water_mark: usize) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        ReadableStream::with_byte_strategy(AsyncReadSource::new(reader, chunk_size), high_water_mark as f64)
            .expect("a usize high-water mark is valid and this source's start cannot fail")
    }
}
