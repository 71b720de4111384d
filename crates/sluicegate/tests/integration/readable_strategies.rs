//! Readable streams under queuing strategies: WPT `streams/readable-streams/bad-strategies.any.js`,
//! `count-queuing-strategy-integration.any.js` and `floating-point-total-queue-size.any.js`, ported
//! to the native API.

use crate::common;

use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::{
    ByteLengthQueuingStrategy, CountQueuingStrategy, ErrorKind, QueuingStrategy, ReadableStreamDefaultReader,
    StreamError,
};

use common::{assert_rejects_kind, assert_rejects_with, assert_same, flush, Calls, Controller, Slot};

// ---------------------------------------------------------------------------------------------
// bad-strategies.any.js

#[test]
fn size_that_errors_the_stream_and_then_fails() {
    common::run(async {
        let controller_error = StreamError::user("controller error");
        let thrown_error = StreamError::user("thrown error");
        let slot: Slot<Controller<&str>> = Slot::new();
        let (s, s2, ce, te) = (
            slot.clone(),
            slot.clone(),
            controller_error.clone(),
            thrown_error.clone(),
        );
        let rs = ReadableStream::with_strategy(
            SourceFn::new().start(move |c: &Controller<&str>| s.set(c.clone())),
            QueuingStrategy::with_fallible_size(Some(5.0), move |_: &&str| {
                s2.get().error(ce.clone());
                Err(te.clone())
            }),
        )
        .unwrap();
        let controller = slot.get();
        assert_rejects_with(controller.enqueue("a"), &thrown_error);
        let reader = rs.get_reader().unwrap();
        assert_rejects_with(reader.closed().await, &controller_error);
    });
}

#[test]
fn size_that_errors_the_stream_and_then_returns_infinity() {
    common::run(async {
        let the_error = StreamError::user("my error");
        let slot: Slot<Controller<&str>> = Slot::new();
        let (s, e, s2) = (slot.clone(), the_error.clone(), slot.clone());
        let rs = ReadableStream::with_strategy(
            SourceFn::new().start(move |c: &Controller<&str>| s.set(c.clone())),
            QueuingStrategy::with_size(5.0, move |_: &&str| {
                s2.get().error(e.clone());
                f64::INFINITY
            }),
        )
        .unwrap();
        let controller = slot.get();
        assert_rejects_kind(controller.enqueue("a"), ErrorKind::Range);
        let reader = rs.get_reader().unwrap();
        assert_rejects_with(reader.closed().await, &the_error);
    });
}

#[test]
fn failing_size_makes_enqueue_fail_and_errors_the_stream() {
    common::run(async {
        let the_error = StreamError::user("a unique string");
        let (e1, e2) = (the_error.clone(), the_error.clone());
        let checked = Calls::new();
        let ch = checked.clone();
        let rs = ReadableStream::with_strategy(
            SourceFn::new().start(move |c: &Controller<&str>| {
                assert_rejects_with(c.enqueue("a"), &e1);
                ch.hit();
            }),
            QueuingStrategy::with_fallible_size(Some(5.0), move |_: &&str| Err(e2.clone())),
        )
        .unwrap();
        checked.assert_exactly(1);
        let reader = rs.get_reader().unwrap();
        assert_rejects_with(reader.closed().await, &the_error);
    });
}

#[test]
fn panicking_size_makes_enqueue_fail_and_errors_the_stream() {
    common::run(async {
        let (rs, controller) =
            common::controlled_stream::<&str>(QueuingStrategy::with_size(5.0, |_: &&str| -> f64 {
                panic!("size exploded")
            }));
        let e = controller.enqueue("a").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "size exploded");
        assert_eq!(controller.desired_size(), None);
        let reader = rs.get_reader().unwrap();
        assert_rejects_with(reader.closed().await, &e);
        assert_rejects_with(reader.read().await, &e);
    });
}

#[test]
fn invalid_high_water_marks_are_range_errors() {
    for hwm in [-1.0, f64::NEG_INFINITY, f64::NAN] {
        let started = Calls::new();
        let s = started.clone();
        let e = ReadableStream::<&str>::with_strategy(
            SourceFn::new().start(move |_| s.hit()),
            QueuingStrategy::with_size(hwm, |_: &&str| 1.0),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Range, "high-water mark {hwm}");
        started.assert_exactly(0);
    }
}

