//! `pipe_to_with`: a pipe into a stream of another chunk type, converting each chunk.

use crate::common;

use std::sync::{Arc, Mutex};

use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{Completion, ErrorKind, PipeOptions, StreamError};

#[test]
fn every_chunk_is_converted_once_in_order_and_the_pipe_closes_the_destination() {
    common::run(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let closed = Arc::new(Mutex::new(false));
        let c = closed.clone();
        let dest = WritableStream::new(
            SinkFn::new()
                .write(move |chunk: String, _| s.lock().unwrap().push(chunk))
                .close(move || *c.lock().unwrap() = true),
        )
        .unwrap();
        let calls = Arc::new(Mutex::new(0));
        let k = calls.clone();
        ReadableStream::from_iter(1..=3u32)
            .pipe_to_with(&dest, PipeOptions::default(), move |n| {
                *k.lock().unwrap() += 1;
                format!("<{n}>")
            })
            .await
            .unwrap();
        assert_eq!(*seen.lock().unwrap(), ["<1>", "<2>", "<3>"]);
        assert_eq!(*calls.lock().unwrap(), 3);
        assert!(*closed.lock().unwrap());
    });
}

#[test]
fn a_panicking_conversion_stops_the_pipe_aborting_and_cancelling_with_a_panic_error() {
    common::run(async {
        let aborted = Arc::new(Mutex::new(None));
        let a = aborted.clone();
        let dest = WritableStream::new(SinkFn::new().abort(move |reason: StreamError| {
            *a.lock().unwrap() = Some(reason.kind());
        }))
        .unwrap();
        let cancelled = Arc::new(Mutex::new(None));
        let c = cancelled.clone();
        let mut n = 0u32;
        let source = ReadableStream::new(
            SourceFn::new()
                .pull(
                    move |ctl: &sluicegate::readable::ReadableStreamDefaultController<u32>| {
                        n += 1;
                        ctl.enqueue(n).unwrap();
                        Completion::ok()
                    },
                )
                .cancel(move |reason: StreamError| {
                    *c.lock().unwrap() = Some(reason.kind());
                }),
        )
        .unwrap();
        let result = source
            .pipe_to_with(&dest, PipeOptions::default(), |n: u32| {
                assert!(n < 2, "the conversion refuses {n}");
                n
            })
            .await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Panic);
        assert_eq!(*aborted.lock().unwrap(), Some(ErrorKind::Panic));
        assert_eq!(*cancelled.lock().unwrap(), Some(ErrorKind::Panic));
    });
}
