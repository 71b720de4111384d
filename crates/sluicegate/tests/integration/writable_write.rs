//! Ported from WPT `streams/writable-streams/write.any.js`: writes reach the sink in order and
//! before close, one at a time; write promises, `ready` and `desired_size` track them; a failed
//! write errors the stream. Plus native concerns: panics in `write`, writers crossing threads.

use crate::common;
use crate::writable_support;

use std::sync::{Arc, Mutex};

use common::{run, Calls, Log};
use sluicegate::strategy::QueuingStrategy;
use sluicegate::writable::{SinkFn, WritableStream, WritableStreamDefaultController};
use sluicegate::{Completion, ErrorKind};
use writable_support::*;

type Ctl = WritableStreamDefaultController<&'static str>;

fn stepped(log: &Log, extras: SinkFn<&'static str>) -> (Arc<StepHost>, WritableStream<&'static str>) {
    let step = StepHost::new();
    let ws = WritableStream::with_host(recording(log, extras), QueuingStrategy::new(), step.host()).unwrap();
    (step, ws)
}

#[test]
fn asynchronous_writes_complete_before_close_resolves() {
    run(async {
        let storage = Arc::new(Mutex::new(Vec::new()));
        let s = storage.clone();
        let ws = WritableStream::new(
            SinkFn::new()
                .write(move |chunk: u32, _| {
                    let s = s.clone();
                    Completion::future(async move {
                        common::sleep(1).await;
                        s.lock().unwrap().push(chunk);
                        Ok(())
                    })
                })
                .close(|| {
                    Completion::future(async {
                        common::sleep(1).await;
                        Ok(())
                    })
                }),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        for chunk in 1..=5 {
            drop(writer.write(chunk));
        }
        writer.close().await.unwrap();
        assert_eq!(*storage.lock().unwrap(), [1, 2, 3, 4, 5]);
    });
}

#[test]
fn synchronous_writes_complete_before_close_resolves() {
    run(async {
        let log = Log::new();
        let ws = WritableStream::new(recording::<u32>(&log, SinkFn::new())).unwrap();
        let writer = ws.get_writer().unwrap();
        for chunk in 1..=5 {
            drop(writer.write(chunk));
        }
        writer.close().await.unwrap();
        log.assert(&["write 1", "write 2", "write 3", "write 4", "write 5", "close"]);
    });
}

#[test]
fn the_stream_waits_for_each_write_to_be_acknowledged() {
    let writes = Resolvers::new();
    let w = writes.clone();
    let (step, ws) = stepped(&Log::new(), SinkFn::new().write(move |_, _: &Ctl| w.completion()));
    let writer = ws.get_writer().unwrap();
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
    step.run();
    let order = Log::new();
    let write = writer.write("a");
    assert_eq!(writes.len(), 1, "the sink's write was called synchronously");
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    watch(&order, "write", write);
    watch(&order, "ready", writer.ready());
    step.run();
    order.assert(&[]);
    writes.resolve();
    step.run();
    order.assert(&["write ok", "ready ok"]);
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
}

#[test]
fn a_rejected_write_clears_queued_writes_and_close() {
    let writes = Resolvers::new();
    let w = writes.clone();
    let (step, ws) = stepped(&Log::new(), SinkFn::new().write(move |_, _: &Ctl| w.completion()));
    let writer = ws.get_writer().unwrap();
    step.run();
    let write1 = writer.write("a");
    assert_eq!(writes.len(), 1);
    assert_eq!(writer.desired_size().unwrap(), Some(0.0));
    let write2 = writer.write("b");
    assert_eq!(writes.len(), 1, "still one write in flight");
    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
    let close = writer.close();
    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
    let order = Log::new();
    watch(&order, "write1", write1);
    watch(&order, "write2", write2);
    watch(&order, "close", close);
    let e1 = error("error1");
    writes.reject(&e1);
    step.run();
    order.assert(&["write1 error1", "write2 error1", "close error1"]);
    assert_rejected_with(&writer.closed(), &e1);
    assert_eq!(writes.len(), 0, "the sink saw only the first write");
}

#[test]
fn a_throwing_sink_write_errors_the_stream() {
    run(async {
        let e1 = error("error1");
        let e = e1.clone();
        let ws =
            WritableStream::new(SinkFn::<&str>::new().write(move |_, _| Completion::err(e.clone()))).unwrap();
        let writer = ws.get_writer().unwrap();
        assert_same(&writer.write("a").await.unwrap_err(), &e1);
        assert_eq!(writer.close().await.unwrap_err().kind(), ErrorKind::Type);
    });
}

#[test]
fn a_controller_error_before_the_write_rejection_wins_for_ready_and_closed() {
    run(async {
        let (e1, e2) = (error("error1"), error("error2"));
        let (a, b) = (e1.clone(), e2.clone());
        let ws = WritableStream::new(SinkFn::<&str>::new().write(move |_, c| {
            c.error(a.clone());
            Completion::err(b.clone())
        }))
        .unwrap();
        let writer = ws.get_writer().unwrap();
        assert_same(&writer.write("a").await.unwrap_err(), &e2);
        assert_same(&writer.ready().await.unwrap_err(), &e1);
        assert_same(&writer.closed().await.unwrap_err(), &e1);
    });
}

#[test]
fn a_large_queue_of_writes_is_processed_completely() {
    let writes = Calls::new();
    let first = Resolvers::new();
    let (w, f) = (writes.clone(), first.clone());
    let (step, ws) = stepped(
        &Log::new(),
        SinkFn::new().write(move |_, _: &Ctl| {
            w.hit();
            if w.count() == 1 {
                f.completion()
            } else {
                Completion::ok()
            }
        }),
    );
    let writer = ws.get_writer().unwrap();
    step.run();
    let mut last = None;
    for _ in 0..1000 {
        last = Some(writer.write("a"));
    }
    writes.assert_exactly(1);
    assert_eq!(writer.desired_size().unwrap(), Some(-999.0));
    first.resolve();
    step.run();
    assert_fulfilled(&last.unwrap());
    writes.assert_exactly(1000);
    assert_eq!(writer.desired_size().unwrap(), Some(1.0));
}

#[test]
fn a_writer_acquired_after_a_release_writes_to_the_sink() {
    let log = Log::new();
    let (step, ws) = stepped(&log, SinkFn::new());
    ws.get_writer().unwrap().release_lock();
    let writer = ws.get_writer().unwrap();
    step.run();
    assert_fulfilled(&writer.ready());
    drop(writer.write("a"));
    log.assert(&["write a"]);
}

#[test]
fn a_failed_start_with_high_water_mark_zero_rejects_ready_and_write() {
    let e1 = error("error1");
    let e = e1.clone();
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        SinkFn::<&str>::new().start(move |_| rejected(&e)),
        QueuingStrategy::count(0.0),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    let ready = writer.ready();
    let write = writer.write("x");
    step.run();
    assert_rejected_with(&ready, &e1);
    assert_rejected_with(&write, &e1);
}

#[test]
fn writing_to_a_released_writer_rejects_with_a_type_error() {
    let (_step, ws) = stepped(&Log::new(), SinkFn::new());
    let writer = ws.get_writer().unwrap();
    writer.release_lock();
    assert_rejected_kind(&writer.write("a"), ErrorKind::Type);
}

#[test]
fn a_panicking_sink_write_errors_the_stream() {
    run(async {
        let ws =
            WritableStream::new(SinkFn::<u8>::new().write(|_, _| -> Completion { panic!("write exploded") }))
                .unwrap();
        let writer = ws.get_writer().unwrap();
        let e = writer.write(1).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "write exploded");
        assert_same(&writer.closed().await.unwrap_err(), &e);
        // The stream is still usable as an errored stream: nothing is poisoned.
        assert_same(&writer.write(2).await.unwrap_err(), &e);
        assert_eq!(writer.desired_size().unwrap(), None);
    });
}

