//! Compression streams: round trips with random data and chunking for every format, agreement
//! with the codec crates used directly, and corrupt, truncated and trailing input.

mod common;

use bytes::Bytes;
use proptest::prelude::*;
use sluicegate_transforms::codec::{Codec, Pump};
use sluicegate_transforms::compression::{compress, compress_level, decompress, Decoder, Encoder, Format};
use sluicegate_transforms::{TransformError, MAX_CHUNK};

use common::{cut, run};

fn concat(chunks: &[Bytes]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.iter().copied()).collect()
}

fn compressed(format: Format, data: &[u8]) -> Vec<u8> {
    concat(&run(&compress(format).unwrap(), vec![Bytes::copy_from_slice(data)]).unwrap())
}

/// Data that compresses somewhat: runs of a few symbols mixed with random bytes.
fn data_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..20_000),
        proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'\n')], 0..200_000),
    ]
}

fn format_strategy() -> impl Strategy<Value = Format> {
    proptest::sample::select(Format::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_with_random_chunking(
        format in format_strategy(),
        data in data_strategy(),
        in_cuts in proptest::collection::vec(0u16..=1000, 0..8),
        mid_cuts in proptest::collection::vec(0u16..=1000, 0..8),
    ) {
        let packed = concat(&run(&compress(format).unwrap(), cut(&data, &in_cuts)).unwrap());
        let out = run(&decompress(format).unwrap(), cut(&packed, &mid_cuts)).unwrap();
        prop_assert!(out.iter().all(|c| c.len() <= MAX_CHUNK && !c.is_empty()));
        prop_assert_eq!(concat(&out), data);
    }

    #[test]
    fn truncated_input_is_an_error(format in format_strategy(), data in data_strategy(), keep in 0u16..1000) {
        let packed = compressed(format, &data);
        let keep = packed.len() * keep as usize / 1000;
        let e = run(&decompress(format).unwrap(), vec![Bytes::copy_from_slice(&packed[..keep])]).unwrap_err();
        let te = TransformError::of(&e).cloned();
        prop_assert!(
            matches!(te, Some(TransformError::Truncated { .. }) | Some(TransformError::Corrupt { .. })),
            "{:?}", e
        );
    }
}

#[test]
fn every_format_decodes_what_its_crate_encodes() {
    use std::io::Write;
    let data = b"The quick brown fox jumps over the lazy dog. ".repeat(5000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&data).unwrap();
    let zs = zstd::encode_all(&data[..], 3).unwrap();
    let mut br = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut br, &Default::default()).unwrap();
    for (format, packed) in [
        (Format::Gzip, gz.finish().unwrap()),
        (Format::Zstd, zs),
        (Format::Brotli, br),
    ] {
        let out = run(&decompress(format).unwrap(), vec![Bytes::from(packed)]).unwrap();
        assert_eq!(concat(&out), data, "{format}");
    }
}

