//! A pipe detached with `Promised::spawn` runs to its end on its own, on a multi-thread runtime,
//! after its handle is dropped; outside a runtime, `spawn` is a typed error.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluicegate::pipe::PipeOptions;
use sluicegate::readable::ReadableStream;
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::CountQueuingStrategy;

fn recording_sink(seen: Arc<Mutex<Vec<u32>>>) -> WritableStream<u32> {
    WritableStream::with_strategy(
        SinkFn::new().write(move |chunk: u32, _| seen.lock().unwrap().push(chunk)),
        CountQueuingStrategy::new(4.0),
    )
    .unwrap()
}

/// A multi-thread runtime with two workers, so that the detached pipe's task really can move
/// between threads.
fn two_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_spawned_pipe_whose_handle_is_dropped_delivers_every_chunk_and_unlocks_both_streams() {
    two_worker_runtime().block_on(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let dest = recording_sink(seen.clone());
        let source = ReadableStream::from_iter(0..1_000u32);
        let task = source.pipe_to(&dest, PipeOptions::default()).spawn().unwrap();
        drop(task);
        let deadline = Instant::now() + Duration::from_secs(10);
        while (source.locked() || dest.locked()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            !source.locked() && !dest.locked(),
            "the detached pipe did not finish in 10 s"
        );
        assert_eq!(*seen.lock().unwrap(), (0..1_000).collect::<Vec<_>>());
    });
}

#[test]
fn a_spawned_pipe_reports_its_result_through_the_handle() {
    two_worker_runtime().block_on(async {
        let dest = WritableStream::new(SinkFn::new().write(|chunk: u32, _| {
            if chunk == 3 {
                Err(sluicegate::StreamError::type_error("no threes"))
            } else {
                Ok(())
            }
        }))
        .unwrap();
        let source = ReadableStream::from_iter(0..10u32);
        let task = source.pipe_to(&dest, PipeOptions::default()).spawn().unwrap();
        let result = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the spawned pipe finished")
            .expect("the task did not panic");
        assert_eq!(result.unwrap_err().message(), "no threes");
    });
}

#[test]
fn spawn_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let dest = WritableStream::new(SinkFn::new().write(|_: u32, _| {})).unwrap();
    let source = ReadableStream::from_iter(0..3u32);
    let err = source.pipe_to(&dest, PipeOptions::default()).spawn().unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
}
