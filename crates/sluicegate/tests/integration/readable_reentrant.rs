//! Re-entrancy: WPT `streams/readable-streams/reentrant-strategies.any.js` (user code in `size()`
//! calling back into the stream), ported to the native API, plus the same discipline for the other
//! user code the core runs: `pull()`, read-request steps, and the `Drop` of sources, size
//! functions and chunks. The core must never hold a stream's lock while any of it runs.

use crate::common;

use std::sync::mpsc;
use std::time::Duration;

use sluicegate::readable::{ReadRequest, ReadableStream, SourceFn};
use sluicegate::writable::SinkFn;
use sluicegate::{
    Completion, ErrorKind, PipeOptions, Promised, QueuingStrategy, ReadableStreamDefaultReader, StreamError,
    WritableStream,
};

use common::{
    assert_rejects_kind, assert_rejects_with, assert_same, flush, poll_once, Calls, Controller, Log, Slot,
};

/// A stream whose `start` keeps its controller, with a size function that gets the controller
/// and the stream (through slots, since both exist only after construction).
fn stream_with_size<T: Send + 'static>(
    high_water_mark: Option<f64>,
    size: impl Fn(&Controller<T>, &ReadableStream<T>) -> f64 + Send + Sync + 'static,
) -> (ReadableStream<T>, Controller<T>) {
    let controller: Slot<Controller<T>> = Slot::new();
    let stream: Slot<ReadableStream<T>> = Slot::new();
    let (c1, c2, s2) = (controller.clone(), controller.clone(), stream.clone());
    let rs = ReadableStream::with_strategy(
        SourceFn::new().start(move |c: &Controller<T>| c1.set(c.clone())),
        QueuingStrategy::with_fallible_size(high_water_mark, move |_: &T| Ok(size(&c2.get(), &s2.get()))),
    )
    .unwrap();
    stream.set(rs.clone());
    // The slot keeps a handle to the stream; tests end with the stream, so the cycle is harmless.
    (rs, controller.get())
}

#[test]
fn enqueue_inside_size() {
    common::run(async {
        let calls = Calls::new();
        let c = calls.clone();
        let (rs, controller) = stream_with_size::<&str>(None, move |controller, _| {
            c.hit();
            if c.count() < 2 {
                controller.enqueue("b").unwrap();
            }
            1.0
        });
        controller.enqueue("a").unwrap();
        controller.close().unwrap();
        assert_eq!(common::read_all(&rs).await.unwrap(), ["b", "a"]);
        calls.assert_exactly(2);
    });
}

#[test]
fn close_inside_size_does_not_crash() {
    common::run(async {
        let (rs, controller) = stream_with_size::<&str>(None, |controller, _| {
            // The queue is empty: the stream goes from readable to closed.
            controller.close().unwrap();
            // The chunk is still enqueued, but can never be read: the stream is closed.
            1.0
        });
        controller.enqueue("a").unwrap();
        assert!(common::read_all(&rs).await.unwrap().is_empty());
    });
}

#[test]
fn close_request_inside_size() {
    common::run(async {
        let calls = Calls::new();
        let c = calls.clone();
        let (rs, controller) = stream_with_size::<&str>(None, move |controller, _| {
            c.hit();
            if c.count() == 2 {
                // The queue holds one chunk: the stream stays readable, with a close requested.
                controller.close().unwrap();
            }
            1.0
        });
        controller.enqueue("a").unwrap();
        controller.enqueue("b").unwrap();
        assert_eq!(common::read_all(&rs).await.unwrap(), ["a", "b"]);
    });
}

#[test]
fn error_inside_size() {
    common::run(async {
        let error1 = StreamError::user("error1");
        let e = error1.clone();
        let (rs, controller) = stream_with_size::<&str>(None, move |controller, _| {
            controller.error(e.clone());
            1.0
        });
        controller.enqueue("a").unwrap();
        let reader = rs.get_reader().unwrap();
        assert_rejects_with(reader.read().await, &error1);
    });
}

