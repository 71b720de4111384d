//! Scenario `objects`: N `u64`s through source → map → sink with capacity (high-water mark) 16 at
//! every stage, in items per second.
//!
//! Every contender maps with [`map`] and checks the sum at the sink against [`expected_sum`], so a
//! contender that drops or duplicates items fails instead of looking fast.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};

use crate::node;
use crate::report::{Contender, Measurement, RunResult};

/// Capacity of every channel and high-water mark of every stream stage.
pub const CAPACITY: usize = 16;

/// The per-item work of the map stage.
#[inline]
pub fn map(x: u64) -> u64 {
    x.wrapping_mul(3).wrapping_add(1)
}

/// The sum the sink must see for `n` items (wrapping, as the sinks add).
pub fn expected_sum(n: u64) -> u64 {
    // Σ (3i + 1) for i < n = 3·n(n−1)/2 + n, exact in u128.
    let n128 = n as u128;
    ((3 * n128 * n128.saturating_sub(1) / 2 + n128) % (1u128 << 64)) as u64
}

fn check(n: u64, sum: u64, elapsed: Duration) -> RunResult {
    if sum != expected_sum(n) {
        return Err(format!(
            "failed: sink saw sum {sum}, expected {}",
            expected_sum(n)
        ));
    }
    Ok(Measurement::value(n as f64 / elapsed.as_secs_f64()))
}

fn runtime(multi_thread: bool) -> tokio::runtime::Runtime {
    let mut b = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    b.build().expect("a tokio runtime")
}

/// sluicegate: `ReadableStream::from_iter` → `pipe_through` a mapping `TransformStream` (both
/// sides `CountQueuingStrategy(16)`) → `pipe_to` a `WritableStream` (`CountQueuingStrategy(16)`),
/// awaited with `futures::executor::block_on` on the calling thread. Per-stream statistics are
/// as by default: counters on, phase clocks off.
pub fn sluicegate(n: u64) -> RunResult {
    sluicegate_stats(n, Stats::Counts)
}

/// How much per-stream statistics a run keeps (`sluicegate::stats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stats {
    /// `set_enabled(false)`.
    Off,
    /// Counters only: the default.
    Counts,
    /// Counters and phase clocks: `set_timing(true)`.
    Timed,
}

/// [`sluicegate()`] with per-stream statistics as `stats` says (the switches apply to the streams
/// made afterwards; they are set back to the defaults before returning).
pub fn sluicegate_stats(n: u64, stats: Stats) -> RunResult {
    sluicegate::stats::set_enabled(stats != Stats::Off);
    sluicegate::stats::set_timing(stats == Stats::Timed);
    let result = sluicegate_pipeline(n);
    sluicegate::stats::set_enabled(true);
    sluicegate::stats::set_timing(false);
    result
}

/// What [`stats_cost`] measured: per mode (off, counting, timing), the median rate in items/s
/// and the median CPU time per item in nanoseconds.
pub struct StatsCost {
    /// The modes, in the order of `rate` and `cpu`: off, counting, timing.
    pub modes: [Stats; 3],
    /// Median items/s per mode.
    pub rate: [f64; 3],
    /// Median CPU nanoseconds per item per mode (this thread's CPU time).
    pub cpu: [f64; 3],
}

