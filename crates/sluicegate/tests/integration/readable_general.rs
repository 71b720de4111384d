//! The behaviour of WPT `streams/readable-streams/general.any.js` and `constructor.any.js`, ported
//! to the native API: construction, start/pull scheduling, pull counts, desired sizes, and the
//! integration tests over push and pull sources.

use crate::common;

use std::sync::{Arc, Mutex};

use sluicegate::readable::{ReadableStream, UnderlyingSource};
use sluicegate::{Completion, ErrorKind, QueuingStrategy, StreamError};

use common::{
    assert_rejects_kind, assert_rejects_with, assert_same, flush, Calls, Controller, Log, RandomPushSource,
    Slot,
};

#[test]
fn can_be_constructed_with_no_errors() {
    let plain = ReadableStream::<u32>::new(sluicegate::readable::SourceFn::new()).unwrap();
    assert!(!plain.locked());
    assert!(plain.is_readable());
    assert!(!plain.is_disturbed());
    assert!(plain.stored_error().is_none());

    struct Nothing;
    impl UnderlyingSource<u32> for Nothing {}
    let with_defaults = ReadableStream::with_strategy(Nothing, QueuingStrategy::new()).unwrap();
    assert!(!with_defaults.locked());
    assert!(with_defaults.is_readable());
}

#[test]
fn start_is_called_synchronously_exactly_once() {
    let calls = Calls::new();
    let c = calls.clone();
    let _rs =
        ReadableStream::<u32>::new(sluicegate::readable::SourceFn::new().start(move |_| c.hit())).unwrap();
    calls.assert_exactly(1);
}

#[test]
fn strategy_is_validated_before_the_source_is_started() {
    // constructor.any.js: the queuing strategy is converted before the underlying source.
    let calls = Calls::new();
    let c = calls.clone();
    let e = ReadableStream::<u32>::with_strategy(
        sluicegate::readable::SourceFn::new().start(move |_| {
            c.hit();
            Completion::err(StreamError::user("start must not run"))
        }),
        QueuingStrategy::count(f64::NAN),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Range);
    calls.assert_exactly(0);
}

#[test]
fn start_can_return_a_future() {
    common::run(async {
        let rs = ReadableStream::new(
            sluicegate::readable::SourceFn::new().start(|c: &Controller<&str>| {
                let c = c.clone();
                Completion::future(async move {
                    common::sleep(5).await;
                    c.enqueue("a")?;
                    c.close()
                })
            }),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        assert_eq!(common::now(), 5);
        reader.closed().await.unwrap();
    });
}

#[test]
fn start_can_return_a_future_and_reject_it() {
    common::run(async {
        let the_error = StreamError::user("rejected!");
        let e = the_error.clone();
        let rs = ReadableStream::<u32>::new(sluicegate::readable::SourceFn::new().start(move |_| {
            let e = e.clone();
            Completion::future(async move {
                common::sleep(1).await;
                Err(e)
            })
        }))
        .unwrap();
        assert_rejects_with(rs.get_reader().unwrap().closed().await, &the_error);
        assert_eq!(common::now(), 1);
    });
}

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Object(&'static str, &'static str),
    Text(&'static str),
    Number(f64),
}

#[test]
fn can_enqueue_different_values() {
    common::run(async {
        let objects = vec![
            Value::Object("potato", "Give me more!"),
            Value::Text("test"),
            Value::Number(1.0),
        ];
        let o = objects.clone();
        let rs = ReadableStream::new(sluicegate::readable::SourceFn::new().start(
            move |c: &Controller<Value>| {
                for v in &o {
                    c.enqueue(v.clone()).unwrap();
                }
                c.close().unwrap();
            },
        ))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let (r0, r1, r2) = (reader.read(), reader.read(), reader.read());
        assert_eq!(r0.await.unwrap(), Some(objects[0].clone()));
        assert_eq!(r1.await.unwrap(), Some(objects[1].clone()));
        assert_eq!(r2.await.unwrap(), Some(objects[2].clone()));
        reader.closed().await.unwrap();
    });
}

#[test]
fn if_pull_rejects_it_errors_the_stream_and_closed_rejects_before_the_read() {
    common::run(async {
        let error = StreamError::user("pull failure");
        let e = error.clone();
        let rs = ReadableStream::<u32>::new(
            sluicegate::readable::SourceFn::new()
                .pull(move |_| Completion::future(std::future::ready(Err(e.clone())))),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let closed = reader.closed();
        let read = reader.read();
        let got = read.await;
        // The closed promise was rejected first (ReadableStreamError rejects it before the read
        // requests' error steps run).
        assert_rejects_with(closed.peek().expect("closed settled before the read"), &error);
        assert_rejects_with(got, &error);
        assert_rejects_with(closed.await, &error);
    });
}

#[test]
fn pull_is_called_once_upon_starting_the_stream() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs =
            ReadableStream::<u32>::new(sluicegate::readable::SourceFn::new().pull(move |_| p.hit())).unwrap();
        flush(rs.host());
        pulls.assert_exactly(1);
        common::sleep(10).await;
        flush(rs.host());
        pulls.assert_exactly(1);
    });
}

