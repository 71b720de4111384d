//! The operators: map, filter, flat_map, for_each, take, skip (drop), reduce/fold, to_array,
//! some, every, find; concurrency with ordered output and a memory bound.
mod common;
use common::*;

use std::future::{ready, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::executor::block_on;
use futures::StreamExt;
use sluicegate::AbortController;

/// A future that is pending once (waking itself) and then ready with `v`: an async step that
/// needs no timer.
struct YieldThen<V>(Option<V>, bool);

impl<V: Unpin> Future for YieldThen<V> {
    type Output = V;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<V> {
        if !self.1 {
            self.1 = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.0.take().expect("polled after completion"))
    }
}

fn later<V: Unpin>(v: V) -> YieldThen<V> {
    YieldThen(Some(v), false)
}

fn naturals() -> Readable<u64> {
    Readable::from_stream(futures::stream::iter(1u64..))
}

// ports test/parallel/test-stream-map.js (synchronous mapper)
#[test]
fn map_with_a_synchronous_mapper() {
    let out = block_on(
        Readable::from_iter([1, 2, 3, 4, 5])
            .map(|x| ready(x + x))
            .to_array(),
    );
    assert_eq!(out.unwrap(), [2, 4, 6, 8, 10]);
}

// ports test/parallel/test-stream-map.js (asynchronous mapper, chained)
#[test]
fn map_with_an_asynchronous_mapper_chained() {
    let out = block_on(
        Readable::from_iter([1, 2, 3, 4, 5])
            .map(|x| later(x + x))
            .map(|x| ready(x + x))
            .to_array(),
    );
    assert_eq!(out.unwrap(), [4, 8, 12, 16, 20]);
}

// ports test/parallel/test-stream-map.js (infinite stream, break after 4)
#[test]
fn map_on_an_infinite_stream_stops_when_the_consumer_does() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let stream = naturals().map(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        async { 2u64 }
    });
    block_on(async {
        let mut it = stream.iter();
        let mut i = 1;
        while let Some(item) = it.next().await {
            assert_eq!(item.unwrap(), 2);
            i += 1;
            if i == 5 {
                break;
            }
        }
    });
    // Node counts 5 calls: 4 consumed, and the read-ahead of the output (highWaterMark 1)
    // starts a fifth in a microtask that runs before the loop's `break`. Here the read-ahead's
    // call runs when the loop next runs, which the `break` preempts: 4 or 5, never more.
    let n = calls.load(Ordering::SeqCst);
    assert!((4..=5).contains(&n), "{n} calls");
    assert!(stream.destroyed());
}

// ports test/parallel/test-stream-map.js (byte-mode source)
#[test]
fn map_works_on_byte_mode_streams() {
    let src = Readable::from_fn_with(
        |_, s: &Readable<bytes::Bytes>| {
            s.push(bytes::Bytes::from_static(&[1]));
            s.push(bytes::Bytes::from_static(&[2]));
            s.push_end();
        },
        ReadableOptions::bytes(),
    );
    let out = block_on(src.map(|b| later(b[0] * 2)).map(|x| ready(x * 2)).to_array());
    // Byte mode may join the two pushes into one chunk before the iterator reads it; each
    // chunk maps its first byte, as Node's `([x]) => x + x` does.
    let out = out.unwrap();
    assert!(out == [4, 8] || out == [4], "{out:?}");
}

// ports test/parallel/test-stream-map.js (throwing during map, sync and async)
#[test]
fn an_error_in_the_mapper_rejects_the_consumer() {
    for asynchronous in [false, true] {
        let stream = Readable::from_iter([1, 2, 3, 4, 5]).try_map(move |x| {
            let r = if x == 3 {
                Err(Error::user("boom"))
            } else {
                Ok(x + x)
            };
            async move {
                if asynchronous {
                    later(()).await;
                }
                r
            }
        });
        let err = block_on(stream.map(|x| ready(x + x)).to_array()).unwrap_err();
        assert_eq!(err.message(), "boom");
    }
}

