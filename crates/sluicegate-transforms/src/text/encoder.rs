//! Encoding: `TextEncoderStream` semantics (always UTF-8).

use bytes::Bytes;
use sluicegate::transform::TransformerFn;
use sluicegate::{ByteLengthQueuingStrategy, QueuingStrategy, StreamError, TransformStream};

use crate::codec::MAX_CHUNK;

/// A `TextEncoderStream`: `String`s in, their UTF-8 bytes out (empty strings give no chunk).
/// Both sides count bytes.
///
/// A Rust `String` is always valid Unicode, so there is nothing to carry between chunks; input
/// made of UTF-16 code units (JavaScript strings, where a surrogate pair may be split across
/// chunks) goes through [`Utf16Encoder`].
pub fn encode() -> Result<TransformStream<String, Bytes>, StreamError> {
    TransformStream::with_strategies(
        TransformerFn::new(|s: String, c| {
            if s.is_empty() {
                Ok(())
            } else {
                c.enqueue(Bytes::from(s.into_bytes()))
            }
        }),
        QueuingStrategy::with_size(MAX_CHUNK as f64, |s: &String| s.len() as f64),
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
    )
}

/// The Encoding Standard's UTF-8 encoder over UTF-16 code units, as `TextEncoderStream` runs
/// it: a high surrogate at the end of a chunk waits for the next chunk; a lone surrogate becomes
/// U+FFFD.
///
/// ```
/// use sluicegate_transforms::text::Utf16Encoder;
///
/// let mut e = Utf16Encoder::default();
/// let smile: Vec<u16> = "😀".encode_utf16().collect();
/// assert_eq!(e.encode(&smile[..1]), b"");
/// assert_eq!(e.encode(&smile[1..]), "😀".as_bytes());
/// assert_eq!(e.encode(&[0xD800]), b"");
/// assert_eq!(e.flush(), "\u{FFFD}".as_bytes());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Utf16Encoder {
    /// The encoder's "leading surrogate".
    pending_high: Option<u16>,
}

impl Utf16Encoder {
    /// Encodes one chunk of code units.
    pub fn encode(&mut self, units: &[u16]) -> Vec<u8> {
        let mut out = Vec::with_capacity(units.len() * 3 + 4);
        let mut units = units;
        if let Some(high) = self.pending_high.take() {
            match units.first() {
                None => {
                    self.pending_high = Some(high);
                    return out;
                }
                Some(&low) if (0xDC00..0xE000).contains(&low) => {
                    push_str(&mut out, &String::from_utf16_lossy(&[high, low]));
                    units = &units[1..];
                }
                Some(_) => push_str(&mut out, "\u{FFFD}"),
            }
        }
        if let Some(&last) = units.last() {
            if (0xD800..0xDC00).contains(&last) {
                self.pending_high = Some(last);
                units = &units[..units.len() - 1];
            }
        }
        for c in char::decode_utf16(units.iter().copied()) {
            let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        out
    }

    /// Encodes a chunk that is a whole, valid string (a high surrogate waiting from the chunk
    /// before becomes U+FFFD, as the string cannot start with its low half).
    pub fn encode_str(&mut self, s: &str) -> Vec<u8> {
        if s.is_empty() {
            // An empty chunk leaves a waiting high surrogate waiting.
            return Vec::new();
        }
        let mut out = self.flush();
        out.extend_from_slice(s.as_bytes());
        out
    }

    /// The end of the input: a high surrogate still waiting becomes U+FFFD.
    pub fn flush(&mut self) -> Vec<u8> {
        match self.pending_high.take() {
            Some(_) => "\u{FFFD}".as_bytes().to_vec(),
            None => Vec::new(),
        }
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}
