//! `transforms`: the transform streams of `sluicegate-transforms` beside their codec crates used
//! directly, in one process, alternating rounds, medians (MB/s of uncompressed data):
//! gzip level 1 and gunzip against flate2 (zlib-rs), UTF-8 decoding against encoding_rs, line
//! splitting against `tokio_util::codec::LinesCodec`. Input: 64 MiB of generated log text (mixed
//! ASCII and CJK for the decoder) in 64 KiB chunks. Each group's contenders must count the same
//! bytes (for lines: each line's bytes and its terminator), or the run fails.
//!
//! Each row has two figures: MB/s of wall time, and MB/s of CPU time (the process's, every
//! thread's), which a machine shared with other work disturbs far less: on a loaded machine the
//! wall figures of runs this short (tens of milliseconds for the decoder) swing with the
//! scheduler, the CPU figures much less.
//!
//! Three rows explain the decoder's figure rather than compete: the stream's codec driven by hand
//! (`TextDecoderCodec` in a `Pump`, no stream: what the decoding layer of the stream costs by
//! itself), encoding_rs writing a new `String` per chunk (what handing out owned text costs by
//! itself) and the decoder's pipeline with an identity transform in its place (what moving 64 KiB
//! chunks through the streams costs).
//!
//! Then `CompressionStream` in sluicejs beside Node's on one script ([`crate::js_compression`];
//! `--no-js` leaves it out).
//!
//! `cargo run --release -p sluicegate-bench -- transforms [--rounds N] [--no-js] [--only NAME]`
//!
//! `--only NAME` runs only the rows whose name contains NAME (ASCII case-insensitive), each with
//! its group's reference (the crate used directly, needed for the ratio and the byte count), and
//! leaves out the JavaScript comparison: `--only 'text::decode'` reruns the decoder's row alone.

use std::io::{Read, Write};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sluicegate::transform::{TransformStreamDefaultController, TransformerFn};
use sluicegate::{ByteLengthQueuingStrategy, PipeOptions, ReadableStream, TransformStream};
use sluicegate_transforms::codec::Pump;
use sluicegate_transforms::compression::{compress_level, decompress, Format};
use sluicegate_transforms::lines::{byte_line_batches, line_batches, lines};
use sluicegate_transforms::text::{decode, DecodeOptions, TextDecoderCodec, MAX_TEXT_PIECE};
use tokio_util::codec::{Decoder, LinesCodec};

use crate::proc::process_cpu_time;

const CHUNK: usize = 64 * 1024;
const SIZE: usize = 64 << 20;

/// Runs the scenario if `args` asks for it; returns the exit code.
pub fn dispatch(args: &[String]) -> Option<i32> {
    if let [child, sluicejs, script] = args {
        if child == "child" && sluicejs == "sluicejs" {
            return Some(match crate::js_compression::child(script) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("sluicegate-bench child sluicejs: {e}");
                    1
                }
            });
        }
    }
    if args.first().map(String::as_str) != Some("transforms") {
        return None;
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .map(|i| args.get(i + 1).cloned())
    };
    let rounds = match value("--rounds") {
        None => 3,
        Some(r) => match r.and_then(|r| r.parse().ok()).filter(|&r: &usize| r > 0) {
            Some(r) => r,
            None => {
                eprintln!("--rounds needs a positive number");
                return Some(2);
            }
        },
    };
    let only = match value("--only") {
        None => None,
        Some(Some(name)) => Some(name),
        Some(None) => {
            eprintln!("--only needs a row name (or part of one)");
            return Some(2);
        }
    };
    match run(rounds, only.as_deref()) {
        Ok(table) => print!("{table}"),
        Err(e) => {
            eprintln!("{e}");
            return Some(2);
        }
    }
    if only.is_none() && !args.iter().any(|a| a == "--no-js") {
        print!("\n{}", crate::js_compression::run(rounds));
    }
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

/// Pipes `input` through `t` and counts what comes out with `len`.
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

/// What every line contender counts: the line's bytes and its terminator.
fn line_bytes(line: &str) -> usize {
    line.len() + 1
}

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One contender: a name and a run returning how many bytes of output it counted.
type Contender<'a> = (&'static str, Box<dyn Fn() -> usize + 'a>);

/// Contenders for one job, the reference (the crate used directly) first; every contender of a
/// group must count the same number of bytes, or the run fails.
struct Group<'a> {
    reference: Contender<'a>,
    others: Vec<Contender<'a>>,
}

impl<'a> Group<'a> {
    /// Every row, the reference first.
    fn rows(&self) -> impl Iterator<Item = &Contender<'a>> {
        std::iter::once(&self.reference).chain(&self.others)
    }
}

