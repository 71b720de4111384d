//! The objects scenario of `sluicegate-bench node-model` on its own, for profiling: N `u64`
//! through `Readable::from_iter` → `Transform` (x * 3 + 1) → `Writable`, high-water mark 16
//! everywhere, joined with `Pipeline`. Prints items per second.
//!
//! ```sh
//! cargo run --release -p sluicegate-node --example objects_profile -- 3000000
//! perf record ./target/release/examples/objects_profile 3000000
//! valgrind --tool=callgrind ./target/release/examples/objects_profile 200000
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sluicegate_node::{
    Completion, DuplexOptions, Pipeline, Readable, ReadableOptions, Transform, TransformImpl, Writable,
    WritableOptions,
};

struct Map;

impl TransformImpl<u64, u64> for Map {
    fn transform(&mut self, x: u64, out: &Readable<u64>) -> Completion {
        out.push(x * 3 + 1);
        Completion::ok()
    }
}

fn main() {
    let n: u64 = match std::env::args().nth(1).map(|s| s.parse::<u64>()) {
        None => 2_000_000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("objects_profile: the argument is the number of items, a whole number");
            std::process::exit(2);
        }
    };
    let sum = Arc::new(AtomicU64::new(0));
    let s = sum.clone();
    let started = Instant::now();
    let src = Readable::from_iter_with(0..n, ReadableOptions::objects().high_water_mark(16));
    let mapper = Transform::transform_with(
        Map,
        DuplexOptions {
            readable: ReadableOptions::objects().high_water_mark(16),
            writable: WritableOptions::objects().high_water_mark(16),
            ..DuplexOptions::default()
        },
    );
    let sink = Writable::from_fn_with(
        move |x: u64| {
            s.fetch_add(x, Ordering::Relaxed);
            Completion::ok()
        },
        WritableOptions::objects().high_water_mark(16),
    );
    futures::executor::block_on(Pipeline::from(src).pipe(&mapper).to(&sink)).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let expected = 3 * n * n.saturating_sub(1) / 2 + n;
    assert_eq!(sum.load(Ordering::Relaxed), expected, "every item arrived, once");
    println!("{:.2} M items/s", n as f64 / secs / 1e6);
}
