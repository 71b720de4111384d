//! An operation that has started runs to its end even when every handle to its stream is gone:
//! the reactions that finish it hold the stream strongly, so a write future awaited after its
//! writer and stream were dropped still reaches the sink and settles.
//!
//! A stream that was given no work is another matter: dropped before its host ever ran, it is
//! freed with its sink or transformer at once, since its start reaction holds it weakly and only
//! what may queue work behind the start (a writer, until released with nothing queued; a close or
//! abort of the unlocked stream) makes the stream hold itself until the start reaction has run.
//!
//! The first rule makes cycles: work waiting in a host that belongs to the stream it waits on.
//! For streams made without a host, the driver breaks them: once user code holds nothing of a
//! group (no stream, reader, writer or future on it), nothing can drive it again, and the group
//! is given up and freed with its sources, transformers and sinks (DESIGN.md, "A group nobody
//! holds is freed"). What user code still holds keeps the group going.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sluicegate::host::Driver;
use sluicegate::readable::{ByteSourceFn, ReadableStream, ReadableStreamDefaultController, SourceFn};
use sluicegate::transform::TransformStream;
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{AbortController, Completion, CountQueuingStrategy, PipeOptions, StreamError};

use crate::common::poll_once;

/// Sets its flag when dropped: moved into a sink or transformer, it tells whether that was freed.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn drop_flag() -> (DropFlag, Arc<AtomicBool>) {
    let flag = Arc::new(AtomicBool::new(false));
    (DropFlag(flag.clone()), flag)
}

/// A writable stream on its own `Driver` (returned too, so that a test decides whether it runs)
/// whose sink logs its calls and owns `flag`.
fn logged_stream(flag: DropFlag) -> (WritableStream<u32>, Arc<Driver>, Arc<Mutex<Vec<String>>>) {
    let host = Driver::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let stream = WritableStream::with_host(
        SinkFn::new()
            .write(move |x: u32, _| {
                let _ = &flag;
                l1.lock().unwrap().push(format!("write {x}"));
            })
            .close(move || l2.lock().unwrap().push("close".to_string()))
            .abort(move |_| l3.lock().unwrap().push("abort".to_string())),
        CountQueuingStrategy::new(1.0),
        host.clone(),
    )
    .unwrap();
    (stream, host, log)
}

#[test]
fn a_writable_stream_dropped_unused_before_its_host_ran_frees_its_sink() {
    let (flag, dropped) = drop_flag();
    let stream = WritableStream::new(SinkFn::new().write(move |_: u32, _| {
        let _ = &flag;
    }))
    .unwrap();
    assert!(!dropped.load(Ordering::SeqCst));
    drop(stream);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the sink outlived every handle to its stream"
    );
}

#[test]
fn a_writable_stream_locked_and_released_unused_is_freed_too() {
    let (flag, dropped) = drop_flag();
    let (stream, host, log) = logged_stream(flag);
    let writer = stream.get_writer().unwrap();
    let ready = writer.ready();
    drop(writer);
    drop(stream);
    assert!(dropped.load(Ordering::SeqCst));
    // Its host can still run: nothing is left on it that reaches the sink.
    host.run_until_stalled();
    drop(ready);
    assert!(log.lock().unwrap().is_empty());
}

#[test]
fn a_transform_stream_dropped_unused_frees_its_transformer() {
    let (flag, dropped) = drop_flag();
    let transform = TransformStream::map(move |x: u32| {
        let _ = &flag;
        x
    });
    drop(transform);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the transformer outlived every handle to its stream"
    );
}

#[test]
fn a_write_left_behind_before_the_start_settled_still_reaches_the_sink() {
    let (flag, dropped) = drop_flag();
    let (stream, host, log) = logged_stream(flag);
    let writer = stream.get_writer().unwrap();
    // Nobody keeps the write's future, the writer or the stream.
    drop(writer.write(3));
    drop(writer);
    drop(stream);
    assert!(
        !dropped.load(Ordering::SeqCst),
        "a write waiting for the start was dropped with it"
    );
    host.run_until_stalled();
    assert_eq!(*log.lock().unwrap(), ["write 3"]);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the stream outlived its last operation"
    );
}

