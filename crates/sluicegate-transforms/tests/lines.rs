//! Lines and newline-delimited JSON: random data and chunking against a reference split,
//! CRLF, maximum line lengths that error, invalid UTF-8 and JSON with line numbers.

mod common;

use bytes::Bytes;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use sluicegate_transforms::lines::{byte_line_batches, byte_lines, line_batches, lines};
use sluicegate_transforms::{ndjson, TransformError};

use common::{cut, run};

/// The reference: split at '\n', drop one '\r' before it, drop the empty piece after a final
/// newline.
fn reference(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = data
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .collect();
    if data.is_empty() || data.ends_with(b"\n") {
        out.pop();
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn lines_match_a_reference_split_for_any_chunking(
        data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), Just(b'z')], 0..400),
        cuts in proptest::collection::vec(0u16..=1000, 0..12),
    ) {
        let got: Vec<Vec<u8>> = run(&byte_lines(1000), cut(&data, &cuts)).unwrap().into_iter().map(|b| b.to_vec()).collect();
        prop_assert_eq!(got, reference(&data));
    }

    #[test]
    fn every_form_gives_the_reference_lines_for_any_chunking(
        text in proptest::collection::vec(prop_oneof![Just('\n'), Just('\r'), Just('a'), Just('é'), Just('日')], 0..300),
        cuts in proptest::collection::vec(0u16..=1000, 0..12),
    ) {
        let data: String = text.into_iter().collect();
        // Cut at any byte, so characters are split across chunks too.
        let chunks = cut(data.as_bytes(), &cuts);
        let expected: Vec<String> = reference(data.as_bytes())
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect();
        prop_assert_eq!(&run(&lines(10_000), chunks.clone()).unwrap(), &expected);
        let batches = run(&line_batches(10_000), chunks.clone()).unwrap();
        // One batch per chunk that completes a line (and one for a last line without a newline).
        prop_assert!(batches.len() <= chunks.len() + 1);
        prop_assert!(batches.iter().all(|b| !b.is_empty()));
        prop_assert_eq!(&batches.concat(), &expected);
        let bytes: Vec<String> = run(&byte_line_batches(10_000), chunks)
            .unwrap()
            .concat()
            .into_iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect();
        prop_assert_eq!(&bytes, &expected);
    }

    #[test]
    fn invalid_utf8_fails_at_its_line_in_both_string_forms(
        data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), Just(0xC3u8), Just(0xA9u8), Just(0xFFu8)], 0..200),
        cuts in proptest::collection::vec(0u16..=1000, 0..8),
    ) {
        let reference = reference(&data);
        let first_bad = reference.iter().position(|l| std::str::from_utf8(l).is_err());
        let chunks = cut(&data, &cuts);
        let per_line = run(&lines(1000), chunks.clone());
        let batched = run(&line_batches(1000), chunks).map(|b| b.concat());
        for got in [per_line, batched] {
            match first_bad {
                Some(i) => {
                    let e = got.unwrap_err();
                    prop_assert_eq!(TransformError::of(&e), Some(&TransformError::InvalidUtf8 { line: i as u64 + 1 }));
                }
                None => prop_assert_eq!(
                    got.unwrap(),
                    reference.iter().map(|l| String::from_utf8(l.clone()).unwrap()).collect::<Vec<_>>()
                ),
            }
        }
    }

    #[test]
    fn a_line_over_the_maximum_errors_and_one_at_it_passes(len in 1usize..60, max in 1usize..60, cuts in proptest::collection::vec(0u16..=1000, 0..6)) {
        let mut data = b"ok\r\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', len));
        data.extend_from_slice(b"\r\nend");
        let per_line = run(&lines(max.max(3)), cut(&data, &cuts));
        let batched = run(&line_batches(max.max(3)), cut(&data, &cuts)).map(|b| b.concat());
        let bytes = run(&byte_line_batches(max.max(3)), cut(&data, &cuts))
            .map(|b| b.concat().iter().map(|l| String::from_utf8(l.to_vec()).unwrap()).collect::<Vec<_>>());
        for r in [per_line, batched, bytes] {
            if len > max.max(3) {
                let e = r.unwrap_err();
                prop_assert_eq!(TransformError::of(&e), Some(&TransformError::LineTooLong { max: max.max(3), line: 2 }));
            } else {
                prop_assert_eq!(r.unwrap(), vec!["ok".to_string(), "x".repeat(len), "end".to_string()]);
            }
        }
    }
}

