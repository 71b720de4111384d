//! `sluicejs script.js`: runs a script on the QuickJS binding (the sluicegate core's streams, the
//! host globals, `console.log`), then its jobs and timers until nothing is left. Exits with status
//! 1 if the script or any callback threw.
//!
//! ```text
//! cargo run -p sluicegate-js --bin sluicejs -- script.js
//! ```

use std::process::ExitCode;

use sluicegate_js::env::timers::{run_event_loop, take_reported_errors};
use sluicegate_js::Runtime;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: sluicejs <script.js>");
        return ExitCode::from(2);
    };
    let source = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    if let Err(e) = rt.eval(&source) {
        eprintln!("Uncaught {e}");
        failed = true;
    }
    match run_event_loop(&rt, None) {
        Ok((_, errors)) => {
            for e in errors {
                eprintln!("Uncaught (in job) {e}");
                failed = true;
            }
        }
        Err(e) => {
            eprintln!("{e}");
            failed = true;
        }
    }
    for e in rt.with(|ctx| take_reported_errors(&ctx)) {
        eprintln!("Uncaught {e}");
        failed = true;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
