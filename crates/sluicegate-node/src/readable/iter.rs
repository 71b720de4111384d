//! Async iteration (`for await (const chunk of readable)`) as a `futures::Stream`, and a
//! next-chunk future.
//!
//! Like Node's iterator it reads in paused mode (a `'readable'` listener and `read()`), ends
//! after `'end'`, yields the stream's error once, and, when dropped before the end, destroys
//! the stream (with an `AbortError`) unless [`IterOptions::destroy_on_return`] is `false`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use parking_lot::Mutex;

use super::{Got, Readable};
use crate::destroy::lf;
use crate::error::{Error, Result};
use crate::events::{ev, ListenerId};
use crate::finished::{eos, FinishedOptions};

/// Options of [`Readable::iter_with`].
#[derive(Clone, Copy, Debug)]
pub struct IterOptions {
    /// Destroy the stream when the iterator is dropped before the end (default true).
    pub destroy_on_return: bool,
}

impl Default for IterOptions {
    fn default() -> Self {
        IterOptions {
            destroy_on_return: true,
        }
    }
}

#[derive(Default)]
struct Shared {
    waker: Option<Waker>,
    /// Node's `error`: `None` is `undefined` (going on), `Some(Ok)` is `null` (ended).
    outcome: Option<Result<()>>,
    woken: bool,
}

/// A readable as a `futures::Stream` of chunks ([`Readable::iter`]).
#[must_use = "streams do nothing unless polled"]
pub struct Chunks<T: Send + 'static> {
    stream: Readable<T>,
    shared: Arc<Mutex<Shared>>,
    readable_id: Option<ListenerId>,
    eos: Option<crate::finished::Cleanup>,
    options: IterOptions,
    done: bool,
}

impl<T: Send + 'static> Readable<T> {
    /// `readable[Symbol.asyncIterator]()`.
    pub fn iter(&self) -> Chunks<T> {
        self.iter_with(IterOptions::default())
    }

    /// `readable.iterator({ destroyOnReturn })`.
    pub fn iter_with(&self, options: IterOptions) -> Chunks<T> {
        let _e = self.0.life.domain().enter();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let s = shared.clone();
        let readable_id = self.on(ev::Readable, move |_| wake(&s));
        let s = shared.clone();
        let cleanup = crate::finished::Cleanup::from_eos(eos(
            &self.0.life,
            &FinishedOptions {
                writable: Some(false),
                ..FinishedOptions::default()
            },
            move |r| {
                let mut g = s.lock();
                g.outcome = Some(match (g.outcome.take(), r) {
                    (Some(Err(e)), _) => Err(e),
                    (_, r) => r,
                });
                drop(g);
                wake(&s);
            },
        ));
        Chunks {
            stream: self.clone(),
            shared,
            readable_id: Some(readable_id),
            eos: Some(cleanup),
            options,
            done: false,
        }
    }

    /// The next chunk, waiting for one (paused-mode `read()` after `'readable'`): `Ok(None)` at
    /// the end, `Err` if the stream errored. The stream is not destroyed if the future is
    /// dropped.
    pub fn next_chunk(&self) -> NextChunk<T> {
        NextChunk {
            chunks: Some(self.iter_with(IterOptions {
                destroy_on_return: false,
            })),
        }
    }
}

fn wake(s: &Arc<Mutex<Shared>>) {
    let w = {
        let mut g = s.lock();
        g.woken = true;
        g.waker.take()
    };
    if let Some(w) = w {
        w.wake();
    }
}

enum Next<T> {
    Item(Result<T>),
    End,
    Wait,
}

impl<T: Send + 'static> Chunks<T> {
    fn try_next(&mut self) -> Next<T> {
        loop {
            if !self.stream.0.life.has(lf::DESTROYED) {
                match self.stream.read_with(None, true) {
                    Got::Chunk(c) => return Next::Item(Ok(c)),
                    Got::Taken => continue,
                    Got::Nothing => {}
                }
            }
            let outcome = self.shared.lock().outcome.clone();
            return match outcome {
                Some(Err(e)) => {
                    self.finish();
                    Next::Item(Err(e))
                }
                Some(Ok(())) => Next::End,
                None => Next::Wait,
            };
        }
    }

    fn finish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        let _e = self.stream.0.life.domain().enter();
        if let Some(id) = self.readable_id.take() {
            self.stream.off(id);
        }
        if let Some(c) = self.eos.take() {
            c.cleanup();
        }
    }
}

impl<T: Send + 'static> Stream for Chunks<T> {
    type Item = Result<T>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        if self.done {
            return Poll::Ready(None);
        }
        for _ in 0..2 {
            let domain = self.stream.0.life.domain().clone();
            let _e = domain.enter();
            self.shared.lock().woken = false;
            match self.try_next() {
                Next::Wait => {}
                Next::Item(item) => return Poll::Ready(Some(item)),
                Next::End => {
                    drop(_e);
                    self.finish_normally();
                    return Poll::Ready(None);
                }
            }
            self.shared.lock().waker = Some(cx.waker().clone());
            drop(_e);
            self.stream.0.life.domain().poll_run(cx);
            if !self.shared.lock().woken {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<T: Send + 'static> Chunks<T> {
    fn finish_normally(&mut self) {
        let auto = self.stream.0.life.has(lf::AUTO_DESTROY);
        self.finish();
        if auto {
            destroyer(&self.stream);
        }
    }
}

/// `destroyImpl.destroyer(stream, null)`: destroy, with an `AbortError` if not finished.
fn destroyer<T: Send + 'static>(r: &Readable<T>) {
    let _e = r.0.life.domain().enter();
    if r.destroyed() {
        return;
    }
    let err = r.readable().then(|| Error::abort(None));
    r.destroy(err);
}

impl<T: Send + 'static> Drop for Chunks<T> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let errored = matches!(self.shared.lock().outcome, Some(Err(_)));
        let destroy = self.options.destroy_on_return || errored;
        self.finish();
        if destroy {
            destroyer(&self.stream);
        }
    }
}

/// The future of [`Readable::next_chunk`].
#[must_use = "futures do nothing unless polled"]
pub struct NextChunk<T: Send + 'static> {
    chunks: Option<Chunks<T>>,
}

impl<T: Send + 'static> std::future::Future for NextChunk<T> {
    type Output = Result<Option<T>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Option<T>>> {
        let Some(chunks) = self.chunks.as_mut() else {
            return Poll::Ready(Ok(None));
        };
        let r = match Pin::new(&mut *chunks).poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => Ok(None),
            Poll::Ready(Some(Ok(c))) => Ok(Some(c)),
            Poll::Ready(Some(Err(e))) => Err(e),
        };
        if let Some(mut c) = self.chunks.take() {
            c.finish();
        }
        Poll::Ready(r)
    }
}
