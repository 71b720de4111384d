//! [`Transform`]: a duplex whose output is computed from its input (Node's `Transform`), and
//! the [`TransformImpl`] trait (`_transform`, `_flush`).
//!
//! Backpressure is Node's: the write callback is withheld while the readable side is at its
//! high-water mark, and released by the next `_read`. `_flush` runs as `_final`, before the
//! readable side ends and before `'finish'`.

use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use crate::completion::{upon, Callback, Completion, Kind};
use crate::destroy::to_result;
use crate::duplex::{Duplex, DuplexOptions};
use crate::error::{catch, Error};
use crate::implementor::{DuplexImpl, ImplCell, WriteHook};
use crate::readable::{rf, ReadCore, Readable};
use crate::tick::Entered;
use crate::writable::{wf, WriteCore};

/// `_transform` and `_flush`.
///
/// ```
/// use sluicegate_node::{Completion, EventLoop, Readable, Transform, TransformImpl, ev};
/// use std::sync::{Arc, Mutex};
///
/// struct Double;
/// impl TransformImpl<u32, u32> for Double {
///     fn transform(&mut self, x: u32, out: &Readable<u32>) -> Completion {
///         out.push(x * 2);
///         Completion::ok()
///     }
/// }
///
/// let lp = EventLoop::new();
/// let _g = lp.enter();
/// let t = Transform::transform(Double);
/// let got = Arc::new(Mutex::new(Vec::new()));
/// let g = got.clone();
/// t.on(ev::Data, move |x: &u32| g.lock().unwrap().push(*x));
/// t.write(1);
/// t.write(2);
/// t.end();
/// lp.run_until_idle();
/// assert_eq!(*got.lock().unwrap(), [2, 4]);
/// ```
pub trait TransformImpl<I: Send + 'static, O: Send + 'static>: Send + 'static {
    /// `_transform(chunk, encoding, cb)`: push any number of outputs into `out`, complete when
    /// done with this chunk.
    fn transform(&mut self, chunk: I, out: &Readable<O>) -> Completion;

    /// `_flush(cb)`: push any last outputs at the end of the input.
    fn flush(&mut self, out: &Readable<O>) -> Completion {
        let _ = out;
        Completion::ok()
    }

    /// `_destroy`.
    fn destroy(&mut self, err: Option<Error>) -> Completion {
        to_result(err).into()
    }
}

/// A Node transform stream: written `I`s, read `O`s.
pub type Transform<I, O> = Duplex<I, O>;

struct Core<I: Send + 'static, O: Send + 'static, X> {
    user: X,
    /// The two sides, weakly: the implementor lives inside them, and strong handles here would
    /// keep a transform that was dropped without being destroyed alive forever.
    sides: Arc<OnceLock<Sides<I, O>>>,
    /// `this[kCallback]`: the withheld write callback.
    pending: Arc<Mutex<Option<Callback>>>,
}

struct Sides<I: Send + 'static, O: Send + 'static> {
    r: Weak<ReadCore<O>>,
    w: Weak<WriteCore<I>>,
}

impl<I: Send + 'static, O: Send + 'static> Sides<I, O> {
    fn out(&self) -> Option<Readable<O>> {
        self.r.upgrade().map(Readable::internal)
    }
}

impl<I: Send + 'static, O: Send + 'static, X: TransformImpl<I, O>> DuplexImpl<I, O> for Core<I, O, X> {
    fn read(&mut self, _size: usize, _stream: &Readable<O>) {
        let cb = self.pending.lock().take();
        if let Some(cb) = cb {
            cb.ok();
        }
    }

    fn write(&mut self, chunk: I) -> Completion {
        // Not reached through the transform's own writable side, which calls `write_to` (see
        // `Fused`); kept for completeness.
        let Some(out) = self.sides.get().and_then(Sides::out) else {
            return Completion::err(Error::destroyed("write"));
        };
        let held = out.0.life.domain().enter();
        self.write_to(chunk, &out, &held)
    }