/// The cost of per-stream statistics alone: the sluicegate pipeline of `n` items with statistics
/// off, counting and timing, in turn, in this process, `rounds` times with the order rotated so
/// that no mode always runs first. Side by side in one process, so the three share the
/// allocator's and the caches' state, which the report's separate rows among a dozen other
/// contenders do not.
pub fn stats_cost(n: u64, rounds: usize) -> Result<StatsCost, String> {
    let modes = [Stats::Off, Stats::Counts, Stats::Timed];
    let mut rate: [Vec<f64>; 3] = Default::default();
    let mut cpu: [Vec<f64>; 3] = Default::default();
    for round in 0..rounds.max(1) {
        for k in 0..modes.len() {
            let i = (k + round) % modes.len();
            let before = crate::proc::thread_cpu_time();
            rate[i].push(sluicegate_stats(n, modes[i])?.value);
            // CPU time per item, which other work on a shared machine disturbs less than wall
            // time.
            cpu[i].push((crate::proc::thread_cpu_time() - before).as_nanos() as f64 / n as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok(StatsCost {
        modes,
        rate: rate.each_mut().map(median),
        cpu: cpu.each_mut().map(median),
    })
}

/// The three streams every sluicegate row moves items through, and the sum the sink keeps.
struct Chain {
    source: sluicegate::readable::ReadableStream<u64>,
    mapper: sluicegate::transform::TransformStream<u64, u64>,
    sink: sluicegate::writable::WritableStream<u64>,
    sum: Arc<AtomicU64>,
}

/// `0..n` as a readable stream (high-water mark 0, as `ReadableStream.from`), a mapping
/// `TransformStream` and a summing `WritableStream`, both `CountQueuingStrategy(16)`: each stream
/// on a driver of its own as by default, or all three on `host`.
fn chain(n: u64, host: Option<sluicegate::host::HostRef>) -> Result<Chain, String> {
    use sluicegate::readable::{ReadableStream, SourceFn};
    use sluicegate::transform::{TransformStream, TransformerFn};
    use sluicegate::writable::{SinkFn, WritableStream};
    use sluicegate::CountQueuingStrategy;

    let failed = |e: sluicegate::StreamError| format!("failed: {e}");
    let sum = Arc::new(AtomicU64::new(0));
    let s = sum.clone();
    let hwm = || CountQueuingStrategy::new(CAPACITY as f64);
    let transformer = TransformerFn::new(|x: u64, c| c.enqueue(map(x)));
    let sink = SinkFn::new().write(move |x: u64, _| {
        s.fetch_add(x, Ordering::Relaxed);
    });
    Ok(match host {
        None => Chain {
            source: ReadableStream::from_iter(0..n),
            mapper: TransformStream::with_strategies(transformer, hwm(), hwm()).map_err(failed)?,
            sink: WritableStream::with_strategy(sink, hwm()).map_err(failed)?,
            sum,
        },
        Some(host) => {
            // `from_iter` makes a driver of its own; a pull source does what it does.
            let mut items = 0..n;
            let source = SourceFn::new().pull(move |c| match items.next() {
                Some(i) => c.enqueue(i).map(|_| ()),
                None => c.close(),
            });
            Chain {
                source: ReadableStream::with_host(source, CountQueuingStrategy::new(0.0), host.clone())
                    .map_err(failed)?,
                mapper: TransformStream::with_host(transformer, hwm(), hwm(), host.clone())
                    .map_err(failed)?,
                sink: WritableStream::with_host(sink, hwm(), host).map_err(failed)?,
                sum,
            }
        }
    })
}

fn sluicegate_pipeline(n: u64) -> RunResult {
    let started = Instant::now();
    let chain = chain(n, None)?;
    chain_pipes(n, chain, started)
}

/// `source.pipe_through(mapper).pipe_to(sink)`, awaited with `futures::executor::block_on`.
fn chain_pipes(n: u64, chain: Chain, started: Instant) -> RunResult {
    use sluicegate::PipeOptions;
    let mapped = chain
        .source
        .pipe_through(&chain.mapper, PipeOptions::default())
        .map_err(|e| format!("failed: {e}"))?;
    futures::executor::block_on(mapped.pipe_to(&chain.sink, PipeOptions::default()))
        .map_err(|e| format!("failed: {e}"))?;
    check(n, chain.sum.load(Ordering::Relaxed), started.elapsed())
}

/// A diagnostic, not a contender (`child objects-one-host`): the same chain with all three
/// streams on one shared `Driver` instead of one each, to see what the drivers' hand-offs cost
/// (BENCHMARKS.md, "State without locks inside the domain").
pub fn sluicegate_one_host(n: u64) -> RunResult {
    let started = Instant::now();
    let chain = chain(n, Some(sluicegate::host::Driver::new()))?;
    chain_pipes(n, chain, started)
}

/// sluicegate across threads: the same three streams, the source's pipe into the transform
/// detached as one tokio task ([`sluicegate::Promised::spawn`]) and the transform's pipe into the
/// sink awaited in another, on a 2-worker multi-thread runtime. The two tasks share the streams'
/// domain, so this measures what handing the group between worker threads costs.
pub fn sluicegate_tokio_mt(n: u64) -> RunResult {
    use sluicegate::PipeOptions;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .map_err(|e| format!("failed: {e}"))?;
    let (elapsed, sum) = rt.block_on(async move {
        let started = Instant::now();
        let Chain {
            source,
            mapper,
            sink,
            sum,
        } = chain(n, None)?;
        let upstream = source
            .pipe_to(mapper.writable(), PipeOptions::default())
            .spawn()
            .map_err(|e| format!("failed: {e}"))?;
        let downstream = tokio::spawn(mapper.readable().pipe_to(&sink, PipeOptions::default()));
        let (up, down) = tokio::join!(upstream, downstream);
        up.map_err(|e| format!("failed: {e}"))?
            .map_err(|e| format!("failed: {e}"))?;
        down.map_err(|e| format!("failed: {e}"))?
            .map_err(|e| format!("failed: {e}"))?;
        Ok::<_, String>((started.elapsed(), sum))
    })?;
    check(n, sum.load(Ordering::Relaxed), elapsed)
}

/// The ceiling: `futures::stream::iter(..).map(..).fold(..)`, one fused chain with no stage
/// boundary, no queue and no backpressure, polled by `futures::executor::block_on`.
pub fn fused_chain(n: u64) -> RunResult {
    let started = Instant::now();
    let sum = futures::executor::block_on(
        futures::stream::iter(0..n)
            .map(map)
            .fold(0u64, |sum, x| async move { sum.wrapping_add(x) }),
    );
    check(n, sum, started.elapsed())
}

/// tokio: producer task → `mpsc::channel(16)` → mapper task → `mpsc::channel(16)` → consumer task.
pub fn tokio_mpsc(n: u64, multi_thread: bool) -> RunResult {
    let rt = runtime(multi_thread);
    let (sum, elapsed) = rt.block_on(async move {
        let started = Instant::now();
        let (tx1, mut rx1) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
        let (tx2, mut rx2) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
        let producer = tokio::spawn(async move {
            for i in 0..n {
                if tx1.send(i).await.is_err() {
                    break;
                }
            }
        });
        let mapper = tokio::spawn(async move {
            while let Some(x) = rx1.recv().await {
                if tx2.send(map(x)).await.is_err() {
                    break;
                }
            }
        });
        let consumer = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Some(x) = rx2.recv().await {
                sum = sum.wrapping_add(x);
            }
            sum
        });
        let (_, _, sum) = tokio::join!(producer, mapper, consumer);
        (sum.unwrap_or(0), started.elapsed())
    });
    check(n, sum, elapsed)
}

/// The three tasks of the futures-channel pipeline. `futures::channel::mpsc::channel(b)` holds
/// `b` items plus one per sender, so `channel(15)` with one sender has capacity 16.
fn futures_pipeline(n: u64) -> [std::pin::Pin<Box<dyn Future<Output = u64> + Send>>; 3] {
    let (mut tx1, mut rx1) = futures::channel::mpsc::channel::<u64>(CAPACITY - 1);
    let (mut tx2, mut rx2) = futures::channel::mpsc::channel::<u64>(CAPACITY - 1);
    [
        Box::pin(async move {
            for i in 0..n {
                if tx1.send(i).await.is_err() {
                    break;
                }
            }
            0
        }),
        Box::pin(async move {
            while let Some(x) = rx1.next().await {
                if tx2.send(map(x)).await.is_err() {
                    break;
                }
            }
            0
        }),
        Box::pin(async move {
            let mut sum = 0u64;
            while let Some(x) = rx2.next().await {
                sum = sum.wrapping_add(x);
            }
            sum
        }),
    ]
}

/// futures mpsc on one thread: the three tasks on a `futures::executor::LocalPool`.
pub fn futures_mpsc_local(n: u64) -> RunResult {
    use futures::task::LocalSpawnExt;
    let mut pool = futures::executor::LocalPool::new();
    let spawner = pool.spawner();
    let started = Instant::now();
    let [p, m, c] = futures_pipeline(n);
    spawner
        .spawn_local(async move {
            p.await;
        })
        .map_err(|e| format!("failed: {e}"))?;
    spawner
        .spawn_local(async move {
            m.await;
        })
        .map_err(|e| format!("failed: {e}"))?;
    let consumer = spawner
        .spawn_local_with_handle(c)
        .map_err(|e| format!("failed: {e}"))?;
    let sum = pool.run_until(consumer);
    pool.run();
    check(n, sum, started.elapsed())
}

/// futures mpsc on tokio's multi-thread runtime: the three tasks spawned with `tokio::spawn`.
pub fn futures_mpsc_tokio_mt(n: u64) -> RunResult {
    let rt = runtime(true);
    let (sum, elapsed) = rt.block_on(async move {
        let started = Instant::now();
        let [p, m, c] = futures_pipeline(n);
        let (p, m, c) = (tokio::spawn(p), tokio::spawn(m), tokio::spawn(c));
        let (_, _, sum) = tokio::join!(p, m, c);
        (sum.unwrap_or(0), started.elapsed())
    });
    check(n, sum, elapsed)
}

/// The `whatwg_streams` crate (0.1.0-alpha.11): `from_iterator` → `pipe_through` a mapping
/// `TransformStream` → `pipe_to` a `WritableStream`, every strategy `CountQueuingStrategy(16)`,
/// each stream's tasks spawned with `tokio::spawn` on the given runtime.
pub fn whatwg_streams(n: u64, multi_thread: bool) -> RunResult {
    use whatwg_streams::{
        CountQueuingStrategy, ReadableStream, StreamResult, TransformStream,
        TransformStreamDefaultController, Transformer, WritableSink, WritableStream,
        WritableStreamDefaultController,
    };

    struct Map;
    impl Transformer<u64, u64> for Map {
        fn transform(
            &mut self,
            chunk: u64,
            controller: &mut TransformStreamDefaultController<u64>,
        ) -> impl Future<Output = StreamResult<()>> + Send {
            futures::future::ready(controller.enqueue(map(chunk)))
        }
    }

    struct Sum(Arc<AtomicU64>);
    impl WritableSink<u64> for Sum {
        fn write(
            &mut self,
            chunk: u64,
            _controller: &mut WritableStreamDefaultController,
        ) -> impl Future<Output = StreamResult<()>> + Send {
            self.0.fetch_add(chunk, Ordering::Relaxed);
            futures::future::ready(Ok(()))
        }
    }

    let rt = runtime(multi_thread);
    let sum = Arc::new(AtomicU64::new(0));
    let s = sum.clone();
    let (result, elapsed) = rt.block_on(async move {
        let started = Instant::now();
        let source = ReadableStream::from_iterator(0..n)
            .strategy(CountQueuingStrategy::new(CAPACITY))
            .spawn(tokio::spawn);
        let mapper = TransformStream::builder(Map)
            .writable_strategy(CountQueuingStrategy::new(CAPACITY))
            .readable_strategy(CountQueuingStrategy::new(CAPACITY))
            .spawn(tokio::spawn);
        let mapped = source.pipe_through(mapper, None).spawn(tokio::spawn);
        let sink = WritableStream::builder(Sum(s))
            .strategy(CountQueuingStrategy::new(CAPACITY))
            .spawn(tokio::spawn);
        let result = mapped.pipe_to(&sink, None).await;
        (result, started.elapsed())
    });
    result.map_err(|e| format!("failed: {e:?}"))?;
    check(n, sum.load(Ordering::Relaxed), elapsed)
}

/// The items each contender moves under callgrind in [`atomics_per_item`].
pub const ATOMICS_ITEMS: u64 = 50_000;

/// Atomic read-modify-write instructions per item of a contender, counted exactly: the contender
/// (`sluicegate-bench child <kind> ATOMICS_ITEMS`) runs under `valgrind --tool=callgrind`, and
/// `scripts/count-atomics.py` counts the `lock`-prefixed and `xchg` instructions it executed. An
/// error when valgrind, python3 or the script is missing (the report says the row was skipped).
pub fn atomics_per_item(child_kind: &str) -> Result<f64, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/count-atomics.py");
    if !std::path::Path::new(script).exists() {
        return Err("skipped: scripts/count-atomics.py is not next to this build".into());
    }
    let out = std::env::temp_dir().join(format!(
        "sluicegate-bench-callgrind-{}-{child_kind}",
        std::process::id()
    ));
    let status = std::process::Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--dump-instr=yes")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(crate::proc::self_exe())
        .args(["child", child_kind, &ATOMICS_ITEMS.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("skipped: cannot run valgrind ({e})"))?;
    if !status.success() {
        let _ = std::fs::remove_file(&out);
        return Err(format!("failed: valgrind exited with {status}"));
    }
    let counted = std::process::Command::new("python3")
        .arg(script)
        .arg(&out)
        .arg(ATOMICS_ITEMS.to_string())
        .output();
    let _ = std::fs::remove_file(&out);
    let counted = counted.map_err(|e| format!("skipped: cannot run python3 ({e})"))?;
    let text = String::from_utf8_lossy(&counted.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("atomic RMWs per item:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("failed: count-atomics.py printed {text:?}"))
}

/// A Node script from `bench/node/` that prints items/s for `n` items.
pub fn node(script: &str, n: u64) -> RunResult {
    let run = node::run_script(script, &[], &[n.to_string()])?;
    Ok(Measurement {
        value: run.figure()?,
        peak_rss_kib: Some(run.peak_rss_kib),
    })
}

/// The `whatwg_streams` rows move `N / WHATWG_DIVISOR` items: that crate runs at well under
/// 1 M items/s here (its multi-thread row near 0.07 M/s), and the full N would take most of the
/// time budget of an `all` run.
pub const WHATWG_DIVISOR: u64 = 50;

/// The contenders of the scenario, sluicegate first.
pub fn contenders<'a>(n: u64) -> Vec<Contender<'a>> {
    let small = (n / WHATWG_DIVISOR).max(1);
    vec![
        Contender::new("sluicegate (block_on)", move || sluicegate(n)),
        Contender::new("sluicegate, statistics off (block_on)", move || {
            sluicegate_stats(n, Stats::Off)
        }),
        Contender::new("sluicegate, statistics with phase clocks (block_on)", move || {
            sluicegate_stats(n, Stats::Timed)
        }),
        Contender::new(
            "sluicegate, multi-thread (the two pipes in two tokio tasks, 2 workers)",
            move || sluicegate_tokio_mt(n),
        ),
        Contender::new(
            "fused futures::stream iter → map → fold (no stage boundary)",
            move || fused_chain(n),
        ),
        Contender::new("tokio mpsc, current-thread", move || tokio_mpsc(n, false)),
        Contender::new("tokio mpsc, multi-thread", move || tokio_mpsc(n, true)),
        Contender::new("futures mpsc, current-thread (LocalPool)", move || {
            futures_mpsc_local(n)
        }),
        Contender::new("futures mpsc, multi-thread (tokio)", move || {
            futures_mpsc_tokio_mt(n)
        }),
        Contender::new(
            "whatwg_streams 0.1.0-alpha.11, current-thread (N/50)",
            move || whatwg_streams(small, false),
        ),
        Contender::new("whatwg_streams 0.1.0-alpha.11, multi-thread (N/50)", move || {
            whatwg_streams(small, true)
        }),
        Contender::new("Node classic objectMode streams", move || {
            node("objects-classic.js", n)
        }),
        Contender::new("Node web streams (stream/web)", move || {
            node("../js/objects-pipe.js", n)
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statistics_cost_runs_every_mode_in_order() {
        // Each run checks its sink's sum, so an Ok means every mode moved every item.
        let cost = stats_cost(500, 2).unwrap();
        assert_eq!(cost.modes, [Stats::Off, Stats::Counts, Stats::Timed]);
        for i in 0..3 {
            assert!(
                cost.rate[i].is_finite() && cost.rate[i] > 0.0,
                "{i}: {}",
                cost.rate[i]
            );
            assert!(
                cost.cpu[i].is_finite() && cost.cpu[i] >= 0.0,
                "{i}: {}",
                cost.cpu[i]
            );
        }
    }

    #[test]
    fn expected_sum_matches_a_loop() {
        for n in [0u64, 1, 2, 17, 1000] {
            let s = (0..n).fold(0u64, |a, x| a.wrapping_add(map(x)));
            assert_eq!(expected_sum(n), s);
        }
    }

    #[test]
    fn every_rust_contender_delivers_every_item() {
        let n = 2_000;
        sluicegate(n).unwrap();
        sluicegate_stats(n, Stats::Off).unwrap();
        sluicegate_stats(n, Stats::Timed).unwrap();
        sluicegate_tokio_mt(n).unwrap();
        sluicegate_one_host(n).unwrap();
        fused_chain(n).unwrap();
        tokio_mpsc(n, false).unwrap();
        tokio_mpsc(n, true).unwrap();
        futures_mpsc_local(n).unwrap();
        futures_mpsc_tokio_mt(n).unwrap();
        whatwg_streams(n, false).unwrap();
        whatwg_streams(n, true).unwrap();
    }
}
