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

use clap::Parser;
use sluicegate_upload::load;

struct Contender {
    key: &'static str,
    name: &'static str,
    command: Command,
    clients: usize,
}

/// A size in bytes: digits, then nothing, `KiB`, `MiB` or `GiB`; more than 0, at most 1 TiB.
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 2GiB, 512MiB or 4096"))?;
    let shift = match unit {
        "" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        _ => return Err(format!("{text:?}: the unit must be KiB, MiB or GiB")),
    };
    match n.checked_mul(1 << shift) {
        Some(bytes) if (1..=1 << 40).contains(&bytes) => Ok(bytes),
        _ => Err(format!("{text:?} must be more than 0 and at most 1 TiB")),
    }
}

/// The upload benchmark's options.
#[derive(Parser, Debug)]
#[command(name = "upload-bench")]
struct Args {
    /// Concurrent uploads to the streaming servers.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    clients: u64,
    /// The size of each upload (like 2GiB, 512MiB).
    #[arg(long, default_value = "2GiB", value_parser = parse_size)]
    size: u64,
    /// Concurrent uploads to the buffering server (each is held whole in its memory).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    buffer_clients: u64,
    /// Where the servers store the uploads (default: a folder in the temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run only this server.
    #[arg(long, value_parser = ["stream", "node", "buffer"])]
    only: Option<String>,
}

fn main() {
    let args = Args::parse();
    let clients = args.clients as usize;
    let buffer_clients = args.buffer_clients as usize;
    let size = args.size;
    let dir = args
        .dir
        .unwrap_or_else(|| std::env::temp_dir().join("sluicegate-upload-bench"));
    let only = args.only;
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("upload-bench: cannot create {}: {e}", dir.display());
        std::process::exit(2);
    }
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
