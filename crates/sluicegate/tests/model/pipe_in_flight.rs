//! `pipe_to` into a sink whose writes answer at once or later, against a model of
//! ReadableStreamPipeTo with chunks on the way: queued in the destination, or in flight in its
//! sink, while the source closes or errors, the signal fires, or a write fails.
//!
//! `pipe.rs` checks the pipe at rest (every write answered at once); this property holds writes
//! open, so the standard's "wait until every chunk that has been read has been written" before a
//! shutdown's action, the destination's queue against its high-water mark, and the chunks a
//! failing write takes down with it are all observed. After every operation, once everything
//! queued has run, the model and the library must agree on every call made into the sink and the
//! source and on the pipe's promise. The model reads from the source exactly while the
//! destination's desired size is above zero (the standard forbids reading otherwise, and a pipe
//! that reads less than that would stall a sink that waits for more).
//!
//! A write fails only when the test settles one held open (`Op::Answer`), with everything else
//! at rest; a write failing at once is `pipe.rs`'s case. That keeps the model free of microtask
//! order: a write failing in the same turn as the pipe's next read would make the outcome hinge
//! on which reaction was queued first.

use crate::common::{self, answer_with, lock, peek, Answer, Outcome, Settler, SyncResults, E, P};
use proptest::prelude::*;
use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::writable::SinkFn;
use sluicegate::{AbortController, PipeOptions, Promised, QueuingStrategy, ReadableStreamDefaultController};
use sluicegate::{StreamError, WritableStream};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
enum Op {
    Enqueue(u32),
    Close,
    Error(u32),
    Signal(u32),
    /// Settles the write the sink is holding open, if any.
    Answer(Outcome),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u32..1000).prop_map(Op::Enqueue),
        1 => Just(Op::Close),
        1 => (0u32..100).prop_map(Op::Error),
        1 => (100u32..200).prop_map(Op::Signal),
        6 => common::outcome().prop_map(|o| Op::Answer(match o {
            Outcome::Err(n) => Outcome::Err(200 + n),
            ok => ok,
        })),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Flags {
    prevent_close: bool,
    prevent_abort: bool,
    prevent_cancel: bool,
}

