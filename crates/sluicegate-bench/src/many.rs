//! Scenario `many`: N idle pipes held open at once (default 10,000), memory per pipe.
//!
//! Each contender runs in a fresh child process that reads its own `VmRSS` before and after
//! building the pipes (and letting each one start and go idle), and prints
//! `(after − before) / N` in bytes. Nothing is estimated from type sizes.
//!
//! A pipe is a source with nothing to give, a sink, and whatever connects them:
//! * sluicegate: `ReadableStream` (a source whose `pull` enqueues nothing) `pipe_to` a
//!   `WritableStream`, both `CountQueuingStrategy(16)`; the pipe future is polled once, so its
//!   read is pending.
//! * tokio / futures: a source channel whose sender is held, a pump task moving items into a sink
//!   channel of capacity 16, and a sink task draining it; both tasks are parked in `recv`.
//! * Node: classic `Readable.pipe(Writable)` in objectMode, and web `pipeTo`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

use futures::{SinkExt, StreamExt};

use crate::node;
use crate::proc::{rss_kib, run_self_child};
use crate::report::{Contender, Measurement, RunResult};

/// Capacity of every channel of the channel-based contenders.
pub const CAPACITY: usize = 16;

fn per_pipe(before_kib: u64, n: usize) -> f64 {
    let after = rss_kib().unwrap_or(0);
    after.saturating_sub(before_kib) as f64 * 1024.0 / n as f64
}

/// Builds `n` idle sluicegate pipes; returns bytes of RSS per pipe.
pub fn sluicegate(n: usize) -> Result<f64, String> {
    use sluicegate::readable::{ReadableStream, SourceFn};
    use sluicegate::writable::{SinkFn, WritableStream};
    use sluicegate::{CountQueuingStrategy, PipeOptions};

    let hwm = CAPACITY as f64;
    let mut pipes = Vec::with_capacity(n);
    let before = rss_kib().ok_or("no VmRSS")?;
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..n {
        let source = ReadableStream::<u64>::with_strategy(SourceFn::new(), CountQueuingStrategy::new(hwm))
            .map_err(|e| e.to_string())?;
        let sink = WritableStream::<u64>::with_strategy(SinkFn::new(), CountQueuingStrategy::new(hwm))
            .map_err(|e| e.to_string())?;
        let mut pipe = source.pipe_to(&sink, PipeOptions::default());
        if Pin::new(&mut pipe).poll(&mut cx).is_ready() {
            return Err("an idle pipe finished".to_string());
        }
        pipes.push((source, sink, pipe));
    }
    let bytes = per_pipe(before, n);
    drop(std::hint::black_box(pipes));
    Ok(bytes)
}

/// Builds `n` idle tokio-channel pipes on a current-thread runtime; returns bytes per pipe.
pub fn tokio_channels(n: usize) -> Result<f64, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let mut held = Vec::with_capacity(n);
    let before = rss_kib().ok_or("no VmRSS")?;
    rt.block_on(async {
        for _ in 0..n {
            let (source, mut from_source) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
            let (to_sink, mut sink) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
            let pump = tokio::spawn(async move {
                while let Some(x) = from_source.recv().await {
                    if to_sink.send(x).await.is_err() {
                        break;
                    }
                }
            });
            let drain = tokio::spawn(async move { while sink.recv().await.is_some() {} });
            held.push((source, pump, drain));
        }
        // Let every task run until it parks in `recv`.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    });
    let bytes = per_pipe(before, n);
    drop(std::hint::black_box(held));
    Ok(bytes)
}

/// Builds `n` idle futures-channel pipes on a `LocalPool`; returns bytes per pipe.
pub fn futures_channels(n: usize) -> Result<f64, String> {
    use futures::task::LocalSpawnExt;
    let mut pool = futures::executor::LocalPool::new();
    let spawner = pool.spawner();
    let mut held = Vec::with_capacity(n);
    let before = rss_kib().ok_or("no VmRSS")?;
    for _ in 0..n {
        let (source, mut from_source) = futures::channel::mpsc::channel::<u64>(CAPACITY - 1);
        let (mut to_sink, mut sink) = futures::channel::mpsc::channel::<u64>(CAPACITY - 1);
        spawner
            .spawn_local(async move {
                while let Some(x) = from_source.next().await {
                    if to_sink.send(x).await.is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        spawner
            .spawn_local(async move { while sink.next().await.is_some() {} })
            .map_err(|e| e.to_string())?;
        held.push(source);
    }
    pool.run_until_stalled();
    let bytes = per_pipe(before, n);
    drop(std::hint::black_box((held, pool)));
    Ok(bytes)
}

/// The `child many-*` entry point: builds the pipes and prints bytes per pipe.
pub fn child(kind: &str, n: usize) -> Result<(), String> {
    let bytes = match kind {
        "many-sluicegate" => sluicegate(n),
        "many-tokio" => tokio_channels(n),
        "many-futures" => futures_channels(n),
        _ => return Err(format!("unknown child {kind}")),
    }?;
    println!("{bytes}");
    Ok(())
}

fn self_contender<'a>(name: &str, kind: &'static str, n: usize) -> Contender<'a> {
    Contender::new(name, move || -> RunResult {
        let run = run_self_child([kind.to_string(), n.to_string()])?;
        Ok(Measurement {
            value: run.figure()?,
            peak_rss_kib: Some(run.peak_rss_kib),
        })
    })
}

fn node_contender<'a>(name: &str, script: &'static str, n: usize) -> Contender<'a> {
    Contender::new(name, move || -> RunResult {
        let run = node::run_script(script, &["--expose-gc"], &[n.to_string()])?;
        Ok(Measurement {
            value: run.figure()?,
            peak_rss_kib: Some(run.peak_rss_kib),
        })
    })
}

/// The contenders, sluicegate first.
pub fn contenders<'a>(n: usize) -> Vec<Contender<'a>> {
    vec![
        self_contender("sluicegate pipe_to", "many-sluicegate", n),
        self_contender("tokio: 2 tasks + 2 mpsc(16), current-thread", "many-tokio", n),
        self_contender("futures: 2 tasks + 2 mpsc(16), LocalPool", "many-futures", n),
        node_contender("Node classic Readable.pipe(Writable)", "many-classic.js", n),
        node_contender("Node web streams pipeTo", "many-web.js", n),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_pipes_cost_something_and_stay_idle() {
        for f in [sluicegate, tokio_channels, futures_channels] {
            assert!(f(200).unwrap() >= 0.0);
        }
    }
}
