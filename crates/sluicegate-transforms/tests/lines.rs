//! Lines and newline-delimited JSON: random data and chunking against a reference split,
//! CRLF, maximum line lengths that error, invalid UTF-8 and JSON with line numbers.

mod common;

use bytes::Bytes;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use sluicegate_transforms::lines::{byte_lines, lines};
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
    fn a_line_over_the_maximum_errors_and_one_at_it_passes(len in 1usize..60, max in 1usize..60, cuts in proptest::collection::vec(0u16..=1000, 0..6)) {
        let mut data = b"ok\r\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', len));
        data.extend_from_slice(b"\r\nend");
        let r = run(&lines(max.max(3)), cut(&data, &cuts));
        if len > max.max(3) {
            let e = r.unwrap_err();
            prop_assert_eq!(TransformError::of(&e), Some(&TransformError::LineTooLong { max: max.max(3), line: 2 }));
        } else {
            prop_assert_eq!(r.unwrap(), vec!["ok".to_string(), "x".repeat(len), "end".to_string()]);
        }
    }
}

#[test]
fn an_endless_line_errors_instead_of_buffering() {
    let chunks: Vec<Bytes> = (0..1000).map(|_| Bytes::from(vec![b'y'; 1024])).collect();
    let e = run(&lines(64 * 1024), chunks).unwrap_err();
    assert_eq!(
        TransformError::of(&e),
        Some(&TransformError::LineTooLong {
            max: 64 * 1024,
            line: 1
        })
    );
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
