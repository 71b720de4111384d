//! What both families of scenarios share: the behaviours an implementor can have, the
//! seeded generator, the log, and the generic implementors of `R` and `W`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{json, Value};
use sluicegate_node::{
    ev, Completion, Error, ErrorCode, EventLoop, ReadImpl, Readable, StreamId, Writable, WriteImpl,
};

/// One `_read` behaviour.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ReadKind {
    Sync(u32),
    Tick(u32),
    None,
    End,
    EndTick,
}

/// One `_write` behaviour.
#[derive(Clone, Copy, Debug)]
pub(crate) enum WriteKind {
    Sync,
    Tick,
    Err,
}

/// What `_final`, `_flush` or a transform does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Step {
    /// No `_final` at all (for `_flush`: end with nothing more).
    None,
    Sync,
    Tick,
    Err,
    /// Push a value (`_flush` only).
    Push,
}

pub(crate) fn step_name(s: Step) -> &'static str {
    match s {
        Step::None => "none",
        Step::Sync => "sync",
        Step::Tick => "tick",
        Step::Err => "err",
        Step::Push => "push",
    }
}

/// `_read` behaviours as `runner.js` reads them.
pub(crate) fn reads_json(reads: &[ReadKind]) -> Vec<Value> {
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
pub(crate) fn writes_json(writes: &[WriteKind]) -> Vec<&'static str> {
    writes
        .iter()
        .map(|w| match w {
            WriteKind::Sync => "sync",
            WriteKind::Tick => "tick",
            WriteKind::Err => "err",
        })
        .collect()
}

pub(crate) fn read_kind(rng: &mut Rng) -> ReadKind {
    match rng.below(10) {
        0..=2 => ReadKind::Sync(rng.below(4) as u32),
        3..=5 => ReadKind::Tick(1 + rng.below(3) as u32),
        6..=7 => ReadKind::None,
        8 => ReadKind::End,
        _ => ReadKind::EndTick,
    }
}

pub(crate) fn write_kind(rng: &mut Rng) -> WriteKind {
    match rng.below(10) {
        0..=5 => WriteKind::Sync,
        6..=8 => WriteKind::Tick,
        _ => WriteKind::Err,
    }
}

/// SplitMix64: a small seeded generator, so a failing case is replayed by its seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Node's `err.code || err.message`.
pub(crate) fn describe(e: &Error) -> String {
    match e.code() {
        ErrorCode::User => e.message().to_string(),
        code => code.as_str().to_string(),
    }
}

#[derive(Clone, Default)]
pub(crate) struct Log(pub(crate) Arc<Mutex<Vec<String>>>);

impl Log {
    pub(crate) fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }
}

/// A completion that completes on the next tick of `lp`.
pub(crate) fn on_tick(lp: &EventLoop) -> Completion {
    let (done, callback) = Completion::callback();
    lp.next_tick(move || callback.ok());
    done
}

/// A completion of `result` on the next tick of `lp`.
pub(crate) fn on_tick_with(lp: &EventLoop, result: Result<(), Error>) -> Completion {
    let (done, callback) = Completion::callback();
    lp.next_tick(move || callback.call(result));
    done
}

