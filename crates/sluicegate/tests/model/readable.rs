//! `ReadableStream` with a default controller, against a model of the standard's §4.2–4.9:
//! enqueue (with sizes the standard rejects, a size function that fails and one that panics),
//! close, error, reads, reader release and re-acquisition, cancel through the stream and through
//! the reader, and a source whose start, pull and cancel answer at once, later or by panicking.

use crate::common::check;
use crate::common::{
    self, answer, answer_with, chunk, model_size, outcome, peek, Answer, Outcome, Tracked, E, P,
};
use crate::common::{Settler, SyncResults};
use proptest::prelude::*;
use sluicegate::readable::{ReadFuture, ReadableStream, ReadableStreamDefaultReader, SourceFn};
use sluicegate::{Completion, Promised, QueuingStrategy, ReadableStreamDefaultController};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// What the source does when pulled.
#[derive(Clone, Copy, Debug)]
enum Pull {
    /// Answers.
    Answer(Answer),
    /// Enqueues a chunk from inside `pull`, then fulfils.
    Enqueue(u32),
}

/// A call into the source.
#[derive(Clone, Debug, PartialEq)]
enum Call {
    Pull,
    Cancel(E),
}

#[derive(Clone, Debug)]
enum Op {
    Enqueue(u32),
    Close,
    Error(u32),
    GetReader,
    Read,
    Release,
    CancelStream(u32),
    CancelReader(u32),
    SettleStart(Outcome),
    SettlePull(Outcome),
    SettleCancel(Outcome),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => chunk().prop_map(Op::Enqueue),
        1 => Just(Op::Close),
        1 => (0u32..100).prop_map(Op::Error),
        2 => Just(Op::GetReader),
        6 => Just(Op::Read),
        1 => Just(Op::Release),
        1 => (0u32..100).prop_map(Op::CancelStream),
        1 => (0u32..100).prop_map(Op::CancelReader),
        2 => outcome().prop_map(Op::SettleStart),
        4 => outcome().prop_map(Op::SettlePull),
        1 => outcome().prop_map(Op::SettleCancel),
    ]
}

fn pull() -> impl Strategy<Value = Pull> {
    prop_oneof![3 => answer().prop_map(Pull::Answer), 2 => chunk().prop_map(Pull::Enqueue)]
}

// ---------------------------------------------------------------------------------------------
// The model: the standard's slots and abstract operations, nothing more.

#[derive(Clone, Debug, PartialEq)]
enum State {
    Readable,
    Closed,
    Errored(E),
}

/// A reaction to a source promise, run as a microtask.
enum Micro {
    Start(Result<(), E>),
    Pull(Result<(), E>),
    Cancel(usize, Result<(), E>),
}

struct Model {
    hwm: f64,
    state: State,
    queue: VecDeque<(u32, f64)>,
    queue_total: f64,
    started: bool,
    close_requested: bool,
    pulling: bool,
    pull_again: bool,
    disturbed: bool,
    pulls: VecDeque<Pull>,
    cancel_answer: Answer,
    /// The current reader (index into `readers`), if the stream is locked.
    reader: Option<usize>,
    /// Per reader: its `closed` promise.
    readers: Vec<P<()>>,
    /// Per read: its result (`Ok(None)` is done).
    reads: Vec<P<Option<u32>>>,
    read_requests: VecDeque<usize>,
    cancels: Vec<P<()>>,
    pending_start: bool,
    pending_pull: bool,
    pending_cancel: Option<usize>,
    micro: VecDeque<Micro>,
    calls: Vec<Call>,
}

impl Model {
    fn new(hwm: f64, pulls: Vec<Pull>, cancel_answer: Answer) -> Self {
        Model {
            hwm,
            state: State::Readable,
            queue: VecDeque::new(),
            queue_total: 0.0,
            started: false,
            close_requested: false,
            pulling: false,
            pull_again: false,
            disturbed: false,
            pulls: pulls.into(),
            cancel_answer,
            reader: None,
            readers: Vec::new(),
            reads: Vec::new(),
            read_requests: VecDeque::new(),
            cancels: Vec::new(),
            pending_start: false,
            pending_pull: false,
            pending_cancel: None,
            micro: VecDeque::new(),
            calls: Vec::new(),
        }
    }

