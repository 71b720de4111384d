//! Per-stream statistics (`sluicegate::stats`): counts in and out, bytes of byte-like chunks,
//! queue fill, phases and their clocks, and the pipeline view of a pipe chain.

use std::time::Duration;

use bytes::Bytes;
use sluicegate::readable::{ByteSourceFn, ReadableStream, ReadableStreamDefaultController, SourceFn};
use sluicegate::stats::{Phase, PipelineStats, StageKind, StageStats, State, StreamStats};
use sluicegate::transform::{TransformStream, TransformerFn};
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{
    ByteLengthQueuingStrategy, Completion, CountQueuingStrategy, PipeOptions, Resolver, StreamError,
};

fn chunks(n: usize, len: usize) -> Vec<Bytes> {
    (0..n).map(|i| Bytes::from(vec![i as u8; len])).collect()
}

#[test]
fn a_pipe_chain_counts_every_chunk_and_byte_at_every_stage() {
    futures::executor::block_on(async {
        let source = ReadableStream::from_iter(chunks(10, 100));
        let first = TransformStream::<Bytes, Bytes>::identity();
        // A transform that makes two chunks of each one.
        let split = TransformStream::new(TransformerFn::new(|b: Bytes, c| {
            let half = b.len() / 2;
            c.enqueue(b.slice(..half))?;
            c.enqueue(b.slice(half..))
        }))
        .unwrap();
        let sink = WritableStream::new(SinkFn::new().write(|_: Bytes, _| {})).unwrap();
        source
            .pipe_through(&first, PipeOptions::default())
            .unwrap()
            .pipe_through(&split, PipeOptions::default())
            .unwrap()
            .pipe_to(&sink, PipeOptions::default())
            .await
            .unwrap();

        let s = source.stats();
        assert!(s.enabled);
        assert_eq!(
            (s.chunks_in, s.chunks_out, s.bytes_in, s.bytes_out),
            (10, 10, 1000, 1000)
        );
        assert_eq!(s.state, State::Closed);
        assert_eq!(s.phase, if s.timed { Phase::Done } else { Phase::Idle });

        let t = split.stats();
        let (input, output) = (t.input.unwrap(), t.output.unwrap());
        assert_eq!(
            (input.chunks_in, input.chunks_out, input.bytes_out),
            (10, 10, 1000)
        );
        assert_eq!(
            (output.chunks_in, output.chunks_out, output.bytes_out),
            (20, 20, 1000)
        );

        let k = sink.stats();
        assert_eq!(
            (k.chunks_in, k.chunks_out, k.bytes_in, k.bytes_out),
            (20, 20, 1000, 1000)
        );
        assert_eq!(k.state, State::Closed);
        assert_eq!(k.queue_size, 0.0);
    });
}

#[test]
fn the_pipeline_view_has_one_stage_per_source_transform_and_sink() {
    futures::executor::block_on(async {
        let source = ReadableStream::from_iter(chunks(4, 8));
        let a = TransformStream::<Bytes, Bytes>::identity();
        let b = TransformStream::map(|b: Bytes| b.len());
        let sink = WritableStream::new(SinkFn::new().write(|_: usize, _| {})).unwrap();
        let mid = source.pipe_through(&a, PipeOptions::default()).unwrap();
        let lens = mid.pipe_through(&b, PipeOptions::default()).unwrap();
        lens.pipe_to(&sink, PipeOptions::default()).await.unwrap();

        let p = sink.pipeline_stats();
        let kinds: Vec<StageKind> = p.stages.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StageKind::Source,
                StageKind::Transform,
                StageKind::Transform,
                StageKind::Sink
            ]
        );
        assert!(p.stages[0].input.is_none());
        assert_eq!(p.stages[0].output.as_ref().unwrap().bytes_out, 32);
        assert_eq!(p.stages[1].input.as_ref().unwrap().bytes_in, 32);
        assert_eq!(p.stages[1].output.as_ref().unwrap().bytes_out, 32);
        // `usize` chunks are not bytes: counted, but 0 bytes.
        assert_eq!(p.stages[2].output.as_ref().unwrap().chunks_out, 4);
        assert_eq!(p.stages[2].output.as_ref().unwrap().bytes_out, 0);
        assert_eq!(p.stages[3].input.as_ref().unwrap().chunks_in, 4);
        assert!(p.stages[3].output.is_none());

        // From a readable at the end of the chain: the sink is not part of it.
        let from_readable = lens.pipeline_stats();
        let kinds: Vec<StageKind> = from_readable.stages.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [StageKind::Source, StageKind::Transform, StageKind::Transform]
        );
        // A stream nothing is piped into is a chain of one.
        let alone = ReadableStream::from_iter([1u8]);
        assert_eq!(alone.pipeline_stats().stages.len(), 1);
        assert_eq!(alone.pipeline_stats().stages[0].kind, StageKind::Source);
    });
}