#[test]
fn a_close_left_behind_before_the_start_settled_still_reaches_the_sink() {
    let (flag, dropped) = drop_flag();
    let (stream, host, log) = logged_stream(flag);
    let close = stream.close();
    drop(stream);
    assert!(!dropped.load(Ordering::SeqCst));
    host.run_until_stalled();
    assert_eq!(*log.lock().unwrap(), ["close"]);
    futures::executor::block_on(close).unwrap();
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn an_abort_left_behind_before_the_start_settled_still_reaches_the_sink() {
    let (flag, dropped) = drop_flag();
    let (stream, host, log) = logged_stream(flag);
    drop(stream.abort(StreamError::type_error("stop")));
    drop(stream);
    assert!(!dropped.load(Ordering::SeqCst));
    host.run_until_stalled();
    assert_eq!(*log.lock().unwrap(), ["abort"]);
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn a_transform_still_held_keeps_its_pending_write_and_delivers_it() {
    futures::executor::block_on(async {
        let transform = TransformStream::map(|x: u32| x + 1);
        let writer = transform.writable().get_writer().unwrap();
        let reader = transform.readable().get_reader().unwrap();
        let mut write = writer.write(1);
        assert!(poll_once(&mut write).is_none());
        drop(writer);
        assert_eq!(reader.read().await.unwrap(), Some(2));
        write.await.unwrap();
    });
}

#[test]
fn a_write_awaited_after_every_handle_is_dropped_still_completes() {
    futures::executor::block_on(async {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        let stream = WritableStream::new(SinkFn::new().write(move |x: u32, _| {
            s.lock().unwrap().push(x);
        }))
        .unwrap();
        let writer = stream.get_writer().unwrap();
        let write = writer.write(5);
        drop(writer);
        drop(stream);
        write.await.unwrap();
        assert_eq!(*seen.lock().unwrap(), [5]);
    });
}

/// A source that enqueues `n` chunks, then answers every later pull with a promise that never
/// settles; it owns `flag`.
fn stalling_source(n: u32, flag: DropFlag) -> ReadableStream<u32> {
    let mut next = 0;
    ReadableStream::with_strategy(
        SourceFn::new().pull(move |c: &ReadableStreamDefaultController<u32>| {
            let _ = &flag;
            if next < n {
                next += 1;
                c.enqueue(next).map(|_| ()).into()
            } else {
                Completion::future(futures::future::pending())
            }
        }),
        CountQueuingStrategy::new(2.0),
    )
    .unwrap()
}

/// A sink that takes the first `n` writes at once and never finishes the next; it owns `flag`
/// and logs what it was given.
fn stalling_sink(n: usize, flag: DropFlag) -> (WritableStream<u32>, Arc<Mutex<Vec<u32>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let sink = WritableStream::with_strategy(
        SinkFn::new().write(move |x: u32, _| -> Completion {
            let _ = &flag;
            let mut seen = s.lock().unwrap();
            seen.push(x);
            if seen.len() <= n {
                Completion::ok()
            } else {
                Completion::future(futures::future::pending())
            }
        }),
        CountQueuingStrategy::new(2.0),
    )
    .unwrap();
    (sink, seen)
}

#[test]
fn a_pipe_dropped_before_its_first_poll_with_every_handle_frees_both_ends() {
    let (source_flag, source_dropped) = drop_flag();
    let (sink_flag, sink_dropped) = drop_flag();
    let source = stalling_source(3, source_flag);
    let (sink, _) = stalling_sink(usize::MAX, sink_flag);
    let pipe = source.pipe_to(&sink, PipeOptions::default());
    drop(pipe);
    drop(source);
    assert!(
        !sink_dropped.load(Ordering::SeqCst) && !source_dropped.load(Ordering::SeqCst),
        "a handle still held keeps the group"
    );
    drop(sink);
    assert!(
        source_dropped.load(Ordering::SeqCst),
        "the source outlived every handle to the pipe's streams"
    );
    assert!(
        sink_dropped.load(Ordering::SeqCst),
        "the sink outlived every handle to the pipe's streams"
    );
}

#[test]
fn a_pipe_dropped_mid_way_through_a_transform_frees_everything_it_held() {
    let (source_flag, source_dropped) = drop_flag();
    let (transformer_flag, transformer_dropped) = drop_flag();
    let (sink_flag, sink_dropped) = drop_flag();
    let source = stalling_source(6, source_flag);
    let transform = TransformStream::map(move |x: u32| {
        let _ = &transformer_flag;
        x * 10
    });
    // The sink takes two chunks and never finishes the third: chunks wait in every queue.
    let (sink, seen) = stalling_sink(2, sink_flag);
    let mapped = source.pipe_through(&transform, PipeOptions::default()).unwrap();
    let mut pipe = mapped.pipe_to(&sink, PipeOptions::default());
    for _ in 0..4 {
        assert!(poll_once(&mut pipe).is_none(), "the pipe cannot finish");
    }
    assert_eq!(*seen.lock().unwrap(), [10, 20, 30], "the pipe ran");
    drop((pipe, mapped, transform, sink, source));
    for (what, dropped) in [
        ("source", source_dropped),
        ("transformer", transformer_dropped),
        ("sink", sink_dropped),
    ] {
        assert!(dropped.load(Ordering::SeqCst), "the {what} outlived every handle");
    }
}

#[test]
fn a_sender_keeps_a_dropped_pipe_going_and_its_last_drop_frees_the_sink() {
    futures::executor::block_on(async {
        let (sink_flag, sink_dropped) = drop_flag();
        let (sender, readable) = ReadableStream::<u32>::channel(1);
        let (sink, seen) = stalling_sink(usize::MAX, sink_flag);
        drop(readable.pipe_to(&sink, PipeOptions::default()));
        drop((readable, sink));
        // Sending drives the group's host: the pipe goes on without its future.
        for x in 1..=4 {
            sender.send(x).await.unwrap();
        }
        let writer_side = sender.clone();
        drop(sender);
        writer_side.send(5).await.unwrap();
        assert!(!sink_dropped.load(Ordering::SeqCst));
        assert!(
            seen.lock().unwrap().starts_with(&[1, 2, 3]),
            "the pipe moved the chunks sent: {:?}",
            seen.lock().unwrap()
        );
        drop(writer_side);
        assert!(
            sink_dropped.load(Ordering::SeqCst),
            "the sink outlived the last sender of a group nothing else held"
        );
    });
}

#[test]
fn a_pipe_future_alone_keeps_its_group_and_finishes() {
    futures::executor::block_on(async {
        let (sink_flag, sink_dropped) = drop_flag();
        let source = ReadableStream::from_iter(1..=5u32);
        let transform = TransformStream::map(|x: u32| x * 2);
        let (sink, seen) = stalling_sink(usize::MAX, sink_flag);
        let mapped = source.pipe_through(&transform, PipeOptions::default()).unwrap();
        let pipe = mapped.pipe_to(&sink, PipeOptions::default());
        drop((source, transform, mapped, sink));
        pipe.await.unwrap();
        assert_eq!(*seen.lock().unwrap(), [2, 4, 6, 8, 10]);
        assert!(
            sink_dropped.load(Ordering::SeqCst),
            "a finished pipe frees its sink"
        );
    });
}

#[test]
fn a_write_left_behind_a_start_that_never_settles_is_freed_with_its_last_handle() {
    let (flag, dropped) = drop_flag();
    let stream = WritableStream::new(
        SinkFn::new()
            .start(|_| Completion::future(futures::future::pending()))
            .write(move |_: u32, _| {
                let _ = &flag;
            }),
    )
    .unwrap();
    let writer = stream.get_writer().unwrap();
    let write = writer.write(1);
    drop((write, writer, stream));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the sink outlived every handle while its write waited for the start"
    );
}

#[test]
fn a_transform_dropped_with_a_write_waiting_for_its_readable_side_is_freed() {
    let (flag, dropped) = drop_flag();
    let transform = TransformStream::map(move |x: u32| {
        let _ = &flag;
        x
    });
    let writer = transform.writable().get_writer().unwrap();
    let mut write = writer.write(1);
    assert!(
        poll_once(&mut write).is_none(),
        "the write waits for the readable side"
    );
    drop((write, writer, transform));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the transformer outlived every handle"
    );
}

