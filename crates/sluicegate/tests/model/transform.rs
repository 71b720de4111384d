//! `TransformStream` with a transformer that answers at once, against a model written from the
//! standard's §6 (and the writable and readable operations it calls): writes, close and abort
//! through the writer; reads and cancel through the reader; the controller's enqueue, error and
//! terminate; a transform that fails at a chosen chunk, and a flush and cancel that fulfil or
//! reject. Reactions run in a FIFO like the standard's microtasks; the states are compared once
//! nothing is queued.

use crate::common::check;
use crate::common::{self, lock, outcome, peek, reject, resolve, Outcome, SyncResults, Tracked, E, P};
use proptest::prelude::*;
use sluicegate::readable::{ReadFuture, ReadableStreamDefaultReader};
use sluicegate::transform::TransformerFn;
use sluicegate::{Completion, Promised, QueuingStrategy, StreamError, TransformStream};
use sluicegate::{TransformStreamDefaultController, WritableStreamDefaultWriter};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The reason the transform fails with.
const TRANSFORM_FAILS: u32 = 500;

#[derive(Clone, Debug, PartialEq)]
enum Call {
    Transform(u32),
    Flush,
    Cancel(E),
}

#[derive(Clone, Debug)]
enum Op {
    Write(u32),
    Close,
    Abort(u32),
    Read,
    Cancel(u32),
    Enqueue(u32),
    Error(u32),
    Terminate,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u32..1000).prop_map(Op::Write),
        1 => Just(Op::Close),
        1 => (0u32..100).prop_map(Op::Abort),
        8 => Just(Op::Read),
        1 => (0u32..100).prop_map(Op::Cancel),
        2 => (1000u32..2000).prop_map(Op::Enqueue),
        1 => (0u32..100).prop_map(Op::Error),
        1 => Just(Op::Terminate),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum WState {
    Writable,
    Erroring(E),
    Errored(E),
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum RState {
    Readable,
    Closed,
    Errored(E),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Item {
    Chunk(u32),
    Close,
}

/// What waits for the transform stream's backpressure to change.
enum BpWaiter {
    Write(u32),
    Pull,
}

/// What waits for the transform controller's finish promise.
#[derive(Clone, Copy)]
enum FinishWaiter {
    SinkClose,
    SinkAbort,
    SourceCancel(usize),
}

enum Ev {
    WStart,
    RStart,
    BpWrite(u32),
    TransformRejected(E),
    WriteSettled(Result<(), E>),
    PullSettled,
    Flushed(Result<(), E>),
    SinkCancelled(E, Result<(), E>),
    SourceCancelled(E, Result<(), E>),
    Finish(FinishWaiter, Result<(), E>),
}

struct AbortRequest {
    promise: usize,
    reason: Option<E>,
    was_already_erroring: bool,
}

struct Model {
    fail_at: Option<usize>,
    transforms: usize,
    flush_answer: Result<(), E>,
    cancel_answer: Result<(), E>,
    calls: Vec<Call>,
    // The transform stream and its controller.
    bp: bool,
    bp_waiters: Vec<BpWaiter>,
    finish: Option<P<()>>,
    finish_waiters: Vec<FinishWaiter>,
    /// TransformStreamDefaultControllerClearAlgorithms has run: the transformer is not called
    /// again, and a cleared flush or cancel counts as fulfilled (the standard leaves calling a
    /// cleared algorithm undefined; a missing transformer method is a fulfilled one).
    t_cleared: bool,
    // The writable side.
    w: WState,
    w_hwm: f64,
    w_queue: VecDeque<Item>,
    w_started: bool,
    w_backpressure: bool,
    write_requests: VecDeque<usize>,
    in_flight_write: Option<usize>,
    close_request: Option<usize>,
    in_flight_close: Option<usize>,
    pending_abort: Option<AbortRequest>,
    pending_abort_promise: Option<usize>,
    ready: P<()>,
    w_closed: P<()>,
    // The readable side.
    r: RState,
    r_hwm: f64,
    r_queue: VecDeque<u32>,
    r_close_requested: bool,
    r_started: bool,
    pulling: bool,
    pull_again: bool,
    read_requests: VecDeque<usize>,
    r_closed: P<()>,
    // Promises handed out.
    writes: Vec<P<()>>,
    promises: Vec<P<()>>,
    closes: Vec<usize>,
    aborts: Vec<usize>,
    reads: Vec<P<Option<u32>>>,
    cancels: Vec<P<()>>,
    micro: VecDeque<Ev>,
}

impl Model {
    fn new(w_hwm: f64, r_hwm: f64, fail_at: Option<usize>, flush: Outcome, cancel: Outcome) -> Self {
        let mut m = Model {
            fail_at,
            transforms: 0,
            flush_answer: flush.model(),
            cancel_answer: cancel.model(),
            calls: Vec::new(),
            bp: false,
            bp_waiters: Vec::new(),
            finish: None,
            finish_waiters: Vec::new(),
            t_cleared: false,
            w: WState::Writable,
            w_hwm,
            w_queue: VecDeque::new(),
            w_started: false,
            w_backpressure: false,
            write_requests: VecDeque::new(),
            in_flight_write: None,
            close_request: None,
            in_flight_close: None,
            pending_abort: None,
            pending_abort_promise: None,
            ready: P::Ok(()),
            w_closed: P::Pending,
            r: RState::Readable,
            r_hwm,
            r_queue: VecDeque::new(),
            r_close_requested: false,
            r_started: false,
            pulling: false,
            pull_again: false,
            read_requests: VecDeque::new(),
            r_closed: P::Pending,
            writes: Vec::new(),
            promises: Vec::new(),
            closes: Vec::new(),
            aborts: Vec::new(),
            reads: Vec::new(),
            cancels: Vec::new(),
            micro: VecDeque::new(),
        };
        // InitializeTransformStream: the writable side (backpressure from its empty queue), then
        // the transform's own backpressure, true; start fulfils at once.
        m.w_backpressure = m.w_hwm <= 0.0;
        m.set_backpressure(true);
        // The writer and reader are acquired right after construction.
        m.ready = if m.w_backpressure { P::Pending } else { P::Ok(()) };
        m.micro.push_back(Ev::WStart);
        m.micro.push_back(Ev::RStart);
        m
    }

    fn run_microtasks(&mut self) {
        while let Some(ev) = self.micro.pop_front() {
            match ev {
                Ev::WStart => {
                    self.w_started = true;
                    self.advance_queue_if_needed();
                }
                Ev::RStart => {
                    self.r_started = true;
                    self.call_pull_if_needed();
                }
                Ev::BpWrite(c) => match self.w {
                    WState::Erroring(e) => self.micro.push_back(Ev::WriteSettled(Err(e))),
                    _ => self.perform_transform(c),
                },
                Ev::TransformRejected(e) => {
                    self.transform_stream_error(e);
                    self.micro.push_back(Ev::WriteSettled(Err(e)));
                }
                Ev::WriteSettled(r) => self.write_settled(r),
                Ev::PullSettled => {
                    self.pulling = false;
                    if self.pull_again {
                        self.pull_again = false;
                        self.call_pull_if_needed();
                    }
                }
                Ev::Flushed(Ok(())) => {
                    if let RState::Errored(e) = self.r {
                        self.settle_finish(Err(e));
                    } else {
                        self.r_controller_close();
                        self.settle_finish(Ok(()));
                    }
                }
                Ev::Flushed(Err(e)) => {
                    self.r_controller_error(e);
                    self.settle_finish(Err(e));
                }
                Ev::SinkCancelled(reason, Ok(())) => {
                    if let RState::Errored(e) = self.r {
                        self.settle_finish(Err(e));
                    } else {
                        self.r_controller_error(reason);
                        self.settle_finish(Ok(()));
                    }
                }
                Ev::SinkCancelled(_, Err(e)) => {
                    self.r_controller_error(e);
                    self.settle_finish(Err(e));
                }
                Ev::SourceCancelled(reason, r) => {
                    let e = r.err().unwrap_or(reason);
                    if let (Ok(()), WState::Errored(stored)) = (r, self.w) {
                        self.settle_finish(Err(stored));
                    } else {
                        self.w_error_if_needed(e);
                        self.unblock_write();
                        self.settle_finish(r);
                    }
                }
                Ev::Finish(FinishWaiter::SinkClose, r) => self.close_settled(r),
                Ev::Finish(FinishWaiter::SinkAbort, r) => {
                    let a = self.pending_abort_promise.take().unwrap();
                    match r {
                        Ok(()) => resolve(&mut self.promises[a]),
                        Err(e) => reject(&mut self.promises[a], e),
                    }
                    self.reject_close_and_closed_promise_if_needed();
                }
                Ev::Finish(FinishWaiter::SourceCancel(i), r) => {
                    self.cancels[i] = r.map_or_else(P::Err, P::Ok)
                }
            }
        }
    }

    // --- The transform stream.

    fn set_backpressure(&mut self, bp: bool) {
        for w in self.bp_waiters.drain(..) {
            self.micro.push_back(match w {
                BpWaiter::Write(c) => Ev::BpWrite(c),
                BpWaiter::Pull => Ev::PullSettled,
            });
        }
        self.bp = bp;
    }

    fn unblock_write(&mut self) {
        if self.bp {
            self.set_backpressure(false);
        }
    }

    fn transform_stream_error(&mut self, e: E) {
        self.r_controller_error(e);
        self.error_writable_and_unblock_write(e);
    }

    fn error_writable_and_unblock_write(&mut self, e: E) {
        self.t_cleared = true;
        self.w_error_if_needed(e);
        self.unblock_write();
    }

    /// TransformStreamDefaultControllerEnqueue.
    fn ts_enqueue(&mut self, c: u32) -> Result<(), E> {
        if !self.r_can_close_or_enqueue() {
            return Err(E::Type);
        }
        self.r_enqueue(c);
        let bp = !self.r_should_call_pull();
        if bp != self.bp {
            self.set_backpressure(true);
        }
        Ok(())
    }

    fn perform_transform(&mut self, c: u32) {
        self.calls.push(Call::Transform(c));
        let n = self.transforms;
        self.transforms += 1;
        let r = if self.fail_at == Some(n) {
            Err(E::User(TRANSFORM_FAILS))
        } else {
            self.ts_enqueue(c)
        };
        match r {
            Ok(()) => self.micro.push_back(Ev::WriteSettled(Ok(()))),
            Err(e) => self.micro.push_back(Ev::TransformRejected(e)),
        }
    }

    /// Calls the transformer's cancel (or flush) unless the algorithms were cleared; clears them.
    fn call_cleanup(&mut self, call: Call, answer: Result<(), E>) -> Result<(), E> {
        if std::mem::replace(&mut self.t_cleared, true) {
            return Ok(());
        }
        self.calls.push(call);
        answer
    }

    fn settle_finish(&mut self, r: Result<(), E>) {
        self.finish = Some(r.map_or_else(P::Err, P::Ok));
        for w in self.finish_waiters.drain(..) {
            self.micro.push_back(Ev::Finish(w, r));
        }
    }

    /// Waits on the finish promise, which exists already.
    fn wait_finish(&mut self, w: FinishWaiter) {
        match self.finish.clone().unwrap() {
            P::Pending => self.finish_waiters.push(w),
            P::Ok(()) => self.micro.push_back(Ev::Finish(w, Ok(()))),
            P::Err(e) => self.micro.push_back(Ev::Finish(w, Err(e))),
        }
    }

    // --- The writable side (its sink is the transform's).

    fn w_desired_size(&self) -> f64 {
        self.w_hwm
            - self
                .w_queue
                .iter()
                .filter(|i| matches!(i, Item::Chunk(_)))
                .count() as f64
    }

    fn close_queued_or_in_flight(&self) -> bool {
        self.close_request.is_some() || self.in_flight_close.is_some()
    }

    fn update_w_backpressure(&mut self, bp: bool) {
        if bp != self.w_backpressure {
            if bp {
                self.ready = P::Pending;
            } else {
                resolve(&mut self.ready);
            }
        }
        self.w_backpressure = bp;
    }

    fn w_stored(&self) -> Option<E> {
        match self.w {
            WState::Erroring(e) | WState::Errored(e) => Some(e),
            _ => None,
        }
    }

    fn start_erroring(&mut self, reason: E) {
        self.w = WState::Erroring(reason);
        self.ready = P::Err(reason);
        if self.in_flight_write.is_none() && self.in_flight_close.is_none() && self.w_started {
            self.finish_erroring();
        }
    }

    fn finish_erroring(&mut self) {
        let WState::Erroring(stored) = self.w else {
            unreachable!()
        };
        self.w = WState::Errored(stored);
        self.w_queue.clear();
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
        // [[AbortSteps]]: TransformStreamDefaultSinkAbortAlgorithm.
        let reason = a.reason.unwrap();
        self.pending_abort_promise = Some(a.promise);
        if self.finish.is_none() {
            self.finish = Some(P::Pending);
            let r = self.call_cleanup(Call::Cancel(reason), self.cancel_answer);
            self.micro.push_back(Ev::SinkCancelled(reason, r));
        }
        self.wait_finish(FinishWaiter::SinkAbort);
    }

    fn reject_close_and_closed_promise_if_needed(&mut self) {
        let stored = self.w_stored().unwrap();
        if let Some(c) = self.close_request.take() {
            reject(&mut self.promises[c], stored);
        }
        reject(&mut self.w_closed, stored);
    }

    fn deal_with_rejection(&mut self, e: E) {
        if self.w == WState::Writable {
            self.start_erroring(e);
        } else {
            self.finish_erroring();
        }
    }

    fn w_error_if_needed(&mut self, e: E) {
        if self.w == WState::Writable {
            self.start_erroring(e);
        }
    }

    fn advance_queue_if_needed(&mut self) {
        if !self.w_started || self.in_flight_write.is_some() {
            return;
        }
        if matches!(self.w, WState::Erroring(_)) {
            self.finish_erroring();
            return;
        }
        match self.w_queue.front().copied() {
            None => {}
            Some(Item::Close) => {
                self.in_flight_close = self.close_request.take();
                self.w_queue.pop_front();
                // TransformStreamDefaultSinkCloseAlgorithm.
                if self.finish.is_none() {
                    self.finish = Some(P::Pending);
                    let r = self.call_cleanup(Call::Flush, self.flush_answer);
                    self.micro.push_back(Ev::Flushed(r));
                }
                self.wait_finish(FinishWaiter::SinkClose);
            }
            Some(Item::Chunk(c)) => {
                self.in_flight_write = self.write_requests.pop_front();
                // TransformStreamDefaultSinkWriteAlgorithm.
                if self.bp {
                    self.bp_waiters.push(BpWaiter::Write(c));
                } else {
                    self.perform_transform(c);
                }
            }
        }
    }

    fn write_settled(&mut self, r: Result<(), E>) {
        let w = self.in_flight_write.take().unwrap();
        match r {
            Ok(()) => {
                resolve(&mut self.writes[w]);
                self.w_queue.pop_front();
                if !self.close_queued_or_in_flight() && self.w == WState::Writable {
                    let bp = self.w_desired_size() <= 0.0;
                    self.update_w_backpressure(bp);
                }
                self.advance_queue_if_needed();
            }
            Err(e) => {
                reject(&mut self.writes[w], e);
                self.deal_with_rejection(e);
            }
        }
    }

    fn close_settled(&mut self, r: Result<(), E>) {
        let c = self.in_flight_close.take().unwrap();
        match r {
            Ok(()) => {
                resolve(&mut self.promises[c]);
                if matches!(self.w, WState::Erroring(_)) {
                    if let Some(a) = self.pending_abort.take() {
                        resolve(&mut self.promises[a.promise]);
                    }
                }
                self.w = WState::Closed;
                resolve(&mut self.w_closed);
            }
            Err(e) => {
                reject(&mut self.promises[c], e);
                if let Some(a) = self.pending_abort.take() {
                    reject(&mut self.promises[a.promise], e);
                }
                self.deal_with_rejection(e);
            }
        }
    }

    fn write(&mut self, c: u32) {
        let i = self.writes.len();
        self.writes.push(P::Pending);
        match self.w {
            WState::Errored(e) => self.writes[i] = P::Err(e),
            _ if self.close_queued_or_in_flight() || self.w == WState::Closed => {
                self.writes[i] = P::Err(E::Type)
            }
            WState::Erroring(e) => self.writes[i] = P::Err(e),
            _ => {
                self.write_requests.push_back(i);
                self.w_queue.push_back(Item::Chunk(c));
                if !self.close_queued_or_in_flight() && self.w == WState::Writable {
                    let bp = self.w_desired_size() <= 0.0;
                    self.update_w_backpressure(bp);
                }
                self.advance_queue_if_needed();
            }
        }
    }

    fn close(&mut self) {
        let p = if self.close_queued_or_in_flight() || matches!(self.w, WState::Closed | WState::Errored(_)) {
            self.promises.push(P::Err(E::Type));
            self.promises.len() - 1
        } else {
            self.promises.push(P::Pending);
            let p = self.promises.len() - 1;
            self.close_request = Some(p);
            if self.w_backpressure && self.w == WState::Writable {
                resolve(&mut self.ready);
            }
            self.w_queue.push_back(Item::Close);
            self.advance_queue_if_needed();
            p
        };
        self.closes.push(p);
    }

    fn abort(&mut self, reason: E) {
        let p = if matches!(self.w, WState::Closed | WState::Errored(_)) {
            self.promises.push(P::Ok(()));
            self.promises.len() - 1
        } else if let Some(a) = &self.pending_abort {
            a.promise
        } else {
            let was_already_erroring = matches!(self.w, WState::Erroring(_));
            self.promises.push(P::Pending);
            let p = self.promises.len() - 1;
            self.pending_abort = Some(AbortRequest {
                promise: p,
                reason: (!was_already_erroring).then_some(reason),
                was_already_erroring,
            });
            if !was_already_erroring {
                self.start_erroring(reason);
            }
            p
        };
        self.aborts.push(p);
    }

    // --- The readable side (its source is the transform's).

    fn r_desired_size(&self) -> Option<f64> {
        match self.r {
            RState::Errored(_) => None,
            RState::Closed => Some(0.0),
            RState::Readable => Some(self.r_hwm - self.r_queue.len() as f64),
        }
    }

    fn r_can_close_or_enqueue(&self) -> bool {
        !self.r_close_requested && self.r == RState::Readable
    }

    fn r_should_call_pull(&self) -> bool {
        if !self.r_can_close_or_enqueue() || !self.r_started {
            return false;
        }
        !self.read_requests.is_empty() || self.r_desired_size().unwrap() > 0.0
    }

    fn call_pull_if_needed(&mut self) {
        if !self.r_should_call_pull() {
            return;
        }
        if self.pulling {
            self.pull_again = true;
            return;
        }
        self.pulling = true;
        // TransformStreamDefaultSourcePullAlgorithm.
        self.set_backpressure(false);
        self.bp_waiters.push(BpWaiter::Pull);
    }

    fn r_enqueue(&mut self, c: u32) {
        if let Some(r) = self.read_requests.pop_front() {
            self.reads[r] = P::Ok(Some(c));
        } else {
            self.r_queue.push_back(c);
        }
        self.call_pull_if_needed();
    }

    fn r_controller_close(&mut self) {
        if !self.r_can_close_or_enqueue() {
            return;
        }
        self.r_close_requested = true;
        if self.r_queue.is_empty() {
            self.r_close();
        }
    }

    fn r_close(&mut self) {
        self.r = RState::Closed;
        resolve(&mut self.r_closed);
        for r in self.read_requests.drain(..) {
            self.reads[r] = P::Ok(None);
        }
    }

    fn r_controller_error(&mut self, e: E) {
        if self.r != RState::Readable {
            return;
        }
        self.r_queue.clear();
        self.r = RState::Errored(e);
        reject(&mut self.r_closed, e);
        for r in self.read_requests.drain(..) {
            self.reads[r] = P::Err(e);
        }
    }

    fn read(&mut self) {
        let i = self.reads.len();
        self.reads.push(P::Pending);
        match self.r {
            RState::Closed => self.reads[i] = P::Ok(None),
            RState::Errored(e) => self.reads[i] = P::Err(e),
            RState::Readable => {
                if let Some(c) = self.r_queue.pop_front() {
                    if self.r_close_requested && self.r_queue.is_empty() {
                        self.r_close();
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

    fn cancel(&mut self, reason: E) {
        let i = self.cancels.len();
        match self.r {
            RState::Closed => self.cancels.push(P::Ok(())),
            RState::Errored(e) => self.cancels.push(P::Err(e)),
            RState::Readable => {
                self.cancels.push(P::Pending);
                self.r_close();
                self.r_queue.clear();
                // TransformStreamDefaultSourceCancelAlgorithm.
                if self.finish.is_none() {
                    self.finish = Some(P::Pending);
                    let r = self.call_cleanup(Call::Cancel(reason), self.cancel_answer);
                    self.micro.push_back(Ev::SourceCancelled(reason, r));
                }
                self.wait_finish(FinishWaiter::SourceCancel(i));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The library under test.

#[derive(Default)]
struct Shared {
    controller: Option<TransformStreamDefaultController<u32>>,
    calls: Vec<Call>,
}

struct Lib {
    shared: Arc<Mutex<Shared>>,
    ts: TransformStream<u32, u32>,
    writer: WritableStreamDefaultWriter<u32>,
    reader: ReadableStreamDefaultReader<u32>,
    writes: Vec<Promised<()>>,
    closes: Vec<Promised<()>>,
    aborts: Vec<Promised<()>>,
    reads: Vec<Tracked<Option<u32>, ReadFuture<u32>, Option<u32>>>,
    cancels: Vec<Promised<()>>,
}

fn make_lib(w_hwm: f64, r_hwm: f64, fail_at: Option<usize>, flush: Outcome, cancel: Outcome) -> Lib {
    let shared = Arc::new(Mutex::new(Shared::default()));
    let (s1, s2, s3, s4) = (shared.clone(), shared.clone(), shared.clone(), shared.clone());
    let mut n = 0;
    let transformer = TransformerFn::new(move |c: u32, ctl: &TransformStreamDefaultController<u32>| {
        lock(&s1).calls.push(Call::Transform(c));
        let i = n;
        n += 1;
        if fail_at == Some(i) {
            return Err(E::user(TRANSFORM_FAILS));
        }
        ctl.enqueue(c)
    })
    .start(move |ctl| {
        lock(&s2).controller = Some(ctl.clone());
        Completion::ok()
    })
    .flush(move |_| {
        lock(&s3).calls.push(Call::Flush);
        flush.result()
    })
    .cancel(move |reason: StreamError| {
        lock(&s4).calls.push(Call::Cancel(E::of(&reason)));
        cancel.result()
    });
    let ts = TransformStream::with_strategies(
        transformer,
        QueuingStrategy::count(w_hwm),
        QueuingStrategy::count(r_hwm),
    )
    .expect("a valid transformer");
    Lib {
        writer: ts.writable().get_writer().unwrap(),
        reader: ts.readable().get_reader().unwrap(),
        ts,
        shared,
        writes: Vec::new(),
        closes: Vec::new(),
        aborts: Vec::new(),
        reads: Vec::new(),
        cancels: Vec::new(),
    }
}

fn step(m: &mut Model, l: &mut Lib, op: &Op) -> SyncResults {
    let controller = lock(&l.shared).controller.clone().unwrap();
    match *op {
        Op::Write(c) => {
            m.write(c);
            l.writes.push(l.writer.write(c));
        }
        Op::Close => {
            m.close();
            l.closes.push(l.writer.close());
        }
        Op::Abort(n) => {
            m.abort(E::User(n));
            l.aborts.push(l.writer.abort(E::user(n)));
        }
        Op::Read => {
            m.read();
            l.reads.push(Tracked::new(l.reader.read(), |v| v));
        }
        Op::Cancel(n) => {
            m.cancel(E::User(n));
            l.cancels.push(l.reader.cancel(E::user(n)));
        }
        Op::Enqueue(c) => {
            let lr = controller.enqueue(c).map_err(|e| E::of(&e));
            return (Some(m.ts_enqueue(c)), Some(lr));
        }
        Op::Error(n) => {
            m.transform_stream_error(E::User(n));
            controller.error(E::user(n));
        }
        Op::Terminate => {
            m.r_controller_close();
            m.error_writable_and_unblock_write(E::Type);
            controller.terminate();
        }
    }
    (None, None)
}

fn compare(m: &Model, l: &mut Lib) -> Result<(), String> {
    for _ in 0..3 {
        l.ts.readable().host().run_queued();
        l.ts.writable().host().run_queued();
        for r in &mut l.reads {
            r.poll();
        }
    }
    let calls = lock(&l.shared).calls.clone();
    check(
        "transformer calls",
        format!("{:?}", m.calls),
        format!("{calls:?}"),
    )?;
    let controller = lock(&l.shared).controller.clone().unwrap();
    check(
        "desired_size",
        format!("{:?}", m.r_desired_size()),
        format!("{:?}", controller.desired_size()),
    )?;
    let w_desired = match m.w {
        WState::Erroring(_) | WState::Errored(_) => None,
        WState::Closed => Some(0.0),
        WState::Writable => Some(m.w_desired_size()),
    };
    let lw = l.writer.desired_size().map_err(|e| E::of(&e));
    check(
        "writer desired_size",
        format!("{:?}", Ok::<_, E>(w_desired)),
        format!("{lw:?}"),
    )?;
    check(
        "ready",
        format!("{:?}", m.ready),
        format!("{:?}", peek(&l.writer.ready())),
    )?;
    check(
        "writer closed",
        format!("{:?}", m.w_closed),
        format!("{:?}", peek(&l.writer.closed())),
    )?;
    check(
        "reader closed",
        format!("{:?}", m.r_closed),
        format!("{:?}", peek(&l.reader.closed())),
    )?;
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

proptest! {
    #![proptest_config(common::config())]

    #[test]
    fn transform_stream_matches_the_model(
        w_hwm in prop_oneof![Just(0.0), Just(1.0), Just(3.0)],
        r_hwm in prop_oneof![Just(0.0), Just(1.0), Just(2.0)],
        fail_at in proptest::option::of(0usize..10),
        flush in outcome(),
        cancel in outcome(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut m = Model::new(w_hwm, r_hwm, fail_at, flush, cancel);
        let mut l = make_lib(w_hwm, r_hwm, fail_at, flush, cancel);
        m.run_microtasks();
        compare(&m, &mut l).map_err(|e| TestCaseError::fail(format!("after construction: {e}")))?;
        for (i, op) in ops.iter().enumerate() {
            let (ms, ls) = step(&mut m, &mut l, op);
            m.run_microtasks();
            prop_assert_eq!(ms, ls, "step {} {:?}: synchronous result", i, op);
            compare(&m, &mut l).map_err(|e| TestCaseError::fail(format!("step {i} {op:?}: {e}")))?;
        }
    }
}