#[test]
fn valid_edge_high_water_marks_are_accepted() {
    for (hwm, expected) in [
        (0.0, 0.0),
        (-0.0, 0.0),
        (f64::INFINITY, f64::INFINITY),
        (0.5, 0.5),
    ] {
        let (_rs, c) = common::controlled_stream::<u32>(QueuingStrategy::count(hwm));
        assert_eq!(c.desired_size(), Some(expected), "high-water mark {hwm}");
    }
}

#[test]
fn invalid_size_results_are_range_errors_in_start() {
    common::run(async {
        for size in [f64::NAN, f64::NEG_INFINITY, f64::INFINITY, -1.0] {
            let the_error: Slot<StreamError> = Slot::new();
            let te = the_error.clone();
            let rs = ReadableStream::with_strategy(
                SourceFn::new().start(move |c: &Controller<&str>| {
                    let e = c.enqueue("hi").expect_err("enqueue must fail");
                    assert_eq!(e.kind(), ErrorKind::Range, "size {size}");
                    te.set(e);
                }),
                QueuingStrategy::with_size(5.0, move |_: &&str| size),
            )
            .unwrap();
            let reader = rs.get_reader().unwrap();
            assert_rejects_with(reader.closed().await, &the_error.get());
        }
    });
}

#[test]
fn invalid_size_results_are_range_errors_when_pulling() {
    common::run(async {
        for size in [f64::NAN, f64::NEG_INFINITY, f64::INFINITY, -1.0] {
            let the_error: Slot<StreamError> = Slot::new();
            let te = the_error.clone();
            let rs = ReadableStream::with_strategy(
                SourceFn::new().pull(move |c: &Controller<&str>| {
                    let e = c.enqueue("hi").expect_err("enqueue must fail");
                    assert_eq!(e.kind(), ErrorKind::Range, "size {size}");
                    te.set(e);
                }),
                QueuingStrategy::with_size(5.0, move |_: &&str| size),
            )
            .unwrap();
            let reader = rs.get_reader().unwrap();
            assert_rejects_with(reader.closed().await, &the_error.get());
        }
    });
}

#[test]
fn zero_size_chunks_are_accepted_and_do_not_use_up_the_high_water_mark() {
    common::run(async {
        let (rs, controller) =
            common::controlled_stream::<&str>(QueuingStrategy::with_size(1.0, |_: &&str| 0.0));
        controller.enqueue("a").unwrap();
        controller.enqueue("b").unwrap();
        assert_eq!(controller.desired_size(), Some(1.0));
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        assert_eq!(reader.read().await.unwrap(), Some("b"));
    });
}

// ---------------------------------------------------------------------------------------------
// count-queuing-strategy-integration.any.js

#[test]
fn can_construct_a_readable_stream_with_a_valid_count_queuing_strategy() {
    let rs = ReadableStream::<u32>::with_strategy(SourceFn::new(), CountQueuingStrategy::new(4.0)).unwrap();
    assert!(rs.is_readable());
    let (_rs, c) = common::controlled_stream::<u32>(CountQueuingStrategy::new(4.0).into());
    assert_eq!(c.desired_size(), Some(4.0));
}

/// Reads one chunk and checks it.
async fn expect_read(reader: &ReadableStreamDefaultReader<&'static str>, chunk: &'static str) {
    assert_eq!(reader.read().await.unwrap(), Some(chunk));
}

#[test]
fn count_strategy_governs_desired_size_hwm_0() {
    common::run(async {
        let (rs, c) = common::controlled_stream::<&str>(CountQueuingStrategy::new(0.0).into());
        let reader = rs.get_reader().unwrap();
        assert_eq!(c.desired_size(), Some(0.0), "0 reads, 0 enqueues");
        c.enqueue("a").unwrap();
        assert_eq!(c.desired_size(), Some(-1.0), "0 reads, 1 enqueue");
        c.enqueue("b").unwrap();
        assert_eq!(c.desired_size(), Some(-2.0), "0 reads, 2 enqueues");
        c.enqueue("c").unwrap();
        assert_eq!(c.desired_size(), Some(-3.0), "0 reads, 3 enqueues");
        c.enqueue("d").unwrap();
        assert_eq!(c.desired_size(), Some(-4.0), "0 reads, 4 enqueues");
        expect_read(&reader, "a").await;
        expect_read(&reader, "b").await;
        expect_read(&reader, "c").await;
        assert_eq!(c.desired_size(), Some(-1.0), "3 reads, 4 enqueues");
        c.enqueue("e").unwrap();
        assert_eq!(c.desired_size(), Some(-2.0), "3 reads, 5 enqueues");
        expect_read(&reader, "d").await;
        expect_read(&reader, "e").await;
        assert_eq!(c.desired_size(), Some(0.0), "5 reads, 5 enqueues");
        c.enqueue("f").unwrap();
        assert_eq!(c.desired_size(), Some(-1.0), "5 reads, 6 enqueues");
        c.enqueue("g").unwrap();
        assert_eq!(c.desired_size(), Some(-2.0), "5 reads, 7 enqueues");
    });
}

