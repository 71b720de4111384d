//! The behaviour of WPT `streams/readable-streams/default-reader.any.js`, ported to the native
//! API: locking, `closed`, `releaseLock()`, reads on closed and errored streams, and the
//! read-request primitive.

use crate::common;

use std::sync::{Arc, Mutex};

use sluicegate::readable::{ReadRequest, ReadableStream, SourceFn};
use sluicegate::{Completion, ErrorKind, QueuingStrategy, ReadableStreamDefaultReader, StreamError};

use common::{
    assert_rejects_kind, assert_rejects_with, assert_same, flush, poll_once, Calls, Controller, Log, Slot,
};

#[test]
fn a_second_reader_on_a_locked_stream_is_a_type_error() {
    let (rs, _c) = common::controlled_stream::<u32>(QueuingStrategy::new());
    let _reader = rs.get_reader().unwrap();
    assert!(rs.locked());
    assert_rejects_kind(rs.get_reader(), ErrorKind::Type);
    assert_rejects_kind(rs.values(), ErrorKind::Type);
}

#[test]
fn a_reader_can_be_taken_on_a_closed_or_errored_stream() {
    let (closed, c) = common::controlled_stream::<u32>(QueuingStrategy::new());
    c.close().unwrap();
    assert!(closed.get_reader().is_ok());
    let (errored, c) = common::controlled_stream::<u32>(QueuingStrategy::new());
    c.error(StreamError::user("don't say i didn't warn ya"));
    assert!(errored.get_reader().is_ok());
}

#[test]
fn reading_from_an_empty_stream_waits_until_a_chunk_is_available() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<&str>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        let mut read = reader.read();
        flush(rs.host());
        assert!(poll_once(&mut read).is_none());
        controller.enqueue("a").unwrap();
        assert_eq!(read.await.unwrap(), Some("a"));
    });
}

#[test]
fn cancel_on_a_reader_does_not_release_the_reader() {
    common::run(async {
        let passed = StreamError::user("it wasn't the right time, sorry");
        let stream_slot: Slot<ReadableStream<u32>> = Slot::new();
        let cancel_called = Calls::new();
        let (ss, cc, p) = (stream_slot.clone(), cancel_called.clone(), passed.clone());
        let rs = ReadableStream::<u32>::new(SourceFn::new().cancel(move |reason: StreamError| {
            let rs = ss.get();
            assert!(rs.locked(), "the stream is still locked");
            assert_rejects_kind(rs.get_reader(), ErrorKind::Type);
            assert_same(&reason, &p);
            cc.hit();
        }))
        .unwrap();
        stream_slot.set(rs.clone());
        let reader = rs.get_reader().unwrap();
        reader.cancel(passed).await.unwrap();
        cancel_called.assert_exactly(1);
        assert!(rs.locked());
        assert!(reader.is_attached());
        stream_slot.take();
    });
}

#[test]
fn closed_fulfils_after_the_stream_is_closed() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        let closed = reader.closed();
        controller.close().unwrap();
        closed.await.unwrap();
    });
}

#[test]
fn closed_rejects_after_the_reader_releases_its_lock_with_multiple_locks() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader1 = rs.get_reader().unwrap();
        reader1.release_lock();
        let reader2 = rs.get_reader().unwrap();
        controller.close().unwrap();
        assert_rejects_kind(reader1.closed().await, ErrorKind::Type);
        reader2.closed().await.unwrap();
    });
}

#[test]
fn closed_is_replaced_when_the_stream_closes_and_the_reader_releases_its_lock() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        let promise1 = reader.closed();
        controller.close().unwrap();
        reader.release_lock();
        let promise2 = reader.closed();
        promise1.await.unwrap();
        assert_rejects_kind(promise2.await, ErrorKind::Type);
    });
}

#[test]
fn closed_is_replaced_when_the_stream_errors_and_the_reader_releases_its_lock() {
    common::run(async {
        let the_error = StreamError::user("unique error");
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        let promise1 = reader.closed();
        controller.error(the_error.clone());
        reader.release_lock();
        let promise2 = reader.closed();
        assert_rejects_with(promise1.await, &the_error);
        assert_rejects_kind(promise2.await, ErrorKind::Type);
    });
}

#[test]
fn multiple_readers_can_access_the_stream_in_sequence() {
    common::run(async {
        let rs = ReadableStream::new(SourceFn::new().start(|c: &Controller<&str>| {
            c.enqueue("a").unwrap();
            c.enqueue("b").unwrap();
            c.close().unwrap();
        }))
        .unwrap();
        let reader1 = rs.get_reader().unwrap();
        let promise1 = reader1.read();
        reader1.release_lock();
        let reader2 = rs.get_reader().unwrap();
        let promise2 = reader2.read();
        reader2.release_lock();
        assert_eq!(promise1.await.unwrap(), Some("a"));
        assert_eq!(promise2.await.unwrap(), Some("b"));
    });
}

