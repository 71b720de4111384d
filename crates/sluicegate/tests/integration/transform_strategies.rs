//! Ported from WPT `streams/transform-streams/strategies.any.js`: the writable and readable
//! strategies reach the right sides, their defaults (1 and 0), invalid high-water marks, and bad
//! readable size functions. (Converting a high-water mark from an object is JavaScript-only.)

use crate::common;
use crate::transform_support;

use std::sync::{Arc, Mutex};

use common::{flush, run, Log};
use sluicegate::host::HostRef;
use sluicegate::transform::{IdentityTransformer, TransformStream, TransformerFn};
use sluicegate::{ByteLengthQueuingStrategy, Completion, ErrorKind, QueuingStrategy, StreamError};
use transform_support::*;

#[test]
fn the_writable_strategy_high_water_mark_is_used() {
    let ts = TransformStream::<u32, u32>::with_strategies(IdentityTransformer, hwm(17.0), default()).unwrap();
    assert_eq!(
        ts.writable().get_writer().unwrap().desired_size().unwrap(),
        Some(17.0)
    );
}

#[test]
fn the_readable_strategy_high_water_mark_is_used() {
    run(async {
        let host: HostRef = common::host();
        let (ts, c, log) = recording::<u32>(|r| r, default(), hwm(9.0), &host);
        let writer = ts.writable().get_writer().unwrap();
        let writes: Vec<_> = (0..10).map(|i| writer.write(i)).collect();
        flush(&host);
        let expected: Vec<String> = (0..9).map(|i| format!("transform {i}")).collect();
        assert_eq!(log.entries(), expected, "transform() ran 9 times");
        assert_eq!(c.desired_size(), Some(0.0));
        assert_eq!(writes.iter().filter(|w| settled(w)).count(), 9);
    });
}

#[test]
fn each_side_uses_its_own_size_function() {
    run(async {
        let log = Log::new();
        let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
        let ts = TransformStream::with_strategies(
            TransformerFn::new(move |chunk: u32, c: &Controller<u32>| {
                l1.push("transform");
                c.enqueue(chunk)?;
                l2.push("enqueued");
                Ok(())
            }),
            QueuingStrategy::with_size(1.0, move |_: &u32| {
                l3.push("writable size");
                1.0
            }),
            QueuingStrategy::with_size(f64::INFINITY, move |_: &u32| {
                l4.push("readable size");
                1.0
            }),
        )
        .unwrap();
        ts.writable().get_writer().unwrap().write(7).await.unwrap();
        log.assert(&["writable size", "transform", "readable size", "enqueued"]);
    });
}

#[test]
fn the_default_writable_strategy_has_a_high_water_mark_of_one() {
    let ts = TransformStream::<u32, u32>::identity();
    let writer = ts.writable().get_writer().unwrap();
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    drop(writer.write(0));
    assert_eq!(writer.desired_size().unwrap(), Some(0.0), "a chunk counts 1");
}

#[test]
fn the_default_readable_strategy_has_a_high_water_mark_of_zero() {
    run(async {
        let sizes: Arc<Mutex<Vec<Option<f64>>>> = Arc::default();
        let s = sizes.clone();
        let ts = TransformStream::new(TransformerFn::new(move |_: u32, c: &Controller<u32>| {
            s.lock().unwrap().push(c.desired_size());
            c.enqueue(1)?;
            // The first chunk went to the pending read.
            s.lock().unwrap().push(c.desired_size());
            c.enqueue(2)?;
            s.lock().unwrap().push(c.desired_size());
            Ok(())
        }))
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let write = writer.write(0);
        assert_eq!(reader.read().await.unwrap(), Some(1));
        write.await.unwrap();
        assert_eq!(*sizes.lock().unwrap(), [Some(0.0), Some(0.0), Some(-1.0)]);
    });
}

#[test]
fn an_invalid_high_water_mark_is_a_range_error() {
    for bad in [-1.0, f64::NAN] {
        let w = TransformStream::<u32, u32>::with_strategies(IdentityTransformer, hwm(bad), default());
        assert_kind(w.map(|_| ()), ErrorKind::Range);
        let r = TransformStream::<u32, u32>::with_strategies(IdentityTransformer, default(), hwm(bad));
        assert_kind(r.map(|_| ()), ErrorKind::Range);
    }
    // Infinity and 0 are fine on both sides.
    for good in [0.0, f64::INFINITY] {
        assert!(
            TransformStream::<u32, u32>::with_strategies(IdentityTransformer, hwm(good), hwm(good)).is_ok()
        );
    }
}

#[test]
fn a_bad_readable_size_rejects_the_write_on_an_identity_transform() {
    run(async {
        let ts = TransformStream::<u32, u32>::with_strategies(
            IdentityTransformer,
            default(),
            QueuingStrategy::with_size(1.0, |_: &u32| f64::NAN),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        assert_kind(writer.write(0).await, ErrorKind::Range);
    });
}

#[test]
fn a_bad_readable_size_errors_the_stream_even_when_transform_handles_the_error() {
    run(async {
        let caught: Slot<StreamError> = slot();
        let c = caught.clone();
        let ts = TransformStream::with_strategies(
            TransformerFn::new(move |chunk: u32, ctl: &Controller<u32>| {
                // The transformer swallows the failure: transform() itself succeeds.
                *c.lock().unwrap() = Some(ctl.enqueue(chunk).unwrap_err());
                Completion::ok()
            }),
            default(),
            QueuingStrategy::with_size(1.0, |_: &u32| -1.0),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        writer.write(0).await.unwrap();
        let e = get(&caught, "enqueue error");
        assert_eq!(e.kind(), ErrorKind::Range);
        assert_same_err(writer.ready().await, &e);
        assert_same_err(writer.closed().await, &e);
        assert_same_err(ts.readable().get_reader().unwrap().closed().await, &e);
    });
}

#[test]
fn byte_length_strategies_count_bytes_on_both_sides() {
    run(async {
        let host: HostRef = common::host();
        let ts = TransformStream::<Vec<u8>, Vec<u8>>::with_host(
            IdentityTransformer,
            ByteLengthQueuingStrategy::new(8.0),
            ByteLengthQueuingStrategy::new(5.0),
            host.clone(),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        assert_eq!(writer.desired_size().unwrap(), Some(8.0));
        flush(&host);
        let _a = writer.write(vec![0; 3]);
        flush(&host);
        // 3 bytes moved on to the readable side; the writable queue is empty again.
        assert_eq!(writer.desired_size().unwrap(), Some(8.0));
        let _b = writer.write(vec![0; 4]);
        flush(&host);
        // The readable side holds 7 bytes against 5: the next write waits.
        let _c = writer.write(vec![0; 6]);
        flush(&host);
        assert_eq!(
            writer.desired_size().unwrap(),
            Some(2.0),
            "6 bytes wait on the writable side"
        );
        let reader = ts.readable().get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().map(|v| v.len()), Some(3));
        assert_eq!(reader.read().await.unwrap().map(|v| v.len()), Some(4));
        assert_eq!(reader.read().await.unwrap().map(|v| v.len()), Some(6));
        flush(&host);
        assert_eq!(writer.desired_size().unwrap(), Some(8.0));
    });
}
