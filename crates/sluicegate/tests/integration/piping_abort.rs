//! WPT `streams/piping/abort.any.js`, ported to the native API: piping with an abort signal.
//!
//! The reasons WPT loops over (`null`, `undefined`, `error1`) become `Some(error1)`, `None` and the
//! `undefined` reason; `null` has no native counterpart distinct from a user reason.
//!
//! Not ported: invalid `signal` values (JavaScript-only), and the teed *byte* stream case, which
//! is ported with a default stream instead (sluicegate has no byte streams yet).

use crate::common;
use crate::piping_support;

use sluicegate::host::HostRef;
use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{AbortController, AbortSignal, Completion, ErrorKind, PipeOptions, StreamError};

use common::Slot;
use piping_support::*;

fn host() -> HostRef {
    common::host()
}

fn with_signal(signal: &AbortSignal) -> PipeOptions {
    PipeOptions {
        signal: Some(signal.clone()),
        ..Default::default()
    }
}

/// WPT's `recordingReadableStream(errorOnPull, hwm0)`: pulling would error the stream, so a pipe
/// that is not aborted fails with "failed to abort". The cancel reason is kept in the slot.
fn error_on_pull(host: &HostRef) -> (Readable<&'static str>, Slot<StreamError>) {
    let cancel_reason = Slot::new();
    let c = cancel_reason.clone();
    let rs = readable(
        host,
        hwm(0.0),
        SourceFn::new()
            .pull(|controller| controller.error(error("failed to abort")))
            .cancel(move |reason| c.set(reason)),
    );
    (rs, cancel_reason)
}

fn aborted(reason: Option<StreamError>) -> (AbortController, AbortSignal) {
    let controller = AbortController::new();
    let signal = controller.signal();
    controller.abort(reason);
    (controller, signal)
}

/// Checks that `result` failed with the abort reason the signal got from `reason`, and returns it.
#[track_caller]
fn expect_abort_reason(result: Result<(), StreamError>, reason: &Option<StreamError>) -> StreamError {
    match reason {
        Some(r) if r.kind() != ErrorKind::Undefined => {
            assert_rejects_with(result.clone(), r);
            r.clone()
        }
        _ => assert_rejects_kind(result, ErrorKind::Abort),
    }
}

