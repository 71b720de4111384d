//! What the `server` and `client` examples share: the upper-casing service, the text they send,
//! and the peak RSS they print. (Each example uses part of it.)
#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sluicegate::transform::TransformerFn;
use sluicegate::{
    PipeOptions, ReadableStream, StreamError, TransformStream, TransformStreamDefaultController,
};
use sluicegate_http::{body_stream, StreamBody};

/// The text the client sends, repeated: lower case, so that the answer is checkable.
pub const LINE: &[u8] = b"the quick brown fox jumps over the lazy dog, again and again\n";

/// A chunk of 64 KiB of [`LINE`]s, the one at `offset` bytes into the repeated text.
pub fn chunk_at(offset: u64) -> Bytes {
    let start = (offset % LINE.len() as u64) as usize;
    LINE.iter()
        .cycle()
        .skip(start)
        .take(64 * 1024)
        .copied()
        .collect::<Vec<u8>>()
        .into()
}

/// `total` bytes of repeated [`LINE`]s as a readable stream of 64 KiB chunks, made as they are
/// read (high-water mark 0: nothing is made ahead of the reader).
pub fn generated(total: u64) -> ReadableStream<Bytes> {
    // The chunk boundaries fall at the same place in the text every 64 KiB * LINE.len() bytes,
    // so a few distinct chunks are made once and handed out again (cloning `Bytes` is free).
    let period = LINE.len() as u64;
    let chunks: Vec<Bytes> = (0..period).map(|i| chunk_at(i * 64 * 1024)).collect();
    let count = total.div_ceil(64 * 1024);
    ReadableStream::from_iter((0..count).map(move |i| {
        let chunk = chunks[(i % period) as usize].clone();
        let left = total - i * 64 * 1024;
        if left < chunk.len() as u64 {
            chunk.slice(..left as usize)
        } else {
            chunk
        }
    }))
}

/// The server's transform: every chunk upper-cased; at the end of the stream it prints how many
/// bytes went through and the peak RSS so far.
pub fn upper() -> TransformStream<Bytes, Bytes> {
    let counted = Arc::new(AtomicU64::new(0));
    let c = counted.clone();
    let transformer = TransformerFn::new(
        move |chunk: Bytes, controller: &TransformStreamDefaultController<Bytes>| {
            c.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            controller.enqueue(Bytes::from(chunk.to_ascii_uppercase()))
        },
    )
    .flush(move |_: &TransformStreamDefaultController<Bytes>| {
        eprintln!(
            "server: {} MiB through the transform, peak RSS {:.1} MiB",
            counted.load(Ordering::Relaxed) >> 20,
            peak_rss_mib()
        );
    });
    TransformStream::new(transformer).expect("a transformer with default strategies")
}

/// `POST /upper`: the request body, streamed through [`upper`] into the response body.
/// Anything else: 404.
pub async fn handle(request: Request<Incoming>) -> Result<Response<StreamBody>, StreamError> {
    if request.method() != hyper::Method::POST || request.uri().path() != "/upper" {
        let empty = ReadableStream::from_iter(Vec::<Bytes>::new());
        let mut response = Response::new(StreamBody::new(&empty)?);
        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
        return Ok(response);
    }
    let upload = body_stream(request.into_body());
    let answer = upload.pipe_through(&upper(), PipeOptions::default())?;
    Ok(Response::new(StreamBody::new(&answer)?))
}

/// Serves [`handle`] on every connection `listener` accepts, with hyper's HTTP/1 server.
pub async fn serve(listener: tokio::net::TcpListener) -> Infallible {
    loop {
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(e) => {
                eprintln!("server: accept failed: {e}");
                continue;
            }
        };
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), hyper::service::service_fn(handle))
                .await;
            if let Err(e) = served {
                eprintln!("server: connection ended with an error: {e}");
            }
        });
    }
}

/// This process's peak resident set size in MiB (`VmHWM`), 0 where `/proc` is missing.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
