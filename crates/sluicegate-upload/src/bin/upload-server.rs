//! `upload-server ADDR DIR [--max-body BYTES] [--buffer] [--threads N]`: the upload server.
//! Prints `listening on ADDR` once it accepts connections.

use std::sync::Arc;

use sluicegate_upload::{serve, Config, Mode};

const USAGE: &str = "usage: upload-server ADDR DIR [--max-body BYTES] [--buffer] [--threads N]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut max_body = u64::MAX;
    let mut mode = Mode::Stream;
    let mut threads = 2;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--max-body" => {
                max_body = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| exit(USAGE))
            }
            "--threads" => {
                threads = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| exit(USAGE))
            }
            "--buffer" => mode = Mode::Buffer,
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            _ => positional.push(a.clone()),
        }
    }
    let [addr, dir] = positional.as_slice() else {
        exit(USAGE)
    };
    let config = Arc::new(Config {
        dir: dir.into(),
        max_body,
        mode,
    });
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
