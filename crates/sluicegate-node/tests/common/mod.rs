//! Test helpers: Node's `common.mustCall(fn, n)` as [`MustCall`], a recorded event [`Log`], and
//! a [`setup`] that enters one event loop so every stream of a test shares Node's single FIFO.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use sluicegate_node::*;

/// One event loop for the whole test, entered on this thread.
pub fn setup() -> (EventLoop, EnterGuard) {
    let lp = EventLoop::new();
    let g = lp.enter();
    (lp, g)
}

/// `common.mustCall(fn, n)`: the wrapped callbacks must run exactly `n` times in all, checked
/// when the `MustCall` is dropped (at the end of the test).
pub struct MustCall {
    count: Arc<AtomicUsize>,
    expected: usize,
    name: &'static str,
}

impl MustCall {
    pub fn new(expected: usize) -> Self {
        MustCall {
            count: Arc::new(AtomicUsize::new(0)),
            expected,
            name: "callback",
        }
    }

    pub fn named(name: &'static str, expected: usize) -> Self {
        MustCall {
            count: Arc::new(AtomicUsize::new(0)),
            expected,
            name,
        }
    }

    /// `common.mustNotCall()`.
    pub fn never() -> Self {
        MustCall::new(0)
    }

    /// Wraps a listener.
    pub fn wrap<A: ?Sized>(
        &self,
        f: impl Fn(&A) + Send + Sync + 'static,
    ) -> impl Fn(&A) + Send + Sync + 'static {
        let c = self.count.clone();
        move |a: &A| {
            c.fetch_add(1, Ordering::SeqCst);
            f(a)
        }
    }

    /// A listener that only counts.
    pub fn hit<A: ?Sized>(&self) -> impl Fn(&A) + Send + Sync + 'static {
        self.wrap(|_: &A| {})
    }

    /// A `FnOnce` callback that counts.
    pub fn once<A>(&self, f: impl FnOnce(A) + Send + 'static) -> impl FnOnce(A) + Send + 'static {
        let c = self.count.clone();
        move |a| {
            c.fetch_add(1, Ordering::SeqCst);
            f(a)
        }
    }

    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    pub fn counter(&self) -> Arc<AtomicUsize> {
        self.count.clone()
    }
}

impl Drop for MustCall {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_eq!(
                self.count.load(Ordering::SeqCst),
                self.expected,
                "mustCall: {} called a wrong number of times",
                self.name
            );
        }
    }
}

/// An event log shared by listeners.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn new() -> Self {
        Log::default()
    }

    pub fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }

    /// A listener that records `s`.
    pub fn rec<A: ?Sized>(&self, s: &'static str) -> impl Fn(&A) + Send + Sync + 'static {
        let l = self.clone();
        move |_: &A| l.push(s)
    }

    pub fn get(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A shared vector for collecting chunks.
#[derive(Clone)]
pub struct Collected<T>(pub Arc<Mutex<Vec<T>>>);

impl<T: Clone> Collected<T> {
    pub fn new() -> Self {
        Collected(Arc::new(Mutex::new(Vec::new())))
    }
    pub fn push(&self, t: T) {
        self.0.lock().unwrap().push(t);
    }
    pub fn get(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }
}

/// A readable whose `_read` does nothing (Node's `new Readable({ read() {} })`), object mode.
pub fn idle_readable<T: Send + 'static>() -> Readable<T> {
    Readable::from_fn(|_, _| {})
}

/// Byte-mode readable with a no-op `_read`.
pub fn idle_bytes() -> Readable<bytes::Bytes> {
    Readable::from_fn_with(|_, _| {}, ReadableOptions::bytes())
}

/// A writable (object mode) that records every chunk and completes at once.
pub fn collecting_writable<T: Clone + Send + 'static>() -> (Writable<T>, Collected<T>) {
    let got = Collected::new();
    let g = got.clone();
    let w = Writable::from_fn(move |c: T| {
        g.push(c);
        Completion::ok()
    });
    (w, got)
}

pub fn b(s: &str) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(s.as_bytes())
}

pub fn user(msg: &'static str) -> Error {
    Error::user(msg)
}
