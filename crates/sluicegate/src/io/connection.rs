//! A connected socket as a `{readable, writable}` pair, with half-close and an abortive reset.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::StreamError;
use crate::host::Completion;
use crate::readable::ReadableStream;
use crate::strategy::ByteLengthQueuingStrategy;
use crate::writable::{UnderlyingSink, WritableStream, WritableStreamDefaultController};

use super::{AsyncWriteSink, DEFAULT_CHUNK_SIZE, DEFAULT_HIGH_WATER_MARK};

/// A connected socket (TCP or Unix) as two byte streams, one per direction.
///
/// * [`readable`](Self::readable) gives the bytes the peer sends, in chunks of at most the
///   [chunk size](ConnectionOptions::chunk_size), each read into a 4096-aligned pooled buffer by
///   the socket directly (see [`AsyncReadSource`](super::AsyncReadSource)). It closes when the
///   peer shuts down its sending side (TCP's FIN), and errors with the `io::Error` the socket
///   reports otherwise (a peer that reset the connection: `io::ErrorKind::ConnectionReset`).
///   Cancelling it stops reading; the writable side stays usable.
/// * [`writable`](Self::writable) sends every chunk written, whole, in order, with a byte-length
///   strategy. **Half-close**: closing it flushes and shuts down the sending side only, so the
///   peer reads to its end while this side goes on reading the peer's answer. **Abort** is a
///   reset: chunks still queued are dropped, and the connection is torn down at once (over TCP
///   the peer gets a reset, `ConnectionReset`, instead of an end of stream it could mistake for a
///   complete message; Unix sockets have no reset, so their peer sees the end of stream), and the
///   readable side errors with `io::ErrorKind::ConnectionAborted`. A write to a peer that has
///   gone errors the stream with `BrokenPipe` or `ConnectionReset`.
///
/// Dropping both streams closes the socket. Both are `Send + Sync`: read in one task, write in
/// another.
///
/// ```
/// use bytes::Bytes;
/// use sluicegate::io::tcp;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = tcp::listen("127.0.0.1:0").await.unwrap();
/// let addr = listener.local_addr().unwrap();
/// let client = tokio::spawn(async move {
///     let conn = tcp::connect(addr).await.unwrap();
///     let writer = conn.writable.get_writer().unwrap();
///     writer.write(Bytes::from_static(b"ping")).await.unwrap();
///     writer.close().await.unwrap(); // half-close: the server sees the end, we still read
///     let reader = conn.readable.get_reader().unwrap();
///     reader.read().await.unwrap().unwrap()
/// });
/// let conn = listener.accept().await.unwrap();
/// let request = conn.readable.get_reader().unwrap();
/// assert_eq!(&request.read().await.unwrap().unwrap()[..], b"ping");
/// assert!(request.read().await.unwrap().is_none(), "the client's half-close");
/// let writer = conn.writable.get_writer().unwrap();
/// writer.write(Bytes::from_static(b"pong")).await.unwrap();
/// writer.close().await.unwrap();
/// assert_eq!(&client.await.unwrap()[..], b"pong");
/// # });
/// ```
pub struct Connection<A> {
    /// What the peer sends.
    pub readable: ReadableStream<Bytes>,
    /// What this side sends.
    pub writable: WritableStream<Bytes>,
    local_addr: A,
    peer_addr: A,
}

impl<A> Connection<A> {
    /// This side's address.
    pub fn local_addr(&self) -> &A {
        &self.local_addr
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> &A {
        &self.peer_addr
    }

    /// The two streams, readable first.
    pub fn into_parts(self) -> (ReadableStream<Bytes>, WritableStream<Bytes>) {
        (self.readable, self.writable)
    }
}

impl<A: fmt::Debug> fmt::Debug for Connection<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("local_addr", &self.local_addr)
            .field("peer_addr", &self.peer_addr)
            .finish_non_exhaustive()
    }
}

/// How a [`Connection`]'s streams are made.
///
/// ```
/// use sluicegate::io::ConnectionOptions;
///
/// let options = ConnectionOptions::default().chunk_size(256 * 1024).write_high_water_mark(1 << 20);
/// assert_eq!(options.get_chunk_size(), 256 * 1024);
/// ```
#[derive(Clone, Debug)]
pub struct ConnectionOptions {
    chunk_size: usize,
    read_high_water_mark: usize,
    write_high_water_mark: usize,
}

impl Default for ConnectionOptions {
    /// Reads of [`DEFAULT_CHUNK_SIZE`] (64 KiB), no read-ahead beyond what the kernel buffers
    /// (high-water mark 0: a chunk is read when someone reads), and a writable high-water mark of
    /// [`DEFAULT_HIGH_WATER_MARK`] (64 KiB).
    fn default() -> Self {
        ConnectionOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            read_high_water_mark: 0,
            write_high_water_mark: DEFAULT_HIGH_WATER_MARK,
        }
    }
}

impl ConnectionOptions {
    /// The most bytes one read takes from the socket (at least 1).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// How many bytes the readable side reads ahead of its reader.
    pub fn read_high_water_mark(mut self, bytes: usize) -> Self {
        self.read_high_water_mark = bytes;
        self
    }

    /// The writable side's high-water mark, in bytes.
    pub fn write_high_water_mark(mut self, bytes: usize) -> Self {
        self.write_high_water_mark = bytes;
        self
    }

    /// The chunk size set.
    pub fn get_chunk_size(&self) -> usize {
        self.chunk_size
    }
}

