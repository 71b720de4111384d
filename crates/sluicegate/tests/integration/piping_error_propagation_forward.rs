//! WPT `streams/piping/error-propagation-forward.any.js`, ported to the native API: a source that
//! is or becomes errored aborts the destination with the very same error (unless
//! `prevent_abort`), only after every chunk already read has been written; the pipe fails with
//! that error, or with the abort's own failure.
//!
//! Not ported: the loops over falsy and truthy JavaScript values for `preventAbort`.

use crate::common;
use crate::piping_support;

use sluicegate::host::HostRef;
use sluicegate::readable::SourceFn;
use sluicegate::writable::SinkFn;
use sluicegate::{Completion, PipeOptions, StreamError};

use common::Slot;
use piping_support::*;

fn host() -> HostRef {
    common::host()
}

fn prevent_abort() -> PipeOptions {
    PipeOptions {
        prevent_abort: true,
        ..Default::default()
    }
}

/// A recording readable stream whose `start` returns a promise rejected with `e`.
fn starts_errored(host: &HostRef, e: &StreamError) -> Readable<&'static str> {
    let e = e.clone();
    readable(host, default(), SourceFn::new().start(move |_| rejected(&e)))
}

/// A recording writable stream that keeps the reason its sink's `abort` got, and whose `abort`
/// fails with `abort_error` if given.
fn dest(
    host: &HostRef,
    dest_hwm: Option<f64>,
    abort_error: Option<StreamError>,
) -> (Writable<&'static str>, Slot<StreamError>) {
    let reason = Slot::new();
    let r = reason.clone();
    let ws = writable(
        host,
        dest_hwm.map_or_else(default, hwm),
        SinkFn::new().abort(move |e| {
            r.set(e);
            match &abort_error {
                Some(err) => Completion::err(err.clone()),
                None => Completion::ok(),
            }
        }),
    );
    (ws, reason)
}

fn starts_errored_case(abort_error: Option<StreamError>, opts: PipeOptions) {
    let host = host();
    let error1 = error("error1");
    let rs = starts_errored(&host, &error1);
    let (ws, abort_reason) = dest(&host, None, abort_error.clone());
    let aborts = !opts.prevent_abort;
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, opts).await;
        assert_rejects_with(result, abort_error.as_ref().unwrap_or(&error1));
        assert!(rs.events().is_empty(), "{:?}", rs.events());
        if aborts {
            assert_log(ws.events(), &["abort error1"]);
            assert!(
                StreamError::same(&abort_reason.get(), &error1),
                "the destination is aborted with the source's very error"
            );
        } else {
            assert!(ws.events().is_empty(), "{:?}", ws.events());
            ws.stream.get_writer().unwrap().ready().await.unwrap();
        }
    });
}

#[test]
fn starts_errored_fulfilled_abort() {
    starts_errored_case(None, PipeOptions::default());
}

#[test]
fn starts_errored_rejected_abort() {
    starts_errored_case(Some(error("error2")), PipeOptions::default());
}

#[test]
fn starts_errored_prevent_abort() {
    starts_errored_case(None, prevent_abort());
}

#[test]
fn starts_errored_prevent_abort_and_prevent_cancel() {
    starts_errored_case(
        None,
        PipeOptions {
            prevent_cancel: true,
            ..prevent_abort()
        },
    );
}

#[test]
fn starts_errored_prevent_abort_prevent_cancel_and_prevent_close() {
    starts_errored_case(
        None,
        PipeOptions {
            prevent_cancel: true,
            prevent_close: true,
            ..prevent_abort()
        },
    );
}

/// The source becomes errored 10 ms after the pipe started (after `chunk`, if any, 10 ms before
/// that).
fn becomes_errored(
    dest_hwm: Option<f64>,
    chunk: Option<&'static str>,
    abort_error: Option<StreamError>,
    opts: PipeOptions,
    expected: &'static [&'static str],
) {
    let host = host();
    let error1 = error("error1");
    let rs = plain_readable::<&'static str>(&host);
    let (ws, abort_reason) = dest(&host, dest_hwm, abort_error.clone());
    let controller = rs.controller.clone();
    let e1 = error1.clone();
    common::run(async move {
        let pipe = rs.stream.pipe_to(&ws.stream, opts);
        let (result, ()) = futures::join!(pipe, async {
            if let Some(chunk) = chunk {
                common::sleep(10).await;
                controller.enqueue(chunk).unwrap();
            }
            common::sleep(10).await;
            controller.error(e1);
        });
        assert_rejects_with(result, abort_error.as_ref().unwrap_or(&error1));
        assert!(rs.events_without_pulls().is_empty(), "{:?}", rs.events());
        assert_log(ws.events(), expected);
        if expected.last() == Some(&"abort error1") {
            assert!(StreamError::same(&abort_reason.get(), &error1));
        }
    });
}

#[test]
fn becomes_errored_while_empty_fulfilled_abort() {
    becomes_errored(None, None, None, PipeOptions::default(), &["abort error1"]);
}

#[test]
fn becomes_errored_while_empty_rejected_abort() {
    becomes_errored(
        None,
        None,
        Some(error("error2")),
        PipeOptions::default(),
        &["abort error1"],
    );
}

#[test]
fn becomes_errored_while_empty_prevent_abort() {
    becomes_errored(None, None, None, prevent_abort(), &[]);
}

#[test]
fn becomes_errored_while_empty_dest_never_desires_chunks_fulfilled_abort() {
    becomes_errored(Some(0.0), None, None, PipeOptions::default(), &["abort error1"]);
}

