//! A decompression bomb through the gzip decoder: `--gib N` GiB of zeros (default 10), gzip'd
//! at level 9 as concatenated 64 MiB members, into a sink that discards what it gets. Prints the
//! bytes out, the time and the peak RSS.
//!
//! ```sh
//! cargo run --release -p sluicegate-transforms --example bomb -- --gib 10
//! ```

#[path = "../tests/support/bomb.rs"]
mod bomb;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let gib = match args.iter().position(|a| a == "--gib") {
        Some(i) => match args.get(i + 1).and_then(|g| g.parse::<u64>().ok()) {
            Some(gib) if gib <= 1 << 30 => gib,
            _ => {
                eprintln!("bomb: --gib takes a whole number of GiB, at most 2^30");
                std::process::exit(2);
            }
        },
        None => 10,
    };
    let start = std::time::Instant::now();
    let (out, rss) = bomb::run(gib);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{gib} GiB bomb: {} bytes out in {secs:.1} s ({:.0} MB/s), peak RSS {:.1} MiB",
        out,
        out as f64 / secs / 1e6,
        rss as f64 / 1048576.0
    );
}
