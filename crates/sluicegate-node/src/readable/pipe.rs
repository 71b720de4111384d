//! `Readable.prototype.pipe` and `unpipe`: Node's classic pipe, with its listeners, its
//! `awaitDrainWriters` bookkeeping and its clean-up, over typed events.
//!
//! A pipe does not forward errors (Node's rule, and the first pain [`pipeline`](crate::pipeline())
//! fixes): an error on the destination unpipes it; an error on the source leaves the destination
//! open.

use std::sync::Arc;

use parking_lot::Mutex;

use super::state::rf;
use super::{DataFn, Readable};
use crate::events::{ev, ListenerId};
use crate::tick::Domain;
use crate::writable::Writable;

/// Anything a readable can pipe into: a [`Writable`], or the writable side of a duplex,
/// transform or pass-through.
pub trait AsWritable<T: Send + 'static> {
    /// The writable side.
    fn as_writable(&self) -> Writable<T>;
}

impl<T: Send + 'static> AsWritable<T> for Writable<T> {
    fn as_writable(&self) -> Writable<T> {
        self.clone()
    }
}

/// Options of [`Readable::pipe_with`].
#[derive(Clone, Copy, Debug)]
pub struct PipeOptions {
    /// `end`: end the destination when the source ends (default true).
    pub end: bool,
}

impl Default for PipeOptions {
    fn default() -> Self {
        PipeOptions { end: true }
    }
}

#[derive(Default)]
struct Ids {
    data: Option<ListenerId>,
    end: Option<ListenerId>,
    unpipe: Option<ListenerId>,
    error: Option<ListenerId>,
    close: Option<ListenerId>,
    finish: Option<ListenerId>,
    drain: Option<ListenerId>,
    cleaned_up: bool,
}

/// One `pipe()`: its source, its destination and the ids of the listeners it added.
pub(crate) struct Pipe<T: Send + 'static> {
    src: Readable<T>,
    dest: Writable<T>,
    ids: Mutex<Ids>,
}

/// The pipe's `ondata`: write the chunk, and pause the source when `write()` says so.
#[inline(always)]
pub(crate) fn on_data<T: Send + 'static>(p: &Arc<Pipe<T>>, chunk: T) {
    if !p.dest.write(chunk) {
        pause(p);
    }
}

impl<T: Send + 'static> Readable<T> {
    /// `pipe(dest)`: sends every chunk to `dest`, pausing while `dest.write()` returns `false`
    /// until its `'drain'`, and ends `dest` when this stream ends. Returns `dest`.
    ///
    /// `T: Clone` lets one readable feed several destinations (each gets the chunk in Node's
    /// listener order); [`pipeline`](crate::pipeline()) needs no `Clone`.
    pub fn pipe<D: AsWritable<T>>(&self, dest: &D) -> Writable<T>
    where
        T: Clone,
    {
        self.pipe_with(dest, PipeOptions::default())
    }

    /// `pipe(dest, { end })`.
    pub fn pipe_with<D: AsWritable<T>>(&self, dest: &D, options: PipeOptions) -> Writable<T>
    where
        T: Clone,
    {
        self.set_clone_fn(T::clone);
        self.pipe_inner(&dest.as_writable(), options.end)
    }

    /// The pipe, for chunk types that are not `Clone` (one destination at a time).
    pub(crate) fn pipe_inner(&self, dest: &Writable<T>, end: bool) -> Writable<T> {
        Domain::join(self.0.life.domain(), dest.0.life.domain());
        let _e = self.0.life.domain().enter();
        let end_emitted = self.0.state.with(|s| {
            if s.pipes.len() == 1 && !s.has(rf::MULTI_AWAIT_DRAIN) {
                s.set(rf::MULTI_AWAIT_DRAIN);
            }
            s.pipes.push(dest.clone());
            s.has(rf::END_EMITTED)
        });
        let p = Arc::new(Pipe {
            src: self.clone(),
            dest: dest.clone(),
            ids: Mutex::new(Ids::default()),
        });

        // 'end' → dest.end() (or unpipe when `end: false`).
        let q = p.clone();
        let end_fn = move || {
            if end {
                q.dest.end();
            } else {
                q.src.unpipe(Some(&q.dest));
            }
        };
        if end_emitted {
            self.0.life.domain().next_tick(Box::new(end_fn));
        } else {
            let id = self.once(ev::End, move |_| end_fn());
            p.ids.lock().end = Some(id);
        }

        let q = p.clone();
        let id = dest.on(ev::Unpipe, move |src| {
            if *src == q.src.id() {
                let first = q.src.0.state.with(|s| {
                    let first = !s.unpipe_handled;
                    s.unpipe_handled = true;
                    first
                });
                if first {
                    cleanup(&q);
                }
            }
        });
        p.ids.lock().unpipe = Some(id);

        let data = self
            .0
            .listeners()
            .with(|l| l.data.add(DataFn::Pipe(p.clone()), false, false));
        p.ids.lock().data = Some(data);
        self.on_data_added();

        // Make sure our error handler is attached before userland ones.
        let q = p.clone();
        let id = dest.prepend_listener(ev::Error, move |_err| {
            q.src.unpipe(Some(&q.dest));
            if let Some(id) = q.ids.lock().error.take() {
                q.dest.off(id);
            }
        });
        p.ids.lock().error = Some(id);

        let q = p.clone();
        let id = dest.once(ev::Close, move |_| {
            if let Some(id) = q.ids.lock().finish.take() {
                q.dest.off(id);
            }
            q.src.unpipe(Some(&q.dest));
        });
        p.ids.lock().close = Some(id);

        let q = p.clone();
        let id = dest.once(ev::Finish, move |_| {
            if let Some(id) = q.ids.lock().close.take() {
                q.dest.off(id);
            }
            q.src.unpipe(Some(&q.dest));
        });
        p.ids.lock().finish = Some(id);

        dest.emit_pipe(self.id(), false);

        if dest.writable_need_drain() {
            pause(&p);
        } else if !self.0.state.with(|s| s.has(rf::FLOWING)) {
            self.resume_inner();
        }
        dest.clone()
    }

    /// `unpipe(dest)`: stop piping into `dest`, or into every destination with `None`.
    pub fn unpipe(&self, dest: Option<&Writable<T>>) -> &Self {
        let _e = self.0.life.domain().enter();
        match dest {
            None => {
                let dests = self.0.state.with(|s| std::mem::take(&mut s.pipes));
                if dests.is_empty() {
                    return self;
                }
                self.pause_inner();
                for d in dests {
                    self.0.state.with(|s| s.unpipe_handled = false);
                    d.emit_pipe(self.id(), true);
                }
            }
            Some(dest) => {
                let (found, now_empty) =
                    self.0
                        .state
                        .with(|s| match s.pipes.iter().position(|d| d.id() == dest.id()) {
                            Some(i) => {
                                s.pipes.remove(i);
                                (true, s.pipes.is_empty())
                            }
                            None => (false, false),
                        });
                if !found {
                    return self;
                }
                if now_empty {
                    self.pause_inner();
                }
                self.0.state.with(|s| s.unpipe_handled = false);
                dest.emit_pipe(self.id(), true);
            }
        }
        self
    }
}