#[test]
fn the_crates_decode_what_every_format_encodes() {
    use std::io::Read;
    let data = b"The quick brown fox jumps over the lazy dog. ".repeat(5000);
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&compressed(Format::Gzip, &data)[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, data);
    out.clear();
    flate2::read::ZlibDecoder::new(&compressed(Format::Deflate, &data)[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, data);
    out.clear();
    flate2::read::DeflateDecoder::new(&compressed(Format::DeflateRaw, &data)[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, data);
    assert_eq!(
        zstd::decode_all(&compressed(Format::Zstd, &data)[..]).unwrap(),
        data
    );
    out.clear();
    brotli::BrotliDecompress(&mut &compressed(Format::Brotli, &data)[..], &mut out).unwrap();
    assert_eq!(out, data);
}

#[test]
fn concatenated_gzip_members_are_one_stream() {
    let mut packed = compressed(Format::Gzip, b"first member, ");
    packed.extend(compressed(Format::Gzip, b"second member, "));
    packed.extend(compressed(Format::Gzip, b""));
    packed.extend(compressed(Format::Gzip, b"third"));
    // Cut everywhere, including inside the members' headers.
    for at in 0..packed.len() {
        let chunks = vec![
            Bytes::copy_from_slice(&packed[..at]),
            Bytes::copy_from_slice(&packed[at..]),
        ];
        let out = run(&decompress(Format::Gzip).unwrap(), chunks).unwrap();
        assert_eq!(concat(&out), b"first member, second member, third");
    }
}

#[test]
fn concatenated_zstd_frames_are_one_stream() {
    let mut packed = compressed(Format::Zstd, b"one ");
    packed.extend(compressed(Format::Zstd, b"two"));
    let out = run(&decompress(Format::Zstd).unwrap(), vec![Bytes::from(packed)]).unwrap();
    assert_eq!(concat(&out), b"one two");
}

#[test]
fn trailing_data_is_an_error() {
    for &format in Format::ALL {
        let mut packed = compressed(format, b"payload");
        packed.extend_from_slice(b"garbage");
        let e = run(&decompress(format).unwrap(), vec![Bytes::from(packed.clone())]).unwrap_err();
        let te = TransformError::of(&e).cloned();
        match format {
            // zstd reads what follows a frame as the next frame's magic number.
            Format::Zstd => assert!(
                matches!(te, Some(TransformError::Corrupt { .. })),
                "{format}: {e:?}"
            ),
            _ => assert_eq!(
                te,
                Some(TransformError::TrailingData {
                    format: format.name()
                }),
                "{format}"
            ),
        }
        // The same with the garbage in a chunk of its own.
        let split = packed.len() - 7;
        let chunks = vec![
            Bytes::copy_from_slice(&packed[..split]),
            Bytes::copy_from_slice(&packed[split..]),
        ];
        assert!(run(&decompress(format).unwrap(), chunks).is_err(), "{format}");
    }
}

#[test]
fn corrupt_data_is_an_error_and_nothing_hangs() {
    for &format in Format::ALL {
        let mut packed = compressed(format, &b"some text that compresses ".repeat(100));
        let mid = packed.len() / 2;
        for b in &mut packed[mid..mid + 4] {
            *b ^= 0x55;
        }
        let e = run(&decompress(format).unwrap(), vec![Bytes::from(packed)]);
        assert!(e.is_err(), "{format}");
        let e = e.unwrap_err();
        assert!(TransformError::of(&e).is_some(), "{format}: {e:?}");
    }
    let e = run(
        &decompress(Format::Gzip).unwrap(),
        vec![Bytes::from_static(b"not gzip at all")],
    )
    .unwrap_err();
    assert!(matches!(
        TransformError::of(&e),
        Some(TransformError::Corrupt { format: "gzip", .. })
    ));
}

#[test]
fn empty_input_is_truncated_but_an_empty_stream_is_fine() {
    for &format in Format::ALL {
        let e = run(&decompress(format).unwrap(), vec![]).unwrap_err();
        assert_eq!(
            TransformError::of(&e),
            Some(&TransformError::Truncated {
                format: format.name()
            })
        );
        let packed = compressed(format, b"");
        assert!(run(&decompress(format).unwrap(), vec![Bytes::from(packed)])
            .unwrap()
            .is_empty());
    }
}

#[test]
fn one_small_chunk_inflates_to_many_bounded_chunks() {
    let zeros = vec![0u8; 5 * MAX_CHUNK + 123];
    let packed = compressed(Format::Gzip, &zeros);
    assert!(packed.len() < 1000);
    let out = run(&decompress(Format::Gzip).unwrap(), vec![Bytes::from(packed)]).unwrap();
    assert_eq!(out.len(), 6);
    assert!(out[..5].iter().all(|c| c.len() == MAX_CHUNK));
    assert_eq!(concat(&out), zeros);
}

#[test]
fn levels_trade_size_for_speed() {
    // Words drawn from a small vocabulary by a fixed pseudo-random sequence.
    let words = [
        "stream", "chunk", "pipe", "reader", "writer", "queue", "bytes", "sink",
    ];
    let mut x = 12345u32;
    let mut data = Vec::new();
    for _ in 0..40_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        data.extend_from_slice(words[(x >> 16) as usize % words.len()].as_bytes());
        data.push(b' ');
    }
    for &format in Format::ALL {
        let fast = concat(
            &run(
                &compress_level(format, 1).unwrap(),
                vec![Bytes::from(data.clone())],
            )
            .unwrap(),
        );
        let best = concat(
            &run(
                &compress_level(format, 99).unwrap(),
                vec![Bytes::from(data.clone())],
            )
            .unwrap(),
        );
        assert!(
            best.len() <= fast.len(),
            "{format}: {} > {}",
            best.len(),
            fast.len()
        );
    }
}

#[test]
fn format_names_parse_exactly() {
    for &format in Format::ALL {
        assert_eq!(format.name().parse::<Format>().unwrap(), format);
    }
    assert!("GZIP".parse::<Format>().is_err());
    assert!("gzip ".parse::<Format>().is_err());
}

#[test]
fn the_pump_runs_a_codec_without_a_stream() {
    let packed: Vec<u8> = Pump::new(Encoder::new(Format::Deflate, 6).unwrap(), 1024)
        .run_all(b"hello hello hello")
        .unwrap()
        .concat();
    let pieces = Pump::new(Decoder::new(Format::Deflate).unwrap(), 4)
        .run_all(&packed)
        .unwrap();
    assert!(pieces.iter().all(|p| p.len() <= 4));
    assert_eq!(pieces.concat(), b"hello hello hello");
    assert_eq!(Decoder::new(Format::Deflate).unwrap().name(), "deflate");
}
