//! The byte-mode scenarios: `R` and `W` of bytes, chunk contents logged as text.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};
use sluicegate_node::{ev, EventLoop, Readable, ReadableOptions, Writable, WritableOptions};

use super::support::{
    listen, push_next, read_kind, reads_json, shown, write_kind, writes_json, Chunk, Log, ReadKind, Rng,
    Sink, Source, WriteKind,
};

/// A byte-mode scenario: a readable and a writable of bytes (no transform), chunk contents
/// logged as text. `R`'s n-th pushed chunk is the n-th letter repeated `lens[(n - 1) % len]`
/// times (empty chunks included); `W` is written `w1`, `w2`, ... Besides the operations of the
/// object-mode scenarios, `read(n)` for a few sizes and a `'readable'` listener reading two
/// bytes at a time.
#[derive(Clone, Debug)]
pub(crate) struct BytesScenario {
    rhwm: usize,
    whwm: usize,
    lens: Vec<usize>,
    reads: Vec<ReadKind>,
    writes: Vec<WriteKind>,
    writev: bool,
    phases: Vec<Vec<&'static str>>,
}

impl BytesScenario {
    pub(crate) fn to_json(&self) -> Value {
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

pub(crate) fn bytes_scenario(rng: &mut Rng) -> BytesScenario {
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

/// Runs a byte-mode scenario on sluicegate-node.
pub(crate) fn run_bytes(s: &BytesScenario) -> Vec<String> {
    let lp = EventLoop::new();
    let _entered = lp.enter();
    let log = Log::default();
    let next = Arc::new(AtomicU32::new(1));
    let written = AtomicU32::new(1);
    let r: Readable<Bytes> = Readable::with_options(
        Source {
            lens: s.lens.clone(),
            ..Source::new(&log, &lp, &next, s.reads.clone())
        },
        ReadableOptions::bytes().high_water_mark(s.rhwm),
    );
    let w: Writable<Bytes> = Writable::with_options(
        Sink {
            writev: s.writev,
            ..Sink::new("W", &log, &lp, s.writes.clone())
        },
        WritableOptions::bytes().high_water_mark(s.whwm),
    );
    listen(&r, &w, &log);

    lp.run_until_idle();
    for phase in &s.phases {
        log.push("|");
        for &op in phase {
            log.push(format!("> {op}"));
            let read_n = |n: usize| log.push(format!("R.read({n}) -> {}", shown(r.read_size(n))));
            match op {
                "on_data" => {
                    let l = log.clone();
                    r.on(ev::Data, move |x: &Bytes| l.push(format!("R:data {}", x.show())));
                }
                "on_readable" => {
                    let (l, r2) = (log.clone(), r.clone());
                    r.on(ev::Readable, move |_: &()| {
                        l.push("R:readable");
                        while let Some(x) = r2.read() {
                            l.push(format!("R.read -> {}", x.show()));
                        }
                        l.push("R.read -> null");
                    });
                }
                "on_readable2" => {
                    let (l, r2) = (log.clone(), r.clone());
                    r.on(ev::Readable, move |_: &()| {
                        l.push("R:readable");
                        while let Some(x) = r2.read_size(2) {
                            l.push(format!("R.read(2) -> {}", x.show()));
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
                "push" => push_next(&log, &next, &s.lens, &r),
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
