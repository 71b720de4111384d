//! `compose(head, tail)`: two streams as one duplex (Node's `stream.compose` and
//! `readable.compose`, from `lib/internal/streams/compose.js`).
//!
//! Writes go into `head`, reads come out of `tail`, the two are joined by [`pipeline`]'s rules
//! (an error anywhere destroys every part, and the composed stream with it), and destroying
//! the composed stream destroys its parts.
//!
//! ```
//! use sluicegate_node::{compose, Transform};
//!
//! # futures::executor::block_on(async {
//! let double = Transform::map_fn(|x: u32| Some(x * 2));
//! let show = Transform::map_fn(|x: u32| Some(format!("<{x}>")));
//! let both = compose(&double, &show);
//! both.write(1);
//! both.write(2);
//! both.end();
//! assert_eq!(both.readable_side().to_array().await.unwrap(), ["<2>", "<4>"]);
//! # });
//! ```
//!
//! [`pipeline`]: crate::pipeline()

use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::completion::{Callback, Completion};
use crate::duplex::{Duplex, DuplexOptions};
use crate::error::{Error, Result};
use crate::events::ev;
use crate::finished::{finished_with, FinishedOptions};
use crate::implementor::DuplexImpl;
use crate::pipeline::Pipeline;
use crate::readable::{ReadCore, Readable, ReadableOptions};
use crate::stream::NodeStream;
use crate::tick::Domain;
use crate::writable::{Writable, WritableOptions};

/// What the composed stream waits for (Node's `ondrain`, `onfinish`, `onreadable`, `onclose`).
#[derive(Default)]
struct Waiting {
    drain: Option<Callback>,
    finish: Option<Callback>,
    readable: bool,
    /// Whether the inner pipeline ended, or a destroy waits for it to (Node's `onclose`).
    close: CloseState,
}

#[derive(Default)]
enum CloseState {
    #[default]
    Running,
    Destroying(Callback, Option<Error>),
    Done,
}

struct Composed<A: Send + 'static, C: Send + 'static> {
    head: Option<Writable<A>>,
    tail: Option<Readable<C>>,
    waiting: Arc<Mutex<Waiting>>,
    /// Destroys the tail (and through the pipeline, every part).
    destroy_tail: Option<Box<dyn Fn(Option<Error>) + Send + Sync>>,
}

/// Moves what `tail` has buffered into `out` until it runs dry (then waits for its
/// `'readable'`) or `out` is full (Node's composed `_read`).
fn pump<C: Send + 'static>(tail: &Readable<C>, out: &Readable<C>, waiting: &Mutex<Waiting>) {
    loop {
        match tail.read() {
            None => {
                waiting.lock().readable = true;
                return;
            }
            Some(c) => {
                if !out.push(c) {
                    return;
                }
            }
        }
    }
}

impl<A: Send + 'static, C: Send + 'static> DuplexImpl<A, C> for Composed<A, C> {
    fn read(&mut self, _size: usize, stream: &Readable<C>) {
        if let Some(tail) = &self.tail {
            pump(tail, stream, &self.waiting);
        }
    }

    fn write(&mut self, chunk: A) -> Completion {
        let Some(head) = &self.head else {
            return Completion::err(Error::destroyed("write"));
        };
        if head.write(chunk) {
            return Completion::ok();
        }
        let (c, cb) = Completion::callback();
        self.waiting.lock().drain = Some(cb);
        c
    }

    fn finalize(&mut self) -> Option<Completion> {
        let head = self.head.as_ref()?;
        let (c, cb) = Completion::callback();
        self.waiting.lock().finish = Some(cb);
        head.end();
        Some(c)
    }

    fn destroy(&mut self, err: Option<Error>) -> Completion {
        let mut w = self.waiting.lock();
        let running = matches!(w.close, CloseState::Running);
        let err = match err {
            None if running => Some(Error::abort(None)),
            e => e,
        };
        w.readable = false;
        drop(w.drain.take());
        drop(w.finish.take());
        if !running {
            return crate::destroy::to_result(err).into();
        }
        let (c, cb) = Completion::callback();
        w.close = CloseState::Destroying(cb, err.clone());
        drop(w);
        if let Some(d) = &self.destroy_tail {
            d(err);
        }
        c
    }
}

/// Node's `onfinished(err)`: the inner pipeline ended.
fn on_pipeline_end<A: Send + 'static, C: Send + 'static>(
    waiting: &Mutex<Waiting>,
    d: &Weak<(Readable<C>, Writable<A>)>,
    err: Option<Error>,
) {
    let prev = std::mem::replace(&mut waiting.lock().close, CloseState::Done);
    match prev {
        CloseState::Destroying(cb, derr) => cb.call(match derr.or(err) {
            Some(e) => Err(e),
            None => Ok(()),
        }),
        _ => {
            if let Some(sides) = d.upgrade() {
                if let Some(e) = err {
                    sides.0.destroy(Some(e));
                }
            }
        }
    }
}

