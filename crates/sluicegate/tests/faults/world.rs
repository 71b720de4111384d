//! The parts every scenario is built from: chunks that count themselves, a source and a sink
//! with a fault injected at a chosen position, and a transform that can fail mid-stream.

use crate::exec::yield_now;
use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::transform::TransformerFn;
use sluicegate::writable::SinkFn;
use sluicegate::{AbortController, Completion, QueuingStrategy, ReadableStreamDefaultController};
use sluicegate::{StreamError, TransformStream, WritableStream};
use std::sync::atomic::{AtomicIsize, AtomicU32, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

/// Chunks alive right now (made, cloned, not yet dropped).
pub static LIVE_CHUNKS: AtomicIsize = AtomicIsize::new(0);

/// A numbered chunk with a payload, counted while alive.
pub struct Chunk {
    /// Its position in the source's output.
    pub id: u32,
    payload: Vec<u8>,
}

impl Chunk {
    /// Chunk `id`, with a payload of a size that varies with it.
    pub fn new(id: u32) -> Self {
        LIVE_CHUNKS.fetch_add(1, Ordering::SeqCst);
        Chunk {
            id,
            payload: vec![id as u8; 64 + (id as usize * 37) % 512],
        }
    }
}

impl Clone for Chunk {
    fn clone(&self) -> Self {
        LIVE_CHUNKS.fetch_add(1, Ordering::SeqCst);
        Chunk {
            id: self.id,
            payload: self.payload.clone(),
        }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        LIVE_CHUNKS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What goes wrong, and at which chunk or pull.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: every chunk must arrive.
    None,
    /// The sink's write of chunk N rejects.
    SinkFails(u32),
    /// The source's pull number N rejects.
    SourceFails(u32),
    /// The source's pull number N panics.
    SourcePanics(u32),
    /// The first transform rejects chunk N (chains only).
    TransformFails(u32),
    /// The pipe's abort signal fires while the sink writes chunk N.
    Signal(u32),
    /// The source's controller errors the source while the sink writes chunk N.
    SourceError(u32),
    /// The sink's controller errors the sink while it writes chunk N.
    SinkError(u32),
}

impl Fault {
    /// The error this fault injects: a user error whose reason names the fault.
    pub fn error(self) -> StreamError {
        StreamError::user(format!("{self:?}"))
    }

    /// Whether `e` is the error this fault injects (a panic for a panicking source).
    pub fn is_named_by(self, e: &StreamError) -> bool {
        match self {
            Fault::None => false,
            Fault::SourcePanics(_) => e.kind() == sluicegate::ErrorKind::Panic,
            f => e.reason::<String>() == Some(&format!("{f:?}")),
        }
    }

    /// Whether the fault reaches every sink (source side) or only the first (sink side).
    pub fn reaches_every_sink(self) -> bool {
        matches!(
            self,
            Fault::SourceFails(_) | Fault::SourcePanics(_) | Fault::TransformFails(_) | Fault::SourceError(_)
        )
    }
}

/// What one scenario's user code saw: chunks produced, and each sink's acknowledged chunks.
#[derive(Default)]
pub struct Ledger {
    /// Chunks the source enqueued successfully.
    pub produced: AtomicU32,
    /// Per sink, the ids of the chunks whose write succeeded, in order.
    pub acked: Mutex<Vec<Vec<u32>>>,
    /// The source's controller, for `Fault::SourceError`.
    pub source: Mutex<Option<ReadableStreamDefaultController<Chunk>>>,
    /// The pipe's abort controller, for `Fault::Signal`.
    pub abort: Mutex<Option<AbortController>>,
    /// Told when the first sink reaches chunk `notify_at` (runtime shutdown scenarios).
    pub notify: Mutex<Option<(u32, Sender<()>)>>,
    /// Holds the first sink's write of chunk N until opened: the pipe is then certainly
    /// mid-way when its driver is taken away.
    pub gate: Mutex<Option<(u32, Arc<Gate>)>>,
}

/// A gate a write waits at until the scenario opens it.
#[derive(Default)]
pub struct Gate {
    open: std::sync::atomic::AtomicBool,
    waker: Mutex<Option<std::task::Waker>>,
}

impl Gate {
    /// Opens the gate and wakes the write waiting at it.
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }

    /// Waits until the gate is open.
    pub async fn wait(self: Arc<Self>) {
        std::future::poll_fn(|cx| {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.open.load(Ordering::SeqCst) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await
    }
}

/// Panics on purpose, as failing user code does; kept off stderr by `quiet_injected_panics`.
pub const INJECTED: &str = "fault-injected panic";

/// Keeps injected panics off stderr; any other panic still reports.
pub fn quiet_injected_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&INJECTED) {
            previous(info);
        }
    }));
}