#[test]
fn a_readable_is_blocked_at_its_high_water_mark_and_starved_while_a_read_waits() {
    sluicegate::stats::set_timing(true);
    futures::executor::block_on(async {
        let ctl: std::sync::Arc<parking_lot::Mutex<Option<ReadableStreamDefaultController<Bytes>>>> =
            Default::default();
        let c = ctl.clone();
        let rs = ReadableStream::with_strategy(
            SourceFn::new().start(move |controller: &ReadableStreamDefaultController<Bytes>| {
                *c.lock() = Some(controller.clone());
            }),
            ByteLengthQueuingStrategy::new(10.0),
        )
        .unwrap();
        let controller = ctl.lock().clone().unwrap();
        assert_eq!(rs.stats().phase, Phase::Idle);
        controller.enqueue(Bytes::from_static(b"12345")).unwrap();
        assert_eq!(rs.stats().phase, Phase::Flowing);
        controller.enqueue(Bytes::from_static(b"67890")).unwrap();
        let s = rs.stats();
        assert_eq!(s.phase, Phase::Blocked);
        assert_eq!((s.queue_size, s.high_water_mark, s.fill()), (10.0, 10.0, 1.0));
        std::thread::sleep(Duration::from_millis(30));
        let s = rs.stats();
        // The ongoing phase counts up to the snapshot (the phase clock is a coarse one, of a few
        // milliseconds' resolution).
        assert!(s.blocked >= Duration::from_millis(20), "{s:?}");
        assert_eq!(s.starved, Duration::ZERO);

        let reader = rs.get_reader().unwrap();
        reader.read().await.unwrap().unwrap();
        assert_eq!(rs.stats().phase, Phase::Flowing);
        reader.read().await.unwrap().unwrap();
        // A read on the empty queue waits for the source.
        let pending = reader.read();
        let mut pending = Box::pin(pending);
        assert!(futures::poll!(pending.as_mut()).is_pending());
        assert_eq!(rs.stats().phase, Phase::Starved);
        std::thread::sleep(Duration::from_millis(30));
        controller.enqueue(Bytes::from_static(b"x")).unwrap();
        assert_eq!(pending.await.unwrap().unwrap(), Bytes::from_static(b"x"));
        let s = rs.stats();
        assert!(s.starved >= Duration::from_millis(20), "{s:?}");
        assert!(s.blocked >= Duration::from_millis(20), "{s:?}");
        assert_eq!(
            (s.chunks_in, s.chunks_out, s.bytes_in, s.bytes_out),
            (3, 3, 11, 11)
        );

        controller.close().unwrap();
        let done = rs.stats();
        assert_eq!((done.phase, done.state), (Phase::Done, State::Closed));
        // The clocks stopped at the close.
        std::thread::sleep(Duration::from_millis(5));
        let later = rs.stats();
        assert_eq!(
            (later.active, later.blocked, later.starved),
            (done.active, done.blocked, done.starved)
        );
        assert!(done.active >= done.blocked + done.starved);
    });
}

