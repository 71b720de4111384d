//! Teeing readable streams: the behaviour of WPT `streams/readable-streams/tee.any.js` (and the
//! `templatedRSTeeCancel` template it runs), ported to the native API, plus the native bounded tee.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use sluicegate::readable::{
    ReadRequest, ReadableStream, ReadableStreamDefaultController, ReadableStreamDefaultReader, SourceFn,
    TeeCancelReasons,
};
use sluicegate::{Completion, ErrorKind, QueuingStrategy, StreamError};

use common::{flush, Calls, Log};

type Controller<T> = ReadableStreamDefaultController<T>;

/// WPT's `recordingReadableStream`: logs `pull` and `cancel` calls, runs `on_pull` on each pull,
/// and hands back the controller `start` received.
fn recording_stream<T: Send + 'static>(
    high_water_mark: f64,
    mut on_pull: impl FnMut(&Controller<T>) + Send + 'static,
) -> (ReadableStream<T>, Controller<T>, Log) {
    let log = Log::new();
    let slot: Arc<Mutex<Option<Controller<T>>>> = Arc::default();
    let (s, l1, l2) = (slot.clone(), log.clone(), log.clone());
    let stream = ReadableStream::with_strategy(
        SourceFn::new()
            .start(move |c| {
                *s.lock().unwrap() = Some(c.clone());
            })
            .pull(move |c| {
                l1.push("pull");
                on_pull(c);
            })
            .cancel(move |r: StreamError| {
                l2.push(format!("cancel {}", r.message()));
            }),
        QueuingStrategy::count(high_water_mark),
    )
    .unwrap();
    let controller = slot.lock().unwrap().take().unwrap();
    (stream, controller, log)
}

/// A stream whose `start` enqueues `chunks` and, if `close`, closes it.
fn stream_of(chunks: &[&'static str], close: bool) -> ReadableStream<&'static str> {
    let chunks = chunks.to_vec();
    ReadableStream::new(SourceFn::new().start(move |c| {
        for &chunk in &chunks {
            c.enqueue(chunk).unwrap();
        }
        if close {
            c.close().unwrap();
        }
    }))
    .unwrap()
}

/// A stream whose `start` keeps its controller and does nothing else.
fn controlled_stream<T: Send + 'static>() -> (ReadableStream<T>, Controller<T>) {
    let slot: Arc<Mutex<Option<Controller<T>>>> = Arc::default();
    let s = slot.clone();
    let stream = ReadableStream::new(SourceFn::new().start(move |c| {
        *s.lock().unwrap() = Some(c.clone());
    }))
    .unwrap();
    let controller = slot.lock().unwrap().take().unwrap();
    (stream, controller)
}

/// A source whose `cancel` records every reason it is called with and returns `result`.
fn cancel_recording_stream(
    result: Option<StreamError>,
) -> (ReadableStream<u32>, Arc<Mutex<Vec<StreamError>>>) {
    let reasons: Arc<Mutex<Vec<StreamError>>> = Arc::default();
    let r = reasons.clone();
    let stream = ReadableStream::new(SourceFn::new().cancel(move |reason: StreamError| {
        r.lock().unwrap().push(reason);
        match &result {
            Some(e) => Completion::err(e.clone()),
            None => Completion::ok(),
        }
    }))
    .unwrap();
    (stream, reasons)
}

/// WPT's `readableStreamToArray`.
async fn read_all<T: Send + 'static>(stream: &ReadableStream<T>) -> Result<Vec<T>, StreamError> {
    let reader = stream.get_reader()?;
    let mut chunks = Vec::new();
    while let Some(chunk) = reader.read().await? {
        chunks.push(chunk);
    }
    Ok(chunks)
}

fn readers<T: Send + 'static>(
    (b1, b2): (ReadableStream<T>, ReadableStream<T>),
) -> (ReadableStreamDefaultReader<T>, ReadableStreamDefaultReader<T>) {
    (b1.get_reader().unwrap(), b2.get_reader().unwrap())
}

#[track_caller]
fn assert_same(actual: &StreamError, expected: &StreamError) {
    assert!(
        StreamError::same(actual, expected),
        "expected {expected:?}, got {actual:?}"
    );
}

/// The composite reason the source's `cancel` received.
#[track_caller]
fn assert_composite(reason: &StreamError, reason1: &StreamError, reason2: &StreamError) {
    assert_eq!(reason.kind(), ErrorKind::User);
    let reasons = reason.reason::<TeeCancelReasons>().expect("a TeeCancelReasons");
    assert_same(reasons.branch1(), reason1);
    assert_same(reasons.branch2(), reason2);
    assert_same(&reasons.0[0], reason1);
    assert_same(&reasons.0[1], reason2);
}

// ---------------------------------------------------------------------------------------------
// tee.any.js
// ---------------------------------------------------------------------------------------------

#[test]
fn tee_returns_two_readable_streams_and_locks_the_source() {
    let rs = ReadableStream::<u32>::new(SourceFn::new()).unwrap();
    let (b1, b2) = rs.tee().unwrap();
    assert!(rs.locked());
    for b in [&b1, &b2] {
        assert!(!b.locked());
        assert!(b.is_readable());
        assert!(!b.is_disturbed());
    }
    // getReader works on both branches.
    b1.get_reader().unwrap();
    b2.get_reader().unwrap();
    assert_eq!(rs.get_reader().unwrap_err().kind(), ErrorKind::Type);
}

