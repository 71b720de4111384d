//! WPT `streams/piping/error-propagation-backward.any.js`, ported to the native API: a destination
//! that is or becomes errored cancels the source with the very same error (unless
//! `prevent_cancel`); the pipe fails with that error, or with the cancel's own failure.
//!
//! Not ported: the loops over falsy and truthy JavaScript values for `preventCancel`.

use crate::common;
use crate::piping_support;

use sluicegate::host::HostRef;
use sluicegate::readable::{ReadableStreamDefaultController, SourceFn};
use sluicegate::writable::SinkFn;
use sluicegate::{Completion, PipeOptions, StreamError};

use common::Slot;
use piping_support::*;

fn host() -> HostRef {
    common::host()
}

fn prevent_cancel() -> PipeOptions {
    PipeOptions {
        prevent_cancel: true,
        ..Default::default()
    }
}

/// A recording readable stream that enqueues `chunks` in `start` (and closes if `close`), keeps
/// its cancel reason, and whose cancel fails with `cancel_error` if given.
fn source(
    host: &HostRef,
    chunks: &'static [&'static str],
    close: bool,
    cancel_error: Option<StreamError>,
) -> (Readable<&'static str>, Slot<StreamError>) {
    let reason = Slot::new();
    let r = reason.clone();
    let rs = readable(
        host,
        default(),
        SourceFn::new()
            .start(move |c: &ReadableStreamDefaultController<&'static str>| {
                for chunk in chunks {
                    c.enqueue(chunk).unwrap();
                }
                if close {
                    c.close().unwrap();
                }
            })
            .cancel(move |e| {
                r.set(e);
                match &cancel_error {
                    Some(err) => Completion::err(err.clone()),
                    None => Completion::ok(),
                }
            }),
    );
    (rs, reason)
}

/// Checks the cancel (or its absence) against `error`.
#[track_caller]
fn check_cancel(
    rs: &Readable<&'static str>,
    reason: &Slot<StreamError>,
    cancelled: bool,
    error: &StreamError,
) {
    if cancelled {
        assert_log(rs.events_without_pulls(), &[&format!("cancel {}", show(error))]);
        assert!(
            StreamError::same(&reason.get(), error),
            "the source is cancelled with the destination's very error"
        );
    } else {
        assert!(rs.events_without_pulls().is_empty(), "{:?}", rs.events());
    }
}

#[test]
fn starts_errored_fulfilled_cancel() {
    let host = host();
    let error1 = error("error1");
    let (rs, reason) = source(&host, &[], false, None);
    let e1 = error1.clone();
    let ws = writable(
        &host,
        default(),
        SinkFn::<&'static str>::new().start(move |_| rejected(&e1)),
    );
    common::run(async move {
        assert_rejects_with(
            rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await,
            &error1,
        );
        check_cancel(&rs, &reason, true, &error1);
        assert!(ws.events().is_empty());
    });
}

/// The destination's sink fails every write with `error1`; a write made before the pipe has
/// errored it.
fn errored_before_piping_by_a_write(cancel_error: Option<StreamError>, opts: PipeOptions) {
    let host = host();
    let error1 = error("error1");
    let (rs, reason) = source(&host, &[], false, cancel_error.clone());
    let e1 = error1.clone();
    let ws = writable(
        &host,
        default(),
        SinkFn::new().write(move |_: &'static str, _| Completion::err(e1.clone())),
    );
    let cancels = !opts.prevent_cancel;
    common::run(async move {
        let writer = ws.stream.get_writer().unwrap();
        assert_rejects_with(writer.write("Hello").await, &error1);
        assert_rejects_with(writer.closed().await, &error1);
        writer.release_lock();

        let result = rs.stream.pipe_to(&ws.stream, opts).await;
        assert_rejects_with(result, cancel_error.as_ref().unwrap_or(&error1));
        check_cancel(&rs, &reason, cancels, &error1);
        assert_log(ws.events(), &["write Hello"]);
    });
}

#[test]
fn becomes_errored_before_piping_due_to_write_fulfilled_cancel() {
    errored_before_piping_by_a_write(None, PipeOptions::default());
}

#[test]
fn becomes_errored_before_piping_due_to_write_rejected_cancel() {
    errored_before_piping_by_a_write(Some(error("error2")), PipeOptions::default());
}

#[test]
fn becomes_errored_before_piping_due_to_write_prevent_cancel() {
    errored_before_piping_by_a_write(None, prevent_cancel());
}

#[test]
fn becomes_errored_before_piping_due_to_write_prevent_cancel_and_prevent_abort() {
    errored_before_piping_by_a_write(
        None,
        PipeOptions {
            prevent_abort: true,
            ..prevent_cancel()
        },
    );
}

#[test]
fn becomes_errored_before_piping_due_to_write_prevent_cancel_prevent_abort_and_prevent_close() {
    errored_before_piping_by_a_write(
        None,
        PipeOptions {
            prevent_abort: true,
            prevent_close: true,
            ..prevent_cancel()
        },
    );
}

/// The sink's `write` fails synchronously (`throw error1`) for the first chunk.
fn errored_during_piping_by_a_write(cancel_error: Option<StreamError>, opts: PipeOptions) {
    let host = host();
    let error1 = error("error1");
    let (rs, reason) = source(&host, &["Hello"], false, cancel_error.clone());
    let e1 = error1.clone();
    let ws = writable(
        &host,
        default(),
        SinkFn::new().write(move |_: &'static str, _| Completion::err(e1.clone())),
    );
    let cancels = !opts.prevent_cancel;
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, opts).await;
        assert_rejects_with(result, cancel_error.as_ref().unwrap_or(&error1));
        check_cancel(&rs, &reason, cancels, &error1);
        assert_log(ws.events(), &["write Hello"]);
    });
}

