//! Fault injection with an accounting of every chunk.
//!
//! Pipes, pipe chains (source → transform → transform → sink) and tees, with a fault at each of
//! several positions: the sink fails at write N, the source fails or panics at pull N, a
//! transform fails mid-stream, the pipe's abort signal fires, the source's or the sink's
//! controller errors its stream, a tokio runtime driving the pipes is shut down mid-pipe, and a
//! pipe's future is dropped mid-way. (Readers and writers dropped, cancelling or aborting
//! mid-operation are in `handles.rs`.) For every scenario:
//!
//! * every chunk the source produced is acknowledged by each sink exactly once and in order, or
//!   the sink's pipe failed with the injected error (which names the fault);
//! * every pipe settles within a generous deadline, and every stream ends closed or errored;
//! * no thread outlives the scenario, no chunk is left alive, and the live bytes of the counting
//!   global allocator return to their baseline.
//!
//! Each scenario runs twice and is measured on the second run, so one-time lazy allocations do
//! not count. A summary is printed at the end; the process fails if any figure is off.
//! Run with `cargo test --release -p sluicegate --test faults`.

mod alloc;
mod exec;
mod handles;
mod scenarios;
mod world;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// Threads of this process right now.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(1)
}

/// Waits (a few seconds at most) for threads to exit down to `baseline`; the count left.
fn settle_threads(baseline: usize) -> usize {
    let start = Instant::now();
    while threads() > baseline && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    threads()
}

/// What one measured run left behind.
#[derive(Default, Clone, Copy)]
struct Leftovers {
    bytes: isize,
    blocks: isize,
    chunks: isize,
    threads: usize,
}

/// Runs `f` twice (a warm-up, then measured) and returns its second result with what it left.
fn measured<R: Copy>(baseline_threads: usize, f: impl Fn() -> R) -> (R, Leftovers) {
    let _ = f();
    settle_threads(baseline_threads);
    let chunks_before = world::LIVE_CHUNKS.load(Ordering::SeqCst);
    let (bytes, blocks) = alloc::live();
    let r = f();
    let threads_left = settle_threads(baseline_threads).saturating_sub(baseline_threads);
    let (bytes_after, blocks_after) = alloc::live();
    (
        r,
        Leftovers {
            bytes: bytes_after - bytes,
            blocks: blocks_after - blocks,
            chunks: world::LIVE_CHUNKS.load(Ordering::SeqCst) - chunks_before,
            threads: threads_left,
        },
    )
}

fn main() {
    let started = Instant::now();
    if let Err(e) = alloc::counts_an_allocation() {
        eprintln!("{e}");
        std::process::exit(1);
    }
    world::quiet_injected_panics();
    let baseline_threads = threads();
    let mut failures = Vec::new();
    let (mut produced, mut acked, mut lost, mut unaccounted, mut leaks, mut hangs) = (0, 0, 0, 0, 0, 0);
    let (mut driven_away, mut interrupted) = (0, 0);
    let all = scenarios::all();
    for s in &all {
        let (r, left) = measured(baseline_threads, || scenarios::run(s));
        produced += r.produced;
        acked += r.acked;
        lost += r.lost_named;
        unaccounted += r.unaccounted;
        hangs += r.hung as u64;
        driven_away += (s.drive != scenarios::Drive::Local) as u64;
        interrupted += r.interrupted as u64;
        let leaked = left.bytes != 0 || left.blocks != 0 || left.chunks != 0 || left.threads != 0;
        leaks += leaked as u64;
        if r.unaccounted != 0 || r.hung || r.unsettled_stream || leaked {
            failures.push(format!(
                "{s:?}: {r:?}, left {} bytes in {} blocks, {} chunks, {} threads",
                left.bytes, left.blocks, left.chunks, left.threads
            ));
        }
    }
    let handles = handles::all();
    for h in &handles {
        let (r, left) = measured(baseline_threads, || handles::run(h));
        produced += r.produced;
        acked += r.acked;
        lost += r.lost_named;
        unaccounted += r.unaccounted;
        hangs += r.hung as u64;
        let leaked = left.bytes != 0 || left.blocks != 0 || left.chunks != 0 || left.threads != 0;
        leaks += leaked as u64;
        if r.unaccounted != 0 || r.hung || leaked {
            failures.push(format!(
                "{h:?}: {r:?}, left {} bytes in {} blocks, {} chunks, {} threads",
                left.bytes, left.blocks, left.chunks, left.threads
            ));
        }
    }
    // Pipes dropped half done with every handle: nothing can drive their group again, so it is
    // abandoned and must be freed like any other (until 2026-12-07 this leaked; DESIGN.md, "A
    // group nobody holds is freed").
    let mut abandoned_runs = Vec::new();
    for s in &scenarios::abandoned() {
        let (r, left) = measured(baseline_threads, || scenarios::run(s));
        if r.hung {
            failures.push(format!("{s:?}: hung"));
        }
        let leaked = left.bytes != 0 || left.blocks != 0 || left.chunks != 0 || left.threads != 0;
        leaks += leaked as u64;
        if leaked {
            failures.push(format!(
                "{s:?}: abandoned, left {} bytes in {} blocks, {} chunks, {} threads",
                left.bytes, left.blocks, left.chunks, left.threads
            ));
        }
        abandoned_runs.push((s.drive, left.bytes, left.chunks));
    }
    let scenarios = all.len() + handles.len();
    eprintln!("== fault injection summary");
    eprintln!("scenarios: {scenarios} ({} pipe/chain/tee, {} readers and writers dropped, cancelling or aborting), each run twice, measured on the second", all.len(), handles.len());
    eprintln!("chunks produced: {produced}; deliveries acknowledged: {acked}; lost with an error naming the fault: {lost}");
    eprintln!("runtime shut down or future dropped: {driven_away} scenarios, {interrupted} of them with a pipe still running");
    eprintln!("chunks unaccounted for: {unaccounted}");
    eprintln!("hangs: {hangs}; scenarios leaking memory, chunks or threads: {leaks}");
    for (drive, bytes, chunks) in &abandoned_runs {
        eprintln!("abandoned with every handle dropped: {drive:?} left {bytes} bytes, {chunks} chunks");
    }
    eprintln!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        eprintln!("== {} failing scenarios", failures.len());
        for f in &failures {
            eprintln!("{f}");
        }
        std::process::exit(1);
    }
}