// ports test/parallel/test-stream-map.js (emitting an error on the output during map)
#[test]
fn destroying_the_output_during_map_rejects_with_that_error() {
    let slot: Arc<std::sync::Mutex<Option<Readable<i32>>>> = Arc::default();
    let s = slot.clone();
    let stream = Readable::from_iter([1, 2, 3, 4, 5]).map(move |x| {
        if x == 3 {
            if let Some(out) = s.lock().unwrap().as_ref() {
                out.destroy(Some(Error::user("boom")));
            }
        }
        ready(x + x)
    });
    *slot.lock().unwrap() = Some(stream.clone());
    let err = block_on(stream.map(|x| ready(x + x)).to_array()).unwrap_err();
    assert_eq!(err.message(), "boom");
}

// ports test/parallel/test-stream-map.js (concurrency result order)
#[test]
fn concurrent_results_come_out_in_input_order() {
    // Item 1 finishes last, item 2 first: the output is still 1, 2, 3.
    let (tx1, rx1) = futures::channel::oneshot::channel::<()>();
    let rx1 = Arc::new(std::sync::Mutex::new(Some(rx1)));
    let tx1 = Arc::new(std::sync::Mutex::new(Some(tx1)));
    let stream = Readable::from_iter([1u32, 2, 3])
        .operators(OperatorOptions::new().concurrency(2))
        .map(move |x| {
            let (rx1, tx1) = (rx1.clone(), tx1.clone());
            async move {
                match x {
                    1 => {
                        let rx = rx1.lock().unwrap().take().unwrap();
                        rx.await.unwrap();
                    }
                    _ => {
                        if let Some(tx) = tx1.lock().unwrap().take() {
                            tx.send(()).unwrap();
                        }
                    }
                }
                x
            }
        });
    assert_eq!(block_on(stream.to_array()).unwrap(), [1, 2, 3]);
}

// ports test/parallel/test-stream-map.js (concurrency: calls really overlap)
#[test]
fn concurrency_runs_that_many_calls_at_once_and_no_more() {
    for concurrency in [1usize, 3, 8] {
        let now = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let (n, m) = (now.clone(), max.clone());
        let stream = Readable::from_iter(0..50u32)
            .operators(OperatorOptions::new().concurrency(concurrency))
            .map(move |x| {
                let (n, m) = (n.clone(), m.clone());
                async move {
                    let in_flight = n.fetch_add(1, Ordering::SeqCst) + 1;
                    m.fetch_max(in_flight, Ordering::SeqCst);
                    later(()).await;
                    n.fetch_sub(1, Ordering::SeqCst);
                    x
                }
            });
        let out = block_on(stream.to_array()).unwrap();
        assert_eq!(out, (0..50).collect::<Vec<_>>());
        assert_eq!(max.load(Ordering::SeqCst), concurrency);
    }
}

// ports test/parallel/test-stream-map.js (concurrency + AbortSignal)
#[test]
fn aborting_a_concurrent_map_fails_the_consumer_with_abort_error() {
    let ac = AbortController::new();
    let calls = MustCall::new(2);
    let c = calls.counter();
    let stream = Readable::from_iter([1, 2, 3, 4, 5])
        .operators(OperatorOptions::new().concurrency(2).signal(ac.signal()))
        .map(move |x| {
            c.fetch_add(1, Ordering::SeqCst);
            // Never completes: only the abort ends it.
            async move {
                futures::future::pending::<()>().await;
                x
            }
        });
    let signal_ac = ac.clone();
    let consumer = async move {
        let mut it = stream.iter();
        let first = it.next();
        let abort = async move {
            later(()).await;
            signal_ac.abort(None);
        };
        let (item, ()) = futures::join!(first, abort);
        item
    };
    let item = block_on(consumer).expect("an error, not the end");
    assert_eq!(item.unwrap_err().code(), ErrorCode::Abort);
}

// ports test/parallel/test-stream-map.js (error cases: bad concurrency)
#[test]
fn concurrency_zero_is_out_of_range_and_leaves_the_source_alone() {
    let src = Readable::from_iter([1]);
    let out = src.operators(OperatorOptions::new().concurrency(0)).map(ready);
    let err = block_on(out.to_array()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::OutOfRange);
    assert!(!src.destroyed());
}