#[test]
fn becomes_errored_while_empty_dest_never_desires_chunks_rejected_abort() {
    becomes_errored(
        Some(0.0),
        None,
        Some(error("error2")),
        PipeOptions::default(),
        &["abort error1"],
    );
}

#[test]
fn becomes_errored_while_empty_dest_never_desires_chunks_prevent_abort() {
    becomes_errored(Some(0.0), None, None, prevent_abort(), &[]);
}

#[test]
fn becomes_errored_after_one_chunk_fulfilled_abort() {
    becomes_errored(
        None,
        Some("Hello"),
        None,
        PipeOptions::default(),
        &["write Hello", "abort error1"],
    );
}

#[test]
fn becomes_errored_after_one_chunk_rejected_abort() {
    becomes_errored(
        None,
        Some("Hello"),
        Some(error("error2")),
        PipeOptions::default(),
        &["write Hello", "abort error1"],
    );
}

#[test]
fn becomes_errored_after_one_chunk_prevent_abort() {
    becomes_errored(None, Some("Hello"), None, prevent_abort(), &["write Hello"]);
}

#[test]
fn becomes_errored_after_one_chunk_dest_never_desires_chunks_fulfilled_abort() {
    becomes_errored(
        Some(0.0),
        Some("Hello"),
        None,
        PipeOptions::default(),
        &["abort error1"],
    );
}

#[test]
fn becomes_errored_after_one_chunk_dest_never_desires_chunks_rejected_abort() {
    becomes_errored(
        Some(0.0),
        Some("Hello"),
        Some(error("error2")),
        PipeOptions::default(),
        &["abort error1"],
    );
}

#[test]
fn becomes_errored_after_one_chunk_dest_never_desires_chunks_prevent_abort() {
    becomes_errored(Some(0.0), Some("Hello"), None, prevent_abort(), &[]);
}

fn shutdown_waits_for_the_final_write(opts: PipeOptions) {
    let host = host();
    let error1 = error("error1");
    let rs = plain_readable::<&'static str>(&host);
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        default(),
        SinkFn::new().write(move |_: &'static str, _| w.completion()),
    );
    let aborts = !opts.prevent_abort;
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, opts);
        rs.controller.enqueue("a").unwrap();
        common::flush(&host);
        assert_eq!(writes.len(), 1, "write was called");
        rs.controller.error(error1.clone());
        common::flush(&host);
        assert_log(ws.events(), &["write a"]);
        assert!(is_pending(&pipe), "the pipe must not be complete");
        writes.resolve();
        assert_rejects_with((&mut pipe).await, &error1);
        common::flush(&host);
        if aborts {
            assert_log(ws.events(), &["write a", "abort error1"]);
        } else {
            assert_log(ws.events(), &["write a"]);
        }
    });
}

#[test]
fn shutdown_does_not_occur_until_the_final_write_completes() {
    shutdown_waits_for_the_final_write(PipeOptions::default());
}

#[test]
fn shutdown_does_not_occur_until_the_final_write_completes_prevent_abort() {
    shutdown_waits_for_the_final_write(prevent_abort());
}

fn shutdown_waits_for_the_final_write_errored_after_first_write(opts: PipeOptions) {
    let host = host();
    let error1 = error("error1");
    let rs = plain_readable::<&'static str>(&host);
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        hwm(2.0),
        SinkFn::new().write(move |_: &'static str, _| w.completion()),
    );
    let aborts = !opts.prevent_abort;
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, opts);
        rs.controller.enqueue("a").unwrap();
        rs.controller.enqueue("b").unwrap();
        common::flush(&host);
        assert_log(ws.events(), &["write a"]);
        assert!(
            is_pending(&pipe),
            "the pipe should not complete while the first write is pending"
        );

        rs.controller.error(error1.clone());
        writes.resolve();
        common::flush(&host);
        assert_log(ws.events(), &["write a", "write b"]);
        assert!(
            is_pending(&pipe),
            "the pipe should not complete while the second write is pending"
        );

        writes.resolve();
        assert_rejects_with((&mut pipe).await, &error1);
        common::flush(&host);
        if aborts {
            assert_log(ws.events(), &["write a", "write b", "abort error1"]);
        } else {
            assert_log(ws.events(), &["write a", "write b"]);
        }
    });
}

#[test]
fn shutdown_does_not_occur_until_the_final_write_completes_errored_after_first_write() {
    shutdown_waits_for_the_final_write_errored_after_first_write(PipeOptions::default());
}

#[test]
fn shutdown_does_not_occur_until_the_final_write_completes_errored_after_first_write_prevent_abort() {
    shutdown_waits_for_the_final_write_errored_after_first_write(prevent_abort());
}

// Native additions.

#[test]
fn the_destination_ends_errored_with_the_sources_very_error() {
    let host = host();
    let error1 = error("error1");
    let rs = plain_readable::<&'static str>(&host);
    let ws = plain_writable::<&'static str>(&host);
    common::run(async move {
        let pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        rs.controller.enqueue("a").unwrap();
        rs.controller.error(error1.clone());
        assert_rejects_with(pipe.await, &error1);
        assert_rejects_with(ws.stream.get_writer().unwrap().closed().await, &error1);
        assert_rejects_with(rs.stream.get_reader().unwrap().closed().await, &error1);
        // The chunk was queued in the source when it errored: it was discarded, never read.
        assert_log(ws.events(), &["abort error1"]);
    });
}