#[test]
fn count_strategy_governs_desired_size_hwm_1() {
    common::run(async {
        let (rs, c) = common::controlled_stream::<&str>(CountQueuingStrategy::new(1.0).into());
        let reader = rs.get_reader().unwrap();
        assert_eq!(c.desired_size(), Some(1.0), "0 reads, 0 enqueues");
        c.enqueue("a").unwrap();
        assert_eq!(c.desired_size(), Some(0.0), "0 reads, 1 enqueue");
        c.enqueue("b").unwrap();
        assert_eq!(c.desired_size(), Some(-1.0), "0 reads, 2 enqueues");
        c.enqueue("c").unwrap();
        assert_eq!(c.desired_size(), Some(-2.0), "0 reads, 3 enqueues");
        c.enqueue("d").unwrap();
        assert_eq!(c.desired_size(), Some(-3.0), "0 reads, 4 enqueues");
        expect_read(&reader, "a").await;
        expect_read(&reader, "b").await;
        expect_read(&reader, "c").await;
        assert_eq!(c.desired_size(), Some(0.0), "3 reads, 4 enqueues");
        c.enqueue("e").unwrap();
        assert_eq!(c.desired_size(), Some(-1.0), "3 reads, 5 enqueues");
        expect_read(&reader, "d").await;
        expect_read(&reader, "e").await;
        assert_eq!(c.desired_size(), Some(1.0), "5 reads, 5 enqueues");
        c.enqueue("f").unwrap();
        assert_eq!(c.desired_size(), Some(0.0), "5 reads, 6 enqueues");
        c.enqueue("g").unwrap();
        assert_eq!(c.desired_size(), Some(-1.0), "5 reads, 7 enqueues");
    });
}

#[test]
fn count_strategy_governs_desired_size_hwm_4() {
    common::run(async {
        let (rs, c) = common::controlled_stream::<&str>(CountQueuingStrategy::new(4.0).into());
        let reader = rs.get_reader().unwrap();
        assert_eq!(c.desired_size(), Some(4.0), "0 reads, 0 enqueues");
        for (chunk, expected) in [
            ("a", 3.0),
            ("b", 2.0),
            ("c", 1.0),
            ("d", 0.0),
            ("e", -1.0),
            ("f", -2.0),
        ] {
            c.enqueue(chunk).unwrap();
            assert_eq!(c.desired_size(), Some(expected), "after enqueueing {chunk}");
        }
        expect_read(&reader, "a").await;
        expect_read(&reader, "b").await;
        assert_eq!(c.desired_size(), Some(0.0), "2 reads, 6 enqueues");
        c.enqueue("g").unwrap();
        assert_eq!(c.desired_size(), Some(-1.0), "2 reads, 7 enqueues");
        for chunk in ["c", "d", "e", "f"] {
            expect_read(&reader, chunk).await;
        }
        assert_eq!(c.desired_size(), Some(3.0), "6 reads, 7 enqueues");
        for (chunk, expected) in [("h", 2.0), ("i", 1.0), ("j", 0.0), ("k", -1.0)] {
            c.enqueue(chunk).unwrap();
            assert_eq!(c.desired_size(), Some(expected), "after enqueueing {chunk}");
        }
    });
}

#[test]
fn count_strategy_hwm_0_pulls_only_when_a_read_is_waiting() {
    common::run(async {
        let rec = common::recording_stream::<u32>(
            CountQueuingStrategy::new(0.0).into(),
            |_| {},
            |c| c.enqueue(7).unwrap(),
        );
        flush(rec.stream.host());
        rec.log.assert(&[]);
        let reader = rec.stream.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some(7));
        rec.log.assert(&["pull"]);
        flush(rec.stream.host());
        rec.log.assert(&["pull"]);
    });
}

