//! Text streams: characters split across chunks in every multi-byte encoding, `fatal`,
//! `ignoreBOM`, every encoding of the standard, bounded output, and the UTF-8 encoder.

mod common;

use bytes::Bytes;
use proptest::prelude::*;
use sluicegate::ErrorKind;
use sluicegate_transforms::text::{decode, encode, DecodeOptions, TextDecoder, Utf16Encoder};
use sluicegate_transforms::{TransformError, MAX_CHUNK};

use common::{cut, run};

const SAMPLE: &str = "Grüße, ça va? 日本語のテキスト、中文字符，한국어 텍스트 ½ €";

/// `text` in `encoding`, or `None` where the encoding cannot represent it all.
fn encoded(label: &str, text: &str) -> Option<Vec<u8>> {
    match label {
        "utf-16le" => Some(text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()),
        "utf-16be" => Some(text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()),
        _ => {
            let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
            let (bytes, _, unmappable) = encoding.encode(text);
            (!unmappable).then(|| bytes.into_owned())
        }
    }
}

/// Keeps the characters of SAMPLE that `label` can represent.
fn sample_for(label: &str) -> String {
    SAMPLE
        .chars()
        .filter(|c| encoded(label, &c.to_string()).is_some())
        .collect()
}

fn decode_chunks(
    label: &str,
    options: DecodeOptions,
    chunks: Vec<Bytes>,
) -> Result<String, sluicegate::StreamError> {
    let out = run(&decode(label, options).unwrap(), chunks)?;
    assert!(out.iter().all(|s| !s.is_empty() && s.len() <= MAX_CHUNK));
    Ok(out.concat())
}

const MULTI_BYTE: &[&str] = &[
    "utf-8",
    "utf-16le",
    "utf-16be",
    "gbk",
    "gb18030",
    "big5",
    "euc-jp",
    "iso-2022-jp",
    "shift_jis",
    "euc-kr",
];

