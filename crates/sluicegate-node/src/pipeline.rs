//! `pipeline(source, ...transforms, sink)`: Node's `stream.pipeline` as a future.
//!
//! Every stage is piped into the next with backpressure; on the first error every stage is
//! destroyed, and the error the future reports is the first *real* one: a premature close that
//! the teardown itself causes never masks it (Node's rule, kept). An [`AbortSignal`] aborts the
//! whole pipeline with an `AbortError`.
//!
//! ```
//! use sluicegate_node::{Pipeline, Readable, Transform, Writable, Completion};
//! use std::sync::{Arc, Mutex};
//!
//! # futures::executor::block_on(async {
//! let got = Arc::new(Mutex::new(Vec::new()));
//! let g = got.clone();
//! Pipeline::from(Readable::from_iter(1..=3u32))
//!     .pipe(&Transform::map_fn(|x: u32| Some(x * 10)))
//!     .to(&Writable::from_fn(move |x: u32| { g.lock().unwrap().push(x); Completion::ok() }))
//!     .await
//!     .unwrap();
//! assert_eq!(*got.lock().unwrap(), [10, 20, 30]);
//! # });
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use parking_lot::Mutex;
use sluicegate::AbortSignal;

use crate::duplex::Duplex;
use crate::error::{Error, ErrorCode, Result};
use crate::events::ev;
use crate::finished::{eos, is_readable_finished, FinishedOptions};
use crate::readable::{AsWritable, Chunks, Readable};
use crate::stream::NodeStream;
use crate::tick::{Domain, Hold};

type Destroy = Box<dyn FnOnce(Option<Error>) + Send>;

struct State {
    error: Option<Error>,
    count: usize,
    destroys: Vec<Destroy>,
    done: Option<Result<()>>,
    waker: Option<Waker>,
    settled: bool,
    signal: Option<(AbortSignal, sluicegate::abort::AbortAlgorithmHandle)>,
    /// Removes the listeners the pipeline added, once it succeeded: streams it does not close
    /// (`autoDestroy: false`) are left as they were (Node leaves its listeners behind).
    cleanups: Vec<Box<dyn FnOnce() + Send>>,
}

struct Shared {
    state: Mutex<State>,
    domain: Arc<Domain>,
}

impl Shared {
    fn new(domain: Arc<Domain>) -> Arc<Self> {
        Arc::new(Shared {
            state: Mutex::new(State {
                error: None,
                count: 0,
                destroys: Vec::new(),
                done: None,
                waker: None,
                settled: false,
                signal: None,
                cleanups: Vec::new(),
            }),
            domain,
        })
    }

    /// `finish(err)`: one of the counted completions.
    fn finish(self: &Arc<Self>, err: Option<Error>) {
        let last = {
            let mut s = self.state.lock();
            s.count = s.count.saturating_sub(1);
            s.count == 0
        };
        self.finish_impl(err, last);
    }

    /// `finishImpl(err, final)`.
    fn finish_impl(self: &Arc<Self>, err: Option<Error>, last: bool) {
        let destroys = {
            let mut s = self.state.lock();
            if let Some(e) = err {
                if s.error
                    .as_ref()
                    .is_none_or(|x| x.code() == ErrorCode::PrematureClose)
                {
                    s.error = Some(e);
                }
            }
            if s.error.is_none() && !last {
                return;
            }
            std::mem::take(&mut s.destroys)
        };
        let error = self.state.lock().error.clone();
        for d in destroys {
            d(error.clone());
        }
        let signal = self.state.lock().signal.take();
        if let Some((sig, h)) = signal {
            sig.remove_algorithm(h);
        }
        if last {
            let cleanups = {
                let mut s = self.state.lock();
                if s.error.is_none() {
                    std::mem::take(&mut s.cleanups)
                } else {
                    Vec::new()
                }
            };
            for c in cleanups {
                c();
            }
            // `process.nextTick(callback, error, value)`: the error as it is now. A stage's
            // completion counted after the last one (a destination's `'close'` and its
            // end-of-stream both count) may still change `error`, but not the outcome.
            let (me, error) = (self.clone(), self.state.lock().error.clone());
            self.domain.next_tick(Box::new(move || me.settle(error)));
        }
    }

