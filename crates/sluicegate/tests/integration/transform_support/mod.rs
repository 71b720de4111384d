//! Support for the transform stream tests: WPT's `recordingTransformStream`, a transformer that
//! hands out its controller, error names for logs, and small promise helpers.
#![allow(dead_code)]

use std::fmt::Display;
use std::sync::{Arc, Mutex};

use sluicegate::host::HostRef;
use sluicegate::readable::ReadableStream;
use sluicegate::transform::{TransformStream, TransformStreamDefaultController, Transformer};
use sluicegate::{Completion, ErrorKind, Promised, QueuingStrategy, StreamError};

use crate::common::{self, Log};

/// Shorthand for the controller type.
pub type Controller<O> = TransformStreamDefaultController<O>;

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

/// Asserts `r` failed with exactly the error `expected` (the same stored value).
#[track_caller]
pub fn assert_same_err<T: std::fmt::Debug>(r: Result<T, StreamError>, expected: &StreamError) {
    match r {
        Ok(v) => panic!("expected the error {expected:?}, got Ok({v:?})"),
        Err(e) => assert!(
            StreamError::same(&e, expected),
            "expected the very error {expected:?}, got {e:?}"
        ),
    }
}

/// Asserts `r` failed with an error of kind `kind`.
#[track_caller]
pub fn assert_kind<T: std::fmt::Debug>(r: Result<T, StreamError>, kind: ErrorKind) {
    match r {
        Ok(v) => panic!("expected a {kind:?} error, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "error kind of {e:?}"),
    }
}

/// Whether a promise has settled, without driving anything.
pub fn settled<T: Clone>(p: &Promised<T>) -> bool {
    p.peek().is_some()
}

/// Polls `f` once (which drives its host) and says whether it is still pending.
pub fn still_pending<F: std::future::Future + Unpin>(f: &mut F) -> bool {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(f).poll(&mut cx).is_pending()
}

/// A shared slot for a value handed out by a callback (a controller, a resolver).
pub type Slot<V> = Arc<Mutex<Option<V>>>;

/// A new empty slot.
pub fn slot<V>() -> Slot<V> {
    Arc::new(Mutex::new(None))
}

/// Clones the slot's value, panicking with `what` if it is empty.
#[track_caller]
pub fn get<V: Clone>(s: &Slot<V>, what: &str) -> V {
    s.lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| panic!("{what} was not set"))
}

/// Takes the slot's value out, panicking with `what` if it is empty.
#[track_caller]
pub fn take<V>(s: &Slot<V>, what: &str) -> V {
    s.lock()
        .unwrap()
        .take()
        .unwrap_or_else(|| panic!("{what} was not set"))
}

/// Wraps a transformer so that the controller `start` receives is stored in a slot first.
pub struct Capturing<X, O> {
    pub inner: X,
    pub controller: Slot<Controller<O>>,
}

impl<I, O, X> Transformer<I, O> for Capturing<X, O>
where
    I: Send + 'static,
    O: Send + 'static,
    X: Transformer<I, O>,
{
    fn start(&mut self, controller: &Controller<O>) -> Completion {
        *self.controller.lock().unwrap() = Some(controller.clone());
        self.inner.start(controller)
    }
    fn transform(&mut self, chunk: I, controller: &Controller<O>) -> Completion {
        self.inner.transform(chunk, controller)
    }
    fn flush(&mut self, controller: &Controller<O>) -> Completion {
        self.inner.flush(controller)
    }
    fn cancel(&mut self, reason: StreamError) -> Completion {
        self.inner.cancel(reason)
    }
}

