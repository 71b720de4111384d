//! WPT `streams/piping/flow-control.any.js`, ported to the native API: the pipe never reads while
//! the destination's desired size is zero or less, reads ahead while it is positive (so reads and
//! writes overlap), and exerts backpressure on the source.
//!
//! The `StepTracker` test is ported with explicit steps: every `waitThenAdvance(n)` becomes a
//! flush of the shared host between actions.

use crate::common;
use crate::piping_support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures::channel::oneshot;

use sluicegate::host::HostRef;
use sluicegate::readable::{ReadableStreamDefaultController, SourceFn};
use sluicegate::writable::SinkFn;
use sluicegate::{Completion, PipeOptions};

use piping_support::*;

fn host() -> HostRef {
    common::host()
}

#[test]
fn piping_a_non_empty_readable_into_a_writable_that_does_not_desire_chunks() {
    let host = host();
    let error1 = error("error1");
    let rs = readable_with(&host, &["a", "b"], true);
    let ws = writable(&host, hwm(0.0), SinkFn::<&'static str>::new());
    common::run(async move {
        let opts = PipeOptions {
            prevent_cancel: true,
            ..Default::default()
        };
        let mut pipe = rs.stream.pipe_to(&ws.stream, opts);
        // Wait and make sure it does not read.
        common::sleep(0).await;
        common::flush(&host);
        assert!(is_pending(&pipe));
        ws.controller.error(error1.clone());
        assert_rejects_with((&mut pipe).await, &error1);
        assert!(rs.events_without_pulls().is_empty());
        assert!(ws.events().is_empty(), "{:?}", ws.events());
        let not_read = common::read_all(&rs.stream).await.unwrap();
        assert_eq!(not_read, ["a", "b"], "the chunks not previously read");
    });
}

/// A sink whose first write waits for the test, and whose later writes succeed at once.
fn first_write_waits(writes: &Resolvers) -> SinkFn<&'static str> {
    let w = writes.clone();
    let first = Arc::new(Mutex::new(true));
    SinkFn::new().write(move |_: &'static str, _| {
        if std::mem::take(&mut *first.lock().unwrap()) {
            w.completion()
        } else {
            Completion::ok()
        }
    })
}

#[test]
fn piping_a_non_empty_readable_into_a_writable_that_does_not_desire_chunks_but_then_does() {
    let host = host();
    let rs = readable_with(&host, &["b"], true);
    let writes = Resolvers::new();
    let ws = writable(&host, default(), first_write_waits(&writes));
    let writer = ws.stream.get_writer().unwrap();
    let first_write = writer.write("a");
    assert_eq!(
        writer.desired_size().unwrap(),
        Some(0.0),
        "desired size after writing"
    );
    writer.release_lock();
    common::run(async move {
        let pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        common::sleep(0).await;
        common::flush(&host);
        assert_log(ws.events(), &["write a"]);
        writes.resolve();
        first_write.await.unwrap();
        pipe.await.unwrap();
        assert!(rs.events_without_pulls().is_empty());
        assert_log(ws.events(), &["write a", "write b", "close"]);
    });
}

#[test]
fn piping_an_empty_readable_into_a_writable_that_does_not_desire_chunks_then_both_change() {
    let host = host();
    let rs = plain_readable::<&'static str>(&host);
    let writes = Resolvers::new();
    let ws = writable(&host, default(), first_write_waits(&writes));
    common::run(async move {
        let writer = ws.stream.get_writer().unwrap();
        let _first = writer.write("a");
        common::sleep(0).await;
        common::flush(&host);
        assert_log(ws.events(), &["write a"]);
        assert_eq!(writer.desired_size().unwrap(), Some(0.0));
        writer.release_lock();

        let pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        rs.controller.enqueue("b").unwrap();
        writes.resolve();
        rs.controller.close().unwrap();
        pipe.await.unwrap();
        assert!(rs.events_without_pulls().is_empty());
        assert_log(ws.events(), &["write a", "write b", "close"]);
    });
}

