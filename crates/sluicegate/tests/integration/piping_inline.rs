//! A pipe on the drivers the crate makes for streams created without a host reacts at once to a
//! source's pull or a sink's write that is over when it returns, instead of a microtask later
//! (DESIGN.md, "Synchronous completions inside a pipe"). Nothing user code can see may change
//! with it: every chunk arrives once and in order, no call into a source, transformer or sink
//! overlaps another, a source is pulled only while its queue wants chunks, and the pipe ends the
//! same way. These tests hold pipes that react at once to the same pipes on an explicit
//! [`Driver`], which follows the standard step for step; check that the reactions run as loops
//! (a long run of them would otherwise exhaust the stack); and that a stream a pipe hands back is
//! exact again.

use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use proptest::prelude::*;
use sluicegate::host::{Driver, HostRef};
use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::transform::{TransformStream, TransformStreamDefaultController, TransformerFn};
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{Completion, CountQueuingStrategy, PipeOptions, StreamError};

#[test]
fn a_writable_handed_back_by_a_pipe_reacts_to_its_sink_a_microtask_later_again() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let sink = WritableStream::with_strategy(
        SinkFn::new().write(move |x: u32, _| s.lock().unwrap().push(x)),
        CountQueuingStrategy::new(4.0),
    )
    .unwrap();
    let keep_open = PipeOptions {
        prevent_close: true,
        ..PipeOptions::default()
    };
    block_on(ReadableStream::from_iter([1u32, 2]).pipe_to(&sink, keep_open)).unwrap();
    let writer = sink.get_writer().unwrap();
    let write = writer.write(3);
    // The sink has taken the chunk, but the standard dequeues it only in the reaction to the
    // sink's write, a microtask later: until then it still counts against the high-water mark.
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
    assert_eq!(writer.desired_size().unwrap(), Some(3.0));
    block_on(write).unwrap();
    assert_eq!(writer.desired_size().unwrap(), Some(4.0));
}

#[test]
fn a_long_queue_behind_a_late_start_is_written_by_a_loop_not_by_nested_calls() {
    const N: u32 = 200_000;
    let (started, start) = Completion::deferred();
    let mut started = Some(started);
    let seen = Arc::new(Mutex::new(Vec::with_capacity(N as usize)));
    let s = seen.clone();
    let sink = WritableStream::with_strategy(
        SinkFn::new()
            .start(move |_| started.take().expect("start runs once"))
            .write(move |x: u32, _| s.lock().unwrap().push(x)),
        CountQueuingStrategy::new(f64::from(N)),
    )
    .unwrap();
    let mut pipe = ReadableStream::from_iter(0..N).pipe_to(&sink, PipeOptions::default());
    // Until the start settles, every chunk waits in the sink's queue.
    assert!(futures::FutureExt::now_or_never(&mut pipe).is_none());
    assert!(seen.lock().unwrap().is_empty());
    assert!(start.settle(Ok(())));
    block_on(pipe).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), N as usize);
    assert!(seen.iter().copied().eq(0..N), "every chunk once, in order");
}

#[test]
fn a_source_pulled_again_and_again_is_pulled_by_a_loop_not_by_nested_calls() {
    const N: u32 = 200_000;
    let mut next = 0;
    let source = ReadableStream::with_strategy(
        SourceFn::new().pull(move |c| {
            if next == N {
                return c.close();
            }
            next += 1;
            c.enqueue(next - 1)
        }),
        // Its queue wants every chunk at once: each pull asks for the next.
        CountQueuingStrategy::new(f64::from(N)),
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::with_capacity(N as usize)));
    let s = seen.clone();
    let sink = WritableStream::new(SinkFn::new().write(move |x: u32, _| s.lock().unwrap().push(x))).unwrap();
    block_on(source.pipe_to(&sink, PipeOptions::default())).unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.iter().copied().eq(0..N), "every chunk once, in order");
}