/// A stream socket whose halves a [`Connection`] takes over.
pub(crate) trait Socket: Sized {
    type Addr;
    type Read: AsyncRead + Send + Unpin + 'static;
    type Write: AsyncWrite + Send + Unpin + 'static;

    fn addrs(&self) -> io::Result<(Self::Addr, Self::Addr)>;
    fn into_split(self) -> (Self::Read, Self::Write);
    /// Arranges for the socket to be reset, not closed gracefully, when it is closed (TCP:
    /// `SO_LINGER` 0). Best effort.
    fn reset_on_close(write: &Self::Write);
    /// Drops the write half without shutting down the sending side (the socket closes when
    /// the read half is gone too).
    fn forget(write: Self::Write);
}

impl<A> Connection<A> {
    pub(crate) fn new<S: Socket<Addr = A> + 'static>(
        socket: S,
        options: &ConnectionOptions,
    ) -> io::Result<Self> {
        let (local_addr, peer_addr) = socket.addrs()?;
        let (read, write) = socket.into_split();
        let reset = Arc::new(Reset {
            read: Mutex::new(Some(read)),
            aborted: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        let readable = ReadableStream::from_async_read_with(
            ResettableRead(reset.clone()),
            options.chunk_size,
            options.read_high_water_mark,
        );
        let sink = ConnectionSink::<S> {
            inner: AsyncWriteSink::new(ResettableWrite::<S> {
                write: Some(write),
                reset: reset.clone(),
            }),
            reset,
        };
        let writable = WritableStream::with_strategy(
            sink,
            ByteLengthQueuingStrategy::new(options.write_high_water_mark as f64),
        )
        .map_err(io::Error::from)?;
        Ok(Connection {
            readable,
            writable,
            local_addr,
            peer_addr,
        })
    }
}

/// What the two halves share so that aborting the writable can tear the connection down.
struct Reset<R> {
    /// The read half; taken (and dropped) by a reset or when the readable side is done with it.
    read: Mutex<Option<R>>,
    aborted: AtomicBool,
    /// The readable side's task waiting on a read, woken by a reset.
    waker: AtomicWaker,
}

impl<R> Reset<R> {
    fn aborted() -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the connection was reset by this side (its writable was aborted)",
        )
    }
}

/// The read half as the readable side's `AsyncRead`, failing once the connection is reset.
struct ResettableRead<R>(Arc<Reset<R>>);

impl<R: AsyncRead + Unpin> AsyncRead for ResettableRead<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let reset = &self.0;
        // Never contended but by a reset, which only takes the half out.
        let mut read = reset.read.lock();
        let Some(half) = read.as_mut() else {
            return Poll::Ready(Err(Reset::<R>::aborted()));
        };
        let poll = Pin::new(half).poll_read(cx, buf);
        if poll.is_pending() {
            // A reset takes the lock we hold before it wakes, so it cannot slip in unseen.
            reset.waker.register(cx.waker());
        }
        poll
    }
}

impl<R> Drop for ResettableRead<R> {
    fn drop(&mut self) {
        // The readable side is done (closed, errored or cancelled): let the half go now, not
        // when the writable side is done too.
        drop(self.0.read.lock().take());
    }
}

/// The write half as the writable side's `AsyncWrite`; dropped after a reset, it leaves the
/// sending side open so that the peer sees the reset rather than an end of stream.
struct ResettableWrite<S: Socket> {
    write: Option<S::Write>,
    reset: Arc<Reset<S::Read>>,
}

impl<S: Socket> ResettableWrite<S> {
    fn half(&mut self) -> Pin<&mut S::Write> {
        Pin::new(self.write.as_mut().expect("present until dropped"))
    }
}

impl<S: Socket> AsyncWrite for ResettableWrite<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.half().poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.half().poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.half().poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.half().poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.write.as_ref().is_some_and(AsyncWrite::is_write_vectored)
    }
}

impl<S: Socket> Drop for ResettableWrite<S> {
    fn drop(&mut self) {
        let Some(write) = self.write.take() else { return };
        if !self.reset.aborted.load(Ordering::Acquire) {
            return; // tokio's half shuts down the sending side as it drops (a no-op after close)
        }
        S::reset_on_close(&write);
        S::forget(write);
        // The read half goes too, waking a read that waits on it, so the socket closes now.
        let read = self.reset.read.lock().take();
        drop(read);
        self.reset.waker.wake();
    }
}

/// The writable side's sink: an [`AsyncWriteSink`] whose abort resets the connection.
struct ConnectionSink<S: Socket> {
    inner: AsyncWriteSink<ResettableWrite<S>>,
    reset: Arc<Reset<S::Read>>,
}

impl<S: Socket + 'static> UnderlyingSink<Bytes> for ConnectionSink<S> {
    fn write(&mut self, chunk: Bytes, controller: &WritableStreamDefaultController<Bytes>) -> Completion {
        self.inner.write(chunk, controller)
    }

    fn close(&mut self) -> Completion {
        self.inner.close()
    }

    fn abort(&mut self, reason: StreamError) -> Completion {
        self.reset.aborted.store(true, Ordering::Release);
        // Drops the write half, whose drop resets the connection (see `ResettableWrite`). If an
        // earlier write failed the half is gone already; the read half is let go all the same.
        let done = self.inner.abort(reason);
        drop(self.reset.read.lock().take());
        self.reset.waker.wake();
        done
    }
}