    fn settle(&self, error: Option<Error>) {
        let waker = {
            let mut s = self.state.lock();
            if s.settled {
                return;
            }
            s.settled = true;
            s.done = Some(match error {
                Some(e) => Err(e),
                None => Ok(()),
            });
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// `destroyer(stream, reading, writing)`.
    fn add_destroyer<S: NodeStream + Clone + 'static>(&self, stream: &S, reading: bool, writing: bool) {
        let finished = Arc::new(Mutex::new(false));
        let f = finished.clone();
        let life = stream.stream_ref().0;
        let id = life.listeners.with(|l| {
            l.close
                .add(Arc::new(move |_: &()| *f.lock() = true), false, false)
        });
        let l2 = life.clone();
        self.state.lock().cleanups.push(Box::new(move || {
            l2.listeners.with(|l| l.close.remove(id));
        }));
        let f = finished.clone();
        let _ = eos(
            &life,
            &FinishedOptions {
                readable: Some(reading),
                writable: Some(writing),
                ..FinishedOptions::default()
            },
            move |r| *f.lock() = r.is_ok(),
        );
        let s = stream.clone();
        self.state.lock().destroys.push(Box::new(move |err| {
            if std::mem::replace(&mut *finished.lock(), true) {
                return;
            }
            destroyer(&s, Some(err.unwrap_or_else(|| Error::destroyed("pipe"))));
        }));
    }

    /// The `'error'` listener every stage gets.
    fn on_error<S: NodeStream>(self: &Arc<Self>, stream: &S) {
        let me = self.clone();
        let life = stream.stream_ref().0;
        let id = life.listeners.with(|l| {
            l.error.add(
                Arc::new(move |e: &Error| {
                    if e.code() != ErrorCode::Abort && e.code() != ErrorCode::PrematureClose {
                        me.finish(Some(e.clone()));
                    }
                }),
                false,
                false,
            )
        });
        self.state.lock().cleanups.push(Box::new(move || {
            life.listeners.with(|l| l.error.remove(id));
        }));
    }
}

/// `destroyImpl.destroyer(stream, err)`.
fn destroyer<S: NodeStream>(s: &S, err: Option<Error>) {
    if s.is_destroyed() {
        return;
    }
    s.destroy_stream(err);
}

/// A pipeline being built: the source and the stages so far, ending in `T`s.
pub struct Pipeline<T: Send + 'static> {
    shared: Arc<Shared>,
    last: Readable<T>,
}

