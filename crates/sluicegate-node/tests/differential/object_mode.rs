//! The object-mode scenarios: `R` and `W` of `u32`, in half of them a `Transform` between,
//! connected by `pipe` or `pipeline`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use futures::FutureExt;
use serde_json::{json, Value};
use sluicegate_node::{
    ev, finished_with, Completion, DuplexOptions, Error, EventLoop, FinishedOptions, Pipeline, Readable,
    ReadableOptions, StreamId, Transform, TransformImpl, Writable, WritableOptions,
};

use super::support::{
    describe, listen, listen_writable, on_tick, push_next, read_kind, reads_json, shown, step_name,
    write_kind, writes_json, Log, ReadKind, Rng, Sink, Source, Step, WriteKind,
};

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
pub(crate) struct Scenario {
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
    /// A second destination `V` for `R` (high-water mark `vhwm`), whose writes answer as
    /// `vwrites` says, in a quarter of the scenarios that use `pipe`.
    second: bool,
    vhwm: usize,
    vwrites: Vec<WriteKind>,
    /// `autoDestroy` of `R` and `W`, and `allowHalfOpen` of `T`.
    r_auto: bool,
    w_auto: bool,
    t_half: bool,
    r_construct: Step,
    r_destroy: Step,
    w_construct: Step,
    w_destroy: Step,
    phases: Vec<Vec<&'static str>>,
}

impl Scenario {
    pub(crate) fn to_json(&self) -> Value {
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
            "second": self.second,
            "vhwm": self.vhwm,
            "vwrites": writes_json(&self.vwrites),
            "rauto": self.r_auto,
            "wauto": self.w_auto,
            "thalf": self.t_half,
            "rconstruct": step_name(self.r_construct),
            "rdestroy": step_name(self.r_destroy),
            "wconstruct": step_name(self.w_construct),
            "wdestroy": step_name(self.w_destroy),
            "phases": self.phases,
        })
    }
}

