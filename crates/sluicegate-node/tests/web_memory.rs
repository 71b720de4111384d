//! Peak memory of a file copied through `Readable::to_web` and back (`Readable::from_web_bytes`)
//! into a file: it must not grow with the file's size (Node's `Readable.toWeb` reads a whole
//! file into memory). Each size runs in a child process of this binary, which reports its own
//! peak RSS (`getrusage`); the parent compares them.
//!
//! `cargo test -p sluicegate-node --test web_memory` copies 8 and 64 MiB (fast enough for a
//! debug build). The full check, 1 GiB beside 16 MiB:
//!
//! ```sh
//! cargo test --release -p sluicegate-node --test web_memory -- --mib 1024
//! ```
//!
//! It runs without libtest (`harness = false`) because the children must own their process.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::{Bytes, BytesMut};
use sluicegate_node::{
    Completion, Pipeline, ReadImpl, Readable, ReadableOptions, Writable, WritableOptions, WriteImpl,
};

const CHUNK: usize = 64 * 1024;

struct FileSource(File);

impl ReadImpl<Bytes> for FileSource {
    fn read(&mut self, _size: usize, stream: &Readable<Bytes>) {
        loop {
            let mut buf = BytesMut::zeroed(CHUNK);
            match self.0.read(&mut buf) {
                Ok(0) => {
                    stream.push_end();
                    return;
                }
                Ok(n) => {
                    buf.truncate(n);
                    if !stream.push(buf.freeze()) {
                        return;
                    }
                }
                Err(e) => {
                    stream.destroy(Some(e.into()));
                    return;
                }
            }
        }
    }
}

struct FileSink(File);

impl WriteImpl<Bytes> for FileSink {
    fn write(&mut self, chunk: Bytes) -> Completion {
        self.0.write_all(&chunk).map_err(Into::into).into()
    }
}

fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_maxrss
}

/// The child: copy `input` to `output` through to_web and back, print the peak RSS.
fn child(input: &Path, output: &Path) {
    let src = Readable::with_options(FileSource(File::open(input).unwrap()), ReadableOptions::bytes());
    let web = src.to_web();
    let back = Readable::from_web_bytes(&web).unwrap();
    let sink = Writable::with_options(FileSink(File::create(output).unwrap()), WritableOptions::bytes());
    futures::executor::block_on(Pipeline::from(back).to(&sink)).unwrap();
    println!("peak_rss_kib {}", peak_rss_kib());
}

/// Writes `mib` MiB of distinct bytes (no two 64 KiB blocks alike).
fn generate(path: &Path, mib: u64) {
    let mut f = std::io::BufWriter::new(File::create(path).unwrap());
    let mut block = vec![0u8; CHUNK];
    for i in 0..mib * 16 {
        for (j, b) in block.iter_mut().enumerate() {
            *b = (i as usize * 31 + j * 7) as u8;
        }
        block[..8].copy_from_slice(&i.to_le_bytes());
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

fn run_child(input: &Path, output: &Path) -> i64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .arg(input)
        .arg(output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("peak_rss_kib "))
        .expect("the child's report");
    line["peak_rss_kib ".len()..].trim().parse().unwrap()
}

fn same_contents(a: &Path, b: &Path) -> bool {
    let (mut fa, mut fb) = (File::open(a).unwrap(), File::open(b).unwrap());
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = fa.read(&mut ba).unwrap();
        let mut nb = 0;
        while nb < na {
            let k = fb.read(&mut bb[nb..na]).unwrap();
            if k == 0 {
                return false;
            }
            nb += k;
        }
        if na == 0 {
            return fb.read(&mut bb).unwrap() == 0;
        }
        if ba[..na] != bb[..na] {
            return false;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(Path::new(&args[2]), Path::new(&args[3]));
        return;
    }
    // `cargo test` passes libtest's flags and filters; only `--mib N` means anything here.
    let big: u64 = args
        .iter()
        .position(|a| a == "--mib")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let small: u64 = if big >= 256 { 16 } else { 8 };
    let dir: PathBuf = std::env::temp_dir().join(format!("sg-node-web-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut peaks = Vec::new();
    for mib in [small, big] {
        let (input, output) = (dir.join(format!("in-{mib}")), dir.join(format!("out-{mib}")));
        generate(&input, mib);
        let peak = run_child(&input, &output);
        assert!(
            same_contents(&input, &output),
            "{mib} MiB: the copy differs from the input"
        );
        std::fs::remove_file(&input).unwrap();
        std::fs::remove_file(&output).unwrap();
        println!(
            "{mib} MiB through to_web and back: peak RSS {:.1} MiB",
            peak as f64 / 1024.0
        );
        peaks.push(peak);
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let growth = (peaks[1] - peaks[0]) as f64 / 1024.0;
    assert!(
        growth < 4.0,
        "peak RSS grew by {growth:.1} MiB from {small} MiB to {big} MiB of input"
    );
    println!("test web_memory ... ok (growth {growth:.1} MiB)");
}
