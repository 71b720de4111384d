//! Per-stream statistics, and a view of every stage of a pipe chain.
//!
//! Every readable and writable stream counts what passes through it and times where its
//! producer and consumer wait, so that the slow stage of a pipeline can be named:
//!
//! * **chunks and bytes in and out**: for a readable stream, *in* is what its source enqueued and
//!   *out* what its readers received; for a writable stream, *in* is what was written to it and
//!   *out* what was handed to its sink. Bytes are counted for byte-like chunks (`Bytes`,
//!   `BytesMut`, `Vec<u8>`, `Box<[u8]>`, `String`, `&'static str`, `&'static [u8]`); other chunk
//!   types count 0 bytes.
//! * **the queue**: its size against the high-water mark, in the strategy's units.
//! * **blocked**: how long the producer was held back by backpressure (the queue was at its
//!   high-water mark, so a readable's source was not pulled, or a writable's `ready` was pending).
//! * **starved**: how long the consumer waited for the producer (a readable's reader had a read
//!   pending on an empty queue, or a writable's sink sat idle with nothing queued).
//!
//! [`ReadableStream::stats`], [`WritableStream::stats`] and
//! [`TransformStream::stats`](crate::TransformStream::stats) take a snapshot;
//! [`WritableStream::pipeline_stats`] and [`ReadableStream::pipeline_stats`] follow the pipes
//! (`pipe_to`, `pipe_through`) and transform streams upstream from a stream and return one
//! [`StageStats`] per stage, source first, with the stage that holds the others back
//! ([`PipelineStats::bottleneck`]): the one that is neither blocked by the stage after it nor
//! starved by the stage before it.
//!
//! ```
//! use sluicegate::{PipeOptions, ReadableStream, TransformStream, WritableStream};
//! use sluicegate::writable::SinkFn;
//!
//! # futures::executor::block_on(async {
//! let source = ReadableStream::from_iter(["a", "bb", "ccc"]);
//! let upper = TransformStream::map(|s: &str| s.to_uppercase());
//! let sink = WritableStream::new(SinkFn::new().write(|_: String, _| {})).unwrap();
//! let mapped = source.pipe_through(&upper, PipeOptions::default()).unwrap();
//! mapped.pipe_to(&sink, PipeOptions::default()).await.unwrap();
//!
//! let pipeline = sink.pipeline_stats();
//! assert_eq!(pipeline.stages.len(), 3); // source, transform, sink
//! let sink_in = pipeline.stages[2].input.as_ref().unwrap();
//! assert_eq!((sink_in.chunks_in, sink_in.bytes_in), (3, 6));
//! # });
//! ```
//!
//! ## Cost
//!
//! The counters are plain additions under the stream's lock, which the operations hold already,
//! and are on by default; [`set_enabled`]`(false)` turns them off for the streams made
//! afterwards, which then skip every hook after one branch. The phase clocks (blocked, starved)
//! read a coarse monotonic clock each time a stream changes phase, which a pipeline of small
//! objects does on almost every chunk, so they are off by default and turned on with
//! [`set_timing`]`(true)` (the `sluice` tool does). `cargo run --release -p sluicegate-bench --
//! objects` runs the sluicegate pipeline with statistics off, on, and on with the clocks, in the
//! same run, and reports what each costs.

use std::any::Any;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::readable::stream::{Inner as ReadableInner, Slots as ReadableSlots, StreamState};
use crate::readable::ReadableStream;
use crate::transform::TransformStream;
use crate::writable::stream::{Inner as WritableInner, Slots as WritableSlots};
use crate::writable::{WritableState, WritableStream};

static ENABLED: AtomicBool = AtomicBool::new(true);
static TIMING: AtomicBool = AtomicBool::new(false);

