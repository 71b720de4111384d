//! Streams, readers and controllers cross tokio tasks and OS threads.

use std::sync::{Arc, Mutex};

use sluicegate::readable::{
    ReadableStream, ReadableStreamDefaultController, ReadableStreamDefaultReader, SourceFn,
};
use sluicegate::transform::TransformStream;
use sluicegate::writable::{SinkFn, WritableStream, WritableStreamDefaultWriter};
use sluicegate::{Completion, PipeOptions, StreamError};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_send_and_sync() {
    assert_send_sync::<ReadableStream<u64>>();
    assert_send_sync::<ReadableStreamDefaultReader<u64>>();
    assert_send_sync::<ReadableStreamDefaultController<u64>>();
    assert_send_sync::<StreamError>();
    assert_send_sync::<WritableStream<u64>>();
    assert_send_sync::<WritableStreamDefaultWriter<u64>>();
    assert_send_sync::<TransformStream<u64, String>>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_moves_across_tasks_while_a_thread_enqueues() {
    let slot: Arc<Mutex<Option<ReadableStreamDefaultController<u64>>>> = Arc::default();
    let s = slot.clone();
    let stream = ReadableStream::new(SourceFn::new().start(move |c| {
        *s.lock().unwrap() = Some(c.clone());
        Completion::ok()
    }))
    .unwrap();
    let controller = slot.lock().unwrap().take().unwrap();

    // A plain OS thread produces; it waits for room so memory stays bounded by the HWM (1).
    let producer = std::thread::spawn(move || {
        for i in 0..10_000u64 {
            while controller.desired_size().unwrap_or(1.0) <= 0.0 {
                std::thread::yield_now();
            }
            controller.enqueue(i).unwrap();
        }
        controller.close().unwrap();
    });

    // The stream moves into one task, which takes a reader and hands it to another task.
    let reader = tokio::spawn(async move { stream.get_reader().unwrap() })
        .await
        .unwrap();
    let first_half = tokio::spawn(async move {
        let mut got = Vec::new();
        for _ in 0..5_000 {
            got.push(reader.read().await.unwrap().unwrap());
        }
        (reader, got)
    });
    let (reader, mut got) = first_half.await.unwrap();
    let rest = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(v) = reader.read().await.unwrap() {
            got.push(v);
        }
        got
    });
    got.extend(rest.await.unwrap());
    producer.join().unwrap();
    assert_eq!(got, (0..10_000).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_pull_source_driven_from_another_task() {
    let mut n = 0u32;
    let stream = ReadableStream::new(SourceFn::new().pull(
        move |c: &ReadableStreamDefaultController<u32>| {
            n += 1;
            let (c, v) = (c.clone(), n);
            Completion::future(async move {
                tokio::task::yield_now().await;
                if v > 100 {
                    c.close()
                } else {
                    c.enqueue(v)
                }
            })
        },
    ))
    .unwrap();
    let sum = tokio::spawn(async move {
        use futures::StreamExt;
        stream
            .values()
            .unwrap()
            .map(|r| r.unwrap())
            .fold(0u32, |a, b| async move { a + b })
            .await
    })
    .await
    .unwrap();
    assert_eq!(sum, (1..=100).sum::<u32>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_moves_across_tasks_and_close_waits_for_every_write() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let sink = WritableStream::new(SinkFn::new().write(move |chunk: u64, _| {
        let s = s.clone();
        Completion::future(async move {
            tokio::task::yield_now().await;
            s.lock().unwrap().push(chunk);
            Ok(())
        })
    }))
    .unwrap();
    let writer = tokio::spawn(async move { sink.get_writer().unwrap() })
        .await
        .unwrap();
    let writer = tokio::spawn(async move {
        for i in 0..500u64 {
            writer.ready().await.unwrap();
            drop(writer.write(i));
        }
        writer
    })
    .await
    .unwrap();
    tokio::spawn(async move { writer.close().await.unwrap() })
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), (0..500).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_through_a_transform_on_another_task() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let sink = WritableStream::new(SinkFn::new().write(move |chunk: String, _| {
        s.lock().unwrap().push(chunk);
    }))
    .unwrap();
    let source = ReadableStream::from_iter(0..1000u64);
    let transform = TransformStream::map(|n: u64| n.to_string());
    let out = source.pipe_through(&transform, PipeOptions::default()).unwrap();
    tokio::spawn(async move { out.pipe_to(&sink, PipeOptions::default()).await })
        .await
        .unwrap()
        .unwrap();
    let expected: Vec<String> = (0..1000).map(|n| n.to_string()).collect();
    assert_eq!(*seen.lock().unwrap(), expected);
}

/// Two threads asking the same handles for their state over and over: `locked()`,
/// `is_closed_or_errored()`, a writer's `ready()` and `closed()`, `stats()` and `pipeline_stats()`.
/// Each call enters the group's domain and borrows the stream's state; the borrow must end before
/// the domain is released. (It did not: a borrow made in a function's last expression outlived the
/// domain's guard, so the other thread, entering in between, found the state still borrowed and
/// panicked with "a stream's state was borrowed while already borrowed"; found by the stress
/// matrix's pipe to an async sink, about one run in three thousand.)
#[test]
fn handles_queried_from_two_threads_at_once() {
    let (w, r) = TransformStream::map(|x: u64| x).into_parts();
    let writer = w.get_writer().unwrap();
    let (w, r, writer) = (Arc::new(w), Arc::new(r), Arc::new(writer));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (w, r, writer) = (w.clone(), r.clone(), writer.clone());
            std::thread::spawn(move || {
                for _ in 0..50_000 {
                    assert!(w.locked());
                    assert!(!w.is_closed_or_errored());
                    assert!(!r.locked());
                    drop(writer.ready());
                    drop(writer.closed());
                    let _ = r.stats();
                    let _ = w.stats();
                    // What `sluice --progress` asks from its drawing thread.
                    let _ = r.pipeline_stats();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a thread panicked");
    }
}
