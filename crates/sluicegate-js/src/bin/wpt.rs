//! Runs the Web Platform Tests' `.any.js` files of a directory (the WPT `streams/` folder) on the
//! QuickJS binding, with the unmodified `testharness.js`, and prints per-file and per-area pass
//! and fail counts, then a last line `N passed, N failed`.
//!
//! ```text
//! cargo run --release -p sluicegate-js --bin wpt -- <wpt>/streams \
//!     --harness <wpt>/resources/testharness.js \
//!     [--expectations crates/sluicegate-js/wpt-expectations.txt] [--filter piping/]
//! ```
//!
//! Each file runs in a fresh runtime: `META: script=` helpers (relative to the file, or to the WPT
//! root, the parent of the streams folder, when they start with `/`), then the file, then
//! `done()` (as WPT's worker wrapper does). The event loop's virtual clock makes timers instant.
//! When nothing is runnable but the harness has not completed, the subtests still running are
//! timed out one by one (a hung `promise_test` cannot block the ones after it); a wall-clock
//! limit per subtest (`--timeout-ms`, default 5000) bounds one that keeps queueing work.
//!
//! With `--expectations <file>` (lines `file.any.js | subtest name | reason`, `#` comments), the
//! run exits with status 1 on any difference: a failure not listed, or a listed failure that now
//! passes or did not run.
//!
//! Bad input exits with status 2 and a message: a folder that is not one or holds no test file (or
//! none matching `--filter`), an unreadable harness, an unreadable or malformed expectations file
//! (checked before any test runs), and test files or folders that cannot be read (each counted as
//! a failure of its file, and the run still reports the rest).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use rquickjs::{Function, Value};
use sluicegate_js::env::timers::run_event_loop;
use sluicegate_js::Runtime;

#[derive(Parser, Debug)]
#[command(about = "Run WPT .any.js files on the sluicegate QuickJS binding")]
struct Args {
    /// The directory of test files (WPT's `streams/`, `compression/` or `encoding/streams/`).
    dir: PathBuf,
    /// WPT's `resources/testharness.js`.
    #[arg(long)]
    harness: PathBuf,
    /// The WPT root, for `/resources/...` helpers and `fetch('/interfaces/...')` (default: the
    /// nearest ancestor of `dir` with `resources/testharness.js`, else the parent of `dir`).
    #[arg(long)]
    wpt_root: Option<PathBuf>,
    /// An expectations file: exit non-zero on any difference from it.
    #[arg(long)]
    expectations: Option<PathBuf>,
    /// Only run files whose path (relative to `dir`) contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Wall-clock limit, in milliseconds, for one subtest that keeps the loop busy.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// Print every subtest, not only failures.
    #[arg(long)]
    verbose: bool,
}

/// One subtest's outcome.
struct Outcome {
    name: String,
    passed: bool,
    status: String,
    message: String,
}

const STATUS: [&str; 5] = ["PASS", "FAIL", "TIMEOUT", "NOTRUN", "PRECONDITION_FAILED"];

/// Installed after `testharness.js`: records results and completion in globals.
const REPORTER: &str = r#"
globalThis.__wptResults = [];
globalThis.__wptDone = false;
// The harness keeps its test list private: remember the tests that start, so the runner can time
// out the ones still running when nothing else can run.
globalThis.__wptRunning = new Set();
{
  const wrap = (original) => function (func, name, properties) {
    if (typeof func !== 'function') return original.apply(this, arguments);
    const wrapped = function (t) { __wptRunning.add(t); return func.apply(this, arguments); };
    Object.defineProperty(wrapped, 'name', { value: func.name });
    return original.call(this, wrapped, name, properties);
  };
  globalThis.promise_test = wrap(promise_test);
  const asyncTest = async_test;
  globalThis.async_test = function () {
    const t = asyncTest.apply(this, arguments);
    if (t) __wptRunning.add(t);
    return t;
  };
}
add_result_callback((t) => {
  __wptRunning.delete(t); __wptResults.push([String(t.name), t.status, t.message == null ? '' : String(t.message)]); });
