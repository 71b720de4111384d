//! `transforms`: the transform streams of `sluicegate-transforms` beside their codec crates used
//! directly, in one process, alternating rounds, medians (MB/s of uncompressed data):
//! gzip level 1 and gunzip against flate2 (zlib-rs), UTF-8 decoding against encoding_rs, line
//! splitting against `tokio_util::codec::LinesCodec`. Input: 64 MiB of generated log text (mixed
//! ASCII and CJK for the decoder) in 64 KiB chunks.
//!
//! `cargo run --release -p sluicegate-bench -- transforms [--rounds N]`

use std::io::{Read, Write};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sluicegate::{PipeOptions, ReadableStream, TransformStream};
use sluicegate_transforms::compression::{compress_level, decompress, Format};
use sluicegate_transforms::lines::lines;
use sluicegate_transforms::text::{decode, DecodeOptions};
use tokio_util::codec::{Decoder, LinesCodec};

const CHUNK: usize = 64 * 1024;
const SIZE: usize = 64 << 20;

/// Runs the scenario if `args` asks for it; returns the exit code.
pub fn dispatch(args: &[String]) -> Option<i32> {
    if args.first().map(String::as_str) != Some("transforms") {
        return None;
    }
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    print!("{}", run(rounds));
    Some(0)
}

fn log_text(cjk: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIZE + 200);
    let mut i = 0u64;
    while out.len() < SIZE {
        i += 1;
        let line = if cjk && i % 2 == 0 {
            format!(
                "{i} 日本語のログ行 ステータス {} 経路 /api/項目/{}\n",
                200 + i % 5,
                i % 977
            )
        } else {
            format!(
                "2026-12-05T10:{:02}:{:02} GET /api/items/{} 200 {}ms\n",
                i % 60,
                i % 59,
                i % 977,
                i % 300
            )
        };
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(SIZE);
    out
}

fn chunks(data: &Bytes) -> Vec<Bytes> {
    (0..data.len())
        .step_by(CHUNK)
        .map(|i| data.slice(i..(i + CHUNK).min(data.len())))
        .collect()
}

/// Pipes `input` through `t` and counts what comes out (bytes of its output's `len`).
fn through<O: Send + 'static>(
    t: TransformStream<Bytes, O>,
    input: Vec<Bytes>,
    len: fn(&O) -> usize,
) -> usize {
    futures::executor::block_on(async {
        let out = ReadableStream::from_iter(input)
            .pipe_through(&t, PipeOptions::default())
            .unwrap();
        let mut values = out.values().unwrap();
        let mut n = 0;
        while let Some(v) = values.next().await {
            n += len(&v.unwrap());
        }
        n
    })
}

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One contender: a name and a run returning how many bytes of output it made.
type Contender<'a> = (&'static str, Box<dyn Fn() -> usize + 'a>);

fn run(rounds: usize) -> String {
    let text = Bytes::from(log_text(false));
    let mixed = Bytes::from(log_text(true));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
    gz.write_all(&text).unwrap();
    let packed = Bytes::from(gz.finish().unwrap());
    let contenders: Vec<Contender> = vec![
        (
            "gzip -1: compress_level(Gzip, 1) stream",
            Box::new(|| {
                through(
                    compress_level(Format::Gzip, 1).unwrap(),
                    chunks(&text),
                    Bytes::len,
                );
                text.len()
            }),
        ),
        (
            "gzip -1: flate2 write::GzEncoder, 64 KiB writes",
            Box::new(|| {
                let mut e = flate2::write::GzEncoder::new(std::io::sink(), flate2::Compression::new(1));
                for c in chunks(&text) {
                    e.write_all(&c).unwrap();
                }
                e.finish().unwrap();
                text.len()
            }),
        ),
        (
            "gunzip: decompress(Gzip)",
            Box::new(|| through(decompress(Format::Gzip).unwrap(), chunks(&packed), Bytes::len)),
        ),
        (
            "gunzip: flate2 read::MultiGzDecoder, 64 KiB reads",
            Box::new(|| {
                let mut d = flate2::read::MultiGzDecoder::new(&packed[..]);
                let mut buf = vec![0u8; CHUNK];
                let mut n = 0;
                loop {
                    let r = d.read(&mut buf).unwrap();
                    if r == 0 {
                        break n;
                    }
                    n += r;
                }
            }),
        ),
        (
            "UTF-8 decode: decode(\"utf-8\")",
            Box::new(|| {
                through(
                    decode("utf-8", DecodeOptions::default()).unwrap(),
                    chunks(&mixed),
                    String::len,
                )
            }),
        ),
        (
            "UTF-8 decode: encoding_rs Decoder, 64 KiB chunks",
            Box::new(|| {
                let mut d = encoding_rs::UTF_8.new_decoder_with_bom_removal();
                let mut out = String::with_capacity(CHUNK * 3);
                let mut n = 0;
                for c in chunks(&mixed) {
                    out.clear();
                    let _ = d.decode_to_string(&c, &mut out, false);
                    n += out.len();
                }
                n
            }),
        ),
        (
            "lines: lines(64 KiB)",
            Box::new(|| through(lines(CHUNK), chunks(&text), |s: &String| s.len() + 1)),
        ),
        (
            "lines: tokio_util LinesCodec",
            Box::new(|| {
                let mut codec = LinesCodec::new_with_max_length(CHUNK);
                let mut buf = BytesMut::new();
                let mut n = 0;
                for c in chunks(&text) {
                    buf.extend_from_slice(&c);
                    while let Some(line) = codec.decode(&mut buf).unwrap() {
                        n += line.len() + 1;
                    }
                }
                n
            }),
        ),
    ];
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for _ in 0..rounds {
        for (i, (_, f)) in contenders.iter().enumerate() {
            let start = Instant::now();
            let _ = f();
            results[i].push(mbps(SIZE, start.elapsed().as_secs_f64()));
        }
    }
    let mut out = format!("transforms: 64 MiB, 64 KiB chunks, median of {rounds} alternating rounds (MB/s of uncompressed data)\n\n| contender | MB/s | ratio to the direct crate |\n|---|---|---|\n");
    for pair in contenders.chunks(2).zip(results.chunks(2)) {
        let (names, rs) = (pair.0.iter().map(|c| c.0).collect::<Vec<_>>(), pair.1);
        let (ours, direct) = (median(rs[0].clone()), median(rs[1].clone()));
        out += &format!(
            "| {} | {ours:.0} | {:.2}x |\n| {} | {direct:.0} | |\n",
            names[0],
            ours / direct,
            names[1]
        );
    }
    out
}