#[test]
fn desired_size_inside_size() {
    common::run(async {
        let seen = Log::new();
        let s = seen.clone();
        let (rs, controller) = stream_with_size::<&str>(Some(1.0), move |controller, _| {
            s.push(format!("{:?}", controller.desired_size()));
            1.0
        });
        controller.enqueue("a").unwrap();
        controller.close().unwrap();
        seen.assert(&["Some(1.0)"]);
        assert_eq!(common::read_all(&rs).await.unwrap(), ["a"]);
    });
}

#[test]
fn cancel_inside_size() {
    common::run(async {
        let error1 = StreamError::user("error1");
        let cancel_promise: Slot<Shared<Promised<()>>> = Slot::new();
        let controller_slot: Slot<Controller<&str>> = Slot::new();
        let stream_slot: Slot<ReadableStream<&str>> = Slot::new();
        let cancels = Calls::new();
        let (cs, c1, e1, cn) = (
            controller_slot.clone(),
            controller_slot.clone(),
            error1.clone(),
            cancels.clone(),
        );
        let (ss, cp, e2) = (stream_slot.clone(), cancel_promise.clone(), error1.clone());
        let rs = ReadableStream::with_strategy(
            SourceFn::new()
                .start(move |c: &Controller<&str>| cs.set(c.clone()))
                .cancel(move |reason: StreamError| {
                    assert_same(&reason, &e1);
                    assert_rejects_kind(c1.get().enqueue("x"), ErrorKind::Type);
                    cn.hit();
                }),
            QueuingStrategy::with_size(f64::INFINITY, move |_: &&str| {
                let promise = ss.get().cancel(e2.clone());
                cp.set(shared(promise));
                1.0
            }),
        )
        .unwrap();
        stream_slot.set(rs.clone());
        controller_slot.get().enqueue("a").unwrap();
        let reader = rs.get_reader().unwrap();
        reader.closed().await.unwrap();
        let promise = cancel_promise.get().lock().unwrap().take().unwrap();
        promise.await.unwrap();
        cancels.assert_exactly(1);
        stream_slot.take();
    });
}

#[test]
fn read_inside_size() {
    common::run(async {
        let calls = Calls::new();
        let reader_slot: Slot<ReadableStreamDefaultReader<&str>> = Slot::new();
        let read_slot = Slot::new();
        let (c, rs_, rd) = (calls.clone(), reader_slot.clone(), read_slot.clone());
        let (rs, controller) = stream_with_size::<&str>(Some(0.0), move |_, _| {
            // Triggered by enqueue(): the queue is empty and no read is waiting. This read is
            // added to the list of read requests.
            rd.set(shared(rs_.get().read()));
            c.hit();
            1.0
        });
        let reader = rs.get_reader().unwrap();
        reader_slot.set(reader.clone());
        controller.enqueue("a").unwrap();
        let mut read = read_slot.get().lock().unwrap().take().unwrap();
        flush(rs.host());
        assert!(poll_once(&mut read).is_none(), "the read does not settle yet");
        controller.enqueue("b").unwrap();
        calls.assert_exactly(1);
        // whatwg/streams#794: the read made inside size() gets "b", and "a" comes after it.
        assert_eq!(read.await.unwrap(), Some("b"));
        calls.assert_exactly(1);
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        reader_slot.take();
    });
}

#[test]
fn get_reader_inside_size() {
    common::run(async {
        let reader_slot: Slot<ReadableStreamDefaultReader<&str>> = Slot::new();
        let r = reader_slot.clone();
        let (rs, controller) = stream_with_size::<&str>(None, move |_, stream| {
            r.set(stream.get_reader().unwrap());
            1.0
        });
        controller.enqueue("a").unwrap();
        assert!(rs.locked());
        let reader = reader_slot.get();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
    });
}

