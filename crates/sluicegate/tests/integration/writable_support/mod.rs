//! Support for the writable stream tests: a recording sink, a hand-stepped host that makes the
//! order in which promises settle observable, and assertions on promise outcomes.
//!
//! * [`recording`] wraps a [`SinkFn`] and logs every sink call (`"write a"`, `"close"`,
//!   `"abort error1"`) before delegating, like WPT's `recordingWritableStream`.
//! * [`StepHost`] is a [`Host`] that runs only when told to ([`StepHost::run`]), and whose
//!   `poll_progress` does nothing. With it, [`watch`] can register a waker on a promise alone, so
//!   the log shows promises in exactly the order the core settled them: the order in which a
//!   JavaScript test's `.then` callbacks would run.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use sluicegate::host::{BoxFuture, Host, HostRef, Microtask};
use sluicegate::writable::{SinkFn, UnderlyingSink, WritableStreamDefaultController};
use sluicegate::{Completion, ErrorKind, Promised, StreamError};

use crate::common::Log;

/// A short name for an error, for call logs: a `&'static str` user reason as is, otherwise the
/// kind (`"undefined"`, `"TypeError"`, `"RangeError"`, `"AbortError"`, `"panic: msg"`).
pub fn show(e: &StreamError) -> String {
    if let Some(r) = e.reason::<&'static str>() {
        return r.to_string();
    }
    match e.kind() {
        ErrorKind::Undefined => "undefined".into(),
        ErrorKind::Type => "TypeError".into(),
        ErrorKind::Range => "RangeError".into(),
        ErrorKind::Abort => "AbortError".into(),
        ErrorKind::Panic => format!("panic: {}", e.message()),
        _ => e.message().to_string(),
    }
}

/// A sink that logs every call to `log`, then runs the matching closure of `extras` (if any).
pub struct Recording<T> {
    log: Log,
    extras: SinkFn<T>,
}

/// WPT's `recordingWritableStream`: logs `"write {chunk}"`, `"close"` and `"abort {reason}"`.
pub fn recording<T: Display + Send + 'static>(log: &Log, extras: SinkFn<T>) -> Recording<T> {
    Recording {
        log: log.clone(),
        extras,
    }
}

impl<T: Display + Send + 'static> UnderlyingSink<T> for Recording<T> {
    fn start(&mut self, controller: &WritableStreamDefaultController<T>) -> Completion {
        UnderlyingSink::start(&mut self.extras, controller)
    }
    fn write(&mut self, chunk: T, controller: &WritableStreamDefaultController<T>) -> Completion {
        self.log.push(format!("write {chunk}"));
        UnderlyingSink::write(&mut self.extras, chunk, controller)
    }
    fn close(&mut self) -> Completion {
        self.log.push("close");
        UnderlyingSink::close(&mut self.extras)
    }
    fn abort(&mut self, reason: StreamError) -> Completion {
        self.log.push(format!("abort {}", show(&reason)));
        UnderlyingSink::abort(&mut self.extras, reason)
    }
}

/// Shared slot for values a sink hands out (a controller, a resolver).
pub type Slot<V> = Arc<Mutex<Option<V>>>;

/// A new empty [`Slot`].
pub fn slot<V>() -> Slot<V> {
    Arc::new(Mutex::new(None))
}

/// Takes the value out of a slot, panicking with `what` if it is empty.
#[track_caller]
pub fn take<V>(s: &Slot<V>, what: &str) -> V {
    s.lock()
        .unwrap()
        .take()
        .unwrap_or_else(|| panic!("{what} was not set"))
}

/// Clones the value in a slot, panicking with `what` if it is empty.
#[track_caller]
pub fn get<V: Clone>(s: &Slot<V>, what: &str) -> V {
    s.lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| panic!("{what} was not set"))
}

/// A host that runs only when [`StepHost::run`] is called.
#[derive(Default)]
pub struct StepHost {
    state: Mutex<StepState>,
}

