//! # sluicegate-transforms
//!
//! Transform streams for [sluicegate]: the stages a byte pipeline usually needs
//! between its source and its sink, each a `TransformStream` with byte-length strategies and
//! bounded memory, each built on the field's well-kept crate for the job.
//!
//! | module | what | crate | feature |
//! |---|---|---|---|
//! | [`compression`] | gzip, deflate, deflate-raw, zstd, brotli, both ways | flate2 (zlib-rs), zstd, brotli | `gzip`, `zstd`, `brotli` |
//! | [`text`] | `TextDecoderStream` / `TextEncoderStream` for every WHATWG encoding | encoding_rs | `text` |
//! | [`lines`] | lines split at LF or CRLF, with a maximum length | | |
//! | [`ndjson`] | newline-delimited JSON, both ways | serde_json | `ndjson` |
//! | [`hash`] | SHA-256, SHA-512, BLAKE3, CRC32 taps | sha2, blake3, crc32fast | `hash` |
//! | [`count`] | byte and chunk counting tap | | |
//!
//! All features are on by default; turn off the default features and pick the ones you need.
//!
//! ## Bounded memory
//!
//! A transform that can make much output from little input (a decompressor, a text decoder)
//! runs on a [`Codec`](codec::Codec) step function: its output leaves in chunks of at most
//! [`MAX_CHUNK`] (64 KiB), and after each one the transform waits until the readable side
//! wants more ([`TransformStreamDefaultController::ready`](sluicegate::TransformStreamDefaultController::ready)).
//! A gzip bomb of 10 GiB of zeros through [`compression::decompress`] into a sink that discards
//! what it gets stays under 16 MiB of resident memory (`cargo run --release -p
//! sluicegate-transforms --example bomb -- --gib 10`).
//!
//! ## Errors
//!
//! Bad input errors the stream with a [`TransformError`] as the [`StreamError`](sluicegate::StreamError)'s
//! reason ([`TransformError::of`] gets it back): corrupt, truncated or trailing data, malformed
//! text with `fatal`, an over-long line, invalid JSON with its line number.

#![warn(missing_docs)]

pub mod codec;
#[cfg(any(feature = "gzip", feature = "zstd", feature = "brotli"))]
pub mod compression;
pub mod count;
mod error;
#[cfg(feature = "hash")]
pub mod hash;
pub mod lines;
#[cfg(feature = "ndjson")]
pub mod ndjson;
#[cfg(feature = "text")]
pub mod text;

pub use codec::MAX_CHUNK;
pub use error::TransformError;
