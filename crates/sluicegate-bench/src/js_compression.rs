//! `CompressionStream` in `sluicejs` (the QuickJS binding of sluicegate) beside Node's, on the
//! same script: `bench/js/compression-stream.js` gzips 64 MiB of generated log text in 64 KiB
//! chunks through `pipeThrough(new CompressionStream('gzip'))` into a counting `WritableStream`
//! and prints MB/s of input. Each run is a child process (peak RSS from the kernel), rounds
//! alternate, medians. Part of the `transforms` scenario.
//!
//! The sluicejs side runs in this benchmark binary (`child sluicejs <script>`, the same runtime
//! the `sluicejs` binary starts), so it is always built from the sources being measured.

use std::path::PathBuf;

use crate::proc::{run_measured, run_self_child, ChildRun};
use crate::report::{rss_cell, run_rounds, Contender, Measurement, Outcome, RunResult, Table};

/// The script both runtimes run.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/js/compression-stream.js")
}

fn measured(run: ChildRun) -> RunResult {
    Ok(Measurement {
        value: run.figure()?,
        peak_rss_kib: Some(run.peak_rss_kib),
    })
}

/// `child sluicejs <script>`: runs a script on the sluicegate QuickJS runtime as `sluicejs`
/// does (the script, then its jobs and timers until none are left). An uncaught error fails.
pub fn child(path: &str) -> Result<(), String> {
    use sluicegate_js::env::timers::{run_event_loop, take_reported_errors};

    let source = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let rt = sluicegate_js::Runtime::new().map_err(|e| e.to_string())?;
    rt.eval(&source).map_err(|e| format!("uncaught {e}"))?;
    let (_, errors) = run_event_loop(&rt, None).map_err(|e| e.to_string())?;
    let reported = rt.with(|ctx| take_reported_errors(&ctx));
    match errors.first() {
        Some(e) => Err(format!("uncaught (in job) {e}")),
        None => match reported.first() {
            Some(e) => Err(format!("uncaught {e}")),
            None => Ok(()),
        },
    }
}

/// Runs the comparison and returns its Markdown table.
pub fn run(rounds: usize) -> String {
    let path = script();
    let shown = path.display().to_string();
    let mut contenders = vec![
        Contender::new("Node CompressionStream('gzip')", || {
            match crate::node::version() {
                None => Err("skipped: `node` is not on PATH".to_string()),
                Some(_) => measured(run_measured("node", [&shown])?),
            }
        }),
        Contender::new(
            "sluicejs CompressionStream('gzip') (sluicegate-transforms, flate2 zlib-rs)",
            || measured(run_self_child(["sluicejs", shown.as_str()])?),
        ),
    ];
    let outcomes = run_rounds("transforms js", &mut contenders, rounds);
    let node = outcomes[0].stats().map(|s| s.median);
    let mut table = Table::new(["contender", "MB/s median (min–max)", "peak RSS", "÷ Node"]);
    for (c, o) in contenders.iter().zip(&outcomes) {
        match o {
            Outcome::Skipped(why) => table.row([c.name.clone(), why.clone(), String::new(), String::new()]),
            Outcome::Measured(_) => {
                let s = o.stats().expect("measured");
                table.row([
                    c.name.clone(),
                    format!("{:.1} ({:.1}–{:.1})", s.median, s.min, s.max),
                    rss_cell(o.rss_stats()),
                    node.map_or(String::new(), |n| crate::report::ratio(s.median / n)),
                ]);
            }
        }
    }
    format!(
        "CompressionStream, one script in both runtimes (`bench/js/compression-stream.js`: 64 MiB of log text, 64 KiB chunks), \
         median of {rounds} alternating rounds\n\n{}",
        table.markdown()
    )
}
