//! The operators that consume the stream and return a future: `for_each`, `to_array`, `reduce`,
//! `fold`, `some`, `every`, `find`.

use std::future::Future;

use futures_util::{FutureExt, StreamExt};
use sluicegate::AbortSignal;

use super::{Concurrent, OperatorOptions, Operators};
use crate::error::{Error, ErrorCode, Result};
use crate::readable::Readable;

/// Runs `work`, unless `signal` aborts first: then it is dropped (which destroys the source it
/// was reading) and the result is an `AbortError` whose cause is the abort reason.
async fn abortable<R>(signal: Option<AbortSignal>, work: impl Future<Output = Result<R>>) -> Result<R> {
    let Some(signal) = signal else {
        return work.await;
    };
    if signal.aborted() {
        return Err(Error::abort(signal.reason().map(Error::from)));
    }
    let work = std::pin::pin!(work);
    let aborted = signal.aborted_future();
    match futures_util::future::select(work, aborted).await {
        futures_util::future::Either::Left((r, _)) => r,
        futures_util::future::Either::Right((reason, _)) => Err(Error::abort(Some(Error::from(reason)))),
    }
}

fn missing_initial() -> Error {
    Error::new(
        ErrorCode::MissingArgs,
        "Reduce of an empty stream requires an initial value",
    )
}

impl<T: Send + 'static> Readable<T> {
    /// `readable.toArray()`: every chunk, once the stream ended.
    pub fn to_array(&self) -> impl Future<Output = Result<Vec<T>>> + Send + 'static {
        self.operators(OperatorOptions::default()).to_array()
    }

    /// `readable.forEach(fn)`: calls `f` on every chunk; done when the stream ended and every
    /// call completed.
    pub fn for_each<F, Fut>(&self, f: F) -> impl Future<Output = Result<()>> + Send + 'static
    where
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.operators(OperatorOptions::default()).for_each(f)
    }

    /// `readable.reduce(fn)` without an initial value: the first chunk starts the accumulator;
    /// an empty stream is `ERR_MISSING_ARGS`.
    pub fn reduce<F, Fut>(&self, f: F) -> impl Future<Output = Result<T>> + Send + 'static
    where
        F: FnMut(T, T) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        self.operators(OperatorOptions::default()).reduce(f)
    }

    /// `readable.reduce(fn, initial)`.
    pub fn fold<A, F, Fut>(&self, initial: A, f: F) -> impl Future<Output = Result<A>> + Send + 'static
    where
        A: Send + 'static,
        F: FnMut(A, T) -> Fut + Send + 'static,
        Fut: Future<Output = A> + Send + 'static,
    {
        self.operators(OperatorOptions::default()).fold(initial, f)
    }

    /// `readable.some(fn)`: whether `f` answers `true` for any chunk (the source is destroyed as
    /// soon as one does).
    pub fn some<F, Fut>(&self, f: F) -> impl Future<Output = Result<bool>> + Send + 'static
    where
        F: FnMut(&T) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.operators(OperatorOptions::default()).some(f)
    }

    /// `readable.every(fn)`: whether `f` answers `true` for every chunk.
    pub fn every<F, Fut>(&self, f: F) -> impl Future<Output = Result<bool>> + Send + 'static
    where
        F: FnMut(&T) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.operators(OperatorOptions::default()).every(f)
    }

    /// `readable.find(fn)`: the first chunk for which `f` answers `true`, or `None`.
    pub fn find<F, Fut>(&self, f: F) -> impl Future<Output = Result<Option<T>>> + Send + 'static
    where
        F: FnMut(&T) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.operators(OperatorOptions::default()).find(f)
    }
}

impl<T: Send + 'static> Operators<'_, T> {
    /// `to_array` with these options (only the signal applies).
    pub fn to_array(self) -> impl Future<Output = Result<Vec<T>>> + Send + 'static {
        let mut chunks = self.chunks();
        abortable(self.options.signal, async move {
            let mut out = Vec::new();
            while let Some(c) = chunks.next().await {
                out.push(c?);
            }
            Ok(out)
        })
    }

    /// `for_each` with these options: up to `concurrency` calls at once.
    pub fn for_each<F, Fut>(self, mut f: F) -> impl Future<Output = Result<()>> + Send + 'static
    where
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let checked = self.options.checked();
        let chunks = checked.is_ok().then(|| self.chunks());
        abortable(self.options.signal, async move {
            let (c, h) = checked?;
            let chunks = chunks.expect("made when the options are valid");
            let mut calls = Concurrent::<T, (), _, _>::new(chunks, move |x| f(x).map(|()| Ok(None)), c, h);
            match calls.next().await {
                None => Ok(()),
                Some(r) => r,
            }
        })
    }

    /// `reduce` (no initial value) with these options (only the signal applies).
    pub fn reduce<F, Fut>(self, mut f: F) -> impl Future<Output = Result<T>> + Send + 'static
    where
        F: FnMut(T, T) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let mut chunks = self.chunks();
        abortable(self.options.signal, async move {
            let mut acc = match chunks.next().await {
                None => return Err(missing_initial()),
                Some(first) => first?,
            };
            while let Some(c) = chunks.next().await {
                acc = f(acc, c?).await;
            }
            Ok(acc)
        })
    }

    /// `fold` (`reduce` with an initial value) with these options (only the signal applies).
    pub fn fold<A, F, Fut>(self, initial: A, mut f: F) -> impl Future<Output = Result<A>> + Send + 'static
    where
        A: Send + 'static,
        F: FnMut(A, T) -> Fut + Send + 'static,
        Fut: Future<Output = A> + Send + 'static,
    {
        let mut chunks = self.chunks();
        abortable(self.options.signal, async move {
            let mut acc = initial;
            while let Some(c) = chunks.next().await {
                acc = f(acc, c?).await;
            }
            Ok(acc)
        })
    }

    /// `find` with these options.
    pub fn find<F, Fut>(self, f: F) -> impl Future<Output = Result<Option<T>>> + Send + 'static
    where
        F: FnMut(&T) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let signal = self.options.signal.clone();
        let found = self.filtered(f);
        abortable(signal, async move {
            let mut found = found?;
            // Dropping `found` after the first match destroys the source, as Node's early
            // `return` from the loop over `filter` does.
            found.next().await.transpose()
        })
    }

    /// `some` with these options.
    pub fn some<F, Fut>(self, f: F) -> impl Future<Output = Result<bool>> + Send + 'static
    where
        F: FnMut(&T) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.find(f).map(|r| r.map(|found| found.is_some()))
    }

    /// `every` with these options: `!some(!f)`.
    pub fn every<F, Fut>(self, mut f: F) -> impl Future<Output = Result<bool>> + Send + 'static
    where
        F: FnMut(&T) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.some(move |x| f(x).map(|b| !b))
            .map(|r| r.map(|any_false| !any_false))
    }

    /// The filtered chunks as a stream read directly by a future (no output readable).
    #[allow(clippy::type_complexity)]
    fn filtered<F, Fut>(
        self,
        mut f: F,
    ) -> Result<impl futures_core::Stream<Item = Result<T>> + Send + Unpin + 'static>
    where
        F: FnMut(&T) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let (c, h) = self.options.checked()?;
        Ok(Concurrent::new(
            self.chunks(),
            move |x: T| {
                let keep = f(&x);
                keep.map(move |k| Ok(k.then_some(x)))
            },
            c,
            h,
        ))
    }
}