/// Turns statistics on or off for the streams made from now on (they are on by default). A
/// stream made while they are off counts nothing and reads no clock; its snapshots say
/// `enabled: false`.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether streams made now keep statistics.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Turns the phase clocks (blocked, starved and active time) on or off for the streams made from
/// now on. They are off by default: a stream whose consumer is faster than its producer changes
/// phase on every chunk, and reading a clock each time costs a few percent on a pipeline of
/// small objects (see the crate's BENCHMARKS.md). Byte pipelines, whose chunks are large, do not
/// notice it. Without them, snapshots have zero durations and [`Phase::Idle`].
pub fn set_timing(on: bool) {
    TIMING.store(on, Ordering::Relaxed);
}

/// Whether streams made now time their phases.
pub fn timing() -> bool {
    TIMING.load(Ordering::Relaxed)
}

/// What a stream's producer and consumer are doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Nothing has happened yet.
    #[default]
    Idle,
    /// Chunks can move: neither side waits for the other.
    Flowing,
    /// The producer is held back by backpressure: the queue is at its high-water mark.
    Blocked,
    /// The consumer waits for the producer: a read is pending on an empty queue, or a sink is
    /// idle with nothing queued.
    Starved,
    /// The stream has closed or errored; the clocks have stopped.
    Done,
}

/// Whether a stream is still open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum State {
    /// Readable or writable (a writable that is erroring counts as open).
    #[default]
    Open,
    /// Closed.
    Closed,
    /// Errored.
    Errored,
}

/// A snapshot of one stream's statistics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamStats {
    /// Whether the stream keeps statistics (see [`set_enabled`]); when not, every count is 0.
    pub enabled: bool,
    /// Whether the stream times its phases (see [`set_timing`]); when not, every duration is 0.
    pub timed: bool,
    /// Chunks that came in: enqueued by a readable's source, written to a writable.
    pub chunks_in: u64,
    /// Chunks that went out: received by a readable's readers, handed to a writable's sink.
    pub chunks_out: u64,
    /// Bytes of the chunks that came in (byte-like chunk types only).
    pub bytes_in: u64,
    /// Bytes of the chunks that went out (byte-like chunk types only).
    pub bytes_out: u64,
    /// Bytes a pipe copied directly between the files behind its two ends, with no chunk passing
    /// through either stream (`io::file_source` piped straight to `io::file_sink`): counted on
    /// both streams, and in none of the counts above.
    pub bytes_copied: u64,
    /// The queue's total size now, in the strategy's units (chunks, or bytes).
    pub queue_size: f64,
    /// The strategy's high-water mark, in the same units.
    pub high_water_mark: f64,
    /// Time the producer spent held back by backpressure.
    pub blocked: Duration,
    /// Time the consumer spent waiting for the producer.
    pub starved: Duration,
    /// Time since the stream's first chunk or read, until it closed or errored (or now).
    pub active: Duration,
    /// The phase the stream is in.
    pub phase: Phase,
    /// Whether the stream is open, closed or errored.
    pub state: State,
}

impl StreamStats {
    /// The share of the active time the producer was blocked, 0 to 1.
    pub fn blocked_share(&self) -> f64 {
        share(self.blocked, self.active)
    }

    /// The share of the active time the consumer was starved, 0 to 1.
    pub fn starved_share(&self) -> f64 {
        share(self.starved, self.active)
    }

    /// How full the queue is: its size over the high-water mark (1 when both are 0 and a chunk
    /// waits; it can exceed 1).
    pub fn fill(&self) -> f64 {
        if self.high_water_mark > 0.0 {
            self.queue_size / self.high_water_mark
        } else if self.queue_size > 0.0 {
            1.0
        } else {
            0.0
        }
    }

    /// What happened between `earlier` (a snapshot of the same stream) and this snapshot: the
    /// counts and times are differences; the queue, phase and state are this snapshot's.
    pub fn since(&self, earlier: &StreamStats) -> StreamStats {
        StreamStats {
            enabled: self.enabled,
            timed: self.timed,
            chunks_in: self.chunks_in.saturating_sub(earlier.chunks_in),
            chunks_out: self.chunks_out.saturating_sub(earlier.chunks_out),
            bytes_in: self.bytes_in.saturating_sub(earlier.bytes_in),
            bytes_out: self.bytes_out.saturating_sub(earlier.bytes_out),
            bytes_copied: self.bytes_copied.saturating_sub(earlier.bytes_copied),
            queue_size: self.queue_size,
            high_water_mark: self.high_water_mark,
            blocked: self.blocked.saturating_sub(earlier.blocked),
            starved: self.starved.saturating_sub(earlier.starved),
            active: self.active.saturating_sub(earlier.active),
            phase: self.phase,
            state: self.state,
        }
    }
}

