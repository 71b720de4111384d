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
}

/// Every handle scenario.
pub fn all() -> Vec<Handle> {
    let mut out = Vec::new();
    for after in [0, 1, 3, K - 1] {
        for keep_future in [false, true] {
            out.push(Handle::Reader { after, keep_future });
            out.push(Handle::Writer { after, keep_future });
        }
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
    };
    let mut report = Report {
        produced: K as u64,
        ..Report::default()
    };
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
