//! # sluicegate
//!
//! The WHATWG Streams Standard in Rust: readable, writable and transform streams with
//! backpressure, so that data larger than memory flows through in chunks and memory stays bounded
//! by the high-water marks you choose, never by the input.
//!
//! ## Adding it
//!
//! ```toml
//! [dependencies]
//! sluicegate = { version = "0.1", features = ["tokio"] }
//! ```
//!
//! The core needs no feature and no async runtime. Feature `tokio` adds the module `sluicegate::io`: tokio's
//! `AsyncRead`/`AsyncWrite` as byte streams and back, and files as streams. (Until the crate is
//! published, depend on a checkout: `sluicegate = { path = "…/crates/sluicegate", features =
//! ["tokio"] }`.)
//!
//! ## A first stream
//!
//! ```
//! use sluicegate::readable::ReadableStream;
//!
//! # futures::executor::block_on(async {
//! let numbers = ReadableStream::from_iter(1..=5u64);
//! let reader = numbers.get_reader().unwrap();
//! let mut sum = 0;
//! while let Some(n) = reader.read().await.unwrap() {
//!     sum += n;
//! }
//! assert_eq!(sum, 15);
//! # });
//! ```
//!
//! ## How it is built
//!
//! * **One spec-faithful core.** Every abstract operation of the standard is one function with the
//!   standard's name in snake case (`readable_stream_default_controller_call_pull_if_needed`), in
//!   the module of the class it belongs to, following the standard's steps in order.
//! * **Synchronous state machine, injected scheduling.** State changes happen inside the call that
//!   causes them: after `controller.enqueue(x)` returns, `desired_size()` already reflects `x`.
//!   Everything the standard defers goes through one seam, [`host::Host`]. The native host,
//!   [`host::Driver`], runs inside the futures this crate returns, so the core needs no runtime.
//! * **Requests are steps.** A read is a [`readable::ReadRequest`] with chunk, close and error
//!   steps; a read that can be served at once allocates nothing.
//! * **Never a lock across user code.** Each stream's state sits behind one mutex, released before
//!   any source, sink, transformer or size function runs, so user code may call back into the
//!   stream. A panic in user code errors the stream ([`ErrorKind::Panic`]); no lock is poisoned
//!   and no waiter hangs.
//! * **`Send + Sync` handles** when `T: Send`: streams, readers and writers cross tokio tasks and
//!   threads.
//!
//! ## Byte streams
//!
//! A readable byte stream is a `ReadableStream<Bytes>` built with
//! [`ReadableStream::new_bytes`] over an [`UnderlyingByteSource`]. Default readers get the enqueued
//! `Bytes` moved to them; a [`ReadableStreamBYOBReader`] reads into a caller's [`ByobView`] (an
//! owned [`ArrayBuffer`], 4096-byte aligned with [`ArrayBuffer::aligned`]) which the source fills
//! in place through [`ReadableStreamBYOBRequest`].
//!
//! Errors are [`StreamError`]s: an `Arc` with a kind (`TypeError`, `RangeError`, `AbortError`, a
//! user reason), so one stored error is cheaply handed to every waiter.
//!
//! ## Pushing into a stream
//!
//! A producer that has chunks to push (a socket, a callback API, another task) uses
//! [`ReadableStream::channel`]: a [`readable::ReadableStreamSender`] whose `send(chunk).await`
//! waits for backpressure, and the stream it feeds. Dropping the sender closes the stream;
//! cancelling the stream makes later sends fail with the reason.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod abort;
mod algorithm;
pub mod error;
pub mod host;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod io;
pub mod pipe;
mod promise;
pub mod readable;
pub mod stats;
pub mod strategy;
mod sync;
pub mod transform;
pub mod writable;

pub use abort::{AbortController, AbortSignal};
pub use error::{ErrorKind, StreamError};
pub use host::{Completion, Resolver};
pub use pipe::PipeOptions;
pub use promise::Promised;
pub use readable::{
    ArrayBuffer, ByobView, ReadableByteStreamController, ReadableStream, ReadableStreamBYOBReader,
    ReadableStreamBYOBRequest, ReadableStreamDefaultController, ReadableStreamDefaultReader,
    UnderlyingByteSource, ViewType,
};
pub use stats::{PipelineStats, StageStats, StreamStats};
pub use strategy::{ByteLengthQueuingStrategy, CountQueuingStrategy, QueuingStrategy};
pub use transform::{TransformStream, TransformStreamDefaultController};
pub use writable::{WritableStream, WritableStreamDefaultController, WritableStreamDefaultWriter};

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
