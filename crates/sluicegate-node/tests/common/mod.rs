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

    /// A `FnMut` callback (an implementor closure) that counts.
    pub fn once_mut<A, R>(
        &self,
        mut f: impl FnMut(A) -> R + Send + 'static,
    ) -> impl FnMut(A) -> R + Send + 'static {
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

type ReadFn<T> = Box<dyn FnMut(usize, &Readable<T>) + Send>;
type DestroyFn = Box<dyn FnMut(Option<Error>) -> Completion + Send>;
type ConstructFn = Box<dyn FnMut() -> Option<Completion> + Send>;
type WriteFn<T> = Box<dyn FnMut(T) -> Completion + Send>;
type WritevFn<T> = Box<dyn FnMut(&mut Vec<T>) -> Option<Completion> + Send>;
type FinalFn = Box<dyn FnMut() -> Option<Completion> + Send>;

/// A readable implementor made of closures (Node's `new Readable({ read, destroy, construct })`).
pub struct ReadFns<T: Send + 'static> {
    pub read: ReadFn<T>,
    pub destroy: Option<DestroyFn>,
    pub construct: Option<ConstructFn>,
}

impl<T: Send + 'static> ReadFns<T> {
    pub fn new(read: impl FnMut(usize, &Readable<T>) + Send + 'static) -> Self {
        ReadFns {
            read: Box::new(read),
            destroy: None,
            construct: None,
        }
    }
    pub fn idle() -> Self {
        Self::new(|_, _| {})
    }
    pub fn destroy(mut self, f: impl FnMut(Option<Error>) -> Completion + Send + 'static) -> Self {
        self.destroy = Some(Box::new(f));
        self
    }
    pub fn construct(mut self, f: impl FnMut() -> Option<Completion> + Send + 'static) -> Self {
        self.construct = Some(Box::new(f));
        self
    }
    pub fn build(self) -> Readable<T> {
        Readable::new(self)
    }
    pub fn build_with(self, o: ReadableOptions<T>) -> Readable<T> {
        Readable::with_options(self, o)
    }
}

impl<T: Send + 'static> ReadImpl<T> for ReadFns<T> {
    fn read(&mut self, size: usize, stream: &Readable<T>) {
        (self.read)(size, stream)
    }
    fn construct(&mut self) -> Option<Completion> {
        self.construct.as_mut().and_then(|f| f())
    }
    fn destroy(&mut self, err: Option<Error>) -> Completion {
        match self.destroy.as_mut() {
            Some(f) => f(err),
            None => match err {
                Some(e) => Completion::err(e),
                None => Completion::ok(),
            },
        }
    }
}

/// A writable implementor made of closures (Node's `new Writable({ write, writev, final,
/// destroy, construct })`).
pub struct WriteFns<T> {
    pub write: WriteFn<T>,
    pub writev: Option<WritevFn<T>>,
    pub finalize: Option<FinalFn>,
    pub destroy: Option<DestroyFn>,
    pub construct: Option<ConstructFn>,
}

impl<T: Send + 'static> WriteFns<T> {
    pub fn new(write: impl FnMut(T) -> Completion + Send + 'static) -> Self {
        WriteFns {
            write: Box::new(write),
            writev: None,
            finalize: None,
            destroy: None,
            construct: None,
        }
    }
    pub fn ok() -> Self {
        Self::new(|_| Completion::ok())
    }
    pub fn writev(mut self, f: impl FnMut(&mut Vec<T>) -> Option<Completion> + Send + 'static) -> Self {
        self.writev = Some(Box::new(f));
        self
    }
    pub fn finalize(mut self, f: impl FnMut() -> Option<Completion> + Send + 'static) -> Self {
        self.finalize = Some(Box::new(f));
        self
    }
    pub fn destroy(mut self, f: impl FnMut(Option<Error>) -> Completion + Send + 'static) -> Self {
        self.destroy = Some(Box::new(f));
        self
    }
    pub fn construct(mut self, f: impl FnMut() -> Option<Completion> + Send + 'static) -> Self {
        self.construct = Some(Box::new(f));
        self
    }
    pub fn build(self) -> Writable<T> {
        Writable::new(self)
    }
    pub fn build_with(self, o: WritableOptions<T>) -> Writable<T> {
        Writable::with_options(self, o)
    }
}

impl<T: Send + 'static> WriteImpl<T> for WriteFns<T> {
    fn write(&mut self, chunk: T) -> Completion {
        (self.write)(chunk)
    }
    fn writev(&mut self, chunks: &mut Vec<T>) -> Option<Completion> {
        self.writev.as_mut().and_then(|f| f(chunks))
    }
    fn finalize(&mut self) -> Option<Completion> {
        self.finalize.as_mut().and_then(|f| f())
    }
    fn construct(&mut self) -> Option<Completion> {
        self.construct.as_mut().and_then(|f| f())
    }
    fn destroy(&mut self, err: Option<Error>) -> Completion {
        match self.destroy.as_mut() {
            Some(f) => f(err),
            None => match err {
                Some(e) => Completion::err(e),
                None => Completion::ok(),
            },
        }
    }
}

/// A completion settled on the next tick of `lp` (Node's `process.nextTick(cb, err)`).
pub fn next_tick_completion(lp: &EventLoop, r: Result<()>) -> Completion {
    let (c, cb) = Completion::callback();
    lp.next_tick(move || cb.call(r));
    c
}

/// A completion whose callback the test keeps, to call later.
pub fn held_completion() -> (Completion, std::sync::Arc<std::sync::Mutex<Option<Callback>>>) {
    let (c, cb) = Completion::callback();
    (c, std::sync::Arc::new(std::sync::Mutex::new(Some(cb))))
}
