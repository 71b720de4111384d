//! zstd on the `zstd` crate's streaming API (`zstd::stream::raw`).

use zstd::stream::raw::{CParameter, Decoder, Encoder, InBuffer, Operation, OutBuffer};

use crate::codec::{Codec, Progress};
use crate::error::TransformError;

fn encoder_error(e: std::io::Error) -> TransformError {
    TransformError::Encoder {
        format: "zstd",
        detail: e.to_string(),
    }
}

/// A zstd encoder (one frame, with a content checksum as the `zstd` tool writes by default, so
/// that a decoder detects corruption).
pub(crate) struct ZstdEncoder {
    z: Encoder<'static>,
}

impl ZstdEncoder {
    pub(crate) fn new(level: i32) -> Result<Self, TransformError> {
        let mut z = Encoder::new(level).map_err(encoder_error)?;
        z.set_parameter(CParameter::ChecksumFlag(true))
            .map_err(encoder_error)?;
        Ok(ZstdEncoder { z })
    }
}

impl Codec for ZstdEncoder {
    type Output = Vec<u8>;

    fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, TransformError> {
        let mut src = InBuffer::around(input);
        let pos = out.len();
        let mut dst = OutBuffer::around_pos(out, pos);
        self.z.run(&mut src, &mut dst).map_err(encoder_error)?;
        let consumed = src.pos();
        Ok(Progress {
            consumed,
            output_full: out.len() == out.capacity(),
        })
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<bool, TransformError> {
        let pos = out.len();
        let mut dst = OutBuffer::around_pos(out, pos);
        let remaining = self.z.finish(&mut dst, false).map_err(encoder_error)?;
        Ok(remaining == 0)
    }

    fn name(&self) -> &'static str {
        "zstd"
    }
}

/// A zstd decoder: concatenated frames are one stream (as the format defines); the input must
/// end at the end of a frame.
pub(crate) struct ZstdDecoder {
    z: Decoder<'static>,
    /// The last call ended a frame and nothing of another has been read since.
    at_frame_end: bool,
}

impl ZstdDecoder {
    pub(crate) fn new() -> Result<Self, TransformError> {
        Ok(ZstdDecoder {
            z: Decoder::new().map_err(|e| TransformError::Corrupt {
                format: "zstd",
                detail: e.to_string(),
            })?,
            at_frame_end: false,
        })
    }
}

impl Codec for ZstdDecoder {
    type Output = Vec<u8>;

    fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, TransformError> {
        let mut src = InBuffer::around(input);
        let pos = out.len();
        let mut dst = OutBuffer::around_pos(out, pos);
        let hint = self
            .z
            .run(&mut src, &mut dst)
            .map_err(|e| TransformError::Corrupt {
                format: "zstd",
                detail: e.to_string(),
            })?;
        let consumed = src.pos();
        let written = dst.pos() > pos;
        // 0 means a frame has just been completely decoded and flushed.
        if hint == 0 {
            self.at_frame_end = true;
        } else if consumed > 0 || written {
            self.at_frame_end = false;
        }
        Ok(Progress {
            consumed,
            output_full: out.len() == out.capacity(),
        })
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<bool, TransformError> {
        if self.at_frame_end {
            Ok(true)
        } else {
            Err(TransformError::Truncated { format: "zstd" })
        }
    }

    fn name(&self) -> &'static str {
        "zstd"
    }
}
