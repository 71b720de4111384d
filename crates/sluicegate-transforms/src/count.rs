//! A counting tap: chunks pass through unchanged while a [`Counts`] handle reports how many
//! bytes and chunks have gone by (for a progress bar, or a check at the end).
//!
//! ```
//! use bytes::Bytes;
//! use sluicegate::{PipeOptions, ReadableStream};
//! use sluicegate_transforms::count::count;
//!
//! # futures::executor::block_on(async {
//! let (tap, counts) = count();
//! let out = ReadableStream::from_iter([Bytes::from("abc"), Bytes::from("de")])
//!     .pipe_through(&tap, PipeOptions::default())
//!     .unwrap();
//! let reader = out.get_reader().unwrap();
//! while reader.read().await.unwrap().is_some() {}
//! assert_eq!((counts.bytes(), counts.chunks(), counts.is_finished()), (5, 2, true));
//! # });
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use sluicegate::transform::TransformerFn;
use sluicegate::{ByteLengthQueuingStrategy, TransformStream};

use crate::codec::MAX_CHUNK;

#[derive(Debug, Default)]
struct Shared {
    bytes: AtomicU64,
    chunks: AtomicU64,
    finished: AtomicBool,
}

/// What a [`count`] tap has seen so far. Cheap to clone; readable from any thread.
#[derive(Clone, Debug, Default)]
pub struct Counts(Arc<Shared>);

impl Counts {
    /// Bytes passed through.
    pub fn bytes(&self) -> u64 {
        self.0.bytes.load(Ordering::Relaxed)
    }

    /// Chunks passed through.
    pub fn chunks(&self) -> u64 {
        self.0.chunks.load(Ordering::Relaxed)
    }

    /// Whether the writable side was closed and every chunk passed through.
    pub fn is_finished(&self) -> bool {
        self.0.finished.load(Ordering::Acquire)
    }
}

/// A pass-through byte stream that counts (byte-length strategies of 64 KiB on both sides).
pub fn count() -> (TransformStream<Bytes, Bytes>, Counts) {
    let counts = Counts::default();
    let (a, b) = (counts.clone(), counts.clone());
    let t = TransformStream::with_strategies(
        TransformerFn::new(move |chunk: Bytes, c| {
            a.0.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            a.0.chunks.fetch_add(1, Ordering::Relaxed);
            c.enqueue(chunk)
        })
        .flush(move |_| b.0.finished.store(true, Ordering::Release)),
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
    )
    .expect("valid strategies");
    (t, counts)
}
