//! `addAbortSignal(signal, stream)`: destroy a stream with an `AbortError` when a signal aborts.

use std::sync::Arc;

use sluicegate::AbortSignal;

use crate::destroy::Life;
use crate::error::Error;
use crate::finished::{eos, FinishedOptions};
use crate::stream::NodeStream;

/// `stream.addAbortSignal(signal, stream)`: when `signal` aborts, `stream` is destroyed with an
/// `AbortError` whose cause is the abort reason. The signal's algorithm is removed once the
/// stream is done, so a long-lived signal does not keep finished streams alive.
///
/// ```
/// use sluicegate::AbortController;
/// use sluicegate_node::{add_abort_signal, EventLoop, ErrorCode, Readable};
///
/// let lp = EventLoop::new();
/// let _g = lp.enter();
/// let r = Readable::<u8>::from_fn(|_, _| {});
/// let ac = AbortController::new();
/// add_abort_signal(&ac.signal(), &r);
/// ac.abort(None);
/// lp.run_until_idle();
/// assert!(r.destroyed());
/// assert_eq!(r.errored().unwrap().code(), ErrorCode::Abort);
/// ```
pub fn add_abort_signal<S: NodeStream + ?Sized>(signal: &AbortSignal, stream: &S) {
    add_abort_signal_to(signal, stream.stream_ref().0);
}

pub(crate) fn add_abort_signal_to(signal: &AbortSignal, life: Arc<Life>) {
    let l = life.clone();
    let on_abort = move |reason: Option<Error>| {
        let _g = l.domain().enter();
        destroy_life(&l, Some(Error::abort(reason)));
    };
    if signal.aborted() {
        on_abort(signal.reason().map(Error::from));
        return;
    }
    let handle = signal.add_algorithm(move |reason| on_abort(Some(Error::from(reason.clone()))));
    let sig = signal.clone();
    let handle = parking_lot::Mutex::new(Some(handle));
    let _cleanup = eos(&life, &FinishedOptions::default(), move |_| {
        if let Some(h) = handle.lock().take() {
            sig.remove_algorithm(h);
        }
    });
}

/// Destroys through the right kind's `destroy` (a writable flushes its callbacks).
pub(crate) fn destroy_life(life: &Arc<Life>, err: Option<Error>) {
    life.destroy_with_side_effects(err);
}
