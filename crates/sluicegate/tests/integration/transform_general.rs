//! Ported from WPT `streams/transform-streams/general.any.js`: construction, the identity
//! transform, synchronous and asynchronous transformers, closing, ordering of start/transform/
//! flush, and terminate()/enqueue() after cancel.

use crate::common;
use crate::transform_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{flush, run, sleep, Calls, Log};
use sluicegate::host::HostRef;
use sluicegate::transform::{IdentityTransformer, TransformStream, Transformer, TransformerFn};
use sluicegate::{Completion, ErrorKind, QueuingStrategy, Resolver, StreamError};
use transform_support::*;

fn upper(s: &str) -> String {
    s.to_uppercase()
}

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TransformStream<u64, String>>();
    assert_send_sync::<Controller<String>>();
}

#[test]
fn can_be_constructed_with_a_transform_function() {
    let calls = Calls::new();
    let c = calls.clone();
    let ts = TransformStream::new(TransformerFn::new(move |_: u32, _: &Controller<u32>| c.hit())).unwrap();
    assert!(!ts.writable().locked());
    assert!(!ts.readable().locked());
    calls.assert_exactly(0);
}

#[test]
fn can_be_constructed_with_no_transform_function() {
    let a: TransformStream<u32, u32> = TransformStream::identity();
    let b: TransformStream<u32, u32> = TransformStream::new(IdentityTransformer).unwrap();
    assert!(a.readable().is_readable());
    assert!(b.readable().is_readable());
}

#[test]
fn writable_starts_in_the_writable_state() {
    let ts = TransformStream::new(TransformerFn::new(|_: u32, _: &Controller<u32>| ())).unwrap();
    let writer = ts.writable().get_writer().unwrap();
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
}

#[test]
fn identity_can_read_what_is_written() {
    run(async {
        let host: HostRef = common::host();
        let ts =
            TransformStream::<&str, &str>::with_host(IdentityTransformer, default(), default(), host.clone())
                .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let write = writer.write("a");
        assert_eq!(writer.desired_size().unwrap(), Some(0.0));
        let reader = ts.readable().get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        flush(&host);
        assert_eq!(
            writer.desired_size().unwrap(),
            Some(1.0),
            "desired size is 1 again"
        );
        write.await.unwrap();
    });
}

#[test]
fn uppercaser_sync_transform() {
    run(async {
        let ts = TransformStream::new(TransformerFn::new(|chunk: String, c: &Controller<String>| {
            c.enqueue(upper(&chunk))
        }))
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _write = writer.write("a".into());
        let reader = ts.readable().get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().as_deref(), Some("A"));
    });
}

#[test]
fn uppercaser_doubler_sync_transform_both_chunks_readable() {
    run(async {
        let ts = TransformStream::new(TransformerFn::new(|chunk: String, c: &Controller<String>| {
            c.enqueue(upper(&chunk))?;
            c.enqueue(upper(&chunk))
        }))
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _write = writer.write("a".into());
        let reader = ts.readable().get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().as_deref(), Some("A"));
        assert_eq!(reader.read().await.unwrap().as_deref(), Some("A"));
        // Both chunks sat in the readable queue before the first read: 0 - 2, then one read.
        assert!(ts.readable().is_readable());
    });
}

#[test]
fn uppercaser_async_transform() {
    run(async {
        let ts = TransformStream::new(TransformerFn::new(|chunk: String, c: &Controller<String>| {
            let c = c.clone();
            after(1, move || c.enqueue(upper(&chunk)))
        }))
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _write = writer.write("a".into());
        let reader = ts.readable().get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap().as_deref(), Some("A"));
        assert_eq!(common::now(), 1, "the chunk arrived after the transform's delay");
    });
}