/// Keeps the rows whose name contains `only` (ASCII case-insensitive), each with its group's
/// reference; a group none of whose rows match is dropped. An error names every row when
/// nothing matches.
fn select<'a>(groups: Vec<Group<'a>>, only: &str) -> Result<Vec<Group<'a>>, String> {
    let only = only.to_ascii_lowercase();
    let matches = |name: &str| name.to_ascii_lowercase().contains(&only);
    let all: Vec<&'static str> = groups.iter().flat_map(|g| g.rows().map(|c| c.0)).collect();
    let kept: Vec<Group> = groups
        .into_iter()
        .filter_map(|mut g| {
            g.others.retain(|c| matches(c.0));
            (matches(g.reference.0) || !g.others.is_empty()).then_some(g)
        })
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "--only {only:?} matches no row; the rows are:\n  {}",
            all.join("\n  ")
        ));
    }
    Ok(kept)
}

fn run(rounds: usize, only: Option<&str>) -> Result<String, String> {
    let text = Bytes::from(log_text(false));
    let mixed = Bytes::from(log_text(true));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
    gz.write_all(&text).unwrap();
    let packed = Bytes::from(gz.finish().unwrap());
    let groups: Vec<Group> = vec![
        Group {
            reference: (
                "gzip -1: flate2 write::GzEncoder (zlib-rs), 64 KiB writes",
                Box::new(|| {
                    let mut e = flate2::write::GzEncoder::new(std::io::sink(), flate2::Compression::new(1));
                    for c in chunks(&text) {
                        e.write_all(&c).unwrap();
                    }
                    e.finish().unwrap();
                    text.len()
                }),
            ),
            others: vec![(
                "gzip -1: compress_level(Gzip, 1) stream",
                Box::new(|| {
                    through(
                        compress_level(Format::Gzip, 1).unwrap(),
                        chunks(&text),
                        Bytes::len,
                    );
                    text.len()
                }),
            )],
        },
        Group {
            reference: (
                "gunzip: flate2 read::MultiGzDecoder (zlib-rs), 64 KiB reads",
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
            others: vec![(
                "gunzip: decompress(Gzip) stream",
                Box::new(|| through(decompress(Format::Gzip).unwrap(), chunks(&packed), Bytes::len)),
            )],
        },
        Group {
            reference: (
                "UTF-8 decode: encoding_rs Decoder, one reused String",
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
            others: vec![
                (
                    "UTF-8 decode: text::decode(\"utf-8\") stream",
                    Box::new(|| {
                        through(
                            decode("utf-8", DecodeOptions::default()).unwrap(),
                            chunks(&mixed),
                            String::len,
                        )
                    }),
                ),
                (
                    "UTF-8 decode: TextDecoderCodec in a Pump, no stream (the stream's codec alone)",
                    Box::new(|| {
                        let codec = TextDecoderCodec::new("utf-8", DecodeOptions::default()).unwrap();
                        let mut pump = Pump::new(codec, MAX_TEXT_PIECE);
                        let mut n = 0;
                        for c in chunks(&mixed) {
                            pump.push(c);
                            while let Some(text) = pump.next_piece().unwrap() {
                                n += std::hint::black_box(text).len();
                            }
                        }
                        while let Some(text) = pump.finish_piece().unwrap() {
                            n += std::hint::black_box(text).len();
                        }
                        n
                    }),
                ),
                (
                    "UTF-8 decode: encoding_rs Decoder, a new String per chunk",
                    Box::new(|| {
                        let mut d = encoding_rs::UTF_8.new_decoder_with_bom_removal();
                        let mut n = 0;
                        for c in chunks(&mixed) {
                            let room = d.max_utf8_buffer_length_without_replacement(c.len()).unwrap();
                            let mut out = String::with_capacity(room);
                            let _ = d.decode_to_string(&c, &mut out, false);
                            n += std::hint::black_box(out).len();
                        }
                        n
                    }),
                ),
                (
                    "the same pipeline with an identity transform (no decoding)",
                    Box::new(|| {
                        let identity = TransformStream::with_strategies(
                            TransformerFn::new(|b: Bytes, c: &TransformStreamDefaultController<Bytes>| {
                                c.enqueue(b)
                            }),
                            ByteLengthQueuingStrategy::new(CHUNK as f64),
                            ByteLengthQueuingStrategy::new(CHUNK as f64),
                        )
                        .unwrap();
                        through(identity, chunks(&mixed), Bytes::len)
                    }),
                ),
            ],
        },
        Group {
            reference: (
                "lines: tokio_util LinesCodec (decode, then decode_eof)",
                Box::new(|| {
                    let mut codec = LinesCodec::new_with_max_length(CHUNK);
                    let mut buf = BytesMut::new();
                    let mut n = 0;
                    for c in chunks(&text) {
                        buf.extend_from_slice(&c);
                        while let Some(line) = codec.decode(&mut buf).unwrap() {
                            n += line_bytes(&line);
                        }
                    }
                    while let Some(line) = codec.decode_eof(&mut buf).unwrap() {
                        n += line_bytes(&line);
                    }
                    n
                }),
            ),
            others: vec![
                (
                    "lines: lines(64 KiB) stream, a String per line",
                    Box::new(|| through(lines(CHUNK), chunks(&text), |s: &String| line_bytes(s))),
                ),
                (
                    "lines: line_batches(64 KiB) stream, a Vec<String> per chunk",
                    Box::new(|| {
                        through(line_batches(CHUNK), chunks(&text), |b: &Vec<String>| {
                            b.iter().map(|s| line_bytes(s)).sum()
                        })
                    }),
                ),
                (
                    "lines: byte_line_batches(64 KiB) stream, a Vec<Bytes> per chunk",
                    Box::new(|| {
                        through(byte_line_batches(CHUNK), chunks(&text), |b: &Vec<Bytes>| {
                            b.iter().map(|l| l.len() + 1).sum()
                        })
                    }),
                ),
            ],
        },
    ];
    let groups = match only {
        Some(only) => select(groups, only)?,
        None => groups,
    };
    // Every contender's figure per round, group by group, reference first.
    // (wall, CPU) MB/s per round.
    let mut results: Vec<Vec<Vec<(f64, f64)>>> = groups
        .iter()
        .map(|g| vec![Vec::new(); 1 + g.others.len()])
        .collect();
    for _ in 0..rounds {
        for (g, group) in groups.iter().enumerate() {
            let mut counted = None;
            for (i, (name, f)) in group.rows().enumerate() {
                let (start, cpu) = (Instant::now(), process_cpu_time());
                let n = f();
                let wall = start.elapsed().as_secs_f64();
                let cpu = (process_cpu_time() - cpu).as_secs_f64();
                results[g][i].push((mbps(SIZE, wall), mbps(SIZE, cpu)));
                match counted {
                    None => counted = Some(n),
                    Some(m) => assert_eq!(n, m, "{name} counted {n} bytes, its reference {m}"),
                }
            }
        }
    }
    let mut out = format!(
        "transforms: 64 MiB, 64 KiB chunks, median of {rounds} alternating rounds (MB/s of uncompressed data, \
         per second of wall time and per second of the process's CPU time)\n\n\
         | contender | MB/s | ratio to the crate used directly | MB/s of CPU time | ratio |\n|---|---|---|---|---|\n"
    );
    for (group, figures) in groups.iter().zip(&results) {
        let wall = |i: usize| median(figures[i].iter().map(|r| r.0).collect());
        let cpu = |i: usize| median(figures[i].iter().map(|r| r.1).collect());
        let (wall_ref, cpu_ref) = (wall(0), cpu(0));
        for (i, (name, _)) in group.rows().enumerate() {
            let (w, c) = (wall(i), cpu(i));
            let (wr, cr) = if i == 0 {
                (String::new(), String::new())
            } else {
                (format!("{:.2}x", w / wall_ref), format!("{:.2}x", c / cpu_ref))
            };
            out += &format!("| {name} | {w:.0} | {wr} | {c:.0} | {cr} |\n");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(groups: &[Group]) -> Vec<Vec<&'static str>> {
        groups.iter().map(|g| g.rows().map(|c| c.0).collect()).collect()
    }

    fn groups() -> Vec<Group<'static>> {
        let c = |name: &'static str| -> Contender<'static> { (name, Box::new(|| 0)) };
        vec![
            Group {
                reference: c("gzip: flate2"),
                others: vec![c("gzip: stream")],
            },
            Group {
                reference: c("UTF-8 decode: encoding_rs"),
                others: vec![c("UTF-8 decode: text::decode stream"), c("identity pipeline")],
            },
        ]
    }

    #[test]
    fn only_keeps_the_matching_rows_with_their_reference() {
        let kept = select(groups(), "TEXT::DECODE").unwrap();
        assert_eq!(
            names(&kept),
            vec![vec![
                "UTF-8 decode: encoding_rs",
                "UTF-8 decode: text::decode stream"
            ]]
        );
        // A reference alone, and rows of two groups.
        assert_eq!(
            names(&select(groups(), "flate2").unwrap()),
            vec![vec!["gzip: flate2"]]
        );
        assert_eq!(
            names(&select(groups(), "stream").unwrap()),
            vec![
                vec!["gzip: flate2", "gzip: stream"],
                vec!["UTF-8 decode: encoding_rs", "UTF-8 decode: text::decode stream"]
            ]
        );
        let Err(e) = select(groups(), "nope") else {
            panic!("--only nope matched a row");
        };
        assert!(e.contains("identity pipeline"), "{e}");
    }
}
