//! Ported from WPT `streams/writable-streams/reentrant-strategy.any.js`, plus more re-entrancy: user
//! code (size functions, sink methods, abort-signal algorithms, `Drop` of chunks and sinks) calling
//! back into the same stream must neither deadlock nor break the standard's order.

use crate::common;
use crate::writable_support;

use common::{Calls, Log};
use sluicegate::strategy::QueuingStrategy;
use sluicegate::writable::WritableStreamDefaultWriter as Writer;
use sluicegate::writable::{SinkFn, UnderlyingSink, WritableStream, WritableStreamDefaultController};
use sluicegate::{Completion, ErrorKind, StreamError};
use writable_support::*;

type Ctl<T> = WritableStreamDefaultController<T>;

#[test]
fn writes_from_inside_size_reach_the_sink_in_the_standard_order() {
    let log = Log::new();
    let step = StepHost::new();
    let writer_slot = slot::<Writer<u32>>();
    let w = writer_slot.clone();
    let ws = WritableStream::with_host(
        recording(&log, SinkFn::new()),
        QueuingStrategy::with_size(1.0, move |chunk: &u32| {
            if *chunk > 0 {
                drop(get(&w, "writer").write(chunk - 1));
            }
            f64::from(*chunk)
        }),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer.clone());
    let write = writer.write(2);
    step.run();
    assert_fulfilled(&write);
    log.assert(&["write 0", "write 1", "write 2"]);
    writer_slot.lock().unwrap().take();
}

#[test]
fn write_promises_from_inside_size_resolve_in_the_standard_order() {
    let events = Log::new();
    let step = StepHost::new();
    let writer_slot = slot::<Writer<u32>>();
    let (w, ev, st) = (writer_slot.clone(), events.clone(), step.clone());
    let sink_events = events.clone();
    let ws = WritableStream::with_host(
        SinkFn::new().write(move |chunk: u32, _| sink_events.push(format!("sink.write {chunk}"))),
        QueuingStrategy::with_size(1.0, move |chunk: &u32| {
            ev.push(format!("size {chunk}"));
            if *chunk > 0 {
                let write = get(&w, "writer").write(chunk - 1);
                then_log(&st, &ev, &format!("done {}", chunk - 1), write);
            }
            f64::from(*chunk)
        }),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer.clone());
    then_log(&step, &events, "done 2", writer.write(2));
    step.run();
    events.assert(&[
        "size 2",
        "size 1",
        "size 0",
        "sink.write 0",
        "sink.write 1",
        "done 0 ok",
        "sink.write 2",
        "done 1 ok",
        "done 2 ok",
    ]);
    writer_slot.lock().unwrap().take();
}