/// What the user code saw: every call into the sink (`writes` in call order, whatever each
/// answered) and the source.
#[derive(Clone, Debug, Default, PartialEq)]
struct Seen {
    writes: Vec<u32>,
    closed: bool,
    aborted: Option<E>,
    cancelled: Option<E>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Source {
    Readable,
    Closed,
    Errored(E),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Dest {
    Writable,
    Closed,
    Errored(E),
}

/// A shutdown's action (ReadableStreamPipeTo, "shutdown with an action").
#[derive(Clone, Copy, Debug)]
enum Action {
    /// WritableStreamAbort(dest, reason).
    AbortDest(E),
    /// ReadableStreamCancel(source, reason).
    CancelSource(E),
    /// WritableStreamDefaultWriterCloseWithErrorPropagation(writer).
    CloseDest,
    /// The abort signal's actions, each unless prevented, waited for together.
    Signal { abort: bool, cancel: bool, reason: E },
}

#[derive(Clone, Copy, Debug)]
struct Shutdown {
    action: Option<Action>,
    error: Option<E>,
}

struct Model {
    flags: Flags,
    /// How the sink answers its n-th write (later writes answer at once).
    answers: Vec<Answer>,
    sink_hwm: usize,
    source: Source,
    source_queue: VecDeque<u32>,
    source_close_requested: bool,
    dest: Dest,
    /// Chunks written to the destination and not yet handed to the sink.
    dest_queue: VecDeque<u32>,
    /// The sink holds a write open.
    in_flight: bool,
    /// The pipe's read from the source waits for a chunk. A shutdown stops new reads, not this
    /// one: a chunk it gets is written, and waited for, like every other chunk read (the
    /// reference implementation's read steps write whatever they get).
    read_pending: bool,
    write_calls: usize,
    shutting_down: Option<Shutdown>,
    signal_aborted: bool,
    pipe: P<()>,
    seen: Seen,
}

impl Model {
    fn piping(&self) -> bool {
        self.pipe == P::Pending
    }

    /// The destination's desired size: its high-water mark less the chunks queued, counting the
    /// one in flight (its size leaves the queue when its write is fulfilled).
    fn desired(&self) -> isize {
        self.sink_hwm as isize - (self.dest_queue.len() + usize::from(self.in_flight)) as isize
    }

    fn enqueue(&mut self, c: u32) -> Result<(), E> {
        if self.source != Source::Readable || self.source_close_requested {
            return Err(E::Type);
        }
        self.source_queue.push_back(c);
        Ok(())
    }

    fn close(&mut self) -> Result<(), E> {
        if self.source != Source::Readable || self.source_close_requested {
            return Err(E::Type);
        }
        if self.source_queue.is_empty() {
            self.source = Source::Closed;
        } else {
            self.source_close_requested = true;
        }
        Ok(())
    }

    fn error(&mut self, e: E) {
        if self.source == Source::Readable {
            self.source = Source::Errored(e);
            self.source_queue.clear();
        }
    }

    /// The signal's abort algorithm, run by `abort()` itself.
    fn signal(&mut self, e: E) {
        if self.signal_aborted {
            return;
        }
        self.signal_aborted = true;
        if !self.piping() {
            return;
        }
        let action = Action::Signal {
            abort: !self.flags.prevent_abort,
            cancel: !self.flags.prevent_cancel,
            reason: e,
        };
        self.shutdown(Some(action), Some(e));
    }

    /// The sink's write held open is settled.
    fn answer(&mut self, o: Outcome) {
        if self.in_flight {
            self.in_flight = false;
            if let Err(e) = o.model() {
                self.write_failed(e);
            }
        }
    }

    fn write_failed(&mut self, e: E) {
        // WritableStreamDealWithRejection: nothing else is in flight, so the destination errors at
        // once and the chunks queued behind the failed one are lost with it.
        if self.dest == Dest::Writable {
            self.dest = Dest::Errored(e);
            self.dest_queue.clear();
        }
    }

    fn shutdown(&mut self, action: Option<Action>, error: Option<E>) {
        if self.shutting_down.is_none() {
            self.shutting_down = Some(Shutdown { action, error });
        }
    }

    /// Runs everything the operation set going, as the host does once it is driven.
    fn settle(&mut self) {
        while self.sink_step() || self.pipe_step() {}
    }

    /// The destination's controller hands the next queued chunk to the sink.
    fn sink_step(&mut self) -> bool {
        if self.dest != Dest::Writable || self.in_flight {
            return false;
        }
        let Some(c) = self.dest_queue.pop_front() else {
            return false;
        };
        let answer = self.answers.get(self.write_calls).copied();
        self.write_calls += 1;
        self.seen.writes.push(c);
        match answer {
            Some(Answer::Later) => self.in_flight = true,
            Some(Answer::Now(Outcome::Ok)) | None => {}
            Some(other) => unreachable!("writes answer at once with success or later: {other:?}"),
        }
        true
    }

    /// One step of the pipe; whether anything changed.
    fn pipe_step(&mut self) -> bool {
        if !self.piping() {
            return false;
        }
        if let Some(Shutdown { action, error }) = self.shutting_down {
            if self.read_pending && !self.source_queue.is_empty() {
                self.read_pending = false;
                let c = self.source_queue.pop_front().expect("checked");
                if self.dest == Dest::Writable {
                    self.dest_queue.push_back(c);
                }
                if self.source_queue.is_empty() && self.source_close_requested {
                    self.source = Source::Closed;
                }
                return true;
            }
            // Wait until every chunk that has been read has been written (its write settled).
            if self.dest == Dest::Writable && (self.in_flight || !self.dest_queue.is_empty()) {
                return false;
            }
            let result = match action {
                None => Ok(()),
                Some(a) => self.perform(a),
            };
            self.pipe = match (result, error) {
                (Err(e), _) | (Ok(()), Some(e)) => P::Err(e),
                (Ok(()), None) => P::Ok(()),
            };
            return true;
        }
        // The propagation conditions, in the standard's order.
        if let Source::Errored(e) = self.source {
            let action = (!self.flags.prevent_abort).then_some(Action::AbortDest(e));
            self.shutdown(action, Some(e));
            return true;
        }
        if let Dest::Errored(e) = self.dest {
            let action = (!self.flags.prevent_cancel).then_some(Action::CancelSource(e));
            self.shutdown(action, Some(e));
            return true;
        }
        if self.source == Source::Closed {
            let action = (!self.flags.prevent_close).then_some(Action::CloseDest);
            self.shutdown(action, None);
            return true;
        }
        // Read while the destination wants more.
        let mut moved = false;
        while self.desired() > 0 {
            let Some(c) = self.source_queue.pop_front() else {
                break;
            };
            self.dest_queue.push_back(c);
            moved = true;
            if self.source_queue.is_empty() && self.source_close_requested {
                // The read that empties a closing source closes it before its chunk is written:
                // the pipe sees the close before anything that write brings about.
                self.source = Source::Closed;
                let action = (!self.flags.prevent_close).then_some(Action::CloseDest);
                self.shutdown(action, None);
                self.read_pending = false;
                return true;
            }
        }
        self.read_pending = self.desired() > 0 && self.source == Source::Readable;
        moved
    }

    /// Performs a shutdown's action once every chunk read has been written (nothing is in
    /// flight then, so each action completes at once); its result.
    fn perform(&mut self, action: Action) -> Result<(), E> {
        match action {
            Action::AbortDest(e) => {
                self.abort_dest(e);
                Ok(())
            }
            Action::CancelSource(e) => self.cancel_source(e),
            Action::CloseDest => match self.dest {
                Dest::Writable => {
                    self.seen.closed = true;
                    self.dest = Dest::Closed;
                    Ok(())
                }
                Dest::Closed => Ok(()),
                Dest::Errored(e) => Err(e),
            },
            Action::Signal {
                abort,
                cancel,
                reason,
            } => {
                if abort && self.dest == Dest::Writable {
                    self.abort_dest(reason);
                }
                if cancel && self.source == Source::Readable {
                    self.cancel_source(reason)?;
                }
                Ok(())
            }
        }
    }

    fn abort_dest(&mut self, e: E) {
        if self.dest == Dest::Writable {
            assert!(
                !self.in_flight && self.dest_queue.is_empty(),
                "the model aborts only a drained sink"
            );
            self.seen.aborted = Some(e);
            self.dest = Dest::Errored(e);
        }
    }

    fn cancel_source(&mut self, e: E) -> Result<(), E> {
        match self.source {
            Source::Readable => {
                self.source = Source::Closed;
                self.source_queue.clear();
                self.seen.cancelled = Some(e);
                Ok(())
            }
            Source::Closed => Ok(()),
            Source::Errored(stored) => Err(stored),
        }
    }
}

struct Lib {
    seen: Arc<Mutex<Seen>>,
    controller: Arc<Mutex<Option<ReadableStreamDefaultController<u32>>>>,
    /// What settles the write the sink holds open.
    held: Arc<Mutex<Option<Settler>>>,
    abort: AbortController,
    source: ReadableStream<u32>,
    sink: WritableStream<u32>,
    pipe: Promised<()>,
}

fn make_lib(flags: Flags, answers: Vec<Answer>, sink_hwm: usize) -> Lib {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let controller = Arc::new(Mutex::new(None));
    let held = Arc::new(Mutex::new(None));
    let (s1, s2, s3, s4, c1, h) = (
        seen.clone(),
        seen.clone(),
        seen.clone(),
        seen.clone(),
        controller.clone(),
        held.clone(),
    );
    let source = ReadableStream::with_strategy(
        SourceFn::new()
            .start(move |c| *lock(&c1) = Some(c.clone()))
            .cancel(move |r: StreamError| lock(&s1).cancelled = Some(E::of(&r))),
        QueuingStrategy::count(0.0),
    )
    .unwrap();
    let mut calls = 0;
    let sink = WritableStream::with_strategy(
        SinkFn::new()
            .write(move |c: u32, _| {
                let answer = answers.get(calls).copied().unwrap_or(Answer::Now(Outcome::Ok));
                calls += 1;
                lock(&s2).writes.push(c);
                answer_with(answer, &mut lock(&h))
            })
            .close(move || lock(&s3).closed = true)
            .abort(move |r: StreamError| lock(&s4).aborted = Some(E::of(&r))),
        QueuingStrategy::count(sink_hwm as f64),
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
        held,
        abort,
        source,
        sink,
        pipe,
    }
}

fn step(m: &mut Model, l: &mut Lib, op: &Op) -> SyncResults {
    let to = |r: Result<(), StreamError>| r.map_err(|e| E::of(&e));
    let controller = lock(&l.controller).clone().unwrap();
    let results = match *op {
        Op::Enqueue(c) => (Some(m.enqueue(c)), Some(to(controller.enqueue(c)))),
        Op::Close => (Some(m.close()), Some(to(controller.close()))),
        Op::Error(n) => {
            m.error(E::User(n));
            controller.error(E::user(n));
            (None, None)
        }
        Op::Signal(n) => {
            m.signal(E::User(n));
            l.abort.abort(Some(E::user(n)));
            (None, None)
        }
        Op::Answer(o) => {
            m.answer(o);
            if let Some(settler) = lock(&l.held).take() {
                settler.settle(o.result());
            }
            (None, None)
        }
    };
    m.settle();
    results
}

fn compare(m: &Model, l: &mut Lib) -> Result<(), String> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    // A pending write's future (the futures flavour) is polled by the sink's host, which wakes
    // the pipe's: a few rounds reach rest.
    for _ in 0..4 {
        l.source.host().run_queued();
        l.sink.host().run_queued();
        let _ = std::pin::Pin::new(&mut l.pipe).poll(&mut cx);
    }
    let seen = lock(&l.seen).clone();
    if m.seen != seen {
        return Err(format!("user code saw: model {:?}, library {seen:?}", m.seen));
    }
    let holding = lock(&l.held).is_some();
    if m.in_flight != holding {
        return Err(format!(
            "write held open: model {}, library {holding}",
            m.in_flight
        ));
    }
    let pipe = peek(&l.pipe);
    if m.pipe != pipe {
        return Err(format!("pipe: model {:?}, library {pipe:?}", m.pipe));
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::config())]