// ports test/parallel/test-stream-map.js (the result is a Readable)
#[test]
fn the_result_of_map_is_a_readable() {
    let stream = Readable::from_iter([1, 2, 3, 4, 5]).map(ready);
    assert!(stream.readable());
    assert!(stream.readable_object_mode());
    assert_eq!(stream.readable_high_water_mark(), 1);
}

/// Counts the values alive, and the most ever alive at once.
#[derive(Debug)]
struct Tracked {
    live: Arc<(AtomicUsize, AtomicUsize)>,
}

impl Tracked {
    fn new(live: &Arc<(AtomicUsize, AtomicUsize)>) -> Self {
        let now = live.0.fetch_add(1, Ordering::SeqCst) + 1;
        live.1.fetch_max(now, Ordering::SeqCst);
        Tracked { live: live.clone() }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.0.fetch_sub(1, Ordering::SeqCst);
    }
}

// ports test/parallel/test-stream-map.js (highWaterMark bounds what map holds)
#[test]
fn memory_is_bounded_at_any_concurrency_whatever_the_input_size() {
    for (concurrency, n) in [(1usize, 2_000usize), (8, 2_000), (8, 20_000), (64, 20_000)] {
        let live = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let l = live.clone();
        let mut made = 0;
        let src = Readable::from_iter(std::iter::from_fn(move || {
            made += 1;
            (made <= n).then(|| Tracked::new(&l))
        }));
        let consumed = Arc::new(AtomicUsize::new(0));
        let c = consumed.clone();
        // Calls finish out of order (every third one takes a step longer) and the consumer is
        // slow (a step per item): nothing may pile up anyway.
        let mapped = src
            .operators(OperatorOptions::new().concurrency(concurrency))
            .map(|t: Tracked| async move {
                if t.live.0.load(Ordering::SeqCst) % 3 == 0 {
                    later(()).await;
                }
                later(t).await
            });
        block_on(mapped.for_each(move |t| {
            c.fetch_add(1, Ordering::SeqCst);
            async move {
                later(()).await;
                drop(t);
            }
        }))
        .unwrap();
        assert_eq!(consumed.load(Ordering::SeqCst), n);
        assert_eq!(live.0.load(Ordering::SeqCst), 0, "every value dropped");
        // The map holds at most highWaterMark + concurrency = 2 * concurrency - 1 values;
        // each of the three readables (source, output, and the one for_each reads through)
        // buffers one, and the consumer has one in hand.
        let bound = 2 * concurrency - 1 + 5;
        let peak = live.1.load(Ordering::SeqCst);
        assert!(
            peak <= bound,
            "concurrency {concurrency}, {n} items: {peak} alive at once, bound {bound}"
        );
    }
}

// ports test/parallel/test-stream-filter.js
#[test]
fn filter_keeps_what_the_predicate_accepts() {
    let out = block_on(
        Readable::from_iter(1..=10)
            .filter(|x| ready(x % 2 == 0))
            .to_array(),
    );
    assert_eq!(out.unwrap(), [2, 4, 6, 8, 10]);
    let out = block_on(
        Readable::from_iter(1..=10)
            .operators(OperatorOptions::new().concurrency(4))
            .filter(|x| later(*x > 7))
            .to_array(),
    );
    assert_eq!(out.unwrap(), [8, 9, 10]);
}

// ports test/parallel/test-stream-filter.js (infinite stream)
#[test]
fn filter_on_an_infinite_stream() {
    let out = block_on(naturals().filter(|x| ready(x % 5 == 0)).take(3).to_array());
    assert_eq!(out.unwrap(), [5, 10, 15]);
}

// ports test/parallel/test-stream-flatMap.js
#[test]
fn flat_map_flattens_in_order() {
    let out = block_on(
        Readable::from_iter([1, 2, 3])
            .flat_map_iter(|x| [x, x, x])
            .to_array(),
    );
    assert_eq!(out.unwrap(), [1, 1, 1, 2, 2, 2, 3, 3, 3]);
    let out = block_on(
        Readable::from_iter([1, 2, 3])
            .operators(OperatorOptions::new().concurrency(2))
            .flat_map(|x| futures::stream::iter([x, x * 10]).then(later))
            .to_array(),
    );
    assert_eq!(out.unwrap(), [1, 10, 2, 20, 3, 30]);
}

