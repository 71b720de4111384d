//! Differential tests of the binding against the Streams Standard's reference implementation:
//! random scenarios (`web_differential/scenarios.js`) run unchanged on `sluicejs` and, under
//! Node.js, on the reference implementation as the web-streams-polyfill package ports it, and
//! the two event logs must be equal line for line.
//!
//! A log records every call into an underlying source, sink or transformer (with `desiredSize`
//! as that code sees it), what every operation returns or throws, and every promise settlement,
//! in the order they happen, so it pins the binding (and the core under it) tick for tick. WPT
//! checks chosen sequences; these check random ones: operations from the top level in phases
//! separated by a drawn number of microtask turns, sources, sinks and transformers that settle
//! at once, after some turns, reject or throw.
//!
//! Needs `node` and the polyfill, so it is behind the `web-differential` feature, and
//! `scripts/web-diff.sh` (which `.ci/run` runs) installs the polyfill from the lockfile beside
//! the scenarios and runs it:
//!
//! ```sh
//! scripts/web-diff.sh
//! WEB_DIFF_CASES=100000 WEB_DIFF_SEED=7 scripts/web-diff.sh
//! WEB_DIFF_KINDS=transform scripts/web-diff.sh          # another kind of scenario
//! ```
//!
//! `WEB_DIFF_KINDS` (default `readable,from,bytes,writable,transform`) picks the kinds of
//! scenario compared: readable streams (`readable`: readers, tee, controllers), streams from
//! `ReadableStream.from` over arrays, generators and async iterables (`from`), byte streams
//! (`bytes`: default and BYOB readers, `byobRequest`, tee), writable streams (`writable`),
//! transform streams driven by hand (`transform`) and async iteration (`iteration`, not yet in
//! the default set: RELIABILITY.md says why). A scenario in which the reference implementation
//! fails (it performs an algorithm the standard had already cleared) or takes a step the
//! standard does not, where the script can tell, is left out and counted (`scenarios.js`,
//! `referenceFailed`).

#![cfg(feature = "web-differential")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn scenarios_js() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web_differential/scenarios.js")
}

/// What one runtime printed for one seed.
struct Outcome {
    /// `None` for a seed whose scenario is of a kind not asked for.
    log: Option<Vec<String>>,
    /// The reference implementation failed, or left the standard in a way `scenarios.js` notes
    /// (`referenceFailed`): the scenario is left out of the comparison.
    reference_failed: bool,
}

/// Each scenario's outcome, by seed.
fn logs(program: &mut Command, what: &str) -> BTreeMap<u64, Outcome> {
    let output = program
        .output()
        .unwrap_or_else(|e| panic!("could not run {what}: {e}"));
    if !output.status.success() {
        // The end of what it printed (a minified library's lines are long).
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .chars()
            .rev()
            .take(3000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        panic!("{what} failed ({}): …{tail}", output.status);
    }
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    stdout
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("{what} printed a line that is not a scenario's log ({e}): {line}")
            });
            let seed = v["seed"].as_u64().expect("a seed");
            let log = v.get("log").map(|log| {
                log.as_array()
                    .expect("a log is an array")
                    .iter()
                    .map(|l| l.as_str().expect("a log line").to_string())
                    .collect()
            });
            let reference_failed = v.get("referenceFailed").is_some_and(|f| f == true);
            (
                seed,
                Outcome {
                    log,
                    reference_failed,
                },
            )
        })
        .collect()
}

#[test]
fn the_event_logs_of_random_scenarios_match_the_reference_implementation() {
    let first = env_or("WEB_DIFF_SEED", "1");
    let count = env_or("WEB_DIFF_CASES", "5000");
    let kinds = env_or("WEB_DIFF_KINDS", "readable,from,bytes,writable,transform");
    let polyfill = std::env::var("WEB_STREAMS_POLYFILL").expect(
        "WEB_STREAMS_POLYFILL must name the web-streams-polyfill package's folder (scripts/web-diff.sh installs it)",
    );
    let script = scenarios_js();
    let reference = logs(
        Command::new("node")
            .arg(&script)
            .args([&first, &count, &kinds])
            .arg(&polyfill),
        "node (the reference implementation)",
    );
    let ours = logs(
        Command::new(env!("CARGO_BIN_EXE_sluicejs"))
            .arg(&script)
            .args([&first, &count, &kinds]),
        "sluicejs",
    );
    let expected: usize = count.parse().expect("WEB_DIFF_CASES is a number");
    assert_eq!(reference.len(), expected, "node printed one line per seed");
    assert_eq!(ours.len(), expected, "sluicejs printed one line per seed");

    let (mut compared, mut left_out) = (0, 0);
    let mut failures = Vec::new();
    for (seed, want) in &reference {
        let got = &ours[seed].log;
        if want.reference_failed {
            left_out += 1;
            continue;
        }
        if want.log.is_some() {
            compared += 1;
        }
        if &want.log != got {
            failures.push((
                seed,
                want.log.clone().unwrap_or_default(),
                got.clone().unwrap_or_default(),
            ));
        }
    }
    for (seed, want, got) in failures.iter().take(5) {
        let at = want.iter().zip(got).take_while(|(a, b)| a == b).count();
        let from = at.saturating_sub(8);
        eprintln!("seed {seed}: first difference at line {at}");
        eprintln!("  reference: {:#?}", &want[from..want.len().min(at + 4)]);
        eprintln!("  sluicejs:  {:#?}", &got[from..got.len().min(at + 4)]);
    }
    eprintln!(
        "{compared} scenarios ({kinds}) compared, {} differ; {left_out} left out (where the reference implementation fails or leaves the standard: `referenceFailed` in scenarios.js)",
        failures.len()
    );
    assert!(compared > 0, "no scenario of the kinds {kinds} among the seeds");
    assert!(
        failures.is_empty(),
        "{} of {compared} scenarios differ from the reference implementation (seeds from {first}; the first five above; \
         one seed alone: `sluicejs {} SEED 1 {kinds}`)",
        failures.len(),
        script.display()
    );
}
