//! An operation that has started runs to its end even when every handle to its stream is gone:
//! the reactions that finish it hold the stream strongly, so a write future awaited after its
//! writer and stream were dropped still reaches the sink and settles.
//!
//! A stream that was given no work is another matter: dropped before its host ever ran, it is
//! freed with its sink or transformer at once, since its start reaction holds it weakly and only
//! what may queue work behind the start (a writer, until released with nothing queued; a close or
//! abort of the unlocked stream) makes the stream hold itself until the start reaction has run.
//!
//! The price of the first rule (recorded in DESIGN.md): a stream dropped while such work still
//! waits in a host that nobody drives again is never freed, since the host belongs to the stream
//! (a cycle, like the unreachable promise graph JavaScript leaves to its collector). A hang of a
//! future someone still awaits would be worse than that leak.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sluicegate::host::Driver;
use sluicegate::transform::TransformStream;
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{CountQueuingStrategy, StreamError};

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
