//! compose(), readable.compose(), and pipeline with iterators, futures::Streams, async-generator
//! stages and async-function sinks.
mod common;
use common::*;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::executor::block_on;
use futures::StreamExt;

fn double() -> Transform<u32, u32> {
    Transform::map_fn(|x: u32| Some(x * 2))
}

// ports test/parallel/test-stream-compose.js (two transforms)
#[test]
fn compose_two_transforms() {
    let d = compose(&double(), &Transform::map_fn(|x: u32| Some(x + 1)));
    d.write(1);
    d.write(2);
    d.end();
    let finish = MustCall::new(1);
    d.on(ev::Finish, finish.hit());
    assert_eq!(block_on(d.readable_side().to_array()).unwrap(), [3, 5]);
    block_on(finished(&d)).unwrap();
}

// ports test/parallel/test-stream-compose.js (error in a part: order checked against node 20)
#[test]
fn an_error_in_a_part_destroys_every_part_and_the_composed_stream() {
    let (lp, _g) = setup();
    let t1 = double();
    let t2 = Transform::transform({
        struct Fail;
        impl TransformImpl<u32, u32> for Fail {
            fn transform(&mut self, x: u32, out: &Readable<u32>) -> Completion {
                if x == 4 {
                    return Completion::err(user("boom"));
                }
                out.push(x);
                Completion::ok()
            }
        }
        Fail
    });
    let d = compose(&t1, &t2);
    let log = Log::new();
    let l = log.clone();
    d.on(ev::Error, move |e: &Error| {
        l.push(format!("d error {}", e.message()))
    });
    d.on(ev::Close, log.rec("d close"));
    t1.on(ev::Close, log.rec("t1 close"));
    t2.on(ev::Close, log.rec("t2 close"));
    let l = log.clone();
    d.on(ev::Data, move |x: &u32| l.push(format!("data {x}")));
    d.write(1);
    d.write(2);
    d.write(3);
    d.end();
    lp.run_until_idle();
    assert_eq!(
        log.get(),
        ["data 2", "t2 close", "t1 close", "d error boom", "d close"]
    );
    assert!(t1.destroyed() && t2.destroyed());
}

// ports test/parallel/test-stream-compose.js (destroy the composed stream)
#[test]
fn destroying_the_composed_stream_destroys_the_parts_with_abort_error() {
    let (lp, _g) = setup();
    let (a, b) = (PassThrough::<u8>::passthrough(), PassThrough::<u8>::passthrough());
    let c = compose(&a, &b);
    let error = MustCall::new(1);
    c.on(
        ev::Error,
        error.wrap(|e: &Error| assert_eq!(e.code(), ErrorCode::Abort)),
    );
    let close = MustCall::new(1);
    let (a2, b2) = (a.clone(), b.clone());
    c.on(
        ev::Close,
        close.wrap(move |_| assert!(a2.destroyed() && b2.destroyed())),
    );
    c.destroy(None);
    lp.run_until_idle();
}

// ports test/parallel/test-stream-compose.js (backpressure through the parts)
#[test]
fn compose_keeps_backpressure() {
    let (lp, _g) = setup();
    let c = compose(
        &PassThrough::<u32>::passthrough(),
        &PassThrough::<u32>::passthrough(),
    );
    let mut accepted = 0;
    while c.write(accepted) {
        accepted += 1;
        assert!(accepted < 1000, "write() never said stop");
    }
    lp.run_until_idle();
    // Every part and the composed stream buffer up to their high-water marks (16), no more.
    assert!(accepted <= 16 * 6, "{accepted} accepted before backpressure");
    let drained = MustCall::new(1);
    c.on(ev::Drain, drained.hit());
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    c.on(ev::Data, move |_: &u32| {
        n2.fetch_add(1, Ordering::SeqCst);
    });
    lp.run_until_idle();
    assert_eq!(n.load(Ordering::SeqCst), accepted as usize + 1);
}

