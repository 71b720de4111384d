//! `sluicejs` as a process: the tour, the command line, exit statuses and messages for bad input,
//! uncaught errors and rejections, stack traces, console output, ES modules, and files and stdio as
//! streams.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fresh directory for one test's scripts, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("sluicejs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir.canonicalize().unwrap())
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sluicejs(args: &[&str], stdin: Option<&[u8]>, cwd: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluicejs"))
        .args(args)
        .current_dir(cwd)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        // Written from a thread: the child may fill its stdout pipe before reading all of stdin.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    child.wait_with_output().unwrap()
}

/// Runs `source` saved as `name` in a fresh directory.
fn run_script(name: &str, source: &str) -> (Output, Dir) {
    let dir = Dir::new(name.trim_end_matches(".js").trim_end_matches(".mjs"));
    let path = dir.write(name, source);
    let out = sluicejs(&[path.to_str().unwrap()], None, &dir.0);
    (out, dir)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn assert_status(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn the_tour_runs_and_prints_what_each_stream_did() {
    let tour = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tour.js");
    let out = sluicejs(&[tour], None, Path::new(env!("CARGO_MANIFEST_DIR")));
    assert_status(&out, 0);
    assert_eq!(
        stdout(&out),
        "piped: ALPHA BETA GAMMA\nbyob reads: 1,2,3,4 | 5,6,7,8\ntee sum: 12\npipe stopped: enough\n"
    );
}

#[test]
fn help_and_version_answer_and_exit_zero() {
    let dir = Dir::new("help");
    let out = sluicejs(&["--help"], None, &dir.0);
    assert_status(&out, 0);
    let help = stdout(&out);
    for expected in [
        "Usage: sluicejs [OPTIONS] <FILE> [ARGS]...",
        "--module",
        "--script",
        "Exit status",
        "sluice.open",
    ] {
        assert!(help.contains(expected), "missing {expected:?} in:\n{help}");
    }
    let out = sluicejs(&["--version"], None, &dir.0);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), format!("sluicejs {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn no_script_or_an_unknown_flag_is_a_usage_error() {
    let dir = Dir::new("usage");
    let out = sluicejs(&[], None, &dir.0);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("Usage: sluicejs"), "{}", stderr(&out));
    let out = sluicejs(&["--frobnicate", "x.js"], None, &dir.0);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("--frobnicate"), "{}", stderr(&out));
}

