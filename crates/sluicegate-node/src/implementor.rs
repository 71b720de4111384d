//! The implementor traits: Node's `_read`, `_write`, `_writev`, `_final`, `_construct` and
//! `_destroy` as methods.
//!
//! Implement [`ReadImpl`] for a [`Readable`], [`WriteImpl`] for a [`Writable`](crate::Writable)
//! and [`DuplexImpl`] for a [`Duplex`](crate::Duplex). Every method but the main one has Node's
//! default. Methods that Node gives a callback return a [`Completion`] instead (see
//! [`completion`](crate::completion)); optional methods return `None` when the implementor has
//! none, which matters because Node behaves differently without them (no `_writev` means corked
//! writes go one by one; no `_final` means `'prefinish'` is emitted at once).
//!
//! A panic inside a method destroys the stream with an [`ErrorCode::Panic`](crate::ErrorCode)
//! error.

use std::cell::{Cell, UnsafeCell};
use std::sync::Arc;

use crate::completion::Completion;
use crate::destroy::{to_result, LifeImpl};
use crate::error::{catch, Error};
use crate::readable::Readable;
use crate::tick::{Domain, Entered};

/// `_read` and friends: what a [`Readable`] pulls from.
///
/// ```
/// use sluicegate_node::{EventLoop, ReadImpl, Readable};
///
/// struct Count(u32);
/// impl ReadImpl<u32> for Count {
///     fn read(&mut self, _size: usize, stream: &Readable<u32>) {
///         self.0 += 1;
///         if self.0 > 3 { stream.push_end(); } else { stream.push(self.0); }
///     }
/// }
///
/// let lp = EventLoop::new();
/// let _g = lp.enter();
/// let r = Readable::new(Count(0));
/// lp.run_until_idle();
/// assert_eq!(r.read(), Some(1));
/// ```
pub trait ReadImpl<T: Send + 'static>: Send + 'static {
    /// `_read(size)`: push data into `stream` (now or later, from a clone of the handle) until
    /// `push` returns `false`. Not called again until something was pushed.
    fn read(&mut self, size: usize, stream: &Readable<T>);

    /// `_construct`: `None` (the default) if there is nothing to set up before the first
    /// `_read`; otherwise the completion of the set-up.
    fn construct(&mut self) -> Option<Completion> {
        None
    }

    /// `_destroy(err, cb)`: release resources. The default completes with `err`.
    fn destroy(&mut self, err: Option<Error>) -> Completion {
        to_result(err).into()
    }
}

/// `_write` and friends: what a [`Writable`](crate::Writable) writes to.
///
/// ```
/// use sluicegate_node::{Completion, EventLoop, WriteImpl, Writable};
/// use std::sync::{Arc, Mutex};
///
/// struct Collect(Arc<Mutex<Vec<u32>>>);
/// impl WriteImpl<u32> for Collect {
///     fn write(&mut self, chunk: u32) -> Completion {
///         self.0.lock().unwrap().push(chunk);
///         Completion::ok()
///     }
/// }
///
/// let lp = EventLoop::new();
/// let _g = lp.enter();
/// let got = Arc::new(Mutex::new(Vec::new()));
/// let w = Writable::new(Collect(got.clone()));
/// assert!(w.write(1));
/// w.end();
/// lp.run_until_idle();
/// assert_eq!(*got.lock().unwrap(), [1]);
/// assert!(w.writable_finished());
/// ```
pub trait WriteImpl<T: Send + 'static>: Send + 'static {
    /// `_write(chunk, cb)`: write one chunk.
    fn write(&mut self, chunk: T) -> Completion;

    /// `_writev(chunks, cb)`: write several buffered chunks in one call. Return `None` (the
    /// default, leaving `chunks` untouched) to have them written one by one with `write`.
    fn writev(&mut self, chunks: &mut Vec<T>) -> Option<Completion> {
        let _ = chunks;
        None
    }

    /// `_final(cb)`: flush before `'finish'`. `None` (the default) if there is nothing to do.
    fn finalize(&mut self) -> Option<Completion> {
        None
    }

    /// `_construct`: see [`ReadImpl::construct`].
    fn construct(&mut self) -> Option<Completion> {
        None
    }

    /// `_destroy(err, cb)`: see [`ReadImpl::destroy`].
    fn destroy(&mut self, err: Option<Error>) -> Completion {
        to_result(err).into()
    }
}

/// Both sides' methods, for a [`Duplex`](crate::Duplex) that writes `I` and reads `O`.
pub trait DuplexImpl<I: Send + 'static, O: Send + 'static>: Send + 'static {
    /// `_read(size)`: see [`ReadImpl::read`].
    fn read(&mut self, size: usize, stream: &Readable<O>);
    /// `_write(chunk, cb)`: see [`WriteImpl::write`].
    fn write(&mut self, chunk: I) -> Completion;
    /// `_writev`: see [`WriteImpl::writev`].
    fn writev(&mut self, chunks: &mut Vec<I>) -> Option<Completion> {
        let _ = chunks;
        None
    }
    /// `_final`: see [`WriteImpl::finalize`].
    fn finalize(&mut self) -> Option<Completion> {
        None
    }
    /// `_construct`: see [`ReadImpl::construct`].
    fn construct(&mut self) -> Option<Completion> {
        None
    }
    /// `_destroy`: see [`ReadImpl::destroy`].
    fn destroy(&mut self, err: Option<Error>) -> Completion {
        to_result(err).into()
    }
}