pub(crate) fn scenario(rng: &mut Rng) -> Scenario {
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
    let (r_auto, w_auto, t_half) = (rng.below(4) != 0, rng.below(4) != 0, rng.below(4) != 0);
    // Operations that may appear any number of times, and those that may appear once.
    const MANY: &[&str] = &[
        "pause", "resume", "read", "push", "unshift", "write", "write_cb", "cork", "uncork",
    ];
    // A third of the scenarios connect the streams with `pipeline()` instead of `pipe()`. Those
    // neither read nor listen for `'data'` themselves: `pipeline` does not ask for `T: Clone`,
    // and for chunks it cannot copy the crate documents two differences from Node, both by
    // design (a chunk can be moved once): a `read()` by user code while the pipeline pipes
    // returns `None` where Node returns the chunk the pipeline also gets, and a `'data'`
    // listener is called before the pipeline's own, whatever the order they were added in.
    let through_pipeline = rng.below(3) == 0;
    const MANY_UNREAD: &[&str] = &[
        "pause", "resume", "push", "unshift", "write", "write_cb", "cork", "uncork",
    ];
    let many = if through_pipeline { MANY_UNREAD } else { MANY };
    let second = !through_pipeline && rng.below(4) == 0;
    let vhwm = rng.pick(&[0, 1, 2, 16]);
    let vwrites = (0..rng.below(6)).map(|_| write_kind(rng)).collect();
    let mut piped_v = false;
    const RARE: &[&str] = &[
        "push_end",
        "end",
        "end_chunk",
        "destroy",
        "destroy_err",
        "w_destroy",
        "w_destroy_err",
        "end_cb",
        "off_data",
        "off_readable",
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
                7 if second && !piped_v => {
                    piped_v = true;
                    "pipe_v"
                }
                7 if second => rng.pick(&["unpipe_v", "v_destroy"]),
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
        second,
        vhwm,
        vwrites,
        r_auto,
        w_auto,
        t_half,
        r_construct,
        r_destroy,
        w_construct,
        w_destroy,
        phases,
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

/// A callback's outcome as Node's `err ? (err.code || err.message) : 'ok'`.
fn outcome(r: Result<(), Error>) -> String {
    r.map_or_else(|e| describe(&e), |()| "ok".to_string())
}

/// Runs `s` on sluicegate-node; the log `runner.js` makes of the same scenario on Node.js.
pub(crate) fn run(s: &Scenario) -> Vec<String> {
    let lp = EventLoop::new();
    let _entered = lp.enter();
    let log = Log::default();
    let next = Arc::new(AtomicU32::new(1));
    let written = AtomicU32::new(1001);

    let r = Readable::with_options(
        Source {
            construct: s.r_construct,
            destroy: s.r_destroy,
            ..Source::new(&log, &lp, &next, s.reads.clone())
        },
        ReadableOptions::objects()
            .high_water_mark(s.rhwm)
            .auto_destroy(s.r_auto),
    );
    let w = Writable::with_options(
        Sink {
            writev: s.writev,
            final_step: s.final_step,
            construct: s.w_construct,
            destroy: s.w_destroy,
            ..Sink::new("W", &log, &lp, s.writes.clone())
        },
        WritableOptions::objects()
            .high_water_mark(s.whwm)
            .auto_destroy(s.w_auto),
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
                allow_half_open: s.t_half,
                ..DuplexOptions::default()
            },
        )
    });

    let on = |name: &'static str| {
        let l = log.clone();
        move |_: &()| l.push(name)
    };
    listen(&r, &w, &log);
    let v = s.second.then(|| {
        let v = Writable::with_options(
            Sink::new("V", &log, &lp, s.vwrites.clone()),
            WritableOptions::objects().high_water_mark(s.vhwm),
        );
        listen_writable(&v, "V", &log);
        v
    });
    let v_ = || v.as_ref().expect("an operation on V in a scenario without one");
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
    let (mut data_id, mut readable_id) = (None, None);
    let mut piped_by = None;
    let mut watches = Vec::new();
    let settled = |name: &'static str| {
        let l = log.clone();
        move |r: Result<(), Error>| l.push(format!("finished {name} {}", outcome(r)))
    };

    lp.run_until_idle();
    for phase in &s.phases {
        log.push("|");
        for &op in phase {
            log.push(format!("> {op}"));
            match op {
                "on_data" => {
                    let l = log.clone();
                    data_id = Some(r.on(ev::Data, move |x: &u32| l.push(format!("R:data {x}"))));
                }
                "on_readable" => {
                    let (l, r2) = (log.clone(), r.clone());
                    readable_id = Some(r.on(ev::Readable, move |_: &()| {
                        l.push("R:readable");
                        while let Some(x) = r2.read() {
                            l.push(format!("R.read -> {x}"));
                        }
                        l.push("R.read -> null");
                    }));
                }
                "on_readable1" => {
                    let (l, r2) = (log.clone(), r.clone());
                    readable_id = Some(r.on(ev::Readable, move |_: &()| {
                        l.push("R:readable");
                        let x = r2.read();
                        l.push(format!("R.read -> {}", shown(x)));
                    }));
                }
                "pipe_v" => {
                    r.pipe(v_());
                }
                "unpipe_v" => {
                    r.unpipe(Some(v_()));
                }
                "v_destroy" => {
                    v_().destroy(None);
                }
                "off_data" => {
                    if let Some(id) = data_id.take() {
                        r.off(id);
                    }
                }
                "off_readable" => {
                    if let Some(id) = readable_id.take() {
                        r.off(id);
                    }
                }
                "unshift" => {
                    let v = next.fetch_add(1, Ordering::SeqCst);
                    let accepted = r.unshift(v);
                    log.push(format!("R.unshift {v} -> {accepted}"));
                }
                "write_cb" => {
                    let v = written.fetch_add(1, Ordering::SeqCst);
                    let l = log.clone();
                    let accepted = w.write_with(v, move |r| {
                        l.push(format!("W.write_cb {v} {}", outcome(r)));
                    });
                    log.push(format!("W.write {v} -> {accepted}"));
                }
                "end_cb" => {
                    log.push("W.end");
                    let l = log.clone();
                    w.end_with(move |r| l.push(format!("W.end_cb {}", outcome(r))));
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
                "push" => push_next(&log, &next, &[], &r),
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
