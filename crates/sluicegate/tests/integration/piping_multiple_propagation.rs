//! WPT `streams/piping/multiple-propagation.any.js`, ported to the native API: piping between
//! streams that are both closed, closing, erroring or errored. The propagation rules apply in the
//! standard's order, and the pipe's result says which one won.

use crate::common;
use crate::piping_support;

use sluicegate::host::HostRef;
use sluicegate::readable::SourceFn;
use sluicegate::writable::SinkFn;
use sluicegate::{PipeOptions, StreamError};

use piping_support::*;

fn host() -> HostRef {
    common::host()
}

fn errored_readable(host: &HostRef, e: &StreamError) -> Readable<&'static str> {
    let e = e.clone();
    readable(
        host,
        default(),
        SourceFn::new().start(move |c| c.error(e.clone())),
    )
}

fn closed_readable(host: &HostRef) -> Readable<&'static str> {
    readable_with(host, &[], true)
}

/// A writable stream whose `start` errors it: still erroring until `start` finishes.
fn erroring_writable(host: &HostRef, e: &StreamError) -> Writable<&'static str> {
    let e = e.clone();
    writable(host, default(), SinkFn::new().start(move |c| c.error(e.clone())))
}

/// WPT's `createErroredWritableStream`: errored with `error2` once `closed` has rejected.
async fn errored_writable(host: &HostRef, error2: &StreamError) -> Writable<&'static str> {
    let ws = erroring_writable(host, error2);
    let writer = ws.stream.get_writer().unwrap();
    assert_rejects_with(writer.closed().await, error2);
    writer.release_lock();
    assert!(ws.events().is_empty());
    ws
}

#[test]
fn from_an_errored_readable_to_an_erroring_writable() {
    let host = host();
    let (error1, error2) = (error("error1"), error("error2"));
    let rs = errored_readable(&host, &error1);
    let ws = erroring_writable(&host, &error2);
    common::run(async move {
        // Aborting a stream that is erroring gives the writable's error.
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_rejects_with(result, &error2);
        assert!(
            rs.events().is_empty() && ws.events().is_empty(),
            "{:?}",
            ws.events()
        );
        assert_rejects_with(rs.stream.get_reader().unwrap().closed().await, &error1);
        assert_rejects_with(ws.stream.get_writer().unwrap().closed().await, &error2);
    });
}

#[test]
fn from_an_errored_readable_to_an_errored_writable() {
    let host = host();
    let (error1, error2) = (error("error1"), error("error2"));
    let rs = errored_readable(&host, &error1);
    common::run(async move {
        let ws = errored_writable(&host, &error2).await;
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_rejects_with(result, &error1);
        assert!(rs.events().is_empty());
        assert!(ws.events().is_empty());
        assert_rejects_with(rs.stream.get_reader().unwrap().closed().await, &error1);
    });
}

#[test]
fn from_an_errored_readable_to_an_erroring_writable_prevent_abort() {
    let host = host();
    let (error1, error2) = (error("error1"), error("error2"));
    let rs = errored_readable(&host, &error1);
    let ws = erroring_writable(&host, &error2);
    common::run(async move {
        let opts = PipeOptions {
            prevent_abort: true,
            ..Default::default()
        };
        assert_rejects_with(rs.stream.pipe_to(&ws.stream, opts).await, &error1);
        assert!(rs.events().is_empty() && ws.events().is_empty());
        assert_rejects_with(rs.stream.get_reader().unwrap().closed().await, &error1);
        assert_rejects_with(ws.stream.get_writer().unwrap().closed().await, &error2);
    });
}

#[test]
fn from_an_errored_readable_to_an_errored_writable_prevent_abort() {
    let host = host();
    let (error1, error2) = (error("error1"), error("error2"));
    let rs = errored_readable(&host, &error1);
    common::run(async move {
        let ws = errored_writable(&host, &error2).await;
        let opts = PipeOptions {
            prevent_abort: true,
            ..Default::default()
        };
        assert_rejects_with(rs.stream.pipe_to(&ws.stream, opts).await, &error1);
        assert!(rs.events().is_empty());
        assert_rejects_with(rs.stream.get_reader().unwrap().closed().await, &error1);
    });
}