/// The pipe's `pause()`: remember which destination we wait on, pause, listen for its drain.
fn pause<T: Send + 'static>(p: &Arc<Pipe<T>>) {
    let cleaned = p.ids.lock().cleaned_up;
    if !cleaned {
        let dest_id = p.dest.id();
        p.src.0.state.with(|s| {
            if s.pipes.len() == 1 && s.pipes[0].id() == dest_id {
                s.await_drain.clear();
                s.await_drain.push(dest_id);
                s.clear(rf::MULTI_AWAIT_DRAIN);
            } else if s.pipes.len() > 1
                && s.pipes.iter().any(|d| d.id() == dest_id)
                && !s.await_drain.contains(&dest_id)
            {
                s.await_drain.push(dest_id);
            }
        });
    }
    p.src.pause_inner();
    let need = p.ids.lock().drain.is_none();
    if need {
        let q = p.clone();
        let id = p.dest.on(ev::Drain, move |_| pipe_on_drain(&q));
        p.ids.lock().drain = Some(id);
    }
}

/// `pipeOnDrain(src, dest)`.
fn pipe_on_drain<T: Send + 'static>(p: &Arc<Pipe<T>>) {
    let dest_id = p.dest.id();
    let resume = p.src.0.state.with(|s| {
        if s.await_drain.len() == 1 && s.await_drain[0] == dest_id && !s.has(rf::MULTI_AWAIT_DRAIN) {
            s.await_drain.clear();
        } else if s.has(rf::MULTI_AWAIT_DRAIN) {
            s.await_drain.retain(|d| *d != dest_id);
        }
        s.await_drain.is_empty() && s.has(rf::DATA_LISTENING)
    });
    if resume {
        p.src.resume_inner();
    }
}

/// The pipe's `cleanup()`.
fn cleanup<T: Send + 'static>(p: &Arc<Pipe<T>>) {
    let ids = std::mem::take(&mut *p.ids.lock());
    for id in [ids.close, ids.finish, ids.drain, ids.error, ids.unpipe]
        .into_iter()
        .flatten()
    {
        p.dest.off(id);
    }
    for id in [ids.end, ids.data].into_iter().flatten() {
        p.src.off(id);
    }
    p.ids.lock().cleaned_up = true;
    // Node asks `dest._writableState.needDrain`, the slot, not the `writableNeedDrain` getter:
    // a destination that errored or was destroyed while the source waited for its drain still
    // lets the source go on (resuming it if it has other `'data'` listeners).
    // Node's `state.awaitDrainWriters` is truthy when it names a writer, and always once the
    // source feeds several pipes: it is a `Set` then, empty or not.
    let waiting = p
        .src
        .0
        .state
        .with(|s| !s.await_drain.is_empty() || s.has(rf::MULTI_AWAIT_DRAIN));
    if ids.drain.is_some() && waiting && p.dest.need_drain_slot() {
        pipe_on_drain(p);
    }
}
