//! The decompression bomb test: 1 GiB of zeros, gzip-compressed (1 MiB of input), through the
//! gzip decoder into a discarding sink, in a child process whose peak RSS must stay under
//! 16 MiB. The 10 GiB run is `cargo run --release -p sluicegate-transforms --example bomb --
//! --gib 10`.
//!
//! Its own harness (`harness = false`): the parent runs this binary again as the child, so that
//! the RSS measured is the bomb's alone.

#[path = "support/bomb.rs"]
mod bomb;

const CHILD: &str = "SLUICEGATE_BOMB_CHILD";
const LIMIT: u64 = 16 << 20;

fn main() {
    if std::env::var_os(CHILD).is_some() {
        let (out, rss) = bomb::run(1);
        println!("{out} {rss}");
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut fields = stdout.split_whitespace().map(|f| f.parse::<u64>().unwrap());
    let (out, rss) = (fields.next().unwrap(), fields.next().unwrap());
    println!(
        "gzip bomb: {} MiB of zeros out, peak RSS {:.1} MiB",
        out >> 20,
        rss as f64 / 1048576.0
    );
    assert_eq!(out, 1 << 30, "every byte of the bomb comes out");
    assert!(rss < LIMIT, "peak RSS {rss} bytes is over {LIMIT}");
    println!("1 passed, 0 failed");
}