#[test]
fn from_an_errored_readable_to_a_closing_writable() {
    let host = host();
    let error1 = error("error1");
    let rs = errored_readable(&host, &error1);
    let ws = plain_writable::<&'static str>(&host);
    let writer = ws.stream.get_writer().unwrap();
    let close = writer.close();
    writer.release_lock();
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_rejects_with(result, &error1);
        assert!(rs.events().is_empty());
        assert_log(ws.events(), &["abort error1"]);
        assert_rejects_with(rs.stream.get_reader().unwrap().closed().await, &error1);
        assert_rejects_with(ws.stream.get_writer().unwrap().closed().await, &error1);
        assert_rejects_with(close.await, &error1);
    });
}

#[test]
fn from_an_errored_readable_to_a_closed_writable() {
    let host = host();
    let error1 = error("error1");
    let rs = errored_readable(&host, &error1);
    let ws = plain_writable::<&'static str>(&host);
    let writer = ws.stream.get_writer().unwrap();
    let close = writer.close();
    writer.release_lock();
    common::run(async move {
        common::sleep(0).await;
        common::flush(&host);
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_rejects_with(result, &error1);
        assert!(rs.events().is_empty());
        assert_log(ws.events(), &["close"]);
        assert_rejects_with(rs.stream.get_reader().unwrap().closed().await, &error1);
        ws.stream.get_writer().unwrap().closed().await.unwrap();
        close.await.unwrap();
    });
}

#[test]
fn from_a_closed_readable_to_an_erroring_writable() {
    let host = host();
    let error1 = error("error1");
    let rs = closed_readable(&host);
    let ws = erroring_writable(&host, &error1);
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_rejects_with(result, &error1);
        assert!(rs.events().is_empty() && ws.events().is_empty());
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        assert_rejects_with(ws.stream.get_writer().unwrap().closed().await, &error1);
    });
}

#[test]
fn from_a_closed_readable_to_an_errored_writable() {
    let host = host();
    let error2 = error("error2");
    let rs = closed_readable(&host);
    common::run(async move {
        let ws = errored_writable(&host, &error2).await;
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_rejects_with(result, &error2);
        assert!(rs.events().is_empty());
        rs.stream.get_reader().unwrap().closed().await.unwrap();
    });
}

#[test]
fn from_a_closed_readable_to_a_closed_writable() {
    let host = host();
    let rs = closed_readable(&host);
    let ws = plain_writable::<&'static str>(&host);
    let writer = ws.stream.get_writer().unwrap();
    drop(writer.close());
    writer.release_lock();
    common::run(async move {
        rs.stream
            .pipe_to(&ws.stream, PipeOptions::default())
            .await
            .unwrap();
        assert!(rs.events().is_empty());
        assert_log(ws.events(), &["close"]);
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        ws.stream.get_writer().unwrap().closed().await.unwrap();
    });
}

// Native addition: both streams fail while a pipe runs; the first rule in the standard's order
// that holds when the pipe looks wins.

#[test]
fn source_and_destination_erroring_together_propagate_the_source_error_forward() {
    let host = host();
    let (error1, error2) = (error("error1"), error("error2"));
    let rs = plain_readable::<&'static str>(&host);
    let ws = plain_writable::<&'static str>(&host);
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        common::flush(&host);
        rs.controller.error(error1.clone());
        ws.controller.error(error2.clone());
        // Errors forward comes first: the destination is already errored, so aborting it does
        // nothing and the pipe fails with the source's error.
        assert_rejects_with((&mut pipe).await, &error1);
        assert!(rs.events_without_pulls().is_empty(), "{:?}", rs.events());
        assert!(ws.events().is_empty(), "{:?}", ws.events());
    });
}
