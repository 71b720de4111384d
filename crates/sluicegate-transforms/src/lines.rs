//! Lines: bytes split at LF or CRLF, with a maximum line length that errors instead of
//! buffering forever (what `tokio_util::codec::LinesCodec::new_with_max_length` does for
//! `AsyncRead`s).
//!
//! A line ends at `\n`; a `\r` right before it is removed too. A last line without a newline is
//! still a line; an empty input gives no line. Memory holds at most one partial line (bounded
//! by the maximum) besides the chunk being split.
//!
//! ```
//! use bytes::Bytes;
//! use futures::StreamExt;
//! use sluicegate::{PipeOptions, ReadableStream};
//! use sluicegate_transforms::lines::lines;
//!
//! # futures::executor::block_on(async {
//! let input = ReadableStream::from_iter([Bytes::from("GET /\r\nHost: a"), Bytes::from("\r\n\r\nbody")]);
//! let lines: Vec<String> = input
//!     .pipe_through(&lines(1024), PipeOptions::default())
//!     .unwrap()
//!     .values()
//!     .unwrap()
//!     .map(Result::unwrap)
//!     .collect()
//!     .await;
//! assert_eq!(lines, ["GET /", "Host: a", "", "body"]);
//! # });
//! ```
//!
//! Each line is one chunk with [`lines`] and [`byte_lines`]: simple to consume, but a stream
//! pays for every chunk it moves, and lines are short. [`line_batches`] and
//! [`byte_line_batches`] emit the complete lines of each input chunk together, as one
//! `Vec<String>` or `Vec<Bytes>` (the latter sliced from the input, without a copy): the same
//! lines, in the same order, with the same errors, for a fraction of the per-chunk cost.
//!
//! ```
//! use bytes::Bytes;
//! use futures::StreamExt;
//! use sluicegate::{PipeOptions, ReadableStream};
//! use sluicegate_transforms::lines::line_batches;
//!
//! # futures::executor::block_on(async {
//! let input = ReadableStream::from_iter([Bytes::from("a\nb\nc"), Bytes::from("d\ne\n")]);
//! let batches: Vec<Vec<String>> = input
//!     .pipe_through(&line_batches(1024), PipeOptions::default())
//!     .unwrap()
//!     .values()
//!     .unwrap()
//!     .map(Result::unwrap)
//!     .collect()
//!     .await;
//! assert_eq!(batches, [vec!["a", "b"], vec!["cd", "e"]]);
//! # });
//! ```

use bytes::{Bytes, BytesMut};
use sluicegate::transform::{TransformStreamDefaultController, Transformer};
use sluicegate::{ByteLengthQueuingStrategy, Completion, QueuingStrategy, TransformStream};

use crate::codec::MAX_CHUNK;
use crate::error::TransformError;

/// The line splitter under [`lines`], [`byte_lines`] and [`ndjson`](crate::ndjson): feed it
/// chunks, get complete lines (without their terminators) with their 1-based numbers.
#[derive(Debug)]
pub struct LineSplitter {
    partial: BytesMut,
    max: usize,
    line: u64,
}

impl LineSplitter {
    /// A splitter whose lines may be at most `max` bytes long (terminator excluded).
    pub fn new(max: usize) -> Self {
        LineSplitter {
            partial: BytesMut::new(),
            max,
            line: 0,
        }
    }

    fn too_long(&self) -> TransformError {
        TransformError::LineTooLong {
            max: self.max,
            line: self.line + 1,
        }
    }

