//! Text streams: characters split across chunks in every multi-byte encoding, `fatal`,
//! `ignoreBOM`, every encoding of the standard, bounded output, and the UTF-8 encoder.

mod common;

use bytes::Bytes;
use proptest::prelude::*;
use sluicegate::ErrorKind;
use sluicegate_transforms::text::MAX_TEXT_PIECE;
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
    assert!(out.iter().all(|s| !s.is_empty() && s.len() <= MAX_TEXT_PIECE));
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
    assert!(out.iter().all(|s| s.len() <= MAX_TEXT_PIECE));
    assert_eq!(out.concat(), text);
}

#[test]
fn each_64_kib_chunk_of_utf8_comes_out_as_one_string_even_with_split_characters() {
    // Three-byte characters: most 64 KiB boundaries fall inside one, so most chunks both end
    // and begin with part of a character.
    let text = "日本語のログ行 ".repeat(40_000);
    let chunks: Vec<Bytes> = text
        .as_bytes()
        .chunks(MAX_CHUNK)
        .map(Bytes::copy_from_slice)
        .collect();
    let n = chunks.len();
    let out = run(&decode("utf-8", DecodeOptions::default()).unwrap(), chunks).unwrap();
    assert_eq!(out.len(), n, "one string per chunk");
    assert!(out.iter().all(|s| s.len() <= MAX_TEXT_PIECE));
    assert!(
        out.iter().any(|s| s.len() > MAX_CHUNK),
        "some carry a character begun before"
    );
    assert_eq!(out.concat(), text);
}

#[test]
fn a_small_chunk_is_decoded_into_a_string_sized_for_it() {
    let chunks: Vec<Bytes> = (0..100).map(|i| Bytes::from(format!("line {i}\n"))).collect();
    let out = run(
        &decode("utf-8", DecodeOptions::default()).unwrap(),
        chunks.clone(),
    )
    .unwrap();
    assert_eq!(out.len(), chunks.len());
    for (s, c) in out.iter().zip(&chunks) {
        assert_eq!(s.as_bytes(), &c[..]);
        // Room for the chunk's text and a character's worth, not a 64 KiB buffer per string.
        assert!(
            s.capacity() <= c.len() + 8,
            "capacity {} for {} bytes",
            s.capacity(),
            c.len()
        );
    }
}

