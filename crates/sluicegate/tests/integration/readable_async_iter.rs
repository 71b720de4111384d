//! The behaviour of WPT `streams/readable-streams/async-iterator.any.js`, ported to
//! [`ReadableStream::values`]: a `futures::Stream` of `Result<T, StreamError>`. The standard's
//! `return()` is [`Values::cancel`]; `break`, `return` and `throw` out of a `for await` loop are
//! all dropping the iterator early.

use crate::common;

use futures::StreamExt;
use sluicegate::readable::{IterOptions, ReadableStream, SourceFn, Values};
use sluicegate::{CountQueuingStrategy, ErrorKind, QueuingStrategy, StreamError};

use common::{assert_rejects_kind, assert_rejects_with, flush, poll_once, Calls, Controller, Recording};

fn push_source_1_2_3() -> ReadableStream<u32> {
    ReadableStream::new(SourceFn::new().start(|c: &Controller<u32>| {
        c.enqueue(1).unwrap();
        c.enqueue(2).unwrap();
        c.enqueue(3).unwrap();
        c.close().unwrap();
    }))
    .unwrap()
}

fn pull_source_1_2_3() -> ReadableStream<u32> {
    let mut i = 1;
    ReadableStream::new(SourceFn::new().pull(move |c: &Controller<u32>| {
        c.enqueue(i).unwrap();
        if i >= 3 {
            c.close().unwrap();
        }
        i += 1;
    }))
    .unwrap()
}

async fn collect<T: Send + 'static>(values: Values<T>) -> Result<Vec<T>, StreamError> {
    values.collect::<Vec<_>>().await.into_iter().collect()
}

#[test]
fn async_iterating_a_push_source() {
    common::run(async {
        assert_eq!(
            collect(push_source_1_2_3().values().unwrap()).await.unwrap(),
            [1, 2, 3]
        );
    });
}

#[test]
fn async_iterating_a_pull_source() {
    common::run(async {
        assert_eq!(
            collect(pull_source_1_2_3().values().unwrap()).await.unwrap(),
            [1, 2, 3]
        );
    });
}

#[test]
fn async_iterating_a_push_source_of_unit_values() {
    common::run(async {
        let rs = ReadableStream::new(SourceFn::new().start(|c: &Controller<()>| {
            c.enqueue(()).unwrap();
            c.enqueue(()).unwrap();
            c.enqueue(()).unwrap();
            c.close().unwrap();
        }))
        .unwrap();
        assert_eq!(collect(rs.values().unwrap()).await.unwrap(), [(), (), ()]);
    });
}

#[test]
fn async_iterating_a_pull_source_of_unit_values() {
    common::run(async {
        let mut i = 1;
        let rs = ReadableStream::new(SourceFn::new().pull(move |c: &Controller<()>| {
            c.enqueue(()).unwrap();
            if i >= 3 {
                c.close().unwrap();
            }
            i += 1;
        }))
        .unwrap();
        assert_eq!(collect(rs.values().unwrap()).await.unwrap(), [(), (), ()]);
    });
}

#[test]
fn async_iterating_a_pull_source_manually() {
    common::run(async {
        let mut i = 1;
        let rec = common::recording_stream::<u32>(
            CountQueuingStrategy::new(0.0).into(),
            |_| {},
            move |c| {
                c.enqueue(i).unwrap();
                if i >= 3 {
                    c.close().unwrap();
                }
                i += 1;
            },
        );
        let mut it = rec.stream.values().unwrap();
        rec.log.assert(&[]);
        assert_eq!(it.next().await.unwrap().unwrap(), 1);
        rec.log.assert(&["pull"]);
        assert_eq!(it.next().await.unwrap().unwrap(), 2);
        rec.log.assert(&["pull", "pull"]);
        assert_eq!(it.next().await.unwrap().unwrap(), 3);
        rec.log.assert(&["pull", "pull", "pull"]);
        assert!(it.next().await.is_none());
        rec.log.assert(&["pull", "pull", "pull"]);
    });
}

#[test]
fn async_iterating_an_errored_stream_yields_the_error_then_ends() {
    common::run(async {
        let e = StreamError::user("e");
        let e2 = e.clone();
        let rs =
            ReadableStream::<u32>::new(SourceFn::new().start(move |c: &Controller<u32>| c.error(e2.clone())))
                .unwrap();
        let mut it = rs.values().unwrap();
        assert_rejects_with(it.next().await.unwrap(), &e);
        assert!(it.next().await.is_none());
        assert!(it.is_finished());
    });
}

