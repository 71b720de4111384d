//! The gzip decoder reads gzip's framing itself (`compression/gzip.rs`) around raw inflate. This
//! checks it against zlib's own reading of the same bytes, zlib-rs in gzip mode, which is what
//! the decoder used before: for members with every combination of optional header fields, some
//! with one byte flipped, cut short or followed by other bytes, and fed in random pieces, both
//! must accept the same inputs with the same output, and refuse the others for the same kind of
//! reason.

use std::io::Write;

use bytes::Bytes;
use flate2::{Compression, Crc, Decompress, FlushDecompress, Status};
use proptest::prelude::*;
use sluicegate_transforms::codec::Pump;
use sluicegate_transforms::compression::{Decoder, Format};
use sluicegate_transforms::{TransformError, MAX_CHUNK};

/// How a decoder ended: its whole output, or the kind of error.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Decoded(Vec<u8>),
    Corrupt,
    Truncated,
    TrailingData,
}

fn outcome(e: TransformError) -> Outcome {
    match e {
        TransformError::Corrupt { .. } => Outcome::Corrupt,
        TransformError::Truncated { .. } => Outcome::Truncated,
        TransformError::TrailingData { .. } => Outcome::TrailingData,
        other => panic!("a decoder failed with {other:?}"),
    }
}

/// The crate's gzip decoder over `input` fed in the given pieces.
fn decoded(input: &[u8], cuts: &[usize]) -> Outcome {
    let mut pump = Pump::new(Decoder::new(Format::Gzip).unwrap(), MAX_CHUNK);
    let mut out = Vec::new();
    let mut at = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        let end = end.clamp(at, input.len());
        pump.push(Bytes::copy_from_slice(&input[at..end]));
        at = end;
        loop {
            match pump.next_piece() {
                Ok(Some(piece)) => out.extend_from_slice(&piece),
                Ok(None) => break,
                Err(e) => return outcome(e),
            }
        }
    }
    loop {
        match pump.finish_piece() {
            Ok(Some(piece)) => out.extend_from_slice(&piece),
            Ok(None) => return Outcome::Decoded(out),
            Err(e) => return outcome(e),
        }
    }
}

/// zlib's reading: zlib-rs in gzip mode, member after member, with the rules the decoder has
/// always had around it (a next member must start with 0x1f; anything else after a member is
/// trailing data; an input that ends inside a member is truncated).
fn reference(input: &[u8]) -> Outcome {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        let mut z = Decompress::new_gzip(15);
        loop {
            out.reserve(1 << 16);
            let before = z.total_in();
            let status = match z.decompress_vec(rest, &mut out, FlushDecompress::None) {
                Ok(status) => status,
                Err(_) => return Outcome::Corrupt,
            };
            let read = (z.total_in() - before) as usize;
            rest = &rest[read..];
            if status == Status::StreamEnd {
                break;
            }
            if rest.is_empty() && out.len() < out.capacity() {
                return Outcome::Truncated;
            }
        }
        match rest.first() {
            None => return Outcome::Decoded(out),
            Some(0x1f) => {}
            Some(_) => return Outcome::TrailingData,
        }
    }
}

/// One gzip member written by hand, so that every optional header field can appear: `flags`
/// picks FEXTRA (0x04), FNAME (0x08), FCOMMENT (0x10) and FHCRC (0x02).
fn member(data: &[u8], flags: u8, extra: &[u8], name: &[u8], comment: &[u8]) -> Vec<u8> {
    let mut m = vec![0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 255];
    if flags & 0x04 != 0 {
        m.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        m.extend_from_slice(extra);
    }
    for (flag, text) in [(0x08, name), (0x10, comment)] {
        if flags & flag != 0 {
            m.extend(text.iter().copied().filter(|&b| b != 0));
            m.push(0);
        }
    }
    if flags & 0x02 != 0 {
        let mut crc = Crc::new();
        crc.update(&m);
        m.extend_from_slice(&(crc.sum() as u16).to_le_bytes());
    }
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
    deflate.write_all(data).unwrap();
    m.extend(deflate.finish().unwrap());
    let mut crc = Crc::new();
    crc.update(data);
    m.extend_from_slice(&crc.sum().to_le_bytes());
    m.extend_from_slice(&crc.amount().to_le_bytes());
    m
}

fn member_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..3_000),
            proptest::collection::vec(prop_oneof![Just(b'x'), Just(b'y')], 0..50_000),
        ],
        proptest::sample::select(vec![0u8, 0x02, 0x04, 0x08, 0x10, 0x1e, 0x1c, 0x0a]),
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(data, flags, extra, name, comment)| member(&data, flags, &extra, &name, &comment))
}

/// What is done to the members before decoding.
#[derive(Clone, Debug)]
enum Damage {
    None,
    /// Flip bits of the byte at this fraction (per mille) of the input.
    Flip(u16, u8),
    /// Flip bits of this byte of the first member's header (or of its body, if it is short).
    FlipHeader(u8, u8),
    /// Flip bits of this byte of the last member's trailer (counted from the end).
    FlipTrailer(u8, u8),
    /// Keep this fraction (per mille) of the input.
    Cut(u16),
    /// Append these bytes.
    Append(Vec<u8>),
}

fn damage_strategy() -> impl Strategy<Value = Damage> {
    prop_oneof![
        Just(Damage::None),
        (0u16..1000, 1u8..=255).prop_map(|(at, bits)| Damage::Flip(at, bits)),
        (0u8..100, 1u8..=255).prop_map(|(at, bits)| Damage::FlipHeader(at, bits)),
        (0u8..8, 1u8..=255).prop_map(|(at, bits)| Damage::FlipTrailer(at, bits)),
        (0u16..1000).prop_map(Damage::Cut),
        proptest::collection::vec(any::<u8>(), 1..20).prop_map(Damage::Append),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_decoder_reads_gzip_as_zlib_does(
        members in proptest::collection::vec(member_strategy(), 1..4),
        damage in damage_strategy(),
        cuts in proptest::collection::vec(0usize..200_000, 0..12),
    ) {
        let mut input: Vec<u8> = members.concat();
        match damage {
            Damage::None => {}
            Damage::Flip(at, bits) => {
                let i = input.len() * usize::from(at) / 1000;
                input[i] ^= bits;
            }
            Damage::FlipHeader(at, bits) => {
                let i = usize::from(at).min(input.len() - 1);
                input[i] ^= bits;
            }
            Damage::FlipTrailer(at, bits) => {
                let i = input.len() - 1 - usize::from(at);
                input[i] ^= bits;
            }
            Damage::Cut(keep) => input.truncate(input.len() * usize::from(keep) / 1000),
            Damage::Append(bytes) => input.extend(bytes),
        }
        let mut cuts = cuts;
        cuts.sort_unstable();
        prop_assert_eq!(decoded(&input, &cuts), reference(&input));
    }
}

#[test]
fn the_reference_tells_the_three_faults_apart() {
    let good = member(b"hello", 0x1e, b"ex", b"name", b"comment");
    assert_eq!(reference(&good), Outcome::Decoded(b"hello".to_vec()));
    assert_eq!(reference(&good[..good.len() - 1]), Outcome::Truncated);
    assert_eq!(reference(&[&good[..], b"x"].concat()), Outcome::TrailingData);
    let mut bad = good.clone();
    bad[3] |= 0x20;
    assert_eq!(reference(&bad), Outcome::Corrupt);
    assert_eq!(decoded(&good, &[3, 7, 20]), Outcome::Decoded(b"hello".to_vec()));
}