#[test]
fn malformed_input_that_grows_past_the_sized_string_still_decodes_whole() {
    // Each lone 0xFF becomes U+FFFD (3 bytes): three times the well-formed bound.
    let input = vec![0xFFu8; 5000];
    let out = run(
        &decode("utf-8", DecodeOptions::default()).unwrap(),
        vec![Bytes::from(input)],
    )
    .unwrap();
    assert_eq!(out.concat(), "\u{FFFD}".repeat(5000));
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

/// What a UTF-8 decoder fed `text` cut into `chunks` gives for each chunk: the characters whose
/// last byte is in that chunk. Chunks that complete no character give none.
fn text_per_chunk(text: &str, chunks: &[Bytes]) -> Vec<String> {
    let floor = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let mut start = 0;
    let mut out = Vec::new();
    for c in chunks {
        let end = start + c.len();
        let piece = &text[floor(start)..floor(end)];
        if !piece.is_empty() {
            out.push(piece.to_string());
        }
        start = end;
    }
    out
}

#[test]
fn a_64_kib_chunk_that_begins_inside_a_character_comes_out_as_one_string() {
    // The first chunk is `offset` bytes, the rest 64 KiB each: with four-byte characters and an
    // offset of 1-3 or 5-7, every chunk after the first begins with the end of a character the
    // chunk before began (and, for 1-3, the first chunk makes no text at all).
    for unit in ["😀", "日", "é", "😀a", "a😀", "😀abc", "日ab", "éa"] {
        let text = unit.repeat(3 * MAX_CHUNK / unit.len() + 7);
        let bytes = text.as_bytes();
        for offset in 0..8 {
            let mut chunks = vec![Bytes::copy_from_slice(&bytes[..offset])];
            chunks.extend(bytes[offset..].chunks(MAX_CHUNK).map(Bytes::copy_from_slice));
            for fatal in [false, true] {
                let options = DecodeOptions {
                    fatal,
                    ..DecodeOptions::default()
                };
                let out = run(&decode("utf-8", options).unwrap(), chunks.clone()).unwrap();
                let lengths: Vec<usize> = out.iter().map(String::len).collect();
                assert_eq!(
                    out,
                    text_per_chunk(&text, &chunks),
                    "{unit:?} at offset {offset}, fatal {fatal}: one string per chunk, got {lengths:?}"
                );
            }
        }
    }
}

#[test]
fn max_text_piece_is_encoding_rs_bound_for_a_64_kib_chunk_in_every_utf8_decoder_state() {
    // Every state a UTF-8 decoder can be in between chunks: at the start (with and without BOM
    // handling), after one or two bytes of a BOM, and inside a two-, three- or four-byte
    // character. In each, encoding_rs promises no `OutputFull` for MAX_CHUNK more bytes of
    // input when the output has room for `max_utf8_buffer_length_without_replacement`.
    let prefixes: &[&[u8]] = &[
        b"",
        b"\xEF",
        b"\xEF\xBB",
        b"\xC3",
        b"\xE6",
        b"\xE6\x97",
        b"\xF0",
        b"\xF0\x9F",
        b"\xF0\x9F\x98",
    ];
    let mut worst = 0;
    for prefix in prefixes {
        for encoding_rs_decoder in [
            encoding_rs::UTF_8.new_decoder_with_bom_removal(),
            encoding_rs::UTF_8.new_decoder_without_bom_handling(),
        ] {
            let mut d = encoding_rs_decoder;
            let mut sink = String::with_capacity(16);
            let (result, read) = d.decode_to_string_without_replacement(prefix, &mut sink, false);
            assert_eq!(
                (result, read),
                (encoding_rs::DecoderResult::InputEmpty, prefix.len())
            );
            let bound = d.max_utf8_buffer_length_without_replacement(MAX_CHUNK).unwrap();
            assert!(bound <= MAX_TEXT_PIECE, "{prefix:?}: {bound}");
            worst = worst.max(bound);
        }
    }
    // Three bytes of a four-byte character pending: 64 KiB + 3 + 3.
    assert_eq!(worst, MAX_TEXT_PIECE);
}

/// `chars` pseudo-random characters from `seed`, one-, two-, three- and four-byte UTF-8 alike.
/// (Drawn from a seed rather than element by element: proptest takes minutes to build and
/// shrink a vector of a hundred thousand characters.)
fn random_text(seed: u64, chars: usize) -> String {
    let mut state = seed | 1;
    let mut text = String::new();
    let mut made = 0;
    while made < chars {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let (low, high) = match r % 4 {
            0 => (0x20, 0x7F),
            1 => (0x80, 0x800),
            2 => (0x800, 0x1_0000),
            _ => (0x1_0000, 0x11_0000),
        };
        if let Some(c) = char::from_u32(low + ((r >> 8) % u64::from(high - low)) as u32) {
            text.push(c);
            made += 1;
        }
    }
    text
}

/// Chunk lengths of at most 64 KiB, often within a character of it.
fn chunk_lengths() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(
        prop_oneof![1..=8usize, MAX_CHUNK - 8..=MAX_CHUNK, 1..=MAX_CHUNK],
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn each_chunk_of_at_most_64_kib_decodes_to_one_string_and_the_whole_round_trips(
        seed in any::<u64>(),
        chars in 0..60_000usize,
        lengths in chunk_lengths(),
        fatal in any::<bool>(),
    ) {
        let text = random_text(seed, chars);
        let bytes = text.as_bytes();
        let mut chunks = Vec::new();
        let mut at = 0;
        for len in lengths.iter().cycle() {
            if at == bytes.len() {
                break;
            }
            let end = (at + len).min(bytes.len());
            chunks.push(Bytes::copy_from_slice(&bytes[at..end]));
            at = end;
        }
        // ignore_bom: a U+FEFF the generator puts first is text here, not a BOM to remove.
        let options = DecodeOptions { fatal, ignore_bom: true };
        let out = run(&decode("utf-8", options).unwrap(), chunks.clone()).unwrap();
        prop_assert_eq!(&out, &text_per_chunk(&text, &chunks));
        prop_assert_eq!(out.concat(), text);
    }
}

/// Pieces of UTF-8-ish input: well-formed characters of every width, byte order marks, and the
/// malformed sequences a decoder must replace (stray continuation bytes, bytes no character
/// starts with, overlong forms, surrogates, code points past U+10FFFF, truncated characters).
fn utf8ish_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => "[a-z \\n]{1,8}".prop_map(String::into_bytes),
        4 => "[é½€日本語한😀𝄞]{1,4}".prop_map(String::into_bytes),
        1 => Just(b"\xEF\xBB\xBF".to_vec()),
        2 => proptest::sample::select(vec![
            b"\x80".to_vec(),
            b"\xBF".to_vec(),
            b"\xC0\xAF".to_vec(),
            b"\xC1".to_vec(),
            b"\xF5".to_vec(),
            b"\xFF".to_vec(),
            b"\xE0\x80\xAF".to_vec(),
            b"\xED\xA0\x80".to_vec(),
            b"\xF4\x90\x80\x80".to_vec(),
            b"\xF0\x80".to_vec(),
            b"\xE6\x97".to_vec(),
            b"\xF0\x9F\x98".to_vec(),
            b"\xC3".to_vec(),
        ]),
    ]
}

