//! WPT `streams/readable-streams/templated.any.js` with the templates of
//! `streams/resources/rs-test-templates.js`, ported to the native API: each template is a module of
//! checks, run against every factory the WPT file runs it with. (The templates that only check
//! JavaScript shapes, `templatedRSEmpty` among them, have nothing to port.)

use crate::common;

use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::{Completion, ErrorKind, QueuingStrategy, ReadableStreamDefaultReader, StreamError};

use common::{assert_rejects_kind, assert_rejects_with, flush, poll_once, Controller, Slot};

type Rs = ReadableStream<&'static str>;
type Reader = ReadableStreamDefaultReader<&'static str>;

fn with_reader(stream: Rs) -> (Rs, Reader) {
    let reader = stream.get_reader().unwrap();
    (stream, reader)
}

fn controlled() -> (Rs, Controller<&'static str>) {
    common::controlled_stream(QueuingStrategy::new())
}

/// `templatedRSEmptyReader`: a reader on a stream that has nothing and never will.
mod empty_reader {
    use super::*;

    fn factory() -> (Rs, Reader) {
        with_reader(ReadableStream::new(SourceFn::new()).unwrap())
    }

    #[test]
    fn locked_is_true() {
        let (stream, _reader) = factory();
        assert!(stream.locked());
    }

    #[test]
    fn read_never_settles() {
        common::run(async {
            let (stream, reader) = factory();
            let mut read = reader.read();
            common::sleep(500).await;
            flush(stream.host());
            assert!(poll_once(&mut read).is_none());
        });
    }

    #[test]
    fn two_reads_both_never_settle() {
        common::run(async {
            let (stream, reader) = factory();
            let (mut r1, mut r2) = (reader.read(), reader.read());
            common::sleep(500).await;
            flush(stream.host());
            assert!(poll_once(&mut r1).is_none());
            assert!(poll_once(&mut r2).is_none());
        });
    }

    #[test]
    fn get_reader_again_fails() {
        let (stream, _reader) = factory();
        assert_rejects_kind(stream.get_reader(), ErrorKind::Type);
    }

    #[test]
    fn releasing_the_lock_rejects_all_pending_reads() {
        common::run(async {
            let (stream, reader) = factory();
            let (read1, read2, closed) = (reader.read(), reader.read(), reader.closed());
            reader.release_lock();
            assert!(!stream.locked());
            assert_rejects_kind(read1.await, ErrorKind::Type);
            assert_rejects_kind(read2.await, ErrorKind::Type);
            assert_rejects_kind(closed.await, ErrorKind::Type);
        });
    }

    #[test]
    fn releasing_the_lock_makes_further_reads_reject() {
        common::run(async {
            let (_stream, reader) = factory();
            reader.release_lock();
            assert_rejects_kind(reader.read().await, ErrorKind::Type);
            assert_rejects_kind(reader.read().await, ErrorKind::Type);
        });
    }

    #[test]
    fn releasing_the_lock_rejects_closed() {
        common::run(async {
            let (_stream, reader) = factory();
            let closed_before = reader.closed();
            reader.release_lock();
            let closed_after = reader.closed();
            let (before, after) = (closed_before.await.unwrap_err(), closed_after.await.unwrap_err());
            assert_eq!(before.kind(), ErrorKind::Type);
            assert!(
                StreamError::same(&before, &after),
                "the closed promise does not change"
            );
        });
    }

    #[test]
    fn releasing_the_lock_makes_locked_false() {
        let (stream, reader) = factory();
        reader.release_lock();
        assert!(!stream.locked());
    }

    #[test]
    fn canceling_via_the_reader_makes_the_reader_act_closed() {
        common::run(async {
            let (_stream, reader) = factory();
            drop(reader.cancel(StreamError::undefined()));
            assert_eq!(reader.read().await.unwrap(), None);
        });
    }

    #[test]
    fn canceling_via_the_stream_fails() {
        common::run(async {
            let (stream, _reader) = factory();
            assert_rejects_kind(stream.cancel(StreamError::undefined()).await, ErrorKind::Type);
        });
    }
}

/// `templatedRSClosed`.
mod closed {
    use super::*;

    pub fn cancel_fulfils_each_time(factory: fn() -> Rs) {
        common::run(async move {
            let rs = factory();
            let (c1, c2) = (
                rs.cancel(StreamError::undefined()),
                rs.cancel(StreamError::undefined()),
            );
            c1.await.unwrap();
            c2.await.unwrap();
        });
    }

