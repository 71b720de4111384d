//! WPT `streams/piping/close-propagation-backward.any.js`, ported to the native API: a destination
//! that is closing or closed when the pipe starts cancels the source with a `TypeError` (unless
//! `prevent_cancel`), and the pipe fails with that `TypeError`.
//!
//! Not ported: the loops over falsy and truthy JavaScript values for `preventCancel`.

use crate::common;
use crate::piping_support;

use sluicegate::host::HostRef;
use sluicegate::readable::SourceFn;
use sluicegate::{Completion, ErrorKind, PipeOptions, StreamError};

use common::Slot;
use piping_support::*;

fn host() -> HostRef {
    common::host()
}

/// A recording readable stream whose cancel reason is kept, and whose cancel fails with
/// `cancel_error` if given.
fn source(host: &HostRef, cancel_error: Option<StreamError>) -> (Readable<&'static str>, Slot<StreamError>) {
    let reason = Slot::new();
    let r = reason.clone();
    let rs = readable(
        host,
        default(),
        SourceFn::new().cancel(move |e| {
            r.set(e);
            match &cancel_error {
                Some(err) => Completion::err(err.clone()),
                None => Completion::ok(),
            }
        }),
    );
    (rs, reason)
}

/// A recording writable stream whose writer has started closing it and been released.
fn closing_writable(host: &HostRef) -> Writable<&'static str> {
    let ws = plain_writable(host);
    let writer = ws.stream.get_writer().unwrap();
    drop(writer.close());
    writer.release_lock();
    ws
}

#[test]
fn starts_closed_fulfilled_cancel() {
    let host = host();
    let (rs, cancel_reason) = source(&host, None);
    let ws = closing_writable(&host);
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        let err = assert_rejects_kind(result, ErrorKind::Type);
        assert_log(rs.events_without_pulls(), &["cancel TypeError"]);
        assert!(
            StreamError::same(&cancel_reason.get(), &err),
            "the source is cancelled with the error the pipe fails with"
        );
        assert_log(ws.events(), &["close"]);
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        ws.stream.get_writer().unwrap().closed().await.unwrap();
    });
}

#[test]
fn starts_closed_rejected_cancel() {
    let host = host();
    let error1 = error("error1");
    let (rs, cancel_reason) = source(&host, Some(error1.clone()));
    let ws = closing_writable(&host);
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_rejects_with(result, &error1);
        assert_eq!(
            cancel_reason.get().kind(),
            ErrorKind::Type,
            "the cancel reason is a TypeError"
        );
        assert_log(rs.events_without_pulls(), &["cancel TypeError"]);
        assert_log(ws.events(), &["close"]);
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        ws.stream.get_writer().unwrap().closed().await.unwrap();
    });
}

fn starts_closed_cancel_prevented(opts: PipeOptions) {
    let host = host();
    let (rs, _) = source(&host, None);
    let ws = closing_writable(&host);
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, opts).await;
        assert_rejects_kind(result, ErrorKind::Type);
        assert!(rs.events_without_pulls().is_empty(), "{:?}", rs.events());
        assert_log(ws.events(), &["close"]);
        ws.stream.get_writer().unwrap().closed().await.unwrap();
        assert!(
            rs.stream.is_readable() && !rs.stream.locked(),
            "the source is left alone"
        );
    });
}

#[test]
fn starts_closed_prevent_cancel() {
    starts_closed_cancel_prevented(PipeOptions {
        prevent_cancel: true,
        ..Default::default()
    });
}

#[test]
fn starts_closed_prevent_cancel_and_prevent_abort() {
    starts_closed_cancel_prevented(PipeOptions {
        prevent_cancel: true,
        prevent_abort: true,
        ..Default::default()
    });
}

#[test]
fn starts_closed_prevent_cancel_prevent_abort_and_prevent_close() {
    starts_closed_cancel_prevented(PipeOptions {
        prevent_cancel: true,
        prevent_abort: true,
        prevent_close: true,
        signal: None,
    });
}

// Native additions.

#[test]
fn a_destination_that_finished_closing_cancels_the_source_too() {
    let host = host();
    let (rs, cancel_reason) = source(&host, None);
    let ws = plain_writable::<&'static str>(&host);
    common::run(async move {
        let writer = ws.stream.get_writer().unwrap();
        writer.close().await.unwrap();
        writer.release_lock();
        let err = assert_rejects_kind(
            rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await,
            ErrorKind::Type,
        );
        assert!(StreamError::same(&cancel_reason.get(), &err));
        assert_log(rs.events_without_pulls(), &["cancel TypeError"]);
        assert!(!rs.stream.locked() && !ws.stream.locked());
    });
}

#[test]
fn a_closing_destination_is_never_written_to() {
    let host = host();
    let rs = readable_with(&host, &["a", "b"], false);
    let ws = closing_writable(&host);
    common::run(async move {
        let opts = PipeOptions {
            prevent_cancel: true,
            ..Default::default()
        };
        assert_rejects_kind(rs.stream.pipe_to(&ws.stream, opts).await, ErrorKind::Type);
        assert_log(ws.events(), &["close"]);
        // Nothing was read: both chunks are still in the source.
        assert_eq!(rs.controller.desired_size(), Some(-1.0));
        let reader = rs.stream.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        assert_eq!(reader.read().await.unwrap(), Some("b"));
    });
}