// ports test/parallel/test-stream-flatMap.js (empty results)
#[test]
fn flat_map_with_empty_streams() {
    let out = block_on(
        Readable::from_iter([1, 2, 3])
            .flat_map_iter(|x| if x == 2 { vec![] } else { vec![x] })
            .to_array(),
    );
    assert_eq!(out.unwrap(), [1, 3]);
}

// ports test/parallel/test-stream-forEach.js
#[test]
fn for_each_visits_every_chunk_and_waits_for_its_calls() {
    let seen = Collected::new();
    let s = seen.clone();
    block_on(Readable::from_iter(1..=5).for_each(move |x| {
        let s = s.clone();
        async move {
            later(()).await;
            s.push(x);
        }
    }))
    .unwrap();
    assert_eq!(seen.get(), [1, 2, 3, 4, 5]);
}

// ports test/parallel/test-stream-forEach.js (concurrency)
#[test]
fn for_each_with_concurrency_visits_everything() {
    let sum = Arc::new(AtomicUsize::new(0));
    let s = sum.clone();
    block_on(
        Readable::from_iter(1..=100usize)
            .operators(OperatorOptions::new().concurrency(7))
            .for_each(move |x| {
                let s = s.clone();
                async move {
                    later(()).await;
                    s.fetch_add(x, Ordering::SeqCst);
                }
            }),
    )
    .unwrap();
    assert_eq!(sum.load(Ordering::SeqCst), 5050);
}

// ports test/parallel/test-stream-forEach.js (source error)
#[test]
fn for_each_rejects_with_the_source_error() {
    let src = Readable::from_try_stream(futures::stream::iter([Ok(1), Err(Error::user("boom"))]));
    let err = block_on(src.for_each(|_| ready(()))).unwrap_err();
    assert_eq!(err.message(), "boom");
}

// ports test/parallel/test-stream-forEach.js (signal)
#[test]
fn for_each_with_an_aborted_signal_is_an_abort_error() {
    let ac = AbortController::new();
    ac.abort(None);
    let src = Readable::from_iter([1, 2, 3]);
    let err = block_on(
        src.operators(OperatorOptions::new().signal(ac.signal()))
            .for_each(|_| ready(())),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Abort);
}

// ports test/parallel/test-stream-drop-take.js (synchronous streams)
#[test]
fn take_and_skip_on_finite_streams() {
    let from = |v: Vec<u32>| Readable::from_iter(v);
    assert_eq!(block_on(from(vec![1, 2, 3]).skip(2).to_array()).unwrap(), [3]);
    assert_eq!(block_on(from(vec![1, 2, 3]).take(1).to_array()).unwrap(), [1]);
    assert!(block_on(from(vec![]).skip(2).to_array()).unwrap().is_empty());
    assert!(block_on(from(vec![]).take(1).to_array()).unwrap().is_empty());
    assert_eq!(
        block_on(from(vec![1, 2, 3]).skip(1).take(1).to_array()).unwrap(),
        [2]
    );
    assert_eq!(block_on(from(vec![1, 2]).skip(0).to_array()).unwrap(), [1, 2]);
    assert!(block_on(from(vec![1, 2]).take(0).to_array()).unwrap().is_empty());
}

// ports test/parallel/test-stream-drop-take.js (asynchronous streams)
#[test]
fn take_and_skip_on_asynchronous_streams() {
    let from = |v: Vec<u32>| Readable::from_iter(v).map(later);
    assert_eq!(block_on(from(vec![1, 2, 3]).skip(2).to_array()).unwrap(), [3]);
    assert_eq!(block_on(from(vec![1, 2, 3]).take(1).to_array()).unwrap(), [1]);
    assert!(block_on(from(vec![]).skip(2).to_array()).unwrap().is_empty());
    assert_eq!(
        block_on(from(vec![1, 2, 3]).skip(1).take(1).to_array()).unwrap(),
        [2]
    );
    assert!(block_on(from(vec![1, 2]).take(0).to_array()).unwrap().is_empty());
}

