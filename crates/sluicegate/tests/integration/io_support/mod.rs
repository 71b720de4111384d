//! Controllable `AsyncRead` and `AsyncWrite` ends for the I/O bridge tests: they can be paused,
//! made to fail, limited to partial reads and writes, and they record flushes, shutdowns and drops.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a [`TestWriter`] has seen and how it behaves next.
#[derive(Default)]
pub struct WriterState {
    pub data: Vec<u8>,
    /// At most this many bytes per `poll_write` (0: no limit).
    pub max_per_write: usize,
    pub paused: bool,
    pub fail_next_write: Option<io::ErrorKind>,
    pub fail_shutdown: Option<io::ErrorKind>,
    pub writes: usize,
    pub flushes: usize,
    pub shutdowns: usize,
    pub dropped: bool,
    waker: Option<Waker>,
}

/// The test's handle on a [`TestWriter`].
#[derive(Clone, Default)]
pub struct WriterHandle(Arc<Mutex<WriterState>>);

impl WriterHandle {
    pub fn new() -> (WriterHandle, TestWriter) {
        let h = WriterHandle::default();
        (h.clone(), TestWriter(h))
    }
    pub fn state(&self) -> MutexGuard<'_, WriterState> {
        self.0.lock().unwrap()
    }
    pub fn data(&self) -> Vec<u8> {
        self.state().data.clone()
    }
    pub fn pause(&self) {
        self.state().paused = true;
    }
    pub fn resume(&self) {
        let waker = {
            let mut s = self.state();
            s.paused = false;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// An `AsyncWrite` into memory, steered by its [`WriterHandle`].
pub struct TestWriter(WriterHandle);

impl Drop for TestWriter {
    fn drop(&mut self) {
        self.0.state().dropped = true;
    }
}

impl AsyncWrite for TestWriter {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut s = self.0.state();
        if s.paused {
            s.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if let Some(kind) = s.fail_next_write.take() {
            return Poll::Ready(Err(io::Error::new(kind, "injected write failure")));
        }
        let n = if s.max_per_write == 0 {
            buf.len()
        } else {
            buf.len().min(s.max_per_write)
        };
        s.data.extend_from_slice(&buf[..n]);
        s.writes += 1;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut s = self.0.state();
        if s.paused {
            s.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        s.flushes += 1;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut s = self.0.state();
        if let Some(kind) = s.fail_shutdown.take() {
            return Poll::Ready(Err(io::Error::new(kind, "injected shutdown failure")));
        }
        s.shutdowns += 1;
        Poll::Ready(Ok(()))
    }
}

/// What a [`TestReader`] will produce and what it has seen.
#[derive(Default)]
pub struct ReaderState {
    /// Scripted results: bytes to hand out (possibly over several reads) or an error.
    pub script: VecDeque<Result<Vec<u8>, io::ErrorKind>>,
    /// End of file once the script is exhausted (otherwise pending until more is scripted).
    pub eof: bool,
    /// At most this many bytes per `poll_read` (0: no limit).
    pub max_per_read: usize,
    pub reads: usize,
    pub dropped: bool,
    waker: Option<Waker>,
}

/// The test's handle on a [`TestReader`].
#[derive(Clone, Default)]
pub struct ReaderHandle(Arc<Mutex<ReaderState>>);

impl ReaderHandle {
    pub fn new() -> (ReaderHandle, TestReader) {
        let h = ReaderHandle::default();
        (h.clone(), TestReader(h))
    }
    pub fn state(&self) -> MutexGuard<'_, ReaderState> {
        self.0.lock().unwrap()
    }
    /// Scripts more bytes (or an error), waking a pending read.
    pub fn push(&self, item: Result<&[u8], io::ErrorKind>) {
        let waker = {
            let mut s = self.state();
            s.script.push_back(item.map(<[u8]>::to_vec));
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
    pub fn end(&self) {
        let waker = {
            let mut s = self.state();
            s.eof = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// An `AsyncRead` from a script, steered by its [`ReaderHandle`].
pub struct TestReader(ReaderHandle);

impl Drop for TestReader {
    fn drop(&mut self) {
        self.0.state().dropped = true;
    }
}

impl AsyncRead for TestReader {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let mut s = self.0.state();
        s.reads += 1;
        let max = s.max_per_read;
        match s.script.pop_front() {
            None if s.eof => Poll::Ready(Ok(())),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            Some(Err(kind)) => Poll::Ready(Err(io::Error::new(kind, "injected read failure"))),
            Some(Ok(mut bytes)) => {
                let mut n = bytes.len().min(buf.remaining());
                if max > 0 {
                    n = n.min(max);
                }
                buf.put_slice(&bytes[..n]);
                if n < bytes.len() {
                    bytes.drain(..n);
                    s.script.push_front(Ok(bytes));
                }
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// `len` pseudo-random bytes (xorshift), the same for the same seed.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A fresh, empty temporary directory for one test, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("sluicegate-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self, file: &str) -> std::path::PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
