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
    /// How many bytes the buffer has room for in all, written or not.
    fn capacity(&self) -> usize;
}

impl OutputBuffer for Vec<u8> {
    fn with_capacity(capacity: usize) -> Self {
        Vec::with_capacity(capacity)
    }
    fn is_empty(&self) -> bool {
        self.is_empty()
    }
    fn capacity(&self) -> usize {
        self.capacity()
    }
}

impl OutputBuffer for String {
    fn with_capacity(capacity: usize) -> Self {
        String::with_capacity(capacity)
    }
    fn is_empty(&self) -> bool {
        self.is_empty()
    }
    fn capacity(&self) -> usize {
        self.capacity()
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

    /// The capacity to give the buffer of the next piece, when `input_len` bytes of input wait
    /// and a piece may hold at most `max` bytes. The default is `max`, for codecs whose output
    /// cannot be bounded from their input (a decompressor); a codec that can bound it (a text
    /// decoder) asks for no more than it can write, so that the piece for a small chunk is small
    /// and a chunk's whole output fits in one piece whenever it fits in `max`.
    fn output_capacity(&self, input_len: usize, max: usize) -> usize {
        let _ = input_len;
        max
    }
}

/// A codec with its pending input and its output buffer: produces one piece at a time.
pub struct Pump<C: Codec> {
    codec: C,
    /// The piece being written, allocated when the codec first needs it: no buffer waits while
    /// nothing is to be written, and one is sized for the input at hand (an empty one left by
    /// earlier input is replaced when it is smaller than the input at hand asks for).
    out: Option<C::Output>,
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
            out: None,
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

    /// The piece being written, allocated on first use; `full` asks for the largest piece
    /// instead of the codec's hint.
    fn prepare(&mut self, full: bool) {
        let want = if full {
            self.capacity
        } else {
            self.codec
                .output_capacity(self.input.len(), self.capacity)
                .clamp(1, self.capacity)
        };
        // An empty buffer left from earlier input (which made no output) was sized for that
        // input: it is kept only when it has room for what this input can make.
        if self
            .out
            .as_ref()
            .is_some_and(|out| out.is_empty() && out.capacity() < want)
        {
            self.out = None;
        }
        self.out.get_or_insert_with(|| C::Output::with_capacity(want));
    }

    /// The piece written so far, if anything was written.
    fn take(&mut self) -> Option<C::Output> {
        self.out.take_if(|out| !out.is_empty())
    }

    fn stalled(&self) -> TransformError {
        TransformError::Stalled {
            codec: self.codec.name(),
        }
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
        let mut full = false;
        while !self.input.is_empty() || self.pending {
            self.prepare(full);
            let out = self.out.as_mut().expect("prepared");
            let p = self.codec.process(&self.input, out)?;
            let _ = self.input.split_to(p.consumed.min(self.input.len()));
            self.pending = p.output_full;
            if p.output_full {
                if let Some(piece) = self.take() {
                    return Ok(Some(piece));
                }
                // Full with nothing written: the capacity hint was too small to make progress.
                // Once more with the largest piece, then it is an error.
                if full {
                    return Err(self.stalled());
                }
                self.out = None;
                full = true;
            } else if p.consumed == 0 && !self.input.is_empty() {
                return Err(self.stalled());
            }
        }
        Ok(self.take())
    }

