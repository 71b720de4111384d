//! # sluicegate-bench
//!
//! Side-by-side benchmarks of sluicegate against the libraries and runtimes people would use
//! instead: tokio and futures channels, the `whatwg_streams` crate, `std::io::copy`, and Node's
//! classic and web streams. Every scenario runs all its contenders in one invocation, in
//! alternating rounds (each round runs every contender once, the order rotated by one place per
//! round), and prints a Markdown table of the median, the min–max range, and sluicegate's ratio to
//! each anchor.
//!
//! ```sh
//! cargo run --release -p sluicegate-bench -- all            # the full run (about 10 minutes)
//! cargo run --release -p sluicegate-bench -- objects --quick
//! cargo run --release -p sluicegate-bench -- bytes --rounds 3
//! ```
//!
//! Scenarios: `objects` (N u64 through source → map → sink, capacity 16), `objects-js` (the same
//! pipe as one JavaScript script under `sluicejs` and under Node's web streams, see
//! [`objects_js`]), `bytes` (a generated file copied through a pass-through stage in 64 KiB
//! chunks, MB/s and peak RSS), `cpu` (chunk checksums and gzip -1, two stages of
//! similar cost, alone, in sequence and as a two-core sluicegate pipeline), `many` (10,000
//! idle pipes, memory per pipe), `tcp` (loopback TCP through the socket streams against
//! `tokio::io::copy`, see [`tcp`]). `--quick` shrinks the inputs for development.
//!
//! Peak RSS is the kernel's figure for a child process (`wait4`'s `ru_maxrss`): every byte-copy
//! and memory contender runs as `sluicegate-bench child <kind> ...` or as a `node` script from
//! `bench/node/`, started through a small launcher process so that the figure is the contender's
//! own and not the benchmark parent's (see [`proc`]). Node rows say "skipped" when `node` is not
//! on `PATH`.

pub mod aligned;
pub mod bytes_copy;
pub mod cpu;
pub mod io_copy;
pub mod js_compression;
pub mod many;
pub mod node;
pub mod node_model;
pub mod objects;
pub mod objects_js;
pub mod proc;
pub mod report;
pub mod tcp;
pub mod transforms;

use std::fmt::Write as _;
use std::time::Instant;

use report::{group, ratio, rss_cell, run_rounds, Outcome, Stats, Table};

/// The scenarios, in the order `all` runs them.
pub const SCENARIOS: [&str; 7] = [
    "objects",
    "objects-js",
    "bytes",
    "cpu",
    "many",
    "tcp",
    "node-model",
];

/// Command-line options of a benchmark run.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Which scenarios to run.
    pub scenarios: Vec<String>,
    /// Smaller inputs, for development.
    pub quick: bool,
    /// Rounds per scenario.
    pub rounds: usize,
}