    /// Splits `chunk`, calling `emit(line, number)` for each complete line.
    pub fn split<E: From<TransformError>>(
        &mut self,
        chunk: Bytes,
        mut emit: impl FnMut(Bytes, u64) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', &chunk) {
            let line = if self.partial.is_empty() {
                chunk.slice(start..nl)
            } else {
                if self.partial.len() + (nl - start) > self.max + 1 {
                    return Err(self.too_long().into());
                }
                self.partial.extend_from_slice(&chunk[start..nl]);
                self.partial.split().freeze()
            };
            start = nl + 1;
            let line = strip_cr(line);
            if line.len() > self.max {
                return Err(self.too_long().into());
            }
            self.line += 1;
            emit(line, self.line)?;
        }
        let rest = &chunk[start..];
        // One byte of slack: a '\r' that may turn out to end the line.
        if self.partial.len() + rest.len() > self.max + 1 {
            return Err(self.too_long().into());
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// Splits `chunk` like [`split`](Self::split), appending its complete lines to `out` as
    /// `String`s. A line that is not UTF-8 is [`TransformError::InvalidUtf8`]; the lines before
    /// it are in `out`.
    ///
    /// The complete lines of a chunk are checked as UTF-8 in one pass (a `\n` never falls inside
    /// a character), and copied straight from the chunk: no `Bytes` per line.
    pub fn split_strings(&mut self, chunk: &[u8], out: &mut Vec<String>) -> Result<(), TransformError> {
        let mut rest = chunk;
        if !self.partial.is_empty() {
            // The line begun in an earlier chunk.
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                return self.hold(rest);
            };
            if self.partial.len() + nl > self.max + 1 {
                return Err(self.too_long());
            }
            self.partial.extend_from_slice(&rest[..nl]);
            let line = self.partial.split();
            self.push_string(&line, out)?;
            rest = &rest[nl + 1..];
        }
        let whole = memchr::memrchr(b'\n', rest).map_or(0, |i| i + 1);
        let (body, tail) = rest.split_at(whole);
        match std::str::from_utf8(body) {
            Ok(text) => {
                let mut start = 0;
                for nl in memchr::memchr_iter(b'\n', body) {
                    let line = &text[start..nl];
                    start = nl + 1;
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    if line.len() > self.max {
                        return Err(self.too_long());
                    }
                    self.line += 1;
                    out.push(line.to_owned());
                }
            }
            // Line by line, to report the first fault in line order.
            Err(_) => {
                for line in body[..body.len() - 1].split(|b| *b == b'\n') {
                    self.push_string(line, out)?;
                }
            }
        }
        self.hold(tail)
    }

    /// Appends one complete line (its `\n` removed) to `out`, checked.
    fn push_string(&mut self, line: &[u8], out: &mut Vec<String>) -> Result<(), TransformError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.max {
            return Err(self.too_long());
        }
        let text =
            std::str::from_utf8(line).map_err(|_| TransformError::InvalidUtf8 { line: self.line + 1 })?;
        self.line += 1;
        out.push(text.to_owned());
        Ok(())
    }

    /// Keeps the start of a line that continues in the next chunk.
    fn hold(&mut self, tail: &[u8]) -> Result<(), TransformError> {
        // One byte of slack: a '\r' that may turn out to end the line.
        if self.partial.len() + tail.len() > self.max + 1 {
            return Err(self.too_long());
        }
        self.partial.extend_from_slice(tail);
        Ok(())
    }

    /// The end of the input: the last line as a `String`, if it had no newline.
    pub fn finish_string(&mut self) -> Result<Option<String>, TransformError> {
        match self.finish()? {
            None => Ok(None),
            Some((line, n)) => match String::from_utf8(Vec::from(line)) {
                Ok(s) => Ok(Some(s)),
                Err(_) => Err(TransformError::InvalidUtf8 { line: n }),
            },
        }
    }

    /// The end of the input: the last line, if it had no newline.
    pub fn finish(&mut self) -> Result<Option<(Bytes, u64)>, TransformError> {
        if self.partial.is_empty() {
            return Ok(None);
        }
        let line = strip_cr(self.partial.split().freeze());
        if line.len() > self.max {
            return Err(self.too_long());
        }
        self.line += 1;
        Ok(Some((line, self.line)))
    }
}

fn strip_cr(line: Bytes) -> Bytes {
    match line.last() {
        Some(b'\r') => line.slice(..line.len() - 1),
        _ => line,
    }
}

/// Lines as `Bytes` chunks, one each: [`byte_lines`].
struct ByteLines {
    splitter: LineSplitter,
}

impl Transformer<Bytes, Bytes> for ByteLines {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        // The lines of one chunk are no bigger than the chunk: they are enqueued together.
        self.splitter.split(chunk, |line, _| c.enqueue(line)).into()
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        match self.splitter.finish() {
            Ok(Some((line, _))) => c.enqueue(line).into(),
            Ok(None) => Completion::ok(),
            Err(e) => Completion::err(e.into()),
        }
    }
}

/// Lines as `String` chunks, one each: [`lines`].
struct StringLines {
    splitter: LineSplitter,
    /// The lines of the chunk at hand, kept for its capacity.
    batch: Vec<String>,
}