    fn finalize(&mut self) -> Option<Completion> {
        // Transform.prototype._final = final: `_flush`, then push(null).
        let Some(out) = self.sides.get().and_then(Sides::out) else {
            return Some(Completion::ok());
        };
        if out.destroyed() {
            out.push_end();
            return Some(Completion::ok());
        }
        let c = match catch(|| self.user.flush(&out)) {
            Ok(c) => c,
            Err(e) => Completion::err(e),
        };
        let (comp, cb) = Completion::callback();
        let out2 = out.clone();
        upon(out.0.life.domain(), c, move |r| match r {
            Err(e) => cb.err(e),
            Ok(()) => {
                out2.push_end();
                cb.ok();
            }
        });
        Some(comp)
    }

    fn destroy(&mut self, err: Option<Error>) -> Completion {
        drop(self.pending.lock().take());
        self.user.destroy(err)
    }
}

impl<I: Send + 'static, O: Send + 'static, X: TransformImpl<I, O>> Core<I, O, X> {
    /// `Transform.prototype._write` into `out`, the readable side, with `held`, a guard on the
    /// transform's loop (the writable side's write holds it already: it spares the borrows of
    /// the readable side their own).
    #[inline]
    fn write_to(&mut self, chunk: I, out: &Readable<O>, held: &Entered<'_>) -> Completion {
        let before = out.0.state.with_in(held, |s| s.buffer.length);
        // A panic here is caught by the caller (the writable side), which errors the stream.
        match self.user.transform(chunk, out).0 {
            // The common case: decide now, with no allocation.
            Kind::Ready(Err(e)) => Completion::err(e),
            Kind::Ready(Ok(())) => match decide(held, out, &self.sides, before) {
                Decision::Now => Completion::ok(),
                Decision::Tick => {
                    let (comp, cb) = Completion::callback();
                    out.0.life.domain().next_tick(Box::new(move || cb.ok()));
                    comp
                }
                Decision::Withhold => {
                    let (comp, cb) = Completion::callback();
                    *self.pending.lock() = Some(cb);
                    comp
                }
            },
            c => {
                let (comp, cb) = Completion::callback();
                let (out2, sides, pending) = (out.clone(), self.sides.clone(), self.pending.clone());
                upon(out.0.life.domain(), Completion(c), move |r| {
                    if let Err(e) = r {
                        return cb.err(e);
                    }
                    let held = out2.0.life.domain().enter();
                    match decide(&held, &out2, &sides, before) {
                        Decision::Now => cb.ok(),
                        Decision::Tick => out2.0.life.domain().next_tick(Box::new(move || cb.ok())),
                        Decision::Withhold => *pending.lock() = Some(cb),
                    }
                });
                comp
            }
        }
    }
}

/// The writable side's hook of a transform: its implementor cell, and the readable side the
/// transform pushes into, held strongly here so that a write reaches it without upgrading a
/// weak handle (two atomic read-modify-writes per chunk) or entering its loop again.
///
/// No cycle: the readable side holds the implementor (through its own hook), and the
/// implementor holds the sides weakly; nothing on the readable side holds the writable side.
/// A transform whose readable handles are all dropped keeps its readable side while its
/// writable side lives, as a Node transform is one object.
struct Fused<I: Send + 'static, O: Send + 'static, X> {
    cell: Arc<ImplCell<I, O, Core<I, O, X>>>,
    out: Readable<O>,
}

impl<I: Send + 'static, O: Send + 'static, X: TransformImpl<I, O>> WriteHook<I> for Fused<I, O, X> {
    fn write(&self, held: &Entered<'_>, chunk: I) -> Result<Completion, I> {
        let mut chunk = Some(chunk);
        let out = &self.out;
        let r = self.cell.try_with_in(Some(held), |core| {
            let c = chunk.take().expect("once");
            catch(|| core.write_to(c, out, held)).unwrap_or_else(Completion::err)
        });
        match r {
            Some(c) => Ok(c),
            None => Err(chunk.take().expect("not taken when busy")),
        }
    }

