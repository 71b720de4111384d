//! The behaviour of WPT `streams/queuing-strategies.any.js` that Rust's types can express:
//! `CountQueuingStrategy`, `ByteLengthQueuingStrategy`, and high-water-mark validation.

use crate::common;

use std::sync::Arc;

use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::strategy::{extract_high_water_mark, ByteLength};
use sluicegate::{ByteLengthQueuingStrategy, CountQueuingStrategy, ErrorKind, QueuingStrategy, StreamError};

#[test]
fn count_strategy_can_be_constructed_with_a_valid_high_water_mark() {
    let s = CountQueuingStrategy::new(4.0);
    assert_eq!(s.high_water_mark(), 4.0);
}

#[test]
fn byte_length_strategy_can_be_constructed_with_a_valid_high_water_mark() {
    let s = ByteLengthQueuingStrategy::new(4.0);
    assert_eq!(s.high_water_mark(), 4.0);
}

#[test]
fn count_strategy_keeps_its_high_water_mark_as_given() {
    // The constructor converts per the unrestricted double rules and does not validate: a stream
    // does, when it uses the strategy.
    assert_eq!(
        CountQueuingStrategy::new(f64::NEG_INFINITY).high_water_mark(),
        f64::NEG_INFINITY
    );
    assert_eq!(CountQueuingStrategy::new(-5.0).high_water_mark(), -5.0);
    assert_eq!(CountQueuingStrategy::new(0.0).high_water_mark(), 0.0);
    assert_eq!(CountQueuingStrategy::new(1.0).high_water_mark(), 1.0);
    assert!(CountQueuingStrategy::new(f64::NAN).high_water_mark().is_nan());
}

#[test]
fn byte_length_strategy_keeps_its_high_water_mark_as_given() {
    assert_eq!(
        ByteLengthQueuingStrategy::new(f64::NEG_INFINITY).high_water_mark(),
        f64::NEG_INFINITY
    );
    assert_eq!(ByteLengthQueuingStrategy::new(-5.0).high_water_mark(), -5.0);
    assert_eq!(ByteLengthQueuingStrategy::new(0.0).high_water_mark(), 0.0);
    assert_eq!(ByteLengthQueuingStrategy::new(1.0).high_water_mark(), 1.0);
    assert!(ByteLengthQueuingStrategy::new(f64::NAN)
        .high_water_mark()
        .is_nan());
}

#[test]
fn count_strategy_size_is_1_for_any_chunk() {
    let s = CountQueuingStrategy::new(5.0);
    assert_eq!(s.size(&()), 1.0);
    assert_eq!(s.size("potato"), 1.0);
    assert_eq!(s.size(&Vec::<u8>::new()), 1.0);
    assert_eq!(s.size(&vec![0u8; 1024]), 1.0);
    assert_eq!(s.size(&Some(3)), 1.0);
}

#[test]
fn byte_length_strategy_size_is_the_byte_length() {
    let s = ByteLengthQueuingStrategy::new(5.0);
    assert_eq!(s.size(&vec![0u8; 1024]), 1024.0);
    assert_eq!(s.size(&[0u8; 7][..]), 7.0);
    assert_eq!(s.size(&[0u8; 3]), 3.0);
    assert_eq!(s.size("potato"), 6.0);
    assert_eq!(s.size(&String::from("héllo")), 6.0); // bytes, not characters
    assert_eq!(s.size(&Box::new(vec![1u8, 2])), 2.0);
    assert_eq!(s.size(&Arc::new(vec![1u8, 2, 3])), 3.0);
    assert_eq!(s.size(&Vec::<u8>::new()), 0.0);
}

#[test]
fn byte_length_strategy_accepts_custom_byte_length_types() {
    struct Packet(usize);
    impl ByteLength for Packet {
        fn byte_length(&self) -> usize {
            self.0
        }
    }
    let s = ByteLengthQueuingStrategy::new(5.0);
    assert_eq!(s.size(&Packet(1024)), 1024.0);
    let q: QueuingStrategy<Packet> = s.into();
    assert_eq!(q.size_of(&Packet(17)).unwrap(), 17.0);
}

#[test]
fn count_strategy_converts_into_a_queuing_strategy_that_counts() {
    let q: QueuingStrategy<&str> = CountQueuingStrategy::new(16.0).into();
    assert_eq!(q.high_water_mark, Some(16.0));
    assert!(q.size.is_none());
    assert_eq!(q.size_of(&"anything").unwrap(), 1.0);
}

