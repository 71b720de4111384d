//! `upload-server` and `upload-bench` as processes, on bad arguments: a message naming the
//! problem and status 2, never a panic (a `--threads 0` used to panic in the runtime builder, and
//! a bad number to `upload-bench` panicked in `expect`).

use std::process::{Command, Output, Stdio};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

#[track_caller]
fn assert_refused(o: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(message), "wanted {message:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn upload_server_refuses_bad_arguments_with_a_message() {
    let server = env!("CARGO_BIN_EXE_upload-server");
    let dir = std::env::temp_dir();
    let dir = dir.to_str().unwrap();
    assert_refused(&run(server, &[]), "ADDR");
    assert_refused(&run(server, &["127.0.0.1:0"]), "DIR");
    for (args, message) in [
        (&["127.0.0.1:0", dir, "--threads", "0"][..], "--threads"),
        (&["127.0.0.1:0", dir, "--threads", "many"][..], "--threads"),
        (&["127.0.0.1:0", dir, "--max-body=-1"][..], "--max-body"),
        (&["127.0.0.1:0", dir, "--max-body", "0"][..], "--max-body"),
        (&["127.0.0.1:0", dir, "--frobnicate"][..], "--frobnicate"),
        (&["127.0.0.1:0", "/nonexistent/uploads"][..], "is not a directory"),
        (&["not an address", dir][..], "cannot listen on not an address"),
    ] {
        assert_refused(&run(server, args), message);
    }
}

#[test]
fn upload_bench_refuses_bad_arguments_before_it_starts_anything() {
    let bench = env!("CARGO_BIN_EXE_upload-bench");
    for (args, message) in [
        (&["--clients", "0"][..], "--clients"),
        (&["--clients", "ten"][..], "--clients"),
        (&["--size", "2XB"][..], "the unit must be KiB, MiB or GiB"),
        (&["--size", "0"][..], "more than 0"),
        (&["--size", "99999999999GiB"][..], "at most 1 TiB"),
        (&["--only", "everything"][..], "--only"),
        (&["--dir"][..], "--dir"),
    ] {
        assert_refused(&run(bench, args), message);
    }
}