#[test]
fn an_abandoned_group_is_never_held_again_and_a_late_settlement_frees_it() {
    let (flag, dropped) = drop_flag();
    let kept = Arc::new(Mutex::new(None));
    let k = kept.clone();
    let stream = WritableStream::new(SinkFn::new().write(move |_: u32, c| -> Completion {
        let _ = &flag;
        // The write settles later, from outside: the sink keeps its controller and resolver.
        let (completion, resolver) = Completion::deferred();
        *k.lock().unwrap() = Some((c.clone(), resolver));
        completion
    }))
    .unwrap();
    let writer = stream.get_writer().unwrap();
    let mut write = writer.write(1);
    assert!(poll_once(&mut write).is_none(), "the sink holds the write");
    let (controller, resolver) = kept.lock().unwrap().take().expect("the sink was called");
    // The pending write's reaction still holds the stream, but user code holds no handle on it.
    drop((write, writer, stream));
    assert!(
        controller.writable_stream().is_none(),
        "a handle on a group nobody held came back"
    );
    assert!(
        !dropped.load(Ordering::SeqCst),
        "the write's reaction still holds the stream"
    );
    // Settling queues the reaction on the abandoned driver, which drops it: the stream goes.
    resolver.settle(Ok(()));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the sink outlived the write's settlement"
    );
}

