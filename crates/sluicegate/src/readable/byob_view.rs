//! Buffers and views for byte streams: the standard's `ArrayBuffer` and `ArrayBufferView` as
//! owned Rust values.
//!
//! A BYOB read hands the stream a [`ByobView`]: an owned [`ArrayBuffer`] plus a byte offset, a
//! byte length and a [`ViewType`] (whose element size the stream honours: a `Uint16` view is only
//! ever filled in whole 2-byte elements). Moving the view into the stream is the standard's
//! *transfer*; the filled view comes back out of the read, with the same buffer, so the bytes land
//! where the caller wanted them with no intermediate copy.

use std::fmt;

use bytes::Bytes;

use crate::error::StreamError;

/// The page size I/O buffers are aligned to (see [`ArrayBuffer::aligned`]).
pub const IO_ALIGNMENT: usize = 4096;

/// One aligned page of an [`ArrayBuffer::aligned`] allocation.
#[repr(C, align(4096))]
struct Page([u8; IO_ALIGNMENT]);

/// `n` zeroed pages from the allocator's zeroed allocation (`calloc`: large blocks come from fresh,
/// already-zero pages, so this costs no `memset`; `vec![Page([0; 4096]); n]` would copy every page).
fn zeroed_pages(n: usize) -> Vec<Page> {
    if n == 0 {
        return Vec::new();
    }
    let layout = std::alloc::Layout::array::<Page>(n).expect("a buffer of fewer than isize::MAX bytes");
    // SAFETY: `layout` has a non-zero size (n > 0 pages of 4096 bytes).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Page>();
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `[Page; n]`, which is
    // the layout `Vec<Page>` uses for capacity `n`; all `n` pages are initialised (all-zero bytes
    // are a valid `Page`).
    unsafe { Vec::from_raw_parts(ptr, n, n) }
}

enum Storage {
    Heap(Vec<u8>),
    /// Pages allocated with 4096-byte alignment; `len` bytes of them are the buffer.
    ///
    /// Written by hand because neither `Vec<u8>` nor `BytesMut` can ask the allocator for an
    /// alignment above 1 on stable Rust; a `Vec` of 4096-aligned pages can, and `Bytes::from_owner`
    /// turns it into `Bytes` without copying.
    Aligned(Vec<Page>, usize),
}

/// An owned, fixed-length byte buffer: the standard's `ArrayBuffer`.
///
/// Moving it is the standard's *transfer*. [`ArrayBuffer::aligned`] allocates it 4096-byte aligned,
/// which is what I/O buffers should be: on common CPUs `memcpy` and `read()` into a destination a
/// few bytes off the source's page offset run many times slower, and large `malloc` blocks sit at
/// page offset 16.
pub struct ArrayBuffer {
    storage: Storage,
}

impl ArrayBuffer {
    /// A zeroed buffer of `len` bytes.
    pub fn new(len: usize) -> Self {
        ArrayBuffer {
            storage: Storage::Heap(vec![0; len]),
        }
    }

    /// A zeroed buffer of `len` bytes whose first byte is 4096-byte aligned.
    ///
    /// ```
    /// use sluicegate::readable::ArrayBuffer;
    ///
    /// let buffer = ArrayBuffer::aligned(10_000);
    /// assert_eq!(buffer.len(), 10_000);
    /// assert_eq!(buffer.as_slice().as_ptr() as usize % 4096, 0);
    /// ```
    pub fn aligned(len: usize) -> Self {
        ArrayBuffer {
            storage: Storage::Aligned(zeroed_pages(len.div_ceil(IO_ALIGNMENT)), len),
        }
    }

    /// The buffer's length in bytes (`byteLength`).
    pub fn len(&self) -> usize {
        match &self.storage {
            Storage::Heap(v) => v.len(),
            Storage::Aligned(_, len) => *len,
        }
    }

    /// Whether the buffer has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.storage {
            Storage::Heap(v) => v,
            Storage::Aligned(pages, len) => {
                debug_assert!(*len <= pages.len() * IO_ALIGNMENT);
                // SAFETY: `Page` is `repr(C)` around `[u8; 4096]` with size 4096 and no padding, so
                // `pages` is `pages.len() * 4096` contiguous, initialised bytes; `len` never exceeds
                // that (set in `aligned`). The slice borrows `self`, so the pages outlive it. For
                // zero pages the pointer is dangling but aligned and non-null, valid for length 0.
                unsafe { std::slice::from_raw_parts(pages.as_ptr().cast::<u8>(), *len) }
            }
        }
    }

    /// The buffer's bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match &mut self.storage {
            Storage::Heap(v) => v,
            Storage::Aligned(pages, len) => {
                debug_assert!(*len <= pages.len() * IO_ALIGNMENT);
                // SAFETY: as in `as_slice`; the exclusive borrow of `self` makes the slice unique.
                unsafe { std::slice::from_raw_parts_mut(pages.as_mut_ptr().cast::<u8>(), *len) }
            }
        }
    }

    /// Whether the first byte is 4096-byte aligned.
    pub fn is_aligned(&self) -> bool {
        self.as_slice().as_ptr() as usize % IO_ALIGNMENT == 0
    }

    /// `range` of the buffer as `Bytes`, without copying (the buffer becomes the `Bytes`' owner).
    pub fn into_bytes(self, start: usize, len: usize) -> Bytes {
        let bytes = match self.storage {
            Storage::Heap(v) => Bytes::from(v),
            Storage::Aligned(..) => Bytes::from_owner(self),
        };
        bytes.slice(start..start + len)
    }

    /// The buffer as a `Vec<u8>` (copies only an aligned buffer).
    pub fn into_vec(self) -> Vec<u8> {
        match self.storage {
            Storage::Heap(v) => v,
            Storage::Aligned(..) => self.as_slice().to_vec(),
        }
    }
}

