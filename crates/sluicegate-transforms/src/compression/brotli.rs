//! brotli on the `brotli` crate's streaming API (`BrotliEncoderStateStruct::compress_stream`,
//! `BrotliDecompressStream`). Both write into a slice, so each writes into a zeroed scratch
//! buffer and the output is copied out: brotli runs at tens of MB/s, where one copy is noise.

use brotli::enc::encode::{BrotliEncoderOperation, BrotliEncoderParameter, BrotliEncoderStateStruct};
use brotli::enc::StandardAlloc;
use brotli::{BrotliDecompressStream, BrotliResult, BrotliState, HeapAlloc, HuffmanCode};

use crate::codec::{Codec, Progress};
use crate::error::TransformError;

/// Writes the scratch buffer's first `n` bytes to `out`.
fn append(out: &mut Vec<u8>, scratch: &[u8], n: usize) {
    out.extend_from_slice(&scratch[..n]);
}

/// A brotli encoder.
pub(crate) struct BrotliEncoder {
    state: BrotliEncoderStateStruct<StandardAlloc>,
    scratch: Vec<u8>,
}

impl BrotliEncoder {
    pub(crate) fn new(quality: u32) -> Self {
        let mut state = BrotliEncoderStateStruct::new(StandardAlloc::default());
        state.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_QUALITY, quality.min(11));
        state.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_LGWIN, 22);
        BrotliEncoder {
            state,
            scratch: Vec::new(),
        }
    }

    /// One `compress_stream` call; returns (consumed, written into `out`).
    fn run(
        &mut self,
        op: BrotliEncoderOperation,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, TransformError> {
        let room = out.capacity() - out.len();
        self.scratch.resize(room, 0);
        let mut available_in = input.len();
        let mut in_offset = 0;
        let mut available_out = room;
        let mut out_offset = 0;
        let mut total_out = None;
        let ok = self.state.compress_stream(
            op,
            &mut available_in,
            input,
            &mut in_offset,
            &mut available_out,
            &mut self.scratch,
            &mut out_offset,
            &mut total_out,
            &mut |_, _, _, _| (),
        );
        append(out, &self.scratch, out_offset);
        if !ok {
            return Err(TransformError::Encoder {
                format: "br",
                detail: "the encoder rejected its input".into(),
            });
        }
        Ok(in_offset)
    }
}

impl Codec for BrotliEncoder {
    type Output = Vec<u8>;

    fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, TransformError> {
        let consumed = self.run(BrotliEncoderOperation::BROTLI_OPERATION_PROCESS, input, out)?;
        Ok(Progress {
            consumed,
            output_full: out.len() == out.capacity() || self.state.has_more_output(),
        })
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<bool, TransformError> {
        loop {
            let before = out.len();
            self.run(BrotliEncoderOperation::BROTLI_OPERATION_FINISH, &[], out)?;
            if self.state.is_finished() {
                return Ok(true);
            }
            if out.len() == out.capacity() {
                return Ok(false);
            }
            if out.len() == before {
                return Err(TransformError::Stalled { codec: "br" });
            }
        }
    }

    fn name(&self) -> &'static str {
        "br"
    }
}

/// A brotli decoder: the input must end exactly at the end of the brotli stream.
pub(crate) struct BrotliDecoder {
    state: Box<BrotliState<HeapAlloc<u8>, HeapAlloc<u32>, HeapAlloc<HuffmanCode>>>,
    scratch: Vec<u8>,
    done: bool,
}

impl BrotliDecoder {
    pub(crate) fn new() -> Self {
        BrotliDecoder {
            state: Box::new(BrotliState::new(
                HeapAlloc::default(),
                HeapAlloc::default(),
                HeapAlloc::default(),
            )),
            scratch: Vec::new(),
            done: false,
        }
    }
}

impl Codec for BrotliDecoder {
    type Output = Vec<u8>;

    fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, TransformError> {
        if self.done {
            if input.is_empty() {
                return Ok(Progress {
                    consumed: 0,
                    output_full: false,
                });
            }
            return Err(TransformError::TrailingData { format: "br" });
        }
        let room = out.capacity() - out.len();
        self.scratch.resize(room, 0);
        let mut available_in = input.len();
        let mut in_offset = 0;
        let mut available_out = room;
        let mut out_offset = 0;
        let mut total_out = 0;
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut in_offset,
            input,
            &mut available_out,
            &mut out_offset,
            &mut self.scratch,
            &mut total_out,
            &mut self.state,
        );
        append(out, &self.scratch, out_offset);
        let output_full = match result {
            BrotliResult::ResultSuccess => {
                self.done = true;
                if in_offset < input.len() {
                    return Err(TransformError::TrailingData { format: "br" });
                }
                false
            }
            BrotliResult::NeedsMoreInput => false,
            BrotliResult::NeedsMoreOutput => true,
            BrotliResult::ResultFailure => {
                return Err(TransformError::Corrupt {
                    format: "br",
                    detail: "invalid brotli data".into(),
                })
            }
        };
        Ok(Progress {
            consumed: in_offset,
            output_full,
        })
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<bool, TransformError> {
        if self.done {
            Ok(true)
        } else {
            Err(TransformError::Truncated { format: "br" })
        }
    }

    fn name(&self) -> &'static str {
        "br"
    }
}