fn share(part: Duration, whole: Duration) -> f64 {
    if whole.is_zero() {
        0.0
    } else {
        (part.as_secs_f64() / whole.as_secs_f64()).clamp(0.0, 1.0)
    }
}

/// What a stage of a pipe chain is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StageKind {
    /// A readable stream nothing feeds through a pipe: where the data comes from.
    Source,
    /// A transform stream: its writable side is the stage's input, its readable side the output.
    Transform,
    /// A writable stream at the end of the chain.
    Sink,
}

/// One stage of a pipe chain: the stream it reads from and the stream it writes to.
#[derive(Clone, Debug, PartialEq)]
pub struct StageStats {
    /// What the stage is.
    pub kind: StageKind,
    /// The stage's input side: a transform's writable side, or the sink. `None` for a source.
    pub input: Option<StreamStats>,
    /// The stage's output side: a source, or a transform's readable side. `None` for a sink.
    pub output: Option<StreamStats>,
}

impl StageStats {
    /// The share of time the stage could not hand its output on: its output queue was full.
    pub fn blocked_share(&self) -> f64 {
        self.output.as_ref().map_or(0.0, StreamStats::blocked_share)
    }

    /// The share of time the stage waited for input: it was idle with nothing queued.
    pub fn starved_share(&self) -> f64 {
        self.input.as_ref().map_or(0.0, StreamStats::starved_share)
    }

    /// The share of time the stage was neither blocked nor starved: working, or waiting on
    /// something outside the streams (a disk, a socket, a timer).
    pub fn busy_share(&self) -> f64 {
        (1.0 - self.blocked_share() - self.starved_share()).clamp(0.0, 1.0)
    }

    /// Whether anything happened on the stage's streams.
    pub fn is_active(&self) -> bool {
        let active = |s: &Option<StreamStats>| s.as_ref().is_some_and(|s| !s.active.is_zero());
        active(&self.input) || active(&self.output)
    }

    /// Bytes the stage delivered: its output's bytes out, or a sink's bytes handed to it.
    pub fn bytes_through(&self) -> u64 {
        match (&self.output, &self.input) {
            (Some(out), _) => out.bytes_out,
            (None, Some(input)) => input.bytes_out,
            (None, None) => 0,
        }
    }

    /// What happened to the stage between `earlier` and this snapshot ([`StreamStats::since`]).
    pub fn since(&self, earlier: &StageStats) -> StageStats {
        let delta = |now: &Option<StreamStats>, then: &Option<StreamStats>| match (now, then) {
            (Some(now), Some(then)) => Some(now.since(then)),
            (now, _) => now.clone(),
        };
        StageStats {
            kind: self.kind,
            input: delta(&self.input, &earlier.input),
            output: delta(&self.output, &earlier.output),
        }
    }
}

/// Every stage of a pipe chain, source first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PipelineStats {
    /// The stages, in the order data flows through them.
    pub stages: Vec<StageStats>,
}

impl PipelineStats {
    /// The index of the stage that holds the pipeline back: the active stage with the largest
    /// [busy share](StageStats::busy_share). `None` if no stage has done anything.
    pub fn bottleneck(&self) -> Option<usize> {
        self.stages
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_active())
            .max_by(|(_, a), (_, b)| a.busy_share().total_cmp(&b.busy_share()))
            .map(|(i, _)| i)
    }

    /// What happened between `earlier` (a snapshot of the same chain) and this snapshot, stage by
    /// stage. Stages the earlier snapshot lacks are taken whole.
    pub fn since(&self, earlier: &PipelineStats) -> PipelineStats {
        PipelineStats {
            stages: self
                .stages
                .iter()
                .enumerate()
                .map(|(i, s)| match earlier.stages.get(i) {
                    Some(e) if e.kind == s.kind => s.since(e),
                    _ => s.clone(),
                })
                .collect(),
        }
    }
}

