//! Scenario `objects-js`: the objects pipe written in JavaScript, one script
//! (`bench/js/objects-pipe.js`) run by `sluicejs` (the QuickJS binding of sluicegate) and by Node's
//! web streams: N numbers from a pull source → a mapping `TransformStream` → a counting
//! `WritableStream`, `CountQueuingStrategy` with highWaterMark 16 on every stage. The script
//! prints items/s; each run is a child process (peak RSS and CPU time from the kernel, see
//! [`crate::proc`]), rounds alternate, medians.
//!
//! The sluicejs side runs in this benchmark binary (`child sluicejs-script <script> [args]`,
//! which calls [`sluicegate_js::script::run`], the whole of what the `sluicejs` binary does after
//! parsing its command line), so it is always built from the sources being measured.

use std::cell::RefCell;
use std::path::PathBuf;

use crate::proc::{run_measured, run_self_child, ChildRun};
use crate::report::{Contender, Measurement, RunResult};

/// The script both runtimes run.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/js/objects-pipe.js")
}

/// The contenders' labels, in order: sluicejs first (the reference of the ratios), then Node.
pub const NAMES: [&str; 2] = [
    "sluicejs (QuickJS binding of sluicegate)",
    "Node web streams (globals of node:stream/web)",
];

/// The CPU time (seconds, the whole child process: start-up, the script, all its threads) of
/// every run, per contender in [`NAMES`] order.
pub type CpuLog = RefCell<Vec<Vec<f64>>>;

fn measured(run: ChildRun, log: &CpuLog, row: usize) -> RunResult {
    let value = run.figure()?;
    if let Some(runs) = log.borrow_mut().get_mut(row) {
        runs.push(run.cpu.as_secs_f64());
    }
    Ok(Measurement {
        value,
        peak_rss_kib: Some(run.peak_rss_kib),
    })
}

/// The two contenders (labelled by [`NAMES`]), each moving `n` items per run and recording its
/// CPU time in `log`.
pub fn contenders(n: u64, log: &CpuLog) -> Vec<Contender<'_>> {
    *log.borrow_mut() = vec![Vec::new(); NAMES.len()];
    let path = script().display().to_string();
    let n = n.to_string();
    let (p1, n1) = (path.clone(), n.clone());
    vec![
        Contender::new(NAMES[0], move || {
            let run = run_self_child(["sluicejs-script", p1.as_str(), n1.as_str()])?;
            measured(run, log, 0)
        }),
        Contender::new(NAMES[1], move || match crate::node::version() {
            None => Err("skipped: `node` is not on PATH".to_string()),
            Some(_) => measured(run_measured("node", [path.as_str(), n.as_str()])?, log, 1),
        }),
    ]
}

/// `child sluicejs-script <script> [args...]`: runs a script as `sluicejs <script> [args...]`
/// does (its event loop until nothing is left; `sluice.args` holds the arguments). A non-zero
/// exit status is an error.
pub fn child(args: &[String]) -> Result<(), String> {
    let (path, rest) = args
        .split_first()
        .ok_or("usage: child sluicejs-script <script> [args...]")?;
    let status = sluicegate_js::script::run(&sluicegate_js::script::Options {
        path: PathBuf::from(path),
        args: rest.to_vec(),
        ..Default::default()
    });
    if status == 0 {
        Ok(())
    } else {
        Err(format!("the script exited with status {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_counts_its_items_under_sluicejs() {
        // In this process: the script ends with status 0 only if the sink saw every item and
        // the right sum.
        let path = script().display().to_string();
        assert!(child(&[path.clone(), "1000".to_string()]).is_ok());
        assert!(child(&[path, "many".to_string()]).is_err());
        assert!(child(&["/nonexistent/script.js".to_string()]).is_err());
    }
}
