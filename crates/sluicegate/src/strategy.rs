//! Queuing strategies and the queue-with-sizes they measure.
//!
//! A strategy has a high-water mark and a size function. A stream's *desired size* is the
//! high-water mark minus the total size of the queued chunks; when it drops to zero or below the
//! stream applies backpressure. Numbers are `f64` as in the standard: the desired size can be
//! negative, and a NaN or negative high-water mark is a `RangeError`.
//!
//! ```
//! use sluicegate::strategy::{ByteLengthQueuingStrategy, CountQueuingStrategy, QueuingStrategy};
//!
//! let count: QueuingStrategy<u32> = CountQueuingStrategy::new(16.0).into();
//! assert_eq!(count.high_water_mark, Some(16.0));
//!
//! let bytes: QueuingStrategy<Vec<u8>> = ByteLengthQueuingStrategy::new(65536.0).into();
//! assert_eq!(bytes.size_of(&vec![0u8; 10]).unwrap(), 10.0);
//!
//! let custom = QueuingStrategy::<String>::with_size(100.0, |s: &String| s.len() as f64);
//! assert_eq!(custom.size_of(&"abc".to_string()).unwrap(), 3.0);
//! ```

use std::any::TypeId;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use crate::error::{catch_user, StreamError};

/// A size function: measures one chunk. An `Err` is the standard's thrown exception.
pub type SizeFn<T> = Arc<dyn Fn(&T) -> Result<f64, StreamError> + Send + Sync>;

/// A queuing strategy: a high-water mark and a way to measure chunks.
///
/// `high_water_mark: None` means "the default for this kind of stream" (1 for readable and
/// writable streams, 0 for a transform stream's readable side); `size: None` counts every chunk
/// as 1.
pub struct QueuingStrategy<T> {
    /// The high-water mark, in the size function's units.
    pub high_water_mark: Option<f64>,
    /// The size function, if not counting chunks.
    pub size: Option<SizeFn<T>>,
    /// Set by [`ByteLengthQueuingStrategy`] for chunk types whose length is the crate's own code
    /// (`Bytes`, `Vec<u8>`, …): the `size` it made and the same measure as a plain function,
    /// which a stream then runs in place instead of as user code. Holding the `Arc` keeps its
    /// address from being reused, so a `size` the user replaced never matches it.
    builtin: Option<(SizeFn<T>, Measure<T>)>,
}

/// A size measure that is the crate's own code ([`SizeAlgorithm::Builtin`]).
pub(crate) type Measure<T> = fn(&T) -> f64;

/// A stream's size algorithm, as ExtractSizeAlgorithm leaves it.
pub(crate) enum SizeAlgorithm<T> {
    /// No size function: every chunk counts 1.
    Count,
    /// A measure that is the crate's own code (a byte length): it cannot fail, panic or call
    /// back into a stream, so it runs in place, with the stream's state borrowed.
    Builtin(Measure<T>),
    /// User code: it runs with the stream's domain released, and may fail.
    User(SizeFn<T>),
}

impl<T> SizeAlgorithm<T> {
    /// Takes the algorithm out, leaving chunk counting (ClearAlgorithms).
    pub(crate) fn take(&mut self) -> SizeAlgorithm<T> {
        std::mem::replace(self, SizeAlgorithm::Count)
    }

    /// Whether chunks are measured at all.
    pub(crate) fn is_count(&self) -> bool {
        matches!(self, SizeAlgorithm::Count)
    }

    /// The user function, for dropping once the stream's state is released (its `Drop` is user
    /// code).
    pub(crate) fn into_user(self) -> Option<SizeFn<T>> {
        match self {
            SizeAlgorithm::User(f) => Some(f),
            SizeAlgorithm::Count | SizeAlgorithm::Builtin(_) => None,
        }
    }
}

impl<T> QueuingStrategy<T> {
    /// A strategy with the stream's default high-water mark and chunk counting.
    pub fn new() -> Self {
        QueuingStrategy {
            high_water_mark: None,
            size: None,
            builtin: None,
        }
    }

    /// Counts chunks, with this high-water mark.
    pub fn count(high_water_mark: f64) -> Self {
        QueuingStrategy {
            high_water_mark: Some(high_water_mark),
            size: None,
            builtin: None,
        }
    }

    /// Measures chunks with `size`, against this high-water mark.
    pub fn with_size(high_water_mark: f64, size: impl Fn(&T) -> f64 + Send + Sync + 'static) -> Self {
        QueuingStrategy {
            high_water_mark: Some(high_water_mark),
            size: Some(Arc::new(move |chunk| Ok(size(chunk)))),
            builtin: None,
        }
    }

