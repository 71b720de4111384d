//! The behaviour of WPT `streams/readable-streams/bad-underlying-sources.any.js`, ported to the
//! native API: sources that fail (return an error, reject later, or panic) and controllers used
//! after close, error or cancel.

use crate::common;

use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::{Completion, CountQueuingStrategy, ErrorKind, QueuingStrategy, StreamError};

use common::{assert_rejects_kind, assert_rejects_with, assert_same, flush, Calls, Controller, Slot};

#[test]
fn start_returning_an_error_makes_construction_fail_with_it() {
    let the_error = StreamError::user("a unique string");
    let e = the_error.clone();
    let got =
        ReadableStream::<u32>::new(SourceFn::new().start(move |_| Completion::err(e.clone()))).unwrap_err();
    assert_same(&got, &the_error);
}

#[test]
fn start_panicking_makes_construction_fail_with_a_panic_error() {
    let got = ReadableStream::<u32>::new(
        SourceFn::new().start(|_: &Controller<u32>| -> Completion { panic!("start exploded") }),
    )
    .unwrap_err();
    assert_eq!(got.kind(), ErrorKind::Panic);
    assert_eq!(got.message(), "start exploded");
}

#[test]
fn start_future_panicking_errors_the_stream() {
    common::run(async {
        let rs = ReadableStream::<u32>::new(SourceFn::new().start(|_: &Controller<u32>| {
            Completion::future(async {
                common::sleep(1).await;
                panic!("start future exploded")
            })
        }))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let e = reader.read().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "start future exploded");
        assert_rejects_with(reader.closed().await, &e);
    });
}

#[test]
fn pull_returning_an_error_errors_the_stream_initial_pull() {
    common::run(async {
        let the_error = StreamError::user("a unique string");
        let e = the_error.clone();
        let rs =
            ReadableStream::<u32>::new(SourceFn::new().pull(move |_| Completion::err(e.clone()))).unwrap();
        assert_rejects_with(rs.get_reader().unwrap().closed().await, &the_error);
    });
}

#[test]
fn pull_panicking_errors_the_stream_without_hanging() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().pull(move |_: &Controller<u32>| -> Completion {
            p.hit();
            panic!("pull exploded")
        }))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let (read, closed) = (reader.read(), reader.closed());
        let e = read.await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "pull exploded");
        assert_rejects_with(closed.await, &e);
        assert_same(&rs.stored_error().unwrap(), &e);
        pulls.assert_exactly(1);
    });
}

#[test]
fn pull_future_panicking_errors_the_stream_without_hanging() {
    common::run(async {
        let rs = ReadableStream::<u32>::new(SourceFn::new().pull(|_: &Controller<u32>| {
            Completion::future(async {
                common::sleep(3).await;
                panic!("pull future exploded")
            })
        }))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let e = reader.read().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "pull future exploded");
        assert_eq!(common::now(), 3);
    });
}

#[test]
fn pull_returning_an_error_on_the_second_pull() {
    common::run(async {
        let the_error = StreamError::user("a unique string");
        let e = the_error.clone();
        let counter = Calls::new();
        let c2 = counter.clone();
        let rs = ReadableStream::new(SourceFn::new().pull(move |c: &Controller<&str>| {
            c2.hit();
            if c2.count() == 1 {
                c.enqueue("a").unwrap();
                return Completion::ok();
            }
            Completion::err(e.clone())
        }))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let (read, closed) = (reader.read(), reader.closed());
        assert_eq!(read.await.unwrap(), Some("a"));
        assert_rejects_with(closed.await, &the_error);
        counter.assert_exactly(2);
    });
}

#[test]
fn cancel_returning_an_error_rejects_cancel() {
    common::run(async {
        let the_error = StreamError::user("a unique string");
        let e = the_error.clone();
        let rs =
            ReadableStream::<u32>::new(SourceFn::new().cancel(move |_| Completion::err(e.clone()))).unwrap();
        assert_rejects_with(rs.cancel(StreamError::undefined()).await, &the_error);
    });
}

