//! The scenarios: a topology, a fault at a position, synchronous or asynchronous user code, and
//! the way the pipes are driven; and the accounting of every chunk once a scenario has run.

use crate::exec::{self, Task, DEADLINE};
use crate::world::{self, Fault, Ledger};
use sluicegate::{AbortController, PipeOptions, Promised, ReadableStream, StreamError, WritableStream};
use std::any::Any;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

/// Chunks every source produces when nothing goes wrong.
pub const K: u32 = 8;

/// How the streams are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// source → sink.
    Pipe,
    /// source → transform → transform → sink.
    Chain,
    /// source → tee → two pipes → two sinks.
    Tee,
}

/// Who drives the pipes, and what happens to that driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drive {
    /// This thread awaits the pipes to the end.
    Local,
    /// A 2-worker tokio runtime awaits them and is shut down when the first sink reaches chunk
    /// N; this thread then awaits the pipes' own futures, as a user would.
    RuntimeShutdown(u32),
    /// A clone of the first pipe's future is polled until the first sink reaches chunk N, then
    /// dropped mid-way; the pipes' own futures are awaited after.
    FutureDropped(u32),
    /// Like `FutureDropped`, but nothing is awaited after: every handle is dropped with the pipe
    /// half done, and the group must be freed (DESIGN.md, "A group nobody holds is freed").
    Abandoned(u32),
}

/// One scenario.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// How the streams are connected.
    pub topology: Topology,
    /// What goes wrong.
    pub fault: Fault,
    /// Whether user code (pull, write, transform) finishes after a yield.
    pub asynchronous: bool,
    /// The source's high-water mark.
    pub source_hwm: f64,
    /// The sinks' high-water mark.
    pub sink_hwm: f64,
    /// Who drives the pipes.
    pub drive: Drive,
}

/// What a scenario's accounting found; plain numbers so that keeping it allocates nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    /// Chunks the source produced.
    pub produced: u64,
    /// Chunk deliveries acknowledged by sinks (a tee's chunk counts once per branch).
    pub acked: u64,
    /// Chunk deliveries not made, reported by an error naming the fault.
    pub lost_named: u64,
    /// Chunk deliveries neither acknowledged nor reported: must be 0.
    pub unaccounted: u64,
    /// A pipe did not settle within the deadline.
    pub hung: bool,
    /// A stream was left neither closed nor errored after its pipe settled.
    pub unsettled_stream: bool,
    /// The driver was taken away (runtime shut down, future dropped) with a pipe unsettled.
    pub interrupted: bool,
}

/// Every scenario, systematically: each topology × each fault × position × sync/async × two
/// strategy settings, then the driver faults (runtime shutdown, future dropped, abandoned).
pub fn all() -> Vec<Scenario> {
    let mut out = Vec::new();
    let positions: Vec<u32> = (0..K).collect();
    for topology in [Topology::Pipe, Topology::Chain, Topology::Tee] {
        let mut faults = vec![Fault::None];
        for &n in &positions {
            faults.extend([
                Fault::SinkFails(n),
                Fault::SourceFails(n),
                Fault::SourcePanics(n),
                Fault::Signal(n),
                Fault::SourceError(n),
                Fault::SinkError(n),
            ]);
            if topology == Topology::Chain {
                faults.push(Fault::TransformFails(n));
            }
        }
        for fault in faults {
            for asynchronous in [false, true] {
                for (source_hwm, sink_hwm) in [(0.0, 1.0), (1.0, 1.0), (4.0, 3.0)] {
                    out.push(Scenario {
                        topology,
                        fault,
                        asynchronous,
                        source_hwm,
                        sink_hwm,
                        drive: Drive::Local,
                    });
                }
            }
        }
        for &n in &positions {
            for fault in [Fault::None, Fault::SinkFails(K - 1), Fault::SourceFails(K - 1)] {
                for drive in [Drive::RuntimeShutdown(n), Drive::FutureDropped(n)] {
                    out.push(Scenario {
                        topology,
                        fault,
                        asynchronous: true,
                        source_hwm: 1.0,
                        sink_hwm: 1.0,
                        drive,
                    });
                }
            }
        }
    }
    out
}

/// The abandoned-pipe scenarios, measured apart: their leak is a known one.
pub fn abandoned() -> Vec<Scenario> {
    [0, 1, 3]
        .into_iter()
        .map(|n| Scenario {
            topology: Topology::Pipe,
            fault: Fault::None,
            asynchronous: true,
            source_hwm: 1.0,
            sink_hwm: 1.0,
            drive: Drive::Abandoned(n),
        })
        .collect()
}

/// The streams of one scenario, wired up.
struct Built {
    ledger: Arc<Ledger>,
    source: ReadableStream<world::Chunk>,
    sinks: Vec<WritableStream<world::Chunk>>,
    pipes: Vec<Promised<()>>,
    _keep: Vec<Box<dyn Any + Send>>,
}