    pub fn locked_is_false(factory: fn() -> Rs) {
        assert!(!factory().locked());
    }

    pub fn get_reader_is_ok(factory: fn() -> Rs) {
        assert!(factory().get_reader().is_ok());
    }

    pub fn readers_can_be_taken_in_succession(factory: fn() -> Rs) {
        let rs = factory();
        rs.get_reader().unwrap().release_lock();
        rs.get_reader().unwrap().release_lock();
        assert!(rs.get_reader().is_ok());
    }

    pub fn no_second_reader_without_release(factory: fn() -> Rs) {
        let rs = factory();
        let _reader = rs.get_reader().unwrap();
        assert_rejects_kind(rs.get_reader(), ErrorKind::Type);
        assert_rejects_kind(rs.get_reader(), ErrorKind::Type);
    }
}

macro_rules! closed_tests {
    ($name:ident, $factory:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn cancel_fulfils_each_time() {
                closed::cancel_fulfils_each_time($factory)
            }
            #[test]
            fn locked_is_false() {
                closed::locked_is_false($factory)
            }
            #[test]
            fn get_reader_is_ok() {
                closed::get_reader_is_ok($factory)
            }
            #[test]
            fn readers_can_be_taken_in_succession() {
                closed::readers_can_be_taken_in_succession($factory)
            }
            #[test]
            fn no_second_reader_without_release() {
                closed::no_second_reader_without_release($factory)
            }
        }
    };
}

closed_tests!(closed_via_call_in_start, || {
    ReadableStream::new(SourceFn::new().start(|c: &Controller<&str>| c.close().unwrap())).unwrap()
});

closed_tests!(closed_via_cancel, || {
    let rs = ReadableStream::new(SourceFn::new()).unwrap();
    drop(rs.cancel(StreamError::undefined()));
    rs
});

/// `templatedRSClosedReader`.
mod closed_reader {
    use super::*;

    pub fn read_is_done(factory: fn() -> (Rs, Reader)) {
        common::run(async move {
            let (_rs, reader) = factory();
            assert_eq!(reader.read().await.unwrap(), None);
        });
    }

    pub fn read_multiple_times_is_done(factory: fn() -> (Rs, Reader)) {
        common::run(async move {
            let (_rs, reader) = factory();
            let (r1, r2) = (reader.read(), reader.read());
            assert_eq!(r1.await.unwrap(), None);
            assert_eq!(r2.await.unwrap(), None);
        });
    }

    pub fn read_within_a_read_continuation(factory: fn() -> (Rs, Reader)) {
        common::run(async move {
            let (_rs, reader) = factory();
            reader.read().await.unwrap();
            assert_eq!(reader.read().await.unwrap(), None);
        });
    }

    pub fn closed_fulfils(factory: fn() -> (Rs, Reader)) {
        common::run(async move {
            let (_rs, reader) = factory();
            reader.closed().await.unwrap();
        });
    }

    pub fn releasing_rejects_closed_and_changes_it(factory: fn() -> (Rs, Reader)) {
        common::run(async move {
            let (_rs, reader) = factory();
            let closed_before = reader.closed();
            reader.release_lock();
            let closed_after = reader.closed();
            closed_before.await.unwrap();
            assert_rejects_kind(closed_after.await, ErrorKind::Type);
        });
    }

    pub fn cancel_fulfils_each_time(factory: fn() -> (Rs, Reader)) {
        common::run(async move {
            let (_rs, reader) = factory();
            let (c1, c2) = (
                reader.cancel(StreamError::undefined()),
                reader.cancel(StreamError::undefined()),
            );
            let closed = reader.closed();
            c1.await.unwrap();
            c2.await.unwrap();
            closed.await.unwrap();
        });
    }
}

macro_rules! closed_reader_tests {
    ($name:ident, $factory:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn read_is_done() {
                closed_reader::read_is_done($factory)
            }
            #[test]
            fn read_multiple_times_is_done() {
                closed_reader::read_multiple_times_is_done($factory)
            }
            #[test]
            fn read_within_a_read_continuation() {
                closed_reader::read_within_a_read_continuation($factory)
            }
            #[test]
            fn closed_fulfils() {
                closed_reader::closed_fulfils($factory)
            }
            #[test]
            fn releasing_rejects_closed_and_changes_it() {
                closed_reader::releasing_rejects_closed_and_changes_it($factory)
            }
            #[test]
            fn cancel_fulfils_each_time() {
                closed_reader::cancel_fulfils_each_time($factory)
            }
        }
    };
}

