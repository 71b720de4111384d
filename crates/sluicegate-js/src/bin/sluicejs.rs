//! `sluicejs`: runs a JavaScript file on the QuickJS binding of the sluicegate core, as a
//! command-line runtime does (see [`sluicegate_js::script`] for what it runs, how it ends and its
//! exit statuses).
//!
//! ```text
//! sluicejs script.js [ARGS]...          # a script, or a module if it imports/exports
//! sluicejs --module main.js             # force ES module (import, top-level await)
//! sluicejs --timeout-ms 5000 script.js  # stop (status 124) a run that outlasts 5 s
//! sluicejs --help | --version
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sluicegate_js::script::{self, Kind, Options};

/// Run a JavaScript file with the WHATWG streams of sluicegate (ReadableStream, WritableStream,
/// TransformStream, byte streams, …), timers, console, and `sluice` for files and stdio as
/// streams.
#[derive(Parser, Debug)]
#[command(
    name = "sluicejs",
    version,
    after_help = "Exit status: 0 when the event loop runs dry; 1 for an unreadable file, a syntax \
                  error, an uncaught exception or an unhandled promise rejection; 13 when a \
                  module's top-level await never settles; 124 when --timeout-ms passes; N for \
                  sluice.exit(N).\n\n\
                  In a script: sluice.open(path) and sluice.stdin are ReadableStreams of \
                  Uint8Array; sluice.create(path), sluice.stdout and sluice.stderr are \
                  WritableStreams; sluice.args holds ARGS."
)]
struct Cli {
    /// Treat the file as an ES module (default: .mjs files, and files with import/export or
    /// top-level await).
    #[arg(long, conflicts_with = "script")]
    module: bool,
    /// Treat the file as a classic script (default: .cjs files, and files without module syntax).
    #[arg(long)]
    script: bool,
    /// Stop the run after this many milliseconds of wall-clock time (exit status 124), whether
    /// it is waiting (an interval, a stream that never ends) or running JavaScript that never
    /// returns.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: Option<u64>,
    /// The JavaScript file to run.
    file: PathBuf,
    /// Arguments for the script (`sluice.args`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let kind = if cli.module {
        Kind::Module
    } else if cli.script {
        Kind::Script
    } else {
        Kind::Auto
    };
    let status = script::run(&Options {
        path: cli.file,
        kind,
        args: cli.args,
        timeout: cli.timeout_ms.map(Duration::from_millis),
    });
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}
