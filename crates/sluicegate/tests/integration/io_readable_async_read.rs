//! A `ReadableStream<Bytes>` as an `AsyncRead` / `AsyncBufRead`: leftovers kept, end of file,
//! stream errors as I/O errors, release and cancel.
#![cfg(feature = "tokio")]

use crate::common;
use crate::io_support;

use std::io;
use std::pin::Pin;

use bytes::Bytes;
use common::{run, Log};
use io_support::pseudo_random;
use sluicegate::readable::{ReadableStream, ReadableStreamDefaultController, SourceFn};
use sluicegate::{Completion, StreamError};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

fn chunks(parts: &[&'static [u8]]) -> ReadableStream<Bytes> {
    ReadableStream::from_iter(parts.iter().map(|p| Bytes::from_static(p)).collect::<Vec<_>>())
}

#[test]
fn a_chunk_larger_than_the_buffer_keeps_its_leftover_and_empty_chunks_are_skipped() {
    run(async {
        let stream = chunks(&[b"hello world", b"", b"!", b"", b"?"]);
        let mut input = stream.into_async_read().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4];
        loop {
            let n = input.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        assert_eq!(got, ["hell", "o wo", "rld", "!", "?"]);
        assert_eq!(
            input.read(&mut buf).await.unwrap(),
            0,
            "end of file stays end of file"
        );
    });
}

#[test]
fn buf_read_lends_each_chunk_without_a_copy() {
    run(async {
        let data = Bytes::from(pseudo_random(5000, 9));
        let stream = ReadableStream::from_iter(vec![data.clone()]);
        let mut input = stream.into_async_read().unwrap();
        let lent = input.fill_buf().await.unwrap();
        assert_eq!(lent.as_ptr(), data.as_ptr(), "the chunk's own memory");
        assert_eq!(lent.len(), 5000);
        Pin::new(&mut input).consume(4000);
        let rest = input.fill_buf().await.unwrap();
        assert_eq!(rest, &data[4000..]);
        let mut copied = Vec::new();
        tokio::io::copy_buf(&mut input, &mut copied).await.unwrap();
        assert_eq!(copied, &data[4000..]);
    });
}

#[test]
fn a_stream_error_is_an_io_error_of_the_same_kind_and_identity() {
    run(async {
        let slot = common::Slot::<ReadableStreamDefaultController<Bytes>>::new();
        let s = slot.clone();
        let stream = ReadableStream::new(SourceFn::new().start(move |c| {
            s.set(c.clone());
            Completion::ok()
        }))
        .unwrap();
        let controller = slot.get();
        controller.enqueue(Bytes::from_static(b"before")).unwrap();
        let e: StreamError = io::Error::new(io::ErrorKind::TimedOut, "slow disk").into();
        let mut input = stream.into_async_read().unwrap();
        let mut got = [0u8; 6];
        input.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"before", "bytes before the error are delivered");
        controller.error(e.clone());
        let err = input.read(&mut got).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let inner = err
            .get_ref()
            .and_then(|i| i.downcast_ref::<StreamError>())
            .unwrap();
        assert!(StreamError::same(inner, &e));
    });
}

#[test]
fn dropping_releases_the_lock_and_loses_no_chunk() {
    run(async {
        let stream = chunks(&[b"abc", b"def"]);
        let mut input = stream.into_async_read().unwrap();
        assert!(stream.locked());
        let mut two = [0u8; 2];
        input.read_exact(&mut two).await.unwrap();
        drop(input);
        assert!(!stream.locked());
        let reader = stream.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().as_deref(), Some(&b"def"[..]));
        assert_eq!(
            stream.into_async_read().err().map(|e| e.kind()),
            Some(sluicegate::ErrorKind::Type),
            "a locked stream cannot be wrapped"
        );
    });
}

#[test]
fn cancel_reaches_the_source_and_then_reads_see_end_of_file() {
    run(async {
        let log = Log::new();
        let l = log.clone();
        let stream = ReadableStream::new(
            SourceFn::new()
                .pull(|c: &ReadableStreamDefaultController<Bytes>| {
                    c.enqueue(Bytes::from_static(b"more")).unwrap();
                    Completion::ok()
                })
                .cancel(move |r| l.push(format!("cancel {}", r.message()))),
        )
        .unwrap();
        let mut input = stream.into_async_read().unwrap();
        let mut one = [0u8; 1];
        input.read_exact(&mut one).await.unwrap();
        input.cancel(StreamError::user("enough")).await.unwrap();
        log.assert(&["cancel \"enough\""]);
        assert_eq!(input.read(&mut one).await.unwrap(), 0);
    });
}
