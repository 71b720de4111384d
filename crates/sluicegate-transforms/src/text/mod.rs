//! Text streams with the semantics of the Encoding Standard's `TextDecoderStream` and
//! `TextEncoderStream`, on encoding_rs: every encoding of the standard, `fatal`, `ignoreBOM`,
//! and characters split across chunks.
//!
//! ```
//! use bytes::Bytes;
//! use futures::StreamExt;
//! use sluicegate::{PipeOptions, ReadableStream};
//! use sluicegate_transforms::text::{decode, DecodeOptions};
//!
//! # futures::executor::block_on(async {
//! // "é" is 0xC3 0xA9 in UTF-8: here it arrives split across two chunks.
//! let bytes = ReadableStream::from_iter([Bytes::from_static(b"caf\xC3"), Bytes::from_static(b"\xA9!")]);
//! let text = bytes
//!     .pipe_through(&decode("utf-8", DecodeOptions::default()).unwrap(), PipeOptions::default())
//!     .unwrap();
//! let pieces: Vec<String> = text.values().unwrap().map(Result::unwrap).collect().await;
//! assert_eq!(pieces.concat(), "café!");
//! # });
//! ```

mod decoder;
mod encoder;

pub use decoder::{decode, DecodeOptions, TextDecoder, TextDecoderCodec, UnknownEncoding};
pub use encoder::{encode, Utf16Encoder};
