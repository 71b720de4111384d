//! Ported from WPT `streams/transform-streams/flush.any.js`: when flush() runs, what it may
//! enqueue, and how its outcome settles `writer.close()` and the readable side.

use crate::common;
use crate::transform_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{flush, run, sleep, Calls};
use sluicegate::host::HostRef;
use sluicegate::transform::{TransformStream, TransformerFn};
use sluicegate::{Completion, Resolver};
use transform_support::*;

#[test]
fn flush_runs_when_the_writable_is_closed_with_no_writes_queued() {
    run(async {
        let flushed = Calls::new();
        let f = flushed.clone();
        let ts = TransformStream::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ()).flush(move |_: &Controller<u32>| f.hit()),
        )
        .unwrap();
        ts.writable().get_writer().unwrap().close().await.unwrap();
        flushed.assert_exactly(1);
    });
}

#[test]
fn flush_runs_after_all_queued_writes_finish() {
    run(async {
        let host: HostRef = common::host();
        let flushed = Arc::new(AtomicBool::new(false));
        let resolver: Slot<Resolver> = slot();
        let (f, r) = (flushed.clone(), resolver.clone());
        let ts = TransformStream::with_host(
            TransformerFn::new(move |_: &str, _: &Controller<&str>| {
                let (done, res) = Completion::deferred();
                *r.lock().unwrap() = Some(res);
                done
            })
            .flush(move |_: &Controller<&str>| {
                f.store(true, Ordering::SeqCst);
                // Never settles.
                Completion::deferred().0
            }),
            default(),
            hwm(1.0),
            host.clone(),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _write = writer.write("a");
        let close = writer.close();
        assert!(
            !flushed.load(Ordering::SeqCst),
            "close() does not call flush() at once"
        );
        let reader = ts.readable().get_reader().unwrap();
        let rs_closed = reader.closed();
        flush(&host);
        sleep(1).await;
        assert!(
            !flushed.load(Ordering::SeqCst),
            "nor later, while a write is unfinished"
        );
        get(&resolver, "transform resolver").settle(Ok(()));
        flush(&host);
        sleep(1).await;
        assert!(flushed.load(Ordering::SeqCst), "flush is eventually called");
        assert!(
            !settled(&rs_closed),
            "the readable stays open while flush's promise is pending"
        );
        assert!(!settled(&close));
    });
}

#[test]
fn flush_can_enqueue_more_into_the_readable() {
    run(async {
        let ts = TransformStream::new(TransformerFn::new(|_: &str, _: &Controller<&str>| ()).flush(
            |c: &Controller<&str>| {
                c.enqueue("x")?;
                c.enqueue("y")
            },
        ))
        .unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _write = writer.write("a");
        let _close = writer.close();
        assert_eq!(reader.read().await.unwrap(), Some("x"));
        assert_eq!(reader.read().await.unwrap(), Some("y"));
    });
}

#[test]
fn flush_can_enqueue_more_and_then_close_asynchronously() {
    run(async {
        let ts = TransformStream::new(TransformerFn::new(|_: &str, _: &Controller<&str>| ()).flush(
            |c: &Controller<&str>| {
                c.enqueue("x").unwrap();
                c.enqueue("y").unwrap();
                after(1, || Ok(()))
            },
        ))
        .unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _write = writer.write("a");
        let close = writer.close();
        let closed = reader.closed();
        assert_eq!(reader.read().await.unwrap(), Some("x"));
        assert_eq!(reader.read().await.unwrap(), Some("y"));
        closed.await.unwrap();
        close.await.unwrap();
        assert_eq!(common::now(), 1);
    });
}

#[test]
fn error_during_flush_rejects_writer_close() {
    run(async {
        let error1 = error("error1");
        let e = error1.clone();
        let ts = TransformStream::new(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ())
                .flush(move |c: &Controller<u32>| c.error(e.clone())),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        assert_same_err(writer.close().await, &error1);
        assert_same_err(ts.readable().get_reader().unwrap().closed().await, &error1);
    });
}

#[test]
fn closing_calls_flush_and_a_parallel_readable_cancel_resolves() {
    run(async {
        let host: HostRef = common::host();
        let flushed = Calls::new();
        let cancels = Calls::new();
        let (f, c) = (flushed.clone(), cancels.clone());
        let ts = TransformStream::with_host(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ())
                .flush(move |_: &Controller<u32>| f.hit())
                .cancel(move |_| c.hit()),
            default(),
            default(),
            host.clone(),
        )
        .unwrap();
        let close = ts.writable().close();
        flush(&host);
        let cancel = ts.readable().cancel(error("error1"));
        close.await.unwrap();
        cancel.await.unwrap();
        flushed.assert_exactly(1);
        cancels.assert_exactly(0);
    });
}

#[test]
fn a_pending_flush_holds_back_close_and_the_readable_until_it_settles() {
    run(async {
        let host: HostRef = common::host();
        let resolver: Slot<Resolver> = slot();
        let r = resolver.clone();
        let (ts, _c, rec) = recording::<&str>(
            move |t| {
                t.flush(move |c| {
                    c.enqueue("last").unwrap();
                    let (done, res) = Completion::deferred();
                    *r.lock().unwrap() = Some(res);
                    done
                })
            },
            default(),
            hwm(4.0),
            &host,
        );
        let writer = ts.writable().get_writer().unwrap();
        let reader = ts.readable().get_reader().unwrap();
        drop(writer.write("a"));
        let close = writer.close();
        flush(&host);
        rec.assert(&["transform a", "flush"]);
        assert!(!settled(&close));
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        assert_eq!(reader.read().await.unwrap(), Some("last"));
        let mut read = reader.read();
        flush(&host);
        assert!(still_pending(&mut read), "no end of stream before flush settles");
        get(&resolver, "flush resolver").settle(Ok(()));
        assert_eq!(read.await.unwrap(), None);
        close.await.unwrap();
    });
}