/// `stream.compose(head, tail)`: a duplex that writes into `head` and reads from `tail`, with
/// `head`'s output piped into `tail` under [`pipeline`](crate::pipeline())'s error rules.
pub fn compose<A, B, C>(head: &Duplex<A, B>, tail: &Duplex<B, C>) -> Duplex<A, C>
where
    A: Send + 'static,
    B: Send + 'static,
    C: Send + 'static,
{
    let lp = head.readable_side().event_loop();
    Domain::join(lp.domain(), tail.readable_side().0.life.domain());
    let waiting = Arc::new(Mutex::new(Waiting::default()));
    let t = tail.clone();
    let composed = Composed {
        head: Some(head.writable_side().clone()),
        tail: Some(tail.readable_side().clone()),
        waiting: waiting.clone(),
        destroy_tail: Some(Box::new(move |e| {
            if !t.is_destroyed() {
                t.destroy_stream(Some(e.unwrap_or_else(|| Error::destroyed("compose"))));
            }
        })),
    };
    let d = Duplex::with_options(
        composed,
        DuplexOptions {
            readable: ReadableOptions::objects(),
            writable: WritableOptions::objects(),
            event_loop: Some(lp.clone()),
            ..DuplexOptions::default()
        },
    );
    wire(
        &d,
        Some(head.writable_side()),
        tail.readable_side(),
        &waiting,
        Pipeline::from(head.readable_side().clone()).to(tail),
    );
    d
}

/// The listeners and the pipeline's end that drive a composed duplex.
fn wire<A: Send + 'static, C: Send + 'static>(
    d: &Duplex<A, C>,
    head: Option<&Writable<A>>,
    tail: &Readable<C>,
    waiting: &Arc<Mutex<Waiting>>,
    inner: crate::pipeline::PipelineFuture,
) {
    let sides = Arc::new((d.readable_side().clone(), d.writable_side().clone()));
    let weak = Arc::downgrade(&sides);
    // The composed stream owns `sides` through the pipeline's end below; the listeners hold
    // weak handles, so a composed stream dropped without being destroyed is freed.
    if let Some(head) = head {
        let w = waiting.clone();
        head.on(ev::Drain, move |_| {
            let cb = w.lock().drain.take();
            if let Some(cb) = cb {
                cb.ok();
            }
        });
    }
    let w = waiting.clone();
    let out: Weak<ReadCore<C>> = Arc::downgrade(&d.readable_side().0);
    let t = tail.clone();
    tail.on(ev::Readable, move |_| {
        let go = std::mem::take(&mut w.lock().readable);
        if let (true, Some(out)) = (go, out.upgrade()) {
            pump(&t, &Readable::internal(out), &w);
        }
    });
    let out = Arc::downgrade(&d.readable_side().0);
    tail.on(ev::End, move |_| {
        if let Some(out) = out.upgrade() {
            Readable::internal(out).push_end();
        }
    });
    let w = waiting.clone();
    let _ = finished_with(
        tail,
        FinishedOptions {
            writable: Some(false),
            ..FinishedOptions::default()
        },
        move |_| {
            let cb = w.lock().finish.take();
            if let Some(cb) = cb {
                cb.ok();
            }
        },
    );
    let w = waiting.clone();
    d.readable_side().event_loop().spawn(async move {
        let r: Result<()> = inner.await;
        on_pipeline_end(&w, &weak, r.err());
        drop(sides);
    });
}

impl<T: Send + 'static> Readable<T> {
    /// `readable.compose(stream)`: this readable piped into `stream` under
    /// [`pipeline`](crate::pipeline())'s error rules, seen as one readable (`stream`'s output).
    /// Destroying the result destroys both.
    pub fn compose<U: Send + 'static>(&self, stream: &Duplex<T, U>) -> Readable<U> {
        let lp = self.event_loop();
        Domain::join(lp.domain(), stream.readable_side().0.life.domain());
        let waiting = Arc::new(Mutex::new(Waiting::default()));
        let t = stream.clone();
        let composed = Composed::<(), U> {
            head: None,
            tail: Some(stream.readable_side().clone()),
            waiting: waiting.clone(),
            destroy_tail: Some(Box::new(move |e| {
                if !t.is_destroyed() {
                    t.destroy_stream(Some(e.unwrap_or_else(|| Error::destroyed("compose"))));
                }
            })),
        };
        let d = Duplex::with_options(
            composed,
            DuplexOptions {
                writable_enabled: false,
                event_loop: Some(lp.clone()),
                ..DuplexOptions::default()
            },
        );
        wire(
            &d,
            None,
            stream.readable_side(),
            &waiting,
            Pipeline::from(self.clone()).to(stream),
        );
        d.readable_side().clone()
    }
}