#[test]
fn pipe_to_inside_size() {
    common::run(async {
        let host: sluicegate::host::HostRef = common::host();
        let events = Log::new();
        let (e1, e2) = (events.clone(), events.clone());
        let ws = WritableStream::with_host(
            SinkFn::new()
                .write(
                    move |chunk: &str, _: &sluicegate::WritableStreamDefaultController<&str>| {
                        e1.push(format!("write {chunk}"))
                    },
                )
                .close(move || e2.push("close")),
            QueuingStrategy::new(),
            host.clone(),
        )
        .unwrap();
        let pipe: Slot<Shared<Promised<()>>> = Slot::new();
        let stream: Slot<ReadableStream<&str>> = Slot::new();
        let controller: Slot<Controller<&str>> = Slot::new();
        let (p, s, w, c) = (pipe.clone(), stream.clone(), ws.clone(), controller.clone());
        let rs = ReadableStream::with_host(
            SourceFn::new().start(move |ctrl: &Controller<&str>| c.set(ctrl.clone())),
            QueuingStrategy::with_size(1.0, move |_: &&str| {
                if !p.is_set() {
                    p.set(shared(s.get().pipe_to(&w, PipeOptions::default())));
                }
                1.0
            }),
            host.clone(),
        )
        .unwrap();
        stream.set(rs.clone());
        let controller = controller.get();
        controller.enqueue("a").unwrap();
        assert!(pipe.is_set(), "size() started the pipe");
        assert!(rs.locked());
        // Some pipe implementations need a second chunk to process the first (whatwg/streams#794).
        controller.enqueue("a").unwrap();
        common::sleep(0).await;
        flush(&host);
        events.assert(&["write a", "write a"]);
        controller.close().unwrap();
        let promise = pipe.get().lock().unwrap().take().unwrap();
        promise.await.unwrap();
        events.assert(&["write a", "write a", "close"]);
        stream.take();
    });
}

type Shared<V> = std::sync::Arc<std::sync::Mutex<Option<V>>>;

fn shared<V>(v: V) -> Shared<V> {
    std::sync::Arc::new(std::sync::Mutex::new(Some(v)))
}

/// A read request that logs its steps.
struct Logging(Log, &'static str);

impl ReadRequest<&'static str> for Logging {
    fn chunk_steps(self: Box<Self>, chunk: &'static str) {
        self.0.push(format!("{} chunk {chunk}", self.1));
    }
    fn close_steps(self: Box<Self>) {
        self.0.push(format!("{} close", self.1));
    }
    fn error_steps(self: Box<Self>, e: StreamError) {
        self.0.push(format!("{} error {}", self.1, common::describe(&e)));
    }
}

