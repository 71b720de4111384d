//! Differential tests against Node.js itself: random scenarios of a readable and a writable
//! (object mode) run on Node's own `node:stream` and on sluicegate-node, and the two event logs
//! must be equal line for line.
//!
//! Needs `node` on the `PATH` (any Node.js 18 or later), so it is behind the `node-differential`
//! feature and `.ci/run` runs it:
//!
//! ```sh
//! cargo test -p sluicegate-node --features node-differential --test differential
//! DIFF_CASES=20000 DIFF_SEED=7 cargo test --release -p sluicegate-node --features node-differential --test differential
//! DIFF_CASES=20000 DIFF_SEED=7 DIFF_ONLY=4287 cargo test ...   # one scenario, both logs in full
//! ```
//!
//! A scenario is a readable `R` (high-water mark `rhwm`) whose i-th `_read` call does
//! `reads[i]` (push `k` values at once, push them on `process.nextTick`, push the end at once or
//! on a tick, or nothing); a writable `W` (high-water mark `whwm`) whose j-th `_write` (or
//! `_writev`, if it has one) calls its callback at once, on a tick or with an error, as
//! `writes[j]` says, with or without a `_final` (done at once, on a tick, or failing); in half
//! the scenarios a `Transform` `T` between them (high-water mark `thwm`), whose k-th `_transform`
//! pushes one value, pushes it on a tick, pushes two, pushes nothing or fails, as
//! `transforms[k]` says, and whose `_flush` pushes a last value, waits a tick, fails or just
//! ends; and phases of operations from the top level (listen for `'data'` or `'readable'`,
//! pause, resume, read, push, end, cork, uncork, destroy any of them, pipe `R` to `W` or through
//! `T`, unpipe, write to `W` or `T`). After each phase everything runs until nothing is queued
//! (Node: until `setImmediate`). The log records every event of the streams (but `T`'s
//! `'data'` and `'readable'`, which would change its mode), every call into an implementor and
//! what `push`, `read` and `write` returned. `runner.js` is the Node.js side; this file
//! generates the scenarios, runs the Rust side and compares.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::FutureExt;
use serde_json::{json, Value};
use sluicegate_node::{
    ev, finished_with, Completion, DuplexOptions, Error, ErrorCode, EventLoop, FinishedOptions, Pipeline,
    ReadImpl, Readable, ReadableOptions, StreamId, Transform, TransformImpl, Writable, WritableOptions,
    WriteImpl,
};

/// One `_read` behaviour.
#[derive(Clone, Copy, Debug)]
enum ReadKind {
    Sync(u32),
    Tick(u32),
    None,
    End,
    EndTick,
}

/// One `_write` behaviour.
#[derive(Clone, Copy, Debug)]
enum WriteKind {
    Sync,
    Tick,
    Err,
}

/// What `_final`, `_flush` or a transform does.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    /// No `_final` at all (for `_flush`: end with nothing more).
    None,
    Sync,
    Tick,
    Err,
    /// Push a value (`_flush` only).
    Push,
}

/// One `_transform` behaviour.
#[derive(Clone, Copy, Debug)]
enum TransformKind {
    Push,
    Tick,
    Twice,
    Drop,
    Err,
}

#[derive(Clone, Debug)]
struct Scenario {
    rhwm: usize,
    whwm: usize,
    reads: Vec<ReadKind>,
    writes: Vec<WriteKind>,
    writev: bool,
    final_step: Step,
    /// A transform between `R` and `W`, and its high-water mark.
    transform: bool,
    thwm: usize,
    transforms: Vec<TransformKind>,
    flush: Step,
    /// `R`'s and `W`'s `_construct` (none, done at once or on a tick) and `_destroy` (none, done
    /// on a tick, or failing).
    r_construct: Step,
    r_destroy: Step,
    w_construct: Step,
    w_destroy: Step,
    phases: Vec<Vec<&'static str>>,
}

fn step_name(s: Step) -> &'static str {
    match s {
        Step::None => "none",
        Step::Sync => "sync",
        Step::Tick => "tick",
        Step::Err => "err",
        Step::Push => "push",
    }
}

impl Scenario {
    fn to_json(&self) -> Value {
        let (reads, writes) = (reads_json(&self.reads), writes_json(&self.writes));
        let transforms: Vec<&str> = self
            .transforms
            .iter()
            .map(|t| match t {
                TransformKind::Push => "push",
                TransformKind::Tick => "tick",
                TransformKind::Twice => "twice",
                TransformKind::Drop => "drop",
                TransformKind::Err => "err",
            })
            .collect();
        json!({
            "rhwm": self.rhwm,
            "whwm": self.whwm,
            "reads": reads,
            "writes": writes,
            "writev": self.writev,
            "final": step_name(self.final_step),
            "transform": self.transform,
            "thwm": self.thwm,
            "transforms": transforms,
            "flush": step_name(self.flush),
            "rconstruct": step_name(self.r_construct),
            "rdestroy": step_name(self.r_destroy),
            "wconstruct": step_name(self.w_construct),
            "wdestroy": step_name(self.w_destroy),
            "phases": self.phases,
        })
    }
}