#[test]
fn cancel_panicking_rejects_cancel_with_a_panic_error() {
    common::run(async {
        let rs = ReadableStream::<u32>::new(
            SourceFn::new().cancel(|_: StreamError| -> Completion { panic!("cancel exploded") }),
        )
        .unwrap();
        let e = rs.cancel(StreamError::undefined()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "cancel exploded");
        // The stream is closed all the same: cancel closes it before calling the source.
        rs.get_reader().unwrap().closed().await.unwrap();
    });
}

#[test]
fn cancel_future_panicking_rejects_cancel_with_a_panic_error() {
    common::run(async {
        let rs = ReadableStream::<u32>::new(SourceFn::new().cancel(|_: StreamError| {
            Completion::future(async {
                common::sleep(1).await;
                panic!("cancel future exploded")
            })
        }))
        .unwrap();
        let e = rs.cancel(StreamError::undefined()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "cancel future exploded");
    });
}

#[test]
fn enqueue_on_an_empty_canceled_stream_is_a_type_error() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<&str>(QueuingStrategy::new());
        drop(rs.cancel(StreamError::undefined()));
        assert_rejects_kind(controller.enqueue("a"), ErrorKind::Type);
        rs.get_reader().unwrap().closed().await.unwrap();
    });
}

#[test]
fn enqueue_on_a_non_empty_canceled_stream_is_a_type_error() {
    common::run(async {
        let slot = Slot::new();
        let s = slot.clone();
        let rs = ReadableStream::new(SourceFn::new().start(move |c: &Controller<&str>| {
            c.enqueue("a").unwrap();
            c.enqueue("b").unwrap();
            s.set(c.clone());
        }))
        .unwrap();
        let controller = slot.get();
        drop(rs.cancel(StreamError::undefined()));
        assert_rejects_kind(controller.enqueue("c"), ErrorKind::Type);
        let reader = rs.get_reader().unwrap();
        reader.closed().await.unwrap();
        assert_eq!(
            reader.read().await.unwrap(),
            None,
            "the queued chunks were discarded"
        );
    });
}

#[test]
fn enqueue_on_a_closed_stream_is_a_type_error() {
    common::run(async {
        let checked = Calls::new();
        let ch = checked.clone();
        let rs = ReadableStream::new(SourceFn::new().start(move |c: &Controller<&str>| {
            c.close().unwrap();
            assert_rejects_kind(c.enqueue("a"), ErrorKind::Type);
            ch.hit();
        }))
        .unwrap();
        checked.assert_exactly(1);
        rs.get_reader().unwrap().closed().await.unwrap();
    });
}

#[test]
fn enqueue_on_an_errored_stream_is_a_type_error() {
    common::run(async {
        let the_error = StreamError::user("boo");
        let e = the_error.clone();
        let checked = Calls::new();
        let ch = checked.clone();
        let rs = ReadableStream::new(SourceFn::new().start(move |c: &Controller<&str>| {
            c.error(e.clone());
            assert_rejects_kind(c.enqueue("a"), ErrorKind::Type);
            ch.hit();
        }))
        .unwrap();
        checked.assert_exactly(1);
        assert_rejects_with(rs.get_reader().unwrap().closed().await, &the_error);
    });
}

#[test]
fn close_twice_on_an_empty_stream_is_a_type_error_the_second_time() {
    common::run(async {
        let checked = Calls::new();
        let ch = checked.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().start(move |c: &Controller<u32>| {
            c.close().unwrap();
            assert_rejects_kind(c.close(), ErrorKind::Type);
            ch.hit();
        }))
        .unwrap();
        checked.assert_exactly(1);
        rs.get_reader().unwrap().closed().await.unwrap();
    });
}

#[test]
fn close_twice_on_a_non_empty_stream_is_a_type_error_the_second_time() {
    common::run(async {
        let checked = Calls::new();
        let ch = checked.clone();
        let rs = ReadableStream::new(SourceFn::new().start(move |c: &Controller<&str>| {
            c.enqueue("a").unwrap();
            c.close().unwrap();
            assert_rejects_kind(c.close(), ErrorKind::Type);
            ch.hit();
        }))
        .unwrap();
        checked.assert_exactly(1);
        let reader = rs.get_reader().unwrap();
        let (read, closed) = (reader.read(), reader.closed());
        assert_eq!(read.await.unwrap(), Some("a"));
        closed.await.unwrap();
    });
}

