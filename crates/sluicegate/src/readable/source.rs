//! The underlying source API: what a [`ReadableStream`](super::ReadableStream) pulls from.

use crate::error::StreamError;
use crate::host::Completion;

use super::ReadableStreamDefaultController;

/// An underlying source: the standard's `start`, `pull` and `cancel`.
///
/// Every method has a default (do nothing, succeed), so a source implements only what it needs.
/// Methods take `&mut self` and return a [`Completion`]; a future in it must be `'static`, so
/// state it needs is cloned or shared into it. The stream never calls `pull` again before the
/// previous pull's completion settles, and never calls anything after `cancel`.
///
/// A panic inside a method (or inside the future it returns) errors the stream with
/// [`ErrorKind::Panic`](crate::ErrorKind::Panic).
///
/// ```
/// use sluicegate::readable::{ReadableStream, ReadableStreamDefaultController, UnderlyingSource};
/// use sluicegate::Completion;
///
/// struct Countdown(u32);
///
/// impl UnderlyingSource<u32> for Countdown {
///     fn pull(&mut self, controller: &ReadableStreamDefaultController<u32>) -> Completion {
///         if self.0 == 0 {
///             controller.close().unwrap();
///         } else {
///             controller.enqueue(self.0).unwrap();
///             self.0 -= 1;
///         }
///         Completion::ok()
///     }
/// }
///
/// # futures::executor::block_on(async {
/// let stream = ReadableStream::new(Countdown(3)).unwrap();
/// let reader = stream.get_reader().unwrap();
/// assert_eq!(reader.read().await.unwrap(), Some(3));
/// assert_eq!(reader.read().await.unwrap(), Some(2));
/// assert_eq!(reader.read().await.unwrap(), Some(1));
/// assert_eq!(reader.read().await.unwrap(), None);
/// # });
/// ```
pub trait UnderlyingSource<T>: Send + 'static {
    /// Called once, synchronously, while the stream is constructed. A synchronous `Err` makes the
    /// constructor fail (the standard's thrown exception); a future that fails errors the stream.
    fn start(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        let _ = controller;
        Completion::ok()
    }

    /// Called when the stream wants more data: its queue is below the high-water mark or a read
    /// is waiting. A failure errors the stream.
    fn pull(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        let _ = controller;
        Completion::ok()
    }

    /// Called when the consumer cancels the stream; no more calls follow.
    fn cancel(&mut self, reason: StreamError) -> Completion {
        let _ = reason;
        Completion::ok()
    }

    /// Not for implementors: `Some` only for the crate's own iterator source
    /// ([`ReadableStream::from_iter`](super::ReadableStream::from_iter)), which answers a pull
    /// with its iterator's next item (`None` at the end). The core calls it, with the domain
    /// released as around any user code, in place of [`pull`](Self::pull), and then enqueues the
    /// item (or closes the stream) itself, inside the domain: the source does not enter the
    /// domain again from inside its pull. [`CoreNext`] cannot be made outside this crate, so
    /// every other source keeps the default and is pulled through `pull`.
    #[doc(hidden)]
    fn core_next(&mut self) -> Option<CoreNext<T>> {
        None
    }
}

/// What [`UnderlyingSource::core_next`] returns: the next item, or `None` at the end. Only this
/// crate can make one.
#[doc(hidden)]
#[derive(Debug)]
pub struct CoreNext<T>(pub(crate) Option<T>);

type StartFn<T> = Box<dyn FnMut(&ReadableStreamDefaultController<T>) -> Completion + Send>;
type PullFn<T> = Box<dyn FnMut(&ReadableStreamDefaultController<T>) -> Completion + Send>;
type CancelFn = Box<dyn FnMut(StreamError) -> Completion + Send>;

/// An underlying source made of closures, for sources too small to deserve a type.
///
/// ```
/// use sluicegate::readable::{ReadableStream, SourceFn};
/// use sluicegate::Completion;
///
/// let stream = ReadableStream::new(
///     SourceFn::new()
///         .start(|c| { c.enqueue("hello").unwrap(); c.close().unwrap(); Completion::ok() }),
/// ).unwrap();
/// # futures::executor::block_on(async {
/// let reader = stream.get_reader().unwrap();
/// assert_eq!(reader.read().await.unwrap(), Some("hello"));
/// assert_eq!(reader.read().await.unwrap(), None);
/// # });
/// ```
pub struct SourceFn<T> {
    start: Option<StartFn<T>>,
    pull: Option<PullFn<T>>,
    cancel: Option<CancelFn>,
}

impl<T> SourceFn<T> {
    /// A source that does nothing until given closures.
    pub fn new() -> Self {
        SourceFn {
            start: None,
            pull: None,
            cancel: None,
        }
    }

    /// Sets the `start` closure.
    pub fn start<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(&ReadableStreamDefaultController<T>) -> R + Send + 'static,
    ) -> Self {
        self.start = Some(Box::new(move |c| f(c).into()));
        self
    }

    /// Sets the `pull` closure.
    pub fn pull<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(&ReadableStreamDefaultController<T>) -> R + Send + 'static,
    ) -> Self {
        self.pull = Some(Box::new(move |c| f(c).into()));
        self
    }

    /// Sets the `cancel` closure.
    pub fn cancel<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(StreamError) -> R + Send + 'static,
    ) -> Self {
        self.cancel = Some(Box::new(move |r| f(r).into()));
        self
    }
}

impl<T> Default for SourceFn<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> UnderlyingSource<T> for SourceFn<T> {
    fn start(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        match &mut self.start {
            Some(f) => f(controller),
            None => Completion::ok(),
        }
    }

    fn pull(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        match &mut self.pull {
            Some(f) => f(controller),
            None => Completion::ok(),
        }
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        match &mut self.cancel {
            Some(f) => f(reason),
            None => Completion::ok(),
        }
    }
}
