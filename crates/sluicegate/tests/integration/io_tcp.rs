//! TCP connections as `{readable, writable}` pairs, against tokio's own TCP on loopback: every
//! byte in order, half-close both ways, resets and vanished peers as typed errors, backpressure,
//! and no hang (each test runs under a deadline).
#![cfg(feature = "tokio")]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use sluicegate::io::{self, tcp, ConnectionOptions};
use sluicegate::readable::ReadableStream;
use sluicegate::{PipeOptions, StreamError, TransformStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::io_support::pseudo_random;

/// Runs `test` and fails if it takes longer than this: a hang is a failure, never a stuck run.
pub(crate) async fn deadline<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), test)
        .await
        .expect("the test hung")
}

/// `data` in chunks of varying sizes, as a readable stream.
pub(crate) fn chunked(data: &[u8], seed: usize) -> ReadableStream<Bytes> {
    let mut chunks = Vec::new();
    let (mut at, mut k) = (0, seed);
    while at < data.len() {
        k = (k * 7919 + 13) % 70_001;
        let n = (k + 1).min(data.len() - at);
        chunks.push(Bytes::copy_from_slice(&data[at..at + n]));
        at += n;
    }
    ReadableStream::from_iter(chunks)
}

/// Every byte of a readable stream, or its error.
pub(crate) async fn read_all(stream: &ReadableStream<Bytes>) -> Result<Vec<u8>, StreamError> {
    let reader = stream.get_reader()?;
    let mut all = Vec::new();
    while let Some(chunk) = reader.read().await? {
        all.extend_from_slice(&chunk);
    }
    Ok(all)
}

/// The `io::ErrorKind` a stream error carries, if it carries an `io::Error`.
pub(crate) fn io_kind(e: &StreamError) -> Option<std::io::ErrorKind> {
    e.reason::<std::io::Error>().map(std::io::Error::kind)
}

async fn tokio_listener() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[tokio::test]
async fn connect_sends_every_byte_and_half_closes_while_still_reading_the_peer() {
    deadline(async {
        let (listener, addr) = tokio_listener().await;
        let data = pseudo_random(3 << 20, 1);
        let peer = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            socket.read_to_end(&mut got).await.unwrap(); // ends at our half-close
            socket
                .write_all(format!("got {}", got.len()).as_bytes())
                .await
                .unwrap();
            socket.shutdown().await.unwrap();
            got
        });
        let conn = tcp::connect(addr).await.unwrap();
        assert_eq!(*conn.peer_addr(), addr);
        assert_eq!(conn.local_addr().ip(), addr.ip());
        chunked(&data, 3)
            .pipe_to(&conn.writable, PipeOptions::default())
            .await
            .unwrap();
        // Our sending side is shut down; the peer's answer still arrives, then its end.
        let answer = read_all(&conn.readable).await.unwrap();
        assert_eq!(answer, format!("got {}", data.len()).as_bytes());
        assert!(peer.await.unwrap() == data, "every byte, in order");
    })
    .await;
}

#[tokio::test]
async fn an_accepted_connection_ends_its_readable_at_the_peers_half_close_and_can_still_answer() {
    deadline(async {
        let listener = tcp::listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let data = pseudo_random(1 << 20, 2);
        let sent = data.clone();
        let client = tokio::spawn(async move {
            let mut socket = TcpStream::connect(addr).await.unwrap();
            socket.write_all(&sent).await.unwrap();
            socket.shutdown().await.unwrap(); // half-close: we still read the answer
            let mut answer = Vec::new();
            socket.read_to_end(&mut answer).await.unwrap();
            answer
        });
        let conn = listener.accept().await.unwrap();
        assert_eq!(conn.local_addr().port(), addr.port());
        let got = read_all(&conn.readable).await.unwrap();
        assert!(got == data);
        let writer = conn.writable.get_writer().unwrap();
        writer.write(Bytes::from_static(b"thanks")).await.unwrap();
        writer.close().await.unwrap();
        assert_eq!(client.await.unwrap(), b"thanks");
    })
    .await;
}