/// `_read` behaviours as `runner.js` reads them.
fn reads_json(reads: &[ReadKind]) -> Vec<Value> {
    reads
        .iter()
        .map(|r| match r {
            ReadKind::Sync(k) => json!(["sync", k]),
            ReadKind::Tick(k) => json!(["tick", k]),
            ReadKind::None => json!(["none", 0]),
            ReadKind::End => json!(["end", 0]),
            ReadKind::EndTick => json!(["end_tick", 0]),
        })
        .collect()
}

/// `_write` behaviours as `runner.js` reads them.
fn writes_json(writes: &[WriteKind]) -> Vec<&'static str> {
    writes
        .iter()
        .map(|w| match w {
            WriteKind::Sync => "sync",
            WriteKind::Tick => "tick",
            WriteKind::Err => "err",
        })
        .collect()
}

fn read_kind(rng: &mut Rng) -> ReadKind {
    match rng.below(10) {
        0..=2 => ReadKind::Sync(rng.below(4) as u32),
        3..=5 => ReadKind::Tick(1 + rng.below(3) as u32),
        6..=7 => ReadKind::None,
        8 => ReadKind::End,
        _ => ReadKind::EndTick,
    }
}

fn write_kind(rng: &mut Rng) -> WriteKind {
    match rng.below(10) {
        0..=5 => WriteKind::Sync,
        6..=8 => WriteKind::Tick,
        _ => WriteKind::Err,
    }
}

/// SplitMix64: a small seeded generator, so a failing case is replayed by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn scenario(rng: &mut Rng) -> Scenario {
    let rhwm = rng.pick(&[0, 1, 2, 3, 16]);
    let whwm = rng.pick(&[0, 1, 2, 3, 16]);
    let reads = (0..rng.below(7)).map(|_| read_kind(rng)).collect();
    let writes = (0..rng.below(8)).map(|_| write_kind(rng)).collect();
    let writev = rng.below(4) == 0;
    let final_step = rng.pick(&[Step::None, Step::None, Step::Sync, Step::Tick, Step::Err]);
    let transform = rng.below(2) == 0;
    let thwm = rng.pick(&[0, 1, 2, 16]);
    let transforms = (0..rng.below(6))
        .map(|_| match rng.below(10) {
            0..=4 => TransformKind::Push,
            5..=6 => TransformKind::Tick,
            7 => TransformKind::Twice,
            8 => TransformKind::Drop,
            _ => TransformKind::Err,
        })
        .collect();
    let flush = rng.pick(&[Step::Sync, Step::Sync, Step::Push, Step::Tick, Step::Err]);
    let constructs = [Step::None, Step::None, Step::None, Step::Sync, Step::Tick];
    let destroys = [Step::None, Step::None, Step::None, Step::Tick, Step::Err];
    let (r_construct, r_destroy) = (rng.pick(&constructs), rng.pick(&destroys));
    let (w_construct, w_destroy) = (rng.pick(&constructs), rng.pick(&destroys));
    // Operations that may appear any number of times, and those that may appear once.
    const MANY: &[&str] = &["pause", "resume", "read", "push", "write", "cork", "uncork"];
    // A third of the scenarios connect the streams with `pipeline()` instead of `pipe()`. Those
    // neither read nor listen for `'data'` themselves: `pipeline` does not ask for `T: Clone`,
    // and for chunks it cannot copy the crate documents two differences from Node, both by
    // design (a chunk can be moved once): a `read()` by user code while the pipeline pipes
    // returns `None` where Node returns the chunk the pipeline also gets, and a `'data'`
    // listener is called before the pipeline's own, whatever the order they were added in.
    let through_pipeline = rng.below(3) == 0;
    const MANY_UNREAD: &[&str] = &["pause", "resume", "push", "write", "cork", "uncork"];
    let many = if through_pipeline { MANY_UNREAD } else { MANY };
    const RARE: &[&str] = &[
        "push_end",
        "end",
        "end_chunk",
        "destroy",
        "destroy_err",
        "w_destroy",
        "w_destroy_err",
    ];
    const RARE_T: &[&str] = &["t_write", "t_end", "t_destroy_err"];
    let mut listened = false;
    let mut piped = false;
    let mut watched: Vec<&str> = Vec::new();
    let mut phases = Vec::new();
    for _ in 0..1 + rng.below(6) {
        let mut phase = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let op = match rng.below(12) {
                0..=1 if !listened => {
                    listened = true;
                    if through_pipeline {
                        rng.pick(many)
                    } else {
                        rng.pick(&["on_data", "on_readable", "on_readable1"])
                    }
                }
                2 if !piped => {
                    piped = true;
                    if through_pipeline {
                        "pipeline"
                    } else {
                        "pipe"
                    }
                }
                6 => {
                    let op = rng.pick(&["finished_r", "finished_w", "finished_t"]);
                    if watched.contains(&op) || (op == "finished_t" && !transform) {
                        rng.pick(many)
                    } else {
                        watched.push(op);
                        op
                    }
                }
                3 if piped => "unpipe",
                4 => rng.pick(RARE),
                5 if transform => rng.pick(RARE_T),
                _ => rng.pick(many),
            };
            phase.push(op);
        }
        phases.push(phase);
    }
    Scenario {
        rhwm,
        whwm,
        reads,
        writes,
        writev,
        final_step,
        transform,
        thwm,
        transforms,
        flush,
        r_construct,
        r_destroy,
        w_construct,
        w_destroy,
        phases,
    }
}