#[test]
fn an_aborted_signal_rejects_with_an_abort_error_and_aborts_the_writable() {
    let host = host();
    let (rs, cancel_reason) = error_on_pull(&host);
    let ws = WritableStream::with_host(SinkFn::<&'static str>::new(), default(), host.clone()).unwrap();
    let (_ac, signal) = aborted(None);
    common::run(async move {
        let e = assert_rejects_kind(
            rs.stream.pipe_to(&ws, with_signal(&signal)).await,
            ErrorKind::Abort,
        );
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        let closed = ws.get_writer().unwrap().closed().await;
        assert_rejects_with(closed, &e);
        assert_log(rs.events(), &["cancel AbortError"]);
        assert!(
            StreamError::same(&cancel_reason.get(), &e),
            "cancelled with the AbortError"
        );
        assert_eq!(signal.pending_algorithms(), 0);
    });
}

fn all_error_objects_are_the_same(reason: Option<StreamError>) {
    let host = host();
    let (rs, cancel_reason) = error_on_pull(&host);
    let ws = WritableStream::with_host(SinkFn::<&'static str>::new(), default(), host.clone()).unwrap();
    let (_ac, signal) = aborted(reason.clone());
    common::run(async move {
        let result = rs.stream.pipe_to(&ws, with_signal(&signal)).await;
        let error = expect_abort_reason(result, &reason);
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        let closed = ws.get_writer().unwrap().closed().await;
        assert_rejects_with(closed, &error);
        assert!(
            StreamError::same(&signal.reason().unwrap(), &error),
            "signal.reason is the error"
        );
        assert_eq!(
            rs.events().len(),
            1,
            "cancel should have been called: {:?}",
            rs.events()
        );
        assert!(
            StreamError::same(&cancel_reason.get(), &error),
            "the readable is cancelled with the same object"
        );
    });
}

#[test]
fn all_the_error_objects_are_the_same_reason_error1() {
    all_error_objects_are_the_same(Some(error("error1")));
}

#[test]
fn all_the_error_objects_are_the_same_no_reason() {
    all_error_objects_are_the_same(None);
}

#[test]
fn all_the_error_objects_are_the_same_undefined_reason() {
    all_error_objects_are_the_same(Some(StreamError::undefined()));
}

#[test]
fn prevent_cancel_prevents_cancelling_the_readable() {
    let host = host();
    let (rs, _) = error_on_pull(&host);
    let ws = WritableStream::with_host(SinkFn::<&'static str>::new(), default(), host.clone()).unwrap();
    let (_ac, signal) = aborted(None);
    common::run(async move {
        let opts = PipeOptions {
            prevent_cancel: true,
            ..with_signal(&signal)
        };
        assert_rejects_kind(rs.stream.pipe_to(&ws, opts).await, ErrorKind::Abort);
        assert!(
            rs.events().is_empty(),
            "cancel should not be called: {:?}",
            rs.events()
        );
        assert!(rs.stream.is_readable() && !rs.stream.locked());
    });
}

#[test]
fn prevent_abort_prevents_aborting_the_writable() {
    let host = host();
    let (rs, _) = error_on_pull(&host);
    let ws = plain_writable::<&'static str>(&host);
    let (_ac, signal) = aborted(None);
    common::run(async move {
        let opts = PipeOptions {
            prevent_abort: true,
            ..with_signal(&signal)
        };
        assert_rejects_kind(rs.stream.pipe_to(&ws.stream, opts).await, ErrorKind::Abort);
        assert!(
            ws.events().is_empty(),
            "the writable should not have been aborted"
        );
        ws.stream.get_writer().unwrap().ready().await.unwrap();
        assert_log(rs.events(), &["cancel AbortError"]);
    });
}

#[test]
fn prevent_cancel_and_prevent_abort_prevent_both() {
    let host = host();
    let (rs, _) = error_on_pull(&host);
    let ws = plain_writable::<&'static str>(&host);
    let (_ac, signal) = aborted(None);
    common::run(async move {
        let opts = PipeOptions {
            prevent_cancel: true,
            prevent_abort: true,
            ..with_signal(&signal)
        };
        assert_rejects_kind(rs.stream.pipe_to(&ws.stream, opts).await, ErrorKind::Abort);
        assert!(rs.events().is_empty(), "cancel should not be called");
        assert!(
            ws.events().is_empty(),
            "the writable should not have been aborted"
        );
        ws.stream.get_writer().unwrap().ready().await.unwrap();
        assert_eq!(signal.pending_algorithms(), 0);
    });
}

fn abort_prevents_further_reads(reason: Option<StreamError>) {
    let host = host();
    let rs = ReadableStream::with_host(
        SourceFn::new().start(|c| {
            c.enqueue("a").unwrap();
            c.enqueue("b").unwrap();
            c.close().unwrap();
        }),
        default(),
        host.clone(),
    )
    .unwrap();
    let ac = AbortController::new();
    let signal = ac.signal();
    let (a, r) = (ac.clone(), reason.clone());
    let abort_reason = Slot::new();
    let ar = abort_reason.clone();
    let ws = writable(
        &host,
        default(),
        SinkFn::new()
            .write(move |_: &'static str, _| a.abort(r.clone()))
            .abort(move |e| ar.set(e)),
    );
    common::run(async move {
        let result = rs.pipe_to(&ws.stream, with_signal(&signal)).await;
        let error = expect_abort_reason(result, &reason);
        assert!(StreamError::same(&signal.reason().unwrap(), &error));
        assert_eq!(ws.events().len(), 2, "only chunk \"a\" should have been written");
        assert_log(ws.events(), &["write a", &format!("abort {}", show(&error))]);
        assert!(
            StreamError::same(&abort_reason.get(), &error),
            "the abort reason is the error"
        );
        assert_eq!(signal.pending_algorithms(), 0);
    });
}

#[test]
fn abort_prevents_further_reads_reason_error1() {
    abort_prevents_further_reads(Some(error("error1")));
}

#[test]
fn abort_prevents_further_reads_no_reason() {
    abort_prevents_further_reads(None);
}

#[test]
fn abort_prevents_further_reads_undefined_reason() {
    abort_prevents_further_reads(Some(StreamError::undefined()));
}

fn pending_writes_complete_on_abort(reason: Option<StreamError>) {
    let host = host();
    let rs = readable_with(&host, &["a", "b"], false);
    let ac = AbortController::new();
    let signal = ac.signal();
    let gate = Gate::new();
    let g = gate.clone();
    let abort_reason = Slot::new();
    let ar = abort_reason.clone();
    let ws = writable(
        &host,
        hwm(f64::INFINITY),
        SinkFn::new()
            .write(move |_: &'static str, _| g.completion())
            .abort(move |e| ar.set(e)),
    );
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, with_signal(&signal));
        common::sleep(0).await;
        common::flush(&host);
        ac.abort(reason.clone());
        rs.controller.close().unwrap();
        gate.open();
        common::flush(&host);
        let result = (&mut pipe).await;
        let error = expect_abort_reason(result, &reason);
        assert!(StreamError::same(&signal.reason().unwrap(), &error));
        assert_log(
            ws.events(),
            &["write a", "write b", &format!("abort {}", show(&error))],
        );
        assert!(StreamError::same(&abort_reason.get(), &error));
    });
}

#[test]
fn all_pending_writes_complete_on_abort_reason_error1() {
    pending_writes_complete_on_abort(Some(error("error1")));
}

#[test]
fn all_pending_writes_complete_on_abort_no_reason() {
    pending_writes_complete_on_abort(None);
}

#[test]
fn all_pending_writes_complete_on_abort_undefined_reason() {
    pending_writes_complete_on_abort(Some(StreamError::undefined()));
}

fn source_cancel_is_called_on_abort_even_with_a_pending_pull(reason: Option<StreamError>) {
    let host = host();
    let pulls = Resolvers::new();
    let (p1, p2) = (pulls.clone(), pulls.clone());
    let rs = readable(
        &host,
        default(),
        SourceFn::<&'static str>::new()
            .pull(move |_| p1.completion())
            .cancel(move |reason| {
                // The pending pull races the cancellation and loses.
                while p2.len() > 0 {
                    p2.reject(&reason);
                }
            }),
    );
    let ws = WritableStream::with_host(SinkFn::<&'static str>::new(), default(), host.clone()).unwrap();
    let ac = AbortController::new();
    let signal = ac.signal();
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws, with_signal(&signal));
        common::sleep(0).await;
        common::flush(&host);
        assert_eq!(pulls.len(), 1, "a pull is pending");
        ac.abort(reason.clone());
        if pulls.len() > 0 {
            pulls.reject(&error("should not catch pull rejection"));
        }
        common::flush(&host);
        let events = rs.events_without_pulls();
        assert_eq!(events.len(), 1, "cancel should have been called: {events:?}");
        assert!(events[0].starts_with("cancel "), "{events:?}");
        let error = expect_abort_reason((&mut pipe).await, &reason);
        assert_eq!(events[0], format!("cancel {}", show(&error)));
    });
}