/// What encoding_rs alone makes of `chunks`, chunk by chunk: the text of each chunk (empty ones
/// left out, as the stream leaves them out) and the end's, or the error `fatal` asks for.
fn encoding_rs_pieces(chunks: &[Bytes], options: DecodeOptions) -> Result<Vec<String>, ()> {
    let mut d = if options.ignore_bom {
        encoding_rs::UTF_8.new_decoder_without_bom_handling()
    } else {
        encoding_rs::UTF_8.new_decoder_with_bom_removal()
    };
    let mut pieces = Vec::new();
    let last = Bytes::new();
    for (chunk, end) in chunks.iter().map(|c| (c, false)).chain([(&last, true)]) {
        let mut out = String::with_capacity(d.max_utf8_buffer_length(chunk.len()).unwrap());
        if options.fatal {
            let (r, read) = d.decode_to_string_without_replacement(chunk, &mut out, end);
            if matches!(r, encoding_rs::DecoderResult::Malformed(..)) {
                return Err(());
            }
            assert_eq!((r, read), (encoding_rs::DecoderResult::InputEmpty, chunk.len()));
        } else {
            let (r, read, _) = d.decode_to_string(chunk, &mut out, end);
            assert_eq!((r, read), (encoding_rs::CoderResult::InputEmpty, chunk.len()));
        }
        if !out.is_empty() {
            pieces.push(out);
        }
    }
    Ok(pieces)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The stream's UTF-8 decoding against encoding_rs's own streaming decoder, on input full of
    /// the cases a decoder gets wrong (characters cut by chunk ends, byte order marks, every kind
    /// of malformed sequence): whatever the input and however it is cut, the text and any error
    /// must be exactly encoding_rs's, and chunk by chunk where nothing was replaced.
    #[test]
    fn utf8_decoding_gives_encoding_rs_text_chunk_by_chunk(
        pieces in proptest::collection::vec(utf8ish_piece(), 0..60),
        cuts in proptest::collection::vec(0u16..=1000, 0..12),
        fatal in any::<bool>(),
        ignore_bom in any::<bool>(),
    ) {
        let bytes = pieces.concat();
        let chunks = cut(&bytes, &cuts);
        let options = DecodeOptions { fatal, ignore_bom };
        let expected = encoding_rs_pieces(&chunks, options);
        let got = run(&decode("utf-8", options).unwrap(), chunks);
        match (expected, got) {
            (Ok(e), Ok(g)) => {
                prop_assert_eq!(g.concat(), e.concat());
                // Replacement characters can outgrow the string sized for a chunk's bytes, and
                // then spill into a further string (`malformed_input_that_grows_past_...`);
                // otherwise each chunk's text is one string, the same as encoding_rs's.
                if !e.concat().contains('\u{FFFD}') {
                    prop_assert_eq!(g, e);
                }
            }
            (Err(()), Err(e)) => prop_assert_eq!(
                TransformError::of(&e),
                Some(&TransformError::Malformed { encoding: "UTF-8" })
            ),
            (e, g) => prop_assert!(false, "encoding_rs {:?}, stream {:?}", e, g),
        }
    }
}