#[test]
fn a_writable_is_blocked_by_a_slow_sink_and_starved_when_the_sink_is_idle() {
    sluicegate::stats::set_timing(true);
    futures::executor::block_on(async {
        let pending: std::sync::Arc<parking_lot::Mutex<Vec<Resolver>>> = Default::default();
        let p = pending.clone();
        let ws = WritableStream::with_strategy(
            SinkFn::new().write(move |_: Bytes, _| {
                let (completion, resolver) = Completion::deferred();
                p.lock().push(resolver);
                completion
            }),
            CountQueuingStrategy::new(2.0),
        )
        .unwrap();
        let writer = ws.get_writer().unwrap();
        writer.ready().await.unwrap(); // started
        let first = writer.write(Bytes::from_static(b"aa"));
        // One write in flight, one slot of two taken: flowing.
        assert_eq!(ws.stats().phase, Phase::Flowing);
        let second = writer.write(Bytes::from_static(b"bbb"));
        let s = ws.stats();
        assert_eq!(s.phase, Phase::Blocked);
        assert_eq!((s.chunks_in, s.chunks_out, s.bytes_in, s.bytes_out), (2, 1, 5, 2));
        assert_eq!((s.queue_size, s.high_water_mark), (2.0, 2.0));
        std::thread::sleep(Duration::from_millis(30));
        let resolver = pending.lock().remove(0);
        resolver.settle(Ok(()));
        first.await.unwrap();
        let resolver = pending.lock().remove(0);
        resolver.settle(Ok(()));
        second.await.unwrap();
        let s = ws.stats();
        assert_eq!(s.phase, Phase::Starved);
        assert!(s.blocked >= Duration::from_millis(20), "{s:?}");
        assert_eq!((s.chunks_in, s.chunks_out, s.bytes_out), (2, 2, 5));
        writer.close().await.unwrap();
        assert_eq!(ws.stats().state, State::Closed);
    });
}

#[test]
fn an_errored_stream_reports_its_state_and_stops_its_clocks() {
    sluicegate::stats::set_timing(true);
    futures::executor::block_on(async {
        let rs = ReadableStream::new(
            SourceFn::new().pull(|c: &ReadableStreamDefaultController<Bytes>| {
                c.error(StreamError::user("broken"));
            }),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        assert!(reader.read().await.is_err());
        let s = rs.stats();
        assert_eq!((s.state, s.phase), (State::Errored, Phase::Done));

        let ws = WritableStream::new(SinkFn::new().write(|_: Bytes, _| Err(StreamError::user("disk full"))))
            .unwrap();
        let writer = ws.get_writer().unwrap();
        assert!(writer.write(Bytes::from_static(b"x")).await.is_err());
        let s = ws.stats();
        assert_eq!((s.state, s.phase, s.chunks_out), (State::Errored, Phase::Done, 1));
    });
}

#[test]
fn byte_streams_count_enqueued_and_byob_filled_bytes() {
    futures::executor::block_on(async {
        // Enqueued chunks, read by a default reader.
        let mut left = 3;
        let rs = ReadableStream::new_bytes(ByteSourceFn::new().pull(
            move |c: &sluicegate::ReadableByteStreamController| {
                if left == 0 {
                    c.close().unwrap();
                } else {
                    left -= 1;
                    c.enqueue(Bytes::from_static(b"0123456789")).unwrap();
                }
            },
        ))
        .unwrap();
        let reader = rs.get_reader().unwrap();
        while reader.read().await.unwrap().is_some() {}
        let s = rs.stats();
        assert_eq!(
            (s.chunks_in, s.chunks_out, s.bytes_in, s.bytes_out),
            (3, 3, 30, 30)
        );
        assert_eq!(s.state, State::Closed);

        // Bytes the source writes in place into auto-allocated buffers.
        let mut left = 2;
        let rs = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .pull(move |c: &sluicegate::ReadableByteStreamController| {
                    if left == 0 {
                        c.close().unwrap();
                        if let Some(request) = c.byob_request() {
                            request.respond(0).unwrap();
                        }
                        return;
                    }
                    left -= 1;
                    let request = c.byob_request().unwrap();
                    request.write(0, b"abcd").unwrap();
                    request.respond(4).unwrap();
                })
                .auto_allocate_chunk_size(16),
        )
        .unwrap();
        let reader = rs.get_reader().unwrap();
        let mut total = 0;
        while let Some(chunk) = reader.read().await.unwrap() {
            total += chunk.len();
        }
        assert_eq!(total, 8);
        let s = rs.stats();
        assert_eq!((s.chunks_in, s.chunks_out, s.bytes_in, s.bytes_out), (2, 2, 8, 8));
    });
}