#[test]
fn pull_is_called_when_reading_from_a_started_empty_stream() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::new(sluicegate::readable::SourceFn::new().pull(
            move |c: &Controller<usize>| {
                // No enqueue right after start: the stream must be empty when read() is called.
                if p.count() > 0 {
                    c.enqueue(p.count()).unwrap();
                }
                p.hit();
            },
        ))
        .unwrap();
        flush(rs.host());
        pulls.assert_exactly(1);
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        pulls.assert_exactly(2);
        assert_eq!(read.await.unwrap(), Some(1));
        // In reaction to the read, pull is called again.
        pulls.assert_exactly(3);
    });
}

#[test]
fn pull_is_called_once_on_a_non_empty_stream_read_before_start_fulfills() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::new(
            sluicegate::readable::SourceFn::new()
                .start(|c: &Controller<&str>| c.enqueue("a").unwrap())
                .pull(move |_| p.hit()),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        pulls.assert_exactly(0);
        flush(rs.host());
        pulls.assert_exactly(1);
        assert_eq!(read.await.unwrap(), Some("a"));
        pulls.assert_exactly(1);
        common::sleep(10).await;
        flush(rs.host());
        pulls.assert_exactly(1);
    });
}

#[test]
fn pull_is_called_once_on_a_non_empty_stream_read_after_start_fulfills() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::new(
            sluicegate::readable::SourceFn::new()
                .start(|c: &Controller<&str>| c.enqueue("a").unwrap())
                .pull(move |_| p.hit()),
        )
        .unwrap();
        flush(rs.host());
        pulls.assert_exactly(0); // the queue is full after start
        let reader = rs.get_reader().unwrap();
        let read = reader.read();
        pulls.assert_exactly(1); // reading calls pull at once
        assert_eq!(read.await.unwrap(), Some("a"));
        common::sleep(10).await;
        flush(rs.host());
        pulls.assert_exactly(1);
    });
}

#[test]
fn pull_is_called_in_reaction_to_reading_the_last_chunk_if_not_draining() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let slot = Slot::new();
        let s = slot.clone();
        let rs = ReadableStream::new(
            sluicegate::readable::SourceFn::new()
                .start(move |c: &Controller<&str>| s.set(c.clone()))
                .pull(move |_| p.hit()),
        )
        .unwrap();
        let controller = slot.get();
        let reader = rs.get_reader().unwrap();
        flush(rs.host());
        pulls.assert_exactly(1);
        controller.enqueue("a").unwrap();
        pulls.assert_exactly(1);
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        pulls.assert_exactly(2);
        common::sleep(10).await;
        flush(rs.host());
        pulls.assert_exactly(2);
    });
}

#[test]
fn pull_is_not_called_in_reaction_to_reading_the_last_chunk_if_draining() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let slot = Slot::new();
        let s = slot.clone();
        let rs = ReadableStream::new(
            sluicegate::readable::SourceFn::new()
                .start(move |c: &Controller<&str>| s.set(c.clone()))
                .pull(move |_| p.hit()),
        )
        .unwrap();
        let controller = slot.get();
        let reader = rs.get_reader().unwrap();
        flush(rs.host());
        pulls.assert_exactly(1);
        controller.enqueue("a").unwrap();
        pulls.assert_exactly(1);
        controller.close().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        pulls.assert_exactly(1);
        common::sleep(10).await;
        flush(rs.host());
        pulls.assert_exactly(1);
        assert_eq!(reader.read().await.unwrap(), None);
    });
}

#[test]
fn pull_is_not_called_again_until_the_previous_pull_settles() {
    common::run(async {
        let times = Calls::new();
        let t = times.clone();
        let resolvers = Arc::new(Mutex::new(Vec::new()));
        let r = resolvers.clone();
        let rs = ReadableStream::new(sluicegate::readable::SourceFn::new().pull(
            move |c: &Controller<usize>| {
                t.hit();
                c.enqueue(t.count()).unwrap();
                let (completion, resolver) = Completion::deferred();
                r.lock().unwrap().push(resolver);
                completion
            },
        ))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some(1));
        times.assert_exactly(1);
        common::sleep(10).await;
        flush(rs.host());
        times.assert_exactly(1);
        let first = resolvers.lock().unwrap().remove(0);
        assert!(first.settle(Ok(())));
        flush(rs.host());
        times.assert_exactly(2);
    });
}