#[test]
fn enqueue_inside_pull_fulfils_a_waiting_read_synchronously() {
    common::run(async {
        let log = Log::new();
        let l = log.clone();
        let rs = ReadableStream::with_strategy(
            SourceFn::new().pull(move |c: &Controller<&str>| {
                l.push("pull: before enqueue");
                c.enqueue("a").unwrap();
                l.push("pull: after enqueue");
            }),
            QueuingStrategy::count(0.0),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        flush(rs.host());
        log.assert(&[]);
        reader.read_with(Box::new(Logging(log.clone(), "read"))).unwrap();
        log.assert(&["pull: before enqueue", "read chunk a", "pull: after enqueue"]);
    });
}

#[test]
fn read_inside_pull_calls_pull_again_once_pull_settles() {
    common::run(async {
        let pulls = Calls::new();
        let reader_slot: Slot<ReadableStreamDefaultReader<u32>> = Slot::new();
        let extra = Slot::new();
        let (p, rslot, ex) = (pulls.clone(), reader_slot.clone(), extra.clone());
        let rs = ReadableStream::with_strategy(
            SourceFn::new().pull(move |c: &Controller<u32>| {
                p.hit();
                if p.count() == 1 {
                    // A read from inside pull: no new pull while this one runs.
                    ex.set(shared(rslot.get().read()));
                    assert_eq!(p.count(), 1);
                }
                c.enqueue(p.count() as u32).unwrap();
            }),
            QueuingStrategy::count(0.0),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        reader_slot.set(reader.clone());
        flush(rs.host());
        pulls.assert_exactly(0);
        let first = reader.read();
        pulls.assert_exactly(1);
        assert_eq!(first.await.unwrap(), Some(1));
        // Once pull #1 settled, the read made inside it called pull again.
        flush(rs.host());
        pulls.assert_exactly(2);
        let inner = extra.get().lock().unwrap().take().unwrap();
        assert_eq!(inner.await.unwrap(), Some(2));
        reader_slot.take();
    });
}

#[test]
fn release_lock_inside_pull_rejects_the_waiting_read() {
    common::run(async {
        let reader_slot: Slot<ReadableStreamDefaultReader<&str>> = Slot::new();
        let r = reader_slot.clone();
        let rs = ReadableStream::new(SourceFn::new().pull(move |c: &Controller<&str>| {
            if let Some(reader) = r.take() {
                reader.release_lock();
                c.enqueue("kept").unwrap();
            }
        }))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        flush(rs.host());
        reader_slot.set(reader.clone());
        let read = reader.read(); // calls pull, which releases the reader
        assert_rejects_kind(read.await, ErrorKind::Type);
        assert!(!rs.locked());
        assert_eq!(rs.get_reader().unwrap().read().await.unwrap(), Some("kept"));
    });
}

/// A read request whose chunk steps call back into the stream's controller.
struct Reentering {
    controller: Controller<&'static str>,
    log: Log,
    action: &'static str,
}

impl ReadRequest<&'static str> for Reentering {
    fn chunk_steps(self: Box<Self>, chunk: &'static str) {
        self.log.push(format!("chunk {chunk}"));
        match self.action {
            "enqueue" => self.controller.enqueue("from chunk steps").unwrap(),
            "close" => self.controller.close().unwrap(),
            "error" => self.controller.error(StreamError::user("from chunk steps")),
            _ => unreachable!(),
        }
        self.log
            .push(format!("desired {:?}", self.controller.desired_size()));
    }
    fn close_steps(self: Box<Self>) {
        self.log.push("close");
    }
    fn error_steps(self: Box<Self>, e: StreamError) {
        self.log.push(format!("error {}", common::describe(&e)));
    }
}

#[test]
fn read_request_steps_may_call_back_into_the_controller() {
    common::run(async {
        for (action, expected_desired, next) in [
            ("enqueue", "desired Some(0.0)", Ok(Some("from chunk steps"))),
            ("close", "desired Some(0.0)", Ok(None)),
            ("error", "desired None", Err(ErrorKind::User)),
        ] {
            let log = Log::new();
            let (rs, controller) = common::controlled_stream::<&str>(QueuingStrategy::new());
            let reader = rs.get_reader().unwrap();
            reader
                .read_with(Box::new(Reentering {
                    controller: controller.clone(),
                    log: log.clone(),
                    action,
                }))
                .unwrap();
            controller.enqueue("a").unwrap();
            log.assert(&["chunk a", expected_desired]);
            match (reader.read().await, next) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{action}"),
                (Err(e), Err(kind)) => assert_eq!(e.kind(), kind, "{action}"),
                (got, want) => panic!("{action}: got {got:?}, expected {want:?}"),
            }
        }
    });
}

/// Runs `f` on another thread and fails (instead of hanging) if it does not finish in time: a
/// deadlock means the core held a stream's lock while user code ran.
fn without_deadlock(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => handle.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("deadlock: a stream's lock was held while user code (a Drop) ran")
        }
    }
}

/// Calls back into the stream when dropped, and logs what it saw.
struct ReenterOnDrop<T: Send + 'static> {
    controller: Slot<Controller<T>>,
    log: Log,
    name: &'static str,
}

impl<T: Send + 'static> Drop for ReenterOnDrop<T> {
    fn drop(&mut self) {
        if let Some(c) = self.controller.take() {
            self.log
                .push(format!("{} dropped, desired {:?}", self.name, c.desired_size()));
        }
    }
}

#[test]
fn a_source_dropped_on_close_may_call_back_into_the_stream() {
    without_deadlock(|| {
        let log = Log::new();
        let slot: Slot<Controller<u32>> = Slot::new();
        let guard = ReenterOnDrop {
            controller: slot.clone(),
            log: log.clone(),
            name: "source",
        };
        let s = slot.clone();
        let rs = ReadableStream::new(SourceFn::new().start(move |c: &Controller<u32>| {
            let _keep = &guard;
            s.set(c.clone());
        }))
        .unwrap();
        let controller = slot.get();
        controller.close().unwrap(); // ClearAlgorithms drops the source
        log.assert(&["source dropped, desired Some(0.0)"]);
        drop(rs);
    });
}

