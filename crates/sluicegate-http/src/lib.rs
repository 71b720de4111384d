//! # sluicegate-http
//!
//! HTTP bodies as [sluicegate] streams and back, on `http-body` 1, so they plug into
//! hyper 1 and everything built on it (axum, reqwest, tonic):
//!
//! | from | to | how |
//! |---|---|---|
//! | `ReadableStream<Bytes>` | a request or response body | [`StreamBody`] (`impl http_body::Body`) |
//! | an incoming body (`hyper::body::Incoming`, any `http_body::Body`) | `ReadableStream<Bytes>` | [`body_stream`] |
//!
//! Both ways keep backpressure: a [`StreamBody`] reads its stream only when the HTTP library
//! polls it, which it does only when it can send; a [`body_stream`] polls the body only when the
//! stream is read. So a server that pipes an upload through a transform into its response holds
//! a few chunks at a time, whatever the size of the upload, and a slow client slows the upload
//! (the `server` and `client` examples stream gigabytes that way in a few MiB).
//!
//! An upper-casing echo handler for hyper's `service_fn`:
//!
//! ```
//! use bytes::Bytes;
//! use hyper::body::Incoming;
//! use sluicegate::{PipeOptions, StreamError, TransformStream};
//! use sluicegate_http::{body_stream, StreamBody};
//!
//! async fn upper(request: hyper::Request<Incoming>) -> Result<hyper::Response<StreamBody>, StreamError> {
//!     let upload = body_stream(request.into_body());
//!     let upper = TransformStream::map(|chunk: Bytes| Bytes::from(chunk.to_ascii_uppercase()));
//!     let answer = upload.pipe_through(&upper, PipeOptions::default())?;
//!     Ok(hyper::Response::new(StreamBody::new(&answer)?))
//! }
//! # let _ = hyper::service::service_fn(upper);
//! ```
//!
//! Errors stay typed both ways: a body that fails (a client that disconnects mid-upload) errors
//! the stream with a [`BodyError`] reason carrying hyper's error; a stream that errors while it is
//! sent makes hyper abort the message, so the peer sees an incomplete body, never a clean end.

#![warn(missing_docs)]

mod incoming;
mod outgoing;

pub use incoming::{body_stream, body_stream_with_trailers, BodyError, BodySource, Trailers};
pub use outgoing::StreamBody;
