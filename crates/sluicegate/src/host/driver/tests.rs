//! The driver's unit tests: FIFO order, runs from several threads, and merges.

use super::*;
use crate::error::StreamError;
use crate::host::{upon_settlement, Completion, HostRef};
use std::sync::atomic::AtomicUsize;

#[test]
fn microtasks_run_in_fifo_order_including_nested_ones() {
    let driver = Driver::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (d, l) = (driver.clone(), log.clone());
    driver.queue_microtask(Box::new(move || {
        l.lock().push(1);
        let l2 = l.clone();
        d.queue_microtask(Box::new(move || l2.lock().push(3)));
    }));
    let l = log.clone();
    driver.queue_microtask(Box::new(move || l.lock().push(2)));
    driver.run_until_stalled();
    assert_eq!(*log.lock(), vec![1, 2, 3]);
}

#[test]
fn microtasks_queued_by_a_future_that_then_waits_run_in_the_same_run() {
    let driver = Driver::new();
    let hits = Arc::new(AtomicUsize::new(0));
    let (d, h) = (driver.clone(), hits.clone());
    driver.spawn(Box::pin(async move {
        let h2 = h.clone();
        // Settling a promise from inside a future queues its reactions on this frame...
        d.queue_microtask(Box::new(move || {
            h2.fetch_add(1, Ordering::SeqCst);
        }));
        // ...and then the future waits on something else.
        std::future::pending::<()>().await;
    }));
    driver.run_until_stalled();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[test]
fn microtasks_queued_from_another_thread_during_a_run_run_in_that_run() {
    let driver = Driver::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (d, l) = (driver.clone(), log.clone());
    driver.queue_microtask(Box::new(move || {
        l.lock().push("first");
        let (d2, l2) = (d.clone(), l.clone());
        // Queued from another thread while this thread runs the driver: behind the lock.
        std::thread::spawn(move || d2.queue_microtask(Box::new(move || l2.lock().push("remote"))))
            .join()
            .unwrap();
        // Queued from the running step: this thread's own queue.
        let l3 = l.clone();
        d.queue_microtask(Box::new(move || l3.lock().push("local")));
    }));
    driver.run_until_stalled();
    assert_eq!(*log.lock(), vec!["first", "local", "remote"]);
    assert!(!driver.has_queued());
}

#[test]
fn microtasks_queued_from_many_threads_all_run_and_wake_the_poller() {
    const THREADS: usize = 4;
    const EACH: usize = 2_000;
    let driver = Driver::new();
    let hits = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (d, h) = (driver.clone(), hits.clone());
            std::thread::spawn(move || {
                for _ in 0..EACH {
                    let h2 = h.clone();
                    let d2 = d.clone();
                    // Each microtask queues a second one from inside the run: both paths.
                    d.queue_microtask(Box::new(move || {
                        h2.fetch_add(1, Ordering::SeqCst);
                        let h3 = h2.clone();
                        d2.queue_microtask(Box::new(move || {
                            h3.fetch_add(1, Ordering::SeqCst);
                        }));
                    }));
                }
            })
        })
        .collect();
    // A poller that relies on wake-ups alone to see the work the other threads queue.
    futures::executor::block_on(std::future::poll_fn(|cx| {
        driver.poll_progress(cx);
        if hits.load(Ordering::SeqCst) == 2 * THREADS * EACH {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2 * THREADS * EACH);
    assert!(!driver.has_queued());
}

#[test]
fn microtasks_queued_to_an_outer_driver_from_an_inner_run_run_in_the_outer_run() {
    let (outer, inner) = (Driver::new(), Driver::new());
    let log = Arc::new(Mutex::new(Vec::new()));
    let (o, i, l) = (outer.clone(), inner.clone(), log.clone());
    outer.queue_microtask(Box::new(move || {
        l.lock().push("outer 1");
        let (o2, l2) = (o.clone(), l.clone());
        i.queue_microtask(Box::new(move || {
            l2.lock().push("inner");
            let l3 = l2.clone();
            // The outer driver's run loop is on this thread's stack, below the inner one's.
            o2.queue_microtask(Box::new(move || l3.lock().push("outer 3")));
        }));
        // The inner driver runs nested inside a step of the outer one.
        i.run_until_stalled();
        let l4 = l.clone();
        o.queue_microtask(Box::new(move || l4.lock().push("outer 4")));
    }));
    let l = log.clone();
    outer.queue_microtask(Box::new(move || l.lock().push("outer 2")));
    outer.run_until_stalled();
    assert_eq!(
        *log.lock(),
        vec!["outer 1", "inner", "outer 2", "outer 3", "outer 4"]
    );
    assert!(!outer.has_queued() && !inner.has_queued());
}

#[test]
fn run_queued_runs_queued_work_and_woken_futures() {
    let driver = Driver::new();
    let hits = Arc::new(AtomicUsize::new(0));
    driver.run_queued(); // nothing queued: returns at once
    let h = hits.clone();
    driver.queue_microtask(Box::new(move || {
        h.fetch_add(1, Ordering::SeqCst);
    }));
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    driver.run_queued();
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // A pending future that is woken later counts as queued work.
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let h = hits.clone();
    driver.spawn(Box::pin(async move {
        rx.await.unwrap();
        h.fetch_add(10, Ordering::SeqCst);
    }));
    driver.run_queued();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the future is still waiting");
    driver.run_queued();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    tx.send(()).unwrap();
    driver.run_queued();
    assert_eq!(hits.load(Ordering::SeqCst), 11);
}

/// Merges `from`'s driver into `into`'s as a pipe does: domains first, then the drivers,
/// holding the merged domain.
fn merge(from: &Driver, into: &Driver) -> bool {
    Domain::merge(&from.domain, &into.domain);
    let _held = from.domain.enter();
    Driver::merge(from, into)
}

fn logger(log: &Arc<Mutex<Vec<&'static str>>>, entry: &'static str) -> Microtask {
    let l = log.clone();
    Box::new(move || l.lock().push(entry))
}

#[test]
fn drivers_made_by_new_never_merge() {
    let (a, b) = (Driver::new(), Driver::new());
    assert!(!merge(&a, &b));
    let c = Driver::new_implicit();
    assert!(!merge(&a, &c) && !merge(&c, &a));
    assert!(a.forwarded().is_none() && c.forwarded().is_none());
    let host: HostRef = a.clone();
    assert!(Driver::implicit(&host).is_none());
    let host: HostRef = c.clone();
    assert!(Driver::implicit(&host).is_some_and(|d| std::ptr::eq(&*d, &*c)));
}

#[test]
fn merged_drivers_run_their_queued_work_in_one_loop_in_each_ones_order() {
    let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
    let log = Arc::new(Mutex::new(Vec::new()));
    a.queue_microtask(logger(&log, "a1"));
    b.queue_microtask(logger(&log, "b1"));
    a.queue_microtask(logger(&log, "a2"));
    assert!(merge(&a, &b));
    assert!(a.moved.load(Ordering::SeqCst) && !a.has_queued());
    a.queue_microtask(logger(&log, "a3"));
    b.queue_microtask(logger(&log, "b2"));
    // Running either runs the group.
    a.run_until_stalled();
    assert_eq!(*log.lock(), vec!["b1", "a1", "a2", "a3", "b2"]);
    assert!(!a.has_queued() && !b.has_queued());
}

#[test]
fn chains_of_merges_reach_the_last_root() {
    let (a, b, c) = (
        Driver::new_implicit(),
        Driver::new_implicit(),
        Driver::new_implicit(),
    );
    let log = Arc::new(Mutex::new(Vec::new()));
    a.queue_microtask(logger(&log, "a"));
    assert!(merge(&a, &b));
    assert!(merge(&b, &c));
    // Merging within the group again changes nothing.
    assert!(merge(&c, &a) && merge(&a, &c));
    assert!(std::ptr::eq(a.root(), &*c) && std::ptr::eq(b.root(), &*c));
    assert!(c.forwarded().is_none());
    a.queue_microtask(logger(&log, "a again"));
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    a.spawn(Box::pin(async move {
        h.fetch_add(1, Ordering::SeqCst);
    }));
    c.run_until_stalled();
    assert_eq!(*log.lock(), vec!["a", "a again"]);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_merge_inside_a_step_of_the_merged_driver_moves_the_rest_of_its_run() {
    let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
    let log = Arc::new(Mutex::new(Vec::new()));
    let (a2, b2, l) = (a.clone(), b.clone(), log.clone());
    a.queue_microtask(Box::new(move || {
        l.lock().push("a1");
        // As a pipe made by user code running inside a step would (the domain is released
        // around user code; this step holds it, which merging re-enters).
        assert!(merge(&a2, &b2));
        // Still this run's frame: behind a2, which was queued before.
        a2.queue_microtask(logger(&l, "a3"));
        b2.queue_microtask(logger(&l, "b1"));
    }));
    a.queue_microtask(logger(&log, "a2"));
    a.run_until_stalled();
    assert_eq!(*log.lock(), vec!["a1", "b1", "a2", "a3"]);
    assert!(a.moved.load(Ordering::SeqCst));
    assert!(!a.has_queued() && !b.has_queued());
}

#[test]
fn a_future_spawned_before_a_merge_is_polled_by_the_root_when_woken() {
    let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
    let hits = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let h = hits.clone();
    a.spawn(Box::pin(async move {
        rx.await.unwrap();
        h.fetch_add(1, Ordering::SeqCst);
    }));
    a.run_until_stalled();
    assert!(merge(&a, &b));
    tx.send(()).unwrap();
    b.run_queued();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_task_waiting_on_a_merged_driver_is_woken_and_then_waits_on_the_root() {
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    a.poll_progress(&mut Context::from_waker(&waker));
    assert!(merge(&a, &b));
    assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken by the merge");
    a.poll_progress(&mut Context::from_waker(&waker));
    // Registered on the root now: work queued there (from another thread) wakes it.
    let b2 = b.clone();
    std::thread::spawn(move || b2.queue_microtask(Box::new(|| ())))
        .join()
        .unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 2);
}

#[test]
fn merges_while_other_threads_run_and_queue_lose_nothing() {
    for _ in 0..200 {
        let (a, b) = (Driver::new_implicit(), Driver::new_implicit());
        let hits = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|d| {
                let h = hits.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let h2 = h.clone();
                        d.queue_microtask(Box::new(move || {
                            h2.fetch_add(1, Ordering::SeqCst);
                        }));
                        d.run_until_stalled();
                    }
                })
            })
            .collect();
        assert!(merge(&a, &b));
        for t in threads {
            t.join().unwrap();
        }
        a.run_until_stalled();
        assert_eq!(hits.load(Ordering::SeqCst), 100);
        assert!(!a.has_queued() && !b.has_queued());
    }
}