#[test]
fn uppercaser_doubler_async_transform_both_chunks_readable() {
    run(async {
        let host: HostRef = common::host();
        let second: Slot<Box<dyn FnOnce() + Send>> = slot();
        let finish: Slot<Resolver> = slot();
        let (s, f, h) = (second.clone(), finish.clone(), host.clone());
        let ts = TransformStream::with_host(
            TransformerFn::new(move |chunk: String, c: &Controller<String>| {
                // The first enqueue happens later, in a task of its own.
                let (c1, first) = (c.clone(), upper(&chunk));
                h.spawn(Box::pin(async move {
                    sleep(1).await;
                    c1.enqueue(first).unwrap();
                }));
                let (c2, again) = (c.clone(), upper(&chunk));
                *s.lock().unwrap() = Some(Box::new(move || c2.enqueue(again).unwrap()));
                // The transform's own promise is settled by the test.
                let (done, resolver) = Completion::deferred();
                *f.lock().unwrap() = Some(resolver);
                done
            }),
            default(),
            default(),
            host.clone(),
        )
        .unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let write = writer.write("a".into());
        assert_eq!(reader.read().await.unwrap().as_deref(), Some("A"));
        let enqueue_again = second.lock().unwrap().take().unwrap();
        enqueue_again();
        assert_eq!(reader.read().await.unwrap().as_deref(), Some("A"));
        assert!(!settled(&write), "the write waits for the transform's promise");
        get(&finish, "resolver").settle(Ok(()));
        write.await.unwrap();
    });
}

#[test]
fn closing_the_writable_closes_the_readable_when_no_writes_are_queued() {
    run(async {
        let ts = TransformStream::new(TransformerFn::new(|_: u32, _: &Controller<u32>| ())).unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let close = writer.close();
        let reader = ts.readable().get_reader().unwrap();
        writer.closed().await.unwrap();
        reader.closed().await.unwrap();
        close.await.unwrap();
    });
}

#[test]
fn closing_the_writable_waits_for_transforms_to_finish_before_closing_both() {
    run(async {
        let host: HostRef = common::host();
        let (done, resolver) = Completion::deferred();
        let mut done = Some(done);
        let ts = TransformStream::with_host(
            TransformerFn::new(move |_: &str, _: &Controller<&str>| done.take().unwrap()),
            default(),
            hwm(1.0),
            host.clone(),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _write = writer.write("a");
        let _close = writer.close();
        let reader = ts.readable().get_reader().unwrap();
        let rs_closed = reader.closed();
        flush(&host);
        sleep(1).await;
        assert!(
            !settled(&rs_closed),
            "the readable is not closed while the transform runs"
        );
        resolver.settle(Ok(()));
        writer.closed().await.unwrap();
        assert_eq!(
            rs_closed.peek().map(|r| r.is_ok()),
            Some(true),
            "readable closed by then"
        );
    });
}

#[test]
fn closing_closes_the_readable_after_sync_enqueues_and_async_done() {
    run(async {
        let ts = TransformStream::new(TransformerFn::new(|_: &str, c: &Controller<&str>| {
            c.enqueue("x").unwrap();
            c.enqueue("y").unwrap();
            after(1, || Ok(()))
        }))
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _write = writer.write("a");
        let _close = writer.close();
        // readableStreamToArray starts reading (and so relieves backpressure) before writer.closed
        // is awaited.
        let readable = ts.readable().clone();
        let (chunks, closed) = futures::join!(read_all(&readable), writer.closed());
        closed.unwrap();
        assert_eq!(chunks.unwrap(), ["x", "y"]);
    });
}

#[test]
fn closing_closes_the_readable_after_async_enqueues_and_async_done() {
    run(async {
        let ts = TransformStream::new(TransformerFn::new(|_: &str, c: &Controller<&str>| {
            let c = c.clone();
            Completion::future(async move {
                sleep(1).await;
                c.enqueue("x")?;
                c.enqueue("y")?;
                sleep(1).await;
                Ok(())
            })
        }))
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _write = writer.write("a");
        let _close = writer.close();
        let chunks = read_all(ts.readable());
        // readableStreamToArray starts reading before writer.closed is awaited.
        let chunks = chunks.await.unwrap();
        assert_eq!(chunks, ["x", "y"]);
        writer.closed().await.unwrap();
        assert_eq!(common::now(), 2);
    });
}

/// A transformer with state of its own, the native form of "methods are called as methods".
struct Suffixer {
    suffix: &'static str,
}

impl Transformer<&'static str, String> for Suffixer {
    fn start(&mut self, c: &Controller<String>) -> Completion {
        c.enqueue(format!("start{}", self.suffix)).into()
    }
    fn transform(&mut self, chunk: &'static str, c: &Controller<String>) -> Completion {
        c.enqueue(format!("{chunk}{}", self.suffix)).into()
    }
    fn flush(&mut self, c: &Controller<String>) -> Completion {
        c.enqueue(format!("flushed{}", self.suffix)).into()
    }
}