    /// After the last input: the next piece of the final output, or `None` when done.
    pub fn finish_piece(&mut self) -> Result<Option<C::Output>, TransformError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut full = false;
        while !self.finished {
            self.prepare(full);
            match self.codec.finish(self.out.as_mut().expect("prepared")) {
                Ok(true) => self.finished = true,
                Ok(false) => {
                    if let Some(piece) = self.take() {
                        return Ok(Some(piece));
                    }
                    if full {
                        let e = self.stalled();
                        self.failed = Some(e.clone());
                        return Err(e);
                    }
                    self.out = None;
                    full = true;
                }
                Err(e) => {
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
        Ok(self.take())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten bytes of output per byte of input; its capacity hint is `hint`.
    struct Tenfold {
        owed: usize,
        hint: usize,
        finished: bool,
    }

    impl Codec for Tenfold {
        type Output = Vec<u8>;

        fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, TransformError> {
            self.owed += input.len() * 10;
            let n = self.owed.min(out.capacity() - out.len());
            out.resize(out.len() + n, b'x');
            self.owed -= n;
            Ok(Progress {
                consumed: input.len(),
                output_full: self.owed > 0,
            })
        }

        fn finish(&mut self, out: &mut Vec<u8>) -> Result<bool, TransformError> {
            if !self.finished {
                // A ten-byte trailer that must go out whole.
                if out.capacity() - out.len() < 10 {
                    return Ok(false);
                }
                out.extend_from_slice(b"0123456789");
                self.finished = true;
            }
            Ok(true)
        }

        fn name(&self) -> &'static str {
            "tenfold"
        }

        fn output_capacity(&self, _input_len: usize, _max: usize) -> usize {
            self.hint
        }
    }

    /// Passes bytes through but holds back the last byte of each input (as a text decoder holds
    /// the start of a character) until the next input; its hint is exactly what it can write.
    struct HoldLast {
        held: Option<u8>,
    }

    impl Codec for HoldLast {
        type Output = Vec<u8>;

        fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, TransformError> {
            let mut consumed = 0;
            for &b in input {
                if let Some(h) = self.held {
                    if out.len() == out.capacity() {
                        return Ok(Progress {
                            consumed,
                            output_full: true,
                        });
                    }
                    out.push(h);
                }
                self.held = Some(b);
                consumed += 1;
            }
            Ok(Progress {
                consumed,
                output_full: false,
            })
        }

        fn finish(&mut self, out: &mut Vec<u8>) -> Result<bool, TransformError> {
            if let Some(h) = self.held {
                if out.len() == out.capacity() {
                    return Ok(false);
                }
                out.push(h);
                self.held = None;
            }
            Ok(true)
        }

        fn name(&self) -> &'static str {
            "hold-last"
        }

        fn output_capacity(&self, input_len: usize, _max: usize) -> usize {
            (input_len + usize::from(self.held.is_some())).saturating_sub(1)
        }
    }

    #[test]
    fn a_buffer_left_empty_by_an_input_that_made_nothing_is_not_reused_when_too_small() {
        let mut pump = Pump::new(HoldLast { held: None }, 64);
        // One byte, held back: nothing comes out, and the buffer sized for it stays empty.
        pump.push(Bytes::from_static(b"a"));
        assert_eq!(pump.next_piece().unwrap(), None);
        // The next input's output is ten bytes: one piece of ten, not one of one and one of nine.
        pump.push(Bytes::from_static(b"bcdefghijk"));
        assert_eq!(pump.next_piece().unwrap(), Some(b"abcdefghij".to_vec()));
        assert_eq!(pump.next_piece().unwrap(), None);
        assert_eq!(pump.finish_piece().unwrap(), Some(b"k".to_vec()));
        assert_eq!(pump.finish_piece().unwrap(), None);
    }

    #[test]
    fn pieces_follow_the_hint_and_never_pass_the_maximum() {
        let codec = Tenfold {
            owed: 0,
            hint: 7,
            finished: false,
        };
        let pieces = Pump::new(codec, 64).run_all(&[0; 20]).unwrap();
        assert_eq!(pieces.iter().map(Vec::len).sum::<usize>(), 210);
        assert!(pieces.iter().all(|p| !p.is_empty() && p.len() <= 64));
        assert_eq!(pieces[0].len(), 7, "the first piece is as big as the hint");
    }

    #[test]
    fn a_hint_too_small_for_any_progress_is_retried_at_the_maximum() {
        let codec = Tenfold {
            owed: 0,
            hint: 3,
            finished: false,
        };
        // The trailer needs 10 bytes: a 3-byte piece cannot take it, a 64-byte one can.
        let pieces = Pump::new(codec, 64).run_all(&[]).unwrap();
        assert_eq!(pieces, vec![b"0123456789".to_vec()]);
    }

    #[test]
    fn a_codec_that_cannot_progress_even_at_the_maximum_is_an_error_not_a_hang() {
        let codec = Tenfold {
            owed: 0,
            hint: 3,
            finished: false,
        };
        let e = Pump::new(codec, 8).run_all(&[]).unwrap_err();
        assert!(matches!(e, TransformError::Stalled { codec: "tenfold" }), "{e:?}");
    }
}