/// The usage text.
pub const USAGE: &str =
    "usage: sluicegate-bench <objects|objects-js|bytes|cpu|many|tcp|node-model|all> [--quick] [--rounds N]
       sluicegate-bench transforms [--rounds N] [--no-js] [--only NAME]
       sluicegate-bench bytes-io [--gib N]... [--mib N]... [--rounds N]
       sluicegate-bench bytes-files [--gib N]... [--mib N]... [--rounds N]";

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Options, String> {
        let mut scenarios = Vec::new();
        let mut quick = false;
        let mut rounds = 5;
        let mut it = args.iter().map(AsRef::as_ref);
        while let Some(a) = it.next() {
            match a {
                "--quick" => quick = true,
                "--rounds" => {
                    rounds = it
                        .next()
                        .and_then(|r| r.parse().ok())
                        .filter(|&r| r > 0)
                        .ok_or("--rounds needs a positive number")?
                }
                "all" => scenarios.extend(SCENARIOS.iter().map(|s| s.to_string())),
                s if SCENARIOS.contains(&s) => scenarios.push(s.to_string()),
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        if scenarios.is_empty() {
            return Err(USAGE.to_string());
        }
        Ok(Options {
            scenarios,
            quick,
            rounds,
        })
    }
}

/// A target from the issue and whether this run met it.
#[derive(Clone, Debug)]
pub struct Target {
    /// What is wanted.
    pub wanted: String,
    /// What this run measured.
    pub measured: String,
    /// Met, not met, or not measurable (a contender was skipped).
    pub met: Option<bool>,
}

/// The Markdown of one scenario and the targets it checks.
#[derive(Clone, Debug, Default)]
pub struct Section {
    /// Heading, notes and table.
    pub markdown: String,
    /// The issue's targets for this scenario.
    pub targets: Vec<Target>,
}

fn median(o: &Outcome) -> Option<f64> {
    o.stats().map(|s| s.median)
}

/// A target "a ÷ b ≥ min".
/// Rounds of [`objects::stats_cost`] behind the objects report's statistics target.
const STATS_COST_ROUNDS: usize = 9;

fn ratio_target(wanted: &str, a: Option<f64>, b: Option<f64>, min: f64) -> Target {
    match (a, b) {
        (Some(a), Some(b)) => Target {
            wanted: wanted.to_string(),
            measured: ratio(a / b),
            met: Some(a / b >= min),
        },
        _ => Target {
            wanted: wanted.to_string(),
            measured: "not measured (a contender was skipped)".to_string(),
            met: None,
        },
    }
}

/// Rows `name | median | min–max | reference ÷ this [| peak RSS]`, with `fmt` for the figures.
fn table(
    names: &[String],
    outcomes: &[Outcome],
    unit: &str,
    reference: usize,
    ratio_heading: &str,
    with_rss: bool,
    fmt: impl Fn(f64) -> String,
) -> Table {
    let mut headers = vec![
        "contender".to_string(),
        format!("median ({unit})"),
        "min–max".to_string(),
        ratio_heading.to_string(),
    ];
    if with_rss {
        headers.push("peak RSS".to_string());
    }
    let mut t = Table::new(headers);
    let reference = median(&outcomes[reference]);
    for (name, outcome) in names.iter().zip(outcomes) {
        match outcome.stats() {
            Some(Stats { median, min, max }) => {
                let r = match reference {
                    Some(r) => ratio(r / median),
                    None => "—".to_string(),
                };
                let mut row = vec![name.clone(), fmt(median), format!("{}–{}", fmt(min), fmt(max)), r];
                if with_rss {
                    row.push(rss_cell(outcome.rss_stats()));
                }
                t.row(row);
            }
            None => {
                let reason = match outcome {
                    Outcome::Skipped(r) => r.clone(),
                    Outcome::Measured(_) => "no runs".to_string(),
                };
                t.row([name.clone(), reason]);
            }
        }
    }
    t
}

fn names(contenders: &[report::Contender<'_>]) -> Vec<String> {
    contenders.iter().map(|c| c.name.clone()).collect()
}

/// Runs the `objects` scenario.
pub fn run_objects(opts: &Options) -> Section {
    let n: u64 = if opts.quick { 1_000_000 } else { 10_000_000 };
    let mut contenders = objects::contenders(n);
    let names = names(&contenders);
    let outcomes = run_rounds("objects", &mut contenders, opts.rounds);
    drop(contenders);
    let t = table(
        &names,
        &outcomes,
        "M items/s",
        0,
        "sluicegate ÷ this",
        false,
        |x| format!("{:.2}", x / 1e6),
    );
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### objects: {} u64 through source → map → sink, capacity 16, {} rounds\n",
        group(n as f64, 0),
        opts.rounds
    );
    md.push_str(&t.markdown());
    let _ = writeln!(
        md,
        "\nsluicegate: `ReadableStream::from_iter` (high-water mark 0, as the standard's \
         `ReadableStream.from`) → `pipe_through` a mapping `TransformStream` with \
         `CountQueuingStrategy(16)` on both sides → `pipe_to` a `WritableStream` with \
         `CountQueuingStrategy(16)`, awaited with `futures::executor::block_on`. Channel rows: \
         producer task → channel(16) → mapper task → channel(16) → consumer task (futures' \
         `channel(15)`, which holds 15 + 1 per sender). `whatwg_streams`: the same stream shape, \
         every strategy `CountQueuingStrategy::new(16)`, its tasks spawned with `tokio::spawn`; \
         those rows move N/{} items ({}) because that crate runs at well under 1 M items/s here \
         (items/s does not depend on N). Node: `bench/node/objects-classic.js` and, for web \
         streams, `bench/js/objects-pipe.js` (the objects-js scenario's script), highWaterMark \
         16 on every stage. The sluicegate multi-thread row \
         runs the source's pipe into the transform as one tokio task and the transform's pipe \
         into the sink as another, on 2 worker threads; the other multi-thread rows spawn their \
         tasks on tokio's default multi-thread runtime. Every sink checks the sum of the mapped \
         items.",
        objects::WHATWG_DIVISOR,
        group((n / objects::WHATWG_DIVISOR) as f64, 0)
    );
    let find = |prefix: &str| {
        names
            .iter()
            .position(|x| x.starts_with(prefix))
            .and_then(|i| median(&outcomes[i]))
    };
    let sg = median(&outcomes[0]);
    let stats_off = find("sluicegate, statistics off");
    let stats_timed = find("sluicegate, statistics with phase clocks");
    if let (Some(on), Some(off), Some(timed)) = (sg, stats_off, stats_timed) {
        let _ = writeln!(
            md,
            "\nPer-stream statistics (`sluicegate::stats`): the first row counts (the default), \
             the second has statistics off, the third also times phases (`set_timing(true)`). \
             In this table, counting ÷ off = {:.3}; timing ÷ off = {:.3}.",
            on / off,
            timed / off
        );
    }
    // The rows above run among a dozen other contenders, a few percent apart by chance; the
    // statistics target is judged on the three modes alone, side by side in this process.
    let cost_items = n.min(1_000_000);
    let cost = objects::stats_cost(cost_items, STATS_COST_ROUNDS);
    let stats_target = "objects: statistics cost ≤ 2% (counting ÷ off ≥ 0.98, the three modes \
                        alone, rotated in one process)";
    let stats_target = match &cost {
        Ok(c) => {
            let _ = writeln!(
                md,
                "\nThe three modes alone (`child objects-stats-cost {cost_items} \
                 {STATS_COST_ROUNDS}`: {STATS_COST_ROUNDS} rounds in this process, the order \
                 rotated, medians): counting ÷ off = {:.3} ({:.3} by CPU time per item); \
                 timing ÷ off = {:.3} ({:.3} by CPU time).",
                c.rate[1] / c.rate[0],
                c.cpu[0] / c.cpu[1],
                c.rate[2] / c.rate[0],
                c.cpu[0] / c.cpu[2]
            );
            ratio_target(stats_target, Some(c.rate[1]), Some(c.rate[0]), 0.98)
        }
        Err(e) => Target {
            wanted: stats_target.to_string(),
            measured: format!("not measured ({e})"),
            met: None,
        },
    };
    let fused = find("fused futures::stream");
    if let (Some(sg), Some(fused)) = (sg, fused) {
        let _ = writeln!(
            md,
            "\nThe ceiling: a fused `futures::stream::iter(..).map(..).fold(..)` chain has no \
             stage boundary at all; sluicegate ÷ it = {:.4}x.",
            sg / fused
        );
    }
    // Atomic read-modify-writes per item, counted exactly under callgrind (deterministic, so
    // one run each).
    let atomics = objects::atomics_per_item("objects-sluicegate");
    let atomics_mpsc = objects::atomics_per_item("objects-futures-mpsc");
    let show = |r: &Result<f64, String>| match r {
        Ok(v) => format!("{v:.1}"),
        Err(e) => e.clone(),
    };
    let _ = writeln!(
        md,
        "\nAtomic read-modify-writes per item (`valgrind --tool=callgrind --dump-instr=yes` of \
         `sluicegate-bench child <kind> {}`, counted by `scripts/count-atomics.py`): sluicegate \
         {}; futures mpsc current-thread {}.",
        objects::ATOMICS_ITEMS,
        show(&atomics),
        show(&atomics_mpsc)
    );
    let atomics_target = match &atomics {
        Ok(v) => Target {
            wanted: "objects: ≤ 12 atomic read-modify-writes per item".to_string(),
            measured: format!("{v:.1}"),
            met: Some(*v <= 12.0),
        },
        Err(e) => Target {
            wanted: "objects: ≤ 12 atomic read-modify-writes per item".to_string(),
            measured: format!("not measured ({e})"),
            met: None,
        },
    };
    Section {
        markdown: md,
        targets: vec![
            stats_target,
            ratio_target(
                "objects: sluicegate ≥ 1.0x futures mpsc current-thread",
                sg,
                find("futures mpsc, current-thread"),
                1.0,
            ),
            ratio_target(
                "objects: sluicegate ≥ 1.5x Node classic streams",
                sg,
                find("Node classic"),
                1.5,
            ),
            ratio_target(
                "objects, multi-thread: sluicegate ≥ 1.0x futures mpsc multi-thread",
                find("sluicegate, multi-thread"),
                find("futures mpsc, multi-thread"),
                1.0,
            ),
            atomics_target,
        ],
    }
}

/// Runs the `objects-js` scenario: one JavaScript pipe under sluicejs and under Node's web
/// streams.
pub fn run_objects_js(opts: &Options) -> Section {
    let n: u64 = if opts.quick { 200_000 } else { 1_000_000 };
    let log = objects_js::CpuLog::default();
    let mut contenders = objects_js::contenders(n, &log);
    let names = names(&contenders);
    let outcomes = run_rounds("objects-js", &mut contenders, opts.rounds);
    drop(contenders);
    let log = log.into_inner();
    let mut t = table(&names, &outcomes, "M items/s", 0, "sluicejs ÷ this", true, |x| {
        format!("{:.3}", x / 1e6)
    });
    // Items per CPU-second of the whole child process: what other load on the machine moves
    // least.
    let per_cpu: Vec<Option<Stats>> = log
        .iter()
        .map(|runs| {
            Stats::of(
                &runs
                    .iter()
                    .filter(|&&c| c > 0.0)
                    .map(|c| n as f64 / c)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    t.headers
        .push("M items per CPU-second (whole process)".to_string());
    for (row, s) in t.rows.iter_mut().zip(&per_cpu) {
        if row.len() > 2 {
            row.push(s.map_or("—".to_string(), |s| {
                format!("{:.3} ({:.3}–{:.3})", s.median / 1e6, s.min / 1e6, s.max / 1e6)
            }));
        }
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### objects-js: {} numbers through pull source → TransformStream → WritableStream in JavaScript, highWaterMark 16, {} rounds\n",
        group(n as f64, 0),
        opts.rounds
    );
    md.push_str(&t.markdown());
    let _ = writeln!(
        md,
        "\nOne script, `bench/js/objects-pipe.js`, in both runtimes: a `ReadableStream` whose \
         `pull` enqueues numbers up to `desiredSize` → `pipeThrough` a `TransformStream` mapping \
         x to 3x + 1 → `pipeTo` a `WritableStream` that counts and sums them (the script fails \
         unless both are right), `CountQueuingStrategy({{ highWaterMark: 16 }})` on every stage; \
         the script times the pipe alone and prints items/s. sluicejs runs as \
         `sluicegate-bench child sluicejs-script <script> N` (`sluicegate_js::script::run`, the \
         runtime the `sluicejs` binary runs); Node runs `node <script> N` with the web stream \
         classes as globals. Each run is a fresh child process; peak RSS is its `ru_maxrss`, CPU \
         time its `ru_utime + ru_stime` (start-up and every thread included, Node's compiler \
         and collector threads too)."
    );
    if let (Some(a), Some(b)) = (per_cpu[0], per_cpu.get(1).copied().flatten()) {
        let _ = writeln!(
            md,
            "\nBy CPU time instead of wall time: sluicejs ÷ Node = {}.",
            ratio(a.median / b.median)
        );
    }
    let _ = writeln!(md, "{}", floor_note());
    Section {
        markdown: md,
        targets: vec![ratio_target(
            "objects-js: sluicejs ≥ 1.2x Node web streams (same script)",
            median(&outcomes[0]),
            median(&outcomes[1]),
            1.2,
        )],
    }
}

/// Runs the `bytes` scenario.
pub fn run_bytes(opts: &Options) -> Section {
    let (size, large) = if opts.quick {
        (64u64 << 20, 256u64 << 20)
    } else {
        (1u64 << 30, 4u64 << 30)
    };
    let label = |b: u64| {
        if b >= 1 << 30 {
            format!("{} GiB", b >> 30)
        } else {
            format!("{} MiB", b >> 20)
        }
    };
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### bytes: {} file → pass-through stage → file, 64 KiB chunks, {} rounds\n",
        label(size),
        opts.rounds
    );
    let files = match bytes_copy::Files::generate(size, large) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(md, "Could not generate the input files: {e}");
            return Section {
                markdown: md,
                targets: Vec::new(),
            };
        }
    };
    let mut contenders = bytes_copy::contenders(&files, &label(size), &label(large));
    let names = names(&contenders);
    let outcomes = run_rounds("bytes", &mut contenders, opts.rounds);
    drop(contenders);
    drop(files);
    let t = table(&names, &outcomes, "MB/s", 0, "sluicegate ÷ this", true, |x| {
        group(x, 0)
    });
    md.push_str(&t.markdown());
    let _ = writeln!(
        md,
        "\nsluicegate: a `ReadableStream` whose `pull` reads 64 KiB from a `std::fs::File` into a \
         4096-aligned `Bytes`, an identity `TransformStream`, a `WritableStream` whose `write` does \
         `write_all`; every stage `ByteLengthQueuingStrategy({} KiB)`, driven by \
         `futures::executor::block_on`. Peak RSS is each child process's `ru_maxrss`. \
         `std::io::copy` between two files uses `copy_file_range` on Linux (a kernel copy that no \
         user-space stage can match); the read/write loop through one 64 KiB aligned buffer is the \
         user-space floor a pass-through stage is fairly compared with.",
        bytes_copy::STAGE_HWM >> 10
    );
    let _ = writeln!(md, "{}", floor_note());
    let sg_rss = outcomes[0].rss_stats();
    let large_rss = outcomes[1].rss_stats();
    let rss_target = match (sg_rss, large_rss) {
        (Some(a), Some(b)) => Target {
            wanted: format!(
                "bytes: sluicegate peak RSS equal at {} and {} (within 1 MiB)",
                label(size),
                label(large)
            ),
            measured: format!("{:.1} MiB vs {:.1} MiB", a.max / 1024.0, b.max / 1024.0),
            met: Some((a.max - b.max).abs() <= 1024.0),
        },
        _ => Target {
            wanted: "bytes: equal peak RSS".to_string(),
            measured: "not measured".to_string(),
            met: None,
        },
    };
    let find = |prefix: &str| {
        names
            .iter()
            .position(|x| x.starts_with(prefix))
            .and_then(|i| median(&outcomes[i]))
    };
    Section {
        markdown: md,
        targets: vec![
            // Issue 11's target for a pass-through stage. A stage that sees every chunk cannot
            // match `std::io::copy`'s kernel copy; the file-to-file target against it (a pipe
            // with nothing in between, which may copy in the kernel too) is `bytes-files`'.
            ratio_target(
                "bytes: sluicegate ≥ 0.95x the read/write buffer loop (user-space floor)",
                median(&outcomes[0]),
                find("read/write loop"),
                0.95,
            ),
            rss_target,
        ],
    }
}

fn floor_note() -> String {
    format!(
        "\nEach contender ran under a launcher process whose own high-water mark was at most \
         {:.1} MiB when it spawned the contender: no peak RSS above can be lower.",
        proc::launcher_floor_kib() as f64 / 1024.0
    )
}

/// Runs the `cpu` scenario.
pub fn run_cpu(opts: &Options) -> Section {
    let size: usize = if opts.quick { 64 << 20 } else { 1 << 30 };
    let inputs = cpu::Inputs::new(size);
    let log = cpu::CpuLog::default();
    let mut contenders = cpu::contenders(&inputs, &log);
    let names = names(&contenders);
    let outcomes = run_rounds("cpu", &mut contenders, opts.rounds);
    drop(contenders);
    let log = log.into_inner();
    let mut t = table(
        &names,
        &outcomes,
        "MB/s of text",
        0,
        "pipeline ÷ this",
        false,
        |x| group(x, 0),
    );
    // CPU columns: the cost (MB per CPU-second, which other load on the machine barely moves),
    // the cores this process used, and what the rest of the machine used meanwhile.
    let stats = |runs: &[cpu::CpuUse], f: &dyn Fn(&cpu::CpuUse) -> Option<f64>| {
        let v: Option<Vec<f64>> = runs.iter().map(f).collect();
        v.and_then(|v| Stats::of(&v))
    };
    let len = inputs.len() as f64;
    let cost = |runs: &[cpu::CpuUse]| stats(runs, &|u| (u.own > 0.0).then(|| len / u.own / 1e6));
    let cores = |runs: &[cpu::CpuUse]| stats(runs, &|u| Some(u.cores()));
    let others = |runs: &[cpu::CpuUse]| stats(runs, &|u| u.others());
    let cell = |s: Option<Stats>, fmt: &dyn Fn(f64) -> String| {
        s.map_or("—".to_string(), |s| {
            format!("{} ({}–{})", fmt(s.median), fmt(s.min), fmt(s.max))
        })
    };
    t.headers.extend([
        "MB of text per CPU-second".to_string(),
        "cores this process used (CPU ÷ wall)".to_string(),
        "cores other processes used meanwhile".to_string(),
    ]);
    for (row, runs) in t.rows.iter_mut().zip(&log) {
        if row.len() < 4 {
            continue;
        }
        row.push(cell(cost(runs), &|x| group(x, 0)));
        row.push(cell(cores(runs), &|x| format!("{x:.2}")));
        row.push(cell(others(runs), &|x| format!("{x:.2}")));
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### cpu: chunk checksums and gzip -1 of {} MiB of log text (gzip output {} MiB), {} rounds\n",
        size >> 20,
        inputs.compressed_len() >> 20,
        opts.rounds
    );
    md.push_str(&t.markdown());
    let _ = writeln!(
        md,
        "\nAll figures are MB of input text; both stages see every byte of it. Checksums: each \
         64 KiB chunk's SHA-256 and SHA-512 (a chunk manifest) and the SHA-256 of the whole \
         text; gzip: level 1, counting the output. The pipeline's checksum stage is a \
         `TransformStream` whose `transform` hands each chunk to a dedicated `std::thread` \
         through a bounded channel (capacity {}) and completes once the worker has room; the \
         worker hashes the chunk and hands it back, a pump future joined with the pipe on the \
         calling thread enqueues it on the transform's readable side, and the gzip stage is the \
         `WritableStream` sink on the calling thread. The sequential row runs the same two stages \
         one after the other per chunk in a plain loop. CPU columns, per run, medians (min–max): \
         MB of text ÷ this process's user + system CPU time (`CLOCK_PROCESS_CPUTIME_ID`, all threads); that CPU \
         time ÷ wall time; the whole machine's busy time (`/proc/stat`) minus this process's, \
         ÷ wall time.",
        cpu::WORKER_QUEUE
    );
    let m = |i: usize| median(&outcomes[i]);
    let (pipe, seq, sums, gzip) = (m(0), m(1), m(2), m(3));
    // Balance from each stage's CPU cost (seconds of CPU per MB), not its wall rate: on a shared
    // machine the wall rate of a one-thread run moves with everyone else's load, its CPU cost
    // hardly does.
    let mc = |i: usize| cost(&log[i]).map(|s| s.median);
    let wanted = "cpu: stages balanced, slower ÷ faster alone ≤ 1.5x (CPU cost)".to_string();
    let balance = match (mc(2), mc(3)) {
        (Some(a), Some(b)) => {
            let r = a.max(b) / a.min(b);
            let ideal = (1.0 / a + 1.0 / b) * a.min(b);
            let wall = match (sums, gzip) {
                (Some(x), Some(y)) => format!(" (by wall rate: {})", ratio(x.max(y) / x.min(y))),
                _ => String::new(),
            };
            let _ = writeln!(
                md,
                "\nStages alone, MB of text per CPU-second: checksums {}, gzip -1 {}; the slower \
                 costs {} the faster{wall}. Two cores that each ran as fast as one alone could \
                 at best run the pair at the slower stage's speed: {} the sequential run.",
                group(a, 0),
                group(b, 0),
                ratio(r),
                ratio(ideal)
            );
            Target {
                wanted,
                measured: ratio(r),
                met: Some(r <= 1.5),
            }
        }
        _ => Target {
            wanted,
            measured: "not measured".to_string(),
            met: None,
        },
    };
    if let (Some(c), Some(o)) = (cores(&log[0]), others(&log[0])) {
        let n = std::thread::available_parallelism().map_or(0, |n| n.get());
        let verdict = if o.median < 0.25 {
            "the second core was free"
        } else {
            "the second core was not free: the speed-up below is a floor"
        };
        let _ = writeln!(
            md,
            "\nDuring the pipeline runs this process kept {:.2} cores busy (median) and other \
             processes {:.2}, of the machine's {n}: {verdict}.",
            c.median, o.median,
        );
    }
    if let (Outcome::Measured(p), Outcome::Measured(q)) = (&outcomes[0], &outcomes[1]) {
        let by_round: Vec<String> = p.iter().zip(q).map(|(p, q)| ratio(p.value / q.value)).collect();
        let load: Vec<String> = log[0]
            .iter()
            .map(|u| u.others().map_or("?".to_string(), |o| format!("{o:.2}")))
            .collect();
        let _ = writeln!(
            md,
            "\nPipeline ÷ sequential round by round (the two ran in the same round, \
             minutes apart at most): {}; cores other processes used during each pipeline run: {}.",
            by_round.join(", "),
            load.join(", ")
        );
    }
    if let (Some(ceiling), Some(seq), Some(pipe)) = (m(4), seq, pipe) {
        let c = cores(&log[4]).map_or(String::new(), |c| format!(", with {:.2} cores busy", c.median));
        let _ = writeln!(
            md,
            "\nThe ceiling row runs each stage over the whole text at the same time on two plain \
             threads with nothing handed between them{c}: {} the sequential run. That is what two \
             busy cores give on this machine (two virtual CPUs can share a physical core, its \
             caches or its memory bandwidth); the pipeline reaches {} of it.",
            ratio(ceiling / seq),
            ratio(pipe / ceiling)
        );
    }
    let slowest = match (sums, gzip) {
        (Some(a), Some(b)) => Some(a.min(b)),
        _ => None,
    };
    Section {
        markdown: md,
        targets: vec![
            balance,
            ratio_target(
                "cpu: pipeline on 2 cores ≥ 1.7x the sequential run",
                pipe,
                seq,
                1.7,
            ),
            ratio_target(
                "cpu: two-stage pipeline ≥ 0.9x its slowest stage alone",
                pipe,
                slowest,
                0.9,
            ),
        ],
    }
}

/// Runs the `many` scenario.
pub fn run_many(opts: &Options) -> Section {
    let n = 10_000;
    let mut contenders = many::contenders(n);
    let names = names(&contenders);
    let outcomes = run_rounds("many", &mut contenders, opts.rounds);
    drop(contenders);
    let t = table(
        &names,
        &outcomes,
        "bytes per pipe",
        0,
        "sluicegate ÷ this (lower is better)",
        true,
        |x| group(x, 0),
    );
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### many: {} idle pipes held at once, {} rounds\n",
        group(n as f64, 0),
        opts.rounds
    );
    md.push_str(&t.markdown());
    let _ = writeln!(
        md,
        "\nBytes per pipe = (VmRSS after building the pipes and letting each go idle − VmRSS \
         before) / N, measured inside a fresh child process per run; peak RSS is that child's \
         `ru_maxrss`. A sluicegate pipe is a `ReadableStream` whose source never enqueues, \
         `pipe_to` a `WritableStream`, the pipe future polled once; a channel pipe is a pump task \
         and a sink task with two capacity-16 channels."
    );
    let _ = writeln!(md, "{}", floor_note());
    Section {
        markdown: md,
        targets: Vec::new(),
    }
}

