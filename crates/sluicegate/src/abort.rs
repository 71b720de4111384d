//! Abort signals: the DOM's `AbortController` and `AbortSignal`, as streams use them.
//!
//! A writable stream's controller exposes a [`AbortSignal`] that is signalled, synchronously, when
//! the stream is aborted, so that an underlying sink can cancel a write or close in progress. A
//! pipe takes a signal to stop piping. Signals are `Arc`-based handles, `Send + Sync`, cheap to
//! clone.
//!
//! A signal runs its *abort algorithms* when it is aborted, once each, in the order they were
//! added, with no lock held (so they may call back into streams). An algorithm can be removed
//! again with the handle [`AbortSignal::add_algorithm`] returns, so a finished operation leaves no
//! listener behind.
//!
//! ```
//! use sluicegate::abort::AbortController;
//! use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
//!
//! let controller = AbortController::new();
//! let signal = controller.signal();
//! let seen = Arc::new(AtomicBool::new(false));
//! let s = seen.clone();
//! signal.add_algorithm(move |reason| {
//!     assert_eq!(reason.kind(), sluicegate::ErrorKind::Abort);
//!     s.store(true, Ordering::SeqCst);
//! });
//! controller.abort(None);
//! assert!(signal.aborted());
//! assert!(seen.load(Ordering::SeqCst));
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::error::{catch_user, ErrorKind, StreamError};

type Algorithm = Box<dyn FnOnce(&StreamError) + Send + 'static>;

/// What waits for a signal to be aborted.
enum Listener {
    /// An abort algorithm, with the id its handle carries.
    Algorithm(u64, Algorithm),
    /// A task waiting in an [`Aborted`] future.
    Wake(Waker),
}

struct SignalState {
    /// The signal's abort reason; `Some` once aborted.
    reason: Option<StreamError>,
    /// The abort algorithms and the waiting tasks, in one list: a signal that nothing waits on
    /// (every writable stream's controller has one) stays small.
    listeners: Vec<Listener>,
}

/// Handle ids are global, so a handle from one signal can never remove another signal's algorithm.
static NEXT_ALGORITHM_ID: AtomicU64 = AtomicU64::new(1);

/// A signal that reports whether an operation has been aborted, and why: the DOM's `AbortSignal`.
///
/// Clones share one signal. Get one from an [`AbortController`], or an already aborted one from
/// [`AbortSignal::abort`].
#[derive(Clone)]
pub struct AbortSignal {
    inner: Arc<Mutex<SignalState>>,
}

/// Identifies an algorithm added to an [`AbortSignal`], for
/// [`remove_algorithm`](AbortSignal::remove_algorithm).
#[derive(Debug, PartialEq, Eq, Hash)]
#[must_use = "keep the handle to remove the algorithm once it is no longer needed"]
pub struct AbortAlgorithmHandle {
    id: u64,
}

impl AbortSignal {
    fn new() -> Self {
        AbortSignal {
            inner: Arc::new(Mutex::new(SignalState {
                reason: None,
                listeners: Vec::new(),
            })),
        }
    }

    /// The DOM's static `AbortSignal.abort(reason)`: a signal that is already aborted, with
    /// `reason`, or an `AbortError` when `reason` is `None` (or the `undefined` reason).
    pub fn abort(reason: Option<StreamError>) -> AbortSignal {
        let signal = AbortSignal::new();
        signal.signal_abort(reason);
        signal
    }

    /// The DOM's `aborted`: whether the signal has been aborted.
    pub fn aborted(&self) -> bool {
        self.inner.lock().reason.is_some()
    }

    /// The DOM's `reason`: the abort reason, `None` while not aborted.
    pub fn reason(&self) -> Option<StreamError> {
        self.inner.lock().reason.clone()
    }

