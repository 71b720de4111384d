//! `WritableStream` and its default writer, against a model of the standard's §5: writes with
//! sizes the standard rejects (and a size function that fails or panics), close, abort through
//! the writer and the stream, controller errors, writer release and re-acquisition, backpressure
//! and `ready`, and a sink whose start, write, close and abort answer at once, later or by
//! panicking.

use crate::common::check;
use crate::common::{
    self, answer, answer_with, chunk, lock, outcome, peek, reject, resolve, Answer, Outcome, E, P,
};
use crate::common::{Settler, SyncResults};
use proptest::prelude::*;
use sluicegate::writable::SinkFn;
use sluicegate::{Promised, QueuingStrategy, StreamError, WritableStream};
use sluicegate::{WritableStreamDefaultController, WritableStreamDefaultWriter};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// A call into the sink.
#[derive(Clone, Debug, PartialEq)]
enum Call {
    Write(u32),
    Close,
    Abort(E),
}

#[derive(Clone, Debug)]
enum Op {
    GetWriter,
    Write(u32),
    Close,
    Abort(u32),
    Release,
    StreamClose,
    StreamAbort(u32),
    Error(u32),
    SettleStart(Outcome),
    SettleWrite(Outcome),
    SettleClose(Outcome),
    SettleAbort(Outcome),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::GetWriter),
        8 => chunk().prop_map(Op::Write),
        1 => Just(Op::Close),
        1 => (0u32..100).prop_map(Op::Abort),
        1 => Just(Op::Release),
        1 => Just(Op::StreamClose),
        1 => (0u32..100).prop_map(Op::StreamAbort),
        1 => (0u32..100).prop_map(Op::Error),
        2 => outcome().prop_map(Op::SettleStart),
        6 => outcome().prop_map(Op::SettleWrite),
        2 => outcome().prop_map(Op::SettleClose),
        2 => outcome().prop_map(Op::SettleAbort),
    ]
}

/// The size function's result for the writable side: a value (valid or not, for the controller
/// to judge) or a failure of the size function itself.
fn size_value(c: u32) -> Result<f64, E> {
    match c & 0xf {
        10 => Ok(f64::NAN),
        11 => Ok(-1.0),
        12 => Ok(f64::INFINITY),
        _ => common::model_size(c),
    }
}

// ---------------------------------------------------------------------------------------------
// The model.

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Writable,
    Erroring(E),
    Errored(E),
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Item {
    Chunk(u32, f64),
    Close,
}

struct AbortRequest {
    promise: usize,
    reason: Option<E>,
    was_already_erroring: bool,
}

enum Micro {
    Start(Result<(), E>),
    Write(Result<(), E>),
    Close(Result<(), E>),
    Abort(Result<(), E>),
}

#[derive(Clone, Debug, PartialEq)]
struct Writer {
    ready: P<()>,
    closed: P<()>,
}

struct Model {
    hwm: f64,
    state: State,
    backpressure: bool,
    writer: Option<usize>,
    writers: Vec<Writer>,
    write_requests: VecDeque<usize>,
    in_flight_write: Option<usize>,
    close_request: Option<usize>,
    in_flight_close: Option<usize>,
    pending_abort: Option<AbortRequest>,
    /// The abort promise waiting for the sink's abort to settle.
    pending_abort_promise: Option<usize>,
    queue: VecDeque<Item>,
    queue_total: f64,
    started: bool,
    cleared: bool,
    writes: Vec<P<()>>,
    /// Every close and abort promise handed out, by index into `promises`.
    closes: Vec<usize>,
    aborts: Vec<usize>,
    promises: Vec<P<()>>,
    write_answers: VecDeque<Answer>,
    close_answer: Answer,
    abort_answer: Answer,
    micro: VecDeque<Micro>,
    calls: Vec<Call>,
}

