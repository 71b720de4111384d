//! `io::file_source` piped straight to `io::file_sink`: the pipe copies between the two files
//! directly (`copy_file_range` on Linux) when both ends are untouched, and otherwise moves chunks
//! as usual. Either way the bytes, the streams' states and the pipe's result are the same; the
//! streams' statistics tell the two apart (`bytes_copied`).
#![cfg(feature = "tokio")]

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use sluicegate::readable::ReadableStream;
use sluicegate::stats::State;
use sluicegate::transform::TransformStream;
use sluicegate::writable::WritableStream;
use sluicegate::{io, AbortController, PipeOptions, StreamError};

use crate::io_support::{pseudo_random, TempDir};

const CHUNK: usize = 64 * 1024;

fn len_of(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Whether `path` holds exactly `data` (compared without printing megabytes on failure).
fn assert_holds(path: &Path, data: &[u8]) {
    let got = std::fs::read(path).unwrap();
    assert_eq!(got.len(), data.len(), "length of {}", path.display());
    assert!(got == data, "{} holds every byte, in order", path.display());
}

/// A file of `len` pseudo-random bytes.
fn input(dir: &TempDir, len: usize, seed: u64) -> (std::path::PathBuf, Vec<u8>) {
    let path = dir.path(&format!("in-{len}.bin"));
    let data = pseudo_random(len, seed);
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

/// The pipe a test compares with the direct copy: `pipe_to_with` and an identity conversion,
/// which never copies directly (a conversion sees every chunk) and is otherwise `pipe_to`.
fn pipe_chunked(
    source: &ReadableStream<Bytes>,
    sink: &WritableStream<Bytes>,
    options: PipeOptions,
) -> sluicegate::Promised<()> {
    source.pipe_to_with(sink, options, |chunk: Bytes| chunk)
}

#[tokio::test]
async fn a_file_piped_to_a_file_is_copied_directly_byte_for_byte() {
    let dir = TempDir::new("direct-sizes");
    for (i, len) in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, (20 << 20) + 12_345]
        .into_iter()
        .enumerate()
    {
        let (path, data) = input(&dir, len, 7 + i as u64);
        let out = dir.path(&format!("out-{len}.bin"));
        let source = io::file_source(&path, CHUNK).await.unwrap();
        let sink = io::file_sink(&out).await.unwrap();
        source.pipe_to(&sink, PipeOptions::default()).await.unwrap();
        assert_holds(&out, &data);
        let (read, written) = (source.stats(), sink.stats());
        assert_eq!(read.bytes_copied, len as u64, "copied directly ({len} bytes)");
        assert_eq!(written.bytes_copied, len as u64);
        assert_eq!((read.chunks_out, written.chunks_in), (0, 0), "no chunk moved");
        assert_eq!((read.state, written.state), (State::Closed, State::Closed));
        assert!(
            !source.locked() && !sink.locked(),
            "the pipe released both streams"
        );
    }
}

#[tokio::test]
async fn a_direct_copy_starts_where_the_files_stand_and_appends_to_an_append_only_sink() {
    use std::io::{Seek, SeekFrom};
    let dir = TempDir::new("direct-positions");
    let (path, data) = input(&dir, (2 << 20) + 999, 6);
    let out = dir.path("out.bin");
    std::fs::write(&out, b"kept:").unwrap();
    let mut file = std::fs::File::open(&path).unwrap();
    file.seek(SeekFrom::Start(1000)).unwrap();
    let source = io::file_source_from(file, CHUNK).unwrap();
    let appending = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    let sink = io::file_sink_from(appending, CHUNK).unwrap();
    source.pipe_to(&sink, PipeOptions::default()).await.unwrap();
    let mut expected = b"kept:".to_vec();
    expected.extend_from_slice(&data[1000..]);
    assert_holds(&out, &expected);
    assert_eq!(
        sink.stats().bytes_copied,
        data.len() as u64 - 1000,
        "copied directly"
    );
}

#[tokio::test]
async fn a_source_read_from_first_is_piped_chunk_by_chunk() {
    let dir = TempDir::new("direct-read-first");
    let (path, data) = input(&dir, 3 * CHUNK + 17, 1);
    let out = dir.path("out.bin");
    let source = io::file_source(&path, CHUNK).await.unwrap();
    let reader = source.get_reader().unwrap();
    let first = reader.read().await.unwrap().unwrap();
    assert_eq!(first.len(), CHUNK);
    reader.release_lock();
    let sink = io::file_sink(&out).await.unwrap();
    source.pipe_to(&sink, PipeOptions::default()).await.unwrap();
    assert_holds(&out, &data[CHUNK..]);
    assert_eq!(source.stats().bytes_copied, 0, "not copied directly");
    assert_eq!(sink.stats().bytes_copied, 0);
    assert_eq!(sink.stats().bytes_in, data.len() as u64 - CHUNK as u64);
}

#[tokio::test]
async fn a_sink_written_to_first_is_piped_into_chunk_by_chunk() {
    let dir = TempDir::new("direct-written-first");
    let (path, data) = input(&dir, 2 * CHUNK + 3, 2);
    let out = dir.path("out.bin");
    let source = io::file_source(&path, CHUNK).await.unwrap();
    let sink = io::file_sink(&out).await.unwrap();
    let writer = sink.get_writer().unwrap();
    writer.write(Bytes::from_static(b"header:")).await.unwrap();
    writer.release_lock();
    source.pipe_to(&sink, PipeOptions::default()).await.unwrap();
    let mut expected = b"header:".to_vec();
    expected.extend_from_slice(&data);
    assert_holds(&out, &expected);
    assert_eq!(source.stats().bytes_copied, 0, "not copied directly");
    assert_eq!(sink.stats().bytes_copied, 0);
}

#[tokio::test]
async fn a_transform_or_a_conversion_between_the_files_sees_every_chunk() {
    let dir = TempDir::new("direct-transform");
    let (path, data) = input(&dir, 5 * CHUNK + 1, 3);
    // Through a transform stream.
    let out = dir.path("out-transform.bin");
    let source = io::file_source(&path, CHUNK).await.unwrap();
    let sink = io::file_sink(&out).await.unwrap();
    let through = source
        .pipe_through(
            &TransformStream::<Bytes, Bytes>::identity(),
            PipeOptions::default(),
        )
        .unwrap();
    through.pipe_to(&sink, PipeOptions::default()).await.unwrap();
    assert_holds(&out, &data);
    assert_eq!(source.stats().bytes_copied, 0);
    assert_eq!(sink.stats().bytes_copied, 0);
    assert_eq!(sink.stats().bytes_in, data.len() as u64);
    // Through a conversion that counts the chunks.
    let out = dir.path("out-convert.bin");
    let source = io::file_source(&path, CHUNK).await.unwrap();
    let sink = io::file_sink(&out).await.unwrap();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s = seen.clone();
    source
        .pipe_to_with(&sink, PipeOptions::default(), move |chunk: Bytes| {
            s.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
            chunk
        })
        .await
        .unwrap();
    assert_holds(&out, &data);
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), data.len());
    assert_eq!(source.stats().bytes_copied, 0);
}