impl Transformer<Bytes, String> for StringLines {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<String>) -> Completion {
        let split = self.splitter.split_strings(&chunk, &mut self.batch);
        // The lines before a fault go out before the error, as they would line by line.
        // (A failed enqueue drops the rest: the drain empties the batch either way.)
        for line in self.batch.drain(..) {
            if let Err(e) = c.enqueue(line) {
                return Completion::err(e);
            }
        }
        split.map_err(Into::into).into()
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<String>) -> Completion {
        match self.splitter.finish_string() {
            Ok(Some(line)) => c.enqueue(line).into(),
            Ok(None) => Completion::ok(),
            Err(e) => Completion::err(e.into()),
        }
    }
}

/// The lines of each chunk as one `Vec<String>`: [`line_batches`].
struct StringBatches {
    splitter: LineSplitter,
}

impl Transformer<Bytes, Vec<String>> for StringBatches {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<Vec<String>>) -> Completion {
        let mut batch = Vec::new();
        let split = self.splitter.split_strings(&chunk, &mut batch);
        if !batch.is_empty() {
            if let Err(e) = c.enqueue(batch) {
                return Completion::err(e);
            }
        }
        split.map_err(Into::into).into()
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<Vec<String>>) -> Completion {
        match self.splitter.finish_string() {
            Ok(Some(line)) => c.enqueue(vec![line]).into(),
            Ok(None) => Completion::ok(),
            Err(e) => Completion::err(e.into()),
        }
    }
}

/// The lines of each chunk as one `Vec<Bytes>`: [`byte_line_batches`].
struct ByteBatches {
    splitter: LineSplitter,
}

impl Transformer<Bytes, Vec<Bytes>> for ByteBatches {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<Vec<Bytes>>) -> Completion {
        let mut batch = Vec::new();
        let split = self.splitter.split(chunk, |line, _| {
            batch.push(line);
            Ok::<(), TransformError>(())
        });
        if !batch.is_empty() {
            if let Err(e) = c.enqueue(batch) {
                return Completion::err(e);
            }
        }
        split.map_err(Into::into).into()
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<Vec<Bytes>>) -> Completion {
        match self.splitter.finish() {
            Ok(Some((line, _))) => c.enqueue(vec![line]).into(),
            Ok(None) => Completion::ok(),
            Err(e) => Completion::err(e.into()),
        }
    }
}

/// A lines stream over `transformer`: the writable side counts bytes, the readable side the
/// bytes of the lines its chunks hold, `size` of each.
fn stream<O: Send + 'static>(
    transformer: impl Transformer<Bytes, O>,
    size: fn(&O) -> f64,
) -> TransformStream<Bytes, O> {
    TransformStream::with_strategies(
        transformer,
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
        QueuingStrategy::with_size(MAX_CHUNK as f64, size),
    )
    .expect("valid strategies")
}

/// Lines as `String`s, one chunk each; a line that is not UTF-8 errors the stream
/// ([`TransformError::InvalidUtf8`]), one longer than `max` bytes too
/// ([`TransformError::LineTooLong`]).
pub fn lines(max: usize) -> TransformStream<Bytes, String> {
    stream(
        StringLines {
            splitter: LineSplitter::new(max),
            batch: Vec::new(),
        },
        |s: &String| s.len() as f64,
    )
}

/// Lines as `Bytes`, one chunk each, sliced from the input without a copy where a line lies
/// within one chunk.
pub fn byte_lines(max: usize) -> TransformStream<Bytes, Bytes> {
    stream(
        ByteLines {
            splitter: LineSplitter::new(max),
        },
        |b: &Bytes| b.len() as f64,
    )
}

/// The lines [`lines`] gives, batched: the lines each input chunk completes come out together
/// as one `Vec<String>` (an input chunk that completes no line makes no chunk). Same lines,
/// same order, same errors.
pub fn line_batches(max: usize) -> TransformStream<Bytes, Vec<String>> {
    stream(
        StringBatches {
            splitter: LineSplitter::new(max),
        },
        |b: &Vec<String>| b.iter().map(String::len).sum::<usize>() as f64,
    )
}

/// The lines [`byte_lines`] gives, batched as [`line_batches`] batches them: one `Vec<Bytes>`
/// per input chunk that completes a line, each line sliced from the input without a copy where
/// it lies within one chunk.
pub fn byte_line_batches(max: usize) -> TransformStream<Bytes, Vec<Bytes>> {
    stream(
        ByteBatches {
            splitter: LineSplitter::new(max),
        },
        |b: &Vec<Bytes>| b.iter().map(Bytes::len).sum::<usize>() as f64,
    )
}