#[test]
fn teeing_a_locked_stream_is_a_type_error() {
    let rs = stream_of(&["a"], true);
    let _reader = rs.get_reader().unwrap();
    assert_eq!(rs.tee().unwrap_err().kind(), ErrorKind::Type);
    let (rs, _) = controlled_stream::<u8>();
    rs.tee().unwrap();
    assert_eq!(rs.tee().unwrap_err().kind(), ErrorKind::Type);
    assert_eq!(rs.tee_bounded(2).unwrap_err().kind(), ErrorKind::Type);
}

#[test]
fn should_be_able_to_read_one_branch_to_the_end_without_affecting_the_other() {
    common::run(async {
        let rs = stream_of(&["a", "b"], true);
        let (reader1, reader2) = readers(rs.tee().unwrap());
        let closed2 = reader2.closed();
        assert_eq!(reader1.read().await.unwrap(), Some("a"));
        assert_eq!(reader1.read().await.unwrap(), Some("b"));
        assert_eq!(reader1.read().await.unwrap(), None);
        reader1.closed().await.unwrap();
        assert_eq!(reader2.read().await.unwrap(), Some("a"));
        // branch2 still holds "b" and is not closed.
        assert!(closed2.peek().is_none(), "branch2 should not be closed");
    });
}

#[test]
fn values_should_be_equal_across_each_branch() {
    common::run(async {
        let the_object = Arc::new(String::from("test object"));
        let o = the_object.clone();
        let rs = ReadableStream::new(SourceFn::new().start(move |c| c.enqueue(o.clone()))).unwrap();
        let (reader1, reader2) = readers(rs.tee().unwrap());
        let (v1, v2) = futures::join!(reader1.read(), reader2.read());
        let (v1, v2) = (v1.unwrap().unwrap(), v2.unwrap().unwrap());
        assert_eq!(v1, v2);
        // The same value (cloneForBranch2 is false): both are the very object enqueued.
        assert!(Arc::ptr_eq(&v1, &the_object));
        assert!(Arc::ptr_eq(&v2, &the_object));
    });
}

#[test]
fn errors_in_the_source_should_propagate_to_both_branches() {
    common::run(async {
        let the_error = StreamError::user("boo!");
        let e = the_error.clone();
        let rs = ReadableStream::new(
            SourceFn::new()
                .start(|c| {
                    c.enqueue("a").unwrap();
                    c.enqueue("b").unwrap();
                })
                .pull(move |_| Completion::err(e.clone())),
        )
        .unwrap();
        let (reader1, reader2) = readers(rs.tee().unwrap());
        let (closed1, closed2) = (reader1.closed(), reader2.closed());
        let (r1a, r1b) = (reader1.read(), reader1.read());
        assert_eq!(r1a.await.unwrap(), Some("a"));
        assert_eq!(r1b.await.unwrap(), Some("b"));
        // branch2 had "a" and "b" queued, but the error discards them.
        assert_same(&reader2.read().await.unwrap_err(), &the_error);
        assert_same(&reader1.read().await.unwrap_err(), &the_error);
        assert_same(&closed1.await.unwrap_err(), &the_error);
        assert_same(&closed2.await.unwrap_err(), &the_error);
    });
}

#[test]
fn canceling_branch1_should_not_impact_branch2() {
    common::run(async {
        let (b1, b2) = stream_of(&["a", "b"], true).tee().unwrap();
        let cancel = b1.cancel(StreamError::undefined());
        assert_eq!(read_all(&b1).await.unwrap(), Vec::<&str>::new());
        assert_eq!(read_all(&b2).await.unwrap(), ["a", "b"]);
        cancel.await.unwrap();
    });
}

#[test]
fn canceling_branch2_should_not_impact_branch1() {
    common::run(async {
        let (b1, b2) = stream_of(&["a", "b"], true).tee().unwrap();
        let cancel = b2.cancel(StreamError::undefined());
        assert_eq!(read_all(&b1).await.unwrap(), ["a", "b"]);
        assert_eq!(read_all(&b2).await.unwrap(), Vec::<&str>::new());
        cancel.await.unwrap();
    });
}

#[test]
fn canceling_both_branches_should_aggregate_the_cancel_reasons() {
    common::run(async {
        let (rs, seen) = cancel_recording_stream(None);
        let reason1 = StreamError::user("We're wanted men.");
        let reason2 = StreamError::user("I have the death sentence on twelve systems.");
        let (b1, b2) = rs.tee().unwrap();
        let (c1, c2) = futures::join!(b1.cancel(reason1.clone()), b2.cancel(reason2.clone()));
        c1.unwrap();
        c2.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "the source is cancelled once");
        assert_composite(&seen[0], &reason1, &reason2);
    });
}

#[test]
fn canceling_both_branches_in_reverse_order_should_aggregate_the_cancel_reasons() {
    common::run(async {
        let (rs, seen) = cancel_recording_stream(None);
        let reason1 = StreamError::user("This little one's not worth the effort.");
        let reason2 = StreamError::user("Come, let me get you something.");
        let (b1, b2) = rs.tee().unwrap();
        let (c2, c1) = futures::join!(b2.cancel(reason2.clone()), b1.cancel(reason1.clone()));
        c1.unwrap();
        c2.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        // Branch 1's reason comes first whatever the order of the cancels.
        assert_composite(&seen[0], &reason1, &reason2);
    });
}