/// Runs the `tcp` scenario.
pub fn run_tcp(opts: &Options) -> Section {
    let total: u64 = if opts.quick { 256 << 20 } else { 2 << 30 };
    let mut contenders = tcp::contenders(total);
    let names = names(&contenders);
    let outcomes = run_rounds("tcp", &mut contenders, opts.rounds);
    drop(contenders);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### tcp: {} MiB over loopback TCP, 64 KiB chunks (relay also at 256 KiB), current-thread tokio runtime, {} rounds\n",
        total >> 20,
        opts.rounds
    );
    let relay = table(
        &names[..3],
        &outcomes[..3],
        "MB/s",
        0,
        "sluicegate ÷ this",
        false,
        |x| group(x, 0),
    );
    // The 256 KiB relays beside tokio::io::copy, whose buffer does not depend on the chunk size.
    let large_rows = [3, 4, 2];
    let large = table(
        &large_rows.map(|i| names[i].clone()),
        &large_rows.map(|i| outcomes[i].clone()),
        "MB/s",
        0,
        "sluicegate ÷ this",
        false,
        |x| group(x, 0),
    );
    let ends = table(
        &names[5..],
        &outcomes[5..],
        "MB/s",
        0,
        "sluicegate ÷ this",
        false,
        |x| group(x, 0),
    );
    md.push_str(&relay.markdown());
    md.push('\n');
    md.push_str(&large.markdown());
    md.push('\n');
    md.push_str(&ends.markdown());
    let _ = writeln!(
        md,
        "\nRelay: a tokio generator writes the bytes to a relay that forwards them to a tokio sink \
         that counts them; only the relay differs. sluicegate's relay is \
         `io::tcp::from_stream(inbound).readable.pipe_to(&io::tcp::from_stream(outbound).writable)` \
         (64 KiB reads into pooled aligned buffers, writable high-water mark 64 KiB; in the second \
         table 256 KiB reads and high-water mark, beside `copy_buf` through a 256 KiB \
         `BufReader`; generator and sink still move 64 KiB at a time). Ends: one \
         connection, both ends sluicegate streams or both tokio loops. All tasks share one thread, \
         so the figures are the whole cost of moving the bytes through the kernel's loopback; \
         every run checks the byte count."
    );
    let m = |i: usize| median(&outcomes[i]);
    Section {
        markdown: md,
        targets: vec![
            ratio_target(
                "tcp: sluicegate relay ≥ 0.9x tokio::io::copy_buf (same chunk size)",
                m(0),
                m(1),
                0.9,
            ),
            ratio_target("tcp: sluicegate relay ≥ 0.9x tokio::io::copy", m(0), m(2), 0.9),
            ratio_target(
                "tcp: sluicegate relay at 256 KiB ≥ 0.9x tokio::io::copy",
                m(3),
                m(2),
                0.9,
            ),
            ratio_target(
                "tcp: sluicegate relay at 256 KiB ≥ 0.9x tokio::io::copy_buf at 256 KiB",
                m(3),
                m(4),
                0.9,
            ),
            ratio_target("tcp: sluicegate ends ≥ 0.9x tokio loops", m(5), m(6), 0.9),
        ],
    }
}

