//! Model checks of the execution model's cross-thread protocol, with `loom`: every interleaving
//! (up to loom's preemption bound) of the real `Domain` and `Driver` code, on loom's atomics,
//! mutexes and thread-locals (see `crate::sync`).
//!
//! Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg sluicegate_loom" cargo test -p sluicegate --lib --release loom_tests
//! ```
//!
//! A data race on a `loom::cell::UnsafeCell` touched only inside a domain shows a hole in mutual
//! exclusion; a deadlock or a thread left waiting forever fails the model too.

use std::sync::Arc;
use std::task::{Context, Poll};

use loom::cell::UnsafeCell;
use loom::thread;

use super::{outside_domains, Domain, Driver, Host};

/// State that only a holder of the domain may touch.
struct Guarded(UnsafeCell<usize>);

// SAFETY: every access in these tests is made while holding the domain that guards it; loom
// checks exactly that claim (an unsynchronised access is a reported race).
unsafe impl Sync for Guarded {}

impl Guarded {
    fn bump(&self) {
        // SAFETY: called only while holding the domain that guards the cell (see above).
        self.0.with_mut(|p| unsafe { *p += 1 });
    }
    fn get(&self) -> usize {
        // SAFETY: as in `bump`: read while holding the guarding domain, which loom checks.
        self.0.with(|p| unsafe { *p })
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.max_branches = 100_000;
    builder.check(f);
}

#[test]
fn loom_two_threads_never_hold_a_domain_at_once() {
    model(|| {
        let d = Domain::new();
        let state = Arc::new(Guarded(UnsafeCell::new(0)));
        let (d2, s2) = (d.clone(), state.clone());
        let t = thread::spawn(move || {
            let _g = d2.enter();
            s2.bump();
        });
        {
            let _outer = d.enter();
            let _nested = d.enter();
            state.bump();
        }
        t.join().unwrap();
        let _g = d.enter();
        assert_eq!(state.get(), 2);
    });
}

#[test]
fn loom_user_code_runs_outside_and_the_domain_comes_back() {
    model(|| {
        let d = Domain::new();
        let state = Arc::new(Guarded(UnsafeCell::new(0)));
        let (d2, s2) = (d.clone(), state.clone());
        let t = thread::spawn(move || {
            let _g = d2.enter();
            s2.bump();
        });
        {
            let _g = d.enter();
            state.bump();
            // User code: the other thread may run a step now, and this thread touches nothing.
            outside_domains(|| thread::yield_now());
            assert!(d.is_held_here());
            state.bump();
        }
        t.join().unwrap();
        let _g = d.enter();
        assert_eq!(state.get(), 3);
    });
}

#[test]
fn loom_crossed_waits_do_not_deadlock() {
    model(|| {
        let (a, b) = (Domain::new(), Domain::new());
        let (sa, sb) = (
            Arc::new(Guarded(UnsafeCell::new(0))),
            Arc::new(Guarded(UnsafeCell::new(0))),
        );
        let t = {
            let (a, b, sa, sb) = (a.clone(), b.clone(), sa.clone(), sb.clone());
            thread::spawn(move || {
                let _b = b.enter();
                sb.bump();
                let _a = a.enter();
                sa.bump();
                sb.bump();
            })
        };
        {
            let _a = a.enter();
            sa.bump();
            let _b = b.enter();
            sb.bump();
            sa.bump();
        }
        t.join().unwrap();
        let (_a, _b) = (a.enter(), b.enter());
        assert_eq!((sa.get(), sb.get()), (3, 3));
    });
}

#[test]
fn loom_merging_while_others_wait_keeps_one_holder_per_group() {
    model(|| {
        let (a, b) = (Domain::new(), Domain::new());
        // Touched by holders of either domain once they are one group.
        let merged = Arc::new(Guarded(UnsafeCell::new(0)));
        let holder = {
            let (a, b, m) = (a.clone(), b.clone(), merged.clone());
            thread::spawn(move || {
                let _g = b.enter();
                // While `b` is held, no merge of `b` can complete, so the group seen now stays: if
                // the merge already happened, this thread holds `a`'s group too.
                if a.is_held_here() {
                    m.bump();
                }
            })
        };
        let merger = {
            let (a, b) = (a.clone(), b.clone());
            thread::spawn(move || Domain::merge(&a, &b))
        };
        merger.join().unwrap();
        {
            // After the merge, entering `a` excludes the holder of `b`.
            let _g = a.enter();
            assert!(b.is_held_here());
            merged.bump();
        }
        holder.join().unwrap();
    });
}

/// What a promise does for a future waiting on it: a flag the microtask sets, and the waker of
/// whoever waits for it.
struct Signal {
    hits: loom::sync::atomic::AtomicUsize,
    waker: loom::future::AtomicWaker,
}

impl Signal {
    fn new() -> Arc<Signal> {
        Arc::new(Signal {
            hits: loom::sync::atomic::AtomicUsize::new(0),
            waker: loom::future::AtomicWaker::new(),
        })
    }