#[test]
fn a_stream_made_on_the_host_of_an_abandoned_group_is_a_type_error_not_a_hang() {
    let stream = WritableStream::new(SinkFn::new().write(|_: u32, _| {})).unwrap();
    let host = stream.host().clone();
    drop(stream);
    let e = WritableStream::with_host(
        SinkFn::new().write(|_: u32, _| {}),
        CountQueuingStrategy::new(1.0),
        host,
    )
    .expect_err("nothing would ever run this stream's steps");
    assert_eq!(e.kind(), sluicegate::ErrorKind::Type, "{e:?}");
}

#[test]
fn a_read_waiting_on_a_stream_that_is_freed_fails_instead_of_hanging() {
    let transform = TransformStream::map(|x: u32| x);
    let reader = transform.readable().get_reader().unwrap();
    // Dropped, the reader leaves the stream locked and its read waiting, as a binding's does.
    reader.keep_lock_on_drop();
    let mut read = reader.read();
    assert!(poll_once(&mut read).is_none());
    // The transform holds its readable side weakly: with the last handle on it gone, it is freed.
    let (writable, readable) = transform.into_parts();
    drop((reader, readable));
    let e = poll_once(&mut read)
        .expect("the read settled")
        .expect_err("the stream it waited on is gone");
    assert_eq!(e.kind(), sluicegate::ErrorKind::Type, "{e:?}");
    drop(writable);
}

#[test]
fn a_pipe_whose_own_sink_lets_go_of_the_last_hold_is_freed_once_its_step_ends() {
    let (source_flag, source_dropped) = drop_flag();
    let (sink_flag, sink_dropped) = drop_flag();
    // Every handle user code has ends up here; the sink's first write takes them out and drops
    // them, inside the pipe's step.
    let handles: Arc<Mutex<Option<Box<dyn std::any::Any + Send>>>> = Arc::new(Mutex::new(None));
    let slot = handles.clone();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let source = stalling_source(6, source_flag);
    let sink = WritableStream::with_strategy(
        SinkFn::new().write(move |x: u32, _| {
            let _ = &sink_flag;
            s.lock().unwrap().push(x);
            let last = slot.lock().unwrap().take();
            drop(last);
        }),
        CountQueuingStrategy::new(2.0),
    )
    .unwrap();
    // The host is driven by hand: a `HostRef` is no hold on the group.
    let host = sink.host().clone();
    let pipe = source.pipe_to(&sink, PipeOptions::default());
    *handles.lock().unwrap() = Some(Box::new((source, sink, pipe)));
    host.run_queued();
    assert_eq!(
        *seen.lock().unwrap(),
        [1],
        "the pipe ran until its sink let go of the group"
    );
    assert!(handles.lock().unwrap().is_none());
    host.run_queued();
    for (what, dropped) in [("source", source_dropped), ("sink", sink_dropped)] {
        assert!(
            dropped.load(Ordering::SeqCst),
            "the {what} outlived every handle, let go of inside the pipe's step"
        );
    }
}

#[test]
fn a_tee_read_from_and_dropped_frees_its_source() {
    let (f, dropped) = drop_flag();
    tee_read_from_then_dropped(stalling_source(10, f), &dropped, "tee");
}

/// Tees `source`, reads from the first branch until the read waits, drops everything, and
/// checks that `dropped` (the source's flag) is set.
fn tee_read_from_then_dropped<T: Clone + Send + 'static>(
    source: ReadableStream<T>,
    dropped: &AtomicBool,
    what: &str,
) {
    let (a, b) = source.tee().unwrap();
    let ra = a.get_reader().unwrap();
    let mut read = ra.read();
    for _ in 0..3 {
        let _ = poll_once(&mut read);
    }
    drop((read, ra, a, b, source));
    assert!(dropped.load(Ordering::SeqCst), "the {what}'s source leaked");
}

