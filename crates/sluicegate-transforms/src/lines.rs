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

/// A transformer from bytes to lines made by `make` (which may reject a line).
struct Lines<O> {
    splitter: LineSplitter,
    make: fn(Bytes, u64) -> Result<O, TransformError>,
}

impl<O: Send + 'static> Transformer<Bytes, O> for Lines<O> {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<O>) -> Completion {
        let make = self.make;
        // The lines of one chunk are no bigger than the chunk: they are enqueued together.
        self.splitter
            .split(chunk, |line, n| c.enqueue(make(line, n)?))
            .into()
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<O>) -> Completion {
        match self.splitter.finish() {
            Ok(Some((line, n))) => (|| c.enqueue((self.make)(line, n)?))().into(),
            Ok(None) => Completion::ok(),
            Err(e) => Completion::err(e.into()),
        }
    }
}

fn stream<O: Send + 'static>(
    max: usize,
    make: fn(Bytes, u64) -> Result<O, TransformError>,
    size: fn(&O) -> f64,
) -> TransformStream<Bytes, O> {
    TransformStream::with_strategies(
        Lines {
            splitter: LineSplitter::new(max),
            make,
        },
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
        QueuingStrategy::with_size(MAX_CHUNK as f64, size),
    )
    .expect("valid strategies")
}

/// Lines as `String`s; a line that is not UTF-8 errors the stream
/// ([`TransformError::InvalidUtf8`]), one longer than `max` bytes too
/// ([`TransformError::LineTooLong`]).
pub fn lines(max: usize) -> TransformStream<Bytes, String> {
    stream(
        max,
        |line, n| {
            std::str::from_utf8(&line)
                .map(str::to_owned)
                .map_err(|_| TransformError::InvalidUtf8 { line: n })
        },
        |s: &String| s.len() as f64,
    )
}

/// Lines as `Bytes`, sliced from the input without a copy where a line lies within one chunk.
pub fn byte_lines(max: usize) -> TransformStream<Bytes, Bytes> {
    stream(max, |line, _| Ok(line), |b: &Bytes| b.len() as f64)
}