impl Model {
    fn new(hwm: f64, writes: Vec<Answer>, close_answer: Answer, abort_answer: Answer) -> Self {
        Model {
            hwm,
            state: State::Writable,
            backpressure: false,
            writer: None,
            writers: Vec::new(),
            write_requests: VecDeque::new(),
            in_flight_write: None,
            close_request: None,
            in_flight_close: None,
            pending_abort: None,
            pending_abort_promise: None,
            queue: VecDeque::new(),
            queue_total: 0.0,
            started: false,
            cleared: false,
            writes: Vec::new(),
            closes: Vec::new(),
            aborts: Vec::new(),
            promises: Vec::new(),
            write_answers: writes.into(),
            close_answer,
            abort_answer,
            micro: VecDeque::new(),
            calls: Vec::new(),
        }
    }

    fn promise(&mut self, p: P<()>) -> usize {
        self.promises.push(p);
        self.promises.len() - 1
    }

    /// SetUpWritableStreamDefaultController from start's answer.
    fn start(&mut self, a: Answer) -> Result<(), E> {
        self.backpressure = self.desired_size() <= 0.0;
        match a {
            Answer::Now(Outcome::Ok) => self.micro.push_back(Micro::Start(Ok(()))),
            Answer::Now(Outcome::Err(n)) => return Err(E::User(n)),
            Answer::Panic => return Err(E::Panic),
            Answer::Later => {}
        }
        Ok(())
    }

    fn run_microtasks(&mut self) {
        while let Some(m) = self.micro.pop_front() {
            match m {
                Micro::Start(r) => {
                    self.started = true;
                    match r {
                        Ok(()) => self.advance_queue_if_needed(),
                        Err(e) => self.deal_with_rejection(e),
                    }
                }
                Micro::Write(Ok(())) => {
                    let w = self.in_flight_write.take().unwrap();
                    resolve(&mut self.writes[w]);
                    if let Some(Item::Chunk(_, size)) = self.queue.pop_front() {
                        self.queue_total -= size;
                    }
                    if !self.close_queued_or_in_flight() && self.state == State::Writable {
                        let bp = self.desired_size() <= 0.0;
                        self.update_backpressure(bp);
                    }
                    self.advance_queue_if_needed();
                }
                Micro::Write(Err(e)) => {
                    if self.state == State::Writable {
                        self.cleared = true;
                    }
                    let w = self.in_flight_write.take().unwrap();
                    reject(&mut self.writes[w], e);
                    self.deal_with_rejection(e);
                }
                Micro::Close(Ok(())) => {
                    let c = self.in_flight_close.take().unwrap();
                    resolve(&mut self.promises[c]);
                    if matches!(self.state, State::Erroring(_)) {
                        if let Some(a) = self.pending_abort.take() {
                            resolve(&mut self.promises[a.promise]);
                        }
                    }
                    self.state = State::Closed;
                    if let Some(w) = self.writer {
                        resolve(&mut self.writers[w].closed);
                    }
                }
                Micro::Close(Err(e)) => {
                    let c = self.in_flight_close.take().unwrap();
                    reject(&mut self.promises[c], e);
                    if let Some(a) = self.pending_abort.take() {
                        reject(&mut self.promises[a.promise], e);
                    }
                    self.deal_with_rejection(e);
                }
                Micro::Abort(r) => {
                    let a = self.pending_abort_promise.take().unwrap();
                    match r {
                        Ok(()) => resolve(&mut self.promises[a]),
                        Err(e) => reject(&mut self.promises[a], e),
                    }
                    self.reject_close_and_closed_promise_if_needed();
                }
            }
        }
    }

    fn stored_error(&self) -> Option<E> {
        match self.state {
            State::Erroring(e) | State::Errored(e) => Some(e),
            _ => None,
        }
    }

    fn desired_size(&self) -> f64 {
        self.hwm - self.queue_total
    }

    fn writer_desired_size(&self) -> Option<f64> {
        match self.state {
            State::Erroring(_) | State::Errored(_) => None,
            State::Closed => Some(0.0),
            State::Writable => Some(self.desired_size()),
        }
    }

    fn close_queued_or_in_flight(&self) -> bool {
        self.close_request.is_some() || self.in_flight_close.is_some()
    }

    fn has_operation_marked_in_flight(&self) -> bool {
        self.in_flight_write.is_some() || self.in_flight_close.is_some()
    }