closed_reader_tests!(closed_before_getting_reader, || {
    let (rs, controller) = controlled();
    controller.close().unwrap();
    with_reader(rs)
});

closed_reader_tests!(closed_after_getting_reader, || {
    let (rs, controller) = controlled();
    let result = with_reader(rs);
    controller.close().unwrap();
    result
});

closed_reader_tests!(closed_via_cancel_after_getting_reader, || {
    let (rs, reader) = with_reader(ReadableStream::new(SourceFn::new()).unwrap());
    drop(reader.cancel(StreamError::undefined()));
    (rs, reader)
});

/// `templatedRSErrored`.
mod errored {
    use super::*;

    pub fn reader_acts_errored(factory: fn() -> (Rs, StreamError)) {
        common::run(async move {
            let (rs, error) = factory();
            let reader = rs.get_reader().unwrap();
            let (closed, read) = (reader.closed(), reader.read());
            assert_rejects_with(closed.await, &error);
            assert_rejects_with(read.await, &error);
        });
    }

    pub fn read_twice_gives_the_error_each_time(factory: fn() -> (Rs, StreamError)) {
        common::run(async move {
            let (rs, error) = factory();
            let reader = rs.get_reader().unwrap();
            let (r1, r2, closed) = (reader.read(), reader.read(), reader.closed());
            assert_rejects_with(r1.await, &error);
            assert_rejects_with(r2.await, &error);
            assert_rejects_with(closed.await, &error);
        });
    }

    pub fn locked_is_false(factory: fn() -> (Rs, StreamError)) {
        assert!(!factory().0.locked());
    }
}

macro_rules! errored_tests {
    ($name:ident, $factory:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn reader_acts_errored() {
                errored::reader_acts_errored($factory)
            }
            #[test]
            fn read_twice_gives_the_error_each_time() {
                errored::read_twice_gives_the_error_each_time($factory)
            }
            #[test]
            fn locked_is_false() {
                errored::locked_is_false($factory)
            }
        }
    };
}

/// `{ name: 'boo!' }` of the WPT file: one error per stream, checked by identity.
fn the_error() -> StreamError {
    StreamError::user("boo!")
}

fn errored_via_call_in_start() -> (Rs, StreamError) {
    let error = the_error();
    let e = error.clone();
    let rs =
        ReadableStream::new(SourceFn::new().start(move |c: &Controller<&str>| c.error(e.clone()))).unwrap();
    (rs, error)
}

fn errored_via_rejected_start() -> (Rs, StreamError) {
    let error = the_error();
    let e = error.clone();
    let rs = ReadableStream::new(SourceFn::new().start(move |_: &Controller<&str>| {
        let e = e.clone();
        Completion::future(async move { Err(e) })
    }))
    .unwrap();
    (rs, error)
}

errored_tests!(errored_via_call_in_start_, errored_via_call_in_start);
errored_tests!(
    errored_via_returning_a_rejected_promise_in_start,
    errored_via_rejected_start
);

/// `templatedRSErroredSyncOnly`, with the stream errored via a call in start.
mod errored_sync_only {
    use super::*;

    #[test]
    fn a_second_reader_has_the_right_closed_promise() {
        common::run(async {
            let (rs, error) = errored_via_call_in_start();
            rs.get_reader().unwrap().release_lock();
            let reader = rs.get_reader().unwrap();
            assert_rejects_with(reader.closed().await, &error);
        });
    }

    #[test]
    fn no_additional_readers_without_releasing_the_first() {
        let (rs, _error) = errored_via_call_in_start();
        let _reader = rs.get_reader().unwrap();
        assert_rejects_kind(rs.get_reader(), ErrorKind::Type);
        assert_rejects_kind(rs.get_reader(), ErrorKind::Type);
    }

    #[test]
    fn cancel_rejects_each_time() {
        common::run(async {
            let (rs, error) = errored_via_call_in_start();
            let (c1, c2) = (
                rs.cancel(StreamError::undefined()),
                rs.cancel(StreamError::undefined()),
            );
            assert_rejects_with(c1.await, &error);
            assert_rejects_with(c2.await, &error);
        });
    }

