//! # sluicegate-node
//!
//! Node.js's stream model natively in Rust: [`Readable`], [`Writable`], [`Duplex`],
//! [`Transform`], [`PassThrough`], [`pipeline()`]/[`Pipeline`], [`finished()`], [`compose()`],
//! [`add_abort_signal`] and the [operators] (`map`, `filter`, `take`, `reduce`, ...),
//! with Node's semantics (the same events in the same order, the same backpressure rules, the
//! same error codes) and Rust's idioms on the surface, and [bridges](interop) to the standard's
//! streams, iterators, `futures::Stream`s and tokio's I/O traits.
//!
//! ## The Node model in one paragraph
//!
//! A readable has a buffer that its implementor's `_read` fills with `push()` up to the
//! high-water mark; consumers take data in *flowing* mode (`'data'` events, `pipe`, iteration)
//! or *paused* mode (`read()` after `'readable'`), and `'end'` follows the last chunk. A writable
//! hands chunks to `_write` one at a time; `write()` returns `false` once the buffered length
//! reaches the high-water mark, and `'drain'` says when to go on; `end()` runs `_final`, then
//! `'prefinish'`, `'finish'`, and `'close'`. `destroy(err)` tears a stream down: `'error'` at most
//! once, then `'close'`, then nothing. Deferred steps run on `process.nextTick`.
//!
//! ## How it maps onto Rust
//!
//! * **Implementor traits** instead of subclassing: [`ReadImpl::read`] is `_read`,
//!   [`WriteImpl::write`]/`writev`/`finalize` are `_write`/`_writev`/`_final`,
//!   [`TransformImpl`] has `transform`/`flush`; every one may be async. Where Node passes a
//!   callback they return a [`Completion`]: ready now (as cheap as a synchronous callback), a
//!   future, or a one-shot [`Callback`] that cannot be called twice.
//! * **Typed events**: `stream.on(ev::Data, |chunk: &T| ..)`, `once`, `prepend_listener`, `off`
//!   by [`ListenerId`], `listener_count`; the argument type follows the event.
//! * **Futures** where Node has promises or callbacks: [`finished()`], [`Pipeline`]'s future,
//!   [`Readable::next_chunk`], [`Writable::write_async`], and [`Readable::iter`] as a
//!   `futures::Stream` (destroying the stream when dropped early, unless opted out).
//! * **The event loop**: ticks run in an [`EventLoop`] (Node's `nextTick` FIFO) inside those
//!   futures, or with [`EventLoop::run_until_idle`]. One loop's streams are used by one thread at
//!   a time; handles are `Send + Sync`; pipelines on a multi-thread runtime run in parallel.
//! * **Errors** are [`Error`]s with Node's codes ([`ErrorCode`]); misuse never panics.
//! * **Pipelines** take a [`Readable`] (or an iterator or a `futures::Stream`:
//!   [`Pipeline::from_iter`], [`Pipeline::from_stream`]), duplex stages, async-generator stages
//!   ([`Pipeline::map_stream`]) and end in a writable ([`Pipeline::to`]) or an async function
//!   whose value is the pipeline's ([`Pipeline::to_fn`], [`Pipeline::collect`]).
//!
//! ## Where it differs from Node, and why
//!
//! * **Listeners are dropped after `'close'`.** Node keeps them, and calls only `'pause'` and
//!   `'resume'` listeners again (a destroyed stream paused or resumed). Here listeners are
//!   closures that often hold handles to other streams, so keeping them would keep whole
//!   pipelines alive: `listener_count` is 0 afterwards and no listener is called. What Node's
//!   steps decide by counting `'data'` and `'readable'` listeners still counts the dropped ones
//!   until they are removed, so the streams behave as Node's do.
//! * **A stream's memory.** A stream is freed when its last handle is dropped. What can keep it
//!   alive: an implementor that holds a handle to its own stream (keep a `Readable` you push to
//!   from elsewhere outside the implementor, or drop it on `_destroy`), a pipe whose source never
//!   ends, or work queued on a loop that nobody runs again. A stream that is destroyed drops its
//!   implementor at once (after a call in progress returns), which breaks such cycles; a
//!   transform's implementor holds its sides weakly (its writable side holds its readable side,
//!   and nothing holds back), so a transform dropped without being destroyed is freed, and one
//!   kept only through its writable side keeps its readable side, as a Node transform is one
//!   object.
//! * **Chunks that are not `Clone`.** [`Readable::pipe`] needs `T: Clone` only to feed several
//!   destinations; [`pipeline`](pipeline()) and [`Pipeline`] need no `Clone`. Without `Clone`, a
//!   readable feeding a pipe and borrowing `'data'` listeners calls the borrowing listeners
//!   first and then hands the chunk to the pipe (Node calls them in registration order; a moved
//!   chunk cannot be lent afterwards), and a `read()` by user code while such a pipe listens
//!   returns `None`: the pipe took the chunk (Node returns it as well, which `pipe` does here
//!   too, with a copy for the pipe).
//! * **No `ERR_MULTIPLE_CALLBACK` from user code**: a [`Callback`] is consumed by its call, and
//!   one dropped uncalled errors the stream with [`ErrorCode::CallbackDropped`] instead of
//!   stalling it.
//! * **No `readable.wrap(oldStream)`.** It adapts pre-0.10 Node streams (a `'data'` emitter with
//!   no backpressure); Rust has no such streams. The sources Rust code has are covered by
//!   [`Readable::from_iter`], [`Readable::from_stream`], [`Readable::from_web`] and (feature
//!   `tokio`) `Readable::from_async_read`.
//! * **Operators take closures returning futures**, and cancel by dropping them instead of
//!   passing an `AbortSignal` to each call; Node's `drop(n)` is [`Readable::skip`] and `reduce`
//!   with an initial value is [`Readable::fold`].
//! * Node's encodings other than UTF-8, `objectMode` for non-`'static` values and
//!   `null`/`undefined` chunks have no counterpart: chunks are typed.
//!
//! Of these, the listeners after `'close'` and the chunks that are not `Clone` are the only
//! differences `tests/differential.rs` allows for: it runs random scenarios of readables,
//! writables, transforms, pipes and pipelines on Node.js itself and on this crate, and compares
//! the event logs line for line (RELIABILITY.md).
//!
//! ## When to use it rather than the standard's streams
//!
//! Use this crate to port Node code or when you think in Node's terms (events, `write()`'s
//! boolean, `pipeline`); use [`sluicegate`]'s WHATWG streams for web semantics (readers, BYOB,
//! `tee`, `pipeTo` options) and code shared with JavaScript.
//!
//! ```
//! use sluicegate_node::{Completion, Pipeline, Readable, Transform, Writable};
//! use std::sync::{Arc, Mutex};
//!
//! # futures::executor::block_on(async {
//! let out = Arc::new(Mutex::new(String::new()));
//! let o = out.clone();
//! Pipeline::from(Readable::from_iter(["a", "b", "c"]))
//!     .pipe(&Transform::map_fn(|s: &str| Some(s.to_uppercase())))
//!     .to(&Writable::from_fn(move |s: String| { o.lock().unwrap().push_str(&s); Completion::ok() }))
//!     .await
//!     .unwrap();
//! assert_eq!(*out.lock().unwrap(), "ABC");
//! # });
//! ```