#[test]
fn pull_is_called_after_start_and_after_every_read() {
    common::run(async {
        let times = Calls::new();
        let t = times.clone();
        let rs = ReadableStream::with_strategy(
            sluicegate::readable::SourceFn::new()
                .start(|c: &Controller<&str>| {
                    c.enqueue("a").unwrap();
                    c.enqueue("b").unwrap();
                    c.enqueue("c").unwrap();
                })
                .pull(move |_| t.hit()),
            QueuingStrategy::with_size(f64::INFINITY, |_: &&str| 1.0),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        flush(rs.host());
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        assert_eq!(reader.read().await.unwrap(), Some("b"));
        assert_eq!(reader.read().await.unwrap(), Some("c"));
        common::sleep(10).await;
        flush(rs.host());
        // Once after start, and once for every read.
        times.assert_exactly(4);
    });
}

#[test]
fn pull_is_not_called_after_start_if_the_stream_is_now_closed() {
    common::run(async {
        let times = Calls::new();
        let t = times.clone();
        let rs = ReadableStream::new(
            sluicegate::readable::SourceFn::new()
                .start(|c: &Controller<&str>| {
                    c.enqueue("a").unwrap();
                    c.close().unwrap();
                })
                .pull(move |_| t.hit()),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        flush(rs.host());
        times.assert_exactly(0);
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        times.assert_exactly(0);
        reader.closed().await.unwrap();
        times.assert_exactly(0);
    });
}

#[test]
fn pull_is_called_after_enqueueing_from_inside_pull_if_the_strategy_allows() {
    common::run(async {
        let times = Calls::new();
        let t = times.clone();
        let rs = ReadableStream::with_strategy(
            sluicegate::readable::SourceFn::new().pull(move |c: &Controller<usize>| {
                t.hit();
                c.enqueue(t.count()).unwrap();
            }),
            QueuingStrategy::with_size(4.0, |_: &usize| 1.0),
        )
        .unwrap();
        flush(rs.host());
        // After start: size 0, pull; after enqueue(1..3): pull; after enqueue(4): size 4, no pull.
        times.assert_exactly(4);
        common::sleep(10).await;
        flush(rs.host());
        times.assert_exactly(4);
        let reader = rs.get_reader().unwrap();
        assert_eq!(read_n(&reader, 4).await, vec![1, 2, 3, 4]);
    });
}

async fn read_n<T: Send + 'static>(reader: &sluicegate::ReadableStreamDefaultReader<T>, n: usize) -> Vec<T> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(reader.read().await.unwrap().unwrap());
    }
    out
}

#[test]
fn pull_can_close_the_stream() {
    common::run(async {
        let pulls = Calls::new();
        let p = pulls.clone();
        let rs = ReadableStream::<u32>::new(sluicegate::readable::SourceFn::new().pull(
            move |c: &Controller<u32>| {
                p.hit();
                c.close().unwrap();
            },
        ))
        .unwrap();
        rs.get_reader().unwrap().closed().await.unwrap();
        pulls.assert_exactly(1);
    });
}

#[test]
fn pull_can_error_the_stream() {
    common::run(async {
        let controller_error = StreamError::user("controller error");
        let e = controller_error.clone();
        let rs = ReadableStream::<u32>::new(
            sluicegate::readable::SourceFn::new().pull(move |c: &Controller<u32>| c.error(e.clone())),
        )
        .unwrap();
        assert_rejects_with(rs.get_reader().unwrap().closed().await, &controller_error);
    });
}

#[test]
fn pull_can_error_the_stream_and_throw() {
    common::run(async {
        let controller_error = StreamError::user("controller error");
        let thrown_error = StreamError::user("thrown error");
        let (e, t) = (controller_error.clone(), thrown_error.clone());
        let rs = ReadableStream::<u32>::new(sluicegate::readable::SourceFn::new().pull(
            move |c: &Controller<u32>| {
                c.error(e.clone());
                Completion::err(t.clone())
            },
        ))
        .unwrap();
        assert_rejects_with(rs.get_reader().unwrap().closed().await, &controller_error);
    });
}

#[test]
fn enqueue_is_a_type_error_when_the_stream_is_readable_but_draining() {
    let started = Calls::new();
    let s = started.clone();
    let _rs = ReadableStream::new(sluicegate::readable::SourceFn::new().start(
        move |c: &Controller<&str>| {
            assert!(c.enqueue("a").is_ok(), "the first enqueue succeeds");
            c.close().unwrap();
            assert_rejects_kind(c.enqueue("b"), ErrorKind::Type);
            s.hit();
        },
    ))
    .unwrap();
    started.assert_exactly(1);
}