    #[test]
    fn reader_cancel_rejects_each_time() {
        common::run(async {
            let (rs, error) = errored_via_call_in_start();
            let reader = rs.get_reader().unwrap();
            let (c1, c2) = (
                reader.cancel(StreamError::undefined()),
                reader.cancel(StreamError::undefined()),
            );
            assert_rejects_with(c1.await, &error);
            assert_rejects_with(c2.await, &error);
        });
    }
}

/// `templatedRSErroredReader`.
mod errored_reader {
    use super::*;

    pub fn closed_rejects_with_the_error(factory: fn() -> (Rs, Reader, StreamError)) {
        common::run(async move {
            let (_rs, reader, error) = factory();
            assert_rejects_with(reader.closed().await, &error);
        });
    }

    pub fn releasing_rejects_closed_and_changes_it(factory: fn() -> (Rs, Reader, StreamError)) {
        common::run(async move {
            let (_rs, reader, error) = factory();
            let closed_before = reader.closed();
            assert_rejects_with(reader.closed().await, &error);
            reader.release_lock();
            let closed_after = reader.closed();
            assert_rejects_kind(closed_after.await, ErrorKind::Type);
            // The promise taken before the release keeps its result.
            assert_rejects_with(closed_before.await, &error);
        });
    }

    pub fn read_rejects_with_the_error(factory: fn() -> (Rs, Reader, StreamError)) {
        common::run(async move {
            let (_rs, reader, error) = factory();
            assert_rejects_with(reader.read().await, &error);
        });
    }
}

macro_rules! errored_reader_tests {
    ($name:ident, $factory:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn closed_rejects_with_the_error() {
                errored_reader::closed_rejects_with_the_error($factory)
            }
            #[test]
            fn releasing_rejects_closed_and_changes_it() {
                errored_reader::releasing_rejects_closed_and_changes_it($factory)
            }
            #[test]
            fn read_rejects_with_the_error() {
                errored_reader::read_rejects_with_the_error($factory)
            }
        }
    };
}

errored_reader_tests!(errored_via_rejected_start_reader, || {
    let (rs, error) = errored_via_rejected_start();
    let (rs, reader) = with_reader(rs);
    (rs, reader, error)
});

errored_reader_tests!(errored_before_getting_reader, || {
    let (rs, controller) = controlled();
    let error = the_error();
    controller.error(error.clone());
    let (rs, reader) = with_reader(rs);
    (rs, reader, error)
});

errored_reader_tests!(errored_after_getting_reader, || {
    let (rs, controller) = controlled();
    let error = the_error();
    let (rs, reader) = with_reader(rs);
    controller.error(error.clone());
    (rs, reader, error)
});

/// `templatedRSTwoChunksOpenReader`: "a" and "b" enqueued, the stream still open.
mod two_chunks_open_reader {
    use super::*;

    fn factory() -> (Rs, Reader) {
        with_reader(
            ReadableStream::new(SourceFn::new().start(|c: &Controller<&str>| {
                c.enqueue("a").unwrap();
                c.enqueue("b").unwrap();
            }))
            .unwrap(),
        )
    }

    #[test]
    fn calling_read_twice_without_waiting_gives_both_chunks_sequential() {
        common::run(async {
            let (_rs, reader) = factory();
            let (r1, r2) = (reader.read(), reader.read());
            assert_eq!(r1.await.unwrap(), Some("a"));
            assert_eq!(r2.await.unwrap(), Some("b"));
        });
    }

    #[test]
    fn calling_read_twice_gives_both_chunks_nested() {
        common::run(async {
            let (_rs, reader) = factory();
            assert_eq!(reader.read().await.unwrap(), Some("a"));
            assert_eq!(reader.read().await.unwrap(), Some("b"));
        });
    }

    #[test]
    fn cancel_after_a_read_still_gives_that_single_read_result() {
        common::run(async {
            let (_rs, reader) = factory();
            let closed = reader.closed();
            let read = reader.read();
            drop(reader.cancel(StreamError::undefined()));
            let after = reader.read();
            closed.await.unwrap();
            assert_eq!(
                read.await.unwrap(),
                Some("a"),
                "the read before cancellation gets a chunk"
            );
            assert_eq!(after.await.unwrap(), None, "the read after cancellation is done");
        });
    }
}