#[test]
fn ready_completion_reacts_in_a_microtask_not_synchronously() {
    let host: HostRef = Driver::new();
    let hit = Arc::new(AtomicUsize::new(0));
    let h = hit.clone();
    upon_settlement(&host, None, Completion::ok(), move |r| {
        assert!(r.is_ok());
        h.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(hit.load(Ordering::SeqCst), 0);
    futures::executor::block_on(std::future::poll_fn(|cx| {
        host.poll_progress(cx);
        Poll::Ready(())
    }));
    assert_eq!(hit.load(Ordering::SeqCst), 1);
}

#[test]
fn deferred_reacts_in_a_microtask_after_settlement() {
    let driver = Driver::new();
    let host: HostRef = driver.clone();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (completion, resolver) = Completion::deferred();
    let l = log.clone();
    upon_settlement(&host, None, completion, move |r| {
        l.lock().push(format!("settled {}", r.is_ok()))
    });
    driver.run_until_stalled();
    assert!(log.lock().is_empty(), "no reaction before settlement");
    let l = log.clone();
    host.queue_microtask(Box::new(move || l.lock().push("earlier microtask".into())));
    resolver.settle(Err(StreamError::user("x")));
    assert!(
        log.lock().is_empty(),
        "reactions are queued, not run synchronously"
    );
    driver.run_until_stalled();
    assert_eq!(
        *log.lock(),
        vec!["earlier microtask".to_string(), "settled false".to_string()]
    );
}

#[test]
fn panicking_future_becomes_a_rejection() {
    let host: HostRef = Driver::new();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    upon_settlement(
        &host,
        None,
        Completion::future(async { panic!("boom") }),
        move |r| *s.lock() = Some(r),
    );
    let waker = Waker::noop();
    host.poll_progress(&mut Context::from_waker(waker));
    let got = seen.lock().take().expect("settled");
    let err = got.expect_err("rejected");
    assert_eq!(err.kind(), crate::ErrorKind::Panic);
    assert_eq!(err.message(), "boom");
}
