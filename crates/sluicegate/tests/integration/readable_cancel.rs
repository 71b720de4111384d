//! The behaviour of WPT `streams/readable-streams/cancel.any.js`, ported to the native API.

use crate::common;

use std::sync::{Arc, Mutex};

use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::{Completion, ErrorKind, QueuingStrategy, StreamError};

use common::{
    assert_rejects_kind, assert_rejects_with, assert_same, flush, poll_once, Calls, Controller, Log,
    RandomPushSource, Slot,
};

#[test]
fn cancellation_of_an_infinite_stream_from_a_random_push_source() {
    common::run(async {
        let host: sluicegate::host::HostRef = common::host();
        let source = Arc::new(RandomPushSource::new(0));
        let finished = Slot::<()>::new();
        let (s1, s2, h, f) = (source.clone(), source.clone(), host.clone(), finished.clone());
        let rs = ReadableStream::with_host(
            SourceFn::new()
                .pull(move |c: &Controller<String>| {
                    let (data, end) = (c.clone(), c.clone());
                    s1.read_start(
                        &h,
                        Arc::new(move |chunk| {
                            let _ = data.enqueue(chunk);
                        }),
                        Arc::new(move |()| {
                            let _ = end.close();
                        }),
                    );
                })
                .cancel(move |_| {
                    s2.read_stop();
                    let f = f.clone();
                    Completion::future(async move {
                        common::sleep(1).await;
                        f.set(());
                        Ok(())
                    })
                }),
            QueuingStrategy::new(),
            host,
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let r2 = reader.clone();
        let cancel_slot = Slot::new();
        let (fin, cs) = (finished.clone(), cancel_slot.clone());
        rs.host().spawn(Box::pin(async move {
            // Several delays, so that the source enqueues at least one chunk first.
            common::sleep(5).await;
            common::sleep(5).await;
            common::sleep(5).await;
            let cancel = r2.cancel(StreamError::undefined());
            assert!(!fin.is_set(), "cancellation in the source happens later");
            cs.set(Arc::new(Mutex::new(Some(cancel))));
        }));
        let chunks = common::read_all_from(&reader).await.unwrap();
        assert!(!chunks.is_empty(), "at least one chunk should be read");
        for chunk in &chunks {
            assert_eq!(chunk.len(), 128, "each chunk has 128 bytes");
        }
        assert_eq!(
            common::now(),
            15,
            "the read loop ends when the cancel closes the stream"
        );
        let cancel = cancel_slot.get().lock().unwrap().take().unwrap();
        assert!(!finished.is_set());
        cancel.await.unwrap();
        // It fulfils once the source's cancellation has finished, 1 ms later.
        assert!(finished.is_set());
        assert_eq!(common::now(), 16);
    });
}

#[test]
fn cancel_passes_the_given_reason_to_the_source_synchronously() {
    let recorded = Slot::new();
    let r = recorded.clone();
    let rs =
        ReadableStream::<u32>::new(SourceFn::new().cancel(move |reason: StreamError| r.set(reason))).unwrap();
    let passed = StreamError::user("Sorry, it just wasn't meant to be.");
    drop(rs.cancel(passed.clone()));
    assert_same(&recorded.get(), &passed);
}

#[test]
fn cancel_on_a_locked_stream_fails_and_does_not_call_the_source() {
    common::run(async {
        let cancels = Calls::new();
        let c = cancels.clone();
        let rs = ReadableStream::new(
            SourceFn::new()
                .start(|c: &Controller<&str>| {
                    c.enqueue("a").unwrap();
                    c.close().unwrap();
                })
                .cancel(move |_| c.hit()),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_rejects_kind(rs.cancel(StreamError::undefined()).await, ErrorKind::Type);
        assert!(!rs.is_disturbed(), "the failed cancel did not touch the stream");
        assert_eq!(
            reader.read().await.unwrap(),
            Some("a"),
            "read() still works after the attempted cancel"
        );
        reader.closed().await.unwrap();
        cancels.assert_exactly(0);
    });
}

#[test]
fn cancel_fulfils_when_the_source_cancel_went_fine() {
    common::run(async {
        let reason = StreamError::user("I am tired of this stream, I prefer to cancel it");
        let received = Slot::new();
        let r = received.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().cancel(move |reason: StreamError| r.set(reason)))
            .unwrap();
        rs.cancel(reason.clone()).await.unwrap();
        assert_same(&received.get(), &reason);
        assert!(rs.is_disturbed());
        assert!(!rs.is_readable());
    });
}

#[test]
fn cancel_rejects_when_the_source_cancel_fails() {
    common::run(async {
        let thrown = StreamError::user("test");
        let t = thrown.clone();
        let calls = Calls::new();
        let c = calls.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().cancel(move |_| {
            c.hit();
            Completion::err(t.clone())
        }))
        .unwrap();
        assert_rejects_with(rs.cancel(StreamError::user("test")).await, &thrown);
        calls.assert_exactly(1);
    });
}

#[test]
fn cancel_fulfils_when_the_source_cancel_future_does_1() {
    common::run(async {
        let reason = StreamError::user("test");
        let r = reason.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().cancel(move |got: StreamError| {
            assert_same(&got, &r);
            Completion::future(async {
                common::sleep(1).await;
                Ok(())
            })
        }))
        .unwrap();
        rs.cancel(reason).await.unwrap();
        assert_eq!(common::now(), 1);
    });
}