    /// The DOM's `throwIfAborted()`: the abort reason as an error, if aborted.
    pub fn throw_if_aborted(&self) -> Result<(), StreamError> {
        match self.reason() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Adds an abort algorithm: `f` runs once, synchronously, when the signal is aborted, with the
    /// abort reason. If the signal is already aborted, `f` is dropped without running (as the DOM's
    /// "add" does): check [`aborted`](Self::aborted) first. A panic inside `f` is caught and the
    /// remaining algorithms still run.
    pub fn add_algorithm(&self, f: impl FnOnce(&StreamError) + Send + 'static) -> AbortAlgorithmHandle {
        let id = NEXT_ALGORITHM_ID.fetch_add(1, Ordering::Relaxed);
        let mut state = self.inner.lock();
        if state.reason.is_none() {
            state.listeners.push(Listener::Algorithm(id, Box::new(f)));
        }
        AbortAlgorithmHandle { id }
    }

    /// Removes an abort algorithm before it runs. Returns whether it was still registered.
    pub fn remove_algorithm(&self, handle: AbortAlgorithmHandle) -> bool {
        let removed = {
            let mut state = self.inner.lock();
            state
                .listeners
                .iter()
                .position(|l| matches!(l, Listener::Algorithm(id, _) if *id == handle.id))
                .map(|i| state.listeners.remove(i))
        };
        // The algorithm (user code) is dropped with the lock released.
        removed.is_some()
    }

    /// How many abort algorithms are registered and waiting: 0 once aborted, and 0 again after
    /// every operation that added one has removed it (useful to check for listener leaks).
    pub fn pending_algorithms(&self) -> usize {
        self.inner
            .lock()
            .listeners
            .iter()
            .filter(|l| matches!(l, Listener::Algorithm(..)))
            .count()
    }

    /// A future that completes with the abort reason once the signal is aborted.
    pub fn aborted_future(&self) -> Aborted {
        Aborted { signal: self.clone() }
    }

    /// The DOM's "signal abort": sets the reason (an `AbortError` when none, or the `undefined`
    /// reason, is given), runs the abort algorithms with no lock held, and wakes the waiting
    /// futures. Does nothing if the signal is already aborted.
    pub(crate) fn signal_abort(&self, reason: Option<StreamError>) {
        let reason = match reason {
            Some(r) if r.kind() != ErrorKind::Undefined => r,
            _ => StreamError::abort_error("the operation was aborted"),
        };
        let listeners = {
            let mut state = self.inner.lock();
            if state.reason.is_some() {
                return;
            }
            state.reason = Some(reason.clone());
            std::mem::take(&mut state.listeners)
        };
        // The algorithms run first, in the order they were added, then the tasks are woken.
        let mut wakers = Vec::new();
        for listener in listeners {
            match listener {
                Listener::Algorithm(_, algorithm) => {
                    let _ = catch_user(|| algorithm(&reason));
                }
                Listener::Wake(w) => wakers.push(w),
            }
        }
        for w in wakers {
            w.wake();
        }
    }
}

impl fmt::Debug for AbortSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("AbortSignal")
            .field("aborted", &state.reason.is_some())
            .field("reason", &state.reason)
            .finish()
    }
}

/// The future [`AbortSignal::aborted_future`] returns: completes with the abort reason.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Aborted {
    signal: AbortSignal,
}

impl Future for Aborted {
    type Output = StreamError;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<StreamError> {
        let mut state = self.signal.inner.lock();
        if let Some(reason) = &state.reason {
            return Poll::Ready(reason.clone());
        }
        let known = state
            .listeners
            .iter()
            .any(|l| matches!(l, Listener::Wake(w) if w.will_wake(cx.waker())));
        if !known {
            state.listeners.push(Listener::Wake(cx.waker().clone()));
        }
        Poll::Pending
    }
}

/// Aborts its [`AbortSignal`]: the DOM's `AbortController`.
///
/// ```
/// use sluicegate::abort::AbortController;
/// use sluicegate::StreamError;
///
/// let controller = AbortController::new();
/// let reason = StreamError::user("stop");
/// controller.abort(Some(reason.clone()));
/// assert!(StreamError::same(&controller.signal().reason().unwrap(), &reason));
/// ```
#[derive(Clone, Debug)]
pub struct AbortController {
    signal: AbortSignal,
}

impl AbortController {
    /// A controller with a fresh, unaborted signal.
    pub fn new() -> Self {
        AbortController {
            signal: AbortSignal::new(),
        }
    }

    /// The controller's signal (a handle sharing its state).
    pub fn signal(&self) -> AbortSignal {
        self.signal.clone()
    }

    /// The DOM's `abort(reason)`: aborts the signal with `reason`, or with an `AbortError` when
    /// `reason` is `None` or the `undefined` reason. The signal's abort algorithms run before this
    /// returns. Aborting twice does nothing the second time.
    pub fn abort(&self, reason: Option<StreamError>) {
        self.signal.signal_abort(reason);
    }
}

impl Default for AbortController {
    fn default() -> Self {
        Self::new()
    }
}