    /// Start's answer: the constructor fails on a synchronous error or panic.
    fn start(&mut self, a: Answer) -> Result<(), E> {
        match a {
            Answer::Now(Outcome::Ok) => self.micro.push_back(Micro::Start(Ok(()))),
            Answer::Now(Outcome::Err(n)) => return Err(E::User(n)),
            Answer::Panic => return Err(E::Panic),
            Answer::Later => self.pending_start = true,
        }
        Ok(())
    }

    fn run_microtasks(&mut self) {
        while let Some(m) = self.micro.pop_front() {
            match m {
                Micro::Start(Ok(())) => {
                    self.started = true;
                    self.call_pull_if_needed();
                }
                Micro::Pull(Ok(())) => {
                    self.pulling = false;
                    if self.pull_again {
                        self.pull_again = false;
                        self.call_pull_if_needed();
                    }
                }
                Micro::Start(Err(e)) | Micro::Pull(Err(e)) => self.controller_error(e),
                Micro::Cancel(i, r) => {
                    self.cancels[i] = match r {
                        Ok(()) => P::Ok(()),
                        Err(e) => P::Err(e),
                    }
                }
            }
        }
    }

    fn desired_size(&self) -> Option<f64> {
        match self.state {
            State::Errored(_) => None,
            State::Closed => Some(0.0),
            State::Readable => Some(self.hwm - self.queue_total),
        }
    }

    fn can_close_or_enqueue(&self) -> bool {
        !self.close_requested && self.state == State::Readable
    }

    fn should_call_pull(&self) -> bool {
        if !self.can_close_or_enqueue() || !self.started {
            return false;
        }
        if self.reader.is_some() && !self.read_requests.is_empty() {
            return true;
        }
        self.desired_size().unwrap() > 0.0
    }

    fn call_pull_if_needed(&mut self) {
        if !self.should_call_pull() {
            return;
        }
        if self.pulling {
            self.pull_again = true;
            return;
        }
        self.pulling = true;
        self.calls.push(Call::Pull);
        match self.pulls.pop_front().unwrap_or(Pull::Answer(Answer::Later)) {
            Pull::Answer(Answer::Now(o)) => self.micro.push_back(Micro::Pull(o.model())),
            Pull::Answer(Answer::Panic) => self.micro.push_back(Micro::Pull(Err(E::Panic))),
            Pull::Answer(Answer::Later) => self.pending_pull = true,
            Pull::Enqueue(c) => {
                // The source calls `enqueue()`, which checks before enqueueing.
                if self.can_close_or_enqueue() {
                    let _ = self.controller_enqueue(c);
                }
                self.micro.push_back(Micro::Pull(Ok(())));
            }
        }
    }

    /// ReadableStreamDefaultControllerEnqueue.
    fn controller_enqueue(&mut self, c: u32) -> Result<(), E> {
        if !self.can_close_or_enqueue() {
            return Ok(());
        }
        if self.reader.is_some() && !self.read_requests.is_empty() {
            let r = self.read_requests.pop_front().unwrap();
            self.reads[r] = P::Ok(Some(c));
        } else {
            match model_size(c) {
                Ok(size) => {
                    self.queue.push_back((c, size));
                    self.queue_total += size;
                }
                Err(e) => {
                    self.controller_error(e);
                    return Err(e);
                }
            }
        }
        self.call_pull_if_needed();
        Ok(())
    }

    /// `controller.enqueue(chunk)`.
    fn enqueue(&mut self, c: u32) -> Result<(), E> {
        if !self.can_close_or_enqueue() {
            return Err(E::Type);
        }
        self.controller_enqueue(c)
    }