/// One random pipe: a source, an optional mapping transform stream, a sink; how each call
/// answers (at once, or through a future the host drives), their high-water marks, and at most
/// one failure.
#[derive(Clone, Debug)]
struct Plan {
    chunks: u32,
    source_hwm: u32,
    /// Per pull, whether it answers through a future.
    source_async: Vec<bool>,
    /// The transform stream's writable and readable high-water marks, and per chunk whether its
    /// transform answers through a future.
    transform: Option<(u32, u32, Vec<bool>)>,
    sink_hwm: u32,
    /// Per write, whether it answers through a future.
    sink_async: Vec<bool>,
    failure: Failure,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Failure {
    None,
    /// The source's pull with this index fails.
    Source(u32),
    /// The sink's write with this index fails.
    Sink(u32),
}

fn plan() -> impl Strategy<Value = Plan> {
    let flags = || proptest::collection::vec(any::<bool>(), 64);
    (
        0u32..40,
        0u32..5,
        flags(),
        // A writable side with a high-water mark of 0 never asks a pipe for a chunk: the
        // standard's pipe waits for it for good.
        proptest::option::of((1u32..5, 0u32..5, flags())),
        1u32..5,
        flags(),
        prop_oneof![
            3 => Just(Failure::None),
            1 => (0u32..45).prop_map(Failure::Source),
            1 => (0u32..45).prop_map(Failure::Sink),
        ],
    )
        .prop_map(
            |(chunks, source_hwm, source_async, transform, sink_hwm, sink_async, failure)| Plan {
                chunks,
                source_hwm,
                source_async,
                transform,
                sink_hwm,
                sink_async,
                failure,
            },
        )
}

/// What user code saw in one run.
#[derive(Debug, Default)]
struct Seen {
    /// The queue's desired size at each pull.
    pulls: Vec<Option<f64>>,
    /// The readable side's desired size at each transform.
    transforms: Vec<Option<f64>>,
    written: Vec<u32>,
    closed: bool,
    aborted: Option<String>,
    cancelled: Option<String>,
    /// A call made while the previous call of the same kind had not answered yet.
    overlaps: Vec<String>,
    pulling: bool,
    transforming: bool,
    writing: bool,
}

type Shared = Arc<Mutex<Seen>>;

/// Answers a call at once or through a future, clearing the party's busy flag as it answers.
fn answer(
    seen: &Shared,
    later: bool,
    result: Result<(), StreamError>,
    busy: fn(&mut Seen) -> &mut bool,
) -> Completion {
    if !later {
        *busy(&mut seen.lock().unwrap()) = false;
        return result.into();
    }
    let seen = seen.clone();
    Completion::future(async move {
        *busy(&mut seen.lock().unwrap()) = false;
        result
    })
}

/// Marks a party busy, noting an overlap if it already was.
fn enter(seen: &mut Seen, what: &str, busy: fn(&mut Seen) -> &mut bool) {
    if std::mem::replace(busy(seen), true) {
        seen.overlaps.push(what.to_string());
    }
}

fn map(x: u32) -> u32 {
    x * 3 + 1
}

/// Runs `plan` with every stream on `host` (`None`: each made without one, on a driver of the
/// crate's own), and returns what user code saw and how the pipe ended.
fn run_plan(plan: &Plan, host: Option<HostRef>) -> (Seen, Result<(), String>) {
    let seen: Shared = Arc::default();
    let (s1, s2, s3, s4) = (seen.clone(), seen.clone(), seen.clone(), seen.clone());
    let p = plan.clone();
    let mut next = 0u32;
    let source = SourceFn::new()
        .pull(move |c: &sluicegate::ReadableStreamDefaultController<u32>| {
            let index = s1.lock().unwrap().pulls.len() as u32;
            {
                let mut seen = s1.lock().unwrap();
                enter(&mut seen, "pull", |s| &mut s.pulling);
                seen.pulls.push(c.desired_size());
            }
            let later = p.source_async[index as usize % 64];
            if p.failure == Failure::Source(index) {
                return answer(&s1, later, Err(StreamError::user("source failed")), |s| {
                    &mut s.pulling
                });
            }
            let result = if next == p.chunks {
                c.close()
            } else {
                next += 1;
                c.enqueue(next - 1)
            };
            answer(&s1, later, result, |s| &mut s.pulling)
        })
        .cancel(move |reason| {
            s2.lock().unwrap().cancelled = Some(reason.message().to_string());
        });
    let p = plan.clone();
    let sink = SinkFn::new()
        .write(move |x: u32, _| {
            let index = {
                let mut seen = s3.lock().unwrap();
                enter(&mut seen, "write", |s| &mut s.writing);
                seen.written.push(x);
                seen.written.len() as u32 - 1
            };
            let later = p.sink_async[index as usize % 64];
            let result = if p.failure == Failure::Sink(index) {
                Err(StreamError::user("sink failed"))
            } else {
                Ok(())
            };
            answer(&s3, later, result, |s| &mut s.writing)
        })
        .close(move || {
            s4.lock().unwrap().closed = true;
        })
        .abort({
            let s = seen.clone();
            move |reason| {
                s.lock().unwrap().aborted = Some(reason.message().to_string());
            }
        });
    let source_strategy = CountQueuingStrategy::new(f64::from(plan.source_hwm));
    let sink_strategy = CountQueuingStrategy::new(f64::from(plan.sink_hwm));
    let (source, sink) = match &host {
        Some(h) => (
            ReadableStream::with_host(source, source_strategy, h.clone()).unwrap(),
            WritableStream::with_host(sink, sink_strategy, h.clone()).unwrap(),
        ),
        None => (
            ReadableStream::with_strategy(source, source_strategy).unwrap(),
            WritableStream::with_strategy(sink, sink_strategy).unwrap(),
        ),
    };
    let pipe = match &plan.transform {
        None => source.pipe_to(&sink, PipeOptions::default()),
        Some((writable_hwm, readable_hwm, asyncs)) => {
            let s = seen.clone();
            let asyncs = asyncs.clone();
            let mut index = 0usize;
            let transformer = TransformerFn::new(move |x: u32, c: &TransformStreamDefaultController<u32>| {
                {
                    let mut seen = s.lock().unwrap();
                    enter(&mut seen, "transform", |s| &mut s.transforming);
                    seen.transforms.push(c.desired_size());
                }
                index += 1;
                let result = c.enqueue(map(x));
                answer(&s, asyncs[(index - 1) % 64], result, |s| &mut s.transforming)
            });
            let (writable, readable) = (
                CountQueuingStrategy::new(f64::from(*writable_hwm)),
                CountQueuingStrategy::new(f64::from(*readable_hwm)),
            );
            let ts = match &host {
                Some(h) => TransformStream::with_host(transformer, writable, readable, h.clone()),
                None => TransformStream::with_strategies(transformer, writable, readable),
            }
            .unwrap();
            source
                .pipe_through(&ts, PipeOptions::default())
                .unwrap()
                .pipe_to(&sink, PipeOptions::default())
        }
    };
    let outcome = block_on(pipe).map_err(|e| e.message().to_string());
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (seen, outcome)
}

/// What must hold of one run, whatever its pacing.
fn check_run(plan: &Plan, seen: &Seen, outcome: &Result<(), String>) -> Result<(), TestCaseError> {
    let mapped = |x: u32| if plan.transform.is_some() { map(x) } else { x };
    prop_assert!(seen.overlaps.is_empty(), "overlapping calls: {:?}", seen.overlaps);
    prop_assert!(
        seen.pulls.iter().all(|d| d.is_some_and(|d| d >= 0.0)),
        "a pull while the queue was full: {:?}",
        seen.pulls
    );
    prop_assert!(
        seen.transforms.iter().all(|d| d.is_some_and(|d| d >= 0.0)),
        "a transform under backpressure: {:?}",
        seen.transforms
    );
    let all: Vec<u32> = (0..plan.chunks).map(mapped).collect();
    prop_assert!(
        all.starts_with(&seen.written),
        "written out of order: {:?}",
        seen.written
    );
    match plan.failure {
        Failure::Source(k) if k <= plan.chunks => {
            prop_assert_eq!(outcome.as_ref().unwrap_err(), "\"source failed\"");
            prop_assert!(seen.written.len() as u32 <= k);
            prop_assert_eq!(seen.aborted.as_deref(), Some("\"source failed\""));
            prop_assert!(!seen.closed);
        }
        Failure::Sink(k) if k < plan.chunks => {
            prop_assert_eq!(outcome.as_ref().unwrap_err(), "\"sink failed\"");
            prop_assert_eq!(seen.written.len() as u32, k + 1);
            // The source is cancelled unless it had closed already, which depends on pacing.
            prop_assert!(seen.cancelled.as_deref().is_none_or(|r| r == "\"sink failed\""));
            prop_assert!(!seen.closed);
        }
        _ => {
            prop_assert_eq!(outcome, &Ok(()));
            prop_assert_eq!(&seen.written, &all);
            prop_assert_eq!(
                seen.pulls.len() as u32,
                plan.chunks + 1,
                "one pull per chunk and one to close"
            );
            prop_assert!(seen.closed);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_pipe_reacting_at_once_shows_user_code_what_an_exact_pipe_shows(plan in plan()) {
        let (inline, inline_outcome) = run_plan(&plan, None);
        let exact_host: HostRef = Driver::new();
        let (exact, exact_outcome) = run_plan(&plan, Some(exact_host));
        check_run(&plan, &inline, &inline_outcome)?;
        check_run(&plan, &exact, &exact_outcome)?;
        prop_assert_eq!(&inline_outcome, &exact_outcome);
        prop_assert_eq!(inline.closed, exact.closed);
        prop_assert_eq!(&inline.aborted, &exact.aborted);
        if !matches!(plan.failure, Failure::Source(k) if k <= plan.chunks) {
            prop_assert_eq!(&inline.written, &exact.written);
        }
    }
}
