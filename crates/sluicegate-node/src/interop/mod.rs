//! Interop: Node streams to and from the standard's streams ([`sluicegate::ReadableStream`],
//! [`sluicegate::WritableStream`]), Rust iterators and `futures::Stream`s, and (feature `tokio`)
//! tokio's `AsyncRead`/`AsyncWrite`. Every bridge keeps backpressure: nothing is read faster
//! than the other side takes it, so memory stays bounded by the high-water marks.
//!
//! | from | to | how |
//! |---|---|---|
//! | [`Readable`](crate::Readable) | `ReadableStream` | [`Readable::to_web`](crate::Readable::to_web) |
//! | `ReadableStream` | [`Readable`](crate::Readable) | [`Readable::from_web`](crate::Readable::from_web), [`from_web_bytes`](crate::Readable::from_web_bytes) |
//! | [`Writable`](crate::Writable) | `WritableStream` | [`Writable::to_web`](crate::Writable::to_web) |
//! | `WritableStream` | [`Writable`](crate::Writable) | [`Writable::from_web`](crate::Writable::from_web), [`from_web_bytes`](crate::Writable::from_web_bytes) |
//! | [`Duplex`](crate::Duplex) | `{ readable, writable }` ([`WebPair`]) | [`Duplex::to_web`](crate::Duplex::to_web), [`Duplex::from_web`](crate::Duplex::from_web) |
//! | an iterator, a `futures::Stream` | [`Readable`](crate::Readable) | [`Readable::from_iter`](crate::Readable::from_iter), [`from_stream`](crate::Readable::from_stream), [`from_try_stream`](crate::Readable::from_try_stream) |
//! | [`Readable`](crate::Readable) | a `futures::Stream` | [`Readable::iter`](crate::Readable::iter) |
//! | `AsyncRead` (tokio) | byte-mode [`Readable`](crate::Readable) | `Readable::from_async_read` |
//! | byte-mode [`Readable`](crate::Readable) | `AsyncRead` + `AsyncBufRead` | `Readable::into_async_read` |
//! | `AsyncWrite` (tokio) | byte-mode [`Writable`](crate::Writable) | `Writable::from_async_write` |
//! | byte-mode [`Writable`](crate::Writable) | `AsyncWrite` | `Writable::into_async_write` |
//!
//! ```
//! use sluicegate_node::Readable;
//!
//! # futures::executor::block_on(async {
//! // Node → web → Node, with backpressure across both bridges.
//! let web = Readable::from_iter(1..=3u32).to_web();
//! let back = Readable::from_web(&web).unwrap();
//! assert_eq!(back.to_array().await.unwrap(), [1, 2, 3]);
//! # });
//! ```

#[cfg(feature = "tokio")]
mod tokio_io;
mod web;

#[cfg(feature = "tokio")]
pub use tokio_io::{NodeAsyncRead, NodeAsyncWrite};
pub use web::WebPair;
