//! The `wpt` runner as a process, on bad input: each case is a message on stderr and status 2
//! (the status clap gives bad arguments), never a silent pass, a panic or a hang. The tests run
//! against a stand-in for `testharness.js` that has just what the runner uses; the real suite is
//! fetched by `scripts/fetch-wpt.sh` and never committed.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The harness functions the runner and a `test(...)` file use, reporting synchronously.
const HARNESS: &str = r#"
var __results = [], __completions = [];
function add_result_callback(f) { __results.push(f); }
function add_completion_callback(f) { __completions.push(f); }
function test(fn, name) {
  let status = 0, message = null;
  try { fn(); } catch (e) { status = 1; message = String(e); }
  const t = { name, status, message, phase: 4, phases: { HAS_RESULT: 3 } };
  __results.forEach((f) => f(t));
}
function promise_test() {}
function async_test() {}
function timeout() {}
function done() { __completions.forEach((f) => f([], { status: 0 })); }
"#;

/// A fresh folder with `harness.js` and `tests/` holding `files`.
struct Suite(PathBuf);

impl Suite {
    fn new(name: &str, files: &[(&str, &[u8])]) -> Suite {
        let dir = std::env::temp_dir().join(format!("wpt-runner-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tests")).unwrap();
        std::fs::write(dir.join("harness.js"), HARNESS).unwrap();
        for (file, contents) in files {
            let path = dir.join("tests").join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        Suite(dir)
    }

    fn path(&self, rel: &str) -> String {
        self.0.join(rel).to_str().unwrap().to_string()
    }

    fn run(&self, extra: &[&str]) -> Output {
        let mut args = vec![self.path("tests"), "--harness".into(), self.path("harness.js")];
        args.extend(extra.iter().map(|s| s.to_string()));
        wpt(&args)
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wpt(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wpt"))
        .args(args)
        .output()
        .expect("wpt runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
fn assert_bad_input(o: &Output, message: &str) {
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    assert!(
        stderr(o).contains(message),
        "wanted {message:?} in: {}",
        stderr(o)
    );
}

const PASSING: &[u8] = b"test(() => {}, 'passes');\n";
const FAILING: &[u8] = b"test(() => { throw new Error('no'); }, 'fails');\n";

#[test]
fn a_suite_that_runs_reports_its_counts_and_matches_its_expectations() {
    let suite = Suite::new("ok", &[("a.any.js", PASSING), ("b.any.js", FAILING)]);
    std::fs::write(
        suite.0.join("expected.txt"),
        "# known\nb.any.js | fails | it throws\n",
    )
    .unwrap();
    let out = suite.run(&["--expectations", &suite.path("expected.txt")]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("0 differences from "), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 passed, 1 failed"), "{}", stdout(&out));
}

#[test]
fn a_folder_that_is_missing_or_holds_no_tests_is_bad_input() {
    let suite = Suite::new("empty", &[("notes.txt", b"not a test")]);
    let missing = [
        suite.path("nowhere"),
        "--harness".into(),
        suite.path("harness.js"),
    ];
    assert_bad_input(&wpt(&missing), "is not a directory");
    assert_bad_input(&suite.run(&[]), "no .any.js files under");
    let suite = Suite::new("filtered", &[("a.any.js", PASSING)]);
    assert_bad_input(&suite.run(&["--filter", "piping/"]), "matches --filter");
}

#[test]
fn a_missing_harness_is_bad_input() {
    let suite = Suite::new("no-harness", &[("a.any.js", PASSING)]);
    let args = [suite.path("tests"), "--harness".into(), suite.path("missing.js")];
    assert_bad_input(&wpt(&args), "cannot read");
}

#[test]
fn a_malformed_or_unreadable_expectations_file_is_refused_before_any_test_runs() {
    let suite = Suite::new("bad-expectations", &[("a.any.js", PASSING)]);
    for (contents, message) in [
        ("a.any.js passes\n", "line 1: not `file | subtest | reason`"),
        (
            "# ok\na.any.js | passes\n",
            "line 2: not `file | subtest | reason`",
        ),
        (
            "a.any.js |  | reason\n",
            "line 1: an empty file, subtest or reason",
        ),
        ("a.any.js | x | r\na.any.js | x | again\n", "line 2: listed twice"),
    ] {
        std::fs::write(suite.0.join("expected.txt"), contents).unwrap();
        let out = suite.run(&["--expectations", &suite.path("expected.txt")]);
        assert_bad_input(&out, message);
        assert_eq!(stdout(&out), "", "nothing ran");
    }
    let out = suite.run(&["--expectations", &suite.path("missing.txt")]);
    assert_bad_input(&out, "cannot read it");
}

#[test]
fn an_unreadable_test_file_fails_the_run_and_the_others_still_run() {
    let suite = Suite::new(
        "unreadable",
        &[
            ("a.any.js", PASSING),
            ("z/latin1.any.js", b"test(() => {}, 'caf\xe9');\n"),
        ],
    );
    let out = suite.run(&[]);
    assert_bad_input(&out, "cannot read z/latin1.any.js");
    assert!(
        stdout(&out).contains("a.any.js: 1 passed, 0 failed"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("1 passed, 1 failed"), "{}", stdout(&out));
}

#[test]
fn a_timeout_of_zero_or_a_word_is_a_usage_error() {
    let suite = Suite::new("bad-timeout", &[("a.any.js", PASSING)]);
    for bad in ["--timeout-ms=0", "--timeout-ms=soon"] {
        let out = suite.run(&[bad]);
        assert_bad_input(&out, "--timeout-ms");
    }
}
