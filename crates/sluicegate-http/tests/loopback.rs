//! HTTP bodies as streams against real peers on loopback: hyper's server and client, and raw
//! TCP clients that misbehave. Every test runs under a deadline, so a hang fails it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::{CountQueuingStrategy, PipeOptions, StreamError, TransformStream};
use sluicegate_http::{body_stream, body_stream_with_trailers, BodyError, StreamBody};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

async fn deadline<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), test)
        .await
        .expect("the test hung")
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| b'a' + ((i * 7 + seed as usize) % 26) as u8)
        .collect()
}

/// `data` as a stream of chunks of varying sizes.
fn chunked(data: &[u8]) -> ReadableStream<Bytes> {
    let mut chunks = Vec::new();
    let (mut at, mut k) = (0usize, 1usize);
    while at < data.len() {
        k = (k * 7919 + 13) % 50_001;
        let n = (k + 1).min(data.len() - at);
        chunks.push(Bytes::copy_from_slice(&data[at..at + n]));
        at += n;
    }
    ReadableStream::from_iter(chunks)
}

async fn read_all(stream: &ReadableStream<Bytes>) -> Result<Vec<u8>, StreamError> {
    let reader = stream.get_reader()?;
    let mut all = Vec::new();
    while let Some(chunk) = reader.read().await? {
        all.extend_from_slice(&chunk);
    }
    Ok(all)
}

/// Serves every connection on a fresh loopback port with hyper's HTTP/1 server and `handler`.
async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<StreamBody>, StreamError>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(handler);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    addr
}

/// Sends `request` with hyper's HTTP/1 client over a new connection.
async fn send<B>(addr: SocketAddr, request: Request<B>) -> Response<Incoming>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    try_send(addr, request).await.unwrap()
}

/// Like [`send`], with hyper's error if the response's head does not arrive.
async fn try_send<B>(addr: SocketAddr, request: Request<B>) -> Result<Response<Incoming>, hyper::Error>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let socket = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(socket))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender.send_request(request).await
}

fn upper() -> TransformStream<Bytes, Bytes> {
    TransformStream::map(|b: Bytes| Bytes::from(b.to_ascii_uppercase()))
}