#[test]
fn transformer_methods_see_the_transformer_state() {
    run(async {
        let ts = TransformStream::new(Suffixer { suffix: "-suffix" }).unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _write = writer.write("a");
        let _close = writer.close();
        let readable = ts.readable().clone();
        let all = read_all(&readable).await.unwrap();
        writer.closed().await.unwrap();
        assert_eq!(all, ["start-suffix", "a-suffix", "flushed-suffix"]);
    });
}

#[test]
fn start_transform_and_flush_are_strictly_ordered() {
    run(async {
        let host: HostRef = common::host();
        let log = Log::new();
        let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
        let start_done = Arc::new(AtomicBool::new(false));
        let transform_done = Arc::new(AtomicBool::new(false));
        let flush_done = Arc::new(AtomicBool::new(false));
        let (sd, td, fd) = (start_done.clone(), transform_done.clone(), flush_done.clone());
        let (sd2, td2) = (start_done.clone(), transform_done.clone());
        let ts = TransformStream::with_host(
            TransformerFn::new(move |_: &str, _: &Controller<&str>| {
                l2.push(format!("transform (start done: {})", sd2.load(Ordering::SeqCst)));
                let td = td.clone();
                after(1, move || {
                    td.store(true, Ordering::SeqCst);
                    Ok(())
                })
            })
            .start(move |_: &Controller<&str>| {
                l1.push("start");
                let sd = sd.clone();
                after(1, move || {
                    sd.store(true, Ordering::SeqCst);
                    Ok(())
                })
            })
            .flush(move |_: &Controller<&str>| {
                l3.push(format!("flush (transform done: {})", td2.load(Ordering::SeqCst)));
                let fd = fd.clone();
                after(1, move || {
                    fd.store(true, Ordering::SeqCst);
                    Ok(())
                })
            }),
            default(),
            hwm(1.0),
            host,
        )
        .unwrap();
        log.assert(&["start"]);
        let writer = ts.writable().get_writer().unwrap();
        let write = writer.write("a");
        writer.close().await.unwrap();
        assert!(
            flush_done.load(Ordering::SeqCst),
            "flush's promise resolved before close did"
        );
        write.await.unwrap();
        log.assert(&[
            "start",
            "transform (start done: true)",
            "flush (transform done: true)",
        ]);
        assert_eq!(common::now(), 3);
    });
}

#[test]
fn transform_can_be_called_synchronously() {
    run(async {
        let host: HostRef = common::host();
        let calls = Calls::new();
        let c = calls.clone();
        let ts = TransformStream::with_host(
            TransformerFn::new(move |_: u32, _: &Controller<u32>| c.hit()),
            default(),
            hwm(f64::INFINITY),
            host.clone(),
        )
        .unwrap();
        // transform() runs synchronously once there is no backpressure and every microtask ran.
        flush(&host);
        let writer = ts.writable().get_writer().unwrap();
        let write = writer.write(1);
        calls.assert_exactly(1);
        write.await.unwrap();
    });
}

#[test]
fn closing_the_writable_closes_the_readable_with_no_queued_chunks_even_with_backpressure() {
    run(async {
        let ts =
            TransformStream::<u32, u32>::with_strategies(IdentityTransformer, default(), hwm(0.0)).unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let _close = writer.close();
        let reader = ts.readable().get_reader().unwrap();
        writer.closed().await.unwrap();
        reader.closed().await.unwrap();
    });
}

#[test]
fn enqueue_throws_a_type_error_after_terminate() {
    let seen: Slot<Result<(), StreamError>> = slot();
    let s = seen.clone();
    TransformStream::<u32, u32>::new(TransformerFn::new(|_: u32, _: &Controller<u32>| ()).start(
        move |c: &Controller<u32>| {
            c.terminate();
            *s.lock().unwrap() = Some(c.enqueue(1));
        },
    ))
    .unwrap();
    assert_kind(get(&seen, "enqueue result"), ErrorKind::Type);
}