#[test]
fn becomes_errored_during_piping_due_to_write_fulfilled_cancel() {
    errored_during_piping_by_a_write(None, PipeOptions::default());
}

#[test]
fn becomes_errored_during_piping_due_to_write_rejected_cancel() {
    errored_during_piping_by_a_write(Some(error("error2")), PipeOptions::default());
}

#[test]
fn becomes_errored_during_piping_due_to_write_prevent_cancel() {
    errored_during_piping_by_a_write(None, prevent_cancel());
}

/// The second write fails asynchronously (`delay(0).then(() => { throw error1 })`).
fn errored_during_piping_by_an_async_write(cancel_error: Option<StreamError>, opts: PipeOptions) {
    let host = host();
    let error1 = error("error1");
    let (rs, reason) = source(&host, &["a", "b", "c"], false, cancel_error.clone());
    let e1 = error1.clone();
    let writes = common::Calls::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        default(),
        SinkFn::new().write(move |_: &'static str, _| {
            w.hit();
            if w.count() > 1 {
                let e = e1.clone();
                later(0, move || Err(e))
            } else {
                Completion::ok()
            }
        }),
    );
    let cancels = !opts.prevent_cancel;
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, opts).await;
        assert_rejects_with(result, cancel_error.as_ref().unwrap_or(&error1));
        check_cancel(&rs, &reason, cancels, &error1);
        assert_log(ws.events(), &["write a", "write b"]);
    });
}

#[test]
fn becomes_errored_during_piping_due_to_async_write_fulfilled_cancel() {
    errored_during_piping_by_an_async_write(None, PipeOptions::default());
}

#[test]
fn becomes_errored_during_piping_due_to_async_write_rejected_cancel() {
    errored_during_piping_by_an_async_write(Some(error("error2")), PipeOptions::default());
}

#[test]
fn becomes_errored_during_piping_due_to_async_write_prevent_cancel() {
    errored_during_piping_by_an_async_write(None, prevent_cancel());
}

/// The destination's controller errors it 10 ms after the pipe started.
fn errored_after_piping(dest_hwm: Option<f64>, cancel_error: Option<StreamError>, opts: PipeOptions) {
    let host = host();
    let error1 = error("error1");
    let (rs, reason) = source(&host, &[], false, cancel_error.clone());
    let ws = writable(
        &host,
        dest_hwm.map_or_else(default, hwm),
        SinkFn::<&'static str>::new(),
    );
    let cancels = !opts.prevent_cancel;
    let (controller, e1) = (ws.controller.clone(), error1.clone());
    common::run(async move {
        let pipe = rs.stream.pipe_to(&ws.stream, opts);
        let (result, ()) = futures::join!(pipe, async {
            common::sleep(10).await;
            controller.error(e1);
        });
        assert_rejects_with(result, cancel_error.as_ref().unwrap_or(&error1));
        check_cancel(&rs, &reason, cancels, &error1);
        assert!(ws.events().is_empty(), "{:?}", ws.events());
    });
}

#[test]
fn becomes_errored_after_piping_fulfilled_cancel() {
    errored_after_piping(None, None, PipeOptions::default());
}

#[test]
fn becomes_errored_after_piping_rejected_cancel() {
    errored_after_piping(None, Some(error("error2")), PipeOptions::default());
}

#[test]
fn becomes_errored_after_piping_prevent_cancel() {
    errored_after_piping(None, None, prevent_cancel());
}

#[test]
fn becomes_errored_after_piping_dest_never_desires_chunks_fulfilled_cancel() {
    errored_after_piping(Some(0.0), None, PipeOptions::default());
}

#[test]
fn becomes_errored_after_piping_dest_never_desires_chunks_rejected_cancel() {
    errored_after_piping(Some(0.0), Some(error("error2")), PipeOptions::default());
}

#[test]
fn becomes_errored_after_piping_dest_never_desires_chunks_prevent_cancel() {
    errored_after_piping(Some(0.0), None, prevent_cancel());
}