#[tokio::test]
async fn incoming_yields_each_connection_and_cancelling_it_stops_listening() {
    deadline(async {
        let listener = tcp::listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let incoming = listener.incoming();
        let mut connections = incoming.values().unwrap();
        for i in 0..3u8 {
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.write_all(&[i; 5]).await.unwrap();
            client.shutdown().await.unwrap();
            let conn = connections.next().await.unwrap().unwrap();
            assert_eq!(read_all(&conn.readable).await.unwrap(), [i; 5]);
        }
        connections.cancel(StreamError::user("done")).await.unwrap();
        let refused = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_resets_mid_stream_errors_the_readable_with_connection_reset() {
    deadline(async {
        let (listener, addr) = tokio_listener().await;
        let peer = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket.write_all(&[7; 100_000]).await.unwrap();
            // Wait for our first bytes, so the reset comes mid-stream, then reset.
            let mut one = [0u8; 1];
            socket.read_exact(&mut one).await.unwrap();
            #[allow(deprecated)]
            socket.set_linger(Some(Duration::ZERO)).unwrap();
            drop(socket);
        });
        let conn = tcp::connect(addr).await.unwrap();
        let reader = conn.readable.get_reader().unwrap();
        let first = reader.read().await.unwrap().unwrap();
        assert!(!first.is_empty() && first.iter().all(|&b| b == 7));
        let writer = conn.writable.get_writer().unwrap();
        writer.write(Bytes::from_static(b"x")).await.unwrap();
        peer.await.unwrap();
        let mut received = first.len();
        let e = loop {
            match reader.read().await {
                Ok(Some(chunk)) => received += chunk.len(),
                Ok(None) => panic!("a reset connection must not look like a clean end"),
                Err(e) => break e,
            }
        };
        assert!(received <= 100_000);
        assert_eq!(io_kind(&e), Some(std::io::ErrorKind::ConnectionReset), "{e}");
        // The stored error is handed to every later read.
        assert!(StreamError::same(&reader.read().await.unwrap_err(), &e));
    })
    .await;
}

#[tokio::test]
async fn writing_to_a_peer_that_went_away_errors_the_writable() {
    deadline(async {
        let (listener, addr) = tokio_listener().await;
        let peer = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            drop(socket);
        });
        let conn = tcp::connect(addr).await.unwrap();
        peer.await.unwrap();
        let writer = conn.writable.get_writer().unwrap();
        let chunk = Bytes::from(vec![1u8; 64 * 1024]);
        let e = loop {
            if let Err(e) = writer.write(chunk.clone()).await {
                break e;
            }
        };
        let kind = io_kind(&e);
        assert!(
            matches!(
                kind,
                Some(std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset)
            ),
            "{e}"
        );
        assert!(writer.closed().await.is_err());
        // The peer's end was a clean close: our readable sees the end, or the reset that
        // followed our writes.
        match read_all(&conn.readable).await {
            Ok(rest) => assert!(rest.is_empty()),
            Err(e) => assert_eq!(io_kind(&e), Some(std::io::ErrorKind::ConnectionReset)),
        }
    })
    .await;
}

#[tokio::test]
async fn aborting_the_writable_resets_the_connection_and_fails_a_pending_read() {
    deadline(async {
        let (listener, addr) = tokio_listener().await;
        let peer = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            let end = socket.read_to_end(&mut got).await;
            (got, end.map(drop).map_err(|e| e.kind()))
        });
        let conn = tcp::connect(addr).await.unwrap();
        let reader = conn.readable.get_reader().unwrap();
        let pending_read = tokio::spawn(async move { reader.read().await });
        let writer = conn.writable.get_writer().unwrap();
        writer
            .write(Bytes::from_static(b"partial message"))
            .await
            .unwrap();
        writer.abort(StreamError::user("upstream failed")).await.unwrap();
        let (got, end) = peer.await.unwrap();
        assert!(got.len() <= b"partial message".len());
        assert_eq!(
            end,
            Err(std::io::ErrorKind::ConnectionReset),
            "the peer must not mistake an aborted message for a complete one"
        );
        let e = pending_read.await.unwrap().unwrap_err();
        assert_eq!(io_kind(&e), Some(std::io::ErrorKind::ConnectionAborted), "{e}");
    })
    .await;
}

