//! Files as byte streams, on a tokio runtime.
#![cfg(feature = "tokio")]

use crate::io_support;

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

#[tokio::test]
async fn a_write_error_on_the_writing_thread_errors_the_stream_with_the_io_error() {
    // Every write to /dev/full fails with ENOSPC.
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let sink = io::file_sink_with_high_water_mark("/dev/full", 1024)
        .await
        .unwrap();
    let writer = sink.get_writer().unwrap();
    let mut first_error = None;
    for _ in 0..100 {
        if let Err(e) = writer.write(Bytes::from(vec![1u8; 4096])).await {
            first_error = Some(e);
            break;
        }
    }
    let e = match first_error {
        Some(e) => e,
        None => writer.close().await.unwrap_err(),
    };
    assert_eq!(
        e.reason::<std::io::Error>().map(std::io::Error::kind),
        Some(std::io::ErrorKind::StorageFull)
    );
    let closed = writer.closed().await.unwrap_err();
    assert!(
        sluicegate::StreamError::same(&e, &closed),
        "the stream holds that very error"
    );
}

#[tokio::test]
async fn a_missing_file_is_not_found_and_a_cancelled_source_stops_reading() {
    let dir = TempDir::new("file-source-errors");
    let e = io::file_source(dir.path("missing.bin"), 4096).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    let path = dir.path("in.bin");
    std::fs::write(&path, pseudo_random(1 << 20, 2)).unwrap();
    let source = io::file_source(&path, 4096).await.unwrap();
    let reader = source.get_reader().unwrap();
    assert_eq!(reader.read().await.unwrap().unwrap().len(), 4096);
    reader
        .cancel(sluicegate::StreamError::user("enough"))
        .await
        .unwrap();
    assert!(
        reader.read().await.unwrap().is_none(),
        "a cancelled stream is closed"
    );
}

#[test]
fn outside_a_tokio_runtime_the_file_streams_fail_instead_of_panicking() {
    let dir = TempDir::new("file-no-runtime");
    let path = dir.path("f.bin");
    let file = std::fs::File::create(&path).unwrap();
    let e = io::file_sink_from(file, 1024).unwrap_err();
    assert!(e.to_string().contains("tokio runtime"), "{e}");
    let file = std::fs::File::open(&path).unwrap();
    assert!(io::file_source_from(file, 1024).is_err());
    // The path-taking helpers too, though they open the file with `tokio::fs`, which panics
    // outside a runtime: they check first and fail without creating or opening anything.
    let e = futures::executor::block_on(io::file_source(&path, 1024)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::Other);
    assert!(e.to_string().contains("tokio runtime"), "{e}");
    let fresh = dir.path("never-created.bin");
    let e = futures::executor::block_on(io::file_sink(&fresh)).unwrap_err();
    assert!(e.to_string().contains("tokio runtime"), "{e}");
    let e = futures::executor::block_on(io::file_sink_with_high_water_mark(&fresh, 1)).unwrap_err();
    assert!(e.to_string().contains("tokio runtime"), "{e}");
    assert!(!fresh.exists(), "nothing was created");
}

#[tokio::test]
async fn aborting_a_file_sink_drops_the_queued_chunks_and_keeps_the_reason() {
    let dir = TempDir::new("file-sink-abort");
    let path = dir.path("out.bin");
    let sink = io::file_sink_with_high_water_mark(&path, 4096).await.unwrap();
    let writer = sink.get_writer().unwrap();
    let writes: Vec<_> = (0..100)
        .map(|_| writer.write(Bytes::from(vec![9u8; 4096])))
        .collect();
    writer.abort(sluicegate::StreamError::user("stop")).await.unwrap();
    let e = writer.closed().await.unwrap_err();
    assert_eq!(e.reason::<&str>(), Some(&"stop"));
    let mut failed = 0;
    for w in writes {
        if let Err(err) = w.await {
            assert!(
                sluicegate::StreamError::same(&err, &e),
                "queued writes fail with the reason"
            );
            failed += 1;
        }
    }
    assert!(
        failed >= 90,
        "the queued chunks are dropped, not written ({failed} failed)"
    );
    // abort() resolved after the writing thread wrote what it held and closed the file.
    let written = std::fs::metadata(&path).unwrap().len();
    assert_eq!(
        written,
        (100 - failed) as u64 * 4096,
        "every write reported done is on disk"
    );
}

/// The files `path` is open as in this process, from `/proc/self/fd`.
fn open_as(path: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target == path)
        .count()
}

#[test]
fn file_ends_dropped_unused_close_their_files_at_once() {
    let dir = TempDir::new("file-unused");
    let (input, output) = (dir.path("in.bin"), dir.path("out.bin"));
    std::fs::write(&input, pseudo_random(1 << 20, 5)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let source = io::file_source(&input, 64 * 1024).await.unwrap();
        let sink = io::file_sink(&output).await.unwrap();
        assert_eq!((open_as(&input), open_as(&output)), (1, 1));
        drop((source, sink));
        // No thread was started for them: their files went with the streams, not later.
        assert_eq!((open_as(&input), open_as(&output)), (0, 0));
    });
}

// Until 2026-12-07 this pipe was the known leak of RELIABILITY.md: nothing freed a pipe whose
// future and handles were all dropped. Its group is abandoned now, so its files close at once.
#[test]
fn a_pipe_between_file_ends_dropped_before_its_first_poll_lets_the_runtime_shut_down() {
    let dir = TempDir::new("file-pipe-unpolled");
    let (input, output) = (dir.path("in.bin"), dir.path("out.bin"));
    // More than the source reads ahead, so a reading thread started for it would block on its
    // full channel, and a writing thread would wait for chunks: either keeps a runtime from
    // shutting down, and the pipe (which has started) holds both streams for good.
    std::fs::write(&input, pseudo_random(4 << 20, 6)).unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (input_path, output_path) = (input.clone(), output.clone());
    std::thread::spawn(move || {
        let (input, output) = (input_path, output_path);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let source = io::file_source(&input, 64 * 1024).await.unwrap();
            let sink = io::file_sink(&output).await.unwrap();
            drop(source.pipe_to(&sink, PipeOptions::default()));
        });
        drop(rt);
        let _ = done_tx.send(());
    });
    assert!(
        done_rx.recv_timeout(std::time::Duration::from_secs(20)).is_ok(),
        "the runtime did not shut down within 20 s: a file end's thread is waiting"
    );
    // Nothing held the pipe's streams: they were freed with their files.
    assert_eq!((open_as(&input), open_as(&output)), (0, 0));
}

#[tokio::test]
async fn a_file_sink_closed_before_any_write_still_closes_cleanly() {
    let dir = TempDir::new("file-sink-close-unused");
    let path = dir.path("out.bin");
    let sink = io::file_sink(&path).await.unwrap();
    sink.close().await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"");
    assert_eq!(open_as(&path), 0);
    let aborted = io::file_sink(&path).await.unwrap();
    aborted
        .abort(sluicegate::StreamError::type_error("never mind"))
        .await
        .unwrap();
    assert_eq!(open_as(&path), 0);
}