    fn update_backpressure(&mut self, bp: bool) {
        if let Some(w) = self.writer {
            if bp != self.backpressure {
                if bp {
                    self.writers[w].ready = P::Pending;
                } else {
                    resolve(&mut self.writers[w].ready);
                }
            }
        }
        self.backpressure = bp;
    }

    fn start_erroring(&mut self, reason: E) {
        self.state = State::Erroring(reason);
        if let Some(w) = self.writer {
            self.writers[w].ready = P::Err(reason);
        }
        if !self.has_operation_marked_in_flight() && self.started {
            self.finish_erroring();
        }
    }

    fn finish_erroring(&mut self) {
        let State::Erroring(stored) = self.state else {
            unreachable!("finish erroring outside erroring")
        };
        self.state = State::Errored(stored);
        self.queue.clear();
        self.queue_total = 0.0;
        for w in self.write_requests.drain(..) {
            reject(&mut self.writes[w], stored);
        }
        let Some(a) = self.pending_abort.take() else {
            self.reject_close_and_closed_promise_if_needed();
            return;
        };
        if a.was_already_erroring {
            reject(&mut self.promises[a.promise], stored);
            self.reject_close_and_closed_promise_if_needed();
            return;
        }
        // [[AbortSteps]]: the abort algorithm, then clear the algorithms.
        let reason = a.reason.expect("a first abort has a reason");
        self.calls.push(Call::Abort(reason));
        self.cleared = true;
        self.pending_abort_promise = Some(a.promise);
        match self.abort_answer {
            Answer::Now(o) => self.micro.push_back(Micro::Abort(o.model())),
            Answer::Panic => self.micro.push_back(Micro::Abort(Err(E::Panic))),
            Answer::Later => {}
        }
    }

    fn reject_close_and_closed_promise_if_needed(&mut self) {
        let stored = self.stored_error().unwrap();
        if let Some(c) = self.close_request.take() {
            reject(&mut self.promises[c], stored);
        }
        if let Some(w) = self.writer {
            reject(&mut self.writers[w].closed, stored);
        }
    }

    fn deal_with_rejection(&mut self, e: E) {
        if self.state == State::Writable {
            self.start_erroring(e);
        } else {
            self.finish_erroring();
        }
    }

    fn advance_queue_if_needed(&mut self) {
        if !self.started || self.in_flight_write.is_some() {
            return;
        }
        if matches!(self.state, State::Erroring(_)) {
            self.finish_erroring();
            return;
        }
        match self.queue.front().copied() {
            None => {}
            Some(Item::Close) => {
                self.in_flight_close = self.close_request.take();
                self.queue.pop_front();
                self.calls.push(Call::Close);
                match self.close_answer {
                    Answer::Now(o) => self.micro.push_back(Micro::Close(o.model())),
                    Answer::Panic => self.micro.push_back(Micro::Close(Err(E::Panic))),
                    Answer::Later => {}
                }
                self.cleared = true;
            }
            Some(Item::Chunk(c, _)) => {
                self.in_flight_write = self.write_requests.pop_front();
                self.calls.push(Call::Write(c));
                match self.write_answers.pop_front().unwrap_or(Answer::Later) {
                    Answer::Now(o) => self.micro.push_back(Micro::Write(o.model())),
                    Answer::Panic => self.micro.push_back(Micro::Write(Err(E::Panic))),
                    Answer::Later => {}
                }
            }
        }
    }

    fn controller_error_if_needed(&mut self, e: E) {
        if self.state == State::Writable {
            self.cleared = true;
            self.start_erroring(e);
        }
    }

    fn get_writer(&mut self) -> Result<(), E> {
        if self.writer.is_some() {
            return Err(E::Type);
        }
        let w = match self.state {
            State::Writable => Writer {
                ready: if !self.close_queued_or_in_flight() && self.backpressure {
                    P::Pending
                } else {
                    P::Ok(())
                },
                closed: P::Pending,
            },
            State::Erroring(e) => Writer {
                ready: P::Err(e),
                closed: P::Pending,
            },
            State::Closed => Writer {
                ready: P::Ok(()),
                closed: P::Ok(()),
            },
            State::Errored(e) => Writer {
                ready: P::Err(e),
                closed: P::Err(e),
            },
        };
        self.writers.push(w);
        self.writer = Some(self.writers.len() - 1);
        Ok(())
    }