/// Runs the `node-model` scenario: sluicegate-node beside Node (objects) and beside the
/// read/write loop (bytes).
pub fn run_node_model(opts: &Options) -> Section {
    let n: u64 = if opts.quick { 1_000_000 } else { 10_000_000 };
    let mut md = String::new();
    let mut contenders = node_model::object_contenders(n);
    let names_o = names(&contenders);
    let outcomes = run_rounds("node-model objects", &mut contenders, opts.rounds);
    drop(contenders);
    let t = table(
        &names_o,
        &outcomes,
        "M items/s",
        0,
        "sluicegate-node ÷ this",
        false,
        |x| format!("{:.2}", x / 1e6),
    );
    let _ = writeln!(
        md,
        "### node-model objects: {} u64 through Readable → Transform → Writable, highWaterMark 16, {} rounds\n",
        group(n as f64, 0),
        opts.rounds
    );
    md.push_str(&t.markdown());
    let objects_target = ratio_target(
        "node-model objects: sluicegate-node ≥ 1.5x Node classic objectMode",
        median(&outcomes[0]),
        median(&outcomes[1]),
        1.5,
    );
    let (size, large) = if opts.quick {
        (64u64 << 20, 256u64 << 20)
    } else {
        (1u64 << 30, 4u64 << 30)
    };
    let files = match bytes_copy::Files::generate(size, large) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(md, "\nCould not generate the input files: {e}");
            return Section {
                markdown: md,
                targets: vec![objects_target],
            };
        }
    };
    let label = |b: u64| format!("{} MiB", b >> 20);
    let mut contenders = vec![
        bytes_copy::self_contender(
            format!("sluicegate-node file → PassThrough → file, {}", label(size)),
            "bytes-node-model",
            &files.input,
            &files.output,
        ),
        bytes_copy::self_contender(
            format!("sluicegate-node file → PassThrough → file, {}", label(large)),
            "bytes-node-model",
            &files.large_input,
            &files.large_output,
        ),
        bytes_copy::self_contender(
            "read/write loop, one 64 KiB aligned buffer".to_string(),
            "bytes-buffer",
            &files.input,
            &files.output,
        ),
    ];
    let names_b = names(&contenders);
    let outcomes_b = run_rounds("node-model bytes", &mut contenders, opts.rounds);
    drop(contenders);
    drop(files);
    let t = table(
        &names_b,
        &outcomes_b,
        "MB/s",
        0,
        "sluicegate-node ÷ this",
        true,
        |x| group(x, 0),
    );
    let _ = writeln!(
        md,
        "\n### node-model bytes: file → PassThrough → file, 64 KiB chunks, {} rounds\n",
        opts.rounds
    );
    md.push_str(&t.markdown());
    let _ = writeln!(md, "{}", floor_note());
    let rss = match (outcomes_b[0].rss_stats(), outcomes_b[1].rss_stats()) {
        (Some(a), Some(b)) => Target {
            wanted: "node-model bytes: peak RSS flat across input sizes (within 1 MiB)".to_string(),
            measured: format!("{:.1} MiB vs {:.1} MiB", a.max / 1024.0, b.max / 1024.0),
            met: Some((a.max - b.max).abs() <= 1024.0),
        },
        _ => Target {
            wanted: "node-model bytes: flat peak RSS".to_string(),
            measured: "not measured".to_string(),
            met: None,
        },
    };
    Section {
        markdown: md,
        targets: vec![
            objects_target,
            ratio_target(
                "node-model bytes: sluicegate-node ≥ 0.95x the read/write loop",
                median(&outcomes_b[0]),
                median(&outcomes_b[2]),
                0.95,
            ),
            rss,
        ],
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Howard Hinnant's civil_from_days.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or("?".to_string(), |k| {
            format!("{:.0} GiB", k as f64 / (1 << 20) as f64)
        });
    format!("{cores} cores ({cpu}), {mem} RAM")
}

