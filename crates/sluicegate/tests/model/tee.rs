//! `tee()` of a default stream, against a model of ReadableStreamDefaultTee at rest: after every
//! operation (source enqueue, close or error; a read or a cancel on either branch), once
//! everything queued has run, the tee has read from the source exactly while a branch wanted a
//! chunk (a read waiting, or a queue under its high-water mark of 1), every chunk read went to
//! both branches that are not cancelled, a branch's cancel settles only when the other branch is
//! cancelled too or the source ends, and the source is cancelled with both reasons. The source's
//! cancel answers at once (fulfilled or rejected), later (`Op::AnswerCancel`) or by panicking;
//! both branches' cancel promises wait for it and settle with its result.

use crate::common::check;
use crate::common::{self, answer_with, lock, peek, Answer, Outcome, Settler, SyncResults, Tracked, E, P};
use proptest::prelude::*;
use sluicegate::readable::{
    ReadFuture, ReadableStream, ReadableStreamDefaultReader, SourceFn, TeeCancelReasons,
};
use sluicegate::{Promised, ReadableStreamDefaultController};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
enum Op {
    Enqueue(u32),
    Close,
    Error(u32),
    Read(usize),
    Cancel(usize, u32),
    /// Settles the source's cancel, if it answered later and has not settled.
    AnswerCancel(Outcome),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u32..1000).prop_map(Op::Enqueue),
        1 => Just(Op::Close),
        1 => (0u32..100).prop_map(Op::Error),
        8 => (0usize..2).prop_map(Op::Read),
        1 => (0usize..2, 0u32..100).prop_map(|(b, n)| Op::Cancel(b, n)),
        1 => common::outcome().prop_map(|o| Op::AnswerCancel(match o {
            Outcome::Err(n) => Outcome::Err(300 + n),
            ok => ok,
        })),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Readable,
    Closed,
    Errored(E),
}

#[derive(Default)]
struct Branch {
    queue: VecDeque<u32>,
    reads: VecDeque<usize>,
    close_requested: bool,
    cancelled: Option<E>,
    /// The branch's cancel promises, by index into the model's `cancels`.
    cancel_promises: Vec<usize>,
}

struct Model {
    source: State,
    source_queue: VecDeque<u32>,
    source_close_requested: bool,
    branch_state: [State; 2],
    branches: [Branch; 2],
    /// The tee's read from the source is waiting for a chunk.
    reading: bool,
    reads: Vec<P<Option<u32>>>,
    cancels: Vec<P<()>>,
    source_cancel: Option<(E, E)>,
    /// The tee's cancel promise has settled (both cancelled, or the source ended).
    tee_cancel_settled: bool,
    /// How the source's cancel answers.
    cancel_answer: Answer,
    /// The source's cancel answered later and has not settled yet.
    cancel_waiting: bool,
}

impl Model {
    fn new(cancel_answer: Answer) -> Self {
        Model {
            source: State::Readable,
            source_queue: VecDeque::new(),
            source_close_requested: false,
            branch_state: [State::Readable; 2],
            branches: Default::default(),
            reading: false,
            reads: Vec::new(),
            cancels: Vec::new(),
            source_cancel: None,
            tee_cancel_settled: false,
            cancel_answer,
            cancel_waiting: false,
        }
    }

    fn wants(&self, b: usize) -> bool {
        let br = &self.branches[b];
        self.branch_state[b] == State::Readable
            && !br.close_requested
            && br.cancelled.is_none()
            && (!br.reads.is_empty() || br.queue.is_empty())
    }

    /// The tee's read delivered `c`: to both branches not cancelled.
    fn deliver(&mut self, c: u32) {
        for b in 0..2 {
            if self.branches[b].cancelled.is_some() || self.branch_state[b] != State::Readable {
                continue;
            }
            match self.branches[b].reads.pop_front() {
                Some(r) => self.reads[r] = P::Ok(Some(c)),
                None => self.branches[b].queue.push_back(c),
            }
        }
    }

    fn settle_cancel(&mut self) {
        self.settle_cancel_with(Ok(()));
    }

    /// Settles the tee's cancel promise, which both branches' cancels return.
    fn settle_cancel_with(&mut self, result: Result<(), E>) {
        if !self.tee_cancel_settled {
            self.tee_cancel_settled = true;
            for b in 0..2 {
                for &p in &self.branches[b].cancel_promises {
                    self.cancels[p] = result.map_or_else(P::Err, P::Ok);
                }
            }
        }
    }

