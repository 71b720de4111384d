//! gzip, deflate (zlib) and deflate-raw on flate2 (zlib-rs backend).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::gzip;
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
///
/// gzip's framing is read here ([`gzip::Member`]) around zlib-rs in raw mode; zlib's framing is
/// left to zlib-rs.
pub(crate) struct FlateDecoder {
    framing: Framing,
    z: Decompress,
    /// The framing of the current gzip member (`None` for the other framings).
    member: Option<gzip::Member>,
    /// The current stream (or gzip member) has ended.
    ended: bool,
}

impl FlateDecoder {
    pub(crate) fn new(framing: Framing) -> Self {
        FlateDecoder {
            framing,
            z: match framing {
                Framing::Gzip | Framing::Raw => Decompress::new(false),
                Framing::Zlib => Decompress::new(true),
            },
            member: (framing == Framing::Gzip).then(gzip::Member::new),
            ended: false,
        }
    }
}

fn corrupt(format: &'static str, detail: impl ToString) -> TransformError {
    TransformError::Corrupt {
        format,
        detail: detail.to_string(),
    }
}

/// Inflates from `input` into `out`; returns how much of `input` it read and whether the DEFLATE
/// data ended.
fn inflate(
    z: &mut Decompress,
    format: &'static str,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(usize, bool), TransformError> {
    let before = z.total_in();
    let status = z
        .decompress_vec(input, out, FlushDecompress::None)
        .map_err(|e| corrupt(format, e))?;
    Ok(((z.total_in() - before) as usize, status == Status::StreamEnd))
}

/// Reads one gzip member's header, body and trailer, each as far as `input` and `out` allow;
/// returns how much of `input` it read.
fn read_member(
    member: &mut gzip::Member,
    z: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, TransformError> {
    let format = Framing::Gzip.name();
    let mut consumed = member.read_header(input).map_err(|e| corrupt(format, e))?;
    if member.in_body() {
        let written = out.len();
        let (read, ended) = inflate(z, format, &input[consumed..], out)?;
        consumed += read;
        member.inflated(&out[written..]);
        if ended {
            member.body_ended();
        }
    }
    consumed += member
        .read_trailer(&input[consumed..])
        .map_err(|e| corrupt(format, e))?;
    Ok(consumed)
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
            if self.framing != Framing::Gzip || input[0] != gzip::ID1 {
                return Err(TransformError::TrailingData {
                    format: self.framing.name(),
                });
            }
            // Another gzip member.
            self.z.reset(false);
            self.member = Some(gzip::Member::new());
            self.ended = false;
        }
        let consumed = match &mut self.member {
            Some(member) => {
                let consumed = read_member(member, &mut self.z, input, out)?;
                self.ended = member.done();
                consumed
            }
            None => {
                let (consumed, ended) = inflate(&mut self.z, self.framing.name(), input, out)?;
                self.ended = ended;
                consumed
            }
        };
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