/// Runs the chosen scenarios and returns the whole report as Markdown.
pub fn run(opts: &Options, command: &str) -> String {
    let started = Instant::now();
    let mut md = String::new();
    let _ = writeln!(md, "## sluicegate-bench results\n");
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful figures");
        let _ = writeln!(
            md,
            "**Debug build: these figures mean nothing; run with `--release`.**\n"
        );
    }
    let _ = writeln!(md, "* command: `{command}`");
    let _ = writeln!(md, "* date: {} (UTC)", today());
    let _ = writeln!(md, "* machine: {}", machine());
    let _ = writeln!(
        md,
        "* node: {}\n",
        node::version().unwrap_or("not on PATH (Node rows skipped)")
    );
    let mut targets = Vec::new();
    for s in &opts.scenarios {
        let section = match s.as_str() {
            "objects" => run_objects(opts),
            "objects-js" => run_objects_js(opts),
            "bytes" => run_bytes(opts),
            "cpu" => run_cpu(opts),
            "many" => run_many(opts),
            "tcp" => run_tcp(opts),
            "node-model" => run_node_model(opts),
            _ => continue,
        };
        md.push_str(&section.markdown);
        md.push('\n');
        targets.extend(section.targets);
    }
    if !targets.is_empty() {
        let mut t = Table::new(["target", "measured", "met?"]);
        for target in &targets {
            let met = match target.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            };
            t.row([target.wanted.as_str(), target.measured.as_str(), met]);
        }
        let _ = writeln!(md, "### targets\n\n{}", t.markdown());
    }
    let _ = writeln!(md, "Total time: {:.0} s.", started.elapsed().as_secs_f64());
    md
}