#[test]
fn async_iterating_a_closed_stream_yields_nothing() {
    common::run(async {
        let rs = ReadableStream::<u32>::new(SourceFn::new().start(|c: &Controller<u32>| c.close().unwrap()))
            .unwrap();
        assert!(collect(rs.values().unwrap()).await.unwrap().is_empty());
    });
}

#[test]
fn async_iterating_an_empty_open_stream_stalls() {
    common::run(async {
        let (rs, _controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let mut it = rs.values().unwrap();
        let mut next = it.next();
        flush(rs.host());
        assert!(poll_once(&mut next).is_none());
        common::sleep(100).await;
        assert!(poll_once(&mut next).is_none());
    });
}

#[test]
fn async_iterating_a_partially_consumed_stream() {
    common::run(async {
        let rs = push_source_1_2_3();
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some(1));
        reader.release_lock();
        assert_eq!(collect(rs.values().unwrap()).await.unwrap(), [2, 3]);
    });
}

fn recording_with_one_chunk() -> Recording<u32> {
    common::recording_stream(QueuingStrategy::new(), |c| c.enqueue(0).unwrap(), |_| {})
}

/// Iterates, leaving the loop body at the first chunk the way `how` says (the WPT loop).
#[allow(clippy::never_loop)]
async fn leave_loop_early(values: Values<u32>, how: &str) -> Result<(), StreamError> {
    let mut values = values;
    while let Some(chunk) = values.next().await {
        let _chunk = chunk?;
        match how {
            "throw" => return Err(StreamError::user("thrown in the loop body")),
            "break" => break,
            "return" => return Ok(()),
            _ => unreachable!(),
        }
    }
    Ok(())
}

fn cancellation_when_leaving_the_loop(how: &str, prevent_cancel: bool) {
    common::run({
        let how = how.to_string();
        async move {
            let rec = recording_with_one_chunk();
            let values = rec.stream.values_with(IterOptions { prevent_cancel }).unwrap();
            let _ = leave_loop_early(values, &how).await;
            if prevent_cancel {
                rec.log.assert(&["pull"]);
                assert!(rec.stream.is_readable());
            } else {
                rec.log.assert(&["pull", "cancel undefined"]);
                assert!(!rec.stream.is_readable());
            }
            assert!(!rec.stream.locked());
        }
    });
}

#[test]
fn cancellation_when_throwing_inside_the_loop_body() {
    cancellation_when_leaving_the_loop("throw", false);
}

#[test]
fn cancellation_when_throwing_inside_the_loop_body_with_prevent_cancel() {
    cancellation_when_leaving_the_loop("throw", true);
}

#[test]
fn cancellation_when_breaking_inside_the_loop_body() {
    cancellation_when_leaving_the_loop("break", false);
}

#[test]
fn cancellation_when_breaking_inside_the_loop_body_with_prevent_cancel() {
    cancellation_when_leaving_the_loop("break", true);
}

#[test]
fn cancellation_when_returning_inside_the_loop_body() {
    cancellation_when_leaving_the_loop("return", false);
}

#[test]
fn cancellation_when_returning_inside_the_loop_body_with_prevent_cancel() {
    cancellation_when_leaving_the_loop("return", true);
}

#[test]
fn cancellation_when_calling_return_manually() {
    common::run(async {
        let rec = recording_with_one_chunk();
        let it = rec.stream.values().unwrap();
        it.cancel(StreamError::undefined()).await.unwrap();
        rec.log.assert(&["cancel undefined"]);
    });
}

#[test]
fn cancellation_when_calling_return_manually_with_prevent_cancel() {
    common::run(async {
        let rec = recording_with_one_chunk();
        let it = rec
            .stream
            .values_with(IterOptions { prevent_cancel: true })
            .unwrap();
        it.cancel(StreamError::undefined()).await.unwrap();
        rec.log.assert(&[]);
        assert!(rec.stream.is_readable());
    });
}

#[test]
fn return_passes_its_reason_to_the_source() {
    common::run(async {
        let rec = recording_with_one_chunk();
        let it = rec.stream.values().unwrap();
        it.cancel(StreamError::user("return value")).await.unwrap();
        rec.log.assert(&["cancel return value"]);
    });
}