/// A transform stream over `transformer` on `host`, and the controller its `start` received.
pub fn with_controller<I, O, X>(
    transformer: X,
    writable_strategy: QueuingStrategy<I>,
    readable_strategy: QueuingStrategy<O>,
    host: &HostRef,
) -> Result<(TransformStream<I, O>, Controller<O>), StreamError>
where
    I: Send + 'static,
    O: Send + 'static,
    X: Transformer<I, O>,
{
    let controller = slot();
    let ts = TransformStream::with_host(
        Capturing {
            inner: transformer,
            controller: controller.clone(),
        },
        writable_strategy,
        readable_strategy,
        host.clone(),
    )?;
    let c = get(&controller, "the controller");
    Ok((ts, c))
}

type TransformExtra<T> = Box<dyn FnMut(T, &Controller<T>) -> Completion + Send>;
type FlushExtra<T> = Box<dyn FnMut(&Controller<T>) -> Completion + Send>;

/// WPT's `recordingTransformStream`: logs `"transform {chunk}"` and `"flush"`; without an extra
/// `transform` it enqueues each chunk unchanged, without an extra `flush` it does nothing more.
pub struct Recording<T> {
    log: Log,
    transform: Option<TransformExtra<T>>,
    flush: Option<FlushExtra<T>>,
}

impl<T> Recording<T> {
    pub fn new(log: &Log) -> Self {
        Recording {
            log: log.clone(),
            transform: None,
            flush: None,
        }
    }

    pub fn transform<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(T, &Controller<T>) -> R + Send + 'static,
    ) -> Self {
        self.transform = Some(Box::new(move |chunk, c| f(chunk, c).into()));
        self
    }

    pub fn flush<R: Into<Completion>>(
        mut self,
        mut f: impl FnMut(&Controller<T>) -> R + Send + 'static,
    ) -> Self {
        self.flush = Some(Box::new(move |c| f(c).into()));
        self
    }
}

impl<T: Display + Send + 'static> Transformer<T, T> for Recording<T> {
    fn transform(&mut self, chunk: T, controller: &Controller<T>) -> Completion {
        self.log.push(format!("transform {chunk}"));
        match &mut self.transform {
            Some(f) => f(chunk, controller),
            None => controller.enqueue(chunk).into(),
        }
    }

    fn flush(&mut self, controller: &Controller<T>) -> Completion {
        self.log.push("flush");
        match &mut self.flush {
            Some(f) => f(controller),
            None => Completion::ok(),
        }
    }
}

/// A recording transform stream on `host`: the stream, its controller and its log.
pub fn recording<T: Display + Send + 'static>(
    extras: impl FnOnce(Recording<T>) -> Recording<T>,
    writable_strategy: QueuingStrategy<T>,
    readable_strategy: QueuingStrategy<T>,
    host: &HostRef,
) -> (TransformStream<T, T>, Controller<T>, Log) {
    let log = Log::new();
    let transformer = extras(Recording::new(&log));
    let (ts, c) = with_controller(transformer, writable_strategy, readable_strategy, host).unwrap();
    (ts, c, log)
}

/// WPT's `readableStreamToArray`: reads every chunk until the stream closes.
pub async fn read_all<T: Send + 'static>(rs: &ReadableStream<T>) -> Result<Vec<T>, StreamError> {
    let reader = rs.get_reader()?;
    let mut out = Vec::new();
    while let Some(chunk) = reader.read().await? {
        out.push(chunk);
    }
    Ok(out)
}

/// A completion that settles after `ms` virtual milliseconds (WPT's `delay(ms)` returned from a
/// transformer method), then runs `then`.
pub fn after<F>(ms: u64, then: F) -> Completion
where
    F: FnOnce() -> Result<(), StreamError> + Send + 'static,
{
    Completion::future(async move {
        common::sleep(ms).await;
        then()
    })
}

/// A user error with a static reason, for identity checks.
pub fn error(reason: &'static str) -> StreamError {
    StreamError::user(reason)
}

/// The default counting strategy (no high-water mark given).
pub fn default<T>() -> QueuingStrategy<T> {
    QueuingStrategy::new()
}

/// A counting strategy with this high-water mark.
pub fn hwm<T>(h: f64) -> QueuingStrategy<T> {
    QueuingStrategy::count(h)
}