/// A source of `k` chunks (pull N enqueues chunk N, pull K closes), with `fault` injected;
/// `asynchronous` makes each pull finish after a yield.
pub fn source(
    ledger: &Arc<Ledger>,
    k: u32,
    fault: Fault,
    asynchronous: bool,
    hwm: f64,
) -> ReadableStream<Chunk> {
    let (l1, l2) = (ledger.clone(), ledger.clone());
    let mut next = 0u32;
    let src = SourceFn::new()
        .start(move |c| {
            *l1.source.lock().unwrap() = Some(c.clone());
            Completion::ok()
        })
        .pull(move |c| {
            let n = next;
            next += 1;
            let c = c.clone();
            let ledger = l2.clone();
            let act = move || -> Result<(), StreamError> {
                if fault == Fault::SourcePanics(n) {
                    std::panic::panic_any(INJECTED);
                }
                if fault == Fault::SourceFails(n) {
                    return Err(fault.error());
                }
                if n >= k {
                    let _ = c.close();
                } else if c.enqueue(Chunk::new(n)).is_ok() {
                    ledger.produced.fetch_add(1, Ordering::SeqCst);
                }
                Ok(())
            };
            if asynchronous {
                Completion::future(async move {
                    yield_now().await;
                    act()
                })
            } else {
                act().into()
            }
        });
    ReadableStream::with_strategy(src, QueuingStrategy::count(hwm)).expect("a valid source")
}

/// Sink number `index`, acknowledging chunks into the ledger; faults on the sink side hit sink 0
/// only.
pub fn sink(
    ledger: &Arc<Ledger>,
    index: usize,
    fault: Fault,
    asynchronous: bool,
    hwm: f64,
) -> WritableStream<Chunk> {
    ledger.acked.lock().unwrap().push(Vec::new());
    let ledger = ledger.clone();
    let first = index == 0;
    let s = SinkFn::new().write(move |chunk: Chunk, wc| {
        let id = chunk.id;
        if first {
            if let Some((at, tx)) = &*ledger.notify.lock().unwrap() {
                if *at == id {
                    let _ = tx.send(());
                }
            }
            if fault == Fault::Signal(id) {
                let abort = ledger.abort.lock().unwrap().clone();
                if let Some(a) = abort {
                    a.abort(Some(fault.error()));
                }
            }
            if fault == Fault::SinkError(id) {
                wc.error(fault.error());
            }
        }
        if fault == Fault::SourceError(id) {
            let source = ledger.source.lock().unwrap().clone();
            if let Some(s) = source {
                s.error(fault.error());
            }
        }
        let gate = match &*ledger.gate.lock().unwrap() {
            Some((at, gate)) if first && *at == id => Some(gate.clone()),
            _ => None,
        };
        let fails = first && fault == Fault::SinkFails(id);
        let ledger = ledger.clone();
        let act = move || -> Result<(), StreamError> {
            drop(chunk);
            if fails {
                return Err(fault.error());
            }
            ledger.acked.lock().unwrap()[index].push(id);
            Ok(())
        };
        if let Some(gate) = gate {
            Completion::future(async move {
                gate.wait().await;
                act()
            })
        } else if asynchronous {
            Completion::future(async move {
                yield_now().await;
                act()
            })
        } else {
            act().into()
        }
    });
    WritableStream::with_strategy(s, QueuingStrategy::count(hwm)).expect("a valid sink")
}

/// A transform passing chunks on, failing at chunk N for `Fault::TransformFails(N)`.
pub fn transform(fault: Fault, asynchronous: bool) -> TransformStream<Chunk, Chunk> {
    TransformStream::new(TransformerFn::new(move |chunk: Chunk, c| {
        let fails = fault == Fault::TransformFails(chunk.id);
        let c = c.clone();
        let act = move || {
            if fails {
                return Err(fault.error());
            }
            c.enqueue(chunk)
        };
        if asynchronous {
            Completion::future(async move {
                yield_now().await;
                act()
            })
        } else {
            act().into()
        }
    }))
    .expect("a valid transform")
}