/// A pull source that enqueues 0, then errors with `error1` on the next pull.
fn enqueue_then_error(error1: &StreamError) -> (ReadableStream<u32>, Calls) {
    let pulled = Calls::new();
    let (p, e) = (pulled.clone(), error1.clone());
    let rs = ReadableStream::new(SourceFn::new().pull(move |c: &Controller<u32>| {
        if p.count() == 0 {
            c.enqueue(0).unwrap();
            p.hit();
        } else {
            c.error(e.clone());
        }
    }))
    .unwrap();
    (rs, pulled)
}

#[test]
fn next_rejects_if_the_stream_errors() {
    common::run(async {
        let error1 = StreamError::user("error1");
        let (rs, _) = enqueue_then_error(&error1);
        let mut it = rs.values().unwrap();
        assert_eq!(it.next().await.unwrap().unwrap(), 0);
        assert_rejects_with(it.next().await.unwrap(), &error1);
    });
}

#[test]
fn return_does_not_reject_if_the_stream_has_not_errored_yet() {
    common::run(async {
        let error1 = StreamError::user("error1");
        let (rs, _) = enqueue_then_error(&error1);
        let it = rs.values().unwrap();
        it.cancel(StreamError::user("return value")).await.unwrap();
    });
}

#[test]
fn return_rejects_if_the_stream_has_errored() {
    common::run(async {
        let error1 = StreamError::user("error1");
        let e = error1.clone();
        // Error in pull, not start: erroring in start would prevent taking the iterator.
        let rs =
            ReadableStream::<u32>::new(SourceFn::new().pull(move |c: &Controller<u32>| c.error(e.clone())))
                .unwrap();
        let it = rs.values().unwrap();
        flush(rs.host());
        assert_rejects_with(it.cancel(StreamError::user("return value")).await, &error1);
    });
}

#[test]
fn next_succeeds_next_reports_an_error_next_ends() {
    common::run(async {
        let error1 = StreamError::user("error1");
        let (rs, _) = enqueue_then_error(&error1);
        let mut it = rs.values().unwrap();
        assert_eq!(it.next().await.unwrap().unwrap(), 0);
        assert_rejects_with(it.next().await.unwrap(), &error1);
        assert!(it.next().await.is_none());
    });
}

#[test]
fn next_succeeds_next_reports_an_error_return_fulfils() {
    common::run(async {
        let error1 = StreamError::user("error1");
        let (rs, _) = enqueue_then_error(&error1);
        let mut it = rs.values().unwrap();
        assert_eq!(it.next().await.unwrap().unwrap(), 0);
        assert_rejects_with(it.next().await.unwrap(), &error1);
        assert!(it.is_finished());
        it.cancel(StreamError::user("return value")).await.unwrap();
    });
}

#[test]
fn next_succeeds_then_return() {
    common::run(async {
        let times = Calls::new();
        let t = times.clone();
        let rs = ReadableStream::new(SourceFn::new().pull(move |c: &Controller<usize>| {
            c.enqueue(t.count()).unwrap();
            t.hit();
        }))
        .unwrap();
        let mut it = rs.values().unwrap();
        assert_eq!(it.next().await.unwrap().unwrap(), 0);
        it.cancel(StreamError::user("return value")).await.unwrap();
        times.assert_exactly(2);
    });
}

#[test]
fn values_is_a_type_error_if_the_stream_is_locked() {
    let rs = push_source_1_2_3();
    let _it = rs.values().unwrap();
    assert_rejects_kind(rs.values(), ErrorKind::Type);
    assert_rejects_kind(rs.get_reader(), ErrorKind::Type);
}

#[test]
fn a_reader_can_be_taken_after_exhaustively_iterating() {
    common::run(async {
        let rs = push_source_1_2_3();
        let mut it = rs.values().unwrap();
        let mut chunks = Vec::new();
        while let Some(chunk) = it.next().await {
            chunks.push(chunk.unwrap());
        }
        assert_eq!(chunks, [1, 2, 3]);
        // The iterator is still alive, but it released the lock when the stream closed.
        let reader = rs.get_reader().unwrap();
        reader.closed().await.unwrap();
        drop(it);
    });
}