    /// A microtask that adds `n` and wakes the waiter.
    fn task(self: &Arc<Self>, n: usize) -> super::Microtask {
        let me = self.clone();
        Box::new(move || {
            me.hits.fetch_add(n, loom::sync::atomic::Ordering::SeqCst);
            me.waker.wake();
        })
    }

    /// Drives `driver` from this thread until the hits reach `n`, relying on wake-ups alone: a
    /// lost one leaves the thread parked forever, which loom reports as a deadlock.
    fn wait_for(&self, driver: &Driver, n: usize) {
        loom::future::block_on(std::future::poll_fn(|cx: &mut Context<'_>| {
            self.waker.register_by_ref(cx.waker());
            driver.poll_progress(cx);
            if self.hits.load(loom::sync::atomic::Ordering::SeqCst) == n {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
    }
}

#[test]
fn loom_a_microtask_queued_from_another_thread_wakes_the_poller() {
    model(|| {
        let driver = Driver::new();
        let signal = Signal::new();
        let producer = {
            let (d, s) = (driver.clone(), signal.clone());
            thread::spawn(move || d.queue_microtask(s.task(1)))
        };
        signal.wait_for(&driver, 1);
        producer.join().unwrap();
    });
}

#[test]
fn loom_two_pollers_and_a_producer_run_each_microtask_once() {
    model(|| {
        let driver = Driver::new();
        let signal = Signal::new();
        driver.queue_microtask(signal.task(1));
        let other = {
            let d = driver.clone();
            thread::spawn(move || d.run_until_stalled())
        };
        driver.queue_microtask(signal.task(10));
        signal.wait_for(&driver, 11);
        other.join().unwrap();
        // Each ran exactly once: a second run of either would overshoot.
        assert_eq!(signal.hits.load(loom::sync::atomic::Ordering::SeqCst), 11);
    });
}

/// The issue's reproduction, in small: a writer on one thread and a reader on another, through a
/// `TransformStream` (one driver and domain), each waiting through its own futures' wake-ups.
/// Loom runs it under every interleaving up to the preemption bound; a lost wake-up parks one
/// side forever and fails the model as a deadlock, a chunk lost or doubled fails the assertion.
#[test]
fn loom_a_writer_and_a_reader_on_two_threads_through_a_transform() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(1);
    builder.max_branches = 100_000;
    builder.check(|| {
        let (w, r) = crate::transform::TransformStream::map(|x: u32| x * 10).into_parts();
        let writer = w.get_writer().unwrap();
        let reader = r.get_reader().unwrap();
        let producer = thread::spawn(move || {
            loom::future::block_on(async move {
                writer.write(1).await.unwrap();
                writer.close().await.unwrap();
            })
        });
        let got = loom::future::block_on(async move {
            let mut got = Vec::new();
            while let Some(x) = reader.read().await.unwrap() {
                got.push(x);
            }
            got
        });
        producer.join().unwrap();
        assert_eq!(got, vec![10]);
    });
}