#[test]
fn a_panicking_write_future_errors_the_stream() {
    run(async {
        let ws = WritableStream::new(
            SinkFn::<u8>::new().write(|_, _| Completion::future(async { panic!("late explosion") })),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        let e = writer.write(1).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "late explosion");
        assert_same(&writer.closed().await.unwrap_err(), &e);
    });
}

#[test]
fn the_sink_sees_one_write_at_a_time_in_order() {
    run(async {
        let busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (b, s) = (busy.clone(), seen.clone());
        let ws = WritableStream::with_strategy(
            SinkFn::new().write(move |chunk: u32, _| {
                assert!(
                    !b.swap(true, std::sync::atomic::Ordering::SeqCst),
                    "overlapping writes"
                );
                s.lock().unwrap().push(chunk);
                let b = b.clone();
                Completion::future(async move {
                    common::sleep(u64::from(10 - chunk)).await;
                    b.store(false, std::sync::atomic::Ordering::SeqCst);
                    Ok(())
                })
            }),
            QueuingStrategy::count(100.0),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        let writes: Vec<_> = (0..10).map(|i| writer.write(i)).collect();
        for w in writes {
            w.await.unwrap();
        }
        assert_eq!(*seen.lock().unwrap(), (0..10).collect::<Vec<_>>());
        assert_eq!(common::now(), (1..=10).sum::<u64>());
    });
}

#[test]
fn desired_size_counts_chunk_sizes_until_each_write_finishes() {
    let writes = Resolvers::new();
    let w = writes.clone();
    let step = StepHost::new();
    let ws = WritableStream::with_host(
        SinkFn::new().write(move |_, _| w.completion()),
        QueuingStrategy::with_size(10.0, |s: &String| s.len() as f64),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    step.run();
    drop(writer.write("abcd".to_string()));
    assert_eq!(writer.desired_size().unwrap(), Some(6.0));
    drop(writer.write("efghijk".to_string()));
    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
    assert!(writer.ready().peek().is_none(), "backpressure");
    writes.resolve();
    step.run();
    assert_eq!(writer.desired_size().unwrap(), Some(3.0));
    assert_fulfilled(&writer.ready());
    writes.resolve();
    step.run();
    assert_eq!(writer.desired_size().unwrap(), Some(10.0));
}

#[test]
fn write_returns_after_queueing_even_if_the_future_is_dropped() {
    let log = Log::new();
    let (step, ws) = stepped(&log, SinkFn::new());
    let writer = ws.get_writer().unwrap();
    drop(writer.write("a"));
    drop(writer.write("b"));
    let close = writer.close();
    step.run();
    assert_fulfilled(&close);
    log.assert(&["write a", "write b", "close"]);
}

#[test]
fn writes_made_before_the_writer_is_dropped_still_complete() {
    run(async {
        let log = Log::new();
        let ws = WritableStream::new(recording::<u32>(
            &log,
            SinkFn::new().write(|_, _| {
                Completion::future(async {
                    common::sleep(3).await;
                    Ok(())
                })
            }),
        ))
        .unwrap();
        let writer = ws.get_writer().unwrap();
        let write = writer.write(1);
        drop(writer);
        assert!(!ws.locked());
        write.await.unwrap();
        log.assert(&["write 1"]);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_moves_across_tasks_while_the_sink_runs_on_another_thread() {
    let total = Arc::new(Mutex::new(Vec::new()));
    let t = total.clone();
    let ws = WritableStream::with_strategy(
        SinkFn::new().write(move |n: u64, _| {
            let t = t.clone();
            Completion::future(async move {
                tokio::task::yield_now().await;
                t.lock().unwrap().push(n);
                Ok(())
            })
        }),
        QueuingStrategy::count(8.0),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    let writer = tokio::spawn(async move {
        for n in 0..500 {
            writer.ready().await.unwrap();
            assert!(writer.desired_size().unwrap().unwrap() > 0.0);
            drop(writer.write(n));
        }
        writer
    })
    .await
    .unwrap();
    tokio::spawn(async move {
        for n in 500..1000 {
            writer.ready().await.unwrap();
            drop(writer.write(n));
        }
        writer.close().await.unwrap();
    })
    .await
    .unwrap();
    assert_eq!(*total.lock().unwrap(), (0..1000).collect::<Vec<_>>());
}

#[test]
fn writes_from_another_os_thread_are_kept_in_order() {
    let log = Log::new();
    let ws =
        WritableStream::with_strategy(recording::<u32>(&log, SinkFn::new()), QueuingStrategy::count(4.0))
            .unwrap();
    let writer = ws.get_writer().unwrap();
    let host = ws.host().clone();
    let producer = std::thread::spawn(move || {
        futures::executor::block_on(async {
            for i in 0..100 {
                writer.ready().await.unwrap();
                drop(writer.write(i));
            }
            writer.close().await.unwrap();
        });
    });
    producer.join().unwrap();
    common::flush(&host);
    let expected: Vec<String> = (0..100)
        .map(|i| format!("write {i}"))
        .chain(["close".to_string()])
        .collect();
    assert_eq!(log.entries(), expected);
}