/// A [`ReadImpl`] seen as a duplex implementor with no writable side.
pub(crate) struct ReadOnly<R>(pub R);

impl<T: Send + 'static, R: ReadImpl<T>> DuplexImpl<(), T> for ReadOnly<R> {
    fn read(&mut self, size: usize, stream: &Readable<T>) {
        self.0.read(size, stream)
    }
    fn write(&mut self, _chunk: ()) -> Completion {
        Completion::ok()
    }
    fn construct(&mut self) -> Option<Completion> {
        self.0.construct()
    }
    fn destroy(&mut self, err: Option<Error>) -> Completion {
        self.0.destroy(err)
    }
}

/// A [`WriteImpl`] seen as a duplex implementor with no readable side.
pub(crate) struct WriteOnly<W>(pub W);

impl<T: Send + 'static, W: WriteImpl<T>> DuplexImpl<T, ()> for WriteOnly<W> {
    fn read(&mut self, _size: usize, _stream: &Readable<()>) {}
    fn write(&mut self, chunk: T) -> Completion {
        self.0.write(chunk)
    }
    fn writev(&mut self, chunks: &mut Vec<T>) -> Option<Completion> {
        self.0.writev(chunks)
    }
    fn finalize(&mut self) -> Option<Completion> {
        self.0.finalize()
    }
    fn construct(&mut self) -> Option<Completion> {
        self.0.construct()
    }
    fn destroy(&mut self, err: Option<Error>) -> Completion {
        self.0.destroy(err)
    }
}

/// The implementor object, shared by the two sides and the lifecycle of one stream.
///
/// It is called in place, under the loop's lock, with a busy flag instead of being taken out
/// and put back around every call: a re-entrant call (an implementor method that calls into its
/// own stream, which calls the implementor again) finds it busy and is retried later, and a
/// `destroy` during a call drops it once the call returns.
pub(crate) struct ImplCell<I: Send + 'static, O: Send + 'static, X> {
    domain: Arc<Domain>,
    /// The implementor, by value: its methods are called statically (and can be inlined) from
    /// here, the one dynamic call being the stream's into this cell.
    imp: UnsafeCell<Option<X>>,
    _io: std::marker::PhantomData<fn(I) -> O>,
    /// A call is running (on the thread holding the loop's lock).
    busy: Cell<bool>,
    /// Dropped by `destroy` while busy: drop it when the running call returns.
    drop_pending: Cell<bool>,
    /// A `_read` that needs no access to the implementor (a transform's: release the withheld
    /// write callback), so that the write it triggers finds the implementor free.
    read_override: Option<ReadOverride>,
}

// SAFETY: `imp`, `busy` and `drop_pending` are only touched by the thread holding the loop's
// lock (`ImplCell::try_with` and `ImplCell::take` check it), so at most one thread at a time; the
// lock's acquire/release orders those touches. The implementor is `Send`.
unsafe impl<I: Send + 'static, O: Send + 'static, X: Send> Sync for ImplCell<I, O, X> {}
// SAFETY: as above.
unsafe impl<I: Send + 'static, O: Send + 'static, X: Send> Send for ImplCell<I, O, X> {}

/// See [`ImplCell::read_override`].
pub(crate) type ReadOverride = Box<dyn Fn() + Send + Sync>;

/// What the readable side calls.
pub(crate) trait ReadHook<O: Send + 'static>: Send + Sync {
    /// Calls `_read`; `false` if the implementor is busy (a call is already running on this
    /// thread), in which case the caller retries on a later tick.
    fn read(&self, held: &Entered<'_>, size: usize, stream: &Readable<O>) -> Result<bool, Error>;
}

/// What the writable side calls. `Err(chunk)` hands the chunk back when the implementor is busy.
pub(crate) trait WriteHook<I: Send + 'static>: Send + Sync {
    fn write(&self, held: &Entered<'_>, chunk: I) -> Result<Completion, I>;
    fn writev(&self, chunks: &mut Vec<I>) -> Option<Option<Completion>>;
    fn finalize(&self) -> Option<Option<Completion>>;
}

impl<I: Send + 'static, O: Send + 'static, X: DuplexImpl<I, O>> ImplCell<I, O, X> {
    /// Wraps `imp`, asking it for its `_construct` completion.
    pub(crate) fn new(domain: &Arc<Domain>, imp: X) -> (Arc<Self>, Option<Completion>) {
        Self::with_read_override(domain, imp, None)
    }

