//! Readers and writers dropped mid-operation: a reader dropped (with its pending read) while a
//! pull is under way, and a writer dropped (with its pending write) while writes are queued. The
//! lock goes with the handle, a new one takes over, and every chunk still arrives exactly once;
//! a pending future that was kept settles (a read with the release's `TypeError`, a write with
//! the sink's answer).

use crate::exec;
use crate::scenarios::{Report, K};
use crate::world::{self, Fault, Ledger};
use sluicegate::{ErrorKind, StreamError};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Waker};

/// Which handle is dropped, after how many chunks, and whether its pending future is kept.
#[derive(Clone, Copy, Debug)]
pub enum Handle {
    /// The reader is dropped after reading N chunks, with a read pending.
    Reader { after: u32, keep_future: bool },
    /// The writer is dropped after writing N chunks, with a write pending.
    Writer { after: u32, keep_future: bool },
    /// The reader cancels the stream after reading N chunks, with a read pending.
    ReaderCancel { after: u32 },
    /// The writer aborts the stream after writing N chunks, with writes queued: the queued
    /// writes fail with the abort's reason.
    WriterAbort { after: u32 },
}

/// Every handle scenario.
pub fn all() -> Vec<Handle> {
    let mut out = Vec::new();
    for after in [0, 1, 3, K - 1] {
        for keep_future in [false, true] {
            out.push(Handle::Reader { after, keep_future });
            out.push(Handle::Writer { after, keep_future });
        }
        out.push(Handle::ReaderCancel { after });
        out.push(Handle::WriterAbort { after });
    }
    out
}

/// Runs one handle scenario and accounts for its chunks.
pub fn run(h: &Handle) -> Report {
    let h = *h;
    let ledger = Arc::new(Ledger::default());
    let outcome = match h {
        Handle::Reader { after, keep_future } => {
            let source = world::source(&ledger, K, Fault::None, true, 0.0);
            exec::run(Box::pin(async move {
                let mut got = Vec::new();
                let reader = source.get_reader()?;
                for _ in 0..after {
                    if let Some(c) = reader.read().await? {
                        got.push(c.id);
                    }
                }
                // Mid-operation: the read waits for a pull that has not finished.
                let mut pending = reader.read();
                let polled = std::pin::Pin::new(&mut pending).poll(&mut Context::from_waker(Waker::noop()));
                if let std::task::Poll::Ready(r) = polled {
                    // Served at once after all; nothing is mid-way, account for it normally.
                    if let Some(c) = r? {
                        got.push(c.id);
                    }
                    drop(reader);
                } else {
                    drop(reader);
                    if keep_future {
                        match pending.await {
                            // The release fails the read; the chunk stays for the next reader.
                            Err(e) if e.kind() == ErrorKind::Type => {}
                            Err(e) => return Err(e),
                            Ok(c) => got.extend(c.map(|c| c.id)),
                        }
                    } else {
                        drop(pending);
                    }
                }
                let reader = source.get_reader()?;
                while let Some(c) = reader.read().await? {
                    got.push(c.id);
                }
                Ok::<_, StreamError>(got)
            }))
        }
        Handle::Writer { after, keep_future } => {
            let sink = world::sink(&ledger, 0, Fault::None, true, 2.0);
            let l = ledger.clone();
            exec::run(Box::pin(async move {
                let writer = sink.get_writer()?;
                for id in 0..after {
                    writer.write(world::Chunk::new(id)).await?;
                }
                // Mid-operation: a write in flight and another queued behind it.
                let first = writer.write(world::Chunk::new(after));
                let next = (after + 1 < K).then(|| writer.write(world::Chunk::new(after + 1)));
                drop(writer);
                if keep_future {
                    first.await?;
                    if let Some(n) = next {
                        n.await?;
                    }
                } else {
                    drop((first, next));
                }
                let writer = sink.get_writer()?;
                for id in (after + 2).min(K)..K {
                    writer.write(world::Chunk::new(id)).await?;
                }
                writer.close().await?;
                let acked = l.acked.lock().unwrap()[0].clone();
                Ok(acked)
            }))
        }
        Handle::ReaderCancel { after } => {
            let source = world::source(&ledger, K, Fault::None, true, 1.0);
            exec::run(Box::pin(async move {
                let mut got = Vec::new();
                let reader = source.get_reader()?;
                for _ in 0..after {
                    if let Some(c) = reader.read().await? {
                        got.push(c.id);
                    }
                }
                let pending = reader.read();
                reader.cancel(stop_reason()).await?;
                // The pending read ends (done), or had its chunk already.
                if let Some(c) = pending.await? {
                    got.push(c.id);
                }
                if reader.read().await?.is_some() {
                    return Err(StreamError::type_error("a cancelled stream produced a chunk"));
                }
                Ok(got)
            }))
        }
        Handle::WriterAbort { after } => {
            let sink = world::sink(&ledger, 0, Fault::None, true, 2.0);
            let l = ledger.clone();
            exec::run(Box::pin(async move {
                let writer = sink.get_writer()?;
                for id in 0..after {
                    writer.write(world::Chunk::new(id)).await?;
                }
                let queued: Vec<_> = (after..K).map(|id| writer.write(world::Chunk::new(id))).collect();
                writer.abort(stop_reason()).await?;
                // Each queued write either reached the sink before the abort (the one in flight)
                // or fails with the abort's reason.
                for w in queued {
                    if let Err(e) = w.await {
                        if e.reason::<String>().map(String::as_str) != Some(STOP) {
                            return Err(e);
                        }
                    }
                }
                let acked = l.acked.lock().unwrap()[0].clone();
                Ok(acked)
            }))
        }
    };
    let mut report = Report {
        produced: K as u64,
        ..Report::default()
    };
    match h {
        // A cancelled source produced what it produced; a writer made all K chunks.
        Handle::ReaderCancel { after } => {
            let produced = ledger.produced.load(std::sync::atomic::Ordering::SeqCst);
            return account_stop(produced, after, outcome, report);
        }
        Handle::WriterAbort { after } => return account_stop(K, after, outcome, report),
        _ => {}
    }
    match outcome {
        None => report.hung = true,
        Some(Err(_)) => report.unaccounted = K as u64,
        Some(Ok(got)) => {
            report.acked = got.len() as u64;
            let exact = got.iter().copied().eq(0..K);
            if !exact {
                report.unaccounted =
                    K as u64 - got.iter().enumerate().filter(|(i, &id)| id == *i as u32).count() as u64;
                report.unaccounted = report.unaccounted.max(1);
            }
        }
    }
    report
}

/// The reason a consumer or producer gives when it stops on purpose.
const STOP: &str = "stopped on purpose";

fn stop_reason() -> StreamError {
    StreamError::user(STOP.to_string())
}

/// Accounting for a stream stopped on purpose after `after` chunks: the chunks delivered are
/// exactly the first ones, in order, at least `after` of them; the rest were lost to the stop,
/// whose reason named it.
fn account_stop(
    produced: u32,
    after: u32,
    outcome: Option<Result<Vec<u32>, StreamError>>,
    mut report: Report,
) -> Report {
    report.produced = produced as u64;
    match outcome {
        None => report.hung = true,
        Some(Err(_)) => report.unaccounted = K as u64,
        Some(Ok(got)) => {
            report.acked = got.len() as u64;
            let prefix = got.iter().copied().eq(0..got.len() as u32);
            if !prefix || (got.len() as u32) < after || got.len() as u32 > produced {
                report.unaccounted = produced.max(1) as u64;
            } else {
                report.lost_named = (produced - got.len() as u32) as u64;
            }
        }
    }
    report
}
