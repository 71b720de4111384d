//! The native stand-in for the standard's promises: a settle-once cell and the future that waits
//! on it while driving the stream's host.
//!
//! The core resolves and rejects [`PromiseCell`]s synchronously inside the steps that settle them,
//! exactly where the standard resolves a promise. Public futures ([`Promised`]) first let the host
//! run (so that pending microtasks and user futures make progress), then look at the cell.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;
use smallvec::SmallVec;

use crate::error::StreamError;
use crate::host::{Hold, HostRef};

/// A reaction registered on a pending cell: runs once, right after the cell settles.
pub(crate) type Reaction = Box<dyn FnOnce() + Send>;

/// A pending cell's waiters: a task to wake, or a reaction to run.
enum Waiter {
    Wake(Waker),
    React(Reaction),
}

/// Most cells have one waiter at most (a read, a write's promise, a reaction of the pipe), so
/// the list keeps one inline: a cell allocates nothing beyond itself. Wakers and reactions share
/// the list, which keeps a cell small (a pipe holds several that wait for as long as it idles).
type Waiters = SmallVec<[Waiter; 1]>;

enum State<T> {
    Pending(Waiters),
    Settled(Result<T, StreamError>),
    Taken,
}

/// Adds the polling task to a pending cell's waiters, unless it is there already.
fn wait(waiters: &mut Waiters, cx: &Context<'_>) {
    let known = waiters
        .iter()
        .any(|w| matches!(w, Waiter::Wake(w) if w.will_wake(cx.waker())));
    if !known {
        waiters.push(Waiter::Wake(cx.waker().clone()));
    }
}

/// A promise's state: pending, or settled once with a value or an error.
pub(crate) struct PromiseCell<T> {
    state: Mutex<State<T>>,
}

impl<T> PromiseCell<T> {
    pub(crate) fn pending() -> Arc<Self> {
        Arc::new(PromiseCell {
            state: Mutex::new(State::Pending(Waiters::new())),
        })
    }

    pub(crate) fn settled(result: Result<T, StreamError>) -> Arc<Self> {
        Arc::new(PromiseCell {
            state: Mutex::new(State::Settled(result)),
        })
    }

    /// Settles a pending cell and wakes its waiters; a settled cell is left as it is (resolving a
    /// settled promise does nothing). Returns whether this call settled it.
    pub(crate) fn settle(&self, result: Result<T, StreamError>) -> bool {
        let waiters = {
            let mut state = self.state.lock();
            match &mut *state {
                State::Pending(waiters) => {
                    let taken = std::mem::take(waiters);
                    *state = State::Settled(result);
                    taken
                }
                _ => return false,
            }
        };
        // The reactions run first, in the order they were registered, then the tasks are woken.
        let mut wakers: SmallVec<[Waker; 1]> = SmallVec::new();
        for waiter in waiters {
            match waiter {
                Waiter::React(r) => r(),
                Waiter::Wake(w) => wakers.push(w),
            }
        }
        for w in wakers {
            w.wake();
        }
        true
    }

    pub(crate) fn resolve(&self, value: T) -> bool {
        self.settle(Ok(value))
    }

    pub(crate) fn reject(&self, e: StreamError) -> bool {
        self.settle(Err(e))
    }

    pub(crate) fn is_pending(&self) -> bool {
        matches!(*self.state.lock(), State::Pending(..))
    }

    /// Polls for the value, taking it: for promises with one consumer (a read).
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Result<T, StreamError>> {
        let mut state = self.state.lock();
        match &mut *state {
            State::Pending(waiters) => {
                wait(waiters, cx);
                Poll::Pending
            }
            State::Settled(_) => match std::mem::replace(&mut *state, State::Taken) {
                State::Settled(r) => Poll::Ready(r),
                _ => unreachable!("checked above"),
            },
            State::Taken => Poll::Ready(Err(StreamError::type_error("promise result was already taken"))),
        }
    }
}