impl<T: Send + 'static> Pipeline<T> {
    /// Starts a pipeline at an iterator (Node's `pipeline(iterable, ...)`), read with
    /// backpressure as [`Readable::from_iter`] reads it.
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<I>(iter: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        Self::from(Readable::from_iter(iter))
    }

    /// Starts a pipeline at a `futures::Stream` (Node's `pipeline(asyncIterable, ...)`).
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = T> + Send + 'static,
    {
        Self::from(Readable::from_stream(stream))
    }

    /// Starts a pipeline at a `futures::Stream` of results: an `Err` fails the pipeline.
    pub fn from_try_stream<S, E>(stream: S) -> Self
    where
        S: Stream<Item = std::result::Result<T, E>> + Send + 'static,
        E: Into<Error> + Send + 'static,
    {
        Self::from(Readable::from_try_stream(stream))
    }

    /// Starts a pipeline at `source` (a [`Readable`]; make one from an iterator with
    /// [`Readable::from_iter`] or from a `futures::Stream` with [`Readable::from_stream`]).
    pub fn from(source: Readable<T>) -> Self {
        let shared = Shared::new(source.0.life.domain().clone());
        shared.add_destroyer(&source, true, false);
        shared.on_error(&source);
        Pipeline { shared, last: source }
    }

    /// Aborts the pipeline (every stage destroyed, the future fails with `AbortError`) when
    /// `signal` aborts.
    pub fn signal(self, signal: &AbortSignal) -> Self {
        let me = self.shared.clone();
        let abort = move |reason: Option<Error>| {
            let _g = me.domain.enter();
            me.finish_impl(Some(Error::abort(reason)), false);
        };
        if signal.aborted() {
            let reason = signal.reason().map(Error::from);
            self.shared.domain.next_tick(Box::new(move || abort(reason)));
        } else {
            let h = signal.add_algorithm(move |r| abort(Some(Error::from(r.clone()))));
            self.shared.state.lock().signal = Some((signal.clone(), h));
        }
        self
    }

    /// Pipes into a duplex or transform stage.
    pub fn pipe<U: Send + 'static>(self, stage: &Duplex<T, U>) -> Pipeline<U> {
        // Node's order: the stage's destroyer and error listener first, then the pipe.
        self.shared.add_destroyer(stage, true, true);
        self.shared.on_error(stage);
        self.connect(&stage.as_writable(), stage, true);
        Pipeline {
            shared: self.shared,
            last: stage.readable_side().clone(),
        }
    }

    /// An async-generator stage: `f` gets the previous stage's chunks as a `futures::Stream`
    /// and returns the stream of this stage's output.
    pub fn map_stream<U, S, F>(self, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: FnOnce(Chunks<T>) -> S,
        S: Stream<Item = Result<U>> + Send + 'static,
    {
        let next = Readable::from_try_stream(f(self.last.iter()));
        Domain::join(self.last.0.life.domain(), next.0.life.domain());
        // The previous stage is consumed by the iterator, which destroys it on early drop;
        // its completion is counted through the new readable's end.
        self.shared.add_destroyer(&next, true, false);
        self.shared.on_error(&next);
        Pipeline {
            shared: self.shared,
            last: next,
        }
    }

    /// Ends the pipeline in a writable (or the writable side of a duplex) and returns the
    /// future.
    pub fn to<D>(self, sink: &D) -> PipelineFuture
    where
        D: AsWritable<T> + NodeStream + Clone + 'static,
    {
        let shared = self.shared.clone();
        let p = self;
        shared.add_destroyer(sink, false, true);
        shared.on_error(sink);
        p.connect(&sink.as_writable(), sink, true);
        PipelineFuture {
            hold: Hold::new(&shared.domain),
            shared,
            value: Arc::new(Mutex::new(Some(()))),
        }
    }

    /// Ends the pipeline in an async function (Node's `async function (source) { .. }` as the
    /// last stage): `f` gets the last stage's chunks as a `futures::Stream`, and what it returns
    /// is the pipeline's result, once every stage is done. An error it returns fails the
    /// pipeline and destroys every stage; if it returns without reading everything, the stages
    /// left are destroyed and the result stands.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use sluicegate_node::{Pipeline, Transform};
    ///
    /// # futures::executor::block_on(async {
    /// let total = Pipeline::from_iter(1..=4u32)
    ///     .pipe(&Transform::map_fn(|x: u32| Some(x * 10)))
    ///     .to_fn(|mut chunks| async move {
    ///         let mut sum = 0;
    ///         while let Some(x) = chunks.next().await {
    ///             sum += x?;
    ///         }
    ///         Ok(sum)
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(total, 100);
    /// # });
    /// ```
    pub fn to_fn<R, F, Fut>(self, f: F) -> PipelineFuture<R>
    where
        R: Send + 'static,
        F: FnOnce(Chunks<T>) -> Fut,
        Fut: Future<Output = Result<R>> + Send + 'static,
    {
        let shared = self.shared.clone();
        let value = Arc::new(Mutex::new(None));
        let _g = shared.domain.enter();
        shared.state.lock().count += 1;
        let work = f(self.last.iter());
        let (s, v) = (shared.clone(), value.clone());
        shared.domain.spawn(Box::pin(async move {
            match work.await {
                Ok(r) => {
                    *v.lock() = Some(r);
                    s.finish(None);
                }
                Err(e) => s.finish(Some(e)),
            }
        }));
        drop(_g);
        PipelineFuture {
            hold: Hold::new(&shared.domain),
            shared,
            value,
        }
    }

    /// Ends the pipeline by collecting every chunk (an async-function stage that returns
    /// them all).
    pub fn collect(self) -> PipelineFuture<Vec<T>> {
        self.to_fn(|mut chunks| async move {
            let mut out = Vec::new();
            while let Some(c) = futures_util::StreamExt::next(&mut chunks).await {
                out.push(c?);
            }
            Ok(out)
        })
    }

    /// `pipe(src, dst, finish, { end })`.
    fn connect<D: NodeStream>(&self, dst: &crate::Writable<T>, dst_stream: &D, end: bool) {
        let _ = dst_stream;
        let shared = self.shared.clone();
        let src = self.last.clone();
        Domain::join(src.0.life.domain(), dst.0.life.domain());
        let _g = src.0.life.domain().enter();
        shared.state.lock().count += 2;
        let ended = Arc::new(Mutex::new(false));
        let (e2, s2) = (ended.clone(), shared.clone());
        let id = dst.on(ev::Close, move |_| {
            if !*e2.lock() {
                s2.finish(Some(Error::premature_close()));
            }
        });
        let d2 = dst.clone();
        shared.state.lock().cleanups.push(Box::new(move || {
            d2.off(id);
        }));
        src.pipe_inner(dst, false);
        if end {
            let (e3, d3) = (ended.clone(), dst.clone());
            let end_fn = move || {
                *e3.lock() = true;
                d3.end();
            };
            // An errored source is not finished (one whose `_destroy` failed after its end does
            // not end `dst`).
            if is_readable_finished(&src.0.life, true) {
                src.0.life.domain().next_tick(Box::new(end_fn));
            } else {
                src.once(ev::End, move |_| end_fn());
            }
        }
        let (s4, src4) = (shared.clone(), src.clone());
        let _ = eos(
            &src.0.life,
            &FinishedOptions {
                readable: Some(true),
                writable: Some(false),
                ..FinishedOptions::default()
            },
            move |r| match r {
                Err(e)
                    if e.code() == ErrorCode::PrematureClose
                        && src4.0.state.with(|s| s.has(crate::readable::rf::ENDED))
                        && src4.errored().is_none() =>
                {
                    let (s5, s6) = (s4.clone(), s4.clone());
                    src4.once(ev::End, move |_| s5.finish(None));
                    src4.once(ev::Error, move |e| s6.finish(Some(e.clone())));
                }
                r => s4.finish(r.err()),
            },
        );
        let s7 = shared.clone();
        let _ = eos(
            &dst.0.life,
            &FinishedOptions {
                readable: Some(false),
                writable: Some(true),
                ..FinishedOptions::default()
            },
            move |r| s7.finish(r.err()),
        );
    }
}

