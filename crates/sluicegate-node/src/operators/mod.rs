//! Node's stream operators (`readable.map()`, `filter`, `flatMap`, `forEach`, `take`, `drop`,
//! `reduce`, `toArray`, `some`, `every`, `find`) as methods of [`Readable`].
//!
//! The ones that return a stream return a new [`Readable`] (object mode, high-water mark 1, on
//! the source's event loop), exactly as Node's `Readable.from(operator())`; the others return a
//! future. All of them read the source through its async iterator, so they destroy it when they
//! stop early (`take`, `some`, `find`, an error) and pass its error on.
//!
//! ## Concurrency, order and memory
//!
//! `map`, `filter`, `flat_map`, `for_each`, `some`, `every` and `find` take
//! [`OperatorOptions`]: with `concurrency` *n*, up to *n* calls of the function run at once (their
//! futures are polled together, on the stream's loop: nothing is spawned), while results are
//! handed on **in input order**. At most `high_water_mark + concurrency` inputs are held between
//! the source and the consumer (`high_water_mark` defaults to `concurrency - 1`, as in Node), so
//! memory is bounded at any concurrency, whatever the consumer's speed.
//!
//! ```
//! use sluicegate_node::{OperatorOptions, Readable};
//!
//! # futures::executor::block_on(async {
//! let squares = Readable::from_iter(1..=5u64)
//!     .operators(OperatorOptions::new().concurrency(3))
//!     .map(|x| async move { x * x });
//! assert_eq!(squares.to_array().await.unwrap(), [1, 4, 9, 16, 25]);
//!
//! let sum = Readable::from_iter(1..=100u64)
//!     .filter(|x| std::future::ready(x % 2 == 0))
//!     .fold(0, |acc, x| async move { acc + x })
//!     .await
//!     .unwrap();
//! assert_eq!(sum, 2550);
//! # });
//! ```
//!
//! ## Rust idioms
//!
//! Functions are closures returning futures (`|x| async move { .. }`; `std::future::ready` for a
//! synchronous answer); the `try_` forms return `Result`s, whose error destroys the output.
//! Node passes an `AbortSignal` to each call; here a call that is no longer wanted is simply
//! dropped (Rust's cancellation), and [`OperatorOptions::signal`] aborts the whole operator.
//! Node's `drop(n)` is [`Readable::skip`], and `reduce` with an initial value is
//! [`Readable::fold`].

mod concurrent;
mod consume;

use std::future::Future;

use futures_core::Stream;
use futures_util::{FutureExt, StreamExt};
use sluicegate::AbortSignal;

use crate::error::{Error, ErrorCode, Result};
use crate::readable::{Chunks, Readable, ReadableOptions};

pub(crate) use concurrent::Concurrent;

/// Options of the operators that call a function per chunk (Node's `{ concurrency,
/// highWaterMark, signal }`).
#[derive(Clone, Debug)]
pub struct OperatorOptions {
    pub(crate) concurrency: usize,
    pub(crate) high_water_mark: Option<usize>,
    pub(crate) signal: Option<AbortSignal>,
}

impl Default for OperatorOptions {
    fn default() -> Self {
        OperatorOptions {
            concurrency: 1,
            high_water_mark: None,
            signal: None,
        }
    }
}

impl OperatorOptions {
    /// Concurrency 1, high-water mark 0, no signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many calls may run at once (at least 1; 0 makes the operator fail with
    /// `ERR_OUT_OF_RANGE`, as Node's validation does).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// How many finished results may wait for the consumer beyond the running calls (default
    /// `concurrency - 1`).
    pub fn high_water_mark(mut self, n: usize) -> Self {
        self.high_water_mark = Some(n);
        self
    }

    /// Abort the operator (the output, or the future, fails with an `AbortError`; the source is
    /// destroyed) when `signal` aborts.
    pub fn signal(mut self, signal: AbortSignal) -> Self {
        self.signal = Some(signal);
        self
    }

    fn checked(&self) -> Result<(usize, usize)> {
        if self.concurrency == 0 {
            return Err(Error::new(
                ErrorCode::OutOfRange,
                "The value of \"options.concurrency\" is out of range. It must be >= 1. Received 0",
            ));
        }
        Ok((
            self.concurrency,
            self.high_water_mark.unwrap_or(self.concurrency - 1),
        ))
    }
}

/// A readable with operator options, from [`Readable::operators`].
#[must_use = "call an operator on it"]
pub struct Operators<'a, T: Send + 'static> {
    stream: &'a Readable<T>,
    options: OperatorOptions,
}

