//! Ported from WPT `streams/transform-streams/reentrant-strategies.any.js`: the readable side's
//! size function calls back into the transform stream (enqueue, terminate, error, desired size,
//! cancel, read, write, close, abort) while `enqueue()` is in progress. No stream lock may be held
//! across the size call, and state must be re-read after it. The `pipeTo()` case is in
//! `transform_piping.rs`.

use crate::common;
use crate::transform_support;

use std::sync::{Arc, Mutex};

use common::{flush, run, Calls};
use sluicegate::host::HostRef;
use sluicegate::readable::ReadFuture;
use sluicegate::transform::{IdentityTransformer, TransformStream};
use sluicegate::{Promised, QueuingStrategy, ReadableStreamDefaultReader, WritableStreamDefaultWriter};
use transform_support::*;

/// An identity transform stream on `host` whose readable size function runs `size` (with the
/// number of the call, from 1) and counts as 1.
fn with_size(
    high_water_mark: f64,
    host: &HostRef,
    size: impl Fn(usize) + Send + Sync + 'static,
) -> (
    TransformStream<&'static str, &'static str>,
    Controller<&'static str>,
    Calls,
) {
    let calls = Calls::new();
    let c = calls.clone();
    let (ts, controller) = with_controller(
        IdentityTransformer,
        default(),
        QueuingStrategy::with_size(high_water_mark, move |_: &&str| {
            c.hit();
            size(c.count());
            1.0
        }),
        host,
    )
    .unwrap();
    (ts, controller, calls)
}

#[test]
fn enqueue_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let controller: Slot<Controller<&str>> = slot();
        let c = controller.clone();
        let (ts, ctl, calls) = with_size(f64::INFINITY, &host, move |n| {
            if n < 2 {
                get(&c, "controller").enqueue("b").unwrap();
            }
        });
        *controller.lock().unwrap() = Some(ctl);
        let writer = ts.writable().get_writer().unwrap();
        let (write, close) = (writer.write("a"), writer.close());
        write.await.unwrap();
        close.await.unwrap();
        assert_eq!(read_all(ts.readable()).await.unwrap(), ["b", "a"]);
        calls.assert_exactly(2);
    });
}

#[test]
fn terminate_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let controller: Slot<Controller<&str>> = slot();
        let c = controller.clone();
        let (ts, ctl, _calls) = with_size(f64::INFINITY, &host, move |_| {
            // The readable queue is empty: the readable side goes from readable to closed.
            get(&c, "controller").terminate();
        });
        *controller.lock().unwrap() = Some(ctl.clone());
        let writer = ts.writable().get_writer().unwrap();
        writer.write("a").await.unwrap();
        // 'a' went into the queue of a closed stream: it can never be read.
        assert_eq!(read_all(ts.readable()).await.unwrap(), Vec::<&str>::new());
        assert_eq!(ctl.desired_size(), Some(0.0));
        assert_kind(writer.closed().await, sluicegate::ErrorKind::Type);
    });
}

#[test]
fn error_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let error1 = error("error1");
        let controller: Slot<Controller<&str>> = slot();
        let (c, e) = (controller.clone(), error1.clone());
        let (ts, ctl, _calls) = with_size(f64::INFINITY, &host, move |_| {
            get(&c, "controller").error(e.clone());
        });
        *controller.lock().unwrap() = Some(ctl);
        let writer = ts.writable().get_writer().unwrap();
        writer.write("a").await.unwrap();
        let reader = ts.readable().get_reader().unwrap();
        assert_same_err(reader.read().await, &error1);
        assert_same_err(writer.closed().await, &error1);
    });
}

#[test]
fn desired_size_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let controller: Slot<Controller<&str>> = slot();
        let seen: Arc<Mutex<Vec<Option<f64>>>> = Arc::default();
        let (c, s) = (controller.clone(), seen.clone());
        let (ts, ctl, _calls) = with_size(1.0, &host, move |_| {
            s.lock().unwrap().push(get(&c, "controller").desired_size());
        });
        *controller.lock().unwrap() = Some(ctl);
        let writer = ts.writable().get_writer().unwrap();
        let (write, close) = (writer.write("a"), writer.close());
        write.await.unwrap();
        close.await.unwrap();
        assert_eq!(read_all(ts.readable()).await.unwrap(), ["a"]);
        assert_eq!(*seen.lock().unwrap(), [Some(1.0)]);
    });
}

#[test]
fn readable_cancel_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let error1 = error("error1");
        let readable: Slot<sluicegate::ReadableStream<&str>> = slot();
        let cancel: Slot<Promised<()>> = slot();
        let (r, p, e) = (readable.clone(), cancel.clone(), error1.clone());
        let (ts, _ctl, _calls) = with_size(f64::INFINITY, &host, move |_| {
            let rs = take(&r, "readable");
            *p.lock().unwrap() = Some(rs.cancel(e.clone()));
        });
        *readable.lock().unwrap() = Some(ts.readable().clone());
        let writer = ts.writable().get_writer().unwrap();
        writer.write("a").await.unwrap();
        assert_same_err(writer.closed().await, &error1);
        take(&cancel, "cancel promise").await.unwrap();
    });
}

