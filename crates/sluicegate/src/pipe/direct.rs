//! The direct copy between two file-backed ends: the hooks through which the I/O layer offers
//! the files behind a pipe's streams, and the check that both ends are untouched.

use std::any::Any;
use std::sync::Arc;

use bytes::Bytes;

use crate::host::BoxFuture;
use crate::readable::stream::{Stream as ReadableInner, StreamState};
use crate::readable::ReadableStream;
use crate::writable::{Stream as WritableInner, WritableState, WritableStream};

/// A direct copy between the files behind a pipe's two ends: the hook through which
/// `io::file_source` piped straight to `io::file_sink` lets the kernel copy the bytes
/// (`copy_file_range`) instead of moving chunks through both streams.
///
/// The core knows no file: the I/O layer registers a [`DirectSource`] on the readable stream
/// ([`offer_direct_source`]) and a [`DirectSink`] on the writable one ([`offer_direct_sink`]).
/// When `pipe_to` (or `pipe_through`, whose destination is never a file) is called with no
/// conversion, the source untouched (readable, never read, nothing queued) and the destination
/// untouched (writable, nothing written, queued or closing), the source is asked to take both
/// ends ([`DirectSource::copy_to`]). If it does, the pipe lets the copy go on slice by slice
/// ([`DirectCopy::go_on`]), the slices let go a few at a time by steps of the pipe, as a chunk's
/// read and write are; the copy may run a few slices ahead of the steps, so that it seldom waits
/// for one. A pipe
/// whose host nobody drives thus copies at most those few slices more, and an abort signal stops
/// the copy after the slice in flight ([`DirectCopy::stop`]). Once the copy is over (the source exhausted, a
/// slice failed, or it was stopped) the files go back to their streams
/// ([`DirectCopy::give_back`]), with any error for the stream that met it, and the pipe goes on
/// as if it had moved the bytes itself: the source's next read finds its end (or the read
/// error), the destination's next write or close finds the write error, and the standard's steps
/// close, abort or cancel as they would.
pub(crate) trait DirectSource: Send + Sync {
    /// Takes this source and `sink` for a direct copy, if `sink` is an end this source can copy
    /// into and both are untouched; `None` (and nothing changed) otherwise.
    fn copy_to(&self, sink: &DirectSink) -> Option<Box<dyn DirectCopy>>;
}

/// A writable stream's file end, as its [`DirectSource`] counterpart recognises it.
pub(crate) type DirectSink = Arc<dyn Any + Send + Sync>;

/// A direct copy in progress ([`DirectSource`]).
pub(crate) trait DirectCopy: Send {
    /// Lets the copy go on by a few more slices (the first call borrows the files and starts it).
    /// The future, driven by the pipe's host, is over once the next step is due (some of those
    /// slices are copied, the rest still in hand so that the copy need not wait for the step), or
    /// the copy is over.
    fn go_on(&mut self) -> BoxFuture<()>;
    /// Asks the copy to stop before its next slice; the future is over once it is over.
    fn stop(&mut self) -> BoxFuture<()>;
    /// A future from [`go_on`](Self::go_on) or [`stop`](Self::stop) is pending.
    fn busy(&self) -> bool;
    /// The copy is over: the source is exhausted, a slice failed, or it was stopped.
    fn over(&self) -> bool;
    /// Bytes copied so far.
    fn copied(&self) -> u64;
    /// Hands the files back to their streams, the error a slice met (if any) to the stream whose
    /// file failed. Called once the copy is over.
    fn give_back(self: Box<Self>);
}

/// Registers `end` as the file behind `stream` that a pipe may copy from ([`DirectSource`]).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn offer_direct_source(stream: &ReadableStream<Bytes>, end: Arc<dyn DirectSource>) {
    stream.inner.slots.with_entered(|slots| {
        if let Some(byte) = slots.byte.as_deref_mut() {
            byte.direct = Some(end);
        }
    });
}

/// Registers `end` as the file behind `stream` that a pipe may copy into ([`DirectSource`]).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn offer_direct_sink(stream: &WritableStream<Bytes>, end: DirectSink) {
    let _entered = stream.inner.domain.enter();
    stream.inner.lock().controller.direct = Some(end);
}

/// The direct copy a pipe from `source` to `dest` may run instead of moving chunks: both ends
/// offer a file and are untouched ([`DirectSource`]). Called with both streams locked to the
/// pipe, before it marks the source disturbed.
pub(super) fn direct_copy<T: Send + 'static, U: Send + 'static>(
    source: &ReadableInner<T>,
    dest: &WritableInner<U>,
) -> Option<Box<dyn DirectCopy>> {
    let source_end = {
        let slots = source.lock();
        let byte = slots.byte.as_deref()?;
        let untouched = matches!(slots.state, StreamState::Readable)
            && !slots.disturbed
            && byte.queue.is_empty()
            && byte.pending_pull_intos.is_empty()
            && !byte.pulling
            && !byte.close_requested;
        if !untouched {
            return None;
        }
        byte.direct.clone()?
    };
    let sink_end = {
        let slots = dest.lock();
        let untouched = matches!(slots.state, WritableState::Writable)
            && slots.write_requests.is_empty()
            && slots.in_flight_write_request.is_none()
            && slots.close_request.is_none()
            && slots.in_flight_close_request.is_none()
            && slots.pending_abort_request.is_none()
            && slots.controller.queue.is_empty();
        if !untouched {
            return None;
        }
        slots.controller.direct.clone()?
    };
    source_end.copy_to(&sink_end)
}