#[test]
fn piping_to_a_writable_that_desires_more_chunks_before_finishing_with_previous_ones() {
    let host = host();
    let unread = Arc::new(Mutex::new(vec!["b", "c", "d"]));
    let u = unread.clone();
    let rs = readable(
        &host,
        hwm(0.0),
        SourceFn::new().pull(move |c: &ReadableStreamDefaultController<&'static str>| {
            let mut unread = u.lock().unwrap();
            c.enqueue(unread.remove(0)).unwrap();
            if unread.is_empty() {
                c.close().unwrap();
            }
        }),
    );
    let writes = Resolvers::new();
    let ws = writable(&host, hwm(3.0), first_write_waits(&writes));
    let writer = ws.stream.get_writer().unwrap();
    let first_write = writer.write("a");
    assert_eq!(
        writer.desired_size().unwrap(),
        Some(2.0),
        "desired size after writing"
    );
    writer.release_lock();
    common::run(async move {
        let pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        common::sleep(0).await;
        common::flush(&host);
        assert_log(ws.events(), &["write a"]);
        assert_eq!(
            unread.lock().unwrap().len(),
            1,
            "chunks should continue to be read until the high-water mark is reached"
        );
        writes.resolve();
        first_write.await.unwrap();
        pipe.await.unwrap();
        assert_log(rs.events(), &["pull", "pull", "pull"]);
        assert_log(
            ws.events(),
            &["write a", "write b", "write c", "write d", "close"],
        );
    });
}

/// A sink whose writes each wait for the test ([`Steps::finish`]) and then record their chunk as
/// finished.
#[derive(Clone, Default)]
struct Steps {
    waiting: Arc<Mutex<VecDeque<oneshot::Sender<()>>>>,
    finished: common::Log,
}

impl Steps {
    fn sink(&self) -> SinkFn<&'static str> {
        let steps = self.clone();
        SinkFn::new().write(move |chunk: &'static str, _| {
            let (tx, rx) = oneshot::channel();
            steps.waiting.lock().unwrap().push_back(tx);
            let finished = steps.finished.clone();
            Completion::future(async move {
                rx.await.expect("the test lets every write finish");
                finished.push(chunk);
                Ok(())
            })
        })
    }

    /// Lets the oldest waiting write finish.
    fn finish(&self) {
        let tx = self
            .waiting
            .lock()
            .unwrap()
            .pop_front()
            .expect("a write is waiting");
        tx.send(()).unwrap();
    }
}

#[test]
fn piping_to_a_writable_that_does_not_consume_writes_fast_enough_exerts_backpressure() {
    let host = host();
    let desired_sizes = Arc::new(Mutex::new(Vec::new()));
    let rs = plain_readable::<&'static str>(&host);
    let steps = Steps::default();
    let ws = writable(&host, default(), steps.sink());
    let enqueue = {
        let (c, d) = (rs.controller.clone(), desired_sizes.clone());
        move |chunk: &'static str| {
            c.enqueue(chunk).unwrap();
            d.lock().unwrap().push(c.desired_size().unwrap());
        }
    };
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        common::flush(&host);

        enqueue("a");
        common::flush(&host);
        assert!(
            steps.finished.entries().is_empty(),
            "no chunk has finished writing"
        );
        assert_log(ws.events(), &["write a"]);
        // "a" went straight to the pipe's pending read, leaving the queue empty.
        assert_eq!(*desired_sizes.lock().unwrap(), [1.0]);
        assert_eq!(rs.controller.desired_size(), Some(1.0));

        enqueue("b");
        common::flush(&host);
        assert_log(ws.events(), &["write a"]);
        assert_eq!(*desired_sizes.lock().unwrap(), [1.0, 0.0]);
        assert_eq!(rs.controller.desired_size(), Some(0.0));

        enqueue("c");
        common::flush(&host);
        assert_log(ws.events(), &["write a"]);
        assert_eq!(*desired_sizes.lock().unwrap(), [1.0, 0.0, -1.0]);
        assert_eq!(rs.controller.desired_size(), Some(-1.0));

        enqueue("d");
        common::flush(&host);
        assert_log(ws.events(), &["write a"]);
        assert_eq!(*desired_sizes.lock().unwrap(), [1.0, 0.0, -1.0, -2.0]);
        assert_eq!(rs.controller.desired_size(), Some(-2.0));

        steps.finish();
        common::flush(&host);
        assert_log(steps.finished.entries(), &["a"]);
        assert_log(ws.events(), &["write a", "write b"]);
        assert_eq!(rs.controller.desired_size(), Some(-1.0));

        rs.controller.close().unwrap();
        for _ in 0..3 {
            steps.finish();
            common::flush(&host);
        }
        (&mut pipe).await.unwrap();
        assert_eq!(
            *desired_sizes.lock().unwrap(),
            [1.0, 0.0, -1.0, -2.0],
            "backpressure was exerted at the source"
        );
        assert_log(steps.finished.entries(), &["a", "b", "c", "d"]);
        assert!(rs.events_without_pulls().is_empty());
        assert_log(
            ws.events(),
            &["write a", "write b", "write c", "write d", "close"],
        );
    });
}