#[test]
fn an_already_released_reader_cannot_unlock_the_stream_again() {
    common::run(async {
        let rs = ReadableStream::new(SourceFn::new().start(|c: &Controller<&str>| c.enqueue("a").unwrap()))
            .unwrap();
        let reader1 = rs.get_reader().unwrap();
        reader1.release_lock();
        let reader2 = rs.get_reader().unwrap();
        reader1.release_lock(); // a no-op
        assert!(rs.locked());
        assert!(reader2.is_attached());
        assert!(!reader1.is_attached());
        assert_eq!(reader2.read().await.unwrap(), Some("a"));
    });
}

#[test]
fn cancel_on_a_released_reader_is_a_type_error_and_does_not_pass_through() {
    common::run(async {
        let cancels = Calls::new();
        let c = cancels.clone();
        let rs = ReadableStream::new(
            SourceFn::new()
                .start(|c: &Controller<&str>| c.enqueue("a").unwrap())
                .cancel(move |_| c.hit()),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        reader.release_lock();
        let cancel = reader.cancel(StreamError::undefined());
        let reader2 = rs.get_reader().unwrap();
        let read = reader2.read();
        assert_rejects_kind(cancel.await, ErrorKind::Type);
        assert_eq!(read.await.unwrap(), Some("a"));
        cancels.assert_exactly(0);
    });
}

#[test]
fn a_second_reader_can_be_taken_after_erroring_and_releasing() {
    common::run(async {
        let the_error = StreamError::user("unique error");
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader1 = rs.get_reader().unwrap();
        let (closed1, read1) = (reader1.closed(), reader1.read());
        assert_rejects_kind(rs.get_reader(), ErrorKind::Type);
        controller.error(the_error.clone());
        reader1.release_lock();
        let reader2 = rs.get_reader().unwrap();
        let (closed2, read2) = (reader2.closed(), reader2.read());
        assert_rejects_with(closed1.await, &the_error);
        assert_rejects_with(read1.await, &the_error);
        assert_rejects_with(closed2.await, &the_error);
        assert_rejects_with(read2.await, &the_error);
    });
}

#[test]
fn closed_rejects_with_undefined_if_that_is_the_error() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        let closed = reader.closed();
        controller.error(StreamError::undefined());
        assert_rejects_kind(closed.await, ErrorKind::Undefined);
    });
}

#[test]
fn start_rejecting_with_no_reason_errors_the_stream_with_undefined() {
    common::run(async {
        let rs = ReadableStream::<u32>::new(
            SourceFn::new()
                .start(|_: &Controller<u32>| Completion::future(async { Err(StreamError::undefined()) })),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_rejects_kind(reader.read().await, ErrorKind::Undefined);
    });
}

#[test]
fn erroring_after_checking_closed_rejects_closed() {
    common::run(async {
        let the_error = StreamError::user("unique string");
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        let closed = reader.closed();
        controller.error(the_error.clone());
        assert_rejects_with(closed.await, &the_error);
    });
}

#[test]
fn erroring_before_checking_closed_rejects_closed() {
    common::run(async {
        let the_error = StreamError::user("unique string");
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        controller.error(the_error.clone());
        // getReader twice, for extra coverage of that path.
        rs.get_reader().unwrap().release_lock();
        assert_rejects_with(rs.get_reader().unwrap().closed().await, &the_error);
    });
}

#[test]
fn reading_twice_on_a_stream_that_gets_closed() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        let (r1, r2, closed) = (reader.read(), reader.read(), reader.closed());
        controller.close().unwrap();
        assert_eq!(r1.await.unwrap(), None);
        assert_eq!(r2.await.unwrap(), None);
        closed.await.unwrap();
    });
}

#[test]
fn reading_twice_on_a_closed_stream() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        controller.close().unwrap();
        let reader = rs.get_reader().unwrap();
        let (r1, r2, closed) = (reader.read(), reader.read(), reader.closed());
        assert_eq!(r1.await.unwrap(), None);
        assert_eq!(r2.await.unwrap(), None);
        closed.await.unwrap();
    });
}

#[test]
fn reading_twice_on_an_errored_stream() {
    common::run(async {
        let my_error = StreamError::user("mashed potatoes");
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        controller.error(my_error.clone());
        let reader = rs.get_reader().unwrap();
        let (r1, r2, closed) = (reader.read(), reader.read(), reader.closed());
        assert_rejects_with(r1.await, &my_error);
        assert_rejects_with(r2.await, &my_error);
        assert_rejects_with(closed.await, &my_error);
    });
}

#[test]
fn reading_twice_on_a_stream_that_gets_errored() {
    common::run(async {
        let my_error = StreamError::user("mashed potatoes");
        let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        let (r1, r2, closed) = (reader.read(), reader.read(), reader.closed());
        controller.error(my_error.clone());
        assert_rejects_with(r1.await, &my_error);
        assert_rejects_with(r2.await, &my_error);
        assert_rejects_with(closed.await, &my_error);
    });
}