#[tokio::test]
async fn prevent_close_leaves_the_sink_writable_after_a_direct_copy() {
    let dir = TempDir::new("direct-prevent-close");
    let (path, data) = input(&dir, 9 * CHUNK + 5, 4);
    let out = dir.path("out.bin");
    let source = io::file_source(&path, CHUNK).await.unwrap();
    let sink = io::file_sink(&out).await.unwrap();
    let options = PipeOptions {
        prevent_close: true,
        ..PipeOptions::default()
    };
    source.pipe_to(&sink, options).await.unwrap();
    assert_eq!(sink.stats().bytes_copied, data.len() as u64, "copied directly");
    assert_eq!(sink.stats().state, State::Open);
    assert_eq!(source.stats().state, State::Closed);
    let writer = sink.get_writer().unwrap();
    writer.write(Bytes::from_static(b"-tail")).await.unwrap();
    writer.close().await.unwrap();
    let mut expected = data.clone();
    expected.extend_from_slice(b"-tail");
    assert_holds(&out, &expected);
}

/// What a pipe from an endless file left behind once its abort signal fired mid-copy.
#[derive(Debug, PartialEq)]
struct Aborted {
    /// The pipe rejected with the signal's reason.
    with_reason: bool,
    source: State,
    sink: State,
    /// With prevent_cancel: the source still reads (zeros).
    source_reads: Option<bool>,
    /// With prevent_abort: the sink still takes a write and closes, the write at the file's end.
    sink_writes: Option<bool>,
}