impl<T: Clone> PromiseCell<T> {
    /// Polls for the value, cloning it: for promises many may await (`closed`, `ready`).
    pub(crate) fn poll_clone(&self, cx: &mut Context<'_>) -> Poll<Result<T, StreamError>> {
        let mut state = self.state.lock();
        match &mut *state {
            State::Pending(waiters) => {
                wait(waiters, cx);
                Poll::Pending
            }
            State::Settled(r) => Poll::Ready(r.clone()),
            State::Taken => unreachable!("shared promises are never taken"),
        }
    }

    /// "Upon settlement": calls `f` with the result right after the cell settles, or at once if it
    /// already has. The reaction holds the cell weakly, so a promise that never settles leaks
    /// nothing.
    pub(crate) fn on_settle(self: &Arc<Self>, f: impl FnOnce(Result<T, StreamError>) + Send + 'static)
    where
        T: Send + Sync + 'static,
    {
        let weak = Arc::downgrade(self);
        let reaction: Reaction = Box::new(move || {
            if let Some(result) = weak.upgrade().and_then(|cell| cell.peek()) {
                f(result);
            }
        });
        {
            let mut state = self.state.lock();
            if let State::Pending(waiters) = &mut *state {
                waiters.push(Waiter::React(reaction));
                return;
            }
        }
        reaction();
    }

    /// The settled value, if any, without waiting.
    pub(crate) fn peek(&self) -> Option<Result<T, StreamError>> {
        match &*self.state.lock() {
            State::Settled(r) => Some(r.clone()),
            _ => None,
        }
    }
}

/// A future for one of a stream's promises (`closed`, `ready`, the result of `close()` or
/// `cancel()`). Awaiting it drives the stream's host.
///
/// The operation it reports on has already started when the future is made: dropping the future
/// does not undo it, just as ignoring a promise in JavaScript does not.
#[must_use = "the operation has started; await this to learn how it ended"]
pub struct Promised<T: Clone = ()> {
    host: HostRef,
    cell: Arc<PromiseCell<T>>,
    /// Keeps the group of streams on `host` from being abandoned while this future lives: it
    /// may still drive it.
    hold: Hold,
}

impl<T: Clone> Promised<T> {
    pub(crate) fn new(host: HostRef, cell: Arc<PromiseCell<T>>) -> Self {
        let hold = Hold::on(&host);
        Promised { host, cell, hold }
    }

    /// [`Promised::new`] with the hold of the handle that made it (a reader's, a writer's): none
    /// for the core's own.
    pub(crate) fn held(host: HostRef, cell: Arc<PromiseCell<T>>, hold: Hold) -> Self {
        Promised { host, cell, hold }
    }

    /// The result if the promise has already settled, without driving anything.
    pub fn peek(&self) -> Option<Result<T, StreamError>> {
        self.cell.peek()
    }

    /// Whether `self` and `other` are the same promise (not just promises with equal results): a
    /// reader's `closed` is the same promise until a release replaces it. A binding uses this to
    /// hand script the same promise object each time.
    ///
    /// ```
    /// use sluicegate::readable::{ReadableStream, SourceFn};
    ///
    /// let stream = ReadableStream::<u8>::new(SourceFn::new()).unwrap();
    /// let reader = stream.get_reader().unwrap();
    /// assert!(reader.closed().is_same(&reader.closed()));
    /// ```
    pub fn is_same(&self, other: &Promised<T>) -> bool {
        Arc::ptr_eq(&self.cell, &other.cell)
    }