#[test]
fn a_tee_branch_piped_and_dropped_frees_the_source_and_the_sink() {
    let (f, dropped) = drop_flag();
    let (g, sink_dropped) = drop_flag();
    let source = stalling_source(10, f);
    let (a, b) = source.tee().unwrap();
    let (sink, _) = stalling_sink(3, g);
    let mut pipe = a.pipe_to(&sink, PipeOptions::default());
    for _ in 0..4 {
        let _ = poll_once(&mut pipe);
    }
    drop((pipe, a, b, source, sink));
    assert!(dropped.load(Ordering::SeqCst), "tee source leaked");
    assert!(sink_dropped.load(Ordering::SeqCst), "sink leaked");
}

#[test]
fn a_byte_tee_read_from_and_dropped_frees_its_source() {
    let (f, dropped) = drop_flag();
    let mut n = 0;
    let source = ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c| {
        let _ = &f;
        n += 1;
        if n < 4 {
            c.enqueue(Bytes::from(vec![n as u8; 8])).into()
        } else {
            Completion::future(futures::future::pending())
        }
    }))
    .unwrap();
    tee_read_from_then_dropped(source, &dropped, "byte tee");
}

#[test]
fn an_async_iterator_dropped_mid_way_frees_its_source() {
    use futures::StreamExt;
    let (f, dropped) = drop_flag();
    let source = stalling_source(3, f);
    let mut values = source.values().unwrap();
    for _ in 0..5 {
        let mut next = values.next();
        let _ = poll_once(&mut next);
    }
    drop((values, source));
    assert!(dropped.load(Ordering::SeqCst), "values source leaked");
}

#[test]
fn a_pipe_from_a_futures_stream_dropped_mid_way_frees_the_stream_and_the_sink() {
    let (f, dropped) = drop_flag();
    let (g, sink_dropped) = drop_flag();
    let stream = futures::stream::iter(0..5u32).chain(futures::stream::pending());
    let stream = futures::StreamExt::map(stream, move |x| {
        let _ = &f;
        x
    });
    use futures::StreamExt as _;
    let source = ReadableStream::from_stream(stream);
    let (sink, _) = stalling_sink(100, g);
    let mut pipe = source.pipe_to(&sink, PipeOptions::default());
    for _ in 0..4 {
        let _ = poll_once(&mut pipe);
    }
    drop((pipe, source, sink));
    assert!(dropped.load(Ordering::SeqCst), "from_stream leaked");
    assert!(sink_dropped.load(Ordering::SeqCst), "sink leaked");
}

#[test]
fn a_pipe_dropped_while_user_code_keeps_its_abort_controller_is_freed() {
    let (f, dropped) = drop_flag();
    let (g, sink_dropped) = drop_flag();
    let controller = AbortController::new();
    let source = stalling_source(10, f);
    let (sink, _) = stalling_sink(3, g);
    let options = PipeOptions {
        signal: Some(controller.signal()),
        ..PipeOptions::default()
    };
    let mut pipe = source.pipe_to(&sink, options);
    for _ in 0..4 {
        let _ = poll_once(&mut pipe);
    }
    drop((pipe, source, sink));
    assert!(dropped.load(Ordering::SeqCst), "source leaked");
    assert!(sink_dropped.load(Ordering::SeqCst), "sink leaked");
    controller.abort(None);
    drop(controller);
}

#[test]
fn a_tee_of_a_transformed_stream_dropped_mid_way_frees_source_and_transformer() {
    let (f, dropped) = drop_flag();
    let (g, tdropped) = drop_flag();
    let source = stalling_source(10, f);
    let t = sluicegate::TransformStream::map(move |x: u32| {
        let _ = &g;
        x + 1
    });
    let mapped = source.pipe_through(&t, PipeOptions::default()).unwrap();
    let (a, b) = mapped.tee().unwrap();
    let ra = a.get_reader().unwrap();
    let mut read = ra.read();
    for _ in 0..3 {
        let _ = poll_once(&mut read);
    }
    drop((read, ra, a, b, mapped, t, source));
    assert!(dropped.load(Ordering::SeqCst), "source leaked");
    assert!(tdropped.load(Ordering::SeqCst), "transformer leaked");
}

#[test]
fn an_explicit_host_dropped_unrun_with_a_transform_stream_on_it_is_freed() {
    let host = Driver::new();
    let weak = Arc::downgrade(&host);
    let transform = TransformStream::<u32, u32>::with_host(
        sluicegate::transform::IdentityTransformer,
        CountQueuingStrategy::new(1.0),
        CountQueuingStrategy::new(0.0),
        host.clone(),
    )
    .unwrap();
    drop((transform, host));
    assert!(
        weak.upgrade().is_none(),
        "what the transform queued on its host keeps the host alive"
    );
}