// Native additions.

#[test]
fn the_source_is_not_pulled_beyond_the_destinations_high_water_mark() {
    let host = host();
    let next = Arc::new(Mutex::new(0u32));
    let n = next.clone();
    let rs = readable(
        &host,
        hwm(0.0),
        SourceFn::new().pull(move |c: &ReadableStreamDefaultController<u32>| {
            let mut n = n.lock().unwrap();
            *n += 1;
            c.enqueue(*n).unwrap();
        }),
    );
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        hwm(3.0),
        SinkFn::new().write(move |_: u32, _| w.completion()),
    );
    common::run({
        let host = host.clone();
        async move {
            let pulls = || rs.events().iter().filter(|e| *e == "pull").count();
            let _pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
            common::sleep(0).await;
            common::flush(&host);
            // Three chunks read while the first write is in flight: reads and writes overlap, and
            // the reads stop at the destination's high-water mark.
            assert_eq!(pulls(), 3, "{:?}", rs.events());
            assert_log(ws.events(), &["write 1"]);
            assert!(ws.stream.get_writer().is_err(), "still locked by the pipe");
            common::flush(&host);
            assert_eq!(pulls(), 3, "nothing more is read while the destination is full");

            writes.resolve();
            common::flush(&host);
            assert_eq!(pulls(), 4, "one write done: exactly one more chunk is read");
            assert_log(ws.events(), &["write 1", "write 2"]);

            for _ in 0..5 {
                writes.resolve();
                common::flush(&host);
            }
            assert_eq!(pulls(), 9);
            assert_eq!(writes.len(), 1, "one write in flight");
            assert_eq!(
                *next.lock().unwrap(),
                9,
                "never more than 3 chunks ahead of the sink"
            );
        }
    });
}

#[test]
fn a_byte_counting_destination_limits_reads_by_size() {
    let host = host();
    let rs = readable_with::<&'static str>(&host, &["aaaa", "bb", "c", "dddddd"], true);
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = writable(
        &host,
        sluicegate::QueuingStrategy::with_size(5.0, |s: &&'static str| s.len() as f64),
        SinkFn::new().write(move |_: &'static str, _| w.completion()),
    );
    common::run(async move {
        let mut pipe = rs.stream.pipe_to(&ws.stream, PipeOptions::default());
        common::flush(&host);
        // "aaaa" (4) leaves a desired size of 1: one more read, "bb", makes it -1.
        assert_log(ws.events(), &["write aaaa"]);
        assert_eq!(
            rs.controller.desired_size(),
            Some(-1.0),
            "\"c\" and \"dddddd\" are unread"
        );
        writes.resolve();
        common::flush(&host);
        // "bb" in flight (2): desired 3, so "c" is read (desired 2) and then "dddddd".
        assert_log(ws.events(), &["write aaaa", "write bb"]);
        for _ in 0..3 {
            writes.resolve();
            common::flush(&host);
        }
        (&mut pipe).await.unwrap();
        assert_log(
            ws.events(),
            &["write aaaa", "write bb", "write c", "write dddddd", "close"],
        );
    });
}
