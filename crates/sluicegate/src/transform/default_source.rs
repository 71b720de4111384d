//! The underlying source of a transform stream's readable side (§ "Default sources").

use std::sync::Arc;

use crate::error::StreamError;
use crate::host::{upon_settlement, Completion, Deferred};
use crate::readable::{ReadableStreamDefaultController, UnderlyingSource};
use crate::writable;

use super::default_controller::{call_transformer, transform_stream_default_controller_clear_algorithms};
use super::stream::{
    claim_finish_promise, start_promise_resolved_with, transform_stream_set_backpressure,
    transform_stream_unblock_write, writable_errored_error, Inner,
};

/// The readable side's algorithms: each forwards to the operation of the same name.
pub(crate) struct TransformSource<I: Send + 'static, O: Send + 'static>(pub(crate) Arc<Inner<I, O>>);

impl<I: Send + 'static, O: Send + 'static> UnderlyingSource<O> for TransformSource<I, O> {
    fn start(&mut self, _controller: &ReadableStreamDefaultController<O>) -> Completion {
        start_promise_resolved_with(&self.0)
    }

    fn pull(&mut self, _controller: &ReadableStreamDefaultController<O>) -> Completion {
        // The core calls these algorithms as it calls user code, outside its domain; they are
        // the standard's own steps, so each runs inside it.
        let _entered = self.0.domain.enter();
        transform_stream_default_source_pull_algorithm(&self.0)
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        let _entered = self.0.domain.enter();
        transform_stream_default_source_cancel_algorithm(&self.0, reason)
    }
}

/// TransformStreamDefaultSourceCancelAlgorithm.
pub(crate) fn transform_stream_default_source_cancel_algorithm<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
    reason: StreamError,
) -> Completion {
    let finish = match claim_finish_promise(stream) {
        Ok(p) => p,
        Err(existing) => return existing,
    };
    let s = stream.clone();
    let out = finish.clone();
    let r = reason.clone();
    call_transformer(
        stream,
        move |t, _| t.cancel(r),
        move |cancel_promise| {
            transform_stream_default_controller_clear_algorithms(&s);
            let s2 = s.clone();
            upon_settlement(&s.host, Some(&s.domain), cancel_promise, move |result| {
                let writable = s2.writable();
                match result {
                    Ok(()) => {
                        let stored = writable.as_ref().and_then(|w| writable_errored_error(w));
                        match stored {
                            Some(e) => {
                                out.reject(e);
                            }
                            None => {
                                if let Some(w) = &writable {
                                    writable::writable_stream_default_controller_error_if_needed(w, reason);
                                }
                                transform_stream_unblock_write(&s2);
                                out.resolve(());
                            }
                        }
                    }
                    Err(r) => {
                        if let Some(w) = &writable {
                            writable::writable_stream_default_controller_error_if_needed(w, r.clone());
                        }
                        transform_stream_unblock_write(&s2);
                        out.reject(r);
                    }
                }
            });
        },
    );
    Completion::Deferred(Deferred::of(finish))
}

/// TransformStreamDefaultSourcePullAlgorithm.
///
/// The standard asserts that `[[backpressure]]` is true here, and within one run of its steps it
/// is: a pull is called only while nothing has lifted the backpressure since the last one. But the
/// core calls a source's pull as it calls user code, with the group's domain released between its
/// decision to pull and this function entering the domain again (DESIGN.md, rule 2), and in that
/// window a step on another thread may lift it: an error or a cancel of the transform stream
/// unblocks its writable side (TransformStreamUnblockWrite). Then there is nothing to pull for
/// (the readable side is errored, closing or cancelled, so the core ignores what this pull
/// would have enqueued), and the pull is done at once, leaving the backpressure and its change
/// promise as the step that lifted it left them. Replacing that promise here instead would leave
/// this pull waiting for a change that never comes. (Seen as a failed assertion in about one run
/// in twenty of the soak test, a debug build under 200 concurrent pipes with faults.)
pub(crate) fn transform_stream_default_source_pull_algorithm<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
) -> Completion {
    if stream.lock().backpressure != Some(true) {
        return Completion::ok();
    }
    transform_stream_set_backpressure(stream, false);
    let change = stream
        .lock()
        .backpressure_change_promise
        .clone()
        .expect("set_backpressure made a change promise");
    Completion::Deferred(Deferred::of(change))
}
