//! Compression and decompression streams: gzip, deflate (zlib) and deflate-raw on flate2 with
//! the zlib-rs backend (feature `gzip`), zstd (feature `zstd`) and brotli (feature `brotli`).
//!
//! [`compress`] and [`decompress`] give `TransformStream<Bytes, Bytes>`s whose two sides count
//! bytes (high-water marks of [`MAX_CHUNK`] each). Output comes in chunks of at most
//! [`MAX_CHUNK`], each enqueued only when the reader has room, so a decompression bomb through a
//! decoder into a slow or discarding sink keeps memory bounded. Decoders accept concatenated
//! gzip members (and zstd frames), and report truncated input, trailing data and corrupt data as
//! a [`TransformError`].
//!
//! ```
//! use bytes::Bytes;
//! use futures::StreamExt;
//! use sluicegate::{PipeOptions, ReadableStream};
//! use sluicegate_transforms::compression::{compress, decompress, Format};
//!
//! # futures::executor::block_on(async {
//! let text = Bytes::from("to be or not to be, ".repeat(1000));
//! let source = ReadableStream::from_iter([text.clone()]);
//! let round_trip = source
//!     .pipe_through(&compress(Format::Gzip).unwrap(), PipeOptions::default())
//!     .unwrap()
//!     .pipe_through(&decompress(Format::Gzip).unwrap(), PipeOptions::default())
//!     .unwrap();
//! let chunks: Vec<Bytes> = round_trip.values().unwrap().map(Result::unwrap).collect().await;
//! assert_eq!(chunks.concat(), text);
//! # });
//! ```

#[cfg(feature = "brotli")]
mod brotli;
#[cfg(feature = "gzip")]
mod flate;
#[cfg(feature = "gzip")]
mod gzip;
#[cfg(feature = "zstd")]
mod zstd;

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use sluicegate::{ByteLengthQueuingStrategy, StreamError, TransformStream};

use crate::codec::{Codec, CodecTransformer, Progress, MAX_CHUNK};
use crate::error::TransformError;

/// A compression format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// gzip (RFC 1952).
    #[cfg(feature = "gzip")]
    Gzip,
    /// zlib (RFC 1950), which the Compression Standard calls `"deflate"`.
    #[cfg(feature = "gzip")]
    Deflate,
    /// Raw DEFLATE (RFC 1951), `"deflate-raw"`.
    #[cfg(feature = "gzip")]
    DeflateRaw,
    /// Zstandard (RFC 8878).
    #[cfg(feature = "zstd")]
    Zstd,
    /// Brotli (RFC 7932), `"br"`.
    #[cfg(feature = "brotli")]
    Brotli,
}