#[test]
fn source_cancel_is_called_on_abort_even_with_a_pending_pull_reason_error1() {
    source_cancel_is_called_on_abort_even_with_a_pending_pull(Some(error("error1")));
}

#[test]
fn source_cancel_is_called_on_abort_even_with_a_pending_pull_no_reason() {
    source_cancel_is_called_on_abort_even_with_a_pending_pull(None);
}

#[test]
fn source_cancel_is_called_on_abort_even_with_a_pending_pull_undefined_reason() {
    source_cancel_is_called_on_abort_even_with_a_pending_pull(Some(StreamError::undefined()));
}

#[test]
fn a_rejection_from_the_source_cancel_is_returned_by_the_pipe() {
    let host = host();
    let error1 = error("error1");
    let e1 = error1.clone();
    let rs = ReadableStream::with_host(
        SourceFn::<&'static str>::new()
            .pull(|c| c.error(error("failed to abort")))
            .cancel(move |_| Completion::err(e1.clone())),
        hwm(0.0),
        host.clone(),
    )
    .unwrap();
    let ws = WritableStream::with_host(SinkFn::<&'static str>::new(), default(), host.clone()).unwrap();
    let (_ac, signal) = aborted(None);
    common::run(async move {
        assert_rejects_with(rs.pipe_to(&ws, with_signal(&signal)).await, &error1);
    });
}

#[test]
fn a_rejection_from_the_sink_abort_is_returned_by_the_pipe() {
    let host = host();
    let error1 = error("error1");
    let e1 = error1.clone();
    let rs = ReadableStream::with_host(
        SourceFn::<&'static str>::new().pull(|c| c.error(error("failed to abort"))),
        hwm(0.0),
        host.clone(),
    )
    .unwrap();
    let ws = WritableStream::with_host(
        SinkFn::<&'static str>::new().abort(move |_| Completion::err(e1.clone())),
        default(),
        host.clone(),
    )
    .unwrap();
    let (_ac, signal) = aborted(None);
    common::run(async move {
        assert_rejects_with(rs.pipe_to(&ws, with_signal(&signal)).await, &error1);
    });
}

#[test]
fn a_rejection_from_the_sink_abort_is_preferred_to_one_from_the_source_cancel() {
    let host = host();
    let (error1, error2) = (error("error1"), error("error2"));
    let events = common::Log::new();
    let (l1, l2, e1, e2) = (events.clone(), events.clone(), error1.clone(), error2.clone());
    let rs = ReadableStream::with_host(
        SourceFn::<&'static str>::new()
            .pull(|c| c.error(error("failed to abort")))
            .cancel(move |_| {
                l1.push("cancel");
                Completion::err(e1.clone())
            }),
        hwm(0.0),
        host.clone(),
    )
    .unwrap();
    let ws = WritableStream::with_host(
        SinkFn::<&'static str>::new().abort(move |_| {
            l2.push("abort");
            Completion::err(e2.clone())
        }),
        default(),
        host.clone(),
    )
    .unwrap();
    let (_ac, signal) = aborted(None);
    common::run(async move {
        assert_rejects_with(rs.pipe_to(&ws, with_signal(&signal)).await, &error2);
        events.assert(&["abort", "cancel"]);
    });
}