#[test]
fn controller_error_from_inside_size() {
    let log = Log::new();
    let step = StepHost::new();
    let ctl = slot::<Ctl<&'static str>>();
    let (c1, c2) = (ctl.clone(), ctl.clone());
    let e1 = error("error1");
    let e = e1.clone();
    let ws = WritableStream::with_host(
        recording(
            &log,
            SinkFn::new().start(move |c: &Ctl<&'static str>| *c1.lock().unwrap() = Some(c.clone())),
        ),
        QueuingStrategy::with_size(1.0, move |_| {
            get(&c2, "controller").error(e.clone());
            1.0
        }),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    let order = Log::new();
    then_log(&step, &order, "ready1", writer.ready());
    let write = writer.write("x");
    then_log(&step, &order, "write", write);
    then_log(&step, &order, "ready2", writer.ready());
    then_log(&step, &order, "closed", writer.closed());
    step.run();
    order.assert(&["ready1 ok", "write error1", "ready2 error1", "closed error1"]);
    assert_rejected_with(&writer.closed(), &e1);
    log.assert(&[]);
    ctl.lock().unwrap().take();
}

#[test]
fn close_from_inside_size() {
    let log = Log::new();
    let step = StepHost::new();
    let writer_slot = slot::<Writer<&'static str>>();
    let w = writer_slot.clone();
    let ws = WritableStream::with_host(
        recording(&log, SinkFn::new()),
        QueuingStrategy::with_size(1.0, move |_| {
            drop(get(&w, "writer").close());
            1.0
        }),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer.clone());
    let write = writer.write("a");
    assert_rejected_kind(&write, ErrorKind::Type);
    step.run();
    log.assert(&["close"]);
    writer_slot.lock().unwrap().take();
}

#[test]
fn abort_from_inside_size() {
    let log = Log::new();
    let step = StepHost::new();
    let writer_slot = slot::<Writer<&'static str>>();
    let w = writer_slot.clone();
    let e1 = error("error1");
    let e = e1.clone();
    let ws = WritableStream::with_host(
        recording(&log, SinkFn::new()),
        QueuingStrategy::with_size(1.0, move |_| {
            drop(get(&w, "writer").abort(e.clone()));
            1.0
        }),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer.clone());
    let write = writer.write("a");
    step.run();
    assert_rejected_with(&write, &e1);
    log.assert(&["abort error1"]);
    writer_slot.lock().unwrap().take();
}

#[test]
fn release_lock_from_inside_size_fails_the_write() {
    let log = Log::new();
    let step = StepHost::new();
    let writer_slot = slot::<Writer<&'static str>>();
    let w = writer_slot.clone();
    let ws = WritableStream::with_host(
        recording(&log, SinkFn::new()),
        QueuingStrategy::with_size(1.0, move |_| {
            get(&w, "writer").release_lock();
            1.0
        }),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer.clone());
    let write = writer.write("a");
    assert_rejected_kind(&write, ErrorKind::Type);
    assert_rejected_kind(&writer.ready(), ErrorKind::Type);
    assert_rejected_kind(&writer.closed(), ErrorKind::Type);
    step.run();
    log.assert(&[]);
    assert!(!ws.locked());
    writer_slot.lock().unwrap().take();
}

#[test]
fn a_new_writer_from_inside_size_takes_over() {
    let log = Log::new();
    let step = StepHost::new();
    let writer_slot = slot::<Writer<u32>>();
    let stream_slot = slot::<WritableStream<u32>>();
    // writer2 is kept with its promises: dropping the last handle to a writer releases its lock.
    type Writer2 = (
        Writer<u32>,
        sluicegate::Promised,
        sluicegate::Promised,
        sluicegate::Promised,
    );
    let results = slot::<Writer2>();
    let (w, s, r) = (writer_slot.clone(), stream_slot.clone(), results.clone());
    let ws = WritableStream::with_host(
        recording(&log, SinkFn::new()),
        QueuingStrategy::with_size(1.0, move |chunk: &u32| {
            if *chunk > 0 {
                get(&w, "writer1").release_lock();
                let writer2 = get(&s, "stream").get_writer().unwrap();
                let write2 = writer2.write(0);
                let close = writer2.close();
                let closed2 = writer2.closed();
                *r.lock().unwrap() = Some((writer2, write2, close, closed2));
            }
            1.0
        }),
        step.host(),
    )
    .unwrap();
    *stream_slot.lock().unwrap() = Some(ws.clone());
    let writer1 = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer1.clone());
    let write1 = writer1.write(1);
    assert_rejected_kind(&write1, ErrorKind::Type);
    assert_rejected_kind(&writer1.ready(), ErrorKind::Type);
    assert_rejected_kind(&writer1.closed(), ErrorKind::Type);
    step.run();
    let (writer2, write2, close, closed2) = take(&results, "writer2 promises");
    assert!(writer2.is_attached());
    assert_fulfilled(&write2);
    assert_fulfilled(&close);
    assert_fulfilled(&closed2);
    log.assert(&["write 0", "close"]);
    writer_slot.lock().unwrap().take();
    stream_slot.lock().unwrap().take();
}

#[test]
fn size_can_read_the_desired_size() {
    let step = StepHost::new();
    let writer_slot = slot::<Writer<u32>>();
    let seen = Log::new();
    let (w, s) = (writer_slot.clone(), seen.clone());
    let ws = WritableStream::with_host(
        SinkFn::new(),
        QueuingStrategy::with_size(3.0, move |_: &u32| {
            let desired = get(&w, "writer").desired_size().unwrap();
            s.push(format!("{desired:?}"));
            1.0
        }),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer.clone());
    drop(writer.write(1));
    drop(writer.write(2));
    seen.assert(&["Some(3.0)", "Some(2.0)"]);
    writer_slot.lock().unwrap().take();
}

#[test]
fn a_sink_write_can_write_more_and_the_chunk_queues_behind_it() {
    let log = Log::new();
    let step = StepHost::new();
    let writer_slot = slot::<Writer<u32>>();
    let w = writer_slot.clone();
    let inner_write = slot::<sluicegate::Promised>();
    let iw = inner_write.clone();
    let ws = WritableStream::with_host(
        recording(
            &log,
            SinkFn::new().write(move |chunk: u32, _| {
                if chunk == 1 {
                    let writer = get(&w, "writer");
                    // The chunk in flight still counts against the high-water mark.
                    assert_eq!(writer.desired_size().unwrap(), Some(-1.0));
                    *iw.lock().unwrap() = Some(writer.write(10));
                    assert_eq!(writer.desired_size().unwrap(), Some(-2.0));
                }
            }),
        ),
        QueuingStrategy::new(),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer.clone());
    drop(writer.write(1));
    drop(writer.write(2));
    step.run();
    assert_fulfilled(&take(&inner_write, "inner write"));
    log.assert(&["write 1", "write 2", "write 10"]);
    writer_slot.lock().unwrap().take();
}

#[test]
fn an_abort_from_inside_the_sink_close_is_ignored_and_resolves_with_the_close() {
    let log = Log::new();
    let step = StepHost::new();
    let writer_slot = slot::<Writer<u32>>();
    let abort_slot = slot::<sluicegate::Promised>();
    let (w, a) = (writer_slot.clone(), abort_slot.clone());
    let ws = WritableStream::with_host(
        recording(
            &log,
            SinkFn::new().close(move || {
                *a.lock().unwrap() = Some(get(&w, "writer").abort(error("too late")));
            }),
        ),
        QueuingStrategy::new(),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer.clone());
    let close = writer.close();
    step.run();
    assert_fulfilled(&close);
    assert_fulfilled(&take(&abort_slot, "abort"));
    assert_fulfilled(&writer.closed());
    log.assert(&["close"]);
    writer_slot.lock().unwrap().take();
}

#[test]
fn signal_algorithms_may_call_back_into_the_stream() {
    let step = StepHost::new();
    let ctl = slot::<Ctl<u32>>();
    let c = ctl.clone();
    let ws = WritableStream::with_host(
        SinkFn::new().start(move |controller: &Ctl<u32>| *c.lock().unwrap() = Some(controller.clone())),
        QueuingStrategy::new(),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    let controller = get(&ctl, "controller");
    let seen = Log::new();
    let (w, s, c2) = (writer.clone(), seen.clone(), controller.clone());
    let _handle = controller.signal().add_algorithm(move |reason| {
        s.push(format!("signal {}", show(reason)));
        s.push(format!("desired {:?}", w.desired_size().unwrap()));
        c2.error(error("from the signal"));
        s.push(format!("ready {:?}", w.ready().peek().map(|r| r.is_ok())));
    });
    let e1 = error("error1");
    let abort = writer.abort(e1.clone());
    step.run();
    // The algorithm ran before the stream started erroring, so its controller.error() won.
    seen.assert(&["signal error1", "desired Some(1.0)", "ready Some(false)"]);
    let stored = writer.closed().peek().unwrap().unwrap_err();
    assert_eq!(show(&stored), "from the signal");
    assert_rejected_with(&abort, &stored);
    ctl.lock().unwrap().take();
}

/// A chunk that uses its stream's writer when dropped.
struct Probe {
    writer: Slot<Writer<Probe>>,
    log: Log,
}

impl Drop for Probe {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.lock().unwrap().clone() {
            self.log
                .push(format!("dropped, desired {:?}", writer.desired_size().unwrap()));
        }
    }
}

#[test]
fn discarded_chunks_are_dropped_with_no_lock_held() {
    let step = StepHost::new();
    let log = Log::new();
    let writer_slot = slot::<Writer<Probe>>();
    let ws = WritableStream::with_host(
        SinkFn::new().write(|_chunk: Probe, _| never()),
        QueuingStrategy::count(10.0),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer.clone());
    step.run();
    let probe = || Probe {
        writer: writer_slot.clone(),
        log: log.clone(),
    };
    // Handed to the sink's write, which drops it when it returns (the write never settles).
    drop(writer.write(probe()));
    log.assert(&["dropped, desired Some(9.0)"]);
    drop(writer.write(probe())); // queued
    drop(writer.write(probe())); // queued
    drop(writer.abort(error("error1")));
    // Nothing discarded yet: the write in flight keeps the stream erroring.
    log.assert(&["dropped, desired Some(9.0)"]);
    // A chunk rejected at write time (stream erroring) is dropped at once, outside the lock.
    drop(writer.write(probe()));
    log.assert(&["dropped, desired Some(9.0)", "dropped, desired None"]);
    writer_slot.lock().unwrap().take();
}

#[test]
fn queued_chunks_are_dropped_with_no_lock_held_when_the_stream_errors() {
    let step = StepHost::new();
    let log = Log::new();
    let writer_slot = slot::<Writer<Probe>>();
    let writes = Resolvers::new();
    let w = writes.clone();
    let ws = WritableStream::with_host(
        SinkFn::new().write(move |_chunk: Probe, _| w.completion()),
        QueuingStrategy::count(10.0),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    *writer_slot.lock().unwrap() = Some(writer.clone());
    step.run();
    for _ in 0..3 {
        drop(writer.write(Probe {
            writer: writer_slot.clone(),
            log: log.clone(),
        }));
    }
    // The first chunk went to the sink's write (and was dropped when that call returned, while
    // it was the only chunk queued).
    log.assert(&["dropped, desired Some(9.0)"]);
    drop(writer.abort(error("error1")));
    writes.resolve();
    step.run();
    // The two queued chunks were discarded by the queue reset, after the lock was released.
    log.assert(&[
        "dropped, desired Some(9.0)",
        "dropped, desired None",
        "dropped, desired None",
    ]);
    writer_slot.lock().unwrap().take();
}

/// A sink that errors its own stream when it is dropped.
struct SelfErroring {
    controller: Slot<Ctl<u8>>,
    dropped: Calls,
}

impl UnderlyingSink<u8> for SelfErroring {
    fn start(&mut self, controller: &Ctl<u8>) -> Completion {
        *self.controller.lock().unwrap() = Some(controller.clone());
        Completion::ok()
    }
}

impl Drop for SelfErroring {
    fn drop(&mut self) {
        self.dropped.hit();
        if let Some(c) = self.controller.lock().unwrap().take() {
            c.error(StreamError::user("from drop"));
        }
    }
}

#[test]
fn a_sink_dropped_at_close_may_call_back_into_the_stream() {
    let step = StepHost::new();
    let dropped = Calls::new();
    let ws = WritableStream::with_host(
        SelfErroring {
            controller: slot(),
            dropped: dropped.clone(),
        },
        QueuingStrategy::new(),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    let close = writer.close();
    step.run();
    dropped.assert_exactly(1);
    // The error from the sink's Drop came while the close was in flight: the stream still closes.
    assert_fulfilled(&close);
    assert_fulfilled(&writer.closed());
}

#[test]
fn a_sink_dropped_at_controller_error_may_call_back_into_the_stream() {
    let step = StepHost::new();
    let dropped = Calls::new();
    let controller = slot::<Ctl<u8>>();
    let ws = WritableStream::with_host(
        SelfErroring {
            controller: controller.clone(),
            dropped: dropped.clone(),
        },
        QueuingStrategy::new(),
        step.host(),
    )
    .unwrap();
    let writer = ws.get_writer().unwrap();
    let outside = get(&controller, "controller");
    let e1 = error("error1");
    outside.error(e1.clone());
    dropped.assert_exactly(1);
    step.run();
    assert_rejected_with(&writer.closed(), &e1);
}