#[test]
fn failing_to_cancel_the_original_stream_should_cause_cancel_to_reject_on_branches() {
    common::run(async {
        let the_error = StreamError::user("I'll be careful.");
        let (rs, seen) = cancel_recording_stream(Some(the_error.clone()));
        let (b1, b2) = rs.tee().unwrap();
        let (c1, c2) = futures::join!(
            b1.cancel(StreamError::undefined()),
            b2.cancel(StreamError::undefined())
        );
        assert_same(&c1.unwrap_err(), &the_error);
        assert_same(&c2.unwrap_err(), &the_error);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        let reasons = seen[0].reason::<TeeCancelReasons>().unwrap();
        assert_eq!(reasons.branch1().kind(), ErrorKind::Undefined);
        assert_eq!(reasons.branch2().kind(), ErrorKind::Undefined);
    });
}

#[test]
fn erroring_a_teed_stream_should_properly_handle_canceled_branches() {
    common::run(async {
        let the_error = StreamError::user("You just watch yourself!");
        let (rs, controller) = controlled_stream::<u32>();
        let (b1, b2) = rs.tee().unwrap();
        controller.error(the_error.clone());
        let (c1, c2) = futures::join!(
            b1.cancel(StreamError::undefined()),
            b2.cancel(StreamError::undefined())
        );
        assert_same(&c1.unwrap_err(), &the_error);
        assert_same(&c2.unwrap_err(), &the_error);
    });
}

#[test]
fn erroring_a_teed_stream_should_error_both_branches() {
    common::run(async {
        let (rs, controller) = controlled_stream::<u32>();
        let (b1, b2) = rs.tee().unwrap();
        let error = StreamError::user("distinctive");
        // Neither branch is waiting in ReadableStreamDefaultReaderRead: both queues are full.
        controller.enqueue(1).unwrap();
        controller.enqueue(2).unwrap();
        common::sleep(0).await;
        flush(rs.host());
        // This error has to be detected through the reader's closed promise.
        controller.error(error.clone());
        let (reader1, reader2) = (b1.get_reader().unwrap(), b2.get_reader().unwrap());
        assert_same(&reader1.closed().await.unwrap_err(), &error);
        assert_same(&reader2.closed().await.unwrap_err(), &error);
    });
}

#[test]
fn closing_the_original_should_immediately_close_the_branches() {
    let (rs, controller) = controlled_stream::<u32>();
    let (reader1, reader2) = readers(rs.tee().unwrap());
    flush(rs.host());
    let (closed1, closed2) = (reader1.closed(), reader2.closed());
    assert!(closed1.peek().is_none() && closed2.peek().is_none());
    controller.close().unwrap();
    // The tee's pending read is closed synchronously, and with it both branches.
    assert!(matches!(closed1.peek(), Some(Ok(()))));
    assert!(matches!(closed2.peek(), Some(Ok(()))));
}

#[test]
fn erroring_the_original_should_immediately_error_the_branches() {
    let (rs, controller) = controlled_stream::<u32>();
    let (reader1, reader2) = readers(rs.tee().unwrap());
    flush(rs.host());
    let (closed1, closed2) = (reader1.closed(), reader2.closed());
    let the_error = StreamError::user("boo!");
    controller.error(the_error.clone());
    // Detected through the closed promise: one microtask later.
    assert!(closed1.peek().is_none());
    flush(rs.host());
    assert_same(&closed1.peek().unwrap().unwrap_err(), &the_error);
    assert_same(&closed2.peek().unwrap().unwrap_err(), &the_error);
}

#[test]
fn canceling_branch2_should_finish_when_branch1_reads_until_end_of_stream() {
    common::run(async {
        let (rs, controller) = controlled_stream::<&str>();
        let (reader1, reader2) = readers(rs.tee().unwrap());
        let cancel = reader2.cancel(StreamError::undefined());
        controller.enqueue("a").unwrap();
        assert_eq!(reader1.read().await.unwrap(), Some("a"));
        flush(rs.host());
        assert!(cancel.peek().is_none(), "the cancel waits for the other branch");
        controller.close().unwrap();
        assert_eq!(reader1.read().await.unwrap(), None);
        reader1.closed().await.unwrap();
        cancel.await.unwrap();
    });
}

#[test]
fn canceling_branch2_should_finish_when_original_stream_errors() {
    common::run(async {
        let the_error = StreamError::user("boo!");
        let (rs, controller) = controlled_stream::<&str>();
        let (reader1, reader2) = readers(rs.tee().unwrap());
        let cancel = reader2.cancel(StreamError::undefined());
        controller.error(the_error.clone());
        let (read, cancelled) = futures::join!(reader1.read(), cancel);
        assert_same(&read.unwrap_err(), &the_error);
        // The branch was cancelled before the error, so its cancel fulfils.
        cancelled.unwrap();
    });
}

#[test]
fn canceling_both_branches_in_sequence_with_delay() {
    common::run(async {
        let (rs, seen) = cancel_recording_stream(None);
        let (b1, b2) = rs.tee().unwrap();
        let cancel1 = b1.cancel(StreamError::undefined());
        flush(rs.host());
        assert!(cancel1.peek().is_none());
        assert!(seen.lock().unwrap().is_empty());
        let cancel2 = b2.cancel(StreamError::undefined());
        cancel1.await.unwrap();
        cancel2.await.unwrap();
        assert_eq!(seen.lock().unwrap().len(), 1);
    });
}

