//! What implementor methods return in place of Node's callback.
//!
//! Node's `_write(chunk, encoding, callback)`, `_final(callback)`, `_destroy(err, callback)`,
//! `_construct(callback)`, `_transform` and `_flush` report completion by calling a callback,
//! synchronously or later. Here those methods return a [`Completion`]:
//!
//! * [`Completion::ok`] / [`Completion::err`]: done now, the same as calling the callback
//!   synchronously in Node (and just as cheap: nothing is allocated);
//! * [`Completion::future`]: done when the future completes; the stream's event loop drives it;
//! * [`Completion::callback`]: a Node-style [`Callback`] to call from anywhere (another thread, an
//!   I/O completion) exactly once.
//!
//! A [`Callback`] is consumed by its call, so Node's `ERR_MULTIPLE_CALLBACK` cannot happen; one
//! dropped without being called completes with [`ErrorCode::CallbackDropped`] instead of leaving
//! the stream waiting forever.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;

use crate::error::{catch, Error, ErrorCode, Result};
use crate::tick::{BoxFuture, Domain};

/// The outcome of an implementor's operation: done now, a future, or a callback to call later.
pub struct Completion(pub(crate) Kind);

pub(crate) enum Kind {
    Ready(Result<()>),
    Future(BoxFuture<Result<()>>),
    Callback(Arc<Slot>),
}

type Continuation = Box<dyn FnOnce(Result<()>) + Send + 'static>;

pub(crate) struct Slot(Mutex<SlotState>);

enum SlotState {
    Empty,
    Done(Result<()>),
    Waiting(Continuation, Arc<Domain>),
    Taken,
}

impl Completion {
    /// Done, successfully, now.
    pub fn ok() -> Self {
        Completion(Kind::Ready(Ok(())))
    }

    /// Failed, now.
    pub fn err(e: impl Into<Error>) -> Self {
        Completion(Kind::Ready(Err(e.into())))
    }

    /// Done when `f` completes; the stream's loop drives it. A panic inside becomes an error.
    pub fn future<F>(f: F) -> Self
    where
        F: Future<Output = Result<()>> + Send + 'static,
    {
        Completion(Kind::Future(Box::pin(f)))
    }

    /// Done when the returned [`Callback`] is called.
    ///
    /// ```
    /// use sluicegate_node::Completion;
    ///
    /// let (completion, callback) = Completion::callback();
    /// std::thread::spawn(move || callback.call(Ok(()))).join().unwrap();
    /// # drop(completion);
    /// ```
    pub fn callback() -> (Completion, Callback) {
        let slot = Arc::new(Slot(Mutex::new(SlotState::Empty)));
        (
            Completion(Kind::Callback(slot.clone())),
            Callback { slot: Some(slot) },
        )
    }

    /// Whether this completion is already settled with this result (for tests and fast paths).
    pub fn is_ready(&self) -> bool {
        matches!(self.0, Kind::Ready(_))
    }
}

impl From<Result<()>> for Completion {
    fn from(r: Result<()>) -> Self {
        Completion(Kind::Ready(r))
    }
}

impl From<()> for Completion {
    fn from(_: ()) -> Self {
        Completion::ok()
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Ready(r) => f.debug_tuple("Ready").field(r).finish(),
            Kind::Future(_) => f.write_str("Future(..)"),
            Kind::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}

/// Node's callback: call it once, from anywhere, with the outcome.
#[must_use = "the operation is complete only once the callback is called"]
pub struct Callback {
    slot: Option<Arc<Slot>>,
}

impl Callback {
    /// Completes the operation. Runs the stream's reaction now, on this thread (taking the
    /// stream's loop lock), as Node runs its steps inside the callback.
    pub fn call(mut self, result: Result<()>) {
        if let Some(slot) = self.slot.take() {
            slot.complete(result);
        }
    }

    /// `call(Ok(()))`.
    pub fn ok(self) {
        self.call(Ok(()))
    }

    /// `call(Err(e))`.
    pub fn err(self, e: impl Into<Error>) {
        self.call(Err(e.into()))
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.complete(Err(Error::new(
                ErrorCode::CallbackDropped,
                "a stream callback was dropped without being called",
            )));
        }
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Callback")
    }
}

impl Slot {
    fn complete(&self, result: Result<()>) {
        let mut state = self.0.lock();
        match std::mem::replace(&mut *state, SlotState::Taken) {
            SlotState::Empty => *state = SlotState::Done(result),
            SlotState::Waiting(k, domain) => {
                drop(state);
                let _e = domain.enter();
                k(result);
            }
            other => *state = other,
        }
    }
}

/// "Upon completion of `c`, run `k`": at once for a ready completion or a callback already
/// called, otherwise when the future completes (on the loop) or the callback is called.
pub(crate) fn upon<K>(domain: &Arc<Domain>, c: Completion, k: K)
where
    K: FnOnce(Result<()>) + Send + 'static,
{
    match c.0 {
        Kind::Ready(r) => k(r),
        Kind::Future(f) => domain.spawn(Box::pin(async move {
            let r = CatchUnwind(f).await;
            k(r)
        })),
        Kind::Callback(slot) => {
            let mut state = slot.0.lock();
            match std::mem::replace(&mut *state, SlotState::Taken) {
                SlotState::Done(r) => {
                    drop(state);
                    k(r);
                }
                SlotState::Empty => *state = SlotState::Waiting(Box::new(k), domain.clone()),
                other => *state = other,
            }
        }
    }
}

/// Polls a user future, turning a panic into an error.
struct CatchUnwind(BoxFuture<Result<()>>);

impl Future for CatchUnwind {
    type Output = Result<()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        match catch(|| self.0.as_mut().poll(cx)) {
            Ok(p) => p,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_called_before_the_reaction_is_attached_runs_it_at_once() {
        let d = Domain::new();
        let (c, cb) = Completion::callback();
        cb.ok();
        let hit = Arc::new(Mutex::new(None));
        let h = hit.clone();
        upon(&d, c, move |r| *h.lock() = Some(r.is_ok()));
        assert_eq!(*hit.lock(), Some(true));
    }

    #[test]
    fn a_dropped_callback_completes_with_an_error() {
        let d = Domain::new();
        let (c, cb) = Completion::callback();
        let hit = Arc::new(Mutex::new(None));
        let h = hit.clone();
        upon(&d, c, move |r| *h.lock() = Some(r.unwrap_err().code()));
        assert!(hit.lock().is_none());
        drop(cb);
        assert_eq!(*hit.lock(), Some(ErrorCode::CallbackDropped));
    }

    #[test]
    fn a_future_completes_on_the_loop() {
        let d = Domain::new();
        let hit = Arc::new(Mutex::new(None));
        let h = hit.clone();
        upon(&d, Completion::future(async { panic!("inside") }), move |r| {
            *h.lock() = Some(r.unwrap_err().code())
        });
        assert!(hit.lock().is_none());
        d.run(usize::MAX);
        assert_eq!(*hit.lock(), Some(ErrorCode::Panic));
    }
}