    /// The source's cancel, answered later, settles.
    fn answer_cancel(&mut self, o: Outcome) {
        if self.cancel_waiting {
            self.cancel_waiting = false;
            self.settle_cancel_with(o.model());
        }
    }

    /// The source closed under the tee's read: close both branches.
    fn close_branches(&mut self) {
        for b in 0..2 {
            if self.branches[b].cancelled.is_none() && self.branch_state[b] == State::Readable {
                if self.branches[b].queue.is_empty() {
                    self.branch_state[b] = State::Closed;
                    for r in self.branches[b].reads.drain(..) {
                        self.reads[r] = P::Ok(None);
                    }
                } else {
                    self.branches[b].close_requested = true;
                }
            }
        }
        self.settle_cancel();
    }

    /// Runs the tee until no branch wants a chunk or the source has none yet.
    fn run(&mut self) {
        while !self.reading && (self.wants(0) || self.wants(1)) {
            match self.source {
                State::Readable => {
                    if let Some(c) = self.source_queue.pop_front() {
                        if self.source_close_requested && self.source_queue.is_empty() {
                            self.source = State::Closed;
                        }
                        self.deliver(c);
                    } else {
                        self.reading = true;
                    }
                }
                State::Closed => {
                    self.close_branches();
                    return;
                }
                State::Errored(_) => return,
            }
        }
    }

    fn enqueue(&mut self, c: u32) -> Result<(), E> {
        if self.source != State::Readable || self.source_close_requested {
            return Err(E::Type);
        }
        if self.reading {
            self.reading = false;
            self.deliver(c);
        } else {
            self.source_queue.push_back(c);
        }
        self.run();
        Ok(())
    }

    fn close(&mut self) -> Result<(), E> {
        if self.source != State::Readable || self.source_close_requested {
            return Err(E::Type);
        }
        if self.source_queue.is_empty() {
            self.source = State::Closed;
            if self.reading {
                self.reading = false;
                self.close_branches();
            }
        } else {
            self.source_close_requested = true;
        }
        self.run();
        Ok(())
    }

    fn error(&mut self, e: E) {
        if self.source != State::Readable {
            return;
        }
        self.source = State::Errored(e);
        self.source_queue.clear();
        self.reading = false;
        for b in 0..2 {
            if self.branch_state[b] == State::Readable {
                self.branch_state[b] = State::Errored(e);
                self.branches[b].queue.clear();
                for r in self.branches[b].reads.drain(..) {
                    self.reads[r] = P::Err(e);
                }
            }
        }
        self.settle_cancel();
    }

    fn read(&mut self, b: usize) {
        let i = self.reads.len();
        self.reads.push(P::Pending);
        match self.branch_state[b] {
            State::Closed => self.reads[i] = P::Ok(None),
            State::Errored(e) => self.reads[i] = P::Err(e),
            State::Readable => {
                let br = &mut self.branches[b];
                if let Some(c) = br.queue.pop_front() {
                    if br.close_requested && br.queue.is_empty() {
                        self.branch_state[b] = State::Closed;
                    }
                    self.reads[i] = P::Ok(Some(c));
                } else {
                    br.reads.push_back(i);
                }
                self.run();
            }
        }
    }

    fn cancel(&mut self, b: usize, reason: E) {
        let i = self.cancels.len();
        match self.branch_state[b] {
            State::Closed => self.cancels.push(P::Ok(())),
            State::Errored(e) => self.cancels.push(P::Err(e)),
            State::Readable => {
                self.cancels.push(if self.tee_cancel_settled {
                    P::Ok(())
                } else {
                    P::Pending
                });
                self.branch_state[b] = State::Closed;
                let br = &mut self.branches[b];
                br.queue.clear();
                for r in br.reads.drain(..) {
                    self.reads[r] = P::Ok(None);
                }
                br.cancelled = Some(reason);
                br.cancel_promises.push(i);
                if let (Some(r1), Some(r2)) = (self.branches[0].cancelled, self.branches[1].cancelled) {
                    if self.source == State::Readable {
                        self.source_cancel = Some((r1, r2));
                        self.source = State::Closed;
                        self.source_queue.clear();
                        self.reading = false;
                        match self.cancel_answer {
                            Answer::Now(o) => self.settle_cancel_with(o.model()),
                            Answer::Panic => self.settle_cancel_with(Err(E::Panic)),
                            Answer::Later => self.cancel_waiting = true,
                        }
                    } else {
                        self.settle_cancel();
                    }
                }
                self.run();
            }
        }
    }
}

