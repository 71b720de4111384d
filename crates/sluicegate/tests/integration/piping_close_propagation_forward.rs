//! WPT `streams/piping/close-propagation-forward.any.js`, ported to the native API: a source that
//! is or becomes closed closes the destination (unless `prevent_close`), only after every chunk
//! already read has been written.
//!
//! Not ported: the loops over falsy and truthy JavaScript values for `preventClose` (the option is
//! a `bool` here; `false` is the default every other test uses).

use crate::common;
use crate::piping_support;

use sluicegate::host::HostRef;
use sluicegate::writable::SinkFn;
use sluicegate::{Completion, PipeOptions};

use piping_support::*;

fn host() -> HostRef {
    common::host()
}

fn prevent_close() -> PipeOptions {
    PipeOptions {
        prevent_close: true,
        ..Default::default()
    }
}

fn closing_fails(e: &sluicegate::StreamError) -> SinkFn<&'static str> {
    let e = e.clone();
    SinkFn::new().close(move || Completion::err(e.clone()))
}

#[test]
fn starts_closed_fulfilled_close() {
    let host = host();
    let rs = readable_with::<&'static str>(&host, &[], true);
    let ws = plain_writable::<&'static str>(&host);
    common::run(async move {
        let value = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_eq!(value.unwrap(), (), "the promise must fulfill with unit");
        assert!(rs.events().is_empty(), "{:?}", rs.events());
        assert_log(ws.events(), &["close"]);
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        ws.stream.get_writer().unwrap().closed().await.unwrap();
    });
}

#[test]
fn starts_closed_rejected_close() {
    let host = host();
    let error1 = error("error1");
    let rs = readable_with::<&'static str>(&host, &[], true);
    let ws = writable(&host, default(), closing_fails(&error1));
    common::run(async move {
        let result = rs.stream.pipe_to(&ws.stream, PipeOptions::default()).await;
        assert_rejects_with(result, &error1);
        assert!(rs.events().is_empty());
        assert_log(ws.events(), &["close"]);
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        assert_rejects_with(ws.stream.get_writer().unwrap().closed().await, &error1);
    });
}

fn starts_closed_close_prevented(opts: PipeOptions) {
    let host = host();
    let rs = readable_with::<&'static str>(&host, &[], true);
    let ws = plain_writable::<&'static str>(&host);
    common::run(async move {
        rs.stream.pipe_to(&ws.stream, opts).await.unwrap();
        assert!(rs.events().is_empty());
        assert!(ws.events().is_empty(), "{:?}", ws.events());
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        let writer = ws.stream.get_writer().unwrap();
        writer.ready().await.unwrap();
        assert_eq!(
            writer.desired_size().unwrap(),
            Some(1.0),
            "the destination is still open"
        );
    });
}

#[test]
fn starts_closed_prevent_close() {
    starts_closed_close_prevented(prevent_close());
}

#[test]
fn starts_closed_prevent_close_and_prevent_abort() {
    starts_closed_close_prevented(PipeOptions {
        prevent_abort: true,
        ..prevent_close()
    });
}

#[test]
fn starts_closed_prevent_close_prevent_abort_and_prevent_cancel() {
    starts_closed_close_prevented(PipeOptions {
        prevent_abort: true,
        prevent_cancel: true,
        ..prevent_close()
    });
}