add_completion_callback((tests, status) => {
  __wptDone = true;
  if (status.status !== 0) {
    __wptResults.push(['(harness status)', 1, ['OK', 'ERROR', 'TIMEOUT', 'PRECONDITION_FAILED'][status.status] + ': ' + String(status.message)]);
  }
});
"#;

/// Times out the subtests still running; returns how many there were. When none is running, times
/// out the harness itself so the remaining ones are reported as not run.
const TIME_OUT_RUNNING: &str = r#"(() => {
  let n = 0;
  for (const t of [...__wptRunning]) {
    if (t.phase < t.phases.HAS_RESULT) { t.timeout(); n++; }
  }
  if (n === 0) timeout();
  return n;
})()"#;

/// The status for bad input (an unreadable or malformed file, a folder with no tests), as clap
/// uses for bad arguments.
const BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.dir.is_dir() {
        eprintln!("wpt: {} is not a directory of test files", args.dir.display());
        return ExitCode::from(BAD_INPUT);
    }
    // Read first, so that a bad expectations file is reported before minutes of tests.
    let expected = match &args.expectations {
        None => None,
        Some(path) => match read_expectations(path) {
            Ok(expected) => Some(expected),
            Err(e) => {
                eprintln!("wpt: {}: {e}", path.display());
                return ExitCode::from(BAD_INPUT);
            }
        },
    };
    let root = args
        .wpt_root
        .clone()
        .or_else(|| {
            args.dir
                .ancestors()
                .skip(1)
                .find(|a| a.join("resources/testharness.js").is_file())
                .map(Path::to_path_buf)
        })
        .or_else(|| args.dir.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let harness = match std::fs::read_to_string(&args.harness) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("wpt: cannot read {}: {e}", args.harness.display());
            return ExitCode::from(BAD_INPUT);
        }
    };
    let mut files = Vec::new();
    let mut unreadable = 0usize;
    collect(&args.dir, &mut files, &mut unreadable);
    files.sort();
    let selected = files
        .iter()
        .filter(|f| {
            let rel = f
                .strip_prefix(&args.dir)
                .unwrap_or(f)
                .to_string_lossy()
                .replace('\\', "/");
            args.filter
                .as_ref()
                .is_none_or(|filter| rel.contains(filter.as_str()))
        })
        .count();
    if selected == 0 {
        match &args.filter {
            Some(filter) => eprintln!(
                "wpt: no .any.js file under {} matches --filter {filter:?}",
                args.dir.display()
            ),
            None => eprintln!("wpt: no .any.js files under {}", args.dir.display()),
        }
        return ExitCode::from(BAD_INPUT);
    }

    let mut total = (0usize, 0usize);
    let mut areas: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures: BTreeSet<(String, String)> = BTreeSet::new();
    let mut passes: BTreeSet<(String, String)> = BTreeSet::new();
    for file in files {
        let rel = file
            .strip_prefix(&args.dir)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        if args.filter.as_ref().is_some_and(|f| !rel.contains(f.as_str())) {
            continue;
        }
        let source = match std::fs::read_to_string(&file) {
            Ok(s) => s,
            Err(e) => {
                // Counted as a failure of the file, and the run's status says so.
                eprintln!("wpt: cannot read {rel}: {e}");
                unreadable += 1;
                println!("{rel}: cannot be read: {e}");
                failures.insert((rel.clone(), "(file)".to_string()));
                total.1 += 1;
                continue;
            }
        };
        if !runs_in_a_worker_like_global(&source) {
            continue;
        }
        let outcomes = run_file(&file, &source, &harness, &root, &args);
        let area = rel
            .split('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".any.js")
            .to_string();
        let passed = outcomes.iter().filter(|o| o.passed).count();
        let failed = outcomes.len() - passed;
        println!("{rel}: {passed} passed, {failed} failed");
        for o in &outcomes {
            if !o.passed || args.verbose {
                println!(
                    "  {} {} | {}",
                    o.status,
                    o.name,
                    o.message.lines().next().unwrap_or("")
                );
            }
            let key = (rel.clone(), o.name.clone());
            if o.passed {
                passes.insert(key);
            } else {
                failures.insert(key);
            }
        }
        let entry = areas.entry(area).or_default();
        entry.0 += passed;
        entry.1 += failed;
        total.0 += passed;
        total.1 += failed;
    }
    println!();
    for (area, (p, f)) in &areas {
        let pct = if p + f == 0 {
            0.0
        } else {
            100.0 * *p as f64 / (p + f) as f64
        };
        println!("area {area}: {p} passed, {f} failed ({pct:.1}%)");
    }
    let mut status = ExitCode::SUCCESS;
    if let (Some(path), Some(expected)) = (&args.expectations, expected) {
        let mut differences = 0;
        for key in failures.difference(&expected) {
            println!("unexpected failure: {} | {}", key.0, key.1);
            differences += 1;
        }
        for key in expected.difference(&failures) {
            let filtered_out = args.filter.as_ref().is_some_and(|f| !key.0.contains(f.as_str()));
            if filtered_out {
                continue;
            }
            if passes.contains(key) {
                println!("unexpected pass: {} | {}", key.0, key.1);
            } else {
                println!("expected failure did not run: {} | {}", key.0, key.1);
            }
            differences += 1;
        }
        println!("{differences} differences from {}", path.display());
        if differences > 0 {
            status = ExitCode::FAILURE;
        }
    }
    println!("{} passed, {} failed", total.0, total.1);
    if unreadable > 0 {
        eprintln!("wpt: {unreadable} test files or folders could not be read (see above)");
        return ExitCode::from(BAD_INPUT);
    }
    status
}

