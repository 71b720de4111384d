//! A `ReadableStream<Bytes>` as an `http_body::Body`: a request or response body.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use sluicegate::readable::{ReadFuture, ReadableStream, ReadableStreamDefaultReader};
use sluicegate::StreamError;

/// A readable byte stream as an HTTP body (`impl http_body::Body`), for hyper, axum, reqwest or
/// anything else on `http-body` 1.
///
/// **Backpressure**: the stream is read only when the HTTP library polls the body, one chunk per
/// poll, and it polls only when it can send (the socket has room, the peer's HTTP/2 window is
/// open). A slow client therefore slows the stream's source, and memory stays bounded by the
/// stream's high-water marks plus the library's write buffer.
///
/// Chunks become data frames as they are (no copy); empty chunks are skipped. The stream's end is
/// the body's end; its error is the body's error (the HTTP library then aborts the message, so
/// the peer sees an incomplete body, never a clean end). Dropping the body before its end (the
/// peer went away, the request was abandoned) cancels the stream with an `AbortError`, so its
/// source stops.
///
/// Without a known length the message goes out chunked (HTTP/1.1); [`with_length`](Self::with_length)
/// states an exact length, sent as `Content-Length`.
///
/// ```
/// use bytes::Bytes;
/// use http_body::Body;
/// use sluicegate::ReadableStream;
/// use sluicegate_http::StreamBody;
///
/// let stream = ReadableStream::from_iter([Bytes::from_static(b"hello, "), Bytes::from_static(b"world")]);
/// let body = StreamBody::with_length(&stream, 12).unwrap();
/// assert_eq!(body.size_hint().exact(), Some(12));
/// let response = http::Response::new(body); // hand it to hyper
/// # drop(response);
/// ```
pub struct StreamBody {
    reader: ReadableStreamDefaultReader<Bytes>,
    /// The read in flight.
    pending: Option<ReadFuture<Bytes>>,
    /// The stream has ended or errored.
    done: bool,
    /// The exact length, when stated.
    length: Option<u64>,
}

impl StreamBody {
    /// A body that reads `stream`, locking it to a reader; a `TypeError` if it is locked already.
    pub fn new(stream: &ReadableStream<Bytes>) -> Result<Self, StreamError> {
        Ok(StreamBody {
            reader: stream.get_reader()?,
            pending: None,
            done: false,
            length: None,
        })
    }

    /// Like [`new`](Self::new), for a stream of exactly `length` bytes. The HTTP library sends the
    /// length up front and fails the message if the stream gives more or fewer bytes.
    pub fn with_length(stream: &ReadableStream<Bytes>, length: u64) -> Result<Self, StreamError> {
        let mut body = Self::new(stream)?;
        body.length = Some(length);
        Ok(body)
    }
}

impl TryFrom<ReadableStream<Bytes>> for StreamBody {
    type Error = StreamError;

    fn try_from(stream: ReadableStream<Bytes>) -> Result<Self, StreamError> {
        Self::new(&stream)
    }
}

impl Body for StreamBody {
    type Data = Bytes;
    type Error = StreamError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamError>>> {
        let this = self.get_mut();
        while !this.done {
            let read = this.pending.get_or_insert_with(|| this.reader.read());
            let result = ready!(Pin::new(read).poll(cx));
            this.pending = None;
            match result {
                Ok(Some(chunk)) if chunk.is_empty() => {}
                Ok(Some(chunk)) => return Poll::Ready(Some(Ok(Frame::data(chunk)))),
                Ok(None) => this.done = true,
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        match (self.done, self.length) {
            (true, _) => SizeHint::with_exact(0),
            (false, Some(n)) => SizeHint::with_exact(n),
            (false, None) => SizeHint::default(),
        }
    }
}

impl Drop for StreamBody {
    fn drop(&mut self) {
        if !self.done {
            // The cancel starts now (the source's cancel runs with it); its promise is not needed.
            drop(self.reader.cancel(StreamError::abort_error(
                "the HTTP body was dropped before its end",
            )));
        }
    }
}

impl std::fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamBody")
            .field("done", &self.done)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}