    /// `controller.close()`.
    fn close(&mut self) -> Result<(), E> {
        if !self.can_close_or_enqueue() {
            return Err(E::Type);
        }
        self.close_requested = true;
        if self.queue.is_empty() {
            self.stream_close();
        }
        Ok(())
    }

    /// ReadableStreamDefaultControllerError.
    fn controller_error(&mut self, e: E) {
        if self.state != State::Readable {
            return;
        }
        self.queue.clear();
        self.queue_total = 0.0;
        self.state = State::Errored(e);
        if let Some(r) = self.reader {
            self.readers[r] = P::Err(e);
            for req in self.read_requests.drain(..) {
                self.reads[req] = P::Err(e);
            }
        }
    }

    /// ReadableStreamClose.
    fn stream_close(&mut self) {
        self.state = State::Closed;
        if let Some(r) = self.reader {
            self.readers[r] = P::Ok(());
            for req in self.read_requests.drain(..) {
                self.reads[req] = P::Ok(None);
            }
        }
    }

    fn get_reader(&mut self) -> Result<(), E> {
        if self.reader.is_some() {
            return Err(E::Type);
        }
        self.readers.push(match self.state {
            State::Readable => P::Pending,
            State::Closed => P::Ok(()),
            State::Errored(e) => P::Err(e),
        });
        self.reader = Some(self.readers.len() - 1);
        Ok(())
    }

    /// `reader.read()` on reader `r`.
    fn read(&mut self, r: usize) {
        let i = self.reads.len();
        self.reads.push(P::Pending);
        if self.reader != Some(r) {
            self.reads[i] = P::Err(E::Type);
            return;
        }
        self.disturbed = true;
        match self.state {
            State::Closed => self.reads[i] = P::Ok(None),
            State::Errored(e) => self.reads[i] = P::Err(e),
            State::Readable => {
                if let Some((c, size)) = self.queue.pop_front() {
                    self.queue_total -= size;
                    if self.close_requested && self.queue.is_empty() {
                        self.stream_close();
                    } else {
                        self.call_pull_if_needed();
                    }
                    self.reads[i] = P::Ok(Some(c));
                } else {
                    self.read_requests.push_back(i);
                    self.call_pull_if_needed();
                }
            }
        }
    }

    /// `reader.releaseLock()` on reader `r`.
    fn release(&mut self, r: usize) {
        if self.reader != Some(r) {
            return;
        }
        self.readers[r] = P::Err(E::Type);
        self.reader = None;
        for req in self.read_requests.drain(..) {
            self.reads[req] = P::Err(E::Type);
        }
    }

    /// ReadableStreamCancel; returns the promise's index.
    fn cancel(&mut self, reason: E) -> usize {
        let i = self.cancels.len();
        self.disturbed = true;
        match self.state {
            State::Closed => self.cancels.push(P::Ok(())),
            State::Errored(e) => self.cancels.push(P::Err(e)),
            State::Readable => {
                self.cancels.push(P::Pending);
                self.stream_close();
                self.queue.clear();
                self.queue_total = 0.0;
                self.calls.push(Call::Cancel(reason));
                match self.cancel_answer {
                    Answer::Now(o) => self.micro.push_back(Micro::Cancel(i, o.model())),
                    Answer::Panic => self.micro.push_back(Micro::Cancel(i, Err(E::Panic))),
                    Answer::Later => self.pending_cancel = Some(i),
                }
            }
        }
        i
    }

    fn cancel_stream(&mut self, reason: E) {
        if self.reader.is_some() {
            self.cancels.push(P::Err(E::Type));
        } else {
            self.cancel(reason);
        }
    }