/// `pipeline(source, sink)`: two stages.
pub fn pipeline<T, D>(source: &Readable<T>, sink: &D) -> PipelineFuture<()>
where
    T: Send + 'static,
    D: AsWritable<T> + NodeStream + Clone + 'static,
{
    Pipeline::from(source.clone()).to(sink)
}

/// The future of a pipeline: runs the stages' event loop; settles after every stage is done
/// (or destroyed on the first error) with `R`, the value of an async-function last stage
/// ([`Pipeline::to_fn`]), or `()`.
///
/// The stages run whether or not it is polled, as long as something runs their loop (it is
/// the future that reports, not the engine).
#[must_use = "futures do nothing unless polled"]
pub struct PipelineFuture<R = ()> {
    /// The future runs the stages' loop, so it counts as a handle on it (not `shared`, which
    /// the stages' listeners hold).
    hold: Hold,
    shared: Arc<Shared>,
    value: Arc<Mutex<Option<R>>>,
}

impl<R> PipelineFuture<R> {
    fn outcome(&self, r: Result<()>) -> Result<R> {
        r?;
        self.value.lock().take().ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidReturnValue,
                "the pipeline's result was already taken",
            )
        })
    }
}

impl<R> Future for PipelineFuture<R> {
    type Output = Result<R>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        {
            let mut s = self.shared.state.lock();
            if let Some(r) = s.done.take() {
                drop(s);
                return Poll::Ready(self.outcome(r));
            }
            s.waker = Some(cx.waker().clone());
        }
        self.hold.poll_run(cx);
        let done = self.shared.state.lock().done.take();
        match done {
            Some(r) => Poll::Ready(self.outcome(r)),
            None => Poll::Pending,
        }
    }
}