/// The source becomes closed (after `chunk`, if any, 10 ms earlier) once the pipe is running.
fn becomes_closed(
    dest_hwm: Option<f64>,
    chunk: Option<&'static str>,
    close_error: Option<sluicegate::StreamError>,
    opts: PipeOptions,
    expected_writes: &'static [&'static str],
) {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let strategy = dest_hwm.map_or_else(default, hwm);
    let sink = match &close_error {
        Some(e) => closing_fails(e),
        None => SinkFn::new(),
    };
    let ws = writable(&host, strategy, sink);
    let controller = rs.controller.clone();
    common::run(async move {
        let pipe = rs.stream.pipe_to(&ws.stream, opts);
        let (result, ()) = futures::join!(pipe, async {
            if let Some(chunk) = chunk {
                common::sleep(10).await;
                controller.enqueue(chunk).unwrap();
            }
            common::sleep(1).await;
            controller.close().unwrap();
        });
        match &close_error {
            Some(e) => assert_rejects_with(result, e),
            None => result.unwrap(),
        }
        assert!(rs.events_without_pulls().is_empty(), "{:?}", rs.events());
        assert_log(ws.events(), expected_writes);
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        let writer = ws.stream.get_writer().unwrap();
        let closed = writer.closed();
        if expected_writes.last() == Some(&"close") {
            match &close_error {
                Some(e) => assert_rejects_with(closed.await, e),
                None => closed.await.unwrap(),
            }
        } else {
            common::flush(&host);
            assert!(is_pending(&closed), "the destination was left open");
        }
    });
}

#[test]
fn becomes_closed_asynchronously_fulfilled_close() {
    becomes_closed(None, None, None, PipeOptions::default(), &["close"]);
}

#[test]
fn becomes_closed_asynchronously_rejected_close() {
    becomes_closed(
        None,
        None,
        Some(error("error1")),
        PipeOptions::default(),
        &["close"],
    );
}

#[test]
fn becomes_closed_asynchronously_prevent_close() {
    becomes_closed(None, None, None, prevent_close(), &[]);
}

#[test]
fn becomes_closed_asynchronously_dest_never_desires_chunks_fulfilled_close() {
    becomes_closed(Some(0.0), None, None, PipeOptions::default(), &["close"]);
}

#[test]
fn becomes_closed_asynchronously_dest_never_desires_chunks_rejected_close() {
    becomes_closed(
        Some(0.0),
        None,
        Some(error("error1")),
        PipeOptions::default(),
        &["close"],
    );
}

#[test]
fn becomes_closed_asynchronously_dest_never_desires_chunks_prevent_close() {
    becomes_closed(Some(0.0), None, None, prevent_close(), &[]);
}

#[test]
fn becomes_closed_after_one_chunk_fulfilled_close() {
    becomes_closed(
        None,
        Some("Hello"),
        None,
        PipeOptions::default(),
        &["write Hello", "close"],
    );
}

#[test]
fn becomes_closed_after_one_chunk_rejected_close() {
    becomes_closed(
        None,
        Some("Hello"),
        Some(error("error1")),
        PipeOptions::default(),
        &["write Hello", "close"],
    );
}

#[test]
fn becomes_closed_after_one_chunk_prevent_close() {
    becomes_closed(None, Some("Hello"), None, prevent_close(), &["write Hello"]);
}

fn shutdown_waits_for_the_final_write(opts: PipeOptions) {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        default(),
        SinkFn::new().write(move |_: &'static str, _| w.completion()),
    );
    let closes = !opts.prevent_close;
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, opts);
        rs.controller.enqueue("a").unwrap();
        rs.controller.close().unwrap();
        common::flush(&host);
        assert_log(ws.events(), &["write a"]);
        assert!(is_pending(&pipe), "the pipe must not be complete");
        writes.resolve();
        (&mut pipe).await.unwrap();
        common::flush(&host);
        if closes {
            assert_log(ws.events(), &["write a", "close"]);
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
fn shutdown_does_not_occur_until_the_final_write_completes_prevent_close() {
    shutdown_waits_for_the_final_write(prevent_close());
}

fn shutdown_waits_for_the_final_write_closed_after_first_write(opts: PipeOptions) {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        hwm(2.0),
        SinkFn::new().write(move |_: &'static str, _| w.completion()),
    );
    let closes = !opts.prevent_close;
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

        rs.controller.close().unwrap();
        writes.resolve();
        common::flush(&host);
        assert_log(ws.events(), &["write a", "write b"]);
        assert!(
            is_pending(&pipe),
            "the pipe should not complete while the second write is pending"
        );

        writes.resolve();
        (&mut pipe).await.unwrap();
        common::flush(&host);
        if closes {
            assert_log(ws.events(), &["write a", "write b", "close"]);
        } else {
            assert_log(ws.events(), &["write a", "write b"]);
        }
    });
}