    #[test]
    fn pipe_with_writes_in_flight_matches_the_model(
        prevent_close in any::<bool>(),
        prevent_abort in any::<bool>(),
        prevent_cancel in any::<bool>(),
        answers in proptest::collection::vec(
            prop_oneof![Just(Answer::Now(Outcome::Ok)), Just(Answer::Later)],
            0..16,
        ),
        sink_hwm in 0usize..4,
        flavour in common::flavour(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        common::quiet_injected_panics();
        common::set_flavour(flavour);
        let flags = Flags { prevent_close, prevent_abort, prevent_cancel };
        let mut m = Model {
            flags,
            answers: answers.clone(),
            sink_hwm,
            source: Source::Readable,
            source_queue: VecDeque::new(),
            source_close_requested: false,
            dest: Dest::Writable,
            dest_queue: VecDeque::new(),
            in_flight: false,
            read_pending: false,
            write_calls: 0,
            shutting_down: None,
            signal_aborted: false,
            pipe: P::Pending,
            seen: Seen::default(),
        };
        m.settle();
        let mut l = make_lib(flags, answers, sink_hwm);
        compare(&m, &mut l).map_err(|e| TestCaseError::fail(format!("after pipe_to: {e}")))?;
        for (i, op) in ops.iter().enumerate() {
            let (ms, ls) = step(&mut m, &mut l, op);
            prop_assert_eq!(ms, ls, "step {} {:?}: synchronous result", i, op);
            compare(&m, &mut l).map_err(|e| TestCaseError::fail(format!("step {i} {op:?}: {e}")))?;
        }
    }
}
