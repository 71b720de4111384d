//! Duplex, Transform, PassThrough, pipe and pipeline.
mod common;
use common::*;
use std::sync::{Arc, Mutex};

// ports test/parallel/test-stream2-transform.js (writable side, readable side)
#[test]
fn transform_maps_and_flushes_before_end() {
    struct T(u32);
    impl TransformImpl<u32, u32> for T {
        fn transform(&mut self, x: u32, out: &Readable<u32>) -> Completion {
            self.0 += x;
            out.push(x * 2);
            Completion::ok()
        }
        fn flush(&mut self, out: &Readable<u32>) -> Completion {
            out.push(self.0);
            Completion::ok()
        }
    }
    let (lp, _g) = setup();
    let t = Transform::transform(T(0));
    let got = Collected::new();
    let g = got.clone();
    let log = Log::new();
    t.on(ev::Data, move |x: &u32| g.push(*x));
    t.on(ev::Finish, log.rec("finish"));
    t.on(ev::End, log.rec("end"));
    t.on(ev::Close, log.rec("close"));
    t.write(1);
    t.write(2);
    t.end();
    lp.run_until_idle();
    assert_eq!(got.get(), [2, 4, 3]);
    // Node 20 emits these in this order (checked against node).
    assert_eq!(log.get(), ["end", "finish", "close"]);
}

// ports test/parallel/test-stream-passthrough-drain.js
#[test]
fn passthrough_drains_when_read() {
    let (lp, _g) = setup();
    let pt = PassThrough::<u32>::passthrough_with(DuplexOptions {
        writable: WritableOptions::objects().high_water_mark(1),
        readable: ReadableOptions::objects().high_water_mark(1),
        ..DuplexOptions::default()
    });
    let drain = MustCall::new(1);
    pt.on(ev::Drain, drain.hit());
    assert!(!pt.write(1));
    lp.run_until_idle();
    assert_eq!(pt.read(), Some(1));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-pipe-flow.js
#[test]
fn pipe_moves_everything_and_ends_the_destination() {
    let (lp, _g) = setup();
    let r = Readable::from_iter(0..100u32);
    let (w, got) = collecting_writable::<u32>();
    let finish = MustCall::new(1);
    w.on(ev::Finish, finish.hit());
    r.pipe(&w);
    lp.run_until_idle();
    assert_eq!(got.get(), (0..100).collect::<Vec<_>>());
}

// ports test/parallel/test-stream-pipeline.js (basic)
#[test]
fn pipeline_source_transform_sink() {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    futures::executor::block_on(
        Pipeline::from(Readable::from_iter(1..=5u32))
            .pipe(&Transform::map_fn(|x: u32| Some(x + 1)))
            .to(&Writable::from_fn(move |x: u32| {
                g.lock().unwrap().push(x);
                Completion::ok()
            })),
    )
    .unwrap();
    assert_eq!(*got.lock().unwrap(), [2, 3, 4, 5, 6]);
}

// ports test/parallel/test-stream-pipeline.js (first real error, not premature close)
#[test]
fn pipeline_reports_the_first_real_error_and_destroys_every_stage() {
    let src = Readable::from_iter(0..1000u32);
    let mid = Transform::map_fn(|x: u32| Some(x));
    let sink = Writable::from_fn(|x: u32| {
        if x == 10 {
            Completion::err(user("sink failed"))
        } else {
            Completion::ok()
        }
    });
    let r = futures::executor::block_on(Pipeline::from(src.clone()).pipe(&mid).to(&sink));
    let e = r.unwrap_err();
    assert_eq!(e.code(), ErrorCode::User);
    assert_eq!(e.message(), "sink failed");
    assert!(src.destroyed() && mid.destroyed() && sink.destroyed());
}

// ports test/parallel/test-stream-pipeline.js (abort signal)
#[test]
fn pipeline_with_an_aborted_signal_fails_with_abort_error() {
    let ac = sluicegate::AbortController::new();
    let src = Readable::<u32>::from_fn(|_, _| {});
    let (sink, _) = collecting_writable::<u32>();
    let fut = Pipeline::from(src.clone()).signal(&ac.signal()).to(&sink);
    ac.abort(None);
    let e = futures::executor::block_on(fut).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Abort);
    assert!(src.destroyed() && sink.destroyed());
}

#[test]
fn pipeline_works_on_a_multi_thread_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for k in 0..8u64 {
            tasks.push(tokio::spawn(async move {
                let sum = Arc::new(Mutex::new(0u64));
                let s = sum.clone();
                Pipeline::from(Readable::from_iter(0..10_000u64))
                    .pipe(&Transform::map_fn(move |x: u64| Some(x * k)))
                    .to(&Writable::from_fn(move |x: u64| {
                        *s.lock().unwrap() += x;
                        Completion::ok()
                    }))
                    .await
                    .unwrap();
                let v = *sum.lock().unwrap();
                v
            }));
        }
        for (k, t) in tasks.into_iter().enumerate() {
            let got = tokio::time::timeout(std::time::Duration::from_secs(30), t)
                .await
                .expect("deadline")
                .unwrap();
            assert_eq!(got, k as u64 * (0..10_000u64).sum::<u64>());
        }
    });
}