#[test]
fn shutdown_does_not_occur_until_the_final_write_completes_closed_after_first_write() {
    shutdown_waits_for_the_final_write_closed_after_first_write(PipeOptions::default());
}

#[test]
fn shutdown_does_not_occur_until_the_final_write_completes_closed_after_first_write_prevent_close() {
    shutdown_waits_for_the_final_write_closed_after_first_write(prevent_close());
}

#[test]
fn erroring_the_writable_while_flushing_pending_writes_errors_the_pipe() {
    let host = host();
    let error1 = error("error1");
    let rs = readable_with(&host, &["a", "b"], true);
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        hwm(3.0),
        SinkFn::new().write(move |_: &'static str, _| w.completion()),
    );
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        common::sleep(0).await;
        common::flush(&host);
        writes.reject(&error1);
        assert_rejects_with((&mut pipe).await, &error1);
        assert!(rs.events().is_empty(), "{:?}", rs.events());
        assert_log(ws.events(), &["write a"]);
        rs.stream.get_reader().unwrap().closed().await.unwrap();
        assert_rejects_with(ws.stream.get_writer().unwrap().closed().await, &error1);
    });
}

// Native additions.

#[test]
fn every_chunk_read_before_the_close_is_written_before_the_destination_closes() {
    let host = host();
    let rs = readable_with(&host, &["a", "b", "c", "d"], true);
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        hwm(4.0),
        SinkFn::new().write(move |_: &'static str, _| w.completion()),
    );
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        common::flush(&host);
        // Every chunk has been read (the source is closed), one write is in flight.
        assert!(
            !rs.stream.is_readable(),
            "the source closed once its last chunk was read"
        );
        assert_log(ws.events(), &["write a"]);
        for _ in 0..4 {
            assert!(is_pending(&pipe));
            writes.resolve();
            common::flush(&host);
        }
        (&mut pipe).await.unwrap();
        assert_log(
            ws.events(),
            &["write a", "write b", "write c", "write d", "close"],
        );
    });
}

/// Shutdown waits for the chunks the pipe read to be written, not for writes made through an
/// earlier writer: a pipe that has written nothing finishes at once, and one that has written
/// waits for its own last write (which settles after the earlier one).
#[test]
fn shutdown_waits_only_for_the_pipes_own_writes() {
    let host = host();
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        hwm(10.0),
        SinkFn::new().write(move |_: &'static str, _| w.completion()),
    );
    // A write made before the pipe, still in flight when the pipe starts.
    let writer = ws.stream.get_writer().unwrap();
    let mut earlier = writer.write("earlier");
    writer.release_lock();

    // Nothing to read: the pipe finishes without waiting for the earlier write.
    let empty = readable_with::<&'static str>(&host, &[], true);
    let mut pipe = empty.stream.pipe_to(&ws.stream, prevent_close());
    common::flush(&host);
    assert_eq!(common::poll_once(&mut pipe).map(|r| r.is_ok()), Some(true));
    assert!(
        common::poll_once(&mut earlier).is_none(),
        "the earlier write is still pending"
    );

    // One chunk: the pipe waits for its write, queued behind the earlier one.
    let one = readable_with(&host, &["a"], true);
    let mut pipe = one.stream.pipe_to(&ws.stream, prevent_close());
    common::flush(&host);
    assert!(
        common::poll_once(&mut pipe).is_none(),
        "the pipe waits for its write"
    );
    writes.resolve(); // "earlier"
    common::flush(&host);
    assert_log(ws.events(), &["write earlier", "write a"]);
    assert!(
        common::poll_once(&mut pipe).is_none(),
        "the pipe's own write is still pending"
    );
    writes.resolve(); // "a"
    common::flush(&host);
    assert_eq!(common::poll_once(&mut pipe).map(|r| r.is_ok()), Some(true));
    assert_eq!(common::poll_once(&mut earlier).map(|r| r.is_ok()), Some(true));
}
