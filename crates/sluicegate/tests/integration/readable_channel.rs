//! `ReadableStream::channel`: a sender whose `send` waits for backpressure, `close`/`error`,
//! closing on drop, and cancel reaching the senders.

use std::collections::HashMap;
use std::time::Duration;

use futures::FutureExt;
use sluicegate::readable::{ReadableStream, ReadableStreamSender, TrySendError};
use sluicegate::strategy::QueuingStrategy;
use sluicegate::{ErrorKind, StreamError};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn the_sender_and_its_futures_are_send() {
    assert_send_sync::<ReadableStreamSender<u64>>();
    fn is_send<F: Send>(_: &F) {}
    let (tx, _stream) = ReadableStream::<u64>::channel(1);
    let sending = tx.send(1);
    is_send(&sending);
}

#[test]
fn send_completes_while_the_queue_is_below_the_high_water_mark_then_waits_for_a_read() {
    let (tx, stream) = ReadableStream::channel(2);
    assert_eq!(tx.send(1).now_or_never().map(Result::unwrap), Some(()));
    assert_eq!(tx.send(2).now_or_never().map(Result::unwrap), Some(()));
    assert_eq!(tx.desired_size(), Some(0.0));
    let mut third = Box::pin(tx.send(3));
    assert!(
        third.as_mut().now_or_never().is_none(),
        "the queue is full: the send waits"
    );
    let reader = stream.get_reader().unwrap();
    assert_eq!(reader.read().now_or_never().unwrap().unwrap(), Some(1));
    // The read made room: the waiting send goes through.
    assert_eq!(third.as_mut().now_or_never().map(Result::unwrap), Some(()));
    assert_eq!(
        tx.desired_size(),
        Some(0.0),
        "never more than the high-water mark queued"
    );
    drop(third);
    drop(tx);
    let rest: Vec<_> = futures::executor::block_on(async {
        let mut rest = Vec::new();
        while let Some(n) = reader.read().await.unwrap() {
            rest.push(n);
        }
        rest
    });
    assert_eq!(rest, [2, 3]);
}

#[test]
fn with_a_high_water_mark_of_zero_a_send_waits_for_a_waiting_read() {
    let (tx, stream) = ReadableStream::channel(0);
    let mut first = Box::pin(tx.send("a"));
    assert!(first.as_mut().now_or_never().is_none(), "no read is waiting");
    let reader = stream.get_reader().unwrap();
    let mut read = Box::pin(reader.read());
    assert!(read.as_mut().now_or_never().is_none());
    assert_eq!(first.as_mut().now_or_never().map(Result::unwrap), Some(()));
    assert_eq!(read.now_or_never().unwrap().unwrap(), Some("a"));
    // The read was served: the next send waits again.
    assert!(Box::pin(tx.send("b")).as_mut().now_or_never().is_none());
}

#[test]
fn try_send_gives_the_chunk_back_when_full() {
    let (tx, stream) = ReadableStream::channel(1);
    tx.try_send(1u8).unwrap();
    match tx.try_send(2) {
        Err(TrySendError::Full(chunk)) => assert_eq!(chunk, 2),
        other => panic!("expected Full, got {other:?}"),
    }
    let reader = stream.get_reader().unwrap();
    assert_eq!(reader.read().now_or_never().unwrap().unwrap(), Some(1));
    tx.try_send(2).unwrap();
}

#[test]
fn close_lets_the_queued_chunks_be_read_then_sends_fail_with_the_chunk_back() {
    let (tx, stream) = ReadableStream::channel(4);
    futures::executor::block_on(async {
        tx.send("x").await.unwrap();
        tx.send("y").await.unwrap();
        tx.close().unwrap();
        let failed = tx.send("late").await.unwrap_err();
        assert_eq!(failed.reason().kind(), ErrorKind::Type);
        assert_eq!(failed.into_chunk(), Some("late"));
        assert_eq!(tx.close().unwrap_err().kind(), ErrorKind::Type);
        assert!(tx.is_closed());
        let reader = stream.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("x"));
        assert_eq!(reader.read().await.unwrap(), Some("y"));
        assert_eq!(reader.read().await.unwrap(), None);
    });
}

#[test]
fn error_reaches_the_reader_and_later_sends() {
    let (tx, stream) = ReadableStream::channel(4);
    futures::executor::block_on(async {
        tx.send(1).await.unwrap();
        tx.error(StreamError::user("disk on fire"));
        let reader = stream.get_reader().unwrap();
        let e = reader.read().await.unwrap_err();
        assert_eq!(e.reason::<&str>(), Some(&"disk on fire"));
        let failed = tx.send(2).await.unwrap_err();
        assert!(StreamError::same(failed.reason(), &e));
        assert_eq!(failed.into_chunk(), Some(2));
    });
}