#[test]
fn the_bottleneck_is_the_stage_neither_blocked_nor_starved() {
    let stream = |blocked: u64, starved: u64| StreamStats {
        enabled: true,
        blocked: Duration::from_millis(blocked),
        starved: Duration::from_millis(starved),
        active: Duration::from_millis(100),
        ..StreamStats::default()
    };
    let stage =
        |kind, input: Option<StreamStats>, output: Option<StreamStats>| StageStats { kind, input, output };
    let p = PipelineStats {
        stages: vec![
            stage(StageKind::Source, None, Some(stream(95, 0))),
            stage(StageKind::Transform, Some(stream(90, 0)), Some(stream(90, 0))),
            stage(StageKind::Transform, Some(stream(80, 2)), Some(stream(3, 0))),
            stage(StageKind::Sink, Some(stream(0, 97)), None),
        ],
    };
    assert_eq!(p.bottleneck(), Some(2));
    assert!((p.stages[2].busy_share() - 0.95).abs() < 1e-9);
    assert!((p.stages[0].blocked_share() - 0.95).abs() < 1e-9);
    assert!((p.stages[3].starved_share() - 0.97).abs() < 1e-9);
    // Nothing active: no bottleneck.
    assert_eq!(PipelineStats::default().bottleneck(), None);
    // Deltas between two snapshots of the same chain.
    let later = PipelineStats {
        stages: p
            .stages
            .iter()
            .map(|s| StageStats {
                kind: s.kind,
                input: s.input.clone().map(|mut x| {
                    x.active += Duration::from_millis(100);
                    x.starved += Duration::from_millis(50);
                    x
                }),
                output: s.output.clone(),
            })
            .collect(),
    };
    let delta = later.since(&p);
    assert_eq!(
        delta.stages[3].input.as_ref().unwrap().starved,
        Duration::from_millis(50)
    );
    assert!((delta.stages[3].starved_share() - 0.5).abs() < 1e-9);
}

/// A slow stage in the middle of a real pipeline is named the bottleneck: every stage before it
/// is blocked most of the time and every stage after it starved.
#[test]
fn a_slow_transform_is_the_bottleneck_of_a_real_pipeline() {
    sluicegate::stats::set_timing(true);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let source = ReadableStream::from_iter(chunks(60, 1024));
        let fast = TransformStream::<Bytes, Bytes>::identity();
        let slow = TransformStream::new(TransformerFn::new(
            |b: Bytes, c: &sluicegate::TransformStreamDefaultController<Bytes>| {
                let c = c.clone();
                Completion::future(async move {
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    c.enqueue(b)
                })
            },
        ))
        .unwrap();
        let after = TransformStream::<Bytes, Bytes>::identity();
        let sink = WritableStream::new(SinkFn::new().write(|_: Bytes, _| {})).unwrap();
        source
            .pipe_through(&fast, PipeOptions::default())
            .unwrap()
            .pipe_through(&slow, PipeOptions::default())
            .unwrap()
            .pipe_through(&after, PipeOptions::default())
            .unwrap()
            .pipe_to(&sink, PipeOptions::default())
            .await
            .unwrap();
        let p = sink.pipeline_stats();
        assert_eq!(p.stages.len(), 5);
        assert_eq!(p.bottleneck(), Some(2), "{p:#?}");
        assert!(p.stages[0].blocked_share() > 0.5, "{p:#?}");
        assert!(p.stages[4].starved_share() > 0.5, "{p:#?}");
        assert!(p.stages[2].busy_share() > 0.5, "{p:#?}");
    });
}

/// Without `set_timing(true)` a stream counts but reads no clock.
#[test]
fn untimed_streams_count_but_report_no_durations() {
    futures::executor::block_on(async {
        // Other tests in this binary turn timing on; a stream made with it off is what this
        // checks, so look at a snapshot's own flag.
        let rs = ReadableStream::from_iter([Bytes::from_static(b"abc")]);
        let reader = rs.get_reader().unwrap();
        reader.read().await.unwrap().unwrap();
        let s = rs.stats();
        assert_eq!((s.chunks_out, s.bytes_out), (1, 3));
        if !s.timed {
            assert_eq!(
                (s.blocked, s.starved, s.active, s.phase),
                (Duration::ZERO, Duration::ZERO, Duration::ZERO, Phase::Idle)
            );
        }
    });
}
