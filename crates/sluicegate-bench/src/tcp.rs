//! Scenario `tcp` (issue 14): loopback TCP throughput through sluicegate's socket streams
//! (`sluicegate::io::tcp`) against `tokio::io::copy_buf` / `tokio::io::copy` and plain tokio read
//! and write loops, at the same chunk size (64 KiB; the relay also at 256 KiB).
//!
//! Two shapes, each run on a fresh current-thread tokio runtime, so every task shares one thread
//! and any overhead of the streams shows in full:
//!
//! * **relay**: a generator writes N bytes into a relay, which forwards them to a sink that counts
//!   them. The relay is the contender: sluicegate pipes the inbound connection's `readable` into
//!   the outbound connection's `writable`; tokio copies with `copy_buf` through a 64 KiB
//!   `BufReader` (the same chunk size), or with `copy` and its own buffer. Generator and sink are
//!   the same tokio loops (64 KiB writes and reads) for every contender. Two more relay rows
//!   read 256 KiB at a time: sluicegate with 256 KiB reads and a 256 KiB writable high-water
//!   mark, tokio's `copy_buf` through a 256 KiB `BufReader`.
//! * **ends**: one connection, sender and receiver both sluicegate (a `ReadableStream` of 64 KiB
//!   chunks piped into the connection's `writable`; the other connection's `readable` read to its
//!   end) or both tokio (`write_all` of the same chunks; `read` into a 64 KiB buffer).
//!
//! Every run checks that the sink counted exactly N bytes.

use std::time::Instant;

use bytes::Bytes;
use sluicegate::io::{tcp, ConnectionOptions};
use sluicegate::{PipeOptions, ReadableStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::report::{Contender, Measurement, RunResult};

/// The chunk size of every contender but the 256 KiB relays.
pub const CHUNK: usize = 64 * 1024;

/// The chunk size of the 256 KiB relay rows.
pub const LARGE_CHUNK: usize = 256 * 1024;

/// Which contender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Relay through `readable.pipe_to(&writable)`.
    RelaySluicegate,
    /// Relay through `tokio::io::copy_buf` with a 64 KiB `BufReader`.
    RelayCopyBuf,
    /// Relay through `tokio::io::copy` (its own buffer).
    RelayCopy,
    /// Relay through `readable.pipe_to(&writable)` with 256 KiB reads and a 256 KiB writable
    /// high-water mark.
    RelaySluicegateLarge,
    /// Relay through `tokio::io::copy_buf` with a 256 KiB `BufReader`.
    RelayCopyBufLarge,
    /// Both ends sluicegate streams.
    EndsSluicegate,
    /// Both ends tokio loops.
    EndsTokio,
}

impl Kind {
    /// Every contender, in table order.
    pub const ALL: [Kind; 7] = [
        Kind::RelaySluicegate,
        Kind::RelayCopyBuf,
        Kind::RelayCopy,
        Kind::RelaySluicegateLarge,
        Kind::RelayCopyBufLarge,
        Kind::EndsSluicegate,
        Kind::EndsTokio,
    ];

    /// Its name as a child process kind (`sluicegate-bench child tcp-relay-sluicegate [MiB]`).
    pub fn child_name(self) -> &'static str {
        match self {
            Kind::RelaySluicegate => "tcp-relay-sluicegate",
            Kind::RelayCopyBuf => "tcp-relay-copy-buf",
            Kind::RelayCopy => "tcp-relay-copy",
            Kind::RelaySluicegateLarge => "tcp-relay-sluicegate-256k",
            Kind::RelayCopyBufLarge => "tcp-relay-copy-buf-256k",
            Kind::EndsSluicegate => "tcp-ends-sluicegate",
            Kind::EndsTokio => "tcp-ends-tokio",
        }
    }

    /// Row label.
    pub fn name(self) -> &'static str {
        match self {
            Kind::RelaySluicegate => "relay: sluicegate tcp readable → pipe_to → tcp writable, 64 KiB reads",
            Kind::RelayCopyBuf => "relay: tokio::io::copy_buf, 64 KiB BufReader",
            Kind::RelayCopy => "relay: tokio::io::copy (its own buffer)",
            Kind::RelaySluicegateLarge => {
                "relay: sluicegate tcp readable → pipe_to → tcp writable, 256 KiB reads, 256 KiB high-water mark"
            }
            Kind::RelayCopyBufLarge => "relay: tokio::io::copy_buf, 256 KiB BufReader",
            Kind::EndsSluicegate => {
                "ends: sluicegate, ReadableStream → pipe_to → tcp writable; tcp readable read to the end"
            }
            Kind::EndsTokio => "ends: tokio write_all of 64 KiB chunks; read into a 64 KiB buffer",
        }
    }

    /// The relay's read size (and sluicegate's writable high-water mark).
    fn relay_chunk(self) -> usize {
        match self {
            Kind::RelaySluicegateLarge | Kind::RelayCopyBufLarge => LARGE_CHUNK,
            _ => CHUNK,
        }
    }
}