/// How a stream is fed, as the pipeline view follows it upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// A writable fed by a pipe from a readable.
    Pipe,
    /// A transform's readable side, fed by its writable side.
    Transform,
}

/// A stream seen from the pipeline view, whatever its chunk type.
trait Node: Send + Sync {
    fn snapshot(&self) -> StreamStats;
    fn upstream(&self) -> Option<(Via, Arc<dyn Node>)>;
    fn is_readable(&self) -> bool;
}

/// The stream that feeds a stream, as [`link_pipe`] or [`link_transform`] recorded it. How it
/// feeds it follows from the kind of the stream fed: a writable by a pipe, a readable by its
/// transform's writable side.
type Upstream = Weak<dyn Node>;

/// The clock phases are timed with: the coarse monotonic clock (`CLOCK_MONOTONIC_COARSE` on
/// Linux, through the `coarsetime` crate), which costs a few nanoseconds where
/// `std::time::Instant::now()` costs tens, at a resolution of a few milliseconds. A phase shorter
/// than a tick counts a whole tick when a tick boundary falls inside it and nothing otherwise, so
/// over many phases the sums are right on average (what the shares are made of), and a single
/// long phase is right to within a tick.
type Instant = coarsetime::Instant;

#[inline]
fn now() -> Instant {
    // Not `now()`, which also stores the time in a process-wide cache that every thread's
    // streams would then write.
    coarsetime::Instant::now_without_cache_update()
}

#[inline]
fn between(later: Instant, earlier: Instant) -> Duration {
    if later > earlier {
        later.duration_since(earlier).into()
    } else {
        Duration::ZERO
    }
}

/// The statistics a stream keeps, in its slots, under its lock.
pub(crate) struct Meter {
    on: bool,
    chunks_in: u64,
    chunks_out: u64,
    bytes_in: u64,
    bytes_out: u64,
    bytes_copied: u64,
    /// The phase clocks of a stream made while timing was on ([`set_timing`]). Boxed: timing is
    /// off by default, and an idle stream then pays one pointer for them.
    clocks: Option<Box<Clocks>>,
    upstream: Option<Upstream>,
}

/// A timed stream's phase and clocks ([`Meter::clocks`]).
struct Clocks {
    phase: Phase,
    /// When the current phase began; `None` while idle.
    since: Option<Instant>,
    first: Option<Instant>,
    blocked: Duration,
    starved: Duration,
    /// How long the stream was active, set once it is done.
    lifetime: Option<Duration>,
}

impl Meter {
    /// A meter for a new stream, on if statistics are enabled.
    pub(crate) fn new() -> Self {
        let on = enabled();
        Meter {
            on,
            chunks_in: 0,
            chunks_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            bytes_copied: 0,
            clocks: (on && timing()).then(|| {
                Box::new(Clocks {
                    phase: Phase::Idle,
                    since: None,
                    first: None,
                    blocked: Duration::ZERO,
                    starved: Duration::ZERO,
                    lifetime: None,
                })
            }),
            upstream: None,
        }
    }

