//! The transformer API: what a [`TransformStream`](super::TransformStream) runs on each chunk.

use crate::error::StreamError;
use crate::host::Completion;

use super::TransformStreamDefaultController;

/// A transformer: the standard's `start`, `transform`, `flush` and `cancel`.
///
/// `transform` turns each chunk written to the writable side into zero or more chunks enqueued
/// on the readable side through the controller. Methods take `&mut self` and return a
/// [`Completion`]; a panic in any of them errors both sides with
/// [`ErrorKind::Panic`](crate::ErrorKind::Panic).
///
/// ```
/// use sluicegate::transform::{TransformStream, TransformStreamDefaultController, Transformer};
/// use sluicegate::Completion;
///
/// struct Words;
///
/// impl Transformer<String, String> for Words {
///     fn transform(&mut self, line: String, c: &TransformStreamDefaultController<String>) -> Completion {
///         for word in line.split_whitespace() {
///             if let Err(e) = c.enqueue(word.to_string()) {
///                 return Completion::err(e);
///             }
///         }
///         Completion::ok()
///     }
/// }
///
/// let words = TransformStream::new(Words).unwrap();
/// # let _ = words;
/// ```
pub trait Transformer<I, O>: Send + 'static {
    /// Called once while the stream is constructed; a synchronous `Err` makes the constructor
    /// fail.
    fn start(&mut self, controller: &TransformStreamDefaultController<O>) -> Completion {
        let _ = controller;
        Completion::ok()
    }

    /// Transforms one chunk written to the writable side.
    fn transform(&mut self, chunk: I, controller: &TransformStreamDefaultController<O>) -> Completion;

    /// Called after the last chunk, when the writable side is closed; may enqueue final chunks.
    fn flush(&mut self, controller: &TransformStreamDefaultController<O>) -> Completion {
        let _ = controller;
        Completion::ok()
    }

    /// Called when the readable side is cancelled or the writable side aborted.
    fn cancel(&mut self, reason: StreamError) -> Completion {
        let _ = reason;
        Completion::ok()
    }
}

/// The identity transformer: every chunk passes through unchanged (the standard's behaviour when
/// a transformer has no `transform` method).
#[derive(Clone, Copy, Debug, Default)]
pub struct IdentityTransformer;

impl<T: Send + 'static> Transformer<T, T> for IdentityTransformer {
    fn transform(&mut self, chunk: T, controller: &TransformStreamDefaultController<T>) -> Completion {
        controller.enqueue(chunk).into()
    }
}

type StartFn<O> = Box<dyn FnMut(&TransformStreamDefaultController<O>) -> Completion + Send>;
type TransformFn<I, O> = Box<dyn FnMut(I, &TransformStreamDefaultController<O>) -> Completion + Send>;
type CancelFn = Box<dyn FnMut(StreamError) -> Completion + Send>;

/// A transformer made of closures.
///
/// ```
/// use sluicegate::transform::{TransformStream, TransformerFn};
///
/// let doubler = TransformStream::new(TransformerFn::new(|n: u32, c| c.enqueue(n * 2))).unwrap();
/// # let _ = doubler;
/// ```
pub struct TransformerFn<I, O> {
    start: Option<StartFn<O>>,
    transform: TransformFn<I, O>,
    flush: Option<StartFn<O>>,
    cancel: Option<CancelFn>,
}

impl<I, O> TransformerFn<I, O> {
    /// A transformer running `transform` on each chunk.
    pub fn new<R: Into<Completion>>(
        mut transform: impl FnMut(I, &TransformStreamDefaultController<O>) -> R + Send + 'static,
    ) -> Self {
        TransformerFn {
            start: None,
            transform: Box::new(move |chunk, c| transform(chunk, c).into()),
            flush: None,
            cancel: None,
        }
    }

    /// Sets the `start` closure.
    pub fn start<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(&TransformStreamDefaultController<O>) -> R + Send + 'static,
    ) -> Self {
        self.start = Some(Box::new(move |c| f(c).into()));
        self
    }

    /// Sets the `flush` closure.
    pub fn flush<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(&TransformStreamDefaultController<O>) -> R + Send + 'static,
    ) -> Self {
        self.flush = Some(Box::new(move |c| f(c).into()));
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

impl<I: Send + 'static, O: Send + 'static> Transformer<I, O> for TransformerFn<I, O> {
    fn start(&mut self, controller: &TransformStreamDefaultController<O>) -> Completion {
        self.start.as_mut().map_or_else(Completion::ok, |f| f(controller))
    }

    fn transform(&mut self, chunk: I, controller: &TransformStreamDefaultController<O>) -> Completion {
        (self.transform)(chunk, controller)
    }

    fn flush(&mut self, controller: &TransformStreamDefaultController<O>) -> Completion {
        self.flush.as_mut().map_or_else(Completion::ok, |f| f(controller))
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        self.cancel.as_mut().map_or_else(Completion::ok, |f| f(reason))
    }
}
