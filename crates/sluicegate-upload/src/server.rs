//! The server: one hyper HTTP/1 connection task per client, one stream pipeline per upload.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sha2::Digest as _;
use sluicegate::transform::{TransformStream, TransformStreamDefaultController, TransformerFn};
use sluicegate::{ByteLengthQueuingStrategy, PipeOptions, StreamError};
use sluicegate_transforms::hash::{tap, Algorithm};
use tokio::net::TcpListener;

/// How the server handles a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Streamed to disk through the SHA-256 tap, a few chunks in memory at a time.
    Stream,
    /// Collected whole in memory, then hashed and written: the naive server, for comparison.
    Buffer,
}

/// What the server needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where uploads are written.
    pub dir: PathBuf,
    /// The longest body accepted, in bytes; a longer one is answered with 413.
    pub max_body: u64,
    /// Streamed or buffered.
    pub mode: Mode,
}

/// The high-water mark of the file sink, in bytes.
const FILE_HWM: usize = 128 * 1024;

/// The most hyper buffers from a connection (its default is about 400 KiB), in bytes.
const READ_BUFFER: usize = 64 * 1024;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// Accepts connections on `listener` and serves each on a task of its own, until the listener
/// fails.
pub async fn serve(listener: TcpListener, config: Arc<Config>) {
    while let Ok((stream, _)) = listener.accept().await {
        let config = config.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let config = config.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(request, &config).await) }
            });
            // A client that goes away mid-request ends its connection with an error; the upload
            // has cleaned up after itself already.
            let _ = hyper::server::conn::http1::Builder::new()
                .max_buf_size(READ_BUFFER)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Why an upload was refused.
#[derive(Debug)]
struct TooLarge;

fn answer(status: StatusCode, text: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(text.into()));
    *response.status_mut() = status;
    response
}

/// The file name a request asks for: its path's last segment when that is a plain name,
/// `upload-N` otherwise.
fn file_name(request: &Request<Incoming>, n: u64) -> String {
    let last = request.uri().path().rsplit('/').next().unwrap_or("");
    let plain = !last.is_empty()
        && !last.starts_with('.')
        && last
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if plain {
        last.to_string()
    } else {
        format!("upload-{n}")
    }
}

async fn handle(request: Request<Incoming>, config: &Config) -> Response<Full<Bytes>> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.max_body) {
        // Refused before a byte of the body is read; hyper closes the connection rather than
        // read the rest.
        let mut r = answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "413 the body is larger than allowed\n",
        );
        r.headers_mut()
            .insert(header::CONNECTION, "close".parse().expect("a header value"));
        return r;
    }
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = file_name(&request, n);
    let partial = config.dir.join(format!(".partial-{n}-{name}"));
    let result = match config.mode {
        Mode::Stream => stream_to_disk(request.into_body(), &partial, config.max_body).await,
        Mode::Buffer => buffer_to_disk(request.into_body(), &partial, config.max_body).await,
    };
    match result {
        Ok(hex) => match tokio::fs::rename(&partial, config.dir.join(&name)).await {
            Ok(()) => answer(StatusCode::OK, format!("{hex}\n")),
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                answer(StatusCode::INTERNAL_SERVER_ERROR, format!("500 {e}\n"))
            }
        },
        Err(e) => {
            let _ = tokio::fs::remove_file(&partial).await;
            let mut r = if e.reason::<TooLarge>().is_some() {
                answer(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "413 the body is larger than allowed\n",
                )
            } else {
                answer(
                    StatusCode::BAD_REQUEST,
                    format!("400 the upload failed: {}\n", e.message()),
                )
            };
            r.headers_mut()
                .insert(header::CONNECTION, "close".parse().expect("a header value"));
            r
        }
    }
}

/// body → limit → SHA-256 tap → file: the digest once the file is closed.
async fn stream_to_disk(body: Incoming, path: &std::path::Path, max: u64) -> Result<String, StreamError> {
    let file = sluicegate::io::file_sink_with_high_water_mark(path, FILE_HWM)
        .await
        .map_err(StreamError::from)?;
    let (sha256, digest) = tap(Algorithm::Sha256);
    let mut seen = 0u64;
    let limit = TransformStream::with_strategies(
        TransformerFn::new(move |chunk: Bytes, c: &TransformStreamDefaultController<Bytes>| {
            seen += chunk.len() as u64;
            if seen > max {
                return Err(StreamError::user(TooLarge));
            }
            c.enqueue(chunk)
        }),
        ByteLengthQueuingStrategy::new(16.0 * 1024.0),
        ByteLengthQueuingStrategy::new(16.0 * 1024.0),
    )?;
    sluicegate_http::body_stream(body)
        .pipe_through(&limit, PipeOptions::default())?
        .pipe_through(&sha256, PipeOptions::default())?
        .pipe_to(&file, PipeOptions::default())
        .await?;
    Ok(digest.await?.to_hex())
}

/// The naive server: the whole body in memory, then hashed and written.
async fn buffer_to_disk(body: Incoming, path: &std::path::Path, max: u64) -> Result<String, StreamError> {
    let limited = http_body_util::Limited::new(body, max as usize);
    let bytes = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(StreamError::user(TooLarge)),
        Err(e) => return Err(StreamError::user(e.to_string())),
    };
    let hex: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    tokio::fs::write(path, &bytes).await.map_err(StreamError::from)?;
    Ok(hex)
}