/// Every `*.any.js` file under `dir`; a folder that cannot be listed is reported and counted in
/// `unreadable`.
fn collect(dir: &Path, out: &mut Vec<PathBuf>, unreadable: &mut usize) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("wpt: cannot list {}: {e}", dir.display());
            *unreadable += 1;
            return;
        }
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                eprintln!("wpt: cannot list {}: {e}", dir.display());
                *unreadable += 1;
                continue;
            }
        };
        if path.is_dir() {
            collect(&path, out, unreadable);
        } else if path.to_string_lossy().ends_with(".any.js") {
            out.push(path);
        }
    }
}

/// The values of the file's `// META: key=value` lines for `key`.
fn meta<'a>(source: &'a str, key: &str) -> Vec<&'a str> {
    source
        .lines()
        .take_while(|l| l.starts_with("//") || l.trim().is_empty())
        .filter_map(|l| l.strip_prefix("//")?.trim().strip_prefix("META:"))
        .filter_map(|m| m.trim().strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
        .collect()
}

/// Whether the file runs in a window, a worker or a shell (the default for `.any.js`).
fn runs_in_a_worker_like_global(source: &str) -> bool {
    let globals = meta(source, "global");
    globals.is_empty()
        || globals.iter().flat_map(|g| g.split(',')).any(|g| {
            matches!(
                g.trim(),
                "window" | "worker" | "dedicatedworker" | "jsshell" | "shadowrealm"
            )
        })
}

/// Reads `rel` (a URL path) under `root`, refusing paths that leave it.
fn read_under(root: &Path, base: &Path, rel: &str) -> Result<String, String> {
    let path = match rel.strip_prefix('/') {
        Some(abs) => root.join(abs),
        None => base.join(rel),
    };
    let canonical = path
        .canonicalize()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let root = root.canonicalize().map_err(|e| e.to_string())?;
    if !canonical.starts_with(&root) {
        return Err(format!("{rel} is outside the WPT root"));
    }
    std::fs::read_to_string(&canonical).map_err(|e| format!("{rel}: {e}"))
}

