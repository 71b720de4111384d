//! `pipe_to` with every combination of `prevent_close`, `prevent_abort` and `prevent_cancel`,
//! an abort signal, and a sink that fails at a chosen write, against a model of the standard's
//! ReadableStreamPipeTo at rest: with a sink that answers at once, every chunk the source
//! enqueues has been written by the time everything queued has run; the source closing closes
//! the sink (unless prevented), the source erroring aborts it (unless prevented), the sink
//! failing cancels the source (unless prevented), the signal does both (unless prevented), and
//! the pipe settles with the reason.

use crate::common::{self, lock, peek, SyncResults, E, P};
use proptest::prelude::*;
use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::writable::SinkFn;
use sluicegate::{AbortController, PipeOptions, Promised, QueuingStrategy, ReadableStreamDefaultController};
use sluicegate::{StreamError, WritableStream};
use std::sync::{Arc, Mutex};

/// The reason the sink fails with.
const SINK_FAILS: u32 = 500;

#[derive(Clone, Debug)]
enum Op {
    Enqueue(u32),
    Close,
    Error(u32),
    Signal(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u32..1000).prop_map(Op::Enqueue),
        1 => Just(Op::Close),
        1 => (0u32..100).prop_map(Op::Error),
        1 => (0u32..100).prop_map(Op::Signal),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Flags {
    prevent_close: bool,
    prevent_abort: bool,
    prevent_cancel: bool,
}

/// What the user code saw.
#[derive(Clone, Debug, Default, PartialEq)]
struct Seen {
    writes: Vec<u32>,
    closed: bool,
    aborted: Option<E>,
    cancelled: Option<E>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Readable,
    Closed,
    Errored,
}

struct Model {
    flags: Flags,
    fail_at: Option<usize>,
    write_calls: usize,
    source: State,
    /// Chunks left in the source once the pipe has stopped reading.
    source_queue: usize,
    source_close_requested: bool,
    piping: bool,
    pipe: P<()>,
    seen: Seen,
}

impl Model {
    fn stop(&mut self, result: Result<(), E>) {
        self.piping = false;
        self.pipe = result.map_or_else(P::Err, P::Ok);
    }

    fn cancel_source(&mut self, reason: E) {
        if self.source == State::Readable {
            self.source = State::Closed;
            self.source_queue = 0;
            self.seen.cancelled = Some(reason);
        }
    }

