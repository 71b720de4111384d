//! Hashing taps: chunks pass through unchanged while a digest is computed over them; the digest
//! comes out of a [`DigestHandle`] (a future) once the writable side closes.
//!
//! SHA-256 and SHA-512 on `sha2`, BLAKE3 on `blake3`, CRC32 (IEEE) on `crc32fast`.
//!
//! ```
//! use bytes::Bytes;
//! use sluicegate::{PipeOptions, ReadableStream};
//! use sluicegate_transforms::hash::{tap, Algorithm};
//!
//! # futures::executor::block_on(async {
//! let (sha, digest) = tap(Algorithm::Sha256);
//! let out = ReadableStream::from_iter([Bytes::from("ab"), Bytes::from("c")])
//!     .pipe_through(&sha, PipeOptions::default())
//!     .unwrap();
//! let reader = out.get_reader().unwrap();
//! while reader.read().await.unwrap().is_some() {}
//! assert_eq!(
//!     digest.await.unwrap().to_hex(),
//!     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
//! );
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_channel::oneshot;
use sha2::Digest as _;
use sluicegate::transform::{TransformStreamDefaultController, Transformer};
use sluicegate::{ByteLengthQueuingStrategy, Completion, StreamError, TransformStream};

use crate::codec::MAX_CHUNK;

/// A hash algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-512 (64 bytes).
    Sha512,
    /// BLAKE3 (32 bytes).
    Blake3,
    /// CRC-32, IEEE polynomial (4 bytes, big-endian).
    Crc32,
}

/// A running hash of one of the [`Algorithm`]s.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-512.
    Sha512(sha2::Sha512),
    /// BLAKE3.
    Blake3(Box<blake3::Hasher>),
    /// CRC-32.
    Crc32(crc32fast::Hasher),
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
            Algorithm::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
            Algorithm::Crc32 => Hasher::Crc32(crc32fast::Hasher::new()),
        }
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Blake3(h) => {
                h.update(data);
            }
            Hasher::Crc32(h) => h.update(data),
        }
    }

    /// The digest of everything added.
    pub fn finalize(self) -> Digest {
        Digest(match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
            Hasher::Blake3(h) => h.finalize().as_bytes().to_vec(),
            Hasher::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
        })
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hasher::Sha256(_) => "Hasher::Sha256",
            Hasher::Sha512(_) => "Hasher::Sha512",
            Hasher::Blake3(_) => "Hasher::Blake3",
            Hasher::Crc32(_) => "Hasher::Crc32",
        })
    }
}

/// A digest.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Digest(pub Vec<u8>);

impl Digest {
    /// The digest in lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The digest of a [`tap`], once its writable side has closed: a future. It fails with the
/// stream's error if the stream is cancelled or aborted, or with a `TypeError` if its transformer
/// is dropped without finishing.
#[derive(Debug)]
pub struct DigestHandle(oneshot::Receiver<Result<Digest, StreamError>>);

impl Future for DigestHandle {
    type Output = Result<Digest, StreamError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| {
            r.unwrap_or_else(|_| {
                Err(StreamError::type_error(
                    "the hashing stream ended without finishing",
                ))
            })
        })
    }
}

struct Tap {
    hasher: Option<Hasher>,
    done: Option<oneshot::Sender<Result<Digest, StreamError>>>,
}

impl Tap {
    fn send(&mut self, r: Result<Digest, StreamError>) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(r);
        }
    }
}

impl Transformer<Bytes, Bytes> for Tap {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<Bytes>) -> Completion {
        if let Some(h) = &mut self.hasher {
            h.update(&chunk);
        }
        c.enqueue(chunk).into()
    }

    fn flush(&mut self, _c: &TransformStreamDefaultController<Bytes>) -> Completion {
        if let Some(h) = self.hasher.take() {
            self.send(Ok(h.finalize()));
        }
        Completion::ok()
    }

    fn cancel(&mut self, reason: StreamError) -> Completion {
        self.send(Err(reason));
        Completion::ok()
    }
}

/// A pass-through byte stream hashing what goes by, and the handle its digest arrives on.
pub fn tap(algorithm: Algorithm) -> (TransformStream<Bytes, Bytes>, DigestHandle) {
    let (tx, rx) = oneshot::channel();
    let t = TransformStream::with_strategies(
        Tap {
            hasher: Some(Hasher::new(algorithm)),
            done: Some(tx),
        },
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
    )
    .expect("valid strategies");
    (t, DigestHandle(rx))
}