#[test]
fn controller_close_clears_the_list_of_pending_read_requests() {
    common::run(async {
        let rs = ReadableStream::<u32>::new(SourceFn::new().pull(|c: &Controller<u32>| c.close().unwrap()))
            .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), None);
        reader.release_lock();
        assert!(!rs.locked());
    });
}

#[test]
fn a_second_reader_can_read_chunks_after_the_first_was_released_with_pending_reads() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<&str>(QueuingStrategy::new());
        let reader1 = rs.get_reader().unwrap();
        let read1 = reader1.read();
        reader1.release_lock();
        controller.enqueue("a").unwrap();
        let reader2 = rs.get_reader().unwrap();
        let read2 = reader2.read();
        reader2.release_lock();
        assert_rejects_kind(read1.await, ErrorKind::Type);
        assert_eq!(read2.await.unwrap(), Some("a"));
    });
}

#[test]
fn read_on_a_released_reader_is_a_type_error() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<&str>(QueuingStrategy::new());
        controller.enqueue("a").unwrap();
        let reader = rs.get_reader().unwrap();
        reader.release_lock();
        assert_rejects_kind(reader.read().await, ErrorKind::Type);
        // The chunk is still there for the next reader.
        assert_eq!(rs.get_reader().unwrap().read().await.unwrap(), Some("a"));
    });
}

#[test]
fn dropping_the_last_reader_handle_releases_the_lock() {
    let (rs, _controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
    let reader = rs.get_reader().unwrap();
    let clone = reader.clone();
    drop(reader);
    assert!(rs.locked(), "a clone still holds the lock");
    drop(clone);
    assert!(!rs.locked());
    assert!(rs.get_reader().is_ok());
}

/// A read request that logs which steps ran.
struct Logging(Log);

impl ReadRequest<&'static str> for Logging {
    fn chunk_steps(self: Box<Self>, chunk: &'static str) {
        self.0.push(format!("chunk {chunk}"));
    }
    fn close_steps(self: Box<Self>) {
        self.0.push("close");
    }
    fn error_steps(self: Box<Self>, e: StreamError) {
        self.0.push(format!("error {}", common::describe(&e)));
    }
}

#[test]
fn read_requests_run_exactly_one_of_their_steps_synchronously_when_settled() {
    let log = Log::new();
    let (rs, controller) = common::controlled_stream::<&str>(QueuingStrategy::new());
    controller.enqueue("a").unwrap();
    let reader = rs.get_reader().unwrap();
    reader.read_with(Box::new(Logging(log.clone()))).unwrap();
    log.assert(&["chunk a"]); // served from the queue at once
    reader.read_with(Box::new(Logging(log.clone()))).unwrap();
    reader.read_with(Box::new(Logging(log.clone()))).unwrap();
    log.assert(&["chunk a"]); // waiting
    controller.enqueue("b").unwrap();
    log.assert(&["chunk a", "chunk b"]);
    controller.close().unwrap();
    log.assert(&["chunk a", "chunk b", "close"]);
    reader.read_with(Box::new(Logging(log.clone()))).unwrap();
    log.assert(&["chunk a", "chunk b", "close", "close"]);
}

#[test]
fn read_requests_get_error_steps_on_error_and_release() {
    let log = Log::new();
    let (rs, controller) = common::controlled_stream::<&str>(QueuingStrategy::new());
    let reader = rs.get_reader().unwrap();
    reader.read_with(Box::new(Logging(log.clone()))).unwrap();
    reader.release_lock();
    log.assert(&["error Type"]);
    assert_rejects_kind(reader.read_with(Box::new(Logging(log.clone()))), ErrorKind::Type);
    log.assert(&["error Type"]); // a released reader takes no request
    let reader = rs.get_reader().unwrap();
    reader.read_with(Box::new(Logging(log.clone()))).unwrap();
    controller.error(StreamError::user("boom"));
    log.assert(&["error Type", "error boom"]);
    reader.read_with(Box::new(Logging(log.clone()))).unwrap();
    log.assert(&["error Type", "error boom", "error boom"]);
}

#[test]
fn readers_work_across_threads() {
    let (rs, controller) = common::controlled_stream::<u64>(QueuingStrategy::count(4.0));
    let reader = rs.get_reader().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let consumer = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            while let Some(v) = reader.read().await.unwrap() {
                g.lock().unwrap().push(v);
            }
            reader
        })
    });
    for i in 0..100 {
        while controller.desired_size().unwrap() <= 0.0 {
            std::thread::yield_now();
        }
        controller.enqueue(i).unwrap();
    }
    controller.close().unwrap();
    let reader: ReadableStreamDefaultReader<u64> = consumer.join().unwrap();
    assert_eq!(*got.lock().unwrap(), (0..100).collect::<Vec<_>>());
    assert!(reader.is_attached());
}