#[test]
fn the_abort_signal_takes_priority_over_a_closed_readable() {
    let host = host();
    let rs = readable_with::<&'static str>(&host, &[], true);
    let ws = plain_writable::<&'static str>(&host);
    let (_ac, signal) = aborted(None);
    common::run(async move {
        let e = assert_rejects_kind(
            rs.stream.pipe_to(&ws.stream, with_signal(&signal)).await,
            ErrorKind::Abort,
        );
        assert_log(ws.events(), &["abort AbortError"]);
        assert_rejects_with(ws.stream.get_writer().unwrap().closed().await, &e);
    });
}

#[test]
fn the_abort_signal_takes_priority_over_an_errored_readable() {
    let host = host();
    let rs = readable(
        &host,
        default(),
        SourceFn::<&'static str>::new().start(|c| c.error(error("error1"))),
    );
    let ws = plain_writable::<&'static str>(&host);
    let (_ac, signal) = aborted(None);
    common::run(async move {
        assert_rejects_kind(
            rs.stream.pipe_to(&ws.stream, with_signal(&signal)).await,
            ErrorKind::Abort,
        );
        assert_log(ws.events(), &["abort AbortError"]);
    });
}

#[test]
fn the_abort_signal_takes_priority_over_a_closed_writable() {
    let host = host();
    let (rs, _) = error_on_pull(&host);
    let ws = plain_writable::<&'static str>(&host);
    let (_ac, signal) = aborted(None);
    common::run(async move {
        let writer = ws.stream.get_writer().unwrap();
        writer.close().await.unwrap();
        writer.release_lock();
        assert_rejects_kind(
            rs.stream.pipe_to(&ws.stream, with_signal(&signal)).await,
            ErrorKind::Abort,
        );
        assert_log(ws.events(), &["close"]);
        assert_log(rs.events(), &["cancel AbortError"]);
    });
}