    /// A chunk came in.
    #[inline]
    pub(crate) fn chunk_in<T: 'static>(&mut self, chunk: &T) {
        if self.on {
            self.chunks_in += 1;
            self.bytes_in += byte_len(chunk);
        }
    }

    /// `bytes` came in as one chunk (measured with [`byte_len`] before the chunk moved on, or
    /// written in place by a byte source's BYOB response).
    #[inline]
    pub(crate) fn bytes_in(&mut self, bytes: u64) {
        if self.on {
            self.chunks_in += 1;
            self.bytes_in += bytes;
        }
    }

    /// A chunk went out.
    #[inline]
    pub(crate) fn chunk_out<T: 'static>(&mut self, chunk: &T) {
        if self.on {
            self.chunks_out += 1;
            self.bytes_out += byte_len(chunk);
        }
    }

    /// `bytes` went out as one chunk (a filled BYOB view).
    #[inline]
    pub(crate) fn bytes_out(&mut self, bytes: u64) {
        if self.on {
            self.chunks_out += 1;
            self.bytes_out += bytes;
        }
    }

    /// A pipe copied `bytes` directly between the files behind its ends.
    pub(crate) fn copied(&mut self, bytes: u64) {
        if self.on {
            self.bytes_copied += bytes;
        }
    }

    /// The stream is now in `phase`; the clock is read only if that is a change.
    #[inline]
    pub(crate) fn phase(&mut self, phase: Phase) {
        if let Some(clocks) = self.clocks.as_deref_mut() {
            if phase != clocks.phase {
                clocks.change(phase);
            }
        }
    }

    /// The stream closed or errored: the clocks stop.
    #[inline]
    pub(crate) fn done(&mut self) {
        self.phase(Phase::Done);
    }

    fn snapshot(&self, queue_size: f64, high_water_mark: f64, state: State) -> StreamStats {
        let mut stats = StreamStats {
            enabled: self.on,
            timed: self.clocks.is_some(),
            chunks_in: self.chunks_in,
            chunks_out: self.chunks_out,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            bytes_copied: self.bytes_copied,
            queue_size,
            high_water_mark,
            blocked: Duration::ZERO,
            starved: Duration::ZERO,
            active: Duration::ZERO,
            phase: Phase::Idle,
            state,
        };
        if let Some(clocks) = self.clocks.as_deref() {
            clocks.add_to(&mut stats);
        }
        stats
    }
}

impl Clocks {
    #[cold]
    #[inline(never)]
    fn change(&mut self, phase: Phase) {
        if self.phase == Phase::Done {
            return;
        }
        let now = now();
        if let Some(since) = self.since {
            let spent = between(now, since);
            match self.phase {
                Phase::Blocked => self.blocked += spent,
                Phase::Starved => self.starved += spent,
                Phase::Idle | Phase::Flowing | Phase::Done => {}
            }
        }
        let first = *self.first.get_or_insert(now);
        if phase == Phase::Done {
            self.lifetime = Some(between(now, first));
        }
        self.since = Some(now);
        self.phase = phase;
    }

    /// Fills in a snapshot's phase and durations.
    fn add_to(&self, stats: &mut StreamStats) {
        stats.phase = self.phase;
        stats.blocked = self.blocked;
        stats.starved = self.starved;
        if let Some(lifetime) = self.lifetime {
            stats.active = lifetime;
        } else if let (Some(first), Some(since)) = (self.first, self.since) {
            let now = now();
            stats.active = between(now, first);
            let ongoing = between(now, since);
            match self.phase {
                Phase::Blocked => stats.blocked += ongoing,
                Phase::Starved => stats.starved += ongoing,
                Phase::Idle | Phase::Flowing | Phase::Done => {}
            }
        }
    }
}

/// The length in bytes of a byte-like chunk, 0 for other types. The type test is resolved at
/// compile time for each `T`.
#[inline]
pub(crate) fn byte_len<T: 'static>(chunk: &T) -> u64 {
    let any = chunk as &dyn Any;
    let len = if let Some(b) = any.downcast_ref::<Bytes>() {
        b.len()
    } else if let Some(b) = any.downcast_ref::<BytesMut>() {
        b.len()
    } else if let Some(b) = any.downcast_ref::<Vec<u8>>() {
        b.len()
    } else if let Some(b) = any.downcast_ref::<Box<[u8]>>() {
        b.len()
    } else if let Some(s) = any.downcast_ref::<String>() {
        s.len()
    } else if let Some(s) = any.downcast_ref::<&'static str>() {
        s.len()
    } else if let Some(b) = any.downcast_ref::<&'static [u8]>() {
        b.len()
    } else {
        0
    };
    len as u64
}

// --- Phases as the streams' slots define them ------------------------------------------------