/// Node's `err.code || err.message`.
fn describe(e: &Error) -> String {
    match e.code() {
        ErrorCode::User => e.message().to_string(),
        code => code.as_str().to_string(),
    }
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }
}

fn push_next(log: &Log, next: &AtomicU32, r: &Readable<u32>) {
    let v = next.fetch_add(1, Ordering::SeqCst);
    let accepted = r.push(v);
    log.push(format!("R.push {v} -> {accepted}"));
}

/// A completion that completes on the next tick of `lp`.
fn on_tick(lp: &EventLoop) -> Completion {
    let (done, callback) = Completion::callback();
    lp.next_tick(move || callback.ok());
    done
}

/// A completion of `result` on the next tick of `lp`.
fn on_tick_with(lp: &EventLoop, result: Result<(), Error>) -> Completion {
    let (done, callback) = Completion::callback();
    lp.next_tick(move || callback.call(result));
    done
}

/// `_construct` as `step` says: none, done at once, or on a tick.
fn construct_step(log: &Log, lp: &EventLoop, who: &str, step: Step) -> Option<Completion> {
    if step == Step::None {
        return None;
    }
    log.push(format!("{who}._construct"));
    Some(match step {
        Step::Tick => on_tick(lp),
        _ => Completion::ok(),
    })
}

/// `_destroy(err, cb)` as `step` says: Node's default (`cb(err)`), on a tick, or failing.
fn destroy_step(log: &Log, lp: &EventLoop, who: &str, step: Step, err: Option<Error>) -> Completion {
    let result = err.map_or(Ok(()), Err);
    if step == Step::None {
        return result.into();
    }
    log.push(format!("{who}._destroy"));
    match step {
        Step::Tick => on_tick_with(lp, result),
        _ => Completion::err(Error::user("derr")),
    }
}

/// `R`'s implementor.
struct Source {
    log: Log,
    lp: EventLoop,
    next: Arc<AtomicU32>,
    reads: Vec<ReadKind>,
    calls: usize,
    construct: Step,
    destroy: Step,
}

impl ReadImpl<u32> for Source {
    fn read(&mut self, _size: usize, r: &Readable<u32>) {
        let (l, n) = (&self.log, &self.next);
        l.push("R._read");
        let kind = self.reads.get(self.calls).copied().unwrap_or(ReadKind::None);
        self.calls += 1;
        match kind {
            ReadKind::Sync(k) => (0..k).for_each(|_| push_next(l, n, r)),
            ReadKind::Tick(k) => {
                let (l, n, r2) = (l.clone(), n.clone(), r.clone());
                self.lp
                    .next_tick(move || (0..k).for_each(|_| push_next(&l, &n, &r2)));
            }
            ReadKind::End => {
                l.push("R.push null");
                r.push_end();
            }
            ReadKind::EndTick => {
                let (l, r2) = (l.clone(), r.clone());
                self.lp.next_tick(move || {
                    l.push("R.push null");
                    r2.push_end();
                });
            }
            ReadKind::None => {}
        }
    }

    fn construct(&mut self) -> Option<Completion> {
        construct_step(&self.log, &self.lp, "R", self.construct)
    }

    fn destroy(&mut self, err: Option<Error>) -> Completion {
        destroy_step(&self.log, &self.lp, "R", self.destroy, err)
    }
}

/// `W`'s implementor: `_write`, `_writev` if the scenario has one, and `_final` if it has one.
struct Sink {
    log: Log,
    lp: EventLoop,
    writes: Vec<WriteKind>,
    calls: usize,
    writev: bool,
    final_step: Step,
    construct: Step,
    destroy: Step,
}