    /// Measures chunks with a size function that may fail (the standard's throwing `size()`).
    pub fn with_fallible_size(
        high_water_mark: Option<f64>,
        size: impl Fn(&T) -> Result<f64, StreamError> + Send + Sync + 'static,
    ) -> Self {
        QueuingStrategy {
            high_water_mark,
            size: Some(Arc::new(size)),
            builtin: None,
        }
    }

    /// The size of `chunk` under this strategy (1 when counting chunks). Does not validate it.
    pub fn size_of(&self, chunk: &T) -> Result<f64, StreamError> {
        match &self.size {
            Some(f) => f(chunk),
            None => Ok(1.0),
        }
    }

    /// ExtractHighWaterMark: the high-water mark, or `default` when none was given; NaN or
    /// negative is a `RangeError`.
    pub fn extract_high_water_mark(&self, default: f64) -> Result<f64, StreamError> {
        extract_high_water_mark(self.high_water_mark, default)
    }

    /// ExtractSizeAlgorithm: the size function, counting chunks when none was given.
    pub(crate) fn extract_size_algorithm(&self) -> SizeAlgorithm<T> {
        match (&self.size, &self.builtin) {
            (None, _) => SizeAlgorithm::Count,
            (Some(size), Some((made, measure))) if Arc::ptr_eq(size, made) => {
                SizeAlgorithm::Builtin(*measure)
            }
            (Some(size), _) => SizeAlgorithm::User(size.clone()),
        }
    }
}

/// ExtractHighWaterMark over a bare number.
pub fn extract_high_water_mark(hwm: Option<f64>, default: f64) -> Result<f64, StreamError> {
    match hwm {
        None => Ok(default),
        Some(h) if h.is_nan() || h < 0.0 => Err(StreamError::range_error(format!(
            "invalid high-water mark {h}: it must be a non-negative number"
        ))),
        Some(h) => Ok(h),
    }
}

impl<T> Default for QueuingStrategy<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for QueuingStrategy<T> {
    fn clone(&self) -> Self {
        QueuingStrategy {
            high_water_mark: self.high_water_mark,
            size: self.size.clone(),
            builtin: self.builtin.clone(),
        }
    }
}

impl<T> fmt::Debug for QueuingStrategy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuingStrategy")
            .field("high_water_mark", &self.high_water_mark)
            .field("size", &self.size.as_ref().map(|_| "fn"))
            .finish()
    }
}

/// The standard's `CountQueuingStrategy`: every chunk has size 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CountQueuingStrategy {
    high_water_mark: f64,
}

impl CountQueuingStrategy {
    /// A count strategy with this high-water mark (validated when a stream uses it).
    pub fn new(high_water_mark: f64) -> Self {
        CountQueuingStrategy { high_water_mark }
    }

    /// The high-water mark.
    pub fn high_water_mark(&self) -> f64 {
        self.high_water_mark
    }

    /// The size of any chunk: 1.
    pub fn size<T: ?Sized>(&self, _chunk: &T) -> f64 {
        1.0
    }
}

impl<T> From<CountQueuingStrategy> for QueuingStrategy<T> {
    fn from(s: CountQueuingStrategy) -> Self {
        QueuingStrategy::count(s.high_water_mark)
    }
}

/// Anything with a length in bytes, for [`ByteLengthQueuingStrategy`].
pub trait ByteLength {
    /// The chunk's length in bytes (the standard's `byteLength`).
    fn byte_length(&self) -> usize;
}

impl ByteLength for [u8] {
    fn byte_length(&self) -> usize {
        self.len()
    }
}
impl ByteLength for Vec<u8> {
    fn byte_length(&self) -> usize {
        self.len()
    }
}
impl ByteLength for str {
    fn byte_length(&self) -> usize {
        self.len()
    }
}
impl ByteLength for String {
    fn byte_length(&self) -> usize {
        self.len()
    }
}
impl<const N: usize> ByteLength for [u8; N] {
    fn byte_length(&self) -> usize {
        N
    }
}
impl ByteLength for &'static [u8] {
    fn byte_length(&self) -> usize {
        self.len()
    }
}
impl ByteLength for bytes::Bytes {
    fn byte_length(&self) -> usize {
        self.len()
    }
}
impl ByteLength for bytes::BytesMut {
    fn byte_length(&self) -> usize {
        self.len()
    }
}
impl<B: ByteLength + ?Sized> ByteLength for Box<B> {
    fn byte_length(&self) -> usize {
        (**self).byte_length()
    }
}
impl<B: ByteLength + ?Sized> ByteLength for Arc<B> {
    fn byte_length(&self) -> usize {
        (**self).byte_length()
    }
}

