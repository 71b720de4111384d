//! Streams, readers and controllers cross tokio tasks and OS threads.

use std::sync::{Arc, Mutex};

use sluicegate::readable::{
    ReadableStream, ReadableStreamDefaultController, ReadableStreamDefaultReader, SourceFn,
};
use sluicegate::{Completion, StreamError};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_send_and_sync() {
    assert_send_sync::<ReadableStream<u64>>();
    assert_send_sync::<ReadableStreamDefaultReader<u64>>();
    assert_send_sync::<ReadableStreamDefaultController<u64>>();
    assert_send_sync::<StreamError>();
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