#[test]
fn characters_split_at_every_byte_decode_whole_in_every_multi_byte_encoding() {
    for label in MULTI_BYTE {
        let text = sample_for(label);
        assert!(
            text.chars().filter(|c| !c.is_ascii()).count() >= 4,
            "{label}: {text}"
        );
        let bytes = encoded(label, &text).unwrap();
        for at in 0..=bytes.len() {
            let chunks = vec![
                Bytes::copy_from_slice(&bytes[..at]),
                Bytes::copy_from_slice(&bytes[at..]),
            ];
            let fatal = DecodeOptions {
                fatal: true,
                ..DecodeOptions::default()
            };
            assert_eq!(
                decode_chunks(label, fatal, chunks).unwrap(),
                text,
                "{label}, split at {at}"
            );
        }
        // One byte per chunk.
        let chunks = bytes.iter().map(|b| Bytes::copy_from_slice(&[*b])).collect();
        assert_eq!(
            decode_chunks(label, DecodeOptions::default(), chunks).unwrap(),
            text,
            "{label}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_text_and_chunking_round_trip_through_utf8(text in "\\PC{0,400}", cuts in proptest::collection::vec(0u16..=1000, 0..10)) {
        let bytes = run(&encode().unwrap(), vec![text.clone()]).unwrap().concat();
        prop_assert_eq!(&bytes[..], text.as_bytes());
        let back = decode_chunks("utf-8", DecodeOptions { fatal: true, ..Default::default() }, cut(&bytes, &cuts)).unwrap();
        prop_assert_eq!(back, text);
    }

    #[test]
    fn stream_decoding_equals_one_shot_decoding_for_any_bytes(
        label in proptest::sample::select(MULTI_BYTE.to_vec()),
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        cuts in proptest::collection::vec(0u16..=1000, 0..10),
    ) {
        let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
        let (whole, _) = encoding.decode_with_bom_removal(&bytes);
        let streamed = decode_chunks(label, DecodeOptions::default(), cut(&bytes, &cuts)).unwrap();
        prop_assert_eq!(streamed, whole.into_owned());
    }
}

#[test]
fn fatal_rejects_malformed_input_with_a_typed_error() {
    let fatal = DecodeOptions {
        fatal: true,
        ..DecodeOptions::default()
    };
    let e = decode_chunks("utf-8", fatal, vec![Bytes::from_static(b"ok \xFF")]).unwrap_err();
    assert_eq!(
        TransformError::of(&e),
        Some(&TransformError::Malformed { encoding: "UTF-8" })
    );
    // An incomplete character at the end is malformed too.
    let e = decode_chunks("shift_jis", fatal, vec![Bytes::from_static(b"a\x82")]).unwrap_err();
    assert_eq!(
        TransformError::of(&e),
        Some(&TransformError::Malformed {
            encoding: "Shift_JIS"
        })
    );
    // Without fatal: U+FFFD.
    assert_eq!(
        decode_chunks(
            "utf-8",
            DecodeOptions::default(),
            vec![Bytes::from_static(b"ok \xFF"), Bytes::from_static(b"\xE2\x82")]
        )
        .unwrap(),
        "ok \u{FFFD}\u{FFFD}"
    );
}

#[test]
fn a_byte_order_mark_is_removed_unless_ignore_bom() {
    let with_bom = || vec![Bytes::from_static(b"\xEF\xBB"), Bytes::from_static(b"\xBFhi")];
    assert_eq!(
        decode_chunks("utf-8", DecodeOptions::default(), with_bom()).unwrap(),
        "hi"
    );
    let keep = DecodeOptions {
        ignore_bom: true,
        ..DecodeOptions::default()
    };
    assert_eq!(decode_chunks("utf-8", keep, with_bom()).unwrap(), "\u{FEFF}hi");
    // Only the BOM of the decoder's own encoding is removed; only at the start.
    assert_eq!(
        decode_chunks(
            "utf-16le",
            DecodeOptions::default(),
            vec![Bytes::from_static(b"\xFF\xFEh\0\xFF\xFE")]
        )
        .unwrap(),
        "h\u{FEFF}"
    );
}

#[test]
fn every_encoding_of_the_standard_decodes_and_names_itself() {
    let names = [
        "UTF-8",
        "IBM866",
        "ISO-8859-2",
        "ISO-8859-3",
        "ISO-8859-4",
        "ISO-8859-5",
        "ISO-8859-6",
        "ISO-8859-7",
        "ISO-8859-8",
        "ISO-8859-8-I",
        "ISO-8859-10",
        "ISO-8859-13",
        "ISO-8859-14",
        "ISO-8859-15",
        "ISO-8859-16",
        "KOI8-R",
        "KOI8-U",
        "macintosh",
        "windows-874",
        "windows-1250",
        "windows-1251",
        "windows-1252",
        "windows-1253",
        "windows-1254",
        "windows-1255",
        "windows-1256",
        "windows-1257",
        "windows-1258",
        "x-mac-cyrillic",
        "GBK",
        "gb18030",
        "Big5",
        "EUC-JP",
        "ISO-2022-JP",
        "Shift_JIS",
        "EUC-KR",
        "UTF-16BE",
        "UTF-16LE",
        "x-user-defined",
    ];
    for name in names {
        let d = TextDecoder::new(name, DecodeOptions::default()).unwrap();
        assert_eq!(d.encoding(), name.to_ascii_lowercase());
        let text = "plain ascii";
        let bytes = encoded(&name.to_ascii_lowercase(), text).unwrap();
        assert_eq!(
            decode_chunks(name, DecodeOptions::default(), vec![Bytes::from(bytes)]).unwrap(),
            text,
            "{name}"
        );
    }
    // Labels are trimmed and case-insensitive; unknown labels and "replacement" are RangeErrors.
    assert_eq!(
        TextDecoder::new("  Latin1\n", DecodeOptions::default())
            .unwrap()
            .encoding(),
        "windows-1252"
    );
    for bad in ["nope", "replacement", "iso-2022-kr", "utf-7"] {
        assert!(TextDecoder::new(bad, DecodeOptions::default()).is_err(), "{bad}");
        assert_eq!(
            decode(bad, DecodeOptions::default()).unwrap_err().kind(),
            ErrorKind::Range
        );
    }
}

#[test]
fn a_large_chunk_decodes_into_bounded_pieces() {
    let text = "日本語".repeat(100_000);
    let out = run(
        &decode("utf-8", DecodeOptions::default()).unwrap(),
        vec![Bytes::from(text.clone())],
    )
    .unwrap();
    assert!(out.len() > 10);
    assert!(out.iter().all(|s| s.len() <= MAX_CHUNK));
    assert_eq!(out.concat(), text);
}

#[test]
fn one_shot_decoder_streams_and_resets() {
    let mut d = TextDecoder::new("utf-8", DecodeOptions::default()).unwrap();
    assert_eq!(d.decode(b"\xE2\x82", true).unwrap(), "");
    assert_eq!(d.decode(b"\xAC", true).unwrap(), "€");
    assert_eq!(d.decode(b"\xE2", false).unwrap(), "\u{FFFD}");
    // A new decode after a flush starts afresh, BOM handling included.
    assert_eq!(d.decode(b"\xEF\xBB\xBFx", false).unwrap(), "x");
    let mut fatal = TextDecoder::new(
        "utf-8",
        DecodeOptions {
            fatal: true,
            ignore_bom: false,
        },
    )
    .unwrap();
    assert!(fatal.decode(b"\xFF", false).is_err());
    assert_eq!(fatal.decode(b"ok", false).unwrap(), "ok");
}

#[test]
fn the_encoder_skips_empty_strings_and_joins_split_surrogates() {
    let out = run(
        &encode().unwrap(),
        vec![String::new(), "a".into(), String::new(), "é".into()],
    )
    .unwrap();
    assert_eq!(out, vec![Bytes::from_static(b"a"), Bytes::from("é")]);
    let mut e = Utf16Encoder::default();
    let units: Vec<u16> = "x😀y".encode_utf16().collect();
    let mut bytes = Vec::new();
    for u in &units {
        bytes.extend(e.encode(&[*u]));
    }
    bytes.extend(e.flush());
    assert_eq!(bytes, "x😀y".as_bytes());
    // A lone low surrogate, and a high one followed by something else, become U+FFFD.
    assert_eq!(e.encode(&[0xDC00, 0x61]), "\u{FFFD}a".as_bytes());
    assert_eq!(e.encode(&[0xD83D]), b"");
    assert_eq!(e.encode(&[0x62]), "\u{FFFD}b".as_bytes());
    // An empty chunk between the halves of a pair changes nothing.
    assert_eq!(e.encode(&[0xD83D]), b"");
    assert_eq!(e.encode_str(""), b"");
    assert_eq!(e.encode(&[0xDE00]), "😀".as_bytes());
}
