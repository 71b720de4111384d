//! Ported from WPT `streams/writable-streams/bad-strategies.any.js`,
//! `count-queuing-strategy.any.js`, `byte-length-queuing-strategy.any.js` and
//! `floating-point-total-queue-size.any.js`: high-water mark validation, size functions that fail
//! or return bad numbers, and exact `desired_size` values (f64 arithmetic, negative values, the
//! total clamped at zero).

use crate::common;
use crate::writable_support;

use std::sync::Arc;

use common::Log;
use sluicegate::strategy::{ByteLengthQueuingStrategy, CountQueuingStrategy, QueuingStrategy};
use sluicegate::writable::{SinkFn, WritableStream, WritableStreamDefaultWriter};
use sluicegate::ErrorKind;
use writable_support::*;

/// A stream of `f64` chunks whose size is the chunk itself, high-water mark 0 (as WPT's
/// floating-point tests set up).
fn self_sized() -> (Arc<StepHost>, WritableStreamDefaultWriter<f64>) {
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        SinkFn::new(),
        QueuingStrategy::with_size(0.0, |x: &f64| *x),
        step.host(),
    )
    .unwrap();
    step.run();
    (step, ws.get_writer().unwrap())
}

#[test]
fn invalid_high_water_marks_are_range_errors() {
    for hwm in [-1.0, f64::NEG_INFINITY, f64::NAN] {
        let err =
            WritableStream::with_strategy(SinkFn::<u8>::new(), QueuingStrategy::with_size(hwm, |_| 1.0))
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Range, "high-water mark {hwm}");
        let err =
            WritableStream::with_strategy(SinkFn::<u8>::new(), CountQueuingStrategy::new(hwm)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Range, "count high-water mark {hwm}");
    }
}

#[test]
fn a_throwing_size_function_rejects_the_write_and_errors_the_stream() {
    let e1 = error("a unique string");
    let e = e1.clone();
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        SinkFn::<&str>::new(),
        QueuingStrategy::with_fallible_size(Some(5.0), move |_| Err(e.clone())),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    let write = writer.write("a");
    step.run();
    assert_rejected_with(&write, &e1);
    assert_rejected_with(&writer.closed(), &e1);
}

