//! Pipe propagation rules (WPT piping/): errors and closing forward and backward, prevent_*
//! options, abort signals, flow control and locking.

use crate::common;

use std::sync::{Arc, Mutex};

use sluicegate::readable::{ReadableStream, ReadableStreamDefaultController, SourceFn};
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{AbortController, Completion, CountQueuingStrategy, ErrorKind, PipeOptions, StreamError};

type Ctl = Arc<Mutex<Option<ReadableStreamDefaultController<&'static str>>>>;

/// A source that hands its controller out and logs pull/cancel.
fn recording_source(log: &common::Log) -> (ReadableStream<&'static str>, Ctl) {
    let ctl: Ctl = Arc::default();
    let (c, l1, l2) = (ctl.clone(), log.clone(), log.clone());
    let rs = ReadableStream::with_strategy(
        SourceFn::new()
            .start(move |controller| {
                *c.lock().unwrap() = Some(controller.clone());
                Completion::ok()
            })
            .pull(move |_| {
                l1.push("pull");
                Completion::ok()
            })
            .cancel(move |r: StreamError| {
                l2.push(format!("cancel {}", r.message()));
                Completion::ok()
            }),
        CountQueuingStrategy::new(0.0),
    )
    .unwrap();
    (rs, ctl)
}

/// A sink that logs write/close/abort.
fn recording_sink(log: &common::Log, hwm: f64) -> WritableStream<&'static str> {
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    WritableStream::with_strategy(
        SinkFn::new()
            .write(move |chunk: &'static str, _| {
                l1.push(format!("write {chunk}"));
                Completion::ok()
            })
            .close(move || {
                l2.push("close");
                Completion::ok()
            })
            .abort(move |r: StreamError| {
                l3.push(format!("abort {}", r.message()));
                Completion::ok()
            }),
        CountQueuingStrategy::new(hwm),
    )
    .unwrap()
}

fn ctl(c: &Ctl) -> ReadableStreamDefaultController<&'static str> {
    c.lock().unwrap().clone().unwrap()
}

#[test]
fn chunks_flow_then_close_propagates_forward() {
    let (slog, dlog) = (common::Log::new(), common::Log::new());
    let (rs, c) = recording_source(&slog);
    let ws = recording_sink(&dlog, 1.0);
    common::run(async move {
        let c = ctl(&c);
        c.enqueue("a").unwrap();
        c.enqueue("b").unwrap();
        c.close().unwrap();
        rs.pipe_to(&ws, PipeOptions::default()).await.unwrap();
        assert!(!rs.locked() && !ws.locked(), "finalize releases both locks");
    });
    dlog.assert(&["write a", "write b", "close"]);
}

#[test]
fn prevent_close_leaves_the_destination_open() {
    let (slog, dlog) = (common::Log::new(), common::Log::new());
    let (rs, c) = recording_source(&slog);
    let ws = recording_sink(&dlog, 1.0);
    common::run(async move {
        let c = ctl(&c);
        c.enqueue("a").unwrap();
        c.close().unwrap();
        let opts = PipeOptions {
            prevent_close: true,
            ..Default::default()
        };
        rs.pipe_to(&ws, opts).await.unwrap();
        let writer = ws.get_writer().expect("unlocked after the pipe");
        writer.write("b").await.unwrap();
    });
    dlog.assert(&["write a", "write b"]);
}

#[test]
fn source_error_aborts_the_destination_with_the_same_error() {
    let (slog, dlog) = (common::Log::new(), common::Log::new());
    let (rs, c) = recording_source(&slog);
    let ws = recording_sink(&dlog, 1.0);
    let boom = StreamError::user("boom");
    let b = boom.clone();
    common::run(async move {
        let c = ctl(&c);
        let pipe = rs.pipe_to(&ws, PipeOptions::default());
        let (result, ()) = futures::join!(pipe, async {
            c.enqueue("a").unwrap();
            common::sleep(1).await;
            c.error(b.clone());
        });
        let e = result.unwrap_err();
        assert!(
            StreamError::same(&e, &b),
            "the pipe fails with the source's error"
        );
        let closed = ws.get_writer().unwrap().closed().await.unwrap_err();
        assert!(
            StreamError::same(&closed, &b),
            "the destination is errored with it"
        );
    });
    dlog.assert(&["write a", &format!("abort {}", boom.message())]);
}