fn build(s: &Scenario) -> Built {
    let ledger = Arc::new(Ledger::default());
    let mut first = PipeOptions::default();
    if let Fault::Signal(_) = s.fault {
        let controller = AbortController::new();
        first.signal = Some(controller.signal());
        *ledger.abort.lock().unwrap() = Some(controller);
    }
    let source = world::source(&ledger, K, s.fault, s.asynchronous, s.source_hwm);
    let mut keep: Vec<Box<dyn Any + Send>> = Vec::new();
    let (sinks, pipes) = match s.topology {
        Topology::Pipe => {
            let sink = world::sink(&ledger, 0, s.fault, s.asynchronous, s.sink_hwm);
            let pipe = source.pipe_to(&sink, first);
            (vec![sink], vec![pipe])
        }
        Topology::Chain => {
            let t1 = world::transform(s.fault, s.asynchronous);
            let t2 = world::transform(Fault::None, s.asynchronous);
            let out = source
                .pipe_through(&t1, PipeOptions::default())
                .and_then(|r| r.pipe_through(&t2, PipeOptions::default()))
                .expect("unlocked streams pipe");
            let sink = world::sink(&ledger, 0, s.fault, s.asynchronous, s.sink_hwm);
            let pipe = out.pipe_to(&sink, first);
            keep.push(Box::new((t1, t2, out)));
            (vec![sink], vec![pipe])
        }
        Topology::Tee => {
            let (a, b) = source.tee().expect("an unlocked stream tees");
            let sink_a = world::sink(&ledger, 0, s.fault, s.asynchronous, s.sink_hwm);
            let sink_b = world::sink(&ledger, 1, s.fault, s.asynchronous, s.sink_hwm);
            let pipes = vec![
                a.pipe_to(&sink_a, first),
                b.pipe_to(&sink_b, PipeOptions::default()),
            ];
            keep.push(Box::new((a, b)));
            (vec![sink_a, sink_b], pipes)
        }
    };
    Built {
        ledger,
        source,
        sinks,
        pipes,
        _keep: keep,
    }
}

fn tasks(pipes: &[Promised<()>]) -> Vec<Task<'static, Result<(), StreamError>>> {
    pipes
        .iter()
        .map(|p| Box::pin(p.clone()) as Task<'static, Result<(), StreamError>>)
        .collect()
}

/// Polls `fut` until the first sink has acknowledged `n` chunks or it completes; `false` on a
/// hang.
fn poll_until_acked(fut: &mut Promised<()>, ledger: &Ledger, n: u32) -> bool {
    let start = Instant::now();
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if ledger.acked.lock().unwrap()[0].len() as u32 >= n {
            return true;
        }
        if std::pin::Pin::new(&mut *fut).poll(&mut cx).is_ready() {
            return true;
        }
        if start.elapsed() > DEADLINE {
            return false;
        }
        std::thread::yield_now();
    }
}

/// Runs a scenario to its end and accounts for every chunk; everything it made is dropped when
/// it returns.
pub fn run(s: &Scenario) -> Report {
    let b = build(s);
    let mut report = Report::default();
    let outcomes = match s.drive {
        Drive::Local => exec::run_all(tasks(&b.pipes)),
        Drive::RuntimeShutdown(n) => {
            let (tx, rx) = std::sync::mpsc::channel();
            *b.ledger.notify.lock().unwrap() = Some((n, tx));
            let gate = Arc::new(world::Gate::default());
            *b.ledger.gate.lock().unwrap() = Some((n, gate.clone()));
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("a runtime");
            let clones = b.pipes.clone();
            let handle = rt.spawn(async move {
                for p in clones {
                    let _ = p.await;
                }
            });
            let start = Instant::now();
            loop {
                match rx.recv_timeout(Duration::from_millis(2)) {
                    Ok(()) => break,
                    Err(_) if handle.is_finished() || start.elapsed() > DEADLINE => break,
                    Err(_) => {}
                }
            }
            rt.shutdown_timeout(Duration::from_secs(10));
            drop(handle);
            report.interrupted = b.pipes.iter().any(|p| p.peek().is_none());
            gate.open();
            exec::run_all(tasks(&b.pipes))
        }
        Drive::FutureDropped(n) => {
            let gate = Arc::new(world::Gate::default());
            *b.ledger.gate.lock().unwrap() = Some((n, gate.clone()));
            let mut fut = b.pipes[0].clone();
            if poll_until_acked(&mut fut, &b.ledger, n) {
                report.interrupted = fut.peek().is_none();
                drop(fut);
                gate.open();
                exec::run_all(tasks(&b.pipes))
            } else {
                None
            }
        }
        Drive::Abandoned(n) => {
            let mut fut = b.pipes[0].clone();
            report.hung = !poll_until_acked(&mut fut, &b.ledger, n);
            return report;
        }
    };
    let Some(outcomes) = outcomes else {
        report.hung = true;
        return report;
    };
    let produced = b.ledger.produced.load(Ordering::SeqCst);
    report.produced = produced as u64;
    let acked = b.ledger.acked.lock().unwrap().clone();
    for (i, (acked, outcome)) in acked.iter().zip(&outcomes).enumerate() {
        let expected =
            (s.fault != Fault::None && (i == 0 || s.fault.reaches_every_sink())).then_some(s.fault);
        let m = acked.len() as u32;
        report.acked += m as u64;
        let in_order = acked.iter().enumerate().all(|(j, &id)| id == j as u32);
        if !in_order {
            report.unaccounted += m as u64;
        }
        match outcome {
            Ok(()) if m == K && produced == K => {}
            Err(e) if expected.is_some_and(|f| f.is_named_by(e)) => {
                report.lost_named += produced.saturating_sub(m) as u64;
            }
            _ => report.unaccounted += produced.max(1).saturating_sub(m).max(1) as u64,
        }
    }
    for sink in &b.sinks {
        report.unsettled_stream |= !sink.is_closed_or_errored();
    }
    report.unsettled_stream |= b.source.is_readable();
    report
}
