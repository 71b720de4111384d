//! The event loops under a multi-thread tokio runtime: parallel pipelines, writes and pushes from
//! other threads, loops merged while other threads use them. Every run has a deadline.
mod common;
use common::*;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

async fn deadline<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the run finished before its deadline")
}

// ports test/parallel/test-stream-pipeline.js (many pipelines at once, on a thread pool)
#[test]
fn many_pipelines_in_parallel_each_get_exactly_their_items() {
    let rt = runtime();
    rt.block_on(deadline(async {
        let tasks: Vec<_> = (0..32u64)
            .map(|k| {
                tokio::spawn(async move {
                    let sum = Arc::new(AtomicU64::new(0));
                    let s = sum.clone();
                    let sink = Writable::from_fn(move |x: u64| {
                        s.fetch_add(x, Ordering::Relaxed);
                        if x % 97 == 0 {
                            Completion::future(async {
                                tokio::task::yield_now().await;
                                Ok(())
                            })
                        } else {
                            Completion::ok()
                        }
                    });
                    Pipeline::from_iter(0..2000u64)
                        .pipe(&Transform::map_fn(move |x: u64| Some(x * k)))
                        .to(&sink)
                        .await
                        .unwrap();
                    (k, sum.load(Ordering::Relaxed))
                })
            })
            .collect();
        for t in tasks {
            let (k, sum) = t.await.unwrap();
            assert_eq!(sum, k * 1999 * 2000 / 2);
        }
    }));
}

// ports test/parallel/test-stream-push-strings.js (pushes from another thread wake the consumer)
#[test]
fn pushes_from_other_threads_reach_a_consumer_on_the_runtime() {
    let rt = runtime();
    rt.block_on(deadline(async {
        let r = Readable::<u64>::from_fn_with(|_, _| {}, ReadableOptions::objects().high_water_mark(8));
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for i in 0..500u64 {
                        // Backpressure is advisory for a pusher; the consumer keeps up.
                        r.push(p * 1000 + i);
                        if i % 50 == 0 {
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let closer = {
            let r = r.clone();
            std::thread::spawn(move || {
                for h in producers {
                    h.join().unwrap();
                }
                r.push_end();
            })
        };
        let got = r.to_array().await.unwrap();
        closer.join().unwrap();
        assert_eq!(got.len(), 2000);
        for p in 0..4u64 {
            let mine: Vec<u64> = got.iter().copied().filter(|x| x / 1000 == p).collect();
            assert_eq!(
                mine,
                (0..500).map(|i| p * 1000 + i).collect::<Vec<_>>(),
                "each thread's order kept"
            );
        }
    }));
}

// ports test/parallel/test-stream-writable-write-cb-error.js (writes from many threads)
#[test]
fn writes_from_many_threads_are_all_written_once() {
    let rt = runtime();
    rt.block_on(deadline(async {
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let w = Writable::from_fn_with(
            move |_: u32| {
                c.fetch_add(1, Ordering::SeqCst);
                Completion::future(async {
                    tokio::task::yield_now().await;
                    Ok(())
                })
            },
            WritableOptions::objects().high_water_mark(4),
        );
        let writers: Vec<_> = (0..8u32)
            .map(|t| {
                let w = w.clone();
                tokio::spawn(async move {
                    for i in 0..200u32 {
                        let written = w.write_async(t * 1000 + i);
                        if !written.accepted() {
                            w.drain().await.unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in writers {
            t.await.unwrap();
        }
        w.end_async().await.unwrap();
        assert_eq!(count.load(Ordering::SeqCst), 1600);
    }));
}

// ports test/parallel/test-stream-pipe-multiple-pipes.js (loops merged while in use)
#[test]
fn connecting_streams_used_by_other_threads_merges_their_loops_safely() {
    let rt = runtime();
    rt.block_on(deadline(async {
        for _ in 0..20 {
            let r = Readable::from_iter(0..300u32);
            let pts: Vec<_> = (0..4).map(|_| PassThrough::<u32>::passthrough()).collect();
            // Each pass-through starts on a loop of its own, used by a task of its own.
            let busy: Vec<_> = pts
                .iter()
                .map(|p| {
                    let p = p.clone();
                    tokio::spawn(async move {
                        for _ in 0..10 {
                            let _ = p.readable_side().readable_length();
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            let mut stages = Pipeline::from(r);
            for p in &pts {
                stages = stages.pipe(p);
            }
            let got = stages.collect().await.unwrap();
            assert_eq!(got, (0..300).collect::<Vec<_>>());
            for b in busy {
                b.await.unwrap();
            }
        }
    }));
}

// ports test/parallel/test-stream-readable-async-iterators.js (iteration on another task)
#[test]
fn a_readable_iterated_on_one_task_and_fed_from_another() {
    let rt = runtime();
    rt.block_on(deadline(async {
        let pt = PassThrough::<u64>::passthrough();
        let feeder = {
            let pt = pt.clone();
            tokio::spawn(async move {
                for i in 0..1000u64 {
                    let w = pt.writable_side().write_async(i);
                    if !w.accepted() {
                        pt.writable_side().drain().await.unwrap();
                    }
                }
                pt.writable_side().end_async().await.unwrap();
            })
        };
        let total = pt
            .readable_side()
            .fold(0u64, |a, b| async move { a + b })
            .await
            .unwrap();
        feeder.await.unwrap();
        assert_eq!(total, 999 * 1000 / 2);
    }));
}

// ports test/parallel/test-stream-pipeline.js (operators and pipelines mixed on the runtime)
#[test]
fn operators_inside_pipelines_on_the_runtime() {
    let rt = runtime();
    rt.block_on(deadline(async {
        let tasks: Vec<_> = (0..8u64)
            .map(|k| {
                tokio::spawn(async move {
                    let src = Readable::from_iter(0..500u64)
                        .operators(OperatorOptions::new().concurrency(3))
                        .map(move |x| async move {
                            tokio::task::yield_now().await;
                            x + k
                        });
                    Pipeline::from(src)
                        .to_fn(|mut chunks| async move {
                            use futures::StreamExt;
                            let mut n = 0u64;
                            while let Some(x) = chunks.next().await {
                                n += x?;
                            }
                            Ok(n)
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        for (k, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), 499 * 500 / 2 + 500 * k as u64);
        }
    }));
}