/// A readable stream's phase: starved while a reader waits, blocked while the queue is at the
/// high-water mark (the source is not pulled), flowing otherwise.
pub(crate) fn readable_phase<T>(slots: &ReadableSlots<T>) -> Phase {
    if !matches!(slots.state, StreamState::Readable) {
        return Phase::Done;
    }
    let waiting = slots
        .reader
        .as_ref()
        .is_some_and(|r| !r.read_requests.is_empty() || r.num_read_into_requests() > 0);
    if waiting {
        return Phase::Starved;
    }
    let (size, hwm, closing) = match slots.byte.as_deref() {
        Some(b) => (b.queue_total_size as f64, b.strategy_hwm, b.close_requested),
        None => (
            slots.controller.queue.total_size(),
            slots.controller.strategy_hwm,
            slots.controller.close_requested,
        ),
    };
    if !closing && size >= hwm {
        Phase::Blocked
    } else {
        Phase::Flowing
    }
}

/// A writable stream's phase: starved while the sink is idle with nothing queued, blocked while
/// there is backpressure, flowing otherwise.
pub(crate) fn writable_phase<T>(slots: &WritableSlots<T>) -> Phase {
    match slots.state {
        WritableState::Writable | WritableState::Erroring(_) => {}
        WritableState::Closed | WritableState::Errored(_) => return Phase::Done,
    }
    if slots.in_flight_write_request.is_none() && slots.controller.queue.is_empty() {
        Phase::Starved
    } else if slots.backpressure {
        Phase::Blocked
    } else {
        Phase::Flowing
    }
}

// --- Links between stages --------------------------------------------------------------------

/// Records that `dest` is fed by a pipe from `source` (ReadableStreamPipeTo).
pub(crate) fn link_pipe<T: Send + 'static, U: Send + 'static>(
    source: &Arc<ReadableInner<T>>,
    dest: &Arc<WritableInner<U>>,
) {
    let node: Arc<dyn Node> = source.clone();
    dest.slots.lock().meter.upstream = Some(Arc::downgrade(&node));
}

/// Records that `readable` is the readable side of the transform stream whose writable side is
/// `writable` (InitializeTransformStream).
pub(crate) fn link_transform<I: Send + 'static, O: Send + 'static>(
    writable: &Arc<WritableInner<I>>,
    readable: &Arc<ReadableInner<O>>,
) {
    let node: Arc<dyn Node> = writable.clone();
    readable.slots.lock().meter.upstream = Some(Arc::downgrade(&node));
}

fn readable_snapshot<T: Send + 'static>(slots: &ReadableSlots<T>) -> StreamStats {
    let (size, hwm) = match slots.byte.as_deref() {
        Some(b) => (b.queue_total_size as f64, b.strategy_hwm),
        None => (slots.controller.queue.total_size(), slots.controller.strategy_hwm),
    };
    let state = match slots.state {
        StreamState::Readable => State::Open,
        StreamState::Closed => State::Closed,
        StreamState::Errored(_) => State::Errored,
    };
    slots.meter.snapshot(size, hwm, state)
}

fn writable_snapshot<T: Send + 'static>(slots: &WritableSlots<T>) -> StreamStats {
    let state = match slots.state {
        WritableState::Writable | WritableState::Erroring(_) => State::Open,
        WritableState::Closed => State::Closed,
        WritableState::Errored(_) => State::Errored,
    };
    slots.meter.snapshot(
        slots.controller.queue.total_size(),
        slots.controller.strategy_hwm,
        state,
    )
}

fn upstream_of(link: &Option<Upstream>, via: Via) -> Option<(Via, Arc<dyn Node>)> {
    Some((via, link.as_ref()?.upgrade()?))
}

// Snapshots enter the stream's execution domain, which guards its slots (`host::DomainCell`). A
// snapshot taken from another thread (a progress view) waits only for the step in progress: the
// domain is released around every call into user code, so a busy pipeline lets it in between
// chunks, not at the end of its run.

