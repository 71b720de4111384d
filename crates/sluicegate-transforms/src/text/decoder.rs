//! Decoding: `TextDecoder` and `TextDecoderStream` semantics on encoding_rs.

use std::fmt;

use bytes::Bytes;
use encoding_rs::{CoderResult, DecoderResult, Encoding};
use sluicegate::{ByteLengthQueuingStrategy, QueuingStrategy, StreamError, TransformStream};

use crate::codec::{Codec, CodecTransformer, Progress, MAX_CHUNK};
use crate::error::TransformError;

/// The options of `new TextDecoder(label, options)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Malformed input is an error ([`TransformError::Malformed`]) instead of U+FFFD.
    pub fatal: bool,
    /// Keep a byte order mark at the start instead of removing it.
    pub ignore_bom: bool,
}

/// A label the Encoding Standard does not know (or one for the "replacement" encoding, which
/// `TextDecoder` rejects): JavaScript's `RangeError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEncoding(pub String);

impl fmt::Display for UnknownEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown or unsupported encoding label: {:?}", self.0)
    }
}

impl std::error::Error for UnknownEncoding {}

impl From<UnknownEncoding> for StreamError {
    fn from(e: UnknownEncoding) -> Self {
        StreamError::range_error(e.to_string())
    }
}

/// Looks up `label` as the Encoding Standard does (trimmed, ASCII case-insensitive), refusing
/// the replacement encoding.
fn lookup(label: &str) -> Result<&'static Encoding, UnknownEncoding> {
    match Encoding::for_label(label.trim_matches(|c: char| c.is_ascii_whitespace()).as_bytes()) {
        Some(e) if e != encoding_rs::REPLACEMENT => Ok(e),
        _ => Err(UnknownEncoding(label.to_string())),
    }
}

fn new_decoder(encoding: &'static Encoding, options: DecodeOptions) -> encoding_rs::Decoder {
    if options.ignore_bom {
        encoding.new_decoder_without_bom_handling()
    } else {
        encoding.new_decoder_with_bom_removal()
    }
}

/// A streaming decoder as a [`Codec`] from bytes to `String`s: what a `TextDecoderStream` runs.
pub struct TextDecoderCodec {
    encoding: &'static Encoding,
    options: DecodeOptions,
    decoder: encoding_rs::Decoder,
}

impl TextDecoderCodec {
    /// A decoder for the encoding `label` names.
    pub fn new(label: &str, options: DecodeOptions) -> Result<Self, UnknownEncoding> {
        let encoding = lookup(label)?;
        Ok(TextDecoderCodec {
            encoding,
            options,
            decoder: new_decoder(encoding, options),
        })
    }

    /// The encoding's name, lower-cased as `TextDecoder.encoding` gives it (`"utf-8"`,
    /// `"shift_jis"`).
    pub fn encoding(&self) -> String {
        self.encoding.name().to_ascii_lowercase()
    }

    /// The options.
    pub fn options(&self) -> DecodeOptions {
        self.options
    }

    fn malformed(&self) -> TransformError {
        TransformError::Malformed {
            encoding: self.encoding.name(),
        }
    }

    /// Decodes `input` into `out` (within its capacity); `last` marks the end of the input.
    fn step(&mut self, input: &[u8], out: &mut String, last: bool) -> Result<Progress, TransformError> {
        if self.options.fatal {
            let (result, read) = self
                .decoder
                .decode_to_string_without_replacement(input, out, last);
            match result {
                DecoderResult::InputEmpty => Ok(Progress {
                    consumed: read,
                    output_full: false,
                }),
                DecoderResult::OutputFull => Ok(Progress {
                    consumed: read,
                    output_full: true,
                }),
                DecoderResult::Malformed(_, _) => Err(self.malformed()),
            }
        } else {
            let (result, read, _) = self.decoder.decode_to_string(input, out, last);
            Ok(Progress {
                consumed: read,
                output_full: result == CoderResult::OutputFull,
            })
        }
    }
}

impl Codec for TextDecoderCodec {
    type Output = String;

    fn process(&mut self, input: &[u8], out: &mut String) -> Result<Progress, TransformError> {
        self.step(input, out, false)
    }