impl Sink {
    /// The outcome of the next `_write` or `_writev`, as `writes` says.
    fn complete(&mut self) -> Completion {
        let kind = self.writes.get(self.calls).copied().unwrap_or(WriteKind::Sync);
        self.calls += 1;
        match kind {
            WriteKind::Sync => Completion::ok(),
            WriteKind::Tick => on_tick(&self.lp),
            WriteKind::Err => Completion::err(Error::user("werr")),
        }
    }
}

impl WriteImpl<u32> for Sink {
    fn write(&mut self, chunk: u32) -> Completion {
        self.log.push(format!("W._write {chunk}"));
        self.complete()
    }

    fn writev(&mut self, chunks: &mut Vec<u32>) -> Option<Completion> {
        if !self.writev {
            return None;
        }
        let list: Vec<String> = std::mem::take(chunks).iter().map(u32::to_string).collect();
        self.log.push(format!("W._writev {}", list.join(",")));
        Some(self.complete())
    }

    fn finalize(&mut self) -> Option<Completion> {
        if self.final_step == Step::None {
            return None;
        }
        self.log.push("W._final");
        Some(match self.final_step {
            Step::Tick => on_tick(&self.lp),
            Step::Err => Completion::err(Error::user("ferr")),
            _ => Completion::ok(),
        })
    }

    fn construct(&mut self) -> Option<Completion> {
        construct_step(&self.log, &self.lp, "W", self.construct)
    }

    fn destroy(&mut self, err: Option<Error>) -> Completion {
        destroy_step(&self.log, &self.lp, "W", self.destroy, err)
    }
}

/// `T`'s implementor.
struct Middle {
    log: Log,
    lp: EventLoop,
    kinds: Vec<TransformKind>,
    calls: usize,
    flush: Step,
}

fn push_logged(log: &Log, out: &Readable<u32>, v: u32) {
    let accepted = out.push(v);
    log.push(format!("T.push {v} -> {accepted}"));
}

impl TransformImpl<u32, u32> for Middle {
    fn transform(&mut self, x: u32, out: &Readable<u32>) -> Completion {
        self.log.push(format!("T._transform {x}"));
        let kind = self.kinds.get(self.calls).copied().unwrap_or(TransformKind::Push);
        self.calls += 1;
        match kind {
            TransformKind::Push => {
                push_logged(&self.log, out, x * 10);
                Completion::ok()
            }
            TransformKind::Tick => {
                let (done, callback) = Completion::callback();
                let (log, out) = (self.log.clone(), out.clone());
                self.lp.next_tick(move || {
                    push_logged(&log, &out, x * 10);
                    callback.ok();
                });
                done
            }
            TransformKind::Twice => {
                push_logged(&self.log, out, x * 10);
                push_logged(&self.log, out, x * 10 + 1);
                Completion::ok()
            }
            TransformKind::Drop => Completion::ok(),
            TransformKind::Err => Completion::err(Error::user("terr")),
        }
    }

    fn flush(&mut self, out: &Readable<u32>) -> Completion {
        self.log.push("T._flush");
        match self.flush {
            Step::Push => {
                push_logged(&self.log, out, 999);
                Completion::ok()
            }
            Step::Tick => on_tick(&self.lp),
            Step::Err => Completion::err(Error::user("flusherr")),
            Step::None | Step::Sync => Completion::ok(),
        }
    }
}

