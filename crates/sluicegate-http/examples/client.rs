//! An HTTP client that streams a generated upload of any size to the `server` example's
//! `POST /upper`, reads the answer as a readable stream, checks every byte (the text upper-cased)
//! and prints throughput and peak RSS: both stay the same for 1 GiB and 16 GiB.
//!
//! ```sh
//! cargo run --release -p sluicegate-http --example client -- --mib 1024          # with its own server
//! cargo run --release -p sluicegate-http --example client -- --addr 127.0.0.1:3000 --mib 4096
//! ```
//!
//! Without `--addr` it starts the server in this process (on a free loopback port), so the peak
//! RSS printed covers both ends.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper_util::rt::TokioIo;
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{PipeOptions, StreamError};
use sluicegate_http::{body_stream, StreamBody};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // At most 2^40 MiB, so that the byte count below cannot overflow.
    let mib: u64 = match arg("--mib").map(|m| m.parse::<u64>()) {
        None => 1024,
        Some(Ok(mib)) if mib <= 1 << 40 => mib,
        Some(_) => {
            eprintln!("client: --mib takes a whole number of MiB, at most 2^40");
            std::process::exit(2);
        }
    };
    let addr = match arg("--addr") {
        Some(addr) => addr,
        None => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            tokio::spawn(support::serve(listener));
            addr
        }
    };
    match run(&addr, mib << 20).await {
        Ok(()) => {}
        Err(e) => {
            eprintln!("client: {e}");
            std::process::exit(1);
        }
    }
}

async fn run(addr: &str, total: u64) -> Result<(), Box<dyn std::error::Error>> {
    let socket = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(socket)).await?;
    tokio::spawn(connection);
    let started = Instant::now();
    let upload = StreamBody::new(&support::generated(total))?;
    let request = hyper::Request::post("/upper").header("host", addr).body(upload)?;
    let response = sender.send_request(request).await?;
    if response.status() != hyper::StatusCode::OK {
        return Err(format!("the server answered {}", response.status()).into());
    }
    // The answer as a readable stream, into a sink that checks every byte as it comes.
    let answer = body_stream(response.into_body());
    let received = Arc::new(AtomicU64::new(0));
    let r = received.clone();
    let expected: Vec<u8> = support::LINE.to_ascii_uppercase();
    let check = WritableStream::new(SinkFn::new().write(move |chunk: Bytes, _| {
        let at = r.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        let start = (at % expected.len() as u64) as usize;
        if chunk
            .iter()
            .zip(expected.iter().cycle().skip(start))
            .any(|(a, b)| a != b)
        {
            return Err(StreamError::user(format!("wrong bytes after {at} bytes")));
        }
        Ok(())
    }))?;
    answer.pipe_to(&check, PipeOptions::default()).await?;
    let received = received.load(Ordering::Relaxed);
    if received != total {
        return Err(format!("{received} bytes came back, {total} were sent").into());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "client: {} MiB up and {} MiB back through the server's transform in {secs:.2} s \
         ({:.0} MB/s each way), every byte checked; peak RSS {:.1} MiB",
        total >> 20,
        received >> 20,
        total as f64 / secs / 1e6,
        support::peak_rss_mib()
    );
    Ok(())
}
