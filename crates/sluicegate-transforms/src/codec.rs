//! The engine under every byte transform: a [`Codec`] (a step function from input bytes to
//! output), run by a [`CodecTransformer`] that cuts the output into pieces of at most
//! [`MAX_CHUNK`] bytes and waits for the readable side between pieces.
//!
//! Why hand-written: the codecs themselves come from their crates (flate2, zstd, brotli,
//! encoding_rs); what no crate provides is driving one inside a transform stream so that a small
//! input that expands to gigabytes leaves as many bounded chunks, each enqueued only when the
//! reader has room ([`TransformStreamDefaultController::ready`]).

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use sluicegate::transform::{TransformStreamDefaultController, Transformer};
use sluicegate::{Completion, Promised, StreamError};

use crate::error::TransformError;

/// The largest chunk a codec transform enqueues: 64 KiB.
pub const MAX_CHUNK: usize = 64 * 1024;

/// An output buffer a [`Codec`] writes into: `Vec<u8>` for bytes, `String` for text.
pub trait OutputBuffer: Send + 'static {
    /// An empty buffer with room for `capacity` bytes.
    fn with_capacity(capacity: usize) -> Self;
    /// Whether nothing has been written.
    fn is_empty(&self) -> bool;
}

impl OutputBuffer for Vec<u8> {
    fn with_capacity(capacity: usize) -> Self {
        Vec::with_capacity(capacity)
    }
    fn is_empty(&self) -> bool {
        self.is_empty()
    }
}

impl OutputBuffer for String {
    fn with_capacity(capacity: usize) -> Self {
        String::with_capacity(capacity)
    }
    fn is_empty(&self) -> bool {
        self.is_empty()
    }
}

/// What one [`Codec::process`] call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// How many bytes of the input it consumed.
    pub consumed: usize,
    /// Whether it stopped because the output buffer is full: it must be called again (with the
    /// rest of the input, possibly none) once the buffer has been emitted.
    pub output_full: bool,
}

/// A streaming codec as a step function. Implementations wrap a codec crate's streaming API.
pub trait Codec: Send + 'static {
    /// The buffer type the codec writes.
    type Output: OutputBuffer;

    /// Consumes a prefix of `input` and appends output to `out`, never past its capacity.
    fn process(&mut self, input: &[u8], out: &mut Self::Output) -> Result<Progress, TransformError>;

    /// The input has ended: appends the remaining output to `out`. Returns `true` when all of it
    /// has been written, `false` when `out` is full and the call must be repeated.
    fn finish(&mut self, out: &mut Self::Output) -> Result<bool, TransformError>;

    /// The codec's name, for errors.
    fn name(&self) -> &'static str;
}

/// A codec with its pending input and its output buffer: produces one piece at a time.
pub struct Pump<C: Codec> {
    codec: C,
    out: C::Output,
    capacity: usize,
    input: Bytes,
    /// The last `process` filled the buffer: the codec may hold more output.
    pending: bool,
    finished: bool,
    failed: Option<TransformError>,
}

impl<C: Codec> Pump<C> {
    /// A pump over `codec` emitting pieces of at most `capacity` bytes.
    pub fn new(codec: C, capacity: usize) -> Self {
        Pump {
            codec,
            out: C::Output::with_capacity(capacity),
            capacity,
            input: Bytes::new(),
            pending: false,
            finished: false,
            failed: None,
        }
    }

    /// Queues `input` for the following [`next_piece`](Self::next_piece) calls (the previous input must have
    /// been consumed: `next` returned `Ok(None)`).
    pub fn push(&mut self, input: Bytes) {
        debug_assert!(self.input.is_empty());
        self.input = input;
    }

    fn take(&mut self) -> C::Output {
        std::mem::replace(&mut self.out, C::Output::with_capacity(self.capacity))
    }

    /// The next piece of output for the queued input, or `None` once it is all consumed and its
    /// output emitted (what the codec holds back for more input stays in the codec).
    pub fn next_piece(&mut self) -> Result<Option<C::Output>, TransformError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.next_inner();
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn next_inner(&mut self) -> Result<Option<C::Output>, TransformError> {
        while !self.input.is_empty() || self.pending {
            let p = self.codec.process(&self.input, &mut self.out)?;
            let _ = self.input.split_to(p.consumed.min(self.input.len()));
            self.pending = p.output_full;
            if p.output_full {
                return Ok(Some(self.take()));
            }
            if p.consumed == 0 && !self.input.is_empty() {
                return Err(TransformError::Stalled {
                    codec: self.codec.name(),
                });
            }
        }
        if !self.out.is_empty() {
            return Ok(Some(self.take()));
        }
        Ok(None)
    }