#[test]
fn enqueue_throws_a_type_error_after_readable_cancel() {
    run(async {
        let host: HostRef = common::host();
        let (ts, controller) =
            with_controller::<u32, u32, _>(IdentityTransformer, default(), default(), &host).unwrap();
        let cancel = ts.readable().cancel(StreamError::undefined());
        assert_kind(controller.enqueue(1), ErrorKind::Type);
        cancel.await.unwrap();
    });
}

#[test]
fn terminate_twice_does_nothing_the_second_time() {
    run(async {
        let host: HostRef = common::host();
        let (ts, controller) = with_controller::<u32, u32, _>(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ()).start(|c: &Controller<u32>| {
                c.terminate();
                c.terminate();
            }),
            default(),
            default(),
            &host,
        )
        .unwrap();
        let reader = ts.readable().get_reader().unwrap();
        reader.closed().await.unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let e = writer.closed().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
        controller.terminate();
        // The writable keeps the first termination error.
        assert!(StreamError::same(&writer.closed().await.unwrap_err(), &e));
        assert_eq!(
            controller.desired_size(),
            Some(0.0),
            "a closed readable wants nothing"
        );
    });
}

#[test]
fn terminate_errors_the_writable_immediately_after_readable_cancel() {
    run(async {
        let host: HostRef = common::host();
        let (ts, controller) =
            with_controller::<u32, u32, _>(IdentityTransformer, default(), default(), &host).unwrap();
        let cancel = ts.readable().cancel(error("cancelReason"));
        controller.terminate();
        let writer = ts.writable().get_writer().unwrap();
        let closed = writer.closed().await.unwrap_err();
        assert_eq!(closed.kind(), ErrorKind::Type);
        // TransformStreamDefaultSourceCancelAlgorithm's reaction runs before the writable's start
        // reaction finishes the erroring the termination began (that reaction waits two microtasks
        // more for "a promise resolved with" the start promise), finds the writable erroring, not
        // errored, and resolves.
        cancel.await.unwrap();
    });
}

#[test]
fn terminate_does_nothing_after_readable_cancel_resolves() {
    run(async {
        let host: HostRef = common::host();
        let (ts, controller) =
            with_controller::<u32, u32, _>(IdentityTransformer, default(), default(), &host).unwrap();
        let reason = error("cancelReason");
        ts.readable().cancel(reason.clone()).await.unwrap();
        controller.terminate();
        let writer = ts.writable().get_writer().unwrap();
        assert_same_err(writer.closed().await, &reason);
    });
}

#[test]
fn start_is_called_exactly_once() {
    run(async {
        let host: HostRef = common::host();
        let calls = Calls::new();
        let c = calls.clone();
        let ts = TransformStream::with_host(
            TransformerFn::new(|_: u32, _: &Controller<u32>| ()).start(move |_: &Controller<u32>| c.hit()),
            default(),
            default(),
            host.clone(),
        )
        .unwrap();
        flush(&host);
        calls.assert_exactly(1);
        drop(ts);
    });
}

#[test]
fn map_transforms_every_chunk_and_closes() {
    run(async {
        let ts = TransformStream::map(|n: u32| n * 10);
        let writer = ts.writable().get_writer().unwrap();
        let readable = ts.readable().clone();
        let writes: Vec<_> = (1..=3)
            .map(|n| {
                let w = writer.clone();
                async move {
                    w.ready().await.unwrap();
                    w.write(n).await
                }
            })
            .collect();
        let reading = read_all(&readable);
        let (all, results) = futures::join!(reading, async {
            let mut results = Vec::new();
            for w in writes {
                results.push(w.await);
            }
            results.push(writer.close().await);
            results
        });
        assert_eq!(all.unwrap(), [10, 20, 30]);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    });
}

#[test]
fn strategies_are_validated_before_start_runs() {
    let calls = Calls::new();
    let c = calls.clone();
    let r = TransformStream::<u32, u32>::with_strategies(
        TransformerFn::new(|_: u32, _: &Controller<u32>| ()).start(move |_: &Controller<u32>| c.hit()),
        QueuingStrategy::count(f64::NAN),
        default(),
    );
    assert_kind(r.map(|_| ()), ErrorKind::Range);
    calls.assert_exactly(0);
}