#[derive(Default)]
struct StepState {
    microtasks: VecDeque<Microtask>,
    futures: Vec<BoxFuture<()>>,
}

impl StepHost {
    /// A new host, as a concrete handle (coerce with `.clone()` into a `HostRef`).
    pub fn new() -> Arc<StepHost> {
        Arc::new(StepHost::default())
    }

    /// This host as a [`HostRef`].
    pub fn host(self: &Arc<Self>) -> HostRef {
        self.clone()
    }

    /// Runs microtasks (FIFO, including ones queued meanwhile) and polls spawned futures until
    /// nothing progresses: what a JavaScript test gets from `await flushAsyncEvents()`.
    pub fn run(&self) {
        loop {
            let mut progressed = false;
            loop {
                let task = self.state.lock().unwrap().microtasks.pop_front();
                match task {
                    Some(task) => {
                        progressed = true;
                        task();
                    }
                    None => break,
                }
            }
            let futures = std::mem::take(&mut self.state.lock().unwrap().futures);
            let mut pending = Vec::new();
            let mut cx = Context::from_waker(Waker::noop());
            for mut f in futures {
                match f.as_mut().poll(&mut cx) {
                    Poll::Ready(()) => progressed = true,
                    Poll::Pending => pending.push(f),
                }
            }
            self.state.lock().unwrap().futures.extend(pending);
            if !progressed {
                return;
            }
        }
    }

    /// Runs exactly one microtask, if any; returns whether one ran.
    pub fn step(&self) -> bool {
        let task = self.state.lock().unwrap().microtasks.pop_front();
        match task {
            Some(task) => {
                task();
                true
            }
            None => false,
        }
    }
}

impl Host for StepHost {
    fn queue_microtask(&self, task: Microtask) {
        self.state.lock().unwrap().microtasks.push_back(task);
    }
    fn spawn(&self, future: BoxFuture<()>) {
        self.state.lock().unwrap().futures.push(future);
    }
    fn poll_progress(&self, _cx: &mut Context<'_>) {}
}

struct Watcher {
    log: Log,
    name: String,
    promise: Mutex<Option<Promised<()>>>,
}

impl Watcher {
    fn check(self: &Arc<Self>) {
        let mut guard = self.promise.lock().unwrap();
        let Some(p) = guard.as_mut() else { return };
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        if let Poll::Ready(r) = std::pin::Pin::new(p).poll(&mut cx) {
            guard.take();
            drop(guard);
            let outcome = match r {
                Ok(()) => "ok".to_string(),
                Err(e) => show(&e),
            };
            self.log.push(format!("{} {}", self.name, outcome));
        }
    }
}

impl Wake for Watcher {
    fn wake(self: Arc<Self>) {
        self.check();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.check();
    }
}

/// Logs `"{name} ok"` or `"{name} {error}"` to `log` when `promise` settles (at once if it already
/// has). On a [`StepHost`], entries appear in the order the core settled the promises.
pub fn watch(log: &Log, name: &str, promise: Promised<()>) {
    let w = Arc::new(Watcher {
        log: log.clone(),
        name: name.to_string(),
        promise: Mutex::new(Some(promise)),
    });
    w.check();
}

/// Asserts that `p` has settled successfully.
#[track_caller]
pub fn assert_fulfilled(p: &Promised<()>) {
    match p.peek() {
        Some(Ok(())) => {}
        other => panic!("expected a fulfilled promise, got {other:?}"),
    }
}

/// Asserts that `p` is still pending.
#[track_caller]
pub fn assert_pending(p: &Promised<()>) {
    if let Some(r) = p.peek() {
        panic!("expected a pending promise, got {r:?}");
    }
}

/// Asserts that `p` was rejected with exactly `e` (the same error value).
#[track_caller]
pub fn assert_rejected_with(p: &Promised<()>, e: &StreamError) {
    match p.peek() {
        Some(Err(got)) => assert_same(&got, e),
        other => panic!("expected a promise rejected with {e:?}, got {other:?}"),
    }
}

/// Asserts that `p` was rejected with an error of kind `kind`; returns the error.
#[track_caller]
pub fn assert_rejected_kind(p: &Promised<()>, kind: ErrorKind) -> StreamError {
    match p.peek() {
        Some(Err(got)) => {
            assert_eq!(got.kind(), kind, "rejection kind (got {got:?})");
            got
        }
        other => panic!("expected a promise rejected with a {kind:?}, got {other:?}"),
    }
}

/// Asserts that two errors are the very same value.
#[track_caller]
pub fn assert_same(got: &StreamError, expected: &StreamError) {
    assert!(
        StreamError::same(got, expected),
        "expected the very error {expected:?}, got {got:?}"
    );
}

/// A user error with a name, like WPT's `error1`.
pub fn error(name: &'static str) -> StreamError {
    StreamError::user(name)
}

/// Resolvers for completions a sink handed out, settled by the test in order.
#[derive(Clone, Default)]
pub struct Resolvers(Arc<Mutex<VecDeque<sluicegate::Resolver>>>);

impl Resolvers {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A pending completion whose resolver joins the queue (for a sink method to return).
    pub fn completion(&self) -> Completion {
        let (completion, resolver) = Completion::deferred();
        self.0.lock().unwrap().push_back(resolver);
        completion
    }

