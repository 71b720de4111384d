//! Opening the ends of a pipeline: sources as `ReadableStream<Bytes>`, sinks as
//! `WritableStream<Bytes>`, on `sluicegate::io` (files, stdio, TCP) and `sluicegate-http`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use sluicegate::io::{self, tcp};
use sluicegate::readable::{ReadableStream, ReadableStreamDefaultController, SourceFn};
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::ByteLengthQueuingStrategy;

use crate::report::io_message;
use crate::spec::{Sink, Source};

/// Chunk size of the sources, in bytes.
pub const CHUNK: usize = 64 * 1024;
/// High-water mark of generated data and of the `null` sink, in bytes.
pub const HWM: f64 = 256.0 * 1024.0;

/// Opens `source`. Errors are the message after `sluice: `.
pub async fn open_source(source: &Source) -> Result<ReadableStream<Bytes>, String> {
    match source {
        Source::File(path) => io::file_source(path, CHUNK)
            .await
            .map_err(|e| format!("{}: {}", path.display(), io_message(&e))),
        Source::Stdin => Ok(io::stdin_with_chunk_size(CHUNK)),
        Source::Tcp(addr) => {
            let conn = tcp::connect(addr.as_str())
                .await
                .map_err(|e| format!("tcp:{addr}: {}", io_message(&e)))?;
            let (readable, writable) = conn.into_parts();
            // Nothing to send: half-close, so the peer sees the end of our side.
            drop(writable.close());
            Ok(readable)
        }
        Source::Http(url) => http_get(url).await.map_err(|e| format!("{url}: {e}")),
        Source::Gen(size) => Ok(generate(*size)),
    }
}

/// Opens `sink`.
pub async fn open_sink(sink: &Sink) -> Result<WritableStream<Bytes>, String> {
    match sink {
        Sink::File(path) => io::file_sink(path)
            .await
            .map_err(|e| format!("{}: {}", path.display(), io_message(&e))),
        Sink::Stdout => Ok(io::stdout()),
        Sink::Tcp(addr) => {
            let conn = tcp::connect(addr.as_str())
                .await
                .map_err(|e| format!("tcp:{addr}: {}", io_message(&e)))?;
            Ok(conn.into_parts().1)
        }
        Sink::Null => Ok(WritableStream::with_strategy(
            SinkFn::new().write(|_: Bytes, _| {}),
            ByteLengthQueuingStrategy::new(HWM),
        )
        .expect("a valid strategy")),
    }
}

/// `gen:SIZE`: `size` bytes of log-like text in 64 KiB chunks, sliced without a copy from one
/// 1 MiB block made at the start (far beyond gzip's 32 KiB window, so it compresses like real
/// logs, about 4:1).
pub fn generate(size: u64) -> ReadableStream<Bytes> {
    let block = Arc::new(log_block(1 << 20));
    let mut left = size;
    let mut offset = 0usize;
    ReadableStream::with_strategy(
        SourceFn::new().pull(move |c: &ReadableStreamDefaultController<Bytes>| {
            if left == 0 {
                return c.close();
            }
            let n = (left.min(CHUNK as u64) as usize).min(block.len() - offset);
            let chunk = block.slice(offset..offset + n);
            offset = (offset + n) % block.len();
            left -= n as u64;
            c.enqueue(chunk)
        }),
        ByteLengthQueuingStrategy::new(HWM),
    )
    .expect("a valid strategy")
}

/// Varied log lines: timestamps, levels, paths, statuses, latencies and request ids from a small
/// xorshift generator (deterministic, so every run makes the same data).
fn log_block(size: usize) -> Bytes {
    use std::fmt::Write as _;
    const LEVELS: [&str; 6] = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
    const PATHS: [&str; 6] = [
        "/api/items",
        "/api/items/search",
        "/login",
        "/static/app.js",
        "/api/orders",
        "/health",
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = String::with_capacity(size + 256);
    let mut second = 0u64;
    while text.len() < size {
        let r = next();
        second += r % 3;
        let _ = writeln!(
            text,
            "2026-12-05T{:02}:{:02}:{:02}Z {:5} {} {} {} {}ms req={:016x}",
            (second / 3600) % 24,
            (second / 60) % 60,
            second % 60,
            LEVELS[(r >> 8) as usize % LEVELS.len()],
            ["GET", "GET", "POST", "PUT"][(r >> 16) as usize % 4],
            PATHS[(r >> 20) as usize % PATHS.len()],
            [200, 200, 200, 201, 304, 404, 500][(r >> 24) as usize % 7],
            (r >> 32) % 900,
            next(),
        );
    }
    text.truncate(size);
    Bytes::from(text)
}

/// `GET url` over HTTP/1.1 with hyper's client; the body as a readable byte stream.
async fn http_get(url: &str) -> Result<ReadableStream<Bytes>, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
    let host = uri.host().ok_or("no host in the URL")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| io_message(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let authority = uri.authority().map_or(host.clone(), |a| a.to_string());
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = http::Request::get(path)
        .header(http::header::HOST, authority)
        .header(
            http::header::USER_AGENT,
            concat!("sluice/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "HTTP {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .trim_end()
        .to_string());
    }
    Ok(sluicegate_http::body_stream(response.into_body()))
}
