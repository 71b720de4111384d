//! Byte streams through the generic machinery: `pipe_to`, `pipe_through`, `values()`, cancel
//! through a pipe, and a file copied through a byte stream with BYOB reads, every byte checked.

use crate::bytes_common;
use crate::common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use sluicegate::readable::{ArrayBuffer, ByobView, ByteSourceFn, ReadableStream};
use sluicegate::transform::TransformStream;
use sluicegate::writable::SinkFn;
use sluicegate::{Completion, ErrorKind, PipeOptions, StreamError, WritableStream};

use bytes_common::{b, controlled, Ctl};
use common::{assert_rejects_with, describe, Log};

fn counting_source(chunks: usize) -> ReadableStream<Bytes> {
    let mut n = 0;
    ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &Ctl| {
        if n == chunks {
            c.close().unwrap();
        } else {
            c.enqueue(Bytes::from(vec![n as u8; n + 1])).unwrap();
            n += 1;
        }
    }))
    .unwrap()
}

fn collecting_sink() -> (WritableStream<Bytes>, Arc<Mutex<Vec<Bytes>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let ws = WritableStream::new(SinkFn::new().write(move |chunk: Bytes, _c| {
        g.lock().unwrap().push(chunk);
        Completion::ok()
    }))
    .unwrap();
    (ws, got)
}

#[test]
fn a_byte_stream_pipes_to_a_writable_stream() {
    common::run(async {
        let rs = counting_source(5);
        let (ws, got) = collecting_sink();
        rs.pipe_to(&ws, PipeOptions::default()).await.unwrap();
        let got = got.lock().unwrap().clone();
        assert_eq!(got.len(), 5);
        for (i, chunk) in got.iter().enumerate() {
            assert_eq!(chunk, &Bytes::from(vec![i as u8; i + 1]));
        }
        assert!(!rs.is_readable());
    });
}

#[test]
fn a_byte_stream_pipes_through_a_transform() {
    common::run(async {
        let rs = counting_source(3);
        let lengths = rs
            .pipe_through(
                &TransformStream::map(|chunk: Bytes| chunk.len()),
                PipeOptions::default(),
            )
            .unwrap();
        let out: Vec<usize> = lengths.values().unwrap().map(Result::unwrap).collect().await;
        assert_eq!(out, [1, 2, 3]);
    });
}

#[test]
fn values_iterates_a_byte_stream() {
    common::run(async {
        let out: Vec<Bytes> = counting_source(3)
            .values()
            .unwrap()
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(out, vec![b(&[0]), b(&[1, 1]), b(&[2, 2, 2])]);
    });
}

#[test]
fn values_on_an_erroring_byte_stream_yields_the_error() {
    common::run(async {
        let (rs, c) = controlled(None);
        let mut values = rs.values().unwrap();
        c.enqueue(b(&[1])).unwrap();
        let the_error = StreamError::user("error1");
        assert_eq!(values.next().await.unwrap().unwrap(), b(&[1]));
        c.error(the_error.clone());
        assert_rejects_with(values.next().await.unwrap(), &the_error);
    });
}

#[test]
fn aborting_the_destination_cancels_the_byte_source() {
    common::run(async {
        let log = Log::new();
        let l = log.clone();
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().cancel(move |r: StreamError| {
            l.push(format!("cancel {}", describe(&r)));
        }))
        .unwrap();
        let the_error = StreamError::user("sink failed");
        let e = the_error.clone();
        let ws = WritableStream::<Bytes>::new(SinkFn::new().start(move |c| {
            c.error(e.clone());
        }))
        .unwrap();
        assert_rejects_with(rs.pipe_to(&ws, PipeOptions::default()).await, &the_error);
        log.assert(&["cancel sink failed"]);
    });
}

#[test]
fn piping_a_tee_branch_of_a_byte_stream() {
    common::run(async {
        let (branch1, branch2) = counting_source(4).tee().unwrap();
        let (ws, got) = collecting_sink();
        let (piped, other) = futures::join!(
            branch1.pipe_to(&ws, PipeOptions::default()),
            common::read_all(&branch2)
        );
        piped.unwrap();
        assert_eq!(got.lock().unwrap().len(), 4);
        assert_eq!(other.unwrap().concat(), vec![0, 1, 1, 2, 2, 2, 3, 3, 3, 3]);
    });
}

/// A byte source over a file: reads straight into the BYOB request's buffer.
fn file_source(mut file: std::fs::File) -> ByteSourceFn {
    ByteSourceFn::new()
        .pull(move |c: &Ctl| {
            let request = c
                .byob_request()
                .expect("autoAllocateChunkSize gives every read a request");
            let n = request
                .with_view_mut(|buf| file.read(buf))
                .unwrap()
                .map_err(|e| StreamError::user(e.to_string()))?;
            if n == 0 {
                c.close().unwrap();
            }
            request.respond(n).unwrap();
            Ok::<(), StreamError>(())
        })
        .auto_allocate_chunk_size(64 * 1024)
}

fn temp_file_with(name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("sluicegate-{}-{}", std::process::id(), name));
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(data).unwrap();
    path
}

fn test_data(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn a_file_copied_through_a_byte_stream_with_byob_reads_is_identical() {
    let data = test_data(1_000_003);
    let src = temp_file_with("byob-src", &data);
    let dst = src.with_extension("copy");
    let rs = ReadableStream::new_bytes(file_source(std::fs::File::open(&src).unwrap())).unwrap();
    let reader = rs.get_byob_reader().unwrap();
    let mut out = std::fs::File::create(&dst).unwrap();
    let mut reads = 0;
    common::run(async move {
        let mut buffer = ArrayBuffer::aligned(16 * 1024);
        loop {
            let r = reader.read(ByobView::new(buffer)).await.unwrap();
            let view = r.view.expect("a view");
            assert!(
                view.buffer().is_aligned(),
                "the caller's aligned buffer comes back"
            );
            out.write_all(view.as_slice()).unwrap();
            if r.done {
                break;
            }
            reads += 1;
            buffer = view.into_buffer();
        }
        assert!(reads >= data.len() / (16 * 1024));
        out.flush().unwrap();
    });
    let copied = std::fs::read(&dst).unwrap();
    let original = test_data(1_000_003);
    assert_eq!(copied.len(), original.len());
    assert!(copied == original, "every byte is copied");
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&dst);
}

#[test]
fn a_file_read_with_a_default_reader_uses_auto_allocated_aligned_chunks() {
    let data = test_data(300_000);
    let src = temp_file_with("default-src", &data);
    let rs = ReadableStream::new_bytes(file_source(std::fs::File::open(&src).unwrap())).unwrap();
    let chunks = common::run(async move { common::read_all(&rs).await.unwrap() });
    assert!(chunks.iter().all(|c| c.as_ptr() as usize % 4096 == 0));
    assert!(chunks.iter().all(|c| c.len() <= 64 * 1024));
    assert_eq!(chunks.concat(), data);
    let _ = std::fs::remove_file(&src);
}

#[test]
fn an_io_error_in_pull_errors_the_stream() {
    common::run(async {
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new().pull(|_c: &Ctl| Completion::err(StreamError::user("disk on fire"))),
        )
        .unwrap();
        let reader = rs.get_byob_reader().unwrap();
        let e = reader.read(ByobView::new(ArrayBuffer::new(8))).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::User);
        assert_eq!(
            rs.stored_error().map(|e| describe(&e)),
            Some("disk on fire".to_string())
        );
    });
}
