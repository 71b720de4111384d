//! `upload-bench [--clients N] [--size SIZE] [--buffer-clients N] [--dir DIR]`: the upload
//! benchmark. Runs each server as a process of its own — the sluicegate streaming server, the
//! Node.js `pipeline(req, hash, fs.createWriteStream)` server (`bench/node/upload-server.js`)
//! and the sluicegate server in buffering mode — sends it concurrent uploads of generated data
//! over loopback from this process, checks every digest, and prints a Markdown table with the
//! throughput and the server's peak RSS (`VmHWM`, read just before it is stopped).
//!
//! Defaults: ten 2 GiB uploads; one 2 GiB upload for the buffering server (ten would need
//! 20 GiB of memory). Uploaded files are deleted after each server's run.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use sluicegate_upload::load;

struct Contender {
    key: &'static str,
    name: &'static str,
    command: Command,
    clients: usize,
}

fn parse_size(text: &str) -> Option<u64> {
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "" => n,
        "KiB" => n << 10,
        "MiB" => n << 20,
        "GiB" => n << 30,
        _ => return None,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut clients = 10;
    let mut buffer_clients = 1;
    let mut size = 2u64 << 30;
    let mut dir = std::env::temp_dir().join("sluicegate-upload-bench");
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it.next();
        match (a.as_str(), value) {
            ("--only", Some(v)) => only = Some(v.clone()),
            ("--clients", Some(v)) => clients = v.parse().expect("--clients N"),
            ("--buffer-clients", Some(v)) => buffer_clients = v.parse().expect("--buffer-clients N"),
            ("--size", Some(v)) => size = parse_size(v).expect("--size like 2GiB, 512MiB"),
            ("--dir", Some(v)) => dir = PathBuf::from(v),
            _ => {
                eprintln!(
                    "usage: upload-bench [--clients N] [--size SIZE] [--buffer-clients N] [--dir DIR] [--only stream|node|buffer]"
                );
                std::process::exit(2);
            }
        }
    }
    std::fs::create_dir_all(&dir).expect("the upload directory");
    let server = std::env::current_exe()
        .expect("this binary's path")
        .with_file_name("upload-server");
    let node_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/node/upload-server.js");
    let dir_arg = dir.to_string_lossy().into_owned();

    let mut stream = Command::new(&server);
    stream.args(["127.0.0.1:0", &dir_arg]);
    let mut node = Command::new("node");
    node.arg(&node_script).args(["127.0.0.1:0", &dir_arg]);
    let mut buffer = Command::new(&server);
    buffer.args(["127.0.0.1:0", &dir_arg, "--buffer"]);
    let contenders = vec![
        Contender {
            key: "stream",
            name: "sluicegate-upload (streams: body → SHA-256 tap → file)",
            command: stream,
            clients,
        },
        Contender {
            key: "node",
            name: "Node.js 20 `pipeline(req, hash tap, fs.createWriteStream)`",
            command: node,
            clients,
        },
        Contender {
            key: "buffer",
            name: "sluicegate-upload --buffer (whole body in memory, then hash and write)",
            command: buffer,
            clients: buffer_clients,
        },
    ];

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    eprintln!("computing the expected digest of {size} bytes…");
    let mut rows = Vec::new();
    for mut c in contenders {
        if only.as_ref().is_some_and(|o| o != c.key) {
            continue;
        }
        eprintln!("[upload-bench] {} × {} bytes: {}", c.clients, size, c.name);
        let (mut child, addr) = match start(&mut c.command) {
            Ok(started) => started,
            Err(e) => {
                rows.push(format!(
                    "| {} | {} × {} | skipped: {e} | | |",
                    c.name,
                    c.clients,
                    human(size)
                ));
                continue;
            }
        };
        let result = runtime.block_on(load::run(addr, c.clients, size));
        let peak = peak_rss_kib(child.id());
        let _ = child.kill();
        let _ = child.wait();
        clean(&dir);
        eprintln!(
            "  {:.0} MB/s, peak RSS {:?} KiB, failures {:?}",
            result.mb_per_s(),
            peak,
            result.failures
        );
        let outcome = if result.failures.is_empty() {
            "all digests right".to_string()
        } else {
            format!(
                "{} of {} failed: {}",
                result.failures.len(),
                c.clients,
                result.failures[0]
            )
        };
        rows.push(format!(
            "| {} | {} × {} | {:.0} MB/s | {} | {outcome} |",
            c.name,
            c.clients,
            human(size),
            result.mb_per_s(),
            peak.map_or("?".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        ));
    }
    println!("| server | uploads | throughput (all uploads) | server peak RSS | check |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}

/// Starts a server and reads the address from its `listening on ADDR` line.
fn start(command: &mut Command) -> Result<(Child, SocketAddr), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("unexpected first line {line:?}"))?;
    Ok((child, addr))
}

/// The peak resident set of a process, from `/proc/PID/status`.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn clean(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn human(bytes: u64) -> String {
    if bytes % (1 << 30) == 0 {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}
