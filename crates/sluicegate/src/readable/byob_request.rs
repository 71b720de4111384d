//! The `ReadableStreamBYOBRequest` class.

use std::fmt;
use std::sync::{Arc, Weak};

use bytes::Bytes;

use crate::error::StreamError;

use super::byob_view::{ByobView, ViewType};
use super::byte_controller::{
    readable_byte_stream_controller_respond, readable_byte_stream_controller_respond_with_new_view,
    ByteControllerSlots,
};
use super::stream::{Inner, Slots, Stream};

/// The pending BYOB request's view, as the standard's `byobRequest.view` describes it: a
/// `Uint8Array` from `byte_offset` of `byte_length` bytes in a buffer of `buffer_byte_length`
/// bytes, plus the pull-into descriptor's element size and what it holds already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByobRequestView {
    /// Where the bytes to write go (the descriptor's byte offset plus the bytes filled).
    pub byte_offset: usize,
    /// How many bytes may be written (0 while the buffer is taken out).
    pub byte_length: usize,
    /// The buffer's length (0 while the buffer is taken out, like a detached `ArrayBuffer`).
    pub buffer_byte_length: usize,
    /// Bytes of the read's view already filled.
    pub bytes_filled: usize,
    /// The element size of the reader's view (2 for a `Uint16Array` read).
    pub element_size: usize,
    /// The reader's view type.
    pub view_type: ViewType,
    /// Bytes that must be filled before the read completes (`min` × element size).
    pub minimum_fill: usize,
    /// Whether the buffer is taken out ([`ReadableStreamBYOBRequest::take_view`]).
    pub detached: bool,
}

/// The standard's `ReadableStreamBYOBRequest`: a pending read's buffer for the underlying byte
/// source to fill, then [`respond`](Self::respond) to.
///
/// It stays valid until the request is answered (by `respond`, `respond_with_new_view` or an
/// `enqueue`) or the stream errors or is cancelled; then its methods return a `TypeError`.
///
/// Three ways to fill it:
/// * [`write`](Self::write) copies bytes in;
/// * [`with_view_mut`](Self::with_view_mut) lends the request's bytes to a closure (a synchronous
///   `read()` into it is zero-copy);
/// * [`take_view`](Self::take_view) moves the buffer out (the standard's transfer) so it can be
///   filled asynchronously, and [`respond_with_new_view`](Self::respond_with_new_view) moves it
///   back with the bytes written.
///
/// ```
/// use sluicegate::readable::{ArrayBuffer, ByobView, ByteSourceFn, ReadableStream};
/// use sluicegate::Completion;
///
/// # futures::executor::block_on(async {
/// // A source that fills the reader's buffer asynchronously: the buffer is moved out of the
/// // stream, written by a future, and moved back.
/// let stream = ReadableStream::new_bytes(ByteSourceFn::new().pull(|c| {
///     let request = c.byob_request().expect("a BYOB read is waiting");
///     let mut view = request.take_view().unwrap();
///     Completion::future(async move {
///         view.as_mut_slice()[..2].copy_from_slice(b"hi");
///         request.respond_with_new_view(view.subarray(0, 2)?)
///     })
/// }))
/// .unwrap();
/// let reader = stream.get_byob_reader().unwrap();
/// let buffer = ArrayBuffer::aligned(4096);
/// let address = buffer.as_slice().as_ptr();
/// let result = reader.read(ByobView::new(buffer)).await.unwrap();
/// let view = result.view.unwrap();
/// assert_eq!(view.as_slice(), b"hi");
/// assert_eq!(view.buffer().as_slice().as_ptr(), address, "no copy: the caller's own buffer");
/// # });
/// ```
#[derive(Clone)]
pub struct ReadableStreamBYOBRequest {
    stream: Weak<Inner<Bytes>>,
    id: u64,
}

impl fmt::Debug for ReadableStreamBYOBRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadableStreamBYOBRequest")
            .field("view", &self.view())
            .finish()
    }
}

fn invalidated() -> StreamError {
    StreamError::type_error("this BYOB request has already been responded to")
}

fn detached() -> StreamError {
    StreamError::type_error("the BYOB request's buffer has been taken out (detached)")
}

impl ReadableStreamBYOBRequest {
    pub(crate) fn new(stream: &Stream<Bytes>, id: u64) -> Self {
        ReadableStreamBYOBRequest {
            stream: Arc::downgrade(stream),
            id,
        }
    }

    /// Runs `f` on the controller slots if this request is still the controller's
    /// `[[byobRequest]]`.
    fn with_live<R>(
        &self,
        f: impl FnOnce(&mut ByteControllerSlots) -> Result<R, StreamError>,
    ) -> Result<R, StreamError> {
        let stream = self.stream.upgrade().ok_or_else(invalidated)?;
        let _entered = stream.domain.enter();
        let mut slots = stream.lock();
        let c = live(&mut slots, self.id).ok_or_else(invalidated)?;
        f(c)
    }

    /// Whether the request is still waiting for a response.
    pub fn is_valid(&self) -> bool {
        self.with_live(|_| Ok(())).is_ok()
    }

    /// The standard's `view` (`None` once the request has been answered).
    pub fn view(&self) -> Option<ByobRequestView> {
        self.with_live(|c| {
            let d = &c.pending_pull_intos[0];
            let attached = d.buffer.is_some();
            Ok(ByobRequestView {
                byte_offset: d.byte_offset + d.bytes_filled,
                byte_length: if attached {
                    d.byte_length - d.bytes_filled
                } else {
                    0
                },
                buffer_byte_length: if attached { d.buffer_byte_length } else { 0 },
                bytes_filled: d.bytes_filled,
                element_size: d.element_size(),
                view_type: d.view_type,
                minimum_fill: d.minimum_fill,
                detached: !attached,
            })
        })
        .ok()
    }