    fn release(&mut self, w: usize) {
        if self.writer != Some(w) {
            return;
        }
        self.writers[w].ready = P::Err(E::Type);
        self.writers[w].closed = P::Err(E::Type);
        self.writer = None;
    }

    /// `writer.write(c)` on writer `w`.
    fn write(&mut self, w: usize, c: u32) {
        let i = self.writes.len();
        self.writes.push(P::Pending);
        if self.writer != Some(w) {
            self.writes[i] = P::Err(E::Type);
            return;
        }
        // WritableStreamDefaultControllerGetChunkSize.
        let size = if self.cleared {
            1.0
        } else {
            size_value(c).unwrap_or_else(|e| {
                self.controller_error_if_needed(e);
                1.0
            })
        };
        match self.state {
            State::Errored(e) => self.writes[i] = P::Err(e),
            _ if self.close_queued_or_in_flight() || self.state == State::Closed => {
                self.writes[i] = P::Err(E::Type)
            }
            State::Erroring(e) => self.writes[i] = P::Err(e),
            State::Writable => {
                self.write_requests.push_back(i);
                // WritableStreamDefaultControllerWrite.
                if !(size >= 0.0 && size.is_finite()) {
                    self.controller_error_if_needed(E::Range);
                    return;
                }
                self.queue.push_back(Item::Chunk(c, size));
                self.queue_total += size;
                if !self.close_queued_or_in_flight() && self.state == State::Writable {
                    let bp = self.desired_size() <= 0.0;
                    self.update_backpressure(bp);
                }
                self.advance_queue_if_needed();
            }
            State::Closed => unreachable!(),
        }
    }

    /// WritableStreamClose; returns the promise.
    fn stream_close(&mut self) -> usize {
        match self.state {
            State::Closed | State::Errored(_) => return self.promise(P::Err(E::Type)),
            _ => {}
        }
        let p = self.promise(P::Pending);
        self.close_request = Some(p);
        if let Some(w) = self.writer {
            if self.backpressure && self.state == State::Writable {
                resolve(&mut self.writers[w].ready);
            }
        }
        self.queue.push_back(Item::Close);
        self.advance_queue_if_needed();
        p
    }

    /// WritableStreamAbort; returns the promise.
    fn stream_abort(&mut self, reason: E) -> usize {
        if matches!(self.state, State::Closed | State::Errored(_)) {
            return self.promise(P::Ok(()));
        }
        if let Some(a) = &self.pending_abort {
            return a.promise;
        }
        let was_already_erroring = matches!(self.state, State::Erroring(_));
        let p = self.promise(P::Pending);
        self.pending_abort = Some(AbortRequest {
            promise: p,
            reason: if was_already_erroring { None } else { Some(reason) },
            was_already_erroring,
        });
        if !was_already_erroring {
            self.start_erroring(reason);
        }
        p
    }

    fn writer_close(&mut self, w: usize) {
        let p = if self.writer != Some(w) || self.close_queued_or_in_flight() {
            self.promise(P::Err(E::Type))
        } else {
            self.stream_close()
        };
        self.closes.push(p);
    }

    fn writer_abort(&mut self, w: usize, reason: E) {
        let p = if self.writer != Some(w) {
            self.promise(P::Err(E::Type))
        } else {
            self.stream_abort(reason)
        };
        self.aborts.push(p);
    }

    fn close_unlocked(&mut self) {
        let p = if self.writer.is_some() || self.close_queued_or_in_flight() {
            self.promise(P::Err(E::Type))
        } else {
            self.stream_close()
        };
        self.closes.push(p);
    }

    fn abort_unlocked(&mut self, reason: E) {
        let p = if self.writer.is_some() {
            self.promise(P::Err(E::Type))
        } else {
            self.stream_abort(reason)
        };
        self.aborts.push(p);
    }
}