/// The hidden `child <kind> <args...>` entry point used by the scenarios' child processes.
pub fn child(args: &[String]) -> Result<(), String> {
    let kind = args.first().map(String::as_str).unwrap_or("");
    match kind {
        "launch" => proc::launch(&args[1..]),
        "sluicejs-script" => objects_js::child(&args[1..]),
        k if k.starts_with("bytes-") => match args {
            [_, input, output] => bytes_copy::child(k, input.as_ref(), output.as_ref()),
            _ => Err(format!("usage: child {k} <input> <output>")),
        },
        "objects-sluicegate" => {
            // For profiling: `perf record -g target/release/sluicegate-bench child objects-sluicegate`.
            let n = args
                .get(1)
                .map_or(Some(10_000_000), |n| n.parse().ok())
                .ok_or("usage: child objects-sluicegate [N]")?;
            let m = objects::sluicegate(n)?;
            println!("{}", m.value);
            Ok(())
        }
        "objects-one-host" => {
            let n: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
            let m = objects::sluicegate_one_host(n)?;
            println!("{}", m.value);
            Ok(())
        }
        "objects-futures-mpsc" => {
            // The futures-channel pipeline on a LocalPool, for counting its atomics beside
            // sluicegate's (`objects::atomics_per_item`).
            let n = args
                .get(1)
                .map_or(Some(10_000_000), |n| n.parse().ok())
                .ok_or("usage: child objects-futures-mpsc [N]")?;
            let m = objects::futures_mpsc_local(n)?;
            println!("{}", m.value);
            Ok(())
        }
        "objects-stats-cost" => {
            // The cost of per-stream statistics alone: the sluicegate objects pipeline with
            // statistics off, counting, and timing, in turn, `child objects-stats-cost [N] [ROUNDS]`.
            let n = args.get(1).map_or(Some(2_000_000), |n| n.parse().ok());
            let rounds = args.get(2).map_or(Some(9), |n| n.parse().ok());
            let (Some(n), Some(rounds)) = (n, rounds) else {
                return Err("usage: child objects-stats-cost [N] [ROUNDS]".into());
            };
            let objects::StatsCost { modes, rate, cpu } = objects::stats_cost(n, rounds)?;
            println!("medians of {rounds} rounds of {n} items, rotating the order:");
            for (i, mode) in modes.iter().enumerate() {
                println!(
                    "  {mode:?}: {:.3} M items/s ({:.3}x off), {:.0} ns CPU per item ({:.3}x off)",
                    rate[i] / 1e6,
                    rate[i] / rate[0],
                    cpu[i],
                    cpu[i] / cpu[0]
                );
            }
            Ok(())
        }
        k if k.starts_with("tcp-") => {
            // For profiling: `perf record -g target/release/sluicegate-bench child tcp-relay-sluicegate`.
            let kind = tcp::Kind::ALL
                .into_iter()
                .find(|c| c.child_name() == k)
                .ok_or_else(|| format!("unknown child kind {k:?}"))?;
            let mib: u64 = args
                .get(1)
                .map_or(Some(1024), |n| n.parse().ok())
                .ok_or("usage: child tcp-* [MiB]")?;
            let m = tcp::run(kind, mib << 20)?;
            println!("{:.0} MB/s", m.value);
            Ok(())
        }
        k if k.starts_with("many-") => {
            let n = args
                .get(1)
                .and_then(|n| n.parse().ok())
                .ok_or("usage: child many-* <N>")?;
            many::child(k, n)
        }
        _ => Err(format!("unknown child kind {kind:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let o = Options::parse(&["all", "--quick"]).unwrap();
        assert_eq!(o.scenarios, SCENARIOS);
        assert!(Options::parse(&["node-model"]).is_ok());
        assert!(o.quick);
        assert_eq!(o.rounds, 5);
        let o = Options::parse(&["bytes", "--rounds", "2"]).unwrap();
        assert_eq!((o.scenarios, o.rounds), (vec!["bytes".to_string()], 2));
        assert!(Options::parse(&["nope"]).is_err());
        assert!(Options::parse::<&str>(&[]).is_err());
        assert!(Options::parse(&["cpu", "--rounds", "0"]).is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(today().len(), 10);
        assert!(today().starts_with("20"));
    }

    #[test]
    fn targets_and_tables() {
        let t = ratio_target("x", Some(3.0), Some(2.0), 1.5);
        assert_eq!((t.measured.as_str(), t.met), ("1.50x", Some(true)));
        assert_eq!(ratio_target("x", None, Some(2.0), 1.5).met, None);
        let outcomes = [
            Outcome::Measured(vec![report::Measurement::value(2.0)]),
            Outcome::Skipped("skipped: no node".to_string()),
            Outcome::Measured(vec![report::Measurement::value(4.0)]),
        ];
        let names = ["a".to_string(), "b".to_string(), "c".to_string()];
        let md = table(&names, &outcomes, "u", 0, "a ÷ this", false, |x| format!("{x}")).markdown();
        assert!(md.contains("| b | skipped: no node |  |  |"), "{md}");
        assert!(md.contains("| c | 4 | 4–4 | 0.50x |"), "{md}");
    }
}