    pub(crate) fn with_read_override(
        domain: &Arc<Domain>,
        mut imp: X,
        read_override: Option<ReadOverride>,
    ) -> (Arc<Self>, Option<Completion>) {
        let construct = catch(|| imp.construct()).unwrap_or_else(|e| Some(Completion::err(e)));
        (
            Arc::new(ImplCell {
                domain: domain.clone(),
                imp: UnsafeCell::new(Some(imp)),
                _io: std::marker::PhantomData,
                busy: Cell::new(false),
                drop_pending: Cell::new(false),
                read_override,
            }),
            construct,
        )
    }

    /// Calls `f` on the implementor, unless a call is already running (or it was dropped).
    #[inline]
    fn try_with<R>(&self, f: impl FnOnce(&mut X) -> R) -> Option<R> {
        self.try_with_in(None, f)
    }

    /// [`ImplCell::try_with`] for a caller inside `held`: no second guard when `held` was taken
    /// on this cell's own loop (it proves this thread holds the lock, see [`Entered`]).
    #[inline]
    pub(crate) fn try_with_in<R>(
        &self,
        held: Option<&Entered<'_>>,
        f: impl FnOnce(&mut X) -> R,
    ) -> Option<R> {
        let ours = held.is_some_and(|e| e.is_on(&self.domain));
        let _e = (!ours).then(|| self.domain.enter());
        debug_assert!(self.domain.held_here(), "an implementor call without the lock");
        if self.busy.get() {
            return None;
        }
        // SAFETY: this thread holds the loop's lock (`_e`), and no call is running (`busy` is
        // clear), so nothing else references the value.
        let imp = unsafe { &mut *self.imp.get() }.as_mut()?;
        self.busy.set(true);
        struct Done<'a, I: Send + 'static, O: Send + 'static, X: DuplexImpl<I, O>>(&'a ImplCell<I, O, X>);
        impl<I: Send + 'static, O: Send + 'static, X: DuplexImpl<I, O>> Drop for Done<'_, I, O, X> {
            #[inline(always)]
            fn drop(&mut self) {
                self.0.busy.set(false);
                if self.0.drop_pending.replace(false) {
                    drop(self.0.take());
                }
            }
        }
        let done = Done(self);
        let r = f(imp);
        drop(done);
        Some(r)
    }

    /// Takes the implementor out (to drop it), or marks it to be dropped after the running call.
    fn take(&self) -> Option<X> {
        let _e = self.domain.enter();
        if self.busy.get() {
            self.drop_pending.set(true);
            return None;
        }
        // SAFETY: the lock is held (`_e`) and no call is running.
        unsafe { &mut *self.imp.get() }.take()
    }
}

impl<I: Send + 'static, O: Send + 'static, X: DuplexImpl<I, O>> ReadHook<O> for ImplCell<I, O, X> {
    fn read(&self, held: &Entered<'_>, size: usize, stream: &Readable<O>) -> Result<bool, Error> {
        if let Some(f) = &self.read_override {
            return catch(f).map(|()| true);
        }
        match self.try_with_in(Some(held), |imp| catch(|| imp.read(size, stream))) {
            Some(Ok(())) => Ok(true),
            Some(Err(e)) => Err(e),
            None => Ok(false),
        }
    }
}

impl<I: Send + 'static, O: Send + 'static, X: DuplexImpl<I, O>> WriteHook<I> for ImplCell<I, O, X> {
    fn write(&self, held: &Entered<'_>, chunk: I) -> Result<Completion, I> {
        let mut chunk = Some(chunk);
        let r = self.try_with_in(Some(held), |imp| {
            let c = chunk.take().expect("once");
            catch(|| imp.write(c)).unwrap_or_else(Completion::err)
        });
        match r {
            Some(c) => Ok(c),
            None => Err(chunk.take().expect("not taken when busy")),
        }
    }

    fn writev(&self, chunks: &mut Vec<I>) -> Option<Option<Completion>> {
        self.try_with(|imp| match catch(|| imp.writev(chunks)) {
            Ok(c) => c,
            Err(e) => Some(Completion::err(e)),
        })
    }

    fn finalize(&self) -> Option<Option<Completion>> {
        self.try_with(|imp| match catch(|| imp.finalize()) {
            Ok(c) => c,
            Err(e) => Some(Completion::err(e)),
        })
    }
}

impl<I: Send + 'static, O: Send + 'static, X: DuplexImpl<I, O>> LifeImpl for ImplCell<I, O, X> {
    fn destroy(&self, err: Option<Error>) -> Completion {
        let e2 = err.clone();
        let c = self
            .try_with(|imp| catch(|| imp.destroy(err)).unwrap_or_else(Completion::err))
            .unwrap_or_else(|| to_result(e2).into());
        // Nothing calls the implementor after `_destroy`: drop it (after the running call, if
        // `_destroy` was reached from inside one), which also breaks any reference cycle
        // through handles it holds.
        drop(self.take());
        c
    }
}