    fn cancel_reader(&mut self, r: usize, reason: E) {
        if self.reader != Some(r) {
            self.cancels.push(P::Err(E::Type));
        } else {
            self.cancel(reason);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The library under test, with a source that records its calls and answers as scripted.

#[derive(Default)]
struct Shared {
    controller: Option<ReadableStreamDefaultController<u32>>,
    calls: Vec<Call>,
    pulls: VecDeque<Pull>,
    start_resolver: Option<Settler>,
    pull_resolver: Option<Settler>,
    cancel_resolver: Option<Settler>,
}

struct Lib {
    shared: Arc<Mutex<Shared>>,
    stream: ReadableStream<u32>,
    readers: Vec<ReadableStreamDefaultReader<u32>>,
    reads: Vec<Tracked<Option<u32>, ReadFuture<u32>, Option<u32>>>,
    cancels: Vec<Promised<()>>,
}

fn make_lib(hwm: f64, start: Answer, pulls: Vec<Pull>, cancel_answer: Answer) -> Result<Lib, E> {
    let shared = Arc::new(Mutex::new(Shared {
        pulls: pulls.into(),
        ..Shared::default()
    }));
    let (s1, s2, s3) = (shared.clone(), shared.clone(), shared.clone());
    let source = SourceFn::new()
        .start(move |c| {
            let mut s = s1.lock().unwrap_or_else(|e| e.into_inner());
            s.controller = Some(c.clone());
            common::start_with(start, &mut s.start_resolver)
        })
        .pull(move |c| {
            let mut s = s2.lock().unwrap_or_else(|e| e.into_inner());
            s.calls.push(Call::Pull);
            match s.pulls.pop_front().unwrap_or(Pull::Answer(Answer::Later)) {
                Pull::Answer(a) => answer_with(a, &mut s.pull_resolver),
                Pull::Enqueue(chunk) => {
                    drop(s);
                    let _ = c.enqueue(chunk);
                    Completion::ok()
                }
            }
        })
        .cancel(move |reason| {
            let mut s = s3.lock().unwrap_or_else(|e| e.into_inner());
            s.calls.push(Call::Cancel(E::of(&reason)));
            answer_with(cancel_answer, &mut s.cancel_resolver)
        });
    let strategy = QueuingStrategy::with_fallible_size(Some(hwm), |c: &u32| common::chunk_size(*c));
    let stream = ReadableStream::with_strategy(source, strategy).map_err(|e| E::of(&e))?;
    Ok(Lib {
        shared,
        stream,
        readers: Vec::new(),
        reads: Vec::new(),
        cancels: Vec::new(),
    })
}

impl Lib {
    fn controller(&self) -> ReadableStreamDefaultController<u32> {
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .controller
            .clone()
            .unwrap()
    }

    fn settle(&self, slot: fn(&mut Shared) -> &mut Option<Settler>, o: Outcome) -> bool {
        let r = slot(&mut self.shared.lock().unwrap_or_else(|e| e.into_inner())).take();
        match r {
            Some(r) => {
                r.settle(o.result());
                true
            }
            None => false,
        }
    }

    /// Runs everything queued on the stream's host and polls every future handed out.
    fn drive(&mut self) {
        for _ in 0..3 {
            self.stream.host().run_queued();
            for r in &mut self.reads {
                r.poll();
            }
        }
    }
}

/// Applies `op` to both; returns the synchronous results to compare.
fn step(m: &mut Model, l: &mut Lib, op: &Op) -> SyncResults {
    let to = |r: Result<(), sluicegate::StreamError>| r.map_err(|e| E::of(&e));
    let last = m.readers.len().checked_sub(1);
    match *op {
        Op::Enqueue(c) => (Some(m.enqueue(c)), Some(to(l.controller().enqueue(c)))),
        Op::Close => (Some(m.close()), Some(to(l.controller().close()))),
        Op::Error(n) => {
            m.controller_error(E::User(n));
            l.controller().error(E::user(n));
            (None, None)
        }
        Op::GetReader => {
            let lr = match l.stream.get_reader() {
                Ok(r) => {
                    l.readers.push(r);
                    Ok(())
                }
                Err(e) => Err(E::of(&e)),
            };
            (Some(m.get_reader()), Some(lr))
        }
        Op::Read => {
            if let Some(r) = last {
                m.read(r);
                l.reads.push(Tracked::new(l.readers[r].read(), |v| v));
            }
            (None, None)
        }
        Op::Release => {
            if let Some(r) = last {
                m.release(r);
                l.readers[r].release_lock();
            }
            (None, None)
        }
        Op::CancelStream(n) => {
            m.cancel_stream(E::User(n));
            l.cancels.push(l.stream.cancel(E::user(n)));
            (None, None)
        }
        Op::CancelReader(n) => {
            if let Some(r) = last {
                m.cancel_reader(r, E::User(n));
                l.cancels.push(l.readers[r].cancel(E::user(n)));
            }
            (None, None)
        }
        Op::SettleStart(o) => {
            if l.settle(|s| &mut s.start_resolver, o) {
                m.pending_start = false;
                m.micro.push_back(Micro::Start(o.model()));
            }
            (None, None)
        }
        Op::SettlePull(o) => {
            if l.settle(|s| &mut s.pull_resolver, o) {
                m.pending_pull = false;
                m.micro.push_back(Micro::Pull(o.model()));
            }
            (None, None)
        }
        Op::SettleCancel(o) => {
            if l.settle(|s| &mut s.cancel_resolver, o) {
                let i = m.pending_cancel.take().unwrap();
                m.micro.push_back(Micro::Cancel(i, o.model()));
            }
            (None, None)
        }
    }
}

/// Compares everything observable; returns the first difference.
fn compare(m: &Model, l: &mut Lib) -> Result<(), String> {
    l.drive();
    let d = |x: Option<f64>| format!("{x:?}");
    check(
        "desired_size",
        d(m.desired_size()),
        d(l.controller().desired_size()),
    )?;
    check(
        "locked",
        m.reader.is_some().to_string(),
        l.stream.locked().to_string(),
    )?;
    check(
        "disturbed",
        m.disturbed.to_string(),
        l.stream.is_disturbed().to_string(),
    )?;
    let lib_state = match l.stream.stored_error() {
        Some(e) => State::Errored(E::of(&e)),
        None if l.stream.is_readable() => State::Readable,
        None => State::Closed,
    };
    check("state", format!("{:?}", m.state), format!("{lib_state:?}"))?;
    let calls = l.shared.lock().unwrap_or_else(|e| e.into_inner()).calls.clone();
    check("source calls", format!("{:?}", m.calls), format!("{calls:?}"))?;
    for (i, r) in l.readers.iter().enumerate() {
        check(
            &format!("reader {i} closed"),
            format!("{:?}", m.readers[i]),
            format!("{:?}", peek(&r.closed())),
        )?;
    }
    for (i, r) in l.reads.iter_mut().enumerate() {
        check(
            &format!("read {i}"),
            format!("{:?}", m.reads[i]),
            format!("{:?}", r.poll()),
        )?;
    }
    for (i, c) in l.cancels.iter().enumerate() {
        check(
            &format!("cancel {i}"),
            format!("{:?}", m.cancels[i]),
            format!("{:?}", peek(c)),
        )?;
    }
    Ok(())
}

fn run(hwm: f64, start: Answer, pulls: Vec<Pull>, cancel: Answer, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut m = Model::new(hwm, pulls.clone(), cancel);
    let model_ctor = m.start(start);
    let lib = make_lib(hwm, start, pulls, cancel);
    let mut l = match (model_ctor, lib) {
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
    fn readable_default_stream_matches_the_model(
        hwm in prop_oneof![Just(0.0), Just(1.0), Just(2.0), Just(5.0)],
        start in answer(),
        pulls in proptest::collection::vec(pull(), 0..8),
        cancel in answer(),
        ops in proptest::collection::vec(op(), 1..40),
        flavour in common::flavour(),
    ) {
        common::set_flavour(flavour);
        run(hwm, start, pulls, cancel, ops)?;
    }
}