#![warn(missing_docs)]

mod abort;
pub mod completion;
mod compose;
mod destroy;
pub mod duplex;
pub mod error;
pub mod events;
pub mod finished;
mod implementor;
pub mod interop;
pub mod operators;
mod pipeline;
pub mod readable;
mod stream;
mod tick;
mod transform;
pub mod writable;

pub use abort::add_abort_signal;
pub use completion::{Callback, Completion};
pub use compose::compose;
pub use duplex::{Duplex, DuplexEvent, DuplexOptions};
pub use error::{Error, ErrorCode, Result};
pub use events::{ev, ListenerId, StreamId};
pub use finished::{finished, finished_opts, finished_with, Cleanup, Finished, FinishedOptions};
pub use implementor::{DuplexImpl, ReadImpl, WriteImpl};
pub use interop::WebPair;
pub use operators::{OperatorOptions, Operators};
pub use pipeline::{pipeline, Pipeline, PipelineFuture};
pub use readable::{
    AsWritable, ByteChunk, Chunks, Encoding, IterOptions, NextChunk, PipeOptions, Readable, ReadableEvent,
    ReadableOptions, ReadableState,
};
pub use stream::{NodeStream, StreamRef};
pub use tick::{EnterGuard, EventLoop, Idle};
pub use transform::{PassThrough, Transform, TransformImpl};
pub use writable::{Settled, Writable, WritableEvent, WritableOptions, WritableState, Written};
