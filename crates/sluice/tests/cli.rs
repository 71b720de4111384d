//! `sluice` run as a process: every source, stage and sink, the reports, and bad input (exit
//! codes and one-line messages).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest;

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

fn run(args: &[&str]) -> Output {
    sluice()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("sluice runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh directory under the target directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sluice-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn gen(size: &str) -> Vec<u8> {
    let o = run(&[&format!("gen:{size}"), "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    o.stdout
}

fn sha256_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One line on standard error, starting `sluice: `.
fn assert_one_line_error(o: &Output, code: i32, contains: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    let err = stderr(o);
    let first = err.lines().next().unwrap_or("");
    assert!(first.starts_with("sluice: "), "{err:?}");
    assert!(first.contains(contains), "{err:?} should mention {contains:?}");
}

#[test]
fn gen_makes_exactly_the_size_asked_and_the_same_data_every_time() {
    let a = gen("100KiB");
    assert_eq!(a.len(), 100 * 1024);
    assert_eq!(a, gen("100KiB"));
    assert!(a.split(|&b| b == b'\n').count() > 100, "log-like lines");
    assert_eq!(gen("0").len(), 0);
    assert_eq!(gen("1.5MB").len(), 1_500_000);
}

#[test]
fn gzip_and_gunzip_round_trip_and_interoperate_with_flate2() {
    let d = dir("gzip");
    let input = d.join("in.log");
    std::fs::write(&input, gen("3MiB")).unwrap();
    let gz = d.join("out.gz");
    let o = run(&[s(&input), "gzip:1", s(&gz)]);
    assert!(o.status.success(), "{}", stderr(&o));
    // flate2 reads what sluice wrote.
    let mut decoded = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&gz).unwrap())
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, std::fs::read(&input).unwrap());
    // sluice reads what flate2 wrote.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(b"hello\nworld\n").unwrap();
    std::fs::write(d.join("b.gz"), enc.finish().unwrap()).unwrap();
    let o = run(&[s(&d.join("b.gz")), "gunzip", "-"]);
    assert_eq!(o.stdout, b"hello\nworld\n");
}