    /// After the last input: the next piece of the final output, or `None` when done.
    pub fn finish_piece(&mut self) -> Result<Option<C::Output>, TransformError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if !self.finished {
            match self.codec.finish(&mut self.out) {
                Ok(true) => self.finished = true,
                Ok(false) => return Ok(Some(self.take())),
                Err(e) => {
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
        if !self.out.is_empty() {
            return Ok(Some(self.take()));
        }
        Ok(None)
    }

    /// Runs the codec over all of `input` and finishes it, collecting every piece: the whole
    /// transform in one call, for small data and tests.
    pub fn run_all(mut self, input: &[u8]) -> Result<Vec<C::Output>, TransformError> {
        let mut pieces = Vec::new();
        self.push(Bytes::copy_from_slice(input));
        while let Some(p) = self.next_piece()? {
            pieces.push(p);
        }
        while let Some(p) = self.finish_piece()? {
            pieces.push(p);
        }
        Ok(pieces)
    }

    /// The codec.
    pub fn codec(&self) -> &C {
        &self.codec
    }
}

/// One step of a pump: [`Pump::next_piece`] or [`Pump::finish_piece`].
type Step<C> = fn(&mut Pump<C>) -> Result<Option<<C as Codec>::Output>, TransformError>;

/// Turns a codec's output buffer into a stream chunk.
pub type Wrap<B, O> = Arc<dyn Fn(B) -> Result<O, StreamError> + Send + Sync>;

/// A [`Transformer`] running a [`Codec`]: each input chunk goes through the codec, each piece of
/// output (at most the pump's capacity, [`MAX_CHUNK`] by default) is enqueued as one chunk, and
/// between pieces the transformer waits until the readable side wants more.
///
/// The pieces become chunks through `wrap` (for bytes, `Bytes::from`; the JavaScript binding
/// makes `Uint8Array`s).
pub struct CodecTransformer<C: Codec, O> {
    pump: Arc<Mutex<Pump<C>>>,
    wrap: Wrap<C::Output, O>,
}

impl<C: Codec> CodecTransformer<C, Bytes>
where
    C::Output: Into<Bytes>,
{
    /// A transformer from bytes to bytes over `codec`.
    pub fn bytes(codec: C) -> Self {
        Self::new(codec, MAX_CHUNK, Arc::new(|b: C::Output| Ok(b.into())))
    }
}

impl<C: Codec, O: Send + 'static> CodecTransformer<C, O> {
    /// A transformer over `codec` with pieces of at most `capacity` bytes made into chunks by
    /// `wrap`.
    pub fn new(codec: C, capacity: usize, wrap: Wrap<C::Output, O>) -> Self {
        CodecTransformer {
            pump: Arc::new(Mutex::new(Pump::new(codec, capacity))),
            wrap,
        }
    }

    /// Runs `step` on the pump, enqueueing its pieces until it returns `None`.
    fn drive(&self, controller: &TransformStreamDefaultController<O>, step: Step<C>) -> Completion {
        match drive_some(&self.pump, &self.wrap, controller, step, None) {
            Ok(None) => Completion::ok(),
            Err(e) => Completion::err(e),
            Ok(Some((wait, held))) => {
                let pump = self.pump.clone();
                let wrap = self.wrap.clone();
                let controller = controller.clone();
                Completion::future(async move {
                    let (mut wait, mut held) = (wait, held);
                    loop {
                        settled(wait).await?;
                        match drive_some(&pump, &wrap, &controller, step, Some(held))? {
                            None => return Ok(()),
                            Some((w, h)) => (wait, held) = (w, h),
                        }
                    }
                })
            }
        }
    }
}

/// Waits for `p` without driving its host: a oneshot woken from the promise's own settlement.
/// (Awaiting the [`Promised`] itself would poll the host from inside a future the host is
/// polling, which some hosts, the JavaScript binding's among them, do not expect.)
async fn settled(p: Promised<()>) -> Result<(), StreamError> {
    let (tx, rx) = futures_channel::oneshot::channel();
    p.on_settle(move |r| {
        let _ = tx.send(r);
    });
    rx.await
        .unwrap_or_else(|_| Err(StreamError::type_error("the transform stream is gone")))
}

fn lock<C: Codec>(pump: &Mutex<Pump<C>>) -> MutexGuard<'_, Pump<C>> {
    // A panic inside a codec errors the stream; the pump's state after it is not used again
    // for output the stream accepts (the stream is errored), so a poisoned lock is still usable.
    pump.lock().unwrap_or_else(|p| p.into_inner())
}

/// A drive paused on backpressure: the promise to wait for, and the next piece.
type Paused<C> = (Promised<()>, <C as Codec>::Output);

/// Enqueues pieces (first `held`, if given) until the step returns `None` (`Ok(None)`), or
/// until there is another piece while the readable side has backpressure: then returns that
/// piece with the promise to wait for before enqueueing it.
///
/// Looking one piece ahead (at most one more piece in memory) is what lets a transform whose
/// input is used up finish at once, as the standard's would, instead of waiting for a reader
/// that may only come after the write's promise settles.
fn drive_some<C: Codec, O: Send + 'static>(
    pump: &Mutex<Pump<C>>,
    wrap: &Wrap<C::Output, O>,
    controller: &TransformStreamDefaultController<O>,
    step: Step<C>,
    held: Option<C::Output>,
) -> Result<Option<Paused<C>>, StreamError> {
    let mut next = match held {
        Some(piece) => Some(piece),
        None => step(&mut lock(pump))?,
    };
    while let Some(piece) = next {
        controller.enqueue(wrap(piece)?)?;
        next = step(&mut lock(pump))?;
        if let Some(piece) = next {
            let ready = controller.ready();
            if ready.peek().is_none() {
                return Ok(Some((ready, piece)));
            }
            next = Some(piece);
        }
    }
    Ok(None)
}

impl<C: Codec, O: Send + 'static> Transformer<Bytes, O> for CodecTransformer<C, O> {
    fn transform(&mut self, chunk: Bytes, controller: &TransformStreamDefaultController<O>) -> Completion {
        lock(&self.pump).push(chunk);
        self.drive(controller, Pump::next_piece)
    }

    fn flush(&mut self, controller: &TransformStreamDefaultController<O>) -> Completion {
        self.drive(controller, Pump::finish_piece)
    }
}