    /// Calls `steps` with the result at the moment the promise settles (inside the step that
    /// settles it), or at once if it already has: how an embedding settles its own promise for
    /// `closed`, `ready` or `cancel()` at the standard's moment, with no extra tick.
    ///
    /// `steps` may run while the stream's lock is held, so it must not call back into the stream;
    /// settling a JavaScript promise with a non-thenable (which only queues jobs) is fine. If the
    /// promise can no longer settle (every handle to it is gone), `steps` never runs.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use sluicegate::readable::{ReadableStream, SourceFn};
    /// use sluicegate::Completion;
    ///
    /// let controller = Arc::new(Mutex::new(None));
    /// let c = controller.clone();
    /// let stream = ReadableStream::<u8>::new(SourceFn::new().start(move |ctl| {
    ///     *c.lock().unwrap() = Some(ctl.clone());
    ///     Completion::ok()
    /// }))
    /// .unwrap();
    /// let reader = stream.get_reader().unwrap();
    /// let seen = Arc::new(Mutex::new(None));
    /// let s = seen.clone();
    /// reader.closed().on_settle(move |r| *s.lock().unwrap() = Some(r.is_ok()));
    /// assert_eq!(*seen.lock().unwrap(), None);
    /// controller.lock().unwrap().as_ref().unwrap().close().unwrap();
    /// // Settled inside `close()`, before anything drives the stream's host.
    /// assert_eq!(*seen.lock().unwrap(), Some(true));
    /// ```
    pub fn on_settle(&self, steps: impl FnOnce(Result<T, StreamError>) + Send + 'static)
    where
        T: Send + Sync + 'static,
    {
        self.cell.on_settle(steps);
    }
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl<T: Clone + Send + 'static> Promised<T> {
    /// Detaches the operation onto the current tokio runtime: a task awaits this future, so the
    /// stream's host keeps being driven until the promise settles, whoever else is still
    /// listening. This is how to let a pipe run on its own: a pipe moves only while its host is
    /// driven, so a pipe whose future is simply dropped stalls, with both streams locked, until
    /// something else drives that host (and is given up, its streams freed, once nothing of them
    /// is held any more; see [`ReadableStream::pipe_to`](crate::readable::ReadableStream::pipe_to)).
    ///
    /// Dropping the returned handle leaves the task running; awaiting it gives the result. An
    /// error (and nothing spawned) outside a tokio runtime.
    ///
    /// ```
    /// use sluicegate::pipe::PipeOptions;
    /// use sluicegate::readable::ReadableStream;
    /// use sluicegate::writable::{SinkFn, WritableStream};
    /// use std::sync::{Arc, Mutex};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let dest = WritableStream::new(SinkFn::new().write(move |chunk: u32, _| {
    ///     s.lock().unwrap().push(chunk);
    /// })).unwrap();
    /// let pipe = ReadableStream::from_iter(1..=3).pipe_to(&dest, PipeOptions::default());
    /// let task = pipe.spawn().expect("inside a tokio runtime");
    /// // ... the pipe runs on its own; the handle may be dropped, or awaited:
    /// task.await.unwrap().unwrap();
    /// assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
    /// assert!(!dest.locked());
    /// # });
    /// ```
    pub fn spawn(self) -> std::io::Result<tokio::task::JoinHandle<Result<T, StreamError>>> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            std::io::Error::other("Promised::spawn needs to be called inside a tokio runtime")
        })?;
        Ok(runtime.spawn(self))
    }
}

/// Another handle on the same promise ([`Promised::is_same`] holds between the two).
impl<T: Clone> Clone for Promised<T> {
    fn clone(&self) -> Self {
        Promised {
            host: self.host.clone(),
            cell: self.cell.clone(),
            hold: self.hold.clone(),
        }
    }
}

impl<T: Clone> Future for Promised<T> {
    type Output = Result<T, StreamError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(r) = self.cell.peek() {
            // Steps queued before the settlement run first, as before an `await`'s continuation.
            self.host.run_queued();
            return Poll::Ready(r);
        }
        self.host.poll_progress(cx);
        self.cell.poll_clone(cx)
    }
}

impl<T: Clone> std::fmt::Debug for Promised<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.cell.is_pending() {
            "Promised(pending)"
        } else {
            "Promised(settled)"
        })
    }
}
