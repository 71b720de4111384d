//! Ported from WPT `streams/transform-streams/backpressure.any.js`: how the readable side's
//! queue holds back transform() calls and the writable side's writes, and how cancelling the
//! readable side releases them.

use crate::common;
use crate::transform_support;

use common::{flush, run, sleep};
use sluicegate::host::HostRef;
use sluicegate::transform::{IdentityTransformer, TransformStream};
use sluicegate::{Completion, CountQueuingStrategy, ReadableStreamDefaultReader, Resolver};
use transform_support::*;

#[test]
fn no_transforms_with_an_identity_transform_and_no_reader() {
    run(async {
        let host: HostRef = common::host();
        let (ts, _c, log) = recording::<&str>(|r| r, default(), default(), &host);
        let writer = ts.writable().get_writer().unwrap();
        // This write never completes.
        let write = writer.write("a");
        flush(&host);
        log.assert(&[]);
        assert!(!settled(&write));
        assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    });
}

#[test]
fn only_one_transform_with_a_readable_high_water_mark_of_one_and_no_reader() {
    run(async {
        let host: HostRef = common::host();
        let (ts, c, log) = recording::<&str>(|r| r, default(), hwm(1.0), &host);
        let writer = ts.writable().get_writer().unwrap();
        let first = writer.write("a");
        // Waits for backpressure that is never relieved; transform() is never called for it.
        let second = writer.write("b");
        flush(&host);
        log.assert(&["transform a"]);
        assert_eq!(first.peek().map(|r| r.is_ok()), Some(true));
        assert!(!settled(&second));
        assert_eq!(c.desired_size(), Some(0.0));
        assert_eq!(writer.desired_size().unwrap(), Some(0.0), "'b' is in flight");
    });
}

#[test]
fn transform_keeps_being_called_while_there_is_no_backpressure() {
    run(async {
        let host: HostRef = common::host();
        // Discards every chunk, so the readable side never fills up.
        let (ts, _c, log) = recording::<u32>(|r| r.transform(|_, _| ()), default(), hwm(1.0), &host);
        let writer = ts.writable().get_writer().unwrap();
        let writes: Vec<_> = (0..4).map(|i| writer.write(i)).collect();
        assert_eq!(writer.desired_size().unwrap(), Some(-3.0));
        for w in writes {
            w.await.unwrap();
        }
        log.assert(&["transform 0", "transform 1", "transform 2", "transform 3"]);
        assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    });
}

#[test]
fn writes_resolve_as_soon_as_transform_completes() {
    run(async {
        let host: HostRef = common::host();
        let ts =
            TransformStream::<&str, &str>::with_host(IdentityTransformer, default(), hwm(1.0), host.clone())
                .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let (a, b, close) = (writer.write("a"), writer.write("b"), writer.close());
        let events = |log: &mut Vec<&str>| {
            for (name, p) in [("a", &a), ("b", &b), ("closed", &close)] {
                if p.peek().map(|r| r.is_ok()) == Some(true) && !log.contains(&name) {
                    log.push(name);
                }
            }
        };
        let mut seen = Vec::new();
        flush(&host);
        events(&mut seen);
        assert_eq!(seen, ["a"], "only the first write has resolved");
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        flush(&host);
        events(&mut seen);
        assert_eq!(
            seen,
            ["a", "b", "closed"],
            "both writes and close() have resolved"
        );
        assert_eq!(reader.read().await.unwrap(), Some("b"));
        assert_eq!(reader.read().await.unwrap(), None);
    });
}

#[test]
fn pull_before_the_first_write_with_backpressure_works() {
    run(async {
        let ts =
            TransformStream::<&str, &str>::with_strategies(IdentityTransformer, default(), hwm(0.0)).unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let reader = ts.readable().get_reader().unwrap();
        let read = reader.read();
        let _write = writer.write("a");
        assert_eq!(read.await.unwrap(), Some("a"));
    });
}

#[test]
fn transform_can_read_the_chunk_it_just_enqueued() {
    run(async {
        let host: HostRef = common::host();
        let reader: Slot<ReadableStreamDefaultReader<&str>> = slot();
        let got: Slot<Option<&str>> = slot();
        let (r, g) = (reader.clone(), got.clone());
        let (ts, _c, log) = recording::<&str>(
            move |rec| {
                rec.transform(move |chunk, c| {
                    c.enqueue(chunk).unwrap();
                    let read = get(&r, "reader").read();
                    let g = g.clone();
                    Completion::future(async move {
                        *g.lock().unwrap() = Some(read.await?);
                        Ok(())
                    })
                })
            },
            default(),
            hwm(1.0),
            &host,
        );
        let writer = ts.writable().get_writer().unwrap();
        *reader.lock().unwrap() = Some(ts.readable().get_reader().unwrap());
        writer.write("a").await.unwrap();
        log.assert(&["transform a"]);
        assert_eq!(get(&got, "read result"), Some("a"));
    });
}

