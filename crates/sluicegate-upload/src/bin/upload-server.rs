//! `upload-server ADDR DIR [--max-body BYTES] [--buffer] [--threads N]`: the upload server.
//! Prints `listening on ADDR` once it accepts connections. Bad arguments, a DIR that is not a
//! directory and an address it cannot listen on exit with status 2 and a message.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use sluicegate_upload::{serve, Config, Mode};

/// The upload server: each request body streamed to a file in DIR through a SHA-256 tap.
#[derive(Parser, Debug)]
#[command(name = "upload-server")]
struct Args {
    /// The address to listen on, like 127.0.0.1:8080 (port 0: any free port).
    addr: String,
    /// The directory uploads are stored in (it must exist).
    dir: PathBuf,
    /// The largest body accepted, in bytes (default: no limit).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    max_body: Option<u64>,
    /// Buffer each body whole in memory before writing it (the comparison mode).
    #[arg(long)]
    buffer: bool,
    /// Worker threads of the runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
}

fn main() {
    let args = Args::parse();
    if !args.dir.is_dir() {
        exit(&format!(
            "upload-server: {} is not a directory (uploads are stored there)",
            args.dir.display()
        ));
    }
    let (addr, dir) = (args.addr, args.dir);
    let max_body = args.max_body.unwrap_or(u64::MAX);
    let mode = if args.buffer { Mode::Buffer } else { Mode::Stream };
    let threads = usize::from(args.threads);
    let config = Arc::new(Config { dir, max_body, mode });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap_or_else(|e| exit(&format!("upload-server: {e}")));
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr.as_str())
            .await
            .unwrap_or_else(|e| exit(&format!("upload-server: cannot listen on {addr}: {e}")));
        println!("listening on {}", listener.local_addr().expect("a bound address"));
        serve(listener, config).await;
    });
}

fn exit(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}