/// The contenders, moving `total` bytes per run.
pub fn contenders(total: u64) -> Vec<Contender<'static>> {
    Kind::ALL
        .iter()
        .map(|&k| Contender::new(k.name(), move || run(k, total)))
        .collect()
}

/// One run of `kind`: MB/s.
pub fn run(kind: Kind, total: u64) -> RunResult {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let started = Instant::now();
        let counted = match kind {
            Kind::EndsSluicegate | Kind::EndsTokio => ends(kind, total).await,
            _ => relay(kind, total).await,
        }
        .map_err(|e| format!("{}: {e}", kind.name()))?;
        let secs = started.elapsed().as_secs_f64();
        if counted != total {
            return Err(format!("{}: {counted} bytes arrived, {total} sent", kind.name()));
        }
        Ok(Measurement::value(total as f64 / secs / 1e6))
    })
}

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn listener() -> Result<(TcpListener, std::net::SocketAddr), Error> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    Ok((l, addr))
}

/// `total` bytes in 64 KiB chunks (the last one shorter), all slices of one buffer.
fn chunks(total: u64) -> impl Iterator<Item = Bytes> + Send + 'static {
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    let count = total.div_ceil(CHUNK as u64);
    (0..count).map(move |i| {
        let left = (total - i * CHUNK as u64).min(CHUNK as u64) as usize;
        chunk.slice(..left)
    })
}

/// Reads `socket` to its end with a tokio loop; the bytes counted.
async fn tokio_sink(mut socket: TcpStream) -> Result<u64, Error> {
    let mut buf = vec![0u8; CHUNK];
    let mut n = 0u64;
    loop {
        let k = socket.read(&mut buf).await?;
        if k == 0 {
            return Ok(n);
        }
        n += k as u64;
    }
}

/// Writes `total` bytes into `socket` with a tokio loop, then shuts its sending side down.
async fn tokio_source(mut socket: TcpStream, total: u64) -> Result<(), Error> {
    for chunk in chunks(total) {
        socket.write_all(&chunk).await?;
    }
    socket.shutdown().await?;
    Ok(())
}

async fn relay(kind: Kind, total: u64) -> Result<u64, Error> {
    let (sink_listener, sink_addr) = listener().await?;
    let (relay_listener, relay_addr) = listener().await?;
    let sink = tokio::spawn(async move { tokio_sink(sink_listener.accept().await?.0).await });
    let relay = tokio::spawn(async move {
        let (inbound, _) = relay_listener.accept().await?;
        let mut outbound = TcpStream::connect(sink_addr).await?;
        let chunk = kind.relay_chunk();
        match kind {
            Kind::RelaySluicegate | Kind::RelaySluicegateLarge => {
                let options = ConnectionOptions::default()
                    .chunk_size(chunk)
                    .write_high_water_mark(chunk);
                let from = tcp::from_stream(inbound, &options)?;
                let to = tcp::from_stream(outbound, &options)?;
                from.readable
                    .pipe_to(&to.writable, PipeOptions::default())
                    .await?;
            }
            Kind::RelayCopyBuf | Kind::RelayCopyBufLarge => {
                let mut from = BufReader::with_capacity(chunk, inbound);
                tokio::io::copy_buf(&mut from, &mut outbound).await?;
                outbound.shutdown().await?;
            }
            _ => {
                let mut from = inbound;
                tokio::io::copy(&mut from, &mut outbound).await?;
                outbound.shutdown().await?;
            }
        }
        Ok::<(), Error>(())
    });
    tokio_source(TcpStream::connect(relay_addr).await?, total).await?;
    relay.await??;
    sink.await?
}

async fn ends(kind: Kind, total: u64) -> Result<u64, Error> {
    let (l, addr) = listener().await?;
    if kind == Kind::EndsTokio {
        let sink = tokio::spawn(async move { tokio_sink(l.accept().await?.0).await });
        tokio_source(TcpStream::connect(addr).await?, total).await?;
        return sink.await?;
    }
    let options = ConnectionOptions::default().chunk_size(CHUNK);
    let sink = tokio::spawn(async move {
        let conn = tcp::from_stream(l.accept().await?.0, &options)?;
        let reader = conn.readable.get_reader()?;
        let mut n = 0u64;
        while let Some(chunk) = reader.read().await? {
            n += chunk.len() as u64;
        }
        Ok::<u64, Error>(n)
    });
    let conn = tcp::connect_with(addr, &ConnectionOptions::default().chunk_size(CHUNK)).await?;
    ReadableStream::from_iter(chunks(total))
        .pipe_to(&conn.writable, PipeOptions::default())
        .await?;
    sink.await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contender_moves_exactly_the_bytes_asked_for() {
        // An odd size: the last chunk is short.
        for kind in Kind::ALL {
            let m = run(kind, (3 << 20) + 12_345).unwrap();
            assert!(m.value > 0.0, "{kind:?}");
        }
    }
}