#[test]
fn prevent_abort_keeps_the_destination_writable_after_a_source_error() {
    let (slog, dlog) = (common::Log::new(), common::Log::new());
    let (rs, c) = recording_source(&slog);
    let ws = recording_sink(&dlog, 1.0);
    common::run(async move {
        let c = ctl(&c);
        let boom = StreamError::user("boom");
        c.error(boom.clone());
        let opts = PipeOptions {
            prevent_abort: true,
            ..Default::default()
        };
        let e = rs.pipe_to(&ws, opts).await.unwrap_err();
        assert!(StreamError::same(&e, &boom));
        ws.get_writer().unwrap().write("later").await.unwrap();
    });
    dlog.assert(&["write later"]);
}

#[test]
fn destination_error_cancels_the_source() {
    let slog = common::Log::new();
    let (rs, _c) = recording_source(&slog);
    let boom = StreamError::user("sink broke");
    let b = boom.clone();
    let ws = WritableStream::new(SinkFn::new().start(move |c| {
        c.error(b.clone());
        Completion::ok()
    }))
    .unwrap();
    common::run(async move {
        let e = rs.pipe_to(&ws, PipeOptions::default()).await.unwrap_err();
        assert!(StreamError::same(&e, &boom));
        assert!(!rs.is_readable(), "the source was cancelled");
    });
    assert!(
        slog.entries().contains(&"cancel \"sink broke\"".to_string()),
        "{:?}",
        slog.entries()
    );
}

#[test]
fn prevent_cancel_keeps_the_source_readable_after_a_destination_error() {
    let slog = common::Log::new();
    let (rs, c) = recording_source(&slog);
    let ws = WritableStream::new(SinkFn::new().start(|c| {
        c.error(StreamError::user("nope"));
        Completion::ok()
    }))
    .unwrap();
    common::run(async move {
        let opts = PipeOptions {
            prevent_cancel: true,
            ..Default::default()
        };
        rs.pipe_to(&ws, opts).await.unwrap_err();
        assert!(rs.is_readable());
        ctl(&c).enqueue("still here").unwrap();
        let r = rs.get_reader().unwrap();
        assert_eq!(r.read().await.unwrap(), Some("still here"));
    });
    assert!(!slog.entries().iter().any(|e| e.starts_with("cancel")));
}