    /// How many resolvers are waiting.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Fulfils the oldest waiting completion.
    #[track_caller]
    pub fn resolve(&self) {
        self.next().settle(Ok(()));
    }

    /// Rejects the oldest waiting completion with `e`.
    #[track_caller]
    pub fn reject(&self, e: &StreamError) {
        self.next().settle(Err(e.clone()));
    }

    #[track_caller]
    fn next(&self) -> sluicegate::Resolver {
        self.0
            .lock()
            .unwrap()
            .pop_front()
            .expect("a completion is waiting to be settled")
    }
}

/// A completion that never settles (`new Promise(() => {})`).
pub fn never() -> Completion {
    Completion::deferred().0
}

/// A completion that is a rejected promise (`Promise.reject(e)`), not a thrown error.
pub fn rejected(e: &StreamError) -> Completion {
    let (completion, resolver) = Completion::deferred();
    resolver.settle(Err(e.clone()));
    completion
}

struct Reaction {
    step: Arc<StepHost>,
    log: Log,
    name: String,
    promise: Mutex<Option<Promised<()>>>,
}

impl Reaction {
    fn check(self: &Arc<Self>) {
        let mut guard = self.promise.lock().unwrap();
        let Some(p) = guard.as_mut() else { return };
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        if let Poll::Ready(r) = std::pin::Pin::new(p).poll(&mut cx) {
            guard.take();
            drop(guard);
            let entry = match r {
                Ok(()) => format!("{} ok", self.name),
                Err(e) => format!("{} {}", self.name, show(&e)),
            };
            let log = self.log.clone();
            self.step.queue_microtask(Box::new(move || log.push(entry)));
        }
    }
}

impl Wake for Reaction {
    fn wake(self: Arc<Self>) {
        self.check();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.check();
    }
}

/// JavaScript's `promise.then(...)` on a [`StepHost`]: when `promise` settles (or now, if it has),
/// a microtask is queued that logs `"{name} ok"` or `"{name} {error}"`. Unlike [`watch`], the entry
/// appears after the step that settled the promise finishes, exactly where a JS reaction runs.
pub fn then_log(step: &Arc<StepHost>, log: &Log, name: &str, promise: Promised<()>) {
    let r = Arc::new(Reaction {
        step: step.clone(),
        log: log.clone(),
        name: name.to_string(),
        promise: Mutex::new(Some(promise)),
    });
    r.check();
}
