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
//! ```
//!
//! A scenario is a readable `R` (high-water mark `rhwm`) whose i-th `_read` call does
//! `reads[i]` (push `k` values at once, push them on `process.nextTick`, push the end at once or
//! on a tick, or nothing), a writable `W` (high-water mark `whwm`) whose j-th `_write` calls its
//! callback at once, on a tick or with an error, as `writes[j]` says, and phases of operations
//! from the top level (listen for `'data'` or `'readable'`, pause, resume, read, push, end,
//! destroy either side, pipe, unpipe, write); after each phase both sides run until nothing is
//! queued (Node: until `setImmediate`). The log records every event of both streams, every
//! `_read` and `_write` call and what `push`, `read` and `write` returned. `runner.js` is the
//! Node.js side; this file generates the scenarios, runs the Rust side and compares.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use sluicegate_node::{
    ev, Completion, Error, ErrorCode, EventLoop, Readable, ReadableOptions, StreamId, Writable,
    WritableOptions,
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

#[derive(Clone, Debug)]
struct Scenario {
    rhwm: usize,
    whwm: usize,
    reads: Vec<ReadKind>,
    writes: Vec<WriteKind>,
    phases: Vec<Vec<&'static str>>,
}

impl Scenario {
    fn to_json(&self) -> Value {
        let reads: Vec<Value> = self
            .reads
            .iter()
            .map(|r| match r {
                ReadKind::Sync(k) => json!(["sync", k]),
                ReadKind::Tick(k) => json!(["tick", k]),
                ReadKind::None => json!(["none", 0]),
                ReadKind::End => json!(["end", 0]),
                ReadKind::EndTick => json!(["end_tick", 0]),
            })
            .collect();
        let writes: Vec<&str> = self
            .writes
            .iter()
            .map(|w| match w {
                WriteKind::Sync => "sync",
                WriteKind::Tick => "tick",
                WriteKind::Err => "err",
            })
            .collect();
        json!({
            "rhwm": self.rhwm,
            "whwm": self.whwm,
            "reads": reads,
            "writes": writes,
            "phases": self.phases,
        })
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
    let reads = (0..rng.below(7))
        .map(|_| match rng.below(10) {
            0..=2 => ReadKind::Sync(rng.below(4) as u32),
            3..=5 => ReadKind::Tick(1 + rng.below(3) as u32),
            6..=7 => ReadKind::None,
            8 => ReadKind::End,
            _ => ReadKind::EndTick,
        })
        .collect();
    let writes = (0..rng.below(8))
        .map(|_| match rng.below(10) {
            0..=5 => WriteKind::Sync,
            6..=8 => WriteKind::Tick,
            _ => WriteKind::Err,
        })
        .collect();
    // Operations that may appear any number of times, and those that may appear once.
    const MANY: &[&str] = &["pause", "resume", "read", "push", "write"];
    const RARE: &[&str] = &[
        "push_end",
        "end",
        "destroy",
        "destroy_err",
        "w_destroy",
        "w_destroy_err",
    ];
    let mut listened = false;
    let mut piped = false;
    let mut phases = Vec::new();
    for _ in 0..1 + rng.below(6) {
        let mut phase = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let op = match rng.below(12) {
                0..=1 if !listened => {
                    listened = true;
                    rng.pick(&["on_data", "on_readable", "on_readable1"])
                }
                2 if !piped => {
                    piped = true;
                    "pipe"
                }
                3 if piped => "unpipe",
                4 => rng.pick(RARE),
                _ => rng.pick(MANY),
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

/// Runs `s` on sluicegate-node; the log `runner.js` makes of the same scenario on Node.js.
fn run(s: &Scenario) -> Vec<String> {
    let lp = EventLoop::new();
    let _entered = lp.enter();
    let log = Log::default();
    let next = Arc::new(AtomicU32::new(1));
    let written = AtomicU32::new(1001);

    let (l, n, reads) = (log.clone(), next.clone(), s.reads.clone());
    let mut read_calls = 0;
    let r = Readable::from_fn_with(
        move |_size, r: &Readable<u32>| {
            l.push("R._read");
            let kind = reads.get(read_calls).copied().unwrap_or(ReadKind::None);
            read_calls += 1;
            match kind {
                ReadKind::Sync(k) => (0..k).for_each(|_| push_next(&l, &n, r)),
                ReadKind::Tick(k) => {
                    let (l, n, r2) = (l.clone(), n.clone(), r.clone());
                    r.event_loop()
                        .next_tick(move || (0..k).for_each(|_| push_next(&l, &n, &r2)));
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
        ReadableOptions::objects().high_water_mark(s.rhwm),
    );
    let (l, writes, wl) = (log.clone(), s.writes.clone(), lp.clone());
    let mut write_calls = 0;
    let w = Writable::from_fn_with(
        move |chunk: u32| -> Completion {
            l.push(format!("W._write {chunk}"));
            let kind = writes.get(write_calls).copied().unwrap_or(WriteKind::Sync);
            write_calls += 1;
            match kind {
                WriteKind::Sync => Completion::ok(),
                WriteKind::Tick => {
                    let (done, callback) = Completion::callback();
                    wl.next_tick(move || callback.ok());
                    done
                }
                WriteKind::Err => Completion::err(Error::user("werr")),
            }
        },
        WritableOptions::objects().high_water_mark(s.whwm),
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
                "pipe" => {
                    r.pipe(&w);
                }
                "unpipe" => {
                    r.unpipe(Some(&w));
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
    let out = log.0.lock().unwrap().clone();
    out
}

/// `read()`'s result as Node prints it.
fn shown(x: Option<u32>) -> String {
    x.map_or_else(|| "null".to_string(), |x| x.to_string())
}

/// Runs every scenario on Node.js (one process) and returns each one's log.
fn run_on_node(scenarios: &[Scenario]) -> Vec<Vec<String>> {
    let runner = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential/runner.js");
    let mut child = Command::new("node")
        .arg(runner)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the differential tests need Node.js: `node` must be on the PATH");
    let input = Value::Array(scenarios.iter().map(Scenario::to_json).collect()).to_string();
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
    assert_eq!(logs.len(), scenarios.len(), "node printed one log per scenario");
    logs
}

/// The log without the events a stream emits after its own `'close'`: Node.js still emits
/// `'pause'` and `'resume'` then (a `pause()`/`resume()` on a destroyed stream), while
/// sluicegate-node drops a stream's listeners at `'close'` (its documented difference: listeners
/// often hold handles on other streams, and keeping them would keep whole pipelines alive).
fn after_close_dropped(log: Vec<String>) -> Vec<String> {
    let (mut r_closed, mut w_closed) = (false, false);
    log.into_iter()
        .filter(|line| {
            let keep = !(r_closed && line.starts_with("R:") || w_closed && line.starts_with("W:"));
            r_closed |= line == "R:close";
            w_closed |= line == "W:close";
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

#[test]
fn the_event_logs_of_random_scenarios_match_nodes() {
    let cases = env_or("DIFF_CASES", 2000) as usize;
    let seed = env_or("DIFF_SEED", 1);
    let mut rng = Rng(seed);
    let scenarios: Vec<Scenario> = (0..cases).map(|_| scenario(&mut rng)).collect();
    let expected = run_on_node(&scenarios);
    let mut failures = Vec::new();
    for (i, (s, node)) in scenarios.iter().zip(&expected).enumerate() {
        let (ours, node) = (after_close_dropped(run(s)), after_close_dropped(node.clone()));
        if ours != node {
            failures.push((i, s, ours, node));
        }
    }
    for (i, s, ours, node) in failures.iter().take(5) {
        let at = ours.iter().zip(node.iter()).take_while(|(a, b)| a == b).count();
        eprintln!("scenario {i} (seed {seed}): {}", s.to_json());
        eprintln!("  first difference at line {at}");
        let from = at.saturating_sub(6);
        eprintln!("  node:  {:?}", &node[from..node.len().min(at + 6)]);
        eprintln!("  ours:  {:?}", &ours[from..ours.len().min(at + 6)]);
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} scenarios differ from Node.js (seed {seed}; the first five above)",
        failures.len()
    );
}