#[test]
fn byte_length_strategy_counts_bytes() {
    common::run(async {
        let (rs, c) = common::controlled_stream::<Vec<u8>>(ByteLengthQueuingStrategy::new(16.0).into());
        assert_eq!(c.desired_size(), Some(16.0));
        c.enqueue(vec![0; 10]).unwrap();
        assert_eq!(c.desired_size(), Some(6.0));
        c.enqueue(vec![0; 10]).unwrap();
        assert_eq!(c.desired_size(), Some(-4.0));
        c.enqueue(Vec::new()).unwrap();
        assert_eq!(c.desired_size(), Some(-4.0));
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().map(|v| v.len()), Some(10));
        assert_eq!(c.desired_size(), Some(6.0));
    });
}

// ---------------------------------------------------------------------------------------------
// floating-point-total-queue-size.any.js

/// The WPT `setupTestStream`: chunks are numbers measuring themselves, high-water mark 0.
fn setup_test_stream() -> (
    ReadableStreamDefaultReader<f64>,
    Controller<f64>,
    ReadableStream<f64>,
) {
    let (rs, controller) = common::controlled_stream::<f64>(QueuingStrategy::with_size(0.0, |x: &f64| *x));
    (rs.get_reader().unwrap(), controller, rs)
}

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

#[test]
fn floating_point_near_max_safe_integer_total_ends_up_positive() {
    common::run(async {
        let (reader, c, _rs) = setup_test_stream();
        c.enqueue(2.0).unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 2.0));
        c.enqueue(MAX_SAFE_INTEGER).unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - MAX_SAFE_INTEGER - 2.0));
        reader.read().await.unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - MAX_SAFE_INTEGER - 2.0 + 2.0));
        reader.read().await.unwrap();
        assert_eq!(
            c.desired_size(),
            Some(0.0),
            "[[queueTotalSize]] clamps to 0 if it becomes negative"
        );
    });
}

#[test]
fn floating_point_near_0_total_ends_up_positive_but_clamped() {
    common::run(async {
        let (reader, c, _rs) = setup_test_stream();
        c.enqueue(1e-16).unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 1e-16));
        c.enqueue(1.0).unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 1e-16 - 1.0));
        reader.read().await.unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 1e-16 - 1.0 + 1e-16));
        reader.read().await.unwrap();
        assert_eq!(
            c.desired_size(),
            Some(0.0),
            "[[queueTotalSize]] clamps to 0 if it becomes negative"
        );
    });
}

#[test]
fn floating_point_near_0_total_ends_up_positive_and_not_clamped() {
    common::run(async {
        let (reader, c, _rs) = setup_test_stream();
        c.enqueue(1e-16).unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 1e-16));
        c.enqueue(1.0).unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 1e-16 - 1.0));
        c.enqueue(2e-16).unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 1e-16 - 1.0 - 2e-16));
        reader.read().await.unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 1e-16 - 1.0 - 2e-16 + 1e-16));
        reader.read().await.unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 1e-16 - 1.0 - 2e-16 + 1e-16 + 1.0));
        reader.read().await.unwrap();
        assert_eq!(
            c.desired_size(),
            Some(0.0 - 1e-16 - 1.0 - 2e-16 + 1e-16 + 1.0 + 2e-16)
        );
    });
}

#[test]
fn floating_point_near_0_total_ends_up_zero() {
    common::run(async {
        let (reader, c, _rs) = setup_test_stream();
        c.enqueue(2e-16).unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 2e-16));
        c.enqueue(1.0).unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 2e-16 - 1.0));
        reader.read().await.unwrap();
        assert_eq!(c.desired_size(), Some(0.0 - 2e-16 - 1.0 + 2e-16));
        reader.read().await.unwrap();
        assert_eq!(c.desired_size(), Some(0.0));
    });
}

#[test]
fn errors_from_size_keep_their_identity_on_every_waiter() {
    common::run(async {
        let the_error = StreamError::user("size says no");
        let e = the_error.clone();
        let (rs, c) =
            common::controlled_stream::<u32>(QueuingStrategy::with_fallible_size(None, move |_: &u32| {
                Err(e.clone())
            }));
        let reader = rs.get_reader().unwrap();
        let r1 = reader.read();
        // A read is waiting, so the chunk goes straight to it without being measured.
        c.enqueue(1).unwrap();
        assert_eq!(r1.await.unwrap(), Some(1));
        // Now it has to be queued, and measuring it fails.
        assert_rejects_with(c.enqueue(2), &the_error);
        assert_rejects_with(reader.read().await, &the_error);
        assert_rejects_with(reader.closed().await, &the_error);
        assert_same(&rs.stored_error().unwrap(), &the_error);
    });
}