/// Runs `s` on sluicegate-node; the log `runner.js` makes of the same scenario on Node.js.
fn run(s: &Scenario) -> Vec<String> {
    let lp = EventLoop::new();
    let _entered = lp.enter();
    let log = Log::default();
    let next = Arc::new(AtomicU32::new(1));
    let written = AtomicU32::new(1001);

    let r = Readable::with_options(
        Source {
            log: log.clone(),
            lp: lp.clone(),
            next: next.clone(),
            reads: s.reads.clone(),
            calls: 0,
            construct: s.r_construct,
            destroy: s.r_destroy,
        },
        ReadableOptions::objects().high_water_mark(s.rhwm),
    );
    let w = Writable::with_options(
        Sink {
            log: log.clone(),
            lp: lp.clone(),
            writes: s.writes.clone(),
            calls: 0,
            writev: s.writev,
            final_step: s.final_step,
            construct: s.w_construct,
            destroy: s.w_destroy,
        },
        WritableOptions::objects().high_water_mark(s.whwm),
    );
    let t = s.transform.then(|| {
        Transform::transform_with(
            Middle {
                log: log.clone(),
                lp: lp.clone(),
                kinds: s.transforms.clone(),
                calls: 0,
                flush: s.flush,
            },
            DuplexOptions {
                readable: ReadableOptions::objects().high_water_mark(s.thwm),
                writable: WritableOptions::objects().high_water_mark(s.thwm),
                ..DuplexOptions::default()
            },
        )
    });

    let on = |name: &'static str| {
        let l = log.clone();
        move |_: &()| l.push(name)
    };
    r.on(ev::End, on("R:end"));
    r.on(ev::Close, on("R:close"));
    r.on(ev::Pause, on("R:pause"));
    r.on(ev::Resume, on("R:resume"));
    let l = log.clone();
    r.on(ev::Error, move |e: &Error| {
        l.push(format!("R:error {}", describe(e)))
    });
    w.on(ev::Drain, on("W:drain"));
    w.on(ev::Prefinish, on("W:prefinish"));
    w.on(ev::Finish, on("W:finish"));
    w.on(ev::Close, on("W:close"));
    let l = log.clone();
    w.on(ev::Pipe, move |_: &StreamId| l.push("W:pipe"));
    let l = log.clone();
    w.on(ev::Unpipe, move |_: &StreamId| l.push("W:unpipe"));
    let l = log.clone();
    w.on(ev::Error, move |e: &Error| {
        l.push(format!("W:error {}", describe(e)))
    });
    if let Some(t) = &t {
        t.on(ev::End, on("T:end"));
        t.on(ev::Close, on("T:close"));
        t.on(ev::Pause, on("T:pause"));
        t.on(ev::Resume, on("T:resume"));
        t.on(ev::Drain, on("T:drain"));
        t.on(ev::Prefinish, on("T:prefinish"));
        t.on(ev::Finish, on("T:finish"));
        let l = log.clone();
        t.on(ev::Pipe, move |_: &StreamId| l.push("T:pipe"));
        let l = log.clone();
        t.on(ev::Unpipe, move |_: &StreamId| l.push("T:unpipe"));
        let l = log.clone();
        t.on(ev::Error, move |e: &Error| {
            l.push(format!("T:error {}", describe(e)))
        });
    }
    let t_ = || t.as_ref().expect("an operation on T in a scenario without one");
    let mut piped_by = None;
    let mut watches = Vec::new();
    let settled = |name: &'static str| {
        let l = log.clone();
        move |r: Result<(), Error>| {
            let outcome = r.map_or_else(|e| describe(&e), |()| "ok".to_string());
            l.push(format!("finished {name} {outcome}"));
        }
    };

    lp.run_until_idle();
    for phase in &s.phases {
        log.push("|");
        for &op in phase {
            log.push(format!("> {op}"));
            match op {
                "on_data" => {
                    let l = log.clone();
                    r.on(ev::Data, move |x: &u32| l.push(format!("R:data {x}")));
                }
                "on_readable" => {
                    let (l, r2) = (log.clone(), r.clone());
                    r.on(ev::Readable, move |_: &()| {
                        l.push("R:readable");
                        while let Some(x) = r2.read() {
                            l.push(format!("R.read -> {x}"));
                        }
                        l.push("R.read -> null");
                    });
                }
                "on_readable1" => {
                    let (l, r2) = (log.clone(), r.clone());
                    r.on(ev::Readable, move |_: &()| {
                        l.push("R:readable");
                        let x = r2.read();
                        l.push(format!("R.read -> {}", shown(x)));
                    });
                }
                "pause" => {
                    r.pause();
                }
                "resume" => {
                    r.resume();
                }
                "read" => {
                    let x = r.read();
                    log.push(format!("R.read -> {}", shown(x)));
                }
                "push" => push_next(&log, &next, &r),
                "push_end" => {
                    log.push("R.push null");
                    r.push_end();
                }
                "destroy" => {
                    r.destroy(None);
                }
                "destroy_err" => {
                    r.destroy(Some(Error::user("boom")));
                }
                "pipe" => match &t {
                    Some(t) => {
                        r.pipe(t);
                        t.pipe(&w);
                    }
                    None => {
                        r.pipe(&w);
                    }
                },
                "pipeline" => {
                    let from = Pipeline::from(r.clone());
                    piped_by = Some(match &t {
                        Some(t) => from.pipe(t).to(&w),
                        None => from.to(&w),
                    });
                }
                "finished_r" => watches.push(finished_with(&r, FinishedOptions::default(), settled("R"))),
                "finished_w" => watches.push(finished_with(&w, FinishedOptions::default(), settled("W"))),
                "finished_t" => watches.push(finished_with(t_(), FinishedOptions::default(), settled("T"))),
                "unpipe" => {
                    r.unpipe(Some(t.as_ref().map_or(&w, |t| t.writable_side())));
                }
                "write" => {
                    let v = written.fetch_add(1, Ordering::SeqCst);
                    let accepted = w.write(v);
                    log.push(format!("W.write {v} -> {accepted}"));
                }
                "end" => {
                    log.push("W.end");
                    w.end();
                }
                "end_chunk" => {
                    let v = written.fetch_add(1, Ordering::SeqCst);
                    log.push(format!("W.end {v}"));
                    w.end_chunk(v);
                }
                "cork" => w.cork(),
                "uncork" => w.uncork(),
                "t_write" => {
                    let v = written.fetch_add(1, Ordering::SeqCst);
                    let accepted = t_().write(v);
                    log.push(format!("T.write {v} -> {accepted}"));
                }
                "t_end" => {
                    log.push("T.end");
                    t_().end();
                }
                "t_destroy_err" => {
                    t_().destroy(Some(Error::user("tboom")));
                }
                "w_destroy" => {
                    w.destroy(None);
                }
                "w_destroy_err" => {
                    w.destroy(Some(Error::user("wboom")));
                }
                other => panic!("unknown operation {other}"),
            }
        }
        lp.run_until_idle();
    }
    if let Some(future) = piped_by {
        let outcome = match future.now_or_never() {
            None => "pending".to_string(),
            Some(Ok(())) => "ok".to_string(),
            Some(Err(e)) => describe(&e),
        };
        log.push(format!("pipeline -> {outcome}"));
    }
    drop(watches);
    let out = log.0.lock().unwrap().clone();
    out
}