// ports test/parallel/test-stream-readable-compose.js
#[test]
fn readable_compose_is_a_readable_of_the_output() {
    let r = Readable::from_iter(1..=3u32).compose(&double());
    assert_eq!(block_on(r.to_array()).unwrap(), [2, 4, 6]);
}

// ports test/parallel/test-stream-readable-compose.js (error)
#[test]
fn readable_compose_passes_the_error_on() {
    let src = Readable::from_try_stream(futures::stream::iter([Ok(1u32), Err(user("src failed"))]));
    let r = src.compose(&double());
    assert_eq!(block_on(r.to_array()).unwrap_err().message(), "src failed");
}

// ports test/parallel/test-stream-pipeline.js (async function as the last stage)
#[test]
fn an_async_function_sink_gives_the_pipeline_its_value() {
    let v = block_on(
        Pipeline::from_iter(["a", "b", "c"]).to_fn(|mut chunks| async move {
            let mut s = String::new();
            while let Some(c) = chunks.next().await {
                s.push_str(c?);
            }
            Ok(s)
        }),
    )
    .unwrap();
    assert_eq!(v, "abc");
}

// ports test/parallel/test-stream-pipeline.js (async function sink that throws)
#[test]
fn an_async_function_sink_error_fails_and_destroys_everything() {
    let src = Readable::from_iter(0..1000u32);
    let t = double();
    let r = block_on(
        Pipeline::from(src.clone())
            .pipe(&t)
            .to_fn(|mut chunks| async move {
                let _first = chunks.next().await;
                Err::<(), _>(user("sink refused"))
            }),
    );
    assert_eq!(r.unwrap_err().message(), "sink refused");
    assert!(src.destroyed() && t.destroyed());
}

// ports test/parallel/test-stream-pipeline.js (async function sink returning early)
#[test]
fn an_async_function_sink_may_stop_early() {
    let src = Readable::from_iter(0..1000u32);
    let v = block_on(Pipeline::from(src.clone()).to_fn(|mut chunks| async move {
        let a = chunks.next().await.unwrap()?;
        let b = chunks.next().await.unwrap()?;
        Ok(a + b)
    }))
    .unwrap();
    assert_eq!(v, 1);
    block_on(src.event_loop().idle());
    assert!(src.destroyed(), "what the sink left unread is destroyed");
}

// ports test/parallel/test-stream-pipeline.js (async generator stage)
#[test]
fn an_async_generator_stage_between_streams() {
    let got = block_on(
        Pipeline::from_iter(1..=5u32)
            .map_stream(|chunks| chunks.map(|c| c.map(|x| x * x)))
            .pipe(&double())
            .collect(),
    )
    .unwrap();
    assert_eq!(got, [2, 8, 18, 32, 50]);
}

// ports test/parallel/test-stream-pipeline.js (async generator stage that throws)
#[test]
fn an_async_generator_stage_error_fails_the_pipeline() {
    let sink_got = Collected::new();
    let s = sink_got.clone();
    let sink = Writable::from_fn(move |x: u32| {
        s.push(x);
        Completion::ok()
    });
    let r = block_on(
        Pipeline::from_iter(1..=5u32)
            .map_stream(|chunks| {
                chunks.map(|c| match c {
                    Ok(3) => Err(user("gen threw")),
                    other => other,
                })
            })
            .to(&sink),
    );
    assert_eq!(r.unwrap_err().message(), "gen threw");
    assert!(sink.destroyed());
    assert_eq!(sink_got.get(), [1, 2]);
}

// ports test/parallel/test-stream-pipeline.js (futures::Stream source)
#[test]
fn a_futures_stream_source() {
    let got = block_on(
        Pipeline::from_stream(futures::stream::iter(1..=3u32).then(|x| async move { x + 100 })).collect(),
    )
    .unwrap();
    assert_eq!(got, [101, 102, 103]);
}