#[test]
fn enqueue_is_a_type_error_when_the_stream_is_closed() {
    let started = Calls::new();
    let s = started.clone();
    let _rs = ReadableStream::new(sluicegate::readable::SourceFn::new().start(
        move |c: &Controller<&str>| {
            c.close().unwrap();
            assert_rejects_kind(c.enqueue("a"), ErrorKind::Type);
            s.hit();
        },
    ))
    .unwrap();
    started.assert_exactly(1);
}

/// A source with methods, as in "should call underlying source methods as methods".
struct CountingSource {
    log: Log,
}

impl UnderlyingSource<&'static str> for CountingSource {
    fn start(&mut self, controller: &Controller<&'static str>) -> Completion {
        self.log.push("start");
        controller.enqueue("a").into()
    }
    fn pull(&mut self, _controller: &Controller<&'static str>) -> Completion {
        self.log.push("pull");
        Completion::ok()
    }
    fn cancel(&mut self, reason: StreamError) -> Completion {
        self.log.push(format!("cancel {}", common::describe(&reason)));
        Completion::ok()
    }
}

#[test]
fn underlying_source_methods_are_called_on_the_source() {
    common::run(async {
        let log = Log::new();
        let rs = ReadableStream::new(CountingSource { log: log.clone() }).unwrap();
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        reader.release_lock();
        let cancel = rs.cancel(StreamError::undefined());
        log.assert(&["start", "pull", "cancel undefined"]);
        cancel.await.unwrap();
        rs.get_reader().unwrap().closed().await.unwrap();
    });
}

#[test]
fn desired_size_when_closed() {
    let checked = Calls::new();
    let ch = checked.clone();
    let _rs = ReadableStream::with_strategy(
        sluicegate::readable::SourceFn::new().start(move |c: &Controller<u32>| {
            assert_eq!(
                c.desired_size(),
                Some(10.0),
                "desiredSize starts at the high-water mark"
            );
            c.close().unwrap();
            assert_eq!(c.desired_size(), Some(0.0), "after closing, desiredSize is 0");
            ch.hit();
        }),
        QueuingStrategy::count(10.0),
    )
    .unwrap();
    checked.assert_exactly(1);
}

#[test]
fn desired_size_when_errored() {
    let checked = Calls::new();
    let ch = checked.clone();
    let _rs = ReadableStream::with_strategy(
        sluicegate::readable::SourceFn::new().start(move |c: &Controller<u32>| {
            assert_eq!(c.desired_size(), Some(10.0));
            c.error(StreamError::undefined());
            assert_eq!(c.desired_size(), None, "after erroring, desiredSize is null");
            ch.hit();
        }),
        QueuingStrategy::count(10.0),
    )
    .unwrap();
    checked.assert_exactly(1);
}

#[test]
fn default_strategy_desired_size_starts_at_1_and_drops_by_1_per_enqueue() {
    let checked = Calls::new();
    let ch = checked.clone();
    let _rs = ReadableStream::new(sluicegate::readable::SourceFn::new().start(
        move |c: &Controller<&str>| {
            assert_eq!(c.desired_size(), Some(1.0));
            c.enqueue("a").unwrap();
            assert_eq!(c.desired_size(), Some(0.0));
            c.enqueue("b").unwrap();
            assert_eq!(c.desired_size(), Some(-1.0));
            c.enqueue("c").unwrap();
            assert_eq!(c.desired_size(), Some(-2.0));
            c.enqueue("d").unwrap();
            assert_eq!(c.desired_size(), Some(-3.0));
            c.enqueue("e").unwrap();
            assert_eq!(c.desired_size(), Some(-4.0));
            ch.hit();
        },
    ))
    .unwrap();
    checked.assert_exactly(1);
}

#[test]
fn default_strategy_keeps_desired_size_1_if_chunks_are_read_immediately() {
    common::run(async {
        let (rs, controller) = common::controlled_stream::<&str>(QueuingStrategy::new());
        let reader = rs.get_reader().unwrap();
        assert_eq!(controller.desired_size(), Some(1.0));
        controller.enqueue("a").unwrap();
        assert_eq!(controller.desired_size(), Some(0.0));
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        assert_eq!(controller.desired_size(), Some(1.0));
        controller.enqueue("b").unwrap();
        assert_eq!(controller.desired_size(), Some(0.0));
        assert_eq!(reader.read().await.unwrap(), Some("b"));
        assert_eq!(controller.desired_size(), Some(1.0));
        controller.enqueue("c").unwrap();
        assert_eq!(controller.desired_size(), Some(0.0));
        assert_eq!(reader.read().await.unwrap(), Some("c"));
        assert_eq!(controller.desired_size(), Some(1.0));
        controller.enqueue("d").unwrap();
        assert_eq!(controller.desired_size(), Some(0.0));
    });
}