#[test]
fn closed_destination_cancels_the_source_with_a_type_error() {
    let slog = common::Log::new();
    let (rs, _c) = recording_source(&slog);
    let dlog = common::Log::new();
    let ws = recording_sink(&dlog, 1.0);
    common::run(async move {
        ws.close().await.unwrap();
        let e = rs.pipe_to(&ws, PipeOptions::default()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
    });
    assert!(
        slog.entries().iter().any(|e| e.starts_with("cancel")),
        "{:?}",
        slog.entries()
    );
}

#[test]
fn piping_a_locked_stream_or_to_a_locked_stream_is_a_type_error() {
    common::run(async {
        let rs = ReadableStream::from_iter(["a"]);
        let ws = WritableStream::new(SinkFn::<&str>::new()).unwrap();
        let reader = rs.get_reader().unwrap();
        let e = rs.pipe_to(&ws, PipeOptions::default()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
        assert!(!ws.locked(), "a failed pipe locks nothing");
        drop(reader);
        let _writer = ws.get_writer().unwrap();
        let e = rs.pipe_to(&ws, PipeOptions::default()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
        assert!(!rs.locked());
    });
}

#[test]
fn abort_signal_aborts_the_destination_and_cancels_the_source_with_its_reason() {
    let (slog, dlog) = (common::Log::new(), common::Log::new());
    let (rs, _c) = recording_source(&slog);
    let ws = recording_sink(&dlog, 1.0);
    let controller = AbortController::new();
    let signal = controller.signal();
    common::run(async move {
        let pipe = rs.pipe_to(
            &ws,
            PipeOptions {
                signal: Some(signal.clone()),
                ..Default::default()
            },
        );
        common::sleep(5).await;
        let reason = StreamError::user("stop");
        controller.abort(Some(reason.clone()));
        let e = pipe.await.unwrap_err();
        assert!(StreamError::same(&e, &reason));
        assert_eq!(signal.pending_algorithms(), 0, "the abort algorithm is removed");
        assert!(!rs.locked() && !ws.locked());
    });
    assert!(
        dlog.entries().contains(&"abort \"stop\"".to_string()),
        "{:?}",
        dlog.entries()
    );
    assert!(
        slog.entries().contains(&"cancel \"stop\"".to_string()),
        "{:?}",
        slog.entries()
    );
}

#[test]
fn an_already_aborted_signal_fails_at_once_with_an_abort_error() {
    let (slog, dlog) = (common::Log::new(), common::Log::new());
    let (rs, _c) = recording_source(&slog);
    let ws = recording_sink(&dlog, 1.0);
    let controller = AbortController::new();
    controller.abort(None);
    common::run(async move {
        let opts = PipeOptions {
            signal: Some(controller.signal()),
            prevent_cancel: true,
            ..Default::default()
        };
        let e = rs.pipe_to(&ws, opts).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Abort);
        assert!(rs.is_readable(), "prevent_cancel leaves the source alone");
    });
    assert!(dlog.entries().iter().any(|e| e.starts_with("abort")));
    assert!(!slog.entries().iter().any(|e| e.starts_with("cancel")));
}

#[test]
fn flow_control_never_reads_past_the_destinations_high_water_mark() {
    // A slow sink with HWM 2 and a source that can always produce: the source is pulled only as
    // the sink frees room, so at most HWM + 1 (in flight) + 1 (being read) chunks exist at once.
    let produced = Arc::new(Mutex::new(0u32));
    let written = Arc::new(Mutex::new(0u32));
    let max_gap = Arc::new(Mutex::new(0u32));
    let (p, w, g) = (produced.clone(), written.clone(), max_gap.clone());
    let rs = ReadableStream::with_strategy(
        SourceFn::new().pull(move |c: &ReadableStreamDefaultController<u32>| -> Completion {
            let mut p = p.lock().unwrap();
            if *p == 50 {
                return c.close().into();
            }
            *p += 1;
            c.enqueue(*p).into()
        }),
        CountQueuingStrategy::new(0.0),
    )
    .unwrap();
    let ws = WritableStream::with_strategy(
        SinkFn::new().write(move |_n: u32, _| {
            let (w, p, g) = (w.clone(), produced.clone(), g.clone());
            Completion::future(async move {
                common::sleep(10).await;
                let done = {
                    let mut w = w.lock().unwrap();
                    *w += 1;
                    *w
                };
                let gap = *p.lock().unwrap() - done;
                let mut g = g.lock().unwrap();
                *g = (*g).max(gap);
                Ok(())
            })
        }),
        CountQueuingStrategy::new(2.0),
    )
    .unwrap();
    common::run(async move {
        rs.pipe_to(&ws, PipeOptions::default()).await.unwrap();
    });
    assert_eq!(*written.lock().unwrap(), 50);
    let gap = *max_gap.lock().unwrap();
    assert!(
        gap <= 4,
        "at most HWM + in-flight chunks ahead of the sink, saw {gap}"
    );
}

#[test]
fn shutdown_waits_for_chunks_already_read_before_aborting() {
    // The sink is slow; the source errors while writes are queued: every chunk read before the
    // error is written before the sink is aborted.
    let dlog = common::Log::new();
    let (l1, l2) = (dlog.clone(), dlog.clone());
    let ws = WritableStream::with_strategy(
        SinkFn::new()
            .write(move |chunk: u32, _| {
                let l = l1.clone();
                Completion::future(async move {
                    common::sleep(10).await;
                    l.push(format!("write {chunk}"));
                    Ok(())
                })
            })
            .abort(move |_r: StreamError| {
                l2.push("abort");
                Completion::ok()
            }),
        CountQueuingStrategy::new(4.0),
    )
    .unwrap();
    let slot: Arc<Mutex<Option<ReadableStreamDefaultController<u32>>>> = Arc::default();
    let s = slot.clone();
    let rs = ReadableStream::with_strategy(
        SourceFn::new().start(move |c| {
            *s.lock().unwrap() = Some(c.clone());
            Completion::ok()
        }),
        CountQueuingStrategy::new(10.0),
    )
    .unwrap();
    common::run(async move {
        let c = slot.lock().unwrap().clone().unwrap();
        for i in 1..=3 {
            c.enqueue(i).unwrap();
        }
        let pipe = rs.pipe_to(&ws, PipeOptions::default());
        let (result, ()) = futures::join!(pipe, async {
            common::sleep(1).await;
            c.error(StreamError::user("late"));
        });
        result.unwrap_err();
    });
    let log = dlog.entries();
    assert_eq!(log.last().map(String::as_str), Some("abort"), "{log:?}");
    assert_eq!(
        log[0], "write 1",
        "the chunk in flight when the error came is written: {log:?}"
    );
}