// ---------------------------------------------------------------------------------------------
// The library under test.

#[derive(Default)]
struct Shared {
    controller: Option<WritableStreamDefaultController<u32>>,
    calls: Vec<Call>,
    writes: VecDeque<Answer>,
    start: Option<Settler>,
    write: Option<Settler>,
    close: Option<Settler>,
    abort: Option<Settler>,
}

struct Lib {
    shared: Arc<Mutex<Shared>>,
    stream: WritableStream<u32>,
    writers: Vec<WritableStreamDefaultWriter<u32>>,
    writes: Vec<Promised<()>>,
    closes: Vec<Promised<()>>,
    aborts: Vec<Promised<()>>,
}

fn make_lib(hwm: f64, start: Answer, writes: Vec<Answer>, close: Answer, abort: Answer) -> Result<Lib, E> {
    let shared = Arc::new(Mutex::new(Shared {
        writes: writes.into(),
        ..Shared::default()
    }));
    let (s1, s2, s3, s4) = (shared.clone(), shared.clone(), shared.clone(), shared.clone());
    let sink = SinkFn::new()
        .start(move |c| {
            let mut s = lock(&s1);
            s.controller = Some(c.clone());
            common::start_with(start, &mut s.start)
        })
        .write(move |chunk, _| {
            let mut s = lock(&s2);
            s.calls.push(Call::Write(chunk));
            let a = s.writes.pop_front().unwrap_or(Answer::Later);
            answer_with(a, &mut s.write)
        })
        .close(move || {
            let mut s = lock(&s3);
            s.calls.push(Call::Close);
            answer_with(close, &mut s.close)
        })
        .abort(move |reason: StreamError| {
            let mut s = lock(&s4);
            s.calls.push(Call::Abort(E::of(&reason)));
            answer_with(abort, &mut s.abort)
        });
    let strategy = QueuingStrategy::with_fallible_size(Some(hwm), |c: &u32| common::chunk_size(*c));
    let stream = WritableStream::with_strategy(sink, strategy).map_err(|e| E::of(&e))?;
    Ok(Lib {
        shared,
        stream,
        writers: Vec::new(),
        writes: Vec::new(),
        closes: Vec::new(),
        aborts: Vec::new(),
    })
}

impl Lib {
    fn settle(&self, slot: fn(&mut Shared) -> &mut Option<Settler>, o: Outcome) -> bool {
        let r = slot(&mut lock(&self.shared)).take();
        r.map(|r| r.settle(o.result())).is_some()
    }
}

/// Applies `op` to both; returns the synchronous results (only `get_writer` has one).
fn step(m: &mut Model, l: &mut Lib, op: &Op) -> SyncResults {
    let last = m.writers.len().checked_sub(1);
    match *op {
        Op::GetWriter => {
            let lr = l
                .stream
                .get_writer()
                .map(|w| l.writers.push(w))
                .map_err(|e| E::of(&e));
            return (Some(m.get_writer()), Some(lr));
        }
        Op::Write(c) => {
            if let Some(w) = last {
                m.write(w, c);
                l.writes.push(l.writers[w].write(c));
            }
        }
        Op::Close => {
            if let Some(w) = last {
                m.writer_close(w);
                l.closes.push(l.writers[w].close());
            }
        }
        Op::Abort(n) => {
            if let Some(w) = last {
                m.writer_abort(w, E::User(n));
                l.aborts.push(l.writers[w].abort(E::user(n)));
            }
        }
        Op::Release => {
            if let Some(w) = last {
                m.release(w);
                l.writers[w].release_lock();
            }
        }
        Op::StreamClose => {
            m.close_unlocked();
            l.closes.push(l.stream.close());
        }
        Op::StreamAbort(n) => {
            m.abort_unlocked(E::User(n));
            l.aborts.push(l.stream.abort(E::user(n)));
        }
        Op::Error(n) => {
            // The controller's error(e) method: only while writable.
            if m.state == State::Writable {
                m.controller_error_if_needed(E::User(n));
            }
            let c = lock(&l.shared).controller.clone().unwrap();
            c.error(E::user(n));
        }
        Op::SettleStart(o) => {
            if l.settle(|s| &mut s.start, o) {
                m.micro.push_back(Micro::Start(o.model()));
            }
        }
        Op::SettleWrite(o) => {
            if l.settle(|s| &mut s.write, o) {
                m.micro.push_back(Micro::Write(o.model()));
            }
        }
        Op::SettleClose(o) => {
            if l.settle(|s| &mut s.close, o) {
                m.micro.push_back(Micro::Close(o.model()));
            }
        }
        Op::SettleAbort(o) => {
            if l.settle(|s| &mut s.abort, o) {
                m.micro.push_back(Micro::Abort(o.model()));
            }
        }
    }
    (None, None)
}