#[test]
fn dropping_the_last_sender_closes_the_stream_and_clones_keep_it_open() {
    let (tx, stream) = ReadableStream::channel(4);
    let other = tx.clone();
    futures::executor::block_on(async {
        tx.send(1).await.unwrap();
        drop(tx);
        other.send(2).await.unwrap();
        let reader = stream.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some(1));
        assert_eq!(reader.read().await.unwrap(), Some(2));
        let mut next = Box::pin(reader.read());
        assert!(
            next.as_mut().now_or_never().is_none(),
            "a sender is left: still open"
        );
        drop(other);
        assert_eq!(next.await.unwrap(), None);
    });
}

#[test]
fn cancel_fails_the_waiting_send_and_later_ones_with_the_reason() {
    let (tx, stream) = ReadableStream::channel(1);
    futures::executor::block_on(async {
        tx.send(1).await.unwrap();
        let mut waiting = Box::pin(tx.send(2));
        assert!(waiting.as_mut().now_or_never().is_none());
        stream.cancel(StreamError::user("not interested")).await.unwrap();
        let failed = waiting.await.unwrap_err();
        assert_eq!(failed.reason().reason::<&str>(), Some(&"not interested"));
        assert_eq!(failed.into_chunk(), Some(2), "the waiting chunk comes back");
        match tx.try_send(3) {
            Err(TrySendError::Ended(e)) => {
                assert_eq!(e.reason().reason::<&str>(), Some(&"not interested"));
                assert_eq!(e.into_chunk(), Some(3));
            }
            other => panic!("expected Ended, got {other:?}"),
        }
        assert!(tx.is_closed());
        assert_eq!(tx.close().unwrap_err().reason::<&str>(), Some(&"not interested"));
    });
}

#[test]
fn a_stream_dropped_while_a_send_waits_fails_that_send() {
    let (tx, stream) = ReadableStream::channel(1);
    futures::executor::block_on(async {
        tx.send(1).await.unwrap();
        let mut waiting = Box::pin(tx.send(2));
        assert!(waiting.as_mut().now_or_never().is_none());
        drop(stream);
        let failed = waiting.await.unwrap_err();
        assert_eq!(failed.reason().kind(), ErrorKind::Type);
        assert_eq!(failed.into_chunk(), Some(2));
    });
}

#[test]
fn a_size_function_measures_chunks_against_the_high_water_mark() {
    let strategy = QueuingStrategy::with_size(10.0, |s: &String| s.len() as f64);
    let (tx, stream) =
        ReadableStream::channel_with_strategy(strategy, sluicegate::host::Driver::new()).unwrap();
    // 0 → 4 → 8 bytes queued: the desired size is still positive, so a third send goes in.
    for _ in 0..3 {
        tx.send("abcd".to_string()).now_or_never().unwrap().unwrap();
    }
    assert_eq!(tx.desired_size(), Some(-2.0));
    assert!(Box::pin(tx.send("e".into())).as_mut().now_or_never().is_none());
    drop(stream);
    assert_eq!(
        ReadableStream::<u8>::channel_with_strategy(
            QueuingStrategy::count(f64::NAN),
            sluicegate::host::Driver::new()
        )
        .unwrap_err()
        .kind(),
        ErrorKind::Range
    );
}

/// Four producers on a multi-threaded runtime, one consumer: every chunk arrives once, each
/// producer's chunks in order, and no send ever leaves more than the high-water mark queued.
#[test]
fn concurrent_senders_on_a_multi_thread_runtime_lose_nothing_and_respect_the_high_water_mark() {
    concurrent_senders(3);
}

/// The same with a high-water mark of 0: every chunk is handed to a waiting read.
#[test]
fn concurrent_rendezvous_senders_lose_nothing_and_queue_nothing() {
    concurrent_senders(0);
}

fn concurrent_senders(hwm: usize) {
    const PRODUCERS: u64 = 4;
    const EACH: u64 = 3_000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    for round in 0..3 {
        let (tx, stream) = ReadableStream::<(u64, u64)>::channel(hwm);
        let run = async move {
            let mut producers = Vec::new();
            for p in 0..PRODUCERS {
                let tx = tx.clone();
                producers.push(tokio::spawn(async move {
                    for i in 0..EACH {
                        tx.send((p, i)).await.unwrap();
                        let desired = tx.desired_size().unwrap();
                        assert!(desired >= 0.0, "over the high-water mark: desired size {desired}");
                    }
                }));
            }
            drop(tx);
            let consumer = tokio::spawn(async move {
                let reader = stream.get_reader().unwrap();
                let mut next: HashMap<u64, u64> = HashMap::new();
                let mut total = 0;
                while let Some((p, i)) = reader.read().await.unwrap() {
                    let expected = next.entry(p).or_insert(0);
                    assert_eq!(i, *expected, "producer {p}'s chunks in order");
                    *expected += 1;
                    total += 1;
                    if total % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                total
            });
            for p in producers {
                p.await.unwrap();
            }
            consumer.await.unwrap()
        };
        let total = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(60), tokio::spawn(run)).await })
            .unwrap_or_else(|_| panic!("round {round} hung"))
            .unwrap();
        assert_eq!(total, PRODUCERS * EACH);
    }
}