#[tokio::test]
async fn a_stream_is_a_response_body_with_every_byte_chunked_or_with_a_length() {
    deadline(async {
        let data = Arc::new(pattern(4 << 20, 1));
        let d = data.clone();
        let addr = serve(move |request: Request<Incoming>| {
            let d = d.clone();
            async move {
                let stream = chunked(&d);
                let body = if request.uri().path() == "/length" {
                    StreamBody::with_length(&stream, d.len() as u64)?
                } else {
                    StreamBody::new(&stream)?
                };
                Ok(Response::new(body))
            }
        })
        .await;
        for (path, header) in [("/chunked", "transfer-encoding"), ("/length", "content-length")] {
            let request = Request::get(path)
                .header("host", "x")
                .body(http_body_util::Empty::<Bytes>::new());
            let response = send(addr, request.unwrap()).await;
            assert!(
                response.headers().contains_key(header),
                "{path}: {:?}",
                response.headers()
            );
            let got = response.into_body().collect().await.unwrap().to_bytes();
            assert!(got == data[..], "{path}: every byte, in order");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_streams_through_a_transform_into_the_response_both_ways_as_streams() {
    deadline(async {
        let addr = serve(|request: Request<Incoming>| async move {
            let upload = body_stream(request.into_body());
            let answer = upload.pipe_through(&upper(), PipeOptions::default())?;
            Ok(Response::new(StreamBody::new(&answer)?))
        })
        .await;
        let data = pattern(8 << 20, 2);
        let request = Request::post("/upper")
            .header("host", "x")
            .body(StreamBody::new(&chunked(&data)).unwrap())
            .unwrap();
        let response = send(addr, request).await;
        assert_eq!(response.status(), 200);
        let answer = read_all(&body_stream(response.into_body())).await.unwrap();
        assert!(answer == data.to_ascii_uppercase());
    })
    .await;
}

/// A source of `n` chunks of 64 KiB that counts the chunks taken and notes a cancel.
fn counting_source(n: usize) -> (ReadableStream<Bytes>, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let taken = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicBool::new(false));
    let (t, c) = (taken.clone(), cancelled.clone());
    let chunk = Bytes::from(vec![b'z'; 64 * 1024]);
    // High-water mark 0: a chunk is pulled only when a read asks for one.
    let stream = ReadableStream::with_strategy(
        SourceFn::new()
            .pull(move |controller| {
                if t.fetch_add(1, Ordering::SeqCst) + 1 >= n {
                    controller.enqueue(chunk.clone())?;
                    return controller.close();
                }
                controller.enqueue(chunk.clone())
            })
            .cancel(move |_| c.store(true, Ordering::SeqCst)),
        CountQueuingStrategy::new(0.0),
    )
    .unwrap();
    (stream, taken, cancelled)
}

#[test]
fn a_stream_body_reads_its_stream_only_when_polled() {
    let (stream, taken, _) = counting_source(100);
    let mut body = StreamBody::new(&stream).unwrap();
    assert_eq!(taken.load(Ordering::SeqCst), 0, "nothing read before a poll");
    let mut cx = Context::from_waker(std::task::Waker::noop());
    for i in 1..=3 {
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => assert_eq!(frame.into_data().unwrap().len(), 64 * 1024),
            other => panic!("poll {i}: {other:?}"),
        }
        assert_eq!(taken.load(Ordering::SeqCst), i, "one chunk per poll");
    }
}

#[tokio::test]
async fn a_client_that_does_not_read_holds_the_response_stream_back() {
    deadline(async {
        let (stream, taken, _) = counting_source(8192); // 512 MiB
        let stream = Arc::new(parking_lot::Mutex::new(Some(stream)));
        let addr = serve(move |_| {
            let stream = stream.lock().take().unwrap();
            async move { Ok(Response::new(StreamBody::new(&stream)?)) }
        })
        .await;
        let request = Request::get("/")
            .header("host", "x")
            .body(http_body_util::Empty::<Bytes>::new());
        let response = send(addr, request.unwrap()).await;
        // Wait for the flow to stall while nobody reads the body.
        let (mut last, mut steady) = (0, 0);
        while steady < 5 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = taken.load(Ordering::SeqCst);
            steady = if now == last { steady + 1 } else { 0 };
            last = now;
        }
        assert!(
            last < 1024,
            "{last} chunks of 64 KiB taken while nobody reads: no backpressure"
        );
        let mut body = response.into_body();
        let mut got = 0usize;
        while let Some(frame) = body.frame().await {
            got += frame.unwrap().into_data().map_or(0, |d| d.len());
        }
        assert_eq!(got, 8192 * 64 * 1024);
    })
    .await;
}

#[tokio::test]
async fn a_client_that_disconnects_mid_upload_errors_the_incoming_stream_with_a_typed_error() {
    deadline(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let addr = serve(move |request: Request<Incoming>| {
            let tx = tx.clone();
            async move {
                let result = read_all(&body_stream(request.into_body())).await;
                tx.send(result).unwrap();
                Ok(Response::new(StreamBody::new(&ReadableStream::from_iter(
                    Vec::<Bytes>::new(),
                ))?))
            }
        })
        .await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n")
            .await
            .unwrap();
        client.write_all(&[b'q'; 1000]).await.unwrap();
        drop(client); // gone with 999,000 bytes unsent
        let e = rx.recv().await.unwrap().unwrap_err();
        let body_error = e.reason::<BodyError>().expect("a BodyError reason");
        let hyper_error = body_error
            .downcast_ref::<hyper::Error>()
            .expect("hyper's error inside");
        // hyper's body error, caused by an unexpected end of the connection.
        let cause = std::error::Error::source(hyper_error)
            .and_then(|c| c.downcast_ref::<std::io::Error>())
            .map(std::io::Error::kind);
        assert_eq!(cause, Some(std::io::ErrorKind::UnexpectedEof), "{hyper_error:?}");
    })
    .await;
}

