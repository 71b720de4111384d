//! Any `http_body::Body` (hyper's `Incoming` above all) as a readable byte stream.

use std::error::Error;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http::HeaderMap;
use http_body::Body;
use parking_lot::Mutex;
use sluicegate::readable::{ReadableByteStreamController, ReadableStream, UnderlyingByteSource};
use sluicegate::{Completion, StreamError};

/// The error a body reported, as the reason of the [`StreamError`] that errors the stream made by
/// [`body_stream`] (`e.reason::<BodyError>()`). For hyper's `Incoming`, the inner error is a
/// `hyper::Error`: a peer that went away mid-body is `is_incomplete_message()`.
///
/// An error that is a [`StreamError`] already (a [`StreamBody`](crate::StreamBody)'s) is not
/// wrapped: the stream errors with that very error.
#[derive(Debug)]
pub struct BodyError(Box<dyn Error + Send + Sync>);

impl BodyError {
    /// The body's error.
    pub fn get_ref(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The body's error, if it is an `E`.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref()
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reading the HTTP body failed: {}", self.0)
    }
}

impl Error for BodyError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.0)
    }
}

fn stream_error(e: Box<dyn Error + Send + Sync>) -> StreamError {
    match e.downcast::<StreamError>() {
        Ok(e) => *e,
        Err(e) => StreamError::user(BodyError(e)),
    }
}

/// A body's trailers, once the stream made by [`body_stream_with_trailers`] has read them.
#[derive(Clone, Debug, Default)]
pub struct Trailers(Arc<Mutex<Option<HeaderMap>>>);

impl Trailers {
    /// The trailers received so far (all of them once the stream has ended), if any.
    pub fn get(&self) -> Option<HeaderMap> {
        self.0.lock().clone()
    }
}

/// The body, lent to one pull at a time, and whether the stream was cancelled meanwhile.
struct Slot<B> {
    body: Option<Pin<Box<B>>>,
    cancelled: bool,
}

/// An underlying byte source that reads an HTTP body one frame per pull. Most code wants
/// [`body_stream`].
pub struct BodySource<B> {
    slot: Arc<Mutex<Slot<B>>>,
    trailers: Trailers,
}

impl<B> BodySource<B> {
    /// A source over `body`.
    pub fn new(body: B) -> Self {
        BodySource {
            slot: Arc::new(Mutex::new(Slot {
                body: Some(Box::pin(body)),
                cancelled: false,
            })),
            trailers: Trailers::default(),
        }
    }

    /// Where the body's trailers land.
    pub fn trailers(&self) -> Trailers {
        self.trailers.clone()
    }
}

/// Gives the body back after a pull, unless the stream was cancelled meanwhile (then it drops).
fn give_back<B>(slot: &Mutex<Slot<B>>, body: Pin<Box<B>>) {
    let mut s = slot.lock();
    if !s.cancelled {
        s.body = Some(body);
    }
}

/// Closes the stream; a BYOB read waiting then completes, done, with its buffer.
fn close(c: &ReadableByteStreamController) -> Result<(), StreamError> {
    c.close()?;
    match c.byob_request() {
        Some(request) => request.respond(0),
        None => Ok(()),
    }
}

impl<B> UnderlyingByteSource for BodySource<B>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    fn pull(&mut self, controller: &ReadableByteStreamController) -> Completion {
        let Some(mut body) = self.slot.lock().body.take() else {
            return Completion::err(StreamError::type_error("the body is gone"));
        };
        let (slot, trailers, controller) = (self.slot.clone(), self.trailers.clone(), controller.clone());
        Completion::future(async move {
            loop {
                let frame = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await;
                let frame = match frame {
                    None => {
                        give_back(&slot, body);
                        return close(&controller);
                    }
                    Some(Err(e)) => return Err(stream_error(e.into())),
                    Some(Ok(frame)) => frame,
                };
                match frame.into_data() {
                    Ok(mut data) => {
                        if !data.has_remaining() {
                            continue;
                        }
                        // `Bytes` (hyper's data) is moved, not copied.
                        let chunk: Bytes = data.copy_to_bytes(data.remaining());
                        give_back(&slot, body);
                        return controller.enqueue(chunk);
                    }
                    Err(frame) => {
                        if let Ok(map) = frame.into_trailers() {
                            trailers.0.lock().get_or_insert_with(HeaderMap::new).extend(map);
                        }
                    }
                }
            }
        })
    }

    fn cancel(&mut self, _reason: StreamError) -> Completion {
        let body = {
            let mut s = self.slot.lock();
            s.cancelled = true;
            s.body.take()
        };
        drop(body);
        Completion::ok()
    }
}

/// An HTTP body as a readable byte stream: hyper's `hyper::body::Incoming` (a request's body in a
/// server, a response's in a client), or any `http_body::Body` whose data is a `Buf`.
///
/// High-water mark 0: a frame is read from the body only when the stream is read, so a consumer
/// that stops reading stops hyper reading the socket, and the peer's sending stalls (TCP's or
/// HTTP/2's flow control). Data frames become chunks as they are (hyper's `Bytes` are moved, not
/// copied); trailers are skipped (see [`body_stream_with_trailers`]). The body's end closes the
/// stream; its error (a peer that disconnected mid-body: hyper's incomplete message) errors it
/// with a [`BodyError`] reason. Cancelling the stream drops the body, which tells hyper that the
/// rest is not wanted.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use sluicegate_http::body_stream;
///
/// # futures::executor::block_on(async {
/// let stream = body_stream(Full::new(Bytes::from_static(b"a whole body")));
/// let reader = stream.get_reader().unwrap();
/// assert_eq!(&reader.read().await.unwrap().unwrap()[..], b"a whole body");
/// assert!(reader.read().await.unwrap().is_none());
/// # });
/// ```
pub fn body_stream<B>(body: B) -> ReadableStream<Bytes>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    ReadableStream::new_bytes(BodySource::new(body)).expect("a body source's start cannot fail")
}

/// Like [`body_stream`], keeping the body's trailers: read them from the [`Trailers`] once the
/// stream has ended.
pub fn body_stream_with_trailers<B>(body: B) -> (ReadableStream<Bytes>, Trailers)
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    let source = BodySource::new(body);
    let trailers = source.trailers();
    let stream = ReadableStream::new_bytes(source).expect("a body source's start cannot fail");
    (stream, trailers)
}
