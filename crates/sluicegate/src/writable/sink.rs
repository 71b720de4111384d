//! The underlying sink API: what a [`WritableStream`](super::WritableStream) writes to.

use crate::error::StreamError;
use crate::host::Completion;

use super::WritableStreamDefaultController;

/// An underlying sink: the standard's `start`, `write`, `close` and `abort`.
///
/// Every method has a default (do nothing, succeed), so a sink implements only what it needs.
/// Methods take `&mut self` and return a [`Completion`]; a future in it must be `'static`, so
/// state it needs is cloned or shared into it. The stream calls `write` only after `start` has
/// succeeded and every previous write has succeeded, one write at a time, and never after `close`
/// or `abort`; it calls at most one of `close` and `abort`.
///
/// A panic inside a method (or inside the future it returns) errors the stream with
/// [`ErrorKind::Panic`](crate::ErrorKind::Panic).
///
/// ```
/// use sluicegate::writable::{UnderlyingSink, WritableStream, WritableStreamDefaultController};
/// use sluicegate::Completion;
/// use std::sync::{Arc, Mutex};
///
/// struct Collect(Arc<Mutex<Vec<u32>>>);
///
/// impl UnderlyingSink<u32> for Collect {
///     fn write(&mut self, chunk: u32, _: &WritableStreamDefaultController<u32>) -> Completion {
///         self.0.lock().unwrap().push(chunk);
///         Completion::ok()
///     }
/// }
///
/// # futures::executor::block_on(async {
/// let got = Arc::new(Mutex::new(Vec::new()));
/// let stream = WritableStream::new(Collect(got.clone())).unwrap();
/// let writer = stream.get_writer().unwrap();
/// let _ = writer.write(1);
/// let _ = writer.write(2);
/// writer.close().await.unwrap();
/// assert_eq!(*got.lock().unwrap(), vec![1, 2]);
/// # });
/// ```
pub trait UnderlyingSink<T>: Send + 'static {
    /// Called once, synchronously, while the stream is constructed. A synchronous `Err` makes the
    /// constructor fail (the standard's thrown exception); a future that fails errors the stream.
    /// No write happens before it succeeds.
    fn start(&mut self, controller: &WritableStreamDefaultController<T>) -> Completion {
        let _ = controller;
        Completion::ok()
    }

    /// Writes one chunk. The write counts as done (and the chunk's size leaves the queue) when the
    /// completion succeeds; a failure errors the stream.
    fn write(&mut self, chunk: T, controller: &WritableStreamDefaultController<T>) -> Completion {
        let _ = (chunk, controller);
        Completion::ok()
    }

    /// Called after the producer closed the stream and every queued write succeeded. A failure
    /// errors the stream instead of closing it.
    fn close(&mut self) -> Completion {
        Completion::ok()
    }

    /// Called when the stream is aborted (and no close has started), after any write in flight
    /// finished; queued writes are discarded. The stream ends errored with the abort reason
    /// whatever this returns; its outcome is what `abort()` reports.
    fn abort(&mut self, reason: StreamError) -> Completion {
        let _ = reason;
        Completion::ok()
    }

    /// Not for implementors: `Some` only for the standard's own sink algorithms (a transform
    /// stream's writable side), whose `write` the core then calls inside the stream's domain
    /// instead of releasing it as around user code. [`CoreAlgorithms`] cannot be made outside
    /// this crate, so every other sink keeps the default.
    #[doc(hidden)]
    fn core_algorithms(&self) -> Option<CoreAlgorithms> {
        None
    }
}

/// The token of [`UnderlyingSink::core_algorithms`]: only this crate can make one.
#[doc(hidden)]
#[derive(Debug)]
pub struct CoreAlgorithms(pub(crate) ());

type StartFn<T> = Box<dyn FnMut(&WritableStreamDefaultController<T>) -> Completion + Send>;
type WriteFn<T> = Box<dyn FnMut(T, &WritableStreamDefaultController<T>) -> Completion + Send>;
type CloseFn = Box<dyn FnMut() -> Completion + Send>;
type AbortFn = Box<dyn FnMut(StreamError) -> Completion + Send>;

/// An underlying sink made of closures, for sinks too small to deserve a type.
///
/// ```
/// use sluicegate::writable::{SinkFn, WritableStream};
/// use sluicegate::Completion;
/// use std::sync::{Arc, Mutex};
///
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let (l1, l2) = (log.clone(), log.clone());
/// let stream = WritableStream::new(
///     SinkFn::new()
///         .write(move |chunk: &str, _| l1.lock().unwrap().push(chunk.to_string()))
///         .close(move || l2.lock().unwrap().push("closed".to_string())),
/// )
/// .unwrap();
/// # futures::executor::block_on(async {
/// let writer = stream.get_writer().unwrap();
/// writer.write("hello").await.unwrap();
/// writer.close().await.unwrap();
/// assert_eq!(*log.lock().unwrap(), ["hello", "closed"]);
/// # });
/// ```
pub struct SinkFn<T> {
    start: Option<StartFn<T>>,
    write: Option<WriteFn<T>>,
    close: Option<CloseFn>,
    abort: Option<AbortFn>,
}

impl<T> SinkFn<T> {
    /// A sink that accepts everything until given closures.
    pub fn new() -> Self {
        SinkFn {
            start: None,
            write: None,
            close: None,
            abort: None,
        }
    }

    /// Sets the `start` closure.
    pub fn start<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(&WritableStreamDefaultController<T>) -> R + Send + 'static,
    ) -> Self {
        self.start = Some(Box::new(move |c| f(c).into()));
        self
    }

    /// Sets the `write` closure.
    pub fn write<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(T, &WritableStreamDefaultController<T>) -> R + Send + 'static,
    ) -> Self {
        self.write = Some(Box::new(move |chunk, c| f(chunk, c).into()));
        self
    }

    /// Sets the `close` closure.
    pub fn close<R: Into<Completion>>(mut self, mut f: impl FnMut() -> R + Send + 'static) -> Self {
        self.close = Some(Box::new(move || f().into()));
        self
    }

    /// Sets the `abort` closure.
    pub fn abort<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(StreamError) -> R + Send + 'static,
    ) -> Self {
        self.abort = Some(Box::new(move |r| f(r).into()));
        self
    }
}

impl<T> Default for SinkFn<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> UnderlyingSink<T> for SinkFn<T> {
    fn start(&mut self, controller: &WritableStreamDefaultController<T>) -> Completion {
        match &mut self.start {
            Some(f) => f(controller),
            None => Completion::ok(),
        }
    }

    fn write(&mut self, chunk: T, controller: &WritableStreamDefaultController<T>) -> Completion {
        match &mut self.write {
            Some(f) => f(chunk, controller),
            None => Completion::ok(),
        }
    }

    fn close(&mut self) -> Completion {
        match &mut self.close {
            Some(f) => f(),
            None => Completion::ok(),
        }
    }

    fn abort(&mut self, reason: StreamError) -> Completion {
        match &mut self.abort {
            Some(f) => f(reason),
            None => Completion::ok(),
        }
    }
}