#[test]
fn the_abort_signal_takes_priority_over_an_errored_writable() {
    let host = host();
    let (rs, _) = error_on_pull(&host);
    let ws = writable(
        &host,
        default(),
        SinkFn::<&'static str>::new().start(|c| c.error(error("error1"))),
    );
    let (_ac, signal) = aborted(None);
    common::run(async move {
        assert_rejects_kind(
            rs.stream.pipe_to(&ws.stream, with_signal(&signal)).await,
            ErrorKind::Abort,
        );
        assert!(ws.events().is_empty(), "{:?}", ws.events());
        assert_log(rs.events(), &["cancel AbortError"]);
    });
}

#[test]
fn abort_does_nothing_after_the_readable_is_closed() {
    let host = host();
    let rs = readable(&host, default(), SourceFn::<&'static str>::new());
    let ws = plain_writable::<&'static str>(&host);
    let ac = AbortController::new();
    let signal = ac.signal();
    common::run(async move {
        let opts = PipeOptions {
            prevent_close: true,
            ..with_signal(&signal)
        };
        let mut pipe = rs.stream.pipe_to(&ws.stream, opts);
        rs.controller.close().unwrap();
        // One microtask later (`Promise.resolve().then(...)`): the pipe has seen the close.
        common::flush(&host);
        ac.abort(None);
        (&mut pipe).await.unwrap();
        assert_eq!(signal.pending_algorithms(), 0, "the abort algorithm was removed");
        ws.stream
            .get_writer()
            .unwrap()
            .write("this should succeed")
            .await
            .unwrap();
        assert_log(ws.events(), &["write this should succeed"]);
    });
}

#[test]
fn abort_does_nothing_after_the_readable_is_errored() {
    let host = host();
    let rs = readable(&host, default(), SourceFn::<&'static str>::new());
    let ws = plain_writable::<&'static str>(&host);
    let ac = AbortController::new();
    let signal = ac.signal();
    let error1 = error("error1");
    common::run(async move {
        let opts = PipeOptions {
            prevent_abort: true,
            ..with_signal(&signal)
        };
        let mut pipe = rs.stream.pipe_to(&ws.stream, opts);
        rs.controller.error(error1.clone());
        common::flush(&host);
        ac.abort(None);
        assert_rejects_with((&mut pipe).await, &error1);
        ws.stream
            .get_writer()
            .unwrap()
            .write("this should succeed")
            .await
            .unwrap();
        assert_log(ws.events(), &["write this should succeed"]);
    });
}

#[test]
fn abort_does_nothing_after_the_readable_is_errored_even_with_pending_writes() {
    let host = host();
    let rs = readable(&host, default(), SourceFn::<&'static str>::new());
    let error1 = error("error1");
    let writes = Resolvers::new();
    let (w, rc, e1) = (writes.clone(), rs.controller.clone(), error1.clone());
    let ws = writable(
        &host,
        default(),
        SinkFn::new().write(move |_: &'static str, _| {
            rc.error(e1.clone());
            w.completion()
        }),
    );
    let ac = AbortController::new();
    let signal = ac.signal();
    common::run(async move {
        let opts = PipeOptions {
            prevent_abort: true,
            ..with_signal(&signal)
        };
        let mut pipe = rs.stream.pipe_to(&ws.stream, opts);
        rs.controller.enqueue("a").unwrap();
        common::sleep(0).await;
        common::flush(&host);
        assert_eq!(writes.len(), 1, "the write of \"a\" is pending");
        ac.abort(None);
        writes.resolve();
        assert_rejects_with((&mut pipe).await, &error1);
        let writer = ws.stream.get_writer().unwrap();
        let second = writer.write("this should succeed");
        common::flush(&host);
        writes.resolve();
        second.await.unwrap();
        assert_log(ws.events(), &["write a", "write this should succeed"]);
    });
}

#[test]
fn abort_does_nothing_after_the_writable_is_errored() {
    let host = host();
    let rs = readable(
        &host,
        default(),
        SourceFn::<&'static str>::new().pull(|c| {
            let c = c.clone();
            later(1, move || c.close())
        }),
    );
    let ws = writable(&host, default(), SinkFn::<&'static str>::new());
    let ac = AbortController::new();
    let signal = ac.signal();
    let error1 = error("error1");
    common::run(async move {
        let opts = PipeOptions {
            prevent_cancel: true,
            ..with_signal(&signal)
        };
        let mut pipe = rs.stream.pipe_to(&ws.stream, opts);
        common::flush(&host);
        ws.controller.error(error1.clone());
        common::flush(&host);
        ac.abort(None);
        assert_rejects_with((&mut pipe).await, &error1);
        assert_log(rs.events(), &["pull"]);
        assert!(!rs.stream.locked(), "the reader was released");
    });
}

#[test]
fn a_pipe_from_a_tee_branch_is_aborted_only_once_both_branches_are_cancelled() {
    let host = host();
    let rs =
        ReadableStream::with_host(SourceFn::new().pull(|c| c.enqueue(0u8)), default(), host.clone()).unwrap();
    let (first, second) = rs.tee().unwrap();
    let ws = WritableStream::with_host(SinkFn::<u8>::new(), default(), host.clone()).unwrap();
    let signal = AbortSignal::abort(None);
    common::run(async move {
        let mut pipe = first.pipe_to(&ws, with_signal(&signal));
        common::sleep(0).await;
        common::flush(&host);
        assert!(is_pending(&pipe), "the pipe waits for the tee's cancellation");
        second.cancel(StreamError::undefined()).await.unwrap();
        common::flush(&host);
        assert!(!is_pending(&pipe), "the pipe is aborted now");
        assert_rejects_kind((&mut pipe).await, ErrorKind::Abort);
    });
}

// Native additions: the abort algorithm is removed once the pipe finishes, however it finishes.

#[test]
fn the_abort_algorithm_is_removed_when_the_pipe_completes() {
    let host = host();
    let rs = readable_with(&host, &["a"], true);
    let ws = plain_writable::<&'static str>(&host);
    let ac = AbortController::new();
    let signal = ac.signal();
    common::run(async move {
        let pipe = rs.stream.pipe_to(&ws.stream, with_signal(&signal));
        assert_eq!(
            signal.pending_algorithms(),
            1,
            "the pipe added its abort algorithm"
        );
        pipe.await.unwrap();
        assert_eq!(signal.pending_algorithms(), 0, "finalize removed it");
        ac.abort(None);
        assert_log(ws.events(), &["write a", "close"]);
        assert!(rs.events_without_pulls().is_empty());
    });
}

#[test]
fn the_abort_algorithm_is_removed_when_the_pipe_fails() {
    let host = host();
    let error1 = error("error1");
    let rs = readable(&host, default(), SourceFn::<&'static str>::new());
    let ws = plain_writable::<&'static str>(&host);
    let signal = AbortController::new().signal();
    common::run(async move {
        let pipe = rs.stream.pipe_to(&ws.stream, with_signal(&signal));
        assert_eq!(signal.pending_algorithms(), 1);
        rs.controller.error(error1.clone());
        assert_rejects_with(pipe.await, &error1);
        assert_eq!(signal.pending_algorithms(), 0);
        assert_log(ws.events(), &["abort error1"]);
    });
}

#[test]
fn abort_during_a_pipe_reports_the_reason_to_abort_cancel_and_the_pipe() {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let ws = plain_writable::<&'static str>(&host);
    let ac = AbortController::new();
    let signal = ac.signal();
    let reason = error("stop");
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, with_signal(&signal));
        rs.controller.enqueue("a").unwrap();
        common::sleep(5).await;
        common::flush(&host);
        assert_log(ws.events(), &["write a"]);
        ac.abort(Some(reason.clone()));
        assert_rejects_with((&mut pipe).await, &reason);
        assert_log(ws.events(), &["write a", "abort stop"]);
        assert_log(rs.events_without_pulls(), &["cancel stop"]);
        assert!(!rs.stream.locked() && !ws.stream.locked());
        assert_eq!(signal.pending_algorithms(), 0);
    });
}

