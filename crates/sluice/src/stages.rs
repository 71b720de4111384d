//! Each stage as a `TransformStream<Bytes, Bytes>`: the codecs, the text decoder and the SHA-256
//! tap come from `sluicegate-transforms`; lines, grep, head, throttle and tee are small
//! transformers here, each bounded by byte-length strategies on both sides.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use regex::bytes::Regex;
use sluicegate::transform::{TransformStream, TransformStreamDefaultController, Transformer};
use sluicegate::{ByteLengthQueuingStrategy, Completion, StreamError, WritableStreamDefaultWriter};
use sluicegate_transforms::compression::{compress_level, decompress, Format};
use sluicegate_transforms::hash::{tap, Algorithm, DigestHandle};
use sluicegate_transforms::lines::LineSplitter;
use sluicegate_transforms::text::{DecodeOptions, TextDecoder};
use sluicegate_transforms::TransformError;

use crate::spec::{Head, Stage};

/// The high-water mark of both sides of the stages made here, in bytes.
pub const STAGE_HWM: f64 = 256.0 * 1024.0;
/// The longest line `lines` and `grep` accept, in bytes.
pub const MAX_LINE: usize = 16 << 20;

/// A stage ready to pipe through, with what it reports at the end.
pub struct Built {
    /// The stage.
    pub transform: TransformStream<Bytes, Bytes>,
    /// `sha256`'s digest, once the stream has ended.
    pub digest: Option<DigestHandle>,
}

/// Makes the transform stream for `stage`; `tee` opens its file here.
pub async fn build(stage: &Stage) -> Result<Built, String> {
    let plain = |transform| Built {
        transform,
        digest: None,
    };
    let stream_err = |e: StreamError| e.to_string();
    Ok(match stage {
        Stage::Gzip(level) => plain(compress_level(Format::Gzip, *level).map_err(stream_err)?),
        Stage::Gunzip => plain(decompress(Format::Gzip).map_err(stream_err)?),
        Stage::Zstd(level) => plain(compress_level(Format::Zstd, *level).map_err(stream_err)?),
        Stage::Unzstd => plain(decompress(Format::Zstd).map_err(stream_err)?),
        Stage::Decode(label) => {
            let decoder = TextDecoder::new(label, DecodeOptions::default())
                .map_err(|_| format!("decode:{label}: unknown encoding"))?;
            plain(bytes_transform(Decode(decoder)))
        }
        Stage::Lines => plain(bytes_transform(Lines(LineSplitter::new(MAX_LINE)))),
        Stage::Grep(pattern) => {
            let regex = Regex::new(pattern).map_err(|e| format!("grep:{pattern}: {e}"))?;
            plain(bytes_transform(Grep {
                lines: LineSplitter::new(MAX_LINE),
                regex,
            }))
        }
        Stage::Head(head) => plain(bytes_transform(HeadTransformer { left: *head })),
        Stage::Sha256 => {
            let (transform, digest) = tap(Algorithm::Sha256);
            Built {
                transform,
                digest: Some(digest),
            }
        }
        Stage::Throttle(rate) => plain(bytes_transform(Throttle {
            rate: *rate as f64,
            start: None,
            sent: 0,
        })),
        Stage::Tee(path) => {
            let file = sluicegate::io::file_sink(path)
                .await
                .map_err(|e| format!("tee:{}: {}", path.display(), crate::report::io_message(&e)))?;
            let writer = file.get_writer().map_err(stream_err)?;
            plain(bytes_transform(Tee {
                writer: Arc::new(writer),
            }))
        }
    })
}

fn bytes_transform(t: impl Transformer<Bytes, Bytes>) -> TransformStream<Bytes, Bytes> {
    TransformStream::with_strategies(
        t,
        ByteLengthQueuingStrategy::new(STAGE_HWM),
        ByteLengthQueuingStrategy::new(STAGE_HWM),
    )
    .expect("valid strategies")
}

fn enqueue(c: &TransformStreamDefaultController<Bytes>, chunk: Bytes) -> Completion {
    if chunk.is_empty() {
        return Completion::ok();
    }
    c.enqueue(chunk).into()
}

/// `decode:ENCODING`: text in that encoding to UTF-8.
struct Decode(TextDecoder);

impl Transformer<Bytes, Bytes> for Decode {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        match self.0.decode(&chunk, true) {
            Ok(text) => enqueue(c, Bytes::from(text)),
            Err(e) => Completion::err(e.into()),
        }
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        match self.0.decode(&[], false) {
            Ok(text) => enqueue(c, Bytes::from(text)),
            Err(e) => Completion::err(e.into()),
        }
    }
}

fn with_newline(line: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(line.len() + 1);
    out.extend_from_slice(line);
    out.extend_from_slice(b"\n");
    out.freeze()
}

/// `lines`: one chunk per line, each ending in `\n` (a CRLF becomes LF; a last line without a
/// terminator gets one).
struct Lines(LineSplitter);