impl Format {
    /// Every format this build supports.
    pub const ALL: &'static [Format] = &[
        #[cfg(feature = "gzip")]
        Format::Gzip,
        #[cfg(feature = "gzip")]
        Format::Deflate,
        #[cfg(feature = "gzip")]
        Format::DeflateRaw,
        #[cfg(feature = "zstd")]
        Format::Zstd,
        #[cfg(feature = "brotli")]
        Format::Brotli,
    ];

    /// The format's name as the Compression Standard (and `Content-Encoding`) spell it:
    /// `gzip`, `deflate`, `deflate-raw`, `zstd`, `br`.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "gzip")]
            Format::Gzip => "gzip",
            #[cfg(feature = "gzip")]
            Format::Deflate => "deflate",
            #[cfg(feature = "gzip")]
            Format::DeflateRaw => "deflate-raw",
            #[cfg(feature = "zstd")]
            Format::Zstd => "zstd",
            #[cfg(feature = "brotli")]
            Format::Brotli => "br",
        }
    }

    /// The level [`compress`] uses: 6 for the DEFLATE formats (zlib's default), 3 for zstd, 4
    /// for brotli (levels that favour speed, as HTTP servers do).
    pub fn default_level(self) -> u32 {
        match self {
            #[cfg(feature = "gzip")]
            Format::Gzip | Format::Deflate | Format::DeflateRaw => 6,
            #[cfg(feature = "zstd")]
            Format::Zstd => 3,
            #[cfg(feature = "brotli")]
            Format::Brotli => 4,
        }
    }

    /// The highest level: 9 for DEFLATE, 22 for zstd, 11 for brotli.
    pub fn max_level(self) -> u32 {
        match self {
            #[cfg(feature = "gzip")]
            Format::Gzip | Format::Deflate | Format::DeflateRaw => 9,
            #[cfg(feature = "zstd")]
            Format::Zstd => 22,
            #[cfg(feature = "brotli")]
            Format::Brotli => 11,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown format name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unsupported compression format: {:?}", self.0)
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Parses a name as [`Format::name`] spells it (exactly, as the Compression Standard does).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// An encoder for one of the [`Format`]s, as a [`Codec`].
pub struct Encoder(EncoderKind);

enum EncoderKind {
    #[cfg(feature = "gzip")]
    Flate(flate::FlateEncoder),
    #[cfg(feature = "zstd")]
    Zstd(zstd::ZstdEncoder),
    #[cfg(feature = "brotli")]
    Brotli(Box<brotli::BrotliEncoder>),
}

impl Encoder {
    /// An encoder at `level` (clamped to [`Format::max_level`]).
    pub fn new(format: Format, level: u32) -> Result<Self, TransformError> {
        let level = level.min(format.max_level());
        Ok(Encoder(match format {
            #[cfg(feature = "gzip")]
            Format::Gzip => EncoderKind::Flate(flate::FlateEncoder::new(flate::Framing::Gzip, level)),
            #[cfg(feature = "gzip")]
            Format::Deflate => EncoderKind::Flate(flate::FlateEncoder::new(flate::Framing::Zlib, level)),
            #[cfg(feature = "gzip")]
            Format::DeflateRaw => EncoderKind::Flate(flate::FlateEncoder::new(flate::Framing::Raw, level)),
            #[cfg(feature = "zstd")]
            Format::Zstd => EncoderKind::Zstd(zstd::ZstdEncoder::new(level as i32)?),
            #[cfg(feature = "brotli")]
            Format::Brotli => EncoderKind::Brotli(Box::new(brotli::BrotliEncoder::new(level))),
        }))
    }
}

/// A decoder for one of the [`Format`]s, as a [`Codec`].
pub struct Decoder(DecoderKind);

enum DecoderKind {
    #[cfg(feature = "gzip")]
    Flate(flate::FlateDecoder),
    #[cfg(feature = "zstd")]
    Zstd(zstd::ZstdDecoder),
    #[cfg(feature = "brotli")]
    Brotli(Box<brotli::BrotliDecoder>),
}

impl Decoder {
    /// A decoder for `format`.
    pub fn new(format: Format) -> Result<Self, TransformError> {
        Ok(Decoder(match format {
            #[cfg(feature = "gzip")]
            Format::Gzip => DecoderKind::Flate(flate::FlateDecoder::new(flate::Framing::Gzip)),
            #[cfg(feature = "gzip")]
            Format::Deflate => DecoderKind::Flate(flate::FlateDecoder::new(flate::Framing::Zlib)),
            #[cfg(feature = "gzip")]
            Format::DeflateRaw => DecoderKind::Flate(flate::FlateDecoder::new(flate::Framing::Raw)),
            #[cfg(feature = "zstd")]
            Format::Zstd => DecoderKind::Zstd(zstd::ZstdDecoder::new()?),
            #[cfg(feature = "brotli")]
            Format::Brotli => DecoderKind::Brotli(Box::new(brotli::BrotliDecoder::new())),
        }))
    }
}

/// Forwards the [`Codec`] methods to whichever codec the enum holds.
macro_rules! dispatch {
    ($ty:ident, $kind:ident) => {
        impl Codec for $ty {
            type Output = Vec<u8>;

            fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, TransformError> {
                match &mut self.0 {
                    #[cfg(feature = "gzip")]
                    $kind::Flate(c) => c.process(input, out),
                    #[cfg(feature = "zstd")]
                    $kind::Zstd(c) => c.process(input, out),
                    #[cfg(feature = "brotli")]
                    $kind::Brotli(c) => c.process(input, out),
                }
            }

            fn finish(&mut self, out: &mut Vec<u8>) -> Result<bool, TransformError> {
                match &mut self.0 {
                    #[cfg(feature = "gzip")]
                    $kind::Flate(c) => c.finish(out),
                    #[cfg(feature = "zstd")]
                    $kind::Zstd(c) => c.finish(out),
                    #[cfg(feature = "brotli")]
                    $kind::Brotli(c) => c.finish(out),
                }
            }

            fn name(&self) -> &'static str {
                match &self.0 {
                    #[cfg(feature = "gzip")]
                    $kind::Flate(c) => c.name(),
                    #[cfg(feature = "zstd")]
                    $kind::Zstd(c) => c.name(),
                    #[cfg(feature = "brotli")]
                    $kind::Brotli(c) => c.name(),
                }
            }
        }
    };
}

dispatch!(Encoder, EncoderKind);
dispatch!(Decoder, DecoderKind);

/// A byte transform stream over `codec`: both sides count bytes, with high-water marks of
/// [`MAX_CHUNK`].
pub fn codec_stream<C: Codec<Output = Vec<u8>>>(
    codec: C,
) -> Result<TransformStream<Bytes, Bytes>, StreamError> {
    TransformStream::with_strategies(
        CodecTransformer::bytes(codec),
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
    )
}

/// A compressing stream for `format` at its [default level](Format::default_level).
pub fn compress(format: Format) -> Result<TransformStream<Bytes, Bytes>, StreamError> {
    compress_level(format, format.default_level())
}

/// A compressing stream for `format` at `level` (clamped to [`Format::max_level`]).
pub fn compress_level(format: Format, level: u32) -> Result<TransformStream<Bytes, Bytes>, StreamError> {
    codec_stream(Encoder::new(format, level)?)
}

/// A decompressing stream for `format`.
pub fn decompress(format: Format) -> Result<TransformStream<Bytes, Bytes>, StreamError> {
    codec_stream(Decoder::new(format)?)
}
