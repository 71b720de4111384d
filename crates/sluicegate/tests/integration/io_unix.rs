//! Unix socket connections as `{readable, writable}` pairs, against tokio's own Unix sockets:
//! every byte, half-close both ways, a vanished peer as a typed error, abort, and no hang.
#![cfg(all(feature = "tokio", unix))]

use bytes::Bytes;
use futures::StreamExt;
use sluicegate::io::{unix, ConnectionOptions};
use sluicegate::{PipeOptions, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::io_support::{pseudo_random, TempDir};
use crate::io_tcp::{chunked, deadline, io_kind, read_all};

#[tokio::test]
async fn connect_and_listen_carry_every_byte_with_half_close_both_ways() {
    deadline(async {
        let dir = TempDir::new("unix-roundtrip");
        let path = dir.path("s.sock");
        let listener = unix::listen(&path).unwrap();
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
        let data = pseudo_random(2 << 20, 4);
        let server = tokio::spawn(async move {
            let conn = listener.accept().await.unwrap();
            // Reads to the client's half-close, then answers on its own still-open side.
            let got = read_all(&conn.readable).await.unwrap();
            let writer = conn.writable.get_writer().unwrap();
            writer
                .write(Bytes::from(format!("got {}", got.len())))
                .await
                .unwrap();
            writer.close().await.unwrap();
            got
        });
        let conn = unix::connect_with(&path, &ConnectionOptions::default().chunk_size(4096))
            .await
            .unwrap();
        chunked(&data, 5)
            .pipe_to(&conn.writable, PipeOptions::default())
            .await
            .unwrap();
        assert_eq!(
            read_all(&conn.readable).await.unwrap(),
            format!("got {}", data.len()).as_bytes()
        );
        assert!(server.await.unwrap() == data);
    })
    .await;
}

#[tokio::test]
async fn a_tokio_peer_sees_our_half_close_and_we_see_its() {
    deadline(async {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let conn = unix::from_stream(ours, &ConnectionOptions::default()).unwrap();
        let writer = conn.writable.get_writer().unwrap();
        writer.write(Bytes::from_static(b"request")).await.unwrap();
        writer.close().await.unwrap();
        let mut got = Vec::new();
        theirs.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"request");
        theirs.write_all(b"response").await.unwrap();
        theirs.shutdown().await.unwrap();
        assert_eq!(read_all(&conn.readable).await.unwrap(), b"response");
    })
    .await;
}

#[tokio::test]
async fn incoming_yields_connections_from_tokio_clients() {
    deadline(async {
        let dir = TempDir::new("unix-incoming");
        let path = dir.path("s.sock");
        let mut connections = unix::listen(&path).unwrap().incoming().values().unwrap();
        for i in 0..3u8 {
            let mut client = UnixStream::connect(&path).await.unwrap();
            client.write_all(&[i; 3]).await.unwrap();
            client.shutdown().await.unwrap();
            let conn = connections.next().await.unwrap().unwrap();
            assert_eq!(read_all(&conn.readable).await.unwrap(), [i; 3]);
        }
        // A path already taken is a typed error.
        let e = unix::listen(&path).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    })
    .await;
}

#[tokio::test]
async fn writing_to_a_peer_that_went_away_errors_with_broken_pipe() {
    deadline(async {
        let dir = TempDir::new("unix-gone");
        let path = dir.path("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let conn = unix::connect(&path).await.unwrap();
        let (peer, _) = listener.accept().await.unwrap();
        drop(peer);
        let writer = conn.writable.get_writer().unwrap();
        let chunk = Bytes::from(vec![1u8; 64 * 1024]);
        let e = loop {
            if let Err(e) = writer.write(chunk.clone()).await {
                break e;
            }
        };
        assert_eq!(io_kind(&e), Some(std::io::ErrorKind::BrokenPipe), "{e}");
        assert!(
            read_all(&conn.readable).await.unwrap().is_empty(),
            "the peer's end"
        );
    })
    .await;
}

#[tokio::test]
async fn aborting_the_writable_closes_the_socket_and_fails_our_reads() {
    deadline(async {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let conn = unix::from_stream(ours, &ConnectionOptions::default()).unwrap();
        let reader = conn.readable.get_reader().unwrap();
        let pending_read = tokio::spawn(async move { reader.read().await });
        let writer = conn.writable.get_writer().unwrap();
        writer.abort(StreamError::user("gave up")).await.unwrap();
        let e = pending_read.await.unwrap().unwrap_err();
        assert_eq!(io_kind(&e), Some(std::io::ErrorKind::ConnectionAborted), "{e}");
        // The socket is closed: the peer reads its end, and its writes fail.
        let mut got = Vec::new();
        theirs.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty());
        let e = theirs.write_all(b"anyone?").await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    })
    .await;
}