#[test]
fn a_chunk_read_while_shutting_down_is_written_before_the_destination_is_aborted() {
    let host = host();
    let rs = readable(&host, hwm(0.0), SourceFn::<&'static str>::new());
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        hwm(2.0),
        SinkFn::new().write(move |_: &'static str, _| w.completion()),
    );
    let ac = AbortController::new();
    let signal = ac.signal();
    common::run(async move {
        let opts = PipeOptions {
            prevent_cancel: true,
            ..with_signal(&signal)
        };
        let mut pipe = rs.stream.pipe_to(&ws.stream, opts);
        common::flush(&host);
        rs.controller.enqueue("a").unwrap();
        common::flush(&host);
        // "a" is in flight and the pipe has a read pending for the next chunk.
        assert_log(ws.events(), &["write a"]);
        ac.abort(Some(error("stop")));
        common::flush(&host);
        // The pending read completes during the shutdown: that chunk has been read, so it is
        // written before the action.
        rs.controller.enqueue("b").unwrap();
        common::flush(&host);
        assert!(is_pending(&pipe));
        writes.resolve();
        common::flush(&host);
        assert_log(ws.events(), &["write a", "write b"]);
        writes.resolve();
        assert_rejects_kind((&mut pipe).await, ErrorKind::User);
        assert_log(ws.events(), &["write a", "write b", "abort stop"]);
        assert!(rs.events_without_pulls().is_empty(), "prevent_cancel");
        assert!(rs.stream.is_readable() && !rs.stream.locked());
    });
}

#[test]
fn aborting_from_another_thread_stops_a_pipe_awaited_on_this_one() {
    let rs = ReadableStream::new(SourceFn::<u32>::new()).unwrap();
    let log = common::Log::new();
    let l = log.clone();
    let ws = WritableStream::new(SinkFn::<u32>::new().abort(move |e| l.push(format!("abort {}", show(&e)))))
        .unwrap();
    let ac = AbortController::new();
    let signal = ac.signal();
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let result = futures::executor::block_on(rs.pipe_to(&ws, with_signal(&signal)));
        tx.send((result, rs.locked(), ws.locked())).unwrap();
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    let reason = error("from afar");
    ac.abort(Some(reason.clone()));
    let (result, rs_locked, ws_locked) = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the pipe settles once the signal is aborted");
    worker.join().unwrap();
    assert_rejects_with(result, &reason);
    assert!(!rs_locked && !ws_locked);
    log.assert(&["abort from afar"]);
}