/// The write of the last chunk fails after the source has closed: the source cannot be cancelled
/// any more, so cancel is never called.
fn errored_by_the_last_write_of_a_closed_source(opts: PipeOptions) {
    let host = host();
    let error1 = error("error1");
    let (rs, reason) = source(&host, &["a", "b", "c"], true, None);
    let e1 = error1.clone();
    let ws = writable(
        &host,
        default(),
        SinkFn::new().write(move |chunk: &'static str, _| {
            if chunk == "c" {
                rejected(&e1)
            } else {
                Completion::ok()
            }
        }),
    );
    common::run(async move {
        assert_rejects_with(rs.stream.pipe_to(&ws.stream, opts).await, &error1);
        check_cancel(&rs, &reason, false, &error1);
        assert!(!reason.is_set());
        assert_log(ws.events(), &["write a", "write b", "write c"]);
    });
}

#[test]
fn becomes_errored_by_the_last_write_source_is_closed_cancel_is_never_called() {
    errored_by_the_last_write_of_a_closed_source(PipeOptions::default());
}

#[test]
fn becomes_errored_by_the_last_write_source_is_closed_prevent_cancel() {
    errored_by_the_last_write_of_a_closed_source(prevent_cancel());
}

/// `ws.abort(error1)` before the pipe starts.
fn errored_before_piping_via_abort(cancel_error: Option<StreamError>, opts: PipeOptions) {
    let host = host();
    let error1 = error("error1");
    let (rs, reason) = source(&host, &[], false, cancel_error.clone());
    let ws = plain_writable::<&'static str>(&host);
    let cancels = !opts.prevent_cancel;
    let _abort = ws.stream.abort(error1.clone());
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, opts).await;
        assert_rejects_with(result, cancel_error.as_ref().unwrap_or(&error1));
        assert_rejects_with(ws.stream.get_writer().unwrap().closed().await, &error1);
        check_cancel(&rs, &reason, cancels, &error1);
        assert_log(ws.events(), &["abort error1"]);
    });
}

#[test]
fn becomes_errored_before_piping_via_abort_fulfilled_cancel() {
    errored_before_piping_via_abort(None, PipeOptions::default());
}

#[test]
fn becomes_errored_before_piping_via_abort_rejected_cancel() {
    errored_before_piping_via_abort(Some(error("error2")), PipeOptions::default());
}

#[test]
fn becomes_errored_before_piping_via_abort_prevent_cancel() {
    errored_before_piping_via_abort(None, prevent_cancel());
}

#[test]
fn erroring_via_the_controller_errors_once_the_pending_write_completes() {
    let host = host();
    let error1 = error("error1");
    let (rs, reason) = source(&host, &[], false, None);
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        default(),
        SinkFn::new().write(move |_: &'static str, _| w.completion()),
    );
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        rs.controller.enqueue("a").unwrap();
        common::flush(&host);
        assert_eq!(writes.len(), 1, "write was called");
        ws.controller.error(error1.clone());
        common::flush(&host);
        assert!(
            is_pending(&pipe),
            "the destination errors only once the write in flight is done"
        );
        assert!(rs.events_without_pulls().is_empty(), "not cancelled yet");
        writes.resolve();
        assert_rejects_with((&mut pipe).await, &error1);
        check_cancel(&rs, &reason, true, &error1);
        assert_log(ws.events(), &["write a"]);
    });
}

// Native additions.

#[test]
fn prevent_cancel_leaves_unread_chunks_in_the_source() {
    let host = host();
    let error1 = error("error1");
    let (rs, _) = source(&host, &["a", "b", "c"], true, None);
    let e1 = error1.clone();
    let ws = writable(
        &host,
        default(),
        SinkFn::new().write(move |_: &'static str, _| Completion::err(e1.clone())),
    );
    common::run(async move {
        assert_rejects_with(rs.stream.pipe_to(&ws.stream, prevent_cancel()).await, &error1);
        assert_log(ws.events(), &["write a"]);
        // "a" was read and written; what the pipe had not read stays in the source.
        let rest = common::read_all(&rs.stream).await.unwrap();
        assert_eq!(rest, ["b", "c"]);
    });
}

#[test]
fn prevent_cancel_releases_a_pending_read_so_later_chunks_stay_in_the_source() {
    let host = host();
    let error1 = error("error1");
    let rs = readable(&host, hwm(0.0), SourceFn::<&'static str>::new());
    let ws = plain_writable::<&'static str>(&host);
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, prevent_cancel());
        common::flush(&host);
        // The pipe waits in a read; the destination fails meanwhile.
        ws.controller.error(error1.clone());
        assert_rejects_with((&mut pipe).await, &error1);
        assert!(
            !rs.stream.locked(),
            "finalize released the reader, failing its pending read"
        );
        rs.controller.enqueue("later").unwrap();
        let reader = rs.stream.get_reader().unwrap();
        assert_eq!(
            reader.read().await.unwrap(),
            Some("later"),
            "the chunk was not swallowed"
        );
        assert!(ws.events().is_empty());
    });
}