#[test]
fn a_missing_script_is_one_line_and_status_one() {
    let dir = Dir::new("missing");
    let out = sluicejs(&["nowhere.js"], None, &dir.0);
    assert_status(&out, 1);
    assert_eq!(
        stderr(&out),
        "sluicejs: cannot read 'nowhere.js': No such file or directory (os error 2)\n"
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    let (out, dir) = run_script("syntax.js", "console.log('never');\nlet y = ;\n");
    assert_status(&out, 1);
    let err = stderr(&out);
    assert!(err.starts_with("Uncaught SyntaxError: "), "{err}");
    assert!(
        err.contains(&format!("{}:2:", dir.path("syntax.js").display())),
        "{err}"
    );
    assert_eq!(stdout(&out), "", "nothing ran");
}

#[test]
fn a_thrown_error_prints_its_stack_with_the_real_file_and_lines() {
    let source = "console.log('before');\nfunction inner() {\n  throw new Error('boom');\n}\ninner();\nconsole.log('after');\n";
    let (out, dir) = run_script("throws.js", source);
    assert_status(&out, 1);
    assert_eq!(stdout(&out), "before\n");
    let file = dir.path("throws.js").display().to_string();
    let err = stderr(&out);
    assert!(err.starts_with("Uncaught Error: boom\n"), "{err}");
    assert!(err.contains(&format!("at inner ({file}:3:")), "{err}");
    assert!(err.contains(&format!("({file}:5:")), "the caller's line: {err}");
}

#[test]
fn a_thrown_non_error_is_shown_as_a_value() {
    let (out, _dir) = run_script("value.js", "throw { code: 42 };");
    assert_status(&out, 1);
    assert_eq!(stderr(&out), "Uncaught { code: 42 }\n");
}

#[test]
fn an_error_in_a_timer_is_reported_when_it_happens_and_ends_the_process() {
    let source = "console.log('start');\n\
                  setTimeout(() => { console.log('in timer'); null.x; }, 20);\n\
                  setTimeout(() => console.log('later timer'), 200);\n";
    let (out, dir) = run_script("timer.js", source);
    assert_status(&out, 1);
    assert_eq!(stdout(&out), "start\nin timer\n", "the later timer never runs");
    let err = stderr(&out);
    assert!(err.starts_with("Uncaught TypeError: "), "{err}");
    assert!(
        err.contains(&format!("{}:2:", dir.path("timer.js").display())),
        "{err}"
    );
}

#[test]
fn an_error_in_a_microtask_stops_before_the_next_job() {
    let source = "queueMicrotask(() => { throw new RangeError('in a microtask'); });\n\
                  queueMicrotask(() => console.log('next microtask'));\n\
                  Promise.resolve().then(() => console.log('next reaction'));\n";
    let (out, _dir) = run_script("micro.js", source);
    assert_status(&out, 1);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).starts_with("Uncaught RangeError: in a microtask\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unhandled_rejection_is_reported_at_the_end_of_the_checkpoint_and_fails() {
    let source = "Promise.reject(new TypeError('nobody catches me'));\n\
                  Promise.resolve().then(() => console.log('same checkpoint'));\n\
                  setTimeout(() => console.log('a later task'), 0);\n";
    let (out, dir) = run_script("rejection.js", source);
    assert_status(&out, 1);
    assert_eq!(
        stdout(&out),
        "same checkpoint\n",
        "reported before any later task"
    );
    let err = stderr(&out);
    assert!(
        err.starts_with("Uncaught (in promise) TypeError: nobody catches me\n"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}:1:", dir.path("rejection.js").display())),
        "{err}"
    );

    let (out, _dir) = run_script("rejection-value.js", "Promise.reject(42);");
    assert_status(&out, 1);
    assert_eq!(stderr(&out), "Uncaught (in promise) 42\n");

    // A stream's rejected promise that nobody handles counts too.
    let source =
        "new ReadableStream({ start(c) { c.error(new Error('source failed')); } }).getReader().read();";
    let (out, _dir) = run_script("rejection-stream.js", source);
    assert_status(&out, 1);
    assert!(
        stderr(&out).starts_with("Uncaught (in promise) Error: source failed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_rejection_handled_within_the_checkpoint_is_not_reported() {
    let source = "const p = Promise.reject(new Error('late'));\n\
                  queueMicrotask(() => p.catch((e) => console.log('caught', e.message)));\n\
                  const reader = new ReadableStream({ start(c) { c.error(new Error('x')); } }).getReader();\n\
                  reader.read().catch(() => console.log('read rejected, handled'));\n";
    let (out, _dir) = run_script("handled.js", source);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "read rejected, handled\ncaught late\n");
    assert_eq!(stderr(&out), "");
}

#[test]
fn closed_and_ready_promises_the_standard_marks_handled_are_not_reported() {
    let source = "const w = new WritableStream({ start(c) { c.error(new Error('sink failed')); } }).getWriter();\n\
                  w.closed; w.ready;\n\
                  const r = new ReadableStream({ start(c) { c.error(new Error('source failed')); } }).getReader();\n\
                  r.closed;\n\
                  setTimeout(() => console.log('still running'), 0);\n";
    let (out, _dir) = run_script("marked.js", source);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "still running\n");
}

#[test]
fn console_log_shows_values_readably() {
    let source = r#"
const o = { a: 1, b: 'two', nested: { deeper: { deepest: { hidden: true } } }, 'x-y': null, u: undefined };
o.self = o;
console.log(o);
console.log([1, 2, 3], [], {}, [ , 'hole']);
console.log(new Map([['k', 1]]), new Set([1, 'a']));
console.log(new Uint8Array([1, 2, 255]), new Uint8Array([1, 2]).buffer);
console.log('%s is %d years, %j', 'Ada', 36, { ok: true }, 'extra', 5n);
class Point { constructor() { this.x = 1; this.y = 2; } }
console.log(new Point(), Object.create(null), function named() {}, class K {}, Symbol('s'), -0, null);
console.log(Promise.resolve(5), new Promise(() => {}), new Date(0), /re/g);
console.log([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
console.log('top-level strings are not quoted', ['nested ones are']);
"#;
    let (out, _dir) = run_script("inspect.js", source);
    assert_status(&out, 0);
    let expected = "\
<ref *1> {
  a: 1,
  b: 'two',
  nested: { deeper: { deepest: [Object] } },
  'x-y': null,
  u: undefined,
  self: [Circular *1]
}
[ 1, 2, 3 ] [] {} [ <1 empty item>, 'hole' ]
Map(1) { 'k' => 1 } Set(2) { 1, 'a' }
Uint8Array(3) [ 1, 2, 255 ] ArrayBuffer { [Uint8Contents]: <01 02>, byteLength: 2 }
Ada is 36 years, {\"ok\":true} extra 5n
Point { x: 1, y: 2 } [Object: null prototype] {} [Function: named] [class K] Symbol(s) -0 null
Promise { 5 } Promise { <pending> } 1970-01-01T00:00:00.000Z /re/g
[
  1, 2, 3, 4,  5,
  6, 7, 8, 9, 10
]
top-level strings are not quoted [ 'nested ones are' ]
";
    assert_eq!(stdout(&out), expected);
}

#[test]
fn console_log_shows_an_error_with_its_stack_and_properties() {
    let source = "const e = new TypeError('bad input');\ne.code = 'E_BAD';\nconsole.log(e);\nconsole.error({ wrapped: new Error('inner') });\n";
    let (out, dir) = run_script("errors.js", source);
    assert_status(&out, 0);
    let file = dir.path("errors.js").display().to_string();
    let shown = stdout(&out);
    assert!(shown.starts_with("TypeError: bad input\n    at "), "{shown}");
    assert!(shown.contains(&format!("({file}:1:")), "{shown}");
    assert!(shown.ends_with(" {\n  code: 'E_BAD'\n}\n"), "{shown}");
    let err = stderr(&out);
    assert!(
        err.starts_with("{\n  wrapped: Error: inner\n      at "),
        "nested and indented: {err}"
    );
}

#[test]
fn modules_import_relative_files_and_await_at_the_top_level() {
    let dir = Dir::new("modules");
    dir.write(
        "lib/math.js",
        "export const double = (n) => n * 2;\nexport default 'lib';\n",
    );
    dir.write(
        "lib/util.mjs",
        "import { double } from './math.js';\nexport const quadruple = (n) => double(double(n));\n",
    );
    let main = dir.write(
        "main.js",
        "import name, { double } from './lib/math.js';\nimport { quadruple } from './lib/util.mjs';\n\
         const n = await new Promise((resolve) => setTimeout(() => resolve(5), 10));\n\
         console.log(name, double(n), quadruple(n));\n",
    );
    let out = sluicejs(&[main.to_str().unwrap()], None, &dir.0);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "lib 10 20\n");

    // --script reads the same file as a classic script: `import` is then a syntax error.
    let out = sluicejs(&["--script", main.to_str().unwrap()], None, &dir.0);
    assert_status(&out, 1);
    assert!(
        stderr(&out).starts_with("Uncaught SyntaxError"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_module_that_throws_after_an_await_or_imports_badly_fails() {
    let (out, dir) = run_script("late.mjs", "await null;\nthrow new Error('after await');\n");
    assert_status(&out, 1);
    let err = stderr(&out);
    assert!(err.starts_with("Uncaught Error: after await\n"), "{err}");
    assert!(
        err.contains(&format!("{}:2:", dir.path("late.mjs").display())),
        "{err}"
    );

    let (out, _dir) = run_script("bare.mjs", "import 'lodash';\n");
    assert_status(&out, 1);
    assert!(stderr(&out).contains("only relative"), "{}", stderr(&out));

    let (out, _dir) = run_script("gone.mjs", "import './not-there.js';\n");
    assert_status(&out, 1);
    assert!(stderr(&out).contains("not-there.js"), "{}", stderr(&out));
}

#[test]
fn a_top_level_await_that_never_settles_exits_13_with_a_warning() {
    let (out, _dir) = run_script(
        "stuck.mjs",
        "console.log('waiting');\nawait new Promise(() => {});\n",
    );
    assert_status(&out, 13);
    assert_eq!(stdout(&out), "waiting\n");
    assert!(
        stderr(&out).starts_with("Warning: Detected unsettled top-level await"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn timers_wait_real_time() {
    let source = "const t0 = Date.now();\n\
                  setTimeout(() => console.log(Date.now() - t0 >= 40 ? 'waited' : 'early'), 50);\n";
    let (out, _dir) = run_script("wait.js", source);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "waited\n");
}

/// The scenario of the issue: a real file streamed through a transform into another file.
#[test]
fn a_file_streams_through_a_transform_into_another_file() {
    let dir = Dir::new("files");
    let input: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    dir.write("in.bin", &input);
    let script = dir.write(
        "upper.js",
        "const [from, to] = sluice.args;\n\
         let chunks = 0;\n\
         const upper = new TransformStream({ transform(chunk, c) {\n\
           chunks++;\n\
           c.enqueue(chunk.map((b) => (b >= 97 && b <= 122 ? b - 32 : b)));\n\
         } });\n\
         await sluice.open(from, { chunkSize: 65536 }).pipeThrough(upper).pipeTo(sluice.create(to));\n\
         console.log('chunks', chunks);\n",
    );
    let out = sluicejs(&[script.to_str().unwrap(), "in.bin", "out.bin"], None, &dir.0);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), format!("chunks {}\n", input.len().div_ceil(65536)));
    let expected: Vec<u8> = input
        .iter()
        .map(|&b| if b.is_ascii_lowercase() { b - 32 } else { b })
        .collect();
    assert!(
        std::fs::read(dir.path("out.bin")).unwrap() == expected,
        "every byte, transformed"
    );
}

#[test]
fn the_readmes_example_uppercases_a_file() {
    let dir = Dir::new("upper");
    let input = "every byte, bounded memory\n".repeat(10_000);
    dir.write("in.log", &input);
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/upper.mjs");
    let out = sluicejs(&[example, "in.log", "out.log"], None, &dir.0);
    assert_status(&out, 0);
    assert_eq!(
        std::fs::read_to_string(dir.path("out.log")).unwrap(),
        input.to_uppercase()
    );
}

#[test]
fn a_missing_input_file_throws_enoent() {
    let source =
        "try {\n  sluice.open('no-such-file.txt');\n} catch (e) {\n  console.log(e.code, e.message);\n}\n\
                  sluice.open('no-such-file.txt');\n";
    let (out, dir) = run_script("enoent.js", source);
    assert_status(&out, 1);
    assert_eq!(
        stdout(&out),
        "ENOENT cannot open 'no-such-file.txt': No such file or directory (os error 2)\n"
    );
    let err = stderr(&out);
    assert!(
        err.starts_with("Uncaught Error: cannot open 'no-such-file.txt'"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}:6:", dir.path("enoent.js").display())),
        "{err}"
    );
    assert!(err.contains("code: 'ENOENT'"), "{err}");
}

#[test]
fn stdin_streams_to_stdout_byte_for_byte() {
    let dir = Dir::new("stdio");
    let script = dir.write("cat.js", "await sluice.stdin.pipeTo(sluice.stdout);\n");
    let input: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = sluicejs(&[script.to_str().unwrap()], Some(&input), &dir.0);
    assert_status(&out, 0);
    assert!(
        out.stdout == input,
        "stdout is stdin, byte for byte ({} bytes)",
        out.stdout.len()
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = Dir::new("epipe");
    let script = dir.write("cat.js", "await sluice.stdin.pipeTo(sluice.stdout);\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluicejs"))
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The reader of stdout goes away after the first bytes, as `| head -c 10` does.
    let mut stdout = child.stdout.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = vec![b'x'; 65536];
        for _ in 0..256 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert_status(&out, 0);
    assert_eq!(stderr(&out), "", "no error message for a closed pipe");
}

#[test]
fn io_errors_reach_script_as_errors_with_node_codes() {
    let dir = Dir::new("ioerrors");
    let source = "try { sluice.open('.'); } catch (e) { console.log(e.code); }\n\
                  const w = sluice.create('/dev/full').getWriter();\n\
                  await w.write('x'.repeat(100000));\n\
                  await w.close().catch((e) => console.log(e.code, e.message));\n";
    let script = dir.write("errors.js", source);
    let out = sluicejs(&[script.to_str().unwrap()], None, &dir.0);
    assert_status(&out, 0);
    assert_eq!(
        stdout(&out),
        "EISDIR\nENOSPC cannot write to '/dev/full': No space left on device (os error 28)\n"
    );
}

#[test]
fn strings_and_buffers_reach_the_file() {
    let dir = Dir::new("strings");
    let script = dir.write(
        "write.js",
        "const w = sluice.create('written.txt').getWriter();\n\
         await w.write('text, ');\nawait w.write(new Uint8Array([98, 121, 116, 101, 115]));\n\
         await w.write(new Uint16Array([0x2121]).buffer);\nawait w.close();\n\
         try { await sluice.create('other.txt').getWriter().write(42); } catch (e) { console.log(e.name); }\n",
    );
    let out = sluicejs(&[script.to_str().unwrap()], None, &dir.0);
    assert_status(&out, 0);
    assert_eq!(
        stdout(&out),
        "TypeError\n",
        "a number is not a chunk a file takes"
    );
    assert_eq!(std::fs::read(dir.path("written.txt")).unwrap(), b"text, bytes!!");
}

#[test]
fn sluice_exit_ends_with_its_status_and_args_reach_the_script() {
    let dir = Dir::new("exit");
    let script = dir.write(
        "exit.js",
        "console.log(sluice.args.join('|'));\nsluice.exit(3);\nconsole.log('not here');\n",
    );
    let out = sluicejs(&[script.to_str().unwrap(), "a", "--b", "c d"], None, &dir.0);
    assert_status(&out, 3);
    assert_eq!(stdout(&out), "a|--b|c d\n");
}

#[test]
fn an_unreadable_script_is_one_line_and_status_one() {
    let dir = Dir::new("unreadable");
    std::fs::create_dir_all(dir.path("a-directory.js")).unwrap();
    dir.write("latin1.js", b"console.log('caf\xe9')");
    for (file, why) in [
        ("a-directory.js", "Is a directory"),
        ("latin1.js", "did not contain valid UTF-8"),
    ] {
        let out = sluicejs(&[file], None, &dir.0);
        assert_status(&out, 1);
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("sluicejs: cannot read '{file}': ")),
            "{err}"
        );
        assert!(err.contains(why) && err.lines().count() == 1, "{err}");
        assert_eq!(stdout(&out), "");
    }
}

#[test]
fn a_run_that_outlasts_timeout_ms_is_stopped_with_status_124() {
    let dir = Dir::new("timeout");
    let scripts = [
        ("interval.js", "console.log('start'); setInterval(() => {}, 10);"),
        ("busy.js", "console.log('start'); for (;;) {}"),
        (
            "busy-timer.js",
            "console.log('start'); setTimeout(() => { for (;;) {} }, 1);",
        ),
        (
            "busy-job.js",
            "console.log('start'); Promise.resolve().then(() => { for (;;) {} });",
        ),
        (
            "busy-microtask.js",
            "console.log('start'); queueMicrotask(() => { for (;;) {} });",
        ),
        (
            "waiting.mjs",
            "console.log('start'); await new Promise(() => setInterval(() => {}, 10));",
        ),
        (
            "stuck-read.js",
            "console.log('start'); new ReadableStream().getReader().read(); setInterval(() => {}, 10);",
        ),
    ];
    for (name, source) in scripts {
        let path = dir.write(name, source);
        let out = sluicejs(&["--timeout-ms", "200", path.to_str().unwrap()], None, &dir.0);
        assert_status(&out, 124);
        assert_eq!(stdout(&out), "start\n", "{name}");
        assert_eq!(
            stderr(&out),
            "sluicejs: the script did not finish within 200 ms (--timeout-ms); stopped\n",
            "{name}"
        );
    }
}

#[test]
fn a_run_that_ends_in_time_keeps_its_own_status() {
    let dir = Dir::new("in-time");
    let ok = dir.write("ok.js", "setTimeout(() => console.log('done'), 1);");
    let out = sluicejs(&["--timeout-ms", "60000", ok.to_str().unwrap()], None, &dir.0);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "done\n");
    let rejects = dir.write("rejects.js", "Promise.reject(new Error('nobody listens'));");
    let out = sluicejs(
        &["--timeout-ms", "60000", rejects.to_str().unwrap()],
        None,
        &dir.0,
    );
    assert_status(&out, 1);
    assert!(stderr(&out).contains("nobody listens"), "{}", stderr(&out));
}

#[test]
fn a_timeout_that_is_not_a_positive_number_is_a_usage_error() {
    let dir = Dir::new("bad-timeout");
    for bad in ["0", "-5", "soon", ""] {
        let out = sluicejs(&[&format!("--timeout-ms={bad}"), "x.js"], None, &dir.0);
        assert_status(&out, 2);
        assert!(stderr(&out).contains("--timeout-ms"), "{bad}: {}", stderr(&out));
    }
}