#[test]
fn byte_length_strategy_converts_into_a_queuing_strategy_that_measures_bytes() {
    let q: QueuingStrategy<Vec<u8>> = ByteLengthQueuingStrategy::new(65536.0).into();
    assert_eq!(q.high_water_mark, Some(65536.0));
    assert_eq!(q.size_of(&vec![0; 10]).unwrap(), 10.0);
}

#[test]
fn size_is_shared_by_clones_of_a_strategy() {
    let q: QueuingStrategy<Vec<u8>> = ByteLengthQueuingStrategy::new(5.0).into();
    let copy = q.clone();
    assert!(Arc::ptr_eq(q.size.as_ref().unwrap(), copy.size.as_ref().unwrap()));
    assert_eq!(copy.high_water_mark, Some(5.0));
}

#[test]
fn a_custom_strategy_overrides_size() {
    // The WPT "subclassing" test: high-water mark from the base, size overridden.
    let q = QueuingStrategy::<u32>::with_size(77.0, |_| 2.0);
    assert_eq!(q.high_water_mark, Some(77.0));
    assert_eq!(q.size_of(&0).unwrap(), 2.0);
}

#[test]
fn a_fallible_size_reports_its_error() {
    let error = StreamError::user("wow!");
    let e = error.clone();
    let q = QueuingStrategy::<u32>::with_fallible_size(Some(5.0), move |_| Err(e.clone()));
    common::assert_rejects_with(q.size_of(&1), &error);
}

#[test]
fn default_strategy_has_no_high_water_mark_and_counts_chunks() {
    let q = QueuingStrategy::<u32>::default();
    assert_eq!(q.high_water_mark, None);
    assert!(q.size.is_none());
    assert_eq!(q.size_of(&9).unwrap(), 1.0);
    assert_eq!(q.extract_high_water_mark(1.0).unwrap(), 1.0);
    assert_eq!(q.extract_high_water_mark(0.0).unwrap(), 0.0);
}

#[test]
fn extract_high_water_mark_rejects_nan_and_negative_values() {
    for bad in [f64::NAN, -1.0, -5.0, f64::NEG_INFINITY, -f64::MIN_POSITIVE] {
        let e = extract_high_water_mark(Some(bad), 1.0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Range, "{bad}");
    }
    for good in [0.0, -0.0, 1e-300, 1.0, 16.0, f64::MAX, f64::INFINITY] {
        assert_eq!(extract_high_water_mark(Some(good), 1.0).unwrap(), good, "{good}");
    }
    assert_eq!(extract_high_water_mark(None, 3.0).unwrap(), 3.0);
}

#[test]
fn streams_validate_a_count_strategy_high_water_mark() {
    for bad in [f64::NAN, -1.0, f64::NEG_INFINITY] {
        let e = ReadableStream::<u32>::with_strategy(SourceFn::new(), CountQueuingStrategy::new(bad))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Range, "{bad}");
    }
    assert!(ReadableStream::<u32>::with_strategy(SourceFn::new(), CountQueuingStrategy::new(0.0)).is_ok());
}

#[test]
fn streams_validate_a_byte_length_strategy_high_water_mark() {
    for bad in [f64::NAN, -1.0, f64::NEG_INFINITY] {
        let e =
            ReadableStream::<Vec<u8>>::with_strategy(SourceFn::new(), ByteLengthQueuingStrategy::new(bad))
                .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Range, "{bad}");
    }
    assert!(
        ReadableStream::<Vec<u8>>::with_strategy(SourceFn::new(), ByteLengthQueuingStrategy::new(1.5))
            .is_ok()
    );
}

#[test]
fn strategies_have_a_readable_debug_form() {
    let q = QueuingStrategy::<u32>::with_size(2.0, |_| 1.0);
    assert_eq!(
        format!("{q:?}"),
        "QueuingStrategy { high_water_mark: Some(2.0), size: Some(\"fn\") }"
    );
    assert_eq!(
        format!("{:?}", CountQueuingStrategy::new(3.0)),
        "CountQueuingStrategy { high_water_mark: 3.0 }"
    );
    assert_eq!(CountQueuingStrategy::new(3.0), CountQueuingStrategy::new(3.0));
    assert_ne!(
        ByteLengthQueuingStrategy::new(3.0),
        ByteLengthQueuingStrategy::new(4.0)
    );
}