#[tokio::test]
async fn a_client_that_goes_away_mid_response_cancels_the_source() {
    deadline(async {
        let (stream, taken, cancelled) = counting_source(1 << 20); // 64 GiB: never finishes
        let stream = Arc::new(parking_lot::Mutex::new(Some(stream)));
        let addr = serve(move |_| {
            let stream = stream.lock().take().unwrap();
            async move { Ok(Response::new(StreamBody::new(&stream)?)) }
        })
        .await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut some = vec![0u8; 256 * 1024];
        client.read_exact(&mut some).await.unwrap();
        assert!(some.starts_with(b"HTTP/1.1 200 OK"));
        drop(client);
        while !cancelled.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let at_cancel = taken.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            taken.load(Ordering::SeqCst),
            at_cancel,
            "nothing pulled after the cancel"
        );
    })
    .await;
}

#[tokio::test]
async fn a_stream_that_errors_mid_response_is_an_error_for_the_client_not_a_clean_end() {
    deadline(async {
        let addr = serve(|_| async move {
            let mut left = 5;
            let stream = ReadableStream::new(SourceFn::new().pull(move |c| {
                left -= 1;
                if left == 0 {
                    c.error(StreamError::user("the database went away"));
                    return Ok(());
                }
                c.enqueue(Bytes::from_static(b"row\n"))
            }))?;
            Ok(Response::new(StreamBody::new(&stream)?))
        })
        .await;
        let request = Request::get("/")
            .header("host", "x")
            .body(http_body_util::Empty::<Bytes>::new());
        // The failure comes before the head was flushed (the request fails) or after (the body
        // does): either way an incomplete message, never a complete one.
        match try_send(addr, request.unwrap()).await {
            Err(hyper_error) => assert!(hyper_error.is_incomplete_message(), "{hyper_error:?}"),
            Ok(response) => {
                let e = read_all(&body_stream(response.into_body())).await.unwrap_err();
                let hyper_error = e
                    .reason::<BodyError>()
                    .unwrap()
                    .downcast_ref::<hyper::Error>()
                    .unwrap();
                assert!(hyper_error.is_incomplete_message(), "{hyper_error:?}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn trailers_and_errors_of_any_body_are_kept() {
    deadline(async {
        // A body with data, then trailers.
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-checksum", "abc".parse().unwrap());
        let frames = vec![
            Ok::<_, Infallible>(http_body::Frame::data(Bytes::from_static(b"data"))),
            Ok(http_body::Frame::trailers(trailers)),
        ];
        let body = http_body_util::StreamBody::new(futures::stream::iter(frames));
        let (stream, got) = body_stream_with_trailers(body);
        assert_eq!(read_all(&stream).await.unwrap(), b"data");
        assert_eq!(got.get().unwrap()["x-checksum"], "abc");
        // A StreamBody's own error comes back as that very error, not wrapped.
        let original = StreamError::user("boom");
        let o = original.clone();
        let failing = ReadableStream::<Bytes>::new(SourceFn::new().start(move |c| {
            c.error(o.clone());
            Ok(())
        }))
        .unwrap();
        let e = read_all(&body_stream(StreamBody::new(&failing).unwrap()))
            .await
            .unwrap_err();
        assert!(StreamError::same(&e, &original));
    })
    .await;
}

#[tokio::test]
async fn a_server_that_does_not_read_the_upload_holds_the_clients_stream_back() {
    deadline(async {
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let go_rx = Arc::new(parking_lot::Mutex::new(Some(go_rx)));
        let addr = serve(move |request: Request<Incoming>| {
            let go = go_rx.lock().take().unwrap();
            async move {
                let upload = body_stream(request.into_body());
                go.await.unwrap(); // read nothing until told
                let n = read_all(&upload).await?.len();
                Ok(Response::new(StreamBody::new(&ReadableStream::from_iter([
                    Bytes::from(n.to_string()),
                ]))?))
            }
        })
        .await;
        let (stream, taken, _) = counting_source(8192); // 512 MiB
        let request = Request::post("/")
            .header("host", "x")
            .body(StreamBody::new(&stream).unwrap());
        let response = tokio::spawn(send(addr, request.unwrap()));
        let (mut last, mut steady) = (0, 0);
        while steady < 5 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = taken.load(Ordering::SeqCst);
            steady = if now == last { steady + 1 } else { 0 };
            last = now;
        }
        assert!(
            last < 1024,
            "{last} chunks of 64 KiB sent while the server reads nothing"
        );
        go_tx.send(()).unwrap();
        let body = response
            .await
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body, (8192 * 64 * 1024).to_string());
    })
    .await;
}
