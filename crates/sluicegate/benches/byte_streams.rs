//! Criterion micro-benchmarks of byte streams, side by side in one run:
//! `cargo bench -p sluicegate --bench byte_streams`.
//!
//! * `chunks_1k/default_stream`: a `ReadableStream<Bytes>` with a default controller, 1 KiB
//!   chunks enqueued and read one at a time (the baseline).
//! * `chunks_1k/byte_stream`: the same chunks through a readable byte stream and a default reader
//!   (enqueued `Bytes` are moved to the reader).
//! * `byob_64k/respond`: BYOB reads of 64 KiB into one reused aligned buffer, each answered by the
//!   source with `respond` after writing into the request's view in place (`with_view_mut`).
//! * `byob_64k/enqueue_copy`: the same reads answered by `enqueue` of a 64 KiB chunk, which the
//!   stream copies into the reader's buffer.

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::executor::block_on;
use sluicegate::readable::{
    ArrayBuffer, ByobView, ByteSourceFn, ReadableByteStreamController, ReadableStream, SourceFn,
};
use sluicegate::{Completion, CountQueuingStrategy, ReadableStreamDefaultController};

const BATCH: u64 = 1_000;
const BIG: usize = 64 * 1024;

fn chunks_1k(c: &mut Criterion) {
    let chunk = Bytes::from(vec![7u8; 1024]);
    let mut g = c.benchmark_group("chunks_1k");
    g.throughput(Throughput::Bytes(BATCH * 1024));

    let slot: Arc<Mutex<Option<ReadableStreamDefaultController<Bytes>>>> = Arc::default();
    let s = slot.clone();
    let stream = ReadableStream::with_strategy(
        SourceFn::new().start(move |c: &ReadableStreamDefaultController<Bytes>| {
            *s.lock().unwrap() = Some(c.clone());
        }),
        CountQueuingStrategy::new(16.0),
    )
    .unwrap();
    let controller = slot.lock().unwrap().take().unwrap();
    let reader = stream.get_reader().unwrap();
    g.bench_function("default_stream", |b| {
        b.iter(|| {
            block_on(async {
                let mut n = 0;
                for _ in 0..BATCH {
                    controller.enqueue(chunk.clone()).unwrap();
                    n += reader.read().await.unwrap().unwrap().len();
                }
                black_box(n)
            })
        })
    });

    let slot: Arc<Mutex<Option<ReadableByteStreamController>>> = Arc::default();
    let s = slot.clone();
    let stream = ReadableStream::with_byte_strategy(
        ByteSourceFn::new().start(move |c: &ReadableByteStreamController| {
            *s.lock().unwrap() = Some(c.clone());
        }),
        16.0 * 1024.0,
    )
    .unwrap();
    let controller = slot.lock().unwrap().take().unwrap();
    let reader = stream.get_reader().unwrap();
    g.bench_function("byte_stream", |b| {
        b.iter(|| {
            block_on(async {
                let mut n = 0;
                for _ in 0..BATCH {
                    controller.enqueue(chunk.clone()).unwrap();
                    n += reader.read().await.unwrap().unwrap().len();
                }
                black_box(n)
            })
        })
    });
    g.finish();
}

fn byob_64k(c: &mut Criterion) {
    let mut g = c.benchmark_group("byob_64k");
    g.throughput(Throughput::Bytes(100 * BIG as u64));

    let stream = ReadableStream::new_bytes(ByteSourceFn::new().pull(|c: &ReadableByteStreamController| {
        let request = c.byob_request().expect("a BYOB read is waiting");
        let n = request
            .with_view_mut(|view| {
                view.fill(1);
                view.len()
            })
            .unwrap();
        request.respond(n).unwrap();
        Completion::ok()
    }))
    .unwrap();
    let reader = stream.get_byob_reader().unwrap();
    let mut spare = Some(ArrayBuffer::aligned(BIG));
    g.bench_function("respond", |b| {
        b.iter(|| {
            block_on(async {
                let mut buffer = spare.take().unwrap();
                let mut n = 0;
                for _ in 0..100 {
                    let view = reader.read(ByobView::new(buffer)).await.unwrap().view.unwrap();
                    n += view.byte_length();
                    buffer = view.into_buffer();
                }
                spare = Some(buffer);
                black_box(n)
            })
        })
    });

    let big = Bytes::from(vec![1u8; BIG]);
    let stream =
        ReadableStream::new_bytes(ByteSourceFn::new().pull(move |c: &ReadableByteStreamController| {
            c.enqueue(big.clone()).unwrap();
            Completion::ok()
        }))
        .unwrap();
    let reader = stream.get_byob_reader().unwrap();
    let mut spare = Some(ArrayBuffer::aligned(BIG));
    g.bench_function("enqueue_copy", |b| {
        b.iter(|| {
            block_on(async {
                let mut buffer = spare.take().unwrap();
                let mut n = 0;
                for _ in 0..100 {
                    let view = reader.read(ByobView::new(buffer)).await.unwrap().view.unwrap();
                    n += view.byte_length();
                    buffer = view.into_buffer();
                }
                spare = Some(buffer);
                black_box(n)
            })
        })
    });
    g.finish();
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
    targets = chunks_1k, byob_64k
}
criterion_main!(benches);