#[derive(Default)]
struct Shared {
    controller: Option<ReadableStreamDefaultController<u32>>,
    cancel: Option<(E, E)>,
    /// What settles the source's cancel when it answered later.
    cancel_settler: Option<Settler>,
}

struct Lib {
    shared: Arc<Mutex<Shared>>,
    source: ReadableStream<u32>,
    readers: [ReadableStreamDefaultReader<u32>; 2],
    reads: Vec<Tracked<Option<u32>, ReadFuture<u32>, Option<u32>>>,
    cancels: Vec<Promised<()>>,
}

fn make_lib(hwm: f64, cancel_answer: Answer) -> Lib {
    let shared = Arc::new(Mutex::new(Shared::default()));
    let (s1, s2) = (shared.clone(), shared.clone());
    let source = ReadableStream::with_strategy(
        SourceFn::new()
            .start(move |c| lock(&s1).controller = Some(c.clone()))
            .cancel(move |reason: sluicegate::StreamError| {
                let r = reason
                    .reason::<TeeCancelReasons>()
                    .expect("a tee cancels with both reasons");
                let mut shared = lock(&s2);
                shared.cancel = Some((E::of(r.branch1()), E::of(r.branch2())));
                answer_with(cancel_answer, &mut shared.cancel_settler)
            }),
        sluicegate::QueuingStrategy::count(hwm),
    )
    .unwrap();
    let (a, b) = source.tee().unwrap();
    Lib {
        shared,
        readers: [a.get_reader().unwrap(), b.get_reader().unwrap()],
        source,
        reads: Vec::new(),
        cancels: Vec::new(),
    }
}

fn step(m: &mut Model, l: &mut Lib, op: &Op) -> SyncResults {
    let to = |r: Result<(), sluicegate::StreamError>| r.map_err(|e| E::of(&e));
    let controller = lock(&l.shared).controller.clone().unwrap();
    match *op {
        Op::Enqueue(c) => return (Some(m.enqueue(c)), Some(to(controller.enqueue(c)))),
        Op::Close => return (Some(m.close()), Some(to(controller.close()))),
        Op::Error(n) => {
            m.error(E::User(n));
            controller.error(E::user(n));
        }
        Op::Read(b) => {
            m.read(b);
            l.reads.push(Tracked::new(l.readers[b].read(), |v| v));
        }
        Op::Cancel(b, n) => {
            m.cancel(b, E::User(n));
            l.cancels.push(l.readers[b].cancel(E::user(n)));
        }
        Op::AnswerCancel(o) => {
            m.answer_cancel(o);
            if let Some(settler) = lock(&l.shared).cancel_settler.take() {
                settler.settle(o.result());
            }
        }
    }
    (None, None)
}

fn compare(m: &Model, l: &mut Lib) -> Result<(), String> {
    for _ in 0..3 {
        l.source.host().run_queued();
        for r in &mut l.reads {
            r.poll();
        }
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
    for b in 0..2 {
        let closed = match m.branch_state[b] {
            State::Readable => P::Pending,
            State::Closed => P::Ok(()),
            State::Errored(e) => P::Err(e),
        };
        check(
            &format!("branch {b} closed"),
            format!("{closed:?}"),
            format!("{:?}", peek(&l.readers[b].closed())),
        )?;
    }
    let cancel = lock(&l.shared).cancel;
    check(
        "source cancel",
        format!("{:?}", m.source_cancel),
        format!("{cancel:?}"),
    )?;
    Ok(())
}

proptest! {
    #![proptest_config(common::config())]

    #[test]
    fn tee_matches_the_model(
        hwm in prop_oneof![Just(0.0), Just(1.0), Just(3.0)],
        cancel_answer in common::answer(),
        flavour in common::flavour(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        common::quiet_injected_panics();
        common::set_flavour(flavour);
        let mut m = Model::new(cancel_answer);
        let mut l = make_lib(hwm, cancel_answer);
        m.run();
        compare(&m, &mut l).map_err(|e| TestCaseError::fail(format!("after tee: {e}")))?;
        for (i, op) in ops.iter().enumerate() {
            let (ms, ls) = step(&mut m, &mut l, op);
            prop_assert_eq!(ms, ls, "step {} {:?}: synchronous result", i, op);
            compare(&m, &mut l).map_err(|e| TestCaseError::fail(format!("step {i} {op:?}: {e}")))?;
        }
    }
}