/// `templatedRSTwoChunksClosedReader`: "a" and "b" enqueued, then closed after the reader was
/// taken.
mod two_chunks_closed_reader {
    use super::*;

    fn factory() -> (Rs, Reader) {
        let slot: Slot<Controller<&str>> = Slot::new();
        let s = slot.clone();
        let rs = ReadableStream::new(SourceFn::new().start(move |c: &Controller<&str>| {
            c.enqueue("a").unwrap();
            c.enqueue("b").unwrap();
            s.set(c.clone());
        }))
        .unwrap();
        let result = with_reader(rs);
        slot.get().close().unwrap();
        result
    }

    #[test]
    fn third_read_without_waiting_is_done_sequential() {
        common::run(async {
            let (_rs, reader) = factory();
            let (r1, r2, r3) = (reader.read(), reader.read(), reader.read());
            assert_eq!(r1.await.unwrap(), Some("a"));
            assert_eq!(r2.await.unwrap(), Some("b"));
            assert_eq!(r3.await.unwrap(), None);
        });
    }

    #[test]
    fn third_read_is_done_nested() {
        common::run(async {
            let (_rs, reader) = factory();
            assert_eq!(reader.read().await.unwrap(), Some("a"));
            assert_eq!(reader.read().await.unwrap(), Some("b"));
            assert_eq!(reader.read().await.unwrap(), None);
        });
    }

    #[test]
    fn draining_fulfils_closed_but_locked_stays_true() {
        common::run(async {
            let (rs, reader) = factory();
            assert!(rs.locked());
            let closed = reader.closed();
            drop((reader.read(), reader.read()));
            closed.await.unwrap();
            assert!(rs.locked(), "the stream stays locked");
        });
    }

    #[test]
    fn releasing_after_the_stream_closed_unlocks_it() {
        common::run(async {
            let (rs, reader) = factory();
            let closed = reader.closed();
            drop((reader.read(), reader.read()));
            closed.await.unwrap();
            assert!(rs.locked());
            reader.release_lock();
            assert!(!rs.locked());
        });
    }

    #[test]
    fn releasing_makes_further_reads_reject() {
        common::run(async {
            let (_rs, reader) = factory();
            reader.release_lock();
            let (r1, r2, r3) = (reader.read(), reader.read(), reader.read());
            assert_rejects_kind(r1.await, ErrorKind::Type);
            assert_rejects_kind(r2.await, ErrorKind::Type);
            assert_rejects_kind(r3.await, ErrorKind::Type);
        });
    }

    #[test]
    fn closed_stays_the_same_promise_across_a_read_and_a_release() {
        common::run(async {
            let (rs, reader) = factory();
            let closed = reader.closed();
            assert_eq!(reader.read().await.unwrap(), Some("a"));
            reader.release_lock();
            // Released while still readable ("b" is queued): the one closed promise rejects.
            let (before, after) = (closed.await.unwrap_err(), reader.closed().await.unwrap_err());
            assert_eq!(before.kind(), ErrorKind::Type);
            assert!(StreamError::same(&before, &after));
            let new_reader = rs.get_reader().unwrap();
            assert_eq!(new_reader.read().await.unwrap(), Some("b"));
            new_reader.closed().await.unwrap();
        });
    }
}

/// `templatedRSThrowAfterCloseOrError`.
mod throw_after_close_or_error {
    use super::*;

    #[test]
    fn enqueue_fails_after_close() {
        let (_rs, controller) = controlled();
        controller.close().unwrap();
        assert_rejects_kind(controller.enqueue("x"), ErrorKind::Type);
    }

    #[test]
    fn enqueue_fails_after_enqueue_and_close() {
        let (_rs, controller) = controlled();
        controller.enqueue("1").unwrap();
        controller.close().unwrap();
        assert_rejects_kind(controller.enqueue("2"), ErrorKind::Type);
    }

    #[test]
    fn enqueue_fails_after_error() {
        let (_rs, controller) = controlled();
        controller.error(StreamError::user("a unique string"));
        assert_rejects_kind(controller.enqueue("1"), ErrorKind::Type);
    }

    #[test]
    fn close_fails_after_error() {
        let (_rs, controller) = controlled();
        controller.error(StreamError::user("a unique string"));
        assert_rejects_kind(controller.close(), ErrorKind::Type);
    }
}