fn compare(m: &Model, l: &mut Lib) -> Result<(), String> {
    l.stream.host().run_queued();
    check(
        "locked",
        m.writer.is_some().to_string(),
        l.stream.locked().to_string(),
    )?;
    let calls = lock(&l.shared).calls.clone();
    check("sink calls", format!("{:?}", m.calls), format!("{calls:?}"))?;
    for (i, w) in l.writers.iter().enumerate() {
        let lw = Writer {
            ready: peek(&w.ready()),
            closed: peek(&w.closed()),
        };
        check(
            &format!("writer {i}"),
            format!("{:?}", m.writers[i]),
            format!("{lw:?}"),
        )?;
        let desired = if m.writer == Some(i) {
            Ok(m.writer_desired_size())
        } else {
            Err(E::Type)
        };
        let ld = w.desired_size().map_err(|e| E::of(&e));
        check(
            &format!("writer {i} desired_size"),
            format!("{desired:?}"),
            format!("{ld:?}"),
        )?;
    }
    for (i, p) in l.writes.iter().enumerate() {
        check(
            &format!("write {i}"),
            format!("{:?}", m.writes[i]),
            format!("{:?}", peek(p)),
        )?;
    }
    for (i, p) in l.closes.iter().enumerate() {
        check(
            &format!("close {i}"),
            format!("{:?}", m.promises[m.closes[i]]),
            format!("{:?}", peek(p)),
        )?;
    }
    for (i, p) in l.aborts.iter().enumerate() {
        check(
            &format!("abort {i}"),
            format!("{:?}", m.promises[m.aborts[i]]),
            format!("{:?}", peek(p)),
        )?;
    }
    Ok(())
}

fn run(
    hwm: f64,
    start: Answer,
    writes: Vec<Answer>,
    close: Answer,
    abort: Answer,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut m = Model::new(hwm, writes.clone(), close, abort);
    let model_ctor = m.start(start);
    let mut l = match (model_ctor, make_lib(hwm, start, writes, close, abort)) {
        (Err(me), Err(le)) => {
            prop_assert_eq!(me, le, "constructor errors");
            return Ok(());
        }
        (Ok(()), Ok(l)) => l,
        (me, le) => {
            return Err(TestCaseError::fail(format!(
                "constructor: model {me:?}, library {:?}",
                le.map(|_| ())
            )))
        }
    };
    m.run_microtasks();
    compare(&m, &mut l).map_err(|e| TestCaseError::fail(format!("after construction: {e}")))?;
    for (i, op) in ops.iter().enumerate() {
        let (ms, ls) = step(&mut m, &mut l, op);
        m.run_microtasks();
        prop_assert_eq!(ms, ls, "step {} {:?}: synchronous result", i, op);
        compare(&m, &mut l).map_err(|e| TestCaseError::fail(format!("step {i} {op:?}: {e}")))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::config())]

    #[test]
    fn writable_stream_matches_the_model(
        hwm in prop_oneof![Just(0.0), Just(1.0), Just(2.0), Just(5.0)],
        start in answer(),
        writes in proptest::collection::vec(answer(), 0..8),
        close in answer(),
        abort in answer(),
        ops in proptest::collection::vec(op(), 1..40),
        flavour in common::flavour(),
    ) {
        common::set_flavour(flavour);
        run(hwm, start, writes, close, abort, ops)?;
    }
}