/// The standard's `ByteLengthQueuingStrategy`: a chunk's size is its length in bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ByteLengthQueuingStrategy {
    high_water_mark: f64,
}

impl ByteLengthQueuingStrategy {
    /// A byte-length strategy with this high-water mark, in bytes.
    pub fn new(high_water_mark: f64) -> Self {
        ByteLengthQueuingStrategy { high_water_mark }
    }

    /// The high-water mark.
    pub fn high_water_mark(&self) -> f64 {
        self.high_water_mark
    }

    /// The size of `chunk`: its length in bytes.
    pub fn size<T: ByteLength + ?Sized>(&self, chunk: &T) -> f64 {
        chunk.byte_length() as f64
    }
}

impl<T: ByteLength + 'static> From<ByteLengthQueuingStrategy> for QueuingStrategy<T> {
    fn from(s: ByteLengthQueuingStrategy) -> Self {
        let mut strategy = QueuingStrategy::with_size(s.high_water_mark, byte_length_of::<T>);
        // A chunk type whose `ByteLength` is one of this crate's impls is measured in place; any
        // other impl is user code, and is run as such.
        let own = [
            TypeId::of::<bytes::Bytes>(),
            TypeId::of::<bytes::BytesMut>(),
            TypeId::of::<Vec<u8>>(),
            TypeId::of::<String>(),
        ];
        if own.contains(&TypeId::of::<T>()) {
            let made = strategy.size.clone().expect("with_size sets a size");
            strategy.builtin = Some((made, byte_length_of::<T>));
        }
        strategy
    }
}

/// A chunk's length in bytes, as the byte-length strategy measures it.
fn byte_length_of<T: ByteLength>(chunk: &T) -> f64 {
    chunk.byte_length() as f64
}

/// A queue of values with their sizes and a running total: the standard's queue-with-sizes.
pub(crate) struct QueueWithSizes<T> {
    queue: VecDeque<(T, f64)>,
    total: f64,
}

impl<T> QueueWithSizes<T> {
    pub(crate) fn new() -> Self {
        QueueWithSizes {
            queue: VecDeque::new(),
            total: 0.0,
        }
    }

    /// EnqueueValueWithSize: a size that is NaN, negative or infinite is a `RangeError`, and the
    /// value is handed back with it so that nothing accepted is lost silently.
    pub(crate) fn enqueue_value_with_size(&mut self, value: T, size: f64) -> Result<(), (T, StreamError)> {
        if !is_non_negative_number(size) || size == f64::INFINITY {
            return Err((
                value,
                StreamError::range_error(format!(
                    "invalid chunk size {size}: it must be a finite, non-negative number"
                )),
            ));
        }
        self.queue.push_back((value, size));
        self.total += size;
        Ok(())
    }

    /// DequeueValue: removes the head; the total is clamped at 0 against rounding.
    pub(crate) fn dequeue_value(&mut self) -> Option<T> {
        let (value, size) = self.queue.pop_front()?;
        self.total -= size;
        if self.total < 0.0 {
            self.total = 0.0;
        }
        Some(value)
    }

    /// PeekQueueValue.
    pub(crate) fn peek_queue_value(&self) -> Option<&T> {
        self.queue.front().map(|(v, _)| v)
    }

    /// PeekQueueValue, mutably: lets a writable stream move the head chunk out to its sink while the
    /// chunk's size stays counted until the write settles (DequeueValue happens then).
    pub(crate) fn peek_queue_value_mut(&mut self) -> Option<&mut T> {
        self.queue.front_mut().map(|(v, _)| v)
    }

    /// ResetQueue: empties the queue, handing the values back so that the caller can drop them
    /// outside a lock (a chunk's `Drop` is user code).
    pub(crate) fn take_queue(&mut self) -> QueueWithSizes<T> {
        std::mem::replace(self, QueueWithSizes::new())
    }