/// Pipes `/dev/zero` (endless) into a file, directly or chunk by chunk, and aborts the signal
/// once the file holds more than 12 MiB (more than one slice of a direct copy).
async fn abort_mid_copy(dir: &TempDir, name: &str, direct: bool, prevent: bool) -> (Aborted, u64) {
    let out = dir.path(name);
    let source = io::file_source("/dev/zero", CHUNK).await.unwrap();
    let sink = io::file_sink(&out).await.unwrap();
    let controller = AbortController::new();
    let options = PipeOptions {
        prevent_abort: prevent,
        prevent_cancel: prevent,
        signal: Some(controller.signal()),
        ..PipeOptions::default()
    };
    let pipe = match direct {
        true => source.pipe_to(&sink, options),
        false => pipe_chunked(&source, &sink, options),
    };
    let reason = StreamError::user("enough");
    let watcher = {
        let (out, reason) = (out.clone(), reason.clone());
        tokio::spawn(async move {
            while len_of(&out) <= 12 << 20 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            controller.abort(Some(reason));
        })
    };
    let e = pipe.await.unwrap_err();
    watcher.await.unwrap();
    let copied = source.stats().bytes_copied;
    assert_eq!(sink.stats().bytes_copied, copied);
    let (source_reads, sink_writes) = if prevent {
        let chunk = source.get_reader().unwrap().read().await.unwrap().unwrap();
        let reads = chunk.len() == CHUNK && chunk.iter().all(|&b| b == 0);
        let writer = sink.get_writer().unwrap();
        writer.write(Bytes::from_static(b"x")).await.unwrap();
        writer.close().await.unwrap();
        let tail = std::fs::read(&out).unwrap();
        (
            Some(reads),
            Some(tail.last() == Some(&b'x') && tail[..tail.len() - 1].iter().all(|&b| b == 0)),
        )
    } else {
        (None, None)
    };
    let aborted = Aborted {
        with_reason: StreamError::same(&e, &reason),
        source: source.stats().state,
        sink: sink.stats().state,
        source_reads,
        sink_writes,
    };
    (aborted, copied)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_signal_stops_a_direct_copy_as_it_stops_a_chunked_pipe() {
    if !Path::new("/dev/zero").exists() {
        return;
    }
    let dir = TempDir::new("direct-abort");
    for prevent in [false, true] {
        let (direct, copied) = abort_mid_copy(&dir, &format!("direct-{prevent}.bin"), true, prevent).await;
        let (chunked, none) = abort_mid_copy(&dir, &format!("chunked-{prevent}.bin"), false, prevent).await;
        assert!(
            copied > 12 << 20,
            "the direct pipe copied directly ({copied} bytes)"
        );
        assert_eq!(none, 0, "the chunked pipe did not");
        assert_eq!(direct, chunked, "prevent_abort and prevent_cancel: {prevent}");
        let expected = match prevent {
            false => (State::Closed, State::Errored, None, None),
            true => (State::Open, State::Closed, Some(true), Some(true)),
        };
        assert!(direct.with_reason, "the pipe rejects with the signal's reason");
        assert_eq!(
            (
                direct.source,
                direct.sink,
                direct.source_reads,
                direct.sink_writes
            ),
            expected
        );
    }
}

#[tokio::test]
async fn a_read_error_of_the_source_file_surfaces_as_in_a_chunked_pipe() {
    // Reading a directory fails (EISDIR) though opening it succeeds.
    let dir = TempDir::new("direct-read-error");
    let mut outcomes = Vec::new();
    for direct in [true, false] {
        let out = dir.path(&format!("out-{direct}.bin"));
        let source = io::file_source_from(std::fs::File::open(dir.path("")).unwrap(), CHUNK).unwrap();
        let sink = io::file_sink(&out).await.unwrap();
        let pipe = match direct {
            true => source.pipe_to(&sink, PipeOptions::default()),
            false => pipe_chunked(&source, &sink, PipeOptions::default()),
        };
        let e = pipe.await.unwrap_err();
        let kind = e.reason::<std::io::Error>().map(std::io::Error::kind);
        outcomes.push((kind, source.stats().state, sink.stats().state, len_of(&out)));
    }
    assert_eq!(outcomes[0], outcomes[1], "direct, then chunked");
    assert_eq!(
        outcomes[0],
        (
            Some(std::io::ErrorKind::IsADirectory),
            State::Errored,
            State::Errored,
            0
        )
    );
}

#[tokio::test]
async fn a_write_error_of_the_sink_file_surfaces_as_in_a_chunked_pipe() {
    // Writing a file opened read-only fails (EBADF).
    let dir = TempDir::new("direct-write-error");
    let (path, _) = input(&dir, 40 * CHUNK, 5);
    let mut outcomes = Vec::new();
    for direct in [true, false] {
        let out = dir.path(&format!("out-{direct}.bin"));
        std::fs::write(&out, b"").unwrap();
        let source = io::file_source(&path, CHUNK).await.unwrap();
        let sink = io::file_sink_from(std::fs::File::open(&out).unwrap(), CHUNK).unwrap();
        let pipe = match direct {
            true => source.pipe_to(&sink, PipeOptions::default()),
            false => pipe_chunked(&source, &sink, PipeOptions::default()),
        };
        let e = pipe.await.unwrap_err();
        let kind = e.reason::<std::io::Error>().map(std::io::Error::kind);
        let closed = sink.get_writer().unwrap().closed().await.unwrap_err();
        assert!(StreamError::same(&e, &closed), "the sink holds the pipe's error");
        outcomes.push((kind, source.stats().state, sink.stats().state));
    }
    assert_eq!(outcomes[0], outcomes[1], "direct, then chunked");
    let (kind, source, sink) = &outcomes[0];
    assert!(kind.is_some(), "an io::Error");
    assert_eq!(
        (source, sink),
        (&State::Closed, &State::Errored),
        "the source cancelled"
    );
}

#[test]
fn a_dropped_pipe_stops_copying_within_a_few_slices() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = TempDir::new("direct-dropped");
    // 4 GiB of zeros in a sparse file: far more than the pipe copies before it is dropped.
    let input = dir.path("in.bin");
    std::fs::File::create(&input).unwrap().set_len(4 << 30).unwrap();
    let out = dir.path("out.bin");
    let (source, sink, finished) = runtime.block_on(async {
        let source = io::file_source(&input, CHUNK).await.unwrap();
        let sink = io::file_sink(&out).await.unwrap();
        let mut pipe = Box::pin(source.pipe_to(&sink, PipeOptions::default()));
        let mut finished = false;
        while !finished && len_of(&out) <= 1 << 20 {
            tokio::select! {
                _ = &mut pipe => finished = true,
                _ = tokio::time::sleep(Duration::from_millis(1)) => {}
            }
        }
        (source, sink, finished)
    });
    // The pipe's future is gone and nothing drives its host: the copy, let go by the pipe's last
    // step to at most four slices past those copied then, copies no more than that (8 MiB each,
    // plus the chunks read ahead before the copy began).
    let at_drop = len_of(&out);
    let bound = at_drop + (32 << 20) + 4 * CHUNK as u64;
    let largest = runtime.block_on(async {
        let mut largest = at_drop;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            largest = largest.max(len_of(&out));
        }
        largest
    });
    let locked = source.locked() && sink.locked();
    // The stalled pipe's threads wait for it forever, as a stalled chunked pipe's do; asserting
    // only after this keeps a failure from waiting for them too.
    runtime.shutdown_background();
    assert!(!finished, "the pipe had not finished when it was dropped");
    assert!(
        largest <= bound,
        "copying went on: {at_drop} bytes when the pipe was dropped, {largest} later"
    );
    assert!(locked, "a stalled pipe keeps both streams locked");
}