impl<T: Send + 'static> Node for ReadableInner<T> {
    fn snapshot(&self) -> StreamStats {
        self.slots.with_entered(|slots| readable_snapshot(slots))
    }

    fn upstream(&self) -> Option<(Via, Arc<dyn Node>)> {
        self.slots
            .with_entered(|slots| upstream_of(&slots.meter.upstream, Via::Transform))
    }

    fn is_readable(&self) -> bool {
        true
    }
}

impl<T: Send + 'static> Node for WritableInner<T> {
    fn snapshot(&self) -> StreamStats {
        self.slots.with_entered(|slots| writable_snapshot(slots))
    }

    fn upstream(&self) -> Option<(Via, Arc<dyn Node>)> {
        self.slots
            .with_entered(|slots| upstream_of(&slots.meter.upstream, Via::Pipe))
    }

    fn is_readable(&self) -> bool {
        false
    }
}

/// Follows the links upstream from `end` and groups the streams into stages, source first.
fn walk(end: Arc<dyn Node>) -> PipelineStats {
    // Each stream, with how it is fed, from the end back to the source.
    let mut chain: Vec<(bool, StreamStats, Option<Via>)> = Vec::new();
    let mut seen = HashSet::new();
    let mut node = Some(end);
    while let Some(n) = node {
        if !seen.insert(Arc::as_ptr(&n) as *const () as usize) {
            break; // a pipe chain that loops back on itself
        }
        let up = n.upstream();
        chain.push((n.is_readable(), n.snapshot(), up.as_ref().map(|(via, _)| *via)));
        node = up.map(|(_, n)| n);
    }
    chain.reverse();
    let mut stages = Vec::new();
    let mut items = chain.into_iter().peekable();
    while let Some((readable, stats, via)) = items.next() {
        if readable {
            // A readable whose writable side is not in the chain (the walk started inside a
            // transform, or a loop was cut) still shows as the output of its stage.
            let kind = if via == Some(Via::Transform) {
                StageKind::Transform
            } else {
                StageKind::Source
            };
            stages.push(StageStats {
                kind,
                input: None,
                output: Some(stats),
            });
        } else if items
            .peek()
            .is_some_and(|(r, _, via)| *r && *via == Some(Via::Transform))
        {
            let (_, output, _) = items.next().expect("peeked");
            stages.push(StageStats {
                kind: StageKind::Transform,
                input: Some(stats),
                output: Some(output),
            });
        } else {
            stages.push(StageStats {
                kind: StageKind::Sink,
                input: Some(stats),
                output: None,
            });
        }
    }
    PipelineStats { stages }
}

impl<T: Send + 'static> ReadableStream<T> {
    /// A snapshot of this stream's statistics (see [the `stats` module](crate::stats)).
    pub fn stats(&self) -> StreamStats {
        self.inner.slots.with_entered(|slots| readable_snapshot(slots))
    }

    /// Every stage of the pipe chain that ends with this stream, source first: the transform
    /// streams and pipes that feed it, followed upstream while their streams are alive. The last
    /// stage is the transform (or source) whose output this stream is.
    pub fn pipeline_stats(&self) -> PipelineStats {
        walk(self.inner.clone())
    }
}

impl<T: Send + 'static> WritableStream<T> {
    /// A snapshot of this stream's statistics (see [the `stats` module](crate::stats)).
    pub fn stats(&self) -> StreamStats {
        self.inner.slots.with_entered(|slots| writable_snapshot(slots))
    }

    /// Every stage of the pipe chain that ends with this stream, source first, this stream being
    /// the last stage's input (the sink, or a transform's writable side): the pipes and transform
    /// streams that feed it, followed upstream while their streams are alive.
    pub fn pipeline_stats(&self) -> PipelineStats {
        walk(self.inner.clone())
    }
}

impl<I: Send + 'static, O: Send + 'static> TransformStream<I, O> {
    /// The transform as a stage: its writable side's statistics as the input, its readable
    /// side's as the output.
    pub fn stats(&self) -> StageStats {
        StageStats {
            kind: StageKind::Transform,
            input: Some(self.writable().stats()),
            output: Some(self.readable().stats()),
        }
    }
}