/// `read()`'s result as Node prints it.
fn shown(x: Option<u32>) -> String {
    x.map_or_else(|| "null".to_string(), |x| x.to_string())
}

/// A byte-mode scenario: a readable and a writable of bytes (no transform), chunk contents
/// logged as text. `R`'s n-th pushed chunk is the n-th letter repeated `lens[(n - 1) % len]`
/// times (empty chunks included); `W` is written `w1`, `w2`, ... Besides the operations of the
/// object-mode scenarios, `read(n)` for a few sizes and a `'readable'` listener reading two
/// bytes at a time.
#[derive(Clone, Debug)]
struct BytesScenario {
    rhwm: usize,
    whwm: usize,
    lens: Vec<usize>,
    reads: Vec<ReadKind>,
    writes: Vec<WriteKind>,
    writev: bool,
    phases: Vec<Vec<&'static str>>,
}

impl BytesScenario {
    fn to_json(&self) -> Value {
        json!({
            "kind": "bytes",
            "rhwm": self.rhwm,
            "whwm": self.whwm,
            "lens": self.lens,
            "reads": reads_json(&self.reads),
            "writes": writes_json(&self.writes),
            "writev": self.writev,
            "phases": self.phases,
        })
    }
}

fn bytes_scenario(rng: &mut Rng) -> BytesScenario {
    let rhwm = rng.pick(&[0, 1, 4, 16]);
    let whwm = rng.pick(&[0, 1, 4, 16]);
    let lens = (0..rng.below(4)).map(|_| rng.below(6)).collect();
    let reads = (0..rng.below(7)).map(|_| read_kind(rng)).collect();
    let writes = (0..rng.below(8)).map(|_| write_kind(rng)).collect();
    let writev = rng.below(4) == 0;
    const MANY: &[&str] = &[
        "pause", "resume", "read", "read_0", "read_1", "read_3", "read_100", "push", "write", "cork",
        "uncork",
    ];
    const RARE: &[&str] = &["push_end", "end", "destroy"];
    let (mut listened, mut piped) = (false, false);
    let mut phases = Vec::new();
    for _ in 0..1 + rng.below(6) {
        let mut phase = Vec::new();
        for _ in 0..1 + rng.below(3) {
            phase.push(match rng.below(12) {
                0..=1 if !listened => {
                    listened = true;
                    rng.pick(&["on_data", "on_readable", "on_readable2"])
                }
                2 if !piped => {
                    piped = true;
                    "pipe"
                }
                3 if piped => "unpipe",
                4 => rng.pick(RARE),
                _ => rng.pick(MANY),
            });
        }
        phases.push(phase);
    }
    BytesScenario {
        rhwm,
        whwm,
        lens,
        reads,
        writes,
        writev,
        phases,
    }
}

/// `W`'s implementor in the byte-mode scenarios.
struct BytesSink {
    log: Log,
    lp: EventLoop,
    writes: Vec<WriteKind>,
    calls: usize,
    writev: bool,
}

impl BytesSink {
    fn complete(&mut self) -> Completion {
        let kind = self.writes.get(self.calls).copied().unwrap_or(WriteKind::Sync);
        self.calls += 1;
        match kind {
            WriteKind::Sync => Completion::ok(),
            WriteKind::Tick => on_tick(&self.lp),
            WriteKind::Err => Completion::err(Error::user("werr")),
        }
    }
}

fn text(b: &Bytes) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl WriteImpl<Bytes> for BytesSink {
    fn write(&mut self, chunk: Bytes) -> Completion {
        self.log.push(format!("W._write {}", text(&chunk)));
        self.complete()
    }

    fn writev(&mut self, chunks: &mut Vec<Bytes>) -> Option<Completion> {
        if !self.writev {
            return None;
        }
        let list: Vec<String> = std::mem::take(chunks).iter().map(text).collect();
        self.log.push(format!("W._writev {}", list.join(",")));
        Some(self.complete())
    }
}