#[test]
fn a_source_dropped_on_error_may_call_back_into_the_stream() {
    without_deadlock(|| {
        let log = Log::new();
        let slot: Slot<Controller<u32>> = Slot::new();
        let guard = ReenterOnDrop {
            controller: slot.clone(),
            log: log.clone(),
            name: "source",
        };
        let s = slot.clone();
        let rs = ReadableStream::new(SourceFn::new().start(move |c: &Controller<u32>| {
            let _keep = &guard;
            s.set(c.clone());
        }))
        .unwrap();
        slot.get().error(StreamError::user("boom"));
        log.assert(&["source dropped, desired None"]);
        drop(rs);
    });
}

#[test]
fn a_source_dropped_on_cancel_may_call_back_into_the_stream() {
    without_deadlock(|| {
        let log = Log::new();
        let slot: Slot<Controller<u32>> = Slot::new();
        let guard = ReenterOnDrop {
            controller: slot.clone(),
            log: log.clone(),
            name: "source",
        };
        let s = slot.clone();
        let rs = ReadableStream::new(SourceFn::new().start(move |c: &Controller<u32>| {
            let _keep = &guard;
            s.set(c.clone());
        }))
        .unwrap();
        drop(rs.cancel(StreamError::undefined()));
        log.assert(&["source dropped, desired Some(0.0)"]);
    });
}

#[test]
fn a_size_function_dropped_on_close_may_call_back_into_the_stream() {
    without_deadlock(|| {
        let log = Log::new();
        let slot: Slot<Controller<u32>> = Slot::new();
        let guard = ReenterOnDrop {
            controller: slot.clone(),
            log: log.clone(),
            name: "size",
        };
        let s = slot.clone();
        let rs = ReadableStream::with_strategy(
            SourceFn::new().start(move |c: &Controller<u32>| s.set(c.clone())),
            QueuingStrategy::with_size(1.0, move |_: &u32| {
                let _keep = &guard;
                1.0
            }),
        )
        .unwrap();
        slot.get().close().unwrap();
        log.assert(&["size dropped, desired Some(0.0)"]);
        drop(rs);
    });
}

/// A chunk that calls back into its stream when dropped.
struct Chunk {
    _on_drop: ReenterOnDrop<Chunk>,
}

#[test]
fn chunks_discarded_by_cancel_or_error_may_call_back_into_the_stream() {
    without_deadlock(|| {
        for how in ["cancel", "error"] {
            let log = Log::new();
            let (rs, controller) = common::controlled_stream::<Chunk>(QueuingStrategy::count(5.0));
            for name in ["one", "two"] {
                let slot = Slot::new();
                slot.set(controller.clone());
                controller
                    .enqueue(Chunk {
                        _on_drop: ReenterOnDrop {
                            controller: slot,
                            log: log.clone(),
                            name,
                        },
                    })
                    .unwrap();
            }
            assert_eq!(controller.desired_size(), Some(3.0));
            if how == "cancel" {
                drop(rs.cancel(StreamError::undefined()));
                log.assert(&["one dropped, desired Some(0.0)", "two dropped, desired Some(0.0)"]);
            } else {
                controller.error(StreamError::user("boom"));
                log.assert(&["one dropped, desired None", "two dropped, desired None"]);
            }
        }
    });
}

#[test]
fn controller_calls_from_another_thread_while_pull_runs() {
    // pull() blocks on another thread that uses the controller: with a lock held across pull, the
    // other thread would block forever.
    without_deadlock(|| {
        common::run(async {
            let rs = ReadableStream::new(SourceFn::new().pull(|c: &Controller<u32>| {
                let c = c.clone();
                std::thread::spawn(move || {
                    let _ = c.desired_size();
                    c.enqueue(42).unwrap();
                })
                .join()
                .unwrap();
                Completion::ok()
            }))
            .unwrap();
            let reader = rs.get_reader().unwrap();
            assert_eq!(reader.read().await.unwrap(), Some(42));
        });
    });
}
