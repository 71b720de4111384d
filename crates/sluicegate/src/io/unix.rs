//! Unix domain sockets: [`connect`] and [`listen`] on a path, each connection a [`Connection`] of
//! two byte streams, as for [TCP](super::tcp).
//!
//! The same half-close applies (closing the writable shuts down the sending side; the readable
//! ends when the peer shuts down its own). Unix sockets have no reset: aborting the writable
//! closes the socket, and the peer sees an end of stream (or `ConnectionReset` if bytes it sent
//! were still unread).
//!
//! ```
//! use bytes::Bytes;
//! use sluicegate::io::unix;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let path = std::env::temp_dir().join(format!("sluicegate-doc-unix-{}.sock", std::process::id()));
//! # let _ = std::fs::remove_file(&path);
//! let listener = unix::listen(&path).unwrap();
//! let client = tokio::spawn({
//!     let path = path.clone();
//!     async move {
//!         let conn = unix::connect(&path).await.unwrap();
//!         let writer = conn.writable.get_writer().unwrap();
//!         writer.write(Bytes::from_static(b"over a path")).await.unwrap();
//!         writer.close().await.unwrap();
//!     }
//! });
//! let conn = listener.accept().await.unwrap();
//! let reader = conn.readable.get_reader().unwrap();
//! assert_eq!(&reader.read().await.unwrap().unwrap()[..], b"over a path");
//! assert!(reader.read().await.unwrap().is_none());
//! client.await.unwrap();
//! # std::fs::remove_file(&path).unwrap();
//! # });
//! ```

use std::io;
use std::path::Path;

use futures_util::stream;
use tokio::net::unix::SocketAddr;
use tokio::net::UnixStream;

use crate::readable::ReadableStream;

use super::connection::{Connection, ConnectionOptions, Socket};

/// A Unix socket connection's two streams and addresses.
pub type UnixConnection = Connection<SocketAddr>;

/// Connects to the Unix socket at `path`, with the default [`ConnectionOptions`].
pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixConnection> {
    connect_with(path, &ConnectionOptions::default()).await
}

/// Like [`connect`], with `options`.
pub async fn connect_with(path: impl AsRef<Path>, options: &ConnectionOptions) -> io::Result<UnixConnection> {
    from_stream(UnixStream::connect(path).await?, options)
}

/// A connection over a `tokio::net::UnixStream` already connected (one end of
/// `UnixStream::pair()`, for instance).
pub fn from_stream(stream: UnixStream, options: &ConnectionOptions) -> io::Result<UnixConnection> {
    Connection::new(stream, options)
}

/// Listens on a new socket file at `path`, with the default [`ConnectionOptions`] for the
/// connections it accepts. Fails if the file exists (remove a stale one first); the file stays
/// after the listener is dropped, as with every Unix socket. Must be called inside a tokio
/// runtime.
pub fn listen(path: impl AsRef<Path>) -> io::Result<Listener> {
    listen_with(path, ConnectionOptions::default())
}

/// Like [`listen`], with `options` for every accepted connection.
pub fn listen_with(path: impl AsRef<Path>, options: ConnectionOptions) -> io::Result<Listener> {
    Ok(Listener {
        inner: tokio::net::UnixListener::bind(path)?,
        options,
    })
}

/// A listening Unix socket: accept connections one at a time with [`accept`](Self::accept), or as
/// a stream with [`incoming`](Self::incoming). Dropping it stops listening.
#[derive(Debug)]
pub struct Listener {
    inner: tokio::net::UnixListener,
    options: ConnectionOptions,
}

impl Listener {
    /// A listener over a `tokio::net::UnixListener` already bound.
    pub fn from_listener(inner: tokio::net::UnixListener, options: ConnectionOptions) -> Self {
        Listener { inner, options }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Waits for the next connection.
    pub async fn accept(&self) -> io::Result<UnixConnection> {
        let (stream, _) = self.inner.accept().await?;
        from_stream(stream, &self.options)
    }

    /// The connections as they come, as a readable stream; see
    /// [`tcp::Listener::incoming`](super::tcp::Listener::incoming).
    pub fn incoming(self) -> ReadableStream<UnixConnection> {
        ReadableStream::from_try_stream(stream::unfold(self, |listener| async move {
            let next = listener.accept().await;
            Some((next, listener))
        }))
    }
}

impl Socket for UnixStream {
    type Addr = SocketAddr;
    type Read = tokio::net::unix::OwnedReadHalf;
    type Write = tokio::net::unix::OwnedWriteHalf;

    fn addrs(&self) -> io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.local_addr()?, self.peer_addr()?))
    }

    fn into_split(self) -> (Self::Read, Self::Write) {
        UnixStream::into_split(self)
    }

    fn reset_on_close(_: &Self::Write) {}

    fn forget(write: Self::Write) {
        write.forget();
    }
}
