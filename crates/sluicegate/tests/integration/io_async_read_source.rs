//! Any `AsyncRead` as a readable byte stream: BYOB reads filled in place, aligned chunks moved to
//! default readers, read-ahead bounded in bytes, end of file, I/O errors and cancel.
#![cfg(feature = "tokio")]

use crate::common;
use crate::io_support;

use std::io;

use common::{flush, run};
use io_support::ReaderHandle;
use sluicegate::readable::{ArrayBuffer, ByobView};
use sluicegate::{ErrorKind, ReadableStream, StreamError};

#[test]
fn byob_reads_fill_the_callers_buffer_in_place() {
    run(async {
        let (handle, r) = ReaderHandle::new();
        handle.push(Ok(b"hello, world"));
        handle.end();
        let stream = ReadableStream::from_async_read(r);
        assert!(stream.is_byte_stream());
        let reader = stream.get_byob_reader().unwrap();
        let buffer = ArrayBuffer::aligned(5);
        let address = buffer.as_slice().as_ptr();
        let result = reader.read(ByobView::new(buffer)).await.unwrap();
        let view = result.view.unwrap();
        assert!(!result.done);
        assert_eq!(view.as_slice(), b"hello");
        assert_eq!(
            view.as_slice().as_ptr(),
            address,
            "the bytes landed in the caller's buffer"
        );
        // A larger buffer gets what one read returns; then the end of the input closes the stream.
        let view = reader
            .read(ByobView::new(ArrayBuffer::aligned(64)))
            .await
            .unwrap()
            .view
            .unwrap();
        assert_eq!(view.as_slice(), b", world");
        let buffer = ArrayBuffer::aligned(64);
        let address = buffer.as_slice().as_ptr();
        let end = reader.read(ByobView::new(buffer)).await.unwrap();
        assert!(end.done);
        let view = end.view.expect("the buffer comes back at the end");
        assert!(view.is_empty());
        assert_eq!(view.buffer().as_slice().as_ptr(), address);
        reader.closed().await.unwrap();
    });
}

#[test]
fn default_reads_get_aligned_chunks_of_the_chunk_size_moved() {
    run(async {
        let (handle, r) = ReaderHandle::new();
        handle.push(Ok(&[7u8; 10_000]));
        handle.end();
        let stream = ReadableStream::from_async_read_with(r, 4096, 0);
        let reader = stream.get_reader().unwrap();
        let mut sizes = Vec::new();
        while let Some(chunk) = reader.read().await.unwrap() {
            assert_eq!(chunk.as_ptr() as usize % 4096, 0, "chunks start on a page");
            assert!(chunk.iter().all(|&b| b == 7));
            sizes.push(chunk.len());
        }
        assert_eq!(sizes, [4096, 4096, 1808]);
    });
}

#[test]
fn read_ahead_stops_at_the_high_water_mark_in_bytes() {
    run(async {
        let (handle, r) = ReaderHandle::new();
        handle.push(Ok(&[1u8; 1 << 20]));
        let stream = ReadableStream::from_async_read_with(r, 1000, 3000);
        flush(stream.host());
        assert_eq!(
            handle.state().reads,
            3,
            "3 chunks of 1000 bytes fill a 3000-byte mark"
        );
        let reader = stream.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().unwrap().len(), 1000);
        flush(stream.host());
        assert_eq!(handle.state().reads, 4, "one chunk out, one more read in");
    });
}

#[test]
fn an_io_error_errors_the_stream_and_drops_the_reader() {
    run(async {
        let (handle, r) = ReaderHandle::new();
        handle.push(Ok(b"ok"));
        handle.push(Err(io::ErrorKind::ConnectionReset));
        let stream = ReadableStream::from_async_read(r);
        let reader = stream.get_reader().unwrap();
        assert_eq!(&reader.read().await.unwrap().unwrap()[..], b"ok");
        let e = reader.read().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::User);
        assert_eq!(
            e.reason::<io::Error>().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
        assert!(StreamError::same(&e, &stream.stored_error().unwrap()));
        assert!(handle.state().dropped);
        // And back: the AsyncRead view of the stream reports the same kind.
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::ConnectionReset);
    });
}

#[test]
fn cancel_drops_the_reader_at_once_or_after_the_read_in_flight() {
    run(async {
        let (handle, r) = ReaderHandle::new();
        let stream = ReadableStream::from_async_read(r);
        stream.cancel(StreamError::user("idle")).await.unwrap();
        assert!(handle.state().dropped, "an idle reader is dropped by cancel");

        let (handle, r) = ReaderHandle::new();
        let stream = ReadableStream::from_async_read(r);
        let reader = stream.get_byob_reader().unwrap();
        let mut read = reader.read(ByobView::new(ArrayBuffer::aligned(16)));
        assert!(
            common::poll_once(&mut read).is_none(),
            "the input has nothing yet"
        );
        reader.cancel(StreamError::user("enough")).await.unwrap();
        let cancelled = read.await.unwrap();
        assert!(cancelled.done && cancelled.view.is_none());
        assert!(!handle.state().dropped, "a read is in flight inside the reader");
        handle.push(Ok(b"late"));
        flush(stream.host());
        assert!(
            handle.state().dropped,
            "the reader is dropped when its read finishes"
        );
    });
}

#[test]
fn odd_byte_counts_into_a_uint16_view_lose_nothing() {
    use sluicegate::readable::ViewType;
    run(async {
        let (handle, r) = ReaderHandle::new();
        handle.state().max_per_read = 3;
        handle.push(Ok(&[1, 2, 3, 4, 5, 6, 7, 8, 9]));
        handle.end();
        let stream = ReadableStream::from_async_read(r);
        let reader = stream.get_byob_reader().unwrap();
        let mut got = Vec::new();
        let end = loop {
            let view = ByobView::with_type(ArrayBuffer::aligned(8), ViewType::Uint16, 0, 4).unwrap();
            match reader.read(view).await {
                Ok(r) => {
                    assert!(!r.done, "the input ends with half an element");
                    let view = r.view.unwrap();
                    assert_eq!(view.byte_length() % 2, 0, "whole elements only");
                    got.extend_from_slice(view.as_slice());
                }
                Err(e) => break e,
            }
        };
        assert_eq!(got, [1, 2, 3, 4, 5, 6, 7, 8], "every whole element, in order");
        // The standard's close() fails with a TypeError, erroring the stream, when the input ends
        // with half an element filled; the source reports that rather than dropping the byte.
        assert_eq!(end.kind(), ErrorKind::Type);
        assert!(StreamError::same(&end, &stream.stored_error().unwrap()));
    });
}