#[test]
fn an_endless_line_errors_instead_of_buffering() {
    let chunks: Vec<Bytes> = (0..1000).map(|_| Bytes::from(vec![b'y'; 1024])).collect();
    let expected = Some(TransformError::LineTooLong {
        max: 64 * 1024,
        line: 1,
    });
    let e = run(&lines(64 * 1024), chunks.clone()).unwrap_err();
    assert_eq!(TransformError::of(&e), expected.as_ref());
    let e = run(&line_batches(64 * 1024), chunks.clone()).unwrap_err();
    assert_eq!(TransformError::of(&e), expected.as_ref());
    let e = run(&byte_line_batches(64 * 1024), chunks).unwrap_err();
    assert_eq!(TransformError::of(&e), expected.as_ref());
}

#[test]
fn batches_hold_the_lines_each_chunk_completes_and_byte_batches_share_the_input() {
    let input = Bytes::from_static(b"one\r\ntwo\nthr");
    let more = Bytes::from_static(b"ee\nfour\n\nfive");
    let got = run(&line_batches(100), vec![input.clone(), more.clone()]).unwrap();
    assert_eq!(
        got,
        vec![vec!["one", "two"], vec!["three", "four", ""], vec!["five"]]
    );
    let got = run(&byte_line_batches(100), vec![input.clone(), more]).unwrap();
    assert_eq!(
        got[0],
        vec![Bytes::from_static(b"one"), Bytes::from_static(b"two")]
    );
    // Lines within one chunk are slices of it, not copies.
    let inside = input.as_ptr_range();
    assert!(got[0].iter().all(|l| inside.contains(&l.as_ptr())));
}

#[test]
fn invalid_utf8_names_its_line() {
    let e = run(&lines(100), vec![Bytes::from_static(b"fine\nbad \xFF\n")]).unwrap_err();
    assert_eq!(
        TransformError::of(&e),
        Some(&TransformError::InvalidUtf8 { line: 2 })
    );
    // As bytes, the same line passes.
    assert_eq!(
        run(&byte_lines(100), vec![Bytes::from_static(b"fine\nbad \xFF\n")])
            .unwrap()
            .len(),
        2
    );
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Record {
    id: u64,
    name: String,
}

#[test]
fn ndjson_round_trips_and_skips_blank_lines() {
    let records: Vec<Record> = (0..50)
        .map(|id| Record {
            id,
            name: format!("n{id}\n\"q\""),
        })
        .collect();
    let text = run(&ndjson::serialize(), records.clone()).unwrap().concat();
    assert_eq!(text.iter().filter(|b| **b == b'\n').count(), 50);
    let mut with_blanks = b"\n  \r\n".to_vec();
    with_blanks.extend_from_slice(&text);
    with_blanks.extend_from_slice(b"\n\n");
    for step in [1, 7, 100, with_blanks.len()] {
        let chunks = with_blanks.chunks(step).map(Bytes::copy_from_slice).collect();
        let back: Vec<Record> = run(&ndjson::parse(1024), chunks).unwrap();
        assert_eq!(back, records);
    }
}

#[test]
fn ndjson_errors_name_the_line() {
    let input = Bytes::from_static(b"{\"id\":1,\"name\":\"a\"}\n\n{\"id\":\"two\",\"name\":\"b\"}\n");
    let e = run(&ndjson::parse::<Record>(1024), vec![input]).unwrap_err();
    match TransformError::of(&e) {
        Some(TransformError::Json { line: 3, .. }) => {}
        other => panic!("{other:?}"),
    }
    // A last line without a newline is parsed too, and checked.
    let e = run(
        &ndjson::parse::<Record>(1024),
        vec![Bytes::from_static(b"{\"id\":1")],
    )
    .unwrap_err();
    assert!(matches!(
        TransformError::of(&e),
        Some(TransformError::Json { line: 1, .. })
    ));
    let e = run(
        &ndjson::parse::<Record>(8),
        vec![Bytes::from_static(b"{\"id\":1,\"name\":\"abc\"}\n")],
    )
    .unwrap_err();
    assert!(matches!(
        TransformError::of(&e),
        Some(TransformError::LineTooLong { max: 8, line: 1 })
    ));
}

#[test]
fn ndjson_serialize_reports_unserialisable_values() {
    use std::collections::HashMap;
    // JSON object keys must be strings.
    let mut m = HashMap::new();
    m.insert(vec![1u8], 1);
    let e = run(&ndjson::serialize(), vec![m]).unwrap_err();
    assert!(matches!(
        TransformError::of(&e),
        Some(TransformError::Serialize { .. })
    ));
}