#[test]
fn a_blocking_transform_causes_backpressure() {
    run(async {
        let host: HostRef = common::host();
        let resolver: Slot<Resolver> = slot();
        let r = resolver.clone();
        let (ts, _c, log) = recording::<&str>(
            move |rec| {
                rec.transform(move |_, _| {
                    let (done, res) = Completion::deferred();
                    *r.lock().unwrap() = Some(res);
                    done
                })
            },
            default(),
            CountQueuingStrategy::new(f64::INFINITY).into(),
            &host,
        );
        let writer = ts.writable().get_writer().unwrap();
        assert_eq!(writer.desired_size().unwrap(), Some(1.0));
        flush(&host);
        let _write = writer.write("a");
        log.assert(&["transform a"]);
        assert_eq!(writer.desired_size().unwrap(), Some(0.0));
        flush(&host);
        assert_eq!(
            writer.desired_size().unwrap(),
            Some(0.0),
            "still 0 while the transform runs"
        );
        get(&resolver, "resolver").settle(Ok(()));
        flush(&host);
        assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    });
}

#[test]
fn writer_closed_rejects_after_the_readable_is_cancelled_during_start() {
    run(async {
        let ts = TransformStream::<u32, u32>::identity();
        let error1 = error("error1");
        let cancel = ts.readable().cancel(error1.clone());
        let writer = ts.writable().get_writer().unwrap();
        assert_same_err(writer.closed().await, &error1);
        cancel.await.unwrap();
    });
}

#[test]
fn writer_closed_rejects_after_the_readable_is_cancelled_with_backpressure() {
    run(async {
        let host: HostRef = common::host();
        let ts =
            TransformStream::<u32, u32>::with_host(IdentityTransformer, default(), hwm(0.0), host.clone())
                .unwrap();
        flush(&host);
        let error1 = error("error1");
        let cancel = ts.readable().cancel(error1.clone());
        let writer = ts.writable().get_writer().unwrap();
        assert_same_err(writer.closed().await, &error1);
        cancel.await.unwrap();
    });
}

#[test]
fn writer_closed_rejects_after_the_readable_is_cancelled_without_backpressure() {
    run(async {
        let host: HostRef = common::host();
        let ts =
            TransformStream::<u32, u32>::with_host(IdentityTransformer, default(), hwm(1.0), host.clone())
                .unwrap();
        flush(&host);
        let error1 = error("error1");
        let cancel = ts.readable().cancel(error1.clone());
        let writer = ts.writable().get_writer().unwrap();
        assert_same_err(writer.closed().await, &error1);
        cancel.await.unwrap();
    });
}

#[test]
fn cancelling_the_readable_lets_a_pending_write_resolve() {
    run(async {
        let host: HostRef = common::host();
        let ts =
            TransformStream::<&str, &str>::with_host(IdentityTransformer, default(), hwm(1.0), host.clone())
                .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        sleep(1).await;
        flush(&host);
        let write = writer.write("a");
        let error1 = error("error1");
        let _cancel = ts.readable().cancel(error1.clone());
        write.await.unwrap();
        assert_same_err(writer.closed().await, &error1);
    });
}

#[test]
fn a_write_waiting_for_backpressure_is_released_by_a_read_and_by_nothing_else() {
    run(async {
        let host: HostRef = common::host();
        let (ts, c, rec) = recording::<u32>(|r| r, default(), hwm(0.0), &host);
        let writer = ts.writable().get_writer().unwrap();
        let write = writer.write(1);
        flush(&host);
        rec.assert(&[]);
        assert!(!settled(&write));
        assert_eq!(c.desired_size(), Some(0.0));
        let reader = ts.readable().get_reader().unwrap();
        let read = reader.read();
        // The pending read relieves backpressure: the chunk goes straight to the reader.
        assert_eq!(read.await.unwrap(), Some(1));
        write.await.unwrap();
        rec.assert(&["transform 1"]);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_bounds_the_chunks_in_flight_between_threads() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    // Chunks accepted by write() but not yet read: bounded by both high-water marks plus the
    // chunk in transform(), however fast the writer runs.
    let in_flight = Arc::new(AtomicI64::new(0));
    let max_seen = Arc::new(AtomicI64::new(0));
    let (inf, max) = (in_flight.clone(), max_seen.clone());
    let ts = TransformStream::with_strategies(
        sluicegate::transform::TransformerFn::new(move |n: u64, c: &Controller<u64>| {
            let c = c.clone();
            Completion::future(async move {
                tokio::task::yield_now().await;
                c.enqueue(n * 2)
            })
        }),
        hwm(2.0),
        hwm(3.0),
    )
    .unwrap();
    let writer = ts.writable().get_writer().unwrap();
    let producer = tokio::spawn(async move {
        for n in 0..2_000u64 {
            writer.ready().await.unwrap();
            let now = inf.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(now, Ordering::SeqCst);
            drop(writer.write(n));
        }
        writer.close().await.unwrap();
    });
    let reader = ts.readable().get_reader().unwrap();
    let consumer = tokio::spawn(async move {
        let mut expected = 0u64;
        while let Some(v) = reader.read().await.unwrap() {
            in_flight.fetch_sub(1, Ordering::SeqCst);
            assert_eq!(v, expected * 2, "chunks arrive in order");
            expected += 1;
        }
        expected
    });
    producer.await.unwrap();
    assert_eq!(consumer.await.unwrap(), 2_000);
    let max = max_seen.load(Ordering::SeqCst);
    assert!(max <= 2 + 3 + 1, "at most {max} chunks were in flight");
}