#[tokio::test]
async fn cancelling_the_readable_leaves_the_writable_working() {
    deadline(async {
        let (listener, addr) = tokio_listener().await;
        let peer = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket.write_all(b"unwanted").await.unwrap();
            let mut got = Vec::new();
            socket.read_to_end(&mut got).await.unwrap();
            got
        });
        let conn = tcp::connect(addr).await.unwrap();
        conn.readable
            .cancel(StreamError::user("not interested"))
            .await
            .unwrap();
        let writer = conn.writable.get_writer().unwrap();
        writer.write(Bytes::from_static(b"still ")).await.unwrap();
        writer.write(Bytes::from_static(b"sending")).await.unwrap();
        writer.close().await.unwrap();
        assert_eq!(peer.await.unwrap(), b"still sending");
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_does_not_read_holds_the_writer_back() {
    deadline(async {
        let (listener, addr) = tokio_listener().await;
        let conn = tcp::connect(addr).await.unwrap();
        let (mut peer, _) = listener.accept().await.unwrap();
        // A source of 512 MiB that counts what is taken from it.
        let taken = Arc::new(AtomicUsize::new(0));
        let t = taken.clone();
        let chunk = Bytes::from(vec![9u8; 64 * 1024]);
        let source = ReadableStream::from_iter((0..8192).map(move |_| {
            t.fetch_add(chunk.len(), Ordering::SeqCst);
            chunk.clone()
        }));
        let pipe = tokio::spawn(source.pipe_to(&conn.writable, PipeOptions::default()));
        // Wait until the pipe stalls: the kernel's buffers are full and nobody reads them.
        let mut last = 0;
        let mut steady = 0;
        while steady < 5 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = taken.load(Ordering::SeqCst);
            steady = if now == last { steady + 1 } else { 0 };
            last = now;
        }
        assert!(
            last < 64 << 20,
            "{last} bytes taken while the peer reads nothing: no backpressure"
        );
        // Reading resumes the flow, and everything arrives.
        let mut got = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = peer.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|&b| b == 9));
            got += n;
        }
        pipe.await.unwrap().unwrap();
        assert_eq!(got, 8192 * 64 * 1024);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_echo_connections_across_threads_carry_every_byte() {
    deadline(async {
        // An echo server through an upper-casing transform, on the multi-thread runtime.
        let listener = tcp::listen_with("127.0.0.1:0", ConnectionOptions::default().chunk_size(10_000))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let conn = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let upper = TransformStream::map(|b: Bytes| Bytes::from(b.to_ascii_uppercase()));
                    let out = conn
                        .readable
                        .pipe_through(&upper, PipeOptions::default())
                        .unwrap();
                    out.pipe_to(&conn.writable, PipeOptions::default()).await.unwrap();
                });
            }
        });
        let clients: Vec<_> = (0..8)
            .map(|i| {
                tokio::spawn(async move {
                    let data: Vec<u8> = pseudo_random(512 << 10, i)
                        .iter()
                        .map(|b| b'a' + b % 26)
                        .collect();
                    let conn = tcp::connect(addr).await.unwrap();
                    let (readable, writable) = conn.into_parts();
                    let sending =
                        tokio::spawn(chunked(&data, i as usize).pipe_to(&writable, PipeOptions::default()));
                    let echoed = read_all(&readable).await.unwrap();
                    sending.await.unwrap().unwrap();
                    assert!(echoed == data.to_ascii_uppercase(), "client {i}");
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
    })
    .await;
}

#[tokio::test]
async fn a_failed_connect_is_a_typed_io_error() {
    deadline(async {
        let (listener, addr) = tokio_listener().await;
        drop(listener);
        let e = tcp::connect(addr).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        let taken = tcp::listen("127.0.0.1:0").await.unwrap();
        let e = tcp::listen(taken.local_addr().unwrap()).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
        assert!(!io::is_broken_pipe(&StreamError::from(e)));
    })
    .await;
}

#[tokio::test]
async fn an_echo_whose_pipe_a_timeout_dropped_closes_the_connection_once_nothing_holds_it() {
    deadline(async {
        let (listener, addr) = tokio_listener().await;
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let conn = tcp::from_stream(socket, &ConnectionOptions::default()).unwrap();
            let echo = conn
                .readable
                .pipe_through(&TransformStream::map(|b: Bytes| b), PipeOptions::default())
                .unwrap();
            // The peer says one thing and waits: the echo cannot finish within the timeout, which
            // drops the pipe's future. Every other handle goes with this task.
            let piped = echo.pipe_to(&conn.writable, PipeOptions::default());
            let timed_out = tokio::time::timeout(Duration::from_millis(200), piped).await;
            assert!(timed_out.is_err(), "the peer never ends its side");
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut echoed = [0u8; 4];
        client.read_exact(&mut echoed).await.unwrap();
        assert_eq!(&echoed, b"ping");
        server.await.unwrap();
        // Nothing holds the echo's streams any more: they are freed with the socket, and the peer
        // sees the connection end (an end of stream or a reset, depending on what was unread).
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut rest)).await;
        assert!(
            ended.is_ok(),
            "the connection stayed open after its streams were dropped"
        );
        assert!(rest.is_empty());
    })
    .await;
}