    fn enqueue(&mut self, c: u32) -> Result<(), E> {
        if self.source != State::Readable || self.source_close_requested {
            return Err(E::Type);
        }
        if !self.piping {
            self.source_queue += 1;
            return Ok(());
        }
        let i = self.write_calls;
        self.write_calls += 1;
        if self.fail_at == Some(i) {
            let e = E::User(SINK_FAILS);
            if !self.flags.prevent_cancel {
                self.cancel_source(e);
            }
            self.stop(Err(e));
        } else {
            self.seen.writes.push(c);
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), E> {
        if self.source != State::Readable || self.source_close_requested {
            return Err(E::Type);
        }
        if self.source_queue > 0 {
            self.source_close_requested = true;
            return Ok(());
        }
        self.source = State::Closed;
        if self.piping {
            if !self.flags.prevent_close {
                self.seen.closed = true;
            }
            self.stop(Ok(()));
        }
        Ok(())
    }

    fn error(&mut self, e: E) {
        if self.source != State::Readable {
            return;
        }
        self.source = State::Errored;
        if self.piping {
            if !self.flags.prevent_abort {
                self.seen.aborted = Some(e);
            }
            self.stop(Err(e));
        }
    }

    fn signal(&mut self, e: E) {
        if !self.piping {
            return;
        }
        if !self.flags.prevent_abort {
            self.seen.aborted = Some(e);
        }
        if !self.flags.prevent_cancel {
            self.cancel_source(e);
        }
        self.stop(Err(e));
    }
}

struct Lib {
    seen: Arc<Mutex<Seen>>,
    controller: Arc<Mutex<Option<ReadableStreamDefaultController<u32>>>>,
    abort: AbortController,
    source: ReadableStream<u32>,
    sink: WritableStream<u32>,
    pipe: Promised<()>,
}

fn make_lib(flags: Flags, fail_at: Option<usize>, source_hwm: f64, sink_hwm: f64) -> Lib {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let controller = Arc::new(Mutex::new(None));
    let (s1, s2, s3, s4, c1) = (
        seen.clone(),
        seen.clone(),
        seen.clone(),
        seen.clone(),
        controller.clone(),
    );
    let source = ReadableStream::with_strategy(
        SourceFn::new()
            .start(move |c| *lock(&c1) = Some(c.clone()))
            .cancel(move |r: StreamError| lock(&s1).cancelled = Some(E::of(&r))),
        QueuingStrategy::count(source_hwm),
    )
    .unwrap();
    let mut writes = 0;
    let sink = WritableStream::with_strategy(
        SinkFn::new()
            .write(move |c: u32, _| {
                let i = writes;
                writes += 1;
                if fail_at == Some(i) {
                    return Err(E::user(SINK_FAILS));
                }
                lock(&s2).writes.push(c);
                Ok(())
            })
            .close(move || lock(&s3).closed = true)
            .abort(move |r: StreamError| lock(&s4).aborted = Some(E::of(&r))),
        QueuingStrategy::count(sink_hwm),
    )
    .unwrap();
    let abort = AbortController::new();
    let options = PipeOptions {
        prevent_close: flags.prevent_close,
        prevent_abort: flags.prevent_abort,
        prevent_cancel: flags.prevent_cancel,
        signal: Some(abort.signal()),
    };
    let pipe = source.pipe_to(&sink, options);
    Lib {
        seen,
        controller,
        abort,
        source,
        sink,
        pipe,
    }
}

fn step(m: &mut Model, l: &mut Lib, op: &Op) -> SyncResults {
    let to = |r: Result<(), StreamError>| r.map_err(|e| E::of(&e));
    let controller = lock(&l.controller).clone().unwrap();
    match *op {
        Op::Enqueue(c) => return (Some(m.enqueue(c)), Some(to(controller.enqueue(c)))),
        Op::Close => return (Some(m.close()), Some(to(controller.close()))),
        Op::Error(n) => {
            m.error(E::User(n));
            controller.error(E::user(n));
        }
        Op::Signal(n) => {
            m.signal(E::User(n));
            l.abort.abort(Some(E::user(n)));
        }
    }
    (None, None)
}

fn compare(m: &Model, l: &mut Lib) -> Result<(), String> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..3 {
        l.source.host().run_queued();
        l.sink.host().run_queued();
        let _ = std::pin::Pin::new(&mut l.pipe).poll(&mut cx);
    }
    let seen = lock(&l.seen).clone();
    if m.seen != seen {
        return Err(format!("user code saw: model {:?}, library {seen:?}", m.seen));
    }
    let pipe = peek(&l.pipe);
    if m.pipe != pipe {
        return Err(format!("pipe: model {:?}, library {pipe:?}", m.pipe));
    }
    Ok(())
}

use std::future::Future;

proptest! {
    #![proptest_config(common::config())]

    #[test]
    fn pipe_matches_the_model(
        prevent_close in any::<bool>(),
        prevent_abort in any::<bool>(),
        prevent_cancel in any::<bool>(),
        fail_at in proptest::option::of(0usize..12),
        source_hwm in prop_oneof![Just(0.0), Just(1.0), Just(4.0)],
        sink_hwm in prop_oneof![Just(1.0), Just(2.0), Just(4.0)],
        ops in proptest::collection::vec(op(), 1..30),
    ) {
        let flags = Flags { prevent_close, prevent_abort, prevent_cancel };
        let mut m = Model {
            flags,
            fail_at,
            write_calls: 0,
            source: State::Readable,
            source_queue: 0,
            source_close_requested: false,
            piping: true,
            pipe: P::Pending,
            seen: Seen::default(),
        };
        let mut l = make_lib(flags, fail_at, source_hwm, sink_hwm);
        compare(&m, &mut l).map_err(|e| TestCaseError::fail(format!("after pipe_to: {e}")))?;
        for (i, op) in ops.iter().enumerate() {
            let (ms, ls) = step(&mut m, &mut l, op);
            prop_assert_eq!(ms, ls, "step {} {:?}: synchronous result", i, op);
            compare(&m, &mut l).map_err(|e| TestCaseError::fail(format!("step {i} {op:?}: {e}")))?;
        }
    }
}