// ports test/parallel/test-stream-drop-take.js (infinite streams)
#[test]
fn take_and_skip_on_infinite_streams() {
    assert_eq!(block_on(naturals().take(1).to_array()).unwrap(), [1]);
    assert_eq!(block_on(naturals().skip(1).take(1).to_array()).unwrap(), [2]);
    assert_eq!(
        block_on(naturals().skip(10).take(10).to_array()).unwrap(),
        (11..=20).collect::<Vec<_>>()
    );
    assert_eq!(block_on(naturals().take(5).take(1).to_array()).unwrap(), [1]);
}

// ports test/parallel/test-stream-drop-take.js (take destroys the source)
#[test]
fn take_destroys_the_source_once_it_has_enough() {
    let src = naturals();
    let closed = MustCall::new(1);
    src.on(ev::Close, closed.hit());
    assert_eq!(block_on(src.take(3).to_array()).unwrap(), [1, 2, 3]);
    block_on(src.event_loop().idle());
    assert!(src.destroyed());
}

// ports test/parallel/test-stream-drop-take.js (AbortSignal)
#[test]
fn take_and_skip_with_a_signal_fail_with_abort_error() {
    let ac = AbortController::new();
    let take = Readable::from_iter([1, 2, 3])
        .operators(OperatorOptions::new().signal(ac.signal()))
        .take(1);
    let skip = Readable::from_iter([1, 2, 3])
        .operators(OperatorOptions::new().signal(ac.signal()))
        .skip(1);
    ac.abort(None);
    assert_eq!(block_on(take.to_array()).unwrap_err().code(), ErrorCode::Abort);
    assert_eq!(block_on(skip.to_array()).unwrap_err().code(), ErrorCode::Abort);
    // Already aborted.
    let take = Readable::from_iter([1, 2, 3])
        .operators(OperatorOptions::new().signal(ac.signal()))
        .take(1);
    assert_eq!(block_on(take.to_array()).unwrap_err().code(), ErrorCode::Abort);
}

// ports test/parallel/test-stream-reduce.js
#[test]
fn reduce_and_fold() {
    let sum = block_on(Readable::from_iter(1..=4).reduce(|a, b| ready(a + b))).unwrap();
    assert_eq!(sum, 10);
    let sum = block_on(Readable::from_iter(1..=4).fold(10, |a, b| later(a + b))).unwrap();
    assert_eq!(sum, 20);
    let joined = block_on(Readable::from_iter(["a", "b", "c"]).fold(
        String::new(),
        |mut acc, s| async move {
            acc.push_str(s);
            acc
        },
    ))
    .unwrap();
    assert_eq!(joined, "abc");
}

// ports test/parallel/test-stream-reduce.js (empty stream without an initial value)
#[test]
fn reduce_of_an_empty_stream_without_initial_value_is_missing_args() {
    let err = block_on(Readable::from_iter(Vec::<u32>::new()).reduce(|a, b| ready(a + b))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MissingArgs);
    assert_eq!(
        err.message(),
        "Reduce of an empty stream requires an initial value"
    );
    let init = block_on(Readable::from_iter(Vec::<u32>::new()).fold(7, |a, b| ready(a + b))).unwrap();
    assert_eq!(init, 7);
}

// ports test/parallel/test-stream-reduce.js (error in the source)
#[test]
fn reduce_rejects_with_the_source_error() {
    let src = Readable::from_try_stream(futures::stream::iter([Ok(1), Ok(2), Err(Error::user("boom"))]));
    let err = block_on(src.reduce(|a, b| ready(a + b))).unwrap_err();
    assert_eq!(err.message(), "boom");
}

// ports test/parallel/test-stream-reduce.js (signal)
#[test]
fn reduce_with_an_aborted_signal_destroys_the_stream() {
    let ac = AbortController::new();
    ac.abort(None);
    let src = Readable::from_iter([1, 2, 3]);
    let err = block_on(
        src.operators(OperatorOptions::new().signal(ac.signal()))
            .reduce(|a, b| ready(a + b)),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Abort);
    block_on(src.event_loop().idle());
    assert!(src.destroyed());
}