// ports test/parallel/test-stream-pipeline.js (failing futures::Stream source)
#[test]
fn a_failing_stream_source_fails_the_pipeline() {
    let (w, _) = collecting_writable::<u32>();
    let r =
        block_on(Pipeline::from_try_stream(futures::stream::iter([Ok(1u32), Err(user("upstream"))])).to(&w));
    assert_eq!(r.unwrap_err().message(), "upstream");
    assert!(w.destroyed());
}

// ports test/parallel/test-stream-pipeline.js (iterator source with backpressure)
#[test]
fn an_iterator_source_is_pulled_only_as_fast_as_the_sink_takes() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let (c, cb) = Completion::callback();
    let first = Arc::new(std::sync::Mutex::new(Some(c)));
    let hold = Arc::new(std::sync::Mutex::new(Some(cb)));
    let sink = Writable::from_fn(move |_: u32| first.lock().unwrap().take().unwrap_or_else(Completion::ok));
    let fut = Pipeline::from_iter((0..10_000u32).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    }))
    .to(&sink);
    let lp = sink.event_loop();
    lp.run_until_idle();
    // The sink holds its first write: only the high-water marks' worth is pulled.
    let n = pulled.load(Ordering::SeqCst);
    assert!(n <= 1 + 16 + 2, "{n} pulled while the sink was stuck");
    hold.lock().unwrap().take().unwrap().ok();
    block_on(fut).unwrap();
    assert_eq!(pulled.load(Ordering::SeqCst), 10_000);
}

// ports test/parallel/test-stream-pipeline.js (collect)
#[test]
fn collect_gathers_the_last_stage() {
    let got = block_on(Pipeline::from_iter(["x", "y"]).collect()).unwrap();
    assert_eq!(got, ["x", "y"]);
}

// Node's pipeline hands its callback the error it had when the last stage's completion was
// counted (process.nextTick(callback, error)): a source's own error counted afterwards does not
// replace it. Here the destination, destroyed, closes first (its 'close' and its end-of-stream
// both count, a premature close each), then the source's end-of-stream reports the source's
// earlier error (found by tests/differential.rs against Node.js).
#[test]
fn a_pipeline_settles_with_the_error_it_had_when_its_last_completion_was_counted() {
    use futures::FutureExt;
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    r.on(ev::Error, |_: &Error| {});
    r.push_end();
    r.push(1);
    lp.run_until_idle();
    assert!(
        r.destroyed() && r.closed(),
        "the push after the end errored the source"
    );
    let (w, _) = collecting_writable::<u32>();
    w.destroy(None);
    let done = pipeline(&r, &w);
    lp.run_until_idle();
    let outcome = done.now_or_never().expect("settled");
    assert_eq!(outcome.unwrap_err().code(), ErrorCode::PrematureClose);
}

// Node's pipe ends the destination at once only if the source is finished by
// isReadableFinished, which is false for an errored source: a source whose _destroy failed after
// its 'end' makes the pipeline fail without ending (or calling _final on) the destination
// (found by tests/differential.rs against Node.js).
#[test]
fn a_pipeline_from_a_source_that_failed_after_its_end_does_not_end_the_destination() {
    use futures::FutureExt;
    let (lp, _g) = setup();
    let r = ReadFns::new(|_, r: &Readable<u32>| r.push_end())
        .destroy(|_| Completion::err(user("derr")))
        .build();
    r.on(ev::Error, |_: &Error| {});
    r.resume();
    lp.run_until_idle();
    assert!(r.readable_ended() && r.errored().is_some());
    let log = Log::new();
    let l = log.clone();
    let w = WriteFns::new(|_: u32| Completion::ok())
        .finalize(move || {
            l.push("final");
            Some(Completion::ok())
        })
        .build();
    w.on(ev::Error, |_: &Error| {});
    let done = pipeline(&r, &w);
    lp.run_until_idle();
    assert!(log.get().is_empty(), "the destination was ended: {:?}", log.get());
    assert_eq!(
        done.now_or_never().expect("settled").unwrap_err().message(),
        "derr"
    );
}