#[test]
fn a_reader_taken_after_returning_from_an_errored_stream_sees_the_error() {
    common::run(async {
        let error1 = StreamError::user("error1");
        let (rs, _) = enqueue_then_error(&error1);
        let mut it = rs.values_with(IterOptions { prevent_cancel: true }).unwrap();
        assert_eq!(it.next().await.unwrap().unwrap(), 0);
        assert_rejects_with(it.next().await.unwrap(), &error1);
        it.cancel(StreamError::user("return value")).await.unwrap();
        // Not a generic "locked" TypeError: the stream's own error.
        let reader = rs.get_reader().unwrap();
        assert_rejects_with(reader.closed().await, &error1);
    });
}

#[test]
fn a_reader_can_be_taken_after_partially_iterating() {
    common::run(async {
        let rs = push_source_1_2_3();
        let mut chunks = Vec::new();
        {
            let mut it = rs.values().unwrap();
            while let Some(chunk) = it.next().await {
                let chunk = chunk.unwrap();
                chunks.push(chunk);
                if chunk >= 2 {
                    break;
                }
            }
        }
        assert_eq!(chunks, [1, 2]);
        let reader = rs.get_reader().unwrap();
        reader.closed().await.unwrap();
        assert_eq!(
            reader.read().await.unwrap(),
            None,
            "the break cancelled the stream"
        );
    });
}

#[test]
fn remaining_chunks_can_be_read_after_partially_iterating_with_prevent_cancel() {
    common::run(async {
        let rs = push_source_1_2_3();
        let mut chunks = Vec::new();
        {
            let mut it = rs.values_with(IterOptions { prevent_cancel: true }).unwrap();
            while let Some(chunk) = it.next().await {
                let chunk = chunk.unwrap();
                chunks.push(chunk);
                if chunk >= 2 {
                    break;
                }
            }
        }
        assert_eq!(chunks, [1, 2]);
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some(3));
        reader.closed().await.unwrap();
    });
}

#[test]
fn return_unlocks_the_stream_synchronously() {
    let (rs, _c) = common::controlled_stream::<u32>(QueuingStrategy::new());
    drop(rs.values().unwrap().cancel(StreamError::undefined()));
    assert!(!rs.locked());
    assert!(rs.get_reader().is_ok());
}

#[test]
fn return_unlocks_the_stream_synchronously_with_prevent_cancel() {
    let (rs, _c) = common::controlled_stream::<u32>(QueuingStrategy::new());
    drop(
        rs.values_with(IterOptions { prevent_cancel: true })
            .unwrap()
            .cancel(StreamError::undefined()),
    );
    assert!(!rs.locked());
    assert!(rs.is_readable());
    assert!(rs.get_reader().is_ok());
}

#[test]
fn close_while_next_is_pending() {
    common::run(async {
        let rs = ReadableStream::new(SourceFn::new().start(|c: &Controller<&str>| {
            c.enqueue("a").unwrap();
            c.enqueue("b").unwrap();
            c.enqueue("c").unwrap();
            let c = c.clone();
            sluicegate::Completion::future(async move {
                common::sleep(1).await;
                // The iterator has a read request waiting for its pending next().
                c.close()
            })
        }))
        .unwrap();
        assert_eq!(collect(rs.values().unwrap()).await.unwrap(), ["a", "b", "c"]);
    });
}

#[test]
fn the_lock_is_released_when_the_stream_closes_under_a_pending_next() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let mut it = rs.values().unwrap();
        let mut next = it.next();
        flush(rs.host());
        assert!(poll_once(&mut next).is_none());
        controller.close().unwrap();
        // Released by the read request's close steps, before anyone polls the iterator again.
        assert!(!rs.locked());
        assert!(next.await.is_none());
    });
}

#[test]
fn the_lock_is_released_when_the_stream_errors_under_a_pending_next() {
    common::run(async {
        let error1 = StreamError::user("error1");
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let mut it = rs.values().unwrap();
        let mut next = it.next();
        flush(rs.host());
        assert!(poll_once(&mut next).is_none());
        controller.error(error1.clone());
        assert!(!rs.locked());
        assert_rejects_with(next.await.unwrap(), &error1);
        assert!(it.next().await.is_none());
    });
}

#[test]
fn dropping_an_iterator_with_a_pending_next_cancels_with_undefined() {
    common::run(async {
        let rec = common::recording_stream::<u32>(QueuingStrategy::new(), |_| {}, |_| {});
        let mut it = rec.stream.values().unwrap();
        assert!(poll_once(&mut it.next()).is_none());
        drop(it);
        rec.log.assert(&["pull", "cancel undefined"]);
        assert!(!rec.stream.locked());
    });
}