#[test]
fn read_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let reader: Slot<ReadableStreamDefaultReader<&str>> = slot();
        let read: Slot<ReadFuture<&str>> = slot();
        let (r, p) = (reader.clone(), read.clone());
        // Triggered by controller.enqueue() below, with an empty queue and no pending read: the
        // read calls pull() at once, which lets the waiting write reach transform(), whose
        // enqueue fulfils this read without calling size() again.
        let (ts, ctl, calls) = with_size(0.0, &host, move |_| {
            *p.lock().unwrap() = Some(get(&r, "reader").read());
        });
        *reader.lock().unwrap() = Some(ts.readable().get_reader().unwrap());
        let writer = ts.writable().get_writer().unwrap();
        let write = writer.write("b");
        flush(&host);
        assert!(!settled(&write));
        ctl.enqueue("a").unwrap();
        calls.assert_exactly(1);
        flush(&host);
        assert!(settled(&write), "the write has resolved");
        calls.assert_exactly(1);
        // whatwg/streams#794: the read gets 'b', not the 'a' whose size() call issued it.
        assert_eq!(take(&read, "read").await.unwrap(), Some("b"));
        calls.assert_exactly(1);
        write.await.unwrap();
        let reader = take(&reader, "reader");
        assert_eq!(reader.read().await.unwrap(), Some("a"));
    });
}

#[test]
fn writer_write_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let writer: Slot<WritableStreamDefaultWriter<&str>> = slot();
        let first: Slot<Promised<()>> = slot();
        let (w, p) = (writer.clone(), first.clone());
        let (ts, _ctl, calls) = with_size(f64::INFINITY, &host, move |n| {
            if n < 2 {
                *p.lock().unwrap() = Some(get(&w, "writer").write("a"));
            }
        });
        let wr = ts.writable().get_writer().unwrap();
        *writer.lock().unwrap() = Some(wr.clone());
        // Let pull() be called.
        flush(&host);
        // This write calls transform(), enqueue() and size() synchronously.
        let second = wr.write("b");
        calls.assert_exactly(1);
        let close = wr.close();
        take(&first, "first write").await.unwrap();
        second.await.unwrap();
        close.await.unwrap();
        calls.assert_exactly(2);
        assert_eq!(read_all(ts.readable()).await.unwrap(), ["b", "a"]);
        calls.assert_exactly(2);
        writer.lock().unwrap().take();
    });
}

#[test]
fn synchronous_writer_write_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let writer: Slot<WritableStreamDefaultWriter<&str>> = slot();
        let write: Slot<Promised<()>> = slot();
        let (w, p) = (writer.clone(), write.clone());
        let (ts, ctl, calls) = with_size(f64::INFINITY, &host, move |n| {
            if n < 2 {
                *p.lock().unwrap() = Some(get(&w, "writer").write("a"));
            }
        });
        let wr = ts.writable().get_writer().unwrap();
        *writer.lock().unwrap() = Some(wr.clone());
        flush(&host);
        // This enqueue calls size(), write(), transform() and enqueue() synchronously.
        ctl.enqueue("b").unwrap();
        calls.assert_exactly(2);
        let close = wr.close();
        take(&write, "write").await.unwrap();
        close.await.unwrap();
        // The nested enqueue finishes first, so the chunks come out in reverse order.
        assert_eq!(read_all(ts.readable()).await.unwrap(), ["a", "b"]);
        calls.assert_exactly(2);
        writer.lock().unwrap().take();
    });
}

#[test]
fn writer_close_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let writer: Slot<WritableStreamDefaultWriter<&str>> = slot();
        let close: Slot<Promised<()>> = slot();
        let (w, p) = (writer.clone(), close.clone());
        let (ts, ctl, _calls) = with_size(1.0, &host, move |_| {
            *p.lock().unwrap() = Some(get(&w, "writer").close());
        });
        *writer.lock().unwrap() = Some(ts.writable().get_writer().unwrap());
        let reader = ts.readable().get_reader().unwrap();
        // Once started, close() reaches the transform stream's sink synchronously.
        flush(&host);
        ctl.enqueue("a").unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        assert_eq!(reader.read().await.unwrap(), None);
        take(&close, "close").await.unwrap();
        writer.lock().unwrap().take();
    });
}

#[test]
fn writable_abort_inside_size_works() {
    run(async {
        let host: HostRef = common::host();
        let error1 = error("error1");
        let writable: Slot<sluicegate::WritableStream<&str>> = slot();
        let abort: Slot<Promised<()>> = slot();
        let (w, p, e) = (writable.clone(), abort.clone(), error1.clone());
        let (ts, ctl, _calls) = with_size(1.0, &host, move |_| {
            *p.lock().unwrap() = Some(take(&w, "writable").abort(e.clone()));
        });
        *writable.lock().unwrap() = Some(ts.writable().clone());
        let reader = ts.readable().get_reader().unwrap();
        flush(&host);
        ctl.enqueue("a").unwrap();
        // The abort reaches transformer.cancel() at once, but the standard errors the readable
        // side only in the reaction to cancel's promise: 'a' was queued before that, so the first
        // read still gets it. (The WPT file, written when abort errored the readable side
        // synchronously, expects this read to reject.)
        let first = reader.read();
        let second = reader.read();
        assert_eq!(first.await.unwrap(), Some("a"));
        assert_same_err(second.await, &error1);
        take(&abort, "abort").await.unwrap();
    });
}
