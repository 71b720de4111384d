//! A minimal executor for the scenarios: polls a set of futures with a real waker until all are
//! done or a generous deadline passes (a hang is reported, never waited out), and a future that
//! yields once, to make user algorithms asynchronous without a runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// How long a scenario may take before it counts as hung.
pub const DEADLINE: Duration = Duration::from_secs(20);

struct Flag {
    woken: AtomicBool,
    thread: std::thread::Thread,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// A boxed future of the scenarios.
pub type Task<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Polls `futures` until every one is ready; `None` if the deadline passed first (a hang).
pub fn run_all<T>(mut futures: Vec<Task<'_, T>>) -> Option<Vec<T>> {
    let flag = Arc::new(Flag {
        woken: AtomicBool::new(true),
        thread: std::thread::current(),
    });
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut out: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    let start = Instant::now();
    loop {
        if flag.woken.swap(false, Ordering::SeqCst) {
            for (i, f) in futures.iter_mut().enumerate() {
                if out[i].is_none() {
                    if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                        out[i] = Some(v);
                    }
                }
            }
            if out.iter().all(Option::is_some) {
                return Some(out.into_iter().map(Option::unwrap).collect());
            }
        } else {
            std::thread::park_timeout(Duration::from_millis(5));
        }
        if start.elapsed() > DEADLINE {
            return None;
        }
    }
}

/// Runs one future to completion; `None` on a hang.
pub fn run<T>(f: Task<'_, T>) -> Option<T> {
    run_all(vec![f]).map(|mut v| v.pop().unwrap())
}

/// Yields to the executor once: pending the first time, woken at once.
pub struct YieldNow(pub bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Yields once.
pub fn yield_now() -> YieldNow {
    YieldNow(false)
}