impl Transformer<Bytes, Bytes> for Lines {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        self.0
            .split(chunk, |line, _| -> Result<(), StreamError> {
                c.enqueue(with_newline(&line))
            })
            .into()
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        match self.0.finish() {
            Ok(Some((line, _))) => c.enqueue(with_newline(&line)).into(),
            Ok(None) => Completion::ok(),
            Err(e) => Completion::err(e.into()),
        }
    }
}

/// `grep:PATTERN`: the lines that match, each ending in `\n`, gathered into one chunk per input
/// chunk.
struct Grep {
    lines: LineSplitter,
    regex: Regex,
}

impl Transformer<Bytes, Bytes> for Grep {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        let mut out = BytesMut::new();
        let regex = &self.regex;
        let split = self.lines.split(chunk, |line, _| -> Result<(), TransformError> {
            if regex.is_match(&line) {
                out.extend_from_slice(&line);
                out.extend_from_slice(b"\n");
            }
            Ok(())
        });
        match split {
            Ok(()) => enqueue(c, out.freeze()),
            Err(e) => Completion::err(e.into()),
        }
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        match self.lines.finish() {
            Ok(Some((line, _))) if self.regex.is_match(&line) => enqueue(c, with_newline(&line)),
            Ok(_) => Completion::ok(),
            Err(e) => Completion::err(e.into()),
        }
    }
}

/// `head:N` / `head:Nc`: passes the first N lines or bytes, then terminates the stream: the
/// readable side closes (the sink ends normally) and the stages upstream are cancelled, as
/// `head` closing its input stops a shell pipeline.
struct HeadTransformer {
    left: Head,
}

impl Transformer<Bytes, Bytes> for HeadTransformer {
    fn start(&mut self, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        if matches!(self.left, Head::Lines(0) | Head::Bytes(0)) {
            c.terminate();
        }
        Completion::ok()
    }

    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        let (keep, done) = match &mut self.left {
            Head::Bytes(n) => {
                let keep = (*n).min(chunk.len() as u64) as usize;
                *n -= keep as u64;
                (keep, *n == 0)
            }
            Head::Lines(n) => {
                let mut keep = chunk.len();
                let mut done = false;
                for nl in memchr::memchr_iter(b'\n', &chunk) {
                    *n -= 1;
                    if *n == 0 {
                        keep = nl + 1;
                        done = true;
                        break;
                    }
                }
                (keep, done)
            }
        };
        if let Err(e) = c.enqueue(chunk.slice(..keep)) {
            return Completion::err(e);
        }
        if done {
            c.terminate();
        }
        Completion::ok()
    }
}

/// `throttle:RATE`: passes bytes so that the bytes sent so far never exceed RATE bytes per
/// second since the first chunk.
///
/// A chunk goes on in pieces of at most a tenth of a second's worth of bytes (at least one byte),
/// each held until it is due, not whole once its last byte is due: at 1 B/s a 1 KiB chunk would
/// otherwise hold its first byte for 17 minutes, and `head:1c` after it would wait that long. A
/// piece the readable side refuses (the stream was cancelled or terminated downstream) ends the
/// chunk at once.
struct Throttle {
    rate: f64,
    start: Option<Instant>,
    sent: u64,
}

impl Throttle {
    /// The size of the pieces a chunk is sent in.
    fn piece_len(&self) -> usize {
        ((self.rate / 10.0) as usize).max(1)
    }
}

/// When `sent` bytes are due at `rate` bytes per second from `start` (far in the future if that
/// overflows).
fn due(start: Instant, sent: u64, rate: f64) -> Instant {
    Duration::try_from_secs_f64(sent as f64 / rate)
        .ok()
        .and_then(|d| start.checked_add(d))
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86_400))
}

impl Transformer<Bytes, Bytes> for Throttle {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        let start = *self.start.get_or_insert_with(Instant::now);
        let (rate, mut sent, piece_len) = (self.rate, self.sent, self.piece_len());
        self.sent += chunk.len() as u64;
        let c = c.clone();
        Completion::future(async move {
            let mut rest = chunk;
            while !rest.is_empty() {
                let piece = rest.split_to(piece_len.min(rest.len()));
                sent += piece.len() as u64;
                tokio::time::sleep_until(due(start, sent, rate).into()).await;
                c.enqueue(piece)?;
            }
            Ok(())
        })
    }
}

/// `tee:PATH`: writes each chunk to the file, then passes it on; the file is closed when the
/// stream ends and aborted when it fails.
struct Tee {
    writer: Arc<WritableStreamDefaultWriter<Bytes>>,
}

impl Transformer<Bytes, Bytes> for Tee {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        let writer = self.writer.clone();
        let c = c.clone();
        Completion::future(async move {
            writer.ready().await?;
            let written = writer.write(chunk.clone());
            c.enqueue(chunk)?;
            written.await
        })
    }

    fn flush(&mut self, _: &TransformStreamDefaultController<Bytes>) -> Completion {
        let writer = self.writer.clone();
        Completion::future(async move { writer.close().await })
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        let writer = self.writer.clone();
        Completion::future(async move {
            let _ = writer.abort(reason).await;
            Ok(())
        })
    }
}