impl AsRef<[u8]> for ArrayBuffer {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<Vec<u8>> for ArrayBuffer {
    fn from(v: Vec<u8>) -> Self {
        ArrayBuffer {
            storage: Storage::Heap(v),
        }
    }
}

impl From<&[u8]> for ArrayBuffer {
    fn from(v: &[u8]) -> Self {
        ArrayBuffer::from(v.to_vec())
    }
}

impl fmt::Debug for ArrayBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayBuffer")
            .field("len", &self.len())
            .field("aligned", &self.is_aligned())
            .finish()
    }
}

/// The kind of a view: a typed array type or `DataView`. It fixes the element size, which a byte
/// stream honours when it fills the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViewType {
    /// `Int8Array`.
    Int8,
    /// `Uint8Array`.
    Uint8,
    /// `Uint8ClampedArray`.
    Uint8Clamped,
    /// `Int16Array`.
    Int16,
    /// `Uint16Array`.
    Uint16,
    /// `Float16Array`.
    Float16,
    /// `Int32Array`.
    Int32,
    /// `Uint32Array`.
    Uint32,
    /// `Float32Array`.
    Float32,
    /// `Float64Array`.
    Float64,
    /// `BigInt64Array`.
    BigInt64,
    /// `BigUint64Array`.
    BigUint64,
    /// `DataView` (element size 1; a read's `min` counts bytes).
    DataView,
}

impl ViewType {
    /// The element size in bytes (the typed array constructors table; 1 for `DataView`).
    pub fn element_size(self) -> usize {
        match self {
            ViewType::Int8 | ViewType::Uint8 | ViewType::Uint8Clamped | ViewType::DataView => 1,
            ViewType::Int16 | ViewType::Uint16 | ViewType::Float16 => 2,
            ViewType::Int32 | ViewType::Uint32 | ViewType::Float32 => 4,
            ViewType::Float64 | ViewType::BigInt64 | ViewType::BigUint64 => 8,
        }
    }

    /// Whether this is a typed array (has `[[TypedArrayName]]`), as opposed to a `DataView`.
    pub fn is_typed_array(self) -> bool {
        self != ViewType::DataView
    }
}

/// A view onto an owned [`ArrayBuffer`]: what a BYOB read fills and hands back.
///
/// ```
/// use sluicegate::readable::{ArrayBuffer, ByobView, ViewType};
///
/// let view = ByobView::with_type(ArrayBuffer::new(16), ViewType::Uint16, 4, 3).unwrap();
/// assert_eq!((view.byte_offset(), view.byte_length(), view.len()), (4, 6, 3));
/// // Construction checks alignment and bounds like the typed array constructors.
/// assert!(ByobView::with_type(ArrayBuffer::new(16), ViewType::Uint16, 3, 1).is_err());
/// ```
pub struct ByobView {
    buffer: ArrayBuffer,
    byte_offset: usize,
    byte_length: usize,
    view_type: ViewType,
}

impl ByobView {
    /// A `Uint8Array` over the whole buffer.
    pub fn new(buffer: impl Into<ArrayBuffer>) -> Self {
        let buffer = buffer.into();
        let byte_length = buffer.len();
        ByobView {
            buffer,
            byte_offset: 0,
            byte_length,
            view_type: ViewType::Uint8,
        }
    }

    /// A view of `view_type` over `length` elements from `byte_offset`, like
    /// `new Uint16Array(buffer, byteOffset, length)`: a `RangeError` if the offset is not a
    /// multiple of the element size or the view does not fit in the buffer.
    pub fn with_type(
        buffer: ArrayBuffer,
        view_type: ViewType,
        byte_offset: usize,
        length: usize,
    ) -> Result<Self, StreamError> {
        let size = view_type.element_size();
        if byte_offset % size != 0 {
            return Err(StreamError::range_error(
                "the view's byte offset must be a multiple of its element size",
            ));
        }
        let byte_length = length
            .checked_mul(size)
            .ok_or_else(|| StreamError::range_error("the view is too long"))?;
        if byte_offset
            .checked_add(byte_length)
            .is_none_or(|end| end > buffer.len())
        {
            return Err(StreamError::range_error("the view does not fit in its buffer"));
        }
        Ok(ByobView {
            buffer,
            byte_offset,
            byte_length,
            view_type,
        })
    }

