//! The engine of `map`, `filter`, `flat_map` and `for_each`: up to `concurrency` calls of the
//! user's function in flight, their results handed on in input order, and at most
//! `high_water_mark + concurrency` items held between the source and the consumer (Node's
//! `map` in `lib/internal/streams/operators.js`, with the same limits).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;

use crate::error::Result;
use crate::readable::Chunks;

/// A call in flight, tagged with its input's position.
struct Seq<F> {
    seq: u64,
    fut: Pin<Box<F>>,
}

impl<F: Future> Future for Seq<F> {
    type Output = (u64, F::Output);
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let seq = self.seq;
        self.fut.as_mut().poll(cx).map(|out| (seq, out))
    }
}

/// The ordered, bounded, concurrent map over a readable's chunks. `G` turns an input into a
/// future of `Ok(Some(output))`, `Ok(None)` (nothing to hand on: `filter`'s rejects,
/// `for_each`) or an error.
pub(crate) struct Concurrent<T: Send + 'static, U, G, F> {
    /// The source's chunks; `None` once it ended (or must not be read any more).
    src: Option<Chunks<T>>,
    g: G,
    running: FuturesUnordered<Seq<F>>,
    /// One slot per input taken, in order: `None` while its call runs.
    queue: VecDeque<Option<Result<Option<U>>>>,
    /// The position of `queue`'s front.
    base: u64,
    next: u64,
    concurrency: usize,
    /// `highWaterMark + concurrency`: the most slots held at once.
    limit: usize,
    /// An error was seen: take no more input (Node's `done`).
    stopped: bool,
    finished: bool,
}

impl<T, U, G, F> Concurrent<T, U, G, F>
where
    T: Send + 'static,
    G: FnMut(T) -> F,
    F: Future<Output = Result<Option<U>>>,
{
    pub(crate) fn new(src: Chunks<T>, g: G, concurrency: usize, high_water_mark: usize) -> Self {
        Concurrent {
            src: Some(src),
            g,
            running: FuturesUnordered::new(),
            queue: VecDeque::new(),
            base: 0,
            next: 0,
            concurrency,
            limit: high_water_mark + concurrency,
            stopped: false,
            finished: false,
        }
    }

    /// Takes inputs while there is room and the source has them.
    fn pull(&mut self, cx: &mut Context<'_>) {
        while !self.stopped && self.running.len() < self.concurrency && self.queue.len() < self.limit {
            let Some(src) = self.src.as_mut() else { return };
            match src.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(v))) => {
                    let fut = Box::pin((self.g)(v));
                    self.running.push(Seq { seq: self.next, fut });
                    self.queue.push_back(None);
                    self.next += 1;
                }
                Poll::Ready(Some(Err(e))) => {
                    // After the items already taken, as Node's pump queues the rejection.
                    self.queue.push_back(Some(Err(e)));
                    self.next += 1;
                    self.stopped = true;
                }
                Poll::Ready(None) => self.src = None,
                Poll::Pending => return,
            }
        }
    }
}

// Nothing in it is pinned in place (the calls' futures are boxed), so it moves freely whatever
// `G` and `U` are.
impl<T: Send + 'static, U, G, F> Unpin for Concurrent<T, U, G, F> {}

impl<T, U, G, F> Stream for Concurrent<T, U, G, F>
where
    T: Send + 'static,
    G: FnMut(T) -> F,
    F: Future<Output = Result<Option<U>>>,
{
    type Item = Result<U>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<U>>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        loop {
            this.pull(cx);
            while let Poll::Ready(Some((seq, r))) = this.running.poll_next_unpin(cx) {
                if r.is_err() {
                    this.stopped = true;
                }
                let i = (seq - this.base) as usize;
                this.queue[i] = Some(r);
            }
            match this.queue.front() {
                Some(Some(_)) => {
                    let r = this.queue.pop_front().flatten().expect("checked");
                    this.base += 1;
                    match r {
                        Ok(Some(u)) => return Poll::Ready(Some(Ok(u))),
                        Ok(None) => continue,
                        Err(e) => {
                            // The first error in input order ends the stream; what is still
                            // running is dropped, and with it the source (destroyed).
                            this.finish();
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                }
                Some(None) => return Poll::Pending,
                None if this.src.is_none() || this.stopped => {
                    this.finish();
                    return Poll::Ready(None);
                }
                None => return Poll::Pending,
            }
        }
    }
}

impl<T: Send + 'static, U, G, F> Concurrent<T, U, G, F> {
    fn finish(&mut self) {
        self.finished = true;
        self.queue.clear();
        self.running = FuturesUnordered::new();
        self.src = None;
    }
}
