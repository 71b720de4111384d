//! Criterion micro-benchmarks of sluicegate's per-chunk paths: `cargo bench -p sluicegate`.
//!
//! Every benchmark moves a batch of chunks per iteration (reported as elements per second), on
//! the calling thread with `futures::executor::block_on`:
//!
//! * `enqueue_read`: `controller.enqueue(x)` then `reader.read().await`, one chunk at a time.
//! * `write`: `writer.ready().await` then `writer.write(x)` into a sink that does nothing.
//! * `transform`: `writer.write(x)` into a mapping `TransformStream` and `reader.read().await`
//!   from its readable side.
//! * `pipe_hop`: `ReadableStream::from_iter(..).pipe_to(sink)`, stream setup included.
//! * `values`: `ReadableStream::from_iter(..).values()` consumed as a `futures::Stream`.
//! * `tee`: `ReadableStream::from_iter(..).tee()`, both branches read in step.
//!
//! Byte streams and BYOB reads are benchmarked in `byte_streams.rs`.
//! The side-by-side comparisons with tokio, futures, `whatwg_streams`, std and Node are in the
//! `sluicegate-bench` crate.

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::executor::block_on;
use futures::StreamExt;
use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::transform::TransformStream;
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{CountQueuingStrategy, PipeOptions, ReadableStreamDefaultController};

/// Chunks per iteration of the single-stream benchmarks.
const BATCH: u64 = 1_000;
/// Chunks per iteration of the benchmarks that build their streams inside the iteration.
const LONG_BATCH: u64 = 10_000;

fn enqueue_read(c: &mut Criterion) {
    let slot: Arc<Mutex<Option<ReadableStreamDefaultController<u64>>>> = Arc::default();
    let s = slot.clone();
    let stream = ReadableStream::with_strategy(
        SourceFn::new().start(move |c: &ReadableStreamDefaultController<u64>| {
            *s.lock().unwrap() = Some(c.clone());
        }),
        CountQueuingStrategy::new(16.0),
    )
    .unwrap();
    let controller = slot.lock().unwrap().take().unwrap();
    let reader = stream.get_reader().unwrap();
    let mut g = c.benchmark_group("per_chunk");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("enqueue_read", |b| {
        b.iter(|| {
            block_on(async {
                let mut sum = 0u64;
                for i in 0..BATCH {
                    controller.enqueue(i).unwrap();
                    sum += reader.read().await.unwrap().unwrap();
                }
                black_box(sum)
            })
        })
    });
}

fn write(c: &mut Criterion) {
    let sink = WritableStream::with_strategy(
        SinkFn::new().write(|x: u64, _| {
            black_box(x);
        }),
        CountQueuingStrategy::new(16.0),
    )
    .unwrap();
    let writer = sink.get_writer().unwrap();
    let mut g = c.benchmark_group("per_chunk");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("write", |b| {
        b.iter(|| {
            block_on(async {
                let mut last = None;
                for i in 0..BATCH {
                    writer.ready().await.unwrap();
                    last = Some(writer.write(i));
                }
                last.unwrap().await.unwrap();
            })
        })
    });
}

fn transform(c: &mut Criterion) {
    let t = TransformStream::map(|x: u64| x.wrapping_mul(3));
    let writer = t.writable().get_writer().unwrap();
    let reader = t.readable().get_reader().unwrap();
    let mut g = c.benchmark_group("per_chunk");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("transform", |b| {
        b.iter(|| {
            block_on(async {
                let mut sum = 0u64;
                for i in 0..BATCH {
                    let written = writer.write(i);
                    sum += reader.read().await.unwrap().unwrap();
                    written.await.unwrap();
                }
                black_box(sum)
            })
        })
    });
}

fn pipe_hop(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_chunk");
    g.throughput(Throughput::Elements(LONG_BATCH));
    g.bench_function("pipe_hop", |b| {
        b.iter(|| {
            let sink = WritableStream::with_strategy(
                SinkFn::new().write(|x: u64, _| {
                    black_box(x);
                }),
                CountQueuingStrategy::new(16.0),
            )
            .unwrap();
            let source = ReadableStream::from_iter(0..LONG_BATCH);
            block_on(source.pipe_to(&sink, PipeOptions::default())).unwrap();
        })
    });
}

fn values(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_chunk");
    g.throughput(Throughput::Elements(LONG_BATCH));
    g.bench_function("values", |b| {
        b.iter(|| {
            let stream = ReadableStream::from_iter(0..LONG_BATCH);
            let values = stream.values().unwrap();
            black_box(block_on(values.fold(0u64, |a, x| async move { a + x.unwrap() })))
        })
    });
}

fn tee(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_chunk");
    g.throughput(Throughput::Elements(LONG_BATCH));
    g.bench_function("tee", |b| {
        b.iter(|| {
            let (left, right) = ReadableStream::from_iter(0..LONG_BATCH).tee().unwrap();
            let (left, right) = (left.get_reader().unwrap(), right.get_reader().unwrap());
            block_on(async {
                let mut sum = 0u64;
                loop {
                    let (a, b) = futures::join!(left.read(), right.read());
                    match (a.unwrap(), b.unwrap()) {
                        (Some(a), Some(b)) => sum += a + b,
                        _ => break,
                    }
                }
                black_box(sum)
            })
        })
    });
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = enqueue_read, write, transform, pipe_hop, values, tee
}
criterion_main!(benches);
