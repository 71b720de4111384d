//! Support for the piping tests (WPT `streams/piping/`): recording sources and sinks that log
//! every call and keep their controllers, resolvers for pending completions, and small checks.
//!
//! * [`readable`] is WPT's `recordingReadableStream`: the log gets `"pull"` and
//!   `"cancel {reason}"`; [`Readable::events_without_pulls`] is its `eventsWithoutPulls`.
//! * [`writable`] is WPT's `recordingWritableStream`: the log gets `"write {chunk}"`, `"close"`
//!   and `"abort {reason}"`.
//!
//! Reasons show as [`show`] names them: a `&'static str` user reason as is (`"error1"`), or the
//! kind (`"undefined"`, `"TypeError"`, `"AbortError"`).
//!
//! Every stream is made on the host it is given, so that a test that puts all its streams on one
//! [`crate::common::host`] sees every step in one order.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt::Display;
use std::sync::{Arc, Mutex};

use sluicegate::host::HostRef;
use sluicegate::readable::{ReadableStream, ReadableStreamDefaultController, SourceFn, UnderlyingSource};
use sluicegate::writable::{SinkFn, UnderlyingSink, WritableStream, WritableStreamDefaultController};
use sluicegate::{Completion, ErrorKind, Promised, QueuingStrategy, Resolver, StreamError};

use crate::common::{Log, Slot};

/// A short name for an error in a call log.
pub fn show(e: &StreamError) -> String {
    if let Some(r) = e.reason::<&'static str>() {
        return (*r).to_string();
    }
    match e.kind() {
        ErrorKind::Undefined => "undefined".into(),
        ErrorKind::Type => "TypeError".into(),
        ErrorKind::Range => "RangeError".into(),
        ErrorKind::Abort => "AbortError".into(),
        _ => e.message().to_string(),
    }
}

/// A user error with a name, like WPT's `error1`. Each call makes a distinct error.
pub fn error(name: &'static str) -> StreamError {
    StreamError::user(name)
}

/// A counting strategy with this high-water mark.
pub fn hwm<T>(h: f64) -> QueuingStrategy<T> {
    QueuingStrategy::count(h)
}

/// The default strategy (counting, high-water mark 1 for both kinds of stream).
pub fn default<T>() -> QueuingStrategy<T> {
    QueuingStrategy::new()
}

// ---------------------------------------------------------------------------------------------
// Recording readable streams.

/// The source behind [`readable`].
struct RecordingSource<T> {
    log: Log,
    controller: Slot<ReadableStreamDefaultController<T>>,
    extras: SourceFn<T>,
}

impl<T: Send + 'static> UnderlyingSource<T> for RecordingSource<T> {
    fn start(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        self.controller.set(controller.clone());
        UnderlyingSource::start(&mut self.extras, controller)
    }
    fn pull(&mut self, controller: &ReadableStreamDefaultController<T>) -> Completion {
        self.log.push("pull");
        UnderlyingSource::pull(&mut self.extras, controller)
    }
    fn cancel(&mut self, reason: StreamError) -> Completion {
        self.log.push(format!("cancel {}", show(&reason)));
        UnderlyingSource::cancel(&mut self.extras, reason)
    }
}

/// A recording readable stream, its controller and its log.
pub struct Readable<T: Send + 'static> {
    pub stream: ReadableStream<T>,
    pub controller: ReadableStreamDefaultController<T>,
    pub log: Log,
}

impl<T: Send + 'static> Readable<T> {
    /// WPT's `events`.
    pub fn events(&self) -> Vec<String> {
        self.log.entries()
    }

    /// WPT's `eventsWithoutPulls`.
    pub fn events_without_pulls(&self) -> Vec<String> {
        self.log.entries().into_iter().filter(|e| e != "pull").collect()
    }
}

/// WPT's `recordingReadableStream(extras, strategy)` on `host`.
pub fn readable<T: Send + 'static>(
    host: &HostRef,
    strategy: QueuingStrategy<T>,
    extras: SourceFn<T>,
) -> Readable<T> {
    let log = Log::new();
    let controller = Slot::new();
    let stream = ReadableStream::with_host(
        RecordingSource {
            log: log.clone(),
            controller: controller.clone(),
            extras,
        },
        strategy,
        host.clone(),
    )
    .expect("a valid readable stream");
    Readable {
        stream,
        controller: controller.get(),
        log,
    }
}

/// `recordingReadableStream()` with no extras and the default strategy.
pub fn plain_readable<T: Send + 'static>(host: &HostRef) -> Readable<T> {
    readable(host, default(), SourceFn::new())
}

