//! `Promised::on_settle`: an embedding's reaction runs at the moment of settlement.

use std::sync::{Arc, Mutex};

use sluicegate::readable::{ReadableStream, ReadableStreamDefaultController, SourceFn};
use sluicegate::{Completion, ErrorKind, StreamError};

fn stream_with_controller() -> (ReadableStream<u8>, ReadableStreamDefaultController<u8>) {
    let slot = Arc::new(Mutex::new(None));
    let s = slot.clone();
    let stream = ReadableStream::new(SourceFn::new().start(move |c| {
        *s.lock().unwrap() = Some(c.clone());
        Completion::ok()
    }))
    .unwrap();
    let controller = slot.lock().unwrap().take().unwrap();
    (stream, controller)
}

#[test]
fn an_error_reaches_the_reaction_inside_the_erroring_call() {
    let (stream, controller) = stream_with_controller();
    let reader = stream.get_reader().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    reader
        .closed()
        .on_settle(move |r| s.lock().unwrap().push(r.unwrap_err()));
    controller.error(StreamError::user("error1"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].reason::<&str>(), Some(&"error1"));
}

#[test]
fn an_already_settled_promise_reacts_at_once_and_only_once() {
    let (stream, controller) = stream_with_controller();
    let reader = stream.get_reader().unwrap();
    controller.close().unwrap();
    let count = Arc::new(Mutex::new(0));
    let c = count.clone();
    let closed = reader.closed();
    closed.on_settle(move |r| {
        assert!(r.is_ok());
        *c.lock().unwrap() += 1;
    });
    assert_eq!(*count.lock().unwrap(), 1);
    // Releasing the reader afterwards replaces `closed`; the old reaction does not run again.
    reader.release_lock();
    assert_eq!(*count.lock().unwrap(), 1);
}

#[test]
fn releasing_the_reader_rejects_closed_with_a_type_error() {
    let (stream, _controller) = stream_with_controller();
    let reader = stream.get_reader().unwrap();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    reader
        .closed()
        .on_settle(move |r| *s.lock().unwrap() = Some(r.unwrap_err().kind()));
    reader.release_lock();
    assert_eq!(*seen.lock().unwrap(), Some(ErrorKind::Type));
}
