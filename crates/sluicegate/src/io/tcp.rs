//! TCP: [`connect`] and [`listen`], each connection a [`Connection`] of two byte streams.
//!
//! ```
//! use bytes::Bytes;
//! use futures::StreamExt;
//! use sluicegate::io::tcp;
//! use sluicegate::{PipeOptions, TransformStream};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // An upper-casing echo server: every connection's readable piped through a transform into
//! // its own writable.
//! let listener = tcp::listen("127.0.0.1:0").await.unwrap();
//! let addr = listener.local_addr().unwrap();
//! tokio::spawn(async move {
//!     let connections = listener.incoming();
//!     let mut connections = connections.values().unwrap();
//!     while let Some(Ok(conn)) = connections.next().await {
//!         tokio::spawn(async move {
//!             let upper = TransformStream::map(|b: Bytes| Bytes::from(b.to_ascii_uppercase()));
//!             let piped = conn.readable.pipe_through(&upper, PipeOptions::default()).unwrap();
//!             let _ = piped.pipe_to(&conn.writable, PipeOptions::default()).await;
//!         });
//!     }
//! });
//!
//! let conn = tcp::connect(addr).await.unwrap();
//! let writer = conn.writable.get_writer().unwrap();
//! writer.write(Bytes::from_static(b"hello")).await.unwrap();
//! writer.close().await.unwrap();
//! let answer: Vec<Bytes> = conn.readable.values().unwrap().map(Result::unwrap).collect().await;
//! assert_eq!(answer.concat(), b"HELLO");
//! # });
//! ```

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream;
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::readable::ReadableStream;

use super::connection::{Connection, ConnectionOptions, Socket};

/// A TCP connection's two streams and addresses.
pub type TcpConnection = Connection<SocketAddr>;

/// Opens a TCP connection to `addr` (the first of its addresses that accepts), with the default
/// [`ConnectionOptions`].
pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpConnection> {
    connect_with(addr, &ConnectionOptions::default()).await
}

/// Like [`connect`], with `options`.
pub async fn connect_with(
    addr: impl ToSocketAddrs,
    options: &ConnectionOptions,
) -> io::Result<TcpConnection> {
    from_stream(TcpStream::connect(addr).await?, options)
}

/// A connection over a `tokio::net::TcpStream` already connected (and configured: `TCP_NODELAY`,
/// keep-alive and the like are the socket's own settings).
pub fn from_stream(stream: TcpStream, options: &ConnectionOptions) -> io::Result<TcpConnection> {
    Connection::new(stream, options)
}

/// Listens on `addr` (port 0: a free port, see [`Listener::local_addr`]), with the default
/// [`ConnectionOptions`] for the connections it accepts.
pub async fn listen(addr: impl ToSocketAddrs) -> io::Result<Listener> {
    listen_with(addr, ConnectionOptions::default()).await
}

/// Like [`listen`], with `options` for every accepted connection.
pub async fn listen_with(addr: impl ToSocketAddrs, options: ConnectionOptions) -> io::Result<Listener> {
    Ok(Listener {
        inner: tokio::net::TcpListener::bind(addr).await?,
        options,
    })
}

/// A listening TCP socket: accept connections one at a time with [`accept`](Self::accept), or as
/// a stream with [`incoming`](Self::incoming). Dropping it stops listening.
#[derive(Debug)]
pub struct Listener {
    inner: tokio::net::TcpListener,
    options: ConnectionOptions,
}

impl Listener {
    /// A listener over a `tokio::net::TcpListener` already bound.
    pub fn from_listener(inner: tokio::net::TcpListener, options: ConnectionOptions) -> Self {
        Listener { inner, options }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Waits for the next connection.
    pub async fn accept(&self) -> io::Result<TcpConnection> {
        let (stream, _) = self.inner.accept().await?;
        from_stream(stream, &self.options)
    }

    /// The connections as they come, as a readable stream (high-water mark 0: a connection is
    /// accepted when a read asks for one, so a server that stops reading stops accepting, and the
    /// kernel's backlog holds the rest). An error accepting errors the stream; a server that must
    /// outlive such errors (running out of file descriptors) calls [`accept`](Self::accept) in a
    /// loop instead. Cancelling the stream closes the listener.
    pub fn incoming(self) -> ReadableStream<TcpConnection> {
        ReadableStream::from_try_stream(stream::unfold(self, |listener| async move {
            let next = listener.accept().await;
            Some((next, listener))
        }))
    }
}

impl Socket for TcpStream {
    type Addr = SocketAddr;
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;

    fn addrs(&self) -> io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.local_addr()?, self.peer_addr()?))
    }

    fn into_split(self) -> (Self::Read, Self::Write) {
        TcpStream::into_split(self)
    }

    fn reset_on_close(write: &Self::Write) {
        // Deprecated by tokio because a zero linger makes a *blocking* close wait; here it is
        // wanted for its other effect, a reset instead of a graceful close, and the socket is
        // non-blocking, so the close does not wait.
        #[allow(deprecated)]
        let _ = write.as_ref().set_linger(Some(Duration::ZERO));
    }

    fn forget(write: Self::Write) {
        write.forget();
    }
}