#[test]
fn failing_to_cancel_when_canceling_both_branches_in_sequence_with_delay() {
    common::run(async {
        let the_error = StreamError::user("boo!");
        let (rs, _) = cancel_recording_stream(Some(the_error.clone()));
        let (b1, b2) = rs.tee().unwrap();
        let cancel1 = b1.cancel(StreamError::undefined());
        flush(rs.host());
        let cancel2 = b2.cancel(StreamError::undefined());
        assert_same(&cancel1.await.unwrap_err(), &the_error);
        assert_same(&cancel2.await.unwrap_err(), &the_error);
    });
}

#[test]
fn tee_should_not_pull_more_chunks_than_can_fit_in_the_branch_queue() {
    let (rs, _controller, log) = recording_stream::<&str>(0.0, |_| {});
    // Two branches with a high-water mark of 1 each: one chunk is pulled, not two.
    let _branches = rs.tee().unwrap();
    flush(rs.host());
    log.assert(&["pull"]);
}

#[test]
fn tee_should_only_pull_enough_to_fill_the_emptiest_queue() {
    common::run(async {
        let (rs, _controller, log) = recording_stream::<&str>(0.0, |c| c.enqueue("a").unwrap());
        let (reader1, reader2) = readers(rs.tee().unwrap());
        let (a, b) = futures::join!(reader1.read(), reader2.read());
        assert_eq!((a.unwrap(), b.unwrap()), (Some("a"), Some("a")));
        log.assert(&["pull", "pull"]);
    });
}

#[test]
fn tee_should_not_pull_when_original_is_already_errored() {
    common::run(async {
        let (rs, controller, log) = recording_stream::<&str>(0.0, |_| {});
        let the_error = StreamError::user("boo!");
        controller.error(the_error.clone());
        let (reader1, reader2) = readers(rs.tee().unwrap());
        flush(rs.host());
        log.assert(&[]);
        assert_same(&reader1.closed().await.unwrap_err(), &the_error);
        assert_same(&reader2.closed().await.unwrap_err(), &the_error);
    });
}

fn stops_pulling_when_original_stream_errors_while_branch_is_reading(branch: usize) {
    common::run(async move {
        let (rs, controller, log) = recording_stream::<&str>(0.0, |_| {});
        let the_error = StreamError::user("boo!");
        let (reader1, reader2) = readers(rs.tee().unwrap());
        flush(rs.host());
        log.assert(&["pull"]);
        controller.enqueue("a").unwrap();
        let reader = if branch == 1 { &reader1 } else { &reader2 };
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        flush(rs.host());
        log.assert(&["pull", "pull"]);
        controller.error(the_error.clone());
        assert_same(&reader1.closed().await.unwrap_err(), &the_error);
        assert_same(&reader2.closed().await.unwrap_err(), &the_error);
        flush(rs.host());
        log.assert(&["pull", "pull"]);
    });
}

#[test]
fn tee_stops_pulling_when_original_stream_errors_while_branch_1_is_reading() {
    stops_pulling_when_original_stream_errors_while_branch_is_reading(1);
}

#[test]
fn tee_stops_pulling_when_original_stream_errors_while_branch_2_is_reading() {
    stops_pulling_when_original_stream_errors_while_branch_is_reading(2);
}

#[test]
fn tee_stops_pulling_when_original_stream_errors_while_both_branches_are_reading() {
    common::run(async {
        let (rs, controller, log) = recording_stream::<&str>(0.0, |_| {});
        let the_error = StreamError::user("boo!");
        let (reader1, reader2) = readers(rs.tee().unwrap());
        flush(rs.host());
        log.assert(&["pull"]);
        controller.enqueue("a").unwrap();
        let (a, b) = futures::join!(reader1.read(), reader2.read());
        assert_eq!((a.unwrap(), b.unwrap()), (Some("a"), Some("a")));
        flush(rs.host());
        log.assert(&["pull", "pull"]);
        controller.error(the_error.clone());
        assert_same(&reader1.closed().await.unwrap_err(), &the_error);
        assert_same(&reader2.closed().await.unwrap_err(), &the_error);
        flush(rs.host());
        log.assert(&["pull", "pull"]);
    });
}

#[test]
fn enqueue_and_close_while_both_branches_are_pulling() {
    common::run(async {
        let (rs, controller, _log) = recording_stream::<&str>(1.0, |_| {});
        let (reader1, reader2) = readers(rs.tee().unwrap());
        let branch1_reads = [reader1.read(), reader1.read()];
        let branch2_reads = [reader2.read(), reader2.read()];
        flush(rs.host());
        controller.enqueue("a").unwrap();
        controller.close().unwrap();
        let [r1a, r1b] = branch1_reads;
        let [r2a, r2b] = branch2_reads;
        assert_eq!(r1a.await.unwrap(), Some("a"));
        assert_eq!(r2a.await.unwrap(), Some("a"));
        assert_eq!(r1b.await.unwrap(), None);
        assert_eq!(r2b.await.unwrap(), None);
    });
}

// ---------------------------------------------------------------------------------------------
// Beyond the WPT file: the standard's steps observed through the native API.
// ---------------------------------------------------------------------------------------------