// ports test/parallel/test-stream-toArray.js
#[test]
fn to_array_collects_everything() {
    assert_eq!(
        block_on(Readable::from_iter(1..=3).to_array()).unwrap(),
        [1, 2, 3]
    );
    let big: Vec<u32> = (0..1000).collect();
    assert_eq!(
        block_on(Readable::from_iter(big.clone()).to_array()).unwrap(),
        big
    );
    assert!(block_on(Readable::from_iter(Vec::<u8>::new()).to_array())
        .unwrap()
        .is_empty());
}

// ports test/parallel/test-stream-toArray.js (error)
#[test]
fn to_array_rejects_with_the_stream_error() {
    let src = Readable::from_try_stream(futures::stream::iter([Ok(1), Err(Error::user("nope"))]));
    assert_eq!(block_on(src.to_array()).unwrap_err().message(), "nope");
}

// ports test/parallel/test-stream-toArray.js (signal)
#[test]
fn to_array_with_an_aborted_signal_is_an_abort_error() {
    let ac = AbortController::new();
    ac.abort(None);
    let src = Readable::from_iter([1, 2, 3]);
    let err = block_on(
        src.operators(OperatorOptions::new().signal(ac.signal()))
            .to_array(),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Abort);
}

// ports test/parallel/test-stream-some-find-every.mjs
#[test]
fn some_every_and_find() {
    let from = || Readable::from_iter(1..=5u32);
    assert!(block_on(from().some(|x| ready(*x > 3))).unwrap());
    assert!(!block_on(from().some(|x| ready(*x > 10))).unwrap());
    assert!(block_on(from().every(|x| ready(*x > 0))).unwrap());
    assert!(!block_on(from().every(|x| ready(*x < 5))).unwrap());
    assert_eq!(block_on(from().find(|x| ready(*x > 2))).unwrap(), Some(3));
    assert_eq!(block_on(from().find(|x| ready(*x > 9))).unwrap(), None);
    assert!(!block_on(Readable::from_iter(Vec::<u32>::new()).some(|_| ready(true))).unwrap());
    assert!(block_on(Readable::from_iter(Vec::<u32>::new()).every(|_| ready(false))).unwrap());
}

// ports test/parallel/test-stream-some-find-every.mjs (concurrency, infinite stream)
#[test]
fn some_and_find_stop_an_infinite_stream() {
    let src = naturals();
    assert!(block_on(
        src.operators(OperatorOptions::new().concurrency(4))
            .some(|x| later(*x == 10))
    )
    .unwrap());
    block_on(src.event_loop().idle());
    assert!(
        src.destroyed(),
        "some() destroys the source once it has its answer"
    );
    assert_eq!(block_on(naturals().find(|x| later(x % 7 == 0))).unwrap(), Some(7));
}

// ports test/parallel/test-stream-some-find-every.mjs (error)
#[test]
fn some_rejects_with_the_source_error() {
    let src = Readable::from_try_stream(futures::stream::iter([Ok(1u32), Err(Error::user("bad"))]));
    assert_eq!(
        block_on(src.some(|x| ready(*x > 5))).unwrap_err().message(),
        "bad"
    );
}

// ports test/parallel/test-stream-some-find-every.mjs (signal)
#[test]
fn every_with_an_aborted_signal_is_an_abort_error() {
    let ac = AbortController::new();
    ac.abort(None);
    let err = block_on(
        Readable::from_iter([1, 2])
            .operators(OperatorOptions::new().signal(ac.signal()))
            .every(|_| ready(true)),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Abort);
}

// ports test/parallel/test-stream-map.js (operators on a multi-thread runtime)
#[test]
fn operators_on_a_multi_thread_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..8u64)
            .map(|k| {
                tokio::spawn(async move {
                    Readable::from_iter(0..1000u64)
                        .operators(OperatorOptions::new().concurrency(4))
                        .map(move |x| async move {
                            tokio::task::yield_now().await;
                            x * k
                        })
                        .fold(0u64, |a, b| ready(a + b))
                        .await
                        .unwrap()
                })
            })
            .collect();
        for (k, t) in tasks.into_iter().enumerate() {
            let got = tokio::time::timeout(std::time::Duration::from_secs(30), t)
                .await
                .expect("deadline")
                .unwrap();
            assert_eq!(got, 499_500 * k as u64);
        }
    });
}
