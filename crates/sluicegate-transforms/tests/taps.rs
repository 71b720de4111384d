//! Hashing and counting taps: chunks pass through unchanged, the digest matches the crates'
//! own for any chunking, and a cancelled stream's digest fails with the reason.

mod common;

use bytes::Bytes;
use proptest::prelude::*;
use sha2::Digest as _;
use sluicegate::{ErrorKind, PipeOptions, ReadableStream, StreamError};
use sluicegate_transforms::count::count;
use sluicegate_transforms::hash::{tap, Algorithm, Hasher};

use common::{cut, run};

fn direct(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        Algorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        Algorithm::Blake3 => blake3::hash(data).as_bytes().to_vec(),
        Algorithm::Crc32 => crc32fast::hash(data).to_be_bytes().to_vec(),
    }
}

const ALL: [Algorithm; 4] = [
    Algorithm::Sha256,
    Algorithm::Sha512,
    Algorithm::Blake3,
    Algorithm::Crc32,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn digests_match_the_crates_and_chunks_pass_unchanged(
        algorithm in proptest::sample::select(ALL.to_vec()),
        data in proptest::collection::vec(any::<u8>(), 0..5000),
        cuts in proptest::collection::vec(0u16..=1000, 0..10),
    ) {
        let chunks = cut(&data, &cuts);
        let (t, digest) = tap(algorithm);
        let out = run(&t, chunks.clone()).unwrap();
        prop_assert_eq!(out, chunks);
        let digest = futures::executor::block_on(digest).unwrap();
        prop_assert_eq!(digest.as_bytes(), &direct(algorithm, &data)[..]);
    }
}

#[test]
fn known_answers() {
    let mut h = Hasher::new(Algorithm::Crc32);
    h.update(b"123456789");
    assert_eq!(h.finalize().to_hex(), "cbf43926");
    let mut h = Hasher::new(Algorithm::Sha512);
    h.update(b"abc");
    assert!(h.finalize().to_hex().starts_with("ddaf35a193617aba"));
}

#[test]
fn a_cancelled_stream_fails_its_digest_with_the_reason() {
    futures::executor::block_on(async {
        let (t, digest) = tap(Algorithm::Sha256);
        let writer = t.writable().get_writer().unwrap();
        drop(writer.write(Bytes::from_static(b"partial")));
        t.readable().cancel(StreamError::user("stop")).await.unwrap();
        let e = digest.await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::User);
        assert_eq!(e.reason::<&str>(), Some(&"stop"));
    });
}

#[test]
fn an_aborted_stream_fails_its_digest_with_the_reason() {
    futures::executor::block_on(async {
        let (t, digest) = tap(Algorithm::Blake3);
        let writer = t.writable().get_writer().unwrap();
        writer.abort(StreamError::user("abort")).await.unwrap();
        let e = digest.await.unwrap_err();
        assert_eq!(e.reason::<&str>(), Some(&"abort"));
    });
}

#[test]
fn the_counter_counts_bytes_and_chunks() {
    let (t, counts) = count();
    let chunks: Vec<Bytes> = (0..10).map(|i| Bytes::from(vec![0u8; i * 100])).collect();
    futures::executor::block_on(async {
        let out = ReadableStream::from_iter(chunks.clone())
            .pipe_through(&t, PipeOptions::default())
            .unwrap();
        let reader = out.get_reader().unwrap();
        let mut seen = 0;
        while let Some(c) = reader.read().await.unwrap() {
            assert_eq!(c, chunks[seen]);
            seen += 1;
            // The counter is ahead of the reader by at most what the queues hold.
            assert!(counts.chunks() >= seen as u64);
        }
    });
    assert_eq!(counts.bytes(), 4500);
    assert_eq!(counts.chunks(), 10);
    assert!(counts.is_finished());
}