#[test]
fn zstd_round_trips_through_two_runs() {
    let d = dir("zstd");
    let o = run(&["gen:1MiB", "zstd", s(&d.join("x.zst"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[s(&d.join("x.zst")), "unzstd", "-"]);
    assert_eq!(o.stdout, gen("1MiB"));
}

#[test]
fn sha256_prints_the_digest_of_what_reached_it_like_sha256sum() {
    let data = gen("2MiB");
    let o = run(&["gen:2MiB", "sha256", "null"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("{}  gen:2MiB\n", sha256_hex(&data))
    );
    // With the data on stdout, the digest goes to stderr.
    let o = run(&["gen:2MiB", "sha256", "-"]);
    assert_eq!(o.stdout, data);
    assert_eq!(stderr(&o), format!("{}  gen:2MiB\n", sha256_hex(&data)));
}

#[test]
fn head_takes_lines_or_bytes_and_stops_the_source() {
    let data = gen("1MiB");
    let o = run(&["gen:1MiB", "head:3", "-"]);
    let want: Vec<u8> = data
        .split_inclusive(|&b| b == b'\n')
        .take(3)
        .flatten()
        .copied()
        .collect();
    assert_eq!(o.stdout, want);
    assert!(o.status.success());
    let o = run(&["gen:1MiB", "head:100c", "-"]);
    assert_eq!(o.stdout, &data[..100]);
    let o = run(&["gen:1MiB", "head:0", "-"]);
    assert!(o.stdout.is_empty() && o.status.success());
    // A source far too big to generate in a test ends as soon as head has its bytes.
    let o = run(&["gen:1TiB", "gzip", "gunzip", "head:10c", "-"]);
    assert_eq!((o.stdout.as_slice(), o.status.success()), (&data[..10], true));
}

#[test]
fn grep_and_lines_work_on_lines_across_chunk_boundaries() {
    let data = gen("1MiB");
    let o = run(&["gen:1MiB", "grep:ERROR .* 500 ", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(data.clone()).unwrap();
    let want: String = text
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains(" 500 "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(String::from_utf8(o.stdout).unwrap(), want);
    // lines: the same bytes, one chunk per line (the last line gets its newline).
    let o = run(&["gen:1000", "lines", "--stats", "json", "-"]);
    let mut want = gen("1000");
    want.push(b'\n');
    assert_eq!(o.stdout, want);
    let report: serde_json::Value = serde_json::from_slice(&o.stderr).unwrap();
    let lines = want.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(report["stages"][1]["output"]["chunks_out"], lines);
    // A bad pattern is a usage error of the stage.
    let o = run(&["gen:1K", "grep:(", "-"]);
    assert_one_line_error(&o, 1, "grep:(");
}

#[test]
fn decode_turns_utf16_into_utf8() {
    let d = dir("decode");
    let utf16: Vec<u8> = "héllo, wörld\n"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    std::fs::write(d.join("in.txt"), utf16).unwrap();
    let o = run(&[s(&d.join("in.txt")), "decode:utf-16le", "-"]);
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "héllo, wörld\n");
    let o = run(&[s(&d.join("in.txt")), "decode:klingon", "-"]);
    assert_one_line_error(&o, 1, "unknown encoding");
}

#[test]
fn tee_writes_a_copy_and_passes_everything_on() {
    let d = dir("tee");
    let o = run(&[
        "gen:700KiB",
        &format!("tee:{}", s(&d.join("copy"))),
        "gzip",
        s(&d.join("out.gz")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.join("copy")).unwrap(), gen("700KiB"));
    let o = run(&[s(&d.join("out.gz")), "gunzip", "-"]);
    assert_eq!(o.stdout, gen("700KiB"));
}

#[test]
fn throttle_holds_the_stream_to_its_rate() {
    let started = Instant::now();
    let o = run(&["gen:300KB", "throttle:1MB/s", "-"]);
    assert!(o.status.success());
    assert_eq!(o.stdout, gen("300KB"));
    // 300 kB at 1 MB/s: the last chunk cannot leave before 0.3 s.
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn stdin_and_stdout_stream_through() {
    let mut child = sluice()
        .args(["-", "gzip", "gunzip", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let data = gen("2MiB");
    let mut stdin = child.stdin.take().unwrap();
    let d = data.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&d).unwrap());
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(o.status.success());
    assert_eq!(o.stdout, data);
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_sigpipe_status() {
    let mut child = sluice()
        .args(["gen:1TiB", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(141));
    assert_eq!(stderr(&o), "");
}

#[test]
fn tcp_source_and_sink() {
    // Source: a server that sends a body and closes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let data = gen("1MiB");
    let d = data.clone();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(&d).unwrap();
    });
    let o = run(&[&format!("tcp:{addr}"), "sha256", "null"]);
    server.join().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .starts_with(&sha256_hex(&data)));

    // Sink: a server that reads to the end (the half-close).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        got
    });
    let o = run(&["gen:1MiB", &format!("tcp:{addr}")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(server.join().unwrap(), data);

    // Nobody listening: a one-line error.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = run(&[&format!("tcp:127.0.0.1:{port}"), "null"]);
    assert_one_line_error(&o, 1, "Connection refused");
}

/// A one-shot HTTP/1.1 server that answers with `status` and `body`.
fn http_server(status: &'static str, body: Vec<u8>) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") {
            conn.read_exact(&mut byte).unwrap();
            request.push(byte[0]);
        }
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).unwrap();
        conn.write_all(&body).unwrap();
        String::from_utf8(request).unwrap()
    });
    (format!("http://{addr}/data/file.bin?x=1"), handle)
}

#[test]
fn http_source_gets_the_body_and_refuses_an_error_status() {
    let data = gen("512KiB");
    let (url, server) = http_server("200 OK", data.clone());
    let o = run(&[&url, "-"]);
    let request = server.join().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, data);
    assert!(
        request.starts_with("GET /data/file.bin?x=1 HTTP/1.1\r\n"),
        "{request}"
    );

    let (url, server) = http_server("404 Not Found", b"nope".to_vec());
    let o = run(&[&url, "-"]);
    server.join().unwrap();
    assert_one_line_error(&o, 1, "HTTP 404 Not Found");
    assert!(o.stdout.is_empty());

    let o = run(&["https://localhost/", "null"]);
    assert_one_line_error(&o, 2, "https is not supported");
}

#[test]
fn a_missing_file_is_a_one_line_error() {
    let o = run(&["/nonexistent/input.log", "gzip", "null"]);
    assert_one_line_error(&o, 1, "/nonexistent/input.log: No such file or directory");
    assert_eq!(stderr(&o).lines().count(), 1);
    let o = run(&["gen:1K", "/nonexistent/dir/out"]);
    assert_one_line_error(&o, 1, "/nonexistent/dir/out: No such file or directory");
}

#[test]
fn corrupt_and_truncated_gzip_name_the_stage_that_failed() {
    let d = dir("corrupt");
    std::fs::write(d.join("bad.gz"), b"this is not gzip data at all").unwrap();
    let o = run(&[s(&d.join("bad.gz")), "gunzip", "-"]);
    assert_one_line_error(&o, 1, "sluice: gunzip: corrupt gzip data");
    assert_eq!(stderr(&o).lines().count(), 1);

    let o = run(&["gen:1MiB", "gzip", s(&d.join("good.gz"))]);
    assert!(o.status.success());
    let full = std::fs::read(d.join("good.gz")).unwrap();
    std::fs::write(d.join("cut.gz"), &full[..full.len() / 2]).unwrap();
    let o = run(&[s(&d.join("cut.gz")), "gunzip", "sha256", "null"]);
    assert_one_line_error(&o, 1, "sluice: gunzip: truncated gzip data");
    // No digest of data that failed.
    assert!(o.stdout.is_empty());
}

#[test]
fn bad_command_lines_exit_2() {
    for args in [
        &["gen:1K"][..],
        &["gen:lots", "null"],
        &["gen:1K", "frobnicate", "null"],
        &["gen:1K", "gzip:12", "null"],
        &["gen:1K", "head:x", "null"],
        &["gen:1K", "throttle:0", "null"],
        &["tcp:nohost", "null"],
        &["gen:1K", "null", "--stats", "xml"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }
    let o = run(&["--help"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("gen:4GiB gzip sha256 null --progress"));
    let o = run(&["--version"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("sluice "));
}

#[test]
fn stats_json_reports_every_stage() {
    let o = run(&["gen:1MiB", "gzip", "sha256", "null", "--stats", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let stages = r["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["gen:1MiB", "gzip", "sha256", "null"]);
    assert_eq!(stages[0]["kind"], "source");
    assert_eq!(stages[0]["bytes"], 1 << 20);
    assert_eq!(stages[1]["input"]["bytes_in"], 1 << 20);
    let gz = stages[1]["bytes"].as_u64().unwrap();
    assert!(gz > 0 && gz < 1 << 20);
    assert_eq!(stages[2]["bytes"].as_u64().unwrap(), gz);
    assert_eq!(stages[3]["input"]["bytes_in"].as_u64().unwrap(), gz);
    assert_eq!(r["digests"][0]["stage"], "gen:1MiB | gzip");
    assert_eq!(r["digests"][0]["hex"].as_str().unwrap().len(), 64);
    assert!(r["bottleneck"].is_string());
}

#[test]
fn progress_draws_nothing_when_stderr_is_not_a_terminal() {
    let o = run(&["gen:1MiB", "null", "--progress"]);
    assert!(o.status.success());
    assert_eq!(stderr(&o), "");
}

#[test]
fn throttle_passes_bytes_as_they_are_due_not_whole_chunks() {
    // 1 B/s: the first byte is due after a second; holding the whole 1 KiB chunk until its last
    // byte is due would take 17 minutes. The deadline only detects that hang.
    let mut child = sluice()
        .args(["gen:1K", "throttle:1/s", "head:1c", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`sluice gen:1K throttle:1/s head:1c -` did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, gen("1K")[..1]);
}

#[test]
fn throttle_in_pieces_keeps_every_byte_in_order() {
    let o = run(&["gen:3K", "throttle:20K/s", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, gen("3K"));
}