    /// Whether `self` and `other` are handles on the same request (a binding hands script the
    /// same request object while it is valid).
    pub fn is_same(&self, other: &ReadableStreamBYOBRequest) -> bool {
        self.id == other.id && Weak::ptr_eq(&self.stream, &other.stream)
    }

    /// Lends the whole buffer the request's view is on (every byte of it, from offset 0, as the
    /// view's `buffer` shows it) to `f`, read-only. A `TypeError` if the request was answered or
    /// its buffer is taken out. `f` runs under the
    /// stream's lock and must not call into the stream. A binding that keeps its own copy of the
    /// buffer for script uses this to fill it.
    pub fn with_buffer<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R, StreamError> {
        self.with_live(|c| {
            let buffer = c.pending_pull_intos[0].buffer.as_ref().ok_or_else(detached)?;
            Ok(f(buffer.as_slice()))
        })
    }

    /// Copies `data` into the view at `at` bytes from its start. A `RangeError` if it does not
    /// fit; a `TypeError` if the request was answered or its buffer is taken out.
    pub fn write(&self, at: usize, data: &[u8]) -> Result<(), StreamError> {
        self.with_live(|c| {
            let d = &mut c.pending_pull_intos[0];
            let room = d.byte_length - d.bytes_filled;
            if at.checked_add(data.len()).is_none_or(|end| end > room) {
                return Err(StreamError::range_error("the data does not fit in the view"));
            }
            let start = d.byte_offset + d.bytes_filled + at;
            let buffer = d.buffer.as_mut().ok_or_else(detached)?;
            buffer.as_mut_slice()[start..start + data.len()].copy_from_slice(data);
            Ok(())
        })
    }

    /// Lends the view's bytes to `f` (with the stream unlocked, so `f` may do I/O) and returns its
    /// result; then answer with [`respond`](Self::respond). While `f` runs the buffer is out of the
    /// stream, so `f` must not call the stream's controller.
    pub fn with_view_mut<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> Result<R, StreamError> {
        let mut view = self.take_view()?;
        let result = f(view.as_mut_slice());
        // Put the buffer back, if the request is still waiting for it.
        let (buffer, ..) = view.into_parts();
        let _ = self.with_live(move |c| {
            let d = &mut c.pending_pull_intos[0];
            if d.buffer.is_none() {
                d.buffer = Some(buffer);
            }
            Ok(())
        });
        Ok(result)
    }

    /// Moves the view's buffer out of the stream (the standard's transfer of `view.buffer`): a
    /// `Uint8` view of the bytes to fill. Give it back with
    /// [`respond_with_new_view`](Self::respond_with_new_view), shortened to the bytes written
    /// (for example with [`ByobView::with_type`]).
    pub fn take_view(&self) -> Result<ByobView, StreamError> {
        self.with_live(|c| {
            let d = &mut c.pending_pull_intos[0];
            let buffer = d.buffer.take().ok_or_else(detached)?;
            Ok(ByobView::from_parts(
                buffer,
                d.byte_offset + d.bytes_filled,
                d.byte_length - d.bytes_filled,
                ViewType::Uint8,
            ))
        })
    }

    /// The standard's `respond(bytesWritten)`: `bytes_written` bytes were written at the start of
    /// the view. A `TypeError` if the request was answered, its buffer is taken out, or
    /// `bytes_written` is 0 while the stream is readable (or not 0 once it is closed); a
    /// `RangeError` if it exceeds the view.
    pub fn respond(&self, bytes_written: usize) -> Result<(), StreamError> {
        let stream = self.stream.upgrade().ok_or_else(invalidated)?;
        let _entered = stream.domain.enter();
        {
            let mut slots = stream.lock();
            let c = live(&mut slots, self.id).ok_or_else(invalidated)?;
            if c.pending_pull_intos[0].buffer.is_none() {
                return Err(detached());
            }
        }
        readable_byte_stream_controller_respond(&stream, bytes_written)
    }

    /// The standard's `respondWithNewView(view)`: the source's `view` (on the request's buffer,
    /// moved back in) holds the bytes written. A `TypeError` if the request was answered or the
    /// view's length is 0 while readable (not 0 once closed); a `RangeError` if its offset differs
    /// from the request's, its buffer's length differs, or it is longer than the request.
    pub fn respond_with_new_view(&self, view: ByobView) -> Result<(), StreamError> {
        self.try_respond_with_new_view(view).map_err(|(e, _view)| e)
    }

    /// Like [`respond_with_new_view`](Self::respond_with_new_view), but a rejected view is handed
    /// back with the error, as the standard throws before transferring its buffer (what a binding
    /// needs to leave a JavaScript view intact).
    pub fn try_respond_with_new_view(&self, view: ByobView) -> Result<(), (StreamError, ByobView)> {
        let Some(stream) = self.stream.upgrade() else {
            return Err((invalidated(), view));
        };
        let _entered = stream.domain.enter();
        {
            let mut slots = stream.lock();
            if live(&mut slots, self.id).is_none() {
                return Err((invalidated(), view));
            }
        }
        readable_byte_stream_controller_respond_with_new_view(&stream, view)
    }
}

fn live(slots: &mut Slots<Bytes>, id: u64) -> Option<&mut ByteControllerSlots> {
    let c = slots.byte.as_deref_mut()?;
    if c.byob_request == Some(id) && !c.pending_pull_intos.is_empty() {
        Some(c)
    } else {
        None
    }
}
