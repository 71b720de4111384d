//! gzip, deflate (zlib) and deflate-raw on flate2 (zlib-rs backend).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::codec::{Codec, Progress};
use crate::error::TransformError;

/// The three framings of DEFLATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// RFC 1952: header, deflate data, CRC-32 and length; members may be concatenated.
    Gzip,
    /// RFC 1950 ("deflate" in the Compression Standard): header, deflate data, Adler-32.
    Zlib,
    /// RFC 1951 alone ("deflate-raw").
    Raw,
}

impl Framing {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Framing::Gzip => "gzip",
            Framing::Zlib => "deflate",
            Framing::Raw => "deflate-raw",
        }
    }
}

/// The window size: 2^15, zlib's largest and default.
const WINDOW_BITS: u8 = 15;

fn spare(out: &Vec<u8>) -> bool {
    out.len() < out.capacity()
}

/// A DEFLATE encoder.
pub(crate) struct FlateEncoder {
    framing: Framing,
    z: Compress,
}

impl FlateEncoder {
    pub(crate) fn new(framing: Framing, level: u32) -> Self {
        let level = Compression::new(level.min(9));
        let z = match framing {
            Framing::Gzip => Compress::new_gzip(level, WINDOW_BITS),
            Framing::Zlib => Compress::new(level, true),
            Framing::Raw => Compress::new(level, false),
        };
        FlateEncoder { framing, z }
    }

    fn run(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        flush: FlushCompress,
    ) -> Result<(usize, Status), TransformError> {
        let before = self.z.total_in();
        let status = self
            .z
            .compress_vec(input, out, flush)
            .map_err(|e| TransformError::Encoder {
                format: self.framing.name(),
                detail: e.to_string(),
            })?;
        Ok(((self.z.total_in() - before) as usize, status))
    }
}

impl Codec for FlateEncoder {
    type Output = Vec<u8>;

    fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, TransformError> {
        let (consumed, _) = self.run(input, out, FlushCompress::None)?;
        Ok(Progress {
            consumed,
            output_full: !spare(out),
        })
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<bool, TransformError> {
        loop {
            let written = out.len();
            let (_, status) = self.run(&[], out, FlushCompress::Finish)?;
            if status == Status::StreamEnd {
                return Ok(true);
            }
            if !spare(out) {
                return Ok(false);
            }
            if out.len() == written {
                return Err(TransformError::Stalled {
                    codec: self.framing.name(),
                });
            }
        }
    }

    fn name(&self) -> &'static str {
        self.framing.name()
    }
}

/// A DEFLATE decoder: concatenated gzip members are one stream; anything else after the end is
/// [`TransformError::TrailingData`]; an end before the end is [`TransformError::Truncated`].
pub(crate) struct FlateDecoder {
    framing: Framing,
    z: Decompress,
    /// The current stream (or gzip member) has ended.
    ended: bool,
}

/// The first byte of every gzip member (the second, 0x8b, is checked by zlib as part of the
/// header: a following "member" that starts with 0x1f and then goes wrong is corrupt data).
const GZIP_ID1: u8 = 0x1f;

impl FlateDecoder {
    pub(crate) fn new(framing: Framing) -> Self {
        FlateDecoder {
            framing,
            z: Self::decompressor(framing),
            ended: false,
        }
    }

    fn decompressor(framing: Framing) -> Decompress {
        match framing {
            Framing::Gzip => Decompress::new_gzip(WINDOW_BITS),
            Framing::Zlib => Decompress::new(true),
            Framing::Raw => Decompress::new(false),
        }
    }

    fn corrupt(&self, detail: impl ToString) -> TransformError {
        TransformError::Corrupt {
            format: self.framing.name(),
            detail: detail.to_string(),
        }
    }
}

impl Codec for FlateDecoder {
    type Output = Vec<u8>;

    fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, TransformError> {
        if self.ended {
            if input.is_empty() {
                return Ok(Progress {
                    consumed: 0,
                    output_full: false,
                });
            }
            if self.framing != Framing::Gzip || input[0] != GZIP_ID1 {
                return Err(TransformError::TrailingData {
                    format: self.framing.name(),
                });
            }
            // Another gzip member.
            self.z = Self::decompressor(self.framing);
            self.ended = false;
        }
        let before = self.z.total_in();
        let status = self
            .z
            .decompress_vec(input, out, FlushDecompress::None)
            .map_err(|e| self.corrupt(e))?;
        let consumed = (self.z.total_in() - before) as usize;
        if status == Status::StreamEnd {
            self.ended = true;
        }
        Ok(Progress {
            consumed,
            output_full: !spare(out),
        })
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<bool, TransformError> {
        if self.ended {
            Ok(true)
        } else {
            Err(TransformError::Truncated {
                format: self.framing.name(),
            })
        }
    }

    fn name(&self) -> &'static str {
        self.framing.name()
    }
}
