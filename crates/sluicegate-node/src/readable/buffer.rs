//! The readable buffer and byte mode: chunk lengths, `read(n)` joining and splitting, decoding.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// A chunk type that can run in byte mode: measured in bytes, split and joined by `read(n)`.
///
/// Implemented for [`Bytes`]: splitting is `Bytes::split_to` (no copy); joining copies into one
/// new buffer only when a read spans chunks, as Node's `fromList` does.
pub trait ByteChunk: Sized + Send + 'static {
    /// Length in bytes.
    fn byte_len(&self) -> usize;
    /// Removes and returns the first `at` bytes.
    fn split_to(&mut self, at: usize) -> Self;
    /// Joins `parts` (of `total` bytes in all) into one chunk.
    fn concat(parts: Vec<Self>, total: usize) -> Self;
    /// Decodes `self` with `decoder`, returning the text decoded so far as a chunk (UTF-8).
    fn decode(self, decoder: &mut Decoder) -> Self;
    /// What remains in `decoder` at the end of the stream.
    fn decode_end(decoder: &mut Decoder) -> Option<Self>;
    /// The length once an encoding is set: Node's string length, in UTF-16 code units. The
    /// default is the length in bytes.
    fn text_len(&self) -> usize {
        self.byte_len()
    }
    /// Removes and returns the first `at` UTF-16 code units of the text once an encoding is
    /// set. The default splits bytes.
    fn text_split_to(&mut self, at: usize) -> Self {
        self.split_to(at)
    }
}

impl ByteChunk for Bytes {
    fn byte_len(&self) -> usize {
        self.len()
    }
    fn split_to(&mut self, at: usize) -> Self {
        Bytes::split_to(self, at)
    }
    fn concat(parts: Vec<Self>, total: usize) -> Self {
        let mut out = BytesMut::with_capacity(total);
        for p in parts {
            out.extend_from_slice(&p);
        }
        out.freeze()
    }
    fn decode(self, decoder: &mut Decoder) -> Self {
        Bytes::from(decoder.decode(&self, false).into_bytes())
    }
    fn decode_end(decoder: &mut Decoder) -> Option<Self> {
        let s = decoder.decode(&[], true);
        (!s.is_empty()).then(|| Bytes::from(s.into_bytes()))
    }
    fn text_len(&self) -> usize {
        match std::str::from_utf8(self) {
            Ok(text) => text.encode_utf16().count(),
            Err(_) => self.len(),
        }
    }
    /// A character that straddles `at` (one outside the Basic Multilingual Plane, two UTF-16
    /// code units, where Node's `slice` would cut a surrogate pair in two) goes whole: UTF-8
    /// cannot hold half of it.
    fn text_split_to(&mut self, at: usize) -> Self {
        let Ok(text) = std::str::from_utf8(self) else {
            return Bytes::split_to(self, at.min(self.len()));
        };
        let (mut units, mut cut) = (0, text.len());
        for (i, c) in text.char_indices() {
            if units >= at {
                cut = i;
                break;
            }
            units += c.len_utf16();
        }
        Bytes::split_to(self, cut)
    }
}

/// The text encodings `set_encoding` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// UTF-8 (Node's `'utf8'`): invalid sequences become U+FFFD, as Node's `StringDecoder` does.
    Utf8,
}

impl Encoding {
    /// Node's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
        }
    }
}

/// An incremental decoder (Node's `StringDecoder`), keeping a partial character across chunks.
pub struct Decoder {
    inner: encoding_rs::Decoder,
    encoding: Encoding,
}

impl Decoder {
    pub(crate) fn new(encoding: Encoding) -> Self {
        let inner = match encoding {
            Encoding::Utf8 => encoding_rs::UTF_8.new_decoder_without_bom_handling(),
        };
        Decoder { inner, encoding }
    }

    pub(crate) fn encoding(&self) -> Encoding {
        self.encoding
    }

    fn decode(&mut self, src: &[u8], last: bool) -> String {
        let cap = self
            .inner
            .max_utf8_buffer_length(src.len())
            .unwrap_or(src.len() * 3 + 16);
        let mut out = String::with_capacity(cap);
        let (_, _, _) = self.inner.decode_to_string(src, &mut out, last);
        out
    }
}

/// How a byte-mode stream measures, splits, joins and decodes its chunks (function pointers
/// taken from [`ByteChunk`] when the stream is made, so object mode needs no bound).
pub(crate) struct ByteOps<T> {
    pub len: fn(&T) -> usize,
    pub split_to: fn(&mut T, usize) -> T,
    pub concat: fn(Vec<T>, usize) -> T,
    pub decode: fn(T, &mut Decoder) -> T,
    pub decode_end: fn(&mut Decoder) -> Option<T>,
}