    fn writev(&self, chunks: &mut Vec<I>) -> Option<Option<Completion>> {
        self.cell.writev(chunks)
    }

    fn finalize(&self) -> Option<Option<Completion>> {
        self.cell.finalize()
    }
}

enum Decision {
    Now,
    Tick,
    Withhold,
}

/// The callback rules of `Transform.prototype._write`.
#[inline]
fn decide<I: Send + 'static, O: Send + 'static>(
    held: &Entered<'_>,
    out: &Readable<O>,
    sides: &OnceLock<Sides<I, O>>,
    before: usize,
) -> Decision {
    let (ended, length, hwm) = out
        .0
        .state
        .with_in(held, |s| (s.has(rf::ENDED), s.buffer.length, s.hwm));
    let write_ended = || {
        sides
            .get()
            .and_then(|s| s.w.upgrade())
            .is_some_and(|w| w.state.with(|s| s.has(wf::ENDED)))
    };
    if ended {
        Decision::Tick
    } else if length == before || length < hwm || write_ended() {
        Decision::Now
    } else {
        Decision::Withhold
    }
}

impl<I: Send + 'static, O: Send + 'static> Duplex<I, O> {
    /// `new Transform({ transform, flush })`, both sides in object mode.
    pub fn transform(imp: impl TransformImpl<I, O>) -> Self {
        Self::transform_with(imp, DuplexOptions::default())
    }

    /// A transform with options.
    pub fn transform_with(imp: impl TransformImpl<I, O>, options: DuplexOptions<I, O>) -> Self {
        let sides = Arc::new(OnceLock::new());
        let pending: Arc<Mutex<Option<Callback>>> = Arc::new(Mutex::new(None));
        let core = Core {
            user: imp,
            sides: sides.clone(),
            pending: pending.clone(),
        };
        // Transform.prototype._read: release the withheld callback.
        let read = Box::new(move || {
            let cb = pending.lock().take();
            if let Some(cb) = cb {
                cb.ok();
            }
        });
        let d = Duplex::build(
            core,
            options,
            Some(read),
            |r| {
                // `this._readableState.sync = false`.
                r.0.state.with(|s| s.clear(rf::SYNC));
            },
            |cell, r| Arc::new(Fused { cell, out: r.clone() }),
        );
        let _ = sides.set(Sides {
            r: Arc::downgrade(&d.readable_side().0),
            w: Arc::downgrade(&d.writable_side().0),
        });
        d
    }

    /// A transform from a closure mapping each input to at most one output (Node's
    /// `callback(null, value)`).
    pub fn map_fn(f: impl FnMut(I) -> Option<O> + Send + 'static) -> Self {
        struct MapFn<F>(F);
        impl<I: Send + 'static, O: Send + 'static, F: FnMut(I) -> Option<O> + Send + 'static>
            TransformImpl<I, O> for MapFn<F>
        {
            fn transform(&mut self, chunk: I, out: &Readable<O>) -> Completion {
                if let Some(v) = (self.0)(chunk) {
                    out.push(v);
                }
                Completion::ok()
            }
        }
        Self::transform(MapFn(f))
    }
}

/// `new PassThrough()`: a transform that passes every chunk through.
pub type PassThrough<T> = Duplex<T, T>;

struct Identity;

impl<T: Send + 'static> TransformImpl<T, T> for Identity {
    fn transform(&mut self, chunk: T, out: &Readable<T>) -> Completion {
        out.push(chunk);
        Completion::ok()
    }
}

impl<T: Send + 'static> Duplex<T, T> {
    /// `new PassThrough()` in object mode.
    pub fn passthrough() -> Self {
        Self::transform(Identity)
    }

    /// `new PassThrough(options)`.
    pub fn passthrough_with(options: DuplexOptions<T, T>) -> Self {
        Self::transform_with(Identity, options)
    }
}
