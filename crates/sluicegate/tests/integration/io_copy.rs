//! A file copied through a byte stream, every byte checked: `AsyncRead` → byte `ReadableStream` →
//! `pipe_to` → `WritableStream` over `AsyncWrite`, and a BYOB read loop into aligned buffers.
#![cfg(feature = "tokio")]

use crate::io_support;

use io_support::{pseudo_random, TempDir};
use sluicegate::readable::{ArrayBuffer, ByobView};
use sluicegate::{io, PipeOptions, ReadableStream, WritableStream};

const SIZE: usize = (5 << 20) + 12_345; // a few MiB, not a multiple of any chunk size

fn input(dir: &TempDir) -> (std::path::PathBuf, Vec<u8>) {
    let path = dir.path("input.bin");
    let data = pseudo_random(SIZE, 0x5EED);
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

fn assert_same_bytes(path: &std::path::Path, data: &[u8]) {
    let copy = std::fs::read(path).unwrap();
    assert_eq!(copy.len(), data.len(), "length of the copy");
    if let Some(at) = copy.iter().zip(data).position(|(a, b)| a != b) {
        panic!("the copy differs from the input at byte {at}");
    }
}

#[tokio::test]
async fn a_file_copied_through_a_byte_stream_keeps_every_byte() {
    let dir = TempDir::new("io-copy-pipe");
    let (path, data) = input(&dir);
    let out = dir.path("output.bin");
    let source = ReadableStream::from_async_read(tokio::fs::File::open(&path).await.unwrap());
    assert!(source.is_byte_stream());
    let sink = WritableStream::from_async_write(tokio::fs::File::create(&out).await.unwrap());
    source.pipe_to(&sink, PipeOptions::default()).await.unwrap();
    assert_same_bytes(&out, &data);
}

#[tokio::test]
async fn the_file_helpers_copy_every_byte_with_read_ahead_and_odd_chunk_sizes() {
    let dir = TempDir::new("io-copy-helpers");
    let (path, data) = input(&dir);
    for (chunk, hwm) in [(4096, 0), (10_007, 3 * 10_007), (1 << 20, 1 << 20)] {
        let out = dir.path(&format!("output-{chunk}.bin"));
        let source =
            ReadableStream::from_async_read_with(tokio::fs::File::open(&path).await.unwrap(), chunk, hwm);
        let sink = io::file_sink_with_high_water_mark(&out, 2 * chunk).await.unwrap();
        source.pipe_to(&sink, PipeOptions::default()).await.unwrap();
        assert_same_bytes(&out, &data);
    }
    let out = dir.path("output-helpers.bin");
    let source = io::file_source(&path, 64 * 1024).await.unwrap();
    source
        .pipe_to(&io::file_sink(&out).await.unwrap(), PipeOptions::default())
        .await
        .unwrap();
    assert_same_bytes(&out, &data);
}

#[tokio::test]
async fn a_byob_read_loop_into_aligned_buffers_copies_every_byte() {
    let dir = TempDir::new("io-copy-byob");
    let (path, data) = input(&dir);
    let out = dir.path("output.bin");
    let source = io::file_source(&path, 64 * 1024).await.unwrap();
    let reader = source.get_byob_reader().unwrap();
    let writer = io::file_sink(&out).await.unwrap().get_writer().unwrap();
    loop {
        let buffer = ArrayBuffer::aligned(48 * 1024);
        let address = buffer.as_slice().as_ptr();
        let result = reader.read(ByobView::new(buffer)).await.unwrap();
        if result.done {
            break;
        }
        let view = result.view.unwrap();
        assert_eq!(
            view.as_slice().as_ptr(),
            address,
            "the bytes land in the caller's buffer"
        );
        writer.ready().await.unwrap();
        drop(writer.write(view.into_bytes())); // a failure shows in close()
    }
    writer.close().await.unwrap();
    assert_same_bytes(&out, &data);
}

#[tokio::test]
async fn a_byte_stream_read_back_as_async_read_gives_every_byte() {
    use tokio::io::AsyncReadExt;
    let dir = TempDir::new("io-copy-async-read");
    let (path, data) = input(&dir);
    let source = io::file_source(&path, 10_000).await.unwrap();
    let mut back = Vec::new();
    source
        .into_async_read()
        .unwrap()
        .read_to_end(&mut back)
        .await
        .unwrap();
    assert!(back == data, "every byte, in order");
}