    fn finish(&mut self, out: &mut String) -> Result<bool, TransformError> {
        let p = self.step(&[], out, true)?;
        Ok(!p.output_full)
    }

    fn name(&self) -> &'static str {
        self.encoding.name()
    }

    /// Room for all the text `input_len` bytes can make when they are well-formed (malformed
    /// input, replaced by U+FFFD, can make up to three times as much: then the piece fills and
    /// the rest follows in further pieces).
    fn output_capacity(&self, input_len: usize, max: usize) -> usize {
        self.decoder
            .max_utf8_buffer_length_without_replacement(input_len)
            .map_or(max, |n| n.min(max))
    }
}

/// The most text a [`decode`] stream puts in one `String`: 64 KiB and 6 bytes, the room
/// encoding_rs asks for ([`max_utf8_buffer_length_without_replacement`]) before it promises to
/// decode 64 KiB of UTF-8 without stopping for space, in the worst state a decoder can be in
/// between chunks: three bytes of a four-byte character pending (64 KiB + 3 + 3; a BOM begun
/// asks for 64 KiB + 5). The text itself is at most 64 KiB + 3 (the chunk's bytes plus the three
/// the chunk before held back), so a chunk of well-formed UTF-8 of up to 64 KiB comes out as
/// one string, never a full one and a sliver.
///
/// [`max_utf8_buffer_length_without_replacement`]: encoding_rs::Decoder::max_utf8_buffer_length_without_replacement
pub const MAX_TEXT_PIECE: usize = MAX_CHUNK + 6;

/// A `TextDecoderStream`: bytes in the encoding `label` names, out as `String`s of at most
/// [`MAX_TEXT_PIECE`] bytes each: the text of each input chunk in one string when it fits, in as
/// many strings as it needs otherwise, each sized for the text it holds. Both sides count bytes.
/// A bad label is a `RangeError`.
pub fn decode(label: &str, options: DecodeOptions) -> Result<TransformStream<Bytes, String>, StreamError> {
    let codec = TextDecoderCodec::new(label, options)?;
    TransformStream::with_strategies(
        CodecTransformer::new(codec, MAX_TEXT_PIECE, std::sync::Arc::new(Ok)),
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
        QueuingStrategy::with_size(MAX_CHUNK as f64, |s: &String| s.len() as f64),
    )
}

/// `TextDecoder`: one-shot and `stream: true` decoding into whole strings.
///
/// ```
/// use sluicegate_transforms::text::{DecodeOptions, TextDecoder};
///
/// let mut d = TextDecoder::new("utf-16le", DecodeOptions::default()).unwrap();
/// assert_eq!(d.decode(&[0x68, 0x00, 0x69], true).unwrap(), "h");
/// assert_eq!(d.decode(&[0x00], false).unwrap(), "i");
/// ```
pub struct TextDecoder {
    codec: TextDecoderCodec,
}

impl TextDecoder {
    /// A decoder for the encoding `label` names.
    pub fn new(label: &str, options: DecodeOptions) -> Result<Self, UnknownEncoding> {
        Ok(TextDecoder {
            codec: TextDecoderCodec::new(label, options)?,
        })
    }

    /// The encoding's lower-case name.
    pub fn encoding(&self) -> String {
        self.codec.encoding()
    }

    /// The options.
    pub fn options(&self) -> DecodeOptions {
        self.codec.options
    }

    /// `decode(input, { stream })`: with `stream`, an incomplete character at the end waits
    /// for the next call; without it, the decoder is flushed and starts afresh afterwards.
    pub fn decode(&mut self, input: &[u8], stream: bool) -> Result<String, TransformError> {
        let capacity = self
            .codec
            .decoder
            .max_utf8_buffer_length(input.len())
            .unwrap_or(usize::MAX / 2)
            .max(16);
        let mut out = String::with_capacity(capacity);
        let mut rest = input;
        let result = loop {
            match self.codec.step(rest, &mut out, !stream) {
                Err(e) => break Err(e),
                Ok(p) => {
                    rest = &rest[p.consumed..];
                    if !p.output_full {
                        break Ok(());
                    }
                    out.reserve(out.capacity().max(16));
                }
            }
        };
        if !stream || result.is_err() {
            self.codec.decoder = new_decoder(self.codec.encoding, self.codec.options);
        }
        result.map(|()| out)
    }
}
