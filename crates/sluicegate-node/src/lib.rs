//! # sluicegate-node
//!
//! Node.js's stream model natively in Rust: [`Readable`], [`Writable`], [`Duplex`],
//! [`Transform`], [`PassThrough`], [`pipeline()`], [`finished()`], `compose`, the operators
//! and `addAbortSignal`, with Node's semantics (the same events in the same order, the same
//! backpressure rules) and Rust's idioms on the surface.
//!
//! See the crate README section "Node-style streams" for a tour.

#![warn(missing_docs)]

mod abort;
pub mod completion;
mod destroy;
pub mod duplex;
pub mod error;
pub mod events;
pub mod finished;
mod implementor;
mod pipeline;
pub mod readable;
mod stream;
mod tick;
mod transform;
pub mod writable;

pub use abort::add_abort_signal;
pub use completion::{Callback, Completion};
pub use duplex::{Duplex, DuplexEvent, DuplexOptions};
pub use error::{Error, ErrorCode, Result};
pub use events::{ev, ListenerId, StreamId};
pub use finished::{finished, finished_opts, finished_with, Cleanup, Finished, FinishedOptions};
pub use implementor::{DuplexImpl, ReadImpl, WriteImpl};
pub use pipeline::{pipeline, Pipeline, PipelineFuture};
pub use readable::{
    AsWritable, ByteChunk, Chunks, Encoding, IterOptions, NextChunk, PipeOptions, Readable, ReadableEvent,
    ReadableOptions, ReadableState,
};
pub use stream::{NodeStream, StreamRef};
pub use tick::{EnterGuard, EventLoop, Idle};
pub use transform::{PassThrough, Transform, TransformImpl};
pub use writable::{Writable, WritableEvent, WritableOptions, WritableState, Written};