fn push_chunk(log: &Log, next: &AtomicU32, lens: &[usize], r: &Readable<Bytes>) {
    let n = next.fetch_add(1, Ordering::SeqCst);
    let len = if lens.is_empty() {
        3
    } else {
        lens[(n as usize - 1) % lens.len()]
    };
    let letter = char::from(b'a' + ((n - 1) % 26) as u8);
    let chunk: String = std::iter::repeat_n(letter, len).collect();
    let accepted = r.push(Bytes::from(chunk.clone()));
    log.push(format!("R.push {chunk} -> {accepted}"));
}

/// Runs a byte-mode scenario on sluicegate-node.
fn run_bytes(s: &BytesScenario) -> Vec<String> {
    let lp = EventLoop::new();
    let _entered = lp.enter();
    let log = Log::default();
    let next = Arc::new(AtomicU32::new(1));
    let written = AtomicU32::new(1);
    let (l, n, reads, lens) = (log.clone(), next.clone(), s.reads.clone(), s.lens.clone());
    let mut read_calls = 0;
    let r = Readable::from_fn_with(
        move |_size, r: &Readable<Bytes>| {
            l.push("R._read");
            let kind = reads.get(read_calls).copied().unwrap_or(ReadKind::None);
            read_calls += 1;
            match kind {
                ReadKind::Sync(k) => (0..k).for_each(|_| push_chunk(&l, &n, &lens, r)),
                ReadKind::Tick(k) => {
                    let (l, n, lens, r2) = (l.clone(), n.clone(), lens.clone(), r.clone());
                    r.event_loop()
                        .next_tick(move || (0..k).for_each(|_| push_chunk(&l, &n, &lens, &r2)));
                }
                ReadKind::End => {
                    l.push("R.push null");
                    r.push_end();
                }
                ReadKind::EndTick => {
                    let (l, r2) = (l.clone(), r.clone());
                    r.event_loop().next_tick(move || {
                        l.push("R.push null");
                        r2.push_end();
                    });
                }
                ReadKind::None => {}
            }
        },
        ReadableOptions::bytes().high_water_mark(s.rhwm),
    );
    let w = Writable::with_options(
        BytesSink {
            log: log.clone(),
            lp: lp.clone(),
            writes: s.writes.clone(),
            calls: 0,
            writev: s.writev,
        },
        WritableOptions::bytes().high_water_mark(s.whwm),
    );
    let on = |name: &'static str| {
        let l = log.clone();
        move |_: &()| l.push(name)
    };
    r.on(ev::End, on("R:end"));
    r.on(ev::Close, on("R:close"));
    r.on(ev::Pause, on("R:pause"));
    r.on(ev::Resume, on("R:resume"));
    let l = log.clone();
    r.on(ev::Error, move |e: &Error| {
        l.push(format!("R:error {}", describe(e)))
    });
    w.on(ev::Drain, on("W:drain"));
    w.on(ev::Prefinish, on("W:prefinish"));
    w.on(ev::Finish, on("W:finish"));
    w.on(ev::Close, on("W:close"));
    let l = log.clone();
    w.on(ev::Pipe, move |_: &StreamId| l.push("W:pipe"));
    let l = log.clone();
    w.on(ev::Unpipe, move |_: &StreamId| l.push("W:unpipe"));
    let l = log.clone();
    w.on(ev::Error, move |e: &Error| {
        l.push(format!("W:error {}", describe(e)))
    });
    let shown = |x: Option<Bytes>| x.as_ref().map_or_else(|| "null".to_string(), text);

    lp.run_until_idle();
    for phase in &s.phases {
        log.push("|");
        for &op in phase {
            log.push(format!("> {op}"));
            let read_n = |n: usize| log.push(format!("R.read({n}) -> {}", shown(r.read_size(n))));
            match op {
                "on_data" => {
                    let l = log.clone();
                    r.on(ev::Data, move |x: &Bytes| l.push(format!("R:data {}", text(x))));
                }
                "on_readable" => {
                    let (l, r2) = (log.clone(), r.clone());
                    r.on(ev::Readable, move |_: &()| {
                        l.push("R:readable");
                        while let Some(x) = r2.read() {
                            l.push(format!("R.read -> {}", text(&x)));
                        }
                        l.push("R.read -> null");
                    });
                }
                "on_readable2" => {
                    let (l, r2) = (log.clone(), r.clone());
                    r.on(ev::Readable, move |_: &()| {
                        l.push("R:readable");
                        while let Some(x) = r2.read_size(2) {
                            l.push(format!("R.read(2) -> {}", text(&x)));
                        }
                        l.push("R.read(2) -> null");
                    });
                }
                "pause" => {
                    r.pause();
                }
                "resume" => {
                    r.resume();
                }
                "read" => log.push(format!("R.read -> {}", shown(r.read()))),
                "read_0" => read_n(0),
                "read_1" => read_n(1),
                "read_3" => read_n(3),
                "read_100" => read_n(100),
                "push" => push_chunk(&log, &next, &s.lens, &r),
                "push_end" => {
                    log.push("R.push null");
                    r.push_end();
                }
                "destroy" => {
                    r.destroy(None);
                }
                "pipe" => {
                    r.pipe(&w);
                }
                "unpipe" => {
                    r.unpipe(Some(&w));
                }
                "write" => {
                    let v = format!("w{}", written.fetch_add(1, Ordering::SeqCst));
                    let accepted = w.write(Bytes::from(v.clone()));
                    log.push(format!("W.write {v} -> {accepted}"));
                }
                "end" => {
                    log.push("W.end");
                    w.end();
                }
                "cork" => w.cork(),
                "uncork" => w.uncork(),
                other => panic!("unknown operation {other}"),
            }
        }
        lp.run_until_idle();
    }
    let out = log.0.lock().unwrap().clone();
    out
}