/// `_construct` as `step` says: none, done at once, or on a tick.
pub(crate) fn construct_step(log: &Log, lp: &EventLoop, who: &str, step: Step) -> Option<Completion> {
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
pub(crate) fn destroy_step(
    log: &Log,
    lp: &EventLoop,
    who: &str,
    step: Step,
    err: Option<Error>,
) -> Completion {
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

/// A chunk of either family: how `R` makes its n-th chunk, and how the log shows one.
pub(crate) trait Chunk: Send + Sized + 'static {
    /// `R`'s n-th chunk (from 1); `lens` are the byte-mode lengths.
    fn make(n: u32, lens: &[usize]) -> Self;
    /// As `runner.js` prints it.
    fn show(&self) -> String;
}

impl Chunk for u32 {
    fn make(n: u32, _lens: &[usize]) -> Self {
        n
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Chunk for Bytes {
    /// The n-th letter, repeated `lens[(n - 1) % lens.len()]` times (3 without lengths).
    fn make(n: u32, lens: &[usize]) -> Self {
        let len = if lens.is_empty() {
            3
        } else {
            lens[(n as usize - 1) % lens.len()]
        };
        let letter = char::from(b'a' + ((n - 1) % 26) as u8);
        Bytes::from(std::iter::repeat_n(letter, len).collect::<String>())
    }
    fn show(&self) -> String {
        String::from_utf8_lossy(self).into_owned()
    }
}

/// `read()`'s result as Node prints it.
pub(crate) fn shown<T: Chunk>(x: Option<T>) -> String {
    x.map_or_else(|| "null".to_string(), |x| x.show())
}

/// Pushes `R`'s next chunk and logs what `push` returned.
pub(crate) fn push_next<T: Chunk>(log: &Log, next: &AtomicU32, lens: &[usize], r: &Readable<T>) {
    let chunk = T::make(next.fetch_add(1, Ordering::SeqCst), lens);
    let shown = chunk.show();
    let accepted = r.push(chunk);
    log.push(format!("R.push {shown} -> {accepted}"));
}

/// `R`'s implementor: its i-th `_read` does `reads[i]`.
pub(crate) struct Source {
    pub(crate) log: Log,
    pub(crate) lp: EventLoop,
    pub(crate) next: Arc<AtomicU32>,
    pub(crate) lens: Vec<usize>,
    pub(crate) reads: Vec<ReadKind>,
    pub(crate) calls: usize,
    pub(crate) construct: Step,
    pub(crate) destroy: Step,
}

impl Source {
    /// A source whose i-th `_read` does `reads[i]`, with Node's default `_construct` and
    /// `_destroy` and chunks of the default length.
    pub(crate) fn new(log: &Log, lp: &EventLoop, next: &Arc<AtomicU32>, reads: Vec<ReadKind>) -> Self {
        Source {
            log: log.clone(),
            lp: lp.clone(),
            next: next.clone(),
            lens: Vec::new(),
            reads,
            calls: 0,
            construct: Step::None,
            destroy: Step::None,
        }
    }
}

impl<T: Chunk> ReadImpl<T> for Source {
    fn read(&mut self, _size: usize, r: &Readable<T>) {
        let (l, n, lens) = (&self.log, &self.next, &self.lens);
        l.push("R._read");
        let kind = self.reads.get(self.calls).copied().unwrap_or(ReadKind::None);
        self.calls += 1;
        match kind {
            ReadKind::Sync(k) => (0..k).for_each(|_| push_next(l, n, lens, r)),
            ReadKind::Tick(k) => {
                let (l, n, lens, r2) = (l.clone(), n.clone(), lens.clone(), r.clone());
                self.lp
                    .next_tick(move || (0..k).for_each(|_| push_next(&l, &n, &lens, &r2)));
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
pub(crate) struct Sink {
    /// How the log names the stream: `W`, or `V` for a second destination.
    pub(crate) who: &'static str,
    pub(crate) log: Log,
    pub(crate) lp: EventLoop,
    pub(crate) writes: Vec<WriteKind>,
    pub(crate) calls: usize,
    pub(crate) writev: bool,
    pub(crate) final_step: Step,
    pub(crate) construct: Step,
    pub(crate) destroy: Step,
}

impl Sink {
    /// A sink named `who` whose j-th write answers as `writes[j]` says, with no `_writev`, no
    /// `_final`, and Node's default `_construct` and `_destroy`.
    pub(crate) fn new(who: &'static str, log: &Log, lp: &EventLoop, writes: Vec<WriteKind>) -> Self {
        Sink {
            who,
            log: log.clone(),
            lp: lp.clone(),
            writes,
            calls: 0,
            writev: false,
            final_step: Step::None,
            construct: Step::None,
            destroy: Step::None,
        }
    }

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

impl<T: Chunk> WriteImpl<T> for Sink {
    fn write(&mut self, chunk: T) -> Completion {
        self.log.push(format!("{}._write {}", self.who, chunk.show()));
        self.complete()
    }

    fn writev(&mut self, chunks: &mut Vec<T>) -> Option<Completion> {
        if !self.writev {
            return None;
        }
        let list: Vec<String> = std::mem::take(chunks).iter().map(T::show).collect();
        self.log.push(format!("{}._writev {}", self.who, list.join(",")));
        Some(self.complete())
    }

    fn finalize(&mut self) -> Option<Completion> {
        if self.final_step == Step::None {
            return None;
        }
        self.log.push(format!("{}._final", self.who));
        Some(match self.final_step {
            Step::Tick => on_tick(&self.lp),
            Step::Err => Completion::err(Error::user("ferr")),
            _ => Completion::ok(),
        })
    }

    fn construct(&mut self) -> Option<Completion> {
        construct_step(&self.log, &self.lp, self.who, self.construct)
    }

    fn destroy(&mut self, err: Option<Error>) -> Completion {
        destroy_step(&self.log, &self.lp, self.who, self.destroy, err)
    }
}

/// Logs every event of `R` (its `'data'` and `'readable'` only when an operation listens for
/// them) and of the writable `w`, named `who` in the log.
pub(crate) fn listen<T: Chunk>(r: &Readable<T>, w: &Writable<T>, log: &Log) {
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
    listen_writable(w, "W", log);
}

/// Logs every event of the writable `w`, named `who` in the log.
pub(crate) fn listen_writable<T: Chunk>(w: &Writable<T>, who: &'static str, log: &Log) {
    let on = |name: &str| {
        let (l, line) = (log.clone(), format!("{who}:{name}"));
        move |_: &()| l.push(line.clone())
    };
    w.on(ev::Drain, on("drain"));
    w.on(ev::Prefinish, on("prefinish"));
    w.on(ev::Finish, on("finish"));
    w.on(ev::Close, on("close"));
    let l = log.clone();
    w.on(ev::Pipe, move |_: &StreamId| l.push(format!("{who}:pipe")));
    let l = log.clone();
    w.on(ev::Unpipe, move |_: &StreamId| l.push(format!("{who}:unpipe")));
    let l = log.clone();
    w.on(ev::Error, move |e: &Error| {
        l.push(format!("{who}:error {}", describe(e)))
    });
}