    pub(crate) fn total_size(&self) -> f64 {
        self.total
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

fn is_non_negative_number(v: f64) -> bool {
    !v.is_nan() && v >= 0.0
}

/// Measures `chunk` with a size algorithm, catching a panic as an error.
pub(crate) fn call_size<T>(size: &Option<SizeFn<T>>, chunk: &T) -> Result<f64, StreamError> {
    match size {
        None => Ok(1.0),
        Some(f) => catch_user(|| f(chunk)).and_then(|r| r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn high_water_mark_validation() {
        assert_eq!(extract_high_water_mark(None, 1.0).unwrap(), 1.0);
        assert_eq!(extract_high_water_mark(Some(0.0), 1.0).unwrap(), 0.0);
        assert_eq!(
            extract_high_water_mark(Some(f64::INFINITY), 1.0).unwrap(),
            f64::INFINITY
        );
        assert_eq!(
            extract_high_water_mark(Some(f64::NAN), 1.0).unwrap_err().kind(),
            ErrorKind::Range
        );
        assert_eq!(
            extract_high_water_mark(Some(-1.0), 1.0).unwrap_err().kind(),
            ErrorKind::Range
        );
    }

    #[test]
    fn queue_rejects_bad_sizes_and_returns_the_value() {
        let mut q = QueueWithSizes::new();
        for bad in [f64::NAN, -1.0, f64::INFINITY] {
            let (v, e) = q.enqueue_value_with_size("x", bad).unwrap_err();
            assert_eq!(v, "x");
            assert_eq!(e.kind(), ErrorKind::Range);
        }
        assert!(q.is_empty());
        q.enqueue_value_with_size("a", 0.7).unwrap();
        q.enqueue_value_with_size("b", 0.2).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q.peek_queue_value(), Some(&"a"));
        assert_eq!(q.dequeue_value(), Some("a"));
        assert_eq!(q.dequeue_value(), Some("b"));
        // 0.7 + 0.2 - 0.7 - 0.2 rounds below zero; the total is clamped.
        assert_eq!(q.total_size(), 0.0);
    }

    /// What ExtractSizeAlgorithm made of `strategy`, by name.
    fn kind<T>(strategy: &QueuingStrategy<T>) -> &'static str {
        match strategy.extract_size_algorithm() {
            SizeAlgorithm::Count => "count",
            SizeAlgorithm::Builtin(_) => "builtin",
            SizeAlgorithm::User(_) => "user",
        }
    }

    #[test]
    fn the_byte_length_of_the_crates_own_types_is_measured_in_place() {
        let bytes: QueuingStrategy<bytes::Bytes> = ByteLengthQueuingStrategy::new(8.0).into();
        let vec: QueuingStrategy<Vec<u8>> = ByteLengthQueuingStrategy::new(8.0).into();
        let string: QueuingStrategy<String> = ByteLengthQueuingStrategy::new(8.0).into();
        assert_eq!(kind(&bytes), "builtin");
        assert_eq!(kind(&vec), "builtin");
        assert_eq!(kind(&string), "builtin");
        // A clone keeps it, and the measure is the byte length.
        assert_eq!(kind(&bytes.clone()), "builtin");
        let SizeAlgorithm::Builtin(measure) = vec.extract_size_algorithm() else {
            panic!("not builtin")
        };
        assert_eq!(measure(&vec![0u8; 5]), 5.0);
        assert_eq!(string.size_of(&"héllo".to_string()).unwrap(), 6.0);
        let count: QueuingStrategy<Vec<u8>> = CountQueuingStrategy::new(8.0).into();
        assert_eq!(kind(&count), "count");
    }

    #[test]
    fn a_users_byte_length_or_a_replaced_size_is_user_code() {
        struct Mine(usize);
        impl ByteLength for Mine {
            fn byte_length(&self) -> usize {
                self.0
            }
        }
        let mine: QueuingStrategy<Mine> = ByteLengthQueuingStrategy::new(8.0).into();
        assert_eq!(kind(&mine), "user");
        assert_eq!(mine.size_of(&Mine(3)).unwrap(), 3.0);

        // A size the user put in place of the one the strategy made is theirs, even when the
        // old one was dropped first (its address cannot come back while the strategy holds it).
        let mut replaced: QueuingStrategy<Vec<u8>> = ByteLengthQueuingStrategy::new(8.0).into();
        replaced.size = None;
        assert_eq!(kind(&replaced), "count");
        replaced.size = Some(Arc::new(|v: &Vec<u8>| Ok(v.len() as f64 * 2.0)));
        assert_eq!(kind(&replaced), "user");
        assert_eq!(replaced.size_of(&vec![0u8; 2]).unwrap(), 4.0);
    }
}