    /// A view whose fields are already known to be consistent.
    pub(crate) fn from_parts(
        buffer: ArrayBuffer,
        byte_offset: usize,
        byte_length: usize,
        view_type: ViewType,
    ) -> Self {
        debug_assert!(byte_offset + byte_length <= buffer.len());
        debug_assert_eq!(byte_length % view_type.element_size(), 0);
        ByobView {
            buffer,
            byte_offset,
            byte_length,
            view_type,
        }
    }

    /// `byteOffset`: where the view starts in its buffer.
    pub fn byte_offset(&self) -> usize {
        self.byte_offset
    }

    /// `byteLength`: the view's length in bytes.
    pub fn byte_length(&self) -> usize {
        self.byte_length
    }

    /// The view's length in elements (`length` of a typed array; bytes for a `DataView`).
    pub fn len(&self) -> usize {
        self.byte_length / self.element_size()
    }

    /// Whether the view has no bytes.
    pub fn is_empty(&self) -> bool {
        self.byte_length == 0
    }

    /// The view's type.
    pub fn view_type(&self) -> ViewType {
        self.view_type
    }

    /// The element size in bytes.
    pub fn element_size(&self) -> usize {
        self.view_type.element_size()
    }

    /// The viewed buffer (`buffer`).
    pub fn buffer(&self) -> &ArrayBuffer {
        &self.buffer
    }

    /// The viewed bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.buffer.as_slice()[self.byte_offset..self.byte_offset + self.byte_length]
    }

    /// The viewed bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut_slice()[self.byte_offset..self.byte_offset + self.byte_length]
    }

    /// The buffer, released from the view (to reuse it for the next read).
    pub fn into_buffer(self) -> ArrayBuffer {
        self.buffer
    }

    /// The viewed bytes as `Bytes`, without copying.
    pub fn into_bytes(self) -> Bytes {
        self.buffer.into_bytes(self.byte_offset, self.byte_length)
    }

    /// The elements `begin..end` of this view as a view of the same type on the same buffer, like
    /// `subarray(begin, end)` (a `RangeError` if the range is not within the view).
    ///
    /// ```
    /// use sluicegate::readable::{ArrayBuffer, ByobView};
    ///
    /// let view = ByobView::new(ArrayBuffer::from(vec![4, 5, 6])).subarray(1, 2).unwrap();
    /// assert_eq!((view.byte_offset(), view.as_slice()), (1, &[5][..]));
    /// ```
    pub fn subarray(self, begin: usize, end: usize) -> Result<Self, StreamError> {
        if begin > end || end > self.len() {
            return Err(StreamError::range_error("the subarray is not within the view"));
        }
        let size = self.element_size();
        Ok(ByobView {
            byte_offset: self.byte_offset + begin * size,
            byte_length: (end - begin) * size,
            ..self
        })
    }

    /// The parts: buffer, byte offset, byte length, view type.
    pub fn into_parts(self) -> (ArrayBuffer, usize, usize, ViewType) {
        (self.buffer, self.byte_offset, self.byte_length, self.view_type)
    }
}

impl From<ArrayBuffer> for ByobView {
    fn from(buffer: ArrayBuffer) -> Self {
        ByobView::new(buffer)
    }
}

impl fmt::Debug for ByobView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByobView")
            .field("view_type", &self.view_type)
            .field("byte_offset", &self.byte_offset)
            .field("byte_length", &self.byte_length)
            .field("buffer_len", &self.buffer.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Exercises the `unsafe` slices of an aligned buffer (runs under Miri).
    #[test]
    fn aligned_buffers_read_write_and_convert() {
        for len in [0, 1, 4095, 4096, 4097] {
            let mut b = ArrayBuffer::aligned(len);
            assert_eq!(b.len(), len);
            assert!(b.is_aligned());
            assert!(b.as_slice().iter().all(|&x| x == 0));
            for (i, x) in b.as_mut_slice().iter_mut().enumerate() {
                *x = (i % 251) as u8;
            }
            let ptr = b.as_slice().as_ptr();
            if len > 2 {
                let bytes = b.into_bytes(1, len - 2);
                assert_eq!(bytes.as_ptr(), ptr.wrapping_add(1));
                assert!(bytes.iter().enumerate().all(|(i, &x)| x == ((i + 1) % 251) as u8));
            } else {
                assert_eq!(b.into_vec().len(), len);
            }
        }
    }
}
