//! Files as byte streams, on a tokio runtime.
#![cfg(feature = "tokio")]

mod io_support;

use bytes::Bytes;
use io_support::{pseudo_random, TempDir};
use sluicegate::readable::ReadableStream;
use sluicegate::{io, PipeOptions};

#[tokio::test]
async fn a_stream_piped_into_a_file_sink_writes_every_byte() {
    let dir = TempDir::new("file-sink");
    let path = dir.path("out.bin");
    let data = pseudo_random(3 << 20, 11);
    let chunks: Vec<Bytes> = data.chunks(10_000).map(Bytes::copy_from_slice).collect();
    let sink = io::file_sink(&path).await.unwrap();
    ReadableStream::from_iter(chunks)
        .pipe_to(&sink, PipeOptions::default())
        .await
        .unwrap();
    assert!(
        std::fs::read(&path).unwrap() == data,
        "the file holds every byte, in order"
    );
}

#[tokio::test]
async fn a_file_sink_truncates_and_reports_an_unwritable_path() {
    let dir = TempDir::new("file-sink-errors");
    let path = dir.path("out.bin");
    std::fs::write(&path, b"old contents that are longer").unwrap();
    let sink = io::file_sink_with_high_water_mark(&path, 4).await.unwrap();
    let writer = sink.get_writer().unwrap();
    assert_eq!(writer.desired_size().unwrap(), Some(4.0));
    writer.write(Bytes::from_static(b"new")).await.unwrap();
    writer.close().await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    let missing = dir.path("no/such/dir/out.bin");
    let e = io::file_sink(&missing).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridges_are_send_and_carry_every_byte_across_tasks() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let data = pseudo_random(1 << 20, 5);
    let chunks: Vec<Bytes> = data.chunks(3000).map(Bytes::copy_from_slice).collect();
    // A readable stream read as AsyncBufRead in one task, copied into a writable stream written
    // as AsyncWrite, whose sink is one end of an in-memory pipe read in another task.
    let (ours, mut theirs) = tokio::io::duplex(8192);
    let writable = sluicegate::WritableStream::from_async_write_with_high_water_mark(ours, 16384);
    let readable = ReadableStream::from_iter(chunks);
    let copier = tokio::spawn(async move {
        let mut input = readable.into_async_read().unwrap();
        let mut output = writable.into_async_write().unwrap();
        let n = tokio::io::copy_buf(&mut input, &mut output).await.unwrap();
        output.shutdown().await.unwrap();
        n
    });
    let collector = tokio::spawn(async move {
        let mut got = Vec::new();
        theirs.read_to_end(&mut got).await.unwrap();
        got
    });
    assert_eq!(copier.await.unwrap(), data.len() as u64);
    assert!(collector.await.unwrap() == data, "every byte, in order");
}
