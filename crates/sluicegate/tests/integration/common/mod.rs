//! Shared test support: a deterministic single-threaded executor with virtual time, call logs,
//! and "called exactly N times" checks.
//!
//! * [`run`] drives a test future on one thread. When nothing can progress it advances a virtual
//!   clock to the next [`sleep`] deadline, so timer-based tests (`delay(100)` in the WPT files)
//!   are exact and instant. If nothing can progress and no timer is pending, the test would hang
//!   forever: [`run`] panics instead, naming the stall.
//! * [`flush`] runs a host's microtasks and pending futures until stalled: the equivalent of
//!   awaiting `flushAsyncEvents()` in a WPT test.
//! * [`Log`] records calls in order; [`Calls`] counts them.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use sluicegate::host::{Driver, HostRef};

thread_local! {
    static CLOCK: RefCell<Clock> = RefCell::new(Clock::default());
}

#[derive(Default)]
struct Clock {
    now: u64,
    seq: u64,
    timers: BTreeMap<(u64, u64), Waker>,
}

/// Virtual milliseconds since the test started.
pub fn now() -> u64 {
    CLOCK.with(|c| c.borrow().now)
}

/// A future that completes after `ms` virtual milliseconds (only under [`run`]).
pub fn sleep(ms: u64) -> Sleep {
    let deadline = now() + ms;
    Sleep { deadline, key: None }
}

/// See [`sleep`].
pub struct Sleep {
    deadline: u64,
    key: Option<(u64, u64)>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        CLOCK.with(|c| {
            let mut c = c.borrow_mut();
            if c.now >= self.deadline {
                if let Some(k) = self.key.take() {
                    c.timers.remove(&k);
                }
                return Poll::Ready(());
            }
            let key = match self.key {
                Some(k) => k,
                None => {
                    c.seq += 1;
                    let k = (self.deadline, c.seq);
                    self.key = Some(k);
                    k
                }
            };
            c.timers.insert(key, cx.waker().clone());
            Poll::Pending
        })
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            let _ = CLOCK.try_with(|c| c.borrow_mut().timers.remove(&k));
        }
    }
}

/// Runs `f` to completion on a single-threaded executor with virtual time.
pub fn run<F: Future + 'static>(f: F) -> F::Output {
    CLOCK.with(|c| *c.borrow_mut() = Clock::default());
    let mut pool = LocalPool::new();
    let out = Arc::new(Mutex::new(None));
    let o = out.clone();
    pool.spawner()
        .spawn_local(async move {
            let v = f.await;
            *o.lock().unwrap() = Some(v);
        })
        .expect("spawn test future");
    loop {
        pool.run_until_stalled();
        if let Some(v) = out.lock().unwrap().take() {
            return v;
        }
        let next = CLOCK.with(|c| {
            let mut c = c.borrow_mut();
            let key = *c.timers.keys().next()?;
            let waker = c.timers.remove(&key).expect("present");
            c.now = c.now.max(key.0);
            Some(waker)
        });
        match next {
            Some(w) => w.wake(),
            None => panic!("test stalled: nothing can progress and no timer is pending"),
        }
    }
}

/// A fresh native host, to share between the streams of one test.
pub fn host() -> Arc<Driver> {
    Driver::new()
}

/// Runs the host's microtasks and pending futures until stalled.
pub fn flush(host: &HostRef) {
    let waker = Waker::noop();
    host.poll_progress(&mut Context::from_waker(waker));
}

/// Yields to the executor once, letting other tasks and timers at the current time run.
pub async fn tick() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// An ordered log of calls, shareable with closures.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    /// Asserts the log equals `expected`.
    #[track_caller]
    pub fn assert(&self, expected: &[&str]) {
        assert_eq!(self.entries(), expected, "call log");
    }
}

/// Counts calls, for "called exactly N times" checks.
#[derive(Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    #[track_caller]
    pub fn assert_exactly(&self, n: usize) {
        assert_eq!(self.count(), n, "expected exactly {n} calls");
    }
}

/// The reason carried by a user error, for assertions.
pub fn reason_of(e: &sluicegate::StreamError) -> Option<&'static str> {
    e.reason::<&'static str>().copied()
}