/// Installs `fetch(url)` for files under the WPT root (idlharness fetches `/interfaces/*.idl`).
fn install_fetch(rt: &Runtime, root: &Path, base: &Path) -> Result<(), String> {
    let root = root.to_path_buf();
    let base = base.to_path_buf();
    rt.with(|ctx| -> rquickjs::Result<()> {
        let read = Function::new(ctx.clone(), move |url: String| -> Option<String> {
            read_under(&root, &base, &url).ok()
        })?;
        let make: Function = ctx.eval(
            r#"(read) => function fetch(url) {
                const text = read(String(url));
                if (text === undefined) return Promise.reject(new TypeError('fetch failed: ' + url));
                return Promise.resolve({ ok: true, status: 200, url: String(url),
                                         text: () => Promise.resolve(text) });
            }"#,
        )?;
        let fetch: Value = make.call((read,))?;
        ctx.globals().set("fetch", fetch)
    })
    .map_err(|e| e.to_string())
}

fn run_file(file: &Path, source: &str, harness: &str, root: &Path, args: &Args) -> Vec<Outcome> {
    let fail = |message: String| {
        vec![Outcome {
            name: "(file)".to_string(),
            passed: false,
            status: "ERROR".to_string(),
            message,
        }]
    };
    let rt = match Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(e.0),
    };
    let base = file.parent().unwrap_or(Path::new("."));
    if let Err(e) = install_fetch(&rt, root, base) {
        return fail(e);
    }
    if let Err(e) = rt.eval(harness).and_then(|_| rt.eval(REPORTER)) {
        return fail(format!("testharness.js: {e}"));
    }
    for script in meta(source, "script") {
        let text = match read_under(root, base, script) {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
        if let Err(e) = rt.eval(&text) {
            return fail(format!("{script}: {e}"));
        }
    }
    // A top-level exception is reported by the harness (its error handler), as in a browser;
    // without one, record it here.
    let top_level = rt.eval(source).err();
    let _ = rt.eval("done()");
    let limit = Duration::from_millis(args.timeout_ms);
    let mut timeouts = 0;
    loop {
        match run_event_loop(&rt, Some(Instant::now() + limit)) {
            Ok(_) => {}
            Err(e) => return fail(e.0),
        }
        let done = rt.with(|ctx| ctx.eval::<bool, _>("__wptDone").unwrap_or(true));
        if done {
            break;
        }
        timeouts += 1;
        if timeouts > 10_000 {
            break;
        }
        let _ = rt.with(|ctx| ctx.eval::<i32, _>(TIME_OUT_RUNNING));
    }
    let results: Vec<(String, i32, String)> = rt.with(|ctx| {
        let names: Vec<String> = ctx.eval("__wptResults.map((r) => r[0])").unwrap_or_default();
        let statuses: Vec<i32> = ctx.eval("__wptResults.map((r) => r[1])").unwrap_or_default();
        let messages: Vec<String> = ctx.eval("__wptResults.map((r) => r[2])").unwrap_or_default();
        names
            .into_iter()
            .zip(statuses)
            .zip(messages)
            .map(|((n, s), m)| (n, s, m))
            .collect()
    });
    let mut outcomes: Vec<Outcome> = results
        .into_iter()
        .map(|(name, status, message)| Outcome {
            name,
            passed: status == 0,
            status: STATUS.get(status as usize).unwrap_or(&"?").to_string(),
            message,
        })
        .collect();
    if let Some(e) = top_level {
        if outcomes.is_empty() {
            outcomes.push(Outcome {
                name: "(file)".to_string(),
                passed: false,
                status: "ERROR".to_string(),
                message: e.0,
            });
        }
    }
    outcomes
}

/// The `(file, subtest)` pairs of an expectations file; an error names a line that is not
/// `file | subtest | reason` (each part non-empty) or that repeats an earlier one.
fn read_expectations(path: &Path) -> Result<BTreeSet<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut expected = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, " | ").map(str::trim).collect();
        let [file, name, reason] = parts[..] else {
            return Err(format!("line {}: not `file | subtest | reason`: {line}", i + 1));
        };
        if file.is_empty() || name.is_empty() || reason.is_empty() {
            return Err(format!(
                "line {}: an empty file, subtest or reason: {line}",
                i + 1
            ));
        }
        if !expected.insert((file.to_string(), name.to_string())) {
            return Err(format!("line {}: listed twice: {file} | {name}", i + 1));
        }
    }
    Ok(expected)
}