impl<T> Clone for ByteOps<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ByteOps<T> {}

impl<T: ByteChunk> ByteOps<T> {
    pub(crate) fn of() -> Self {
        ByteOps {
            len: T::byte_len,
            split_to: T::split_to,
            concat: T::concat,
            decode: T::decode,
            decode_end: T::decode_end,
        }
    }

    /// Once an encoding is set: chunks are text, measured and split as Node measures and slices
    /// strings (in UTF-16 code units).
    pub(crate) fn text() -> Self {
        ByteOps {
            len: T::text_len,
            split_to: T::text_split_to,
            ..Self::of()
        }
    }
}

/// The queue of chunks with their total length (items in object mode, bytes in byte mode).
pub(crate) struct Buffer<T> {
    pub chunks: VecDeque<T>,
    pub length: usize,
}

impl<T> Buffer<T> {
    pub(crate) fn new() -> Self {
        Buffer {
            chunks: VecDeque::new(),
            length: 0,
        }
    }

    /// Node's `fromList(n, state)`: `n` is already what `howMuchToRead` allows.
    pub(crate) fn take_front(&mut self, n: usize, ops: Option<&ByteOps<T>>) -> Option<T> {
        if self.length == 0 {
            return None;
        }
        let Some(ops) = ops else {
            return self.chunks.pop_front();
        };
        let first_len = (ops.len)(self.chunks.front()?);
        if n == 0 || n >= self.length {
            // Everything.
            return match self.chunks.len() {
                1 => self.chunks.pop_front(),
                _ => {
                    let total = self.length;
                    let parts: Vec<T> = self.chunks.drain(..).collect();
                    Some((ops.concat)(parts, total))
                }
            };
        }
        if n < first_len {
            let front = self.chunks.front_mut()?;
            return Some((ops.split_to)(front, n));
        }
        if n == first_len {
            return self.chunks.pop_front();
        }
        // Spans chunks.
        let mut parts = Vec::new();
        let mut left = n;
        while left > 0 {
            let front = self.chunks.front_mut()?;
            let len = (ops.len)(front);
            if len <= left {
                left -= len;
                parts.push(self.chunks.pop_front()?);
            } else {
                parts.push((ops.split_to)(front, left));
                left = 0;
            }
        }
        Some((ops.concat)(parts, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(parts: &[&'static [u8]]) -> Buffer<Bytes> {
        let mut b = Buffer::new();
        for p in parts {
            b.chunks.push_back(Bytes::from_static(p));
            b.length += p.len();
        }
        b
    }

    #[test]
    fn from_list_splits_joins_and_takes_whole_chunks() {
        let ops = ByteOps::<Bytes>::of();
        let mut b = buf(&[b"abc", b"def", b"gh"]);
        assert_eq!(b.take_front(2, Some(&ops)).unwrap(), "ab");
        b.length -= 2;
        assert_eq!(b.take_front(1, Some(&ops)).unwrap(), "c");
        b.length -= 1;
        assert_eq!(b.take_front(4, Some(&ops)).unwrap(), "defg");
        b.length -= 4;
        assert_eq!(b.take_front(0, Some(&ops)).unwrap(), "h");
    }

    #[test]
    fn split_shares_the_allocation() {
        let ops = ByteOps::<Bytes>::of();
        let mut b = buf(&[b"hello world"]);
        let head = b.take_front(5, Some(&ops)).unwrap();
        let rest = b.chunks.front().unwrap();
        // Both views point into the one static buffer: no copy.
        assert_eq!(head.as_ptr() as usize + 5, rest.as_ptr() as usize);
    }

    #[test]
    fn decoder_keeps_partial_characters_across_chunks() {
        let mut d = Decoder::new(Encoding::Utf8);
        let euro = "€".as_bytes();
        let a = Bytes::copy_from_slice(&euro[..1]).decode(&mut d);
        let b = Bytes::copy_from_slice(&euro[1..]).decode(&mut d);
        assert!(a.is_empty());
        assert_eq!(b, "€");
        let mut d = Decoder::new(Encoding::Utf8);
        let _ = Bytes::copy_from_slice(&euro[..2]).decode(&mut d);
        assert_eq!(Bytes::decode_end(&mut d).unwrap(), "\u{FFFD}");
    }
}
