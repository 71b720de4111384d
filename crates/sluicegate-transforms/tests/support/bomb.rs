//! The decompression bomb, shared by `tests/bomb.rs` and `examples/bomb.rs`: `gib` GiB of zeros,
//! gzip-compressed as concatenated 64 MiB members, through the gzip decoder into a sink that
//! counts and discards. Returns the bytes the sink saw and the process's peak RSS in bytes.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use sluicegate::writable::SinkFn;
use sluicegate::{ByteLengthQueuingStrategy, PipeOptions, ReadableStream, WritableStream};
use sluicegate_transforms::compression::{decompress, Format};

/// The inflated size of one gzip member of the bomb.
pub const MEMBER: u64 = 64 << 20;

/// One gzip member of `MEMBER` zeros at level 9, made from a 1 MiB buffer so that making it does
/// not raise the peak RSS being measured.
pub fn member() -> Bytes {
    let zeros = vec![0u8; 1 << 20];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..MEMBER >> 20 {
        gz.write_all(&zeros).unwrap();
    }
    Bytes::from(gz.finish().unwrap())
}

/// Runs the bomb; returns (bytes out, peak RSS in bytes from /proc/self/status VmHWM).
pub fn run(gib: u64) -> (u64, u64) {
    let member = member();
    let members = gib * (1 << 30) / MEMBER;
    let seen = Arc::new(AtomicU64::new(0));
    let s = seen.clone();
    let sink = WritableStream::with_strategy(
        SinkFn::new().write(move |chunk: Bytes, _| {
            assert!(chunk.len() <= sluicegate_transforms::MAX_CHUNK);
            assert!(chunk.iter().all(|b| *b == 0));
            s.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }),
        ByteLengthQueuingStrategy::new(64.0 * 1024.0),
    )
    .unwrap();
    let source = ReadableStream::from_iter((0..members).map(move |_| member.clone()));
    futures::executor::block_on(async {
        source
            .pipe_through(&decompress(Format::Gzip).unwrap(), PipeOptions::default())
            .unwrap()
            .pipe_to(&sink, PipeOptions::default())
            .await
            .unwrap();
    });
    (seen.load(Ordering::Relaxed), peak_rss())
}

/// VmHWM of this process, in bytes.
pub fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}
