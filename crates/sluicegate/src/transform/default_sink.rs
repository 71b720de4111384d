//! The underlying sink of a transform stream's writable side (§ "Default sinks").

use std::sync::Arc;

use crate::error::StreamError;
use crate::host::{upon_settlement, Completion, Deferred};
use crate::promise::PromiseCell;
use crate::readable;
use crate::writable::{UnderlyingSink, WritableStreamDefaultController};

use super::default_controller::{
    call_transformer, transform_stream_default_controller_clear_algorithms,
    transform_stream_default_controller_perform_transform,
};
use super::stream::{
    claim_finish_promise, readable_errored_error, start_promise_resolved_with, writable_erroring_error, Inner,
};

/// The writable side's algorithms: each forwards to the operation of the same name.
pub(crate) struct TransformSink<I: Send + 'static, O: Send + 'static>(pub(crate) Arc<Inner<I, O>>);

impl<I: Send + 'static, O: Send + 'static> UnderlyingSink<I> for TransformSink<I, O> {
    fn start(&mut self, _controller: &WritableStreamDefaultController<I>) -> Completion {
        start_promise_resolved_with(&self.0)
    }

    fn write(&mut self, chunk: I, _controller: &WritableStreamDefaultController<I>) -> Completion {
        // The core calls `write` inside the domain already (`core_algorithms`); the others it
        // calls as it calls user code, outside its domain. They are the standard's own steps, so
        // each runs inside it.
        let _entered = self.0.domain.enter();
        transform_stream_default_sink_write_algorithm(&self.0, chunk)
    }

    fn close(&mut self) -> Completion {
        let _entered = self.0.domain.enter();
        transform_stream_default_sink_close_algorithm(&self.0)
    }

    fn abort(&mut self, reason: StreamError) -> Completion {
        let _entered = self.0.domain.enter();
        transform_stream_default_sink_abort_algorithm(&self.0, reason)
    }

    fn core_algorithms(&self) -> Option<crate::writable::CoreAlgorithms> {
        Some(crate::writable::CoreAlgorithms(()))
    }
}

/// TransformStreamDefaultSinkWriteAlgorithm.
pub(crate) fn transform_stream_default_sink_write_algorithm<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
    chunk: I,
) -> Completion {
    // The change promise only when it is needed: cloning it is two reference counts per chunk.
    let change = {
        let slots = stream.lock();
        match slots.backpressure {
            Some(true) => slots.backpressure_change_promise.clone(),
            _ => None,
        }
    };
    let Some(change) = change else {
        return transform_stream_default_controller_perform_transform(stream, chunk);
    };
    let result = PromiseCell::pending();
    let out = result.clone();
    let s = stream.clone();
    upon_settlement(
        &stream.host,
        Some(&stream.domain),
        Completion::Deferred(Deferred::of(change)),
        move |_| {
            let erroring = s.writable().and_then(|w| writable_erroring_error(&w));
            if let Some(stored) = erroring {
                out.reject(stored);
                return;
            }
            let transformed = transform_stream_default_controller_perform_transform(&s, chunk);
            upon_settlement(&s.host, Some(&s.domain), transformed, move |r| {
                out.settle(r);
            });
        },
    );
    Completion::Deferred(Deferred::of(result))
}

/// TransformStreamDefaultSinkAbortAlgorithm.
pub(crate) fn transform_stream_default_sink_abort_algorithm<I: Send + 'static, O: Send + 'static>(
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
                let Some(readable) = s2.readable() else {
                    out.settle(result);
                    return;
                };
                match result {
                    Ok(()) => match readable_errored_error(&readable) {
                        Some(e) => {
                            out.reject(e);
                        }
                        None => {
                            readable::readable_stream_default_controller_error(&readable, reason);
                            out.resolve(());
                        }
                    },
                    Err(r) => {
                        readable::readable_stream_default_controller_error(&readable, r.clone());
                        out.reject(r);
                    }
                }
            });
        },
    );
    Completion::Deferred(Deferred::of(finish))
}

/// TransformStreamDefaultSinkCloseAlgorithm.
pub(crate) fn transform_stream_default_sink_close_algorithm<I: Send + 'static, O: Send + 'static>(
    stream: &Arc<Inner<I, O>>,
) -> Completion {
    let finish = match claim_finish_promise(stream) {
        Ok(p) => p,
        Err(existing) => return existing,
    };
    let s = stream.clone();
    let out = finish.clone();
    call_transformer(
        stream,
        |t, controller| t.flush(controller),
        move |flush_promise| {
            transform_stream_default_controller_clear_algorithms(&s);
            let s2 = s.clone();
            upon_settlement(&s.host, Some(&s.domain), flush_promise, move |result| {
                let Some(readable) = s2.readable() else {
                    out.settle(result);
                    return;
                };
                match result {
                    Ok(()) => match readable_errored_error(&readable) {
                        Some(e) => {
                            out.reject(e);
                        }
                        None => {
                            readable::readable_stream_default_controller_close(&readable);
                            out.resolve(());
                        }
                    },
                    Err(r) => {
                        readable::readable_stream_default_controller_error(&readable, r.clone());
                        out.reject(r);
                    }
                }
            });
        },
    );
    Completion::Deferred(Deferred::of(finish))
}