// ---------------------------------------------------------------------------------------------
// Readable-stream helpers (WPT's rs-utils.js and recording-streams.js, natively).

use sluicegate::readable::{
    ReadableStream, ReadableStreamDefaultController, ReadableStreamDefaultReader, SourceFn,
};
use sluicegate::{ErrorKind, QueuingStrategy, StreamError};

/// A default controller, as a source's `start` receives it.
pub type Controller<T> = ReadableStreamDefaultController<T>;

/// A shared, initially empty cell: keeps what a closure saw (a controller, a reader, a stream)
/// for the test body to use.
pub struct Slot<V>(Arc<Mutex<Option<V>>>);

impl<V> Clone for Slot<V> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

impl<V> Default for Slot<V> {
    fn default() -> Self {
        Slot(Arc::new(Mutex::new(None)))
    }
}

impl<V> Slot<V> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(&self, v: V) {
        *self.0.lock().unwrap() = Some(v);
    }
    pub fn take(&self) -> Option<V> {
        self.0.lock().unwrap().take()
    }
    pub fn is_set(&self) -> bool {
        self.0.lock().unwrap().is_some()
    }
}

impl<V: Clone> Slot<V> {
    /// The value; panics if nothing was stored.
    #[track_caller]
    pub fn get(&self) -> V {
        self.0.lock().unwrap().clone().expect("slot is empty")
    }
}

/// How a log shows a cancel or error reason: the `&str` a user error carries, or the kind.
pub fn describe(e: &StreamError) -> String {
    match e.kind() {
        ErrorKind::Undefined => "undefined".to_string(),
        ErrorKind::User => match e.reason::<&'static str>() {
            Some(s) => (*s).to_string(),
            None => e.message().to_string(),
        },
        kind => format!("{kind:?}"),
    }
}

/// A stream whose source keeps its controller and does nothing else, on a fresh host.
pub fn controlled_stream<T: Send + 'static>(
    strategy: QueuingStrategy<T>,
) -> (ReadableStream<T>, Controller<T>) {
    controlled_stream_on(strategy, Driver::new())
}

/// Like [`controlled_stream`], on the given host.
pub fn controlled_stream_on<T: Send + 'static>(
    strategy: QueuingStrategy<T>,
    host: HostRef,
) -> (ReadableStream<T>, Controller<T>) {
    let slot = Slot::new();
    let s = slot.clone();
    let stream = ReadableStream::with_host(
        SourceFn::new().start(move |c: &Controller<T>| s.set(c.clone())),
        strategy,
        host,
    )
    .expect("a valid stream");
    (stream, slot.get())
}

/// WPT's `recordingReadableStream`: the source logs `pull` and `cancel <reason>`, runs `on_start`
/// and `on_pull`, and keeps the controller.
pub struct Recording<T: Send + 'static> {
    pub stream: ReadableStream<T>,
    pub controller: Controller<T>,
    pub log: Log,
}

pub fn recording_stream<T: Send + 'static>(
    strategy: QueuingStrategy<T>,
    mut on_start: impl FnMut(&Controller<T>) + Send + 'static,
    mut on_pull: impl FnMut(&Controller<T>) + Send + 'static,
) -> Recording<T> {
    let log = Log::new();
    let slot = Slot::new();
    let (s, l1, l2) = (slot.clone(), log.clone(), log.clone());
    let stream = ReadableStream::with_strategy(
        SourceFn::new()
            .start(move |c: &Controller<T>| {
                s.set(c.clone());
                on_start(c);
            })
            .pull(move |c: &Controller<T>| {
                l1.push("pull");
                on_pull(c);
            })
            .cancel(move |r: StreamError| l2.push(format!("cancel {}", describe(&r)))),
        strategy,
    )
    .expect("a valid stream");
    Recording {
        stream,
        controller: slot.get(),
        log,
    }
}

/// WPT's `readableStreamToArray`, through an existing reader.
pub async fn read_all_from<T: Send + 'static>(
    reader: &ReadableStreamDefaultReader<T>,
) -> Result<Vec<T>, StreamError> {
    let mut chunks = Vec::new();
    while let Some(chunk) = reader.read().await? {
        chunks.push(chunk);
    }
    Ok(chunks)
}