/// Runs every scenario on Node.js (one process) and returns each one's log.
fn run_on_node(scenarios: Vec<Value>) -> Vec<Vec<String>> {
    let runner = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential/runner.js");
    let mut child = Command::new("node")
        .arg(runner)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the differential tests need Node.js: `node` must be on the PATH");
    let count = scenarios.len();
    let input = Value::Array(scenarios).to_string();
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("node ran");
    writer.join().unwrap().expect("scenarios written to node");
    assert!(output.status.success(), "runner.js failed: {}", output.status);
    let logs: Vec<Vec<String>> = String::from_utf8(output.stdout)
        .expect("UTF-8 from node")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect();
    assert_eq!(logs.len(), count, "node printed one log per scenario");
    logs
}

/// The log without the events a stream emits after its own `'close'`: Node.js still emits
/// `'pause'` and `'resume'` then (a `pause()`/`resume()` on a destroyed stream), while
/// sluicegate-node drops a stream's listeners at `'close'` (its documented difference: listeners
/// often hold handles on other streams, and keeping them would keep whole pipelines alive).
fn after_close_dropped(log: Vec<String>) -> Vec<String> {
    let mut closed = [false; 3];
    log.into_iter()
        .filter(|line| {
            let Some(i) = ["R:", "W:", "T:"].iter().position(|p| line.starts_with(p)) else {
                return true;
            };
            let keep = !closed[i];
            closed[i] |= line.ends_with(":close");
            keep
        })
        .collect()
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `count` scenarios made by `make` on Node.js and on sluicegate-node (`ours`) and fails
/// with the first five that differ. `DIFF_ONLY=i` runs scenario `i` of the seed alone and prints
/// both logs whole.
fn compare<S>(make: impl Fn(&mut Rng) -> S, json: impl Fn(&S) -> Value, ours: impl Fn(&S) -> Vec<String>) {
    let cases = env_or("DIFF_CASES", 2000) as usize;
    let seed = env_or("DIFF_SEED", 1);
    let mut rng = Rng(seed);
    let mut scenarios: Vec<S> = (0..cases).map(|_| make(&mut rng)).collect();
    let only = std::env::var("DIFF_ONLY")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(i) = only {
        scenarios = vec![scenarios.swap_remove(i)];
    }
    let expected = run_on_node(scenarios.iter().map(&json).collect());
    if only.is_some() {
        eprintln!("scenario: {}", json(&scenarios[0]));
        eprintln!("node: {:#?}", expected[0]);
        eprintln!("ours: {:#?}", ours(&scenarios[0]));
    }
    let mut failures = Vec::new();
    for (i, (s, node)) in scenarios.iter().zip(&expected).enumerate() {
        let (mine, node) = (after_close_dropped(ours(s)), after_close_dropped(node.clone()));
        if mine != node {
            failures.push((i, s, mine, node));
        }
    }
    for (i, s, mine, node) in failures.iter().take(5) {
        let at = mine.iter().zip(node.iter()).take_while(|(a, b)| a == b).count();
        eprintln!("scenario {i} (seed {seed}): {}", json(s));
        eprintln!("  first difference at line {at}");
        let from = at.saturating_sub(6);
        eprintln!("  node:  {:?}", &node[from..node.len().min(at + 6)]);
        eprintln!("  ours:  {:?}", &mine[from..mine.len().min(at + 6)]);
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} scenarios differ from Node.js (seed {seed}; the first five above)",
        failures.len()
    );
}

#[test]
fn the_event_logs_of_random_scenarios_match_nodes() {
    compare(scenario, Scenario::to_json, run);
}

#[test]
fn the_event_logs_of_random_byte_mode_scenarios_match_nodes() {
    compare(bytes_scenario, BytesScenario::to_json, run_bytes);
}
