//! Differential tests against Node.js itself: random scenarios of a readable and a writable
//! (object mode) run on Node's own `node:stream` and on sluicegate-node, and the two event logs
//! must be equal line for line.
//!
//! Needs `node` on the `PATH` (any Node.js 18 or later), so it is behind the `node-differential`
//! feature and `.ci/run` runs it:
//!
//! ```sh
//! cargo test -p sluicegate-node --features node-differential --test differential
//! DIFF_CASES=20000 DIFF_SEED=7 cargo test --release -p sluicegate-node --features node-differential --test differential
//! DIFF_CASES=20000 DIFF_SEED=7 DIFF_ONLY=4287 cargo test ...   # one scenario, both logs in full
//! ```
//!
//! A scenario is a readable `R` (high-water mark `rhwm`) whose i-th `_read` call does
//! `reads[i]` (push `k` values at once, push them on `process.nextTick`, push the end at once or
//! on a tick, or nothing); a writable `W` (high-water mark `whwm`) whose j-th `_write` (or
//! `_writev`, if it has one) calls its callback at once, on a tick or with an error, as
//! `writes[j]` says, with or without a `_final` (done at once, on a tick, or failing); in half
//! the scenarios a `Transform` `T` between them (high-water mark `thwm`), whose k-th `_transform`
//! pushes one value, pushes it on a tick, pushes two, pushes nothing or fails, as
//! `transforms[k]` says, and whose `_flush` pushes a last value, waits a tick, fails or just
//! ends; and phases of operations from the top level (listen for `'data'` or `'readable'`,
//! pause, resume, read, push, end, cork, uncork, destroy any of them, pipe `R` to `W` or through
//! `T`, unpipe, write to `W` or `T`). After each phase everything runs until nothing is queued
//! (Node: until `setImmediate`). The log records every event of the streams (but `T`'s
//! `'data'` and `'readable'`, which would change its mode), every call into an implementor and
//! what `push`, `read` and `write` returned. `runner.js` is the Node.js side; this file
//! generates the scenarios, runs the Rust side and compares.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

// The files beside `runner.js`.
#[path = "differential/byte_mode.rs"]
mod byte_mode;
#[path = "differential/object_mode.rs"]
mod object_mode;
#[path = "differential/support.rs"]
mod support;

use support::Rng;

/// Runs every scenario on Node.js (one process) and returns each one's log.
fn run_on_node(scenarios: Vec<Value>) -> Vec<Vec<String>> {
    let runner = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential/runner.js");
    let mut child = Command::new("node")
        .arg(runner)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the differential tests need Node.js: `node` must be on the PATH");
    let count = scenarios.len();
    let input = Value::Array(scenarios).to_string();
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("node ran");
    writer.join().unwrap().expect("scenarios written to node");
    assert!(output.status.success(), "runner.js failed: {}", output.status);
    let logs: Vec<Vec<String>> = String::from_utf8(output.stdout)
        .expect("UTF-8 from node")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect();
    assert_eq!(logs.len(), count, "node printed one log per scenario");
    logs
}

/// The log without the events a stream emits after its own `'close'`: Node.js still emits
/// `'pause'` and `'resume'` then (a `pause()`/`resume()` on a destroyed stream), while
/// sluicegate-node drops a stream's listeners at `'close'` (its documented difference: listeners
/// often hold handles on other streams, and keeping them would keep whole pipelines alive).
fn after_close_dropped(log: Vec<String>) -> Vec<String> {
    let mut closed = [false; 4];
    log.into_iter()
        .filter(|line| {
            let Some(i) = ["R:", "W:", "T:", "V:"].iter().position(|p| line.starts_with(p)) else {
                return true;
            };
            let keep = !closed[i];
            closed[i] |= line.ends_with(":close");
            keep
        })
        .collect()
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `count` scenarios made by `make` on Node.js and on sluicegate-node (`ours`) and fails
/// with the first five that differ. `DIFF_ONLY=i` runs scenario `i` of the seed alone and prints
/// both logs whole.
fn compare<S>(make: impl Fn(&mut Rng) -> S, json: impl Fn(&S) -> Value, ours: impl Fn(&S) -> Vec<String>) {
    let cases = env_or("DIFF_CASES", 2000) as usize;
    let seed = env_or("DIFF_SEED", 1);
    let mut rng = Rng(seed);
    let mut scenarios: Vec<S> = (0..cases).map(|_| make(&mut rng)).collect();
    let only = std::env::var("DIFF_ONLY")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(i) = only {
        scenarios = vec![scenarios.swap_remove(i)];
    }
    let expected = run_on_node(scenarios.iter().map(&json).collect());
    if only.is_some() {
        eprintln!("scenario: {}", json(&scenarios[0]));
        eprintln!("node: {:#?}", expected[0]);
        eprintln!("ours: {:#?}", ours(&scenarios[0]));
    }
    let mut failures = Vec::new();
    for (i, (s, node)) in scenarios.iter().zip(&expected).enumerate() {
        let (mine, node) = (after_close_dropped(ours(s)), after_close_dropped(node.clone()));
        if mine != node {
            failures.push((i, s, mine, node));
        }
    }
    for (i, s, mine, node) in failures.iter().take(5) {
        let at = mine.iter().zip(node.iter()).take_while(|(a, b)| a == b).count();
        eprintln!("scenario {i} (seed {seed}): {}", json(s));
        eprintln!("  first difference at line {at}");
        let from = at.saturating_sub(6);
        eprintln!("  node:  {:?}", &node[from..node.len().min(at + 6)]);
        eprintln!("  ours:  {:?}", &mine[from..mine.len().min(at + 6)]);
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} scenarios differ from Node.js (seed {seed}; the first five above)",
        failures.len()
    );
}

#[test]
fn the_event_logs_of_random_scenarios_match_nodes() {
    compare(
        object_mode::scenario,
        object_mode::Scenario::to_json,
        object_mode::run,
    );
}

#[test]
fn the_event_logs_of_random_byte_mode_scenarios_match_nodes() {
    compare(
        byte_mode::bytes_scenario,
        byte_mode::BytesScenario::to_json,
        byte_mode::run_bytes,
    );
}