#[test]
fn close_on_an_empty_canceled_stream_is_a_type_error() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<&str>(QueuingStrategy::new());
        drop(rs.cancel(StreamError::undefined()));
        assert_rejects_kind(controller.close(), ErrorKind::Type);
        rs.get_reader().unwrap().closed().await.unwrap();
    });
}

#[test]
fn close_on_a_non_empty_canceled_stream_is_a_type_error() {
    common::run(async {
        let slot = Slot::new();
        let s = slot.clone();
        let rs = ReadableStream::new(SourceFn::new().start(move |c: &Controller<&str>| {
            s.set(c.clone());
            c.enqueue("a").unwrap();
        }))
        .unwrap();
        let controller = slot.get();
        drop(rs.cancel(StreamError::undefined()));
        assert_rejects_kind(controller.close(), ErrorKind::Type);
        rs.get_reader().unwrap().closed().await.unwrap();
    });
}

#[test]
fn close_after_error_is_a_type_error() {
    common::run(async {
        let the_error = StreamError::user("boo");
        let e = the_error.clone();
        let checked = Calls::new();
        let ch = checked.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().start(move |c: &Controller<u32>| {
            c.error(e.clone());
            assert_rejects_kind(c.close(), ErrorKind::Type);
            ch.hit();
        }))
        .unwrap();
        checked.assert_exactly(1);
        assert_rejects_with(rs.get_reader().unwrap().closed().await, &the_error);
    });
}

#[test]
fn error_twice_does_not_fail_and_keeps_the_first_error() {
    common::run(async {
        let the_error = StreamError::user("boo");
        let e = the_error.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().start(move |c: &Controller<u32>| {
            c.error(e.clone());
            c.error(StreamError::undefined());
        }))
        .unwrap();
        assert_rejects_with(rs.get_reader().unwrap().closed().await, &the_error);
    });
}

#[test]
fn error_after_close_does_not_fail() {
    common::run(async {
        let rs = ReadableStream::<u32>::new(SourceFn::new().start(|c: &Controller<u32>| {
            c.close().unwrap();
            c.error(StreamError::undefined());
        }))
        .unwrap();
        rs.get_reader().unwrap().closed().await.unwrap();
        assert!(rs.stored_error().is_none());
    });
}

#[test]
fn error_then_a_rejected_start_errors_with_the_first_error() {
    common::run(async {
        let first = StreamError::user("1");
        let second = StreamError::user("2");
        let (f, s) = (first.clone(), second.clone());
        let rs = ReadableStream::<u32>::new(SourceFn::new().start(move |c: &Controller<u32>| {
            c.error(f.clone());
            // A rejected promise, not a thrown exception: the future form.
            let s = s.clone();
            Completion::future(async move { Err(s) })
        }))
        .unwrap();
        assert_rejects_with(rs.get_reader().unwrap().closed().await, &first);
    });
}

#[test]
fn error_then_a_rejected_pull_errors_with_the_first_error() {
    common::run(async {
        let first = StreamError::user("1");
        let second = StreamError::user("2");
        let (f, s) = (first.clone(), second.clone());
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::<u32>::new(SourceFn::new().pull(move |c: &Controller<u32>| {
            p.hit();
            c.error(f.clone());
            Completion::err(s.clone())
        }))
        .unwrap();
        assert_rejects_with(rs.get_reader().unwrap().closed().await, &first);
        pulls.assert_exactly(1);
    });
}

#[test]
fn read_does_not_fail_if_it_dequeues_and_pull_fails() {
    common::run(async {
        let error1 = StreamError::user("error1");
        let e = error1.clone();
        let should_fail = Slot::new();
        let sf = should_fail.clone();
        let rs = ReadableStream::with_strategy(
            SourceFn::new().pull(move |c: &Controller<u32>| {
                if sf.is_set() {
                    return Completion::err(e.clone());
                }
                c.enqueue(0).into()
            }),
            CountQueuingStrategy::new(1.0),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        flush(rs.host());
        should_fail.set(());
        let (read, closed) = (reader.read(), reader.closed());
        assert_eq!(read.await.unwrap(), Some(0));
        assert_rejects_with(closed.await, &error1);
    });
}