/// A read request that logs its steps.
struct LoggingRequest(Log, &'static str);

impl ReadRequest<u32> for LoggingRequest {
    fn chunk_steps(self: Box<Self>, chunk: u32) {
        self.0.push(format!("{} chunk {chunk}", self.1));
    }
    fn close_steps(self: Box<Self>) {
        self.0.push(format!("{} close", self.1));
    }
    fn error_steps(self: Box<Self>, e: StreamError) {
        self.0.push(format!("{} error {}", self.1, e.message()));
    }
}

#[test]
fn chunk_steps_reach_the_branches_in_a_microtask() {
    let (rs, controller) = controlled_stream::<u32>();
    let (reader1, reader2) = readers(rs.tee().unwrap());
    let log = Log::new();
    reader1
        .read_with(Box::new(LoggingRequest(log.clone(), "one")))
        .unwrap();
    reader2
        .read_with(Box::new(LoggingRequest(log.clone(), "two")))
        .unwrap();
    flush(rs.host());
    // The tee's read is waiting on the source; enqueue fulfils it synchronously, but the chunk
    // reaches the branches only in the microtask the chunk steps queue.
    controller.enqueue(7).unwrap();
    log.assert(&[]);
    flush(rs.host());
    log.assert(&["one chunk 7", "two chunk 7"]);
}

#[test]
fn close_reaches_both_branches_read_requests() {
    let (rs, controller) = controlled_stream::<u32>();
    let (reader1, reader2) = readers(rs.tee().unwrap());
    let log = Log::new();
    reader1
        .read_with(Box::new(LoggingRequest(log.clone(), "one")))
        .unwrap();
    reader2
        .read_with(Box::new(LoggingRequest(log.clone(), "two")))
        .unwrap();
    flush(rs.host());
    controller.close().unwrap();
    // Close steps run synchronously inside the source's close.
    log.assert(&["one close", "two close"]);
}

#[test]
fn error_reaches_both_branches_with_the_same_error() {
    common::run(async {
        let (rs, controller) = controlled_stream::<u32>();
        let (reader1, reader2) = readers(rs.tee().unwrap());
        let (read1, read2) = (reader1.read(), reader2.read());
        flush(rs.host());
        let the_error = StreamError::user("boom");
        controller.error(the_error.clone());
        assert_same(&read1.await.unwrap_err(), &the_error);
        assert_same(&read2.await.unwrap_err(), &the_error);
        assert_same(&reader1.read().await.unwrap_err(), &the_error);
        assert_same(&reader2.read().await.unwrap_err(), &the_error);
    });
}

#[test]
fn cancel_of_one_branch_waits_and_does_not_cancel_the_source() {
    common::run(async {
        let (rs, seen) = cancel_recording_stream(None);
        let (b1, b2) = rs.tee().unwrap();
        let cancel1 = b1.cancel(StreamError::user("one"));
        flush(rs.host());
        common::sleep(100).await;
        flush(rs.host());
        assert!(cancel1.peek().is_none());
        assert!(seen.lock().unwrap().is_empty());
        assert!(rs.is_readable());
        assert!(!b1.is_readable(), "the cancelled branch is closed at once");
        assert!(b2.is_readable());
        b2.cancel(StreamError::user("two")).await.unwrap();
        cancel1.await.unwrap();
        assert!(!rs.is_readable());
        assert_eq!(seen.lock().unwrap().len(), 1);
    });
}

#[test]
fn the_source_stays_locked_after_both_branches_are_done() {
    common::run(async {
        let (rs, _) = cancel_recording_stream(None);
        let (b1, b2) = rs.tee().unwrap();
        let (c1, c2) = futures::join!(
            b1.cancel(StreamError::undefined()),
            b2.cancel(StreamError::undefined())
        );
        c1.unwrap();
        c2.unwrap();
        drop((b1, b2));
        flush(rs.host());
        assert!(rs.locked());
        assert_eq!(rs.get_reader().unwrap_err().kind(), ErrorKind::Type);
        assert_eq!(
            rs.cancel(StreamError::undefined()).await.unwrap_err().kind(),
            ErrorKind::Type
        );
    });
}

/// A chunk that counts its clones.
#[derive(Debug)]
struct Counted(u32, Arc<AtomicUsize>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.1.fetch_add(1, Ordering::SeqCst);
        Counted(self.0, self.1.clone())
    }
}

#[test]
fn a_chunk_is_cloned_only_while_both_branches_take_it() {
    common::run(async {
        let clones = Arc::new(AtomicUsize::new(0));
        let c = clones.clone();
        let rs = ReadableStream::from_iter((0..6).map(move |i| Counted(i, c.clone())));
        let (b1, b2) = rs.tee().unwrap();
        let (reader1, reader2) = readers((b1, b2));
        for i in 0..3 {
            let (a, b) = futures::join!(reader1.read(), reader2.read());
            assert_eq!((a.unwrap().unwrap().0, b.unwrap().unwrap().0), (i, i));
        }
        // One clone per chunk while both branches live: the three read, and chunk 3, which each
        // branch (high-water mark 1) has already read ahead.
        assert_eq!(clones.load(Ordering::SeqCst), 4);
        // The cancel of one branch settles only when the source is done (closed here).
        let cancel = reader1.cancel(StreamError::undefined());
        let mut rest = Vec::new();
        while let Some(chunk) = reader2.read().await.unwrap() {
            rest.push(chunk.0);
        }
        assert_eq!(rest, [3, 4, 5]);
        assert_eq!(
            clones.load(Ordering::SeqCst),
            4,
            "no clones once branch 1 is cancelled"
        );
        cancel.await.unwrap();
    });
}