#[test]
fn invalid_sizes_are_range_errors_that_error_the_stream() {
    for size in [f64::NAN, f64::NEG_INFINITY, f64::INFINITY, -1.0] {
        let step = StepHost::new();
        let ws = WritableStream::with_host(
            SinkFn::<&str>::new(),
            QueuingStrategy::with_size(5.0, move |_| size),
            step.host(),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        let write = writer.write("a");
        step.run();
        let e = assert_rejected_kind(&write, ErrorKind::Range);
        assert_rejected_with(&writer.closed(), &e);
    }
}

#[test]
fn a_panicking_size_function_errors_the_stream() {
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        SinkFn::<&str>::new(),
        QueuingStrategy::with_size(5.0, |_| panic!("size exploded")),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    let write = writer.write("a");
    step.run();
    let e = assert_rejected_kind(&write, ErrorKind::Panic);
    assert_eq!(e.message(), "size exploded");
    assert_rejected_with(&writer.closed(), &e);
}

#[test]
fn a_valid_count_queuing_strategy_is_accepted() {
    let ws = WritableStream::with_strategy(SinkFn::<u8>::new(), CountQueuingStrategy::new(4.0)).unwrap();
    assert_eq!(ws.get_writer().unwrap().desired_size().unwrap(), Some(4.0));
}

#[test]
fn count_strategy_with_high_water_mark_zero_governs_desired_size() {
    let writes = Resolvers::new();
    let w = writes.clone();
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        SinkFn::<&str>::new().write(move |_, _| w.completion()),
        CountQueuingStrategy::new(0.0),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    step.run();
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    let a = writer.write("a");
    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
    let b = writer.write("b");
    assert_eq!(writer.desired_size().unwrap(), Some(-2.0));
    writes.resolve();
    step.run();
    assert_fulfilled(&a);
    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
    writes.resolve();
    step.run();
    assert_fulfilled(&b);
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    let c = writer.write("c");
    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
    writes.resolve();
    step.run();
    assert_fulfilled(&c);
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
}

#[test]
fn count_strategy_with_high_water_mark_four_governs_desired_size() {
    let writes = Resolvers::new();
    let w = writes.clone();
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        SinkFn::<&str>::new().write(move |_, _| w.completion()),
        CountQueuingStrategy::new(4.0),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    step.run();
    assert_eq!(writer.desired_size().unwrap(), Some(4.0));
    let mut pending = Vec::new();
    for (chunk, expected) in [
        ("a", 3.0),
        ("b", 2.0),
        ("c", 1.0),
        ("d", 0.0),
        ("e", -1.0),
        ("f", -2.0),
        ("g", -3.0),
    ] {
        pending.push(writer.write(chunk));
        assert_eq!(
            writer.desired_size().unwrap(),
            Some(expected),
            "after writing {chunk}"
        );
    }
    writes.resolve(); // a
    step.run();
    assert_fulfilled(&pending[0]);
    assert_eq!(writer.desired_size().unwrap(), Some(-2.0));
    writes.resolve(); // b
    step.run();
    assert_fulfilled(&pending[1]);
    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
    writes.resolve(); // c
    step.run();
    assert_fulfilled(&pending[2]);
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    drop(writer.write("h"));
    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
    writes.resolve(); // d
    step.run();
    assert_fulfilled(&pending[3]);
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    drop(writer.write("i"));
    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
}

#[test]
fn byte_length_strategy_counts_bytes() {
    let writes = Resolvers::new();
    let w = writes.clone();
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        SinkFn::<Vec<u8>>::new().write(move |_, _| w.completion()),
        ByteLengthQueuingStrategy::new(1024.0),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    step.run();
    drop(writer.write(vec![0; 1000]));
    assert_eq!(writer.desired_size().unwrap(), Some(24.0));
    assert_fulfilled(&writer.ready());
    drop(writer.write(vec![0; 100]));
    assert_eq!(writer.desired_size().unwrap(), Some(-76.0));
    assert_pending(&writer.ready());
    writes.resolve();
    step.run();
    assert_eq!(writer.desired_size().unwrap(), Some(924.0));
    assert_fulfilled(&writer.ready());
}

#[test]
fn floating_point_totals_near_max_safe_integer_end_positive() {
    let (step, writer) = self_sized();
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    let writes = [writer.write(2.0), writer.write(MAX_SAFE_INTEGER)];
    assert_eq!(writer.desired_size().unwrap(), Some(0.0 - 2.0 - MAX_SAFE_INTEGER));
    step.run();
    for w in &writes {
        assert_fulfilled(w);
    }
    // The total became negative through rounding and was clamped to 0.
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
}

#[test]
fn floating_point_totals_near_zero_are_clamped() {
    let (step, writer) = self_sized();
    let writes = [writer.write(1e-16), writer.write(1.0)];
    assert_eq!(writer.desired_size().unwrap(), Some(0.0 - 1e-16 - 1.0));
    step.run();
    for w in &writes {
        assert_fulfilled(w);
    }
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
}

#[test]
fn floating_point_totals_near_zero_that_end_positive_are_not_clamped() {
    let (step, writer) = self_sized();
    let writes = [writer.write(1e-16), writer.write(1.0), writer.write(2e-16)];
    assert_eq!(writer.desired_size().unwrap(), Some(0.0 - 1e-16 - 1.0 - 2e-16));
    step.run();
    for w in &writes {
        assert_fulfilled(w);
    }
    let expected = 0.0 - 1e-16 - 1.0 - 2e-16 + 1e-16 + 1.0 + 2e-16;
    assert_ne!(expected, 0.0, "the f64 arithmetic leaves a residue");
    assert_eq!(writer.desired_size().unwrap(), Some(expected));
}

#[test]
fn floating_point_totals_near_zero_that_end_at_zero() {
    let (step, writer) = self_sized();
    let writes = [writer.write(2e-16), writer.write(1.0)];
    assert_eq!(writer.desired_size().unwrap(), Some(0.0 - 2e-16 - 1.0));
    step.run();
    for w in &writes {
        assert_fulfilled(w);
    }
    assert_eq!(
        writer.desired_size().unwrap(),
        Some(0.0 - 2e-16 - 1.0 + 2e-16 + 1.0)
    );
}

#[test]
fn zero_sized_chunks_never_apply_backpressure_below_the_mark() {
    let writes = Resolvers::new();
    let w = writes.clone();
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        SinkFn::<&str>::new().write(move |_, _| w.completion()),
        QueuingStrategy::with_size(1.0, |_| 0.0),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    step.run();
    for _ in 0..5 {
        drop(writer.write("x"));
    }
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    assert_fulfilled(&writer.ready());
    assert_eq!(writes.len(), 1);
}

#[test]
fn the_default_high_water_mark_is_one_chunk() {
    let log = Log::new();
    let ws = WritableStream::new(recording::<u8>(&log, SinkFn::new().write(|_, _| never()))).unwrap();
    let writer = ws.get_writer().unwrap();
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    drop(writer.write(1));
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    drop(writer.write(2));
    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
}
