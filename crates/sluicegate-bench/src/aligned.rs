//! Page-aligned I/O buffers handed out as [`Bytes`] without a copy.
//!
//! On this machine's CPU `read()` and `memcpy` slow down sharply when the destination sits at a
//! different page offset from the source, and the allocator puts 64 KiB blocks at arbitrary
//! offsets, so the Rust byte pipelines read into 4096-byte-aligned buffers (see DESIGN.md,
//! principle 9). Freed buffers of the standard size go back to a small pool (at most
//! [`POOL_MAX`]), as a real I/O layer's would: aligned allocation straight from `malloc` costs a
//! zeroing pass per chunk and fragments the heap (a copy then peaks at 11 MiB instead of 4).

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;
use std::sync::Mutex;

use bytes::Bytes;

/// Alignment of every buffer.
pub const ALIGN: usize = 4096;
/// The size of buffer the pool keeps.
pub const POOL_SIZE: usize = 64 * 1024;
/// How many free buffers the pool keeps at most.
pub const POOL_MAX: usize = 32;

struct Free(NonNull<u8>);
// SAFETY: a free buffer is plain owned memory nobody else points to.
unsafe impl Send for Free {}

static POOL: Mutex<Vec<Free>> = Mutex::new(Vec::new());

/// A 4096-byte-aligned heap buffer whose bytes are all initialised (zeroed when new, old data
/// when it comes from the pool).
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
    layout: Layout,
}

// SAFETY: the buffer is uniquely owned heap memory, like a `Box<[u8]>`.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access is read-only through `AsRef<[u8]>`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A buffer of `capacity` bytes (at least one), aligned to [`ALIGN`].
    pub fn new(capacity: usize) -> Self {
        let layout = Layout::from_size_align(capacity.max(1), ALIGN).expect("a valid buffer layout");
        if layout.size() == POOL_SIZE {
            if let Some(Free(ptr)) = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop() {
                return AlignedBuf {
                    ptr,
                    len: capacity,
                    layout,
                };
            }
        }
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        AlignedBuf {
            ptr,
            len: capacity,
            layout,
        }
    }

    /// The whole buffer, for filling.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` points at `layout.size() >= len` initialised bytes we own.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Freezes the first `len` bytes into a [`Bytes`] that owns the buffer (no copy).
    pub fn freeze(mut self, len: usize) -> Bytes {
        self.len = len.min(self.len);
        Bytes::from_owner(self)
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: as in `as_mut_slice`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.layout.size() == POOL_SIZE {
            let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < POOL_MAX {
                pool.push(Free(self.ptr));
                return;
            }
        }
        // SAFETY: allocated in `new` with this layout, and not in the pool.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// Reads from `read` until `buf` is full or the input ends; returns how many bytes were read.
pub fn read_full(read: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match read.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_pooled_and_frozen_without_copy() {
        let mut b = AlignedBuf::new(POOL_SIZE);
        assert_eq!(b.as_mut_slice().as_ptr() as usize % ALIGN, 0);
        b.as_mut_slice()[..3].copy_from_slice(b"abc");
        let ptr = b.as_mut_slice().as_ptr();
        let bytes = b.freeze(3);
        assert_eq!(&bytes[..], b"abc");
        assert_eq!(bytes.as_ptr(), ptr);
        drop(bytes);
        let mut odd = AlignedBuf::new(10_000);
        assert_eq!(odd.as_mut_slice().len(), 10_000);
        let mut src: &[u8] = b"hello";
        let mut dst = [0u8; 8];
        assert_eq!(read_full(&mut src, &mut dst).unwrap(), 5);
    }
}
