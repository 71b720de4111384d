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

use super::{outside_domains, Domain, Driver, Hold, Host, HostRef};

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

/// Merges `from`'s driver into `into`'s as a pipe does: the domains first, then the drivers,
/// holding the merged domain.
fn merge_drivers(from: &Driver, into: &Driver) {
    let (da, db) = (from.domain().unwrap(), into.domain().unwrap());
    Domain::merge(&da, &db);
    let _held = da.enter();
    assert!(Driver::merge(from, into));
}

/// A merge while the merged driver is run by another thread: the microtask it had runs once,
/// whether that thread runs it before the merge or hands it to the root, and the work queued to
/// either driver after the merge reaches the thread polling the root through wake-ups alone.
#[test]
fn loom_a_merge_while_the_merged_driver_runs_elsewhere_loses_no_work() {
    model(|| {
        let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
        let signal = Signal::new();
        a.queue_microtask(signal.task(1));
        let runner = {
            let a = a.clone();
            thread::spawn(move || a.run_until_stalled())
        };
        merge_drivers(&a, &b);
        a.queue_microtask(signal.task(10));
        b.queue_microtask(signal.task(100));
        signal.wait_for(&b, 111);
        runner.join().unwrap();
        assert_eq!(signal.hits.load(loom::sync::atomic::Ordering::SeqCst), 111);
    });
}

/// A merge while another thread queues to the merged driver, whose old handle the waiting thread
/// keeps polling: no wake-up is lost, and what one thread queued runs in the order it queued it.
#[test]
fn loom_a_merge_while_another_thread_queues_keeps_its_order_and_wakes_the_poller() {
    model(|| {
        let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
        let signal = Signal::new();
        let order = Arc::new(loom::sync::Mutex::new(Vec::new()));
        let producer = {
            let (a, s, o) = (a.clone(), signal.clone(), order.clone());
            thread::spawn(move || {
                for i in 0..2 {
                    let (s, o) = (s.clone(), o.clone());
                    a.queue_microtask(Box::new(move || {
                        o.lock().unwrap().push(i);
                        s.hits.fetch_add(1, loom::sync::atomic::Ordering::SeqCst);
                        s.waker.wake();
                    }));
                }
            })
        };
        merge_drivers(&a, &b);
        signal.wait_for(&a, 2);
        producer.join().unwrap();
        assert_eq!(*order.lock().unwrap(), vec![0, 1]);
    });
}

/// A future spawned on a driver before it is merged, and woken from another thread afterwards,
/// is polled by the root.
#[test]
fn loom_a_future_spawned_before_a_merge_is_polled_by_the_root() {
    model(|| {
        let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
        let signal = Signal::new();
        let gate = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let gate_waker = Arc::new(loom::future::AtomicWaker::new());
        {
            let (s, g, w) = (signal.clone(), gate.clone(), gate_waker.clone());
            a.spawn(Box::pin(std::future::poll_fn(move |cx: &mut Context<'_>| {
                w.register_by_ref(cx.waker());
                if g.load(loom::sync::atomic::Ordering::SeqCst) {
                    s.hits.fetch_add(1, loom::sync::atomic::Ordering::SeqCst);
                    s.waker.wake();
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })));
        }
        // Polled once by its own driver, so that it waits on the old driver's waker.
        a.run_until_stalled();
        let opener = {
            let (g, w) = (gate.clone(), gate_waker.clone());
            thread::spawn(move || {
                g.store(true, loom::sync::atomic::Ordering::SeqCst);
                w.wake();
            })
        };
        merge_drivers(&a, &b);
        signal.wait_for(&b, 1);
        opener.join().unwrap();
    });
}

/// Counts how many times the work it is moved into was dropped.
struct CountsDrop(Arc<loom::sync::atomic::AtomicUsize>);

impl Drop for CountsDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, loom::sync::atomic::Ordering::SeqCst);
    }
}

/// A microtask that never runs in these models (nothing polls the driver) and counts its drop.
fn counted_task(drops: &Arc<loom::sync::atomic::AtomicUsize>) -> Box<dyn FnOnce() + Send> {
    let guard = CountsDrop(drops.clone());
    Box::new(move || drop(guard))
}

/// The group's holds let go on two threads at once, one of them cloning first: the group is
/// never abandoned while a hold lives, and once the last one goes its queued work is dropped
/// exactly once.
#[test]
fn loom_holds_dropped_on_two_threads_abandon_the_group_once() {
    model(|| {
        let driver = Driver::new_implicit();
        let host: HostRef = driver.clone();
        let drops = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let first = Hold::on(&host);
        driver.queue_microtask(counted_task(&drops));
        let second = first.clone();
        let other = {
            let driver = driver.clone();
            thread::spawn(move || {
                let third = second.clone();
                drop(second);
                assert!(!driver.is_abandoned(), "abandoned while a hold lives");
                drop(third);
            })
        };
        drop(first);
        other.join().unwrap();
        assert!(driver.is_abandoned());
        assert_eq!(drops.load(loom::sync::atomic::Ordering::SeqCst), 1);
    });
}

/// A merge (by a thread holding both groups, as `pipe_to`'s caller does) while another thread
/// lets go of its holds on both: the root is abandoned only once every hold is gone, and the
/// work queued on either driver is dropped exactly once, wherever the merge moved it.
#[test]
fn loom_a_merge_while_holds_go_keeps_the_root_until_the_last() {
    model(|| {
        let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
        let (host_a, host_b): (HostRef, HostRef) = (a.clone(), b.clone());
        let drops = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let (hold_a, hold_b) = (Hold::on(&host_a), Hold::on(&host_b));
        a.queue_microtask(counted_task(&drops));
        b.queue_microtask(counted_task(&drops));
        let (piping_a, piping_b) = (hold_a.clone(), hold_b.clone());
        let piper = {
            let (a, b) = (a.clone(), b.clone());
            thread::spawn(move || {
                merge_drivers(&a, &b);
                assert!(!b.is_abandoned(), "abandoned while the merging thread holds it");
                drop((piping_a, piping_b));
            })
        };
        drop(hold_a);
        drop(hold_b);
        piper.join().unwrap();
        assert!(b.is_abandoned(), "the root outlived every hold");
        assert_eq!(drops.load(loom::sync::atomic::Ordering::SeqCst), 2);
    });
}