#[test]
fn integration_adapting_a_random_push_source() {
    common::run(async {
        let host: sluicegate::host::HostRef = common::host();
        let source = Arc::new(RandomPushSource::new(8));
        let (s1, h) = (source.clone(), host.clone());
        let rs = ReadableStream::with_host(
            sluicegate::readable::SourceFn::new().pull(move |c: &Controller<String>| {
                let (data_c, end_c, stopper) = (c.clone(), c.clone(), s1.clone());
                s1.read_start(
                    &h,
                    Arc::new(move |chunk| {
                        data_c.enqueue(chunk).unwrap();
                        if data_c.desired_size().unwrap_or(0.0) <= 0.0 {
                            stopper.read_stop();
                        }
                    }),
                    Arc::new(move |()| end_c.close().unwrap()),
                );
            }),
            QueuingStrategy::new(),
            host,
        )
        .unwrap();
        let chunks = common::read_all(&rs).await.unwrap();
        assert_eq!(chunks.len(), 8, "8 chunks should be read");
        for chunk in &chunks {
            assert_eq!(chunk.len(), 128, "each chunk has 128 bytes");
        }
        assert!(source.is_closed());
    });
}

/// WPT's `SequentialPullSource` behind `sequentialReadableStream(limit, { async })`.
fn sequential_readable_stream(
    limit: usize,
    asynchronous: bool,
) -> (ReadableStream<usize>, Arc<Mutex<(bool, bool)>>) {
    // (opened, closed)
    let flags = Arc::new(Mutex::new((false, false)));
    let current = Arc::new(Mutex::new(0usize));
    let (f1, f2) = (flags.clone(), flags.clone());
    let rs = ReadableStream::new(
        sluicegate::readable::SourceFn::new()
            .start(move |_: &Controller<usize>| {
                let f = f1.clone();
                Completion::future(async move {
                    if asynchronous {
                        common::sleep(0).await;
                        common::tick().await;
                    }
                    f.lock().unwrap().0 = true;
                    Ok(())
                })
            })
            .pull(move |c: &Controller<usize>| {
                let (c, f, current) = (c.clone(), f2.clone(), current.clone());
                Completion::future(async move {
                    if asynchronous {
                        common::tick().await;
                    }
                    let next = {
                        let mut cur = current.lock().unwrap();
                        *cur += 1;
                        *cur
                    };
                    if next <= limit {
                        c.enqueue(next)
                    } else {
                        if asynchronous {
                            common::tick().await;
                        }
                        f.lock().unwrap().1 = true;
                        c.close()
                    }
                })
            }),
    )
    .unwrap();
    (rs, flags)
}

#[test]
fn integration_adapting_a_sync_pull_source() {
    common::run(async {
        let (rs, flags) = sequential_readable_stream(10, false);
        let chunks = common::read_all(&rs).await.unwrap();
        assert_eq!(
            *flags.lock().unwrap(),
            (true, true),
            "the source was opened and closed"
        );
        assert_eq!(chunks, (1..=10).collect::<Vec<_>>());
    });
}

#[test]
fn integration_adapting_an_async_pull_source() {
    common::run(async {
        let (rs, flags) = sequential_readable_stream(10, true);
        let chunks = common::read_all(&rs).await.unwrap();
        assert_eq!(
            *flags.lock().unwrap(),
            (true, true),
            "the source was opened and closed"
        );
        assert_eq!(chunks, (1..=10).collect::<Vec<_>>());
    });
}

#[test]
fn controller_outliving_its_stream_reports_type_errors() {
    let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
    drop(rs);
    assert_eq!(controller.desired_size(), None);
    assert_rejects_kind(controller.enqueue(1), ErrorKind::Type);
    assert_rejects_kind(controller.close(), ErrorKind::Type);
    controller.error(StreamError::user("ignored")); // does nothing, does not panic
}

#[test]
fn errors_keep_their_identity_through_stored_error() {
    let (rs, controller) = common::controlled_stream::<u32>(QueuingStrategy::new());
    let e = StreamError::user("boom");
    controller.error(e.clone());
    assert!(!rs.is_readable());
    assert_same(&rs.stored_error().unwrap(), &e);
}