#[test]
fn cancel_fulfils_only_after_the_source_cancel_promise_does_2() {
    common::run(async {
        let resolver = Slot::new();
        let r = resolver.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().cancel(move |_| {
            let (completion, resolver) = Completion::deferred();
            r.set(resolver);
            completion
        }))
        .unwrap();
        let mut cancel = rs.cancel(StreamError::undefined());
        flush(rs.host());
        assert!(
            poll_once(&mut cancel).is_none(),
            "cancel waits for the source's promise"
        );
        assert!(cancel.peek().is_none());
        assert!(resolver.get().settle(Ok(())));
        cancel.await.unwrap();
    });
}

#[test]
fn cancel_rejects_when_the_source_cancel_promise_rejects() {
    common::run(async {
        let error_in_cancel = StreamError::user("Sorry, it just wasn't meant to be.");
        let resolver = Slot::new();
        let r = resolver.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().cancel(move |_| {
            let (completion, resolver) = Completion::deferred();
            r.set(resolver);
            completion
        }))
        .unwrap();
        let mut cancel = rs.cancel(StreamError::undefined());
        flush(rs.host());
        assert!(poll_once(&mut cancel).is_none());
        let (e, res) = (error_in_cancel.clone(), resolver.get());
        rs.host().spawn(Box::pin(async move {
            common::sleep(1).await;
            res.settle(Err(e));
        }));
        assert_rejects_with(cancel.await, &error_in_cancel);
        assert_eq!(common::now(), 1);
    });
}

#[test]
fn cancelling_before_start_finishes_prevents_pull() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::<u32>::new(
            SourceFn::new()
                .start(|_: &Controller<u32>| Completion::future(std::future::pending()))
                .pull(move |_| p.hit()),
        )
        .unwrap();
        let cancel = rs.cancel(StreamError::undefined());
        let reader = rs.get_reader().unwrap();
        let closed = reader.closed();
        cancel.await.unwrap();
        closed.await.unwrap();
        flush(rs.host());
        pulls.assert_exactly(0);
    });
}

#[test]
fn source_cancel_is_called_even_with_a_pending_pull() {
    common::run(async {
        let events = Log::new();
        let (e1, e2) = (events.clone(), events.clone());
        let rs = ReadableStream::<u32>::new(
            SourceFn::new()
                .pull(move |_: &Controller<u32>| {
                    e1.push("pull");
                    Completion::future(std::future::pending())
                })
                .cancel(move |_| e2.push("cancel")),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        common::sleep(0).await;
        flush(rs.host());
        let (cancel, closed) = (reader.cancel(StreamError::undefined()), reader.closed());
        cancel.await.unwrap();
        closed.await.unwrap();
        assert_eq!(read.await.unwrap(), None, "the pending read is fulfilled as done");
        events.assert(&["pull", "cancel"]);
    });
}

#[test]
fn cancel_without_a_reason_passes_undefined() {
    common::run(async {
        let received = Slot::new();
        let r = received.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().cancel(move |reason: StreamError| r.set(reason)))
            .unwrap();
        rs.cancel(StreamError::undefined()).await.unwrap();
        assert_eq!(received.get().kind(), ErrorKind::Undefined);
    });
}

#[test]
fn cancel_discards_queued_chunks_and_resolves_pending_reads_as_done() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::count(10.0));
        controller.enqueue(1).unwrap();
        controller.enqueue(2).unwrap();
        assert_eq!(controller.desired_size(), Some(8.0));
        drop(rs.cancel(StreamError::undefined()));
        assert_eq!(controller.desired_size(), Some(0.0));
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), None);
    });
}

#[test]
fn cancel_source_is_called_exactly_once_across_repeated_cancels() {
    common::run(async {
        let calls = Calls::new();
        let c = calls.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().cancel(move |_| c.hit())).unwrap();
        rs.cancel(StreamError::undefined()).await.unwrap();
        rs.cancel(StreamError::undefined()).await.unwrap();
        let reader = rs.get_reader().unwrap();
        reader.cancel(StreamError::undefined()).await.unwrap();
        calls.assert_exactly(1);
    });
}

#[test]
fn cancel_from_inside_pull_runs_the_source_cancel_after_pull_returns() {
    common::run(async {
        let log = Log::new();
        let (l1, l2) = (log.clone(), log.clone());
        let reader_slot: Slot<sluicegate::ReadableStreamDefaultReader<u32>> = Slot::new();
        let cancel_slot = Slot::new();
        let (rs_slot, cs) = (reader_slot.clone(), cancel_slot.clone());
        let rs = ReadableStream::new(
            SourceFn::new()
                .pull(move |c: &Controller<u32>| {
                    l1.push("pull begins");
                    if let Some(reader) = rs_slot.take() {
                        cs.set(reader.cancel(StreamError::user("from pull")));
                        // The stream is closed at once, even before the source hears of it.
                        assert_rejects_kind(c.enqueue(1), ErrorKind::Type);
                        rs_slot.set(reader);
                    }
                    l1.push("pull ends");
                })
                .cancel(move |r: StreamError| l2.push(format!("cancel {}", common::describe(&r)))),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        reader_slot.set(reader.clone());
        flush(rs.host());
        let cancel: sluicegate::Promised<()> = cancel_slot.take().expect("pull cancelled");
        cancel.await.unwrap();
        log.assert(&["pull begins", "pull ends", "cancel from pull"]);
        assert_eq!(reader.read().await.unwrap(), None);
    });
}