impl<T: Send + 'static> Readable<T> {
    /// The operators with `options` (concurrency, high-water mark, signal).
    pub fn operators(&self, options: OperatorOptions) -> Operators<'_, T> {
        Operators {
            stream: self,
            options,
        }
    }

    /// `readable.map(fn)`: each chunk through `f`, in order.
    pub fn map<U, F, Fut>(&self, f: F) -> Readable<U>
    where
        U: Send + 'static,
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = U> + Send + 'static,
    {
        self.operators(OperatorOptions::default()).map(f)
    }

    /// `map` with a function that can fail: an error destroys the output (and the source).
    pub fn try_map<U, E, F, Fut>(&self, f: F) -> Readable<U>
    where
        U: Send + 'static,
        E: Into<Error> + Send + 'static,
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<U, E>> + Send + 'static,
    {
        self.operators(OperatorOptions::default()).try_map(f)
    }

    /// `readable.filter(fn)`: the chunks for which `f` answers `true`.
    pub fn filter<F, Fut>(&self, f: F) -> Readable<T>
    where
        F: FnMut(&T) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.operators(OperatorOptions::default()).filter(f)
    }

    /// `readable.flatMap(fn)`: every item of the stream `f` returns for each chunk, in order.
    pub fn flat_map<U, F, S>(&self, f: F) -> Readable<U>
    where
        U: Send + 'static,
        F: FnMut(T) -> S + Send + 'static,
        S: Stream<Item = U> + Send + 'static,
    {
        self.operators(OperatorOptions::default()).flat_map(f)
    }

    /// `flatMap` with a function returning an iterator.
    pub fn flat_map_iter<U, F, I>(&self, mut f: F) -> Readable<U>
    where
        U: Send + 'static,
        F: FnMut(T) -> I + Send + 'static,
        I: IntoIterator<Item = U>,
        I::IntoIter: Send + 'static,
    {
        self.flat_map(move |x| futures_util::stream::iter(f(x)))
    }

    /// `readable.take(n)`: the first `n` chunks; the source is destroyed after them.
    pub fn take(&self, n: usize) -> Readable<T> {
        self.operators(OperatorOptions::default()).take(n)
    }

    /// `readable.drop(n)`: all but the first `n` chunks.
    #[doc(alias = "drop")]
    pub fn skip(&self, n: usize) -> Readable<T> {
        self.operators(OperatorOptions::default()).skip(n)
    }
}

impl<'a, T: Send + 'static> Operators<'a, T> {
    /// The output readable over `stream`, on the source's loop, with the signal attached.
    fn output<U: Send + 'static, S>(&self, stream: S) -> Readable<U>
    where
        S: Stream<Item = Result<U>> + Send + 'static,
    {
        let out = Readable::from_try_stream_with(
            stream,
            ReadableOptions::objects()
                .high_water_mark(1)
                .event_loop(&self.stream.event_loop()),
        );
        if let Some(signal) = &self.options.signal {
            crate::abort::add_abort_signal(signal, &out);
        }
        out
    }

    /// The source's chunks, read by the operator (destroying the source if dropped early).
    fn chunks(&self) -> Chunks<T> {
        self.stream.iter()
    }

    /// An output that fails at once with `err` (bad options), leaving the source alone.
    fn failed<U: Send + 'static>(&self, err: Error) -> Readable<U> {
        self.output(futures_util::stream::once(std::future::ready(Err(err))))
    }

    /// `map` with these options.
    pub fn map<U, F, Fut>(self, mut f: F) -> Readable<U>
    where
        U: Send + 'static,
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = U> + Send + 'static,
    {
        self.concurrent(move |x| f(x).map(|u| Ok(Some(u))))
    }

    /// `try_map` with these options.
    pub fn try_map<U, E, F, Fut>(self, mut f: F) -> Readable<U>
    where
        U: Send + 'static,
        E: Into<Error> + Send + 'static,
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<U, E>> + Send + 'static,
    {
        self.concurrent(move |x| f(x).map(|r| r.map(Some).map_err(Into::into)))
    }

    /// `filter` with these options.
    pub fn filter<F, Fut>(self, mut f: F) -> Readable<T>
    where
        F: FnMut(&T) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.concurrent(move |x| {
            let keep = f(&x);
            keep.map(move |k| Ok(k.then_some(x)))
        })
    }

    /// `flat_map` with these options (the calls of `f` may run concurrently; the streams they
    /// return are read one after the other, in input order, as in Node).
    pub fn flat_map<U, F, S>(self, mut f: F) -> Readable<U>
    where
        U: Send + 'static,
        F: FnMut(T) -> S + Send + 'static,
        S: Stream<Item = U> + Send + 'static,
    {
        let (c, h) = match self.options.checked() {
            Ok(x) => x,
            Err(e) => return self.failed(e),
        };
        let streams = Concurrent::new(
            self.chunks(),
            move |x| std::future::ready(Ok(Some(Box::pin(f(x))))),
            c,
            h,
        );
        let flat = streams.flat_map(|r| match r {
            Ok(s) => s.map(Ok).left_stream(),
            Err(e) => futures_util::stream::once(std::future::ready(Err(e))).right_stream(),
        });
        self.output(flat)
    }

    /// `take` with these options (only the signal applies).
    pub fn take(self, n: usize) -> Readable<T> {
        self.output(Take {
            src: Some(self.chunks()),
            left: n,
        })
    }

    /// `skip` (Node's `drop`) with these options (only the signal applies).
    pub fn skip(self, n: usize) -> Readable<T> {
        let mut left = n;
        self.output(self.chunks().filter(move |_| {
            let pass = left == 0;
            left = left.saturating_sub(1);
            std::future::ready(pass)
        }))
    }

    fn concurrent<U, G, Fut>(self, g: G) -> Readable<U>
    where
        U: Send + 'static,
        G: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Option<U>>> + Send + 'static,
    {
        match self.options.checked() {
            Ok((c, h)) => self.output(Concurrent::new(self.chunks(), g, c, h)),
            Err(e) => self.failed(e),
        }
    }
}

/// Node's `take`: after `n` chunks, stop reading (dropping the iterator destroys the source).
/// Like Node, `take(0)` reads one chunk before it stops.
struct Take<T: Send + 'static> {
    src: Option<Chunks<T>>,
    left: usize,
}

impl<T: Send + 'static> Stream for Take<T> {
    type Item = Result<T>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<T>>> {
        use std::task::Poll;
        let Some(src) = self.src.as_mut() else {
            return Poll::Ready(None);
        };
        match src.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.src = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                self.src = None;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Some(Ok(v))) => {
                let out = if self.left > 0 {
                    self.left -= 1;
                    Some(Ok(v))
                } else {
                    None
                };
                if self.left == 0 {
                    // Don't read another chunk: drop the iterator, which destroys the source.
                    self.src = None;
                }
                Poll::Ready(out)
            }
        }
    }
}