/// A recording readable stream whose source enqueues `chunks` in `start`, then closes if `close`.
pub fn readable_with<T: Clone + Send + 'static>(host: &HostRef, chunks: &[T], close: bool) -> Readable<T> {
    let chunks = chunks.to_vec();
    readable(
        host,
        default(),
        SourceFn::new().start(move |c: &ReadableStreamDefaultController<T>| {
            for chunk in &chunks {
                c.enqueue(chunk.clone()).unwrap();
            }
            if close {
                c.close().unwrap();
            }
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Recording writable streams.

/// The sink behind [`writable`].
struct RecordingSink<T> {
    log: Log,
    controller: Slot<WritableStreamDefaultController<T>>,
    extras: SinkFn<T>,
}

impl<T: Display + Send + 'static> UnderlyingSink<T> for RecordingSink<T> {
    fn start(&mut self, controller: &WritableStreamDefaultController<T>) -> Completion {
        self.controller.set(controller.clone());
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

/// A recording writable stream, its controller and its log.
pub struct Writable<T: Send + 'static> {
    pub stream: WritableStream<T>,
    pub controller: WritableStreamDefaultController<T>,
    pub log: Log,
}

impl<T: Send + 'static> Writable<T> {
    /// WPT's `events`.
    pub fn events(&self) -> Vec<String> {
        self.log.entries()
    }
}

/// WPT's `recordingWritableStream(extras, strategy)` on `host`.
pub fn writable<T: Display + Send + 'static>(
    host: &HostRef,
    strategy: QueuingStrategy<T>,
    extras: SinkFn<T>,
) -> Writable<T> {
    let log = Log::new();
    let controller = Slot::new();
    let stream = WritableStream::with_host(
        RecordingSink {
            log: log.clone(),
            controller: controller.clone(),
            extras,
        },
        strategy,
        host.clone(),
    )
    .expect("a valid writable stream");
    Writable {
        stream,
        controller: controller.get(),
        log,
    }
}

/// `recordingWritableStream()` with no extras and the default strategy.
pub fn plain_writable<T: Display + Send + 'static>(host: &HostRef) -> Writable<T> {
    writable(host, default(), SinkFn::new())
}

// ---------------------------------------------------------------------------------------------
// Completions and promises.

/// Resolvers of pending completions a source or sink handed out, settled by the test in order
/// (WPT's `resolveWritePromise` and friends).
#[derive(Clone, Default)]
pub struct Resolvers(Arc<Mutex<VecDeque<Resolver>>>);

impl Resolvers {
    pub fn new() -> Self {
        Self::default()
    }

    /// A pending completion whose resolver joins the queue.
    pub fn completion(&self) -> Completion {
        let (completion, resolver) = Completion::deferred();
        self.0.lock().unwrap().push_back(resolver);
        completion
    }

    /// How many completions are waiting.
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
    fn next(&self) -> Resolver {
        self.0
            .lock()
            .unwrap()
            .pop_front()
            .expect("a completion is waiting to be settled")
    }
}

/// A completion that is already a rejected promise (`return Promise.reject(e)`), as opposed to a
/// synchronous failure (which, from `start`, makes the constructor fail).
pub fn rejected(e: &StreamError) -> Completion {
    let (completion, resolver) = Completion::deferred();
    resolver.settle(Err(e.clone()));
    completion
}

/// A completion that settles after `ms` virtual milliseconds with `result` (WPT's
/// `delay(ms).then(...)`).
pub fn after(ms: u64, result: Result<(), StreamError>) -> Completion {
    Completion::future(async move {
        crate::common::sleep(ms).await;
        result
    })
}

/// Whether a promise is still pending, without driving anything.
pub fn is_pending<T: Clone>(p: &Promised<T>) -> bool {
    p.peek().is_none()
}

/// Asserts that `r` failed with the very error `expected`.
#[track_caller]
pub fn assert_rejects_with<V: std::fmt::Debug>(r: Result<V, StreamError>, expected: &StreamError) {
    match r {
        Ok(v) => panic!("expected the very error {expected:?}, got Ok({v:?})"),
        Err(e) => assert!(
            StreamError::same(&e, expected),
            "expected the very error {expected:?}, got {e:?}"
        ),
    }
}

/// Asserts that `r` failed with an error of `kind`; returns the error.
#[track_caller]
pub fn assert_rejects_kind<V: std::fmt::Debug>(r: Result<V, StreamError>, kind: ErrorKind) -> StreamError {
    match r {
        Ok(v) => panic!("expected a {kind:?} error, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "error kind of {e:?}");
            e
        }
    }
}

/// Shorthand for comparing a log with string literals.
#[track_caller]
pub fn assert_log(actual: Vec<String>, expected: &[&str]) {
    assert_eq!(actual, expected, "call log");
}

/// A completion that runs `f` after `ms` virtual milliseconds and settles with its result (WPT's
/// `return delay(ms).then(() => ...)`).
pub fn later<F>(ms: u64, f: F) -> Completion
where
    F: FnOnce() -> Result<(), StreamError> + Send + 'static,
{
    Completion::future(async move {
        crate::common::sleep(ms).await;
        f()
    })
}

/// One shared promise handed out many times (WPT's `return writePromise` from every `write`):
/// completions made before [`Gate::open`] wait for it, completions made after are fulfilled.
#[derive(Clone, Default)]
pub struct Gate(Arc<Mutex<(bool, Vec<Resolver>)>>);

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    /// A completion that settles when the gate opens (at once if it is open).
    pub fn completion(&self) -> Completion {
        let mut g = self.0.lock().unwrap();
        if g.0 {
            return Completion::ok();
        }
        let (completion, resolver) = Completion::deferred();
        g.1.push(resolver);
        completion
    }

    /// Opens the gate, fulfilling every waiting completion.
    pub fn open(&self) {
        let waiting = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            std::mem::take(&mut g.1)
        };
        for r in waiting {
            r.settle(Ok(()));
        }
    }
}
