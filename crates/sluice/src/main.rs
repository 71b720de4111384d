//! # sluice
//!
//! `pv`, `gzip`, `grep`, `head` and `sha256sum` as one streaming pipeline, with a live view of
//! every stage: the command-line face of [sluicegate].
//!
//! ```text
//! sluice SOURCE [STAGE…] SINK [--progress] [--stats json]
//! sluice gen:4GiB gzip sha256 null --progress
//! sluice access.log.gz gunzip grep:' 500 ' head:20 -
//! ```
//!
//! Every stage is a sluicegate `TransformStream`, every arrow a `pipe_through`, so memory stays
//! bounded by the stages' high-water marks (256 KiB each) whatever the size of the input, and a
//! slow stage holds the ones before it back instead of piling data up. `--progress` draws one
//! line per stage from the streams' own statistics (`sluicegate::stats`) and marks the stage the
//! others wait for.
//!
//! Exit status: 0 on success; 1 when the pipeline fails (a missing file, corrupt input, a
//! refused connection), with one line on standard error naming the stage; 2 for a command line
//! that does not parse; 141 (as a process killed by `SIGPIPE`) when standard output is closed
//! early, which ends the pipeline quietly.

#![warn(missing_docs)]

mod ends;
mod progress;
mod report;
mod spec;
mod stages;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use sluicegate::{io, PipeOptions};

const EXAMPLES: &str = "\
SOURCES: FILE, - (stdin), tcp:HOST:PORT, http://…, gen:SIZE (generated log-like text)
STAGES:  gzip[:LEVEL] gunzip zstd[:LEVEL] unzstd decode:ENCODING lines grep:PATTERN
         head:N (lines) head:Nc (bytes) sha256 throttle:RATE tee:PATH
SINKS:   FILE, - (stdout), tcp:HOST:PORT, null
SIZES:   4GiB, 100MB, 512K (K, M, G = 1024-based; KB, MB, GB = 1000-based); RATE as SIZE or SIZE/s

EXAMPLES:
  sluice gen:4GiB gzip sha256 null --progress
  sluice access.log.gz gunzip grep:' 500 ' head:20 -
  sluice http://localhost:8080/big.bin sha256 tee:copy.bin throttle:10MB/s null
  cat data | sluice - zstd out.zst --stats json";

/// `sluice SOURCE [STAGE…] SINK`: stream data from a source through stages into a sink.
#[derive(Parser, Debug)]
#[command(name = "sluice", version, about, after_help = EXAMPLES)]
struct Cli {
    /// The source, the stages in order, and the sink.
    #[arg(required = true, value_name = "SOURCE [STAGE]... SINK")]
    words: Vec<String>,

    /// Draw a live view on standard error: one line per stage with its throughput, queue fill,
    /// the share of time it was blocked and starved, and a marker on the bottleneck.
    #[arg(short, long)]
    progress: bool,

    /// Print the final figures of every stage when done (to standard output, or to standard
    /// error when the data goes to standard output).
    #[arg(long, value_name = "FORMAT")]
    stats: Option<StatsFormat>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum StatsFormat {
    /// One JSON object.
    Json,
}

/// 128 + SIGPIPE: what a shell reports for a process that wrote to a closed pipe.
const BROKEN_PIPE: u8 = 141;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (source, stages, sink) = match parse(&cli.words) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("sluice: {e}");
            eprintln!("Try 'sluice --help' for more information.");
            return ExitCode::from(2);
        }
    };
    sluicegate::stats::set_timing(true);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sluice: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(&cli, source, stages, sink))
}

/// A parsed command line: the source, each stage with the word it came from, the sink.
type Parsed = (spec::Source, Vec<(String, spec::Stage)>, spec::Sink);

fn parse(words: &[String]) -> Result<Parsed, spec::SpecError> {
    let (Some((first, rest)), true) = (words.split_first(), words.len() >= 2) else {
        return Err(spec::SpecError(
            "a pipeline needs at least a SOURCE and a SINK".into(),
        ));
    };
    let (last, middle) = rest.split_last().expect("two words at least");
    let source = spec::source(first)?;
    let stages = middle
        .iter()
        .map(|w| spec::stage(w).map(|s| (w.clone(), s)))
        .collect::<Result<Vec<_>, _>>()?;
    let sink = spec::sink(last)?;
    Ok((source, stages, sink))
}

async fn run(
    cli: &Cli,
    source: spec::Source,
    stages: Vec<(String, spec::Stage)>,
    sink: spec::Sink,
) -> ExitCode {
    let fail = |message: String| {
        eprintln!("sluice: {message}");
        ExitCode::FAILURE
    };
    let readable = match ends::open_source(&source).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut built = Vec::with_capacity(stages.len());
    for (_, stage) in &stages {
        match stages::build(stage).await {
            Ok(b) => built.push(b),
            Err(e) => return fail(e),
        }
    }
    let writable = match ends::open_sink(&sink).await {
        Ok(w) => w,
        Err(e) => return fail(e),
    };

    // Stages are named by the words that made them.
    let names = cli.words.clone();

    // The pipeline view follows the streams while they are alive: keep the source's handle
    // (the stages' are in `built`) until the figures are taken.
    let mut tail = readable.clone();
    for b in &built {
        tail = match tail.pipe_through(&b.transform, PipeOptions::default()) {
            Ok(next) => next,
            Err(e) => return fail(report::describe(&e)),
        };
    }
    let progress = cli
        .progress
        .then(|| progress::Progress::start(writable.clone(), names.clone()));
    let started = Instant::now();
    let result = tail.pipe_to(&writable, PipeOptions::default()).await;
    let elapsed = started.elapsed();
    if let Some(p) = progress {
        p.finish();
    }
    let stats = writable.pipeline_stats();
    drop(readable);
    if let Err(e) = result {
        if sink == spec::Sink::Stdout && io::is_broken_pipe(&e) {
            // Standard output was closed (`| head`): end quietly, as coreutils do.
            return ExitCode::from(BROKEN_PIPE);
        }
        let stage = report::culprit(&stats);
        let name = names.get(stage).map_or("?", String::as_str);
        return fail(format!("{name}: {}", report::describe(&e)));
    }

    // Digests of the sha256 stages, named like sha256sum's lines: what was hashed.
    let mut digests = Vec::new();
    for (i, b) in built.into_iter().enumerate() {
        if let Some(handle) = b.digest {
            let what = names[..=i].join(" | ");
            match handle.await {
                Ok(d) => digests.push((what, d.to_hex())),
                // Cut short downstream (a head): there is no digest of the whole input.
                Err(_) => eprintln!(
                    "sluice: {}: no digest: the stream was cut short downstream",
                    names[i + 1]
                ),
            }
        }
    }
    let mut out: Box<dyn Write> = if sink == spec::Sink::Stdout {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    let written = match cli.stats {
        Some(StatsFormat::Json) => writeln!(out, "{}", report::json(&names, &stats, elapsed, &digests)),
        None => digests
            .iter()
            .try_for_each(|(what, hex)| writeln!(out, "{hex}  {what}")),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(BROKEN_PIPE),
        Err(e) => fail(format!("write error: {}", report::io_message(&e))),
    }
}