/// WPT's `readableStreamToArray`.
pub async fn read_all<T: Send + 'static>(stream: &ReadableStream<T>) -> Result<Vec<T>, StreamError> {
    let reader = stream.get_reader()?;
    read_all_from(&reader).await
}

/// Asserts that `actual` is the very error `expected` (`assert_equals(e, theError)`).
#[track_caller]
pub fn assert_same(actual: &StreamError, expected: &StreamError) {
    assert!(
        StreamError::same(actual, expected),
        "expected the very error {expected:?}, got {actual:?}"
    );
}

/// Asserts that `result` failed with the very error `expected`.
#[track_caller]
pub fn assert_rejects_with<V: std::fmt::Debug>(result: Result<V, StreamError>, expected: &StreamError) {
    match result {
        Ok(v) => panic!("expected the error {expected:?}, got Ok({v:?})"),
        Err(e) => assert_same(&e, expected),
    }
}

/// Asserts that `result` failed with an error of `kind` (`promise_rejects_js(t, TypeError, ..)`).
#[track_caller]
pub fn assert_rejects_kind<V: std::fmt::Debug>(result: Result<V, StreamError>, kind: ErrorKind) {
    match result {
        Ok(v) => panic!("expected a {kind:?} error, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "error kind of {e:?}"),
    }
}

/// Polls `future` once (driving its host): `Some(output)` if it completed, `None` if it is still
/// pending.
pub fn poll_once<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(future).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// A callback a [`RandomPushSource`] calls.
pub type PushCallback<V> = Arc<dyn Fn(V) + Send + Sync>;

/// WPT's `RandomPushSource`: once started, pushes a 128-byte chunk every 2 ms (virtual time) until
/// `to_push` chunks have gone out (0: forever), then ends. It can be paused and resumed.
pub struct RandomPushSource {
    state: Arc<Mutex<PushState>>,
}

struct PushState {
    pushed: usize,
    to_push: usize,
    started: bool,
    paused: bool,
    closed: bool,
    /// Bumped on every (re)start, so that a stopped interval ends.
    generation: u64,
    seed: u64,
}

impl RandomPushSource {
    pub fn new(to_push: usize) -> Self {
        RandomPushSource {
            state: Arc::new(Mutex::new(PushState {
                pushed: 0,
                to_push,
                started: false,
                paused: false,
                closed: false,
                generation: 0,
                seed: 0x2545_f491_4f6c_dd1d,
            })),
        }
    }

    /// `readStart()`: starts (or resumes) the 2 ms interval as a future on `host`.
    pub fn read_start(&self, host: &HostRef, on_data: PushCallback<String>, on_end: PushCallback<()>) {
        let generation = {
            let mut s = self.state.lock().unwrap();
            if s.closed || (s.started && !s.paused) {
                return;
            }
            s.started = true;
            s.paused = false;
            s.generation += 1;
            s.generation
        };
        let state = self.state.clone();
        host.spawn(Box::pin(async move {
            loop {
                sleep(2).await;
                let chunk = {
                    let mut s = state.lock().unwrap();
                    if s.paused || s.generation != generation {
                        return;
                    }
                    s.pushed += 1;
                    if s.to_push > 0 && s.pushed > s.to_push {
                        s.closed = true;
                        None
                    } else {
                        Some(random_chunk(&mut s.seed, 128))
                    }
                };
                match chunk {
                    Some(chunk) => on_data(chunk),
                    None => {
                        on_end(());
                        return;
                    }
                }
            }
        }));
    }

    /// `readStop()`: pauses the interval.
    pub fn read_stop(&self) {
        let mut s = self.state.lock().unwrap();
        if s.started {
            s.paused = true;
        }
    }

    /// Whether the source has pushed everything and ended.
    pub fn is_closed(&self) -> bool {
        self.state.lock().unwrap().closed
    }
}

/// `size` printable ASCII characters from a xorshift generator.
fn random_chunk(seed: &mut u64, size: usize) -> String {
    (0..size)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            char::from(32 + (*seed % 85) as u8)
        })
        .collect()
}
