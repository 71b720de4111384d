//! `io::stdin`, `io::stdout` and `io::stderr`, tested the only way stdio can be: in a child
//! process with piped standard streams. This file is its own test binary without libtest's
//! harness (`harness = false` in Cargo.toml), because libtest writes to stdout, which the child
//! programs own: run plainly, it is the parent and runs the cases below, each spawning this same
//! binary as `stdio child <program>` under a deadline; the child programs are in [`child`].

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sluicegate::readable::ReadableStream;
use sluicegate::{io, PipeOptions, StreamError};

/// How long a child may take before it counts as hung (and is killed).
const DEADLINE: Duration = Duration::from_secs(30);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        std::process::exit(child(args.get(1).map_or("", String::as_str)));
    }
    let cases: [(&str, fn()); 6] = [
        (
            "stdin_piped_to_stdout_copies_every_byte",
            stdin_piped_to_stdout_copies_every_byte,
        ),
        ("stdio_needs_no_runtime", stdio_needs_no_runtime),
        (
            "a_reader_that_closes_early_ends_the_writer_cleanly_with_broken_pipe",
            a_reader_that_closes_early_ends_the_writer_cleanly_with_broken_pipe,
        ),
        ("stderr_is_a_writable_stream", stderr_is_a_writable_stream),
        (
            "a_cancelled_stdin_lets_the_process_exit_while_stdin_stays_open",
            a_cancelled_stdin_lets_the_process_exit_while_stdin_stays_open,
        ),
        ("stdin_is_read_only_when_asked", stdin_is_read_only_when_asked),
    ];
    if args.iter().any(|a| a == "--list") {
        for (name, _) in cases {
            println!("{name}: test");
        }
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let chosen: Vec<_> = cases
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", chosen.len());
    let mut failed = Vec::new();
    for (name, case) in &chosen {
        let outcome = std::panic::catch_unwind(case);
        println!(
            "test {name} ... {}",
            if outcome.is_ok() { "ok" } else { "FAILED" }
        );
        if outcome.is_err() {
            failed.push(*name);
        }
    }
    let status = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {status}. {} passed; {} failed; 0 ignored; 0 measured; {} filtered out\n",
        chosen.len() - failed.len(),
        failed.len(),
        cases.len() - chosen.len()
    );
    if !failed.is_empty() {
        std::process::exit(101);
    }
}

// ---- the parent's cases ----

fn spawn(program: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["child", program])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the child, killing it and failing at the deadline.
fn wait(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("the child hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_stderr(child: &mut Child) -> String {
    let mut text = String::new();
    child.stderr.take().unwrap().read_to_string(&mut text).unwrap();
    text
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Feeds `input` on a thread (so a child that writes while we write cannot deadlock us), reads
/// its whole stdout, and waits for it.
fn run_cat(program: &str, input: Vec<u8>) -> (ExitStatus, Vec<u8>, String) {
    let mut child = spawn(program);
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    feeder.join().unwrap().unwrap();
    let status = wait(&mut child);
    (status, out, read_stderr(&mut child))
}

fn stdin_piped_to_stdout_copies_every_byte() {
    let input = pattern(5 << 20);
    let (status, out, err) = run_cat("cat", input.clone());
    assert!(status.success(), "{status}: {err}");
    assert!(
        out == input,
        "every byte, in order ({} of {})",
        out.len(),
        input.len()
    );
}

fn stdio_needs_no_runtime() {
    let input = pattern(300_000);
    let (status, out, err) = run_cat("cat-block-on", input.clone());
    assert!(status.success(), "{status}: {err}");
    assert!(out == input);
}

fn a_reader_that_closes_early_ends_the_writer_cleanly_with_broken_pipe() {
    // `child flood | head -c 10`.
    let mut child = spawn("flood");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"0123456789");
    drop(stdout);
    let status = wait(&mut child);
    let err = read_stderr(&mut child);
    assert!(
        status.success(),
        "a clean exit, not a signal or a panic: {status}: {err}"
    );
    assert!(err.contains("stdout closed: BrokenPipe"), "the typed end: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn stderr_is_a_writable_stream() {
    let mut child = spawn("stderr");
    drop(child.stdin.take());
    let status = wait(&mut child);
    let err = read_stderr(&mut child);
    assert!(status.success(), "{status}: {err}");
    assert_eq!(err, "to stderr, in two chunks\n");
}

fn a_cancelled_stdin_lets_the_process_exit_while_stdin_stays_open() {
    let mut child = spawn("first-chunk");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    stdin.flush().unwrap();
    // Keep stdin open: the child's reading thread stays blocked in a read that never returns.
    let status = wait(&mut child);
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(status.success(), "{status}: {}", read_stderr(&mut child));
    assert_eq!(out, "first chunk: \"hello\\n\"\n");
    drop(stdin);
}

fn stdin_is_read_only_when_asked() {
    // The child makes a stdin stream, never reads it, then reads stdin with std: every byte is
    // still there.
    let (status, out, err) = run_cat("unread", b"for std".to_vec());
    assert!(status.success(), "{status}: {err}");
    assert_eq!(out, b"std read: for std");
}

// ---- the child programs ----

/// Runs the child program `name`; its exit code.
fn child(name: &str) -> i32 {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    match name {
        "cat" => runtime.block_on(cat()),
        // No tokio runtime at all: the stdio streams run on their own threads.
        "cat-block-on" => futures::executor::block_on(cat()),
        "flood" => runtime.block_on(async {
            // 10 GiB, far more than anyone reads: the reader closes its end early.
            let chunk = Bytes::from((0..64 * 1024).map(|i| b'0' + (i % 10) as u8).collect::<Vec<u8>>());
            let source = ReadableStream::from_iter(std::iter::repeat_n(chunk, 160_000));
            match source.pipe_to(&io::stdout(), PipeOptions::default()).await {
                Ok(()) => {
                    eprintln!("the reader read 10 GiB?");
                    1
                }
                Err(e) if io::is_broken_pipe(&e) => {
                    let kind = e.reason::<std::io::Error>().map(std::io::Error::kind);
                    eprintln!("stdout closed: {kind:?}", kind = kind.unwrap());
                    0
                }
                Err(e) => {
                    eprintln!("unexpected: {e}");
                    1
                }
            }
        }),
        "stderr" => runtime.block_on(async {
            let writer = io::stderr().get_writer().unwrap();
            writer.write(Bytes::from_static(b"to stderr, ")).await.unwrap();
            writer
                .write(Bytes::from_static(b"in two chunks\n"))
                .await
                .unwrap();
            writer.close().await.unwrap();
            0
        }),
        "first-chunk" => {
            let code = runtime.block_on(async {
                let stdin = io::stdin();
                let reader = stdin.get_reader().unwrap();
                let first = reader.read().await.unwrap().unwrap();
                println!("first chunk: {:?}", String::from_utf8_lossy(&first));
                reader.cancel(StreamError::user("enough")).await.unwrap();
                0
            });
            // Dropping the runtime must not wait for the thread blocked in its read.
            drop(runtime);
            code
        }
        "unread" => {
            let stdin = io::stdin();
            drop(stdin);
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).unwrap();
            print!("std read: {text}");
            0
        }
        other => {
            eprintln!("no child program {other:?}");
            2
        }
    }
}

async fn cat() -> i32 {
    match io::stdin().pipe_to(&io::stdout(), PipeOptions::default()).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("cat: {e}");
            1
        }
    }
}