#[test]
fn branches_share_the_source_host_and_drive_an_async_source() {
    common::run(async {
        let produced = Calls::new();
        let p = produced.clone();
        let mut n = 0u32;
        let rs = ReadableStream::with_strategy(
            SourceFn::new().pull(move |c| {
                p.hit();
                n += 1;
                let (c, v) = (c.clone(), n);
                Completion::future(async move {
                    common::sleep(10).await;
                    if v > 3 {
                        c.close()
                    } else {
                        c.enqueue(v)
                    }
                })
            }),
            QueuingStrategy::count(0.0),
        )
        .unwrap();
        let (b1, b2) = rs.tee().unwrap();
        assert!(Arc::ptr_eq(b1.host(), rs.host()));
        assert!(Arc::ptr_eq(b2.host(), rs.host()));
        // Awaiting only branch 2 drives the source.
        assert_eq!(read_all(&b2).await.unwrap(), [1, 2, 3]);
        assert_eq!(common::now(), 40);
        produced.assert_exactly(4);
        assert_eq!(read_all(&b1).await.unwrap(), [1, 2, 3]);
        produced.assert_exactly(4);
    });
}

#[test]
fn the_standard_tee_buffers_behind_the_slower_branch_without_limit() {
    common::run(async {
        let produced = Arc::new(AtomicUsize::new(0));
        let rs = counting_stream(produced.clone(), 100);
        let (fast, slow) = rs.tee().unwrap();
        assert_eq!(read_all(&fast).await.unwrap(), (0..100).collect::<Vec<_>>());
        // Everything the fast branch read is waiting in the slow one.
        assert_eq!(produced.load(Ordering::SeqCst), 100);
        assert_eq!(read_all(&slow).await.unwrap(), (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn disturbing_the_source_happens_when_a_branch_pulls() {
    let (rs, _controller, log) = recording_stream::<u32>(0.0, |_| {});
    let (b1, b2) = rs.tee().unwrap();
    assert!(!rs.is_disturbed());
    // Each branch's start fulfils in a microtask and then pulls, which reads the source.
    flush(rs.host());
    assert!(rs.is_disturbed());
    assert!(!b1.is_disturbed() && !b2.is_disturbed());
    log.assert(&["pull"]);
}

#[test]
fn tee_of_a_closed_stream_gives_two_closed_branches() {
    common::run(async {
        let rs = stream_of(&[], true);
        let (b1, b2) = rs.tee().unwrap();
        assert_eq!(read_all(&b1).await.unwrap(), Vec::<&str>::new());
        assert_eq!(read_all(&b2).await.unwrap(), Vec::<&str>::new());
        assert!(!b1.is_readable() && b1.stored_error().is_none());
    });
}

#[test]
fn a_branch_can_be_teed_again() {
    common::run(async {
        let (b1, b2) = stream_of(&["x", "y"], true).tee().unwrap();
        let (b2a, b2b) = b2.tee().unwrap();
        assert!(Arc::ptr_eq(b2a.host(), b1.host()));
        assert_eq!(read_all(&b2b).await.unwrap(), ["x", "y"]);
        assert_eq!(read_all(&b1).await.unwrap(), ["x", "y"]);
        assert_eq!(read_all(&b2a).await.unwrap(), ["x", "y"]);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branches_are_read_on_different_tasks() {
    let rs = ReadableStream::from_iter(0..5_000u64);
    let (b1, b2) = rs.tee().unwrap();
    let sum = |b: ReadableStream<u64>| {
        tokio::spawn(async move {
            let reader = b.get_reader().unwrap();
            let (mut sum, mut count) = (0, 0);
            while let Some(n) = reader.read().await.unwrap() {
                sum += n;
                count += 1;
            }
            (sum, count)
        })
    };
    let (t1, t2) = (sum(b1), sum(b2));
    let expected = (0..5_000u64).sum::<u64>();
    assert_eq!(t1.await.unwrap(), (expected, 5_000));
    assert_eq!(t2.await.unwrap(), (expected, 5_000));
}

// ---------------------------------------------------------------------------------------------
// The bounded tee.
// ---------------------------------------------------------------------------------------------

/// A source of `0..total` that counts how many chunks it has produced; high-water mark 0, so it
/// produces only when the tee reads.
fn counting_stream(produced: Arc<AtomicUsize>, total: usize) -> ReadableStream<usize> {
    ReadableStream::with_strategy(
        SourceFn::new().pull(move |c| {
            let n = produced.load(Ordering::SeqCst);
            if n < total {
                produced.store(n + 1, Ordering::SeqCst);
                c.enqueue(n)
            } else {
                c.close()
            }
        }),
        QueuingStrategy::count(0.0),
    )
    .unwrap()
}

#[test]
fn bounded_tee_rejects_a_zero_limit() {
    let rs = ReadableStream::from_iter(0..3u8);
    let e = rs.tee_bounded(0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Range);
    assert!(!rs.locked(), "a rejected tee leaves the stream unlocked");
}

#[test]
fn bounded_tee_fills_each_branch_up_to_the_limit_and_no_further() {
    let produced = Arc::new(AtomicUsize::new(0));
    let rs = counting_stream(produced.clone(), usize::MAX);
    let (fast, slow) = readers(rs.tee_bounded(4).unwrap());
    flush(rs.host());
    // Nobody reads: each branch reads ahead to its high-water mark, the limit.
    assert_eq!(produced.load(Ordering::SeqCst), 4);
    // The fast branch drains its four; the slow branch is full, so the source is not read.
    for i in 0..4 {
        assert_eq!(fast.read().now_or_never().unwrap().unwrap(), Some(i));
    }
    flush(rs.host());
    assert_eq!(produced.load(Ordering::SeqCst), 4);
    // The deadlock the docs warn about: the fast branch's next read waits on the slow branch.
    let mut next = fast.read();
    flush(rs.host());
    assert!((&mut next).now_or_never().is_none());
    // One read of the slow branch lets one chunk through, to both.
    assert_eq!(slow.read().now_or_never().unwrap().unwrap(), Some(0));
    flush(rs.host());
    assert_eq!(produced.load(Ordering::SeqCst), 5);
    assert_eq!(next.now_or_never().unwrap().unwrap(), Some(4));
}

#[test]
fn bounded_tee_memory_is_bounded_by_the_slower_branch() {
    const LIMIT: usize = 8;
    const TOTAL: usize = 1_000;
    common::run(async {
        let produced = Arc::new(AtomicUsize::new(0));
        let rs = counting_stream(produced.clone(), TOTAL);
        let (fast, slow) = rs.tee_bounded(LIMIT).unwrap();
        let p = produced.clone();
        let fast_task = async move {
            let reader = fast.get_reader().unwrap();
            let mut got = Vec::new();
            while let Some(n) = reader.read().await.unwrap() {
                got.push(n);
            }
            got
        };
        let slow_task = async move {
            let reader = slow.get_reader().unwrap();
            let (mut got, mut max_lead) = (Vec::new(), 0);
            while let Some(n) = reader.read().await.unwrap() {
                got.push(n);
                max_lead = max_lead.max(p.load(Ordering::SeqCst) - got.len());
                common::sleep(1).await;
            }
            (got, max_lead)
        };
        let (fast_got, (slow_got, max_lead)) = futures::join!(fast_task, slow_task);
        let expected: Vec<usize> = (0..TOTAL).collect();
        assert_eq!(fast_got, expected);
        assert_eq!(slow_got, expected);
        // Produced but not yet read by the slow branch: never more than the limit.
        assert_eq!(max_lead, LIMIT);
        assert_eq!(produced.load(Ordering::SeqCst), TOTAL);
    });
}

#[test]
fn bounded_tee_delivers_every_chunk_in_order_to_both_branches_under_uneven_reads() {
    common::run(async {
        let produced = Arc::new(AtomicUsize::new(0));
        let rs = counting_stream(produced.clone(), 200);
        let (reader1, reader2) = readers(rs.tee_bounded(3).unwrap());
        let (mut got1, mut got2) = (Vec::new(), Vec::new());
        let mut done = (false, false);
        let mut round = 0;
        while !(done.0 && done.1) {
            round += 1;
            // Branch 1 reads up to three chunks a round, branch 2 one or two.
            for _ in 0..3 {
                if done.0 || got1.len() >= got2.len() + 3 {
                    break;
                }
                match reader1.read().await.unwrap() {
                    Some(n) => got1.push(n),
                    None => done.0 = true,
                }
            }
            for _ in 0..(1 + round % 2) {
                if done.1 {
                    break;
                }
                match reader2.read().await.unwrap() {
                    Some(n) => got2.push(n),
                    None => done.1 = true,
                }
            }
            let lead = produced.load(Ordering::SeqCst) - got1.len().min(got2.len());
            assert!(lead <= 3, "lead {lead} beyond the limit");
        }
        let expected: Vec<usize> = (0..200).collect();
        assert_eq!(got1, expected);
        assert_eq!(got2, expected);
    });
}

#[test]
fn bounded_tee_cancel_of_both_branches_cancels_the_source_once_with_both_reasons() {
    common::run(async {
        let (rs, seen) = cancel_recording_stream(None);
        let (b1, b2) = rs.tee_bounded(2).unwrap();
        let reason1 = StreamError::user("one");
        let reason2 = StreamError::user("two");
        let cancel2 = b2.cancel(reason2.clone());
        flush(rs.host());
        assert!(seen.lock().unwrap().is_empty());
        let cancel1 = b1.cancel(reason1.clone());
        cancel1.await.unwrap();
        cancel2.await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_composite(&seen[0], &reason1, &reason2);
    });
}

#[test]
fn bounded_tee_cancelling_the_full_branch_releases_the_other() {
    common::run(async {
        let produced = Arc::new(AtomicUsize::new(0));
        let rs = counting_stream(produced.clone(), 10);
        let (fast, slow) = rs.tee_bounded(2).unwrap();
        let reader = fast.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some(0));
        assert_eq!(reader.read().await.unwrap(), Some(1));
        let mut stalled = reader.read();
        flush(rs.host());
        assert!((&mut stalled).now_or_never().is_none());
        assert_eq!(produced.load(Ordering::SeqCst), 2);
        // The slow branch is never going to be read: cancelling it lets the fast one go on alone.
        let cancel = slow.cancel(StreamError::undefined());
        assert_eq!(stalled.await.unwrap(), Some(2));
        let mut rest = Vec::new();
        while let Some(n) = reader.read().await.unwrap() {
            rest.push(n);
        }
        assert_eq!(rest, (3..10).collect::<Vec<_>>());
        // The source closed while only branch 2 was cancelled: its cancel fulfils.
        cancel.await.unwrap();
    });
}

#[test]
fn bounded_tee_dropping_the_unread_branch_releases_the_other() {
    let produced = Arc::new(AtomicUsize::new(0));
    let rs = counting_stream(produced.clone(), 5);
    let (fast, slow) = rs.tee_bounded(2).unwrap();
    let reader = fast.get_reader().unwrap();
    assert_eq!(reader.read().now_or_never().unwrap().unwrap(), Some(0));
    assert_eq!(reader.read().now_or_never().unwrap().unwrap(), Some(1));
    let mut stalled = reader.read();
    flush(rs.host());
    assert!((&mut stalled).now_or_never().is_none());
    // The slow branch goes away without being cancelled: it can never be read, so it no longer
    // holds the fast one back.
    drop(slow);
    assert_eq!(stalled.now_or_never().unwrap().unwrap(), Some(2));
    assert_eq!(reader.read().now_or_never().unwrap().unwrap(), Some(3));
    assert_eq!(reader.read().now_or_never().unwrap().unwrap(), Some(4));
    assert_eq!(reader.read().now_or_never().unwrap().unwrap(), None);
    assert_eq!(produced.load(Ordering::SeqCst), 5);
}

#[test]
fn bounded_tee_close_and_error_reach_both_branches() {
    common::run(async {
        let (rs, controller) = controlled_stream::<u32>();
        let (reader1, reader2) = readers(rs.tee_bounded(2).unwrap());
        controller.enqueue(1).unwrap();
        controller.close().unwrap();
        assert_eq!(reader1.read().await.unwrap(), Some(1));
        assert_eq!(reader1.read().await.unwrap(), None);
        assert_eq!(reader2.read().await.unwrap(), Some(1));
        assert_eq!(reader2.read().await.unwrap(), None);

        let (rs, controller) = controlled_stream::<u32>();
        let (reader1, reader2) = readers(rs.tee_bounded(2).unwrap());
        let the_error = StreamError::user("gone");
        controller.enqueue(1).unwrap();
        flush(rs.host());
        controller.error(the_error.clone());
        // The error reaches the branches through the tee reader's closed promise, a microtask
        // later, and discards the chunk they hold.
        flush(rs.host());
        assert_same(&reader1.read().await.unwrap_err(), &the_error);
        assert_same(&reader2.read().await.unwrap_err(), &the_error);
        assert_same(&reader2.closed().await.unwrap_err(), &the_error);
    });
}

#[test]
fn bounded_tee_with_a_failing_source_cancel_rejects_both_cancels() {
    common::run(async {
        let the_error = StreamError::user("no");
        let (rs, _) = cancel_recording_stream(Some(the_error.clone()));
        let (b1, b2) = rs.tee_bounded(1).unwrap();
        let (c1, c2) = futures::join!(
            b1.cancel(StreamError::undefined()),
            b2.cancel(StreamError::undefined())
        );
        assert_same(&c1.unwrap_err(), &the_error);
        assert_same(&c2.unwrap_err(), &the_error);
    });
}

#[test]
fn cancelling_both_branches_adopts_the_source_cancel_result_a_job_later() {
    // The second branch's cancel resolves the tee's cancelPromise with ReadableStreamCancel of the
    // source (already fulfilled here: the source is closed). A promise resolved with a promise
    // adopts it: a NewPromiseResolveThenableJob, then the reaction that settles it; each branch's
    // cancel() reacts to cancelPromise after that. Reacting to the source's result at once
    // settled both branches' cancels a job early (the binding's test pins the same order,
    // `readable_stream.rs`, which the standard's reference implementation prints too).
    let host: sluicegate::host::HostRef = common::host();
    let slot: Arc<Mutex<Option<Controller<u8>>>> = Arc::default();
    let s = slot.clone();
    let stream = ReadableStream::with_host(
        SourceFn::new().start(move |c| {
            *s.lock().unwrap() = Some(c.clone());
        }),
        QueuingStrategy::default(),
        host.clone(),
    )
    .unwrap();
    let controller = slot.lock().unwrap().take().unwrap();
    let (b1, b2) = stream.tee().unwrap();
    // Closed before the branches have pulled: the tee has not resolved cancelPromise yet.
    controller.close().unwrap();
    let log = Log::new();
    let (l1, l2) = (log.clone(), log.clone());
    b1.cancel(StreamError::user("a"))
        .on_settle(move |_| l1.push("branch 1 cancelled"));
    b2.cancel(StreamError::user("b"))
        .on_settle(move |_| l2.push("branch 2 cancelled"));
    fn tick(host: sluicegate::host::HostRef, log: Log, n: usize) {
        if n > 4 {
            return;
        }
        let next = host.clone();
        host.queue_microtask(Box::new(move || {
            log.push(format!("turn {n}"));
            tick(next, log, n + 1);
        }));
    }
    tick(host.clone(), log.clone(), 1);
    flush(&host);
    assert_eq!(
        log.take(),
        [
            "turn 1",
            "turn 2",
            "branch 1 cancelled",
            "branch 2 cancelled",
            "turn 3",
            "turn 4"
        ]
    );
}
