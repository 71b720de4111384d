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
